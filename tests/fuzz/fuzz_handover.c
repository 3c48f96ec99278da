// SPDX-License-Identifier: GPL-2.0-only
/*
 * The broker's check of a stream for C xenstored 4.17: whatever the engine
 * wrote, handover_records_check() must never read past it, and what it
 * takes must be what 4.17 walks safely: from the preamble to END, records
 * of NODE_DATA and WATCH_DATA only, each a whole number of 8 octets.
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "xs_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The broker's first connection ids, as in the seeds the engine wrote. */
static const uint32_t ids[] = {1, 2, 3, 4, 5, 6, 7, 8};

/* Walks the body as 4.17 does, by each record's length alone. */
static void
walk(const uint8_t *b, size_t off, size_t blen, size_t size)
{
	size_t at = off;
	uint32_t h[2];

	if (off != 16 || off + blen + 8 != size)
		abort();
	while (at < off + blen) {
		if (off + blen - at < 8)
			abort();
		memcpy(h, b + at, 8);
		if ((h[0] != REC_NODE_DATA && h[0] != REC_WATCH_DATA) ||
		    h[1] % 8 != 0 || h[1] > off + blen - at - 8)
			abort();
		at += 8 + h[1];
	}
	memcpy(h, b + at, 8);
	if (at != off + blen || h[0] != REC_END || h[1] != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of its exact size: a read past it is ASan's to catch. */
	uint8_t *b = malloc(size ? size : 1);
	size_t off, blen;

	if (b == NULL)
		return 0;
	memcpy(b, data, size);
	if (handover_records_check(b, size, ids, 8, &off, &blen) == NULL)
		walk(b, off, blen, size);
	free(b);
	return 0;
}
