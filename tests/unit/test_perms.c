// SPDX-License-Identifier: GPL-2.0-only
/*
 * Permissions: what guests may read, write and change, the read-only
 * socket, privileged requests, SET_TARGET and domain id reuse (XSA-322).
 * Conn 1 is dom0, conn 2 the read-only socket, conn 10 domain 5, conn 11
 * domain 6.
 */
#include "harness.h"

static struct harness *
two_guests(void)
{
	struct harness *h = h_new();

	h_domain(h, 10, 5);
	h_domain(h, 11, 6);
	return h;
}

static void
test_guest_access(void **state)
{
	struct harness *h = two_guests();
	static const struct h_row rows[] = {
		{1, 0, XS_WRITE, "/s|secret", "OK|"},
		{1, 0, XS_GET_PERMS, "/s|", "n0|"},
		{10, 0, XS_READ, "/s|", "EACCES|"},
		{10, 0, XS_WRITE, "/s|x", "EACCES|"},
		{10, 0, XS_MKDIR, "/s|", "EACCES|"},
		{10, 0, XS_RM, "/s|", "EACCES|"},
		{10, 0, XS_DIRECTORY, "/s|", "EACCES|"},
		{10, 0, XS_DIRECTORY_PART, "/s|0|", "EACCES|"},
		{10, 0, XS_GET_PERMS, "/s|", "EACCES|"},
		{10, 0, XS_SET_PERMS, "/s|n5|", "EACCES|"},
		{10, 0, XS_READ, "/|", "EACCES|"},
		{10, 0, XS_DIRECTORY, "/|", "EACCES|"},
		/* Read only. */
		{1, 0, XS_SET_PERMS, "/s|n0|r5|", "OK|"},
		{10, 0, XS_READ, "/s|", "secret"},
		{10, 0, XS_GET_PERMS, "/s|", "n0|r5|"},
		{10, 0, XS_DIRECTORY, "/s|", ""},
		{10, 0, XS_WRITE, "/s|x", "EACCES|"},
		{10, 0, XS_RM, "/s|", "EACCES|"},
		{11, 0, XS_READ, "/s|", "EACCES|"},
		/* Write only. */
		{1, 0, XS_SET_PERMS, "/s|n0|w5|", "OK|"},
		{10, 0, XS_READ, "/s|", "EACCES|"},
		{10, 0, XS_WRITE, "/s|w", "OK|"},
		{1, 0, XS_READ, "/s|", "w"},
		/* Both. */
		{1, 0, XS_SET_PERMS, "/s|n0|b5|", "OK|"},
		{10, 0, XS_READ, "/s|", "w"},
		{10, 0, XS_WRITE, "/s|b", "OK|"},
		{10, 0, XS_READ, "/s|", "b"},
		{11, 0, XS_READ, "/s|", "EACCES|"},
		/* Not the owner: no SET_PERMS. */
		{10, 0, XS_SET_PERMS, "/s|n0|b5|", "EACCES|"},
		/* The first entry is also everybody else's. */
		{1, 0, XS_SET_PERMS, "/s|r0|", "OK|"},
		{11, 0, XS_READ, "/s|", "b"},
		{11, 0, XS_WRITE, "/s|x", "EACCES|"},
		{1, 0, XS_SET_PERMS, "/s|b0|n6|", "OK|"},
		{10, 0, XS_WRITE, "/s|five", "OK|"},
		{11, 0, XS_READ, "/s|", "EACCES|"},
		/* Write access to the parent lets a guest remove a child. */
		{1, 0, XS_WRITE, "/s/c|", "OK|"},
		{1, 0, XS_SET_PERMS, "/s/c|n0|", "OK|"},
		{10, 0, XS_RM, "/s/c|", "EACCES|"},
		{1, 0, XS_SET_PERMS, "/s/c|n0|w5|", "OK|"},
		{10, 0, XS_RM, "/s/c|", "OK|"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

static void
test_owner(void **state)
{
	struct harness *h = two_guests();
	static const struct h_row rows[] = {
		/* The owner has full access whatever the entries say. */
		{1, 0, XS_WRITE, "/o|1", "OK|"},
		{1, 0, XS_SET_PERMS, "/o|n5|n5|", "OK|"},
		{10, 0, XS_READ, "/o|", "1"},
		{10, 0, XS_WRITE, "/o|2", "OK|"},
		{10, 0, XS_GET_PERMS, "/o|", "n5|n5|"},
		{10, 0, XS_SET_PERMS, "/o|n5|r6|", "OK|"},
		{11, 0, XS_READ, "/o|", "2"},
		{11, 0, XS_SET_PERMS, "/o|n5|b6|", "EACCES|"},
		/* Giving the node away is for dom0 only (XSA-352). */
		{10, 0, XS_SET_PERMS, "/o|n6|", "EPERM|"},
		{10, 0, XS_SET_PERMS, "/o|n0|", "EPERM|"},
		{10, 0, XS_GET_PERMS, "/o|", "n5|r6|"},
		{1, 0, XS_SET_PERMS, "/o|n6|", "OK|"},
		{10, 0, XS_READ, "/o|", "EACCES|"},
		{11, 0, XS_WRITE, "/o|3", "OK|"},
		{11, 0, XS_SET_PERMS, "/o|b6|", "OK|"},
		{10, 0, XS_READ, "/o|", "3"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

/* What a guest creates it owns; the other entries come from the parent. */
static void
test_created_nodes(void **state)
{
	struct harness *h = two_guests();
	static const struct h_row rows[] = {
		{1, 0, XS_MKDIR, "/shared|", "OK|"},
		{1, 0, XS_SET_PERMS, "/shared|r0|b5|w6|", "OK|"},
		{10, 0, XS_WRITE, "/shared/a/b|x", "OK|"},
		{10, 0, XS_GET_PERMS, "/shared/a|", "r5|b5|w6|"},
		{10, 0, XS_GET_PERMS, "/shared/a/b|", "r5|b5|w6|"},
		{11, 0, XS_WRITE, "/shared/c|y", "OK|"},
		{11, 0, XS_GET_PERMS, "/shared/c|", "r6|b5|w6|"},
		/* dom0's nodes keep the parent's owner. */
		{1, 0, XS_WRITE, "/shared/d|", "OK|"},
		{1, 0, XS_GET_PERMS, "/shared/d|", "r0|b5|w6|"},
		{1, 0, XS_WRITE, "/local/domain/5/e|", "OK|"},
		{1, 0, XS_GET_PERMS, "/local/domain/5/e|", "n5|"},
		{10, 0, XS_WRITE, "f|", "OK|"},
		{10, 0, XS_GET_PERMS, "f|", "n5|"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

/* Existence does not leak through an unreadable parent. */
static void
test_missing_under_unreadable(void **state)
{
	struct harness *h = two_guests();
	static const struct h_row rows[] = {
		{1, 0, XS_MKDIR, "/hidden/x|", "OK|"},
		{10, 0, XS_READ, "/hidden/missing|", "EACCES|"},
		{10, 0, XS_READ, "/hidden/x|", "EACCES|"},
		{10, 0, XS_READ, "/hidden/missing/deeper|", "EACCES|"},
		{10, 0, XS_DIRECTORY, "/hidden/missing|", "EACCES|"},
		{10, 0, XS_GET_PERMS, "/hidden/missing|", "EACCES|"},
		{10, 0, XS_WRITE, "/hidden/missing|1", "EACCES|"},
		{10, 0, XS_RM, "/hidden/missing|", "EACCES|"},
		{10, 0, XS_READ, "/nothing/at/all|", "EACCES|"},
		/* Readable parent: the truth. */
		{1, 0, XS_SET_PERMS, "/hidden|n0|r5|", "OK|"},
		{10, 0, XS_READ, "/hidden/missing|", "ENOENT|"},
		{10, 0, XS_READ, "/hidden/missing/deeper|", "ENOENT|"},
		/* Readable but not writable: creating is refused. */
		{10, 0, XS_WRITE, "/hidden/missing|1", "EACCES|"},
		{10, 0, XS_READ, "missing|", "ENOENT|"},
		{11, 0, XS_READ, "/local/domain/5/missing|", "EACCES|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

/* The read-only socket: no changes, everything else works. */
static void
test_read_only_socket(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_WRITE, "/r/x|1", "OK|"},
		{2, 0, XS_WRITE, "/r/x|2", "EROFS|"},
		{2, 0, XS_WRITE, "/r/new|2", "EROFS|"},
		{2, 0, XS_MKDIR, "/r/y|", "EROFS|"},
		{2, 0, XS_RM, "/r/x|", "EROFS|"},
		{2, 0, XS_SET_PERMS, "/r/x|n0|r1|", "EROFS|"},
		{2, 0, XS_READ, "/r/x|", "1"},
		{2, 0, XS_DIRECTORY, "/r|", "x|"},
		{2, 0, XS_GET_PERMS, "/r/x|", "n0|"},
		{2, 0, XS_WATCH, "/r|t|", "OK|"},
		{2, 0, H_EVENTS, NULL, "/r|t|"},
		{1, 0, XS_WRITE, "/r/x|3", "OK|"},
		{2, 0, H_EVENTS, NULL, "/r/x|t|"},
		{2, 0, XS_UNWATCH, "/r|t|", "OK|"},
		{2, 1, H_START, "", ""},
		{2, 1, XS_READ, "/r/x|", "3"},
		{2, 1, XS_WRITE, "/r/x|4", "EROFS|"},
		{2, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 0, XS_READ, "/r/x|", "3"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

/* dom0-only requests from a guest. */
static void
test_privileged_requests(void **state)
{
	struct harness *h = two_guests();
	static const struct h_row rows[] = {
		{10, 0, XS_INTRODUCE, "7|100|7|", "EACCES|"},
		{10, 0, XS_RELEASE, "6|", "EACCES|"},
		{10, 0, XS_RESUME, "6|", "EACCES|"},
		{10, 0, XS_SET_TARGET, "5|6|", "EACCES|"},
		{10, 0, XS_IS_DOMAIN_INTRODUCED, "6|", "EACCES|"},
		{10, 0, XS_CONTROL, "check|", "EACCES|"},
		{10, 0, XS_CONTROL, "quota|set|nodes|1|", "EACCES|"},
		{10, 0, XS_GET_QUOTA, "nodes|", "EACCES|"},
		{10, 0, XS_GET_QUOTA, "", "EACCES|"},
		{10, 0, XS_SET_QUOTA, "5|nodes|100000|", "EACCES|"},
		{10, 0, XS_GET_FEATURE, "", "EACCES|"},
		{10, 0, XS_SET_FEATURE, "7|1|", "EACCES|"},
		{10, 0, XS_SET_PERMS, "@releaseDomain|n0|r5|", "EACCES|"},
		/* What a guest may do. */
		{10, 0, XS_GET_DOMAIN_PATH, "5|", "/local/domain/5|"},
		{10, 0, XS_RESET_WATCHES, "", "OK|"},
		/* Nothing changed. */
		{1, 0, XS_IS_DOMAIN_INTRODUCED, "6|", "T|"},
		{1, 0, XS_IS_DOMAIN_INTRODUCED, "7|", "F|"},
		{1, 0, XS_GET_QUOTA, "5|nodes|", "1000|"},
		{1, 0, XS_GET_PERMS, "@releaseDomain|", "n0|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

/* SET_TARGET: domain 6 (a device model) acts for domain 5. */
static void
test_set_target(void **state)
{
	struct harness *h = two_guests();
	static const struct h_row rows[] = {
		{10, 0, XS_WRITE, "dm|x", "OK|"},
		{1, 0, XS_MKDIR, "/grant|", "OK|"},
		{1, 0, XS_SET_PERMS, "/grant|n0|r5|", "OK|"},
		{11, 0, XS_READ, "/local/domain/5/dm|", "EACCES|"},
		{11, 0, XS_READ, "/grant|", "EACCES|"},
		{1, 0, XS_SET_TARGET, "6|5|", "OK|"},
		/* Its target's nodes are its own... */
		{11, 0, XS_READ, "/local/domain/5/dm|", "x"},
		{11, 0, XS_WRITE, "/local/domain/5/dm|y", "OK|"},
		{11, 0, XS_WRITE, "/local/domain/5/new|z", "OK|"},
		{11, 0, XS_SET_PERMS, "/local/domain/5/dm|n5|r6|", "OK|"},
		{11, 0, XS_GET_PERMS, "/local/domain/5/dm|", "n5|r6|"},
		/* ... and what its target was granted, it has too. */
		{11, 0, XS_READ, "/grant|", ""},
		{11, 0, XS_WRITE, "/grant|", "EACCES|"},
		/* Not the other way round. */
		{10, 0, XS_READ, "/local/domain/6|", "EACCES|"},
		{10, 0, XS_READ, "/local/domain/5/dm|", "y"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

/*
 * XSA-322: an entry written for an earlier domain with the same id grants
 * nothing to the new one.
 */
static void
test_domid_reuse(void **state)
{
	struct harness *h = two_guests();
	static const struct h_row before[] = {
		{1, 0, XS_WRITE, "/old|v", "OK|"},
		{1, 0, XS_SET_PERMS, "/old|n0|b5|", "OK|"},
		{10, 0, XS_READ, "/old|", "v"},
		{1, 0, XS_SET_PERMS, "@releaseDomain|n0|r5|", "OK|"},
		{1, 0, XS_RELEASE, "5|", "OK|"},
		{1, 0, XS_IS_DOMAIN_INTRODUCED, "5|", "F|"},
		{1, 0, XS_INTRODUCE, "5|100|7|", "OK|"},
	};
	static const struct h_row after[] = {
		{12, 0, XS_READ, "/old|", "EACCES|"},
		{12, 0, XS_WRITE, "/old|x", "EACCES|"},
		{12, 0, XS_WATCH, "@releaseDomain|r|", "OK|"},
		{12, 0, H_EVENTS, NULL, "@releaseDomain|r|"},
		{1, 0, XS_RELEASE, "6|", "OK|"},
		{12, 0, H_EVENTS, NULL, ""},
		/* A new grant is for the new domain. */
		{1, 0, XS_SET_PERMS, "/old|n0|b5|", "OK|"},
		{12, 0, XS_READ, "/old|", "v"},
		{12, 0, XS_WRITE, "/old|w", "OK|"},
		{1, 0, XS_READ, "/old|", "w"},
	};
	/*
	 * A later version of the node, or a node made under it, is younger
	 * than the new domain: the old entry still grants it nothing.
	 */
	static const struct h_row rewritten[] = {
		{1, 0, XS_RELEASE, "5|", "OK|"},
		{1, 0, XS_INTRODUCE, "5|100|7|", "OK|"},
		{1, 0, XS_WRITE, "/old|z", "OK|"},
		{12, 0, XS_READ, "/old|", "EACCES|"},
		{1, 0, XS_WRITE, "/old/kid|k", "OK|"},
		{12, 0, XS_READ, "/old/kid|", "EACCES|"},
		{12, 0, XS_WRITE, "/old/kid|x", "EACCES|"},
		{1, 0, XS_GET_PERMS, "/old/kid|", "n0|b5|"},
		{1, 0, XS_SET_PERMS, "/old/kid|n0|b5|", "OK|"},
		{12, 0, XS_READ, "/old/kid|", "k"},
	};

	H_ROWS(h, before);
	h_guest(h, 12, 5);
	H_ROWS(h, after);
	H_ROWS(h, rewritten);
	h_free(h);
}

/*
 * The toolstack prepares a domain's nodes (owned by it, or granting it
 * access) before it INTRODUCEs the domain, as libxl does. Without a
 * hypervisor to ask, the store knows of domain 5 only once it is
 * introduced: no node may be given to it before, and an entry naming it
 * is ignored for good (XSA-417; with a hypervisor the domain exists and
 * both hold, as tests/xsa/test_xsa417.py shows).
 */
static void
test_nodes_prepared_before_introduce(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_MKDIR, "/local/domain/5|", "OK|"},
		{1, 0, XS_SET_PERMS, "/local/domain/5|n0|r5|", "OK|"},
		{1, 0, XS_MKDIR, "/local/domain/5/data|", "OK|"},
		{1, 0, XS_SET_PERMS, "/local/domain/5/data|n5|", "ENOENT|"},
		{1, 0, XS_INTRODUCE, "5|100|7|", "OK|"},
		{1, 0, XS_SET_PERMS, "/local/domain/5/data|n5|", "OK|"},
		{10, 0, XS_READ, "/local/domain/5|", "EACCES|"},
		{1, 0, XS_GET_PERMS, "/local/domain/5|", "n0|r5|"},
		{1, 0, XS_SET_PERMS, "/local/domain/5|n0|r5|", "OK|"},
		{10, 0, XS_READ, "/local/domain/5|", ""},
		{10, 0, XS_WRITE, "data/x|1", "OK|"},
		{10, 0, XS_READ, "data/x|", "1"},
		{10, 0, XS_GET_PERMS, "data/x|", "n5|"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	h_guest(h, 10, 5);
	H_ROWS(h, rows);
	h_free(h);
}

/* An access entry written once the domain is introduced holds. */
static void
test_grants_prepared_before_introduce(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_MKDIR, "/local/domain/5|", "OK|"},
		{1, 0, XS_SET_PERMS, "/local/domain/5|n0|b5|", "OK|"},
		{1, 0, XS_INTRODUCE, "5|100|7|", "OK|"},
		{10, 0, XS_READ, "/local/domain/5|", "EACCES|"},
		{1, 0, XS_SET_PERMS, "/local/domain/5|n0|b5|", "OK|"},
		{10, 0, XS_READ, "/local/domain/5|", ""},
		{10, 0, XS_WRITE, "x|1", "OK|"},
		{10, 0, XS_GET_PERMS, "x|", "n5|b5|"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	h_guest(h, 10, 5);
	H_ROWS(h, rows);
	h_free(h);
}

/* Permission entries per node: the owner plus five others by default. */
static void
test_perms_quota(void **state)
{
	struct harness *h = two_guests();
	static const struct h_row rows[] = {
		{10, 0, XS_WRITE, "p|", "OK|"},
		{10, 0, XS_SET_PERMS, "p|n5|r1|r2|r3|r4|r6|", "OK|"},
		{10, 0, XS_GET_PERMS, "p|", "n5|r1|r2|r3|r4|r6|"},
		{10, 0, XS_SET_PERMS, "p|n5|r1|r2|r3|r4|r6|r7|", "ENOSPC|"},
		{10, 0, XS_GET_PERMS, "p|", "n5|r1|r2|r3|r4|r6|"},
		/* dom0 has no such quota. */
		{1, 0, XS_SET_PERMS,
		 "/local/domain/5/p|n5|r1|r2|r3|r4|r6|r7|r8|r9|", "OK|"},
		{1, 0, XS_SET_QUOTA, "5|permissions|1|", "OK|"},
		{10, 0, XS_SET_PERMS, "p|n5|r1|", "OK|"},
		{10, 0, XS_SET_PERMS, "p|n5|r1|r2|", "ENOSPC|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_access),
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_created_nodes),
		cmocka_unit_test(test_missing_under_unreadable),
		cmocka_unit_test(test_read_only_socket),
		cmocka_unit_test(test_privileged_requests),
		cmocka_unit_test(test_set_target),
		cmocka_unit_test(test_domid_reuse),
		cmocka_unit_test(test_nodes_prepared_before_introduce),
		cmocka_unit_test(test_grants_prepared_before_introduce),
		cmocka_unit_test(test_perms_quota),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
