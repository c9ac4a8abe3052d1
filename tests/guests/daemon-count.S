/* SPDX-License-Identifier: MIT */
/* mshvd test: write the bytes 0..19 to VALUE, one OUT each, then halt. */
#include "guest.h"

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	mov	$GUEST_PORT_VALUE, %dx
	xor	%ax, %ax
1:	out	%al, (%dx)
	inc	%ax
	cmp	$20, %ax
	jne	1b
	hlt
