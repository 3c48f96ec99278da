// SPDX-License-Identifier: GPL-2.0-only
/*
 * The audit writer's integers (written in place, two digits at a time)
 * against printf's, at every length and both ends of the range; and the
 * values' SHA-256 in hex against the FIPS 180-2 examples, and their
 * HMAC-SHA256 (under --audit-key) against RFC 4231's.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"
#include "grow.h"

static void
grow(struct audit_json *w, size_t n)
{
	assert_int_equal(grow_room(&w->buf, &w->cap, w->len, n, 1, 16), 0);
}

/* v as the writer renders it in an array, against "%lld". */
static void
check_int(long long v)
{
	struct audit_json w = {.reserve = grow};
	char want[64];

	audit_json_array(&w, NULL);
	audit_json_int(&w, NULL, v);
	audit_json_int(&w, NULL, v);
	audit_json_end(&w);
	snprintf(want, sizeof(want), "[%lld,%lld]", v, v);
	assert_int_equal(w.len, strlen(want));
	assert_memory_equal(w.buf, want, w.len);
	free(w.buf);
}

static void
test_ints(void **state)
{
	long long p = 1;
	int i;

	check_int(0);
	check_int(LLONG_MAX);
	check_int(LLONG_MIN);
	check_int(LLONG_MIN + 1);
	/* Each power of ten up to 10^18 and its neighbours, either sign. */
	for (i = 0; i <= 18; i++) {
		check_int(p - 1);
		check_int(p);
		check_int(p + 1);
		check_int(-p);
		check_int(-p + 1);
		if (i < 18)
			p *= 10;
	}
	for (i = 0; i < 100000; i++)
		check_int((long long)i * 7919);
}

static void
check_sha(const char *in, const char *want)
{
	char out[65];

	audit_sha256_hex((const uint8_t *)in, strlen(in), out);
	assert_string_equal(out, want);
}

static void
test_sha256(void **state)
{
	char *big = malloc(1000001);

	check_sha("", "e3b0c44298fc1c149afbf4c8996fb924"
		      "27ae41e4649b934ca495991b7852b855");
	check_sha("abc", "ba7816bf8f01cfea414140de5dae2223"
			 "b00361a396177a9cb410ff61f20015ad");
	check_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039"
		  "a33ce45964ff2167f6ecedd419db06c1");
	assert_non_null(big);
	memset(big, 'a', 1000000);
	big[1000000] = '\0';
	check_sha(big, "cdc76e5c9914fb9281a1c7e284d73e67"
		       "f1809a48a497200e046d39ccc7112cd0");
	free(big);
}

static void
check_hmac(const uint8_t *key, size_t klen, const char *in, const char *want)
{
	struct audit_hash h;
	char out[65];

	audit_hash_init(&h, key, klen);
	audit_hash_hex(&h, (const uint8_t *)in, strlen(in), out);
	assert_string_equal(out, want);
	/* The key's states are not used up by a digest. */
	audit_hash_hex(&h, (const uint8_t *)in, strlen(in), out);
	assert_string_equal(out, want);
}

/* What a record says of the value v, hashed by h. */
static void
check_value_json(const struct audit_hash *h, const char *v, const char *want)
{
	struct audit_json w = {.reserve = grow};

	audit_json_map(&w, NULL);
	audit_gen_value(&w, "value", (const uint8_t *)v, strlen(v), 0, h);
	audit_json_end(&w);
	grow(&w, 1);
	w.buf[w.len] = '\0';
	assert_string_equal(w.buf, want);
	free(w.buf);
}

/* RFC 4231's test cases 1 and 2, and what a keyed record says. */
static void
test_hmac_sha256(void **state)
{
	uint8_t k1[20];
	struct audit_hash plain, a, b;

	memset(k1, 0x0b, sizeof(k1));
	check_hmac(k1, sizeof(k1), "Hi There",
		   "b0344c61d8db38535ca8afceaf0bf12b"
		   "881dc200c9833da726e9376c2e32cff7");
	check_hmac((const uint8_t *)"Jefe", 4, "what do ya want for nothing?",
		   "5bdcc146bf60754e6a042426089575c7"
		   "5a003f089d2739839dec58b964ec3843");

	audit_hash_init(&plain, NULL, 0);
	assert_int_equal(plain.keyed, 0);
	check_value_json(&plain, "abc",
			 "{\"value\":{\"len\":3,\"sha256\":"
			 "\"ba7816bf8f01cfea414140de5dae2223"
			 "b00361a396177a9cb410ff61f20015ad\"}}");
	audit_hash_init(&a, (const uint8_t *)"Jefe", 4);
	check_value_json(&a, "what do ya want for nothing?",
			 "{\"value\":{\"len\":28,\"hmac_sha256\":"
			 "\"5bdcc146bf60754e6a042426089575c7"
			 "5a003f089d2739839dec58b964ec3843\"}}");

	/* A key's id names it: the same for the same key, 16 hex digits. */
	audit_hash_init(&b, (const uint8_t *)"Jefe", 4);
	assert_string_equal(a.id, b.id);
	assert_int_equal(strlen(a.id), 16);
	assert_int_equal(strspn(a.id, "0123456789abcdef"), 16);
	audit_hash_init(&b, k1, sizeof(k1));
	assert_string_not_equal(a.id, b.id);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ints),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_hmac_sha256),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
