// SPDX-License-Identifier: MIT
// Small helpers of the loop thread: JSON nesting depth, the clock (numbers: src/shared/num.c).

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
