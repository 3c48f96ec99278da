// SPDX-License-Identifier: GPL-2.0-only
/*
 * Big transactions: one that writes thousands of nodes commits whole, its
 * journal restores exactly the store it left, and the same holds for a
 * transaction that mixes writes, removals and permissions over nodes it
 * made and nodes it found. The commit runs in a function of its own, so
 * that `valgrind --tool=callgrind --toggle-collect=bigtx_commit` counts
 * just the commit, as the broker's TRANSACTION_END would run it.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "journal_fix.h"

#define BIG 5000

/* One batch of xs-engine's loop: the commit, its journal, its reply. */
__attribute__((noinline)) static struct h_msg *
bigtx_commit(struct fix *f, uint32_t conn, uint32_t tx)
{
	struct h_msg *m = jreq(f, conn, tx, XS_TRANSACTION_END, "T|");

	assert_int_equal(journal_flush(f->h->e), 0);
	return m;
}

/* After the reply: what engine_idle frees. */
__attribute__((noinline)) static void
bigtx_idle(struct fix *f)
{
	engine_idle(f->h->e);
}

/*
 * A second engine on the same state holds the same store. (The last one
 * started has the journal's emit: this comes at a test's end.)
 */
static void
recovers(struct fix *f)
{
	static const uint32_t doms[] = {0, 5};
	struct buf x = {0}, y = {0};
	struct harness *h2 = start(f);
	size_t i;

	assert_true(journal_restored(h2->e));
	dump(f->h->e, &x);
	dump(h2->e, &y);
	assert_int_equal(x.len, y.len);
	assert_memory_equal(x.p, y.p, x.len);
	free(x.p);
	free(y.p);
	for (i = 0; i < sizeof(doms) / sizeof(doms[0]); i++) {
		struct domain *a = domain_get(f->h->e, doms[i], false);
		struct domain *b = domain_get(h2->e, doms[i], false);

		assert_true((a == NULL) == (b == NULL));
		if (a == NULL)
			continue;
		assert_int_equal(a->nodes, b->nodes);
	}
	h_free(h2);
}

static void
test_big(void **state)
{
	char spec[128];
	struct fix f;
	struct h_msg *m;
	uint32_t t;
	int i;

	(void)state;
	setup_with(&f, true);
	jexpect(&f, 1, 0, XS_WRITE, "/bench/tx|", "OK|");
	t = h_txn(f.h, 1);
	for (i = 0; i < BIG; i++) {
		snprintf(spec, sizeof(spec), "/bench/tx/n%d|value-%010d", i, i);
		jexpect(&f, 1, t, XS_WRITE, spec, "OK|");
		h_flush(f.h);
	}
	m = bigtx_commit(&f, 1, t);
	assert_string_equal(h_show(m), "OK|");
	bigtx_idle(&f);
	h_expect(f.h, 1, 0, XS_READ, "/bench/tx/n4999|", "value-0000004999");
	recovers(&f);
	teardown(&f);
}

/*
 * Writes under new and old parents, an overwrite, a removal of what it
 * made and of what it found, permissions, a guest's nodes: the journal of
 * the adopted commit rebuilds the same store, accounting included, and
 * the watches see each changed node once.
 */
static void
test_mixed(void **state)
{
	char spec[128];
	const char *ev;
	struct fix f;
	uint32_t t;
	int i, lines;

	(void)state;
	setup_with(&f, true);
	jexpect(&f, 1, 0, XS_INTRODUCE, "5|100|7|", "OK|");
	jexpect(&f, 1, 0, XS_WRITE, "/local/domain/5|", "OK|");
	jexpect(&f, 1, 0, XS_SET_PERMS, "/local/domain/5|n5|", "OK|");
	jexpect(&f, 1, 0, XS_WRITE, "/old/keep|k", "OK|");
	jexpect(&f, 1, 0, XS_WRITE, "/old/gone/x|x", "OK|");
	journal_begin(f.h->e, 0, 0);
	assert_int_equal(engine_conn_open(f.h->e, 3, 5, false, false), 0);
	journal_end(f.h->e);
	jexpect(&f, 1, 0, XS_WATCH, "/old|w|", "OK|");
	assert_int_equal(journal_flush(f.h->e), 0);
	h_flush(f.h);

	t = h_txn(f.h, 1);
	for (i = 0; i < 300; i++) {
		snprintf(spec, sizeof(spec), "/new/%d/a/b|%d", i % 7, i);
		jexpect(&f, 1, t, XS_WRITE, spec, "OK|");
		snprintf(spec, sizeof(spec), "/old/n%d|%d", i, i);
		jexpect(&f, 1, t, XS_WRITE, spec, "OK|");
		h_flush(f.h);
	}
	jexpect(&f, 1, t, XS_WRITE, "/old/keep|changed", "OK|");
	jexpect(&f, 1, t, XS_RM, "/old/gone|", "OK|");
	jexpect(&f, 1, t, XS_RM, "/new/3|", "OK|");
	jexpect(&f, 1, t, XS_WRITE, "/new/3/again|1", "OK|");
	jexpect(&f, 1, t, XS_MKDIR, "/new/empty|", "OK|");
	jexpect(&f, 1, t, XS_SET_PERMS, "/old/n7|n0|r5|", "OK|");
	jexpect(&f, 1, t, XS_RM, "/old/n8|", "OK|");
	jexpect(&f, 1, t, XS_WRITE, "/old/n9/under|u", "OK|");
	jexpect(&f, 1, t, XS_SET_PERMS, "/|n0|r5|", "OK|");
	/* Written again later, in the same run of writes and in another. */
	jexpect(&f, 1, t, XS_WRITE, "/s/a|1", "OK|");
	jexpect(&f, 1, t, XS_WRITE, "/s/b|1", "OK|");
	jexpect(&f, 1, t, XS_WRITE, "/s/a|2", "OK|");
	jexpect(&f, 1, t, XS_WRITE, "/s/c/d|1", "OK|");
	jexpect(&f, 1, t, XS_WRITE, "/s/b|2", "OK|");
	jexpect(&f, 1, t, XS_RM, "/s/c|", "OK|");
	jexpect(&f, 1, t, XS_WRITE, "/s/c|3", "OK|");
	jexpect(&f, 1, t, XS_MKDIR, "/s/a|", "OK|");
	assert_string_equal(h_show(bigtx_commit(&f, 1, t)), "OK|");
	bigtx_idle(&f);
	/*
	 * Each node under the watch once: n0..n299 but n8 (made and removed
	 * in the transaction, never seen outside it), keep, gone, n9/under.
	 */
	ev = h_take_events(f.h, 1);
	for (i = 0, lines = 1; ev[i]; i++)
		lines += ev[i] == '\n';
	assert_int_equal(lines, 299 + 3);
	assert_null(strstr(ev, "/old/n8|"));
	assert_non_null(strstr(ev, "/old/keep|w|\n"));
	assert_non_null(strstr(ev, "/old/gone|w|\n"));
	assert_non_null(strstr(ev, "/old/n9/under|w|"));

	/* A guest's own transaction: its node count follows it. */
	t = h_txn(f.h, 3);
	for (i = 0; i < 40; i++) {
		snprintf(spec, sizeof(spec), "/local/domain/5/d/%d|%d", i, i);
		jexpect(&f, 3, t, XS_WRITE, spec, "OK|");
	}
	jexpect(&f, 3, t, XS_RM, "/local/domain/5/d/0|", "OK|");
	assert_string_equal(h_show(bigtx_commit(&f, 3, t)), "OK|");
	bigtx_idle(&f);
	recovers(&f);
	teardown(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_big),
		cmocka_unit_test(test_mixed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
