// SPDX-License-Identifier: GPL-2.0-only
/*
 * The engine: starting it with nothing but its channel, batching requests
 * into one frame per loop iteration, acting on its replies, and noticing at
 * once when it dies or misbehaves. For now either ends the broker; the
 * restart that keeps clients connected belongs here too once the engine's
 * state lives in broker-held memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"

/* The engine's end of the channel, as xs-engine --fd 3 expects it. */
#define ENGINE_FD 3
/* Stop reading clients while this much is queued for an engine that lags. */
#define ENGINE_BACKLOG_MAX (16u << 20)
/* Send a frame early rather than let one batch approach FRAME_MAX. */
#define BATCH_MAX (FRAME_MAX / 2)
/* Overhead of one ToEngine message beyond its payload, generously. */
#define BATCH_MSG_OVERHEAD 64u
/* How long a stopping engine gets before SIGKILL. */
#define ENGINE_STOP_MS 5000
/* How long an engine that closed its channel gets to finish dying. */
#define ENGINE_GONE_MS 1000

struct pending {
	Xsp__ToEngine te;
	union {
		Xsp__ConnOpen open;
		Xsp__ConnClose close;
		Xsp__Request req;
		Xsp__PrivReply priv;
		Xsp__DomainEvent dom;
		Xsp__ConnSync sync;
	} u;
	size_t off; /* of the request payload in the arena */
};

static pid_t engine_pid = -1;
static int engine_exe = -1; /* the binary, opened once with O_PATH */
static int chan = -1;
static struct bevent chan_ev;
static struct frame_in fin;
static struct frame_out fout;
static int congested;

/* This iteration's batch. Payloads sit in the arena until packed. */
static struct pending *pend;
static Xsp__ToEngine **pend_ptrs;
static size_t npend, pend_cap;
static uint8_t *arena;
/* Numbers requests across engine restarts (Request.seq). */
static uint64_t next_seq = 1;
static size_t arena_len, arena_cap;

static void engine_pack(void);
static void engine_write(void);
static void engine_fail(const char *, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
static void engine_gone(void) __attribute__((noreturn));
static void engine_exec(int, int, char *const[]) __attribute__((noreturn));

static void
engine_describe(int status)
{
	const char *name;

	audit_engine_exit(status);
	if (WIFEXITED(status))
		log_warnx("engine exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status)) {
		name = sigabbrev_np(WTERMSIG(status));
		if (name != NULL)
			log_warnx("engine killed by signal SIG%s%s", name,
				  WCOREDUMP(status) ? " (core dumped)" : "");
		else
			log_warnx("engine killed by signal %d",
				  WTERMSIG(status));
	}
}

/* Waits up to ms for the engine to exit. Returns 1 once it is reaped. */
static int
engine_wait(int ms, int *status)
{
	struct timespec tick = {0, 10 * 1000 * 1000};
	pid_t r;

	for (;;) {
		r = waitpid(engine_pid, status, WNOHANG);
		if (r == engine_pid || (r == -1 && errno == ECHILD)) {
			engine_pid = -1;
			return r == -1 ? -1 : 1;
		}
		if (ms <= 0)
			return 0;
		nanosleep(&tick, NULL);
		ms -= 10;
	}
}

static void
engine_kill(void)
{
	int status;

	if (engine_pid == -1)
		return;
	kill(engine_pid, SIGKILL);
	while (waitpid(engine_pid, &status, 0) == -1 && errno == EINTR)
		;
	engine_pid = -1;
}

/* A broken engine is not worth another word: kill it and give up. */
static void
engine_fail(const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warnx("engine is broken (%s): killing it", why);
	audit_engine_broken(why);
	engine_kill();
	exit(1);
}

/* The channel hit end of file: the engine is dying or gave up on us. */
static void
engine_gone(void)
{
	int status;

	if (engine_wait(ENGINE_GONE_MS, &status) == 1)
		engine_describe(status);
	else
		engine_fail("it closed its channel");
	exit(1);
}

/* SIGCHLD: the engine is the only child, and its death ends us for now. */
void
engine_reap(void)
{
	int status;

	if (engine_pid == -1 || engine_wait(0, &status) != 1)
		return;
	engine_describe(status);
	exit(1);
}

/*
 * Closes the channel, on which the engine leaves, and sends SIGTERM, then
 * waits, then SIGKILL: for an orderly shutdown. The end of its channel is
 * what stops an engine that is pid 1 of its own namespace: such a process
 * ignores every signal it has no handler for, SIGKILL apart.
 */
void
engine_stop(void)
{
	int status;

	if (engine_pid == -1)
		return;
	if (chan != -1)
		shutdown(chan, SHUT_RDWR);
	kill(engine_pid, SIGTERM);
	if (engine_wait(ENGINE_STOP_MS, &status) == 0) {
		log_warnx("engine ignored SIGTERM, killing it");
		engine_kill();
	}
}

int
engine_congested(void)
{
	return congested;
}

static int
engine_log_prio(uint32_t level)
{
	switch (level) {
	case ENGINE_LOG_ERR:
		return LOG_ERR;
	case ENGINE_LOG_WARN:
		return LOG_WARNING;
	case ENGINE_LOG_INFO:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

/* The engine's seccomp filter caught a call; it dies of SIGSYS next. */
static void
engine_violation(const Xsp__Violation *v)
{
	char *name;

	name = seccomp_syscall_resolve_num_arch(v->arch, (int)v->syscall);
	if (name == NULL)
		log_warnx("engine: forbidden system call %u (arch 0x%x)",
			  v->syscall, v->arch);
	else
		log_warnx("engine: forbidden system call %s (%u)", name,
			  v->syscall);
	free(name);
}

static void
engine_dispatch(const Xsp__EngineFrame *f)
{
	char text[4097];
	const Xsp__Log *l;
	size_t i;

	for (i = 0; i < f->n_msgs; i++) {
		switch (f->msgs[i]->msg_case) {
		case XSP__TO_BROKER__MSG_REPLY:
			conn_reply(f->msgs[i]->reply);
			break;
		case XSP__TO_BROKER__MSG_LOG:
			l = f->msgs[i]->log;
			log_sanitize(text, sizeof(text),
				     (const uint8_t *)l->text, strlen(l->text));
			log_prio(engine_log_prio(l->level), ENGINE_NAME ": %s",
				 text);
			audit_engine_log(l->level, l->text);
			break;
		case XSP__TO_BROKER__MSG_VIOLATION:
			engine_violation(f->msgs[i]->violation);
			break;
		case XSP__TO_BROKER__MSG_PRIV:
			guest_priv(f->msgs[i]->priv);
			break;
		default:
			fatalx("unchecked engine message");
		}
	}
}

static void
engine_read(void)
{
	Xsp__EngineFrame *f;
	const uint8_t *data;
	const char *why;
	size_t len;
	ssize_t n;
	int r;

	n = frame_in_fill(&fin, chan);
	if (n == -1) {
		if (errno == EAGAIN)
			return;
		/* A dead engine that left frames unread resets its end. */
		if (errno == ECONNRESET)
			engine_gone();
		engine_fail("read: %s", strerror(errno));
	}
	if (n == 0)
		engine_gone();
	while ((r = frame_in_next(&fin, &data, &len)) == 1) {
		if (engine_frame_check(data, len, conn_next_id(), &f, &why) ==
		    -1)
			engine_fail("%s", why);
		engine_dispatch(f);
		xsp__engine_frame__free_unpacked(f, NULL);
	}
	if (r == -1)
		engine_fail("frame over %u bytes", FRAME_MAX);
}

static void
engine_event(int fd, uint32_t events, void *arg)
{
	if (events & EPOLLOUT)
		engine_write();
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		engine_read();
}

static void
engine_write(void)
{
	int r, was = congested;

	r = frame_out_flush(&fout, chan);
	if (r == -1 && (errno == EPIPE || errno == ECONNRESET))
		engine_gone();
	if (r == -1)
		engine_fail("write: %s", strerror(errno));
	loop_set(&chan_ev, EPOLLIN | (r == 1 ? EPOLLOUT : 0));
	congested = fout.len - fout.off > ENGINE_BACKLOG_MAX;
	if (was && !congested)
		conn_resume_all();
}

/* Once per loop iteration: the batch goes out as one frame. */
void
engine_flush(void)
{
	/*
	 * A write that ends congestion lets clients queue requests again;
	 * send those too rather than leave them until some other wake-up.
	 */
	do {
		if (npend > 0)
			engine_pack();
		if (frame_out_pending(&fout))
			engine_write();
	} while (npend > 0 && !congested);
}

static void
engine_pack(void)
{
	Xsp__BrokerFrame bf = XSP__BROKER_FRAME__INIT;
	struct pending *p;
	size_t i;

	/* The arena may have moved since the requests were queued. */
	for (i = 0; i < npend; i++) {
		p = &pend[i];
		switch (p->te.msg_case) {
		case XSP__TO_ENGINE__MSG_OPEN:
			p->te.open = &p->u.open;
			break;
		case XSP__TO_ENGINE__MSG_CLOSE:
			p->te.close = &p->u.close;
			break;
		case XSP__TO_ENGINE__MSG_PRIV_REPLY:
			p->te.priv_reply = &p->u.priv;
			break;
		case XSP__TO_ENGINE__MSG_DOMAIN:
			p->te.domain = &p->u.dom;
			break;
		case XSP__TO_ENGINE__MSG_SYNC:
			p->te.sync = &p->u.sync;
			break;
		case XSP__TO_ENGINE__MSG_REQUEST:
			p->te.request = &p->u.req;
			/* No arena yet when every payload so far was empty. */
			p->u.req.payload.data = p->u.req.payload.len > 0
							? arena + p->off
							: NULL;
			break;
		default:
			fatalx("bad pending message");
		}
		pend_ptrs[i] = &p->te;
	}
	bf.n_msgs = npend;
	bf.msgs = pend_ptrs;
	if (frame_out_pack(&fout, &bf.base) == -1)
		fatal("frame to engine");
	npend = 0;
	arena_len = 0;
	congested = fout.len - fout.off > ENGINE_BACKLOG_MAX;
}

static struct pending *
engine_queue(size_t payload_len)
{
	struct pending *np;
	Xsp__ToEngine **npp;
	uint8_t *na;
	size_t ncap;

	if (npend > 0 &&
	    arena_len + payload_len + (npend + 1) * BATCH_MSG_OVERHEAD >
		    BATCH_MAX)
		engine_pack();
	if (npend == pend_cap) {
		ncap = pend_cap ? pend_cap * 2 : 256;
		if ((np = reallocarray(pend, ncap, sizeof(*np))) == NULL)
			fatal("engine batch");
		pend = np;
		if ((npp = reallocarray(pend_ptrs, ncap, sizeof(*npp))) == NULL)
			fatal("engine batch");
		pend_ptrs = npp;
		pend_cap = ncap;
	}
	if (arena_len + payload_len > arena_cap) {
		ncap = arena_cap ? arena_cap : 65536;
		while (ncap < arena_len + payload_len)
			ncap *= 2;
		if ((na = realloc(arena, ncap)) == NULL)
			fatal("engine batch");
		arena = na;
		arena_cap = ncap;
	}
	np = &pend[npend++];
	memset(np, 0, sizeof(*np));
	xsp__to_engine__init(&np->te);
	return np;
}

void
engine_send_open(uint32_t conn, uint32_t domid, int privileged, int readonly)
{
	struct pending *p = engine_queue(0);

	xsp__conn_open__init(&p->u.open);
	p->u.open.conn = conn;
	p->u.open.domid = domid;
	p->u.open.privileged = privileged ? 1 : 0;
	p->u.open.readonly = readonly ? 1 : 0;
	p->te.msg_case = XSP__TO_ENGINE__MSG_OPEN;
}

void
engine_send_close(uint32_t conn)
{
	struct pending *p = engine_queue(0);

	xsp__conn_close__init(&p->u.close);
	p->u.close.conn = conn;
	p->te.msg_case = XSP__TO_ENGINE__MSG_CLOSE;
}

void
engine_send_priv_reply(uint32_t id, int err, int exists, int dying,
		       int shutdown)
{
	struct pending *p = engine_queue(0);

	xsp__priv_reply__init(&p->u.priv);
	p->u.priv.id = id;
	p->u.priv.err = (uint32_t)err;
	p->u.priv.has_exists = p->u.priv.has_dying = p->u.priv.has_shutdown = 1;
	p->u.priv.exists = exists ? 1 : 0;
	p->u.priv.dying = dying ? 1 : 0;
	p->u.priv.shutdown = shutdown ? 1 : 0;
	p->te.msg_case = XSP__TO_ENGINE__MSG_PRIV_REPLY;
}

void
engine_send_domain(uint32_t domid, int dying, int shutdown, int gone)
{
	struct pending *p = engine_queue(0);

	xsp__domain_event__init(&p->u.dom);
	p->u.dom.domid = domid;
	p->u.dom.dying = dying ? 1 : 0;
	p->u.dom.shutdown = shutdown ? 1 : 0;
	p->u.dom.gone = gone ? 1 : 0;
	p->te.msg_case = XSP__TO_ENGINE__MSG_DOMAIN;
}

void
engine_send_request(uint32_t conn, uint32_t domid, const struct xs_hdr *hdr,
		    const uint8_t *payload)
{
	struct pending *p = engine_queue(hdr->len);

	xsp__request__init(&p->u.req);
	p->u.req.conn = conn;
	p->u.req.domid = domid;
	p->u.req.type = hdr->type;
	p->u.req.req_id = hdr->req_id;
	p->u.req.tx_id = hdr->tx_id;
	p->u.req.seq = next_seq++;
	p->u.req.payload.len = hdr->len;
	p->off = arena_len;
	if (hdr->len > 0)
		memcpy(arena + arena_len, payload, hdr->len);
	arena_len += hdr->len;
	p->te.msg_case = XSP__TO_ENGINE__MSG_REQUEST;
}

/*
 * In the child: the channel becomes fd 3 and stdio /dev/null, every other fd
 * is closed by exec, signals are as a fresh process has them and the
 * environment is empty. The engine inherits nothing it did not ask for.
 * Only system calls here: this may be the child of a raw clone.
 */
static void
engine_exec(int fd, int errfd, char *const argv[])
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
	/* errfd is above ENGINE_FD: main() keeps 0-2 open, fd took 3. */
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1 ||
	    dup2(null, 0) == -1 || dup2(null, 1) == -1 || dup2(null, 2) == -1)
		goto fail;
	/*
	 * Every fd we open has O_CLOEXEC; this also catches whatever a library
	 * or our own parent left without it. errfd and engine_exe must stay
	 * open until exec, so they are marked, not closed.
	 */
	if (close_range(ENGINE_FD + 1, ~0u, CLOSE_RANGE_CLOEXEC) == -1)
		goto fail;
	fexecve(engine_exe, argv, envp);
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
engine_spawn(int sandboxed)
{
	static int said;
	pid_t pid;

	if (!sandboxed)
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

void
engine_start(const char *path, char *const argv[], int sandboxed)
{
	int sv[2], ep[2], err, flags;
	struct pending *p;
	ssize_t n;

	/*
	 * Held open so that a restart needs no search permission on the way,
	 * and above ENGINE_FD so that the child's dup2() leaves it alone.
	 */
	if (engine_exe == -1) {
		if ((flags = open(path, O_PATH | O_CLOEXEC)) == -1)
			fatal("%s", path);
		if ((engine_exe = fcntl(flags, F_DUPFD_CLOEXEC,
					ENGINE_FD + 1)) == -1)
			fatal("fcntl");
		close(flags);
	}

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		fatal("socketpair");
	/* Carries errno back if exec fails; closes by itself on success. */
	if (pipe2(ep, O_CLOEXEC) == -1)
		fatal("pipe2");
	/* Keep the child's error pipe clear of the fds it rearranges. */
	if (ep[1] <= ENGINE_FD) {
		if ((n = fcntl(ep[1], F_DUPFD_CLOEXEC, ENGINE_FD + 1)) == -1)
			fatal("fcntl");
		close(ep[1]);
		ep[1] = (int)n;
	}
	switch ((engine_pid = engine_spawn(sandboxed))) {
	case -1:
		fatal("starting the engine");
	case 0:
		close(sv[0]);
		close(ep[0]);
		if (sandboxed)
			privs_engine_child();
		engine_exec(sv[1], ep[1], argv);
	}
	close(sv[1]);
	close(ep[1]);
	do
		n = read(ep[0], &err, sizeof(err));
	while (n == -1 && errno == EINTR);
	close(ep[0]);
	if (n == (ssize_t)sizeof(err)) {
		engine_wait(ENGINE_STOP_MS, &flags);
		errno = err;
		fatal("cannot execute %s", path);
	}
	chan = sv[0];
	if ((flags = fcntl(chan, F_GETFL)) == -1 ||
	    fcntl(chan, F_SETFL, flags | O_NONBLOCK) == -1)
		fatal("fcntl");
	loop_add(&chan_ev, chan, EPOLLIN, engine_event, NULL);
	/* Always first: a fresh engine starts with no connections. */
	p = engine_queue(0);
	xsp__conn_sync__init(&p->u.sync);
	p->te.msg_case = XSP__TO_ENGINE__MSG_SYNC;
	log_debug("engine %s started, pid %ld", path, (long)engine_pid);
}
