// SPDX-License-Identifier: MIT
// Small helpers of the loop thread: JSON nesting depth, the clock (numbers: src/shared/num.c).

#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"

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

json_t *rpc_error_object(json_t *id, int code, const char *name, json_t *data,
			 const char *message)
{
	if (!data)
		data = json_object();
	json_object_set_new(data, "name", json_string(name));
	return json_pack("{s:s, s:O, s:{s:i, s:s, s:o}}", "jsonrpc", "2.0", "id",
			 id ? id : json_null(), "error", "code", code, "message", message,
			 "data", data);
}

json_t *rpc_limit_data(enum limit_id limit)
{
	return json_pack("{s:s, s:o}", "limit", limit_name(limit), "value",
			 json_hex(limit_value(&mshvd.limits, limit)));
}
