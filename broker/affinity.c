// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CPU the broker and its engine share (--engine-cpu same, the
 * default). A request crosses three sleeps and wake-ups (client to broker,
 * broker to engine, engine to broker), and on a virtualised host waking a
 * process on another CPU costs far more than switching to it on the same
 * one: the broker and the engine work in turn, never at once for the same
 * request, so one CPU serves them both, and the clients have the others.
 * Set before the spawner is forked: it and every engine it starts inherit
 * the CPU, restarts and live updates included, with no system call in
 * either filter.
 */
#include <sched.h>

#include "broker.h"

/* The CPUs we were given, for a daemon a handover runs in our place. */
static cpu_set_t given, one;
static int pinned;

void
affinity_share_cpu(void)
{
	cpu_set_t set;
	int cpu;

	if (sched_getaffinity(0, sizeof(set), &set) == -1) {
		log_warn("sched_getaffinity");
		return;
	}
	given = set;
	/* Whoever started us chose one CPU already: theirs. */
	if (CPU_COUNT(&set) == 1)
		return;
	/* The one the scheduler found for us, among those allowed. */
	if ((cpu = sched_getcpu()) == -1 || !CPU_ISSET(cpu, &set)) {
		log_warn("sched_getcpu");
		return;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) == -1) {
		log_warn("broker and engine on CPU %d", cpu);
		return;
	}
	pinned = 1;
	one = set;
	log_info("broker, spawner and engine share CPU %d (--engine-cpu any "
		 "lets them move)",
		 cpu);
}

/*
 * In the spawner, before it executes another daemon in its place (a
 * handover): that daemon gets the CPUs we were given, not our one; back to
 * ours (back 1) if it could not be executed.
 */
void
affinity_restore(int back)
{
	if (pinned &&
	    sched_setaffinity(0, sizeof(given), back ? &one : &given) == -1)
		log_warn("live update: sched_setaffinity");
}
