// SPDX-License-Identifier: GPL-2.0-only
/*
 * The journal: an engine started on the state another one left has the
 * same store (nodes, permissions, domains, quotas, connections, watches,
 * @ node permissions), answers a request sent again with the reply the
 * first engine recorded instead of running it twice, ignores a group torn
 * by a crash, and refuses a corrupt journal with a reason.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chan.h"
#include "journal_fix.h"

static void
same_store(struct engine *a, struct engine *b)
{
	struct buf x = {0}, y = {0};

	dump(a, &x);
	dump(b, &y);
	assert_int_equal(x.len, y.len);
	assert_memory_equal(x.p, y.p, x.len);
	free(x.p);
	free(y.p);
}

static void
flush(struct fix *f)
{
	assert_int_equal(journal_flush(f->h->e), 0);
}

/* A store built with every kind of change the journal records. */
static void
populate(struct fix *f)
{
	char spec[64];
	uint32_t t1, t2;
	int i;

	jexpect(f, 1, 0, XS_WRITE, "/a/b/c|one", "OK|");
	jexpect(f, 1, 0, XS_MKDIR, "/m/n|", "OK|");
	jexpect(f, 1, 0, XS_WRITE, "/a/b/c|two", "OK|");
	jexpect(f, 1, 0, XS_INTRODUCE, "5|100|7|", "OK|");
	jexpect(f, 1, 0, XS_INTRODUCE, "6|101|8|", "OK|");
	jexpect(f, 1, 0, XS_SET_TARGET, "6|5|", "OK|");
	jexpect(f, 1, 0, XS_WRITE, "/local/domain/5/name|guest", "OK|");
	jexpect(f, 1, 0, XS_SET_PERMS, "/local/domain/5|n5|r0|", "OK|");
	jexpect(f, 1, 0, XS_SET_PERMS, "/local/domain/5/name|n5|", "OK|");
	jexpect(f, 1, 0, XS_SET_PERMS, "@releaseDomain|n0|r5|", "OK|");
	jexpect(f, 1, 0, XS_SET_QUOTA, "5|nodes|50|", "OK|");
	jexpect(f, 1, 0, XS_SET_QUOTA, "watches|77|", "OK|");
	jexpect(f, 1, 0, XS_RM, "/m|", "OK|");
	for (i = 0; i < 20; i++) {
		snprintf(spec, sizeof(spec), "/many/%d|%d", i, i);
		jexpect(f, 1, 0, XS_WRITE, spec, "OK|");
	}
	jexpect(f, 1, 0, XS_RM, "/many/7|", "OK|");
	/* A guest's connection, its watch, and one watch taken back. */
	jopen(f, 3, 5, false);
	jexpect(f, 3, 0, XS_WATCH, "name|tok|", "OK|");
	jexpect(f, 1, 0, XS_WATCH, "/a|w1|", "OK|");
	jexpect(f, 1, 0, XS_WATCH, "/many|w2|", "OK|");
	jexpect(f, 1, 0, XS_UNWATCH, "/a|w1|", "OK|");
	/* Transactions: one adopted whole, one replayed over another. */
	t1 = h_txn(f->h, 1);
	jexpect(f, 1, t1, XS_WRITE, "/t/x|1", "OK|");
	jexpect(f, 1, t1, XS_RM, "/t|", "OK|");
	jexpect(f, 1, t1, XS_WRITE, "/t/y|2", "OK|");
	jexpect(f, 1, t1, XS_SET_PERMS, "/t|n0|r5|", "OK|");
	jexpect(f, 1, t1, XS_RM, "/many/3|", "OK|");
	jexpect(f, 1, t1, XS_TRANSACTION_END, "T|", "OK|");
	jexpect(f, 1, 0, XS_MKDIR, "/r|", "OK|");
	t1 = h_txn(f->h, 1);
	t2 = h_txn(f->h, 1);
	jexpect(f, 1, t1, XS_WRITE, "/r/one|1", "OK|");
	jexpect(f, 1, t2, XS_WRITE, "/r/two|2", "OK|");
	jexpect(f, 1, t2, XS_TRANSACTION_END, "T|", "OK|");
	jexpect(f, 1, t1, XS_TRANSACTION_END, "T|", "OK|");
	/* A closed connection's watches go with it. */
	jopen(f, 4, 0, true);
	jexpect(f, 4, 0, XS_WATCH, "/a|gone|", "OK|");
	journal_begin(f->h->e, 0, 0);
	engine_conn_close(f->h->e, 4);
	journal_end(f->h->e);
	/* A released domain's nodes go, and its id's entries turn stale. */
	jexpect(f, 1, 0, XS_WRITE, "/local/domain/6/x|y", "OK|");
	jexpect(f, 1, 0, XS_SET_PERMS, "/a|n0|r6|", "OK|");
	jexpect(f, 1, 0, XS_RELEASE, "6|", "OK|");
}

static void
test_recover(void **state)
{
	struct fix f;
	struct harness *h2;

	setup(&f);
	populate(&f);
	flush(&f);
	h2 = start(&f);
	assert_true(journal_restored(h2->e));
	same_store(f.h->e, h2->e);
	h_flush(h2);
	h_expect(h2, 1, 0, XS_READ, "/a/b/c|", "two");
	h_expect(h2, 1, 0, XS_GET_PERMS, "@releaseDomain|", "n0|r5|");
	h_expect(h2, 1, 0, XS_GET_PERMS, "/t|", "n0|r5|");
	h_expect(h2, 1, 0, XS_READ, "/t/y|", "2");
	h_expect(h2, 1, 0, XS_READ, "/t/x|", "ENOENT|");
	h_expect(h2, 1, 0, XS_READ, "/r/one|", "1");
	h_expect(h2, 1, 0, XS_READ, "/many/3|", "ENOENT|");
	h_expect(h2, 1, 0, XS_GET_QUOTA, "5|nodes|", "50|");
	h_expect(h2, 1, 0, XS_IS_DOMAIN_INTRODUCED, "5|", "T|");
	h_expect(h2, 1, 0, XS_IS_DOMAIN_INTRODUCED, "6|", "F|");
	h_expect(h2, 3, 0, XS_READ, "/local/domain/5/name|", "guest");
	/* The watches of connection 3 and 1 survived, 1's w1 did not. */
	h_expect(h2, 1, 0, XS_WRITE, "/local/domain/5/name|g2", "OK|");
	h_expect(h2, 1, 0, XS_WRITE, "/a/b/c|three", "OK|");
	h_expect(h2, 1, 0, XS_WRITE, "/many/1|x", "OK|");
	assert_string_equal(h_events(h2, 3), "name|tok|");
	assert_string_equal(h_events(h2, 1), "/many/1|w2|");
	/* And a third engine takes over the second one's state. */
	assert_int_equal(journal_flush(h2->e), 0);
	{
		struct harness *h3 = start(&f);

		h_expect(h3, 1, 0, XS_READ, "/a/b/c|", "three");
		h_expect(h3, 1, 0, XS_READ, "/many/1|", "x");
		h_expect(h3, 1, 0, XS_GET_PERMS, "/a|", "n0|r6|");
		same_store(h2->e, h3->e);
		h_free(h3);
	}
	h_free(h2);
	teardown(&f);
}

static void
test_reply_once(void **state)
{
	struct fix f;
	struct harness *h2;
	struct h_msg *m;
	uint64_t seq;

	setup(&f);
	jexpect(&f, 1, 0, XS_WRITE, "/counter|1", "OK|");
	seq = f.seq;
	jexpect(&f, 1, 0, XS_RM, "/nothing/here|", "ENOENT|");
	flush(&f);
	h2 = start(&f);
	/* Sent again: answered from the journal, not run again. */
	h2->e->seq = seq;
	m = h_req(h2, 1, 0, XS_WRITE, "/counter|2");
	assert_string_equal(h_show(m), "OK|");
	h_expect(h2, 1, 0, XS_READ, "/counter|", "1");
	/* Once only: the same number again is a new request. */
	h2->e->seq = seq;
	m = h_req(h2, 1, 0, XS_WRITE, "/counter|2");
	h2->e->seq = 0;
	h_expect(h2, 1, 0, XS_READ, "/counter|", "2");
	h_free(h2);
	teardown(&f);
}

/* The slot in use: the other one is emptied after each snapshot. */
static int
live_slot(struct fix *f, off_t *size)
{
	struct stat st;
	int i;

	for (i = 0; i < 2; i++) {
		assert_int_equal(fstat(f->fd[i], &st), 0);
		if (st.st_size > 0) {
			*size = st.st_size;
			return f->fd[i];
		}
	}
	fail_msg("no live slot");
	return -1;
}

/* Resends the request numbered seq on h: the reply it gets. */
static const char *
resend(struct harness *h, uint64_t seq, const char *spec)
{
	struct h_msg *m;

	h->e->seq = seq;
	m = h_req(h, 1, 0, XS_WRITE, spec);
	h->e->seq = 0;
	return h_show(m);
}

/*
 * Only the replies of the requests the broker will send again are kept,
 * whether its list comes in order (searched by halves) or not.
 */
static void
reply_filter(bool sorted)
{
	struct fix f;
	struct harness *h2;
	uint64_t s[3], list[2];
	char why[256];

	setup(&f);
	jexpect(&f, 1, 0, XS_WRITE, "/a|1", "OK|");
	s[0] = f.seq;
	jexpect(&f, 1, 0, XS_WRITE, "/b|1", "OK|");
	s[1] = f.seq;
	jexpect(&f, 1, 0, XS_WRITE, "/c|1", "OK|");
	s[2] = f.seq;
	flush(&f);
	list[0] = sorted ? s[0] : s[2];
	list[1] = sorted ? s[2] : s[0];
	h2 = calloc(1, sizeof(*h2));
	h2->e = engine_new(h_emit, h_log, h2);
	if (journal_attach(&h2->e, f.fd[0], f.fd[1], list, 2, why,
			   sizeof(why)) != 0)
		fail_msg("attach: %s", why);
	assert_string_equal(resend(h2, s[0], "/a|2"), "OK|");
	assert_string_equal(resend(h2, s[1], "/b|2"), "OK|");
	assert_string_equal(resend(h2, s[2], "/c|2"), "OK|");
	/* a and c were answered from the journal; b, not listed, ran. */
	h_expect(h2, 1, 0, XS_READ, "/a|", "1");
	h_expect(h2, 1, 0, XS_READ, "/b|", "2");
	h_expect(h2, 1, 0, XS_READ, "/c|", "1");
	h_free(h2);
	teardown(&f);
}

static void
test_reply_filter_sorted(void **state)
{
	reply_filter(true);
}

static void
test_reply_filter_unsorted(void **state)
{
	reply_filter(false);
}

static void
test_torn_group(void **state)
{
	struct fix f;
	struct harness *h2;
	off_t size, cut;
	int fd;

	setup(&f);
	jexpect(&f, 1, 0, XS_WRITE, "/kept|1", "OK|");
	flush(&f);
	fd = live_slot(&f, &cut);
	jexpect(&f, 1, 0, XS_WRITE, "/torn|1", "OK|");
	flush(&f);
	fd = live_slot(&f, &size);
	assert_true(size > cut);
	/* The engine died in the middle of the last group's write. */
	assert_int_equal(ftruncate(fd, size - 5), 0);
	h2 = start(&f);
	h_expect(h2, 1, 0, XS_READ, "/kept|", "1");
	h_expect(h2, 1, 0, XS_READ, "/torn|", "ENOENT|");
	h_free(h2);
	teardown(&f);
}

static void
test_corrupt(void **state)
{
	struct fix f;
	struct harness *h2;
	off_t cut, size;
	char why[256];
	uint8_t junk = 0xff;
	int fd;

	setup(&f);
	jexpect(&f, 1, 0, XS_WRITE, "/x|1", "OK|");
	flush(&f);
	fd = live_slot(&f, &cut);
	jexpect(&f, 1, 0, XS_WRITE, "/y|1", "OK|");
	jexpect(&f, 1, 0, XS_WRITE, "/z|1", "OK|");
	flush(&f);
	fd = live_slot(&f, &size);
	(void)size;
	/* A whole group with a broken record type is refused, not skipped. */
	assert_int_equal(pwrite(fd, &junk, 1, cut + 16 + 1), 1);
	h2 = calloc(1, sizeof(*h2));
	h2->e = engine_new(h_emit, h_log, h2);
	assert_int_equal(journal_attach(&h2->e, f.fd[0], f.fd[1], NULL, 0, why,
					sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "journal"));
	h_free(h2);
	teardown(&f);
}

/* A connection of a guest opened on an engine, as the broker opens one. */
static void
open_on(struct harness *h, uint32_t conn, uint32_t domid)
{
	journal_begin(h->e, 0, 0);
	assert_int_equal(engine_conn_open(h->e, conn, domid, false, false), 0);
	journal_end(h->e);
}

static void
close_on(struct harness *h, uint32_t conn)
{
	journal_begin(h->e, 0, 0);
	engine_conn_close(h->e, conn);
	journal_end(h->e);
}

/*
 * Entries naming domain 6 before its INTRODUCE mean it; of those naming
 * 7, the ones from before its RELEASE mean nothing, the later ones the
 * domain 7 is now. The same for @releaseDomain's, where the store has
 * them (a dump file has not).
 */
static void
incarnations_hold(struct harness *h, bool specials)
{
	open_on(h, 3, 6);
	open_on(h, 4, 7);
	h_expect(h, 3, 0, XS_WRITE, "/local/domain/6/x|y", "OK|");
	h_expect(h, 4, 0, XS_WRITE, "/old/x|y", "EACCES|");
	h_expect(h, 4, 0, XS_WRITE, "/new/x|y", "OK|");
	h_expect(h, 1, 0, XS_GET_PERMS, "/local/domain/6|", "n0|b6|");
	h_expect(h, 1, 0, XS_GET_PERMS, "/old|", "n0|b7|");
	h_expect(h, 3, 0, XS_WATCH, "@releaseDomain|r|", "OK|");
	h_expect(h, 4, 0, XS_WATCH, "@releaseDomain|r|", "OK|");
	h_flush(h);
	h_expect(h, 1, 0, XS_INTRODUCE, "9|103|10|", "OK|");
	h_expect(h, 1, 0, XS_RELEASE, "9|", "OK|");
	assert_string_equal(h_events(h, 3),
			    specials ? "@releaseDomain|r|" : "");
	assert_string_equal(h_events(h, 4), "");
	close_on(h, 3);
	close_on(h, 4);
}

/* Grows the journal past what a snapshot replaces, and has one made. */
static void
snapshot_now(struct fix *f, struct harness *h)
{
	static char spec[4100];
	off_t size;
	int i, n, was = live_slot(f, &size);

	for (i = 0; i < 300; i++) {
		n = snprintf(spec, sizeof(spec), "/pad/%d|", i % 10);
		memset(spec + n, 'v', 4000);
		spec[n + 4000] = '\0';
		h_expect(h, 1, 0, XS_WRITE, spec, "OK|");
	}
	assert_int_equal(journal_flush(h->e), 0);
	assert_int_equal(journal_compact(h->e), 0);
	assert_int_not_equal(live_slot(f, &size), was);
}

/*
 * What a domain's incarnation allows is the same for the engine that
 * recovers the store from its journal, from its snapshot, and from a dump
 * file (xs-broker --restore).
 */
static void
test_domain_incarnations(void **state)
{
	struct fix f, g;
	struct harness *h2, *h3, *h4;
	struct buf d = {0};

	setup(&f);
	/*
	 * Without a broker no domain exists but those introduced: entries
	 * are written while their domain is.
	 */
	jexpect(&f, 1, 0, XS_INTRODUCE, "6|101|8|", "OK|");
	jexpect(&f, 1, 0, XS_WRITE, "/local/domain/6|", "OK|");
	jexpect(&f, 1, 0, XS_SET_PERMS, "/local/domain/6|n0|b6|", "OK|");
	jexpect(&f, 1, 0, XS_INTRODUCE, "7|102|9|", "OK|");
	jexpect(&f, 1, 0, XS_WRITE, "/old|", "OK|");
	jexpect(&f, 1, 0, XS_SET_PERMS, "/old|n0|b7|", "OK|");
	jexpect(&f, 1, 0, XS_SET_PERMS, "@releaseDomain|n0|r6|r7|", "OK|");
	jexpect(&f, 1, 0, XS_RELEASE, "7|", "OK|");
	jexpect(&f, 1, 0, XS_INTRODUCE, "7|102|9|", "OK|");
	jexpect(&f, 1, 0, XS_WRITE, "/new|", "OK|");
	jexpect(&f, 1, 0, XS_SET_PERMS, "/new|n0|b7|", "OK|");
	flush(&f);
	h2 = start(&f);
	same_store(f.h->e, h2->e);
	incarnations_hold(h2, true);
	snapshot_now(&f, h2);
	h3 = start(&f);
	same_store(h2->e, h3->e);
	incarnations_hold(h3, true);
	dump(h3->e, &d);
	setup(&g);
	h_free(g.h);
	assert_int_equal(pwrite(g.fd[0], d.p, d.len, 0), (ssize_t)d.len);
	h4 = start(&g);
	assert_true(journal_restored(h4->e));
	same_store(h3->e, h4->e);
	incarnations_hold(h4, false);
	incarnations_hold(f.h, true);
	h_free(h4);
	h_free(h3);
	h_free(h2);
	free(d.p);
	teardown(&f);
	close(g.fd[0]);
	close(g.fd[1]);
}

static void
test_compact(void **state)
{
	struct fix f;
	struct harness *h2;
	char spec[4200];
	off_t before, after;
	int i;

	setup(&f);
	memset(spec, 'v', sizeof(spec));
	/* More than the journal may grow to before a snapshot replaces it. */
	for (i = 0; i < 5000; i++) {
		int n = snprintf(spec, 64, "/big/%d", i % 50);

		spec[n] = '|';
		spec[n + 1 + 4000] = '\0';
		jexpect(&f, 1, 0, XS_WRITE, spec, "OK|");
		h_flush(f.h);
		memset(spec, 'v', sizeof(spec));
		if (i % 100 == 99) {
			flush(&f);
			assert_int_equal(journal_compact(f.h->e), 0);
		}
	}
	flush(&f);
	live_slot(&f, &before);
	assert_int_equal(journal_compact(f.h->e), 0);
	live_slot(&f, &after);
	/* 5000 writes of 4 KiB did not pile up: snapshots took over. */
	assert_true(before < (off_t)(5000 * 4000 / 2));
	(void)after;
	h2 = start(&f);
	same_store(f.h->e, h2->e);
	h_free(h2);
	teardown(&f);
}

/* A damaged compressed snapshot is refused with a reason, never used. */
static void
test_corrupt_snapshot(void **state)
{
	struct fix f;
	struct harness *h2;
	uint64_t raw, bad;
	off_t size;
	char why[256];
	uint8_t b;
	int fd;

	setup(&f);
	populate(&f);
	flush(&f);
	/* The next engine starts with a snapshot of what is there. */
	h_free(f.h);
	f.h = calloc(1, sizeof(*f.h));
	f.h->e = engine_new(h_emit, h_log, f.h);
	fd = live_slot(&f, &size);
	assert_int_equal(ftruncate(f.fd[0] == fd ? f.fd[1] : f.fd[0], 0), 0);
	/* A byte in the middle of the compressed stream (after the 40-byte
	 * header) flips. */
	assert_int_equal(pread(fd, &b, 1, 40 + 20), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, 40 + 20), 1);
	assert_int_equal(journal_attach(&f.h->e, f.fd[0], f.fd[1], NULL, 0, why,
					sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "snapshot"));
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, 40 + 20), 1);
	/* The header lies about the inflated length. */
	assert_int_equal(pread(fd, &raw, 8, 32), 8);
	bad = raw + 8;
	assert_int_equal(pwrite(fd, &bad, 8, 32), 8);
	assert_int_equal(journal_attach(&f.h->e, f.fd[0], f.fd[1], NULL, 0, why,
					sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "corrupt compressed snapshot"));
	/* Shorter than the frame holds. */
	bad = raw - 8;
	assert_int_equal(pwrite(fd, &bad, 8, 32), 8);
	assert_int_equal(journal_attach(&f.h->e, f.fd[0], f.fd[1], NULL, 0, why,
					sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "corrupt compressed snapshot"));
	/* Far longer: refused without that much memory asked for (under
	 * AddressSanitizer, 1 TiB would abort). */
	bad = (uint64_t)1 << 40;
	assert_int_equal(pwrite(fd, &bad, 8, 32), 8);
	assert_int_equal(journal_attach(&f.h->e, f.fd[0], f.fd[1], NULL, 0, why,
					sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "corrupt compressed snapshot"));
	assert_int_equal(pwrite(fd, &raw, 8, 32), 8);
	h2 = start(&f);
	assert_true(journal_restored(h2->e));
	h_expect(h2, 1, 0, XS_READ, "/a/b/c|", "two");
	h_free(h2);
	teardown(&f);
}

/*
 * An older engine kept the stream as it is ("XSSTATE1", a 32-byte
 * header): a live update from it restores, and the first change after
 * that puts a compressed snapshot in its place.
 */
static void
test_legacy_slot(void **state)
{
	static const uint64_t magic1 = 0x3145544154535358ull;
	struct fix f, g;
	struct buf d = {0};
	struct harness *h2;
	uint64_t hdr[4], m;
	off_t size;
	int fd;

	setup(&f);
	populate(&f);
	d.len = 0;
	assert_int_equal(state_dump(f.h->e, collect, &d, true), 0);
	setup(&g);
	h_free(g.h);
	hdr[0] = magic1;
	hdr[1] = 1; /* generation */
	hdr[2] = 0; /* boots, pad */
	hdr[3] = d.len;
	assert_int_equal(pwrite(g.fd[1], hdr, sizeof(hdr), 0), 32);
	assert_int_equal(pwrite(g.fd[1], d.p, d.len, 32), (ssize_t)d.len);
	g.h = start(&g);
	assert_true(journal_restored(g.h->e));
	same_store(f.h->e, g.h->e);
	h_expect(g.h, 1, 0, XS_READ, "/a/b/c|", "two");
	h_expect(g.h, 1, 0, XS_GET_PERMS, "/t|", "n0|r5|");
	h_expect(g.h, 1, 0, XS_GET_QUOTA, "5|nodes|", "50|");
	h_flush(g.h);
	g.seq = 1000;
	jexpect(&g, 1, 0, XS_WRITE, "/after|1", "OK|");
	flush(&g);
	assert_int_equal(journal_compact(g.h->e), 0);
	fd = live_slot(&g, &size);
	assert_int_equal(fd, g.fd[0]);
	assert_int_equal(pread(fd, &m, 8, 0), 8);
	assert_true(m != magic1);
	h2 = start(&g);
	h_expect(h2, 1, 0, XS_READ, "/after|", "1");
	same_store(g.h->e, h2->e);
	h_free(h2);
	free(d.p);
	teardown(&f);
	teardown(&g);
}

/* xs-broker --restore puts a dump file where a snapshot would be. */
static void
test_bare_dump(void **state)
{
	struct fix f, g;
	struct buf d = {0};
	struct harness *h2;
	char why[256];

	setup(&f);
	populate(&f);
	dump(f.h->e, &d);
	setup(&g);
	h_free(g.h);
	assert_int_equal(pwrite(g.fd[0], d.p, d.len, 0), (ssize_t)d.len);
	h2 = start(&g);
	assert_true(journal_restored(h2->e));
	h_expect(h2, 1, 0, XS_READ, "/a/b/c|", "two");
	h_expect(h2, 1, 0, XS_GET_PERMS, "/t|", "n0|r5|");
	h_expect(h2, 1, 0, XS_GET_QUOTA, "5|nodes|", "50|");
	h_free(h2);
	/* Cut short: refused, with where and why. */
	assert_int_equal(ftruncate(g.fd[0], 0), 0);
	assert_int_equal(ftruncate(g.fd[1], 0), 0);
	assert_int_equal(pwrite(g.fd[0], d.p, d.len - 9, 0),
			 (ssize_t)d.len - 9);
	h2 = calloc(1, sizeof(*h2));
	h2->e = engine_new(h_emit, h_log, h2);
	assert_int_equal(journal_attach(&h2->e, g.fd[0], g.fd[1], NULL, 0, why,
					sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "truncated record"));
	h_free(h2);
	free(d.p);
	teardown(&f);
	close(g.fd[0]);
	close(g.fd[1]);
}

/* What the engine asked of the broker, as chan_priv would send it. */
static struct {
	uint32_t id;
	int op;
	char str[256];
	size_t len;
	int calls;
} asked;

static void
fake_priv(void *arg, uint32_t id, int op, uint32_t domid, uint64_t gfn,
	  uint32_t port, uint32_t features, const char *str, size_t len)
{
	asked.id = id;
	asked.op = op;
	asked.len = len < sizeof(asked.str) ? len : sizeof(asked.str);
	memcpy(asked.str, str, asked.len);
	asked.calls++;
}

/* The broker's ConnSync, through the engine's own decoder. */
static void
conn_sync_msg(struct harness *h, uint64_t resend, bool failed)
{
	Xsp__ConnOpen open = XSP__CONN_OPEN__INIT, *opens[1] = {&open};
	Xsp__ConnSync cs = XSP__CONN_SYNC__INIT;
	Xsp__ToEngine te = XSP__TO_ENGINE__INIT, *tes[1] = {&te};
	Xsp__BrokerFrame bf = XSP__BROKER_FRAME__INIT, *f;
	const char *why = NULL;
	uint8_t buf[256];
	size_t len;

	open.conn = 1;
	open.privileged = 1;
	cs.n_conns = 1;
	cs.conns = opens;
	cs.n_resend = 1;
	cs.resend = &resend;
	cs.has_update_failed = 1;
	cs.update_failed = failed;
	te.msg_case = XSP__TO_ENGINE__MSG_SYNC;
	te.sync = &cs;
	bf.n_msgs = 1;
	bf.msgs = tes;
	len = xsp__broker_frame__pack(&bf, buf);
	f = chan_decode(buf, len, &why);
	assert_non_null(f);
	assert_int_equal(chan_apply(h->e, f, &why), 0);
	chan_decode_done(f);
}

/* live-update -f: parked until the broker has checked the binary. */
static void
lu_file(struct fix *f)
{
	struct priv_answer ok = {0};

	asked.calls = 0;
	f->h->e->seq = ++f->seq;
	journal_begin(f->h->e, f->seq, 1);
	engine_request(f->h->e, 1, XS_CONTROL, 77, 0,
		       "live-update\0-f\0/usr/sbin/xs-engine.new", 39);
	journal_end(f->h->e);
	assert_int_equal(asked.calls, 1);
	assert_int_equal(asked.op, PRIV_LU_FILE);
	assert_memory_equal(asked.str, "/usr/sbin/xs-engine.new", 23);
	engine_priv_reply(f->h->e, asked.id, &ok);
}

static void
live_update(bool failed)
{
	struct fix f;
	struct harness *h2;
	struct h_msg *m;
	uint64_t start_seq;
	uint32_t t;

	setup(&f);
	f.h->e->priv = fake_priv;
	jexpect(&f, 1, 0, XS_WRITE, "/before|1", "OK|");
	lu_file(&f);
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-c|--spin-us 0|", "OK|");
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-c|-E 2000 -K|", "OK|");
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-c|--uid 0|",
		"option not allowed on the command line|");
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-c|-E --uid|",
		"option value not allowed|");
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-c|-E 2147483648|",
		"option value not allowed|");
	/*
	 * An open transaction: BUSY until it ends or -t seconds have passed
	 * since the first -s that found it, however often -s asks.
	 */
	t = h_txn(f.h, 1);
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-s|-t|100|", "BUSY|");
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-s|-t|100|", "BUSY|");
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-s|-t|0|",
		"timeout reached, transactions still open|");
	/* A new wait starts over; a timeout of any size is no overflow. */
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-s|-t|18446744073709551615|",
		"BUSY|");
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-s|-t|1|", "BUSY|");
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-s|-t|1|", "BUSY|");
	nanosleep(&(struct timespec){1, 100000000}, NULL);
	/* 18446744073710 s are 448384 us once multiplied in 64 bits. */
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-s|-t|18446744073710|",
		"BUSY|");
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-s|-t|1|",
		"timeout reached, transactions still open|");
	jexpect(&f, 1, t, XS_TRANSACTION_END, "F|", "OK|");
	/* No transaction: no answer now, and the broker swaps engines. */
	asked.calls = 0;
	f.h->e->seq = start_seq = ++f.seq;
	journal_begin(f.h->e, f.seq, 1);
	h_flush(f.h);
	engine_request(f.h->e, 1, XS_CONTROL, 78, 0, "live-update\0-s\0", 15);
	journal_end(f.h->e);
	assert_int_equal(f.h->nout, 0);
	assert_int_equal(asked.calls, 1);
	assert_int_equal(asked.op, PRIV_LU_EXEC);
	assert_int_equal(asked.len, 11);
	assert_memory_equal(asked.str, "-E\0002000\0-K", 11);
	flush(&f);
	/* The next engine answers the request the broker sends again. */
	h2 = start(&f);
	conn_sync_msg(h2, start_seq, failed);
	h2->e->seq = start_seq;
	m = h_req(h2, 1, 0, XS_CONTROL, "live-update|-s|");
	assert_string_equal(h_show(m),
			    failed ? "new engine failed to start|" : "OK|");
	h_expect(h2, 1, 0, XS_READ, "/before|", "1");
	/* The old engine's transaction is gone: retry; a made-up one is not. */
	h_expect(h2, 1, t, XS_READ, "/before|", "EAGAIN|");
	h_expect(h2, 1, 0x7fffffff, XS_READ, "/before|", "ENOENT|");
	h_free(h2);
	teardown(&f);
}

/*
 * -a ends a session: after it, neither -c nor -s has one to act on, and
 * nothing is asked of the broker; a new -f starts one again.
 */
static void
test_live_update_abort(void **state)
{
	struct fix f;

	setup(&f);
	f.h->e->priv = fake_priv;
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-s|",
		"live-update session not active|");
	lu_file(&f);
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-c|-K|", "OK|");
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-a|", "OK|");
	asked.calls = 0;
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-c|-K|",
		"live-update session not active|");
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-s|",
		"live-update session not active|");
	assert_int_equal(asked.calls, 0);
	/* Options that need an argument, or a stub domain, are refused. */
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-a|x|", "EINVAL|");
	jexpect(&f, 1, 0, XS_CONTROL, "live-update|-b|4096|",
		"only for a xenstore stub domain|");
	/* The store is served as before. */
	jexpect(&f, 1, 0, XS_WRITE, "/after|1", "OK|");
	teardown(&f);
}

static void
test_live_update(void **state)
{
	live_update(false);
}

static void
test_live_update_failed(void **state)
{
	live_update(true);
}

/*
 * What the engine sends a broker that reads RepliesFixed (one for a run
 * of replies), one that reads Replies (the same in varints), and one that
 * reads neither (a Reply each, as before them).
 */
static void
test_replies_or_reply(void **state)
{
	int form;

	for (form = 0; form < 3; form++) {
		bool runs = form == 1;
		struct chan ch = {.replies = form > 0, .fixed = form == 2};
		Xsp__EngineFrame *f;
		uint8_t buf[4096];
		int sv[2];
		ssize_t n;

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		ch.fd = sv[0];
		chan_emit(&ch, 1, XS_READ, 7, 0, "abc", 3);
		chan_emit(&ch, 2, XS_WATCH_EVENT, 0, 0, "/a\0t\0", 5);
		chan_log(&ch, 3, "between");
		chan_emit(&ch, 1, XS_WRITE, 8, 0, "OK", 3);
		assert_int_equal(chan_flush(&ch), 0);
		n = read(sv[1], buf, sizeof(buf));
		assert_true(n > 4);
		f = xsp__engine_frame__unpack(NULL, (size_t)n - 4, buf + 4);
		assert_non_null(f);
		if (ch.fixed) {
			const Xsp__RepliesFixed *rf;
			static const uint32_t hdr[10] = {
				1, XS_READ, 7, 0, 3, 2, XS_WATCH_EVENT, 0, 0, 5,
			};

			assert_int_equal(f->n_msgs, 3);
			assert_int_equal(f->msgs[0]->msg_case,
					 XSP__TO_BROKER__MSG_REPLIES_FIXED);
			rf = f->msgs[0]->replies_fixed;
			assert_int_equal(rf->n_hdr, 10);
			assert_memory_equal(rf->hdr, hdr, sizeof(hdr));
			assert_int_equal(rf->payloads.len, 8);
			assert_memory_equal(rf->payloads.data, "abc/a\0t\0", 8);
			assert_int_equal(f->msgs[1]->msg_case,
					 XSP__TO_BROKER__MSG_LOG);
			rf = f->msgs[2]->replies_fixed;
			assert_int_equal(rf->n_hdr, 5);
			assert_int_equal(rf->hdr[2], 8);
		} else if (runs) {
			const Xsp__Replies *rs;

			assert_int_equal(f->n_msgs, 3);
			assert_int_equal(f->msgs[0]->msg_case,
					 XSP__TO_BROKER__MSG_REPLIES);
			rs = f->msgs[0]->replies;
			assert_int_equal(rs->n_conn, 2);
			assert_int_equal(rs->conn[1], 2);
			assert_int_equal(rs->type[1], XS_WATCH_EVENT);
			assert_int_equal(rs->len[0], 3);
			assert_int_equal(rs->len[1], 5);
			assert_int_equal(rs->payloads.len, 8);
			assert_memory_equal(rs->payloads.data, "abc/a\0t\0", 8);
			assert_int_equal(f->msgs[1]->msg_case,
					 XSP__TO_BROKER__MSG_LOG);
			assert_int_equal(f->msgs[2]->replies->n_conn, 1);
			assert_int_equal(f->msgs[2]->replies->req_id[0], 8);
		} else {
			assert_int_equal(f->n_msgs, 4);
			assert_int_equal(f->msgs[0]->msg_case,
					 XSP__TO_BROKER__MSG_REPLY);
			assert_int_equal(f->msgs[1]->reply->conn, 2);
			assert_int_equal(f->msgs[1]->reply->payload.len, 5);
			assert_int_equal(f->msgs[3]->reply->req_id, 8);
		}
		xsp__engine_frame__free_unpacked(f, NULL);
		chan_free(&ch);
		close(sv[0]);
		close(sv[1]);
	}
}

/*
 * A run of requests through the engine's decoder: applied in order, each
 * with its own slice of the payloads; arrays that disagree are refused.
 */
static const char *
requests_msg(struct harness *h, size_t nlen, const char *pl, size_t plen)
{
	uint32_t conn[2] = {1, 1}, domid[2] = {0, 0};
	uint32_t type[2] = {XS_WRITE, XS_MKDIR}, ids[2] = {101, 102};
	uint32_t tx[2] = {0, 0}, len[2] = {6, 3};
	uint64_t seq[2] = {0, 0};
	Xsp__Requests rs = XSP__REQUESTS__INIT;
	Xsp__ToEngine te = XSP__TO_ENGINE__INIT, *tes[1] = {&te};
	Xsp__BrokerFrame bf = XSP__BROKER_FRAME__INIT, *f;
	const char *why = NULL;
	uint8_t buf[256];
	size_t blen;

	rs.n_conn = rs.n_domid = rs.n_type = rs.n_req_id = rs.n_tx_id =
		rs.n_seq = 2;
	rs.n_len = nlen;
	rs.conn = conn;
	rs.domid = domid;
	rs.type = type;
	rs.req_id = ids;
	rs.tx_id = tx;
	rs.len = len;
	rs.seq = seq;
	rs.payloads.data = (uint8_t *)pl;
	rs.payloads.len = plen;
	te.msg_case = XSP__TO_ENGINE__MSG_REQUESTS;
	te.requests = &rs;
	bf.n_msgs = 1;
	bf.msgs = tes;
	blen = xsp__broker_frame__pack(&bf, buf);
	if ((f = chan_decode(buf, blen, &why)) == NULL)
		return why;
	assert_int_equal(chan_apply(h->e, f, &why), 0);
	chan_decode_done(f);
	return NULL;
}

static void
test_requests(void **state)
{
	struct harness *h = h_new();

	assert_non_null(requests_msg(h, 1, "/q\0val/m\0", 9));
	assert_non_null(requests_msg(h, 2, "/q\0val/m", 8));
	assert_non_null(requests_msg(h, 2, "/q\0val/m\0x", 10));
	h_expect(h, 1, 0, XS_READ, "/q|", "ENOENT|");
	assert_null(requests_msg(h, 2, "/q\0val/m\0", 9));
	/* Answered in order, each under its own id. */
	assert_int_equal(h->nout, 3);
	assert_int_equal(h->out[1].req_id, 101);
	assert_int_equal(h->out[1].type, XS_WRITE);
	assert_int_equal(h->out[2].req_id, 102);
	assert_int_equal(h->out[2].type, XS_MKDIR);
	h_expect(h, 1, 0, XS_READ, "/q|", "val");
	h_expect(h, 1, 0, XS_READ, "/m|", "");
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recover),
		cmocka_unit_test(test_reply_once),
		cmocka_unit_test(test_domain_incarnations),
		cmocka_unit_test(test_reply_filter_sorted),
		cmocka_unit_test(test_reply_filter_unsorted),
		cmocka_unit_test(test_torn_group),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_compact),
		cmocka_unit_test(test_corrupt_snapshot),
		cmocka_unit_test(test_legacy_slot),
		cmocka_unit_test(test_bare_dump),
		cmocka_unit_test(test_live_update),
		cmocka_unit_test(test_live_update_failed),
		cmocka_unit_test(test_live_update_abort),
		cmocka_unit_test(test_replies_or_reply),
		cmocka_unit_test(test_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
