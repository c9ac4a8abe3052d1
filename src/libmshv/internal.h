/* SPDX-License-Identifier: MIT */
/* libmshv internals shared by the object files; nothing here is exported (prefix mshv__). */
#ifndef MSHV_LIBMSHV_INTERNAL_H
#define MSHV_LIBMSHV_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mshv/mshv.h>

/* How many times an MSHV_ROOT_HVCALL answered with -EAGAIN (memory deposited) is retried. */
#define MSHV__HVCALL_EAGAIN_RETRIES	64

struct mshv {
	int fd;
	pthread_mutex_t lock;		/* serializes the one probe */
	bool probed;			/* caps valid (set under lock, read after taking it) */
	struct mshv_caps caps;
};

/* The cached probe of m (probing on first use): 0 and *ret, or the probe's -errno. */
int mshv__caps(struct mshv *m, struct mshv_caps *ret);

/*
 * Operations that exist as an allow-listed hypercall and as an MSHV_EXT_* ioctl. The path that
 * works is found on first use and cached per VM (relaxed atomics: racing threads find the same
 * answer).
 */
enum mshv__op {
	MSHV__OP_REGS,
	MSHV__OP_TRANSLATE_GVA,
	MSHV__OP_INTERCEPT_RESULT,
	MSHV__OP_CPUID_VALUES,
	MSHV__OP_GPA_RW,
	MSHV__OP_INSTALL_INTERCEPT,
	MSHV__OP_GET_PROPERTY,
	MSHV__OP_SET_PROPERTY,
	MSHV__OP_ASSERT_INTERRUPT,
	MSHV__OP_SIGNAL_EVENT,
	MSHV__OP_POST_MESSAGE,
	MSHV__OP_DELIVERABILITY,
	MSHV__OP_PROPERTY_EX,
	MSHV__OP_COUNT
};

enum mshv__path {
	MSHV__PATH_UNKNOWN = 0,
	MSHV__PATH_HVCALL,
	MSHV__PATH_EXT,
	MSHV__PATH_NONE,
};

struct mshv_vm {
	int fd;
	_Atomic int path[MSHV__OP_COUNT];
	bool caps_known;		/* created after mshv_probe(): caps is its answer */
	struct mshv_caps caps;
};

struct mshv_vcpu {
	int fd;
	uint32_t index;
	struct mshv_vm *vm;
	struct hv_vp_register_page *reg_page;	/* NULL if not mapped */
	size_t reg_page_size;
};

struct mshv_device {
	int fd;
};

/* ioctl() returning the result (>= 0) or -errno; resets the thread's HV status. */
int mshv__ioctl(int fd, unsigned long request, void *arg);

/* Record / read the thread's last HV status. */
void mshv__set_hv_status(uint16_t status);

/*
 * MSHV_ROOT_HVCALL on fd with the EAGAIN retry loop; sets the thread's HV status from
 * args->status. Returns 0 or -errno.
 */
int mshv__hvcall(int fd, struct mshv_root_hvcall *args);

/*
 * As mshv__hvcall() for a rep hypercall: additionally fails with -EIO when fewer reps than
 * asked completed.
 */
int mshv__hvcall_rep(int fd, struct mshv_root_hvcall *args);

/* Fill a struct mshv_root_hvcall. */
void mshv__hvcall_args(struct mshv_root_hvcall *args, uint16_t code, uint16_t reps,
		       const void *in, size_t in_sz, void *out, size_t out_sz);

/*
 * True when a hypercall attempt failed because the kernel does not offer it: no
 * MSHV_ROOT_HVCALL at all (-ENOTTY) or, if einval_missing, not allow-listed (-EINVAL with no HV
 * status, which is what the allow-list check returns).
 */
int mshv__hvcall_missing(int r, const struct mshv_root_hvcall *args, int einval_missing);

/*
 * Run operation `op` on fd: the hypercall in *args (rep: check reps completed) unless the VM
 * already knows the kernel lacks it, else ioctl ext_request(ext_arg) (0: none). Caches the
 * path that works. Returns 0 or -errno (-EOPNOTSUPP when neither exists); *ret_path (may be
 * NULL) tells which path produced the result, so the caller knows which output to read.
 */
int mshv__dual(struct mshv_vm *vm, enum mshv__op op, int fd, struct mshv_root_hvcall *args,
	       int rep, unsigned long ext_request, void *ext_arg, enum mshv__path *ret_path);

int mshv__path_get(struct mshv_vm *vm, enum mshv__op op);
void mshv__path_set(struct mshv_vm *vm, enum mshv__op op, enum mshv__path path);

/*
 * Register transfer helpers (regs.c). The per-call limits are parameters so the splitting can
 * be unit-tested: chunk i of a transfer of n items in calls of at most max covers
 * [i * max, min(n, (i + 1) * max)).
 */
size_t mshv__chunk_count(size_t n, size_t max);

/* Build the HVCALL_SET_VP_REGISTERS input for n (<= 127) assocs into buf (>= 16 + 32n bytes). */
size_t mshv__build_set_regs_input(void *buf, uint32_t vp_index,
				  const struct hv_register_assoc *regs, size_t n);
/* Build the HVCALL_GET_VP_REGISTERS input for n (<= 256) names into buf (>= 16 + 4n bytes). */
size_t mshv__build_get_regs_input(void *buf, uint32_t vp_index,
				  const struct hv_register_assoc *regs, size_t n);

/* Register name of an MSR index, 0 if none (0 is also EXPLICIT_SUSPEND, never an MSR). */
uint32_t mshv__msr_to_reg(uint32_t msr_index);

/* Segment conversions (regs.c). */
void mshv__seg_from_hv(struct mshv_segment *out, const struct hv_x64_segment_register *in);
void mshv__seg_to_hv(struct hv_x64_segment_register *out, const struct mshv_segment *in);

#endif
