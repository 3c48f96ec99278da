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
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "journal.h"
#include "store.h"
#include "xs_proto.h"

struct txn_acct {
	long nodes, memory;
};

/*
 * What a transaction keeps of each request (the paths and data it wrote,
 * the notes of what it read) is carved from chunks of its own, all freed
 * at once when it ends: thousands of writes cost a few frees, not four
 * each, after the reply of their commit.
 */
struct txn_chunk {
	struct txn_chunk *next;
	size_t used, size;
	max_align_t data[];
};

#define TXN_CHUNK_MIN 1024u
#define TXN_CHUNK_MAX 65536u

static void *
txn_alloc(struct txn *t, size_t n)
{
	struct txn_chunk *c = t->chunks;
	size_t size;
	void *p;

	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (c == NULL || c->size - c->used < n) {
		/* Small transactions stay small; big ones take big chunks. */
		size = c ? c->size * 2 : TXN_CHUNK_MIN;
		if (size > TXN_CHUNK_MAX)
			size = TXN_CHUNK_MAX;
		if (size < n)
			size = n;
		if ((c = malloc(sizeof(*c) + size)) == NULL)
			return NULL;
		c->next = t->chunks;
		c->used = 0;
		c->size = size;
		t->chunks = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

void
txn_account(struct txn *t, uint32_t owner, const struct node *n, int sign)
{
	struct txn_acct *a = hmap_get(&t->acct, &owner, sizeof(owner));

	if (a == NULL) {
		a = txn_alloc(t, sizeof(*a));
		if (a == NULL ||
		    hmap_put(&t->acct, &owner, sizeof(owner), a) == -1) {
			t->acct_lost = true;
			return;
		}
		a->nodes = a->memory = 0;
	}
	a->nodes += sign;
	a->memory += sign * (long)node_size(n);
}

void
txn_events_enter(struct engine *e, struct txn *t)
{
	struct event *ev = e->ev;
	size_t nev = e->nev, cap = e->evcap;

	e->ev = t->ev;
	e->nev = t->nev;
	e->evcap = t->evcap;
	t->ev = ev;
	t->nev = nev;
	t->evcap = cap;
	t->ev_mark = e->nev;
}

void
txn_events_leave(struct engine *e, struct txn *t, bool ok)
{
	struct event *ev = e->ev;
	size_t nev = e->nev, cap = e->evcap;

	/* A failed request's events are not the transaction's. */
	while (!ok && nev > t->ev_mark) {
		nev--;
		free(ev[nev].path);
		node_unref((struct node *)ev[nev].perm_node);
		node_unref((struct node *)ev[nev].perm_node2);
	}
	e->ev = t->ev;
	e->nev = t->nev;
	e->evcap = t->evcap;
	t->ev = ev;
	t->nev = nev;
	t->evcap = cap;
}

struct read_note {
	struct read_note *next; /* in the order they were first noted */
	int what;
	uint64_t gen;
	uint64_t cgen;
	char path[]; /* its key in the map */
};

size_t
txn_conn_bytes(const struct conn *c)
{
	const struct txn *u;
	size_t bytes = 0;

	for (u = c->txns; u != NULL; u = u->next)
		bytes += u->opbytes;
	return bytes;
}

/*
 * A guest's transactions have the whole memory quota to themselves, as in
 * C xenstored; a read-only client owns no nodes, so its transactions and
 * watches share one budget.
 */
static long
txn_quota_bytes(const struct conn *c)
{
	return c->ro ? quota_memory_used(c) : (long)txn_conn_bytes(c);
}

/* Is the path of len bytes at or below what base is known to lack? */
static bool
txn_gone(const struct txn *t, const char *path, size_t len)
{
	return t->gone_len != 0 && len >= t->gone_len &&
	       (len == t->gone_len || path[t->gone_len] == '/') &&
	       memcmp(path, t->gone, t->gone_len) == 0;
}

int
txn_note(struct opctx *x, const char *path, const struct tree_path *tp,
	 unsigned int depth, int what, const struct node *n)
{
	struct txn *t = x->t;
	struct read_note *rn;
	const struct node *b = NULL;
	unsigned int i, miss = 0;
	size_t len;
	uint64_t h;
	long idx;

	if (what == NOTE_GEN && n->gen > t->start_gen)
		return 0; /* its own write */
	len = depth == 0 ? 1
			 : (size_t)(tp->comp[depth - 1] + tp->clen[depth - 1] -
				    path);
	if (what != NOTE_GEN && !txn_gone(t, path, len)) {
		/* Absence and child lists are judged against the base. */
		b = t->base;
		for (i = 0; i < depth; i++) {
			idx = node_child_find(b, tp->comp[i], tp->clen[i]);
			if (idx < 0) {
				b = NULL;
				miss = i + 1;
				break;
			}
			b = b->child[idx];
		}
	}
	if (what == NOTE_ABSENT && b)
		return 0; /* it removed the node itself */
	if (what == NOTE_CGEN && b == NULL)
		return 0; /* it created the node itself */
	h = hmap_hash(path, len);
	rn = hmap_get_h(&t->reads, path, len, h);
	if (rn == NULL) {
		/* A note and its slot in the map, as the domain pays it. */
		size_t bytes = sizeof(*rn) + len + 1 + 2 * sizeof(void *);

		if (quota_exceeded(x->e, x->c, Q_TXN_NODES,
				   (long)t->reads.used + 1))
			return ENOSPC;
		if (!quota_free(x->c) &&
		    quota_exceeded(x->e, x->c, Q_MEMORY,
				   txn_quota_bytes(x->c) + (long)bytes))
			return ENOMEM;
		t->opbytes += bytes;
		rn = txn_alloc(t, sizeof(*rn) + len + 1);
		if (rn == NULL)
			return ENOMEM;
		memset(rn, 0, sizeof(*rn));
		memcpy(rn->path, path, len);
		rn->path[len] = '\0';
		if (hmap_put_h(&t->reads, rn->path, len, rn, h) == -1)
			return ENOMEM;
		*(t->notes_tail ? &t->notes_tail->next : &t->notes) = rn;
		t->notes_tail = rn;
	}
	if (miss) {
		/* Writes under a new node note paths below it, one by one. */
		t->gone = rn->path;
		t->gone_len = (size_t)(tp->comp[miss - 1] + tp->clen[miss - 1] -
				       path);
	}
	rn->what |= what;
	if (what == NOTE_GEN)
		rn->gen = n->gen;
	else if (what == NOTE_CGEN)
		rn->cgen = b->cgen;
	return 0;
}

int
txn_log_op(struct engine *e, struct txn *t, uint32_t type, const char *path,
	   const void *data, size_t len, uint64_t gen)
{
	struct txn_op *op;
	size_t bytes = type == XS_SET_PERMS ? len * sizeof(struct perm) : len;
	size_t plen;

	if (grow_array(&t->ops, &t->opcap, t->nops + 1, sizeof(*t->ops), 8) ==
	    -1)
		return ENOMEM;
	op = &t->ops[t->nops];
	op->type = type;
	op->len = len;
	op->gen = gen;
	plen = strlen(path) + 1;
	/* The data first: permissions want their alignment. */
	if ((op->data = txn_alloc(t, bytes + 1 + plen)) == NULL)
		return ENOMEM;
	memcpy(op->data, data, bytes);
	((char *)op->data)[bytes] = '\0';
	op->path = (char *)op->data + bytes + 1;
	memcpy(op->path, path, plen);
	/* A node's record: header, permissions, path, data (or none). */
	t->jbytes += 32 + bytes + plen + (type == XS_RM ? 0 : 8);
	journal_expect(e, t->jbytes);
	t->opbytes += sizeof(*op) + bytes + 1 + plen;
	t->nops++;
	return 0;
}

/*
 * A change in a transaction stays in its log until it ends, to be replayed
 * at commit. Rewriting one node touches no new node, so without a bound of
 * their own an unprivileged connection's logs would grow without end: each
 * transaction logs no more changes than it may touch nodes, and the logs
 * and read notes (each a path up to 3 KB) of all its transactions hold no
 * more bytes than the domain may own (C xenstored charges a transaction's
 * memory to the domain's quota too).
 */
int
txn_log_room(struct engine *e, struct conn *c, const struct txn *t, size_t len)
{
	size_t bytes;

	if (quota_free(c))
		return 0; /* no quota: no sum over its transactions */
	bytes = sizeof(struct txn_op) + len;
	if (quota_exceeded(e, c, Q_TXN_NODES, (long)t->nops + 1) ||
	    quota_exceeded(e, c, Q_MEMORY, txn_quota_bytes(c) + (long)bytes))
		return ENOSPC;
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
	t->reads.borrow = true;
	t->base = node_ref(e->root);
	t->root = node_ref(e->root);
	t->start_gen = e->gen;
	t->next = c->txns;
	c->txns = t;
	c->ntxn++;
	e->ntxn_total++;
	conflict_txn_start(e, t);
	pin_txn_start(e, t);
	return t;
}

/* All it holds; the transaction itself stays. */
static void
txn_release(struct txn *t)
{
	struct txn_chunk *c;
	size_t i;

	hmap_free(&t->reads);
	hmap_free(&t->acct);
	for (i = 0; i < t->nev; i++) {
		free(t->ev[i].path);
		node_unref((struct node *)t->ev[i].perm_node);
		node_unref((struct node *)t->ev[i].perm_node2);
	}
	free(t->ev);
	t->ev = NULL;
	t->nev = t->evcap = 0;
	free(t->ops);
	t->ops = NULL;
	t->nops = t->opcap = 0;
	t->opbytes = 0;
	while ((c = t->chunks) != NULL) {
		t->chunks = c->next;
		free(c);
	}
	t->notes = t->notes_tail = NULL;
	t->gone = NULL;
	t->gone_len = 0;
	node_unref(t->base);
	node_unref(t->root);
	t->base = t->root = NULL;
}

static void
txn_free(struct txn *t)
{
	txn_release(t);
	free(t);
}

void
txn_reap(struct engine *e)
{
	struct txn *t;

	while ((t = e->dead_txns) != NULL) {
		e->dead_txns = t->next;
		txn_free(t);
	}
}

/* How many leading components two split paths share. */
static unsigned int
common_depth(const struct tree_path *a, const struct tree_path *b)
{
	unsigned int i;

	for (i = 0; i < a->depth && i < b->depth; i++)
		if (a->clen[i] != b->clen[i] ||
		    memcmp(a->comp[i], b->comp[i], a->clen[i]) != 0)
			break;
	return i;
}

/*
 * The generation of the change that broke a note: the node's own, that
 * of its child list, or, where it is gone, the child list of what is left
 * of its path.
 */
static uint64_t
broken_gen(const struct read_note *rn, const struct node *n,
	   const struct node *deepest)
{
	if (n == NULL)
		return deepest->cgen;
	if ((rn->what & NOTE_CGEN) && n->cgen != rn->cgen)
		return n->cgen;
	return n->gen;
}

/*
 * Do all its notes still hold in the committed tree? Notes come in the
 * order they were taken, so neighbours mostly share a parent: each walk
 * starts where the previous one can be reused instead of at the root, and
 * below a component the previous walk found missing, nothing is there.
 * If not, *gen is the generation of a change that broke one.
 */
static bool
txn_valid(struct engine *e, struct txn *t, uint64_t *gen)
{
	const struct node *at[TREE_MAX_DEPTH + 1];
	struct tree_path tp[2];
	unsigned int cur = 0, m, found = 0;
	const struct node *n;
	struct read_note *rn;
	long idx;
	bool ok = true;

	for (m = 0; m < 2; m++) {
		tp[m].depth = 0;
		tp[m].comp = tp[m].icomp;
		tp[m].clen = tp[m].iclen;
	}
	at[0] = e->root;
	for (rn = t->notes; ok && rn; rn = rn->next) {
		if (tree_path_split(&tp[cur], rn->path) == -1) {
			ok = false;
			break;
		}
		/* at[0..found] hold the previous path's existing nodes. */
		m = common_depth(&tp[cur], &tp[!cur]);
		if (m > found) {
			n = NULL; /* below what the previous walk missed */
		} else {
			for (found = m; found < tp[cur].depth; found++) {
				idx = node_child_find(at[found],
						      tp[cur].comp[found],
						      tp[cur].clen[found]);
				if (idx < 0)
					break;
				at[found + 1] = at[found]->child[idx];
			}
			n = found == tp[cur].depth ? at[found] : NULL;
		}
		tree_path_done(&tp[!cur]);
		cur = !cur;
		if (rn->what & NOTE_ABSENT)
			ok = n == NULL;
		if ((rn->what & NOTE_GEN) && (n == NULL || n->gen != rn->gen))
			ok = false;
		if ((rn->what & NOTE_CGEN) &&
		    (n == NULL || n->cgen != rn->cgen))
			ok = false;
		if (!ok)
			*gen = broken_gen(rn, n, at[found]);
	}
	tree_path_done(&tp[0]);
	tree_path_done(&tp[1]);
	return ok;
}

static int
txn_replay(struct engine *e, struct txn *t)
{
	struct node *saved = node_ref(e->root);
	struct domain *d = t->c->dom;
	long before = d ? d->nodes : 0;
	size_t mark = journal_mark(e);
	struct opctx x;
	size_t i;
	int r = 0;

	/*
	 * The extra reference on the committed root makes every change below
	 * copy its path, so a failure half way leaves 'saved' intact.
	 */
	domain_undo_begin(e);
	pin_replay_begin(e);
	for (i = 0; i < t->nops && r == 0; i++) {
		struct txn_op *op = &t->ops[i];

		opctx_init(&x, e, t->c, NULL);
		x.replay = true;
		conflict_note_write(e, t->c, x.gen);
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
		pin_replay_end(e, true);
		node_unref(e->root);
		e->root = saved;
		journal_rollback(e, mark);
		return r;
	}
	domain_undo_end(e, false);
	pin_replay_end(e, false);
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

/*
 * Journals the nodes along the parent path (plen bytes of path) that the
 * transaction made or changed, as they are in its final tree, and returns
 * the parent (NULL if it is gone).
 */
static const struct node *
journal_parents(struct engine *e, const struct txn *t, const char *path,
		size_t plen)
{
	const struct node *parent = t->root;
	char prefix[PATH_BUF];
	struct tree_path tp;
	unsigned int k;
	size_t end;
	long idx;

	if (plen == 0)
		return parent;
	memcpy(prefix, path, plen);
	prefix[plen] = '\0';
	if (tree_path_split(&tp, prefix) == -1)
		return NULL;
	for (k = 0; k < tp.depth && parent; k++) {
		idx = node_child_find(parent, tp.comp[k], tp.clen[k]);
		parent = idx < 0 ? NULL : parent->child[idx];
		if (parent == NULL || parent->gen <= t->start_gen)
			continue;
		end = (size_t)(tp.comp[k] + tp.clen[k] - prefix);
		prefix[end] = '\0';
		journal_node(e, prefix, parent);
		prefix[end] = k + 1 < tp.depth ? '/' : '\0';
	}
	tree_path_done(&tp);
	return parent;
}

/*
 * Journals the children of parent (at path, plen bytes) that writes with
 * generations lo to hi left as they are: one pass over the children
 * instead of a search for each write.
 */
static void
journal_children(struct engine *e, const struct node *parent, const char *path,
		 size_t plen, uint64_t lo, uint64_t hi)
{
	char buf[PATH_BUF];
	const struct node *c;
	uint32_t i;

	memcpy(buf, path, plen);
	buf[plen] = '/';
	for (i = 0; i < parent->nchild; i++) {
		c = parent->child[i];
		/* (No path is longer than XS_ABS_PATH_MAX, well within.) */
		if (c->gen < lo || c->gen > hi ||
		    plen + 1 + c->namelen >= sizeof(buf))
			continue;
		memcpy(buf + plen + 1, node_name(c), c->namelen + 1u);
		journal_node(e, buf, c);
	}
}

/* Does path's parent have the plen bytes of parent as its path? */
static bool
same_parent(const char *path, const char *parent, size_t plen)
{
	return path[1] != '\0' && (size_t)(strrchr(path, '/') - path) == plen &&
	       memcmp(path, parent, plen) == 0;
}

/*
 * The journal gets an adopted transaction's effect in the order of its
 * writes: a removal as a removal, a write as the nodes along its path that
 * it made or changed (their generation is later than its start), as they
 * are in the final tree; a later removal undoes what an earlier write
 * recorded, as it did in the transaction. Writes side by side under one
 * parent share its path, looked up once, and record each node they wrote
 * as its last writer left it: found one by one, or, when they are many
 * for the parent's children, by one pass over those.
 */
static void
txn_journal(struct engine *e, struct txn *t)
{
	const struct txn_op *op;
	const struct node *parent, *n;
	const char *path, *leaf;
	size_t i = 0, j, k, plen;
	long idx;

	while (i < t->nops) {
		op = &t->ops[i];
		path = op->path;
		if (op->type == XS_RM) {
			journal_delete(e, path);
			i++;
			continue;
		}
		if (path[1] == '\0') {
			/* Only the root's permissions can change. */
			if (t->root->gen > t->start_gen)
				journal_node(e, "/", t->root);
			i++;
			continue;
		}
		leaf = strrchr(path, '/') + 1;
		plen = (size_t)(leaf - 1 - path);
		for (j = i + 1; j < t->nops && t->ops[j].type != XS_RM &&
				same_parent(t->ops[j].path, path, plen);
		     j++)
			;
		parent = journal_parents(e, t, path, plen);
		if (parent != NULL && parent->nchild <= 16 * (j - i)) {
			journal_children(e, parent, path, plen, op->gen,
					 t->ops[j - 1].gen);
		} else if (parent != NULL) {
			for (k = i; k < j; k++) {
				leaf = strrchr(t->ops[k].path, '/') + 1;
				idx = node_child_find(parent, leaf,
						      strlen(leaf));
				n = idx < 0 ? NULL : parent->child[idx];
				if (n != NULL && n->gen == t->ops[k].gen)
					journal_node(e, t->ops[k].path, n);
			}
		}
		i = j;
	}
}

/*
 * Nothing committed since the transaction started: its tree becomes the
 * store as it is, with the accounting and events it collected, instead of
 * replaying its writes. Returns 0, ENOSPC (over the node quota), or -1 to
 * take the replay path.
 */
static int
txn_adopt(struct engine *e, struct txn *t)
{
	struct domain *d = t->c->dom;
	struct txn_acct *a;
	const char *key;
	size_t i = 0;
	void *v;

	if (t->acct_lost)
		return -1;
	if (d && (a = hmap_get(&t->acct, &d->domid, sizeof(d->domid))) &&
	    a->nodes > 0 &&
	    quota_exceeded(e, t->c, Q_NODES, d->nodes + a->nodes))
		return ENOSPC;
	/*
	 * What it wrote carries generations of the store's counter, later
	 * than its start and in order: they stand as they are.
	 */
	while (hmap_next(&t->acct, &i, &key, NULL, &v)) {
		uint32_t owner;
		struct domain *od;

		memcpy(&owner, key, sizeof(owner));
		a = v;
		if ((od = domain_get(e, owner, true)) != NULL) {
			od->nodes += a->nodes;
			od->memory += a->memory;
		}
	}
	if (e->jr)
		txn_journal(e, t);
	pin_adopted(e, t);
	node_unref(e->root);
	e->root = node_ref(t->root);
	/* Its events become the store's, to fire after the reply. */
	events_drop(e);
	free(e->ev);
	e->ev = t->ev;
	e->nev = t->nev;
	e->evcap = t->evcap;
	t->ev = NULL;
	t->nev = t->evcap = 0;
	return 0;
}

/* Whether one of the transaction's changes was an RM. */
static bool
txn_removed(const struct txn *t)
{
	size_t i;

	for (i = 0; i < t->nops; i++)
		if (t->ops[i].type == XS_RM)
			return true;
	return false;
}

int
txn_end(struct engine *e, struct txn *t, bool commit)
{
	/*
	 * The store before this commit (replaying copies it anyway), for the
	 * events of nodes made and removed inside the transaction: only one
	 * that removed something can have any.
	 */
	bool removed;
	struct node *before;
	uint64_t gen = 0;
	int r = 0;

	if (t->aborted) {
		/* It kept too much (pin.c): nothing of it is left to commit. */
		txn_unlink(t->c, t);
		free(t);
		return commit ? EAGAIN : 0;
	}
	removed = commit && txn_removed(t);
	before = removed ? node_ref(e->root) : NULL;
	txn_unlink(t->c, t);
	if (commit && t->nops > 0 && e->root == t->base &&
	    (r = txn_adopt(e, t)) >= 0) {
		/* adopted, or refused over the node quota */
	} else if (commit && t->nops > 0) {
		r = 0;
		if (e->root != t->base && !txn_valid(e, t, &gen)) {
			e->nconflicts++;
			conflict_failed(e, t, gen);
			r = EAGAIN;
		} else {
			r = txn_replay(e, t);
		}
	} else if (commit && e->root != t->base && !txn_valid(e, t, &gen)) {
		/* Read-only, but what it read changed under it. */
		e->nconflicts++;
		conflict_failed(e, t, gen);
		r = EAGAIN;
	}
	conflict_txn_end(e, t, commit ? r : -1);
	if (r == 0 && commit) {
		if (removed)
			events_drop_transient(e, before);
		events_coalesce(e);
		events_fire(e);
	} else {
		events_drop(e);
	}
	node_unref(before);
	pin_txn_end(e, t);
	/*
	 * What it read and wrote is freed once the reply is out (engine_idle),
	 * not before: a big transaction's books take a while to free. Its
	 * trees go now, or the store's next change would have to copy.
	 */
	node_unref(t->base);
	node_unref(t->root);
	t->base = t->root = NULL;
	if (e->defer_free) {
		t->next = e->dead_txns;
		e->dead_txns = t;
	} else {
		txn_free(t);
	}
	return r;
}

void
txn_abort_kept(struct engine *e, struct txn *t)
{
	pin_txn_end(e, t);
	conflict_txn_end(e, t, -1);
	txn_release(t);
	t->aborted = true;
}

void
txn_abort_all(struct engine *e, struct conn *c)
{
	while (c->txns)
		txn_end(e, c->txns, false);
}
