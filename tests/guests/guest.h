/* SPDX-License-Identifier: MIT */
/* The guest <-> host test convention: memory layout and report ports, shared by guests (asm) and host tests (C). */
#ifndef MSHVD_TESTS_GUEST_H
#define MSHVD_TESTS_GUEST_H

/*
 * Every test guest is a flat binary loaded at GUEST_LOAD_GPA and entered in real mode with
 * CS.base = CS.selector = 0, RIP = GUEST_LOAD_GPA, RFLAGS = 0x2, the way the mshv-ioctls example
 * starts.  Guests switch to protected or long mode themselves (boot-*.inc).
 *
 * Guest RAM is [0, GUEST_RAM_SIZE).  GUEST_MMIO_BASE lies in an unmapped hole below 1 MiB, so real
 * mode code can reach it too; every access there is an MMIO exit.
 */
#define GUEST_LOAD_GPA		0x1000
#define GUEST_RAM_SIZE		0xc0000
#define GUEST_MMIO_BASE		0xd0000
#define GUEST_STACK16		0x8000
#define GUEST_STACK		0x80000
#define GUEST_PAGE_TABLES	0x9000	/* PML4, PDPT, PD: three pages */
#define GUEST_SCRATCH		0x20000	/* data buffers used by guests */

/* Ports.  Byte writes to CONSOLE are text; VALUE records a 32-bit value the host may check;
 * DONE ends the test with a 32-bit status (0 = pass) and is followed by hlt. */
#define GUEST_PORT_CONSOLE	0x3f8
#define GUEST_PORT_VALUE	0x600
#define GUEST_PORT_DONE		0x604

#endif
