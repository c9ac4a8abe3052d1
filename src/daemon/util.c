// SPDX-License-Identifier: MIT
// Small helpers of the loop thread: hex quantities, JSON nesting depth, the clock.

#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mshvd.h"

uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

json_t *json_hex(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_string(buf);
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
	if (json_is_string(j)) {
		const char *s = json_string_value(j);
		size_t len = json_string_length(j);
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
	return -EINVAL;
}

unsigned json_text_depth(const char *s, size_t len)
{
	unsigned depth = 0, max = 0;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (in_string) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_string = false;
		} else if (ch == '"') {
			in_string = true;
		} else if (ch == '[' || ch == '{') {
			if (++depth > max)
				max = depth;
		} else if ((ch == ']' || ch == '}') && depth) {
			depth--;
		}
	}
	return max;
}
