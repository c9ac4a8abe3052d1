/* SPDX-License-Identifier: MIT */
/* Triple fault in protected mode: an IDT of not-present gates, then ud2 (#UD, #NP, #DF, shutdown). */
#include "boot-prot.inc"

	.code32
	.globl main32
main32:
	lidt	empty_idt
	ud2
	jmp	.

empty_idt:
	.word	0x7ff
	.long	0x30000			/* zeroed RAM: every gate is not present */
