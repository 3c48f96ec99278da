// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restoring a migration stream from a file nobody vouches for: refused or
 * restored, never a crash, and what is restored is consistent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "xs_proto.h"

static char last[64];

static void
emit(void *arg, uint32_t conn, uint32_t type, uint32_t req_id, uint32_t tx_id,
     const void *payload, size_t len)
{
	memcpy(last, payload, len < sizeof(last) - 1 ? len : sizeof(last) - 1);
	last[len < sizeof(last) - 1 ? len : sizeof(last) - 1] = '\0';
}

static void
logf_(void *arg, int level, const char *text)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine *e;
	char why[256];

	e = state_restore(data, size, emit, logf_, NULL, why, sizeof(why));
	if (e == NULL)
		return 0;
	if (engine_conn_open(e, 0xffffffu, 0, true, false) == 0) {
		engine_request(e, 0xffffffu, XS_CONTROL, 1, 0, "check", 6);
		if (strcmp(last, "OK") != 0)
			abort();
	}
	engine_free(e);
	return 0;
}
