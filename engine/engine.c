// SPDX-License-Identifier: GPL-2.0-only
/* The engine's life: the initial store, connections, logging. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "store.h"

void
elog(struct engine *e, int level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (level == LOG_LVL_DEBUG && !e->verbose && !e->logging)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (e->log)
		e->log(e->cb_arg, level, buf);
}

static int
engine_seed(struct engine *e)
{
	static struct conn dom0 = {.priv = true};
	struct opctx x;

	opctx_init(&x, e, &dom0, NULL);
	x.replay = true;
	if (op_write(&x, "/tool/xenstored", "", 0, true) != 0)
		return -1;
	events_drop(e);
	return 0;
}

struct engine *
engine_new(emit_fn emit, log_fn log, void *cb_arg)
{
	static const struct perm dom0_only = {0, 0};
	struct engine *e = calloc(1, sizeof(*e));
	struct node *intro, *rel;
	int i;

	if (e == NULL)
		return NULL;
	e->emit = emit;
	e->log = log;
	e->cb_arg = cb_arg;
	for (i = 0; i < Q_COUNT; i++)
		e->quota[i] = quota_defs[i].def;
	/* The root belongs to dom0, readable by nobody else ("n0"). */
	e->root = node_new("", 0, &dom0_only, 1, "", 0, 0);
	e->special = node_new("", 0, &dom0_only, 1, "", 0, 0);
	intro = node_new("@introduceDomain", 16, &dom0_only, 1, "", 0, 0);
	rel = node_new("@releaseDomain", 14, &dom0_only, 1, "", 0, 0);
	if (e->root == NULL || e->special == NULL || intro == NULL ||
	    rel == NULL || node_insert_child(e->special, 0, intro) ||
	    node_insert_child(e->special, 1, rel) ||
	    domain_get(e, 0, true) == NULL) {
		engine_free(e);
		return NULL;
	}
	domain_account_node(e, 0, e->root, +1);
	/* What C xenstored has from its start, for tools that expect it. */
	if (engine_seed(e) == -1) {
		engine_free(e);
		return NULL;
	}
	return e;
}

void
replies_free(struct engine *e)
{
	size_t i = 0;
	void *v;

	while (hmap_next(&e->replies, &i, NULL, NULL, &v))
		free(v);
	hmap_free(&e->replies);
}

uint64_t
engine_nodes(struct engine *e)
{
	uint64_t n = 0;
	size_t i = 0;
	void *v;

	/* Every node counts against its owner. */
	while (hmap_next(&e->doms, &i, NULL, NULL, &v))
		n += (uint64_t)((struct domain *)v)->nodes;
	return n;
}

void
engine_idle(struct engine *e)
{
	pin_check(e);
	txn_reap(e);
}

void
engine_free(struct engine *e)
{
	size_t i = 0;
	void *v;

	if (e == NULL)
		return;
	journal_free(e);
	while (hmap_next(&e->conns, &i, NULL, NULL, &v)) {
		struct conn *c = v;

		txn_abort_all(e, c);
		watch_del_all(e, c);
		park_drop(e, c);
		free(c);
	}
	hmap_free(&e->conns);
	txn_reap(e);
	hmap_free(&e->priv_waiting);
	replies_free(e);
	events_drop(e);
	free(e->ev);
	watch_index_free(e);
	node_unref(e->root);
	node_unref(e->special);
	domain_free_all(e);
	free(e->undo);
	free(e->pin_log);
	free(e->req_spare);
	free(e->writers);
	free(e);
}

struct conn *
engine_conn(struct engine *e, uint32_t id)
{
	return hmap_get(&e->conns, &id, sizeof(id));
}

int
engine_conn_open(struct engine *e, uint32_t id, uint32_t domid, bool priv,
		 bool ro)
{
	struct conn *c;

	if (engine_conn(e, id))
		return -1;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -1;
	c->id = id;
	c->domid = domid;
	c->priv = priv;
	c->ro = ro;
	c->next_txid = 1;
	c->dom = domain_get(e, domid, true);
	if (c->dom == NULL || hmap_put(&e->conns, &id, sizeof(id), c) == -1) {
		free(c);
		return -1;
	}
	journal_conn(e, c);
	elog(e, LOG_LVL_DEBUG, "conn %u: open (domain %u%s%s)", id, domid,
	     priv ? ", privileged" : "", ro ? ", read-only" : "");
	return 0;
}

void
engine_conn_close(struct engine *e, uint32_t id)
{
	struct conn *c = hmap_del(&e->conns, &id, sizeof(id));

	if (c == NULL)
		return;
	txn_abort_all(e, c);
	watch_del_all(e, c);
	park_drop(e, c);
	journal_conn_close(e, id);
	elog(e, LOG_LVL_DEBUG, "conn %u: closed", id);
	free(c);
}

int
engine_set_quota(struct engine *e, enum quota_id q, uint32_t v)
{
	uint32_t old = e->quota[q];
	size_t i = 0;
	void *d;

	/* Domains that still follow the default follow the new one. */
	while (hmap_next(&e->doms, &i, NULL, NULL, &d))
		if (((struct domain *)d)->quota[q] == old)
			((struct domain *)d)->quota[q] = v;
	e->quota[q] = v;
	journal_quota(e);
	return 0;
}
