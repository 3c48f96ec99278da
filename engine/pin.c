// SPDX-License-Identifier: GPL-2.0-only
/*
 * What open transactions keep alive. A transaction's snapshot is one
 * reference to the committed tree of its start, so every node the store
 * replaces or removes after that lives on for it, whoever changed it. Such
 * a node is marked retired as it leaves the committed tree, and tree.c
 * counts the bytes of those alive. Nodes are marked only while a
 * transaction is open: with none, a node that leaves the tree outlives at
 * most the request that replaced it.
 */
#include <stdlib.h>

#include "grow.h"
#include "store.h"
#include "xs_proto.h"

static bool
pin_on(const struct engine *e)
{
	return e->txn_oldest != NULL;
}

static bool
pin_committed(const struct opctx *x)
{
	return x->rootp == &x->e->root && pin_on(x->e);
}

static void
retire(struct engine *e, struct node *n)
{
	if (n->retired)
		return;
	node_retire(n);
	if (!e->pin_logging)
		return;
	/* Taken back if the commit being applied fails. */
	if (grow_array(&e->pin_log, &e->pin_logcap, e->npin_log + 1,
		       sizeof(*e->pin_log), 64) == -1) {
		e->pin_log_lost = true;
		return;
	}
	e->pin_log[e->npin_log++] = n;
}

/* n and everything below it, without recursion. */
static void
retire_subtree(struct engine *e, struct node *top)
{
	size_t cap = 64, sp = 0;
	struct node **st = malloc(cap * sizeof(*st)), *n;
	uint32_t i;

	if (st == NULL) {
		retire(e, top); /* out of memory: count what we can */
		return;
	}
	st[sp++] = top;
	while (sp > 0) {
		n = st[--sp];
		retire(e, n);
		for (i = 0; i < n->nchild; i++) {
			if (grow_array(&st, &cap, sp + 1, sizeof(*st), 64) ==
			    -1)
				goto out;
			st[sp++] = n->child[i];
		}
	}
out:
	free(st);
}

/*
 * tree_mut_path_idx copies every node along the path from the first that
 * is shared: those leave the committed tree, and live on where shared.
 */
void
pin_path_before(struct opctx *x, const uint32_t *idx, unsigned int k,
		struct pin_path *pp)
{
	struct node *n = *x->rootp;
	unsigned int i;

	pp->first = NULL;
	if (!pin_committed(x))
		return;
	for (i = 0;; i++) {
		if (n->ref > 1) {
			pp->first = n;
			pp->at = i;
			return;
		}
		if (i == k)
			return;
		n = n->child[idx[i]];
	}
}

void
pin_path_after(struct opctx *x, const uint32_t *idx, unsigned int k,
	       const struct pin_path *pp)
{
	struct node *n = pp->first;
	unsigned int i;

	/* The originals kept their children: the indices still hold. */
	for (i = pp->at; n != NULL; i++) {
		retire(x->e, n);
		if (i == k)
			break;
		n = n->child[idx[i]];
	}
}

/*
 * A subtree removed from the committed tree, before the store lets go of
 * it: what someone else holds lives on, with all below it.
 */
void
pin_removed(struct opctx *x, struct node *gone)
{
	size_t cap = 64, sp = 0;
	struct node **st, *n;
	uint32_t i;

	if (!pin_committed(x))
		return;
	if ((st = malloc(cap * sizeof(*st))) == NULL)
		return;
	st[sp++] = gone;
	while (sp > 0) {
		n = st[--sp];
		if (n->ref > 1) {
			retire_subtree(x->e, n);
			continue;
		}
		for (i = 0; i < n->nchild; i++) {
			if (grow_array(&st, &cap, sp + 1, sizeof(*st), 64) ==
			    -1)
				goto out;
			st[sp++] = n->child[i];
		}
	}
out:
	free(st);
}

/* The node r and below, as far as u, their new version, does not share. */
static void
retire_unshared(struct engine *e, struct node *r, struct node *u)
{
	struct pair {
		struct node *r, *u;
	} * st;
	size_t cap = 64, sp = 0;
	uint32_t i;
	long ui;

	if ((st = malloc(cap * sizeof(*st))) == NULL) {
		retire(e, r); /* out of memory: count what we can */
		return;
	}
	st[sp++] = (struct pair){r, u};
	while (sp > 0) {
		r = st[--sp].r;
		u = st[sp].u;
		if (r == u)
			continue;
		retire(e, r);
		for (i = 0; i < r->nchild; i++) {
			if (grow_array(&st, &cap, sp + 1, sizeof(*st), 64) ==
			    -1)
				goto out;
			ui = u ? node_child_find(u, node_name(r->child[i]),
						 r->child[i]->namelen)
			       : -1;
			st[sp++] = (struct pair){r->child[i],
						 ui < 0 ? NULL : u->child[ui]};
		}
	}
out:
	free(st);
}

/*
 * One step down path component i in the old store (*r) and, where it has
 * it, the new one (*u, NULL once the path leaves it). False when the old
 * store has no such child.
 */
static bool
step_both(struct node **r, struct node **u, const struct tree_path *tp,
	  unsigned int i)
{
	long ri = node_child_find(*r, tp->comp[i], tp->clen[i]);
	long ui = *u ? node_child_find(*u, tp->comp[i], tp->clen[i]) : -1;

	if (ri < 0)
		return false;
	*r = (*r)->child[ri];
	*u = ui < 0 ? NULL : (*u)->child[ui];
	return true;
}

/* What a removal took from the old store, unless the new one shares it. */
static void
adopted_removal(struct engine *e, const struct txn *t, const char *path)
{
	struct node *r = e->root, *u = t->root;
	struct tree_path tp;
	unsigned int i;

	if (tree_path_split(&tp, path) == -1)
		return;
	for (i = 0; i < tp.depth && r != u; i++)
		if (!step_both(&r, &u, &tp, i)) {
			r = NULL;
			break;
		}
	/* Retired already: by a removal at or above it, which saw it all. */
	if (r != NULL && r != u && !r->retired)
		retire_unshared(e, r, u);
	tree_path_done(&tp);
}

/* The nodes along a changed path that the new store replaced. */
static void
adopted_path(struct engine *e, const struct txn *t, const char *path)
{
	struct node *r = e->root, *u = t->root;
	struct tree_path tp;
	unsigned int i;

	if (tree_path_split(&tp, path) == -1)
		return;
	for (i = 0; r != u && u != NULL; i++) {
		retire(e, r);
		if (i == tp.depth || !step_both(&r, &u, &tp, i))
			break;
	}
	tree_path_done(&tp);
}

/*
 * A transaction's tree becomes the store: the nodes of the committed tree
 * it replaced or removed, found along the paths it changed, leave it. Only
 * another open transaction can keep them past this commit. Removals come
 * first: a node they find retired, another removal saw with all below it.
 */
void
pin_adopted(struct engine *e, const struct txn *t)
{
	size_t j;

	if (e->txn_oldest == t && t->age_next == NULL)
		return;
	for (j = 0; j < t->nops; j++)
		if (t->ops[j].type == XS_RM)
			adopted_removal(e, t, t->ops[j].path);
	for (j = 0; j < t->nops; j++)
		adopted_path(e, t, t->ops[j].path);
}

void
pin_replay_begin(struct engine *e)
{
	e->pin_logging = true;
	e->pin_log_lost = false;
	e->npin_log = 0;
}

void
pin_replay_end(struct engine *e, bool revert)
{
	size_t i;

	e->pin_logging = false;
	/* The tree they left is the store again. */
	for (i = 0; revert && i < e->npin_log; i++)
		node_unretire(e->pin_log[i]);
	if (revert && e->pin_log_lost)
		elog(e, LOG_LVL_WARN,
		     "out of memory: retired node bytes may "
		     "be counted high until freed");
	e->npin_log = 0;
}

void
pin_txn_start(struct engine *e, struct txn *t)
{
	t->age_prev = e->txn_newest;
	t->age_next = NULL;
	*(e->txn_newest ? &e->txn_newest->age_next : &e->txn_oldest) = t;
	e->txn_newest = t;
}

void
pin_txn_end(struct engine *e, struct txn *t)
{
	*(t->age_prev ? &t->age_prev->age_next : &e->txn_oldest) = t->age_next;
	*(t->age_next ? &t->age_next->age_prev : &e->txn_newest) = t->age_prev;
	t->age_prev = t->age_next = NULL;
}

/*
 * The owner of the oldest open transaction, whose snapshot keeps the most,
 * is charged for what all keep, with what its domain holds, against its
 * memory quota: past it, that transaction is aborted and the next one
 * looked at. dom0 has no quota: while its transaction is the oldest,
 * nobody pays; a socket_ro client has, with what its watches and
 * transactions hold.
 */
void
pin_check(struct engine *e)
{
	struct txn *t;
	size_t kept;

	while ((t = e->txn_oldest) != NULL && !quota_free(t->c) &&
	       (kept = tree_retired_bytes()) > 0) {
		if (!quota_exceeded(e, t->c, Q_MEMORY,
				    quota_memory_used(t->c) + (long)kept))
			return;
		elog(e, LOG_LVL_WARN,
		     "domain %u: transaction %u of connection %u aborted: "
		     "it keeps %zu bytes of replaced nodes",
		     t->c->domid, t->id, t->c->id, kept);
		txn_abort_kept(e, t);
	}
}
