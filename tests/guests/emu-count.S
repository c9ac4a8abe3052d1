/* SPDX-License-Identifier: MIT */
/*
 * Engine test: counting in registers around MMIO accesses.  Every step increments EBX and
 * then touches MMIO; an engine that re-executed earlier instructions after an MMIO exit would
 * count too far.  Reports EBX, ECX (the sum of the values read) and status 0 on DONE.
 */
#include "boot-long.inc"

	.code64
	.globl main64
main64:
	xor	%ebx, %ebx
	xor	%ecx, %ecx
	mov	$GUEST_MMIO_BASE, %rdi
	mov	$100, %r8d
1:	inc	%ebx
	mov	(%rdi), %eax			/* MMIO read */
	add	%eax, %ecx
	inc	%ebx
	inc	%ebx
	movl	%ebx, 8(%rdi)			/* MMIO write */
	inc	%ebx
	movzbl	4(%rdi), %eax			/* MMIO read, byte */
	add	%eax, %ecx
	dec	%r8d
	jnz	1b
	mov	$GUEST_PORT_VALUE, %dx
	mov	%ebx, %eax
	out	%eax, (%dx)
	mov	%ecx, %eax
	out	%eax, (%dx)
	xor	%eax, %eax
	ret
