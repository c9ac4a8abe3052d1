// SPDX-License-Identifier: MIT
/*
 * mshv-sim test double: a deliberately small x86 decoder.  KVM emulates port I/O and MMIO
 * itself and retires OUT and memory stores before it exits to userspace; MSHV reports the
 * instruction unexecuted.  The sim uses this to find where such an instruction started, its
 * length and its memory operand.  It knows the forms guests use for I/O and MMIO; anything
 * else is reported as unknown and the sim degrades (see README.md).  Independent of src/hv/x86
 * on purpose: the sim must not share the emulator it is used to test.
 */
#include "config.h"
#include <string.h>

#include "sim.h"

static bool modrm_op(unsigned op)
{
	if (op < 0x40)
		return (op & 7) < 4;
	switch (op) {
	case 0x80: case 0x81: case 0x82: case 0x83: case 0x84: case 0x85: case 0x86: case 0x87:
	case 0x88: case 0x89: case 0x8a: case 0x8b: case 0x8f:
	case 0xc0: case 0xc1: case 0xc6: case 0xc7: case 0xd0: case 0xd1: case 0xd2: case 0xd3:
	case 0xf6: case 0xf7: case 0xfe: case 0xff:
	case 0x0f10: case 0x0f11: case 0x0f28: case 0x0f29: case 0x0f2b: case 0x0f6f: case 0x0f7f:
	case 0x0fa3: case 0x0fab: case 0x0fb0: case 0x0fb1: case 0x0fb3: case 0x0fb6: case 0x0fb7:
	case 0x0fba: case 0x0fbb: case 0x0fbe: case 0x0fbf: case 0x0fc0: case 0x0fc1: case 0x0fc3:
	case 0x0fd6: case 0x0fe7:
		return true;
	}
	return op >= 0x0f90 && op <= 0x0f9f;
}

static unsigned mem_size(unsigned op, unsigned opsize)
{
	switch (op) {
	case 0x0fb6: case 0x0fbe: return 1;
	case 0x0fb7: case 0x0fbf: return 2;
	case 0x0f10: case 0x0f11: case 0x0f28: case 0x0f29: case 0x0f2b: case 0x0f6f: case 0x0f7f:
	case 0x0fe7: return 16;
	case 0x0fd6: return 8;
	case 0x0fb0: case 0x0fc0: return 1;
	case 0x0fb1: case 0x0fc1: case 0x0fc3: case 0x0fa3: case 0x0fab: case 0x0fb3: case 0x0fbb:
	case 0x0fba: case 0x8f: return opsize;
	}
	if (op >= 0x0f90 && op <= 0x0f9f)
		return 1;
	if (op == 0x6c || op == 0x6d || op == 0x6e || op == 0x6f)
		return op & 1 ? (opsize == 2 ? 2 : 4) : 1;
	return op & 1 ? opsize : 1;
}

int sim_insn_decode(const uint8_t *b, size_t n, int mode, struct sim_insn *d)
{
	bool opov = false, adov = false;
	unsigned i = 0, op, opsize, imm = 0;

	memset(d, 0, sizeof(*d));
	d->seg = -1;
	if (n > 15)
		n = 15;
	for (; i < n; i++) {
		switch (b[i]) {
		case 0x66: opov = true; continue;
		case 0x67: adov = true; continue;
		case 0xf2: case 0xf3: d->rep = true; continue;
		case 0xf0: continue;
		case 0x26: d->seg = 0; continue;
		case 0x2e: d->seg = 1; continue;
		case 0x36: d->seg = 2; continue;
		case 0x3e: d->seg = 3; continue;
		case 0x64: d->seg = 4; continue;
		case 0x65: d->seg = 5; continue;
		}
		break;
	}
	if (i < n && mode == 64 && (b[i] & 0xf0) == 0x40)
		d->rex = b[i++];
	if (i >= n)
		return -1;
	op = b[i++];
	if (op == 0x0f) {
		if (i >= n)
			return -1;
		op = 0x0f00 | b[i++];
	}
	d->opcode = op;
	if (mode == 64)
		opsize = d->rex & 8 ? 8 : opov ? 2 : 4;
	else
		opsize = (mode == 32) != opov ? 4 : 2;
	if (mode == 64 && op == 0x8f)
		opsize = opov ? 2 : 8;
	d->addr_size = mode == 64 ? (adov ? 4 : 8) : ((mode == 32) != adov ? 4 : 2);
	d->op_size = mem_size(op, opsize);

	if ((op >= 0xe4 && op <= 0xe7)) {
		imm = 1;
	} else if ((op >= 0xec && op <= 0xef)) {
		/* no operand */
	} else if ((op >= 0x6c && op <= 0x6f) || (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf)) {
		d->mem = true;
	} else if (op >= 0xa0 && op <= 0xa3) {
		d->mem = true;
		if (i + d->addr_size > n)
			return -1;
		d->disp = 0;
		memcpy(&d->disp, b + i, d->addr_size);
		i += d->addr_size;
	} else if (modrm_op(op)) {
		unsigned mod, rm;

		if (i >= n)
			return -1;
		d->has_modrm = true;
		d->modrm = b[i++];
		mod = d->modrm >> 6;
		rm = d->modrm & 7;
		d->mem = mod != 3;
		if (d->mem) {
			unsigned dsz = 0;

			if (d->addr_size == 2) {
				dsz = (mod == 0 && rm == 6) ? 2 : mod == 1 ? 1 : mod == 2 ? 2 : 0;
			} else {
				if (rm == 4) {
					if (i >= n)
						return -1;
					d->sib = b[i++];
					if (mod == 0 && (d->sib & 7) == 5)
						dsz = 4;
				}
				if (mod == 0 && rm == 5) {
					dsz = 4;
					d->rip_rel = mode == 64;
				}
				if (mod == 1)
					dsz = 1;
				else if (mod == 2)
					dsz = 4;
			}
			if (i + dsz > n)
				return -1;
			if (dsz == 1)
				d->disp = (int8_t)b[i];
			else if (dsz == 2)
				d->disp = (int16_t)(b[i] | b[i + 1] << 8);
			else if (dsz == 4)
				d->disp = (int32_t)((uint32_t)b[i] | (uint32_t)b[i + 1] << 8 |
						    (uint32_t)b[i + 2] << 16 | (uint32_t)b[i + 3] << 24);
			i += dsz;
		}
		switch (op) {
		case 0x80: case 0x82: case 0x83: case 0xc0: case 0xc1: case 0xc6: case 0x0fba:
			imm = 1;
			break;
		case 0x81: case 0xc7:
			imm = opsize == 2 ? 2 : 4;
			break;
		case 0xf6:
			imm = ((d->modrm >> 3) & 7) < 2 ? 1 : 0;
			break;
		case 0xf7:
			imm = ((d->modrm >> 3) & 7) < 2 ? (opsize == 2 ? 2 : 4) : 0;
			break;
		}
	} else {
		return -1;
	}
	i += imm;
	if (i > n)
		return -1;
	d->len = i;
	return 0;
}

bool sim_insn_is_string(const struct sim_insn *d)
{
	unsigned op = d->opcode;

	return (op >= 0x6c && op <= 0x6f) || (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf);
}

bool sim_insn_is_store(const struct sim_insn *d)
{
	switch (d->opcode) {
	case 0x88: case 0x89: case 0xc6: case 0xc7: case 0xa2: case 0xa3: case 0xa4: case 0xa5:
	case 0xaa: case 0xab: case 0x8f: case 0x0f11: case 0x0f29: case 0x0f2b: case 0x0f7f:
	case 0x0fc3: case 0x0fd6: case 0x0fe7:
		return d->mem;
	}
	return d->mem && d->opcode >= 0x0f90 && d->opcode <= 0x0f9f;
}

bool sim_insn_is_rmw(const struct sim_insn *d)
{
	unsigned op = d->opcode, reg = (d->modrm >> 3) & 7;

	if (!d->mem || !d->has_modrm)
		return false;
	if (op < 0x40)
		return (op & 7) < 2 && (op & 0x38) != 0x38;	/* op r/m, r except CMP */
	switch (op) {
	case 0x80: case 0x81: case 0x82: case 0x83:
		return reg != 7;
	case 0xf6: case 0xf7:
		return reg == 2 || reg == 3;
	case 0xfe: case 0xff:
		return reg < 2;
	case 0x86: case 0x87: case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3:
	case 0x0fab: case 0x0fb0: case 0x0fb1: case 0x0fb3: case 0x0fbb: case 0x0fc0: case 0x0fc1:
		return true;
	case 0x0fba:
		return reg >= 5;
	}
	return false;
}

static uint64_t reg_by_num(const struct kvm_regs *r, unsigned i)
{
	const __u64 v[16] = {
		r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
		r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15,
	};
	return v[i & 15];
}

static uint64_t seg_base(const struct kvm_sregs *s, int seg, int mode)
{
	const struct kvm_segment *t[6] = { &s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs };

	if (mode == 64 && seg < 4)
		return 0;
	return t[seg]->base;
}

bool sim_insn_linear(const struct sim_insn *d, int mode, const struct kvm_regs *r,
		     const struct kvm_sregs *s, uint64_t next_rip, bool dest, uint64_t *ret_la)
{
	uint64_t mask = d->addr_size == 8 ? ~0ULL : d->addr_size == 4 ? 0xffffffffULL : 0xffff;
	uint64_t ea = 0;
	int seg = 3;

	if (!d->mem)
		return false;
	if (sim_insn_is_string(d)) {
		unsigned op = d->opcode;
		bool di = op == 0x6c || op == 0x6d || op == 0xaa || op == 0xab || op == 0xae ||
			  op == 0xaf || (dest && (op == 0xa4 || op == 0xa5 || op == 0xa6 || op == 0xa7));

		if (di) {
			ea = r->rdi;
			seg = 0;	/* ES, no override */
		} else {
			ea = r->rsi;
			seg = d->seg >= 0 ? d->seg : 3;
		}
	} else if (!d->has_modrm) {
		ea = (uint64_t)d->disp;		/* moffs */
		seg = d->seg >= 0 ? d->seg : 3;
	} else {
		unsigned mod = d->modrm >> 6, rm = d->modrm & 7;

		if (d->addr_size == 2) {
			static const int base16[8] = { 3, 3, 5, 5, 6, 7, 5, 3 };
			static const int index16[8] = { 6, 7, 6, 7, -1, -1, -1, -1 };

			if (!(mod == 0 && rm == 6)) {
				ea = reg_by_num(r, (unsigned)base16[rm]);
				if (index16[rm] >= 0)
					ea += reg_by_num(r, (unsigned)index16[rm]);
				if (base16[rm] == 5)
					seg = 2;
			}
			ea += (uint64_t)d->disp;
		} else if (d->rip_rel) {
			ea = next_rip + (uint64_t)d->disp;
		} else if (rm == 4) {
			unsigned base = d->sib & 7, index = ((d->sib >> 3) & 7) | (d->rex & 2 ? 8 : 0);

			if (!(mod == 0 && base == 5)) {
				base |= d->rex & 1 ? 8 : 0;
				ea = reg_by_num(r, base);
				if (base == 4 || base == 5)
					seg = 2;
			}
			if (index != 4)
				ea += reg_by_num(r, index) << (d->sib >> 6);
			ea += (uint64_t)d->disp;
		} else if (mod == 0 && rm == 5) {
			ea = (uint64_t)d->disp;
		} else {
			unsigned base = rm | (d->rex & 1 ? 8 : 0);

			ea = reg_by_num(r, base) + (uint64_t)d->disp;
			if (base == 4 || base == 5)
				seg = 2;
		}
		if (d->seg >= 0)
			seg = d->seg;
	}
	ea &= mask;
	*ret_la = seg_base(s, seg, mode) + ea;
	if (mode != 64)
		*ret_la &= 0xffffffffULL;
	return true;
}
