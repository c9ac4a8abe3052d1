// SPDX-License-Identifier: MIT
// Compiled with -std=c99 -pedantic-errors: the public headers must stay valid strict C99.

#include <mshv/mshv-abi.h>
#include <mshv/mshv.h>

/* MSHV_BITS is a constant expression. */
static const unsigned long long flags = MSHV_BITS(MSHV_PT_BIT_LAPIC, MSHV_PT_BIT_X2APIC);
typedef char bits_check[(MSHV_BITS(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) ==
			 0xffffULL && MSHV_VM_DEFAULT_PT_FLAGS == 7) ? 1 : -1];

int main(void)
{
	struct mshv_datamatch dm = MSHV_DATAMATCH_U16(0x1234);
	bits_check unused;

	(void)unused;
	return !(flags == 3 && dm.len == 2 && dm.value == 0x1234);
}
