/* SPDX-License-Identifier: MIT */
/* CPUID in the guest: leaf 0 (vendor, max leaf) and leaf 1 EAX reported on VALUE. */
#include "guest.h"

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	xor	%eax, %eax
	xor	%ecx, %ecx
	cpuid
	mov	%edx, %esi
	mov	$GUEST_PORT_VALUE, %dx
	out	%eax, (%dx)
	mov	%ebx, %eax
	out	%eax, (%dx)
	mov	%esi, %eax
	out	%eax, (%dx)
	mov	%ecx, %eax
	out	%eax, (%dx)
	mov	$1, %eax
	xor	%ecx, %ecx
	cpuid
	mov	$GUEST_PORT_VALUE, %dx
	out	%eax, (%dx)
	hlt
