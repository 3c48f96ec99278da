// SPDX-License-Identifier: GPL-2.0-only
/*
 * The spawner's part of a handover (broker/handover.c): a live update to
 * another xenstore daemon, one of the list fixed at start, which takes the
 * whole store, the sockets and the rings in its own live update (-U). The
 * broker hands over the state_dump it wrote and every fd it names; the
 * spawner puts the file where the daemon reads it (RUNDIR/state_dump), each
 * fd at the number the file gives it, tells the pid file and systemd that
 * it is now the daemon, and executes the daemon in its own place. It runs
 * nothing else: the binary is the one UPDATE_FILE checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker.h"

extern char **environ;

static int dump_fd = -1;
static int *fds;
static uint32_t want, got;
static char **argv;
static int kind;
/*
 * The running broker's own binary, held from the start: a build that
 * replaces it and cannot take the store runs it again (-U on the same
 * state_dump), even once a package upgrade has replaced its file.
 */
static int self_fd = -1;

void
spawn_handover_init(void)
{
	if ((self_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC)) == -1)
		fatal("spawner: /proc/self/exe");
	self_fd = fd_above(self_fd);
}

static void
handover_reset(void)
{
	uint32_t i;

	for (i = 0; i < got; i++)
		close(fds[i]);
	free(fds);
	fds = NULL;
	want = got = 0;
	if (dump_fd != -1)
		close(dump_fd);
	dump_fd = -1;
	liveupdate_argv_free(argv);
	argv = NULL;
}

/* RUNDIR/state_dump, RUNDIR being where the sockets are. */
static int
dump_path(char *buf, size_t len)
{
	const char *sock = spawner_cfg_get()->unlink[0];
	const char *slash;

	if (sock == NULL || (slash = strrchr(sock, '/')) == NULL ||
	    (size_t)(slash - sock) + sizeof("/state_dump") > len)
		return -1;
	memcpy(buf, sock, (size_t)(slash - sock));
	strcpy(buf + (slash - sock), "/state_dump");
	return 0;
}

static int
dump_write(const char *path)
{
	off_t off = 0;
	ssize_t n;
	int fd, err = 0;

	(void)unlink(path);
	if ((fd = open(path,
		       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		       0600)) == -1)
		return errno;
	while ((n = sendfile(fd, dump_fd, &off, 1 << 20)) > 0)
		;
	if (n == -1)
		err = errno;
	if (close(fd) == -1 && err == 0)
		err = errno;
	if (err != 0)
		unlink(path);
	return err;
}

/*
 * Each fd to SPAWN_HANDOVER_FD_BASE + i, open across the exec, every other
 * fd close-on-exec. The numbers must be free of the spawner's own fds:
 * the received ones move above them first.
 */
static int
fds_place(void)
{
	unsigned int base = SPAWN_HANDOVER_FD_BASE;
	struct rlimit rl;
	uint32_t i;
	int fd;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < 2 * got + base)
		return EMFILE;
	for (i = 0; i < got; i++) {
		if ((fd = fcntl(fds[i], F_DUPFD_CLOEXEC, (int)(base + got))) ==
		    -1)
			return errno;
		close(fds[i]);
		fds[i] = fd;
	}
	for (i = 0; i < got; i++)
		if (fcntl((int)(base + i), F_GETFD) != -1)
			return EBUSY;
	for (i = 0; i < got; i++) {
		if (dup2(fds[i], (int)(base + i)) == -1)
			return errno;
		close(fds[i]);
		fds[i] = (int)(base + i);
	}
	close_range(3, base - 1, CLOSE_RANGE_CLOEXEC);
	close_range(base + got, ~0u, CLOSE_RANGE_CLOEXEC);
	return 0;
}

/* Everything checked and placed: the daemon runs here. Returns on failure
 * only, with the errno, having undone what it did. */
static int
handover_exec(void)
{
	const struct spawner_cfg *c = spawner_cfg_get();
	const char *prog;
	char path[4096];
	sigset_t none, kept;
	int bin, err;

	if ((bin = spawn_engine_daemon(&prog, &kind)) == -1)
		return ENOEXEC;
	/* A broker's fallback, past the fds the stream names. */
	if (kind == SPAWN_LU_BROKER &&
	    (fds[got++] = fcntl(self_fd, F_DUPFD_CLOEXEC, 3)) == -1) {
		got--;
		return errno;
	}
	if (dump_path(path, sizeof(path)) == -1)
		return ENAMETOOLONG;
	if ((err = dump_write(path)) != 0)
		return err;
	if ((err = fds_place()) != 0) {
		unlink(path);
		return err;
	}
	log_info("live update: executing %s with the store", prog);
	spawn_ready_moved(c, getpid());
	affinity_restore(0);
	/* The daemon starts with the signals a fresh process has. */
	sigemptyset(&none);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, &kept);
	fexecve(bin, argv, environ);
	err = errno;
	sigprocmask(SIG_SETMASK, &kept, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_warnx("live update: cannot execute %s: %s", prog, strerror(err));
	spawn_ready_moved(c, c->broker_pid);
	affinity_restore(1);
	unlink(path);
	return err;
}

/*
 * HANDOVER: how many fds follow, and the words for the daemon's command
 * line (its path first, -U last). Returns -1 if the broker asked for what
 * it may not.
 */
/* Whether the broker's word w (and the next) goes to its successor. */
static int
skipped(char *const *w, int *with_value)
{
	*with_value = strcmp(w[0], "--live-update-fallback") == 0;
	return *with_value || strcmp(w[0], "-U") == 0 ||
	       strcmp(w[0], "--live-update") == 0 ||
	       strncmp(w[0], "--live-update-fallback=", 23) == 0;
}

/*
 * The command line: a C xenstored gets the words of -c and -U; a broker
 * build the broker's own options, the words, its fallback (this broker's
 * binary, at the fd after those the stream names) and -U.
 */
static char **
command_line(const char *prog, char *const words[], uint32_t nwords,
	     uint32_t nfds)
{
	char *const *own = spawner_cfg_get()->broker_argv;
	char *tail[SPAWN_ARGS_MAX + 260], self[64];
	char *base[2] = {(char *)prog, NULL};
	size_t n = 0, i;
	int value;

	if (kind == SPAWN_LU_BROKER)
		for (i = 1; own[i] != NULL && n < 256; i++) {
			if (skipped(&own[i], &value)) {
				i += value && own[i + 1] != NULL;
				continue;
			}
			tail[n++] = own[i];
		}
	for (i = 0; i < nwords; i++)
		tail[n++] = words[i];
	if (kind == SPAWN_LU_BROKER) {
		snprintf(self, sizeof(self), "/proc/self/fd/%u",
			 SPAWN_HANDOVER_FD_BASE + nfds);
		tail[n++] = "--live-update-fallback";
		tail[n++] = self;
	}
	tail[n++] = "-U";
	return liveupdate_argv(base, prog, tail, n);
}

int
spawn_handover_begin(const struct spawn_handover *m, char *const words[],
		     int memfd)
{
	const char *prog;

	handover_reset();
	if (m->nfds == 0 || m->nfds > SPAWN_HANDOVER_FDS_MAX ||
	    spawn_engine_daemon(&prog, &kind) == -1) {
		close(memfd);
		return -1;
	}
	if ((argv = command_line(prog, words, m->nargs, m->nfds)) == NULL ||
	    (fds = calloc(m->nfds + 2, sizeof(*fds))) == NULL)
		fatal("live update");
	dump_fd = memfd;
	want = m->nfds;
	return 0;
}

/*
 * HANDOVER_FDS: n more fds. Once all have come, the daemon runs, or the
 * broker hears why not (0: more to come; an errno: failed; -1: the broker
 * sent fds nobody asked for).
 */
int
spawn_handover_fds(const int *in, int n)
{
	int err;

	if (dump_fd == -1 || n < 0 || (uint32_t)n > want - got) {
		spawn_close_fds((int *)in, n);
		return -1;
	}
	memcpy(fds + got, in, (size_t)n * sizeof(*in));
	got += (uint32_t)n;
	if (got < want)
		return 0;
	err = handover_exec();
	handover_reset();
	return err;
}
