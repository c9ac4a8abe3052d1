/* SPDX-License-Identifier: MIT */
/* Benchmark guest: EBX (set by the host) 4-byte MMIO writes of 1 at GUEST_MMIO_BASE (the doorbell), then 0 on DONE and hlt. */
#include "guest.h"

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	mov	$(GUEST_MMIO_BASE >> 4), %ax
	mov	%ax, %es
	mov	%ebx, %ecx
1:	movl	$1, %es:0
	dec	%ecx
	jnz	1b
	mov	$GUEST_PORT_DONE, %dx
	xor	%eax, %eax
	out	%eax, (%dx)
	hlt
	jmp	.
