// SPDX-License-Identifier: GPL-2.0-only
/*
 * The engine's sandbox, applied once before the first request:
 *
 *  1. close every fd but the channel, the state memfds and --dump's output;
 *  2. new mount, net, ipc and uts namespaces, and an empty read-only root
 *     (where the kernel permits; the PID namespace is made by the broker),
 *     pivoted to or, where the kernel cannot pivot, chrooted into;
 *  3. an unprivileged uid and gid, no supplementary groups, no capabilities
 *     in any set, an empty bounding set (libcap-ng);
 *  4. PR_SET_NO_NEW_PRIVS;
 *  5. rlimits: no file may be written or created, no process, no core;
 *  6. the seccomp allow-list of policy/engine.seccomp (libseccomp).
 *
 * Namespaces come before the user switch because making them needs the
 * capabilities that step 3 removes. Any failure but the namespaces' own
 * EPERM/EINVAL is fatal: the engine refuses to run half-sandboxed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cap-ng.h>
#include <seccomp.h>

#include "sandbox.h"

#define SECCOMP_POLICY_RULES
#include "seccomp_policy.h"

/* si_code of a SIGSYS raised by seccomp (asm-generic/siginfo.h). */
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

static int violation_fd = -1;

static size_t
put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/*
 * A call outside the allow-list. Tell the broker which one (a Violation
 * frame, encoded by hand: nothing here may allocate), then make a call that
 * is never allowed: with SIGSYS blocked in this handler the kernel delivers
 * the second SIGSYS with its default action, and the engine dies of it.
 */
static void
on_sigsys(int sig, siginfo_t *si, void *uc)
{
	uint8_t v[16], tb[24], fr[32], out[40];
	size_t nv = 0, ntb = 0, nfr = 0;

	/* A SIGSYS someone sent is no report: just die of it. */
	if (si->si_code != SYS_SECCOMP)
		goto die;

	v[nv++] = 0x08; /* Violation.syscall */
	nv += put_varint(v + nv, (uint32_t)si->si_syscall);
	v[nv++] = 0x10; /* Violation.arch */
	nv += put_varint(v + nv, si->si_arch);
	tb[ntb++] = 0x1a; /* ToBroker.violation */
	ntb += put_varint(tb + ntb, nv);
	memcpy(tb + ntb, v, nv);
	ntb += nv;
	fr[nfr++] = 0x0a; /* EngineFrame.msgs */
	nfr += put_varint(fr + nfr, ntb);
	memcpy(fr + nfr, tb, ntb);
	nfr += ntb;
	out[0] = out[1] = 0;
	out[2] = (uint8_t)(nfr >> 8);
	out[3] = (uint8_t)nfr;
	memcpy(out + 4, fr, nfr);
	if (write(violation_fd, out, nfr + 4) < 0) {
		/* Nothing to do: the engine dies either way. */
	}
die:
	/* ptrace is never allowed (and would be harmless if it were). */
	syscall(SYS_ptrace, PTRACE_TRACEME, 0, NULL, NULL);
	_exit(127); /* not reached */
}

static int
fail(char *why, size_t len, const char *step, int err)
{
	snprintf(why, len, "%s: %s", step, strerror(err));
	return -1;
}

static bool
kept(const struct sandbox_cfg *cfg, int fd)
{
	return fd == cfg->channel || fd == cfg->state[0] ||
	       fd == cfg->state[1] || fd == cfg->output;
}

/* The highest fd the engine keeps. */
static int
top_fd(const struct sandbox_cfg *cfg)
{
	int top = cfg->channel;

	if (cfg->state[0] > top)
		top = cfg->state[0];
	if (cfg->state[1] > top)
		top = cfg->state[1];
	if (cfg->output > top)
		top = cfg->output;
	return top;
}

static int
close_fds(const struct sandbox_cfg *cfg)
{
	int fd, top = top_fd(cfg);

	for (fd = 0; fd < top; fd++)
		if (!kept(cfg, fd) && close(fd) == -1 && errno != EBADF)
			return -1;
	return close_range((unsigned int)top + 1, ~0u, 0);
}

/*
 * A new tmpfs, empty, read-only and mounted nowhere yet: made with the
 * mount API that needs no directory to mount on, since a minimal root
 * (an initramfs) may have no /tmp.
 */
static int
empty_tmpfs(char *why, size_t len)
{
	int fs, mnt;

	fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs == -1)
		return fail(why, len, "creating the empty root", errno);
	if (fsconfig(fs, FSCONFIG_SET_STRING, "size", "4k", 0) == -1 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "nr_inodes", "1", 0) == -1 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0555", 0) == -1 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == -1) {
		close(fs);
		return fail(why, len, "creating the empty root", errno);
	}
	mnt = fsmount(fs, FSMOUNT_CLOEXEC,
		      MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
			      MOUNT_ATTR_NOEXEC);
	close(fs);
	if (mnt == -1)
		return fail(why, len, "mounting the empty root", errno);
	return mnt;
}

/*
 * The empty tmpfs, mounted atop the old root, becomes the root and the
 * host's root is detached from this mount namespace altogether. Fails with
 * EINVAL where the kernel cannot pivot: the root is the initramfs (rootfs,
 * as diskless and rescue dom0s run) or not a mount point (started inside a
 * chroot).
 */
static int
pivot_into(int mnt)
{
	/* Our mounts must not propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		return -1;
	if (move_mount(mnt, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) == -1 ||
	    fchdir(mnt) == -1)
		return -1;
	if (syscall(SYS_pivot_root, ".", ".") == -1)
		return -1;
	/* Never EINVAL here: the pivot is done, only the detach failed. */
	if (umount2(".", MNT_DETACH) == -1)
		return errno = EBUSY, -1;
	return 0;
}

/*
 * The empty tmpfs becomes the root: pivoted to where the kernel can, else
 * chrooted into, as OpenSSH does with /var/empty. A chroot leaves the
 * host's root mounted in the namespace, but out of reach: no fd outside is
 * left open and CAP_SYS_CHROOT goes with the other capabilities.
 */
static int
empty_root(struct sandbox_state *st, char *why, size_t len)
{
	int mnt = empty_tmpfs(why, len);

	if (mnt == -1)
		return -1;
	if (pivot_into(mnt) == 0) {
		st->root = SANDBOX_ROOT_PIVOT;
	} else if (errno == EINVAL) {
		if (fchdir(mnt) == -1 || chroot(".") == -1) {
			close(mnt);
			return fail(why, len, "chroot", errno);
		}
		st->root = SANDBOX_ROOT_CHROOT;
	} else {
		close(mnt);
		return fail(why, len, "pivoting to the empty root", errno);
	}
	close(mnt);
	if (chdir("/") == -1)
		return fail(why, len, "entering the empty root", errno);
	return 0;
}

static int
drop_ids(const struct sandbox_cfg *cfg, char *why, size_t len)
{
	int cap;

	if (cfg->uid == 0 || cfg->gid == 0)
		return fail(why, len, "switching user", EINVAL);
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_change_id((int)cfg->uid, (int)cfg->gid,
			    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) != 0)
		return fail(why, len,
			    "switching user and dropping capabilities",
			    errno ? errno : EPERM);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		return fail(why, len, "clearing ambient capabilities", errno);
	/*
	 * Trust nothing: ask the kernel what we now are (with prctl, not
	 * /proc, which the empty root no longer has).
	 */
	capng_get_caps_process();
	if (getuid() != cfg->uid || geteuid() != cfg->uid ||
	    getgid() != cfg->gid || getegid() != cfg->gid ||
	    getgroups(0, NULL) != 0 ||
	    capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
		return fail(why, len, "verifying the dropped privileges",
			    EPERM);
	for (cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) > 0)
			return fail(why, len, "verifying the bounding set",
				    EPERM);
	return 0;
}

static int
limits(const struct sandbox_cfg *cfg, char *why, size_t len)
{
	const struct {
		int res;
		rlim_t v;
		const char *name;
	} l[] = {
		/*
		 * No file can be written: there is none in reach. The state
		 * memfds can, up to the address-space limit each, so that a
		 * broken engine cannot fill the broker's memory without end
		 * (--dump, which has them, sets no limit: its output grows
		 * with the store).
		 */
		{RLIMIT_FSIZE,
		 cfg->state[0] < 0 ? 0
		 : cfg->as_limit   ? (rlim_t)cfg->as_limit
				   : RLIM_INFINITY,
		 "RLIMIT_FSIZE"},
		{RLIMIT_NOFILE, (rlim_t)top_fd(cfg) + 1, "RLIMIT_NOFILE"},
		{RLIMIT_NPROC, 0, "RLIMIT_NPROC"},
		{RLIMIT_CORE, 0, "RLIMIT_CORE"},
		{RLIMIT_MEMLOCK, 0, "RLIMIT_MEMLOCK"},
		{RLIMIT_AS,
		 cfg->as_limit ? (rlim_t)cfg->as_limit : RLIM_INFINITY,
		 "RLIMIT_AS"},
	};
	struct rlimit rl;
	size_t i;

	for (i = 0; i < sizeof(l) / sizeof(l[0]); i++) {
		if (l[i].v == RLIM_INFINITY)
			continue;
		rl.rlim_cur = rl.rlim_max = l[i].v;
		if (setrlimit(l[i].res, &rl) == -1)
			return fail(why, len, l[i].name, errno);
	}
	return 0;
}

static int
filter(const struct sandbox_cfg *cfg, char *why, size_t len)
{
	struct sigaction sa;
	scmp_filter_ctx ctx;
	int r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	violation_fd = cfg->channel;
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		return fail(why, len, "SIGSYS handler", errno);
	/* Trap, not kill: the handler names the call, then the engine dies. */
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (ctx == NULL)
		return fail(why, len, "seccomp_init", ENOMEM);
	r = seccomp_policy_add(ctx, cfg->channel, cfg->state[0], cfg->state[1],
			       cfg->output);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return fail(why, len, "loading the seccomp filter", -r);
	return 0;
}

int
sandbox_apply(const struct sandbox_cfg *cfg, struct sandbox_state *st,
	      char *why, size_t whylen)
{
	st->namespaces = st->empty_root = false;
	st->root = SANDBOX_ROOT_HOST;
	if (close_fds(cfg) == -1)
		return fail(why, whylen, "closing file descriptors", errno);
	if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) ==
	    0) {
		st->namespaces = true;
		if (empty_root(st, why, whylen) == -1)
			return -1;
		st->empty_root = true;
	} else if (errno != EPERM && errno != EINVAL) {
		return fail(why, whylen, "new namespaces", errno);
	}
	if (drop_ids(cfg, why, whylen) == -1)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return fail(why, whylen, "PR_SET_NO_NEW_PRIVS", errno);
	if (limits(cfg, why, whylen) == -1)
		return -1;
	return filter(cfg, why, whylen);
}

const char *
sandbox_describe(const struct sandbox_state *st)
{
	switch (st->root) {
	case SANDBOX_ROOT_PIVOT:
		return ", private namespaces, empty root (pivot_root)";
	case SANDBOX_ROOT_CHROOT:
		return ", private namespaces, empty root (chroot: the root "
		       "cannot be pivoted)";
	case SANDBOX_ROOT_HOST:
		break;
	}
	return "; the kernel refused new namespaces";
}
