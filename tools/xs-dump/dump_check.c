// SPDX-License-Identifier: GPL-2.0-only
/*
 * The privileged parent of xs-dump does not take the sandbox on
 * trust: before the parser starts, it asks the kernel (/proc/PID/status,
 * whose lines the kernel writes) what the child has become.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump_tool.h"

/* The value of field name ("Uid:"), or NULL. */
static const char *
field(const char *status, const char *name)
{
	size_t n = strlen(name);
	const char *p = status;

	while (p != NULL) {
		if (strncmp(p, name, n) == 0)
			return p + n;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return NULL;
}

/* Are all four ids (real, effective, saved, filesystem) id? */
static bool
ids_are(const char *v, unsigned long id)
{
	char *end;
	int i;

	for (i = 0; i < 4; i++) {
		errno = 0;
		if (v == NULL || strtoul(v, &end, 10) != id || end == v ||
		    errno != 0)
			return false;
		v = end;
	}
	return true;
}

/* Is the field a number equal to want (base 16 for capability sets)? */
static bool
num_is(const char *v, int base, unsigned long long want)
{
	char *end;

	errno = 0;
	return v != NULL && strtoull(v, &end, base) == want && end != v &&
	       errno == 0 && (*end == '\n' || *end == '\0');
}

static bool
no_groups(const char *v)
{
	return v != NULL && v[strspn(v, " \t")] == '\n';
}

static int
read_status(pid_t pid, char *buf, size_t len)
{
	char path[64];
	size_t got = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return 0;
}

int
dump_check(pid_t pid, uid_t uid, gid_t gid, char *why, size_t len)
{
	static const char *const caps[] = {
		"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"};
	char st[8192];
	size_t i;

	if (read_status(pid, st, sizeof(st)) == -1) {
		snprintf(why, len, "/proc/%ld/status: %s", (long)pid,
			 strerror(errno));
		return -1;
	}
	if (!ids_are(field(st, "Uid:"), uid) ||
	    !ids_are(field(st, "Gid:"), gid)) {
		snprintf(why, len, "not uid %u gid %u", (unsigned int)uid,
			 (unsigned int)gid);
		return -1;
	}
	if (!no_groups(field(st, "Groups:"))) {
		snprintf(why, len, "supplementary groups left");
		return -1;
	}
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (!num_is(field(st, caps[i]), 16, 0)) {
			snprintf(why, len, "capabilities left (%s)", caps[i]);
			return -1;
		}
	if (!num_is(field(st, "NoNewPrivs:"), 10, 1)) {
		snprintf(why, len, "no no_new_privs");
		return -1;
	}
	/* 2: SECCOMP_MODE_FILTER. */
	if (!num_is(field(st, "Seccomp:"), 10, 2)) {
		snprintf(why, len, "no seccomp filter");
		return -1;
	}
	return 0;
}
