/* SPDX-License-Identifier: MIT */
/* Entered directly in 64-bit mode by `mshvctl boot --mode long`: checks EFER.LMA, CR0.PG and CR4.PAE,
 * prints "long ok\n", reports RDI (set with --reg) on VALUE, status 0 (or the failed check). */
#include "guest.h"

	.code64
	.section .text.start, "ax"
	.globl _start
_start:
	mov	%rdi, %r12
	mov	$1, %ebx
	mov	$0xc0000080, %ecx
	rdmsr
	test	$0x400, %eax			/* EFER.LMA */
	jz	fail
	mov	$2, %ebx
	mov	%cr0, %rax
	bt	$31, %rax			/* PG */
	jnc	fail
	mov	$3, %ebx
	mov	%cr4, %rax
	test	$0x20, %eax			/* PAE */
	jz	fail
	/* 64-bit arithmetic and a RIP-relative load only work in long mode. */
	mov	$4, %ebx
	mov	$0x123456789abcdef0, %rax
	add	value(%rip), %rax
	mov	$0x23456789abcdf001, %rcx
	cmp	%rcx, %rax
	jne	fail
	mov	%r12, %rax
	mov	$GUEST_PORT_VALUE, %dx
	out	%eax, (%dx)
	call	print
	xor	%eax, %eax
	jmp	done
fail:
	mov	%ebx, %eax
done:
	mov	$GUEST_PORT_DONE, %dx
	out	%eax, (%dx)
	hlt
	jmp	.

print:
	lea	msg(%rip), %rsi
	mov	$GUEST_PORT_CONSOLE, %dx
1:	lodsb
	test	%al, %al
	jz	2f
	out	%al, (%dx)
	jmp	1b
2:	ret

	.balign 8
value:	.quad	0x1111111111111111
msg:	.asciz	"long ok\n"
