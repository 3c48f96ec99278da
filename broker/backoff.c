// SPDX-License-Identifier: GPL-2.0-only
/*
 * When to start the engine again after it died. Pure: the caller passes
 * the clock.
 *
 * The first death of a series is answered at once: clients are waiting.
 * An engine that dies again soon after is more likely killed by what it
 * is given than by bad luck, so each further death close to the previous
 * one doubles the wait, from BACKOFF_FIRST_MS up to BACKOFF_MAX_MS; this
 * keeps a crash loop from eating the machine. Beyond max restarts in any
 * BACKOFF_WINDOW_MS every restart waits BACKOFF_SLOW_MS: something is
 * persistently wrong and an operator must look, but the broker never gives
 * up the store and its clients, which outlive any engine.
 */
#include <stdlib.h>

#include "broker.h"

int
backoff_init(struct backoff *b, unsigned int max)
{
	b->max = max;
	b->n = 0;
	b->head = 0;
	b->streak = 0;
	b->last_death = 0;
	b->any_death = 0;
	b->limited = 0;
	b->limit_said = 0;
	b->any_said = 0;
	b->times = NULL;
	if (max > 0 && (b->times = calloc(max, sizeof(*b->times))) == NULL)
		return -1;
	return 0;
}

void
backoff_free(struct backoff *b)
{
	free(b->times);
	b->times = NULL;
}

/*
 * An engine died at now_ms. Returns the milliseconds to wait before the
 * restart. times[] is a ring of the last max restarts, oldest at head; a
 * restart past the limit takes the oldest's place, so the limit holds for
 * as long as engines keep dying that often.
 */
long
backoff_death(struct backoff *b, int64_t now_ms)
{
	long delay;
	unsigned int i;

	if (b->any_death && now_ms - b->last_death < BACKOFF_CALM_MS)
		b->streak++;
	else
		b->streak = 0;
	b->any_death = 1;
	b->last_death = now_ms;

	/* Forget restarts that left the window. */
	while (b->n > 0 && now_ms - b->times[b->head] >= BACKOFF_WINDOW_MS) {
		b->head = (b->head + 1) % b->max;
		b->n--;
	}
	if (b->n >= b->max) {
		if (b->max > 0) {
			b->times[b->head] = now_ms;
			b->head = (b->head + 1) % b->max;
		}
		b->limited = 1;
		return BACKOFF_SLOW_MS;
	}
	b->limited = 0;
	i = (b->head + b->n) % b->max;
	b->times[i] = now_ms;
	b->n++;

	if (b->streak == 0)
		return 0;
	delay = BACKOFF_FIRST_MS;
	for (i = 1; i < b->streak && delay < BACKOFF_MAX_MS; i++)
		delay *= 2;
	return delay < BACKOFF_MAX_MS ? delay : BACKOFF_MAX_MS;
}

/*
 * Whether the death just counted hit the limit and is the one to say so:
 * the first of a spell at the limit, then one a window, not one a death.
 */
int
backoff_limit_news(struct backoff *b, int64_t now_ms)
{
	if (!b->limited)
		return 0;
	if (b->any_said && now_ms - b->limit_said < BACKOFF_WINDOW_MS)
		return 0;
	b->any_said = 1;
	b->limit_said = now_ms;
	return 1;
}
