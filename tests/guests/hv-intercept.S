/* SPDX-License-Identifier: MIT */
/* CPUID, RDMSR and WRMSR for a VMM that intercepts them: the results it chose go out on VALUE. */
#include "guest.h"

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	mov	$0x40000000, %eax
	xor	%ecx, %ecx
	cpuid
	mov	%edx, %esi
	mov	$GUEST_PORT_VALUE, %dx
	out	%eax, (%dx)
	mov	%ebx, %eax
	out	%eax, (%dx)
	mov	%ecx, %eax
	out	%eax, (%dx)
	mov	%esi, %eax
	out	%eax, (%dx)
	mov	$0x40001234, %ecx
	rdmsr
	mov	%edx, %esi
	mov	$GUEST_PORT_VALUE, %dx
	out	%eax, (%dx)
	mov	%esi, %eax
	out	%eax, (%dx)
	mov	$0x40001235, %ecx
	mov	$0x11223344, %eax
	mov	$0x55667788, %edx
	wrmsr
	mov	$GUEST_PORT_VALUE, %dx
	mov	$0x600d, %eax
	out	%eax, (%dx)
	hlt
