/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The serval-sr authors
 */

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sal.h"

static const char *const sal_drop_strs[SAL_DROP_MAX] = {
	[SAL_DROP_NONE] = "accepted",
#define SAL_DROP_STR_(n, s) [SAL_DROP_##n] = s,
	SAL_DROP_REASONS(SAL_DROP_STR_)
#undef SAL_DROP_STR_
};

static const char *const sal_drop_names[SAL_DROP_MAX] = {
	[SAL_DROP_NONE] = "NONE",
#define SAL_DROP_NAME_(n, s) [SAL_DROP_##n] = #n,
	SAL_DROP_REASONS(SAL_DROP_NAME_)
#undef SAL_DROP_NAME_
};

const char *
sal_drop_reason_str(enum sal_drop_reason r)
{
	if ((unsigned int)r >= SAL_DROP_MAX)
		return "unknown drop reason";
	return sal_drop_strs[r];
}

const char *
sal_drop_reason_name(enum sal_drop_reason r)
{
	if ((unsigned int)r >= SAL_DROP_MAX)
		return "UNKNOWN";
	return sal_drop_names[r];
}

static int
sal_text_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int
sal_hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Printable form of a character for error messages. */
static const char *
sal_char_desc(char c, char buf[8])
{
	if (c >= 0x21 && c <= 0x7e)
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "0x%02x", (unsigned char)c);
	return buf;
}

int
sal_service_id_parse(const char *s, struct sal_service_id *id, uint16_t *prefix_bits,
	char *err, size_t errlen)
{
	struct sal_service_id tmp;
	size_t i, ndig;
	unsigned int bits = 256;
	char cd[8];

	if (s == NULL || id == NULL)
		return sal_text_fail(err, errlen, "serviceID: no input");
	memset(&tmp, 0, sizeof(tmp));

	for (ndig = 0; s[ndig] != '\0' && s[ndig] != '/'; ndig++) {
		int v = sal_hex_val(s[ndig]);

		if (v < 0)
			return sal_text_fail(err, errlen,
				"serviceID \"%.80s\": %s at position %zu is not a hex digit",
				s, sal_char_desc(s[ndig], cd), ndig + 1);
		if (ndig >= 64)
			return sal_text_fail(err, errlen,
				"serviceID \"%.80s\": more than 64 hex digits", s);
		tmp.b[ndig / 2] |= (uint8_t)(ndig % 2 ? v : v << 4);
	}
	if (ndig == 0)
		return sal_text_fail(err, errlen,
			"serviceID \"%.80s\": needs 1..64 hex digits before any '/'", s);

	if (s[ndig] == '/') {
		const char *b = s + ndig + 1;

		if (prefix_bits == NULL)
			return sal_text_fail(err, errlen,
				"serviceID \"%.80s\": a prefix length is not allowed here", s);
		bits = 0;
		for (i = 0; b[i] != '\0'; i++) {
			if (b[i] < '0' || b[i] > '9')
				return sal_text_fail(err, errlen,
					"serviceID \"%.80s\": prefix length must be a decimal "
					"number 0..256, found %s", s, sal_char_desc(b[i], cd));
			if (i >= 3)
				return sal_text_fail(err, errlen,
					"serviceID \"%.80s\": prefix length must be 0..256", s);
			bits = bits * 10 + (unsigned int)(b[i] - '0');
		}
		if (i == 0)
			return sal_text_fail(err, errlen,
				"serviceID \"%.80s\": '/' must be followed by a prefix length "
				"0..256", s);
		if (bits > 256)
			return sal_text_fail(err, errlen,
				"serviceID \"%.80s\": prefix length %u is outside 0..256", s, bits);
	}

	/* Reject bits set past the prefix: likely a typo, masking would hide it. */
	for (i = bits; i < 256; i++) {
		if (tmp.b[i / 8] & (0x80 >> (i % 8)))
			return sal_text_fail(err, errlen,
				"serviceID \"%.80s\": bit %zu is set beyond the prefix length %u",
				s, i, bits);
	}

	*id = tmp;
	if (prefix_bits != NULL)
		*prefix_bits = (uint16_t)bits;
	return 0;
}

int
sal_service_id_format(const struct sal_service_id *id, int prefix_bits, char *buf,
	size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t need = 64 + 1;
	size_t i;

	if (id == NULL || buf == NULL || prefix_bits < -1 || prefix_bits > 256)
		return -EINVAL;
	if (prefix_bits >= 0)
		need += (size_t)snprintf(NULL, 0, "/%d", prefix_bits);
	if (len < need) {
		if (len > 0)
			buf[0] = '\0';
		return -ENOSPC;
	}
	for (i = 0; i < 32; i++) {
		buf[2 * i] = hex[id->b[i] >> 4];
		buf[2 * i + 1] = hex[id->b[i] & 0x0f];
	}
	buf[64] = '\0';
	if (prefix_bits >= 0)
		snprintf(buf + 64, len - 64, "/%d", prefix_bits);
	return (int)(need - 1);
}
