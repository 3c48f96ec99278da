/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A store with a journal, as xs-engine runs one, for the tests of crash
 * recovery: two memfds for the state, an engine attached to them with
 * connection 1 (dom0) open, and requests numbered as chan.c numbers them.
 */
#ifndef JOURNAL_FIX_H
#define JOURNAL_FIX_H

#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "journal.h"
#include "state.h"

struct fix {
	struct harness *h;
	int fd[2];
	uint64_t seq;
	/* As xs-engine runs: an ended transaction is freed between batches. */
	bool defer_free;
};

/* An engine on the fixture's state fds, as xs-engine starts one. */
static inline struct harness *
start(struct fix *f)
{
	struct harness *h = calloc(1, sizeof(*h));
	char why[256];

	assert_non_null(h);
	h->e = engine_new(h_emit, h_log, h);
	assert_non_null(h->e);
	if (journal_attach(&h->e, f->fd[0], f->fd[1], NULL, 0, why,
			   sizeof(why)) != 0)
		fail_msg("attach: %s", why);
	h->e->defer_free = f->defer_free;
	return h;
}

/* A request as chan.c hands it over: numbered, in its own group. */
static inline struct h_msg *
jreq(struct fix *f, uint32_t conn, uint32_t tx, uint32_t type, const char *spec)
{
	struct h_msg *m;

	f->h->e->seq = ++f->seq;
	journal_begin(f->h->e, f->seq, conn);
	m = h_req(f->h, conn, tx, type, spec);
	journal_end(f->h->e);
	f->h->e->seq = 0;
	return m;
}

static inline void
jexpect(struct fix *f, uint32_t conn, uint32_t tx, uint32_t type,
	const char *spec, const char *want)
{
	struct h_msg *m = jreq(f, conn, tx, type, spec);

	if (strcmp(h_show(m), want) != 0)
		fail_msg("%u %s: want %s, got %s", type, spec, want, h_show(m));
}

static inline void
jopen(struct fix *f, uint32_t conn, uint32_t domid, bool priv)
{
	journal_begin(f->h->e, 0, 0);
	assert_int_equal(engine_conn_open(f->h->e, conn, domid, priv, false),
			 0);
	journal_end(f->h->e);
}

static inline void
setup_with(struct fix *f, bool defer_free)
{
	f->defer_free = defer_free;
	f->fd[0] = memfd_create("xs-state-a", MFD_CLOEXEC);
	f->fd[1] = memfd_create("xs-state-b", MFD_CLOEXEC);
	assert_true(f->fd[0] >= 0 && f->fd[1] >= 0);
	f->seq = 0;
	f->h = start(f);
	assert_false(journal_restored(f->h->e));
	jopen(f, 1, 0, true);
}

static inline void
setup(struct fix *f)
{
	setup_with(f, false);
}

static inline void
teardown(struct fix *f)
{
	h_free(f->h);
	close(f->fd[0]);
	close(f->fd[1]);
}

/* The store as a migration stream, exactly (the journal's own records). */
static inline void
dump(struct engine *e, struct buf *b)
{
	b->len = 0;
	assert_int_equal(state_dump(e, collect, b, false), 0);
}

#endif
