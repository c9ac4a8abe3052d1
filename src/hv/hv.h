/* SPDX-License-Identifier: MIT */
/* The hypervisor layer: one interface over /dev/mshv and /dev/kvm, with normalized exits. */
#ifndef MSHVD_HV_H
#define MSHVD_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Objects: an open device (struct hv), partitions on it (struct hv_vm) and their vCPUs
 * (struct hv_vcpu).  The daemon sees only this header; it never handles an hv_message or a
 * kvm_run.  Teardown order: every vCPU of a VM is freed before the VM, every VM before the hv.
 *
 * Errors: every function that can fail returns 0 or a negative errno.  When the hypervisor
 * itself rejected a call, hv_last_status() on the object that made the call returns the raw
 * hypervisor status (HV_STATUS_* on mshv; 0 on kvm), so "EIO" never hides the cause.
 *
 * Threads: hv and hv_vm functions may be called from any thread, but not concurrently on the
 * same object unless marked "Thread: any".  hv_vcpu functions are never called concurrently
 * on the same vCPU, and
 *  - "Thread: vcpu" (hv_vcpu_run()) only from the vCPU's own thread, the one that the backend's
 *    kick signals;
 *  - "Thread: parked" (registers, complete, translate, exit_pending, last_status) from the
 *    vCPU's own thread between runs, or from another thread while the vCPU is parked: its
 *    thread is not inside hv_vcpu_run() and does not enter it until the other thread is done,
 *    and a lock hand-off orders the two threads' calls.  mshvd's loop thread does this
 *    (src/daemon/vcpu.c: under vcpu->lock, only while its state is created or parked);
 *  - "Thread: parked-run" (hv_vcpu_run_bounded()) from the vCPU's own thread, or from another
 *    thread while the vCPU is parked exactly as for "Thread: parked" (its thread has not
 *    started, or waits outside every hv_vcpu_* call until a lock hand-off gives the vCPU
 *    back).  mshvd's loop thread does this under vcpu->lock for a vCPU whose thread is not
 *    inside vcpu_run_loop() (src/daemon/vcpu.c).  A kick from any thread still ends such a run
 *    and stays sticky until one run returns it;
 *  - hv_vcpu_new() and hv_vcpu_free() from any thread, before the vCPU's thread first runs it
 *    and after that thread was joined;
 *  - hv_vcpu_kick() from any thread ("Thread: any").
 */

struct hv;
struct hv_vm;
struct hv_vcpu;

enum hv_backend {
	HV_BACKEND_AUTO,	/* mshv when /dev/mshv opens, else kvm; never emu */
	HV_BACKEND_MSHV,
	HV_BACKEND_KVM,
	HV_BACKEND_EMU,		/* the software CPU (src/hv/emu): no device, NOT an isolation
				 * boundary; -EOPNOTSUPP when built --without-unicorn */
};

/* Capabilities of an open backend (hv_caps()).  An operation whose bit is clear returns
 * -EOPNOTSUPP; nothing is silently ignored. */
enum {
	HV_CAP_IRQCHIP		= 1u << 0,	/* in-kernel interrupt controller (KVM irqchip / MSHV LAPIC) */
	HV_CAP_LAPIC		= 1u << 1,	/* per-VM LAPIC option */
	HV_CAP_X2APIC		= 1u << 2,
	HV_CAP_GPA_SUPER_PAGES	= 1u << 3,
	HV_CAP_IOEVENTFD_MMIO	= 1u << 4,
	HV_CAP_IOEVENTFD_PIO	= 1u << 5,
	HV_CAP_IRQFD		= 1u << 6,
	HV_CAP_IRQFD_RESAMPLE	= 1u << 7,
	HV_CAP_MSI_ROUTING	= 1u << 8,
	HV_CAP_ASSERT_INTERRUPT	= 1u << 9,
	HV_CAP_TRANSLATE_GVA	= 1u << 10,
	HV_CAP_PAUSE		= 1u << 11,	/* hv_vm_pause() freezes guest time */
	HV_CAP_REG_PAGE		= 1u << 12,	/* register page / sync-regs fast path on exits */
	HV_CAP_READONLY_MEM	= 1u << 13,	/* mappings without HV_MAP_WRITE */
	HV_CAP_NOEXEC_MEM	= 1u << 14,	/* mappings without HV_MAP_EXEC are enforced */
	HV_CAP_NESTED_VIRT	= 1u << 15,	/* hv_vm_options.nested_virtualization */
	HV_CAP_SMT_GUEST	= 1u << 16,	/* hv_vm_options.smt_guest */
	HV_CAP_CPU_FEATURES	= 1u << 17,	/* hv_vm_options.cpu_features (feature banks) */
	HV_CAP_DIRTY_LOG	= 1u << 18,	/* hv_vm_set_dirty_log(): pages the guest wrote */
	HV_CAP_BOUNDED_RUN	= 1u << 19,	/* hv_vcpu_run_bounded() */
};

/* Ceilings of the hv layer, the same on every backend.  The daemon's limits that they back
 * (max-vcpus, max-regions, GSIs) cannot be set above them, so a client meets a named daemon
 * limit (limit-exceeded) before the hv layer's own -EINVAL / -ENOSPC. */
#define HV_MAX_VCPUS	256	/* vCPU indices are below this */
#define HV_MAX_MAPPINGS	256	/* memory mappings per partition */
#define HV_MAX_GSI	4096	/* GSIs are below this (KVM_MAX_IRQ_ROUTES; the MSHV table) */

/* How a backend wires interrupts: the facts the daemon needs beyond the HV_CAP_* bits, as data,
 * so nothing above src/hv compares backend names. */
struct hv_irq_model {
	uint32_t pin_gsis;		/* GSIs [0, pin_gsis) are interrupt-controller pins, routed
					 * without an MSI table (kvm: PIC + IOAPIC, 24); 0: every
					 * GSI is an MSI route (mshv, emu) */
	const char *irqchip_option;	/* the create-vm option that gives a VM the interrupt
					 * controller irqfds and MSI routes need */
	bool irqchip_lapic_only;	/* only that option (lapic) creates it (mshv); else any of
					 * irqchip, lapic, x2apic does */
	bool nmi_without_irqchip;	/* an NMI to one vCPU needs no interrupt controller (kvm) */
	const char *pio_ioeventfd_note;	/* why HV_CAP_IOEVENTFD_PIO is clear, or NULL */
};

/* The interrupt model of an open backend (borrowed, static).  Thread: any. */
const struct hv_irq_model *hv_irq_model(const struct hv *hv);

/* Name of one capability bit ("irqchip", "ioeventfd-pio", ...), NULL for unknown bits. */
const char *hv_cap_name(uint32_t cap);

/* Open a backend.  path NULL means the backend's default device (emu has none: a path is
 * -EINVAL).  With HV_BACKEND_AUTO and no usable device, returns -ENODEV (the caller names
 * /dev/mshv, /dev/kvm and --backend emu).  A backend not built into this binary returns
 * -EOPNOTSUPP.  Thread: any. */
int hv_open(enum hv_backend backend, const char *path, struct hv **ret);
struct hv *hv_free(struct hv *hv);
const char *hv_name(const struct hv *hv);		/* "mshv", "kvm" or "emu" */
/* True when guests run under hardware virtualization (mshv, kvm); false for emu, whose guests
 * run under a software CPU inside this process (no isolation boundary). */
bool hv_hardware_isolation(const struct hv *hv);
/* True when backend is built into this binary (emu needs libunicorn). */
bool hv_backend_available(enum hv_backend backend);
uint32_t hv_caps(const struct hv *hv);
int hv_backend_from_name(const char *name, enum hv_backend *ret);

/*
 * The kernel driver under a backend whose ABI moves by driver generation (mshv: fact sheet
 * §11), as detected once when the backend opened.  Strings are static.
 */
#define HV_DRIVER_MAX_FEATURES	32
struct hv_driver_info {
	const char *generation;		/* "6.15", "6.19", "7.0", "microsoft" or "unknown" */
	const char *features[HV_DRIVER_MAX_FEATURES + 1];	/* names, NULL-terminated */
	bool vmm_caps_known;		/* the hypervisor answered VMM_CAPABILITIES */
	uint64_t vmm_caps;		/* its bank 0 (0 also when it refused) */
};

/* What the backend knows of its kernel driver (borrowed, lives as long as hv), or NULL when
 * the backend has no driver generations (kvm, emu).  Thread: any. */
const struct hv_driver_info *hv_driver_info(const struct hv *hv);

/* Raw hypervisor status of the last failed call on that object (0 when none or on kvm). */
uint32_t hv_last_status(const struct hv *hv);
uint32_t hv_vm_last_status(const struct hv_vm *vm);
uint32_t hv_vcpu_last_status(const struct hv_vcpu *vcpu);	/* Thread: parked */

/* ---- partitions ------------------------------------------------------------------------- */

struct hv_vm_options {
	bool lapic;		/* virtual LAPIC (MSHV_PT_BIT_LAPIC; on kvm implies irqchip) */
	bool x2apic;
	bool gpa_super_pages;
	bool irqchip;		/* in-kernel irqchip: needed for irqfd on kvm */
	/* Partition bits newer kernels added (each behind its HV_CAP_* bit, else -EOPNOTSUPP). */
	bool nested_virtualization;	/* the guest may run its own hypervisor */
	bool smt_guest;			/* the hypervisor schedules VPs as SMT siblings */
	bool cpu_features;		/* apply the feature banks below (zero = all enabled) */
	uint64_t disabled_cpu_features[2];	/* processor feature banks, 1 = disabled */
	uint64_t disabled_xsave_features;	/* 1 = disabled */
};

int hv_vm_new(struct hv *hv, const struct hv_vm_options *opts, struct hv_vm **ret);
/* Destroys the partition; every vCPU must have been freed. */
struct hv_vm *hv_vm_free(struct hv_vm *vm);

enum {
	HV_MAP_READ	= 1u << 0,	/* always implied: no backend maps unreadable memory */
	HV_MAP_WRITE	= 1u << 1,
	HV_MAP_EXEC	= 1u << 2,
};

/* Map size bytes of host memory at host (page aligned, kept alive by the caller until
 * unmapped) at guest physical gpa.  Overlap with an existing mapping returns -EEXIST. */
int hv_vm_map(struct hv_vm *vm, uint64_t gpa, void *host, uint64_t size, unsigned flags);
/* Remove the mapping that starts at gpa and has exactly this size; -ENOENT otherwise. */
int hv_vm_unmap(struct hv_vm *vm, uint64_t gpa, uint64_t size);

/* Freeze / thaw guest time for the whole partition (HV_CAP_PAUSE).  Stopping the vCPUs
 * themselves is the caller's job (hv_vcpu_kick). */
int hv_vm_pause(struct hv_vm *vm);
int hv_vm_resume(struct hv_vm *vm);

enum hv_ioeventfd_flags {
	HV_IOEVENTFD_PIO	= 1u << 0,	/* port address instead of MMIO */
	HV_IOEVENTFD_DATAMATCH	= 1u << 1,	/* fire only when the written value equals datamatch */
};

/* Signal eventfd fd when the guest writes len bytes (0 = any size) at addr.  The fd is not
 * taken over.  Same addr+len+datamatch twice: -EEXIST.  PIO on mshv: -EOPNOTSUPP. */
int hv_vm_add_ioeventfd(struct hv_vm *vm, int fd, uint64_t addr, unsigned len, unsigned flags,
			uint64_t datamatch);
int hv_vm_remove_ioeventfd(struct hv_vm *vm, int fd, uint64_t addr, unsigned len, unsigned flags,
			   uint64_t datamatch);

/* Inject the interrupt routed to gsi whenever fd is signalled.  resample_fd >= 0 makes it
 * level triggered: resample_fd is signalled when the guest acknowledges (HV_CAP_IRQFD_RESAMPLE). */
int hv_vm_add_irqfd(struct hv_vm *vm, int fd, int resample_fd, uint32_t gsi);
int hv_vm_remove_irqfd(struct hv_vm *vm, int fd, uint32_t gsi);

struct hv_msi_route {
	uint32_t gsi;
	uint32_t address_lo;
	uint32_t address_hi;
	uint32_t data;
};

/* Replace the whole MSI routing table (n = 0 clears it).  On kvm this needs a VM created with
 * an irqchip (else -EOPNOTSUPP), and GSIs 0-23 stay routed to the irqchip pins as in KVM's
 * default table: a route for them returns -EINVAL. */
int hv_vm_set_msi_routing(struct hv_vm *vm, const struct hv_msi_route *routes, unsigned n);

enum hv_interrupt_type {
	HV_INTERRUPT_FIXED,
	HV_INTERRUPT_LOWEST,
	HV_INTERRUPT_NMI,
	HV_INTERRUPT_INIT,
	HV_INTERRUPT_SIPI,
	HV_INTERRUPT_EXTINT,
};

struct hv_interrupt {
	enum hv_interrupt_type type;
	uint32_t apic_id;
	uint32_t vector;
	bool level;
	bool logical;
};

/* Thread: any (may be called while vCPUs run).  On kvm without an irqchip only an NMI to one
 * vCPU (apic_id = vCPU index) can be injected; other types return -EOPNOTSUPP. */
int hv_vm_assert_interrupt(struct hv_vm *vm, const struct hv_interrupt *irq);

/* ---- vCPUs ------------------------------------------------------------------------------ */

/* Create vCPU index.  The new vCPU is in the x86 reset state except CS.base = CS.selector = 0
 * is NOT applied: callers set the registers they need. */
int hv_vcpu_new(struct hv_vm *vm, unsigned index, struct hv_vcpu **ret);
struct hv_vcpu *hv_vcpu_free(struct hv_vcpu *vcpu);
unsigned hv_vcpu_index(const struct hv_vcpu *vcpu);

/* The partition's vCPU table, the one table of vCPUs: vCPU index of vm (NULL when none) and
 * how many it has.  Thread: as other hv_vm functions, never concurrently with hv_vcpu_new()
 * or hv_vcpu_free() on the same VM. */
struct hv_vcpu *hv_vm_vcpu(const struct hv_vm *vm, unsigned index);
unsigned hv_vm_nvcpus(const struct hv_vm *vm);

/* One pointer of the caller's, attached to a vCPU (NULL when created): how a caller finds its
 * own object from hv_vm_vcpu().  Thread: as hv_vm_vcpu(). */
void hv_vcpu_set_data(struct hv_vcpu *vcpu, void *data);
void *hv_vcpu_data(const struct hv_vcpu *vcpu);

/* Registers, by name.  The table of names is in hv-regs.c (hv_reg_name/hv_reg_from_name). */
enum hv_reg {
	HV_REG_RAX, HV_REG_RCX, HV_REG_RDX, HV_REG_RBX,
	HV_REG_RSP, HV_REG_RBP, HV_REG_RSI, HV_REG_RDI,
	HV_REG_R8, HV_REG_R9, HV_REG_R10, HV_REG_R11,
	HV_REG_R12, HV_REG_R13, HV_REG_R14, HV_REG_R15,
	HV_REG_RIP, HV_REG_RFLAGS,
	/* segments: value.seg */
	HV_REG_ES, HV_REG_CS, HV_REG_SS, HV_REG_DS, HV_REG_FS, HV_REG_GS, HV_REG_LDTR, HV_REG_TR,
	/* descriptor tables: value.table */
	HV_REG_GDTR, HV_REG_IDTR,
	HV_REG_CR0, HV_REG_CR2, HV_REG_CR3, HV_REG_CR4, HV_REG_CR8,
	HV_REG_EFER, HV_REG_APIC_BASE,
	HV_REG_DR0, HV_REG_DR1, HV_REG_DR2, HV_REG_DR3, HV_REG_DR6, HV_REG_DR7,
	/* common MSRs */
	HV_REG_TSC, HV_REG_PAT, HV_REG_KERNEL_GS_BASE,
	HV_REG_SYSENTER_CS, HV_REG_SYSENTER_ESP, HV_REG_SYSENTER_EIP,
	HV_REG_STAR, HV_REG_LSTAR, HV_REG_CSTAR, HV_REG_SFMASK,
	HV_REG_COUNT
};

enum hv_reg_kind { HV_REG_KIND_U64, HV_REG_KIND_SEGMENT, HV_REG_KIND_TABLE };

/* Segment attributes use the Hyper-V encoding: bits 0-3 type, 4 S, 5-6 DPL, 7 P, 12 AVL,
 * 13 L, 14 D/B, 15 G.  An unusable segment has P = 0.  limit is byte granular. */
struct hv_segment {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint16_t attributes;
};

struct hv_table {
	uint64_t base;
	uint16_t limit;
};

struct hv_reg_value {
	enum hv_reg reg;
	union {
		uint64_t u64;
		struct hv_segment seg;
		struct hv_table table;
	};
};

const char *hv_reg_name(enum hv_reg reg);			/* "rax", "cs", "gdtr", "apic_base" */
int hv_reg_from_name(const char *name, enum hv_reg *ret);	/* -ENOENT for unknown names */
enum hv_reg_kind hv_reg_kind(enum hv_reg reg);

/* Read/write n registers in one call where the backend allows.  Only between runs (the vCPU
 * is not inside hv_vcpu_run()).  While an exit is pending (hv_vcpu_exit_pending()), RIP reads
 * as the exit's rip on every backend; other registers touched by an unfinished string
 * instruction (RCX, RSI, RDI) may show a backend's intermediate state, and
 * hv_vcpu_set_regs() returns -EBUSY: complete the exit first.  Thread: parked. */
int hv_vcpu_get_regs(struct hv_vcpu *vcpu, struct hv_reg_value *regs, unsigned n);
int hv_vcpu_set_regs(struct hv_vcpu *vcpu, const struct hv_reg_value *regs, unsigned n);

/* ---- running ---------------------------------------------------------------------------- */

enum hv_exit_kind {
	HV_EXIT_IO,		/* port I/O; string I/O is reported one element per exit */
	HV_EXIT_MMIO,		/* access to guest physical memory with no RAM behind it */
	HV_EXIT_HALT,		/* hlt; rip is past the instruction; nothing to complete */
	HV_EXIT_SHUTDOWN,	/* triple fault / unrecoverable exception */
	HV_EXIT_CPUID,
	HV_EXIT_MSR,
	HV_EXIT_EXCEPTION,
	HV_EXIT_INTERRUPTED,	/* hv_vcpu_kick() or a signal; nothing to complete */
	HV_EXIT_UNKNOWN,	/* anything else: raw code kept; the last kind (mshvd sizes counters on it) */
};

const char *hv_exit_kind_name(enum hv_exit_kind kind);	/* "io", "mmio", "halt", ... */

/*
 * A normalized exit.  rip is the address of the instruction that caused the exit (for HALT:
 * past the hlt), identical on both backends; every element of a string/REP instruction
 * reports the instruction's address.  insn_len is the instruction length when the backend
 * knows it, else 0.  A read-modify-write instruction on MMIO (add/or/and/xor/sub to memory)
 * exits twice: the read, then (after completion) the write.  For INTERRUPTED, rip is where
 * the guest will resume.
 */
struct hv_exit {
	enum hv_exit_kind kind;
	uint64_t rip;
	uint64_t rflags;
	uint8_t insn_len;
	union {
		struct {
			uint16_t port;
			uint8_t size;		/* 1, 2, 4 */
			bool write;		/* out / outs */
			bool string;		/* ins / outs */
			bool rep;
			uint64_t count;		/* remaining elements incl. this one (rep), else 1 */
			uint64_t data;		/* write: value written; read: 0 until completed */
		} io;
		struct {
			uint64_t gpa;
			uint8_t size;		/* 1..8 */
			bool write;
			uint64_t data;		/* write: value written */
		} mmio;
		struct {
			uint32_t eax, ecx;	/* leaf, subleaf */
			uint32_t result[4];	/* the hypervisor's default eax, ebx, ecx, edx */
		} cpuid;
		struct {
			uint32_t index;
			bool write;
			uint64_t data;		/* wrmsr: EDX:EAX */
		} msr;
		struct {
			uint8_t vector;
			bool has_error_code;
			uint32_t error_code;
		} exception;
		struct {
			uint64_t code;		/* kvm exit reason or hv message type */
		} unknown;
	};
};

/*
 * Run the vCPU until an exit that needs the caller.  Exits the backend handles itself never
 * surface.  Returns 0 with *exit filled, or a negative errno (the vCPU is then unusable only if
 * the errno says so).  A pending exit that was not completed is completed with defaults first
 * (reads return all ones).  Thread: vcpu.
 */
int hv_vcpu_run(struct hv_vcpu *vcpu, struct hv_exit *exit);

/*
 * hv_vcpu_run() for a bounded amount of guest work (HV_CAP_BOUNDED_RUN, else -EOPNOTSUPP): also
 * returns HV_EXIT_INTERRUPTED (nothing pending; rip where the guest resumes) once about
 * max_insns (at least 1) guest instructions ran without an exit, and instead of waiting for an
 * interrupt in a hlt or for a SIPI: it never blocks.  A kick ends it as it ends hv_vcpu_run()
 * and is consumed by it; an end by the bound leaves a kick pending for the next run.  Exits the
 * backend handles itself (ioeventfd writes) count against the same bound.  Thread: parked-run.
 */
int hv_vcpu_run_bounded(struct hv_vcpu *vcpu, struct hv_exit *exit, uint64_t max_insns);

struct hv_completion {
	uint64_t value;		/* io/mmio read, rdmsr: the value; ignored for writes */
	uint32_t cpuid[4];	/* cpuid: eax, ebx, ecx, edx */
	bool inject_gp;		/* msr: fault instead of completing */
};

/*
 * Complete the last exit: write the read value where the instruction wanted it and advance RIP
 * past the instruction, identically on both backends.  Does not resume the vCPU.  For exits
 * with nothing to complete (halt, interrupted, shutdown) it returns 0 and changes nothing.
 * c == NULL completes with defaults (reads return all ones).  Thread: parked (the vCPU's
 * thread completes stream writes itself; the loop completes the exit a vCPU parked at).
 */
int hv_vcpu_complete(struct hv_vcpu *vcpu, const struct hv_completion *c);

/* True when the last exit is still waiting for hv_vcpu_complete().  Thread: parked. */
bool hv_vcpu_exit_pending(const struct hv_vcpu *vcpu);

/*
 * The signal hv_vcpu_kick() sends to a vCPU thread (a real-time signal, handler installed
 * once by hv_open() without SA_RESTART), 0 before any hv_open().  Callers must not use it
 * for anything else; hv_vcpu_run() unblocks it in the calling thread.  Thread: any.
 */
int hv_kick_signal(void);

/*
 * Make hv_vcpu_run() on this vCPU return HV_EXIT_INTERRUPTED promptly (within milliseconds),
 * whether it is inside the hypervisor now or enters it later: the request is sticky until one
 * run returns.  Async-signal-safe.  Thread: any, but not after the thread that ran the vCPU
 * was joined (the kick may signal that thread).
 */
void hv_vcpu_kick(struct hv_vcpu *vcpu);

/* Translate a guest virtual address with the vCPU's current paging state.  access is a mask
 * of HV_MAP_READ/WRITE/EXEC to validate.  -EFAULT when not mapped.  Thread: parked. */
int hv_vcpu_translate_gva(struct hv_vcpu *vcpu, uint64_t gva, unsigned access, uint64_t *ret_gpa);

/* ---- snapshots --------------------------------------------------------------------------- */

/*
 * Dirty-page logging (HV_CAP_DIRTY_LOG): while on, the backend records every page of every
 * mapping that the guest writes (KVM dirty log, MSHV GPA access bitmap, the engine's write
 * tracking).  Writes the host makes through its own mapping of the RAM are not seen: the
 * caller tracks those itself.  Mappings added while logging is on are logged too.
 * Thread: as other hv_vm functions; vCPUs may be running.
 */
int hv_vm_set_dirty_log(struct hv_vm *vm, bool on);

/*
 * Fetch and clear the dirty bits of the mapping that starts at gpa and has exactly size bytes:
 * bit (i % 64) of bitmap[i / 64] is page i (4 KiB) of the mapping, set when the guest wrote it
 * since the previous fetch or since logging was turned on.  bitmap holds
 * (size / 4096 + 63) / 64 words.  -ENOENT without such a mapping, -EINVAL when logging is off.
 * A page the guest writes during the call is either reported now or by the next fetch.
 */
int hv_vm_get_dirty_log(struct hv_vm *vm, uint64_t gpa, uint64_t size, uint64_t *bitmap);

/*
 * Partition-wide state beyond its vCPUs and RAM (kvm: the in-kernel PIC/IOAPIC/PIT and the
 * guest clock; emu and mshv: none today, a header only), for snapshots: a blob in the format
 * below, malloc()ed, which the caller frees.  Restore takes a blob of the same backend onto a
 * VM created with the same options.  Thread: as other hv_vm functions, with every vCPU idle.
 */
int hv_vm_save_state(struct hv_vm *vm, void **ret, size_t *ret_size);
int hv_vm_restore_state(struct hv_vm *vm, const void *state, size_t size);

/*
 * The complete architectural state of one vCPU, for snapshots: every enum hv_reg register
 * and what the backend keeps beyond them (x87/SSE/XSAVE state and XCR0, the MSRs it exposes,
 * the LAPIC registers, pending exceptions and interrupts, the interrupt shadow, the activity
 * state (running, halted, waiting for SIPI)).  The blob is malloc()ed (the caller frees it)
 * and starts with struct hv_state_header; its body is the backend's and versioned by it.
 *
 * Saving while an exit is pending completion records the vCPU as it was before that
 * instruction (rip = the exit's rip): restoring it runs the instruction again, which exits
 * the same way.  Restoring drops whatever exit is pending on the target vCPU.
 *
 * Restore accepts only a blob of the same backend and a body version it knows (-EPROTO
 * otherwise: the daemon names both); a malformed or truncated blob is -EINVAL and changes
 * nothing that was not already changed by a failing hypervisor call (the caller restores a
 * known state then).  Thread: parked.
 */
#define HV_STATE_MAGIC	0x54534856u	/* "VHST" little-endian */

struct hv_state_header {
	uint32_t magic;		/* HV_STATE_MAGIC */
	uint16_t backend;	/* enum hv_backend of the backend that saved it */
	uint16_t version;	/* the backend's body version */
	uint32_t size;		/* whole blob, header included */
	uint32_t reserved;	/* 0 */
};

int hv_vcpu_save_state(struct hv_vcpu *vcpu, void **ret, size_t *ret_size);
int hv_vcpu_restore_state(struct hv_vcpu *vcpu, const void *state, size_t size);

#endif
