/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * How the engine waits for the broker's next frame: a short look before it
 * sleeps, while looks pay (spin.c).
 */
#ifndef XS_ENGINE_SPIN_H
#define XS_ENGINE_SPIN_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

/* How long to look before sleeping unless --spin-us says otherwise. */
#define SPIN_US_DEFAULT 50
/* After sending more messages than this at once: no look. */
#define SPIN_MSGS_MAX 8
/* The most waits without a look after looks that found nothing. */
#define SPIN_SKIP_MAX 1024

struct spin {
	long us;              /* how long a look lasts; 0: never look */
	bool one_cpu;         /* the engine may run on one CPU only */
	unsigned int skip;    /* waits left without a look */
	unsigned int backoff; /* what the next look that misses sets skip to */
};

/* Notes whether this process may run on one CPU only (before seccomp). */
void spin_check_cpus(struct spin *);
/* Whether to look before sleeping, after sending sent messages. */
bool spin_should(struct spin *, size_t sent);
/* What a look found: a frame (found) or nothing in s->us. */
void spin_result(struct spin *, bool found);
/* Waits until pfd is readable, as poll(pfd, 1, timeout_ms) does. */
int spin_wait(struct spin *, struct pollfd *pfd, size_t sent, int timeout_ms);

#endif
