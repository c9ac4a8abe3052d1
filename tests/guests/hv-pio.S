/* SPDX-License-Identifier: MIT */
/* Port I/O of every size and direction, then string I/O with and without REP (real mode). */
#define HV_MODE16
#include "hv-guest.inc"

#define BUF	0x3000

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$GUEST_STACK16, %sp
	cld

	/* IN, immediate port, every size. */
	in	$0x70, %al
	cmp	$PV1(0x70), %al
	CHK	1
	in	$0x72, %ax
	cmp	$PV2(0x72), %ax
	CHK	2
	in	$0x74, %eax
	cmp	$PV4(0x74), %eax
	CHK	3
	/* IN, port in DX: the upper part of EAX is kept for 8/16-bit reads. */
	mov	$0x11223344, %eax
	mov	$0x1f0, %dx
	in	(%dx), %al
	cmp	$(0x11223300 | PV1(0x1f0)), %eax
	CHK	4
	in	(%dx), %ax
	cmp	$(0x11220000 | PV2(0x1f0)), %eax
	CHK	5
	in	(%dx), %eax
	cmp	$PV4(0x1f0), %eax
	CHK	6

	/* OUT, every size, both encodings. */
	mov	$0xa1, %al
	out	%al, $0x80
	mov	$0xb2c3, %ax
	out	%ax, $0x82
	mov	$0xd4e5f607, %eax
	out	%eax, $0x84
	mov	$0x2f8, %dx
	mov	$0x5a, %al
	out	%al, (%dx)
	mov	$0x6b7c, %ax
	out	%ax, (%dx)
	mov	$0x8d9eafb0, %eax
	out	%eax, (%dx)

	/* String output: "hv!" on the console with rep outsb, then words and one dword. */
	mov	$msg, %si
	mov	$3, %cx
	mov	$GUEST_PORT_CONSOLE, %dx
	rep outsb
	REPORT	%esi
	REPORT	%ecx
	mov	$words, %si
	mov	$2, %cx
	mov	$0x2f8, %dx
	rep outsw
	REPORT	%esi
	REPORT	%ecx
	outsl
	REPORT	%esi

	/* String input: three bytes and two words into BUF. */
	mov	$BUF, %di
	mov	$3, %cx
	mov	$0x92, %dx
	rep insb
	REPORT	%edi
	REPORT	%ecx
	mov	$BUF + 3, %di
	mov	$2, %cx
	mov	$0x94, %dx
	rep insw
	REPORT	%edi
	REPORT	%ecx
	insb
	REPORT	%edi
	cmpb	$PV1(0x92), BUF
	CHK	7
	cmpb	$PV1(0x92), BUF + 2
	CHK	8
	cmpw	$PV2(0x94), BUF + 3
	CHK	9
	cmpw	$PV2(0x94), BUF + 5
	CHK	10
	cmpb	$PV1(0x94), BUF + 7
	CHK	11
	movl	BUF, %eax
	REPORT	%eax

	xor	%eax, %eax
	mov	$GUEST_PORT_DONE, %dx
	out	%eax, (%dx)
	hlt
	HV_FAIL_HANDLER

msg:	.ascii	"hv!"
words:	.word	0x1234, 0x5678
	.long	0x9abcdef0
