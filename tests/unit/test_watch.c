// SPDX-License-Identifier: GPL-2.0-only
/*
 * Watches: the first event, what matches, relative paths, removals, the
 * depth argument, special watches, permissions and quotas. Conn 1 is dom0,
 * conn 10 domain 5, conn 11 domain 6.
 */
#include "harness.h"

static void
test_initial_and_subtree(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		/* The first event comes even for a missing node. */
		{1, 0, XS_WATCH, "/w|t|", "OK|"},
		{1, 0, H_EVENTS, NULL, "/w|t|"},
		{1, 0, XS_WRITE, "/w|1", "OK|"},
		{1, 0, H_EVENTS, NULL, "/w|t|"},
		{1, 0, XS_WRITE, "/w/x/y|2", "OK|"},
		{1, 0, H_EVENTS, NULL, "/w/x/y|t|"},
		{1, 0, XS_MKDIR, "/w/m|", "OK|"},
		{1, 0, H_EVENTS, NULL, "/w/m|t|"},
		/* MKDIR of what exists changes nothing. */
		{1, 0, XS_MKDIR, "/w/m|", "OK|"},
		{1, 0, H_EVENTS, NULL, ""},
		{1, 0, XS_SET_PERMS, "/w/m|n0|r5|", "OK|"},
		{1, 0, H_EVENTS, NULL, "/w/m|t|"},
		/* Not below /w. */
		{1, 0, XS_WRITE, "/wx|3", "OK|"},
		{1, 0, XS_WRITE, "/v|3", "OK|"},
		{1, 0, H_EVENTS, NULL, ""},
		/* Removing what is not there changes nothing. */
		{1, 0, XS_RM, "/w/none|", "OK|"},
		{1, 0, H_EVENTS, NULL, ""},
		/* Failed requests fire nothing. */
		{1, 0, XS_WRITE, "/w/a b|3", "EINVAL|"},
		{2, 0, XS_WRITE, "/w|ro", "EROFS|"},
		{1, 0, H_EVENTS, NULL, ""},
		/* A watch on the root sees everything. */
		{1, 0, XS_WATCH, "/|root|", "OK|"},
		{1, 0, H_EVENTS, NULL, "/|root|"},
		{1, 0, XS_WRITE, "/v|4", "OK|"},
		{1, 0, H_EVENTS, NULL, "/v|root|"},
		{1, 0, XS_WRITE, "/w/z|4", "OK|"},
		{1, 0, H_EVENTS, NULL, "/w/z|root|\n/w/z|t|"},
		/* Other connections' watches are theirs. */
		{3, 0, XS_WATCH, "/w|t|", "OK|"},
		{3, 0, H_EVENTS, NULL, "/w|t|"},
		{1, 0, XS_WRITE, "/w|5", "OK|"},
		{3, 0, H_EVENTS, NULL, "/w|t|"},
		{1, 0, H_EVENTS, NULL, "/w|root|\n/w|t|"},
	};

	h_guest(h, 3, 0);
	H_ROWS(h, rows);
	h_free(h);
}

static void
test_relative(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{10, 0, XS_WATCH, "data|rel|", "OK|"},
		{10, 0, H_EVENTS, NULL, "data|rel|"},
		{10, 0, XS_WATCH, "/local/domain/5/data|abs|", "OK|"},
		{10, 0, H_EVENTS, NULL, "/local/domain/5/data|abs|"},
		{10, 0, XS_WRITE, "data/x|1", "OK|"},
		{10, 0, H_EVENTS, NULL,
		 "data/x|rel|\n/local/domain/5/data/x|abs|"},
		{1, 0, XS_WRITE, "/local/domain/5/data|2", "OK|"},
		{10, 0, H_EVENTS, NULL, "data|rel|\n/local/domain/5/data|abs|"},
		/* The same path in the other form is the same watch. */
		{10, 0, XS_WATCH, "/local/domain/5/data|rel|", "EEXIST|"},
		{10, 0, XS_UNWATCH, "/local/domain/5/data|rel|", "OK|"},
		{10, 0, XS_UNWATCH, "data|abs|", "OK|"},
		{10, 0, XS_WRITE, "data/x|3", "OK|"},
		{10, 0, H_EVENTS, NULL, ""},
		/* dom0's relative watches are under /local/domain/0. */
		{1, 0, XS_WATCH, "mine|r|", "OK|"},
		{1, 0, H_EVENTS, NULL, "mine|r|"},
		{1, 0, XS_WRITE, "/local/domain/0/mine/x|1", "OK|"},
		{1, 0, H_EVENTS, NULL, "mine/x|r|"},
	};

	h_domain(h, 10, 5);
	H_ROWS(h, rows);
	h_free(h);
}

/* RM: the removed node's watchers, and watches on removed descendants. */
static void
test_rm_subtree(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_WRITE, "/r/a/b/c|1", "OK|"},
		{1, 0, XS_WRITE, "/r/a/d|1", "OK|"},
		{1, 0, XS_WRITE, "/r/e|1", "OK|"},
		{1, 0, XS_WATCH, "/r|top|", "OK|"},
		{1, 0, XS_WATCH, "/r/a|self|", "OK|"},
		{1, 0, XS_WATCH, "/r/a/b|below|", "OK|"},
		{1, 0, XS_WATCH, "/r/a/b/c|leaf|", "OK|"},
		{1, 0, XS_WATCH, "/r/e|sibling|", "OK|"},
		{1, 0, H_EVENTS, NULL,
		 "/r|top|\n/r/a|self|\n/r/a/b|below|\n/r/a/b/c|leaf|\n"
		 "/r/e|sibling|"},
		{1, 0, XS_RM, "/r/a|", "OK|"},
		{1, 0, H_EVENTS, NULL,
		 "/r/a|top|\n/r/a|self|\n/r/a/b|below|\n/r/a/b/c|leaf|"},
		{1, 0, XS_RM, "/r|", "OK|"},
		{1, 0, H_EVENTS, NULL, "/r|top|\n/r/e|sibling|"},
		/* The watches stay. */
		{1, 0, XS_WRITE, "/r/a/b|again", "OK|"},
		{1, 0, H_EVENTS, NULL,
		 "/r/a/b|top|\n/r/a/b|self|\n/r/a/b|below|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

static void
test_depth(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_WATCH, "/w|one|1|", "OK|"},
		{1, 0, XS_WATCH, "/w|zero|0|", "OK|"},
		{1, 0, XS_WATCH, "/w|any||", "OK|"},
		{1, 0, H_EVENTS, NULL, "/w|one|\n/w|zero|\n/w|any|"},
		{1, 0, XS_WRITE, "/w|1", "OK|"},
		{1, 0, H_EVENTS, NULL, "/w|one|\n/w|zero|\n/w|any|"},
		{1, 0, XS_WRITE, "/w/c|1", "OK|"},
		{1, 0, H_EVENTS, NULL, "/w/c|one|\n/w/c|any|"},
		{1, 0, XS_WRITE, "/w/c/g|1", "OK|"},
		{1, 0, H_EVENTS, NULL, "/w/c/g|any|"},
		{1, 0, XS_RM, "/w/c|", "OK|"},
		{1, 0, H_EVENTS, NULL, "/w/c|one|\n/w/c|any|"},
		{1, 0, XS_RM, "/w|", "OK|"},
		{1, 0, H_EVENTS, NULL, "/w|one|\n/w|zero|\n/w|any|"},
		/* On the root. */
		{1, 0, XS_WATCH, "/|r1|1|", "OK|"},
		{1, 0, H_EVENTS, NULL, "/|r1|"},
		{1, 0, XS_WRITE, "/top|1", "OK|"},
		{1, 0, XS_WRITE, "/top/sub|1", "OK|"},
		{1, 0, H_EVENTS, NULL, "/top|r1|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

static void
test_introduce_release_events(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_WATCH, "@introduceDomain|in|", "OK|"},
		{1, 0, XS_WATCH, "@releaseDomain|out|", "OK|"},
		{1, 0, H_EVENTS, NULL,
		 "@introduceDomain|in|\n@releaseDomain|out|"},
		{1, 0, XS_INTRODUCE, "5|100|7|", "OK|"},
		{1, 0, H_EVENTS, NULL, "@introduceDomain|in|"},
		/* Reintroduction is no new domain. */
		{1, 0, XS_INTRODUCE, "5|100|8|", "OK|"},
		{1, 0, H_EVENTS, NULL, ""},
		{1, 0, XS_RELEASE, "5|", "OK|"},
		{1, 0, H_EVENTS, NULL, "@releaseDomain|out|"},
		/* Failed requests fire nothing. */
		{1, 0, XS_RELEASE, "5|", "ENOENT|"},
		{1, 0, XS_INTRODUCE, "0|1|1|", "OK|"},
		{1, 0, H_EVENTS, NULL, ""},
		/* Writes do not fire special watches. */
		{1, 0, XS_WRITE, "/@releaseDomain|1", "OK|"},
		{1, 0, H_EVENTS, NULL, ""},
		{1, 0, XS_UNWATCH, "@introduceDomain|in|", "OK|"},
		{1, 0, XS_INTRODUCE, "6|100|7|", "OK|"},
		{1, 0, H_EVENTS, NULL, ""},
	};

	H_ROWS(h, rows);
	h_free(h);
}

/* A guest gets special events only once granted read on them. */
static void
test_special_events_for_guests(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{10, 0, XS_WATCH, "@releaseDomain|out|", "OK|"},
		{10, 0, XS_WATCH, "@introduceDomain|in|", "OK|"},
		{10, 0, H_EVENTS, NULL,
		 "@releaseDomain|out|\n@introduceDomain|in|"},
		{10, 0, XS_GET_PERMS, "@releaseDomain|", "EACCES|"},
		{1, 0, XS_INTRODUCE, "6|100|7|", "OK|"},
		{1, 0, XS_RELEASE, "6|", "OK|"},
		{10, 0, H_EVENTS, NULL, ""},
		{1, 0, XS_SET_PERMS, "@releaseDomain|n0|r5|", "OK|"},
		{10, 0, XS_GET_PERMS, "@releaseDomain|", "n0|r5|"},
		{1, 0, XS_INTRODUCE, "7|100|7|", "OK|"},
		{10, 0, H_EVENTS, NULL, ""},
		{1, 0, XS_RELEASE, "7|", "OK|"},
		{10, 0, H_EVENTS, NULL, "@releaseDomain|out|"},
		{1, 0, XS_SET_PERMS, "@introduceDomain|n0|r5|", "OK|"},
		{1, 0, XS_INTRODUCE, "8|100|7|", "OK|"},
		{10, 0, H_EVENTS, NULL, "@introduceDomain|in|"},
		/* Revoked. */
		{1, 0, XS_SET_PERMS, "@releaseDomain|n0|", "OK|"},
		{1, 0, XS_RELEASE, "8|", "OK|"},
		{10, 0, H_EVENTS, NULL, ""},
	};

	h_domain(h, 10, 5);
	H_ROWS(h, rows);
	h_free(h);
}

/* Depth 1 on @releaseDomain names the domain; "@releaseDomain/<id>". */
static void
test_release_domain_paths(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_INTRODUCE, "5|100|7|", "OK|"},
		{1, 0, XS_INTRODUCE, "6|100|7|", "OK|"},
		{1, 0, XS_WATCH, "@releaseDomain|d1|1|", "OK|"},
		{1, 0, XS_WATCH, "@releaseDomain/5|only5|", "OK|"},
		{1, 0, XS_WATCH, "@releaseDomain|all|", "OK|"},
		{1, 0, H_EVENTS, NULL,
		 "@releaseDomain|d1|\n@releaseDomain/5|only5|\n"
		 "@releaseDomain|all|"},
		{1, 0, XS_RELEASE, "6|", "OK|"},
		{1, 0, H_EVENTS, NULL,
		 "@releaseDomain/6|d1|\n@releaseDomain|all|"},
		{1, 0, XS_RELEASE, "5|", "OK|"},
		{1, 0, H_EVENTS, NULL,
		 "@releaseDomain/5|d1|\n@releaseDomain/5|only5|\n"
		 "@releaseDomain|all|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

/* Events only for what the watcher may read (XSA-115). */
static void
test_events_need_read_permission(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{10, 0, XS_WATCH, "/|all|", "OK|"},
		{10, 0, H_EVENTS, NULL, "/|all|"},
		{1, 0, XS_WRITE, "/secret|1", "OK|"},
		{1, 0, XS_WRITE, "/secret/deeper|1", "OK|"},
		{1, 0, XS_RM, "/secret/deeper|", "OK|"},
		{11, 0, XS_WRITE, "mine|1", "OK|"},
		{10, 0, H_EVENTS, NULL, ""},
		/* Granted: from then on. */
		{1, 0, XS_SET_PERMS, "/secret|n0|r5|", "OK|"},
		{10, 0, H_EVENTS, NULL, "/secret|all|"},
		{1, 0, XS_WRITE, "/secret|2", "OK|"},
		{10, 0, H_EVENTS, NULL, "/secret|all|"},
		/* Its own nodes, and another guest's it may read. */
		{10, 0, XS_WRITE, "x|1", "OK|"},
		{10, 0, H_EVENTS, NULL, "/local/domain/5/x|all|"},
		{11, 0, XS_SET_PERMS, "mine|n6|r5|", "OK|"},
		{10, 0, H_EVENTS, NULL, "/local/domain/6/mine|all|"},
		{11, 0, XS_WRITE, "mine|2", "OK|"},
		{10, 0, H_EVENTS, NULL, "/local/domain/6/mine|all|"},
		{11, 0, XS_RM, "mine|", "OK|"},
		{10, 0, H_EVENTS, NULL, "/local/domain/6/mine|all|"},
		/* A watch on the node itself is no different. */
		{10, 0, XS_WATCH, "/hidden|h|", "OK|"},
		{10, 0, H_EVENTS, NULL, "/hidden|h|"},
		{1, 0, XS_WRITE, "/hidden|1", "OK|"},
		{1, 0, XS_RM, "/hidden|", "OK|"},
		{10, 0, H_EVENTS, NULL, ""},
	};

	h_domain(h, 10, 5);
	h_domain(h, 11, 6);
	H_ROWS(h, rows);
	h_free(h);
}

/*
 * Watches count against the domain's memory quota: a watch on a deep path
 * holds an index node per component. Released when the watch goes.
 */
static void
test_watch_memory_quota(void **state)
{
	struct harness *h = h_new();
	char req[600];
	struct h_msg *m;
	size_t n = 0;
	int i;

	h_domain(h, 10, 5);
	h_expect(h, 1, 0, XS_SET_QUOTA, "5|memory|50000|", "OK|");
	/* 200 components below the domain's home: about 38 KB. */
	for (i = 0; i < 200; i++)
		n += (size_t)snprintf(req + n, sizeof(req) - n, "a/");
	snprintf(req + n - 1, sizeof(req) - n + 1, "|t1|");
	h_expect(h, 10, 0, XS_WATCH, req, "OK|");
	h_flush(h);
	req[n + 1] = '2';
	h_expect(h, 10, 0, XS_WATCH, req, "ENOMEM|");
	assert_non_null(strstr(h->lastlog, "domain 5 hit quota memory"));
	/* A shallow one still fits. */
	h_expect(h, 10, 0, XS_WATCH, "x|t|", "OK|");
	h_flush(h);
	m = h_req(h, 1, 0, XS_CONTROL, "quota|5|");
	assert_non_null(strstr(m->payload, "watch memory"));
	/* Gone with the watch. */
	req[n + 1] = '1';
	h_expect(h, 10, 0, XS_UNWATCH, req, "OK|");
	req[n + 1] = '2';
	h_expect(h, 10, 0, XS_WATCH, req, "OK|");
	h_flush(h);
	/* dom0's are not counted. */
	h_expect(h, 1, 0, XS_SET_QUOTA, "memory|1|", "OK|");
	h_expect(h, 1, 0, XS_WATCH, "/local/domain/5/x|t|", "OK|");
	h_free(h);
}

/* 128 watches per guest by default; the 129th is E2BIG. */
static void
test_watch_quota(void **state)
{
	struct harness *h = h_new();
	char req[64];
	int i;

	h_domain(h, 10, 5);
	/* C xenstored refuses once a domain has more than the quota: the
	 * 130th watch with the default of 128. */
	for (i = 0; i < 129; i++) {
		snprintf(req, sizeof(req), "w%d|t|", i);
		h_expect(h, 10, 0, XS_WATCH, req, "OK|");
		h_flush(h);
	}
	h_expect(h, 10, 0, XS_WATCH, "w129|t|", "E2BIG|");
	assert_non_null(strstr(h->lastlog, "domain 5"));
	/* Duplicates are refused before counting. */
	h_expect(h, 10, 0, XS_WATCH, "w0|t|", "EEXIST|");
	h_expect(h, 10, 0, XS_UNWATCH, "w0|t|", "OK|");
	h_expect(h, 10, 0, XS_WATCH, "w129|t|", "OK|");
	h_expect(h, 10, 0, XS_WATCH, "w130|t|", "E2BIG|");
	/* Counted per domain, over its connections. */
	h_guest(h, 12, 5);
	h_expect(h, 12, 0, XS_WATCH, "other|t|", "E2BIG|");
	h_expect(h, 10, 0, XS_RESET_WATCHES, "", "OK|");
	h_expect(h, 12, 0, XS_WATCH, "other|t|", "OK|");
	/* dom0 has no such limit. */
	for (i = 0; i < 200; i++) {
		snprintf(req, sizeof(req), "/w%d|t|", i);
		h_expect(h, 1, 0, XS_WATCH, req, "OK|");
		h_flush(h);
	}
	/* A per domain quota. */
	h_expect(h, 1, 0, XS_SET_QUOTA, "5|watches|2|", "OK|");
	h_expect(h, 10, 0, XS_WATCH, "a|t|", "OK|");
	h_expect(h, 10, 0, XS_WATCH, "b|t|", "OK|");
	h_expect(h, 10, 0, XS_WATCH, "c|t|", "E2BIG|");
	h_free(h);
}

static void
test_duplicates_and_unwatch(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_WATCH, "/d|t|", "OK|"},
		{1, 0, XS_WATCH, "/d|t|", "EEXIST|"},
		{1, 0, XS_WATCH, "/d|t|1|", "EEXIST|"},
		{1, 0, XS_WATCH, "/d|u|", "OK|"},
		{1, 0, XS_WATCH, "/d/e|t|", "OK|"},
		{3, 0, XS_WATCH, "/d|t|", "OK|"},
		{1, 0, XS_UNWATCH, "/d|nope|", "ENOENT|"},
		{1, 0, XS_UNWATCH, "/nope|t|", "ENOENT|"},
		{1, 0, XS_UNWATCH, "@releaseDomain|t|", "ENOENT|"},
		{1, 0, XS_UNWATCH, "/d|t|", "OK|"},
		{1, 0, XS_UNWATCH, "/d|t|", "ENOENT|"},
		{3, 0, XS_UNWATCH, "/d|t|", "OK|"},
		{1, 0, H_EVENTS, NULL, NULL},
		{1, 0, XS_WRITE, "/d/e|1", "OK|"},
		{1, 0, H_EVENTS, NULL, "/d/e|u|\n/d/e|t|"},
		{3, 0, H_EVENTS, NULL, "/d|t|"},
	};

	h_guest(h, 3, 0);
	H_ROWS(h, rows);
	h_free(h);
}

/* A closed connection's watches are gone. */
static void
test_closed_connection(void **state)
{
	struct harness *h = h_new();

	h_domain(h, 10, 5);
	h_expect(h, 10, 0, XS_WATCH, "x|t|", "OK|");
	engine_conn_close(h->e, 10);
	h_take_events(h, 10);
	h_expect(h, 1, 0, XS_WRITE, "/local/domain/5/x|1", "OK|");
	assert_string_equal(h_take_events(h, 10), "");
	h_guest(h, 10, 5);
	h_expect(h, 10, 0, XS_WATCH, "x|t|", "OK|");
	h_expect(h, 10, 0, XS_UNWATCH, "x|t|", "OK|");
	h_free(h);
}

/*
 * A connection gets its events in the order it set its watches, however
 * they lie in the index: on one path (listed there newest first), on
 * several, or mixed with another connection's. (H_EVENTS rows compare in
 * any order, so this one looks at the order itself.)
 */
static void
test_event_order(void **state)
{
	struct harness *h = h_new();

	h_guest(h, 3, 0);
	h_expect(h, 1, 0, XS_WATCH, "/o|a|", "OK|");
	h_expect(h, 3, 0, XS_WATCH, "/o|x|", "OK|");
	h_expect(h, 1, 0, XS_WATCH, "/o|b|", "OK|");
	h_expect(h, 1, 0, XS_WATCH, "/o/p|c|", "OK|");
	h_expect(h, 3, 0, XS_WATCH, "/o/p|y|", "OK|");
	h_expect(h, 1, 0, XS_WATCH, "/|d|", "OK|");
	h_expect(h, 1, 0, XS_WATCH, "/o|e|", "OK|");
	assert_string_equal(h_take_events(h, 1),
			    "/o|a|\n/o|b|\n/o/p|c|\n/|d|\n/o|e|");
	assert_string_equal(h_take_events(h, 3), "/o|x|\n/o/p|y|");
	h_expect(h, 1, 0, XS_WRITE, "/o/p|1", "OK|");
	assert_string_equal(h_take_events(h, 1),
			    "/o/p|a|\n/o/p|b|\n/o/p|c|\n/o/p|d|\n/o/p|e|");
	assert_string_equal(h_take_events(h, 3), "/o/p|x|\n/o/p|y|");
	/* One index node only: the reverse of how it lists them. */
	h_expect(h, 1, 0, XS_RM, "/o/p|", "OK|");
	h_take_events(h, 3);
	h_take_events(h, 1);
	h_expect(h, 1, 0, XS_UNWATCH, "/|d|", "OK|");
	h_expect(h, 1, 0, XS_WATCH, "/q|f|", "OK|");
	h_expect(h, 1, 0, XS_WATCH, "/q|g|", "OK|");
	h_expect(h, 3, 0, XS_WATCH, "/q|z|", "OK|");
	h_take_events(h, 3);
	h_take_events(h, 1);
	h_expect(h, 1, 0, XS_WRITE, "/q|2", "OK|");
	assert_string_equal(h_take_events(h, 1), "/q|f|\n/q|g|");
	assert_string_equal(h_take_events(h, 3), "/q|z|");
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initial_and_subtree),
		cmocka_unit_test(test_relative),
		cmocka_unit_test(test_rm_subtree),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_introduce_release_events),
		cmocka_unit_test(test_special_events_for_guests),
		cmocka_unit_test(test_release_domain_paths),
		cmocka_unit_test(test_events_need_read_permission),
		cmocka_unit_test(test_watch_quota),
		cmocka_unit_test(test_watch_memory_quota),
		cmocka_unit_test(test_duplicates_and_unwatch),
		cmocka_unit_test(test_closed_connection),
		cmocka_unit_test(test_event_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
