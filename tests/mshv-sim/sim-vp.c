// SPDX-License-Identifier: MIT
/*
 * mshv-sim test double: VP fds.  MSHV_RUN_VP runs the vCPU on KVM and turns KVM exits into
 * hv_messages with the intercepted instruction *not executed*, as the hypervisor reports it.
 *
 * KVM completes port I/O and MMIO itself: loads (IN, MMIO reads) exit before the instruction
 * retires, but OUT and MMIO stores exit after it retired.  For every I/O or MMIO exit the sim
 * (1) works out the register state before the instruction (unchanged for loads; for stores it
 * finds the instruction that ends at the current RIP, or for a restarted REP string op steps
 * RSI/RDI/RCX back), (2) lets KVM finish its pending operation by re-entering KVM_RUN with
 * immediate_exit = 1 until it returns EINTR, and (3) writes the "before" state back, so the VMM
 * sees the instruction unexecuted and must emulate it and advance RIP itself.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

#define MAX_COMPLETION_LOOPS 100000

void sim_vp_free(struct sim_vp *vp)
{
	if (!vp)
		return;
	if (vp->run)
		munmap(vp->run, vp->run_size);
	if (vp->reg_page)
		munmap(vp->reg_page, 2 * SIM_PAGE_SIZE);
	if (vp->vcpu_fd >= 0)
		sim_real_close(vp->vcpu_fd);
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
	struct kvm_cpuid2 *cpuid;
	struct sim_vp *vp;
	void *pages;
	int memfd, r, fd;

	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	pthread_mutex_init(&vp->lock, NULL);
	vp->pt = pt;
	vp->index = index;
	vp->vcpu_fd = -1;

	r = vp->vcpu_fd = sim_kvm(pt->vm_fd, KVM_CREATE_VCPU, (void *)(uintptr_t)index);
	if (r < 0)
		goto fail;
	r = sim_cpuid_table(pt, index, true, &cpuid);
	if (r < 0)
		goto fail;
	r = sim_kvm(vp->vcpu_fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	if (r < 0)
		goto fail;
	r = sim_kvm(sim_kvm_fd(), KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (r < 0)
		goto fail;
	vp->run_size = (size_t)r;
	vp->run = sim_real_mmap(NULL, vp->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vp->vcpu_fd, 0);
	if (vp->run == MAP_FAILED) {
		vp->run = NULL;
		r = -errno;
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

/* ---- guest memory access for instruction bytes ----------------------------------------------- */

static int cpu_mode(const struct kvm_sregs *s)
{
	if ((s->efer & (1u << 10)) && s->cs.l)
		return 64;
	if ((s->cr0 & 1) && s->cs.db)
		return 32;
	return 16;
}

static bool lin_to_gpa(struct sim_vp *vp, const struct kvm_sregs *s, uint64_t la, uint64_t *gpa)
{
	struct kvm_translation t = { .linear_address = la };

	if (!(s->cr0 & (1u << 31))) {
		*gpa = la;
		return true;
	}
	if (sim_kvm(vp->vcpu_fd, KVM_TRANSLATE, &t) < 0 || !t.valid)
		return false;
	*gpa = t.physical_address;
	return true;
}

/* Read up to len bytes at a linear address; returns how many could be read from guest RAM. */
static size_t read_linear(struct sim_vp *vp, const struct kvm_sregs *s, uint64_t la, uint8_t *buf,
			  size_t len)
{
	size_t done = 0;

	pthread_rwlock_rdlock(&vp->pt->mem_lock);
	while (done < len) {
		uint64_t gpa;
		size_t chunk = SIM_PAGE_SIZE - ((la + done) & (SIM_PAGE_SIZE - 1));
		void *h;

		if (chunk > len - done)
			chunk = len - done;
		if (!lin_to_gpa(vp, s, la + done, &gpa))
			break;
		h = sim_gpa_to_host(vp->pt, gpa, chunk, NULL);
		if (!h)
			break;
		memcpy(buf + done, h, chunk);
		done += chunk;
	}
	pthread_rwlock_unlock(&vp->pt->mem_lock);
	return done;
}

static uint64_t rip_linear(const struct kvm_sregs *s, uint64_t rip, int mode)
{
	return mode == 64 ? rip : (s->cs.base + rip) & 0xffffffffULL;
}

/* Decode the instruction at rip; 0 or -1. */
static int decode_at(struct sim_vp *vp, const struct kvm_sregs *s, uint64_t rip, int mode,
		     struct sim_insn *d)
{
	uint8_t b[15];
	size_t n = read_linear(vp, s, rip_linear(s, rip, mode), b, sizeof(b));

	return n ? sim_insn_decode(b, n, mode, d) : -1;
}

/* ---- message construction ------------------------------------------------------------------ */

static void fill_header(struct sim_vp *vp, const struct kvm_regs *r, const struct kvm_sregs *s,
			unsigned insn_len, uint8_t access, struct hv_x64_intercept_message_header *h)
{
	union hv_x64_vp_execution_state es = { 0 };

	h->vp_index = vp->index;
	h->instruction_length = insn_len & 0xf;
	h->cr8 = 0;
	h->intercept_access_type = access;
	if (s->cr0 & 1)
		es.cpl = (r->rflags & (1u << 17)) ? 3 : s->ss.dpl & 3;
	es.cr0_pe = s->cr0 & 1;
	es.cr0_am = (s->cr0 >> 18) & 1;
	es.efer_lma = (s->efer >> 10) & 1;
	h->execution_state = es;
	sim_seg_to_hv(&s->cs, &h->cs_segment);
	h->rip = r->rip;
	h->rflags = r->rflags;
}

static void msg_init(struct hv_message *m, uint32_t type, size_t payload)
{
	memset(m, 0, sizeof(*m));
	m->header.message_type = type;
	m->header.payload_size = (uint8_t)payload;
}

/*
 * Let KVM finish the operation it exited for, without running the guest further: re-enter with
 * immediate_exit until KVM_RUN fails with EINTR (RMW and page-crossing accesses exit again).
 */
static void complete_pending(struct sim_vp *vp)
{
	vp->run->immediate_exit = 1;
	for (int i = 0; i < MAX_COMPLETION_LOOPS; i++) {
		int r = sim_real_ioctl(vp->vcpu_fd, KVM_RUN, NULL);

		if (r < 0 || (vp->run->exit_reason != KVM_EXIT_IO && vp->run->exit_reason != KVM_EXIT_MMIO))
			break;
	}
	vp->run->immediate_exit = 0;
}

static int64_t string_step(const struct kvm_regs *r, unsigned size)
{
	return (r->rflags & (1u << 10)) ? -(int64_t)size : (int64_t)size;
}

static void addr_sub(__u64 *reg, int64_t step, unsigned addr_size)
{
	uint64_t mask = addr_size == 8 ? ~0ULL : addr_size == 4 ? 0xffffffffULL : 0xffff;

	*reg = (*reg & ~mask) | ((*reg - (uint64_t)step) & mask);
}

static void addr_add(__u64 *reg, int64_t step, unsigned addr_size)
{
	addr_sub(reg, -step, addr_size);
}

/* A retired instruction of kind `match` ends at rip: find its start.  0 or -1. */
static int find_retired(struct sim_vp *vp, const struct kvm_regs *r, const struct kvm_sregs *s,
			int mode, bool (*match)(const struct sim_insn *, void *), void *ctx,
			struct sim_insn *ret, unsigned *ret_len)
{
	uint8_t b[16];
	uint64_t la = rip_linear(s, r->rip, mode);
	size_t n;

	if (r->rip < 1)
		return -1;
	/* The bytes before rip: read 15 bytes ending at rip (fewer near address 0). */
	n = la < 15 ? (size_t)la : 15;
	if (read_linear(vp, s, la - n, b, n) != n)
		return -1;
	/*
	 * Longest candidate first: a shorter suffix of a prefixed store (66 89 53 02 -> 89 53 02)
	 * often decodes too and matches a wider access, which would lose the prefix.
	 */
	for (unsigned k = (unsigned)n; k >= 1; k--) {
		struct sim_insn d;

		if (sim_insn_decode(b + n - k, k, mode, &d) < 0 || d.len != k)
			continue;
		if (match(&d, ctx)) {
			*ret = d;
			*ret_len = k;
			return 0;
		}
	}
	return -1;
}

struct io_match {
	const struct kvm_run *run;
	const struct kvm_regs *r;
	const uint8_t *bytes_end;
};

static bool match_out(const struct sim_insn *d, void *p)
{
	struct io_match *m = p;
	unsigned op = d->opcode, size = m->run->io.size;

	if (op == 0xe6 || op == 0xe7)
		return (op == 0xe6 ? 1u : d->op_size) == size && m->bytes_end[-1] == m->run->io.port;
	if (op == 0xee || op == 0xef)
		return (op == 0xee ? 1u : d->op_size) == size && (m->r->rdx & 0xffff) == m->run->io.port;
	if (op == 0x6e || op == 0x6f)
		return d->op_size == size && !d->rep;
	return false;
}

static void build_io(struct sim_vp *vp, struct hv_message *msg)
{
	struct hv_x64_io_port_intercept_message *io = (void *)msg->u.payload;
	struct kvm_run run = *vp->run;
	struct kvm_regs r, pre, after;
	struct kvm_sregs s;
	struct sim_insn d;
	bool in = run.io.direction == KVM_EXIT_IO_IN, known;
	int mode;
	unsigned len = 0;

	sim_kvm(vp->vcpu_fd, KVM_GET_REGS, &r);
	sim_kvm(vp->vcpu_fd, KVM_GET_SREGS, &s);
	mode = cpu_mode(&s);
	pre = r;
	known = decode_at(vp, &s, r.rip, mode, &d) == 0;

	if (!in && known && d.rep && (d.opcode == 0x6e || d.opcode == 0x6f) && d.op_size == run.io.size) {
		/* REP OUTS is restarted element by element: RIP stays, RSI/RCX moved on. */
		addr_sub(&pre.rsi, string_step(&r, run.io.size) * run.io.count, d.addr_size);
		addr_add(&pre.rcx, run.io.count, d.addr_size);
		len = d.len;
		complete_pending(vp);
	} else if (in) {
		len = known ? d.len : 0;
		complete_pending(vp);
	} else {
		complete_pending(vp);
		sim_kvm(vp->vcpu_fd, KVM_GET_REGS, &after);
		if (after.rip != r.rip) {
			/* This KVM exits before retiring OUT: the state was already the "before". */
			len = (unsigned)(after.rip - r.rip);
		} else {
			uint8_t tail[15];
			uint64_t la = rip_linear(&s, r.rip, mode);
			size_t n = la < 15 ? (size_t)la : 15;
			struct io_match m = { &run, &r, tail + n };

			if (read_linear(vp, &s, la - n, tail, n) == n &&
			    find_retired(vp, &r, &s, mode, match_out, &m, &d, &len) == 0) {
				pre.rip -= len;
				if (d.opcode == 0x6e || d.opcode == 0x6f)
					addr_sub(&pre.rsi, string_step(&r, run.io.size), d.addr_size);
			}
		}
	}
	sim_kvm(vp->vcpu_fd, KVM_SET_REGS, &pre);

	msg_init(msg, HVMSG_X64_IO_PORT_INTERCEPT, sizeof(*io));
	fill_header(vp, &pre, &s, len, in ? HV_X64_INTERCEPT_ACCESS_READ : HV_X64_INTERCEPT_ACCESS_WRITE,
		    &io->header);
	io->port_number = run.io.port;
	io->access_info.access_size = run.io.size & 7;
	if (decode_at(vp, &s, pre.rip, mode, &d) == 0) {
		io->access_info.string_op = sim_insn_is_string(&d);
		io->access_info.rep_prefix = d.rep;
	}
	io->instruction_byte_count = (uint8_t)read_linear(vp, &s, rip_linear(&s, pre.rip, mode),
							   io->instruction_bytes, 16);
	io->rax = pre.rax;
	sim_seg_to_hv(&s.ds, &io->ds_segment);
	sim_seg_to_hv(&s.es, &io->es_segment);
	io->rcx = pre.rcx;
	io->rsi = pre.rsi;
	io->rdi = pre.rdi;
}

struct mmio_match {
	struct sim_vp *vp;
	const struct kvm_regs *r;
	const struct kvm_sregs *s;
	int mode;
	uint64_t gpa;
	unsigned len;
	bool verify;
};

static bool match_store(const struct sim_insn *d, void *p)
{
	struct mmio_match *m = p;
	struct kvm_regs pre = *m->r;
	uint64_t la, gpa;
	unsigned sz = d->op_size > 8 ? 8 : d->op_size;

	if (!sim_insn_is_store(d) || d->rep || sz < m->len)
		return false;
	if (!m->verify)
		return true;
	if (sim_insn_is_string(d)) {
		addr_sub(&pre.rdi, string_step(m->r, d->op_size), d->addr_size);
		addr_sub(&pre.rsi, string_step(m->r, d->op_size), d->addr_size);
	}
	if (!sim_insn_linear(d, m->mode, &pre, m->s, m->r->rip, true, &la) ||
	    !lin_to_gpa(m->vp, m->s, la, &gpa))
		return false;
	return m->gpa >= gpa && m->gpa < gpa + d->op_size;
}

static void build_mmio(struct sim_vp *vp, struct hv_message *msg)
{
	struct hv_x64_memory_intercept_message *mm = (void *)msg->u.payload;
	struct kvm_run run = *vp->run;
	struct kvm_regs r, pre;
	struct kvm_sregs s;
	struct sim_insn d;
	bool known, writable = false, mapped;
	uint8_t access;
	unsigned len = 0;
	uint64_t la;
	int mode;

	sim_kvm(vp->vcpu_fd, KVM_GET_REGS, &r);
	sim_kvm(vp->vcpu_fd, KVM_GET_SREGS, &s);
	mode = cpu_mode(&s);
	pre = r;
	known = decode_at(vp, &s, r.rip, mode, &d) == 0;

	if (run.mmio.is_write) {
		if (known && d.rep && sim_insn_is_store(&d) && sim_insn_is_string(&d) &&
		    (d.op_size > 8 ? 8 : d.op_size) >= run.mmio.len) {
			addr_sub(&pre.rdi, string_step(&r, d.op_size), d.addr_size);
			if (d.opcode == 0xa4 || d.opcode == 0xa5)
				addr_sub(&pre.rsi, string_step(&r, d.op_size), d.addr_size);
			addr_add(&pre.rcx, 1, d.addr_size);
		} else {
			struct mmio_match m = { vp, &r, &s, mode, run.mmio.phys_addr, run.mmio.len, true };
			unsigned k;

			if (find_retired(vp, &r, &s, mode, match_store, &m, &d, &k) < 0) {
				m.verify = false;
				if (find_retired(vp, &r, &s, mode, match_store, &m, &d, &k) < 0)
					k = 0;	/* unknown form: reported where KVM left it */
			}
			if (k && sim_insn_is_string(&d)) {
				addr_sub(&pre.rdi, string_step(&r, d.op_size), d.addr_size);
				if (d.opcode == 0xa4 || d.opcode == 0xa5)
					addr_sub(&pre.rsi, string_step(&r, d.op_size), d.addr_size);
			}
			pre.rip -= k;
		}
	}
	complete_pending(vp);
	sim_kvm(vp->vcpu_fd, KVM_SET_REGS, &pre);

	known = decode_at(vp, &s, pre.rip, mode, &d) == 0;
	if (known)
		len = d.len;
	access = run.mmio.is_write || (known && sim_insn_is_rmw(&d)) ? HV_X64_INTERCEPT_ACCESS_WRITE
								     : HV_X64_INTERCEPT_ACCESS_READ;
	pthread_rwlock_rdlock(&vp->pt->mem_lock);
	mapped = sim_gpa_to_host(vp->pt, run.mmio.phys_addr, 1, &writable) != NULL;
	pthread_rwlock_unlock(&vp->pt->mem_lock);

	msg_init(msg, mapped ? HVMSG_GPA_INTERCEPT : HVMSG_UNMAPPED_GPA, sizeof(*mm));
	fill_header(vp, &pre, &s, len, access, &mm->header);
	mm->cache_type = 6;	/* write-back */
	mm->guest_physical_address = run.mmio.phys_addr;
	if (known && sim_insn_linear(&d, mode, &pre, &s, pre.rip + d.len, run.mmio.is_write, &la)) {
		uint64_t gpa;

		if (lin_to_gpa(vp, &s, la, &gpa) && (gpa >> 12) == (run.mmio.phys_addr >> 12)) {
			mm->guest_virtual_address = la + (run.mmio.phys_addr - gpa);
			mm->memory_access_info.gva_valid = 1;
			mm->memory_access_info.gva_gpa_valid = 1;
		}
	}
	if (!mm->memory_access_info.gva_valid && !(s.cr0 & (1u << 31))) {
		mm->guest_virtual_address = run.mmio.phys_addr;	/* no paging: linear = physical */
		mm->memory_access_info.gva_valid = 1;
		mm->memory_access_info.gva_gpa_valid = 1;
	}
	mm->instruction_byte_count = (uint8_t)read_linear(vp, &s, rip_linear(&s, pre.rip, mode),
							   mm->instruction_bytes, 16);
}

static void build_simple(struct sim_vp *vp, struct hv_message *msg, uint32_t type)
{
	struct hv_x64_halt_message *h = (void *)msg->u.payload;
	struct kvm_regs r;
	struct kvm_sregs s;

	sim_kvm(vp->vcpu_fd, KVM_GET_REGS, &r);
	sim_kvm(vp->vcpu_fd, KVM_GET_SREGS, &s);
	msg_init(msg, type, sizeof(*h));
	fill_header(vp, &r, &s, 0, HV_X64_INTERCEPT_ACCESS_EXECUTE, &h->header);
}

/* KVM could not fetch the instruction: it runs from a GPA with no RAM (an execute intercept). */
static bool build_exec_fault(struct sim_vp *vp, struct hv_message *msg)
{
	struct hv_x64_memory_intercept_message *mm = (void *)msg->u.payload;
	struct kvm_regs r;
	struct kvm_sregs s;
	uint64_t la, gpa;
	bool mapped;

	sim_kvm(vp->vcpu_fd, KVM_GET_REGS, &r);
	sim_kvm(vp->vcpu_fd, KVM_GET_SREGS, &s);
	la = rip_linear(&s, r.rip, cpu_mode(&s));
	if (!lin_to_gpa(vp, &s, la, &gpa))
		return false;
	pthread_rwlock_rdlock(&vp->pt->mem_lock);
	mapped = sim_gpa_mapped(vp->pt, gpa);
	pthread_rwlock_unlock(&vp->pt->mem_lock);
	if (mapped)
		return false;
	msg_init(msg, HVMSG_UNMAPPED_GPA, sizeof(*mm));
	fill_header(vp, &r, &s, 0, HV_X64_INTERCEPT_ACCESS_EXECUTE, &mm->header);
	mm->cache_type = 6;
	mm->guest_physical_address = gpa;
	mm->guest_virtual_address = la;
	mm->memory_access_info.gva_valid = 1;
	mm->memory_access_info.gva_gpa_valid = 1;
	return true;
}

/* ---- register page --------------------------------------------------------------------------- */

static void reg_page_apply(struct sim_vp *vp)
{
	struct hv_vp_register_page *p = vp->reg_page;
	uint32_t dirty = p->dirty;

	if (!dirty)
		return;
	if (dirty & ((1u << HV_X64_REGISTER_CLASS_GENERAL) | (1u << HV_X64_REGISTER_CLASS_IP) |
		     (1u << HV_X64_REGISTER_CLASS_FLAGS))) {
		struct kvm_regs r;

		if (sim_kvm(vp->vcpu_fd, KVM_GET_REGS, &r) == 0) {
			if (dirty & (1u << HV_X64_REGISTER_CLASS_GENERAL)) {
				r.rax = p->rax; r.rcx = p->rcx; r.rdx = p->rdx; r.rbx = p->rbx;
				r.rsp = p->rsp; r.rbp = p->rbp; r.rsi = p->rsi; r.rdi = p->rdi;
				r.r8 = p->r8; r.r9 = p->r9; r.r10 = p->r10; r.r11 = p->r11;
				r.r12 = p->r12; r.r13 = p->r13; r.r14 = p->r14; r.r15 = p->r15;
			}
			if (dirty & (1u << HV_X64_REGISTER_CLASS_IP))
				r.rip = p->rip;
			if (dirty & (1u << HV_X64_REGISTER_CLASS_FLAGS))
				r.rflags = p->rflags;
			sim_kvm(vp->vcpu_fd, KVM_SET_REGS, &r);
		}
	}
	if (dirty & (1u << HV_X64_REGISTER_CLASS_SEGMENT)) {
		struct kvm_sregs s;

		if (sim_kvm(vp->vcpu_fd, KVM_GET_SREGS, &s) == 0) {
			sim_seg_from_hv(&p->es, &s.es);
			sim_seg_from_hv(&p->cs, &s.cs);
			sim_seg_from_hv(&p->ss, &s.ss);
			sim_seg_from_hv(&p->ds, &s.ds);
			sim_seg_from_hv(&p->fs, &s.fs);
			sim_seg_from_hv(&p->gs, &s.gs);
			memset(s.interrupt_bitmap, 0, sizeof(s.interrupt_bitmap));
			sim_kvm(vp->vcpu_fd, KVM_SET_SREGS, &s);
		}
	}
	if (dirty & (1u << HV_X64_REGISTER_CLASS_XMM)) {
		struct kvm_fpu f;

		if (sim_kvm(vp->vcpu_fd, KVM_GET_FPU, &f) == 0) {
			for (int i = 0; i < 6; i++)
				memcpy(f.xmm[i], &p->xmm_registers[i], 16);
			sim_kvm(vp->vcpu_fd, KVM_SET_FPU, &f);
		}
	}
	p->dirty = 0;
}

static void reg_page_fill(struct sim_vp *vp)
{
	struct hv_vp_register_page *p = vp->reg_page;
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_fpu f;

	if (sim_kvm(vp->vcpu_fd, KVM_GET_REGS, &r) < 0 || sim_kvm(vp->vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return;
	p->version = HV_VP_REGISTER_PAGE_VERSION_1;
	p->rax = r.rax; p->rcx = r.rcx; p->rdx = r.rdx; p->rbx = r.rbx;
	p->rsp = r.rsp; p->rbp = r.rbp; p->rsi = r.rsi; p->rdi = r.rdi;
	p->r8 = r.r8; p->r9 = r.r9; p->r10 = r.r10; p->r11 = r.r11;
	p->r12 = r.r12; p->r13 = r.r13; p->r14 = r.r14; p->r15 = r.r15;
	p->rip = r.rip;
	p->rflags = r.rflags;
	if (sim_kvm(vp->vcpu_fd, KVM_GET_FPU, &f) == 0)
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

/* ---- halt detection for LAPIC partitions -------------------------------------------------- */

/*
 * With an in-kernel local APIC, KVM handles HLT itself and just blocks the vCPU thread, while
 * the hypervisor reports HVMSG_X64_HALT.  A monitor thread notices a vCPU thread that sleeps in
 * KVM_RUN and kicks it with a private signal; RUN_VP then reports the halt if KVM says so.
 */
static int halt_signal(void)
{
	const char *s = getenv("MSHV_SIM_HALT_SIGNAL");

	return s ? atoi(s) : SIGRTMAX - 1;
}

static void halt_handler(int sig)
{
	(void)sig;
}

static pthread_once_t halt_once = PTHREAD_ONCE_INIT;

static void halt_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = halt_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(halt_signal(), &sa, NULL);
}

static char thread_state(pid_t tid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	sim_real_close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

static void *monitor_main(void *arg)
{
	struct sim_partition *pt = arg;
	int sleeping[MSHV_MAX_VPS] = { 0 };

	while (!atomic_load(&pt->monitor_stop)) {
		struct timespec ts = { 0, 2 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		for (unsigned i = 0; i < MSHV_MAX_VPS; i++) {
			struct sim_vp *vp = sim_vp_lookup(pt, i);
			int tid = vp ? atomic_load(&vp->run_tid) : 0;

			if (!tid || thread_state(tid) != 'S') {
				sleeping[i] = 0;
				continue;
			}
			if (++sleeping[i] >= 3) {
				sleeping[i] = 0;
				atomic_store(&vp->halt_probe, true);
				syscall(SYS_tgkill, getpid(), tid, halt_signal());
			}
		}
	}
	return NULL;
}

void sim_monitor_start(struct sim_partition *pt)
{
	sigset_t all, old;

	pthread_mutex_lock(&pt->state_lock);
	if (!pt->monitor_started) {
		pthread_once(&halt_once, halt_install);
		/* The monitor must not take the application's signals. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		if (pthread_create(&pt->monitor, NULL, monitor_main, pt) == 0)
			pt->monitor_started = true;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	pthread_mutex_unlock(&pt->state_lock);
}

void sim_monitor_stop(struct sim_partition *pt)
{
	if (!pt->monitor_started)
		return;
	atomic_store(&pt->monitor_stop, true);
	pthread_join(pt->monitor, NULL);
	pt->monitor_started = false;
}

/* KVM_RUN must be interruptible by the halt signal even if the thread blocks it. */
static void unblock_halt_signal(struct sim_vp *vp)
{
	struct {
		struct kvm_signal_mask h;
		uint64_t set;
	} m;
	sigset_t cur;

	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	if (!sigismember(&cur, halt_signal()))
		return;
	sigdelset(&cur, halt_signal());
	m.h.len = 8;
	memcpy(&m.set, &cur, 8);
	sim_kvm(vp->vcpu_fd, KVM_SET_SIGNAL_MASK, &m);
}

/* ---- run ------------------------------------------------------------------------------------- */

static int run_vp(struct sim_vp *vp, struct hv_message *msg)
{
	if (vp->dead) {
		*msg = vp->dead_msg;
		return 0;
	}
	reg_page_apply(vp);
	vp->reg_page->isvalid = 0;
	vp->has_run = true;
	if (vp->pt->lapic) {
		sim_monitor_start(vp->pt);
		unblock_halt_signal(vp);
	}

	for (;;) {
		int r, err;

		vp->run->immediate_exit = 0;
		atomic_store(&vp->halt_probe, false);
		atomic_store(&vp->run_tid, (int)syscall(SYS_gettid));
		r = sim_real_ioctl(vp->vcpu_fd, KVM_RUN, NULL);
		err = errno;
		atomic_store(&vp->run_tid, 0);
		if (r < 0) {
			if (err == EINTR || err == EAGAIN) {
				struct kvm_mp_state mp;

				if (atomic_load(&vp->halt_probe) &&
				    sim_kvm(vp->vcpu_fd, KVM_GET_MP_STATE, &mp) == 0 &&
				    mp.mp_state == KVM_MP_STATE_HALTED) {
					build_simple(vp, msg, HVMSG_X64_HALT);
					break;
				}
				return -EINTR;
			}
			return -err;
		}
		switch (vp->run->exit_reason) {
		case KVM_EXIT_IO:
			build_io(vp, msg);
			goto out;
		case KVM_EXIT_MMIO:
			build_mmio(vp, msg);
			goto out;
		case KVM_EXIT_HLT:
			build_simple(vp, msg, HVMSG_X64_HALT);
			goto out;
		case KVM_EXIT_SHUTDOWN:
			build_simple(vp, msg, HVMSG_UNRECOVERABLE_EXCEPTION);
			vp->dead = true;
			vp->dead_msg = *msg;
			goto out;
		case KVM_EXIT_IOAPIC_EOI: {
			struct hv_x64_apic_eoi_message *e = (void *)msg->u.payload;

			msg_init(msg, HVMSG_X64_APIC_EOI, sizeof(*e));
			e->vp_index = vp->index;
			e->interrupt_vector = vp->run->eoi.vector;
			goto out;
		}
		case KVM_EXIT_INTR:
			return -EINTR;
		case KVM_EXIT_INTERNAL_ERROR:
			if (build_exec_fault(vp, msg))
				goto out;
			return -EIO;
		case KVM_EXIT_FAIL_ENTRY:
			build_simple(vp, msg, HVMSG_UNRECOVERABLE_EXCEPTION);
			vp->dead = true;
			vp->dead_msg = *msg;
			goto out;
		default:
			continue;
		}
	}
out:
	reg_page_fill(vp);
	memcpy(vp->msg_page, msg, sizeof(*msg));
	return 0;
}

/* ---- VP state -------------------------------------------------------------------------------- */

static uint32_t apic_reg(const struct kvm_lapic_state *l, unsigned off)
{
	uint32_t v;

	memcpy(&v, l->regs + off, 4);
	return v;
}

static void apic_set(struct kvm_lapic_state *l, unsigned off, uint32_t v)
{
	memcpy(l->regs + off, &v, 4);
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
	struct kvm_lapic_state l;

	if (!vp->pt->lapic || sim_kvm(vp->vcpu_fd, KVM_GET_LAPIC, &l) < 0)
		return -EINVAL;
	memset(buf, 0, SIM_PAGE_SIZE);
	h->apic_id = apic_reg(&l, 0x20) >> 24;
#define GET(f, off) h->f = apic_reg(&l, off);
	LAPIC_FIELDS(GET)
#undef GET
	h->apic_error_status = apic_reg(&l, 0x280);
	for (int i = 0; i < 8; i++) {
		h->apic_isr[i] = apic_reg(&l, 0x100 + 16 * i);
		h->apic_tmr[i] = apic_reg(&l, 0x180 + 16 * i);
		h->apic_irr[i] = apic_reg(&l, 0x200 + 16 * i);
	}
	return 0;
}

static int lapic_set(struct sim_vp *vp, const uint8_t *buf)
{
	const struct hv_local_interrupt_controller_state *h = (const void *)buf;
	struct kvm_lapic_state l;

	if (!vp->pt->lapic || sim_kvm(vp->vcpu_fd, KVM_GET_LAPIC, &l) < 0)
		return -EINVAL;
	apic_set(&l, 0x20, h->apic_id << 24);
#define SET(f, off) apic_set(&l, off, h->f);
	LAPIC_FIELDS(SET)
#undef SET
	for (int i = 0; i < 8; i++) {
		apic_set(&l, 0x100 + 16 * i, h->apic_isr[i]);
		apic_set(&l, 0x180 + 16 * i, h->apic_tmr[i]);
		apic_set(&l, 0x200 + 16 * i, h->apic_irr[i]);
	}
	return sim_kvm(vp->vcpu_fd, KVM_SET_LAPIC, &l) < 0 ? -EINVAL : 0;
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
		need = sizeof(struct kvm_xsave);
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
		r = sim_kvm(vp->vcpu_fd, set ? KVM_SET_XSAVE : KVM_GET_XSAVE, buf);
		r = r < 0 ? -EINVAL : 0;
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
	default:
		r = -ENOTTY;
		break;
	}
	pthread_mutex_unlock(&vp->lock);
	return r;
}
