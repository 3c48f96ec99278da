// SPDX-License-Identifier: GPL-2.0-only
/*
 * The one mapping of bytes from guests, clients and the engine to text a
 * reader can trust (escape_unit()), for the audit's records (escape_bytes(),
 * and escape_json() with JSON's quoting fused in) and for log lines
 * (log_sanitize()).
 */
#include <stdio.h>
#include <string.h>

#include "escape.h"

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
 * UTF-8 without control characters.
 *
 * escape_unit() maps what starts src[0..len): one byte, or one UTF-8
 * sequence. It writes at most ESC_UNIT_MAX bytes to out (no NUL) and
 * returns their number; *used is what it took of src.
 */
size_t
escape_unit(char out[ESC_UNIT_MAX], const uint8_t *src, size_t len,
	    size_t *used)
{
	static const char hex[] = "0123456789abcdef";
	size_t n;
	uint32_t cp;

	*used = 1;
	if (src[0] == '\\') {
		out[0] = '\\';
		out[1] = '\\';
		return 2;
	}
	if (src[0] >= 0x20 && src[0] < 0x7f) {
		out[0] = (char)src[0];
		return 1;
	}
	if (src[0] >= 0x80 && (n = utf8_seq(src, len, &cp)) > 0) {
		*used = n;
		if (cp_confusing(cp))
			return (size_t)snprintf(out, ESC_UNIT_MAX + 1,
						"\\u%04x", (unsigned int)cp);
		memcpy(out, src, n);
		return n;
	}
	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[src[0] >> 4];
	out[3] = hex[src[0] & 0xf];
	return 4;
}

/*
 * All of src, escaped. dst holds ESC_MAX(len) bytes; returns the length
 * written, without the NUL that ends it.
 */
size_t
escape_bytes(char *dst, const uint8_t *src, size_t len)
{
	size_t i = 0, o = 0, used;

	while (i < len) {
		o += escape_unit(dst + o, src + i, len - i, &used);
		i += used;
	}
	dst[o] = '\0';
	return o;
}

/*
 * As much of src as fits in dstsz with its NUL, escaped, for a log line: a
 * unit that does not fit whole is left out with everything after it, so
 * that no escape is cut in two and a reader never takes the rest of a cut
 * escape for bytes the client sent.
 */
void
log_sanitize(char *dst, size_t dstsz, const uint8_t *src, size_t len)
{
	char unit[ESC_UNIT_MAX + 1];
	size_t i = 0, o = 0, n, used;

	if (dstsz == 0)
		return;
	while (i < len) {
		n = escape_unit(unit, src + i, len - i, &used);
		if (o + n + 1 > dstsz)
			break;
		memcpy(dst + o, unit, n);
		o += n;
		i += used;
	}
	dst[o] = '\0';
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
 * escape_bytes()'s text as the inside of a JSON string, in one pass: the
 * same mapping, then '"' and '\\' quoted as JSON wants (so "\xNN" becomes
 * "\\xNN"). Nothing else needs quoting, since the mapping leaves no control
 * character. Paths, tokens and the broker's own text are mostly plain
 * ASCII, hence copying 8 bytes at a time while they are. dst holds
 * ESC_JSON_MAX(len) bytes; returns the length written (no NUL).
 */
size_t
escape_json(char *dst, const uint8_t *src, size_t len)
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
