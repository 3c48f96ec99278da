// SPDX-License-Identifier: GPL-2.0-only
/*
 * Transactions: isolation, commit and abort, conflicts, quotas and the
 * watch events of commits. The tx column is a slot filled by H_START.
 */
#include "harness.h"

/* A transaction that noted nothing commits after others did. */
static void
test_commit_without_notes(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 1, H_START, "", ""},
		{1, 0, XS_WRITE, "/n|1", "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 2, H_START, "", ""},
		{1, 2, XS_WRITE, "/|x", "OK|"},
		{1, 0, XS_WRITE, "/n|2", "OK|"},
		{1, 2, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 0, XS_READ, "/|", "x"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

static void
test_isolation(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_WRITE, "/i/a|0", "OK|"},
		{1, 1, H_START, "", ""},
		{1, 1, XS_WRITE, "/i/a|1", "OK|"},
		{1, 1, XS_WRITE, "/i/b|2", "OK|"},
		{1, 1, XS_READ, "/i/a|", "1"},
		{1, 1, XS_READ, "/i/b|", "2"},
		{1, 1, XS_DIRECTORY, "/i|", "a|b|"},
		{1, 0, XS_READ, "/i/a|", "0"},
		{1, 0, XS_READ, "/i/b|", "ENOENT|"},
		{1, 0, XS_DIRECTORY, "/i|", "a|"},
		/* Another transaction sees neither. */
		{1, 2, H_START, "", ""},
		{1, 2, XS_READ, "/i/a|", "0"},
		{1, 2, XS_READ, "/i/b|", "ENOENT|"},
		{1, 2, XS_TRANSACTION_END, "F|", "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 0, XS_READ, "/i/a|", "1"},
		{1, 0, XS_READ, "/i/b|", "2"},
		/* Started before a change: still sees the old value. */
		{1, 3, H_START, "", ""},
		{1, 0, XS_WRITE, "/i/a|3", "OK|"},
		{1, 3, XS_READ, "/i/a|", "1"},
		{1, 3, XS_TRANSACTION_END, "F|", "OK|"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

static void
test_abort(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_WRITE, "/ab/keep|k", "OK|"},
		{1, 1, H_START, "", ""},
		{1, 1, XS_WRITE, "/ab/new|n", "OK|"},
		{1, 1, XS_WRITE, "/ab/keep|changed", "OK|"},
		{1, 1, XS_RM, "/ab/keep|", "OK|"},
		{1, 1, XS_SET_PERMS, "/ab|n0|r5|", "OK|"},
		{1, 1, XS_TRANSACTION_END, "F|", "OK|"},
		{1, 0, XS_DIRECTORY, "/ab|", "keep|"},
		{1, 0, XS_READ, "/ab/keep|", "k"},
		{1, 0, XS_GET_PERMS, "/ab|", "n0|"},
		{1, 1, XS_READ, "/ab/keep|", "ENOENT|"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

static void
test_conflicts(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_WRITE, "/c/a|0", "OK|"},
		{1, 0, XS_WRITE, "/c/b|0", "OK|"},
		/* Read, changed outside, then written: EAGAIN. */
		{1, 1, H_START, "", ""},
		{1, 1, XS_READ, "/c/a|", "0"},
		{1, 0, XS_WRITE, "/c/a|1", "OK|"},
		{1, 1, XS_WRITE, "/c/b|1", "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "EAGAIN|"},
		{1, 0, XS_READ, "/c/b|", "0"},
		/* Only reads, but what it read changed: EAGAIN as well. */
		{1, 1, H_START, "", ""},
		{1, 1, XS_READ, "/c/a|", "1"},
		{1, 0, XS_WRITE, "/c/a|2", "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "EAGAIN|"},
		/* It read that a node was absent; somebody created it. */
		{1, 1, H_START, "", ""},
		{1, 1, XS_READ, "/c/x|", "ENOENT|"},
		{1, 0, XS_WRITE, "/c/x|now", "OK|"},
		{1, 1, XS_WRITE, "/c/b|2", "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "EAGAIN|"},
		/* Both write the same node. */
		{1, 1, H_START, "", ""},
		{1, 2, H_START, "", ""},
		{1, 1, XS_WRITE, "/c/a|t1", "OK|"},
		{1, 2, XS_WRITE, "/c/a|t2", "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 2, XS_TRANSACTION_END, "T|", "EAGAIN|"},
		{1, 0, XS_READ, "/c/a|", "t1"},
		/* Both create the same node. */
		{1, 1, H_START, "", ""},
		{1, 2, H_START, "", ""},
		{1, 1, XS_WRITE, "/c/n|t1", "OK|"},
		{1, 2, XS_WRITE, "/c/n|t2", "OK|"},
		{1, 2, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "EAGAIN|"},
		{1, 0, XS_READ, "/c/n|", "t2"},
		/* A change of permissions is a change. */
		{1, 1, H_START, "", ""},
		{1, 1, XS_READ, "/c/b|", "0"},
		{1, 0, XS_SET_PERMS, "/c/b|n0|r5|", "OK|"},
		{1, 1, XS_WRITE, "/c/a|x", "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "EAGAIN|"},
		/* Removed under it. */
		{1, 1, H_START, "", ""},
		{1, 1, XS_WRITE, "/c/b|5", "OK|"},
		{1, 0, XS_RM, "/c/b|", "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "EAGAIN|"},
		{1, 0, XS_READ, "/c/b|", "ENOENT|"},
		/* Unrelated changes do not matter. */
		{1, 1, H_START, "", ""},
		{1, 1, XS_READ, "/c/a|", "t1"},
		{1, 1, XS_WRITE, "/c/a|ok", "OK|"},
		{1, 0, XS_WRITE, "/elsewhere|1", "OK|"},
		{1, 0, XS_WRITE, "/c/other|1", "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 0, XS_READ, "/c/a|", "ok"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

/* Different children of one parent: both commit. */
static void
test_siblings_commit(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_MKDIR, "/p|", "OK|"},
		{1, 1, H_START, "", ""},
		{1, 2, H_START, "", ""},
		{1, 1, XS_WRITE, "/p/one|1", "OK|"},
		{1, 2, XS_WRITE, "/p/two|2", "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 2, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 0, XS_DIRECTORY, "/p|", "one|two|"},
		/* Existing children, changed by each. */
		{1, 1, H_START, "", ""},
		{1, 2, H_START, "", ""},
		{1, 1, XS_WRITE, "/p/one|11", "OK|"},
		{1, 2, XS_RM, "/p/two|", "OK|"},
		{1, 2, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 0, XS_DIRECTORY, "/p|", "one|"},
		{1, 0, XS_READ, "/p/one|", "11"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

/* Two domains' devices created at once, as libxl does. */
static void
test_device_creation(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_MKDIR, "/local/domain/0/backend/vbd|", "OK|"},
		{1, 0, XS_MKDIR, "/local/domain/1|", "OK|"},
		{1, 0, XS_MKDIR, "/local/domain/2|", "OK|"},
		{1, 1, H_START, "", ""},
		{1, 2, H_START, "", ""},
		{1, 1, XS_WRITE, "/local/domain/0/backend/vbd/1/51712/state|1",
		 "OK|"},
		{1, 2, XS_WRITE, "/local/domain/0/backend/vbd/2/51712/state|1",
		 "OK|"},
		{1, 1, XS_WRITE,
		 "/local/domain/0/backend/vbd/1/51712/frontend|"
		 "/local/domain/1/device/vbd/51712",
		 "OK|"},
		{1, 2, XS_WRITE,
		 "/local/domain/0/backend/vbd/2/51712/frontend|"
		 "/local/domain/2/device/vbd/51712",
		 "OK|"},
		{1, 1, XS_WRITE, "/local/domain/1/device/vbd/51712/state|1",
		 "OK|"},
		{1, 2, XS_WRITE, "/local/domain/2/device/vbd/51712/state|1",
		 "OK|"},
		{1, 1, XS_WRITE,
		 "/local/domain/1/device/vbd/51712/backend|"
		 "/local/domain/0/backend/vbd/1/51712",
		 "OK|"},
		{1, 2, XS_WRITE,
		 "/local/domain/2/device/vbd/51712/backend|"
		 "/local/domain/0/backend/vbd/2/51712",
		 "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 2, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 0, XS_DIRECTORY, "/local/domain/0/backend/vbd|", "1|2|"},
		{1, 0, XS_DIRECTORY, "/local/domain/0/backend/vbd/2/51712|",
		 "frontend|state|"},
		{1, 0, XS_READ, "/local/domain/2/device/vbd/51712/backend|",
		 "/local/domain/0/backend/vbd/2/51712"},
		{1, 0, XS_READ, "/local/domain/1/device/vbd/51712/state|", "1"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

/* Listing a parent depends on its children. */
static void
test_directory_conflict(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_WRITE, "/dir/a|", "OK|"},
		{1, 1, H_START, "", ""},
		{1, 2, H_START, "", ""},
		{1, 1, XS_DIRECTORY, "/dir|", "a|"},
		{1, 1, XS_WRITE, "/count|1", "OK|"},
		{1, 2, XS_WRITE, "/dir/b|", "OK|"},
		{1, 2, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "EAGAIN|"},
		{1, 0, XS_READ, "/count|", "ENOENT|"},
		/* Same with a removed child and a plain request. */
		{1, 1, H_START, "", ""},
		{1, 1, XS_DIRECTORY_PART, "/dir|0|", NULL},
		{1, 1, XS_WRITE, "/count|2", "OK|"},
		{1, 0, XS_RM, "/dir/a|", "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "EAGAIN|"},
		/* A change of a child's value is not a change of the list. */
		{1, 1, H_START, "", ""},
		{1, 1, XS_DIRECTORY, "/dir|", "b|"},
		{1, 1, XS_WRITE, "/count|3", "OK|"},
		{1, 0, XS_WRITE, "/dir/b|value", "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 0, XS_READ, "/count|", "3"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

static void
test_rm_in_transaction(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_WRITE, "/r/a/b|1", "OK|"},
		{1, 0, XS_WRITE, "/r/c|2", "OK|"},
		{1, 1, H_START, "", ""},
		{1, 1, XS_RM, "/r/a|", "OK|"},
		{1, 1, XS_READ, "/r/a/b|", "ENOENT|"},
		{1, 1, XS_READ, "/r/a|", "ENOENT|"},
		{1, 1, XS_DIRECTORY, "/r|", "c|"},
		{1, 1, XS_RM, "/r/a|", "OK|"},
		{1, 1, XS_RM, "/r/a/b/c|", "ENOENT|"},
		{1, 0, XS_READ, "/r/a/b|", "1"},
		/* Recreated in the same transaction. */
		{1, 1, XS_WRITE, "/r/a/z|new", "OK|"},
		{1, 1, XS_DIRECTORY, "/r/a|", "z|"},
		{1, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 0, XS_READ, "/r/a/b|", "ENOENT|"},
		{1, 0, XS_READ, "/r/a/z|", "new"},
		{1, 0, XS_DIRECTORY, "/r|", "a|c|"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

/*
 * A write that creates a path depends on its deepest existing ancestor
 * and on the absence of the first missing component, each noted under its
 * own prefix of the path; what the transaction removed itself it may
 * create again.
 */
static void
test_create_prefix_notes(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_WRITE, "/p/x|0", "OK|"},
		{1, 1, H_START, "", ""},
		{1, 1, XS_WRITE, "/p/q/r|1", "OK|"},
		/* Someone else creates /p/q meanwhile. */
		{1, 0, XS_WRITE, "/p/q/other|2", "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "EAGAIN|"},
		{1, 0, XS_READ, "/p/q/r|", "ENOENT|"},
		{1, 2, H_START, "", ""},
		{1, 2, XS_WRITE, "/p/s/r|1", "OK|"},
		/* A sibling of /p/s: no conflict. */
		{1, 0, XS_WRITE, "/p/t|2", "OK|"},
		{1, 2, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 0, XS_READ, "/p/s/r|", "1"},
		{1, 3, H_START, "", ""},
		{1, 3, XS_RM, "/p/s|", "OK|"},
		{1, 3, XS_READ, "/p/s/r|", "ENOENT|"},
		{1, 3, XS_WRITE, "/p/s/r/deep|2", "OK|"},
		{1, 0, XS_WRITE, "/p/u|3", "OK|"},
		{1, 3, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 0, XS_READ, "/p/s/r|", ""},
		{1, 0, XS_READ, "/p/s/r/deep|", "2"},
		/* Its parent's data changed under it: a conflict. */
		{1, 4, H_START, "", ""},
		{1, 4, XS_WRITE, "/p/s/n/m|4", "OK|"},
		{1, 0, XS_WRITE, "/p/s|5", "OK|"},
		{1, 4, XS_TRANSACTION_END, "T|", "EAGAIN|"},
		{1, 0, XS_READ, "/p/s/n|", "ENOENT|"},
		/*
		 * Missing in the base under /h/a is not missing under
		 * /h/ab: it removed /h/ab/x itself, which still commits.
		 */
		{1, 0, XS_WRITE, "/h/ab/x|1", "OK|"},
		{1, 5, H_START, "", ""},
		{1, 5, XS_WRITE, "/h/a/1|1", "OK|"},
		{1, 5, XS_WRITE, "/h/a/2|2", "OK|"},
		{1, 5, XS_RM, "/h/ab/x|", "OK|"},
		{1, 5, XS_READ, "/h/ab/x|", "ENOENT|"},
		{1, 0, XS_WRITE, "/other|1", "OK|"},
		{1, 5, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 0, XS_READ, "/h/ab/x|", "ENOENT|"},
		{1, 0, XS_READ, "/h/a/2|", "2"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

/*
 * Commit checks the notes one after the other, reusing the walk of the
 * previous one: a path below one found missing is missing, a sibling is
 * looked up from the shared parent.
 */
static void
test_commit_checks_in_order(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_WRITE, "/v/a/y|0", "OK|"},
		{1, 1, H_START, "", ""},
		{1, 1, XS_READ, "/w/x/1|", "ENOENT|"},
		{1, 1, XS_READ, "/w/x/2|", "ENOENT|"},
		{1, 1, XS_READ, "/v/a/y|", "0"},
		{1, 1, XS_READ, "/v/a/z|", "ENOENT|"},
		{1, 1, XS_WRITE, "/v/b|1", "OK|"},
		{1, 0, XS_WRITE, "/other|1", "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "OK|"},
		/* The second of two missing siblings appears. */
		{1, 2, H_START, "", ""},
		{1, 2, XS_READ, "/w/x/1|", "ENOENT|"},
		{1, 2, XS_READ, "/w/x/2|", "ENOENT|"},
		{1, 2, XS_WRITE, "/v/c|1", "OK|"},
		{1, 0, XS_WRITE, "/w/x/2|1", "OK|"},
		{1, 2, XS_TRANSACTION_END, "T|", "EAGAIN|"},
		/* A sibling of a node read changes. */
		{1, 3, H_START, "", ""},
		{1, 3, XS_READ, "/v/a/y|", "0"},
		{1, 3, XS_READ, "/v/b|", "1"},
		{1, 3, XS_WRITE, "/v/d|1", "OK|"},
		{1, 0, XS_WRITE, "/v/b|2", "OK|"},
		{1, 3, XS_TRANSACTION_END, "T|", "EAGAIN|"},
		/* Below a parent that went away. */
		{1, 4, H_START, "", ""},
		{1, 4, XS_READ, "/v/a/q|", "ENOENT|"},
		{1, 4, XS_READ, "/v/a/y|", "0"},
		{1, 4, XS_WRITE, "/v/e|1", "OK|"},
		{1, 0, XS_RM, "/v/a|", "OK|"},
		{1, 4, XS_TRANSACTION_END, "T|", "EAGAIN|"},
		{1, 0, XS_READ, "/v/c|", "ENOENT|"},
		{1, 0, XS_READ, "/v/d|", "ENOENT|"},
		{1, 0, XS_READ, "/v/e|", "ENOENT|"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

static void
test_start_end_errors(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 1, H_START, "", ""},
		{1, 1, XS_TRANSACTION_START, "", "EBUSY|"},
		{1, H_TXID(4242), XS_TRANSACTION_START, "", "ENOENT|"},
		{1, H_TXID(4242), XS_WRITE, "/x|1", "ENOENT|"},
		{1, 1, XS_TRANSACTION_END, "X|", "EINVAL|"},
		{1, 1, XS_TRANSACTION_END, "t|", "EINVAL|"},
		{1, 1, XS_TRANSACTION_END, "TRUE|", "EINVAL|"},
		{1, 1, XS_WRITE, "/x|1", "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 1, XS_TRANSACTION_END, "T|", "ENOENT|"},
		{1, 0, XS_TRANSACTION_END, "F|", "ENOENT|"},
		{1, 0, XS_READ, "/x|", "1"},
		/* Ids are per connection. */
		{1, 2, H_START, "", ""},
		{2, 2, XS_READ, "/x|", "ENOENT|"},
		{1, 2, XS_TRANSACTION_END, "F|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

/* Open transactions per guest connection: 10 by default. */
static void
test_transaction_quota(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{10, 1, H_START, "", ""},
		{10, 2, H_START, "", ""},
		{10, 3, H_START, "", ""},
		{10, 4, H_START, "", ""},
		{10, 5, H_START, "", ""},
		{10, 6, H_START, "", ""},
		{10, 7, H_START, "", ""},
		{10, 8, H_START, "", ""},
		{10, 9, H_START, "", ""},
		{10, 10, H_START, "", ""},
		/* As C xenstored: refused once more than the quota are open. */
		{10, 11, H_START, "", ""},
		{10, 12, H_START, "", "ENOSPC|"},
		{1, 0, H_LOG, NULL, "domain 5"},
		{10, 11, XS_TRANSACTION_END, "F|", "OK|"},
		{10, 12, H_START, "", ""},
		{10, 13, H_START, "", "ENOSPC|"},
		/* dom0 has no such limit. */
		{1, 1, H_START, "", ""},
		{1, 2, H_START, "", ""},
		{1, 3, H_START, "", ""},
		{1, 4, H_START, "", ""},
		{1, 5, H_START, "", ""},
		{1, 6, H_START, "", ""},
		{1, 7, H_START, "", ""},
		{1, 8, H_START, "", ""},
		{1, 9, H_START, "", ""},
		{1, 10, H_START, "", ""},
		{1, 11, H_START, "", ""},
		{1, 12, H_START, "", ""},
		/* A per domain quota. */
		{1, 0, XS_SET_QUOTA, "6|transactions|1|", "OK|"},
		{11, 13, H_START, "", ""},
		{11, 14, H_START, "", ""},
		{11, 15, H_START, "", "ENOSPC|"},
	};

	h_domain(h, 10, 5);
	h_domain(h, 11, 6);
	H_ROWS(h, rows);
	h_free(h);
}

/* Nodes a guest transaction may touch. */
static void
test_transaction_nodes_quota(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{10, 0, XS_WRITE, "a|", "OK|"},
		{10, 0, XS_WRITE, "b|", "OK|"},
		{10, 0, XS_WRITE, "c|", "OK|"},
		{10, 0, XS_WRITE, "d|", "OK|"},
		{1, 0, XS_SET_QUOTA, "5|transaction-nodes|3|", "OK|"},
		{10, 1, H_START, "", ""},
		{10, 1, XS_READ, "a|", ""},
		{10, 1, XS_READ, "b|", ""},
		{10, 1, XS_WRITE, "c|1", "OK|"},
		{10, 1, XS_READ, "a|", ""},
		{10, 1, XS_WRITE, "b|1", "OK|"},
		{10, 1, XS_READ, "d|", "ENOSPC|"},
		{10, 1, XS_WRITE, "d|1", "ENOSPC|"},
		{10, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{10, 0, XS_READ, "c|", "1"},
		{10, 0, XS_READ, "d|", ""},
		/* dom0's transactions have no such limit. */
		{1, 2, H_START, "", ""},
		{1, 2, XS_READ, "/local/domain/5/a|", ""},
		{1, 2, XS_READ, "/local/domain/5/b|", "1"},
		{1, 2, XS_READ, "/local/domain/5/c|", "1"},
		{1, 2, XS_READ, "/local/domain/5/d|", ""},
		{1, 2, XS_TRANSACTION_END, "T|", "OK|"},
	};

	h_domain(h, 10, 5);
	H_ROWS(h, rows);
	h_free(h);
}

/*
 * A guest transaction's log of changes: no more changes than it may touch
 * nodes, even of one node, and no more bytes than the domain may own.
 */
static void
test_transaction_log_quota(void **state)
{
	struct harness *h = h_new();
	char big[2100];
	uint32_t t;
	int i;

	h_domain(h, 10, 5);
	h_expect(h, 1, 0, XS_SET_QUOTA, "5|transaction-nodes|3|", "OK|");
	t = h_txn(h, 10);
	for (i = 1; i <= 3; i++) {
		snprintf(big, sizeof(big), "a|%d", i);
		h_expect(h, 10, t, XS_WRITE, big, "OK|");
	}
	h_expect(h, 10, t, XS_WRITE, "a|4", "ENOSPC|");
	/* Refused before it changed anything: the third write commits. */
	h_expect(h, 10, t, XS_TRANSACTION_END, "T|", "OK|");
	h_expect(h, 10, 0, XS_READ, "a|", "3");

	/* Bytes: 2 KiB values, 12 KiB of logs across two transactions. */
	h_expect(h, 1, 0, XS_SET_QUOTA, "5|transaction-nodes|100|", "OK|");
	h_expect(h, 1, 0, XS_SET_QUOTA, "5|memory|12288|", "OK|");
	memcpy(big, "b|", 2);
	memset(big + 2, 'v', 2000);
	big[2002] = '\0';
	t = h_txn(h, 10);
	for (i = 0; i < 3; i++)
		h_expect(h, 10, t, XS_WRITE, big, "OK|");
	h_expect(h, 10, h_txn(h, 10), XS_WRITE, big, "OK|");
	h_expect(h, 10, t, XS_WRITE, big, "OK|");
	h_expect(h, 10, t, XS_WRITE, big, "ENOSPC|");
	/* dom0's transactions have no such limit (1024 by default). */
	t = h_txn(h, 1);
	for (i = 0; i < 1100; i++)
		h_expect(h, 1, t, XS_WRITE, "/local/domain/5/a|x", "OK|");
	h_free(h);
}

static void
test_reset_watches_ends_transactions(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{10, 1, H_START, "", ""},
		{10, 2, H_START, "", ""},
		{10, 1, XS_WRITE, "x|1", "OK|"},
		{10, 0, XS_RESET_WATCHES, "", "OK|"},
		{10, 1, XS_READ, "x|", "ENOENT|"},
		{10, 2, XS_TRANSACTION_END, "T|", "ENOENT|"},
		{10, 0, XS_READ, "x|", "ENOENT|"},
		/* The quota counts them no more. */
		{1, 0, XS_SET_QUOTA, "5|transactions|1|", "OK|"},
		{10, 3, H_START, "", ""},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	h_domain(h, 10, 5);
	H_ROWS(h, rows);
	h_free(h);
}

static void
test_commit_events(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_WATCH, "/ev|w|", "OK|"},
		{3, 0, XS_WATCH, "/ev|other|", "OK|"},
		{1, 0, H_EVENTS, NULL, "/ev|w|"},
		{3, 0, H_EVENTS, NULL, "/ev|other|"},
		{1, 1, H_START, "", ""},
		{1, 1, XS_WRITE, "/ev/a|1", "OK|"},
		{1, 1, XS_MKDIR, "/ev/b|", "OK|"},
		{1, 0, H_EVENTS, NULL, ""},
		{1, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 0, H_EVENTS, NULL, "/ev/a|w|\n/ev/b|w|"},
		{3, 0, H_EVENTS, NULL, "/ev/a|other|\n/ev/b|other|"},
		/* Aborted: nothing. */
		{1, 1, H_START, "", ""},
		{1, 1, XS_WRITE, "/ev/a|2", "OK|"},
		{1, 1, XS_RM, "/ev/b|", "OK|"},
		{1, 1, XS_TRANSACTION_END, "F|", "OK|"},
		{1, 0, H_EVENTS, NULL, ""},
		{3, 0, H_EVENTS, NULL, ""},
		/* Failed with EAGAIN: nothing either. */
		{1, 1, H_START, "", ""},
		{1, 1, XS_READ, "/ev/a|", "1"},
		{1, 1, XS_WRITE, "/ev/c|3", "OK|"},
		{3, 0, XS_WRITE, "/ev/a|9", "OK|"},
		{1, 0, H_EVENTS, NULL, "/ev/a|w|"},
		{3, 0, H_EVENTS, NULL, "/ev/a|other|"},
		{1, 1, XS_TRANSACTION_END, "T|", "EAGAIN|"},
		{1, 0, H_EVENTS, NULL, ""},
		{3, 0, H_EVENTS, NULL, ""},
		/* RM and SET_PERMS in a committed transaction. */
		{1, 1, H_START, "", ""},
		{1, 1, XS_RM, "/ev/b|", "OK|"},
		{1, 1, XS_SET_PERMS, "/ev/a|n0|r3|", "OK|"},
		{1, 0, H_EVENTS, NULL, ""},
		{1, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 0, H_EVENTS, NULL, "/ev/b|w|\n/ev/a|w|"},
		/* A read-only transaction fires nothing. */
		{1, 1, H_START, "", ""},
		{1, 1, XS_READ, "/ev/a|", "9"},
		{1, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 0, H_EVENTS, NULL, ""},
	};

	h_guest(h, 3, 0);
	H_ROWS(h, rows);
	h_free(h);
}

/* A guest's events from its transaction respect permissions too. */
static void
test_commit_events_permissions(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{11, 0, XS_WATCH, "/|all|", "OK|"},
		{11, 0, H_EVENTS, NULL, "/|all|"},
		{10, 1, H_START, "", ""},
		{10, 1, XS_WRITE, "priv|1", "OK|"},
		{10, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{11, 0, H_EVENTS, NULL, ""},
		{10, 1, H_START, "", ""},
		{10, 1, XS_WRITE, "pub|1", "OK|"},
		{10, 1, XS_SET_PERMS, "pub|n5|r6|", "OK|"},
		{10, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{11, 0, H_EVENTS, NULL, "/local/domain/5/pub|all|"},
	};

	h_domain(h, 10, 5);
	h_domain(h, 11, 6);
	H_ROWS(h, rows);
	h_free(h);
}

/*
 * Node quota at commit: two transactions, each within the quota on its
 * own, must not take a guest past it together.
 */
static void
test_node_quota_at_commit(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_SET_QUOTA, "5|nodes|5|", "OK|"},
		{10, 1, H_START, "", ""},
		{10, 2, H_START, "", ""},
		{10, 1, XS_WRITE, "a/b/c|", "OK|"},
		{10, 2, XS_WRITE, "x/y/z|", "OK|"},
		{10, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{10, 2, XS_TRANSACTION_END, "T|", "ENOSPC|"},
		{10, 0, XS_READ, "x|", "ENOENT|"},
		{10, 0, XS_WRITE, "q|", "OK|"},
		{10, 0, XS_WRITE, "r|", "ENOSPC|"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	h_domain(h, 10, 5);
	H_ROWS(h, rows);
	h_free(h);
}

/* Nodes a guest removes and creates in one transaction. */
static void
test_guest_transaction_accounting(void **state)
{
	struct harness *h = h_new();
	struct h_msg *m;
	static const struct h_row rows[] = {
		{1, 0, XS_SET_QUOTA, "5|nodes|4|", "OK|"},
		{10, 0, XS_WRITE, "a/b|", "OK|"},
		{10, 1, H_START, "", ""},
		{10, 1, XS_RM, "a|", "OK|"},
		{10, 1, XS_WRITE, "c/d/e|", "OK|"},
		{10, 1, XS_WRITE, "c/d/f|", "ENOSPC|"},
		{10, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{10, 0, XS_WRITE, "g|", "ENOSPC|"},
		{10, 0, XS_RM, "c/d/e|", "OK|"},
		{10, 0, XS_WRITE, "g|", "OK|"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	h_domain(h, 10, 5);
	H_ROWS(h, rows);
	m = h_req(h, 1, 0, XS_CONTROL, "quota|5|");
	assert_int_equal(m->type, XS_CONTROL);
	assert_non_null(strstr(m->payload, "4 / 4"));
	h_free(h);
}

/* Sends a request without waiting for its reply; returns its id. */
static uint32_t
c_send(struct harness *h, uint32_t conn, uint32_t tx, uint32_t type,
       const char *spec)
{
	char buf[256];
	size_t len = strlen(spec), i;
	uint32_t id = ++h->req_id;

	assert_true(len < sizeof(buf));
	for (i = 0; i < len; i++)
		buf[i] = spec[i] == '|' ? '\0' : spec[i];
	engine_request(h->e, conn, type, id, tx, buf, len);
	return id;
}

/* Whether request id of conn was answered with want ("OK|"). */
static bool
c_answered(struct harness *h, uint32_t conn, uint32_t id, const char *want)
{
	size_t i;

	for (i = h->next; i < h->nout; i++)
		if (h->out[i].conn == conn && h->out[i].req_id == id &&
		    h->out[i].type != XS_WATCH_EVENT) {
			assert_string_equal(h_show(&h->out[i]), want);
			return true;
		}
	return false;
}

/* dom0 (conn 1) reads path in a transaction, and while it is open, run. */
static uint32_t
c_dom0_reads(struct harness *h, const char *path)
{
	char buf[128];
	uint32_t t = h_txn(h, 1);

	snprintf(buf, sizeof(buf), "%s|", path);
	assert_int_equal(h_req(h, 1, t, XS_READ, buf)->type, XS_READ);
	h_expect(h, 1, t, XS_WRITE, "/be/state|4", "OK|");
	return t;
}

/* A flooding guest (5) against a backend transaction of dom0. */
static struct harness *
c_new(void)
{
	struct harness *h = h_new();

	h->e->test_now_ms = 1000;
	h_domain(h, 10, 5);
	h_domain(h, 11, 6);
	h_expect(h, 10, 0, XS_WRITE, "state|1", "OK|");
	h_expect(h, 10, 0, XS_SET_PERMS, "state|n5|r6|", "OK|");
	return h;
}

/*
 * The guest whose change made dom0's commit fail pays: its changes wait
 * for CONFLICT_COST_MS and while dom0's retry is open; another guest's and
 * dom0's do not, and the retry commits.
 */
static void
test_conflict_writer_pays(void **state)
{
	struct harness *h = c_new();
	uint32_t t, w, r;

	t = c_dom0_reads(h, "/local/domain/5/state");
	h_expect(h, 10, 0, XS_WRITE, "state|2", "OK|");
	h_expect(h, 1, t, XS_TRANSACTION_END, "T|", "EAGAIN|");
	w = c_send(h, 10, 0, XS_WRITE, "state|3");
	r = c_send(h, 10, 0, XS_READ, "state|");
	assert_false(c_answered(h, 10, w, "OK|"));
	assert_false(c_answered(h, 10, r, "3")); /* its replies stay in order */
	h_expect(h, 11, 0, XS_WRITE, "x|1", "OK|");
	h_expect(h, 1, 0, XS_WRITE, "/local/domain/5/by-dom0|1", "OK|");
	assert_int_equal(conflict_wait_ms(h->e), CONFLICT_COST_MS);

	/* Paid, but dom0's retry is open: it still waits. */
	t = c_dom0_reads(h, "/local/domain/5/state");
	h->e->test_now_ms += CONFLICT_COST_MS;
	conflict_tick(h->e);
	assert_false(c_answered(h, 10, w, "OK|"));
	h_expect(h, 1, t, XS_TRANSACTION_END, "T|", "OK|");
	conflict_tick(h->e);
	assert_true(c_answered(h, 10, w, "OK|"));
	assert_true(c_answered(h, 10, r, "3"));
	assert_int_equal(conflict_wait_ms(h->e), -1);

	/* A commit that went through ends the protection. */
	t = c_dom0_reads(h, "/local/domain/5/state");
	h_expect(h, 10, 0, XS_WRITE, "state|4", "OK|");
	h_expect(h, 1, t, XS_TRANSACTION_END, "F|", "OK|");
	h_expect(h, 1, 0, XS_CONTROL, "check|", "OK|");
	h_free(h);
}

/*
 * Between two guests the one whose change broke the other's commits pays,
 * once per change however many commits it broke; a guest's retry is not
 * protected.
 */
static void
test_conflict_between_guests(void **state)
{
	struct harness *h = c_new();
	uint32_t t1, t2, w;

	t1 = h_txn(h, 11);
	t2 = h_txn(h, 11);
	h_expect(h, 11, t1, XS_READ, "/local/domain/5/state|", "1");
	h_expect(h, 11, t2, XS_READ, "/local/domain/5/state|", "1");
	h_expect(h, 11, t1, XS_WRITE, "seen|1", "OK|");
	h_expect(h, 10, 0, XS_WRITE, "state|2", "OK|");
	h_expect(h, 11, t1, XS_TRANSACTION_END, "T|", "EAGAIN|");
	h_expect(h, 11, t2, XS_TRANSACTION_END, "T|", "EAGAIN|");
	w = c_send(h, 10, 0, XS_WRITE, "state|3");
	h_expect(h, 11, 0, XS_WRITE, "seen|2", "OK|");
	t1 = h_txn(h, 11);
	h_expect(h, 11, t1, XS_READ, "/local/domain/5/state|", "2");
	h->e->test_now_ms += CONFLICT_COST_MS - 1;
	conflict_tick(h->e);
	assert_false(c_answered(h, 10, w, "OK|"));
	h->e->test_now_ms += 1;
	conflict_tick(h->e);
	assert_true(c_answered(h, 10, w, "OK|"));
	h_expect(h, 11, t1, XS_TRANSACTION_END, "T|", "EAGAIN|");
	w = c_send(h, 10, 0, XS_WRITE, "state|4");
	assert_false(c_answered(h, 10, w, "OK|"));
	h->e->test_now_ms += CONFLICT_COST_MS;
	conflict_tick(h->e);
	assert_true(c_answered(h, 10, w, "OK|"));
	/* A guest that breaks its own transactions does not pay for it. */
	t1 = h_txn(h, 10);
	h_expect(h, 10, t1, XS_READ, "state|", "4");
	h_expect(h, 10, 0, XS_WRITE, "state|5", "OK|");
	h_expect(h, 10, t1, XS_TRANSACTION_END, "T|", "EAGAIN|");
	h_expect(h, 10, 0, XS_WRITE, "state|6", "OK|");
	h_free(h);
}

/* dom0's protection lasts CONFLICT_PRIO_MS at most. */
static void
test_conflict_protection_bound(void **state)
{
	struct harness *h = c_new();
	uint32_t t, w;

	t = c_dom0_reads(h, "/local/domain/5/state");
	h_expect(h, 10, 0, XS_WRITE, "state|2", "OK|");
	h_expect(h, 1, t, XS_TRANSACTION_END, "T|", "EAGAIN|");
	t = c_dom0_reads(h, "/local/domain/5/state");
	w = c_send(h, 10, 0, XS_WRITE, "state|3");
	h->e->test_now_ms += CONFLICT_PRIO_MS - 1;
	conflict_tick(h->e);
	assert_false(c_answered(h, 10, w, "OK|"));
	assert_int_equal(conflict_wait_ms(h->e), 1);
	h->e->test_now_ms += 1;
	conflict_tick(h->e);
	assert_true(c_answered(h, 10, w, "OK|"));
	h_expect(h, 1, t, XS_TRANSACTION_END, "T|", "EAGAIN|");
	h_free(h);
}

/* Makes enough changes that who made the earlier ones is forgotten. */
static void
c_forget(struct harness *h)
{
	unsigned int i;

	for (i = 0; i < CONFLICT_RING; i++) {
		if (h->nout + 2 >= H_MAX_OUT)
			h_flush(h);
		h_expect(h, 1, 0, XS_WRITE, "/y|", "OK|");
	}
}

/*
 * Commits that dom0's own connections make fail protect nothing. After
 * CONFLICT_RUN_ALL failures in a row on changes whose writer is forgotten,
 * dom0's retry holds back every guest; before, only those that broke its
 * commits.
 */
static void
test_conflict_protects_from_all(void **state)
{
	struct harness *h = c_new();
	unsigned int i;
	uint32_t t, w;

	h_expect(h, 1, 0, XS_WRITE, "/x|0", "OK|");
	for (i = 0; i < 2 * CONFLICT_RUN_ALL; i++) {
		t = c_dom0_reads(h, "/x");
		h_expect(h, 1, 0, XS_WRITE, "/x|0", "OK|");
		h_expect(h, 1, t, XS_TRANSACTION_END, "T|", "EAGAIN|");
	}
	t = c_dom0_reads(h, "/x");
	h_expect(h, 11, 0, XS_WRITE, "seen|1", "OK|");
	h_expect(h, 1, t, XS_TRANSACTION_END, "F|", "OK|");
	for (i = 0; i < CONFLICT_RUN_ALL; i++) {
		t = c_dom0_reads(h, "/local/domain/6/seen");
		/* Protected from nobody it failed on. */
		h_expect(h, 11, 0, XS_WRITE, "seen|1", "OK|");
		c_forget(h);
		h_expect(h, 1, t, XS_TRANSACTION_END, "T|", "EAGAIN|");
	}
	t = c_dom0_reads(h, "/local/domain/6/seen");
	w = c_send(h, 11, 0, XS_WRITE, "seen|2");
	assert_false(c_answered(h, 11, w, "OK|"));
	h_expect(h, 1, t, XS_TRANSACTION_END, "T|", "OK|");
	conflict_tick(h->e);
	assert_true(c_answered(h, 11, w, "OK|"));
	h_free(h);
}

/*
 * A socket_ro client reads every guest's nodes and is untrusted: the
 * commits that guests' changes make fail charge nobody and protect
 * nothing, or it could slow every guest's changes, or hold them all.
 */
static void
test_conflict_read_only_charges_nobody(void **state)
{
	struct harness *h = c_new();
	char buf[32], val[32];
	unsigned int i;
	uint32_t t;

	for (i = 0; i <= CONFLICT_RUN_ALL; i++) {
		t = h_txn(h, 2);
		snprintf(val, sizeof(val), "%u", i + 1);
		h_expect(h, 2, t, XS_READ, "/local/domain/5/state|", val);
		snprintf(buf, sizeof(buf), "state|%u", i + 2);
		h_expect(h, 10, 0, XS_WRITE, buf, "OK|");
		h_expect(h, 11, 0, XS_WRITE, "x|1", "OK|");
		h_expect(h, 2, t, XS_TRANSACTION_END, "T|", "EAGAIN|");
	}
	t = h_txn(h, 2);
	h_expect(h, 10, 0, XS_WRITE, "state|0", "OK|");
	h_expect(h, 11, 0, XS_WRITE, "x|2", "OK|");
	assert_int_equal(conflict_wait_ms(h->e), -1);
	h_expect(h, 2, t, XS_TRANSACTION_END, "F|", "OK|");
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit_without_notes),
		cmocka_unit_test(test_isolation),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_conflicts),
		cmocka_unit_test(test_siblings_commit),
		cmocka_unit_test(test_device_creation),
		cmocka_unit_test(test_directory_conflict),
		cmocka_unit_test(test_rm_in_transaction),
		cmocka_unit_test(test_create_prefix_notes),
		cmocka_unit_test(test_commit_checks_in_order),
		cmocka_unit_test(test_start_end_errors),
		cmocka_unit_test(test_transaction_quota),
		cmocka_unit_test(test_transaction_nodes_quota),
		cmocka_unit_test(test_transaction_log_quota),
		cmocka_unit_test(test_reset_watches_ends_transactions),
		cmocka_unit_test(test_commit_events),
		cmocka_unit_test(test_commit_events_permissions),
		cmocka_unit_test(test_node_quota_at_commit),
		cmocka_unit_test(test_guest_transaction_accounting),
		cmocka_unit_test(test_conflict_writer_pays),
		cmocka_unit_test(test_conflict_between_guests),
		cmocka_unit_test(test_conflict_protection_bound),
		cmocka_unit_test(test_conflict_protects_from_all),
		cmocka_unit_test(test_conflict_read_only_charges_nobody),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
