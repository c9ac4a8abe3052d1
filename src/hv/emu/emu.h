/* SPDX-License-Identifier: MIT */
/* emu: a software x86 CPU (Unicorn, QEMU's TCG as a library) with MSHV-like intercepts. */
#ifndef MSHVD_EMU_H
#define MSHVD_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The engine runs guest code without a hypervisor device.  It is used by the emu backend of
 * the hv layer and by the MSHV test double; it knows neither.  It is NOT an isolation boundary:
 * the guest runs inside the host process's address space under a software CPU.
 *
 * Objects: a VM (struct emu_vm) owns a table of guest RAM that the caller provides and keeps
 * alive, a local APIC per vCPU when configured, and the execution lock; its vCPUs
 * (struct emu_vcpu) are each one engine instance run by one thread.
 *
 * Intercepts follow the Microsoft Hypervisor: an exit leaves the vCPU *before* the
 * instruction that caused it (RIP on it, no register or memory changed), except HALT (RIP past
 * the hlt) and INTERRUPTED/EOI (RIP where the guest resumes).  The caller then either
 * completes it with emu_vcpu_complete() (the engine finishes the instruction: the read value
 * lands where the instruction wanted it, string registers step, RIP advances), or emulates the
 * instruction itself and moves RIP with emu_vcpu_set_regs(); running again without either runs
 * the instruction again, which exits again.
 *
 * Errors: 0 or a negative errno.  Threads: emu_vm_* may be called from any thread (they take
 * the VM's locks); emu_vcpu_* from any thread too, but calls on one vCPU must not overlap and
 * must not happen while it is inside emu_vcpu_run(), except the functions marked
 * "Thread: any".  vCPUs of one VM never execute guest code at the same time
 * (an execution lock with an instruction budget), so guest `lock` instructions are atomic.
 *
 * Limits (documented for users in the README): paging works for identity-mapped guest page
 * tables only (the engine's TLB uses the virtual address as the physical one); emu_vcpu_translate()
 * is a real page walk.  Interrupt and exception delivery is the engine's own, for CPL 0.
 */

#define EMU_MAX_VCPUS		256
#define EMU_MAX_MAPPINGS	256
#define EMU_APIC_DEFAULT_BASE	0xfee00000ull

struct emu_vm;
struct emu_vcpu;
struct emu_exit;

enum {
	EMU_PROT_READ	= 1u << 0,
	EMU_PROT_WRITE	= 1u << 1,
	EMU_PROT_EXEC	= 1u << 2,
};

struct emu_vm_config {
	/* A local APIC per vCPU: MMIO page at APIC_BASE, fixed/NMI/INIT/SIPI delivery, EOI. */
	bool lapic;
	/* With a LAPIC, a hlt with nothing to deliver returns EMU_EXIT_HALT (MSHV style; the next
	 * run waits for an interrupt).  Without this the run waits inside the engine (KVM
	 * in-kernel irqchip style) and only a kick ends the wait. */
	bool halt_exits;
	/* Level-triggered EOIs return EMU_EXIT_EOI after the EOI write (MSHV style) instead of
	 * calling eoi_notify. */
	bool eoi_exits;
	/* vCPUs other than 0 start in wait-for-SIPI (the hypervisor's startup suspend). */
	bool aps_wait_for_sipi;
	/* Level-triggered EOI notification (Thread: vcpu), when !eoi_exits.  May be NULL. */
	void (*eoi_notify)(void *opaque, unsigned vcpu, uint8_t vector);
	void *opaque;
};

int emu_vm_new(const struct emu_vm_config *cfg, struct emu_vm **ret);
/* Every vCPU must have been freed.  Returns NULL. */
struct emu_vm *emu_vm_free(struct emu_vm *vm);

/* Map size bytes at host (page aligned, caller-owned until unmapped) at gpa.  Overlap: -EEXIST.
 * Thread: any (waits until no vCPU executes). */
int emu_vm_map(struct emu_vm *vm, uint64_t gpa, void *host, uint64_t size, unsigned prot);
/* Remove the mapping at gpa of exactly size bytes; -ENOENT otherwise.  Thread: any. */
int emu_vm_unmap(struct emu_vm *vm, uint64_t gpa, uint64_t size);
/* Host address of [gpa, gpa + len) when one mapping holds all of it, else NULL.  *ret_prot
 * (optional) gets the mapping's protection.  Thread: any. */
void *emu_vm_gpa_to_host(struct emu_vm *vm, uint64_t gpa, uint64_t len, unsigned *ret_prot);

/* Dirty-page tracking of guest writes (costs a hook per store while on): the guest's stores
 * and what the engine writes for it (string input, interrupt frames).  Turning it on starts
 * with every page clean.  Thread: any. */
int emu_vm_set_dirty_tracking(struct emu_vm *vm, bool on);
/* Copy the dirty bits of npages pages from gpa (one mapping) into bitmap (bit i = page i),
 * then clear them when clear is set.  -ENOENT when the range is not inside one mapping. */
int emu_vm_get_dirty(struct emu_vm *vm, uint64_t gpa, uint64_t npages, uint8_t *bitmap, bool clear);

/* ---- interrupts (Thread: any) ------------------------------------------------------------ */

enum emu_irq_type {
	EMU_IRQ_FIXED,
	EMU_IRQ_LOWEST,
	EMU_IRQ_SMI,
	EMU_IRQ_NMI,
	EMU_IRQ_INIT,
	EMU_IRQ_SIPI,
	EMU_IRQ_EXTINT,
};

/* Deliver an interrupt to the vCPU whose APIC ID (= index) is apic_id, or with logical to every
 * vCPU whose logical ID matches (flat model).  Without a LAPIC only FIXED/EXTINT (delivered when
 * IF = 1) and NMI to one vCPU work; others return -EOPNOTSUPP.  Wakes a halted vCPU.
 * -ENOENT when no vCPU matches. */
int emu_vm_interrupt(struct emu_vm *vm, enum emu_irq_type type, uint32_t apic_id, bool logical,
		     uint8_t vector, bool level);
/* An MSI (x86 address/data format) through emu_vm_interrupt(). */
int emu_vm_msi(struct emu_vm *vm, uint64_t address, uint32_t data);

/* ---- vCPUs ------------------------------------------------------------------------------ */

/* Create vCPU index in the x86 reset state (CS 0xf000 base 0xffff0000, RIP 0xfff0). */
int emu_vcpu_new(struct emu_vm *vm, unsigned index, struct emu_vcpu **ret);
/*
 * Keep up to n (at most 4) engine instances prepared ahead by a thread of the engine, for a
 * process that creates vCPUs on demand (mshvd): opening an instance and the engine's set-up
 * of its translator are most of what emu_vcpu_new() costs, and it then takes a ready one.  The
 * thread starts with the next emu_vcpu_new() (so a process may still fork, e.g. to detach, in
 * between); a vCPU that finds no spare ready prepares its own.  n = 0 stops the thread and
 * frees the spares; without a call every emu_vcpu_new() prepares its own.  0 or a negative
 * errno (spares are then off).
 */
int emu_prepare_ahead(unsigned n);
/* How many prepared instances are ready now. */
unsigned emu_spares_ready(void);
struct emu_vcpu *emu_vcpu_free(struct emu_vcpu *v);

/* Segment attributes in the VMX/Hyper-V encoding: bits 0-3 type, 4 S, 5-6 DPL, 7 P, 12 AVL,
 * 13 L, 14 D/B, 15 G; P = 0 means unusable.  limit is byte granular. */
struct emu_segment {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint16_t attributes;
};

struct emu_table {
	uint64_t base;
	uint16_t limit;
};

enum {
	EMU_RAX, EMU_RCX, EMU_RDX, EMU_RBX, EMU_RSP, EMU_RBP, EMU_RSI, EMU_RDI,
	EMU_R8, EMU_R9, EMU_R10, EMU_R11, EMU_R12, EMU_R13, EMU_R14, EMU_R15,
};

struct emu_regs {
	uint64_t gpr[16];	/* EMU_RAX ... EMU_R15 */
	uint64_t rip;
	uint64_t rflags;
};

struct emu_sregs {
	struct emu_segment es, cs, ss, ds, fs, gs, ldt, tr;
	struct emu_table gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t apic_base;
};

struct emu_fpu {
	uint8_t st[8][16];	/* x87 registers, 80 bits each in the low 10 bytes */
	uint16_t fcw, fsw;
	uint8_t ftw;		/* abridged tag word (FXSAVE format: bit set = valid) */
	uint16_t fop;
	uint64_t fip, fdp;
	uint8_t xmm[16][16];
	uint32_t mxcsr;
};

/* Registers.  While an exit waits (emu_vcpu_exit_pending()), set_regs / set_sregs that move RIP
 * abandon it (the caller emulated the instruction). */
int emu_vcpu_get_regs(struct emu_vcpu *v, struct emu_regs *ret);
int emu_vcpu_set_regs(struct emu_vcpu *v, const struct emu_regs *r);
int emu_vcpu_get_sregs(struct emu_vcpu *v, struct emu_sregs *ret);
/* Loads the full hidden state (base, limit, attributes) of every segment as given; mode changes
 * (CR0.PE/PG, EFER.LME/LMA, CS.L/D) take effect at once. */
int emu_vcpu_set_sregs(struct emu_vcpu *v, const struct emu_sregs *s);
int emu_vcpu_get_fpu(struct emu_vcpu *v, struct emu_fpu *ret);
int emu_vcpu_set_fpu(struct emu_vcpu *v, const struct emu_fpu *f);
/* Debug registers DR0-3, DR6, DR7 (index 0-3, 6, 7). */
int emu_vcpu_get_dr(struct emu_vcpu *v, unsigned index, uint64_t *ret);
int emu_vcpu_set_dr(struct emu_vcpu *v, unsigned index, uint64_t value);
/* MSRs the engine implements (TSC, PAT, SYSENTER_*, STAR/LSTAR/CSTAR/SFMASK, KERNEL_GS_BASE,
 * FS/GS_BASE, EFER, APIC_BASE, TSC_AUX, MTRRs); -ENOENT for the others. */
int emu_vcpu_get_msr(struct emu_vcpu *v, uint32_t index, uint64_t *ret);
int emu_vcpu_set_msr(struct emu_vcpu *v, uint32_t index, uint64_t value);
/* The local APIC's 4096-byte register page (architectural layout, as KVM_GET_LAPIC);
 * -EOPNOTSUPP without a LAPIC. */
int emu_vcpu_get_lapic(struct emu_vcpu *v, uint8_t page[4096]);
int emu_vcpu_set_lapic(struct emu_vcpu *v, const uint8_t page[4096]);

enum emu_activity {
	EMU_ACTIVE,
	EMU_HALTED,		/* waits for an interrupt */
	EMU_WAIT_FOR_SIPI,	/* an AP before INIT/SIPI */
};
enum emu_activity emu_vcpu_get_activity(struct emu_vcpu *v);
int emu_vcpu_set_activity(struct emu_vcpu *v, enum emu_activity a);

/* Interrupt shadow (after STI / MOV SS): the instruction at RIP cannot be interrupted. */
bool emu_vcpu_interrupt_shadow(struct emu_vcpu *v);
void emu_vcpu_set_interrupt_shadow(struct emu_vcpu *v, bool on);

/*
 * What the engine holds for a vCPU beyond its registers, for snapshots: interrupts posted
 * and not yet delivered, a latched triple fault, and the write half of an MMIO
 * read-modify-write whose read was completed (the instruction has run; the next run reports
 * the write).  set replaces all of it.
 */
struct emu_events {
	bool nmi;			/* an NMI waits */
	bool extint;			/* no-LAPIC VMs: a FIXED/EXTINT vector waits for IF */
	uint8_t extint_vector;
	bool init;			/* INIT posted, acted on by the next run */
	bool sipi;
	uint8_t sipi_vector;
	bool shutdown;			/* the next run reports SHUTDOWN */
	bool mmio_write;		/* mmio_exit is reported by the next run */
	struct emu_exit *mmio_exit;	/* get: filled when mmio_write (may be NULL); set: read */
};
int emu_vcpu_get_events(struct emu_vcpu *v, struct emu_events *ret);
int emu_vcpu_set_events(struct emu_vcpu *v, const struct emu_events *e);

/* Drop the pending exit, if any, without finishing its instruction (the next run executes
 * it again from RIP, which exits again), and a deferred RMW write half with it. */
void emu_vcpu_cancel_exit(struct emu_vcpu *v);

/* Deliver an exception or interrupt vector now, before the instruction at RIP, through the
 * IVT/IDT as the CPU would (what a VMM's event injection does).  Abandons a pending exit.
 * -EFAULT when it cannot be delivered: a triple fault, which the next run reports. */
int emu_vcpu_inject(struct emu_vcpu *v, uint8_t vector, bool has_error_code, uint32_t error_code);

/* Which instructions exit instead of being answered by the engine. */
enum {
	EMU_INTERCEPT_CPUID	= 1u << 0,	/* else: the engine's CPUID table */
	EMU_INTERCEPT_MSR_ALL	= 1u << 1,	/* every rdmsr/wrmsr; else only unknown MSRs exit */
};
/* exceptions: bit n set makes vector n an EMU_EXIT_EXCEPTION instead of delivering it. */
void emu_vcpu_set_intercepts(struct emu_vcpu *v, unsigned flags, uint32_t exceptions);

/* The engine's CPUID answer: the host CPU's vendor and family/model/stepping, features limited
 * to what the engine implements, the hypervisor bit set. */
void emu_vcpu_cpuid(struct emu_vcpu *v, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

/* ---- running ---------------------------------------------------------------------------- */

enum emu_exit_kind {
	EMU_EXIT_IO,
	EMU_EXIT_MMIO,		/* access to a GPA with no RAM (or a write to read-only RAM) */
	EMU_EXIT_HALT,
	EMU_EXIT_SHUTDOWN,	/* triple fault */
	EMU_EXIT_CPUID,
	EMU_EXIT_MSR,
	EMU_EXIT_EXCEPTION,
	EMU_EXIT_INTERRUPTED,	/* emu_vcpu_kick() */
	EMU_EXIT_EOI,		/* eoi_exits: the guest acknowledged a level-triggered vector */
};

struct emu_exit {
	enum emu_exit_kind kind;
	uint64_t rip;
	uint64_t rflags;
	uint8_t insn_len;	/* 0 when there is no instruction (HALT after, EOI, INTERRUPTED) */
	uint8_t insn[16];	/* the instruction's bytes (insn_len of them) */
	union {
		struct {
			uint16_t port;
			uint8_t size;		/* 1, 2, 4 */
			bool write;
			bool string;
			bool rep;
			uint8_t addr_size;	/* string forms: 2, 4, 8 */
			uint64_t count;		/* rep: RCX (elements left incl. this one), else 1 */
			uint64_t data;		/* write: the value (OUTS: read from memory) */
		} io;
		struct {
			uint64_t gpa;
			uint64_t gva;
			uint8_t size;		/* 1..16 */
			bool write;
			bool fetch;		/* instruction fetch from a GPA without RAM */
			bool readonly;		/* a write to read-only RAM */
			uint64_t data;		/* write: the value (low 8 bytes) */
		} mmio;
		struct {
			uint32_t eax, ecx;
			uint32_t result[4];	/* emu_vcpu_cpuid()'s answer */
		} cpuid;
		struct {
			uint32_t index;
			bool write;
			uint64_t data;
		} msr;
		struct {
			uint8_t vector;
			bool has_error_code;
			uint32_t error_code;
		} exception;
		struct {
			uint8_t vector;
		} eoi;
	};
};

/* Run until the next exit.  Returns 0 with *exit filled or a negative errno (-EINVAL for a
 * state the engine cannot run). */
int emu_vcpu_run(struct emu_vcpu *v, struct emu_exit *exit);

/* emu_vcpu_run() that also returns EMU_EXIT_INTERRUPTED (nothing pending, RIP where the guest
 * resumes) once *budget instructions ran without an exit, and instead of waiting in a hlt or
 * for a SIPI: it never blocks.  *budget: in, the most instructions to run; out, what is left
 * (0 when spent).  A kick is still returned as EMU_EXIT_INTERRUPTED and consumed as by
 * emu_vcpu_run(); a spent budget leaves a kick pending. */
int emu_vcpu_run_bounded(struct emu_vcpu *v, struct emu_exit *exit, uint64_t *budget);

struct emu_completion {
	uint64_t value;		/* io / mmio read, rdmsr */
	uint32_t cpuid[4];	/* eax, ebx, ecx, edx */
	bool inject_gp;		/* msr: raise #GP instead */
};

/* Finish the instruction of the pending exit (see the top of this file); no-op (0) for exits
 * with nothing to finish or when none is pending. */
int emu_vcpu_complete(struct emu_vcpu *v, const struct emu_completion *c);
bool emu_vcpu_exit_pending(const struct emu_vcpu *v);

/* Make the current or next emu_vcpu_run() return EMU_EXIT_INTERRUPTED within microseconds;
 * sticky until a run returns it.  Async-signal-safe.  Thread: any. */
void emu_vcpu_kick(struct emu_vcpu *v);

/* Walk the guest's page tables with the vCPU's CR0/CR3/CR4/EFER (paging off: identity).
 * access: EMU_PROT_* to check; user: a CPL 3 access.  -EFAULT not present, -EACCES
 * protection violation (*ret_gpa still set when the page is present). */
int emu_vcpu_translate(struct emu_vcpu *v, uint64_t gva, unsigned access, bool user,
		       uint64_t *ret_gpa);

#endif
