// SPDX-License-Identifier: MIT
// Benchmark: RPC round trip (daemon-info) and pipelined request rate vs a raw AF_UNIX echo.

#include "config.h"

#include <errno.h>
#include <sched.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* The goals of issue 18 (BENCHMARKS.md): daemon-info round trip <= 1.5x the echo of the same
 * bytes, list-vms (tiny reply) <= 1.3x, >= 250k pipelined requests/s. */
#define RPC_GOAL_RATIO		1.5
#define RPC_SMALL_GOAL_RATIO	1.3
#define PIPE_GOAL_RATE		250000.0
#define PIPE_WINDOW	64

static const char info_request[] =
	"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"daemon-info\"}\n";
/* The smallest useful request: with no VMs its reply is tiny, which separates the transport
 * and dispatch cost from the cost of encoding daemon-info's large result. */
static const char small_request[] =
	"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"list-vms\"}\n";
static const char *request = info_request;
static size_t request_len = sizeof(info_request) - 1;

/* Read until `lines` newlines arrived; returns the bytes read. */
static size_t read_lines(int fd, unsigned lines)
{
	static char buf[1 << 16];
	size_t total = 0;

	while (lines) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			bench_die("read: %s", n < 0 ? strerror(errno) : "connection closed");
		total += (size_t)n;
		for (ssize_t i = 0; i < n; i++)
			lines -= buf[i] == '\n';
	}
	return total;
}

static void write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			bench_die("write: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/* One request, one reply line, n times: round trips in microseconds. */
static void round_trips(int fd, unsigned n, struct bench_samples *s)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();

		write_all(fd, request, request_len);
		read_lines(fd, 1);
		bench_samples_add(s, (double)(bench_now_ns() - t0) / 1000.0);
	}
}

/* Keep PIPE_WINDOW requests in flight until total replies arrived; returns requests/s.  The
 * reader counts newlines only: the client costs no more than the echo baseline's. */
static double pipelined(int fd, unsigned total)
{
	static char buf[1 << 16];
	char *burst = malloc(PIPE_WINDOW * request_len);
	unsigned sent = 0, got = 0;
	uint64_t t0;

	if (!burst)
		bench_die("out of memory");
	for (unsigned i = 0; i < PIPE_WINDOW; i++)
		memcpy(burst + i * request_len, request, request_len);
	t0 = bench_now_ns();
	sent = PIPE_WINDOW < total ? PIPE_WINDOW : total;
	write_all(fd, burst, sent * request_len);
	while (got < total) {
		ssize_t n = read(fd, buf, sizeof(buf));
		unsigned lines = 0, more;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			bench_die("read: %s", n < 0 ? strerror(errno) : "connection closed");
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
		got += lines;
		more = total - sent < lines ? total - sent : lines;
		if (more) {
			write_all(fd, burst, more * request_len);
			sent += more;
		}
	}
	free(burst);
	return total / ((double)(bench_now_ns() - t0) / 1e9);
}

static void run_backend(const char *backend)
{
	unsigned rounds = bench_count(10, 2), per_round = bench_count(1000, 20);
	unsigned pipe_total = bench_count(50000, 200);
	struct bench_samples sd = { 0 }, se = { 0 }, ssd = { 0 }, sse = { 0 };
	struct raw_echo small_echo;
	size_t small_len;
	struct bench_result r = BENCH_RESULT_INIT;
	const char *label = bench_backend_label(backend);
	double rate_d = 0, rate_e = 0;
	struct bench_daemon d;
	struct bench_conn c;
	struct raw_echo echo;
	size_t reply_len;
	char extra[128];

	bench_daemon_start(&d, backend, NULL);
	bench_conn_open(&c, d.sock);
	/* The baseline answers with exactly as many bytes as daemon-info does. */
	write_all(c.fd, request, request_len);
	reply_len = read_lines(c.fd, 1);
	raw_echo_start(&echo, reply_len);

	/* Warm up both, then alternate rounds so drift on a busy machine hits both alike. */
	round_trips(c.fd, per_round / 4 + 1, &sd);
	round_trips(echo.fd, per_round / 4 + 1, &se);
	bench_samples_reset(&sd);
	bench_samples_reset(&se);
	for (unsigned i = 0; i < rounds; i++) {
		round_trips(c.fd, per_round, &sd);
		round_trips(echo.fd, per_round, &se);
	}
	/* The same with the small request and an echo of its reply's size. */
	request = small_request;
	request_len = sizeof(small_request) - 1;
	write_all(c.fd, request, request_len);
	small_len = read_lines(c.fd, 1);
	raw_echo_start(&small_echo, small_len);
	round_trips(c.fd, per_round / 4 + 1, &ssd);
	round_trips(small_echo.fd, per_round / 4 + 1, &sse);
	bench_samples_reset(&ssd);
	bench_samples_reset(&sse);
	for (unsigned i = 0; i < rounds; i++) {
		round_trips(c.fd, per_round / 2, &ssd);
		round_trips(small_echo.fd, per_round / 2, &sse);
	}
	raw_echo_stop(&small_echo);
	request = info_request;
	request_len = sizeof(info_request) - 1;

	for (unsigned i = 0; i < 3; i++) {
		double a = pipelined(c.fd, pipe_total), b = pipelined(echo.fd, pipe_total);

		rate_d = a > rate_d ? a : rate_d;
		rate_e = b > rate_e ? b : rate_e;
	}

	r.name = "rpc_rtt";
	r.backend = label;
	r.label = "RPC round trip (daemon-info)";
	r.unit = "us";
	r.value = bench_median(&sd);
	r.p99 = bench_p99(&sd);
	r.baseline = bench_median(&se);
	r.ratio = r.value / r.baseline;
	r.goal = "<=1.5";
	r.goal_max = RPC_GOAL_RATIO;
	snprintf(extra, sizeof(extra), "baseline_p99_us=%.3f p99_ratio=%.4f request_bytes=%zu "
		 "reply_bytes=%zu samples=%zu", bench_p99(&se), r.p99 / bench_p99(&se),
		 request_len, reply_len, sd.n);
	r.extra = extra;
	bench_report(&r);

	r = (struct bench_result)BENCH_RESULT_INIT;
	r.name = "rpc_rtt_small";
	r.backend = label;
	r.label = "RPC round trip (list-vms, no VMs)";
	r.unit = "us";
	r.value = bench_median(&ssd);
	r.p99 = bench_p99(&ssd);
	r.baseline = bench_median(&sse);
	r.ratio = r.value / r.baseline;
	r.goal = "<=1.3";
	r.goal_max = RPC_SMALL_GOAL_RATIO;
	snprintf(extra, sizeof(extra), "baseline_p99_us=%.3f reply_bytes=%zu", bench_p99(&sse),
		 small_len);
	r.extra = extra;
	bench_report(&r);

	r = (struct bench_result)BENCH_RESULT_INIT;
	r.name = "rpc_pipelined";
	r.backend = label;
	r.label = "RPC pipelined (64 in flight, 1 loop)";
	r.unit = "per_s";
	r.value = rate_d;
	r.baseline = rate_e;
	r.ratio = rate_d / rate_e;
	r.goal = ">=250k/s";
	r.goal_min = PIPE_GOAL_RATE;
	r.goal_on_value = true;
	bench_report(&r);

	raw_echo_stop(&echo);
	bench_conn_close(&c);
	bench_daemon_stop(&d);
	bench_samples_free(&sd);
	bench_samples_free(&se);
	bench_samples_free(&ssd);
	bench_samples_free(&sse);
}

/* Client, daemon and echo on one CPU (bench_pin_one_cpu()): unpinned, the ratio measured
 * the placement (0.3x to 5x for the same build).  BENCH_RPC_SPREAD=1 leaves the affinity
 * alone. */
int main(void)
{
	const char *backends[3];
	unsigned nb;
	int cpu = bench_pin_one_cpu("BENCH_RPC_SPREAD", NULL);

	bench_begin("RPC round trip: daemon-info over the socket vs a raw AF_UNIX echo of the same "
		    "bytes");
	nb = bench_backends(backends);
	for (unsigned i = 0; i < nb; i++)
		run_backend(backends[i]);
	bench_note("baseline: a forked process answering each request line with a line as long as "
		   "the reply (daemon-info's, list-vms'); ratio = daemon / baseline (pipelined: "
		   "daemon-info, the echo's rate beside it; the goal is absolute).");
	bench_note("the RPC path does not touch the hypervisor: the backends differ only in the "
		   "capabilities listed.");
	if (cpu >= 0)
		bench_note("client, daemon and echo all ran on CPU %d (the same placement for both "
			   "sides; BENCH_RPC_SPREAD=1 lets the scheduler place them).", cpu);
	else
		bench_note("client, daemon and echo placed by the scheduler (BENCH_RPC_SPREAD).");
	return 0;
}
