/* SPDX-License-Identifier: MIT */
/* The common request without a parse: a lexical scan of one flat request line (layer 5, see
 * base.h; used by the dispatcher, rpc.c). */
#ifndef MSHVD_RPC_SCAN_H
#define MSHVD_RPC_SCAN_H

#include "base.h"

/*
 * Most requests are one flat object: no params (daemon-info, list-vms, probes) or a few scalar
 * params (complete, run, get-regs of a vCPU: the step-mode loop).  Such a line is scanned
 * instead of being parsed into a jansson tree (the parse was the largest share of the daemon's
 * own time per small request).  The scan accepts only a subset whose meaning is beyond doubt:
 * members "jsonrpc" ("2.0"), "method" (a plain string shorter than 64), optional "id" (a
 * non-negative integer of at most 18 digits, null, or a plain string within max-string) and
 * optional "params": [] or an object of at most RPC_SCAN_MAX_PARAMS members with distinct
 * plain keys whose values are non-negative integers of at most 18 digits, true, false or plain
 * strings of at most RPC_SCAN_MAX_STRING bytes; each member at most once, in any order, with
 * JSON whitespace.  A plain string is printable ASCII without escapes.  Anything else (an
 * escape, a fraction, a sign, a nested value, a duplicate, trailing garbage) is not scanned:
 * the caller parses it, which also produces every error.
 */
#define RPC_SCAN_MAX_PARAMS	8
#define RPC_SCAN_MAX_STRING	255

struct rpc_scan_value {
	const char *key;		/* into the line */
	size_t key_len;
	enum { SV_UINT, SV_BOOL, SV_STRING } type;
	uint64_t u;			/* SV_UINT: < 10^18; SV_BOOL: 0 or 1 */
	const char *s;			/* SV_STRING: into the line */
	size_t len;
};

struct rpc_scan {
	bool has_jsonrpc, has_method, has_id, has_params;
	const char *method;		/* into the line */
	size_t method_len;
	enum { ID_INT, ID_STRING, ID_NULL } id_type;
	json_int_t id_int;
	const char *id_str;
	size_t id_len;
	unsigned nparams;
	struct rpc_scan_value params[RPC_SCAN_MAX_PARAMS];
};

/* Scan the n bytes of s into *r; false: not in the subset (parse it). */
bool rpc_scan(const char *s, size_t n, size_t max_string, struct rpc_scan *r);

#endif
