/* SPDX-License-Identifier: MIT */
/* Entered directly in 32-bit protected mode by `mshvctl boot --mode protected`: checks CR0.PE and
 * the flat segments, prints "prot ok\n" and reports status 0 (1 + bit number on a failed check). */
#include "guest.h"

	.code32
	.section .text.start, "ax"
	.globl _start
_start:
	mov	$1, %ebx
	mov	%cr0, %eax
	test	$1, %eax			/* PE */
	jz	fail
	mov	$2, %ebx
	mov	%cr0, %eax
	test	$0x80000000, %eax		/* no paging */
	jnz	fail
	mov	$3, %ebx
	mov	%cs, %ax
	cmp	$0x08, %ax
	jne	fail
	mov	$4, %ebx
	mov	%ds, %ax
	cmp	$0x10, %ax
	jne	fail
	/* A 32-bit stack works: call/ret through it. */
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
	mov	$msg, %esi
	mov	$GUEST_PORT_CONSOLE, %dx
1:	lodsb
	test	%al, %al
	jz	2f
	out	%al, (%dx)
	jmp	1b
2:	ret

msg:	.asciz	"prot ok\n"
