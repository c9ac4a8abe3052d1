// SPDX-License-Identifier: MIT
// Benchmark: MMIO doorbells through an ioeventfd counted by the daemon (`ioevent` events) vs
// the raw ioeventfd loop on the same engine (KVM's in-kernel one, or the emu engine's run loop
// signalling the eventfd).

#include "config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bench.h"

#define DOORBELL_GPA	0xd0000u	/* GUEST_MMIO_BASE, tests/guests/guest.h */
#define GOAL_RATIO	0.90

static void *image;
static size_t image_len;

/* Doorbells per second of the raw loop: the guest rings n times to halt, KVM (in the kernel)
 * or the raw engine loop (in this process) signals the eventfd, the counter is read at the
 * end. */
static double raw_rate(enum raw_kind kind, unsigned n)
{
	struct raw_vm v;
	uint64_t t0, count = 0;
	double s;
	int efd;

	if (raw_vm_create(&v, kind, 0xc0000, image, image_len, n) < 0)
		bench_die("raw VM creation failed");
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		bench_die("eventfd: %s", strerror(errno));
	raw_vm_ioeventfd(&v, DOORBELL_GPA, 4, efd);
	t0 = bench_now_ns();
	if (raw_vm_run_to_halt(&v) != 1)	/* only the OUT to DONE is an exit */
		bench_die("raw doorbell guest: doorbells reached the exit loop");
	if (read(efd, &count, sizeof(count)) != sizeof(count) || count != n)
		bench_die("raw ioeventfd counted %llu doorbells, expected %u",
			  (unsigned long long)count, n);
	s = (double)(bench_now_ns() - t0) / 1e9;
	raw_vm_destroy(&v);
	close(efd);
	return n / s;
}

struct reader {
	struct bench_conn *conn;
	uint64_t want, got, events;
	uint64_t t_end;
};

/* Sum the counts of ioevent events until want doorbells were counted. */
static void *reader_main(void *arg)
{
	struct reader *rd = arg;

	while (rd->got < rd->want) {
		size_t len;
		const char *line = bench_conn_line(rd->conn, &len);
		json_t *msg = json_loadb(line, len, 0, NULL);
		json_t *params = json_object_get(msg, "params");

		if (strstr(line, "\"events-lost\""))
			bench_die("the daemon dropped ioevent events for the subscriber");
		if (params && json_is_integer(json_object_get(params, "count"))) {
			rd->got += (uint64_t)json_integer_value(json_object_get(params, "count"));
			rd->events++;
		}
		json_decref(msg);
	}
	rd->t_end = bench_now_ns();
	return NULL;
}

/* One run of n doorbells; returns doorbells per second until both the halt and the last
 * count arrived. */
static double daemon_rate(struct bench_conn *c, struct bench_conn *sub, long long vm, unsigned n,
			  uint64_t *ret_events)
{
	struct reader rd = { .conn = sub, .want = n };
	pthread_t th;
	uint64_t t0, t1;
	json_t *r = NULL;

	bench_call(c, NULL, "set-regs", "{\"vm\":%lld,\"vcpu\":0,\"regs\":{\"rip\":4096,\"rbx\":%u}}",
		   vm, n);
	if (pthread_create(&th, NULL, reader_main, &rd) != 0)
		bench_die("pthread_create failed");
	t0 = bench_now_ns();
	bench_call(c, &r, "run", "{\"vm\":%lld,\"vcpu\":0,\"mode\":\"stream\",\"wait\":true}", vm);
	t1 = bench_now_ns();
	if (!strstr(json_string_value(json_object_get(json_object_get(r, "exit"), "type")) ?: "",
		    "halt"))
		bench_die("the doorbell guest did not halt");
	json_decref(r);
	pthread_join(th, NULL);
	if (rd.got != n)
		bench_die("ioevent counts sum to %llu, expected %u", (unsigned long long)rd.got, n);
	*ret_events += rd.events;
	t1 = rd.t_end > t1 ? rd.t_end : t1;
	return n / ((double)(t1 - t0) / 1e9);
}

static long long mmio_exits(struct bench_conn *c, long long vm)
{
	json_t *r = NULL, *e;
	long long n;

	bench_call(c, &r, "vm-info", "{\"vm\":%lld}", vm);
	e = json_object_get(json_object_get(r, "exits"), "mmio");
	n = json_is_integer(e) ? (long long)json_integer_value(e) : 0;
	json_decref(r);
	return n;
}

static double median_of(const double *v, unsigned n)
{
	struct bench_samples s = { 0 };
	double m;

	for (unsigned i = 0; i < n; i++)
		bench_samples_add(&s, v[i]);
	m = bench_median(&s);
	bench_samples_free(&s);
	return m;
}

static void run_backend(const char *backend)
{
	unsigned n = bench_count(50000, 100), reps = bench_count(5, 1);
	const char *label = bench_backend_label(backend);
	enum raw_kind kind = bench_raw_kind(backend);
	struct bench_result r = BENCH_RESULT_INIT;
	double raw[8], dmn[8], rr, rd;
	uint64_t events = 0, warm = 0;
	struct bench_daemon d;
	struct bench_conn c, sub;
	char extra[160];
	long long vm;

	bench_daemon_start(&d, backend, NULL);
	bench_conn_open(&c, d.sock);
	bench_conn_open(&sub, d.sock);
	vm = bench_daemon_vm(&c, image, image_len, n);
	bench_call(&c, NULL, "add-ioeventfd",
		   "{\"vm\":%lld,\"addr\":%u,\"space\":\"mmio\",\"len\":4}", vm, DOORBELL_GPA);
	bench_call(&sub, NULL, "subscribe", "{\"vm\":%lld,\"kinds\":[\"ioevent\"]}", vm);

	daemon_rate(&c, &sub, vm, n / 10 + 1, &warm);
	raw_rate(kind, n / 10 + 1);
	for (unsigned i = 0; i < reps; i++) {
		raw[i] = raw_rate(kind, n);
		dmn[i] = daemon_rate(&c, &sub, vm, n, &events);
	}
	if (mmio_exits(&c, vm) != 0)
		bench_die("doorbells reached the daemon as mmio exits");
	rr = median_of(raw, reps);
	rd = median_of(dmn, reps);

	r.name = "doorbells";
	r.backend = label;
	r.label = "doorbells counted via ioevent";
	r.unit = "per_s";
	r.value = rd;
	r.baseline = rr;
	r.ratio = rd / rr;
	r.goal = ">=0.90";
	r.goal_min = GOAL_RATIO;
	snprintf(extra, sizeof(extra), "doorbells_per_run=%u runs=%u ioevents_per_run=%.1f "
		 "mmio_exits=0", n, reps, (double)events / reps);
	r.extra = extra;
	bench_report(&r);

	bench_call(&c, NULL, "destroy-vm", "{\"vm\":%lld}", vm);
	bench_conn_close(&sub);
	bench_conn_close(&c);
	bench_daemon_stop(&d);
}

int main(void)
{
	const char *backends[3];
	unsigned nb;

	image = bench_guest("bench-doorbell", &image_len);
	bench_begin("Doorbells: 4-byte MMIO writes to an ioeventfd, counted by the daemon");
	nb = bench_backends(backends);
	for (unsigned i = 0; i < nb; i++)
		run_backend(backends[i]);
	bench_note("guest tests/guests/bench-doorbell.S rings N times then halts; the daemon rate "
		   "counts until the run reply (halt) and the ioevent counts summing to N both "
		   "arrived at the client; vm-info shows zero mmio exits.");
	bench_note("baseline, kvm: the same guest on a raw VM with KVM_IOEVENTFD, counter read "
		   "once at the end (no user-space wake-ups at all); emu and mshv-sim: the same "
		   "guest on the raw engine whose exit loop writes the eventfd on each doorbell and "
		   "completes the store, as the emu backend does inside its run loop.");
	bench_note("mshv-sim signals MSHV ioeventfds from its engine loop: it measures our code "
		   "path, not MSHV itself.");
	free(image);
	return 0;
}
