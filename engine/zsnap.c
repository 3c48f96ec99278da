// SPDX-License-Identifier: GPL-2.0-only
/*
 * zstd for the snapshots in the state memfds (see zsnap.h). Level 1: a
 * million nodes compress in ~50 ms, well within what a compaction may take,
 * and only a little bigger than at slower levels. The frame carries a
 * checksum, so a slot damaged in the broker's memory is refused, not
 * restored as something else.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "zsnap.h"

#define ZSNAP_LEVEL 1
/* The stream comes in small records: zstd gets them in big pieces. */
#define ZSNAP_IN (128u << 10)

struct zsnap {
	ZSTD_CCtx *cx;
	state_out_fn out;
	void *arg;
	uint64_t raw;
	size_t len; /* bytes waiting in in */
	uint8_t in[ZSNAP_IN];
	uint8_t obuf[ZSNAP_IN];
};

struct zsnap *
zsnap_new(state_out_fn out, void *arg)
{
	struct zsnap *z = malloc(sizeof(*z));

	if (z == NULL)
		return NULL;
	z->out = out;
	z->arg = arg;
	z->raw = 0;
	z->len = 0;
	if ((z->cx = ZSTD_createCCtx()) == NULL ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->cx, ZSTD_c_compressionLevel,
						ZSNAP_LEVEL)) ||
	    ZSTD_isError(
		    ZSTD_CCtx_setParameter(z->cx, ZSTD_c_checksumFlag, 1))) {
		zsnap_free(z);
		return NULL;
	}
	return z;
}

/* Compresses what waits in in; with mode ZSTD_e_end, the frame's end. */
static int
drain(struct zsnap *z, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer ib = {z->in, z->len, 0};
	size_t left;
	int r;

	do {
		ZSTD_outBuffer ob = {z->obuf, sizeof(z->obuf), 0};

		left = ZSTD_compressStream2(z->cx, &ob, &ib, mode);
		if (ZSTD_isError(left))
			return -ENOMEM;
		if (ob.pos > 0 && (r = z->out(z->arg, z->obuf, ob.pos)) != 0)
			return r;
	} while (mode == ZSTD_e_end ? left != 0 : ib.pos < ib.size);
	z->len = 0;
	return 0;
}

int
zsnap_put(void *arg, const void *p, size_t n)
{
	struct zsnap *z = arg;
	const uint8_t *b = p;
	size_t k;
	int r;

	z->raw += n;
	while (n > 0) {
		k = sizeof(z->in) - z->len;
		if (k > n)
			k = n;
		memcpy(z->in + z->len, b, k);
		z->len += k;
		b += k;
		n -= k;
		if (z->len == sizeof(z->in) &&
		    (r = drain(z, ZSTD_e_continue)) != 0)
			return r;
	}
	return 0;
}

int
zsnap_end(struct zsnap *z, uint64_t *raw)
{
	*raw = z->raw;
	return drain(z, ZSTD_e_end);
}

void
zsnap_free(struct zsnap *z)
{
	if (z == NULL)
		return;
	ZSTD_freeCCtx(z->cx);
	free(z);
}

/*
 * The first guess at the inflated size: the header's, unless that is more
 * than a real snapshot could be for this frame (they shrink 10-50 times);
 * the buffer grows if the frame really holds more, so a header that lies
 * gets no big allocation for a small frame.
 */
#define ZSNAP_RATIO_MAX 256

uint8_t *
zsnap_inflate(const uint8_t *b, size_t len, uint64_t raw_len, const char **bad)
{
	ZSTD_DCtx *dx;
	ZSTD_inBuffer ib = {b, len, 0};
	uint8_t *raw = NULL, *nr;
	size_t cap, got = 0, r = 1, in0;
	bool moved;

	if (raw_len == 0 || raw_len > SIZE_MAX ||
	    ZSTD_getFrameContentSize(b, len) == ZSTD_CONTENTSIZE_ERROR) {
		*bad = "not a compressed snapshot";
		return NULL;
	}
	cap = len < (SIZE_MAX - (1u << 20)) / ZSNAP_RATIO_MAX
		      ? len * ZSNAP_RATIO_MAX + (1u << 20)
		      : SIZE_MAX;
	if (cap > raw_len)
		cap = (size_t)raw_len;
	if ((dx = ZSTD_createDCtx()) == NULL || (raw = malloc(cap)) == NULL) {
		*bad = "out of memory";
		goto fail;
	}
	for (;;) {
		ZSTD_outBuffer ob;

		if (got == cap && cap < raw_len) {
			cap = cap < (size_t)raw_len / 2 ? cap * 2
							: (size_t)raw_len;
			if ((nr = realloc(raw, cap)) == NULL) {
				*bad = "out of memory";
				goto fail;
			}
			raw = nr;
		}
		ob = (ZSTD_outBuffer){raw, cap, got};
		in0 = ib.pos;
		r = ZSTD_decompressStream(dx, &ob, &ib);
		if (ZSTD_isError(r)) {
			*bad = ZSTD_getErrorCode(r) ==
					       ZSTD_error_memory_allocation
				       ? "out of memory"
				       : "corrupt compressed snapshot";
			goto fail;
		}
		moved = ob.pos != got || ib.pos != in0;
		got = ob.pos;
		if (r == 0 || !moved)
			break; /* the frame's end, or no way on */
	}
	/* One whole frame, with nothing after it, of exactly raw_len. */
	if (r != 0 || got != raw_len || ib.pos != ib.size) {
		*bad = "corrupt compressed snapshot";
		goto fail;
	}
	ZSTD_freeDCtx(dx);
	return raw;
fail:
	ZSTD_freeDCtx(dx);
	free(raw);
	return NULL;
}
