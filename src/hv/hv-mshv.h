/* SPDX-License-Identifier: MIT */
/* Private objects of the mshv backend, shared by hv-mshv.c and hv-mshv-emulate.c. */
#ifndef MSHVD_HV_MSHV_H
#define MSHVD_HV_MSHV_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <mshv/mshv.h>

#include "hv/hv-backend.h"
#include "hv/x86/x86.h"

struct mshv_hv {
	struct hv base;
	struct mshv *dev;
	struct mshv_caps caps;
	struct hv_driver_info driver;	/* hv_driver_info(): from caps, filled at open */
};

struct mshv_hv_vm {
	struct hv_vm base;
	struct mshv_vm *vm;
	bool lapic;
	atomic_size_t xsave_size;	/* MAX_XSAVE_DATA_SIZE, read at the first vCPU snapshot
				 * (0: not yet; vCPUs may be saved from several threads) */

	/* The dirty log's other half: guest memory the backend's emulator wrote for the guest
	 * (string port input, MMIO-to-RAM moves) through the host mapping, which the hypervisor's
	 * GPA access bits never see.  One bitmap per mapping slot (bit i = page i), allocated
	 * while logging is on or when a mapping is added then, freed with the mapping; marked by
	 * vCPU threads, fetched and cleared by hv_vm_get_dirty_log(). */
	atomic_bool dirty_log;
	_Atomic uint64_t *_Atomic emu_dirty[HV_MAX_MAPPINGS];
};

/* What the pending exit needs from hv_vcpu_complete(). */
enum mshv_pending {
	MSHV_PENDING_NONE,
	MSHV_PENDING_IO,	/* non-string port I/O: RAX and RIP */
	MSHV_PENDING_EMU,	/* a device access of an emulated instruction */
	MSHV_PENDING_CPUID,
	MSHV_PENDING_MSR,
};

/* Index of RIP and RFLAGS in the write-back cache, after the 16 GPRs. */
#define MSHV_WB_RIP	16
#define MSHV_WB_RFLAGS	17
#define MSHV_WB_COUNT	18

struct mshv_hv_vcpu {
	struct hv_vcpu base;
	struct mshv_vcpu *vp;
	struct hv_vp_register_page *page;	/* NULL without a register page */

	/* Kick: any thread sets the request and signals the vCPU thread while it is in (or about
	 * to enter) MSHV_RUN_VP.  A signal that lands between the check of the request and the
	 * ioctl would be lost, so the kicker also arms a periodic timer aimed at the vCPU thread
	 * (kick.tid); the vCPU thread disarms it when a run returns. */
	struct hv_kick kick;
	atomic_bool timer_ok;
	atomic_bool timer_armed;
	timer_t timer;

	/* Register writes not yet given to the hypervisor (GPRs, RIP, RFLAGS): flushed before the
	 * next run or register access, through the register page when it is valid. */
	uint64_t wb[MSHV_WB_COUNT];
	uint32_t wb_mask;

	/* The exit waiting for completion. */
	enum mshv_pending pending;
	uint32_t msg_type;
	uint64_t rip;		/* of the intercepted instruction */
	uint8_t insn_len;
	uint64_t rax;		/* RAX at the intercept (non-string port I/O) */

	/* Emulation of the instruction that caused an MMIO or string I/O intercept. */
	struct x86_cpu cpu;		/* state the emulator works on */
	struct x86_cpu cpu_orig;	/* as loaded: what to write back is the difference */
	uint8_t bytes[16];
	size_t nbytes;
	struct x86_insn insn;		/* decoded once per intercept */
	struct x86_emu_ctx ctx;
	struct x86_access access;	/* the device access of the pending exit */
	bool gva_gpa_valid;		/* the message's GVA -> GPA pair */
	uint64_t msg_gva, msg_gpa;

	bool stashed;		/* the next exit is ready without entering the guest */
	struct hv_exit stash;
};

static inline struct mshv_hv *to_mshv(struct hv *hv)
{
	return (struct mshv_hv *)hv;
}

static inline struct mshv_hv_vm *to_mshv_vm(struct hv_vm *vm)
{
	return (struct mshv_hv_vm *)vm;
}

static inline struct mshv_hv_vcpu *to_mshv_vcpu(struct hv_vcpu *vcpu)
{
	return (struct mshv_hv_vcpu *)vcpu;
}

/* HV names of the write-back cache slots: GPRs in encoding order, then RIP, RFLAGS. */
extern const uint32_t mshv_hv_wb_names[MSHV_WB_COUNT];

/* hv-mshv.c: register access shared with the emulation code.  Thread: vcpu. */
void mshv_hv_wb_set(struct mshv_hv_vcpu *mc, unsigned idx, uint64_t value);
int mshv_hv_flush(struct mshv_hv_vcpu *mc);
int mshv_hv_translate(struct mshv_hv_vcpu *mc, uint64_t gva, uint64_t flags, uint64_t *ret_gpa);
int mshv_hv_set_assocs(struct mshv_hv_vcpu *mc, const struct hv_register_assoc *regs, size_t n);
/* Make the guest take exception vector (error code when has_error; cr2 for #PF). */
int mshv_hv_inject_exception(struct mshv_hv_vcpu *mc, uint8_t vector, bool has_error,
			     uint32_t error_code, uint64_t cr2);
/* The emulator is about to write len bytes at gpa inside mapping m: log the pages while dirty
 * logging is on.  Thread: vcpu. */
void mshv_hv_mark_dirty(struct mshv_hv_vcpu *mc, const struct hv_mapping *m, uint64_t gpa,
			size_t len);

/*
 * hv-mshv-emulate.c: emulate the instruction of an UNMAPPED_GPA/GPA_INTERCEPT (mem != NULL)
 * or string IO_PORT intercept (io != NULL).  Returns 0 with *exit filled (a device access),
 * 1 when the instruction finished without one (the caller re-enters the guest), or a negative
 * errno.  Thread: vcpu.
 */
int mshv_hv_emulate_start(struct mshv_hv_vcpu *mc,
			  const struct hv_x64_memory_intercept_message *mem,
			  const struct hv_x64_io_port_intercept_message *io, struct hv_exit *exit);
/* Complete the pending device access with value; a following access is stashed. */
int mshv_hv_emulate_complete(struct mshv_hv_vcpu *mc, uint64_t value);

#endif
