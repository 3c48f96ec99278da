/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Time elapsed on the monotonic clock, for the broker's and the engine's
 * loops (how long they have looked for work, how long a record waited).
 */
#ifndef XS_MONO_H
#define XS_MONO_H

#include <time.h>

/* Microseconds since t0, which clock_gettime(CLOCK_MONOTONIC) gave. */
static inline long long
mono_us_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)(t.tv_sec - t0->tv_sec) * 1000000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000;
}

#endif
