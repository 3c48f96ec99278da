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

#include <yajl/yajl_gen.h>

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
	[XS_CONTROL] = {"CONTROL", {"command"}, R_VALUE, "value", Y_VALUE},
	[XS_DIRECTORY] = {"DIRECTORY", {"path"}, R_NONE, NULL, Y_VALUE},
	[XS_READ] = {"READ", {"path"}, R_NONE, NULL, Y_VALUE},
	[XS_GET_PERMS] = {"GET_PERMS", {"path"}, R_NONE, NULL, Y_VALUE},
	[XS_WATCH] = {"WATCH", {"path", "token"}, R_LIST, "args", Y_NONE},
	[XS_UNWATCH] = {"UNWATCH", {"path", "token"}, R_LIST, "args", Y_NONE},
	[XS_TRANSACTION_START] =
		{"TRANSACTION_START", {NULL}, R_NONE, NULL, Y_CLEAR},
	[XS_TRANSACTION_END] =
		{"TRANSACTION_END", {"commit"}, R_LIST, "args", Y_NONE},
	[XS_INTRODUCE] =
		{"INTRODUCE", {"domid", "mfn", "port"}, R_LIST, "args", Y_NONE},
	[XS_RELEASE] = {"RELEASE", {"domid"}, R_LIST, "args", Y_NONE},
	[XS_GET_DOMAIN_PATH] =
		{"GET_DOMAIN_PATH", {"domid"}, R_LIST, "args", Y_CLEAR},
	[XS_WRITE] = {"WRITE", {"path"}, R_VALUE, "value", Y_NONE},
	[XS_MKDIR] = {"MKDIR", {"path"}, R_LIST, "args", Y_NONE},
	[XS_RM] = {"RM", {"path"}, R_LIST, "args", Y_NONE},
	[XS_SET_PERMS] = {"SET_PERMS", {"path"}, R_LIST, "perms", Y_NONE},
	[XS_WATCH_EVENT] =
		{"WATCH_EVENT", {"path", "token"}, R_LIST, "args", Y_NONE},
	[XS_ERROR] = {"ERROR", {NULL}, R_VALUE, "value", Y_NONE},
	[XS_IS_DOMAIN_INTRODUCED] =
		{"IS_DOMAIN_INTRODUCED", {"domid"}, R_LIST, "args", Y_CLEAR},
	[XS_RESUME] = {"RESUME", {"domid"}, R_LIST, "args", Y_NONE},
	[XS_SET_TARGET] =
		{"SET_TARGET", {"domid", "target"}, R_LIST, "args", Y_NONE},
	[XS_RESET_WATCHES] = {"RESET_WATCHES", {NULL}, R_LIST, "args", Y_NONE},
	[XS_DIRECTORY_PART] =
		{"DIRECTORY_PART", {"path", "offset"}, R_LIST, "args", Y_VALUE},
	[XS_GET_FEATURE] = {"GET_FEATURE", {NULL}, R_LIST, "args", Y_CLEAR},
	[XS_SET_FEATURE] = {"SET_FEATURE", {NULL}, R_LIST, "args", Y_NONE},
	[XS_GET_QUOTA] = {"GET_QUOTA", {NULL}, R_LIST, "args", Y_CLEAR},
	[XS_SET_QUOTA] = {"SET_QUOTA", {NULL}, R_LIST, "args", Y_NONE},
};

/* A type the protocol does not have: its payload is an opaque value. */
static const struct audit_type unknown = {
	"UNKNOWN", {NULL}, R_VALUE, "value", Y_VALUE};

const struct audit_type *
audit_type(uint32_t type)
{
	if (type < XS_TYPE_COUNT && types[type].name != NULL)
		return &types[type];
	return &unknown;
}

/* The type numbered by name, or -1: for the policy's op= lists. */
int
audit_type_by_name(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < XS_TYPE_COUNT; i++)
		if (types[i].name != NULL && strlen(types[i].name) == len &&
		    memcmp(types[i].name, name, len) == 0)
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

/* SHA-256 (FIPS 180-4), for the values the policy keeps out of the log. */
static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void
sha256_block(uint32_t h[8], const uint8_t b[64])
{
	uint32_t w[64], s[8], t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 |
		       (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
	for (i = 16; i < 64; i++)
		w[i] = w[i - 16] + w[i - 7] +
		       (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^
			(w[i - 15] >> 3)) +
		       (ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^
			(w[i - 2] >> 10));
	memcpy(s, h, sizeof(s));
	for (i = 0; i < 64; i++) {
		t1 = s[7] + (ROR(s[4], 6) ^ ROR(s[4], 11) ^ ROR(s[4], 25)) +
		     ((s[4] & s[5]) ^ (~s[4] & s[6])) + sha_k[i] + w[i];
		t2 = (ROR(s[0], 2) ^ ROR(s[0], 13) ^ ROR(s[0], 22)) +
		     ((s[0] & s[1]) ^ (s[0] & s[2]) ^ (s[1] & s[2]));
		memmove(s + 1, s, 7 * sizeof(s[0]));
		s[4] += t1;
		s[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		h[i] += s[i];
}

void
audit_sha256_hex(const uint8_t *p, size_t len, char out[65])
{
	uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	uint8_t last[128];
	uint64_t bits = (uint64_t)len * 8;
	size_t i, tail, n;

	for (i = 0; i + 64 <= len; i += 64)
		sha256_block(h, p + i);
	tail = len - i;
	memset(last, 0, sizeof(last));
	if (tail > 0)
		memcpy(last, p + i, tail);
	last[tail] = 0x80;
	n = tail + 9 <= 64 ? 64 : 128;
	for (i = 0; i < 8; i++)
		last[n - 1 - i] = (uint8_t)(bits >> (8 * i));
	sha256_block(h, last);
	if (n == 128)
		sha256_block(h, last + 64);
	for (i = 0; i < 8; i++)
		sprintf(out + 8 * i, "%08x", (unsigned int)h[i]);
}

/* One key and its text, escaped. Returns the generator's status. */
int
audit_gen_bytes(yajl_gen g, const char *key, const uint8_t *p, size_t len)
{
	static char esc[AUDIT_ESC_MAX(XS_PAYLOAD_MAX + XS_HDR_SIZE)];
	size_t n;

	if (len > XS_PAYLOAD_MAX + XS_HDR_SIZE)
		len = XS_PAYLOAD_MAX + XS_HDR_SIZE;
	n = audit_escape(esc, p, len);
	if (key != NULL)
		yajl_gen_string(g, (const unsigned char *)key, strlen(key));
	return yajl_gen_string(g, (const unsigned char *)esc, n);
}

void
audit_gen_key(yajl_gen g, const char *key)
{
	yajl_gen_string(g, (const unsigned char *)key, strlen(key));
}

/* A value in clear, or as its length and SHA-256 when clear is 0. */
void
audit_gen_value(yajl_gen g, const char *key, const uint8_t *p, size_t len,
		int clear)
{
	char hash[65];

	if (clear) {
		audit_gen_bytes(g, key, p, len);
		return;
	}
	audit_sha256_hex(p, len, hash);
	audit_gen_key(g, key);
	yajl_gen_map_open(g);
	audit_gen_key(g, "len");
	yajl_gen_integer(g, (long long)len);
	audit_gen_key(g, "sha256");
	yajl_gen_string(g, (const unsigned char *)hash, 64);
	yajl_gen_map_close(g);
}

/* The request's path and arguments as the fields of an open map. */
void
audit_gen_args(yajl_gen g, uint32_t type, const uint8_t *p, size_t len,
	       int values)
{
	const struct audit_type *t = audit_type(type);
	struct audit_args a;
	struct audit_str s;
	size_t i, off = 0;

	audit_args(t, p, len, &a);
	for (i = 0; i < a.narg; i++)
		audit_gen_bytes(g, t->field[i], a.arg[i].p, a.arg[i].len);
	if (!a.has_rest)
		return;
	if (t->rest == AUDIT_REST_VALUE) {
		audit_gen_value(g, t->rest_name, a.rest.p, a.rest.len, values);
		return;
	}
	audit_gen_key(g, t->rest_name);
	yajl_gen_array_open(g);
	while (audit_next_str(a.rest.p, a.rest.len, &off, &s))
		audit_gen_bytes(g, NULL, s.p, s.len);
	yajl_gen_array_close(g);
}
