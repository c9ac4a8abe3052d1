/* SPDX-License-Identifier: MIT */
/* emu internals shared by the engine's files: objects, CPU state access, interrupts, MMU. */
#ifndef MSHVD_EMU_INTERNAL_H
#define MSHVD_EMU_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <unicorn/unicorn.h>

#include "hv/emu/emu.h"

#define EMU_PAGE_SIZE		4096ull
#define EMU_PAGE_MASK		(~(EMU_PAGE_SIZE - 1))
/* Instructions a vCPU may execute while another one waits for the execution lock. */
#define EMU_EXEC_BUDGET		20000
/* Code pages whose contents are compared before each run (host writes between runs). */
#define EMU_CODE_PAGES		32

struct emu_map {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
	unsigned prot;
	uint8_t *dirty;		/* one bit per page while dirty tracking is on */
	bool used;
};

struct emu_vm {
	struct emu_vm_config cfg;
	/* Execution lock: held while a vCPU executes guest code, and by map changes.  The holder
	 * yields after EMU_EXEC_BUDGET instructions when exec_waiters > 0. */
	pthread_mutex_t exec;
	atomic_int exec_waiters;
	/* Protects maps and vcpus (readers from any thread; writers also hold exec). */
	pthread_rwlock_t lock;
	struct emu_map maps[EMU_MAX_MAPPINGS];
	struct emu_vcpu *vcpus[EMU_MAX_VCPUS];
	bool dirty_tracking;
};

/* The CPU state as the engine keeps it between runs (a saved Unicorn context), with the
 * offsets of the fields the engine edits.  Found and verified at start-up (emu_state_probe). */
struct emu_layout {
	size_t data;		/* offset of the CPU state in a uc_context */
	size_t regs, eip, eflags, hflags, segs, ldt, tr, gdt, idt, cr, efer;
};
extern struct emu_layout emu_layout;
int emu_state_probe(uc_engine *uc, uc_context *ctx);

/* Segment register numbers in the engine's CPU state. */
enum { EMU_SEG_ES, EMU_SEG_CS, EMU_SEG_SS, EMU_SEG_DS, EMU_SEG_FS, EMU_SEG_GS,
       EMU_SEG_LDT, EMU_SEG_TR };

/* Pending interrupt state of one vCPU (protected by irq_lock). */
struct emu_apic {
	uint32_t regs[1024];		/* the 4 KiB register page, 32-bit words */
	bool nmi;
	bool extint;			/* no-LAPIC VMs: a FIXED/EXTINT vector waits for IF */
	uint8_t extint_vector;
	bool init;
	bool sipi;
	uint8_t sipi_vector;
};

enum emu_stop {
	EMU_STOP_NONE,
	EMU_STOP_EVENT,		/* an instruction the engine handles (exit, or answered here) */
	EMU_STOP_KICK,
	EMU_STOP_IRQ,		/* an interrupt became deliverable */
	EMU_STOP_YIELD,		/* another vCPU waits for the execution lock */
	EMU_STOP_INTR,		/* INT n or an exception (intr_no) */
	EMU_STOP_STEP,		/* the single step of a completion is done */
	EMU_STOP_BOUND,		/* emu_vcpu_run_bounded(): the instruction budget is spent */
};

struct emu_code_page {
	uint64_t gpa;
	uint8_t *copy;
};

struct emu_vcpu {
	struct emu_vm *vm;
	unsigned index;
	uc_engine *uc;
	uc_context *ctx;
	uc_context *ctx_probe;		/* state saved around a probe step */
	uint8_t *st;			/* CPU state inside ctx (valid after emu_state_load) */
	bool st_valid;			/* ctx holds the current state */
	bool st_dirty;			/* ctx was edited: store it before running */
	uc_hook h_code, h_mem, h_intr, h_invalid, h_dirty;

	atomic_bool kick;
	atomic_bool irq_poke;		/* something was posted to apic: look at it */
	int wake_fd;			/* eventfd: wakes a halted vCPU (kick, interrupt) */

	/* Run state (vCPU thread). */
	enum emu_stop stop;
	uint64_t icount;
	uint64_t *bound;		/* emu_vcpu_run_bounded(): instructions left, else NULL */
	bool stepping;			/* completion: execute one instruction then stop */
	bool step_started;
	bool event_skip;		/* the next instruction is executed, not intercepted */
	uint64_t event_rip;		/* linear address of the intercepted instruction */
	uint32_t event_len;
	uint32_t intr_no;
	bool shadow;			/* STI / MOV SS / POP SS interrupt shadow */
	bool prev_shadow;		/* the last executed instruction starts a shadow */
	bool prev_if;			/* ... or may have set IF (sti, popf, iret) */
	bool irq_blocked;		/* an interrupt waits for IF / priority */
	uint64_t cur_addr;		/* linear address and length of the current instruction */
	uint32_t cur_len;
	struct {
		bool valid;
		uint64_t addr;
		int size;
		int type;		/* uc_mem_type */
		int64_t value;
	} fault;

	struct emu_exit exit;
	bool pending;
	bool pending_done;		/* the exit's instruction already ran (RMW write half) */
	bool deferred;			/* exit to report on the next run: the RMW write half */
	bool shutdown;			/* latched triple fault until registers are set */
	enum emu_activity activity;
	unsigned intercepts;
	uint32_t exceptions;
	uint64_t apic_base;

	/* MMIO completion: the value the single-stepped instruction reads; writes seen. */
	uint64_t mmio_value;
	uint64_t mmio_gpa;
	bool mmio_wrote;
	uint64_t mmio_write_data;
	int mmio_write_size;

	pthread_mutex_t irq_lock;
	struct emu_apic apic;

	/* Instruction fetch cache for the code hook. */
	uint64_t fetch_page;
	uint8_t *fetch_host;

	struct emu_code_page code[EMU_CODE_PAGES];
	unsigned ncode;
	bool code_overflow;
};

/* emu-state.c: the saved CPU state.  load saves the engine's state into ctx (once per stop);
 * the accessors read and edit it; store writes it back before the engine runs again. */
int emu_state_load(struct emu_vcpu *v);
int emu_state_store(struct emu_vcpu *v);
uint64_t *emu_st_gpr(struct emu_vcpu *v, unsigned reg);
uint64_t *emu_st_rip(struct emu_vcpu *v);
uint64_t *emu_st_rflags(struct emu_vcpu *v);
uint64_t *emu_st_cr(struct emu_vcpu *v, unsigned n);
uint64_t *emu_st_efer(struct emu_vcpu *v);
void emu_st_get_seg(struct emu_vcpu *v, unsigned seg, struct emu_segment *ret);
void emu_st_set_seg(struct emu_vcpu *v, unsigned seg, const struct emu_segment *s);
void emu_st_get_table(struct emu_vcpu *v, bool idt, struct emu_table *ret);
/* Recompute the engine's mode flags from CR0, CR4, EFER, CS, SS and RFLAGS. */
void emu_st_update_mode(struct emu_vcpu *v);
/* 16, 32 or 64: the default operand size of the code segment. */
unsigned emu_st_code_bits(struct emu_vcpu *v);
unsigned emu_st_cpl(struct emu_vcpu *v);
/* Linear address of seg:off truncated to the address size. */
uint64_t emu_st_linear(struct emu_vcpu *v, unsigned seg, uint64_t off, unsigned addr_size);

/* Record guest writes to [addr, addr + size) while dirty tracking is on.  Caller holds exec. */
void emu_mark_dirty(struct emu_vm *vm, uint64_t addr, uint64_t size);

/* emu-mmu.c: guest memory by linear address (through the page walk) and by GPA. */
void *emu_gpa_host(struct emu_vm *vm, uint64_t gpa, uint64_t len, unsigned *ret_prot);
int emu_translate_st(struct emu_vcpu *v, uint64_t gva, unsigned access, bool user,
		     uint64_t *ret_gpa);
/* Copy between guest linear memory and a buffer; -EFAULT when any byte is not RAM. */
int emu_read_linear(struct emu_vcpu *v, uint64_t la, void *buf, size_t n);
int emu_write_linear(struct emu_vcpu *v, uint64_t la, const void *buf, size_t n);

/* emu-irq.c */
void emu_apic_reset(struct emu_vcpu *v);
/* Deliver what is pending and deliverable now (state loaded).  Returns true when something
 * was delivered; -1 (as int) when delivery failed into a triple fault. */
int emu_irq_deliver(struct emu_vcpu *v);
/* Something is pending that a hlt should wake for (IF and priorities considered). */
bool emu_irq_wakes(struct emu_vcpu *v);
/* Raise exception vector (error code when has_err) through the IVT/IDT; -1 on triple fault. */
int emu_raise(struct emu_vcpu *v, uint8_t vector, bool has_err, uint32_t err);
/* Guest access to the APIC page: read (ret value) or write; returns true when an EOI of a
 * level-triggered vector happened (*ret_eoi set). */
uint64_t emu_apic_read(struct emu_vcpu *v, uint64_t offset, unsigned size);
bool emu_apic_write(struct emu_vcpu *v, uint64_t offset, uint64_t value, uint8_t *ret_eoi);
void emu_vcpu_wake(struct emu_vcpu *v);

#endif
