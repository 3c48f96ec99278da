/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The whole store as a xenstore migration stream (Xen's
 * docs/designs/xenstore-migration.md, version 2): what a live update hands
 * to the next engine, and what a dump file holds.
 */
#ifndef STATE_H
#define STATE_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

typedef int (*state_out_fn)(void *arg, const void *buf, size_t len);

/* Writes the store: quotas, domains, connections, watches, nodes, END. */
int state_dump(struct engine *e, state_out_fn out, void *arg);

/*
 * Builds a new engine from a stream. Every record is checked; a truncated
 * or malformed stream yields NULL and a reason in why, and nothing else
 * changes.
 */
struct engine *state_restore(const uint8_t *buf, size_t len, emit_fn emit,
			     log_fn log, void *cb_arg, char *why,
			     size_t whylen);

#endif
