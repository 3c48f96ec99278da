/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xs-broker: the privileged half of split-xenstored. It owns the sockets and
 * the life of the engine, understands framing only, and passes every request
 * to the engine over one socketpair. This header names every piece, grouped
 * by the file that implements it.
 */
#ifndef BROKER_H
#define BROKER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <time.h>

#include "escape.h"
#include "frame.h"
#include "spawn_msg.h"
#include "xsp.pb-c.h"
#include "xs_proto.h"

#define BROKER_NAME "xs-broker"
#define ENGINE_NAME "xs-engine"

/* Stop reading a client whose unsent replies exceed this. */
#define CONN_OUTQ_MAX (1u << 20)
/* Watch events past this, unread by a privileged client, are dropped. */
#define CONN_OUTQ_PRIV_MAX (16u * CONN_OUTQ_MAX)
/*
 * Log.level on the engine channel, as the engine numbers it
 * (engine/engine.h LOG_LVL_*). Anything above ENGINE_LOG_DEBUG is invalid.
 */
enum engine_log_level {
	ENGINE_LOG_ERR,
	ENGINE_LOG_WARN,
	ENGINE_LOG_INFO,
	ENGINE_LOG_DEBUG,
};

/* C xenstored's default for -Q outstanding=N. */
#define OUTSTANDING_DEFAULT 20u

/* C xenstored's default for -w watch-event=SECONDS. */
#define WATCH_EVENT_TIMEOUT_DEFAULT 20u

/* log.c */
void log_init(int to_stderr, int verbose);
void log_set_fatal_end(void (*end)(void));
int log_verbose(void);
void log_prio(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* xsd_compat.c: C xenstored's options that are ignored or refused. */
#define XSD_COMPAT_NOTES 4
struct xsd_compat {
	const char *notes[XSD_COMPAT_NOTES]; /* ignored, and why; once each */
	size_t nnotes;
};
int xsd_compat_option(struct xsd_compat *xc, int opt, const char *arg,
		      char *err, size_t len);
void xsd_compat_trace(struct xsd_compat *xc, const char *trace,
		      const char **audit_log);
void xsd_compat_log(const struct xsd_compat *xc);

/* loop.c: one epoll set; callbacks run with the iteration's clock. */
struct bevent {
	int fd;
	uint32_t events; /* interest as registered */
	void (*cb)(int fd, uint32_t events, void *arg);
	void *arg;
};

/* How long the loop looks for more events before it sleeps (--spin-us). */
#define SPIN_US_DEFAULT 50
void loop_init(void);
void loop_set_spin(long us);
/* How long an event owed to a guest may wait to be merged with a later one. */
#define NOTIFY_DEFER_MS 1
void loop_add(struct bevent *, int fd, uint32_t events,
	      void (*cb)(int, uint32_t, void *), void *arg);
void loop_set(struct bevent *, uint32_t events);
void loop_del(struct bevent *);
const struct timespec *loop_now(void);
int loop_turn(int timeout);
void loop_run(void) __attribute__((noreturn));

/* sockmsg.c: framing of the xenstore wire protocol, pure. */
#define SOCKMSG_MORE 0
#define SOCKMSG_BAD (-1)
long sockmsg_parse(const uint8_t *buf, size_t len, struct xs_hdr *hdr);

/* listen.c */
void listen_open(const char *rundir, int sock_fd, int ro_fd);
void listen_unlink(void);
void listen_paths(const char *paths[2]);
void listen_resume(void);
int listen_fd(int readonly);
int listen_paused(void);

/* ring.c: bytes in and out of a guest's ring page, pure. */
ssize_t ring_read(struct xs_ring *, void *, size_t, uint32_t *had);
ssize_t ring_write(struct xs_ring *, const void *, size_t);
int ring_has_input(struct xs_ring *);
int ring_has_room(struct xs_ring *);
void ring_reset(struct xs_ring *);

/* outq.c: a client's replies and events, not yet written. */
struct outrec;
struct outq {
	uint8_t *buf;
	size_t off; /* the first byte not yet written */
	size_t len; /* the end of the bytes queued */
	size_t cap;
	size_t head_done; /* bytes of the first message written */
	struct outrec *rec;
	size_t rhead, n, rcap; /* records rec[rhead, rhead + n) */
	size_t bytes;          /* of the messages queued, whole */
	size_t events;         /* watch events among them */
};
/* Room for a message of len bytes at the end, or NULL (out of memory). */
uint8_t *outq_push(struct outq *, uint32_t type, size_t len, time_t now);
/* n bytes of the queue went out. Returns how many whole events did. */
size_t outq_written(struct outq *, size_t n);
const struct outrec *outq_first(const struct outq *);
size_t outq_rec_len(const struct outrec *);
/* Empties it. Returns how many events were in it. */
size_t outq_clear(struct outq *);
/*
 * Drops the watch events queued more than timeout seconds before now, but
 * one partly written, telling dropped() of each. Returns how many.
 */
size_t outq_drop_stale(struct outq *, time_t now, unsigned int timeout,
		       void (*dropped)(void *arg, const uint8_t *msg,
				       size_t len),
		       void *arg);

static inline size_t
outq_unwritten(const struct outq *q, const uint8_t **data)
{
	/* An empty queue may have no buffer at all. */
	*data = q->len > q->off ? q->buf + q->off : NULL;
	return q->len - q->off;
}

/* connid.c: connection ids, given again once the engine forgot them. */
void connid_init(uint32_t first, int (*in_use)(uint32_t));
int connid_wrapped(void);
uint32_t connid_limit(void);
uint32_t connid_take(void);
void connid_retire(uint32_t);
uint64_t connid_fence_due(void);
int connid_fence_echoed(uint64_t);
void connid_engine_gone(void);

/* conn.c */
struct conn;
struct guest;
void conn_init(uint32_t first_id);
/* Room for a few whole messages, so one read can take a pipeline. */
#define CONN_INBUF (4 * (XS_HDR_SIZE + XS_PAYLOAD_MAX))
void conn_new(int fd, int readonly);
struct conn *conn_new_id(int fd, int readonly, uint32_t id);
void conn_adopt_pending(struct conn *, const uint8_t *in, size_t inlen,
			const uint8_t *out, size_t outlen, size_t resp,
			uint32_t lu_req, const char *lu_answer);
unsigned int conn_readonly_count(void);
struct conn *conn_new_ring(struct guest *, uint32_t domid, int privileged,
			   uint32_t id);
uint32_t conn_id(const struct conn *);
void conn_set_outstanding(unsigned int);
void conn_ring_event(struct conn *);
int conn_awaits_engine(const struct conn *);
int conn_ring_wants(struct conn *);
void conn_drop(struct conn *, const char *why);
int conn_ring_poll(void);
int conn_reply(const Xsp__Reply *);
int conn_reply_hdr(uint32_t conn, const struct xs_hdr *,
		   const uint8_t *payload);
void conn_each(void (*)(uint32_t id, uint32_t domid, int privileged,
			int readonly));
void conn_drop_id(uint32_t id, const char *why);
uint32_t conn_next_id(void);
void conn_set_watch_timeout(unsigned int seconds);
void conn_flush_dirty(void);
void conn_resume_all(void);
void conn_reap(void);
struct handover_conn {
	uint32_t id, domid;
	int ring;     /* else a socket, fd */
	int readonly; /* a socket_ro client */
	int fd;
	uint32_t lport; /* a ring's local port, 0 if unbound */
	const uint8_t *in, *out;
	size_t inlen, outlen, resplen; /* resplen: the rest of one partly
					  written, first in out */
	const struct replay_conn *rq;  /* its requests the engine had */
};
size_t conn_handover_list(struct handover_conn **, int readonly_too);
void conn_sweep(void);
int conn_sweep_needed(void);

/* status.c: SIGUSR1's status line. */
void status_log(void);

/* quarantine.c: guest domains whose requests crash engines. */
int quarantine_has(uint32_t domid);
void quarantine_clear(uint32_t domid);
void quarantine_domain(uint32_t domid, uint32_t conn, const struct xs_hdr *);
int quarantine_lift(uint32_t domid, uint32_t by_conn);
size_t quarantine_list(char *buf, size_t size);

/* control.c: XS_CONTROL quarantine, answered by the broker itself. */
int control_is_ours(const struct xs_hdr *, const uint8_t *payload);
size_t control_answer(const struct xs_hdr *, const uint8_t *payload,
		      uint32_t conn, uint32_t *type, char *out, size_t size);

/* audit.c: the audit log (policy/audit.policy); broker/audit.h inside. */
struct audit_conn;
void audit_init(const char *path, int to_syslog, const char *policy,
		const char *key);
int audit_file_open(int which, const char *path);
int audit_enabled(void);
void audit_paths(const char *paths[SPAWN_AUDIT_N]);
void audit_reload(const int fds[SPAWN_AUDIT_N], const int errs[SPAWN_AUDIT_N]);
void audit_stats(void);
struct audit_conn *audit_conn_open(uint32_t conn, uint32_t domid, int fd,
				   const char *transport);
void audit_conn_close(struct audit_conn *, const char *why);
void audit_request(struct audit_conn *, const struct xs_hdr *,
		   const uint8_t *payload);
void audit_reply(struct audit_conn *, const Xsp__Reply *);
void audit_events_dropped(struct audit_conn *, unsigned long count);
void audit_engine_log(uint32_t level, const char *text);
void audit_engine_exit(int status);
void audit_engine_broken(const char *why);
void audit_engine_event(const char *event, const char *detail);
void audit_flush(void);
void audit_flush_now(void);
int audit_congested(void);
int audit_retry_needed(void);

/*
 * replay.c: the requests handed to the engine and not yet answered, pure.
 * A request in flight at REPLAY_POISON engine deaths costs its connection.
 */
#define REPLAY_POISON 2u
struct replay_conn;
struct replay_req {
	TAILQ_ENTRY(replay_req) all; /* every request, in seq order */
	TAILQ_ENTRY(replay_req) per; /* its connection's, in order */
	struct replay_conn *rc;
	uint64_t seq;
	uint32_t conn, domid;
	struct xs_hdr hdr;
	unsigned int deaths; /* engines that died with it in flight */
	int sent;            /* handed to the current engine */
	/* What a privileged client asks the engine to have done (ASK_*). */
	uint8_t ask;
	uint8_t ask_used; /* the current engine acted on it */
	TAILQ_ENTRY(replay_req) asks;
	uint8_t payload[];
};
struct replay_conn {
	TAILQ_HEAD(, replay_req) q;
};
struct replay {
	TAILQ_HEAD(, replay_req) all;
	TAILQ_HEAD(, replay_req) asks; /* those with an ask, in seq order */
	struct replay_req *unsent;     /* the first not yet handed over */
	size_t count, bytes;
};
enum { REPLAY_OK, REPLAY_UNASKED, REPLAY_MISMATCH };
void replay_init(struct replay *);
void replay_conn_init(struct replay_conn *);
struct replay_req *replay_add(struct replay *, struct replay_conn *,
			      uint64_t seq, uint32_t conn, uint32_t domid,
			      const struct xs_hdr *, const uint8_t *payload);
struct replay_req *replay_next(struct replay *);
void replay_sent(struct replay *, struct replay_req *);
int replay_answer(struct replay *, struct replay_conn *, uint32_t req_id);
void replay_conn_drop(struct replay *, struct replay_conn *);
size_t replay_engine_gone(struct replay *, int died);
struct replay_req *replay_first(struct replay *);
struct replay_req *replay_after(struct replay_req *);
void replay_set_ask(struct replay *, struct replay_req *, uint8_t ask);
struct replay_req *replay_asks_first(struct replay *);
struct replay_req *replay_ask_after(struct replay_req *);

/* authority.c: what the engine may ask, on whose word. */
enum { ASK_NONE, ASK_INTRODUCE, ASK_RELEASE, ASK_LU_FILE, ASK_LU_EXEC };
uint8_t authority_ask(int privileged, int readonly, const struct xs_hdr *,
		      const uint8_t *payload);
const char *authority_check(struct replay *, const Xsp__PrivRequest *);

/* affinity.c: one CPU for the broker, its spawner and its engines. */
void affinity_share_cpu(void);
void affinity_restore(int back);

/* backoff.c: when to restart a dead engine, pure. */
#define ENGINE_RESTARTS_DEFAULT 10u
#define ENGINE_RESTARTS_MAX 100000
#define BACKOFF_WINDOW_MS 60000
/* A death this soon after the previous one doubles the wait. */
#define BACKOFF_CALM_MS 10000
#define BACKOFF_FIRST_MS 10
#define BACKOFF_MAX_MS 1000
/* Past the limit: at worst one restart every this long. */
#define BACKOFF_SLOW_MS 5000
struct backoff {
	unsigned int max; /* restarts in any window before they slow down */
	int64_t *times;   /* the last max restarts, a ring */
	unsigned int n, head;
	unsigned int streak; /* deaths in a row close together */
	int64_t last_death;
	int any_death;
	int limited;        /* the last death was past the limit */
	int64_t limit_said; /* when that was last reported, if any_said */
	int any_said;
};
int backoff_init(struct backoff *, unsigned int max);
void backoff_free(struct backoff *);
long backoff_death(struct backoff *, int64_t now_ms);
int backoff_limit_news(struct backoff *, int64_t now_ms);

/* liveupdate.c: the spawner's checks of the next engine's binary, and the
 * command lines it builds. */
#define LIVEUPDATE_PATH_MAX 4096u
#define LIVEUPDATE_ARGS_MAX 32u
#define LIVEUPDATE_ARG_MAX 256u
/* What the engine may name or add, the spawner must take. */
_Static_assert(LIVEUPDATE_PATH_MAX == SPAWN_PATH_MAX &&
		       LIVEUPDATE_ARGS_MAX == SPAWN_ARGS_MAX &&
		       LIVEUPDATE_ARG_MAX == SPAWN_ARG_MAX,
	       "a live update's limits are the spawner's");
int liveupdate_open(const char *path, int min_fd, char *const daemons[],
		    int *kind);
int liveupdate_is_build(int fd, const char *desc);
char **liveupdate_argv(char *const argv[], const char *name, char *const args[],
		       size_t nargs);
void liveupdate_argv_free(char **);

/* handover.c: the store to another daemon (a live update to it). */
const char *handover_run(int to_broker, char *const args[], size_t nargs,
			 char *why, size_t len);

/* engine_frame.c: what the engine may send, pure. */
int engine_frame_check(const uint8_t *data, size_t len, uint32_t conn_next,
		       Xsp__EngineFrame **framep, const char **why);
void engine_frame_done(Xsp__EngineFrame *);
void engine_reply_at(const Xsp__Replies *, size_t i, size_t off, Xsp__Reply *);
void engine_fixed_at(const Xsp__RepliesFixed *, size_t i, uint32_t *conn,
		     struct xs_hdr *);

/* What the engine runs as, from --engine-user, --engine-as-limit and
 * --unsafe-no-sandbox; the engine gets them as --uid, --gid, --as-limit. */
struct engine_opts {
	const char *user;
	uid_t uid;
	gid_t gid;
	unsigned long long as_limit; /* bytes; 0: no limit */
	int sandboxed;
};

/* engine_chan.c: what goes to the engine and what comes back. */
void engine_send_open(uint32_t conn, uint32_t domid, int privileged,
		      int readonly);
void engine_send_close(uint32_t conn);
void engine_send_request(struct replay_conn *, uint32_t conn, uint32_t domid,
			 uint8_t ask, const struct xs_hdr *hdr,
			 const uint8_t *payload);
int engine_answered(struct replay_conn *, uint32_t req_id);
void engine_conn_gone(struct replay_conn *);
void engine_send_priv_reply(uint32_t id, int err, int exists, int dying,
			    int shutdown);
void engine_send_domain(uint32_t domid, int dying, int shutdown, int gone);
void engine_flush(void);
int engine_congested(void);
int engine_awaited(void);

/* engine_life.c: starting the engine, and again when it dies or updates. */
/* restore: a dump file the first engine starts from (NULL: none);
 * checked: a live update's, which an engine restored once already. */
void engine_state_create(const char *restore, int checked, int fds[2]);
void engine_start(const char *path, unsigned int max_restarts);
void engine_stop(void);

/* engine_proc.c: the spawner reaped the engine. */
void proc_exited(pid_t, int status);

/*
 * spawner.c: the one process that keeps root powers, and only to start
 * and stop engines. What it knows from the fork, never from a message.
 */
#define SPAWNER_UNLINK_MAX 2
struct spawner_cfg {
	const char *engine;   /* its binary, absolute */
	char *const *args;    /* argv of every engine; args[0] is replaced */
	char *const *sandbox; /* --uid, --gid, --as-limit...: always last */
	int sandboxed;
	int xen; /* opens the hypercall interface for domain information */
	int state_fd[2];
	const char *audit[SPAWN_AUDIT_N]; /* opened again on SIGHUP, or NULL */
	const char
		*unlink[SPAWNER_UNLINK_MAX]; /* removed at the end, or NULL */
	const char *pidfile;      /* written once the broker serves, or NULL */
	char *const *lu_daemons;  /* what a live update may hand the store to */
	char *const *broker_argv; /* its own, for a build that replaces it */
	pid_t broker_pid;
};
void spawner_main(const struct spawner_cfg *, int sock, int log_stderr)
	__attribute__((noreturn));

/* spawn_engine.c: the spawner's engine binaries and processes. */
int fd_above(int fd);
void spawn_engine_init(const struct spawner_cfg *);
int spawn_engine_update_file(const char *path, int *kind);
int spawn_engine_daemon(const char **path, int *kind);
int spawn_engine_write_stream(uint32_t form, int *stream, int *spare);
int spawn_engine_start(enum spawn_binary, char *const args[], size_t nargs,
		       pid_t *pid, int *chan);

/* spawn_ready.c: the pid file and systemd, once the broker serves. */
int spawn_ready_announce(const struct spawner_cfg *);
void spawn_ready_withdraw(void);
void spawn_ready_moved(const struct spawner_cfg *, pid_t);

/* spawn_handover.c: the spawner hands the store to another daemon. */
const struct spawner_cfg *spawner_cfg_get(void);
int spawn_handover_begin(const struct spawn_handover *, char *const words[],
			 int memfd);
int spawn_handover_fds(const int *fds, int n);
void spawn_handover_init(void);

/* spawn_io.c: one control message in or out, with its fds. */
int spawn_send(int sock, const void *msg, size_t len, const int *fds, int nfds);
ssize_t spawn_recv(int sock, void *buf, size_t size, int *fds, int *nfds);
void spawn_close_fds(int *fds, int nfds);

/* spawn_client.c: the broker's end of the spawner. */
void spawn_fork(const struct spawner_cfg *, int log_stderr);
void spawn_event(int fd, uint32_t events, void *arg);
void spawn_deferred(void);
int spawn_start(enum spawn_binary, char *const args[], size_t nargs, pid_t *pid,
		int *chan);
int spawn_update_file(const char *path, int *kind);
int spawn_write_stream(uint32_t form, int *stream, int *spare);
int spawn_handover(int memfd, char *const args[], size_t nargs, const int *fds,
		   size_t nfds);
void spawn_stop(enum spawn_signal);
void spawn_audit_open(int fds[SPAWN_AUDIT_N], int errs[SPAWN_AUDIT_N]);
void spawn_shutdown(void);
void spawn_report_violation(const char *name, int nr, uint64_t arg1);
void spawn_dominfo(uint32_t first, struct spawn_dominfo *);
void spawn_ready(void);
int spawn_running(void);

/*
 * privs.c: the spawner's capabilities (policy/spawner.caps), the broker's
 * user and empty sets, and the engine's start.
 */
struct broker_user {
	const char *name;
	uid_t uid;
	gid_t gid;
	int stay_root; /* --unsafe-broker-root, or not started as root */
};
void privs_spawner(void);
void privs_broker(const struct broker_user *);

/* seccomp.c: the broker's own filter (policy/broker.seccomp). */
void seccomp_on_report(void (*)(const char *name, int nr, uint64_t arg1));
int seccomp_broker_apply(void);
const char *const *seccomp_broker_text(void);
const char *const *seccomp_broker_xensim_text(void);
void privs_engine_child(void);
void privs_print(FILE *, const struct broker_user *,
		 const struct engine_opts *);

/* xen.c: the hypervisor's interfaces. */
/* The broker's; domain information is the spawner's (spawn_dominfo()). */
struct xen_handles {
	struct xenevtchn_handle *evtchn;
	struct xengntdev_handle *gnttab;
};

int xen_open(struct xen_handles *, int evtchn_fd);
void xen_close(struct xen_handles *);

/* guest.c: guests' rings and event channels, and what the engine asks. */
/* How often a guest may reconnect its ring (XS_RING_RECONNECT). */
#define GUEST_RECONNECTS_PER_S 10u

struct guest_opts {
	int socket_only;      /* no Xen: answer the engine without it */
	int no_dom0;          /* -D */
	const char *xsd_kva;  /* dom0's ring page */
	const char *xsd_port; /* dom0's event channel port */
};
void guest_open(const struct guest_opts *);
void guest_init(struct xen_handles *, const struct guest_opts *);
void guest_priv(const Xsp__PrivRequest *);
ssize_t guest_read(struct guest *, void *, size_t);
ssize_t guest_write(struct guest *, const void *, size_t);
int guest_has_input(struct guest *);
void guest_notify(struct guest *);
int guest_notify_flush(void);
void guest_poll(void);
void guest_tick(void);
int guest_tick_needed(void);
int guest_polled_active(void);
void guest_unmask_polled(void);
int guest_has_room(struct guest *);
void guest_ring_error(struct guest *, uint32_t error);
void guest_conn_closed(struct guest *, struct conn *);
void guest_domains_changed(void);
int guest_may_unmap(uint32_t domid);
void guest_set_aside(uint32_t domid, const char *why);
void guest_resume(uint32_t domid);
struct conn *guest_adopt(uint32_t domid, uint32_t lport, uint32_t id);
uint32_t guest_lport(const struct guest *);
int guest_handover_virq(int restore);
int guest_evtchn_fd(void);

/*
 * takeover.c, takeover_run.c: xs-broker -U, the store another daemon's
 * live update hands over (its state_dump and its fds).
 */
#define CONNID_TAKEOVER_MAX 0x7fffffffu
/* Where the daemon that exec'd us came from, when nothing says otherwise. */
#define TAKEOVER_FALLBACK_DEFAULT "/usr/sbin/xenstored"
/* Daemons --live-update-allow may name. */
#define LU_ALLOW_MAX 8
struct takeover_conn {
	uint32_t id;
	int ring;                /* else a socket */
	uint16_t domid, tdomid;  /* a ring's */
	uint32_t port;           /* a ring's local event channel port */
	int fd;                  /* a socket's */
	int readonly;            /* a socket_ro client's (X_CONN) */
	const uint8_t *in, *out; /* bytes pending, in the mapped stream */
	size_t inlen, outlen, resplen;
};
struct takeover {
	char path[4096];
	const uint8_t *map;
	size_t len;
	int have_global;
	int sock_fd, evtchn_fd;   /* -1: none */
	int ro_fd;                /* socket_ro's (X_LISTEN), or -1 */
	int keep_fd;              /* --live-update-fallback /proc/self/fd/N */
	uint32_t lu_conn, lu_req; /* X_LU: the request an update answers */
	const char *refused;      /* --live-update-refused: its answer then */
	struct takeover_conn *conns;
	size_t nconns, conns_cap;
	uint32_t max_id;
	int *fds; /* every fd the stream names */
	size_t nfds, fds_cap;
};
const char *takeover_load(struct takeover *, const char *rundir, char *why,
			  size_t len);
void takeover_close_others(const struct takeover *);
void takeover_own_fds(const struct takeover *);
const struct takeover_conn *takeover_dom0(const struct takeover *);
void takeover_done(struct takeover *);
const char *takeover_engine_check(const struct takeover *, char *const eargv[],
				  char *const sandbox[], char *why, size_t len);
void takeover_fallback(const struct takeover *, const char *prog, char *argv[],
		       int broker_options, const char *why)
	__attribute__((noreturn));
void takeover_adopt(const struct takeover *);

/*
 * handover_check.c: the store part of a stream for C xenstored 4.17, as
 * xs-engine --write-stream c417 wrote it, pure. NULL and where the records
 * between the preamble and END lie, or why 4.17 could not take it.
 */
const char *handover_records_check(const uint8_t *buf, size_t len,
				   const uint32_t *conn_ids, size_t nconn,
				   size_t *body_off, size_t *body_len);

#endif
