// SPDX-License-Identifier: GPL-2.0-only
/*
 * The migration stream: a store dumped and restored is the same store
 * (nodes, permissions, domains, quotas, watches), and a truncated or
 * corrupt stream is refused with a reason.
 */
#include "harness.h"
#include "state.h"

static struct harness *
populated(void)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_INTRODUCE, "5|100|7|", "OK|"},
		{1, 0, XS_WRITE, "/local/domain/5/name|guest", "OK|"},
		{1, 0, XS_SET_PERMS, "/local/domain/5|n5|r0|", "OK|"},
		{1, 0, XS_WRITE, "/vm/uuid/bin|a\\0b", "OK|"},
		{1, 0, XS_SET_PERMS, "/vm/uuid|n0|b5|", "OK|"},
		{1, 0, XS_SET_QUOTA, "5|nodes|50|", "OK|"},
		{1, 0, XS_SET_QUOTA, "watches|77|", "OK|"},
		{1, 0, XS_WATCH, "/vm|tok|", "OK|"},
		{1, 0, XS_WATCH, "@releaseDomain|rel|1|", "OK|"},
	};

	H_ROWS(h, rows);
	return h;
}

static void
dump(struct engine *e, struct buf *b)
{
	b->len = 0;
	assert_int_equal(state_dump(e, collect, b, false), 0);
}

/* Each domain owns as many nodes and bytes in e2 as in e1. */
static void
same_accounts(struct engine *e1, struct engine *e2)
{
	static const uint32_t domids[] = {0, 5};
	size_t i;

	for (i = 0; i < sizeof(domids) / sizeof(domids[0]); i++) {
		struct domain *a = domain_get(e1, domids[i], false);
		struct domain *b = domain_get(e2, domids[i], false);

		assert_non_null(a);
		assert_non_null(b);
		assert_int_equal(a->nodes, b->nodes);
		assert_int_equal(a->memory, b->memory);
	}
}

static void
test_round_trip(void **state)
{
	struct harness *h = populated();
	struct buf a = {0}, b = {0};
	struct engine *e2;
	char why[256];

	dump(h->e, &a);
	e2 = state_restore(a.p, a.len, h_emit, h_log, h, why, sizeof(why));
	if (e2 == NULL)
		fail_msg("restore: %s", why);
	dump(e2, &b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.p, b.p, a.len);
	/* Quotas count what was counted before. */
	same_accounts(h->e, e2);
	/* And it behaves like the store it came from. */
	engine_free(h->e);
	h->e = e2;
	h_flush(h);
	h_expect(h, 1, 0, XS_READ, "/local/domain/5/name|", "guest");
	h_expect(h, 1, 0, XS_GET_PERMS, "/vm/uuid|", "n0|b5|");
	h_expect(h, 1, 0, XS_GET_QUOTA, "5|nodes|", "50|");
	h_expect(h, 1, 0, XS_GET_QUOTA, "watches|", "77|");
	h_expect(h, 1, 0, XS_IS_DOMAIN_INTRODUCED, "5|", "F|");
	h_expect(h, 1, 0, XS_WRITE, "/vm/x|1", "OK|");
	assert_string_equal(h_events(h, 1), "/vm/x|tok|");
	h_expect(h, 1, 0, XS_WATCH, "/vm|tok|", "EEXIST|");
	h_expect(h, 1, 0, XS_CONTROL, "check|", "OK|");
	free(a.p);
	free(b.p);
	h_free(h);
}

static void
test_refused(void **state)
{
	struct harness *h = populated();
	struct buf a = {0};
	char why[256];
	size_t cut;

	dump(h->e, &a);
	/* Every truncation is refused, none crashes. */
	for (cut = 0; cut < a.len; cut += 7)
		assert_null(state_restore(a.p, cut, h_emit, h_log, h, why,
					  sizeof(why)));
	/* Bad magic, and a record of an unknown type. */
	a.p[0] ^= 1;
	assert_null(
		state_restore(a.p, a.len, h_emit, h_log, h, why, sizeof(why)));
	assert_non_null(strstr(why, "not a xenstore"));
	a.p[0] ^= 1;
	a.p[16] = 0x7f;
	assert_null(
		state_restore(a.p, a.len, h_emit, h_log, h, why, sizeof(why)));
	assert_non_null(strstr(why, "unknown type"));
	free(a.p);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
