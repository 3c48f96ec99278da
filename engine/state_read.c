// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading a migration stream (Xen's docs/designs/xenstore-migration.md)
 * and the engine's own records: every record checked before it changes
 * anything, a malformed stream refused whole.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state_int.h"
#include "store.h"
#include "xs_proto.h"

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

/* The permissions of @releaseDomain or @introduceDomain, which exist. */
static int
special_set(struct engine *e, const char *name, size_t nlen,
	    const struct perm *perms, uint16_t np, const char **bad)
{
	struct node **slots[2];
	struct tree_path tp;

	tree_path_one(&tp, name, nlen);
	if (tree_lookup(e->special, &tp) == NULL ||
	    tree_mut_path(&e->special, &tp, slots) != 1 ||
	    node_set(slots[1], "", 0, perms, np, ++e->gen)) {
		*bad = "special node not restored";
		return -1;
	}
	return 0;
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
	/* C xenstored writes the special nodes' permissions as nodes. */
	if ((path = take_str(c, plen)) != NULL && path[0] == '@') {
		if (vlen != 0) {
			*bad = "special node with a value";
			return -1;
		}
		return special_set(e, path, strlen(path), perms, np, bad);
	}
	if (path == NULL || c->left < vlen || !path_chars_ok(path) ||
	    strlen(path) > XS_ABS_PATH_MAX) {
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
	if (builder_engine() == e)
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
		if (domid >= XS_DOMID_FIRST_RESERVED) {
			*bad = "ring of no guest";
			return -1;
		}
	} else {
		*bad = "connection of an unknown type";
		return -1;
	}
	if (take16(c, &inl) || take16(c, &outr) || take32(c, &pad32))
		goto short_rec;
	/* dom0's own ring (C xenstored's live update writes it) is as
	 * privileged as its sockets, and dom0 is never introduced. */
	if (cid == 0 || engine_conn(e, cid) != NULL ||
	    engine_conn_open(e, cid, domid, type == CONN_SOCKET || domid == 0,
			     false)) {
		*bad = "bad connection id";
		return -1;
	}
	if (type == CONN_RING && domid != 0 &&
	    (d = domain_get(e, domid, true)) != NULL) {
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
	return special_set(e, name, nlen, perms, np, bad);
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

	if (builder_engine() != e)
		builder_reset(e);
	/* A node the walk holds may change under any other record. */
	if (type != REC_X_NODES)
		state_nodes_reset(NULL);
	e->restoring = true;
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
	case REC_X_LISTEN:
	case REC_X_LU:
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
		if (builder_engine() == e)
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
		if (builder_engine() == e)
			builder_rewind(e);
		break;
	default:
		*bad = "record of an unknown type";
		break;
	}
	e->restoring = false;
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
