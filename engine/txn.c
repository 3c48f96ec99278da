// SPDX-License-Identifier: GPL-2.0-only
/*
 * Transactions. Each one works on its own version of the tree, which
 * starts as the committed tree of the moment (one reference, no copy). It
 * notes what it read, node by node: the data and permissions of a node
 * (generation), a node's child list (child generation, only when it listed
 * them) or that a node was absent. Commit checks those notes against the
 * committed tree and, if they all still hold, replays the transaction's
 * writes there; otherwise EAGAIN. So transactions that touched different
 * nodes both commit, even when they added children to the same parent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "xs_proto.h"

struct read_note {
	int what;
	uint64_t gen;
	uint64_t cgen;
};

int
txn_note(struct opctx *x, const char *path, size_t len, int what,
	 const struct node *n)
{
	struct txn *t = x->t;
	struct read_note *rn;
	const struct node *b = NULL;
	struct tree_path *tp;

	if (what == NOTE_GEN && (n->gen & TXN_GEN_FLAG))
		return 0; /* its own write */
	if (what != NOTE_GEN) {
		/* Absence and child lists are judged against the base. */
		char *p = strndup(path, len);

		tp = malloc(sizeof(*tp));
		if (p == NULL || tp == NULL || tree_path_split(tp, p) == -1) {
			free(p);
			free(tp);
			return ENOMEM;
		}
		b = tree_lookup(t->base, tp);
		tree_path_done(tp);
		free(tp);
		free(p);
		if (what == NOTE_ABSENT && b)
			return 0; /* it removed the node itself */
		if (what == NOTE_CGEN && b == NULL)
			return 0; /* it created the node itself */
	}
	rn = hmap_get(&t->reads, path, len);
	if (rn == NULL) {
		if (quota_exceeded(x->e, x->c, Q_TXN_NODES,
				   (long)t->reads.used + 1))
			return ENOSPC;
		rn = calloc(1, sizeof(*rn));
		if (rn == NULL || hmap_put(&t->reads, path, len, rn) == -1) {
			free(rn);
			return ENOMEM;
		}
	}
	rn->what |= what;
	if (what == NOTE_GEN)
		rn->gen = n->gen;
	else if (what == NOTE_CGEN)
		rn->cgen = b->cgen;
	return 0;
}

int
txn_log_op(struct txn *t, uint32_t type, const char *path, const void *data,
	   size_t len)
{
	struct txn_op *op;
	size_t bytes = type == XS_SET_PERMS ? len * sizeof(struct perm) : len;

	if (t->nops == t->opcap) {
		size_t ncap = t->opcap ? t->opcap * 2 : 8;
		struct txn_op *nops = realloc(t->ops, ncap * sizeof(*nops));

		if (nops == NULL)
			return ENOMEM;
		t->ops = nops;
		t->opcap = ncap;
	}
	op = &t->ops[t->nops];
	op->type = type;
	op->len = len;
	op->path = strdup(path);
	op->data = malloc(bytes + 1);
	if (op->path == NULL || op->data == NULL) {
		free(op->path);
		free(op->data);
		return ENOMEM;
	}
	if (bytes)
		memcpy(op->data, data, bytes);
	t->nops++;
	return 0;
}

struct txn *
txn_find(struct conn *c, uint32_t id)
{
	struct txn *t;

	for (t = c->txns; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

struct txn *
txn_start(struct engine *e, struct conn *c, int *err)
{
	struct txn *t;

	/* Refused once more than the quota are open, as C xenstored does. */
	if (quota_exceeded(e, c, Q_TRANSACTIONS, (long)c->ntxn)) {
		*err = ENOSPC;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		*err = ENOMEM;
		return NULL;
	}
	/* Ids are per connection; 0 means "no transaction". */
	do {
		t->id = c->next_txid++;
	} while (t->id == 0 || txn_find(c, t->id));
	t->c = c;
	t->base = node_ref(e->root);
	t->root = node_ref(e->root);
	t->next = c->txns;
	c->txns = t;
	c->ntxn++;
	e->ntxn_total++;
	return t;
}

static void
txn_free(struct txn *t)
{
	size_t i = 0;
	void *v;

	while (hmap_next(&t->reads, &i, NULL, NULL, &v))
		free(v);
	hmap_free(&t->reads);
	for (i = 0; i < t->nops; i++) {
		free(t->ops[i].path);
		free(t->ops[i].data);
	}
	free(t->ops);
	node_unref(t->base);
	node_unref(t->root);
	free(t);
}

static bool
txn_valid(struct engine *e, struct txn *t)
{
	struct tree_path *tp = malloc(sizeof(*tp));
	const struct node *n;
	struct read_note *rn;
	const char *path;
	size_t i = 0;
	void *v;
	bool ok = tp != NULL;

	while (ok && hmap_next(&t->reads, &i, &path, NULL, &v)) {
		rn = v;
		if (tree_path_split(tp, path) == -1) {
			ok = false;
			break;
		}
		n = tree_lookup(e->root, tp);
		tree_path_done(tp);
		if (rn->what & NOTE_ABSENT)
			ok = n == NULL;
		if ((rn->what & NOTE_GEN) && (n == NULL || n->gen != rn->gen))
			ok = false;
		if ((rn->what & NOTE_CGEN) &&
		    (n == NULL || n->cgen != rn->cgen))
			ok = false;
	}
	free(tp);
	return ok;
}

static int
txn_replay(struct engine *e, struct txn *t)
{
	struct node *saved = node_ref(e->root);
	struct domain *d = t->c->dom;
	long before = d ? d->nodes : 0;
	struct opctx x;
	size_t i;
	int r = 0;

	/*
	 * The extra reference on the committed root makes every change below
	 * copy its path, so a failure half way leaves 'saved' intact.
	 */
	domain_undo_begin(e);
	for (i = 0; i < t->nops && r == 0; i++) {
		struct txn_op *op = &t->ops[i];

		opctx_init(&x, e, t->c, NULL);
		x.replay = true;
		switch (op->type) {
		case XS_WRITE:
		case XS_MKDIR:
			r = op_write(&x, op->path, op->data, op->len,
				     op->type == XS_MKDIR);
			break;
		case XS_RM:
			r = op_rm(&x, op->path);
			break;
		case XS_SET_PERMS:
			r = op_set_perms(&x, op->path, op->data,
					 (unsigned int)op->len);
			break;
		}
	}
	/*
	 * Each transaction stayed within the node quota on its own; others
	 * that committed meanwhile may have used up the rest.
	 */
	if (r == 0 && d && d->nodes > before &&
	    quota_exceeded(e, t->c, Q_NODES, d->nodes))
		r = ENOSPC;
	if (r) {
		/* Put the committed tree back; accounting follows it. */
		if (r != ENOSPC)
			elog(e, LOG_LVL_ERR,
			     "transaction %u of connection %u failed to apply "
			     "(%s)",
			     t->id, t->c->id, strerror(r));
		domain_undo_end(e, true);
		node_unref(e->root);
		e->root = saved;
		return r;
	}
	domain_undo_end(e, false);
	node_unref(saved);
	return 0;
}

static void
txn_unlink(struct conn *c, struct txn *t)
{
	struct txn **pp;

	for (pp = &c->txns; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			c->ntxn--;
			return;
		}
}

int
txn_end(struct engine *e, struct txn *t, bool commit)
{
	int r = 0;

	txn_unlink(t->c, t);
	if (commit && t->nops > 0) {
		if (e->root != t->base && !txn_valid(e, t)) {
			e->nconflicts++;
			r = EAGAIN;
		} else {
			r = txn_replay(e, t);
		}
	} else if (commit && e->root != t->base && !txn_valid(e, t)) {
		/* Read-only, but what it read changed under it. */
		e->nconflicts++;
		r = EAGAIN;
	}
	if (r == 0 && commit) {
		events_coalesce(e);
		events_fire(e);
	} else {
		events_drop(e);
	}
	txn_free(t);
	return r;
}

void
txn_abort_all(struct engine *e, struct conn *c)
{
	while (c->txns)
		txn_end(e, c->txns, false);
}
