/* SPDX-License-Identifier: MIT */
/*
 * mshvd interrupt test, protected mode with the local APIC: an IDT with handlers for vectors
 * 0x40-0x43, the LAPIC software-enabled through its SVR at 0xfee000f0.  Writes 0x1000 to VALUE
 * when ready, then waits with sti; hlt.  The handler of vector V counts its interrupts, writes
 * the LAPIC EOI register and (V << 8 | count) to VALUE, and goes back to waiting.
 *
 * The handler drops its interrupt frame and jumps back to the wait loop instead of IRET
 * (interrupts stay off until the loop's sti): the nested "kvm-pvm" host of the test machine
 * runs non-64-bit guest code in KVM's instruction emulator, which implements IRET in real mode
 * only, so a protected mode IRET ends in KVM_EXIT_INTERNAL_ERROR there.
 */
#include "boot-prot.inc"

#define IDT		GUEST_SCRATCH
#define NVEC		0x44
#define COUNTS		(GUEST_SCRATCH + 0x1000)	/* one dword per vector */
#define LAPIC_EOI	0xfee000b0
#define LAPIC_SVR	0xfee000f0

	.code32
	.globl main32
main32:
	/* Clear the IDT and the counters, then fill in vectors 0x40-0x43: interrupt gates. */
	mov	$IDT, %edi
	mov	$(NVEC * 2), %ecx
	xor	%eax, %eax
	rep stosl
	mov	$COUNTS, %edi
	mov	$NVEC, %ecx
	rep stosl
	mov	$0x40, %ebx
	mov	$stubs, %esi
1:	mov	%esi, %eax
	and	$0xffff, %eax
	or	$(0x08 << 16), %eax
	mov	%eax, IDT(, %ebx, 8)
	mov	%esi, %eax
	and	$0xffff0000, %eax
	or	$0x8e00, %eax
	mov	%eax, IDT + 4(, %ebx, 8)
	add	$8, %esi
	inc	%ebx
	cmp	$NVEC, %ebx
	jne	1b
	lidt	idt_desc

	movl	$0x1ff, LAPIC_SVR		/* enabled, spurious vector 0xff */
	mov	$GUEST_PORT_VALUE, %dx
	mov	$0x1000, %eax
	out	%eax, (%dx)
wait:
	sti
	hlt
	jmp	wait

	/* One 8-byte stub per vector: push the vector, go to the common part. */
	.balign 8
stubs:
	.irp	v, 0x40, 0x41, 0x42, 0x43
	.balign 8
	push	$\v
	jmp	irq_common
	.endr

irq_common:
	pop	%ebx				/* the vector */
	add	$12, %esp			/* EIP, CS, EFLAGS: not returning there */
	incl	COUNTS(, %ebx, 4)
	mov	COUNTS(, %ebx, 4), %eax
	and	$0xff, %eax
	shl	$8, %ebx
	or	%ebx, %eax
	movl	$0, LAPIC_EOI
	mov	$GUEST_PORT_VALUE, %dx
	out	%eax, (%dx)
	jmp	wait

	.balign 8
idt_desc:
	.word	NVEC * 8 - 1
	.long	IDT
