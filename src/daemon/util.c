// SPDX-License-Identifier: MIT
// Small helpers of the loop thread: JSON nesting depth, the clock (numbers: src/shared/num.c).

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"

char *text_u64(char *p, uint64_t v)
{
	char digits[20], *d = digits + sizeof(digits);

	do
		*--d = (char)('0' + v % 10);
	while (v /= 10);
	memcpy(p, d, (size_t)(digits + sizeof(digits) - d));
	return p + (digits + sizeof(digits) - d);
}

char *text_i64(char *p, int64_t v)
{
	if (v < 0) {
		*p++ = '-';
		return text_u64(p, -(uint64_t)v);
	}
	return text_u64(p, (uint64_t)v);
}

char *text_hex(char *p, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	unsigned n = 1;

	while (n < 16 && v >> (4 * n))
		n++;
	*p++ = '"';
	*p++ = '0';
	*p++ = 'x';
	for (unsigned i = n; i-- > 0;)
		*p++ = digits[(v >> (4 * i)) & 0xf];
	*p++ = '"';
	return p;
}

uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int textbuf_reserve(struct textbuf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->cap - b->len >= more)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap - b->len < more) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

int textbuf_put(struct textbuf *b, const void *data, size_t len)
{
	if (textbuf_reserve(b, len) < 0)
		return -ENOMEM;
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

int textbuf_json(struct textbuf *b, const json_t *v)
{
	const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
	size_t n;

	/* Integers (request ids, counts) are the most frequent values: formatted here as
	 * jansson does ("%lld"), without a trip through snprintf. */
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		unsigned long long u = i < 0 ? -(unsigned long long)i : (unsigned long long)i;
		char digits[24], *d = digits + sizeof(digits);

		do
			*--d = (char)('0' + u % 10);
		while (u /= 10);
		if (i < 0)
			*--d = '-';
		return textbuf_put(b, d, (size_t)(digits + sizeof(digits) - d));
	}
	/* Dumped straight into the spare room; only a value larger than it is dumped twice. */
	n = json_dumpb(v, b->p ? b->p + b->len : NULL, b->cap - b->len, flags);
	if (n == 0)
		return -ENOMEM;
	if (n > b->cap - b->len) {
		if (textbuf_reserve(b, n) < 0 || json_dumpb(v, b->p + b->len, n, flags) != n)
			return -ENOMEM;
	}
	b->len += n;
	return 0;
}

int textbuf_printf(struct textbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->p ? b->p + b->len : NULL, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	if ((size_t)n >= b->cap - b->len) {
		if (textbuf_reserve(b, (size_t)n + 1) < 0)
			return -ENOMEM;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
	return 0;
}

void textbuf_free(struct textbuf *b)
{
	free(b->p);
	*b = (struct textbuf){ 0 };
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
