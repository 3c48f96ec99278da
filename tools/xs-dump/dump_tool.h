/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xs-dump: the running store to a file. A privileged parent finds
 * and copies the bytes; a child in the engine's sandbox parses them and
 * writes the stream, since an engine a guest may have subverted wrote them.
 */
#ifndef DUMP_TOOL_H
#define DUMP_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* dump_tool.c */
/*
 * Writes the store of the broker with the given pid (0: the one serving
 * the xenstore socket) to file ("-": standard output); verbose tells how
 * the parser is confined. Returns the exit status.
 */
int dump_tool(const char *file, long pid, bool verbose);

/* dump_state.c */
/*
 * Sealed copies of the state memfds of the broker pid (0: the one serving
 * the xenstore socket) in copy. Returns 0, or -1 after saying why.
 */
int dump_state(long pid, int copy[2]);

/* dump_parse.c */
/* All of buf to fd. Returns 0, or the errno of the write that failed. */
int dump_write_all(int fd, const void *buf, size_t len);
struct dump_child {
	int chan;     /* to the parent: "sandboxed", "go", what went wrong */
	int state[2]; /* the copies of the state */
	int out;      /* where the stream goes */
	uid_t uid;    /* the engine's user */
	gid_t gid;
};
/* The byte the child sends once sandboxed, and the one it waits for. */
#define DUMP_SANDBOXED '\0'
#define DUMP_GO 'g'
/*
 * In the child: enters the sandbox, waits for the parent's go, parses and
 * writes the stream. Exits 0 when it is written whole.
 */
_Noreturn void dump_parse(const struct dump_child *c);

/* dump_check.c */
/*
 * What the kernel says of process pid: its uid and gid are those given,
 * no groups, no capabilities, no_new_privs, a seccomp filter. Returns 0,
 * or -1 with what is not so in why.
 */
int dump_check(pid_t pid, uid_t uid, gid_t gid, char *why, size_t len);

#endif
