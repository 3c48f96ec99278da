// SPDX-License-Identifier: GPL-2.0-only
/*
 * The audit log's reading of a payload: whatever a client sends, the
 * fields cut from it stay inside it, and the record built from them is one
 * line of valid JSON and valid UTF-8, without a control character, whose
 * strings map back to exactly the bytes that were sent. The record's own
 * JSON writer (audit_json.c) quotes each string exactly as yajl's
 * generator quotes the escaped text.
 *
 * Input: one byte of request type, one byte of flags (values in clear),
 * then the payload (at most 4096 bytes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "audit.h"
#include "grow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
grow(struct audit_json *w, size_t n)
{
	if (grow_room(&w->buf, &w->cap, w->len, n, 1, 64) == -1)
		abort();
}

/* Strict UTF-8 (RFC 3629) with no C0 control and no DEL. */
static int
valid_line(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;
	uint32_t c;

	while (i < n) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 0;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			len = 2, c = s[i] & 0x1f;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			len = 3, c = s[i] & 0x0f;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			len = 4, c = s[i] & 0x07;
		else
			return 0;
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
		    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/* Undoes escape_bytes(); returns the length, or -1 if it is not ours. */
static long
unescape(const char *s, uint8_t *out)
{
	size_t o = 0;
	unsigned int v;

	while (*s) {
		if (*s != '\\') {
			out[o++] = (uint8_t)*s++;
			continue;
		}
		if (s[1] == '\\') {
			out[o++] = '\\';
			s += 2;
		} else if (s[1] == 'x' && sscanf(s + 2, "%2x", &v) == 1) {
			out[o++] = (uint8_t)v;
			s += 4;
		} else if (s[1] == 'u' && sscanf(s + 2, "%4x", &v) == 1) {
			if (v < 0x800) {
				out[o++] = (uint8_t)(0xc0 | v >> 6);
			} else {
				out[o++] = (uint8_t)(0xe0 | v >> 12);
				out[o++] = (uint8_t)(0x80 | ((v >> 6) & 0x3f));
			}
			out[o++] = (uint8_t)(0x80 | (v & 0x3f));
			s += 6;
		} else
			return -1;
	}
	return (long)o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char esc[ESC_MAX(XS_PAYLOAD_MAX)];
	static char json[ESC_JSON_MAX(XS_PAYLOAD_MAX)];
	static uint8_t back[XS_PAYLOAD_MAX];
	const unsigned char *buf;
	const struct audit_type *t;
	struct audit_args a;
	struct audit_json w, id;
	const char *key[] = {"p", NULL}, *nkey[] = {"n", NULL};
	const char *tkey[] = {"t", NULL}, *rkey[] = {"r", NULL};
	yajl_val tree, v;
	uint8_t *copy;
	size_t len, i, n, jn;
	uint32_t type;
	yajl_gen g;
	long back_len;
	static struct audit_hash plain, keyed;
	int values;

	if (size < 2)
		return 0;
	if (!keyed.keyed) {
		audit_hash_init(&plain, NULL, 0);
		audit_hash_init(&keyed, (const uint8_t *)"0123456789abcdef",
				16);
	}
	type = data[0];
	values = data[1] & 1;
	data += 2;
	size -= 2;
	if (size > XS_PAYLOAD_MAX)
		size = XS_PAYLOAD_MAX;
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);

	/* Fields lie inside the payload. */
	t = audit_type(type);
	audit_args(t, copy, size, &a);
	for (i = 0; i < a.narg; i++)
		if (a.arg[i].p < copy ||
		    a.arg[i].p + a.arg[i].len > copy + size ||
		    memchr(a.arg[i].p, '\0', a.arg[i].len) != NULL)
			abort();
	if (a.has_rest &&
	    (a.rest.p < copy || a.rest.p + a.rest.len != copy + size))
		abort();

	/* Escaping is one to one and within its bound. */
	n = escape_bytes(esc, copy, size);
	if (n >= sizeof(esc) || strlen(esc) != n || !valid_line((void *)esc, n))
		abort();
	back_len = unescape(esc, back);
	if (back_len != (long)size || memcmp(back, copy, size) != 0)
		abort();

	/* The string as the record writes it is what yajl writes. */
	if ((g = yajl_gen_alloc(NULL)) == NULL)
		abort();
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	if (yajl_gen_string(g, (const unsigned char *)esc, n) !=
	    yajl_gen_status_ok)
		abort();
	yajl_gen_get_buf(g, &buf, &len);
	jn = escape_json(json, copy, size);
	if (jn > ESC_JSON_MAX(size) || len != jn + 2 || buf[0] != '"' ||
	    memcmp(buf + 1, json, jn) != 0 || buf[len - 1] != '"')
		abort();
	yajl_gen_free(g);

	/* The whole record is one valid JSON line. */
	memset(&w, 0, sizeof(w));
	w.reserve = grow;
	audit_json_map(&w, NULL);
	/* Members made apart and copied in, as a connection's identity is. */
	memset(&id, 0, sizeof(id));
	id.reserve = grow;
	audit_json_int(&id, "r", (long long)size);
	audit_json_raw(&w, id.buf, id.len);
	free(id.buf);
	audit_json_str(&w, "p", copy, size);
	audit_json_lit(&w, "t", audit_type_name(type));
	audit_gen_args(&w, type, copy, size, values,
		       data[-1] & 2 ? &keyed : &plain);
	audit_json_int(&w, "n", -(long long)size);
	audit_json_end(&w);
	audit_json_line(&w);
	if (w.len < 2 || w.buf[w.len - 1] != '\n' ||
	    !valid_line((const unsigned char *)w.buf, w.len - 1))
		abort();
	w.buf[w.len - 1] = '\0';
	if ((tree = yajl_tree_parse(w.buf, NULL, 0)) == NULL ||
	    !YAJL_IS_OBJECT(tree))
		abort();
	v = yajl_tree_get(tree, key, yajl_t_string);
	if (v == NULL || strcmp(YAJL_GET_STRING(v), esc) != 0)
		abort();
	v = yajl_tree_get(tree, tkey, yajl_t_string);
	if (v == NULL || strcmp(YAJL_GET_STRING(v), audit_type_name(type)))
		abort();
	v = yajl_tree_get(tree, rkey, yajl_t_number);
	if (v == NULL || !YAJL_IS_INTEGER(v) ||
	    YAJL_GET_INTEGER(v) != (long long)size)
		abort();
	v = yajl_tree_get(tree, nkey, yajl_t_number);
	if (v == NULL || !YAJL_IS_INTEGER(v) ||
	    YAJL_GET_INTEGER(v) != -(long long)size)
		abort();
	yajl_tree_free(tree);
	free(w.buf);
	free(copy);
	return 0;
}
