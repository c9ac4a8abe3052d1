// SPDX-License-Identifier: MIT
// Benchmark: the crate's example guest to halt, `mshvctl boot` against a running mshvd vs a
// fresh `qemu-system-x86_64` booting the same flat binary: -accel kvm for the kvm backend,
// -accel tcg (QEMU's software CPU) for emu and mshv-sim, whose guests run on a software CPU.

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define GOAL_SPEEDUP	20.0
#define FIRMWARE_SIZE	0x10000u	/* QEMU wants a multiple of 64 KiB */
#define RESET_OFFSET	0xfff0u		/* the reset vector, 16 bytes below the top */

static const char *find_in_path(const char *prog)
{
	static char buf[PATH_MAX];
	const char *path = getenv("PATH");

	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, prog);
		if (access(buf, X_OK) == 0)
			return buf;
		path = end ? end + 1 : NULL;
	}
	return NULL;
}

/*
 * Run argv with stdout on a pipe.  With stop_after > 0, SIGKILL the child once that many bytes
 * of output arrived (QEMU never exits on hlt); *ret_out_us is when they arrived.  Returns the
 * time from fork to reaping the child in microseconds; the output goes to out (size n).
 */
static double run_child(const char *const *argv, const char *ld_path, size_t stop_after,
			char *out, size_t n, size_t *ret_len, double *ret_out_us)
{
	uint64_t t0 = bench_now_ns();
	size_t len = 0;
	int p[2], status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		bench_die("pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(null, 2) < 0)
			_exit(127);
		if (ld_path)
			setenv("LD_LIBRARY_PATH", ld_path, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	*ret_out_us = NAN;
	for (;;) {
		ssize_t r = read(p[0], out + len, n - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (stop_after && len >= stop_after) {
			*ret_out_us = (double)(bench_now_ns() - t0) / 1000.0;
			kill(pid, SIGKILL);
			break;
		}
		if (len == n)
			break;
	}
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid)
		bench_die("waitpid: %s", strerror(errno));
	if (!stop_after && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		bench_die("%s exited with status 0x%x", argv[0], status);
	*ret_len = len;
	return (double)(bench_now_ns() - t0) / 1000.0;
}

/* The 64 KiB firmware image: zeros and the bench-reset stub at the reset vector. */
static void write_firmware(const char *path)
{
	size_t len;
	uint8_t *stub = bench_guest("bench-reset", &len);
	uint8_t *rom = calloc(1, FIRMWARE_SIZE);
	FILE *f;

	if (!rom || len > 16)
		bench_die("bench-reset stub does not fit the reset vector (%zu bytes)", len);
	memcpy(rom + RESET_OFFSET, stub, len);
	f = fopen(path, "we");
	if (!f || fwrite(rom, 1, FIRMWARE_SIZE, f) != FIRMWARE_SIZE || fclose(f) != 0)
		bench_die("%s: cannot write", path);
	free(rom);
	free(stub);
}

static bool example_output(const char *out, size_t len)
{
	return len >= 1 && out[0] == '4';
}

/* The QEMU accelerator a backend's row is compared with. */
static unsigned accel_of(const char *backend)
{
	return strcmp(backend, "kvm") == 0 ? 0 : 1;
}

static const char *const accels[] = { "kvm", "tcg" };

/* runs boots of the example under QEMU with accel (after one warm-up run). */
static void qemu_runs(const char *qemu_bin, const char *accel, const char *example, unsigned runs,
		      struct bench_samples *total, struct bench_samples *to_out)
{
	char *qemu_path = strdup(qemu_bin), rom[96], loader[PATH_MAX + 64], out[4096];
	const char *argv[] = { qemu_path, "-accel", accel, "-M", "microvm", "-nodefaults",
			       "-display", "none", "-bios", rom, "-device", loader,
			       "-chardev", "stdio,id=con", "-device",
			       "isa-debugcon,iobase=0x3f8,chardev=con", NULL };
	double out_us;
	size_t len;

	snprintf(rom, sizeof(rom), "/tmp/mshvd-bench-rom-%d.bin", (int)getpid());
	snprintf(loader, sizeof(loader), "loader,file=%s,addr=0x1000", example);
	write_firmware(rom);
	for (unsigned i = 0; i <= runs; i++) {
		/* Both bytes: '4' and the 0 the example writes right before hlt. */
		double us = run_child(argv, NULL, 2, out, sizeof(out), &len, &out_us);

		if (len < 2 || out[0] != '4' || out[1] != 0)
			bench_die("qemu (-accel %s) printed %zu bytes, not '4' and 0", accel, len);
		if (i) {
			bench_samples_add(total, us);
			bench_samples_add(to_out, out_us);
		}
	}
	unlink(rom);
	free(qemu_path);
}

int main(void)
{
	unsigned runs = bench_count(50, 2);
	struct bench_samples ctl[3] = { { 0 }, { 0 }, { 0 } }, qemu[2] = { { 0 }, { 0 } },
			     qemu_out[2] = { { 0 }, { 0 } };
	const char *qemu_bin = find_in_path("qemu-system-x86_64");
	char ctl_bin[PATH_MAX], lib_dir[PATH_MAX], example[PATH_MAX];
	char sock_env[160], out[4096], extra[256];
	const char *ld = NULL, *ctl_kind = "libtool wrapper", *backends[3];
	bool want_accel[2] = { false, false };
	unsigned nb;
	size_t len;
	double out_us;

	signal(SIGPIPE, SIG_IGN);
	/* The real binary, not the libtool wrapper script (whose shell start-up would be counted). */
	snprintf(ctl_bin, sizeof(ctl_bin), "%s", bench_build_path("src/ctl/.libs/mshvctl"));
	snprintf(lib_dir, sizeof(lib_dir), "%s", bench_build_path("src/client/.libs"));
	if (access(ctl_bin, X_OK) == 0) {
		ld = lib_dir;
		ctl_kind = "binary";
	} else {
		snprintf(ctl_bin, sizeof(ctl_bin), "%s", bench_build_path("src/ctl/mshvctl"));
	}
	snprintf(example, sizeof(example), "%s", bench_build_path("tests/guests/example.bin"));
	if (access(example, R_OK) < 0)
		bench_die("%s: %s (run make first)", example, strerror(errno));

	bench_begin("Peer: the example guest to halt, mshvctl boot (running mshvd) vs a fresh QEMU");
	nb = bench_backends(backends);
	for (unsigned b = 0; b < nb; b++) {
		const char *argv[] = { ctl_bin, "boot", example, NULL };
		struct bench_daemon d;

		want_accel[accel_of(backends[b])] = true;
		bench_daemon_start(&d, backends[b], NULL);
		snprintf(sock_env, sizeof(sock_env), "%s", d.sock);
		setenv("MSHVD_SOCKET", sock_env, 1);
		for (unsigned i = 0; i <= runs; i++) {
			double us = run_child(argv, ld, 0, out, sizeof(out), &len, &out_us);

			if (!example_output(out, len))
				bench_die("mshvctl boot printed %zu bytes, not '4'", len);
			if (i)	/* the first run warms the page cache */
				bench_samples_add(&ctl[b], us);
		}
		bench_daemon_stop(&d);
	}

	for (unsigned a = 0; qemu_bin && a < 2; a++)
		if (want_accel[a])
			qemu_runs(qemu_bin, accels[a], example, runs, &qemu[a], &qemu_out[a]);

	for (unsigned b = 0; b < nb; b++) {
		struct bench_result r = BENCH_RESULT_INIT;
		unsigned a = accel_of(backends[b]);

		r.name = "peer_boot";
		r.backend = bench_backend_label(backends[b]);
		r.label = "example to halt: mshvctl boot (speedup)";
		r.unit = "us";
		r.value = bench_median(&ctl[b]);
		r.p99 = bench_p99(&ctl[b]);
		r.baseline = bench_median(&qemu[a]);
		r.ratio = r.baseline / r.value;
		r.goal = ">=20x";
		r.goal_min = GOAL_SPEEDUP;
		snprintf(extra, sizeof(extra), "runs=%u qemu_accel=%s qemu_p99_us=%.1f "
			 "qemu_to_output_us=%.1f speedup_to_output=%.2f mshvctl=%s", runs, accels[a],
			 bench_p99(&qemu[a]), bench_median(&qemu_out[a]),
			 bench_median(&qemu_out[a]) / r.value, ctl_kind);
		r.extra = extra;
		bench_report(&r);
	}
	if (!qemu_bin)
		bench_note("qemu-system-x86_64 not found (Debian package qemu-system-x86): no "
			   "baseline, ratio unknown");
	bench_note("mshvctl: a new process per run (%s), connects to an already running mshvd, "
		   "creates a VM (768K RAM), loads the image, runs it in stream mode to hlt, "
		   "destroys the VM; timed fork to reap.", ctl_kind);
	bench_note("QEMU: qemu-system-x86_64 -accel kvm (kvm row) or -accel tcg (emu and mshv-sim "
		   "rows: software CPUs on both sides) -M microvm -nodefaults, firmware = 64 KiB "
		   "image whose reset vector (tests/guests/bench-reset.S) sets RAX=RBX=2 and jumps "
		   "to example.bin (loaded at 0x1000 by -device loader), console on isa-debugcon "
		   "0x3f8; QEMU never exits on hlt, so it is SIGKILLed once '4' and 0 arrived; timed "
		   "fork to reap.  ratio = QEMU / mshvctl.");
	for (unsigned i = 0; i < 3; i++)
		bench_samples_free(&ctl[i]);
	for (unsigned i = 0; i < 2; i++) {
		bench_samples_free(&qemu[i]);
		bench_samples_free(&qemu_out[i]);
	}
	return 0;
}
