// SPDX-License-Identifier: GPL-2.0-only
/*
 * The spawner: the one process of split-xenstored that keeps root powers
 * once it serves, and the only thing it does with them is start and stop
 * engines. The broker forks it before it reads anything a guest or client
 * wrote, and from then on talks to it only over the control channel of
 * include/spawn_msg.h, which it reads as a hostile party's: a message out
 * of shape means the broker is broken, and the spawner stops the engine and
 * leaves. So does the end of the channel: the broker is gone, and with it
 * everything it served, so the engine, the sockets and the pid file go too.
 *
 * It holds its channel, the two state memfds, the engine binary and
 * /dev/null as stdio (stderr stays the broker's log in the foreground);
 * no socket of a client, no Xen device, no engine channel past a START.
 */
/* xenctrl.h pulls in Xen's public headers, which need GNU C. */
#undef __STRICT_ANSI__
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <seccomp.h>
#include <xenctrl.h>

#include "broker.h"
#include "lu_options.h"

/* How long an engine gets after SIGTERM when the spawner ends it. */
#define SPAWNER_STOP_MS 5000

static const struct spawner_cfg *cfg;
static int ctl = -1;
/* The hypercall interface, for domain information only (NULL: no Xen). */
static xc_interface *xc;
static pid_t engine = -1;

static void spawner_end(int status) __attribute__((noreturn));

static void
spawner_fatal_end(void)
{
	spawner_end(1);
}

/* Waits up to ms for the engine, then kills it; either way it is reaped. */
static void
engine_wait_end(int ms)
{
	struct timespec tick = {0, 10 * 1000 * 1000};
	int status;
	pid_t r;

	for (; engine != -1; ms -= 10) {
		r = waitpid(engine, &status, WNOHANG);
		if (r == engine || (r == -1 && errno == ECHILD))
			engine = -1;
		else if (ms <= 0)
			break;
		else
			nanosleep(&tick, NULL);
	}
	if (engine == -1)
		return;
	log_warnx("engine ignored SIGTERM, killing it");
	kill(engine, SIGKILL);
	while (waitpid(engine, &status, 0) == -1 && errno == EINTR)
		;
	engine = -1;
}

/*
 * The broker is gone or asked for the end: the engine is stopped, and the
 * sockets and the pid file the broker made as root are removed, which it
 * can no longer do itself. The broker's atexit handlers are not ours.
 */
static void
spawner_end(int status)
{
	size_t i;

	if (engine != -1) {
		kill(engine, SIGTERM);
		engine_wait_end(SPAWNER_STOP_MS);
	}
	for (i = 0; i < SPAWNER_UNLINK_MAX; i++)
		if (cfg->unlink[i] != NULL && unlink(cfg->unlink[i]) == -1 &&
		    errno != ENOENT)
			log_warn("unlink %s", cfg->unlink[i]);
	spawn_ready_withdraw();
	_exit(status);
}

static void __attribute__((noreturn)) broken(const char *why)
{
	log_warnx("spawner: the broker sent %s: stopping the engine and "
		  "leaving",
		  why);
	spawner_end(1);
}

static void
send_or_end(const void *msg, size_t len, const int *fds, int nfds)
{
	if (spawn_send(ctl, msg, len, fds, nfds) == -1) {
		/* The broker died: its end of the channel says it next. */
		log_debug("spawner: sending to the broker: %s",
			  strerror(errno));
	}
}

static void
send_err(uint32_t type, int err)
{
	struct spawn_err m = {{type, sizeof(m)}, err};

	send_or_end(&m, sizeof(m), NULL, 0);
}

/* The nargs words of args[0..len), each ending NUL, into words[]. */
static int
split_words(char *args, size_t len, uint32_t nargs, char **words)
{
	size_t off = 0, n;
	uint32_t i;

	for (i = 0; i < nargs; i++) {
		if (off >= len)
			return -1;
		n = strnlen(args + off, len - off);
		if (n == len - off || n > SPAWN_ARG_MAX)
			return -1;
		words[i] = args + off;
		off += n + 1;
	}
	words[nargs] = NULL;
	return off == len ? 0 : -1;
}

static void
do_start(struct spawn_start *m)
{
	char *words[SPAWN_ARGS_MAX + 1];
	struct spawn_pid r = {{SPAWN_STARTED, sizeof(r)}, 0, 0};
	int chan, err;
	pid_t pid;

	/* One engine at a time: two would share the state memfds. */
	if (engine != -1)
		broken("START while an engine runs");
	if (m->nargs > SPAWN_ARGS_MAX || m->args_len > sizeof(m->args) ||
	    split_words(m->args, m->args_len, m->nargs, words) == -1)
		broken("START with malformed words");
	err = spawn_engine_start(m->binary, words, m->nargs, &pid, &chan);
	if (err == -1)
		broken("START of a binary or words it may not run");
	if (err != 0) {
		send_err(SPAWN_START_FAILED, err);
		return;
	}
	engine = pid;
	r.pid = pid;
	send_or_end(&r, sizeof(r), &chan, 1);
	close(chan);
}

static void
do_update_file(struct spawn_update_file *m)
{
	struct spawn_update_result r = {
		{SPAWN_UPDATE_FILE_RESULT, sizeof(r)}, 0, 0};
	int kind = 0;

	if (m->path_len > SPAWN_PATH_MAX || m->path[m->path_len] != '\0' ||
	    strlen(m->path) != m->path_len || m->path_len == 0)
		broken("UPDATE_FILE with a malformed path");
	r.err = spawn_engine_update_file(m->path, &kind);
	r.kind = r.err == 0 ? (uint32_t)kind : 0;
	send_or_end(&r, sizeof(r), NULL, 0);
}

/* WRITE_STREAM: the store for a handover, with no engine running. */
static void
do_write_stream(const struct spawn_write_stream *m)
{
	struct spawn_err r = {{SPAWN_STREAM, sizeof(r)}, 0};
	int out[2];

	if (engine != -1)
		broken("WRITE_STREAM while an engine runs");
	if (m->form != SPAWN_STREAM_C417 && m->form != SPAWN_STREAM_SPLIT)
		broken("WRITE_STREAM of an unknown form");
	r.err = spawn_engine_write_stream(m->form, &out[0], &out[1]);
	send_or_end(&r, sizeof(r), out, r.err == 0 ? 2 : 0);
	if (r.err == 0)
		spawn_close_fds(out, 2);
}

static void
do_handover(struct spawn_handover *m, int *fds, int nfds)
{
	char *words[SPAWN_ARGS_MAX + 1];

	if (engine != -1)
		broken("HANDOVER while an engine runs");
	if (nfds != 1)
		broken("HANDOVER without its state_dump");
	if (m->nargs > SPAWN_ARGS_MAX || m->args_len > sizeof(m->args) ||
	    split_words(m->args, m->args_len, m->nargs, words) == -1 ||
	    !lu_args_ok(words, m->nargs))
		broken("HANDOVER with malformed words");
	if (spawn_handover_begin(m, words, fds[0]) == -1)
		broken("HANDOVER to no daemon, or of too many fds");
}

static void
do_handover_fds(const struct spawn_handover_fds *m, int *fds, int nfds)
{
	int err;

	if ((uint32_t)nfds != m->n)
		broken("HANDOVER_FDS with fds it does not count");
	if ((err = spawn_handover_fds(fds, nfds)) == -1)
		broken("HANDOVER_FDS nobody asked for");
	/* Here only if the daemon could not be executed. */
	if (err != 0)
		send_err(SPAWN_HANDOVER_FAILED, err);
}

const struct spawner_cfg *
spawner_cfg_get(void)
{
	return cfg;
}

static void
do_stop(const struct spawn_stop *m)
{
	if (m->how != SPAWN_STOP_TERM && m->how != SPAWN_STOP_KILL)
		broken("STOP with an unknown signal");
	/* An engine that is gone was reported, or is about to be. */
	if (engine != -1)
		kill(engine, m->how == SPAWN_STOP_TERM ? SIGTERM : SIGKILL);
}

static void
do_audit_open(void)
{
	struct spawn_audit_fds r = {{SPAWN_AUDIT_FDS, sizeof(r)}, {0}};
	int fds[SPAWN_AUDIT_N], nfds = 0, i, fd;

	for (i = 0; i < SPAWN_AUDIT_N; i++) {
		if (cfg->audit[i] == NULL)
			r.err[i] = SPAWN_AUDIT_UNSET;
		else if ((fd = audit_file_open(i, cfg->audit[i])) == -1)
			r.err[i] = errno;
		else
			fds[nfds++] = fd;
	}
	send_or_end(&r, sizeof(r), fds, nfds);
	spawn_close_fds(fds, nfds);
}

/*
 * The broker's filter trapped a call; it dies of it next, and the end of
 * the channel takes the daemon down. Only the number is believed.
 */
static void
do_violation(const struct spawn_violation *m)
{
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, m->nr);

	log_warnx("broker: forbidden system call %s (%d, second argument "
		  "%#llx); it dies of SIGSYS",
		  name != NULL ? name : "?", (int)m->nr,
		  (unsigned long long)m->arg1);
	free(name);
}

/*
 * Domain information, the one hypercall the broker's work needs, made here
 * so that the broker holds no hypercall interface at all.
 */
static void
do_dominfo(const struct spawn_dominfo_req *m)
{
	static struct spawn_dominfo r;
	xc_domaininfo_t info[SPAWN_DOMINFO_MAX];
	int n = 0, i;

	if (m->first >= XS_DOMID_FIRST_RESERVED)
		broken("domain information past the last domain id");
	memset(&r, 0, sizeof(r));
	r.h.type = SPAWN_DOMINFO_LIST;
	r.h.len = sizeof(r);
	if (xc != NULL &&
	    (n = xc_domain_getinfolist(xc, m->first, SPAWN_DOMINFO_MAX, info)) <
		    0) {
		log_warn("spawner: xc_domain_getinfolist");
		n = 0;
	}
	for (i = 0; i < n; i++) {
		if (info[i].domain >= XS_DOMID_FIRST_RESERVED)
			break;
		r.d[r.n].domid = info[i].domain;
		r.d[r.n].flags = info[i].flags;
		r.n++;
	}
	send_or_end(&r, sizeof(r), NULL, 0);
}

/* The broker serves, which it says once: the pid file, and systemd. */
static void
do_ready(void)
{
	static int said;

	if (said++)
		broken("READY twice");
	send_err(SPAWN_READY_DONE, spawn_ready_announce(cfg));
}

/* Each type has one size; only a handover's messages carry fds. */
static size_t
msg_size(uint32_t type)
{
	switch (type) {
	case SPAWN_WRITE_STREAM:
		return sizeof(struct spawn_write_stream);
	case SPAWN_HANDOVER:
		return sizeof(struct spawn_handover);
	case SPAWN_HANDOVER_FDS:
		return sizeof(struct spawn_handover_fds);
	case SPAWN_START:
		return sizeof(struct spawn_start);
	case SPAWN_UPDATE_FILE:
		return sizeof(struct spawn_update_file);
	case SPAWN_STOP:
		return sizeof(struct spawn_stop);
	case SPAWN_AUDIT_OPEN:
	case SPAWN_SHUTDOWN:
	case SPAWN_READY:
		return sizeof(struct spawn_hdr);
	case SPAWN_VIOLATION:
		return sizeof(struct spawn_violation);
	case SPAWN_DOMINFO:
		return sizeof(struct spawn_dominfo_req);
	}
	return 0;
}

static void
spawner_dispatch(void *buf, size_t len, int *fds, int nfds)
{
	struct spawn_hdr h;
	size_t want;

	if (len < sizeof(h))
		broken("a message shorter than its header");
	memcpy(&h, buf, sizeof(h));
	if (nfds != 0 && h.type != SPAWN_HANDOVER &&
	    h.type != SPAWN_HANDOVER_FDS)
		broken("a message with fds");
	if ((want = msg_size(h.type)) == 0)
		broken("a message of an unknown type");
	if (len != want || h.len != want)
		broken("a message of the wrong size");
	switch (h.type) {
	case SPAWN_WRITE_STREAM:
		do_write_stream(buf);
		break;
	case SPAWN_HANDOVER:
		do_handover(buf, fds, nfds);
		break;
	case SPAWN_HANDOVER_FDS:
		do_handover_fds(buf, fds, nfds);
		break;
	case SPAWN_START:
		do_start(buf);
		break;
	case SPAWN_UPDATE_FILE:
		do_update_file(buf);
		break;
	case SPAWN_STOP:
		do_stop(buf);
		break;
	case SPAWN_AUDIT_OPEN:
		do_audit_open();
		break;
	case SPAWN_SHUTDOWN:
		spawner_end(0);
	case SPAWN_VIOLATION:
		do_violation(buf);
		break;
	case SPAWN_DOMINFO:
		do_dominfo(buf);
		break;
	case SPAWN_READY:
		do_ready();
		break;
	}
}

/* SIGCHLD: the engine's end goes to the broker, with its status. */
static void
reap(void)
{
	struct spawn_pid r = {{SPAWN_EXITED, sizeof(r)}, 0, 0};
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != engine)
			continue;
		engine = -1;
		r.pid = pid;
		r.status = status;
		send_or_end(&r, sizeof(r), NULL, 0);
	}
}

static void __attribute__((noreturn)) spawner_loop(int sigfd)
{
	static union {
		struct spawn_start start;
		struct spawn_update_file file;
		struct spawn_handover handover;
		char buf[SPAWN_MSG_MAX + 1];
	} msg;
	struct signalfd_siginfo si;
	struct pollfd p[2] = {{ctl, POLLIN, 0}, {sigfd, POLLIN, 0}};
	int fds[SPAWN_FDS_MAX], nfds;
	ssize_t n;

	for (;;) {
		if (poll(p, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("spawner: poll");
		}
		if (p[1].revents != 0) {
			while (read(sigfd, &si, sizeof(si)) == sizeof(si))
				;
			reap();
		}
		if (p[0].revents == 0)
			continue;
		/* One byte more than the largest: a longer one shows. */
		n = spawn_recv(ctl, msg.buf, sizeof(msg.buf), fds, &nfds);
		if (n == -1 && errno == EMSGSIZE)
			broken("a message too large");
		if (n <= 0) {
			/* The broker is gone: so is everything it served. */
			spawner_end(n == 0 ? 0 : 1);
		}
		spawner_dispatch(msg.buf, (size_t)n, fds, nfds);
	}
}

/*
 * Only the control channel, the state memfds and stdio stay; stdio is
 * /dev/null but for stderr when the broker logs there.
 */
static void
fds_keep_only(int log_stderr)
{
	int keep[3] = {ctl, cfg->state_fd[0], cfg->state_fd[1]};
	int i, j, t, lo = 3, null;

	for (i = 0; i < 3; i++)
		for (j = i + 1; j < 3; j++)
			if (keep[j] < keep[i]) {
				t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	for (i = 0; i < 3; i++) {
		if (keep[i] > lo)
			close_range((unsigned int)lo, (unsigned int)keep[i] - 1,
				    0);
		lo = keep[i] + 1;
	}
	close_range((unsigned int)lo, ~0u, 0);
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		fatal("/dev/null");
	if (dup2(null, 0) == -1 || dup2(null, 1) == -1 ||
	    (!log_stderr && dup2(null, 2) == -1))
		fatal("dup2");
	close(null);
}

static int
signals_setup(void)
{
	sigset_t set, chld;
	int fd;

	/*
	 * The signals meant for the daemon (a terminal's ^C, a launcher's
	 * SIGTERM to the group) are the broker's to act on: here they stay
	 * blocked, and pending, which no engine inherits.
	 */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_SETMASK, &set, NULL) == -1)
		fatal("sigprocmask");
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if ((fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	return fd;
}

/* In the child of spawn_fork(): never returns. */
void
spawner_main(const struct spawner_cfg *c, int sock, int log_stderr)
{
	cfg = c;
	ctl = sock;
	log_set_fatal_end(spawner_fatal_end);
	/* syslog's socket would otherwise be closed under it, its number
	 * given to the next fd opened. */
	if (!log_stderr)
		closelog();
	fds_keep_only(log_stderr);
	log_init(log_stderr, log_verbose());
	ctl = fd_above(ctl);
	if (c->xen && (xc = xc_interface_open(NULL, NULL, 0)) == NULL)
		fatal("spawner: the hypervisor control interface "
		      "(xc_interface_open)");
	spawn_engine_init(c);
	spawn_handover_init();
	/* Only root may look at it, or trace it. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("PR_SET_DUMPABLE");
	privs_spawner();
	spawner_loop(signals_setup());
}
