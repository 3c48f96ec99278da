/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The engine's sandbox: what it gives up before it reads its first request.
 * Tests link this same code (tests/unit/test_sandbox.c).
 */
#ifndef SANDBOX_H
#define SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sandbox_cfg {
	int channel;  /* the channel to the broker stays open */
	int state[2]; /* and the broker's state memfds (-1: none) */
	int output;   /* and --dump's output (-1: none, as in the engine) */
	uid_t uid;    /* unprivileged user and group to become */
	gid_t gid;
	uint64_t as_limit; /* address-space limit in bytes; 0: none */
};

/* How the engine reached its empty root. */
enum sandbox_root {
	SANDBOX_ROOT_HOST,   /* it did not: the host's root is still its own */
	SANDBOX_ROOT_PIVOT,  /* pivot_root, the host's root detached */
	SANDBOX_ROOT_CHROOT, /* chroot, where the root cannot be pivoted */
};

/* Outcome of the steps that depend on what the kernel permits. */
struct sandbox_state {
	bool namespaces;        /* new mount, net, ipc and uts namespaces */
	bool empty_root;        /* the root is an empty read-only tmpfs */
	enum sandbox_root root; /* and how it got there */
};

/*
 * Applies every step, in order. Returns 0, or -1 with a description of the
 * step that failed in why: the engine must then refuse to run.
 */
int sandbox_apply(const struct sandbox_cfg *cfg, struct sandbox_state *st,
		  char *why, size_t whylen);

/* What the namespace steps achieved, for the engine's log line. */
const char *sandbox_describe(const struct sandbox_state *st);

#endif
