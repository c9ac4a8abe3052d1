/* SPDX-License-Identifier: MIT */
/* Benchmark guest: EBX (set by the host) 32-bit OUTs to VALUE carrying 1..EBX, then 0 on DONE and hlt. */
#include "guest.h"

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	mov	$GUEST_PORT_VALUE, %dx
	mov	%ebx, %ecx
	xor	%eax, %eax
1:	inc	%eax
	out	%eax, (%dx)
	dec	%ecx
	jnz	1b
	mov	$GUEST_PORT_DONE, %dx
	xor	%eax, %eax
	out	%eax, (%dx)
	hlt
	jmp	.
