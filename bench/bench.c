// SPDX-License-Identifier: MIT
// Shared code of the benchmarks: statistics, result tables, a private mshvd, a raw line client,
// the choice of backends and raw baselines.

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "shared/base64.h"

/* ---- process ----------------------------------------------------------------------------- */

void bench_die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

bool bench_have_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	/* A device that answers, not a stray file of that name. */
	ok = ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
	close(fd);
	return ok;
}

bool bench_quick(void)
{
	const char *q = getenv("BENCH_QUICK");

	return q && *q && strcmp(q, "0") != 0;
}

unsigned bench_count(unsigned full, unsigned q)
{
	return bench_quick() ? q : full;
}

bool bench_backend_enabled(const char *backend)
{
	const char *list = getenv("BENCH_BACKENDS");
	size_t n = strlen(backend);

	if (!list || !*list)
		return true;
	for (const char *p = list; (p = strstr(p, backend)); p += n) {
		bool start = p == list || p[-1] == ' ' || p[-1] == ',';
		bool end = p[n] == '\0' || p[n] == ' ' || p[n] == ',';

		if (start && end)
			return true;
	}
	return false;
}

bool bench_backend_available(const char *backend, const char **ret_why)
{
	const char *why = NULL;

	if (strcmp(backend, "kvm") == 0) {
		if (!bench_have_kvm())
			why = "/dev/kvm is not usable here";
	} else if (strcmp(backend, "mshv") == 0 || strcmp(backend, "emu") == 0) {
#ifdef HAVE_UNICORN
		if (strcmp(backend, "mshv") == 0 &&
		    access(bench_build_path("tests/mshv-sim/.libs/libmshv-sim.so"), R_OK) < 0)
			why = "tests/mshv-sim is not built (make bench builds it)";
#else
		why = "built without libunicorn (no engine for emu or the MSHV test double)";
#endif
	} else {
		why = "unknown backend";
	}
	if (why && ret_why)
		*ret_why = why;
	return !why;
}

unsigned bench_backends(const char *ret[3])
{
	static const char *const all[] = { "kvm", "mshv", "emu" };
	unsigned n = 0;

	for (unsigned i = 0; i < 3; i++) {
		const char *why = NULL;

		if (!bench_backend_enabled(all[i]))
			continue;
		if (!bench_backend_available(all[i], &why)) {
			bench_note("%s: not measured: %s", bench_backend_label(all[i]), why);
			continue;
		}
		ret[n++] = all[i];
	}
	if (!n) {
		printf("SKIP: no selected backend can run here (BENCH_BACKENDS=\"%s\")\n",
		       getenv("BENCH_BACKENDS") ? getenv("BENCH_BACKENDS") : "");
		exit(77);
	}
	return n;
}

const char *bench_builddir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("top_builddir");
	char *slash;
	ssize_t n;

	if (dir[0])
		return dir;
	if (env && *env) {
		if (!realpath(env, dir))
			bench_die("top_builddir \"%s\": %s", env, strerror(errno));
		return dir;
	}
	/* The programs live in $builddir/bench/ (they link no libtool library, so no .libs). */
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n < 0)
		bench_die("/proc/self/exe: %s", strerror(errno));
	dir[n] = '\0';
	for (int i = 0; i < 2; i++) {
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			bench_die("cannot find the build tree; set top_builddir");
		*slash = '\0';
	}
	return dir;
}

const char *bench_build_path(const char *rel)
{
	static char path[PATH_MAX + 256];

	snprintf(path, sizeof(path), "%s/%s", bench_builddir(), rel);
	return path;
}

void *bench_read_file(const char *path, size_t *ret_len)
{
	struct stat st;
	uint8_t *buf;
	size_t off = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		bench_die("%s: %s (run make first)", path, strerror(errno));
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		bench_die("out of memory");
	while (off < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + off, (size_t)st.st_size - off);

		if (r <= 0)
			bench_die("%s: read failed", path);
		off += (size_t)r;
	}
	close(fd);
	*ret_len = off;
	return buf;
}

void *bench_guest(const char *name, size_t *ret_len)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "tests/guests/%s.bin", name);
	return bench_read_file(bench_build_path(rel), ret_len);
}

/* ---- time and statistics ----------------------------------------------------------------- */

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_samples_add(struct bench_samples *s, double v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		double *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			bench_die("out of memory");
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_quantile(const struct bench_samples *s, double q)
{
	double *copy, r;
	size_t i;

	if (!s->n)
		return NAN;
	copy = malloc(s->n * sizeof(*copy));
	if (!copy)
		bench_die("out of memory");
	memcpy(copy, s->v, s->n * sizeof(*copy));
	qsort(copy, s->n, sizeof(*copy), cmp_double);
	/* Nearest rank: the smallest sample with at least q of the samples at or below it. */
	i = (size_t)ceil(q * (double)s->n);
	i = i ? i - 1 : 0;
	if (i >= s->n)
		i = s->n - 1;
	r = copy[i];
	free(copy);
	return r;
}

double bench_median(const struct bench_samples *s)
{
	return bench_quantile(s, 0.5);
}

double bench_p99(const struct bench_samples *s)
{
	return bench_quantile(s, 0.99);
}

void bench_samples_reset(struct bench_samples *s)
{
	s->n = 0;
}

void bench_samples_free(struct bench_samples *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

/* ---- results ----------------------------------------------------------------------------- */

void bench_begin(const char *title)
{
	printf("\n== %s%s\n", title, bench_quick() ? " (BENCH_QUICK: tiny counts, numbers meaningless)" : "");
	printf("%-44s %-8s %11s %11s %11s %8s %-8s %s\n", "figure", "backend", "median", "p99",
	       "baseline", "ratio", "goal", "met");
	fflush(stdout);
}

int bench_pin_one_cpu(const char *spread_env, cpu_set_t *old)
{
	const char *spread = getenv(spread_env);
	int cpu = sched_getcpu();
	cpu_set_t set;

	if ((spread && *spread && strcmp(spread, "0") != 0) || cpu < 0 ||
	    (old && sched_getaffinity(0, sizeof(*old), old) < 0))
		return -1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return -1;
	return cpu;
}

void bench_note(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static void fmt_num(char *buf, size_t n, double v, const char *unit)
{
	if (isnan(v))
		snprintf(buf, n, "-");
	else if (strcmp(unit, "per_s") == 0)
		snprintf(buf, n, "%.0f/s", v);
	else if (strcmp(unit, "x") == 0)
		snprintf(buf, n, "%.2fx", v);
	else
		snprintf(buf, n, "%.*f%s", v < 100 ? 2 : v < 10000 ? 1 : 0, v,
			 strcmp(unit, "us") == 0 ? "us" : strcmp(unit, "kib") == 0 ? "KiB" :
			 strcmp(unit, "ms") == 0 ? "ms" : "");
}

bool bench_report(const struct bench_result *r)
{
	char v[32], p[32], b[32], ratio[32];
	const char *met = "-";
	bool ok = true;

	double x = r->goal_on_value ? r->value : r->ratio;
	bool judged = r->goal && !isnan(x);

	if (judged) {
		if (!isnan(r->goal_max))
			ok = x <= r->goal_max;
		if (!isnan(r->goal_min))
			ok = ok && x >= r->goal_min;
		met = ok ? "yes" : "NO";
	}
	fmt_num(v, sizeof(v), r->value, r->unit);
	fmt_num(p, sizeof(p), r->p99, r->unit);
	fmt_num(b, sizeof(b), r->baseline, r->unit);
	if (isnan(r->ratio))
		snprintf(ratio, sizeof(ratio), "-");
	else
		snprintf(ratio, sizeof(ratio), "%.3f", r->ratio);
	printf("%-44s %-8s %11s %11s %11s %8s %-8s %s\n", r->label, r->backend, v, p, b, ratio,
	       r->goal ? r->goal : "-", met);

	/* The machine-readable line: NAN fields are left out. */
	printf("BENCH name=%s backend=%s", r->name, r->backend);
	if (!isnan(r->value))
		printf(" %s_%s=%.3f", strcmp(r->unit, "per_s") == 0 ? "rate" : "median", r->unit,
		       r->value);
	if (!isnan(r->p99))
		printf(" p99_%s=%.3f", r->unit, r->p99);
	if (!isnan(r->baseline))
		printf(" baseline_%s=%.3f", r->unit, r->baseline);
	if (!isnan(r->ratio))
		printf(" ratio=%.4f", r->ratio);
	if (r->goal)
		printf(" goal=%s met=%s", r->goal, !judged ? "unknown" : ok ? "yes" : "no");
	if (r->extra)
		printf(" %s", r->extra);
	printf("%s\n", bench_quick() ? " quick=1" : "");
	fflush(stdout);
	return ok;
}

/* ---- a private mshvd --------------------------------------------------------------------- */

const char *bench_backend_label(const char *backend)
{
	return strcmp(backend, "mshv") == 0 ? "mshv-sim" : backend;
}

/* A sockaddr_un for path; dies when it does not fit. */
static struct sockaddr_un unix_addr(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(path);

	if (n >= sizeof(sa.sun_path))
		bench_die("socket path too long: %s", path);
	memcpy(sa.sun_path, path, n + 1);
	return sa;
}

static bool try_connect(const char *path)
{
	struct sockaddr_un sa = unix_addr(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void print_file(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stderr);
	close(fd);
}

void bench_daemon_start(struct bench_daemon *d, const char *backend, const char *const *args)
{
	char daemon[PATH_MAX + 64], sim[PATH_MAX + 64];
	const char *argv[64];
	unsigned argc = 0;
	uint64_t end;

	memset(d, 0, sizeof(*d));
	d->backend = backend;
	snprintf(d->dir, sizeof(d->dir), "/tmp/mshvd-bench-XXXXXX");
	if (!mkdtemp(d->dir))
		bench_die("mkdtemp: %s", strerror(errno));
	snprintf(d->sock, sizeof(d->sock), "%s/mshvd.sock", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/mshvd.log", d->dir);
	snprintf(daemon, sizeof(daemon), "%s", bench_build_path("src/daemon/mshvd"));
	snprintf(sim, sizeof(sim), "%s", bench_build_path("tests/mshv-sim/.libs/libmshv-sim.so"));
	if (access(daemon, X_OK) < 0)
		bench_die("%s: %s (run make first)", daemon, strerror(errno));
	if (strcmp(backend, "mshv") == 0 && access(sim, R_OK) < 0)
		bench_die("%s: %s (run make first)", sim, strerror(errno));

	argv[argc++] = daemon;
	argv[argc++] = "--foreground";
	argv[argc++] = "--socket";
	argv[argc++] = d->sock;
	argv[argc++] = "--backend";
	argv[argc++] = backend;
	for (unsigned i = 0; args && args[i] && argc < 62; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;

	fflush(NULL);
	d->pid = fork();
	if (d->pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (d->pid == 0) {
		int log = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (log < 0 || null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
			_exit(127);
		if (strcmp(backend, "mshv") == 0) {
			const char *asan = getenv("ASAN_OPTIONS");
			char opts[512];

			/* As tests/mshv-sim/sim-env: sanitizer builds accept the preload. */
			snprintf(opts, sizeof(opts), "verify_asan_link_order=0%s%s",
				 asan && *asan ? ":" : "", asan && *asan ? asan : "");
			setenv("ASAN_OPTIONS", opts, 1);
			setenv("LD_PRELOAD", sim, 1);
		}
		execv(daemon, (char *const *)argv);
		_exit(127);
	}
	end = bench_now_ns() + 20ull * 1000000000u;
	while (!try_connect(d->sock)) {
		int status;

		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			print_file(d->log);
			bench_die("mshvd (%s) exited during startup", backend);
		}
		if (bench_now_ns() > end) {
			print_file(d->log);
			bench_die("mshvd (%s) did not listen within 20 s", backend);
		}
		usleep(10000);
	}
}

/* Whether the daemon's log has a sanitizer report. */
static bool log_has_report(const char *path)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen(path, "re");

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, "runtime error") || strstr(line, "Sanitizer");
	if (f)
		fclose(f);
	return found;
}

void bench_daemon_stop(struct bench_daemon *d)
{
	bool bad;
	int status = 0;

	if (d->pid <= 0)
		return;
	kill(d->pid, SIGTERM);
	bad = waitpid(d->pid, &status, 0) != d->pid || !WIFEXITED(status) ||
	      WEXITSTATUS(status) != 0 || log_has_report(d->log);
	d->pid = 0;
	if (bad) {
		fprintf(stderr, "bench: mshvd (%s) did not exit cleanly (status 0x%x); its log:\n",
			d->backend, status);
		print_file(d->log);
		bench_die("mshvd (%s) failed", d->backend);
	}
	unlink(d->log);
	unlink(d->sock);
	rmdir(d->dir);
}

long bench_proc_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			kib = strtol(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kib;
}

/* ---- a raw line client of mshvd ----------------------------------------------------------- */

void bench_conn_open(struct bench_conn *c, const char *path)
{
	struct sockaddr_un sa = unix_addr(path);

	memset(c, 0, sizeof(*c));
	c->next_id = 1;
	c->cap = 1 << 16;
	c->buf = malloc(c->cap);
	if (!c->buf)
		bench_die("out of memory");
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		bench_die("connect %s: %s", path, strerror(errno));
}

void bench_conn_close(struct bench_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

void bench_conn_write(struct bench_conn *c, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(c->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			bench_die("write to mshvd: %s", n < 0 ? strerror(errno) : "short write");
		p += n;
		len -= (size_t)n;
	}
}

const char *bench_conn_line(struct bench_conn *c, size_t *ret_len)
{
	for (;;) {
		char *start = c->buf + c->off, *nl = memchr(start, '\n', c->len - c->off);
		ssize_t n;

		if (nl) {
			*nl = '\0';
			c->off += (size_t)(nl - start) + 1;
			if (ret_len)
				*ret_len = (size_t)(nl - start);
			return start;
		}
		/* Compact, grow, read more. */
		if (c->off) {
			memmove(c->buf, start, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (c->len == c->cap) {
			char *nb = realloc(c->buf, c->cap * 2);

			if (!nb)
				bench_die("out of memory");
			c->buf = nb;
			c->cap *= 2;
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			bench_die("read from mshvd: %s", n < 0 ? strerror(errno) : "connection closed");
		c->len += (size_t)n;
	}
}

size_t bench_rpc_format(char *buf, size_t n, uint64_t id, const char *method,
			const char *params_fmt, va_list ap)
{
	int len = snprintf(buf, n, "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"%s\"",
			   (unsigned long long)id, method);

	if (len > 0 && (size_t)len < n && params_fmt) {
		len += snprintf(buf + len, n - (size_t)len, ",\"params\":");
		if ((size_t)len < n)
			len += vsnprintf(buf + len, n - (size_t)len, params_fmt, ap);
	}
	if (len > 0 && (size_t)len + 2 < n)
		len += snprintf(buf + len, n - (size_t)len, "}\n");
	else
		bench_die("request %s too long", method);
	return (size_t)len;
}

size_t bench_rpc_format_into(char *buf, size_t n, uint64_t id, const char *method,
			     const char *params_fmt, ...)
{
	va_list ap;
	size_t len;

	va_start(ap, params_fmt);
	len = bench_rpc_format(buf, n, id, method, params_fmt, ap);
	va_end(ap);
	return len;
}

uint64_t bench_rpc_send(struct bench_conn *c, const char *method, const char *params_fmt, ...)
{
	static char buf[1 << 18];
	uint64_t id = c->next_id++;
	va_list ap;
	size_t len;

	va_start(ap, params_fmt);
	len = bench_rpc_format(buf, sizeof(buf), id, method, params_fmt, ap);
	va_end(ap);
	bench_conn_write(c, buf, len);
	return id;
}

void bench_rpc_wait(struct bench_conn *c, uint64_t first, unsigned n, json_t **ret_last)
{
	unsigned got = 0;

	while (got < n) {
		size_t len;
		const char *line = bench_conn_line(c, &len);
		json_error_t jerr;
		json_t *msg = json_loadb(line, len, 0, &jerr), *id, *err;
		json_int_t i;

		if (!msg)
			bench_die("bad JSON from mshvd: %s", jerr.text);
		if (json_object_get(msg, "method")) {	/* an event on this connection */
			json_decref(msg);
			continue;
		}
		id = json_object_get(msg, "id");
		err = json_object_get(msg, "error");
		if (err) {
			char *s = json_dumps(err, JSON_COMPACT);

			bench_die("mshvd answered request %lld with an error: %s",
				  json_is_integer(id) ? (long long)json_integer_value(id) : -1LL, s);
		}
		i = json_is_integer(id) ? json_integer_value(id) : -1;
		if (i < (json_int_t)first || i >= (json_int_t)(first + n))
			bench_die("unexpected reply id %lld", (long long)i);
		got++;
		if (ret_last && i == (json_int_t)(first + n - 1))
			*ret_last = json_incref(json_object_get(msg, "result"));
		json_decref(msg);
	}
}

void bench_call(struct bench_conn *c, json_t **ret_result, const char *method,
		const char *params_fmt, ...)
{
	static char buf[1 << 18];
	uint64_t id = c->next_id++;
	va_list ap;
	size_t len;

	va_start(ap, params_fmt);
	len = bench_rpc_format(buf, sizeof(buf), id, method, params_fmt, ap);
	va_end(ap);
	bench_conn_write(c, buf, len);
	bench_rpc_wait(c, id, 1, ret_result);
}

int bench_call_err(struct bench_conn *c, json_t **ret_result, char *err, size_t n,
		   const char *method, const char *params_fmt, ...)
{
	static char buf[1 << 18];
	uint64_t id = c->next_id++;
	va_list ap;
	size_t len;

	va_start(ap, params_fmt);
	len = bench_rpc_format(buf, sizeof(buf), id, method, params_fmt, ap);
	va_end(ap);
	bench_conn_write(c, buf, len);
	for (;;) {
		const char *line = bench_conn_line(c, &len);
		json_t *msg = json_loadb(line, len, 0, NULL), *e;
		int r = 0;

		if (!msg)
			bench_die("bad JSON from mshvd");
		if (json_object_get(msg, "method") ||
		    json_integer_value(json_object_get(msg, "id")) != (json_int_t)id) {
			json_decref(msg);
			continue;
		}
		e = json_object_get(msg, "error");
		if (e) {
			char *s = json_dumps(e, JSON_COMPACT);

			snprintf(err, n, "%s", s ? s : "?");
			free(s);
			r = -1;
		} else if (ret_result) {
			*ret_result = json_incref(json_object_get(msg, "result"));
		}
		json_decref(msg);
		return r;
	}
}

long long bench_json_int(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v))
		bench_die("reply has no integer \"%s\"", key);
	return (long long)json_integer_value(v);
}

char *bench_base64(const void *data, size_t len)
{
	char *out = base64_encode(data, len);

	if (!out)
		bench_die("out of memory");
	return out;
}

long long bench_daemon_vm(struct bench_conn *c, const void *image, size_t len, uint64_t rbx)
{
	char *b64 = bench_base64(image, len);
	json_t *r = NULL;
	long long vm;

	bench_call(c, &r, "create-vm", "{}");
	vm = bench_json_int(r, "vm");
	json_decref(r);
	bench_call(c, NULL, "map-memory", "{\"vm\":%lld,\"gpa\":0,\"size\":%u}", vm, 0xc0000u);
	bench_call(c, NULL, "write-memory", "{\"vm\":%lld,\"gpa\":4096,\"data\":\"%s\"}", vm, b64);
	bench_call(c, NULL, "create-vcpu", "{\"vm\":%lld,\"index\":0}", vm);
	bench_call(c, NULL, "set-regs",
		   "{\"vm\":%lld,\"vcpu\":0,\"regs\":{\"rip\":4096,\"rflags\":2,\"rax\":%llu,"
		   "\"rbx\":%llu,\"cs\":{\"base\":0,\"selector\":0}}}",
		   vm, (unsigned long long)rbx, (unsigned long long)rbx);
	free(b64);
	return vm;
}

/* ---- raw baselines ----------------------------------------------------------------------- */

enum raw_kind bench_raw_kind(const char *backend)
{
	return strcmp(backend, "kvm") == 0 ? RAW_KVM : RAW_EMU;
}

const char *bench_raw_label(enum raw_kind kind)
{
	return kind == RAW_KVM ? "raw KVM" : "raw engine";
}

int raw_vm_create(struct raw_vm *v, enum raw_kind kind, size_t ram_size, const void *image,
		  size_t len, uint64_t rbx)
{
	return kind == RAW_KVM ? raw_kvm_create(v, ram_size, image, len, rbx) :
				 raw_emu_create(v, ram_size, image, len, rbx);
}

void raw_vm_ioeventfd(struct raw_vm *v, uint64_t gpa, unsigned len, int fd)
{
	if (v->kind == RAW_KVM) {
		raw_kvm_ioeventfd(v, gpa, len, fd);
		return;
	}
	v->io_fd = fd;
	v->io_addr = gpa;
	v->io_len = len;
}

enum raw_exit raw_vm_run(struct raw_vm *v)
{
	return v->kind == RAW_KVM ? raw_kvm_run(v) : raw_emu_run(v);
}

uint64_t raw_vm_run_to_halt(struct raw_vm *v)
{
	uint64_t exits = 0;

	while (raw_vm_run(v) != RAW_EXIT_HLT)
		exits++;
	return exits;
}

void raw_vm_destroy(struct raw_vm *v)
{
	if (v->kind == RAW_KVM)
		raw_kvm_destroy(v);
	else
		raw_emu_destroy(v);
}

/* ---- raw sockets ------------------------------------------------------------------------- */

static void echo_serve(int fd, size_t reply_len)
{
	size_t cap = 1 << 16, out_cap = reply_len * 64;
	char *in = malloc(cap), *out = malloc(out_cap);

	if (!in || !out)
		_exit(1);
	for (;;) {
		ssize_t n = read(fd, in, cap);
		size_t lines = 0, len = 0;

		if (n <= 0)
			_exit(0);
		for (ssize_t i = 0; i < n; i++)
			lines += in[i] == '\n';
		/* One write for everything read at once, like a server that drains its input
		 * buffer before flushing the output. */
		if (lines * reply_len > out_cap) {
			out_cap = lines * reply_len;
			out = realloc(out, out_cap);
			if (!out)
				_exit(1);
		}
		for (size_t l = 0; l < lines; l++) {
			memset(out + len, 'x', reply_len - 1);
			out[len + reply_len - 1] = '\n';
			len += reply_len;
		}
		for (size_t off = 0; off < len;) {
			ssize_t w = write(fd, out + off, len - off);

			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
	}
}

void raw_echo_start(struct raw_echo *e, size_t reply_len)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		bench_die("socketpair: %s", strerror(errno));
	fflush(NULL);
	e->pid = fork();
	if (e->pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (e->pid == 0) {
		close(sv[0]);
		echo_serve(sv[1], reply_len);
	}
	close(sv[1]);
	e->fd = sv[0];
}

void raw_echo_stop(struct raw_echo *e)
{
	close(e->fd);
	waitpid(e->pid, NULL, 0);
}
