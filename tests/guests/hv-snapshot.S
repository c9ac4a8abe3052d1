/* SPDX-License-Identifier: MIT */
/*
 * Snapshot guest (tests/hv/test-hv-snapshot): sets up registers, x87 and SSE state and a memory
 * counter, stops on SNAP_PORT (the host saves there), then uses and changes all of it: the
 * results it reports on VALUE depend on every piece of the saved state.  It writes exactly
 * three pages (1, 5 and 200; 200 by string input only) of the 1 MiB mapping at EXTRA, which
 * the host adds.
 */
#include "boot-long.inc"

#define SNAP_PORT	0x640
#define EXTRA		0x100000
#define PAGE(n)		(EXTRA + (n) * 0x1000)
#define COUNTER		GUEST_SCRATCH

	.code64
	.globl main64
main64:
	/* x87 and SSE on: CR0.EM off, MP on; CR4.OSFXSR | OSXMMEXCPT. */
	mov	%cr0, %rax
	and	$~4, %rax
	or	$2, %rax
	mov	%rax, %cr0
	mov	%cr4, %rax
	or	$0x600, %rax
	mov	%rax, %cr4

	fninit
	movq	mm_init(%rip), %mm2		/* an x87 register (MMX aliases ST2's mantissa) */
	movdqu	xmm_init(%rip), %xmm3
	mov	$0x0123456789abcdef, %r12
	mov	$0x0fedcba987654321, %r13
	movl	$5, COUNTER

	mov	$0x5a, %al
	mov	$SNAP_PORT, %dx
	out	%al, (%dx)			/* the host saves here */

	/*
	 * SSE: xmm3 stored to page 1 and reported, then replaced; x87: mm2 likewise through
	 * page 5.  Only moves: kvm without hardware virtualization (PVM) runs this code in KVM's
	 * instruction emulator, which has the SSE and MMX moves but no arithmetic on them.
	 */
	movdqu	%xmm3, PAGE(1)
	mov	$PAGE(1), %rsi
	call	report4
	movdqu	xmm_other(%rip), %xmm3		/* a second run without restore sees this */
	movq	%mm2, PAGE(5)
	mov	$PAGE(5), %rsi
	mov	(%rsi), %eax
	call	report
	mov	4(%rsi), %eax
	call	report
	movq	mm_other(%rip), %mm2

	/* General registers: r12 to page 1, then rotated; r13 mixed in. */
	mov	%r12, PAGE(1) + 0x100
	add	%r13, PAGE(1) + 0x100
	rol	$8, %r12
	mov	$PAGE(1) + 0x100, %rsi
	mov	(%rsi), %eax
	call	report
	mov	4(%rsi), %eax
	call	report

	/* Memory in the first mapping. */
	incl	COUNTER
	mov	COUNTER, %eax
	call	report

	/* A port read, and a string one into page 200 (the engine or KVM writes the memory). */
	in	$0x70, %al
	movzbl	%al, %eax
	call	report
	mov	$PAGE(200) + 0x10, %rdi
	mov	$0x72, %dx
	mov	$4, %ecx
	cld
	rep insb
	mov	PAGE(200) + 0x10, %eax
	call	report

	xor	%eax, %eax
	ret

/* Report EAX on VALUE (clobbers EDX). */
report:
	mov	$GUEST_PORT_VALUE, %dx
	out	%eax, (%dx)
	ret

/* Report the four dwords at RSI. */
report4:
	mov	$4, %ecx
1:	lodsl
	call	report
	loop	1b
	ret

	.balign 16
xmm_init:
	.long	0x11111111, 0x22222222, 0x33333333, 0x44444444
xmm_other:
	.long	0x01020304, 0x05060708, 0x090a0b0c, 0x0d0e0f10
mm_init:
	.quad	0x0badcafe87654321
mm_other:
	.quad	0x1122334455667788
