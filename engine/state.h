/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The whole store as a xenstore migration stream (Xen's
 * docs/designs/xenstore-migration.md, version 2): what a live update hands
 * to the next engine, and what a dump file holds.
 */
#ifndef STATE_H
#define STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

typedef int (*state_out_fn)(void *arg, const void *buf, size_t len);

/*
 * Writes the store: quotas, domains, connections, watches, nodes, END.
 * exact adds the engine's own records (connection flags, domain state,
 * @ node permissions, replies not yet taken): what a restarted engine
 * needs, and what a dump file for other daemons leaves out.
 */
int state_dump(struct engine *e, state_out_fn out, void *arg, bool exact);

/*
 * Writes the store as C xenstored 4.17 reads it: preamble version 1, @
 * nodes, watches, nodes, END; a broker handing the host back adds the
 * connections (state_c417.c).
 */
int state_dump_c417(struct engine *e, state_out_fn out, void *arg);
/* The same to fd, in few writes. */
int state_dump_c417_fd(struct engine *e, int fd);
int state_dump_fd(struct engine *e, int fd);

/*
 * Single records, for the journal: each is one committed change, applied
 * in order by state_apply() on top of a snapshot.
 */
/* A node's record is written in place: at b, state_rec_node_len() bytes. */
size_t state_rec_node_len(const struct node *n, size_t plen);
void state_rec_node_put(struct engine *e, const char *path, size_t plen,
			const struct node *n, uint8_t *b);
int state_rec_delete(const char *path, state_out_fn out, void *arg);
int state_rec_conn(const struct conn *c, state_out_fn out, void *arg);
int state_rec_conn_close(uint32_t cid, state_out_fn out, void *arg);
int state_rec_watch(uint32_t cid, const char *path, const char *token,
		    int depth, state_out_fn out, void *arg);
/* path NULL: every watch of the connection. */
int state_rec_unwatch(uint32_t cid, const char *path, const char *token,
		      state_out_fn out, void *arg);
int state_rec_domain(const struct domain *d, bool released, state_out_fn out,
		     void *arg);
int state_rec_quota(const struct engine *e, state_out_fn out, void *arg);
int state_rec_special(struct engine *e, const struct node *n, state_out_fn out,
		      void *arg);
int state_rec_reply(uint64_t seq, uint32_t type, const void *payload,
		    size_t len, state_out_fn out, void *arg);

/*
 * Applies one record's body; -1 with a reason in *bad if it is wrong.
 * Records of one store come one after the other, then state_apply_done().
 */
int state_apply(struct engine *e, uint32_t type, const uint8_t *body,
		size_t len, const char **bad);
void state_apply_done(void);
/*
 * Reply records kept from now on: only those of these requests (the ones
 * the broker sends again). NULL, 0: all of them.
 */
void state_reply_filter(const uint64_t *seqs, size_t n);
/* Keeps a request's reply for when it comes again (if filtered in). */
int state_keep_reply(struct engine *e, uint64_t seq, uint32_t type,
		     const void *payload, size_t len);
/* A restored node names domid in an entry that is not stale (0, or -1). */
int state_domain_named(struct engine *e, uint32_t domid);

/*
 * The nodes of a snapshot in the engine's compact records (state_nodes.c):
 * written by state_dump() with exact set, read by state_apply(). A run of
 * them continues one pre-order walk; any other record ends it.
 */
#define REC_X_NODES 0x5809u
int state_nodes_dump(struct engine *e, state_out_fn out, void *arg);
int state_nodes_apply(struct engine *e, const uint8_t *body, size_t len,
		      const char **bad);
void state_nodes_reset(struct engine *e);

/*
 * Builds a new engine from a stream. Every record is checked; a truncated
 * or malformed stream yields NULL and a reason in why, and nothing else
 * changes.
 */
struct engine *state_restore(const uint8_t *buf, size_t len, emit_fn emit,
			     log_fn log, void *cb_arg, char *why,
			     size_t whylen);

#endif
