/* SPDX-License-Identifier: MIT */
/* Spin forever without any exit: only a kick brings the vCPU back. */
#include "guest.h"

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	cli
1:	jmp	1b
