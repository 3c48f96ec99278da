// SPDX-License-Identifier: GPL-2.0-only
/*
 * The store as the engine writes it for C xenstored 4.17
 * (state_dump_c417()), read back record by record: a permission entry
 * older than its domain carries 4.17's ignore flag, a guest's relative
 * watch its relative path, a socket_ro client's watch and an open
 * transaction nothing; and the broker's check takes the stream with the
 * connections whose watches it holds, and refuses it without them.
 */
#include "harness.h"

#include "broker.h"
#include "state.h"
#include "xs_state.h"

struct sink {
	uint8_t *b;
	size_t len, cap;
};

static int
out(void *arg, const void *p, size_t n)
{
	struct sink *o = arg;

	assert_int_equal(grow_room(&o->b, &o->cap, o->len, n, 1, 4096), 0);
	memcpy(o->b + o->len, p, n);
	o->len += n;
	return 0;
}

/* The record of the given type whose first string (at off) is s. */
static const uint8_t *
find(const struct sink *o, uint32_t type, const char *s, size_t *stroff)
{
	size_t at = 16;
	uint32_t h[2];

	while (at + 8 <= o->len) {
		const uint8_t *b;
		uint16_t n;

		memcpy(h, o->b + at, 8);
		b = o->b + at + 8;
		if (h[0] == type && type == REC_NODE_DATA) {
			memcpy(&n, b + 14, 2);
			*stroff = 16 + 4u * n;
		} else if (h[0] == type) {
			*stroff = 8;
		}
		if (h[0] == type && strcmp((const char *)b + *stroff, s) == 0)
			return b;
		at += 8 + h[1];
	}
	return NULL;
}

static size_t
count(const struct sink *o, uint32_t type)
{
	size_t at = 16, n = 0;
	uint32_t h[2];

	while (at + 8 <= o->len) {
		memcpy(h, o->b + at, 8);
		n += h[0] == type;
		at += 8 + h[1];
	}
	return n;
}

static void
test_c417(void **st)
{
	struct harness *h = h_new();
	static const uint32_t both[] = {1, 3}, dom0[] = {1};
	struct sink o = {0};
	const uint8_t *r;
	size_t off, blen, so;

	(void)st;
	h_expect(h, 1, 0, XS_INTRODUCE, "5|100|7|", "OK|");
	h_expect(h, 1, 0, XS_INTRODUCE, "6|200|8|", "OK|");
	h_guest(h, 3, 5);
	h_expect(h, 1, 0, XS_WRITE, "/a|x", "OK|");
	h_expect(h, 1, 0, XS_SET_PERMS, "/a|n0|r6|", "OK|");
	h_expect(h, 1, 0, XS_RELEASE, "6|", "OK|");
	h_expect(h, 3, 0, XS_WATCH, "name|tok|", "OK|");
	h_expect(h, 1, 0, XS_WATCH, "/a|abs|", "OK|");
	h_expect(h, 2, 0, XS_WATCH, "/a|ro|", "OK|");
	h_expect(h, 1, h_txn(h, 1), XS_WRITE, "/intx|1", "OK|");
	assert_int_equal(state_dump_c417(h->e, out, &o), 0);

	assert_null(handover_records_check(o.b, o.len, both, 2, &off, &blen));
	assert_int_equal(off + blen + 8, o.len);
	assert_string_equal(
		handover_records_check(o.b, o.len, dom0, 1, &off, &blen),
		"WATCH_DATA of an unknown connection");
	/* n0, then r6 of a domain gone since: ignored by 4.17. */
	assert_non_null(r = find(&o, REC_NODE_DATA, "/a", &so));
	assert_int_equal(so, 16 + 8);
	assert_memory_equal(r + 16, "n\0\0\0r\1\6\0", 8);
	assert_non_null(find(&o, REC_WATCH_DATA, "name", &so));
	assert_non_null(find(&o, REC_WATCH_DATA, "/a", &so));
	assert_null(find(&o, REC_NODE_DATA, "/intx", &so));
	/* Conn 1's /a and 5's relative watch: the read-only client's not. */
	assert_non_null(r = find(&o, REC_WATCH_DATA, "/a", &so));
	assert_memory_equal(r, "\1\0\0\0\3\0\4\0/a\0abs", 14);
	assert_int_equal(count(&o, REC_WATCH_DATA), 2);
	free(o.b);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_c417),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
