/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside the audit log: the pure pieces (audit_fmt.c, audit_json.c,
 * audit_policy.c) that audit.c, the fuzz targets and tests share. The hooks
 * the rest of the broker calls are in broker.h.
 */
#ifndef AUDIT_H
#define AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <nettle/hmac.h>

#include "escape.h"
#include "xs_proto.h"

/* audit_json.c */
#define AUDIT_JSON_DEPTH 4

/*
 * A JSON Lines writer into a growing buffer. reserve() is called when fewer
 * than n bytes are free; it must make room (it may move buf) or not return.
 */
struct audit_json {
	char *buf;
	size_t len, cap;
	void (*reserve)(struct audit_json *, size_t n);
	unsigned int depth;
	char close[AUDIT_JSON_DEPTH]; /* what ends each open map or array */
	unsigned char more[AUDIT_JSON_DEPTH + 1]; /* a comma comes first */
};

void audit_json_map(struct audit_json *, const char *key);
void audit_json_array(struct audit_json *, const char *key);
void audit_json_end(struct audit_json *);
void audit_json_line(struct audit_json *);
void audit_json_int_k(struct audit_json *, const char *key, size_t klen,
		      long long v);
void audit_json_str_k(struct audit_json *, const char *key, size_t klen,
		      const uint8_t *p, size_t len);
void audit_json_lit_k(struct audit_json *, const char *key, size_t klen,
		      const char *s, size_t len);
void audit_json_raw(struct audit_json *, const char *members, size_t len);

/*
 * key is NULL in an array. Inline, so that the length of a constant key is
 * known when compiling.
 */
static inline void
audit_json_int(struct audit_json *w, const char *key, long long v)
{
	audit_json_int_k(w, key, key != NULL ? strlen(key) : 0, v);
}

static inline void
audit_json_str(struct audit_json *w, const char *key, const uint8_t *p,
	       size_t len)
{
	audit_json_str_k(w, key, key != NULL ? strlen(key) : 0, p, len);
}

static inline void
audit_json_cstr(struct audit_json *w, const char *key, const char *s)
{
	audit_json_str(w, key, (const uint8_t *)s, strlen(s));
}

/*
 * A string of the broker's own (a type name, a kind, a time): printable
 * ASCII with no quote or backslash, written without escaping.
 */
static inline void
audit_json_lit(struct audit_json *w, const char *key, const char *s)
{
	audit_json_lit_k(w, key, strlen(key), s, strlen(s));
}

/* audit_fmt.c */
#define AUDIT_NFIELD 3

enum audit_rest {
	AUDIT_REST_NONE,  /* nothing follows the named strings */
	AUDIT_REST_VALUE, /* opaque bytes: a node's value */
	AUDIT_REST_LIST,  /* more NUL-terminated strings */
};

enum audit_reply {
	AUDIT_REPLY_NONE,  /* "OK" says it all */
	AUDIT_REPLY_VALUE, /* store contents: clear only if the policy says */
	AUDIT_REPLY_CLEAR, /* an id or a domain path: always in clear */
};

struct audit_type {
	const char *field[AUDIT_NFIELD];
	enum audit_rest rest;
	const char *rest_name;
	enum audit_reply reply;
};

struct audit_str {
	const uint8_t *p;
	size_t len;
};

struct audit_args {
	struct audit_str arg[AUDIT_NFIELD];
	unsigned int narg;
	struct audit_str rest;
	int has_rest;
};

const struct audit_type *audit_type(uint32_t type);
int audit_type_known(uint32_t type);
const char *audit_type_name(uint32_t type);
int audit_type_by_name(const char *name, size_t len);
int audit_next_str(const uint8_t *p, size_t len, size_t *off,
		   struct audit_str *);
void audit_args(const struct audit_type *, const uint8_t *p, size_t len,
		struct audit_args *);
/* An --audit-key's bounds: a key shorter than this is too easily guessed. */
#define AUDIT_KEY_MIN 16
#define AUDIT_KEY_MAX 4096

/* How values kept out of the log are hashed: SHA-256, or HMAC-SHA256. */
struct audit_hash {
	int keyed;
	struct hmac_sha256_ctx hmac; /* the key's states, when keyed */
	char id[17];                 /* the key's name in the log */
};

void audit_sha256_hex(const uint8_t *p, size_t len, char out[65]);
void audit_hash_init(struct audit_hash *, const uint8_t *key, size_t len);
void audit_hash_hex(const struct audit_hash *, const uint8_t *p, size_t len,
		    char out[65]);
void audit_gen_value(struct audit_json *, const char *key, const uint8_t *p,
		     size_t len, int clear, const struct audit_hash *);
void audit_gen_args(struct audit_json *, uint32_t type, const uint8_t *p,
		    size_t len, int values, const struct audit_hash *);

/* audit_policy.c */
enum audit_action {
	AUDIT_LOG,        /* record; values as length and hash */
	AUDIT_LOG_VALUES, /* record with values in clear */
	AUDIT_SKIP,       /* do not record */
};

struct audit_policy;
struct audit_policy *audit_policy_parse(const char *text, size_t len,
					const char *name, char *err,
					size_t errsz);
void audit_policy_free(struct audit_policy *);
size_t audit_policy_nrules(const struct audit_policy *);
enum audit_action audit_policy_match(const struct audit_policy *,
				     uint32_t domid, uint32_t type,
				     const uint8_t *path, size_t pathlen);

#endif
