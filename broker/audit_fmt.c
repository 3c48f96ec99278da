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

/* Length of a well-formed UTF-8 sequence at s (RFC 3629), or 0. */
static size_t
utf8_seq(const uint8_t *s, size_t len, uint32_t *cp)
{
	size_t n, i;
	uint32_t c;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8. */
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/*
 * Code points that are valid but would let a value rearrange what a reader
 * sees: C1 controls, line and paragraph separators, bidirectional controls,
 * the byte-order mark.
 */
static int
cp_confusing(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
	       (c >= 0x200e && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

/*
 * Bytes as text a reader can trust: printable ASCII and well-formed,
 * harmless UTF-8 are themselves; a backslash is "\\"; any other byte is
 * "\xNN" and a confusing code point "\uNNNN". The mapping is one to one, so
 * the original bytes can be recovered, and the result is always valid
 * UTF-8 without control characters. dst holds AUDIT_ESC_MAX(len) bytes;
 * returns the length written, without the NUL that ends it.
 */
size_t
audit_escape(char *dst, const uint8_t *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, o = 0, n;
	uint32_t cp;

	while (i < len) {
		if (src[i] == '\\') {
			dst[o++] = '\\';
			dst[o++] = '\\';
			i++;
		} else if (src[i] >= 0x20 && src[i] < 0x7f) {
			dst[o++] = (char)src[i++];
		} else if (src[i] >= 0x80 &&
			   (n = utf8_seq(src + i, len - i, &cp)) > 0) {
			if (cp_confusing(cp)) {
				o += (size_t)sprintf(dst + o, "\\u%04x",
						     (unsigned int)cp);
			} else {
				memcpy(dst + o, src + i, n);
				o += n;
			}
			i += n;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[src[i] >> 4];
			dst[o++] = hex[src[i] & 0xf];
			i++;
		}
	}
	dst[o] = '\0';
	return o;
}

/*
 * Whether none of 8 bytes needs more than copying: all printable ASCII,
 * none a '"' or a '\\'. Word tricks ("Bit Twiddling Hacks": hasless,
 * hasmore, haszero), exact for the word as a whole.
 */
static inline int
plain8(const uint8_t *p)
{
	const uint64_t ones = 0x0101010101010101ull;
	const uint64_t high = 0x8080808080808080ull;
	uint64_t x, q, b;

	memcpy(&x, p, 8);
	/* A byte below 0x20, or 0x80 and up. */
	if (((x - ones * 0x20) | x) & high)
		return 0;
	/* A byte above 0x7e (0x7f alone is left). */
	if ((x + ones * (127 - 0x7e)) & high)
		return 0;
	q = x ^ (ones * '"');
	b = x ^ (ones * '\\');
	return !(((q - ones) & ~q & high) | ((b - ones) & ~b & high));
}

/*
 * audit_escape()'s text as the inside of a JSON string, in one pass: the
 * same mapping, then '"' and '\\' quoted as JSON wants (so "\xNN" becomes
 * "\\xNN"). Nothing else needs quoting, since the mapping leaves no control
 * character. Paths, tokens and the broker's own text are mostly plain
 * ASCII, hence copying 8 bytes at a time while they are. dst holds
 * AUDIT_ESC_JSON_MAX(len) bytes; returns the length written (no NUL).
 */
size_t
audit_escape_json(char *dst, const uint8_t *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, o = 0, n;
	uint32_t cp;

	while (i < len) {
		if (len - i >= 8 && plain8(src + i)) {
			memcpy(dst + o, src + i, 8);
			o += 8;
			i += 8;
		} else if (src[i] >= 0x20 && src[i] < 0x7f && src[i] != '"' &&
			   src[i] != '\\') {
			dst[o++] = (char)src[i++];
		} else if (src[i] == '\\') {
			memcpy(dst + o, "\\\\\\\\", 4);
			o += 4;
			i++;
		} else if (src[i] == '"') {
			dst[o++] = '\\';
			dst[o++] = '"';
			i++;
		} else if (src[i] >= 0x80 &&
			   (n = utf8_seq(src + i, len - i, &cp)) > 0) {
			if (cp_confusing(cp)) {
				memcpy(dst + o, "\\\\u", 3);
				dst[o + 3] = hex[(cp >> 12) & 0xf];
				dst[o + 4] = hex[(cp >> 8) & 0xf];
				dst[o + 5] = hex[(cp >> 4) & 0xf];
				dst[o + 6] = hex[cp & 0xf];
				o += 7;
			} else {
				memcpy(dst + o, src + i, n);
				o += n;
			}
			i += n;
		} else {
			memcpy(dst + o, "\\\\x", 3);
			dst[o + 3] = hex[src[i] >> 4];
			dst[o + 4] = hex[src[i] & 0xf];
			o += 5;
			i++;
		}
	}
	return o;
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
