// SPDX-License-Identifier: GPL-2.0-only
/*
 * Framing of xsd_sockmsg as a client writes it: a 16-byte header in host
 * byte order, then len bytes of payload. This is all the broker judges about
 * a request; types, NULs and paths are the engine's business.
 */
#include <string.h>

#include "broker.h"

/*
 * Looks at the start of buf. Returns SOCKMSG_MORE when the message is not
 * complete yet, SOCKMSG_BAD when the header announces more than
 * XS_PAYLOAD_MAX bytes (the client cannot be resynchronised and is
 * dropped), else the size of the whole message. *hdr is filled in as soon
 * as the header is complete.
 */
long
sockmsg_parse(const uint8_t *buf, size_t len, struct xs_hdr *hdr)
{
	if (len < XS_HDR_SIZE)
		return SOCKMSG_MORE;
	memcpy(hdr, buf, sizeof(*hdr));
	if (hdr->len > XS_PAYLOAD_MAX)
		return SOCKMSG_BAD;
	if (len - XS_HDR_SIZE < hdr->len)
		return SOCKMSG_MORE;
	return (long)(XS_HDR_SIZE + hdr->len);
}
