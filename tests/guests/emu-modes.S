/* SPDX-License-Identifier: MIT */
/*
 * Engine test: real -> protected -> long mode by the guest itself.  Reports 16, 32 and 64 on
 * VALUE from each mode (the operand size the mode gives `out %eax`-free code), then DONE 0.
 */
#include "guest.h"
#include "long-mode.inc"

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %ss
	mov	$GUEST_STACK16, %sp
	mov	$GUEST_PORT_VALUE, %dx
	mov	$16, %ax
	out	%ax, (%dx)			/* 16-bit OUT in real mode */
	lgdtl	gdt_desc
	mov	%cr0, %eax
	or	$1, %eax
	mov	%eax, %cr0
	ljmpl	$0x08, $prot

	.code32
prot:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$GUEST_STACK, %esp
	mov	$GUEST_PORT_VALUE, %dx
	mov	$32, %eax
	out	%eax, (%dx)
	LONG_MODE_ENABLE 0x80000000		/* PG: compatibility mode until the jump */
	ljmpl	$0x18, $long

	.code64
long:
	mov	$GUEST_PORT_VALUE, %dx
	mov	$64, %eax
	out	%eax, (%dx)
	mov	$0xc0000080, %ecx
	rdmsr
	mov	$GUEST_PORT_VALUE, %dx
	out	%eax, (%dx)			/* EFER: LMA | LME */
	mov	$GUEST_PORT_DONE, %dx
	xor	%eax, %eax
	out	%eax, (%dx)
	hlt
	jmp	.

	.balign 8
gdt:
	.quad	0
	.quad	0x00cf9a000000ffff		/* 0x08: 32-bit code */
	.quad	0x00cf92000000ffff		/* 0x10: flat data */
	.quad	0x00af9a000000ffff		/* 0x18: 64-bit code */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt
