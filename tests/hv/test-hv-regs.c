// SPDX-License-Identifier: MIT
/* Unit test of the name tables: registers, register kinds, exit kinds, capabilities, backends. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "hv/hv.h"

int main(void)
{
	enum hv_backend b;
	enum hv_reg r;
	unsigned ncaps = 0;

	for (unsigned i = 0; i < HV_REG_COUNT; i++) {
		const char *name = hv_reg_name((enum hv_reg)i);

		if (!check(name != NULL))
			continue;
		check_ok(hv_reg_from_name(name, &r));
		check_eq_int(r, i);
		for (unsigned j = 0; j < i; j++)
			check(strcmp(name, hv_reg_name((enum hv_reg)j)) != 0);
	}
	check_eq_str(hv_reg_name(HV_REG_RAX), "rax");
	check_eq_str(hv_reg_name(HV_REG_APIC_BASE), "apic_base");
	check_eq_str(hv_reg_name(HV_REG_GDTR), "gdtr");
	check_eq_str(hv_reg_name(HV_REG_DR7), "dr7");
	check(hv_reg_name(HV_REG_COUNT) == NULL);
	check_eq_int(hv_reg_from_name("xmm0", &r), -ENOENT);
	check_eq_int(hv_reg_from_name("RAX", &r), -ENOENT);
	check_eq_int(hv_reg_from_name("", &r), -ENOENT);

	check_eq_int(hv_reg_kind(HV_REG_RIP), HV_REG_KIND_U64);
	check_eq_int(hv_reg_kind(HV_REG_ES), HV_REG_KIND_SEGMENT);
	check_eq_int(hv_reg_kind(HV_REG_TR), HV_REG_KIND_SEGMENT);
	check_eq_int(hv_reg_kind(HV_REG_LDTR), HV_REG_KIND_SEGMENT);
	check_eq_int(hv_reg_kind(HV_REG_IDTR), HV_REG_KIND_TABLE);
	check_eq_int(hv_reg_kind(HV_REG_CR0), HV_REG_KIND_U64);
	check_eq_int(hv_reg_kind(HV_REG_SFMASK), HV_REG_KIND_U64);

	for (unsigned k = HV_EXIT_IO; k <= HV_EXIT_UNKNOWN; k++)
		check(hv_exit_kind_name((enum hv_exit_kind)k) != NULL);
	check_eq_str(hv_exit_kind_name(HV_EXIT_IO), "io");
	check_eq_str(hv_exit_kind_name(HV_EXIT_MMIO), "mmio");
	check_eq_str(hv_exit_kind_name(HV_EXIT_HALT), "halt");
	check_eq_str(hv_exit_kind_name(HV_EXIT_UNKNOWN), "unknown");
	check(hv_exit_kind_name((enum hv_exit_kind)99) == NULL);

	for (unsigned bit = 0; bit < 32; bit++) {
		const char *name = hv_cap_name(1u << bit);

		if (name)
			ncaps++;
	}
	check_eq_int(ncaps, 20);
	check_eq_str(hv_cap_name(HV_CAP_NESTED_VIRT), "nested-virtualization");
	check_eq_str(hv_cap_name(HV_CAP_SMT_GUEST), "smt-guest");
	check_eq_str(hv_cap_name(HV_CAP_CPU_FEATURES), "cpu-features");
	check_eq_str(hv_cap_name(HV_CAP_IOEVENTFD_PIO), "ioeventfd-pio");
	check_eq_str(hv_cap_name(HV_CAP_DIRTY_LOG), "dirty-log");
	check_eq_str(hv_cap_name(HV_CAP_BOUNDED_RUN), "bounded-run");
	check(hv_cap_name(HV_CAP_IRQCHIP | HV_CAP_LAPIC) == NULL);

	check_ok(hv_backend_from_name("kvm", &b));
	check_eq_int(b, HV_BACKEND_KVM);
	check_ok(hv_backend_from_name("mshv", &b));
	check_eq_int(b, HV_BACKEND_MSHV);
	check_ok(hv_backend_from_name("emu", &b));
	check_eq_int(b, HV_BACKEND_EMU);
	check_ok(hv_backend_from_name("auto", &b));
	check_eq_int(b, HV_BACKEND_AUTO);
	check_eq_int(hv_backend_from_name("xen", &b), -ENOENT);
	return test_done();
}
