// SPDX-License-Identifier: GPL-2.0-only
/*
 * Request paths: relative ones are made absolute under the connection's
 * /local/domain/<id>, then the whole path is checked. This is the first
 * parser of guest bytes in the engine, kept free of side effects.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "xs_proto.h"

bool
path_chars_ok(const char *p)
{
	const char *s;

	if (p[0] != '/')
		return false;
	if (p[1] == '\0')
		return true;
	for (s = p; *s; s++) {
		char ch = *s;

		if (ch == '/') {
			/* No empty component, no trailing slash. */
			if (s[1] == '/' || s[1] == '\0')
				return false;
			continue;
		}
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    ch == '@')
			continue;
		return false;
	}
	return true;
}

/* Length of the "/local/domain/<digits>" prefix of p, or 0. */
static size_t
local_prefix_len(const char *p)
{
	static const char pre[] = "/local/domain/";
	size_t i = sizeof(pre) - 1;

	if (strncmp(p, pre, i) != 0)
		return 0;
	if (p[i] < '0' || p[i] > '9')
		return 0;
	while (p[i] >= '0' && p[i] <= '9')
		i++;
	return (p[i] == '/' || p[i] == '\0') ? i : 0;
}

int
path_canonical(struct engine *e, struct conn *c, const char *in, char *out,
	       bool *relative)
{
	size_t len = strlen(in), plen;
	int n;

	*relative = in[0] != '/';
	/* '@' names only exist for watches and their permissions. */
	if (len == 0 || in[0] == '@')
		return EINVAL;
	if (*relative) {
		if (len > XS_REL_PATH_MAX)
			return EINVAL;
		n = snprintf(out, XS_ABS_PATH_MAX_BUF, "/local/domain/%u/%s",
			     c->domid, in);
		if (n < 0 || n >= XS_ABS_PATH_MAX_BUF)
			return EINVAL;
	} else {
		if (len > XS_ABS_PATH_MAX)
			return EINVAL;
		memcpy(out, in, len + 1);
	}
	if (strlen(out) > XS_ABS_PATH_MAX || !path_chars_ok(out))
		return EINVAL;
	/* The path-max quota counts what a domain adds below its home. */
	plen = strlen(out);
	if ((n = (int)local_prefix_len(out)) > 0)
		plen -= (size_t)n + (out[n] == '/');
	if (quota_exceeded(e, c, Q_PATH_MAX, (long)plen))
		return EINVAL;
	return 0;
}

bool
path_is_child(const char *child, const char *parent)
{
	size_t l = strlen(parent);

	if (strcmp(parent, "/") == 0)
		return child[0] == '/';
	return strncmp(child, parent, l) == 0 &&
	       (child[l] == '/' || child[l] == '\0');
}

const char *
path_relative(const struct conn *c, const char *path)
{
	char pre[32];
	int n = snprintf(pre, sizeof(pre), "/local/domain/%u/", c->domid);

	if (n > 0 && strncmp(path, pre, (size_t)n) == 0)
		return path + n;
	return path;
}
