// SPDX-License-Identifier: MIT
/* libmshv vCPU state functions through mshv-sim: registers (incl. >127 split), groups, VP state. */
#include "config.h"
#include <string.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mshv/mshv.h>

#include "check.h"
#include "guest.h"
#include "sim-test.h"

/* 40 distinct writable registers; assoc i writes names[i % 40] with i + 1 (last write wins). */
static const uint32_t names[40] = {
	HV_X64_REGISTER_RAX, HV_X64_REGISTER_RCX, HV_X64_REGISTER_RDX, HV_X64_REGISTER_RBX,
	HV_X64_REGISTER_RSP, HV_X64_REGISTER_RBP, HV_X64_REGISTER_RSI, HV_X64_REGISTER_RDI,
	HV_X64_REGISTER_R8, HV_X64_REGISTER_R9, HV_X64_REGISTER_R10, HV_X64_REGISTER_R11,
	HV_X64_REGISTER_R12, HV_X64_REGISTER_R13, HV_X64_REGISTER_R14, HV_X64_REGISTER_R15,
	HV_X64_REGISTER_XMM0, HV_X64_REGISTER_XMM1, HV_X64_REGISTER_XMM2, HV_X64_REGISTER_XMM3,
	HV_X64_REGISTER_XMM4, HV_X64_REGISTER_XMM5, HV_X64_REGISTER_XMM6, HV_X64_REGISTER_XMM7,
	HV_X64_REGISTER_XMM8, HV_X64_REGISTER_XMM9, HV_X64_REGISTER_XMM10, HV_X64_REGISTER_XMM11,
	HV_X64_REGISTER_XMM12, HV_X64_REGISTER_XMM13, HV_X64_REGISTER_XMM14, HV_X64_REGISTER_XMM15,
	HV_X64_REGISTER_DR0, HV_X64_REGISTER_DR1, HV_X64_REGISTER_DR2, HV_X64_REGISTER_DR3,
	HV_X64_REGISTER_CR2, HV_X64_REGISTER_KERNEL_GS_BASE, HV_X64_REGISTER_STAR,
	HV_X64_REGISTER_LSTAR,
};

static void test_many_registers(struct mshv_vcpu *vcpu)
{
	static struct hv_register_assoc set[200], get[200];
	struct hv_register_assoc one = { .name = HV_X64_REGISTER_RAX };

	for (unsigned i = 0; i < 200; i++) {
		set[i] = (struct hv_register_assoc){ .name = names[i % 40] };
		set[i].value.reg64 = i + 1;
		get[i] = (struct hv_register_assoc){ .name = names[i % 40] };
	}
	/* One call, two hypercalls (127 + 73): the last 40 writes are in the second one. */
	require_ok(mshv_vcpu_set_reg(vcpu, set, 200));
	require_ok(mshv_vcpu_get_reg(vcpu, get, 200));
	for (unsigned i = 0; i < 200; i++)
		if (!check_eq_u64(get[i].value.reg64, 160 + i % 40 + 1))
			break;

	/* Fail the second SET hypercall: the first 127 writes stay, the error keeps the status. */
	for (unsigned i = 0; i < 200; i++)
		set[i].value.reg64 = 1000 + i;
	require_ok(sim_test_set_fault("hvcall=0x51:nth=2:status=0x15"));
	check(mshv_vcpu_set_reg(vcpu, set, 200) < 0);
	check_eq_u64(mshv_last_hv_status(), HV_STATUS_INVALID_VP_STATE);
	require_ok(sim_test_set_fault(NULL));
	one.name = names[126 % 40];
	check_ok(mshv_vcpu_get_reg(vcpu, &one, 1));
	check_eq_u64(one.value.reg64, 1000 + 126);
	/* (had the second batch been applied, names[126 % 40] would hold 1000 + 166) */

	/* 300 names in one get: 256 + 44. */
	{
		static struct hv_register_assoc many[300];

		for (unsigned i = 0; i < 300; i++)
			many[i].name = HV_X64_REGISTER_RBX;
		check_ok(mshv_vcpu_get_reg(vcpu, many, 300));
		check_eq_u64(many[299].value.reg64, 1000 + 123);	/* RBX's last write of batch 1 */
	}
	check_ok(mshv_vcpu_get_reg(vcpu, get, 0));
}

/* An unknown name: partial completion is an error, the status is kept, earlier writes stay. */
static void test_unknown_register(struct mshv_vcpu *vcpu)
{
	struct hv_register_assoc set[3] = {
		{ .name = HV_X64_REGISTER_RAX, .value.reg64 = 0x5555 },
		{ .name = 0x00badbad },
		{ .name = HV_X64_REGISTER_RBX, .value.reg64 = 0x7777 },
	};
	struct hv_register_assoc get[2] = { { .name = HV_X64_REGISTER_RAX }, { .name = 0x00badbad } };
	struct hv_register_assoc rbx = { .name = HV_X64_REGISTER_RBX };

	check(mshv_vcpu_set_reg(vcpu, set, 3) < 0);
	check_eq_u64(mshv_last_hv_status(), HV_STATUS_INVALID_PARAMETER);
	check(mshv_vcpu_get_reg(vcpu, get, 2) < 0);
	check_eq_u64(mshv_last_hv_status(), HV_STATUS_INVALID_PARAMETER);
	get[1].name = HV_X64_REGISTER_RIP;
	check_ok(mshv_vcpu_get_reg(vcpu, get, 2));
	check_eq_u64(get[0].value.reg64, 0x5555);
	check_ok(mshv_vcpu_get_reg(vcpu, &rbx, 1));
	check(rbx.value.reg64 != 0x7777);
}

static void test_groups(struct mshv_vcpu *vcpu)
{
	struct mshv_regs r, r2;
	struct mshv_sregs s, s2;
	struct mshv_fpu f, f2;
	struct mshv_xcrs x;
	struct mshv_debug_regs d, d2;
	struct mshv_misc_regs misc = { .hypercall = 0x1001 }, misc2;
	struct mshv_vcpu_events ev, ev2;
	struct mshv_msr_entry msrs[2] = { { .index = 0xc0000081, .data = 0x0023001000000000ULL },
					  { .index = 0x277, .data = 0x0007040600070406ULL } };
	struct mshv_msr_entry bad = { .index = 0x1234 };
	const struct mshv_reg64 r64[2] = { { HV_X64_REGISTER_R9, 9 }, { HV_X64_REGISTER_R10, 10 } };

	require_ok(mshv_vcpu_get_regs(vcpu, &r));
	r.rax = 1; r.rbx = 2; r.rcx = 3; r.rdx = 4; r.rsi = 5; r.rdi = 6; r.rsp = 7; r.rbp = 8;
	r.r8 = 9; r.r15 = 16; r.rip = 0x1234; r.rflags = 0x202;
	check_ok(mshv_vcpu_set_regs(vcpu, &r));
	check_ok(mshv_vcpu_get_regs(vcpu, &r2));
	check(memcmp(&r, &r2, sizeof(r)) == 0);
	check_ok(mshv_vcpu_set_registers64(vcpu, r64, 2));
	check_ok(mshv_vcpu_get_regs(vcpu, &r2));
	check_eq_u64(r2.r9, 9);
	check_eq_u64(r2.r10, 10);

	require_ok(mshv_vcpu_get_sregs(vcpu, &s));
	check_eq_u64(s.cs.selector, 0xf000);
	check_eq_u64(s.cs.base, 0xffff0000);
	s.cs.base = 0;
	s.cs.selector = 0;
	s.ds.base = 0x12340;
	s.ds.selector = 0x1234;
	s.gdt.base = 0x5000;
	s.gdt.limit = 0x27;
	s.cr2 = 0xdead000;
	check_ok(mshv_vcpu_set_sregs(vcpu, &s));
	check_ok(mshv_vcpu_get_sregs(vcpu, &s2));
	check_eq_u64(s2.cs.base, 0);
	check_eq_u64(s2.ds.base, 0x12340);
	check_eq_u64(s2.ds.selector, 0x1234);
	check_eq_u64(s2.gdt.base, 0x5000);
	check_eq_u64(s2.gdt.limit, 0x27);
	check_eq_u64(s2.cr2, 0xdead000);
	check_eq_u64(s2.cr0, s.cr0);

	require_ok(mshv_vcpu_get_fpu(vcpu, &f));
	f.xmm[3][0] = 0xaa;
	f.xmm[15][15] = 0xbb;
	f.mxcsr = 0x1f80 | 0x40;
	f.fcw = 0x37f;
	check_ok(mshv_vcpu_set_fpu(vcpu, &f));
	check_ok(mshv_vcpu_get_fpu(vcpu, &f2));
	check_eq_int(f2.xmm[3][0], 0xaa);
	check_eq_int(f2.xmm[15][15], 0xbb);
	check_eq_u64(f2.mxcsr, 0x1fc0);

	check_ok(mshv_vcpu_set_msrs(vcpu, msrs, 2));
	msrs[0].data = msrs[1].data = 0;
	check_ok(mshv_vcpu_get_msrs(vcpu, msrs, 2));
	check_eq_u64(msrs[0].data, 0x0023001000000000ULL);
	check_eq_u64(msrs[1].data, 0x0007040600070406ULL);
	check_eq_int(mshv_vcpu_get_msrs(vcpu, &bad, 1), -EINVAL);

	check_ok(mshv_vcpu_get_xcrs(vcpu, &x));
	check(x.xcr0 & 1);
	x.xcr0 = 3;
	check_ok(mshv_vcpu_set_xcrs(vcpu, &x));
	x.xcr0 = 0;
	check_ok(mshv_vcpu_get_xcrs(vcpu, &x));
	check_eq_u64(x.xcr0, 3);

	require_ok(mshv_vcpu_get_debug_regs(vcpu, &d));
	d.dr0 = 0x1000;
	d.dr3 = 0x4000;
	d.dr7 = 0x401;
	check_ok(mshv_vcpu_set_debug_regs(vcpu, &d));
	check_ok(mshv_vcpu_get_debug_regs(vcpu, &d2));
	check_eq_u64(d2.dr0, 0x1000);
	check_eq_u64(d2.dr3, 0x4000);
	check_eq_u64(d2.dr7, 0x401);

	check_ok(mshv_vcpu_set_misc_regs(vcpu, &misc));
	check_ok(mshv_vcpu_get_misc_regs(vcpu, &misc2));
	check_eq_u64(misc2.hypercall, 0x1001);

	require_ok(mshv_vcpu_get_vcpu_events(vcpu, &ev));
	ev.interrupt_state = HV_X64_INTERRUPT_STATE_NMI_MASKED;
	check_ok(mshv_vcpu_set_vcpu_events(vcpu, &ev));
	check_ok(mshv_vcpu_get_vcpu_events(vcpu, &ev2));
	check_eq_u64(ev2.interrupt_state, HV_X64_INTERRUPT_STATE_NMI_MASKED);
	ev2.interrupt_state = 0;
	check_ok(mshv_vcpu_set_vcpu_events(vcpu, &ev2));
}

static void test_vp_state(struct mshv_vcpu *vcpu)
{
	struct hv_local_interrupt_controller_state l, l2;
	static uint8_t page[8192], xs[8192], xs2[8192];
	size_t n = 0, got = 0;

	check_ok(mshv_vcpu_vp_state_size(vcpu, MSHV_VP_STATE_LAPIC, &n));
	check_eq_u64(n, 4096);
	check_ok(mshv_vcpu_vp_state_size(vcpu, MSHV_VP_STATE_SYNTHETIC_TIMERS, &n));
	check_eq_u64(n, 200);
	check_ok(mshv_vcpu_vp_state_size(vcpu, MSHV_VP_STATE_XSAVE, &n));
	check(n >= 512);

	require_ok(mshv_vcpu_get_lapic(vcpu, &l));
	check_eq_u64(l.apic_id, mshv_vcpu_index(vcpu));
	check_eq_u64(l.apic_version & 0xff, 0x14);
	l.apic_lvt_lint0 = 0x700;	/* ExtINT, as QEMU's set_lint */
	l.apic_lvt_lint1 = 0x400;	/* NMI */
	check_ok(mshv_vcpu_set_lapic(vcpu, &l));
	check_ok(mshv_vcpu_get_lapic(vcpu, &l2));
	check_eq_u64(l2.apic_lvt_lint0, 0x700);
	check_eq_u64(l2.apic_lvt_lint1, 0x400);

	memset(page, 0x5a, 4096);
	check_ok(mshv_vcpu_set_vp_state(vcpu, MSHV_VP_STATE_SIMP, page, 4096));
	memset(page, 0, 4096);
	check_ok(mshv_vcpu_get_vp_state(vcpu, MSHV_VP_STATE_SIMP, page + 1, 4096, &got));
	check_eq_u64(got, 4096);
	check_eq_int(page[1], 0x5a);
	check_eq_int(page[4096], 0x5a);
	check_eq_int(mshv_vcpu_get_vp_state(vcpu, MSHV_VP_STATE_SIMP, page, 100, &got), -ENOSPC);
	check(mshv_vcpu_get_vp_state(vcpu, 7, page, 4096, &got) < 0);

	require_ok(mshv_vcpu_get_xsave(vcpu, xs, sizeof(xs), &got));
	check(got >= 512);
	check_ok(mshv_vcpu_set_xsave(vcpu, xs, got));
	check_ok(mshv_vcpu_get_xsave(vcpu, xs2, sizeof(xs2), &got));
	check(memcmp(xs, xs2, 512) == 0);
	{
		/* The hypervisor's compacted format: XCOMP_BV bit 63, x87 and SSE present. */
		uint64_t bv, comp;

		memcpy(&bv, xs + 512, 8);
		memcpy(&comp, xs + 520, 8);
		check_eq_u64(bv & 3, 3);
		check_eq_u64(comp, (1ull << 63) | bv);
		/* XSTATE_BV without SSE: the XMM registers come back in their initial state. */
		memset(xs2 + 160, 0x77, 16);
		bv &= ~2ull;
		memcpy(xs2 + 512, &bv, 8);
		check_ok(mshv_vcpu_set_xsave(vcpu, xs2, got));
		check_ok(mshv_vcpu_get_xsave(vcpu, xs2, sizeof(xs2), &got));
		check_eq_int(xs2[160], 0);
		check_ok(mshv_vcpu_set_xsave(vcpu, xs, got));
	}
}

static void test_translate_cpuid(struct mshv_vm *vm, struct mshv_vcpu *vcpu, bool movable,
				bool gpa_rw)
{
	uint8_t *ram = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct mshv_user_mem_region r = { .size = 0x10000, .guest_pfn = 0,
					  .userspace_addr = (uintptr_t)ram, .flags = 3 };
	struct hv_register_x64_cpuid_result_parameters p = {
		.input = { .eax = 0, .always_override = 1 },
		.result = { .ebx = 0x6d697320, .ebx_mask = 0xffffffff },	/* " sim" */
	};
	uint32_t c[4], result = 99;
	uint64_t gpa = 0;
	uint8_t buf[4];

	require(ram != MAP_FAILED);
	require_ok(mshv_vm_map_user_memory(vm, &r));
	/*
	 * Real mode: linear = physical. Movable memory (mainline 6.19+): before the guest ran,
	 * the hypercall finds the page no-access and libmshv says -EAGAIN; the dedicated ioctl
	 * (Microsoft kernels) faults it in.
	 */
	if (movable) {
		/* Paging off: libmshv answers without the untouched page (linear = physical). */
		check_ok(mshv_vcpu_translate_gva(vcpu, 0x1234, HV_TRANSLATE_GVA_VALIDATE_READ, &gpa,
						 &result));
		check_eq_u64(gpa, 0x1234);
		/* A guest touch faults it in: run the BSP once on a hlt (this VP is an AP
		 * waiting for SIPI). */
		ram[0x100] = 0xf4;
		{
			struct mshv_vcpu *bsp = NULL;
			struct mshv_sregs sregs;
			struct mshv_regs regs;
			struct hv_message msg;

			require_ok(mshv_vm_create_vcpu(vm, 0, &bsp));
			require_ok(mshv_vcpu_get_sregs(bsp, &sregs));
			sregs.cs.base = 0;
			sregs.cs.selector = 0;
			require_ok(mshv_vcpu_set_sregs(bsp, &sregs));
			require_ok(mshv_vcpu_get_regs(bsp, &regs));
			regs.rip = 0x100;
			require_ok(mshv_vcpu_set_regs(bsp, &regs));
			require_ok(mshv_vcpu_run(bsp, &msg));
			check_eq_u64(msg.header.message_type, HVMSG_X64_HALT);
			mshv_vcpu_free(bsp);
		}
	}
	check_ok(mshv_vcpu_translate_gva(vcpu, 0x1234, HV_TRANSLATE_GVA_VALIDATE_READ, &gpa, &result));
	check_eq_u64(result, HV_TRANSLATE_GVA_SUCCESS);
	check_eq_u64(gpa, 0x1234);
	check_ok(mshv_vcpu_translate_gva(vcpu, GUEST_MMIO_BASE + 8, HV_TRANSLATE_GVA_VALIDATE_READ,
					 &gpa, &result));
	check_eq_u64(result, HV_TRANSLATE_GVA_GPA_UNMAPPED);

	/* gpa_read/write only where the generation allows them (Microsoft kernels). */
	if (gpa_rw) {
		memcpy(buf, "abcd", 4);
		check_ok(mshv_vcpu_gpa_write(vcpu, 0x1000, buf, 4));
		check(memcmp(ram + 0x1000, "abcd", 4) == 0);
		memset(buf, 0, 4);
		check_ok(mshv_vcpu_gpa_read(vcpu, 0x1000, buf, 4));
		check(memcmp(buf, "abcd", 4) == 0);
		check_eq_int(mshv_vcpu_gpa_read(vcpu, GUEST_MMIO_BASE, buf, 4), -EFAULT);
	} else {
		check_eq_int(mshv_vcpu_gpa_read(vcpu, 0x1000, buf, 4), -EOPNOTSUPP);
		check_eq_int(mshv_vcpu_gpa_write(vcpu, 0x1000, buf, 4), -EOPNOTSUPP);
	}

	require_ok(mshv_vcpu_get_cpuid_values(vcpu, 0, 0, 0, 0, c));
	check(c[0] >= 1);
	check_ok(mshv_vcpu_register_intercept_result_cpuid(vcpu, &p));
	require_ok(mshv_vcpu_get_cpuid_values(vcpu, 0, 0, 0, 0, c));
	check_eq_u64(c[1], 0x6d697320);
	/* Not another VP's override. */
	{
		struct mshv_vcpu *other = NULL;

		require_ok(mshv_vm_create_vcpu(vm, 3, &other));
		require_ok(mshv_vcpu_get_cpuid_values(other, 0, 0, 0, 0, c));
		check(c[1] != 0x6d697320);
		mshv_vcpu_free(other);
	}
	check_ok(mshv_vm_unmap_user_memory(vm, &r));
	munmap(ram, 0x10000);
}

static void test_raw(struct mshv_vcpu *vcpu)
{
	struct {
		struct hv_input_get_vp_registers h;
		uint32_t name;
	} in = { .h = { .vp_index = mshv_vcpu_index(vcpu) }, .name = HV_X64_REGISTER_VP_INDEX };
	union hv_register_value out;
	struct mshv_root_hvcall a = {
		.code = HVCALL_GET_VP_REGISTERS, .reps = 1, .in_sz = sizeof(in), .out_sz = sizeof(out),
		.in_ptr = (uintptr_t)&in, .out_ptr = (uintptr_t)&out,
	};

	check_ok(mshv_vcpu_hvcall(vcpu, &a));
	check_eq_u64(a.reps, 1);
	check_eq_u64(out.reg64, mshv_vcpu_index(vcpu));
	/* SET_PARTITION_PROPERTY is only allowed on the partition fd. */
	a = (struct mshv_root_hvcall){ .code = HVCALL_SET_PARTITION_PROPERTY, .in_sz = 24,
				       .in_ptr = (uintptr_t)&(struct hv_input_set_partition_property){ 0 } };
	check_eq_int(mshv_vcpu_hvcall(vcpu, &a), -EINVAL);
}

/* Run VP 0 of vm once on a hlt at 0x100 (real mode): the guest touches its memory, which
 * faults movable memory in (§11.5). */
static void touch_guest(struct mshv_vm *vm, uint8_t *ram)
{
	struct mshv_vcpu *bsp = NULL;
	struct mshv_sregs sregs;
	struct mshv_regs regs;
	struct hv_message msg;

	ram[0x100] = 0xf4;
	require_ok(mshv_vm_create_vcpu(vm, 0, &bsp));
	require_ok(mshv_vcpu_get_sregs(bsp, &sregs));
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	require_ok(mshv_vcpu_set_sregs(bsp, &sregs));
	require_ok(mshv_vcpu_get_regs(bsp, &regs));
	regs.rip = 0x100;
	require_ok(mshv_vcpu_set_regs(bsp, &regs));
	require_ok(mshv_vcpu_run(bsp, &msg));
	check_eq_u64(msg.header.message_type, HVMSG_X64_HALT);
	mshv_vcpu_free(bsp);
}

/*
 * Translate-GVA with paging on (32-bit, two levels: PD at 0x2000, PT at 0x3000, GVA page 1 ->
 * GPA 0x5000) on a fresh partition whose memory the guest never touched. Movable memory
 * reached through the hypercall (mainline 6.19+): the hypervisor finds the page-table pages
 * no-access, libmshv cannot answer from the guest's page tables itself and says -EAGAIN; after
 * a guest run the same call succeeds. Pinned memory, or the fault-in aware ioctl (Microsoft
 * kernels): the answer at once.
 */
static void test_translate_paging(struct mshv *m, const struct mshv_caps *caps)
{
	bool transient = mshv_caps_has_feature(caps, MSHV_FEATURE_MOVABLE_MEMORY) &&
			 !mshv_caps_has_feature(caps, MSHV_FEATURE_TRANSLATE_GVA_IOCTL);
	uint8_t *ram = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct mshv_user_mem_region r = { .size = 0x10000, .guest_pfn = 0,
					  .userspace_addr = (uintptr_t)ram, .flags = 3 };
	struct mshv_vcpu *vcpu = NULL;
	struct mshv_vm *vm = NULL;
	struct mshv_sregs sregs;
	uint32_t result = 99;
	uint64_t gpa = 0;
	uint32_t *pd, *pt;

	require(ram != MAP_FAILED);
	pd = (uint32_t *)(ram + 0x2000);
	pt = (uint32_t *)(ram + 0x3000);
	pd[0] = 0x3000 | 7;	/* present, writable, user */
	pt[1] = 0x5000 | 7;
	require_ok(mshv_create_vm(m, &vm));
	require_ok(mshv_vm_map_user_memory(vm, &r));
	require_ok(mshv_vm_create_vcpu(vm, 1, &vcpu));
	require_ok(mshv_vcpu_get_sregs(vcpu, &sregs));
	sregs.cr0 = 0x80000011;	/* PG | ET | PE */
	sregs.cr3 = 0x2000;
	sregs.cr4 = 0;
	sregs.efer = 0;
	require_ok(mshv_vcpu_set_sregs(vcpu, &sregs));

	if (transient) {
		check_eq_int(mshv_vcpu_translate_gva(vcpu, 0x1234, HV_TRANSLATE_GVA_VALIDATE_READ,
						     &gpa, &result), -EAGAIN);
		check_eq_u64(gpa, 0);	/* ret_ params untouched on failure */
		check_eq_u64(result, 99);
		touch_guest(vm, ram);
	}
	check_ok(mshv_vcpu_translate_gva(vcpu, 0x1234, HV_TRANSLATE_GVA_VALIDATE_READ, &gpa,
					 &result));
	check_eq_u64(result, HV_TRANSLATE_GVA_SUCCESS);
	check_eq_u64(gpa, 0x5234);
	/* Page 2 is not present in the guest's table: an answer, not an error. */
	check_ok(mshv_vcpu_translate_gva(vcpu, 0x2000, HV_TRANSLATE_GVA_VALIDATE_READ, &gpa,
					 &result));
	check_eq_u64(result, HV_TRANSLATE_GVA_PAGE_NOT_PRESENT);

	mshv_vcpu_free(vcpu);
	check_ok(mshv_vm_unmap_user_memory(vm, &r));
	mshv_vm_free(vm);
	munmap(ram, 0x10000);
}

/*
 * HV_STATUS_INSUFFICIENT_MEMORY from a pass-through hypercall: 6.15-6.18 (and the older
 * Microsoft kernel) deposit a page and return EAGAIN, and libmshv repeats the call; 6.19+
 * deposit and retry in the kernel. Either way a few shortages are invisible to the caller; a
 * hypervisor that never has enough memory ends the retries (bounded) with the status kept.
 */
static void test_deposit_retry(struct mshv_vcpu *vcpu, bool in_kernel)
{
	struct {
		struct hv_input_get_vp_registers h;
		uint32_t name;
	} in = { .h = { .vp_index = mshv_vcpu_index(vcpu) }, .name = HV_X64_REGISTER_VP_INDEX };
	union hv_register_value out;
	struct mshv_root_hvcall a;

	/* Three shortages in a row: libmshv (or the 6.19+ kernel) retries past them. */
	require_ok(sim_test_set_fault("hvcall=0x50:count=3:status=0xB"));
	a = (struct mshv_root_hvcall){
		.code = HVCALL_GET_VP_REGISTERS, .reps = 1, .in_sz = sizeof(in),
		.out_sz = sizeof(out), .in_ptr = (uintptr_t)&in, .out_ptr = (uintptr_t)&out,
	};
	out.reg64 = 0;
	check_ok(mshv_vcpu_hvcall(vcpu, &a));
	check_eq_u64(a.reps, 1);
	check_eq_u64(out.reg64, mshv_vcpu_index(vcpu));
	/* Never enough: bounded, the status kept. */
	require_ok(sim_test_set_fault("hvcall=0x50:count=0:status=0xB"));
	a = (struct mshv_root_hvcall){
		.code = HVCALL_GET_VP_REGISTERS, .reps = 1, .in_sz = sizeof(in),
		.out_sz = sizeof(out), .in_ptr = (uintptr_t)&in, .out_ptr = (uintptr_t)&out,
	};
	check_eq_int(mshv_vcpu_hvcall(vcpu, &a), in_kernel ? -ENOMEM : -EAGAIN);
	check_eq_u64(mshv_last_hv_status(), HV_STATUS_INSUFFICIENT_MEMORY);
	require_ok(sim_test_set_fault(NULL));
}

static const char *const gens[] = { "6.15", "6.19", "7.0", "ms-2025", "ms" };

int main(int argc, char **argv)
{
	struct mshv_vcpu *vcpu;
	struct mshv_vm *vm;
	struct mshv *m;

	(void)argc;
	sim_test_init(argv);
	/* Every generation the sim models; the generation-specific parts follow mshv_probe(). */
	for (size_t g = 0; g < sizeof(gens) / sizeof(gens[0]); g++) {
		struct mshv_caps caps;

		setenv("MSHV_SIM_GEN", gens[g], 1);
		test_note("generation %s", gens[g]);
		require_ok(mshv_open(&m));
		require_ok(mshv_probe(m, &caps));
		require_ok(mshv_create_vm(m, &vm));
		require_ok(mshv_vm_create_vcpu(vm, 2, &vcpu));
		test_many_registers(vcpu);
		test_unknown_register(vcpu);
		test_groups(vcpu);
		test_vp_state(vcpu);
		test_translate_cpuid(vm, vcpu,
				     mshv_caps_has_feature(&caps, MSHV_FEATURE_MOVABLE_MEMORY) &&
				     !mshv_caps_has_feature(&caps, MSHV_FEATURE_TRANSLATE_GVA_IOCTL),
				     mshv_caps_has_feature(&caps, MSHV_FEATURE_GPA_READ_WRITE));
		test_raw(vcpu);
		test_deposit_retry(vcpu,
				   mshv_caps_has_feature(&caps, MSHV_FEATURE_DEPOSIT_IN_KERNEL));
		test_translate_paging(m, &caps);
		mshv_vcpu_free(vcpu);
		mshv_vm_free(vm);
		mshv_free(m);
	}
	return test_done();
}
