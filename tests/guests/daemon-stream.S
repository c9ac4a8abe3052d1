/* SPDX-License-Identifier: MIT */
/* mshvd test: five console bytes 'a'..'e', an MMIO write of 0x1234 at 0xd0030, then an IN from 0x610 echoed on VALUE. */
#include "guest.h"

#define PORT_INPUT	0x610

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	mov	$GUEST_PORT_CONSOLE, %dx
	mov	$'a', %al
	mov	$5, %cx
1:	out	%al, (%dx)
	inc	%al
	loop	1b
	mov	$(GUEST_MMIO_BASE >> 4), %bx
	mov	%bx, %ds
	movw	$0x1234, 0x30			/* MMIO write, 2 bytes at 0xd0030 */
	mov	$PORT_INPUT, %dx
	in	(%dx), %al			/* parks unless the run has default_read */
	mov	$GUEST_PORT_VALUE, %dx
	out	%al, (%dx)
	hlt
