// SPDX-License-Identifier: GPL-2.0-only
/*
 * The broker's own seccomp filter, policy/broker.seccomp, loaded once the
 * broker has opened everything it will ever open and given up its user and
 * capabilities: from then on a memory-safety bug in the code that parses
 * guests', clients' and the engine's bytes can only make the calls of that
 * list, and of those only the Xen requests the broker itself makes.
 *
 * A call outside the list is trapped: the SIGSYS handler reports its name
 * (through the function set with seccomp_on_report(), which only writes to
 * an fd) and the broker dies of SIGSYS, as the engine does.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <unistd.h>

#include <seccomp.h>
/* domid_t and xen_pfn_t, which the ioctl headers use. */
#include <xen/xen.h>
#include <xen/sys/evtchn.h>
#include <xen/sys/gntdev.h>

#include "broker.h"

#define SECCOMP_POLICY_RULES
#include "broker_seccomp.h"
#include "broker_xensim_seccomp.h"

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

/* Names of system calls by number, made before the filter: the handler may
 * not allocate. */
#define NAMES_MAX 512
static char *names[NAMES_MAX];
static void (*report)(const char *name, int nr, uint64_t arg1);

void
seccomp_on_report(void (*fn)(const char *name, int nr, uint64_t arg1))
{
	report = fn;
}

static void
on_sigsys(int sig, siginfo_t *si, void *uc)
{
	int nr = si->si_syscall;
	uint64_t arg1 = 0;

#if defined(__x86_64__)
	/* The second argument says which ioctl, fcntl or socket it was. */
	arg1 = (uint64_t)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RSI];
#endif
	if (si->si_code == SYS_SECCOMP && report != NULL)
		report(nr >= 0 && nr < NAMES_MAX ? names[nr] : NULL, nr, arg1);
	/*
	 * A call no list allows (not even the sanitizer build's, which has
	 * ptrace): with SIGSYS blocked here, the kernel kills us with it.
	 */
	syscall(SYS_acct, NULL);
	_exit(127); /* not reached */
}

/* Whether the tests' simulated hypervisor is loaded (tests/xensim). */
static int
under_xensim(void)
{
	return dlsym(RTLD_DEFAULT, "xensim_preloaded") != NULL;
}

const char *const *
seccomp_broker_text(void)
{
	return broker_seccomp_text;
}

const char *const *
seccomp_broker_xensim_text(void)
{
	return broker_xensim_seccomp_text;
}

int
seccomp_broker_apply(void)
{
	struct sigaction sa;
	scmp_filter_ctx ctx;
	int r, i;

	for (i = 0; i < NAMES_MAX; i++)
		if (names[i] == NULL)
			names[i] = seccomp_syscall_resolve_num_arch(
				SCMP_ARCH_NATIVE, i);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		return -1;
	if ((ctx = seccomp_init(SCMP_ACT_TRAP)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	r = broker_seccomp_add(ctx);
	if (r == 0 && under_xensim()) {
		log_info("simulated hypervisor: its calls are added to the "
			 "seccomp filter");
		r = broker_xensim_seccomp_add(ctx);
	}
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}
