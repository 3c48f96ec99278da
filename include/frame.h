/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Length-prefixed frames on the broker <-> engine channel: a 4-byte
 * big-endian length, then that many bytes of one packed protobuf message.
 * These helpers move bytes only; what a frame may contain is checked by the
 * receiving side (broker/engine_chan.c, engine/chan.c).
 */
#ifndef FRAME_H
#define FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#define FRAME_HDR_SIZE 4u
/* Far above any honest batch; a peer that announces more is broken. */
#define FRAME_MAX (8u << 20)
/* ConnSync.features: the broker reads Replies. */
#define FRAME_FEATURE_REPLIES 0x1u
/* ConnSync.features: the broker reads RepliesFixed. */
#define FRAME_FEATURE_REPLIES_FIXED 0x2u
/* Words of one RepliesFixed entry: conn, then an xsd_sockmsg. */
#define FRAME_FIXED_WORDS 5u

struct frame_in {
	uint8_t *buf;
	size_t len; /* bytes buffered */
	size_t off; /* start of the first unconsumed frame */
	size_t cap;
};

struct frame_out {
	uint8_t *buf;
	size_t len; /* bytes queued */
	size_t off; /* bytes already written */
	size_t cap;
};

/*
 * Reads what the fd has. Returns >0 bytes read, 0 at end of file, -1 on
 * error with errno set (EAGAIN when nothing is there on a non-blocking fd).
 */
ssize_t frame_in_fill(struct frame_in *in, int fd);

/*
 * Returns 1 and points the data and len out-parameters at the next whole
 * frame's body (valid until the next fill), 0 if no whole frame is buffered, -1
 * if the peer announced a frame larger than FRAME_MAX.
 */
int frame_in_next(struct frame_in *in, const uint8_t **data, size_t *len);

void frame_in_free(struct frame_in *in);

/* Appends one packed message with its length prefix. Returns 0 or -1. */
int frame_out_pack(struct frame_out *out, const ProtobufCMessage *msg);

/*
 * Writes what it can. Returns 0 when everything queued is written, 1 when
 * some remains (the fd would block), -1 on error with errno set.
 */
int frame_out_flush(struct frame_out *out, int fd);

static inline int
frame_out_pending(const struct frame_out *out)
{
	return out->off < out->len;
}

void frame_out_free(struct frame_out *out);

/*
 * The allocator a frame is decoded with (frame_arena.c): pass &a.pb to
 * unpack, then frame_arena_reset() instead of free_unpacked() once the
 * frame is acted on. Nothing of a frame may be kept past that.
 */
struct arena_chunk;
struct frame_arena {
	ProtobufCAllocator pb;
	struct arena_chunk *chunks; /* the newest first */
	size_t used;                /* of the newest */
	size_t total;               /* taken by this frame */
	size_t hint;                /* the chunk size the last frame needed */
	size_t limit;               /* most one frame may take; 0: none */
};

/*
 * Most the broker lets one engine frame take decoded. Honest frames take
 * about their own size (packed arrays and bytes); a frame of millions of
 * tiny messages would take tens of times its size, a message struct each.
 */
#define FRAME_DECODE_MAX (8u * FRAME_MAX)

void frame_arena_init(struct frame_arena *);
void frame_arena_reset(struct frame_arena *);

#endif
