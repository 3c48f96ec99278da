/* SPDX-License-Identifier: GPL-2.0-only */
/* One request being handled: its arguments and the reply being built. */
#ifndef DISPATCH_H
#define DISPATCH_H

#include "engine.h"
#include "xs_proto.h"

#define MAX_ARGS 8

struct req {
	struct engine *e;
	struct conn *c;
	struct txn *t;
	uint32_t type, req_id, tx_id;
	const char *payload;
	size_t len;
	const char *argv[MAX_ARGS];
	int argc; /* -1: the last string lacks its NUL */
	char out[XS_PAYLOAD_MAX + 1];
	size_t outlen;
	bool replied;
};

/* Sets the reply to one NUL-terminated string. */
int reply_str(struct req *r, const char *s);
/* Sends the reply now (so that events can follow it). */
void reply_send(struct req *r);

int do_control(struct req *r);

#endif
