// SPDX-License-Identifier: GPL-2.0-only
/*
 * engine_wrap: an engine for xs-broker --engine that runs the real
 * xs-engine of its build (../bin/xs-engine from where it lies) in a way the
 * tests choose by the name it is called by (a symlink):
 *
 *   engine-slow       sleeps a second first, as an engine that starts slowly;
 *   engine-wait-sync  waits for the broker's first frame before it runs the
 *                     engine, and exits 3 if none comes within 10 s;
 *   engine-crash-on   sits between broker and engine, and dies with the
 *                     engine when the broker sends CRASH_MARK (as an engine
 *                     that some guest request crashes every time);
 *   engine-hang-on    the same, but instead of dying it closes the channel,
 *                     makes the file <its name>.closed and waits to be
 *                     killed (as an engine stuck on its way out).
 *
 * It runs as the engine does, sandboxed by the broker with an empty
 * environment: all it needs is in its name and its own path.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHAN_FD 3
#define CRASH_MARK "engine-wrap-crash-here"
#define SYNC_WAIT_MS 10000

static char engine[PATH_MAX];

static void
find_engine(void)
{
	char self[PATH_MAX];
	ssize_t n;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		_exit(126);
	self[n] = '\0';
	snprintf(engine, sizeof(engine), "%s/../bin/xs-engine", dirname(self));
}

static void
run_engine(char **argv)
{
	execv(engine, argv);
	_exit(127);
}

static void
slow(char **argv)
{
	struct timespec t = {1, 0};

	while (nanosleep(&t, &t) == -1 && errno == EINTR)
		;
	run_engine(argv);
}

static void
wait_sync(char **argv)
{
	struct pollfd p = {.fd = CHAN_FD, .events = POLLIN};

	if (poll(&p, 1, SYNC_WAIT_MS) != 1)
		_exit(3);
	run_engine(argv);
}

/* Whether CRASH_MARK is in what came, or spans it and the tail before. */
static int
marked(char *tail, size_t *tlen, const char *buf, size_t n)
{
	char win[2 * sizeof(CRASH_MARK) + 65536];
	size_t keep = sizeof(CRASH_MARK) - 2, wlen;

	if (n > 65536)
		return 0;
	memcpy(win, tail, *tlen);
	memcpy(win + *tlen, buf, n);
	wlen = *tlen + n;
	if (memmem(win, wlen, CRASH_MARK, sizeof(CRASH_MARK) - 1) != NULL)
		return 1;
	*tlen = wlen < keep ? wlen : keep;
	memcpy(tail, win + wlen - *tlen, *tlen);
	return 0;
}

/* The engine has no channel any more; its stand-in lingers. */
static void
linger(const char *name)
{
	char path[PATH_MAX];
	int fd;

	close(CHAN_FD);
	snprintf(path, sizeof(path), "%s.closed", name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) != -1)
		close(fd);
	for (;;)
		pause();
}

static void
crash_on(char **argv, int hang)
{
	char buf[65536], tail[sizeof(CRASH_MARK)];
	struct pollfd p[2];
	size_t tlen = 0;
	int sv[2], i, from, to;
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		_exit(126);
	switch (fork()) {
	case -1:
		_exit(126);
	case 0:
		if (dup2(sv[1], CHAN_FD) == -1)
			_exit(126);
		close_range(6, ~0u, 0);
		run_engine(argv);
	}
	close(sv[1]);
	close(4);
	close(5);
	p[0].fd = CHAN_FD;
	p[1].fd = sv[0];
	for (;;) {
		p[0].events = p[1].events = POLLIN;
		if (poll(p, 2, -1) == -1 && errno != EINTR)
			break;
		for (i = 0; i < 2; i++) {
			if (p[i].revents == 0)
				continue;
			from = p[i].fd;
			to = p[1 - i].fd;
			if ((n = read(from, buf, sizeof(buf))) <= 0)
				goto out;
			if (from == CHAN_FD &&
			    marked(tail, &tlen, buf, (size_t)n)) {
				close(sv[0]);
				if (hang)
					linger(argv[0]);
				goto out;
			}
			if (write(to, buf, (size_t)n) != n)
				goto out;
		}
	}
out:
	/*
	 * The engine may have made itself unkillable by us; it leaves at the
	 * end of its channel, or with us if we are pid 1 of its namespace.
	 */
	_exit(9);
}

int
main(int argc, char **argv)
{
	const char *name = argc > 0 ? basename(argv[0]) : "";

	find_engine();
	if (strcmp(name, "engine-slow") == 0)
		slow(argv);
	if (strcmp(name, "engine-wait-sync") == 0)
		wait_sync(argv);
	if (strcmp(name, "engine-crash-on") == 0)
		crash_on(argv, 0);
	if (strcmp(name, "engine-hang-on") == 0)
		crash_on(argv, 1);
	fprintf(stderr, "engine_wrap: called as %s, which it is not\n", name);
	return 2;
}
