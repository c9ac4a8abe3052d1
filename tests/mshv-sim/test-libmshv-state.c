// SPDX-License-Identifier: MIT
/*
 * libmshv whole-VP state through mshv-sim, under every driver generation: the register list
 * and the VP state components round-trip (set, get, compare), and a VP whose full state is
 * copied to a VP of another partition (with a copy of the memory) runs on identically.
 */
#include "config.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <mshv/mshv.h>

#include "check.h"
#include "guest.h"
#include "sim-test.h"

static bool is_tsc(uint32_t name)
{
	return name == HV_X64_REGISTER_TSC;	/* runs on between two reads */
}

static void test_list(void)
{
	const uint32_t *names;
	size_t n;

	require_ok(mshv_vcpu_get_reg_list(NULL, &names, &n));
	check(n > 100 && n <= MSHV_VP_REG_LIST_MAX);
	/* No duplicates, no read-only register. */
	for (size_t i = 0; i < n; i++) {
		check(names[i] != HV_X64_REGISTER_VP_INDEX && names[i] != HV_X64_REGISTER_MSR_MTRR_CAP);
		for (size_t j = i + 1; j < n; j++)
			if (!check(names[i] != names[j]))
				test_note("duplicate 0x%x", names[i]);
	}
}

/* Set every writable value to something recognisable, get it back. */
static void test_regs_round_trip(struct mshv_vcpu *vcpu)
{
	struct hv_register_assoc regs[MSHV_VP_REG_LIST_MAX], back[MSHV_VP_REG_LIST_MAX];
	size_t n = 0, m = 0;

	check_eq_int(mshv_vcpu_get_all_regs(vcpu, regs, 10, &n), -ENOSPC);
	require_ok(mshv_vcpu_get_all_regs(vcpu, regs, MSHV_VP_REG_LIST_MAX, &n));
	for (size_t i = 0; i < n; i++) {
		uint32_t name = regs[i].name;
		union hv_register_value *v = &regs[i].value;

		if (name >= HV_X64_REGISTER_RAX && name <= HV_X64_REGISTER_R15)
			v->reg64 = 0x1000 + i;
		else if (name >= HV_X64_REGISTER_XMM0 && name <= HV_X64_REGISTER_XMM15) {
			v->reg128.low_part = 0x5a5a0000 + i;
			v->reg128.high_part = 0xa5a50000 + i;
		} else if (name >= HV_X64_REGISTER_DR0 && name <= HV_X64_REGISTER_DR3)
			v->reg64 = 0x40000 + 8 * i;
		else if (name == HV_X64_REGISTER_LSTAR || name == HV_X64_REGISTER_KERNEL_GS_BASE ||
			 name == HV_X64_REGISTER_SYSENTER_EIP || name == HV_X64_REGISTER_HYPERCALL)
			v->reg64 = 0xffff800000001000ULL + i;
		else if (name == HV_X64_REGISTER_MSR_MTRR_PHYS_BASE(1))
			v->reg64 = 0x80000006;
		else if (name == HV_X64_REGISTER_CR2)
			v->reg64 = 0xdead000;
	}
	require_ok(mshv_vcpu_set_all_regs(vcpu, regs, n));
	require_ok(mshv_vcpu_get_all_regs(vcpu, back, MSHV_VP_REG_LIST_MAX, &m));
	require(check_eq_u64(m, n));
	for (size_t i = 0; i < n; i++) {
		check_eq_u64(back[i].name, regs[i].name);
		if (is_tsc(regs[i].name))
			continue;
		if (!check(memcmp(&back[i].value, &regs[i].value, sizeof(regs[i].value)) == 0))
			test_note("register 0x%x: 0x%llx != 0x%llx", regs[i].name,
				  (unsigned long long)back[i].value.reg64,
				  (unsigned long long)regs[i].value.reg64);
	}
	check_ok(mshv_vcpu_set_all_regs(vcpu, regs, 0));
}

static void test_components_round_trip(struct mshv_vcpu *vcpu)
{
	struct mshv_vp_state_components *s, *back;
	struct hv_register_assoc xmm3 = { .name = HV_X64_REGISTER_XMM3 };
	uint32_t lint0 = 0x700;			/* ExtINT, as QEMU's set_lint */
	uint64_t xmm_low = 0x0123456789abcdefULL;

	require_ok(mshv_vcpu_get_vp_state_components(vcpu, &s));
	check_eq_u64(s->size[MSHV_VP_STATE_LAPIC], 4096);
	check_eq_u64(s->size[MSHV_VP_STATE_SIMP], 4096);
	check_eq_u64(s->size[MSHV_VP_STATE_SIEFP], 4096);
	check_eq_u64(s->size[MSHV_VP_STATE_SYNTHETIC_TIMERS], sizeof(struct hv_synthetic_timers_state));
	check(s->size[MSHV_VP_STATE_XSAVE] >= 576);	/* legacy area + XSAVE header */
	memcpy((uint8_t *)s->data[MSHV_VP_STATE_LAPIC] + 140, &lint0, 4);	/* lvt_lint0 */
	memcpy((uint8_t *)s->data[MSHV_VP_STATE_XSAVE] + 160 + 3 * 16, &xmm_low, 8);
	memset(s->data[MSHV_VP_STATE_SIMP], 0x11, 64);
	memset(s->data[MSHV_VP_STATE_SIEFP], 0x22, 64);
	memset(s->data[MSHV_VP_STATE_SYNTHETIC_TIMERS], 0x33, 48);
	require_ok(mshv_vcpu_set_vp_state_components(vcpu, s));
	require_ok(mshv_vcpu_get_vp_state_components(vcpu, &back));
	for (int t = 0; t < MSHV_VP_STATE_COUNT; t++) {
		check_eq_u64(back->size[t], s->size[t]);
		if (!check(memcmp(back->data[t], s->data[t], s->size[t]) == 0))
			test_note("component %d differs", t);
	}
	/* XSAVE and the XMM registers are the same state. */
	check_ok(mshv_vcpu_get_reg(vcpu, &xmm3, 1));
	check_eq_u64(xmm3.value.reg128.low_part, xmm_low);
	/* A component left out (NULL) is not written. */
	free(back->data[MSHV_VP_STATE_SIMP]);
	back->data[MSHV_VP_STATE_SIMP] = NULL;
	check_ok(mshv_vcpu_set_vp_state_components(vcpu, back));
	mshv_vp_state_components_free(back);
	mshv_vp_state_components_free(s);
	check(mshv_vp_state_components_free(NULL) == NULL);
	check_eq_int(mshv_vcpu_get_vp_state_components(vcpu, NULL), -EINVAL);
}

struct guest {
	struct mshv_vm *vm;
	struct mshv_vcpu *vcpu;
	uint8_t *ram;
	struct mshv_user_mem_region region;
};

static void guest_map(struct mshv *m, struct guest *g, uint8_t *ram)
{
	g->ram = ram;
	require_ok(mshv_create_vm(m, &g->vm));
	g->region = (struct mshv_user_mem_region){
		.size = GUEST_RAM_SIZE, .guest_pfn = 0, .userspace_addr = (uintptr_t)ram,
		.flags = MSHV_BITS(MSHV_SET_MEM_BIT_WRITABLE, MSHV_SET_MEM_BIT_EXECUTABLE),
	};
	require_ok(mshv_vm_map_user_memory(g->vm, &g->region));
	require_ok(mshv_vm_create_vcpu(g->vm, 0, &g->vcpu));
}

static void guest_free(struct guest *g)
{
	mshv_vcpu_free(g->vcpu);
	check_ok(mshv_vm_unmap_user_memory(g->vm, &g->region));
	mshv_vm_free(g->vm);
	munmap(g->ram, GUEST_RAM_SIZE);
}

/* Run to the next port write (skipping it); its port and value. */
static int next_out(struct guest *g, uint16_t *port, uint32_t *value)
{
	for (int i = 0; i < 100; i++) {
		struct hv_x64_io_port_intercept_message io;
		struct hv_message msg;
		struct mshv_reg64 rip;
		int r = mshv_vcpu_run(g->vcpu, &msg);

		if (r == -EINTR)
			continue;
		if (r < 0)
			return r;
		if (mshv_msg_io_port(&msg, &io) < 0)
			return -EPROTO;
		rip = (struct mshv_reg64){ HV_X64_REGISTER_RIP,
					   io.header.rip + io.header.instruction_length };
		r = mshv_vcpu_set_registers64(g->vcpu, &rip, 1);
		if (r < 0)
			return r;
		*port = io.port_number;
		*value = (uint32_t)io.rax;
		return 0;
	}
	return -ELOOP;
}

/* The rest of the run as text: "port=value " per write, up to DONE. */
static void run_rest(struct guest *g, char *out, size_t cap)
{
	size_t len = 0;

	out[0] = '\0';
	for (int i = 0; i < 64; i++) {
		uint16_t port;
		uint32_t value;

		if (!check_ok(next_out(g, &port, &value)))
			return;
		if (port == GUEST_PORT_CONSOLE)
			value &= 0xff;		/* an 8-bit OUT: the rest of RAX is stale */
		len += (size_t)snprintf(out + len, cap - len, "%x=%x ", port, value);
		if (port == GUEST_PORT_DONE || len >= cap)
			return;
	}
}

static void test_copy_runs_on(struct mshv *m)
{
	struct hv_register_assoc regs[MSHV_VP_REG_LIST_MAX], a_end[MSHV_VP_REG_LIST_MAX],
		b_end[MSHV_VP_REG_LIST_MAX];
	struct hv_register_assoc cs = { .name = HV_X64_REGISTER_CS };
	const struct mshv_reg64 start[] = {
		{ HV_X64_REGISTER_RIP, GUEST_LOAD_GPA }, { HV_X64_REGISTER_RFLAGS, 2 },
	};
	struct mshv_vp_state_components *s;
	char a_out[256], b_out[256];
	struct guest a, b;
	size_t n, na, nb, size;
	uint16_t port;
	uint32_t value;
	uint8_t *copy;

	guest_map(m, &a, sim_test_guest_ram("tests/guests/long-hello.bin", &size));
	require(size == GUEST_RAM_SIZE);
	require_ok(mshv_vcpu_get_reg(a.vcpu, &cs, 1));
	cs.value.segment.base = 0;
	cs.value.segment.selector = 0;
	require_ok(mshv_vcpu_set_reg(a.vcpu, &cs, 1));
	require_ok(mshv_vcpu_set_registers64(a.vcpu, start, 2));
	/* Into long mode, up to the first VALUE write. */
	require_ok(next_out(&a, &port, &value));
	check_eq_u64(port, GUEST_PORT_VALUE);
	check_eq_u64(value, 0xabcdf001);

	/* Snapshot: components, registers, memory; restore all three in a new partition. */
	require_ok(mshv_vcpu_get_vp_state_components(a.vcpu, &s));
	require_ok(mshv_vcpu_get_all_regs(a.vcpu, regs, MSHV_VP_REG_LIST_MAX, &n));
	copy = mmap(NULL, GUEST_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	require(copy != MAP_FAILED);
	memcpy(copy, a.ram, GUEST_RAM_SIZE);
	guest_map(m, &b, copy);
	require_ok(mshv_vcpu_set_vp_state_components(b.vcpu, s));
	require_ok(mshv_vcpu_set_all_regs(b.vcpu, regs, n));
	mshv_vp_state_components_free(s);

	run_rest(&a, a_out, sizeof(a_out));
	run_rest(&b, b_out, sizeof(b_out));
	check_eq_str(b_out, a_out);
	check(strstr(a_out, "3f8=4f 3f8=4b") != NULL);	/* "OK" */
	require_ok(mshv_vcpu_get_all_regs(a.vcpu, a_end, MSHV_VP_REG_LIST_MAX, &na));
	require_ok(mshv_vcpu_get_all_regs(b.vcpu, b_end, MSHV_VP_REG_LIST_MAX, &nb));
	require(check_eq_u64(na, nb));
	for (size_t i = 0; i < na; i++)
		if (!is_tsc(a_end[i].name) &&
		    !check(memcmp(&a_end[i].value, &b_end[i].value, sizeof(a_end[i].value)) == 0))
			test_note("register 0x%x differs after the run", a_end[i].name);
	check(memcmp(a.ram, b.ram, GUEST_RAM_SIZE) == 0);
	guest_free(&b);
	guest_free(&a);
}

static const char *const gens[] = { "6.15", "6.19", "7.0-rc1", "7.0", "ms-2025", "ms" };

int main(int argc, char **argv)
{
	(void)argc;
	sim_test_init(argv);
	test_list();
	for (size_t g = 0; g < sizeof(gens) / sizeof(gens[0]); g++) {
		struct mshv_vcpu *vcpu;
		struct mshv_vm *vm;
		struct mshv *m;

		setenv("MSHV_SIM_GEN", gens[g], 1);
		test_note("generation %s", gens[g]);
		require_ok(mshv_open(&m));
		require_ok(mshv_create_vm(m, &vm));
		require_ok(mshv_vm_create_vcpu(vm, 1, &vcpu));
		test_regs_round_trip(vcpu);
		test_components_round_trip(vcpu);
		mshv_vcpu_free(vcpu);
		mshv_vm_free(vm);
		test_copy_runs_on(m);
		mshv_free(m);
	}
	return test_done();
}
