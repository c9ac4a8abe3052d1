// SPDX-License-Identifier: MIT
// libmshv without a device: strerror, MSHV_BITS, argument checks, register splitting, segment
// conversion, MSR table, and the kernel-path fallback driven by fds that answer ENOTTY.

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <mshv/mshv.h>

#include "libmshv/internal.h"

#include "check.h"

static void test_strerror(void)
{
	check_eq_str(mshv_strerror(HV_STATUS_SUCCESS), "HV_STATUS_SUCCESS");
	check_eq_str(mshv_strerror(HV_STATUS_INVALID_PARAMETER), "HV_STATUS_INVALID_PARAMETER");
	check_eq_str(mshv_strerror(HV_STATUS_INSUFFICIENT_MEMORY), "HV_STATUS_INSUFFICIENT_MEMORY");
	check_eq_str(mshv_strerror(HV_STATUS_VTL_ALREADY_ENABLED), "HV_STATUS_VTL_ALREADY_ENABLED");
	check_eq_str(mshv_strerror(0x0001), "HV_STATUS_UNKNOWN");
	check_eq_str(mshv_strerror(0xffff), "HV_STATUS_UNKNOWN");
}

static void test_bits(void)
{
	check_eq_u64(MSHV_BITS(0), 1);
	check_eq_u64(MSHV_BITS(63), 1ULL << 63);
	check_eq_u64(MSHV_BITS(MSHV_PT_BIT_LAPIC, MSHV_PT_BIT_X2APIC, MSHV_PT_BIT_GPA_SUPER_PAGES), 7);
	check_eq_u64(MSHV_BITS(MSHV_IRQFD_BIT_RESAMPLE), 2);
	check_eq_u64(MSHV_BITS(3, 3), 8);
	check_eq_u64(MSHV_BITS(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),
		     0x55555555);
}

static void test_chunks(void)
{
	struct hv_register_assoc regs[HV_SET_VP_REGISTERS_MAX_REPS];
	uint8_t buf[4096];
	size_t sz;

	check_eq_u64(mshv__chunk_count(0, 127), 0);
	check_eq_u64(mshv__chunk_count(1, 127), 1);
	check_eq_u64(mshv__chunk_count(127, 127), 1);
	check_eq_u64(mshv__chunk_count(128, 127), 2);
	check_eq_u64(mshv__chunk_count(255, 127), 3);
	check_eq_u64(mshv__chunk_count(256, 256), 1);
	check_eq_u64(mshv__chunk_count(257, 256), 2);

	memset(regs, 0, sizeof(regs));
	for (size_t i = 0; i < HV_SET_VP_REGISTERS_MAX_REPS; i++) {
		regs[i].name = HV_X64_REGISTER_RAX + (uint32_t)i;
		regs[i].value.reg64 = 0x1000 + i;
	}
	memset(buf, 0xff, sizeof(buf));
	sz = mshv__build_set_regs_input(buf, 7, regs, HV_SET_VP_REGISTERS_MAX_REPS);
	check_eq_u64(sz, 16 + 32 * 127);
	check(sz <= HV_HYP_PAGE_SIZE);
	check_eq_u64(*(uint64_t *)buf, 0);		/* partition id: the kernel fills it */
	check_eq_u64(*(uint32_t *)(buf + 8), 7);	/* vp_index */
	check_eq_u64(buf[12], 0);			/* input_vtl */
	check_eq_u64(*(uint32_t *)(buf + 16 + 32 * 126), HV_X64_REGISTER_RAX + 126);
	check_eq_u64(*(uint64_t *)(buf + 16 + 32 * 126 + 16), 0x1000 + 126);

	memset(buf, 0xff, sizeof(buf));
	sz = mshv__build_get_regs_input(buf, 3, regs, 5);
	check_eq_u64(sz, 16 + 4 * 5);
	check_eq_u64(*(uint32_t *)(buf + 8), 3);
	check_eq_u64(*(uint32_t *)(buf + 16), HV_X64_REGISTER_RAX);
	check_eq_u64(*(uint32_t *)(buf + 16 + 4 * 4), HV_X64_REGISTER_RAX + 4);
}

static void test_segments(void)
{
	struct hv_x64_segment_register hv = {
		.base = 0x1000, .limit = 0xfffff, .selector = 0x10,
		.attributes = 0xb | HV_X64_SEGMENT_ATTR_S | HV_X64_SEGMENT_ATTR_P |
			      HV_X64_SEGMENT_ATTR_L | HV_X64_SEGMENT_ATTR_G |
			      (2u << HV_X64_SEGMENT_ATTR_DPL_SHIFT),
	};
	struct hv_x64_segment_register back;
	struct mshv_segment s;

	mshv__seg_from_hv(&s, &hv);
	check_eq_u64(s.base, 0x1000);
	check_eq_u64(s.limit, 0xfffff);
	check_eq_u64(s.selector, 0x10);
	check_eq_u64(s.type, 0xb);
	check_eq_u64(s.s, 1);
	check_eq_u64(s.dpl, 2);
	check_eq_u64(s.present, 1);
	check_eq_u64(s.l, 1);
	check_eq_u64(s.db, 0);
	check_eq_u64(s.g, 1);
	check_eq_u64(s.avl, 0);
	check_eq_u64(s.unusable, 0);
	mshv__seg_to_hv(&back, &s);
	check(memcmp(&back, &hv, sizeof(hv)) == 0);

	/* No unusable bit in MSHV: unusable clears P; P = 0 reads back as unusable. */
	s.unusable = 1;
	mshv__seg_to_hv(&back, &s);
	check_eq_u64(back.attributes & HV_X64_SEGMENT_ATTR_P, 0);
	mshv__seg_from_hv(&s, &back);
	check_eq_u64(s.unusable, 1);
	check_eq_u64(s.present, 0);
}

static void test_msrs(void)
{
	const uint32_t *list = NULL;
	size_t n = 0;

	check_ok(mshv_get_msr_index_list(NULL, &list, &n));
	require(list != NULL && n > 20);
	for (size_t i = 0; i < n; i++)
		check(mshv__msr_to_reg(list[i]) != 0);
	check_eq_u64(mshv__msr_to_reg(0xc0000080), HV_X64_REGISTER_EFER);
	check_eq_u64(mshv__msr_to_reg(0x1b), HV_X64_REGISTER_APIC_BASE);
	check_eq_u64(mshv__msr_to_reg(0x20f), HV_X64_REGISTER_MSR_MTRR_PHYS_MASK(7));
	check_eq_u64(mshv__msr_to_reg(0x40000001), HV_X64_REGISTER_HYPERCALL);
	check_eq_u64(mshv__msr_to_reg(0x12345), 0);
	check_eq_int(mshv_get_msr_index_list(NULL, NULL, &n), -EINVAL);
}

/* Every entry point rejects NULL objects and NULL out-parameters before touching a device. */
static void test_null_args(void)
{
	struct mshv_regs regs;
	struct hv_message msg;
	uint64_t v;

	check_eq_int(mshv_open(NULL), -EINVAL);
	check_eq_int(mshv_open_path(NULL, NULL), -EINVAL);
	check(mshv_free(NULL) == NULL);
	check(mshv_vm_free(NULL) == NULL);
	check(mshv_vcpu_free(NULL) == NULL);
	check(mshv_device_free(NULL) == NULL);
	check_eq_int(mshv_fd(NULL), -EINVAL);
	check_eq_int(mshv_vm_fd(NULL), -EINVAL);
	check_eq_int(mshv_vcpu_fd(NULL), -EINVAL);
	check_eq_int(mshv_device_fd(NULL), -EINVAL);
	check(mshv_vcpu_reg_page(NULL) == NULL);
	check_eq_int(mshv_create_vm(NULL, NULL), -EINVAL);
	check_eq_int(mshv_create_vm_with_type(NULL, (enum mshv_vm_type)7, NULL), -EINVAL);
	check_eq_int(mshv_probe(NULL, NULL), -EINVAL);
	check_eq_int(mshv_get_host_partition_property(NULL, 0, &v), -EINVAL);
	check_eq_int(mshv_vm_initialize(NULL), -EINVAL);
	check_eq_int(mshv_vm_map_user_memory(NULL, NULL), -EINVAL);
	check_eq_int(mshv_vm_create_vcpu(NULL, 0, NULL), -EINVAL);
	check_eq_int(mshv_vm_register_irqfd(NULL, 0, 0), -EINVAL);
	check_eq_int(mshv_vm_register_ioevent(NULL, 0, NULL, MSHV_NO_DATAMATCH), -EINVAL);
	check_eq_int(mshv_vm_set_msi_routing(NULL, NULL, 0), -EINVAL);
	check_eq_int(mshv_vm_request_virtual_interrupt(NULL, NULL), -EINVAL);
	check_eq_int(mshv_vm_get_partition_property(NULL, 0, &v), -EINVAL);
	check_eq_int(mshv_vm_hvcall(NULL, NULL), -EINVAL);
	check_eq_int(mshv_vcpu_run(NULL, &msg), -EINVAL);
	check_eq_int(mshv_vcpu_get_regs(NULL, &regs), -EINVAL);
	check_eq_int(mshv_vcpu_get_reg(NULL, NULL, 0), -EINVAL);
	check_eq_int(mshv_vcpu_hvcall(NULL, NULL), -EINVAL);
	check_eq_int(mshv_vcpu_translate_gva(NULL, 0, 0, &v, NULL), -EINVAL);
	check_eq_int(mshv_device_set_attr(NULL, NULL), -EINVAL);
	check_eq_u64(mshv_vcpu_index(NULL), UINT32_MAX);
}

static void test_open_missing(void)
{
	struct mshv *m = NULL;

	check_eq_int(mshv_open_path("/nonexistent/mshv", &m), -ENOENT);
	check(m == NULL);
}

/*
 * /dev/null answers every ioctl with ENOTTY, like a kernel without the request: the library
 * must map missing operations to -EOPNOTSUPP and plain ioctls to -ENOTTY.
 */
static void test_enotty_device(void)
{
	struct mshv_ioevent_addr mmio = { MSHV_IOEVENT_MMIO, 0xd0000 };
	struct mshv_vm vm = { .fd = -1 };
	struct mshv_vcpu vcpu = { .fd = -1 };
	struct mshv_user_mem_region region = { .size = 4096 };
	struct mshv_interrupt_request irq = { .vector = 0x30 };
	struct hv_register_assoc reg = { .name = HV_X64_REGISTER_RAX };
	struct mshv_vm *out_vm = NULL;
	struct mshv_caps caps;
	struct hv_message msg;
	struct mshv *m = NULL;
	uint8_t byte;
	uint64_t v;

	require_ok(mshv_open_path("/dev/null", &m));
	check(mshv_fd(m) >= 0);
	check(fcntl(mshv_fd(m), F_GETFD) & FD_CLOEXEC);
	check_eq_int(mshv_create_vm(m, &out_vm), -ENOTTY);
	check(out_vm == NULL);
	check_eq_int(mshv_probe(m, &caps), -ENOTTY);
	check_eq_int(mshv_get_host_partition_property(m, HV_PARTITION_PROPERTY_PROCESSOR_VENDOR, &v),
		     -EOPNOTSUPP);

	vm.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	vcpu.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	require(vm.fd >= 0 && vcpu.fd >= 0);
	vcpu.vm = &vm;
	vcpu.index = 1;

	check_eq_int(mshv_vm_initialize(&vm), -ENOTTY);
	check_eq_int(mshv_vm_map_user_memory(&vm, &region), -ENOTTY);
	check_eq_int(mshv_vm_register_ioevent(&vm, 0, &mmio, MSHV_NO_DATAMATCH), -ENOTTY);
	check_eq_int(mshv_vm_register_ioevent(&vm, 0, &mmio, (struct mshv_datamatch){ 3, 0 }),
		     -EINVAL);
	check_eq_int(mshv_vm_set_msi_routing(&vm, NULL, 0), -ENOTTY);
	check_eq_int(mshv_vm_set_msi_routing(&vm, NULL, MSHV_MAX_GUEST_IRQS + 1), -EINVAL);

	/* Dual-path operations: neither form exists -> -EOPNOTSUPP, remembered per VM. */
	check_eq_int(mshv__path_get(&vm, MSHV__OP_ASSERT_INTERRUPT), MSHV__PATH_UNKNOWN);
	check_eq_int(mshv_vm_request_virtual_interrupt(&vm, &irq), -EOPNOTSUPP);
	check_eq_int(mshv__path_get(&vm, MSHV__OP_ASSERT_INTERRUPT), MSHV__PATH_NONE);
	check_eq_int(mshv_vm_request_virtual_interrupt(&vm, &irq), -EOPNOTSUPP);
	check_eq_int(mshv_vm_install_intercept(&vm, HV_INTERCEPT_ACCESS_MASK_WRITE,
					       HV_INTERCEPT_TYPE_X64_IO_PORT, 0x80), -EOPNOTSUPP);
	check_eq_int(mshv_vm_get_partition_property(&vm, 0x10001, &v), -EOPNOTSUPP);
	check_eq_int(mshv_vm_set_partition_property(&vm, 0x10001, 1), -EOPNOTSUPP);
	check_eq_int(mshv_vm_signal_event_direct(&vm, 0, 0, 2, 1, NULL), -EOPNOTSUPP);
	check_eq_int(mshv_vm_post_message_direct(&vm, 0, 0, 2, &msg, 0), -EINVAL);
	check_eq_int(mshv_vm_post_message_direct(&vm, 0, 0, 2, &msg, sizeof(msg) + 1), -EINVAL);
	check_eq_int(mshv_vm_post_message_direct(&vm, 0, 0, 2, &msg, sizeof(msg)), -EOPNOTSUPP);
	check_eq_int(mshv_vm_register_deliverability_notifications(&vm, 0, 1), -EOPNOTSUPP);
	check_eq_int(mshv_vm_sev_snp_ap_create(&vm, 1, 0x1000), -EOPNOTSUPP);
	check_eq_int(mshv_vm_psp_issue_guest_request(&vm, 0, 0), -EOPNOTSUPP);
	check_eq_int(mshv_vm_modify_gpa_host_access(&vm, 0, &v, 1), -EOPNOTSUPP);
	check_eq_int(mshv_vm_import_isolated_pages(&vm, 0, &v, 1), -EOPNOTSUPP);
	check_eq_int(mshv_vm_create_device(&vm, MSHV_EXT_DEV_TYPE_VFIO,
					   MSHV_EXT_CREATE_DEVICE_TEST, NULL), -EOPNOTSUPP);
	check_eq_int(mshv_vm_get_gpap_access_bitmap(&vm, MSHV_GPAP_ACCESS_TYPE_DIRTY, 9, 0, 8,
						    &byte), -EINVAL);
	check_eq_int(mshv_vm_get_dirty_log(&vm, 0, 8, &byte), -ENOTTY);
	check_eq_int(mshv_vm_get_dirty_log(&vm, UINT64_MAX, 8, &byte), -EINVAL);
	check_eq_int(mshv_vm_set_dirty_bits(&vm, 0, 8), -ENOTTY);
	check_eq_int(mshv_vm_set_dirty_bits(&vm, 0, 0), -EINVAL);

	/* vCPU: run and VP state are plain ioctls; registers fall back to -EOPNOTSUPP. */
	check_eq_int(mshv_vcpu_run(&vcpu, &msg), -ENOTTY);
	check_eq_int(mshv_vcpu_get_reg(&vcpu, &reg, 1), -EOPNOTSUPP);
	check_eq_int(mshv__path_get(&vm, MSHV__OP_REGS), MSHV__PATH_NONE);
	check_eq_int(mshv_vcpu_set_reg(&vcpu, &reg, 1), -EOPNOTSUPP);
	check_eq_int(mshv_vcpu_get_reg(&vcpu, &reg, 0), 0);
	check_eq_int(mshv_vcpu_gpa_read(&vcpu, 0x1000, &byte, 1), -EOPNOTSUPP);
	check_eq_int(mshv_vcpu_translate_gva(&vcpu, 0x1000, HV_TRANSLATE_GVA_VALIDATE_READ, &v,
					     NULL), -EOPNOTSUPP);
	check_eq_int(mshv_vcpu_get_vp_state(&vcpu, MSHV_VP_STATE_COUNT, &byte, 1, NULL), -EINVAL);
	check_eq_int(mshv_vcpu_get_vp_state(&vcpu, MSHV_VP_STATE_LAPIC, &byte, 1, NULL), -ENOTTY);
	struct mshv_msr_entry bad = { .index = 0x12345 };
	check_eq_int(mshv_vcpu_get_msrs(&vcpu, &bad, 1), -EINVAL);
	check_eq_u64(mshv_last_hv_status(), HV_STATUS_SUCCESS);

	close(vcpu.fd);
	close(vm.fd);
	m = mshv_free(m);
	check(m == NULL);
}

/*
 * The register-page fast path needs no ioctl: with a valid page, get_regs reads it and
 * set_regs writes it and marks GENERAL|IP|FLAGS dirty; without, both go to the (absent) kernel.
 */
static void test_reg_page(void)
{
	struct hv_vp_register_page *page = calloc(1, 4096);
	struct mshv_vm vm = { .fd = -1 };
	struct mshv_vcpu vcpu = { .fd = -1, .vm = &vm };
	struct mshv_regs regs;

	require(page != NULL);
	vcpu.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	require(vcpu.fd >= 0);
	vcpu.reg_page = page;
	check(mshv_vcpu_reg_page(&vcpu) == page);

	/* isvalid == 0: the kernel path, which /dev/null lacks. */
	check_eq_int(mshv_vcpu_get_regs(&vcpu, &regs), -EOPNOTSUPP);

	page->isvalid = 1;
	for (int i = 0; i < 16; i++)
		page->gp_registers[i] = 0x100 + (uint64_t)i;	/* rax, rcx, rdx, rbx, ... */
	page->rip = 0x1000;
	page->rflags = 0x202;
	check_ok(mshv_vcpu_get_regs(&vcpu, &regs));
	check_eq_u64(regs.rax, 0x100);
	check_eq_u64(regs.rcx, 0x101);
	check_eq_u64(regs.rdx, 0x102);
	check_eq_u64(regs.rbx, 0x103);
	check_eq_u64(regs.rsp, 0x104);
	check_eq_u64(regs.rbp, 0x105);
	check_eq_u64(regs.rsi, 0x106);
	check_eq_u64(regs.rdi, 0x107);
	check_eq_u64(regs.r8, 0x108);
	check_eq_u64(regs.r15, 0x10f);
	check_eq_u64(regs.rip, 0x1000);
	check_eq_u64(regs.rflags, 0x202);
	check_eq_u64(page->dirty, 0);

	regs.rbx = 0xb;
	regs.r9 = 0x9;
	regs.rip = 0x1003;
	regs.rflags = 0x2;
	check_ok(mshv_vcpu_set_regs(&vcpu, &regs));
	check_eq_u64(page->rbx, 0xb);
	check_eq_u64(page->r9, 0x9);
	check_eq_u64(page->rip, 0x1003);
	check_eq_u64(page->rflags, 0x2);
	check_eq_u64(page->rax, 0x100);
	check_eq_u64(page->dirty, (1u << HV_X64_REGISTER_CLASS_GENERAL) |
		     (1u << HV_X64_REGISTER_CLASS_IP) | (1u << HV_X64_REGISTER_CLASS_FLAGS));

	close(vcpu.fd);
	free(page);
}

int main(void)
{
	test_reg_page();
	test_strerror();
	test_bits();
	test_chunks();
	test_segments();
	test_msrs();
	test_null_args();
	test_open_missing();
	test_enotty_device();
	return test_done();
}
