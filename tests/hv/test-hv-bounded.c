// SPDX-License-Identifier: MIT
/* Bounded runs (hv_vcpu_run_bounded()): a counting guest returns HV_EXIT_INTERRUPTED after
 * about the bound and resumes exactly where it stopped; an exit before the bound is returned
 * as it is; a kick before a bounded run ends it at once and is consumed by it. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "hv-test.h"

#define COUNT_TO	300000u	/* three instructions per count */
#define BOUND		10000u
#define DONE_PORT	0x42

/* Real mode at 0x1000: count EAX up to COUNT_TO, then `out DONE_PORT, al` and hlt. */
static void load_counter(struct hv_test *t)
{
	const uint8_t code[] = {
		0x66, 0x40,				/* 1000: inc eax */
		0x66, 0x3d,				/* 1002: cmp eax, COUNT_TO */
		COUNT_TO & 0xff, (COUNT_TO >> 8) & 0xff, (COUNT_TO >> 16) & 0xff, COUNT_TO >> 24,
		0x75, 0xf6,				/* 1008: jne 1000 */
		0xe6, DONE_PORT,			/* 100a: out DONE_PORT, al */
		0xf4,					/* 100c: hlt */
	};
	struct hv_reg_value r[] = { { .reg = HV_REG_RAX }, { .reg = HV_REG_RIP, .u64 = 0x1000 } };

	memcpy(t->ram + 0x1000, code, sizeof(code));
	require_ok(hv_vcpu_set_regs(t->vcpu, r, 2));
}

static void set_rax(struct hv_test *t, uint64_t v)
{
	struct hv_reg_value r = { .reg = HV_REG_RAX, .u64 = v };

	require_ok(hv_vcpu_set_regs(t->vcpu, &r, 1));
}

int main(void)
{
	struct hv_test *t = hv_test_new_or_skip(hv_test_backend(), "hv-spin");
	unsigned interrupted = 0;
	uint64_t last = 0, rax;
	struct hv_exit e;

	if (!(hv_caps(t->hv) & HV_CAP_BOUNDED_RUN)) {
		const char *name = t->backend_name;	/* static */

		check_eq_int(hv_vcpu_run_bounded(t->vcpu, &e, BOUND), -EOPNOTSUPP);
		hv_test_free(t);
		test_skip("no bounded run on the %s backend", name);
	}
	check_eq_int(hv_vcpu_run_bounded(t->vcpu, &e, 0), -EINVAL);
	load_counter(t);

	/* Every bounded run ends by the bound, inside the loop (or at its out), with the count
	 * still going up; the guest finishes with exactly COUNT_TO: nothing lost or repeated. */
	for (;;) {
		memset(&e, 0, sizeof(e));
		require_ok(hv_vcpu_run_bounded(t->vcpu, &e, BOUND));
		if (e.kind != HV_EXIT_INTERRUPTED)
			break;
		interrupted++;
		if (!check(e.rip >= 0x1000 && e.rip <= 0x100a))
			hv_test_print_exit("bounded", &e);
		check(!hv_vcpu_exit_pending(t->vcpu));
		rax = hv_test_reg(t, HV_REG_RAX);
		/* About the bound: between a half and twice its worth of counts. */
		check(rax - last >= BOUND / 3 / 2 && rax - last <= 2 * BOUND / 3);
		last = rax;
		require(interrupted < 10 * COUNT_TO / BOUND);
	}
	test_note("%u bounded runs of %u instructions before the exit", interrupted, BOUND);
	check(interrupted >= COUNT_TO * 3 / BOUND / 2);
	check_eq_int(e.kind, HV_EXIT_IO);
	check_eq_int(e.io.port, DONE_PORT);
	check(e.io.write);
	check_eq_u64(e.rip, 0x100a);
	check_eq_u64(hv_test_reg(t, HV_REG_RAX), COUNT_TO);

	/* An exit before the bound is returned as it is (and the next run completes it). */
	require_ok(hv_vcpu_complete(t->vcpu, NULL));
	load_counter(t);
	set_rax(t, COUNT_TO - 5);
	require_ok(hv_vcpu_run_bounded(t->vcpu, &e, BOUND));
	check_eq_int(e.kind, HV_EXIT_IO);
	check_eq_u64(e.rip, 0x100a);
	check(hv_vcpu_exit_pending(t->vcpu));
	require_ok(hv_vcpu_complete(t->vcpu, NULL));
	check_eq_u64(hv_test_reg(t, HV_REG_RIP), 0x100c);

	/* A kick before a bounded run ends it before any instruction and is consumed: the next
	 * bounded run goes on to the bound. */
	load_counter(t);
	hv_vcpu_kick(t->vcpu);
	require_ok(hv_vcpu_run_bounded(t->vcpu, &e, BOUND));
	check_eq_int(e.kind, HV_EXIT_INTERRUPTED);
	check_eq_u64(hv_test_reg(t, HV_REG_RAX), 0);
	require_ok(hv_vcpu_run_bounded(t->vcpu, &e, BOUND));
	check_eq_int(e.kind, HV_EXIT_INTERRUPTED);
	check(hv_test_reg(t, HV_REG_RAX) >= BOUND / 3 / 2);

	hv_test_free(t);
	return test_done();
}
