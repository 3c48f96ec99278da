// SPDX-License-Identifier: GPL-2.0-only
/*
 * The hash maps' keyed hash: SipHash against its authors' published
 * vectors, a key that changes every hash, and a map that still finds
 * every key after growing and deleting under a key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hmap.h"

/* The reference vectors: key 00..0f, message 00..(n-1). */
static void
test_siphash_vectors(void **state)
{
	const uint64_t k0 = 0x0706050403020100ull, k1 = 0x0f0e0d0c0b0a0908ull;
	unsigned char msg[16];
	unsigned int i;

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)i;
	assert_true(hmap_siphash(k0, k1, 2, 4, msg, 0) ==
		    0x726fdb47dd0e0e31ull);
	assert_true(hmap_siphash(k0, k1, 2, 4, msg, 15) ==
		    0xa129ca6149be45e5ull);
}

static void
test_key_changes_hash(void **state)
{
	static const uint8_t zero[16], other[16] = {1};
	uint64_t a, b;

	hmap_set_key(zero);
	a = hmap_hash("local", 5);
	hmap_set_key(other);
	b = hmap_hash("local", 5);
	hmap_set_key(zero);
	assert_true(a != b);
	assert_true(hmap_hash("local", 5) == a);
	assert_true(a == hmap_siphash(0, 0, 1, 3, "local", 5));
}

static void
test_map_under_key(void **state)
{
	static const uint8_t key[16] = {0x5a, 0x17, 0x42};
	struct hmap m = {0};
	char k[32];
	long i;

	hmap_set_key(key);
	for (i = 0; i < 5000; i++) {
		snprintf(k, sizeof(k), "watch-%ld", i);
		assert_int_equal(hmap_put(&m, k, strlen(k), (void *)(i + 1)),
				 0);
	}
	for (i = 0; i < 5000; i += 2) {
		snprintf(k, sizeof(k), "watch-%ld", i);
		assert_true(hmap_del(&m, k, strlen(k)) == (void *)(i + 1));
	}
	for (i = 0; i < 5000; i++) {
		snprintf(k, sizeof(k), "watch-%ld", i);
		assert_true(hmap_get(&m, k, strlen(k)) ==
			    (i % 2 ? (void *)(i + 1) : NULL));
	}
	assert_int_equal(m.used, 2500);
	hmap_free(&m);
	hmap_set_key((const uint8_t[16]){0});
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test(test_key_changes_hash),
		cmocka_unit_test(test_map_under_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
