/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Drives the engine directly, the way the broker would, and captures what
 * it sends back. Tests are tables of (connection, transaction, request,
 * expected reply).
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"
#include "grow.h"
#include "xs_proto.h"

#define H_MAX_OUT 4096

struct h_msg {
	uint32_t conn, type, req_id, tx_id;
	size_t len;
	char payload[XS_PAYLOAD_MAX + 1];
};

struct harness {
	struct engine *e;
	struct h_msg out[H_MAX_OUT];
	size_t nout;
	size_t next; /* first message not yet taken by a test */
	uint32_t req_id;
	char lastlog[1024];
	int nlogs;
	uint32_t tx[16]; /* transaction ids started by table rows */
};

static void
h_emit(void *arg, uint32_t conn, uint32_t type, uint32_t req_id, uint32_t tx_id,
       const void *payload, size_t len)
{
	struct harness *h = arg;
	struct h_msg *m;

	assert_true(h->nout < H_MAX_OUT);
	assert_true(len <= XS_PAYLOAD_MAX);
	m = &h->out[h->nout++];
	m->conn = conn;
	m->type = type;
	m->req_id = req_id;
	m->tx_id = tx_id;
	m->len = len;
	memcpy(m->payload, payload, len);
	m->payload[len] = '\0';
}

static void
h_log(void *arg, int level, const char *text)
{
	struct harness *h = arg;

	snprintf(h->lastlog, sizeof(h->lastlog), "%s", text);
	h->nlogs++;
}

static inline struct harness *
h_new(void)
{
	struct harness *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	h->e = engine_new(h_emit, h_log, h);
	assert_non_null(h->e);
	/* conn 1: dom0's socket; conn 2: read-only socket. */
	assert_int_equal(engine_conn_open(h->e, 1, 0, true, false), 0);
	assert_int_equal(engine_conn_open(h->e, 2, 0, true, true), 0);
	return h;
}

static inline void
h_free(struct harness *h)
{
	engine_free(h->e);
	free(h);
}

/* Opens an unprivileged connection for a domain (as a ring would be). */
static inline void
h_guest(struct harness *h, uint32_t conn, uint32_t domid)
{
	assert_int_equal(engine_conn_open(h->e, conn, domid, false, false), 0);
}

/*
 * Sends a request whose payload is given as a string in which '|' stands
 * for a NUL byte (as in docs/misc/xenstore.txt) and returns the reply.
 */
static inline struct h_msg *
h_req(struct harness *h, uint32_t conn, uint32_t tx, uint32_t type,
      const char *spec)
{
	char buf[XS_PAYLOAD_MAX + 64];
	size_t len = strlen(spec), i;
	struct h_msg *m;
	uint32_t id = ++h->req_id;

	assert_true(len < sizeof(buf));
	for (i = 0; i < len; i++)
		buf[i] = spec[i] == '|' ? '\0' : spec[i];
	engine_request(h->e, conn, type, id, tx, buf, len);
	for (i = h->next; i < h->nout; i++) {
		m = &h->out[i];
		if (m->conn == conn && m->req_id == id &&
		    m->type != XS_WATCH_EVENT)
			return m;
	}
	fail_msg("no reply to request type %u", type);
	return NULL;
}

/* The reply's payload with NULs shown as '|'. */
static inline const char *
h_show(struct h_msg *m)
{
	static char buf[XS_PAYLOAD_MAX + 1];
	size_t i;

	for (i = 0; i < m->len; i++)
		buf[i] = m->payload[i] == '\0' ? '|' : m->payload[i];
	buf[m->len] = '\0';
	return buf;
}

/* Is want an error name such as "ENOENT|" or "E2BIG|"? */
static inline bool
h_is_error(const char *want)
{
	size_t wl = strlen(want);

	return wl >= 3 && want[0] == 'E' &&
	       ((want[1] >= 'A' && want[1] <= 'Z') || want[1] == '2') &&
	       strchr(want, '|') == want + wl - 1 &&
	       strcmp(want, "EXISTS|") != 0;
}

/* Expects "OK|", "ENOENT|" (as an ERROR), or any other payload. */
static inline void
h_expect(struct harness *h, uint32_t conn, uint32_t tx, uint32_t type,
	 const char *spec, const char *want)
{
	struct h_msg *m = h_req(h, conn, tx, type, spec);
	bool err = h_is_error(want);

	if (err && m->type != XS_ERROR)
		fail_msg("type %u '%.120s': wanted error %s, got '%.200s'",
			 type, spec, want, h_show(m));
	if (!err && m->type != type)
		fail_msg("type %u '%.120s': wanted '%.200s', got type %u "
			 "'%.200s'",
			 type, spec, want, m->type, h_show(m));
	if (strcmp(h_show(m), want) != 0)
		fail_msg("type %u '%.120s': wanted '%.200s', got '%.200s'",
			 type, spec, want, h_show(m));
}

/* Takes the watch events sent to conn since the last call, '\n'-joined. */
static inline const char *
h_events(struct harness *h, uint32_t conn)
{
	static char buf[65536];
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = h->next; i < h->nout; i++) {
		struct h_msg *m = &h->out[i];

		if (m->conn != conn || m->type != XS_WATCH_EVENT)
			continue;
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
					off ? "\n" : "", h_show(m));
	}
	return buf;
}

/* Forgets everything sent so far. */
static inline void
h_flush(struct harness *h)
{
	h->next = h->nout = 0;
}

/* Starts a transaction and returns its id. */
static inline uint32_t
h_txn(struct harness *h, uint32_t conn)
{
	struct h_msg *m = h_req(h, conn, 0, XS_TRANSACTION_START, "");

	assert_int_equal(m->type, XS_TRANSACTION_START);
	return (uint32_t)strtoul(m->payload, NULL, 10);
}

/*
 * Table-driven tests: each row is (connection, transaction, request,
 * expected reply). tx is 0 (none), a slot 1..15 filled by an H_START row,
 * or H_TXID(n) for the literal id n. Payloads and replies use '|' for NUL.
 * A few pseudo request types drive the harness itself:
 *   H_START   starts a transaction on conn into slot tx; want "" or an error
 *   H_EVENTS  want is the '\n'-joined watch events conn got since its last
 *             H_EVENTS row (or h_take_events call), in any order; NULL
 *             just takes them
 *   H_LOG     want is a substring of the last log line (then forgotten)
 *   H_NOLOG   nothing was logged since the last H_LOG row
 * A want of NULL accepts any reply.
 */
#define H_TXID(n) (0x80000000u | (uint32_t)(n))
enum { H_START = 0x10000, H_EVENTS, H_LOG, H_NOLOG };

struct h_row {
	uint32_t conn;
	uint32_t tx;
	uint32_t type;
	const char *req;
	const char *want;
};

#define H_ROWS(h, rows) h_run((h), (rows), sizeof(rows) / sizeof((rows)[0]))

/* Marks a message as consumed by h_take_events. */
#define H_TAKEN 0xfffffffeu

static inline uint32_t
h_txid(struct harness *h, uint32_t tx)
{
	if (tx & 0x80000000u)
		return tx & ~0x80000000u;
	assert_true(tx < sizeof(h->tx) / sizeof(h->tx[0]));
	return tx ? h->tx[tx] : 0;
}

/* Does a reply match want ("OK|", "ENOENT|" as an ERROR, or a payload)? */
static inline bool
h_match(struct h_msg *m, uint32_t type, const char *want)
{
	if (h_is_error(want) ? m->type != XS_ERROR : m->type != type)
		return false;
	return strcmp(h_show(m), want) == 0;
}

/* Takes the events sent to conn not yet taken, '\n'-joined. */
static inline const char *
h_take_events(struct harness *h, uint32_t conn)
{
	static char buf[65536];
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = h->next; i < h->nout; i++) {
		struct h_msg *m = &h->out[i];

		if (m->conn != conn || m->type != XS_WATCH_EVENT)
			continue;
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
					off ? "\n" : "", h_show(m));
		m->type = H_TAKEN;
	}
	return buf;
}

/* Drops everything but the events not yet taken, to make room. */
static inline void
h_compact(struct harness *h)
{
	size_t i, n = 0;

	for (i = h->next; i < h->nout; i++)
		if (h->out[i].type == XS_WATCH_EVENT) {
			if (n != i)
				memcpy(&h->out[n], &h->out[i],
				       offsetof(struct h_msg, payload) +
					       h->out[i].len + 1);
			n++;
		}
	h->next = 0;
	h->nout = n;
}

static int
h_cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Are two '\n'-joined lists the same, in any order? */
static inline bool
h_same_lines(const char *a, const char *b)
{
	static char ba[65536], bb[65536];
	static char *la[4096], *lb[4096];
	size_t na = 0, nb = 0, i;
	char *p;

	snprintf(ba, sizeof(ba), "%s", a);
	snprintf(bb, sizeof(bb), "%s", b);
	if (ba[0])
		for (p = ba, la[na++] = p; (p = strchr(p, '\n')) != NULL;)
			*p++ = '\0', la[na++] = p;
	if (bb[0])
		for (p = bb, lb[nb++] = p; (p = strchr(p, '\n')) != NULL;)
			*p++ = '\0', lb[nb++] = p;
	if (na != nb)
		return false;
	qsort(la, na, sizeof(la[0]), h_cmp_line);
	qsort(lb, nb, sizeof(lb[0]), h_cmp_line);
	for (i = 0; i < na; i++)
		if (strcmp(la[i], lb[i]) != 0)
			return false;
	return true;
}

static inline void
h_run(struct harness *h, const struct h_row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct h_row *r = &rows[i];
		const char *req = r->req ? r->req : "";
		struct h_msg *m;

		if (h->nout > H_MAX_OUT / 2)
			h_compact(h);
		switch (r->type) {
		case H_EVENTS: {
			const char *got = h_take_events(h, r->conn);

			if (r->want && !h_same_lines(got, r->want))
				fail_msg(
					"row %zu: conn %u events: wanted '%s', "
					"got '%s'",
					i, r->conn, r->want, got);
			continue;
		}
		case H_LOG:
			if (strstr(h->lastlog, r->want) == NULL)
				fail_msg(
					"row %zu: wanted a log line with '%s', "
					"last is '%s'",
					i, r->want, h->lastlog);
			h->lastlog[0] = '\0';
			continue;
		case H_NOLOG:
			if (h->lastlog[0] != '\0')
				fail_msg("row %zu: wanted no log line, got "
					 "'%s'",
					 i, h->lastlog);
			continue;
		case H_START:
			m = h_req(h, r->conn, 0, XS_TRANSACTION_START, req);
			if (m->type == XS_TRANSACTION_START)
				h->tx[r->tx] =
					(uint32_t)strtoul(m->payload, NULL, 10);
			if (r->want && r->want[0] == '\0' &&
			    m->type == XS_TRANSACTION_START)
				continue;
			if (r->want &&
			    !h_match(m, XS_TRANSACTION_START, r->want))
				fail_msg("row %zu: conn %u TRANSACTION_START: "
					 "wanted '%s', got type %u '%s'",
					 i, r->conn,
					 r->want[0] ? r->want : "<an id>",
					 m->type, h_show(m));
			continue;
		default:
			break;
		}
		m = h_req(h, r->conn, h_txid(h, r->tx), r->type, req);
		if (r->want && !h_match(m, r->type, r->want))
			fail_msg("row %zu: conn %u tx %u type %u '%.120s': "
				 "wanted '%.300s', got type %u '%.300s'",
				 i, r->conn, r->tx, r->type, req, r->want,
				 m->type, h_show(m));
	}
}

/*
 * Introduces domid (as dom0 would), gives it /local/domain/<domid> owned
 * by itself and opens conn as its ring connection.
 */
static inline void
h_domain(struct harness *h, uint32_t conn, uint32_t domid)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "%u|100|7|", domid);
	h_expect(h, 1, 0, XS_INTRODUCE, buf, "OK|");
	snprintf(buf, sizeof(buf), "/local/domain/%u|", domid);
	h_expect(h, 1, 0, XS_MKDIR, buf, "OK|");
	snprintf(buf, sizeof(buf), "/local/domain/%u|n%u|", domid, domid);
	h_expect(h, 1, 0, XS_SET_PERMS, buf, "OK|");
	h_guest(h, conn, domid);
}

/* Fills buf with n copies of s (buf must hold n * strlen(s) + 1 bytes). */
static inline char *
h_repeat(char *buf, const char *s, size_t n)
{
	size_t l = strlen(s), i;

	for (i = 0; i < n; i++)
		memcpy(buf + i * l, s, l);
	buf[n * l] = '\0';
	return buf;
}

/* A growing byte buffer, and a state_out_fn that appends to it. */
struct buf {
	uint8_t *p;
	size_t len, cap;
};

static inline int
collect(void *arg, const void *data, size_t len)
{
	struct buf *b = arg;

	assert_int_equal(grow_room(&b->p, &b->cap, b->len, len, 1, 256), 0);
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

#endif
