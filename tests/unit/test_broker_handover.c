// SPDX-License-Identifier: GPL-2.0-only
/*
 * The broker's check of a stream for C xenstored 4.17 (handover_check.c):
 * a stream as xs-engine --write-stream c417 writes it passes, with the
 * records between preamble and END as the body; each way a crafted one
 * would make 4.17's reader exit, or misread, is refused with its reason.
 */
#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "broker.h"
#include "xs_state.h"

static uint8_t buf[65536];
static size_t len;

static void
put(const void *p, size_t n)
{
	assert_true(len + n <= sizeof(buf));
	memcpy(buf + len, p, n);
	len += n;
}

static void
put16(uint16_t v)
{
	put(&v, 2);
}

static void
put32(uint32_t v)
{
	put(&v, 4);
}

static void
pad(void)
{
	static const uint8_t zero[8];

	put(zero, (8 - (len & 7)) & 7);
}

static void
preamble(uint32_t version)
{
	uint32_t v[2] = {htobe32(version), htobe32(BYTE_ORDER == BIG_ENDIAN)};

	len = 0;
	put("xenstore", 8);
	put(v, 8);
}

/* perms: pairs of access and domid, as "r5"; a '!' before one: ignored. */
static void
node(const char *path, const char *perms, const char *data)
{
	size_t plen = strlen(path) + 1, dlen = strlen(data), np = 0;
	const char *p;

	for (p = perms; *p; p++)
		np += (*p >= 'a' && *p <= 'z');
	put32(REC_NODE_DATA);
	put32((uint32_t)((16 + 4 * np + plen + dlen + 7) & ~(size_t)7));
	put32(0);
	put32(0);
	put16((uint16_t)plen);
	put16((uint16_t)dlen);
	put16(0);
	put16((uint16_t)np);
	for (p = perms; *p; p++) {
		uint8_t pm[2] = {0, 0};

		if (*p == '!') {
			pm[1] = NODE_PERM_IGNORE;
			p++;
		}
		pm[0] = (uint8_t)*p++;
		put(pm, 2);
		put16((uint16_t)(*p - '0'));
	}
	put(path, plen);
	put(data, dlen);
	pad();
}

static void
watch(uint32_t cid, const char *path, const char *token)
{
	size_t pl = strlen(path) + 1, tl = strlen(token) + 1;

	put32(REC_WATCH_DATA);
	put32((uint32_t)((8 + pl + tl + 7) & ~(size_t)7));
	put32(cid);
	put16((uint16_t)pl);
	put16((uint16_t)tl);
	put(path, pl);
	put(token, tl);
	pad();
}

static void
end(void)
{
	put32(REC_END);
	put32(0);
}

static const uint32_t ids[] = {7, 9};

static const char *
check(void)
{
	size_t off = 1, blen = 1;

	return handover_records_check(buf, len, ids, 2, &off, &blen);
}

static void
expect(const char *why)
{
	const char *got = check();

	assert_non_null(got);
	assert_string_equal(got, why);
}

/* What the engine writes: @ nodes, watches, nodes in pre-order. */
static void
good(void)
{
	preamble(1);
	node("@releaseDomain", "n0", "");
	node("@introduceDomain", "n0r3", "");
	watch(7, "/local", "t1");
	watch(9, "rel/x", "t2");
	watch(9, "@releaseDomain", "t3");
	node("/", "n0", "");
	node("/a", "n0", "x");
	node("/a/b", "b3!r4", "value");
	node("/a/b/c", "n0", "");
	node("/a/c", "n0", "");
	node("/ab", "w0", "");
	node("/b", "n0", "");
	node("/b/a", "n0", "");
}

static void
test_good(void **st)
{
	size_t off = 0, blen = 0, endat;

	(void)st;
	good();
	endat = len;
	end();
	assert_null(handover_records_check(buf, len, ids, 2, &off, &blen));
	assert_int_equal(off, 16);
	assert_int_equal(blen, endat - 16);
}

static void
test_preamble(void **st)
{
	(void)st;
	good();
	end();
	buf[11] = 2;
	expect("not version 1 in this host's byte order");
	buf[11] = 1;
	buf[15] ^= 1;
	expect("not version 1 in this host's byte order");
	buf[0] = 'X';
	expect("not a xenstore migration stream");
	len = 10;
	expect("not a xenstore migration stream");
}

static void
test_end(void **st)
{
	(void)st;
	good();
	expect("no END record");
	end();
	put32(0);
	expect("END is not last, or not empty");
	len -= 4;
	buf[len - 4] = 8;
	expect("a record runs past the end");
}

static void
test_record_types(void **st)
{
	(void)st;
	good();
	put32(REC_CONNECTION_DATA);
	put32(0);
	end();
	expect("a record 4.17 does not take from the engine");
	good();
	put32(REC_WATCH_DATA_EXTENDED);
	put32(0);
	end();
	expect("a record 4.17 does not take from the engine");
}

static void
test_node_order(void **st)
{
	(void)st;
	preamble(1);
	node("/a", "n0", "");
	end();
	expect("the first node is not /");
	good();
	node("/c/d", "n0", "");
	end();
	expect("a node before its parent");
	good();
	node("/b", "n0", "");
	end();
	expect("nodes out of the tree's order");
	good();
	node("/a", "n0", "");
	end();
	expect("nodes out of the tree's order");
	good();
	node("/", "n0", "");
	end();
	expect("/ comes twice");
	good();
	watch(7, "/x", "late");
	end();
	expect("WATCH_DATA after the nodes");
	good();
	node("@releaseDomain", "n0", "");
	end();
	expect("NODE_DATA of a bad @ node");
	preamble(1);
	node("@other", "n0", "");
	end();
	expect("NODE_DATA of a bad @ node");
	preamble(1);
	end();
	expect("no / node");
}

static void
test_node_fields(void **st)
{
	static const char *const paths[] = {"/b/", "//", "/b//c", "b"};
	size_t at, i;

	(void)st;
	for (i = 0; i < 4; i++) {
		good();
		node(paths[i], "n0", "");
		end();
		expect("NODE_DATA with a bad path");
	}
	good();
	node("/c", "x0", "");
	end();
	expect("NODE_DATA with a bad permission");
	good();
	at = len;
	node("/c", "n0", "");
	end();
	buf[at + 8 + 16 + 1] = 2; /* a flag 4.17 does not know */
	expect("NODE_DATA with a bad permission");
	buf[at + 8 + 16 + 1] = 0;
	buf[at + 8] = 1; /* a connection's */
	expect("NODE_DATA of a transaction");
	buf[at + 8] = 0;
	buf[at + 8 + 12] = 1; /* a transaction's access */
	expect("NODE_DATA with a transaction's access");
	buf[at + 8 + 12] = 0;
	buf[at + 8 + 14] = 0; /* no permission */
	expect("NODE_DATA without an owner");
	buf[at + 8 + 14] = 1;
	buf[at + 8 + 10] = 9; /* data past the record */
	expect("NODE_DATA's lengths do not fill it");
	buf[at + 8 + 10] = 0;
	buf[at + 8 + 8] = 2; /* the path's NUL not at its end */
	expect("NODE_DATA's path is not a string");
	buf[at + 8 + 8] = 3;
	buf[at + 4] = 8;
	expect("NODE_DATA too short");
	buf[at + 4] = 24;
	assert_null(check());
}

static void
test_watch_fields(void **st)
{
	char big[4095]; /* with "/x", one past a WATCH payload */
	size_t at;

	(void)st;
	preamble(1);
	watch(8, "/x", "t");
	node("/", "n0", "");
	end();
	expect("WATCH_DATA of an unknown connection");
	preamble(1);
	at = len;
	watch(7, "/x", "t");
	node("/", "n0", "");
	end();
	buf[at + 8 + 4] = 2; /* the path's NUL not at its end */
	expect("WATCH_DATA's path or token is not a string");
	buf[at + 8 + 4] = 9; /* past the record */
	expect("WATCH_DATA's lengths do not fill it");
	buf[at + 8 + 4] = 3;
	buf[at + 4] = 0;
	expect("WATCH_DATA too short");
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	preamble(1);
	watch(7, big, "t");
	node("/", "n0", "");
	end();
	expect("WATCH_DATA's path or token too long");
	preamble(1);
	watch(7, "/x", big);
	node("/", "n0", "");
	end();
	expect("WATCH_DATA's path or token too long");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_preamble),
		cmocka_unit_test(test_end),
		cmocka_unit_test(test_record_types),
		cmocka_unit_test(test_node_order),
		cmocka_unit_test(test_node_fields),
		cmocka_unit_test(test_watch_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
