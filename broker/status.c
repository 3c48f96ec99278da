// SPDX-License-Identifier: GPL-2.0-only
/*
 * SIGUSR1's status line: the broker's own memory and connections, in its
 * log, for an administrator or a soak test that compares them before and
 * after a load. Only whoever may signal the broker (root, or its own user)
 * asks, and the figures are the broker's, so no client and no engine has
 * a say in them.
 */
#include <stddef.h>

#include "broker.h"
#include "mem_inuse.h"

static size_t status_conns;

static void
status_count(uint32_t id, uint32_t domid, int privileged, int readonly)
{
	status_conns++;
}

void
status_log(void)
{
	status_conns = 0;
	conn_each(status_count);
	log_info("status: %zu bytes of memory in use, %zu connections",
		 mem_in_use(), status_conns);
}
