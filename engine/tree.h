/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The store's tree: immutable, reference-counted nodes with structural
 * sharing. A version of the whole tree is just a root pointer, so a
 * transaction's snapshot costs one reference. Changing a node copies the
 * path from the root down to it, except where a node is referenced once
 * (nobody else can see it), which is changed in place.
 *
 * Nothing here recurses over the tree: its depth is guest controlled.
 */
#ifndef TREE_H
#define TREE_H

#include <stddef.h>
#include <stdint.h>

#define PERM_READ 1u
#define PERM_WRITE 2u
#define PERM_OWNER 4u
/*
 * In an entry: it was meant for an earlier domain with its id, and grants
 * nothing in any later version of its node either (perms.c).
 */
#define PERM_STALE 8u

/* Domain ids are 16 bits: the pair fits in 4 bytes, a million nodes count. */
struct perm {
	uint16_t id;
	uint16_t mode; /* PERM_READ | PERM_WRITE, PERM_STALE */
};

/*
 * One allocation: this header, the permissions, the NUL-terminated name,
 * then the data (NUL-terminated too, for convenience). Capacity of the
 * child array is implied by nchild (node_child_cap()).
 */
struct node {
	uint32_t ref : 31;
	/* It left the committed tree, and lives on for snapshots (pin.c). */
	uint32_t retired : 1;
	uint32_t nchild;
	uint32_t datalen;
	uint16_t namelen;
	uint16_t nperm;
	uint64_t gen;        /* changes when data or permissions change */
	uint64_t cgen;       /* changes when a child is added or removed */
	struct node **child; /* sorted by name */
	struct perm perm[];  /* perm[0] is the owner and the default */
};

static inline char *
node_name(const struct node *n)
{
	return (char *)(n->perm + n->nperm);
}

static inline char *
node_data(const struct node *n)
{
	return node_name(n) + n->namelen + 1;
}

/*
 * A path split into components; "/" has none. Most paths are shallow: their
 * components fit in the struct, deeper ones get arrays of their own.
 */
#define TREE_MAX_DEPTH 2048
#define TREE_INLINE_DEPTH 24
struct tree_path {
	unsigned int depth;
	const char **comp;
	uint16_t *clen;
	const char *icomp[TREE_INLINE_DEPTH];
	uint16_t iclen[TREE_INLINE_DEPTH];
};

/* Splits a canonical absolute path. Returns 0, or -1 if too deep or out of
 * memory. Release with tree_path_done(). */
int tree_path_split(struct tree_path *tp, const char *path);
void tree_path_done(struct tree_path *tp);
/* A one-component path (for the table of special nodes). */
void tree_path_one(struct tree_path *tp, const char *name, size_t len);

struct node *node_new(const char *name, size_t namelen, const struct perm *p,
		      unsigned int nperm, const void *data, size_t datalen,
		      uint64_t gen);
static inline struct node *
node_ref(struct node *n)
{
	n->ref++;
	return n;
}
/*
 * Walks over children read each child's header and name, and in a big store
 * each is a cache miss of its own: asking for the one a few places ahead
 * lets those misses overlap (a 10k-child listing at 1M nodes is mostly that).
 */
#define NODE_PREFETCH_AHEAD 8
static inline void
node_child_prefetch(const struct node *n, uint32_t i)
{
	if (i + NODE_PREFETCH_AHEAD < n->nchild)
		__builtin_prefetch(n->child[i + NODE_PREFETCH_AHEAD]);
}
/* Drops a reference and frees what nobody else holds, without recursion. */
void node_unref(struct node *n);

/*
 * Bytes of the retired nodes that are alive: what snapshots of the tree
 * alone keep. Counted at retiring, uncounted when freed; one store per
 * process.
 */
size_t tree_retired_bytes(void);
/* Marks a node retired (counts it once); unretiring takes that back. */
void node_retire(struct node *n);
void node_unretire(struct node *n);

/* Index of the child called name, or -(insert position) - 1. */
long node_child_find(const struct node *n, const char *name, size_t len);

const struct node *tree_lookup(const struct node *root,
			       const struct tree_path *tp);
/*
 * Looks a path up and also returns its deepest existing ancestor-or-self
 * (*deepest) and how many components of tp exist (*depth).
 */
const struct node *tree_lookup_deepest(const struct node *root,
				       const struct tree_path *tp,
				       const struct node **deepest,
				       unsigned int *depth);

/*
 * tree_lookup_deepest that also records where each component was found:
 * idx[i] is the index of component i in its parent for the *depth that
 * exist, and, when one is missing, idx[*depth] is where it would go. idx
 * holds tp->depth entries (or is NULL).
 */
const struct node *tree_lookup_idx(const struct node *root,
				   const struct tree_path *tp,
				   const struct node **deepest,
				   unsigned int *depth, uint32_t *idx);

/*
 * Makes every existing node along tp uniquely referenced (copying shared
 * ones) and stores the slots holding them in slots[0..k], slots[0] being
 * rootp. Returns k, the number of components that exist, or -1 when out of
 * memory (the tree is then still valid and unchanged in content).
 */
int tree_mut_path(struct node **rootp, const struct tree_path *tp,
		  struct node ***slots);

/*
 * tree_mut_path for the k first components, following the indices that
 * tree_lookup_idx just recorded on the same, unchanged tree instead of
 * searching each parent again. Returns k, or -1 when out of memory.
 */
int tree_mut_path_idx(struct node **rootp, const uint32_t *idx, unsigned int k,
		      struct node ***slots);

/*
 * Replaces the node in *slot by one with new data and permissions and the
 * same children; the old node is freed unless someone else holds it.
 */
int node_set(struct node **slot, const void *data, size_t datalen,
	     const struct perm *p, unsigned int nperm, uint64_t gen);

/* Inserts child into a uniquely referenced parent, at the given index. */
int node_insert_child(struct node *parent, long pos, struct node *child);
/* Removes (and returns, still referenced) child idx of a unique parent. */
struct node *node_remove_child(struct node *parent, long idx);

/* Bytes a node costs, as accounted against a domain's memory quota. */
size_t node_size(const struct node *n);

/*
 * Iterative pre-order walk of a subtree. The callback gets each node and
 * its absolute path; it returns 0 to go on, TREE_WALK_SKIP to leave out the
 * node's children, or a negative value to stop (which is returned). The
 * path buffer is the walker's own.
 */
#define TREE_WALK_SKIP 1
typedef int (*tree_walk_fn)(const struct node *n, const char *path,
			    size_t pathlen, void *arg);
int tree_walk(const struct node *top, const char *toppath, tree_walk_fn fn,
	      void *arg);

#endif
