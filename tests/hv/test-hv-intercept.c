// SPDX-License-Identifier: MIT
/*
 * CPUID and MSR intercepts completed through the hv layer: the guest must see exactly the values
 * the completion gave, and RIP must move past each instruction.  Runs on the mshv backend under
 * mshv-sim, which installs CPUID and MSR intercepts when MSHV_SIM_INTERCEPTS asks for them (the
 * hv layer has no operation to install intercepts), so hv-mshv's CPUID/MSR write-back is tested.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "guest.h"
#include "hv-test.h"

int main(void)
{
	struct hv_test *t;
	uint32_t values[8];
	unsigned nvalues = 0, ncpuid = 0, nrd = 0, nwr = 0;
	struct hv_exit e;
	int r;

	if (hv_test_backend() != HV_BACKEND_MSHV)
		test_skip("CPUID/MSR intercepts are installed only by mshv-sim (HV_TEST_BACKEND=mshv)");
	setenv("MSHV_SIM_INTERCEPTS", "cpuid,msr", 1);
	t = hv_test_new_or_skip(HV_BACKEND_MSHV, "hv-intercept");

	for (unsigned n = 0; n < 32; n++) {
		struct hv_completion c;

		memset(&c, 0, sizeof(c));
		r = hv_vcpu_run(t->vcpu, &e);
		require(check_eq_int(r, 0));
		if (e.kind == HV_EXIT_HALT)
			break;
		switch (e.kind) {
		case HV_EXIT_IO:
			require(check_eq_int(e.io.port, GUEST_PORT_VALUE));
			require(nvalues < 8);
			values[nvalues++] = (uint32_t)e.io.data;
			break;
		case HV_EXIT_CPUID:
			ncpuid++;
			check_eq_u64(e.cpuid.eax, 0x40000000);
			check_eq_u64(e.cpuid.ecx, 0);
			check_eq_int(e.insn_len, 2);
			c.cpuid[0] = 0x11111111;
			c.cpuid[1] = 0x22222222;
			c.cpuid[2] = 0x33333333;
			c.cpuid[3] = 0x44444444;
			break;
		case HV_EXIT_MSR:
			check_eq_int(e.insn_len, 2);
			if (e.msr.write) {
				nwr++;
				check_eq_u64(e.msr.index, 0x40001235);
				check_eq_u64(e.msr.data, 0x5566778811223344ULL);
			} else {
				nrd++;
				check_eq_u64(e.msr.index, 0x40001234);
				c.value = 0xaabbccdd00112233ULL;
			}
			break;
		default:
			hv_test_print_exit("unexpected exit: ", &e);
			require(0);
		}
		require(check_eq_int(hv_vcpu_complete(t->vcpu, &c), 0));
	}
	check_eq_int(e.kind, HV_EXIT_HALT);
	check_eq_int(ncpuid, 1);
	check_eq_int(nrd, 1);
	check_eq_int(nwr, 1);
	require(check_eq_int(nvalues, 7));
	check_eq_u64(values[0], 0x11111111);	/* eax, ebx, ecx, edx as completed */
	check_eq_u64(values[1], 0x22222222);
	check_eq_u64(values[2], 0x33333333);
	check_eq_u64(values[3], 0x44444444);
	check_eq_u64(values[4], 0x00112233);	/* rdmsr: EDX:EAX */
	check_eq_u64(values[5], 0xaabbccdd);
	check_eq_u64(values[6], 0x600d);	/* past the wrmsr */
	hv_test_free(t);
	return test_done();
}
