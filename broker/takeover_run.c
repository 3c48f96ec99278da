// SPDX-License-Identifier: GPL-2.0-only
/*
 * The steps of xs-broker -U after the stream's fds were checked
 * (takeover.c): the engine restores the store from it once, in its
 * sandbox, before anything is touched; a stream either check refuses runs
 * the daemon before us again; one both take is served from here on.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "engine_note.h"

/* A memfd holding len bytes of buf (none: empty), for the engine. */
static int
memfd_with(const char *name, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;
	int fd;

	if ((fd = memfd_create(name, MFD_CLOEXEC)) == -1)
		fatal("memfd_create");
	while (off < len) {
		n = write(fd, buf + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			fatal("live update: copying the stream");
		off += (size_t)n;
	}
	return fd;
}

/* In the child: fds[i] becomes fd 3 + i, and nothing else stays open. */
static void
child_fds(int fds[3])
{
	int i;

	for (i = 0; i < 3; i++)
		if ((fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 64)) == -1)
			_exit(127);
	for (i = 0; i < 3; i++)
		if (dup2(fds[i], 3 + i) == -1)
			_exit(127);
	close_range(6, ~0u, 0);
}

/*
 * The engine binary restores the whole stream, with the options and the
 * sandbox of every engine, and says whether it can (xs-engine
 * --check-state). Its state fds are copies: a restore writes a snapshot.
 * Returns NULL, or why the store refuses the stream.
 */
const char *
takeover_engine_check(const struct takeover *t, char *const eargv[],
		      char *const sandbox[], char *why, size_t len)
{
	char *argv[LIVEUPDATE_ARGS_MAX * 2 + 16];
	char msg[512];
	size_t n = 0, i, got = 0;
	int fds[3], p[2], status;
	ssize_t r;
	pid_t pid;

	argv[n++] = eargv[0];
	argv[n++] = "--check-state";
	/* The engine's command line, but the fds, which are the same. */
	for (i = 1; eargv[i] != NULL && n < LIVEUPDATE_ARGS_MAX * 2; i++)
		argv[n++] = eargv[i];
	for (i = 0; sandbox[i] != NULL && n < LIVEUPDATE_ARGS_MAX * 2 + 14; i++)
		argv[n++] = sandbox[i];
	argv[n] = NULL;
	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe2");
	fds[0] = p[1];
	fds[1] = memfd_with("xs-check-a", t->map, t->len);
	fds[2] = memfd_with("xs-check-b", NULL, 0);
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		child_fds(fds);
		privs_engine_child();
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	close(fds[1]);
	close(fds[2]);
	while (got < sizeof(msg) - 1) {
		r = read(p[0], msg + got, sizeof(msg) - 1 - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	msg[got] = '\0';
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			fatal("waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    strncmp(msg, "ok ", 3) == 0) {
		log_info("live update: the engine restores %s (%s nodes)",
			 t->path, msg + 3);
		return NULL;
	}
	if (strncmp(msg, "state: ", 7) == 0 && strlen(msg) == got)
		snprintf(why, len, "the store refuses it: %s", msg + 7);
	else if (WIFEXITED(status))
		snprintf(why, len, "%s cannot check it (exit status %d)",
			 argv[0], WEXITSTATUS(status));
	else
		snprintf(why, len, "%s cannot check it (signal %d)", argv[0],
			 WTERMSIG(status));
	return why;
}

/*
 * The stream is refused: the daemon that wrote it takes it back, on the
 * same state_dump and fds, with -U. Only options it knows go along
 * (argv with no broker option, else -U alone): the previous daemon must
 * start whatever command line the live update gave this one.
 */
/*
 * A broker build takes the same options, but another fallback, lest two
 * builds that both refuse the stream run each other forever.
 */
static char **
broker_argv(const char *prog, char *argv[], const char *why)
{
	static char reason[XS_PAYLOAD_MAX];
	size_t n = 0, i;
	char **av;

	while (argv[n] != NULL)
		n++;
	if ((av = calloc(n + 3, sizeof(*av))) == NULL)
		return NULL;
	av[0] = (char *)prog;
	for (i = 1, n = 1; argv[i] != NULL; i++) {
		if (strcmp(argv[i], "--live-update-fallback") == 0 ||
		    strcmp(argv[i], "--live-update-refused") == 0) {
			i += argv[i + 1] != NULL;
			continue;
		}
		if (strncmp(argv[i], "--live-update-", 14) != 0 ||
		    strcmp(argv[i], "--live-update") == 0)
			av[n++] = argv[i];
	}
	/* It answers the request with why, not with the OK in the stream. */
	snprintf(reason, sizeof(reason), "live update refused: %s", why);
	av[n++] = "--live-update-refused";
	av[n++] = reason;
	return av;
}

static int
is_broker(const char *prog)
{
	int fd = open(prog, O_RDONLY | O_CLOEXEC), r;

	if (fd == -1)
		return 0;
	r = liveupdate_is_build(fd, XS_NOTE_DESC_BROKER);
	close(fd);
	return r;
}

void
takeover_fallback(const struct takeover *t, const char *prog, char *argv[],
		  int broker_options, const char *why)
{
	char *fallback_argv[3] = {(char *)prog, "-U", NULL};
	char **av = broker_options ? fallback_argv : argv;
	size_t i;

	if (is_broker(prog) && (av = broker_argv(prog, argv, why)) == NULL)
		av = fallback_argv;

	log_warnx("live update refused: %s; %s takes the store back", why,
		  prog);
	for (i = 0; i < t->nfds; i++) {
		int fl = fcntl(t->fds[i], F_GETFD);

		if (fl != -1)
			(void)fcntl(t->fds[i], F_SETFD, fl & ~FD_CLOEXEC);
	}
	av[0] = (char *)prog;
	execv(prog, av);
	fatal("live update: cannot run %s again; the store is lost", prog);
}

/*
 * The old daemon's connections become ours, with their ids, before the
 * first engine starts: its ConnSync lists them, and the store it restores
 * names them. dom0's ring, when the stream has it, is taken over here too.
 */
void
takeover_adopt(const struct takeover *t)
{
	const struct takeover_conn *tc;
	struct conn *c;
	size_t i;

	for (i = 0; i < t->nconns; i++) {
		tc = &t->conns[i];
		if (tc->ring)
			c = guest_adopt(tc->domid, tc->port, tc->id);
		else
			c = conn_new_id(tc->fd, tc->readonly, tc->id);
		if (c != NULL)
			conn_adopt_pending(c, tc->in, tc->inlen, tc->out,
					   tc->outlen, tc->resplen,
					   tc->id == t->lu_conn ? t->lu_req : 0,
					   tc->id == t->lu_conn ? t->refused
								: NULL);
	}
	log_info("live update: %zu connections taken over from %s", t->nconns,
		 t->path);
}
