/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The arguments of a request's payload, as both halves read them. The
 * engine reads every request with these; the broker reads the few whose
 * effects it must authorise (INTRODUCE, RELEASE, CONTROL live-update), so
 * that what it allows and what an honest engine asks for can never differ
 * by a parser's corner case.
 */
#ifndef XS_ARGS_H
#define XS_ARGS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Splits payload into its NUL-terminated strings. Returns how many, or -1
 * when the last one is not terminated or there are more than max.
 */
static inline int
xs_args_split(const char *payload, size_t len, const char **argv, int max)
{
	const char *p = payload, *end = payload + len;
	int argc = 0;
	size_t l;

	while (p < end && argc < max) {
		l = strnlen(p, (size_t)(end - p));
		if (p + l == end)
			return -1;
		argv[argc++] = p;
		p += l + 1;
	}
	return p < end ? -1 : argc;
}

/* A domain id in decimal digits only, at most 65535. */
static inline int
xs_domid_parse(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint32_t)(*s - '0');
		if (v > 65535)
			return -1;
	}
	*out = v;
	return 0;
}

/* An unsigned decimal number as strtoul reads it, whole string, no error. */
static inline int
xs_ulong_parse(const char *s, unsigned long *out)
{
	char *end;

	if (*s == '\0')
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return *end || errno ? -1 : 0;
}

/* INTRODUCE's domid, gfn and event channel port (argv[0..2]). */
static inline int
xs_introduce_parse(int argc, const char *const *argv, uint32_t *domid,
		   unsigned long *gfn, uint32_t *port)
{
	unsigned long p;

	if (argc < 3 || xs_domid_parse(argv[0], domid) == -1 ||
	    xs_ulong_parse(argv[1], gfn) == -1 ||
	    xs_ulong_parse(argv[2], &p) == -1 || p == 0 || p > UINT32_MAX)
		return -1;
	*port = (uint32_t)p;
	return 0;
}

#endif
