// SPDX-License-Identifier: GPL-2.0-only
/*
 * The engine's channel: batching what goes to the engine into one frame per
 * loop iteration, acting on what comes back, and keeping every request
 * until it is answered, so that whatever engine runs next can be given
 * again what the last one did not answer. engine_life.c decides when a
 * channel opens and ends; here is only what flows through it.
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "engine_int.h"
#include "grow.h"

/* Stop reading clients while this much is queued for an engine that lags. */
#define ENGINE_BACKLOG_MAX (16u << 20)
/*
 * More than this queued for the engine, past the clients' bound above, is
 * what the engine itself caused (answers to its own requests) and did not
 * read: it is stuck or subverted, and is replaced rather than let grow the
 * broker without end.
 */
#define ENGINE_QUEUE_MAX (2u * ENGINE_BACKLOG_MAX)
/* Send a frame early rather than let one batch approach FRAME_MAX. */
#define BATCH_MAX (FRAME_MAX / 2)
/* Overhead of one ToEngine message beyond its payload, generously. */
#define BATCH_MSG_OVERHEAD 64u

struct pending {
	Xsp__ToEngine te;
	union {
		Xsp__ConnOpen open;
		Xsp__ConnClose close;
		Xsp__Request req;
		Xsp__PrivReply priv;
		Xsp__DomainEvent dom;
		Xsp__ConnSync sync;
		Xsp__Fence fence;
	} u;
	size_t off; /* of the request payload in the arena */
	/* A run of requests from here on goes as one Requests. */
	Xsp__Requests reqs;
};

/*
 * CHAN_OPEN: messages go to the engine. CHAN_ENDING: the channel of an
 * engine that is gone is read for the last time; what it says is acted on,
 * but nothing more is sent to it. CHAN_CLOSED: no engine.
 */
enum { CHAN_CLOSED, CHAN_OPEN, CHAN_ENDING };
static int chan_state = CHAN_CLOSED;
static int chan = -1;
static struct bevent chan_ev;
static struct frame_in fin;
static struct frame_out fout;
static int congested;
/* More than ENGINE_QUEUE_MAX waits for the engine. */
static int overfull;
/* The engine on the channel said Ready: it may say so once. */
static int ready_seen;

/* This iteration's batch. Payloads sit in the arena until packed. */
static struct pending *pend;
static Xsp__ToEngine **pend_ptrs;
static size_t npend, pend_cap;
static uint8_t *arena;
static size_t arena_len, arena_cap;
/* The arrays of the batch's Requests: 6 u32 and 1 u64 a request. */
static uint32_t *req_u32;
static uint64_t *req_u64;
static size_t req_cap;

/* Numbers requests across engine restarts (Request.seq). */
static uint64_t next_seq = 1;
/* Every request not yet answered, across engines. */
struct replay engine_replay = {
	.all = TAILQ_HEAD_INITIALIZER(engine_replay.all),
	.asks = TAILQ_HEAD_INITIALIZER(engine_replay.asks),
};

/* The ConnSync being sent: its arrays live until the next one. */
static Xsp__ConnOpen *sync_opens;
static Xsp__ConnOpen **sync_ptrs;
static size_t sync_nopen, sync_cap;
static uint64_t *sync_resend;
static size_t sync_nresend, sync_resend_cap;

#define ENGINE_OVERFULL "it does not read what it asked for"

static void engine_pack(void);
static void engine_write(void);

int
engine_congested(void)
{
	return congested;
}

/* Whether the engine has requests it has not answered yet. */
int
engine_awaited(void)
{
	return chan_state == CHAN_OPEN && engine_replay.count > 0;
}

int
chan_is_open(void)
{
	return chan_state == CHAN_OPEN;
}

/*
 * With no engine to take them, requests wait in the replay list; past the
 * same bound as a lagging engine's backlog, clients are not read.
 */
static void
congestion_update(void)
{
	int was = congested;

	if (chan_state == CHAN_OPEN)
		congested = fout.len - fout.off > ENGINE_BACKLOG_MAX;
	else
		congested = engine_replay.bytes > ENGINE_BACKLOG_MAX;
	if (was && !congested)
		conn_resume_all();
}

static int
engine_log_prio(uint32_t level)
{
	switch (level) {
	case ENGINE_LOG_ERR:
		return LOG_ERR;
	case ENGINE_LOG_WARN:
		return LOG_WARNING;
	case ENGINE_LOG_INFO:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

/*
 * Whether the next line of the engine goes to the log and the audit: at
 * most ENGINE_LOG_PER_S a second, with a burst of twice that. A guest can
 * make the engine warn (every quota it hits) and a subverted engine can say
 * anything: neither may fill the host's disk through syslog. What is left
 * out is counted and said once the rate allows a line again.
 */
#define ENGINE_LOG_PER_S 100u
static int
engine_log_allowed(uint32_t level)
{
	static unsigned long dropped;
	static double tokens = 2.0 * ENGINE_LOG_PER_S;
	static struct timespec last;
	const struct timespec *now = loop_now();
	double dt;

	dt = (double)(now->tv_sec - last.tv_sec) +
	     (double)(now->tv_nsec - last.tv_nsec) / 1e9;
	last = *now;
	if (dt > 0)
		tokens += dt * ENGINE_LOG_PER_S;
	if (tokens > 2.0 * ENGINE_LOG_PER_S)
		tokens = 2.0 * ENGINE_LOG_PER_S;
	if (tokens < 1.0) {
		if (dropped++ == 0)
			log_warnx(ENGINE_NAME
				  ": more than %u lines a second: "
				  "the rest are counted, not logged",
				  ENGINE_LOG_PER_S);
		return 0;
	}
	tokens -= 1.0;
	if (dropped > 0) {
		log_warnx(ENGINE_NAME ": %lu lines not logged: more than %u a "
				      "second",
			  dropped, ENGINE_LOG_PER_S);
		dropped = 0;
	}
	return 1;
}

/* The engine's seccomp filter caught a call; it dies of SIGSYS next. */
static void
engine_violation(const Xsp__Violation *v)
{
	char *name;

	name = seccomp_syscall_resolve_num_arch(v->arch, (int)v->syscall);
	if (name == NULL)
		log_warnx("engine: forbidden system call %u (arch 0x%x)",
			  v->syscall, v->arch);
	else
		log_warnx("engine: forbidden system call %s (%u)", name,
			  v->syscall);
	free(name);
}

/* Returns NULL, or why the engine is not to be believed any more. */
static const char *
engine_dispatch(const Xsp__EngineFrame *f)
{
	const char *why;
	char text[4097];
	const Xsp__Log *l;
	const Xsp__PrivRequest *p;
	const Xsp__Replies *rs;
	const Xsp__RepliesFixed *rf;
	Xsp__Reply r;
	struct xs_hdr hdr;
	const uint8_t *pl;
	uint32_t conn;
	size_t i, k, n, off;

	for (i = 0; i < f->n_msgs; i++) {
		switch (f->msgs[i]->msg_case) {
		case XSP__TO_BROKER__MSG_REPLY:
			if (conn_reply(f->msgs[i]->reply) == -1)
				return "reply to no request";
			break;
		case XSP__TO_BROKER__MSG_REPLIES:
			rs = f->msgs[i]->replies;
			for (k = 0, off = 0; k < rs->n_conn; k++) {
				engine_reply_at(rs, k, off, &r);
				if (conn_reply(&r) == -1)
					return "reply to no request";
				off += rs->len[k];
			}
			break;
		case XSP__TO_BROKER__MSG_REPLIES_FIXED:
			rf = f->msgs[i]->replies_fixed;
			n = rf->n_hdr / FRAME_FIXED_WORDS;
			for (k = 0, off = 0; k < n; k++) {
				engine_fixed_at(rf, k, &conn, &hdr);
				/* A run of empty payloads may have no bytes. */
				pl = hdr.len > 0 ? rf->payloads.data + off
						 : NULL;
				if (conn_reply_hdr(conn, &hdr, pl) == -1)
					return "reply to no request";
				off += hdr.len;
			}
			break;
		case XSP__TO_BROKER__MSG_LOG:
			l = f->msgs[i]->log;
			if (!engine_log_allowed(l->level))
				break;
			log_sanitize(text, sizeof(text),
				     (const uint8_t *)l->text, strlen(l->text));
			log_prio(engine_log_prio(l->level), ENGINE_NAME ": %s",
				 text);
			audit_engine_log(l->level, l->text);
			break;
		case XSP__TO_BROKER__MSG_VIOLATION:
			/* An honest engine sends one, and dies: as a log line.
			 */
			if (engine_log_allowed(ENGINE_LOG_ERR))
				engine_violation(f->msgs[i]->violation);
			break;
		case XSP__TO_BROKER__MSG_FENCE:
			if (connid_fence_echoed(f->msgs[i]->fence->id) == -1)
				return "echoed a fence it was not sent";
			break;
		case XSP__TO_BROKER__MSG_READY:
			if (ready_seen++)
				return "said it was ready twice";
			life_ready(f->msgs[i]->ready->nodes,
				   f->msgs[i]->ready->recovered);
			break;
		case XSP__TO_BROKER__MSG_PRIV:
			p = f->msgs[i]->priv;
			if ((why = authority_check(&engine_replay, p)) != NULL)
				return why;
			if (p->op == XSP__PRIV_REQUEST__OP__LIVE_UPDATE_FILE ||
			    p->op == XSP__PRIV_REQUEST__OP__LIVE_UPDATE_EXEC)
				life_live_update(p);
			else
				guest_priv(p);
			break;
		default:
			fatalx("unchecked engine message");
		}
	}
	return NULL;
}

/*
 * Acts on every whole frame buffered. Returns NULL, or why the engine is
 * broken (then nothing after the bad frame is acted on).
 */
static const char *
engine_frames(void)
{
	Xsp__EngineFrame *f;
	const uint8_t *data;
	const char *why;
	size_t len;
	int r;

	while ((r = frame_in_next(&fin, &data, &len)) == 1) {
		if (overfull)
			return ENGINE_OVERFULL;
		if (engine_frame_check(data, len, conn_next_id(), &f, &why) ==
		    -1)
			return why;
		why = engine_dispatch(f);
		engine_frame_done(f);
		if (why != NULL)
			return why;
	}
	return r == -1 ? "frame over the size limit" : NULL;
}

static void
engine_read(void)
{
	const char *why;
	ssize_t n;

	n = frame_in_fill(&fin, chan);
	if (n == -1 && errno == EAGAIN)
		return;
	/* A dead engine that left frames unread resets its end. */
	if (n == 0 || (n == -1 && errno == ECONNRESET)) {
		life_channel_end();
		return;
	}
	if (n == -1) {
		life_broken(strerror(errno));
		return;
	}
	if ((why = engine_frames()) != NULL)
		life_broken(why);
}

static void
engine_event(int fd, uint32_t events, void *arg)
{
	/* A new engine's ConnSync is packed here if nothing else woke us. */
	if (chan_state == CHAN_OPEN && (events & EPOLLOUT) && npend > 0)
		engine_pack();
	if (chan_state == CHAN_OPEN && (events & EPOLLOUT))
		engine_write();
	if (chan_state == CHAN_OPEN &&
	    (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		engine_read();
}

static void
engine_write(void)
{
	int r;

	r = frame_out_flush(&fout, chan);
	if (r == -1 && (errno == EPIPE || errno == ECONNRESET)) {
		life_channel_end();
		return;
	}
	if (r == -1) {
		life_broken(strerror(errno));
		return;
	}
	loop_set(&chan_ev, EPOLLIN | (r == 1 ? EPOLLOUT : 0));
	congestion_update();
}

static void queue_request(const struct replay_req *q);
static struct pending *engine_queue(size_t payload_len);

/* After the ConnCloses of ids to be given again (connid.c). */
static void
fence_send(void)
{
	struct pending *p;
	uint64_t n;

	if (chan_state != CHAN_OPEN || (n = connid_fence_due()) == 0)
		return;
	p = engine_queue(0);
	xsp__fence__init(&p->u.fence);
	p->u.fence.id = n;
	p->te.msg_case = XSP__TO_ENGINE__MSG_FENCE;
}

/* Hands the engine every request that may go now (replay_next()). */
void
chan_pump(void)
{
	struct replay_req *q;

	while (chan_state == CHAN_OPEN &&
	       (q = replay_next(&engine_replay)) != NULL) {
		queue_request(q);
		replay_sent(&engine_replay, q);
	}
}

/* Once per loop iteration: the batch goes out as one frame. */
void
engine_flush(void)
{
	if (overfull && chan_state == CHAN_OPEN)
		life_broken(ENGINE_OVERFULL);
	life_flush();
	chan_pump();
	fence_send();
	/*
	 * A write that ends congestion lets clients queue requests again;
	 * send those too rather than leave them until some other wake-up.
	 */
	while (chan_state == CHAN_OPEN) {
		if (npend > 0)
			engine_pack();
		if (frame_out_pending(&fout))
			engine_write();
		if (npend == 0 || congested)
			break;
	}
}

/*
 * Requests pend[from, to), whose payloads follow each other in the arena,
 * as one Requests in pend[from]: packed arrays decode for a fraction of
 * what a Request each costs the engine.
 */
static void
pack_requests(size_t from, size_t to)
{
	Xsp__Requests *rs = &pend[from].reqs;
	size_t n = to - from, i;
	uint32_t *u = req_u32 + 6 * from;

	xsp__requests__init(rs);
	rs->n_conn = rs->n_domid = rs->n_type = rs->n_req_id = rs->n_tx_id =
		rs->n_len = rs->n_seq = n;
	rs->conn = u;
	rs->domid = u + n;
	rs->type = u + 2 * n;
	rs->req_id = u + 3 * n;
	rs->tx_id = u + 4 * n;
	rs->len = u + 5 * n;
	rs->seq = req_u64 + from;
	for (i = 0; i < n; i++) {
		const Xsp__Request *q = &pend[from + i].u.req;

		rs->conn[i] = q->conn;
		rs->domid[i] = q->domid;
		rs->type[i] = q->type;
		rs->req_id[i] = q->req_id;
		rs->tx_id[i] = q->tx_id;
		rs->len[i] = (uint32_t)q->payload.len;
		rs->seq[i] = q->seq;
	}
	rs->payloads.data = arena != NULL ? arena + pend[from].off : NULL;
	rs->payloads.len = pend[to - 1].off + pend[to - 1].u.req.payload.len -
			   pend[from].off;
	pend[from].te.msg_case = XSP__TO_ENGINE__MSG_REQUESTS;
	pend[from].te.requests = rs;
}

static void
engine_pack(void)
{
	Xsp__BrokerFrame bf = XSP__BROKER_FRAME__INIT;
	struct pending *p;
	size_t i, k, nt = 0;

	if (npend > req_cap) {
		if ((req_u32 = reallocarray(req_u32, pend_cap,
					    6 * sizeof(*req_u32))) == NULL ||
		    (req_u64 = reallocarray(req_u64, pend_cap,
					    sizeof(*req_u64))) == NULL)
			fatal("engine batch");
		req_cap = pend_cap;
	}
	/* The arena may have moved since the requests were queued. */
	for (i = 0; i < npend; i = k) {
		p = &pend[i];
		k = i + 1;
		switch (p->te.msg_case) {
		case XSP__TO_ENGINE__MSG_OPEN:
			p->te.open = &p->u.open;
			break;
		case XSP__TO_ENGINE__MSG_CLOSE:
			p->te.close = &p->u.close;
			break;
		case XSP__TO_ENGINE__MSG_PRIV_REPLY:
			p->te.priv_reply = &p->u.priv;
			break;
		case XSP__TO_ENGINE__MSG_DOMAIN:
			p->te.domain = &p->u.dom;
			break;
		case XSP__TO_ENGINE__MSG_SYNC:
			p->te.sync = &p->u.sync;
			break;
		case XSP__TO_ENGINE__MSG_FENCE:
			p->te.fence = &p->u.fence;
			break;
		case XSP__TO_ENGINE__MSG_REQUEST:
			while (k < npend &&
			       pend[k].te.msg_case ==
				       XSP__TO_ENGINE__MSG_REQUEST &&
			       pend[k].off ==
				       pend[k - 1].off +
					       pend[k - 1].u.req.payload.len)
				k++;
			pack_requests(i, k);
			break;
		default:
			fatalx("bad pending message");
		}
		pend_ptrs[nt++] = &p->te;
	}
	bf.n_msgs = nt;
	bf.msgs = pend_ptrs;
	if (frame_out_pack(&fout, &bf.base) == -1)
		fatal("frame to engine");
	npend = 0;
	arena_len = 0;
	congested = fout.len - fout.off > ENGINE_BACKLOG_MAX;
	overfull = fout.len - fout.off > ENGINE_QUEUE_MAX;
}

/* A slot in the batch, or NULL when there is no engine to send it to. */
static struct pending *
engine_queue(size_t payload_len)
{
	struct pending *np;
	size_t cap;

	if (chan_state != CHAN_OPEN)
		return NULL;
	if (npend > 0 &&
	    arena_len + payload_len + (npend + 1) * BATCH_MSG_OVERHEAD >
		    BATCH_MAX)
		engine_pack();
	/* Both arrays grow from one capacity, so they end at the same one. */
	cap = pend_cap;
	if (grow_array(&pend, &cap, npend + 1, sizeof(*pend), 256) == -1 ||
	    grow_array(&pend_ptrs, &pend_cap, npend + 1, sizeof(*pend_ptrs),
		       256) == -1 ||
	    grow_room(&arena, &arena_cap, arena_len, payload_len, 1, 65536) ==
		    -1)
		fatal("engine batch");
	np = &pend[npend++];
	memset(np, 0, sizeof(*np));
	xsp__to_engine__init(&np->te);
	return np;
}

/*
 * Connections opened or closed, and domain events, while no engine runs
 * are not queued: the next engine's ConnSync lists the connections as they
 * are then, and the domains are looked at again after it.
 */
void
engine_send_open(uint32_t conn, uint32_t domid, int privileged, int readonly)
{
	struct pending *p = engine_queue(0);

	if (p == NULL)
		return;
	xsp__conn_open__init(&p->u.open);
	p->u.open.conn = conn;
	p->u.open.domid = domid;
	p->u.open.privileged = privileged ? 1 : 0;
	p->u.open.readonly = readonly ? 1 : 0;
	p->te.msg_case = XSP__TO_ENGINE__MSG_OPEN;
}

void
engine_send_close(uint32_t conn)
{
	struct pending *p = engine_queue(0);

	if (p == NULL)
		return;
	xsp__conn_close__init(&p->u.close);
	p->u.close.conn = conn;
	p->te.msg_case = XSP__TO_ENGINE__MSG_CLOSE;
}

/*
 * Only ever to the engine that asked: the batch of an engine that is gone
 * is thrown away with it, and while a channel ends nothing is queued.
 */
void
engine_send_priv_reply(uint32_t id, int err, int exists, int dying,
		       int shutdown)
{
	struct pending *p = engine_queue(0);

	if (p == NULL)
		return;
	xsp__priv_reply__init(&p->u.priv);
	p->u.priv.id = id;
	p->u.priv.err = (uint32_t)err;
	p->u.priv.has_exists = p->u.priv.has_dying = p->u.priv.has_shutdown = 1;
	p->u.priv.exists = exists ? 1 : 0;
	p->u.priv.dying = dying ? 1 : 0;
	p->u.priv.shutdown = shutdown ? 1 : 0;
	p->te.msg_case = XSP__TO_ENGINE__MSG_PRIV_REPLY;
}

void
engine_send_domain(uint32_t domid, int dying, int shutdown, int gone)
{
	struct pending *p = engine_queue(0);

	if (p == NULL)
		return;
	xsp__domain_event__init(&p->u.dom);
	p->u.dom.domid = domid;
	p->u.dom.dying = dying ? 1 : 0;
	p->u.dom.shutdown = shutdown ? 1 : 0;
	p->u.dom.gone = gone ? 1 : 0;
	p->te.msg_case = XSP__TO_ENGINE__MSG_DOMAIN;
}

static void
queue_request(const struct replay_req *q)
{
	struct pending *p = engine_queue(q->hdr.len);

	xsp__request__init(&p->u.req);
	p->u.req.conn = q->conn;
	p->u.req.domid = q->domid;
	p->u.req.type = q->hdr.type;
	p->u.req.req_id = q->hdr.req_id;
	p->u.req.tx_id = q->hdr.tx_id;
	p->u.req.seq = q->seq;
	p->u.req.payload.len = q->hdr.len;
	p->off = arena_len;
	if (q->hdr.len > 0)
		memcpy(arena + arena_len, q->payload, q->hdr.len);
	arena_len += q->hdr.len;
	p->te.msg_case = XSP__TO_ENGINE__MSG_REQUEST;
}

/*
 * Every request is kept until answered, and goes to the engine at once
 * unless there is none or requests that may have killed the last one are
 * being tried again first (replay_next()).
 */
void
engine_send_request(struct replay_conn *rc, uint32_t conn, uint32_t domid,
		    uint8_t ask, const struct xs_hdr *hdr,
		    const uint8_t *payload)
{
	struct replay_req *q;

	if ((q = replay_add(&engine_replay, rc, next_seq++, conn, domid, hdr,
			    payload)) == NULL)
		fatal("engine request");
	replay_set_ask(&engine_replay, q, ask);
	if (chan_state == CHAN_OPEN)
		chan_pump();
	else
		congestion_update();
}

/*
 * A reply that is not a watch event answers its connection's oldest
 * request. Returns -1 when there is none, or it has another req_id: the
 * engine made up a reply.
 */
int
engine_answered(struct replay_conn *rc, uint32_t req_id)
{
	if (replay_answer(&engine_replay, rc, req_id) != REPLAY_OK)
		return -1;
	life_first_reply();
	return 0;
}

void
engine_conn_gone(struct replay_conn *rc)
{
	replay_conn_drop(&engine_replay, rc);
}

static void
sync_add_conn(uint32_t conn, uint32_t domid, int privileged, int readonly)
{
	Xsp__ConnOpen *no;
	size_t cap, i;

	if (sync_nopen == sync_cap) {
		/* One capacity for both, as for the batch's arrays. */
		cap = sync_cap;
		if (grow_array(&sync_opens, &cap, sync_nopen + 1,
			       sizeof(*sync_opens), 64) == -1 ||
		    grow_array(&sync_ptrs, &sync_cap, sync_nopen + 1,
			       sizeof(*sync_ptrs), 64) == -1)
			fatal("connection sync");
		/* The array moved: point again at every entry. */
		for (i = 0; i < sync_nopen; i++)
			sync_ptrs[i] = &sync_opens[i];
	}
	no = &sync_opens[sync_nopen];
	xsp__conn_open__init(no);
	no->conn = conn;
	no->domid = domid;
	no->privileged = privileged ? 1 : 0;
	no->readonly = readonly ? 1 : 0;
	sync_ptrs[sync_nopen] = no;
	sync_nopen++;
}

/*
 * The first message of every engine: the connections there are, and the
 * requests about to be sent again (every one not answered, in seq order).
 */
static void
queue_sync(int update_failed)
{
	struct replay_req *q;
	struct pending *p;
	uint64_t *nr;

	sync_nopen = 0;
	conn_each(sync_add_conn);
	sync_nresend = 0;
	if (engine_replay.count > sync_resend_cap) {
		if ((nr = reallocarray(sync_resend, engine_replay.count,
				       sizeof(*nr))) == NULL)
			fatal("connection sync");
		sync_resend = nr;
		sync_resend_cap = engine_replay.count;
	}
	for (q = replay_first(&engine_replay); q != NULL; q = replay_after(q))
		sync_resend[sync_nresend++] = q->seq;
	p = engine_queue(0);
	xsp__conn_sync__init(&p->u.sync);
	p->u.sync.n_conns = sync_nopen;
	p->u.sync.conns = sync_ptrs;
	p->u.sync.n_resend = sync_nresend;
	p->u.sync.resend = sync_resend;
	p->u.sync.has_features = 1;
	p->u.sync.features =
		FRAME_FEATURE_REPLIES | FRAME_FEATURE_REPLIES_FIXED;
	if (update_failed) {
		p->u.sync.has_update_failed = 1;
		p->u.sync.update_failed = 1;
	}
	p->te.msg_case = XSP__TO_ENGINE__MSG_SYNC;
}

/*
 * A new engine's channel: ConnSync goes first, requests after it. It goes
 * on the loop's next turn whatever else happens (EPOLLOUT is armed): an
 * engine may wait for it before it says anything.
 */
void
chan_open(int fd, int update_failed)
{
	int flags;

	chan = fd;
	if ((flags = fcntl(chan, F_GETFL)) == -1 ||
	    fcntl(chan, F_SETFL, flags | O_NONBLOCK) == -1)
		fatal("fcntl");
	loop_add(&chan_ev, chan, EPOLLIN | EPOLLOUT, engine_event, NULL);
	chan_state = CHAN_OPEN;
	ready_seen = 0;
	queue_sync(update_failed);
	congestion_update();
}

/*
 * Replies in the channel of an engine that is gone are real (the engine
 * writes one only once its effects are recorded): act on them all. Not so
 * after a bad frame: nothing that engine says counts any more.
 */
static void
chan_drain(void)
{
	const char *why;
	ssize_t n;

	for (;;) {
		if ((why = engine_frames()) != NULL) {
			log_warnx("engine left a bad frame (%s): ignoring the "
				  "rest",
				  why);
			audit_engine_broken(why);
			return;
		}
		n = frame_in_fill(&fin, chan);
		if (n <= 0)
			return;
	}
}

/*
 * Ends the channel. Whatever was not yet sent is thrown away: it was
 * meant for that engine alone (the requests among it are in the replay
 * list and go to the next one).
 */
void
chan_close(int drain)
{
	if (chan_state == CHAN_CLOSED)
		return;
	chan_state = CHAN_ENDING;
	if (drain)
		chan_drain();
	loop_del(&chan_ev);
	close(chan);
	chan = -1;
	chan_state = CHAN_CLOSED;
	connid_engine_gone();
	fin.off = fin.len = 0;
	fout.off = fout.len = 0;
	overfull = 0;
	npend = 0;
	arena_len = 0;
	congestion_update();
}

/* Stops an engine that is to end with the broker: no more input. */
void
chan_shutdown(void)
{
	if (chan != -1)
		shutdown(chan, SHUT_RDWR);
}
