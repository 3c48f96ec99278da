// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sequences of requests from dom0 and from two guests, as a guest could
 * send them: every payload parser and every handler of the engine sees
 * hostile bytes here. After each sequence the store must pass its own
 * consistency check.
 *
 * Input: records of [conn selector][type][tx selector][len][payload...].
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "xs_proto.h"

struct last {
	uint32_t type;
	char payload[XS_PAYLOAD_MAX + 1];
	size_t len;
	uint32_t txid;
};

static void
emit(void *arg, uint32_t conn, uint32_t type, uint32_t req_id, uint32_t tx_id,
     const void *payload, size_t len)
{
	struct last *l = arg;

	if (len > XS_PAYLOAD_MAX)
		abort(); /* the engine must never build an oversized reply */
	if (type == XS_TRANSACTION_START)
		l->txid = (uint32_t)strtoul(payload, NULL, 10);
	l->type = type;
	memcpy(l->payload, payload, len);
	l->len = len;
}

static void
logf_(void *arg, int level, const char *text)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char intro[] = "5\0"
				    "1\0"
				    "1\0";
	struct last l = {0};
	struct engine *e = engine_new(emit, logf_, &l);
	uint32_t txids[4] = {0};
	size_t ntx = 0, off = 0;

	if (e == NULL)
		abort();
	engine_conn_open(e, 1, 0, true, false);
	engine_conn_open(e, 2, 0, true, true);
	engine_conn_open(e, 3, 5, false, false);
	engine_conn_open(e, 4, 6, false, false);
	engine_request(e, 1, XS_INTRODUCE, 1, 0, intro, sizeof(intro) - 1);
	while (off + 4 <= size) {
		uint32_t conn = 1 + data[off] % 4;
		uint32_t type = data[off + 1] % 30;
		uint32_t tx = data[off + 2] % 8;
		size_t len = data[off + 3];

		off += 4;
		if (len > size - off)
			len = size - off;
		/* Mostly real transaction ids, sometimes made-up ones. */
		tx = tx < 4 ? (tx < ntx ? txids[tx] : 0) : tx * 1000;
		l.txid = 0;
		engine_request(e, conn, type, 1, tx, data + off, len);
		if (l.txid && ntx < 4)
			txids[ntx++] = l.txid;
		off += len;
	}
	engine_request(e, 1, XS_CONTROL, 2, 0, "check", 6);
	if (l.type != XS_CONTROL || strcmp(l.payload, "OK") != 0)
		abort(); /* the store is inconsistent */
	engine_free(e);
	return 0;
}
