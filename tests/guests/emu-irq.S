/* SPDX-License-Identifier: MIT */
/*
 * Engine test: interrupt delivery in real mode (IVT) and in long mode (IDT), and INT n.  The
 * handler of vector 0x30 (real) / 0x40 (long) writes (vector << 8 | count) to VALUE and IRETs.
 * The guest reports 0x1000 (real mode, ready), waits in sti; hlt for one interrupt, does
 * `int $0x30`, switches to long mode, reports 0x2000, waits for one interrupt, does
 * `int $0x40`, and reports DONE 0.
 */
#include "guest.h"
#include "long-mode.inc"

#define COUNT	0x6000			/* below 64 KiB: real mode reaches them */
#define IDT64	0x5000

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %ss
	mov	$GUEST_STACK16, %sp
	movl	$0, COUNT
	movw	$handler16, 0x30 * 4		/* IVT[0x30] = 0:handler16 */
	movw	$0, 0x30 * 4 + 2
	mov	$GUEST_PORT_VALUE, %dx
	mov	$0x1000, %eax
	out	%eax, (%dx)
	sti
	hlt					/* the host injects vector 0x30 */
	cli
	int	$0x30
	jmp	to_long

handler16:
	push	%ax
	push	%dx
	incl	COUNT
	mov	COUNT, %ax
	or	$0x3000, %ax
	mov	$GUEST_PORT_VALUE, %dx
	out	%ax, (%dx)
	pop	%dx
	pop	%ax
	iret

to_long:
	/* IDT64[0x40]: interrupt gate to handler64, selector 0x08. */
	mov	$handler64, %eax
	mov	%ax, IDT64 + 0x40 * 16
	movw	$0x08, IDT64 + 0x40 * 16 + 2
	movw	$0x8e00, IDT64 + 0x40 * 16 + 4
	shr	$16, %eax
	mov	%ax, IDT64 + 0x40 * 16 + 6
	movl	$0, IDT64 + 0x40 * 16 + 8
	movl	$0, IDT64 + 0x40 * 16 + 12
	lgdtl	gdt_desc
	lidtl	idt_desc
	LONG_MODE_ENABLE 0x80000001		/* PG | PE: straight from real mode */
	ljmpl	$0x08, $long

	.code64
long:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %ss
	mov	$GUEST_STACK, %rsp
	movl	$0, COUNT
	mov	$GUEST_PORT_VALUE, %dx
	mov	$0x2000, %eax
	out	%eax, (%dx)
	sti
	hlt					/* the host injects vector 0x40 */
	cli
	int	$0x40
	mov	$GUEST_PORT_DONE, %dx
	xor	%eax, %eax
	out	%eax, (%dx)
	hlt
	jmp	.

handler64:
	push	%rax
	push	%rdx
	incl	COUNT
	mov	COUNT, %eax
	or	$0x4000, %eax
	mov	$GUEST_PORT_VALUE, %dx
	out	%eax, (%dx)
	pop	%rdx
	pop	%rax
	iretq

	.balign 8
gdt:
	.quad	0
	.quad	0x00af9a000000ffff		/* 0x08: 64-bit code */
	.quad	0x00cf92000000ffff		/* 0x10: flat data */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt
idt_desc:
	.word	0x41 * 16 - 1
	.long	IDT64
