// SPDX-License-Identifier: GPL-2.0-only
/*
 * The engine's decoder of broker frames, and what the engine does with a
 * frame that passes: random bytes must be refused or handled, never crash.
 */
#include <stdint.h>
#include <stdlib.h>

#include "chan.h"

static void
emit(void *arg, uint32_t conn, uint32_t type, uint32_t req_id, uint32_t tx_id,
     const void *payload, size_t len)
{
}

static void
logf_(void *arg, int level, const char *text)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine *e = engine_new(emit, logf_, NULL);
	Xsp__BrokerFrame *f;
	const char *why;

	if (e == NULL)
		abort();
	f = chan_decode(data, size, &why);
	if (f) {
		chan_apply(e, f, &why);
		chan_decode_done(f);
	}
	engine_free(e);
	return 0;
}
