/* SPDX-License-Identifier: MIT */
/* Long mode smoke test: 64-bit arithmetic reported on VALUE (low, high), "OK\n" on the console, status 0. */
#include "boot-long.inc"

	.code64
	.globl main64
main64:
	mov	$0x123456789abcdef0, %rax
	mov	$0x1111111111111111, %rbx
	add	%rbx, %rax			/* 0x23456789abcdf001 */
	mov	%rax, %rcx
	mov	$GUEST_PORT_VALUE, %dx
	out	%eax, (%dx)
	shr	$32, %rcx
	mov	%ecx, %eax
	out	%eax, (%dx)
	lea	msg(%rip), %rsi
	mov	$GUEST_PORT_CONSOLE, %dx
1:	lodsb
	test	%al, %al
	jz	2f
	out	%al, (%dx)
	jmp	1b
2:	xor	%eax, %eax
	ret

msg:	.asciz	"OK\n"
