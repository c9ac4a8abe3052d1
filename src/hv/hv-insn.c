// SPDX-License-Identifier: MIT
/* x86 instruction length decoding for the kvm backend's exit normalization. */
#include <errno.h>
#include <string.h>

#include "hv/hv-insn.h"

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

static bool bit(const uint32_t *map, uint8_t b)
{
	return map[b >> 5] >> (b & 31) & 1;
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

static bool is_prefix(uint8_t b, enum hv_insn_mode mode)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
		return true;
	default:
		return false;
	}
}

int hv_insn_decode(const uint8_t *b, unsigned n, enum hv_insn_mode mode, struct hv_insn *ret)
{
	struct hv_insn in;
	unsigned i = 0, imm = 0, seen = 0;
	uint8_t def = mode == HV_INSN_16 ? 2 : 4;
	bool opsz = false, adsz = false;
	uint8_t op, mod, rm, reg;

	memset(&in, 0, sizeof(in));
	if (n > 15)
		n = 15;
	for (;;) {
		if (i >= n)
			return -EINVAL;
		if (is_prefix(b[i], mode)) {
			uint8_t p = b[i];
			unsigned bitno = p == 0x66 ? 0 : p == 0x67 ? 1 : p == 0xf0 ? 2 :
				(p == 0xf2 || p == 0xf3) ? 3 : 4;

			if (seen & (1u << bitno) || in.rex)
				in.odd_prefix = true;
			seen |= 1u << bitno;
			if (p == 0x66)
				opsz = true;
			else if (p == 0x67)
				adsz = true;
			else if (p == 0xf0)
				in.lock = true;
			else if (p == 0xf2)
				in.repne = true, in.rep = false;
			else if (p == 0xf3)
				in.rep = true, in.repne = false;
			else {
				in.seg = p;
				if (mode == HV_INSN_64 && p != 0x64 && p != 0x65)
					in.odd_prefix = true;
			}
			i++;
			continue;
		}
		if (mode == HV_INSN_64 && (b[i] & 0xf0) == 0x40) {
			if (in.rex)
				in.odd_prefix = true;
			in.rex = b[i++];
			continue;
		}
		break;
	}
	in.nprefix = (uint8_t)i;
	if (mode == HV_INSN_64) {
		in.opsize = in.rex & 8 ? 8 : opsz ? 2 : 4;
		in.addrsize = adsz ? 4 : 8;
	} else {
		in.opsize = opsz ? (def == 2 ? 4 : 2) : def;
		in.addrsize = adsz ? (def == 2 ? 4 : 2) : def;
	}

	op = b[i++];
	if (op == 0x0f) {
		if (i >= n)
			return -EINVAL;
		op = b[i++];
		if (op == 0x38 || op == 0x3a) {
			in.map = op == 0x38 ? 2 : 3;
			if (i >= n)
				return -EINVAL;
			op = b[i++];
			in.has_modrm = true;
			imm = in.map == 3 ? 1 : 0;
		} else {
			in.map = 1;
			in.has_modrm = twobyte_has_modrm(op);
			if (op >= 0x80 && op <= 0x8f)
				imm = in.opsize == 2 ? 2 : 4;
			else if ((op >= 0x70 && op <= 0x73) || op == 0xa4 || op == 0xac || op == 0xba ||
				 op == 0xc2 || (op >= 0xc4 && op <= 0xc6))
				imm = 1;
		}
	} else {
		unsigned iz = in.opsize == 2 ? 2 : 4;

		in.has_modrm = bit(modrm_1, op);
		if (mode == HV_INSN_64 && (op == 0xc4 || op == 0xc5 || op == 0x62))
			return -EINVAL;	/* VEX/EVEX: not decoded */
		if ((op < 0x40 && (op & 7) == 4) || op == 0x6a || op == 0x6b || op == 0x80 ||
		    op == 0x82 || op == 0x83 || op == 0xa8 || (op >= 0xb0 && op <= 0xb7) ||
		    op == 0xc0 || op == 0xc1 || op == 0xc6 || op == 0xcd || op == 0xd4 ||
		    op == 0xd5 || (op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe7) ||
		    op == 0xeb)
			imm = 1;
		else if ((op < 0x40 && (op & 7) == 5) || op == 0x68 || op == 0x69 || op == 0x81 ||
			 op == 0xa9 || op == 0xc7 || op == 0xe8 || op == 0xe9)
			imm = iz;
		else if (op >= 0xb8 && op <= 0xbf)
			imm = in.opsize;
		else if (op == 0xc2 || op == 0xca)
			imm = 2;
		else if (op == 0xc8)
			imm = 3;
		else if (op == 0xea || op == 0x9a)
			imm = mode == HV_INSN_64 ? 0 : iz + 2;
		else if (op >= 0xa0 && op <= 0xa3)
			imm = 0;	/* moffs below */
		if (mode == HV_INSN_64 && (op == 0xea || op == 0x9a))
			return -EINVAL;
	}
	in.opcode = op;

	if (in.has_modrm) {
		if (i >= n)
			return -EINVAL;
		in.modrm = b[i++];
		mod = in.modrm >> 6;
		rm = in.modrm & 7;
		reg = in.modrm >> 3 & 7;
		if (in.map == 0 && (op == 0xf6 || op == 0xf7) && reg <= 1)
			imm = op == 0xf6 ? 1 : (in.opsize == 2 ? 2 : 4);
		if (mod != 3) {
			unsigned disp = 0;

			if (in.addrsize == 2) {
				disp = mod == 1 ? 1 : mod == 2 ? 2 : (rm == 6 ? 2 : 0);
			} else {
				if (rm == 4) {
					if (i >= n)
						return -EINVAL;
					in.has_sib = true;
					in.sib = b[i++];
					if (mod == 0 && (in.sib & 7) == 5)
						disp = 4;
				}
				if (mod == 1)
					disp = 1;
				else if (mod == 2 || (mod == 0 && rm == 5))
					disp = 4;
			}
			if (i + disp > n)
				return -EINVAL;
			if (disp) {
				uint64_t v = 0;

				in.has_disp = true;
				memcpy(&v, b + i, disp);
				in.disp = disp == 1 ? (int8_t)v : disp == 2 ? (int16_t)v : (int32_t)v;
			}
			i += disp;
		}
	} else if (in.map == 0 && op >= 0xa0 && op <= 0xa3) {
		if (i + in.addrsize > n)
			return -EINVAL;
		memcpy(&in.moffs, b + i, in.addrsize);
		i += in.addrsize;
	}
	if (i + imm > n)
		return -EINVAL;
	in.len = (uint8_t)(i + imm);
	*ret = in;
	return 0;
}

unsigned hv_insn_mem_write_size(const struct hv_insn *in)
{
	uint8_t op = in->opcode, reg = in->modrm >> 3 & 7;
	bool mem = in->has_modrm && in->modrm >> 6 != 3;
	unsigned v = in->opsize;

	if (in->map == 0) {
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
	if (in->map == 1 && mem) {
		if (op >= 0x90 && op <= 0x9f)
			return 1;
		switch (op) {
		case 0xab: case 0xb3: case 0xbb: case 0xc1: case 0xb1: case 0xc3: return v;
		case 0xba: return reg >= 5 ? v : 0;
		case 0xb0: case 0xc0: return 1;
		default: return 0;
		}
	}
	return 0;
}
