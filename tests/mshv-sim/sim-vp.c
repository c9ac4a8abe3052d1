// SPDX-License-Identifier: MIT
/*
 * mshv-sim test double: VP fds.  MSHV_RUN_VP runs the vCPU on the software engine
 * (src/hv/emu) and turns its exits into hv_messages.  The engine exits *before* the
 * instruction, as the hypervisor does, so a message is built straight from the engine's state:
 * RIP on the instruction, its exact length and bytes, nothing executed.  The VMM emulates the
 * instruction and moves RIP itself (the register hypercalls or the register page); that
 * abandons the engine's pending exit.  Only ioeventfd writes, CPUID and MSRs nobody intercepts
 * are completed here, inside the run, without a message.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim.h"

void sim_vp_free(struct sim_vp *vp)
{
	if (!vp)
		return;
	if (vp->reg_page)
		munmap(vp->reg_page, 2 * SIM_PAGE_SIZE);
	if (vp->ev)
		emu_vcpu_free(vp->ev);
	pthread_mutex_destroy(&vp->lock);
	free(vp);
}

/* A VP fd went away; the VP itself lives as long as the partition (like the kernel's). */
void sim_vp_unref(struct sim_vp *vp)
{
	sim_pt_unref(vp->pt);
}

int sim_vp_new(struct sim_partition *pt, uint32_t index, struct sim_vp **ret)
{
	struct sim_vp *vp;
	void *pages;
	int memfd, r, fd;

	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	pthread_mutex_init(&vp->lock, NULL);
	vp->pt = pt;
	vp->index = index;
	vp->xfem = 3;

	r = emu_vcpu_new(pt->vm, index, &vp->ev);
	if (r < 0) {
		vp->ev = NULL;
		goto fail;
	}

	memfd = memfd_create("mshv-sim-vp", MFD_CLOEXEC);
	if (memfd < 0) {
		r = -errno;
		goto fail;
	}
	if (ftruncate(memfd, 2 * SIM_PAGE_SIZE) < 0) {
		r = -errno;
		sim_real_close(memfd);
		goto fail;
	}
	pages = sim_real_mmap(NULL, 2 * SIM_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (pages == MAP_FAILED) {
		r = -errno;
		sim_real_close(memfd);
		goto fail;
	}
	vp->reg_page = pages;
	vp->msg_page = (struct hv_message *)((uint8_t *)pages + SIM_PAGE_SIZE);
	vp->reg_page->version = HV_VP_REGISTER_PAGE_VERSION_1;

	sim_pt_ref(pt);		/* owned by the VP fd */
	fd = sim_fd_new(SIM_VP, vp, true, memfd);
	if (fd < 0) {
		sim_pt_unref(pt);
		r = fd;
		goto fail;
	}
	*ret = vp;
	return fd;
fail:
	sim_vp_free(vp);
	return r;
}

int sim_vp_mmap_check(struct sim_vp *vp, size_t len, off_t off)
{
	long ps = sysconf(_SC_PAGESIZE);

	(void)vp;
	if (off == MSHV_VP_MMAP_OFFSET_GHCB * ps)
		return -ENODEV;		/* SNP partitions only */
	if ((off != MSHV_VP_MMAP_OFFSET_REGISTERS * ps && off != MSHV_VP_MMAP_OFFSET_INTERCEPT_MESSAGE * ps) ||
	    len == 0 || len > (size_t)ps)
		return -EINVAL;
	return 0;
}

/* ---- message construction ------------------------------------------------------------------ */

#define ATTR_L (1u << 13)

static bool long_mode(const struct emu_sregs *s)
{
	return (s->efer & (1u << 10)) && (s->cs.attributes & ATTR_L);
}

static uint64_t rip_linear(const struct emu_sregs *s, uint64_t rip)
{
	return long_mode(s) ? rip : (s->cs.base + rip) & 0xffffffffULL;
}

/*
 * The instruction bytes as the hypervisor reports them: 16 bytes fetched at RIP (fewer where
 * guest RAM ends).  The engine's own copy of the instruction comes first, so the bytes are right
 * even if the guest rewrites them meanwhile.
 */
static uint8_t insn_bytes(struct sim_vp *vp, const struct emu_sregs *s, const struct emu_exit *x,
			  uint8_t out[16])
{
	uint64_t la = rip_linear(s, x->rip);
	unsigned done = x->insn_len > 16 ? 16 : x->insn_len;

	memset(out, 0, 16);
	memcpy(out, x->insn, done);
	while (done < 16) {
		uint64_t gpa;
		unsigned chunk = SIM_PAGE_SIZE - (unsigned)((la + done) & (SIM_PAGE_SIZE - 1));
		void *h;

		if (chunk > 16 - done)
			chunk = 16 - done;
		if (emu_vcpu_translate(vp->ev, la + done, 0, false, &gpa) < 0)
			break;
		h = emu_vm_gpa_to_host(vp->pt->vm, gpa, chunk, NULL);
		if (!h)
			break;
		memcpy(out + done, h, chunk);
		done += chunk;
	}
	return (uint8_t)done;
}

/*
 * Does the instruction read and then write its memory operand?  An EPT violation reports such
 * read-modify-write forms as writes, and so does the hypervisor; the engine reports the first
 * access, the load.  Only the opcode (and ModRM.reg for group opcodes) matters here.
 */
static bool insn_is_rmw(const uint8_t *b, unsigned n, bool lm)
{
	unsigned i = 0, op, reg;

	while (i < n && (b[i] == 0x66 || b[i] == 0x67 || b[i] == 0xf0 || b[i] == 0xf2 || b[i] == 0xf3 ||
			 b[i] == 0x26 || b[i] == 0x2e || b[i] == 0x36 || b[i] == 0x3e || b[i] == 0x64 ||
			 b[i] == 0x65))
		i++;
	if (lm && i < n && (b[i] & 0xf0) == 0x40)
		i++;
	if (i >= n)
		return false;
	op = b[i++];
	if (op == 0x0f) {
		if (i >= n)
			return false;
		op = 0x0f00 | b[i++];
	}
	reg = i < n ? (b[i] >> 3) & 7 : 0;
	switch (op) {
	case 0x00: case 0x01: case 0x08: case 0x09: case 0x10: case 0x11: case 0x18: case 0x19:
	case 0x20: case 0x21: case 0x28: case 0x29: case 0x30: case 0x31:	/* ALU r/m, reg */
	case 0x86: case 0x87:							/* xchg */
	case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3:	/* shifts */
	case 0x0fb0: case 0x0fb1: case 0x0fc0: case 0x0fc1:			/* cmpxchg, xadd */
	case 0x0fab: case 0x0fb3: case 0x0fbb:					/* bts, btr, btc */
		return true;
	case 0x80: case 0x81: case 0x83:
		return reg != 7;						/* not cmp */
	case 0xf6: case 0xf7:
		return reg == 2 || reg == 3;					/* not, neg */
	case 0xfe: case 0xff:
		return reg <= 1;						/* inc, dec */
	case 0x0fba:
		return reg >= 5;
	}
	return false;
}

static void fill_header(struct sim_vp *vp, const struct emu_regs *r, const struct emu_sregs *s,
			uint64_t rip, uint64_t rflags, unsigned insn_len, uint8_t access,
			struct hv_x64_intercept_message_header *h)
{
	union hv_x64_vp_execution_state es = { 0 };

	(void)r;
	h->vp_index = vp->index;
	h->instruction_length = insn_len & 0xf;
	h->cr8 = (uint8_t)s->cr8;
	h->intercept_access_type = access;
	if (s->cr0 & 1)
		es.cpl = (rflags & (1u << 17)) ? 3 : (s->ss.attributes >> 5) & 3;
	es.cr0_pe = s->cr0 & 1;
	es.cr0_am = (s->cr0 >> 18) & 1;
	es.efer_lma = (s->efer >> 10) & 1;
	es.interrupt_shadow = emu_vcpu_interrupt_shadow(vp->ev);
	h->execution_state = es;
	sim_seg_to_hv(&s->cs, &h->cs_segment);
	h->rip = rip;
	h->rflags = rflags;
}

static void msg_init(struct hv_message *m, uint32_t type, size_t payload)
{
	memset(m, 0, sizeof(*m));
	m->header.message_type = type;
	m->header.payload_size = (uint8_t)payload;
}

static void build_io(struct sim_vp *vp, const struct emu_exit *x, const struct emu_regs *r,
		     const struct emu_sregs *s, struct hv_message *msg)
{
	struct hv_x64_io_port_intercept_message *io = (void *)msg->u.payload;

	msg_init(msg, HVMSG_X64_IO_PORT_INTERCEPT, sizeof(*io));
	fill_header(vp, r, s, x->rip, x->rflags, x->insn_len,
		    x->io.write ? HV_X64_INTERCEPT_ACCESS_WRITE : HV_X64_INTERCEPT_ACCESS_READ,
		    &io->header);
	io->port_number = x->io.port;
	io->access_info.access_size = x->io.size & 7;
	io->access_info.string_op = x->io.string;
	io->access_info.rep_prefix = x->io.rep;
	io->instruction_byte_count = insn_bytes(vp, s, x, io->instruction_bytes);
	io->rax = r->gpr[EMU_RAX];
	sim_seg_to_hv(&s->ds, &io->ds_segment);
	sim_seg_to_hv(&s->es, &io->es_segment);
	io->rcx = r->gpr[EMU_RCX];
	io->rsi = r->gpr[EMU_RSI];
	io->rdi = r->gpr[EMU_RDI];
}

static void build_mmio(struct sim_vp *vp, const struct emu_exit *x, const struct emu_regs *r,
		       const struct emu_sregs *s, struct hv_message *msg)
{
	struct hv_x64_memory_intercept_message *mm = (void *)msg->u.payload;
	uint8_t access = HV_X64_INTERCEPT_ACCESS_READ;
	bool mapped = emu_vm_gpa_to_host(vp->pt->vm, x->mmio.gpa, 1, NULL) != NULL;

	msg_init(msg, mapped ? HVMSG_GPA_INTERCEPT : HVMSG_UNMAPPED_GPA, sizeof(*mm));
	mm->instruction_byte_count = insn_bytes(vp, s, x, mm->instruction_bytes);
	if (x->mmio.fetch)
		access = HV_X64_INTERCEPT_ACCESS_EXECUTE;
	else if (x->mmio.write || insn_is_rmw(x->insn, x->insn_len, long_mode(s)))
		access = HV_X64_INTERCEPT_ACCESS_WRITE;
	fill_header(vp, r, s, x->rip, x->rflags, x->mmio.fetch ? 0 : x->insn_len, access, &mm->header);
	mm->cache_type = 6;	/* write-back */
	mm->guest_physical_address = x->mmio.gpa;
	mm->guest_virtual_address = x->mmio.fetch ? rip_linear(s, x->rip) : x->mmio.gva;
	mm->memory_access_info.gva_valid = 1;
	mm->memory_access_info.gva_gpa_valid = 1;
}

/* HALT, UNRECOVERABLE_EXCEPTION: the header with the current state. */
static void build_simple(struct sim_vp *vp, const struct emu_regs *r, const struct emu_sregs *s,
			 struct hv_message *msg, uint32_t type)
{
	struct hv_x64_halt_message *h = (void *)msg->u.payload;

	msg_init(msg, type, sizeof(*h));
	fill_header(vp, r, s, r->rip, r->rflags, 0, HV_X64_INTERCEPT_ACCESS_EXECUTE, &h->header);
}

static void build_cpuid(struct sim_vp *vp, const struct emu_exit *x, const struct emu_regs *r,
			const struct emu_sregs *s, const uint32_t def[4], struct hv_message *msg)
{
	struct hv_x64_cpuid_intercept_message *c = (void *)msg->u.payload;

	msg_init(msg, HVMSG_X64_CPUID_INTERCEPT, sizeof(*c));
	fill_header(vp, r, s, x->rip, x->rflags, x->insn_len, HV_X64_INTERCEPT_ACCESS_EXECUTE,
		    &c->header);
	c->rax = r->gpr[EMU_RAX];
	c->rcx = r->gpr[EMU_RCX];
	c->rdx = r->gpr[EMU_RDX];
	c->rbx = r->gpr[EMU_RBX];
	c->default_result_rax = def[0];
	c->default_result_rbx = def[1];
	c->default_result_rcx = def[2];
	c->default_result_rdx = def[3];
}

static void build_msr(struct sim_vp *vp, const struct emu_exit *x, const struct emu_regs *r,
		      const struct emu_sregs *s, struct hv_message *msg)
{
	struct hv_x64_msr_intercept_message *m = (void *)msg->u.payload;

	msg_init(msg, HVMSG_X64_MSR_INTERCEPT, sizeof(*m));
	fill_header(vp, r, s, x->rip, x->rflags, x->insn_len,
		    x->msr.write ? HV_X64_INTERCEPT_ACCESS_WRITE : HV_X64_INTERCEPT_ACCESS_READ,
		    &m->header);
	m->msr_number = x->msr.index;
	m->rdx = r->gpr[EMU_RDX];
	m->rax = r->gpr[EMU_RAX];
}

static void build_exception(struct sim_vp *vp, const struct emu_exit *x, const struct emu_regs *r,
			    const struct emu_sregs *s, struct hv_message *msg)
{
	struct hv_x64_exception_intercept_message *e = (void *)msg->u.payload;

	msg_init(msg, HVMSG_X64_EXCEPTION_INTERCEPT, sizeof(*e));
	fill_header(vp, r, s, x->rip, x->rflags, x->insn_len, HV_X64_INTERCEPT_ACCESS_EXECUTE,
		    &e->header);
	e->exception_vector = x->exception.vector;
	e->exception_info.error_code_valid = x->exception.has_error_code;
	e->error_code = x->exception.error_code;
	if (x->exception.vector == 14)
		e->exception_parameter = s->cr2;
	e->instruction_byte_count = insn_bytes(vp, s, x, e->instruction_bytes);
	sim_seg_to_hv(&s->ds, &e->ds_segment);
	sim_seg_to_hv(&s->ss, &e->ss_segment);
	e->rax = r->gpr[EMU_RAX];
	e->rcx = r->gpr[EMU_RCX];
	e->rdx = r->gpr[EMU_RDX];
	e->rbx = r->gpr[EMU_RBX];
	e->rsp = r->gpr[EMU_RSP];
	e->rbp = r->gpr[EMU_RBP];
	e->rsi = r->gpr[EMU_RSI];
	e->rdi = r->gpr[EMU_RDI];
	e->r8 = r->gpr[EMU_R8];
	e->r9 = r->gpr[EMU_R9];
	e->r10 = r->gpr[EMU_R10];
	e->r11 = r->gpr[EMU_R11];
	e->r12 = r->gpr[EMU_R12];
	e->r13 = r->gpr[EMU_R13];
	e->r14 = r->gpr[EMU_R14];
	e->r15 = r->gpr[EMU_R15];
}

/* ---- register page --------------------------------------------------------------------------- */

static void reg_page_apply(struct sim_vp *vp)
{
	struct hv_vp_register_page *p = vp->reg_page;
	uint32_t dirty = p->dirty;

	if (!dirty)
		return;
	if (dirty & (1u << HV_X64_REGISTER_CLASS_SEGMENT)) {
		struct emu_sregs s;

		if (emu_vcpu_get_sregs(vp->ev, &s) == 0) {
			sim_seg_from_hv(&p->es, &s.es);
			sim_seg_from_hv(&p->cs, &s.cs);
			sim_seg_from_hv(&p->ss, &s.ss);
			sim_seg_from_hv(&p->ds, &s.ds);
			sim_seg_from_hv(&p->fs, &s.fs);
			sim_seg_from_hv(&p->gs, &s.gs);
			emu_vcpu_set_sregs(vp->ev, &s);
		}
	}
	if (dirty & ((1u << HV_X64_REGISTER_CLASS_GENERAL) | (1u << HV_X64_REGISTER_CLASS_IP) |
		     (1u << HV_X64_REGISTER_CLASS_FLAGS))) {
		struct emu_regs r;

		if (emu_vcpu_get_regs(vp->ev, &r) == 0) {
			if (dirty & (1u << HV_X64_REGISTER_CLASS_GENERAL)) {
				const uint64_t g[16] = {
					p->rax, p->rcx, p->rdx, p->rbx, p->rsp, p->rbp, p->rsi, p->rdi,
					p->r8, p->r9, p->r10, p->r11, p->r12, p->r13, p->r14, p->r15,
				};

				memcpy(r.gpr, g, sizeof(g));
			}
			if (dirty & (1u << HV_X64_REGISTER_CLASS_IP))
				r.rip = p->rip;
			if (dirty & (1u << HV_X64_REGISTER_CLASS_FLAGS))
				r.rflags = p->rflags;
			emu_vcpu_set_regs(vp->ev, &r);
		}
	}
	if (dirty & (1u << HV_X64_REGISTER_CLASS_XMM)) {
		struct emu_fpu f;

		if (emu_vcpu_get_fpu(vp->ev, &f) == 0) {
			for (int i = 0; i < 6; i++)
				memcpy(f.xmm[i], &p->xmm_registers[i], 16);
			emu_vcpu_set_fpu(vp->ev, &f);
		}
	}
	p->dirty = 0;
}

static void reg_page_fill(struct sim_vp *vp)
{
	struct hv_vp_register_page *p = vp->reg_page;
	struct emu_regs r;
	struct emu_sregs s;
	struct emu_fpu f;

	if (emu_vcpu_get_regs(vp->ev, &r) < 0 || emu_vcpu_get_sregs(vp->ev, &s) < 0)
		return;
	p->version = HV_VP_REGISTER_PAGE_VERSION_1;
	p->rax = r.gpr[EMU_RAX]; p->rcx = r.gpr[EMU_RCX]; p->rdx = r.gpr[EMU_RDX];
	p->rbx = r.gpr[EMU_RBX]; p->rsp = r.gpr[EMU_RSP]; p->rbp = r.gpr[EMU_RBP];
	p->rsi = r.gpr[EMU_RSI]; p->rdi = r.gpr[EMU_RDI];
	p->r8 = r.gpr[EMU_R8]; p->r9 = r.gpr[EMU_R9]; p->r10 = r.gpr[EMU_R10];
	p->r11 = r.gpr[EMU_R11]; p->r12 = r.gpr[EMU_R12]; p->r13 = r.gpr[EMU_R13];
	p->r14 = r.gpr[EMU_R14]; p->r15 = r.gpr[EMU_R15];
	p->rip = r.rip;
	p->rflags = r.rflags;
	if (emu_vcpu_get_fpu(vp->ev, &f) == 0)
		for (int i = 0; i < 6; i++)
			memcpy(&p->xmm_registers[i], f.xmm[i], 16);
	sim_seg_to_hv(&s.es, &p->es);
	sim_seg_to_hv(&s.cs, &p->cs);
	sim_seg_to_hv(&s.ss, &p->ss);
	sim_seg_to_hv(&s.ds, &p->ds);
	sim_seg_to_hv(&s.fs, &p->fs);
	sim_seg_to_hv(&s.gs, &p->gs);
	p->cr0 = s.cr0;
	p->cr3 = s.cr3;
	p->cr4 = s.cr4;
	p->cr8 = s.cr8;
	p->efer = s.efer;
	p->dirty = 0;
	p->isvalid = 1;
}

/* ---- exits the sim completes itself ---------------------------------------------------------- */

/* A guest write that an ioeventfd matches (the kernel's rules: len 0 = any size). */
static bool ioeventfd_signal(struct sim_vp *vp, const struct emu_exit *x)
{
	struct sim_partition *pt = vp->pt;
	uint64_t one = 1;
	int fd = -1;

	pthread_rwlock_rdlock(&pt->mem_lock);
	for (size_t i = 0; i < pt->nioeventfds && fd < 0; i++) {
		const struct mshv_user_ioeventfd *e = &pt->ioeventfds[i].a;
		uint64_t mask = e->len >= 8 || !e->len ? ~0ULL : (1ULL << (8 * e->len)) - 1;

		if (e->addr != x->mmio.gpa || (e->len && e->len != x->mmio.size))
			continue;
		if ((e->flags & (1u << MSHV_IOEVENTFD_BIT_DATAMATCH)) &&
		    ((x->mmio.data ^ e->datamatch) & mask))
			continue;
		fd = e->fd;
	}
	pthread_rwlock_unlock(&pt->mem_lock);
	if (fd < 0)
		return false;
	(void)!write(fd, &one, sizeof(one));
	return true;
}

static uint64_t prop_value(struct sim_partition *pt, uint32_t code)
{
	uint64_t v = 0;

	pthread_mutex_lock(&pt->state_lock);
	for (size_t i = 0; i < pt->nprops; i++)
		if (pt->props[i].code == code)
			v = pt->props[i].value;
	pthread_mutex_unlock(&pt->state_lock);
	return v;
}

static bool msr_intercepted(struct sim_partition *pt, const struct emu_exit *x)
{
	uint32_t want = x->msr.write ? HV_INTERCEPT_ACCESS_MASK_WRITE : HV_INTERCEPT_ACCESS_MASK_READ;

	return ((sim_intercepted(pt, HV_INTERCEPT_TYPE_X64_MSR, UINT64_MAX) |
		 sim_intercepted(pt, HV_INTERCEPT_TYPE_X64_MSR_INDEX, x->msr.index)) & want) != 0;
}

/* An MSR access nobody intercepts: the engine's MSR, else UNIMPLEMENTED_MSR_ACTION. */
static void msr_complete(struct sim_vp *vp, const struct emu_exit *x)
{
	struct emu_completion c = { 0 };
	int r;

	r = x->msr.write ? emu_vcpu_set_msr(vp->ev, x->msr.index, x->msr.data)
			 : emu_vcpu_get_msr(vp->ev, x->msr.index, &c.value);
	if (r == -ENOENT)
		c.inject_gp = prop_value(vp->pt, HV_PARTITION_PROPERTY_UNIMPLEMENTED_MSR_ACTION) ==
			      HV_UNIMPLEMENTED_MSR_ACTION_FAULT;
	else if (r < 0)
		c.inject_gp = true;
	if (c.inject_gp)
		c.value = 0;
	emu_vcpu_complete(vp->ev, &c);
}

/* INSTALL_INTERCEPT -> the engine's intercept flags (CPUID always: the sim answers it). */
static void apply_intercepts(struct sim_vp *vp)
{
	struct sim_partition *pt = vp->pt;
	unsigned flags = EMU_INTERCEPT_CPUID;
	uint32_t exceptions = 0;

	pthread_mutex_lock(&pt->state_lock);
	for (size_t i = 0; i < pt->nintercepts; i++) {
		const struct sim_intercept *in = &pt->intercepts[i];

		if (!in->access)
			continue;
		if (in->type == HV_INTERCEPT_TYPE_X64_MSR || in->type == HV_INTERCEPT_TYPE_X64_MSR_INDEX)
			flags |= EMU_INTERCEPT_MSR_ALL;
		if (in->type == HV_INTERCEPT_TYPE_EXCEPTION && (in->param & 0xffff) < 32)
			exceptions |= 1u << (in->param & 0xffff);
	}
	pthread_mutex_unlock(&pt->state_lock);
	emu_vcpu_set_intercepts(vp->ev, flags, exceptions);
}

/* PENDING_INTERRUPTION written by the VMM: delivered before the next instruction, as the
 * hypervisor injects it on the next entry (a refused MSR access is a #GP this way). */
static void apply_pending_interruption(struct sim_vp *vp)
{
	uint64_t p = vp->pending_interruption;
	unsigned vector = (unsigned)((p & HV_X64_PENDING_INTERRUPTION_VECTOR_MASK) >>
				     HV_X64_PENDING_INTERRUPTION_VECTOR_SHIFT);
	bool has_err = (p & HV_X64_PENDING_INTERRUPTION_DELIVER_ERROR_CODE) != 0;

	if (!(p & HV_X64_PENDING_INTERRUPTION_PENDING))
		return;
	emu_vcpu_inject(vp->ev, (uint8_t)vector, has_err, (uint32_t)(p >> 32));
	vp->pending_interruption = 0;
}

/* ---- run ------------------------------------------------------------------------------------- */

static void latch_dead(struct sim_vp *vp, struct hv_message *msg)
{
	struct emu_regs r;
	struct emu_sregs s;

	memset(&r, 0, sizeof(r));
	memset(&s, 0, sizeof(s));
	emu_vcpu_get_regs(vp->ev, &r);
	emu_vcpu_get_sregs(vp->ev, &s);
	build_simple(vp, &r, &s, msg, HVMSG_UNRECOVERABLE_EXCEPTION);
	vp->dead = true;
	vp->dead_msg = *msg;
}

static int run_vp(struct sim_vp *vp, struct hv_message *msg)
{
	struct emu_exit x;
	struct emu_regs r;
	struct emu_sregs s;
	int ret;

	if (vp->dead) {
		*msg = vp->dead_msg;
		return 0;
	}
	reg_page_apply(vp);
	vp->reg_page->isvalid = 0;
	apply_intercepts(vp);
	apply_pending_interruption(vp);

	for (;;) {
		sim_set_running(vp->ev);
		ret = emu_vcpu_run(vp->ev, &x);
		sim_set_running(NULL);
		/* The guest touched its pages: movable memory is faulted in (§11.5). */
		atomic_store(&vp->pt->touched, true);
		if (ret == -EINVAL) {
			/* A state the engine cannot enter: what a failed VM entry is on the hypervisor. */
			latch_dead(vp, msg);
			goto out;
		}
		if (ret < 0)
			return ret;
		if (x.kind == EMU_EXIT_INTERRUPTED)
			return -EINTR;
		if (emu_vcpu_get_regs(vp->ev, &r) < 0 || emu_vcpu_get_sregs(vp->ev, &s) < 0)
			return -EIO;

		switch (x.kind) {
		case EMU_EXIT_IO:
			build_io(vp, &x, &r, &s, msg);
			goto out;
		case EMU_EXIT_MMIO:
			if (x.mmio.write && !x.mmio.fetch && !x.mmio.readonly && ioeventfd_signal(vp, &x)) {
				emu_vcpu_complete(vp->ev, &(struct emu_completion){ 0 });
				continue;
			}
			build_mmio(vp, &x, &r, &s, msg);
			goto out;
		case EMU_EXIT_HALT:
			build_simple(vp, &r, &s, msg, HVMSG_X64_HALT);
			goto out;
		case EMU_EXIT_SHUTDOWN:
			latch_dead(vp, msg);
			goto out;
		case EMU_EXIT_CPUID: {
			uint32_t res[4];

			sim_cpuid(vp, x.cpuid.eax, x.cpuid.ecx, true, res);
			if (sim_intercepted(vp->pt, HV_INTERCEPT_TYPE_X64_CPUID, x.cpuid.eax) ||
			    sim_intercepted(vp->pt, HV_INTERCEPT_TYPE_X64_GLOBAL_CPUID, UINT64_MAX)) {
				build_cpuid(vp, &x, &r, &s, res, msg);
				goto out;
			}
			{
				struct emu_completion c = { .cpuid = { res[0], res[1], res[2], res[3] } };

				emu_vcpu_complete(vp->ev, &c);
			}
			continue;
		}
		case EMU_EXIT_MSR:
			if (msr_intercepted(vp->pt, &x)) {
				build_msr(vp, &x, &r, &s, msg);
				goto out;
			}
			msr_complete(vp, &x);
			continue;
		case EMU_EXIT_EXCEPTION:
			build_exception(vp, &x, &r, &s, msg);
			goto out;
		case EMU_EXIT_EOI: {
			struct hv_x64_apic_eoi_message *e = (void *)msg->u.payload;

			msg_init(msg, HVMSG_X64_APIC_EOI, sizeof(*e));
			e->vp_index = vp->index;
			e->interrupt_vector = x.eoi.vector;
			goto out;
		}
		default:
			return -EIO;
		}
	}
out:
	reg_page_fill(vp);
	memcpy(vp->msg_page, msg, sizeof(*msg));
	return 0;
}

/* ---- VP state -------------------------------------------------------------------------------- */

static uint32_t apic_reg(const uint8_t *page, unsigned off)
{
	uint32_t v;

	memcpy(&v, page + off, 4);
	return v;
}

static void apic_set(uint8_t *page, unsigned off, uint32_t v)
{
	memcpy(page + off, &v, 4);
}

#define LAPIC_FIELDS(X) \
	X(apic_version, 0x30) X(apic_ldr, 0xd0) X(apic_dfr, 0xe0) X(apic_spurious, 0xf0) \
	X(apic_esr, 0x280) X(apic_icr_high, 0x310) X(apic_icr_low, 0x300) \
	X(apic_lvt_timer, 0x320) X(apic_lvt_thermal, 0x330) X(apic_lvt_perfmon, 0x340) \
	X(apic_lvt_lint0, 0x350) X(apic_lvt_lint1, 0x360) X(apic_lvt_error, 0x370) \
	X(apic_lvt_cmci, 0x2f0) X(apic_initial_count, 0x380) X(apic_counter_value, 0x390) \
	X(apic_divide_configuration, 0x3e0) X(apic_remote_read, 0xc0)

static int lapic_get(struct sim_vp *vp, uint8_t *buf)
{
	struct hv_local_interrupt_controller_state *h = (void *)buf;
	uint8_t l[SIM_PAGE_SIZE];

	if (!vp->pt->lapic || emu_vcpu_get_lapic(vp->ev, l) < 0)
		return -EINVAL;
	memset(buf, 0, SIM_PAGE_SIZE);
	h->apic_id = apic_reg(l, 0x20) >> 24;
#define GET(f, off) h->f = apic_reg(l, off);
	LAPIC_FIELDS(GET)
#undef GET
	h->apic_error_status = apic_reg(l, 0x280);
	for (int i = 0; i < 8; i++) {
		h->apic_isr[i] = apic_reg(l, 0x100 + 16 * i);
		h->apic_tmr[i] = apic_reg(l, 0x180 + 16 * i);
		h->apic_irr[i] = apic_reg(l, 0x200 + 16 * i);
	}
	return 0;
}

static int lapic_set(struct sim_vp *vp, const uint8_t *buf)
{
	const struct hv_local_interrupt_controller_state *h = (const void *)buf;
	uint8_t l[SIM_PAGE_SIZE];

	if (!vp->pt->lapic || emu_vcpu_get_lapic(vp->ev, l) < 0)
		return -EINVAL;
	apic_set(l, 0x20, h->apic_id << 24);
#define SET(f, off) apic_set(l, off, h->f);
	LAPIC_FIELDS(SET)
#undef SET
	for (int i = 0; i < 8; i++) {
		apic_set(l, 0x100 + 16 * i, h->apic_isr[i]);
		apic_set(l, 0x180 + 16 * i, h->apic_tmr[i]);
		apic_set(l, 0x200 + 16 * i, h->apic_irr[i]);
	}
	return emu_vcpu_set_lapic(vp->ev, l) < 0 ? -EINVAL : 0;
}

/*
 * XSAVE state in the compacted format the hypervisor uses (fact sheet §3.10): the FXSAVE legacy
 * area, then the XSAVE header with XSTATE_BV = x87 | SSE and XCOMP_BV = bit 63 | x87 | SSE.
 * With only those two components the compacted and the standard layouts coincide.  The engine
 * has no AVX state.
 */
#define SIM_XSAVE_SIZE 4096u
#define XSTATE_X87	(1ull << 0)
#define XSTATE_SSE	(1ull << 1)
#define XCOMP_COMPACTED	(1ull << 63)

static int xsave_get(struct sim_vp *vp, uint8_t *x)
{
	struct emu_fpu f;
	uint64_t bv = XSTATE_X87 | XSTATE_SSE, comp = XCOMP_COMPACTED | bv;
	uint32_t mxcsr_mask = 0xffff;

	if (emu_vcpu_get_fpu(vp->ev, &f) < 0)
		return -EINVAL;
	memset(x, 0, SIM_XSAVE_SIZE);
	memcpy(x + 0, &f.fcw, 2);
	memcpy(x + 2, &f.fsw, 2);
	x[4] = f.ftw;
	memcpy(x + 6, &f.fop, 2);
	memcpy(x + 8, &f.fip, 8);
	memcpy(x + 16, &f.fdp, 8);
	memcpy(x + 24, &f.mxcsr, 4);
	memcpy(x + 28, &mxcsr_mask, 4);
	memcpy(x + 32, f.st, sizeof(f.st));
	memcpy(x + 160, f.xmm, sizeof(f.xmm));
	memcpy(x + 512, &bv, 8);
	memcpy(x + 520, &comp, 8);
	return 0;
}

/* A component whose XSTATE_BV bit is clear is restored in its initial state, as XRSTOR does. */
static int xsave_set(struct sim_vp *vp, const uint8_t *x)
{
	struct emu_fpu f;
	uint64_t bv;

	memset(&f, 0, sizeof(f));
	memcpy(&bv, x + 512, 8);
	if (bv & XSTATE_X87) {
		memcpy(&f.fcw, x + 0, 2);
		memcpy(&f.fsw, x + 2, 2);
		f.ftw = x[4];
		memcpy(&f.fop, x + 6, 2);
		memcpy(&f.fip, x + 8, 8);
		memcpy(&f.fdp, x + 16, 8);
		memcpy(f.st, x + 32, sizeof(f.st));
	} else {
		f.fcw = 0x37f;
	}
	memcpy(&f.mxcsr, x + 24, 4);
	if (bv & XSTATE_SSE)
		memcpy(f.xmm, x + 160, sizeof(f.xmm));
	return emu_vcpu_set_fpu(vp->ev, &f) < 0 ? -EINVAL : 0;
}

static int vp_state(struct sim_vp *vp, struct mshv_get_set_vp_state *u, bool set)
{
	struct mshv_get_set_vp_state a;
	uint32_t need;
	uint8_t *buf;
	int r = 0;

	if (sim_copy_in(&a, u, sizeof(a)) < 0)
		return -EFAULT;
	if (a.rsvd[0] || a.rsvd[1] || a.rsvd[2] || a.type >= MSHV_VP_STATE_COUNT)
		return -EINVAL;
	switch (a.type) {
	case MSHV_VP_STATE_XSAVE:
		need = SIM_XSAVE_SIZE;
		break;
	case MSHV_VP_STATE_SYNTHETIC_TIMERS:
		need = sizeof(vp->stimers);
		break;
	default:
		need = SIM_PAGE_SIZE;
		break;
	}
	if (a.type != MSHV_VP_STATE_SYNTHETIC_TIMERS &&
	    (!a.buf_sz || (a.buf_sz & (SIM_PAGE_SIZE - 1)) || (a.buf_ptr & (SIM_PAGE_SIZE - 1))))
		return -EINVAL;
	if (!a.buf_ptr)
		return -EFAULT;
	if (a.buf_sz < need) {
		a.buf_sz = need;
		sim_copy_out(u, &a, sizeof(a));
		return -EINVAL;
	}
	/* The kernel pins the user pages; a bad buffer is EFAULT before anything happens. */
	buf = calloc(1, a.buf_sz);
	if (!buf)
		return -ENOMEM;
	if (set && sim_copy_in(buf, (void *)(uintptr_t)a.buf_ptr, need) < 0) {
		free(buf);
		return -EFAULT;
	}
	switch (a.type) {
	case MSHV_VP_STATE_LAPIC:
		r = set ? lapic_set(vp, buf) : lapic_get(vp, buf);
		break;
	case MSHV_VP_STATE_XSAVE:
		r = set ? xsave_set(vp, buf) : xsave_get(vp, buf);
		break;
	case MSHV_VP_STATE_SIMP:
		set ? memcpy(vp->simp, buf, need) : memcpy(buf, vp->simp, need);
		break;
	case MSHV_VP_STATE_SIEFP:
		set ? memcpy(vp->siefp, buf, need) : memcpy(buf, vp->siefp, need);
		break;
	case MSHV_VP_STATE_SYNTHETIC_TIMERS:
		set ? memcpy(vp->stimers, buf, need) : memcpy(buf, vp->stimers, need);
		break;
	}
	if (r == 0 && !set && sim_copy_out((void *)(uintptr_t)a.buf_ptr, buf, need) < 0)
		r = -EFAULT;
	free(buf);
	if (r == 0) {
		a.buf_sz = need;
		r = sim_copy_out(u, &a, sizeof(a));
	}
	return r;
}

int sim_vp_ioctl(struct sim_vp *vp, unsigned long req, void *arg)
{
	struct hv_message msg;
	int r;

	pthread_mutex_lock(&vp->lock);
	switch (req) {
	case MSHV_RUN_VP:
		r = run_vp(vp, &msg);
		if (r == 0)
			r = sim_copy_out(arg, &msg, sizeof(msg));
		break;
	case MSHV_GET_VP_STATE:
	case MSHV_SET_VP_STATE:
		r = vp_state(vp, arg, req == MSHV_SET_VP_STATE);
		break;
	case MSHV_ROOT_HVCALL:
		r = sim_root_hvcall(vp->pt, vp, arg);
		break;
	case MSHV_EXT_TRANSLATE_GVA:
	case MSHV_EXT_READ_GPA:
	case MSHV_EXT_WRITE_GPA:
		if (vp->pt->gen->ms_ioctls) {
			r = sim_vp_ms_ioctl(vp, req, arg);
			break;
		}
		/* fall through */
	default:
		r = sim_reject(-ENOTTY);
		break;
	}
	pthread_mutex_unlock(&vp->lock);
	return r;
}
