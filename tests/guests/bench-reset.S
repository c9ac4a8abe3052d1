/* SPDX-License-Identifier: MIT */
/*
 * Benchmark helper for QEMU (bench/bench-peer.c): the reset-vector stub of a 64 KiB firmware
 * image.  It starts example.bin (loaded at GUEST_LOAD_GPA) in real mode with RAX = RBX = 2,
 * the state mshvctl boot gives it.  Position independent: placed at 0xffff0 by the bench.
 */
#include "guest.h"

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	mov	$2, %ax
	mov	$2, %bx
	ljmp	$0, $GUEST_LOAD_GPA
