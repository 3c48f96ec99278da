// SPDX-License-Identifier: GPL-2.0-only
/*
 * Paths: relative ones, the characters allowed, the length limits, the
 * path-max quota and a maximally deep path.
 */
#include "harness.h"

static void
test_relative_paths(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{10, 0, XS_WRITE, "data/x|1", "OK|"},
		{10, 0, XS_READ, "data/x|", "1"},
		{1, 0, XS_READ, "/local/domain/5/data/x|", "1"},
		{10, 0, XS_READ, "/local/domain/5/data/x|", "1"},
		{10, 0, XS_DIRECTORY, "data|", "x|"},
		{10, 0, XS_GET_PERMS, "data/x|", "n5|"},
		{10, 0, XS_MKDIR, "m|", "OK|"},
		{1, 0, XS_READ, "/local/domain/5/m|", ""},
		{10, 0, XS_RM, "data|", "OK|"},
		{1, 0, XS_READ, "/local/domain/5/data/x|", "ENOENT|"},
		/* dom0's relative paths are under /local/domain/0. */
		{1, 0, XS_WRITE, "y|2", "OK|"},
		{1, 0, XS_READ, "/local/domain/0/y|", "2"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	h_domain(h, 10, 5);
	H_ROWS(h, rows);
	h_free(h);
}

static void
test_invalid_paths(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_WRITE, "/ok/A-Z_a-z@0-9|", "OK|"},
		{1, 0, XS_READ, "/ok/A-Z_a-z@0-9|", ""},
		{1, 0, XS_WRITE, "|x", "EINVAL|"},
		{1, 0, XS_READ, "|", "EINVAL|"},
		{1, 0, XS_WRITE, "//|x", "EINVAL|"},
		{1, 0, XS_WRITE, "/a//b|x", "EINVAL|"},
		{1, 0, XS_WRITE, "/a/|x", "EINVAL|"},
		{1, 0, XS_WRITE, "/local/domain/|x", "EINVAL|"},
		{1, 0, XS_READ, "/local/domain/|", "EINVAL|"},
		{1, 0, XS_MKDIR, "/local/domain/|", "EINVAL|"},
		{1, 0, XS_RM, "/local/domain/|", "EINVAL|"},
		{1, 0, XS_DIRECTORY, "/local/domain/|", "EINVAL|"},
		{1, 0, XS_GET_PERMS, "/local/domain/|", "EINVAL|"},
		{1, 0, XS_SET_PERMS, "/local/domain/|n0|", "EINVAL|"},
		{1, 0, XS_WATCH, "/local/domain/|t|", "EINVAL|"},
		{1, 0, XS_WRITE, "/a b|x", "EINVAL|"},
		{1, 0, XS_WRITE, "/a.b|x", "EINVAL|"},
		{1, 0, XS_WRITE, "/a+b|x", "EINVAL|"},
		{1, 0, XS_WRITE, "/a:b|x", "EINVAL|"},
		{1, 0, XS_WRITE, "/a\\b|x", "EINVAL|"},
		{1, 0, XS_WRITE, "/a\nb|x", "EINVAL|"},
		{1, 0, XS_WRITE, "/a\xc3\xa9|x", "EINVAL|"},
		{1, 0, XS_WRITE, "a//b|x", "EINVAL|"},
		{1, 0, XS_WRITE, "a/|x", "EINVAL|"},
		{10, 0, XS_WRITE, "|x", "EINVAL|"},
		{10, 0, XS_WRITE, "x/|x", "EINVAL|"},
		{10, 0, XS_WRITE, "x//y|x", "EINVAL|"},
		{10, 0, XS_WRITE, "x y|x", "EINVAL|"},
		{10, 0, XS_WRITE, "/local/domain/5/|x", "EINVAL|"},
		{1, 0, XS_DIRECTORY, "/|", "local|ok|tool|"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	h_domain(h, 10, 5);
	H_ROWS(h, rows);
	h_free(h);
}

/* "/a/a/.../a" of exactly len bytes (len even). */
static char *
deep_path(char *buf, size_t len)
{
	return h_repeat(buf, "/a", len / 2);
}

static void
test_absolute_length_limit(void **state)
{
	struct harness *h = h_new();
	static char p[4096], req[4200];
	static const char *const big = "/b/";

	/* 3072 bytes: fine for dom0; 3073: too long. */
	memcpy(p, big, 3);
	memset(p + 3, 'x', 3069);
	p[3072] = '\0';
	snprintf(req, sizeof(req), "%s|v", p);
	h_expect(h, 1, 0, XS_WRITE, req, "OK|");
	snprintf(req, sizeof(req), "%s|", p);
	h_expect(h, 1, 0, XS_READ, req, "v");
	memset(p + 3, 'x', 3070);
	p[3073] = '\0';
	snprintf(req, sizeof(req), "%s|v", p);
	h_expect(h, 1, 0, XS_WRITE, req, "EINVAL|");
	snprintf(req, sizeof(req), "%s|", p);
	h_expect(h, 1, 0, XS_READ, req, "EINVAL|");
	h_expect(h, 1, 0, XS_MKDIR, req, "EINVAL|");
	h_expect(h, 1, 0, XS_RM, req, "EINVAL|");
	snprintf(req, sizeof(req), "%s|t|", p);
	h_expect(h, 1, 0, XS_WATCH, req, "EINVAL|");
	h_free(h);
}

/*
 * Fills len bytes of p with a path of 99-byte components: one long name
 * would overflow its parent's node-size quota before the path-max one.
 */
static void
fill_components(char *p, int c, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (i % 100 == 99 && i + 1 < len) ? '/' : (char)c;
	p[len] = '\0';
}

/*
 * The path-max quota (2048) counts what a guest adds below
 * /local/domain/<id>/, the way C xenstored does; relative paths of up to
 * XENSTORE_REL_PATH_MAX (2048) bytes are thus fine.
 */
static void
test_path_max_quota_home(void **state)
{
	struct harness *h = h_new();
	static char rel[4096], req[4200];

	h_domain(h, 10, 5);
	/* 2048 bytes below the home: the most allowed. */
	fill_components(rel, 'x', 2048);
	snprintf(req, sizeof(req), "%s|v", rel);
	h_expect(h, 10, 0, XS_WRITE, req, "OK|");
	snprintf(req, sizeof(req), "/local/domain/5/%s|", rel);
	h_expect(h, 10, 0, XS_READ, req, "v");
	/* 2049: one too many. */
	fill_components(rel, 'y', 2049);
	snprintf(req, sizeof(req), "/local/domain/5/%s|v", rel);
	h_expect(h, 10, 0, XS_WRITE, req, "EINVAL|");
	h_free(h);
}

/* Outside any home the whole path counts. */
static void
test_path_max_quota_outside(void **state)
{
	struct harness *h = h_new();
	static char p[4096], req[4200];
	static const struct h_row rows[] = {
		{1, 0, XS_MKDIR, "/pub|", "OK|"},
		{1, 0, XS_SET_PERMS, "/pub|n0|b5|", "OK|"},
	};

	h_domain(h, 10, 5);
	H_ROWS(h, rows);
	memcpy(p, "/pub/", 5);
	fill_components(p + 5, 'x', 2043);
	snprintf(req, sizeof(req), "%s|v", p);
	h_expect(h, 10, 0, XS_WRITE, req, "OK|");
	fill_components(p + 5, 'z', 2044);
	snprintf(req, sizeof(req), "%s|v", p);
	h_expect(h, 10, 0, XS_WRITE, req, "EINVAL|");
	snprintf(req, sizeof(req), "%s|", p);
	h_expect(h, 10, 0, XS_READ, req, "EINVAL|");
	/* dom0 has no path-max quota. */
	snprintf(req, sizeof(req), "%s|v", p);
	h_expect(h, 1, 0, XS_WRITE, req, "OK|");
	h_free(h);
}

/* The path-max quota is a quota: it can be changed. */
static void
test_path_max_quota_set(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_SET_QUOTA, "5|path-max|4|", "OK|"},
		{10, 0, XS_WRITE, "abcd|1", "OK|"},
		{10, 0, XS_WRITE, "abcde|1", "EINVAL|"},
		{10, 0, XS_WRITE, "/local/domain/5/abcd|2", "OK|"},
		{10, 0, XS_READ, "abcd|", "2"},
	};

	h_domain(h, 10, 5);
	H_ROWS(h, rows);
	h_free(h);
}

/* The deepest path a request may name, and everything done on it. */
static void
test_deepest_path(void **state)
{
	struct harness *h = h_new();
	static char p[4096], q[4096], req[4200];
	struct h_msg *m;
	uint32_t t;

	deep_path(p, 3072);
	h_expect(h, 1, 0, XS_WATCH, "/|root|", "OK|");
	h_take_events(h, 1);
	snprintf(req, sizeof(req), "%s|deep", p);
	h_expect(h, 1, 0, XS_WRITE, req, "OK|");
	snprintf(req, sizeof(req), "%s|", p);
	h_expect(h, 1, 0, XS_READ, req, "deep");
	h_expect(h, 1, 0, XS_DIRECTORY, req, "");
	h_expect(h, 1, 0, XS_GET_PERMS, req, "n0|");
	snprintf(req, sizeof(req), "%s|t|", p);
	h_expect(h, 1, 0, XS_WATCH, req, "OK|");
	deep_path(q, 3070);
	snprintf(req, sizeof(req), "%s|", q);
	h_expect(h, 1, 0, XS_DIRECTORY, req, "a|");
	h_expect(h, 1, 0, XS_READ, req, "");
	snprintf(req, sizeof(req), "%s|0|", q);
	m = h_req(h, 1, 0, XS_DIRECTORY_PART, req);
	assert_int_equal(m->type, XS_DIRECTORY_PART);
	h_expect(h, 1, 0, XS_CONTROL, "check|", "OK|");
	m = h_req(h, 1, 0, XS_CONTROL, "memreport|");
	assert_int_equal(m->type, XS_CONTROL);
	/* A transaction over it, then a second, overlapping node. */
	t = h_txn(h, 1);
	snprintf(req, sizeof(req), "%s|", p);
	h_expect(h, 1, t, XS_READ, req, "deep");
	snprintf(req, sizeof(req), "%s|tx", p);
	h_expect(h, 1, t, XS_WRITE, req, "OK|");
	h_expect(h, 1, t, XS_TRANSACTION_END, "T|", "OK|");
	snprintf(req, sizeof(req), "%s|", p);
	h_expect(h, 1, 0, XS_READ, req, "tx");
	q[3070] = '/';
	q[3071] = 'b';
	q[3072] = '\0';
	snprintf(req, sizeof(req), "%s|other", q);
	h_expect(h, 1, 0, XS_WRITE, req, "OK|");
	h_take_events(h, 1);
	/* Remove it all from the top. */
	h_expect(h, 1, 0, XS_RM, "/a|", "OK|");
	/* The watch on the removed top and the one on the deep node. */
	snprintf(req, sizeof(req), "/a|root|\n%s|t|", p);
	assert_true(h_same_lines(h_take_events(h, 1), req));
	h_expect(h, 1, 0, XS_READ, "/a|", "ENOENT|");
	h_expect(h, 1, 0, XS_DIRECTORY, "/|", "tool|");
	h_expect(h, 1, 0, XS_CONTROL, "check|", "OK|");
	h_free(h);
}

/* The same through a guest, within its own path-max. */
static void
test_deepest_guest_path(void **state)
{
	struct harness *h = h_new();
	static char rel[4096], req[4200];
	uint32_t t;

	h_domain(h, 10, 5);
	/* "abc/abc/.../abc": 2047 bytes below the home, 512 nodes. */
	h_repeat(rel, "abc/", 512);
	rel[2047] = '\0';
	snprintf(req, sizeof(req), "%s|v", rel);
	h_expect(h, 10, 0, XS_WRITE, req, "OK|");
	snprintf(req, sizeof(req), "%s|", rel);
	h_expect(h, 10, 0, XS_READ, req, "v");
	h_expect(h, 10, 0, XS_DIRECTORY, req, "");
	h_expect(h, 1, 0, XS_CONTROL, "check|", "OK|");
	t = h_txn(h, 10);
	h_expect(h, 10, t, XS_RM, "abc|", "OK|");
	h_expect(h, 10, t, XS_READ, req, "ENOENT|");
	h_expect(h, 10, 0, XS_READ, req, "v");
	h_expect(h, 10, t, XS_TRANSACTION_END, "T|", "OK|");
	h_expect(h, 10, 0, XS_READ, "abc|", "ENOENT|");
	h_expect(h, 1, 0, XS_CONTROL, "check|", "OK|");
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_invalid_paths),
		cmocka_unit_test(test_absolute_length_limit),
		cmocka_unit_test(test_path_max_quota_home),
		cmocka_unit_test(test_path_max_quota_outside),
		cmocka_unit_test(test_path_max_quota_set),
		cmocka_unit_test(test_deepest_path),
		cmocka_unit_test(test_deepest_guest_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
