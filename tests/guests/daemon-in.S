/* SPDX-License-Identifier: MIT */
/* mshvd test: an IN from port 0x610 and a 2-byte MMIO read at GUEST_MMIO_BASE+0x20, each value + 1 reported on VALUE. */
#include "guest.h"

#define PORT_INPUT	0x610

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	mov	$PORT_INPUT, %dx
	in	(%dx), %al			/* the host completes this read */
	inc	%al
	mov	$GUEST_PORT_VALUE, %dx
	out	%al, (%dx)
	mov	$(GUEST_MMIO_BASE >> 4), %ax
	mov	%ax, %ds
	mov	0x20, %ax			/* MMIO read, 2 bytes at 0xd0020 */
	inc	%ax
	mov	$GUEST_PORT_VALUE, %dx
	out	%ax, (%dx)
	hlt
