// SPDX-License-Identifier: MIT
/* Decoder for the x86 instructions that guests use on MMIO and for string port I/O. */
#include <errno.h>

#include "hv/x86/x86.h"

/* The instruction bytes being decoded; every read goes through dec_byte(). */
struct dec {
	const uint8_t *bytes;
	size_t n;
	size_t pos;
};

static int dec_byte(struct dec *d, uint8_t *ret)
{
	/* The 15-byte limit comes first: a 16th byte is never part of a valid instruction. */
	if (d->pos >= X86_MAX_INSN_LEN)
		return -EINVAL;
	if (d->pos >= d->n)
		return -ENODATA;
	*ret = d->bytes[d->pos++];
	return 0;
}

/* Little-endian value of `size` (1..8) bytes. */
static int dec_le(struct dec *d, unsigned size, uint64_t *ret)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++) {
		uint8_t b;
		int r = dec_byte(d, &b);

		if (r < 0)
			return r;
		v |= (uint64_t)b << (8 * i);
	}
	*ret = v;
	return 0;
}

static uint64_t sign_extend(uint64_t v, unsigned size)
{
	switch (size) {
	case 1:
		return v & 0x80 ? v | ~(uint64_t)0xff : v & 0xff;
	case 2:
		return v & 0x8000 ? v | ~(uint64_t)0xffff : v & 0xffff;
	case 4:
		return v & 0x80000000 ? v | ~(uint64_t)0xffffffff : v & 0xffffffff;
	default:
		return v;
	}
}

/* A register operand; without REX, byte registers 4-7 are AH CH DH BH. */
static struct x86_operand reg_operand(const struct x86_insn *insn, unsigned reg, unsigned size)
{
	struct x86_operand o = { .kind = X86_OPND_REG, .size = (uint8_t)size, .reg = (uint8_t)reg };

	if (size == 1 && !insn->rex && reg >= 4 && reg < 8) {
		o.reg = (uint8_t)(reg - 4);
		o.high8 = true;
	}
	return o;
}

/* The ModRM r/m operand: memory, or a register when mod == 3. */
static struct x86_operand rm_operand(const struct x86_insn *insn, unsigned size)
{
	if (insn->mod == 3)
		return reg_operand(insn, insn->rm, size);
	return (struct x86_operand){ .kind = X86_OPND_MEM, .size = (uint8_t)size };
}

static uint8_t seg_or_default(const struct x86_insn *insn, enum x86_seg def)
{
	return (uint8_t)(insn->seg_override >= 0 ? insn->seg_override : (int)def);
}

static int decode_modrm16(struct dec *d, struct x86_insn *insn)
{
	static const int8_t base16[8] = {
		X86_RBX, X86_RBX, X86_RBP, X86_RBP, X86_REG_NONE, X86_REG_NONE, X86_RBP, X86_RBX,
	};
	static const int8_t index16[8] = {
		X86_RSI, X86_RDI, X86_RSI, X86_RDI, X86_RSI, X86_RDI, X86_REG_NONE, X86_REG_NONE,
	};
	struct x86_mem *mem = &insn->mem;
	unsigned rm = insn->modrm & 7, disp_size = 0;
	uint64_t disp = 0;
	int r;

	if (insn->mod == 0 && rm == 6) {
		disp_size = 2;
	} else {
		mem->base = base16[rm];
		mem->index = index16[rm];
		disp_size = insn->mod == 1 ? 1 : insn->mod == 2 ? 2 : 0;
	}
	if (disp_size) {
		r = dec_le(d, disp_size, &disp);
		if (r < 0)
			return r;
	}
	mem->disp = (int64_t)sign_extend(disp, disp_size);
	mem->seg = seg_or_default(insn, mem->base == X86_RBP ? X86_SEG_SS : X86_SEG_DS);
	return 0;
}

static int decode_modrm32(struct dec *d, struct x86_insn *insn)
{
	struct x86_mem *mem = &insn->mem;
	unsigned rm = insn->modrm & 7, disp_size;
	uint64_t disp = 0;
	int r;

	disp_size = insn->mod == 1 ? 1 : insn->mod == 2 ? 4 : 0;
	if (rm == 4) {
		unsigned index;
		uint8_t sib;

		r = dec_byte(d, &sib);
		if (r < 0)
			return r;
		insn->has_sib = true;
		insn->sib = sib;
		mem->scale = (uint8_t)(1u << (sib >> 6));
		index = ((sib >> 3) & 7) | (insn->rex & X86_REX_X ? 8 : 0);
		if (index != X86_RSP)	/* 100b without REX.X: no index (R12 is a valid index) */
			mem->index = (int8_t)index;
		if ((sib & 7) == 5 && insn->mod == 0)
			disp_size = 4;	/* no base, even with REX.B (R13) */
		else
			mem->base = (int8_t)((sib & 7) | (insn->rex & X86_REX_B ? 8 : 0));
	} else if (rm == 5 && insn->mod == 0) {
		disp_size = 4;
		mem->rip_relative = insn->mode == X86_MODE_LONG;
	} else {
		mem->base = (int8_t)insn->rm;
	}
	if (disp_size) {
		r = dec_le(d, disp_size, &disp);
		if (r < 0)
			return r;
	}
	mem->disp = (int64_t)sign_extend(disp, disp_size);
	/* rBP and rSP bases default to SS; R12/R13 do not. */
	mem->seg = seg_or_default(insn, mem->base == X86_RSP || mem->base == X86_RBP ?
				  X86_SEG_SS : X86_SEG_DS);
	return 0;
}

static int decode_modrm(struct dec *d, struct x86_insn *insn)
{
	uint8_t m;
	int r;

	r = dec_byte(d, &m);
	if (r < 0)
		return r;
	insn->has_modrm = true;
	insn->modrm = m;
	insn->mod = m >> 6;
	insn->reg = (uint8_t)(((m >> 3) & 7) | (insn->rex & X86_REX_R ? 8 : 0));
	insn->rm = (uint8_t)((m & 7) | (insn->rex & X86_REX_B ? 8 : 0));
	if (insn->mod == 3)
		return 0;

	insn->has_mem = true;
	insn->mem.base = X86_REG_NONE;
	insn->mem.index = X86_REG_NONE;
	insn->mem.scale = 1;
	if (insn->addrsize == 2)
		return decode_modrm16(d, insn);
	return decode_modrm32(d, insn);
}

/* Immediate of the encoding size for an operation of `size` bytes (imm32 for 64-bit operands). */
static int decode_imm(struct dec *d, struct x86_insn *insn, unsigned size)
{
	unsigned imm_size = size > 4 ? 4 : size;
	uint64_t v;
	int r;

	r = dec_le(d, imm_size, &v);
	if (r < 0)
		return r;
	insn->imm_size = (uint8_t)imm_size;
	insn->imm = sign_extend(v, imm_size);
	return 0;
}

static struct x86_operand imm_operand(unsigned size)
{
	return (struct x86_operand){ .kind = X86_OPND_IMM, .size = (uint8_t)size };
}

/* op r/m, reg */
static int form_eg(struct dec *d, struct x86_insn *insn, enum x86_op op, unsigned size)
{
	int r = decode_modrm(d, insn);

	if (r < 0)
		return r;
	insn->op = op;
	insn->opsize = (uint8_t)size;
	insn->dst = rm_operand(insn, size);
	insn->src = reg_operand(insn, insn->reg, size);
	return 0;
}

/* op reg, r/m (src_size may differ for MOVZX/MOVSX/MOVSXD) */
static int form_ge(struct dec *d, struct x86_insn *insn, enum x86_op op, unsigned size,
		   unsigned src_size)
{
	int r = decode_modrm(d, insn);

	if (r < 0)
		return r;
	insn->op = op;
	insn->opsize = (uint8_t)size;
	insn->dst = reg_operand(insn, insn->reg, size);
	insn->src = rm_operand(insn, src_size);
	return 0;
}

/* op AL/rAX, imm */
static int form_ai(struct dec *d, struct x86_insn *insn, enum x86_op op, unsigned size)
{
	insn->op = op;
	insn->opsize = (uint8_t)size;
	insn->dst = reg_operand(insn, X86_RAX, size);
	insn->src = imm_operand(size);
	return decode_imm(d, insn, size);
}

/* op r/m, imm (ModRM already decoded); imm_size 1 for the sign-extended imm8 of 83. */
static int form_ei(struct dec *d, struct x86_insn *insn, enum x86_op op, unsigned size,
		   unsigned imm_size)
{
	insn->op = op;
	insn->opsize = (uint8_t)size;
	insn->dst = rm_operand(insn, size);
	insn->src = imm_operand(size);
	return decode_imm(d, insn, imm_size);
}

/* op r/m (ModRM already decoded) */
static void form_e(struct x86_insn *insn, enum x86_op op, unsigned size)
{
	insn->op = op;
	insn->opsize = (uint8_t)size;
	insn->dst = rm_operand(insn, size);
}

/* The moffs of A0-A3: an absolute offset of the address size. */
static int decode_moffs(struct dec *d, struct x86_insn *insn)
{
	uint64_t offset;
	int r;

	r = dec_le(d, insn->addrsize, &offset);
	if (r < 0)
		return r;
	insn->has_mem = true;
	insn->mem = (struct x86_mem){
		.seg = seg_or_default(insn, X86_SEG_DS),
		.base = X86_REG_NONE,
		.index = X86_REG_NONE,
		.scale = 1,
		.disp = (int64_t)offset,
	};
	return 0;
}

/* MOV AL/rAX <-> moffs. */
static int form_moffs(struct dec *d, struct x86_insn *insn, bool store, unsigned size)
{
	struct x86_operand mem = { .kind = X86_OPND_MEM, .size = (uint8_t)size };
	int r;

	r = decode_moffs(d, insn);
	if (r < 0)
		return r;
	insn->op = X86_OP_MOV;
	insn->opsize = (uint8_t)size;
	if (store) {
		insn->dst = mem;
		insn->src = reg_operand(insn, X86_RAX, size);
	} else {
		insn->dst = reg_operand(insn, X86_RAX, size);
		insn->src = mem;
	}
	return 0;
}

/*
 * String instructions: insn->mem is the DS:rSI source (segment overridable) of MOVS, LODS and
 * OUTS, or the ES:rDI destination of STOS and INS; the MOVS destination is always ES:rDI.
 */
static void form_string(struct x86_insn *insn, enum x86_op op, unsigned size)
{
	struct x86_operand mem = { .kind = X86_OPND_MEM, .size = (uint8_t)size };
	bool src_is_mem = op == X86_OP_MOVS || op == X86_OP_LODS || op == X86_OP_OUTS;

	insn->op = op;
	insn->opsize = (uint8_t)size;
	insn->rep = (insn->prefixes & (X86_PFX_REP | X86_PFX_REPNE)) != 0;
	insn->has_mem = true;
	insn->mem = (struct x86_mem){
		.seg = src_is_mem ? seg_or_default(insn, X86_SEG_DS) : X86_SEG_ES,
		.base = src_is_mem ? X86_RSI : X86_RDI,
		.index = X86_REG_NONE,
		.scale = 1,
	};
	switch (op) {
	case X86_OP_MOVS:
		insn->dst = mem;
		insn->src = mem;
		break;
	case X86_OP_STOS:
		insn->dst = mem;
		insn->src = reg_operand(insn, X86_RAX, size);
		break;
	case X86_OP_LODS:
		insn->dst = reg_operand(insn, X86_RAX, size);
		insn->src = mem;
		break;
	case X86_OP_INS:
		insn->dst = mem;
		insn->src = (struct x86_operand){ .kind = X86_OPND_REG, .size = 2, .reg = X86_RDX };
		break;
	default:	/* OUTS */
		insn->dst = (struct x86_operand){ .kind = X86_OPND_REG, .size = 2, .reg = X86_RDX };
		insn->src = mem;
		break;
	}
}

/* IN/OUT with the port in imm8 (E4-E7) or DX (EC-EF). */
static int form_port(struct dec *d, struct x86_insn *insn, uint8_t opcode, unsigned size)
{
	struct x86_operand port = { .kind = X86_OPND_REG, .size = 2, .reg = X86_RDX };
	struct x86_operand acc = { .kind = X86_OPND_REG, .size = (uint8_t)size, .reg = X86_RAX };
	bool out = opcode & 2;

	insn->opsize = (uint8_t)size;
	insn->op = out ? X86_OP_OUT : X86_OP_IN;
	if (!(opcode & 8)) {
		uint64_t v;
		int r = dec_le(d, 1, &v);

		if (r < 0)
			return r;
		insn->imm = v;
		insn->imm_size = 1;
		port = imm_operand(1);
	}
	insn->dst = out ? port : acc;
	insn->src = out ? acc : port;
	return 0;
}

/* Opcodes that raise #UD in 64-bit mode (the 40-4F row is REX there). */
static bool invalid_in_long_mode(uint8_t b)
{
	switch (b) {
	case 0x06: case 0x07: case 0x0e: case 0x16: case 0x17: case 0x1e: case 0x1f:
	case 0x27: case 0x2f: case 0x37: case 0x3f: case 0x60: case 0x61: case 0x82:
	case 0x9a: case 0xce: case 0xd4: case 0xd5: case 0xd6: case 0xea:
		return true;
	default:
		return false;
	}
}

static const enum x86_op alu_ops[8] = {
	X86_OP_ADD, X86_OP_OR, X86_OP_ADC, X86_OP_SBB,
	X86_OP_AND, X86_OP_SUB, X86_OP_XOR, X86_OP_CMP,
};

static int decode_0f(struct dec *d, struct x86_insn *insn, unsigned opsize)
{
	uint8_t b;
	int r;

	r = dec_byte(d, &b);
	if (r < 0)
		return r;
	insn->opcode[1] = b;
	insn->opcode_len = 2;
	switch (b) {
	case 0xb6:
	case 0xb7:
		return form_ge(d, insn, X86_OP_MOVZX, opsize, b & 1 ? 2 : 1);
	case 0xbe:
	case 0xbf:
		return form_ge(d, insn, X86_OP_MOVSX, opsize, b & 1 ? 2 : 1);
	default:
		return -EOPNOTSUPP;
	}
}

static int decode_opcode(struct dec *d, struct x86_insn *insn, uint8_t b)
{
	unsigned opsize = insn->opsize, size = b & 1 ? opsize : 1;
	unsigned ext, port_size = b & 1 ? (opsize == 2 ? 2 : 4) : 1;
	int r;

	if (insn->mode == X86_MODE_LONG && invalid_in_long_mode(b))
		return -EINVAL;

	if (b < 0x40 && (b & 7) < 6) {	/* ALU: Eb,Gb  Ev,Gv  Gb,Eb  Gv,Ev  AL,Ib  rAX,Iz */
		enum x86_op op = alu_ops[b >> 3];

		switch (b & 7) {
		case 0:
		case 1:
			return form_eg(d, insn, op, size);
		case 2:
		case 3:
			return form_ge(d, insn, op, size, size);
		default:
			return form_ai(d, insn, op, size);
		}
	}

	switch (b) {
	case 0x0f:
		return decode_0f(d, insn, opsize);
	case 0x63:
		if (insn->mode != X86_MODE_LONG)
			return -EOPNOTSUPP;	/* ARPL */
		return form_ge(d, insn, X86_OP_MOVSXD, opsize, opsize == 8 ? 4 : opsize);
	case 0x6c:
	case 0x6d:
		form_string(insn, X86_OP_INS, port_size);
		return 0;
	case 0x6e:
	case 0x6f:
		form_string(insn, X86_OP_OUTS, port_size);
		return 0;
	case 0x80:
	case 0x81:
	case 0x82:
	case 0x83:
		r = decode_modrm(d, insn);
		if (r < 0)
			return r;
		ext = (insn->modrm >> 3) & 7;
		return form_ei(d, insn, alu_ops[ext], b == 0x81 ? opsize : b == 0x83 ? opsize : 1,
			       b == 0x81 ? opsize : 1);
	case 0x84:
	case 0x85:
		return form_eg(d, insn, X86_OP_TEST, size);
	case 0x86:
	case 0x87:
		return form_eg(d, insn, X86_OP_XCHG, size);
	case 0x88:
	case 0x89:
		return form_eg(d, insn, X86_OP_MOV, size);
	case 0x8a:
	case 0x8b:
		return form_ge(d, insn, X86_OP_MOV, size, size);
	case 0xa0:
	case 0xa1:
		return form_moffs(d, insn, false, size);
	case 0xa2:
	case 0xa3:
		return form_moffs(d, insn, true, size);
	case 0xa4:
	case 0xa5:
		form_string(insn, X86_OP_MOVS, size);
		return 0;
	case 0xa8:
	case 0xa9:
		return form_ai(d, insn, X86_OP_TEST, size);
	case 0xaa:
	case 0xab:
		form_string(insn, X86_OP_STOS, size);
		return 0;
	case 0xac:
	case 0xad:
		form_string(insn, X86_OP_LODS, size);
		return 0;
	case 0xc6:
	case 0xc7:
		r = decode_modrm(d, insn);
		if (r < 0)
			return r;
		ext = (insn->modrm >> 3) & 7;
		if (ext == 0)
			return form_ei(d, insn, X86_OP_MOV, size, size);
		if (insn->modrm == 0xf8)
			return -EOPNOTSUPP;	/* XABORT, XBEGIN */
		return -EINVAL;
	case 0xe4:
	case 0xe5:
	case 0xe6:
	case 0xe7:
	case 0xec:
	case 0xed:
	case 0xee:
	case 0xef:
		return form_port(d, insn, b, port_size);
	case 0xf6:
	case 0xf7:
		r = decode_modrm(d, insn);
		if (r < 0)
			return r;
		ext = (insn->modrm >> 3) & 7;
		switch (ext) {
		case 0:
		case 1:		/* /1 is an undocumented alias of TEST */
			return form_ei(d, insn, X86_OP_TEST, size, size);
		case 2:
			form_e(insn, X86_OP_NOT, size);
			return 0;
		case 3:
			form_e(insn, X86_OP_NEG, size);
			return 0;
		default:
			return -EOPNOTSUPP;	/* MUL IMUL DIV IDIV */
		}
	case 0xfe:
	case 0xff:
		r = decode_modrm(d, insn);
		if (r < 0)
			return r;
		ext = (insn->modrm >> 3) & 7;
		if (ext == 0 || ext == 1) {
			form_e(insn, ext ? X86_OP_DEC : X86_OP_INC, size);
			return 0;
		}
		if (b == 0xff && ext != 7)
			return -EOPNOTSUPP;	/* CALL JMP PUSH */
		return -EINVAL;
	default:
		return -EOPNOTSUPP;
	}
}

/* LOCK is allowed only on read-modify-write operations whose destination is memory. */
static bool lock_allowed(const struct x86_insn *insn)
{
	if (insn->dst.kind != X86_OPND_MEM || insn->rep)
		return false;
	switch (insn->op) {
	case X86_OP_ADD: case X86_OP_OR: case X86_OP_ADC: case X86_OP_SBB: case X86_OP_AND:
	case X86_OP_SUB: case X86_OP_XOR: case X86_OP_NOT: case X86_OP_NEG: case X86_OP_INC:
	case X86_OP_DEC: case X86_OP_XCHG:
		return true;
	default:
		return false;
	}
}

/*
 * The front end shared by x86_decode() and x86_decode_length(): legacy prefixes in any order,
 * REX (which counts only when it immediately precedes the opcode), then the operand and address
 * sizes.  *ret_b is the first opcode byte.
 */
static int decode_prefixes(struct dec *d, struct x86_insn *insn, uint8_t *ret_b)
{
	enum x86_mode mode = insn->mode;
	unsigned seen = 0;	/* prefix groups seen: 66, 67, F0, F2/F3, segment */
	uint8_t b;
	int r;

	for (;;) {
		unsigned group;
		int seg = -1;

		r = dec_byte(d, &b);
		if (r < 0)
			return r;
		switch (b) {
		case 0x26: seg = X86_SEG_ES; break;
		case 0x2e: seg = X86_SEG_CS; break;
		case 0x36: seg = X86_SEG_SS; break;
		case 0x3e: seg = X86_SEG_DS; break;
		case 0x64: seg = X86_SEG_FS; break;
		case 0x65: seg = X86_SEG_GS; break;
		case 0x66: insn->prefixes |= X86_PFX_OPSIZE; break;
		case 0x67: insn->prefixes |= X86_PFX_ADDRSIZE; break;
		case 0xf0: insn->prefixes |= X86_PFX_LOCK; break;
		case 0xf2:
			insn->prefixes = (insn->prefixes & ~X86_PFX_REP) | X86_PFX_REPNE;
			break;
		case 0xf3:
			insn->prefixes = (insn->prefixes & ~X86_PFX_REPNE) | X86_PFX_REP;
			break;
		default:
			if (mode == X86_MODE_LONG && (b & 0xf0) == 0x40) {
				if (insn->rex)
					insn->odd_prefix = true;
				insn->rex = b;
				continue;
			}
			goto opcode;
		}
		group = b == 0x66 ? 0 : b == 0x67 ? 1 : b == 0xf0 ? 2 : b == 0xf2 || b == 0xf3 ? 3 : 4;
		if (seen & (1u << group) || insn->rex)
			insn->odd_prefix = true;
		seen |= 1u << group;
		if (seg >= 0) {
			insn->seg_override = (int8_t)seg;
			insn->prefixes |= X86_PFX_SEG;
			/* 64-bit mode ignores the ES, CS, SS and DS overrides. */
			if (mode == X86_MODE_LONG && seg < X86_SEG_FS)
				insn->odd_prefix = true;
		}
		insn->rex = 0;	/* a legacy prefix after REX cancels it */
	}

opcode:
	if (insn->rex)
		insn->prefixes |= X86_PFX_REX;
	if (mode == X86_MODE_LONG) {
		insn->opsize = insn->rex & X86_REX_W ? 8 : insn->prefixes & X86_PFX_OPSIZE ? 2 : 4;
		insn->addrsize = insn->prefixes & X86_PFX_ADDRSIZE ? 4 : 8;
	} else {
		bool big = mode == X86_MODE_PROT32;

		insn->opsize = big != !!(insn->prefixes & X86_PFX_OPSIZE) ? 4 : 2;
		insn->addrsize = big != !!(insn->prefixes & X86_PFX_ADDRSIZE) ? 4 : 2;
	}
	insn->opcode[0] = b;
	insn->opcode_len = 1;
	*ret_b = b;
	return 0;
}

int x86_decode(const uint8_t *bytes, size_t n, enum x86_mode mode, struct x86_insn *ret)
{
	struct dec d = { .bytes = bytes, .n = n };
	struct x86_insn insn = { .mode = mode, .seg_override = -1 };
	uint8_t b;
	int r;

	if ((!bytes && n) || !ret || (unsigned)mode > X86_MODE_LONG)
		return -EINVAL;

	r = decode_prefixes(&d, &insn, &b);
	if (r < 0)
		return r;
	r = decode_opcode(&d, &insn, b);
	if (r < 0)
		return r;
	if ((insn.prefixes & X86_PFX_LOCK) && !lock_allowed(&insn))
		return -EINVAL;

	insn.len = (uint8_t)d.pos;
	*ret = insn;
	return 0;
}

/* ---- length decoding: every opcode, encoding fields only --------------------------------- */

/* One-byte opcodes with a ModRM byte, as a 256-bit map. */
static const uint32_t modrm_1[8] = {
	0x0f0f0f0f, 0x0f0f0f0f,		/* 00-3f: ALU r/m forms */
	0x00000000,
	0x00000a0c,			/* 62 63 69 6b */
	0x0000ffff,			/* 80-8f */
	0x00000000,
	0xff0f00f3,			/* c0 c1 c4-c7 d0-d3 d8-df */
	0xc0c00000,			/* f6 f7 fe ff */
};

static bool onebyte_has_modrm(uint8_t op)
{
	return modrm_1[op >> 5] >> (op & 31) & 1;
}

static bool twobyte_has_modrm(uint8_t op)
{
	if (op <= 0x03 || (op >= 0x10 && op <= 0x2f) || (op >= 0x40 && op <= 0x7f && op != 0x77))
		return true;
	if (op >= 0x90 && op <= 0x9f)
		return true;
	if (op >= 0xa3)
		return !(op == 0xa8 || op == 0xa9 || op == 0xaa || (op >= 0xc8 && op <= 0xcf));
	return op == 0x0d || op == 0x18 || op == 0x1f;
}

/* Immediate bytes of a one-byte opcode, except F6/F7 /0 /1 (known only after ModRM). */
static unsigned onebyte_imm_size(uint8_t op, const struct x86_insn *insn)
{
	unsigned iz = insn->opsize == 2 ? 2 : 4;

	if ((op < 0x40 && (op & 7) == 4) || op == 0x6a || op == 0x6b || op == 0x80 ||
	    op == 0x82 || op == 0x83 || op == 0xa8 || (op >= 0xb0 && op <= 0xb7) ||
	    op == 0xc0 || op == 0xc1 || op == 0xc6 || op == 0xcd || op == 0xd4 ||
	    op == 0xd5 || (op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe7) ||
	    op == 0xeb)
		return 1;
	if ((op < 0x40 && (op & 7) == 5) || op == 0x68 || op == 0x69 || op == 0x81 ||
	    op == 0xa9 || op == 0xc7 || op == 0xe8 || op == 0xe9)
		return iz;
	if (op >= 0xb8 && op <= 0xbf)
		return insn->opsize;
	if (op == 0xc2 || op == 0xca)
		return 2;
	if (op == 0xc8)
		return 3;
	if (op == 0xea || op == 0x9a)
		return iz + 2;		/* far pointer (invalid in 64-bit mode) */
	return 0;
}

static unsigned twobyte_imm_size(uint8_t op, const struct x86_insn *insn)
{
	if (op >= 0x80 && op <= 0x8f)
		return insn->opsize == 2 ? 2 : 4;
	if ((op >= 0x70 && op <= 0x73) || op == 0xa4 || op == 0xac || op == 0xba ||
	    op == 0xc2 || (op >= 0xc4 && op <= 0xc6))
		return 1;
	return 0;
}

int x86_decode_length(const uint8_t *bytes, size_t n, enum x86_mode mode, struct x86_insn *ret)
{
	struct dec d = { .bytes = bytes, .n = n };
	struct x86_insn insn = { .mode = mode, .seg_override = -1 };
	unsigned imm_size;
	uint8_t b;
	int r;

	if ((!bytes && n) || !ret || (unsigned)mode > X86_MODE_LONG)
		return -EINVAL;

	r = decode_prefixes(&d, &insn, &b);
	if (r < 0)
		return r;
	if (b == 0x0f) {
		r = dec_byte(&d, &b);
		if (r < 0)
			return r;
		insn.opcode[insn.opcode_len++] = b;
		if (b == 0x38 || b == 0x3a) {
			r = dec_byte(&d, &b);
			if (r < 0)
				return r;
			insn.opcode[insn.opcode_len++] = b;
			imm_size = insn.opcode[1] == 0x3a ? 1 : 0;
			insn.has_modrm = true;
		} else {
			imm_size = twobyte_imm_size(b, &insn);
			insn.has_modrm = twobyte_has_modrm(b);
		}
	} else {
		if (mode == X86_MODE_LONG && (b == 0xc4 || b == 0xc5 || b == 0x62))
			return -EOPNOTSUPP;	/* VEX/EVEX */
		if (mode == X86_MODE_LONG && (b == 0xea || b == 0x9a))
			return -EINVAL;
		imm_size = onebyte_imm_size(b, &insn);
		insn.has_modrm = onebyte_has_modrm(b);
	}

	if (insn.has_modrm) {
		r = decode_modrm(&d, &insn);
		if (r < 0)
			return r;
		if (insn.opcode_len == 1 && (b == 0xf6 || b == 0xf7) && ((insn.modrm >> 3) & 7) <= 1)
			imm_size = b == 0xf6 ? 1 : insn.opsize == 2 ? 2 : 4;	/* TEST */
	} else if (insn.opcode_len == 1 && b >= 0xa0 && b <= 0xa3) {
		r = decode_moffs(&d, &insn);
		if (r < 0)
			return r;
	}
	if (imm_size) {
		uint64_t v;

		r = dec_le(&d, imm_size, &v);
		if (r < 0)
			return r;
		insn.imm_size = (uint8_t)imm_size;
		insn.imm = sign_extend(v, imm_size);
	}

	insn.len = (uint8_t)d.pos;
	*ret = insn;
	return 0;
}

unsigned x86_insn_mem_write_size(const struct x86_insn *insn)
{
	uint8_t op = insn->opcode[insn->opcode_len - 1], reg = (insn->modrm >> 3) & 7;
	bool mem = insn->has_modrm && insn->mod != 3;
	unsigned v = insn->opsize;

	if (insn->opcode_len == 1) {
		if (op >= 0xa0 && op <= 0xa3)
			return op == 0xa2 ? 1 : op == 0xa3 ? v : 0;
		if (op == 0xa4 || op == 0xaa)
			return 1;
		if (op == 0xa5 || op == 0xab)
			return v;
		if (!mem)
			return 0;
		if (op < 0x40 && (op & 7) <= 1 && (op & 0x38) != 0x38)
			return op & 1 ? v : 1;
		switch (op) {
		case 0x80: case 0x82: return reg != 7 ? 1 : 0;
		case 0x81: case 0x83: return reg != 7 ? v : 0;
		case 0x86: case 0x88: case 0xc6: case 0xc0: case 0xd0: case 0xd2: return 1;
		case 0x87: case 0x89: case 0xc7: case 0xc1: case 0xd1: case 0xd3: return v;
		case 0x8c: return 2;
		case 0x8f: return v;
		case 0xf6: return reg == 2 || reg == 3 ? 1 : 0;
		case 0xf7: return reg == 2 || reg == 3 ? v : 0;
		case 0xfe: return reg <= 1 ? 1 : 0;
		case 0xff: return reg <= 1 ? v : 0;
		default: return 0;
		}
	}
	if (insn->opcode_len == 2 && mem) {
		if (op >= 0x90 && op <= 0x9f)
			return 1;	/* SETcc */
		switch (op) {
		case 0xab: case 0xb3: case 0xbb: case 0xc1: case 0xb1: case 0xc3: return v;
		case 0xba: return reg >= 5 ? v : 0;
		case 0xb0: case 0xc0: return 1;
		default: return 0;
		}
	}
	return 0;
}

const char *x86_op_name(enum x86_op op)
{
	static const char *const names[X86_OP_COUNT] = {
		[X86_OP_NONE] = "none",
		[X86_OP_MOV] = "mov",
		[X86_OP_MOVZX] = "movzx",
		[X86_OP_MOVSX] = "movsx",
		[X86_OP_MOVSXD] = "movsxd",
		[X86_OP_ADD] = "add",
		[X86_OP_OR] = "or",
		[X86_OP_ADC] = "adc",
		[X86_OP_SBB] = "sbb",
		[X86_OP_AND] = "and",
		[X86_OP_SUB] = "sub",
		[X86_OP_XOR] = "xor",
		[X86_OP_CMP] = "cmp",
		[X86_OP_TEST] = "test",
		[X86_OP_NOT] = "not",
		[X86_OP_NEG] = "neg",
		[X86_OP_INC] = "inc",
		[X86_OP_DEC] = "dec",
		[X86_OP_XCHG] = "xchg",
		[X86_OP_MOVS] = "movs",
		[X86_OP_STOS] = "stos",
		[X86_OP_LODS] = "lods",
		[X86_OP_INS] = "ins",
		[X86_OP_OUTS] = "outs",
		[X86_OP_IN] = "in",
		[X86_OP_OUT] = "out",
	};

	if ((unsigned)op >= X86_OP_COUNT || !names[op])
		return "?";
	return names[op];
}

enum x86_mode x86_cpu_mode(const struct x86_cpu *cpu)
{
	uint16_t cs = cpu->seg[X86_SEG_CS].attributes;

	if (!(cpu->cr0 & X86_CR0_PE) || (cpu->rflags & X86_RFLAGS_VM))
		return X86_MODE_REAL;
	if ((cpu->efer & X86_EFER_LMA) && (cs & X86_SEG_ATTR_L))
		return X86_MODE_LONG;
	return cs & X86_SEG_ATTR_DB ? X86_MODE_PROT32 : X86_MODE_PROT16;
}
