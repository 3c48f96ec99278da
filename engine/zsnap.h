/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A snapshot is kept in the broker's memory compressed (zstd, a fast
 * level): a store's migration stream repeats itself (paths share their
 * prefixes, permissions and values their shapes) and shrinks ~10-50 times,
 * so the state memfds cost a few bytes per node, not the ~64 of the stream.
 * Compression and decompression only allocate memory: no new system call.
 */
#ifndef ZSNAP_H
#define ZSNAP_H

#include <stddef.h>
#include <stdint.h>

#include "state.h"

/* Compresses what is put in and hands the result to out, in pieces. */
struct zsnap;
struct zsnap *zsnap_new(state_out_fn out, void *arg);
/* A state_out_fn: arg is the struct zsnap. */
int zsnap_put(void *arg, const void *p, size_t n);
/* Ends the frame; *raw is how many bytes went in. */
int zsnap_end(struct zsnap *z, uint64_t *raw);
void zsnap_free(struct zsnap *z);

/*
 * The raw bytes of a compressed snapshot that must inflate to exactly
 * raw_len bytes (free() them), or NULL with the reason in *bad: a corrupt
 * or truncated frame is refused by its checksum or its length.
 */
uint8_t *zsnap_inflate(const uint8_t *b, size_t len, uint64_t raw_len,
		       const char **bad);

#endif
