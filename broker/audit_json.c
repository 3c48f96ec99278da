// SPDX-License-Identifier: GPL-2.0-only
/*
 * The audit log's JSON Lines writer: maps, arrays, integers and strings
 * appended straight to the record buffer.
 *
 * It replaces yajl's generator on the record path, which cost more than
 * the whole rest of the broker per request (a print call per token, a
 * second pass over every string to validate and escape it, sprintf for
 * every integer): docs/audit.md has the numbers. It can be this small
 * because of what it is given: keys are the broker's own constants, and
 * every string goes through escape_json(), whose output is valid
 * UTF-8 without a control character. tests/fuzz/fuzz_audit.c checks that
 * it writes, byte for byte, what yajl writes for the same calls.
 */
#include <stdlib.h>
#include <string.h>

#include "audit.h"

/* The longest a long long is in decimal, with its sign. */
#define INT_MAX_DIGITS 20

static inline void
need(struct audit_json *w, size_t n)
{
	if (w->cap - w->len < n)
		w->reserve(w, n);
}

/*
 * A comma if a value came before at this level, then the key if in a map,
 * with room for extra bytes after it. Keys are the broker's constants:
 * plain ASCII that needs no quoting.
 */
static inline char *
lead(struct audit_json *w, const char *key, size_t klen, size_t extra)
{
	char *o;

	need(w, klen + 4 + extra);
	o = w->buf + w->len;
	if (w->more[w->depth])
		*o++ = ',';
	w->more[w->depth] = 1;
	if (key != NULL) {
		*o++ = '"';
		memcpy(o, key, klen);
		o += klen;
		*o++ = '"';
		*o++ = ':';
	}
	return o;
}

static void
open_(struct audit_json *w, const char *key, char open, char close)
{
	char *o;

	if (w->depth >= AUDIT_JSON_DEPTH)
		abort(); /* the broker's records are two deep */
	o = lead(w, key, key != NULL ? strlen(key) : 0, 1);
	*o++ = open;
	w->len = (size_t)(o - w->buf);
	w->close[w->depth] = close;
	w->more[++w->depth] = 0;
}

void
audit_json_map(struct audit_json *w, const char *key)
{
	open_(w, key, '{', '}');
}

void
audit_json_array(struct audit_json *w, const char *key)
{
	open_(w, key, '[', ']');
}

void
audit_json_end(struct audit_json *w)
{
	need(w, 1);
	w->buf[w->len++] = w->close[--w->depth];
}

/* The end of a record: the line's newline, and a fresh start. */
void
audit_json_line(struct audit_json *w)
{
	need(w, 1);
	w->buf[w->len++] = '\n';
	w->depth = 0;
	w->more[0] = 0;
}

/* Two digits at a time: a record has a dozen integers. */
static const char pairs[201] = "00010203040506070809"
			       "10111213141516171819"
			       "20212223242526272829"
			       "30313233343536373839"
			       "40414243444546474849"
			       "50515253545556575859"
			       "60616263646566676869"
			       "70717273747576777879"
			       "80818283848586878889"
			       "90919293949596979899";

/* How many decimal digits u has. */
static inline size_t
ndigits(unsigned long long u)
{
	size_t n = 1;

	for (; u >= 10000; u /= 10000)
		n += 4;
	if (u >= 100) {
		n += 2;
		u /= 100;
	}
	return n + (u >= 10);
}

void
audit_json_int_k(struct audit_json *w, const char *key, size_t klen,
		 long long v)
{
	unsigned long long u;
	size_t n;
	char *o;

	o = lead(w, key, klen, INT_MAX_DIGITS);
	u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
	if (v < 0)
		*o++ = '-';
	/* Straight into place, from the last digit. */
	n = ndigits(u);
	o += n;
	w->len = (size_t)(o - w->buf);
	while (u >= 100) {
		o -= 2;
		memcpy(o, pairs + 2 * (u % 100), 2);
		u /= 100;
	}
	if (u >= 10) {
		o -= 2;
		memcpy(o, pairs + 2 * u, 2);
	} else
		*--o = (char)('0' + u);
}

void
audit_json_str_k(struct audit_json *w, const char *key, size_t klen,
		 const uint8_t *p, size_t len)
{
	char *o;

	o = lead(w, key, klen, ESC_JSON_MAX(len) + 2);
	*o++ = '"';
	o += escape_json(o, p, len);
	*o++ = '"';
	w->len = (size_t)(o - w->buf);
}

void
audit_json_lit_k(struct audit_json *w, const char *key, size_t klen,
		 const char *s, size_t len)
{
	char *o;

	o = lead(w, key, klen, len + 2);
	*o++ = '"';
	memcpy(o, s, len);
	o += len;
	*o++ = '"';
	w->len = (size_t)(o - w->buf);
}

/*
 * Members of a map made once by this writer and kept (a connection's
 * identity, the same in each of its records): copied, after a comma if
 * something came before.
 */
void
audit_json_raw(struct audit_json *w, const char *members, size_t len)
{
	char *o;

	o = lead(w, NULL, 0, len);
	memcpy(o, members, len);
	w->len = (size_t)(o + len - w->buf);
}
