// SPDX-License-Identifier: MIT
/* guest-run: run a flat test guest on /dev/kvm and print its console output (used by scripts/demo). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "guest.h"
#include "kvm-guest.h"

int main(int argc, char **argv)
{
	struct kvm_guest *g;
	struct kvm_regs regs;
	int r, exits = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: guest-run GUEST.bin [RAX RBX]\n");
		return 2;
	}
	r = kvm_guest_new(&g);
	if (r < 0) {
		fprintf(stderr, "guest-run: cannot use /dev/kvm: %s\n", strerror(-r));
		return 1;
	}
	r = kvm_guest_load(g, argv[1], GUEST_LOAD_GPA);
	if (r < 0) {
		fprintf(stderr, "guest-run: cannot load %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	if (argc >= 4) {
		kvm_guest_get_regs(g, &regs);
		regs.rax = strtoull(argv[2], NULL, 0);
		regs.rbx = strtoull(argv[3], NULL, 0);
		kvm_guest_set_regs(g, &regs);
	}
	for (;;) {
		r = kvm_guest_run(g);
		exits++;
		if (r == KVM_EXIT_IO && g->run->io.direction == KVM_EXIT_IO_OUT) {
			uint32_t v = kvm_guest_io_data(g);

			if (g->run->io.port == GUEST_PORT_CONSOLE && v != 0)
				putchar((int)v);
			else if (g->run->io.port == GUEST_PORT_CONSOLE)
				fprintf(stderr, "[guest wrote 0 to port 0x%x]\n", GUEST_PORT_CONSOLE);
			else
				fprintf(stderr, "[guest wrote 0x%x to port 0x%x]\n", v, g->run->io.port);
			continue;
		}
		break;
	}
	putchar('\n');
	fprintf(stderr, "[guest stopped: %s after %d exits]\n",
		r == KVM_EXIT_HLT ? "halt" : "unexpected exit", exits);
	kvm_guest_free(g);
	return r == KVM_EXIT_HLT ? 0 : 1;
}
