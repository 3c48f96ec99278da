// SPDX-License-Identifier: GPL-2.0-only
/*
 * The audit policy parser: any file either parses or is refused with a
 * message naming the file and line, and a parsed policy matches any
 * request without reading out of bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {"/", "/a", "/a/b", "a", "@x", ""};
	struct audit_policy *p;
	char err[512], *text;
	uint32_t type;
	size_t i;

	if ((text = malloc(size ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(text, data, size);
	err[0] = '\0';
	p = audit_policy_parse(text, size, "fuzz.policy", err, sizeof(err));
	if (p == NULL) {
		if (strncmp(err, "fuzz.policy:", 12) != 0)
			abort();
		free(text);
		return 0;
	}
	for (type = 0; type < 40; type += 3)
		for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
			if (audit_policy_match(p, type % 7, type,
					       (const uint8_t *)paths[i],
					       strlen(paths[i])) > AUDIT_SKIP)
				abort();
	audit_policy_match(p, 0, 2, NULL, 0);
	audit_policy_free(p);
	free(text);
	return 0;
}
