/* SPDX-License-Identifier: MIT */
/* The mshv-ioctls documentation example: with RAX = RBX = 2, print '0' + al + bl on COM1, then 0, then halt. */
#include "guest.h"

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	mov	$GUEST_PORT_CONSOLE, %dx
	add	%bl, %al
	add	$'0', %al
	out	%al, (%dx)
	mov	$0, %al
	out	%al, (%dx)
	hlt
