// SPDX-License-Identifier: MIT
// Checks include/mshv/mshv-abi.h against the fact sheet (../shared/mshv-abi.md, sections 2-6):
// every ioctl number (as the literal _IOC value of the tables), struct size, field offset and
// bit position at compile time; bit-field allocation at run time.

#include <stddef.h>

#include <mshv/mshv-abi.h>

#include "check.h"

#define SIZE(type, n)		_Static_assert(sizeof(type) == (n), "sizeof " #type)
#define OFF(type, f, n)		_Static_assert(offsetof(type, f) == (n), #type "." #f)
#define VAL(x, v)		_Static_assert((unsigned long long)(x) == (unsigned long long)(v), #x)

/* ---- §2.1 mainline ioctls --------------------------------------------------------------------- */
VAL(MSHV_IOCTL, 0xB8);
VAL(MSHV_CREATE_PARTITION, 0x4010B800);
VAL(MSHV_INITIALIZE_PARTITION, 0x0000B800);
VAL(MSHV_CREATE_VP, 0x4004B801);
VAL(MSHV_SET_GUEST_MEMORY, 0x4020B802);
VAL(MSHV_IRQFD, 0x4010B803);
VAL(MSHV_IOEVENTFD, 0x4020B804);
VAL(MSHV_SET_MSI_ROUTING, 0x4008B805);
VAL(MSHV_GET_GPAP_ACCESS_BITMAP, 0xC020B806);
VAL(MSHV_ROOT_HVCALL, 0xC020B807);
VAL(MSHV_RUN_VP, 0x8100B800);
VAL(MSHV_GET_VP_STATE, 0xC010B801);
VAL(MSHV_SET_VP_STATE, 0xC010B802);
VAL(MSHV_VP_MMAP_OFFSET_REGISTERS, 0);
VAL(MSHV_VP_MMAP_OFFSET_INTERCEPT_MESSAGE, 1);
VAL(MSHV_VP_MMAP_OFFSET_GHCB, 2);

/* ---- §2.2 / §2.3 Microsoft-kernel ioctls ------------------------------------------------------ */
VAL(MSHV_EXT_GET_HOST_PARTITION_PROPERTY, 0xC010B801);
VAL(MSHV_EXT_CREATE_DEVICE, 0xC00CB808);
VAL(MSHV_EXT_MODIFY_GPA_HOST_ACCESS, 0x4010B809);
VAL(MSHV_EXT_IMPORT_ISOLATED_PAGES, 0x4010B80A);
VAL(MSHV_EXT_INSTALL_INTERCEPT, 0x4010B8F0);
VAL(MSHV_EXT_ASSERT_INTERRUPT, 0x4018B8F1);
VAL(MSHV_EXT_SET_PARTITION_PROPERTY, 0x4010B8F2);
VAL(MSHV_EXT_GET_PARTITION_PROPERTY, 0xC010B8F3);
VAL(MSHV_EXT_COMPLETE_ISOLATED_IMPORT, 0x4D06B8F4);
VAL(MSHV_EXT_ISSUE_PSP_GUEST_REQUEST, 0x4010B8F5);
VAL(MSHV_EXT_SEV_SNP_AP_CREATE, 0x4010B8F6);
VAL(MSHV_EXT_SIGNAL_EVENT_DIRECT, 0xC00CB8F7);
VAL(MSHV_EXT_POST_MESSAGE_DIRECT, 0x4010B8F8);
VAL(MSHV_EXT_REGISTER_DELIVERABILITY_NOTIFICATIONS, 0x4010B8F9);
VAL(MSHV_EXT_GET_VP_REGISTERS, 0xC010B8F0);
VAL(MSHV_EXT_SET_VP_REGISTERS, 0x4010B8F1);
VAL(MSHV_EXT_TRANSLATE_GVA, 0xC020B8F2);
VAL(MSHV_TRANSLATE_GVA, 0xC020B8F2);
VAL(MSHV_EXT_VP_REGISTER_INTERCEPT_RESULT, 0x4030B8F3);
VAL(MSHV_EXT_GET_VP_CPUID_VALUES, 0xC028B8F4);
VAL(MSHV_EXT_READ_GPA, 0xC020B8F5);
VAL(MSHV_EXT_WRITE_GPA, 0x4020B8F6);
VAL(MSHV_EXT_SET_DEVICE_ATTR, 0x4018B800);
VAL(MSHV_EXT_GET_DEVICE_ATTR, 0x4018B801);
VAL(MSHV_EXT_HAS_DEVICE_ATTR, 0x4018B802);

/* ---- §3.1 create partition -------------------------------------------------------------------- */
SIZE(struct mshv_create_partition, 16);
OFF(struct mshv_create_partition, pt_flags, 0);
OFF(struct mshv_create_partition, pt_isolation, 8);
VAL(MSHV_PT_BIT_LAPIC, 0);
VAL(MSHV_PT_BIT_X2APIC, 1);
VAL(MSHV_PT_BIT_GPA_SUPER_PAGES, 2);
VAL(MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES, 3);
VAL(MSHV_PT_BIT_NESTED_VIRTUALIZATION, 4);
VAL(MSHV_PT_BIT_SMT_ENABLED_GUEST, 5);
VAL(MSHV_PT_BIT_COUNT, 6);
VAL(MSHV_PT_BIT_COUNT_6_15, 3);
VAL(MSHV_PT_BIT_COUNT_6_19, 4);
VAL(MSHV_PT_BIT_COUNT_7_0, 6);
VAL(MSHV_PT_FLAGS_MASK, 0x3F);
VAL(MSHV_PT_FLAGS_MASK, 0x3f);
VAL(HV_PARTITION_CREATION_FLAG_LAPIC_ENABLED, 1ULL << 13);
VAL(HV_PARTITION_CREATION_FLAG_X2APIC_CAPABLE, 1ULL << 22);
VAL(HV_PARTITION_CREATION_FLAG_GPA_SUPER_PAGES_ENABLED, 1ULL << 4);
VAL(HV_PARTITION_CREATION_FLAG_NESTED_VIRTUALIZATION_CAPABLE, 1ULL << 1);
VAL(HV_PARTITION_CREATION_FLAG_SMT_ENABLED_GUEST, 1ULL << 0);
VAL(HV_PARTITION_CREATION_FLAG_EXO_PARTITION, 1ULL << 8);
VAL(HV_PARTITION_CREATION_FLAG_INTERCEPT_MESSAGE_PAGE_ENABLED, 1ULL << 19);
VAL(MSHV_PT_ISOLATION_NONE, 0);
VAL(MSHV_PT_ISOLATION_SNP, 1);
VAL(HV_PARTITION_ISOLATION_TYPE_NONE, 0);
VAL(HV_PARTITION_ISOLATION_TYPE_VBS, 1);
VAL(HV_PARTITION_ISOLATION_TYPE_SNP, 2);
VAL(HV_PARTITION_ISOLATION_TYPE_TDX, 3);
VAL(MSHV_NUM_CPU_FEATURES_BANKS, 2);
SIZE(struct mshv_create_partition_v2, 64);
OFF(struct mshv_create_partition_v2, pt_flags, 0);
OFF(struct mshv_create_partition_v2, pt_isolation, 8);
OFF(struct mshv_create_partition_v2, pt_num_cpu_fbanks, 16);
OFF(struct mshv_create_partition_v2, pt_rsvd, 18);
OFF(struct mshv_create_partition_v2, pt_cpu_fbanks, 24);
OFF(struct mshv_create_partition_v2, pt_rsvd1, 40);
OFF(struct mshv_create_partition_v2, pt_disabled_xsave, 56);

/* ---- §3.2 guest memory ------------------------------------------------------------------------ */
SIZE(struct mshv_user_mem_region, 32);
OFF(struct mshv_user_mem_region, size, 0);
OFF(struct mshv_user_mem_region, guest_pfn, 8);
OFF(struct mshv_user_mem_region, userspace_addr, 16);
OFF(struct mshv_user_mem_region, flags, 24);
OFF(struct mshv_user_mem_region, rsvd, 25);
VAL(MSHV_SET_MEM_BIT_WRITABLE, 0);
VAL(MSHV_SET_MEM_BIT_EXECUTABLE, 1);
VAL(MSHV_SET_MEM_BIT_UNMAP, 2);
VAL(MSHV_SET_MEM_FLAGS_MASK, 0x7);

/* ---- §3.3 create VP ---------------------------------------------------------------------------- */
SIZE(struct mshv_create_vp, 4);
OFF(struct mshv_create_vp, vp_index, 0);
VAL(MSHV_MAX_VPS, 256);
VAL(MSHV_MAX_GUEST_IRQS, 4096);

/* ---- §3.4 run VP ------------------------------------------------------------------------------- */
SIZE(struct mshv_run_vp, 256);
VAL(MSHV_RUN_VP_BUF_SZ, 256);

/* ---- §3.5 root hvcall -------------------------------------------------------------------------- */
SIZE(struct mshv_root_hvcall, 32);
OFF(struct mshv_root_hvcall, code, 0);
OFF(struct mshv_root_hvcall, reps, 2);
OFF(struct mshv_root_hvcall, in_sz, 4);
OFF(struct mshv_root_hvcall, out_sz, 6);
OFF(struct mshv_root_hvcall, status, 8);
OFF(struct mshv_root_hvcall, rsvd, 10);
OFF(struct mshv_root_hvcall, in_ptr, 16);
OFF(struct mshv_root_hvcall, out_ptr, 24);

/* ---- §3.6 irqfd -------------------------------------------------------------------------------- */
SIZE(struct mshv_user_irqfd, 16);
OFF(struct mshv_user_irqfd, fd, 0);
OFF(struct mshv_user_irqfd, resamplefd, 4);
OFF(struct mshv_user_irqfd, gsi, 8);
OFF(struct mshv_user_irqfd, flags, 12);
VAL(MSHV_IRQFD_BIT_DEASSIGN, 0);
VAL(MSHV_IRQFD_BIT_RESAMPLE, 1);
VAL(MSHV_IRQFD_FLAGS_MASK, 0x3);

/* ---- §3.7 ioeventfd ---------------------------------------------------------------------------- */
SIZE(struct mshv_user_ioeventfd, 32);
OFF(struct mshv_user_ioeventfd, datamatch, 0);
OFF(struct mshv_user_ioeventfd, addr, 8);
OFF(struct mshv_user_ioeventfd, len, 16);
OFF(struct mshv_user_ioeventfd, fd, 20);
OFF(struct mshv_user_ioeventfd, flags, 24);
OFF(struct mshv_user_ioeventfd, rsvd, 28);
VAL(MSHV_IOEVENTFD_BIT_DATAMATCH, 0);
VAL(MSHV_IOEVENTFD_BIT_PIO, 1);
VAL(MSHV_IOEVENTFD_BIT_DEASSIGN, 2);
VAL(MSHV_IOEVENTFD_FLAGS_MASK, 0x7);

/* ---- §3.8 MSI routing -------------------------------------------------------------------------- */
SIZE(struct mshv_user_irq_table, 8);
OFF(struct mshv_user_irq_table, nr, 0);
OFF(struct mshv_user_irq_table, rsvd, 4);
OFF(struct mshv_user_irq_table, entries, 8);
SIZE(struct mshv_user_irq_entry, 16);
OFF(struct mshv_user_irq_entry, gsi, 0);
OFF(struct mshv_user_irq_entry, address_lo, 4);
OFF(struct mshv_user_irq_entry, address_hi, 8);
OFF(struct mshv_user_irq_entry, data, 12);

/* ---- §3.9 GPAP access bitmap ------------------------------------------------------------------- */
SIZE(struct mshv_gpap_access_bitmap, 32);
OFF(struct mshv_gpap_access_bitmap, access_type, 0);
OFF(struct mshv_gpap_access_bitmap, access_op, 1);
OFF(struct mshv_gpap_access_bitmap, rsvd, 2);
OFF(struct mshv_gpap_access_bitmap, page_count, 8);
OFF(struct mshv_gpap_access_bitmap, gpap_base, 16);
OFF(struct mshv_gpap_access_bitmap, bitmap_ptr, 24);
VAL(MSHV_GPAP_ACCESS_TYPE_ACCESSED, 0);
VAL(MSHV_GPAP_ACCESS_TYPE_DIRTY, 1);
VAL(MSHV_GPAP_ACCESS_OP_NOOP, 0);
VAL(MSHV_GPAP_ACCESS_OP_CLEAR, 1);
VAL(MSHV_GPAP_ACCESS_OP_SET, 2);

/* ---- §3.10 VP state ---------------------------------------------------------------------------- */
SIZE(struct mshv_get_set_vp_state, 16);
OFF(struct mshv_get_set_vp_state, type, 0);
OFF(struct mshv_get_set_vp_state, rsvd, 1);
OFF(struct mshv_get_set_vp_state, buf_sz, 4);
OFF(struct mshv_get_set_vp_state, buf_ptr, 8);
VAL(MSHV_VP_STATE_LAPIC, 0);
VAL(MSHV_VP_STATE_XSAVE, 1);
VAL(MSHV_VP_STATE_SIMP, 2);
VAL(MSHV_VP_STATE_SIEFP, 3);
VAL(MSHV_VP_STATE_SYNTHETIC_TIMERS, 4);
VAL(MSHV_VP_STATE_COUNT, 5);
SIZE(struct hv_synthetic_timers_state, 200);

/* ---- §3.12 non-mainline argument structs ------------------------------------------------------- */
SIZE(struct mshv_ext_vp_registers, 16);
OFF(struct mshv_ext_vp_registers, count, 0);
OFF(struct mshv_ext_vp_registers, regs, 8);
VAL(MSHV_EXT_VP_MAX_REGISTERS, 128);
SIZE(struct mshv_ext_install_intercept, 16);
OFF(struct mshv_ext_install_intercept, access_type_mask, 0);
OFF(struct mshv_ext_install_intercept, intercept_type, 4);
OFF(struct mshv_ext_install_intercept, intercept_parameter, 8);
SIZE(struct mshv_ext_assert_interrupt, 24);
OFF(struct mshv_ext_assert_interrupt, control, 0);
OFF(struct mshv_ext_assert_interrupt, dest_addr, 8);
OFF(struct mshv_ext_assert_interrupt, vector, 16);
OFF(struct mshv_ext_assert_interrupt, rsvd, 20);
SIZE(struct mshv_ext_partition_property, 16);
OFF(struct mshv_ext_partition_property, property_code, 0);
OFF(struct mshv_ext_partition_property, property_value, 8);
SIZE(struct mshv_ext_translate_gva, 32);
OFF(struct mshv_ext_translate_gva, gva, 0);
OFF(struct mshv_ext_translate_gva, flags, 8);
OFF(struct mshv_ext_translate_gva, result, 16);
OFF(struct mshv_ext_translate_gva, gpa, 24);
SIZE(struct mshv_ext_register_intercept_result, 48);
OFF(struct mshv_ext_register_intercept_result, intercept_type, 0);
OFF(struct mshv_ext_register_intercept_result, parameters, 4);
SIZE(struct mshv_ext_signal_event_direct, 12);
OFF(struct mshv_ext_signal_event_direct, vp, 0);
OFF(struct mshv_ext_signal_event_direct, vtl, 4);
OFF(struct mshv_ext_signal_event_direct, sint, 5);
OFF(struct mshv_ext_signal_event_direct, flag, 6);
OFF(struct mshv_ext_signal_event_direct, newly_signaled, 8);
SIZE(struct mshv_ext_post_message_direct, 16);
OFF(struct mshv_ext_post_message_direct, vp, 0);
OFF(struct mshv_ext_post_message_direct, vtl, 4);
OFF(struct mshv_ext_post_message_direct, sint, 5);
OFF(struct mshv_ext_post_message_direct, length, 6);
OFF(struct mshv_ext_post_message_direct, message, 8);
SIZE(struct mshv_ext_register_deliverability_notifications, 16);
OFF(struct mshv_ext_register_deliverability_notifications, vp, 0);
OFF(struct mshv_ext_register_deliverability_notifications, flag, 8);
SIZE(struct mshv_ext_get_vp_cpuid_values, 40);
OFF(struct mshv_ext_get_vp_cpuid_values, function, 0);
OFF(struct mshv_ext_get_vp_cpuid_values, index, 4);
OFF(struct mshv_ext_get_vp_cpuid_values, xfem, 8);
OFF(struct mshv_ext_get_vp_cpuid_values, xss, 16);
OFF(struct mshv_ext_get_vp_cpuid_values, eax, 24);
OFF(struct mshv_ext_get_vp_cpuid_values, ebx, 28);
OFF(struct mshv_ext_get_vp_cpuid_values, ecx, 32);
OFF(struct mshv_ext_get_vp_cpuid_values, edx, 36);
SIZE(struct mshv_ext_read_write_gpa, 32);
OFF(struct mshv_ext_read_write_gpa, base_gpa, 0);
OFF(struct mshv_ext_read_write_gpa, byte_count, 8);
OFF(struct mshv_ext_read_write_gpa, flags, 12);
OFF(struct mshv_ext_read_write_gpa, data, 16);
SIZE(struct mshv_ext_create_device, 12);
OFF(struct mshv_ext_create_device, type, 0);
OFF(struct mshv_ext_create_device, fd, 4);
OFF(struct mshv_ext_create_device, flags, 8);
VAL(MSHV_EXT_DEV_TYPE_VFIO, 0);
VAL(MSHV_EXT_CREATE_DEVICE_TEST, 1);
SIZE(struct mshv_ext_device_attr, 24);
OFF(struct mshv_ext_device_attr, flags, 0);
OFF(struct mshv_ext_device_attr, group, 4);
OFF(struct mshv_ext_device_attr, attr, 8);
OFF(struct mshv_ext_device_attr, addr, 16);
SIZE(struct mshv_ext_modify_gpa_host_access, 16);
OFF(struct mshv_ext_modify_gpa_host_access, flags, 0);
OFF(struct mshv_ext_modify_gpa_host_access, page_count, 8);
OFF(struct mshv_ext_modify_gpa_host_access, guest_pfns, 16);
VAL(MSHV_EXT_GPA_HOST_ACCESS_BIT_ACQUIRE, 0);
VAL(MSHV_EXT_GPA_HOST_ACCESS_BIT_READABLE, 1);
VAL(MSHV_EXT_GPA_HOST_ACCESS_BIT_WRITABLE, 2);
VAL(MSHV_EXT_GPA_HOST_ACCESS_BIT_LARGE_PAGE, 3);
SIZE(struct mshv_ext_import_isolated_pages, 16);
OFF(struct mshv_ext_import_isolated_pages, page_type, 0);
OFF(struct mshv_ext_import_isolated_pages, page_count, 8);
OFF(struct mshv_ext_import_isolated_pages, guest_pfns, 16);
VAL(MSHV_EXT_ISOLATED_PAGE_NORMAL, 0);
VAL(MSHV_EXT_ISOLATED_PAGE_VMSA, 1);
VAL(MSHV_EXT_ISOLATED_PAGE_ZERO, 2);
VAL(MSHV_EXT_ISOLATED_PAGE_UNMEASURED, 3);
VAL(MSHV_EXT_ISOLATED_PAGE_SECRETS, 4);
VAL(MSHV_EXT_ISOLATED_PAGE_CPUID, 5);
SIZE(struct mshv_ext_complete_isolated_import, 3334);
SIZE(struct mshv_ext_issue_psp_guest_request, 16);
SIZE(struct mshv_ext_sev_snp_ap_create, 16);

/* ---- §4.1 message and header ------------------------------------------------------------------- */
SIZE(struct hv_message, 256);
SIZE(struct hv_message_header, 16);
OFF(struct hv_message, header, 0);
OFF(struct hv_message, u.payload, 16);
OFF(struct hv_message_header, message_type, 0);
OFF(struct hv_message_header, payload_size, 4);
OFF(struct hv_message_header, message_flags, 5);
OFF(struct hv_message_header, reserved, 6);
OFF(struct hv_message_header, sender, 8);
OFF(struct hv_message_header, port, 8);
VAL(HV_MESSAGE_SIZE, 256);
VAL(HV_MESSAGE_PAYLOAD_BYTE_COUNT, 240);
VAL(HV_MESSAGE_PAYLOAD_QWORD_COUNT, 30);
VAL(HV_MESSAGE_FLAG_MSG_PENDING, 1u << 0);
VAL(HV_PORT_ID_MASK, 0xffffff);

/* ---- §4.2 message types ------------------------------------------------------------------------ */
VAL(HVMSG_NONE, 0x00000000);
VAL(HVMSG_UNMAPPED_GPA, 0x80000000);
VAL(HVMSG_GPA_INTERCEPT, 0x80000001);
VAL(HVMSG_UNACCEPTED_GPA, 0x80000003);
VAL(HVMSG_GPA_ATTRIBUTE_INTERCEPT, 0x80000004);
VAL(HVMSG_TIMER_EXPIRED, 0x80000010);
VAL(HVMSG_INVALID_VP_REGISTER_VALUE, 0x80000020);
VAL(HVMSG_UNRECOVERABLE_EXCEPTION, 0x80000021);
VAL(HVMSG_UNSUPPORTED_FEATURE, 0x80000022);
VAL(HVMSG_OPAQUE_INTERCEPT, 0x8000003F);
VAL(HVMSG_EVENTLOG_BUFFERCOMPLETE, 0x80000040);
VAL(HVMSG_HYPERCALL_INTERCEPT, 0x80000050);
VAL(HVMSG_SYNIC_EVENT_INTERCEPT, 0x80000060);
VAL(HVMSG_SYNIC_SINT_INTERCEPT, 0x80000061);
VAL(HVMSG_SYNIC_SINT_DELIVERABLE, 0x80000062);
VAL(HVMSG_ASYNC_CALL_COMPLETION, 0x80000070);
VAL(HVMSG_SCHEDULER_VP_SIGNAL_BITSET, 0x80000100);
VAL(HVMSG_SCHEDULER_VP_SIGNAL_PAIR, 0x80000101);
VAL(HVMSG_X64_IO_PORT_INTERCEPT, 0x80010000);
VAL(HVMSG_X64_MSR_INTERCEPT, 0x80010001);
VAL(HVMSG_X64_CPUID_INTERCEPT, 0x80010002);
VAL(HVMSG_X64_EXCEPTION_INTERCEPT, 0x80010003);
VAL(HVMSG_X64_APIC_EOI, 0x80010004);
VAL(HVMSG_X64_LEGACY_FP_ERROR, 0x80010005);
VAL(HVMSG_X64_IOMMU_PRQ, 0x80010006);
VAL(HVMSG_X64_HALT, 0x80010007);
VAL(HVMSG_X64_INTERRUPTION_DELIVERABLE, 0x80010008);
VAL(HVMSG_X64_SIPI_INTERCEPT, 0x80010009);
VAL(HVMSG_ARM64_RESET_INTERCEPT, 0x8001000C);
VAL(HVMSG_X64_SEV_VMGEXIT_INTERCEPT, 0x80010013);

/* ---- §4.3 intercept header --------------------------------------------------------------------- */
SIZE(struct hv_x64_intercept_message_header, 40);
OFF(struct hv_x64_intercept_message_header, vp_index, 0);
OFF(struct hv_x64_intercept_message_header, intercept_access_type, 5);
OFF(struct hv_x64_intercept_message_header, execution_state, 6);
OFF(struct hv_x64_intercept_message_header, cs_segment, 8);
OFF(struct hv_x64_intercept_message_header, rip, 24);
OFF(struct hv_x64_intercept_message_header, rflags, 32);
VAL(HV_X64_INTERCEPT_INSTRUCTION_LENGTH_MASK, 0x0f);
VAL(HV_X64_INTERCEPT_CR8_SHIFT, 4);
VAL(HV_X64_INTERCEPT_ACCESS_READ, 0);
VAL(HV_X64_INTERCEPT_ACCESS_WRITE, 1);
VAL(HV_X64_INTERCEPT_ACCESS_EXECUTE, 2);
SIZE(union hv_x64_vp_execution_state, 2);
VAL(HV_X64_EXECUTION_STATE_CPL_MASK, 0x3);
VAL(HV_X64_EXECUTION_STATE_CR0_PE, 1u << 2);
VAL(HV_X64_EXECUTION_STATE_CR0_AM, 1u << 3);
VAL(HV_X64_EXECUTION_STATE_EFER_LMA, 1u << 4);
VAL(HV_X64_EXECUTION_STATE_DEBUG_ACTIVE, 1u << 5);
VAL(HV_X64_EXECUTION_STATE_INTERRUPTION_PENDING, 1u << 6);
VAL(HV_X64_EXECUTION_STATE_VTL_SHIFT, 7);
VAL(HV_X64_EXECUTION_STATE_VTL_MASK, 0xfu << 7);
VAL(HV_X64_EXECUTION_STATE_ENCLAVE_MODE, 1u << 11);
VAL(HV_X64_EXECUTION_STATE_INTERRUPT_SHADOW, 1u << 12);
VAL(HV_X64_EXECUTION_STATE_VIRTUALIZATION_FAULT_ACTIVE, 1u << 13);

/* ---- §4.4 payloads ------------------------------------------------------------------------------ */
SIZE(struct hv_x64_io_port_intercept_message, 128);
OFF(struct hv_x64_io_port_intercept_message, header, 0);
OFF(struct hv_x64_io_port_intercept_message, port_number, 40);
OFF(struct hv_x64_io_port_intercept_message, access_info, 42);
OFF(struct hv_x64_io_port_intercept_message, instruction_byte_count, 43);
OFF(struct hv_x64_io_port_intercept_message, reserved, 44);
OFF(struct hv_x64_io_port_intercept_message, rax, 48);
OFF(struct hv_x64_io_port_intercept_message, instruction_bytes, 56);
OFF(struct hv_x64_io_port_intercept_message, ds_segment, 72);
OFF(struct hv_x64_io_port_intercept_message, es_segment, 88);
OFF(struct hv_x64_io_port_intercept_message, rcx, 104);
OFF(struct hv_x64_io_port_intercept_message, rsi, 112);
OFF(struct hv_x64_io_port_intercept_message, rdi, 120);
VAL(HV_X64_IO_PORT_ACCESS_SIZE_MASK, 0x7);
VAL(HV_X64_IO_PORT_ACCESS_STRING_OP, 1u << 3);
VAL(HV_X64_IO_PORT_ACCESS_REP_PREFIX, 1u << 4);

SIZE(struct hv_x64_memory_intercept_message, 80);
OFF(struct hv_x64_memory_intercept_message, header, 0);
OFF(struct hv_x64_memory_intercept_message, cache_type, 40);
OFF(struct hv_x64_memory_intercept_message, instruction_byte_count, 44);
OFF(struct hv_x64_memory_intercept_message, memory_access_info, 45);
OFF(struct hv_x64_memory_intercept_message, tpr_priority, 46);
OFF(struct hv_x64_memory_intercept_message, reserved1, 47);
OFF(struct hv_x64_memory_intercept_message, guest_virtual_address, 48);
OFF(struct hv_x64_memory_intercept_message, guest_physical_address, 56);
OFF(struct hv_x64_memory_intercept_message, instruction_bytes, 64);
VAL(HV_X64_MEMORY_ACCESS_GVA_VALID, 1u << 0);
VAL(HV_X64_MEMORY_ACCESS_GVA_GPA_VALID, 1u << 1);
VAL(HV_X64_MEMORY_ACCESS_HYPERCALL_OUTPUT_PENDING, 1u << 2);
VAL(HV_X64_MEMORY_ACCESS_TLB_LOCKED_NO_OVERLAY, 1u << 3);

SIZE(struct hv_x64_cpuid_intercept_message, 104);
OFF(struct hv_x64_cpuid_intercept_message, rax, 40);
OFF(struct hv_x64_cpuid_intercept_message, rcx, 48);
OFF(struct hv_x64_cpuid_intercept_message, rdx, 56);
OFF(struct hv_x64_cpuid_intercept_message, rbx, 64);
OFF(struct hv_x64_cpuid_intercept_message, default_result_rax, 72);
OFF(struct hv_x64_cpuid_intercept_message, default_result_rcx, 80);
OFF(struct hv_x64_cpuid_intercept_message, default_result_rdx, 88);
OFF(struct hv_x64_cpuid_intercept_message, default_result_rbx, 96);

SIZE(struct hv_x64_msr_intercept_message, 64);
OFF(struct hv_x64_msr_intercept_message, msr_number, 40);
OFF(struct hv_x64_msr_intercept_message, reserved, 44);
OFF(struct hv_x64_msr_intercept_message, rdx, 48);
OFF(struct hv_x64_msr_intercept_message, rax, 56);

SIZE(struct hv_x64_halt_message, 40);
SIZE(struct hv_x64_unrecoverable_exception_message, 40);

SIZE(struct hv_x64_exception_intercept_message, 240);
OFF(struct hv_x64_exception_intercept_message, exception_vector, 40);
OFF(struct hv_x64_exception_intercept_message, exception_info, 42);
OFF(struct hv_x64_exception_intercept_message, instruction_byte_count, 43);
OFF(struct hv_x64_exception_intercept_message, error_code, 44);
OFF(struct hv_x64_exception_intercept_message, exception_parameter, 48);
OFF(struct hv_x64_exception_intercept_message, reserved, 56);
OFF(struct hv_x64_exception_intercept_message, instruction_bytes, 64);
OFF(struct hv_x64_exception_intercept_message, ds_segment, 80);
OFF(struct hv_x64_exception_intercept_message, ss_segment, 96);
OFF(struct hv_x64_exception_intercept_message, rax, 112);
OFF(struct hv_x64_exception_intercept_message, rcx, 120);
OFF(struct hv_x64_exception_intercept_message, rdx, 128);
OFF(struct hv_x64_exception_intercept_message, rbx, 136);
OFF(struct hv_x64_exception_intercept_message, rsp, 144);
OFF(struct hv_x64_exception_intercept_message, rbp, 152);
OFF(struct hv_x64_exception_intercept_message, rsi, 160);
OFF(struct hv_x64_exception_intercept_message, rdi, 168);
OFF(struct hv_x64_exception_intercept_message, r8, 176);
OFF(struct hv_x64_exception_intercept_message, r9, 184);
OFF(struct hv_x64_exception_intercept_message, r10, 192);
OFF(struct hv_x64_exception_intercept_message, r11, 200);
OFF(struct hv_x64_exception_intercept_message, r12, 208);
OFF(struct hv_x64_exception_intercept_message, r13, 216);
OFF(struct hv_x64_exception_intercept_message, r14, 224);
OFF(struct hv_x64_exception_intercept_message, r15, 232);
VAL(HV_X64_EXCEPTION_INFO_ERROR_CODE_VALID, 1u << 0);
VAL(HV_X64_EXCEPTION_INFO_SOFTWARE_EXCEPTION, 1u << 1);

SIZE(struct hv_x64_apic_eoi_message, 8);
OFF(struct hv_x64_apic_eoi_message, vp_index, 0);
OFF(struct hv_x64_apic_eoi_message, interrupt_vector, 4);

SIZE(struct hv_x64_sipi_intercept_message, 48);
OFF(struct hv_x64_sipi_intercept_message, target_vp_index, 40);
OFF(struct hv_x64_sipi_intercept_message, interrupt_vector, 44);

SIZE(struct hv_x64_interruption_deliverable_message, 48);
OFF(struct hv_x64_interruption_deliverable_message, deliverable_type, 40);
OFF(struct hv_x64_interruption_deliverable_message, rsvd, 44);
VAL(HV_X64_PENDING_INTERRUPT_DELIVERABLE, 0);
VAL(HV_X64_PENDING_NMI_DELIVERABLE, 2);
VAL(HV_X64_PENDING_EXCEPTION_DELIVERABLE, 3);

SIZE(struct hv_x64_invalid_vp_register_message, 8);
OFF(struct hv_x64_invalid_vp_register_message, vp_index, 0);
OFF(struct hv_x64_invalid_vp_register_message, reserved, 4);
SIZE(struct hv_x64_unsupported_feature_message, 16);
OFF(struct hv_x64_unsupported_feature_message, vp_index, 0);
OFF(struct hv_x64_unsupported_feature_message, feature_code, 4);
OFF(struct hv_x64_unsupported_feature_message, feature_parameter, 8);
VAL(HV_UNSUPPORTED_FEATURE_INTERCEPT, 1);
VAL(HV_UNSUPPORTED_FEATURE_TASK_SWITCH_TSS, 2);
SIZE(struct hv_opaque_intercept_message, 4);

SIZE(struct hv_x64_hypercall_intercept_message, 196);
OFF(struct hv_x64_hypercall_intercept_message, rax, 40);
OFF(struct hv_x64_hypercall_intercept_message, rbx, 48);
OFF(struct hv_x64_hypercall_intercept_message, rcx, 56);
OFF(struct hv_x64_hypercall_intercept_message, rdx, 64);
OFF(struct hv_x64_hypercall_intercept_message, r8, 72);
OFF(struct hv_x64_hypercall_intercept_message, rsi, 80);
OFF(struct hv_x64_hypercall_intercept_message, rdi, 88);
OFF(struct hv_x64_hypercall_intercept_message, xmmregisters, 96);

/* ---- §5.1 register assoc ----------------------------------------------------------------------- */
SIZE(struct hv_register_assoc, 32);
OFF(struct hv_register_assoc, name, 0);
OFF(struct hv_register_assoc, reserved1, 4);
OFF(struct hv_register_assoc, reserved2, 8);
OFF(struct hv_register_assoc, value, 16);
SIZE(union hv_register_value, 16);
SIZE(struct hv_u128, 16);
OFF(struct hv_u128, low_part, 0);
OFF(struct hv_u128, high_part, 8);

/* ---- §5.2 register names ----------------------------------------------------------------------- */
VAL(HV_X64_REGISTER_RAX, 0x00020000);
VAL(HV_X64_REGISTER_RCX, 0x00020001);
VAL(HV_X64_REGISTER_RDX, 0x00020002);
VAL(HV_X64_REGISTER_RBX, 0x00020003);
VAL(HV_X64_REGISTER_RSP, 0x00020004);
VAL(HV_X64_REGISTER_RBP, 0x00020005);
VAL(HV_X64_REGISTER_RSI, 0x00020006);
VAL(HV_X64_REGISTER_RDI, 0x00020007);
VAL(HV_X64_REGISTER_R8, 0x00020008);
VAL(HV_X64_REGISTER_R9, 0x00020009);
VAL(HV_X64_REGISTER_R10, 0x0002000A);
VAL(HV_X64_REGISTER_R11, 0x0002000B);
VAL(HV_X64_REGISTER_R12, 0x0002000C);
VAL(HV_X64_REGISTER_R13, 0x0002000D);
VAL(HV_X64_REGISTER_R14, 0x0002000E);
VAL(HV_X64_REGISTER_R15, 0x0002000F);
VAL(HV_X64_REGISTER_RIP, 0x00020010);
VAL(HV_X64_REGISTER_RFLAGS, 0x00020011);
VAL(HV_X64_REGISTER_XMM0, 0x00030000);
VAL(HV_X64_REGISTER_XMM1, 0x00030001);
VAL(HV_X64_REGISTER_XMM2, 0x00030002);
VAL(HV_X64_REGISTER_XMM3, 0x00030003);
VAL(HV_X64_REGISTER_XMM4, 0x00030004);
VAL(HV_X64_REGISTER_XMM5, 0x00030005);
VAL(HV_X64_REGISTER_XMM6, 0x00030006);
VAL(HV_X64_REGISTER_XMM7, 0x00030007);
VAL(HV_X64_REGISTER_XMM8, 0x00030008);
VAL(HV_X64_REGISTER_XMM9, 0x00030009);
VAL(HV_X64_REGISTER_XMM10, 0x0003000A);
VAL(HV_X64_REGISTER_XMM11, 0x0003000B);
VAL(HV_X64_REGISTER_XMM12, 0x0003000C);
VAL(HV_X64_REGISTER_XMM13, 0x0003000D);
VAL(HV_X64_REGISTER_XMM14, 0x0003000E);
VAL(HV_X64_REGISTER_XMM15, 0x0003000F);
VAL(HV_X64_REGISTER_FP_MMX0, 0x00030010);
VAL(HV_X64_REGISTER_FP_MMX1, 0x00030011);
VAL(HV_X64_REGISTER_FP_MMX2, 0x00030012);
VAL(HV_X64_REGISTER_FP_MMX3, 0x00030013);
VAL(HV_X64_REGISTER_FP_MMX4, 0x00030014);
VAL(HV_X64_REGISTER_FP_MMX5, 0x00030015);
VAL(HV_X64_REGISTER_FP_MMX6, 0x00030016);
VAL(HV_X64_REGISTER_FP_MMX7, 0x00030017);
VAL(HV_X64_REGISTER_FP_CONTROL_STATUS, 0x00030018);
VAL(HV_X64_REGISTER_XMM_CONTROL_STATUS, 0x00030019);
VAL(HV_X64_REGISTER_PENDING_INTERRUPTION, 0x00010002);
VAL(HV_X64_REGISTER_INTERRUPT_STATE, 0x00010003);
VAL(HV_X64_REGISTER_PENDING_EVENT0, 0x00010004);
VAL(HV_X64_REGISTER_PENDING_EVENT1, 0x00010005);
VAL(HV_X64_REGISTER_DELIVERABILITY_NOTIFICATIONS, 0x00010006);
VAL(HV_X64_REGISTER_EXPLICIT_SUSPEND, 0x0);
VAL(HV_X64_REGISTER_INTERCEPT_SUSPEND, 0x1);
VAL(HV_X64_REGISTER_DISPATCH_SUSPEND, 0x3);
VAL(HV_X64_REGISTER_INTERNAL_ACTIVITY_STATE, 0x4);
VAL(HV_REGISTER_EXPLICIT_SUSPEND, 0x0);
VAL(HV_REGISTER_INTERCEPT_SUSPEND, 0x1);
VAL(HV_REGISTER_DISPATCH_SUSPEND, 0x3);
VAL(HV_REGISTER_INTERNAL_ACTIVITY_STATE, 0x4);
VAL(HV_REGISTER_PENDING_INTERRUPTION, 0x00010002);
VAL(HV_REGISTER_INTERRUPT_STATE, 0x00010003);
VAL(HV_REGISTER_PENDING_EVENT0, 0x00010004);
VAL(HV_REGISTER_PENDING_EVENT1, 0x00010005);
VAL(HV_X64_REGISTER_VP_INDEX, 0x00090003);
VAL(HV_X64_REGISTER_VP_RUNTIME, 0x00090000);
VAL(HV_REGISTER_VP_INDEX, 0x00090003);
VAL(HV_REGISTER_VP_RUNTIME, 0x00090000);
VAL(HV_X64_REGISTER_HYPERCALL, 0x00090001);
VAL(HV_X64_REGISTER_CR0, 0x00040000);
VAL(HV_X64_REGISTER_CR2, 0x00040001);
VAL(HV_X64_REGISTER_CR3, 0x00040002);
VAL(HV_X64_REGISTER_CR4, 0x00040003);
VAL(HV_X64_REGISTER_CR8, 0x00040004);
VAL(HV_X64_REGISTER_XFEM, 0x00040005);
VAL(HV_X64_REGISTER_INTERMEDIATE_CR0, 0x00041000);
VAL(HV_X64_REGISTER_INTERMEDIATE_CR3, 0x00041002);
VAL(HV_X64_REGISTER_INTERMEDIATE_CR4, 0x00041003);
VAL(HV_X64_REGISTER_INTERMEDIATE_CR8, 0x00041004);
VAL(HV_X64_REGISTER_DR0, 0x00050000);
VAL(HV_X64_REGISTER_DR1, 0x00050001);
VAL(HV_X64_REGISTER_DR2, 0x00050002);
VAL(HV_X64_REGISTER_DR3, 0x00050003);
VAL(HV_X64_REGISTER_DR6, 0x00050004);
VAL(HV_X64_REGISTER_DR7, 0x00050005);
VAL(HV_X64_REGISTER_ES, 0x00060000);
VAL(HV_X64_REGISTER_CS, 0x00060001);
VAL(HV_X64_REGISTER_SS, 0x00060002);
VAL(HV_X64_REGISTER_DS, 0x00060003);
VAL(HV_X64_REGISTER_FS, 0x00060004);
VAL(HV_X64_REGISTER_GS, 0x00060005);
VAL(HV_X64_REGISTER_LDTR, 0x00060006);
VAL(HV_X64_REGISTER_TR, 0x00060007);
VAL(HV_X64_REGISTER_IDTR, 0x00070000);
VAL(HV_X64_REGISTER_GDTR, 0x00070001);
VAL(HV_X64_REGISTER_TSC, 0x00080000);
VAL(HV_X64_REGISTER_EFER, 0x00080001);
VAL(HV_X64_REGISTER_KERNEL_GS_BASE, 0x00080002);
VAL(HV_X64_REGISTER_APIC_BASE, 0x00080003);
VAL(HV_X64_REGISTER_PAT, 0x00080004);
VAL(HV_X64_REGISTER_SYSENTER_CS, 0x00080005);
VAL(HV_X64_REGISTER_SYSENTER_EIP, 0x00080006);
VAL(HV_X64_REGISTER_SYSENTER_ESP, 0x00080007);
VAL(HV_X64_REGISTER_STAR, 0x00080008);
VAL(HV_X64_REGISTER_LSTAR, 0x00080009);
VAL(HV_X64_REGISTER_CSTAR, 0x0008000A);
VAL(HV_X64_REGISTER_SFMASK, 0x0008000B);
VAL(HV_X64_REGISTER_MSR_MTRR_CAP, 0x0008000D);
VAL(HV_X64_REGISTER_MSR_MTRR_DEF_TYPE, 0x0008000E);
VAL(HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0, 0x00080010);
VAL(HV_X64_REGISTER_MSR_MTRR_PHYS_BASEF, 0x0008001F);
VAL(HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0, 0x00080040);
VAL(HV_X64_REGISTER_MSR_MTRR_PHYS_MASKF, 0x0008004F);
VAL(HV_X64_REGISTER_MSR_MTRR_PHYS_BASE(0xF), 0x0008001F);
VAL(HV_X64_REGISTER_MSR_MTRR_PHYS_MASK(0xF), 0x0008004F);
VAL(HV_X64_REGISTER_TSC_AUX, 0x0008007B);
VAL(HV_X64_REGISTER_SPEC_CTRL, 0x00080084);
VAL(HV_X64_REGISTER_U_XSS, 0x0008008B);
VAL(HV_X64_REGISTER_SEV_CONTROL, 0x00090040);
VAL(HV_X64_REGISTER_GHCB, 0x00090019);

/* ---- §5.3 segment / table / other register values ---------------------------------------------- */
SIZE(struct hv_x64_segment_register, 16);
OFF(struct hv_x64_segment_register, base, 0);
OFF(struct hv_x64_segment_register, limit, 8);
OFF(struct hv_x64_segment_register, selector, 12);
OFF(struct hv_x64_segment_register, attributes, 14);
VAL(HV_X64_SEGMENT_ATTR_TYPE_MASK, 0xf);
VAL(HV_X64_SEGMENT_ATTR_S, 1u << 4);
VAL(HV_X64_SEGMENT_ATTR_DPL_SHIFT, 5);
VAL(HV_X64_SEGMENT_ATTR_DPL_MASK, 3u << 5);
VAL(HV_X64_SEGMENT_ATTR_P, 1u << 7);
VAL(HV_X64_SEGMENT_ATTR_AVL, 1u << 12);
VAL(HV_X64_SEGMENT_ATTR_L, 1u << 13);
VAL(HV_X64_SEGMENT_ATTR_DB, 1u << 14);
VAL(HV_X64_SEGMENT_ATTR_G, 1u << 15);
SIZE(struct hv_x64_table_register, 16);
OFF(struct hv_x64_table_register, pad, 0);
OFF(struct hv_x64_table_register, limit, 6);
OFF(struct hv_x64_table_register, base, 8);
VAL(HV_X64_PENDING_INTERRUPTION_PENDING, 1ULL << 0);
VAL(HV_X64_PENDING_INTERRUPTION_TYPE_SHIFT, 1);
VAL(HV_X64_PENDING_INTERRUPTION_TYPE_MASK, 0xEULL);
VAL(HV_X64_PENDING_INTERRUPTION_DELIVER_ERROR_CODE, 1ULL << 4);
VAL(HV_X64_PENDING_INTERRUPTION_INSTR_LEN_SHIFT, 5);
VAL(HV_X64_PENDING_INTERRUPTION_INSTR_LEN_MASK, 0x1E0ULL);
VAL(HV_X64_PENDING_INTERRUPTION_NESTED_EVENT, 1ULL << 9);
VAL(HV_X64_PENDING_INTERRUPTION_VECTOR_SHIFT, 16);
VAL(HV_X64_PENDING_INTERRUPTION_VECTOR_MASK, 0xFFFF0000ULL);
VAL(HV_X64_PENDING_INTERRUPTION_ERROR_CODE_SHIFT, 32);
VAL(HV_X64_PENDING_INTERRUPTION_ERROR_CODE_MASK, 0xFFFFFFFF00000000ULL);
VAL(HV_X64_INTERRUPT_STATE_INTERRUPT_SHADOW, 1ULL << 0);
VAL(HV_X64_INTERRUPT_STATE_NMI_MASKED, 1ULL << 1);
VAL(HV_X64_SUSPEND_BIT, 1ULL << 0);
VAL(HV_INTERNAL_ACTIVITY_STARTUP_SUSPEND, 1ULL << 0);
VAL(HV_INTERNAL_ACTIVITY_HALT_SUSPEND, 1ULL << 1);
VAL(HV_INTERNAL_ACTIVITY_IDLE_SUSPEND, 1ULL << 2);
SIZE(union hv_x64_fp_control_status_register, 16);
OFF(union hv_x64_fp_control_status_register, fp_control, 0);
OFF(union hv_x64_fp_control_status_register, fp_status, 2);
OFF(union hv_x64_fp_control_status_register, fp_tag, 4);
OFF(union hv_x64_fp_control_status_register, reserved, 5);
OFF(union hv_x64_fp_control_status_register, last_fp_op, 6);
OFF(union hv_x64_fp_control_status_register, last_fp_rip, 8);
SIZE(union hv_x64_xmm_control_status_register, 16);
OFF(union hv_x64_xmm_control_status_register, last_fp_rdp, 0);
OFF(union hv_x64_xmm_control_status_register, xmm_status_control, 8);
OFF(union hv_x64_xmm_control_status_register, xmm_status_control_mask, 12);
SIZE(union hv_x64_fp_register, 16);
SIZE(union hv_x64_pending_interruption_register, 8);
SIZE(union hv_x64_interrupt_state_register, 8);
SIZE(union hv_internal_activity_register, 8);

/* ---- §5.5 VP register page (rust-vmm layout; >= 152 UNCONFIRMED) ------------------------------- */
SIZE(struct hv_vp_register_page, 696);
OFF(struct hv_vp_register_page, version, 0);
OFF(struct hv_vp_register_page, isvalid, 2);
OFF(struct hv_vp_register_page, rsvdz, 3);
OFF(struct hv_vp_register_page, dirty, 4);
OFF(struct hv_vp_register_page, rax, 8);
OFF(struct hv_vp_register_page, rcx, 16);
OFF(struct hv_vp_register_page, rdx, 24);
OFF(struct hv_vp_register_page, rbx, 32);
OFF(struct hv_vp_register_page, rsp, 40);
OFF(struct hv_vp_register_page, rbp, 48);
OFF(struct hv_vp_register_page, rsi, 56);
OFF(struct hv_vp_register_page, rdi, 64);
OFF(struct hv_vp_register_page, r8, 72);
OFF(struct hv_vp_register_page, r15, 128);
OFF(struct hv_vp_register_page, gp_registers, 8);
OFF(struct hv_vp_register_page, rip, 136);
OFF(struct hv_vp_register_page, rflags, 144);
OFF(struct hv_vp_register_page, reserved, 152);
OFF(struct hv_vp_register_page, xmm0, 160);
OFF(struct hv_vp_register_page, xmm5, 240);
OFF(struct hv_vp_register_page, es, 256);
OFF(struct hv_vp_register_page, cs, 272);
OFF(struct hv_vp_register_page, ss, 288);
OFF(struct hv_vp_register_page, ds, 304);
OFF(struct hv_vp_register_page, fs, 320);
OFF(struct hv_vp_register_page, gs, 336);
OFF(struct hv_vp_register_page, cr0, 352);
OFF(struct hv_vp_register_page, cr3, 360);
OFF(struct hv_vp_register_page, cr4, 368);
OFF(struct hv_vp_register_page, cr8, 376);
OFF(struct hv_vp_register_page, efer, 384);
OFF(struct hv_vp_register_page, dr7, 392);
OFF(struct hv_vp_register_page, pending_interruption, 400);
OFF(struct hv_vp_register_page, interrupt_state, 408);
OFF(struct hv_vp_register_page, instruction_emulation_hints, 416);
OFF(struct hv_vp_register_page, xfem, 424);
OFF(struct hv_vp_register_page, reserved1, 432);
OFF(struct hv_vp_register_page, interrupt_vectors, 688);
VAL(HV_VP_REGISTER_PAGE_VERSION_1, 1);
VAL(HV_X64_REGISTER_CLASS_GENERAL, 0);
VAL(HV_X64_REGISTER_CLASS_IP, 1);
VAL(HV_X64_REGISTER_CLASS_XMM, 2);
VAL(HV_X64_REGISTER_CLASS_SEGMENT, 3);
VAL(HV_X64_REGISTER_CLASS_FLAGS, 4);
VAL(HV_VP_REGISTER_PAGE_KERNEL_XMM0_OFFSET, 152);
VAL(HV_VP_REGISTER_PAGE_KERNEL_SEGMENTS_OFFSET, 248);
VAL(HV_VP_REGISTER_PAGE_KERNEL_CR0_OFFSET, 344);
VAL(HV_VP_REGISTER_PAGE_KERNEL_INTERRUPT_VECTORS_OFFSET, 680);

/* ---- §5.6 LAPIC state --------------------------------------------------------------------------- */
SIZE(struct hv_local_interrupt_controller_state, 176);
OFF(struct hv_local_interrupt_controller_state, apic_id, 0);
OFF(struct hv_local_interrupt_controller_state, apic_version, 4);
OFF(struct hv_local_interrupt_controller_state, apic_ldr, 8);
OFF(struct hv_local_interrupt_controller_state, apic_dfr, 12);
OFF(struct hv_local_interrupt_controller_state, apic_spurious, 16);
OFF(struct hv_local_interrupt_controller_state, apic_isr, 20);
OFF(struct hv_local_interrupt_controller_state, apic_tmr, 52);
OFF(struct hv_local_interrupt_controller_state, apic_irr, 84);
OFF(struct hv_local_interrupt_controller_state, apic_esr, 116);
OFF(struct hv_local_interrupt_controller_state, apic_icr_high, 120);
OFF(struct hv_local_interrupt_controller_state, apic_icr_low, 124);
OFF(struct hv_local_interrupt_controller_state, apic_lvt_timer, 128);
OFF(struct hv_local_interrupt_controller_state, apic_lvt_thermal, 132);
OFF(struct hv_local_interrupt_controller_state, apic_lvt_perfmon, 136);
OFF(struct hv_local_interrupt_controller_state, apic_lvt_lint0, 140);
OFF(struct hv_local_interrupt_controller_state, apic_lvt_lint1, 144);
OFF(struct hv_local_interrupt_controller_state, apic_lvt_error, 148);
OFF(struct hv_local_interrupt_controller_state, apic_lvt_cmci, 152);
OFF(struct hv_local_interrupt_controller_state, apic_error_status, 156);
OFF(struct hv_local_interrupt_controller_state, apic_initial_count, 160);
OFF(struct hv_local_interrupt_controller_state, apic_counter_value, 164);
OFF(struct hv_local_interrupt_controller_state, apic_divide_configuration, 168);
OFF(struct hv_local_interrupt_controller_state, apic_remote_read, 172);

/* ---- §6.1 hypercall codes ----------------------------------------------------------------------- */
VAL(HVCALL_GET_PARTITION_PROPERTY, 0x0044);
VAL(HVCALL_SET_PARTITION_PROPERTY, 0x0045);
VAL(HVCALL_INSTALL_INTERCEPT, 0x004D);
VAL(HVCALL_GET_VP_REGISTERS, 0x0050);
VAL(HVCALL_SET_VP_REGISTERS, 0x0051);
VAL(HVCALL_TRANSLATE_VIRTUAL_ADDRESS, 0x0052);
VAL(HVCALL_CLEAR_VIRTUAL_INTERRUPT, 0x0056);
VAL(HVCALL_REGISTER_INTERCEPT_RESULT, 0x0091);
VAL(HVCALL_ASSERT_VIRTUAL_INTERRUPT, 0x0094);
VAL(HVCALL_GET_GPA_PAGES_ACCESS_STATES, 0x00C9);
VAL(HVCALL_SIGNAL_EVENT_DIRECT, 0x00C0);
VAL(HVCALL_POST_MESSAGE_DIRECT, 0x00C1);
VAL(HVCALL_GET_VP_CPUID_VALUES, 0x00F4);
VAL(HVCALL_READ_GPA, 0x53);
VAL(HVCALL_WRITE_GPA, 0x54);
VAL(HVCALL_GET_PARTITION_PROPERTY_EX, 0x101);
VAL(HVCALL_SCRUB_PARTITION, 0x8D);
VAL(HV_PARTITION_ID_SELF, 0xFFFFFFFFFFFFFFFFULL);
/* §11.3: GET_PARTITION_PROPERTY_EX input and the banked answers */
SIZE(struct hv_input_get_partition_property_ex, 24);
OFF(struct hv_input_get_partition_property_ex, partition_id, 0);
OFF(struct hv_input_get_partition_property_ex, property_code, 8);
OFF(struct hv_input_get_partition_property_ex, padding, 12);
OFF(struct hv_input_get_partition_property_ex, arg, 16);
VAL(HV_GET_PARTITION_PROPERTY_EX_MAX_OUTPUT, 4072);
SIZE(struct hv_partition_property_banks, 16);
OFF(struct hv_partition_property_banks, bank_count, 0);
OFF(struct hv_partition_property_banks, bank0, 8);
VAL(HV_VMM_CAP_MAP_GPA_PRESERVE_ADJUSTABLE_BIT, 0);
VAL(HV_VMM_CAP_VMM_CAN_PROVIDE_OVERLAY_GPFN_BIT, 1);
VAL(HV_VMM_CAP_VP_AFFINITY_PROPERTY_BIT, 2);
VAL(HV_VMM_CAP_ASSIGNABLE_SYNTHETIC_PROC_FEATURES_BIT, 4);
VAL(HVCALL_IMPORT_ISOLATED_PAGES, 0xEF);
VAL(HVCALL_COMPLETE_ISOLATED_IMPORT, 0xF1);
VAL(HVCALL_ISSUE_SNP_PSP_GUEST_REQUEST, 0xF2);
VAL(HVCALL_CREATE_PARTITION, 0x40);
VAL(HVCALL_INITIALIZE_PARTITION, 0x41);
VAL(HVCALL_FINALIZE_PARTITION, 0x42);
VAL(HVCALL_DELETE_PARTITION, 0x43);
VAL(HVCALL_DEPOSIT_MEMORY, 0x48);
VAL(HVCALL_WITHDRAW_MEMORY, 0x49);
VAL(HVCALL_MAP_GPA_PAGES, 0x4B);
VAL(HVCALL_UNMAP_GPA_PAGES, 0x4C);
VAL(HVCALL_CREATE_VP, 0x4E);
VAL(HVCALL_DELETE_VP, 0x4F);
VAL(HVCALL_DISPATCH_VP, 0xC2);
VAL(HVCALL_MAP_VP_STATE_PAGE, 0xE1);
VAL(HVCALL_UNMAP_VP_STATE_PAGE, 0xE2);
VAL(HVCALL_GET_VP_STATE, 0xE3);
VAL(HVCALL_SET_VP_STATE, 0xE4);

SIZE(struct hv_input_get_partition_property, 16);
OFF(struct hv_input_get_partition_property, partition_id, 0);
OFF(struct hv_input_get_partition_property, property_code, 8);
OFF(struct hv_input_get_partition_property, padding, 12);
SIZE(struct hv_output_get_partition_property, 8);
SIZE(struct hv_input_set_partition_property, 24);
OFF(struct hv_input_set_partition_property, property_code, 8);
OFF(struct hv_input_set_partition_property, padding, 12);
OFF(struct hv_input_set_partition_property, property_value, 16);
SIZE(struct hv_input_install_intercept, 24);
OFF(struct hv_input_install_intercept, access_type, 8);
OFF(struct hv_input_install_intercept, intercept_type, 12);
OFF(struct hv_input_install_intercept, intercept_parameter, 16);
SIZE(union hv_intercept_parameters, 8);
SIZE(struct hv_input_translate_virtual_address, 32);
OFF(struct hv_input_translate_virtual_address, vp_index, 8);
OFF(struct hv_input_translate_virtual_address, padding, 12);
OFF(struct hv_input_translate_virtual_address, control_flags, 16);
OFF(struct hv_input_translate_virtual_address, gva_page, 24);
SIZE(struct hv_output_translate_virtual_address, 16);
OFF(struct hv_output_translate_virtual_address, translation_result, 0);
OFF(struct hv_output_translate_virtual_address, gpa_page, 8);
SIZE(union hv_translate_gva_result, 8);
OFF(union hv_translate_gva_result, result_code, 0);
SIZE(struct hv_input_register_intercept_result, 60);
OFF(struct hv_input_register_intercept_result, vp_index, 8);
OFF(struct hv_input_register_intercept_result, intercept_type, 12);
OFF(struct hv_input_register_intercept_result, parameters, 16);
SIZE(struct hv_input_assert_virtual_interrupt, 32);
OFF(struct hv_input_assert_virtual_interrupt, control, 8);
OFF(struct hv_input_assert_virtual_interrupt, dest_addr, 16);
OFF(struct hv_input_assert_virtual_interrupt, vector, 24);
OFF(struct hv_input_assert_virtual_interrupt, target_vtl, 28);
OFF(struct hv_input_assert_virtual_interrupt, rsvd_z0, 29);
OFF(struct hv_input_assert_virtual_interrupt, rsvd_z1, 30);
SIZE(struct hv_input_signal_event_direct, 16);
OFF(struct hv_input_signal_event_direct, target_vp, 8);
OFF(struct hv_input_signal_event_direct, target_vtl, 12);
OFF(struct hv_input_signal_event_direct, target_sint, 13);
OFF(struct hv_input_signal_event_direct, flag_number, 14);
SIZE(struct hv_output_signal_event_direct, 8);
OFF(struct hv_output_signal_event_direct, newly_signaled, 0);
SIZE(struct hv_input_post_message_direct, 280);
OFF(struct hv_input_post_message_direct, vp_index, 8);
OFF(struct hv_input_post_message_direct, vtl, 12);
OFF(struct hv_input_post_message_direct, padding, 13);
OFF(struct hv_input_post_message_direct, sint_index, 16);
OFF(struct hv_input_post_message_direct, message, 20);
OFF(struct hv_input_post_message_direct, padding2, 276);
SIZE(struct hv_input_get_vp_cpuid_values, 24);
OFF(struct hv_input_get_vp_cpuid_values, vp_index, 8);
OFF(struct hv_input_get_vp_cpuid_values, flags, 12);
OFF(struct hv_input_get_vp_cpuid_values, reserved, 16);
OFF(struct hv_input_get_vp_cpuid_values, padding, 20);
OFF(struct hv_input_get_vp_cpuid_values, cpuid_queries, 24);
SIZE(union hv_cpuid_query, 24);
OFF(union hv_cpuid_query, input_eax, 0);
OFF(union hv_cpuid_query, input_ecx, 4);
OFF(union hv_cpuid_query, xfem, 8);
OFF(union hv_cpuid_query, xss, 16);
SIZE(union hv_cpuid_response, 16);
OFF(union hv_cpuid_response, eax, 0);
OFF(union hv_cpuid_response, ebx, 4);
OFF(union hv_cpuid_response, ecx, 8);
OFF(union hv_cpuid_response, edx, 12);
VAL(HV_GET_VP_CPUID_VALUES_USE_VP_XFEM_XSS, 1u << 0);
VAL(HV_GET_VP_CPUID_VALUES_APPLY_REGISTERED_VALUES, 1u << 1);

/* ---- §6.2 get / set VP registers ---------------------------------------------------------------- */
SIZE(struct hv_input_get_vp_registers, 16);
OFF(struct hv_input_get_vp_registers, partition_id, 0);
OFF(struct hv_input_get_vp_registers, vp_index, 8);
OFF(struct hv_input_get_vp_registers, input_vtl, 12);
OFF(struct hv_input_get_vp_registers, rsvd_z8, 13);
OFF(struct hv_input_get_vp_registers, rsvd_z16, 14);
OFF(struct hv_input_get_vp_registers, names, 16);
SIZE(struct hv_input_set_vp_registers, 16);
OFF(struct hv_input_set_vp_registers, vp_index, 8);
OFF(struct hv_input_set_vp_registers, input_vtl, 12);
OFF(struct hv_input_set_vp_registers, elements, 16);
VAL(HV_INPUT_VTL_TARGET_VTL_MASK, 0xf);
VAL(HV_INPUT_VTL_USE_TARGET_VTL, 1u << 4);
VAL(HV_GET_VP_REGISTERS_MAX_REPS, 256);
VAL(HV_SET_VP_REGISTERS_MAX_REPS, 127);
_Static_assert(16 + 4 * HV_GET_VP_REGISTERS_MAX_REPS <= HV_HYP_PAGE_SIZE, "get input fits");
_Static_assert(16 * HV_GET_VP_REGISTERS_MAX_REPS <= HV_HYP_PAGE_SIZE, "get output fits");
_Static_assert(16 + 32 * HV_SET_VP_REGISTERS_MAX_REPS <= HV_HYP_PAGE_SIZE, "set input fits");
_Static_assert(16 + 32 * (HV_SET_VP_REGISTERS_MAX_REPS + 1) > HV_HYP_PAGE_SIZE, "set max");

/* ---- §6.4 other hypercall inputs ---------------------------------------------------------------- */
VAL(HV_INTERCEPT_TYPE_X64_IO_PORT, 0);
VAL(HV_INTERCEPT_TYPE_X64_MSR, 1);
VAL(HV_INTERCEPT_TYPE_X64_CPUID, 2);
VAL(HV_INTERCEPT_TYPE_EXCEPTION, 3);
VAL(HV_INTERCEPT_TYPE_MMIO, 5);
VAL(HV_INTERCEPT_TYPE_X64_GLOBAL_CPUID, 6);
VAL(HV_INTERCEPT_TYPE_X64_APIC_SMI, 7);
VAL(HV_INTERCEPT_TYPE_HYPERCALL, 8);
VAL(HV_INTERCEPT_TYPE_X64_APIC_INIT_SIPI, 9);
VAL(HV_INTERCEPT_MC_UPDATE_PATCH_LEVEL_MSR_READ, 0xA);
VAL(HV_INTERCEPT_TYPE_X64_APIC_WRITE, 0xB);
VAL(HV_INTERCEPT_TYPE_X64_MSR_INDEX, 0xC);
VAL(HV_INTERCEPT_ACCESS_MASK_NONE, 0);
VAL(HV_INTERCEPT_ACCESS_MASK_READ, 1);
VAL(HV_INTERCEPT_ACCESS_MASK_WRITE, 2);
VAL(HV_INTERCEPT_ACCESS_MASK_EXECUTE, 4);
SIZE(struct hv_register_x64_cpuid_result_parameters, 44);
OFF(struct hv_register_x64_cpuid_result_parameters, input.eax, 0);
OFF(struct hv_register_x64_cpuid_result_parameters, input.ecx, 4);
OFF(struct hv_register_x64_cpuid_result_parameters, input.subleaf_specific, 8);
OFF(struct hv_register_x64_cpuid_result_parameters, input.always_override, 9);
OFF(struct hv_register_x64_cpuid_result_parameters, input.padding, 10);
OFF(struct hv_register_x64_cpuid_result_parameters, result.eax, 12);
OFF(struct hv_register_x64_cpuid_result_parameters, result.eax_mask, 16);
OFF(struct hv_register_x64_cpuid_result_parameters, result.ebx, 20);
OFF(struct hv_register_x64_cpuid_result_parameters, result.ebx_mask, 24);
OFF(struct hv_register_x64_cpuid_result_parameters, result.ecx, 28);
OFF(struct hv_register_x64_cpuid_result_parameters, result.ecx_mask, 32);
OFF(struct hv_register_x64_cpuid_result_parameters, result.edx, 36);
OFF(struct hv_register_x64_cpuid_result_parameters, result.edx_mask, 40);
SIZE(struct hv_register_x64_msr_result_parameters, 12);
SIZE(union hv_register_intercept_result_parameters, 44);
VAL(HV_X64_INTERRUPT_TYPE_FIXED, 0);
VAL(HV_X64_INTERRUPT_TYPE_LOWESTPRIORITY, 1);
VAL(HV_X64_INTERRUPT_TYPE_SMI, 2);
VAL(HV_X64_INTERRUPT_TYPE_REMOTEREAD, 3);
VAL(HV_X64_INTERRUPT_TYPE_NMI, 4);
VAL(HV_X64_INTERRUPT_TYPE_INIT, 5);
VAL(HV_X64_INTERRUPT_TYPE_SIPI, 6);
VAL(HV_X64_INTERRUPT_TYPE_EXTINT, 7);
VAL(HV_X64_INTERRUPT_TYPE_LOCALINT0, 8);
VAL(HV_X64_INTERRUPT_TYPE_LOCALINT1, 9);
VAL(HV_INTERRUPT_TYPE_FIXED, 0);
VAL(HV_INTERRUPT_TYPE_NMI, 4);
VAL(HV_INTERRUPT_TYPE_LOCALINT1, 9);
VAL(HV_INTERRUPT_CONTROL_TYPE_MASK, 0xFFFFFFFFULL);
VAL(HV_INTERRUPT_CONTROL_LEVEL_TRIGGERED, 1ULL << 32);
VAL(HV_INTERRUPT_CONTROL_LOGICAL_DEST_MODE, 1ULL << 33);
VAL(HV_INTERRUPT_CONTROL_RUST_LONG_MODE, 1ULL << 62);
SIZE(union hv_interrupt_control, 8);
VAL(HV_TRANSLATE_GVA_VALIDATE_READ, 0x1);
VAL(HV_TRANSLATE_GVA_VALIDATE_WRITE, 0x2);
VAL(HV_TRANSLATE_GVA_VALIDATE_EXECUTE, 0x4);
VAL(HV_TRANSLATE_GVA_PRIVILEGE_EXEMPT, 0x8);
VAL(HV_TRANSLATE_GVA_SET_PAGE_TABLE_BITS, 0x10);
VAL(HV_TRANSLATE_GVA_TLB_FLUSH_INHIBIT, 0x20);
VAL(HV_TRANSLATE_GVA_SUPERVISOR_ACCESS, 0x40);
VAL(HV_TRANSLATE_GVA_USER_ACCESS, 0x80);
VAL(HV_TRANSLATE_GVA_ENFORCE_SMAP, 0x100);
VAL(HV_TRANSLATE_GVA_OVERRIDE_SMAP, 0x200);
VAL(HV_TRANSLATE_GVA_SHADOW_STACK, 0x400);
VAL(HV_TRANSLATE_GVA_SUCCESS, 0);
VAL(HV_TRANSLATE_GVA_PAGE_NOT_PRESENT, 1);
VAL(HV_TRANSLATE_GVA_PRIVILEGE_VIOLATION, 2);
VAL(HV_TRANSLATE_GVA_INVALID_PAGE_TABLE_FLAGS, 3);
VAL(HV_TRANSLATE_GVA_GPA_UNMAPPED, 4);
VAL(HV_TRANSLATE_GVA_GPA_NO_READ_ACCESS, 5);
VAL(HV_TRANSLATE_GVA_GPA_NO_WRITE_ACCESS, 6);
VAL(HV_TRANSLATE_GVA_GPA_ILLEGAL_OVERLAY_ACCESS, 7);
VAL(HV_TRANSLATE_GVA_INTERCEPT, 8);
VAL(HV_TRANSLATE_GVA_GPA_UNACCEPTED, 9);

/* ---- §6.5 partition properties ------------------------------------------------------------------ */
VAL(HV_PARTITION_PROPERTY_SYNTHETIC_PROC_FEATURES, 0x00010001);
VAL(HV_PARTITION_PROPERTY_PRIVILEGE_FLAGS, 0x00010000);
VAL(HV_PARTITION_PROPERTY_SUSPEND, 0x00020000);
VAL(HV_PARTITION_PROPERTY_TIME_FREEZE, 0x00030003);
VAL(HV_PARTITION_PROPERTY_REFERENCE_TIME, 0x00030005);
VAL(HV_PARTITION_PROPERTY_PROCESSORS_PER_SOCKET, 0x00050003);
VAL(HV_PARTITION_PROPERTY_GPA_PAGE_ACCESS_TRACKING, 0x00050005);
VAL(HV_PARTITION_PROPERTY_ISOLATION_STATE, 0x0005000C);
VAL(HV_PARTITION_PROPERTY_ISOLATION_POLICY, 0x00050014);
VAL(HV_PARTITION_PROPERTY_UNIMPLEMENTED_MSR_ACTION, 0x00050017);
VAL(HV_PARTITION_PROPERTY_SEV_VMGEXIT_OFFLOADS, 0x00050022);
VAL(HV_PARTITION_PROPERTY_PROCESSOR_VENDOR, 0x00060000);
VAL(HV_PARTITION_PROPERTY_PROCESSOR_XSAVE_FEATURES, 0x00060002);
VAL(HV_PARTITION_PROPERTY_PHYSICAL_ADDRESS_WIDTH, 0x00060006);
VAL(HV_PARTITION_PROPERTY_XSAVE_STATES, 0x00060007);
VAL(HV_PARTITION_PROPERTY_MAX_XSAVE_DATA_SIZE, 0x00060008);
VAL(HV_PARTITION_PROPERTY_PROCESSOR_CLOCK_FREQUENCY, 0x00060009);
VAL(HV_PARTITION_PROPERTY_PROCESSOR_FEATURES0, 0x0006000A);
VAL(HV_PARTITION_PROPERTY_PROCESSOR_FEATURES1, 0x0006000B);
VAL(HV_PARTITION_PROPERTY_GUEST_OS_ID, 0x00070000);
VAL(HV_PARTITION_PROPERTY_VMM_CAPABILITIES, 0x00090007);
VAL(HV_PARTITION_PROPERTY_ASSIGNABLE_SYNTHETIC_PROC_FEATURES, 0x00090009);
VAL(HV_UNIMPLEMENTED_MSR_ACTION_FAULT, 0);
VAL(HV_UNIMPLEMENTED_MSR_ACTION_IGNORE_WRITE_READ_ZERO, 1);
VAL(HV_SYNTHETIC_PROC_FEATURE_HYPERVISOR_PRESENT_BIT, 0);
VAL(HV_SYNTHETIC_PROC_FEATURE_HV1_BIT, 1);
VAL(HV_SYNTHETIC_PROC_FEATURE_ACCESS_VP_RUN_TIME_REG_BIT, 2);
VAL(HV_SYNTHETIC_PROC_FEATURE_ACCESS_PARTITION_REFERENCE_COUNTER_BIT, 3);
VAL(HV_SYNTHETIC_PROC_FEATURE_ACCESS_SYNIC_REGS_BIT, 4);
VAL(HV_SYNTHETIC_PROC_FEATURE_ACCESS_SYNTHETIC_TIMER_REGS_BIT, 5);
VAL(HV_SYNTHETIC_PROC_FEATURE_ACCESS_INTR_CTRL_REGS_BIT, 6);
VAL(HV_SYNTHETIC_PROC_FEATURE_ACCESS_HYPERCALL_REGS_BIT, 7);
VAL(HV_SYNTHETIC_PROC_FEATURE_ACCESS_VP_INDEX_BIT, 8);
VAL(HV_SYNTHETIC_PROC_FEATURE_ACCESS_PARTITION_REFERENCE_TSC_BIT, 9);
VAL(HV_SYNTHETIC_PROC_FEATURE_ACCESS_GUEST_IDLE_REG_BIT, 10);
VAL(HV_SYNTHETIC_PROC_FEATURE_ACCESS_FREQUENCY_REGS_BIT, 11);
VAL(HV_SYNTHETIC_PROC_FEATURE_EXTENDED_GVA_RANGES_FOR_FLUSH_BIT, 15);
VAL(HV_SYNTHETIC_PROC_FEATURE_ACCESS_VSM_BIT, 16);
VAL(HV_SYNTHETIC_PROC_FEATURE_FAST_HYPERCALL_OUTPUT_BIT, 18);
VAL(HV_SYNTHETIC_PROC_FEATURE_START_VIRTUAL_PROCESSOR_BIT, 20);
VAL(HV_SYNTHETIC_PROC_FEATURE_DIRECT_SYNTHETIC_TIMERS_BIT, 22);
VAL(HV_SYNTHETIC_PROC_FEATURE_EXTENDED_PROCESSOR_MASKS_BIT, 24);
VAL(HV_SYNTHETIC_PROC_FEATURE_TB_FLUSH_HYPERCALLS_BIT, 25);
VAL(HV_SYNTHETIC_PROC_FEATURE_SYNTHETIC_CLUSTER_IPI_BIT, 26);
VAL(HV_SYNTHETIC_PROC_FEATURE_NOTIFY_LONG_SPIN_WAIT_BIT, 27);
VAL(HV_SYNTHETIC_PROC_FEATURE_QUERY_NUMA_DISTANCE_BIT, 28);
VAL(HV_SYNTHETIC_PROC_FEATURE_SIGNAL_EVENTS_BIT, 29);
VAL(HV_SYNTHETIC_PROC_FEATURE_RETARGET_DEVICE_INTERRUPT_BIT, 30);
VAL(HV_SYNTHETIC_PROC_FEATURE_RESTORE_TIME_BIT, 31);
VAL(HV_SYNTHETIC_PROC_FEATURE_ENLIGHTENED_VMCS_BIT, 32);
VAL(HV_SYNTHETIC_PROC_FEATURE_WAKE_VPS_BIT, 37);
VAL(HV_SYNTHETIC_PROC_FEATURE_ACCESS_VP_REGS_BIT, 38);
VAL(HV_SYNTHETIC_PROC_FEATURE_INSTALL_INTERCEPT_BIT, 48);
VAL(HV_SYNTHETIC_PROC_FEATURE_FLUSH_GUEST_PHYSICAL_ADDRESS_SPACE_BIT, 53);

/* ---- §6.6 status codes -------------------------------------------------------------------------- */
VAL(HV_STATUS_SUCCESS, 0);
VAL(HV_STATUS_INVALID_HYPERCALL_CODE, 2);
VAL(HV_STATUS_INVALID_HYPERCALL_INPUT, 3);
VAL(HV_STATUS_INVALID_ALIGNMENT, 4);
VAL(HV_STATUS_INVALID_PARAMETER, 5);
VAL(HV_STATUS_ACCESS_DENIED, 6);
VAL(HV_STATUS_INVALID_PARTITION_STATE, 7);
VAL(HV_STATUS_OPERATION_DENIED, 8);
VAL(HV_STATUS_UNKNOWN_PROPERTY, 9);
VAL(HV_STATUS_PROPERTY_VALUE_OUT_OF_RANGE, 0xA);
VAL(HV_STATUS_INSUFFICIENT_MEMORY, 0xB);
VAL(HV_STATUS_INVALID_PARTITION_ID, 0xD);
VAL(HV_STATUS_INVALID_VP_INDEX, 0xE);
VAL(HV_STATUS_NOT_FOUND, 0x10);
VAL(HV_STATUS_INVALID_PORT_ID, 0x11);
VAL(HV_STATUS_INVALID_CONNECTION_ID, 0x12);
VAL(HV_STATUS_INSUFFICIENT_BUFFERS, 0x13);
VAL(HV_STATUS_NOT_ACKNOWLEDGED, 0x14);
VAL(HV_STATUS_INVALID_VP_STATE, 0x15);
VAL(HV_STATUS_NO_RESOURCES, 0x1D);
VAL(HV_STATUS_PROCESSOR_FEATURE_NOT_SUPPORTED, 0x20);
VAL(HV_STATUS_INVALID_LP_INDEX, 0x41);
VAL(HV_STATUS_INVALID_REGISTER_VALUE, 0x50);
VAL(HV_STATUS_OPERATION_FAILED, 0x71);
VAL(HV_STATUS_TIME_OUT, 0x78);
VAL(HV_STATUS_CALL_PENDING, 0x79);
VAL(HV_STATUS_VTL_ALREADY_ENABLED, 0x86);

/* Read/write GPA (Microsoft kernels; layout from rust-vmm, not the fact sheet). */
SIZE(struct hv_input_read_gpa, 32);
SIZE(struct hv_output_read_gpa, 24);
SIZE(struct hv_input_write_gpa, 48);
SIZE(struct hv_output_write_gpa, 8);

/* ---- run-time checks: bit-field allocation matches the mask macros ---------------------------- */

static void check_bitfields(void)
{
	union hv_x64_io_port_access_info ai = { .as_uint8 = 0 };

	ai.access_size = 4;
	ai.string_op = 1;
	ai.rep_prefix = 1;
	check_eq_u64(ai.as_uint8, 4 | HV_X64_IO_PORT_ACCESS_STRING_OP |
		     HV_X64_IO_PORT_ACCESS_REP_PREFIX);

	union hv_x64_memory_access_info mi = { .as_uint8 = 0 };
	mi.gva_gpa_valid = 1;
	mi.tlb_locked_no_overlay = 1;
	check_eq_u64(mi.as_uint8, HV_X64_MEMORY_ACCESS_GVA_GPA_VALID |
		     HV_X64_MEMORY_ACCESS_TLB_LOCKED_NO_OVERLAY);

	union hv_x64_exception_info ei = { .as_uint8 = 0 };
	ei.software_exception = 1;
	check_eq_u64(ei.as_uint8, HV_X64_EXCEPTION_INFO_SOFTWARE_EXCEPTION);

	union hv_x64_vp_execution_state es = { .as_uint16 = 0 };
	es.cpl = 3;
	es.cr0_pe = 1;
	es.efer_lma = 1;
	es.vtl = 0xf;
	es.virtualization_fault_active = 1;
	check_eq_u64(es.as_uint16, HV_X64_EXECUTION_STATE_CPL_MASK | HV_X64_EXECUTION_STATE_CR0_PE |
		     HV_X64_EXECUTION_STATE_EFER_LMA | HV_X64_EXECUTION_STATE_VTL_MASK |
		     HV_X64_EXECUTION_STATE_VIRTUALIZATION_FAULT_ACTIVE);

	struct hv_x64_intercept_message_header h;
	memset(&h, 0, sizeof(h));
	h.instruction_length = 0x3;
	h.cr8 = 0xa;
	check_eq_u64(((const unsigned char *)&h)[4], 0xa3);

	struct hv_x64_segment_register seg;
	memset(&seg, 0, sizeof(seg));
	seg.segment_type = 0xb;
	seg.non_system_segment = 1;
	seg.descriptor_privilege_level = 3;
	seg.present = 1;
	seg.available = 1;
	seg._long = 1;
	seg._default = 1;
	seg.granularity = 1;
	check_eq_u64(seg.attributes, 0xb | HV_X64_SEGMENT_ATTR_S | HV_X64_SEGMENT_ATTR_DPL_MASK |
		     HV_X64_SEGMENT_ATTR_P | HV_X64_SEGMENT_ATTR_AVL | HV_X64_SEGMENT_ATTR_L |
		     HV_X64_SEGMENT_ATTR_DB | HV_X64_SEGMENT_ATTR_G);

	union hv_x64_pending_interruption_register pi = { .as_uint64 = 0 };
	pi.interruption_pending = 1;
	pi.interruption_type = HV_X64_PENDING_EXCEPTION;
	pi.deliver_error_code = 1;
	pi.instruction_length = 0xf;
	pi.nested_event = 1;
	pi.interruption_vector = 0xffff;
	pi.error_code = 0xdeadbeef;
	check_eq_u64(pi.as_uint64, HV_X64_PENDING_INTERRUPTION_PENDING |
		     (3ULL << HV_X64_PENDING_INTERRUPTION_TYPE_SHIFT) |
		     HV_X64_PENDING_INTERRUPTION_DELIVER_ERROR_CODE |
		     HV_X64_PENDING_INTERRUPTION_INSTR_LEN_MASK |
		     HV_X64_PENDING_INTERRUPTION_NESTED_EVENT |
		     HV_X64_PENDING_INTERRUPTION_VECTOR_MASK |
		     (0xdeadbeefULL << HV_X64_PENDING_INTERRUPTION_ERROR_CODE_SHIFT));

	union hv_x64_interrupt_state_register is = { .as_uint64 = 0 };
	is.nmi_masked = 1;
	check_eq_u64(is.as_uint64, HV_X64_INTERRUPT_STATE_NMI_MASKED);

	union hv_internal_activity_register ia = { .as_uint64 = 0 };
	ia.halt_suspend = 1;
	ia.idle_suspend = 1;
	check_eq_u64(ia.as_uint64, HV_INTERNAL_ACTIVITY_HALT_SUSPEND |
		     HV_INTERNAL_ACTIVITY_IDLE_SUSPEND);

	union hv_interrupt_control ic = { .as_uint64 = 0 };
	ic.interrupt_type = HV_X64_INTERRUPT_TYPE_NMI;
	ic.level_triggered = 1;
	ic.logical_dest_mode = 1;
	check_eq_u64(ic.as_uint64, 4 | HV_INTERRUPT_CONTROL_LEVEL_TRIGGERED |
		     HV_INTERRUPT_CONTROL_LOGICAL_DEST_MODE);

	union hv_translate_gva_result tr = { .as_uint64 = 0 };
	tr.result_code = HV_TRANSLATE_GVA_GPA_UNMAPPED;
	tr.cache_type = 6;
	tr.overlay_page = 1;
	check_eq_u64(tr.as_uint64, 4 | (6ULL << 32) | (1ULL << 40));

	union hv_message_flags mf = { .asu8 = 0 };
	mf.msg_pending = 1;
	check_eq_u64(mf.asu8, HV_MESSAGE_FLAG_MSG_PENDING);

	union hv_port_id port = { .asu32 = 0 };
	port.id = 0xffffff;
	check_eq_u64(port.asu32, HV_PORT_ID_MASK);

	union hv_input_vtl vtl = { .as_uint8 = 0 };
	vtl.target_vtl = 0xf;
	vtl.use_target_vtl = 1;
	check_eq_u64(vtl.as_uint8, HV_INPUT_VTL_TARGET_VTL_MASK | HV_INPUT_VTL_USE_TARGET_VTL);

	union hv_get_vp_cpuid_values_flags cf = { .as_uint32 = 0 };
	cf.apply_registered_values = 1;
	check_eq_u64(cf.as_uint32, HV_GET_VP_CPUID_VALUES_APPLY_REGISTERED_VALUES);

	union hv_x64_fp_register fp;
	memset(&fp, 0, sizeof(fp));
	fp.biased_exponent = 0x7fff;
	fp.sign = 1;
	check_eq_u64(fp.as_uint128.high_part, 0xffff);
}

/* The _IOC encoding itself, independently of <linux/ioctl.h>'s macros. */
static void check_ioc_encoding(void)
{
	check_eq_u64(MSHV_CREATE_PARTITION,
		     (1UL << 30) | (sizeof(struct mshv_create_partition) << 16) | (0xB8 << 8) | 0x00);
	check_eq_u64(MSHV_ROOT_HVCALL,
		     (3UL << 30) | (sizeof(struct mshv_root_hvcall) << 16) | (0xB8 << 8) | 0x07);
	check_eq_u64(MSHV_RUN_VP,
		     (2UL << 30) | (sizeof(struct mshv_run_vp) << 16) | (0xB8 << 8) | 0x00);
}

int main(void)
{
	check_bitfields();
	check_ioc_encoding();
	return test_done();
}
