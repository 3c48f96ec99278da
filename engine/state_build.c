// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restoring a snapshot's nodes without a lookup from the root for each
 * (state_read.c's NODE_DATA records; state_nodes.c has its own walk).
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state_int.h"
#include "store.h"
#include "xs_proto.h"

/*
 * Restoring a snapshot goes node after node in pre-order: the parent of
 * each is on the path of the one before, kept here as a stack, so a node
 * is added without looking its path up from the root (a million nodes
 * restore in a fraction of the time). Anything else takes the general way.
 */
struct builder {
	struct engine *e; /* NULL: not restoring a snapshot */
	unsigned int depth;
	struct node *stack[TREE_MAX_DEPTH + 1];
	size_t plen[TREE_MAX_DEPTH + 1]; /* of the path of stack[i] */
	char path[XS_ABS_PATH_MAX_BUF];  /* of stack[depth] */
};
static struct builder bld;

/* The engine the builder is restoring into, or NULL. */
struct engine *
builder_engine(void)
{
	return bld.e;
}

/* The builder's own stack back to the root, which may have been replaced. */
void
builder_rewind(struct engine *e)
{
	bld.e = e;
	bld.depth = 0;
	bld.stack[0] = e ? e->root : NULL;
	bld.plen[0] = 1;
	snprintf(bld.path, sizeof(bld.path), "/");
}

void
builder_reset(struct engine *e)
{
	builder_rewind(e);
	state_nodes_reset(e);
}

/* After the general way: the stack follows the node it just made. */
void
builder_follow(const char *path)
{
	struct tree_path tp;
	struct node *n;
	unsigned int i;
	long idx;

	builder_reset(bld.e);
	if (tree_path_split(&tp, path) == -1)
		return;
	n = bld.e->root;
	for (i = 0; i < tp.depth; i++) {
		idx = node_child_find(n, tp.comp[i], tp.clen[i]);
		if (idx < 0) {
			builder_reset(bld.e);
			break;
		}
		n = n->child[idx];
		bld.stack[i + 1] = n;
		bld.plen[i + 1] = (size_t)(tp.comp[i] + tp.clen[i] - path);
		bld.depth = i + 1;
	}
	tree_path_done(&tp);
	if (bld.depth > 0)
		snprintf(bld.path, sizeof(bld.path), "%s", path);
}

/* 1: added; 0: take the general way; -1: out of memory. */
int
builder_add(struct engine *e, const char *path, const struct perm *perms,
	    unsigned int np, const void *value, size_t vlen)
{
	const char *slash = strrchr(path, '/');
	size_t pl = slash == path ? 1 : (size_t)(slash - path);
	struct node *parent = NULL, *n;
	unsigned int k;
	long pos;

	if (bld.e != e || path[1] == '\0')
		return 0;
	for (k = bld.depth + 1; k-- > 0;)
		if (bld.plen[k] == pl && memcmp(bld.path, path, pl) == 0) {
			parent = bld.stack[k];
			break;
		}
	if (parent == NULL || parent->ref != 1)
		return 0;
	pos = node_child_find(parent, slash + 1, strlen(slash + 1));
	if (pos >= 0)
		return 0; /* there already: changed the general way */
	n = node_new(slash + 1, strlen(slash + 1), perms, np, value, vlen,
		     ++e->gen);
	if (n == NULL || node_insert_child(parent, -pos - 1, n) == -1) {
		node_unref(n);
		return -1;
	}
	parent->cgen = e->gen;
	domain_account_node(e, perms[0].id, n, +1);
	bld.depth = k + 1;
	bld.stack[bld.depth] = n;
	bld.plen[bld.depth] = strlen(path);
	memcpy(bld.path, path, bld.plen[bld.depth] + 1);
	return 1;
}

/*
 * An entry that was not stale meant the domain the store knew then, and
 * the node is made after this: the domain must be known before it, as
 * SET_PERMS makes sure, or its entries would look older than the domain
 * and grant nothing. A journal records a domain when it is introduced or
 * released, not when a node first names it; a dump file need not list
 * every domain its nodes name. A reserved id is no domain's (stale entries
 * restored by earlier engines have one): no record is made for it.
 */
int
state_domain_named(struct engine *e, uint32_t domid)
{
	if (domid >= XS_DOMID_FIRST_RESERVED)
		return 0;
	return domain_get(e, domid, true) ? 0 : -1;
}
