/* SPDX-License-Identifier: MIT */
/*
 * mshvd eventfd test: ring a 4-byte MMIO doorbell at GUEST_MMIO_BASE 1000 times with the value
 * 1, then 3 times with the value 2, then report 0 on DONE and halt.  With an ioeventfd there
 * (datamatch 1) only the three writes of 2 leave the guest as MMIO exits.
 */
#include "guest.h"

#define DOORBELLS	1000

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	mov	$(GUEST_MMIO_BASE >> 4), %ax
	mov	%ax, %es
	mov	$DOORBELLS, %cx
1:	movl	$1, %es:0
	loop	1b
	movl	$2, %es:0
	movl	$2, %es:0
	movl	$2, %es:0
	mov	$GUEST_PORT_DONE, %dx
	xor	%eax, %eax
	out	%eax, (%dx)
	hlt
	jmp	.
