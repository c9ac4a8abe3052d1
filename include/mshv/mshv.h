/* SPDX-License-Identifier: MIT */
/*
 * libmshv: a C wrapper of the Linux MSHV driver (/dev/mshv), the counterpart of rust-vmm's
 * mshv-ioctls crate.
 *
 * Objects: struct mshv (the open /dev/mshv), struct mshv_vm (a partition fd), struct mshv_vcpu
 * (a VP fd) and struct mshv_device (a device fd, Microsoft kernels only). All are opaque.
 *
 * Conventions (every function):
 *  - returns 0 or a negative errno; `ret` out-parameters are written only on success;
 *  - a failing hypercall keeps its raw HV_STATUS_* code: mshv_last_hv_status() returns it (per
 *    thread), mshv_strerror() names it. The errno is the kernel's (EINVAL/EIO/...), never
 *    invented from the status;
 *  - every fd libmshv opens is O_CLOEXEC; destructors (x_free) accept NULL and return NULL;
 *  - libmshv never logs, never installs signal handlers and never creates threads; it uses only
 *    open(), ioctl(), mmap(), munmap() and close() on the device and the fds the kernel returns.
 *
 * Lifetimes: an mshv may be freed while its VMs live. A VM must outlive its vCPUs and devices
 * (free them first); closing the last fd of a partition destroys it in the kernel.
 *
 * Threads: functions on a vCPU are called from one thread at a time (normally the vCPU's own
 * thread); MSHV_ROOT_HVCALL on a VP fd blocks while that VP is inside mshv_vcpu_run(). VM,
 * device and system functions may be called from any thread, concurrently. Each function says
 * "Thread: vcpu" or "Thread: any".
 *
 * Kernel differences (fact sheet §11): mainline kernels have only the ioctls of <linux/mshv.h>
 * plus an allow-list behind MSHV_ROOT_HVCALL (13 hypercalls in 6.15-6.18, 14 from 6.19);
 * 6.19 adds MSHV_ROOT_HVCALL on /dev/mshv and partition bit 3, 7.0 bits 4-5; Microsoft (Azure
 * Linux / dom0) kernels add the MSHV_EXT_* ioctls of <mshv/mshv-abi.h> and READ/WRITE_GPA.
 * mshv_probe() finds out once per mshv object which of these the kernel has; VMs created
 * afterwards start from that answer. For operations that exist both as a hypercall and as an
 * MSHV_EXT_* ioctl, libmshv otherwise tries the hypercall first and, if the kernel lacks it
 * (ENOTTY, or EINVAL without an HV status = not allow-listed), the ioctl (translate-GVA: the
 * ioctl first); the working path is remembered per VM. Operations the kernel has in neither
 * form return -EOPNOTSUPP.
 */
#ifndef MSHV_MSHV_H
#define MSHV_MSHV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mshv/mshv-abi.h>

#if defined(__cplusplus)
extern "C" {
#endif

struct mshv;
struct mshv_vm;
struct mshv_vcpu;
struct mshv_device;

/* ==============================================================================================
 * Helpers
 * ============================================================================================ */

/*
 * MSHV_BITS(b0, b1, ...): (1ULL << b0) | (1ULL << b1) | ..., 1 to 16 bit numbers; a constant
 * expression. Example: MSHV_BITS(MSHV_PT_BIT_LAPIC, MSHV_PT_BIT_X2APIC).
 */
#define MSHV__BIT(b)		(1ULL << (b))
#define MSHV__CAT(a, b)		a##b
#define MSHV__XCAT(a, b)	MSHV__CAT(a, b)
#define MSHV__NARG_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, n, ...) n
#define MSHV__NARG(...) \
	MSHV__NARG_(__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define MSHV__BITS_1(a)		MSHV__BIT(a)
#define MSHV__BITS_2(a, ...)	(MSHV__BIT(a) | MSHV__BITS_1(__VA_ARGS__))
#define MSHV__BITS_3(a, ...)	(MSHV__BIT(a) | MSHV__BITS_2(__VA_ARGS__))
#define MSHV__BITS_4(a, ...)	(MSHV__BIT(a) | MSHV__BITS_3(__VA_ARGS__))
#define MSHV__BITS_5(a, ...)	(MSHV__BIT(a) | MSHV__BITS_4(__VA_ARGS__))
#define MSHV__BITS_6(a, ...)	(MSHV__BIT(a) | MSHV__BITS_5(__VA_ARGS__))
#define MSHV__BITS_7(a, ...)	(MSHV__BIT(a) | MSHV__BITS_6(__VA_ARGS__))
#define MSHV__BITS_8(a, ...)	(MSHV__BIT(a) | MSHV__BITS_7(__VA_ARGS__))
#define MSHV__BITS_9(a, ...)	(MSHV__BIT(a) | MSHV__BITS_8(__VA_ARGS__))
#define MSHV__BITS_10(a, ...)	(MSHV__BIT(a) | MSHV__BITS_9(__VA_ARGS__))
#define MSHV__BITS_11(a, ...)	(MSHV__BIT(a) | MSHV__BITS_10(__VA_ARGS__))
#define MSHV__BITS_12(a, ...)	(MSHV__BIT(a) | MSHV__BITS_11(__VA_ARGS__))
#define MSHV__BITS_13(a, ...)	(MSHV__BIT(a) | MSHV__BITS_12(__VA_ARGS__))
#define MSHV__BITS_14(a, ...)	(MSHV__BIT(a) | MSHV__BITS_13(__VA_ARGS__))
#define MSHV__BITS_15(a, ...)	(MSHV__BIT(a) | MSHV__BITS_14(__VA_ARGS__))
#define MSHV__BITS_16(a, ...)	(MSHV__BIT(a) | MSHV__BITS_15(__VA_ARGS__))
#define MSHV_BITS(...)		(MSHV__XCAT(MSHV__BITS_, MSHV__NARG(__VA_ARGS__))(__VA_ARGS__))

/*
 * The raw HV_STATUS_* of the last hypercall libmshv issued on the calling thread, or
 * HV_STATUS_SUCCESS (0) if that hypercall succeeded or the last libmshv call that failed did so
 * before reaching the hypervisor (argument check, plain ioctl error). Every libmshv ioctl resets
 * it; read it right after the failing call. Thread: any (the value is thread-local).
 */
uint16_t mshv_last_hv_status(void);

/*
 * Name of an HV status code ("HV_STATUS_INVALID_PARAMETER"), or "HV_STATUS_UNKNOWN" for codes
 * the fact sheet does not list. Never NULL; the string is static. Thread: any.
 */
const char *mshv_strerror(uint16_t hv_status);

/* Name of an HVMSG_* message type ("HVMSG_X64_HALT"), or "HVMSG_UNKNOWN". Thread: any. */
const char *mshv_msg_type_name(uint32_t message_type);

/* ==============================================================================================
 * System: /dev/mshv
 * ============================================================================================ */

#define MSHV_DEVICE_PATH	"/dev/mshv"

/*
 * Open /dev/mshv (O_RDWR | O_CLOEXEC). *ret is a new object for mshv_free().
 * Returns -ENOENT if the driver is absent, -EACCES without root (the node is mode 0600).
 * Thread: any.
 */
int mshv_open(struct mshv **ret);

/* As mshv_open() for another device path (e.g. a test double). Thread: any. */
int mshv_open_path(const char *path, struct mshv **ret);

/* Close the device. VMs created from it stay valid. Accepts NULL; returns NULL. Thread: any. */
struct mshv *mshv_free(struct mshv *m);

/* The device fd (owned by m; do not close). Thread: any. */
int mshv_fd(const struct mshv *m);

/*
 * What mshv_probe() found. Bits are set for what the kernel accepts.
 */
enum mshv_cap {
	MSHV_CAP_ROOT_HVCALL_ON_DEVICE,		/* MSHV_ROOT_HVCALL on /dev/mshv (6.19+) */
	MSHV_CAP_EXT_GET_HOST_PARTITION_PROPERTY,
	MSHV_CAP_EXT_CREATE_DEVICE,
	MSHV_CAP_EXT_MODIFY_GPA_HOST_ACCESS,
	MSHV_CAP_EXT_IMPORT_ISOLATED_PAGES,
	MSHV_CAP_EXT_INSTALL_INTERCEPT,
	MSHV_CAP_EXT_ASSERT_INTERRUPT,
	MSHV_CAP_EXT_SET_PARTITION_PROPERTY,
	MSHV_CAP_EXT_GET_PARTITION_PROPERTY,
	MSHV_CAP_EXT_COMPLETE_ISOLATED_IMPORT,
	MSHV_CAP_EXT_ISSUE_PSP_GUEST_REQUEST,
	MSHV_CAP_EXT_SEV_SNP_AP_CREATE,
	MSHV_CAP_EXT_SIGNAL_EVENT_DIRECT,
	MSHV_CAP_EXT_POST_MESSAGE_DIRECT,
	MSHV_CAP_EXT_REGISTER_DELIVERABILITY_NOTIFICATIONS,
	MSHV_CAP_TRANSLATE_GVA_IOCTL,		/* vp fd MSHV_TRANSLATE_GVA (0xC020B8F2) */
	MSHV_CAP_COUNT
};

/*
 * The driver generation mshv_probe() infers from what the kernel accepts (fact sheet §11):
 * a kernel is placed in the newest generation whose additions it has.
 */
enum mshv_generation {
	MSHV_GEN_UNKNOWN = 0,
	MSHV_GEN_6_15,		/* mainline 6.15-6.18: first merge, 13 hypercalls, pt bits 0-2 */
	MSHV_GEN_6_19,		/* + pt bit 3 / v2 struct, /dev/mshv ROOT_HVCALL, 0x0101 */
	MSHV_GEN_7_0,		/* + pt bits 4-5 (nested virtualization, SMT guest) */
	MSHV_GEN_MICROSOFT,	/* Microsoft (Azure Linux) kernel: MSHV_EXT_* ioctls, READ/WRITE_GPA */
};

/* Feature bits of struct mshv_caps.features (1 << MSHV_FEATURE_*). */
enum mshv_feature {
	MSHV_FEATURE_CPU_XSAVE_FEATURES,	/* pt bit 3 + 64-byte v2 create struct (6.19+) */
	MSHV_FEATURE_NESTED_VIRTUALIZATION,	/* pt bit 4 (7.0+) */
	MSHV_FEATURE_SMT_GUEST,			/* pt bit 5 (7.0+) */
	MSHV_FEATURE_HOST_PROPERTIES,		/* host partition properties readable (6.19+, MS) */
	MSHV_FEATURE_PROPERTY_EX,		/* GET_PARTITION_PROPERTY_EX 0x0101 (6.19+) */
	MSHV_FEATURE_VMM_CAPS,			/* VMM_CAPABILITIES through /dev/mshv */
	MSHV_FEATURE_DEPOSIT_IN_KERNEL,		/* no EAGAIN from deposits (inferred: 6.19+) */
	MSHV_FEATURE_MOVABLE_MEMORY,		/* guest memory not pinned (inferred: mainline 6.19+) */
	MSHV_FEATURE_TRANSLATE_GVA_IOCTL,	/* fault-in aware translation ioctl */
	MSHV_FEATURE_GPA_READ_WRITE,		/* HVCALL_READ/WRITE_GPA or their ioctls */
	MSHV_FEATURE_SCRUB_PARTITION,		/* 0x008D allowed (7.0-rc1..rc4 only) */
	MSHV_FEATURE_COUNT
};

struct mshv_caps {
	uint64_t pt_flags;	/* 1 << MSHV_PT_BIT_* accepted by MSHV_CREATE_PARTITION */
	uint64_t ioctls;	/* 1 << MSHV_CAP_* */
	uint64_t hvcalls[8];	/* bit c: hypercall code c (< 512) accepted by MSHV_ROOT_HVCALL */
	bool root_hvcall;	/* MSHV_ROOT_HVCALL exists on partition fds at all */
	enum mshv_generation generation;
	uint64_t features;	/* 1 << MSHV_FEATURE_* */
	uint64_t vmm_caps;	/* bank 0 of VMM_CAPABILITIES (HV_VMM_CAP_*), 0 if unknown */
};

/*
 * Find out which ioctls, hypercalls and partition flags this kernel accepts. Probes once per
 * mshv object; later calls (and every libmshv function that adapts to the kernel) return the
 * cached result. Side-effect free for the guest world, but the first call creates (and
 * destroys) short-lived scratch partitions:
 *  - pt_flags: one MSHV_CREATE_PARTITION per MSHV_PT_BIT_* (bit 3 with the v2 struct, all
 *    features enabled); the bit is set when the call succeeds;
 *  - ioctls: each MSHV_EXT_* ioctl is issued with a NULL argument on the device, on an
 *    uninitialized scratch partition or on a scratch VP: -ENOTTY means absent, anything else
 *    (EFAULT) present;
 *  - hvcalls: MSHV_ROOT_HVCALL on the scratch partition with in_sz 8 and in_ptr pointing to an
 *    inaccessible (PROT_NONE) page: the kernel checks its allow-list first (-EINVAL when the
 *    code is not allowed) and then fails to copy the input (-EFAULT when it is). Codes probed:
 *    the 13 mainline ones plus READ/WRITE_GPA, import/complete isolated, PSP request,
 *    GET_PARTITION_PROPERTY_EX and SCRUB_PARTITION. MSHV_CAP_ROOT_HVCALL_ON_DEVICE uses the same
 *    trick on /dev/mshv;
 *  - generation, features and vmm_caps are derived from the above (and mshv_get_vmm_caps()).
 * Returns 0, or the error of the baseline MSHV_CREATE_PARTITION (flags 0). Thread: any.
 */
int mshv_probe(struct mshv *m, struct mshv_caps *ret);

/* "6.15", "6.19", "7.0", "microsoft" or "unknown". Thread: any. */
const char *mshv_generation_name(enum mshv_generation gen);
/* "nested-virtualization", ... (NULL for an unknown bit). Thread: any. */
const char *mshv_feature_name(enum mshv_feature feature);
bool mshv_caps_has_feature(const struct mshv_caps *caps, enum mshv_feature feature);

/*
 * VMM capabilities of the hypervisor (HVCALL_GET_PARTITION_PROPERTY_EX on /dev/mshv,
 * VMM_CAPABILITIES; *ret = bank 0, HV_VMM_CAP_* bits). A hypervisor that refuses the property
 * (ACCESS_DENIED) gives 0, like rust-vmm. -EOPNOTSUPP on kernels without /dev/mshv hypercalls
 * or 0x0101 (before 6.19, older Microsoft kernels). Thread: any.
 */
int mshv_get_vmm_caps(struct mshv *m, uint64_t *ret);

/* Query a struct mshv_caps. Thread: any. */
bool mshv_caps_has(const struct mshv_caps *caps, enum mshv_cap cap);
bool mshv_caps_has_hvcall(const struct mshv_caps *caps, uint16_t code);

/*
 * Read a property of the host (root) partition: HVCALL_GET_PARTITION_PROPERTY through
 * MSHV_ROOT_HVCALL on /dev/mshv (6.19+), else MSHV_EXT_GET_HOST_PARTITION_PROPERTY (Microsoft
 * kernels); -EOPNOTSUPP when the kernel has neither (6.15-6.18). Chooses by mshv_probe()'s
 * cached result. Thread: any.
 */
int mshv_get_host_partition_property(struct mshv *m, uint32_t property_code, uint64_t *ret);

/*
 * The MSR indices mshv_vcpu_get_msrs()/set_msrs() can translate to hypervisor register names
 * (static table, *ret_list stays valid forever). m may be NULL. Thread: any.
 */
int mshv_get_msr_index_list(struct mshv *m, const uint32_t **ret_list, size_t *ret_count);

/* ==============================================================================================
 * VM (partition)
 * ============================================================================================ */

enum mshv_vm_type {
	MSHV_VM_TYPE_NORMAL = 0,	/* MSHV_PT_ISOLATION_NONE */
	MSHV_VM_TYPE_SNP = 1,		/* MSHV_PT_ISOLATION_SNP, Microsoft kernels only */
};

/* The default partition flags: LAPIC, X2APIC and 2 MiB GPA mappings (as QEMU). */
#define MSHV_VM_DEFAULT_PT_FLAGS \
	MSHV_BITS(MSHV_PT_BIT_LAPIC, MSHV_PT_BIT_X2APIC, MSHV_PT_BIT_GPA_SUPER_PAGES)

/* The default synthetic processor features (QEMU's set; fact sheet §6.5). */
#define MSHV_VM_DEFAULT_SYNTHETIC_PROC_FEATURES	0x0000000006400FFBULL

/* mshv_vm_args.flags */
#define MSHV_VM_ARGS_SET_SYNTHETIC_PROC_FEATURES	(1u << 0)	/* early property */
#define MSHV_VM_ARGS_INITIALIZE				(1u << 1)	/* mshv_vm_initialize() */

struct mshv_vm_args {
	uint64_t pt_flags;		/* 1 << MSHV_PT_BIT_* */
	uint64_t pt_isolation;		/* MSHV_PT_ISOLATION_* */
	/*
	 * Only with MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES in pt_flags (64-byte v2 struct): processor
	 * feature banks and xsave features to *disable* (1 = disabled). Zero = all enabled.
	 */
	uint64_t disabled_cpu_features[MSHV_NUM_CPU_FEATURES_BANKS];
	uint64_t disabled_xsave_features;
	uint64_t synthetic_proc_features;	/* with MSHV_VM_ARGS_SET_SYNTHETIC_PROC_FEATURES */
	uint32_t flags;				/* MSHV_VM_ARGS_* */
};

/*
 * Fill *args with the defaults mshv_create_vm_with_type() uses: MSHV_VM_DEFAULT_PT_FLAGS,
 * isolation from the type, SYNTHETIC_PROC_FEATURES = MSHV_VM_DEFAULT_SYNTHETIC_PROC_FEATURES,
 * flags SET_SYNTHETIC_PROC_FEATURES | INITIALIZE. Thread: any.
 */
void mshv_vm_args_init(struct mshv_vm_args *args, enum mshv_vm_type type);

/*
 * Create a partition as described by args, in this order:
 *   0. pt_flags bits 3-5 (CPU/XSAVE feature banks, nested virtualization, SMT guest) are
 *      checked against mshv_probe() (probing if not done yet): a kernel without them gives
 *      -EOPNOTSUPP and nothing is created (bits above 5: -EINVAL);
 *   1. MSHV_CREATE_PARTITION (16-byte struct, or the v2 struct if pt_flags has bit 3);
 *   2. if MSHV_VM_ARGS_SET_SYNTHETIC_PROC_FEATURES: set the early property
 *      HV_PARTITION_PROPERTY_SYNTHETIC_PROC_FEATURES;
 *   3. if MSHV_VM_ARGS_INITIALIZE: MSHV_INITIALIZE_PARTITION.
 * Without INITIALIZE, the caller sets further early properties and then calls
 * mshv_vm_initialize() before mapping memory or creating vCPUs. On failure the partial
 * partition is destroyed. *ret is new, for mshv_vm_free(). Thread: any.
 */
int mshv_create_vm_with_args(struct mshv *m, const struct mshv_vm_args *args,
			     struct mshv_vm **ret);

/* mshv_create_vm_with_args() with mshv_vm_args_init(type). Thread: any. */
int mshv_create_vm_with_type(struct mshv *m, enum mshv_vm_type type, struct mshv_vm **ret);

/*
 * The sensible default: a normal (non-isolated) partition with LAPIC, X2APIC and super pages,
 * QEMU's synthetic processor features, initialized and ready for memory and vCPUs.
 * Thread: any.
 */
int mshv_create_vm(struct mshv *m, struct mshv_vm **ret);

/* MSHV_INITIALIZE_PARTITION; idempotent. Thread: any. */
int mshv_vm_initialize(struct mshv_vm *vm);

/* Close the partition fd. Free its vCPUs and devices first. Accepts NULL; returns NULL. */
struct mshv_vm *mshv_vm_free(struct mshv_vm *vm);

/* The partition fd (owned by vm). Thread: any. */
int mshv_vm_fd(const struct mshv_vm *vm);

/*
 * Map host memory into the guest: MSHV_SET_GUEST_MEMORY with the UNMAP bit cleared. region
 * is passed as is otherwise (flags: 1 << MSHV_SET_MEM_BIT_WRITABLE / _EXECUTABLE; memory is
 * always readable). size and userspace_addr must be page aligned (-EINVAL); a GPA overlap with
 * a mapped region gives -EEXIST. Keep the host mapping alive until unmapped. Thread: any.
 */
int mshv_vm_map_user_memory(struct mshv_vm *vm, const struct mshv_user_mem_region *region);

/* Unmap: same region (guest_pfn, userspace_addr, size must match exactly, else -EINVAL). */
int mshv_vm_unmap_user_memory(struct mshv_vm *vm, const struct mshv_user_mem_region *region);

/*
 * Create VP `index` (< MSHV_MAX_VPS; -EINVAL above, -EEXIST if it exists) and map its register
 * page when the kernel offers one (see mshv_vcpu_reg_page()). *ret is new, for
 * mshv_vcpu_free(); it keeps a pointer to vm. Thread: any.
 */
int mshv_vm_create_vcpu(struct mshv_vm *vm, uint32_t index, struct mshv_vcpu **ret);

/*
 * irqfd: signalling eventfd `fd` injects the MSI routed at `gsi` (see
 * mshv_vm_set_msi_routing()). An eventfd is bound once per VM (-EBUSY). The caller keeps
 * ownership of the fds. Thread: any.
 */
int mshv_vm_register_irqfd(struct mshv_vm *vm, int fd, uint32_t gsi);
/* As above with a resample eventfd (level-triggered routes only, else -EINVAL). */
int mshv_vm_register_irqfd_with_resample(struct mshv_vm *vm, int fd, int resamplefd,
					 uint32_t gsi);
int mshv_vm_unregister_irqfd(struct mshv_vm *vm, int fd, uint32_t gsi);

enum mshv_ioevent_space {
	MSHV_IOEVENT_MMIO = 0,
	MSHV_IOEVENT_PIO = 1,	/* mainline: -EOPNOTSUPP (passed to the kernel as is) */
};

struct mshv_ioevent_addr {
	enum mshv_ioevent_space space;
	uint64_t addr;		/* guest physical address (MMIO) or port (PIO) */
};

/* Datamatch of an ioeventfd: len 0 = wildcard (any access size, any value). */
struct mshv_datamatch {
	uint32_t len;		/* 0, 1, 2, 4 or 8 */
	uint64_t value;
};

#define MSHV_NO_DATAMATCH	((struct mshv_datamatch){ 0, 0 })
#define MSHV_DATAMATCH_U8(v)	((struct mshv_datamatch){ 1, (uint8_t)(v) })
#define MSHV_DATAMATCH_U16(v)	((struct mshv_datamatch){ 2, (uint16_t)(v) })
#define MSHV_DATAMATCH_U32(v)	((struct mshv_datamatch){ 4, (uint32_t)(v) })
#define MSHV_DATAMATCH_U64(v)	((struct mshv_datamatch){ 8, (uint64_t)(v) })

/*
 * ioeventfd: a guest write to addr (matching dm) signals eventfd fd without a VP exit.
 * -EEXIST if the same addr/len/datamatch is registered; unregister must match exactly
 * (-ENOENT). dm.len other than 0/1/2/4/8 gives -EINVAL. Thread: any.
 */
int mshv_vm_register_ioevent(struct mshv_vm *vm, int fd, const struct mshv_ioevent_addr *addr,
			     struct mshv_datamatch dm);
int mshv_vm_unregister_ioevent(struct mshv_vm *vm, int fd, const struct mshv_ioevent_addr *addr,
			       struct mshv_datamatch dm);

/*
 * Replace the whole MSI routing table with n entries (n = 0 clears it; n <= MSHV_MAX_GUEST_IRQS,
 * gsi unique and < 4096, address_hi 0). Thread: any.
 */
int mshv_vm_set_msi_routing(struct mshv_vm *vm, const struct mshv_user_irq_entry *entries,
			    size_t n);

struct mshv_interrupt_request {
	uint32_t interrupt_type;	/* HV_X64_INTERRUPT_TYPE_* */
	uint64_t apic_id;		/* destination (physical APIC id or logical mask) */
	uint32_t vector;
	bool level_triggered;
	bool logical_destination_mode;
	bool long_mode;		/* sets control bit 62 as rust-vmm does; meaning UNCONFIRMED */
};

/*
 * Inject an interrupt: HVCALL_ASSERT_VIRTUAL_INTERRUPT on the partition fd (Microsoft kernels
 * without it: MSHV_EXT_ASSERT_INTERRUPT). Thread: any.
 */
int mshv_vm_request_virtual_interrupt(struct mshv_vm *vm, const struct mshv_interrupt_request *req);

/* HVCALL_INSTALL_INTERCEPT (or MSHV_EXT_INSTALL_INTERCEPT). Thread: any. */
int mshv_vm_install_intercept(struct mshv_vm *vm, uint32_t access_type_mask,
			      uint32_t intercept_type, uint64_t parameter);

/* HVCALL_GET/SET_PARTITION_PROPERTY on the partition fd (or the MSHV_EXT_ ioctls). */
int mshv_vm_get_partition_property(struct mshv_vm *vm, uint32_t property_code, uint64_t *ret);
int mshv_vm_set_partition_property(struct mshv_vm *vm, uint32_t property_code, uint64_t value);

/*
 * HVCALL_SIGNAL_EVENT_DIRECT: set event flag `flag` of SINT `sint` of VP `vp`.
 * *ret_newly_signaled (may be NULL) tells whether the flag was clear before. Thread: any.
 */
int mshv_vm_signal_event_direct(struct mshv_vm *vm, uint32_t vp, uint8_t vtl, uint8_t sint,
				uint16_t flag, bool *ret_newly_signaled);

/*
 * HVCALL_POST_MESSAGE_DIRECT: post a synthetic message (len <= HV_MESSAGE_SIZE bytes, a
 * struct hv_message) to SINT `sint` of VP `vp`. Thread: any.
 */
int mshv_vm_post_message_direct(struct mshv_vm *vm, uint32_t vp, uint8_t vtl, uint8_t sint,
				const void *msg, size_t len);

/*
 * Write HV_X64_REGISTER_DELIVERABILITY_NOTIFICATIONS of VP `vp` (HVCALL_SET_VP_REGISTERS on
 * the partition fd; MSHV_EXT_REGISTER_DELIVERABILITY_NOTIFICATIONS on kernels without it).
 * Thread: any.
 */
int mshv_vm_register_deliverability_notifications(struct mshv_vm *vm, uint32_t vp,
						  uint64_t flags);

/* Set HV_PARTITION_PROPERTY_GPA_PAGE_ACCESS_TRACKING to 1 / 0. Thread: any. */
int mshv_vm_enable_dirty_page_tracking(struct mshv_vm *vm);
/*
 * rust-vmm and Cloud Hypervisor mark every page dirty (MSHV_GPAP_ACCESS_OP_SET) before
 * disabling; callers that need that call mshv_vm_set_dirty_bits() on each region first.
 */
int mshv_vm_disable_dirty_page_tracking(struct mshv_vm *vm);

/*
 * MSHV_GET_GPAP_ACCESS_BITMAP: read the ACCESSED or DIRTY bits of page_count pages from
 * base_pfn into bitmap (ceil(page_count / 8) bytes, no alignment; bit i = page base_pfn + i,
 * the unused bits of the last byte are 0) and then apply access_op to those pages. The
 * kernel couples the two bits: clearing ACCESSED also clears DIRTY, setting DIRTY also sets
 * ACCESSED. MSHV_GPAP_ACCESS_OP_NOOP is not a safe "peek": the mainline sources read handle
 * it as SET (fact sheet §3.9). The dirty-log helpers below batch this call. Thread: any.
 */
int mshv_vm_get_gpap_access_bitmap(struct mshv_vm *vm, uint8_t access_type, uint8_t access_op,
				   uint64_t base_pfn, uint64_t page_count, uint8_t *bitmap);

/*
 * Dirty log of page_count pages from base_pfn: DIRTY bits, cleared after reading, in batches
 * of 0x10000 pages (each batch starts on a byte of bitmap). Requires dirty page tracking.
 * Thread: any.
 */
int mshv_vm_get_dirty_log(struct mshv_vm *vm, uint64_t base_pfn, uint64_t page_count,
			  uint8_t *bitmap);

/*
 * Mark page_count pages from base_pfn dirty (DIRTY bits with MSHV_GPAP_ACCESS_OP_SET, which
 * sets ACCESSED too), in the same batches; the bits read on the way are discarded. What
 * rust-vmm and Cloud Hypervisor do to every region before disabling dirty page tracking (a
 * requirement of the hypervisor, as they state it). Requires dirty page tracking.
 * Thread: any.
 */
int mshv_vm_set_dirty_bits(struct mshv_vm *vm, uint64_t base_pfn, uint64_t page_count);

/*
 * SEV-SNP / isolation operations, Microsoft kernels only (-EOPNOTSUPP elsewhere).
 * flags: 1 << MSHV_EXT_GPA_HOST_ACCESS_BIT_*; page_type: MSHV_EXT_ISOLATED_PAGE_*.
 * Thread: any.
 */
int mshv_vm_modify_gpa_host_access(struct mshv_vm *vm, uint8_t flags, const uint64_t *guest_pfns,
				   size_t n);
int mshv_vm_import_isolated_pages(struct mshv_vm *vm, uint8_t page_type,
				  const uint64_t *guest_pfns, size_t n);
int mshv_vm_complete_isolated_import(struct mshv_vm *vm,
				     const struct mshv_ext_complete_isolated_import *data);
int mshv_vm_psp_issue_guest_request(struct mshv_vm *vm, uint64_t req_ppa, uint64_t rsp_ppa);
int mshv_vm_sev_snp_ap_create(struct mshv_vm *vm, uint64_t vp_id, uint64_t vmsa_gpa);

/*
 * Create a device (MSHV_EXT_CREATE_DEVICE, Microsoft kernels; -EOPNOTSUPP elsewhere).
 * With flags MSHV_EXT_CREATE_DEVICE_TEST only checks support: returns 0 and leaves *ret
 * untouched (ret may then be NULL). Otherwise *ret is new, for mshv_device_free().
 * Thread: any.
 */
int mshv_vm_create_device(struct mshv_vm *vm, uint32_t type, uint32_t flags,
			  struct mshv_device **ret);

/*
 * Raw MSHV_ROOT_HVCALL on the partition fd. The caller fills args (status 0); libmshv retries
 * a bounded number of times while the kernel answers -EAGAIN (it deposited memory after
 * HV_STATUS_INSUFFICIENT_MEMORY). args->status and args->reps are written back even on
 * failure. No check of reps completed. Thread: any.
 */
int mshv_vm_hvcall(struct mshv_vm *vm, struct mshv_root_hvcall *args);

/*
 * HVCALL_GET_PARTITION_PROPERTY_EX (0x0101) on the partition fd: property `code` with `arg`
 * (0 for partition-scoped properties); the output (up to HV_GET_PARTITION_PROPERTY_EX_MAX_OUTPUT
 * bytes) is copied to buf (size bytes). -EOPNOTSUPP on kernels without it (before 6.19, older
 * Microsoft kernels). Thread: any.
 */
int mshv_vm_get_partition_property_ex(struct mshv_vm *vm, uint32_t code, uint64_t arg,
				      void *buf, size_t size);

/* ==============================================================================================
 * Device (Microsoft kernels)
 * ============================================================================================ */

/* Close the device fd. Accepts NULL; returns NULL. Thread: any. */
struct mshv_device *mshv_device_free(struct mshv_device *dev);
int mshv_device_fd(const struct mshv_device *dev);
/* MSHV_EXT_SET/GET/HAS_DEVICE_ATTR. Thread: any. */
int mshv_device_set_attr(struct mshv_device *dev, const struct mshv_ext_device_attr *attr);
int mshv_device_get_attr(struct mshv_device *dev, const struct mshv_ext_device_attr *attr);
int mshv_device_has_attr(struct mshv_device *dev, const struct mshv_ext_device_attr *attr);

/* ==============================================================================================
 * vCPU (VP)
 * ============================================================================================ */

/* Unmap the register page and close the VP fd. Accepts NULL; returns NULL. Thread: vcpu. */
struct mshv_vcpu *mshv_vcpu_free(struct mshv_vcpu *vcpu);

/* The VP fd (owned by vcpu) and the VP index. Thread: any. */
int mshv_vcpu_fd(const struct mshv_vcpu *vcpu);
uint32_t mshv_vcpu_index(const struct mshv_vcpu *vcpu);

/*
 * Run the VP until the hypervisor reports an intercept; *ret receives the 256-byte message.
 * MSHV does not advance RIP past the intercepted instruction: the caller does. Returns -EINTR
 * when a signal interrupted the run (the VP is suspended; call again to resume) and -EAGAIN
 * when the kernel asks to re-enter. Thread: vcpu.
 */
int mshv_vcpu_run(struct mshv_vcpu *vcpu, struct hv_message *ret);

/*
 * The mmap'd register page (struct hv_vp_register_page, MSHV_VP_MMAP_OFFSET_REGISTERS), or
 * NULL when the kernel has none (encrypted partitions, kernels that refuse the mmap). Owned by
 * vcpu. When isvalid != 0 (after an intercept) it holds the current GPRs/RIP/RFLAGS; writes
 * take effect at the next run if the class bit is set in dirty. libmshv uses only offsets
 * < 152 (fields up to rflags); the rest of the layout is UNCONFIRMED. Thread: vcpu.
 */
struct hv_vp_register_page *mshv_vcpu_reg_page(struct mshv_vcpu *vcpu);

/*
 * Raw MSHV_ROOT_HVCALL on the VP fd (same contract as mshv_vm_hvcall(); the caller fills
 * vp_index in the input). Blocks while the VP runs. Thread: vcpu.
 */
int mshv_vcpu_hvcall(struct mshv_vcpu *vcpu, struct mshv_root_hvcall *args);

/*
 * Read the registers named regs[i].name into regs[i].value, n >= 0 (n = 0 is a no-op).
 * HVCALL_GET_VP_REGISTERS on the VP fd, split into calls of <= HV_GET_VP_REGISTERS_MAX_REPS;
 * on kernels without MSHV_ROOT_HVCALL, MSHV_EXT_GET_VP_REGISTERS (<= 128 per call). A call
 * completing fewer reps than asked fails with -EIO. Register-page values override the
 * hypercall's for GPRs/RIP/RFLAGS while their dirty bit is pending. Thread: vcpu.
 */
int mshv_vcpu_get_reg(struct mshv_vcpu *vcpu, struct hv_register_assoc *regs, size_t n);

/*
 * Write n registers (HVCALL_SET_VP_REGISTERS, <= HV_SET_VP_REGISTERS_MAX_REPS per call; or
 * MSHV_EXT_SET_VP_REGISTERS). Partial completion fails with -EIO; registers of earlier calls
 * stay written. reserved1/reserved2 are sent as given (should be 0). Thread: vcpu.
 */
int mshv_vcpu_set_reg(struct mshv_vcpu *vcpu, const struct hv_register_assoc *regs, size_t n);

struct mshv_reg64 {
	uint32_t name;		/* HV_X64_REGISTER_* */
	uint64_t value;
};

/* Write n 64-bit registers (the set_registers_64! of the crate). Thread: vcpu. */
int mshv_vcpu_set_registers64(struct mshv_vcpu *vcpu, const struct mshv_reg64 *regs, size_t n);

/* General purpose registers (KVM order). */
struct mshv_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
};

/*
 * Segment as a plain struct (KVM style). MSHV has no "unusable" bit: on read unusable = !present;
 * on write unusable forces present = 0.
 */
struct mshv_segment {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type, present, dpl, db, s, l, g, avl, unusable;
};

struct mshv_dtable {
	uint64_t base;
	uint16_t limit;
};

struct mshv_sregs {
	struct mshv_segment cs, ds, es, fs, gs, ss, tr, ldt;
	struct mshv_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8, efer, apic_base;
};

struct mshv_fpu {
	uint8_t fpr[8][16];	/* ST0-7 / MM0-7, 80-bit values in 16-byte slots */
	uint16_t fcw, fsw;
	uint8_t ftwx;		/* abridged tag word */
	uint16_t last_opcode;
	uint64_t last_ip, last_dp;
	uint8_t xmm[16][16];
	uint32_t mxcsr, mxcsr_mask;
};

struct mshv_msr_entry {
	uint32_t index;		/* MSR number, see mshv_get_msr_index_list() */
	uint32_t reserved;
	uint64_t data;
};

struct mshv_xcrs {
	uint64_t xcr0;		/* HV_X64_REGISTER_XFEM */
};

struct mshv_debug_regs {
	uint64_t dr0, dr1, dr2, dr3, dr6, dr7;
};

struct mshv_misc_regs {
	uint64_t hypercall;	/* HV_X64_REGISTER_HYPERCALL (MSR 0x40000001) */
};

struct mshv_vcpu_events {
	uint64_t pending_interruption;	/* union hv_x64_pending_interruption_register */
	uint64_t interrupt_state;	/* union hv_x64_interrupt_state_register */
	uint64_t internal_activity_state; /* union hv_internal_activity_register */
	uint8_t pending_event0[16];
	uint8_t pending_event1[16];
};

/*
 * Register groups. get_regs/set_regs use the register page when it is valid, else one
 * hypercall; the others always use hypercalls (plain CR0/CR3/CR4, not INTERMEDIATE_CRx).
 * Thread: vcpu.
 */
int mshv_vcpu_get_regs(struct mshv_vcpu *vcpu, struct mshv_regs *ret);
int mshv_vcpu_set_regs(struct mshv_vcpu *vcpu, const struct mshv_regs *regs);
int mshv_vcpu_get_sregs(struct mshv_vcpu *vcpu, struct mshv_sregs *ret);
int mshv_vcpu_set_sregs(struct mshv_vcpu *vcpu, const struct mshv_sregs *sregs);
int mshv_vcpu_get_fpu(struct mshv_vcpu *vcpu, struct mshv_fpu *ret);
int mshv_vcpu_set_fpu(struct mshv_vcpu *vcpu, const struct mshv_fpu *fpu);
/* MSRs by index; an index without a hypervisor register gives -EINVAL (nothing transferred). */
int mshv_vcpu_get_msrs(struct mshv_vcpu *vcpu, struct mshv_msr_entry *msrs, size_t n);
int mshv_vcpu_set_msrs(struct mshv_vcpu *vcpu, const struct mshv_msr_entry *msrs, size_t n);
int mshv_vcpu_get_xcrs(struct mshv_vcpu *vcpu, struct mshv_xcrs *ret);
int mshv_vcpu_set_xcrs(struct mshv_vcpu *vcpu, const struct mshv_xcrs *xcrs);
int mshv_vcpu_get_debug_regs(struct mshv_vcpu *vcpu, struct mshv_debug_regs *ret);
int mshv_vcpu_set_debug_regs(struct mshv_vcpu *vcpu, const struct mshv_debug_regs *dregs);
int mshv_vcpu_get_misc_regs(struct mshv_vcpu *vcpu, struct mshv_misc_regs *ret);
int mshv_vcpu_set_misc_regs(struct mshv_vcpu *vcpu, const struct mshv_misc_regs *misc);
int mshv_vcpu_get_vcpu_events(struct mshv_vcpu *vcpu, struct mshv_vcpu_events *ret);
int mshv_vcpu_set_vcpu_events(struct mshv_vcpu *vcpu, const struct mshv_vcpu_events *events);

/*
 * Size in bytes of VP state `type` (MSHV_VP_STATE_*): 4096 for LAPIC/SIMP/SIEFP, 200 for the
 * synthetic timers, the partition's MAX_XSAVE_DATA_SIZE property for XSAVE. Thread: vcpu.
 */
int mshv_vcpu_vp_state_size(struct mshv_vcpu *vcpu, uint8_t type, size_t *ret);

/*
 * MSHV_GET/SET_VP_STATE. buf needs no alignment (libmshv uses a page-aligned bounce buffer).
 * get: size is the capacity of buf; *ret_size (may be NULL) the bytes the kernel returned;
 * -ENOSPC if buf is too small. set: size bytes from buf. Thread: vcpu.
 */
int mshv_vcpu_get_vp_state(struct mshv_vcpu *vcpu, uint8_t type, void *buf, size_t size,
			   size_t *ret_size);
int mshv_vcpu_set_vp_state(struct mshv_vcpu *vcpu, uint8_t type, const void *buf, size_t size);

/*
 * The LAPIC state: the first 176 bytes of the MSHV_VP_STATE_LAPIC page. set_lapic reads the
 * page, replaces those bytes and writes it back. Thread: vcpu.
 */
int mshv_vcpu_get_lapic(struct mshv_vcpu *vcpu, struct hv_local_interrupt_controller_state *ret);
int mshv_vcpu_set_lapic(struct mshv_vcpu *vcpu,
			const struct hv_local_interrupt_controller_state *lapic);

/* The compacted XSAVE area (MSHV_VP_STATE_XSAVE); as get/set_vp_state. Thread: vcpu. */
int mshv_vcpu_get_xsave(struct mshv_vcpu *vcpu, void *buf, size_t size, size_t *ret_size);
int mshv_vcpu_set_xsave(struct mshv_vcpu *vcpu, const void *buf, size_t size);

/*
 * Whole-VP state (rust-vmm v0.7.0's register list and get_all_vp_state_components, for x86_64):
 * everything a VMM saves to restore a vCPU on another VP, in two parts. Every driver
 * generation has both (registers: HVCALL_GET/SET_VP_REGISTERS, or MSHV_EXT_GET/SET_VP_REGISTERS
 * on kernels without MSHV_ROOT_HVCALL; components: MSHV_GET/SET_VP_STATE).
 *
 * Save:    mshv_vcpu_get_vp_state_components(), then mshv_vcpu_get_all_regs();
 * restore: mshv_vcpu_set_vp_state_components(), then mshv_vcpu_set_all_regs() (the registers
 *          are written last: they win where both hold a value, e.g. XMM in XSAVE).
 * Memory, interrupt routing and partition properties are not VP state. The LAPIC component
 * carries the APIC ID of the source VP.
 */

/* Upper bound of the register list's length (for a stack buffer of hv_register_assoc). */
#define MSHV_VP_REG_LIST_MAX	128

/*
 * The architectural register names of an x64 VP in restore order: CR0/2/3/4/8, EFER,
 * APIC_BASE; the 8 segments, GDTR, IDTR; the MSRs libmshv knows (TSC, TSC_AUX, KERNEL_GS_BASE,
 * PAT, SYSENTER_*, STAR/LSTAR/CSTAR/SFMASK, SPEC_CTRL, U_XSS, HYPERCALL, MTRR_DEF_TYPE and the
 * MTRR pairs 0-7); DR0-3/6/7; FP_MMX0-7, FP/XMM control-status, XMM0-15, XFEM (XCR0); the
 * GPRs, RIP, RFLAGS; INTERRUPT_STATE, PENDING_INTERRUPTION, PENDING_EVENT0/1,
 * INTERNAL_ACTIVITY_STATE. Read-only registers (MTRR_CAP, VP_INDEX, VP_RUNTIME, suspend
 * registers) are not in it. A static table, valid forever; at most MSHV_VP_REG_LIST_MAX
 * names; vcpu may be NULL. Thread: any.
 */
int mshv_vcpu_get_reg_list(struct mshv_vcpu *vcpu, const uint32_t **ret_names, size_t *ret_count);

/*
 * Read every register of mshv_vcpu_get_reg_list() into regs[0..*ret_count) (name and value),
 * in batches of <= HV_GET_VP_REGISTERS_MAX_REPS. cap is the length of regs: -ENOSPC if it is
 * below the list's length (MSHV_VP_REG_LIST_MAX is always enough). Thread: vcpu.
 */
int mshv_vcpu_get_all_regs(struct mshv_vcpu *vcpu, struct hv_register_assoc *regs, size_t cap,
			   size_t *ret_count);

/*
 * Write n registers in the order given (normally what mshv_vcpu_get_all_regs() returned), in
 * batches of <= HV_SET_VP_REGISTERS_MAX_REPS; as mshv_vcpu_set_reg() (a failed batch gives
 * the error, earlier batches stay written). Thread: vcpu.
 */
int mshv_vcpu_set_all_regs(struct mshv_vcpu *vcpu, const struct hv_register_assoc *regs,
			   size_t n);

/*
 * Every VP state component, indexed by MSHV_VP_STATE_*: data[t] holds size[t] bytes as the
 * kernel returned them (LAPIC, SIMP, SIEFP: 4096; XSAVE: up to the partition's
 * MAX_XSAVE_DATA_SIZE; SYNTHETIC_TIMERS: 200). Owned by the struct (malloc'd buffers).
 */
struct mshv_vp_state_components {
	void *data[MSHV_VP_STATE_COUNT];
	size_t size[MSHV_VP_STATE_COUNT];
};

/*
 * MSHV_GET_VP_STATE for each component type, each with a buffer of the size
 * mshv_vcpu_vp_state_size() gives. *ret is new, for mshv_vp_state_components_free().
 * Thread: vcpu.
 */
int mshv_vcpu_get_vp_state_components(struct mshv_vcpu *vcpu,
				      struct mshv_vp_state_components **ret);

/*
 * MSHV_SET_VP_STATE for each component with data[t] != NULL and size[t] != 0, in type order
 * (LAPIC, XSAVE, SIMP, SIEFP, SYNTHETIC_TIMERS); stops at the first error. Thread: vcpu.
 */
int mshv_vcpu_set_vp_state_components(struct mshv_vcpu *vcpu,
				      const struct mshv_vp_state_components *components);

/* Free the buffers and the struct. Accepts NULL; returns NULL. Thread: any. */
struct mshv_vp_state_components *mshv_vp_state_components_free(
	struct mshv_vp_state_components *components);

/*
 * Translate a guest virtual address with the VP's current paging state: the dedicated vp-fd
 * ioctl MSHV_TRANSLATE_GVA where the kernel has it (it faults movable memory in), else
 * HVCALL_TRANSLATE_VIRTUAL_ADDRESS. On kernels with movable guest memory (mainline 6.19+) the
 * hypercall answers HV_TRANSLATE_GVA_GPA_NO_READ_ACCESS for a page the guest has not touched
 * yet (or the host reclaimed): libmshv then fails with -EAGAIN (transient: run the VP and
 * retry, or use the GPA of the intercept message).
 * flags: HV_TRANSLATE_GVA_* (e.g. VALIDATE_READ). On 0, *ret_result is the
 * HV_TRANSLATE_GVA_* result code and *ret_gpa the full GPA (page | gva & 0xfff), meaningful
 * only when the result is HV_TRANSLATE_GVA_SUCCESS. ret_result may be NULL. Thread: vcpu.
 */
int mshv_vcpu_translate_gva(struct mshv_vcpu *vcpu, uint64_t gva, uint64_t flags,
			    uint64_t *ret_gpa, uint32_t *ret_result);

/*
 * Read/write guest physical memory through the hypervisor (HVCALL_READ/WRITE_GPA, 16 bytes
 * per call; MSHV_EXT_READ/WRITE_GPA): Microsoft kernels only. Mainline (up to 7.0) rejects
 * both: -EOPNOTSUPP, without a rejected call once mshv_probe() ran. An access the
 * hypervisor refuses (unmapped, intercept) gives -EFAULT. Thread: vcpu.
 */
int mshv_vcpu_gpa_read(struct mshv_vcpu *vcpu, uint64_t gpa, void *buf, size_t len);
int mshv_vcpu_gpa_write(struct mshv_vcpu *vcpu, uint64_t gpa, const void *buf, size_t len);

/*
 * CPUID as the guest would see it (HVCALL_GET_VP_CPUID_VALUES with use_vp_xfem_xss and
 * apply_registered_values; MSHV_EXT_GET_VP_CPUID_VALUES). ret[] = eax, ebx, ecx, edx.
 * Thread: vcpu.
 */
int mshv_vcpu_get_cpuid_values(struct mshv_vcpu *vcpu, uint32_t leaf, uint32_t subleaf,
			       uint64_t xfem, uint64_t xss, uint32_t ret[4]);

/*
 * Override a CPUID result without an exit (HVCALL_REGISTER_INTERCEPT_RESULT with
 * HV_INTERCEPT_TYPE_X64_CPUID; MSHV_EXT_VP_REGISTER_INTERCEPT_RESULT). Thread: vcpu.
 */
int mshv_vcpu_register_intercept_result_cpuid(
	struct mshv_vcpu *vcpu, const struct hv_register_x64_cpuid_result_parameters *params);

/* ==============================================================================================
 * Message decoders
 * ============================================================================================ */

/*
 * Copy the payload of msg into *ret after checking msg->header.message_type and that
 * payload_size covers the struct (and is <= HV_MESSAGE_PAYLOAD_BYTE_COUNT). -EINVAL on any
 * mismatch (ret untouched). Pure functions. Thread: any.
 *
 *   mshv_msg_io_port        HVMSG_X64_IO_PORT_INTERCEPT
 *   mshv_msg_memory         HVMSG_UNMAPPED_GPA, HVMSG_GPA_INTERCEPT, HVMSG_UNACCEPTED_GPA
 *   mshv_msg_cpuid          HVMSG_X64_CPUID_INTERCEPT
 *   mshv_msg_msr            HVMSG_X64_MSR_INTERCEPT
 *   mshv_msg_exception      HVMSG_X64_EXCEPTION_INTERCEPT
 *   mshv_msg_apic_eoi       HVMSG_X64_APIC_EOI
 *   mshv_msg_sipi           HVMSG_X64_SIPI_INTERCEPT
 *   mshv_msg_intercept_header  any message that starts with the 40-byte x64 intercept header
 *                           (the above except APIC_EOI, plus HALT, UNRECOVERABLE_EXCEPTION,
 *                           INTERRUPTION_DELIVERABLE, HYPERCALL_INTERCEPT)
 */
int mshv_msg_io_port(const struct hv_message *msg, struct hv_x64_io_port_intercept_message *ret);
int mshv_msg_memory(const struct hv_message *msg, struct hv_x64_memory_intercept_message *ret);
int mshv_msg_cpuid(const struct hv_message *msg, struct hv_x64_cpuid_intercept_message *ret);
int mshv_msg_msr(const struct hv_message *msg, struct hv_x64_msr_intercept_message *ret);
int mshv_msg_exception(const struct hv_message *msg,
		       struct hv_x64_exception_intercept_message *ret);
int mshv_msg_apic_eoi(const struct hv_message *msg, struct hv_x64_apic_eoi_message *ret);
int mshv_msg_sipi(const struct hv_message *msg, struct hv_x64_sipi_intercept_message *ret);
int mshv_msg_intercept_header(const struct hv_message *msg,
			      struct hv_x64_intercept_message_header *ret);

#if defined(__cplusplus)
}
#endif

#endif /* MSHV_MSHV_H */
