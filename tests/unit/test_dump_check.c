// SPDX-License-Identifier: GPL-2.0-only
/*
 * dump_check(), with which xs-dump asks the kernel whether its
 * parser is sandboxed: it accepts a child in the engine's sandbox and
 * refuses one that is short of any part of it. Needs root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dump_tool.h"
#include "sandbox.h"

#define NOBODY 65534

/* The whole sandbox, or all of it up to no_new_privs, or up to the filter. */
enum how { SANDBOXED, NO_NNP, NO_FILTER };

/* Another user, with no groups and no capabilities in any set. */
static int
drop_user(void)
{
	int cap;

	for (cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1)
			return -1;
	return setgroups(0, NULL) == -1 ||
			       setresgid(NOBODY, NOBODY, NOBODY) == -1 ||
			       setresuid(NOBODY, NOBODY, NOBODY) == -1
		       ? -1
		       : 0;
}

/*
 * A child that becomes what how says, then waits on its channel until the
 * parent has looked at it.
 */
static pid_t
spawn(enum how how, int *chan)
{
	int sv[2];
	pid_t pid;
	char b;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sandbox_cfg cfg = {.channel = 3,
					  .state = {-1, -1},
					  .output = -1,
					  .uid = NOBODY,
					  .gid = NOBODY};
		struct sandbox_state st;
		char why[256];

		if (dup2(sv[1], 3) == -1)
			_exit(100);
		if (how == SANDBOXED &&
		    sandbox_apply(&cfg, &st, why, sizeof(why)) == -1)
			_exit(101);
		if (how != SANDBOXED && drop_user() == -1)
			_exit(102);
		if (how == NO_FILTER &&
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
			_exit(103);
		if (write(3, "r", 1) != 1 || read(3, &b, 1) != 1)
			_exit(104);
		_exit(0);
	}
	close(sv[1]);
	assert_int_equal(read(sv[0], &b, 1), 1);
	*chan = sv[0];
	return pid;
}

static void
done(pid_t pid, int chan)
{
	int status;

	assert_int_equal(write(chan, "x", 1), 1);
	close(chan);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* dump_check's verdict on a child made as how, against uid and gid. */
static int
check(enum how how, uid_t uid, gid_t gid, char *why, size_t len)
{
	int chan, r;
	pid_t pid = spawn(how, &chan);

	r = dump_check(pid, uid, gid, why, len);
	done(pid, chan);
	return r;
}

static void
test_sandboxed_child_passes(void **state)
{
	char why[256] = "";

	assert_int_equal(check(SANDBOXED, NOBODY, NOBODY, why, sizeof(why)), 0);
}

static void
test_short_of_the_sandbox_fails(void **state)
{
	char why[256];

	assert_int_equal(check(SANDBOXED, 1, NOBODY, why, sizeof(why)), -1);
	assert_string_equal(why, "not uid 1 gid 65534");
	assert_int_equal(check(SANDBOXED, NOBODY, 1, why, sizeof(why)), -1);
	assert_string_equal(why, "not uid 65534 gid 1");
	assert_int_equal(check(NO_NNP, NOBODY, NOBODY, why, sizeof(why)), -1);
	assert_string_equal(why, "no no_new_privs");
	assert_int_equal(check(NO_FILTER, NOBODY, NOBODY, why, sizeof(why)),
			 -1);
	assert_string_equal(why, "no seccomp filter");
	/* We are root, with every capability. */
	assert_int_equal(dump_check(getpid(), 0, 0, why, sizeof(why)), -1);
	assert_string_equal(why, "capabilities left (CapPrm:)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sandboxed_child_passes),
		cmocka_unit_test(test_short_of_the_sandbox_fails),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_dump_check: needs root\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
