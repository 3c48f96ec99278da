// SPDX-License-Identifier: GPL-2.0-only
/*
 * The growable array of include/grow.h: it starts at the site's first
 * capacity and doubles, keeps what it held, refuses a size that does not
 * fit in a size_t (where a plain multiplication would wrap to a small
 * allocation), and leaves the array as it was when it refuses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "grow.h"

struct wide {
	uint64_t a, b;
};

static void
test_first_then_doubles(void **state)
{
	uint32_t *a = NULL;
	size_t cap = 0, n;

	assert_int_equal(grow_array(&a, &cap, 1, sizeof(*a), 16), 0);
	assert_non_null(a);
	assert_int_equal(cap, 16);
	for (n = 0; n < 1000; n++) {
		assert_int_equal(grow_array(&a, &cap, n + 1, sizeof(*a), 16),
				 0);
		a[n] = (uint32_t)n;
	}
	assert_int_equal(cap, 1024);
	for (n = 0; n < 1000; n++)
		assert_int_equal(a[n], n);
	/* One step past a power of two: the next one, not more. */
	assert_int_equal(grow_array(&a, &cap, 1025, sizeof(*a), 16), 0);
	assert_int_equal(cap, 2048);
	free(a);
}

static void
test_room_fits_without_moving(void **state)
{
	uint8_t *b = NULL, *before;
	size_t cap = 0;

	assert_int_equal(grow_room(&b, &cap, 0, 100, 1, 4096), 0);
	assert_int_equal(cap, 4096);
	before = b;
	assert_int_equal(grow_room(&b, &cap, 4000, 96, 1, 4096), 0);
	assert_ptr_equal(b, before);
	assert_int_equal(cap, 4096);
	memset(b, 0xa5, 4096);
	assert_int_equal(grow_room(&b, &cap, 4096, 1, 1, 4096), 0);
	assert_int_equal(cap, 8192);
	assert_int_equal(b[4095], 0xa5);
	/* A big request at once jumps straight to the power that holds it. */
	assert_int_equal(grow_room(&b, &cap, 10, 100000, 1, 4096), 0);
	assert_int_equal(cap, 131072);
	free(b);
}

/*
 * 2^60 elements of 16 bytes is 2^64 bytes: a multiplication that wraps
 * asks realloc for 0 and takes what it gives for the whole array.
 */
static void
test_size_overflow_refused(void **state)
{
	struct wide *a = NULL;
	size_t cap = 0;

	assert_int_equal(grow_array(&a, &cap, 4, sizeof(*a), 16), 0);
	a[3] = (struct wide){7, 9};
	errno = 0;
	assert_int_equal(
		grow_array(&a, &cap, SIZE_MAX / sizeof(*a) + 1, sizeof(*a), 16),
		-1);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(cap, 16);
	assert_int_equal(a[3].a, 7);
	assert_int_equal(a[3].b, 9);
	free(a);
}

/* Doubling past SIZE_MAX would wrap the capacity to 0 and never end. */
static void
test_capacity_overflow_refused(void **state)
{
	uint8_t *b = NULL, *before;
	size_t cap = 0;

	assert_int_equal(grow_array(&b, &cap, 1, 1, 16), 0);
	before = b;
	errno = 0;
	assert_int_equal(grow_array(&b, &cap, SIZE_MAX / 2 + 2, 1, 16), -1);
	assert_int_equal(errno, ENOMEM);
	assert_ptr_equal(b, before);
	assert_int_equal(cap, 16);
	free(b);
}

/* len + more past SIZE_MAX would wrap to a need already met. */
static void
test_room_overflow_refused(void **state)
{
	uint8_t *b = NULL;
	size_t cap = 0;

	assert_int_equal(grow_room(&b, &cap, 0, 64, 1, 64), 0);
	errno = 0;
	assert_int_equal(grow_room(&b, &cap, 32, SIZE_MAX - 16, 1, 64), -1);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(cap, 64);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_then_doubles),
		cmocka_unit_test(test_room_fits_without_moving),
		cmocka_unit_test(test_size_overflow_refused),
		cmocka_unit_test(test_capacity_overflow_refused),
		cmocka_unit_test(test_room_overflow_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
