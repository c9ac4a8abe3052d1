// SPDX-License-Identifier: MIT
/* CPUID executed in the guest: the vendor string and leaf 1 match what the host CPU says
 * (the kvm backend gives every vCPU KVM_GET_SUPPORTED_CPUID). */
#include <cpuid.h>
#include <string.h>

#include "check.h"
#include "hv-test.h"

int main(void)
{
	struct hv_test *t = hv_test_new_or_skip(hv_test_backend(), "hv-cpuid");
	unsigned eax, ebx, ecx, edx;
	char vendor[13] = { 0 };

	check_eq_int(hv_test_run(t, 64), HV_EXIT_HALT);
	require(check_eq_int(t->nvalues, 5));
	check(t->values[0] >= 1);
	memcpy(vendor, &t->values[1], 4);
	memcpy(vendor + 4, &t->values[2], 4);
	memcpy(vendor + 8, &t->values[3], 4);
	__cpuid(0, eax, ebx, ecx, edx);
	check_eq_u64(t->values[1], ebx);
	check_eq_u64(t->values[2], edx);
	check_eq_u64(t->values[3], ecx);
	__cpuid(1, eax, ebx, ecx, edx);
	/* Family/model/stepping as the host reports them. */
	check_eq_u64(t->values[4], eax);
	test_note("guest vendor \"%s\", leaf 1 eax 0x%x", vendor, t->values[4]);
	hv_test_free(t);
	return test_done();
}
