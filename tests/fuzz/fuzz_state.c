// SPDX-License-Identifier: GPL-2.0-only
/*
 * Restoring a migration stream from a file nobody vouches for: refused or
 * restored, never a crash, and what is restored is consistent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "fuzz_store.h"
#include "xs_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine *e;
	char why[256];

	e = state_restore(data, size, fuzz_emit, fuzz_log, NULL, why,
			  sizeof(why));
	if (e == NULL)
		return 0;
	fuzz_check_free(e);
	return 0;
}
