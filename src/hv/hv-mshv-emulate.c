// SPDX-License-Identifier: MIT
/* The mshv backend's emulation of MMIO and string port-I/O intercepts through src/hv/x86. */
#include <errno.h>
#include <string.h>

#include "hv/hv-mshv.h"

/*
 * One intercepted instruction is emulated on a snapshot of the vCPU (struct x86_cpu).  Every
 * device access becomes one normalized exit; on completion the instruction is replayed from
 * the start with the completed accesses served from the log (x86.h), so the emulator needs no
 * state of its own between exits.  When it finishes, the registers that changed go to the
 * write-back cache and reach the hypervisor before the guest runs again.  REP string
 * instructions run element by element here, without entering the guest in between, up to
 * REP_BATCH elements; then the guest re-executes the instruction (and takes interrupts).
 */
#define REP_BATCH 4096

/* Register names loaded for the emulator after the write-back slots (mshv_hv_wb_names: GPRs,
 * RIP, RFLAGS): segments, then control registers. */
static const uint32_t cpu_names[] = {
	HV_X64_REGISTER_ES, HV_X64_REGISTER_CS, HV_X64_REGISTER_SS, HV_X64_REGISTER_DS,
	HV_X64_REGISTER_FS, HV_X64_REGISTER_GS,
	HV_X64_REGISTER_CR0, HV_X64_REGISTER_CR3, HV_X64_REGISTER_CR4, HV_X64_REGISTER_EFER,
};

#define N_CPU_NAMES	(MSHV_WB_COUNT + sizeof(cpu_names) / sizeof(cpu_names[0]))
#define FIRST_SEG	MSHV_WB_COUNT
#define FIRST_CR	(FIRST_SEG + X86_SEG_COUNT)

/* The vCPU state the emulator needs: GPRs/RIP/RFLAGS from the register page when it is valid,
 * the rest (or everything) with one HVCALL_GET_VP_REGISTERS. */
static int load_cpu(struct mshv_hv_vcpu *mc, struct x86_cpu *cpu)
{
	struct hv_register_assoc a[N_CPU_NAMES];
	bool page = mc->page && mc->page->isvalid;
	unsigned first = page ? FIRST_SEG : 0;
	int r;

	r = mshv_hv_flush(mc);
	if (r < 0)
		return r;
	memset(a, 0, sizeof(a));
	for (unsigned i = first; i < N_CPU_NAMES; i++)
		a[i - first].name = i < MSHV_WB_COUNT ? mshv_hv_wb_names[i] :
						       cpu_names[i - MSHV_WB_COUNT];
	r = mshv_vcpu_get_reg(mc->vp, a, N_CPU_NAMES - first);
	if (r < 0) {
		mc->base.last_status = mshv_last_hv_status();
		return r;
	}
	memset(cpu, 0, sizeof(*cpu));
	if (page) {
		memcpy(cpu->gpr, mc->page->gp_registers, sizeof(cpu->gpr));
		cpu->rip = mc->page->rip;
		cpu->rflags = mc->page->rflags;
	} else {
		for (unsigned i = 0; i < 16; i++)
			cpu->gpr[i] = a[i].value.reg64;
		cpu->rip = a[MSHV_WB_RIP].value.reg64;
		cpu->rflags = a[MSHV_WB_RFLAGS].value.reg64;
	}
	for (unsigned s = 0; s < X86_SEG_COUNT; s++) {
		const struct hv_x64_segment_register *h = &a[FIRST_SEG + s - first].value.segment;

		cpu->seg[s].base = h->base;
		cpu->seg[s].limit = h->limit;
		cpu->seg[s].selector = h->selector;
		cpu->seg[s].attributes = h->attributes;
	}
	cpu->cr0 = a[FIRST_CR - first].value.reg64;
	cpu->cr3 = a[FIRST_CR + 1 - first].value.reg64;
	cpu->cr4 = a[FIRST_CR + 2 - first].value.reg64;
	cpu->efer = a[FIRST_CR + 3 - first].value.reg64;
	return 0;
}

/* ---- guest memory ------------------------------------------------------------------------- */

/* Host address of len bytes of guest RAM at gpa, within one mapping (writable for a write).
 * The guest's own writes are logged by the hypervisor; a write made here is logged by us. */
static void *gpa_host(struct mshv_hv_vcpu *mc, uint64_t gpa, size_t len, bool write)
{
	const struct hv_mapping *m;
	uint64_t avail;
	void *host = hv_vm_gpa_host(mc->base.vm, gpa, &avail, &m);

	if (!host || len > avail || (write && !(m->flags & HV_MAP_WRITE)))
		return NULL;
	if (write)
		mshv_hv_mark_dirty(mc, m, gpa, len);
	return host;
}

static int emu_translate(void *opaque, uint64_t linear, bool write, uint64_t *ret_gpa)
{
	struct mshv_hv_vcpu *mc = opaque;

	/* The intercept already carries the translation of the faulting page. */
	if (mc->gva_gpa_valid && (linear >> 12) == (mc->msg_gva >> 12)) {
		*ret_gpa = (mc->msg_gpa & ~0xfffull) | (linear & 0xfff);
		return 0;
	}
	/* The emulator turns -EFAULT into a guest #PF; a failed hypercall is reported the same
	 * way rather than stopping the vCPU (last_status keeps the cause). */
	return mshv_hv_translate(mc, linear, write ? HV_TRANSLATE_GVA_VALIDATE_WRITE :
						     HV_TRANSLATE_GVA_VALIDATE_READ, ret_gpa) < 0 ?
	       -EFAULT : 0;
}

/* Guest RAM for the emulator.  A store to a read-only mapping is a device access (MMIO), as
 * on KVM; loads from it are served from memory. */
static void *emu_ram(void *opaque, uint64_t gpa, size_t len, bool write)
{
	return gpa_host(opaque, gpa, len, write);
}

static const struct x86_emu_ops emu_ops = {
	.translate = emu_translate,
	.ram = emu_ram,
};

/* Read up to n instruction bytes at CS:RIP from guest RAM; returns how many were readable. */
static size_t fetch_insn(struct mshv_hv_vcpu *mc, const struct x86_cpu *cpu, uint8_t *buf,
			 size_t n)
{
	enum x86_mode mode = x86_cpu_mode(cpu);
	uint64_t lin;
	size_t done = 0;

	if (mode == X86_MODE_LONG)
		lin = cpu->rip;
	else if (mode == X86_MODE_REAL)
		lin = cpu->seg[X86_SEG_CS].base + (cpu->rip & 0xffff);
	else
		lin = (cpu->seg[X86_SEG_CS].base + cpu->rip) & 0xffffffffull;
	while (done < n) {
		uint64_t la = lin + done, gpa = la;
		size_t chunk = 4096 - (la & 4095);
		const uint8_t *host;

		if (chunk > n - done)
			chunk = n - done;
		if ((cpu->cr0 & X86_CR0_PG) && emu_translate(mc, la, false, &gpa) < 0)
			break;
		host = gpa_host(mc, gpa, chunk, false);
		if (!host)
			break;
		memcpy(buf + done, host, chunk);
		done += chunk;
	}
	return done;
}

/* ---- emulation ---------------------------------------------------------------------------- */

/* The registers the instruction changed go to the write-back cache. */
static void commit(struct mshv_hv_vcpu *mc)
{
	for (unsigned i = 0; i < 16; i++)
		if (mc->cpu.gpr[i] != mc->cpu_orig.gpr[i])
			mshv_hv_wb_set(mc, i, mc->cpu.gpr[i]);
	if (mc->cpu.rip != mc->cpu_orig.rip)
		mshv_hv_wb_set(mc, MSHV_WB_RIP, mc->cpu.rip);
	if (mc->cpu.rflags != mc->cpu_orig.rflags)
		mshv_hv_wb_set(mc, MSHV_WB_RFLAGS, mc->cpu.rflags);
	mc->cpu_orig = mc->cpu;
}

static uint64_t addr_mask(uint8_t addrsize)
{
	return addrsize == 8 ? ~0ull : addrsize == 4 ? 0xffffffffull : 0xffffull;
}

static void exit_from_access(struct mshv_hv_vcpu *mc, struct hv_exit *exit)
{
	const struct x86_access *a = &mc->access;

	memset(exit, 0, sizeof(*exit));
	exit->rip = mc->cpu.rip;
	exit->rflags = mc->cpu.rflags;
	exit->insn_len = mc->insn.len;
	if (a->pio) {
		exit->kind = HV_EXIT_IO;
		exit->io.port = (uint16_t)a->addr;
		exit->io.size = a->size;
		exit->io.write = a->write;
		exit->io.string = mc->insn.op == X86_OP_INS || mc->insn.op == X86_OP_OUTS;
		exit->io.rep = mc->insn.rep;
		exit->io.count = mc->insn.rep ?
			mc->cpu.gpr[X86_RCX] & addr_mask(mc->insn.addrsize) : 1;
		if (a->write)
			exit->io.data = a->data;
	} else {
		exit->kind = HV_EXIT_MMIO;
		exit->mmio.gpa = a->addr;
		exit->mmio.size = a->size;
		exit->mmio.write = a->write;
		if (a->write)
			exit->mmio.data = a->data;
	}
}

/* Page fault error code for an emulated access: P unknown (0), W, U from CPL. */
static uint32_t pf_error(const struct x86_cpu *cpu, bool write)
{
	bool user = (cpu->seg[X86_SEG_SS].attributes >> 5 & 3) == 3;

	return (write ? 1u << 1 : 0) | (user ? 1u << 2 : 0);
}

/* Run the emulator until it needs a device access (0, *exit filled) or the instruction is
 * done (1).  A fault is injected into the guest (1). */
static int emu_step(struct mshv_hv_vcpu *mc, struct hv_exit *exit)
{
	for (unsigned iter = 0;; iter++) {
		int r = x86_emulate(&emu_ops, mc, &mc->cpu, mc->bytes, mc->nbytes, &mc->ctx,
				    &mc->access);

		if (r == X86_EMU_ACCESS) {
			exit_from_access(mc, exit);
			mc->pending = MSHV_PENDING_EMU;
			return 0;
		}
		mc->pending = MSHV_PENDING_NONE;
		if (r == -EFAULT) {
			uint8_t v = mc->ctx.fault_vector ? mc->ctx.fault_vector : 13;
			uint32_t code = v == 14 ? pf_error(&mc->cpu, mc->access.write) : 0;

			r = mshv_hv_inject_exception(mc, v, true, code, mc->access.addr);
			return r < 0 ? r : 1;
		}
		if (r < 0)
			return r;
		commit(mc);
		/* A REP element finished and RIP stayed: the next element, unless the guest
		 * should get a chance to take interrupts. */
		if (mc->insn.rep && mc->cpu.rip == mc->rip && iter + 1 < REP_BATCH)
			continue;
		return 1;
	}
}

int mshv_hv_emulate_start(struct mshv_hv_vcpu *mc,
			  const struct hv_x64_memory_intercept_message *mem,
			  const struct hv_x64_io_port_intercept_message *io, struct hv_exit *exit)
{
	const struct hv_x64_intercept_message_header *h = mem ? &mem->header : &io->header;
	size_t n = mem ? mem->instruction_byte_count : io->instruction_byte_count;
	int r;

	r = load_cpu(mc, &mc->cpu);
	if (r < 0)
		return r;
	/* The message's RIP is the instruction's; the snapshot must agree with it. */
	mc->cpu.rip = h->rip;
	mc->cpu_orig = mc->cpu;
	mc->rip = h->rip;
	mc->gva_gpa_valid = mem && mem->memory_access_info.gva_valid &&
			    mem->memory_access_info.gva_gpa_valid;
	mc->msg_gva = mem ? mem->guest_virtual_address : 0;
	mc->msg_gpa = mem ? mem->guest_physical_address : 0;
	x86_emu_ctx_reset(&mc->ctx);

	if (n > sizeof(mc->bytes))
		n = sizeof(mc->bytes);
	memcpy(mc->bytes, mem ? mem->instruction_bytes : io->instruction_bytes, n);
	mc->nbytes = n;
	r = x86_decode(mc->bytes, mc->nbytes, x86_cpu_mode(&mc->cpu), &mc->insn);
	if (r == -ENODATA || n == 0) {
		/* Too few bytes in the message (or none): read the instruction from guest RAM. */
		mc->nbytes = fetch_insn(mc, &mc->cpu, mc->bytes, X86_MAX_INSN_LEN);
		r = x86_decode(mc->bytes, mc->nbytes, x86_cpu_mode(&mc->cpu), &mc->insn);
	}
	if (r < 0)
		return r;
	return emu_step(mc, exit);
}

int mshv_hv_emulate_complete(struct mshv_hv_vcpu *mc, uint64_t value)
{
	int r;

	x86_emu_access_done(&mc->ctx, value);
	r = emu_step(mc, &mc->stash);
	if (r == 0)
		mc->stashed = true;
	return r < 0 ? r : 0;
}
