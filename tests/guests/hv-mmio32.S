/* SPDX-License-Identifier: MIT */
/* MMIO through every decoded instruction form in 32-bit protected mode (flat segments). */
#define HV_MODE32
#include "boot-prot.inc"
#include "hv-guest.inc"

#define M	(GUEST_MMIO_BASE + 0x100)

	.code32
	.globl main32
main32:
	cld
	/* C6/C7 with disp32, 66 for 16 bits. */
	EXPECT_W M + 0x00, 1, 0x5a, 1f
1:	movb	$0x5a, M + 0x00
	EXPECT_W M + 0x02, 2, 0xbeef, 1f
1:	movw	$0xbeef, M + 0x02
	EXPECT_W M + 0x04, 4, 0xdeadbeef, 1f
1:	movl	$0xdeadbeef, M + 0x04
	/* A3/A1/A0 moffs32. */
	mov	$0x01020304, %eax
	EXPECT_W M + 0x08, 4, 0x01020304, 1f
1:	mov	%eax, M + 0x08
	EXPECT_R M + 0x10, 1, 1f
1:	mov	M + 0x10, %al
	cmp	$MV1(M + 0x10), %al
	CHK	1
	EXPECT_R M + 0x12, 2, 1f
1:	mov	M + 0x12, %ax
	cmp	$MV2(M + 0x12), %ax
	CHK	2
	EXPECT_R M + 0x14, 4, 1f
1:	mov	M + 0x14, %eax
	cmp	$MV4(M + 0x14), %eax
	CHK	3
	/* 89 register base, 8B base+index*2+disp8 (SIB), 8A base+index*4+disp32. */
	mov	$M + 0x20, %ebx
	mov	$0xcafef00d, %ecx
	EXPECT_W M + 0x20, 4, 0xcafef00d, 1f
1:	mov	%ecx, (%ebx)
	mov	$2, %esi
	EXPECT_R M + 0x28, 4, 1f
1:	mov	4(%ebx,%esi,2), %edx
	cmp	$MV4(M + 0x28), %edx
	CHK	4
	mov	$M - 0x100, %ebx
	mov	$0x3, %esi
	EXPECT_R M + 0x0c, 1, 1f
1:	mov	0x100(%ebx,%esi,4), %cl
	cmp	$MV1(M + 0x0c), %cl
	CHK	5
	mov	$M + 0x20, %ebx
	/* MOVZX/MOVSX in 32-bit and 16-bit operand sizes. */
	EXPECT_R M + 0x30, 1, 1f
1:	movzbl	M + 0x30, %eax
	cmp	$MV1(M + 0x30), %eax
	CHK	6
	EXPECT_R M + 0x31, 1, 1f
1:	movsbw	M + 0x31, %ax
	REPORT	%eax
	EXPECT_R M + 0x32, 2, 1f
1:	movswl	M + 0x32, %edx
	REPORT	%edx
	EXPECT_R M + 0x34, 2, 1f
1:	movzwl	M + 0x34, %edi
	cmp	$MV2(M + 0x34), %edi
	CHK	7
	/* Read-modify-write. */
	mov	$0x00ff00ff, %eax
	EXPECT_R M + 0x40, 4, 1f
	EXPECT_W M + 0x40, 4, MV4(M + 0x40) & 0x00ff00ff, 1f
1:	and	%eax, M + 0x40
	REPORT_FLAGS
	EXPECT_R M + 0x44, 4, 1f
	EXPECT_W M + 0x44, 4, MV4(M + 0x44) ^ 0x55, 1f
1:	xorl	$0x55, M + 0x44
	REPORT_FLAGS
	mov	$0x11, %cl
	EXPECT_R M + 0x20, 1, 1f
	EXPECT_W M + 0x20, 1, (MV1(M + 0x20) - 0x11) & 0xff, 1f
1:	sub	%cl, (%ebx)
	REPORT_FLAGS
	mov	$0x1000, %eax
	EXPECT_R M + 0x48, 2, 1f
	EXPECT_W M + 0x48, 2, (MV2(M + 0x48) + 0x1000) & 0xffff, 1f
1:	add	%ax, M + 0x48
	REPORT_FLAGS
	/* CMP and TEST: reads only, flags reported. */
	mov	$0x12345678, %eax
	EXPECT_R M + 0x4c, 4, 1f
1:	cmp	M + 0x4c, %eax
	REPORT_FLAGS
	EXPECT_R M + 0x50, 4, 1f
1:	testl	$0x80, M + 0x50
	REPORT_FLAGS
	/* REP STOSL / STOSW. */
	mov	$M + 0x60, %edi
	mov	$2, %ecx
	mov	$0x89abcdef, %eax
	EXPECT_W M + 0x60, 4, 0x89abcdef, 1f
	EXPECT_W M + 0x64, 4, 0x89abcdef, 1f
1:	rep stosl
	REPORT	%edi
	REPORT	%ecx
	mov	$2, %ecx
	EXPECT_W M + 0x68, 2, 0xcdef, 1f
	EXPECT_W M + 0x6a, 2, 0xcdef, 1f
1:	rep stosw
	/* MOVS: MMIO -> RAM and RAM -> MMIO, backwards (DF = 1) for one of them. */
	mov	$M + 0x70, %esi
	mov	$GUEST_SCRATCH, %edi
	EXPECT_R M + 0x70, 4, 1f
1:	movsl
	cmpl	$MV4(M + 0x70), GUEST_SCRATCH
	CHK	8
	movl	$0x44332211, GUEST_SCRATCH + 4
	mov	$GUEST_SCRATCH + 7, %esi
	mov	$M + 0x7b, %edi
	mov	$2, %ecx
	std
	EXPECT_W M + 0x7b, 1, 0x44, 1f
	EXPECT_W M + 0x7a, 1, 0x33, 1f
1:	rep movsb
	cld
	REPORT	%esi
	REPORT	%edi
	/* FS override (flat, base 0), 66 operand size with register form. */
	mov	$M + 0x80, %ebx
	mov	$0x5e, %al
	EXPECT_W M + 0x80, 1, 0x5e, 1f
1:	mov	%al, %fs:(%ebx)
	mov	$0x6f70, %dx
	EXPECT_W M + 0x82, 2, 0x6f70, 1f
1:	mov	%dx, 2(%ebx)
	/* 8B with a 16-bit address (67): 0xd0180 is not reachable that way, so read RAM. */
	xor	%eax, %eax
	ret
	HV_FAIL_HANDLER
