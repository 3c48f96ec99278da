// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every message type of docs/misc/xenstore.txt, its replies and its
 * errors, as (connection, transaction, request, expected reply) rows.
 */
#include "harness.h"

static void
test_read_write_mkdir_rm(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_READ, "/a|", "ENOENT|"},
		{1, 0, XS_WRITE, "/a|1", "OK|"},
		{1, 0, XS_READ, "/a|", "1"},
		{1, 0, XS_WRITE, "/a|", "OK|"},
		{1, 0, XS_READ, "/a|", ""},
		/* Values are binary: NULs inside survive. */
		{1, 0, XS_WRITE, "/a|x|y|", "OK|"},
		{1, 0, XS_READ, "/a|", "x|y|"},
		/* WRITE creates missing parents with empty values. */
		{1, 0, XS_WRITE, "/p/q/r|v", "OK|"},
		{1, 0, XS_READ, "/p|", ""},
		{1, 0, XS_READ, "/p/q|", ""},
		{1, 0, XS_READ, "/p/q/r|", "v"},
		/* MKDIR leaves existing values alone. */
		{1, 0, XS_MKDIR, "/p/q/r|", "OK|"},
		{1, 0, XS_READ, "/p/q/r|", "v"},
		{1, 0, XS_MKDIR, "/m/n|", "OK|"},
		{1, 0, XS_READ, "/m|", ""},
		{1, 0, XS_READ, "/m/n|", ""},
		/* RM: recursive; a missing node is fine if its parent is. */
		{1, 0, XS_RM, "/p/q|", "OK|"},
		{1, 0, XS_READ, "/p/q/r|", "ENOENT|"},
		{1, 0, XS_READ, "/p|", ""},
		{1, 0, XS_RM, "/p/q|", "OK|"},
		{1, 0, XS_RM, "/p/q/r|", "ENOENT|"},
		{1, 0, XS_RM, "/|", "EINVAL|"},
		/* Relative paths of dom0 are under /local/domain/0. */
		{1, 0, XS_WRITE, "rel|x", "OK|"},
		{1, 0, XS_READ, "/local/domain/0/rel|", "x"},
		{1, 0, XS_READ, "rel|", "x"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

static void
test_directory(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_DIRECTORY, "/d|", "ENOENT|"},
		{1, 0, XS_MKDIR, "/d|", "OK|"},
		{1, 0, XS_DIRECTORY, "/d|", ""},
		{1, 0, XS_WRITE, "/d/b|", "OK|"},
		{1, 0, XS_WRITE, "/d/a|", "OK|"},
		{1, 0, XS_WRITE, "/d/c/x|", "OK|"},
		{1, 0, XS_DIRECTORY, "/d|", "a|b|c|"},
		{1, 0, XS_DIRECTORY, "/d/c|", "x|"},
		{1, 0, XS_DIRECTORY, "/|", "d|tool|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

/* DIRECTORY_PART "<gen>|a|b||": the generation, names, an empty end. */
static void
test_directory_part_small(void **state)
{
	struct harness *h = h_new();
	struct h_msg *m;
	char gen1[32], gen2[32], want[64], req[64];
	static const struct h_row rows[] = {
		{1, 0, XS_MKDIR, "/d|", "OK|"},
		{1, 0, XS_WRITE, "/d/a|", "OK|"},
		{1, 0, XS_WRITE, "/d/bb|", "OK|"},
		{1, 0, XS_DIRECTORY_PART, "/nope|0|", "ENOENT|"},
	};

	H_ROWS(h, rows);
	m = h_req(h, 1, 0, XS_DIRECTORY_PART, "/d|0|");
	assert_int_equal(m->type, XS_DIRECTORY_PART);
	snprintf(gen1, sizeof(gen1), "%.30s", m->payload);
	assert_true(gen1[0] >= '0' && gen1[0] <= '9');
	snprintf(want, sizeof(want), "%s|a|bb||", gen1);
	assert_string_equal(h_show(m), want);
	/* From byte 2 (the start of "bb"). */
	snprintf(want, sizeof(want), "%s|bb||", gen1);
	h_expect(h, 1, 0, XS_DIRECTORY_PART, "/d|2|", want);
	/* At and behind the end: only the empty string. */
	snprintf(want, sizeof(want), "%s||", gen1);
	h_expect(h, 1, 0, XS_DIRECTORY_PART, "/d|5|", want);
	h_expect(h, 1, 0, XS_DIRECTORY_PART, "/d|100|", want);
	/* The generation stays while the list does not change... */
	m = h_req(h, 1, 0, XS_DIRECTORY_PART, "/d|0|");
	assert_string_equal(m->payload, gen1);
	/* ... and moves when it does. */
	h_expect(h, 1, 0, XS_WRITE, "/d/c|", "OK|");
	m = h_req(h, 1, 0, XS_DIRECTORY_PART, "/d|0|");
	snprintf(gen2, sizeof(gen2), "%.30s", m->payload);
	assert_string_not_equal(gen1, gen2);
	snprintf(want, sizeof(want), "%s|a|bb|c||", gen2);
	assert_string_equal(h_show(m), want);
	/* A node without children. */
	m = h_req(h, 1, 0, XS_DIRECTORY_PART, "/d/a|0|");
	snprintf(req, sizeof(req), "%.30s||", m->payload);
	assert_string_equal(h_show(m), req);
	h_free(h);
}

/* A child list longer than a payload: several pages, DIRECTORY E2BIG. */
static void
test_directory_part_pages(void **state)
{
	struct harness *h = h_new();
	static char all[16384], got[16384], req[256], gen[32];
	size_t alen = 0, glen = 0, off = 0, pages = 0;
	struct h_msg *m;
	int i;

	h_expect(h, 1, 0, XS_MKDIR, "/big|", "OK|");
	for (i = 0; i < 120; i++) {
		char name[80];

		/* 60-byte names, in sorted order: 120 * 61 = 7320 bytes. */
		snprintf(name, sizeof(name), "n%03d", i);
		memset(name + 4, 'x', 56);
		name[60] = '\0';
		snprintf(req, sizeof(req), "/big/%s|", name);
		h_expect(h, 1, 0, XS_WRITE, req, "OK|");
		memcpy(all + alen, name, 61);
		alen += 61;
		h_flush(h);
	}
	h_expect(h, 1, 0, XS_DIRECTORY, "/big|", "E2BIG|");
	for (;;) {
		size_t n, plen;

		snprintf(req, sizeof(req), "/big|%zu|", off);
		m = h_req(h, 1, 0, XS_DIRECTORY_PART, req);
		assert_int_equal(m->type, XS_DIRECTORY_PART);
		assert_true(m->len <= XS_PAYLOAD_MAX);
		if (pages == 0)
			snprintf(gen, sizeof(gen), "%.30s", m->payload);
		/* Every page carries the same generation. */
		assert_string_equal(m->payload, gen);
		plen = strlen(m->payload) + 1;
		n = m->len - plen;
		assert_true(n > 0);
		pages++;
		if (m->payload[m->len - 1] == '\0' &&
		    (n == 1 || m->payload[m->len - 2] == '\0')) {
			/* The last page: names then the empty string. */
			memcpy(got + glen, m->payload + plen, n - 1);
			glen += n - 1;
			break;
		}
		memcpy(got + glen, m->payload + plen, n);
		glen += n;
		off += n;
		assert_true(pages < 10);
		h_flush(h);
	}
	assert_true(pages >= 2);
	assert_int_equal(glen, alen);
	assert_memory_equal(got, all, alen);

	/*
	 * The engine resumes a listing where the previous part stopped; a
	 * change in between, or another node asked at the same offset, must
	 * not be answered from that position.
	 */
	m = h_req(h, 1, 0, XS_DIRECTORY_PART, "/big|0|");
	off = m->len - (strlen(m->payload) + 1);
	h_flush(h);
	h_expect(h, 1, 0, XS_MKDIR, "/small|", "OK|");
	snprintf(req, sizeof(req), "/small|%zu|", off);
	m = h_req(h, 1, 0, XS_DIRECTORY_PART, req);
	assert_int_equal(m->len, strlen(m->payload) + 2);
	h_flush(h);
	/* A 1-byte name in front: byte off is no longer a name's start. */
	h_expect(h, 1, 0, XS_WRITE, "/big/a|", "OK|");
	snprintf(req, sizeof(req), "/big|%zu|", off);
	h_expect(h, 1, 0, XS_DIRECTORY_PART, req, "EINVAL|");
	/* And two bytes further it is: the rest of the old list. */
	snprintf(req, sizeof(req), "/big|%zu|", off + 2);
	m = h_req(h, 1, 0, XS_DIRECTORY_PART, req);
	assert_string_not_equal(m->payload, gen);
	assert_memory_equal(m->payload + strlen(m->payload) + 1, all + off, 61);
	h_free(h);
}

static void
test_perms_messages(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_GET_PERMS, "/|", "n0|"},
		{1, 0, XS_GET_PERMS, "/x|", "ENOENT|"},
		{1, 0, XS_WRITE, "/x|", "OK|"},
		{1, 0, XS_SET_PERMS, "/x|n0|r1|w2|b3|", "OK|"},
		{1, 0, XS_GET_PERMS, "/x|", "n0|r1|w2|b3|"},
		{1, 0, XS_SET_PERMS, "/x|b0|", "OK|"},
		{1, 0, XS_GET_PERMS, "/x|", "b0|"},
		/* New nodes take the permissions of their parent. */
		{1, 0, XS_WRITE, "/x/y|", "OK|"},
		{1, 0, XS_GET_PERMS, "/x/y|", "b0|"},
		{1, 0, XS_SET_PERMS, "/nope|n0|", "ENOENT|"},
		{1, 0, XS_SET_PERMS, "/x|", "EINVAL|"},
		{1, 0, XS_SET_PERMS, "/x|q0|", "EINVAL|"},
		{1, 0, XS_SET_PERMS, "/x|r|", "EINVAL|"},
		{1, 0, XS_SET_PERMS, "/x|r65536|", "EINVAL|"},
		{1, 0, XS_SET_PERMS, "/x|rabc|", "EINVAL|"},
		{1, 0, XS_GET_PERMS, "@releaseDomain|", "n0|"},
		{1, 0, XS_GET_PERMS, "@introduceDomain|", "n0|"},
		{1, 0, XS_SET_PERMS, "@releaseDomain|n0|r3|", "OK|"},
		{1, 0, XS_GET_PERMS, "@releaseDomain|", "n0|r3|"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

static void
test_watch_messages(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_WATCH, "/w|tok|", "OK|"},
		{1, 0, H_EVENTS, NULL, "/w|tok|"},
		/* The tx_id of WATCH and UNWATCH is ignored. */
		{1, H_TXID(77), XS_WATCH, "/v|t|", "OK|"},
		{1, 0, H_EVENTS, NULL, "/v|t|"},
		{1, H_TXID(77), XS_UNWATCH, "/v|t|", "OK|"},
		{1, 0, XS_WATCH, "/w|tok|", "EEXIST|"},
		{1, 0, XS_WATCH, "/w|tok2|", "OK|"},
		{1, 0, H_EVENTS, NULL, "/w|tok2|"},
		{1, 0, XS_WRITE, "/w|1", "OK|"},
		{1, 0, H_EVENTS, NULL, "/w|tok2|\n/w|tok|"},
		{1, 0, XS_UNWATCH, "/w|tok|", "OK|"},
		{1, 0, XS_UNWATCH, "/w|tok|", "ENOENT|"},
		{1, 0, XS_UNWATCH, "/other|tok2|", "ENOENT|"},
		{1, 0, XS_RESET_WATCHES, "", "OK|"},
		{1, 0, XS_UNWATCH, "/w|tok2|", "ENOENT|"},
		{1, 0, XS_WRITE, "/w|2", "OK|"},
		{1, 0, H_EVENTS, NULL, ""},
		{1, 0, XS_WATCH, "/a b|t|", "EINVAL|"},
		{1, 0, XS_WATCH, "/w/|t|", "EINVAL|"},
		{1, 0, XS_WATCH, "/w|t|x|", "EINVAL|"},
		{1, 0, XS_WATCH, "/w|t|-1|", "EINVAL|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

static void
test_transaction_messages(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 1, H_START, "", ""},
		{1, 2, H_START, "|", ""},
		{1, 1, XS_WRITE, "/t|1", "OK|"},
		{1, 1, XS_TRANSACTION_START, "", "EBUSY|"},
		{1, H_TXID(999), XS_READ, "/t|", "ENOENT|"},
		{1, H_TXID(999), XS_TRANSACTION_START, "", "ENOENT|"},
		{1, H_TXID(999), XS_TRANSACTION_END, "T|", "ENOENT|"},
		{1, 0, XS_TRANSACTION_END, "T|", "ENOENT|"},
		{1, 1, XS_TRANSACTION_END, "X|", "EINVAL|"},
		{1, 1, XS_TRANSACTION_END, "T", "EINVAL|"},
		{1, 1, XS_TRANSACTION_END, "", "EINVAL|"},
		/* Still alive after the bad ends. */
		{1, 1, XS_READ, "/t|", "1"},
		{1, 1, XS_TRANSACTION_END, "T|", "OK|"},
		{1, 1, XS_READ, "/t|", "ENOENT|"},
		{1, 2, XS_TRANSACTION_END, "F|", "OK|"},
		{1, 2, XS_TRANSACTION_END, "F|", "ENOENT|"},
		{1, 0, XS_READ, "/t|", "1"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

static void
test_domain_messages(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_GET_DOMAIN_PATH, "5|", "/local/domain/5|"},
		{1, 0, XS_GET_DOMAIN_PATH, "0|", "/local/domain/0|"},
		{1, 0, XS_GET_DOMAIN_PATH, "x|", "EINVAL|"},
		{1, 0, XS_IS_DOMAIN_INTRODUCED, "0|", "T|"},
		{1, 0, XS_IS_DOMAIN_INTRODUCED, "5|", "F|"},
		{1, 0, XS_RELEASE, "5|", "ENOENT|"},
		{1, 0, XS_RESUME, "5|", "ENOENT|"},
		{1, 0, XS_INTRODUCE, "5|100|7|", "OK|"},
		{1, 0, XS_IS_DOMAIN_INTRODUCED, "5|", "T|"},
		/* Reintroduction rebinds the channel. */
		{1, 0, XS_INTRODUCE, "5|100|8|", "OK|"},
		{1, 0, XS_INTRODUCE, "0|100|7|", "OK|"},
		{1, 0, XS_INTRODUCE, "32752|100|7|", "EINVAL|"},
		{1, 0, XS_INTRODUCE, "6|x|7|", "EINVAL|"},
		{1, 0, XS_INTRODUCE, "6|100|x|", "EINVAL|"},
		{1, 0, XS_INTRODUCE, "6|100|", "EINVAL|"},
		{1, 0, XS_RESUME, "5|", "OK|"},
		{1, 0, XS_INTRODUCE, "6|100|9|", "OK|"},
		{1, 0, XS_SET_TARGET, "6|5|", "OK|"},
		{1, 0, XS_SET_TARGET, "8|5|", "ENOENT|"},
		{1, 0, XS_SET_TARGET, "6|0|", "EINVAL|"},
		{1, 0, XS_RELEASE, "6|", "OK|"},
		{1, 0, XS_RELEASE, "5|", "OK|"},
		{1, 0, XS_IS_DOMAIN_INTRODUCED, "5|", "F|"},
		{1, 0, XS_RELEASE, "5|", "ENOENT|"},
		{1, 0, XS_RELEASE, "0|", "EINVAL|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

static void
test_feature_messages(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		/* Without a domain: what the store supports. */
		{1, 0, XS_GET_FEATURE, "", "3|"},
		{1, 0, XS_GET_FEATURE, "9|", "ENOENT|"},
		{1, 0, XS_SET_FEATURE, "9|1|", "OK|"},
		{1, 0, XS_GET_FEATURE, "9|", "1|"},
		{1, 0, XS_SET_FEATURE, "9|3|", "OK|"},
		{1, 0, XS_GET_FEATURE, "9|", "3|"},
		{1, 0, XS_SET_FEATURE, "9|4|", "EINVAL|"},
		{1, 0, XS_SET_FEATURE, "9|x|", "EINVAL|"},
		{1, 0, XS_SET_FEATURE, "0|1|", "EINVAL|"},
		{1, 0, XS_INTRODUCE, "9|100|7|", "OK|"},
		{1, 0, XS_GET_FEATURE, "9|", "3|"},
		/* Refused once the domain is introduced. */
		{1, 0, XS_SET_FEATURE, "9|1|", "EBUSY|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

static void
test_quota_messages(void **state)
{
	struct harness *h = h_new();
	struct h_msg *m;
	static const char *const names[] = {"nodes", "watches", "transactions",
					    "node-size", "permissions"};
	static const struct h_row rows[] = {
		{1, 0, XS_GET_QUOTA, "nodes|", "1000|"},
		{1, 0, XS_GET_QUOTA, "node-size|", "2048|"},
		{1, 0, XS_GET_QUOTA, "watches|", "128|"},
		{1, 0, XS_GET_QUOTA, "transactions|", "10|"},
		{1, 0, XS_GET_QUOTA, "permissions|", "5|"},
		{1, 0, XS_GET_QUOTA, "path-max|", "2048|"},
		{1, 0, XS_GET_QUOTA, "transaction-nodes|", "1024|"},
		{1, 0, XS_GET_QUOTA, "bogus|", "EINVAL|"},
		{1, 0, XS_GET_QUOTA, "77|nodes|", "ENOENT|"},
		{1, 0, XS_SET_QUOTA, "nodes|500|", "OK|"},
		{1, 0, XS_GET_QUOTA, "nodes|", "500|"},
		{1, 0, XS_INTRODUCE, "5|100|7|", "OK|"},
		{1, 0, XS_GET_QUOTA, "5|nodes|", "500|"},
		{1, 0, XS_SET_QUOTA, "5|nodes|20|", "OK|"},
		{1, 0, XS_GET_QUOTA, "5|nodes|", "20|"},
		{1, 0, XS_GET_QUOTA, "nodes|", "500|"},
		{1, 0, XS_SET_QUOTA, "77|nodes|20|", "ENOENT|"},
		{1, 0, XS_SET_QUOTA, "bogus|1|", "EINVAL|"},
		{1, 0, XS_SET_QUOTA, "nodes|x|", "EINVAL|"},
		{1, 0, XS_SET_QUOTA, "nodes|", "EINVAL|"},
		{1, 0, XS_SET_QUOTA, "nodes|0|", "OK|"},
		{1, 0, XS_GET_QUOTA, "nodes|", "0|"},
	};
	size_t i;

	/* Without arguments: the names, separated by blanks. */
	m = h_req(h, 1, 0, XS_GET_QUOTA, "");
	assert_int_equal(m->type, XS_GET_QUOTA);
	assert_int_equal(m->payload[m->len - 1], '\0');
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char word[32];

		snprintf(word, sizeof(word), " %s ", names[i]);
		{
			char padded[512];

			snprintf(padded, sizeof(padded), " %.500s ",
				 m->payload);
			if (strstr(padded, word) == NULL)
				fail_msg("GET_QUOTA lacks '%s': '%s'", names[i],
					 m->payload);
		}
	}
	H_ROWS(h, rows);
	h_free(h);
}

static bool
reply_has(struct h_msg *m, uint32_t type, const char *text)
{
	return m->type == type && m->len > 0 &&
	       m->payload[m->len - 1] == '\0' &&
	       strstr(m->payload, text) != NULL;
}

static void
test_control_messages(void **state)
{
	struct harness *h = h_new();
	struct h_msg *m;
	static const struct h_row rows[] = {
		{1, 0, XS_CONTROL, "check|", "OK|"},
		{1, 0, XS_CONTROL, "log|on|", "OK|"},
		{1, 0, XS_CONTROL, "log|off|", "OK|"},
		{1, 0, XS_CONTROL, "log|maybe|", "EINVAL|"},
		{1, 0, XS_CONTROL, "print|hello there|", "OK|"},
		{1, 0, H_LOG, NULL, "hello there"},
		{1, 0, XS_CONTROL, "quota|77|", "ENOENT|"},
		{1, 0, XS_CONTROL, "frobnicate|", "EINVAL|"},
		{1, 0, XS_CONTROL, "", "EINVAL|"},
		{1, 0, XS_CONTROL, "|", "EINVAL|"},
	};

	H_ROWS(h, rows);
	m = h_req(h, 1, 0, XS_CONTROL, "help|");
	assert_true(reply_has(m, XS_CONTROL, "check"));
	assert_true(reply_has(m, XS_CONTROL, "quota"));
	assert_true(reply_has(m, XS_CONTROL, "memreport"));
	m = h_req(h, 1, 0, XS_CONTROL, "memreport|");
	assert_true(reply_has(m, XS_CONTROL, "nodes"));
	assert_true(reply_has(m, XS_CONTROL, "memory in use"));
	m = h_req(h, 1, 0, XS_CONTROL, "quota|");
	assert_true(reply_has(m, XS_CONTROL, "nodes"));
	assert_true(reply_has(m, XS_CONTROL, "1000"));
	m = h_req(h, 1, 0, XS_CONTROL, "quota-soft|");
	assert_int_equal(m->type, XS_CONTROL);
	h_expect(h, 1, 0, XS_INTRODUCE, "5|100|7|", "OK|");
	m = h_req(h, 1, 0, XS_CONTROL, "quota|5|");
	assert_true(reply_has(m, XS_CONTROL, "nodes"));
	h_free(h);
}

/* xenstore-control quota set <name> <val>: "quota|set|nodes|3|". */
static void
test_control_quota_set(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_CONTROL, "quota|set|nodes|300|", "OK|"},
		{1, 0, XS_GET_QUOTA, "nodes|", "300|"},
		{1, 0, XS_CONTROL, "quota|set|node-size|4000|", "OK|"},
		{1, 0, XS_GET_QUOTA, "node-size|", "4000|"},
		{1, 0, XS_CONTROL, "quota|set|bogus|1|", "EINVAL|"},
		{1, 0, XS_CONTROL, "quota|set|nodes|x|", "EINVAL|"},
		{1, 0, XS_CONTROL, "quota|set|nodes|", "EINVAL|"},
		{1, 0, XS_CONTROL, "quota-soft|set|memory|100000|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

static void
test_unknown_types(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, 20, "", "ENOSYS|"},
		{1, 0, 27, "", "ENOSYS|"},
		{1, 0, 99, "/a|", "ENOSYS|"},
		{1, 0, 0xffff, "", "ENOSYS|"},
		{1, 0, XS_WATCH_EVENT, "/a|t|", "ENOSYS|"},
		{1, 0, XS_ERROR, "EINVAL|", "ENOSYS|"},
		{2, 0, 20, "", "ENOSYS|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

/* Missing NULs and extra arguments. */
static void
test_malformed(void **state)
{
	struct harness *h = h_new();
	static const struct h_row rows[] = {
		{1, 0, XS_WRITE, "/a|1", "OK|"},
		{1, 0, XS_READ, "/a", "EINVAL|"},
		{1, 0, XS_READ, "", "EINVAL|"},
		{1, 0, XS_READ, "/a|x|", "EINVAL|"},
		{1, 0, XS_READ, "/a||", "EINVAL|"},
		{1, 0, XS_WRITE, "/a", "EINVAL|"},
		{1, 0, XS_WRITE, "", "EINVAL|"},
		{1, 0, XS_MKDIR, "/b", "EINVAL|"},
		{1, 0, XS_MKDIR, "/b|x|", "EINVAL|"},
		{1, 0, XS_RM, "/a", "EINVAL|"},
		{1, 0, XS_RM, "/a|x|", "EINVAL|"},
		{1, 0, XS_DIRECTORY, "/", "EINVAL|"},
		{1, 0, XS_DIRECTORY, "/|x|", "EINVAL|"},
		{1, 0, XS_DIRECTORY_PART, "/|", "EINVAL|"},
		{1, 0, XS_DIRECTORY_PART, "/|0", "EINVAL|"},
		{1, 0, XS_DIRECTORY_PART, "/|0|x|", "EINVAL|"},
		{1, 0, XS_GET_PERMS, "/a", "EINVAL|"},
		{1, 0, XS_GET_PERMS, "/a|x|", "EINVAL|"},
		{1, 0, XS_SET_PERMS, "/a", "EINVAL|"},
		{1, 0, XS_SET_PERMS, "/a|n0", "EINVAL|"},
		{1, 0, XS_WATCH, "/a|t", "EINVAL|"},
		{1, 0, XS_WATCH, "/a|", "EINVAL|"},
		{1, 0, XS_WATCH, "/a|t|1|x|", "EINVAL|"},
		{1, 0, XS_UNWATCH, "/a|t", "EINVAL|"},
		{1, 0, XS_UNWATCH, "/a|", "EINVAL|"},
		{1, 0, XS_GET_DOMAIN_PATH, "1", "EINVAL|"},
		{1, 0, XS_GET_DOMAIN_PATH, "1|2|", "EINVAL|"},
		{1, 0, XS_IS_DOMAIN_INTRODUCED, "1", "EINVAL|"},
		{1, 0, XS_IS_DOMAIN_INTRODUCED, "1|2|", "EINVAL|"},
		{1, 0, XS_INTRODUCE, "5|100|7", "EINVAL|"},
		{1, 0, XS_INTRODUCE, "5|100|7|", "OK|"},
		{1, 0, XS_RELEASE, "5", "EINVAL|"},
		{1, 0, XS_RELEASE, "5|6|", "EINVAL|"},
		{1, 0, XS_RESUME, "5", "EINVAL|"},
		{1, 0, XS_RESUME, "5|6|", "EINVAL|"},
		{1, 0, XS_SET_TARGET, "5|6", "EINVAL|"},
		{1, 0, XS_SET_TARGET, "5|", "EINVAL|"},
		{1, 0, XS_CONTROL, "check", "EINVAL|"},
		{1, 0, XS_CONTROL, "print|a|b|", "EINVAL|"},
		{1, 0, XS_GET_FEATURE, "5", "EINVAL|"},
		{1, 0, XS_GET_FEATURE, "5|6|", "EINVAL|"},
		{1, 0, XS_SET_FEATURE, "9|1", "EINVAL|"},
		{1, 0, XS_SET_FEATURE, "9|", "EINVAL|"},
		{1, 0, XS_GET_QUOTA, "nodes", "EINVAL|"},
		{1, 0, XS_GET_QUOTA, "5|nodes|x|", "EINVAL|"},
		{1, 0, XS_SET_QUOTA, "nodes|5", "EINVAL|"},
		{1, 0, XS_SET_QUOTA, "5|nodes|5|x|", "EINVAL|"},
		{1, 1, H_START, "", ""},
		{1, 1, XS_TRANSACTION_END, "T|x|", "EINVAL|"},
		{1, 1, XS_TRANSACTION_END, "F|", "OK|"},
		/* Nothing of the above changed the store. */
		{1, 0, XS_DIRECTORY, "/|", "a|tool|"},
		{1, 0, XS_READ, "/a|", "1"},
		{1, 0, XS_CONTROL, "check|", "OK|"},
	};

	H_ROWS(h, rows);
	h_free(h);
}

/* Replies carry the request's id and transaction id. */
static void
test_reply_ids(void **state)
{
	struct harness *h = h_new();
	uint32_t t = h_txn(h, 1);
	struct h_msg *m;

	m = h_req(h, 1, t, XS_WRITE, "/x|1");
	assert_int_equal(m->type, XS_WRITE);
	assert_int_equal(m->req_id, h->req_id);
	assert_int_equal(m->tx_id, t);
	m = h_req(h, 1, t, XS_READ, "/nope|");
	assert_int_equal(m->type, XS_ERROR);
	assert_int_equal(m->tx_id, t);
	m = h_req(h, 1, 0, XS_WATCH, "/x|t|");
	assert_int_equal(m->type, XS_WATCH);
	/* Watch events have req_id and tx_id 0. */
	assert_int_equal(h->out[h->nout - 1].type, XS_WATCH_EVENT);
	assert_int_equal(h->out[h->nout - 1].req_id, 0);
	assert_int_equal(h->out[h->nout - 1].tx_id, 0);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_write_mkdir_rm),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_directory_part_small),
		cmocka_unit_test(test_directory_part_pages),
		cmocka_unit_test(test_perms_messages),
		cmocka_unit_test(test_watch_messages),
		cmocka_unit_test(test_transaction_messages),
		cmocka_unit_test(test_domain_messages),
		cmocka_unit_test(test_feature_messages),
		cmocka_unit_test(test_quota_messages),
		cmocka_unit_test(test_control_messages),
		cmocka_unit_test(test_control_quota_set),
		cmocka_unit_test(test_unknown_types),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_reply_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
