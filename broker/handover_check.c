// SPDX-License-Identifier: GPL-2.0-only
/*
 * The store part of a stream that hands the host back to C xenstored 4.17,
 * as the engine wrote it (xs-engine --write-stream c417), checked before the
 * broker splices it after its own GLOBAL_DATA and CONNECTION_DATA. The
 * engine wrote it from a journal a subverted engine may have crafted, and
 * 4.17's lu_read_state() exits, taking the host's store with it, on much
 * that is wrong: so everything 4.17 reads is held to what 4.17 itself
 * writes. Pure: no allocation, nothing kept.
 */
#include <endian.h>
#include <string.h>

#include "broker.h"
#include "xs_state.h"

/* What the walk of the records knows between two records. */
struct hcheck {
	const char *prev; /* the last node's path, NULL before "/" */
	int nodes;        /* a node came: the @ nodes and watches are over */
};

static uint16_t
get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* A record's content, rounded up to 8, is its length: as 4.17 writes. */
static int
fills(size_t content, size_t rlen)
{
	return ((content + 7) & ~(size_t)7) == rlen;
}

/* A string of len octets with its NUL last and nowhere before. */
static int
c_string(const uint8_t *p, size_t len)
{
	return len > 0 && memchr(p, '\0', len) == p + len - 1;
}

/* An absolute path: no empty component, none ending it but the root's. */
static int
node_path_ok(const char *p, size_t len)
{
	size_t i;

	if (len - 1 > XS_ABS_PATH_MAX || p[0] != '/')
		return 0;
	if (len == 2)
		return 1;
	for (i = 1; i < len - 1; i++)
		if (p[i] == '/' && p[i - 1] == '/')
			return 0;
	return p[len - 2] != '/';
}

/*
 * 4.17 adds a node to the parent it read before (it exits on a parent it
 * has not). A pre-order walk meets a node's parent as the last node or one
 * of its ancestors, and siblings in the tree's byte order: a node after a
 * sibling's subtree must sort above that sibling, so that no path comes
 * twice. All of this needs the last path only.
 */
/* The tree's order of names (engine/tree.c): bytes, then length. */
static int
name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);

	return r != 0 ? r : (alen > blen) - (alen < blen);
}

static const char *
node_order(struct hcheck *h, const char *path)
{
	const char *prev = h->prev, *slash = strrchr(path, '/'), *sib;
	size_t plen = (size_t)(slash - path);

	if (prev == NULL) {
		if (strcmp(path, "/") != 0)
			return "the first node is not /";
		h->prev = path;
		return NULL;
	}
	if (strcmp(path, "/") == 0)
		return "/ comes twice";
	/* The parent ("/" when plen is 0) is the last node or above it. */
	if (plen > 0 && (strncmp(prev, path, plen) != 0 ||
			 (prev[plen] != '\0' && prev[plen] != '/')))
		return "a node before its parent";
	if (prev[plen == 0 ? 1 : plen] != '\0') {
		/* The sibling whose subtree the last node closed. */
		sib = prev + plen + 1;
		if (name_cmp(slash + 1, strlen(slash + 1), sib,
			     strcspn(sib, "/")) <= 0)
			return "nodes out of the tree's order";
	}
	h->prev = path;
	return NULL;
}

static int
special_name(const char *p)
{
	return strcmp(p, "@releaseDomain") == 0 ||
	       strcmp(p, "@introduceDomain") == 0;
}

static const char *
check_node(struct hcheck *h, const uint8_t *b, size_t rlen)
{
	size_t np, plen, dlen, i;
	const char *path;

	if (rlen < 16)
		return "NODE_DATA too short";
	if (get32(b) != 0 || get32(b + 4) != 0)
		return "NODE_DATA of a transaction";
	plen = get16(b + 8);
	dlen = get16(b + 10);
	np = get16(b + 14);
	if (np == 0)
		return "NODE_DATA without an owner";
	if (get16(b + 12) != 0)
		return "NODE_DATA with a transaction's access";
	if (!fills(16 + 4 * np + plen + dlen, rlen))
		return "NODE_DATA's lengths do not fill it";
	for (i = 0; i < np; i++) {
		const uint8_t *pm = b + 16 + 4 * i;

		if (strchr("nrwb", pm[0]) == NULL || pm[0] == '\0' ||
		    (pm[1] & ~NODE_PERM_IGNORE) != 0)
			return "NODE_DATA with a bad permission";
	}
	path = (const char *)b + 16 + 4 * np;
	if (!c_string((const uint8_t *)path, plen))
		return "NODE_DATA's path is not a string";
	if (path[0] == '@') {
		/* 4.17 writes them first, and exits on another @ name. */
		if (!special_name(path) || dlen != 0 || h->nodes)
			return "NODE_DATA of a bad @ node";
		return NULL;
	}
	if (!node_path_ok(path, plen))
		return "NODE_DATA with a bad path";
	h->nodes = 1;
	return node_order(h, path);
}

static const char *
check_watch(struct hcheck *h, const uint8_t *b, size_t rlen,
	    const uint32_t *ids, size_t nid)
{
	size_t plen, tlen, i;
	uint32_t id;

	if (h->nodes)
		return "WATCH_DATA after the nodes";
	if (rlen < 8)
		return "WATCH_DATA too short";
	id = get32(b);
	plen = get16(b + 4);
	tlen = get16(b + 6);
	if (!fills(8 + plen + tlen, rlen))
		return "WATCH_DATA's lengths do not fill it";
	/* 4.17 exits on a watch of a connection it has not restored. */
	for (i = 0; i < nid && ids[i] != id; i++)
		;
	if (i == nid)
		return "WATCH_DATA of an unknown connection";
	if (!c_string(b + 8, plen) || !c_string(b + 8 + plen, tlen))
		return "WATCH_DATA's path or token is not a string";
	/* What a WATCH request could carry. */
	if (plen - 1 > XS_ABS_PATH_MAX || plen + tlen > XS_PAYLOAD_MAX)
		return "WATCH_DATA's path or token too long";
	return NULL;
}

const char *
handover_records_check(const uint8_t *buf, size_t len, const uint32_t *conn_ids,
		       size_t nconn, size_t *body_off, size_t *body_len)
{
	struct hcheck h = {NULL, 0};
	size_t off = 16;
	const char *bad;

	if (len < 16 || memcmp(buf, "xenstore", 8) != 0)
		return "not a xenstore migration stream";
	/* 4.17 reads version 1 only, in its own byte order. */
	if (get32(buf + 8) != htobe32(1) ||
	    get32(buf + 12) != htobe32(BYTE_ORDER == BIG_ENDIAN))
		return "not version 1 in this host's byte order";
	for (;;) {
		uint32_t type, rlen;

		if (len - off < 8)
			return "no END record";
		type = get32(buf + off);
		rlen = get32(buf + off + 4);
		if (rlen > len - off - 8)
			return "a record runs past the end";
		if (type == REC_END) {
			if (rlen != 0 || off + 8 != len)
				return "END is not last, or not empty";
			break;
		}
		if (type == REC_NODE_DATA)
			bad = check_node(&h, buf + off + 8, rlen);
		else if (type == REC_WATCH_DATA)
			bad = check_watch(&h, buf + off + 8, rlen, conn_ids,
					  nconn);
		else
			bad = "a record 4.17 does not take from the engine";
		if (bad != NULL)
			return bad;
		off += 8 + (size_t)rlen;
	}
	if (h.prev == NULL)
		return "no / node";
	*body_off = 16;
	*body_len = off - 16;
	return NULL;
}
