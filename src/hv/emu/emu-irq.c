// SPDX-License-Identifier: MIT
/* The engine's interrupts: a minimal local APIC, and delivery through the IVT or the IDT. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "hv/emu/emu-internal.h"

/* APIC register offsets. */
#define APIC_ID		0x20
#define APIC_VER	0x30
#define APIC_TPR	0x80
#define APIC_PPR	0xa0
#define APIC_EOI	0xb0
#define APIC_LDR	0xd0
#define APIC_DFR	0xe0
#define APIC_SVR	0xf0
#define APIC_ISR	0x100
#define APIC_TMR	0x180
#define APIC_IRR	0x200
#define APIC_ESR	0x280
#define APIC_ICR	0x300
#define APIC_ICR2	0x310

#define RFLAGS_IF	(1ull << 9)
#define RFLAGS_TF	(1ull << 8)
#define RFLAGS_NT	(1ull << 14)
#define RFLAGS_RF	(1ull << 16)
#define RFLAGS_VM	(1ull << 17)
#define RFLAGS_AC	(1ull << 18)

static uint32_t *reg(struct emu_vcpu *v, unsigned off)
{
	return &v->apic.regs[off / 4];
}

static bool vec_test(struct emu_vcpu *v, unsigned base, uint8_t vec)
{
	return (*reg(v, base + 0x10 * (vec / 32)) >> (vec % 32)) & 1;
}

static void vec_set(struct emu_vcpu *v, unsigned base, uint8_t vec, bool on)
{
	uint32_t *w = reg(v, base + 0x10 * (vec / 32));

	if (on)
		*w |= 1u << (vec % 32);
	else
		*w &= ~(1u << (vec % 32));
}

/* Highest vector set in a 256-bit array, -1 when none. */
static int vec_highest(struct emu_vcpu *v, unsigned base)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t w = *reg(v, base + 0x10 * (unsigned)i);

		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

static unsigned ppr(struct emu_vcpu *v)
{
	unsigned tpr = *reg(v, APIC_TPR) & 0xff;
	int isr = vec_highest(v, APIC_ISR);
	unsigned isrv = isr < 0 ? 0 : (unsigned)isr & 0xf0;

	return (tpr & 0xf0) >= isrv ? tpr : isrv;
}

void emu_apic_reset(struct emu_vcpu *v)
{
	memset(&v->apic, 0, sizeof(v->apic));
	*reg(v, APIC_ID) = v->index << 24;
	*reg(v, APIC_VER) = 0x00050014;
	*reg(v, APIC_DFR) = 0xffffffff;
	*reg(v, APIC_SVR) = 0xff;
	for (unsigned off = 0x320; off <= 0x370; off += 0x10)
		*reg(v, off) = 1u << 16;		/* LVT entries start masked */
}

void emu_vcpu_wake(struct emu_vcpu *v)
{
	uint64_t one = 1;
	ssize_t n;

	atomic_store(&v->irq_poke, true);
	n = write(v->wake_fd, &one, sizeof(one));
	(void)n;	/* EAGAIN: the counter is already non-zero, the vCPU wakes anyway */
}

/* Post an interrupt to one vCPU (any thread). */
static int post(struct emu_vcpu *v, enum emu_irq_type type, uint8_t vector, bool level)
{
	bool lapic = v->vm->cfg.lapic;

	pthread_mutex_lock(&v->irq_lock);
	switch (type) {
	case EMU_IRQ_FIXED:
	case EMU_IRQ_LOWEST:
		if (lapic) {
			vec_set(v, APIC_IRR, vector, true);
			vec_set(v, APIC_TMR, vector, level);
		} else {
			v->apic.extint = true;
			v->apic.extint_vector = vector;
		}
		break;
	case EMU_IRQ_EXTINT:
		v->apic.extint = true;
		v->apic.extint_vector = vector;
		break;
	case EMU_IRQ_NMI:
		v->apic.nmi = true;
		break;
	case EMU_IRQ_INIT:
		v->apic.init = true;
		break;
	case EMU_IRQ_SIPI:
		v->apic.sipi = true;
		v->apic.sipi_vector = vector;
		break;
	case EMU_IRQ_SMI:
		pthread_mutex_unlock(&v->irq_lock);
		return -EOPNOTSUPP;
	}
	pthread_mutex_unlock(&v->irq_lock);
	emu_vcpu_wake(v);
	return 0;
}

static bool dest_match(struct emu_vcpu *v, uint32_t dest, bool logical)
{
	if (!logical)
		return dest == 0xff || dest == v->index;
	/* Flat logical model: LDR bits 24-31 against the destination mask. */
	return ((*reg(v, APIC_LDR) >> 24) & dest) != 0;
}

int emu_vm_interrupt(struct emu_vm *vm, enum emu_irq_type type, uint32_t apic_id, bool logical,
		     uint8_t vector, bool level)
{
	int r = -ENOENT;

	if (!vm->cfg.lapic && type != EMU_IRQ_FIXED && type != EMU_IRQ_LOWEST &&
	    type != EMU_IRQ_EXTINT && type != EMU_IRQ_NMI)
		return -EOPNOTSUPP;
	pthread_rwlock_rdlock(&vm->lock);
	for (unsigned i = 0; i < EMU_MAX_VCPUS; i++) {
		struct emu_vcpu *v = vm->vcpus[i];
		bool match;

		if (!v)
			continue;
		pthread_mutex_lock(&v->irq_lock);
		match = dest_match(v, apic_id, logical);
		pthread_mutex_unlock(&v->irq_lock);
		if (!match)
			continue;
		r = post(v, type, vector, level);
		if (r < 0 || type == EMU_IRQ_LOWEST || (!logical && apic_id != 0xff))
			break;
	}
	pthread_rwlock_unlock(&vm->lock);
	return r;
}

int emu_vm_msi(struct emu_vm *vm, uint64_t address, uint32_t data)
{
	static const enum emu_irq_type modes[8] = {
		[0] = EMU_IRQ_FIXED, [1] = EMU_IRQ_LOWEST, [2] = EMU_IRQ_SMI, [4] = EMU_IRQ_NMI,
		[5] = EMU_IRQ_INIT, [7] = EMU_IRQ_EXTINT,
	};
	unsigned mode = (data >> 8) & 7;

	if ((address & 0xfff00000ull) != 0xfee00000ull || mode == 3 || mode == 6)
		return -EINVAL;
	return emu_vm_interrupt(vm, modes[mode], (uint32_t)(address >> 12) & 0xff,
				(address >> 2) & 1, (uint8_t)data, (data >> 15) & 1);
}

/* ---- the APIC page, seen by the guest ---------------------------------------------------- */

uint64_t emu_apic_read(struct emu_vcpu *v, uint64_t offset, unsigned size)
{
	uint64_t val;

	offset &= 0xff0;
	pthread_mutex_lock(&v->irq_lock);
	val = offset == APIC_PPR ? ppr(v) : *reg(v, (unsigned)offset);
	pthread_mutex_unlock(&v->irq_lock);
	return size < 8 ? val & ((1ull << (size * 8)) - 1) : val;
}

static void send_ipi(struct emu_vcpu *v, uint32_t lo, uint32_t hi)
{
	static const enum emu_irq_type modes[8] = {
		[0] = EMU_IRQ_FIXED, [1] = EMU_IRQ_LOWEST, [2] = EMU_IRQ_SMI, [4] = EMU_IRQ_NMI,
		[5] = EMU_IRQ_INIT, [6] = EMU_IRQ_SIPI, [7] = EMU_IRQ_EXTINT,
	};
	unsigned mode = (lo >> 8) & 7, shorthand = (lo >> 18) & 3;
	bool level = (lo >> 15) & 1, assert = (lo >> 14) & 1;
	uint8_t vector = (uint8_t)lo;
	struct emu_vm *vm = v->vm;

	if (mode == 3 || (mode == 5 && level && !assert))	/* INIT level de-assert: no-op */
		return;
	if (shorthand == 0) {
		emu_vm_interrupt(vm, modes[mode], hi >> 24, (lo >> 11) & 1, vector, level);
		return;
	}
	pthread_rwlock_rdlock(&vm->lock);
	for (unsigned i = 0; i < EMU_MAX_VCPUS; i++) {
		struct emu_vcpu *t = vm->vcpus[i];

		if (!t || (shorthand == 1 && t != v) || (shorthand == 3 && t == v))
			continue;
		post(t, modes[mode], vector, level);
	}
	pthread_rwlock_unlock(&vm->lock);
}

bool emu_apic_write(struct emu_vcpu *v, uint64_t offset, uint64_t value, uint8_t *ret_eoi)
{
	uint32_t val = (uint32_t)value, icr_hi = 0, icr_lo = 0;
	bool eoi_level = false, ipi = false;

	offset &= 0xff0;
	pthread_mutex_lock(&v->irq_lock);
	switch (offset) {
	case APIC_TPR:
		*reg(v, APIC_TPR) = val & 0xff;
		break;
	case APIC_EOI: {
		int isr = vec_highest(v, APIC_ISR);

		if (isr >= 0) {
			vec_set(v, APIC_ISR, (uint8_t)isr, false);
			if (vec_test(v, APIC_TMR, (uint8_t)isr)) {
				eoi_level = true;
				*ret_eoi = (uint8_t)isr;
			}
		}
		break;
	}
	case APIC_LDR:
		*reg(v, APIC_LDR) = val & 0xff000000u;
		break;
	case APIC_DFR:
		*reg(v, APIC_DFR) = val | 0x0fffffffu;
		break;
	case APIC_SVR:
		*reg(v, APIC_SVR) = val & 0x13ff;
		break;
	case APIC_ESR:
		*reg(v, APIC_ESR) = 0;
		break;
	case APIC_ICR:
		*reg(v, APIC_ICR) = val & ~(1u << 12);		/* delivery status: idle */
		icr_lo = val;
		icr_hi = *reg(v, APIC_ICR2);
		ipi = true;
		break;
	case APIC_ICR2:
		*reg(v, APIC_ICR2) = val & 0xff000000u;
		break;
	default:
		/* LVT entries, timer registers: stored (the engine has no APIC timer). */
		if (offset >= 0x320 && offset <= 0x3e0)
			*reg(v, (unsigned)offset) = val;
		break;
	}
	pthread_mutex_unlock(&v->irq_lock);
	if (ipi)
		send_ipi(v, icr_lo, icr_hi);
	return eoi_level;
}

int emu_vcpu_get_lapic(struct emu_vcpu *v, uint8_t page[4096])
{
	if (!v->vm->cfg.lapic)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&v->irq_lock);
	memcpy(page, v->apic.regs, 4096);
	memcpy(page + APIC_PPR, &(uint32_t){ ppr(v) }, 4);
	pthread_mutex_unlock(&v->irq_lock);
	return 0;
}

int emu_vcpu_set_lapic(struct emu_vcpu *v, const uint8_t page[4096])
{
	if (!v->vm->cfg.lapic)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&v->irq_lock);
	memcpy(v->apic.regs, page, 4096);
	*reg(v, APIC_VER) = 0x00050014;
	pthread_mutex_unlock(&v->irq_lock);
	emu_vcpu_wake(v);
	return 0;
}

/* ---- delivery ---------------------------------------------------------------------------- */

/* Descriptor -> segment (attributes in the Hyper-V encoding). */
static void desc_to_seg(uint64_t d, uint16_t selector, struct emu_segment *s)
{
	uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));

	s->selector = selector;
	s->base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
	s->attributes = (uint16_t)(((d >> 40) & 0xff) | (((d >> 52) & 0xf) << 12));
	s->limit = (s->attributes & (1u << 15)) ? (limit << 12) | 0xfff : limit;
}

static int push(struct emu_vcpu *v, uint64_t *sp, unsigned size, uint64_t value)
{
	struct emu_segment ss;
	unsigned bits = emu_st_code_bits(v);
	uint64_t la;

	emu_st_get_seg(v, EMU_SEG_SS, &ss);
	if (bits == 64) {
		*sp -= size;
		la = *sp;
	} else if (ss.attributes & (1u << 14) && (*emu_st_cr(v, 0) & 1)) {
		*sp = (*sp - size) & 0xffffffffull;
		la = (ss.base + *sp) & 0xffffffffull;
	} else {
		*sp = (*sp & ~0xffffull) | ((*sp - size) & 0xffff);
		la = ss.base + (*sp & 0xffff);
	}
	return emu_write_linear(v, la, &value, size);
}

/* Deliver vector through the IVT (real mode) or IDT.  err < 0: no error code.  Returns 0, or
 * -1 when the frame cannot be delivered (the caller escalates). */
static int deliver(struct emu_vcpu *v, uint8_t vector, int64_t err)
{
	uint64_t *rsp = emu_st_gpr(v, EMU_RSP), *rip = emu_st_rip(v), *rflags = emu_st_rflags(v);
	uint64_t flags = *rflags, sp = *rsp;
	struct emu_table idt;
	struct emu_segment cs;

	emu_st_get_table(v, true, &idt);
	emu_st_get_seg(v, EMU_SEG_CS, &cs);
	if (!(*emu_st_cr(v, 0) & 1)) {
		uint16_t ivt[2];

		if ((uint32_t)vector * 4 + 3 > idt.limit ||
		    emu_read_linear(v, idt.base + vector * 4u, ivt, sizeof(ivt)) < 0)
			return -1;
		if (push(v, &sp, 2, flags) || push(v, &sp, 2, cs.selector) || push(v, &sp, 2, *rip))
			return -1;
		cs.selector = ivt[1];
		cs.base = (uint64_t)ivt[1] << 4;
		emu_st_set_seg(v, EMU_SEG_CS, &cs);
		*rip = ivt[0];
		*rflags = flags & ~(RFLAGS_IF | RFLAGS_TF | RFLAGS_AC | RFLAGS_RF);
		*rsp = sp;
		return 0;
	}

	bool lm = *emu_st_efer(v) & (1u << 10);
	unsigned gsize = lm ? 16 : 8;
	uint64_t gate[2] = { 0, 0 }, desc, target;
	struct emu_table gdt;
	struct emu_segment ncs;
	uint16_t sel;
	unsigned type;

	if ((uint32_t)vector * gsize + gsize - 1 > idt.limit ||
	    emu_read_linear(v, idt.base + vector * gsize, gate, gsize) < 0)
		return -1;
	type = (gate[0] >> 40) & 0xf;
	if (!((gate[0] >> 47) & 1) || (type != 0xe && type != 0xf))
		return -1;			/* not present, or a task gate (unsupported) */
	sel = (uint16_t)(gate[0] >> 16);
	target = (gate[0] & 0xffff) | ((gate[0] >> 32) & 0xffff0000ull);
	if (lm)
		target |= gate[1] << 32;
	emu_st_get_table(v, false, &gdt);
	if ((sel & ~7u) == 0 || (sel & 4) || (sel | 7u) > gdt.limit ||
	    emu_read_linear(v, gdt.base + (sel & ~7u), &desc, 8) < 0)
		return -1;
	desc_to_seg(desc, sel, &ncs);
	if (!(ncs.attributes & 0x80) || !(ncs.attributes & 0x8))
		return -1;			/* not present, or not code */
	if (emu_st_cpl(v) != ((ncs.attributes >> 5) & 3) && !(ncs.attributes & 0x4))
		return -1;			/* a privilege change: the engine delivers at CPL 0 only */
	if (lm) {
		struct emu_segment ss;

		emu_st_get_seg(v, EMU_SEG_SS, &ss);
		sp &= ~0xfull;
		if (push(v, &sp, 8, ss.selector) || push(v, &sp, 8, *rsp) || push(v, &sp, 8, flags) ||
		    push(v, &sp, 8, cs.selector) || push(v, &sp, 8, *rip) ||
		    (err >= 0 && push(v, &sp, 8, (uint64_t)err)))
			return -1;
	} else {
		unsigned sz = (type & 8) ? 4 : 2;	/* 32- or 16-bit gate */

		if (push(v, &sp, sz, flags) || push(v, &sp, sz, cs.selector) || push(v, &sp, sz, *rip) ||
		    (err >= 0 && push(v, &sp, sz, (uint64_t)err)))
			return -1;
	}
	ncs.selector = (uint16_t)((sel & ~3u) | emu_st_cpl(v));
	emu_st_set_seg(v, EMU_SEG_CS, &ncs);
	*rip = target;
	*rsp = sp;
	flags &= ~(RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM);
	if (type == 0xe)
		flags &= ~RFLAGS_IF;
	*rflags = flags;
	emu_st_update_mode(v);
	return 0;
}

static bool has_error_code(uint8_t vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21;
}

int emu_raise(struct emu_vcpu *v, uint8_t vector, bool has_err, uint32_t err)
{
	v->st_dirty = true;
	if (deliver(v, vector, has_err && (*emu_st_cr(v, 0) & 1) ? (int64_t)err : -1) == 0) {
		emu_st_update_mode(v);
		return 0;
	}
	if (vector == 8)
		return -1;
	return emu_raise(v, 8, true, 0);
}

/* Which interrupt could be taken now; -1 for none.  *ret_kind: 0 NMI, 1 ExtINT, 2 LAPIC.
 * Caller holds irq_lock. */
static int next_irq(struct emu_vcpu *v, bool if_set, int *ret_kind)
{
	if (v->apic.nmi) {
		*ret_kind = 0;
		return 2;
	}
	if (!if_set)
		return -1;
	if (v->apic.extint) {
		*ret_kind = 1;
		return v->apic.extint_vector;
	}
	if (v->vm->cfg.lapic) {
		int irr = vec_highest(v, APIC_IRR);

		if (irr >= 0 && ((unsigned)irr & 0xf0) > (ppr(v) & 0xf0)) {
			*ret_kind = 2;
			return irr;
		}
	}
	return -1;
}

bool emu_irq_wakes(struct emu_vcpu *v)
{
	bool if_set = *emu_st_rflags(v) & RFLAGS_IF;
	int kind, vec;

	pthread_mutex_lock(&v->irq_lock);
	vec = next_irq(v, if_set, &kind);
	pthread_mutex_unlock(&v->irq_lock);
	return vec >= 0;
}

int emu_irq_deliver(struct emu_vcpu *v)
{
	bool if_set = (*emu_st_rflags(v) & RFLAGS_IF) && !v->shadow;
	int kind = 0, vec;

	pthread_mutex_lock(&v->irq_lock);
	vec = next_irq(v, if_set, &kind);
	if (vec >= 0) {
		if (kind == 0) {
			v->apic.nmi = false;
		} else if (kind == 1) {
			v->apic.extint = false;
		} else {
			vec_set(v, APIC_IRR, (uint8_t)vec, false);
			vec_set(v, APIC_ISR, (uint8_t)vec, true);
		}
	}
	pthread_mutex_unlock(&v->irq_lock);
	if (vec < 0)
		return 0;
	v->st_dirty = true;
	if (deliver(v, (uint8_t)vec, -1) < 0)
		return emu_raise(v, 13, true, (uint32_t)vec * 8 + 2) < 0 ? -1 : 1;
	if (v->activity == EMU_HALTED)
		v->activity = EMU_ACTIVE;
	return 1;
}

/* Exceptions with an error code, for callers outside this file. */
bool emu_vector_has_error_code(uint8_t vector);
bool emu_vector_has_error_code(uint8_t vector)
{
	return has_error_code(vector);
}
