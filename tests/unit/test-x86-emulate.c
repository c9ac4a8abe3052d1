// SPDX-License-Identifier: MIT
/* Tests of the x86 emulator on a fake guest: RAM, an MMIO window, a page table, ports, replay. */
#include <sys/mman.h>

#include "check.h"
#include "hv/x86/x86.h"

/* GPA [0, 64 KiB) is RAM; the device window follows it directly so accesses can straddle both. */
#define RAM_SIZE	0x10000u
#define MMIO_BASE	0x10000u
#define MMIO_SIZE	0x2000u
#define MAX_LOG		64

struct mapping {
	uint64_t linear, gpa;	/* 4 KiB pages */
	bool writable;
};

struct fake {
	uint8_t ram[RAM_SIZE];
	uint8_t mmio[MMIO_SIZE];
	struct mapping map[8];	/* used when n_map > 0, else translate is the identity */
	unsigned n_map;
	unsigned n_translate;
	uint64_t translated[8];	/* linear addresses passed to translate, in order */
	bool translated_write[8];
	unsigned bad_ram_calls;	/* ram() asked for a range crossing a page */
	int translate_error;	/* translate fails with this when non-zero */
	struct x86_access log[MAX_LOG];
	unsigned n_log;
	uint64_t port_value;	/* port reads return this, then it is incremented */
};

static struct fake F;

static int fake_translate(void *opaque, uint64_t linear, bool write, uint64_t *ret_gpa)
{
	struct fake *f = opaque;

	if (f->n_translate < 8) {
		f->translated[f->n_translate] = linear;
		f->translated_write[f->n_translate] = write;
	}
	f->n_translate++;
	if (f->translate_error)
		return f->translate_error;
	if (!f->n_map) {
		*ret_gpa = linear;
		return 0;
	}
	for (unsigned i = 0; i < f->n_map; i++) {
		if (f->map[i].linear != (linear & ~0xfffull))
			continue;
		if (write && !f->map[i].writable)
			return -EFAULT;
		*ret_gpa = f->map[i].gpa | (linear & 0xfff);
		return 0;
	}
	return -EFAULT;
}

static void *fake_ram(void *opaque, uint64_t gpa, size_t len, bool write)
{
	struct fake *f = opaque;

	if (len == 0 || (gpa & 0xfff) + len > 0x1000)
		f->bad_ram_calls++;
	if (gpa >= RAM_SIZE || len > RAM_SIZE - gpa)
		return NULL;
	return &f->ram[gpa];
}

static const struct x86_emu_ops ops = { .translate = fake_translate, .ram = fake_ram };

static uint64_t device_access(struct fake *f, const struct x86_access *a)
{
	uint64_t v = 0;

	if (a->pio) {
		if (a->write)
			return 0;
		v = f->port_value++;
		return a->size >= 8 ? v : v & ((1ull << (8 * a->size)) - 1);
	}
	for (unsigned i = 0; i < a->size; i++) {
		uint64_t off = a->addr + i - MMIO_BASE;

		if (a->addr + i < MMIO_BASE || off >= MMIO_SIZE) {
			v |= (uint64_t)0xff << (8 * i);		/* unbacked: reads as all-ones */
			continue;
		}
		if (a->write)
			f->mmio[off] = (uint8_t)(a->data >> (8 * i));
		else
			v |= (uint64_t)f->mmio[off] << (8 * i);
	}
	return v;
}

/*
 * Drive one instruction to completion like the backend does: perform each device access,
 * complete it, call again.  Checks that a pass ending in X86_EMU_ACCESS changes neither the
 * registers nor RAM.
 */
static int run(struct x86_cpu *cpu, const uint8_t *bytes, size_t n)
{
	static uint8_t ram_before[RAM_SIZE];
	struct x86_emu_ctx ctx;

	x86_emu_ctx_reset(&ctx);
	for (int pass = 0; pass < 16; pass++) {
		struct x86_cpu before = *cpu;
		struct x86_access a;
		uint64_t v;
		int r;

		memcpy(ram_before, F.ram, RAM_SIZE);
		F.n_translate = 0;	/* keep the translations of the last pass only */
		r = x86_emulate(&ops, &F, cpu, bytes, n, &ctx, &a);
		if (r != X86_EMU_ACCESS)
			return r;
		check(memcmp(&before, cpu, sizeof(before)) == 0);
		check(memcmp(ram_before, F.ram, RAM_SIZE) == 0);
		check_eq_int(ctx.n_done, (unsigned)pass);
		v = device_access(&F, &a);
		if (!a.write)
			a.data = v;
		if (F.n_log < MAX_LOG)
			F.log[F.n_log++] = a;
		x86_emu_access_done(&ctx, v);
	}
	return -ELOOP;
}

#define RUN(cpu, s)	run((cpu), (const uint8_t *)(s), sizeof(s) - 1)

/* Run a REP string instruction until the guest would move past it; returns the passes taken. */
static unsigned run_rep(struct x86_cpu *cpu, const uint8_t *bytes, size_t n)
{
	uint64_t rip = cpu->rip;
	unsigned iterations = 0;

	while (iterations < 100) {
		int r = run(cpu, bytes, n);

		if (!check_ok(r))
			break;
		iterations++;
		if (cpu->rip != rip)
			break;
	}
	return iterations;
}

#define RUN_REP(cpu, s)	run_rep((cpu), (const uint8_t *)(s), sizeof(s) - 1)

static void check_access(unsigned i, bool pio, bool write, unsigned size, uint64_t addr,
			 uint64_t data)
{
	const struct x86_access *a = &F.log[i];

	if (!check(i < F.n_log)) {
		test_note("access %u missing", i);
		return;
	}
	if (a->pio == pio && a->write == write && a->size == size && a->addr == addr &&
	    a->data == data)
		return;
	check_report(__FILE__, __LINE__, "access", "#%u: %s %s size %u addr 0x%" PRIx64
		     " data 0x%" PRIx64 ", expected %s %s size %u addr 0x%" PRIx64
		     " data 0x%" PRIx64,
		     i, a->pio ? "pio" : "mmio", a->write ? "write" : "read", a->size, a->addr,
		     a->data, pio ? "pio" : "mmio", write ? "write" : "read", size, addr, data);
}

#define MMIO_W(i, size, addr, data)	check_access(i, false, true, size, addr, data)
#define MMIO_R(i, size, addr, data)	check_access(i, false, false, size, addr, data)
#define PIO_W(i, size, port, data)	check_access(i, true, true, size, port, data)
#define PIO_R(i, size, port, data)	check_access(i, true, false, size, port, data)

static void reset(void)
{
	memset(&F, 0, sizeof(F));
	for (unsigned i = 0; i < MMIO_SIZE; i++)
		F.mmio[i] = (uint8_t)(0x80 + i);
}

static void set_mmio(uint64_t gpa, uint64_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		F.mmio[gpa - MMIO_BASE + i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_ram(uint64_t gpa, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)F.ram[gpa + i] << (8 * i);
	return v;
}

static void set_ram(uint64_t gpa, uint64_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		F.ram[gpa + i] = (uint8_t)(v >> (8 * i));
}

/* 64-bit mode, paging on (identity unless F.n_map), flat segments. */
static struct x86_cpu cpu_long(void)
{
	struct x86_cpu c = {
		.rip = 0x1000,
		.rflags = 0x2,
		.cr0 = X86_CR0_PE | X86_CR0_PG,
		.efer = X86_EFER_LMA | (1u << 8),
	};

	c.seg[X86_SEG_CS].attributes = X86_SEG_ATTR_L | 0x9b;
	for (int s = 0; s < X86_SEG_COUNT; s++)
		c.seg[s].limit = 0xffffffff;
	return c;
}

static struct x86_cpu cpu_real(void)
{
	struct x86_cpu c = { .rip = 0x100, .rflags = 0x2 };

	for (int s = 0; s < X86_SEG_COUNT; s++)
		c.seg[s].limit = 0xffff;
	return c;
}

static struct x86_cpu cpu_prot32(void)
{
	struct x86_cpu c = { .rip = 0x2000, .rflags = 0x2, .cr0 = X86_CR0_PE };

	c.seg[X86_SEG_CS].attributes = X86_SEG_ATTR_DB | 0x9b;
	for (int s = 0; s < X86_SEG_COUNT; s++)
		c.seg[s].limit = 0xffffffff;
	return c;
}

static void test_mov_store(void)
{
	static const struct {
		const char *bytes;
		unsigned len, size;
		uint64_t data;
	} t[] = {
		{ "\x88\x07", 2, 1, 0x88 },				/* mov [rdi],al */
		{ "\x88\x27", 2, 1, 0x77 },				/* mov [rdi],ah */
		{ "\x40\x88\x37", 3, 1, 0x11 },				/* mov [rdi],sil */
		{ "\x66\x89\x07", 3, 2, 0x7788 },			/* mov [rdi],ax */
		{ "\x89\x07", 2, 4, 0x55667788 },			/* mov [rdi],eax */
		{ "\x48\x89\x07", 3, 8, 0x1122334455667788 },		/* mov [rdi],rax */
		{ "\x4c\x89\x07", 3, 8, 0x0102030405060708 },		/* mov [rdi],r8 */
		{ "\xc6\x07\xfe", 3, 1, 0xfe },				/* mov byte [rdi],0xfe */
		{ "\x66\xc7\x07\x34\x12", 5, 2, 0x1234 },		/* mov word [rdi],0x1234 */
		{ "\xc7\x07\x78\x56\x34\x12", 6, 4, 0x12345678 },	/* mov dword [rdi],imm */
		{ "\x48\xc7\x07\xf0\xff\xff\xff", 7, 8, 0xfffffffffffffff0 },	/* sign-extended */
		{ "\xa2\x40\x00\x01\x00\x00\x00\x00\x00", 9, 1, 0x88 },	/* mov [0x10040],al */
		{ "\x48\xa3\x40\x00\x01\x00\x00\x00\x00\x00", 10, 8, 0x1122334455667788 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct x86_cpu c = cpu_long();
		bool moffs = t[i].bytes[0] == '\xa2' || t[i].bytes[1] == '\xa3';
		uint64_t addr = moffs ? 0x10040 : 0x10008;

		reset();
		c.gpr[X86_RAX] = 0x1122334455667788;
		c.gpr[X86_RSI] = 0xaabbccddeeff0011;
		c.gpr[X86_RDI] = 0x10008;
		c.gpr[X86_R8] = 0x0102030405060708;
		unsigned before = test_failures;

		check_ok(run(&c, (const uint8_t *)t[i].bytes, t[i].len));
		check_eq_u64(c.rip, 0x1000 + t[i].len);
		check_eq_u64(c.gpr[X86_RAX], 0x1122334455667788);
		check_eq_u64(c.rflags, 0x2);
		check_eq_int(F.n_log, 1);
		MMIO_W(0, t[i].size, addr, t[i].data);
		check_eq_int(F.n_translate, 1);
		check(F.translated_write[0]);
		if (test_failures != before)
			test_note("^ in store case %zu", i);
	}
}

static void test_mov_load(void)
{
	static const struct {
		const char *bytes;
		unsigned len, reg, size;
		uint64_t result;
	} t[] = {
		{ "\x8a\x07", 2, X86_RAX, 1, 0x11111111111111f1 },	/* mov al,[rdi] */
		{ "\x8a\x27", 2, X86_RAX, 1, 0x111111111111f111 },	/* mov ah,[rdi] */
		{ "\x40\x8a\x37", 3, X86_RSI, 1, 0x22222222222222f1 },	/* mov sil,[rdi] */
		{ "\x8a\x37", 2, X86_RSI, 1, 0x2222222222222222 },	/* mov dh,[rdi]: RSI kept */
		{ "\x66\x8b\x07", 3, X86_RAX, 2, 0x111111111111f2f1 },	/* mov ax,[rdi] */
		{ "\x8b\x07", 2, X86_RAX, 4, 0x00000000f4f3f2f1 },	/* mov eax: zero-extends */
		{ "\x48\x8b\x07", 3, X86_RAX, 8, 0xf8f7f6f5f4f3f2f1 },	/* mov rax,[rdi] */
		{ "\x44\x8b\x3f", 3, X86_R15, 4, 0x00000000f4f3f2f1 },	/* mov r15d,[rdi] */
		{ "\x0f\xb6\x07", 3, X86_RAX, 1, 0x00000000000000f1 },	/* movzx eax,byte */
		{ "\x66\x0f\xb6\x07", 4, X86_RAX, 1, 0x11111111111100f1 },	/* movzx ax,byte */
		{ "\x48\x0f\xb7\x07", 4, X86_RAX, 2, 0x000000000000f2f1 },	/* movzx rax,word */
		{ "\x0f\xbe\x07", 3, X86_RAX, 1, 0x00000000fffffff1 },	/* movsx eax,byte */
		{ "\x48\x0f\xbf\x07", 4, X86_RAX, 2, 0xfffffffffffff2f1 },	/* movsx rax,word */
		{ "\x48\x63\x07", 3, X86_RAX, 4, 0xfffffffff4f3f2f1 },	/* movsxd rax,dword */
		{ "\x63\x07", 2, X86_RAX, 4, 0x00000000f4f3f2f1 },	/* movsxd eax (no W) */
		{ "\xa1\x00\x00\x01\x00\x00\x00\x00\x00", 9, X86_RAX, 4, 0x00000000f4f3f2f1 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct x86_cpu c = cpu_long();
		uint64_t addr = t[i].bytes[0] == '\xa1' ? 0x10000 : 0x10010;

		reset();
		set_mmio(addr, 0xf8f7f6f5f4f3f2f1, 8);
		c.gpr[X86_RAX] = 0x1111111111111111;
		c.gpr[X86_RSI] = 0x2222222222222222;
		c.gpr[X86_RDX] = 0x3333333333333333;
		c.gpr[X86_R15] = 0x4444444444444444;
		c.gpr[X86_RDI] = 0x10010;
		unsigned before = test_failures;

		check_ok(run(&c, (const uint8_t *)t[i].bytes, t[i].len));
		check_eq_u64(c.gpr[t[i].reg], t[i].result);
		check_eq_u64(c.rip, 0x1000 + t[i].len);
		check_eq_int(F.n_log, 1);
		MMIO_R(0, t[i].size, addr, 0xf8f7f6f5f4f3f2f1 & (t[i].size == 8 ? ~0ull :
			(1ull << (8 * t[i].size)) - 1));
		check_eq_int(F.n_translate, 1);
		check(!F.translated_write[0]);
		if (test_failures != before)
			test_note("^ in load case %zu", i);
	}
	/* mov dh,[rdi] lands in bits 8-15 of RDX */
	{
		struct x86_cpu c = cpu_long();

		reset();
		set_mmio(0x10010, 0xab, 1);
		c.gpr[X86_RDX] = 0x3333333333333333;
		c.gpr[X86_RDI] = 0x10010;
		check_ok(RUN(&c, "\x8a\x37"));
		check_eq_u64(c.gpr[X86_RDX], 0x333333333333ab33);
	}
}

struct alu_case {
	const char *text;
	const char *bytes;
	unsigned len, size;
	uint64_t mem, rax, flags_in;	/* initial device value, RAX, RFLAGS */
	bool writes;
	uint64_t mem_out, rax_out, flags_out;
};

#define CF X86_RFLAGS_CF
#define PF X86_RFLAGS_PF
#define AF X86_RFLAGS_AF
#define ZF X86_RFLAGS_ZF
#define SF X86_RFLAGS_SF
#define OF X86_RFLAGS_OF

static const struct alu_case alu_cases[] = {
	{ "add dword [rdi],1 (83)", "\x83\x07\x01", 3, 4, 0xffffffff, 0, 0, true, 0, 0,
	  CF | PF | AF | ZF },
	{ "add byte [rdi],0x7f", "\x80\x07\x7f", 3, 1, 0x01, 0, 0, true, 0x80, 0, SF | OF | AF },
	{ "add [rdi],eax", "\x01\x07", 2, 4, 0x7fffffff, 1, 0, true, 0x80000000, 1,
	  SF | OF | AF | PF },
	{ "add al,[rdi]: register destination", "\x02\x07", 2, 1, 0x10, 0x1122334455667705, 0,
	  false, 0x10, 0x1122334455667715, 0 },
	{ "adc word [rdi],1 with CF", "\x66\x83\x17\x01", 4, 2, 0xfffe, 0, CF, true, 0, 0,
	  CF | ZF | PF | AF },
	{ "sbb dword [rdi],0 with CF", "\x83\x1f\x00", 3, 4, 0, 0, CF, true, 0xffffffff, 0,
	  CF | SF | PF | AF },
	{ "sub qword [rdi],rax", "\x48\x29\x07", 3, 8, 0x8000000000000000, 1, 0, true,
	  0x7fffffffffffffff, 1, OF | AF | PF },
	{ "sub byte [rdi],1 -> borrow", "\x80\x2f\x01", 3, 1, 0, 0, 0, true, 0xff, 0,
	  CF | SF | AF | PF },
	{ "or word [rdi],0x8000", "\x66\x81\x0f\x00\x80", 5, 2, 0x0001, 0, CF | OF, true, 0x8001, 0,
	  SF },
	{ "and dword [rdi],eax", "\x21\x07", 2, 4, 0xf0f0f0f0, 0x0f0f0f0f, AF, true, 0, 0x0f0f0f0f,
	  ZF | PF },
	{ "xor byte [rdi],0xff", "\x80\x37\xff", 3, 1, 0x0f, 0, 0, true, 0xf0, 0, SF | PF },
	{ "cmp [rdi],eax: read only", "\x39\x07", 2, 4, 5, 7, 0, false, 5, 7, CF | SF | AF },
	{ "cmp dword [rdi],5 (83)", "\x83\x3f\x05", 3, 4, 5, 0, CF | SF, false, 5, 0, ZF | PF },
	{ "cmp eax,[rdi]", "\x3b\x07", 2, 4, 5, 7, 0, false, 5, 7, 0 },
	{ "test byte [rdi],0x80", "\xf6\x07\x80", 3, 1, 0x80, 0, CF | OF, false, 0x80, 0, SF },
	{ "test [rdi],eax", "\x85\x07", 2, 4, 0x0100, 0x00ff, 0, false, 0x0100, 0x00ff, ZF | PF },
	{ "test qword [rdi],imm32", "\x48\xf7\x07\x00\x00\x00\x80", 7, 8, 0x8000000000000000, 0, 0,
	  false, 0x8000000000000000, 0, SF | PF },
	{ "not dword [rdi]: no flags", "\xf7\x17", 2, 4, 0x0f0f0f0f, 0, CF | ZF, true, 0xf0f0f0f0,
	  0, CF | ZF },
	{ "neg qword [rdi]", "\x48\xf7\x1f", 3, 8, 1, 0, 0, true, 0xffffffffffffffff, 0,
	  CF | SF | AF | PF },
	{ "neg byte [rdi] of 0", "\xf6\x1f", 2, 1, 0, 0, CF, true, 0, 0, ZF | PF },
	{ "inc byte [rdi]: CF kept", "\xfe\x07", 2, 1, 0xff, 0, CF, true, 0, 0, CF | ZF | PF | AF },
	{ "dec dword [rdi]: CF kept", "\xff\x0f", 2, 4, 0x80000000, 0, 0, true, 0x7fffffff, 0,
	  OF | AF | PF },
	{ "xchg [rdi],eax", "\x87\x07", 2, 4, 0xdeadbeef, 0xffffffff12345678, 0, true, 0x12345678,
	  0xdeadbeef, 0 },
	{ "lock xchg [rdi],al", "\xf0\x86\x07", 3, 1, 0xaa, 0x1122334455667755, 0, true, 0x55,
	  0x11223344556677aa, 0 },
	{ "lock or dword [rdi],eax", "\xf0\x09\x07", 3, 4, 0x1, 0x2, 0, true, 0x3, 0x2, PF },
};

static void test_alu(void)
{
	for (size_t i = 0; i < sizeof(alu_cases) / sizeof(alu_cases[0]); i++) {
		const struct alu_case *t = &alu_cases[i];
		struct x86_cpu c = cpu_long();
		uint64_t mask = t->size == 8 ? ~0ull : (1ull << (8 * t->size)) - 1;
		unsigned before = test_failures;

		reset();
		set_mmio(0x10100, t->mem, 8);
		c.gpr[X86_RDI] = 0x10100;
		c.gpr[X86_RAX] = t->rax;
		c.rflags = 0x2 | t->flags_in;
		check_ok(run(&c, (const uint8_t *)t->bytes, t->len));
		check_eq_u64(c.rip, 0x1000 + t->len);
		check_eq_u64(c.gpr[X86_RAX], t->rax_out);
		check_eq_u64(c.rflags, 0x2 | t->flags_out);
		check_eq_int(F.n_log, t->writes ? 2 : 1);
		/* RMW: the read, then the write of the computed value */
		MMIO_R(0, t->size, 0x10100, t->mem & mask);
		if (t->writes)
			MMIO_W(1, t->size, 0x10100, t->mem_out);
		check_eq_int(F.n_translate, 1);
		check_eq_int(F.translated_write[0], t->writes);
		if (test_failures != before)
			test_note("^ in \"%s\"", t->text);
	}
}

/*
 * Differential test against the host CPU: register-only forms of every ALU/MOV instruction run
 * natively in a generated stub and in the emulator, from the same RAX RCX RDX RBX and flags.
 */
struct host_regs {
	uint64_t rax, rcx, rdx, rbx, rflags;
};

typedef void (*host_stub)(struct host_regs *regs);

static host_stub build_stub(void *page, const uint8_t *insn, size_t len)
{
	static const uint8_t head[] = {
		0x53,				/* push rbx */
		0x48, 0x8b, 0x07,		/* mov rax,[rdi] */
		0x48, 0x8b, 0x4f, 0x08,		/* mov rcx,[rdi+8] */
		0x48, 0x8b, 0x57, 0x10,		/* mov rdx,[rdi+16] */
		0x48, 0x8b, 0x5f, 0x18,		/* mov rbx,[rdi+24] */
		0xff, 0x77, 0x20,		/* push qword [rdi+32] */
		0x9d,				/* popfq */
	};
	static const uint8_t tail[] = {
		0x9c,				/* pushfq */
		0x8f, 0x47, 0x20,		/* pop qword [rdi+32] */
		0x48, 0x89, 0x07,		/* mov [rdi],rax */
		0x48, 0x89, 0x4f, 0x08,		/* mov [rdi+8],rcx */
		0x48, 0x89, 0x57, 0x10,		/* mov [rdi+16],rdx */
		0x48, 0x89, 0x5f, 0x18,		/* mov [rdi+24],rbx */
		0x5b,				/* pop rbx */
		0xc3,				/* ret */
	};
	uint8_t *p = page;
	host_stub stub;

	memcpy(p, head, sizeof(head));
	memcpy(p + sizeof(head), insn, len);
	memcpy(p + sizeof(head) + len, tail, sizeof(tail));
	__builtin___clear_cache((char *)p, (char *)p + sizeof(head) + len + sizeof(tail));
	memcpy(&stub, &page, sizeof(stub));
	return stub;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_flags_vs_host(void)
{
#if defined(__x86_64__)
	static const uint64_t edges[] = {
		0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
		0xffffffff, 0x100000000, 0x7fffffffffffffff, 0x8000000000000000, ~0ull, 0xf, 0x10,
	};
#define H(b)	{ b, sizeof(b) - 1, false }
#define HL(b)	{ b, sizeof(b) - 1, true }
	/* Register-only forms over RAX RCX RDX RBX; /n is the group extension. */
	static const struct {
		const char *bytes;
		unsigned len;
		bool logic;	/* AF undefined: not compared */
	} forms[] = {
		H("\x00\xd8"), H("\x01\xd8"), H("\x66\x01\xd8"), H("\x48\x01\xd8"),
		H("\x00\xfc"), H("\x02\xc3"), H("\x48\x03\xc3"),	/* add ah,bh; add al,bl */
		HL("\x08\xd8"), HL("\x09\xd8"), HL("\x48\x0b\xc3"),
		H("\x10\xd8"), H("\x11\xd8"), H("\x66\x11\xd8"), H("\x48\x13\xc3"),
		H("\x18\xd8"), H("\x19\xd8"), H("\x66\x19\xd8"), H("\x48\x1b\xc3"),
		HL("\x20\xd8"), HL("\x21\xd8"), HL("\x48\x23\xc3"),
		H("\x28\xd8"), H("\x29\xd8"), H("\x66\x29\xd8"), H("\x48\x2b\xc3"),
		HL("\x30\xd8"), HL("\x31\xd8"), HL("\x48\x33\xc3"),
		H("\x38\xd8"), H("\x39\xd8"), H("\x66\x39\xd8"), H("\x48\x3b\xc3"),
		H("\x04\x80"), H("\x66\x05\xff\x7f"), H("\x48\x2d\x00\x00\x00\x80"),
		H("\x80\xc1\x80"), H("\x80\xd1\x7f"), H("\x80\xd9\x01"),
		H("\x81\xc1\x00\x00\x00\x80"), H("\x66\x81\xe9\x01\x80"),
		H("\x83\xc1\xff"), H("\x48\x83\xd1\x01"), H("\x48\x83\xd9\xff"),
		H("\x83\xf9\x80"), HL("\x48\x83\xe1\xf0"), HL("\x83\xc9\x01"),
		HL("\x83\xf1\x7f"), H("\x80\xfc\x40"),		/* cmp ah,0x40 */
		HL("\x84\xd8"), HL("\x85\xd8"), HL("\x48\x85\xd8"),
		HL("\xf6\xc1\x81"), HL("\x48\xf7\xc1\x00\x00\x00\x80"),
		H("\xf6\xd1"), H("\x48\xf7\xd1"), H("\xf6\xd9"), H("\x66\xf7\xd9"),
		H("\x48\xf7\xd9"), H("\xf7\xd9"),
		H("\xfe\xc1"), H("\xfe\xc9"), H("\x66\xff\xc1"), H("\x48\xff\xc9"),
		H("\xfe\xc4"),						/* inc ah */
		H("\x86\xd8"), H("\x87\xd8"), H("\x48\x87\xd8"), H("\x86\xe3"),
		H("\x88\xd8"), H("\x89\xd8"), H("\x8a\xe3"), H("\x66\x8b\xc3"),
		H("\x0f\xb6\xc3"), H("\x0f\xb6\xc7"), H("\x66\x0f\xb6\xc3"),
		H("\x48\x0f\xb7\xc3"), H("\x0f\xbe\xc3"), H("\x48\x0f\xbf\xc3"),
		H("\x48\x63\xc3"), H("\x63\xc3"), H("\x88\xe1"), H("\x40\x88\xd9"),
	};
#undef H
#undef HL
	const uint64_t arith = X86_RFLAGS_ARITH;
	unsigned compared = 0;
	void *page;

	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (page == MAP_FAILED) {
		test_note("flags vs host skipped: no executable mapping (%s)", strerror(errno));
		return;
	}
	for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
		const uint8_t *insn = (const uint8_t *)forms[f].bytes;
		host_stub stub = build_stub(page, insn, forms[f].len);
		uint64_t ignore = forms[f].logic ? X86_RFLAGS_AF : 0;
		unsigned before = test_failures;

		for (int k = 0; k < 400 && test_failures == before; k++) {
			struct host_regs h;
			struct x86_cpu c = cpu_long();
			size_t ne = sizeof(edges) / sizeof(edges[0]);

			h.rax = k < 100 ? edges[k % ne] : rng();
			h.rcx = k < 100 ? edges[(k / ne) % ne] ^ (k & 1 ? 0 : rng() << 32) : rng();
			h.rdx = rng();
			h.rbx = k < 100 ? edges[(k / 7) % ne] : rng();
			h.rflags = 0x2 | (rng() & arith);
			c.gpr[X86_RAX] = h.rax;
			c.gpr[X86_RCX] = h.rcx;
			c.gpr[X86_RDX] = h.rdx;
			c.gpr[X86_RBX] = h.rbx;
			c.rflags = h.rflags;
			reset();
			if (!check_ok(run(&c, insn, forms[f].len)))
				break;
			stub(&h);
			check_eq_u64(c.gpr[X86_RAX], h.rax);
			check_eq_u64(c.gpr[X86_RCX], h.rcx);
			check_eq_u64(c.gpr[X86_RDX], h.rdx);
			check_eq_u64(c.gpr[X86_RBX], h.rbx);
			check_eq_u64(c.rflags & arith & ~ignore, h.rflags & arith & ~ignore);
			check_eq_int(F.n_log, 0);
			compared++;
		}
		if (test_failures != before)
			test_note("^ in form %zu (%02x %02x)", f, insn[0], insn[1]);
	}
	munmap(page, 4096);
	test_note("%u register-form results compared with the host CPU", compared);
#endif
}

static void test_rep_stos(void)
{
	struct x86_cpu c = cpu_long();
	unsigned n;

	/* rep stosb: one element per completed call, RIP kept until RCX reaches 0 */
	reset();
	c.gpr[X86_RCX] = 3;
	c.gpr[X86_RDI] = 0x10020;
	c.gpr[X86_RAX] = 0xab;
	n = RUN_REP(&c, "\xf3\xaa");
	check_eq_int(n, 3);
	check_eq_u64(c.rip, 0x1002);
	check_eq_u64(c.gpr[X86_RCX], 0);
	check_eq_u64(c.gpr[X86_RDI], 0x10023);
	check_eq_int(F.n_log, 3);
	MMIO_W(0, 1, 0x10020, 0xab);
	MMIO_W(1, 1, 0x10021, 0xab);
	MMIO_W(2, 1, 0x10022, 0xab);

	/* a single iteration leaves RIP at the instruction */
	reset();
	c = cpu_long();
	c.gpr[X86_RCX] = 2;
	c.gpr[X86_RDI] = 0x10020;
	check_ok(RUN(&c, "\xf3\xaa"));
	check_eq_u64(c.rip, 0x1000);
	check_eq_u64(c.gpr[X86_RCX], 1);

	/* rep stosd backwards (DF = 1) */
	reset();
	c = cpu_long();
	c.rflags |= X86_RFLAGS_DF;
	c.gpr[X86_RCX] = 2;
	c.gpr[X86_RDI] = 0x10040;
	c.gpr[X86_RAX] = 0xffffffff12345678;
	n = RUN_REP(&c, "\xf3\xab");
	check_eq_int(n, 2);
	check_eq_u64(c.gpr[X86_RDI], 0x10038);
	check_eq_u64(c.rflags, 0x2 | X86_RFLAGS_DF);
	MMIO_W(0, 4, 0x10040, 0x12345678);
	MMIO_W(1, 4, 0x1003c, 0x12345678);

	/* rep stosq with RCX = 0: nothing happens but RIP advances */
	reset();
	c = cpu_long();
	c.gpr[X86_RDI] = 0x10040;
	check_ok(RUN(&c, "\xf3\x48\xab"));
	check_eq_u64(c.rip, 0x1003);
	check_eq_u64(c.gpr[X86_RDI], 0x10040);
	check_eq_int(F.n_log, 0);
	check_eq_int(F.n_translate, 0);

	/* stosw without REP: RCX untouched */
	reset();
	c = cpu_long();
	c.gpr[X86_RCX] = 5;
	c.gpr[X86_RDI] = 0x10000;
	c.gpr[X86_RAX] = 0xbeef;
	check_ok(RUN(&c, "\x66\xab"));
	check_eq_u64(c.rip, 0x1002);
	check_eq_u64(c.gpr[X86_RCX], 5);
	check_eq_u64(c.gpr[X86_RDI], 0x10002);
	MMIO_W(0, 2, 0x10000, 0xbeef);

	/* 32-bit addressing in 64-bit mode: ECX counts, ECX/EDI writes zero-extend */
	reset();
	c = cpu_long();
	c.gpr[X86_RCX] = 0xffffffff00000001;
	c.gpr[X86_RDI] = 0xabcd000000010000;
	n = RUN_REP(&c, "\x67\xf3\xaa");
	check_eq_int(n, 1);
	check_eq_u64(c.rip, 0x1003);
	check_eq_u64(c.gpr[X86_RCX], 0);
	check_eq_u64(c.gpr[X86_RDI], 0x10001);
	MMIO_W(0, 1, 0x10000, 0);

	/* real mode: ES base applied, DI wraps at 64 KiB keeping the upper bits */
	reset();
	c = cpu_real();
	c.seg[X86_SEG_ES].selector = 0x1000;
	c.seg[X86_SEG_ES].base = 0x10000;
	c.gpr[X86_RCX] = 0xffff0002;
	c.gpr[X86_RDI] = 0x5555ffff;
	c.gpr[X86_RAX] = 0x77;
	n = RUN_REP(&c, "\xf3\xaa");
	check_eq_int(n, 2);
	check_eq_u64(c.gpr[X86_RCX], 0xffff0000);
	check_eq_u64(c.gpr[X86_RDI], 0x55550001);
	check_eq_u64(c.rip, 0x102);
	MMIO_W(0, 1, 0x1ffff, 0x77);
	MMIO_W(1, 1, 0x10000, 0x77);
	check_eq_int(F.n_translate, 0);
}

static void test_movs_lods(void)
{
	struct x86_cpu c = cpu_long();
	unsigned n;

	/* rep movsb RAM -> MMIO: only the writes are device accesses */
	reset();
	set_ram(0x3000, 0x44332211, 4);
	c.gpr[X86_RCX] = 4;
	c.gpr[X86_RSI] = 0x3000;
	c.gpr[X86_RDI] = 0x10200;
	n = RUN_REP(&c, "\xf3\xa4");
	check_eq_int(n, 4);
	check_eq_u64(c.gpr[X86_RSI], 0x3004);
	check_eq_u64(c.gpr[X86_RDI], 0x10204);
	check_eq_int(F.n_log, 4);
	for (unsigned i = 0; i < 4; i++)
		MMIO_W(i, 1, 0x10200 + i, 0x11 * (i + 1));

	/* movsw MMIO -> RAM: a read, and RAM is written only when the instruction completes */
	reset();
	c = cpu_long();
	set_mmio(0x10300, 0xcafe, 2);
	c.gpr[X86_RSI] = 0x10300;
	c.gpr[X86_RDI] = 0x3000;
	check_ok(RUN(&c, "\x66\xa5"));
	check_eq_u64(get_ram(0x3000, 2), 0xcafe);
	check_eq_u64(c.rip, 0x1002);
	check_eq_int(F.n_log, 1);
	MMIO_R(0, 2, 0x10300, 0xcafe);

	/* rep movsq MMIO -> MMIO backwards: read then write per iteration */
	reset();
	c = cpu_long();
	c.rflags |= X86_RFLAGS_DF;
	set_mmio(0x10400, 0x0807060504030201, 8);
	set_mmio(0x10408, 0x1817161514131211, 8);
	c.gpr[X86_RCX] = 2;
	c.gpr[X86_RSI] = 0x10408;
	c.gpr[X86_RDI] = 0x10508;
	n = RUN_REP(&c, "\xf3\x48\xa5");
	check_eq_int(n, 2);
	check_eq_u64(c.gpr[X86_RSI], 0x103f8);
	check_eq_u64(c.gpr[X86_RDI], 0x104f8);
	check_eq_int(F.n_log, 4);
	MMIO_R(0, 8, 0x10408, 0x1817161514131211);
	MMIO_W(1, 8, 0x10508, 0x1817161514131211);
	MMIO_R(2, 8, 0x10400, 0x0807060504030201);
	MMIO_W(3, 8, 0x10500, 0x0807060504030201);

	/* fs: movsb reads FS:RSI (base applied in 64-bit mode) and writes ES:RDI (base ignored) */
	reset();
	c = cpu_long();
	c.seg[X86_SEG_FS].base = 0x10000;
	c.seg[X86_SEG_ES].base = 0x50000;
	set_mmio(0x10010, 0x5a, 1);
	c.gpr[X86_RSI] = 0x10;
	c.gpr[X86_RDI] = 0x10020;
	check_ok(RUN(&c, "\x64\xa4"));
	MMIO_R(0, 1, 0x10010, 0x5a);
	MMIO_W(1, 1, 0x10020, 0x5a);

	/* lodsd zero-extends into RAX; lodsb keeps the upper bits */
	reset();
	c = cpu_long();
	set_mmio(0x10600, 0x89abcdef, 4);
	c.gpr[X86_RAX] = 0xffffffffffffffff;
	c.gpr[X86_RSI] = 0x10600;
	check_ok(RUN(&c, "\xad"));
	check_eq_u64(c.gpr[X86_RAX], 0x89abcdef);
	check_eq_u64(c.gpr[X86_RSI], 0x10604);
	c.gpr[X86_RAX] = 0xffffffffffffffff;
	c.gpr[X86_RSI] = 0x10600;
	check_ok(RUN(&c, "\xac"));
	check_eq_u64(c.gpr[X86_RAX], 0xffffffffffffffef);
}

static void test_string_io(void)
{
	struct x86_cpu c = cpu_long();
	unsigned n;

	/* rep insb into RAM: one port read from DX per iteration */
	reset();
	F.port_value = 0x41;
	c.gpr[X86_RCX] = 3;
	c.gpr[X86_RDX] = 0xffff03f8;	/* only DX is the port */
	c.gpr[X86_RDI] = 0x4000;
	n = RUN_REP(&c, "\xf3\x6c");
	check_eq_int(n, 3);
	check_eq_u64(get_ram(0x4000, 3), 0x434241);
	check_eq_u64(c.gpr[X86_RDI], 0x4003);
	check_eq_u64(c.rip, 0x1002);
	check_eq_int(F.n_log, 3);
	PIO_R(0, 1, 0x3f8, 0x41);
	PIO_R(1, 1, 0x3f8, 0x42);
	PIO_R(2, 1, 0x3f8, 0x43);

	/* rep outsw from RAM */
	reset();
	c = cpu_long();
	set_ram(0x4000, 0x3333222211110000 | 0xbeef, 8);
	c.gpr[X86_RCX] = 2;
	c.gpr[X86_RDX] = 0x604;
	c.gpr[X86_RSI] = 0x4000;
	n = RUN_REP(&c, "\xf3\x66\x6f");
	check_eq_int(n, 2);
	check_eq_u64(c.gpr[X86_RSI], 0x4004);
	PIO_W(0, 2, 0x604, 0xbeef);
	PIO_W(1, 2, 0x604, 0x1111);

	/* insd into MMIO: the port read, then the MMIO write */
	reset();
	c = cpu_long();
	F.port_value = 0xa5a5a5a5;
	c.gpr[X86_RDX] = 0x80;
	c.gpr[X86_RDI] = 0x10700;
	check_ok(RUN(&c, "\x6d"));
	PIO_R(0, 4, 0x80, 0xa5a5a5a5);
	MMIO_W(1, 4, 0x10700, 0xa5a5a5a5);

	/* outsb from MMIO with a segment override, in protected mode */
	reset();
	c = cpu_prot32();
	c.seg[X86_SEG_GS].base = 0x10000;
	set_mmio(0x10010, 0x99, 1);
	c.gpr[X86_RDX] = 0x3f8;
	c.gpr[X86_RSI] = 0x10;
	check_ok(RUN(&c, "\x65\x6e"));
	MMIO_R(0, 1, 0x10010, 0x99);
	PIO_W(1, 1, 0x3f8, 0x99);
	check_eq_u64(c.gpr[X86_RSI], 0x11);

	/* in/out */
	reset();
	c = cpu_long();
	F.port_value = 0x1234;
	c.gpr[X86_RAX] = 0xffffffffffffffff;
	check_ok(RUN(&c, "\xe4\x60"));
	check_eq_u64(c.gpr[X86_RAX], 0xffffffffffffff34);
	c.gpr[X86_RDX] = 0xcf8;
	check_ok(RUN(&c, "\xed"));
	check_eq_u64(c.gpr[X86_RAX], 0x1235);
	c.gpr[X86_RAX] = 0x80000010;
	check_ok(RUN(&c, "\xef"));
	check_eq_u64(c.rip, 0x1004);
	PIO_R(0, 1, 0x60, 0x34);
	PIO_R(1, 4, 0xcf8, 0x1235);
	PIO_W(2, 4, 0xcf8, 0x80000010);
}

static void test_page_split(void)
{
	struct x86_cpu c;

	/* RAM then MMIO: the RAM part is written directly, the device gets the rest */
	reset();
	c = cpu_long();
	c.gpr[X86_RAX] = 0x44332211;
	check_ok(RUN(&c, "\x89\x04\x25\xfe\xff\x00\x00"));	/* mov [0xfffe],eax */
	check_eq_u64(get_ram(0xfffe, 2), 0x2211);
	check_eq_int(F.n_log, 1);
	MMIO_W(0, 2, 0x10000, 0x4433);
	check_eq_int(F.n_translate, 2);
	check_eq_u64(F.translated[0], 0xfffe);
	check_eq_u64(F.translated[1], 0x10000);

	/* MMIO then MMIO, 8 bytes split 1 + 7 */
	reset();
	c = cpu_long();
	c.gpr[X86_RAX] = 0x8877665544332211;
	c.gpr[X86_RBX] = 0x10fff;
	check_ok(RUN(&c, "\x48\x89\x03"));
	check_eq_int(F.n_log, 2);
	MMIO_W(0, 1, 0x10fff, 0x11);
	MMIO_W(1, 7, 0x11000, 0x88776655443322);

	/* a split read assembles both pieces */
	reset();
	c = cpu_long();
	set_ram(0xfffc, 0xddccbbaa, 4);
	set_mmio(0x10000, 0x44332211, 4);
	c.gpr[X86_RBX] = 0xfffc;
	check_ok(RUN(&c, "\x48\x8b\x03"));
	check_eq_u64(c.gpr[X86_RAX], 0x44332211ddccbbaa);
	check_eq_int(F.n_log, 1);
	MMIO_R(0, 4, 0x10000, 0x44332211);

	/* RMW split between RAM and MMIO: the carry crosses the pieces; RAM written once */
	reset();
	c = cpu_long();
	set_ram(0xfffe, 0xffff, 2);
	set_mmio(0x10000, 0x0000, 2);
	c.gpr[X86_RBX] = 0xfffe;
	check_ok(RUN(&c, "\x83\x03\x01"));	/* add dword [rbx],1 */
	check_eq_u64(get_ram(0xfffe, 2), 0x0000);
	check_eq_int(F.n_log, 2);
	MMIO_R(0, 2, 0x10000, 0x0000);
	MMIO_W(1, 2, 0x10000, 0x0001);
	check_eq_u64(c.rflags, 0x2 | AF | PF);

	/* split RMW MMIO/MMIO: two reads, then two writes */
	reset();
	c = cpu_long();
	set_mmio(0x10ffe, 0x12345678, 4);
	c.gpr[X86_RBX] = 0x10ffe;
	check_ok(RUN(&c, "\xf7\x13"));	/* not dword [rbx] */
	check_eq_int(F.n_log, 4);
	MMIO_R(0, 2, 0x10ffe, 0x5678);
	MMIO_R(1, 2, 0x11000, 0x1234);
	MMIO_W(2, 2, 0x10ffe, 0xa987);
	MMIO_W(3, 2, 0x11000, 0xedcb);
	check_eq_int(F.bad_ram_calls, 0);
}

static void test_paging(void)
{
	struct x86_cpu c;
	struct x86_emu_ctx ctx;
	struct x86_access a;

	/* two discontiguous pages: linear 0x400000 -> MMIO, 0x401000 -> RAM 0x3000 */
	reset();
	F.map[0] = (struct mapping){ 0x400000, 0x10000, true };
	F.map[1] = (struct mapping){ 0x401000, 0x3000, true };
	F.map[2] = (struct mapping){ 0x500000, 0x11000, false };
	F.n_map = 3;
	c = cpu_long();
	c.gpr[X86_RAX] = 0xddccbbaa;
	c.gpr[X86_RBX] = 0x400ffe;
	check_ok(RUN(&c, "\x89\x03"));
	check_eq_int(F.n_log, 1);
	MMIO_W(0, 2, 0x10ffe, 0xbbaa);
	check_eq_u64(get_ram(0x3000, 2), 0xddcc);
	check_eq_int(F.n_translate, 2);
	check_eq_u64(F.translated[0], 0x400ffe);
	check_eq_u64(F.translated[1], 0x401000);

	/* MMIO piece then an unmapped one: -EFAULT before any device access */
	c.rip = 0x1000;
	F.map[3] = (struct mapping){ 0x600000, 0x11000, true };
	F.n_map = 4;
	c.gpr[X86_RBX] = 0x600ffe;
	x86_emu_ctx_reset(&ctx);
	check_eq_int(x86_emulate(&ops, &F, &c, (const uint8_t *)"\x89\x03", 2, &ctx, &a), -EFAULT);
	check_eq_u64(a.addr, 0x601000);
	check(a.write);
	check_eq_int(ctx.fault_vector, 14);
	check_eq_u64(c.rip, 0x1000);

	/* write to a read-only page faults; a read from it works */
	c.gpr[X86_RBX] = 0x500010;
	check_eq_int(x86_emulate(&ops, &F, &c, (const uint8_t *)"\x89\x03", 2, &ctx, &a), -EFAULT);
	check_eq_u64(a.addr, 0x500010);
	check_ok(RUN(&c, "\x8b\x03"));
	check_eq_u64(c.gpr[X86_RAX], 0x93929190);	/* reset() pattern at MMIO offset 0x1010 */

	/* cmp reads only: translated for read */
	F.n_translate = 0;
	c = cpu_long();
	c.gpr[X86_RBX] = 0x500010;
	check_ok(RUN(&c, "\x39\x03"));
	check(!F.translated_write[0]);

	/* non-canonical address: #GP */
	c = cpu_long();
	c.gpr[X86_RBX] = 0x0000800000000000;
	check_eq_int(x86_emulate(&ops, &F, &c, (const uint8_t *)"\x8b\x03", 2, &ctx, &a), -EFAULT);
	check_eq_int(ctx.fault_vector, 13);
	check_eq_u64(a.addr, 0x0000800000000000);
	check(!a.write);

	/* a backend failure in translate is returned as is, not turned into a guest fault */
	F.translate_error = -EIO;
	c.gpr[X86_RBX] = 0x10000;
	check_eq_int(x86_emulate(&ops, &F, &c, (const uint8_t *)"\x8b\x03", 2, &ctx, &a), -EIO);
	check_eq_u64(c.rip, 0x1000);
	F.translate_error = 0;

	/* RIP-relative, then a string instruction through the page table */
	reset();
	F.map[0] = (struct mapping){ 0x400000, 0x10000, true };
	F.map[1] = (struct mapping){ 0x7000, 0x3000, true };
	F.n_map = 2;
	c = cpu_long();
	c.rip = 0x7ff0000;
	/* mov eax,[rip + 0x400010 - (0x7ff0000 + 6)] */
	{
		uint32_t disp = (uint32_t)(0x400010 - (0x7ff0000 + 6));
		uint8_t insn[6] = { 0x8b, 0x05, (uint8_t)disp, (uint8_t)(disp >> 8),
				    (uint8_t)(disp >> 16), (uint8_t)(disp >> 24) };

		set_mmio(0x10010, 0x600d, 4);
		check_ok(run(&c, insn, sizeof(insn)));
		check_eq_u64(c.gpr[X86_RAX], 0x600d);
		check_eq_u64(c.rip, 0x7ff0006);
		MMIO_R(0, 4, 0x10010, 0x600d);
	}
	c.gpr[X86_RSI] = 0x7100;
	c.gpr[X86_RDI] = 0x400020;
	set_ram(0x3100, 0x42, 1);
	check_ok(RUN(&c, "\xa4"));
	MMIO_W(1, 1, 0x10020, 0x42);

	/* paging off in protected mode: GPA = linear, translate not called */
	reset();
	c = cpu_prot32();
	c.gpr[X86_RBX] = 0x10000;
	check_ok(RUN(&c, "\x89\x03"));
	check_eq_int(F.n_translate, 0);
	MMIO_W(0, 4, 0x10000, 0);
}

static void test_segments(void)
{
	struct x86_cpu c;

	/* real mode: DS base, [bx+si+disp8] wraps at 64 KiB */
	reset();
	c = cpu_real();
	c.seg[X86_SEG_DS].selector = 0x1000;
	c.seg[X86_SEG_DS].base = 0x10000;
	c.gpr[X86_RBX] = 0xfff0;
	c.gpr[X86_RSI] = 0x0010;
	c.gpr[X86_RAX] = 0xabcd;
	check_ok(RUN(&c, "\x89\x40\x04"));	/* mov [bx+si+4],ax */
	check_eq_u64(c.rip, 0x103);
	MMIO_W(0, 2, 0x10004, 0xabcd);
	check_eq_int(F.n_translate, 0);

	/* real mode: [bp+di] defaults to SS, es: overrides */
	reset();
	c = cpu_real();
	c.seg[X86_SEG_SS].base = 0x10100;
	c.seg[X86_SEG_ES].base = 0x10200;
	c.gpr[X86_RBP] = 0x10;
	c.gpr[X86_RDI] = 0x2;
	c.gpr[X86_RAX] = 0x5a;
	check_ok(RUN(&c, "\x88\x03"));		/* mov [bp+di],al */
	check_ok(RUN(&c, "\x26\x88\x03"));	/* mov es:[bp+di],al */
	check_ok(RUN(&c, "\x26\x88\x45\x00"));	/* mov es:[di+0],al */
	MMIO_W(0, 1, 0x10112, 0x5a);
	MMIO_W(1, 1, 0x10212, 0x5a);
	MMIO_W(2, 1, 0x10202, 0x5a);

	/* real mode: 32-bit operand and address size prefixes */
	reset();
	c = cpu_real();
	c.seg[X86_SEG_DS].base = 0x10000;
	c.gpr[X86_RAX] = 0x12345678;
	c.gpr[X86_RCX] = 0x20;
	check_ok(RUN(&c, "\x67\x66\x89\x44\x48\x10"));	/* mov [eax+ecx*2+0x10],eax */
	MMIO_W(0, 4, 0x10000 + ((0x12345678 + 0x40 + 0x10) & 0xffffffffu), 0x12345678);

	/* protected mode: the 32-bit effective address wraps, then the linear address wraps */
	reset();
	c = cpu_prot32();
	c.seg[X86_SEG_DS].base = 0xfffff000;
	c.gpr[X86_RAX] = 0xfffffff0;
	c.gpr[X86_RBX] = 0x11014;
	c.gpr[X86_RCX] = 0x0000000011223344;
	check_ok(RUN(&c, "\x89\x0c\x18"));	/* mov [eax+ebx],ecx: ea 0x11004 */
	MMIO_W(0, 4, 0x10004, 0x11223344);
	check_eq_u64(c.rip, 0x2003);

	/* 64-bit mode: DS base ignored, FS/GS bases applied */
	reset();
	c = cpu_long();
	c.seg[X86_SEG_DS].base = 0x100000;
	c.seg[X86_SEG_GS].base = 0x10000;
	c.gpr[X86_RBX] = 0x10;
	c.gpr[X86_RAX] = 0xfeedface;
	check_ok(RUN(&c, "\x89\x03"));	/* DS:0x10 is linear 0x10: RAM */
	check_eq_u64(get_ram(0x10, 4), 0xfeedface);
	check_ok(RUN(&c, "\x65\x89\x03"));	/* GS:0x10 is linear 0x10010: MMIO */
	check_eq_int(F.n_log, 1);
	MMIO_W(0, 4, 0x10010, 0xfeedface);
}

static void test_replay(void)
{
	struct x86_cpu c = cpu_long(), before;
	struct x86_emu_ctx ctx;
	struct x86_access a;
	const uint8_t *add = (const uint8_t *)"\x83\x07\x01";	/* add dword [rdi],1 */

	reset();
	c.gpr[X86_RDI] = 0x10000;
	before = c;
	x86_emu_ctx_reset(&ctx);
	check_eq_int(x86_emulate(&ops, &F, &c, add, 3, &ctx, &a), X86_EMU_ACCESS);
	check(!a.write && !a.pio && a.size == 4 && a.addr == 0x10000);
	/* asking again before completion hands out the same access */
	check_eq_int(x86_emulate(&ops, &F, &c, add, 3, &ctx, &a), X86_EMU_ACCESS);
	check(!a.write && a.addr == 0x10000);
	check_eq_int(ctx.n_done, 0);
	x86_emu_access_done(&ctx, 0xffffffff00000005);	/* bits above the size are dropped */
	check_eq_u64(ctx.done[0].data, 5);
	check_eq_int(x86_emulate(&ops, &F, &c, add, 3, &ctx, &a), X86_EMU_ACCESS);
	check(a.write && a.size == 4 && a.addr == 0x10000 && a.data == 6);
	check(memcmp(&c, &before, sizeof(c)) == 0);
	x86_emu_access_done(&ctx, 0x1234);	/* ignored for a write */
	check_eq_u64(ctx.done[1].data, 6);
	check_eq_int(x86_emulate(&ops, &F, &c, add, 3, &ctx, &a), 0);
	check_eq_u64(c.rip, 0x1003);
	check_eq_u64(c.rflags, 0x2 | PF);
	check_eq_int(ctx.n_done, 0);
	check(!ctx.pending);

	/* a log that belongs to another instruction is refused */
	c = before;
	x86_emu_ctx_reset(&ctx);
	check_eq_int(x86_emulate(&ops, &F, &c, add, 3, &ctx, &a), X86_EMU_ACCESS);
	x86_emu_access_done(&ctx, 1);
	c.rip += 0x10;
	check_eq_int(x86_emulate(&ops, &F, &c, add, 3, &ctx, &a), -EINVAL);
	check_eq_int(ctx.n_done, 0);

	/* a log whose accesses differ (here: another address) is refused */
	c = before;
	check_eq_int(x86_emulate(&ops, &F, &c, add, 3, &ctx, &a), X86_EMU_ACCESS);
	x86_emu_access_done(&ctx, 1);
	c.gpr[X86_RDI] += 4;
	check_eq_int(x86_emulate(&ops, &F, &c, add, 3, &ctx, &a), -EINVAL);

	/* done without a pending access does nothing */
	x86_emu_ctx_reset(&ctx);
	x86_emu_access_done(&ctx, 1);
	check_eq_int(ctx.n_done, 0);
}

static void test_errors(void)
{
	struct x86_cpu c = cpu_long(), before;
	struct x86_emu_ctx ctx;
	struct x86_access a;

	reset();
	before = c;
	x86_emu_ctx_reset(&ctx);
	check_eq_int(x86_emulate(&ops, &F, &c, (const uint8_t *)"\x0f\x05", 2, &ctx, &a),
		     -EOPNOTSUPP);
	check_eq_int(x86_emulate(&ops, &F, &c, (const uint8_t *)"\x89", 1, &ctx, &a), -ENODATA);
	check_eq_int(x86_emulate(&ops, &F, &c, (const uint8_t *)"\xf0\x89\x07", 3, &ctx, &a),
		     -EINVAL);
	check_eq_int(x86_emulate(&ops, &F, &c, NULL, 2, &ctx, &a), -EINVAL);
	check(memcmp(&c, &before, sizeof(c)) == 0);
	check_eq_int(F.n_translate, 0);
	/* mode follows the CPU state: the same bytes decode differently in 32-bit mode */
	c = cpu_prot32();
	c.gpr[X86_RDI] = 0x10000;
	check_eq_int(RUN(&c, "\x48\x89\x07"), -EOPNOTSUPP);	/* 48 is DEC EAX there */
	check_eq_u64(c.rip, 0x2000);
}

int main(void)
{
	test_mov_store();
	test_mov_load();
	test_alu();
	test_flags_vs_host();
	test_rep_stos();
	test_movs_lods();
	test_string_io();
	test_page_split();
	test_paging();
	test_segments();
	test_replay();
	test_errors();
	return test_done();
}
