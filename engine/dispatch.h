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

/* The request's only argument, a string ending at the payload's end. */
const char *onearg(struct req *r);

int do_control(struct req *r);
/* XS_CONTROL live-update (live_update.c). */
int ctl_live_update(struct req *r);
int do_get_domain_path(struct req *r);
int do_is_domain_introduced(struct req *r);
int do_introduce(struct req *r);
int do_release(struct req *r);
int do_resume(struct req *r);
int do_set_target(struct req *r);
int do_get_feature(struct req *r);
int do_set_feature(struct req *r);
int do_get_quota(struct req *r);
int do_set_quota(struct req *r);
/* The domain is gone from the store's view: nodes, events, the ring. */
void domain_release(struct engine *e, struct domain *d);
/* 0 if domid exists, ENOENT if not, EPARK while the broker is asked. */
int domain_check_exists(struct engine *e, uint32_t domid);
/*
 * Marks the entries after the owner that name no existing domain as ignored;
 * 0, or EPARK while the broker is asked.
 */
int domain_mark_unknown(struct engine *e, struct perm *p, unsigned int n);

#endif
