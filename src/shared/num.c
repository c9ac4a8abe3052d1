// SPDX-License-Identifier: MIT
// Numbers shared by daemon, client library and CLI: one u64 grammar for the wire, one for people.

#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shared/num.h"

json_t *json_hex(uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char buf[18], *p = buf + sizeof(buf);

	/* By hand, not snprintf: every exit event carries two or three of these. */
	do {
		*--p = digits[v & 0xf];
		v >>= 4;
	} while (v);
	*--p = 'x';
	*--p = '0';
	return json_stringn_nocheck(p, (size_t)(buf + sizeof(buf) - p));
}

int wire_hex_to_u64(const char *s, size_t len, uint64_t *ret)
{
	uint64_t v = 0;

	if (len < 3 || len > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -EINVAL;
	for (size_t i = 2; i < len; i++) {
		char ch = s[i];
		unsigned d;

		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			d = ch - 'A' + 10;
		else
			return -EINVAL;
		v = v << 4 | d;
	}
	*ret = v;
	return 0;
}

int json_to_u64(const json_t *j, uint64_t *ret)
{
	if (json_is_integer(j)) {
		json_int_t i = json_integer_value(j);

		if (i < 0)
			return -EINVAL;
		*ret = (uint64_t)i;
		return 0;
	}
	if (json_is_string(j))
		return wire_hex_to_u64(json_string_value(j), json_string_length(j), ret);
	return -EINVAL;
}

int parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	uint64_t v;
	int base = 10;

	if (!s || !*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	} else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
		base = 2;
		s += 2;
	} else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
		base = 8;
		s += 2;
	}
	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_size(const char *s, uint64_t *ret)
{
	static const char units[] = "KMGT";
	char num[64];
	const char *u;
	uint64_t v;
	unsigned shift = 0;

	if (!s)
		return -EINVAL;
	/* Hex digits look like units: hex sizes take no suffix. */
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return parse_u64(s, ret);
	for (u = s; isdigit((unsigned char)*u); u++)
		;
	if (*u) {
		const char *p = strchr(units, toupper((unsigned char)*u));

		if (!p || (u[1] && strcasecmp(u + 1, "b") && strcasecmp(u + 1, "ib")))
			return -EINVAL;
		shift = 10 * (unsigned)(p - units + 1);
	}
	if ((size_t)(u - s) >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, (size_t)(u - s));
	num[u - s] = 0;
	if (parse_u64(num, &v) < 0)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*ret = v << shift;
	return 0;
}
