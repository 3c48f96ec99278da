// SPDX-License-Identifier: GPL-2.0-only
/*
 * Connection ids (broker/connid.c): new ones in order while there are,
 * then closed ones again, but only those the engine confirmed forgotten by
 * echoing a fence sent after their close; none while in use; an engine
 * that dies forgets them all; a fence echoed out of turn is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "broker.h"

#define FIRST (UINT32_MAX - 8)

static uint8_t live[16]; /* ids FIRST.. in use */

static int
used(uint32_t id)
{
	return id >= FIRST && id - FIRST < 16 && live[id - FIRST];
}

static uint32_t
take(void)
{
	uint32_t id = connid_take();

	if (id >= FIRST)
		live[id - FIRST] = 1;
	return id;
}

static void
retire(uint32_t id)
{
	live[id - FIRST] = 0;
	connid_retire(id);
}

static void
test_ids_come_back_after_their_fence(void **state)
{
	uint32_t id, a, b;
	uint64_t f;

	connid_init(FIRST, used);
	/* The fence for ids closed before keeping began goes at once. */
	f = connid_fence_due();
	assert_int_not_equal(f, 0);
	assert_int_equal(connid_fence_due(), 0); /* one in flight */
	for (id = FIRST; id < UINT32_MAX; id++)
		assert_int_equal(take(), id);
	assert_true(connid_wrapped());
	assert_int_equal(connid_limit(), UINT32_MAX);
	/* Nothing is given again before that fence comes back. */
	assert_int_equal(connid_take(), 0);
	assert_int_equal(connid_fence_echoed(f + 1), -1);
	assert_int_equal(connid_fence_echoed(f), 0);
	assert_int_equal(connid_fence_echoed(f), -1);
	/* Every id is in use, and none was closed: none free from FIRST on. */
	a = FIRST + 2;
	b = FIRST + 5;
	retire(a);
	retire(b);
	/* Closed, but the engine may still name them. */
	id = connid_take();
	assert_true(id < FIRST); /* the search went past, to never-used ids */
	f = connid_fence_due();
	assert_int_not_equal(f, 0);
	assert_int_equal(connid_fence_echoed(f), 0);
}

static void
test_engine_gone_forgets(void **state)
{
	uint64_t f;

	/* Continues from the state above. */
	retire(FIRST + 1);
	f = connid_fence_due();
	assert_int_not_equal(f, 0);
	connid_engine_gone();
	/* Its echo never comes, and need not: the next engine gets its own. */
	assert_int_equal(connid_fence_echoed(f), -1);
	assert_int_equal(connid_fence_due(), 0); /* nothing waits */
	retire(FIRST + 3);
	assert_int_equal(connid_fence_due(), f + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_come_back_after_their_fence),
		cmocka_unit_test(test_engine_gone_forgets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
