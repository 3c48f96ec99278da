// SPDX-License-Identifier: GPL-2.0-only
/*
 * xs-dump: the store of a running split-xenstored as a xenstore migration
 * stream (dump_tool.c), for xs-broker --restore or another daemon.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "dump_tool.h"
#include "hmap.h"

static void usage(int) __attribute__((noreturn));

static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: xs-dump [-V] [--broker PID] FILE|-\n"
		"Writes the store of the running broker (or of PID) as a "
		"xenstore migration\nstream to FILE (- for standard output), "
		"for xs-broker --restore.\n");
	exit(status);
}

/* A process id: digits only, from 1. */
static long
pid_arg(const char *s)
{
	char *end;
	long v;

	if (s[0] < '1' || s[0] > '9')
		usage(2);
	v = strtol(s, &end, 10);
	if (*end != '\0' || v <= 0 || v > 0x3fffffff)
		usage(2);
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"broker", required_argument, NULL, 'B'},
		{"verbose", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'H'},
		{NULL, 0, NULL, 0},
	};
	bool verbose = false;
	long broker = 0;
	int c;

	while ((c = getopt_long(argc, argv, "VH", longopts, NULL)) != -1) {
		switch (c) {
		case 'B':
			broker = pid_arg(optarg);
			break;
		case 'V':
			verbose = true;
			break;
		case 'H':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc - 1)
		usage(2);
	/* The parser's maps, keyed as the engine's are. */
	if (hmap_key_random() == -1) {
		perror("xs-dump: getrandom");
		return 1;
	}
	return dump_tool(argv[optind], broker, verbose);
}
