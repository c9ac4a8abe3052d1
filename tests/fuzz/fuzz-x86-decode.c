// SPDX-License-Identifier: MIT
/* libFuzzer target: x86_decode() and x86_decode_length() in every mode and x86_emulate() on a
 * fake guest behave. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hv/x86/x86.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE	0x4000u

struct env {
	uint8_t ram[RAM_SIZE];
	uint64_t seed;		/* drives read values and translation choices */
	uint8_t cfg;
};

static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int env_translate(void *opaque, uint64_t linear, bool write, uint64_t *ret_gpa)
{
	struct env *e = opaque;
	uint64_t page = linear >> 12;

	/* some pages unmapped, some read-only, the rest shuffled into a small GPA space */
	if ((e->cfg & 0x10) && (page * 0x9e3779b97f4a7c15ull) >> 61 == 0)
		return -EFAULT;
	if (write && (e->cfg & 0x20) && (page & 3) == 1)
		return -EFAULT;
	*ret_gpa = ((page ^ (e->cfg >> 6)) & 0x1f) << 12 | (linear & 0xfff);
	return 0;
}

static void *env_ram(void *opaque, uint64_t gpa, size_t len, bool write)
{
	struct env *e = opaque;

	/* the emulator promises page-bounded pieces of 1..8 bytes */
	if (len == 0 || len > 8 || (gpa & 0xfff) + len > 0x1000)
		abort();
	if (gpa >= RAM_SIZE || len > RAM_SIZE - gpa)
		return NULL;
	return &e->ram[gpa];
}

static const struct x86_emu_ops env_ops = { .translate = env_translate, .ram = env_ram };

static bool same_insn(const struct x86_insn *a, const struct x86_insn *b)
{
	return a->op == b->op && a->len == b->len && a->opsize == b->opsize &&
	       a->addrsize == b->addrsize && a->prefixes == b->prefixes && a->rex == b->rex &&
	       a->has_mem == b->has_mem && a->mem.seg == b->mem.seg &&
	       a->mem.base == b->mem.base && a->mem.index == b->mem.index &&
	       a->mem.scale == b->mem.scale && a->mem.disp == b->mem.disp &&
	       a->mem.rip_relative == b->mem.rip_relative && a->imm == b->imm &&
	       a->dst.kind == b->dst.kind && a->dst.reg == b->dst.reg &&
	       a->src.kind == b->src.kind && a->src.reg == b->src.reg && a->rep == b->rep;
}

/* The length decoder: sane fields, reads exactly len bytes, and agrees with x86_decode(). */
static void check_length(const uint8_t *data, size_t size, enum x86_mode mode)
{
	struct x86_insn insn, again, full;
	int r = x86_decode_length(data, size, mode, &insn);

	switch (r) {
	case 0:
		if (insn.len < 1 || insn.len > X86_MAX_INSN_LEN || insn.len > size)
			abort();
		if (insn.opcode_len < 1 || insn.opcode_len > 3 || insn.op != X86_OP_NONE)
			abort();
		if (x86_insn_mem_write_size(&insn) > 8)
			abort();
		if (x86_decode_length(data, insn.len, mode, &again) || again.len != insn.len ||
		    x86_decode_length(data, insn.len - 1, mode, &again) != -ENODATA)
			abort();
		break;
	case -ENODATA:
		if (size >= X86_MAX_INSN_LEN)
			abort();
		break;
	case -EINVAL:
	case -EOPNOTSUPP:
		break;
	default:
		abort();
	}
	/* whatever the emulator decodes has the same length */
	if (x86_decode(data, size, mode, &full) == 0 && (r != 0 || full.len != insn.len))
		abort();
}

static void check_decode(const uint8_t *data, size_t size, enum x86_mode mode)
{
	struct x86_insn insn, again;
	int r = x86_decode(data, size, mode, &insn);

	switch (r) {
	case 0:
		if (insn.len < 1 || insn.len > X86_MAX_INSN_LEN || insn.len > size)
			abort();
		if (insn.opsize != 1 && insn.opsize != 2 && insn.opsize != 4 && insn.opsize != 8)
			abort();
		if (insn.addrsize != 2 && insn.addrsize != 4 && insn.addrsize != 8)
			abort();
		if (insn.op <= X86_OP_NONE || insn.op >= X86_OP_COUNT)
			abort();
		/* the decoder read exactly len bytes: the same bytes alone decode the same */
		if (x86_decode(data, insn.len, mode, &again) || !same_insn(&insn, &again))
			abort();
		break;
	case -ENODATA:
		if (size >= X86_MAX_INSN_LEN)
			abort();
		break;
	case -EINVAL:
	case -EOPNOTSUPP:
		break;
	default:
		abort();
	}
}

static uint64_t pick_value(uint64_t *s)
{
	static const uint64_t interesting[] = {
		0, 1, 0xffe, 0xfff, 0x1000, 0x1ffc, 0x3ffe, 0x4000, 0xfffe, 0xffff, 0x10000,
		0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x7ffffffffffe, 0x800000000000,
		0xffff800000000000, 0xfffffffffffffff8, 0xffffffffffffffff,
	};
	uint64_t r = mix(s);

	if (r & 1)
		return interesting[(r >> 1) % (sizeof(interesting) / sizeof(interesting[0]))];
	return mix(s);
}

static void setup_cpu(struct x86_cpu *cpu, uint8_t cfg, uint64_t *s)
{
	memset(cpu, 0, sizeof(*cpu));
	for (int i = 0; i < 16; i++)
		cpu->gpr[i] = pick_value(s);
	cpu->rip = pick_value(s);
	cpu->rflags = 0x2 | (mix(s) & (X86_RFLAGS_ARITH | X86_RFLAGS_DF));
	for (int i = 0; i < X86_SEG_COUNT; i++) {
		cpu->seg[i].base = (cfg & 0x80) ? pick_value(s) : 0;
		cpu->seg[i].limit = 0xffffffff;
	}
	switch (cfg & 3) {
	case 0:		/* real */
		break;
	case 1:		/* 16-bit protected */
		cpu->cr0 = X86_CR0_PE;
		break;
	case 2:		/* 32-bit protected, maybe paged */
		cpu->cr0 = X86_CR0_PE | (cfg & 4 ? X86_CR0_PG : 0);
		cpu->seg[X86_SEG_CS].attributes = X86_SEG_ATTR_DB;
		break;
	default:	/* long */
		cpu->cr0 = X86_CR0_PE | X86_CR0_PG;
		cpu->efer = X86_EFER_LMA;
		cpu->seg[X86_SEG_CS].attributes = X86_SEG_ATTR_L;
		break;
	}
	if (cfg & 8)
		cpu->rflags |= X86_RFLAGS_VM;
}

static uint64_t next_rip(enum x86_mode mode, uint64_t rip, unsigned len)
{
	return mode == X86_MODE_LONG ? rip + len : (rip + len) & 0xffffffff;
}

static bool same_access(const struct x86_access *a, const struct x86_access *b)
{
	return a->pio == b->pio && a->write == b->write && a->size == b->size &&
	       a->addr == b->addr && a->data == b->data;
}

/* Run the instruction like a backend would: complete accesses, re-run REP iterations (bounded). */
static void check_emulate(const uint8_t *insn_bytes, size_t n, uint8_t cfg, uint64_t seed)
{
	static struct env env;
	struct x86_cpu cpu;
	struct x86_emu_ctx ctx;
	struct x86_insn insn;

	memset(&env, 0, sizeof(env));
	env.cfg = cfg;
	env.seed = seed;
	for (unsigned i = 0; i < RAM_SIZE; i += 8) {
		uint64_t v = mix(&env.seed);

		memcpy(&env.ram[i], &v, 8);
	}
	setup_cpu(&cpu, cfg, &env.seed);
	x86_emu_ctx_reset(&ctx);

	for (int iteration = 0; iteration < 8; iteration++) {
		enum x86_mode mode = x86_cpu_mode(&cpu);
		uint64_t rip = cpu.rip;
		int r = 0;

		for (int pass = 0; pass < 12; pass++) {
			struct x86_cpu before = cpu;
			struct x86_access a, a2;

			r = x86_emulate(&env_ops, &env, &cpu, insn_bytes, n, &ctx, &a);
			if (r != X86_EMU_ACCESS)
				break;
			if (memcmp(&before, &cpu, sizeof(cpu)) || a.size < 1 || a.size > 8)
				abort();
			if (a.pio && (a.size == 3 || a.size > 4 || a.addr > 0xffff))
				abort();
			if (ctx.n_done >= X86_EMU_MAX_ACCESSES)
				abort();
			/* asking again before completing hands out the same access */
			if (mix(&env.seed) & 1) {
				if (x86_emulate(&env_ops, &env, &cpu, insn_bytes, n, &ctx, &a2) !=
				    X86_EMU_ACCESS || !same_access(&a, &a2))
					abort();
			}
			x86_emu_access_done(&ctx, mix(&env.seed));
		}
		switch (r) {
		case 0:
			if (x86_decode(insn_bytes, n, mode, &insn))
				abort();
			/* RIP moves past the instruction, or stays for a REP iteration */
			if (cpu.rip != rip && cpu.rip != next_rip(mode, rip, insn.len))
				abort();
			if (cpu.rip == rip && !insn.rep)
				abort();
			if (ctx.n_done || ctx.pending)
				abort();
			if (cpu.rip != rip)
				return;
			break;
		case X86_EMU_ACCESS:	/* more accesses than passes allowed: give up */
			return;
		case -EFAULT:
			if (ctx.fault_vector != 13 && ctx.fault_vector != 14)
				abort();
			return;
		case -ENODATA:
		case -EOPNOTSUPP:
		case -EINVAL:
			return;
		default:
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t seed = 0;

	for (int mode = X86_MODE_REAL; mode <= X86_MODE_LONG; mode++) {
		check_decode(data, size, mode);
		check_length(data, size, mode);
	}
	if (size < 2)
		return 0;

	/* byte 0 configures the CPU and the fake MMU, the rest is the instruction */
	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 0x100000001b3ull;
	check_emulate(data + 1, size - 1 > 16 ? 16 : size - 1, data[0], seed);
	return 0;
}
