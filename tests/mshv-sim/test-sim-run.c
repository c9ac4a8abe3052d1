// SPDX-License-Identifier: MIT
/*
 * mshv-sim raw ioctls: MSHV_RUN_VP on real guests.  Every intercept must carry the state before
 * the instruction (RIP not advanced), and running again without advancing repeats it.
 */
#include "config.h"
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "guest.h"
#include "sim-test.h"

struct vm {
	int dev, pt, vp;
	uint8_t *ram;
	size_t ram_size;
	struct hv_vp_register_page *page;
	struct hv_message *msg_page;
};

static void set_reg(struct vm *v, uint32_t name, uint64_t val)
{
	struct {
		struct hv_input_set_vp_registers h;
		struct hv_register_assoc a;
	} in = { .a = { .name = name, .value.reg64 = val } };
	uint16_t reps = 0;

	check_eq_int(sim_test_hvcall(v->vp, HVCALL_SET_VP_REGISTERS, 1, &in, sizeof(in), NULL, 0,
				     NULL, &reps), 0);
	check_eq_int(reps, 1);
}

static uint64_t get_reg(struct vm *v, uint32_t name)
{
	struct {
		struct hv_input_get_vp_registers h;
		uint32_t name;
	} in = { .name = name };
	union hv_register_value out = { 0 };

	check_eq_int(sim_test_hvcall(v->vp, HVCALL_GET_VP_REGISTERS, 1, &in, sizeof(in), &out,
				     sizeof(out), NULL, NULL), 0);
	return out.reg64;
}

static void vm_open(struct vm *v, uint64_t pt_flags, const char *guest)
{
	struct mshv_create_partition cp = { .pt_flags = pt_flags };
	struct mshv_create_vp cv = { 0 };
	struct mshv_user_mem_region m;
	struct {
		struct hv_input_get_vp_registers h;
		uint32_t name;
	} gin = { .name = HV_X64_REGISTER_CS };
	struct {
		struct hv_input_set_vp_registers h;
		struct hv_register_assoc a;
	} sin = { .a = { .name = HV_X64_REGISTER_CS } };

	v->dev = open("/dev/mshv", O_RDWR | O_CLOEXEC);
	require(v->dev >= 0);
	v->pt = sim_test_ioctl(v->dev, MSHV_CREATE_PARTITION, &cp);
	require(v->pt >= 0);
	require_ok(sim_test_ioctl(v->pt, MSHV_INITIALIZE_PARTITION, NULL));
	v->ram = sim_test_guest_ram(guest, &v->ram_size);
	m = (struct mshv_user_mem_region){ .size = v->ram_size, .guest_pfn = 0,
					   .userspace_addr = (uintptr_t)v->ram, .flags = 3 };
	require_ok(sim_test_ioctl(v->pt, MSHV_SET_GUEST_MEMORY, &m));
	v->vp = sim_test_ioctl(v->pt, MSHV_CREATE_VP, &cv);
	require(v->vp >= 0);
	v->page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, v->vp, 0);
	v->msg_page = mmap(NULL, 4096, PROT_READ, MAP_SHARED, v->vp, 4096);
	require(v->page != MAP_FAILED && v->msg_page != MAP_FAILED);

	/* The reset state has CS.base 0xffff0000: point it at 0 like the mshv-ioctls example. */
	require_ok(sim_test_hvcall(v->vp, HVCALL_GET_VP_REGISTERS, 1, &gin, sizeof(gin),
				   &sin.a.value, 16, NULL, NULL));
	check_eq_u64(sin.a.value.segment.base, 0xffff0000);
	sin.a.value.segment.base = 0;
	sin.a.value.segment.selector = 0;
	require_ok(sim_test_hvcall(v->vp, HVCALL_SET_VP_REGISTERS, 1, &sin, sizeof(sin), NULL, 0,
				   NULL, NULL));
	set_reg(v, HV_X64_REGISTER_RIP, GUEST_LOAD_GPA);
	set_reg(v, HV_X64_REGISTER_RFLAGS, 2);
}

static void vm_close(struct vm *v)
{
	munmap(v->page, 4096);
	munmap((void *)v->msg_page, 4096);
	close(v->vp);
	close(v->pt);
	close(v->dev);
	munmap(v->ram, v->ram_size);
}

static int run(struct vm *v, struct hv_message *m)
{
	int r = sim_test_ioctl(v->vp, MSHV_RUN_VP, m);

	if (r == 0) {
		check(memcmp(m, v->msg_page, sizeof(*m)) == 0);
		check_eq_int(v->page->isvalid, 1);
	}
	return r;
}

static const struct hv_x64_io_port_intercept_message *io_of(const struct hv_message *m)
{
	check_eq_u64(m->header.message_type, HVMSG_X64_IO_PORT_INTERCEPT);
	check_eq_int(m->header.payload_size, sizeof(struct hv_x64_io_port_intercept_message));
	return (const void *)m->u.payload;
}

static const struct hv_x64_memory_intercept_message *mem_of(const struct hv_message *m)
{
	check_eq_u64(m->header.message_type, HVMSG_UNMAPPED_GPA);
	check_eq_int(m->header.payload_size, sizeof(struct hv_x64_memory_intercept_message));
	return (const void *)m->u.payload;
}

/* The mshv-ioctls example: '4', then 0, then halt; RIP advanced by the test each time. */
static void test_example(uint64_t pt_flags)
{
	const struct hv_x64_io_port_intercept_message *io;
	struct hv_message m;
	struct vm v;

	vm_open(&v, pt_flags, "tests/guests/example.bin");
	set_reg(&v, HV_X64_REGISTER_RAX, 2);
	set_reg(&v, HV_X64_REGISTER_RBX, 2);

	require_ok(run(&v, &m));
	io = io_of(&m);
	check_eq_int(io->port_number, GUEST_PORT_CONSOLE);
	check_eq_int(io->header.intercept_access_type, HV_X64_INTERCEPT_ACCESS_WRITE);
	check_eq_int(io->access_info.access_size, 1);
	check_eq_int(io->access_info.string_op, 0);
	check_eq_u64(io->rax & 0xff, '4');
	check_eq_u64(io->header.rip, GUEST_LOAD_GPA + 7);
	check_eq_int(io->header.instruction_length, 1);
	check_eq_int(io->instruction_bytes[0], 0xee);
	check(io->instruction_byte_count >= 1);
	check_eq_int(io->header.cs_segment.selector, 0);
	check_eq_int(io->header.execution_state.cr0_pe, 0);
	check_eq_u64(io->header.rflags, 2);
	check_eq_u64(v.page->rip, GUEST_LOAD_GPA + 7);
	check_eq_u64(v.page->rax & 0xff, '4');
	check_eq_u64(get_reg(&v, HV_X64_REGISTER_RIP), GUEST_LOAD_GPA + 7);

	/* Not advanced: the same OUT intercepts again. */
	require_ok(run(&v, &m));
	io = io_of(&m);
	check_eq_u64(io->header.rip, GUEST_LOAD_GPA + 7);
	check_eq_u64(io->rax & 0xff, '4');

	/* Advance through the register page (IP class only). */
	v.page->rip = io->header.rip + io->header.instruction_length;
	v.page->rax = 0x99;	/* not dirty: ignored */
	v.page->dirty = 1u << HV_X64_REGISTER_CLASS_IP;
	require_ok(run(&v, &m));
	io = io_of(&m);
	check_eq_u64(io->header.rip, GUEST_LOAD_GPA + 10);
	check_eq_u64(io->rax & 0xff, 0);
	check_eq_int(v.page->dirty, 0);

	/* Advance by hypercall: then hlt.  The HALT message has RIP past the hlt (documented). */
	set_reg(&v, HV_X64_REGISTER_RIP, io->header.rip + io->header.instruction_length);
	require_ok(run(&v, &m));
	check_eq_u64(m.header.message_type, HVMSG_X64_HALT);
	check_eq_u64(((const struct hv_x64_halt_message *)m.u.payload)->header.rip, GUEST_LOAD_GPA + 12);
	vm_close(&v);
}

static void advance(struct vm *v, const struct hv_x64_intercept_message_header *h)
{
	check(h->instruction_length > 0);
	set_reg(v, HV_X64_REGISTER_RIP, h->rip + h->instruction_length);
}

static void expect_io(struct vm *v, uint64_t rip, unsigned len, uint16_t port, unsigned size,
		      bool write, bool string, bool rep, const struct hv_x64_io_port_intercept_message **ret)
{
	static struct hv_message m;
	const struct hv_x64_io_port_intercept_message *io;

	require_ok(run(v, &m));
	io = io_of(&m);
	check_eq_u64(io->header.rip, rip);
	check_eq_int(io->header.instruction_length, len);
	check_eq_int(io->port_number, port);
	check_eq_int(io->access_info.access_size, size);
	check_eq_int(io->header.intercept_access_type, write);
	check_eq_int(io->access_info.string_op, string);
	check_eq_int(io->access_info.rep_prefix, rep);
	check(memcmp(io->instruction_bytes, v->ram + rip, io->instruction_byte_count) == 0);
	*ret = io;
}

static const struct hv_x64_memory_intercept_message *expect_mmio(struct vm *v, uint64_t rip,
								 unsigned len, uint64_t gpa, bool write)
{
	static struct hv_message m;
	const struct hv_x64_memory_intercept_message *mm;

	require_ok(run(v, &m));
	mm = mem_of(&m);
	check_eq_u64(mm->header.rip, rip);
	check_eq_int(mm->header.instruction_length, len);
	check_eq_u64(mm->guest_physical_address, gpa);
	check_eq_int(mm->header.intercept_access_type, write);
	check_eq_int(mm->memory_access_info.gva_valid, 1);
	check_eq_u64(mm->guest_virtual_address, gpa);	/* no paging */
	check_eq_int(mm->instruction_byte_count, 16);
	check(memcmp(mm->instruction_bytes, v->ram + rip, 16) == 0);
	return mm;
}

/* Every form in tests/guests/sim-io.S, emulated by hand; addresses from its listing. */
static void test_forms(uint64_t pt_flags)
{
	const struct hv_x64_io_port_intercept_message *io;
	const struct hv_x64_memory_intercept_message *mm;
	struct hv_message m;
	struct vm v;

	vm_open(&v, pt_flags, "tests/guests/sim-io.bin");
	expect_io(&v, 0x1008, 2, 0x80, 1, true, false, false, &io);		/* out %al,$0x80 */
	check_eq_u64(io->rax & 0xff, 0x41);
	advance(&v, &io->header);
	expect_io(&v, 0x100d, 1, GUEST_PORT_VALUE, 2, true, false, false, &io);	/* out %ax,(%dx) */
	advance(&v, &io->header);
	expect_io(&v, 0x1014, 2, GUEST_PORT_VALUE, 4, true, false, false, &io);	/* 66 ef */
	check_eq_u64(io->rax, 0x12345678);
	advance(&v, &io->header);
	expect_io(&v, 0x1016, 1, GUEST_PORT_VALUE, 1, false, false, false, &io);	/* in */
	check_eq_u64(io->rax, 0x12345678);	/* IN not executed: RAX untouched */
	set_reg(&v, HV_X64_REGISTER_RAX, 0x12345600 | 0xab);
	advance(&v, &io->header);

	/* outsb: RSI not yet moved; emulate by stepping RSI. */
	expect_io(&v, 0x101e, 1, GUEST_PORT_CONSOLE, 1, true, true, false, &io);
	check_eq_u64(io->rsi, 0x1058);
	check_eq_u64(get_reg(&v, HV_X64_REGISTER_RAX), 0x123456ab);
	set_reg(&v, HV_X64_REGISTER_RSI, io->rsi + 1);
	advance(&v, &io->header);

	/* rep outsb with CX = 3: emulate one element per intercept without moving RIP. */
	for (unsigned left = 3; left; left--) {
		expect_io(&v, 0x1022, 2, GUEST_PORT_CONSOLE, 1, true, true, true, &io);
		check_eq_u64(io->rcx & 0xffff, left);
		check_eq_u64(io->rsi & 0xffff, 0x1059 + 3 - left);
		set_reg(&v, HV_X64_REGISTER_RSI, io->rsi + 1);
		set_reg(&v, HV_X64_REGISTER_RCX, io->rcx - 1);
		if (left == 1)
			advance(&v, &io->header);
	}

	/* MMIO: DS = ES = 0xd000. */
	mm = expect_mmio(&v, 0x102b, 5, GUEST_MMIO_BASE + 0x10, true);	/* movb $0x5a */
	require_ok(run(&v, &m));					/* again: unexecuted */
	check_eq_u64(((const struct hv_x64_memory_intercept_message *)m.u.payload)->header.rip, 0x102b);
	advance(&v, &mm->header);
	mm = expect_mmio(&v, 0x1030, 3, GUEST_MMIO_BASE + 0x20, false);	/* mov 0x20,%ax */
	set_reg(&v, HV_X64_REGISTER_RAX, 0xbeef);
	advance(&v, &mm->header);
	mm = expect_mmio(&v, 0x1033, 9, GUEST_MMIO_BASE + 0x30, true);	/* movl $imm */
	check_eq_u64(get_reg(&v, HV_X64_REGISTER_RAX), 0xbeef);
	advance(&v, &mm->header);
	mm = expect_mmio(&v, 0x103c, 5, GUEST_MMIO_BASE + 0x40, true);	/* addb: RMW = write */
	advance(&v, &mm->header);
	for (unsigned left = 2; left; left--) {				/* rep stosb */
		mm = expect_mmio(&v, 0x1049, 2, GUEST_MMIO_BASE + 0x50 + 2 - left, true);
		check_eq_u64(get_reg(&v, HV_X64_REGISTER_RCX) & 0xffff, left);
		check_eq_u64(get_reg(&v, HV_X64_REGISTER_RDI) & 0xffff, 0x50 + 2 - left);
		set_reg(&v, HV_X64_REGISTER_RDI, 0x50 + 3 - left);
		set_reg(&v, HV_X64_REGISTER_RCX, left - 1);
		if (left == 1)
			advance(&v, &mm->header);
	}
	expect_io(&v, 0x1055, 2, GUEST_PORT_DONE, 4, true, false, false, &io);
	check_eq_u64(io->rax, 0);
	advance(&v, &io->header);
	require_ok(run(&v, &m));
	check_eq_u64(m.header.message_type, HVMSG_X64_HALT);
	vm_close(&v);
}

static void on_signal(int sig)
{
	(void)sig;
}

struct kicker {
	pthread_t target;
	int delay_ms;
};

static void *kick(void *arg)
{
	struct kicker *k = arg;
	struct timespec ts = { 0, k->delay_ms * 1000000L };

	nanosleep(&ts, NULL);
	pthread_kill(k->target, SIGUSR1);
	return NULL;
}

/* A spinning guest; a signal makes RUN_VP fail with EINTR, and it can be resumed. */
static void test_eintr(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct kicker k = { pthread_self(), 100 };
	struct hv_message m;
	pthread_t t;
	struct vm v;

	sigaction(SIGUSR1, &sa, NULL);		/* no SA_RESTART */
	vm_open(&v, 0, "tests/guests/example.bin");
	v.ram[GUEST_LOAD_GPA] = 0xeb;		/* jmp . */
	v.ram[GUEST_LOAD_GPA + 1] = 0xfe;
	for (int i = 0; i < 2; i++) {
		require(pthread_create(&t, NULL, kick, &k) == 0);
		check_eq_int(sim_test_ioctl(v.vp, MSHV_RUN_VP, &m), -EINTR);
		pthread_join(t, NULL);
		check_eq_u64(get_reg(&v, HV_X64_REGISTER_RIP), GUEST_LOAD_GPA);
	}
	vm_close(&v);
}

static void set_value(struct vm *v, uint32_t name, const union hv_register_value *val)
{
	struct {
		struct hv_input_set_vp_registers h;
		struct hv_register_assoc a;
	} in = { .a = { .name = name, .value = *val } };

	check_eq_int(sim_test_hvcall(v->vp, HVCALL_SET_VP_REGISTERS, 1, &in, sizeof(in), NULL, 0,
				     NULL, NULL), 0);
}

/*
 * Triple fault: flat 32-bit protected mode with an empty IDT, then ud2.  The VP stays failed
 * (the same message again) until its registers are set.
 */
static void test_triple_fault(void)
{
	union hv_register_value cs = { .segment = { .base = 0, .limit = 0xffffffff, .selector = 8,
						    .attributes = 0xc09b } };
	union hv_register_value ds = { .segment = { .base = 0, .limit = 0xffffffff, .selector = 16,
						    .attributes = 0xc093 } };
	union hv_register_value idt = { .table = { .base = 0, .limit = 0 } };
	struct hv_message m;
	struct vm v;

	vm_open(&v, 0, "tests/guests/example.bin");
	v.ram[GUEST_LOAD_GPA] = 0x0f;		/* ud2 */
	v.ram[GUEST_LOAD_GPA + 1] = 0x0b;
	set_reg(&v, HV_X64_REGISTER_CR0, 0x11);
	set_value(&v, HV_X64_REGISTER_CS, &cs);
	set_value(&v, HV_X64_REGISTER_DS, &ds);
	set_value(&v, HV_X64_REGISTER_SS, &ds);
	set_value(&v, HV_X64_REGISTER_IDTR, &idt);
	require_ok(run(&v, &m));
	check_eq_u64(m.header.message_type, HVMSG_UNRECOVERABLE_EXCEPTION);
	require_ok(sim_test_ioctl(v.vp, MSHV_RUN_VP, &m));
	check_eq_u64(m.header.message_type, HVMSG_UNRECOVERABLE_EXCEPTION);
	vm_close(&v);
}

/* The register page's GENERAL class and hypercalls see the same state. */
static void test_reg_page(void)
{
	const struct hv_x64_io_port_intercept_message *io;
	struct hv_message m;
	struct vm v;

	vm_open(&v, 0, "tests/guests/example.bin");
	set_reg(&v, HV_X64_REGISTER_RAX, 2);
	set_reg(&v, HV_X64_REGISTER_RBX, 2);
	require_ok(run(&v, &m));
	io = io_of(&m);
	check_eq_u64(v.page->rdx, GUEST_PORT_CONSOLE);
	check_eq_u64(v.page->rbx, 2);
	check_eq_u64(v.page->cs.base, 0);
	check_eq_u64(v.page->rflags, 2);
	/* Rewind to the start with RAX = 3 via the page: the guest then prints '5'. */
	v.page->rip = GUEST_LOAD_GPA;
	v.page->rax = 3;
	v.page->dirty = 1u << HV_X64_REGISTER_CLASS_IP | 1u << HV_X64_REGISTER_CLASS_GENERAL;
	require_ok(run(&v, &m));
	io = io_of(&m);
	check_eq_u64(io->rax & 0xff, '5');
	check_eq_u64(get_reg(&v, HV_X64_REGISTER_RBX), 2);
	vm_close(&v);
}

int main(int argc, char **argv)
{
	(void)argc;
	sim_test_init(argv);
	test_example(0);
	test_example(0x7);
	test_forms(0);
	test_forms(1ULL << MSHV_PT_BIT_LAPIC);
	test_eintr();
	test_triple_fault();
	test_reg_page();
	return test_done();
}
