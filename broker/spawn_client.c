// SPDX-License-Identifier: GPL-2.0-only
/*
 * The broker's end of the spawner (spawner.c): forking it, and one small
 * function per thing the broker asks of it. Starting an engine, checking a
 * live update's binary and reopening the audit files wait for the answer,
 * as they did when the broker did them itself; an engine's exit comes
 * whenever it comes, through the loop. One that comes while the broker
 * waits for an answer is kept and acted on at the end of the loop's turn
 * (spawn_deferred()), not in the middle of starting the next engine.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "mono.h"

/* How long the broker's exit waits for the spawner to end the engine. */
#define SPAWNER_EXIT_MS 10000

static int ctl = -1;
static pid_t spawner = -1;
static struct bevent ctl_ev;
static struct spawn_pid exited;
static int exited_kept;

/* Forks the spawner; the broker keeps none of the fds it hands it. */
void
spawn_fork(const struct spawner_cfg *cfg, int log_stderr)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		fatal("socketpair");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		close(sv[0]);
		spawner_main(cfg, sv[1], log_stderr);
	}
	close(sv[1]);
	close(cfg->state_fd[0]);
	close(cfg->state_fd[1]);
	ctl = sv[0];
	spawner = pid;
	loop_add(&ctl_ev, ctl, EPOLLIN, spawn_event, NULL);
}

/*
 * From the SIGSYS handler (broker/seccomp.c): one send(), nothing that
 * allocates or locks.
 */
void
spawn_report_violation(const char *name, int nr, uint64_t arg1)
{
	struct spawn_violation v = {{SPAWN_VIOLATION, sizeof(v)}, nr, 0, arg1};

	(void)name;
	if (ctl != -1)
		(void)!send(ctl, &v, sizeof(v), MSG_NOSIGNAL);
}

static void
send_msg(const void *msg, size_t len)
{
	if (spawn_send(ctl, msg, len, NULL, 0) == -1)
		fatal("the spawner");
}

/*
 * The next message into m (size bytes, the size its type has) and its
 * fds. An engine's exit that comes first is kept for later; anything else
 * than type means the spawner and the broker disagree: fatal.
 */
static void
wait_for(uint32_t type, void *m, size_t size, int *fds, int *nfds)
{
	static union {
		struct spawn_hdr h;
		struct spawn_pid pid;
		char buf[SPAWN_MSG_MAX];
	} in;
	ssize_t n;

	for (;;) {
		n = spawn_recv(ctl, in.buf, sizeof(in.buf), fds, nfds);
		if (n == 0)
			fatalx("the spawner is gone");
		if (n == -1)
			fatal("the spawner");
		if (in.h.type == SPAWN_EXITED && n == sizeof(in.pid) &&
		    *nfds == 0 && !exited_kept) {
			exited = in.pid;
			exited_kept = 1;
			continue;
		}
		if (in.h.type != type || (size_t)n != size ||
		    in.h.len != size) {
			spawn_close_fds(fds, *nfds);
			fatalx("the spawner sent message %u (%zd bytes) for %u",
			       in.h.type, n, type);
		}
		memcpy(m, in.buf, size);
		return;
	}
}

/*
 * The hypervisor's flags of the domains from first on (see spawn_msg.h).
 * The spawner is trusted, but its answer is checked all the same: a
 * wrong one would make the broker unmap the wrong guest.
 */
void
spawn_dominfo(uint32_t first, struct spawn_dominfo *r)
{
	struct spawn_dominfo_req q = {{SPAWN_DOMINFO, sizeof(q)}, first};
	int fds[SPAWN_FDS_MAX], nfds;
	uint32_t i;

	send_msg(&q, sizeof(q));
	wait_for(SPAWN_DOMINFO_LIST, r, sizeof(*r), fds, &nfds);
	if (nfds != 0 || r->n > SPAWN_DOMINFO_MAX)
		fatalx("the spawner's domain list is malformed");
	for (i = 0; i < r->n; i++)
		if (r->d[i].domid < first ||
		    r->d[i].domid >= XS_DOMID_FIRST_RESERVED ||
		    (i > 0 && r->d[i].domid <= r->d[i - 1].domid))
			fatalx("the spawner's domain list is malformed");
}

/*
 * The broker serves: the spawner writes the pid file and tells systemd
 * (spawn_ready.c), and only then may whoever started the daemon hear it.
 */
void
spawn_ready(void)
{
	struct spawn_hdr q = {SPAWN_READY, sizeof(q)};
	struct spawn_err r;
	int fds[SPAWN_FDS_MAX], nfds;

	send_msg(&q, sizeof(q));
	wait_for(SPAWN_READY_DONE, &r, sizeof(r), fds, &nfds);
	if (nfds != 0 || r.err < 0)
		fatalx("the spawner's answer to READY");
	if (r.err != 0) {
		errno = r.err;
		fatal("the pid file");
	}
}

/* An engine's exit, once the broker is not in the middle of something. */
void
spawn_deferred(void)
{
	if (!exited_kept)
		return;
	exited_kept = 0;
	proc_exited(exited.pid, exited.status);
}

void
spawn_event(int fd, uint32_t events, void *arg)
{
	union {
		struct spawn_pid pid;
		char buf[SPAWN_MSG_MAX];
	} m;
	int fds[SPAWN_FDS_MAX], nfds;
	ssize_t n;

	n = spawn_recv(ctl, m.buf, sizeof(m.buf), fds, &nfds);
	if (n == 0)
		fatalx("the spawner is gone: it alone can start an engine");
	if (n == -1)
		fatal("the spawner");
	if (n != sizeof(m.pid) || nfds != 0 || m.pid.h.type != SPAWN_EXITED)
		fatalx("the spawner sent an unexpected message");
	spawn_deferred();
	proc_exited(m.pid.pid, m.pid.status);
}

/*
 * START: 0 with the new engine's pid and channel, or the errno of what
 * failed. args are a live update's words (SPAWN_RUN_UPDATE only).
 */
int
spawn_start(enum spawn_binary which, char *const args[], size_t nargs,
	    pid_t *pid, int *chan)
{
	static struct spawn_start m;
	static union {
		struct spawn_hdr h;
		struct spawn_pid pid;
		struct spawn_err err;
		char buf[SPAWN_MSG_MAX];
	} r;
	int fds[SPAWN_FDS_MAX], nfds;
	size_t i, len, off = 0;
	ssize_t n;

	if (nargs > SPAWN_ARGS_MAX)
		return E2BIG;
	memset(&m, 0, sizeof(m));
	m.h.type = SPAWN_START;
	m.h.len = sizeof(m);
	m.binary = which;
	for (i = 0; i < nargs; i++) {
		if ((len = strlen(args[i]) + 1) > SPAWN_ARG_MAX + 1)
			return E2BIG;
		memcpy(m.args + off, args[i], len);
		off += len;
	}
	m.nargs = (uint32_t)nargs;
	m.args_len = (uint32_t)off;
	send_msg(&m, sizeof(m));
	for (;;) {
		n = spawn_recv(ctl, r.buf, sizeof(r.buf), fds, &nfds);
		if (n == 0)
			fatalx("the spawner is gone");
		if (n == -1)
			fatal("the spawner");
		if (r.h.type == SPAWN_EXITED && n == sizeof(r.pid) &&
		    nfds == 0 && !exited_kept) {
			exited = r.pid;
			exited_kept = 1;
			continue;
		}
		if (r.h.type == SPAWN_START_FAILED && n == sizeof(r.err) &&
		    nfds == 0 && r.err.err > 0)
			return r.err.err;
		if (r.h.type == SPAWN_STARTED && n == sizeof(r.pid) &&
		    nfds == 1)
			break;
		spawn_close_fds(fds, nfds);
		fatalx("the spawner answered START with message %u", r.h.type);
	}
	*pid = r.pid.pid;
	*chan = fds[0];
	return 0;
}

/* UPDATE_FILE: 0 with *kind (enum spawn_lu_kind), or the errno the
 * engine is told. */
int
spawn_update_file(const char *path, int *kind)
{
	static struct spawn_update_file m;
	struct spawn_update_result r;
	int fds[SPAWN_FDS_MAX], nfds;
	size_t len = strlen(path);

	if (len == 0 || len > SPAWN_PATH_MAX)
		return EINVAL;
	memset(&m, 0, sizeof(m));
	m.h.type = SPAWN_UPDATE_FILE;
	m.h.len = sizeof(m);
	m.path_len = (uint32_t)len;
	memcpy(m.path, path, len);
	send_msg(&m, sizeof(m));
	wait_for(SPAWN_UPDATE_FILE_RESULT, &r, sizeof(r), fds, &nfds);
	if (nfds != 0 || r.err < 0 ||
	    (r.err == 0 && r.kind != SPAWN_LU_ENGINE &&
	     r.kind != SPAWN_LU_DAEMON && r.kind != SPAWN_LU_BROKER))
		fatalx("the spawner's answer to UPDATE_FILE");
	*kind = (int)r.kind;
	return r.err;
}

/*
 * WRITE_STREAM: 0 with the store as a stream C xenstored reads (*stream)
 * and an empty memfd for state_dump (*spare), or an errno.
 */
int
spawn_write_stream(uint32_t form, int *stream, int *spare)
{
	struct spawn_write_stream m = {{SPAWN_WRITE_STREAM, sizeof(m)}, form};
	struct spawn_err r;
	int fds[SPAWN_FDS_MAX], nfds;

	send_msg(&m, sizeof(m));
	wait_for(SPAWN_STREAM, &r, sizeof(r), fds, &nfds);
	if (r.err < 0 || nfds != (r.err == 0 ? 2 : 0)) {
		spawn_close_fds(fds, nfds);
		fatalx("the spawner's answer to WRITE_STREAM");
	}
	if (r.err == 0) {
		*stream = fds[0];
		*spare = fds[1];
	}
	return r.err;
}

/*
 * HANDOVER: state_dump (memfd) and the fds it names, in order, go to the
 * spawner, which executes the daemon of the live update in its place.
 * Returns 0 once it has (its end of the channel closed with the exec), or
 * the errno of what failed, everything still ours.
 */
int
spawn_handover(int memfd, char *const args[], size_t nargs, const int *fds,
	       size_t nfds)
{
	static struct spawn_handover m;
	struct spawn_handover_fds f = {{SPAWN_HANDOVER_FDS, sizeof(f)}, 0};
	union {
		struct spawn_err err;
		char buf[SPAWN_MSG_MAX];
	} in;
	int got[SPAWN_FDS_MAX], ngot;
	size_t i, off = 0, l;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	m.h.type = SPAWN_HANDOVER;
	m.h.len = sizeof(m);
	m.nfds = (uint32_t)nfds;
	m.nargs = (uint32_t)nargs;
	for (i = 0; i < nargs; i++) {
		l = strlen(args[i]) + 1;
		if (off + l > sizeof(m.args))
			return E2BIG;
		memcpy(m.args + off, args[i], l);
		off += l;
	}
	m.args_len = (uint32_t)off;
	if (spawn_send(ctl, &m, sizeof(m), &memfd, 1) == -1)
		fatal("the spawner");
	for (i = 0; i < nfds; i += f.n) {
		f.n = (uint32_t)(nfds - i < SPAWN_FDS_MAX ? nfds - i
							  : SPAWN_FDS_MAX);
		if (spawn_send(ctl, &f, sizeof(f), fds + i, (int)f.n) == -1)
			fatal("the spawner");
	}
	/* Either the exec closes the channel, or it says why not. */
	for (;;) {
		n = spawn_recv(ctl, in.buf, sizeof(in.buf), got, &ngot);
		if (n == 0)
			return 0;
		if (n == -1)
			fatal("the spawner");
		spawn_close_fds(got, ngot);
		if (in.err.h.type == SPAWN_EXITED)
			continue;
		if (in.err.h.type != SPAWN_HANDOVER_FAILED ||
		    n != sizeof(in.err) || in.err.err <= 0)
			fatalx("the spawner's answer to HANDOVER");
		return in.err.err;
	}
}

/* SIGTERM or SIGKILL to the engine; the spawner knows which process. */
void
spawn_stop(enum spawn_signal how)
{
	struct spawn_stop m = {{SPAWN_STOP, sizeof(m)}, how};

	send_msg(&m, sizeof(m));
}

/*
 * SIGHUP: the audit files opened again by the spawner. fds[i] is each, or
 * -1 with errs[i] the errno (SPAWN_AUDIT_UNSET: not named at start).
 */
void
spawn_audit_open(int fds[SPAWN_AUDIT_N], int errs[SPAWN_AUDIT_N])
{
	struct spawn_hdr m = {SPAWN_AUDIT_OPEN, sizeof(m)};
	struct spawn_audit_fds r;
	int got[SPAWN_FDS_MAX], ngot, i, k = 0;

	send_msg(&m, sizeof(m));
	wait_for(SPAWN_AUDIT_FDS, &r, sizeof(r), got, &ngot);
	for (i = 0; i < SPAWN_AUDIT_N; i++) {
		errs[i] = r.err[i];
		fds[i] = -1;
		if (r.err[i] == 0 && k < ngot)
			fds[i] = got[k++];
		else if (r.err[i] == 0)
			errs[i] = EIO;
	}
	if (k != ngot) {
		spawn_close_fds(got + k, ngot - k);
		log_warnx("the spawner sent audit fds nobody asked for");
	}
}

/*
 * The broker's exit: the engine stopped, the sockets and the pid file
 * removed, all by the spawner, which has exited when this returns (or
 * SPAWNER_EXIT_MS passed), so that whoever sees the broker gone sees the
 * rest gone too.
 */
void
spawn_shutdown(void)
{
	struct spawn_hdr m = {SPAWN_SHUTDOWN, sizeof(m)};
	struct pollfd p = {ctl, POLLIN, 0};
	struct timespec t0;
	char buf[SPAWN_MSG_MAX];
	int fds[SPAWN_FDS_MAX], nfds, status, gone = 0;
	long left;

	if (ctl == -1)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (spawn_send(ctl, &m, sizeof(m), NULL, 0) == 0) {
		while ((left = SPAWNER_EXIT_MS -
			       (long)(mono_us_since(&t0) / 1000)) > 0) {
			if (poll(&p, 1, (int)left) == -1 && errno != EINTR)
				break;
			if (p.revents == 0)
				continue;
			if (spawn_recv(ctl, buf, sizeof(buf), fds, &nfds) <=
			    0) {
				gone = 1;
				break;
			}
			spawn_close_fds(fds, nfds);
		}
	}
	close(ctl);
	ctl = -1;
	/* Its end of the channel closed as it exited: reaped at once. */
	while (waitpid(spawner, &status, gone ? 0 : WNOHANG) == -1 &&
	       errno == EINTR)
		;
}

int
spawn_running(void)
{
	return ctl != -1;
}
