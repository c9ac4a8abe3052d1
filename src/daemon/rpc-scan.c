// SPDX-License-Identifier: MIT
// The common request without a parse: the lexical scan of a flat request line (rpc-scan.h).

#include "config.h"

#include "rpc-scan.h"

static size_t scan_ws(const char *s, size_t n, size_t pos)
{
	while (pos < n && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r'))
		pos++;
	return pos;
}

/* A plain string (printable ASCII, no escape) at s[*pos], its opening quote; its contents in
 * *ret, *ret_len. */
static bool scan_plain_string(const char *s, size_t n, size_t *pos, const char **ret,
			      size_t *ret_len)
{
	size_t i = *pos + 1;

	if (*pos >= n || s[*pos] != '"')
		return false;
	for (; i < n && s[i] != '"'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '\\')
			return false;
	if (i == n)
		return false;
	*ret = s + *pos + 1;
	*ret_len = i - *pos - 1;
	*pos = i + 1;
	return true;
}

/* A non-negative integer of at most 18 digits (it fits a json_int_t), without a leading
 * zero, at s[*pos]. */
static bool scan_uint(const char *s, size_t n, size_t *pos, uint64_t *ret)
{
	size_t p = *pos, start = p;
	uint64_t v = 0;

	for (; p < n && s[p] >= '0' && s[p] <= '9' && p - start < 18; p++)
		v = v * 10 + (uint64_t)(s[p] - '0');
	if (p == start || (p < n && s[p] >= '0' && s[p] <= '9') ||
	    (s[start] == '0' && p - start > 1))
		return false;
	*ret = v;
	*pos = p;
	return true;
}

/* What may follow a value: whitespace, ',' or '}' (the caller checks which); a number or a
 * literal running into more characters is not JSON. */
static bool value_ends(const char *s, size_t n, size_t p)
{
	return p == n || s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r' ||
	       s[p] == ',' || s[p] == '}';
}

/* "key" : at s[*pos]; *pos is left on the value. */
static bool scan_key(const char *s, size_t n, size_t *pos, const char **key, size_t *klen)
{
	size_t p = *pos;

	if (!scan_plain_string(s, n, &p, key, klen))
		return false;
	p = scan_ws(s, n, p);
	if (p == n || s[p] != ':')
		return false;
	p = scan_ws(s, n, p + 1);
	if (p == n)
		return false;
	*pos = p;
	return true;
}

/* One member of an object: key, value and what the scan keeps of them. */
typedef bool scan_member_fn(const char *s, size_t n, size_t *pos, size_t max_string,
			    struct rpc_scan *r);

/* An object at s[*pos] (its '{'), every member read by fn; *pos is left after its '}'. */
static bool scan_object(const char *s, size_t n, size_t *pos, scan_member_fn *fn,
			size_t max_string, struct rpc_scan *r)
{
	size_t p = scan_ws(s, n, *pos + 1);

	if (p < n && s[p] == '}') {
		*pos = p + 1;
		return true;
	}
	for (;;) {
		if (!fn(s, n, &p, max_string, r))
			return false;
		p = scan_ws(s, n, p);
		if (p == n)
			return false;
		if (s[p] == '}')
			break;
		if (s[p] != ',')
			return false;
		p = scan_ws(s, n, p + 1);
	}
	*pos = p + 1;
	return true;
}

/* A member of params. */
static bool scan_param(const char *s, size_t n, size_t *pos, size_t max_string,
		       struct rpc_scan *r)
{
	struct rpc_scan_value *v;
	size_t p = *pos;

	if (r->nparams == RPC_SCAN_MAX_PARAMS)
		return false;
	(void)max_string;	/* a key is bounded by matching a param's name */
	v = &r->params[r->nparams];
	if (!scan_key(s, n, &p, &v->key, &v->key_len))
		return false;
	for (unsigned i = 0; i < r->nparams; i++)
		if (r->params[i].key_len == v->key_len &&
		    memcmp(r->params[i].key, v->key, v->key_len) == 0)
			return false;	/* a duplicate: the parser refuses it */
	if (s[p] == '"') {
		if (!scan_plain_string(s, n, &p, &v->s, &v->len) || v->len > RPC_SCAN_MAX_STRING)
			return false;
		v->type = SV_STRING;
	} else if (n - p >= 4 && memcmp(s + p, "true", 4) == 0) {
		p += 4;
		v->type = SV_BOOL;
		v->u = 1;
	} else if (n - p >= 5 && memcmp(s + p, "false", 5) == 0) {
		p += 5;
		v->type = SV_BOOL;
		v->u = 0;
	} else if (scan_uint(s, n, &p, &v->u)) {
		v->type = SV_UINT;
	} else {
		return false;
	}
	if (!value_ends(s, n, p))
		return false;
	r->nparams++;
	*pos = p;
	return true;
}

/* params: [] or a flat object. */
static bool scan_params(const char *s, size_t n, size_t *pos, size_t max_string,
			struct rpc_scan *r)
{
	size_t p = *pos;

	if (s[p] == '{')
		return scan_object(s, n, pos, scan_param, max_string, r);
	if (s[p] != '[')
		return false;
	p = scan_ws(s, n, p + 1);
	if (p == n || s[p] != ']')
		return false;
	*pos = p + 1;
	return true;
}

/* A member of the request. */
static bool scan_member(const char *s, size_t n, size_t *pos, size_t max_string,
			struct rpc_scan *r)
{
	const char *key, *v;
	size_t klen, vlen, p = *pos;

	if (!scan_key(s, n, &p, &key, &klen))
		return false;
	if (klen == 7 && memcmp(key, "jsonrpc", 7) == 0 && !r->has_jsonrpc) {
		if (!scan_plain_string(s, n, &p, &v, &vlen) || vlen != 3 || memcmp(v, "2.0", 3))
			return false;
		r->has_jsonrpc = true;
	} else if (klen == 6 && memcmp(key, "method", 6) == 0 && !r->has_method) {
		if (!scan_plain_string(s, n, &p, &r->method, &r->method_len) ||
		    r->method_len >= 64)
			return false;
		r->has_method = true;
	} else if (klen == 2 && memcmp(key, "id", 2) == 0 && !r->has_id) {
		uint64_t u;

		if (s[p] == '"') {
			if (!scan_plain_string(s, n, &p, &r->id_str, &r->id_len) ||
			    r->id_len > max_string)
				return false;
			r->id_type = ID_STRING;
		} else if (n - p >= 4 && memcmp(s + p, "null", 4) == 0) {
			p += 4;
			r->id_type = ID_NULL;
		} else if (scan_uint(s, n, &p, &u)) {
			r->id_int = (json_int_t)u;
			r->id_type = ID_INT;
		} else {
			return false;
		}
		r->has_id = true;
	} else if (klen == 6 && memcmp(key, "params", 6) == 0 && !r->has_params) {
		if (!scan_params(s, n, &p, max_string, r))
			return false;
		r->has_params = true;
	} else {
		return false;
	}
	if (!value_ends(s, n, p))
		return false;
	*pos = p;
	return true;
}

bool rpc_scan(const char *s, size_t n, size_t max_string, struct rpc_scan *r)
{
	size_t pos = scan_ws(s, n, 0);

	r->has_jsonrpc = r->has_method = r->has_id = r->has_params = false;
	r->nparams = 0;
	if (pos == n || s[pos] != '{' || !scan_object(s, n, &pos, scan_member, max_string, r))
		return false;
	return scan_ws(s, n, pos) == n && r->has_jsonrpc && r->has_method;
}
