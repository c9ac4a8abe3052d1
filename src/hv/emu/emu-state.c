// SPDX-License-Identifier: MIT
/* The engine's CPU state: the saved Unicorn context, its verified layout, registers by class. */
#include <errno.h>
#include <string.h>

#include "hv/emu/emu-internal.h"

/*
 * Why a saved context: Unicorn's register API cannot set a segment's hidden state (base,
 * limit, attributes) and, in a 64-bit instance, writes CR0 without updating the CPU's mode
 * flags, so neither a real-mode start nor a mode change through set_sregs would take effect.
 * The context is a byte copy of the CPU state; the engine edits the fields it needs and
 * restores it.  Their offsets are those of the engine's CPU structure (general registers, RIP,
 * RFLAGS, the emulator's flags words, six segment caches, LDT, TR, GDT, IDT, CR0-4, ..., EFER),
 * checked at start-up against values written through the public API: a Unicorn whose layout
 * differs is refused (emu_vcpu_new() returns -ENOTSUP) instead of corrupted.
 */
struct emu_layout emu_layout;

/* The engine's segment cache: selector, base, limit, flags (descriptor high word layout). */
#define SEG_SIZE	24
#define SEG_SELECTOR	0
#define SEG_BASE	8
#define SEG_LIMIT	16
#define SEG_FLAGS	20

/* Mode flags (the engine's HF_* bits). */
#define HF_CPL_MASK	3u
#define HF_CS32		(1u << 4)
#define HF_SS32		(1u << 5)
#define HF_ADDSEG	(1u << 6)
#define HF_PE		(1u << 7)
#define HF_TF		(1u << 8)
#define HF_MP		(1u << 9)
#define HF_EM		(1u << 10)
#define HF_TS		(1u << 11)
#define HF_IOPL		(3u << 12)
#define HF_LMA		(1u << 14)
#define HF_CS64		(1u << 15)
#define HF_RF		(1u << 16)
#define HF_VM		(1u << 17)
#define HF_AC		(1u << 18)
#define HF_OSFXSR	(1u << 22)
#define HF_SMAP		(1u << 23)

#define DESC_B		(1u << 22)
#define DESC_L		(1u << 21)

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void wr64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

int emu_state_probe(uc_engine *uc, uc_context *ctx)
{
	const uint64_t rax = 0x5a17c0de0badf00dull, rip = 0x7123456ull, cr3 = 0x3ab000ull;
	uc_x86_mmr gdtr = { .base = 0x12345678, .limit = 0x2f };
	uc_x86_msr efer = { .rid = 0xc0000080 };
	struct emu_layout l = {
		.regs = 0, .eip = 128, .eflags = 136, .hflags = 176, .segs = 184,
		.ldt = 184 + 6 * SEG_SIZE, .tr = 184 + 7 * SEG_SIZE, .gdt = 184 + 8 * SEG_SIZE,
		.idt = 184 + 9 * SEG_SIZE, .cr = 184 + 10 * SEG_SIZE, .efer = 560,
	};
	uint64_t saved[4], got;
	size_t size = uc_context_size(uc);
	const uint8_t *base = (const uint8_t *)ctx;
	bool found = false;

	if (uc_reg_read(uc, UC_X86_REG_RAX, &saved[0]) || uc_reg_read(uc, UC_X86_REG_RIP, &saved[1]) ||
	    uc_reg_read(uc, UC_X86_REG_CR3, &saved[2]))
		return -ENOTSUP;
	if (uc_reg_write(uc, UC_X86_REG_RAX, &rax) || uc_reg_write(uc, UC_X86_REG_RIP, &rip) ||
	    uc_reg_write(uc, UC_X86_REG_CR3, &cr3) || uc_reg_write(uc, UC_X86_REG_GDTR, &gdtr) ||
	    uc_reg_read(uc, UC_X86_REG_MSR, &efer) || uc_context_save(uc, ctx))
		return -ENOTSUP;
	for (size_t i = 0; i + 8 <= size && i < 256; i++)
		if (rd64(base + i) == rax) {
			l.data = i;
			found = true;
			break;
		}
	if (!found)
		return -ENOTSUP;
	base += l.data;
	got = rd64(base + l.eip);
	if (got != rip || rd64(base + l.cr + 3 * 8) != cr3 || rd64(base + l.gdt + SEG_BASE) != gdtr.base ||
	    rd32(base + l.gdt + SEG_LIMIT) != gdtr.limit || rd64(base + l.efer) != efer.value)
		return -ENOTSUP;
	uc_reg_write(uc, UC_X86_REG_RAX, &saved[0]);
	uc_reg_write(uc, UC_X86_REG_RIP, &saved[1]);
	uc_reg_write(uc, UC_X86_REG_CR3, &saved[2]);
	emu_layout = l;
	return 0;
}

int emu_state_load(struct emu_vcpu *v)
{
	if (v->st_valid)
		return 0;
	if (uc_context_save(v->uc, v->ctx) != UC_ERR_OK)
		return -EIO;
	v->st = (uint8_t *)v->ctx + emu_layout.data;
	v->st_valid = true;
	v->st_dirty = false;
	return 0;
}

int emu_state_store(struct emu_vcpu *v)
{
	if (v->st_valid && v->st_dirty && uc_context_restore(v->uc, v->ctx) != UC_ERR_OK)
		return -EIO;
	v->st_dirty = false;
	return 0;
}

uint64_t *emu_st_gpr(struct emu_vcpu *v, unsigned reg)
{
	return (uint64_t *)(void *)(v->st + emu_layout.regs + 8 * reg);
}

uint64_t *emu_st_rip(struct emu_vcpu *v)
{
	return (uint64_t *)(void *)(v->st + emu_layout.eip);
}

uint64_t *emu_st_rflags(struct emu_vcpu *v)
{
	return (uint64_t *)(void *)(v->st + emu_layout.eflags);
}

uint64_t *emu_st_cr(struct emu_vcpu *v, unsigned n)
{
	return (uint64_t *)(void *)(v->st + emu_layout.cr + 8 * n);
}

uint64_t *emu_st_efer(struct emu_vcpu *v)
{
	return (uint64_t *)(void *)(v->st + emu_layout.efer);
}

static uint8_t *seg_ptr(struct emu_vcpu *v, unsigned seg)
{
	return v->st + emu_layout.segs + SEG_SIZE * seg;	/* LDT and TR follow GS */
}

/* Hyper-V attributes <-> the engine's descriptor flags: the same bits, shifted by 8. */
void emu_st_get_seg(struct emu_vcpu *v, unsigned seg, struct emu_segment *ret)
{
	const uint8_t *p = seg_ptr(v, seg);
	uint32_t flags = rd32(p + SEG_FLAGS);

	ret->selector = (uint16_t)rd32(p + SEG_SELECTOR);
	ret->base = rd64(p + SEG_BASE);
	ret->limit = rd32(p + SEG_LIMIT);
	ret->attributes = (uint16_t)((flags >> 8) & 0xf0ff);
	/* The CPU marks a loaded code/data descriptor accessed; the engine's cache may not. */
	if (seg <= EMU_SEG_GS && (ret->attributes & 0x90) == 0x90)
		ret->attributes |= 1;
}

void emu_st_set_seg(struct emu_vcpu *v, unsigned seg, const struct emu_segment *s)
{
	uint8_t *p = seg_ptr(v, seg);

	wr32(p + SEG_SELECTOR, s->selector);
	wr64(p + SEG_BASE, s->base);
	wr32(p + SEG_LIMIT, s->limit);
	wr32(p + SEG_FLAGS, (uint32_t)(s->attributes & 0xf0ff) << 8);
	v->st_dirty = true;
}

void emu_st_get_table(struct emu_vcpu *v, bool idt, struct emu_table *ret)
{
	const uint8_t *p = v->st + (idt ? emu_layout.idt : emu_layout.gdt);

	ret->base = rd64(p + SEG_BASE);
	ret->limit = (uint16_t)rd32(p + SEG_LIMIT);
}

static void set_table(struct emu_vcpu *v, bool idt, const struct emu_table *t)
{
	uint8_t *p = v->st + (idt ? emu_layout.idt : emu_layout.gdt);

	wr64(p + SEG_BASE, t->base);
	wr32(p + SEG_LIMIT, t->limit);
	v->st_dirty = true;
}

void emu_st_update_mode(struct emu_vcpu *v)
{
	uint32_t *hf = (uint32_t *)(void *)(v->st + emu_layout.hflags);
	uint64_t cr0 = *emu_st_cr(v, 0), cr4 = *emu_st_cr(v, 4), efer = *emu_st_efer(v);
	uint64_t rflags = *emu_st_rflags(v);
	uint32_t cs = rd32(seg_ptr(v, EMU_SEG_CS) + SEG_FLAGS);
	uint32_t ss = rd32(seg_ptr(v, EMU_SEG_SS) + SEG_FLAGS);
	uint32_t keep = HF_CPL_MASK | HF_CS32 | HF_SS32 | HF_ADDSEG | HF_PE | HF_TF | HF_MP |
			HF_EM | HF_TS | HF_IOPL | HF_LMA | HF_CS64 | HF_RF | HF_VM | HF_AC |
			HF_OSFXSR | HF_SMAP;
	uint32_t h = *hf & ~keep;

	/* CPL is SS.DPL in protected mode, 0 in real mode. */
	if (cr0 & 1)
		h |= (ss >> 13) & 3;
	h |= (cr0 & 1) ? HF_PE : 0;
	h |= (uint32_t)(cr0 << 8) & (HF_MP | HF_EM | HF_TS);	/* CR0 bits 1-3 -> 9-11 */
	h |= (uint32_t)rflags & (HF_TF | HF_IOPL | HF_VM | HF_AC | HF_RF);
	h |= (cr4 & (1u << 9)) ? HF_OSFXSR : 0;
	h |= (cr4 & (1u << 21)) ? HF_SMAP : 0;
	if (efer & (1u << 10))
		h |= HF_LMA;
	if ((h & HF_LMA) && (cs & DESC_L)) {
		h |= HF_CS32 | HF_SS32 | HF_CS64;
	} else {
		h |= (cs & DESC_B) ? HF_CS32 : 0;
		h |= (ss & DESC_B) ? HF_SS32 : 0;
	}
	if (!(cr0 & 1) || (rflags & (1u << 17)) || !(h & HF_CS32)) {
		h |= HF_ADDSEG;
	} else {
		uint64_t bases = rd64(seg_ptr(v, EMU_SEG_DS) + SEG_BASE) |
				 rd64(seg_ptr(v, EMU_SEG_ES) + SEG_BASE) |
				 rd64(seg_ptr(v, EMU_SEG_SS) + SEG_BASE);

		h |= bases ? HF_ADDSEG : 0;
	}
	*hf = h;
	v->st_dirty = true;
}

unsigned emu_st_code_bits(struct emu_vcpu *v)
{
	uint32_t hf = rd32(v->st + emu_layout.hflags);

	if (hf & HF_CS64)
		return 64;
	return (hf & HF_CS32) ? 32 : 16;
}

unsigned emu_st_cpl(struct emu_vcpu *v)
{
	return rd32(v->st + emu_layout.hflags) & HF_CPL_MASK;
}

uint64_t emu_st_linear(struct emu_vcpu *v, unsigned seg, uint64_t off, unsigned addr_size)
{
	uint64_t base = rd64(seg_ptr(v, seg) + SEG_BASE);

	if (addr_size == 2)
		off &= 0xffff;
	else if (addr_size == 4)
		off &= 0xffffffffull;
	/* In 64-bit mode only FS and GS have a base. */
	if (emu_st_code_bits(v) == 64 && seg != EMU_SEG_FS && seg != EMU_SEG_GS)
		base = 0;
	if (emu_st_code_bits(v) != 64)
		return (base + off) & 0xffffffffull;
	return base + off;
}

/* ---- the public register API ------------------------------------------------------------- */

/* Registers may change while an exit waits: moving RIP abandons it (the caller emulated the
 * instruction), and any change ends a latched shutdown. */
static void regs_changed(struct emu_vcpu *v, uint64_t old_rip)
{
	if (v->pending && *emu_st_rip(v) != old_rip)
		v->pending = false;
	v->shutdown = false;
	v->fetch_page = ~0ull;
}

int emu_vcpu_get_regs(struct emu_vcpu *v, struct emu_regs *ret)
{
	int r = emu_state_load(v);

	if (r < 0)
		return r;
	for (unsigned i = 0; i < 16; i++)
		ret->gpr[i] = *emu_st_gpr(v, i);
	ret->rip = *emu_st_rip(v);
	ret->rflags = *emu_st_rflags(v);
	return 0;
}

int emu_vcpu_set_regs(struct emu_vcpu *v, const struct emu_regs *regs)
{
	int r = emu_state_load(v);
	uint64_t old_rip;

	if (r < 0)
		return r;
	old_rip = *emu_st_rip(v);
	for (unsigned i = 0; i < 16; i++)
		*emu_st_gpr(v, i) = regs->gpr[i];
	*emu_st_rip(v) = regs->rip;
	*emu_st_rflags(v) = (regs->rflags & 0x3f7fd7ull) | 2;
	emu_st_update_mode(v);	/* TF, IOPL, VM, AC live in the mode flags too */
	regs_changed(v, old_rip);
	return 0;
}

int emu_vcpu_get_sregs(struct emu_vcpu *v, struct emu_sregs *ret)
{
	int r = emu_state_load(v);
	struct emu_segment *segs[] = { &ret->es, &ret->cs, &ret->ss, &ret->ds, &ret->fs, &ret->gs,
				       &ret->ldt, &ret->tr };

	if (r < 0)
		return r;
	for (unsigned i = 0; i < 8; i++)
		emu_st_get_seg(v, i, segs[i]);
	emu_st_get_table(v, false, &ret->gdt);
	emu_st_get_table(v, true, &ret->idt);
	ret->cr0 = *emu_st_cr(v, 0);
	ret->cr2 = *emu_st_cr(v, 2);
	ret->cr3 = *emu_st_cr(v, 3);
	ret->cr4 = *emu_st_cr(v, 4);
	pthread_mutex_lock(&v->irq_lock);
	ret->cr8 = v->vm->cfg.lapic ? (v->apic.regs[0x80 / 4] >> 4) & 0xf : 0;
	pthread_mutex_unlock(&v->irq_lock);
	ret->efer = *emu_st_efer(v);
	ret->apic_base = v->apic_base;
	return 0;
}

int emu_vcpu_set_sregs(struct emu_vcpu *v, const struct emu_sregs *s)
{
	const struct emu_segment *segs[] = { &s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs,
					     &s->ldt, &s->tr };
	int r = emu_state_load(v);
	uint64_t efer = s->efer;
	uint64_t old_rip;

	if (r < 0)
		return r;
	old_rip = *emu_st_rip(v);
	for (unsigned i = 0; i < 8; i++)
		emu_st_set_seg(v, i, segs[i]);
	set_table(v, false, &s->gdt);
	set_table(v, true, &s->idt);
	*emu_st_cr(v, 0) = s->cr0 | 0x10;		/* ET is hard-wired */
	*emu_st_cr(v, 2) = s->cr2;
	*emu_st_cr(v, 3) = s->cr3;
	*emu_st_cr(v, 4) = s->cr4;
	/* LMA follows LME and paging, as a VMM that sets LME|PG means it. */
	if ((efer & (1u << 8)) && (s->cr0 & (1ull << 31)))
		efer |= 1u << 10;
	else if (!(s->cr0 & (1ull << 31)))
		efer &= ~(1ull << 10);
	*emu_st_efer(v) = efer;
	emu_st_update_mode(v);
	if (v->vm->cfg.lapic) {
		pthread_mutex_lock(&v->irq_lock);
		v->apic.regs[0x80 / 4] = (uint32_t)(s->cr8 & 0xf) << 4;
		pthread_mutex_unlock(&v->irq_lock);
	}
	v->apic_base = s->apic_base ? s->apic_base : v->apic_base;
	regs_changed(v, old_rip);
	v->shutdown = false;
	/* Translated code is keyed by the mode flags, so none has to go.  (The engine's whole
	 * flush takes seconds: it is never used.) */
	return 0;
}

int emu_vcpu_get_fpu(struct emu_vcpu *v, struct emu_fpu *ret)
{
	static const int xmm[16] = {
		UC_X86_REG_XMM0, UC_X86_REG_XMM1, UC_X86_REG_XMM2, UC_X86_REG_XMM3,
		UC_X86_REG_XMM4, UC_X86_REG_XMM5, UC_X86_REG_XMM6, UC_X86_REG_XMM7,
		UC_X86_REG_XMM8, UC_X86_REG_XMM9, UC_X86_REG_XMM10, UC_X86_REG_XMM11,
		UC_X86_REG_XMM12, UC_X86_REG_XMM13, UC_X86_REG_XMM14, UC_X86_REG_XMM15,
	};
	uint16_t ftag = 0, fop = 0;
	uint64_t fip = 0, fdp = 0;
	int r = emu_state_store(v);

	if (r < 0)
		return r;
	memset(ret, 0, sizeof(*ret));
	for (int i = 0; i < 8; i++)
		uc_reg_read(v->uc, UC_X86_REG_FP0 + i, ret->st[i]);
	for (int i = 0; i < 16; i++)
		uc_reg_read(v->uc, xmm[i], ret->xmm[i]);
	uc_reg_read(v->uc, UC_X86_REG_FPCW, &ret->fcw);
	uc_reg_read(v->uc, UC_X86_REG_FPSW, &ret->fsw);
	uc_reg_read(v->uc, UC_X86_REG_FPTAG, &ftag);
	uc_reg_read(v->uc, UC_X86_REG_FIP, &fip);
	uc_reg_read(v->uc, UC_X86_REG_FDP, &fdp);
	uc_reg_read(v->uc, UC_X86_REG_FOP, &fop);
	uc_reg_read(v->uc, UC_X86_REG_MXCSR, &ret->mxcsr);
	/* Full tag word (2 bits a register, 3 = empty) -> abridged (1 bit, 1 = valid). */
	for (int i = 0; i < 8; i++)
		if (((ftag >> (2 * i)) & 3) != 3)
			ret->ftw |= (uint8_t)(1u << i);
	ret->fop = fop;
	ret->fip = fip;
	ret->fdp = fdp;
	return 0;
}

int emu_vcpu_set_fpu(struct emu_vcpu *v, const struct emu_fpu *f)
{
	static const int xmm[16] = {
		UC_X86_REG_XMM0, UC_X86_REG_XMM1, UC_X86_REG_XMM2, UC_X86_REG_XMM3,
		UC_X86_REG_XMM4, UC_X86_REG_XMM5, UC_X86_REG_XMM6, UC_X86_REG_XMM7,
		UC_X86_REG_XMM8, UC_X86_REG_XMM9, UC_X86_REG_XMM10, UC_X86_REG_XMM11,
		UC_X86_REG_XMM12, UC_X86_REG_XMM13, UC_X86_REG_XMM14, UC_X86_REG_XMM15,
	};
	uint16_t ftag = 0;
	int r = emu_state_store(v);

	if (r < 0)
		return r;
	for (int i = 0; i < 8; i++) {
		if (!(f->ftw & (1u << i)))
			ftag |= (uint16_t)(3u << (2 * i));
		uc_reg_write(v->uc, UC_X86_REG_FP0 + i, f->st[i]);
	}
	for (int i = 0; i < 16; i++)
		uc_reg_write(v->uc, xmm[i], f->xmm[i]);
	uc_reg_write(v->uc, UC_X86_REG_FPCW, &f->fcw);
	uc_reg_write(v->uc, UC_X86_REG_FPSW, &f->fsw);
	uc_reg_write(v->uc, UC_X86_REG_FPTAG, &ftag);
	uc_reg_write(v->uc, UC_X86_REG_MXCSR, &f->mxcsr);
	v->st_valid = false;		/* the context copy is stale now */
	return 0;
}

int emu_vcpu_get_dr(struct emu_vcpu *v, unsigned index, uint64_t *ret)
{
	int r = emu_state_store(v);

	if (r < 0)
		return r;
	if (index > 7 || index == 4 || index == 5)
		return -EINVAL;
	return uc_reg_read(v->uc, UC_X86_REG_DR0 + (int)index, ret) ? -EIO : 0;
}

int emu_vcpu_set_dr(struct emu_vcpu *v, unsigned index, uint64_t value)
{
	int r = emu_state_store(v);

	if (r < 0)
		return r;
	if (index > 7 || index == 4 || index == 5)
		return -EINVAL;
	if (uc_reg_write(v->uc, UC_X86_REG_DR0 + (int)index, &value))
		return -EIO;
	v->st_valid = false;
	return 0;
}

/* MSRs the engine's CPU implements; the rest exit (EMU_EXIT_MSR). */
static bool msr_known(uint32_t index)
{
	switch (index) {
	case 0x10:				/* TSC */
	case 0x174: case 0x175: case 0x176:	/* SYSENTER_CS/ESP/EIP */
	case 0x277:				/* PAT */
	case 0xc0000080:			/* EFER */
	case 0xc0000081: case 0xc0000082: case 0xc0000083: case 0xc0000084: /* STAR..SFMASK */
	case 0xc0000100: case 0xc0000101: case 0xc0000102:	/* FS/GS/KERNEL_GS base */
	case 0xc0000103:			/* TSC_AUX */
	case 0x1b:				/* APIC_BASE (the engine's own) */
		return true;
	default:
		/* MTRRs: cap, def type, fixed and variable ranges. */
		return index == 0xfe || index == 0x2ff || (index >= 0x200 && index < 0x210) ||
		       index == 0x250 || index == 0x258 || index == 0x259 ||
		       (index >= 0x268 && index <= 0x26f);
	}
}

bool emu_msr_known(uint32_t index);
bool emu_msr_known(uint32_t index)
{
	return msr_known(index);
}

int emu_vcpu_get_msr(struct emu_vcpu *v, uint32_t index, uint64_t *ret)
{
	uc_x86_msr m = { .rid = index };
	int r;

	if (!msr_known(index))
		return -ENOENT;
	if (index == 0x1b) {
		*ret = v->apic_base;
		return 0;
	}
	r = emu_state_store(v);
	if (r < 0)
		return r;
	if (uc_reg_read(v->uc, UC_X86_REG_MSR, &m))
		return -EIO;
	*ret = m.value;
	return 0;
}

int emu_vcpu_set_msr(struct emu_vcpu *v, uint32_t index, uint64_t value)
{
	uc_x86_msr m = { .rid = index, .value = value };
	int r;

	if (!msr_known(index))
		return -ENOENT;
	if (index == 0x1b) {
		v->apic_base = value;
		return 0;
	}
	r = emu_state_store(v);
	if (r < 0)
		return r;
	if (uc_reg_write(v->uc, UC_X86_REG_MSR, &m))
		return -EIO;
	v->st_valid = false;
	return 0;
}
