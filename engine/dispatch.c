// SPDX-License-Identifier: GPL-2.0-only
/*
 * The request table: one row per message type with its handler and what
 * it needs (privilege, a transaction, write access). Handlers return 0 with
 * a reply in r->out (empty means "OK") or an errno value sent as ERROR.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "journal.h"
#include "store.h"
#include "xs_args.h"

#define F_PRIV 1u   /* dom0 only */
#define F_NOTID 2u  /* the tx_id is ignored */
#define F_MODIFY 4u /* refused on the read-only socket */
#define F_TXN 8u    /* recorded in the transaction's write log */

struct wire_op {
	int (*fn)(struct req *r);
	unsigned int flags;
};

/* The error names clients know (xs_wire.h's xsd_errors, in its order). */
static const struct {
	int num;
	const char *name;
} errs[] = {
	{EINVAL, "EINVAL"}, {EACCES, "EACCES"},   {EEXIST, "EEXIST"},
	{EISDIR, "EISDIR"}, {ENOENT, "ENOENT"},   {ENOMEM, "ENOMEM"},
	{ENOSPC, "ENOSPC"}, {EIO, "EIO"},         {ENOTEMPTY, "ENOTEMPTY"},
	{ENOSYS, "ENOSYS"}, {EROFS, "EROFS"},     {EBUSY, "EBUSY"},
	{EAGAIN, "EAGAIN"}, {EISCONN, "EISCONN"}, {E2BIG, "E2BIG"},
	{EPERM, "EPERM"},
};

static const char *
errname(int err)
{
	size_t i;

	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		if (errs[i].num == err)
			return errs[i].name;
	/* Anything else is reported the way C xenstored does: EINVAL. */
	return "EINVAL";
}

int
reply_str(struct req *r, const char *s)
{
	size_t l = strlen(s) + 1;

	if (l > XS_PAYLOAD_MAX)
		return E2BIG;
	memcpy(r->out, s, l);
	r->outlen = l;
	return 0;
}

void
reply_send(struct req *r)
{
	if (r->outlen == 0)
		reply_str(r, "OK");
	r->e->emit(r->e->cb_arg, r->c->id, r->type, r->req_id, r->tx_id, r->out,
		   r->outlen);
	r->replied = true;
}

const char *
onearg(struct req *r)
{
	if (r->len == 0 || r->payload[r->len - 1] != '\0' ||
	    strlen(r->payload) + 1 != r->len)
		return NULL;
	return r->payload;
}

static void
ctx(struct req *r, struct opctx *x)
{
	opctx_init(x, r->e, r->c, r->t);
}

static int
canon(struct req *r, const char *in, char *out)
{
	bool rel;

	return path_canonical(r->e, r->c, in, out, &rel);
}

static int
do_read(struct req *r)
{
	const char *a = onearg(r);
	char path[PATH_BUF];
	const struct node *n;
	struct opctx x;
	int err;

	if (a == NULL || (err = canon(r, a, path)) != 0)
		return EINVAL;
	ctx(r, &x);
	err = op_get(&x, path, PERM_READ, &n);
	if (err)
		return err;
	memcpy(r->out, node_data(n), n->datalen);
	r->outlen = n->datalen;
	r->replied = false;
	if (r->outlen == 0) {
		/* An empty value is an empty reply, not "OK". */
		r->e->emit(r->e->cb_arg, r->c->id, r->type, r->req_id, r->tx_id,
			   "", 0);
		r->replied = true;
	}
	return 0;
}

/* The context of a request that changes the store. */
static void
mctx(struct req *r, struct opctx *x)
{
	ctx(r, x);
	if (r->t)
		txn_events_enter(r->e, r->t);
}

static int
modify_done(struct req *r, const struct opctx *x, int err, const char *path,
	    const void *data, size_t len)
{
	if (r->t)
		txn_events_leave(r->e, r->t, err == 0);
	if (err == 0)
		conflict_note_write(r->e, r->c, x->gen);
	if (err == 0 && r->t)
		err = txn_log_op(r->e, r->t, r->type, path, data, len, x->gen);
	if (r->t == NULL) {
		if (err == 0)
			events_fire(r->e);
		else
			events_drop(r->e);
	}
	return err;
}

static int
do_write(struct req *r)
{
	const char *p = r->payload;
	size_t plen = r->len ? strnlen(p, r->len) : 0;
	char path[PATH_BUF];
	struct opctx x;
	int err;

	if (plen == r->len || (err = canon(r, p, path)) != 0)
		return EINVAL;
	mctx(r, &x);
	err = op_write(&x, path, p + plen + 1, r->len - plen - 1, false);
	return modify_done(r, &x, err, path, p + plen + 1, r->len - plen - 1);
}

static int
do_mkdir(struct req *r)
{
	const char *a = onearg(r);
	char path[PATH_BUF];
	struct opctx x;
	int err;

	if (a == NULL || (err = canon(r, a, path)) != 0)
		return EINVAL;
	mctx(r, &x);
	err = op_write(&x, path, "", 0, true);
	return modify_done(r, &x, err, path, "", 0);
}

static int
do_rm(struct req *r)
{
	const char *a = onearg(r);
	char path[PATH_BUF];
	struct opctx x;
	int err;

	if (a == NULL || (err = canon(r, a, path)) != 0)
		return EINVAL;
	mctx(r, &x);
	err = op_rm(&x, path);
	return modify_done(r, &x, err, path, "", 0);
}

static int
do_directory(struct req *r)
{
	const char *a = onearg(r);
	char path[PATH_BUF];
	const struct node *n;
	struct opctx x;
	size_t off = 0;
	uint32_t i;
	int err;

	if (a == NULL || (err = canon(r, a, path)) != 0)
		return EINVAL;
	ctx(r, &x);
	if ((err = op_directory(&x, path, &n)) != 0)
		return err;
	for (i = 0; i < n->nchild; i++) {
		const struct node *c = n->child[i];

		node_child_prefetch(n, i);
		if (off + c->namelen + 1 > XS_PAYLOAD_MAX)
			return E2BIG;
		memcpy(r->out + off, node_name(c), c->namelen + 1u);
		off += c->namelen + 1u;
	}
	r->outlen = off;
	if (off == 0) {
		r->e->emit(r->e->cb_arg, r->c->id, r->type, r->req_id, r->tx_id,
			   "", 0);
		r->replied = true;
	}
	return 0;
}

static int
do_directory_part(struct req *r)
{
	char path[PATH_BUF], *end;
	const struct node *n;
	struct opctx x;
	unsigned long off;
	size_t pos = 0, len = 0, glen;
	uint32_t i;
	int err;

	if (r->argc != 2 || (err = canon(r, r->argv[0], path)) != 0)
		return EINVAL;
	errno = 0;
	off = strtoul(r->argv[1], &end, 10);
	if (r->argv[1][0] == '\0' || *end || errno)
		return EINVAL;
	ctx(r, &x);
	if ((err = op_directory(&x, path, &n)) != 0)
		return err;
	glen = (size_t)snprintf(r->out, sizeof(r->out), "%" PRIu64, n->cgen) +
	       1;
	/* Children from byte 'off' of the whole list, as many as fit. */
	i = 0;
	if (r->e->dirpart.n == n && r->e->dirpart.cgen == n->cgen &&
	    r->e->dirpart.off == off && r->e->dirpart.i < n->nchild &&
	    n->child[r->e->dirpart.i] == r->e->dirpart.child) {
		i = r->e->dirpart.i;
		pos = off;
	}
	for (; i < n->nchild; i++) {
		const struct node *c = n->child[i];
		size_t cl = c->namelen + 1u;

		node_child_prefetch(n, i);
		if (pos + cl <= off) {
			pos += cl;
			continue;
		}
		if (pos < off)
			return EINVAL; /* not at a name's start */
		if (glen + len + cl + 1 > XS_PAYLOAD_MAX)
			break;
		memcpy(r->out + glen + len, node_name(c), cl);
		len += cl;
		pos += cl;
	}
	r->outlen = glen + len;
	/* An empty name marks the end of the list. */
	if (i == n->nchild)
		r->out[r->outlen++] = '\0';
	else
		r->e->dirpart =
			(struct dirpart_hint){n, n->cgen, pos, i, n->child[i]};
	return 0;
}

static int
do_get_perms(struct req *r)
{
	const char *a = onearg(r);
	char path[PATH_BUF];
	const struct node *n;
	struct opctx x;
	int err;

	if (a == NULL)
		return EINVAL;
	if (a[0] == '@') {
		struct tree_path tp;

		tree_path_one(&tp, a, strlen(a));
		n = tree_lookup(r->e->special, &tp);
		if (n == NULL)
			return ENOENT;
		if (!(perm_for_conn(r->e, r->c, n) & PERM_READ))
			return EACCES;
	} else {
		if ((err = canon(r, a, path)) != 0)
			return EINVAL;
		ctx(r, &x);
		if ((err = op_get(&x, path, PERM_READ, &n)) != 0)
			return err;
	}
	r->outlen = perms_format(n, r->out, sizeof(r->out));
	return 0;
}

static int
do_set_perms(struct req *r)
{
	const char *p = r->payload;
	size_t plen = r->len ? strnlen(p, r->len) : 0;
	struct perm perms[1024];
	char path[PATH_BUF];
	struct opctx x;
	int n, i, err;

	if (plen == r->len)
		return EINVAL;
	n = perms_parse(p + plen + 1, r->len - plen - 1, perms, 1024);
	if (n <= 0)
		return EINVAL;
	if (p[0] == '@') {
		/* Who may watch @introduceDomain/@releaseDomain. */
		struct node **slots[2];
		struct tree_path tp;

		tree_path_one(&tp, p, plen);
		if (tree_lookup(r->e->special, &tp) == NULL)
			return ENOENT;
		if (!r->c->priv)
			return EACCES;
		if (tree_mut_path(&r->e->special, &tp, slots) != 1 ||
		    node_set(slots[1], "", 0, perms, (unsigned int)n,
			     ++r->e->gen))
			return ENOMEM;
		journal_special(r->e, *slots[1]);
		return 0;
	}
	if ((err = canon(r, p, path)) != 0)
		return EINVAL;
	/* A node's owner must exist: ask the hypervisor if need be. */
	if ((err = domain_check_exists(r->e, perms[0].id)) != 0)
		return err;
	/*
	 * Every domain named must be known before this write's generation
	 * is taken, or its entry would look older than the domain. A record
	 * lasts: only for a request that may go on, so that requests refused
	 * for their permissions or quota leave none behind.
	 */
	ctx(r, &x);
	if ((err = op_may_set_perms(&x, path, (unsigned int)n)) != 0)
		return err;
	if ((err = domain_mark_unknown(r->e, perms, (unsigned int)n)) != 0)
		return err;
	for (i = 0; i < n; i++)
		if (!(perms[i].mode & PERM_STALE) &&
		    domain_get(r->e, perms[i].id, true) == NULL)
			return ENOMEM;
	mctx(r, &x);
	err = op_set_perms(&x, path, perms, (unsigned int)n);
	return modify_done(r, &x, err, path, perms, (size_t)n);
}

static int
watch_args(struct req *r, char *path, bool *rel, int *depth)
{
	const char *w;
	char *end;
	long d;

	if (r->argc < 2 || r->argc > 3)
		return EINVAL;
	w = r->argv[0];
	*depth = -1;
	if (r->argc == 3 && r->argv[2][0] != '\0') {
		errno = 0;
		d = strtol(r->argv[2], &end, 10);
		if (*end || errno || d < 0 || d > 65535)
			return EINVAL;
		*depth = (int)d;
	}
	if (w[0] == '@') {
		/* Special watches: any name; only two ever fire. */
		if (strlen(w) > XS_REL_PATH_MAX)
			return EINVAL;
		strcpy(path, w);
		*rel = false;
		return 0;
	}
	return path_canonical(r->e, r->c, w, path, rel) ? EINVAL : 0;
}

static int
do_watch(struct req *r)
{
	char path[PATH_BUF];
	bool rel;
	int depth, err;
	size_t pl, tl;

	if ((err = watch_args(r, path, &rel, &depth)) != 0)
		return err;
	pl = strlen(r->argv[0]) + 1;
	tl = strlen(r->argv[1]) + 1;
	/* As its events name it: relative for a relative watch. */
	if (strlen(rel ? path_relative(r->c, path) : path) + 1 + tl >
	    XS_PAYLOAD_MAX)
		return E2BIG;
	err = watch_add(r->e, r->c, path, r->argv[1], rel, depth);
	if (err)
		return err;
	journal_watch(r->e, r->c->id, r->argv[0], r->argv[1], depth);
	reply_send(r);
	/* The first event comes at once, with the path as given. */
	memcpy(r->out, r->argv[0], pl);
	memcpy(r->out + pl, r->argv[1], tl);
	r->e->emit(r->e->cb_arg, r->c->id, XS_WATCH_EVENT, 0, 0, r->out,
		   pl + tl);
	return 0;
}

static int
do_unwatch(struct req *r)
{
	char path[PATH_BUF];
	bool rel;
	int depth, err;

	if ((err = watch_args(r, path, &rel, &depth)) != 0)
		return err;
	if ((err = watch_del(r->e, r->c, path, r->argv[1])) == 0)
		journal_unwatch(r->e, r->c->id, r->argv[0], r->argv[1]);
	return err;
}

static int
do_reset_watches(struct req *r)
{
	watch_del_all(r->e, r->c);
	journal_unwatch(r->e, r->c->id, NULL, NULL);
	txn_abort_all(r->e, r->c);
	r->t = NULL; /* sent with the tx_id of one it just ended */
	return 0;
}

static int
do_transaction_start(struct req *r)
{
	struct txn *t;
	char buf[16];
	int err = 0;

	if (r->t)
		return EBUSY;
	t = txn_start(r->e, r->c, &err);
	if (t == NULL)
		return err;
	snprintf(buf, sizeof(buf), "%u", t->id);
	return reply_str(r, buf);
}

static int
do_transaction_end(struct req *r)
{
	const char *a = onearg(r);
	struct txn *t = r->t;
	bool commit;

	if (a == NULL || (strcmp(a, "T") != 0 && strcmp(a, "F") != 0))
		return EINVAL;
	if (t == NULL)
		return ENOENT;
	commit = a[0] == 'T';
	r->t = NULL;
	return txn_end(r->e, t, commit);
}

/*
 * Only WATCH and UNWATCH ignore the tx_id, as in C xenstored: any other
 * request whose tx_id names no transaction of the connection is refused,
 * even one that does nothing inside a transaction.
 */
static const struct wire_op wire_ops[XS_TYPE_COUNT] = {
	[XS_CONTROL] = {do_control, F_PRIV | F_MODIFY},
	[XS_DIRECTORY] = {do_directory, 0},
	[XS_READ] = {do_read, 0},
	[XS_GET_PERMS] = {do_get_perms, 0},
	[XS_WATCH] = {do_watch, F_NOTID},
	[XS_UNWATCH] = {do_unwatch, F_NOTID},
	[XS_TRANSACTION_START] = {do_transaction_start, 0},
	[XS_TRANSACTION_END] = {do_transaction_end, 0},
	[XS_INTRODUCE] = {do_introduce, F_PRIV | F_MODIFY},
	[XS_RELEASE] = {do_release, F_PRIV | F_MODIFY},
	[XS_GET_DOMAIN_PATH] = {do_get_domain_path, 0},
	[XS_WRITE] = {do_write, F_MODIFY | F_TXN},
	[XS_MKDIR] = {do_mkdir, F_MODIFY | F_TXN},
	[XS_RM] = {do_rm, F_MODIFY | F_TXN},
	[XS_SET_PERMS] = {do_set_perms, F_MODIFY | F_TXN},
	[XS_IS_DOMAIN_INTRODUCED] = {do_is_domain_introduced, F_PRIV},
	[XS_RESUME] = {do_resume, F_PRIV | F_MODIFY},
	[XS_SET_TARGET] = {do_set_target, F_PRIV | F_MODIFY},
	[XS_RESET_WATCHES] = {do_reset_watches, 0},
	[XS_DIRECTORY_PART] = {do_directory_part, 0},
	[XS_GET_FEATURE] = {do_get_feature, F_PRIV},
	[XS_SET_FEATURE] = {do_set_feature, F_PRIV | F_MODIFY},
	[XS_GET_QUOTA] = {do_get_quota, F_PRIV},
	[XS_SET_QUOTA] = {do_set_quota, F_PRIV | F_MODIFY},
};

static void
split_args(struct req *r)
{
	r->argc = xs_args_split(r->payload, r->len, r->argv, MAX_ARGS);
}

/*
 * A change to the committed store: one outside a transaction, or a
 * commit. What a transaction does before its commit breaks nobody's.
 */
static bool
is_change(const struct wire_op *op, const struct req *r)
{
	if (r->type == XS_TRANSACTION_END)
		return r->t != NULL && r->len > 0 && r->payload[0] == 'T';
	return (op->flags & F_TXN) && r->t == NULL;
}

/* A request's state: the spare one, unless a request is being run. */
static struct req *
req_get(struct engine *e)
{
	struct req *r = e->req_spare;

	if (r == NULL)
		return malloc(sizeof(*r));
	e->req_spare = NULL;
	return r;
}

static void
req_put(struct engine *e, struct req *r)
{
	if (e->req_spare == NULL)
		e->req_spare = r;
	else
		free(r);
}

int
request_dispatch(struct engine *e, struct conn *c, uint32_t type,
		 uint32_t req_id, uint32_t tx_id, const void *payload,
		 size_t len)
{
	struct req *r;
	const struct wire_op *op = NULL;
	int err;

	if (payload == NULL)
		payload = ""; /* an empty payload may come without a buffer */
	r = req_get(e);
	if (r == NULL) {
		static const char nomem[] = "ENOMEM";

		e->emit(e->cb_arg, c->id, XS_ERROR, req_id, tx_id, nomem,
			sizeof(nomem));
		return 0;
	}
	r->e = e;
	r->c = c;
	r->t = NULL;
	r->type = type;
	r->req_id = req_id;
	r->tx_id = tx_id;
	r->payload = payload;
	r->len = len;
	r->outlen = 0;
	r->replied = false;
	split_args(r);

	if (type < XS_TYPE_COUNT)
		op = &wire_ops[type];
	if (e->logging)
		elog(e, LOG_LVL_INFO, "conn %u: %s (%zu bytes)", c->id,
		     xs_type_name(type) ? xs_type_name(type) : "unknown type",
		     len);
	if (op == NULL || op->fn == NULL) {
		err = ENOSYS;
		goto error;
	}
	if ((op->flags & F_PRIV) && !c->priv) {
		err = EACCES;
		goto error;
	}
	if ((op->flags & F_MODIFY) && c->ro) {
		err = EROFS;
		goto error;
	}
	if (!(op->flags & F_NOTID) && tx_id != 0) {
		r->t = txn_find(c, tx_id);
		if (r->t == NULL) {
			/* It ended with the engine that held it: retry. */
			err = tx_id < c->txid_base ? EAGAIN : ENOENT;
			goto error;
		}
		/* Aborted for what it kept (pin.c): only its end is left. */
		if (r->t->aborted && type != XS_TRANSACTION_END) {
			err = EAGAIN;
			goto error;
		}
		/* Refused before it changes the transaction's tree. */
		if ((op->flags & F_TXN) &&
		    (err = txn_log_room(e, c, r->t, len)) != 0)
			goto error;
	}
	if (is_change(op, r) && conflict_hold(e, c)) {
		/* Nothing was changed or sent: it runs again once paid. */
		req_put(e, r);
		return EHOLD;
	}
	err = op->fn(r);
	if (err == EPARK) {
		/* Nothing was changed or sent: it runs again once answered. */
		req_put(e, r);
		return EPARK;
	}
	if (err)
		goto error;
	if (!r->replied)
		reply_send(r);
	req_put(e, r);
	return 0;
error : {
	const char *n = errname(err);

	if (e->verbose || e->logging)
		elog(e, LOG_LVL_DEBUG, "conn %u: %s failed: %s", c->id,
		     xs_type_name(type) ? xs_type_name(type) : "unknown", n);
	e->emit(e->cb_arg, c->id, XS_ERROR, req_id, tx_id, n, strlen(n) + 1);
}
	req_put(e, r);
	return 0;
}
