// SPDX-License-Identifier: MIT
/* The software CPU engine on its own: every exit kind, mode switches, kicks, interrupts, MMIO
 * completion without re-execution, host code rewrites and atomicity across vCPUs. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "guest.h"
#include "hv/emu/emu.h"

struct guest {
	struct emu_vm *vm;
	struct emu_vcpu *vcpu[2];
	uint8_t *ram;
	uint32_t values[64];
	unsigned nvalues;
	char console[64];
	unsigned nconsole;
	bool done;
	uint32_t status;
};

static void load(struct guest *g, const char *name)
{
	char rel[128];
	FILE *f;
	size_t n;

	snprintf(rel, sizeof(rel), "tests/guests/%s.bin", name);
	f = fopen(test_build_path(rel), "rb");
	if (!f)
		test_error("cannot open guest %s", rel);
	n = fread(g->ram + GUEST_LOAD_GPA, 1, GUEST_RAM_SIZE - GUEST_LOAD_GPA, f);
	fclose(f);
	if (!n)
		test_error("empty guest %s", rel);
}

/* Enter at GUEST_LOAD_GPA in real mode, CS = 0 (tests/guests/guest.h). */
static void enter(struct emu_vcpu *v)
{
	struct emu_sregs s;
	struct emu_regs r;

	require_ok(emu_vcpu_get_sregs(v, &s));
	s.cs.base = 0;
	s.cs.selector = 0;
	require_ok(emu_vcpu_set_sregs(v, &s));
	require_ok(emu_vcpu_get_regs(v, &r));
	memset(r.gpr, 0, sizeof(r.gpr));
	r.gpr[EMU_RAX] = 2;
	r.gpr[EMU_RBX] = 2;
	r.rip = GUEST_LOAD_GPA;
	r.rflags = 2;
	require_ok(emu_vcpu_set_regs(v, &r));
}

static struct guest *guest_new(const char *name, const struct emu_vm_config *cfg, unsigned nvcpus)
{
	struct guest *g = calloc(1, sizeof(*g));

	require(g);
	require_ok(emu_vm_new(cfg, &g->vm));
	g->ram = mmap(NULL, GUEST_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	require(g->ram != MAP_FAILED);
	require_ok(emu_vm_map(g->vm, 0, g->ram, GUEST_RAM_SIZE,
			      EMU_PROT_READ | EMU_PROT_WRITE | EMU_PROT_EXEC));
	if (name)
		load(g, name);
	for (unsigned i = 0; i < nvcpus; i++) {
		require_ok(emu_vcpu_new(g->vm, i, &g->vcpu[i]));
		enter(g->vcpu[i]);
	}
	return g;
}

static void guest_free(struct guest *g)
{
	for (unsigned i = 0; i < 2; i++)
		emu_vcpu_free(g->vcpu[i]);
	emu_vm_free(g->vm);
	munmap(g->ram, GUEST_RAM_SIZE);
	free(g);
}

/* The deterministic device: byte at a is (a ^ a >> 8 ^ 0xa5). */
static uint64_t device(uint64_t gpa, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++) {
		uint64_t a = gpa + i;

		v |= ((a ^ (a >> 8) ^ 0xa5) & 0xff) << (8 * i);
	}
	return v;
}

/* Handle one exit the usual way.  Returns false at halt/shutdown. */
static bool handle(struct guest *g, struct emu_vcpu *v, const struct emu_exit *e)
{
	struct emu_completion c = { 0 };

	switch (e->kind) {
	case EMU_EXIT_IO:
		if (e->io.write && e->io.port == GUEST_PORT_CONSOLE && g->nconsole + 1 < sizeof(g->console))
			g->console[g->nconsole++] = (char)e->io.data;
		else if (e->io.write && e->io.port == GUEST_PORT_VALUE && g->nvalues < 64)
			g->values[g->nvalues++] = (uint32_t)e->io.data;
		else if (e->io.write && e->io.port == GUEST_PORT_DONE) {
			g->done = true;
			g->status = (uint32_t)e->io.data;
		}
		c.value = 0x42;
		break;
	case EMU_EXIT_MMIO:
		c.value = device(e->mmio.gpa, e->mmio.size);
		break;
	case EMU_EXIT_HALT:
	case EMU_EXIT_SHUTDOWN:
		return false;
	default:
		break;
	}
	check_ok(emu_vcpu_complete(v, &c));
	return true;
}

static enum emu_exit_kind run_to_end(struct guest *g, struct emu_vcpu *v, unsigned max)
{
	struct emu_exit e = { 0 };

	for (unsigned i = 0; i < max; i++) {
		if (emu_vcpu_run(v, &e) < 0)
			test_error("run failed");
		if (!handle(g, v, &e))
			break;
	}
	return e.kind;
}

static void test_modes(void)
{
	struct guest *g = guest_new("emu-modes", NULL, 1);

	check_eq_int(run_to_end(g, g->vcpu[0], 100), EMU_EXIT_HALT);
	check(g->done && g->status == 0);
	require(check_eq_int(g->nvalues, 4));
	check_eq_u64(g->values[0], 16);
	check_eq_u64(g->values[1], 32);
	check_eq_u64(g->values[2], 64);
	check_eq_u64(g->values[3] & 0x500, 0x500);
	guest_free(g);

	/* The example in real mode, and a real -> long switch through boot-long.inc. */
	g = guest_new("example", NULL, 1);
	check_eq_int(run_to_end(g, g->vcpu[0], 10), EMU_EXIT_HALT);
	check_eq_str(g->console, "4");
	guest_free(g);
	g = guest_new("long-hello", NULL, 1);
	check_eq_int(run_to_end(g, g->vcpu[0], 100), EMU_EXIT_HALT);
	check(g->done && g->status == 0);
	guest_free(g);
}

/* Mode changes made through set_sregs between runs: long mode entered by registers. */
static void test_sregs_long(void)
{
	static const uint64_t gdt[3] = { 0, 0x00af9a000000ffffull, 0x00cf92000000ffffull };
	/* mov $0x64, %eax; out %eax, $0x04 (port 0x604 needs dx): mov $0x604,%dx; out %eax,(%dx); hlt */
	static const uint8_t code[] = { 0xb8, 0x64, 0, 0, 0, 0x66, 0xba, 0x04, 0x06, 0xef, 0xf4 };
	struct guest *g = guest_new(NULL, NULL, 1);
	uint64_t *pt = (uint64_t *)(void *)(g->ram + 0x10000);
	struct emu_sregs s;
	struct emu_regs r;
	struct emu_exit e;

	memcpy(g->ram + 0x8000, gdt, sizeof(gdt));
	memcpy(g->ram + 0x1000, code, sizeof(code));
	pt[0] = 0x11000 | 3;
	pt[512] = 0x12000 | 3;
	pt[1024] = 0x83;
	require_ok(emu_vcpu_get_sregs(g->vcpu[0], &s));
	s.gdt.base = 0x8000;
	s.gdt.limit = sizeof(gdt) - 1;
	s.cs = (struct emu_segment){ .base = 0, .limit = 0xffffffff, .selector = 8, .attributes = 0xa09b };
	s.ds = s.es = s.ss = (struct emu_segment){ .limit = 0xffffffff, .selector = 0x10, .attributes = 0xc093 };
	s.cr3 = 0x10000;
	s.cr4 = 0x20;
	s.cr0 = 0x80000011;
	s.efer = 0x500;
	require_ok(emu_vcpu_set_sregs(g->vcpu[0], &s));
	require_ok(emu_vcpu_get_regs(g->vcpu[0], &r));
	r.rip = 0x1000;
	r.gpr[EMU_RAX] = 0xdeadbeef00000000ull;
	require_ok(emu_vcpu_set_regs(g->vcpu[0], &r));
	require_ok(emu_vcpu_run(g->vcpu[0], &e));
	require(check_eq_int(e.kind, EMU_EXIT_IO));
	check_eq_u64(e.rip, 0x1009);
	check_eq_int(e.insn_len, 1);
	check_eq_u64(e.io.port, GUEST_PORT_DONE);
	check_eq_u64(e.io.data, 0x64);		/* a 32-bit mov zero-extends: 64-bit mode */
	require_ok(emu_vcpu_get_sregs(g->vcpu[0], &s));
	check_eq_u64(s.cs.attributes, 0xa09b);
	check_eq_u64(s.efer & 0x500, 0x500);
	guest_free(g);
}

/* Exits of every kind, with the vCPU left before the instruction. */
static void test_exits(void)
{
	/* rep outsb from 0x2000 (3 bytes) to port 0x3f8; rep insb to 0x3000 (2 bytes) from 0x80;
	 * rdmsr of an unknown MSR; cpuid; hlt.  All in real mode. */
	static const uint8_t code[] = {
		0xbe, 0x00, 0x20,		/* mov $0x2000, %si */
		0xb9, 0x03, 0x00,		/* mov $3, %cx */
		0xba, 0xf8, 0x03,		/* mov $0x3f8, %dx */
		0xf3, 0x6e,			/* rep outsb */
		0xbf, 0x00, 0x30,		/* mov $0x3000, %di */
		0xb9, 0x02, 0x00,		/* mov $2, %cx */
		0xba, 0x80, 0x00,		/* mov $0x80, %dx */
		0xf3, 0x6c,			/* rep insb */
		0x66, 0xb9, 0x34, 0x12, 0, 0x40,/* mov $0x40001234, %ecx */
		0x0f, 0x32,			/* rdmsr */
		0x66, 0x31, 0xc0,		/* xor %eax, %eax */
		0x0f, 0xa2,			/* cpuid */
		0xf4,				/* hlt */
	};
	struct guest *g = guest_new(NULL, NULL, 1);
	struct emu_vcpu *v = g->vcpu[0];
	struct emu_completion c = { 0 };
	struct emu_regs r;
	struct emu_exit e;

	memcpy(g->ram + 0x1000, code, sizeof(code));
	memcpy(g->ram + 0x2000, "abc", 3);
	for (unsigned i = 0; i < 3; i++) {
		require_ok(emu_vcpu_run(v, &e));
		require(check_eq_int(e.kind, EMU_EXIT_IO));
		check(e.io.write && e.io.string && e.io.rep);
		check_eq_u64(e.io.count, 3 - i);
		check_eq_u64(e.io.data, "abc"[i]);
		check_eq_u64(e.rip, 0x1009);
		check_eq_int(e.insn_len, 2);
		require_ok(emu_vcpu_complete(v, NULL));
	}
	for (unsigned i = 0; i < 2; i++) {
		require_ok(emu_vcpu_run(v, &e));
		require(check_eq_int(e.kind, EMU_EXIT_IO));
		check(!e.io.write && e.io.string && e.io.port == 0x80);
		c.value = 0x61 + i;
		require_ok(emu_vcpu_complete(v, &c));
	}
	check_eq_u64(g->ram[0x3000], 0x61);
	check_eq_u64(g->ram[0x3001], 0x62);
	require_ok(emu_vcpu_run(v, &e));
	require(check_eq_int(e.kind, EMU_EXIT_MSR));
	check_eq_u64(e.msr.index, 0x40001234);
	check(!e.msr.write);
	/* Not completed: running again exits again at the same place. */
	require_ok(emu_vcpu_run(v, &e));
	require(check_eq_int(e.kind, EMU_EXIT_MSR));
	check_eq_u64(e.rip, 0x101c);
	c.value = 0x1122334455667788ull;
	require_ok(emu_vcpu_complete(v, &c));
	require_ok(emu_vcpu_get_regs(v, &r));
	check_eq_u64(r.gpr[EMU_RAX], 0x55667788);
	check_eq_u64(r.gpr[EMU_RDX], 0x11223344);
	check_eq_u64(r.rip, 0x101e);
	emu_vcpu_set_intercepts(v, EMU_INTERCEPT_CPUID, 0);
	require_ok(emu_vcpu_run(v, &e));
	require(check_eq_int(e.kind, EMU_EXIT_CPUID));
	check_eq_u64(e.cpuid.eax, 0);
	check(e.cpuid.result[0] >= 1);
	memcpy(c.cpuid, (uint32_t[]){ 7, 0x68747541, 0x444d4163, 0x69746e65 }, 16);
	require_ok(emu_vcpu_complete(v, &c));
	require_ok(emu_vcpu_get_regs(v, &r));
	check_eq_u64(r.gpr[EMU_RBX], 0x68747541);
	require_ok(emu_vcpu_run(v, &e));
	check_eq_int(e.kind, EMU_EXIT_HALT);
	check_eq_u64(e.rip, 0x1024);		/* past the hlt */
	guest_free(g);

	/* Triple fault; an exception intercept; an instruction fetch from a hole. */
	g = guest_new("hv-triple", NULL, 1);
	check_eq_int(run_to_end(g, g->vcpu[0], 10), EMU_EXIT_SHUTDOWN);
	guest_free(g);
	g = guest_new(NULL, NULL, 1);
	memcpy(g->ram + 0x1000, (uint8_t[]){ 0x90, 0x0f, 0x0b }, 3);	/* nop; ud2 */
	emu_vcpu_set_intercepts(g->vcpu[0], 0, 1u << 6);
	require_ok(emu_vcpu_run(g->vcpu[0], &e));
	require(check_eq_int(e.kind, EMU_EXIT_EXCEPTION));
	check_eq_int(e.exception.vector, 6);
	check_eq_u64(e.rip, 0x1001);
	memcpy(g->ram + 0x1000, (uint8_t[]){ 0xea, 0x00, 0x00, 0x00, 0xd0 }, 5); /* ljmp $0xd000,$0 */
	enter(g->vcpu[0]);
	require_ok(emu_vcpu_run(g->vcpu[0], &e));
	require(check_eq_int(e.kind, EMU_EXIT_MMIO));
	check(e.mmio.fetch);
	check_eq_u64(e.mmio.gpa, GUEST_MMIO_BASE);
	/* A read-modify-write on MMIO exits twice: the read, then the write of the result. */
	memcpy(g->ram + 0x1000, (uint8_t[]){ 0xb8, 0x00, 0xd0, 0x8e, 0xc0,	/* mov $0xd000,%ax; mov %ax,%es */
					     0x26, 0x80, 0x06, 0x40, 0x00, 0x05,	/* addb $5, %es:0x40 */
					     0xf4 }, 12);
	enter(g->vcpu[0]);
	require_ok(emu_vcpu_run(g->vcpu[0], &e));
	require(check_eq_int(e.kind, EMU_EXIT_MMIO));
	check(!e.mmio.write && e.mmio.gpa == GUEST_MMIO_BASE + 0x40 && e.mmio.size == 1);
	require_ok(emu_vcpu_complete(g->vcpu[0], &(struct emu_completion){ .value = 0x30 }));
	require_ok(emu_vcpu_run(g->vcpu[0], &e));
	require(check_eq_int(e.kind, EMU_EXIT_MMIO));
	check(e.mmio.write && e.mmio.gpa == GUEST_MMIO_BASE + 0x40);
	check_eq_u64(e.mmio.data, 0x35);
	check_eq_u64(e.rip, 0x1005);
	require_ok(emu_vcpu_complete(g->vcpu[0], NULL));
	require_ok(emu_vcpu_run(g->vcpu[0], &e));
	check_eq_int(e.kind, EMU_EXIT_HALT);
	guest_free(g);
}

/* MMIO completion never re-executes earlier instructions. */
static void test_mmio_count(void)
{
	struct guest *g = guest_new("emu-count", NULL, 1);
	uint32_t sum = 0;

	check_eq_int(run_to_end(g, g->vcpu[0], 1000), EMU_EXIT_HALT);
	check(g->done && g->status == 0);
	require(check_eq_int(g->nvalues, 2));
	check_eq_u64(g->values[0], 400);
	for (unsigned i = 0; i < 100; i++)
		sum += (uint32_t)device(GUEST_MMIO_BASE, 4) + (uint32_t)device(GUEST_MMIO_BASE + 4, 1);
	check_eq_u64(g->values[1], sum);
	guest_free(g);
}

/* Code the host rewrites between runs is what runs next. */
static void test_code_rewrite(void)
{
	struct guest *g = guest_new("example", NULL, 1);

	check_eq_int(run_to_end(g, g->vcpu[0], 10), EMU_EXIT_HALT);
	for (unsigned round = 0; round < 3; round++) {
		/* example.S: add $'0', %al is 04 30 at offset 5 */
		require(g->ram[0x1005] == 0x04);
		g->ram[0x1006] = (uint8_t)('A' + round);
		enter(g->vcpu[0]);
		g->nconsole = 0;
		memset(g->console, 0, sizeof(g->console));
		check_eq_int(run_to_end(g, g->vcpu[0], 10), EMU_EXIT_HALT);
		check_eq_int(g->console[0], 'A' + round + 4);
	}
	guest_free(g);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct kicker {
	struct emu_vcpu *v;
	unsigned delay_us;
	double at;
};

static void *kick_later(void *arg)
{
	struct kicker *k = arg;

	usleep(k->delay_us);
	k->at = now_ms();
	emu_vcpu_kick(k->v);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void test_kick(void)
{
	struct guest *g = guest_new("hv-spin", NULL, 1);
	double lat[15];
	struct emu_exit e;
	unsigned lost = 0;

	for (unsigned i = 0; i < 15; i++) {
		struct kicker k = { .v = g->vcpu[0], .delay_us = 5000 };
		pthread_t t;

		require(pthread_create(&t, NULL, kick_later, &k) == 0);
		require_ok(emu_vcpu_run(g->vcpu[0], &e));
		lat[i] = now_ms() - k.at;
		pthread_join(t, NULL);
		check_eq_int(e.kind, EMU_EXIT_INTERRUPTED);
		check(lat[i] < 1000);
	}
	qsort(lat, 15, sizeof(lat[0]), cmp_double);
	test_note("kick latency median %.3f ms", lat[7]);
	check(lat[7] < 50);
	/* Races: a kick just before, during or around entry is never lost. */
	for (unsigned i = 0; i < 1000; i++) {
		struct kicker k = { .v = g->vcpu[0], .delay_us = i % 3 ? 0 : 50 };
		pthread_t t;

		require(pthread_create(&t, NULL, kick_later, &k) == 0);
		if (emu_vcpu_run(g->vcpu[0], &e) < 0 || e.kind != EMU_EXIT_INTERRUPTED)
			lost++;
		pthread_join(t, NULL);
	}
	check_eq_int(lost, 0);
	guest_free(g);
}

static void *inject_later(void *arg)
{
	struct guest *g = arg;

	usleep(20000);
	emu_vm_interrupt(g->vm, EMU_IRQ_FIXED, 0, false, 0x40, false);
	return NULL;
}

/* Delivery through the IVT (real mode) and the IDT (long mode), INT n, and wake from hlt:
 * once with the interrupt pending before hlt, once arriving while the vCPU waits in it. */
static void test_interrupts(void)
{
	struct emu_vm_config cfg = { .lapic = true };
	struct guest *g = guest_new("emu-irq", &cfg, 1);
	static const uint32_t want[] = { 0x1000, 0x3001, 0x3002, 0x2000, 0x4001, 0x4002 };
	pthread_t t = 0;
	struct emu_exit e;

	for (unsigned i = 0; i < 100 && !g->done; i++) {
		require_ok(emu_vcpu_run(g->vcpu[0], &e));
		if (!handle(g, g->vcpu[0], &e))
			break;
		if (e.kind == EMU_EXIT_IO && e.io.port == GUEST_PORT_VALUE && e.io.data == 0x1000)
			check_ok(emu_vm_interrupt(g->vm, EMU_IRQ_FIXED, 0, false, 0x30, false));
		if (e.kind == EMU_EXIT_IO && e.io.port == GUEST_PORT_VALUE && e.io.data == 0x2000)
			require(pthread_create(&t, NULL, inject_later, g) == 0);
	}
	if (t)
		pthread_join(t, NULL);
	check(g->done && g->status == 0);
	require(check_eq_int(g->nvalues, 6));
	for (unsigned i = 0; i < 6; i++)
		check_eq_u64(g->values[i], want[i]);
	guest_free(g);
}

/* Event injection by the VMM: delivered through the IVT before the next instruction. */
static void test_inject(void)
{
	struct emu_vm_config cfg = { .lapic = true, .halt_exits = true };
	struct guest *g = guest_new("emu-irq", &cfg, 1);
	struct emu_exit e;

	require_ok(emu_vcpu_run(g->vcpu[0], &e));
	require(handle(g, g->vcpu[0], &e) && g->nvalues == 1 && g->values[0] == 0x1000);
	check_ok(emu_vcpu_inject(g->vcpu[0], 0x30, false, 0));
	require_ok(emu_vcpu_run(g->vcpu[0], &e));
	require(check_eq_int(e.kind, EMU_EXIT_IO));
	check_eq_u64(e.io.data, 0x3001);		/* the handler ran before the sti */
	require(handle(g, g->vcpu[0], &e));
	require_ok(emu_vcpu_run(g->vcpu[0], &e));
	check_eq_int(e.kind, EMU_EXIT_HALT);		/* then the guest waits: nothing pending */
	check_eq_int(emu_vcpu_get_activity(g->vcpu[0]), EMU_HALTED);
	guest_free(g);
}

struct locker {
	struct guest *g;
	unsigned i;
	bool ok;
};

static void *lock_vcpu(void *arg)
{
	struct locker *l = arg;

	l->ok = run_to_end(l->g, l->g->vcpu[l->i], 10) == EMU_EXIT_HALT;
	return NULL;
}

/* Two vCPUs doing `lock incl` on one counter reach the exact total. */
static void test_lock(void)
{
	struct guest *g = guest_new("emu-lock", NULL, 2);
	struct locker l[2] = { { g, 0, false }, { g, 1, false } };
	pthread_t t[2];
	uint32_t total;

	for (unsigned i = 0; i < 2; i++)
		require(pthread_create(&t[i], NULL, lock_vcpu, &l[i]) == 0);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	check(l[0].ok && l[1].ok);
	memcpy(&total, g->ram + 0x6000, 4);
	check_eq_u64(total, 200000);
	guest_free(g);
}

/* Wait (up to 5 s) until n prepared instances are ready. */
static bool spares_reach(unsigned n)
{
	for (unsigned i = 0; i < 5000 && emu_spares_ready() != n; i++)
		usleep(1000);
	return emu_spares_ready() == n;
}

/* The console output and final exit of the example guest on a fresh VM. */
static void run_example(char *console, enum emu_exit_kind *kind)
{
	struct guest *g = guest_new("example", NULL, 1);

	*kind = run_to_end(g, g->vcpu[0], 100);
	memcpy(console, g->console, sizeof(g->console));
	guest_free(g);
}

/* Engine instances prepared ahead by the engine's thread: it starts with the first vCPU after
 * the call (a fork in between keeps working), vCPUs made from spares run a guest exactly as
 * vCPUs that prepared their own, concurrently with the refill, and stopping frees the spares. */
static void test_prepare_ahead(void)
{
	char own[64], spare[64];
	enum emu_exit_kind k_own, k_spare;
	int status;
	pid_t pid;

	run_example(own, &k_own);
	check_eq_u64(k_own, EMU_EXIT_HALT);
	check(strcmp(own, "4") == 0);
	check_eq_u64(emu_spares_ready(), 0);
	require_ok(emu_prepare_ahead(2));
	usleep(20000);
	check_eq_u64(emu_spares_ready(), 0);	/* no thread before the next vCPU */
	run_example(spare, &k_spare);
	check(strcmp(spare, own) == 0);
	for (unsigned round = 0; round < 8; round++) {
		check(spares_reach(2));
		run_example(spare, &k_spare);
		check_eq_u64(k_spare, k_own);
		check(strcmp(spare, own) == 0);
	}
	/* Taken faster than refilled: the takers wait for the one in preparation or open
	 * their own; none fails. */
	for (unsigned round = 0; round < 6; round++) {
		run_example(spare, &k_spare);
		check_eq_u64(k_spare, k_own);
	}
	/* A child forked while the thread runs: its first vCPU starts a thread of its own.  (TSan
	 * refuses threads started after a multi-threaded fork: not under it.) */
	check(spares_reach(2));
#ifndef __SANITIZE_THREAD__
	pid = fork();
	require(pid >= 0);
	if (pid == 0) {
		run_example(spare, &k_spare);
		_exit(strcmp(spare, own) == 0 && k_spare == k_own && spares_reach(2) ? 0 : 1);
	}
	require(waitpid(pid, &status, 0) == pid);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0);
#else
	(void)pid;
	(void)status;
#endif
	require_ok(emu_prepare_ahead(1));
	check(spares_reach(1));
	require_ok(emu_prepare_ahead(0));
	check_eq_u64(emu_spares_ready(), 0);
	run_example(spare, &k_spare);
	check(strcmp(spare, own) == 0);
}

int main(void)
{
	test_modes();
	test_sregs_long();
	test_exits();
	test_mmio_count();
	test_code_rewrite();
	test_kick();
	test_interrupts();
	test_inject();
	test_lock();
	test_prepare_ahead();
	return test_done();
}
