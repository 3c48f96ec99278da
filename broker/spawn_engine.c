// SPDX-License-Identifier: GPL-2.0-only
/*
 * The spawner's engines: which binary runs, with which command line, and
 * the start of each process. Only three binaries are ever run: the one
 * named at start, a live update's that liveupdate_open() checked, and the
 * one before the last update. The command line is the engine's options as
 * the broker was given them, then what a live update adds (only options
 * include/lu_options.h allows), then the sandbox's options last, so that
 * nothing before them can override them.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "lu_options.h"

/* The engine's end of the channel and its state fds, as it is told. */
#define ENGINE_FD 3
#define STATE_FD_A 4
#define STATE_FD_B 5
/* Every fd the child must keep until exec is above these. */
#define ENGINE_FD_LAST STATE_FD_B
/*
 * The engine's oom_score_adj, whatever the broker's: of the processes of
 * a dom0 it is the one to lose when memory runs out, restarted with its
 * store from the journal and every connection kept, where qemu or a
 * backend lost is a guest lost. A launcher that protects xenstored
 * (choom -n -1000) protects the broker and the spawner, not this.
 */
#define ENGINE_OOM_SCORE_ADJ 500
#define XS_STR_(x) #x
#define XS_STR(x) XS_STR_(x)

/* One binary and the command line it runs with. */
struct binary {
	int fd; /* O_PATH or O_RDONLY, above ENGINE_FD_LAST */
	char **argv;
};

static const struct spawner_cfg *cfg;
static struct binary cur = {-1, NULL}, prev = {-1, NULL}, next = {-1, NULL};
static char *next_path;
static int next_kind; /* enum spawn_lu_kind of next */

static void engine_exec(int, const int[2], int, const struct binary *)
	__attribute__((noreturn));

/* fd, or a duplicate of it above ENGINE_FD_LAST (and fd closed). */
int
fd_above(int fd)
{
	int n;

	if (fd > ENGINE_FD_LAST)
		return fd;
	if ((n = fcntl(fd, F_DUPFD_CLOEXEC, ENGINE_FD_LAST + 1)) == -1)
		fatal("fcntl");
	close(fd);
	return n;
}

static void
binary_free(struct binary *b)
{
	if (b->fd != -1)
		close(b->fd);
	liveupdate_argv_free(b->argv);
	b->fd = -1;
	b->argv = NULL;
}

/* name, the broker's options, extra, the sandbox's: NULL without memory. */
static char **
command_line(const char *name, char *const extra[], size_t nextra)
{
	char **head, **argv;
	size_t n = 0;

	while (cfg->sandbox[n] != NULL)
		n++;
	if ((head = liveupdate_argv(cfg->args, name, extra, nextra)) == NULL)
		return NULL;
	argv = liveupdate_argv(head, name, cfg->sandbox, n);
	liveupdate_argv_free(head);
	return argv;
}

void
spawn_engine_init(const struct spawner_cfg *c)
{
	int fd;

	cfg = c;
	/*
	 * Held open so that a restart needs no search permission on the way,
	 * and above the fds the child rearranges.
	 */
	if ((fd = open(cfg->engine, O_PATH | O_CLOEXEC)) == -1)
		fatal("%s", cfg->engine);
	cur.fd = fd_above(fd);
	if ((cur.argv = command_line(cfg->engine, NULL, 0)) == NULL)
		fatal("engine command line");
}

/*
 * UPDATE_FILE: 0 with *kind, or the errno the engine is told
 * (liveupdate_open()).
 */
int
spawn_engine_update_file(const char *path, int *kind)
{
	int fd;

	if ((fd = liveupdate_open(path, ENGINE_FD_LAST + 1, cfg->lu_daemons,
				  kind)) == -1)
		return errno;
	binary_free(&next);
	free(next_path);
	if ((next_path = strdup(path)) == NULL)
		fatal("live update");
	next.fd = fd;
	next_kind = *kind;
	return 0;
}

/*
 * The daemon a handover executes: the file UPDATE_FILE checked, if it is a
 * daemon of the list or a broker build. Returns its fd (O_RDONLY,
 * close-on-exec), path and kind, or -1.
 */
int
spawn_engine_daemon(const char **path, int *kind)
{
	if (next.fd == -1 ||
	    (next_kind != SPAWN_LU_DAEMON && next_kind != SPAWN_LU_BROKER))
		return -1;
	*path = next_path;
	*kind = next_kind;
	return next.fd;
}

/*
 * In the child, system calls only: oom_score_adj raised to
 * ENGINE_OOM_SCORE_ADJ, which needs no privilege. Never lowered: a value
 * above it already makes the engine the first to go, and going below
 * what a privileged writer set would need CAP_SYS_RESOURCE.
 */
static int
oom_raise(void)
{
	char buf[16];
	int fd, v = 0, neg;
	ssize_t n, i;

	if ((fd = open("/proc/self/oom_score_adj", O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	if ((n = read(fd, buf, sizeof(buf))) <= 0) {
		close(fd);
		return -1;
	}
	neg = buf[0] == '-';
	for (i = neg; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
		v = v * 10 + (buf[i] - '0');
	if (neg)
		v = -v;
	if (v < ENGINE_OOM_SCORE_ADJ &&
	    pwrite(fd, XS_STR(ENGINE_OOM_SCORE_ADJ),
		   sizeof(XS_STR(ENGINE_OOM_SCORE_ADJ)) - 1,
		   0) != sizeof(XS_STR(ENGINE_OOM_SCORE_ADJ)) - 1) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/*
 * In the child: the channel becomes fd 3, the state memfds 4 and 5, stdio
 * /dev/null, every other fd is closed by exec, signals are as a fresh
 * process has them and the environment is empty. The engine inherits
 * nothing it did not ask for. Only system calls here: this may be the
 * child of a raw clone.
 */
static void
engine_exec(int fd, const int state[2], int errfd, const struct binary *b)
{
	static char *const envp[] = {NULL};
	sigset_t none;
	int null, err, flags;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (fd == ENGINE_FD) {
		if ((flags = fcntl(fd, F_GETFD)) == -1 ||
		    fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) == -1)
			goto fail;
	} else if (dup2(fd, ENGINE_FD) == -1)
		goto fail;
	/* The state fds, errfd and the binary are above STATE_FD_B. */
	if (dup2(state[0], STATE_FD_A) == -1 ||
	    dup2(state[1], STATE_FD_B) == -1)
		goto fail;
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1 ||
	    dup2(null, 0) == -1 || dup2(null, 1) == -1 || dup2(null, 2) == -1)
		goto fail;
	if (oom_raise() == -1)
		goto fail;
	/*
	 * Every fd we open has O_CLOEXEC; this also catches whatever was left
	 * without it. errfd and the binary must stay open until exec, so they
	 * are marked, not closed.
	 */
	if (close_range(ENGINE_FD_LAST + 1, ~0u, CLOSE_RANGE_CLOEXEC) == -1)
		goto fail;
	fexecve(b->fd, b->argv, envp);
fail:
	err = errno;
	(void)!write(errfd, &err, sizeof(err));
	_exit(127);
}

/*
 * A child in a new PID namespace where the kernel permits it (it is then pid
 * 1 there and sees no other process), else a plain fork. Either returns
 * like fork().
 */
static pid_t
engine_clone(void)
{
	static int said;
	pid_t pid;

	if (!cfg->sandboxed)
		return fork();
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL,
			     NULL, 0);
	if (pid != -1 || (errno != EPERM && errno != EINVAL && errno != ENOSYS))
		return pid;
	if (!said++)
		log_info("no PID namespace for the engine: %s",
			 strerror(errno));
	return fork();
}

/*
 * Starts b with a new channel. Returns 0 with *pid and *chan (the broker's
 * end), or the errno of what failed (a failed exec's child is reaped).
 */
static int
engine_run(const struct binary *b, pid_t *pidp, int *chan)
{
	int sv[2], ep[2], err, status;
	ssize_t n;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return errno;
	/* Carries errno back if exec fails; closes by itself on success. */
	if (pipe2(ep, O_CLOEXEC) == -1) {
		err = errno;
		goto fail_pipe;
	}
	/* Keep the child's error pipe clear of the fds it rearranges. */
	ep[1] = fd_above(ep[1]);
	if ((pid = engine_clone()) == -1) {
		err = errno;
		close(ep[0]);
		close(ep[1]);
		goto fail_pipe;
	}
	if (pid == 0) {
		close(sv[0]);
		close(ep[0]);
		if (cfg->sandboxed)
			privs_engine_child();
		engine_exec(sv[1], cfg->state_fd, ep[1], b);
	}
	close(sv[1]);
	close(ep[1]);
	do
		n = read(ep[0], &err, sizeof(err));
	while (n == -1 && errno == EINTR);
	close(ep[0]);
	if (n == (ssize_t)sizeof(err)) {
		/* It said why, and exits at once (engine_exec()). */
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		close(sv[0]);
		return err;
	}
	*pidp = pid;
	*chan = sv[0];
	return 0;
fail_pipe:
	close(sv[0]);
	close(sv[1]);
	return err;
}

/* The live update's binary with its words, as a binary to run. */
static int
update_binary(struct binary *b, char *const args[], size_t nargs)
{
	if (next.fd == -1 || !lu_args_ok(args, nargs))
		return -1;
	if ((b->argv = command_line(next_path, args, nargs)) == NULL)
		fatal("live update");
	b->fd = next.fd;
	next.fd = -1;
	free(next_path);
	next_path = NULL;
	return 0;
}

/*
 * START: returns 0 with *pid and *chan, an errno if the engine could not
 * be started, or -1 if the broker asked for what it may not: a binary there
 * is none of, or words a live update may not add.
 */
int
spawn_engine_start(enum spawn_binary which, char *const args[], size_t nargs,
		   pid_t *pid, int *chan)
{
	struct binary b = {-1, NULL};
	int err;

	if (which != SPAWN_RUN_UPDATE && nargs != 0)
		return -1;
	switch (which) {
	case SPAWN_RUN_CURRENT:
		return engine_run(&cur, pid, chan);
	case SPAWN_RUN_PREVIOUS:
		if (prev.fd == -1)
			return -1;
		binary_free(&cur);
		cur = prev;
		prev.fd = -1;
		prev.argv = NULL;
		return engine_run(&cur, pid, chan);
	case SPAWN_RUN_UPDATE:
		if (update_binary(&b, args, nargs) == -1)
			return -1;
		if ((err = engine_run(&b, pid, chan)) != 0) {
			binary_free(&b);
			return err;
		}
		/* Kept in case the new engine dies before it answers. */
		binary_free(&prev);
		prev = cur;
		cur = b;
		return 0;
	}
	return -1;
}

/* A memfd holding what fd holds, read from its start. -1 with errno. */
static int
memfd_copy(const char *name, int fd)
{
	off_t off = 0;
	ssize_t n;
	int m;

	if ((m = memfd_create(name, MFD_CLOEXEC)) == -1)
		return -1;
	while ((n = sendfile(m, fd, &off, 1 << 20)) > 0)
		;
	if (n == -1) {
		close(m);
		return -1;
	}
	return fd_above(m);
}

/*
 * WRITE_STREAM: the current engine binary, in its sandbox, on copies of the
 * state memfds, writes the whole store as a migration stream C xenstored
 * reads (xs-engine --write-stream c417) into a memfd of ours. Returns 0
 * with *stream (read from its start) and *spare (an empty memfd the broker
 * writes state_dump into), or an errno. The broker waits meanwhile.
 */
int
spawn_engine_write_stream(uint32_t form, int *stream, int *spare)
{
	char *words[] = {"--write-stream",
			 form == SPAWN_STREAM_SPLIT ? "split" : "c417"};
	struct binary b = {cur.fd, NULL};
	int copies[2] = {-1, -1}, out = -1, ep[2] = {-1, -1};
	int err = 0, status;
	ssize_t n;
	pid_t pid;

	*stream = *spare = -1;
	if ((b.argv = command_line(cfg->engine, words, 2)) == NULL)
		return ENOMEM;
	if ((copies[0] = memfd_copy("xs-handover-a", cfg->state_fd[0])) == -1 ||
	    (copies[1] = memfd_copy("xs-handover-b", cfg->state_fd[1])) == -1 ||
	    (out = memfd_create("xs-handover-stream", MFD_CLOEXEC)) == -1 ||
	    pipe2(ep, O_CLOEXEC) == -1) {
		err = errno;
		goto out;
	}
	out = fd_above(out);
	ep[1] = fd_above(ep[1]);
	if ((pid = engine_clone()) == -1) {
		err = errno;
		goto out;
	}
	if (pid == 0) {
		close(ep[0]);
		if (cfg->sandboxed)
			privs_engine_child();
		engine_exec(out, copies, ep[1], &b);
	}
	close(ep[1]);
	ep[1] = -1;
	do
		n = read(ep[0], &err, sizeof(err));
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(err))
		err = 0;
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			err = errno;
			goto out;
		}
	if (err == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		err = EPROTO;
	if (err == 0 && lseek(out, 0, SEEK_SET) == -1)
		err = errno;
	if (err == 0 &&
	    (*spare = memfd_create("xs-handover-dump", MFD_CLOEXEC)) == -1)
		err = errno;
	if (err == 0) {
		*spare = fd_above(*spare);
		*stream = out;
		out = -1;
	}
out:
	liveupdate_argv_free(b.argv);
	if (copies[0] != -1)
		close(copies[0]);
	if (copies[1] != -1)
		close(copies[1]);
	if (out != -1)
		close(out);
	if (ep[0] != -1)
		close(ep[0]);
	if (ep[1] != -1)
		close(ep[1]);
	return err;
}
