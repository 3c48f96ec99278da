/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * For the fuzz targets that restore a store: the engine's callbacks, and
 * the check that what was restored is consistent.
 */
#ifndef FUZZ_STORE_H
#define FUZZ_STORE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "xs_proto.h"

/* The payload of the engine's last reply, cut short. */
static char fuzz_last[64];

static void
fuzz_emit(void *arg, uint32_t conn, uint32_t type, uint32_t req_id,
	  uint32_t tx_id, const void *payload, size_t len)
{
	size_t n = len < sizeof(fuzz_last) - 1 ? len : sizeof(fuzz_last) - 1;

	memcpy(fuzz_last, payload, n);
	fuzz_last[n] = '\0';
}

static void
fuzz_log(void *arg, int level, const char *text)
{
}

/* A restored store must pass CONTROL check; it is freed. */
static void
fuzz_check_free(struct engine *e)
{
	if (engine_conn_open(e, 0xffffffu, 0, true, false) == 0) {
		engine_request(e, 0xffffffu, XS_CONTROL, 1, 0, "check", 6);
		if (strcmp(fuzz_last, "OK") != 0)
			abort();
	}
	engine_free(e);
}

#endif
