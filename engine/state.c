// SPDX-License-Identifier: GPL-2.0-only
/*
 * The migration stream: a big-endian header ("xenstore", version, flags)
 * then records of <type, len, body, padding to 8 octets> in host byte order
 * (flags says which). Records that others depend on come first: quotas,
 * domains, connections, watches, then nodes in pre-order so that every
 * node's parent precedes it. Transactions are not carried: they end with
 * the engine that held them.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "store.h"
#include "xs_proto.h"

#define ST_IDENT 0x78656e73746f7265ull /* "xenstore" */
#define ST_VERSION 2u

enum {
	REC_END = 0,
	REC_GLOBAL_DATA = 1,
	REC_CONNECTION_DATA = 2,
	REC_WATCH_DATA = 3,
	REC_TRANSACTION_DATA = 4,
	REC_NODE_DATA = 5,
	REC_GLOBAL_QUOTA_DATA = 6,
	REC_DOMAIN_DATA = 7,
	REC_WATCH_DATA_EXTENDED = 8,
	/*
	 * The engine's own, in its snapshots and journal only (state_dump
	 * with exact set): what a restart needs beyond the migration stream.
	 */
	REC_X_CONN = 0x5801,       /* open a connection, or set its flags */
	REC_X_CONN_CLOSE = 0x5802, /* a connection is gone */
	REC_X_DOMAIN = 0x5803,     /* a domain's state */
	REC_X_QUOTA = 0x5804,      /* every global quota */
	REC_X_DELETE = 0x5805,     /* a node and all below it are gone */
	REC_X_UNWATCH = 0x5806,    /* a watch is gone (no path: all) */
	REC_X_SPECIAL = 0x5807,    /* permissions of an @ node */
	REC_X_REPLY = 0x5808,      /* the answer to a request */
	/* REC_X_NODES (0x5809, state.h): nodes in a compact form */
};

#define XCONN_PRIV 1u
#define XCONN_RO 2u
#define XDOM_INTRODUCED 1u
#define XDOM_TARGET 2u
#define XDOM_RELEASED 4u

#define CONN_RING 0u
#define CONN_SOCKET 1u
#define DOMID_INVALID 0x7ff4u
#define PERM_FLAG_STALE 0x01u

/* A record being built. */
struct rec {
	uint8_t *b;
	size_t len, cap;
	int oom;
};

static void
put(struct rec *r, const void *p, size_t n)
{
	if (r->oom)
		return;
	if (r->len + n > r->cap) {
		size_t ncap = r->cap ? r->cap : 256;
		uint8_t *nb;

		while (ncap < r->len + n)
			ncap *= 2;
		if ((nb = realloc(r->b, ncap)) == NULL) {
			r->oom = 1;
			return;
		}
		r->b = nb;
		r->cap = ncap;
	}
	memcpy(r->b + r->len, p, n);
	r->len += n;
}

static void
put16(struct rec *r, uint16_t v)
{
	put(r, &v, 2);
}

static void
put32(struct rec *r, uint32_t v)
{
	put(r, &v, 4);
}

/* Emits the record in r as one of the given type, padded. */
static int
emit_rec(state_out_fn out, void *arg, uint32_t type, struct rec *r)
{
	static const uint8_t zero[8];
	uint32_t hdr[2] = {type, (uint32_t)r->len};
	size_t pad = (8 - (r->len & 7)) & 7;
	int ret;

	if (r->oom)
		return -ENOMEM;
	ret = out(arg, hdr, sizeof(hdr));
	if (ret == 0 && r->len)
		ret = out(arg, r->b, r->len);
	if (ret == 0 && pad)
		ret = out(arg, zero, pad);
	r->len = 0;
	return ret;
}

static void
put_quota_names(struct rec *r, const int *ids, int n)
{
	int i;

	for (i = 0; i < n; i++)
		put(r, quota_defs[ids[i]].name,
		    strlen(quota_defs[ids[i]].name) + 1);
}

/* Quotas a domain has, by their GET_QUOTA names. */
static int
named_quotas(int *ids)
{
	int i, n = 0;

	for (i = 0; i < Q_COUNT; i++)
		if (quota_defs[i].name)
			ids[n++] = i;
	return n;
}

struct dump {
	struct engine *e;
	state_out_fn out;
	void *arg;
	struct rec r;
};

static int
dump_node(const struct node *n, const char *path, size_t plen, void *arg)
{
	struct dump *d = arg;
	unsigned int i;

	put32(&d->r, 0); /* conn-id: committed */
	put32(&d->r, 0); /* tx-id */
	put16(&d->r, (uint16_t)(plen + 1));
	put16(&d->r, (uint16_t)n->datalen);
	put16(&d->r, 0); /* access */
	put16(&d->r, n->nperm);
	for (i = 0; i < n->nperm; i++) {
		uint8_t pm[2] = {(uint8_t)perm_mode_char(n->perm[i].mode), 0};

		/* An entry older than its domain grants nothing (XSA-322). */
		if (perm_entry_stale(d->e, n, &n->perm[i]))
			pm[1] = PERM_FLAG_STALE;
		put(&d->r, pm, 2);
		put16(&d->r, (uint16_t)n->perm[i].id);
	}
	put(&d->r, path, plen + 1);
	put(&d->r, node_data(n), n->datalen);
	return emit_rec(d->out, d->arg, REC_NODE_DATA, &d->r) ? -EIO : 0;
}

/* Scratch for the one-record writers: the engine is single-threaded. */
static struct rec scratch;

static void
put64(struct rec *r, uint64_t v)
{
	put(r, &v, 8);
}

static size_t
node_body_len(const struct node *n, size_t plen)
{
	return 16 + 4u * n->nperm + plen + 1 + n->datalen;
}

size_t
state_rec_node_len(const struct node *n, size_t plen)
{
	return 8 + ((node_body_len(n, plen) + 7) & ~(size_t)7);
}

/*
 * The record dump_node() makes, built in place: a journal of thousands of
 * nodes (a big transaction's) costs one copy of each path and data.
 */
void
state_rec_node_put(struct engine *e, const char *path, size_t plen,
		   const struct node *n, uint8_t *b)
{
	/* type, length; conn-id and tx-id 0: committed */
	uint32_t w[4] = {REC_NODE_DATA, (uint32_t)node_body_len(n, plen), 0, 0};
	/* path and data lengths, access, number of permissions */
	uint16_t h[4] = {(uint16_t)(plen + 1), (uint16_t)n->datalen, 0,
			 n->nperm};
	uint8_t *p = b + sizeof(w) + sizeof(h);
	unsigned int i;

	memcpy(b, w, sizeof(w));
	memcpy(b + sizeof(w), h, sizeof(h));
	for (i = 0; i < n->nperm; i++, p += 4) {
		uint16_t id = n->perm[i].id;

		p[0] = (uint8_t)perm_mode_char(n->perm[i].mode);
		/* An entry older than its domain grants nothing (XSA-322). */
		p[1] = perm_entry_stale(e, n, &n->perm[i]) ? PERM_FLAG_STALE
							   : 0;
		memcpy(p + 2, &id, 2);
	}
	memcpy(p, path, plen + 1);
	p += plen + 1;
	memcpy(p, node_data(n), n->datalen);
	p += n->datalen;
	memset(p, 0, (size_t)(b + state_rec_node_len(n, plen) - p));
}

int
state_rec_delete(const char *path, state_out_fn out, void *arg)
{
	put(&scratch, path, strlen(path) + 1);
	return emit_rec(out, arg, REC_X_DELETE, &scratch);
}

int
state_rec_conn(const struct conn *c, state_out_fn out, void *arg)
{
	put32(&scratch, c->id);
	put16(&scratch, (uint16_t)c->domid);
	put16(&scratch,
	      (uint16_t)((c->priv ? XCONN_PRIV : 0) | (c->ro ? XCONN_RO : 0)));
	return emit_rec(out, arg, REC_X_CONN, &scratch);
}

int
state_rec_conn_close(uint32_t cid, state_out_fn out, void *arg)
{
	put32(&scratch, cid);
	return emit_rec(out, arg, REC_X_CONN_CLOSE, &scratch);
}

int
state_rec_watch(uint32_t cid, const char *path, const char *token, int depth,
		state_out_fn out, void *arg)
{
	put32(&scratch, cid);
	put16(&scratch, (uint16_t)(strlen(path) + 1));
	put16(&scratch, (uint16_t)(strlen(token) + 1));
	put16(&scratch, depth < 0 ? 0xffff : (uint16_t)depth);
	put16(&scratch, 0);
	put(&scratch, path, strlen(path) + 1);
	put(&scratch, token, strlen(token) + 1);
	return emit_rec(out, arg, REC_WATCH_DATA_EXTENDED, &scratch);
}

int
state_rec_unwatch(uint32_t cid, const char *path, const char *token,
		  state_out_fn out, void *arg)
{
	put32(&scratch, cid);
	put16(&scratch, path ? (uint16_t)(strlen(path) + 1) : 0);
	put16(&scratch, path ? (uint16_t)(strlen(token) + 1) : 0);
	if (path) {
		put(&scratch, path, strlen(path) + 1);
		put(&scratch, token, strlen(token) + 1);
	}
	return emit_rec(out, arg, REC_X_UNWATCH, &scratch);
}

int
state_rec_domain(const struct domain *d, bool released, state_out_fn out,
		 void *arg)
{
	int i;

	put16(&scratch, (uint16_t)d->domid);
	put16(&scratch, (uint16_t)((d->introduced ? XDOM_INTRODUCED : 0) |
				   (d->has_target ? XDOM_TARGET : 0) |
				   (released ? XDOM_RELEASED : 0)));
	put32(&scratch, d->target);
	put32(&scratch, d->gfn);
	put32(&scratch, d->port);
	put32(&scratch, d->features);
	put32(&scratch, Q_COUNT);
	for (i = 0; i < Q_COUNT; i++)
		put32(&scratch, d->quota[i]);
	return emit_rec(out, arg, REC_X_DOMAIN, &scratch);
}

int
state_rec_quota(const struct engine *e, state_out_fn out, void *arg)
{
	int i;

	put32(&scratch, Q_COUNT);
	for (i = 0; i < Q_COUNT; i++)
		put32(&scratch, e->quota[i]);
	return emit_rec(out, arg, REC_X_QUOTA, &scratch);
}

int
state_rec_special(struct engine *e, const struct node *n, state_out_fn out,
		  void *arg)
{
	unsigned int i;

	put16(&scratch, n->nperm);
	put16(&scratch, n->namelen);
	for (i = 0; i < n->nperm; i++) {
		put16(&scratch, (uint16_t)(n->perm[i].mode |
					   (perm_entry_stale(e, n, &n->perm[i])
						    ? PERM_STALE
						    : 0)));
		put16(&scratch, n->perm[i].id);
	}
	put(&scratch, node_name(n), n->namelen + 1u);
	return emit_rec(out, arg, REC_X_SPECIAL, &scratch);
}

int
state_rec_reply(uint64_t seq, uint32_t type, const void *payload, size_t len,
		state_out_fn out, void *arg)
{
	put64(&scratch, seq);
	put32(&scratch, type);
	put32(&scratch, (uint32_t)len);
	put(&scratch, payload, len);
	return emit_rec(out, arg, REC_X_REPLY, &scratch);
}

/* What a restart needs beyond the stream: @ nodes, unanswered replies. */
static int
dump_exact(struct engine *e, state_out_fn out, void *arg)
{
	size_t i = 0;
	const char *key;
	void *v;
	int r = 0;

	for (i = 0; r == 0 && i < e->special->nchild; i++)
		r = state_rec_special(e, e->special->child[i], out, arg);
	i = 0;
	while (r == 0 && hmap_next(&e->replies, &i, &key, NULL, &v)) {
		const struct stored_reply *sr = v;
		uint64_t seq;

		memcpy(&seq, key, sizeof(seq));
		r = state_rec_reply(seq, sr->type, sr->data, sr->len, out, arg);
	}
	return r;
}

int
state_dump(struct engine *e, state_out_fn out, void *arg, bool exact)
{
	struct dump d = {e, out, arg, {0}};
	uint64_t ident = htobe64(ST_IDENT);
	uint32_t ver[2] = {htobe32(ST_VERSION),
			   htobe32(BYTE_ORDER == BIG_ENDIAN)};
	int ids[Q_COUNT], nq = named_quotas(ids), i, ret;
	struct domain **doms = NULL;
	size_t it = 0, ndom;
	void *v;

	if ((ret = out(arg, &ident, 8)) != 0 || (ret = out(arg, ver, 8)) != 0)
		return ret;
	/* Global quotas: all apply per domain by default. */
	put16(&d.r, (uint16_t)nq);
	put16(&d.r, 0);
	for (i = 0; i < nq; i++)
		put32(&d.r, e->quota[ids[i]]);
	put_quota_names(&d.r, ids, nq);
	if ((ret = emit_rec(out, arg, REC_GLOBAL_QUOTA_DATA, &d.r)) != 0 ||
	    (exact && (ret = state_rec_quota(e, out, arg)) != 0))
		goto out;
	if ((doms = domain_list(e, &ndom)) == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	for (it = 0; it < ndom; it++) {
		struct domain *dom = doms[it];

		put16(&d.r, (uint16_t)dom->domid);
		put16(&d.r, (uint16_t)nq);
		put32(&d.r, dom->features);
		for (i = 0; i < nq; i++)
			put32(&d.r, dom->quota[ids[i]]);
		put_quota_names(&d.r, ids, nq);
		if ((ret = emit_rec(out, arg, REC_DOMAIN_DATA, &d.r)) != 0 ||
		    (exact &&
		     (ret = state_rec_domain(dom, false, out, arg)) != 0))
			goto out;
	}
	it = 0;
	while (hmap_next(&e->conns, &it, NULL, NULL, &v)) {
		struct conn *c = v;

		put32(&d.r, c->id);
		if (c->priv) {
			put16(&d.r, CONN_SOCKET);
			put16(&d.r, 0);
			put32(&d.r, c->id); /* the broker holds the socket */
			put32(&d.r, 0);
		} else {
			put16(&d.r, CONN_RING);
			put16(&d.r, 0);
			put16(&d.r, (uint16_t)c->domid);
			put16(&d.r, c->dom && c->dom->has_target
					    ? (uint16_t)c->dom->target
					    : DOMID_INVALID);
			put32(&d.r, c->dom ? c->dom->port : 0);
		}
		put16(&d.r, 0); /* in-data-len: the broker holds the bytes */
		put16(&d.r, 0);
		put32(&d.r, 0);
		if ((ret = emit_rec(out, arg, REC_CONNECTION_DATA, &d.r)) !=
			    0 ||
		    (exact && (ret = state_rec_conn(c, out, arg)) != 0))
			goto out;
	}
	it = 0;
	while (hmap_next(&e->conns, &it, NULL, NULL, &v)) {
		struct conn *c = v;

		if ((ret = watch_dump(e, c, out, arg)) != 0)
			goto out;
	}
	/* Our own snapshots take the compact form: half the bytes. */
	ret = exact ? state_nodes_dump(e, out, arg)
		    : tree_walk(e->root, "/", dump_node, &d);
	if (ret == 0 && exact)
		ret = dump_exact(e, out, arg);
	if (ret == 0)
		ret = emit_rec(out, arg, REC_END, &d.r);
out:
	free(doms);
	free(d.r.b);
	return ret;
}

/* Reading: a cursor that never runs past the end. */
struct cur {
	const uint8_t *p;
	size_t left;
};

static int
take(struct cur *c, void *dst, size_t n)
{
	if (c->left < n)
		return -1;
	memcpy(dst, c->p, n);
	c->p += n;
	c->left -= n;
	return 0;
}

static int
take16(struct cur *c, uint16_t *v)
{
	return take(c, v, 2);
}

static int
take32(struct cur *c, uint32_t *v)
{
	return take(c, v, 4);
}

/* A NUL-terminated string of exactly len octets (len includes the NUL). */
static const char *
take_str(struct cur *c, size_t len)
{
	const char *s = (const char *)c->p;

	if (len == 0 || c->left < len || s[len - 1] != '\0' ||
	    strlen(s) != len - 1)
		return NULL;
	c->p += len;
	c->left -= len;
	return s;
}

static int
quotas_from(struct cur *c, unsigned int n, uint32_t *q)
{
	uint32_t vals[64];
	const char *name;
	unsigned int i;
	int k;

	if (n > 64)
		return -1;
	for (i = 0; i < n; i++)
		if (take32(c, &vals[i]))
			return -1;
	for (i = 0; i < n; i++) {
		size_t l = strnlen((const char *)c->p, c->left);

		if ((name = take_str(c, l + 1)) == NULL)
			return -1;
		/* Names we do not know are ignored, as the format says. */
		for (k = 0; k < Q_COUNT; k++)
			if (quota_defs[k].name &&
			    strcmp(quota_defs[k].name, name) == 0)
				q[k] = vals[i];
	}
	return 0;
}

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

/* The builder's own stack back to the root, which may have been replaced. */
static void
builder_rewind(struct engine *e)
{
	bld.e = e;
	bld.depth = 0;
	bld.stack[0] = e ? e->root : NULL;
	bld.plen[0] = 1;
	snprintf(bld.path, sizeof(bld.path), "/");
}

static void
builder_reset(struct engine *e)
{
	builder_rewind(e);
	state_nodes_reset(e);
}

/* After the general way: the stack follows the node it just made. */
static void
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
static int
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

static int
restore_node(struct engine *e, struct cur *c, const char **bad)
{
	static struct conn dom0 = {.priv = true};
	uint32_t cid, tx;
	uint16_t plen, vlen, access, np, i;
	struct perm perms[1024];
	const char *path;
	const uint8_t *value;
	struct opctx x;
	int r;

	if (take32(c, &cid) || take32(c, &tx) || take16(c, &plen) ||
	    take16(c, &vlen) || take16(c, &access) || take16(c, &np)) {
		*bad = "short node record";
		return -1;
	}
	if (cid != 0) {
		*bad = "node of a pending transaction";
		return -1;
	}
	if (np == 0 || np > 1024) {
		*bad = "node without an owner";
		return -1;
	}
	for (i = 0; i < np; i++) {
		uint8_t pm[2];
		uint16_t id;
		int mode;

		if (take(c, pm, 2) || take16(c, &id)) {
			*bad = "short node record";
			return -1;
		}
		if ((mode = perm_mode_of((char)pm[0])) == -1) {
			*bad = "bad permission";
			return -1;
		}
		perms[i].mode = (uint16_t)mode;
		perms[i].id = id;
		/* A stale entry keeps its id, and grants nothing. */
		if (pm[1] & PERM_FLAG_STALE) {
			perms[i].mode |= PERM_STALE;
		} else if (state_domain_named(e, id) == -1) {
			*bad = "out of memory";
			return -1;
		}
	}
	if ((path = take_str(c, plen)) == NULL || c->left < vlen ||
	    !path_chars_ok(path) || strlen(path) > XS_ABS_PATH_MAX) {
		*bad = "bad node path";
		return -1;
	}
	value = c->p;
	c->p += vlen;
	c->left -= vlen;
	if ((r = builder_add(e, path, perms, np, value, vlen)) != 0) {
		if (r < 0)
			*bad = "out of memory";
		return r < 0 ? -1 : 0;
	}
	opctx_init(&x, e, &dom0, NULL);
	x.replay = true;
	if (strcmp(path, "/") != 0) {
		const struct node *n;
		const char *slash = strrchr(path, '/');
		char parent[XS_ABS_PATH_MAX_BUF];

		snprintf(parent, sizeof(parent), "%.*s",
			 slash == path ? 1 : (int)(slash - path), path);
		if (op_get(&x, parent, 0, &n) != 0) {
			*bad = "node before its parent";
			return -1;
		}
		if ((r = op_write(&x, path, value, vlen, false)) != 0) {
			*bad = strerror(r);
			return -1;
		}
	}
	opctx_init(&x, e, &dom0, NULL);
	x.replay = true;
	r = op_set_perms(&x, path, perms, np);
	/* Nobody is told of a restore: the store only comes back. */
	events_drop(e);
	if (r != 0) {
		*bad = strerror(r);
		return -1;
	}
	if (bld.e == e)
		builder_follow(path);
	return 0;
}

static int
restore_watch(struct engine *e, struct cur *c, bool extended, const char **bad)
{
	uint32_t cid;
	uint16_t plen, tlen, depth = 0xffff, pad;
	const char *wpath, *token;
	char canon[XS_ABS_PATH_MAX_BUF];
	struct conn *conn;
	bool rel;

	if (take32(c, &cid) || take16(c, &plen) || take16(c, &tlen) ||
	    (extended && (take16(c, &depth) || take16(c, &pad))) ||
	    (wpath = take_str(c, plen)) == NULL ||
	    (token = take_str(c, tlen)) == NULL) {
		*bad = "bad watch record";
		return -1;
	}
	if ((conn = engine_conn(e, cid)) == NULL) {
		*bad = "watch of an unknown connection";
		return -1;
	}
	if (wpath[0] == '@') {
		snprintf(canon, sizeof(canon), "%s", wpath);
		rel = false;
	} else if (path_canonical(e, conn, wpath, canon, &rel) != 0) {
		*bad = "bad watch path";
		return -1;
	}
	if (watch_add(e, conn, canon, token, rel,
		      depth == 0xffff ? -1 : depth) != 0) {
		*bad = "watch not restored";
		return -1;
	}
	return 0;
}

static int
restore_conn(struct engine *e, struct cur *c, const char **bad)
{
	uint32_t cid, spec2, pad32;
	uint16_t type, pad, domid, tdomid = DOMID_INVALID, inl, outr;
	struct domain *d;

	if (take32(c, &cid) || take16(c, &type) || take16(c, &pad)) {
		*bad = "short connection record";
		return -1;
	}
	if (type == CONN_SOCKET) {
		if (take32(c, &spec2) || take32(c, &pad32))
			goto short_rec;
		domid = 0;
	} else if (type == CONN_RING) {
		if (take16(c, &domid) || take16(c, &tdomid) ||
		    take32(c, &spec2))
			goto short_rec;
		if (domid == 0 || domid >= XS_DOMID_FIRST_RESERVED) {
			*bad = "ring of no guest";
			return -1;
		}
	} else {
		*bad = "connection of an unknown type";
		return -1;
	}
	if (take16(c, &inl) || take16(c, &outr) || take32(c, &pad32))
		goto short_rec;
	if (cid == 0 || engine_conn(e, cid) != NULL ||
	    engine_conn_open(e, cid, domid, type == CONN_SOCKET, false)) {
		*bad = "bad connection id";
		return -1;
	}
	if (type == CONN_RING && (d = domain_get(e, domid, true)) != NULL) {
		d->introduced = true;
		d->port = spec2;
		if (tdomid != DOMID_INVALID &&
		    tdomid < XS_DOMID_FIRST_RESERVED) {
			d->target = tdomid;
			d->has_target = true;
		}
	}
	return 0;
short_rec:
	*bad = "short connection record";
	return -1;
}

static int
restore_x_conn(struct engine *e, struct cur *c, const char **bad)
{
	uint32_t cid;
	uint16_t domid, flags;
	struct conn *conn;

	if (take32(c, &cid) || take16(c, &domid) || take16(c, &flags) ||
	    cid == 0 || domid >= XS_DOMID_FIRST_RESERVED) {
		*bad = "bad connection record";
		return -1;
	}
	if ((conn = engine_conn(e, cid)) == NULL) {
		if (engine_conn_open(e, cid, domid, flags & XCONN_PRIV,
				     flags & XCONN_RO) == 0)
			return 0;
		*bad = "connection not restored";
		return -1;
	}
	conn->priv = flags & XCONN_PRIV;
	conn->ro = flags & XCONN_RO;
	if (conn->domid != domid) {
		if (conn->nwatch || conn->ntxn ||
		    (conn->dom = domain_get(e, domid, true)) == NULL) {
			*bad = "connection changes domain";
			return -1;
		}
		conn->domid = domid;
	}
	return 0;
}

static int
restore_x_domain(struct engine *e, struct cur *c, const char **bad)
{
	uint16_t id, flags;
	uint32_t target, gfn, port, feat, nq, q, i;
	struct domain *d;

	if (take16(c, &id) || take16(c, &flags) || take32(c, &target) ||
	    take32(c, &gfn) || take32(c, &port) || take32(c, &feat) ||
	    take32(c, &nq) || id >= XS_DOMID_FIRST_RESERVED ||
	    target >= XS_DOMID_FIRST_RESERVED || nq != Q_COUNT ||
	    (d = domain_get(e, id, true)) == NULL) {
		*bad = "bad domain state record";
		return -1;
	}
	for (i = 0; i < nq; i++) {
		if (take32(c, &q)) {
			*bad = "bad domain state record";
			return -1;
		}
		d->quota[i] = q;
	}
	d->introduced = flags & XDOM_INTRODUCED;
	d->has_target = flags & XDOM_TARGET;
	d->target = target;
	d->gfn = gfn;
	d->port = port;
	d->features = feat;
	/* As domain_release() does: older entries no longer mean it. */
	if (flags & XDOM_RELEASED)
		d->gen = ++e->gen;
	return 0;
}

static int
restore_x_quota(struct engine *e, struct cur *c, const char **bad)
{
	uint32_t nq, q, i;

	if (take32(c, &nq) || nq != Q_COUNT) {
		*bad = "bad quota state record";
		return -1;
	}
	for (i = 0; i < nq; i++) {
		if (take32(c, &q)) {
			*bad = "bad quota state record";
			return -1;
		}
		/* Domains that follow the default follow it here too. */
		engine_set_quota(e, (enum quota_id)i, q);
	}
	return 0;
}

static int
restore_x_delete(struct engine *e, struct cur *c, const char **bad)
{
	static struct conn dom0 = {.priv = true};
	const char *path = take_str(c, c->left);
	struct opctx x;
	int r;

	if (path == NULL || path[0] != '/' || !path_chars_ok(path) ||
	    strlen(path) > XS_ABS_PATH_MAX) {
		*bad = "bad delete record";
		return -1;
	}
	opctx_init(&x, e, &dom0, NULL);
	x.replay = true;
	/* A transaction may remove what is not there: so may its record. */
	r = op_rm(&x, path);
	events_drop(e);
	if (r != 0 && r != ENOENT) {
		*bad = "node not deleted";
		return -1;
	}
	return 0;
}

static int
restore_x_unwatch(struct engine *e, struct cur *c, const char **bad)
{
	uint32_t cid;
	uint16_t plen, tlen;
	const char *wpath, *token;
	char canon[XS_ABS_PATH_MAX_BUF];
	struct conn *conn;
	bool rel;

	if (take32(c, &cid) || take16(c, &plen) || take16(c, &tlen) ||
	    (conn = engine_conn(e, cid)) == NULL) {
		*bad = "bad unwatch record";
		return -1;
	}
	if (plen == 0) {
		watch_del_all(e, conn);
		return 0;
	}
	if ((wpath = take_str(c, plen)) == NULL ||
	    (token = take_str(c, tlen)) == NULL) {
		*bad = "bad unwatch record";
		return -1;
	}
	if (wpath[0] == '@')
		snprintf(canon, sizeof(canon), "%s", wpath);
	else if (path_canonical(e, conn, wpath, canon, &rel) != 0) {
		*bad = "bad unwatch path";
		return -1;
	}
	if (watch_del(e, conn, canon, token) != 0) {
		*bad = "unwatch of a missing watch";
		return -1;
	}
	return 0;
}

static int
restore_x_special(struct engine *e, struct cur *c, const char **bad)
{
	struct perm perms[1024];
	struct node **slots[2];
	struct tree_path tp;
	uint16_t np, nlen, mode, id, i;
	const char *name;

	if (take16(c, &np) || take16(c, &nlen) || np == 0 || np > 1024) {
		*bad = "bad special node record";
		return -1;
	}
	for (i = 0; i < np; i++) {
		if (take16(c, &mode) || take16(c, &id) ||
		    (mode & ~PERM_STALE) > (PERM_READ | PERM_WRITE)) {
			*bad = "bad special node record";
			return -1;
		}
		perms[i] = (struct perm){id, mode};
		if (!(mode & PERM_STALE) && state_domain_named(e, id) == -1) {
			*bad = "out of memory";
			return -1;
		}
	}
	if ((name = take_str(c, (size_t)nlen + 1)) == NULL || name[0] != '@') {
		*bad = "bad special node record";
		return -1;
	}
	tree_path_one(&tp, name, nlen);
	if (tree_lookup(e->special, &tp) == NULL ||
	    tree_mut_path(&e->special, &tp, slots) != 1 ||
	    node_set(slots[1], "", 0, perms, np, ++e->gen)) {
		*bad = "special node not restored";
		return -1;
	}
	return 0;
}

/*
 * The requests the broker sends again: only their replies are kept. The
 * broker lists them in the order it sends them, by number; a list out of
 * order is searched from end to end.
 */
static const uint64_t *want;
static size_t nwant;
static bool filtering, want_sorted;

void
state_reply_filter(const uint64_t *seqs, size_t n)
{
	size_t i;

	want = seqs;
	nwant = n;
	filtering = seqs != NULL || n > 0;
	want_sorted = true;
	for (i = 1; i < n && want_sorted; i++)
		want_sorted = seqs[i - 1] < seqs[i];
}

static int
seq_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Asked for every group of a journal: no scan of the list each time. */
static bool
wanted(uint64_t seq)
{
	size_t i;

	if (!filtering)
		return true;
	if (want_sorted)
		return bsearch(&seq, want, nwant, sizeof(*want), seq_cmp) !=
		       NULL;
	for (i = 0; i < nwant; i++)
		if (want[i] == seq)
			return true;
	return false;
}

static int
restore_x_reply(struct engine *e, struct cur *c, const char **bad)
{
	uint64_t seq;
	uint32_t type, len;

	if (take(c, &seq, 8) || take32(c, &type) || take32(c, &len) ||
	    len > XS_PAYLOAD_MAX || c->left < len) {
		*bad = "bad reply record";
		return -1;
	}
	if (state_keep_reply(e, seq, type, c->p, len) == -1) {
		*bad = "out of memory";
		return -1;
	}
	return 0;
}

int
state_keep_reply(struct engine *e, uint64_t seq, uint32_t type,
		 const void *payload, size_t len)
{
	struct stored_reply *sr;

	if (!wanted(seq))
		return 0;
	if ((sr = malloc(sizeof(*sr) + len)) == NULL)
		return -1;
	sr->type = type;
	sr->len = (uint32_t)len;
	memcpy(sr->data, payload, len);
	free(hmap_del(&e->replies, &seq, sizeof(seq)));
	if (hmap_put(&e->replies, &seq, sizeof(seq), sr) == -1) {
		free(sr);
		return -1;
	}
	return 0;
}

void
state_apply_done(void)
{
	builder_reset(NULL);
}

int
state_apply(struct engine *e, uint32_t type, const uint8_t *buf, size_t len,
	    const char **bad)
{
	struct cur body = {buf, len};

	if (bld.e != e)
		builder_reset(e);
	/* A node the walk holds may change under any other record. */
	if (type != REC_X_NODES)
		state_nodes_reset(NULL);

	switch (type) {
	case REC_GLOBAL_QUOTA_DATA: {
		uint16_t nd, ng;

		if (take16(&body, &nd) || take16(&body, &ng) ||
		    quotas_from(&body, (unsigned int)nd + ng, e->quota))
			*bad = "bad quota record";
		break;
	}
	case REC_DOMAIN_DATA: {
		uint16_t id, nq;
		uint32_t feat;
		struct domain *d;

		if (take16(&body, &id) || take16(&body, &nq) ||
		    take32(&body, &feat) || id >= XS_DOMID_FIRST_RESERVED ||
		    (d = domain_get(e, id, true)) == NULL ||
		    quotas_from(&body, nq, d->quota))
			*bad = "bad domain record";
		else
			d->features = feat;
		break;
	}
	case REC_CONNECTION_DATA:
		restore_conn(e, &body, bad);
		break;
	case REC_WATCH_DATA:
	case REC_WATCH_DATA_EXTENDED:
		restore_watch(e, &body, type == REC_WATCH_DATA_EXTENDED, bad);
		break;
	case REC_NODE_DATA:
		restore_node(e, &body, bad);
		break;
	case REC_GLOBAL_DATA:
	case REC_TRANSACTION_DATA:
		/* Sockets stay with the broker; transactions end. */
		break;
	case REC_X_CONN:
		restore_x_conn(e, &body, bad);
		break;
	case REC_X_CONN_CLOSE: {
		uint32_t cid;

		if (take32(&body, &cid) || engine_conn(e, cid) == NULL)
			*bad = "close of an unknown connection";
		else
			engine_conn_close(e, cid);
		break;
	}
	case REC_X_DOMAIN:
		restore_x_domain(e, &body, bad);
		break;
	case REC_X_QUOTA:
		restore_x_quota(e, &body, bad);
		break;
	case REC_X_DELETE:
		restore_x_delete(e, &body, bad);
		if (bld.e == e)
			builder_reset(e); /* what it held may be gone */
		break;
	case REC_X_UNWATCH:
		restore_x_unwatch(e, &body, bad);
		break;
	case REC_X_SPECIAL:
		restore_x_special(e, &body, bad);
		break;
	case REC_X_REPLY:
		restore_x_reply(e, &body, bad);
		break;
	case REC_X_NODES:
		state_nodes_apply(e, body.p, body.left, bad);
		/* A node it changed the general way was copied, and what the
		 * builder held may be gone (its own stack goes on). */
		if (bld.e == e)
			builder_rewind(e);
		break;
	default:
		*bad = "record of an unknown type";
		break;
	}
	return *bad ? -1 : 0;
}

struct engine *
state_restore(const uint8_t *buf, size_t len, emit_fn emit, log_fn log,
	      void *cb_arg, char *why, size_t whylen)
{
	struct cur c = {buf, len};
	struct engine *e;
	const char *bad = NULL;
	uint64_t ident;
	uint32_t ver, flags, type, rlen;
	bool ended = false;

	if (take(&c, &ident, 8) || take(&c, &ver, 4) || take(&c, &flags, 4) ||
	    be64toh(ident) != ST_IDENT) {
		snprintf(why, whylen, "not a xenstore migration stream");
		return NULL;
	}
	if (be32toh(ver) < 1 || be32toh(ver) > ST_VERSION ||
	    (be32toh(flags) & 1) != (BYTE_ORDER == BIG_ENDIAN)) {
		snprintf(why, whylen, "unsupported version %u or byte order",
			 be32toh(ver));
		return NULL;
	}
	if ((e = engine_new(emit, log, cb_arg)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	builder_reset(e);
	while (!ended && bad == NULL) {
		struct cur body;
		size_t padded;

		if (take32(&c, &type) || take32(&c, &rlen)) {
			bad = "stream ends without an END record";
			break;
		}
		padded = ((size_t)rlen + 7) & ~(size_t)7;
		if (c.left < padded) {
			bad = "truncated record";
			break;
		}
		body = (struct cur){c.p, rlen};
		c.p += padded;
		c.left -= padded;
		if (type == REC_END)
			ended = true;
		else
			state_apply(e, type, body.p, body.left, &bad);
	}
	builder_reset(NULL);
	if (bad == NULL && c.left != 0)
		bad = "data after the END record";
	if (bad != NULL) {
		snprintf(why, whylen, "%s (at offset %zu)", bad,
			 (size_t)(c.p - buf));
		engine_free(e);
		return NULL;
	}
	events_drop(e);
	return e;
}
