// SPDX-License-Identifier: GPL-2.0-only
/*
 * The audit log's view of a request, pure: which strings of a payload are
 * its path and arguments (the broker otherwise never looks inside one), how
 * bytes a guest chose become text that cannot forge or break a record, and
 * the fields of a record as JSON. Everything here takes the payload as
 * untrusted: bounded by its length, any byte anywhere.
 */
#include <stdio.h>
#include <string.h>

#include <nettle/hmac.h>
#include <nettle/sha2.h>

#include "audit.h"

#define R_NONE AUDIT_REST_NONE
#define R_VALUE AUDIT_REST_VALUE
#define R_LIST AUDIT_REST_LIST
#define Y_NONE AUDIT_REPLY_NONE
#define Y_VALUE AUDIT_REPLY_VALUE
#define Y_CLEAR AUDIT_REPLY_CLEAR

/*
 * Per type: its name, the names of its leading NUL-terminated strings, what
 * follows them, and what its successful reply says. Values (what a node
 * holds, what a listing shows) are logged in clear only where the policy
 * says so.
 */
static const struct audit_type types[XS_TYPE_COUNT] = {
	[XS_CONTROL] = {{"command"}, R_VALUE, "value", Y_VALUE},
	[XS_DIRECTORY] = {{"path"}, R_NONE, NULL, Y_VALUE},
	[XS_READ] = {{"path"}, R_NONE, NULL, Y_VALUE},
	[XS_GET_PERMS] = {{"path"}, R_NONE, NULL, Y_VALUE},
	[XS_WATCH] = {{"path", "token"}, R_LIST, "args", Y_NONE},
	[XS_UNWATCH] = {{"path", "token"}, R_LIST, "args", Y_NONE},
	[XS_TRANSACTION_START] = {{NULL}, R_NONE, NULL, Y_CLEAR},
	[XS_TRANSACTION_END] = {{"commit"}, R_LIST, "args", Y_NONE},
	[XS_INTRODUCE] = {{"domid", "mfn", "port"}, R_LIST, "args", Y_NONE},
	[XS_RELEASE] = {{"domid"}, R_LIST, "args", Y_NONE},
	[XS_GET_DOMAIN_PATH] = {{"domid"}, R_LIST, "args", Y_CLEAR},
	[XS_WRITE] = {{"path"}, R_VALUE, "value", Y_NONE},
	[XS_MKDIR] = {{"path"}, R_LIST, "args", Y_NONE},
	[XS_RM] = {{"path"}, R_LIST, "args", Y_NONE},
	[XS_SET_PERMS] = {{"path"}, R_LIST, "perms", Y_NONE},
	[XS_WATCH_EVENT] = {{"path", "token"}, R_LIST, "args", Y_NONE},
	[XS_ERROR] = {{NULL}, R_VALUE, "value", Y_NONE},
	[XS_IS_DOMAIN_INTRODUCED] = {{"domid"}, R_LIST, "args", Y_CLEAR},
	[XS_RESUME] = {{"domid"}, R_LIST, "args", Y_NONE},
	[XS_SET_TARGET] = {{"domid", "target"}, R_LIST, "args", Y_NONE},
	[XS_RESET_WATCHES] = {{NULL}, R_LIST, "args", Y_NONE},
	[XS_DIRECTORY_PART] = {{"path", "offset"}, R_LIST, "args", Y_VALUE},
	[XS_GET_FEATURE] = {{NULL}, R_LIST, "args", Y_CLEAR},
	[XS_SET_FEATURE] = {{NULL}, R_LIST, "args", Y_NONE},
	[XS_GET_QUOTA] = {{NULL}, R_LIST, "args", Y_CLEAR},
	[XS_SET_QUOTA] = {{NULL}, R_LIST, "args", Y_NONE},
};

/* A type the protocol does not have: its payload is an opaque value. */
static const struct audit_type unknown = {{NULL}, R_VALUE, "value", Y_VALUE};

const struct audit_type *
audit_type(uint32_t type)
{
	if (xs_type_name(type) != NULL)
		return &types[type];
	return &unknown;
}

/* Its name, or UNKNOWN for a number the protocol does not have. */
const char *
audit_type_name(uint32_t type)
{
	const char *n = xs_type_name(type);

	return n != NULL ? n : "UNKNOWN";
}

/* Whether the protocol has this type (else it is recorded as UNKNOWN). */
int
audit_type_known(uint32_t type)
{
	return audit_type(type) != &unknown;
}

/* The type numbered by name, or -1: for the policy's op= lists. */
int
audit_type_by_name(const char *name, size_t len)
{
	const char *n;
	size_t i;

	for (i = 0; i < XS_TYPE_COUNT; i++)
		if ((n = xs_type_name((uint32_t)i)) != NULL &&
		    strlen(n) == len && memcmp(n, name, len) == 0)
			return (int)i;
	return -1;
}

/*
 * The next string of p[*off..len): up to a NUL (not included) or the end
 * of the payload. Returns 0 once nothing is left.
 */
int
audit_next_str(const uint8_t *p, size_t len, size_t *off, struct audit_str *s)
{
	const uint8_t *nul;

	if (*off >= len)
		return 0;
	s->p = p + *off;
	nul = memchr(s->p, '\0', len - *off);
	s->len = nul != NULL ? (size_t)(nul - s->p) : len - *off;
	*off += s->len + (nul != NULL);
	return 1;
}

void
audit_args(const struct audit_type *t, const uint8_t *p, size_t len,
	   struct audit_args *a)
{
	size_t off = 0;

	memset(a, 0, sizeof(*a));
	while (a->narg < AUDIT_NFIELD && t->field[a->narg] != NULL &&
	       audit_next_str(p, len, &off, &a->arg[a->narg]))
		a->narg++;
	/* WRITE's value is what follows the path's NUL, even if empty. */
	if (t->rest == AUDIT_REST_VALUE &&
	    (off < len || (off > 0 && off == len && p[off - 1] == '\0'))) {
		a->rest.p = p + off;
		a->rest.len = len - off;
		a->has_rest = 1;
	} else if (t->rest == AUDIT_REST_LIST && off < len) {
		a->rest.p = p + off;
		a->rest.len = len - off;
		a->has_rest = 1;
	}
}

/* Each byte's two hex digits: a lookup a byte, not two. */
static void
hex_digest(const uint8_t h[SHA256_DIGEST_SIZE], char out[65])
{
	static const char hex[] = "0123456789abcdef";
	static char pairs[256][2];
	unsigned int i;

	if (pairs[0][0] == 0)
		for (i = 0; i < 256; i++) {
			pairs[i][0] = hex[i >> 4];
			pairs[i][1] = hex[i & 0xf];
		}
	for (i = 0; i < SHA256_DIGEST_SIZE; i++)
		memcpy(out + 2 * i, pairs[h[i]], 2);
	out[64] = '\0';
}

/*
 * SHA-256 by nettle: it uses the CPU's SHA instructions where there are
 * some, and its context lives on the stack. (libcrypto's EVP interface
 * allocates and wipes a context for every digest, twice nettle's time for
 * a short value.)
 */
void
audit_sha256_hex(const uint8_t *p, size_t len, char out[65])
{
	struct sha256_ctx ctx;
	uint8_t h[SHA256_DIGEST_SIZE];

	sha256_init(&ctx);
	sha256_update(&ctx, len, p);
	sha256_digest(&ctx, sizeof(h), h);
	hex_digest(h, out);
}

/*
 * With a key, values are hashed with HMAC-SHA256: a short secret's plain
 * SHA-256 is found by trying every candidate, by anyone who reads the log;
 * its HMAC only by whoever also holds the key. The key's inner and outer
 * states are computed once, here.
 */
void
audit_hash_init(struct audit_hash *h, const uint8_t *key, size_t len)
{
	static const char label[] = "split-xenstored audit key id";
	char hex[65];

	memset(h, 0, sizeof(*h));
	if (len == 0)
		return;
	h->keyed = 1;
	hmac_sha256_set_key(&h->hmac, len, key);
	/* The key's name in the log: its HMAC of a constant, cut short. */
	audit_hash_hex(h, (const uint8_t *)label, sizeof(label) - 1, hex);
	memcpy(h->id, hex, sizeof(h->id) - 1);
	h->id[sizeof(h->id) - 1] = '\0';
}

void
audit_hash_hex(const struct audit_hash *h, const uint8_t *p, size_t len,
	       char out[65])
{
	struct hmac_sha256_ctx ctx;
	uint8_t d[SHA256_DIGEST_SIZE];

	if (!h->keyed) {
		audit_sha256_hex(p, len, out);
		return;
	}
	/* A copy: digesting leaves the context ready for the next value. */
	ctx = h->hmac;
	hmac_sha256_update(&ctx, len, p);
	hmac_sha256_digest(&ctx, sizeof(d), d);
	hex_digest(d, out);
}

/*
 * A value in clear, or as its length and hash when clear is 0: "sha256",
 * or "hmac_sha256" under a key.
 */
void
audit_gen_value(struct audit_json *w, const char *key, const uint8_t *p,
		size_t len, int clear, const struct audit_hash *h)
{
	char hash[65];

	if (clear) {
		audit_json_str(w, key, p, len);
		return;
	}
	audit_hash_hex(h, p, len, hash);
	audit_json_map(w, key);
	audit_json_int(w, "len", (long long)len);
	/* Hex digits: nothing to escape. */
	if (h->keyed)
		audit_json_lit_k(w, "hmac_sha256", 11, hash, 64);
	else
		audit_json_lit_k(w, "sha256", 6, hash, 64);
	audit_json_end(w);
}

/* The request's path and arguments as the fields of an open map. */
void
audit_gen_args(struct audit_json *w, uint32_t type, const uint8_t *p,
	       size_t len, int values, const struct audit_hash *h)
{
	const struct audit_type *t = audit_type(type);
	struct audit_args a;
	struct audit_str s;
	size_t i, off = 0;

	audit_args(t, p, len, &a);
	for (i = 0; i < a.narg; i++)
		audit_json_str(w, t->field[i], a.arg[i].p, a.arg[i].len);
	if (!a.has_rest)
		return;
	if (t->rest == AUDIT_REST_VALUE) {
		audit_gen_value(w, t->rest_name, a.rest.p, a.rest.len, values,
				h);
		return;
	}
	audit_json_array(w, t->rest_name);
	while (audit_next_str(a.rest.p, a.rest.len, &off, &s))
		audit_json_str(w, NULL, s.p, s.len);
	audit_json_end(w);
}
