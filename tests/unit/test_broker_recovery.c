// SPDX-License-Identifier: GPL-2.0-only
/*
 * The broker's pure pieces of engine recovery: the list of unanswered
 * requests (what is sent again, in which order, and which request is
 * blamed for a crash), the restart back-off and limit, the quarantine of
 * guests whose requests crash engines and its control command, and the
 * checks of a live update's binary.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker.h"

static struct replay_req *
add(struct replay *r, struct replay_conn *rc, uint64_t seq, uint32_t conn,
    uint32_t req_id)
{
	struct xs_hdr hdr = {XS_READ, req_id, 0, 3};
	struct replay_req *q;

	q = replay_add(r, rc, seq, conn, 0, &hdr, (const uint8_t *)"/a");
	assert_non_null(q);
	return q;
}

/* Hands over everything replay_next() allows; returns how many. */
static size_t
send_all(struct replay *r)
{
	struct replay_req *q;
	size_t n = 0;

	while ((q = replay_next(r)) != NULL) {
		replay_sent(r, q);
		n++;
	}
	return n;
}

static void
test_replay_fifo(void **state)
{
	struct replay r;
	struct replay_conn a, b;

	replay_init(&r);
	replay_conn_init(&a);
	replay_conn_init(&b);
	add(&r, &a, 1, 1, 10);
	add(&r, &b, 2, 2, 20);
	add(&r, &a, 3, 1, 11);
	assert_int_equal(send_all(&r), 3);
	assert_int_equal(r.count, 3);
	/* Each connection's oldest first, whatever the others do. */
	assert_int_equal(replay_answer(&r, &a, 10), REPLAY_OK);
	assert_int_equal(replay_answer(&r, &a, 12), REPLAY_MISMATCH);
	assert_int_equal(replay_answer(&r, &a, 11), REPLAY_OK);
	assert_int_equal(replay_answer(&r, &a, 11), REPLAY_UNASKED);
	assert_int_equal(r.count, 1);
	assert_int_equal(replay_first(&r)->seq, 2);
	replay_conn_drop(&r, &b);
	assert_int_equal(r.count, 0);
	assert_int_equal(r.bytes, 0);
	assert_null(replay_first(&r));
	assert_null(replay_next(&r));
}

/* Nothing is answered before it was handed to the engine. */
static void
test_replay_unsent_unanswerable(void **state)
{
	struct replay r;
	struct replay_conn a;

	replay_init(&r);
	replay_conn_init(&a);
	add(&r, &a, 1, 1, 10);
	assert_int_equal(replay_answer(&r, &a, 10), REPLAY_UNASKED);
	assert_int_equal(send_all(&r), 1);
	assert_int_equal(replay_answer(&r, &a, 10), REPLAY_OK);
}

static void
test_replay_resend_order(void **state)
{
	struct replay r;
	struct replay_conn a, b;
	struct replay_req *q;
	uint64_t want[] = {1, 3, 4}, i = 0;

	replay_init(&r);
	replay_conn_init(&a);
	replay_conn_init(&b);
	add(&r, &a, 1, 1, 10);
	add(&r, &b, 2, 2, 20);
	add(&r, &a, 3, 1, 11);
	assert_int_equal(send_all(&r), 3);
	assert_int_equal(replay_answer(&r, &b, 20), REPLAY_OK);
	/* One arrives while no engine runs: never sent, not a suspect. */
	add(&r, &b, 4, 2, 21);
	assert_int_equal(replay_engine_gone(&r, 1), 0);
	for (q = replay_first(&r); q != NULL; q = replay_after(q))
		assert_int_equal(q->seq, want[i++]);
	assert_int_equal(i, 3);
	assert_int_equal(replay_first(&r)->deaths, 1);
	assert_int_equal(replay_after(replay_first(&r))->deaths, 1);
	assert_int_equal(replay_after(replay_after(replay_first(&r)))->deaths,
			 0);
	replay_conn_drop(&r, &a);
	replay_conn_drop(&r, &b);
}

/*
 * A suspect goes alone: the next engine gets it with nothing else in
 * flight, and the rest once it is answered.
 */
static void
test_replay_suspects_alone(void **state)
{
	struct replay r;
	struct replay_conn a, b;

	replay_init(&r);
	replay_conn_init(&a);
	replay_conn_init(&b);
	add(&r, &a, 1, 1, 10);
	add(&r, &b, 2, 2, 20);
	assert_int_equal(send_all(&r), 2);
	replay_engine_gone(&r, 1);
	add(&r, &a, 3, 1, 11);

	assert_int_equal(send_all(&r), 1);
	assert_int_equal(replay_next(&r), NULL);
	assert_int_equal(replay_answer(&r, &a, 10), REPLAY_OK);
	assert_int_equal(send_all(&r), 1);
	assert_int_equal(replay_answer(&r, &b, 20), REPLAY_OK);
	/* No suspect left: the rest go together. */
	add(&r, &b, 4, 2, 21);
	assert_int_equal(send_all(&r), 2);
	replay_conn_drop(&r, &a);
	replay_conn_drop(&r, &b);
	assert_int_equal(r.count, 0);
}

/*
 * The request in flight at two deaths in a row is the one blamed; the
 * others waiting behind it are not.
 */
static void
test_replay_poison(void **state)
{
	struct replay r;
	struct replay_conn a, b;

	replay_init(&r);
	replay_conn_init(&a);
	replay_conn_init(&b);
	add(&r, &a, 1, 1, 10);
	add(&r, &b, 2, 2, 20);
	assert_int_equal(send_all(&r), 2);
	assert_int_equal(replay_engine_gone(&r, 1), 0);
	assert_int_equal(send_all(&r), 1); /* seq 1, alone */
	assert_int_equal(replay_engine_gone(&r, 1), 1);
	assert_int_equal(replay_first(&r)->deaths, 2);
	assert_int_equal(replay_after(replay_first(&r))->deaths, 1);
	replay_conn_drop(&r, &a);
	assert_int_equal(send_all(&r), 1);
	assert_int_equal(replay_answer(&r, &b, 20), REPLAY_OK);
}

/* An engine stopped for an update did not die: nobody is blamed. */
static void
test_replay_update_blames_nobody(void **state)
{
	struct replay r;
	struct replay_conn a;

	replay_init(&r);
	replay_conn_init(&a);
	add(&r, &a, 1, 1, 10);
	add(&r, &a, 2, 1, 11);
	assert_int_equal(send_all(&r), 2);
	assert_int_equal(replay_engine_gone(&r, 0), 0);
	assert_int_equal(replay_first(&r)->deaths, 0);
	assert_int_equal(send_all(&r), 2);
	assert_int_equal(replay_answer(&r, &a, 10), REPLAY_OK);
	assert_int_equal(replay_answer(&r, &a, 11), REPLAY_OK);
}

static void
test_backoff(void **state)
{
	struct backoff b;
	int64_t t = 1000000;

	assert_int_equal(backoff_init(&b, 5), 0);
	/* The first death of a series: at once. */
	assert_int_equal(backoff_death(&b, t), 0);
	/* Then doubling from 10 ms. */
	assert_int_equal(backoff_death(&b, t += 100), 10);
	assert_int_equal(backoff_death(&b, t += 100), 20);
	assert_int_equal(backoff_death(&b, t += 100), 40);
	/* After a calm spell, at once again. */
	assert_int_equal(backoff_death(&b, t += BACKOFF_CALM_MS), 0);
	/* Six restarts within the window: the slowest pace, said once. */
	assert_int_equal(backoff_death(&b, t += 100), BACKOFF_SLOW_MS);
	assert_int_equal(backoff_limit_news(&b, t), 1);
	assert_int_equal(backoff_death(&b, t += BACKOFF_SLOW_MS),
			 BACKOFF_SLOW_MS);
	assert_int_equal(backoff_limit_news(&b, t), 0);
	/* Dying that often keeps it at the limit, said again a window on. */
	for (int i = 0; i < 12; i++)
		assert_int_equal(backoff_death(&b, t += BACKOFF_SLOW_MS),
				 BACKOFF_SLOW_MS);
	assert_int_equal(backoff_limit_news(&b, t), 1);
	/* A window without deaths: restarts are quick again. */
	t += BACKOFF_WINDOW_MS;
	assert_int_equal(backoff_death(&b, t), 0);
	assert_int_equal(backoff_limit_news(&b, t), 0);
	backoff_free(&b);
}

static void
test_backoff_cap(void **state)
{
	struct backoff b;
	int64_t t = 0;
	long d = 0;
	int i;

	assert_int_equal(backoff_init(&b, 1000), 0);
	for (i = 0; i < 20; i++)
		d = backoff_death(&b, t += 50);
	assert_int_equal(d, BACKOFF_MAX_MS);
	backoff_free(&b);
}

static void
test_backoff_never(void **state)
{
	struct backoff b;

	/* No quick restart at all, but still a restart. */
	assert_int_equal(backoff_init(&b, 0), 0);
	assert_int_equal(backoff_death(&b, 5), BACKOFF_SLOW_MS);
	assert_int_equal(backoff_death(&b, 100000), BACKOFF_SLOW_MS);
	backoff_free(&b);
}

static char tmpdir[64];

/* What an ELF file made by elf_image() gets wrong, if anything. */
enum elf_flaw {
	ELF_GOOD,
	ELF_NO_NOTE,    /* another owner's note */
	ELF_BAD_DESC,   /* the right owner, another description */
	ELF_BROKER,     /* a broker build's note */
	ELF_NOTE_PAST,  /* the note's size runs past its segment */
	ELF_PHNUM_HUGE, /* more program headers than are read */
	ELF_PHDRS_PAST, /* program headers past the end of the file */
	ELF_32BIT,      /* ELFCLASS32 */
	ELF_SHORT,      /* only the magic */
};

/*
 * A 64-bit ELF header, one PT_NOTE program header and one note: an engine's
 * marks as the broker looks for them, or with one flaw.
 */
static size_t
elf_image(uint8_t *buf, enum elf_flaw flaw)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	Elf64_Nhdr nh;
	char name[16] = "split-xenstored", desc[12] = "xs-engine";
	size_t off = sizeof(eh) + sizeof(ph);

	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = flaw == ELF_32BIT ? ELFCLASS32 : ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_DYN;
	eh.e_phoff = flaw == ELF_PHDRS_PAST ? 1u << 20 : sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = flaw == ELF_PHNUM_HUGE ? 1000 : 1;
	memset(&ph, 0, sizeof(ph));
	ph.p_type = PT_NOTE;
	ph.p_offset = off;
	ph.p_filesz = sizeof(nh) + sizeof(name) + sizeof(desc);
	nh.n_namesz = flaw == ELF_NOTE_PAST ? 4000 : 16;
	nh.n_descsz = 10;
	nh.n_type = 1;
	if (flaw == ELF_NO_NOTE)
		memcpy(name, "GNU\0", 4);
	if (flaw == ELF_BAD_DESC)
		memcpy(desc, "xs-engin_", 10);
	if (flaw == ELF_BROKER)
		memcpy(desc, "xs-broker", 10);
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), &ph, sizeof(ph));
	memcpy(buf + off, &nh, sizeof(nh));
	memcpy(buf + off + sizeof(nh), name, sizeof(name));
	memcpy(buf + off + sizeof(nh) + sizeof(name), desc, sizeof(desc));
	if (flaw == ELF_SHORT)
		return 4;
	return off + sizeof(nh) + sizeof(name) + sizeof(desc);
}

static char *
tmp_elf(const char *name, mode_t mode, enum elf_flaw flaw)
{
	static char path[128];
	uint8_t img[512];
	size_t n = elf_image(img, flaw);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	assert_int_equal(write(fd, img, n), (ssize_t)n);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static char *
tmp_file(const char *name, mode_t mode)
{
	return tmp_elf(name, mode, ELF_GOOD);
}

/* The one daemon a handover may go to, in these tests. */
static char *daemons[] = {"/usr/bin/env", NULL};

static void
expect_refused(const char *path, int err)
{
	int kind = 0;

	errno = 0;
	assert_int_equal(liveupdate_open(path, 10, daemons, &kind), -1);
	assert_int_equal(errno, err);
}

static void
test_liveupdate_open(void **state)
{
	char *p;
	int fd, kind = 0;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/xs-lu-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	fd = liveupdate_open(tmp_file("good", 0755), 10, daemons, &kind);
	assert_true(fd >= 10);
	assert_int_equal(kind, SPAWN_LU_ENGINE);
	close(fd);
	/* A broker build: a handover to it replaces the broker. */
	fd = liveupdate_open(tmp_elf("broker", 0755, ELF_BROKER), 10, daemons,
			     &kind);
	assert_true(fd >= 10);
	assert_int_equal(kind, SPAWN_LU_BROKER);
	close(fd);
	unlink(tmp_file("broker", 0755));
	/* Not an engine, but a daemon of the list: a handover's. */
	fd = liveupdate_open("/usr/bin/env", 10, daemons, &kind);
	assert_true(fd >= 10);
	assert_int_equal(kind, SPAWN_LU_DAEMON);
	close(fd);
	expect_refused(tmp_file("group-writable", 0775), EACCES);
	expect_refused(tmp_file("other-writable", 0757), EACCES);
	expect_refused(tmp_file("not-executable", 0644), EACCES);
	p = tmp_file("foreign", 0755);
	if (geteuid() == 0) {
		assert_int_equal(chown(p, 4321, 4321), 0);
		expect_refused(p, EACCES);
	}
	unlink(p);
	expect_refused(tmpdir, EINVAL);
	expect_refused("/nonexistent/xs-engine", ENOENT);
	/* Executables that are not engines, and broken ELF files. */
	expect_refused(tmp_elf("no-note", 0755, ELF_NO_NOTE), ENOEXEC);
	expect_refused(tmp_elf("bad-desc", 0755, ELF_BAD_DESC), ENOEXEC);
	expect_refused(tmp_elf("note-past", 0755, ELF_NOTE_PAST), ENOEXEC);
	expect_refused(tmp_elf("phnum-huge", 0755, ELF_PHNUM_HUGE), ENOEXEC);
	expect_refused(tmp_elf("phdrs-past", 0755, ELF_PHDRS_PAST), ENOEXEC);
	expect_refused(tmp_elf("32bit", 0755, ELF_32BIT), ENOEXEC);
	expect_refused(tmp_elf("short", 0755, ELF_SHORT), ENOEXEC);
	expect_refused("/bin/true", ENOEXEC);
	for (const char **f =
		     (const char *[]){"no-note", "bad-desc", "note-past",
				      "phnum-huge", "phdrs-past", "32bit",
				      "short", NULL};
	     *f != NULL; f++)
		unlink(tmp_file(*f, 0755));
	unlink(tmp_file("good", 0755));
	unlink(tmp_file("group-writable", 0755));
	unlink(tmp_file("other-writable", 0755));
	unlink(tmp_file("not-executable", 0755));
	assert_int_equal(rmdir(tmpdir), 0);
}

static void
test_liveupdate_argv(void **state)
{
	char *argv[] = {"/old/xs-engine", "--fd", "3", NULL};
	char *args[] = {"-V", "--extra"};
	char **v;

	v = liveupdate_argv(argv, "/new/xs-engine", args, 2);
	assert_non_null(v);
	assert_string_equal(v[0], "/new/xs-engine");
	assert_string_equal(v[1], "--fd");
	assert_string_equal(v[2], "3");
	assert_string_equal(v[3], "-V");
	assert_string_equal(v[4], "--extra");
	assert_null(v[5]);
	liveupdate_argv_free(v);
}

/* One PrivRequest in an EngineFrame, packed; *len gets its size. */
static uint8_t *
pack_priv(Xsp__PrivRequest *p, size_t *len)
{
	Xsp__EngineFrame f = XSP__ENGINE_FRAME__INIT;
	Xsp__ToBroker tb = XSP__TO_BROKER__INIT, *ptb = &tb;
	uint8_t *buf;

	tb.msg_case = XSP__TO_BROKER__MSG_PRIV;
	tb.priv = p;
	f.n_msgs = 1;
	f.msgs = &ptb;
	*len = xsp__engine_frame__get_packed_size(&f);
	assert_non_null(buf = malloc(*len));
	xsp__engine_frame__pack(&f, buf);
	return buf;
}

static const char *
check(const uint8_t *buf, size_t len)
{
	Xsp__EngineFrame *f;
	const char *why = NULL;

	if (engine_frame_check(buf, len, 1, &f, &why) == -1)
		return why;
	engine_frame_done(f);
	return NULL;
}

/* A frame of the one message tb, packed into a buffer to free(). */
static uint8_t *
pack_one(Xsp__ToBroker *tb, size_t *blen)
{
	Xsp__EngineFrame f = XSP__ENGINE_FRAME__INIT;
	uint8_t *buf;

	f.n_msgs = 1;
	f.msgs = &tb;
	*blen = xsp__engine_frame__get_packed_size(&f);
	assert_non_null(buf = malloc(*blen));
	xsp__engine_frame__pack(&f, buf);
	return buf;
}

/* A run of replies to connections 1 and 2, checked against conn_next 3. */
static const char *
check_replies(uint32_t *conn, size_t n, uint32_t *len, size_t nlen,
	      const char *payloads, size_t plen)
{
	Xsp__EngineFrame *d;
	Xsp__ToBroker tb = XSP__TO_BROKER__INIT;
	Xsp__Replies rs = XSP__REPLIES__INIT;
	uint32_t type[4] = {XS_READ, XS_WATCH_EVENT, XS_WRITE, XS_READ};
	uint32_t zero[4] = {0};
	const char *why = NULL;
	uint8_t *buf;
	size_t blen;

	rs.n_conn = rs.n_type = rs.n_req_id = rs.n_tx_id = n;
	rs.conn = conn;
	rs.type = type;
	rs.req_id = zero;
	rs.tx_id = zero;
	rs.n_len = nlen;
	rs.len = len;
	rs.payloads.data = (uint8_t *)payloads;
	rs.payloads.len = plen;
	tb.msg_case = XSP__TO_BROKER__MSG_REPLIES;
	tb.replies = &rs;
	buf = pack_one(&tb, &blen);
	if (engine_frame_check(buf, blen, 3, &d, &why) == 0) {
		Xsp__Reply r;
		size_t i, off = 0;

		/* Each reply's payload is its own slice of the run's. */
		for (i = 0; i < n; i++) {
			engine_reply_at(d->msgs[0]->replies, i, off, &r);
			assert_int_equal(r.conn, conn[i]);
			assert_int_equal(r.type, type[i]);
			assert_int_equal(r.payload.len, len[i]);
			if (len[i] > 0)
				assert_memory_equal(r.payload.data,
						    payloads + off, len[i]);
			off += len[i];
		}
		engine_frame_done(d);
	}
	free(buf);
	return why;
}

static void
test_frame_replies(void **state)
{
	uint32_t conn[3] = {1, 2, 1}, len[3] = {3, 0, 6}, big[1] = {4097};
	uint32_t never[2] = {1, 3};
	char four_k[4097] = {0};

	assert_null(check_replies(conn, 3, len, 3, "OK\0/a\0t1\0", 9));
	/* Arrays of unequal lengths, bytes over or under the lengths. */
	assert_non_null(check_replies(conn, 3, len, 2, "OK\0/a\0t1\0", 9));
	assert_non_null(check_replies(conn, 3, len, 3, "OK\0/a\0t1", 8));
	assert_non_null(check_replies(conn, 3, len, 3, "OK\0/a\0t1\0x", 10));
	/* Empty, oversized, or to a connection never opened. */
	assert_non_null(check_replies(conn, 0, len, 0, "", 0));
	assert_non_null(check_replies(conn, 1, big, 1, four_k, 4097));
	assert_non_null(check_replies(never, 2, len, 2, "OK\0/a\0", 3));
}

/*
 * The same run as a RepliesFixed: hdr holds nhdr words, five an entry
 * (conn, type, req_id, tx_id, len).
 */
static const char *
check_fixed(const uint32_t *hdr, size_t nhdr, const char *payloads, size_t plen)
{
	Xsp__EngineFrame *d;
	Xsp__ToBroker tb = XSP__TO_BROKER__INIT;
	Xsp__RepliesFixed rf = XSP__REPLIES_FIXED__INIT;
	const char *why = NULL;
	uint8_t *buf;
	size_t blen;

	rf.n_hdr = nhdr;
	rf.hdr = (uint32_t *)hdr;
	rf.payloads.data = (uint8_t *)payloads;
	rf.payloads.len = plen;
	tb.msg_case = XSP__TO_BROKER__MSG_REPLIES_FIXED;
	tb.replies_fixed = &rf;
	buf = pack_one(&tb, &blen);
	if (engine_frame_check(buf, blen, 3, &d, &why) == 0) {
		struct xs_hdr h;
		uint32_t conn;
		size_t i;

		/* Each entry reads back as it was packed. */
		for (i = 0; i < nhdr / FRAME_FIXED_WORDS; i++) {
			engine_fixed_at(d->msgs[0]->replies_fixed, i, &conn,
					&h);
			assert_int_equal(conn, hdr[5 * i]);
			assert_int_equal(h.type, hdr[5 * i + 1]);
			assert_int_equal(h.req_id, hdr[5 * i + 2]);
			assert_int_equal(h.tx_id, hdr[5 * i + 3]);
			assert_int_equal(h.len, hdr[5 * i + 4]);
		}
		engine_frame_done(d);
	}
	free(buf);
	return why;
}

static void
test_frame_replies_fixed(void **state)
{
	static const uint32_t ok[15] = {
		1, XS_READ, 7,        0, 3, 2, XS_WATCH_EVENT, 0, 0,
		0, 1,       XS_WRITE, 8, 5, 6,
	};
	uint32_t bad[15];
	char four_k[4097] = {0};

	assert_null(check_fixed(ok, 15, "OK\0/a\0t1\0", 9));
	/* An entry cut short, bytes over or under the lengths. */
	assert_non_null(check_fixed(ok, 14, "OK\0/a\0t1\0", 9));
	assert_non_null(check_fixed(ok, 15, "OK\0/a\0t1", 8));
	assert_non_null(check_fixed(ok, 15, "OK\0/a\0t1\0x", 10));
	/* Empty. */
	assert_non_null(check_fixed(ok, 0, "", 0));
	/* To a connection never opened, or none. */
	memcpy(bad, ok, sizeof(bad));
	bad[5] = 3;
	assert_non_null(check_fixed(bad, 15, "OK\0/a\0t1\0", 9));
	bad[5] = 0;
	assert_non_null(check_fixed(bad, 15, "OK\0/a\0t1\0", 9));
	/* Of an unknown type. */
	memcpy(bad, ok, sizeof(bad));
	bad[11] = XS_TYPE_COUNT;
	assert_non_null(check_fixed(bad, 15, "OK\0/a\0t1\0", 9));
	/* Oversized. */
	memcpy(bad, ok, 5 * sizeof(*bad));
	bad[4] = 4097;
	assert_non_null(check_fixed(bad, 5, four_k, 4097));
}

static void
test_frame_live_update(void **state)
{
	Xsp__PrivRequest p = XSP__PRIV_REQUEST__INIT;
	char path[LIVEUPDATE_PATH_MAX + 2], arg[LIVEUPDATE_ARG_MAX + 2];
	char *args[LIVEUPDATE_ARGS_MAX + 1];
	uint8_t *buf;
	size_t len, i;

	p.id = 1;
	p.op = XSP__PRIV_REQUEST__OP__LIVE_UPDATE_FILE;
	p.path = "/usr/sbin/xs-engine";
	buf = pack_priv(&p, &len);
	assert_null(check(buf, len));
	/* A NUL inside the path: the same bytes with one replaced. */
	buf[len - 5] = '\0';
	assert_non_null(check(buf, len));
	free(buf);

	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[LIVEUPDATE_PATH_MAX] = '\0';
	p.path = path;
	buf = pack_priv(&p, &len);
	assert_null(check(buf, len));
	free(buf);
	path[LIVEUPDATE_PATH_MAX] = 'a';
	path[LIVEUPDATE_PATH_MAX + 1] = '\0';
	buf = pack_priv(&p, &len);
	assert_non_null(check(buf, len));
	free(buf);
	p.path = NULL;
	buf = pack_priv(&p, &len);
	assert_non_null(check(buf, len));
	free(buf);

	/*
	 * The most arguments, each the longest: -E and its value, repeated;
	 * zeros, a number the engine takes at any length.
	 */
	p.op = XSP__PRIV_REQUEST__OP__LIVE_UPDATE_EXEC;
	memset(arg, '0', sizeof(arg));
	arg[LIVEUPDATE_ARG_MAX] = '\0';
	for (i = 0; i <= LIVEUPDATE_ARGS_MAX; i++)
		args[i] = i % 2 == 0 ? "-E" : arg;
	p.args = args;
	p.n_args = LIVEUPDATE_ARGS_MAX;
	buf = pack_priv(&p, &len);
	assert_null(check(buf, len));
	free(buf);
	p.n_args = LIVEUPDATE_ARGS_MAX + 1;
	buf = pack_priv(&p, &len);
	assert_non_null(check(buf, len));
	free(buf);
	p.n_args = 2;
	arg[LIVEUPDATE_ARG_MAX] = '0';
	arg[LIVEUPDATE_ARG_MAX + 1] = '\0';
	buf = pack_priv(&p, &len);
	assert_non_null(check(buf, len));
	free(buf);
}

/* The frame's live-update arguments: quota options, or the engine dies. */
static int
lu_args_frame_ok(const char *line)
{
	Xsp__PrivRequest p = XSP__PRIV_REQUEST__INIT;
	char copy[256], *args[16], *save = NULL, *w;
	uint8_t *buf;
	size_t len;
	int ok;

	strcpy(copy, line);
	p.id = 1;
	p.op = XSP__PRIV_REQUEST__OP__LIVE_UPDATE_EXEC;
	p.args = args;
	for (w = strtok_r(copy, " ", &save); w != NULL;
	     w = strtok_r(NULL, " ", &save))
		args[p.n_args++] = w;
	buf = pack_priv(&p, &len);
	ok = check(buf, len) == NULL;
	free(buf);
	return ok;
}

static void
test_frame_live_update_options(void **state)
{
	assert_true(lu_args_frame_ok(""));
	assert_true(lu_args_frame_ok("-E 2000 -K"));
	assert_true(lu_args_frame_ok("-Q memory=100 --quota transaction-nodes=9"
				     " --verbose -w watch-event=0"));
	/* What would start the next engine outside its sandbox. */
	assert_false(lu_args_frame_ok("--unsafe-no-sandbox"));
	assert_false(lu_args_frame_ok("--unsafe"));
	assert_false(lu_args_frame_ok("-E 1 --uid 0 --gid 0"));
	assert_false(lu_args_frame_ok("--as-limit 0"));
	assert_false(lu_args_frame_ok("--fd 7"));
	/* A value that is an option, a missing value, a joined value. */
	assert_false(lu_args_frame_ok("-E --unsafe-no-sandbox"));
	assert_false(lu_args_frame_ok("-E"));
	assert_false(lu_args_frame_ok("--entry-nb=5"));
	assert_false(lu_args_frame_ok("-E 5;x"));
	assert_false(lu_args_frame_ok("-E5"));
	/* What the engine's command line takes, and what it would refuse. */
	assert_true(lu_args_frame_ok("--spin-us 0 -w watch-event=2147483"));
	assert_false(lu_args_frame_ok("--spin-us 1000001"));
	assert_false(lu_args_frame_ok("-w watch-event=2147484"));
	assert_false(lu_args_frame_ok("-E 2147483648"));
	assert_false(lu_args_frame_ok("-Q bogus=1"));
	assert_false(lu_args_frame_ok("-q outstanding=1"));
	assert_false(lu_args_frame_ok("-Q memory"));
}

/* CONTROL quarantine's answer to payload (len bytes), as a string. */
static const char *
quarantine_control(const char *payload, size_t len, uint32_t *type)
{
	static char out[XS_PAYLOAD_MAX];
	struct xs_hdr hdr = {XS_CONTROL, 1, 0, (uint32_t)len};
	size_t n;

	assert_true(control_is_ours(&hdr, (const uint8_t *)payload));
	n = control_answer(&hdr, (const uint8_t *)payload, 9, type, out,
			   sizeof(out));
	assert_int_equal(n, strlen(out) + 1);
	return out;
}

static void
test_control_quarantine(void **state)
{
	struct xs_hdr other = {XS_CONTROL, 1, 0, 10};
	uint32_t type;

/* The literal's bytes, without the NUL the compiler adds. */
#define QC(lit) quarantine_control(lit, sizeof(lit) - 1, &type)

	/* Only the quarantine command, with its NUL, is the broker's. */
	assert_false(control_is_ours(&other, (const uint8_t *)"quarantine"));
	other.len = 12;
	assert_false(control_is_ours(&other, (const uint8_t *)"memreport\0ab"));
	other.type = XS_READ;
	other.len = 11;
	assert_false(control_is_ours(&other, (const uint8_t *)"quarantine"));

	assert_string_equal(QC("quarantine\0"), "");
	assert_int_equal(type, XS_CONTROL);
	/* The last argument's NUL may be missing. */
	assert_string_equal(QC("quarantine\0lift\0005"), "ENOENT");
	assert_int_equal(type, XS_ERROR);
	assert_string_equal(QC("quarantine\0lift\0005\0"), "ENOENT");
	assert_string_equal(QC("quarantine\0lift\0"), "EINVAL");
	assert_string_equal(QC("quarantine\0lift\0x5\0"), "EINVAL");
	assert_string_equal(QC("quarantine\0lift\0000\0"), "EINVAL");
	assert_string_equal(QC("quarantine\0lift\00032752\0"), "EINVAL");
	assert_string_equal(QC("quarantine\0lift\0005\0x\0"), "EINVAL");
	assert_string_equal(QC("quarantine\0drop\0005\0"), "EINVAL");
#undef QC
}

static void
test_quarantine_set(void **state)
{
	struct xs_hdr hdr = {XS_WRITE, 3, 0, 0};
	char buf[64];
	uint32_t type;

#define QC(lit) quarantine_control(lit, sizeof(lit) - 1, &type)
	/* No guest is mapped here: only the bookkeeping is seen. */
	quarantine_domain(9, 7, &hdr);
	quarantine_domain(5, 8, &hdr);
	quarantine_domain(5, 8, &hdr);
	assert_true(quarantine_has(5));
	assert_false(quarantine_has(6));
	assert_false(quarantine_has(XS_DOMID_FIRST_RESERVED));
	assert_int_equal(quarantine_list(buf, sizeof(buf)), 3);
	assert_string_equal(buf, "5\n9");
	/* Too small a buffer holds whole lines only. */
	assert_int_equal(quarantine_list(buf, 3), 1);
	assert_string_equal(buf, "5");
	assert_string_equal(QC("quarantine\0"), "5\n9");
	assert_string_equal(QC("quarantine\0lift\0009\0"), "OK");
	assert_int_equal(type, XS_CONTROL);
	assert_false(quarantine_has(9));
	assert_string_equal(QC("quarantine\0lift\0009\0"), "ENOENT");
	/* Introduced or released again. */
	quarantine_clear(5);
	quarantine_clear(5);
	assert_int_equal(quarantine_list(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
#undef QC
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_fifo),
		cmocka_unit_test(test_replay_unsent_unanswerable),
		cmocka_unit_test(test_replay_resend_order),
		cmocka_unit_test(test_replay_suspects_alone),
		cmocka_unit_test(test_replay_poison),
		cmocka_unit_test(test_replay_update_blames_nobody),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_backoff_cap),
		cmocka_unit_test(test_backoff_never),
		cmocka_unit_test(test_control_quarantine),
		cmocka_unit_test(test_quarantine_set),
		cmocka_unit_test(test_liveupdate_open),
		cmocka_unit_test(test_liveupdate_argv),
		cmocka_unit_test(test_frame_live_update),
		cmocka_unit_test(test_frame_live_update_options),
		cmocka_unit_test(test_frame_replies),
		cmocka_unit_test(test_frame_replies_fixed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
