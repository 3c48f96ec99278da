/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The bytes a process holds from its allocator, for the engine's
 * `memreport` and the broker's SIGUSR1 status line: what a soak compares
 * before and after a load to find what was never given back. Under
 * AddressSanitizer, malloc is the sanitizer's, which glibc's mallinfo2()
 * does not see; the sanitizer counts its own.
 */
#ifndef XS_MEM_INUSE_H
#define XS_MEM_INUSE_H

#include <stddef.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define XS_MEM_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define XS_MEM_ASAN 1
#endif

#ifdef XS_MEM_ASAN
#include <sanitizer/allocator_interface.h>

static inline size_t
mem_in_use(void)
{
	return __sanitizer_get_current_allocated_bytes();
}
#else
#include <malloc.h>

/* Small chunks from the arenas and large ones mapped on their own. */
static inline size_t
mem_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}
#endif

#endif
