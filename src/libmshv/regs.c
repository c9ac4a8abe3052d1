// SPDX-License-Identifier: MIT
// libmshv registers: get/set through HVCALL_GET/SET_VP_REGISTERS (split per call), the register
// page fast path, and the plain-struct register groups.

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Register page classes libmshv reads/writes (offsets < 152, identical in all layouts). */
#define PAGE_GENERAL	(1u << HV_X64_REGISTER_CLASS_GENERAL)
#define PAGE_IP		(1u << HV_X64_REGISTER_CLASS_IP)
#define PAGE_FLAGS	(1u << HV_X64_REGISTER_CLASS_FLAGS)

size_t mshv__chunk_count(size_t n, size_t max)
{
	return max ? (n + max - 1) / max : 0;
}

size_t mshv__build_get_regs_input(void *buf, uint32_t vp_index,
				  const struct hv_register_assoc *regs, size_t n)
{
	struct hv_input_get_vp_registers hdr;
	uint8_t *p = buf;

	memset(&hdr, 0, sizeof(hdr));
	hdr.vp_index = vp_index;
	memcpy(p, &hdr, sizeof(hdr));
	for (size_t i = 0; i < n; i++)
		memcpy(p + sizeof(hdr) + 4 * i, &regs[i].name, 4);
	return sizeof(hdr) + 4 * n;
}

size_t mshv__build_set_regs_input(void *buf, uint32_t vp_index,
				  const struct hv_register_assoc *regs, size_t n)
{
	struct hv_input_set_vp_registers hdr;
	uint8_t *p = buf;

	memset(&hdr, 0, sizeof(hdr));
	hdr.vp_index = vp_index;
	memcpy(p, &hdr, sizeof(hdr));
	memcpy(p + sizeof(hdr), regs, n * sizeof(*regs));
	return sizeof(hdr) + n * sizeof(*regs);
}

/*
 * Byte offset of a GPR/RIP/RFLAGS name in the register page (0: not in the page) and its dirty
 * class. Offsets, not pointers: the page struct is packed.
 */
static size_t page_offset(uint32_t name, uint32_t *ret_class)
{
	if (name >= HV_X64_REGISTER_RAX && name <= HV_X64_REGISTER_R15) {
		*ret_class = PAGE_GENERAL;
		return offsetof(struct hv_vp_register_page, gp_registers) +
		       8 * (name - HV_X64_REGISTER_RAX);
	}
	if (name == HV_X64_REGISTER_RIP) {
		*ret_class = PAGE_IP;
		return offsetof(struct hv_vp_register_page, rip);
	}
	if (name == HV_X64_REGISTER_RFLAGS) {
		*ret_class = PAGE_FLAGS;
		return offsetof(struct hv_vp_register_page, rflags);
	}
	*ret_class = 0;
	return 0;
}

static uint64_t page_read(const struct hv_vp_register_page *page, size_t off)
{
	uint64_t v;

	memcpy(&v, (const uint8_t *)page + off, sizeof(v));
	return v;
}

static void page_write(struct hv_vp_register_page *page, size_t off, uint64_t v)
{
	memcpy((uint8_t *)page + off, &v, sizeof(v));
}

/* The register page, if mapped and holding the current state. */
static struct hv_vp_register_page *valid_page(struct mshv_vcpu *vcpu)
{
	struct hv_vp_register_page *page = vcpu->reg_page;

	return page && page->isvalid ? page : NULL;
}

/*
 * Values written through the page are applied by the hypervisor at the next dispatch, so while
 * a class's dirty bit is pending a hypercall read returns the old value: report the page value.
 * (Pending values matter even if isvalid dropped meanwhile.)
 */
static void overlay_page(struct mshv_vcpu *vcpu, struct hv_register_assoc *regs, size_t n)
{
	struct hv_vp_register_page *page = vcpu->reg_page;

	if (!page || !page->dirty)
		return;
	for (size_t i = 0; i < n; i++) {
		uint32_t cls;
		size_t off = page_offset(regs[i].name, &cls);

		if (off && (page->dirty & cls)) {
			memset(&regs[i].value, 0, sizeof(regs[i].value));
			regs[i].value.reg64 = page_read(page, off);
		}
	}
}

/*
 * A hypercall write of a GPR/RIP/RFLAGS must not be undone at the next dispatch by an older
 * pending page value, and a valid page must keep showing the current state: update the slot.
 * page_was_valid is sampled before the hypercall, which may invalidate the page.
 */
static void sync_page(struct mshv_vcpu *vcpu, const struct hv_register_assoc *regs, size_t n,
		      bool page_was_valid)
{
	struct hv_vp_register_page *page = vcpu->reg_page;

	if (!page)
		return;
	for (size_t i = 0; i < n; i++) {
		uint32_t cls;
		size_t off = page_offset(regs[i].name, &cls);

		if (off && (page_was_valid || (page->dirty & cls)))
			page_write(page, off, regs[i].value.reg64);
	}
}

static int get_hvcall(struct mshv_vcpu *vcpu, struct hv_register_assoc *regs, size_t n)
{
	uint8_t in[16 + 4 * HV_GET_VP_REGISTERS_MAX_REPS];
	union hv_register_value out[HV_GET_VP_REGISTERS_MAX_REPS];

	for (size_t done = 0; done < n; done += HV_GET_VP_REGISTERS_MAX_REPS) {
		size_t k = n - done < HV_GET_VP_REGISTERS_MAX_REPS ? n - done
								   : HV_GET_VP_REGISTERS_MAX_REPS;
		struct mshv_root_hvcall args;
		size_t in_sz = mshv__build_get_regs_input(in, vcpu->index, regs + done, k);
		int r;

		mshv__hvcall_args(&args, HVCALL_GET_VP_REGISTERS, (uint16_t)k, in, in_sz,
				  out, k * sizeof(out[0]));
		r = mshv__dual(vcpu->vm, MSHV__OP_REGS, vcpu->fd, &args, 1, 0, NULL, NULL);
		if (r < 0)
			return r;
		for (size_t i = 0; i < k; i++)
			regs[done + i].value = out[i];
	}
	return 0;
}

static int set_hvcall(struct mshv_vcpu *vcpu, const struct hv_register_assoc *regs, size_t n)
{
	uint8_t in[16 + sizeof(struct hv_register_assoc) * HV_SET_VP_REGISTERS_MAX_REPS];

	for (size_t done = 0; done < n; done += HV_SET_VP_REGISTERS_MAX_REPS) {
		size_t k = n - done < HV_SET_VP_REGISTERS_MAX_REPS ? n - done
								   : HV_SET_VP_REGISTERS_MAX_REPS;
		struct mshv_root_hvcall args;
		size_t in_sz = mshv__build_set_regs_input(in, vcpu->index, regs + done, k);
		int r;

		mshv__hvcall_args(&args, HVCALL_SET_VP_REGISTERS, (uint16_t)k, in, in_sz, NULL, 0);
		r = mshv__dual(vcpu->vm, MSHV__OP_REGS, vcpu->fd, &args, 1, 0, NULL, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The Microsoft kernels' MSHV_EXT_GET/SET_VP_REGISTERS, <= 128 registers per call.  A set
 * hands the kernel a copy of each chunk (on the stack): never the caller's const memory. */
static int regs_ext(struct mshv_vcpu *vcpu, unsigned long request,
		    struct hv_register_assoc *regs, const struct hv_register_assoc *set_regs,
		    size_t n)
{
	struct hv_register_assoc chunk[MSHV_EXT_VP_MAX_REGISTERS];

	for (size_t done = 0; done < n; done += MSHV_EXT_VP_MAX_REGISTERS) {
		size_t k = n - done < MSHV_EXT_VP_MAX_REGISTERS ? n - done
								: MSHV_EXT_VP_MAX_REGISTERS;
		struct mshv_ext_vp_registers arg = {
			.count = (int32_t)k, .regs = (uint64_t)(uintptr_t)(regs + done),
		};
		int r;

		if (set_regs) {
			memcpy(chunk, set_regs + done, k * sizeof(chunk[0]));
			arg.regs = (uint64_t)(uintptr_t)chunk;
		}
		r = mshv__ioctl(vcpu->fd, request, &arg);

		if (r == -ENOTTY)
			return -EOPNOTSUPP;
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Run the transfer on the path that works: hypercalls unless MSHV_ROOT_HVCALL is missing
 * (mshv__dual then records PATH_NONE for the hypercall form because no ext request was
 * given), else the Microsoft ioctl.
 */
static int regs_transfer(struct mshv_vcpu *vcpu, struct hv_register_assoc *regs,
			 const struct hv_register_assoc *set_regs, size_t n)
{
	int path = mshv__path_get(vcpu->vm, MSHV__OP_REGS);
	bool set = set_regs != NULL;
	int r;

	if (path != MSHV__PATH_EXT) {
		r = set ? set_hvcall(vcpu, set_regs, n) : get_hvcall(vcpu, regs, n);
		if (r != -EOPNOTSUPP || path == MSHV__PATH_HVCALL)
			return r;
		/* No MSHV_ROOT_HVCALL: mshv__dual stored NONE; try the ioctl. */
	}
	r = regs_ext(vcpu, set ? MSHV_EXT_SET_VP_REGISTERS : MSHV_EXT_GET_VP_REGISTERS, regs,
		     set_regs, n);
	mshv__path_set(vcpu->vm, MSHV__OP_REGS,
		       r == -EOPNOTSUPP ? MSHV__PATH_NONE : MSHV__PATH_EXT);
	return r;
}

int mshv_vcpu_get_reg(struct mshv_vcpu *vcpu, struct hv_register_assoc *regs, size_t n)
{
	int r;

	if (!vcpu || (n && !regs))
		return -EINVAL;
	if (n == 0)
		return 0;
	r = regs_transfer(vcpu, regs, NULL, n);
	if (r < 0)
		return r;
	overlay_page(vcpu, regs, n);
	return 0;
}

int mshv_vcpu_set_reg(struct mshv_vcpu *vcpu, const struct hv_register_assoc *regs, size_t n)
{
	bool page_was_valid;
	int r;

	if (!vcpu || (n && !regs))
		return -EINVAL;
	if (n == 0)
		return 0;
	page_was_valid = valid_page(vcpu) != NULL;
	r = regs_transfer(vcpu, NULL, regs, n);
	if (r == 0)
		sync_page(vcpu, regs, n, page_was_valid);
	return r;
}

int mshv_vcpu_set_registers64(struct mshv_vcpu *vcpu, const struct mshv_reg64 *regs, size_t n)
{
	struct hv_register_assoc *assocs;
	int r;

	if (!vcpu || (n && !regs))
		return -EINVAL;
	if (n == 0)
		return 0;
	assocs = calloc(n, sizeof(*assocs));
	if (!assocs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		assocs[i].name = regs[i].name;
		assocs[i].value.reg64 = regs[i].value;
	}
	r = mshv_vcpu_set_reg(vcpu, assocs, n);
	free(assocs);
	return r;
}

/* ---- helpers for the groups ---------------------------------------------------------------- */

static void names(struct hv_register_assoc *regs, const uint32_t *list, size_t n)
{
	memset(regs, 0, n * sizeof(*regs));
	for (size_t i = 0; i < n; i++)
		regs[i].name = list[i];
}

static int get_u64s(struct mshv_vcpu *vcpu, const uint32_t *list, uint64_t *vals, size_t n)
{
	struct hv_register_assoc regs[32];
	int r;

	names(regs, list, n);
	r = mshv_vcpu_get_reg(vcpu, regs, n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		vals[i] = regs[i].value.reg64;
	return 0;
}

static int set_u64s(struct mshv_vcpu *vcpu, const uint32_t *list, const uint64_t *vals, size_t n)
{
	struct hv_register_assoc regs[32];

	names(regs, list, n);
	for (size_t i = 0; i < n; i++)
		regs[i].value.reg64 = vals[i];
	return mshv_vcpu_set_reg(vcpu, regs, n);
}

/* ---- general purpose registers -------------------------------------------------------------- */

static const uint32_t gpr_names[] = {
	HV_X64_REGISTER_RAX, HV_X64_REGISTER_RBX, HV_X64_REGISTER_RCX, HV_X64_REGISTER_RDX,
	HV_X64_REGISTER_RSI, HV_X64_REGISTER_RDI, HV_X64_REGISTER_RSP, HV_X64_REGISTER_RBP,
	HV_X64_REGISTER_R8, HV_X64_REGISTER_R9, HV_X64_REGISTER_R10, HV_X64_REGISTER_R11,
	HV_X64_REGISTER_R12, HV_X64_REGISTER_R13, HV_X64_REGISTER_R14, HV_X64_REGISTER_R15,
	HV_X64_REGISTER_RIP, HV_X64_REGISTER_RFLAGS,
};

static void regs_to_array(const struct mshv_regs *r, uint64_t v[18])
{
	const uint64_t tmp[18] = {
		r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rsp, r->rbp,
		r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15, r->rip, r->rflags,
	};

	memcpy(v, tmp, sizeof(tmp));
}

static void regs_from_array(struct mshv_regs *r, const uint64_t v[18])
{
	r->rax = v[0];
	r->rbx = v[1];
	r->rcx = v[2];
	r->rdx = v[3];
	r->rsi = v[4];
	r->rdi = v[5];
	r->rsp = v[6];
	r->rbp = v[7];
	r->r8 = v[8];
	r->r9 = v[9];
	r->r10 = v[10];
	r->r11 = v[11];
	r->r12 = v[12];
	r->r13 = v[13];
	r->r14 = v[14];
	r->r15 = v[15];
	r->rip = v[16];
	r->rflags = v[17];
}

int mshv_vcpu_get_regs(struct mshv_vcpu *vcpu, struct mshv_regs *ret)
{
	struct hv_vp_register_page *page;
	uint64_t v[18];
	int r;

	if (!vcpu || !ret)
		return -EINVAL;
	page = valid_page(vcpu);
	if (page) {
		for (size_t i = 0; i < ARRAY_SIZE(gpr_names); i++) {
			uint32_t cls;

			v[i] = page_read(page, page_offset(gpr_names[i], &cls));
		}
	} else {
		r = get_u64s(vcpu, gpr_names, v, ARRAY_SIZE(gpr_names));
		if (r < 0)
			return r;
	}
	regs_from_array(ret, v);
	return 0;
}

int mshv_vcpu_set_regs(struct mshv_vcpu *vcpu, const struct mshv_regs *regs)
{
	struct hv_vp_register_page *page;
	uint64_t v[18];

	if (!vcpu || !regs)
		return -EINVAL;
	regs_to_array(regs, v);
	page = valid_page(vcpu);
	if (page) {
		for (size_t i = 0; i < ARRAY_SIZE(gpr_names); i++) {
			uint32_t cls;

			page_write(page, page_offset(gpr_names[i], &cls), v[i]);
		}
		/* Applied by the hypervisor when the VP is next dispatched. */
		page->dirty |= PAGE_GENERAL | PAGE_IP | PAGE_FLAGS;
		return 0;
	}
	return set_u64s(vcpu, gpr_names, v, ARRAY_SIZE(gpr_names));
}

/* ---- special registers ---------------------------------------------------------------------- */

void mshv__seg_from_hv(struct mshv_segment *out, const struct hv_x64_segment_register *in)
{
	uint16_t a = in->attributes;

	memset(out, 0, sizeof(*out));
	out->base = in->base;
	out->limit = in->limit;
	out->selector = in->selector;
	out->type = a & HV_X64_SEGMENT_ATTR_TYPE_MASK;
	out->s = !!(a & HV_X64_SEGMENT_ATTR_S);
	out->dpl = (a & HV_X64_SEGMENT_ATTR_DPL_MASK) >> HV_X64_SEGMENT_ATTR_DPL_SHIFT;
	out->present = !!(a & HV_X64_SEGMENT_ATTR_P);
	out->avl = !!(a & HV_X64_SEGMENT_ATTR_AVL);
	out->l = !!(a & HV_X64_SEGMENT_ATTR_L);
	out->db = !!(a & HV_X64_SEGMENT_ATTR_DB);
	out->g = !!(a & HV_X64_SEGMENT_ATTR_G);
	out->unusable = !out->present;
}

void mshv__seg_to_hv(struct hv_x64_segment_register *out, const struct mshv_segment *in)
{
	uint16_t a = 0;

	a |= in->type & HV_X64_SEGMENT_ATTR_TYPE_MASK;
	if (in->s)
		a |= HV_X64_SEGMENT_ATTR_S;
	a |= (uint16_t)((in->dpl & 3u) << HV_X64_SEGMENT_ATTR_DPL_SHIFT);
	if (in->present && !in->unusable)
		a |= HV_X64_SEGMENT_ATTR_P;
	if (in->avl)
		a |= HV_X64_SEGMENT_ATTR_AVL;
	if (in->l)
		a |= HV_X64_SEGMENT_ATTR_L;
	if (in->db)
		a |= HV_X64_SEGMENT_ATTR_DB;
	if (in->g)
		a |= HV_X64_SEGMENT_ATTR_G;
	memset(out, 0, sizeof(*out));
	out->base = in->base;
	out->limit = in->limit;
	out->selector = in->selector;
	out->attributes = a;
}

static const uint32_t sreg_names[] = {
	HV_X64_REGISTER_CS, HV_X64_REGISTER_DS, HV_X64_REGISTER_ES, HV_X64_REGISTER_FS,
	HV_X64_REGISTER_GS, HV_X64_REGISTER_SS, HV_X64_REGISTER_TR, HV_X64_REGISTER_LDTR,
	HV_X64_REGISTER_GDTR, HV_X64_REGISTER_IDTR,
	HV_X64_REGISTER_CR0, HV_X64_REGISTER_CR2, HV_X64_REGISTER_CR3, HV_X64_REGISTER_CR4,
	HV_X64_REGISTER_CR8, HV_X64_REGISTER_EFER, HV_X64_REGISTER_APIC_BASE,
};

int mshv_vcpu_get_sregs(struct mshv_vcpu *vcpu, struct mshv_sregs *ret)
{
	struct hv_register_assoc regs[ARRAY_SIZE(sreg_names)];
	struct mshv_segment *segs[8];
	struct mshv_sregs s;
	int r;

	if (!vcpu || !ret)
		return -EINVAL;
	names(regs, sreg_names, ARRAY_SIZE(sreg_names));
	r = mshv_vcpu_get_reg(vcpu, regs, ARRAY_SIZE(regs));
	if (r < 0)
		return r;
	memset(&s, 0, sizeof(s));
	segs[0] = &s.cs;
	segs[1] = &s.ds;
	segs[2] = &s.es;
	segs[3] = &s.fs;
	segs[4] = &s.gs;
	segs[5] = &s.ss;
	segs[6] = &s.tr;
	segs[7] = &s.ldt;
	for (int i = 0; i < 8; i++)
		mshv__seg_from_hv(segs[i], &regs[i].value.segment);
	s.gdt.base = regs[8].value.table.base;
	s.gdt.limit = regs[8].value.table.limit;
	s.idt.base = regs[9].value.table.base;
	s.idt.limit = regs[9].value.table.limit;
	s.cr0 = regs[10].value.reg64;
	s.cr2 = regs[11].value.reg64;
	s.cr3 = regs[12].value.reg64;
	s.cr4 = regs[13].value.reg64;
	s.cr8 = regs[14].value.reg64;
	s.efer = regs[15].value.reg64;
	s.apic_base = regs[16].value.reg64;
	*ret = s;
	return 0;
}

int mshv_vcpu_set_sregs(struct mshv_vcpu *vcpu, const struct mshv_sregs *sregs)
{
	struct hv_register_assoc regs[ARRAY_SIZE(sreg_names)];
	const struct mshv_segment *segs[8];

	if (!vcpu || !sregs)
		return -EINVAL;
	names(regs, sreg_names, ARRAY_SIZE(sreg_names));
	segs[0] = &sregs->cs;
	segs[1] = &sregs->ds;
	segs[2] = &sregs->es;
	segs[3] = &sregs->fs;
	segs[4] = &sregs->gs;
	segs[5] = &sregs->ss;
	segs[6] = &sregs->tr;
	segs[7] = &sregs->ldt;
	for (int i = 0; i < 8; i++)
		mshv__seg_to_hv(&regs[i].value.segment, segs[i]);
	regs[8].value.table.base = sregs->gdt.base;
	regs[8].value.table.limit = sregs->gdt.limit;
	regs[9].value.table.base = sregs->idt.base;
	regs[9].value.table.limit = sregs->idt.limit;
	regs[10].value.reg64 = sregs->cr0;
	regs[11].value.reg64 = sregs->cr2;
	regs[12].value.reg64 = sregs->cr3;
	regs[13].value.reg64 = sregs->cr4;
	regs[14].value.reg64 = sregs->cr8;
	regs[15].value.reg64 = sregs->efer;
	regs[16].value.reg64 = sregs->apic_base;
	return mshv_vcpu_set_reg(vcpu, regs, ARRAY_SIZE(regs));
}

/* ---- FPU ---------------------------------------------------------------------------------------- */

#define FPU_NREGS (8 + 2 + 16)

static void fpu_names(struct hv_register_assoc *regs)
{
	memset(regs, 0, FPU_NREGS * sizeof(*regs));
	for (uint32_t i = 0; i < 8; i++)
		regs[i].name = HV_X64_REGISTER_FP_MMX0 + i;
	regs[8].name = HV_X64_REGISTER_FP_CONTROL_STATUS;
	regs[9].name = HV_X64_REGISTER_XMM_CONTROL_STATUS;
	for (uint32_t i = 0; i < 16; i++)
		regs[10 + i].name = HV_X64_REGISTER_XMM0 + i;
}

int mshv_vcpu_get_fpu(struct mshv_vcpu *vcpu, struct mshv_fpu *ret)
{
	struct hv_register_assoc regs[FPU_NREGS];
	struct mshv_fpu f;
	int r;

	if (!vcpu || !ret)
		return -EINVAL;
	fpu_names(regs);
	r = mshv_vcpu_get_reg(vcpu, regs, FPU_NREGS);
	if (r < 0)
		return r;
	memset(&f, 0, sizeof(f));
	for (int i = 0; i < 8; i++)
		memcpy(f.fpr[i], &regs[i].value, 16);
	f.fcw = regs[8].value.fp_control_status.fp_control;
	f.fsw = regs[8].value.fp_control_status.fp_status;
	f.ftwx = regs[8].value.fp_control_status.fp_tag;
	f.last_opcode = regs[8].value.fp_control_status.last_fp_op;
	f.last_ip = regs[8].value.fp_control_status.last_fp_rip;
	f.last_dp = regs[9].value.xmm_control_status.last_fp_rdp;
	f.mxcsr = regs[9].value.xmm_control_status.xmm_status_control;
	f.mxcsr_mask = regs[9].value.xmm_control_status.xmm_status_control_mask;
	for (int i = 0; i < 16; i++)
		memcpy(f.xmm[i], &regs[10 + i].value, 16);
	*ret = f;
	return 0;
}

int mshv_vcpu_set_fpu(struct mshv_vcpu *vcpu, const struct mshv_fpu *fpu)
{
	struct hv_register_assoc regs[FPU_NREGS];

	if (!vcpu || !fpu)
		return -EINVAL;
	fpu_names(regs);
	for (int i = 0; i < 8; i++)
		memcpy(&regs[i].value, fpu->fpr[i], 16);
	regs[8].value.fp_control_status.fp_control = fpu->fcw;
	regs[8].value.fp_control_status.fp_status = fpu->fsw;
	regs[8].value.fp_control_status.fp_tag = fpu->ftwx;
	regs[8].value.fp_control_status.last_fp_op = fpu->last_opcode;
	regs[8].value.fp_control_status.last_fp_rip = fpu->last_ip;
	regs[9].value.xmm_control_status.last_fp_rdp = fpu->last_dp;
	regs[9].value.xmm_control_status.xmm_status_control = fpu->mxcsr;
	regs[9].value.xmm_control_status.xmm_status_control_mask = fpu->mxcsr_mask;
	for (int i = 0; i < 16; i++)
		memcpy(&regs[10 + i].value, fpu->xmm[i], 16);
	return mshv_vcpu_set_reg(vcpu, regs, FPU_NREGS);
}

/* ---- MSRs ----------------------------------------------------------------------------------------- */

static const struct {
	uint32_t msr;
	uint32_t reg;
} msr_map[] = {
	{ 0x00000010, HV_X64_REGISTER_TSC },
	{ 0x0000001b, HV_X64_REGISTER_APIC_BASE },
	{ 0x00000048, HV_X64_REGISTER_SPEC_CTRL },
	{ 0x000000fe, HV_X64_REGISTER_MSR_MTRR_CAP },
	{ 0x00000174, HV_X64_REGISTER_SYSENTER_CS },
	{ 0x00000175, HV_X64_REGISTER_SYSENTER_ESP },
	{ 0x00000176, HV_X64_REGISTER_SYSENTER_EIP },
	{ 0x00000200, HV_X64_REGISTER_MSR_MTRR_PHYS_BASE(0x0) },
	{ 0x00000201, HV_X64_REGISTER_MSR_MTRR_PHYS_MASK(0x0) },
	{ 0x00000202, HV_X64_REGISTER_MSR_MTRR_PHYS_BASE(0x1) },
	{ 0x00000203, HV_X64_REGISTER_MSR_MTRR_PHYS_MASK(0x1) },
	{ 0x00000204, HV_X64_REGISTER_MSR_MTRR_PHYS_BASE(0x2) },
	{ 0x00000205, HV_X64_REGISTER_MSR_MTRR_PHYS_MASK(0x2) },
	{ 0x00000206, HV_X64_REGISTER_MSR_MTRR_PHYS_BASE(0x3) },
	{ 0x00000207, HV_X64_REGISTER_MSR_MTRR_PHYS_MASK(0x3) },
	{ 0x00000208, HV_X64_REGISTER_MSR_MTRR_PHYS_BASE(0x4) },
	{ 0x00000209, HV_X64_REGISTER_MSR_MTRR_PHYS_MASK(0x4) },
	{ 0x0000020a, HV_X64_REGISTER_MSR_MTRR_PHYS_BASE(0x5) },
	{ 0x0000020b, HV_X64_REGISTER_MSR_MTRR_PHYS_MASK(0x5) },
	{ 0x0000020c, HV_X64_REGISTER_MSR_MTRR_PHYS_BASE(0x6) },
	{ 0x0000020d, HV_X64_REGISTER_MSR_MTRR_PHYS_MASK(0x6) },
	{ 0x0000020e, HV_X64_REGISTER_MSR_MTRR_PHYS_BASE(0x7) },
	{ 0x0000020f, HV_X64_REGISTER_MSR_MTRR_PHYS_MASK(0x7) },
	{ 0x00000277, HV_X64_REGISTER_PAT },
	{ 0x000002ff, HV_X64_REGISTER_MSR_MTRR_DEF_TYPE },
	{ 0x00000da0, HV_X64_REGISTER_U_XSS },
	{ 0x40000001, HV_X64_REGISTER_HYPERCALL },
	{ 0xc0000080, HV_X64_REGISTER_EFER },
	{ 0xc0000081, HV_X64_REGISTER_STAR },
	{ 0xc0000082, HV_X64_REGISTER_LSTAR },
	{ 0xc0000083, HV_X64_REGISTER_CSTAR },
	{ 0xc0000084, HV_X64_REGISTER_SFMASK },
	{ 0xc0000102, HV_X64_REGISTER_KERNEL_GS_BASE },
	{ 0xc0000103, HV_X64_REGISTER_TSC_AUX },
};

static uint32_t msr_list[ARRAY_SIZE(msr_map)];
static _Atomic int msr_list_ready;

uint32_t mshv__msr_to_reg(uint32_t msr_index)
{
	for (size_t i = 0; i < ARRAY_SIZE(msr_map); i++)
		if (msr_map[i].msr == msr_index)
			return msr_map[i].reg;
	return 0;
}

int mshv_get_msr_index_list(struct mshv *m, const uint32_t **ret_list, size_t *ret_count)
{
	(void)m;
	if (!ret_list || !ret_count)
		return -EINVAL;
	/* Racing first callers write identical values; the flag only saves the copy. */
	if (!atomic_load(&msr_list_ready)) {
		for (size_t i = 0; i < ARRAY_SIZE(msr_map); i++)
			msr_list[i] = msr_map[i].msr;
		atomic_store(&msr_list_ready, 1);
	}
	*ret_list = msr_list;
	*ret_count = ARRAY_SIZE(msr_list);
	return 0;
}

static int msrs_to_assocs(const struct mshv_msr_entry *msrs, size_t n,
			  struct hv_register_assoc **ret)
{
	struct hv_register_assoc *regs = calloc(n, sizeof(*regs));

	if (!regs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		regs[i].name = mshv__msr_to_reg(msrs[i].index);
		if (!regs[i].name) {
			free(regs);
			return -EINVAL;
		}
		regs[i].value.reg64 = msrs[i].data;
	}
	*ret = regs;
	return 0;
}

int mshv_vcpu_get_msrs(struct mshv_vcpu *vcpu, struct mshv_msr_entry *msrs, size_t n)
{
	struct hv_register_assoc *regs;
	int r;

	if (!vcpu || (n && !msrs))
		return -EINVAL;
	if (n == 0)
		return 0;
	r = msrs_to_assocs(msrs, n, &regs);
	if (r < 0)
		return r;
	r = mshv_vcpu_get_reg(vcpu, regs, n);
	if (r == 0)
		for (size_t i = 0; i < n; i++)
			msrs[i].data = regs[i].value.reg64;
	free(regs);
	return r;
}

int mshv_vcpu_set_msrs(struct mshv_vcpu *vcpu, const struct mshv_msr_entry *msrs, size_t n)
{
	struct hv_register_assoc *regs;
	int r;

	if (!vcpu || (n && !msrs))
		return -EINVAL;
	if (n == 0)
		return 0;
	r = msrs_to_assocs(msrs, n, &regs);
	if (r < 0)
		return r;
	r = mshv_vcpu_set_reg(vcpu, regs, n);
	free(regs);
	return r;
}

/* ---- small groups ----------------------------------------------------------------------------- */

static const uint32_t xcr_names[] = { HV_X64_REGISTER_XFEM };
static const uint32_t dreg_names[] = {
	HV_X64_REGISTER_DR0, HV_X64_REGISTER_DR1, HV_X64_REGISTER_DR2, HV_X64_REGISTER_DR3,
	HV_X64_REGISTER_DR6, HV_X64_REGISTER_DR7,
};
static const uint32_t misc_names[] = { HV_X64_REGISTER_HYPERCALL };

int mshv_vcpu_get_xcrs(struct mshv_vcpu *vcpu, struct mshv_xcrs *ret)
{
	uint64_t v[1];
	int r;

	if (!vcpu || !ret)
		return -EINVAL;
	r = get_u64s(vcpu, xcr_names, v, 1);
	if (r == 0)
		ret->xcr0 = v[0];
	return r;
}

int mshv_vcpu_set_xcrs(struct mshv_vcpu *vcpu, const struct mshv_xcrs *xcrs)
{
	if (!vcpu || !xcrs)
		return -EINVAL;
	return set_u64s(vcpu, xcr_names, &xcrs->xcr0, 1);
}

int mshv_vcpu_get_debug_regs(struct mshv_vcpu *vcpu, struct mshv_debug_regs *ret)
{
	uint64_t v[6];
	int r;

	if (!vcpu || !ret)
		return -EINVAL;
	r = get_u64s(vcpu, dreg_names, v, 6);
	if (r < 0)
		return r;
	ret->dr0 = v[0];
	ret->dr1 = v[1];
	ret->dr2 = v[2];
	ret->dr3 = v[3];
	ret->dr6 = v[4];
	ret->dr7 = v[5];
	return 0;
}

int mshv_vcpu_set_debug_regs(struct mshv_vcpu *vcpu, const struct mshv_debug_regs *dregs)
{
	uint64_t v[6];

	if (!vcpu || !dregs)
		return -EINVAL;
	v[0] = dregs->dr0;
	v[1] = dregs->dr1;
	v[2] = dregs->dr2;
	v[3] = dregs->dr3;
	v[4] = dregs->dr6;
	v[5] = dregs->dr7;
	return set_u64s(vcpu, dreg_names, v, 6);
}

int mshv_vcpu_get_misc_regs(struct mshv_vcpu *vcpu, struct mshv_misc_regs *ret)
{
	uint64_t v[1];
	int r;

	if (!vcpu || !ret)
		return -EINVAL;
	r = get_u64s(vcpu, misc_names, v, 1);
	if (r == 0)
		ret->hypercall = v[0];
	return r;
}

int mshv_vcpu_set_misc_regs(struct mshv_vcpu *vcpu, const struct mshv_misc_regs *misc)
{
	if (!vcpu || !misc)
		return -EINVAL;
	return set_u64s(vcpu, misc_names, &misc->hypercall, 1);
}

static const uint32_t event_names[] = {
	HV_REGISTER_PENDING_INTERRUPTION, HV_REGISTER_INTERRUPT_STATE,
	HV_REGISTER_INTERNAL_ACTIVITY_STATE, HV_REGISTER_PENDING_EVENT0,
	HV_REGISTER_PENDING_EVENT1,
};

int mshv_vcpu_get_vcpu_events(struct mshv_vcpu *vcpu, struct mshv_vcpu_events *ret)
{
	struct hv_register_assoc regs[ARRAY_SIZE(event_names)];
	int r;

	if (!vcpu || !ret)
		return -EINVAL;
	names(regs, event_names, ARRAY_SIZE(event_names));
	r = mshv_vcpu_get_reg(vcpu, regs, ARRAY_SIZE(regs));
	if (r < 0)
		return r;
	ret->pending_interruption = regs[0].value.reg64;
	ret->interrupt_state = regs[1].value.reg64;
	ret->internal_activity_state = regs[2].value.reg64;
	memcpy(ret->pending_event0, &regs[3].value, 16);
	memcpy(ret->pending_event1, &regs[4].value, 16);
	return 0;
}

int mshv_vcpu_set_vcpu_events(struct mshv_vcpu *vcpu, const struct mshv_vcpu_events *events)
{
	struct hv_register_assoc regs[ARRAY_SIZE(event_names)];

	if (!vcpu || !events)
		return -EINVAL;
	names(regs, event_names, ARRAY_SIZE(event_names));
	regs[0].value.reg64 = events->pending_interruption;
	regs[1].value.reg64 = events->interrupt_state;
	regs[2].value.reg64 = events->internal_activity_state;
	memcpy(&regs[3].value, events->pending_event0, 16);
	memcpy(&regs[4].value, events->pending_event1, 16);
	return mshv_vcpu_set_reg(vcpu, regs, ARRAY_SIZE(regs));
}
