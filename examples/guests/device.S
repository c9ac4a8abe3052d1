/* SPDX-License-Identifier: MIT */
/*
 * The guest of examples/c/device-model.c: a driver for the example device at GUEST_MMIO_BASE,
 * in long mode with the local APIC.  It checks the ID register, the scratch register and the
 * counter, then rings the doorbell RINGS times; each ring must arrive as interrupt vector 0x40
 * (an MSI routed to an irqfd that the device model signals), whose handler acknowledges STATUS
 * and sends the LAPIC EOI.  Reports 0 on DONE, or the number of the failed check.
 *
 * Long mode rather than protected mode: the nested "kvm-pvm" host of the test machine runs
 * non-64-bit guest code in KVM's instruction emulator, which has no protected mode IRET.
 */
#include "boot-long.inc"

/* Device registers (32-bit), see examples/c/device-model.c. */
#define DEV		GUEST_MMIO_BASE
#define DEV_ID		(DEV + 0x00)	/* R:  DEVICE_ID */
#define DEV_SCRATCH	(DEV + 0x04)	/* RW: plain storage */
#define DEV_COUNTER	(DEV + 0x08)	/* R:  sum; W: add the value */
#define DEV_STATUS	(DEV + 0x0c)	/* R:  bit 0 interrupt pending; W: 1 clears */
#define DEV_DOORBELL	(DEV + 0x10)	/* W:  raise the interrupt */
#define DEVICE_ID	0x4d534456	/* "VDSM" */

#define VECTOR		0x40
#define RINGS		3
#define IDT		GUEST_SCRATCH			/* 16-byte gates */
#define IRQ_COUNT	(GUEST_SCRATCH + 0x1000)
#define SPURIOUS	(GUEST_SCRATCH + 0x1004)
#define APIC_PD		(GUEST_PAGE_TABLES + 0x3000)	/* page directory for 3-4 GiB */
#define LAPIC_BASE	0xfee00000
#define LAPIC_EOI	0xb0
#define LAPIC_SVR	0xf0

	.code64
	.globl main64
main64:
	/* Map the LAPIC page (2 MiB page, uncached): PDPT[3] -> APIC_PD, APIC_PD[0x1f7]. */
	mov	$APIC_PD, %edi
	mov	$512, %ecx
	xor	%eax, %eax
	rep stosq
	mov	$(LAPIC_BASE | 0x9b), %eax	/* zero-extended: the entry's upper half is 0 */
	mov	%rax, APIC_PD + 8 * ((LAPIC_BASE >> 21) & 511)
	movq	$(APIC_PD | 3), GUEST_PAGE_TABLES + 0x1000 + 8 * 3

	/* An IDT whose only present gate is VECTOR (64-bit interrupt gate, selector 0x08). */
	mov	$IDT, %edi
	mov	$((VECTOR + 1) * 2), %ecx
	xor	%eax, %eax
	rep stosq
	movl	$0, IRQ_COUNT
	movl	$0, SPURIOUS
	mov	$irq_handler, %eax
	mov	%eax, %edx
	and	$0xffff, %eax
	or	$(0x08 << 16), %eax
	mov	%eax, IDT + VECTOR * 16
	and	$0xffff0000, %edx
	or	$0x8e00, %edx
	mov	%edx, IDT + VECTOR * 16 + 4
	lidt	idt_desc
	mov	$LAPIC_BASE, %ebx
	movl	$0x1ff, LAPIC_SVR(%rbx)		/* APIC software-enabled, spurious vector 0xff */

	mov	$1, %eax
	cmpl	$DEVICE_ID, DEV_ID
	jne	fail
	mov	$2, %eax
	movl	$0xcafe1234, DEV_SCRATCH
	cmpl	$0xcafe1234, DEV_SCRATCH
	jne	fail
	mov	$3, %eax
	movl	$5, DEV_COUNTER
	movl	$37, DEV_COUNTER
	cmpl	$42, DEV_COUNTER
	jne	fail

	/* Ring, then sleep until the handler has counted the interrupt.  cli before the check and
	 * sti immediately before hlt: an interrupt cannot slip in between (STI's shadow). */
	xor	%esi, %esi
ring:
	inc	%esi
	movl	$1, DEV_DOORBELL
wait:
	cli
	cmp	%esi, IRQ_COUNT
	jae	rung
	sti
	hlt
	jmp	wait
rung:
	cmp	$RINGS, %esi
	jne	ring

	mov	$4, %eax
	cmpl	$RINGS, IRQ_COUNT
	jne	fail
	mov	$5, %eax
	cmpl	$0, DEV_STATUS
	jne	fail
	mov	$6, %eax
	cmpl	$0, SPURIOUS
	jne	fail
	xor	%eax, %eax
fail:
	ret

irq_handler:
	push	%rax
	mov	DEV_STATUS, %eax
	test	$1, %eax
	jnz	1f
	incl	SPURIOUS
	jmp	2f
1:	movl	$1, DEV_STATUS			/* acknowledge */
	incl	IRQ_COUNT
2:	mov	$LAPIC_BASE, %eax
	movl	$0, LAPIC_EOI(%rax)
	pop	%rax
	iretq

	.balign 8
idt_desc:
	.word	(VECTOR + 1) * 16 - 1
	.quad	IDT
