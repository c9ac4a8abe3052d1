// SPDX-License-Identifier: MIT
// Benchmark: 1000 live VMs (1 vCPU, 64 KiB each) in one daemon: memory per VM, creation time
// and RPC latency as the daemon fills up, next to the same fill on the raw engine (KVM ioctls,
// or the emu engine in this process, whose memory is then counted separately).

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define RAM_SIZE		(64u << 10)
#define GOAL_KIB_PER_VM		16.0
#define GOAL_CREATE_RATIO	1.5
#define GOAL_RPC_P99_RATIO	1.2

/* create-vm + map-memory + create-vcpu, each timed as a whole; false (with the reason in err)
 * when the daemon or the host refused. */
static bool create_one(struct bench_conn *c, unsigned serial, double *ret_us, char *err,
		       size_t n)
{
	uint64_t t0 = bench_now_ns();
	json_t *r = NULL;
	long long vm;

	if (bench_call_err(c, &r, err, n, "create-vm", "{\"name\":\"d%u\"}", serial) < 0)
		return false;
	vm = bench_json_int(r, "vm");
	json_decref(r);
	if (bench_call_err(c, NULL, err, n, "map-memory", "{\"vm\":%lld,\"gpa\":0,\"size\":%u}",
			   vm, RAM_SIZE) < 0 ||
	    bench_call_err(c, NULL, err, n, "create-vcpu", "{\"vm\":%lld,\"index\":0}", vm) < 0)
		return false;
	*ret_us = (double)(bench_now_ns() - t0) / 1000.0;
	return true;
}

/*
 * The same fill on the raw engine (a VM, a 64 KiB memfd mapped at 0, one vCPU; no guest RAM
 * touched): creation time at 0 and at live VMs, to tell the daemon's growth from the engine's
 * own, and the VmRSS growth per VM over the first live VMs (the engine's memory: with emu it is
 * in the daemon's RSS too).  Runs in a fresh forked process: memory an earlier fill freed but
 * the allocator kept would otherwise be reused and hide part of the growth.  Returns KiB per
 * VM.
 */
static double raw_fill(enum raw_kind kind, unsigned live, unsigned probe,
		       struct bench_samples *at0, struct bench_samples *atn)
{
	struct bench_samples s[2] = { { 0 }, { 0 } };
	double kib = 0;
	int p[2], status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		bench_die("pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		struct raw_vm *vms = calloc(live + probe, sizeof(*vms));
		long rss0 = bench_proc_kib(getpid(), "VmRSS"), rssn = rss0;
		FILE *out = fdopen(p[1], "w");
		unsigned n = 0;

		close(p[0]);
		if (!vms || !out)
			_exit(1);
		for (; n < live + probe; n++) {
			uint64_t t0 = bench_now_ns();

			if (raw_vm_create(&vms[n], kind, RAM_SIZE, NULL, 0, 0) < 0)
				break;
			if (n >= 1 && n <= probe)
				bench_samples_add(&s[0], (double)(bench_now_ns() - t0) / 1000.0);
			else if (n >= live)
				bench_samples_add(&s[1], (double)(bench_now_ns() - t0) / 1000.0);
			if (n + 1 == live)
				rssn = bench_proc_kib(getpid(), "VmRSS");
		}
		if (n < live)
			_exit(2);
		/* One line: KiB per VM, then "a" or "n" and a sample per line. */
		fprintf(out, "%.3f\n", (double)(rssn - rss0) / live);
		for (unsigned k = 0; k < 2; k++)
			for (size_t i = 0; i < s[k].n; i++)
				fprintf(out, "%c %.3f\n", k ? 'n' : 'a', s[k].v[i]);
		fclose(out);
		while (n--)
			raw_vm_destroy(&vms[n]);
		_exit(0);
	} else {
		FILE *in = fdopen(p[0], "r");
		char line[64];

		close(p[1]);
		if (!in || !fgets(line, sizeof(line), in))
			kib = NAN;
		else
			kib = strtod(line, NULL);
		while (in && fgets(line, sizeof(line), in))
			bench_samples_add(line[0] == 'a' ? at0 : atn, strtod(line + 2, NULL));
		if (in)
			fclose(in);
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
			bench_die("the raw %s fill failed (status 0x%x)", bench_raw_label(kind),
				  status);
	}
	return kib;
}

/* Round trips of daemon-info and of vm-info on the first VM. */
static void rpc_samples(struct bench_conn *c, unsigned n, struct bench_samples *info,
			struct bench_samples *vminfo)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();

		bench_rpc_send(c, "daemon-info", NULL);
		bench_conn_line(c, NULL);
		bench_samples_add(info, (double)(bench_now_ns() - t0) / 1000.0);
		t0 = bench_now_ns();
		bench_rpc_send(c, "vm-info", "{\"vm\":\"d0\"}");
		bench_conn_line(c, NULL);
		bench_samples_add(vminfo, (double)(bench_now_ns() - t0) / 1000.0);
	}
}

/* BENCH_DENSITY_VMS overrides the number of live VMs (a machine with little memory: an engine
 * VM takes megabytes). */
static unsigned density_vms(void)
{
	const char *env = getenv("BENCH_DENSITY_VMS");

	if (env && *env && atoi(env) > 0)
		return (unsigned)atoi(env);
	return bench_count(1000, 10);
}

static void run_backend(const char *backend)
{
	unsigned target = density_vms(), probe = bench_count(30, 3);
	unsigned nrpc = bench_count(3000, 50), live = 0, serial = 0;
	struct bench_samples c0 = { 0 }, cn = { 0 }, i1 = { 0 }, in = { 0 }, v1 = { 0 },
			     vn = { 0 }, fill = { 0 }, raw0 = { 0 }, rawn = { 0 };
	struct bench_result r = BENCH_RESULT_INIT;
	char max_vms[32], err[512] = "", extra[256];
	const char *args[] = { "--max-vms", max_vms, NULL };
	long rss0, rssn, anon0, anonn, shm0, shmn, file0, filen;
	struct bench_daemon d;
	const char *label = bench_backend_label(backend);
	enum raw_kind kind = bench_raw_kind(backend);
	struct bench_conn c;
	bool limited = false;
	double us, raw_kib;

	snprintf(max_vms, sizeof(max_vms), "%u", target + probe + 8);
	bench_daemon_start(&d, backend, args);
	bench_conn_open(&c, d.sock);
	rpc_samples(&c, 100, &i1, &v1);		/* warm up the loop and the allocator */
	bench_samples_reset(&i1);
	bench_samples_reset(&v1);
	rss0 = bench_proc_kib(d.pid, "VmRSS");
	anon0 = bench_proc_kib(d.pid, "RssAnon");
	shm0 = bench_proc_kib(d.pid, "RssShmem");
	file0 = bench_proc_kib(d.pid, "RssFile");

	/* VM d0 exists from here on: "RPC at 1 VM" and creation "at 0 VMs" (the first ones). */
	while (live < target) {
		if (!create_one(&c, serial++, &us, err, sizeof(err))) {
			limited = true;
			break;
		}
		live++;
		if (live == 1)
			rpc_samples(&c, nrpc, &i1, &v1);
		else if (live <= probe + 1)
			bench_samples_add(&c0, us);
		else
			bench_samples_add(&fill, us);
	}
	rssn = bench_proc_kib(d.pid, "VmRSS");
	anonn = bench_proc_kib(d.pid, "RssAnon");
	shmn = bench_proc_kib(d.pid, "RssShmem");
	filen = bench_proc_kib(d.pid, "RssFile");
	rpc_samples(&c, nrpc, &in, &vn);
	/* Creation with the daemon full: the next VMs. */
	for (unsigned i = 0; !limited && i < probe; i++) {
		if (!create_one(&c, serial++, &us, err, sizeof(err))) {
			limited = true;
			break;
		}
		bench_samples_add(&cn, us);
	}
	if (limited)
		bench_note("the host refused VM %u: %s", serial, err);
	/* The daemon's VMs go first: the raw fill must not compete with them for memory. */
	bench_conn_close(&c);
	bench_daemon_stop(&d);	/* SIGTERM: the daemon destroys every VM */
	raw_kib = raw_fill(kind, live, probe, &raw0, &rawn);

	r.name = "density_rss";
	r.backend = label;
	r.label = "daemon RSS per live VM";
	r.unit = "kib";
	r.value = (double)(rssn - rss0) / live;
	r.baseline = raw_kib;
	r.ratio = r.value / GOAL_KIB_PER_VM;
	/* The goal is the daemon's own memory: on kvm the VM state is kernel memory outside the
	 * RSS; on emu and the sim every vCPU is an engine instance inside it, so that row is a
	 * report and density_rss_own below separates the engine's share. */
	if (kind == RAW_KVM) {
		r.goal = "<=16KiB";
		r.goal_max = GOAL_KIB_PER_VM;
		r.goal_on_value = true;
	}
	snprintf(extra, sizeof(extra), "vms=%u rss0_kib=%ld rss_kib=%ld anon_kib_per_vm=%.2f "
		 "shmem_kib_per_vm=%.2f file_kib_per_vm=%.2f", live, rss0, rssn,
		 (double)(anonn - anon0) / live, (double)(shmn - shm0) / live,
		 (double)(filen - file0) / live);
	r.extra = extra;
	bench_report(&r);

	/* What the daemon adds to the engine: with emu (and the sim) the engine's instances live
	 * in the daemon's process, with kvm their state is kernel memory outside the RSS. */
	r = (struct bench_result)BENCH_RESULT_INIT;
	r.name = "density_rss_own";
	r.backend = label;
	r.label = "daemon RSS per VM minus the raw fill's";
	r.unit = "kib";
	r.value = (double)(rssn - rss0) / live - raw_kib;
	r.baseline = raw_kib;
	snprintf(extra, sizeof(extra), "vms=%u total_kib_per_vm=%.2f raw_kib_per_vm=%.2f raw=%s",
		 live, (double)(rssn - rss0) / live, raw_kib,
		 kind == RAW_KVM ? "kvm" : "engine");
	r.extra = extra;
	bench_report(&r);

	r = (struct bench_result)BENCH_RESULT_INIT;
	r.name = "density_create";
	r.backend = label;
	r.label = "create-vm+map+create-vcpu at N vs at 0 VMs";
	r.unit = "us";
	r.value = bench_median(&cn);
	r.p99 = bench_p99(&cn);
	r.baseline = bench_median(&c0);
	r.ratio = r.value / r.baseline;
	r.goal = "<=1.5";
	r.goal_max = GOAL_CREATE_RATIO;
	snprintf(extra, sizeof(extra), "vms=%u fill_median_us=%.1f raw_at0_us=%.1f raw_atn_us=%.1f "
		 "raw_ratio=%.3f", live, bench_median(&fill), bench_median(&raw0),
		 bench_median(&rawn), bench_median(&rawn) / bench_median(&raw0));
	r.extra = extra;
	bench_report(&r);

	r = (struct bench_result)BENCH_RESULT_INIT;
	r.name = "density_rpc_p99";
	r.backend = label;
	r.label = "daemon-info at N (ratio: p99 vs p99 at 1)";
	r.unit = "us";
	r.value = bench_median(&in);
	r.p99 = bench_p99(&in);
	r.baseline = bench_p99(&i1);	/* the goal compares p99s */
	r.ratio = r.p99 / r.baseline;
	r.goal = "<=1.2";
	r.goal_max = GOAL_RPC_P99_RATIO;
	snprintf(extra, sizeof(extra), "vms=%u baseline_is=p99_at_1_vm baseline_median_us=%.3f",
		 live, bench_median(&i1));
	r.extra = extra;
	bench_report(&r);

	r = (struct bench_result)BENCH_RESULT_INIT;
	r.name = "density_vminfo_p99";
	r.backend = label;
	r.label = "vm-info at N (ratio: p99 vs p99 at 1)";
	r.unit = "us";
	r.value = bench_median(&vn);
	r.p99 = bench_p99(&vn);
	r.baseline = bench_p99(&v1);	/* the goal compares p99s */
	r.ratio = r.p99 / r.baseline;
	r.goal = "<=1.2";
	r.goal_max = GOAL_RPC_P99_RATIO;
	snprintf(extra, sizeof(extra), "vms=%u baseline_is=p99_at_1_vm baseline_median_us=%.3f",
		 live, bench_median(&v1));
	r.extra = extra;
	bench_report(&r);

	bench_note("N = %u live VMs%s; RSS from /proc/PID/status VmRSS before the first and after "
		   "the last VM (anon %+ld KiB, shmem %+ld KiB, file %+ld KiB in total).", live,
		   limited ? " (a host limit stopped the fill)" : "", anonn - anon0, shmn - shm0,
		   filen - file0);
	bench_note("creation 'at 0' = VMs 2..%u, 'at N' = the %u VMs created after N; no guest RAM "
		   "is touched (the 64 KiB memfds stay unpopulated); %s.", probe + 1, probe,
		   kind == RAW_KVM ? "kernel memory (VMCS, page tables, kvm_run pages) is not in "
		   "the RSS" : "the engine's instances are in the RSS");
	bench_note("%s %s, same fill in a fresh process: creation median %.1f us at 0, %.1f us at %u "
		   "VMs (ratio %.2f): the part of the growth that is the engine's own; the VmRSS "
		   "of that (fresh) process grew %.1f KiB per VM.", label, bench_raw_label(kind),
		   bench_median(&raw0), bench_median(&rawn), live, bench_median(&rawn) / bench_median(&raw0), raw_kib);

	bench_samples_free(&raw0);
	bench_samples_free(&rawn);
	bench_samples_free(&c0);
	bench_samples_free(&cn);
	bench_samples_free(&i1);
	bench_samples_free(&in);
	bench_samples_free(&v1);
	bench_samples_free(&vn);
	bench_samples_free(&fill);
}

int main(void)
{
	const char *backends[3];
	unsigned nb;

	bench_begin("Density: live VMs (1 vCPU, 64 KiB RAM each) in one daemon");
	nb = bench_backends(backends);
	for (unsigned i = 0; i < nb; i++)
		run_backend(backends[i]);
	bench_note("emu and mshv-sim: each vCPU is an engine instance (Unicorn) inside the daemon "
		   "(mshv-sim: inside the test double preloaded into it), so the engine's memory is "
		   "in the daemon's RSS; 'minus the raw fill's' subtracts the same fill on the raw "
		   "engine in a fresh process.  kvm: the raw fill's RSS is the kvm_run mappings.");
	return 0;
}
