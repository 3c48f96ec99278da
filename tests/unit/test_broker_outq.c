// SPDX-License-Identifier: GPL-2.0-only
/*
 * A client's output queue (broker/outq.c): messages leave in order, whole
 * or in pieces however the writes cut them, with the counts of messages,
 * bytes and events right at every point; stale events are dropped, but
 * never a reply nor a message partly written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker.h"

/* Queues a message of type with a payload of text, NUL included. */
static void
push(struct outq *q, uint32_t type, const char *text, time_t now)
{
	struct xs_hdr hdr = {type, 0, 0, (uint32_t)strlen(text) + 1};
	uint8_t *at = outq_push(q, type, XS_HDR_SIZE + hdr.len, now);

	assert_non_null(at);
	memcpy(at, &hdr, XS_HDR_SIZE);
	memcpy(at + XS_HDR_SIZE, text, hdr.len);
}

/* Takes n bytes (all when n is 0) and checks they are what was queued. */
static size_t
take(struct outq *q, size_t n, uint8_t *into, size_t *got)
{
	const uint8_t *data;
	size_t len = outq_unwritten(q, &data);

	if (n == 0 || n > len)
		n = len;
	memcpy(into + *got, data, n);
	*got += n;
	return outq_written(q, n);
}

static void
test_in_order_in_pieces(void **state)
{
	static uint8_t out[16384];
	struct outq q = {0};
	size_t got = 0, i, off, events = 0;
	struct xs_hdr hdr;
	char text[32];

	for (i = 0; i < 100; i++) {
		snprintf(text, sizeof(text), "/m/%zu", i);
		push(&q, i % 3 ? XS_WATCH_EVENT : XS_READ, text, 0);
	}
	assert_int_equal(q.n, 100);
	assert_int_equal(q.events, 66);
	/* Writes of 7 bytes cut across every message. */
	while (q.n > 50)
		events += take(&q, 7, out, &got);
	/* More queued while one is partly written: the buffer moves. */
	for (i = 100; i < 300; i++) {
		snprintf(text, sizeof(text), "/m/%zu", i);
		push(&q, XS_WATCH_EVENT, text, 0);
	}
	while (q.n > 0)
		events += take(&q, 1000, out, &got);
	assert_int_equal(events, 266);
	assert_int_equal(q.bytes, 0);
	assert_int_equal(q.events, 0);
	for (i = 0, off = 0; off < got; off += XS_HDR_SIZE + hdr.len, i++) {
		memcpy(&hdr, out + off, XS_HDR_SIZE);
		snprintf(text, sizeof(text), "/m/%zu", i);
		assert_string_equal((const char *)out + off + XS_HDR_SIZE,
				    text);
		assert_int_equal(hdr.type, i < 100 && i % 3 == 0
						   ? XS_READ
						   : XS_WATCH_EVENT);
	}
	assert_int_equal(i, 300);
	assert_int_equal(outq_clear(&q), 0);
}

static void
test_counts(void **state)
{
	struct outq q = {0};
	uint8_t out[65536];
	size_t got = 0, events = 0, len, off;
	struct xs_hdr hdr;
	char want[32];
	unsigned int k = 0;

	push(&q, XS_READ, "abc", 0);
	push(&q, XS_WATCH_EVENT, "/a", 0);
	push(&q, XS_WATCH_EVENT, "/b", 0);
	assert_int_equal(q.bytes, 3 * XS_HDR_SIZE + 4 + 3 + 3);
	/* Half the reply: nothing is whole yet. */
	assert_int_equal(take(&q, 10, out, &got), 0);
	assert_int_equal(q.n, 3);
	/* The rest of the reply and the first event. */
	events += take(&q, XS_HDR_SIZE + 4 - 10 + XS_HDR_SIZE + 3, out, &got);
	assert_int_equal(events, 1);
	assert_int_equal(q.n, 1);
	assert_int_equal(q.events, 1);
	push(&q, XS_WRITE, "OK", 0);
	events += take(&q, 0, out, &got);
	assert_int_equal(events, 2);
	assert_int_equal(q.n, 0);
	assert_int_equal(q.bytes, 0);
	/* What came out is every message, whole, in order. */
	for (off = 0; off < got; off += XS_HDR_SIZE + hdr.len, k++) {
		static const char *const texts[] = {"abc", "/a", "/b", "OK"};

		memcpy(&hdr, out + off, XS_HDR_SIZE);
		snprintf(want, sizeof(want), "%s", texts[k]);
		assert_string_equal((const char *)out + off + XS_HDR_SIZE,
				    want);
	}
	assert_int_equal(k, 4);
	len = outq_clear(&q);
	assert_int_equal(len, 0);
}

static int ndropped;

static void
dropped(void *arg, const uint8_t *msg, size_t len)
{
	struct xs_hdr hdr;

	memcpy(&hdr, msg, XS_HDR_SIZE);
	assert_int_equal(hdr.type, XS_WATCH_EVENT);
	assert_int_equal(len, XS_HDR_SIZE + hdr.len);
	ndropped++;
}

static void
test_drop_stale(void **state)
{
	struct outq q = {0};
	uint8_t out[4096];
	size_t got = 0, off;
	struct xs_hdr hdr;
	const char *const kept[] = {"/old0", "reply", "/new"};
	unsigned int k = 0;

	push(&q, XS_WATCH_EVENT, "/old0", 1);
	push(&q, XS_WATCH_EVENT, "/old1", 1);
	push(&q, XS_READ, "reply", 1);
	push(&q, XS_WATCH_EVENT, "/old2", 1);
	push(&q, XS_WATCH_EVENT, "/new", 10);
	/* The first event is partly written: it stays. */
	take(&q, 5, out, &got);
	ndropped = 0;
	assert_int_equal(outq_drop_stale(&q, 12, 5, dropped, NULL), 2);
	assert_int_equal(ndropped, 2);
	assert_int_equal(q.n, 3);
	assert_int_equal(q.events, 2);
	take(&q, 0, out, &got);
	assert_int_equal(q.n, 0);
	assert_int_equal(q.events, 0);
	assert_int_equal(q.bytes, 0);
	for (off = 0; off < got; off += XS_HDR_SIZE + hdr.len, k++) {
		memcpy(&hdr, out + off, XS_HDR_SIZE);
		assert_string_equal((const char *)out + off + XS_HDR_SIZE,
				    kept[k]);
	}
	assert_int_equal(k, 3);
	/* Nothing stale: nothing moves. */
	push(&q, XS_WATCH_EVENT, "/x", 20);
	assert_int_equal(outq_drop_stale(&q, 21, 5, dropped, NULL), 0);
	assert_int_equal(q.n, 1);
	assert_int_equal(outq_clear(&q), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_in_pieces),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_drop_stale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
