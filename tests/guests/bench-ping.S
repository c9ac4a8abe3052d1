/* SPDX-License-Identifier: MIT */
/* Benchmark guest: forever one OUT of a counter to VALUE, then hlt; every resume makes one more. */
#include "guest.h"

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	mov	$GUEST_PORT_VALUE, %dx
	xor	%eax, %eax
1:	inc	%eax
	out	%eax, (%dx)
	hlt
	jmp	1b
