// SPDX-License-Identifier: GPL-2.0-only
/*
 * The one XS_CONTROL command the broker answers itself, `quarantine`,
 * from dom0's privileged socket only: the quarantine is the broker's
 * defence against the engine's crashes, so no engine, which a guest may
 * have subverted, has a say in it. Every other command, and this one from
 * anywhere else, goes to the engine unchanged.
 *
 *   quarantine              the quarantined domains, one a line
 *   quarantine lift DOMID   serve DOMID's ring again
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"

#define CONTROL_ARGS_MAX 3

static const char command[] = "quarantine";

int
control_is_ours(const struct xs_hdr *hdr, const uint8_t *payload)
{
	return hdr->type == XS_CONTROL && hdr->len >= sizeof(command) &&
	       memcmp(payload, command, sizeof(command)) == 0;
}

/* The NUL-separated arguments; the last one's NUL may be missing. */
static int
control_args(const uint8_t *payload, size_t len, char *copy,
	     const char *argv[CONTROL_ARGS_MAX])
{
	size_t i, start = 0;
	int argc = 0;

	memcpy(copy, payload, len);
	copy[len] = '\0';
	for (i = 0; i <= len; i++) {
		if (copy[i] != '\0' || (i == len && start == len))
			continue;
		if (argc == CONTROL_ARGS_MAX)
			return -1;
		argv[argc++] = copy + start;
		start = i + 1;
	}
	return argc;
}

static int
parse_domid(const char *s, uint32_t *domid)
{
	unsigned long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v == 0 || v >= XS_DOMID_FIRST_RESERVED)
		return -1;
	*domid = (uint32_t)v;
	return 0;
}

/*
 * The answer to a request control_is_ours() took, from connection conn:
 * its type (XS_CONTROL or XS_ERROR) and a NUL-terminated payload in out.
 * Returns the payload's length.
 */
size_t
control_answer(const struct xs_hdr *hdr, const uint8_t *payload, uint32_t conn,
	       uint32_t *type, char *out, size_t size)
{
	char copy[XS_PAYLOAD_MAX + 1];
	const char *argv[CONTROL_ARGS_MAX];
	const char *err = "EINVAL";
	uint32_t domid;
	int argc;

	argc = control_args(payload, hdr->len, copy, argv);
	*type = XS_CONTROL;
	if (argc == 1)
		return quarantine_list(out, size) + 1;
	if (argc == 3 && strcmp(argv[1], "lift") == 0 &&
	    parse_domid(argv[2], &domid) == 0) {
		if (quarantine_lift(domid, conn) == 0)
			return (size_t)snprintf(out, size, "OK") + 1;
		err = "ENOENT";
	}
	*type = XS_ERROR;
	return (size_t)snprintf(out, size, "%s", err) + 1;
}
