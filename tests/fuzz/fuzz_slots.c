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
#include "fuzz_store.h"
#include "xs_proto.h"

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
	if ((like = engine_new(fuzz_emit, fuzz_log, NULL)) == NULL)
		abort();
	e = journal_load(like, fd[0], fd[1], &js, why, sizeof(why));
	if (e != NULL && e != like)
		fuzz_check_free(e);
	engine_free(like);
	return 0;
}
