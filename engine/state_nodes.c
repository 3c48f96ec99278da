// SPDX-License-Identifier: GPL-2.0-only
/*
 * The nodes of a snapshot in a form of the engine's own (REC_X_NODES),
 * for its state memfds only: dump files keep the migration stream's
 * NODE_DATA. The tree goes in pre-order, each node with its depth and its
 * name, not its path, lengths as varints:
 *
 *   depth, namelen, name, nperm, nperm x (id, mode), datalen, data
 *
 * (mode: PERM_READ | PERM_WRITE, and 4 for an entry older than its
 * domain). A small node takes ~30 bytes instead of ~64, which halves the
 * work of compressing a snapshot, and restores without a path parsed or
 * looked up: its parent is the last node seen one level up. A node that is
 * there already (a new engine's own /local, /tool) is changed the general
 * way. A depth, name or length out of place is refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "store.h"
#include "xs_proto.h"

/* Nodes are sent in records of about this size. */
#define XNODES_CHUNK (64u << 10)
#define XMODE_STALE 4u

struct xout {
	state_out_fn out;
	void *arg;
	uint8_t *b;
	size_t len;
};

static uint8_t *
put_varint(uint8_t *p, uint32_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static int
xflush(struct xout *o)
{
	static const uint8_t zero[8];
	uint32_t hdr[2] = {REC_X_NODES, (uint32_t)o->len};
	size_t pad = (8 - (o->len & 7)) & 7;
	int r;

	if (o->len == 0)
		return 0;
	if ((r = o->out(o->arg, hdr, sizeof(hdr))) != 0 ||
	    (r = o->out(o->arg, o->b, o->len)) != 0 ||
	    (pad && (r = o->out(o->arg, zero, pad)) != 0))
		return r;
	o->len = 0;
	return 0;
}

static int
put_node(struct xout *o, struct engine *e, const struct node *n,
	 unsigned int depth)
{
	/* Five bytes a varint at most, three of them plus one per perm. */
	size_t need = 5 * 4 + n->nperm * 6u + n->namelen + n->datalen;
	uint8_t *p;
	unsigned int i;
	int r;

	if (o->len + need > XNODES_CHUNK && (r = xflush(o)) != 0)
		return r;
	if (need > XNODES_CHUNK) {
		/* Only a huge permission list: a record of its own. */
		uint8_t *nb = realloc(o->b, need);

		if (nb == NULL)
			return -ENOMEM;
		o->b = nb;
	}
	p = o->b + o->len;
	p = put_varint(p, depth);
	p = put_varint(p, n->namelen);
	memcpy(p, node_name(n), n->namelen);
	p += n->namelen;
	p = put_varint(p, n->nperm);
	for (i = 0; i < n->nperm; i++) {
		p = put_varint(p, n->perm[i].id);
		/* An entry older than its domain grants nothing (XSA-322). */
		*p++ = (uint8_t)((n->perm[i].mode & 3) |
				 (perm_entry_stale(e, n, &n->perm[i])
					  ? XMODE_STALE
					  : 0));
	}
	p = put_varint(p, n->datalen);
	memcpy(p, node_data(n), n->datalen);
	p += n->datalen;
	o->len = (size_t)(p - o->b);
	return 0;
}

int
state_nodes_dump(struct engine *e, state_out_fn out, void *arg)
{
	struct frame {
		const struct node *n;
		uint32_t next;
	} *st = malloc((TREE_MAX_DEPTH + 1) * sizeof(*st));
	struct xout o = {out, arg, malloc(XNODES_CHUNK), 0};
	unsigned int sp = 0;
	int r = -ENOMEM;

	/* The depth is the guest's to choose: a stack, not recursion. */
	if (st == NULL || o.b == NULL)
		goto out;
	if ((r = put_node(&o, e, e->root, 0)) != 0)
		goto out;
	st[0] = (struct frame){e->root, 0};
	while (r == 0) {
		struct frame *f = &st[sp];
		const struct node *c;

		if (f->next == f->n->nchild) {
			if (sp-- == 0)
				break;
			continue;
		}
		c = f->n->child[f->next++];
		r = put_node(&o, e, c, sp + 1);
		if (r == 0 && c->nchild > 0 && sp < TREE_MAX_DEPTH)
			st[++sp] = (struct frame){c, 0};
	}
	if (r == 0)
		r = xflush(&o);
out:
	free(o.b);
	free(st);
	return r;
}

/* Restoring: the path from the root to the last node added. */
static struct {
	struct engine *e;
	unsigned int top;
	struct node *stack[TREE_MAX_DEPTH + 1];
	size_t plen[TREE_MAX_DEPTH + 1]; /* "" for the root */
	char path[XS_ABS_PATH_MAX_BUF + 8];
} xin;

void
state_nodes_reset(struct engine *e)
{
	xin.e = e;
	xin.top = 0;
	xin.stack[0] = e ? e->root : NULL;
	xin.plen[0] = 0;
}

struct xcur {
	const uint8_t *p;
	size_t left;
};

static int
get_varint(struct xcur *c, uint32_t *v)
{
	uint32_t x = 0;
	unsigned int shift;

	for (shift = 0; shift < 35; shift += 7) {
		if (c->left == 0)
			return -1;
		c->left--;
		x |= (uint32_t)(*c->p & 0x7f) << shift;
		if ((*c->p++ & 0x80) == 0) {
			*v = x;
			/* The fifth octet has room for four bits only. */
			return shift == 28 && (c->p[-1] & 0x70) ? -1 : 0;
		}
	}
	return -1;
}

static const uint8_t *
get_bytes(struct xcur *c, size_t n)
{
	const uint8_t *p = c->p;

	if (c->left < n)
		return NULL;
	c->p += n;
	c->left -= n;
	return p;
}

/* After a change the general way: the stack follows xin.path again. */
static int
refollow(struct engine *e, unsigned int depth)
{
	unsigned int i;
	size_t from;
	long idx;

	xin.stack[0] = e->root;
	for (i = 1; i <= depth; i++) {
		from = xin.plen[i - 1] + 1;
		idx = node_child_find(xin.stack[i - 1], xin.path + from,
				      xin.plen[i] - from);
		if (idx < 0)
			return -1;
		xin.stack[i] = xin.stack[i - 1]->child[idx];
	}
	xin.top = depth;
	return 0;
}

/* A node that is there already, or under a shared parent. */
static int
set_general(struct engine *e, unsigned int depth, const struct perm *perms,
	    unsigned int np, const uint8_t *data, size_t dlen)
{
	static struct conn dom0 = {.priv = true};
	const char *path = depth ? xin.path : "/";
	struct opctx x;
	int r = 0;

	opctx_init(&x, e, &dom0, NULL);
	x.replay = true;
	if (depth > 0)
		r = op_write(&x, path, data, dlen, false);
	if (r == 0) {
		opctx_init(&x, e, &dom0, NULL);
		x.replay = true;
		r = op_set_perms(&x, path, perms, np);
	}
	/* Nobody is told of a restore: the store only comes back. */
	events_drop(e);
	return r != 0 || refollow(e, depth) != 0 ? -1 : 0;
}

static int
add_node(struct engine *e, struct xcur *c, const char **bad)
{
	struct perm perms[1024];
	uint32_t depth, nlen, np, dlen, id, i;
	const uint8_t *name, *data, *mode;
	struct node *parent, *n;
	size_t base;
	long pos;

	if (get_varint(c, &depth) || get_varint(c, &nlen) ||
	    (name = get_bytes(c, nlen)) == NULL || get_varint(c, &np)) {
		*bad = "short node";
		return -1;
	}
	if (np == 0 || np > 1024) {
		*bad = "node without an owner";
		return -1;
	}
	for (i = 0; i < np; i++) {
		if (get_varint(c, &id) || (mode = get_bytes(c, 1)) == NULL ||
		    id > 0xffff || (*mode & ~(3u | XMODE_STALE))) {
			*bad = "bad permission";
			return -1;
		}
		/* A stale entry keeps its id, and grants nothing. */
		perms[i] = (struct perm){
			(uint16_t)id,
			(uint16_t)((*mode & 3) |
				   (*mode & XMODE_STALE ? PERM_STALE : 0))};
		if (!(*mode & XMODE_STALE) && state_domain_named(e, id) == -1) {
			*bad = "out of memory";
			return -1;
		}
	}
	if (get_varint(c, &dlen) || dlen > 0xffff ||
	    (data = get_bytes(c, dlen)) == NULL) {
		*bad = "short node";
		return -1;
	}
	if (depth == 0) {
		if (nlen != 0 || set_general(e, 0, perms, np, data, 0) != 0) {
			*bad = "bad root node";
			return -1;
		}
		return 0;
	}
	if (depth > xin.top + 1 || depth > TREE_MAX_DEPTH) {
		*bad = "node before its parent";
		return -1;
	}
	base = xin.plen[depth - 1];
	if (nlen == 0 || base + 1 + nlen > XS_ABS_PATH_MAX ||
	    memchr(name, '/', nlen) || memchr(name, '\0', nlen)) {
		*bad = "bad node name";
		return -1;
	}
	xin.path[base] = '/';
	memcpy(xin.path + base + 1, name, nlen);
	xin.path[base + 1 + nlen] = '\0';
	if (!path_chars_ok(xin.path + base)) {
		*bad = "bad node name";
		return -1;
	}
	xin.plen[depth] = base + 1 + nlen;
	parent = xin.stack[depth - 1];
	pos = node_child_find(parent, (const char *)name, nlen);
	if (pos >= 0 || parent->ref != 1) {
		if (set_general(e, depth, perms, np, data, dlen) != 0) {
			*bad = "node not restored";
			return -1;
		}
		return 0;
	}
	n = node_new((const char *)name, nlen, perms, np, data, dlen, ++e->gen);
	if (n == NULL || node_insert_child(parent, -pos - 1, n) == -1) {
		node_unref(n);
		*bad = "out of memory";
		return -1;
	}
	parent->cgen = e->gen;
	domain_account_node(e, perms[0].id, n, +1);
	xin.top = depth;
	xin.stack[depth] = n;
	return 0;
}

int
state_nodes_apply(struct engine *e, const uint8_t *b, size_t len,
		  const char **bad)
{
	struct xcur c = {b, len};

	if (xin.e != e)
		state_nodes_reset(e);
	while (c.left > 0)
		if (add_node(e, &c, bad) == -1)
			return -1;
	return 0;
}
