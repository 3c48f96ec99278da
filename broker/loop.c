// SPDX-License-Identifier: GPL-2.0-only
/*
 * The event loop. Level-triggered epoll: a handler does one bounded piece of
 * work per wake-up and the loop comes back for the rest, so one busy client
 * cannot starve the others. After every batch of events the loop writes the
 * replies it collected and sends the engine one frame with every request
 * that arrived, which keeps it at one syscall per batch in each direction.
 */
#include <errno.h>
#include <sched.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "mono.h"

#define LOOP_EVENTS 64

static int epfd = -1;
static struct timespec now;

void
loop_init(void)
{
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	clock_gettime(CLOCK_MONOTONIC, &now);
}

void
loop_add(struct bevent *ev, int fd, uint32_t events,
	 void (*cb)(int, uint32_t, void *), void *arg)
{
	struct epoll_event e = {.events = events, .data.ptr = ev};

	ev->fd = fd;
	ev->events = events;
	ev->cb = cb;
	ev->arg = arg;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) == -1)
		fatal("epoll_ctl add");
}

void
loop_set(struct bevent *ev, uint32_t events)
{
	struct epoll_event e = {.events = events, .data.ptr = ev};

	if (ev->events == events)
		return;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, ev->fd, &e) == -1)
		fatal("epoll_ctl mod");
	ev->events = events;
}

void
loop_del(struct bevent *ev)
{
	if (epoll_ctl(epfd, EPOLL_CTL_DEL, ev->fd, NULL) == -1)
		fatal("epoll_ctl del");
}

const struct timespec *
loop_now(void)
{
	return &now;
}

static long spin_us = SPIN_US_DEFAULT;

void
loop_set_spin(long us)
{
	spin_us = us;
}

/* After spins that found nothing: the most turns without one. */
#define SPIN_SKIP_MAX 1024

static unsigned int spin_skip;    /* turns left without a spin */
static unsigned int spin_backoff; /* what the next miss sets spin_skip to */

/*
 * Whether to spin before this sleep. While the engine owes replies it
 * always pays: they come within a request's time. Otherwise the spin
 * waits for clients, and a spin that found none makes the next ones wait
 * (1, 2, 4, ... up to SPIN_SKIP_MAX turns without one, until one finds
 * work again): requests that come far apart would each pay spin_us of CPU
 * for nothing.
 */
static int
spin_should(void)
{
	if (spin_us <= 0)
		return 0;
	if (engine_awaited())
		return 1;
	if (spin_skip > 0) {
		spin_skip--;
		return 0;
	}
	return 1;
}

static void
spin_result(int found)
{
	if (engine_awaited())
		return;
	if (found) {
		spin_backoff = 0;
		return;
	}
	spin_backoff = spin_backoff == 0 ? 1 : spin_backoff * 2;
	if (spin_backoff > SPIN_SKIP_MAX)
		spin_backoff = SPIN_SKIP_MAX;
	spin_skip = spin_backoff;
}

/*
 * After handling events, look for more for a little while before going to
 * sleep. On these machines a sleeping process that another one wakes costs
 * tens of microseconds, and a request crosses the broker twice (client to
 * engine and back): a short spin saves those wake-ups whenever requests
 * keep coming, at the price of that much CPU after the last one. It
 * yields while it spins, so that the clients and the engine, which may need
 * the same core, run first. Guests whose ports are still masked are looked
 * at too; before sleeping their ports are unmasked (see evtchn_event()).
 */
static int
loop_wait(struct epoll_event *evs, int timeout)
{
	struct timespec t0;
	int n;

	if (timeout == 0)
		return epoll_wait(epfd, evs, LOOP_EVENTS, 0);
	if (spin_should()) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			n = epoll_wait(epfd, evs, LOOP_EVENTS, 0);
			/* Guests whose ports are masked signal nothing. */
			if (n != 0 || guest_polled_active()) {
				spin_result(1);
				return n;
			}
			/* What else can run (a client, the engine) runs. */
			sched_yield();
		} while (mono_us_since(&t0) < spin_us);
		spin_result(0);
	}
	guest_unmask_polled();
	return epoll_wait(epfd, evs, LOOP_EVENTS, timeout);
}

/*
 * One turn: waits up to timeout ms (-1: for ever) for events, acts on them
 * and on what they left to do. Returns how long the next turn may wait.
 */
int
loop_turn(int timeout)
{
	static time_t last_tick;
	struct epoll_event evs[LOOP_EVENTS];
	struct bevent *ev;
	int i, n, rings_busy, owed;

	n = loop_wait(evs, timeout);
	if (n == -1 && errno != EINTR)
		fatal("epoll_wait");
	clock_gettime(CLOCK_MONOTONIC, &now);
	for (i = 0; i < n; i++) {
		ev = evs[i].data.ptr;
		ev->cb(ev->fd, evs[i].events, ev->arg);
	}
	guest_poll();
	rings_busy = conn_ring_poll();
	conn_flush_dirty();
	engine_flush();
	owed = guest_notify_flush();
	audit_flush();
	conn_reap();

	/*
	 * Once a second while there is anything to age: stale watch
	 * events in the queues of clients that do not read, and the
	 * listeners paused when we ran out of descriptors.
	 */
	timeout = -1;
	if (now.tv_sec != last_tick) {
		last_tick = now.tv_sec;
		listen_resume();
		guest_tick();
		conn_sweep();
		conn_flush_dirty();
		engine_flush();
		owed = guest_notify_flush();
		audit_flush();
		conn_reap();
	}
	if (conn_sweep_needed() || listen_paused() || audit_retry_needed() ||
	    guest_tick_needed())
		timeout = 1000;
	/* Events owed to guests wait for replies only that long. */
	if (owed && (timeout == -1 || timeout > NOTIFY_DEFER_MS))
		timeout = NOTIFY_DEFER_MS;
	/* Rings with input left get their next turn at once. */
	if (rings_busy)
		timeout = 0;
	return timeout;
}

void
loop_run(void)
{
	int timeout = -1;

	for (;;)
		timeout = loop_turn(timeout);
}
