// SPDX-License-Identifier: GPL-2.0-only
/* Basic request/reply checks of the engine, one message type at a time. */
#include "harness.h"

static void
test_read_write(void **state)
{
	struct harness *h = h_new();

	h_expect(h, 1, 0, XS_READ, "/a|", "ENOENT|");
	h_expect(h, 1, 0, XS_WRITE, "/a/b|hello", "OK|");
	h_expect(h, 1, 0, XS_READ, "/a/b|", "hello");
	h_expect(h, 1, 0, XS_READ, "/a|", "");
	h_expect(h, 1, 0, XS_DIRECTORY, "/|", "a|tool|");
	h_expect(h, 1, 0, XS_WRITE, "/a/c|", "OK|");
	h_expect(h, 1, 0, XS_DIRECTORY, "/a|", "b|c|");
	h_expect(h, 1, 0, XS_GET_PERMS, "/a/b|", "n0|");
	h_expect(h, 1, 0, XS_RM, "/a|", "OK|");
	h_expect(h, 1, 0, XS_READ, "/a/b|", "ENOENT|");
	h_expect(h, 1, 0, XS_RM, "/a|", "OK|");
	h_expect(h, 1, 0, XS_RM, "/x/y|", "ENOENT|");
	h_expect(h, 1, 0, XS_RM, "/|", "EINVAL|");
	h_expect(h, 2, 0, XS_WRITE, "/a|b", "EROFS|");
	h_expect(h, 1, 0, 99, "", "ENOSYS|");
	h_expect(h, 1, 0, XS_CONTROL, "check|", "OK|");
	h_free(h);
}

static void
test_txn(void **state)
{
	struct harness *h = h_new();
	uint32_t t1, t2;

	h_expect(h, 1, 0, XS_WRITE, "/be|", "OK|");
	t1 = h_txn(h, 1);
	t2 = h_txn(h, 1);
	h_expect(h, 1, t1, XS_WRITE, "/be/1|x", "OK|");
	h_expect(h, 1, t2, XS_WRITE, "/be/2|y", "OK|");
	h_expect(h, 1, t1, XS_READ, "/be/1|", "x");
	h_expect(h, 1, 0, XS_READ, "/be/1|", "ENOENT|");
	h_expect(h, 1, t1, XS_TRANSACTION_END, "T|", "OK|");
	h_expect(h, 1, t2, XS_TRANSACTION_END, "T|", "OK|");
	h_expect(h, 1, 0, XS_DIRECTORY, "/be|", "1|2|");
	t1 = h_txn(h, 1);
	h_expect(h, 1, t1, XS_READ, "/be/1|", "x");
	h_expect(h, 1, 0, XS_WRITE, "/be/1|z", "OK|");
	h_expect(h, 1, t1, XS_WRITE, "/be/3|w", "OK|");
	h_expect(h, 1, t1, XS_TRANSACTION_END, "T|", "EAGAIN|");
	h_expect(h, 1, 0, XS_READ, "/be/3|", "ENOENT|");
	h_expect(h, 1, 0, XS_CONTROL, "check|", "OK|");
	h_free(h);
}

static void
test_watch(void **state)
{
	struct harness *h = h_new();

	h_expect(h, 1, 0, XS_WATCH, "/w|tok|", "OK|");
	assert_string_equal(h_events(h, 1), "/w|tok|");
	h_flush(h);
	h_expect(h, 1, 0, XS_WRITE, "/w/x/y|1", "OK|");
	assert_string_equal(h_events(h, 1), "/w/x/y|tok|");
	h_flush(h);
	h_expect(h, 1, 0, XS_RM, "/w|", "OK|");
	assert_string_equal(h_events(h, 1), "/w|tok|");
	h_flush(h);
	h_expect(h, 1, 0, XS_WATCH, "/w|tok|", "EEXIST|");
	h_expect(h, 1, 0, XS_UNWATCH, "/w|tok|", "OK|");
	h_expect(h, 1, 0, XS_UNWATCH, "/w|tok|", "ENOENT|");
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_write),
		cmocka_unit_test(test_txn),
		cmocka_unit_test(test_watch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
