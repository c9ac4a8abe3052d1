/* SPDX-License-Identifier: MIT */
/* Base64 (RFC 4648, padded), shared by the daemon and mshvctl: guest memory travels in it. */
#ifndef MSHVD_SHARED_BASE64_H
#define MSHVD_SHARED_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Encode len bytes.  Returns a new NUL-terminated string (free()), or NULL when out of memory. */
char *base64_encode(const void *data, size_t len);

/*
 * Decode slen characters of strictly padded base64 (length a multiple of 4, '=' only at the end).
 * On success *ret is a new buffer (free()) of *ret_len bytes.  -EINVAL for anything else,
 * -ENOMEM.
 */
int base64_decode(const char *s, size_t slen, uint8_t **ret, size_t *ret_len);

#endif
