// SPDX-License-Identifier: MIT
// Logging: structured records to the journal when stderr is the journal stream, else one line
// per message on stderr.

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <syslog.h>
/* CODE_FILE= would always name this file: leave the location out. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#endif

#include "base.h"

enum log_level log_level = LOG_LVL_INFO;

/* Set once by log_init() before any other thread exists; read-only afterwards. */
static bool log_to_journal;

static const char *const level_names[] = {
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_WARNING] = "warning",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

int log_level_from_name(const char *name, enum log_level *ret)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*ret = i;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * systemd connects stderr of a service to the journal and names that stream in
 * $JOURNAL_STREAM ("device:inode").  Comparing with fstat(2) tells a service's own stderr
 * apart from an inherited variable whose stderr was redirected elsewhere (a shell started
 * from a unit, a test harness): only then do we switch to native journal records.
 */
bool log_init(void)
{
#ifdef HAVE_SYSTEMD
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	log_to_journal = e && sscanf(e, "%llu:%llu%c", &dev, &ino, &tail) == 2 &&
			 fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
			 (unsigned long long)st.st_ino == ino;
	/* sd_journal_sendv() drops records silently when journald's socket is missing; stderr
	 * (the journal stream, or whatever took its place) is better than nothing then. */
	if (log_to_journal && access("/run/systemd/journal/socket", F_OK) < 0)
		log_to_journal = false;
#endif
	return log_to_journal;
}

#ifdef HAVE_SYSTEMD
/* 0 when journald took the record; otherwise the caller falls back to stderr. */
static int log_journal(enum log_level level, unsigned vm, int vcpu, const char *method, int err,
		       const char *text)
{
	static const int prio[] = {
		[LOG_LVL_ERROR] = LOG_ERR,
		[LOG_LVL_WARNING] = LOG_WARNING,
		[LOG_LVL_INFO] = LOG_INFO,
		[LOG_LVL_DEBUG] = LOG_DEBUG,
	};
	char f_prio[16], f_vm[32], f_vcpu[32], f_errno[32], f_method[96];
	struct iovec iov[8];
	int n = 0;

#define IOV_STR(s) (iov[n++] = (struct iovec){ .iov_base = (void *)(s), .iov_len = strlen(s) })
	IOV_STR("SYSLOG_IDENTIFIER=mshvd");
	snprintf(f_prio, sizeof(f_prio), "PRIORITY=%d", prio[level]);
	IOV_STR(f_prio);
	if (vm) {
		snprintf(f_vm, sizeof(f_vm), "MSHVD_VM=%u", vm);
		IOV_STR(f_vm);
	}
	if (vcpu >= 0) {
		snprintf(f_vcpu, sizeof(f_vcpu), "MSHVD_VCPU=%d", vcpu);
		IOV_STR(f_vcpu);
	}
	if (method) {
		snprintf(f_method, sizeof(f_method), "MSHVD_METHOD=%s", method);
		IOV_STR(f_method);
	}
	if (err > 0) {
		snprintf(f_errno, sizeof(f_errno), "ERRNO=%d", err);
		IOV_STR(f_errno);
	}
	/* MESSAGE last: it is the only field that may hold arbitrary (quoted user) text. */
	iov[n].iov_base = (void *)text;
	iov[n++].iov_len = strlen(text);
#undef IOV_STR
	return sd_journal_sendv(iov, n);
}
#endif

static void __attribute__((format(printf, 6, 0)))
log_vfull(enum log_level level, unsigned vm, int vcpu, const char *method, int err,
	  const char *fmt, va_list ap)
{
	char buf[1024];
	size_t len;
	int n;

	/* The same text either way; the journal gets it as MESSAGE= plus the context fields. */
	n = snprintf(buf, sizeof(buf), "MESSAGE=");
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	len = strnlen(buf, sizeof(buf) - 2);
	for (size_t i = n; i < len; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	buf[len] = 0;
#ifdef HAVE_SYSTEMD
	if (log_to_journal && log_journal(level, vm, vcpu, method, err, buf) >= 0)
		return;
#endif
	{
		char line[1200];
		int m;

		m = snprintf(line, sizeof(line), "mshvd[%d]: %s: %s\n", (int)getpid(),
			     level_names[level], buf + n);
		if (m < 0)
			return;
		if ((size_t)m >= sizeof(line)) {
			m = sizeof(line) - 1;
			line[m - 1] = '\n';
		}
		/* One write per line so lines from different threads never interleave. */
		(void)!write(STDERR_FILENO, line, (size_t)m);
	}
}

void log_full(enum log_level level, unsigned vm, int vcpu, const char *method, int err,
	      const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	log_vfull(level, vm, vcpu, method, err, fmt, ap);
	va_end(ap);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	log_vfull(level, 0, -1, NULL, 0, fmt, ap);
	va_end(ap);
}
