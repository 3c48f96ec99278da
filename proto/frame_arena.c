// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where a decoded frame lives. protobuf-c allocates each message, each
 * repeated field and each bytes value of a frame on its own, and frees them
 * one by one; a batch of a hundred requests cost the receiver more in
 * malloc() and free() than in decoding. Everything of a frame dies at once,
 * so it comes from one block and goes with one reset.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>

#include "frame.h"

/*
 * Under AddressSanitizer, what a reset forgets is poisoned: a piece of a
 * frame used after its frame is a use-after-free there, as with malloc.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#endif
#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* A chunk kept across frames: big enough for any usual batch. */
#define ARENA_MIN (64u << 10)
/* More than this is given back after the frame that needed it. */
#define ARENA_KEEP_MAX (1u << 20)

struct arena_chunk {
	struct arena_chunk *next;
	size_t cap;
	alignas(max_align_t) unsigned char data[];
};

static void *
arena_alloc(void *arg, size_t size)
{
	struct frame_arena *a = arg;
	struct arena_chunk *c = a->chunks;
	size_t al = alignof(max_align_t), cap;
	void *p;

	size = (size + al - 1) & ~(al - 1);
	if (size == 0)
		size = al;
	/* The decoder then fails, as if out of memory: the frame is bad. */
	if (a->limit != 0 && size > a->limit - a->total)
		return NULL;
	if (c == NULL || c->cap - a->used < size) {
		cap = a->hint > ARENA_MIN ? a->hint : ARENA_MIN;
		if (c != NULL && c->cap * 2 > cap)
			cap = c->cap * 2;
		if (cap < size)
			cap = size;
		if ((c = malloc(sizeof(*c) + cap)) == NULL)
			return NULL;
		c->cap = cap;
		POISON(c->data, cap);
		c->next = a->chunks;
		a->chunks = c;
		a->used = 0;
	}
	p = c->data + a->used;
	UNPOISON(p, size);
	a->used += size;
	a->total += size;
	return p;
}

/* Pieces go all together, at frame_arena_reset(). */
static void
arena_free(void *arg, void *p)
{
}

void
frame_arena_init(struct frame_arena *a)
{
	a->pb.alloc = arena_alloc;
	a->pb.free = arena_free;
	a->pb.allocator_data = a;
	a->chunks = NULL;
	a->used = a->total = a->hint = 0;
	a->limit = 0;
}

/*
 * Forgets the frame. One chunk is kept, sized for the frame just decoded
 * (within bounds), so that the next one of its kind takes one malloc or
 * none.
 */
void
frame_arena_reset(struct frame_arena *a)
{
	struct arena_chunk *c = a->chunks, *next;

	if (c != NULL && c->next == NULL && c->cap <= ARENA_KEEP_MAX) {
		POISON(c->data, c->cap);
		a->used = a->total = 0;
		return;
	}
	for (; c != NULL; c = next) {
		next = c->next;
		UNPOISON(c->data, c->cap);
		free(c);
	}
	a->chunks = NULL;
	a->hint = a->total < ARENA_KEEP_MAX ? a->total : ARENA_KEEP_MAX;
	a->used = a->total = 0;
}
