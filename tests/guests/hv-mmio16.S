/* SPDX-License-Identifier: MIT */
/* MMIO through every decoded instruction form in real mode (ES and DS point at 0xd000). */
#define HV_MODE16
#include "hv-guest.inc"

#define M	GUEST_MMIO_BASE

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %ss
	mov	$GUEST_STACK16, %sp
	mov	$(M >> 4), %ax
	mov	%ax, %es
	cld

	/* C6, C7 (16 and 32 bit) with a segment override and disp16. */
	EXPECT_W M + 0x10, 1, 0x12, 1f
1:	movb	$0x12, %es:0x10
	EXPECT_W M + 0x12, 2, 0x1234, 1f
1:	movw	$0x1234, %es:0x12
	EXPECT_W M + 0x14, 4, 0x12345678, 1f
1:	movl	$0x12345678, %es:0x14
	/* A2/A3 (moffs). */
	mov	$0x9a, %al
	EXPECT_W M + 0x18, 1, 0x9a, 1f
1:	mov	%al, %es:0x18
	mov	$0xabcd, %ax
	EXPECT_W M + 0x1a, 2, 0xabcd, 1f
1:	mov	%ax, %es:0x1a
	/* A0/A1 (moffs reads). */
	EXPECT_R M + 0x20, 1, 1f
1:	mov	%es:0x20, %al
	cmp	$MV1(M + 0x20), %al
	CHK	1
	EXPECT_R M + 0x22, 2, 1f
1:	mov	%es:0x22, %ax
	cmp	$MV2(M + 0x22), %ax
	CHK	2
	EXPECT_R M + 0x24, 4, 1f
1:	mov	%es:0x24, %eax
	cmp	$MV4(M + 0x24), %eax
	CHK	3
	/* 88/89 with register bases, 8A/8B with base+index and disp8. */
	mov	$0x28, %di
	mov	$0x77, %bl
	EXPECT_W M + 0x28, 1, 0x77, 1f
1:	mov	%bl, %es:(%di)
	mov	$0x55aa, %cx
	EXPECT_W M + 0x28, 2, 0x55aa, 1f
1:	mov	%cx, %es:(%di)
	mov	$0x20, %bx
	mov	$0x10, %si
	EXPECT_R M + 0x30, 2, 1f
1:	mov	%es:(%bx,%si), %cx
	cmp	$MV2(M + 0x30), %cx
	CHK	4
	REPORT	%ecx
	mov	$0x30, %bp
	mov	$0x2, %di
	EXPECT_R M + 0x36, 1, 1f
1:	mov	%es:4(%bp,%di), %dl
	cmp	$MV1(M + 0x36), %dl
	CHK	5
	/* MOVZX/MOVSX. */
	EXPECT_R M + 0x38, 1, 1f
1:	movzbw	%es:0x38, %ax
	cmp	$MV1(M + 0x38), %ax
	CHK	6
	EXPECT_R M + 0x39, 1, 1f
1:	movsbl	%es:0x39, %ecx
	REPORT	%ecx
	EXPECT_R M + 0x3a, 2, 1f
1:	movzwl	%es:0x3a, %edx
	cmp	$MV2(M + 0x3a), %edx
	CHK	7
	EXPECT_R M + 0x3c, 2, 1f
1:	movswl	%es:0x3c, %esi
	REPORT	%esi
	/* Read-modify-write: the read, then the write of the result. */
	EXPECT_R M + 0x40, 1, 1f
	EXPECT_W M + 0x40, 1, (MV1(M + 0x40) + 5) & 0xff, 1f
1:	addb	$5, %es:0x40
	REPORT_FLAGS
	mov	$0x0f00, %ax
	EXPECT_R M + 0x42, 2, 1f
	EXPECT_W M + 0x42, 2, MV2(M + 0x42) | 0x0f00, 1f
1:	or	%ax, %es:0x42
	REPORT_FLAGS
	/* CMP and TEST only read. */
	EXPECT_R M + 0x44, 1, 1f
1:	cmpb	$0x10, %es:0x44
	REPORT_FLAGS
	mov	$0x8001, %ax
	EXPECT_R M + 0x46, 2, 1f
1:	test	%es:0x46, %ax
	REPORT_FLAGS
	/* REP STOSB: three writes from one instruction. */
	mov	$0x50, %di
	mov	$3, %cx
	mov	$0xee, %al
	EXPECT_W M + 0x50, 1, 0xee, 1f
	EXPECT_W M + 0x51, 1, 0xee, 1f
	EXPECT_W M + 0x52, 1, 0xee, 1f
1:	rep stosb
	REPORT	%edi
	REPORT	%ecx
	/* REP MOVSW from MMIO (DS) to RAM (ES = 0). */
	push	%es
	pop	%ds
	xor	%ax, %ax
	mov	%ax, %es
	mov	$0x60, %si
	mov	$0x3000, %di
	mov	$2, %cx
	EXPECT_R M + 0x60, 2, 1f
	EXPECT_R M + 0x62, 2, 1f
1:	rep movsw
	REPORT	%esi
	REPORT	%edi
	mov	%es:0x3000, %eax
	cmp	$MV4(M + 0x60), %eax
	CHK	8
	/* MOVSB from RAM to MMIO, DS = 0, ES = MMIO. */
	mov	%ds, %ax
	mov	%ax, %es
	xor	%ax, %ax
	mov	%ax, %ds
	movb	$0x3c, 0x3000
	mov	$0x3000, %si
	mov	$0x70, %di
	EXPECT_W M + 0x70, 1, 0x3c, 1f
1:	movsb
	/* 67 prefix: 32-bit addressing in real mode. */
	mov	$0x74, %esi
	mov	$0x99, %al
	EXPECT_W M + 0x74, 1, 0x99, 1f
1:	addr32 mov %al, %es:(%esi)
	/* F2/F3 on a non-string instruction are ignored. */
	EXPECT_R M + 0x78, 1, 1f
1:	.byte	0xf2
	mov	%es:0x78, %bl
	cmp	$MV1(M + 0x78), %bl
	CHK	9
	/* XOR, SUB, AND (register and memory forms). */
	mov	$0xff, %cl
	EXPECT_R M + 0x7a, 1, 1f
	EXPECT_W M + 0x7a, 1, MV1(M + 0x7a) ^ 0xff, 1f
1:	xor	%cl, %es:0x7a
	EXPECT_R M + 0x7c, 2, 1f
	EXPECT_W M + 0x7c, 2, (MV2(M + 0x7c) - 3) & 0xffff, 1f
1:	subw	$3, %es:0x7c
	REPORT_FLAGS
	mov	$0x1234, %dx
	EXPECT_R M + 0x7e, 2, 1f
1:	and	%es:0x7e, %dx
	cmp	$(0x1234 & MV2(M + 0x7e)), %dx
	CHK	10

	xor	%eax, %eax
	mov	$GUEST_PORT_DONE, %dx
	out	%eax, (%dx)
	hlt
	HV_FAIL_HANDLER
