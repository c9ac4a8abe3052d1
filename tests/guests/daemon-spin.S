/* SPDX-License-Identifier: MIT */
/* mshvd test: spin forever incrementing the 32-bit counter at 0x500 (never exits by itself). */
#include "guest.h"

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	xor	%ax, %ax
	mov	%ax, %ds
1:	incl	0x500
	jmp	1b
