// SPDX-License-Identifier: GPL-2.0-only
/*
 * The engine's wait for the broker's next frame. The frame often comes a
 * few microseconds after the replies went out (the next request of a
 * client that waited for this reply), and on these machines a sleeping
 * process that is woken costs tens of microseconds, most of a request's
 * round trip. So the engine looks for it for --spin-us first, yielding the
 * CPU between looks to the broker and the clients, as the broker's loop
 * does (broker/loop.c).
 *
 * Only after a few replies: after many (a pipeline, many clients, watches
 * firing), the broker and the clients have work for both CPUs, and a look
 * would take a CPU from them. And a look that found nothing makes the next
 * ones wait (1, 2, 4, ... up to SPIN_SKIP_MAX waits without a look, until
 * one finds a frame again): when the CPUs are that busy, frames come only
 * once the engine sleeps.
 *
 * Never when the engine may run on one CPU only, which it then shares with
 * the broker (the spawner gives it the broker's CPUs): the broker sends the
 * next frame from that same CPU, so a look only keeps it from running, and
 * each yield to it is a switch between the two processes, which costs what
 * the wake-up would.
 */
#include <sched.h>
#include <time.h>

#include "mono.h"
#include "spin.h"

void
spin_check_cpus(struct spin *s)
{
	cpu_set_t set;

	s->one_cpu = sched_getaffinity(0, sizeof(set), &set) == 0 &&
		     CPU_COUNT(&set) == 1;
}

bool
spin_should(struct spin *s, size_t sent)
{
	if (s->us <= 0 || s->one_cpu || sent > SPIN_MSGS_MAX)
		return false;
	if (s->skip > 0) {
		s->skip--;
		return false;
	}
	return true;
}

void
spin_result(struct spin *s, bool found)
{
	if (found) {
		s->backoff = 0;
		return;
	}
	s->backoff = s->backoff == 0 ? 1 : s->backoff * 2;
	if (s->backoff > SPIN_SKIP_MAX)
		s->backoff = SPIN_SKIP_MAX;
	s->skip = s->backoff;
}

int
spin_wait(struct spin *s, struct pollfd *pfd, size_t sent, int timeout_ms)
{
	struct timespec t0;
	int n;

	if (spin_should(s, sent)) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			if ((n = poll(pfd, 1, 0)) != 0) {
				spin_result(s, true);
				return n;
			}
			sched_yield();
		} while (mono_us_since(&t0) < s->us);
		spin_result(s, false);
	}
	return poll(pfd, 1, timeout_ms);
}
