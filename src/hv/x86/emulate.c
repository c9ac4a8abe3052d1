// SPDX-License-Identifier: MIT
/* x86 MMIO/string-I/O emulator with deterministic replay of device accesses. */
#include <errno.h>
#include <string.h>

#include "hv/x86/x86.h"

#define PAGE_SIZE	4096u
#define PAGE_MASK	((uint64_t)PAGE_SIZE - 1)

#define VECTOR_GP	13
#define VECTOR_PF	14

/* One page-bounded part of a memory operand: RAM (host != NULL) or a device range. */
struct piece {
	uint64_t linear;
	uint64_t gpa;
	uint8_t len;
	uint8_t *host;
};

/* A translated memory operand of 1..8 bytes: one piece, or two when it crosses a page. */
struct mloc {
	unsigned n;
	struct piece p[2];
};

/* A RAM write held back until the instruction completes (see x86_emulate()). */
struct ram_write {
	uint8_t *host;
	uint8_t len;
	uint64_t value;
};

/* One emulation pass over the instruction. */
struct emu {
	const struct x86_emu_ops *ops;
	void *opaque;
	struct x86_cpu c;		/* working copy, committed only on completion */
	uint64_t rip0;
	struct x86_insn insn;
	struct x86_emu_ctx *ctx;
	struct x86_access *ret_access;
	unsigned n_dev;			/* device accesses met in this pass */
	struct ram_write ram_w[4];
	unsigned n_ram_w;
	uint64_t fault_addr;		/* valid after -EFAULT */
	bool fault_write;
	uint8_t fault_vector;
};

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? UINT64_MAX : ((uint64_t)1 << (8 * size)) - 1;
}

static uint64_t sign_extend(uint64_t v, unsigned size)
{
	uint64_t sign;

	if (size >= 8)
		return v;
	sign = (uint64_t)1 << (8 * size - 1);
	v &= size_mask(size);
	return v & sign ? v | ~size_mask(size) : v;
}

static uint64_t load_le(const uint8_t *p, unsigned len)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < len; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void store_le(uint8_t *p, unsigned len, uint64_t v)
{
	for (unsigned i = 0; i < len; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t reg_get(const struct x86_cpu *c, unsigned reg, unsigned size, bool high8)
{
	uint64_t v = c->gpr[reg & 15];

	if (high8)
		return (v >> 8) & 0xff;
	return v & size_mask(size);
}

/* Writes of 1 and 2 bytes keep the other bits; 4-byte writes zero-extend, as in 64-bit mode. */
static void reg_set(struct x86_cpu *c, unsigned reg, unsigned size, bool high8, uint64_t v)
{
	uint64_t *r = &c->gpr[reg & 15];

	if (high8)
		*r = (*r & ~(uint64_t)0xff00) | ((v & 0xff) << 8);
	else if (size == 4)
		*r = v & 0xffffffff;
	else
		*r = (*r & ~size_mask(size)) | (v & size_mask(size));
}

static bool canonical(uint64_t linear)
{
	uint64_t top = linear >> 47;

	return top == 0 || top == 0x1ffff;
}

static int fault(struct emu *e, uint64_t linear, bool write, uint8_t vector)
{
	e->fault_addr = linear;
	e->fault_write = write;
	e->fault_vector = vector;
	return -EFAULT;
}

static bool paging(const struct x86_cpu *c)
{
	return (c->cr0 & X86_CR0_PE) && (c->cr0 & X86_CR0_PG);
}

/* Linear address of seg:ea.  In 64-bit mode only FS and GS have a base. */
static uint64_t linear_address(const struct emu *e, unsigned seg, uint64_t ea)
{
	uint64_t base = e->c.seg[seg % X86_SEG_COUNT].base;

	if (e->insn.mode == X86_MODE_LONG)
		return seg == X86_SEG_FS || seg == X86_SEG_GS ? ea + base : ea;
	return (ea + base) & 0xffffffff;
}

static uint64_t linear_next(const struct emu *e, uint64_t linear, uint64_t delta)
{
	uint64_t v = linear + delta;

	return e->insn.mode == X86_MODE_LONG ? v : v & 0xffffffff;
}

/*
 * Translate seg:ea for an access of size bytes, split at the 4 KiB boundary: the first piece
 * runs to the end of its page, the second holds the rest.  Both pieces are translated before
 * any access is made, so a fault never follows a device access of the same operand.
 */
static int mem_resolve(struct emu *e, unsigned seg, uint64_t ea, unsigned size, bool write,
		       struct mloc *ret)
{
	uint64_t linear = linear_address(e, seg, ea);
	unsigned first = PAGE_SIZE - (unsigned)(linear & PAGE_MASK);
	struct mloc m = { .n = 1 };

	if (first >= size) {
		m.p[0] = (struct piece){ .linear = linear, .len = (uint8_t)size };
	} else {
		m.n = 2;
		m.p[0] = (struct piece){ .linear = linear, .len = (uint8_t)first };
		m.p[1] = (struct piece){
			.linear = linear_next(e, linear, first),
			.len = (uint8_t)(size - first),
		};
	}

	for (unsigned i = 0; i < m.n; i++) {
		struct piece *p = &m.p[i];

		if (e->insn.mode == X86_MODE_LONG && !canonical(p->linear))
			return fault(e, p->linear, write, VECTOR_GP);
		if (paging(&e->c)) {
			int r;

			if (!e->ops->translate)
				return -EOPNOTSUPP;
			r = e->ops->translate(e->opaque, p->linear, write, &p->gpa);
			if (r == -EFAULT)
				return fault(e, p->linear, write, VECTOR_PF);
			if (r < 0)
				return r;	/* the backend failed, not the guest */
			/* A piece must stay within one guest-physical page. */
			if ((p->gpa & PAGE_MASK) != (p->linear & PAGE_MASK))
				return -EINVAL;
		} else {
			p->gpa = p->linear;
		}
		p->host = e->ops->ram ? e->ops->ram(e->opaque, p->gpa, p->len, write) : NULL;
	}
	*ret = m;
	return 0;
}

/*
 * A device access: served from the replay log when this pass has not yet reached the end of
 * it, otherwise handed to the caller (X86_EMU_ACCESS).  For writes *data is the value written.
 */
static int dev_access(struct emu *e, bool pio, bool write, uint64_t addr, unsigned size,
		      uint64_t *data)
{
	struct x86_emu_ctx *ctx = e->ctx;
	unsigned i = e->n_dev++;
	struct x86_access *a;

	if (i < ctx->n_done) {
		a = &ctx->done[i];
		/* The same instruction on the same state makes the same accesses. */
		if (a->pio != pio || a->write != write || a->size != size || a->addr != addr)
			return -EINVAL;
		if (!write)
			*data = a->data;
		return 0;
	}
	if (i >= X86_EMU_MAX_ACCESSES)
		return -EINVAL;

	a = &ctx->done[i];
	*a = (struct x86_access){
		.pio = pio,
		.write = write,
		.size = (uint8_t)size,
		.addr = addr,
		.data = write ? *data & size_mask(size) : 0,
	};
	ctx->pending = true;
	ctx->rip = e->rip0;
	*e->ret_access = *a;
	return X86_EMU_ACCESS;
}

static int mem_read(struct emu *e, const struct mloc *m, uint64_t *ret)
{
	uint64_t v = 0;
	unsigned shift = 0;

	for (unsigned i = 0; i < m->n; i++) {
		const struct piece *p = &m->p[i];
		uint64_t pv;

		if (p->host) {
			pv = load_le(p->host, p->len);
		} else {
			int r = dev_access(e, false, false, p->gpa, p->len, &pv);

			if (r)
				return r;
		}
		v |= (pv & size_mask(p->len)) << shift;
		shift += 8u * p->len;	/* at most 56 before the second piece */
	}
	*ret = v;
	return 0;
}

static int mem_write(struct emu *e, const struct mloc *m, uint64_t v)
{
	unsigned shift = 0;

	for (unsigned i = 0; i < m->n; i++) {
		const struct piece *p = &m->p[i];
		uint64_t pv = (v >> shift) & size_mask(p->len);

		if (p->host) {
			if (e->n_ram_w >= sizeof(e->ram_w) / sizeof(e->ram_w[0]))
				return -EINVAL;
			e->ram_w[e->n_ram_w++] = (struct ram_write){
				.host = p->host, .len = p->len, .value = pv,
			};
		} else {
			int r = dev_access(e, false, true, p->gpa, p->len, &pv);

			if (r)
				return r;
		}
		shift += 8u * p->len;
	}
	return 0;
}

static int port_access(struct emu *e, bool write, uint64_t port, unsigned size, uint64_t *data)
{
	return dev_access(e, true, write, port & 0xffff, size, data);
}

/* Effective address of the ModRM/moffs memory operand, wrapped to the address size. */
static uint64_t effective_address(const struct emu *e)
{
	const struct x86_insn *insn = &e->insn;
	const struct x86_mem *mem = &insn->mem;
	uint64_t ea = (uint64_t)mem->disp;

	if (mem->rip_relative)
		ea += e->c.rip + insn->len;
	if (mem->base != X86_REG_NONE)
		ea += e->c.gpr[mem->base & 15];
	if (mem->index != X86_REG_NONE)
		ea += e->c.gpr[mem->index & 15] * mem->scale;
	return ea & size_mask(insn->addrsize);
}

static int operand_read(struct emu *e, const struct x86_operand *o, const struct mloc *m,
			uint64_t *ret)
{
	switch (o->kind) {
	case X86_OPND_REG:
		*ret = reg_get(&e->c, o->reg, o->size, o->high8);
		return 0;
	case X86_OPND_IMM:
		*ret = e->insn.imm & size_mask(o->size);
		return 0;
	case X86_OPND_MEM:
		return mem_read(e, m, ret);
	default:
		return -EINVAL;
	}
}

static int operand_write(struct emu *e, const struct x86_operand *o, const struct mloc *m,
			 uint64_t v)
{
	switch (o->kind) {
	case X86_OPND_REG:
		reg_set(&e->c, o->reg, o->size, o->high8, v);
		return 0;
	case X86_OPND_MEM:
		return mem_write(e, m, v & size_mask(o->size));
	default:
		return -EINVAL;
	}
}

/* result of a OP b on size bytes; updates CF PF AF ZF SF OF in *rflags (INC/DEC keep CF). */
static uint64_t alu(enum x86_op op, unsigned size, uint64_t a, uint64_t b, uint64_t *rflags)
{
	uint64_t mask = size_mask(size), sign = (uint64_t)1 << (8 * size - 1);
	uint64_t carry_in = *rflags & X86_RFLAGS_CF ? 1 : 0, flags = 0, res, cv;

	a &= mask;
	b &= mask;
	switch (op) {
	case X86_OP_ADD:
	case X86_OP_ADC:
	case X86_OP_INC:
		res = (a + b + (op == X86_OP_ADC ? carry_in : 0)) & mask;
		/* carry out of each bit position */
		cv = (a & b) | ((a | b) & ~res);
		if (cv & sign)
			flags |= X86_RFLAGS_CF;
		if (cv & 8)
			flags |= X86_RFLAGS_AF;
		if ((a ^ res) & (b ^ res) & sign)
			flags |= X86_RFLAGS_OF;
		break;
	case X86_OP_SUB:
	case X86_OP_SBB:
	case X86_OP_CMP:
	case X86_OP_DEC:
	case X86_OP_NEG:
		res = (a - b - (op == X86_OP_SBB ? carry_in : 0)) & mask;
		/* borrow out of each bit position */
		cv = (~a & b) | (~(a ^ b) & res);
		if (cv & sign)
			flags |= X86_RFLAGS_CF;
		if (cv & 8)
			flags |= X86_RFLAGS_AF;
		if ((a ^ b) & (a ^ res) & sign)
			flags |= X86_RFLAGS_OF;
		break;
	case X86_OP_OR:
		res = a | b;
		break;
	case X86_OP_XOR:
		res = a ^ b;
		break;
	default:	/* AND, TEST: CF = OF = 0, AF = 0 as on current hardware */
		res = a & b;
		break;
	}
	if (!__builtin_parity((unsigned)(res & 0xff)))
		flags |= X86_RFLAGS_PF;
	if (!res)
		flags |= X86_RFLAGS_ZF;
	if (res & sign)
		flags |= X86_RFLAGS_SF;
	if (op == X86_OP_INC || op == X86_OP_DEC)
		flags = (flags & ~X86_RFLAGS_CF) | (*rflags & X86_RFLAGS_CF);
	*rflags = (*rflags & ~X86_RFLAGS_ARITH) | flags;
	return res;
}

static uint64_t next_rip(const struct emu *e)
{
	uint64_t rip = e->c.rip + e->insn.len;

	return e->insn.mode == X86_MODE_LONG ? rip : rip & 0xffffffff;
}

static int exec_string(struct emu *e)
{
	const struct x86_insn *insn = &e->insn;
	unsigned size = insn->opsize, as = insn->addrsize;
	uint64_t count = 0, step, v = 0;
	struct mloc src = { 0 }, dst = { 0 };
	enum x86_op op = insn->op;
	bool has_src = op == X86_OP_MOVS || op == X86_OP_LODS || op == X86_OP_OUTS;
	bool has_dst = op == X86_OP_MOVS || op == X86_OP_STOS || op == X86_OP_INS;
	int r;

	if (insn->rep) {
		count = reg_get(&e->c, X86_RCX, as, false);
		if (!count) {
			e->c.rip = next_rip(e);
			return 0;
		}
	}

	if (has_src) {
		r = mem_resolve(e, insn->mem.seg, reg_get(&e->c, X86_RSI, as, false), size, false,
				&src);
		if (r < 0)
			return r;
	}
	if (has_dst) {
		r = mem_resolve(e, X86_SEG_ES, reg_get(&e->c, X86_RDI, as, false), size, true,
				&dst);
		if (r < 0)
			return r;
	}

	switch (insn->op) {
	case X86_OP_MOVS:
	case X86_OP_LODS:
	case X86_OP_OUTS:
		r = mem_read(e, &src, &v);
		break;
	case X86_OP_STOS:
		v = reg_get(&e->c, X86_RAX, size, false);
		r = 0;
		break;
	default:	/* INS */
		r = port_access(e, false, e->c.gpr[X86_RDX], size, &v);
		break;
	}
	if (r)
		return r;

	switch (insn->op) {
	case X86_OP_LODS:
		reg_set(&e->c, X86_RAX, size, false, v);
		break;
	case X86_OP_OUTS:
		r = port_access(e, true, e->c.gpr[X86_RDX], size, &v);
		break;
	default:	/* MOVS STOS INS */
		r = mem_write(e, &dst, v);
		break;
	}
	if (r)
		return r;

	step = e->c.rflags & X86_RFLAGS_DF ? (uint64_t)0 - size : size;
	if (has_src)
		reg_set(&e->c, X86_RSI, as, false, e->c.gpr[X86_RSI] + step);
	if (has_dst)
		reg_set(&e->c, X86_RDI, as, false, e->c.gpr[X86_RDI] + step);
	if (insn->rep) {
		reg_set(&e->c, X86_RCX, as, false, count - 1);
		if (count - 1)
			return 0;	/* RIP stays: the guest runs the next iteration */
	}
	e->c.rip = next_rip(e);
	return 0;
}

static int exec_port(struct emu *e)
{
	const struct x86_insn *insn = &e->insn;
	const struct x86_operand *port = insn->op == X86_OP_IN ? &insn->src : &insn->dst;
	uint64_t addr, v = 0;
	int r;

	addr = port->kind == X86_OPND_IMM ? insn->imm & 0xff : e->c.gpr[X86_RDX] & 0xffff;
	if (insn->op == X86_OP_OUT)
		v = reg_get(&e->c, X86_RAX, insn->opsize, false);
	r = port_access(e, insn->op == X86_OP_OUT, addr, insn->opsize, &v);
	if (r)
		return r;
	if (insn->op == X86_OP_IN)
		reg_set(&e->c, X86_RAX, insn->opsize, false, v);
	e->c.rip = next_rip(e);
	return 0;
}

static int exec_modrm(struct emu *e)
{
	const struct x86_insn *insn = &e->insn;
	const struct x86_operand *dst = &insn->dst, *src = &insn->src;
	unsigned size = insn->opsize;
	struct mloc m = { 0 };
	uint64_t a = 0, b = 0, res;
	int r;

	if (insn->has_mem) {
		bool dst_mem = dst->kind == X86_OPND_MEM;
		bool write = dst_mem && insn->op != X86_OP_CMP && insn->op != X86_OP_TEST;

		r = mem_resolve(e, insn->mem.seg, effective_address(e),
				dst_mem ? dst->size : src->size, write, &m);
		if (r < 0)
			return r;
	}

	switch (insn->op) {
	case X86_OP_MOV:
	case X86_OP_MOVZX:
		r = operand_read(e, src, &m, &b);
		if (!r)
			r = operand_write(e, dst, &m, b);
		break;
	case X86_OP_MOVSX:
	case X86_OP_MOVSXD:
		r = operand_read(e, src, &m, &b);
		if (!r)
			r = operand_write(e, dst, &m, sign_extend(b, src->size));
		break;
	case X86_OP_ADD:
	case X86_OP_OR:
	case X86_OP_ADC:
	case X86_OP_SBB:
	case X86_OP_AND:
	case X86_OP_SUB:
	case X86_OP_XOR:
	case X86_OP_CMP:
	case X86_OP_TEST:
		r = operand_read(e, dst, &m, &a);
		if (!r)
			r = operand_read(e, src, &m, &b);
		if (r)
			break;
		res = alu(insn->op, size, a, b, &e->c.rflags);
		if (insn->op != X86_OP_CMP && insn->op != X86_OP_TEST)
			r = operand_write(e, dst, &m, res);
		break;
	case X86_OP_NOT:
		r = operand_read(e, dst, &m, &a);
		if (!r)
			r = operand_write(e, dst, &m, ~a);
		break;
	case X86_OP_NEG:
		r = operand_read(e, dst, &m, &a);
		if (!r)
			r = operand_write(e, dst, &m, alu(insn->op, size, 0, a, &e->c.rflags));
		break;
	case X86_OP_INC:
	case X86_OP_DEC:
		r = operand_read(e, dst, &m, &a);
		if (!r)
			r = operand_write(e, dst, &m, alu(insn->op, size, a, 1, &e->c.rflags));
		break;
	case X86_OP_XCHG:
		/* dst is r/m, src the register: memory is read, then written */
		r = operand_read(e, dst, &m, &a);
		if (!r)
			r = operand_read(e, src, &m, &b);
		if (!r)
			r = operand_write(e, dst, &m, b);
		if (!r)
			r = operand_write(e, src, &m, a);
		break;
	default:
		r = -EOPNOTSUPP;
		break;
	}
	if (r)
		return r;
	e->c.rip = next_rip(e);
	return 0;
}

void x86_emu_ctx_reset(struct x86_emu_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
}

void x86_emu_access_done(struct x86_emu_ctx *ctx, uint64_t read_value)
{
	struct x86_access *a;

	if (!ctx->pending || ctx->n_done >= X86_EMU_MAX_ACCESSES)
		return;
	a = &ctx->done[ctx->n_done];
	if (!a->write)
		a->data = read_value & size_mask(a->size);
	ctx->n_done++;
	ctx->pending = false;
}

int x86_emulate(const struct x86_emu_ops *ops, void *opaque, struct x86_cpu *cpu,
		const uint8_t *bytes, size_t n, struct x86_emu_ctx *ctx,
		struct x86_access *ret_access)
{
	struct emu e = {
		.ops = ops,
		.opaque = opaque,
		.ctx = ctx,
		.ret_access = ret_access,
	};
	int r;

	if (!ops || !cpu || !ctx || !ret_access || (!bytes && n))
		return -EINVAL;

	r = x86_decode(bytes, n, x86_cpu_mode(cpu), &e.insn);
	if (r < 0)
		goto fail;
	if (ctx->n_done && ctx->rip != cpu->rip) {
		r = -EINVAL;
		goto fail;
	}
	e.c = *cpu;
	e.rip0 = cpu->rip;

	switch (e.insn.op) {
	case X86_OP_MOVS:
	case X86_OP_STOS:
	case X86_OP_LODS:
	case X86_OP_INS:
	case X86_OP_OUTS:
		r = exec_string(&e);
		break;
	case X86_OP_IN:
	case X86_OP_OUT:
		r = exec_port(&e);
		break;
	default:
		r = exec_modrm(&e);
		break;
	}
	if (r == X86_EMU_ACCESS)
		return r;
	if (r < 0)
		goto fail;

	/*
	 * RAM writes are applied only now: a pass that stops at a device access must leave RAM
	 * as it was, or the replay of a read-modify-write whose operand is split between RAM and
	 * a device would read back its own result.
	 */
	for (unsigned i = 0; i < e.n_ram_w; i++)
		store_le(e.ram_w[i].host, e.ram_w[i].len, e.ram_w[i].value);
	*cpu = e.c;
	x86_emu_ctx_reset(ctx);
	return 0;

fail:
	x86_emu_ctx_reset(ctx);
	if (r == -EFAULT) {
		*ret_access = (struct x86_access){
			.write = e.fault_write,
			.addr = e.fault_addr,
		};
		ctx->fault_vector = e.fault_vector;
	}
	return r;
}
