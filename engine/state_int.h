/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the migration stream's files share: its record types and flags,
 * the reader's cursor, and the hooks between the reader (state_read.c),
 * the snapshot builder (state_build.c) and the kept replies
 * (state_replies.c). The writer is state_write.c.
 */
#ifndef STATE_INT_H
#define STATE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "state.h"
#include "xs_state.h"

enum {
	/*
	 * The engine's own, in its snapshots and journal only (state_dump
	 * with exact set): what a restart needs beyond the migration stream.
	 */
	/* REC_X_CONN (0x5801, xs_state.h): a connection and its flags */
	REC_X_CONN_CLOSE = 0x5802, /* a connection is gone */
	REC_X_DOMAIN = 0x5803,     /* a domain's state */
	REC_X_QUOTA = 0x5804,      /* every global quota */
	REC_X_DELETE = 0x5805,     /* a node and all below it are gone */
	REC_X_UNWATCH = 0x5806,    /* a watch is gone (no path: all) */
	REC_X_SPECIAL = 0x5807,    /* permissions of an @ node */
	/* REC_X_REPLY (0x5808, xs_state.h): the answer to a request */
	/* REC_X_NODES (0x5809, state.h): nodes in a compact form */
};

#define XDOM_INTRODUCED 1u
#define XDOM_TARGET 2u
#define XDOM_RELEASED 4u

#define PERM_FLAG_STALE NODE_PERM_IGNORE

/* Reading: a cursor that never runs past the end. */
struct cur {
	const uint8_t *p;
	size_t left;
};

static inline int
take(struct cur *c, void *dst, size_t n)
{
	if (c->left < n)
		return -1;
	memcpy(dst, c->p, n);
	c->p += n;
	c->left -= n;
	return 0;
}

static inline int
take16(struct cur *c, uint16_t *v)
{
	return take(c, v, 2);
}

static inline int
take32(struct cur *c, uint32_t *v)
{
	return take(c, v, 4);
}

/* A NUL-terminated string of exactly len octets (len includes the NUL). */
static inline const char *
take_str(struct cur *c, size_t len)
{
	const char *s = (const char *)c->p;

	if (len == 0 || c->left < len || s[len - 1] != '\0' ||
	    strlen(s) != len - 1)
		return NULL;
	c->p += len;
	c->left -= len;
	return s;
}

/* state_build.c: a snapshot's nodes added without a lookup each. */
struct engine *builder_engine(void);
void builder_rewind(struct engine *e);
void builder_reset(struct engine *e);
void builder_follow(const char *path);
int builder_add(struct engine *e, const char *path, const struct perm *perms,
		unsigned int np, const void *value, size_t vlen);

/* state_replies.c */
int restore_x_reply(struct engine *e, struct cur *c, const char **bad);

#endif
