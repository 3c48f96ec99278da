// SPDX-License-Identifier: GPL-2.0-only
/*
 * Privileges: what the broker keeps of root once it has started, what each
 * engine it starts is given, and `--print-policy`, which shows both.
 *
 * The broker's list is policy/broker.caps, embedded at build time. It stays
 * uid 0: the engine must be started able to switch users, so the broker
 * keeps CAP_SETUID, and with it any other uid would be one setuid(0) away
 * from this one. What limits it is the capability sets (and the bounding
 * set, so no exec gives anything back), not the uid.
 */
#include <errno.h>
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

static const struct cap_reason broker_caps[] = {
#include "broker_caps.h"
};
#define NBROKER_CAPS (sizeof(broker_caps) / sizeof(broker_caps[0]))

/*
 * What an engine starts with, the bounding set it is exec'd with as uid 0:
 * enough to build its sandbox (engine/sandbox.c), which then drops them all.
 * Each one is also in policy/broker.caps, or the broker could not pass it.
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
 * After start-up: effective, permitted and bounding sets become exactly the
 * policy (less what the broker never had), inheritable and ambient empty,
 * and no_new_privs keeps any exec from adding to that.
 */
void
privs_drop(void)
{
	int keep[NBROKER_CAPS], cap, bounds, want;
	char kept[512] = "";
	size_t i, nkeep = 0;

	if (capng_get_caps_process() != 0)
		fatalx("cannot read the broker's capabilities");
	/* Cutting the bounding set takes CAP_SETPCAP: a non-root run has none
	 */
	bounds = cap_in(CAPNG_EFFECTIVE, CAP_SETPCAP);
	for (i = 0; i < NBROKER_CAPS; i++) {
		if ((cap = cap_number(broker_caps[i].name)) == -1)
			fatalx("policy/broker.caps: unknown capability %s",
			       broker_caps[i].name);
		if (!cap_in(CAPNG_PERMITTED, cap)) {
			if (geteuid() == 0)
				log_warnx("cannot keep %s: the broker never "
					  "had it",
					  broker_caps[i].name);
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
		fatalx("cannot read the broker's capabilities");
	for (cap = 0; cap <= CAP_TRY_MAX; cap++) {
		for (want = 0, i = 0; i < nkeep && !want; i++)
			want = keep[i] == cap;
		if (cap_in(CAPNG_EFFECTIVE, cap) != want ||
		    cap_in(CAPNG_PERMITTED, cap) != want ||
		    cap_in(CAPNG_INHERITABLE, cap) ||
		    (bounds && cap <= CAP_LAST_CAP &&
		     cap_in(CAPNG_BOUNDING_SET, cap) != want))
			fatalx("capability %d is not as policy/broker.caps "
			       "says after the drop",
			       cap);
	}
	for (i = 0; i < NBROKER_CAPS; i++)
		if (cap_in(CAPNG_EFFECTIVE, cap_number(broker_caps[i].name)))
			snprintf(kept + strlen(kept),
				 sizeof(kept) - strlen(kept), " %s",
				 broker_caps[i].name);
	log_info("privileges dropped: uid %ld, keeping%s", (long)geteuid(),
		 kept[0] != '\0' ? kept : " no capabilities");
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
privs_print(FILE *f, const struct engine_opts *eo)
{
	size_t i;

	fputs(BROKER_NAME " (after start-up)\n", f);
	fputs("  user: uid 0 (root), without CAP_DAC_OVERRIDE\n", f);
	fputs("  no_new_privs: 1\n", f);
	fputs("  capabilities (effective, permitted and bounding; inheritable "
	      "and ambient empty):\n",
	      f);
	for (i = 0; i < NBROKER_CAPS; i++)
		fprintf(f, "    %-16s # %s\n", broker_caps[i].name,
			broker_caps[i].why);

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
		   "broker's two state memfds (4, 5)\n"
		   "  namespaces: pid (created by the broker), mount, net, "
		   "ipc, uts (by the engine), where the kernel permits\n"
		   "  root: an empty read-only tmpfs\n"
		   "  seccomp: every system call not below traps; the engine "
		   "reports it and dies of SIGSYS\n");
	for (i = 0; seccomp_policy_text[i] != NULL; i++)
		fprintf(f, "    %s\n", seccomp_policy_text[i]);
}
