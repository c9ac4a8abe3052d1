/* SPDX-License-Identifier: MIT */
/* MMIO through every decoded instruction form in 64-bit long mode: REX, SIB, RIP-relative. */
#define HV_MODE64
#include "boot-long.inc"
#include "hv-guest.inc"

#define M	(GUEST_MMIO_BASE + 0x200)
	/* Relative to a label, so that sym(%rip) gets a PC-relative displacement. */
	.set	mmio_rel, _start + (M + 0x60 - GUEST_LOAD_GPA)
#define MMIO_REL	(M + 0x60)

	.code64
	.globl main64
main64:
	cld
	/* C6 with an absolute disp32 (SIB, no base), REX.W C7 (8 bytes). */
	EXPECT_W M + 0x00, 1, 0x11, 1f
1:	movb	$0x11, M + 0x00
	EXPECT_W M + 0x08, 8, 0xfffffffffffffffe, 1f
1:	movq	$-2, M + 0x08
	/* A3/A0 with a 64-bit moffs. */
	mov	$0x0123456789abcdef, %rax
	EXPECT_W M + 0x10, 8, 0x0123456789abcdef, 1f
1:	movabs	%rax, M + 0x10
	EXPECT_R M + 0x18, 1, 1f
1:	movabs	M + 0x18, %al
	cmp	$MV1(M + 0x18), %al
	CHK	1
	/* REX.WRB 89, REX.RX 8B with SIB scale 8. */
	mov	$M + 0x20, %r10
	mov	$0x1122334455667788, %r9
	EXPECT_W M + 0x20, 8, 0x1122334455667788, 1f
1:	mov	%r9, (%r10)
	mov	$1, %r11
	EXPECT_R M + 0x28, 4, 1f
1:	mov	(%r10,%r11,8), %r12d
	cmp	$MV4(M + 0x28), %r12d
	CHK	2
	/* A lone REX for a byte register; 67 (32-bit address). */
	mov	$M + 0x30, %rdi
	mov	$0xa7, %esi
	EXPECT_W M + 0x30, 1, 0xa7, 1f
1:	mov	%sil, (%rdi)
	mov	$0xb8, %al
	EXPECT_W M + 0x31, 1, 0xb8, 1f
1:	mov	%al, 1(%edi)
	/* MOVZX/MOVSX to 64-bit registers. */
	EXPECT_R M + 0x32, 2, 1f
1:	movzwq	2(%rdi), %rax
	REPORT64 %rax
	EXPECT_R M + 0x34, 1, 1f
1:	movsbq	4(%rdi), %rbx
	REPORT64 %rbx
	/* RIP-relative: 32-bit read, 16-bit read (66), 64-bit write. */
	EXPECT_R MMIO_REL, 4, 1f
1:	mov	mmio_rel(%rip), %eax
	cmp	$MV4(MMIO_REL), %eax
	CHK	3
	EXPECT_R MMIO_REL + 4, 2, 1f
1:	mov	mmio_rel + 4(%rip), %cx
	cmp	$MV2(MMIO_REL + 4), %cx
	CHK	4
	mov	$-1, %rdx
	EXPECT_W MMIO_REL + 8, 8, 0xffffffffffffffff, 1f
1:	mov	%rdx, mmio_rel + 8(%rip)
	/* Read-modify-write with 64 and 32 bits, CMP/TEST with REX registers. */
	mov	$0x100000000, %rax
	EXPECT_R M + 0x38, 8, 1f
	EXPECT_W M + 0x38, 8, (MV4(M + 0x38) | MV4(M + 0x3c) << 32) + 0x100000000, 1f
1:	add	%rax, 8(%rdi)
	REPORT_FLAGS
	EXPECT_R M + 0x40, 4, 1f
	EXPECT_W M + 0x40, 4, MV4(M + 0x40) | 0x80000000, 1f
1:	orl	$0x80000000, 0x10(%rdi)
	REPORT_FLAGS
	mov	$0x7f, %r8b
	EXPECT_R M + 0x30, 1, 1f
1:	cmp	%r8b, (%rdi)
	REPORT_FLAGS
	mov	$0x10000, %edx
	EXPECT_R M + 0x44, 4, 1f
1:	test	%edx, 0x14(%rdi)
	REPORT_FLAGS
	mov	$0xf0f0f0f0, %ecx
	EXPECT_R M + 0x48, 4, 1f
	EXPECT_W M + 0x48, 4, MV4(M + 0x48) ^ 0xf0f0f0f0, 1f
1:	xor	%ecx, 0x18(%rdi)
	/* C7 with base + index*4 + disp8. */
	mov	$3, %rcx
	EXPECT_W M + 0x4c, 4, 0x600df00d, 1f
1:	movl	$0x600df00d, 0x10(%rdi,%rcx,4)
	/* GS override (base 0). */
	mov	$0x4242, %ax
	EXPECT_W M + 0x50, 2, 0x4242, 1f
1:	mov	%ax, %gs:0x20(%rdi)
	/* REP STOSQ, REP MOVSL from MMIO. */
	mov	$M + 0x80, %rdi
	mov	$2, %rcx
	mov	$0x0102030405060708, %rax
	EXPECT_W M + 0x80, 8, 0x0102030405060708, 1f
	EXPECT_W M + 0x88, 8, 0x0102030405060708, 1f
1:	rep stosq
	REPORT64 %rdi
	mov	$M + 0x90, %rsi
	mov	$GUEST_SCRATCH, %rdi
	mov	$2, %rcx
	EXPECT_R M + 0x90, 4, 1f
	EXPECT_R M + 0x94, 4, 1f
1:	rep movsl
	REPORT64 %rsi
	mov	GUEST_SCRATCH, %rax
	mov	$(MV4(M + 0x90) | MV4(M + 0x94) << 32), %rbx
	cmp	%rbx, %rax
	CHK	5
	/* REX.B 88 with disp32, MOVSX from a word into r15. */
	mov	$M - 0x1000, %r13
	mov	$0x3d, %r14b
	EXPECT_W M + 0xa0, 1, 0x3d, 1f
1:	mov	%r14b, 0x10a0(%r13)
	EXPECT_R M + 0xa2, 2, 1f
1:	movswq	0x10a2(%r13), %r15
	REPORT64 %r15
	xor	%eax, %eax
	ret
	HV_FAIL_HANDLER
