// SPDX-License-Identifier: GPL-2.0-only
/*
 * Domains: INTRODUCE, RELEASE, RESUME, SET_TARGET, IS_DOMAIN_INTRODUCED,
 * GET_DOMAIN_PATH, features, and what happens to a released domain's
 * nodes.
 */
#include "harness.h"

static void
test_introduce_release(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_IS_DOMAIN_INTRODUCED, "5|", "F|"},
		{1, 0, XS_INTRODUCE, "5|100|7|", "OK|"},
		{1, 0, XS_IS_DOMAIN_INTRODUCED, "5|", "T|"},
		{1, 0, XS_IS_DOMAIN_INTRODUCED, "6|", "F|"},
		{1, 0, XS_INTRODUCE, "6|200|8|", "OK|"},
		{1, 0, XS_IS_DOMAIN_INTRODUCED, "6|", "T|"},
		{1, 0, XS_RELEASE, "5|", "OK|"},
		{1, 0, XS_IS_DOMAIN_INTRODUCED, "5|", "F|"},
		{1, 0, XS_IS_DOMAIN_INTRODUCED, "6|", "T|"},
		{1, 0, XS_RELEASE, "5|", "ENOENT|"},
		{1, 0, XS_RESUME, "5|", "ENOENT|"},
		{1, 0, XS_RESUME, "6|", "OK|"},
		/* The id can be used again. */
		{1, 0, XS_INTRODUCE, "5|100|7|", "OK|"},
		{1, 0, XS_IS_DOMAIN_INTRODUCED, "5|", "T|"},
		/* The largest real domain id, and the first reserved one. */
		{1, 0, XS_INTRODUCE, "32751|1|1|", "OK|"},
		{1, 0, XS_IS_DOMAIN_INTRODUCED, "32751|", "T|"},
		{1, 0, XS_INTRODUCE, "32752|1|1|", "EINVAL|"},
		{1, 0, XS_INTRODUCE, "65535|1|1|", "EINVAL|"},
		{1, 0, XS_INTRODUCE, "65536|1|1|", "EINVAL|"},
		/* Never introduced, as C xenstored says. */
		{1, 0, XS_RELEASE, "32752|", "ENOENT|"},
		{1, 0, XS_RELEASE, "0|", "EINVAL|"},
		/* Read-only socket: no domain management. */
		{2, 0, XS_INTRODUCE, "9|1|1|", "EROFS|"},
		{2, 0, XS_RELEASE, "6|", "EROFS|"},
		{1, 0, XS_IS_DOMAIN_INTRODUCED, "9|", "F|"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

static void
test_get_domain_path(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_GET_DOMAIN_PATH, "0|", "/local/domain/0|"},
		{1, 0, XS_GET_DOMAIN_PATH, "7|", "/local/domain/7|"},
		{1, 0, XS_GET_DOMAIN_PATH, "65535|", "/local/domain/65535|"},
		{1, 0, XS_GET_DOMAIN_PATH, "|", "EINVAL|"},
		{10, 0, XS_GET_DOMAIN_PATH, "5|", "/local/domain/5|"},
		{10, 0, XS_GET_DOMAIN_PATH, "6|", "/local/domain/6|"},
		{2, 0, XS_GET_DOMAIN_PATH, "5|", "/local/domain/5|"},
	};

	h_domain(h, 10, 5);
	H_ROWS(h, rows);
	h_free(h);
}

/* SET_TARGET names two introduced domains. */
static void
test_set_target_args(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_SET_TARGET, "5|6|", "ENOENT|"},
		{1, 0, XS_INTRODUCE, "5|100|7|", "OK|"},
		{1, 0, XS_SET_TARGET, "5|6|", "ENOENT|"},
		{1, 0, XS_INTRODUCE, "6|100|7|", "OK|"},
		{1, 0, XS_SET_TARGET, "5|6|", "OK|"},
		{1, 0, XS_SET_TARGET, "5|x|", "EINVAL|"},
		{1, 0, XS_SET_TARGET, "x|6|", "EINVAL|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

/* The target relation ends with the domain. */
static void
test_set_target_released(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{10, 0, XS_WRITE, "x|1", "OK|"},
		{1, 0, XS_SET_TARGET, "6|5|", "OK|"},
		{11, 0, XS_READ, "/local/domain/5/x|", "1"},
		{1, 0, XS_RELEASE, "6|", "OK|"},
		{1, 0, XS_INTRODUCE, "6|100|7|", "OK|"},
	};
	static const struct h_row after[] = {
		{12, 0, XS_READ, "/local/domain/5/x|", "EACCES|"},
	};

	h_domain(h, 10, 5);
	h_domain(h, 11, 6);
	H_ROWS(h, rows);
	h_guest(h, 12, 6);
	H_ROWS(h, after);
	h_free(h);
}

static void
test_features(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_GET_FEATURE, "", "3|"},
		{1, 0, XS_SET_FEATURE, "5|2|", "OK|"},
		{1, 0, XS_GET_FEATURE, "5|", "2|"},
		{1, 0, XS_SET_FEATURE, "5|0|", "OK|"},
		{1, 0, XS_GET_FEATURE, "5|", "0|"},
		{1, 0, XS_SET_FEATURE, "5|3|", "OK|"},
		{1, 0, XS_SET_FEATURE, "5|8|", "EINVAL|"},
		{1, 0, XS_GET_FEATURE, "5|", "3|"},
		{1, 0, XS_INTRODUCE, "5|100|7|", "OK|"},
		{1, 0, XS_SET_FEATURE, "5|1|", "EBUSY|"},
		{1, 0, XS_GET_FEATURE, "5|", "3|"},
		{1, 0, XS_GET_FEATURE, "x|", "EINVAL|"},
		{2, 0, XS_GET_FEATURE, "", "3|"},
		{2, 0, XS_SET_FEATURE, "6|1|", "EROFS|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

/*
 * Nodes owned by a domain go when the domain goes (xenstore.txt: "When a
 * domain is being removed from Xenstore nodes owned by that domain will be
 * removed together with all of those nodes' children").
 */
static void
test_release_removes_owned_nodes(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_MKDIR, "/local/domain/5/device|", "OK|"},
		{10, 0, XS_WRITE, "data/x|1", "OK|"},
		{1, 0, XS_MKDIR, "/shared|", "OK|"},
		{1, 0, XS_SET_PERMS, "/shared|n0|b5|", "OK|"},
		{10, 0, XS_WRITE, "/shared/by5/sub|1", "OK|"},
		{1, 0, XS_WRITE, "/shared/by0|1", "OK|"},
		{1, 0, XS_RELEASE, "5|", "OK|"},
		{1, 0, XS_READ, "/local/domain/5/data/x|", "ENOENT|"},
		{1, 0, XS_READ, "/shared/by5|", "ENOENT|"},
		{1, 0, XS_READ, "/shared/by0|", "1"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	h_domain(h, 10, 5);
	H_ROWS(h, rows);
	h_free(h);
}

/*
 * With -K they stay, given to dom0; an entry already meant for an
 * earlier domain 6 still grants the one now called 6 nothing.
 */
static void
test_release_keep_orphans(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_MKDIR, "/shared|", "OK|"},
		{1, 0, XS_SET_PERMS, "/shared|n0|b5|", "OK|"},
		{10, 0, XS_WRITE, "/shared/by5|1", "OK|"},
		{1, 0, XS_GET_PERMS, "/shared/by5|", "n5|b5|"},
		{1, 0, XS_SET_PERMS, "/shared/by5|n5|b5|r6|", "OK|"},
		{1, 0, XS_RELEASE, "6|", "OK|"},
		{1, 0, XS_INTRODUCE, "6|101|8|", "OK|"},
		{1, 0, XS_RELEASE, "5|", "OK|"},
		{1, 0, XS_READ, "/shared/by5|", "1"},
		{1, 0, XS_GET_PERMS, "/shared/by5|", "n0|b5|r6|"},
		{11, 0, XS_READ, "/shared/by5|", "EACCES|"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	h->e->keep_orphans = true;
	h_domain(h, 10, 5);
	h_domain(h, 11, 6);
	H_ROWS(h, rows);
	h_free(h);
}

/* What CONTROL quota <domid> reports follows what the domain owns. */
static void
test_domain_accounting(void **state)
{
	struct harness *h = h_new();
	struct h_msg *m;

	h_domain(h, 10, 5);
	h_expect(h, 10, 0, XS_WRITE, "a/b|1", "OK|");
	h_expect(h, 10, 0, XS_WATCH, "a|t|", "OK|");
	m = h_req(h, 1, 0, XS_CONTROL, "quota|5|");
	assert_int_equal(m->type, XS_CONTROL);
	assert_non_null(strstr(m->payload, "Domain 5"));
	assert_non_null(strstr(m->payload, "3 / 1000"));
	assert_non_null(strstr(m->payload, "1 / 128"));
	h_expect(h, 10, 0, XS_RM, "a|", "OK|");
	h_expect(h, 10, 0, XS_UNWATCH, "a|t|", "OK|");
	m = h_req(h, 1, 0, XS_CONTROL, "quota|5|");
	assert_non_null(strstr(m->payload, "1 / 1000"));
	assert_non_null(strstr(m->payload, "0 / 128"));
	/* dom0 giving a node to a guest moves it between accounts. */
	h_expect(h, 1, 0, XS_WRITE, "/gift|", "OK|");
	h_expect(h, 1, 0, XS_SET_PERMS, "/gift|n5|", "OK|");
	m = h_req(h, 1, 0, XS_CONTROL, "quota|5|");
	assert_non_null(strstr(m->payload, "2 / 1000"));
	h_expect(h, 1, 0, XS_CONTROL, "check|", "OK|");
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_introduce_release),
		cmocka_unit_test(test_get_domain_path),
		cmocka_unit_test(test_set_target_args),
		cmocka_unit_test(test_set_target_released),
		cmocka_unit_test(test_features),
		cmocka_unit_test(test_release_removes_owned_nodes),
		cmocka_unit_test(test_release_keep_orphans),
		cmocka_unit_test(test_domain_accounting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
