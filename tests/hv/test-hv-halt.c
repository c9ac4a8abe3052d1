// SPDX-License-Identifier: MIT
/* HALT (RIP past the hlt, resumable), completion being a no-op for it, and a triple fault
 * reported as HV_EXIT_SHUTDOWN. */
#include "check.h"
#include "hv-test.h"

int main(void)
{
	struct hv_test *t = hv_test_new_or_skip(hv_test_backend(), "hv-halt");
	struct hv_exit e;

	require_ok(hv_vcpu_run(t->vcpu, &e));
	check_eq_int(e.kind, HV_EXIT_HALT);
	check_eq_int(t->ram[e.rip - 1], 0xf4);
	check(!hv_vcpu_exit_pending(t->vcpu));
	check_ok(hv_vcpu_complete(t->vcpu, NULL));
	check_eq_u64(hv_test_reg(t, HV_REG_RIP), e.rip);

	/* Resuming continues after the hlt: the OUT right there. */
	require_ok(hv_vcpu_run(t->vcpu, &e));
	check_eq_int(e.kind, HV_EXIT_IO);
	check_eq_int(e.io.port, 0x80);
	check_eq_u64(e.io.data, 0x42);
	check(hv_vcpu_exit_pending(t->vcpu));
	require_ok(hv_vcpu_run(t->vcpu, &e));	/* completes the OUT with defaults */
	check_eq_int(e.kind, HV_EXIT_HALT);

	hv_test_free(t);

	/* not-present IDT gates, ud2 in protected mode: #NP -> #DF -> triple fault. */
	t = hv_test_new_or_skip(hv_test_backend(), "hv-triple");
	check_eq_int(hv_test_run(t, 16), HV_EXIT_SHUTDOWN);
	check(!t->done);
	hv_test_free(t);
	return test_done();
}
