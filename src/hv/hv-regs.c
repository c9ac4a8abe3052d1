// SPDX-License-Identifier: MIT
/* Names of registers, exit kinds and capabilities of the hypervisor layer. */
#include <errno.h>
#include <string.h>

#include "hv/hv-backend.h"

static const char *const reg_names[HV_REG_COUNT] = {
	[HV_REG_RAX] = "rax", [HV_REG_RCX] = "rcx", [HV_REG_RDX] = "rdx", [HV_REG_RBX] = "rbx",
	[HV_REG_RSP] = "rsp", [HV_REG_RBP] = "rbp", [HV_REG_RSI] = "rsi", [HV_REG_RDI] = "rdi",
	[HV_REG_R8] = "r8", [HV_REG_R9] = "r9", [HV_REG_R10] = "r10", [HV_REG_R11] = "r11",
	[HV_REG_R12] = "r12", [HV_REG_R13] = "r13", [HV_REG_R14] = "r14", [HV_REG_R15] = "r15",
	[HV_REG_RIP] = "rip", [HV_REG_RFLAGS] = "rflags",
	[HV_REG_ES] = "es", [HV_REG_CS] = "cs", [HV_REG_SS] = "ss", [HV_REG_DS] = "ds",
	[HV_REG_FS] = "fs", [HV_REG_GS] = "gs", [HV_REG_LDTR] = "ldtr", [HV_REG_TR] = "tr",
	[HV_REG_GDTR] = "gdtr", [HV_REG_IDTR] = "idtr",
	[HV_REG_CR0] = "cr0", [HV_REG_CR2] = "cr2", [HV_REG_CR3] = "cr3", [HV_REG_CR4] = "cr4",
	[HV_REG_CR8] = "cr8",
	[HV_REG_EFER] = "efer", [HV_REG_APIC_BASE] = "apic_base",
	[HV_REG_DR0] = "dr0", [HV_REG_DR1] = "dr1", [HV_REG_DR2] = "dr2", [HV_REG_DR3] = "dr3",
	[HV_REG_DR6] = "dr6", [HV_REG_DR7] = "dr7",
	[HV_REG_TSC] = "tsc", [HV_REG_PAT] = "pat", [HV_REG_KERNEL_GS_BASE] = "kernel_gs_base",
	[HV_REG_SYSENTER_CS] = "sysenter_cs", [HV_REG_SYSENTER_ESP] = "sysenter_esp",
	[HV_REG_SYSENTER_EIP] = "sysenter_eip",
	[HV_REG_STAR] = "star", [HV_REG_LSTAR] = "lstar", [HV_REG_CSTAR] = "cstar",
	[HV_REG_SFMASK] = "sfmask",
};

const char *hv_reg_name(enum hv_reg reg)
{
	return (unsigned)reg < HV_REG_COUNT ? reg_names[reg] : NULL;
}

int hv_reg_from_name(const char *name, enum hv_reg *ret)
{
	if (!name || !ret)
		return -EINVAL;
	for (unsigned i = 0; i < HV_REG_COUNT; i++)
		if (strcmp(name, reg_names[i]) == 0) {
			*ret = (enum hv_reg)i;
			return 0;
		}
	return -ENOENT;
}

enum hv_reg_kind hv_reg_kind(enum hv_reg reg)
{
	if (reg >= HV_REG_ES && reg <= HV_REG_TR)
		return HV_REG_KIND_SEGMENT;
	if (reg == HV_REG_GDTR || reg == HV_REG_IDTR)
		return HV_REG_KIND_TABLE;
	return HV_REG_KIND_U64;
}

const char *hv_exit_kind_name(enum hv_exit_kind kind)
{
	static const char *const names[] = {
		[HV_EXIT_IO] = "io",
		[HV_EXIT_MMIO] = "mmio",
		[HV_EXIT_HALT] = "halt",
		[HV_EXIT_SHUTDOWN] = "shutdown",
		[HV_EXIT_CPUID] = "cpuid",
		[HV_EXIT_MSR] = "msr",
		[HV_EXIT_EXCEPTION] = "exception",
		[HV_EXIT_INTERRUPTED] = "interrupted",
		[HV_EXIT_UNKNOWN] = "unknown",
	};

	return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : NULL;
}

const char *hv_cap_name(uint32_t cap)
{
	switch (cap) {
	case HV_CAP_IRQCHIP: return "irqchip";
	case HV_CAP_LAPIC: return "lapic";
	case HV_CAP_X2APIC: return "x2apic";
	case HV_CAP_GPA_SUPER_PAGES: return "gpa-super-pages";
	case HV_CAP_IOEVENTFD_MMIO: return "ioeventfd-mmio";
	case HV_CAP_IOEVENTFD_PIO: return "ioeventfd-pio";
	case HV_CAP_IRQFD: return "irqfd";
	case HV_CAP_IRQFD_RESAMPLE: return "irqfd-resample";
	case HV_CAP_MSI_ROUTING: return "msi-routing";
	case HV_CAP_ASSERT_INTERRUPT: return "assert-interrupt";
	case HV_CAP_TRANSLATE_GVA: return "translate-gva";
	case HV_CAP_PAUSE: return "pause";
	case HV_CAP_REG_PAGE: return "reg-page";
	case HV_CAP_READONLY_MEM: return "readonly-mem";
	case HV_CAP_NOEXEC_MEM: return "noexec-mem";
	case HV_CAP_NESTED_VIRT: return "nested-virtualization";
	case HV_CAP_SMT_GUEST: return "smt-guest";
	case HV_CAP_CPU_FEATURES: return "cpu-features";
	case HV_CAP_DIRTY_LOG: return "dirty-log";
	case HV_CAP_BOUNDED_RUN: return "bounded-run";
	default: return NULL;
	}
}

uint32_t hv_reg_msr_index(enum hv_reg reg)
{
	switch (reg) {
	case HV_REG_TSC: return 0x10;
	case HV_REG_PAT: return 0x277;
	case HV_REG_KERNEL_GS_BASE: return 0xc0000102;
	case HV_REG_SYSENTER_CS: return 0x174;
	case HV_REG_SYSENTER_ESP: return 0x175;
	case HV_REG_SYSENTER_EIP: return 0x176;
	case HV_REG_STAR: return 0xc0000081;
	case HV_REG_LSTAR: return 0xc0000082;
	case HV_REG_CSTAR: return 0xc0000083;
	case HV_REG_SFMASK: return 0xc0000084;
	default: return 0;
	}
}
