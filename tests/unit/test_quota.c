// SPDX-License-Identifier: GPL-2.0-only
/*
 * Quotas: nodes per domain, node size, permissions per node, GET_QUOTA and
 * SET_QUOTA, CONTROL quota, and the log line of a quota hit. Conn 10 is
 * domain 5, which owns its home /local/domain/5 (one node).
 */
#include "harness.h"

/* Writes n nodes "<prefix><i>" from conn, all expecting OK. */
static void
write_nodes(struct harness *h, uint32_t conn, const char *prefix, int n)
{
	char req[128];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(req, sizeof(req), "%s%d|", prefix, i);
		h_expect(h, conn, 0, XS_WRITE, req, "OK|");
		h_flush(h);
	}
}

static void
test_nodes_quota(void **state)
{
	struct harness *h = h_new();
	struct h_msg *m;

	h_domain(h, 10, 5);
	/* 999 children's names overflow the home's node-size quota: lift it
	 * to see the nodes quota alone. */
	h_expect(h, 1, 0, XS_SET_QUOTA, "5|node-size|0|", "OK|");
	/* The home plus 999: the default quota of 1000. */
	write_nodes(h, 10, "n", 999);
	h_expect(h, 10, 0, XS_WRITE, "one-more|", "ENOSPC|");
	h_expect(h, 10, 0, XS_MKDIR, "one-more|", "ENOSPC|");
	h_expect(h, 10, 0, XS_READ, "one-more|", "ENOENT|");
	assert_non_null(strstr(h->lastlog, "domain 5"));
	/* Changing existing nodes is fine. */
	h_expect(h, 10, 0, XS_WRITE, "n0|changed", "OK|");
	/* Removing makes room. */
	h_expect(h, 10, 0, XS_RM, "n0|", "OK|");
	h_expect(h, 10, 0, XS_WRITE, "one-more|", "OK|");
	h_expect(h, 10, 0, XS_WRITE, "two-more|", "ENOSPC|");
	m = h_req(h, 1, 0, XS_CONTROL, "quota|5|");
	assert_int_equal(m->type, XS_CONTROL);
	assert_non_null(strstr(m->payload, "1000 / 1000"));
	h_expect(h, 1, 0, XS_CONTROL, "check|", "OK|");
	h_free(h);
}

/* Creating several nodes at once counts them all. */
static void
test_nodes_quota_parents(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_SET_QUOTA, "5|nodes|4|", "OK|"},
		{10, 0, XS_WRITE, "a/b/c/d|", "ENOSPC|"},
		{10, 0, XS_READ, "a|", "ENOENT|"},
		{10, 0, XS_WRITE, "a/b/c|", "OK|"},
		{10, 0, XS_WRITE, "a/x|", "ENOSPC|"},
		/* Nodes dom0 creates in a guest's home are the guest's. */
		{1, 0, XS_RM, "/local/domain/5/a/b|", "OK|"},
		{1, 0, XS_WRITE, "/local/domain/5/a/dom0/made|", "OK|"},
		{10, 0, XS_WRITE, "a/y|", "ENOSPC|"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	h_domain(h, 10, 5);
	H_ROWS(h, rows);
	h_free(h);
}

static void
test_dom0_has_no_nodes_quota(void **state)
{
	struct harness *h = h_new();

	write_nodes(h, 1, "/many/n", 1100);
	h_expect(h, 1, 0, XS_CONTROL, "check|", "OK|");
	h_free(h);
}

/* Node size: data, permissions (8 bytes each) and children names. */
static void
test_node_size_quota(void **state)
{
	struct harness *h = h_new();
	static char req[4200];

	h_domain(h, 10, 5);
	/* One permission entry: 8 + 2040 bytes of data make 2048. */
	memcpy(req, "big|", 4);
	memset(req + 4, 'v', 2040);
	req[4 + 2040] = '\0';
	h_expect(h, 10, 0, XS_WRITE, req, "OK|");
	memset(req + 4, 'w', 2041);
	req[4 + 2041] = '\0';
	h_expect(h, 10, 0, XS_WRITE, req, "ENOSPC|");
	memcpy(req, "new|", 4);
	h_expect(h, 10, 0, XS_WRITE, req, "ENOSPC|");
	h_expect(h, 10, 0, XS_READ, "new|", "ENOENT|");
	assert_non_null(strstr(h->lastlog, "domain 5"));
	/* Two entries: 16 bytes. */
	h_expect(h, 10, 0, XS_SET_PERMS, "big|n5|r6|", "ENOSPC|");
	h_expect(h, 10, 0, XS_GET_PERMS, "big|", "n5|");
	/* dom0 has no such quota. */
	memcpy(req, "/local/domain/5/huge|", 21);
	memset(req + 21, 'x', 4000);
	req[21 + 4000] = '\0';
	h_expect(h, 1, 0, XS_WRITE, req, "OK|");
	h_expect(h, 1, 0, XS_CONTROL, "check|", "OK|");
	h_free(h);
}

/* Children names count against their parent's size. */
static void
test_node_size_quota_children(void **state)
{
	struct harness *h = h_new();
	static char req[4200];

	h_domain(h, 10, 5);
	/* 8 + 2030 = 2038 bytes... */
	memcpy(req, "p|", 2);
	memset(req + 2, 'v', 2030);
	req[2 + 2030] = '\0';
	h_expect(h, 10, 0, XS_WRITE, req, "OK|");
	/* ... + "123456789" and its NUL = 2048: fits. */
	h_expect(h, 10, 0, XS_WRITE, "p/123456789|", "OK|");
	/* One more byte of names would not. */
	h_expect(h, 10, 0, XS_WRITE, "p/x|", "ENOSPC|");
	h_expect(h, 10, 0, XS_DIRECTORY, "p|", "123456789|");
	h_free(h);
}

static void
test_node_size_quota_set(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_SET_QUOTA, "5|node-size|10|", "OK|"},
		{10, 0, XS_WRITE, "a|12", "OK|"},
		{10, 0, XS_WRITE, "a|123", "ENOSPC|"},
		{10, 0, XS_READ, "a|", "12"},
		{1, 0, XS_SET_QUOTA, "5|node-size|0|", "OK|"},
		{10, 0, XS_WRITE, "a|123", "OK|"},
	};

	h_domain(h, 10, 5);
	H_ROWS(h, rows);
	h_free(h);
}

static void
test_perms_per_node(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{10, 0, XS_WRITE, "p|", "OK|"},
		{10, 0, XS_SET_PERMS, "p|n5|r1|r2|r3|r4|r6|", "OK|"},
		{10, 0, XS_SET_PERMS, "p|n5|r1|r2|r3|r4|r6|r7|", "ENOSPC|"},
		{1, 0, H_LOG, NULL, "domain 5"},
		{10, 0, XS_GET_PERMS, "p|", "n5|r1|r2|r3|r4|r6|"},
		{1, 0, XS_SET_QUOTA, "permissions|7|", "OK|"},
		{10, 0, XS_SET_PERMS, "p|n5|r1|r2|r3|r4|r6|r7|", "OK|"},
	};

	h_domain(h, 10, 5);
	H_ROWS(h, rows);
	h_free(h);
}

/*
 * The domains a SET_PERMS names are recorded for good (their generation
 * says which entries are theirs): not for a request refused for its quota
 * or its permissions.
 */
static void
test_perms_refused_record_nothing(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{10, 0, XS_WRITE, "p|", "OK|"},
		{10, 0, XS_SET_PERMS, "p|n5|r101|r102|r103|r104|r105|r106|",
		 "ENOSPC|"},
		{1, 0, XS_CONTROL, "quota|101|", "ENOENT|"},
		{1, 0, XS_CONTROL, "quota|106|", "ENOENT|"},
		{1, 0, XS_WRITE, "/dom0|", "OK|"},
		{10, 0, XS_SET_PERMS, "/dom0|n5|r107|", "EACCES|"},
		{1, 0, XS_CONTROL, "quota|107|", "ENOENT|"},
		/*
		 * Allowed, but no domain 108 exists (none does here but those
		 * introduced): the entry is ignored and nothing recorded.
		 */
		{10, 0, XS_SET_PERMS, "p|n5|r108|", "OK|"},
		{1, 0, XS_CONTROL, "quota|108|", "ENOENT|"},
	};

	h_domain(h, 10, 5);
	H_ROWS(h, rows);
	h_free(h);
}

/* Growing a node counts against its owner's memory quota, as creating one
 * does; the refused write leaves the node as it was. */
static void
test_memory_quota_growth(void **state)
{
	struct harness *h = h_new();
	struct h_msg *m;
	char big[1500], req[1600], quota[64];
	long used;

	h_domain(h, 10, 5);
	h_expect(h, 10, 0, XS_WRITE, "a|x", "OK|");
	m = h_req(h, 1, 0, XS_CONTROL, "quota|5|");
	assert_int_equal(m->type, XS_CONTROL);
	assert_non_null(strstr(m->payload, "memory"));
	used = strtol(strstr(m->payload, "memory") + strlen("memory"), NULL,
		      10);
	assert_true(used > 0);
	/* Room for 1000 more bytes, not for 1500. */
	snprintf(quota, sizeof(quota), "5|memory|%ld|", used + 1000);
	h_expect(h, 1, 0, XS_SET_QUOTA, quota, "OK|");
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(req, sizeof(req), "a|%s", big);
	h_expect(h, 10, 0, XS_WRITE, req, "ENOMEM|");
	h_expect(h, 10, 0, XS_READ, "a|", "x");
	snprintf(req, sizeof(req), "a|%.900s", big);
	h_expect(h, 10, 0, XS_WRITE, req, "OK|");
	/* Shrinking always may; dom0 is not held to it. */
	h_expect(h, 10, 0, XS_WRITE, "a|y", "OK|");
	snprintf(req, sizeof(req), "/local/domain/5/a|%s", big);
	h_expect(h, 1, 0, XS_WRITE, req, "OK|");
	h_expect(h, 1, 0, XS_CONTROL, "check|", "OK|");
	h_free(h);
}

/* Global values are the defaults of domains; each has its own. */
static void
test_get_set_quota(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_GET_QUOTA, "5|nodes|", "1000|"},
		{1, 0, XS_SET_QUOTA, "5|nodes|3|", "OK|"},
		{1, 0, XS_GET_QUOTA, "5|nodes|", "3|"},
		{1, 0, XS_GET_QUOTA, "6|nodes|", "1000|"},
		{1, 0, XS_GET_QUOTA, "nodes|", "1000|"},
		{10, 0, XS_WRITE, "a|", "OK|"},
		{10, 0, XS_WRITE, "b|", "OK|"},
		{10, 0, XS_WRITE, "c|", "ENOSPC|"},
		{11, 0, XS_WRITE, "c|", "OK|"},
		{1, 0, XS_SET_QUOTA, "nodes|2|", "OK|"},
		{1, 0, XS_GET_QUOTA, "nodes|", "2|"},
		{1, 0, XS_GET_QUOTA, "5|nodes|", "3|"},
		{1, 0, XS_INTRODUCE, "7|100|7|", "OK|"},
		{1, 0, XS_GET_QUOTA, "7|nodes|", "2|"},
		{1, 0, XS_GET_QUOTA, "77|nodes|", "ENOENT|"},
		{1, 0, XS_SET_QUOTA, "77|nodes|1|", "ENOENT|"},
		{1, 0, XS_GET_QUOTA, "5|bogus|", "EINVAL|"},
		{1, 0, XS_SET_QUOTA, "5|bogus|1|", "EINVAL|"},
		{1, 0, XS_SET_QUOTA, "5|nodes|4294967296|", "EINVAL|"},
		/* 0 switches a quota off. */
		{1, 0, XS_SET_QUOTA, "5|nodes|0|", "OK|"},
		{10, 0, XS_WRITE, "c|", "OK|"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	h_domain(h, 10, 5);
	h_domain(h, 11, 6);
	H_ROWS(h, rows);
	h_free(h);
}

/* xenstore-control quota set applies to the domains on the defaults. */
static void
test_control_quota_set_applies(void **state)
{
	struct harness *h = h_new();
	struct h_msg *m;
	static const struct h_row rows[] = {
		{1, 0, XS_CONTROL, "quota|set|nodes|3|", "OK|"},
		{10, 0, XS_WRITE, "a|", "OK|"},
		{10, 0, XS_WRITE, "b|", "OK|"},
		{10, 0, XS_WRITE, "c|", "ENOSPC|"},
		{1, 0, XS_CONTROL, "quota|set|nodes|1000|", "OK|"},
		{10, 0, XS_WRITE, "c|", "OK|"},
	};

	h_domain(h, 10, 5);
	H_ROWS(h, rows);
	m = h_req(h, 1, 0, XS_CONTROL, "quota|");
	assert_int_equal(m->type, XS_CONTROL);
	assert_non_null(strstr(m->payload, "1000"));
	h_free(h);
}

/*
 * A quota hit is logged once with the domain and the quota's name (the
 * name GET_QUOTA and SET_QUOTA use).
 */
struct hit {
	const char *quota; /* the name expected in the log line */
	const char *setup; /* SET_QUOTA payload, or NULL */
	uint32_t type;
	const char *req;
	const char *want;
};

static void
test_quota_hits_logged(void **state)
{
	static const struct hit hits[] = {
		{"nodes", "5|nodes|2|", XS_WRITE, "a/b|", "ENOSPC|"},
		{"node-size", "5|node-size|4|", XS_WRITE, "a|12345", "ENOSPC|"},
		{"watches", "5|watches|0|", XS_WATCH, "a|t|", "OK|"},
		{"permissions", "5|permissions|1|", XS_SET_PERMS, "|n5|r1|r2|",
		 "ENOSPC|"},
		{"path-max", "5|path-max|3|", XS_WRITE, "abcdef|", "EINVAL|"},
		{"transactions", "5|transactions|1|", XS_TRANSACTION_START, "",
		 "ENOSPC|"},
		{"transaction-nodes", "5|transaction-nodes|1|", XS_READ,
		 "/local/domain/5/c|", "ENOSPC|"},
	};
	char bad[4096] = "";
	size_t i, off = 0;

	for (i = 0; i < sizeof(hits) / sizeof(hits[0]); i++) {
		static const struct hit second_watch = {
			"watches", NULL, XS_WATCH, "c|t|", "E2BIG|"};
		const struct hit *t = &hits[i];
		struct harness *h = h_new();
		char req[128];
		uint32_t tx = 0;
		struct h_msg *m;

		h_domain(h, 10, 5);
		h_expect(h, 10, 0, XS_WRITE, "c|", "OK|");
		h_expect(h, 1, 0, XS_SET_QUOTA, t->setup, "OK|");
		if (strcmp(t->quota, "watches") == 0) {
			/* 0 is off: use 1; as in C xenstored, the third
			 * watch is the first one over it. */
			h_expect(h, 1, 0, XS_SET_QUOTA, "5|watches|1|", "OK|");
			h_expect(h, 10, 0, XS_WATCH, "a|t|", "OK|");
			h_expect(h, 10, 0, XS_WATCH, "b|t|", "OK|");
			t = &second_watch;
		}
		if (strcmp(t->quota, "transactions") == 0) {
			h_txn(h, 10);
			h_txn(h, 10);
		}
		if (strcmp(t->quota, "transaction-nodes") == 0) {
			tx = h_txn(h, 10);
			h_expect(h, 10, tx, XS_READ, "/local/domain/5|", "");
		}
		snprintf(req, sizeof(req), "%s", t->req);
		if (t->type == XS_SET_PERMS)
			snprintf(req, sizeof(req), "c%s", t->req);
		h->lastlog[0] = '\0';
		m = h_req(h, 10, tx, t->type, req);
		if (!h_match(m, t->type, t->want))
			off += (size_t)snprintf(bad + off, sizeof(bad) - off,
						"\n%s: wanted '%s', got '%s'",
						t->quota, t->want, h_show(m));
		else if (strstr(h->lastlog, "domain 5") == NULL ||
			 strstr(h->lastlog, t->quota) == NULL)
			off += (size_t)snprintf(bad + off, sizeof(bad) - off,
						"\n%s: log line '%s'", t->quota,
						h->lastlog);
		h_free(h);
	}
	if (off)
		fail_msg("quota hits:%s", bad);
}

/* A hit is logged once, not for every refused request. */
static void
test_quota_hit_logged_once(void **state)
{
	struct harness *h = h_new();
	int n;

	h_domain(h, 10, 5);
	h_expect(h, 1, 0, XS_SET_QUOTA, "5|nodes|2|", "OK|");
	h_expect(h, 10, 0, XS_WRITE, "a|", "OK|");
	n = h->nlogs;
	h_expect(h, 10, 0, XS_WRITE, "b|", "ENOSPC|");
	assert_int_equal(h->nlogs, n + 1);
	h_expect(h, 10, 0, XS_WRITE, "b|", "ENOSPC|");
	h_expect(h, 10, 0, XS_WRITE, "c|", "ENOSPC|");
	assert_int_equal(h->nlogs, n + 1);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nodes_quota),
		cmocka_unit_test(test_nodes_quota_parents),
		cmocka_unit_test(test_dom0_has_no_nodes_quota),
		cmocka_unit_test(test_node_size_quota),
		cmocka_unit_test(test_node_size_quota_children),
		cmocka_unit_test(test_node_size_quota_set),
		cmocka_unit_test(test_perms_per_node),
		cmocka_unit_test(test_perms_refused_record_nothing),
		cmocka_unit_test(test_memory_quota_growth),
		cmocka_unit_test(test_get_set_quota),
		cmocka_unit_test(test_control_quota_set_applies),
		cmocka_unit_test(test_quota_hits_logged),
		cmocka_unit_test(test_quota_hit_logged_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
