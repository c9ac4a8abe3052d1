/* SPDX-License-Identifier: MIT */
/*
 * LAPIC snapshot guest (tests/hv/test-hv-snapshot-lapic), protected mode without paging: programs
 * registers of its local APIC through the xAPIC page, stops on SNAP_PORT (the host saves
 * there), then reads them back and reports each on VALUE.  A vCPU restored without its LAPIC
 * state reports the reset values instead.
 */
#include "boot-prot.inc"

#define SNAP_PORT	0x640
#define LAPIC		0xfee00000
#define LAPIC_TPR	(LAPIC + 0x80)
#define LAPIC_LDR	(LAPIC + 0xd0)
#define LAPIC_SVR	(LAPIC + 0xf0)
#define LAPIC_LINT0	(LAPIC + 0x350)
#define LAPIC_LINT1	(LAPIC + 0x360)

	.code32
	.globl main32
main32:
	movl	$0x1ff, LAPIC_SVR		/* enabled, spurious vector 0xff */
	movl	$0x20, LAPIC_TPR
	movl	$0x03000000, LAPIC_LDR
	movl	$0x700, LAPIC_LINT0		/* ExtINT, unmasked */
	movl	$0x400, LAPIC_LINT1		/* NMI */

	mov	$0x5a, %al
	mov	$SNAP_PORT, %dx
	out	%al, (%dx)			/* the host saves here */

	mov	LAPIC_SVR, %eax
	call	report
	mov	LAPIC_TPR, %eax
	call	report
	mov	LAPIC_LDR, %eax
	call	report
	mov	LAPIC_LINT0, %eax
	call	report
	mov	LAPIC_LINT1, %eax
	call	report
	xor	%eax, %eax
	ret

/* Report EAX on VALUE (clobbers EDX). */
report:
	mov	$GUEST_PORT_VALUE, %dx
	out	%eax, (%dx)
	ret
