// SPDX-License-Identifier: MIT
/* Table-driven tests of the x86 decoder: bytes -> operation, sizes, operands, memory, length;
 * and of the length decoder (x86_decode_length) that shares its front end. */
#include "check.h"
#include "hv/x86/x86.h"

#define B(s)		.bytes = (const uint8_t *)(s), .n = sizeof(s) - 1

#define R(r, sz)	{ .kind = X86_OPND_REG, .size = (sz), .reg = (r) }
#define RH(r)		{ .kind = X86_OPND_REG, .size = 1, .reg = (r), .high8 = true }
#define M(sz)		{ .kind = X86_OPND_MEM, .size = (sz) }
#define I(sz)		{ .kind = X86_OPND_IMM, .size = (sz) }

#define NOREG		X86_REG_NONE
#define MEM(s, b, i, sc, d) \
	.has_mem = true, \
	.mem = { .seg = X86_SEG_##s, .base = (b), .index = (i), .scale = (sc), .disp = (d) }
#define MEMRIP(d) \
	.has_mem = true, \
	.mem = { .seg = X86_SEG_DS, .base = NOREG, .index = NOREG, .scale = 1, \
		 .rip_relative = true, .disp = (d) }

#define LONG		X86_MODE_LONG
#define P32		X86_MODE_PROT32
#define P16		X86_MODE_PROT16
#define REAL		X86_MODE_REAL

#define OSZ		X86_PFX_OPSIZE
#define ASZ		X86_PFX_ADDRSIZE
#define REX		X86_PFX_REX
#define REP		X86_PFX_REP
#define SEG		X86_PFX_SEG
#define LOCK		X86_PFX_LOCK

struct row {
	const char *text;
	enum x86_mode mode;
	const uint8_t *bytes;
	size_t n;
	int ret;
	enum x86_op op;
	uint8_t opsize, addrsize, len, pfx;
	struct x86_operand dst, src;
	bool has_mem;
	struct x86_mem mem;
	uint64_t imm;
	bool rep;
};

#define OK(m, t, bs, o, os, as, l) .text = t, .mode = m, B(bs), .op = X86_OP_##o, \
	.opsize = os, .addrsize = as, .len = l

static const struct row rows[] = {
	/* --- 64-bit mode: MOV r/m forms, every operand size, REX byte registers --- */
	{ OK(LONG, "mov [rdi],al", "\x88\x07", MOV, 1, 8, 2),
	  .dst = M(1), .src = R(X86_RAX, 1), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "mov [rdi],ah", "\x88\x27", MOV, 1, 8, 2),
	  .dst = M(1), .src = RH(X86_RAX), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "mov [rdi],dh", "\x88\x37", MOV, 1, 8, 2),
	  .dst = M(1), .src = RH(X86_RDX), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "mov [rdi],sil", "\x40\x88\x37", MOV, 1, 8, 3), .pfx = REX,
	  .dst = M(1), .src = R(X86_RSI, 1), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "mov [r8],r9b", "\x45\x88\x08", MOV, 1, 8, 3), .pfx = REX,
	  .dst = M(1), .src = R(X86_R9, 1), MEM(DS, X86_R8, NOREG, 1, 0) },
	{ OK(LONG, "mov [rax],ax", "\x66\x89\x00", MOV, 2, 8, 3), .pfx = OSZ,
	  .dst = M(2), .src = R(X86_RAX, 2), MEM(DS, X86_RAX, NOREG, 1, 0) },
	{ OK(LONG, "mov [rax],eax", "\x89\x00", MOV, 4, 8, 2),
	  .dst = M(4), .src = R(X86_RAX, 4), MEM(DS, X86_RAX, NOREG, 1, 0) },
	{ OK(LONG, "mov [rax],rax", "\x48\x89\x00", MOV, 8, 8, 3), .pfx = REX,
	  .dst = M(8), .src = R(X86_RAX, 8), MEM(DS, X86_RAX, NOREG, 1, 0) },
	{ OK(LONG, "mov [rax+rbx*4+0x10],ecx", "\x89\x4c\x98\x10", MOV, 4, 8, 4),
	  .dst = M(4), .src = R(X86_RCX, 4), MEM(DS, X86_RAX, X86_RBX, 4, 0x10) },
	{ OK(LONG, "mov ecx,[rsp+8]", "\x8b\x4c\x24\x08", MOV, 4, 8, 4),
	  .dst = R(X86_RCX, 4), .src = M(4), MEM(SS, X86_RSP, NOREG, 1, 8) },
	{ OK(LONG, "mov ecx,[rbp-4]", "\x8b\x4d\xfc", MOV, 4, 8, 3),
	  .dst = R(X86_RCX, 4), .src = M(4), MEM(SS, X86_RBP, NOREG, 1, -4) },
	{ OK(LONG, "mov rcx,[r12]", "\x49\x8b\x0c\x24", MOV, 8, 8, 4), .pfx = REX,
	  .dst = R(X86_RCX, 8), .src = M(8), MEM(DS, X86_R12, NOREG, 1, 0) },
	{ OK(LONG, "mov rcx,[r13+0]", "\x49\x8b\x4d\x00", MOV, 8, 8, 4), .pfx = REX,
	  .dst = R(X86_RCX, 8), .src = M(8), MEM(DS, X86_R13, NOREG, 1, 0) },
	{ OK(LONG, "mov eax,[r12*2+0]", "\x42\x8b\x04\x65\x00\x00\x00\x00", MOV, 4, 8, 8),
	  .pfx = REX, .dst = R(X86_RAX, 4), .src = M(4), MEM(DS, NOREG, X86_R12, 2, 0) },
	{ OK(LONG, "mov eax,[r13+rax*1+0x80]", "\x41\x8b\x84\x05\x80\x00\x00\x00", MOV, 4, 8, 8),
	  .pfx = REX, .dst = R(X86_RAX, 4), .src = M(4), MEM(DS, X86_R13, X86_RAX, 1, 0x80) },
	{ OK(LONG, "mov eax,[rip+0x100]", "\x8b\x05\x00\x01\x00\x00", MOV, 4, 8, 6),
	  .dst = R(X86_RAX, 4), .src = M(4), MEMRIP(0x100) },
	{ OK(LONG, "mov [rip-0x10],r8", "\x4c\x89\x05\xf0\xff\xff\xff", MOV, 8, 8, 7), .pfx = REX,
	  .dst = M(8), .src = R(X86_R8, 8), MEMRIP(-0x10) },
	{ OK(LONG, "mov eax,[0x1234]", "\x8b\x04\x25\x34\x12\x00\x00", MOV, 4, 8, 7),
	  .dst = R(X86_RAX, 4), .src = M(4), MEM(DS, NOREG, NOREG, 1, 0x1234) },
	{ OK(LONG, "mov eax,[ecx]", "\x67\x8b\x01", MOV, 4, 4, 3), .pfx = ASZ,
	  .dst = R(X86_RAX, 4), .src = M(4), MEM(DS, X86_RCX, NOREG, 1, 0) },
	{ OK(LONG, "mov eax,[eip+0x10]", "\x67\x8b\x05\x10\x00\x00\x00", MOV, 4, 4, 7), .pfx = ASZ,
	  .dst = R(X86_RAX, 4), .src = M(4), MEMRIP(0x10) },
	{ OK(LONG, "mov r15,[r14+r13*8+0x12345678]", "\x4f\x8b\xbc\xee\x78\x56\x34\x12",
	     MOV, 8, 8, 8), .pfx = REX,
	  .dst = R(X86_R15, 8), .src = M(8), MEM(DS, X86_R14, X86_R13, 8, 0x12345678) },
	{ OK(LONG, "mov eax,[rsp+rbp*1-0x80]", "\x8b\x44\x2c\x80", MOV, 4, 8, 4),
	  .dst = R(X86_RAX, 4), .src = M(4), MEM(SS, X86_RSP, X86_RBP, 1, -0x80) },
	{ OK(LONG, "mov eax,ebx", "\x89\xd8", MOV, 4, 8, 2),
	  .dst = R(X86_RAX, 4), .src = R(X86_RBX, 4) },
	{ OK(LONG, "mov al,ah", "\x88\xe0", MOV, 1, 8, 2),
	  .dst = R(X86_RAX, 1), .src = RH(X86_RAX) },
	{ OK(LONG, "mov al,spl", "\x40\x88\xe0", MOV, 1, 8, 3), .pfx = REX,
	  .dst = R(X86_RAX, 1), .src = R(X86_RSP, 1) },
	{ OK(LONG, "mov bh,[rax]", "\x8a\x38", MOV, 1, 8, 2),
	  .dst = RH(X86_RBX), .src = M(1), MEM(DS, X86_RAX, NOREG, 1, 0) },
	{ OK(LONG, "mov dil,[rax]", "\x40\x8a\x38", MOV, 1, 8, 3), .pfx = REX,
	  .dst = R(X86_RDI, 1), .src = M(1), MEM(DS, X86_RAX, NOREG, 1, 0) },
	{ OK(LONG, "mov r10w,[rax]", "\x66\x44\x8b\x10", MOV, 2, 8, 4), .pfx = OSZ | REX,
	  .dst = R(X86_R10, 2), .src = M(2), MEM(DS, X86_RAX, NOREG, 1, 0) },

	/* --- MOV immediate and moffs --- */
	{ OK(LONG, "mov byte [rdi],0x80", "\xc6\x07\x80", MOV, 1, 8, 3),
	  .dst = M(1), .src = I(1), MEM(DS, X86_RDI, NOREG, 1, 0), .imm = 0xffffffffffffff80 },
	{ OK(LONG, "mov word [rdi],0x1234", "\x66\xc7\x07\x34\x12", MOV, 2, 8, 5), .pfx = OSZ,
	  .dst = M(2), .src = I(2), MEM(DS, X86_RDI, NOREG, 1, 0), .imm = 0x1234 },
	{ OK(LONG, "mov dword [rdi],0x80000000", "\xc7\x07\x00\x00\x00\x80", MOV, 4, 8, 6),
	  .dst = M(4), .src = I(4), MEM(DS, X86_RDI, NOREG, 1, 0), .imm = 0xffffffff80000000 },
	{ OK(LONG, "mov qword [rdi+8],-1", "\x48\xc7\x47\x08\xff\xff\xff\xff", MOV, 8, 8, 8),
	  .pfx = REX, .dst = M(8), .src = I(8), MEM(DS, X86_RDI, NOREG, 1, 8), .imm = UINT64_MAX },
	{ OK(LONG, "mov dword [rip+0x20],7", "\xc7\x05\x20\x00\x00\x00\x07\x00\x00\x00",
	     MOV, 4, 8, 10),
	  .dst = M(4), .src = I(4), MEMRIP(0x20), .imm = 7 },
	{ OK(LONG, "mov al,[moffs64]", "\xa0\x88\x77\x66\x55\x44\x33\x22\x11", MOV, 1, 8, 9),
	  .dst = R(X86_RAX, 1), .src = M(1), MEM(DS, NOREG, NOREG, 1, 0x1122334455667788) },
	{ OK(LONG, "mov [moffs64],rax", "\x48\xa3\x00\x00\x00\x00\x00\x00\x00\x80", MOV, 8, 8, 10),
	  .pfx = REX, .dst = M(8), .src = R(X86_RAX, 8),
	  MEM(DS, NOREG, NOREG, 1, (int64_t)0x8000000000000000ull) },
	{ OK(LONG, "mov eax,[moffs32]", "\x67\xa1\x00\x00\xd0\xfe", MOV, 4, 4, 6), .pfx = ASZ,
	  .dst = R(X86_RAX, 4), .src = M(4), MEM(DS, NOREG, NOREG, 1, 0xfed00000) },
	{ OK(LONG, "mov gs:[moffs64],ax", "\x65\x66\xa3\x10\x00\x00\x00\x00\x00\x00\x00",
	     MOV, 2, 8, 11),
	  .pfx = SEG | OSZ, .dst = M(2), .src = R(X86_RAX, 2), MEM(GS, NOREG, NOREG, 1, 0x10) },

	/* --- segment overrides and prefix rules --- */
	{ OK(LONG, "mov eax,fs:[rax]", "\x64\x8b\x00", MOV, 4, 8, 3), .pfx = SEG,
	  .dst = R(X86_RAX, 4), .src = M(4), MEM(FS, X86_RAX, NOREG, 1, 0) },
	{ OK(LONG, "mov gs:[rbx],rcx", "\x65\x48\x89\x0b", MOV, 8, 8, 4), .pfx = SEG | REX,
	  .dst = M(8), .src = R(X86_RCX, 8), MEM(GS, X86_RBX, NOREG, 1, 0) },
	{ OK(LONG, "mov eax,cs:[rbp]", "\x2e\x8b\x45\x00", MOV, 4, 8, 4), .pfx = SEG,
	  .dst = R(X86_RAX, 4), .src = M(4), MEM(CS, X86_RBP, NOREG, 1, 0) },
	{ OK(LONG, "es fs mov eax,[rax] (last wins)", "\x26\x64\x8b\x00", MOV, 4, 8, 4), .pfx = SEG,
	  .dst = R(X86_RAX, 4), .src = M(4), MEM(FS, X86_RAX, NOREG, 1, 0) },
	{ OK(LONG, "rex.w 66 mov: REX cancelled", "\x48\x66\x89\x07", MOV, 2, 8, 4), .pfx = OSZ,
	  .dst = M(2), .src = R(X86_RAX, 2), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "rex rex.w mov: last REX", "\x40\x48\x89\x07", MOV, 8, 8, 4), .pfx = REX,
	  .dst = M(8), .src = R(X86_RAX, 8), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "66 rex.w mov: W wins", "\x66\x48\x89\x07", MOV, 8, 8, 4), .pfx = OSZ | REX,
	  .dst = M(8), .src = R(X86_RAX, 8), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "rep mov: F3 ignored", "\xf3\x89\x07", MOV, 4, 8, 3), .pfx = REP,
	  .dst = M(4), .src = R(X86_RAX, 4), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "9x ds mov dword [rdi],imm (15 bytes)",
	     "\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\xc7\x07\x78\x56\x34\x12", MOV, 4, 8, 15),
	  .pfx = SEG, .dst = M(4), .src = I(4), MEM(DS, X86_RDI, NOREG, 1, 0), .imm = 0x12345678 },

	/* --- MOVZX / MOVSX / MOVSXD --- */
	{ OK(LONG, "movzx eax,byte [rsi]", "\x0f\xb6\x06", MOVZX, 4, 8, 3),
	  .dst = R(X86_RAX, 4), .src = M(1), MEM(DS, X86_RSI, NOREG, 1, 0) },
	{ OK(LONG, "movzx rax,word [rsi]", "\x48\x0f\xb7\x06", MOVZX, 8, 8, 4), .pfx = REX,
	  .dst = R(X86_RAX, 8), .src = M(2), MEM(DS, X86_RSI, NOREG, 1, 0) },
	{ OK(LONG, "movzx r9w,byte [rsi]", "\x66\x44\x0f\xb6\x0e", MOVZX, 2, 8, 5),
	  .pfx = OSZ | REX,
	  .dst = R(X86_R9, 2), .src = M(1), MEM(DS, X86_RSI, NOREG, 1, 0) },
	{ OK(LONG, "movsx ecx,byte [rsi]", "\x0f\xbe\x0e", MOVSX, 4, 8, 3),
	  .dst = R(X86_RCX, 4), .src = M(1), MEM(DS, X86_RSI, NOREG, 1, 0) },
	{ OK(LONG, "movsx rcx,word [rsi+2]", "\x48\x0f\xbf\x4e\x02", MOVSX, 8, 8, 5), .pfx = REX,
	  .dst = R(X86_RCX, 8), .src = M(2), MEM(DS, X86_RSI, NOREG, 1, 2) },
	{ OK(LONG, "movsxd rax,dword [rbx]", "\x48\x63\x03", MOVSXD, 8, 8, 3), .pfx = REX,
	  .dst = R(X86_RAX, 8), .src = M(4), MEM(DS, X86_RBX, NOREG, 1, 0) },
	{ OK(LONG, "movsxd eax,dword [rbx] (no REX.W)", "\x63\x03", MOVSXD, 4, 8, 2),
	  .dst = R(X86_RAX, 4), .src = M(4), MEM(DS, X86_RBX, NOREG, 1, 0) },

	/* --- ALU r/m forms --- */
	{ OK(LONG, "add [rdi],eax", "\x01\x07", ADD, 4, 8, 2),
	  .dst = M(4), .src = R(X86_RAX, 4), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "add al,[rdi]", "\x02\x07", ADD, 1, 8, 2),
	  .dst = R(X86_RAX, 1), .src = M(1), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "or [rdi],cl", "\x08\x0f", OR, 1, 8, 2),
	  .dst = M(1), .src = R(X86_RCX, 1), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "adc [rdi],eax", "\x11\x07", ADC, 4, 8, 2),
	  .dst = M(4), .src = R(X86_RAX, 4), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "sbb [rdi],ax", "\x66\x19\x07", SBB, 2, 8, 3), .pfx = OSZ,
	  .dst = M(2), .src = R(X86_RAX, 2), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "and rax,[rdi]", "\x48\x23\x07", AND, 8, 8, 3), .pfx = REX,
	  .dst = R(X86_RAX, 8), .src = M(8), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "sub [rdi],r8d", "\x44\x29\x07", SUB, 4, 8, 3), .pfx = REX,
	  .dst = M(4), .src = R(X86_R8, 4), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "xor [rdi],esi", "\x31\x37", XOR, 4, 8, 2),
	  .dst = M(4), .src = R(X86_RSI, 4), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "cmp [rdi],eax", "\x39\x07", CMP, 4, 8, 2),
	  .dst = M(4), .src = R(X86_RAX, 4), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "cmp bh,[rdi]", "\x3a\x3f", CMP, 1, 8, 2),
	  .dst = RH(X86_RBX), .src = M(1), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "add al,5", "\x04\x05", ADD, 1, 8, 2),
	  .dst = R(X86_RAX, 1), .src = I(1), .imm = 5 },
	{ OK(LONG, "cmp rax,-1", "\x48\x3d\xff\xff\xff\xff", CMP, 8, 8, 6), .pfx = REX,
	  .dst = R(X86_RAX, 8), .src = I(8), .imm = UINT64_MAX },
	{ OK(LONG, "add byte [rdi],1", "\x80\x07\x01", ADD, 1, 8, 3),
	  .dst = M(1), .src = I(1), MEM(DS, X86_RDI, NOREG, 1, 0), .imm = 1 },
	{ OK(LONG, "or dword [rdi],0x80000000", "\x81\x0f\x00\x00\x00\x80", OR, 4, 8, 6),
	  .dst = M(4), .src = I(4), MEM(DS, X86_RDI, NOREG, 1, 0), .imm = 0xffffffff80000000 },
	{ OK(LONG, "and qword [rdi],-16", "\x48\x83\x27\xf0", AND, 8, 8, 4), .pfx = REX,
	  .dst = M(8), .src = I(8), MEM(DS, X86_RDI, NOREG, 1, 0), .imm = 0xfffffffffffffff0 },
	{ OK(LONG, "cmp word [rdi],0x1234", "\x66\x81\x3f\x34\x12", CMP, 2, 8, 5), .pfx = OSZ,
	  .dst = M(2), .src = I(2), MEM(DS, X86_RDI, NOREG, 1, 0), .imm = 0x1234 },
	{ OK(LONG, "sub dword [rdi+0x40],1", "\x83\x6f\x40\x01", SUB, 4, 8, 4),
	  .dst = M(4), .src = I(4), MEM(DS, X86_RDI, NOREG, 1, 0x40), .imm = 1 },
	{ OK(LONG, "xor byte [rdi],0xff", "\x80\x37\xff", XOR, 1, 8, 3),
	  .dst = M(1), .src = I(1), MEM(DS, X86_RDI, NOREG, 1, 0), .imm = UINT64_MAX },
	{ OK(LONG, "adc word [rdi],-1 (83)", "\x66\x83\x17\xff", ADC, 2, 8, 4), .pfx = OSZ,
	  .dst = M(2), .src = I(2), MEM(DS, X86_RDI, NOREG, 1, 0), .imm = UINT64_MAX },
	{ OK(LONG, "sbb dword [rdi],0x7f (83)", "\x83\x1f\x7f", SBB, 4, 8, 3),
	  .dst = M(4), .src = I(4), MEM(DS, X86_RDI, NOREG, 1, 0), .imm = 0x7f },
	{ OK(LONG, "test [rdi],al", "\x84\x07", TEST, 1, 8, 2),
	  .dst = M(1), .src = R(X86_RAX, 1), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "test [rdi],rax", "\x48\x85\x07", TEST, 8, 8, 3), .pfx = REX,
	  .dst = M(8), .src = R(X86_RAX, 8), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "test byte [rdi],0x80", "\xf6\x07\x80", TEST, 1, 8, 3),
	  .dst = M(1), .src = I(1), MEM(DS, X86_RDI, NOREG, 1, 0), .imm = 0xffffffffffffff80 },
	{ OK(LONG, "test dword [rdi],0x10", "\xf7\x07\x10\x00\x00\x00", TEST, 4, 8, 6),
	  .dst = M(4), .src = I(4), MEM(DS, X86_RDI, NOREG, 1, 0), .imm = 0x10 },
	{ OK(LONG, "test word [rdi],0x8000", "\x66\xf7\x07\x00\x80", TEST, 2, 8, 5), .pfx = OSZ,
	  .dst = M(2), .src = I(2), MEM(DS, X86_RDI, NOREG, 1, 0), .imm = 0xffffffffffff8000 },
	{ OK(LONG, "test al,1", "\xa8\x01", TEST, 1, 8, 2),
	  .dst = R(X86_RAX, 1), .src = I(1), .imm = 1 },
	{ OK(LONG, "not dword [rdi]", "\xf7\x17", NOT, 4, 8, 2),
	  .dst = M(4), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "neg qword [rdi]", "\x48\xf7\x1f", NEG, 8, 8, 3), .pfx = REX,
	  .dst = M(8), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "inc byte [rdi]", "\xfe\x07", INC, 1, 8, 2),
	  .dst = M(1), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "dec dword [rdi]", "\xff\x0f", DEC, 4, 8, 2),
	  .dst = M(4), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "xchg [rdi],eax", "\x87\x07", XCHG, 4, 8, 2),
	  .dst = M(4), .src = R(X86_RAX, 4), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "xchg [rdi],bl", "\x86\x1f", XCHG, 1, 8, 2),
	  .dst = M(1), .src = R(X86_RBX, 1), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "lock add [rdi],eax", "\xf0\x01\x07", ADD, 4, 8, 3), .pfx = LOCK,
	  .dst = M(4), .src = R(X86_RAX, 4), MEM(DS, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "lock or dword [rsp],0", "\xf0\x83\x0c\x24\x00", OR, 4, 8, 5), .pfx = LOCK,
	  .dst = M(4), .src = I(4), MEM(SS, X86_RSP, NOREG, 1, 0) },

	/* --- string instructions --- */
	{ OK(LONG, "movsb", "\xa4", MOVS, 1, 8, 1),
	  .dst = M(1), .src = M(1), MEM(DS, X86_RSI, NOREG, 1, 0) },
	{ OK(LONG, "rep movsq", "\xf3\x48\xa5", MOVS, 8, 8, 3), .pfx = REP | REX, .rep = true,
	  .dst = M(8), .src = M(8), MEM(DS, X86_RSI, NOREG, 1, 0) },
	{ OK(LONG, "movsw", "\x66\xa5", MOVS, 2, 8, 2), .pfx = OSZ,
	  .dst = M(2), .src = M(2), MEM(DS, X86_RSI, NOREG, 1, 0) },
	{ OK(LONG, "fs movsb", "\x64\xa4", MOVS, 1, 8, 2), .pfx = SEG,
	  .dst = M(1), .src = M(1), MEM(FS, X86_RSI, NOREG, 1, 0) },
	{ OK(LONG, "repne movsb (acts as rep)", "\xf2\xa4", MOVS, 1, 8, 2), .pfx = X86_PFX_REPNE,
	  .rep = true, .dst = M(1), .src = M(1), MEM(DS, X86_RSI, NOREG, 1, 0) },
	{ OK(LONG, "rep movsb, 32-bit addressing", "\x67\xf3\xa4", MOVS, 1, 4, 3), .pfx = ASZ | REP,
	  .rep = true, .dst = M(1), .src = M(1), MEM(DS, X86_RSI, NOREG, 1, 0) },
	{ OK(LONG, "stosb", "\xaa", STOS, 1, 8, 1),
	  .dst = M(1), .src = R(X86_RAX, 1), MEM(ES, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "rep stosd", "\xf3\xab", STOS, 4, 8, 2), .pfx = REP, .rep = true,
	  .dst = M(4), .src = R(X86_RAX, 4), MEM(ES, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "fs rep stosq: ES not overridable", "\x64\xf3\x48\xab", STOS, 8, 8, 4),
	  .pfx = SEG | REP | REX, .rep = true,
	  .dst = M(8), .src = R(X86_RAX, 8), MEM(ES, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "lodsb", "\xac", LODS, 1, 8, 1),
	  .dst = R(X86_RAX, 1), .src = M(1), MEM(DS, X86_RSI, NOREG, 1, 0) },
	{ OK(LONG, "lodsw", "\x66\xad", LODS, 2, 8, 2), .pfx = OSZ,
	  .dst = R(X86_RAX, 2), .src = M(2), MEM(DS, X86_RSI, NOREG, 1, 0) },
	{ OK(LONG, "insb", "\x6c", INS, 1, 8, 1),
	  .dst = M(1), .src = R(X86_RDX, 2), MEM(ES, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "rep insd", "\xf3\x6d", INS, 4, 8, 2), .pfx = REP, .rep = true,
	  .dst = M(4), .src = R(X86_RDX, 2), MEM(ES, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "rex.w insd stays 4 bytes", "\x48\x6d", INS, 4, 8, 2), .pfx = REX,
	  .dst = M(4), .src = R(X86_RDX, 2), MEM(ES, X86_RDI, NOREG, 1, 0) },
	{ OK(LONG, "outsb", "\x6e", OUTS, 1, 8, 1),
	  .dst = R(X86_RDX, 2), .src = M(1), MEM(DS, X86_RSI, NOREG, 1, 0) },
	{ OK(LONG, "rep outsw", "\xf3\x66\x6f", OUTS, 2, 8, 3), .pfx = REP | OSZ, .rep = true,
	  .dst = R(X86_RDX, 2), .src = M(2), MEM(DS, X86_RSI, NOREG, 1, 0) },

	/* --- port I/O --- */
	{ OK(LONG, "in al,0x60", "\xe4\x60", IN, 1, 8, 2),
	  .dst = R(X86_RAX, 1), .src = I(1), .imm = 0x60 },
	{ OK(LONG, "out 0xf0,eax", "\xe7\xf0", OUT, 4, 8, 2),
	  .dst = I(1), .src = R(X86_RAX, 4), .imm = 0xf0 },
	{ OK(LONG, "in ax,dx", "\x66\xed", IN, 2, 8, 2), .pfx = OSZ,
	  .dst = R(X86_RAX, 2), .src = R(X86_RDX, 2) },
	{ OK(LONG, "out dx,al", "\xee", OUT, 1, 8, 1), .dst = R(X86_RDX, 2), .src = R(X86_RAX, 1) },

	/* --- real mode: 16-bit addressing --- */
	{ OK(REAL, "mov [bx+si],al", "\x88\x00", MOV, 1, 2, 2),
	  .dst = M(1), .src = R(X86_RAX, 1), MEM(DS, X86_RBX, X86_RSI, 1, 0) },
	{ OK(REAL, "mov [bx+di-1],cl", "\x88\x49\xff", MOV, 1, 2, 3),
	  .dst = M(1), .src = R(X86_RCX, 1), MEM(DS, X86_RBX, X86_RDI, 1, -1) },
	{ OK(REAL, "mov [bp+si],ax", "\x89\x02", MOV, 2, 2, 2),
	  .dst = M(2), .src = R(X86_RAX, 2), MEM(SS, X86_RBP, X86_RSI, 1, 0) },
	{ OK(REAL, "mov [bp+di+0x10],ax", "\x89\x43\x10", MOV, 2, 2, 3),
	  .dst = M(2), .src = R(X86_RAX, 2), MEM(SS, X86_RBP, X86_RDI, 1, 0x10) },
	{ OK(REAL, "mov ax,[si+0x1234]", "\x8b\x84\x34\x12", MOV, 2, 2, 4),
	  .dst = R(X86_RAX, 2), .src = M(2), MEM(DS, NOREG, X86_RSI, 1, 0x1234) },
	{ OK(REAL, "mov ax,[di]", "\x8b\x05", MOV, 2, 2, 2),
	  .dst = R(X86_RAX, 2), .src = M(2), MEM(DS, NOREG, X86_RDI, 1, 0) },
	{ OK(REAL, "mov ax,[0x1234]", "\x8b\x06\x34\x12", MOV, 2, 2, 4),
	  .dst = R(X86_RAX, 2), .src = M(2), MEM(DS, NOREG, NOREG, 1, 0x1234) },
	{ OK(REAL, "mov ax,[bp+0]", "\x8b\x46\x00", MOV, 2, 2, 3),
	  .dst = R(X86_RAX, 2), .src = M(2), MEM(SS, X86_RBP, NOREG, 1, 0) },
	{ OK(REAL, "mov cx,[bx-2]", "\x8b\x8f\xfe\xff", MOV, 2, 2, 4),
	  .dst = R(X86_RCX, 2), .src = M(2), MEM(DS, X86_RBX, NOREG, 1, -2) },
	{ OK(REAL, "mov eax,[bx]", "\x66\x8b\x07", MOV, 4, 2, 3), .pfx = OSZ,
	  .dst = R(X86_RAX, 4), .src = M(4), MEM(DS, X86_RBX, NOREG, 1, 0) },
	{ OK(REAL, "mov eax,[eax+ecx*2]", "\x67\x66\x8b\x04\x48", MOV, 4, 4, 5), .pfx = OSZ | ASZ,
	  .dst = R(X86_RAX, 4), .src = M(4), MEM(DS, X86_RAX, X86_RCX, 2, 0) },
	{ OK(REAL, "mov [si],dh", "\x88\x34", MOV, 1, 2, 2),
	  .dst = M(1), .src = RH(X86_RDX), MEM(DS, NOREG, X86_RSI, 1, 0) },
	{ OK(REAL, "mov es:[di],ax", "\x26\x89\x05", MOV, 2, 2, 3), .pfx = SEG,
	  .dst = M(2), .src = R(X86_RAX, 2), MEM(ES, NOREG, X86_RDI, 1, 0) },
	{ OK(REAL, "mov ds:[bp],ax", "\x3e\x89\x46\x00", MOV, 2, 2, 4), .pfx = SEG,
	  .dst = M(2), .src = R(X86_RAX, 2), MEM(DS, X86_RBP, NOREG, 1, 0) },
	{ OK(REAL, "mov al,[0x10] (moffs16)", "\xa0\x10\x00", MOV, 1, 2, 3),
	  .dst = R(X86_RAX, 1), .src = M(1), MEM(DS, NOREG, NOREG, 1, 0x10) },
	{ OK(REAL, "mov word [0x1234],0x5678", "\xc7\x06\x34\x12\x78\x56", MOV, 2, 2, 6),
	  .dst = M(2), .src = I(2), MEM(DS, NOREG, NOREG, 1, 0x1234), .imm = 0x5678 },
	{ OK(REAL, "movzx ax,byte [si]", "\x0f\xb6\x04", MOVZX, 2, 2, 3),
	  .dst = R(X86_RAX, 2), .src = M(1), MEM(DS, NOREG, X86_RSI, 1, 0) },
	{ OK(REAL, "rep stosw", "\xf3\xab", STOS, 2, 2, 2), .pfx = REP, .rep = true,
	  .dst = M(2), .src = R(X86_RAX, 2), MEM(ES, X86_RDI, NOREG, 1, 0) },
	{ OK(REAL, "or word [bx],0x8000", "\x81\x0f\x00\x80", OR, 2, 2, 4),
	  .dst = M(2), .src = I(2), MEM(DS, X86_RBX, NOREG, 1, 0), .imm = 0xffffffffffff8000 },
	{ OK(REAL, "82 /0: add byte [bx],1", "\x82\x07\x01", ADD, 1, 2, 3),
	  .dst = M(1), .src = I(1), MEM(DS, X86_RBX, NOREG, 1, 0), .imm = 1 },

	/* --- 32-bit and 16-bit protected mode --- */
	{ OK(P32, "mov [eax],eax", "\x89\x00", MOV, 4, 4, 2),
	  .dst = M(4), .src = R(X86_RAX, 4), MEM(DS, X86_RAX, NOREG, 1, 0) },
	{ OK(P32, "mov ax,[ebx+esi*8+0x100]", "\x66\x8b\x84\xf3\x00\x01\x00\x00", MOV, 2, 4, 8),
	  .pfx = OSZ, .dst = R(X86_RAX, 2), .src = M(2), MEM(DS, X86_RBX, X86_RSI, 8, 0x100) },
	{ OK(P32, "mov [0x12345678],eax (absolute)", "\x89\x05\x78\x56\x34\x12", MOV, 4, 4, 6),
	  .dst = M(4), .src = R(X86_RAX, 4), MEM(DS, NOREG, NOREG, 1, 0x12345678) },
	{ OK(P32, "mov [bx+si],al (67)", "\x67\x88\x00", MOV, 1, 2, 3), .pfx = ASZ,
	  .dst = M(1), .src = R(X86_RAX, 1), MEM(DS, X86_RBX, X86_RSI, 1, 0) },
	{ OK(P32, "mov [moffs32],eax", "\xa3\x78\x56\x34\x12", MOV, 4, 4, 5),
	  .dst = M(4), .src = R(X86_RAX, 4), MEM(DS, NOREG, NOREG, 1, 0x12345678) },
	{ OK(P32, "mov eax,[ebp+0]", "\x8b\x45\x00", MOV, 4, 4, 3),
	  .dst = R(X86_RAX, 4), .src = M(4), MEM(SS, X86_RBP, NOREG, 1, 0) },
	{ OK(P32, "mov [esp],ah", "\x88\x24\x24", MOV, 1, 4, 3),
	  .dst = M(1), .src = RH(X86_RAX), MEM(SS, X86_RSP, NOREG, 1, 0) },
	{ OK(P32, "82 /7: cmp byte [eax],1", "\x82\x38\x01", CMP, 1, 4, 3),
	  .dst = M(1), .src = I(1), MEM(DS, X86_RAX, NOREG, 1, 0), .imm = 1 },
	{ OK(P32, "rep movsd", "\xf3\xa5", MOVS, 4, 4, 2), .pfx = REP, .rep = true,
	  .dst = M(4), .src = M(4), MEM(DS, X86_RSI, NOREG, 1, 0) },
	{ OK(P16, "mov [bx],ax", "\x89\x07", MOV, 2, 2, 2),
	  .dst = M(2), .src = R(X86_RAX, 2), MEM(DS, X86_RBX, NOREG, 1, 0) },
	{ OK(P16, "mov [edi],eax", "\x66\x67\x89\x07", MOV, 4, 4, 4), .pfx = OSZ | ASZ,
	  .dst = M(4), .src = R(X86_RAX, 4), MEM(DS, X86_RDI, NOREG, 1, 0) },

	/* --- truncated input: -ENODATA --- */
	{ .text = "empty", .mode = LONG, .bytes = (const uint8_t *)"", .n = 0, .ret = -ENODATA },
	{ .text = "prefix only", .mode = LONG, B("\x66"), .ret = -ENODATA },
	{ .text = "REX only", .mode = LONG, B("\x48"), .ret = -ENODATA },
	{ .text = "0F only", .mode = LONG, B("\x0f"), .ret = -ENODATA },
	{ .text = "no ModRM", .mode = LONG, B("\x89"), .ret = -ENODATA },
	{ .text = "no SIB", .mode = LONG, B("\x89\x04"), .ret = -ENODATA },
	{ .text = "no disp8", .mode = LONG, B("\x89\x44\x24"), .ret = -ENODATA },
	{ .text = "short disp32", .mode = LONG, B("\x89\x05\x00\x00\x00"), .ret = -ENODATA },
	{ .text = "short imm32", .mode = LONG, B("\xc7\x07\x00\x00\x00"), .ret = -ENODATA },
	{ .text = "short moffs64", .mode = LONG, B("\xa1\x00\x00\x00\x00\x00\x00\x00"),
	  .ret = -ENODATA },
	{ .text = "short disp16", .mode = REAL, B("\x8b\x06\x34"), .ret = -ENODATA },
	{ .text = "short imm8 of 83", .mode = LONG, B("\x83\x07"), .ret = -ENODATA },
	{ .text = "14 of 15 bytes", .mode = LONG,
	  B("\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\xc7\x07\x78\x56\x34"), .ret = -ENODATA },

	/* --- invalid encodings: -EINVAL --- */
	{ .text = "16 bytes", .mode = LONG,
	  B("\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\xc7\x07\x78\x56\x34\x12"), .ret = -EINVAL },
	{ .text = "16 prefixes", .mode = LONG,
	  B("\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66"), .ret = -EINVAL },
	{ .text = "82 in 64-bit mode", .mode = LONG, B("\x82\x00\x01"), .ret = -EINVAL },
	{ .text = "push es in 64-bit mode", .mode = LONG, B("\x06"), .ret = -EINVAL },
	{ .text = "lock mov", .mode = LONG, B("\xf0\x89\x07"), .ret = -EINVAL },
	{ .text = "lock add eax,ebx", .mode = LONG, B("\xf0\x01\xd8"), .ret = -EINVAL },
	{ .text = "lock cmp [rdi],eax", .mode = LONG, B("\xf0\x39\x07"), .ret = -EINVAL },
	{ .text = "lock add eax,[rdi]", .mode = LONG, B("\xf0\x03\x07"), .ret = -EINVAL },
	{ .text = "lock test [rdi],eax", .mode = LONG, B("\xf0\x85\x07"), .ret = -EINVAL },
	{ .text = "lock movsb", .mode = LONG, B("\xf0\xa4"), .ret = -EINVAL },
	{ .text = "c6 /1", .mode = LONG, B("\xc6\x08\x00"), .ret = -EINVAL },
	{ .text = "fe /2", .mode = LONG, B("\xfe\x17"), .ret = -EINVAL },
	{ .text = "ff /7", .mode = LONG, B("\xff\x3f"), .ret = -EINVAL },

	/* --- valid but not emulated: -EOPNOTSUPP --- */
	{ .text = "xabort", .mode = LONG, B("\xc6\xf8\x00"), .ret = -EOPNOTSUPP },
	{ .text = "call [rax]", .mode = LONG, B("\xff\x10"), .ret = -EOPNOTSUPP },
	{ .text = "mul dword [rdi]", .mode = LONG, B("\xf7\x27"), .ret = -EOPNOTSUPP },
	{ .text = "syscall", .mode = LONG, B("\x0f\x05"), .ret = -EOPNOTSUPP },
	{ .text = "cmpsb", .mode = LONG, B("\xa6"), .ret = -EOPNOTSUPP },
	{ .text = "nop", .mode = LONG, B("\x90"), .ret = -EOPNOTSUPP },
	{ .text = "inc ax (40) in real mode", .mode = REAL, B("\x40"), .ret = -EOPNOTSUPP },
	{ .text = "arpl (63) in 32-bit mode", .mode = P32, B("\x63\x07"), .ret = -EOPNOTSUPP },
	{ .text = "push es in 32-bit mode", .mode = P32, B("\x06"), .ret = -EOPNOTSUPP },
};

static bool operand_eq(const struct x86_operand *a, const struct x86_operand *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == X86_OPND_NONE)
		return true;
	if (a->size != b->size)
		return false;
	return a->kind != X86_OPND_REG || (a->reg == b->reg && a->high8 == b->high8);
}

static void check_row_fields(const struct row *t)
{
	struct x86_insn insn;
	int r;

	r = x86_decode(t->bytes, t->n, t->mode, &insn);
	if (!check_eq_int(r, t->ret) || r < 0)
		return;
	check_eq_str(x86_op_name(insn.op), x86_op_name(t->op));
	check_eq_int(insn.mode, t->mode);
	check_eq_int(insn.len, t->len);
	check_eq_int(insn.opsize, t->opsize);
	check_eq_int(insn.addrsize, t->addrsize);
	check_eq_u64(insn.prefixes, t->pfx);
	check_eq_int(insn.rep, t->rep);
	check(operand_eq(&insn.dst, &t->dst));
	check(operand_eq(&insn.src, &t->src));
	check_eq_u64(insn.imm, t->imm);
	if (!check_eq_int(insn.has_mem, t->has_mem) || !insn.has_mem)
		return;
	check_eq_int(insn.mem.seg, t->mem.seg);
	check_eq_int(insn.mem.base, t->mem.base);
	check_eq_int(insn.mem.index, t->mem.index);
	check_eq_int(insn.mem.scale, t->mem.scale);
	check_eq_int(insn.mem.rip_relative, t->mem.rip_relative);
	check_eq_u64(insn.mem.disp, t->mem.disp);
}

static void check_row(const struct row *t)
{
	unsigned before = test_failures;

	check_row_fields(t);
	if (test_failures != before)
		test_note("^ in row \"%s\"", t->text);
}

/* Decoding reads no byte past the instruction: a longer buffer gives the same result. */
static void check_extra_bytes_ignored(void)
{
	uint8_t buf[32];
	struct x86_insn a, b;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *t = &rows[i];

		if (t->ret || t->n + 4 > sizeof(buf))
			continue;
		memcpy(buf, t->bytes, t->n);
		memset(buf + t->n, 0x90, sizeof(buf) - t->n);
		if (!check_ok(x86_decode(buf, sizeof(buf), t->mode, &a)))
			continue;
		check_ok(x86_decode(t->bytes, t->n, t->mode, &b));
		check_eq_int(a.len, t->len);
		check(memcmp(&a.mem, &b.mem, sizeof(a.mem)) == 0);
	}
}

/* Every proper prefix of a valid instruction is -ENODATA, never a different instruction. */
static void check_every_prefix_is_nodata(void)
{
	struct x86_insn insn;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *t = &rows[i];

		if (t->ret)
			continue;
		for (size_t n = 0; n < t->n; n++) {
			int r = x86_decode(t->bytes, n, t->mode, &insn);

			if (r != -ENODATA) {
				test_note("%s: %zu of %zu bytes", t->text, n, t->n);
				check_eq_int(r, -ENODATA);
			}
		}
	}
}

/* x86_decode_length(): any opcode, its length, odd prefixes and the memory write size. */
struct len_row {
	const char *text;
	enum x86_mode mode;
	const uint8_t *bytes;
	size_t n;
	int ret;
	uint8_t len;
	bool odd;
	uint8_t write_size;	/* x86_insn_mem_write_size() */
};

#define L(m, t, bs, l, w) .text = t, .mode = m, B(bs), .len = l, .write_size = w

static const struct len_row len_rows[] = {
	{ L(LONG, "mov [rdi],eax", "\x89\x07", 2, 4) },
	{ L(LONG, "mov qword [rax],1", "\x48\xc7\x00\x01\x00\x00\x00", 7, 8) },
	{ L(LONG, "mov rax,imm64", "\x48\xb8\x01\x02\x03\x04\x05\x06\x07\x08", 10, 0) },
	{ L(LONG, "mov word [rip+0x10],0x1234", "\x66\xc7\x05\x10\x00\x00\x00\x34\x12", 9, 2) },
	{ L(LONG, "mov [0x1000],al (SIB, no base)", "\x88\x04\x25\x00\x10\x00\x00", 7, 1) },
	{ L(LONG, "mov [rsp+8],sil", "\x40\x88\x74\x24\x08", 5, 1) },
	{ L(LONG, "rep stosd", "\xf3\xab", 2, 4) },
	{ L(LONG, "rep stosq", "\xf3\x48\xab", 3, 8) },
	{ L(LONG, "movsb", "\xa4", 1, 1) },
	{ L(LONG, "mov [moffs64],al", "\xa2\x00\x10\x00\x00\x00\x00\x00\x00", 9, 1) },
	{ L(LONG, "mov eax,[moffs64]", "\xa1\x00\x10\x00\x00\x00\x00\x00\x00", 9, 0) },
	{ L(LONG, "movups [rdi],xmm0", "\x0f\x11\x07", 3, 0) },
	{ L(LONG, "pshufb xmm0,xmm1", "\x0f\x38\x00\xc1", 4, 0) },
	{ L(LONG, "palignr xmm0,xmm1,8", "\x0f\x3a\x0f\xc1\x08", 5, 0) },
	{ L(LONG, "seta [rdi]", "\x0f\x97\x07", 3, 1) },
	{ L(LONG, "bts dword [rdi],3", "\x0f\xba\x2f\x03", 4, 4) },
	{ L(LONG, "bt dword [rdi],3", "\x0f\xba\x27\x03", 4, 0) },
	{ L(LONG, "jne rel32", "\x0f\x85\x00\x00\x00\x00", 6, 0) },
	{ L(LONG, "test byte [rdi],1", "\xf6\x07\x01", 3, 0) },
	{ L(LONG, "test dword [rdi],1", "\xf7\x07\x01\x00\x00\x00", 6, 0) },
	{ L(LONG, "not dword [rdi]", "\xf7\x17", 2, 4) },
	{ L(LONG, "add [rdi],ecx", "\x01\x0f", 2, 4) },
	{ L(LONG, "cmp [rdi],ecx", "\x39\x0f", 2, 0) },
	{ L(LONG, "or byte [rdi],1 (80 /1)", "\x80\x0f\x01", 3, 1) },
	{ L(LONG, "call rel32", "\xe8\x00\x00\x00\x00", 5, 0) },
	{ L(LONG, "out 0x80,al", "\xe6\x80", 2, 0) },
	{ L(LONG, "rep outsb", "\xf3\x6e", 2, 0) },
	{ L(LONG, "push es: invalid, decoded as its length", "\x06", 1, 0) },
	{ L(LONG, "lock mov: invalid, decoded as its length", "\xf0\x89\x07", 3, 4) },
	{ L(LONG, "fs: mov [rdi],eax", "\x64\x89\x07", 3, 4) },
	{ L(LONG, "cs: mov [rdi],eax (ignored override)", "\x2e\x89\x07", 3, 4), .odd = true },
	{ L(LONG, "66 66 mov [rdi],ax", "\x66\x66\x89\x07", 4, 2), .odd = true },
	{ L(LONG, "f2 f3 movsb", "\xf2\xf3\xa4", 3, 1), .odd = true },
	{ L(LONG, "REX REX mov", "\x48\x48\x89\x07", 4, 8), .odd = true },
	{ L(LONG, "REX then 66: REX cancelled", "\x48\x66\x89\x07", 4, 2), .odd = true },
	{ L(REAL, "cs: mov [bx],ax", "\x2e\x89\x07", 3, 2) },
	{ L(REAL, "mov ax,[bp+0]", "\x8b\x46\x00", 3, 0) },
	{ L(REAL, "mov [0x1234],ax", "\x89\x06\x34\x12", 4, 2) },
	{ L(REAL, "in al,0x60", "\xe4\x60", 2, 0) },
	{ L(REAL, "in eax,dx", "\x66\xed", 2, 0) },
	{ L(REAL, "les ax,[bx]", "\xc4\x07", 2, 0) },
	{ L(REAL, "enter 16,1", "\xc8\x10\x00\x01", 4, 0) },
	{ L(REAL, "call far 0xf000:0", "\x9a\x00\x00\x00\xf0", 5, 0) },
	{ L(P32, "call far ptr16:32", "\x9a\x00\x00\x00\x00\x08\x00", 7, 0) },
	{ L(P32, "mov [eax+ecx*4+0x10],bl", "\x88\x5c\x88\x10", 4, 1) },
	{ L(P32, "inc eax (40)", "\x40", 1, 0) },
	{ .text = "VEX in 64-bit mode", .mode = LONG, B("\xc5\xf8\x77"), .ret = -EOPNOTSUPP },
	{ .text = "far jmp in 64-bit mode", .mode = LONG, B("\xea\x00\x00\x00\x00\x08\x00"),
	  .ret = -EINVAL },
	{ .text = "16 prefixes", .mode = LONG,
	  B("\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66"), .ret = -EINVAL },
	{ .text = "short imm64", .mode = LONG, B("\x48\xb8\x01\x02"), .ret = -ENODATA },
	{ .text = "short 0F 3A imm8", .mode = LONG, B("\x0f\x3a\x0f\xc1"), .ret = -ENODATA },
	{ .text = "empty", .mode = LONG, .bytes = (const uint8_t *)"", .n = 0, .ret = -ENODATA },
};

static void check_length_rows(void)
{
	for (size_t i = 0; i < sizeof(len_rows) / sizeof(len_rows[0]); i++) {
		const struct len_row *t = &len_rows[i];
		unsigned before = test_failures;
		struct x86_insn insn;
		int r = x86_decode_length(t->bytes, t->n, t->mode, &insn);

		if (check_eq_int(r, t->ret) && r == 0) {
			check_eq_int(insn.op, X86_OP_NONE);
			check_eq_int(insn.len, t->len);
			check_eq_int(insn.odd_prefix, t->odd);
			check_eq_int(x86_insn_mem_write_size(&insn), t->write_size);
		}
		/* Every proper prefix of a decodable instruction is -ENODATA. */
		for (size_t n = 0; r == 0 && n < t->n; n++)
			check_eq_int(x86_decode_length(t->bytes, n, t->mode, &insn), -ENODATA);
		if (test_failures != before)
			test_note("^ in length row \"%s\"", t->text);
	}
}

/* Both entries share the front end: on what the emulator decodes they agree. */
static void check_length_agrees(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *t = &rows[i];
		unsigned before = test_failures;
		struct x86_insn a, b;

		if (t->ret)
			continue;
		if (!check_ok(x86_decode(t->bytes, t->n, t->mode, &a)) ||
		    !check_ok(x86_decode_length(t->bytes, t->n, t->mode, &b)))
			continue;
		check_eq_int(b.len, a.len);
		check_eq_u64(b.prefixes, a.prefixes);
		check_eq_int(b.rex, a.rex);
		check_eq_int(b.addrsize, a.addrsize);
		check_eq_int(b.seg_override, a.seg_override);
		check_eq_int(b.has_modrm, a.has_modrm);
		check_eq_int(b.modrm, a.modrm);
		check_eq_int(b.odd_prefix, a.odd_prefix);
		if (b.has_mem)
			check(memcmp(&a.mem, &b.mem, sizeof(a.mem)) == 0);
		if (test_failures != before)
			test_note("^ length vs full decode of \"%s\"", t->text);
	}
}

static void check_cpu_mode(void)
{
	struct x86_cpu cpu = { 0 };

	check_eq_int(x86_cpu_mode(&cpu), X86_MODE_REAL);
	cpu.cr0 = X86_CR0_PE;
	check_eq_int(x86_cpu_mode(&cpu), X86_MODE_PROT16);
	cpu.seg[X86_SEG_CS].attributes = X86_SEG_ATTR_DB;
	check_eq_int(x86_cpu_mode(&cpu), X86_MODE_PROT32);
	cpu.rflags = X86_RFLAGS_VM;
	check_eq_int(x86_cpu_mode(&cpu), X86_MODE_REAL);
	cpu.rflags = 0;
	cpu.seg[X86_SEG_CS].attributes = X86_SEG_ATTR_L;
	check_eq_int(x86_cpu_mode(&cpu), X86_MODE_PROT16);	/* L without EFER.LMA */
	cpu.efer = X86_EFER_LMA;
	cpu.cr0 |= X86_CR0_PG;
	check_eq_int(x86_cpu_mode(&cpu), X86_MODE_LONG);
	cpu.seg[X86_SEG_CS].attributes = X86_SEG_ATTR_DB;	/* compatibility mode */
	check_eq_int(x86_cpu_mode(&cpu), X86_MODE_PROT32);
}

static void check_names(void)
{
	check_eq_str(x86_op_name(X86_OP_MOV), "mov");
	check_eq_str(x86_op_name(X86_OP_OUTS), "outs");
	check_eq_str(x86_op_name(X86_OP_COUNT), "?");
	for (int op = 0; op < X86_OP_COUNT; op++)
		check(strcmp(x86_op_name(op), "?") != 0);
}

int main(void)
{
	struct x86_insn insn;
	size_t n = sizeof(rows) / sizeof(rows[0]);

	test_note("%zu decode rows", n);
	for (size_t i = 0; i < n; i++)
		check_row(&rows[i]);
	check_extra_bytes_ignored();
	check_every_prefix_is_nodata();
	check_length_rows();
	check_length_agrees();
	check_cpu_mode();
	check_names();
	check_eq_int(x86_decode(NULL, 1, X86_MODE_LONG, &insn), -EINVAL);
	check_eq_int(x86_decode((const uint8_t *)"\x89\x07", 2, (enum x86_mode)7, &insn), -EINVAL);
	check_eq_int(x86_decode_length(NULL, 1, X86_MODE_LONG, &insn), -EINVAL);
	return test_done();
}
