// SPDX-License-Identifier: GPL-2.0-only
/*
 * The engine process's end, seen from the event loop: the spawner, its
 * parent, says when it exits (spawn_client.c), and a deadline after which
 * the spawner is told to kill it. Nothing here waits for the engine: every
 * guest is served while an engine takes its time to die. The broker never
 * signals a process itself, nor names one to the spawner: there is only
 * ever the one engine, and the spawner knows which.
 */
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "engine_int.h"

static pid_t pid = -1;
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

/* The spawner reaped the engine: tells engine_life.c. */
void
proc_exited(pid_t p, int status)
{
	if (p != pid) {
		log_warnx("the spawner reports the exit of %ld, not of the "
			  "engine %ld",
			  (long)p, (long)pid);
		return;
	}
	pid = -1;
	deadline_clear();
	life_exited(status);
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
	spawn_stop(SPAWN_STOP_KILL);
}

void
proc_started(pid_t p)
{
	pid = p;
	if (deadline_fd != -1)
		return;
	if ((deadline_fd = timerfd_create(CLOCK_MONOTONIC,
					  TFD_NONBLOCK | TFD_CLOEXEC)) == -1)
		fatal("timerfd_create");
	loop_add(&deadline_ev, deadline_fd, EPOLLIN, deadline_event, NULL);
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
proc_term(void)
{
	if (pid != -1)
		spawn_stop(SPAWN_STOP_TERM);
}

void
proc_kill(void)
{
	if (pid != -1)
		spawn_stop(SPAWN_STOP_KILL);
}
