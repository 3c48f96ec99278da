/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Bytes that came from outside the broker, as text (escape.c): the audit,
 * xs-audit, the fuzz targets and log lines all map them the same way.
 */
#ifndef ESCAPE_H
#define ESCAPE_H

#include <stddef.h>
#include <stdint.h>

/* escape_unit() writes at most this many bytes: "\\uNNNN" or 4 of UTF-8. */
#define ESC_UNIT_MAX 6
/* escape_bytes() writes at most 4 bytes per byte, and a NUL. */
#define ESC_MAX(len) (4 * (len) + 1)
/* escape_json() writes at most 5 bytes per byte. */
#define ESC_JSON_MAX(len) (5 * (len))

size_t escape_unit(char out[ESC_UNIT_MAX], const uint8_t *src, size_t len,
		   size_t *used);
size_t escape_bytes(char *dst, const uint8_t *src, size_t len);
size_t escape_json(char *dst, const uint8_t *src, size_t len);
void log_sanitize(char *dst, size_t dstsz, const uint8_t *src, size_t len);

#endif
