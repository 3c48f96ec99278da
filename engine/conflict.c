// SPDX-License-Identifier: GPL-2.0-only
/*
 * Transaction conflicts (XSA-206). A guest that rewrites, as fast as its
 * ring allows, a node that others' transactions read makes their commits
 * fail with EAGAIN, and without a rule of its own could do so for ever.
 * The guest whose change made a commit fail pays for it:
 *
 *  - each change of a guest that makes commits fail costs it
 *    CONFLICT_COST_MS, during which its next changes (outside a
 *    transaction, or a commit) wait; its debt is capped at
 *    CONFLICT_DEBT_MAX_MS. So a guest gets at most 1000 /
 *    CONFLICT_COST_MS changes that break commits through a second, and
 *    one whose changes break nothing is never held back;
 *  - a privileged connection whose commit a guest made fail has its next
 *    transactions protected: while one is open, for CONFLICT_PRIO_MS at
 *    most, the changes of every guest charged since its run of failures
 *    began wait, and after CONFLICT_RUN_ALL failures in a row those of
 *    every guest. dom0's retry then commits, whatever guests write.
 *
 * Who changed a node is known for the last CONFLICT_RING generations, by
 * the generation the change gave the node. A change older than that, if
 * it broke a commit, is counted as a guest's, but charged to nobody.
 */
#include <stdlib.h>
#include <time.h>

#include "engine.h"
#include "store.h"

struct conflict_writer {
	uint64_t gen;
	uint32_t domid;
	bool guest;
};

static uint64_t
conflict_now(struct engine *e)
{
	struct timespec ts;

	if (e->test_now_ms)
		return e->test_now_ms;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
conflict_note_write(struct engine *e, const struct conn *c, uint64_t gen)
{
	struct conflict_writer *w;

	if (e->writers == NULL &&
	    (e->writers = calloc(CONFLICT_RING, sizeof(*w))) == NULL)
		return; /* unknown writers are nobody's debt */
	w = &e->writers[gen % CONFLICT_RING];
	w->gen = gen;
	w->domid = c->domid;
	w->guest = !c->priv && c->domid != 0;
}

/* Who gave a node generation gen, or NULL if that is forgotten. */
static const struct conflict_writer *
conflict_writer(struct engine *e, uint64_t gen)
{
	const struct conflict_writer *w;

	if (e->writers == NULL || gen == 0)
		return NULL;
	w = &e->writers[gen % CONFLICT_RING];
	return w->gen == gen ? w : NULL;
}

void
conflict_failed(struct engine *e, struct txn *t, uint64_t gen)
{
	const struct conflict_writer *w = conflict_writer(e, gen);
	struct conn *c = t->c;
	struct domain *d;
	uint64_t now, from;

	/* dom0's connections among themselves: the toolstack's business. */
	if (w != NULL && !w->guest)
		return;
	/*
	 * A socket_ro client reads every guest's nodes and is untrusted: its
	 * retries get no help, or it could slow or hold every guest.
	 */
	if (c->ro)
		return;
	if (c->conflict_run++ == 0)
		c->conflict_seq = e->conflict_seq + 1;
	if (w == NULL || w->domid == c->domid ||
	    (d = domain_get(e, w->domid, false)) == NULL)
		return;
	/* One change pays once, however many commits it broke. */
	if (d->conflict_gen == gen)
		return;
	now = conflict_now(e);
	from = d->conflict_until > now ? d->conflict_until : now;
	d->conflict_until = from + CONFLICT_COST_MS;
	if (d->conflict_until > now + CONFLICT_DEBT_MAX_MS)
		d->conflict_until = now + CONFLICT_DEBT_MAX_MS;
	d->conflict_gen = gen;
	d->conflict_seq = ++e->conflict_seq;
	elog(e, LOG_LVL_DEBUG,
	     "domain %u: its change made a commit of connection %u fail",
	     d->domid, c->id);
}

void
conflict_txn_start(struct engine *e, struct txn *t)
{
	struct conn *c = t->c;

	if (!quota_free(c) || c->conflict_run == 0)
		return;
	t->prio_seq = c->conflict_seq;
	t->prio_all = c->conflict_run >= CONFLICT_RUN_ALL;
	t->prio_until = conflict_now(e) + CONFLICT_PRIO_MS;
	t->prio_next = e->prio_txns;
	e->prio_txns = t;
}

void
conflict_txn_end(struct engine *e, struct txn *t, int r)
{
	struct txn **pp;

	if (r == 0)
		t->c->conflict_run = 0;
	for (pp = &e->prio_txns; *pp; pp = &(*pp)->prio_next)
		if (*pp == t) {
			/* What it held goes once the replies are out. */
			*pp = t->prio_next;
			e->hold_wake = 1;
			return;
		}
}

/* Until when the domain's changes wait; 0 if they may go now. */
static uint64_t
conflict_hold_until(struct engine *e, struct domain *d)
{
	const struct txn *t;
	uint64_t now;

	if (d->conflict_until == 0 && e->prio_txns == NULL)
		return 0; /* the usual case: no clock read */
	now = conflict_now(e);
	if (d->conflict_until > now)
		return d->conflict_until;
	d->conflict_until = 0;
	for (t = e->prio_txns; t; t = t->prio_next)
		if (now < t->prio_until &&
		    (t->prio_all || d->conflict_seq >= t->prio_seq))
			return t->prio_until;
	return 0;
}

bool
conflict_hold(struct engine *e, struct conn *c)
{
	uint64_t until;

	if (c->priv || c->domid == 0 || c->dom == NULL)
		return false;
	if ((until = conflict_hold_until(e, c->dom)) == 0)
		return false;
	if (e->hold_wake == 0 || until < e->hold_wake)
		e->hold_wake = until;
	return true;
}

int
conflict_wait_ms(struct engine *e)
{
	uint64_t now;

	if (e->hold_wake == 0)
		return -1;
	now = conflict_now(e);
	return e->hold_wake <= now ? 0 : (int)(e->hold_wake - now);
}

void
conflict_tick(struct engine *e)
{
	if (e->hold_wake == 0 || conflict_now(e) < e->hold_wake)
		return;
	/* Those still held set the next wake-up as they park again. */
	e->hold_wake = 0;
	park_resume_held(e);
}
