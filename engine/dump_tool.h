/* SPDX-License-Identifier: GPL-2.0-only */
/* xs-engine --dump: the running store to a file (dump_tool.c). */
#ifndef DUMP_TOOL_H
#define DUMP_TOOL_H

/*
 * Writes the store of the broker with the given pid (0: the one serving
 * the xenstore socket) to file ("-": standard output). Returns the exit
 * status.
 */
int dump_tool(const char *file, long pid);

#endif
