// SPDX-License-Identifier: GPL-2.0-only
/*
 * The engine process's end, seen from the event loop: a pidfd that becomes
 * readable when it exits (Linux 5.3 and later; SIGCHLD, which the loop
 * reads too, where there is none), and a deadline after which it is
 * killed. Nothing here waits for the engine: every guest is served while
 * an engine takes its time to die. Only the broker's own shutdown waits.
 */
#include <errno.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine_int.h"

static pid_t pid = -1;
static int pidfd = -1;
static struct bevent pid_ev;
static int deadline_fd = -1;
static struct bevent deadline_ev;
static const char *late_why; /* what the engine failed to do in time */

static void
deadline_clear(void)
{
	struct itimerspec off = {{0, 0}, {0, 0}};

	late_why = NULL;
	if (deadline_fd != -1 &&
	    timerfd_settime(deadline_fd, 0, &off, NULL) == -1)
		fatal("timerfd_settime");
}

static void
pidfd_close(void)
{
	if (pidfd == -1)
		return;
	loop_del(&pid_ev);
	close(pidfd);
	pidfd = -1;
}

/* The engine is reaped: nothing more to watch. */
static void
proc_gone(void)
{
	pid = -1;
	pidfd_close();
	deadline_clear();
}

/* Reaps the engine if it has exited; tells engine_life.c. */
void
proc_check(void)
{
	int status;
	pid_t r;

	if (pid == -1)
		return;
	while ((r = waitpid(pid, &status, WNOHANG)) == -1 && errno == EINTR)
		;
	if (r == 0)
		return;
	proc_gone();
	/* ECHILD: someone else reaped it; its status is lost. */
	life_exited(r == -1 ? -1 : status);
}

static void
pid_event(int fd, uint32_t events, void *arg)
{
	proc_check();
}

static void
deadline_event(int fd, uint32_t events, void *arg)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n) || pid == -1 ||
	    late_why == NULL)
		return;
	log_warnx("engine %s: killing it", late_why);
	audit_engine_broken(late_why);
	late_why = NULL;
	kill(pid, SIGKILL);
}

void
proc_started(pid_t p)
{
	static int said;
	int fd;

	pid = p;
	if (deadline_fd == -1) {
		if ((deadline_fd =
			     timerfd_create(CLOCK_MONOTONIC,
					    TFD_NONBLOCK | TFD_CLOEXEC)) == -1)
			fatal("timerfd_create");
		loop_add(&deadline_ev, deadline_fd, EPOLLIN, deadline_event,
			 NULL);
	}
	fd = (int)syscall(SYS_pidfd_open, p, 0);
	if (fd == -1) {
		if (!said++)
			log_info("no pidfd for the engine (%s): SIGCHLD tells "
				 "of its end",
				 strerror(errno));
		return;
	}
	pidfd = fd;
	loop_add(&pid_ev, pidfd, EPOLLIN, pid_event, NULL);
}

pid_t
proc_pid(void)
{
	return pid;
}

/*
 * The engine has ms to exit, or it is killed: why says what it failed to
 * do, as in "engine <why>: killing it".
 */
void
proc_end_within(int ms, const char *why)
{
	struct itimerspec it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000000L}};

	if (pid == -1)
		return;
	late_why = why;
	if (timerfd_settime(deadline_fd, 0, &it, NULL) == -1)
		fatal("timerfd_settime");
}

void
proc_kill(void)
{
	if (pid != -1)
		kill(pid, SIGKILL);
}

/*
 * Waits up to ms for the engine to exit, then kills it: only for the
 * broker's own shutdown, when no guest is served any more.
 */
void
proc_wait_end(int ms)
{
	struct timespec tick = {0, 10 * 1000 * 1000};
	int status;
	pid_t r;

	if (pid == -1)
		return;
	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r == -1 && errno == ECHILD)) {
			proc_gone();
			return;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (ms <= 0)
			break;
		nanosleep(&tick, NULL);
		ms -= 10;
	}
	log_warnx("engine ignored SIGTERM, killing it");
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	proc_gone();
}
