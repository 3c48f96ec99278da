// SPDX-License-Identifier: GPL-2.0-only
/* Length-prefixed frame buffers shared by the broker and the engine. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "grow.h"

ssize_t
frame_in_fill(struct frame_in *in, int fd)
{
	ssize_t n;

	/* Slide the unconsumed tail to the front before growing. */
	if (in->off > 0) {
		memmove(in->buf, in->buf + in->off, in->len - in->off);
		in->len -= in->off;
		in->off = 0;
	}
	if (grow_room(&in->buf, &in->cap, in->len, 65536, 1, 65536) == -1)
		return -1;
	do
		n = read(fd, in->buf + in->len, in->cap - in->len);
	while (n == -1 && errno == EINTR);
	if (n > 0)
		in->len += (size_t)n;
	return n;
}

int
frame_in_next(struct frame_in *in, const uint8_t **data, size_t *len)
{
	const uint8_t *p = in->buf + in->off;
	size_t avail = in->len - in->off;
	uint32_t flen;

	if (avail < FRAME_HDR_SIZE)
		return 0;
	flen = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
	if (flen > FRAME_MAX)
		return -1;
	if (avail - FRAME_HDR_SIZE < flen) {
		/* Make room for the whole frame so the next fill can finish it.
		 */
		if (grow_array(&in->buf, &in->cap,
			       in->off + FRAME_HDR_SIZE + flen, 1, 65536) == -1)
			return -1;
		return 0;
	}
	*data = p + FRAME_HDR_SIZE;
	*len = flen;
	in->off += FRAME_HDR_SIZE + flen;
	if (in->off == in->len)
		in->off = in->len = 0;
	return 1;
}

void
frame_in_free(struct frame_in *in)
{
	free(in->buf);
	memset(in, 0, sizeof(*in));
}

int
frame_out_pack(struct frame_out *out, const ProtobufCMessage *msg)
{
	size_t flen = protobuf_c_message_get_packed_size(msg);
	uint8_t *p;

	if (flen > FRAME_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	if (out->off == out->len)
		out->off = out->len = 0;
	if (grow_room(&out->buf, &out->cap, out->len, FRAME_HDR_SIZE + flen, 1,
		      65536) == -1)
		return -1;
	p = out->buf + out->len;
	p[0] = (uint8_t)(flen >> 24);
	p[1] = (uint8_t)(flen >> 16);
	p[2] = (uint8_t)(flen >> 8);
	p[3] = (uint8_t)flen;
	protobuf_c_message_pack(msg, p + FRAME_HDR_SIZE);
	out->len += FRAME_HDR_SIZE + flen;
	return 0;
}

int
frame_out_flush(struct frame_out *out, int fd)
{
	ssize_t n;

	while (out->off < out->len) {
		n = write(fd, out->buf + out->off, out->len - out->off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 1;
			return -1;
		}
		out->off += (size_t)n;
	}
	out->off = out->len = 0;
	/* Give back a buffer that a burst blew up. */
	if (out->cap > (1u << 20)) {
		free(out->buf);
		out->buf = NULL;
		out->cap = 0;
	}
	return 0;
}

void
frame_out_free(struct frame_out *out)
{
	free(out->buf);
	memset(out, 0, sizeof(*out));
}
