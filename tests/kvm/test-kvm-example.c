// SPDX-License-Identifier: MIT
/* The mshv-ioctls documentation example on raw KVM: exact exits '4', 0, then halt. */
#include "check.h"
#include "guest.h"
#include "kvm-guest.h"

int main(void)
{
	struct kvm_guest *g = kvm_guest_new_or_skip("tests/guests/example.bin");
	struct kvm_regs regs;

	require_ok(kvm_guest_get_regs(g, &regs));
	regs.rax = 2;
	regs.rbx = 2;
	require_ok(kvm_guest_set_regs(g, &regs));

	require(check_eq_int(kvm_guest_run(g), KVM_EXIT_IO));
	check_eq_int(g->run->io.direction, KVM_EXIT_IO_OUT);
	check_eq_int(g->run->io.port, GUEST_PORT_CONSOLE);
	check_eq_int(g->run->io.size, 1);
	check_eq_int(g->run->io.count, 1);
	check_eq_u64(kvm_guest_io_data(g), '4');

	require(check_eq_int(kvm_guest_run(g), KVM_EXIT_IO));
	check_eq_int(g->run->io.direction, KVM_EXIT_IO_OUT);
	check_eq_int(g->run->io.port, GUEST_PORT_CONSOLE);
	check_eq_int(g->run->io.size, 1);
	check_eq_u64(kvm_guest_io_data(g), 0);

	require(check_eq_int(kvm_guest_run(g), KVM_EXIT_HLT));
	require_ok(kvm_guest_get_regs(g, &regs));
	/* KVM reports RIP past the hlt: 12 bytes of code from 0x1000. */
	check_eq_u64(regs.rip, GUEST_LOAD_GPA + 12);

	kvm_guest_free(g);
	return test_done();
}
