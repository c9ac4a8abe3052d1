// SPDX-License-Identifier: MIT
/* mshv-sim test double: HV register names mapped onto the engine's vCPU state. */
#include "config.h"
#include <errno.h>
#include <string.h>

#include "sim.h"

#define LOAD(c, what, fn) \
	do { \
		if (!(c)->have_##what) { \
			if (fn((c)->vp->ev, &(c)->what) < 0) \
				return HV_STATUS_INVALID_VP_STATE; \
			(c)->have_##what = true; \
		} \
	} while (0)

/* The engine keeps segment attributes in the hypervisor's (VMX) encoding already. */
void sim_seg_to_hv(const struct emu_segment *e, struct hv_x64_segment_register *h)
{
	memset(h, 0, sizeof(*h));
	h->base = e->base;
	h->limit = e->limit;
	h->selector = e->selector;
	h->attributes = e->attributes;
}

void sim_seg_from_hv(const struct hv_x64_segment_register *h, struct emu_segment *e)
{
	e->base = h->base;
	e->limit = h->limit;
	e->selector = h->selector;
	e->attributes = h->attributes;
}

/* HV_X64_REGISTER_RAX ... RFLAGS are numbered in the engine's order, then RIP and RFLAGS. */
static uint64_t *gpr(struct emu_regs *r, unsigned i)
{
	return i < 16 ? &r->gpr[i] : i == 16 ? &r->rip : &r->rflags;
}

static struct emu_segment *seg(struct emu_sregs *s, unsigned i)
{
	struct emu_segment *t[8] = { &s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs, &s->ldt, &s->tr };
	return t[i];
}

/* MSR-backed registers. */
static uint32_t msr_of(uint32_t name)
{
	switch (name) {
	case HV_X64_REGISTER_TSC:		return 0x10;
	case HV_X64_REGISTER_KERNEL_GS_BASE:	return 0xc0000102;
	case HV_X64_REGISTER_PAT:		return 0x277;
	case HV_X64_REGISTER_SYSENTER_CS:	return 0x174;
	case HV_X64_REGISTER_SYSENTER_ESP:	return 0x175;
	case HV_X64_REGISTER_SYSENTER_EIP:	return 0x176;
	case HV_X64_REGISTER_STAR:		return 0xc0000081;
	case HV_X64_REGISTER_LSTAR:		return 0xc0000082;
	case HV_X64_REGISTER_CSTAR:		return 0xc0000083;
	case HV_X64_REGISTER_SFMASK:		return 0xc0000084;
	case HV_X64_REGISTER_MSR_MTRR_CAP:	return 0xfe;
	case HV_X64_REGISTER_MSR_MTRR_DEF_TYPE:	return 0x2ff;
	case HV_X64_REGISTER_TSC_AUX:		return 0xc0000103;
	}
	if (name >= HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0 && name <= HV_X64_REGISTER_MSR_MTRR_PHYS_BASEF)
		return 0x200 + 2 * (name - HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0);
	if (name >= HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0 && name <= HV_X64_REGISTER_MSR_MTRR_PHYS_MASKF)
		return 0x201 + 2 * (name - HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0);
	return 0;
}

static uint16_t msr_access(struct sim_vp *vp, uint32_t index, uint64_t *val, bool set)
{
	int r = set ? emu_vcpu_set_msr(vp->ev, index, *val) : emu_vcpu_get_msr(vp->ev, index, val);

	return r < 0 ? HV_STATUS_INVALID_PARAMETER : HV_STATUS_SUCCESS;
}

/* Synthetic registers the sim only stores. */
static uint64_t *synthetic(struct sim_vp *vp, uint32_t name)
{
	switch (name) {
	case HV_X64_REGISTER_HYPERCALL:		return &vp->synthetic_regs[0];
	case HV_X64_REGISTER_DELIVERABILITY_NOTIFICATIONS: return &vp->synthetic_regs[1];
	case HV_REGISTER_PENDING_EVENT0:	return &vp->synthetic_regs[2];
	case HV_REGISTER_PENDING_EVENT1:	return &vp->synthetic_regs[3];
	case HV_REGISTER_DISPATCH_SUSPEND:	return &vp->synthetic_regs[4];
	case HV_X64_REGISTER_SEV_CONTROL:	return &vp->synthetic_regs[5];
	case HV_X64_REGISTER_GHCB:		return &vp->synthetic_regs[6];
	case HV_X64_REGISTER_EXPLICIT_SUSPEND:	return &vp->explicit_suspend;
	case HV_X64_REGISTER_INTERCEPT_SUSPEND:	return &vp->intercept_suspend;
	case HV_X64_REGISTER_XFEM:		return &vp->xfem;
	case HV_X64_REGISTER_SPEC_CTRL:		return &vp->spec_ctrl;
	case HV_X64_REGISTER_U_XSS:		return &vp->u_xss;
	}
	return NULL;
}

/* Common to get and set: CR and table registers live in the engine's sregs. */
static uint64_t *sreg_u64(struct emu_sregs *s, uint32_t name)
{
	switch (name) {
	case HV_X64_REGISTER_CR0:
	case HV_X64_REGISTER_INTERMEDIATE_CR0:	return &s->cr0;
	case HV_X64_REGISTER_CR2:		return &s->cr2;
	case HV_X64_REGISTER_CR3:
	case HV_X64_REGISTER_INTERMEDIATE_CR3:	return &s->cr3;
	case HV_X64_REGISTER_CR4:
	case HV_X64_REGISTER_INTERMEDIATE_CR4:	return &s->cr4;
	case HV_X64_REGISTER_CR8:
	case HV_X64_REGISTER_INTERMEDIATE_CR8:	return &s->cr8;
	case HV_X64_REGISTER_EFER:		return &s->efer;
	case HV_X64_REGISTER_APIC_BASE:		return &s->apic_base;
	}
	return NULL;
}

static int dr_index(uint32_t name)
{
	if (name >= HV_X64_REGISTER_DR0 && name <= HV_X64_REGISTER_DR3)
		return (int)(name - HV_X64_REGISTER_DR0);
	if (name == HV_X64_REGISTER_DR6)
		return 6;
	if (name == HV_X64_REGISTER_DR7)
		return 7;
	return -1;
}

uint16_t sim_reg_get(struct sim_regs_ctx *c, uint32_t name, union hv_register_value *v)
{
	uint32_t msr;
	uint64_t *p;
	int dr;

	memset(v, 0, sizeof(*v));
	if (name >= HV_X64_REGISTER_RAX && name <= HV_X64_REGISTER_RFLAGS) {
		LOAD(c, regs, emu_vcpu_get_regs);
		v->reg64 = *gpr(&c->regs, name - HV_X64_REGISTER_RAX);
		return 0;
	}
	if (name >= HV_X64_REGISTER_ES && name <= HV_X64_REGISTER_TR) {
		LOAD(c, sregs, emu_vcpu_get_sregs);
		sim_seg_to_hv(seg(&c->sregs, name - HV_X64_REGISTER_ES), &v->segment);
		return 0;
	}
	if (name >= HV_X64_REGISTER_XMM0 && name <= HV_X64_REGISTER_XMM15) {
		LOAD(c, fpu, emu_vcpu_get_fpu);
		memcpy(&v->reg128, c->fpu.xmm[name - HV_X64_REGISTER_XMM0], 16);
		return 0;
	}
	if (name >= HV_X64_REGISTER_FP_MMX0 && name <= HV_X64_REGISTER_FP_MMX7) {
		LOAD(c, fpu, emu_vcpu_get_fpu);
		memcpy(&v->reg128, c->fpu.st[name - HV_X64_REGISTER_FP_MMX0], 16);
		return 0;
	}
	dr = dr_index(name);
	if (dr >= 0) {
		uint64_t x = 0;

		if (emu_vcpu_get_dr(c->vp->ev, (unsigned)dr, &x) < 0)
			return HV_STATUS_INVALID_VP_STATE;
		v->reg64 = x;
		return 0;
	}
	msr = msr_of(name);
	if (msr) {
		uint64_t x = 0;
		uint16_t st = msr_access(c->vp, msr, &x, false);

		v->reg64 = x;
		return st;
	}
	p = synthetic(c->vp, name);
	if (p) {
		v->reg64 = *p;
		return 0;
	}
	if (sreg_u64(&c->sregs, name)) {
		LOAD(c, sregs, emu_vcpu_get_sregs);
		v->reg64 = *sreg_u64(&c->sregs, name);
		return 0;
	}

	switch (name) {
	case HV_X64_REGISTER_IDTR:
	case HV_X64_REGISTER_GDTR: {
		struct emu_table *d;

		LOAD(c, sregs, emu_vcpu_get_sregs);
		d = name == HV_X64_REGISTER_IDTR ? &c->sregs.idt : &c->sregs.gdt;
		v->table.base = d->base;
		v->table.limit = d->limit;
		return 0;
	}
	case HV_X64_REGISTER_FP_CONTROL_STATUS:
		LOAD(c, fpu, emu_vcpu_get_fpu);
		v->fp_control_status.fp_control = c->fpu.fcw;
		v->fp_control_status.fp_status = c->fpu.fsw;
		v->fp_control_status.fp_tag = c->fpu.ftw;
		v->fp_control_status.last_fp_op = c->fpu.fop;
		v->fp_control_status.last_fp_rip = c->fpu.fip;
		return 0;
	case HV_X64_REGISTER_XMM_CONTROL_STATUS:
		LOAD(c, fpu, emu_vcpu_get_fpu);
		v->xmm_control_status.last_fp_rdp = c->fpu.fdp;
		v->xmm_control_status.xmm_status_control = c->fpu.mxcsr;
		v->xmm_control_status.xmm_status_control_mask = 0xffff;
		return 0;
	case HV_X64_REGISTER_INTERRUPT_STATE:
		v->reg64 = (emu_vcpu_interrupt_shadow(c->vp->ev) ? HV_X64_INTERRUPT_STATE_INTERRUPT_SHADOW : 0) |
			   (c->vp->nmi_masked ? HV_X64_INTERRUPT_STATE_NMI_MASKED : 0);
		return 0;
	case HV_X64_REGISTER_PENDING_INTERRUPTION:
		v->reg64 = c->vp->pending_interruption;
		return 0;
	case HV_X64_REGISTER_INTERNAL_ACTIVITY_STATE:
		switch (emu_vcpu_get_activity(c->vp->ev)) {
		case EMU_HALTED:
			v->reg64 = HV_INTERNAL_ACTIVITY_HALT_SUSPEND;
			break;
		case EMU_WAIT_FOR_SIPI:
			v->reg64 = HV_INTERNAL_ACTIVITY_STARTUP_SUSPEND;
			break;
		default:
			break;
		}
		return 0;
	case HV_X64_REGISTER_VP_INDEX:
		v->reg64 = c->vp->index;
		return 0;
	case HV_X64_REGISTER_VP_RUNTIME:
		v->reg64 = 0;
		return 0;
	}
	return HV_STATUS_INVALID_PARAMETER;
}

uint16_t sim_reg_set(struct sim_regs_ctx *c, uint32_t name, const union hv_register_value *v)
{
	uint64_t val = v->reg64;
	uint32_t msr;
	uint64_t *p;
	int dr;

	if (name >= HV_X64_REGISTER_RAX && name <= HV_X64_REGISTER_RFLAGS) {
		LOAD(c, regs, emu_vcpu_get_regs);
		*gpr(&c->regs, name - HV_X64_REGISTER_RAX) = val;
		c->dirty_regs = true;
		return 0;
	}
	if (name >= HV_X64_REGISTER_ES && name <= HV_X64_REGISTER_TR) {
		LOAD(c, sregs, emu_vcpu_get_sregs);
		sim_seg_from_hv(&v->segment, seg(&c->sregs, name - HV_X64_REGISTER_ES));
		c->dirty_sregs = true;
		return 0;
	}
	if (name >= HV_X64_REGISTER_XMM0 && name <= HV_X64_REGISTER_XMM15) {
		LOAD(c, fpu, emu_vcpu_get_fpu);
		memcpy(c->fpu.xmm[name - HV_X64_REGISTER_XMM0], &v->reg128, 16);
		c->dirty_fpu = true;
		return 0;
	}
	if (name >= HV_X64_REGISTER_FP_MMX0 && name <= HV_X64_REGISTER_FP_MMX7) {
		LOAD(c, fpu, emu_vcpu_get_fpu);
		memcpy(c->fpu.st[name - HV_X64_REGISTER_FP_MMX0], &v->reg128, 16);
		c->dirty_fpu = true;
		return 0;
	}
	dr = dr_index(name);
	if (dr >= 0)
		return emu_vcpu_set_dr(c->vp->ev, (unsigned)dr, val) < 0 ?
			HV_STATUS_INVALID_PARAMETER : 0;
	msr = msr_of(name);
	if (msr)
		return msr_access(c->vp, msr, &val, true);
	p = synthetic(c->vp, name);
	if (p) {
		*p = val;
		return 0;
	}
	if (sreg_u64(&c->sregs, name)) {
		LOAD(c, sregs, emu_vcpu_get_sregs);
		*sreg_u64(&c->sregs, name) = val;
		c->dirty_sregs = true;
		return 0;
	}

	switch (name) {
	case HV_X64_REGISTER_IDTR:
	case HV_X64_REGISTER_GDTR: {
		struct emu_table *d;

		LOAD(c, sregs, emu_vcpu_get_sregs);
		d = name == HV_X64_REGISTER_IDTR ? &c->sregs.idt : &c->sregs.gdt;
		d->base = v->table.base;
		d->limit = v->table.limit;
		c->dirty_sregs = true;
		return 0;
	}
	case HV_X64_REGISTER_FP_CONTROL_STATUS:
		LOAD(c, fpu, emu_vcpu_get_fpu);
		c->fpu.fcw = v->fp_control_status.fp_control;
		c->fpu.fsw = v->fp_control_status.fp_status;
		c->fpu.ftw = v->fp_control_status.fp_tag;
		c->fpu.fop = v->fp_control_status.last_fp_op;
		c->fpu.fip = v->fp_control_status.last_fp_rip;
		c->dirty_fpu = true;
		return 0;
	case HV_X64_REGISTER_XMM_CONTROL_STATUS:
		LOAD(c, fpu, emu_vcpu_get_fpu);
		c->fpu.fdp = v->xmm_control_status.last_fp_rdp;
		c->fpu.mxcsr = v->xmm_control_status.xmm_status_control;
		c->dirty_fpu = true;
		return 0;
	case HV_X64_REGISTER_INTERRUPT_STATE:
		/* NMI masking is stored (the engine has no NMI-blocking state). */
		emu_vcpu_set_interrupt_shadow(c->vp->ev, (val & HV_X64_INTERRUPT_STATE_INTERRUPT_SHADOW) != 0);
		c->vp->nmi_masked = (val & HV_X64_INTERRUPT_STATE_NMI_MASKED) != 0;
		return 0;
	case HV_X64_REGISTER_PENDING_INTERRUPTION:
		if ((val & HV_X64_PENDING_INTERRUPTION_PENDING) &&
		    ((val & HV_X64_PENDING_INTERRUPTION_TYPE_MASK) >> HV_X64_PENDING_INTERRUPTION_TYPE_SHIFT) !=
			    HV_X64_PENDING_EXCEPTION &&
		    ((val & HV_X64_PENDING_INTERRUPTION_TYPE_MASK) >> HV_X64_PENDING_INTERRUPTION_TYPE_SHIFT) !=
			    HV_X64_PENDING_INTERRUPT)
			return HV_STATUS_INVALID_PARAMETER;
		c->vp->pending_interruption = val;
		return 0;
	case HV_X64_REGISTER_INTERNAL_ACTIVITY_STATE: {
		enum emu_activity a = EMU_ACTIVE;

		if (val & HV_INTERNAL_ACTIVITY_STARTUP_SUSPEND)
			a = EMU_WAIT_FOR_SIPI;
		else if (val & HV_INTERNAL_ACTIVITY_HALT_SUSPEND)
			a = EMU_HALTED;
		if (emu_vcpu_set_activity(c->vp->ev, a) < 0 && val)
			return HV_STATUS_INVALID_PARAMETER;
		return 0;
	}
	case HV_X64_REGISTER_VP_INDEX:
	case HV_X64_REGISTER_VP_RUNTIME:
		return HV_STATUS_ACCESS_DENIED;
	}
	return HV_STATUS_INVALID_PARAMETER;
}

/* sregs first: a mode change (CR0.PE, EFER.LMA, CS.L) decides how the new RIP is used. */
int sim_regs_flush(struct sim_regs_ctx *c)
{
	int r = 0;

	if (c->dirty_sregs)
		r = emu_vcpu_set_sregs(c->vp->ev, &c->sregs);
	if (c->dirty_regs)
		r = r ? r : emu_vcpu_set_regs(c->vp->ev, &c->regs);
	if (c->dirty_fpu)
		r = r ? r : emu_vcpu_set_fpu(c->vp->ev, &c->fpu);
	c->dirty_regs = c->dirty_sregs = c->dirty_fpu = false;
	return r;
}
