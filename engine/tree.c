// SPDX-License-Identifier: GPL-2.0-only
/* Persistent tree of nodes: lookup, copy-on-write paths, iterative walks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "tree.h"
#include "xs_proto.h"

/* A path deeper than the inline arrays: counted first, then split. */
static int
split_deep(struct tree_path *tp, const char *path)
{
	const char *p = path + 1, *s;
	unsigned int n = 0;

	for (s = path + 1; *s; s++)
		n += *s == '/';
	n += path[1] != '\0';
	/* Even when it fails, tree_path_done() may be called. */
	tp->comp = tp->icomp;
	tp->clen = tp->iclen;
	tp->depth = 0;
	if (n > TREE_MAX_DEPTH)
		return -1;
	if (n > TREE_INLINE_DEPTH) {
		tp->comp = malloc(n * sizeof(*tp->comp));
		tp->clen = malloc(n * sizeof(*tp->clen));
		if (tp->comp == NULL || tp->clen == NULL) {
			free(tp->comp);
			free(tp->clen);
			tp->comp = tp->icomp;
			tp->clen = tp->iclen;
			return -1;
		}
	}
	while (*p) {
		s = strchr(p, '/');
		if (s == NULL)
			s = p + strlen(p);
		tp->comp[tp->depth] = p;
		tp->clen[tp->depth] = (uint16_t)(s - p);
		tp->depth++;
		p = *s ? s + 1 : s;
	}
	return 0;
}

int
tree_path_split(struct tree_path *tp, const char *path)
{
	const char *p = path + 1, *s;
	unsigned int n = 0;

	/* Even when it fails, tree_path_done() may be called. */
	tp->comp = tp->icomp;
	tp->clen = tp->iclen;
	tp->depth = 0;
	/* Most paths fit the inline arrays: no need to count first. */
	while (*p) {
		if (n == TREE_INLINE_DEPTH)
			return split_deep(tp, path);
		s = strchrnul(p, '/');
		tp->comp[n] = p;
		tp->clen[n] = (uint16_t)(s - p);
		n++;
		p = *s ? s + 1 : s;
	}
	tp->depth = n;
	return 0;
}

void
tree_path_done(struct tree_path *tp)
{
	if (tp->comp != tp->icomp) {
		free(tp->comp);
		free(tp->clen);
		tp->comp = tp->icomp;
		tp->clen = tp->iclen;
	}
}

void
tree_path_one(struct tree_path *tp, const char *name, size_t len)
{
	tp->comp = tp->icomp;
	tp->clen = tp->iclen;
	tp->depth = 1;
	tp->comp[0] = name;
	tp->clen[0] = (uint16_t)len;
}

static size_t retired_bytes;

size_t
tree_retired_bytes(void)
{
	return retired_bytes;
}

void
node_retire(struct node *n)
{
	if (!n->retired) {
		n->retired = 1;
		retired_bytes += node_size(n);
	}
}

void
node_unretire(struct node *n)
{
	if (n->retired) {
		n->retired = 0;
		retired_bytes -= node_size(n);
	}
}

/*
 * Slots a child array holds for n children: powers of two from 4 to 64,
 * then steps of an eighth of the highest power of two in n. A directory of
 * 10,000 children holds 10,240 slots, not 16,384: ~5 bytes a child less,
 * for a realloc every eighth of growth instead of every doubling.
 */
static uint32_t
child_cap(uint32_t n)
{
	uint32_t c = 4, step;

	if (n == 0)
		return 0;
	while (c < n && c < 64)
		c *= 2;
	if (c >= n)
		return c;
	step = (UINT32_C(1) << (31 - __builtin_clz(n))) / 8;
	return (n + step - 1) & ~(step - 1);
}

struct node *
node_new(const char *name, size_t namelen, const struct perm *p,
	 unsigned int nperm, const void *data, size_t datalen, uint64_t gen)
{
	struct node *n =
		malloc(sizeof(*n) + nperm * sizeof(*p) + namelen + datalen + 2);
	char *nm;

	if (n == NULL)
		return NULL;
	n->ref = 1;
	n->retired = 0;
	n->nchild = 0;
	n->child = NULL;
	n->namelen = (uint16_t)namelen;
	n->nperm = (uint16_t)nperm;
	n->datalen = (uint32_t)datalen;
	n->gen = n->cgen = gen;
	memcpy(n->perm, p, nperm * sizeof(*p));
	nm = node_name(n);
	memcpy(nm, name, namelen);
	nm[namelen] = '\0';
	if (datalen)
		memcpy(node_data(n), data, datalen);
	node_data(n)[datalen] = '\0';
	return n;
}

/* A copy of o's child array, each child gaining a reference. */
static int
children_share(struct node *n, const struct node *o)
{
	uint32_t i;

	if (o->nchild == 0)
		return 0;
	n->child = malloc(child_cap(o->nchild) * sizeof(*n->child));
	if (n->child == NULL)
		return -1;
	memcpy(n->child, o->child, o->nchild * sizeof(*n->child));
	for (i = 0; i < o->nchild; i++)
		o->child[i]->ref++;
	n->nchild = o->nchild;
	return 0;
}

/* A shallow copy: same children (each gains a reference), own arrays. */
static struct node *
node_clone(const struct node *o)
{
	struct node *n = node_new(node_name(o), o->namelen, o->perm, o->nperm,
				  node_data(o), o->datalen, o->gen);

	if (n == NULL)
		return NULL;
	n->cgen = o->cgen;
	if (children_share(n, o) == -1) {
		free(n);
		return NULL;
	}
	return n;
}

void
node_unref(struct node *n)
{
	/* An explicit stack: a guest controls how deep the tree is. */
	size_t cap = 64, top = 0;
	struct node **stack, *cur, *c;
	uint32_t i;

	if (n == NULL || --n->ref > 0)
		return;
	stack = malloc(cap * sizeof(*stack));
	if (stack == NULL)
		abort();
	stack[top++] = n;
	while (top > 0) {
		cur = stack[--top];
		for (i = 0; i < cur->nchild; i++) {
			c = cur->child[i];
			if (--c->ref > 0)
				continue;
			if (grow_array(&stack, &cap, top + 1, sizeof(*stack),
				       64) == -1)
				abort();
			stack[top++] = c;
		}
		node_unretire(cur);
		free(cur->child);
		free(cur);
	}
	free(stack);
}

long
node_child_find(const struct node *n, const char *name, size_t len)
{
	long lo = 0, hi = (long)n->nchild - 1, mid;
	const struct node *c;
	int r;

	while (lo <= hi) {
		mid = lo + (hi - lo) / 2;
		c = n->child[mid];
		r = memcmp(node_name(c), name,
			   len < c->namelen ? len : c->namelen);
		if (r == 0)
			r = (c->namelen > len) - (c->namelen < len);
		if (r == 0)
			return mid;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -lo - 1;
}

const struct node *
tree_lookup_idx(const struct node *root, const struct tree_path *tp,
		const struct node **deepest, unsigned int *depth, uint32_t *idx)
{
	const struct node *n = root;
	unsigned int i;
	long at;

	for (i = 0; i < tp->depth; i++) {
		at = node_child_find(n, tp->comp[i], tp->clen[i]);
		if (at < 0) {
			if (idx)
				idx[i] = (uint32_t)(-at - 1);
			if (deepest)
				*deepest = n;
			if (depth)
				*depth = i;
			return NULL;
		}
		if (idx)
			idx[i] = (uint32_t)at;
		n = n->child[at];
	}
	if (deepest)
		*deepest = n;
	if (depth)
		*depth = tp->depth;
	return n;
}

const struct node *
tree_lookup_deepest(const struct node *root, const struct tree_path *tp,
		    const struct node **deepest, unsigned int *depth)
{
	return tree_lookup_idx(root, tp, deepest, depth, NULL);
}

const struct node *
tree_lookup(const struct node *root, const struct tree_path *tp)
{
	return tree_lookup_deepest(root, tp, NULL, NULL);
}

static int
make_unique(struct node **slot)
{
	struct node *n = *slot, *c;

	if (n->ref == 1)
		return 0;
	c = node_clone(n);
	if (c == NULL)
		return -1;
	n->ref--;
	*slot = c;
	return 0;
}

int
tree_mut_path(struct node **rootp, const struct tree_path *tp,
	      struct node ***slots)
{
	struct node **slot = rootp;
	unsigned int i;
	long idx;

	slots[0] = rootp;
	for (i = 0;; i++) {
		if (make_unique(slot) == -1)
			return -1;
		if (i == tp->depth)
			return (int)i;
		idx = node_child_find(*slot, tp->comp[i], tp->clen[i]);
		if (idx < 0)
			return (int)i;
		slot = &(*slot)->child[idx];
		slots[i + 1] = slot;
	}
}

int
tree_mut_path_idx(struct node **rootp, const uint32_t *idx, unsigned int k,
		  struct node ***slots)
{
	struct node **slot = rootp;
	unsigned int i;

	slots[0] = rootp;
	for (i = 0;; i++) {
		if (make_unique(slot) == -1)
			return -1;
		if (i == k)
			return (int)i;
		/* A copy keeps its children in order: the index still holds. */
		slot = &(*slot)->child[idx[i]];
		slots[i + 1] = slot;
	}
}

int
node_set(struct node **slot, const void *data, size_t datalen,
	 const struct perm *p, unsigned int nperm, uint64_t gen)
{
	struct node *o = *slot, *n;

	n = node_new(node_name(o), o->namelen, p, nperm, data, datalen, gen);
	if (n == NULL)
		return -1;
	n->cgen = o->cgen;
	if (o->ref == 1) {
		/* Nobody else sees o: its children simply move over. */
		n->child = o->child;
		n->nchild = o->nchild;
		node_unretire(o);
		free(o);
	} else {
		if (children_share(n, o) == -1) {
			free(n);
			return -1;
		}
		o->ref--;
	}
	*slot = n;
	return 0;
}

int
node_insert_child(struct node *parent, long pos, struct node *child)
{
	uint32_t ncap = child_cap(parent->nchild + 1);

	/* The array holds child_cap(nchild) at least: grow at the steps. */
	if (ncap != child_cap(parent->nchild)) {
		struct node **nc =
			realloc(parent->child, ncap * sizeof(*parent->child));

		if (nc == NULL)
			return -1;
		parent->child = nc;
	}
	memmove(&parent->child[pos + 1], &parent->child[pos],
		(parent->nchild - (size_t)pos) * sizeof(*parent->child));
	parent->child[pos] = child;
	parent->nchild++;
	return 0;
}

struct node *
node_remove_child(struct node *parent, long idx)
{
	struct node *c = parent->child[idx];

	memmove(&parent->child[idx], &parent->child[idx + 1],
		(parent->nchild - (size_t)idx - 1) * sizeof(*parent->child));
	parent->nchild--;
	return c;
}

size_t
node_size(const struct node *n)
{
	/*
	 * Its own pointer in its parent's children, not its children's
	 * pointers: what a node costs depends only on itself, so a parent is
	 * charged the same whether it got its children before or after it
	 * was last accounted, and a restored store (children appended after
	 * their parent) is charged what the store it came from was.
	 */
	return sizeof(*n) + n->namelen + n->datalen +
	       n->nperm * sizeof(struct perm) + sizeof(struct node *);
}

struct walk_frame {
	const struct node *n;
	uint32_t next;  /* next child to visit */
	size_t pathlen; /* length of the path up to and including n */
};

int
tree_walk(const struct node *top, const char *toppath, tree_walk_fn fn,
	  void *arg)
{
	size_t cap = 64, sp = 0, plen = strlen(toppath);
	size_t pcap = plen + 256;
	struct walk_frame *st = malloc(cap * sizeof(*st));
	char *path = malloc(pcap);
	int ret = 0;

	if (st == NULL || path == NULL) {
		free(st);
		free(path);
		return -ENOMEM;
	}
	memcpy(path, toppath, plen + 1);
	ret = fn(top, path, plen, arg);
	if (ret != 0) {
		ret = ret > 0 ? 0 : ret;
		goto out;
	}
	st[sp++] = (struct walk_frame){top, 0, plen};
	while (sp > 0) {
		struct walk_frame *f = &st[sp - 1];
		const struct node *c;
		size_t base, nl;

		if (f->next == f->n->nchild) {
			sp--;
			continue;
		}
		c = f->n->child[f->next++];
		base = f->pathlen;
		/* The root's path is "/": children append without a slash. */
		if (base == 1 && path[0] == '/')
			base = 0;
		nl = base + 1 + c->namelen;
		if (grow_array(&path, &pcap, nl + 1, 1, 256) == -1) {
			ret = -ENOMEM;
			goto out;
		}
		path[base] = '/';
		memcpy(path + base + 1, node_name(c), c->namelen + 1);
		ret = fn(c, path, nl, arg);
		if (ret < 0)
			goto out;
		if (ret > 0 || c->nchild == 0) {
			ret = 0;
			continue;
		}
		if (grow_array(&st, &cap, sp + 1, sizeof(*st), 64) == -1) {
			ret = -ENOMEM;
			goto out;
		}
		st[sp++] = (struct walk_frame){c, 0, nl};
	}
out:
	free(st);
	free(path);
	return ret;
}
