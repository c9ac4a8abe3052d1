/* SPDX-License-Identifier: MIT */
/* mshv-sim internals: a test double of the mainline Linux MSHV driver that runs guests on the
 * project's software CPU engine (src/hv/emu). */
#ifndef MSHVD_TESTS_MSHV_SIM_H
#define MSHVD_TESTS_MSHV_SIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mshv/mshv-abi.h"
#include "hv/emu/emu.h"

#define SIM_PAGE_SIZE		4096u
#define SIM_MAX_PROPS		32
#define SIM_MAX_INTERCEPTS	64
#define SIM_MAX_CPUID_OVERRIDES	64
#define SIM_MAX_IRQFDS		256

/* Real libc entry points (dlsym(RTLD_NEXT)); the sim never calls its own interposed symbols. */
int sim_real_ioctl(int fd, unsigned long req, void *arg);
int sim_real_close(int fd);
void *sim_real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);

/* The engine vCPU the calling thread is running (MSHV_RUN_VP), or NULL: a signal delivered to
 * the thread meanwhile kicks it so RUN_VP returns EINTR like the driver's. */
void sim_set_running(struct emu_vcpu *v);

/* copy_from_user/copy_to_user: 0 or -EFAULT for unmapped or PROT_NONE user memory. */
int sim_copy_in(void *dst, const void *usrc, size_t n);
int sim_copy_out(void *udst, const void *src, size_t n);

/* Fault injection (MSHV_SIM_FAULT): returns 0 or the negative errno / HV status to inject. */
int sim_fault_ioctl(unsigned long req);
int sim_fault_hvcall(uint16_t code, uint16_t *ret_status);

/*
 * The driver generation the sim plays (MSHV_SIM_GEN, read at every call so a test can switch
 * between partitions; a partition keeps the generation it was created under).  sim-gen.c.
 */
struct sim_gen {
	const char *name;		/* MSHV_SIM_GEN value: "6.15", "6.19", "7.0", "ms", ... */
	const char *desc;
	unsigned pt_bits;		/* MSHV_PT_BIT_COUNT of that uapi */
	const uint16_t *hvcalls;	/* allow-list on pt/vp fds, 0-terminated */
	const uint16_t *self;		/* MSHV_ROOT_HVCALL on /dev/mshv: its own list, or NULL */
	bool self_any;			/* ... or any allowed non-async code (later MS kernels) */
	bool eagain;			/* INSUFFICIENT_MEMORY: deposit one page, return EAGAIN */
	bool movable;			/* movable guest memory (translate result 5 before a touch) */
	bool ms_ioctls;			/* Microsoft ioctls: host property, vp 0xF2/0xF5/0xF6 */
};
const struct sim_gen *sim_gen(void);
bool sim_gen_allows(const struct sim_gen *g, uint16_t code);
bool sim_gen_allows_self(const struct sim_gen *g, uint16_t code);
bool sim_gen_dev_hvcall(const struct sim_gen *g);
bool sim_hvcall_async(uint16_t code);
/* Count a call the generation rejects (see mshv_sim_rejections()); returns err. */
int sim_reject(int err);

/* hv_result_to_errno() of the mainline kernel (negative errno). */
int sim_hv_status_to_errno(uint16_t status);

struct sim_region {
	uint64_t gfn;
	uint64_t npages;
	uint64_t uaddr;
	uint8_t flags;
	uint8_t *dirty;		/* accumulated dirty bitmap (1 bit per page, 64-bit words) */
};

struct sim_prop {
	uint32_t code;
	uint64_t value;
};

struct sim_intercept {
	uint32_t type;
	uint32_t access;
	uint64_t param;
};

struct sim_cpuid_override {
	uint32_t vp;
	struct hv_register_x64_cpuid_result_parameters p;
};

struct sim_irqfd {
	int fd;
	uint32_t gsi;
	int resamplefd;
};

struct sim_ioeventfd {
	struct mshv_user_ioeventfd a;
};

struct sim_vp;

struct sim_partition {
	atomic_int refs;
	pthread_mutex_t lock;		/* partition ioctls (the kernel's partition mutex) */
	pthread_rwlock_t mem_lock;	/* regions; innermost lock */
	pthread_mutex_t state_lock;	/* props, intercepts, CPUID overrides (after pt/vp locks) */
	uint64_t id;
	uint64_t pt_flags;
	const struct sim_gen *gen;	/* the kernel generation it was created under */
	atomic_bool touched;		/* movable memory: a VP ran since the last map (§11.5) */
	bool lapic;
	bool initialized;
	bool dirty_tracking;
	struct emu_vm *vm;

	struct sim_region *regions;
	size_t nregions;

	struct sim_vp *vps[MSHV_MAX_VPS];

	struct sim_prop props[SIM_MAX_PROPS];
	size_t nprops;
	struct sim_intercept intercepts[SIM_MAX_INTERCEPTS];
	size_t nintercepts;
	struct sim_cpuid_override cpuid_overrides[SIM_MAX_CPUID_OVERRIDES];
	size_t ncpuid_overrides;

	struct sim_irqfd irqfds[SIM_MAX_IRQFDS];
	size_t nirqfds;
	struct sim_ioeventfd *ioeventfds;
	size_t nioeventfds;
	struct mshv_user_irq_entry *routes;
	size_t nroutes;

	/* irqfds: a thread polls the bound eventfds and injects their routes' MSIs. */
	pthread_t irq_thread;
	bool irq_thread_started;
	atomic_bool irq_stop;
	int irq_wake;			/* eventfd: the irqfd list changed / stop */
};

struct sim_vp {
	atomic_int refs;
	pthread_mutex_t lock;		/* the kernel's per-VP mutex: held across RUN_VP */
	struct sim_partition *pt;	/* holds a reference */
	uint32_t index;
	struct emu_vcpu *ev;
	struct hv_vp_register_page *reg_page;
	struct hv_message *msg_page;

	bool dead;			/* latched after an unrecoverable exception */
	struct hv_message dead_msg;

	uint64_t xfem;			/* XCR0: stored only */
	uint64_t pending_interruption;	/* HV_REGISTER_PENDING_INTERRUPTION, see run_vp() */
	bool nmi_masked;		/* INTERRUPT_STATE.NMI_MASKED: stored only */
	uint64_t spec_ctrl, u_xss;	/* MSRs the engine lacks: stored only */

	uint64_t explicit_suspend;
	uint64_t intercept_suspend;
	uint64_t synthetic_regs[8];	/* hypercall page MSR etc.: stored only */
	uint8_t simp[SIM_PAGE_SIZE];
	uint8_t siefp[SIM_PAGE_SIZE];
	uint8_t stimers[sizeof(struct hv_synthetic_timers_state)];
	uint32_t event_flags[16][64];	/* SIGNAL_EVENT_DIRECT bits per SINT (2048 flags) */
};

/* Objects behind sim fds. */
enum sim_kind { SIM_DEV, SIM_PT, SIM_VP };

struct sim_file {
	atomic_int refs;	/* fds pointing here + in-flight calls */
	enum sim_kind kind;
	void *obj;
};

/* sim-core.c: register a sim fd (memfd >= 0: use that memfd as the fd).  fd or -errno. */
int sim_fd_new(enum sim_kind kind, void *obj, bool cloexec, int memfd);

/* partition.c */
int sim_dev_ioctl(unsigned long req, void *arg, int *ret_fd);
int sim_pt_ioctl(struct sim_partition *pt, unsigned long req, void *arg, int *ret_fd);
struct sim_partition *sim_pt_ref(struct sim_partition *pt);
void sim_pt_unref(struct sim_partition *pt);
/* Host pointer for [gpa, gpa+len) inside one region, or NULL.  Caller holds mem_lock. */
void *sim_gpa_to_host(struct sim_partition *pt, uint64_t gpa, size_t len, bool *ret_writable);
bool sim_gpa_mapped(struct sim_partition *pt, uint64_t gpa);
/* The engine's CPUID answer adjusted to the partition (APIC / x2APIC bits), plus the VP's
 * registered overrides when apply is set.  Takes state_lock.  Thread: holder of the VP lock. */
void sim_cpuid(struct sim_vp *vp, uint32_t leaf, uint32_t subleaf, bool apply, uint32_t out[4]);
/* Is an intercept of this type installed (any parameter when param is UINT64_MAX)?  Returns
 * its access mask, 0 when none.  Takes state_lock. */
uint32_t sim_intercepted(struct sim_partition *pt, uint32_t type, uint64_t param);
int sim_set_dirty_tracking(struct sim_partition *pt, bool on);
/* The VP with this index or NULL (VPs live as long as their partition). */
struct sim_vp *sim_vp_lookup(struct sim_partition *pt, uint32_t index);

/* vp.c */
int sim_vp_new(struct sim_partition *pt, uint32_t index, struct sim_vp **ret);
void sim_vp_unref(struct sim_vp *vp);
/* Destroy a VP when its partition goes away (NULL is fine). */
void sim_vp_free(struct sim_vp *vp);
int sim_vp_ioctl(struct sim_vp *vp, unsigned long req, void *arg);
int sim_vp_mmap_check(struct sim_vp *vp, size_t len, off_t off);

/* hvcall.c: MSHV_ROOT_HVCALL on a pt fd (vp == NULL) or vp fd. */
int sim_root_hvcall(struct sim_partition *pt, struct sim_vp *vp, struct mshv_root_hvcall *args);
/* MSHV_ROOT_HVCALL on /dev/mshv: self-targeted (6.19+ and later Microsoft kernels). */
int sim_dev_hvcall(struct mshv_root_hvcall *args);
/* Microsoft vp-fd ioctls MSHV_EXT_TRANSLATE_GVA / READ_GPA / WRITE_GPA; the VP lock is held. */
int sim_vp_ms_ioctl(struct sim_vp *vp, unsigned long req, void *arg);
/* The host partition's value of a property (GET_PARTITION_PROPERTY on self). */
uint16_t sim_host_property(uint32_t code, uint64_t *ret);

/* regs.c: register access by HV name; the VP lock is held. */
struct sim_regs_ctx {
	struct sim_vp *vp;
	struct emu_regs regs;
	struct emu_sregs sregs;
	struct emu_fpu fpu;
	bool have_regs, have_sregs, have_fpu;
	bool dirty_regs, dirty_sregs, dirty_fpu;
};
/* 0, or an HV status (HV_STATUS_INVALID_PARAMETER for unknown names). */
uint16_t sim_reg_get(struct sim_regs_ctx *c, uint32_t name, union hv_register_value *v);
uint16_t sim_reg_set(struct sim_regs_ctx *c, uint32_t name, const union hv_register_value *v);
/* Write back what was modified; returns 0 or a negative errno. */
int sim_regs_flush(struct sim_regs_ctx *c);
void sim_seg_to_hv(const struct emu_segment *e, struct hv_x64_segment_register *h);
void sim_seg_from_hv(const struct hv_x64_segment_register *h, struct emu_segment *e);

#endif
