// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every request handed to the engine, kept until its reply arrives, so that
 * a restarted engine can be given again whatever its predecessor died
 * without answering. Pure: no I/O, no globals.
 *
 * The engine answers each connection's requests in order, so a reply that
 * is not a watch event always answers the oldest unanswered request of its
 * connection: one FIFO per connection. A global list in seq order gives the
 * order in which to send them again.
 *
 * A request still unanswered when an engine dies is a suspect: it may be
 * what killed it. A suspect is sent again alone (nothing else is in flight
 * with it), so that if the next engine dies too, the one request it was
 * working on is known. A request that was in flight at REPLAY_POISON deaths
 * is not sent again; its connection is dropped instead.
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"

void
replay_init(struct replay *r)
{
	TAILQ_INIT(&r->all);
	TAILQ_INIT(&r->asks);
	r->unsent = NULL;
	r->count = 0;
	r->bytes = 0;
}

void
replay_conn_init(struct replay_conn *rc)
{
	TAILQ_INIT(&rc->q);
}

struct replay_req *
replay_add(struct replay *r, struct replay_conn *rc, uint64_t seq,
	   uint32_t conn, uint32_t domid, const struct xs_hdr *hdr,
	   const uint8_t *payload)
{
	struct replay_req *q;

	if ((q = malloc(sizeof(*q) + hdr->len)) == NULL)
		return NULL;
	q->rc = rc;
	q->seq = seq;
	q->conn = conn;
	q->domid = domid;
	q->hdr = *hdr;
	q->deaths = 0;
	q->sent = 0;
	q->ask = 0;
	q->ask_used = 0;
	if (hdr->len > 0)
		memcpy(q->payload, payload, hdr->len);
	TAILQ_INSERT_TAIL(&r->all, q, all);
	TAILQ_INSERT_TAIL(&rc->q, q, per);
	if (r->unsent == NULL)
		r->unsent = q;
	r->count++;
	r->bytes += sizeof(*q) + hdr->len;
	return q;
}

static void
replay_remove(struct replay *r, struct replay_req *q)
{
	if (r->unsent == q)
		r->unsent = TAILQ_NEXT(q, all);
	TAILQ_REMOVE(&r->all, q, all);
	TAILQ_REMOVE(&q->rc->q, q, per);
	if (q->ask)
		TAILQ_REMOVE(&r->asks, q, asks);
	r->count--;
	r->bytes -= sizeof(*q) + q->hdr.len;
	free(q);
}

/*
 * Sent entries are a prefix of the list (they go in seq order), so the
 * head is in flight exactly when it is not the first unsent one.
 */
struct replay_req *
replay_next(struct replay *r)
{
	struct replay_req *head = TAILQ_FIRST(&r->all), *q = r->unsent;

	if (q == NULL)
		return NULL;
	if (head == q)
		return q;
	/* Something is in flight: a suspect waits, and so does all after one.
	 */
	if (q->deaths > 0 || head->deaths > 0)
		return NULL;
	return q;
}

void
replay_sent(struct replay *r, struct replay_req *q)
{
	q->sent = 1;
	r->unsent = TAILQ_NEXT(q, all);
}

int
replay_answer(struct replay *r, struct replay_conn *rc, uint32_t req_id)
{
	struct replay_req *q = TAILQ_FIRST(&rc->q);

	if (q == NULL || !q->sent)
		return REPLAY_UNASKED;
	if (q->hdr.req_id != req_id)
		return REPLAY_MISMATCH;
	replay_remove(r, q);
	return REPLAY_OK;
}

void
replay_conn_drop(struct replay *r, struct replay_conn *rc)
{
	struct replay_req *q;

	while ((q = TAILQ_FIRST(&rc->q)) != NULL)
		replay_remove(r, q);
}

/*
 * The engine is gone: what it was given is to be sent again from the
 * start. When it died (rather than being stopped for an update), each
 * request it had counts one more death. Returns how many have now reached
 * REPLAY_POISON.
 */
size_t
replay_engine_gone(struct replay *r, int died)
{
	struct replay_req *q;
	size_t poisoned = 0;

	TAILQ_FOREACH(q, &r->all, all)
	{
		if (q->sent && died && ++q->deaths >= REPLAY_POISON)
			poisoned++;
		q->sent = 0;
		/* Whatever the next engine does for it is asked anew. */
		q->ask_used = 0;
	}
	r->unsent = TAILQ_FIRST(&r->all);
	return poisoned;
}

struct replay_req *
replay_first(struct replay *r)
{
	return TAILQ_FIRST(&r->all);
}

struct replay_req *
replay_after(struct replay_req *q)
{
	return TAILQ_NEXT(q, all);
}

/*
 * Marks q as asking for something only the broker can grant (ASK_* of
 * broker/authority.c); found again by replay_asks_first() until answered.
 */
void
replay_set_ask(struct replay *r, struct replay_req *q, uint8_t ask)
{
	if (q->ask || !ask)
		return;
	q->ask = ask;
	TAILQ_INSERT_TAIL(&r->asks, q, asks);
}

struct replay_req *
replay_asks_first(struct replay *r)
{
	return TAILQ_FIRST(&r->asks);
}

struct replay_req *
replay_ask_after(struct replay_req *q)
{
	return TAILQ_NEXT(q, asks);
}
