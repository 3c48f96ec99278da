// SPDX-License-Identifier: GPL-2.0-only
/*
 * The two state slots a restarted engine loads: written by the engine that
 * ran before, which may have been subverted, so they are input like any
 * other. Headers, the compressed snapshot and the journal's groups are
 * refused or restored, never a crash, and a restored store is consistent.
 *
 * Input: a little-endian 32-bit length n, then n bytes of slot A, then the
 * rest as slot B.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "journal.h"
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

static void
fill(int fd, const uint8_t *p, size_t n)
{
	if (ftruncate(fd, 0) != 0 ||
	    (n > 0 && pwrite(fd, p, n, 0) != (ssize_t)n))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd[2] = {-1, -1};
	struct journal_slot js;
	struct engine *like, *e;
	char why[256];
	uint32_t n;

	if (fd[0] == -1 && ((fd[0] = memfd_create("slot-a", 0)) == -1 ||
			    (fd[1] = memfd_create("slot-b", 0)) == -1))
		abort();
	if (size < 4)
		return 0;
	memcpy(&n, data, 4);
	data += 4;
	size -= 4;
	if (n > size)
		n = (uint32_t)size;
	fill(fd[0], data, n);
	fill(fd[1], data + n, size - n);
	if ((like = engine_new(emit, logf_, NULL)) == NULL)
		abort();
	e = journal_load(like, fd[0], fd[1], &js, why, sizeof(why));
	if (e != NULL && e != like) {
		if (engine_conn_open(e, 0xffffffu, 0, true, false) == 0) {
			engine_request(e, 0xffffffu, XS_CONTROL, 1, 0, "check",
				       6);
			if (strcmp(last, "OK") != 0)
				abort();
		}
		engine_free(e);
	}
	engine_free(like);
	return 0;
}
