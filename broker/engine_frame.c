// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the engine may say. The engine handles guest data and is the part
 * expected to fail, so the broker believes nothing it sends: a frame that
 * does not decode, or holds one message out of bounds, means the engine is
 * broken or subverted. The whole frame is checked here before any of it is
 * acted on, so a frame out of bounds has no effect at all. One thing only
 * the connection's state can tell is checked as each reply is handed over
 * (engine_answered()): that it answers that connection's oldest request.
 * A reply that does not stops the frame there and ends the engine; the
 * messages before it in the frame were each correct, and stay done.
 */
#include <string.h>

#include "broker.h"
#include "lu_options.h"

/* A log line longer than this is not a log line. */
#define ENGINE_LOG_MAX 4096u
/* Privileged requests from this op on carry strings. */
#define LIVE_UPDATE_FIRST_OP XSP__PRIV_REQUEST__OP__LIVE_UPDATE_FILE

static const char *
check_reply(const Xsp__Reply *r, uint32_t conn_next)
{
	if (r->conn == 0 || r->conn >= conn_next)
		return "reply to a connection that was never opened";
	if (r->payload.len > XS_PAYLOAD_MAX)
		return "reply payload over 4096 bytes";
	if (r->payload.len > 0 && r->payload.data == NULL)
		return "reply payload missing";
	if (r->type >= XS_TYPE_COUNT)
		return "reply of an unknown message type";
	return NULL;
}

/*
 * The i-th reply of a run, its payload at byte off of the run's; checked
 * (check_replies()) before it is used.
 */
void
engine_reply_at(const Xsp__Replies *rs, size_t i, size_t off, Xsp__Reply *r)
{
	xsp__reply__init(r);
	r->conn = rs->conn[i];
	r->type = rs->type[i];
	r->req_id = rs->req_id[i];
	r->tx_id = rs->tx_id[i];
	r->payload.len = rs->len[i];
	r->payload.data = rs->len[i] > 0 ? rs->payloads.data + off : NULL;
}

static const char *
check_replies(const Xsp__Replies *rs, uint32_t conn_next)
{
	size_t i, n = rs->n_conn, off = 0;
	const char *bad;
	Xsp__Reply r;

	if (n == 0)
		return "empty replies";
	if (rs->n_type != n || rs->n_req_id != n || rs->n_tx_id != n ||
	    rs->n_len != n)
		return "replies with arrays of unequal lengths";
	for (i = 0; i < n; i++) {
		if (rs->len[i] > rs->payloads.len - off)
			return "replies longer than their payloads";
		engine_reply_at(rs, i, off, &r);
		if ((bad = check_reply(&r, conn_next)) != NULL)
			return bad;
		off += rs->len[i];
	}
	if (off != rs->payloads.len)
		return "payload bytes of no reply";
	return NULL;
}

/*
 * The i-th entry of a RepliesFixed (checked by check_replies_fixed()
 * before it is used): its connection and the header its client gets.
 */
void
engine_fixed_at(const Xsp__RepliesFixed *rf, size_t i, uint32_t *conn,
		struct xs_hdr *hdr)
{
	const uint32_t *w = rf->hdr + FRAME_FIXED_WORDS * i;

	*conn = w[0];
	hdr->type = w[1];
	hdr->req_id = w[2];
	hdr->tx_id = w[3];
	hdr->len = w[4];
}

static const char *
check_replies_fixed(const Xsp__RepliesFixed *rf, uint32_t conn_next)
{
	size_t i, n = rf->n_hdr / FRAME_FIXED_WORDS, off = 0;
	struct xs_hdr hdr;
	uint32_t conn;

	if (n == 0)
		return "empty replies";
	if (rf->n_hdr % FRAME_FIXED_WORDS != 0)
		return "replies with a header cut short";
	if (rf->payloads.len > 0 && rf->payloads.data == NULL)
		return "reply payload missing";
	for (i = 0; i < n; i++) {
		engine_fixed_at(rf, i, &conn, &hdr);
		if (conn == 0 || conn >= conn_next)
			return "reply to a connection that was never opened";
		if (hdr.len > XS_PAYLOAD_MAX)
			return "reply payload over 4096 bytes";
		if (hdr.type >= XS_TYPE_COUNT)
			return "reply of an unknown message type";
		if (hdr.len > rf->payloads.len - off)
			return "replies longer than their payloads";
		off += hdr.len;
	}
	if (off != rf->payloads.len)
		return "payload bytes of no reply";
	return NULL;
}

static const char *
check_log(const Xsp__Log *l)
{
	if (l->level > ENGINE_LOG_DEBUG)
		return "log line of an unknown level";
	if (l->text == NULL ||
	    strnlen(l->text, ENGINE_LOG_MAX + 1) > ENGINE_LOG_MAX)
		return "log line too long";
	return NULL;
}

/*
 * What the engine may ask the broker to do. Whether the domain really is
 * there to map is the broker's own check, when it acts (guest.c).
 */
static const char *
check_priv(const Xsp__PrivRequest *p)
{
	size_t i;

	switch (p->op) {
	case XSP__PRIV_REQUEST__OP__MAP:
		if (!p->has_port || !p->has_gfn || p->port == 0)
			return "map request without gfn and port";
		/* FALLTHROUGH */
	case XSP__PRIV_REQUEST__OP__UNMAP:
		/* dom0's own ring is the broker's business alone. */
		if (p->domid == 0 || p->domid >= XS_DOMID_FIRST_RESERVED)
			return "map or unmap of no guest domain";
		return NULL;
	case XSP__PRIV_REQUEST__OP__DOMAIN_INFO:
		if (p->domid >= XS_DOMID_FIRST_RESERVED)
			return "domain information on no domain";
		return NULL;
	case XSP__PRIV_REQUEST__OP__LIVE_UPDATE_FILE:
		if (p->path == NULL || p->path[0] == '\0' ||
		    strnlen(p->path, LIVEUPDATE_PATH_MAX + 1) >
			    LIVEUPDATE_PATH_MAX)
			return "live update file name empty or too long";
		return NULL;
	case XSP__PRIV_REQUEST__OP__LIVE_UPDATE_EXEC:
		if (p->n_args > LIVEUPDATE_ARGS_MAX)
			return "live update with too many arguments";
		for (i = 0; i < p->n_args; i++)
			if (p->args[i] == NULL ||
			    strnlen(p->args[i], LIVEUPDATE_ARG_MAX + 1) >
				    LIVEUPDATE_ARG_MAX)
				return "live update argument too long";
		/* The next engine starts with our privileges. */
		if (!lu_args_ok(p->args, p->n_args))
			return "live update option not allowed";
		return NULL;
	default:
		return "privileged request of an unknown kind";
	}
}

/* Where the frame being acted on is decoded: one frame at a time. */
static struct frame_arena arena = {.pb.alloc = NULL};

/*
 * Decodes one frame body and checks every message in it. conn_next is the
 * first connection id not yet issued: replies may name any id below it,
 * including closed ones. Returns 0 with *framep to release with
 * engine_frame_done(), or -1 with *why set.
 */
int
engine_frame_check(const uint8_t *data, size_t len, uint32_t conn_next,
		   Xsp__EngineFrame **framep, const char **why)
{
	Xsp__EngineFrame *f;
	const Xsp__ToBroker *m;
	const char *bad = NULL;
	int strings = 0;
	size_t i;

	*framep = NULL;
	if (len > FRAME_MAX) {
		*why = "frame too large";
		return -1;
	}
	if (arena.pb.alloc == NULL) {
		frame_arena_init(&arena);
		arena.limit = FRAME_DECODE_MAX;
	}
	if ((f = xsp__engine_frame__unpack(&arena.pb, len, data)) == NULL) {
		frame_arena_reset(&arena);
		*why = "frame does not decode";
		return -1;
	}
	for (i = 0; i < f->n_msgs && bad == NULL; i++) {
		m = f->msgs[i];
		switch (m->msg_case) {
		case XSP__TO_BROKER__MSG_REPLY:
			bad = m->reply == NULL
				      ? "empty reply"
				      : check_reply(m->reply, conn_next);
			break;
		case XSP__TO_BROKER__MSG_REPLIES:
			bad = m->replies == NULL
				      ? "empty replies"
				      : check_replies(m->replies, conn_next);
			break;
		case XSP__TO_BROKER__MSG_REPLIES_FIXED:
			bad = m->replies_fixed == NULL
				      ? "empty replies"
				      : check_replies_fixed(m->replies_fixed,
							    conn_next);
			break;
		case XSP__TO_BROKER__MSG_LOG:
			bad = m->log == NULL ? "empty log" : check_log(m->log);
			break;
		case XSP__TO_BROKER__MSG_VIOLATION:
			/* Any number and arch: the broker only names it. */
			bad = m->violation == NULL ? "empty violation" : NULL;
			break;
		case XSP__TO_BROKER__MSG_FENCE:
			bad = m->fence == NULL ? "empty fence" : NULL;
			break;
		case XSP__TO_BROKER__MSG_READY:
			/* Only logged: any count will do. */
			bad = m->ready == NULL ? "empty ready" : NULL;
			break;
		case XSP__TO_BROKER__MSG_PRIV:
			bad = m->priv == NULL ? "empty request"
					      : check_priv(m->priv);
			if (bad == NULL && m->priv->op >= LIVE_UPDATE_FIRST_OP)
				strings = 1;
			break;
		default:
			bad = "message of an unknown kind";
			break;
		}
	}
	/*
	 * A string of the frame with a NUL inside decodes cut short at it, so
	 * the decoded frame packs smaller than it came. The engine packs with
	 * protobuf-c as we do, so any honest frame packs to its own size.
	 * Checked only where strings are acted on: live update requests.
	 */
	if (bad == NULL && strings &&
	    xsp__engine_frame__get_packed_size(f) != len)
		bad = "live update request with a NUL inside a string";
	if (bad != NULL) {
		engine_frame_done(f);
		*why = bad;
		return -1;
	}
	*framep = f;
	return 0;
}

/* The frame is acted on: nothing of it is used after this. */
void
engine_frame_done(Xsp__EngineFrame *f)
{
	if (f != NULL)
		frame_arena_reset(&arena);
}
