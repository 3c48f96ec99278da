/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The engine's state and the functions the modules share. The engine is a
 * pure function of the messages it is given: requests come in through
 * engine_request(), replies and watch events leave through the emit
 * callback. That keeps it testable without a broker (tests/unit).
 */
#ifndef ENGINE_H
#define ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "hmap.h"
#include "xs_proto.h"
#include "tree.h"

struct engine;
struct conn;
struct txn;
struct watch;
struct wnode;

/* The quotas of C xenstored, with its defaults; 0 disables a quota. */
enum quota_id {
	Q_NODES,        /* -E nodes owned per domain */
	Q_NODE_SIZE,    /* -S bytes of data+perms+children per node */
	Q_WATCHES,      /* -W watches per domain */
	Q_TRANSACTIONS, /* -t open transactions per connection */
	Q_PERMS,        /* -A permission entries per node (beyond the owner) */
	Q_PATH_MAX,     /* -M path length below /local/domain/<id> */
	Q_TXN_NODES,    /* -Q transaction-nodes: nodes touched per txn */
	Q_MEMORY,       /* -Q memory: bytes per domain (hard) */
	Q_MEMORY_SOFT,  /* -q memory: bytes per domain, warning only */
	Q_OUTSTANDING,  /* -Q outstanding: enforced by the broker */
	Q_WATCH_EVENT_TIMEOUT, /* -w watch-event: enforced by the broker */
	Q_COUNT
};

struct quota_def {
	const char *name; /* GET_QUOTA/SET_QUOTA name, NULL if not settable */
	const char *desc; /* CONTROL quota line */
	uint32_t def;
};
extern const struct quota_def quota_defs[Q_COUNT];

/* Bookkeeping of one domain: its quotas and what it uses. */
struct domain {
	uint32_t domid;
	uint64_t gen; /* store generation when it was introduced */
	bool introduced;
	bool hv_exists;     /* the hypervisor said it exists */
	bool shutdown_seen; /* @releaseDomain sent for this shutdown */
	uint32_t target;    /* SET_TARGET: may act for this domain */
	bool has_target;
	uint32_t features;
	uint32_t gfn, port;
	long nodes;
	long watches;
	long memory;
	long watch_memory; /* what its watches hold (watch_cost()) */
	uint32_t quota[Q_COUNT];
	bool quota_warned[Q_COUNT];
	/*
	 * Its changes made others' commits fail (conflict.c): until when its
	 * changes wait, the last change it paid for, and when it last paid.
	 */
	uint64_t conflict_until, conflict_gen, conflict_seq;
};

struct conn {
	uint32_t id;
	uint32_t domid;
	bool priv; /* dom0's: full permissions, no quotas unless ro */
	bool ro;   /* socket_ro: no modifications, quotas of its own */
	/*
	 * Survived an engine restart: its transactions with ids below this
	 * (those of earlier engines) are gone; 0 if it did not.
	 */
	uint32_t txid_base;
	struct domain *dom;
	struct txn *txns; /* open transactions */
	unsigned int ntxn;
	uint32_t next_txid;
	struct watch *watches;
	unsigned int nwatch;
	long watch_memory; /* what its watches hold (watch_cost()) */
	/* A read-only client's quota hits, logged once per connection. */
	bool quota_warned[Q_COUNT];
	/* A request waiting for the broker, and those that came after it. */
	struct parked *park_head, *park_tail;
	/* Its commits that failed in a row, since conflict_seq (conflict.c). */
	unsigned int conflict_run;
	uint64_t conflict_seq;
};

/* A pending watch event (committed changes fire them after the commit). */
struct event {
	char *path;                    /* absolute, or @special */
	const struct node *perm_node;  /* read permission to deliver */
	const struct node *perm_node2; /* alternative (SET_PERMS: old) */
	bool exact;                    /* only watches on this very path */
	uint32_t domid;                /* for @releaseDomain/<domid> */
};

/*
 * What only the broker can do or know. A handler that needs it asks with
 * priv_ask(); the request then parks (EPARK) until the broker answers, and
 * runs again from the start with the answer at hand.
 */
enum priv_op {
	PRIV_MAP = 1,
	PRIV_UNMAP = 2,
	PRIV_DOMAIN_INFO = 3,
	PRIV_LU_FILE = 4, /* str: the new engine binary's path */
	PRIV_LU_EXEC = 5, /* str: arguments to add, each ending in NUL */
};
#define EPARK 0x10000
/* A guest's change that waits for its conflicts to be paid (conflict.c). */
#define EHOLD 0x20000

struct priv_answer {
	int op;
	uint32_t domid;
	int err;
	bool exists, dying, shutdown;
};

struct parked;

/* features: MAP's, what the ring is to advertise (XS_FEATURE_*). */
typedef void (*priv_fn)(void *arg, uint32_t id, int op, uint32_t domid,
			uint64_t gfn, uint32_t port, uint32_t features,
			const char *str, size_t len);
typedef void (*emit_fn)(void *arg, uint32_t conn, uint32_t type,
			uint32_t req_id, uint32_t tx_id, const void *payload,
			size_t len);
typedef void (*log_fn)(void *arg, int level, const char *text);

enum { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/*
 * A reply kept for a request the broker may send again (journal.c). The
 * flag marks the answer to live-update -s: the next engine sends it, and
 * only if it is the new binary.
 */
#define REPLY_LIVE_UPDATE 0x80000000u
struct stored_reply {
	uint32_t type;
	uint32_t len;
	char data[];
};

struct journal;

struct acct_undo {
	uint32_t domid;
	long nodes, memory;
};

struct engine {
	struct node *root;    /* the committed tree */
	struct node *special; /* @introduceDomain/@releaseDomain perms */
	uint64_t gen;         /* store generation: bumped by every change */
	uint64_t txn_gen;     /* private generations of transaction writes */
	struct hmap conns;    /* id -> struct conn */
	struct hmap doms;     /* domid -> struct domain */
	struct wnode *wroot;  /* watch index on path components */
	struct watch *special_watches; /* watches on @ paths */
	uint64_t watch_seq;            /* registration order of watches */
	/* What one event matched (watch.c), kept for the next event. */
	struct watch **match_w;
	const char **match_path;
	size_t match_cap;
	uint32_t quota[Q_COUNT]; /* global defaults for new domains */
	bool keep_orphans;       /* -K */
	bool verbose;
	bool logging; /* CONTROL log on/off */
	/* Events of the operation being executed. */
	struct event *ev;
	size_t nev, evcap;
	emit_fn emit;
	log_fn log;
	priv_fn priv; /* NULL: no broker behind us (socket-only answers) */
	/* Echoes a Fence, after what came before it (NULL: no broker). */
	void (*fence)(void *arg, uint64_t id);
	void *cb_arg;
	uint32_t priv_next;
	struct hmap priv_waiting; /* priv id -> conn id */
	/*
	 * For the request run again: the broker's answers to what it asked
	 * so far, the latest last (a request may need several).
	 */
	const struct priv_answer *answer;
	size_t nanswer;
	struct {
		int op;
		uint32_t domid;
		uint64_t gfn;
		uint32_t port;
		uint32_t features;
		char str[XS_PAYLOAD_MAX + 1];
		size_t len;
	} need; /* what the request that just parked asked for */
	/* A live update being prepared (XS_CONTROL live-update, control.c). */
	struct {
		bool active;               /* -f accepted by the broker */
		char args[XS_PAYLOAD_MAX]; /* -c: NUL-separated words */
		size_t argslen;
		bool waiting; /* -s answered BUSY: since when */
		struct timespec since;
	} lu;
	/* Accounting changes of a commit being applied, to revert it. */
	struct acct_undo *undo;
	size_t nundo, undocap;
	bool undo_on, undo_lost;
	/*
	 * The journal in the broker's memory (NULL: none, as in tests), the
	 * broker's number of the request being run, and the replies of
	 * requests the previous engine recorded but did not send.
	 */
	struct journal *jr;
	uint64_t seq;
	struct hmap replies; /* seq -> struct stored_reply */
	/*
	 * A request's state (dispatch.c) is 4 KiB, most of it the reply:
	 * one is kept for the next request instead of a malloc and a free
	 * of that much for each.
	 */
	struct req *req_spare;
	/* Ended transactions whose memory is freed when idle (txn.c). */
	struct txn *dead_txns;
	bool defer_free;
	/*
	 * Applying a saved state: what it holds was admitted under the
	 * quotas of its time, and a quota lowered since must not keep every
	 * later engine from loading the store.
	 */
	bool restoring;
	/*
	 * Counters for CONTROL memreport; watch_probes counts lookups in the
	 * watch index, the work of matching changes to watches.
	 */
	uint64_t ntxn_total, nconflicts, watch_probes;
	/*
	 * Where the last DIRECTORY_PART stopped, so that the next part of the
	 * same list starts there instead of walking the children from the
	 * first (a 10k-child listing is ~15 parts). Only a hint: checked
	 * against the node's generation and the child at that index.
	 */
	struct dirpart_hint {
		const struct node *n;
		uint64_t cgen;
		size_t off;
		uint32_t i;
		const struct node *child;
	} dirpart;
	/*
	 * Transaction conflicts (conflict.c): who made the last changes of
	 * guests, the protected transactions that are open, when held
	 * changes are next looked at (0: none waits), and a clock for tests.
	 */
	struct conflict_writer *writers;
	struct txn *prio_txns;
	uint64_t conflict_seq;
	uint64_t hold_wake;
	uint64_t test_now_ms;
	/*
	 * Open transactions, oldest first, and the nodes a commit being
	 * replayed retired, to take back if it fails (pin.c).
	 */
	struct txn *txn_oldest, *txn_newest;
	struct node **pin_log;
	size_t npin_log, pin_logcap;
	bool pin_logging, pin_log_lost;
};

/* Life of the engine (engine.c). */
struct engine *engine_new(emit_fn emit, log_fn log, void *cb_arg);
void engine_free(struct engine *e);
/* Forgets every stored reply. */
void replies_free(struct engine *e);
/* How many nodes the store holds. */
uint64_t engine_nodes(struct engine *e);
/* Between batches, once the replies are out: what can wait is done. */
void engine_idle(struct engine *e);
void txn_reap(struct engine *e);
int engine_conn_open(struct engine *e, uint32_t id, uint32_t domid, bool priv,
		     bool ro);
void engine_conn_close(struct engine *e, uint32_t id);
struct conn *engine_conn(struct engine *e, uint32_t id);
/* One request from a connection; always answers it (reply or error). */
void engine_request(struct engine *e, uint32_t conn, uint32_t type,
		    uint32_t req_id, uint32_t tx_id, const void *payload,
		    size_t len);
/* Answers from the broker (park.c). */
void engine_priv_reply(struct engine *e, uint32_t id,
		       const struct priv_answer *a);
void engine_domain_event(struct engine *e, uint32_t domid, bool dying,
			 bool shutdown, bool gone);
/* Runs one request now; EPARK if it waits for the broker (dispatch.c). */
int request_dispatch(struct engine *e, struct conn *c, uint32_t type,
		     uint32_t req_id, uint32_t tx_id, const void *payload,
		     size_t len);
/*
 * Asks the broker (or, without one, answers as socket-only mode does).
 * Returns 0 with the answer, or EPARK: return that from the handler.
 */
int priv_ask(struct engine *e, int op, uint32_t domid, uint64_t gfn,
	     uint32_t port, uint32_t features, struct priv_answer *out);
/* The same with a string for the broker (PRIV_LU_*). */
int priv_ask_str(struct engine *e, int op, const char *str, size_t len,
		 struct priv_answer *out);
/* Tells the broker without waiting for the answer. */
void priv_tell(struct engine *e, int op, uint32_t domid);
void priv_tell_str(struct engine *e, int op, const char *str, size_t len);
void park_drop(struct engine *e, struct conn *c);
/* Runs again the held changes of every connection. */
void park_resume_held(struct engine *e);
/* Parses "-E 100", "transaction-nodes=5" style option values. */
int engine_set_quota(struct engine *e, enum quota_id q, uint32_t v);

void elog(struct engine *e, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Aborts transactions whose owners cannot pay what they keep (pin.c). */
void pin_check(struct engine *e);

/* Domains (domain.c). */
struct domain *domain_get(struct engine *e, uint32_t domid, bool create);
void domain_free_all(struct engine *e);
/* Every domain the store knows, by id, in an array to free (NULL: no
 * memory). */
struct domain **domain_list(struct engine *e, size_t *n);
/* Accounting of a commit: recorded, then kept or taken back. */
void domain_undo_begin(struct engine *e);
void domain_undo_end(struct engine *e, bool revert);
/* The domain is gone: its nodes go too (or pass to dom0 with -K). */
void domain_remove_nodes(struct engine *e, uint32_t domid);
/* dom0, or a domain that is introduced. */
bool domain_exists(struct engine *e, uint32_t domid);
/* dom0's writable socket and dom0's ring: no quota binds them. */
bool quota_free(const struct conn *c);
/*
 * Checks a quota for a guest's or a socket_ro client's connection; logs a
 * hit.
 */
bool quota_exceeded(struct engine *e, struct conn *c, enum quota_id q,
		    long value);
/* What counts against its memory quota besides a transaction's keep. */
long quota_memory_used(const struct conn *c);
void domain_account_node(struct engine *e, uint32_t owner, const struct node *n,
			 int sign);

/* Transaction conflicts (conflict.c). */
#define CONFLICT_COST_MS 50u /* what a change that broke commits costs */
#define CONFLICT_DEBT_MAX_MS 1000u
#define CONFLICT_PRIO_MS 1000u /* a protected transaction's protection */
#define CONFLICT_RUN_ALL 5u    /* failures in a row that protect from all */
#define CONFLICT_RING 4096u    /* generations whose writer is known */
/* The connection's change gave a node generation gen. */
void conflict_note_write(struct engine *e, const struct conn *c, uint64_t gen);
/* The connection's change waits (EHOLD) rather than runs now. */
bool conflict_hold(struct engine *e, struct conn *c);
/* Milliseconds until held changes are to be looked at again, or -1. */
int conflict_wait_ms(struct engine *e);
/* Runs the held changes whose time came. */
void conflict_tick(struct engine *e);

/* Permissions (perms.c). */
unsigned int perm_for_conn(struct engine *e, const struct conn *c,
			   const struct node *n);
/* Was this entry of n meant for an earlier domain with the same id? */
bool perm_entry_stale(struct engine *e, const struct node *n,
		      const struct perm *p);
/* n's entries for a node made from it, each stale one marked so. */
void perms_carry(struct engine *e, const struct node *n, struct perm *out);
/*
 * Parses "b0\0r1\0" (bytes after the last NUL ignored); returns count or -1
 * if malformed.
 */
int perms_parse(const char *buf, size_t len, struct perm *out,
		unsigned int max);
/* A permission's letter's mode bits, or -1; a mode's letter. */
int perm_mode_of(char c);
char perm_mode_char(unsigned int mode);
/* Formats "b0\0r1\0" into buf; returns length. */
size_t perms_format(const struct node *n, char *buf, size_t size);

/* Paths (path.c). */
#define PATH_BUF (XS_ABS_PATH_MAX_BUF)
#define XS_ABS_PATH_MAX_BUF 3200
/*
 * Turns a request's path into a canonical absolute one, checking the
 * characters, the length limits and the path-max quota. Returns 0 or an
 * errno value. *relative says whether the client gave a relative path.
 */
int path_canonical(struct engine *e, struct conn *c, const char *in, char *out,
		   bool *relative);
bool path_chars_ok(const char *p);
bool path_is_child(const char *child, const char *parent);
/* Strips /local/domain/<id>/ for relative watches. */
const char *path_relative(const struct conn *c, const char *path);
int domid_parse(const char *s, uint32_t *out);

/* Events and watches (watch.c). */
int event_add(struct engine *e, const char *path, const struct node *pn,
	      const struct node *pn2, bool exact);
/* The events of removing the subtree top at path, in C xenstored's set. */
int events_add_removed(struct engine *e, const char *path,
		       const struct node *top);
void events_fire(struct engine *e);
void events_drop(struct engine *e);
/* A commit's events: one per changed node (watch.c). */
void events_coalesce(struct engine *e);
/* Drops a commit's events for paths in neither before nor the store. */
void events_drop_transient(struct engine *e, const struct node *before);
int watch_add(struct engine *e, struct conn *c, const char *wpath,
	      const char *token, bool relative, int depth);
int watch_del(struct engine *e, struct conn *c, const char *wpath,
	      const char *token);
void watch_del_all(struct engine *e, struct conn *c);
void watch_fire_special(struct engine *e, const char *name, uint32_t domid);
void watch_index_free(struct engine *e);
/* A fresh event for every watch of the connection (after a restart). */
void watch_refire(struct engine *e, struct conn *c);
size_t watch_count(struct engine *e);
/*
 * The connection's watches as WATCH_DATA_EXTENDED records (state_write.c),
 * or as plain WATCH_DATA, which has no depth (state_c417.c).
 */
int watch_dump(struct engine *e, struct conn *c, bool extended,
	       int (*out)(void *arg, const void *buf, size_t len), void *arg);

#endif
