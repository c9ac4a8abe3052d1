// SPDX-License-Identifier: MIT
/* Long mode toolchain check on raw KVM: 64-bit result on VALUE, "OK\n" on the console, status 0. */
#include <sys/ioctl.h>

#include "check.h"
#include "guest.h"
#include "kvm-guest.h"

int main(void)
{
	struct kvm_guest *g = kvm_guest_new_or_skip("tests/guests/long-hello.bin");
	struct kvm_sregs sregs;
	uint32_t values[2];
	char console[16] = "";
	unsigned nvalues = 0, nconsole = 0;
	int r, done = -1;

	for (int i = 0; i < 64; i++) {
		r = kvm_guest_run(g);
		if (r != KVM_EXIT_IO)
			break;
		require(check_eq_int(g->run->io.direction, KVM_EXIT_IO_OUT));
		if (g->run->io.port == GUEST_PORT_VALUE && nvalues < 2)
			values[nvalues++] = kvm_guest_io_data(g);
		else if (g->run->io.port == GUEST_PORT_CONSOLE && nconsole + 1 < sizeof(console))
			console[nconsole++] = (char)kvm_guest_io_data(g);
		else if (g->run->io.port == GUEST_PORT_DONE)
			done = (int)kvm_guest_io_data(g);
		else
			check_report(__FILE__, __LINE__, "known port", "port 0x%x", g->run->io.port);
	}
	check_eq_int(r, KVM_EXIT_HLT);
	require(check_eq_int(nvalues, 2));
	check_eq_u64(((uint64_t)values[1] << 32) | values[0], 0x23456789abcdf001ull);
	check_eq_str(console, "OK\n");
	check_eq_int(done, 0);

	/* The guest really is in 64-bit mode: EFER.LMA and CS.L. */
	require_ok(ioctl(g->vcpu_fd, KVM_GET_SREGS, &sregs) < 0 ? -errno : 0);
	check(sregs.efer & 0x400);
	check_eq_int(sregs.cs.l, 1);

	kvm_guest_free(g);
	return test_done();
}
