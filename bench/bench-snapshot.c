// SPDX-License-Identifier: MIT
// Benchmark: snapshots.  restore-vm of a 1 MiB guest that dirtied 16 KiB (vs destroy + create +
// reload of the same guest), clone-vm, cold and from a warm snapshot's spare (vs create-vm + map
// + load + vcpu + regs), and a sandbox call with a restore before it vs without.

#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define RAM_SIZE	(1u << 20)
#define GOAL_RESTORE_US	100.0
#define GOAL_CLONE	5.0

struct ctx {
	struct bench_conn c;
	char *b64;
	unsigned serial;
};

static double us_since(uint64_t t0)
{
	return (double)(bench_now_ns() - t0) / 1000.0;
}

/* create-vm + map-memory 1 MiB + write-memory (the image) + create-vcpu + set-regs. */
static long long build_vm(struct ctx *x)
{
	json_t *r = NULL;
	long long vm;

	bench_call(&x->c, &r, "create-vm", "{\"name\":\"b%u\"}", x->serial++);
	vm = bench_json_int(r, "vm");
	json_decref(r);
	bench_call(&x->c, NULL, "map-memory", "{\"vm\":%lld,\"gpa\":0,\"size\":%u}", vm, RAM_SIZE);
	bench_call(&x->c, NULL, "write-memory", "{\"vm\":%lld,\"gpa\":4096,\"data\":\"%s\"}", vm,
		   x->b64);
	bench_call(&x->c, NULL, "create-vcpu", "{\"vm\":%lld,\"index\":0}", vm);
	bench_call(&x->c, NULL, "set-regs",
		   "{\"vm\":%lld,\"vcpu\":0,\"regs\":{\"rip\":4096,\"rflags\":2,"
		   "\"cs\":{\"base\":0,\"selector\":0},\"ds\":{\"base\":0,\"selector\":0}}}", vm);
	return vm;
}

/* The sandbox call: run in stream mode until the guest halts (it dirties 16 KiB). */
static void call_guest(struct ctx *x, long long vm)
{
	json_t *r = NULL;

	bench_call(&x->c, &r, "run", "{\"vm\":%lld,\"vcpu\":0,\"mode\":\"stream\",\"wait\":true}",
		   vm);
	if (!r || strcmp(json_string_value(json_object_get(json_object_get(r, "exit"), "type"))
			 ?: "", "halt") != 0)
		bench_die("the bench-dirty guest did not halt");
	json_decref(r);
}

static void restore(struct ctx *x, long long vm, long long snap, uint64_t *ret_copied)
{
	json_t *r = NULL;

	bench_call(&x->c, &r, "restore-vm", "{\"vm\":%lld,\"snapshot\":%lld}", vm, snap);
	if (ret_copied) {
		const char *hex = json_string_value(json_object_get(r, "copied"));

		if (!hex)
			bench_die("restore-vm answered no copied");
		*ret_copied = strtoull(hex, NULL, 16);
	}
	json_decref(r);
}

/* Until the warm snapshot's spare is built (untimed: the figure is the handout). */
static void wait_spare(struct ctx *x, long long snap)
{
	uint64_t t0 = bench_now_ns();

	for (;;) {
		json_t *r = NULL, *s;
		size_t i;
		bool ready = false;

		bench_call(&x->c, &r, "list-snapshots", "{}");
		json_array_foreach(json_object_get(r, "snapshots"), i, s)
			if (bench_json_int(s, "snapshot") == snap)
				ready = json_is_true(json_object_get(s, "spare_ready"));
		json_decref(r);
		if (ready)
			return;
		if (bench_now_ns() - t0 > 10000000000ull)
			bench_die("snapshot %lld: no spare ready within 10 s", snap);
	}
}

static void report(const char *name, const char *label, const char *backend,
		   struct bench_samples *s, double base, double ratio, const char *goal,
		   double goal_max, double goal_min, bool on_value, const char *extra)
{
	struct bench_result r = BENCH_RESULT_INIT;

	r.name = name;
	r.backend = backend;
	r.label = label;
	r.unit = "us";
	r.value = bench_median(s);
	r.p99 = bench_p99(s);
	r.baseline = base;
	r.ratio = ratio;
	r.goal = goal;
	r.goal_max = goal_max;
	r.goal_min = goal_min;
	r.goal_on_value = on_value;
	r.extra = extra;
	bench_report(&r);
}

static void run_backend(const char *backend, const void *image, size_t len)
{
	unsigned n = bench_count(200, 3);
	struct bench_samples rest = { 0 }, rebuild = { 0 }, clone = { 0 }, build = { 0 },
			     warm_clone = { 0 }, with = { 0 }, without = { 0 };
	const char *label = bench_backend_label(backend);
	struct bench_daemon d;
	struct ctx x = { 0 };
	long long vm, snap, warm, other;
	uint64_t copied = 0, t0;
	json_t *r = NULL;
	char extra[96];
	char err[512];

	bench_daemon_start(&d, backend, NULL);
	bench_conn_open(&x.c, d.sock);
	x.b64 = bench_base64(image, len);

	vm = build_vm(&x);
	if (bench_call_err(&x.c, &r, err, sizeof(err), "snapshot-vm", "{\"vm\":%lld}", vm) < 0) {
		bench_note("%s: snapshot-vm refused (%s): no snapshot figures", label, err);
		goto out;
	}
	snap = bench_json_int(r, "snapshot");
	json_decref(r);

	/* restore-vm after the guest dirtied 16 KiB, vs destroy + create + reload. */
	call_guest(&x, vm);
	restore(&x, vm, snap, NULL);		/* warm-up; makes the snapshot the VM's base */
	for (unsigned i = 0; i < n; i++) {
		call_guest(&x, vm);
		t0 = bench_now_ns();
		restore(&x, vm, snap, &copied);
		bench_samples_add(&rest, us_since(t0));
	}
	other = build_vm(&x);
	for (unsigned i = 0; i < n; i++) {
		call_guest(&x, other);
		t0 = bench_now_ns();
		bench_call(&x.c, NULL, "destroy-vm", "{\"vm\":%lld}", other);
		other = build_vm(&x);
		bench_samples_add(&rebuild, us_since(t0));
	}
	bench_call(&x.c, NULL, "destroy-vm", "{\"vm\":%lld}", other);
	snprintf(extra, sizeof(extra), "copied=%llu rebuild_us=%.1f",
		 (unsigned long long)copied, bench_median(&rebuild));
	report("snapshot_restore", "restore-vm, 1 MiB guest that dirtied 16 KiB", label, &rest,
	       bench_median(&rebuild), bench_median(&rest) / bench_median(&rebuild),
	       "<=100us", GOAL_RESTORE_US, NAN, true, extra);

	/* clone-vm vs create-vm + map + load + vcpu + regs (each destroyed afterwards, untimed). */
	for (unsigned i = 0; i < n; i++) {
		t0 = bench_now_ns();
		bench_call(&x.c, &r, "clone-vm", "{\"snapshot\":%lld}", snap);
		bench_samples_add(&clone, us_since(t0));
		other = bench_json_int(r, "vm");
		json_decref(r);
		bench_call(&x.c, NULL, "destroy-vm", "{\"vm\":%lld}", other);
		t0 = bench_now_ns();
		other = build_vm(&x);
		bench_samples_add(&build, us_since(t0));
		bench_call(&x.c, NULL, "destroy-vm", "{\"vm\":%lld}", other);
	}
	report("snapshot_clone", "clone-vm, cold (vs create+map+load+vcpu+regs)",
	       label, &clone, bench_median(&build), bench_median(&build) / bench_median(&clone),
	       ">=5", NAN, GOAL_CLONE, false, NULL);

	/* clone-vm of a warm snapshot: its spare handed out (the next one built untimed). */
	bench_call(&x.c, &r, "snapshot-vm", "{\"vm\":%lld,\"warm\":true}", vm);
	warm = bench_json_int(r, "snapshot");
	json_decref(r);
	for (unsigned i = 0; i < n; i++) {
		wait_spare(&x, warm);
		t0 = bench_now_ns();
		bench_call(&x.c, &r, "clone-vm", "{\"snapshot\":%lld}", warm);
		bench_samples_add(&warm_clone, us_since(t0));
		other = bench_json_int(r, "vm");
		json_decref(r);
		bench_call(&x.c, NULL, "destroy-vm", "{\"vm\":%lld}", other);
	}
	bench_call(&x.c, NULL, "destroy-snapshot", "{\"snapshot\":%lld}", warm);
	report("snapshot_clone_warm", "clone-vm, warm (spare ready; same baseline)", label,
	       &warm_clone, bench_median(&build), bench_median(&build) /
	       bench_median(&warm_clone), ">=5", NAN, GOAL_CLONE, false, NULL);

	/* A sandbox call: restore + run vs run alone (rip reset by set-regs). */
	for (unsigned i = 0; i < n; i++) {
		t0 = bench_now_ns();
		restore(&x, vm, snap, NULL);
		call_guest(&x, vm);
		bench_samples_add(&with, us_since(t0));
		t0 = bench_now_ns();
		bench_call(&x.c, NULL, "set-regs", "{\"vm\":%lld,\"vcpu\":0,\"regs\":{\"rip\":4096}}",
			   vm);
		call_guest(&x, vm);
		bench_samples_add(&without, us_since(t0));
	}
	report("snapshot_sandbox_call", "sandbox call with restore-vm (vs set-regs + run)", label,
	       &with, bench_median(&without), bench_median(&with) / bench_median(&without), NULL,
	       NAN, NAN, false, NULL);
	bench_call(&x.c, NULL, "destroy-snapshot", "{\"snapshot\":%lld}", snap);
out:
	bench_call(&x.c, NULL, "destroy-vm", "{\"vm\":%lld}", vm);
	free(x.b64);
	bench_conn_close(&x.c);
	bench_daemon_stop(&d);
	bench_samples_free(&rest);
	bench_samples_free(&rebuild);
	bench_samples_free(&clone);
	bench_samples_free(&build);
	bench_samples_free(&warm_clone);
	bench_samples_free(&with);
	bench_samples_free(&without);
}

int main(void)
{
	const char *backends[3];
	unsigned nb;
	size_t len;
	void *image;

	image = bench_guest("bench-dirty", &len);
	bench_begin("snapshots: restore-vm, clone-vm, a sandbox call with restore (1 MiB guest, "
		    "16 KiB dirtied per call)");
	nb = bench_backends(backends);
	for (unsigned i = 0; i < nb; i++)
		run_backend(backends[i], image, len);
	bench_note("snapshot_restore: restore-vm round trip after the guest ran and wrote 4 pages; "
		   "baseline (rebuild_us): destroy-vm + create-vm + map-memory 1 MiB + write-memory "
		   "+ create-vcpu + set-regs of the same guest; copied = bytes of RAM restore-vm "
		   "copied back (the dirty log's pages only).");
	bench_note("snapshot_clone: clone-vm round trip of a cold snapshot (the partition and "
		   "vCPUs created in the call); baseline: create-vm + map-memory 1 MiB + "
		   "write-memory + create-vcpu + set-regs; ratio = baseline / clone.");
	bench_note("snapshot_clone_warm: clone-vm round trip of a warm snapshot (snapshot-vm warm) "
		   "whose spare is ready (waited for, untimed): the handout; same baseline.");
	bench_note("snapshot_sandbox_call: restore-vm + run to halt, vs set-regs rip + run to halt "
		   "(no memory reset: the sandbox is not clean then).");
	free(image);
	return 0;
}
