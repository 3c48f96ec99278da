// SPDX-License-Identifier: GPL-2.0-only
/* Frames between the engine and the broker, from the engine's side. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "grow.h"
#include "journal.h"
#include "xs_proto.h"

enum { OUT_REPLY, OUT_LOG, OUT_PRIV, OUT_READY, OUT_FENCE };

/*
 * A message for the next frame. Log: type is the level. Priv: conn is the
 * request id, type the op, req_id the domid, tx_id the port, features
 * MAP's.
 */
struct out_msg {
	uint32_t conn, type, req_id, tx_id;
	uint32_t features;
	uint64_t gfn;
	size_t off, len;
	int kind;
};

static int
queue(struct chan *ch, int kind, uint32_t conn, uint32_t type, uint32_t req_id,
      uint32_t tx_id, const void *data, size_t len)
{
	struct out_msg *m;

	if (grow_array(&ch->msgs, &ch->msgcap, ch->nmsg + 1, sizeof(*ch->msgs),
		       256) == -1 ||
	    grow_room(&ch->bytes, &ch->bcap, ch->blen, len + 1, 1, 65536) == -1)
		return -1;
	m = &ch->msgs[ch->nmsg++];
	*m = (struct out_msg){.conn = conn,
			      .type = type,
			      .req_id = req_id,
			      .tx_id = tx_id,
			      .off = ch->blen,
			      .len = len,
			      .kind = kind};
	if (len)
		memcpy(ch->bytes + ch->blen, data, len);
	ch->blen += len;
	/*
	 * Logs and paths are strings; replies are not, and the payloads of a
	 * run of them are one Replies.payloads.
	 */
	if (kind != OUT_REPLY)
		ch->bytes[ch->blen++] = '\0';
	return 0;
}

void
chan_emit(void *arg, uint32_t conn, uint32_t type, uint32_t req_id,
	  uint32_t tx_id, const void *payload, size_t len)
{
	struct chan *ch = arg;

	if (queue(ch, OUT_REPLY, conn, type, req_id, tx_id, payload, len) == -1)
		ch->oom = true;
}

void
chan_fence(void *arg, uint64_t id)
{
	struct chan *ch = arg;

	if (queue(ch, OUT_FENCE, 0, 0, 0, 0, "", 0) == -1)
		ch->oom = true;
	else
		ch->msgs[ch->nmsg - 1].gfn = id;
}

void
chan_log(void *arg, int level, const char *text)
{
	struct chan *ch = arg;

	if (queue(ch, OUT_LOG, 0, (uint32_t)level, 0, 0, text, strlen(text)))
		ch->oom = true;
}

void
chan_ready(struct chan *ch, uint64_t nodes, bool recovered)
{
	/* conn: recovered; gfn: the node count. */
	if (queue(ch, OUT_READY, recovered, 0, 0, 0, "", 0) == -1)
		ch->oom = true;
	else
		ch->msgs[ch->nmsg - 1].gfn = nodes;
}

void
chan_priv(void *arg, uint32_t id, int op, uint32_t domid, uint64_t gfn,
	  uint32_t port, uint32_t features, const char *str, size_t len)
{
	struct chan *ch = arg;

	if (queue(ch, OUT_PRIV, id, (uint32_t)op, domid, port, str, len) == -1)
		ch->oom = true;
	else {
		ch->msgs[ch->nmsg - 1].gfn = gfn;
		ch->msgs[ch->nmsg - 1].features = features;
	}
}

static const char *
check_requests(const Xsp__Requests *rs)
{
	size_t i, n = rs->n_conn, off = 0;

	if (n == 0)
		return "empty requests";
	if (rs->n_domid != n || rs->n_type != n || rs->n_req_id != n ||
	    rs->n_tx_id != n || rs->n_len != n || rs->n_seq != n)
		return "requests with arrays of unequal lengths";
	for (i = 0; i < n; i++) {
		if (rs->len[i] > XS_PAYLOAD_MAX)
			return "request payload over 4096 bytes";
		if (rs->len[i] > rs->payloads.len - off)
			return "requests longer than their payloads";
		off += rs->len[i];
	}
	if (off != rs->payloads.len)
		return "payload bytes of no request";
	return NULL;
}

/* Where the frame being applied is decoded: one frame at a time. */
static struct frame_arena arena = {.pb.alloc = NULL};

Xsp__BrokerFrame *
chan_decode(const uint8_t *data, size_t len, const char **why)
{
	Xsp__BrokerFrame *f;
	size_t i;

	if (arena.pb.alloc == NULL)
		frame_arena_init(&arena);
	if ((f = xsp__broker_frame__unpack(&arena.pb, len, data)) == NULL) {
		frame_arena_reset(&arena);
		*why = "undecodable frame";
		return NULL;
	}
	for (i = 0; i < f->n_msgs; i++) {
		const Xsp__ToEngine *m = f->msgs[i];

		switch (m->msg_case) {
		case XSP__TO_ENGINE__MSG_OPEN:
			if (m->open->conn == 0 || m->open->domid > 0xffff) {
				*why = "bad connection in open";
				goto bad;
			}
			break;
		case XSP__TO_ENGINE__MSG_CLOSE:
			break;
		case XSP__TO_ENGINE__MSG_REQUEST:
			if (m->request->payload.len > XS_PAYLOAD_MAX) {
				*why = "request payload over 4096 bytes";
				goto bad;
			}
			break;
		case XSP__TO_ENGINE__MSG_REQUESTS:
			if ((*why = check_requests(m->requests)) != NULL)
				goto bad;
			break;
		case XSP__TO_ENGINE__MSG_PRIV_REPLY:
		case XSP__TO_ENGINE__MSG_DOMAIN:
		case XSP__TO_ENGINE__MSG_FENCE:
			break;
		case XSP__TO_ENGINE__MSG_SYNC: {
			size_t k;

			for (k = 0; k < m->sync->n_conns; k++)
				if (m->sync->conns[k]->conn == 0 ||
				    m->sync->conns[k]->domid > 0xffff) {
					*why = "bad connection in sync";
					goto bad;
				}
			break;
		}
		default:
			*why = "unknown message";
			goto bad;
		}
	}
	return f;
bad:
	chan_decode_done(f);
	return NULL;
}

/* The frame is applied: nothing of it is used after this. */
void
chan_decode_done(Xsp__BrokerFrame *f)
{
	if (f != NULL)
		frame_arena_reset(&arena);
}

/*
 * The broker's connections are the truth: a connection the engine recovered
 * but the broker closed meanwhile goes, one it opened meanwhile comes.
 */
static int
conn_sync(struct engine *e, const Xsp__ConnSync *s)
{
	size_t i, j;
	const char *key;
	void *val;
	bool listed;

	i = 0;
	while (hmap_next(&e->conns, &i, NULL, NULL, &val)) {
		const struct conn *c = val;

		listed = false;
		for (j = 0; j < s->n_conns && !listed; j++)
			listed = s->conns[j]->conn == c->id &&
				 s->conns[j]->domid == c->domid &&
				 s->conns[j]->privileged == c->priv &&
				 s->conns[j]->readonly == c->ro;
		if (!listed) {
			/* The table changes under the walk: start again. */
			engine_conn_close(e, c->id);
			i = 0;
		}
	}
	/*
	 * Connections that lived through the restart: their transactions are
	 * gone (EAGAIN), and events the old engine had not sent are lost, so
	 * every watch fires once afresh. New transaction ids start where the
	 * old engine's cannot have reached.
	 */
	i = 0;
	while (journal_restored(e) &&
	       hmap_next(&e->conns, &i, NULL, NULL, &val)) {
		struct conn *c = val;

		c->txid_base = (journal_boots(e) << 24) | 1u;
		c->next_txid = c->txid_base;
		watch_refire(e, c);
	}
	for (i = 0; i < s->n_conns; i++) {
		const Xsp__ConnOpen *o = s->conns[i];

		if (engine_conn(e, o->conn) == NULL &&
		    engine_conn_open(e, o->conn, o->domid, o->privileged,
				     o->readonly) == -1)
			return -1;
	}
	/*
	 * The broker could not start the new binary and runs the old one
	 * again: live-update -s is answered with that, not with OK.
	 */
	i = 0;
	while (s->has_update_failed && s->update_failed &&
	       hmap_next(&e->replies, &i, &key, NULL, &val)) {
		static const char failed[] = "new engine failed to start";
		struct stored_reply *sr = val, *nr;

		if (!(sr->type & REPLY_LIVE_UPDATE))
			continue;
		if ((nr = malloc(sizeof(*nr) + sizeof(failed))) == NULL)
			return -1;
		nr->type = sr->type;
		nr->len = sizeof(failed);
		memcpy(nr->data, failed, sizeof(failed));
		/* Same key: the entry is replaced where it is. */
		hmap_put(&e->replies, key, sizeof(uint64_t), nr);
		free(sr);
	}
	/* Replies kept for requests the broker will not send again go. */
	i = 0;
	while (hmap_next(&e->replies, &i, &key, NULL, &val)) {
		uint64_t seq;

		memcpy(&seq, key, sizeof(seq));
		listed = false;
		for (j = 0; j < s->n_resend && !listed; j++)
			listed = s->resend[j] == seq;
		if (!listed) {
			free(hmap_del(&e->replies, &seq, sizeof(seq)));
			i = 0;
		}
	}
	return 0;
}

/* One request, as a Request or out of a Requests. */
static int
apply_request(struct engine *e, uint32_t conn, uint32_t domid, uint32_t type,
	      uint32_t req_id, uint32_t tx_id, uint64_t seq,
	      const uint8_t *payload, size_t len, const char **why)
{
	struct conn *c = engine_conn(e, conn);

	if (c == NULL || c->domid != domid) {
		*why = "request on an unknown connection";
		return -1;
	}
	e->seq = seq;
	journal_begin(e, seq, conn);
	engine_request(e, conn, type, req_id, tx_id, payload, len);
	journal_end(e);
	e->seq = 0;
	return 0;
}

int
chan_apply(struct engine *e, const Xsp__BrokerFrame *f, const char **why)
{
	const Xsp__Request *rq;
	const Xsp__Requests *rs;
	size_t i, k, off;

	for (i = 0; i < f->n_msgs; i++) {
		const Xsp__ToEngine *m = f->msgs[i];

		/* What the broker's messages change is journaled too. */
		journal_begin(e, 0, 0);
		switch (m->msg_case) {
		case XSP__TO_ENGINE__MSG_OPEN:
			if (engine_conn(e, m->open->conn)) {
				*why = "open of a connection already open";
				return -1;
			}
			if (engine_conn_open(e, m->open->conn, m->open->domid,
					     m->open->privileged,
					     m->open->readonly) == -1) {
				*why = "out of memory";
				return -1;
			}
			break;
		case XSP__TO_ENGINE__MSG_CLOSE:
			if (engine_conn(e, m->close->conn) == NULL) {
				*why = "close of an unknown connection";
				return -1;
			}
			engine_conn_close(e, m->close->conn);
			break;
		case XSP__TO_ENGINE__MSG_REQUEST:
			rq = m->request;
			if (apply_request(e, rq->conn, rq->domid, rq->type,
					  rq->req_id, rq->tx_id, rq->seq,
					  rq->payload.data, rq->payload.len,
					  why) == -1)
				return -1;
			break;
		case XSP__TO_ENGINE__MSG_REQUESTS:
			rs = m->requests;
			for (k = 0, off = 0; k < rs->n_conn; k++) {
				if (apply_request(e, rs->conn[k], rs->domid[k],
						  rs->type[k], rs->req_id[k],
						  rs->tx_id[k], rs->seq[k],
						  rs->len[k] > 0
							  ? rs->payloads.data +
								    off
							  : NULL,
						  rs->len[k], why) == -1)
					return -1;
				off += rs->len[k];
			}
			break;
		case XSP__TO_ENGINE__MSG_PRIV_REPLY: {
			const Xsp__PrivReply *pr = m->priv_reply;
			struct priv_answer a = {
				0,          0,         (int)pr->err,
				pr->exists, pr->dying, pr->shutdown};

			engine_priv_reply(e, pr->id, &a);
			break;
		}
		case XSP__TO_ENGINE__MSG_SYNC:
			if (conn_sync(e, m->sync) == -1) {
				*why = "connection sync failed";
				return -1;
			}
			break;
		case XSP__TO_ENGINE__MSG_FENCE:
			/* After every reply and event that came before it. */
			if (e->fence != NULL)
				e->fence(e->cb_arg, m->fence->id);
			break;
		case XSP__TO_ENGINE__MSG_DOMAIN:
			if (m->domain->domid >= XS_DOMID_FIRST_RESERVED) {
				*why = "domain event for no domain";
				return -1;
			}
			engine_domain_event(
				e, m->domain->domid, m->domain->dying,
				m->domain->shutdown, m->domain->gone);
			break;
		default:
			*why = "unknown message";
			return -1;
		}
		journal_end(e);
	}
	return 0;
}

/* The words of a LIVE_UPDATE_EXEC, each ending in NUL, as a list. */
static int
lu_args(Xsp__PrivRequest *pq, char *words, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += words[i] == '\0';
	if (n == 0)
		return 0;
	if ((pq->args = calloc(n, sizeof(*pq->args))) == NULL)
		return -1;
	for (i = 0; i < len; i += strlen(words + i) + 1)
		pq->args[pq->n_args++] = words + i;
	return 0;
}

/*
 * A run of replies, msgs[from, to), as one Replies: five arrays of n
 * (from one allocation, u32) and the payloads as they lie in ch->bytes.
 */
static void
pack_replies(struct chan *ch, size_t from, size_t to, Xsp__Replies *rs,
	     uint32_t *u32)
{
	size_t n = to - from, i;

	xsp__replies__init(rs);
	rs->n_conn = rs->n_type = rs->n_req_id = rs->n_tx_id = rs->n_len = n;
	rs->conn = u32;
	rs->type = u32 + n;
	rs->req_id = u32 + 2 * n;
	rs->tx_id = u32 + 3 * n;
	rs->len = u32 + 4 * n;
	for (i = 0; i < n; i++) {
		const struct out_msg *m = &ch->msgs[from + i];

		rs->conn[i] = m->conn;
		rs->type[i] = m->type;
		rs->req_id[i] = m->req_id;
		rs->tx_id[i] = m->tx_id;
		rs->len[i] = (uint32_t)m->len;
	}
	rs->payloads.data = ch->bytes + ch->msgs[from].off;
	rs->payloads.len = ch->msgs[to - 1].off + ch->msgs[to - 1].len -
			   ch->msgs[from].off;
}

/*
 * The same run as one RepliesFixed: an entry of five words each, in u32,
 * which protobuf-c packs with a single copy.
 */
static void
pack_replies_fixed(struct chan *ch, size_t from, size_t to,
		   Xsp__RepliesFixed *rf, uint32_t *u32)
{
	size_t n = to - from, i;
	uint32_t *h = u32;

	xsp__replies_fixed__init(rf);
	rf->n_hdr = FRAME_FIXED_WORDS * n;
	rf->hdr = u32;
	for (i = 0; i < n; i++, h += FRAME_FIXED_WORDS) {
		const struct out_msg *m = &ch->msgs[from + i];

		h[0] = m->conn;
		h[1] = m->type;
		h[2] = m->req_id;
		h[3] = m->tx_id;
		h[4] = (uint32_t)m->len;
	}
	rf->payloads.data = ch->bytes + ch->msgs[from].off;
	rf->payloads.len = ch->msgs[to - 1].off + ch->msgs[to - 1].len -
			   ch->msgs[from].off;
}

/*
 * The messages a frame is packed from, kept from one frame to the next:
 * allocating and zeroing them for every frame cost more than packing it
 * (a write seen by 100 watchers: 38k instructions of memset). Only the
 * entries a frame uses are initialised.
 */
static struct {
	Xsp__ToBroker *tb, **ptb;
	Xsp__Reply *rp;
	Xsp__Replies *rs;
	Xsp__RepliesFixed *rf;
	uint32_t *u32; /* FRAME_FIXED_WORDS a message */
	Xsp__Log *lg;
	Xsp__PrivRequest *pq;
	Xsp__Ready *rd;
	Xsp__Fence *fc;
	size_t cap;
} sc;

static int
scratch_reserve(size_t n)
{
	void *p;

	if (n <= sc.cap)
		return 0;
#define GROW(f, k)                                                             \
	do {                                                                   \
		if ((p = reallocarray(sc.f, (k)*n, sizeof(*sc.f))) == NULL)    \
			return -1;                                             \
		sc.f = p;                                                      \
	} while (0)
	GROW(tb, 1);
	GROW(ptb, 1);
	GROW(rp, 1);
	GROW(rs, 1);
	GROW(rf, 1);
	GROW(u32, FRAME_FIXED_WORDS);
	GROW(lg, 1);
	GROW(pq, 1);
	GROW(rd, 1);
	GROW(fc, 1);
#undef GROW
	sc.cap = n;
	return 0;
}

/* A request for the broker's privileged part, as the frame's i-th. */
static int
pack_priv(struct chan *ch, const struct out_msg *m, size_t i, Xsp__ToBroker *tb)
{
	Xsp__PrivRequest *pq = &sc.pq[i];

	xsp__priv_request__init(pq);
	pq->id = m->conn;
	pq->op = (Xsp__PrivRequest__Op)m->type;
	pq->domid = m->req_id;
	pq->has_gfn = pq->has_port = 1;
	pq->gfn = m->gfn;
	pq->port = m->tx_id;
	if (m->type == PRIV_MAP) {
		pq->has_features = 1;
		pq->features = m->features;
	}
	if (m->type == PRIV_LU_FILE)
		pq->path = (char *)ch->bytes + m->off;
	if (m->type == PRIV_LU_EXEC &&
	    lu_args(pq, (char *)ch->bytes + m->off, m->len) == -1)
		return -1;
	tb->msg_case = XSP__TO_BROKER__MSG_PRIV;
	tb->priv = pq;
	return 0;
}

/* What the engine says of itself: a fence, that it is ready, a log line. */
static void
pack_note(struct chan *ch, const struct out_msg *m, size_t i, Xsp__ToBroker *tb)
{
	switch (m->kind) {
	case OUT_FENCE:
		xsp__fence__init(&sc.fc[i]);
		sc.fc[i].id = m->gfn;
		tb->msg_case = XSP__TO_BROKER__MSG_FENCE;
		tb->fence = &sc.fc[i];
		break;
	case OUT_READY:
		xsp__ready__init(&sc.rd[i]);
		sc.rd[i].nodes = m->gfn;
		sc.rd[i].recovered = m->conn != 0;
		tb->msg_case = XSP__TO_BROKER__MSG_READY;
		tb->ready = &sc.rd[i];
		break;
	default: /* OUT_LOG */
		xsp__log__init(&sc.lg[i]);
		sc.lg[i].level = m->type;
		sc.lg[i].text = (char *)ch->bytes + m->off;
		tb->msg_case = XSP__TO_BROKER__MSG_LOG;
		tb->log = &sc.lg[i];
		break;
	}
}

/*
 * The replies msgs[from + i, from + k) as the broker reads them: one
 * RepliesFixed, one Replies, or (a broker from before Replies) a Reply,
 * which takes only the first. Returns where the next message starts.
 */
static size_t
pack_run(struct chan *ch, size_t from, size_t i, size_t n, Xsp__ToBroker *tb)
{
	const struct out_msg *m = &ch->msgs[from + i];
	size_t k = i + 1;

	if (!ch->replies && !ch->fixed) {
		xsp__reply__init(&sc.rp[i]);
		sc.rp[i].conn = m->conn;
		sc.rp[i].type = m->type;
		sc.rp[i].req_id = m->req_id;
		sc.rp[i].tx_id = m->tx_id;
		sc.rp[i].payload.data = ch->bytes + m->off;
		sc.rp[i].payload.len = m->len;
		tb->msg_case = XSP__TO_BROKER__MSG_REPLY;
		tb->reply = &sc.rp[i];
		return k;
	}
	while (k < n && ch->msgs[from + k].kind == OUT_REPLY)
		k++;
	if (ch->fixed) {
		pack_replies_fixed(ch, from + i, from + k, &sc.rf[i],
				   sc.u32 + FRAME_FIXED_WORDS * i);
		tb->msg_case = XSP__TO_BROKER__MSG_REPLIES_FIXED;
		tb->replies_fixed = &sc.rf[i];
	} else {
		pack_replies(ch, from + i, from + k, &sc.rs[i],
			     sc.u32 + FRAME_FIXED_WORDS * i);
		tb->msg_case = XSP__TO_BROKER__MSG_REPLIES;
		tb->replies = &sc.rs[i];
	}
	return k;
}

/*
 * Packs msgs[from, to) into one frame. Each message's parts live in sc at
 * its index i; a run of replies takes one entry of the frame.
 */
static int
pack(struct chan *ch, size_t from, size_t to)
{
	size_t n = to - from, i = 0, k, nt = 0;
	Xsp__EngineFrame f = XSP__ENGINE_FRAME__INIT;
	int r = -1;

	if (scratch_reserve(n) == -1)
		return -1;
	for (i = 0; i < n; i = k, nt++) {
		const struct out_msg *m = &ch->msgs[from + i];
		Xsp__ToBroker *tb = &sc.tb[nt];

		k = i + 1;
		xsp__to_broker__init(tb);
		sc.ptb[nt] = tb;
		if (m->kind == OUT_PRIV) {
			if (pack_priv(ch, m, i, tb) == -1)
				goto out;
		} else if (m->kind != OUT_REPLY) {
			pack_note(ch, m, i, tb);
		} else {
			k = pack_run(ch, from, i, n, tb);
		}
	}
	f.n_msgs = nt;
	f.msgs = sc.ptb;
	r = frame_out_pack(&ch->out, &f.base);
out:
	/* The words of live update requests, up to where packing got. */
	for (k = 0; k < n && k <= i; k++)
		if (ch->msgs[from + k].kind == OUT_PRIV)
			free(sc.pq[k].args);
	return r;
}

int
chan_flush(struct chan *ch)
{
	size_t i, start = 0, bytes = 0;
	int r;

	/* Keep frames well below FRAME_MAX, however big the burst. */
	for (i = 0; i < ch->nmsg; i++) {
		bytes += ch->msgs[i].len + 32;
		if (bytes > FRAME_MAX / 2) {
			if (pack(ch, start, i + 1) == -1)
				return -1;
			start = i + 1;
			bytes = 0;
		}
	}
	if (start < ch->nmsg && pack(ch, start, ch->nmsg) == -1)
		return -1;
	ch->flushed = ch->nmsg;
	ch->nmsg = 0;
	ch->blen = 0;
	do
		r = frame_out_flush(&ch->out, ch->fd);
	while (r == 1);
	return r;
}

void
chan_free(struct chan *ch)
{
	frame_in_free(&ch->in);
	frame_out_free(&ch->out);
	free(ch->msgs);
	free(ch->bytes);
}
