// SPDX-License-Identifier: GPL-2.0-only
/*
 * The store as C xenstored 4.17's lu_read_state() reads it, for a broker
 * that hands the host back to that daemon: preamble version 1 (4.17
 * accepts no other), then the special nodes' NODE_DATA, every watch's
 * WATCH_DATA, every node's NODE_DATA in pre-order, END. The broker writes
 * the preamble and GLOBAL_DATA and CONNECTION_DATA of its own and splices
 * in what lies between this preamble and END (broker/handover_check.c):
 * 4.17 needs a watch's connection before the watch, and nothing else in
 * this order; nodes come last as 4.17 writes them, each after its parent
 * (4.17 exits on a node whose parent it has not read), siblings in the
 * tree's byte order, which the broker's check holds them to.
 *
 * What does not carry over, as 4.17's records have no room for it:
 * - quotas, global and per-domain (4.17 takes its own from its command
 *   line), and the GET/SET_FEATURE features (GLOBAL_QUOTA_DATA,
 *   DOMAIN_DATA);
 * - socket_ro connections: a socket in CONNECTION_DATA is a read-write
 *   one to 4.17, so the broker must not hand them over; their watches are
 *   left out here;
 * - open transactions: 4.17 ignores TRANSACTION_DATA, a client's next
 *   request in one fails;
 * - a watch's depth (WATCH_DATA_EXTENDED): the watch fires for its whole
 *   subtree again, events a client must already take as spurious;
 * - replies the engine kept for requests the broker would send again.
 * The broker must also know that 4.17 exits on a node whose owner is
 * neither a connected domain nor one the hypervisor knows: owners are
 * checked against live domains before the handover, not here.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state_int.h"
#include "store.h"

/* A node's record, built where state_rec_node_put() builds it. */
static int
put_node(struct engine *e, const struct node *n, const char *path, size_t plen,
	 state_out_fn out, void *arg)
{
	size_t len = state_rec_node_len(n, plen);
	uint8_t *b = malloc(len);
	uint32_t rlen;
	int r;

	if (b == NULL)
		return -ENOMEM;
	state_rec_node_put(e, path, plen, n, b);
	/* 4.17 steps to the next record by the length alone: padding in. */
	rlen = (uint32_t)(len - 8);
	memcpy(b + 4, &rlen, 4);
	r = out(arg, b, len);
	free(b);
	return r;
}

struct c417 {
	struct engine *e;
	state_out_fn out;
	void *arg;
};

static int
walk_node(const struct node *n, const char *path, size_t plen, void *arg)
{
	struct c417 *w = arg;

	return put_node(w->e, n, path, plen, w->out, w->arg) ? -EIO : 0;
}

/* 4.17 knows these two, and exits on any other @ name. */
static int
put_specials(struct engine *e, state_out_fn out, void *arg)
{
	static const char *const names[] = {"@releaseDomain",
					    "@introduceDomain"};
	size_t i, k;
	int r = 0;

	for (k = 0; r == 0 && k < 2; k++)
		for (i = 0; r == 0 && i < e->special->nchild; i++) {
			const struct node *n = e->special->child[i];

			if (strcmp(node_name(n), names[k]) == 0)
				r = put_node(e, n, names[k], n->namelen, out,
					     arg);
		}
	return r;
}

int
state_dump_c417(struct engine *e, state_out_fn out, void *arg)
{
	static const uint8_t end[8] = {REC_END};
	struct c417 w = {e, out, arg};
	uint64_t ident = htobe64(ST_IDENT);
	uint32_t ver[2] = {htobe32(1), htobe32(BYTE_ORDER == BIG_ENDIAN)};
	size_t it = 0;
	void *v;
	int r;

	if ((r = out(arg, &ident, 8)) != 0 || (r = out(arg, ver, 8)) != 0 ||
	    (r = put_specials(e, out, arg)) != 0)
		return r;
	while (hmap_next(&e->conns, &it, NULL, NULL, &v)) {
		struct conn *c = v;

		if (!c->ro && (r = watch_dump(e, c, false, out, arg)) != 0)
			return r;
	}
	if ((r = tree_walk(e->root, "/", walk_node, &w)) != 0)
		return r;
	return out(arg, end, sizeof(end));
}

/* The stream's bytes, gathered so that a big store is few writes. */
struct stream_out {
	int fd;
	size_t len;
	uint8_t buf[65536];
};

static int
stream_flush(struct stream_out *o)
{
	size_t off = 0;
	ssize_t n;

	while (off < o->len) {
		n = write(o->fd, o->buf + off, o->len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		off += (size_t)n;
	}
	o->len = 0;
	return 0;
}

static int
stream_put(void *arg, const void *buf, size_t len)
{
	struct stream_out *o = arg;
	const uint8_t *p = buf;
	size_t k;

	while (len > 0) {
		if (o->len == sizeof(o->buf) && stream_flush(o) != 0)
			return -EIO;
		k = sizeof(o->buf) - o->len;
		k = k < len ? k : len;
		memcpy(o->buf + o->len, p, k);
		o->len += k;
		p += k;
		len -= k;
	}
	return 0;
}

/* What a one-shot mode writes to its fd: through one buffer, flushed. */
static int
dump_to_fd(struct engine *e, int fd, bool whole)
{
	static struct stream_out o;
	int r;

	o.fd = fd;
	o.len = 0;
	r = whole ? state_dump(e, stream_put, &o, true)
		  : state_dump_c417(e, stream_put, &o);
	return r != 0 ? r : stream_flush(&o);
}

int
state_dump_c417_fd(struct engine *e, int fd)
{
	return dump_to_fd(e, fd, false);
}

/* The whole store, as the engine's snapshots hold it, into fd. */
int
state_dump_fd(struct engine *e, int fd)
{
	return dump_to_fd(e, fd, true);
}
