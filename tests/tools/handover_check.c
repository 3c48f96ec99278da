// SPDX-License-Identifier: GPL-2.0-only
/*
 * handover_check FILE [CONN-ID...]: runs the broker's check of a stream for
 * C xenstored 4.17 (broker/handover_check.c) on FILE, as if the broker had
 * restored the connections named, and prints "ok OFFSET LENGTH" (exit 0)
 * or why not (exit 1).
 */
#include <stdio.h>
#include <stdlib.h>

#include "broker.h"

int
main(int argc, char **argv)
{
	static uint8_t buf[1 << 24];
	uint32_t ids[64];
	size_t len, off, blen;
	const char *why;
	FILE *f;
	int i;

	if (argc < 2 || argc - 2 > 64 || (f = fopen(argv[1], "rb")) == NULL) {
		fprintf(stderr, "usage: handover_check FILE [CONN-ID...]\n");
		return 2;
	}
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	for (i = 2; i < argc; i++)
		ids[i - 2] = (uint32_t)strtoul(argv[i], NULL, 10);
	why = handover_records_check(buf, len, ids, (size_t)argc - 2, &off,
				     &blen);
	if (why != NULL) {
		printf("%s\n", why);
		return 1;
	}
	printf("ok %zu %zu\n", off, blen);
	return 0;
}
