/* SPDX-License-Identifier: MIT */
/*
 * mshvd interrupt test, real mode with an 8259 PIC (the in-kernel PIC of a KVM irqchip):
 * vectors 0x20-0x27 on the master, pin 5 edge triggered, pin 6 level triggered (ELCR), the
 * others masked.  Writes 0x1000 to VALUE when ready, then waits with sti; hlt.  The handler of
 * pin N counts its interrupts and writes (N << 8 | count) to VALUE, then EOIs.
 */
#include "guest.h"

#define COUNT5	0x500
#define COUNT6	0x502

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %ss
	mov	$GUEST_STACK16, %sp
	movw	$0, COUNT5
	movw	$0, COUNT6
	/* IVT entries 0x25 and 0x26 (segment 0). */
	movw	$irq5, 0x25 * 4
	movw	$0, 0x25 * 4 + 2
	movw	$irq6, 0x26 * 4
	movw	$0, 0x26 * 4 + 2

	/* ICW1-4: edge (ELCR decides per pin), cascade, vector bases 0x20 / 0x28. */
	mov	$0x11, %al
	out	%al, $0x20
	out	%al, $0xa0
	mov	$0x20, %al
	out	%al, $0x21
	mov	$0x28, %al
	out	%al, $0xa1
	mov	$0x04, %al
	out	%al, $0x21
	mov	$0x02, %al
	out	%al, $0xa1
	mov	$0x01, %al
	out	%al, $0x21
	out	%al, $0xa1
	/* Masks: master only pins 5 and 6; slave everything. */
	mov	$0x9f, %al
	out	%al, $0x21
	mov	$0xff, %al
	out	%al, $0xa1
	/* ELCR: pin 6 level triggered. */
	mov	$0x40, %al
	mov	$0x4d0, %dx
	out	%al, (%dx)

	mov	$GUEST_PORT_VALUE, %dx
	mov	$0x1000, %ax
	out	%ax, (%dx)
1:	sti
	hlt
	jmp	1b

irq5:
	push	%ax
	push	%dx
	incw	COUNT5
	mov	COUNT5, %ax
	mov	$5, %ah
	jmp	irq_common
irq6:
	push	%ax
	push	%dx
	incw	COUNT6
	mov	COUNT6, %ax
	mov	$6, %ah
irq_common:
	mov	$GUEST_PORT_VALUE, %dx
	out	%ax, (%dx)
	mov	$0x20, %al		/* non-specific EOI */
	out	%al, $0x20
	pop	%dx
	pop	%ax
	iret
