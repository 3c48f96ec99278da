// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copying bytes in and out of a guest's xenstore ring page
 * (docs/misc/xenstore-ring.txt). The page is shared with an untrusted guest
 * that may change it at any moment: each index is read once, into a local,
 * and checked before use; a guest whose producer and consumer are further
 * apart than the ring is large has broken its ring.
 */
#include <string.h>

#include "broker.h"

static uint32_t
load(const volatile uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void
store(volatile uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* *had: how many bytes the guest had written, for deciding when to notify. */
ssize_t
ring_read(struct xs_ring *r, void *buf, size_t len, uint32_t *had)
{
	uint32_t cons = load(&r->req_cons), prod = load(&r->req_prod);
	uint32_t avail = prod - cons, off, chunk;
	uint8_t *out = buf;
	size_t done = 0;

	if (avail > XS_RING_SIZE)
		return -1;
	if (had != NULL)
		*had = avail;
	if (len > avail)
		len = avail;
	while (done < len) {
		off = cons & (XS_RING_SIZE - 1);
		chunk = XS_RING_SIZE - off;
		if (chunk > len - done)
			chunk = (uint32_t)(len - done);
		memcpy(out + done, (const void *)(r->req + off), chunk);
		done += chunk;
		cons += chunk;
	}
	/* The bytes are copied before the guest may reuse their space. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	store(&r->req_cons, cons);
	return (ssize_t)done;
}

ssize_t
ring_write(struct xs_ring *r, const void *buf, size_t len)
{
	uint32_t cons = load(&r->rsp_cons), prod = load(&r->rsp_prod);
	uint32_t used = prod - cons, off, chunk;
	const uint8_t *in = buf;
	size_t done = 0;

	if (used > XS_RING_SIZE)
		return -1;
	if (len > XS_RING_SIZE - used)
		len = XS_RING_SIZE - used;
	while (done < len) {
		off = prod & (XS_RING_SIZE - 1);
		chunk = XS_RING_SIZE - off;
		if (chunk > len - done)
			chunk = (uint32_t)(len - done);
		memcpy((void *)(r->rsp + off), in + done, chunk);
		done += chunk;
		prod += chunk;
	}
	/* The guest must see the bytes before it sees the new index. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	store(&r->rsp_prod, prod);
	return (ssize_t)done;
}

int
ring_has_input(struct xs_ring *r)
{
	return load(&r->req_prod) != load(&r->req_cons);
}

int
ring_has_room(struct xs_ring *r)
{
	return load(&r->rsp_prod) - load(&r->rsp_cons) < XS_RING_SIZE;
}

void
ring_reset(struct xs_ring *r)
{
	store(&r->req_cons, 0);
	store(&r->req_prod, 0);
	store(&r->rsp_cons, 0);
	store(&r->rsp_prod, 0);
}
