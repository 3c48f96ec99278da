// SPDX-License-Identifier: GPL-2.0-only
/*
 * Connection ids. They are 32-bit, as the engine and the migration stream
 * know them, and a client may open and close connections in a loop: ids
 * must come back, or a socket_ro client could use them all up in a day and
 * lock every new client out. An id may be given again only once the
 * engine can no longer name the connection that had it (a late reply or
 * watch event would reach the new one). The engine answers messages in
 * order, so after it echoes a Fence sent after a ConnClose, it will never
 * name that connection again: each closed id waits for the first Fence
 * sent after its close to come back. An engine that dies forgets them all.
 *
 * Ids are handed out in order from 1 while there are new ones; after the
 * last, a free id is searched from where the last search stopped, skipping
 * ids in use and ids not yet fenced.
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "grow.h"

/* More closed ids than this waiting for a fence are not kept. */
#define CONNID_WAITING_MAX 65536u
/*
 * This many new ids before the last, closed ids start to be kept and a
 * fence goes for those closed before: by the time new ids run out it has
 * long come back, and no connection waits for one.
 */
#define CONNID_RESERVE 4096u

struct waiting {
	uint32_t id;
	uint64_t fence; /* the fence that frees it */
};

static uint32_t next_new = 1; /* 0: every id was handed out once */
static int keeping;           /* closed ids are kept to be given again */
static uint32_t scan = 1;     /* where the search for a free id resumes */
static struct waiting *waiting;
static size_t nwaiting, waiting_cap;
static uint64_t fence_next = 1; /* the next fence's number */
static uint64_t fence_sent;     /* the last sent, 0: none */
static uint64_t fence_answered; /* the last echoed */
/* The fence to come back before any closed id is given again. */
static uint64_t wrap_fence;
static int (*in_use)(uint32_t id);

/* Closed ids from now on are kept; those closed before wait for a fence. */
static void
keep_closed(void)
{
	if (keeping)
		return;
	keeping = 1;
	wrap_fence = fence_next;
}

void
connid_init(uint32_t first, int (*used)(uint32_t))
{
	next_new = first == 0 ? 1 : first;
	/* Ids below first were never given: the search starts at it. */
	scan = next_new;
	in_use = used;
	if (next_new >= UINT32_MAX - CONNID_RESERVE)
		keep_closed();
}

int
connid_wrapped(void)
{
	return next_new == 0;
}

/* The ids the engine may name: every one, once they have wrapped. */
uint32_t
connid_limit(void)
{
	return next_new == 0 ? UINT32_MAX : next_new;
}

static int
is_waiting(uint32_t id)
{
	size_t i;

	for (i = 0; i < nwaiting; i++)
		if (waiting[i].id == id)
			return 1;
	return 0;
}

uint32_t
connid_take(void)
{
	static int said;
	uint32_t id, tries;

	if (next_new != 0) {
		id = next_new++;
		if (next_new >= UINT32_MAX - CONNID_RESERVE)
			keep_closed();
		if (next_new == UINT32_MAX)
			next_new = 0;
		return id;
	}
	if (fence_answered < wrap_fence)
		return 0;
	if (!said++)
		log_warnx("every connection id was used once: ids of closed "
			  "connections are given again once the engine has "
			  "forgotten them");
	/* Never more than the waiting ids and the live ones to skip. */
	for (tries = 0; tries < UINT32_MAX - 1; tries++) {
		id = scan;
		scan = scan >= UINT32_MAX - 1 ? 1 : scan + 1;
		if (!in_use(id) && !is_waiting(id))
			return id;
	}
	return 0;
}

/*
 * The connection with id is closed, its ConnClose queued. Past
 * CONNID_WAITING_MAX ids waiting, the id is not kept: it is lost, no harm
 * with four billion, and what an engine that echoes nothing makes the
 * broker hold stays bounded.
 */
void
connid_retire(uint32_t id)
{
	if (!keeping)
		return; /* new ids remain: this one need not come back */
	if (nwaiting == waiting_cap) {
		if (waiting_cap >= CONNID_WAITING_MAX)
			return;
		if (grow_array(&waiting, &waiting_cap, nwaiting + 1,
			       sizeof(*waiting), 64) == -1)
			return;
	}
	waiting[nwaiting].id = id;
	waiting[nwaiting].fence = fence_next;
	nwaiting++;
}

/*
 * Whether a fence should go now: ids wait for one not yet sent, and none
 * is in flight (one at a time keeps what the engine can make us hold to
 * one number).
 */
uint64_t
connid_fence_due(void)
{
	if (fence_sent != fence_answered)
		return 0;
	if (wrap_fence != fence_next &&
	    (nwaiting == 0 || waiting[nwaiting - 1].fence != fence_next))
		return 0;
	fence_sent = fence_next++;
	return fence_sent;
}

/* The engine echoed fence n. Returns -1 if it was not the one in flight. */
int
connid_fence_echoed(uint64_t n)
{
	size_t i, k;

	if (n == 0 || n != fence_sent || n == fence_answered)
		return -1;
	fence_answered = n;
	for (i = 0, k = 0; i < nwaiting; i++)
		if (waiting[i].fence > n)
			waiting[k++] = waiting[i];
	nwaiting = k;
	return 0;
}

/* The engine is gone: it names nothing any more, and owes no echo. */
void
connid_engine_gone(void)
{
	nwaiting = 0;
	fence_answered = fence_sent;
}
