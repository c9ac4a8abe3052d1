/* SPDX-License-Identifier: MIT */
/* Benchmark guest (bench/bench-snapshot.c): a sandboxed "call" that dirties 16 KiB, four pages
 * at 0x20000..0x23fff, reports a counter on VALUE and halts. */
#include "guest.h"

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	mov	$0x2000, %ax
	mov	%ax, %ds
	incl	0x0000
	incl	0x1000
	incl	0x2000
	incl	0x3000
	mov	0x0000, %eax
	mov	$GUEST_PORT_VALUE, %dx
	out	%eax, (%dx)
	hlt
