/* SPDX-License-Identifier: MIT */
/* Halt twice (the second after resuming), with a port write in between. */
#include "guest.h"

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	$GUEST_STACK16, %sp
	hlt
	.globl	after_first_hlt
after_first_hlt:
	mov	$0x42, %al
	out	%al, $0x80
	hlt
	jmp	.
