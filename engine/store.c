// SPDX-License-Identifier: GPL-2.0-only
/*
 * READ/WRITE/MKDIR/RM/SET_PERMS/DIRECTORY semantics on one tree version,
 * with C xenstored's permission and error rules.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "journal.h"
#include "store.h"
#include "xs_proto.h"

void
opctx_init(struct opctx *x, struct engine *e, struct conn *c, struct txn *t)
{
	x->e = e;
	x->c = c;
	x->t = t;
	x->replay = false;
	x->rootp = t ? &t->root : &e->root;
	/*
	 * One counter for both: what a transaction writes is later than
	 * everything in the tree it started from, which is how it knows its
	 * own writes, and its tree can become the store as it is.
	 */
	x->gen = ++e->gen;
}

/*
 * Charges a node to its owner: the domain at once, or, inside a
 * transaction, the transaction's own books (applied if it commits as is).
 */
static void
account(struct opctx *x, uint32_t owner, const struct node *n, int sign)
{
	if (x->t == NULL)
		domain_account_node(x->e, owner, n, sign);
	else
		txn_account(x->t, owner, n, sign);
}

/*
 * The error for a missing node: EACCES if the caller may not see (perm on)
 * the deepest existing ancestor, so existence does not leak; else ENOENT.
 */
static int
missing_errno(struct opctx *x, const struct node *deep, unsigned int perm)
{
	if ((perm_for_conn(x->e, x->c, deep) & perm) != perm)
		return EACCES;
	return ENOENT;
}

/*
 * A request's path, split once and looked up once: an operation carries
 * this along instead of splitting and walking the path again for each
 * step. Release with tree_path_done(&w->tp), whatever lookup() returned.
 */
struct walk {
	struct tree_path tp;
	const struct node *n;    /* the node, or NULL */
	const struct node *deep; /* its deepest existing ancestor-or-self */
	unsigned int k;          /* how many components exist */
};

/*
 * idx, if not NULL, holds TREE_MAX_DEPTH entries and gets where each
 * component is (tree_lookup_idx), for tree_mut_path_idx.
 */
static int
lookup(struct opctx *x, const char *path, unsigned int perm, struct walk *w,
       uint32_t *idx)
{
	const struct node *n;
	int r;

	w->n = w->deep = NULL;
	w->k = 0;
	if (tree_path_split(&w->tp, path) == -1)
		return EINVAL;
	n = w->n = tree_lookup_idx(*x->rootp, &w->tp, &w->deep, &w->k, idx);
	if (x->replay)
		return n ? 0 : ENOENT;
	if (n == NULL) {
		r = missing_errno(x, w->deep, perm);
		if (r == ENOENT && x->t)
			r = txn_note(x, path, &w->tp, w->tp.depth, NOTE_ABSENT,
				     NULL)
				    ?: ENOENT;
		return r;
	}
	if ((perm_for_conn(x->e, x->c, n) & perm) != perm)
		return EACCES;
	if (x->t &&
	    (r = txn_note(x, path, &w->tp, w->tp.depth, NOTE_GEN, n)) != 0)
		return r;
	return 0;
}

int
op_get(struct opctx *x, const char *path, unsigned int perm,
       const struct node **out)
{
	struct walk w;
	int r = lookup(x, path, perm, &w, NULL);

	*out = w.n;
	tree_path_done(&w.tp);
	return r;
}

/* Length of the path of the k first components of tp. */
static size_t
prefix_len(const char *path, const struct tree_path *tp, unsigned int k)
{
	if (k == 0)
		return 1;
	return (size_t)(tp->comp[k - 1] + tp->clen[k - 1] - path);
}

int
op_directory(struct opctx *x, const char *path, const struct node **out)
{
	struct walk w;
	int r = lookup(x, path, PERM_READ, &w, NULL);

	*out = w.n;
	if (r == 0 && x->t)
		r = txn_note(x, path, &w.tp, w.tp.depth, NOTE_CGEN, *out);
	tree_path_done(&w.tp);
	return r;
}

static size_t
children_bytes(const struct node *n)
{
	size_t s = 0;
	uint32_t i;

	for (i = 0; i < n->nchild; i++)
		s += n->child[i]->namelen + 1u;
	return s;
}

/* Would n, with this data, these many permissions and extra bytes of
 * child names, be over the caller's node-size quota? */
static bool
node_too_big(struct opctx *x, const struct node *n, size_t datalen,
	     unsigned int nperm, size_t extra)
{
	size_t sz;

	if (x->c->priv)
		return false; /* no quota: skip the sum over the children */
	/* A permission counts 8 bytes, as in C xenstored's records. */
	sz = datalen + nperm * 8u + (n ? children_bytes(n) : 0) + extra;

	return quota_exceeded(x->e, x->c, Q_NODE_SIZE, (long)sz);
}

/* Counts the nodes of a subtree that domid owns. */
struct own_count {
	uint32_t domid;
	long n;
};

static int
count_owned(const struct node *n, const char *path, size_t len, void *arg)
{
	struct own_count *oc = arg;

	if (n->perm[0].id == oc->domid)
		oc->n++;
	return 0;
}

/* Changes to the committed tree go to the journal; a transaction's wait. */
static bool
committed(const struct opctx *x)
{
	return x->rootp == &x->e->root && x->e->jr != NULL;
}

/*
 * Journals the chain of nodes a write just created below component k,
 * top first, each under its prefix of path (cut where snprintf would).
 */
static void
journal_chain(struct opctx *x, const char *path, const struct tree_path *tp,
	      unsigned int k, const struct node *n)
{
	char prefix[PATH_BUF];
	size_t plen = strlen(path), end;
	unsigned int i;
	char saved;

	if (plen >= sizeof(prefix))
		plen = sizeof(prefix) - 1;
	memcpy(prefix, path, plen);
	prefix[plen] = '\0';
	for (i = k; i < tp->depth; i++) {
		end = prefix_len(path, tp, i + 1);
		if (end > plen)
			end = plen;
		saved = prefix[end];
		prefix[end] = '\0';
		journal_node(x->e, prefix, n);
		prefix[end] = saved;
		n = n->nchild ? n->child[0] : n;
	}
}

/* New data in *slot's node, with its entries as they stand. */
static int
set_data(struct opctx *x, struct node **slot, const void *data, size_t len)
{
	struct perm perms[64], *p = perms;
	unsigned int np = (*slot)->nperm;
	int r;

	if (np > 64 && (p = malloc(np * sizeof(*p))) == NULL)
		return -1;
	perms_carry(x->e, *slot, p);
	r = node_set(slot, data, len, p, np, x->gen);
	if (p != perms)
		free(p);
	return r;
}

/*
 * Creates the missing components k.. of tp, the last with data, under
 * *slots[k], where idx[k] says they go; *leaf gets the last one.
 */
static int
create_nodes(struct opctx *x, const struct tree_path *tp, unsigned int k,
	     const struct node *deep, const void *data, size_t len,
	     const uint32_t *idx, struct node ***slots,
	     const struct node **leaf)
{
	struct node *chain = NULL, *nn;
	struct perm perms[64], *p = perms;
	unsigned int np = deep->nperm, i;
	struct pin_path pp;
	int r = ENOMEM;

	if (np > 64) {
		p = malloc(np * sizeof(*p));
		if (p == NULL)
			return ENOMEM;
	}
	perms_carry(x->e, deep, p);
	/* What an unprivileged domain creates, it owns. */
	if (!x->c->priv) {
		p[0].id = x->c->domid;
		p[0].mode &= ~PERM_STALE;
	}
	for (i = tp->depth; i-- > k;) {
		bool is_leaf = i == tp->depth - 1;

		nn = node_new(tp->comp[i], tp->clen[i], p, np,
			      is_leaf ? data : "", is_leaf ? len : 0, x->gen);
		if (nn == NULL)
			goto out;
		if (chain && node_insert_child(nn, 0, chain) == -1) {
			node_unref(nn);
			goto out;
		}
		if (is_leaf)
			*leaf = nn;
		chain = nn;
	}
	pin_path_before(x, idx, k, &pp);
	if (tree_mut_path_idx(x->rootp, idx, k, slots) < 0)
		goto out;
	pin_path_after(x, idx, k, &pp);
	if (node_insert_child(*slots[k], idx[k], chain) == -1)
		goto out;
	(*slots[k])->cgen = x->gen;
	{
		const struct node *c = chain;

		for (i = k; i < tp->depth; i++) {
			account(x, p[0].id, c, +1);
			c = c->nchild ? c->child[0] : c;
		}
	}
	if (x->t && !x->c->priv)
		x->t->nodes_delta += (long)(tp->depth - k);
	chain = NULL;
	r = 0;
out:
	node_unref(chain);
	if (p != perms)
		free(p);
	return r;
}

int
op_write(struct opctx *x, const char *path, const void *data, size_t len,
	 bool mkdir)
{
	const struct node *n, *deep;
	struct node **slots[TREE_MAX_DEPTH + 1];
	uint32_t idx[TREE_MAX_DEPTH];
	struct tree_path *tp;
	struct pin_path pp;
	struct walk w;
	unsigned int k;
	int r, depth;

	r = lookup(x, path, PERM_WRITE, &w, idx);
	tp = &w.tp;
	n = w.n;
	deep = w.deep;
	k = w.k;
	if (r != 0 && r != ENOENT)
		goto out;
	if (n && mkdir) {
		r = 0; /* exists already: nothing changes, nothing fires */
		goto out;
	}
	if (n) {
		if (!x->replay && node_too_big(x, n, len, n->nperm, 0)) {
			r = ENOSPC;
			goto out;
		}
		/* Growing a node costs its owner as creating one does (dom0
		 * has no quota: no lookup for it). */
		if (!x->replay && len > n->datalen && x->c != NULL &&
		    !x->c->priv) {
			struct domain *o =
				domain_get(x->e, n->perm[0].id, false);

			if (o &&
			    quota_exceeded(x->e, x->c, Q_MEMORY,
					   o->memory +
						   (long)(len - n->datalen))) {
				r = ENOMEM;
				goto out;
			}
		}
		pin_path_before(x, idx, k, &pp);
		depth = tree_mut_path_idx(x->rootp, idx, k, slots);
		if (depth < 0) {
			r = ENOMEM;
			goto out;
		}
		pin_path_after(x, idx, k, &pp);
		account(x, (*slots[depth])->perm[0].id, *slots[depth], -1);
		if (set_data(x, slots[depth], data, len) == -1) {
			r = ENOMEM;
			goto out;
		}
		n = *slots[depth];
		account(x, n->perm[0].id, n, +1);
		if (committed(x))
			journal_node(x->e, path, n);
	} else {
		if (!x->replay) {
			struct domain *d = x->c->dom;
			long have = d ? d->nodes : 0;

			if (x->t)
				have += x->t->nodes_delta;
			if (node_too_big(x, NULL, len, deep->nperm, 0) ||
			    node_too_big(x, deep, deep->datalen, deep->nperm,
					 tp->clen[k] + 1u) ||
			    quota_exceeded(x->e, x->c, Q_NODES,
					   have + (long)(tp->depth - k))) {
				r = ENOSPC;
				goto out;
			}
			if (d && quota_exceeded(x->e, x->c, Q_MEMORY,
						d->memory + (long)len +
							(long)tp->depth * 64)) {
				r = ENOMEM;
				goto out;
			}
			/*
			 * New nodes take their permissions from deep, and
			 * must still be new at commit. (That the whole path
			 * is, lookup() has noted already.)
			 */
			if (x->t &&
			    ((r = txn_note(x, path, tp, k, NOTE_GEN, deep)) ||
			     (k + 1 < tp->depth &&
			      (r = txn_note(x, path, tp, k + 1, NOTE_ABSENT,
					    NULL)))))
				goto out;
		}
		r = create_nodes(x, tp, k, deep, data, len, idx, slots, &n);
		if (r)
			goto out;
		if (committed(x))
			journal_chain(x, path, tp, k,
				      (*slots[k])->child[idx[k]]);
	}
	/* Inside a transaction it goes to the transaction's events. */
	r = event_add(x->e, path, n, NULL, false);
out:
	tree_path_done(&w.tp);
	return r;
}

static int
rm_visit(const struct node *n, const char *path, size_t len, void *arg)
{
	account(arg, n->perm[0].id, n, -1);
	return 0;
}

int
op_rm(struct opctx *x, const char *path)
{
	const struct node *deep;
	struct node **slots[TREE_MAX_DEPTH + 1], *gone;
	uint32_t idx[TREE_MAX_DEPTH];
	struct tree_path *tp;
	struct pin_path pp;
	struct walk w;
	int r, depth;

	r = lookup(x, path, PERM_WRITE, &w, idx);
	tp = &w.tp;
	if (r == ENOENT) {
		/* Removing what is not there is fine if the parent is. */
		unsigned int k = w.k;

		deep = w.deep;
		r = k + 1 >= tp->depth ? 0 : ENOENT;
		if (r == 0 && x->t && !x->replay)
			r = txn_note(x, path, tp, k, NOTE_GEN, deep);
		goto out;
	}
	if (r)
		goto out;
	if (tp->depth == 0) {
		r = EINVAL; /* the root stays */
		goto out;
	}
	pin_path_before(x, idx, tp->depth - 1, &pp);
	depth = tree_mut_path_idx(x->rootp, idx, tp->depth - 1, slots);
	if (depth < 0) {
		r = ENOMEM;
		goto out;
	}
	pin_path_after(x, idx, tp->depth - 1, &pp);
	gone = node_remove_child(*slots[depth], idx[depth]);
	(*slots[depth])->cgen = x->gen;
	if (committed(x))
		journal_delete(x->e, path);
	r = tree_walk(gone, path, rm_visit, x) ? ENOMEM : 0;
	if (r == 0)
		r = events_add_removed(x->e, path, gone);
	if (x->t && !x->c->priv) {
		struct own_count oc = {x->c->domid, 0};

		tree_walk(gone, path, count_owned, &oc);
		x->t->nodes_delta -= oc.n;
	}
	pin_removed(x, gone);
	node_unref(gone);
out:
	tree_path_done(&w.tp);
	return r;
}

int
op_may_set_perms(struct opctx *x, const char *path, unsigned int np)
{
	uint32_t idx[TREE_MAX_DEPTH];
	struct walk w;
	int r;

	r = lookup(x, path, PERM_WRITE | PERM_OWNER, &w, idx);
	if (r == 0 && quota_exceeded(x->e, x->c, Q_PERMS, (long)np - 1))
		r = ENOSPC;
	tree_path_done(&w.tp);
	return r;
}

int
op_set_perms(struct opctx *x, const char *path, const struct perm *p,
	     unsigned int np)
{
	const struct node *n;
	struct node **slots[TREE_MAX_DEPTH + 1], *old;
	uint32_t idx[TREE_MAX_DEPTH];
	struct pin_path pp;
	struct walk w;
	int r, depth;

	r = lookup(x, path, PERM_WRITE | PERM_OWNER, &w, idx);
	n = w.n;
	if (r)
		goto out;
	if (!x->replay) {
		if (quota_exceeded(x->e, x->c, Q_PERMS, (long)np - 1) ||
		    node_too_big(x, n, n->datalen, np, 0)) {
			r = ENOSPC;
			goto out;
		}
		/*
		 * A node's owner must be a domain that exists: an owner id
		 * that a later domain could inherit would hand it the node.
		 */
		if (!domain_exists(x->e, p[0].id)) {
			r = ENOENT;
			goto out;
		}
		/* Only the privileged may give a node away (XSA-352). */
		if (!x->c->priv && p[0].id != n->perm[0].id) {
			r = EPERM;
			goto out;
		}
	}
	pin_path_before(x, idx, w.tp.depth, &pp);
	depth = tree_mut_path_idx(x->rootp, idx, w.tp.depth, slots);
	if (depth < 0) {
		r = ENOMEM;
		goto out;
	}
	pin_path_after(x, idx, w.tp.depth, &pp);
	/* Keep the old version alive for the event's permission check. */
	old = node_ref(*slots[depth]);
	account(x, old->perm[0].id, old, -1);
	if (node_set(slots[depth], node_data(old), old->datalen, p, np,
		     x->gen)) {
		account(x, old->perm[0].id, old, +1);
		node_unref(old);
		r = ENOMEM;
		goto out;
	}
	account(x, p[0].id, *slots[depth], +1);
	if (committed(x))
		journal_node(x->e, path, *slots[depth]);
	r = event_add(x->e, path, *slots[depth], old, false);
	node_unref(old);
out:
	tree_path_done(&w.tp);
	return r;
}

struct owned {
	uint32_t domid;
	bool keep;
	char **paths;
	size_t n, cap;
};

static int
collect_owned(const struct node *n, const char *path, size_t len, void *arg)
{
	struct owned *o = arg;

	if (n->perm[0].id != o->domid || len == 1)
		return 0;
	if (grow_array(&o->paths, &o->cap, o->n + 1, sizeof(*o->paths), 16) ==
	    -1)
		return -ENOMEM;
	if ((o->paths[o->n] = strdup(path)) == NULL)
		return -ENOMEM;
	o->n++;
	/* A removed node takes its children along; a kept one does not. */
	return o->keep ? 0 : TREE_WALK_SKIP;
}

void
domain_remove_nodes(struct engine *e, uint32_t domid)
{
	static struct conn dom0 = {.priv = true};
	struct owned o = {domid, e->keep_orphans, NULL, 0, 0};
	const struct node *n;
	struct perm p[1024];
	struct opctx x;
	size_t i;
	int r = 0;

	if (tree_walk(e->root, "/", collect_owned, &o) < 0)
		r = ENOMEM;
	for (i = 0; i < o.n && r == 0; i++) {
		opctx_init(&x, e, &dom0, NULL);
		x.replay = true;
		if (!o.keep) {
			r = op_rm(&x, o.paths[i]);
			continue;
		}
		/* -K: the node stays, with dom0 as its owner. */
		if (op_get(&x, o.paths[i], 0, &n) != 0 || n->nperm > 1024)
			continue;
		perms_carry(e, n, p);
		p[0].id = 0;
		p[0].mode &= ~PERM_STALE;
		r = op_set_perms(&x, o.paths[i], p, n->nperm);
	}
	if (r)
		elog(e, LOG_LVL_ERR, "removing the nodes of domain %u: %s",
		     domid, strerror(r));
	else if (o.n)
		elog(e, LOG_LVL_INFO, "domain %u: %zu nodes %s", domid, o.n,
		     o.keep ? "passed to dom0" : "removed");
	for (i = 0; i < o.n; i++)
		free(o.paths[i]);
	free(o.paths);
}
