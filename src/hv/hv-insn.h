/* SPDX-License-Identifier: MIT */
/* A small x86 instruction length decoder used by the kvm backend to find where an instruction
 * started when KVM reports RIP already past it (MMIO writes, string I/O). */
#ifndef MSHVD_HV_INSN_H
#define MSHVD_HV_INSN_H

#include <stdbool.h>
#include <stdint.h>

enum hv_insn_mode { HV_INSN_16, HV_INSN_32, HV_INSN_64 };

struct hv_insn {
	uint8_t len;
	uint8_t opcode;		/* last opcode byte */
	uint8_t map;		/* 0: one-byte map, 1: 0F, 2: 0F 38, 3: 0F 3A */
	bool has_modrm;
	uint8_t modrm;
	uint8_t opsize;		/* 2, 4, 8 */
	uint8_t addrsize;	/* 2, 4, 8 */
	uint8_t rex;		/* 0 when none */
	uint8_t seg;		/* segment override prefix byte, 0 when none */
	bool rep, repne, lock;
	bool odd_prefix;	/* repeated prefix, REX not last, ignored segment override */
	uint8_t nprefix;
	/* memory operand (has_modrm && mod != 3, or moffs) */
	bool has_disp;
	int64_t disp;
	bool has_sib;
	uint8_t sib;
	uint64_t moffs;
};

/* Decode the length of one instruction at bytes[0..n).  Returns 0 or -EINVAL (undecodable or
 * longer than n). */
int hv_insn_decode(const uint8_t *bytes, unsigned n, enum hv_insn_mode mode, struct hv_insn *ret);

/* Size in bytes of the memory operand an instruction writes (0 when it never writes memory
 * through ModRM/moffs/string destination).  Used to match an MMIO write exit. */
unsigned hv_insn_mem_write_size(const struct hv_insn *insn);

#endif
