/* SPDX-License-Identifier: MIT */
/*
 * Engine test: vCPUs increment one counter with `lock incl` (100000 times each), each
 * one in real mode.  Every vCPU reports DONE when its
 * loop ends; the host reads the counter at 0x6000.
 */
#include "guest.h"

#define COUNTER	0x6000			/* below 64 KiB: real mode reaches it */

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	$100000, %ecx
1:	lock incl COUNTER
	/* a few plain instructions so the budget switch lands anywhere in the loop */
	mov	COUNTER, %eax
	add	$1, %eax
	dec	%ecx
	jnz	1b
	mov	$GUEST_PORT_DONE, %dx
	xor	%eax, %eax
	out	%eax, (%dx)
	hlt
	jmp	.
