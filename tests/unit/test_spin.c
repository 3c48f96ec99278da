// SPDX-License-Identifier: GPL-2.0-only
/*
 * When the engine looks for the next frame before sleeping: after a few
 * replies only, never with --spin-us 0 nor on one CPU, and less and less
 * often while looks find nothing. Then the wait itself, on a socket pair.
 */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "spin.h"

/* How many of the next n waits (after sending one reply each) look. */
static unsigned int
looks(struct spin *s, unsigned int n)
{
	unsigned int i, k = 0;

	for (i = 0; i < n; i++)
		k += spin_should(s, 1);
	return k;
}

static void
test_few_replies_only(void **state)
{
	struct spin s = {.us = 50};

	assert_true(spin_should(&s, 0));
	assert_true(spin_should(&s, 1));
	assert_true(spin_should(&s, SPIN_MSGS_MAX));
	assert_false(spin_should(&s, SPIN_MSGS_MAX + 1));
	assert_false(spin_should(&s, 1000));
}

static void
test_off(void **state)
{
	struct spin s = {.us = 0};

	assert_int_equal(looks(&s, 100), 0);
}

static void
test_one_cpu(void **state)
{
	struct spin s = {.us = 50};
	cpu_set_t all, one;

	assert_int_equal(sched_getaffinity(0, sizeof(all), &all), 0);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	spin_check_cpus(&s);
	assert_int_equal(sched_setaffinity(0, sizeof(all), &all), 0);
	assert_true(s.one_cpu);
	assert_int_equal(looks(&s, 100), 0);
	spin_check_cpus(&s);
	assert_int_equal(s.one_cpu, CPU_COUNT(&all) == 1);
}

static void
test_found_keeps_looking(void **state)
{
	struct spin s = {.us = 50};
	unsigned int i;

	for (i = 0; i < 100; i++) {
		assert_true(spin_should(&s, 1));
		spin_result(&s, true);
	}
}

static void
test_misses_back_off(void **state)
{
	struct spin s = {.us = 50};
	unsigned int want = 1, i;

	/* Each miss doubles the waits without a look: 1, 2, 4, ... */
	for (i = 0; i < 14; i++) {
		assert_true(spin_should(&s, 1));
		spin_result(&s, false);
		assert_int_equal(looks(&s, want), 0);
		if (want < SPIN_SKIP_MAX)
			want *= 2;
	}
	/* Capped: the wait after SPIN_SKIP_MAX without one looks. */
	assert_true(spin_should(&s, 1));
	spin_result(&s, false);
	assert_int_equal(looks(&s, SPIN_SKIP_MAX), 0);
	assert_true(spin_should(&s, 1));
	/* One that finds a frame ends the back-off. */
	spin_result(&s, true);
	assert_int_equal(looks(&s, 10), 10);
	/* And a miss after it starts from one again. */
	spin_result(&s, false);
	assert_int_equal(looks(&s, 2), 1);
}

static void
test_wait(void **state)
{
	struct spin s = {.us = 1000};
	struct pollfd pfd;
	int sv[2];
	char c;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pfd = (struct pollfd){sv[0], POLLIN, 0};
	/* Something there: the look finds it. */
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(spin_wait(&s, &pfd, 1, -1), 1);
	assert_true(pfd.revents & POLLIN);
	assert_int_equal(read(sv[0], &c, 1), 1);
	assert_int_equal(s.backoff, 0);
	/* The peer gone: the look ends in POLLHUP, not in a sleep. */
	close(sv[1]);
	assert_int_equal(spin_wait(&s, &pfd, 1, -1), 1);
	assert_true(pfd.revents & (POLLIN | POLLHUP));
	close(sv[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_few_replies_only),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_one_cpu),
		cmocka_unit_test(test_found_keeps_looking),
		cmocka_unit_test(test_misses_back_off),
		cmocka_unit_test(test_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
