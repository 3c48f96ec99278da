// SPDX-License-Identifier: GPL-2.0-only
/*
 * The journal and snapshots in the broker's memfds (see journal.h).
 *
 * A slot (one memfd) is a header, a snapshot, then groups. The header is
 * written last, so a slot counts only once its snapshot is whole; of two
 * whole slots the one with the higher generation is the live one. A group
 * is written with one pwrite(); if the engine dies during it, a prefix may
 * be there, which its length shows, and it is ignored: its request was not
 * answered, the broker sends it again.
 *
 * The snapshot is compressed (zsnap.c; "XSSTATE2", whose header also says
 * how long the stream is once inflated). Slots of engines that stored it
 * as it is ("XSSTATE1") are still read: a live update may come from one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grow.h"
#include "journal.h"
#include "state.h"
#include "xs_proto.h"
#include "zsnap.h"

#define SLOT_MAGIC1 0x3145544154535358ull /* "XSSTATE1": stream as it is */
#define SLOT_MAGIC 0x3245544154535358ull  /* "XSSTATE2": compressed */
#define GROUP_MAGIC 0x47534a58u           /* "XJSG" */
/*
 * Most changes are answered "OK": such a group says so in its magic, with
 * the reply's type in the low half, instead of carrying a reply record.
 */
#define GROUP_OK 0x4b4f0000u
#define GROUP_OK_MASK 0xffff0000u
#define SLOT_HDR1 32
#define SLOT_HDR 40
#define GROUP_HDR 16
/*
 * A snapshot replaces the journal once the journal outgrows this and
 * COMPACT_K times the (compressed) snapshot: the state memfds stay within
 * (1 + COMPACT_K) times the snapshot, and a store that grows is snapshotted
 * each time it has grown by a fraction, so the work stays linear.
 */
#define COMPACT_MIN (1u << 20)
#define COMPACT_K 8u
/* The buffer of unwritten groups is kept between batches up to this. */
#define BUF_KEEP (4u << 20)
#define WRITE_CHUNK (1u << 20)

struct slot_hdr {
	uint64_t magic;
	uint64_t gen;
	uint32_t boots;
	uint32_t pad;
	uint64_t snap_len; /* 0: not (yet) a whole snapshot */
	/* Only in "XSSTATE2": the stream's length once inflated. */
	uint64_t raw_len;
};

struct group_hdr {
	uint32_t magic;
	uint32_t len; /* bytes of records after this header */
	uint64_t seq;
};

struct journal {
	int fd[2];
	int cur; /* the live slot */
	uint64_t gen;
	uint32_t boots;
	bool restored;
	bool legacy; /* the live slot is "XSSTATE1": replace it soon */
	size_t hdr;  /* of the live slot */
	uint64_t snap_len;
	uint64_t off; /* end of the live slot's journal */
	/* Groups not yet written; the open one starts at group. */
	uint8_t *buf;
	size_t len, cap;
	bool open, oom;
	bool keep; /* the group holds an answer even if nothing changed */
	size_t group;
	uint64_t seq;
	uint32_t conn;
	/* The open request's reply, as it went to the broker. */
	bool replied;
	uint32_t rtype;
	size_t rlen;
	uint8_t reply[XS_PAYLOAD_MAX];
	emit_fn emit;
};

/* The engine's emit goes through here to see each request's reply. */
static struct journal *active;
/*
 * The most a slot may hold (the engine's RLIMIT_FSIZE; 0: no limit). A
 * slot past half of it is compacted whatever its ratio to the snapshot, so
 * that a big store's journal never reaches the limit and kills the engine
 * on a write: (1 + COMPACT_K) times a snapshot may not fit where the
 * snapshot does.
 */
static uint64_t slot_max;

static void
journal_emit(void *arg, uint32_t conn, uint32_t type, uint32_t req_id,
	     uint32_t tx_id, const void *payload, size_t len)
{
	struct journal *j = active;

	if (j->open && j->seq != 0 && !j->replied && conn == j->conn &&
	    type != XS_WATCH_EVENT && len <= sizeof(j->reply)) {
		j->replied = true;
		j->rtype = type;
		j->rlen = len;
		memcpy(j->reply, payload, len);
	}
	j->emit(arg, conn, type, req_id, tx_id, payload, len);
}

/* Room for n more bytes at the end of the buffer, or NULL. */
static uint8_t *
reserve(struct journal *j, size_t n)
{
	if (grow_room(&j->buf, &j->cap, j->len, n, 1, 65536) == -1) {
		j->oom = true;
		return NULL;
	}
	return j->buf + j->len;
}

static int
append(void *arg, const void *p, size_t n)
{
	struct journal *j = arg;
	uint8_t *b = reserve(j, n);

	if (b == NULL)
		return -ENOMEM;
	memcpy(b, p, n);
	j->len += n;
	return 0;
}

static void
group_open(struct journal *j, uint64_t seq, uint32_t conn)
{
	struct group_hdr h = {GROUP_MAGIC, 0, seq};

	j->group = j->len;
	j->open = true;
	j->seq = seq;
	j->conn = conn;
	j->replied = false;
	j->keep = false;
	append(j, &h, sizeof(h));
}

static void
group_close(struct journal *j)
{
	struct group_hdr h;

	if (!j->open)
		return;
	j->open = false;
	if (j->len == j->group + GROUP_HDR && !j->keep) {
		j->len = j->group; /* nothing changed */
		return;
	}
	memcpy(&h, j->buf + j->group, sizeof(h));
	if (j->seq != 0 && j->replied && j->rtype < 0x10000 &&
	    j->rtype != XS_ERROR && j->rlen == 3 &&
	    memcmp(j->reply, "OK", 3) == 0)
		h.magic = GROUP_OK | j->rtype;
	else if (j->seq != 0 && j->replied)
		state_rec_reply(j->seq, j->rtype, j->reply, j->rlen, append, j);
	h.len = (uint32_t)(j->len - j->group - GROUP_HDR);
	memcpy(j->buf + j->group, &h, sizeof(h));
}

/* Where a change is recorded: in the open group, or one of its own. */
static struct journal *
target(struct engine *e)
{
	struct journal *j = e->jr;

	if (j != NULL && !j->open)
		group_open(j, 0, 0);
	return j;
}

void
journal_begin(struct engine *e, uint64_t seq, uint32_t conn)
{
	if (e->jr == NULL)
		return;
	group_close(e->jr);
	group_open(e->jr, seq, conn);
}

void
journal_end(struct engine *e)
{
	if (e->jr != NULL)
		group_close(e->jr);
}

size_t
journal_mark(const struct engine *e)
{
	return e->jr ? e->jr->len : 0;
}

void
journal_rollback(struct engine *e, size_t mark)
{
	if (e->jr && mark <= e->jr->len)
		e->jr->len = mark;
}

int
journal_answer(struct engine *e, uint32_t type, const char *payload, size_t len)
{
	struct journal *j = e->jr;

	if (j == NULL || !j->open || j->seq == 0)
		return -1;
	/* Recorded as the group's reply: nothing else is sent for it. */
	j->replied = true;
	j->rtype = type;
	j->rlen = len;
	memcpy(j->reply, payload, len);
	j->keep = true;
	return 0;
}

void
journal_expect(struct engine *e, size_t bytes)
{
	struct journal *j = e->jr;
	size_t had;

	if (j == NULL || j->len + bytes <= j->cap || j->len + bytes > BUF_KEEP)
		return;
	had = j->cap;
	if (grow_room(&j->buf, &j->cap, j->len, bytes, 1, 65536) == -1)
		return; /* the commit will ask again */
	/* Touched now: each new page would otherwise fault in the commit. */
	memset(j->buf + had, 0, j->cap - had);
}

void
journal_node(struct engine *e, const char *path, const struct node *n)
{
	struct journal *j = target(e);
	size_t plen, len;
	uint8_t *b;

	if (j == NULL)
		return;
	plen = strlen(path);
	len = state_rec_node_len(n, plen);
	if ((b = reserve(j, len)) != NULL) {
		state_rec_node_put(e, path, plen, n, b);
		j->len += len;
	}
}

void
journal_delete(struct engine *e, const char *path)
{
	struct journal *j = target(e);

	if (j)
		state_rec_delete(path, append, j);
}

void
journal_conn(struct engine *e, const struct conn *c)
{
	struct journal *j = target(e);

	if (j)
		state_rec_conn(c, append, j);
}

void
journal_conn_close(struct engine *e, uint32_t cid)
{
	struct journal *j = target(e);

	if (j)
		state_rec_conn_close(cid, append, j);
}

void
journal_watch(struct engine *e, uint32_t cid, const char *path,
	      const char *token, int depth)
{
	struct journal *j = target(e);

	if (j)
		state_rec_watch(cid, path, token, depth, append, j);
}

void
journal_unwatch(struct engine *e, uint32_t cid, const char *path,
		const char *token)
{
	struct journal *j = target(e);

	if (j)
		state_rec_unwatch(cid, path, token, append, j);
}

void
journal_domain(struct engine *e, const struct domain *d, bool released)
{
	struct journal *j = target(e);

	if (j)
		state_rec_domain(d, released, append, j);
}

void
journal_quota(struct engine *e)
{
	struct journal *j = target(e);

	if (j)
		state_rec_quota(e, append, j);
}

void
journal_special(struct engine *e, const struct node *n)
{
	struct journal *j = target(e);

	if (j)
		state_rec_special(e, n, append, j);
}

static int
write_all(int fd, const void *p, size_t n, uint64_t off)
{
	const uint8_t *b = p;
	ssize_t w;

	while (n > 0) {
		w = pwrite(fd, b, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int
journal_flush(struct engine *e)
{
	struct journal *j = e->jr;

	if (j == NULL)
		return 0;
	group_close(j);
	if (j->oom)
		return -1;
	if (j->len == 0)
		return 0;
	if (write_all(j->fd[j->cur], j->buf, j->len, j->off) == -1)
		return -1;
	j->off += j->len;
	j->len = 0;
	if (j->cap > BUF_KEEP) {
		/* A burst is over: give its memory back. */
		free(j->buf);
		j->buf = NULL;
		j->cap = 0;
	}
	return 0;
}

/* The snapshot streams out in big writes. */
struct snap_out {
	int fd;
	uint64_t off;
	uint8_t *buf;
	size_t len;
	int err;
};

static int
snap_put(void *arg, const void *p, size_t n)
{
	struct snap_out *o = arg;

	if (o->len + n > WRITE_CHUNK) {
		if (write_all(o->fd, o->buf, o->len, o->off) == -1)
			return -EIO;
		o->off += o->len;
		o->len = 0;
	}
	if (n > WRITE_CHUNK) {
		if (write_all(o->fd, p, n, o->off) == -1)
			return -EIO;
		o->off += n;
		return 0;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

/* Writes a whole snapshot into the other slot and makes it the live one. */
static int
snapshot(struct engine *e)
{
	struct journal *j = e->jr;
	int next = !j->cur;
	struct snap_out o = {j->fd[next], SLOT_HDR, malloc(WRITE_CHUNK), 0, 0};
	struct slot_hdr h = {SLOT_MAGIC, j->gen + 1, j->boots, 0, 0, 0};
	struct zsnap *z = zsnap_new(snap_put, &o);
	int r = -1;

	if (o.buf == NULL || z == NULL)
		goto out;
	if (ftruncate(o.fd, 0) == -1 ||
	    write_all(o.fd, &h, sizeof(h), 0) == -1 ||
	    state_dump(e, zsnap_put, z, true) != 0 ||
	    zsnap_end(z, &h.raw_len) != 0 ||
	    write_all(o.fd, o.buf, o.len, o.off) == -1)
		goto out;
	o.off += o.len;
	h.snap_len = o.off - SLOT_HDR;
	/* From here the new slot is the live one. */
	if (write_all(o.fd, &h, sizeof(h), 0) == -1)
		goto out;
	j->cur = next;
	j->gen = h.gen;
	j->hdr = SLOT_HDR;
	j->legacy = false;
	j->snap_len = h.snap_len;
	j->off = o.off;
	/* The old slot is history: its memory goes back to the broker. */
	if (ftruncate(j->fd[!next], 0) == -1)
		goto out;
	r = 0;
out:
	zsnap_free(z);
	free(o.buf);
	return r;
}

int
journal_compact(struct engine *e)
{
	struct journal *j = e->jr;
	uint64_t jlen;

	if (j == NULL)
		return 0;
	jlen = j->off - j->hdr - j->snap_len;
	/* An uncompressed snapshot goes at the first change after it. */
	if (j->legacy
		    ? jlen == 0
		    : (jlen < COMPACT_MIN || jlen < COMPACT_K * j->snap_len) &&
			      !(slot_max != 0 && jlen > 0 &&
				j->off > slot_max / 2))
		return 0;
	return snapshot(e);
}

/* The whole content of a slot; NULL (and *len 0) when it is empty. */
static uint8_t *
slot_read(int fd, size_t *len, int *err)
{
	size_t cap = 0, n = 0;
	uint8_t *b = NULL;
	ssize_t r;

	*err = 0;
	for (;;) {
		if (grow_array(&b, &cap, n + 1, 1, 1u << 20) == -1) {
			*err = ENOMEM;
			break;
		}
		r = pread(fd, b + n, cap - n, (off_t)n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*err = errno;
			break;
		}
		if (r == 0) {
			*len = n;
			return b;
		}
		n += (size_t)r;
	}
	free(b);
	*len = 0;
	return NULL;
}

/* Is the slot whole? Then *h is its header and *hdr its length. */
static bool
slot_whole(const uint8_t *b, size_t len, struct slot_hdr *h, size_t *hdr)
{
	if (b == NULL || len < SLOT_HDR1)
		return false;
	memcpy(h, b, SLOT_HDR1);
	h->raw_len = 0;
	if (h->magic == SLOT_MAGIC1)
		*hdr = SLOT_HDR1;
	else if (h->magic == SLOT_MAGIC && len >= SLOT_HDR)
		memcpy(h, b, (*hdr = SLOT_HDR));
	else
		return false;
	return h->snap_len > 0 && h->snap_len <= len - *hdr;
}

/* Applies the whole groups after the snapshot; a torn last one is not. */
static int
replay(struct engine *e, const uint8_t *b, size_t len, size_t *end,
       const char **bad)
{
	size_t off = 0;

	while (len - off >= GROUP_HDR) {
		struct group_hdr g;
		size_t r, end_g;

		memcpy(&g, b + off, sizeof(g));
		if (g.magic != GROUP_MAGIC &&
		    ((g.magic & GROUP_OK_MASK) != GROUP_OK || g.seq == 0)) {
			*bad = "bad journal group";
			return -1;
		}
		if (g.len > len - off - GROUP_HDR)
			break; /* torn: its request got no reply */
		if (g.magic != GROUP_MAGIC &&
		    state_keep_reply(e, g.seq, g.magic & ~GROUP_OK_MASK, "OK",
				     3) == -1) {
			*bad = "out of memory";
			return -1;
		}
		end_g = off + GROUP_HDR + g.len;
		for (r = off + GROUP_HDR; r < end_g;) {
			uint32_t type, rlen;
			size_t padded;

			if (end_g - r < 8) {
				*bad = "truncated journal record";
				return -1;
			}
			memcpy(&type, b + r, 4);
			memcpy(&rlen, b + r + 4, 4);
			padded = ((size_t)rlen + 7) & ~(size_t)7;
			if (padded > end_g - r - 8) {
				*bad = "truncated journal record";
				return -1;
			}
			if (state_apply(e, type, b + r + 8, rlen, bad) == -1)
				return -1;
			events_drop(e);
			r += 8 + padded;
		}
		off = end_g;
	}
	*end = off;
	return 0;
}

/*
 * Restores the store a slot's content holds into a new engine; *end is
 * where its last whole group ends.
 */
static struct engine *
restore(struct engine *like, const uint8_t *b, size_t len,
	const struct slot_hdr *h, size_t *end, char *why, size_t whylen)
{
	struct engine *e;
	const char *bad = NULL;
	uint8_t *raw = NULL;
	int r;

	if (h->magic == SLOT_MAGIC &&
	    (raw = zsnap_inflate(b, h->snap_len, h->raw_len, &bad)) == NULL) {
		snprintf(why, whylen, "snapshot: %s", bad);
		return NULL;
	}
	e = state_restore(raw ? raw : b, raw ? h->raw_len : h->snap_len,
			  like->emit, like->log, like->cb_arg, why, whylen);
	free(raw);
	if (e == NULL)
		return NULL;
	r = replay(e, b + h->snap_len, len - h->snap_len, end, &bad);
	state_apply_done();
	if (r == -1) {
		snprintf(why, whylen, "journal: %s", bad);
		engine_free(e);
		return NULL;
	}
	*end += h->snap_len;
	e->priv = like->priv;
	e->fence = like->fence;
	e->keep_orphans = like->keep_orphans;
	e->verbose = like->verbose;
	e->logging = like->logging;
	e->defer_free = like->defer_free;
	return e;
}

/* A slot that holds a bare dump file (xs-broker --restore) instead. */
static bool
slot_dump(const uint8_t *b, size_t len, struct slot_hdr *h)
{
	static const uint8_t ident[8] = {'x', 'e', 'n', 's',
					 't', 'o', 'r', 'e'};

	if (b == NULL || len < sizeof(ident) || memcmp(b, ident, 8) != 0)
		return false;
	*h = (struct slot_hdr){SLOT_MAGIC1, 0, 0, 0, len, 0};
	return true;
}

struct engine *
journal_load(struct engine *like, int fd_a, int fd_b, struct journal_slot *js,
	     char *why, size_t whylen)
{
	struct engine *e = NULL;
	struct slot_hdr h[2];
	uint8_t *b[2] = {NULL, NULL};
	size_t len[2], hdr[2] = {SLOT_HDR, SLOT_HDR};
	bool whole[2];
	int err[2], use, i, fd[2] = {fd_a, fd_b};
	uint64_t magic;

	js->slot = -1;
	for (i = 0; i < 2; i++) {
		b[i] = slot_read(fd[i], &len[i], &err[i]);
		if (err[i] != 0) {
			snprintf(why, whylen, "reading the state: %s",
				 strerror(err[i]));
			goto out;
		}
		whole[i] = slot_whole(b[i], len[i], &h[i], &hdr[i]);
		if (len[i] >= 8)
			memcpy(&magic, b[i], 8);
		if (!whole[i] && slot_dump(b[i], len[i], &h[i])) {
			whole[i] = true;
			hdr[i] = 0;
		} else if (!whole[i] && len[i] > 0 &&
			   (len[i] < 8 ||
			    (magic != SLOT_MAGIC && magic != SLOT_MAGIC1))) {
			/* Not even a snapshot cut short: someone else's. */
			snprintf(why, whylen,
				 "neither a snapshot nor a xenstore migration "
				 "stream");
			goto out;
		}
	}
	if (whole[0] && (!whole[1] || h[0].gen > h[1].gen))
		use = 0;
	else if (whole[1])
		use = 1;
	else {
		e = like; /* nothing there: a fresh store */
		goto out;
	}
	e = restore(like, b[use] + hdr[use], len[use] - hdr[use], &h[use],
		    &js->end, why, whylen);
	js->slot = use;
	js->gen = h[use].gen;
	js->boots = h[use].boots;
	js->bare = hdr[use] == 0;
	js->hdr = hdr[use];
	js->end += hdr[use];
out:
	free(b[0]);
	free(b[1]);
	return e;
}

/*
 * A restarted engine goes on with the slot it recovered from: the torn
 * end of its journal (if any) goes, its start count goes up, and new
 * groups follow. No snapshot first: a restart must be quick.
 */
static int
resume(struct journal *j, const struct journal_slot *js)
{
	struct slot_hdr h;

	if (ftruncate(j->fd[j->cur], (off_t)js->end) == -1 ||
	    pread(j->fd[j->cur], &h, js->hdr, 0) != (ssize_t)js->hdr)
		return -1;
	h.boots = j->boots;
	j->hdr = js->hdr;
	j->legacy = js->hdr == SLOT_HDR1;
	j->snap_len = h.snap_len;
	j->off = js->end;
	return write_all(j->fd[j->cur], &h, js->hdr, 0);
}

int
journal_attach(struct engine **ep, int fd_a, int fd_b, const uint64_t *resend,
	       size_t nresend, char *why, size_t whylen)
{
	struct journal *j = calloc(1, sizeof(*j));
	struct journal_slot js;
	struct engine *e;
	int r;

	if (j == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	j->fd[0] = fd_a;
	j->fd[1] = fd_b;
	state_reply_filter(resend, nresend);
	e = journal_load(*ep, fd_a, fd_b, &js, why, whylen);
	state_reply_filter(NULL, 0);
	if (e == NULL) {
		free(j);
		return -1;
	}
	if (js.slot >= 0) {
		j->restored = true;
		j->gen = js.gen;
		j->boots = js.boots + 1;
		j->cur = js.slot;
	} else {
		j->cur = 1; /* the first snapshot goes to slot 0 */
	}
	j->emit = e->emit;
	e->emit = journal_emit;
	e->jr = j;
	active = j;
	/* A fresh store, or a dump file, needs a snapshot of our own. */
	if (js.slot >= 0 && !js.bare)
		r = resume(j, &js);
	else
		r = snapshot(e);
	if (r == -1) {
		snprintf(why, whylen, "writing a snapshot: %s",
			 strerror(errno));
		journal_free(e);
		if (e != *ep)
			engine_free(e);
		return -1;
	}
	if (e != *ep)
		engine_free(*ep);
	*ep = e;
	return 0;
}

void
journal_limit(uint64_t bytes)
{
	slot_max = bytes;
}

bool
journal_restored(const struct engine *e)
{
	return e->jr && e->jr->restored;
}

uint32_t
journal_boots(const struct engine *e)
{
	return e->jr ? e->jr->boots : 0;
}

void
journal_free(struct engine *e)
{
	if (e->jr == NULL)
		return;
	e->emit = e->jr->emit;
	free(e->jr->buf);
	free(e->jr);
	e->jr = NULL;
	active = NULL;
}
