// SPDX-License-Identifier: GPL-2.0-only
/*
 * Requests that wait for the broker. The engine never blocks: a handler
 * that needs the broker (to map a ring, or to learn whether a domain
 * exists) returns EPARK before it has changed anything; the request is kept,
 * the broker is asked, and the connection's later requests queue behind it
 * so that its replies stay in order. The answer runs the request again.
 * A guest's change held back for its conflicts (conflict.c) waits the same
 * way, for no answer: conflict_tick() runs it again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "journal.h"
#include "xs_proto.h"

struct parked {
	struct parked *next;
	int op; /* what it waits for */
	uint32_t domid;
	uint32_t type, req_id, tx_id;
	uint64_t seq;                /* the broker's number, for the journal */
	struct priv_answer *answers; /* the broker's, so far */
	size_t nanswer;
	size_t len;
	char payload[];
};

static struct parked *
parked_new(uint32_t type, uint32_t req_id, uint32_t tx_id, const void *payload,
	   size_t len)
{
	struct parked *p = malloc(sizeof(*p) + len);

	if (p == NULL)
		return NULL;
	p->next = NULL;
	p->op = 0;
	p->domid = 0;
	p->type = type;
	p->req_id = req_id;
	p->tx_id = tx_id;
	p->seq = 0;
	p->answers = NULL;
	p->nanswer = 0;
	p->len = len;
	if (len)
		memcpy(p->payload, payload, len);
	return p;
}

static void
parked_free(struct parked *p)
{
	free(p->answers);
	free(p);
}

static const struct priv_answer *
answer_for(const struct engine *e, int op, uint32_t domid)
{
	size_t i;

	for (i = 0; i < e->nanswer; i++)
		if (e->answer[i].op == op && e->answer[i].domid == domid)
			return &e->answer[i];
	return NULL;
}

int
priv_ask(struct engine *e, int op, uint32_t domid, uint64_t gfn, uint32_t port,
	 uint32_t features, struct priv_answer *out)
{
	const struct priv_answer *a = answer_for(e, op, domid);
	struct domain *d;

	if (a) {
		*out = *a;
	} else if (e->priv == NULL) {
		/*
		 * No broker (unit tests) or no hypervisor behind it: nothing
		 * to map, and no domain beyond what the store knows.
		 */
		*out = (struct priv_answer){op, domid, 0, false, false, false};
	} else {
		e->need.op = op;
		e->need.domid = domid;
		e->need.gfn = gfn;
		e->need.port = port;
		e->need.features = features;
		e->need.len = 0;
		return EPARK;
	}
	if (op == PRIV_DOMAIN_INFO && out->exists && !out->dying &&
	    (d = domain_get(e, domid, true)) != NULL)
		d->hv_exists = true;
	return 0;
}

int
priv_ask_str(struct engine *e, int op, const char *str, size_t len,
	     struct priv_answer *out)
{
	if (len > XS_PAYLOAD_MAX)
		return EINVAL;
	if (e->nanswer && e->answer[e->nanswer - 1].op == op) {
		*out = e->answer[e->nanswer - 1];
		return 0;
	}
	if (e->priv == NULL) {
		/* No broker: nobody could start another engine. */
		*out = (struct priv_answer){op, 0, ENOSYS, false, false, false};
		return 0;
	}
	e->need.op = op;
	e->need.domid = 0;
	e->need.gfn = 0;
	e->need.port = 0;
	e->need.features = 0;
	memcpy(e->need.str, str, len);
	e->need.len = len;
	return EPARK;
}

void
priv_tell(struct engine *e, int op, uint32_t domid)
{
	/* Id 0: no request waits for this answer. */
	if (e->priv)
		e->priv(e->cb_arg, 0, op, domid, 0, 0, 0, "", 0);
}

void
priv_tell_str(struct engine *e, int op, const char *str, size_t len)
{
	if (e->priv)
		e->priv(e->cb_arg, 0, op, 0, 0, 0, 0, str, len);
}

static uint32_t
park_ask(struct engine *e, struct conn *c, struct parked *p)
{
	uint32_t id;

	do
		id = ++e->priv_next;
	while (id == 0);
	if (hmap_put(&e->priv_waiting, &id, sizeof(id),
		     (void *)(uintptr_t)c->id) == -1)
		return 0;
	p->op = e->need.op;
	p->domid = e->need.domid;
	e->priv(e->cb_arg, id, e->need.op, e->need.domid, e->need.gfn,
		e->need.port, e->need.features, e->need.str, e->need.len);
	return id;
}

/*
 * Runs the connection's queued requests until one parks again; each runs
 * with the answers it had (only the first can have any; a, if given, is
 * its latest). One held for its conflicts keeps them for when it runs.
 */
static void
park_run(struct engine *e, struct conn *c, const struct priv_answer *a)
{
	struct parked *p;
	int r;

	while ((p = c->park_head) != NULL) {
		e->answer = p->answers;
		e->nanswer = p->nanswer;
		if (a && p->nanswer == 0) {
			/* No room to keep it: this one alone, as it came. */
			e->answer = a;
			e->nanswer = 1;
		}
		journal_begin(e, p->seq, c->id);
		r = request_dispatch(e, c, p->type, p->req_id, p->tx_id,
				     p->payload, p->len);
		journal_end(e);
		e->answer = NULL;
		e->nanswer = 0;
		a = NULL; /* the answers were for the first one only */
		if (r == EHOLD) {
			p->op = 0; /* the next tick or release runs it again */
			return;
		}
		if (r == EPARK) {
			if (park_ask(e, c, p) == 0) {
				static const char nomem[] = "ENOMEM";

				e->emit(e->cb_arg, c->id, XS_ERROR, p->req_id,
					p->tx_id, nomem, sizeof(nomem));
			} else {
				return;
			}
		}
		c->park_head = p->next;
		if (c->park_head == NULL)
			c->park_tail = NULL;
		parked_free(p);
	}
}

/*
 * Keeps an answer with the request that asked: one that needs to know of
 * several domains asks for each in turn, and runs again with all. A
 * request asks for a domain once, so these stay as few as the domains it
 * names.
 */
static void
parked_keep(struct parked *p, const struct priv_answer *a)
{
	struct priv_answer *v =
		realloc(p->answers, (p->nanswer + 1) * sizeof(*v));

	if (v == NULL) {
		free(p->answers);
		p->answers = NULL;
		p->nanswer = 0;
		return;
	}
	v[p->nanswer++] = *a;
	p->answers = v;
}

void
engine_request(struct engine *e, uint32_t cid, uint32_t type, uint32_t req_id,
	       uint32_t tx_id, const void *payload, size_t len)
{
	struct conn *c = engine_conn(e, cid);
	struct stored_reply *sr;
	struct parked *p;
	int r = EPARK;

	if (c == NULL)
		return; /* the broker checked; a closed connection's leftover */
	if (e->replies.used > 0 && e->seq != 0 &&
	    (sr = hmap_del(&e->replies, &e->seq, sizeof(e->seq))) != NULL) {
		/* Sent again after a restart: it took effect already. */
		e->emit(e->cb_arg, cid, sr->type & ~REPLY_LIVE_UPDATE, req_id,
			tx_id, sr->data, sr->len);
		free(sr);
		return;
	}
	if (c->park_head == NULL &&
	    (r = request_dispatch(e, c, type, req_id, tx_id, payload, len)) ==
		    0)
		return;
	p = parked_new(type, req_id, tx_id, payload, len);
	if (p == NULL) {
		static const char nomem[] = "ENOMEM";

		e->emit(e->cb_arg, cid, XS_ERROR, req_id, tx_id, nomem,
			sizeof(nomem));
		return;
	}
	p->seq = e->seq;
	if (c->park_head) {
		c->park_tail->next = p;
		c->park_tail = p;
		return;
	}
	c->park_head = c->park_tail = p;
	if (r == EHOLD)
		return; /* waits for no answer: conflict_tick runs it */
	if (park_ask(e, c, p) == 0) {
		c->park_head = c->park_tail = NULL;
		parked_free(p);
		e->emit(e->cb_arg, cid, XS_ERROR, req_id, tx_id, "ENOMEM",
			sizeof("ENOMEM"));
	}
}

void
engine_priv_reply(struct engine *e, uint32_t id, const struct priv_answer *a)
{
	void *v = hmap_del(&e->priv_waiting, &id, sizeof(id));
	struct priv_answer ans = *a;
	struct conn *c;

	if (v == NULL)
		return; /* one nobody waits for (priv_tell), or a closed conn */
	c = engine_conn(e, (uint32_t)(uintptr_t)v);
	if (c == NULL || c->park_head == NULL || c->park_head->op == 0)
		return;
	ans.op = c->park_head->op;
	ans.domid = c->park_head->domid;
	parked_keep(c->park_head, &ans);
	park_run(e, c, &ans);
}

void
park_drop(struct engine *e, struct conn *c)
{
	struct parked *p;

	while ((p = c->park_head) != NULL) {
		c->park_head = p->next;
		parked_free(p);
	}
	c->park_tail = NULL;
}

void
park_resume_held(struct engine *e)
{
	size_t i = 0;
	void *v;

	while (hmap_next(&e->conns, &i, NULL, NULL, &v)) {
		struct conn *c = v;

		if (c->park_head != NULL && c->park_head->op == 0)
			park_run(e, c, NULL);
	}
}
