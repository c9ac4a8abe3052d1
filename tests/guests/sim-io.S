/* SPDX-License-Identifier: MIT */
/*
 * mshv-sim intercept forms, real mode: port I/O (imm8, DX, 16/32-bit, IN, OUTS, REP OUTS) then
 * MMIO at GUEST_MMIO_BASE (byte store, moffs load, 32-bit immediate store, read-modify-write,
 * REP STOSB), then status 0 on DONE and hlt.  The host checks each intercept's RIP and length.
 */
#include "guest.h"

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	$0x41, %al
	out	%al, $0x80			/* E6 80 */
	mov	$GUEST_PORT_VALUE, %dx
	out	%ax, (%dx)			/* EF: 16-bit */
	mov	$0x12345678, %eax
	out	%eax, (%dx)			/* 66 EF: 32-bit */
	in	(%dx), %al			/* EC */
	mov	$msg, %si
	mov	$GUEST_PORT_CONSOLE, %dx
	cld
	outsb					/* 6E */
	mov	$3, %cx
	rep outsb				/* F3 6E */
	mov	$(GUEST_MMIO_BASE >> 4), %ax
	mov	%ax, %ds
	mov	%ax, %es
	movb	$0x5a, 0x10			/* C6 06 10 00 5A */
	mov	0x20, %ax			/* A1 20 00 */
	movl	$0x11223344, 0x30		/* 66 C7 06 30 00 44 33 22 11 */
	addb	$1, 0x40			/* 80 06 40 00 01 */
	mov	$0x50, %di
	mov	$2, %cx
	mov	$0x77, %al
	rep stosb				/* F3 AA */
	xor	%ax, %ax
	mov	%ax, %ds
	xor	%eax, %eax
	mov	$GUEST_PORT_DONE, %dx
	out	%eax, (%dx)
	hlt

msg:	.ascii	"ABCD"
