// SPDX-License-Identifier: GPL-2.0-only
/*
 * The one escaper of outside bytes: what each kind of byte becomes, that
 * escape_bytes() and escape_json() agree, and that a log line cut short by
 * log_sanitize() ends before an escape, never inside one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "escape.h"

static void
check(const char *in, size_t len, const char *want)
{
	char out[ESC_MAX(64)];

	assert_true(len <= 64);
	assert_int_equal(escape_bytes(out, (const uint8_t *)in, len),
			 strlen(want));
	assert_string_equal(out, want);
}

static void
test_mapping(void **state)
{
	check("a/b c", 5, "a/b c");
	check("\\", 1, "\\\\");
	check("\n\x1b[2J", 5, "\\x0a\\x1b[2J");
	check("\x7f\xff", 2, "\\x7f\\xff");
	check("caf\xc3\xa9", 5, "caf\xc3\xa9"); /* UTF-8 as itself */
	check("\xc3", 1, "\\xc3");              /* cut sequence */
	check("\xc0\xaf", 2, "\\xc0\\xaf");     /* overlong */
	check("\xe2\x80\xae", 3, "\\u202e");    /* bidi override */
	check("\xc2\x85", 2, "\\u0085");        /* C1 control */
	check("x\0y", 3, "x\\x00y");
}

/* escape_json() is escape_bytes() with '"' and '\\' quoted for JSON. */
static void
test_json_agrees(void **state)
{
	static const char *const in[] = {"plain/path/12345678", "q\"uo\\te",
					 "\x01\xe2\x80\xae\xc3\xa9\xff",
					 "0123456789\n0123456789"};
	char esc[ESC_MAX(64)], json[ESC_JSON_MAX(64) + 1], want[256];
	size_t i, j, o, n;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		n = escape_bytes(esc, (const uint8_t *)in[i], strlen(in[i]));
		for (j = o = 0; j < n; j++) {
			if (esc[j] == '"' || esc[j] == '\\')
				want[o++] = '\\';
			want[o++] = esc[j];
		}
		want[o] = '\0';
		n = escape_json(json, (const uint8_t *)in[i], strlen(in[i]));
		json[n] = '\0';
		assert_string_equal(json, want);
	}
}

static void
test_log_cut_between_escapes(void **state)
{
	const uint8_t in[] = "ab\x1b\xe2\x80\xae";
	char out[16];
	size_t size;

	/* Whole: "ab\x1b\u202e" is 12 bytes and a NUL. */
	log_sanitize(out, 13, in, 6);
	assert_string_equal(out, "ab\\x1b\\u202e");
	/* Every shorter buffer ends on a whole escape. */
	for (size = 1; size < 13; size++) {
		memset(out, 'Z', sizeof(out));
		log_sanitize(out, size, in, 6);
		assert_true(strlen(out) < size);
		assert_true(strcmp(out, "") == 0 || strcmp(out, "a") == 0 ||
			    strcmp(out, "ab") == 0 ||
			    strcmp(out, "ab\\x1b") == 0);
	}
	memset(out, 'Z', sizeof(out));
	log_sanitize(out, 0, in, 6);
	assert_int_equal(out[0], 'Z');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mapping),
		cmocka_unit_test(test_json_agrees),
		cmocka_unit_test(test_log_cut_between_escapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
