// SPDX-License-Identifier: GPL-2.0-only
/*
 * The broker's own XS_CONTROL command, quarantine: whatever payload a
 * privileged client sends, control_answer() must read only its bytes and
 * give a NUL-terminated answer of the length it says, of type CONTROL or
 * ERROR. No domain is quarantined here, so a lift can only be refused.
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xs_hdr hdr = {XS_CONTROL, 1, 0, 0};
	char out[XS_PAYLOAD_MAX];
	uint32_t type;
	uint8_t *copy;
	size_t n;

	if (size > XS_PAYLOAD_MAX)
		return 0;
	/* An exact-size heap copy, so ASan sees any read past the end. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	hdr.len = (uint32_t)size;
	if (control_is_ours(&hdr, copy)) {
		n = control_answer(&hdr, copy, 1, &type, out, sizeof(out));
		if (n == 0 || n > sizeof(out) || out[n - 1] != '\0' ||
		    strlen(out) + 1 != n ||
		    (type != XS_CONTROL && type != XS_ERROR))
			abort();
		if (type == XS_CONTROL && strcmp(out, "") != 0)
			abort();
	}
	free(copy);
	return 0;
}
