// SPDX-License-Identifier: GPL-2.0-only
/*
 * The broker's ring copy code on a page a hostile guest filled: whatever
 * the indexes say, it must copy no more than the ring and the buffer hold,
 * refuse insane indexes, and never touch memory outside the page.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xs_ring *r = calloc(1, sizeof(*r));
	uint8_t buf[2 * XS_RING_SIZE];
	size_t want;
	ssize_t n;
	uint32_t before, had = 0;

	if (r == NULL)
		abort();
	memcpy((void *)r, data, size < sizeof(*r) ? size : sizeof(*r));
	want = size > 0 ? data[size - 1] * 9u : 0;
	before = r->req_prod - r->req_cons;
	n = ring_read(r, buf, want, &had);
	if (n == -1 ? before <= XS_RING_SIZE
		    : had != before || (size_t)n > want || (size_t)n > before ||
			      (before <= XS_RING_SIZE &&
			       (size_t)n != (want < before ? want : before)))
		abort();
	before = r->rsp_prod - r->rsp_cons;
	n = ring_write(r, buf, want);
	if (n == -1 ? before <= XS_RING_SIZE
		    : (size_t)n > want || (size_t)n > XS_RING_SIZE - before)
		abort();
	free(r);
	return 0;
}
