/* SPDX-License-Identifier: MIT */
/* A small assertion library for C tests: automake exit codes 0 (pass), 1 (fail), 77 (skip), 99 (hard error). */
#ifndef MSHVD_TESTS_CHECK_H
#define MSHVD_TESTS_CHECK_H

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_EXIT_PASS	0
#define TEST_EXIT_FAIL	1
#define TEST_EXIT_SKIP	77
#define TEST_EXIT_ERROR	99

/* Number of failed checks so far; test_done() turns it into the exit status. */
extern unsigned test_failures;

void test_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void test_error(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void test_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int test_done(void);

void check_report(const char *file, int line, const char *expr, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* check(): record a failure and go on.  require(): stop the test at the first failure. */
#define check(cond) \
	((cond) ? 1 : (check_report(__FILE__, __LINE__, #cond, NULL), 0))

#define require(cond) \
	do { if (!check(cond)) exit(test_done()); } while (0)

#define check_eq_u64(a, b) ({ \
	uint64_t check_a_ = (uint64_t)(a), check_b_ = (uint64_t)(b); \
	check_a_ == check_b_ ? 1 : (check_report(__FILE__, __LINE__, #a " == " #b, \
		"0x%" PRIx64 " != 0x%" PRIx64, check_a_, check_b_), 0); })

#define check_eq_int(a, b) ({ \
	long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
	check_a_ == check_b_ ? 1 : (check_report(__FILE__, __LINE__, #a " == " #b, \
		"%lld != %lld", check_a_, check_b_), 0); })

#define check_eq_str(a, b) ({ \
	const char *check_a_ = (a), *check_b_ = (b); \
	(check_a_ && check_b_ && strcmp(check_a_, check_b_) == 0) ? 1 : \
		(check_report(__FILE__, __LINE__, #a " == " #b, "\"%s\" != \"%s\"", \
			check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)"), 0); })

/* A call returning 0 or a negative errno must succeed. */
#define check_ok(call) ({ \
	long long check_r_ = (long long)(call); \
	check_r_ == 0 ? 1 : (check_report(__FILE__, __LINE__, #call, "returned %lld (%s)", \
		check_r_, check_r_ < 0 ? strerror((int)-check_r_) : "?"), 0); })

#define require_ok(call) \
	do { if (!check_ok(call)) exit(test_done()); } while (0)

/* Path of a file built into the build tree (guests), from $top_builddir or ".". */
const char *test_build_path(const char *rel);

#endif
