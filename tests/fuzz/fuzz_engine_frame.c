// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a broken or subverted engine could send: engine_frame_check() must
 * reject it without crashing or leaking, and whatever it accepts must be
 * within the bounds the broker then relies on.
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Returns -1 if an accepted privileged request is out of bounds. */
static int
check_priv(const Xsp__PrivRequest *p)
{
	size_t i;

	switch (p->op) {
	case XSP__PRIV_REQUEST__OP__MAP:
	case XSP__PRIV_REQUEST__OP__UNMAP:
		/* No ring of dom0's, or of no domain, is ever mapped. */
		return p->domid == 0 || p->domid >= XS_DOMID_FIRST_RESERVED ? -1
									    : 0;
	case XSP__PRIV_REQUEST__OP__DOMAIN_INFO:
		return p->domid >= XS_DOMID_FIRST_RESERVED ? -1 : 0;
	case XSP__PRIV_REQUEST__OP__LIVE_UPDATE_FILE:
		return p->path == NULL || p->path[0] == '\0' ||
				       strlen(p->path) > LIVEUPDATE_PATH_MAX
			       ? -1
			       : 0;
	case XSP__PRIV_REQUEST__OP__LIVE_UPDATE_EXEC:
		if (p->n_args > LIVEUPDATE_ARGS_MAX)
			return -1;
		for (i = 0; i < p->n_args; i++)
			if (strlen(p->args[i]) > LIVEUPDATE_ARG_MAX)
				return -1;
		return 0;
	default:
		return -1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Xsp__EngineFrame *f;
	const Xsp__ToBroker *m;
	const char *why = NULL;
	uint32_t conn_next;
	size_t i;

	/* The first byte picks how many connections were issued so far. */
	if (size < 1)
		return 0;
	conn_next = 1u + data[0];
	if (engine_frame_check(data + 1, size - 1, conn_next, &f, &why) == -1) {
		if (why == NULL || f != NULL)
			abort();
		return 0;
	}
	for (i = 0; i < f->n_msgs; i++) {
		m = f->msgs[i];
		switch (m->msg_case) {
		case XSP__TO_BROKER__MSG_REPLY:
			if (m->reply->conn == 0 ||
			    m->reply->conn >= conn_next ||
			    m->reply->payload.len > XS_PAYLOAD_MAX ||
			    m->reply->type >= XS_TYPE_COUNT)
				abort();
			break;
		case XSP__TO_BROKER__MSG_REPLIES: {
			const Xsp__Replies *rs = m->replies;
			size_t k, sum = 0;

			if (rs->n_conn == 0 || rs->n_type != rs->n_conn ||
			    rs->n_req_id != rs->n_conn ||
			    rs->n_tx_id != rs->n_conn ||
			    rs->n_len != rs->n_conn)
				abort();
			for (k = 0; k < rs->n_conn; k++) {
				if (rs->conn[k] == 0 ||
				    rs->conn[k] >= conn_next ||
				    rs->len[k] > XS_PAYLOAD_MAX ||
				    rs->type[k] >= XS_TYPE_COUNT)
					abort();
				sum += rs->len[k];
			}
			if (sum != rs->payloads.len)
				abort();
			break;
		}
		case XSP__TO_BROKER__MSG_REPLIES_FIXED: {
			const Xsp__RepliesFixed *rf = m->replies_fixed;
			size_t k, sum = 0;
			struct xs_hdr h;
			uint32_t conn;

			if (rf->n_hdr == 0 || rf->n_hdr % FRAME_FIXED_WORDS)
				abort();
			for (k = 0; k < rf->n_hdr / FRAME_FIXED_WORDS; k++) {
				engine_fixed_at(rf, k, &conn, &h);
				if (conn == 0 || conn >= conn_next ||
				    h.len > XS_PAYLOAD_MAX ||
				    h.type >= XS_TYPE_COUNT)
					abort();
				sum += h.len;
			}
			if (sum != rf->payloads.len)
				abort();
			break;
		}
		case XSP__TO_BROKER__MSG_LOG:
			if (m->log->level > ENGINE_LOG_DEBUG ||
			    strlen(m->log->text) > 4096)
				abort();
			break;
		case XSP__TO_BROKER__MSG_VIOLATION:
			if (m->violation == NULL)
				abort();
			break;
		case XSP__TO_BROKER__MSG_READY:
			if (m->ready == NULL)
				abort();
			break;
		case XSP__TO_BROKER__MSG_FENCE:
			if (m->fence == NULL)
				abort();
			break;
		case XSP__TO_BROKER__MSG_PRIV:
			if (check_priv(m->priv) == -1)
				abort();
			break;
		default:
			abort();
		}
	}
	engine_frame_done(f);
	return 0;
}
