// SPDX-License-Identifier: MIT
// Base64 (RFC 4648, padded) for guest memory on the wire, shared by the daemon and mshvctl.

#include <errno.h>
#include <stdlib.h>

#include "shared/base64.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const void *data, size_t len)
{
	const uint8_t *p = data;
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? b64[v & 63] : '=';
	}
	*o = 0;
	return out;
}

static int b64_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

int base64_decode(const char *s, size_t slen, uint8_t **ret, size_t *ret_len)
{
	uint8_t *out;
	size_t n = 0;

	if (slen % 4)
		return -EINVAL;
	out = malloc(slen / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < slen; i += 4) {
		int v[4];
		unsigned pad = 0;

		for (unsigned k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == slen && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (pad || (v[k] = b64_value(s[i + k])) < 0) {
				free(out);
				return -EINVAL;
			}
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | v[3];
		out[n++] = w >> 16;
		if (pad < 2)
			out[n++] = w >> 8 & 0xff;
		if (pad < 1)
			out[n++] = w & 0xff;
	}
	*ret = out;
	*ret_len = n;
	return 0;
}
