/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Operations on a version of the tree, shared by direct requests (on the
 * committed tree), requests inside a transaction (on its private tree, with
 * what they read noted for the commit) and the replay of a transaction's
 * writes at commit.
 */
#ifndef STORE_H
#define STORE_H

#include "engine.h"

struct opctx {
	struct engine *e;
	struct conn *c;
	struct txn *t; /* inside a transaction: note reads, no events */
	struct node **rootp;
	uint64_t gen; /* generation of what this operation writes */
	bool replay;  /* applying a validated commit: no checks */
};

void opctx_init(struct opctx *x, struct engine *e, struct conn *c,
		struct txn *t);

int op_get(struct opctx *x, const char *path, unsigned int perm,
	   const struct node **out);
int op_directory(struct opctx *x, const char *path, const struct node **out);
int op_write(struct opctx *x, const char *path, const void *data, size_t len,
	     bool mkdir);
int op_rm(struct opctx *x, const char *path);
int op_set_perms(struct opctx *x, const char *path, const struct perm *p,
		 unsigned int n);
/*
 * 0 if the caller may give path n permission entries; checked before the
 * domains they name are recorded, which lasts.
 */
int op_may_set_perms(struct opctx *x, const char *path, unsigned int n);

/* Transactions (txn.c). */
enum { NOTE_ABSENT = 1, NOTE_GEN = 2, NOTE_CGEN = 4 };

struct txn_op {
	uint32_t type; /* XS_WRITE, XS_MKDIR, XS_RM, XS_SET_PERMS */
	char *path;
	void *data;
	size_t len;   /* bytes of data, or number of perms */
	uint64_t gen; /* of what it wrote */
};

struct txn {
	struct txn *next;
	uint32_t id;
	struct conn *c;
	struct node *base;  /* the committed tree when it started */
	struct node *root;  /* its own version */
	uint64_t start_gen; /* what it writes has a later generation */
	struct hmap reads;  /* path -> struct read_note (keys in chunks) */
	/*
	 * A path its notes found missing in base (a key of reads): notes
	 * at or below it need no walk of base. Its length, 0 if none.
	 */
	const char *gone;
	size_t gone_len;
	/* Its notes (in reads) in the order they were taken. */
	struct read_note *notes, *notes_tail;
	struct txn_op *ops;
	size_t nops, opcap;
	long nodes_delta; /* nodes its domain would own after commit */
	struct hmap acct; /* owner -> struct txn_acct, if it commits as is */
	bool acct_lost;   /* out of memory on those books: replay instead */
	/* The events its writes would fire, if it commits as is. */
	struct event *ev;
	size_t nev, evcap, ev_mark;
	size_t jbytes;  /* about what its commit will journal */
	size_t opbytes; /* what its ops and notes hold: paths, data, entries */
	/* Its ops' paths and data, its notes and books: freed together. */
	struct txn_chunk *chunks;
	/* Protected (conflict.c): guests charged since prio_seq wait. */
	struct txn *prio_next;
	uint64_t prio_seq, prio_until;
	bool prio_all;
	/* Open transactions by age (pin.c); aborted ones are in none. */
	struct txn *age_prev, *age_next;
	/* Aborted for what it kept: its requests get EAGAIN (pin.c). */
	bool aborted;
};

/* Books a node for or against its owner in the transaction. */
void txn_account(struct txn *t, uint32_t owner, const struct node *n, int sign);
/* While a transaction's request runs, events go to the transaction. */
void txn_events_enter(struct engine *e, struct txn *t);
/* ok false: the request failed, its events are dropped. */
void txn_events_leave(struct engine *e, struct txn *t, bool ok);

/*
 * Notes that the transaction depends on the state of the node at the depth
 * first components of tp, split from path.
 */
int txn_note(struct opctx *x, const char *path, const struct tree_path *tp,
	     unsigned int depth, int what, const struct node *n);
int txn_log_op(struct engine *e, struct txn *t, uint32_t type, const char *path,
	       const void *data, size_t len, uint64_t gen);
struct txn *txn_start(struct engine *e, struct conn *c, int *err);
struct txn *txn_find(struct conn *c, uint32_t id);
/* What the connection's open transactions hold of their own. */
size_t txn_conn_bytes(const struct conn *c);
/* 0 if the connection's transaction t may log one more change of len bytes. */
int txn_log_room(struct engine *e, struct conn *c, const struct txn *t,
		 size_t len);
/* Ends a transaction; commit returns 0 or an errno (EAGAIN). */
int txn_end(struct engine *e, struct txn *t, bool commit);
void txn_abort_all(struct engine *e, struct conn *c);
/*
 * Lets go of all a transaction holds, its snapshot first; it stays open,
 * and its requests get EAGAIN, until its end.
 */
void txn_abort_kept(struct engine *e, struct txn *t);

/*
 * What open transactions keep alive (pin.c): nodes leaving the committed
 * tree are marked retired around the changes that make them leave it.
 */
struct pin_path {
	struct node *first; /* the first node along the path to be copied */
	unsigned int at;    /* its depth */
};
void pin_path_before(struct opctx *x, const uint32_t *idx, unsigned int k,
		     struct pin_path *pp);
void pin_path_after(struct opctx *x, const uint32_t *idx, unsigned int k,
		    const struct pin_path *pp);
void pin_removed(struct opctx *x, struct node *gone);
void pin_adopted(struct engine *e, const struct txn *t);
void pin_replay_begin(struct engine *e);
void pin_replay_end(struct engine *e, bool revert);
void pin_txn_start(struct engine *e, struct txn *t);
void pin_txn_end(struct engine *e, struct txn *t);

/*
 * Conflicts (conflict.c): a commit failed on a node of generation gen; a
 * transaction starts; one ends (r: its commit's result, -1 if aborted).
 */
void conflict_failed(struct engine *e, struct txn *t, uint64_t gen);
void conflict_txn_start(struct engine *e, struct txn *t);
void conflict_txn_end(struct engine *e, struct txn *t, int r);

#endif
