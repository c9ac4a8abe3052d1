// SPDX-License-Identifier: MIT
/* Snapshots of a vCPU with a LAPIC: the registers the guest programmed come back on a clone. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "guest.h"
#include "hv-test.h"

/* Mirrored in tests/guests/hv-snapshot-lapic.S. */
#define SNAP_PORT	0x640
#define NVALUES		5

static const uint32_t want[NVALUES] = {
	0x1ff,		/* SVR: enabled, spurious vector 0xff */
	0x20,		/* TPR */
	0x03000000,	/* LDR */
	0x700,		/* LVT LINT0: ExtINT */
	0x400,		/* LVT LINT1: NMI */
};

static struct hv_test *lapic_vm(const char *guest)
{
	const struct hv_vm_options opts = { .lapic = true };
	struct hv_test *t;
	int r = hv_test_new_with(hv_test_backend(), guest, &opts, &t);

	if (r == -ENOENT || r == -EACCES || r == -ENODEV || r == -EPERM || r == -ENXIO ||
	    r == -EOPNOTSUPP)
		test_skip("no VM with a LAPIC on the %s backend: %s",
			  getenv("HV_TEST_BACKEND") ?: "kvm", strerror(-r));
	if (r < 0)
		test_error("cannot set up a VM with a LAPIC: %s", strerror(-r));
	return t;
}

/* Run to DONE (not into the halt after it: with a LAPIC, a backend may wait there for an
 * interrupt); the VALUE reports into values[NVALUES]. */
static void run_out(struct hv_vcpu *vcpu, uint32_t *values, bool snap_first)
{
	unsigned n = 0;
	bool done = false;

	while (!done) {
		struct hv_completion c = { 0 };
		struct hv_exit e;

		require_ok(hv_vcpu_run(vcpu, &e));
		if (e.kind != HV_EXIT_IO || !e.io.write) {
			hv_test_print_exit("unexpected exit: ", &e);
			check(false);
			break;
		}
		if (snap_first) {
			check_eq_int(e.io.port, SNAP_PORT);
			snap_first = false;
		} else if (e.io.port == GUEST_PORT_VALUE && n < NVALUES) {
			values[n++] = (uint32_t)e.io.data;
		} else if (e.io.port == GUEST_PORT_DONE) {
			check_eq_u64(e.io.data, 0);
			done = true;
		}
		require_ok(hv_vcpu_complete(vcpu, &c));
	}
	check(done);
	check_eq_int(n, NVALUES);
}

int main(void)
{
	struct hv_test *t = lapic_vm("hv-snapshot-lapic"), *c;
	uint32_t first[NVALUES] = { 0 }, cloned[NVALUES] = { 0 };
	struct hv_exit e;
	uint8_t *ram;
	void *blob;
	size_t size;

	require_ok(hv_vcpu_run(t->vcpu, &e));
	require(check(e.kind == HV_EXIT_IO && e.io.port == SNAP_PORT));
	require_ok(hv_vcpu_save_state(t->vcpu, &blob, &size));
	ram = malloc(GUEST_RAM_SIZE);
	require(ram);
	memcpy(ram, t->ram, GUEST_RAM_SIZE);
	require_ok(hv_vcpu_complete(t->vcpu, NULL));
	run_out(t->vcpu, first, false);
	for (unsigned i = 0; i < NVALUES; i++)
		if (!check_eq_u64(first[i], want[i]))
			printf("first run: LAPIC value %u\n", i);

	/* A clone starts with a reset LAPIC: the values come from the blob or not at all. */
	c = lapic_vm(NULL);
	memcpy(c->ram, ram, GUEST_RAM_SIZE);
	require_ok(hv_vcpu_restore_state(c->vcpu, blob, size));
	run_out(c->vcpu, cloned, true);
	for (unsigned i = 0; i < NVALUES; i++)
		if (!check_eq_u64(cloned[i], want[i]))
			printf("clone: LAPIC value %u\n", i);
	hv_test_free(c);

	/* The LAPIC part has nowhere to go in a VM without one. */
	if (hv_test_backend() == HV_BACKEND_MSHV) {
		require_ok(hv_test_new(hv_test_backend(), NULL, &c));
		check_eq_int(hv_vcpu_restore_state(c->vcpu, blob, size), -EINVAL);
		hv_test_free(c);
	}
	free(blob);
	free(ram);
	hv_test_free(t);
	return test_done();
}
