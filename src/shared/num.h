/* SPDX-License-Identifier: MIT */
/* Numbers shared by daemon, client library and CLI: the wire's u64 grammar, hex, sizes. */
#ifndef MSHVD_SHARED_NUM_H
#define MSHVD_SHARED_NUM_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define SHARED_API __attribute__((visibility("hidden")))

/* New reference: the "0x..." string of v (how every 64-bit quantity goes on the wire). */
SHARED_API json_t *json_hex(uint64_t v);
/* The wire's 64-bit quantity (include/mshvd/protocol.h): a non-negative JSON integer or a
 * "0x..." string of 1 to 16 hex digits.  0 or -EINVAL; *ret written only on success. */
SHARED_API int json_to_u64(const json_t *j, uint64_t *ret);
/* The string form of it: len bytes of s ("0x" and 1 to 16 hex digits), the same answers. */
SHARED_API int wire_hex_to_u64(const char *s, size_t len, uint64_t *ret);
/* A number typed by a person: decimal, 0x hex, 0b binary or 0o octal, no sign, no spaces.
 * 0 or -EINVAL. */
SHARED_API int parse_u64(const char *s, uint64_t *ret);
/* A size: parse_u64() or decimal with a K/M/G/T suffix (optionally followed by B or iB,
 * powers of 1024; hex takes no suffix).  0, -EINVAL or -ERANGE. */
SHARED_API int parse_size(const char *s, uint64_t *ret);

#endif
