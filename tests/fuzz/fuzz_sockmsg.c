// SPDX-License-Identifier: GPL-2.0-only
/*
 * The broker's framing of client bytes: whatever arrives, sockmsg_parse()
 * must never read past the buffer, and must cut the same messages whether
 * the bytes come in one piece or trickle in.
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Cuts data into messages; returns how many, or -1 after a bad header. */
static long
cut(const uint8_t *data, size_t size, size_t step, size_t *consumed)
{
	struct xs_hdr hdr;
	size_t off = 0, avail = 0;
	long n, count = 0;

	for (;;) {
		n = sockmsg_parse(data + off, avail - off, &hdr);
		if (n == SOCKMSG_BAD) {
			if (hdr.len <= XS_PAYLOAD_MAX)
				abort();
			*consumed = off;
			return -1;
		}
		if (n == SOCKMSG_MORE) {
			if (avail == size)
				break;
			/* Feed the next few bytes, as short reads would. */
			avail = avail + step < size ? avail + step : size;
			continue;
		}
		if (n < (long)XS_HDR_SIZE ||
		    (size_t)n > XS_HDR_SIZE + XS_PAYLOAD_MAX ||
		    (size_t)n != XS_HDR_SIZE + hdr.len ||
		    (size_t)n > avail - off)
			abort();
		off += (size_t)n;
		count++;
	}
	*consumed = off;
	return count;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t whole_off, trickle_off;
	long whole, trickle;
	uint8_t *copy;

	/* An exact-size heap copy, so ASan sees any read past the end. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	whole = cut(copy, size, size ? size : 1, &whole_off);
	trickle = cut(copy, size, 1 + (size & 7), &trickle_off);
	if (whole != trickle || whole_off != trickle_off)
		abort();
	free(copy);
	return 0;
}
