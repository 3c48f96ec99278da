// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the engine may say. The engine handles guest data and is the part
 * expected to fail, so the broker believes nothing it sends: a frame that
 * does not decode, or holds one message out of bounds, means the engine is
 * broken or subverted. The whole frame is checked before any of it is acted
 * on, so a bad frame has no effect at all.
 */
#include <string.h>

#include "broker.h"

/* A log line longer than this is not a log line. */
#define ENGINE_LOG_MAX 4096u

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
	default:
		return "privileged request of an unknown kind";
	}
}

/*
 * Decodes one frame body and checks every message in it. conn_next is the
 * first connection id not yet issued: replies may name any id below it,
 * including closed ones. Returns 0 with *framep to free with
 * xsp__engine_frame__free_unpacked(), or -1 with *why set.
 */
int
engine_frame_check(const uint8_t *data, size_t len, uint32_t conn_next,
		   Xsp__EngineFrame **framep, const char **why)
{
	Xsp__EngineFrame *f;
	const Xsp__ToBroker *m;
	const char *bad = NULL;
	size_t i;

	*framep = NULL;
	if (len > FRAME_MAX) {
		*why = "frame too large";
		return -1;
	}
	if ((f = xsp__engine_frame__unpack(NULL, len, data)) == NULL) {
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
		case XSP__TO_BROKER__MSG_LOG:
			bad = m->log == NULL ? "empty log" : check_log(m->log);
			break;
		case XSP__TO_BROKER__MSG_VIOLATION:
			/* Any number and arch: the broker only names it. */
			bad = m->violation == NULL ? "empty violation" : NULL;
			break;
		case XSP__TO_BROKER__MSG_PRIV:
			bad = m->priv == NULL ? "empty request"
					      : check_priv(m->priv);
			break;
		default:
			bad = "message of an unknown kind";
			break;
		}
	}
	if (bad != NULL) {
		xsp__engine_frame__free_unpacked(f, NULL);
		*why = bad;
		return -1;
	}
	*framep = f;
	return 0;
}
