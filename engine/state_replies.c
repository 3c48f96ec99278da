// SPDX-License-Identifier: GPL-2.0-only
/*
 * Replies kept in the engine's state for requests the broker may send
 * again after a restart, so that a request is answered once, however many
 * engines it meets.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state_int.h"
#include "store.h"
#include "xs_proto.h"

/*
 * The requests the broker sends again: only their replies are kept. The
 * broker lists them in the order it sends them, by number; a list out of
 * order is searched from end to end.
 */
static const uint64_t *want;
static size_t nwant;
static bool filtering, want_sorted;

void
state_reply_filter(const uint64_t *seqs, size_t n)
{
	size_t i;

	want = seqs;
	nwant = n;
	filtering = seqs != NULL || n > 0;
	want_sorted = true;
	for (i = 1; i < n && want_sorted; i++)
		want_sorted = seqs[i - 1] < seqs[i];
}

static int
seq_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Asked for every group of a journal: no scan of the list each time. */
static bool
wanted(uint64_t seq)
{
	size_t i;

	if (!filtering)
		return true;
	if (want_sorted)
		return bsearch(&seq, want, nwant, sizeof(*want), seq_cmp) !=
		       NULL;
	for (i = 0; i < nwant; i++)
		if (want[i] == seq)
			return true;
	return false;
}

int
restore_x_reply(struct engine *e, struct cur *c, const char **bad)
{
	uint64_t seq;
	uint32_t type, len;

	if (take(c, &seq, 8) || take32(c, &type) || take32(c, &len) ||
	    len > XS_PAYLOAD_MAX || c->left < len) {
		*bad = "bad reply record";
		return -1;
	}
	if (state_keep_reply(e, seq, type, c->p, len) == -1) {
		*bad = "out of memory";
		return -1;
	}
	return 0;
}

int
state_keep_reply(struct engine *e, uint64_t seq, uint32_t type,
		 const void *payload, size_t len)
{
	struct stored_reply *sr;

	if (!wanted(seq))
		return 0;
	if ((sr = malloc(sizeof(*sr) + len)) == NULL)
		return -1;
	sr->type = type;
	sr->len = (uint32_t)len;
	memcpy(sr->data, payload, len);
	free(hmap_del(&e->replies, &seq, sizeof(seq)));
	if (hmap_put(&e->replies, &seq, sizeof(seq), sr) == -1) {
		free(sr);
		return -1;
	}
	return 0;
}
