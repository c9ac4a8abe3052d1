// SPDX-License-Identifier: MIT
/* libmshv running real guests through mshv-sim: intercept decoding, RIP advance, EINTR, dirty log. */
#include "config.h"
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <mshv/mshv.h>

#include "check.h"
#include "guest.h"
#include "sim-test.h"

struct guest {
	struct mshv *m;
	struct mshv_vm *vm;
	struct mshv_vcpu *vcpu;
	uint8_t *ram;
	size_t ram_size;
	struct mshv_user_mem_region region;
};

static void guest_open(struct guest *g, const char *bin, bool dirty_tracking)
{
	struct hv_register_assoc cs = { .name = HV_X64_REGISTER_CS };
	const struct mshv_reg64 regs[] = {
		{ HV_X64_REGISTER_RIP, GUEST_LOAD_GPA }, { HV_X64_REGISTER_RFLAGS, 2 },
	};

	require_ok(mshv_open(&g->m));
	require_ok(mshv_create_vm(g->m, &g->vm));	/* LAPIC | X2APIC | super pages */
	if (dirty_tracking)
		require_ok(mshv_vm_enable_dirty_page_tracking(g->vm));
	g->ram = sim_test_guest_ram(bin, &g->ram_size);
	g->region = (struct mshv_user_mem_region){
		.size = g->ram_size, .guest_pfn = 0, .userspace_addr = (uintptr_t)g->ram,
		.flags = MSHV_BITS(MSHV_SET_MEM_BIT_WRITABLE, MSHV_SET_MEM_BIT_EXECUTABLE),
	};
	require_ok(mshv_vm_map_user_memory(g->vm, &g->region));
	require_ok(mshv_vm_create_vcpu(g->vm, 0, &g->vcpu));
	require_ok(mshv_vcpu_get_reg(g->vcpu, &cs, 1));
	cs.value.segment.base = 0;
	cs.value.segment.selector = 0;
	require_ok(mshv_vcpu_set_reg(g->vcpu, &cs, 1));
	require_ok(mshv_vcpu_set_registers64(g->vcpu, regs, 2));
}

static void guest_close(struct guest *g)
{
	mshv_vcpu_free(g->vcpu);
	check_ok(mshv_vm_unmap_user_memory(g->vm, &g->region));
	mshv_vm_free(g->vm);
	mshv_free(g->m);
	munmap(g->ram, g->ram_size);
}

static void advance(struct guest *g, const struct hv_x64_intercept_message_header *h)
{
	struct mshv_reg64 rip = { HV_X64_REGISTER_RIP, h->rip + h->instruction_length };

	check(h->instruction_length > 0);
	check_ok(mshv_vcpu_set_registers64(g->vcpu, &rip, 1));
}

/* Run a tests/guests program to its DONE port write: console text, VALUE words, status. */
static int run_to_done(struct guest *g, char *console, size_t cap, uint32_t *values, size_t *nvalues)
{
	size_t nc = 0, nv = 0;

	for (int exits = 0; exits < 10000; exits++) {
		struct hv_x64_io_port_intercept_message io;
		struct hv_message msg;
		struct hv_vp_register_page *page;
		int r = mshv_vcpu_run(g->vcpu, &msg);

		if (r == -EINTR)
			continue;
		if (r < 0)
			return r;
		if (mshv_msg_io_port(&msg, &io) < 0) {
			test_note("unexpected %s", mshv_msg_type_name(msg.header.message_type));
			return -EPROTO;
		}
		check_eq_int(io.header.intercept_access_type, HV_X64_INTERCEPT_ACCESS_WRITE);
		if (io.port_number == GUEST_PORT_CONSOLE && nc + 1 < cap)
			console[nc++] = (char)io.rax;
		else if (io.port_number == GUEST_PORT_VALUE && nv < *nvalues)
			values[nv++] = (uint32_t)io.rax;
		/* Advance through the register page, the fast path real VMMs use. */
		page = mshv_vcpu_reg_page(g->vcpu);
		require(page && page->isvalid);
		check_eq_u64(page->rip, io.header.rip);
		page->rip = io.header.rip + io.header.instruction_length;
		page->dirty |= 1u << HV_X64_REGISTER_CLASS_IP;
		if (io.port_number == GUEST_PORT_DONE) {
			console[nc] = '\0';
			*nvalues = nv;
			return (int)(uint32_t)io.rax;
		}
	}
	return -ELOOP;
}

static void test_long_mode(void)
{
	char console[64];
	uint32_t values[4];
	size_t nv = 4;
	uint8_t bitmap[GUEST_RAM_SIZE / 4096 / 8];
	struct hv_message msg;
	struct guest g;

	guest_open(&g, "tests/guests/long-hello.bin", true);
	/* Nothing written yet. */
	require_ok(mshv_vm_get_dirty_log(g.vm, 0, GUEST_RAM_SIZE / 4096, bitmap));
	for (size_t i = 0; i < sizeof(bitmap); i++)
		check_eq_int(bitmap[i], 0);

	check_eq_int(run_to_done(&g, console, sizeof(console), values, &nv), 0);
	check_eq_str(console, "OK\n");
	require(check_eq_int(nv, 2));
	check_eq_u64(values[0], 0xabcdf001);
	check_eq_u64(values[1], 0x23456789);
	/* The halt after DONE is reported (in-kernel LAPIC: detected by the sim's monitor). */
	require_ok(mshv_vcpu_run(g.vcpu, &msg));
	check_eq_u64(msg.header.message_type, HVMSG_X64_HALT);

	/* The guest wrote its page tables (0x9000-0xbfff) and its stack (below 0x80000). */
	require_ok(mshv_vm_get_dirty_log(g.vm, 0, GUEST_RAM_SIZE / 4096, bitmap));
	check(bitmap[0x9 / 8] & (1u << (0x9 % 8)));
	check(bitmap[0xb / 8] & (1u << (0xb % 8)));
	check(bitmap[0x7f / 8] & (1u << (0x7f % 8)));
	check(!(bitmap[0x40 / 8] & (1u << (0x40 % 8))));
	/* get_dirty_log clears: a second read is empty. */
	require_ok(mshv_vm_get_dirty_log(g.vm, 0, GUEST_RAM_SIZE / 4096, bitmap));
	check_eq_int(bitmap[0x9 / 8] & (1u << (0x9 % 8)), 0);
	/* Marking every page dirty (before disabling tracking): the next read has them all. */
	require_ok(mshv_vm_set_dirty_bits(g.vm, 0, GUEST_RAM_SIZE / 4096));
	require_ok(mshv_vm_get_dirty_log(g.vm, 0, GUEST_RAM_SIZE / 4096, bitmap));
	for (size_t i = 0; i < sizeof(bitmap); i++)
		check_eq_int(bitmap[i], 0xff);
	/* Pages 3..12 only: the bitmap's first bit is page 3, the unused bits are 0. */
	require_ok(mshv_vm_set_dirty_bits(g.vm, 3, 10));
	memset(bitmap, 0xaa, sizeof(bitmap));
	require_ok(mshv_vm_get_dirty_log(g.vm, 0, 16, bitmap));
	check_eq_int(bitmap[0], 0xf8);
	check_eq_int(bitmap[1], 0x1f);
	/* NOOP is no peek: the mainline driver sets the bits (fact sheet §3.9). */
	check_ok(mshv_vm_get_gpap_access_bitmap(g.vm, MSHV_GPAP_ACCESS_TYPE_DIRTY,
						MSHV_GPAP_ACCESS_OP_NOOP, 24, 8, bitmap));
	check_eq_int(bitmap[0], 0);
	require_ok(mshv_vm_get_dirty_log(g.vm, 24, 8, bitmap));
	check_eq_int(bitmap[0], 0xff);
	check_ok(mshv_vm_disable_dirty_page_tracking(g.vm));
	check_eq_int(mshv_vm_set_dirty_bits(g.vm, 0, 8), -EINVAL);
	guest_close(&g);
}

/* MMIO through libmshv's decoder, real mode (the MMIO half of tests/guests/sim-io.S). */
static void test_mmio(void)
{
	struct hv_x64_memory_intercept_message mm;
	struct hv_x64_io_port_intercept_message io;
	struct hv_message msg;
	struct guest g;

	guest_open(&g, "tests/guests/sim-io.bin", false);
	/* Skip the port I/O part: jump to the MMIO part at 0x1024. */
	{
		const struct mshv_reg64 r[] = { { HV_X64_REGISTER_RIP, 0x1024 } };

		require_ok(mshv_vcpu_set_registers64(g.vcpu, r, 1));
	}
	require_ok(mshv_vcpu_run(g.vcpu, &msg));
	require_ok(mshv_msg_memory(&msg, &mm));
	check_eq_u64(msg.header.message_type, HVMSG_UNMAPPED_GPA);
	check_eq_u64(mm.guest_physical_address, GUEST_MMIO_BASE + 0x10);
	check_eq_int(mm.header.intercept_access_type, HV_X64_INTERCEPT_ACCESS_WRITE);
	check_eq_u64(mm.header.rip, 0x102b);
	check_eq_int(mm.instruction_bytes[0], 0xc6);
	check_eq_int(mm.instruction_bytes[4], 0x5a);
	check_eq_int(mshv_msg_io_port(&msg, &io), -EINVAL);		/* wrong type */
	msg.header.payload_size = 8;
	check_eq_int(mshv_msg_memory(&msg, &mm), -EINVAL);		/* truncated */
	guest_close(&g);
}

static void on_signal(int sig)
{
	(void)sig;
}

static void *kick(void *arg)
{
	struct timespec ts = { 0, 50 * 1000000L };

	nanosleep(&ts, NULL);
	pthread_kill(*(pthread_t *)arg, SIGUSR1);
	return NULL;
}

static void test_eintr(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	pthread_t self = pthread_self(), t;
	struct hv_message msg;
	struct guest g;

	sigaction(SIGUSR1, &sa, NULL);
	guest_open(&g, "tests/guests/example.bin", false);
	g.ram[GUEST_LOAD_GPA] = 0xeb;		/* jmp . */
	g.ram[GUEST_LOAD_GPA + 1] = 0xfe;
	require(pthread_create(&t, NULL, kick, &self) == 0);
	check_eq_int(mshv_vcpu_run(g.vcpu, &msg), -EINTR);
	pthread_join(t, NULL);
	guest_close(&g);
}

/* A CPUID override reaches the guest: cpuid leaf 0 then EBX on the VALUE port. */
static void test_cpuid_override(void)
{
	static const uint8_t code[] = {
		0x66, 0x31, 0xc0,		/* xor %eax,%eax */
		0x0f, 0xa2,			/* cpuid */
		0x66, 0x89, 0xd8,		/* mov %ebx,%eax */
		0xba, 0x00, 0x06,		/* mov $0x600,%dx */
		0x66, 0xef,			/* out %eax,(%dx) */
		0xf4,
	};
	struct hv_register_x64_cpuid_result_parameters p = {
		.input = { .eax = 0, .always_override = 1 },
		.result = { .ebx = 0x6d697320, .ebx_mask = 0xffffffff },
	};
	struct hv_x64_io_port_intercept_message io;
	struct hv_message msg;
	struct guest g;

	guest_open(&g, "tests/guests/example.bin", false);
	memcpy(g.ram + GUEST_LOAD_GPA, code, sizeof(code));
	require_ok(mshv_vcpu_register_intercept_result_cpuid(g.vcpu, &p));
	require_ok(mshv_vcpu_run(g.vcpu, &msg));
	require_ok(mshv_msg_io_port(&msg, &io));
	check_eq_u64(io.rax, 0x6d697320);
	check_eq_int(io.header.instruction_length, 2);
	advance(&g, &io.header);
	guest_close(&g);
}

int main(int argc, char **argv)
{
	(void)argc;
	sim_test_init(argv);
	test_long_mode();
	test_mmio();
	test_eintr();
	test_cpuid_override();
	return test_done();
}
