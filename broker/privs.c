// SPDX-License-Identifier: GPL-2.0-only
/*
 * Privileges of the three roles: what the spawner keeps of root, the
 * broker's own user with nothing at all, what each engine is started with,
 * and `--print-policy`, which shows them.
 *
 * The spawner's list is policy/spawner.caps, embedded at build time. It
 * stays uid 0: the engine must be started able to switch users, so the
 * spawner keeps CAP_SETUID, and with it any other uid would be one
 * setuid(0) away from this one. What limits it is the capability sets (and
 * the bounding set, so no exec gives anything back), not the uid. The
 * broker, which reads what guests and clients write, keeps no capability
 * and runs as a user of its own, not the engine's.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cap-ng.h>

#include "broker.h"
#include "seccomp_policy.h"

struct cap_reason {
	const char *name; /* "CAP_SYS_ADMIN" */
	const char *why;
};

static const struct cap_reason spawner_caps[] = {
#include "spawner_caps.h"
};
#define NSPAWNER_CAPS (sizeof(spawner_caps) / sizeof(spawner_caps[0]))

/*
 * What an engine starts with, the bounding set it is exec'd with as uid 0:
 * enough to build its sandbox (engine/sandbox.c), which then drops them all.
 * Each one is also in policy/spawner.caps, or the spawner could not pass it.
 */
static const int engine_caps[] = {CAP_SYS_ADMIN, CAP_SYS_CHROOT, CAP_SETUID,
				  CAP_SETGID, CAP_SETPCAP};
#define NENGINE_CAPS (sizeof(engine_caps) / sizeof(engine_caps[0]))

/* Highest capability number to try when cutting a bounding set. */
#define CAP_TRY_MAX 63

/* The number of "CAP_SYS_ADMIN", or -1. */
static int
cap_number(const char *name)
{
	if (strncmp(name, "CAP_", 4) != 0)
		return -1;
	return capng_name_to_capability(name + 4);
}

static int
engine_cap(int cap)
{
	size_t i;

	for (i = 0; i < NENGINE_CAPS; i++)
		if (engine_caps[i] == cap)
			return 1;
	return 0;
}

/* Whether cap is in the set the kernel reports for which. */
static int
cap_in(capng_type_t which, int cap)
{
	return capng_have_capability(which, (unsigned int)cap) != 0;
}

/*
 * In the spawner: effective, permitted and bounding sets become exactly the
 * policy (less what it never had), inheritable and ambient empty, and
 * no_new_privs keeps any exec from adding to that.
 */
void
privs_spawner(void)
{
	int keep[NSPAWNER_CAPS], cap, bounds, want;
	char kept[512] = "";
	size_t i, nkeep = 0;

	if (capng_get_caps_process() != 0)
		fatalx("cannot read the spawner's capabilities");
	/* Cutting the bounding set takes CAP_SETPCAP: a non-root run has none
	 */
	bounds = cap_in(CAPNG_EFFECTIVE, CAP_SETPCAP);
	for (i = 0; i < NSPAWNER_CAPS; i++) {
		if ((cap = cap_number(spawner_caps[i].name)) == -1)
			fatalx("policy/spawner.caps: unknown capability %s",
			       spawner_caps[i].name);
		if (!cap_in(CAPNG_PERMITTED, cap)) {
			if (geteuid() == 0)
				log_warnx("cannot keep %s: the spawner never "
					  "had it",
					  spawner_caps[i].name);
			continue;
		}
		keep[nkeep++] = cap;
	}
	capng_clear(CAPNG_SELECT_BOTH);
	for (i = 0; i < nkeep; i++)
		capng_update(CAPNG_ADD,
			     CAPNG_EFFECTIVE | CAPNG_PERMITTED |
				     CAPNG_BOUNDING_SET,
			     (unsigned int)keep[i]);
	if (capng_apply(bounds ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS) != 0)
		fatalx("cannot drop capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1)
		fatal("clearing ambient capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_NO_NEW_PRIVS");

	/* Believe the kernel, not our bookkeeping. */
	if (capng_get_caps_process() != 0)
		fatalx("cannot read the spawner's capabilities");
	for (cap = 0; cap <= CAP_TRY_MAX; cap++) {
		for (want = 0, i = 0; i < nkeep && !want; i++)
			want = keep[i] == cap;
		if (cap_in(CAPNG_EFFECTIVE, cap) != want ||
		    cap_in(CAPNG_PERMITTED, cap) != want ||
		    cap_in(CAPNG_INHERITABLE, cap) ||
		    (bounds && cap <= CAP_LAST_CAP &&
		     cap_in(CAPNG_BOUNDING_SET, cap) != want))
			fatalx("capability %d is not as policy/spawner.caps "
			       "says after the drop",
			       cap);
	}
	for (i = 0; i < NSPAWNER_CAPS; i++)
		if (cap_in(CAPNG_EFFECTIVE, cap_number(spawner_caps[i].name)))
			snprintf(kept + strlen(kept),
				 sizeof(kept) - strlen(kept), " %s",
				 spawner_caps[i].name);
	log_debug("spawner: uid %ld, keeping%s", (long)geteuid(),
		  kept[0] != '\0' ? kept : " no capabilities");
}

/* Whether the kernel shows any capability in any set of ours. */
static int
any_cap_left(int bounds)
{
	int cap;

	if (capng_get_caps_process() != 0)
		fatalx("cannot read the broker's capabilities");
	for (cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (cap_in(CAPNG_EFFECTIVE, cap) ||
		    cap_in(CAPNG_PERMITTED, cap) ||
		    cap_in(CAPNG_INHERITABLE, cap) ||
		    (bounds && cap_in(CAPNG_BOUNDING_SET, cap)) ||
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) ==
			    1)
			return 1;
	return 0;
}

/*
 * In the broker, once the spawner is forked: its own user, no
 * supplementary groups, every capability set empty (the bounding set
 * first, while CAP_SETPCAP still allows it), no_new_privs, and not
 * dumpable, so that nobody but root reads its memory or attaches to it.
 */
void
privs_broker(const struct broker_user *bu)
{
	int cap, bounds;

	if (capng_get_caps_process() != 0)
		fatalx("cannot read the broker's capabilities");
	bounds = cap_in(CAPNG_EFFECTIVE, CAP_SETPCAP);
	for (cap = 0; bounds && cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1 &&
		    errno != EINVAL)
			fatal("dropping capability %d from the bounding set",
			      cap);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1)
		fatal("clearing ambient capabilities");
	if (!bu->stay_root) {
		if (setgroups(0, NULL) == -1)
			fatal("setgroups");
		if (setresgid(bu->gid, bu->gid, bu->gid) == -1)
			fatal("setresgid %lu", (unsigned long)bu->gid);
		if (setresuid(bu->uid, bu->uid, bu->uid) == -1)
			fatal("setresuid %lu", (unsigned long)bu->uid);
	}
	capng_clear(CAPNG_SELECT_CAPS);
	if (capng_apply(CAPNG_SELECT_CAPS) != 0)
		fatalx("cannot drop the broker's capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("PR_SET_DUMPABLE");
	if (any_cap_left(bounds))
		fatalx("the broker still holds a capability after the drop");
	if (!bu->stay_root && (geteuid() != bu->uid || getegid() != bu->gid))
		fatalx("the broker is not %s after the drop", bu->name);
	log_info("privileges dropped: uid %ld (%s), no capabilities",
		 (long)geteuid(), bu->stay_root ? "unchanged" : bu->name);
}

/*
 * In a new engine, before exec: cut its bounding set to engine_caps, which
 * exec as uid 0 turns into its permitted and effective sets. Only system
 * calls here (the child of a raw clone). Without CAP_SETPCAP (a broker run
 * as an ordinary user) there is nothing to cut.
 */
void
privs_engine_child(void)
{
	int cap;

	for (cap = 0; cap <= CAP_TRY_MAX; cap++)
		if (!engine_cap(cap) &&
		    prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			(void)prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
}

static void
print_cap_list(FILE *f, const int *caps, size_t n)
{
	const char *name;
	size_t i;

	for (i = 0; i < n; i++) {
		name = capng_capability_to_name((unsigned int)caps[i]);
		fprintf(f, "%sCAP_", i == 0 ? "" : ", ");
		for (; name != NULL && *name != '\0'; name++)
			fputc(*name >= 'a' && *name <= 'z' ? *name - 'a' + 'A'
							   : *name,
			      f);
	}
}

/* What each process runs with, for --print-policy. Starts nothing. */
void
privs_print(FILE *f, const struct broker_user *bu, const struct engine_opts *eo)
{
	const char *const *t;
	size_t i;

	fputs("spawner (forked by " BROKER_NAME
	      " at start; starts and stops engines, nothing else)\n",
	      f);
	fputs("  user: uid 0 (root), without CAP_DAC_OVERRIDE\n", f);
	fputs("  no_new_privs: 1\n  dumpable: 0\n", f);
	fputs("  capabilities (effective, permitted and bounding; inheritable "
	      "and ambient empty):\n",
	      f);
	for (i = 0; i < NSPAWNER_CAPS; i++)
		fprintf(f, "    %-16s # %s\n", spawner_caps[i].name,
			spawner_caps[i].why);
	fputs("  file descriptors: its control channel, the two state "
	      "memfds, the engine binary\n",
	      f);

	fputs("\n" BROKER_NAME " (after start-up)\n", f);
	if (bu->stay_root && geteuid() != 0)
		fprintf(f,
			"  user: uid %lu, as started (not root: no user to "
			"switch to)\n",
			(unsigned long)geteuid());
	else if (bu->stay_root)
		fprintf(f, "  UNSAFE: --unsafe-broker-root: user: uid 0 "
			   "(root)\n");
	else
		fprintf(f,
			"  user: %s (uid %lu, gid %lu), no supplementary "
			"groups\n",
			bu->name, (unsigned long)bu->uid,
			(unsigned long)bu->gid);
	fputs("  capabilities: none (effective, permitted, inheritable, "
	      "bounding, ambient)\n"
	      "  no_new_privs: 1\n  dumpable: 0\n",
	      f);
	fputs("  seccomp: every system call not below traps; the spawner "
	      "logs its name and the broker dies of SIGSYS\n",
	      f);
	for (t = seccomp_broker_text(); *t != NULL; t++)
		fprintf(f, "    %s\n", *t);
	fputs("  and, only under the tests' simulated hypervisor:\n", f);
	for (t = seccomp_broker_xensim_text(); *t != NULL; t++)
		fprintf(f, "    %s\n", *t);

	fprintf(f, "\n" ENGINE_NAME "\n");
	if (!eo->sandboxed)
		fprintf(f, "  UNSAFE: --unsafe-no-sandbox: none of the "
			   "following applies\n");
	fprintf(f, "  started with: ");
	print_cap_list(f, engine_caps, NENGINE_CAPS);
	fprintf(f, " (to build its sandbox), uid 0\n");
	fprintf(f,
		"  user: %s (uid %lu, gid %lu), no supplementary groups\n"
		"  capabilities: none (effective, permitted, inheritable, "
		"bounding, ambient)\n"
		"  no_new_privs: 1\n",
		eo->user, (unsigned long)eo->uid, (unsigned long)eo->gid);
	/*
	 * As engine/sandbox.c sets them; NOFILE is its last state fd (5) + 1,
	 * and FSIZE bounds what it may write to each state memfd.
	 */
	if (eo->as_limit == 0)
		fprintf(f, "  rlimits: FSIZE unlimited, NOFILE 6, NPROC 0, "
			   "CORE 0, MEMLOCK 0, AS unlimited\n");
	else
		fprintf(f,
			"  rlimits: FSIZE %llu, NOFILE 6, NPROC 0, CORE 0, "
			"MEMLOCK 0, AS %llu\n",
			eo->as_limit, eo->as_limit);
	fprintf(f, "  file descriptors: the channel to the broker (3) and the "
		   "spawner's two state memfds (4, 5)\n"
		   "  namespaces: pid (created by the spawner), mount, net, "
		   "ipc, uts (by the engine), where the kernel permits\n"
		   "  root: an empty read-only tmpfs\n"
		   "  seccomp: every system call not below traps; the engine "
		   "reports it and dies of SIGSYS\n");
	for (i = 0; seccomp_policy_text[i] != NULL; i++)
		fprintf(f, "    %s\n", seccomp_policy_text[i]);
}
