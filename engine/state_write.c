// SPDX-License-Identifier: GPL-2.0-only
/*
 * Writing the migration stream: a big-endian header ("xenstore", version,
 * flags) then records of <type, len, body, padding to 8 octets> in host byte
 * order (flags says which). Records that others depend on come first: quotas,
 * domains, connections, watches, then nodes in pre-order so that every
 * node's parent precedes it. Transactions are not carried: they end with
 * the engine that held them.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "state_int.h"
#include "store.h"
#include "xs_proto.h"

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
	if (grow_room(&r->b, &r->cap, r->len, n, 1, 256) == -1) {
		r->oom = 1;
		return;
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

		if ((ret = watch_dump(e, c, true, out, arg)) != 0)
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
