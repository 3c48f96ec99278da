/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Growable arrays and buffers, for the broker, the engine and the tools
 * alike (OpenBSD's recallocarray and ibuf are the models). The capacity
 * doubles, from the site's first capacity, until what is asked for fits.
 * A size that does not fit in a size_t is refused before any allocation,
 * and a failure leaves the array and its capacity as they were: the
 * elements are still there, still counted by the old capacity.
 *
 * ap is the address of the array's pointer, of any object pointer type
 * (they share one representation on every platform this builds for); it
 * is read and written with memcpy, so no pointer is accessed through an
 * lvalue of another type.
 *
 * The check that there is room already is inline, one comparison: queues
 * on the hot path pay nothing more for using these.
 */
#ifndef XS_GROW_H
#define XS_GROW_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Out of line and cold: the callers' fast path stays small, and the
 * compiler lays it out as the likely one. Not inline, so marked unused for
 * the files that include this and grow nothing.
 */
static __attribute__((cold, noinline, unused)) int
grow_array_slow(void *ap, size_t *capp, size_t need, size_t size, size_t first)
{
	size_t cap = *capp ? *capp : first ? first : 1;
	void *p, *np;

	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			goto overflow;
		cap *= 2;
	}
	if (size == 0 || cap > SIZE_MAX / size)
		goto overflow;
	memcpy(&p, ap, sizeof(p));
	if ((np = realloc(p, cap * size)) == NULL)
		return -1;
	memcpy(ap, &np, sizeof(np));
	*capp = cap;
	return 0;
overflow:
	errno = ENOMEM;
	return -1;
}

/*
 * Room for need elements of size bytes in *ap, which holds *capp; an empty
 * array (*capp 0) starts at first. 0, or -1 and errno ENOMEM.
 */
static inline int
grow_array(void *ap, size_t *capp, size_t need, size_t size, size_t first)
{
	if (need <= *capp)
		return 0;
	return grow_array_slow(ap, capp, need, size, first);
}

/*
 * Room for more elements after the first len (len <= *capp), where len +
 * more itself may not fit in a size_t. 0, or -1 and errno ENOMEM.
 */
static inline int
grow_room(void *ap, size_t *capp, size_t len, size_t more, size_t size,
	  size_t first)
{
	if (more <= *capp - len)
		return 0;
	if (more > SIZE_MAX - len) {
		errno = ENOMEM;
		return -1;
	}
	return grow_array_slow(ap, capp, len + more, size, first);
}

#endif
