// SPDX-License-Identifier: MIT
/* Implementation of the test assertion library. */
#include <stdarg.h>
#include <limits.h>
#include <unistd.h>

#include "check.h"

unsigned test_failures;

/*
 * A guest that spins forever must fail its test, not hang the suite: every test program gets a
 * watchdog (TEST_TIMEOUT seconds, default 120) whose SIGALRM kills it.
 */
__attribute__((constructor)) static void test_watchdog(void)
{
	const char *s = getenv("TEST_TIMEOUT");
	unsigned secs = s ? (unsigned)strtoul(s, NULL, 10) : 120;

	if (secs)
		alarm(secs);
}

void test_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("SKIP: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	fflush(stdout);
	exit(TEST_EXIT_SKIP);
}

void test_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ERROR: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	fflush(stdout);
	exit(TEST_EXIT_ERROR);
}

void test_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
}

void check_report(const char *file, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;

	test_failures++;
	printf("FAIL: %s:%d: %s", file, line, expr);
	if (fmt) {
		fputs(": ", stdout);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	fputc('\n', stdout);
	fflush(stdout);
}

int test_done(void)
{
	if (test_failures) {
		printf("%u check(s) failed\n", test_failures);
		return TEST_EXIT_FAIL;
	}
	return TEST_EXIT_PASS;
}

const char *test_build_path(const char *rel)
{
	static char buf[PATH_MAX];
	const char *top = getenv("top_builddir");

	snprintf(buf, sizeof(buf), "%s/%s", top && *top ? top : ".", rel);
	return buf;
}
