/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The store outlives the engine: every committed change is recorded, before
 * its reply leaves, in memory the broker holds (two memfds). Each holds a
 * header, a snapshot of the whole store (the migration stream of state_write.c,
 * with the engine's own records, compressed) and then a journal: one group
 * of records per request that changed something, ending with the reply the
 * request got. A restarted engine loads the newer complete snapshot,
 * applies the complete groups after it, and answers a request sent again
 * from the reply recorded for it, so no change is lost or applied twice.
 */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/*
 * Takes the two state fds. If they hold a store, *ep is replaced by the
 * engine restored from them (with the options of the one given), keeping
 * the recorded replies of the requests in resend only (NULL, 0: all), and
 * the journal goes on after what they hold. Returns 0, or -1 with the
 * reason in why (a corrupt state is refused, not guessed).
 */
int journal_attach(struct engine **ep, int fd_a, int fd_b,
		   const uint64_t *resend, size_t nresend, char *why,
		   size_t whylen);
/*
 * Only reads: the store the two fds hold, restored into a new engine like
 * the one given (which is returned as it is if they hold nothing), or NULL
 * and why. A slot may also hold a bare dump file (xs-broker --restore).
 * js says which slot it came from (slot -1: none).
 */
struct journal_slot {
	int slot;
	uint64_t gen;
	uint32_t boots;
	bool bare;  /* a dump file, not a snapshot with a journal */
	size_t hdr; /* its header's length */
	size_t end; /* where its whole groups end */
};
struct engine *journal_load(struct engine *like, int fd_a, int fd_b,
			    struct journal_slot *js, char *why, size_t whylen);
/*
 * Each state memfd may hold at most bytes (the engine's RLIMIT_FSIZE; 0: no
 * limit): the journal is compacted before it gets there.
 */
void journal_limit(uint64_t bytes);

/* Did journal_attach() restore a store? And how many engines ran before. */
bool journal_restored(const struct engine *e);
uint32_t journal_boots(const struct engine *e);

/* A request (seq != 0) or a broker message (seq 0) starts and ends. */
void journal_begin(struct engine *e, uint64_t seq, uint32_t conn);
void journal_end(struct engine *e);
/* What was recorded since the mark is undone (a commit that failed). */
size_t journal_mark(const struct engine *e);
void journal_rollback(struct engine *e, size_t mark);

/*
 * The open request's answer is recorded, not sent: the next engine sends
 * it when the request comes again (live-update -s). Returns -1 without a
 * journal or request to record it in.
 */
int journal_answer(struct engine *e, uint32_t type, const char *payload,
		   size_t len);

/*
 * About this many bytes of records are to come at once (an open
 * transaction's, at its commit): the buffer grows now, between requests,
 * rather than page by page in the commit.
 */
void journal_expect(struct engine *e, size_t bytes);

/* Committed changes. Each does nothing without a journal. */
void journal_node(struct engine *e, const char *path, const struct node *n);
void journal_delete(struct engine *e, const char *path);
void journal_conn(struct engine *e, const struct conn *c);
void journal_conn_close(struct engine *e, uint32_t cid);
void journal_watch(struct engine *e, uint32_t cid, const char *path,
		   const char *token, int depth);
void journal_unwatch(struct engine *e, uint32_t cid, const char *path,
		     const char *token);
void journal_domain(struct engine *e, const struct domain *d, bool released);
void journal_quota(struct engine *e);
void journal_special(struct engine *e, const struct node *n);

/*
 * Writes what was recorded to the broker's memory: called before the
 * replies of the same requests are sent. Then, when the journal has grown
 * enough, a new snapshot replaces it. Both return -1 on a write error,
 * after which the engine must stop: its state would no longer be safe.
 */
int journal_flush(struct engine *e);
int journal_compact(struct engine *e);
void journal_free(struct engine *e);

#endif
