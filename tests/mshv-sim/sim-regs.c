// SPDX-License-Identifier: MIT
/* mshv-sim test double: HV register names mapped onto KVM vCPU state. */
#include "config.h"
#include <errno.h>
#include <string.h>

#include "sim.h"

#define LOAD(c, what, ioc) \
	do { \
		if (!(c)->have_##what) { \
			if (sim_kvm((c)->vp->vcpu_fd, ioc, &(c)->what) < 0) \
				return HV_STATUS_INVALID_VP_STATE; \
			(c)->have_##what = true; \
		} \
	} while (0)

void sim_seg_to_hv(const struct kvm_segment *k, struct hv_x64_segment_register *h)
{
	memset(h, 0, sizeof(*h));
	h->base = k->base;
	h->limit = k->limit;
	h->selector = k->selector;
	h->attributes = (uint16_t)((k->type & 0xf) | (k->s ? 1u << 4 : 0) | ((k->dpl & 3u) << 5) |
				   (k->present && !k->unusable ? 1u << 7 : 0) | (k->avl ? 1u << 12 : 0) |
				   (k->l ? 1u << 13 : 0) | (k->db ? 1u << 14 : 0) | (k->g ? 1u << 15 : 0));
}

void sim_seg_from_hv(const struct hv_x64_segment_register *h, struct kvm_segment *k)
{
	uint16_t a = h->attributes;

	memset(k, 0, sizeof(*k));
	k->base = h->base;
	k->limit = h->limit;
	k->selector = h->selector;
	k->type = a & 0xf;
	k->s = !!(a & (1u << 4));
	k->dpl = (a >> 5) & 3;
	k->present = !!(a & (1u << 7));
	k->avl = !!(a & (1u << 12));
	k->l = !!(a & (1u << 13));
	k->db = !!(a & (1u << 14));
	k->g = !!(a & (1u << 15));
	k->unusable = !k->present;
}

static __u64 *gpr(struct kvm_regs *r, unsigned i)
{
	__u64 *t[18] = {
		&r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp, &r->rsi, &r->rdi,
		&r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15,
		&r->rip, &r->rflags,
	};
	return t[i];
}

static struct kvm_segment *seg(struct kvm_sregs *s, unsigned i)
{
	struct kvm_segment *t[8] = { &s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs, &s->ldt, &s->tr };
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
	case HV_X64_REGISTER_SPEC_CTRL:		return 0x48;
	case HV_X64_REGISTER_U_XSS:		return 0xda0;
	}
	if (name >= HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0 && name <= HV_X64_REGISTER_MSR_MTRR_PHYS_BASEF)
		return 0x200 + 2 * (name - HV_X64_REGISTER_MSR_MTRR_PHYS_BASE0);
	if (name >= HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0 && name <= HV_X64_REGISTER_MSR_MTRR_PHYS_MASKF)
		return 0x201 + 2 * (name - HV_X64_REGISTER_MSR_MTRR_PHYS_MASK0);
	return 0;
}

static uint16_t msr_access(struct sim_vp *vp, uint32_t index, uint64_t *val, bool set)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = { .h.nmsrs = 1, .e.index = index, .e.data = set ? *val : 0 };
	int r = sim_kvm(vp->vcpu_fd, set ? KVM_SET_MSRS : KVM_GET_MSRS, &m);

	if (r != 1)
		return HV_STATUS_INVALID_PARAMETER;
	if (!set)
		*val = m.e.data;
	return HV_STATUS_SUCCESS;
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
	}
	return NULL;
}

uint16_t sim_reg_get(struct sim_regs_ctx *c, uint32_t name, union hv_register_value *v)
{
	uint32_t msr;
	uint64_t *p;

	memset(v, 0, sizeof(*v));
	if (name >= HV_X64_REGISTER_RAX && name <= HV_X64_REGISTER_RFLAGS) {
		LOAD(c, regs, KVM_GET_REGS);
		v->reg64 = *gpr(&c->regs, name - HV_X64_REGISTER_RAX);
		return 0;
	}
	if (name >= HV_X64_REGISTER_ES && name <= HV_X64_REGISTER_TR) {
		LOAD(c, sregs, KVM_GET_SREGS);
		sim_seg_to_hv(seg(&c->sregs, name - HV_X64_REGISTER_ES), &v->segment);
		return 0;
	}
	if (name >= HV_X64_REGISTER_XMM0 && name <= HV_X64_REGISTER_XMM15) {
		LOAD(c, fpu, KVM_GET_FPU);
		memcpy(&v->reg128, c->fpu.xmm[name - HV_X64_REGISTER_XMM0], 16);
		return 0;
	}
	if (name >= HV_X64_REGISTER_FP_MMX0 && name <= HV_X64_REGISTER_FP_MMX7) {
		LOAD(c, fpu, KVM_GET_FPU);
		memcpy(&v->reg128, c->fpu.fpr[name - HV_X64_REGISTER_FP_MMX0], 16);
		return 0;
	}
	if (name >= HV_X64_REGISTER_DR0 && name <= HV_X64_REGISTER_DR3) {
		LOAD(c, dbg, KVM_GET_DEBUGREGS);
		v->reg64 = c->dbg.db[name - HV_X64_REGISTER_DR0];
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

	switch (name) {
	case HV_X64_REGISTER_IDTR:
	case HV_X64_REGISTER_GDTR: {
		struct kvm_dtable *d;

		LOAD(c, sregs, KVM_GET_SREGS);
		d = name == HV_X64_REGISTER_IDTR ? &c->sregs.idt : &c->sregs.gdt;
		v->table.base = d->base;
		v->table.limit = d->limit;
		return 0;
	}
	case HV_X64_REGISTER_CR0:
	case HV_X64_REGISTER_INTERMEDIATE_CR0:
		LOAD(c, sregs, KVM_GET_SREGS);
		v->reg64 = c->sregs.cr0;
		return 0;
	case HV_X64_REGISTER_CR2:
		LOAD(c, sregs, KVM_GET_SREGS);
		v->reg64 = c->sregs.cr2;
		return 0;
	case HV_X64_REGISTER_CR3:
	case HV_X64_REGISTER_INTERMEDIATE_CR3:
		LOAD(c, sregs, KVM_GET_SREGS);
		v->reg64 = c->sregs.cr3;
		return 0;
	case HV_X64_REGISTER_CR4:
	case HV_X64_REGISTER_INTERMEDIATE_CR4:
		LOAD(c, sregs, KVM_GET_SREGS);
		v->reg64 = c->sregs.cr4;
		return 0;
	case HV_X64_REGISTER_CR8:
	case HV_X64_REGISTER_INTERMEDIATE_CR8:
		LOAD(c, sregs, KVM_GET_SREGS);
		v->reg64 = c->sregs.cr8;
		return 0;
	case HV_X64_REGISTER_EFER:
		LOAD(c, sregs, KVM_GET_SREGS);
		v->reg64 = c->sregs.efer;
		return 0;
	case HV_X64_REGISTER_APIC_BASE:
		LOAD(c, sregs, KVM_GET_SREGS);
		v->reg64 = c->sregs.apic_base;
		return 0;
	case HV_X64_REGISTER_XFEM:
		LOAD(c, xcrs, KVM_GET_XCRS);
		for (uint32_t i = 0; i < c->xcrs.nr_xcrs; i++)
			if (c->xcrs.xcrs[i].xcr == 0)
				v->reg64 = c->xcrs.xcrs[i].value;
		return 0;
	case HV_X64_REGISTER_DR6:
		LOAD(c, dbg, KVM_GET_DEBUGREGS);
		v->reg64 = c->dbg.dr6;
		return 0;
	case HV_X64_REGISTER_DR7:
		LOAD(c, dbg, KVM_GET_DEBUGREGS);
		v->reg64 = c->dbg.dr7;
		return 0;
	case HV_X64_REGISTER_FP_CONTROL_STATUS:
		LOAD(c, fpu, KVM_GET_FPU);
		v->fp_control_status.fp_control = c->fpu.fcw;
		v->fp_control_status.fp_status = c->fpu.fsw;
		v->fp_control_status.fp_tag = c->fpu.ftwx;
		v->fp_control_status.last_fp_op = c->fpu.last_opcode;
		v->fp_control_status.last_fp_rip = c->fpu.last_ip;
		return 0;
	case HV_X64_REGISTER_XMM_CONTROL_STATUS:
		LOAD(c, fpu, KVM_GET_FPU);
		LOAD(c, xsave, KVM_GET_XSAVE);
		v->xmm_control_status.last_fp_rdp = c->fpu.last_dp;
		memcpy(&v->xmm_control_status.xmm_status_control, (uint8_t *)c->xsave.region + 24, 4);
		memcpy(&v->xmm_control_status.xmm_status_control_mask, (uint8_t *)c->xsave.region + 28, 4);
		return 0;
	case HV_X64_REGISTER_INTERRUPT_STATE:
		LOAD(c, events, KVM_GET_VCPU_EVENTS);
		v->reg64 = (c->events.interrupt.shadow ? HV_X64_INTERRUPT_STATE_INTERRUPT_SHADOW : 0) |
			   (c->events.nmi.masked ? HV_X64_INTERRUPT_STATE_NMI_MASKED : 0);
		return 0;
	case HV_X64_REGISTER_PENDING_INTERRUPTION:
		LOAD(c, events, KVM_GET_VCPU_EVENTS);
		if (c->events.exception.injected) {
			v->pending_interruption.interruption_pending = 1;
			v->pending_interruption.interruption_type = HV_X64_PENDING_EXCEPTION;
			v->pending_interruption.interruption_vector = c->events.exception.nr;
			v->pending_interruption.deliver_error_code = c->events.exception.has_error_code;
			v->pending_interruption.error_code = c->events.exception.error_code;
		} else if (c->events.interrupt.injected) {
			v->pending_interruption.interruption_pending = 1;
			v->pending_interruption.interruption_type = HV_X64_PENDING_INTERRUPT;
			v->pending_interruption.interruption_vector = c->events.interrupt.nr;
		}
		return 0;
	case HV_X64_REGISTER_INTERNAL_ACTIVITY_STATE: {
		struct kvm_mp_state mp;

		if (sim_kvm(c->vp->vcpu_fd, KVM_GET_MP_STATE, &mp) < 0)
			return HV_STATUS_INVALID_VP_STATE;
		if (mp.mp_state == KVM_MP_STATE_HALTED)
			v->reg64 = HV_INTERNAL_ACTIVITY_HALT_SUSPEND;
		else if (mp.mp_state == KVM_MP_STATE_UNINITIALIZED ||
			 mp.mp_state == KVM_MP_STATE_INIT_RECEIVED)
			v->reg64 = HV_INTERNAL_ACTIVITY_STARTUP_SUSPEND;
		return 0;
	}
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

	if (name >= HV_X64_REGISTER_RAX && name <= HV_X64_REGISTER_RFLAGS) {
		LOAD(c, regs, KVM_GET_REGS);
		*gpr(&c->regs, name - HV_X64_REGISTER_RAX) = val;
		c->dirty_regs = true;
		return 0;
	}
	if (name >= HV_X64_REGISTER_ES && name <= HV_X64_REGISTER_TR) {
		LOAD(c, sregs, KVM_GET_SREGS);
		sim_seg_from_hv(&v->segment, seg(&c->sregs, name - HV_X64_REGISTER_ES));
		c->dirty_sregs = true;
		return 0;
	}
	if (name >= HV_X64_REGISTER_XMM0 && name <= HV_X64_REGISTER_XMM15) {
		LOAD(c, fpu, KVM_GET_FPU);
		memcpy(c->fpu.xmm[name - HV_X64_REGISTER_XMM0], &v->reg128, 16);
		c->dirty_fpu = true;
		return 0;
	}
	if (name >= HV_X64_REGISTER_FP_MMX0 && name <= HV_X64_REGISTER_FP_MMX7) {
		LOAD(c, fpu, KVM_GET_FPU);
		memcpy(c->fpu.fpr[name - HV_X64_REGISTER_FP_MMX0], &v->reg128, 16);
		c->dirty_fpu = true;
		return 0;
	}
	if (name >= HV_X64_REGISTER_DR0 && name <= HV_X64_REGISTER_DR3) {
		LOAD(c, dbg, KVM_GET_DEBUGREGS);
		c->dbg.db[name - HV_X64_REGISTER_DR0] = val;
		c->dirty_dbg = true;
		return 0;
	}
	msr = msr_of(name);
	if (msr)
		return msr_access(c->vp, msr, &val, true);
	p = synthetic(c->vp, name);
	if (p) {
		*p = val;
		return 0;
	}

	switch (name) {
	case HV_X64_REGISTER_IDTR:
	case HV_X64_REGISTER_GDTR: {
		struct kvm_dtable *d;

		LOAD(c, sregs, KVM_GET_SREGS);
		d = name == HV_X64_REGISTER_IDTR ? &c->sregs.idt : &c->sregs.gdt;
		d->base = v->table.base;
		d->limit = v->table.limit;
		c->dirty_sregs = true;
		return 0;
	}
	case HV_X64_REGISTER_CR0:
	case HV_X64_REGISTER_INTERMEDIATE_CR0:
		LOAD(c, sregs, KVM_GET_SREGS);
		c->sregs.cr0 = val;
		c->dirty_sregs = true;
		return 0;
	case HV_X64_REGISTER_CR2:
		LOAD(c, sregs, KVM_GET_SREGS);
		c->sregs.cr2 = val;
		c->dirty_sregs = true;
		return 0;
	case HV_X64_REGISTER_CR3:
	case HV_X64_REGISTER_INTERMEDIATE_CR3:
		LOAD(c, sregs, KVM_GET_SREGS);
		c->sregs.cr3 = val;
		c->dirty_sregs = true;
		return 0;
	case HV_X64_REGISTER_CR4:
	case HV_X64_REGISTER_INTERMEDIATE_CR4:
		LOAD(c, sregs, KVM_GET_SREGS);
		c->sregs.cr4 = val;
		c->dirty_sregs = true;
		return 0;
	case HV_X64_REGISTER_CR8:
	case HV_X64_REGISTER_INTERMEDIATE_CR8:
		LOAD(c, sregs, KVM_GET_SREGS);
		c->sregs.cr8 = val;
		c->dirty_sregs = true;
		return 0;
	case HV_X64_REGISTER_EFER:
		LOAD(c, sregs, KVM_GET_SREGS);
		c->sregs.efer = val;
		c->dirty_sregs = true;
		return 0;
	case HV_X64_REGISTER_APIC_BASE:
		LOAD(c, sregs, KVM_GET_SREGS);
		c->sregs.apic_base = val;
		c->dirty_sregs = true;
		return 0;
	case HV_X64_REGISTER_XFEM:
		LOAD(c, xcrs, KVM_GET_XCRS);
		c->xcrs.nr_xcrs = 1;
		c->xcrs.xcrs[0].xcr = 0;
		c->xcrs.xcrs[0].value = val;
		c->dirty_xcrs = true;
		return 0;
	case HV_X64_REGISTER_DR6:
		LOAD(c, dbg, KVM_GET_DEBUGREGS);
		c->dbg.dr6 = val;
		c->dirty_dbg = true;
		return 0;
	case HV_X64_REGISTER_DR7:
		LOAD(c, dbg, KVM_GET_DEBUGREGS);
		c->dbg.dr7 = val;
		c->dirty_dbg = true;
		return 0;
	case HV_X64_REGISTER_FP_CONTROL_STATUS:
		LOAD(c, fpu, KVM_GET_FPU);
		c->fpu.fcw = v->fp_control_status.fp_control;
		c->fpu.fsw = v->fp_control_status.fp_status;
		c->fpu.ftwx = v->fp_control_status.fp_tag;
		c->fpu.last_opcode = v->fp_control_status.last_fp_op;
		c->fpu.last_ip = v->fp_control_status.last_fp_rip;
		c->dirty_fpu = true;
		return 0;
	case HV_X64_REGISTER_XMM_CONTROL_STATUS:
		LOAD(c, fpu, KVM_GET_FPU);
		LOAD(c, xsave, KVM_GET_XSAVE);
		c->fpu.last_dp = v->xmm_control_status.last_fp_rdp;
		c->fpu.mxcsr = v->xmm_control_status.xmm_status_control;
		c->dirty_fpu = true;
		c->dirty_mxcsr = true;
		return 0;
	case HV_X64_REGISTER_INTERRUPT_STATE:
		LOAD(c, events, KVM_GET_VCPU_EVENTS);
		c->events.interrupt.shadow = val & HV_X64_INTERRUPT_STATE_INTERRUPT_SHADOW ? 1 : 0;
		c->events.nmi.masked = val & HV_X64_INTERRUPT_STATE_NMI_MASKED ? 1 : 0;
		c->events.flags |= KVM_VCPUEVENT_VALID_SHADOW;
		c->dirty_events = true;
		return 0;
	case HV_X64_REGISTER_PENDING_INTERRUPTION:
		LOAD(c, events, KVM_GET_VCPU_EVENTS);
		c->events.exception.injected = 0;
		c->events.interrupt.injected = 0;
		if (v->pending_interruption.interruption_pending) {
			if (v->pending_interruption.interruption_type == HV_X64_PENDING_EXCEPTION) {
				c->events.exception.injected = 1;
				c->events.exception.nr = (uint8_t)v->pending_interruption.interruption_vector;
				c->events.exception.has_error_code =
					v->pending_interruption.deliver_error_code;
				c->events.exception.error_code = v->pending_interruption.error_code;
			} else if (v->pending_interruption.interruption_type == HV_X64_PENDING_INTERRUPT) {
				c->events.interrupt.injected = 1;
				c->events.interrupt.nr = (uint8_t)v->pending_interruption.interruption_vector;
			} else {
				return HV_STATUS_INVALID_PARAMETER;
			}
		}
		c->dirty_events = true;
		return 0;
	case HV_X64_REGISTER_INTERNAL_ACTIVITY_STATE: {
		struct kvm_mp_state mp = { KVM_MP_STATE_RUNNABLE };

		if (val & HV_INTERNAL_ACTIVITY_STARTUP_SUSPEND)
			mp.mp_state = KVM_MP_STATE_INIT_RECEIVED;
		else if (val & HV_INTERNAL_ACTIVITY_HALT_SUSPEND)
			mp.mp_state = KVM_MP_STATE_HALTED;
		if (sim_kvm(c->vp->vcpu_fd, KVM_SET_MP_STATE, &mp) < 0 && val)
			return HV_STATUS_INVALID_PARAMETER;
		return 0;
	}
	case HV_X64_REGISTER_VP_INDEX:
	case HV_X64_REGISTER_VP_RUNTIME:
		return HV_STATUS_ACCESS_DENIED;
	}
	return HV_STATUS_INVALID_PARAMETER;
}

int sim_regs_flush(struct sim_regs_ctx *c)
{
	int fd = c->vp->vcpu_fd, r = 0;

	if (c->dirty_sregs) {
		/* A queued interrupt in the bitmap would be injected again. */
		memset(c->sregs.interrupt_bitmap, 0, sizeof(c->sregs.interrupt_bitmap));
		r = r ? r : sim_kvm(fd, KVM_SET_SREGS, &c->sregs);
	}
	if (c->dirty_regs)
		r = r ? r : sim_kvm(fd, KVM_SET_REGS, &c->regs);
	if (c->dirty_mxcsr) {
		/*
		 * KVM_SET_FPU does not load MXCSR: write the whole legacy area through XSAVE, with
		 * the x87 and SSE components marked present so KVM loads them.
		 */
		uint8_t *x = (uint8_t *)c->xsave.region;
		uint64_t bv;

		memcpy(x + 0, &c->fpu.fcw, 2);
		memcpy(x + 2, &c->fpu.fsw, 2);
		x[4] = c->fpu.ftwx;
		memcpy(x + 6, &c->fpu.last_opcode, 2);
		memcpy(x + 8, &c->fpu.last_ip, 8);
		memcpy(x + 16, &c->fpu.last_dp, 8);
		memcpy(x + 24, &c->fpu.mxcsr, 4);
		memcpy(x + 32, c->fpu.fpr, sizeof(c->fpu.fpr));
		memcpy(x + 160, c->fpu.xmm, sizeof(c->fpu.xmm));
		memcpy(&bv, x + 512, 8);
		bv |= 3;
		memcpy(x + 512, &bv, 8);
		r = r ? r : sim_kvm(fd, KVM_SET_XSAVE, &c->xsave);
	} else if (c->dirty_fpu) {
		r = r ? r : sim_kvm(fd, KVM_SET_FPU, &c->fpu);
	}
	if (c->dirty_dbg)
		r = r ? r : sim_kvm(fd, KVM_SET_DEBUGREGS, &c->dbg);
	if (c->dirty_xcrs)
		r = r ? r : sim_kvm(fd, KVM_SET_XCRS, &c->xcrs);
	if (c->dirty_events)
		r = r ? r : sim_kvm(fd, KVM_SET_VCPU_EVENTS, &c->events);
	c->dirty_regs = c->dirty_sregs = c->dirty_fpu = c->dirty_dbg = false;
	c->dirty_xcrs = c->dirty_events = c->dirty_mxcsr = false;
	return r;
}
