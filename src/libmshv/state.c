// SPDX-License-Identifier: MIT
// libmshv whole-VP state: the architectural register list and every VP state component, for
// saving a vCPU and restoring it on another VP (snapshot, migration, cloning).

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * In restore order: what decides how later values are interpreted comes first (control
 * registers, EFER, segments and tables), then the MSRs, debug, FPU/SSE and XCR0, then the
 * GPRs/RIP/RFLAGS and finally the event and activity state, which must not be overwritten by
 * any later write. Read-only registers (MTRR_CAP, VP_INDEX, VP_RUNTIME, the suspend
 * registers the kernel drives around MSHV_RUN_VP) are left out.
 */
static const uint32_t vp_reg_list[] = {
	/* control, EFER, APIC base */
	HV_X64_REGISTER_CR0, HV_X64_REGISTER_CR2, HV_X64_REGISTER_CR3, HV_X64_REGISTER_CR4,
	HV_X64_REGISTER_CR8, HV_X64_REGISTER_EFER, HV_X64_REGISTER_APIC_BASE,
	/* segments and descriptor tables */
	HV_X64_REGISTER_CS, HV_X64_REGISTER_DS, HV_X64_REGISTER_ES, HV_X64_REGISTER_FS,
	HV_X64_REGISTER_GS, HV_X64_REGISTER_SS, HV_X64_REGISTER_TR, HV_X64_REGISTER_LDTR,
	HV_X64_REGISTER_GDTR, HV_X64_REGISTER_IDTR,
	/* MSRs */
	HV_X64_REGISTER_TSC, HV_X64_REGISTER_TSC_AUX, HV_X64_REGISTER_KERNEL_GS_BASE,
	HV_X64_REGISTER_PAT, HV_X64_REGISTER_SYSENTER_CS, HV_X64_REGISTER_SYSENTER_EIP,
	HV_X64_REGISTER_SYSENTER_ESP, HV_X64_REGISTER_STAR, HV_X64_REGISTER_LSTAR,
	HV_X64_REGISTER_CSTAR, HV_X64_REGISTER_SFMASK, HV_X64_REGISTER_SPEC_CTRL,
	HV_X64_REGISTER_U_XSS, HV_X64_REGISTER_HYPERCALL, HV_X64_REGISTER_MSR_MTRR_DEF_TYPE,
	HV_X64_REGISTER_MSR_MTRR_PHYS_BASE(0), HV_X64_REGISTER_MSR_MTRR_PHYS_MASK(0),
	HV_X64_REGISTER_MSR_MTRR_PHYS_BASE(1), HV_X64_REGISTER_MSR_MTRR_PHYS_MASK(1),
	HV_X64_REGISTER_MSR_MTRR_PHYS_BASE(2), HV_X64_REGISTER_MSR_MTRR_PHYS_MASK(2),
	HV_X64_REGISTER_MSR_MTRR_PHYS_BASE(3), HV_X64_REGISTER_MSR_MTRR_PHYS_MASK(3),
	HV_X64_REGISTER_MSR_MTRR_PHYS_BASE(4), HV_X64_REGISTER_MSR_MTRR_PHYS_MASK(4),
	HV_X64_REGISTER_MSR_MTRR_PHYS_BASE(5), HV_X64_REGISTER_MSR_MTRR_PHYS_MASK(5),
	HV_X64_REGISTER_MSR_MTRR_PHYS_BASE(6), HV_X64_REGISTER_MSR_MTRR_PHYS_MASK(6),
	HV_X64_REGISTER_MSR_MTRR_PHYS_BASE(7), HV_X64_REGISTER_MSR_MTRR_PHYS_MASK(7),
	/* debug */
	HV_X64_REGISTER_DR0, HV_X64_REGISTER_DR1, HV_X64_REGISTER_DR2, HV_X64_REGISTER_DR3,
	HV_X64_REGISTER_DR6, HV_X64_REGISTER_DR7,
	/* x87/MMX, SSE, XCR0 */
	HV_X64_REGISTER_FP_MMX0, HV_X64_REGISTER_FP_MMX1, HV_X64_REGISTER_FP_MMX2,
	HV_X64_REGISTER_FP_MMX3, HV_X64_REGISTER_FP_MMX4, HV_X64_REGISTER_FP_MMX5,
	HV_X64_REGISTER_FP_MMX6, HV_X64_REGISTER_FP_MMX7,
	HV_X64_REGISTER_FP_CONTROL_STATUS, HV_X64_REGISTER_XMM_CONTROL_STATUS,
	HV_X64_REGISTER_XMM0, HV_X64_REGISTER_XMM1, HV_X64_REGISTER_XMM2, HV_X64_REGISTER_XMM3,
	HV_X64_REGISTER_XMM4, HV_X64_REGISTER_XMM5, HV_X64_REGISTER_XMM6, HV_X64_REGISTER_XMM7,
	HV_X64_REGISTER_XMM8, HV_X64_REGISTER_XMM9, HV_X64_REGISTER_XMM10, HV_X64_REGISTER_XMM11,
	HV_X64_REGISTER_XMM12, HV_X64_REGISTER_XMM13, HV_X64_REGISTER_XMM14, HV_X64_REGISTER_XMM15,
	HV_X64_REGISTER_XFEM,
	/* general purpose, RIP, RFLAGS */
	HV_X64_REGISTER_RAX, HV_X64_REGISTER_RCX, HV_X64_REGISTER_RDX, HV_X64_REGISTER_RBX,
	HV_X64_REGISTER_RSP, HV_X64_REGISTER_RBP, HV_X64_REGISTER_RSI, HV_X64_REGISTER_RDI,
	HV_X64_REGISTER_R8, HV_X64_REGISTER_R9, HV_X64_REGISTER_R10, HV_X64_REGISTER_R11,
	HV_X64_REGISTER_R12, HV_X64_REGISTER_R13, HV_X64_REGISTER_R14, HV_X64_REGISTER_R15,
	HV_X64_REGISTER_RIP, HV_X64_REGISTER_RFLAGS,
	/* events and activity */
	HV_X64_REGISTER_INTERRUPT_STATE, HV_X64_REGISTER_PENDING_INTERRUPTION,
	HV_X64_REGISTER_PENDING_EVENT0, HV_X64_REGISTER_PENDING_EVENT1,
	HV_X64_REGISTER_INTERNAL_ACTIVITY_STATE,
};

_Static_assert(ARRAY_SIZE(vp_reg_list) <= MSHV_VP_REG_LIST_MAX, "MSHV_VP_REG_LIST_MAX too small");

int mshv_vcpu_get_reg_list(struct mshv_vcpu *vcpu, const uint32_t **ret_names, size_t *ret_count)
{
	(void)vcpu;
	if (!ret_names || !ret_count)
		return -EINVAL;
	*ret_names = vp_reg_list;
	*ret_count = ARRAY_SIZE(vp_reg_list);
	return 0;
}

int mshv_vcpu_get_all_regs(struct mshv_vcpu *vcpu, struct hv_register_assoc *regs, size_t cap,
			   size_t *ret_count)
{
	size_t n = ARRAY_SIZE(vp_reg_list);
	int r;

	if (!vcpu || !regs || !ret_count)
		return -EINVAL;
	if (cap < n)
		return -ENOSPC;
	memset(regs, 0, n * sizeof(*regs));
	for (size_t i = 0; i < n; i++)
		regs[i].name = vp_reg_list[i];
	r = mshv_vcpu_get_reg(vcpu, regs, n);	/* batches of HV_GET_VP_REGISTERS_MAX_REPS */
	if (r < 0)
		return r;
	*ret_count = n;
	return 0;
}

int mshv_vcpu_set_all_regs(struct mshv_vcpu *vcpu, const struct hv_register_assoc *regs,
			   size_t n)
{
	if (!vcpu || (!regs && n))
		return -EINVAL;
	return mshv_vcpu_set_reg(vcpu, regs, n);	/* batches of HV_SET_VP_REGISTERS_MAX_REPS */
}

struct mshv_vp_state_components *mshv_vp_state_components_free(struct mshv_vp_state_components *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < MSHV_VP_STATE_COUNT; i++)
		free(s->data[i]);
	free(s);
	return NULL;
}

int mshv_vcpu_get_vp_state_components(struct mshv_vcpu *vcpu,
				      struct mshv_vp_state_components **ret)
{
	struct mshv_vp_state_components *s;
	int r = 0;

	if (!vcpu || !ret)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (uint8_t t = 0; t < MSHV_VP_STATE_COUNT && r == 0; t++) {
		size_t cap;

		r = mshv_vcpu_vp_state_size(vcpu, t, &cap);
		if (r < 0)
			break;
		if (cap == 0)
			cap = HV_HYP_PAGE_SIZE;
		s->data[t] = calloc(1, cap);
		if (!s->data[t]) {
			r = -ENOMEM;
			break;
		}
		r = mshv_vcpu_get_vp_state(vcpu, t, s->data[t], cap, &s->size[t]);
	}
	if (r < 0) {
		mshv_vp_state_components_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

int mshv_vcpu_set_vp_state_components(struct mshv_vcpu *vcpu,
				      const struct mshv_vp_state_components *s)
{
	if (!vcpu || !s)
		return -EINVAL;
	for (uint8_t t = 0; t < MSHV_VP_STATE_COUNT; t++) {
		int r;

		if (!s->data[t] || !s->size[t])
			continue;	/* a component the caller leaves alone */
		r = mshv_vcpu_set_vp_state(vcpu, t, s->data[t], s->size[t]);
		if (r < 0)
			return r;
	}
	return 0;
}
