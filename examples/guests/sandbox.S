/* SPDX-License-Identifier: MIT */
/*
 * The function of examples/python/sandbox.py: CRC-32 of an input buffer, and the buffer reversed
 * and upper-cased (ASCII), computed in real mode.  Entered like every guest (CS = 0,
 * RIP = 0x1000, RFLAGS = 0x2); it sets up its own segments and stack, so the host only resets
 * registers and writes the input between calls.
 *
 *   input  block at 0x10000: u32 length (at most IN_MAX), then the bytes
 *   output block at 0x20000: u32 crc32, u32 length, then the transformed bytes
 *
 * Reports 0 on DONE (0x604) and halts; 1 when the length is too large.
 */
#include "guest.h"

#define IN_SEG		0x1000		/* 0x10000 */
#define OUT_SEG		0x2000		/* 0x20000 */
#define IN_MAX		0xf000
#define CRC32_POLY	0xedb88320	/* IEEE 802.3, bit-reflected */

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	cld
	xor	%ax, %ax
	mov	%ax, %ss
	mov	$GUEST_STACK16, %sp
	mov	$IN_SEG, %ax
	mov	%ax, %ds
	mov	$OUT_SEG, %ax
	mov	%ax, %es

	mov	0, %ecx				/* length */
	cmp	$IN_MAX, %ecx
	ja	too_long

	/* CRC-32, one bit at a time: small beats fast for a demo function. */
	mov	$0xffffffff, %edx
	mov	$4, %si
	mov	%cx, %bp
crc_byte:
	test	%bp, %bp
	jz	crc_done
	movzbl	(%si), %eax
	xor	%eax, %edx
	mov	$8, %bl
crc_bit:
	shr	$1, %edx
	jnc	1f
	xor	$CRC32_POLY, %edx
1:	dec	%bl
	jnz	crc_bit
	inc	%si
	dec	%bp
	jmp	crc_byte
crc_done:
	not	%edx
	mov	%edx, %es:0
	mov	%ecx, %es:4

	/* out[i] = toupper(in[len - 1 - i]) */
	mov	$8, %di
	mov	%cx, %si
	add	$3, %si
	mov	%cx, %bp
xform:
	test	%bp, %bp
	jz	done
	mov	(%si), %al
	cmp	$'a', %al
	jb	1f
	cmp	$'z', %al
	ja	1f
	sub	$('a' - 'A'), %al
1:	mov	%al, %es:(%di)
	inc	%di
	dec	%si
	dec	%bp
	jmp	xform

done:
	xor	%eax, %eax
	jmp	report
too_long:
	mov	$1, %eax
report:
	mov	$GUEST_PORT_DONE, %dx
	out	%eax, (%dx)
	hlt
	jmp	.
