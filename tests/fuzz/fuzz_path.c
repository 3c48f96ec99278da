// SPDX-License-Identifier: GPL-2.0-only
/* Path canonicalisation and checking, for a privileged and a guest caller. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "xs_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct engine *e;
	char in[XS_ABS_PATH_MAX + 64], out[PATH_BUF];
	struct conn c = {.id = 1, .domid = 7, .priv = false};
	bool rel;

	if (e == NULL)
		e = engine_new(NULL, NULL, NULL);
	if (size >= sizeof(in))
		size = sizeof(in) - 1;
	memcpy(in, data, size);
	in[size] = '\0';
	if (path_canonical(e, &c, in, out, &rel) == 0) {
		/* What passes must be a clean absolute path. */
		if (!path_chars_ok(out) || strlen(out) > XS_ABS_PATH_MAX)
			abort();
	}
	c.priv = true;
	c.domid = 0;
	if (path_canonical(e, &c, in, out, &rel) == 0 && !path_chars_ok(out))
		abort();
	return 0;
}
