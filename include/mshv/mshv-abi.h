/* SPDX-License-Identifier: MIT */
/*
 * The /dev/mshv userspace ABI (mainline uapi, Microsoft-kernel extensions) and the Microsoft
 * Hypervisor types it carries, written for mshvd from the project fact sheet (x86_64 only).
 *
 * Naming: everything the mainline kernel defines in <linux/mshv.h> or include/hyperv/hv*.h has
 * the kernel's name here (MSHV_CREATE_PARTITION, struct mshv_user_mem_region, struct hv_message,
 * HVCALL_GET_VP_REGISTERS, ...), so code reads the same as code written against the kernel.
 * Do not include this header together with <linux/mshv.h>: the names collide on purpose.
 *
 * Microsoft-kernel extensions (Azure Linux / dom0 kernels, the ioctls that the rust-vmm
 * mshv-ioctls crate >= 0.3 declares and that mainline lacks) carry the prefix MSHV_EXT_ for
 * ioctls/constants and mshv_ext_ for their argument structs. Their numbers overlap mainline
 * request numbers on other fd types and the VTL driver's numbers, which is why they are never
 * given the Microsoft kernel's unprefixed names. On a mainline kernel they fail with -ENOTTY.
 *
 * Layout rules: every hv_* type is packed and has its size asserted at the end of this file;
 * tests/abi checks every number, size, offset and bit position against the fact sheet.
 * Bit fields (named as in the kernel) sit, nearly always, in unions that also have a raw member
 * (as_uint8, as_uint64, ...); the *_MASK / *_SHIFT / *_BIT macros give the same bits for code
 * that prefers masks. GCC and Clang allocate bit fields from the least significant bit on
 * x86_64, which tests/abi checks at run time.
 *
 * Only <linux/types.h> and <linux/ioctl.h> are used. The header is valid C99 and C11 with
 * -pedantic-errors (non-int bit fields and anonymous members are marked __extension__) and
 * compiles as C++ (flexible array members need g++ without -pedantic).
 */
#ifndef MSHV_MSHV_ABI_H
#define MSHV_MSHV_ABI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#if defined(__cplusplus)
extern "C" {
#endif

#define MSHV_ABI_PACKED __attribute__((__packed__))

/* ==============================================================================================
 * Part 1: hypervisor types (include/hyperv/hv*.h in the kernel)
 * ============================================================================================ */

#define HV_HYP_PAGE_SHIFT	12
#define HV_HYP_PAGE_SIZE	4096

struct hv_u128 {
	__u64 low_part;
	__u64 high_part;
} MSHV_ABI_PACKED;

/* ---- Hypercall codes (fact sheet §6.1) ------------------------------------------------------ */

/* The 13 codes the mainline MSHV_ROOT_HVCALL allow-list accepts. */
#define HVCALL_GET_PARTITION_PROPERTY		0x0044
#define HVCALL_SET_PARTITION_PROPERTY		0x0045	/* asynchronous: pt fd only */
#define HVCALL_INSTALL_INTERCEPT		0x004d
#define HVCALL_GET_VP_REGISTERS			0x0050	/* rep */
#define HVCALL_SET_VP_REGISTERS			0x0051	/* rep */
#define HVCALL_TRANSLATE_VIRTUAL_ADDRESS	0x0052
#define HVCALL_CLEAR_VIRTUAL_INTERRUPT		0x0056
#define HVCALL_REGISTER_INTERCEPT_RESULT	0x0091
#define HVCALL_ASSERT_VIRTUAL_INTERRUPT		0x0094
#define HVCALL_SIGNAL_EVENT_DIRECT		0x00c0
#define HVCALL_POST_MESSAGE_DIRECT		0x00c1
#define HVCALL_GET_GPA_PAGES_ACCESS_STATES	0x00c9	/* rep */
#define HVCALL_GET_VP_CPUID_VALUES		0x00f4	/* rep */

/* Not in the mainline allow-list (-EINVAL there); Microsoft kernels may accept them. */
#define HVCALL_READ_GPA				0x0053
#define HVCALL_WRITE_GPA			0x0054
#define HVCALL_IMPORT_ISOLATED_PAGES		0x00ef
#define HVCALL_COMPLETE_ISOLATED_IMPORT		0x00f1
#define HVCALL_ISSUE_SNP_PSP_GUEST_REQUEST	0x00f2
#define HVCALL_GET_PARTITION_PROPERTY_EX	0x0101	/* mainline 6.19+ (§11.1, §11.3) */
/* Allowed only in 7.0-rc1...rc4, reverted before the release (fact sheet §11.2). Input: pid. */
#define HVCALL_SCRUB_PARTITION			0x008d

/* Used by the kernel itself; listed for reference and for strerror-style tooling. */
#define HVCALL_CREATE_PARTITION			0x0040
#define HVCALL_INITIALIZE_PARTITION		0x0041
#define HVCALL_FINALIZE_PARTITION		0x0042
#define HVCALL_DELETE_PARTITION			0x0043
#define HVCALL_DEPOSIT_MEMORY			0x0048
#define HVCALL_WITHDRAW_MEMORY			0x0049
#define HVCALL_MAP_GPA_PAGES			0x004b
#define HVCALL_UNMAP_GPA_PAGES			0x004c
#define HVCALL_CREATE_VP			0x004e
#define HVCALL_DELETE_VP			0x004f
#define HVCALL_DISPATCH_VP			0x00c2
#define HVCALL_MAP_VP_STATE_PAGE		0x00e1
#define HVCALL_UNMAP_VP_STATE_PAGE		0x00e2
#define HVCALL_GET_VP_STATE			0x00e3
#define HVCALL_SET_VP_STATE			0x00e4

/* ---- Hypercall status (fact sheet §6.6) ----------------------------------------------------- */

#define HV_STATUS_SUCCESS				0x0000
#define HV_STATUS_INVALID_HYPERCALL_CODE		0x0002
#define HV_STATUS_INVALID_HYPERCALL_INPUT		0x0003
#define HV_STATUS_INVALID_ALIGNMENT			0x0004
#define HV_STATUS_INVALID_PARAMETER			0x0005
#define HV_STATUS_ACCESS_DENIED				0x0006
#define HV_STATUS_INVALID_PARTITION_STATE		0x0007
#define HV_STATUS_OPERATION_DENIED			0x0008
#define HV_STATUS_UNKNOWN_PROPERTY			0x0009
#define HV_STATUS_PROPERTY_VALUE_OUT_OF_RANGE		0x000a
#define HV_STATUS_INSUFFICIENT_MEMORY			0x000b
#define HV_STATUS_INVALID_PARTITION_ID			0x000d
#define HV_STATUS_INVALID_VP_INDEX			0x000e
#define HV_STATUS_NOT_FOUND				0x0010
#define HV_STATUS_INVALID_PORT_ID			0x0011
#define HV_STATUS_INVALID_CONNECTION_ID			0x0012
#define HV_STATUS_INSUFFICIENT_BUFFERS			0x0013
#define HV_STATUS_NOT_ACKNOWLEDGED			0x0014
#define HV_STATUS_INVALID_VP_STATE			0x0015
#define HV_STATUS_NO_RESOURCES				0x001d
#define HV_STATUS_PROCESSOR_FEATURE_NOT_SUPPORTED	0x0020
#define HV_STATUS_INVALID_LP_INDEX			0x0041
#define HV_STATUS_INVALID_REGISTER_VALUE		0x0050
#define HV_STATUS_OPERATION_FAILED			0x0071
#define HV_STATUS_TIME_OUT				0x0078
#define HV_STATUS_CALL_PENDING				0x0079
#define HV_STATUS_VTL_ALREADY_ENABLED			0x0086

/* ---- Partition properties (fact sheet §6.5) ------------------------------------------------- */

#define HV_PARTITION_PROPERTY_PRIVILEGE_FLAGS			0x00010000
#define HV_PARTITION_PROPERTY_SYNTHETIC_PROC_FEATURES		0x00010001 /* early: before INITIALIZE */
#define HV_PARTITION_PROPERTY_SUSPEND				0x00020000
#define HV_PARTITION_PROPERTY_TIME_FREEZE			0x00030003
#define HV_PARTITION_PROPERTY_REFERENCE_TIME			0x00030005
#define HV_PARTITION_PROPERTY_PROCESSORS_PER_SOCKET		0x00050003
#define HV_PARTITION_PROPERTY_GPA_PAGE_ACCESS_TRACKING		0x00050005
#define HV_PARTITION_PROPERTY_ISOLATION_STATE			0x0005000c
#define HV_PARTITION_PROPERTY_ISOLATION_POLICY			0x00050014
#define HV_PARTITION_PROPERTY_UNIMPLEMENTED_MSR_ACTION		0x00050017
#define HV_PARTITION_PROPERTY_SEV_VMGEXIT_OFFLOADS		0x00050022
#define HV_PARTITION_PROPERTY_PROCESSOR_VENDOR			0x00060000
#define HV_PARTITION_PROPERTY_PROCESSOR_XSAVE_FEATURES		0x00060002
#define HV_PARTITION_PROPERTY_PHYSICAL_ADDRESS_WIDTH		0x00060006
#define HV_PARTITION_PROPERTY_XSAVE_STATES			0x00060007
#define HV_PARTITION_PROPERTY_MAX_XSAVE_DATA_SIZE		0x00060008
#define HV_PARTITION_PROPERTY_PROCESSOR_CLOCK_FREQUENCY		0x00060009
#define HV_PARTITION_PROPERTY_PROCESSOR_FEATURES0		0x0006000a
#define HV_PARTITION_PROPERTY_PROCESSOR_FEATURES1		0x0006000b
#define HV_PARTITION_PROPERTY_GUEST_OS_ID			0x00070000
#define HV_PARTITION_PROPERTY_VMM_CAPABILITIES			0x00090007 /* _EX only */
#define HV_PARTITION_PROPERTY_ASSIGNABLE_SYNTHETIC_PROC_FEATURES 0x00090009 /* _EX only */

/* Partition id the kernel writes for MSHV_ROOT_HVCALL on /dev/mshv (6.19+, fact sheet §11.3). */
#define HV_PARTITION_ID_SELF	0xffffffffffffffffULL

/* Banked answer of VMM_CAPABILITIES / ASSIGNABLE_SYNTHETIC_PROC_FEATURES (bank 0 at byte 8). */
#define HV_VMM_CAP_MAP_GPA_PRESERVE_ADJUSTABLE_BIT		0
#define HV_VMM_CAP_VMM_CAN_PROVIDE_OVERLAY_GPFN_BIT		1
#define HV_VMM_CAP_VP_AFFINITY_PROPERTY_BIT			2
#define HV_VMM_CAP_ASSIGNABLE_SYNTHETIC_PROC_FEATURES_BIT	4

/* Values of HV_PARTITION_PROPERTY_UNIMPLEMENTED_MSR_ACTION. */
#define HV_UNIMPLEMENTED_MSR_ACTION_FAULT			0
#define HV_UNIMPLEMENTED_MSR_ACTION_IGNORE_WRITE_READ_ZERO	1

/* Bit numbers in HV_PARTITION_PROPERTY_SYNTHETIC_PROC_FEATURES (bank 0). */
#define HV_SYNTHETIC_PROC_FEATURE_HYPERVISOR_PRESENT_BIT		0
#define HV_SYNTHETIC_PROC_FEATURE_HV1_BIT				1
#define HV_SYNTHETIC_PROC_FEATURE_ACCESS_VP_RUN_TIME_REG_BIT		2
#define HV_SYNTHETIC_PROC_FEATURE_ACCESS_PARTITION_REFERENCE_COUNTER_BIT 3
#define HV_SYNTHETIC_PROC_FEATURE_ACCESS_SYNIC_REGS_BIT			4
#define HV_SYNTHETIC_PROC_FEATURE_ACCESS_SYNTHETIC_TIMER_REGS_BIT	5
#define HV_SYNTHETIC_PROC_FEATURE_ACCESS_INTR_CTRL_REGS_BIT		6
#define HV_SYNTHETIC_PROC_FEATURE_ACCESS_HYPERCALL_REGS_BIT		7
#define HV_SYNTHETIC_PROC_FEATURE_ACCESS_VP_INDEX_BIT			8
#define HV_SYNTHETIC_PROC_FEATURE_ACCESS_PARTITION_REFERENCE_TSC_BIT	9
#define HV_SYNTHETIC_PROC_FEATURE_ACCESS_GUEST_IDLE_REG_BIT		10
#define HV_SYNTHETIC_PROC_FEATURE_ACCESS_FREQUENCY_REGS_BIT		11
#define HV_SYNTHETIC_PROC_FEATURE_EXTENDED_GVA_RANGES_FOR_FLUSH_BIT	15
#define HV_SYNTHETIC_PROC_FEATURE_ACCESS_VSM_BIT			16
#define HV_SYNTHETIC_PROC_FEATURE_FAST_HYPERCALL_OUTPUT_BIT		18
#define HV_SYNTHETIC_PROC_FEATURE_START_VIRTUAL_PROCESSOR_BIT		20
#define HV_SYNTHETIC_PROC_FEATURE_DIRECT_SYNTHETIC_TIMERS_BIT		22
#define HV_SYNTHETIC_PROC_FEATURE_EXTENDED_PROCESSOR_MASKS_BIT		24
#define HV_SYNTHETIC_PROC_FEATURE_TB_FLUSH_HYPERCALLS_BIT		25
#define HV_SYNTHETIC_PROC_FEATURE_SYNTHETIC_CLUSTER_IPI_BIT		26
#define HV_SYNTHETIC_PROC_FEATURE_NOTIFY_LONG_SPIN_WAIT_BIT		27
#define HV_SYNTHETIC_PROC_FEATURE_QUERY_NUMA_DISTANCE_BIT		28
#define HV_SYNTHETIC_PROC_FEATURE_SIGNAL_EVENTS_BIT			29
#define HV_SYNTHETIC_PROC_FEATURE_RETARGET_DEVICE_INTERRUPT_BIT		30
#define HV_SYNTHETIC_PROC_FEATURE_RESTORE_TIME_BIT			31
#define HV_SYNTHETIC_PROC_FEATURE_ENLIGHTENED_VMCS_BIT			32
#define HV_SYNTHETIC_PROC_FEATURE_WAKE_VPS_BIT				37
#define HV_SYNTHETIC_PROC_FEATURE_ACCESS_VP_REGS_BIT			38
#define HV_SYNTHETIC_PROC_FEATURE_INSTALL_INTERCEPT_BIT			48
#define HV_SYNTHETIC_PROC_FEATURE_FLUSH_GUEST_PHYSICAL_ADDRESS_SPACE_BIT 53

/* Hypervisor partition creation flags the kernel derives from MSHV_PT_BIT_* (fact sheet §3.1). */
#define HV_PARTITION_CREATION_FLAG_SMT_ENABLED_GUEST		(1ULL << 0)
#define HV_PARTITION_CREATION_FLAG_NESTED_VIRTUALIZATION_CAPABLE (1ULL << 1)
#define HV_PARTITION_CREATION_FLAG_GPA_SUPER_PAGES_ENABLED	(1ULL << 4)
#define HV_PARTITION_CREATION_FLAG_EXO_PARTITION		(1ULL << 8)
#define HV_PARTITION_CREATION_FLAG_LAPIC_ENABLED		(1ULL << 13)
#define HV_PARTITION_CREATION_FLAG_INTERCEPT_MESSAGE_PAGE_ENABLED (1ULL << 19)
#define HV_PARTITION_CREATION_FLAG_X2APIC_CAPABLE		(1ULL << 22)

/* Hypervisor isolation types (the uapi's pt_isolation values are different, see MSHV_PT_*). */
#define HV_PARTITION_ISOLATION_TYPE_NONE	0
#define HV_PARTITION_ISOLATION_TYPE_VBS		1
#define HV_PARTITION_ISOLATION_TYPE_SNP		2
#define HV_PARTITION_ISOLATION_TYPE_TDX		3

/* ---- Register names (fact sheet §5.2) ------------------------------------------------------- */

/* Suspend / activity registers (generic, the kernel names them HV_REGISTER_*). */
#define HV_REGISTER_EXPLICIT_SUSPEND		0x00000000
#define HV_REGISTER_INTERCEPT_SUSPEND		0x00000001
#define HV_REGISTER_DISPATCH_SUSPEND		0x00000003
#define HV_REGISTER_INTERNAL_ACTIVITY_STATE	0x00000004
/* Pending events and interrupt state. */
#define HV_REGISTER_PENDING_INTERRUPTION	0x00010002
#define HV_REGISTER_INTERRUPT_STATE		0x00010003
#define HV_REGISTER_PENDING_EVENT0		0x00010004
#define HV_REGISTER_PENDING_EVENT1		0x00010005
#define HV_X64_REGISTER_DELIVERABILITY_NOTIFICATIONS 0x00010006
/* Synthetic registers. */
#define HV_REGISTER_VP_RUNTIME			0x00090000
#define HV_X64_REGISTER_HYPERCALL		0x00090001	/* MSR 0x40000001 */
#define HV_REGISTER_VP_INDEX			0x00090003
#define HV_X64_REGISTER_GHCB			0x00090019
#define HV_X64_REGISTER_SEV_CONTROL		0x00090040

/* HV_X64_REGISTER_* spellings of the generic ones above. */
#define HV_X64_REGISTER_EXPLICIT_SUSPEND	HV_REGISTER_EXPLICIT_SUSPEND
#define HV_X64_REGISTER_INTERCEPT_SUSPEND	HV_REGISTER_INTERCEPT_SUSPEND
#define HV_X64_REGISTER_DISPATCH_SUSPEND	HV_REGISTER_DISPATCH_SUSPEND
#define HV_X64_REGISTER_INTERNAL_ACTIVITY_STATE	HV_REGISTER_INTERNAL_ACTIVITY_STATE
#define HV_X64_REGISTER_PENDING_INTERRUPTION	HV_REGISTER_PENDING_INTERRUPTION
#define HV_X64_REGISTER_INTERRUPT_STATE		HV_REGISTER_INTERRUPT_STATE
#define HV_X64_REGISTER_PENDING_EVENT0		HV_REGISTER_PENDING_EVENT0
#define HV_X64_REGISTER_PENDING_EVENT1		HV_REGISTER_PENDING_EVENT1
#define HV_X64_REGISTER_VP_RUNTIME		HV_REGISTER_VP_RUNTIME
#define HV_X64_REGISTER_VP_INDEX		HV_REGISTER_VP_INDEX

/* General purpose registers, in x86 encoding order. */
#define HV_X64_REGISTER_RAX		0x00020000
#define HV_X64_REGISTER_RCX		0x00020001
#define HV_X64_REGISTER_RDX		0x00020002
#define HV_X64_REGISTER_RBX		0x00020003
#define HV_X64_REGISTER_RSP		0x00020004
#define HV_X64_REGISTER_RBP		0x00020005
#define HV_X64_REGISTER_RSI		0x00020006
#define HV_X64_REGISTER_RDI		0x00020007
#define HV_X64_REGISTER_R8		0x00020008
#define HV_X64_REGISTER_R9		0x00020009
#define HV_X64_REGISTER_R10		0x0002000a
#define HV_X64_REGISTER_R11		0x0002000b
#define HV_X64_REGISTER_R12		0x0002000c
#define HV_X64_REGISTER_R13		0x0002000d
#define HV_X64_REGISTER_R14		0x0002000e
#define HV_X64_REGISTER_R15		0x0002000f
#define HV_X64_REGISTER_RIP		0x00020010
#define HV_X64_REGISTER_RFLAGS		0x00020011

/* Floating point and vector state. */
#define HV_X64_REGISTER_XMM0		0x00030000
#define HV_X64_REGISTER_XMM1		0x00030001
#define HV_X64_REGISTER_XMM2		0x00030002
#define HV_X64_REGISTER_XMM3		0x00030003
#define HV_X64_REGISTER_XMM4		0x00030004
#define HV_X64_REGISTER_XMM5		0x00030005
#define HV_X64_REGISTER_XMM6		0x00030006
#define HV_X64_REGISTER_XMM7		0x00030007
#define HV_X64_REGISTER_XMM8		0x00030008
#define HV_X64_REGISTER_XMM9		0x00030009
#define HV_X64_REGISTER_XMM10		0x0003000a
#define HV_X64_REGISTER_XMM11		0x0003000b
#define HV_X64_REGISTER_XMM12		0x0003000c
#define HV_X64_REGISTER_XMM13		0x0003000d
#define HV_X64_REGISTER_XMM14		0x0003000e
#define HV_X64_REGISTER_XMM15		0x0003000f
#define HV_X64_REGISTER_FP_MMX0		0x00030010
#define HV_X64_REGISTER_FP_MMX1		0x00030011
#define HV_X64_REGISTER_FP_MMX2		0x00030012
#define HV_X64_REGISTER_FP_MMX3		0x00030013
#define HV_X64_REGISTER_FP_MMX4		0x00030014
#define HV_X64_REGISTER_FP_MMX5		0x00030015
#define HV_X64_REGISTER_FP_MMX6		0x00030016
#define HV_X64_REGISTER_FP_MMX7		0x00030017
#define HV_X64_REGISTER_FP_CONTROL_STATUS	0x00030018
#define HV_X64_REGISTER_XMM_CONTROL_STATUS	0x00030019

/* Control registers. */
#define HV_X64_REGISTER_CR0		0x00040000
#define HV_X64_REGISTER_CR2		0x00040001
#define HV_X64_REGISTER_CR3		0x00040002
#define HV_X64_REGISTER_CR4		0x00040003
#define HV_X64_REGISTER_CR8		0x00040004	/* TPR */
#define HV_X64_REGISTER_XFEM		0x00040005	/* XCR0 */
#define HV_X64_REGISTER_INTERMEDIATE_CR0	0x00041000
#define HV_X64_REGISTER_INTERMEDIATE_CR3	0x00041002
#define HV_X64_REGISTER_INTERMEDIATE_CR4	0x00041003
#define HV_X64_REGISTER_INTERMEDIATE_CR8	0x00041004

/* Debug registers. */
#define HV_X64_REGISTER_DR0		0x00050000
#define HV_X64_REGISTER_DR1		0x00050001
#define HV_X64_REGISTER_DR2		0x00050002
#define HV_X64_REGISTER_DR3		0x00050003
#define HV_X64_REGISTER_DR6		0x00050004
#define HV_X64_REGISTER_DR7		0x00050005

/* Segment and table registers (values: struct hv_x64_segment_register / _table_register). */
#define HV_X64_REGISTER_ES		0x00060000
#define HV_X64_REGISTER_CS		0x00060001
#define HV_X64_REGISTER_SS		0x00060002
#define HV_X64_REGISTER_DS		0x00060003
#define HV_X64_REGISTER_FS		0x00060004
#define HV_X64_REGISTER_GS		0x00060005
#define HV_X64_REGISTER_LDTR		0x00060006
#define HV_X64_REGISTER_TR		0x00060007
#define HV_X64_REGISTER_IDTR		0x00070000
#define HV_X64_REGISTER_GDTR		0x00070001

/* MSRs. */
#define HV_X64_REGISTER_TSC		0x00080000
#define HV_X64_REGISTER_EFER		0x00080001
#define HV_X64_REGISTER_KERNEL_GS_BASE	0x00080002
#define HV_X64_REGISTER_APIC_BASE	0x00080003
#define HV_X64_REGISTER_PAT		0x00080004
#define HV_X64_REGISTER_SYSENTER_CS	0x00080005
#define HV_X64_REGISTER_SYSENTER_EIP	0x00080006
#define HV_X64_REGISTER_SYSENTER_ESP	0x00080007
#define HV_X64_REGISTER_STAR		0x00080008
#define HV_X64_REGISTER_LSTAR		0x00080009
#define HV_X64_REGISTER_CSTAR		0x0008000a
#define HV_X64_REGISTER_SFMASK		0x0008000b
#define HV_X64_REGISTER_MSR_MTRR_CAP		0x0008000d
#define HV_X64_REGISTER_MSR_MTRR_DEF_TYPE	0x0008000e
/* MTRR physical base/mask pairs 0..15: BASE(n) = 0x80010 + n, MASK(n) = 0x80040 + n. */
#define HV_X64_REGISTER_MSR_MTRR_PHYS_BASE(n)	(0x00080010 + (n))
#define HV_X64_REGISTER_MSR_MTRR_PHYS_MASK(n)	(0x00080040 + (n))
#define HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0	0x00080010
#define HV_X64_REGISTER_MSR_MTRR_PHYS_BASEF	0x0008001f
#define HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0	0x00080040
#define HV_X64_REGISTER_MSR_MTRR_PHYS_MASKF	0x0008004f
#define HV_X64_REGISTER_TSC_AUX		0x0008007b
#define HV_X64_REGISTER_SPEC_CTRL	0x00080084
#define HV_X64_REGISTER_U_XSS		0x0008008b

/* ---- Register values (fact sheet §5.1, §5.3) ------------------------------------------------ */

/* Segment attribute bits (struct hv_x64_segment_register.attributes). No "unusable" bit: P = 0. */
#define HV_X64_SEGMENT_ATTR_TYPE_MASK	0x000f
#define HV_X64_SEGMENT_ATTR_S		(1u << 4)	/* non-system (code/data) segment */
#define HV_X64_SEGMENT_ATTR_DPL_SHIFT	5
#define HV_X64_SEGMENT_ATTR_DPL_MASK	(3u << 5)
#define HV_X64_SEGMENT_ATTR_P		(1u << 7)
#define HV_X64_SEGMENT_ATTR_AVL		(1u << 12)
#define HV_X64_SEGMENT_ATTR_L		(1u << 13)
#define HV_X64_SEGMENT_ATTR_DB		(1u << 14)
#define HV_X64_SEGMENT_ATTR_G		(1u << 15)

struct hv_x64_segment_register {
	__u64 base;
	__u32 limit;		/* byte-granular effective limit */
	__u16 selector;
	__extension__ union {
		__u16 attributes;
		__extension__ struct {
			__u16 segment_type : 4;
			__u16 non_system_segment : 1;
			__u16 descriptor_privilege_level : 2;
			__u16 present : 1;
			__u16 reserved : 4;
			__u16 available : 1;
			__u16 _long : 1;
			__u16 _default : 1;
			__u16 granularity : 1;
		} MSHV_ABI_PACKED;
	};
} MSHV_ABI_PACKED;

struct hv_x64_table_register {
	__u16 pad[3];
	__u16 limit;
	__u64 base;
} MSHV_ABI_PACKED;

union hv_x64_fp_register {
	struct hv_u128 as_uint128;
	__extension__ struct {
		__u64 mantissa;
		__u64 biased_exponent : 15;
		__u64 sign : 1;
		__u64 reserved : 48;
	} MSHV_ABI_PACKED;
} MSHV_ABI_PACKED;

union hv_x64_fp_control_status_register {
	struct hv_u128 as_uint128;
	__extension__ struct {
		__u16 fp_control;
		__u16 fp_status;
		__u8 fp_tag;		/* abridged tag word, as in FXSAVE */
		__u8 reserved;
		__u16 last_fp_op;
		__u64 last_fp_rip;
	} MSHV_ABI_PACKED;
} MSHV_ABI_PACKED;

union hv_x64_xmm_control_status_register {
	struct hv_u128 as_uint128;
	__extension__ struct {
		__u64 last_fp_rdp;
		__u32 xmm_status_control;	/* MXCSR */
		__u32 xmm_status_control_mask;	/* MXCSR_MASK */
	} MSHV_ABI_PACKED;
} MSHV_ABI_PACKED;

/* HV_REGISTER_EXPLICIT/INTERCEPT/DISPATCH_SUSPEND: bit 0. */
#define HV_X64_SUSPEND_BIT		(1ULL << 0)

union hv_explicit_suspend_register {
	__u64 as_uint64;
	__extension__ struct {
		__u64 suspended : 1;
		__u64 reserved : 63;
	} MSHV_ABI_PACKED;
} MSHV_ABI_PACKED;

union hv_intercept_suspend_register {
	__u64 as_uint64;
	__extension__ struct {
		__u64 suspended : 1;
		__u64 reserved : 63;
	} MSHV_ABI_PACKED;
} MSHV_ABI_PACKED;

union hv_dispatch_suspend_register {
	__u64 as_uint64;
	__extension__ struct {
		__u64 suspended : 1;
		__u64 reserved : 63;
	} MSHV_ABI_PACKED;
} MSHV_ABI_PACKED;

/* HV_REGISTER_INTERNAL_ACTIVITY_STATE bits. */
#define HV_INTERNAL_ACTIVITY_STARTUP_SUSPEND	(1ULL << 0)
#define HV_INTERNAL_ACTIVITY_HALT_SUSPEND	(1ULL << 1)
#define HV_INTERNAL_ACTIVITY_IDLE_SUSPEND	(1ULL << 2)

union hv_internal_activity_register {
	__u64 as_uint64;
	__extension__ struct {
		__u64 startup_suspend : 1;
		__u64 halt_suspend : 1;
		__u64 idle_suspend : 1;
		__u64 rsvd_z : 61;
	} MSHV_ABI_PACKED;
} MSHV_ABI_PACKED;

/* HV_REGISTER_INTERRUPT_STATE bits. */
#define HV_X64_INTERRUPT_STATE_INTERRUPT_SHADOW	(1ULL << 0)
#define HV_X64_INTERRUPT_STATE_NMI_MASKED	(1ULL << 1)

union hv_x64_interrupt_state_register {
	__u64 as_uint64;
	__extension__ struct {
		__u64 interrupt_shadow : 1;
		__u64 nmi_masked : 1;
		__u64 reserved : 62;
	} MSHV_ABI_PACKED;
} MSHV_ABI_PACKED;

/* HV_REGISTER_PENDING_INTERRUPTION bits. */
#define HV_X64_PENDING_INTERRUPTION_PENDING		(1ULL << 0)
#define HV_X64_PENDING_INTERRUPTION_TYPE_SHIFT		1
#define HV_X64_PENDING_INTERRUPTION_TYPE_MASK		(7ULL << 1)
#define HV_X64_PENDING_INTERRUPTION_DELIVER_ERROR_CODE	(1ULL << 4)
#define HV_X64_PENDING_INTERRUPTION_INSTR_LEN_SHIFT	5
#define HV_X64_PENDING_INTERRUPTION_INSTR_LEN_MASK	(0xfULL << 5)
#define HV_X64_PENDING_INTERRUPTION_NESTED_EVENT	(1ULL << 9)
#define HV_X64_PENDING_INTERRUPTION_VECTOR_SHIFT	16
#define HV_X64_PENDING_INTERRUPTION_VECTOR_MASK		(0xffffULL << 16)
#define HV_X64_PENDING_INTERRUPTION_ERROR_CODE_SHIFT	32
#define HV_X64_PENDING_INTERRUPTION_ERROR_CODE_MASK	(0xffffffffULL << 32)

/* Pending interruption types (bits 1-3). */
#define HV_X64_PENDING_INTERRUPT	0
#define HV_X64_PENDING_NMI		2
#define HV_X64_PENDING_EXCEPTION	3

union hv_x64_pending_interruption_register {
	__u64 as_uint64;
	__extension__ struct {
		__u64 interruption_pending : 1;
		__u64 interruption_type : 3;
		__u64 deliver_error_code : 1;
		__u64 instruction_length : 4;
		__u64 nested_event : 1;
		__u64 reserved : 6;
		__u64 interruption_vector : 16;
		__u64 error_code : 32;
	} MSHV_ABI_PACKED;
} MSHV_ABI_PACKED;

/* 16-byte register value: what HVCALL_GET_VP_REGISTERS returns per name. */
union hv_register_value {
	struct hv_u128 reg128;
	__u64 reg64;
	__u32 reg32;
	__u16 reg16;
	__u8 reg8;
	union hv_x64_fp_register fp;
	union hv_x64_fp_control_status_register fp_control_status;
	union hv_x64_xmm_control_status_register xmm_control_status;
	struct hv_x64_segment_register segment;
	struct hv_x64_table_register table;
	union hv_explicit_suspend_register explicit_suspend;
	union hv_intercept_suspend_register intercept_suspend;
	union hv_dispatch_suspend_register dispatch_suspend;
	union hv_internal_activity_register internal_activity;
	union hv_x64_interrupt_state_register interrupt_state;
	union hv_x64_pending_interruption_register pending_interruption;
} MSHV_ABI_PACKED;

/* Name/value pair: rep element of HVCALL_SET_VP_REGISTERS and of the MS register ioctls. */
struct hv_register_assoc {
	__u32 name;		/* HV_X64_REGISTER_* / HV_REGISTER_* */
	__u32 reserved1;
	__u64 reserved2;
	union hv_register_value value;
} MSHV_ABI_PACKED;

/* ---- Hypercall inputs and outputs (fact sheet §6) ------------------------------------------- */

/*
 * Every input starts with the partition id; MSHV_ROOT_HVCALL overwrites bytes 0-7 with the
 * partition of the fd, so callers leave it 0. vp_index is never filled in by the kernel.
 */

/* input_vtl byte: bits 0-3 target VTL, bit 4 use_target_vtl; 0 = the VP's normal VTL. */
#define HV_INPUT_VTL_TARGET_VTL_MASK	0x0f
#define HV_INPUT_VTL_USE_TARGET_VTL	(1u << 4)

union hv_input_vtl {
	__u8 as_uint8;
	__extension__ struct {
		__u8 target_vtl : 4;
		__u8 use_target_vtl : 1;
		__u8 reserved_z : 3;
	};
} MSHV_ABI_PACKED;

/* HVCALL_GET_PARTITION_PROPERTY (0x44). */
struct hv_input_get_partition_property {
	__u64 partition_id;
	__u32 property_code;	/* HV_PARTITION_PROPERTY_* */
	__u32 padding;
} MSHV_ABI_PACKED;

struct hv_output_get_partition_property {
	__u64 property_value;
} MSHV_ABI_PACKED;

/* HVCALL_GET_PARTITION_PROPERTY_EX (0x101, 6.19+): arg 0 for partition-scoped properties. */
struct hv_input_get_partition_property_ex {
	__u64 partition_id;
	__u32 property_code;	/* HV_PARTITION_PROPERTY_* */
	__u32 padding;
	__u64 arg;
} MSHV_ABI_PACKED;

/* Output: up to one page minus the input. */
#define HV_GET_PARTITION_PROPERTY_EX_MAX_OUTPUT	4072

/* The banked properties (VMM_CAPABILITIES, ASSIGNABLE_SYNTHETIC_PROC_FEATURES). */
struct hv_partition_property_banks {
	__u16 bank_count;
	__u8 reserved[6];
	__u64 bank0;		/* HV_VMM_CAP_* bits / synthetic processor feature bits */
} MSHV_ABI_PACKED;

/* HVCALL_SET_PARTITION_PROPERTY (0x45). */
struct hv_input_set_partition_property {
	__u64 partition_id;
	__u32 property_code;
	__u32 padding;
	__u64 property_value;
} MSHV_ABI_PACKED;

/* HVCALL_INSTALL_INTERCEPT (0x4d). */
#define HV_INTERCEPT_ACCESS_MASK_NONE		0x0
#define HV_INTERCEPT_ACCESS_MASK_READ		0x1
#define HV_INTERCEPT_ACCESS_MASK_WRITE		0x2
#define HV_INTERCEPT_ACCESS_MASK_EXECUTE	0x4

#define HV_INTERCEPT_TYPE_X64_IO_PORT			0x0
#define HV_INTERCEPT_TYPE_X64_MSR			0x1
#define HV_INTERCEPT_TYPE_X64_CPUID			0x2
#define HV_INTERCEPT_TYPE_EXCEPTION			0x3
#define HV_INTERCEPT_TYPE_MMIO				0x5
#define HV_INTERCEPT_TYPE_X64_GLOBAL_CPUID		0x6
#define HV_INTERCEPT_TYPE_X64_APIC_SMI			0x7
#define HV_INTERCEPT_TYPE_HYPERCALL			0x8
#define HV_INTERCEPT_TYPE_X64_APIC_INIT_SIPI		0x9
#define HV_INTERCEPT_MC_UPDATE_PATCH_LEVEL_MSR_READ	0xa
#define HV_INTERCEPT_TYPE_X64_APIC_WRITE		0xb
#define HV_INTERCEPT_TYPE_X64_MSR_INDEX			0xc

union hv_intercept_parameters {
	__u64 as_uint64;
	__u16 io_port;
	__u32 cpuid_index;
	__u32 apic_write_mask;
	__u16 exception_vector;
	__u32 msr_index;
} MSHV_ABI_PACKED;

struct hv_input_install_intercept {
	__u64 partition_id;
	__u32 access_type;	/* HV_INTERCEPT_ACCESS_MASK_* */
	__u32 intercept_type;	/* HV_INTERCEPT_TYPE_* */
	union hv_intercept_parameters intercept_parameter;
} MSHV_ABI_PACKED;

/* HVCALL_GET_VP_REGISTERS (0x50): rep data = names; output = reps x union hv_register_value. */
struct hv_input_get_vp_registers {
	__u64 partition_id;
	__u32 vp_index;
	union hv_input_vtl input_vtl;
	__u8 rsvd_z8;
	__u16 rsvd_z16;
	__u32 names[];
} MSHV_ABI_PACKED;

/* HVCALL_SET_VP_REGISTERS (0x51): rep data = name/value pairs; no output. */
struct hv_input_set_vp_registers {
	__u64 partition_id;
	__u32 vp_index;
	union hv_input_vtl input_vtl;
	__u8 rsvd_z8;
	__u16 rsvd_z16;
	struct hv_register_assoc elements[];
} MSHV_ABI_PACKED;

/* Rep limits imposed by the one-page input/output of MSHV_ROOT_HVCALL (fact sheet §6.2). */
#define HV_GET_VP_REGISTERS_MAX_REPS	256	/* 16-byte values in a 4096-byte output */
#define HV_SET_VP_REGISTERS_MAX_REPS	127	/* (4096 - 16) / 32 */

/* HVCALL_TRANSLATE_VIRTUAL_ADDRESS (0x52). */
#define HV_TRANSLATE_GVA_VALIDATE_READ		0x0001
#define HV_TRANSLATE_GVA_VALIDATE_WRITE		0x0002
#define HV_TRANSLATE_GVA_VALIDATE_EXECUTE	0x0004
#define HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT	0x0008
#define HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS	0x0010
#define HV_TRANSLATE_GVA_TLB_FLUSH_INHIBIT	0x0020
#define HV_TRANSLATE_GVA_SUPERVISOR_ACCESS	0x0040
#define HV_TRANSLATE_GVA_USER_ACCESS		0x0080
#define HV_TRANSLATE_GVA_ENFORCE_SMAP		0x0100
#define HV_TRANSLATE_GVA_OVERRIDE_SMAP		0x0200
#define HV_TRANSLATE_GVA_SHADOW_STACK		0x0400

#define HV_TRANSLATE_GVA_SUCCESS			0
#define HV_TRANSLATE_GVA_PAGE_NOT_PRESENT		1
#define HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION		2
#define HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS	3
#define HV_TRANSLATE_GVA_GPA_UNMAPPED			4
#define HV_TRANSLATE_GVA_GPA_NO_READ_ACCESS		5
#define HV_TRANSLATE_GVA_GPA_NO_WRITE_ACCESS		6
#define HV_TRANSLATE_GVA_GPA_ILLEGAL_OVERLAY_ACCESS	7
#define HV_TRANSLATE_GVA_INTERCEPT			8
#define HV_TRANSLATE_GVA_GPA_UNACCEPTED			9

struct hv_input_translate_virtual_address {
	__u64 partition_id;
	__u32 vp_index;
	__u32 padding;
	__u64 control_flags;	/* HV_TRANSLATE_GVA_* flags */
	__u64 gva_page;		/* GVA >> 12 */
} MSHV_ABI_PACKED;

union hv_translate_gva_result {
	__u64 as_uint64;
	__extension__ struct {
		__u32 result_code;	/* HV_TRANSLATE_GVA_SUCCESS ... */
		__u32 cache_type : 8;
		__u32 overlay_page : 1;
		__u32 reserved : 23;
	} MSHV_ABI_PACKED;
} MSHV_ABI_PACKED;

struct hv_output_translate_virtual_address {
	union hv_translate_gva_result translation_result;
	__u64 gpa_page;		/* GPA = gpa_page << 12 | (GVA & 0xfff) */
} MSHV_ABI_PACKED;

/* HVCALL_CLEAR_VIRTUAL_INTERRUPT (0x56): only the partition id is known (UNCONFIRMED rest). */
struct hv_input_clear_virtual_interrupt {
	__u64 partition_id;
} MSHV_ABI_PACKED;

/* HVCALL_REGISTER_INTERCEPT_RESULT (0x91) with HV_INTERCEPT_TYPE_X64_CPUID. */
struct hv_register_x64_cpuid_result_parameters {
	struct {
		__u32 eax;
		__u32 ecx;
		__u8 subleaf_specific;
		__u8 always_override;
		__u16 padding;
	} MSHV_ABI_PACKED input;
	struct {
		__u32 eax;
		__u32 eax_mask;
		__u32 ebx;
		__u32 ebx_mask;
		__u32 ecx;
		__u32 ecx_mask;
		__u32 edx;
		__u32 edx_mask;
	} MSHV_ABI_PACKED result;
} MSHV_ABI_PACKED;

/* The MSR variant; which intercept_type selects it is UNCONFIRMED (fact sheet §6.4). */
struct hv_register_x64_msr_result_parameters {
	__u32 msr_index;
	__u32 access_type;
	__u32 action;		/* HV_UNIMPLEMENTED_MSR_ACTION_* */
} MSHV_ABI_PACKED;

union hv_register_intercept_result_parameters {
	struct hv_register_x64_cpuid_result_parameters cpuid;
	struct hv_register_x64_msr_result_parameters msr;
} MSHV_ABI_PACKED;

struct hv_input_register_intercept_result {
	__u64 partition_id;
	__u32 vp_index;
	__u32 intercept_type;	/* HV_INTERCEPT_TYPE_X64_CPUID */
	union hv_register_intercept_result_parameters parameters;
} MSHV_ABI_PACKED;

/* HVCALL_ASSERT_VIRTUAL_INTERRUPT (0x94). */
#define HV_X64_INTERRUPT_TYPE_FIXED		0x0000
#define HV_X64_INTERRUPT_TYPE_LOWESTPRIORITY	0x0001
#define HV_X64_INTERRUPT_TYPE_SMI		0x0002
#define HV_X64_INTERRUPT_TYPE_REMOTEREAD	0x0003
#define HV_X64_INTERRUPT_TYPE_NMI		0x0004
#define HV_X64_INTERRUPT_TYPE_INIT		0x0005
#define HV_X64_INTERRUPT_TYPE_SIPI		0x0006
#define HV_X64_INTERRUPT_TYPE_EXTINT		0x0007
#define HV_X64_INTERRUPT_TYPE_LOCALINT0		0x0008
#define HV_X64_INTERRUPT_TYPE_LOCALINT1		0x0009
/* Short aliases (HV_INTERRUPT_TYPE_*) for the x64 values. */
#define HV_INTERRUPT_TYPE_FIXED			HV_X64_INTERRUPT_TYPE_FIXED
#define HV_INTERRUPT_TYPE_LOWESTPRIORITY	HV_X64_INTERRUPT_TYPE_LOWESTPRIORITY
#define HV_INTERRUPT_TYPE_SMI			HV_X64_INTERRUPT_TYPE_SMI
#define HV_INTERRUPT_TYPE_REMOTEREAD		HV_X64_INTERRUPT_TYPE_REMOTEREAD
#define HV_INTERRUPT_TYPE_NMI			HV_X64_INTERRUPT_TYPE_NMI
#define HV_INTERRUPT_TYPE_INIT			HV_X64_INTERRUPT_TYPE_INIT
#define HV_INTERRUPT_TYPE_SIPI			HV_X64_INTERRUPT_TYPE_SIPI
#define HV_INTERRUPT_TYPE_EXTINT		HV_X64_INTERRUPT_TYPE_EXTINT
#define HV_INTERRUPT_TYPE_LOCALINT0		HV_X64_INTERRUPT_TYPE_LOCALINT0
#define HV_INTERRUPT_TYPE_LOCALINT1		HV_X64_INTERRUPT_TYPE_LOCALINT1

/* hv_interrupt_control: bits 0-31 type, bit 32 level triggered, bit 33 logical destination. */
#define HV_INTERRUPT_CONTROL_TYPE_MASK		0xffffffffULL
#define HV_INTERRUPT_CONTROL_LEVEL_TRIGGERED	(1ULL << 32)
#define HV_INTERRUPT_CONTROL_LOGICAL_DEST_MODE	(1ULL << 33)
/* Set by rust-vmm's InterruptRequest.long_mode; meaning UNCONFIRMED (fact sheet §10.7). */
#define HV_INTERRUPT_CONTROL_RUST_LONG_MODE	(1ULL << 62)

union hv_interrupt_control {
	__u64 as_uint64;
	__extension__ struct {
		__u32 interrupt_type;	/* HV_X64_INTERRUPT_TYPE_* */
		__u32 level_triggered : 1;
		__u32 logical_dest_mode : 1;
		__u32 rsvd : 30;
	} MSHV_ABI_PACKED;
} MSHV_ABI_PACKED;

struct hv_input_assert_virtual_interrupt {
	__u64 partition_id;
	union hv_interrupt_control control;
	__u64 dest_addr;	/* APIC id (physical) or logical destination */
	__u32 vector;
	__u8 target_vtl;
	__u8 rsvd_z0;
	__u16 rsvd_z1;
} MSHV_ABI_PACKED;

/* HVCALL_SIGNAL_EVENT_DIRECT (0xc0). */
struct hv_input_signal_event_direct {
	__u64 target_partition;
	__u32 target_vp;
	__u8 target_vtl;
	__u8 target_sint;
	__u16 flag_number;
} MSHV_ABI_PACKED;

struct hv_output_signal_event_direct {
	__u8 newly_signaled;
	__u8 reserved[7];
} MSHV_ABI_PACKED;

/* HVCALL_POST_MESSAGE_DIRECT (0xc1). */
#define HV_MESSAGE_SIZE			256
#define HV_MESSAGE_PAYLOAD_BYTE_COUNT	240
#define HV_MESSAGE_PAYLOAD_QWORD_COUNT	30

struct hv_input_post_message_direct {
	__u64 partition_id;
	__u32 vp_index;
	__u8 vtl;
	__u8 padding[3];
	__u32 sint_index;
	__u8 message[HV_MESSAGE_SIZE];
	__u32 padding2;
} MSHV_ABI_PACKED;

/* HVCALL_GET_VP_CPUID_VALUES (0xf4): header + reps x query; output reps x response. */
#define HV_GET_VP_CPUID_VALUES_USE_VP_XFEM_XSS		(1u << 0)
#define HV_GET_VP_CPUID_VALUES_APPLY_REGISTERED_VALUES	(1u << 1)

union hv_get_vp_cpuid_values_flags {
	__u32 as_uint32;
	__extension__ struct {
		__u32 use_vp_xfem_xss : 1;
		__u32 apply_registered_values : 1;
		__u32 reserved : 30;
	} MSHV_ABI_PACKED;
} MSHV_ABI_PACKED;

union hv_cpuid_query {
	__extension__ struct {
		__u32 input_eax;
		__u32 input_ecx;
		__u64 xfem;
		__u64 xss;
	} MSHV_ABI_PACKED;
	__u8 as_bytes[24];
} MSHV_ABI_PACKED;

struct hv_input_get_vp_cpuid_values {
	__u64 partition_id;
	__u32 vp_index;
	union hv_get_vp_cpuid_values_flags flags;
	__u32 reserved;
	__u32 padding;
	union hv_cpuid_query cpuid_queries[];
} MSHV_ABI_PACKED;

union hv_cpuid_response {
	__extension__ struct {
		__u32 eax;
		__u32 ebx;
		__u32 ecx;
		__u32 edx;
	} MSHV_ABI_PACKED;
	__u32 as_uint32[4];
} MSHV_ABI_PACKED;

/*
 * HVCALL_READ_GPA / HVCALL_WRITE_GPA (0x53 / 0x54): not allow-listed on mainline; Microsoft
 * kernels only. The layout is not in the fact sheet; it follows the rust-vmm hv headers.
 */
#define HV_READ_WRITE_GPA_MAX_SIZE	16

#define HV_ACCESS_GPA_SUCCESS			0
#define HV_ACCESS_GPA_UNMAPPED			1
#define HV_ACCESS_GPA_READ_INTERCEPT		2
#define HV_ACCESS_GPA_WRITE_INTERCEPT		3
#define HV_ACCESS_GPA_ILLEGAL_OVERLAY_ACCESS	4

struct hv_input_read_gpa {
	__u64 partition_id;
	__u32 vp_index;
	__u32 byte_count;
	__u64 base_gpa;
	__u64 control_flags;	/* bits 0-7 cache type */
} MSHV_ABI_PACKED;

struct hv_output_read_gpa {
	__u64 access_result;	/* low 32 bits: HV_ACCESS_GPA_* */
	__u8 data[HV_READ_WRITE_GPA_MAX_SIZE];
} MSHV_ABI_PACKED;

struct hv_input_write_gpa {
	__u64 partition_id;
	__u32 vp_index;
	__u32 byte_count;
	__u64 base_gpa;
	__u64 control_flags;
	__u8 data[HV_READ_WRITE_GPA_MAX_SIZE];
} MSHV_ABI_PACKED;

struct hv_output_write_gpa {
	__u64 access_result;
} MSHV_ABI_PACKED;

/* ---- Messages (fact sheet §4) --------------------------------------------------------------- */

#define HVMSG_NONE				0x00000000
#define HVMSG_UNMAPPED_GPA			0x80000000
#define HVMSG_GPA_INTERCEPT			0x80000001
#define HVMSG_UNACCEPTED_GPA			0x80000003
#define HVMSG_GPA_ATTRIBUTE_INTERCEPT		0x80000004
#define HVMSG_TIMER_EXPIRED			0x80000010
#define HVMSG_INVALID_VP_REGISTER_VALUE		0x80000020
#define HVMSG_UNRECOVERABLE_EXCEPTION		0x80000021
#define HVMSG_UNSUPPORTED_FEATURE		0x80000022
#define HVMSG_OPAQUE_INTERCEPT			0x8000003f
#define HVMSG_EVENTLOG_BUFFERCOMPLETE		0x80000040
#define HVMSG_HYPERCALL_INTERCEPT		0x80000050
#define HVMSG_SYNIC_EVENT_INTERCEPT		0x80000060
#define HVMSG_SYNIC_SINT_INTERCEPT		0x80000061
#define HVMSG_SYNIC_SINT_DELIVERABLE		0x80000062
#define HVMSG_ASYNC_CALL_COMPLETION		0x80000070
#define HVMSG_SCHEDULER_VP_SIGNAL_BITSET	0x80000100
#define HVMSG_SCHEDULER_VP_SIGNAL_PAIR		0x80000101
#define HVMSG_X64_IO_PORT_INTERCEPT		0x80010000
#define HVMSG_X64_MSR_INTERCEPT			0x80010001
#define HVMSG_X64_CPUID_INTERCEPT		0x80010002
#define HVMSG_X64_EXCEPTION_INTERCEPT		0x80010003
#define HVMSG_X64_APIC_EOI			0x80010004
#define HVMSG_X64_LEGACY_FP_ERROR		0x80010005
#define HVMSG_X64_IOMMU_PRQ			0x80010006
#define HVMSG_X64_HALT				0x80010007
#define HVMSG_X64_INTERRUPTION_DELIVERABLE	0x80010008
#define HVMSG_X64_SIPI_INTERCEPT		0x80010009
#define HVMSG_ARM64_RESET_INTERCEPT		0x8001000c
#define HVMSG_X64_SEV_VMGEXIT_INTERCEPT		0x80010013

#define HV_MESSAGE_FLAG_MSG_PENDING	(1u << 0)
#define HV_PORT_ID_MASK			0x00ffffffu

union hv_message_flags {
	__u8 asu8;
	__extension__ struct {
		__u8 msg_pending : 1;
		__u8 reserved : 7;
	};
} MSHV_ABI_PACKED;

union hv_port_id {
	__u32 asu32;
	__extension__ struct {
		__u32 id : 24;
		__u32 reserved : 8;
	} MSHV_ABI_PACKED;
} MSHV_ABI_PACKED;

struct hv_message_header {
	__u32 message_type;	/* HVMSG_* */
	__u8 payload_size;	/* valid bytes in the payload */
	union hv_message_flags message_flags;
	__u8 reserved[2];
	__extension__ union {
		__u64 sender;
		union hv_port_id port;
	};
} MSHV_ABI_PACKED;

struct hv_message {
	struct hv_message_header header;
	union {
		__u64 payload[HV_MESSAGE_PAYLOAD_QWORD_COUNT];
	} u;
} MSHV_ABI_PACKED;

/* Execution state bits (struct hv_x64_intercept_message_header.execution_state). */
#define HV_X64_EXECUTION_STATE_CPL_MASK		0x0003
#define HV_X64_EXECUTION_STATE_CR0_PE		(1u << 2)
#define HV_X64_EXECUTION_STATE_CR0_AM		(1u << 3)
#define HV_X64_EXECUTION_STATE_EFER_LMA		(1u << 4)
#define HV_X64_EXECUTION_STATE_DEBUG_ACTIVE	(1u << 5)
#define HV_X64_EXECUTION_STATE_INTERRUPTION_PENDING (1u << 6)
#define HV_X64_EXECUTION_STATE_VTL_SHIFT	7
#define HV_X64_EXECUTION_STATE_VTL_MASK		(0xfu << 7)
#define HV_X64_EXECUTION_STATE_ENCLAVE_MODE	(1u << 11)
#define HV_X64_EXECUTION_STATE_INTERRUPT_SHADOW	(1u << 12)
#define HV_X64_EXECUTION_STATE_VIRTUALIZATION_FAULT_ACTIVE (1u << 13)

union hv_x64_vp_execution_state {
	__u16 as_uint16;
	__extension__ struct {
		__u16 cpl : 2;
		__u16 cr0_pe : 1;
		__u16 cr0_am : 1;
		__u16 efer_lma : 1;
		__u16 debug_active : 1;
		__u16 interruption_pending : 1;
		__u16 vtl : 4;
		__u16 enclave_mode : 1;
		__u16 interrupt_shadow : 1;
		__u16 virtualization_fault_active : 1;
		__u16 reserved : 2;
	} MSHV_ABI_PACKED;
} MSHV_ABI_PACKED;

/* intercept_access_type values. */
#define HV_X64_INTERCEPT_ACCESS_READ	0
#define HV_X64_INTERCEPT_ACCESS_WRITE	1
#define HV_X64_INTERCEPT_ACCESS_EXECUTE	2
/* Short kernel-style aliases. */
#define HV_INTERCEPT_ACCESS_READ	HV_X64_INTERCEPT_ACCESS_READ
#define HV_INTERCEPT_ACCESS_WRITE	HV_X64_INTERCEPT_ACCESS_WRITE
#define HV_INTERCEPT_ACCESS_EXECUTE	HV_X64_INTERCEPT_ACCESS_EXECUTE

/* Byte 4 of the intercept header: instruction length (bits 0-3) and CR8 (bits 4-7). */
#define HV_X64_INTERCEPT_INSTRUCTION_LENGTH_MASK	0x0f
#define HV_X64_INTERCEPT_CR8_SHIFT			4

struct hv_x64_intercept_message_header {
	__u32 vp_index;
	__extension__ __u8 instruction_length : 4;
	__extension__ __u8 cr8 : 4;	/* exo partitions only */
	__u8 intercept_access_type;	/* HV_X64_INTERCEPT_ACCESS_* */
	union hv_x64_vp_execution_state execution_state;
	struct hv_x64_segment_register cs_segment;
	__u64 rip;		/* of the intercepted instruction: MSHV does not advance it */
	__u64 rflags;
} MSHV_ABI_PACKED;

/* IO port access info. */
#define HV_X64_IO_PORT_ACCESS_SIZE_MASK		0x07
#define HV_X64_IO_PORT_ACCESS_STRING_OP		(1u << 3)
#define HV_X64_IO_PORT_ACCESS_REP_PREFIX	(1u << 4)

union hv_x64_io_port_access_info {
	__u8 as_uint8;
	__extension__ struct {
		__u8 access_size : 3;	/* 1, 2 or 4 */
		__u8 string_op : 1;
		__u8 rep_prefix : 1;
		__u8 reserved : 3;
	};
} MSHV_ABI_PACKED;

struct hv_x64_io_port_intercept_message {
	struct hv_x64_intercept_message_header header;
	__u16 port_number;
	union hv_x64_io_port_access_info access_info;
	__u8 instruction_byte_count;
	__u32 reserved;
	__u64 rax;
	__u8 instruction_bytes[16];
	struct hv_x64_segment_register ds_segment;
	struct hv_x64_segment_register es_segment;
	__u64 rcx;
	__u64 rsi;
	__u64 rdi;
} MSHV_ABI_PACKED;

/* Memory access info. */
#define HV_X64_MEMORY_ACCESS_GVA_VALID			(1u << 0)
#define HV_X64_MEMORY_ACCESS_GVA_GPA_VALID		(1u << 1)
#define HV_X64_MEMORY_ACCESS_HYPERCALL_OUTPUT_PENDING	(1u << 2)
#define HV_X64_MEMORY_ACCESS_TLB_LOCKED_NO_OVERLAY	(1u << 3)

union hv_x64_memory_access_info {
	__u8 as_uint8;
	__extension__ struct {
		__u8 gva_valid : 1;
		__u8 gva_gpa_valid : 1;
		__u8 hypercall_output_pending : 1;
		__u8 tlb_locked_no_overlay : 1;
		__u8 reserved : 4;
	};
} MSHV_ABI_PACKED;

/* HVMSG_UNMAPPED_GPA, HVMSG_GPA_INTERCEPT, HVMSG_UNACCEPTED_GPA. */
struct hv_x64_memory_intercept_message {
	struct hv_x64_intercept_message_header header;
	__u32 cache_type;
	__u8 instruction_byte_count;
	union hv_x64_memory_access_info memory_access_info;
	__u8 tpr_priority;
	__u8 reserved1;
	__u64 guest_virtual_address;
	__u64 guest_physical_address;
	__u8 instruction_bytes[16];
} MSHV_ABI_PACKED;

struct hv_x64_cpuid_intercept_message {
	struct hv_x64_intercept_message_header header;
	__u64 rax;
	__u64 rcx;
	__u64 rdx;
	__u64 rbx;
	__u64 default_result_rax;
	__u64 default_result_rcx;
	__u64 default_result_rdx;
	__u64 default_result_rbx;
} MSHV_ABI_PACKED;

/* header.intercept_access_type: 0 = RDMSR, 1 = WRMSR. */
struct hv_x64_msr_intercept_message {
	struct hv_x64_intercept_message_header header;
	__u32 msr_number;
	__u32 reserved;
	__u64 rdx;
	__u64 rax;
} MSHV_ABI_PACKED;

#define HV_X64_EXCEPTION_INFO_ERROR_CODE_VALID		(1u << 0)
#define HV_X64_EXCEPTION_INFO_SOFTWARE_EXCEPTION	(1u << 1)

union hv_x64_exception_info {
	__u8 as_uint8;
	__extension__ struct {
		__u8 error_code_valid : 1;
		__u8 software_exception : 1;
		__u8 reserved : 6;
	};
} MSHV_ABI_PACKED;

struct hv_x64_exception_intercept_message {
	struct hv_x64_intercept_message_header header;
	__u16 exception_vector;
	union hv_x64_exception_info exception_info;
	__u8 instruction_byte_count;
	__u32 error_code;
	__u64 exception_parameter;
	__u64 reserved;
	__u8 instruction_bytes[16];
	struct hv_x64_segment_register ds_segment;
	struct hv_x64_segment_register ss_segment;
	__u64 rax;
	__u64 rcx;
	__u64 rdx;
	__u64 rbx;
	__u64 rsp;
	__u64 rbp;
	__u64 rsi;
	__u64 rdi;
	__u64 r8;
	__u64 r9;
	__u64 r10;
	__u64 r11;
	__u64 r12;
	__u64 r13;
	__u64 r14;
	__u64 r15;
} MSHV_ABI_PACKED;

/* HVMSG_X64_APIC_EOI: no intercept header. */
struct hv_x64_apic_eoi_message {
	__u32 vp_index;
	__u32 interrupt_vector;
} MSHV_ABI_PACKED;

struct hv_x64_sipi_intercept_message {
	struct hv_x64_intercept_message_header header;
	__u32 target_vp_index;
	__u32 interrupt_vector;
} MSHV_ABI_PACKED;

struct hv_x64_halt_message {
	struct hv_x64_intercept_message_header header;
} MSHV_ABI_PACKED;

struct hv_x64_unrecoverable_exception_message {
	struct hv_x64_intercept_message_header header;
} MSHV_ABI_PACKED;

#define HV_X64_PENDING_INTERRUPT_DELIVERABLE	0
#define HV_X64_PENDING_NMI_DELIVERABLE		2
#define HV_X64_PENDING_EXCEPTION_DELIVERABLE	3

struct hv_x64_interruption_deliverable_message {
	struct hv_x64_intercept_message_header header;
	__u32 deliverable_type;	/* HV_X64_PENDING_*_DELIVERABLE */
	__u32 rsvd;
} MSHV_ABI_PACKED;

struct hv_x64_invalid_vp_register_message {
	__u32 vp_index;
	__u32 reserved;
} MSHV_ABI_PACKED;

#define HV_UNSUPPORTED_FEATURE_INTERCEPT	1
#define HV_UNSUPPORTED_FEATURE_TASK_SWITCH_TSS	2

struct hv_x64_unsupported_feature_message {
	__u32 vp_index;
	__u32 feature_code;
	__u64 feature_parameter;
} MSHV_ABI_PACKED;

/* The real message is only in the mapped intercept page. */
struct hv_opaque_intercept_message {
	__u32 vp_index;
} MSHV_ABI_PACKED;

struct hv_x64_hypercall_intercept_message {
	struct hv_x64_intercept_message_header header;
	__u64 rax;
	__u64 rbx;
	__u64 rcx;
	__u64 rdx;
	__u64 r8;
	__u64 rsi;
	__u64 rdi;
	struct hv_u128 xmmregisters[6];
	__extension__ struct {
		__u32 isolated : 1;
		__u32 reserved : 31;
	} MSHV_ABI_PACKED;
} MSHV_ABI_PACKED;

/* ---- VP register page (mmap offset 0, fact sheet §5.5) -------------------------------------- */

#define HV_VP_REGISTER_PAGE_VERSION_1	1

/* Register classes for hv_vp_register_page.dirty. */
#define HV_X64_REGISTER_CLASS_GENERAL	0	/* RAX..R15 */
#define HV_X64_REGISTER_CLASS_IP	1
#define HV_X64_REGISTER_CLASS_XMM	2
#define HV_X64_REGISTER_CLASS_SEGMENT	3
#define HV_X64_REGISTER_CLASS_FLAGS	4

#define HV_VP_REGISTER_PAGE_MAX_VECTOR_COUNT	7

/*
 * Layout of rust-vmm/QEMU (8-byte reserved gap after rflags). Offsets 0-151 (version, isvalid,
 * dirty, GPRs, RIP, RFLAGS) agree in every source. The kernel's own hvhdk.h has no gap, which
 * would move xmm0 to 152, segments to 248, cr0 to 344 and interrupt_vectors to 680: everything
 * from `reserved` on is UNCONFIRMED. libmshv uses only offsets < 152.
 */
struct hv_vp_register_page {
	__u16 version;
	__u8 isvalid;
	__u8 rsvdz;
	__u32 dirty;		/* 1 << HV_X64_REGISTER_CLASS_* */
	__extension__ union {
		__extension__ struct {
			__u64 rax;
			__u64 rcx;
			__u64 rdx;
			__u64 rbx;
			__u64 rsp;
			__u64 rbp;
			__u64 rsi;
			__u64 rdi;
			__u64 r8;
			__u64 r9;
			__u64 r10;
			__u64 r11;
			__u64 r12;
			__u64 r13;
			__u64 r14;
			__u64 r15;
		} MSHV_ABI_PACKED;
		__u64 gp_registers[16];
	};
	__u64 rip;
	__u64 rflags;
	__u64 reserved;		/* UNCONFIRMED: absent in the kernel's hvhdk.h */
	__extension__ union {
		__extension__ struct {
			struct hv_u128 xmm0;
			struct hv_u128 xmm1;
			struct hv_u128 xmm2;
			struct hv_u128 xmm3;
			struct hv_u128 xmm4;
			struct hv_u128 xmm5;
		} MSHV_ABI_PACKED;
		struct hv_u128 xmm_registers[6];
	};
	__extension__ union {
		__extension__ struct {
			struct hv_x64_segment_register es;
			struct hv_x64_segment_register cs;
			struct hv_x64_segment_register ss;
			struct hv_x64_segment_register ds;
			struct hv_x64_segment_register fs;
			struct hv_x64_segment_register gs;
		} MSHV_ABI_PACKED;
		struct hv_x64_segment_register segment_registers[6];
	};
	/* Read-only through the page. */
	__u64 cr0;
	__u64 cr3;
	__u64 cr4;
	__u64 cr8;
	__u64 efer;
	__u64 dr7;
	union hv_x64_pending_interruption_register pending_interruption;
	union hv_x64_interrupt_state_register interrupt_state;
	__u64 instruction_emulation_hints;
	__u64 xfem;
	__u8 reserved1[256];
	__extension__ union {
		__extension__ struct {
			__u8 vector_count;
			__u8 vector[HV_VP_REGISTER_PAGE_MAX_VECTOR_COUNT];
		};
		__u64 as_uint64;
	} interrupt_vectors;
} MSHV_ABI_PACKED;

/* Offsets the kernel's hvhdk.h layout would give (no gap); for runtime self-checks. */
#define HV_VP_REGISTER_PAGE_KERNEL_XMM0_OFFSET		152
#define HV_VP_REGISTER_PAGE_KERNEL_SEGMENTS_OFFSET	248
#define HV_VP_REGISTER_PAGE_KERNEL_CR0_OFFSET		344
#define HV_VP_REGISTER_PAGE_KERNEL_INTERRUPT_VECTORS_OFFSET 680

/* ---- VP state (MSHV_GET/SET_VP_STATE, fact sheet §3.10, §5.6) ------------------------------- */

/* The first 176 bytes of the MSHV_VP_STATE_LAPIC page. */
struct hv_local_interrupt_controller_state {
	__u32 apic_id;
	__u32 apic_version;
	__u32 apic_ldr;
	__u32 apic_dfr;
	__u32 apic_spurious;
	__u32 apic_isr[8];
	__u32 apic_tmr[8];
	__u32 apic_irr[8];
	__u32 apic_esr;
	__u32 apic_icr_high;
	__u32 apic_icr_low;
	__u32 apic_lvt_timer;
	__u32 apic_lvt_thermal;
	__u32 apic_lvt_perfmon;
	__u32 apic_lvt_lint0;
	__u32 apic_lvt_lint1;
	__u32 apic_lvt_error;
	__u32 apic_lvt_cmci;
	__u32 apic_error_status;
	__u32 apic_initial_count;
	__u32 apic_counter_value;
	__u32 apic_divide_configuration;
	__u32 apic_remote_read;
} MSHV_ABI_PACKED;

/*
 * MSHV_VP_STATE_SYNTHETIC_TIMERS: 200 bytes. The fact sheet says "4 x 48-byte timers + 5 x u64",
 * which would be 232; 200 bytes means 40-byte timers. Field names: UNCONFIRMED.
 */
struct hv_stimer_state {
	__u32 flags;		/* bit 0: undelivered message pending */
	__u32 resvd;
	__u64 config;
	__u64 count;
	__u64 adjustment;
	__u64 undelivered_exp_time;
} MSHV_ABI_PACKED;

struct hv_synthetic_timers_state {
	struct hv_stimer_state timers[4];
	__u64 reserved[5];
} MSHV_ABI_PACKED;

/* ==============================================================================================
 * Part 2: mainline uapi (<linux/mshv.h>, fact sheet §2.1-§3.11)
 * ============================================================================================ */

#define MSHV_IOCTL	0xB8

/* Kernel-internal limits the ioctls enforce (mshv_root.h). */
#define MSHV_MAX_VPS		256
#define MSHV_MAX_GUEST_IRQS	4096

/* ---- /dev/mshv: MSHV_CREATE_PARTITION ------------------------------------------------------- */

/* Bit numbers in mshv_create_partition.pt_flags. */
#define MSHV_PT_BIT_LAPIC			0
#define MSHV_PT_BIT_X2APIC			1
#define MSHV_PT_BIT_GPA_SUPER_PAGES		2
#define MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES	3	/* newer kernels: read the v2 struct */
#define MSHV_PT_BIT_NESTED_VIRTUALIZATION	4	/* newest kernels */
#define MSHV_PT_BIT_SMT_ENABLED_GUEST		5	/* newest kernels */
/*
 * Highest count seen. Per mainline generation (fact sheet §11.4): 3 in 6.15-6.18, 4 in 6.19
 * (bit 3 + the v2 struct), 6 from 7.0 (bits 4 and 5). Unknown bits give -EINVAL.
 */
#define MSHV_PT_BIT_COUNT			6
#define MSHV_PT_BIT_COUNT_6_15			3
#define MSHV_PT_BIT_COUNT_6_19			4
#define MSHV_PT_BIT_COUNT_7_0			6
#define MSHV_PT_FLAGS_MASK			((1ULL << MSHV_PT_BIT_COUNT) - 1)

#define MSHV_PT_ISOLATION_NONE	0
#define MSHV_PT_ISOLATION_SNP	1	/* Microsoft kernels only; mainline: -EINVAL */

#define MSHV_NUM_CPU_FEATURES_BANKS	2

struct mshv_create_partition {
	__u64 pt_flags;		/* 1 << MSHV_PT_BIT_* */
	__u64 pt_isolation;	/* MSHV_PT_ISOLATION_* */
};

/* Used when pt_flags has MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES; same request number. */
struct mshv_create_partition_v2 {
	__u64 pt_flags;
	__u64 pt_isolation;
	__u16 pt_num_cpu_fbanks;	/* MSHV_NUM_CPU_FEATURES_BANKS */
	__u8 pt_rsvd[6];
	__u64 pt_cpu_fbanks[MSHV_NUM_CPU_FEATURES_BANKS];	/* 1 = feature disabled */
	__u64 pt_rsvd1[2];
	__u64 pt_disabled_xsave;				/* 1 = xsave feature disabled */
} MSHV_ABI_PACKED;

/* ---- partition fd ---------------------------------------------------------------------------- */

#define MSHV_SET_MEM_BIT_WRITABLE	0
#define MSHV_SET_MEM_BIT_EXECUTABLE	1
#define MSHV_SET_MEM_BIT_UNMAP		2
#define MSHV_SET_MEM_BIT_COUNT		3
#define MSHV_SET_MEM_FLAGS_MASK		((1u << MSHV_SET_MEM_BIT_COUNT) - 1)

struct mshv_user_mem_region {
	__u64 size;		/* bytes, non-zero, page aligned */
	__u64 guest_pfn;
	__u64 userspace_addr;	/* page aligned */
	__u8 flags;		/* 1 << MSHV_SET_MEM_BIT_* */
	__u8 rsvd[7];
};

struct mshv_create_vp {
	__u32 vp_index;		/* < MSHV_MAX_VPS */
};

#define MSHV_IRQFD_BIT_DEASSIGN		0
#define MSHV_IRQFD_BIT_RESAMPLE		1
#define MSHV_IRQFD_BIT_COUNT		2
#define MSHV_IRQFD_FLAGS_MASK		((1u << MSHV_IRQFD_BIT_COUNT) - 1)

struct mshv_user_irqfd {
	__s32 fd;
	__s32 resamplefd;
	__u32 gsi;
	__u32 flags;		/* 1 << MSHV_IRQFD_BIT_* */
};

#define MSHV_IOEVENTFD_BIT_DATAMATCH	0
#define MSHV_IOEVENTFD_BIT_PIO		1	/* not supported: -EOPNOTSUPP */
#define MSHV_IOEVENTFD_BIT_DEASSIGN	2
#define MSHV_IOEVENTFD_BIT_COUNT	3
#define MSHV_IOEVENTFD_FLAGS_MASK	((1u << MSHV_IOEVENTFD_BIT_COUNT) - 1)

struct mshv_user_ioeventfd {
	__u64 datamatch;
	__u64 addr;		/* guest physical MMIO address */
	__u32 len;		/* 0 (any), 1, 2, 4, 8 */
	__s32 fd;
	__u32 flags;		/* 1 << MSHV_IOEVENTFD_BIT_* */
	__u8 rsvd[4];
};

struct mshv_user_irq_entry {
	__u32 gsi;
	__u32 address_lo;
	__u32 address_hi;	/* must be 0 */
	__u32 data;
};

struct mshv_user_irq_table {
	__u32 nr;
	__u32 rsvd;
	struct mshv_user_irq_entry entries[];
};

#define MSHV_GPAP_ACCESS_TYPE_ACCESSED	0
#define MSHV_GPAP_ACCESS_TYPE_DIRTY	1
#define MSHV_GPAP_ACCESS_TYPE_COUNT	2

#define MSHV_GPAP_ACCESS_OP_NOOP	0
#define MSHV_GPAP_ACCESS_OP_CLEAR	1
#define MSHV_GPAP_ACCESS_OP_SET		2
#define MSHV_GPAP_ACCESS_OP_COUNT	3

struct mshv_gpap_access_bitmap {
	__u8 access_type;	/* MSHV_GPAP_ACCESS_TYPE_* */
	__u8 access_op;		/* MSHV_GPAP_ACCESS_OP_*, applied after reading */
	__u8 rsvd[6];
	__u64 page_count;
	__u64 gpap_base;	/* first GFN */
	__u64 bitmap_ptr;	/* ceil(page_count / 8) bytes */
};

/* pt fd and vp fd: pass-through of an allow-listed hypercall. */
struct mshv_root_hvcall {
	__u16 code;		/* HVCALL_* */
	__u16 reps;		/* in: rep count (0 = simple); out: reps completed */
	__u16 in_sz;		/* 8..4096, including rep data */
	__u16 out_sz;		/* 1..4096 when out_ptr != 0 */
	__u16 status;		/* in: 0; out: raw HV_STATUS_* */
	__u8 rsvd[6];
	__u64 in_ptr;
	__u64 out_ptr;
};

/* ---- vp fd ----------------------------------------------------------------------------------- */

#define MSHV_RUN_VP_BUF_SZ	256

struct mshv_run_vp {
	__u8 msg_buf[MSHV_RUN_VP_BUF_SZ];	/* a struct hv_message */
};

#define MSHV_VP_STATE_LAPIC		0	/* 4096 bytes */
#define MSHV_VP_STATE_XSAVE		1	/* MAX_XSAVE_DATA_SIZE bytes, compacted */
#define MSHV_VP_STATE_SIMP		2	/* 4096 bytes */
#define MSHV_VP_STATE_SIEFP		3	/* 4096 bytes */
#define MSHV_VP_STATE_SYNTHETIC_TIMERS	4	/* 200 bytes */
#define MSHV_VP_STATE_COUNT		5

struct mshv_get_set_vp_state {
	__u8 type;		/* MSHV_VP_STATE_* */
	__u8 rsvd[3];
	__u32 buf_sz;		/* in: 4 KiB multiple; out: actual size */
	__u64 buf_ptr;		/* 4 KiB aligned */
};

/* mmap(vp_fd) offsets, in units of the system page size. */
#define MSHV_VP_MMAP_OFFSET_REGISTERS		0
#define MSHV_VP_MMAP_OFFSET_INTERCEPT_MESSAGE	1
#define MSHV_VP_MMAP_OFFSET_GHCB		2
#define MSHV_VP_MMAP_OFFSET_COUNT		3

/* ---- ioctl numbers ---------------------------------------------------------------------------- */

/* /dev/mshv */
#define MSHV_CREATE_PARTITION		_IOW(MSHV_IOCTL, 0x00, struct mshv_create_partition)

/* partition fd */
#define MSHV_INITIALIZE_PARTITION	_IO(MSHV_IOCTL, 0x00)
#define MSHV_CREATE_VP			_IOW(MSHV_IOCTL, 0x01, struct mshv_create_vp)
#define MSHV_SET_GUEST_MEMORY		_IOW(MSHV_IOCTL, 0x02, struct mshv_user_mem_region)
#define MSHV_IRQFD			_IOW(MSHV_IOCTL, 0x03, struct mshv_user_irqfd)
#define MSHV_IOEVENTFD			_IOW(MSHV_IOCTL, 0x04, struct mshv_user_ioeventfd)
#define MSHV_SET_MSI_ROUTING		_IOW(MSHV_IOCTL, 0x05, struct mshv_user_irq_table)
#define MSHV_GET_GPAP_ACCESS_BITMAP	_IOWR(MSHV_IOCTL, 0x06, struct mshv_gpap_access_bitmap)
/* partition fd and vp fd */
#define MSHV_ROOT_HVCALL		_IOWR(MSHV_IOCTL, 0x07, struct mshv_root_hvcall)

/* vp fd */
#define MSHV_RUN_VP			_IOR(MSHV_IOCTL, 0x00, struct mshv_run_vp)
#define MSHV_GET_VP_STATE		_IOWR(MSHV_IOCTL, 0x01, struct mshv_get_set_vp_state)
#define MSHV_SET_VP_STATE		_IOWR(MSHV_IOCTL, 0x02, struct mshv_get_set_vp_state)

/* ==============================================================================================
 * Part 3: Microsoft-kernel extensions (fact sheet §2.2, §2.3, §3.12). Not in mainline (-ENOTTY).
 * Prefix MSHV_EXT_ / mshv_ext_; the Microsoft kernel spells them without "EXT".
 * ============================================================================================ */

/* /dev/mshv, pt fd (GET/SET_PARTITION_PROPERTY). */
struct mshv_ext_partition_property {
	__u32 property_code;	/* HV_PARTITION_PROPERTY_* */
	__u32 pad;
	__u64 property_value;
};

/* MSHV_EXT_CREATE_DEVICE (pt fd). */
#define MSHV_EXT_DEV_TYPE_VFIO		0
#define MSHV_EXT_CREATE_DEVICE_TEST	1	/* only check whether the type is supported */

struct mshv_ext_create_device {
	__u32 type;		/* MSHV_EXT_DEV_TYPE_* */
	__u32 fd;		/* out: device fd */
	__u32 flags;		/* MSHV_EXT_CREATE_DEVICE_TEST */
};

/* Device fd attributes. */
struct mshv_ext_device_attr {
	__u32 flags;
	__u32 group;
	__u64 attr;
	__u64 addr;		/* user pointer to the value */
};

/* MSHV_EXT_MODIFY_GPA_HOST_ACCESS flags. */
#define MSHV_EXT_GPA_HOST_ACCESS_BIT_ACQUIRE	0
#define MSHV_EXT_GPA_HOST_ACCESS_BIT_READABLE	1
#define MSHV_EXT_GPA_HOST_ACCESS_BIT_WRITABLE	2
#define MSHV_EXT_GPA_HOST_ACCESS_BIT_LARGE_PAGE	3

struct mshv_ext_modify_gpa_host_access {
	__u8 flags;		/* 1 << MSHV_EXT_GPA_HOST_ACCESS_BIT_* */
	__u8 rsvd[7];
	__u64 page_count;
	__u64 guest_pfns[];
};

/* MSHV_EXT_IMPORT_ISOLATED_PAGES page types. */
#define MSHV_EXT_ISOLATED_PAGE_NORMAL		0
#define MSHV_EXT_ISOLATED_PAGE_VMSA		1
#define MSHV_EXT_ISOLATED_PAGE_ZERO		2
#define MSHV_EXT_ISOLATED_PAGE_UNMEASURED	3
#define MSHV_EXT_ISOLATED_PAGE_SECRETS		4
#define MSHV_EXT_ISOLATED_PAGE_CPUID		5

struct mshv_ext_import_isolated_pages {
	__u8 page_type;		/* MSHV_EXT_ISOLATED_PAGE_* */
	__u8 rsvd[7];
	__u64 page_count;
	__u64 guest_pfns[];
};

struct mshv_ext_install_intercept {
	__u32 access_type_mask;		/* HV_INTERCEPT_ACCESS_MASK_* */
	__u32 intercept_type;		/* HV_INTERCEPT_TYPE_* */
	union hv_intercept_parameters intercept_parameter;
};

struct mshv_ext_assert_interrupt {
	union hv_interrupt_control control;
	__u64 dest_addr;
	__u32 vector;
	__u32 rsvd;
};

/*
 * SNP import completion data: 3334 bytes whose inner layout (SNP ID block, auth info, ...) is
 * not described in the fact sheet; libmshv passes it through unchanged.
 */
#define MSHV_EXT_COMPLETE_ISOLATED_IMPORT_SIZE	3334

struct mshv_ext_complete_isolated_import {
	__u8 data[MSHV_EXT_COMPLETE_ISOLATED_IMPORT_SIZE];
};

/* 16-byte arguments whose field names come from rust-vmm, not the fact sheet (UNCONFIRMED). */
struct mshv_ext_issue_psp_guest_request {
	__u64 req_ppa;
	__u64 rsp_ppa;
};

struct mshv_ext_sev_snp_ap_create {
	__u64 vp_id;
	__u64 vmsa_gpa;
};

struct mshv_ext_signal_event_direct {
	__u32 vp;
	__u8 vtl;
	__u8 sint;
	__u16 flag;
	__u8 newly_signaled;	/* out */
};

struct mshv_ext_post_message_direct {
	__u32 vp;
	__u8 vtl;
	__u8 sint;
	__u16 length;
	__u64 message;		/* user pointer */
};

struct mshv_ext_register_deliverability_notifications {
	__u32 vp;
	__u32 pad;
	__u64 flag;
};

/* vp fd. */
#define MSHV_EXT_VP_MAX_REGISTERS	128

struct mshv_ext_vp_registers {
	__s32 count;		/* <= MSHV_EXT_VP_MAX_REGISTERS */
	__u32 pad;
	__u64 regs;		/* user pointer to struct hv_register_assoc[count] */
};

struct mshv_ext_translate_gva {
	__u64 gva;
	__u64 flags;		/* HV_TRANSLATE_GVA_* */
	__u64 result;		/* user pointer to union hv_translate_gva_result */
	__u64 gpa;		/* user pointer to __u64 */
};

struct mshv_ext_register_intercept_result {
	__u32 intercept_type;
	union hv_register_intercept_result_parameters parameters;
};

struct mshv_ext_get_vp_cpuid_values {
	__u32 function;
	__u32 index;
	__u64 xfem;
	__u64 xss;
	__u32 eax;		/* out */
	__u32 ebx;
	__u32 ecx;
	__u32 edx;
};

struct mshv_ext_read_write_gpa {
	__u64 base_gpa;
	__u32 byte_count;	/* <= HV_READ_WRITE_GPA_MAX_SIZE */
	__u32 flags;
	__u8 data[HV_READ_WRITE_GPA_MAX_SIZE];
};

/* /dev/mshv */
#define MSHV_EXT_GET_HOST_PARTITION_PROPERTY \
	_IOWR(MSHV_IOCTL, 0x01, struct mshv_ext_partition_property)

/* partition fd */
#define MSHV_EXT_CREATE_DEVICE		_IOWR(MSHV_IOCTL, 0x08, struct mshv_ext_create_device)
#define MSHV_EXT_MODIFY_GPA_HOST_ACCESS	\
	_IOW(MSHV_IOCTL, 0x09, struct mshv_ext_modify_gpa_host_access)
#define MSHV_EXT_IMPORT_ISOLATED_PAGES	\
	_IOW(MSHV_IOCTL, 0x0A, struct mshv_ext_import_isolated_pages)
#define MSHV_EXT_INSTALL_INTERCEPT	_IOW(MSHV_IOCTL, 0xF0, struct mshv_ext_install_intercept)
#define MSHV_EXT_ASSERT_INTERRUPT	_IOW(MSHV_IOCTL, 0xF1, struct mshv_ext_assert_interrupt)
#define MSHV_EXT_SET_PARTITION_PROPERTY	\
	_IOW(MSHV_IOCTL, 0xF2, struct mshv_ext_partition_property)
#define MSHV_EXT_GET_PARTITION_PROPERTY	\
	_IOWR(MSHV_IOCTL, 0xF3, struct mshv_ext_partition_property)
#define MSHV_EXT_COMPLETE_ISOLATED_IMPORT \
	_IOW(MSHV_IOCTL, 0xF4, struct mshv_ext_complete_isolated_import)
#define MSHV_EXT_ISSUE_PSP_GUEST_REQUEST \
	_IOW(MSHV_IOCTL, 0xF5, struct mshv_ext_issue_psp_guest_request)
#define MSHV_EXT_SEV_SNP_AP_CREATE	_IOW(MSHV_IOCTL, 0xF6, struct mshv_ext_sev_snp_ap_create)
#define MSHV_EXT_SIGNAL_EVENT_DIRECT	\
	_IOWR(MSHV_IOCTL, 0xF7, struct mshv_ext_signal_event_direct)
#define MSHV_EXT_POST_MESSAGE_DIRECT	\
	_IOW(MSHV_IOCTL, 0xF8, struct mshv_ext_post_message_direct)
#define MSHV_EXT_REGISTER_DELIVERABILITY_NOTIFICATIONS \
	_IOW(MSHV_IOCTL, 0xF9, struct mshv_ext_register_deliverability_notifications)

/* vp fd */
#define MSHV_EXT_GET_VP_REGISTERS	_IOWR(MSHV_IOCTL, 0xF0, struct mshv_ext_vp_registers)
#define MSHV_EXT_SET_VP_REGISTERS	_IOW(MSHV_IOCTL, 0xF1, struct mshv_ext_vp_registers)
#define MSHV_EXT_TRANSLATE_GVA		_IOWR(MSHV_IOCTL, 0xF2, struct mshv_ext_translate_gva)
/* The same number and layout, posted for mainline in 2026 (merge unconfirmed, §11.5). */
#define MSHV_TRANSLATE_GVA		MSHV_EXT_TRANSLATE_GVA
#define MSHV_EXT_VP_REGISTER_INTERCEPT_RESULT \
	_IOW(MSHV_IOCTL, 0xF3, struct mshv_ext_register_intercept_result)
#define MSHV_EXT_GET_VP_CPUID_VALUES	\
	_IOWR(MSHV_IOCTL, 0xF4, struct mshv_ext_get_vp_cpuid_values)
#define MSHV_EXT_READ_GPA		_IOWR(MSHV_IOCTL, 0xF5, struct mshv_ext_read_write_gpa)
#define MSHV_EXT_WRITE_GPA		_IOW(MSHV_IOCTL, 0xF6, struct mshv_ext_read_write_gpa)

/* device fd */
#define MSHV_EXT_SET_DEVICE_ATTR	_IOW(MSHV_IOCTL, 0x00, struct mshv_ext_device_attr)
#define MSHV_EXT_GET_DEVICE_ATTR	_IOW(MSHV_IOCTL, 0x01, struct mshv_ext_device_attr)
#define MSHV_EXT_HAS_DEVICE_ATTR	_IOW(MSHV_IOCTL, 0x02, struct mshv_ext_device_attr)

/* ---- Size checks every includer gets (the full set is in tests/abi) ------------------------ */

#define MSHV_ABI_ASSERT_SIZE(tag, type, size) \
	__extension__ typedef char mshv_abi_size_check_##tag[(sizeof(type) == (size)) ? 1 : -1]

MSHV_ABI_ASSERT_SIZE(hv_u128, struct hv_u128, 16);
MSHV_ABI_ASSERT_SIZE(create_partition, struct mshv_create_partition, 16);
MSHV_ABI_ASSERT_SIZE(create_partition_v2, struct mshv_create_partition_v2, 64);
MSHV_ABI_ASSERT_SIZE(root_hvcall, struct mshv_root_hvcall, 32);
MSHV_ABI_ASSERT_SIZE(translate_gva, struct mshv_ext_translate_gva, 32);
MSHV_ABI_ASSERT_SIZE(get_property_ex, struct hv_input_get_partition_property_ex, 24);
MSHV_ABI_ASSERT_SIZE(property_banks, struct hv_partition_property_banks, 16);
MSHV_ABI_ASSERT_SIZE(register_assoc, struct hv_register_assoc, 32);
MSHV_ABI_ASSERT_SIZE(intercept_header, struct hv_x64_intercept_message_header, 40);
MSHV_ABI_ASSERT_SIZE(memory_intercept, struct hv_x64_memory_intercept_message, 80);
MSHV_ABI_ASSERT_SIZE(io_port_intercept, struct hv_x64_io_port_intercept_message, 128);
MSHV_ABI_ASSERT_SIZE(message, struct hv_message, 256);
MSHV_ABI_ASSERT_SIZE(post_message_direct, struct hv_input_post_message_direct, 280);
MSHV_ABI_ASSERT_SIZE(vp_register_page, struct hv_vp_register_page, 696);

#undef MSHV_ABI_ASSERT_SIZE

#if defined(__cplusplus)
}
#endif

#endif /* MSHV_MSHV_ABI_H */
