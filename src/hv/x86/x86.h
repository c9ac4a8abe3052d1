/* SPDX-License-Identifier: MIT */
/* x86 decoder/emulator for MMIO and string port-I/O intercepts, free of any hypervisor API. */
#ifndef MSHVD_HV_X86_H
#define MSHVD_HV_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Architectural limit: longer instructions raise #GP. */
#define X86_MAX_INSN_LEN	15

enum x86_mode {
	X86_MODE_REAL,		/* real mode and virtual-8086 mode: 16-bit defaults */
	X86_MODE_PROT16,	/* protected or compatibility mode, CS.D = 0 */
	X86_MODE_PROT32,	/* protected or compatibility mode, CS.D = 1 */
	X86_MODE_LONG,		/* 64-bit mode: EFER.LMA = 1 and CS.L = 1 */
};

enum x86_seg {
	X86_SEG_ES, X86_SEG_CS, X86_SEG_SS, X86_SEG_DS, X86_SEG_FS, X86_SEG_GS, X86_SEG_COUNT
};

/* General-purpose registers in x86 encoding order. */
enum x86_gpr {
	X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
	X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15,
};

/* No register (memory operand without base or index). */
#define X86_REG_NONE	(-1)

/* Segment attributes (Hyper-V encoding, = low 16 bits of VMX access rights). */
#define X86_SEG_ATTR_L		(1u << 13)
#define X86_SEG_ATTR_DB		(1u << 14)

#define X86_CR0_PE		(1ull << 0)
#define X86_CR0_PG		(1ull << 31)
#define X86_CR4_PSE		(1ull << 4)
#define X86_CR4_PAE		(1ull << 5)
#define X86_EFER_LMA		(1ull << 10)

#define X86_RFLAGS_CF		(1ull << 0)
#define X86_RFLAGS_PF		(1ull << 2)
#define X86_RFLAGS_AF		(1ull << 4)
#define X86_RFLAGS_ZF		(1ull << 6)
#define X86_RFLAGS_SF		(1ull << 7)
#define X86_RFLAGS_DF		(1ull << 10)
#define X86_RFLAGS_OF		(1ull << 11)
#define X86_RFLAGS_VM		(1ull << 17)
#define X86_RFLAGS_ARITH	(X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF | X86_RFLAGS_ZF | \
				 X86_RFLAGS_SF | X86_RFLAGS_OF)

struct x86_segment {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint16_t attributes;	/* 0-3 type, 4 S, 5-6 DPL, 7 P, 12 AVL, 13 L, 14 D/B, 15 G */
};

/* Architectural state the emulator reads and updates. */
struct x86_cpu {
	uint64_t gpr[16];	/* enum x86_gpr order */
	uint64_t rip, rflags;
	struct x86_segment seg[X86_SEG_COUNT];
	uint64_t cr0, cr3, cr4, efer;
};

/*
 * Decoding mode of the instruction at cpu->rip: real when CR0.PE = 0 or RFLAGS.VM = 1, long when
 * EFER.LMA and CS.L, else protected/compatibility with the default size from CS.D.
 * Thread: any (pure function).
 */
enum x86_mode x86_cpu_mode(const struct x86_cpu *cpu);

enum x86_op {
	X86_OP_NONE,
	X86_OP_MOV,	/* 88 89 8A 8B C6/0 C7/0 A0-A3 */
	X86_OP_MOVZX,	/* 0F B6, 0F B7 */
	X86_OP_MOVSX,	/* 0F BE, 0F BF */
	X86_OP_MOVSXD,	/* 63 (64-bit mode only) */
	X86_OP_ADD,	/* 00-05, 80-83 /0 */
	X86_OP_OR,	/* 08-0D, 80-83 /1 */
	X86_OP_ADC,	/* 10-15, 80-83 /2 */
	X86_OP_SBB,	/* 18-1D, 80-83 /3 */
	X86_OP_AND,	/* 20-25, 80-83 /4 */
	X86_OP_SUB,	/* 28-2D, 80-83 /5 */
	X86_OP_XOR,	/* 30-35, 80-83 /6 */
	X86_OP_CMP,	/* 38-3D, 80-83 /7 */
	X86_OP_TEST,	/* 84 85 A8 A9 F6/0 F7/0 (and the /1 aliases) */
	X86_OP_NOT,	/* F6/2 F7/2 */
	X86_OP_NEG,	/* F6/3 F7/3 */
	X86_OP_INC,	/* FE/0 FF/0 */
	X86_OP_DEC,	/* FE/1 FF/1 */
	X86_OP_XCHG,	/* 86 87 */
	X86_OP_MOVS,	/* A4 A5 */
	X86_OP_STOS,	/* AA AB */
	X86_OP_LODS,	/* AC AD */
	X86_OP_INS,	/* 6C 6D */
	X86_OP_OUTS,	/* 6E 6F */
	X86_OP_IN,	/* E4 E5 EC ED */
	X86_OP_OUT,	/* E6 E7 EE EF */
	X86_OP_COUNT,
};

/* Name of an operation ("mov", "add", ...), "?" when out of range. Thread: any. */
const char *x86_op_name(enum x86_op op);

/* Prefix bits of struct x86_insn.prefixes. */
#define X86_PFX_OPSIZE		(1u << 0)	/* 66 */
#define X86_PFX_ADDRSIZE	(1u << 1)	/* 67 */
#define X86_PFX_LOCK		(1u << 2)	/* F0 */
#define X86_PFX_REPNE		(1u << 3)	/* F2 (the last of F2/F3 wins) */
#define X86_PFX_REP		(1u << 4)	/* F3 */
#define X86_PFX_SEG		(1u << 5)	/* a segment override; see seg_override */
#define X86_PFX_REX		(1u << 6)	/* REX right before the opcode (64-bit mode) */

#define X86_REX_W		0x8
#define X86_REX_R		0x4
#define X86_REX_X		0x2
#define X86_REX_B		0x1

enum x86_operand_kind { X86_OPND_NONE, X86_OPND_REG, X86_OPND_MEM, X86_OPND_IMM };

/* An explicit operand.  String instructions have none: their operands are implicit. */
struct x86_operand {
	uint8_t kind;		/* enum x86_operand_kind */
	uint8_t size;		/* bytes: 1, 2, 4, 8 */
	uint8_t reg;		/* X86_OPND_REG: GPR number 0-15 */
	bool high8;		/* X86_OPND_REG, size 1: AH CH DH BH (reg is then RAX..RBX) */
};

/* The memory operand: linear = seg base + (base + index * scale + disp) mod 2^(8*addrsize). */
struct x86_mem {
	uint8_t seg;		/* enum x86_seg: the override if any, else the default */
	int8_t base;		/* GPR number or X86_REG_NONE */
	int8_t index;		/* GPR number or X86_REG_NONE */
	uint8_t scale;		/* 1, 2, 4, 8 */
	bool rip_relative;	/* disp is relative to the next instruction */
	int64_t disp;		/* sign-extended; for moffs (A0-A3) the zero-extended offset */
};

/* A decoded instruction. */
struct x86_insn {
	enum x86_op op;
	enum x86_mode mode;	/* the mode it was decoded in */
	uint8_t len;		/* 1..15 */
	uint8_t opsize;		/* operation size in bytes (string/port ops: element size) */
	uint8_t addrsize;	/* 2, 4, 8 */
	uint8_t prefixes;	/* X86_PFX_* */
	uint8_t rex;		/* the REX byte, 0 if none */
	int8_t seg_override;	/* enum x86_seg, or -1 */
	uint8_t opcode[3];	/* opcode bytes after the prefixes */
	uint8_t opcode_len;	/* 1, 2 for 0F xx, 3 for 0F 38 xx and 0F 3A xx */
	/* A prefix repeated within its group, a legacy prefix after REX, two REX, or an ES/CS/SS/DS
	 * override in 64-bit mode: valid, but never emitted by compilers (x86_decode_length()'s
	 * callers use it to reject candidates that start inside another instruction). */
	bool odd_prefix;
	bool has_modrm;
	uint8_t modrm;
	uint8_t mod;		/* ModRM.mod */
	uint8_t reg;		/* ModRM.reg, with REX.R */
	uint8_t rm;		/* ModRM.rm, with REX.B */
	bool has_sib;
	uint8_t sib;
	bool has_mem;		/* mem is valid (ModRM memory form, moffs or a string operand) */
	struct x86_mem mem;	/* strings: the source (RSI) side, or ES:RDI for STOS/INS */
	struct x86_operand dst, src;
	uint8_t imm_size;	/* bytes of immediate in the encoding, 0 if none */
	uint64_t imm;		/* sign-extended to 64 bits (port numbers: zero-extended) */
	bool rep;		/* string op with F2/F3 */
};

/*
 * Decode one instruction from bytes[0..n) in mode.  Reads at most min(n, 15) bytes.
 * Returns 0 and fills *ret; -ENODATA when the bytes end before the instruction does (the caller
 * may fetch more); -EOPNOTSUPP for a valid opcode the emulator does not handle; -EINVAL for an
 * invalid encoding (longer than 15 bytes, LOCK where #UD, opcodes invalid in 64-bit mode).
 * Thread: any.
 */
int x86_decode(const uint8_t *bytes, size_t n, enum x86_mode mode, struct x86_insn *ret);

/*
 * Decode the length and the encoding fields of any one-byte, 0F, 0F 38 or 0F 3A instruction
 * (not VEX/EVEX) from bytes[0..n) in mode, with the same prefix/REX/ModRM/SIB front end as
 * x86_decode(); used where the instruction need not be emulated, e.g. by the kvm backend to find
 * where an instruction that KVM already executed started.  Fills len, mode, opsize, addrsize,
 * prefixes, rex, seg_override, opcode, opcode_len, odd_prefix, the ModRM/SIB fields, has_mem and
 * mem (ModRM memory forms and moffs), imm_size and imm (of 3- and 6-byte immediates: the raw
 * bytes); op is X86_OP_NONE and dst, src and rep are not set.  Reads at most min(n, 15) bytes.
 * Returns 0, -ENODATA (the bytes end before the instruction does), -EINVAL (longer than 15 bytes,
 * or 9A/EA in 64-bit mode) or -EOPNOTSUPP (VEX/EVEX in 64-bit mode).  No other opcode is
 * rejected: LOCK and opcodes invalid in the mode are decoded as their length.
 * Thread: any.
 */
int x86_decode_length(const uint8_t *bytes, size_t n, enum x86_mode mode, struct x86_insn *ret);

/*
 * Size in bytes of the memory operand insn (from x86_decode_length() or x86_decode()) writes
 * through ModRM, moffs or a MOVS/STOS destination; 0 when it writes none of these.  Used to match
 * an MMIO write exit with its instruction.  Thread: any.
 */
unsigned x86_insn_mem_write_size(const struct x86_insn *insn);

/* Memory access callbacks, provided by the backend.  opaque is the x86_emulate() argument. */
struct x86_emu_ops {
	/*
	 * Translate linear (segment base applied) to a GPA for a read or a write.  The GPA must
	 * have the same offset within its 4 KiB page as linear.  0; -EFAULT when not mapped (or
	 * not writable for a write), which x86_emulate() reports as a #PF; any other negative
	 * errno is returned by x86_emulate() as is.  Called only when paging is on (CR0.PG);
	 * otherwise GPA = linear.
	 */
	int (*translate)(void *opaque, uint64_t linear, bool write, uint64_t *ret_gpa);
	/*
	 * Host pointer to len bytes of guest RAM at gpa (never crossing a 4 KiB page), or NULL
	 * when gpa is not RAM for this kind of access: the access is then a device (MMIO) access.
	 * write tells a store from a load, so read-only memory (ROM) serves loads directly while
	 * stores to it exit like any MMIO write.  The pointer is used only during the
	 * x86_emulate() call.
	 */
	void *(*ram)(void *opaque, uint64_t gpa, size_t len, bool write);
};

/* One device access the caller must perform: MMIO at a GPA, or port I/O. */
struct x86_access {
	bool pio;
	bool write;
	uint8_t size;		/* 1, 2, 4, 8; a piece of a page-crossing MMIO access: 1..7 */
	uint64_t addr;		/* GPA or port */
	uint64_t data;		/* write data (little-endian, zero-extended); read result */
};

#define X86_EMU_ACCESS		1
#define X86_EMU_MAX_ACCESSES	8

/* Per-vCPU state of one instruction whose device accesses are in progress. */
struct x86_emu_ctx {
	unsigned n_done;	/* device accesses completed so far */
	struct x86_access done[X86_EMU_MAX_ACCESSES];
	bool pending;		/* done[n_done] was handed to the caller and awaits completion */
	uint64_t rip;		/* RIP of the instruction the log belongs to (valid when n_done) */
	/* After -EFAULT: 14 (#PF: translate failed) or 13 (#GP: non-canonical address). */
	uint8_t fault_vector;
};

/* Forget any instruction in progress. Thread: the vCPU's. */
void x86_emu_ctx_reset(struct x86_emu_ctx *ctx);

/*
 * Emulate the instruction at cpu->rip; bytes holds its first n bytes.
 *
 * Returns 0 when it completed: *cpu is updated (registers, arithmetic RFLAGS, RSI/RDI/RCX of
 * string ops, RIP advanced by the length) and ctx is reset.  A REP string instruction performs
 * one iteration per completed call and leaves RIP at the instruction while the count register
 * is non-zero afterwards, so the guest re-executes it; with a zero count it only advances RIP.
 *
 * Returns X86_EMU_ACCESS when the instruction needs a device access: *ret_access describes it,
 * *cpu and guest RAM are not modified.  The caller performs it, calls x86_emu_access_done() and
 * then x86_emulate() again with the same bytes and *cpu.  The instruction is re-executed from
 * the start, the first ctx->n_done device accesses are served from ctx->done (reads return their
 * data, writes are not repeated); guest RAM is accessed through ops->ram on every pass, and RAM
 * writes are applied only when the instruction completes.
 *
 * Errors (ctx is reset): -ENODATA (bytes too short, see x86_decode), -EOPNOTSUPP (unsupported
 * instruction, or paging on without ops->translate), -EINVAL (invalid encoding, a GPA from
 * translate with another page offset, or replay diverged from ctx), -EFAULT (translation
 * failed or non-canonical address: ret_access->addr is the linear address, ret_access->write the
 * access kind, ctx->fault_vector the exception to inject).  No device access is started for an
 * instruction that faults: every memory operand is translated before the first access.
 * Other negative errnos come from ops->translate.
 *
 * Not emulated: segment limit and type checks, alignment checks (#AC), and atomicity of LOCKed
 * or XCHG accesses to guest RAM (device accesses are single accesses anyway).
 * Thread: the vCPU's (ctx is per vCPU).
 */
int x86_emulate(const struct x86_emu_ops *ops, void *opaque, struct x86_cpu *cpu,
		const uint8_t *bytes, size_t n, struct x86_emu_ctx *ctx,
		struct x86_access *ret_access);

/*
 * Complete the device access last returned by x86_emulate(): for a read, read_value is the
 * result (its low access-size bytes are used); for a write it is ignored. Thread: the vCPU's.
 */
void x86_emu_access_done(struct x86_emu_ctx *ctx, uint64_t read_value);

#endif
