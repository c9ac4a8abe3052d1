/* SPDX-License-Identifier: MIT */
/* Shared code of the benchmarks: statistics, result tables, a private mshvd, a raw line client
 * and the raw baselines (KVM ioctls, or the emu engine driven directly). */
#ifndef MSHVD_BENCH_H
#define MSHVD_BENCH_H

#include <stdarg.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/kvm.h>

#include <jansson.h>

struct emu_vm;
struct emu_vcpu;

/*
 * Conventions: the benchmarks never pass or fail on time.  Exit status 0 means every figure
 * was measured, 77 that no selected backend can run on this machine, 1 a broken setup (the
 * daemon refused a request, a guest misbehaved).  Environment:
 *   BENCH_QUICK=1       tiny iteration counts (make check only checks the programs run)
 *   BENCH_BACKENDS      e.g. "kvm emu": which daemon backends to measure; default: every one
 *                       this machine has (kvm where /dev/kvm opens, mshv through the sim and
 *                       emu when built with libunicorn)
 *   top_builddir        the build tree (default: derived from the program's path)
 */

/* ---- process ----------------------------------------------------------------------------- */

/* Print "bench: <what>: <message>" on stderr and exit 1. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Whether /dev/kvm opens read-write and answers KVM_GET_API_VERSION. */
bool bench_have_kvm(void);
/* Whether BENCH_QUICK is set: use tiny counts. */
bool bench_quick(void);
/* quick ? q : full */
unsigned bench_count(unsigned full, unsigned q);
/* Whether backend ("kvm", "mshv", "emu") is selected by BENCH_BACKENDS. */
bool bench_backend_enabled(const char *backend);
/* Whether backend can run here; when not, *ret_why (optional) says why (static string). */
bool bench_backend_available(const char *backend, const char **ret_why);
/*
 * The backends to measure, in the order kvm, mshv, emu: selected and available.  Prints a
 * note for each selected backend that cannot run here; exits 77 (with a SKIP line) when none
 * can.  Call after bench_begin().  Returns how many were stored in ret (at most 3).
 */
unsigned bench_backends(const char *ret[3]);
/* The build tree (absolute, no trailing slash); static storage. */
const char *bench_builddir(void);
/* Path of a file in the build tree; static storage reused by the next call. */
const char *bench_build_path(const char *rel);
/* Read a whole file (a guest image) into a malloc'ed buffer; dies on failure. */
void *bench_read_file(const char *path, size_t *ret_len);
/* The flat image of tests/guests/NAME.bin. */
void *bench_guest(const char *name, size_t *ret_len);

/* ---- time and statistics ----------------------------------------------------------------- */

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

struct bench_samples {
	double *v;
	size_t n, cap;
};

void bench_samples_add(struct bench_samples *s, double v);
/* The q-quantile (0..1, nearest rank) of the samples; NAN when empty. */
double bench_quantile(const struct bench_samples *s, double q);
double bench_median(const struct bench_samples *s);
double bench_p99(const struct bench_samples *s);
void bench_samples_reset(struct bench_samples *s);
void bench_samples_free(struct bench_samples *s);

/* ---- results ----------------------------------------------------------------------------- */

/*
 * One figure.  value/p99/baseline are in `unit` ("us", "per_s", "kib", "ms", "x"); p99 and
 * baseline may be NAN.  ratio is what the goal is about (NAN: none).  The goal is met when
 * ratio <= goal_max or ratio >= goal_min (whichever is not NAN); with goal_on_value the value
 * itself is compared (absolute goals such as a request rate).
 */
struct bench_result {
	const char *name;	/* machine name, e.g. "rpc_rtt" */
	const char *backend;	/* "kvm", "mshv-sim", "-" */
	const char *label;	/* human label for the table */
	const char *unit;
	double value;		/* median (or the rate) */
	double p99;
	double baseline;
	double ratio;
	const char *goal;	/* e.g. "<=2.0"; NULL: report only */
	double goal_max;
	double goal_min;
	bool goal_on_value;	/* compare value, not ratio, with the goal bounds */
	const char *extra;	/* extra key=value pairs for the BENCH line, or NULL */
};

/* A result with every number NAN. */
#define BENCH_RESULT_INIT { .value = NAN, .p99 = NAN, .baseline = NAN, .ratio = NAN, \
			    .goal_max = NAN, .goal_min = NAN }

/* Print the program's title and the table header. */
void bench_begin(const char *title);
/* A note line under the table ("# ..."). */
void bench_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Put this process, and so the daemons and raw processes it starts afterwards (they inherit the
 * mask), on the CPU it runs on, so that both sides of a comparison have the same placement: on
 * a small machine shared with other work a cross-CPU wake-up costs several times a same-CPU
 * one, and unpinned chains of wake-ups measure where the scheduler put each thread.  Unless the
 * environment variable spread_env is set (and not "0").  *old (may be NULL) gets the mask to
 * restore.  Returns the CPU, or -1 when not pinned.
 */
int bench_pin_one_cpu(const char *spread_env, cpu_set_t *old);
/* Print one table row and its machine-readable BENCH line; returns whether the goal was met
 * (true when there is no goal). */
bool bench_report(const struct bench_result *r);

/* ---- a private mshvd --------------------------------------------------------------------- */

struct bench_daemon {
	pid_t pid;
	char dir[64];
	char sock[128];
	char log[128];
	const char *backend;	/* "kvm", "mshv" (through mshv-sim) or "emu" */
};

/*
 * Start $builddir/src/daemon/mshvd --foreground on a socket in a fresh temporary directory,
 * with --backend backend (mshv: tests/mshv-sim preloaded) and the extra arguments (NULL
 * terminated, may be NULL).  Returns once the socket accepts connections; dies on failure.
 */
void bench_daemon_start(struct bench_daemon *d, const char *backend, const char *const *args);
/* SIGTERM, wait, remove the directory.  Dies (printing the log) when the daemon did not exit 0
 * or its log has a sanitizer report: a broken daemon is a broken setup. */
void bench_daemon_stop(struct bench_daemon *d);
/* The daemon's resident set from /proc/PID/status, in KiB ("VmRSS", "RssAnon", ...). */
long bench_proc_kib(pid_t pid, const char *field);
/* The label of a backend in results: "kvm" or "mshv-sim". */
const char *bench_backend_label(const char *backend);

/* ---- a raw line client of mshvd ----------------------------------------------------------- */

/*
 * A blocking Unix stream connection that speaks newline-framed JSON-RPC with as little client
 * cost as possible: requests are formatted with printf, replies are returned as raw lines and
 * parsed (jansson) only when the caller asks for the result.
 */
struct bench_conn {
	int fd;
	char *buf;
	size_t len, off, cap;
	uint64_t next_id;
};

void bench_conn_open(struct bench_conn *c, const char *path);
void bench_conn_close(struct bench_conn *c);
/* Write all of data; dies on failure. */
void bench_conn_write(struct bench_conn *c, const void *data, size_t len);
/* The next line (without '\n'), valid until the next read; dies on EOF or error. */
const char *bench_conn_line(struct bench_conn *c, size_t *ret_len);
/* Format a request line into buf (size n): {"jsonrpc":"2.0","id":ID,"method":M[,"params":P]}\n.
 * params_fmt may be NULL (no params).  Returns the length; dies if it does not fit. */
size_t bench_rpc_format(char *buf, size_t n, uint64_t id, const char *method,
			const char *params_fmt, va_list ap);
/* The same with variable arguments. */
size_t bench_rpc_format_into(char *buf, size_t n, uint64_t id, const char *method,
			     const char *params_fmt, ...) __attribute__((format(printf, 5, 6)));
/* Send one request without waiting; returns its id. */
uint64_t bench_rpc_send(struct bench_conn *c, const char *method, const char *params_fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Wait for the replies of ids [first, first + n), skipping event notifications; dies on an
 * error reply.  With ret_last, *ret_last is a NEW reference to the result of the last id. */
void bench_rpc_wait(struct bench_conn *c, uint64_t first, unsigned n, json_t **ret_last);
/* One synchronous call; *ret_result (optional) is a NEW reference. */
void bench_call(struct bench_conn *c, json_t **ret_result, const char *method,
		const char *params_fmt, ...) __attribute__((format(printf, 4, 5)));
/* Like bench_call() but an error reply is returned: 0, or -1 with the error's JSON text in
 * err (size n). */
int bench_call_err(struct bench_conn *c, json_t **ret_result, char *err, size_t n,
		   const char *method, const char *params_fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* The integer member key of an object (BORROWED obj); dies when missing. */
long long bench_json_int(const json_t *obj, const char *key);

/* Base64 (padded) of data, malloc'ed. */
char *bench_base64(const void *data, size_t len);

/* A VM in the daemon with [0, 0xc0000) mapped, image at 0x1000, vCPU 0 in real mode at it,
 * RAX = RBX = rbx.  Returns the VM id. */
long long bench_daemon_vm(struct bench_conn *c, const void *image, size_t len, uint64_t rbx);

/* ---- raw baselines: the same engine without the daemon ------------------------------------ */

/*
 * A raw VM runs the guest on the engine a backend uses, with nothing of mshvd in between:
 * RAW_KVM makes the KVM ioctls itself (bench/raw-kvm.c), RAW_EMU drives the software CPU
 * engine of src/hv/emu directly (bench/raw-emu.c).  The kvm backend is measured against
 * RAW_KVM; emu and mshv (whose test double runs its partitions on the same engine) against
 * RAW_EMU.
 */
enum raw_kind {
	RAW_KVM,
	RAW_EMU,
};

enum raw_exit {
	RAW_EXIT_IO,	/* a port access (KVM_EXIT_IO, EMU_EXIT_IO) */
	RAW_EXIT_HLT,
};

struct raw_vm {
	enum raw_kind kind;
	int memfd;
	void *ram;
	size_t ram_size;
	/* RAW_KVM */
	int vm_fd;
	int vcpu_fd;
	struct kvm_run *run;
	/* RAW_EMU: the engine's objects, and the one ioeventfd its run loop signals */
	struct emu_vm *evm;
	struct emu_vcpu *evcpu;
	int io_fd;
	uint64_t io_addr;
	unsigned io_len;
};

/* The raw kind measured against a backend's rows ("kvm" -> RAW_KVM, else RAW_EMU). */
enum raw_kind bench_raw_kind(const char *backend);
/* "raw KVM" or "raw engine", for notes. */
const char *bench_raw_label(enum raw_kind kind);

/*
 * The lifecycle the daemon performs, without it: memfd guest RAM of ram_size at GPA 0, the
 * image copied to 0x1000, one vCPU in real mode (CS = 0, RIP = 0x1000, RAX = RBX = rbx).
 * RAW_KVM: KVM_CREATE_VM, KVM_SET_USER_MEMORY_REGION, KVM_CREATE_VCPU + its kvm_run mapping +
 * KVM_SET_CPUID2 (dies when /dev/kvm is unusable).  RAW_EMU: emu_vm_new, emu_vm_map,
 * emu_vcpu_new with the emu backend's settings.  Returns 0 or a negative errno.
 */
int raw_vm_create(struct raw_vm *v, enum raw_kind kind, size_t ram_size, const void *image,
		  size_t len, uint64_t rbx);
/* An ioeventfd on an MMIO GPA: KVM_IOEVENTFD, or (RAW_EMU) signalled by raw_vm_run() from
 * the write exit, as the emu backend does inside its run loop.  Dies on failure. */
void raw_vm_ioeventfd(struct raw_vm *v, uint64_t gpa, unsigned len, int fd);
/* Run to the next port access or hlt (the previous port access is completed first, as
 * KVM_RUN does); dies on any other exit. */
enum raw_exit raw_vm_run(struct raw_vm *v);
/* Run until hlt; returns the number of port exits before it. */
uint64_t raw_vm_run_to_halt(struct raw_vm *v);
/* Close and unmap everything. */
void raw_vm_destroy(struct raw_vm *v);

/* The per-kind implementations behind raw_vm_*. */
int raw_kvm_create(struct raw_vm *v, size_t ram_size, const void *image, size_t len,
		   uint64_t rbx);
void raw_kvm_ioeventfd(struct raw_vm *v, uint64_t gpa, unsigned len, int fd);
enum raw_exit raw_kvm_run(struct raw_vm *v);
void raw_kvm_destroy(struct raw_vm *v);
int raw_emu_create(struct raw_vm *v, size_t ram_size, const void *image, size_t len,
		   uint64_t rbx);
enum raw_exit raw_emu_run(struct raw_vm *v);
void raw_emu_destroy(struct raw_vm *v);

/* ---- raw sockets: the transport baselines -------------------------------------------------- */

/*
 * A forked echo process on a Unix stream socket: for every request line it receives it answers
 * with one line of reply_len bytes (including '\n').  The parent gets a connected fd.
 */
struct raw_echo {
	pid_t pid;
	int fd;
};

void raw_echo_start(struct raw_echo *e, size_t reply_len);
void raw_echo_stop(struct raw_echo *e);

#endif
