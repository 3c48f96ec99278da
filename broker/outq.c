// SPDX-License-Identifier: GPL-2.0-only
/*
 * A client's queue of replies and watch events: their bytes, header and
 * payload, one after the other in one buffer, and a record of each message
 * beside them. A write seen by a hundred watchers queues a hundred events
 * per loop iteration: a buffer that only grows at its end costs a copy each,
 * where a message allocated and freed each cost more than the rest of
 * handling it. One buffer also leaves the socket one write and the ring one
 * copy, whatever the number of messages.
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "grow.h"

/* Give back a buffer a burst blew up past this once it is empty. */
#define OUTQ_KEEP (64u << 10)

struct outrec {
	uint32_t len; /* header plus payload */
	uint32_t type;
	time_t queued;
};

uint8_t *
outq_push(struct outq *q, uint32_t type, size_t len, time_t now)
{
	struct outrec *r;
	uint8_t *at;
	size_t base;

	/* Empty: start again at the front of both arrays. */
	if (q->n == 0)
		q->off = q->len = q->rhead = 0;
	if (q->len + len > q->cap) {
		/* What is written goes, but for the first message's start. */
		base = q->off - q->head_done;
		if (base > 0) {
			memmove(q->buf, q->buf + base, q->len - base);
			q->len -= base;
			q->off -= base;
		}
		if (grow_room(&q->buf, &q->cap, q->len, len, 1, 4096) == -1)
			return NULL;
	}
	if (q->rhead + q->n == q->rcap) {
		if (q->rhead > 0) {
			memmove(q->rec, q->rec + q->rhead,
				q->n * sizeof(*q->rec));
			q->rhead = 0;
		}
		if (grow_array(&q->rec, &q->rcap, q->n + 1, sizeof(*q->rec),
			       64) == -1)
			return NULL;
	}
	r = &q->rec[q->rhead + q->n++];
	r->len = (uint32_t)len;
	r->type = type;
	r->queued = now;
	at = q->buf + q->len;
	q->len += len;
	q->bytes += len;
	if (type == XS_WATCH_EVENT)
		q->events++;
	return at;
}

/* Drops the first message; returns whether it was a watch event. */
static int
pop(struct outq *q)
{
	const struct outrec *r = &q->rec[q->rhead];
	int event = r->type == XS_WATCH_EVENT;

	q->bytes -= r->len;
	q->events -= (size_t)event;
	q->rhead++;
	q->n--;
	q->head_done = 0;
	return event;
}

static void
shrink(struct outq *q)
{
	if (q->n > 0)
		return;
	q->off = q->len = q->rhead = 0;
	if (q->cap > OUTQ_KEEP) {
		free(q->buf);
		q->buf = NULL;
		q->cap = 0;
	}
	if (q->rcap * sizeof(*q->rec) > OUTQ_KEEP) {
		free(q->rec);
		q->rec = NULL;
		q->rcap = 0;
	}
}

size_t
outq_written(struct outq *q, size_t n)
{
	size_t events = 0, left;

	q->off += n;
	while (n > 0) {
		left = q->rec[q->rhead].len - q->head_done;
		if (n < left) {
			q->head_done += n;
			break;
		}
		n -= left;
		events += (size_t)pop(q);
	}
	shrink(q);
	return events;
}

size_t
outq_clear(struct outq *q)
{
	size_t events = q->events;

	free(q->buf);
	free(q->rec);
	memset(q, 0, sizeof(*q));
	return events;
}

size_t
outq_drop_stale(struct outq *q, time_t now, unsigned int timeout,
		void (*dropped)(void *arg, const uint8_t *msg, size_t len),
		void *arg)
{
	size_t i, k, at, from, dropped_n = 0;
	struct outrec *r;

	if (q->events == 0)
		return 0;
	/*
	 * Keep what stays, in order, sliding it over what goes; the first
	 * message, once partly written, stays whatever it is.
	 */
	at = from = q->off - q->head_done;
	for (i = k = 0; i < q->n; i++) {
		r = &q->rec[q->rhead + i];
		if (r->type == XS_WATCH_EVENT &&
		    !(i == 0 && q->head_done > 0) &&
		    now - r->queued > (time_t)timeout) {
			dropped(arg, q->buf + from, r->len);
			q->bytes -= r->len;
			q->events--;
			dropped_n++;
		} else {
			if (at != from)
				memmove(q->buf + at, q->buf + from, r->len);
			q->rec[q->rhead + k++] = *r;
			at += r->len;
		}
		from += r->len;
	}
	q->n = k;
	q->len = at;
	shrink(q);
	return dropped_n;
}

/* The first message's record, and its length (header and payload). */
const struct outrec *
outq_first(const struct outq *q)
{
	return &q->rec[q->rhead];
}

size_t
outq_rec_len(const struct outrec *r)
{
	return r->len;
}
