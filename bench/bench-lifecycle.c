// SPDX-License-Identifier: MIT
// Benchmark: a whole VM lifecycle over the socket (sequential and pipelined) vs the same steps
// on the raw engine (KVM ioctls, or the emu engine's calls).

#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define RAM_SIZE	(64u << 10)
#define GOAL_SEQ	1.3
#define GOAL_PIPE	1.15

struct ctx {
	struct bench_conn c;
	struct bench_conn events;	/* subscribed to vm-state: when teardown really ends */
	char *b64;
	unsigned serial;
	char prev[32];			/* the VM the next pipelined burst destroys */
};

/* The baseline: the same sequence on the raw engine in this process, until every fd is
 * closed. */
static double raw_once(enum raw_kind kind, const void *image, size_t len)
{
	struct raw_vm v;
	uint64_t t0 = bench_now_ns();
	uint64_t exits;

	if (raw_vm_create(&v, kind, RAM_SIZE, image, len, 2) < 0)
		bench_die("raw VM creation failed");
	exits = raw_vm_run_to_halt(&v);
	raw_vm_destroy(&v);
	if (exits != 2)
		bench_die("raw example guest made %llu port writes, expected 2",
			  (unsigned long long)exits);
	return (double)(bench_now_ns() - t0) / 1000.0;
}

static void wait_destroyed(struct ctx *x, long long vm)
{
	char want[64];

	snprintf(want, sizeof(want), "\"vm\":%lld,", vm);
	for (;;) {
		const char *line = bench_conn_line(&x->events, NULL);

		if (strstr(line, "\"destroyed\"") && strstr(line, want))
			return;
	}
}

/* One request per round trip.  *ret_gone: until the vm-state "destroyed" event. */
static double seq_once(struct ctx *x, double *ret_gone)
{
	uint64_t t0 = bench_now_ns(), t1;
	json_t *r = NULL;
	long long vm;

	bench_call(&x->c, &r, "create-vm", "{\"name\":\"s%u\"}", x->serial++);
	vm = bench_json_int(r, "vm");
	json_decref(r);
	bench_call(&x->c, NULL, "map-memory", "{\"vm\":%lld,\"gpa\":0,\"size\":%u}", vm, RAM_SIZE);
	bench_call(&x->c, NULL, "write-memory", "{\"vm\":%lld,\"gpa\":4096,\"data\":\"%s\"}", vm,
		   x->b64);
	bench_call(&x->c, NULL, "create-vcpu", "{\"vm\":%lld,\"index\":0}", vm);
	bench_call(&x->c, NULL, "set-regs",
		   "{\"vm\":%lld,\"vcpu\":0,\"regs\":{\"rip\":4096,\"rflags\":2,\"rax\":2,\"rbx\":2,"
		   "\"cs\":{\"base\":0,\"selector\":0}}}", vm);
	r = NULL;
	bench_call(&x->c, &r, "run", "{\"vm\":%lld,\"vcpu\":0,\"mode\":\"stream\",\"wait\":true}",
		   vm);
	if (!r || !strstr(json_string_value(json_object_get(json_object_get(r, "exit"), "type"))
			  ?: "", "halt"))
		bench_die("the example guest did not halt");
	json_decref(r);
	bench_call(&x->c, NULL, "destroy-vm", "{\"vm\":%lld}", vm);
	t1 = bench_now_ns();
	wait_destroyed(x, vm);
	*ret_gone = (double)(bench_now_ns() - t0) / 1000.0;
	return (double)(t1 - t0) / 1000.0;
}

/*
 * Pipelined: the requests of one VM go out in one burst, addressed by the VM's name, without
 * waiting for replies; the burst also destroys the previous VM.  One round trip per VM.
 */
static double pipe_once(struct ctx *x, bool last)
{
	static char burst[1 << 16];
	char name[32];
	size_t len = 0;
	uint64_t first = x->c.next_id, t0;
	unsigned n = 0;
	json_t *r = NULL;

#define ADD(method, ...) do { \
		len += bench_rpc_format_into(burst + len, sizeof(burst) - len, x->c.next_id++, \
					     method, __VA_ARGS__); \
		n++; \
	} while (0)

	t0 = bench_now_ns();
	snprintf(name, sizeof(name), "p%u", x->serial++);
	if (x->prev[0])
		ADD("destroy-vm", "{\"vm\":\"%s\"}", x->prev);
	if (!last) {
		ADD("create-vm", "{\"name\":\"%s\"}", name);
		ADD("map-memory", "{\"vm\":\"%s\",\"gpa\":0,\"size\":%u}", name, RAM_SIZE);
		ADD("write-memory", "{\"vm\":\"%s\",\"gpa\":4096,\"data\":\"%s\"}", name, x->b64);
		ADD("create-vcpu", "{\"vm\":\"%s\",\"index\":0}", name);
		ADD("set-regs", "{\"vm\":\"%s\",\"vcpu\":0,\"regs\":{\"rip\":4096,\"rflags\":2,"
		    "\"rax\":2,\"rbx\":2,\"cs\":{\"base\":0,\"selector\":0}}}", name);
		ADD("run", "{\"vm\":\"%s\",\"vcpu\":0,\"mode\":\"stream\",\"wait\":true}", name);
	}
#undef ADD
	bench_conn_write(&x->c, burst, len);
	bench_rpc_wait(&x->c, first, n, last ? NULL : &r);
	if (!last) {
		if (!strstr(json_string_value(json_object_get(json_object_get(r, "exit"), "type"))
			    ?: "", "halt"))
			bench_die("the example guest did not halt");
		json_decref(r);
	}
	snprintf(x->prev, sizeof(x->prev), "%s", last ? "" : name);
	return (double)(bench_now_ns() - t0) / 1000.0;
}

static void report(const char *name, const char *label, const char *backend,
		   struct bench_samples *s, double base, double goal, const char *goal_text)
{
	struct bench_result r = BENCH_RESULT_INIT;

	r.name = name;
	r.backend = backend;
	r.label = label;
	r.unit = "us";
	r.value = bench_median(s);
	r.p99 = bench_p99(s);
	r.baseline = base;
	r.ratio = r.value / base;
	r.goal = goal_text;
	r.goal_max = goal;
	bench_report(&r);
}

static void run_backend(const char *backend, const void *image, size_t len)
{
	unsigned rounds = bench_count(10, 1), per = bench_count(20, 3);
	struct bench_samples raw = { 0 }, seq = { 0 }, gone = { 0 }, pipe = { 0 };
	const char *label = bench_backend_label(backend);
	enum raw_kind kind = bench_raw_kind(backend);
	struct bench_daemon d;
	struct ctx x = { 0 };
	double g, base;

	bench_daemon_start(&d, backend, NULL);
	bench_conn_open(&x.c, d.sock);
	bench_conn_open(&x.events, d.sock);
	bench_call(&x.events, NULL, "subscribe", "{\"kinds\":[\"vm-state\"]}");
	x.b64 = bench_base64(image, len);

	/* Warm-up (first VM of a process pays for page faults and KVM module state). */
	raw_once(kind, image, len);
	seq_once(&x, &g);
	pipe_once(&x, false);
	pipe_once(&x, true);

	for (unsigned i = 0; i < rounds; i++) {
		for (unsigned j = 0; j < per; j++)
			bench_samples_add(&raw, raw_once(kind, image, len));
		for (unsigned j = 0; j < per; j++) {
			bench_samples_add(&seq, seq_once(&x, &g));
			bench_samples_add(&gone, g);
		}
		for (unsigned j = 0; j < per; j++)
			bench_samples_add(&pipe, pipe_once(&x, false));
		pipe_once(&x, true);
	}
	base = bench_median(&raw);
	report("lifecycle_seq", "VM lifecycle, sequential (to destroy reply)", label, &seq, base,
	       GOAL_SEQ, "<=1.3");
	report("lifecycle_pipelined", "VM lifecycle, pipelined (1 burst per VM)", label, &pipe,
	       base, GOAL_PIPE, "<=1.15");
	report("lifecycle_seq_destroyed", "VM lifecycle, sequential (to 'destroyed')", label,
	       &gone, base, NAN, NULL);
	bench_note("%s baseline (%s, one process, to last close): median %.1f us, p99 %.1f us",
		   label, bench_raw_label(kind), base, bench_p99(&raw));

	free(x.b64);
	bench_conn_close(&x.events);
	bench_conn_close(&x.c);
	bench_daemon_stop(&d);
	bench_samples_free(&raw);
	bench_samples_free(&seq);
	bench_samples_free(&gone);
	bench_samples_free(&pipe);
}

int main(void)
{
	const char *backends[3];
	unsigned nb;
	size_t len;
	void *image;

	image = bench_guest("example", &len);
	bench_begin("VM lifecycle: create-vm, map-memory 64K, write-memory, create-vcpu, set-regs, "
		    "run to halt, destroy-vm");
	nb = bench_backends(backends);
	for (unsigned i = 0; i < nb; i++)
		run_backend(backends[i], image, len);
	bench_note("baseline, kvm: the same ioctls in one C process on /dev/kvm (memfd RAM, CPUID, "
		   "sregs, regs, KVM_RUN to hlt, close); emu and mshv-sim: the same steps on the "
		   "emu engine called directly (emu_vm_new, memfd RAM + emu_vm_map, emu_vcpu_new, "
		   "sregs, regs, emu_vcpu_run/complete to hlt, free); the guest is the crate's "
		   "example (2 port writes, hlt), run in stream mode.");
	bench_note("destroy-vm replies at once and tears down off the loop: '(to destroyed)' "
		   "waits for the vm-state event, the fair comparison with the baseline's close().");
	bench_note("mshv-sim runs the MSHV ioctls on the emu engine inside the daemon (a test "
		   "double): it measures our code path, not MSHV itself.");
	free(image);
	return 0;
}
