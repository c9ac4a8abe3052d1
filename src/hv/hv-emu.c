// SPDX-License-Identifier: MIT
/* The emu backend of the hypervisor layer: guests on the software CPU engine (src/hv/emu). */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hv/emu/emu.h"
#include "hv/hv-backend.h"

/*
 * The engine needs no device: guests run under a software CPU inside this process, so this
 * backend is for development and CI and is NOT an isolation boundary.
 *
 * How the engine's exits map onto the normalized ones:
 *  - The engine exits before the instruction (RIP on it, as MSHV does) and finishes it on
 *    emu_vcpu_complete(); HALT comes with RIP past the hlt.  String I/O is one exit per
 *    element already.
 *  - What KVM does in the kernel happens here inside hv_vcpu_run(): a guest write that matches
 *    an ioeventfd signals it and the instruction is completed without surfacing; an irqfd is
 *    watched by one thread per VM that injects its route's MSI (emu_vm_msi); with a LAPIC a
 *    hlt waits inside the engine for an interrupt (KVM's in-kernel irqchip), so no HALT exit.
 *  - CPUID is answered by the engine (as KVM answers from KVM_SET_CPUID2); only MSRs the engine
 *    does not implement exit (as KVM_CAP_X86_USER_SPACE_MSR does); exceptions are delivered
 *    through the guest's IDT/IVT and a triple fault is SHUTDOWN.
 *  - Interrupt model: the engine has a local APIC per vCPU and no PIC or IOAPIC, like an MSHV
 *    partition: every GSI is an MSI route (set-msi-routing, GSIs 24 and up, as on the other
 *    backends); an irqfd on a GSI without a route is accepted and fires nothing until routed.
 *  - An instruction fetch from a GPA without RAM is HV_EXIT_UNKNOWN with code
 *    EMU_HV_EXIT_FETCH_HOLE (the value of MSHV's unmapped-GPA message, which is what the mshv
 *    backend reports in that case too).
 */

#define EMU_HV_EXIT_FETCH_HOLE	0x80000000u
/* GSIs below this are interrupt-controller pins on every backend; never MSI routes. */
#define EMU_IRQCHIP_GSIS	24
#define EMU_MAX_EVENTFDS	4096

struct emu_hv {
	struct hv base;
};

struct emu_ioeventfd {
	int fd;
	uint64_t addr;
	unsigned len;		/* 0: any size */
	unsigned flags;		/* HV_IOEVENTFD_* */
	uint64_t datamatch;
};

struct emu_irqfd {
	int fd;
	uint32_t gsi;
	uint32_t gen;		/* tells a reused slot from the one an epoll event names */
	bool used;
};

struct emu_hv_vm {
	struct hv_vm base;
	struct emu_vm *vm;
	bool lapic;

	/* ioeventfds, read by every vCPU thread on each write exit. */
	pthread_rwlock_t io_lock;
	struct emu_ioeventfd *io;
	unsigned nio;

	/* irqfds and MSI routes, shared with the irqfd thread. */
	pthread_mutex_t irq_lock;
	struct emu_irqfd *irqfds;
	unsigned nirqfds;	/* slots allocated */
	struct hv_msi_route *routes;
	unsigned nroutes;
	int epfd;
	int stopfd;		/* written once to stop the irqfd thread */
	pthread_t irq_thread;
	bool irq_thread_started;
};

struct emu_hv_vcpu {
	struct hv_vcpu base;
	struct emu_vcpu *v;
};

static struct emu_hv_vm *to_emu_vm(struct hv_vm *vm)
{
	return (struct emu_hv_vm *)vm;
}

static struct emu_hv_vcpu *to_emu_vcpu(struct hv_vcpu *vcpu)
{
	return (struct emu_hv_vcpu *)vcpu;
}

/* ---- "device" ---------------------------------------------------------------------------- */

/*
 * One engine instance kept ready while any emu handle is open: create-vcpu takes it instead of
 * paying the engine's set-up on the request's path (best effort; the engine's spares are per
 * process, hence the count of handles).
 */
static pthread_mutex_t spares_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned spares_users;

static void spares_use(bool use)
{
	pthread_mutex_lock(&spares_lock);
	if (use && spares_users++ == 0)
		(void)emu_prepare_ahead(1);
	else if (!use && --spares_users == 0)
		(void)emu_prepare_ahead(0);
	pthread_mutex_unlock(&spares_lock);
}

static void emu_hv_free(struct hv *hv)
{
	spares_use(false);
	free(hv);
}

static int emu_hv_open(const char *path, struct hv **ret)
{
	struct emu_hv *e;
	int r;

	/* There is no device to name. */
	if (path)
		return -EINVAL;
	/* Not needed by the engine (its kick is a flag), but hv_kick_signal() is part of the
	 * contract whatever the backend. */
	r = hv_kick_signal_setup();
	if (r < 0)
		return r;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->base.caps = HV_CAP_IRQCHIP | HV_CAP_LAPIC | HV_CAP_IOEVENTFD_MMIO |
		       HV_CAP_IOEVENTFD_PIO | HV_CAP_IRQFD | HV_CAP_MSI_ROUTING |
		       HV_CAP_ASSERT_INTERRUPT | HV_CAP_TRANSLATE_GVA | HV_CAP_READONLY_MEM |
		       HV_CAP_DIRTY_LOG | HV_CAP_BOUNDED_RUN;
	spares_use(true);
	*ret = &e->base;
	return 0;
}

/* ---- irqfd thread ------------------------------------------------------------------------ */

static uint64_t epoll_key(unsigned slot, uint32_t gen)
{
	return (uint64_t)gen << 32 | slot;
}

/* Inject the MSI routed to gsi, if any.  Called with irq_lock held.  Thread: irqfd. */
static void fire_gsi(struct emu_hv_vm *ev, uint32_t gsi)
{
	for (unsigned i = 0; i < ev->nroutes; i++) {
		const struct hv_msi_route *rt = &ev->routes[i];

		if (rt->gsi != gsi)
			continue;
		emu_vm_msi(ev->vm, (uint64_t)rt->address_hi << 32 | rt->address_lo, rt->data);
		return;
	}
}

/*
 * One thread per VM (started with the first irqfd) waits on every irqfd and injects the
 * route's interrupt directly, as KVM's irqfd does in the kernel.  Removal holds irq_lock and
 * bumps nothing the thread could still use: an event is acted on only if its slot and
 * generation still name a registered irqfd.
 */
static void *irqfd_thread(void *p)
{
	struct emu_hv_vm *ev = p;
	struct epoll_event evs[16];

	for (;;) {
		int n = epoll_wait(ev->epfd, evs, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t key = evs[i].data.u64, cnt;
			unsigned slot = (unsigned)key;
			struct emu_irqfd *f;

			if (key == UINT64_MAX)
				return NULL;	/* stopfd */
			pthread_mutex_lock(&ev->irq_lock);
			f = slot < ev->nirqfds ? &ev->irqfds[slot] : NULL;
			if (f && f->used && f->gen == (uint32_t)(key >> 32) &&
			    read(f->fd, &cnt, sizeof(cnt)) == sizeof(cnt))
				fire_gsi(ev, f->gsi);
			pthread_mutex_unlock(&ev->irq_lock);
		}
	}
	return NULL;
}

static int irqfd_thread_start(struct emu_hv_vm *ev)
{
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = UINT64_MAX };
	sigset_t all, old;
	int r;

	if (ev->irq_thread_started)
		return 0;
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ev->epfd < 0)
		return -errno;
	ev->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ev->stopfd < 0)
		return -errno;
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, ev->stopfd, &e) < 0)
		return -errno;
	/* The thread takes no signals: they belong to the daemon's loop and vCPU threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&ev->irq_thread, NULL, irqfd_thread, ev);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		return r;
	ev->irq_thread_started = true;
	return 0;
}

/* ---- partitions ------------------------------------------------------------------------- */

static void emu_hv_vm_free(struct hv_vm *vm)
{
	struct emu_hv_vm *ev = to_emu_vm(vm);
	uint64_t one = 1;

	if (ev->irq_thread_started) {
		if (write(ev->stopfd, &one, sizeof(one)) == sizeof(one))
			pthread_join(ev->irq_thread, NULL);
	}
	if (ev->epfd >= 0)
		close(ev->epfd);
	if (ev->stopfd >= 0)
		close(ev->stopfd);
	emu_vm_free(ev->vm);
	pthread_rwlock_destroy(&ev->io_lock);
	pthread_mutex_destroy(&ev->irq_lock);
	free(ev->io);
	free(ev->irqfds);
	free(ev->routes);
	free(ev);
}

static int emu_hv_vm_new(struct hv *hv, const struct hv_vm_options *opts, struct hv_vm **ret)
{
	struct emu_vm_config cfg = { 0 };
	struct emu_hv_vm *ev;
	int r;

	(void)hv;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	ev->epfd = ev->stopfd = -1;
	pthread_rwlock_init(&ev->io_lock, NULL);
	pthread_mutex_init(&ev->irq_lock, NULL);
	/* The engine's LAPIC is its only interrupt controller: "irqchip" asks for it too. */
	ev->lapic = opts->lapic || opts->irqchip;
	cfg.lapic = ev->lapic;
	/* KVM in-kernel irqchip style: a hlt waits inside the run for an interrupt or a kick. */
	cfg.halt_exits = false;
	cfg.eoi_exits = false;
	/* As KVM with an irqchip (and MSHV): APs wait for INIT/SIPI. */
	cfg.aps_wait_for_sipi = ev->lapic;
	r = emu_vm_new(&cfg, &ev->vm);
	if (r < 0) {
		emu_hv_vm_free(&ev->base);
		return r;
	}
	*ret = &ev->base;
	return 0;
}

static int emu_hv_vm_map(struct hv_vm *vm, const struct hv_mapping *m)
{
	unsigned prot = EMU_PROT_READ | EMU_PROT_EXEC;

	/* HV_CAP_NOEXEC_MEM is not claimed: every mapping is executable, as on kvm. */
	if (m->flags & HV_MAP_WRITE)
		prot |= EMU_PROT_WRITE;
	return emu_vm_map(to_emu_vm(vm)->vm, m->gpa, m->host, m->size, prot);
}

static int emu_hv_vm_unmap(struct hv_vm *vm, const struct hv_mapping *m)
{
	return emu_vm_unmap(to_emu_vm(vm)->vm, m->gpa, m->size);
}

static bool io_same(const struct emu_ioeventfd *a, int fd, uint64_t addr, unsigned len,
		    unsigned flags, uint64_t datamatch)
{
	return a->addr == addr && a->len == len &&
	       (a->flags & HV_IOEVENTFD_PIO) == (flags & HV_IOEVENTFD_PIO) &&
	       (a->flags & HV_IOEVENTFD_DATAMATCH) == (flags & HV_IOEVENTFD_DATAMATCH) &&
	       (!(flags & HV_IOEVENTFD_DATAMATCH) || a->datamatch == datamatch) &&
	       (fd < 0 || a->fd == fd);
}

static int emu_hv_vm_ioeventfd(struct hv_vm *vm, bool add, int fd, uint64_t addr, unsigned len,
			       unsigned flags, uint64_t datamatch)
{
	struct emu_hv_vm *ev = to_emu_vm(vm);
	int r = 0;

	pthread_rwlock_wrlock(&ev->io_lock);
	if (add) {
		struct emu_ioeventfd *n;

		for (unsigned i = 0; i < ev->nio; i++)
			if (io_same(&ev->io[i], -1, addr, len, flags, datamatch)) {
				r = -EEXIST;
				goto out;
			}
		if (ev->nio >= EMU_MAX_EVENTFDS) {
			r = -ENOSPC;
			goto out;
		}
		n = realloc(ev->io, (ev->nio + 1) * sizeof(*n));
		if (!n) {
			r = -ENOMEM;
			goto out;
		}
		ev->io = n;
		ev->io[ev->nio++] = (struct emu_ioeventfd){
			.fd = fd, .addr = addr, .len = len, .flags = flags,
			.datamatch = flags & HV_IOEVENTFD_DATAMATCH ? datamatch : 0,
		};
	} else {
		r = -ENOENT;
		for (unsigned i = 0; i < ev->nio; i++)
			if (io_same(&ev->io[i], fd, addr, len, flags, datamatch)) {
				ev->io[i] = ev->io[--ev->nio];
				r = 0;
				break;
			}
	}
out:
	pthread_rwlock_unlock(&ev->io_lock);
	return r;
}

/* Signal the ioeventfd a guest write matches; true when one did.  Thread: vcpu. */
static bool ioeventfd_signal(struct emu_hv_vm *ev, bool pio, uint64_t addr, unsigned size,
			     uint64_t data)
{
	uint64_t mask = size >= 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * size)) - 1, one = 1;
	bool hit = false;

	pthread_rwlock_rdlock(&ev->io_lock);
	for (unsigned i = 0; i < ev->nio; i++) {
		const struct emu_ioeventfd *e = &ev->io[i];

		if (!!(e->flags & HV_IOEVENTFD_PIO) != pio || e->addr != addr ||
		    (e->len && e->len != size))
			continue;
		if ((e->flags & HV_IOEVENTFD_DATAMATCH) && (data & mask) != (e->datamatch & mask))
			continue;
		/* A full counter (EAGAIN) still means "signalled", as in the kernel. */
		if (write(e->fd, &one, sizeof(one)) < 0) {
			/* nothing to report to the guest */
		}
		hit = true;
		break;
	}
	pthread_rwlock_unlock(&ev->io_lock);
	return hit;
}

static int irqfd_slot(struct emu_hv_vm *ev, int fd, uint32_t gsi)
{
	for (unsigned i = 0; i < ev->nirqfds; i++)
		if (ev->irqfds[i].used && ev->irqfds[i].fd == fd && ev->irqfds[i].gsi == gsi)
			return (int)i;
	return -1;
}

static int emu_hv_vm_irqfd(struct hv_vm *vm, bool add, int fd, int resample_fd, uint32_t gsi)
{
	struct emu_hv_vm *ev = to_emu_vm(vm);
	struct epoll_event e = { .events = EPOLLIN };
	struct emu_irqfd *f = NULL;
	int r = 0, slot;

	/* Like KVM, an irqfd needs the interrupt controller; resampling needs level-triggered
	 * EOI notification, which the engine has but this backend does not wire up yet. */
	if (!ev->lapic || resample_fd >= 0)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&ev->irq_lock);
	slot = irqfd_slot(ev, fd, gsi);
	if (!add) {
		if (slot < 0) {
			r = -ENOENT;
			goto out;
		}
		f = &ev->irqfds[slot];
		epoll_ctl(ev->epfd, EPOLL_CTL_DEL, f->fd, NULL);
		f->used = false;
		goto out;
	}
	for (unsigned i = 0; i < ev->nirqfds; i++)
		if (ev->irqfds[i].used && ev->irqfds[i].fd == fd) {
			r = -EBUSY;	/* KVM: one fd, one irqfd */
			goto out;
		}
	r = irqfd_thread_start(ev);
	if (r < 0)
		goto out;
	for (unsigned i = 0; i < ev->nirqfds; i++)
		if (!ev->irqfds[i].used) {
			f = &ev->irqfds[i];
			break;
		}
	if (!f) {
		struct emu_irqfd *n;

		if (ev->nirqfds >= EMU_MAX_EVENTFDS) {
			r = -ENOSPC;
			goto out;
		}
		n = realloc(ev->irqfds, (ev->nirqfds + 1) * sizeof(*n));
		if (!n) {
			r = -ENOMEM;
			goto out;
		}
		ev->irqfds = n;
		f = &ev->irqfds[ev->nirqfds++];
		memset(f, 0, sizeof(*f));
	}
	f->fd = fd;
	f->gsi = gsi;
	f->gen++;
	e.data.u64 = epoll_key((unsigned)(f - ev->irqfds), f->gen);
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
		r = -errno;
		goto out;
	}
	f->used = true;
out:
	pthread_mutex_unlock(&ev->irq_lock);
	return r;
}

static int emu_hv_vm_set_msi_routing(struct hv_vm *vm, const struct hv_msi_route *routes,
				     unsigned n)
{
	struct emu_hv_vm *ev = to_emu_vm(vm);
	struct hv_msi_route *copy = NULL;

	if (!ev->lapic)
		return -EOPNOTSUPP;
	for (unsigned i = 0; i < n; i++)
		if (routes[i].gsi < EMU_IRQCHIP_GSIS)
			return -EINVAL;
	if (n) {
		copy = malloc(n * sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, routes, n * sizeof(*copy));
	}
	pthread_mutex_lock(&ev->irq_lock);
	free(ev->routes);
	ev->routes = copy;
	ev->nroutes = n;
	pthread_mutex_unlock(&ev->irq_lock);
	return 0;
}

static int emu_hv_vm_assert_interrupt(struct hv_vm *vm, const struct hv_interrupt *irq)
{
	static const enum emu_irq_type types[] = {
		[HV_INTERRUPT_FIXED] = EMU_IRQ_FIXED,
		[HV_INTERRUPT_LOWEST] = EMU_IRQ_LOWEST,
		[HV_INTERRUPT_NMI] = EMU_IRQ_NMI,
		[HV_INTERRUPT_INIT] = EMU_IRQ_INIT,
		[HV_INTERRUPT_SIPI] = EMU_IRQ_SIPI,
		[HV_INTERRUPT_EXTINT] = EMU_IRQ_EXTINT,
	};

	/* xAPIC IDs only (no HV_CAP_X2APIC). */
	if (irq->apic_id > 0xff)
		return -EINVAL;
	return emu_vm_interrupt(to_emu_vm(vm)->vm, types[irq->type], irq->apic_id, irq->logical,
				(uint8_t)irq->vector, irq->level);
}

/* ---- vCPUs: registers ------------------------------------------------------------------- */

static void emu_hv_vcpu_free(struct hv_vcpu *vcpu)
{
	struct emu_hv_vcpu *ec = to_emu_vcpu(vcpu);

	emu_vcpu_free(ec->v);
	free(ec);
}

static int emu_hv_vcpu_new(struct hv_vm *vm, unsigned index, struct hv_vcpu **ret)
{
	struct emu_hv_vcpu *ec;
	int r;

	ec = calloc(1, sizeof(*ec));
	if (!ec)
		return -ENOMEM;
	r = emu_vcpu_new(to_emu_vm(vm)->vm, index, &ec->v);
	if (r < 0) {
		free(ec);
		return r;
	}
	/* As on kvm: CPUID from the engine's table, only unknown MSRs exit, exceptions go to the
	 * guest. */
	emu_vcpu_set_intercepts(ec->v, 0, 0);
	*ret = &ec->base;
	return 0;
}

static struct emu_segment *seg_slot(struct emu_sregs *s, enum hv_reg reg)
{
	switch (reg) {
	case HV_REG_ES: return &s->es;
	case HV_REG_CS: return &s->cs;
	case HV_REG_SS: return &s->ss;
	case HV_REG_DS: return &s->ds;
	case HV_REG_FS: return &s->fs;
	case HV_REG_GS: return &s->gs;
	case HV_REG_LDTR: return &s->ldt;
	case HV_REG_TR: return &s->tr;
	default: return NULL;
	}
}

static struct emu_table *table_slot(struct emu_sregs *s, enum hv_reg reg)
{
	switch (reg) {
	case HV_REG_GDTR: return &s->gdt;
	case HV_REG_IDTR: return &s->idt;
	default: return NULL;
	}
}

static uint64_t *sreg_u64_slot(struct emu_sregs *s, enum hv_reg reg)
{
	switch (reg) {
	case HV_REG_CR0: return &s->cr0;
	case HV_REG_CR2: return &s->cr2;
	case HV_REG_CR3: return &s->cr3;
	case HV_REG_CR4: return &s->cr4;
	case HV_REG_CR8: return &s->cr8;
	case HV_REG_EFER: return &s->efer;
	case HV_REG_APIC_BASE: return &s->apic_base;
	default: return NULL;
	}
}

static int dr_index(enum hv_reg reg)
{
	switch (reg) {
	case HV_REG_DR0: return 0;
	case HV_REG_DR1: return 1;
	case HV_REG_DR2: return 2;
	case HV_REG_DR3: return 3;
	case HV_REG_DR6: return 6;
	case HV_REG_DR7: return 7;
	default: return -1;
	}
}

enum { NEED_REGS = 1, NEED_SREGS = 2 };

static unsigned reg_class(enum hv_reg reg)
{
	if (reg <= HV_REG_RFLAGS)
		return NEED_REGS;
	if (reg >= HV_REG_ES && reg <= HV_REG_APIC_BASE)
		return NEED_SREGS;
	return 0;	/* DRs and MSRs: one engine call each */
}

static uint64_t *gpr_slot(struct emu_regs *r, enum hv_reg reg)
{
	/* enum hv_reg RAX..R15 follow the encoding order, as EMU_RAX..EMU_R15. */
	if (reg <= HV_REG_R15)
		return &r->gpr[reg - HV_REG_RAX];
	return reg == HV_REG_RIP ? &r->rip : &r->rflags;
}

static int emu_hv_vcpu_get_regs(struct hv_vcpu *vcpu, struct hv_reg_value *regs, unsigned n)
{
	struct emu_hv_vcpu *ec = to_emu_vcpu(vcpu);
	struct emu_regs r;
	struct emu_sregs s;
	unsigned need = 0;
	int ret;

	for (unsigned i = 0; i < n; i++)
		need |= reg_class(regs[i].reg);
	if ((need & NEED_REGS) && (ret = emu_vcpu_get_regs(ec->v, &r)) < 0)
		return ret;
	if ((need & NEED_SREGS) && (ret = emu_vcpu_get_sregs(ec->v, &s)) < 0)
		return ret;
	for (unsigned i = 0; i < n; i++) {
		enum hv_reg reg = regs[i].reg;
		struct emu_segment *sg;
		struct emu_table *t;

		switch (reg_class(reg)) {
		case NEED_REGS:
			regs[i].u64 = *gpr_slot(&r, reg);
			/* The engine leaves RIP on the instruction already; this makes the rule
			 * of hv.h hold whatever it does. */
			if (reg == HV_REG_RIP && vcpu->exit_pending)
				regs[i].u64 = vcpu->exit.rip;
			break;
		case NEED_SREGS:
			if ((sg = seg_slot(&s, reg))) {
				regs[i].seg = (struct hv_segment){
					.base = sg->base, .limit = sg->limit,
					.selector = sg->selector, .attributes = sg->attributes,
				};
			} else if ((t = table_slot(&s, reg))) {
				regs[i].table.base = t->base;
				regs[i].table.limit = t->limit;
			} else if (sreg_u64_slot(&s, reg)) {
				regs[i].u64 = *sreg_u64_slot(&s, reg);
			}
			break;
		default:
			if (dr_index(reg) >= 0)
				ret = emu_vcpu_get_dr(ec->v, (unsigned)dr_index(reg), &regs[i].u64);
			else
				ret = emu_vcpu_get_msr(ec->v, hv_reg_msr_index(reg), &regs[i].u64);
			if (ret < 0)
				return ret == -ENOENT ? -EINVAL : ret;
			break;
		}
	}
	return 0;
}

static int emu_hv_vcpu_set_regs(struct hv_vcpu *vcpu, const struct hv_reg_value *regs, unsigned n)
{
	struct emu_hv_vcpu *ec = to_emu_vcpu(vcpu);
	struct emu_regs r;
	struct emu_sregs s;
	unsigned need = 0;
	int ret;

	for (unsigned i = 0; i < n; i++)
		need |= reg_class(regs[i].reg);
	if ((need & NEED_REGS) && (ret = emu_vcpu_get_regs(ec->v, &r)) < 0)
		return ret;
	if ((need & NEED_SREGS) && (ret = emu_vcpu_get_sregs(ec->v, &s)) < 0)
		return ret;
	/* Validate DR/MSR writes last but apply them in order below; the structs first. */
	for (unsigned i = 0; i < n; i++) {
		enum hv_reg reg = regs[i].reg;
		struct emu_segment *sg;
		struct emu_table *t;

		switch (reg_class(reg)) {
		case NEED_REGS:
			*gpr_slot(&r, reg) = regs[i].u64;
			break;
		case NEED_SREGS:
			if ((sg = seg_slot(&s, reg))) {
				*sg = (struct emu_segment){
					.base = regs[i].seg.base, .limit = regs[i].seg.limit,
					.selector = regs[i].seg.selector,
					.attributes = regs[i].seg.attributes,
				};
			} else if ((t = table_slot(&s, reg))) {
				t->base = regs[i].table.base;
				t->limit = regs[i].table.limit;
			} else if (sreg_u64_slot(&s, reg)) {
				*sreg_u64_slot(&s, reg) = regs[i].u64;
			}
			break;
		default:
			break;
		}
	}
	/* Segments and control registers first, so a RIP set with them is applied in the mode
	 * they establish (as on kvm). */
	if ((need & NEED_SREGS) && (ret = emu_vcpu_set_sregs(ec->v, &s)) < 0)
		return ret;
	if ((need & NEED_REGS) && (ret = emu_vcpu_set_regs(ec->v, &r)) < 0)
		return ret;
	for (unsigned i = 0; i < n; i++) {
		enum hv_reg reg = regs[i].reg;

		if (reg_class(reg))
			continue;
		if (dr_index(reg) >= 0)
			ret = emu_vcpu_set_dr(ec->v, (unsigned)dr_index(reg), regs[i].u64);
		else
			ret = emu_vcpu_set_msr(ec->v, hv_reg_msr_index(reg), regs[i].u64);
		if (ret < 0)
			return ret == -ENOENT ? -EINVAL : ret;
	}
	return 0;
}

/* ---- running ----------------------------------------------------------------------------- */

static void exit_from_emu(const struct emu_exit *x, struct hv_exit *exit)
{
	memset(exit, 0, sizeof(*exit));
	exit->rip = x->rip;
	exit->rflags = x->rflags;
	exit->insn_len = x->insn_len;
	switch (x->kind) {
	case EMU_EXIT_IO:
		exit->kind = HV_EXIT_IO;
		exit->io.port = x->io.port;
		exit->io.size = x->io.size;
		exit->io.write = x->io.write;
		exit->io.string = x->io.string;
		exit->io.rep = x->io.rep;
		exit->io.count = x->io.count;
		exit->io.data = x->io.write ? x->io.data : 0;
		break;
	case EMU_EXIT_MMIO:
		if (x->mmio.fetch) {
			exit->kind = HV_EXIT_UNKNOWN;
			exit->unknown.code = EMU_HV_EXIT_FETCH_HOLE;
			break;
		}
		exit->kind = HV_EXIT_MMIO;
		exit->mmio.gpa = x->mmio.gpa;
		exit->mmio.size = x->mmio.size;
		exit->mmio.write = x->mmio.write;
		exit->mmio.data = x->mmio.write ? x->mmio.data : 0;
		break;
	case EMU_EXIT_HALT:
		exit->kind = HV_EXIT_HALT;
		exit->insn_len = 0;
		break;
	case EMU_EXIT_SHUTDOWN:
		exit->kind = HV_EXIT_SHUTDOWN;
		break;
	case EMU_EXIT_CPUID:
		exit->kind = HV_EXIT_CPUID;
		exit->cpuid.eax = x->cpuid.eax;
		exit->cpuid.ecx = x->cpuid.ecx;
		memcpy(exit->cpuid.result, x->cpuid.result, sizeof(exit->cpuid.result));
		break;
	case EMU_EXIT_MSR:
		exit->kind = HV_EXIT_MSR;
		exit->msr.index = x->msr.index;
		exit->msr.write = x->msr.write;
		exit->msr.data = x->msr.write ? x->msr.data : 0;
		break;
	case EMU_EXIT_EXCEPTION:
		exit->kind = HV_EXIT_EXCEPTION;
		exit->exception.vector = x->exception.vector;
		exit->exception.has_error_code = x->exception.has_error_code;
		exit->exception.error_code = x->exception.error_code;
		break;
	case EMU_EXIT_INTERRUPTED:
		exit->kind = HV_EXIT_INTERRUPTED;
		exit->insn_len = 0;
		break;
	default:
		exit->kind = HV_EXIT_UNKNOWN;
		exit->unknown.code = x->kind;
		break;
	}
}

/* budget: NULL, or the instructions left of a bounded run (spanning the exits handled here).
 * Thread: vcpu, or parked for a bounded run (hv.h). */
static int emu_run(struct hv_vcpu *vcpu, struct hv_exit *exit, uint64_t *budget)
{
	struct emu_hv_vcpu *ec = to_emu_vcpu(vcpu);
	struct emu_hv_vm *ev = to_emu_vm(vcpu->vm);
	static const struct emu_completion none;
	struct emu_exit x;
	int r;

	for (;;) {
		r = budget ? emu_vcpu_run_bounded(ec->v, &x, budget) : emu_vcpu_run(ec->v, &x);
		if (r < 0)
			return r;
		switch (x.kind) {
		case EMU_EXIT_IO:
			/* What KVM's in-kernel ioeventfd bus does: signal, finish the OUT, go on. */
			if (x.io.write && ioeventfd_signal(ev, true, x.io.port, x.io.size, x.io.data)) {
				r = emu_vcpu_complete(ec->v, &none);
				if (r < 0)
					return r;
				continue;
			}
			break;
		case EMU_EXIT_MMIO:
			if (x.mmio.write && !x.mmio.readonly && !x.mmio.fetch &&
			    ioeventfd_signal(ev, false, x.mmio.gpa, x.mmio.size, x.mmio.data)) {
				r = emu_vcpu_complete(ec->v, &none);
				if (r < 0)
					return r;
				continue;
			}
			if (x.mmio.size > 8)
				return -EIO;	/* wider than hv_exit can carry (SSE to MMIO) */
			break;
		case EMU_EXIT_EOI:
			continue;	/* eoi_exits is off; nothing to tell anyway */
		default:
			break;
		}
		exit_from_emu(&x, exit);
		return 0;
	}
}

static int emu_hv_vcpu_run(struct hv_vcpu *vcpu, struct hv_exit *exit)
{
	return emu_run(vcpu, exit, NULL);
}

static int emu_hv_vcpu_run_bounded(struct hv_vcpu *vcpu, struct hv_exit *exit,
				   uint64_t max_insns)
{
	return emu_run(vcpu, exit, &max_insns);
}

static int emu_hv_vcpu_complete(struct hv_vcpu *vcpu, const struct hv_completion *c)
{
	struct emu_completion ec = {
		.value = c->value,
		.inject_gp = c->inject_gp,
	};

	memcpy(ec.cpuid, c->cpuid, sizeof(ec.cpuid));
	return emu_vcpu_complete(to_emu_vcpu(vcpu)->v, &ec);
}

/* Async-signal-safe: the engine's kick is a sticky flag. */
static void emu_hv_vcpu_kick(struct hv_vcpu *vcpu)
{
	emu_vcpu_kick(to_emu_vcpu(vcpu)->v);
}

static int emu_hv_vcpu_translate_gva(struct hv_vcpu *vcpu, uint64_t gva, unsigned access,
				     uint64_t *ret_gpa)
{
	unsigned prot = 0;
	uint64_t gpa;
	int r;

	if (access & HV_MAP_READ)
		prot |= EMU_PROT_READ;
	if (access & HV_MAP_WRITE)
		prot |= EMU_PROT_WRITE;
	if (access & HV_MAP_EXEC)
		prot |= EMU_PROT_EXEC;
	r = emu_vcpu_translate(to_emu_vcpu(vcpu)->v, gva, prot, false, &gpa);
	if (r == -EACCES)
		return -EFAULT;		/* as kvm: the access is not allowed */
	if (r < 0)
		return r;
	*ret_gpa = gpa;
	return 0;
}

/* ---- snapshots --------------------------------------------------------------------------- */

/*
 * Dirty logging is the engine's write tracking (a hook on every guest store, plus what the
 * engine writes for the guest).  The partition blob is the header alone (hv.c's): the
 * engine has no partition-wide device state, its LAPICs are per vCPU and travel in the vCPU
 * blobs.  The vCPU
 * blob is struct emu_state_vcpu, one fixed size (5 KiB, most of it the LAPIC page), never the
 * engine's whole context: restoring it is a handful of engine calls (about a microsecond), on
 * the hot path of restore-vm.
 */
#define EMU_VCPU_STATE_VERSION	1

/* The MSRs a vCPU blob carries, in blob order: those the engine implements, minus what the
 * segment registers and sregs carry already (FS/GS_BASE, EFER, APIC_BASE) and the read-only
 * MTRRcap.  Changing the list changes EMU_VCPU_STATE_VERSION. */
static const uint32_t emu_state_msrs[] = {
	0x10,						/* TSC */
	0x174, 0x175, 0x176,				/* SYSENTER_CS/ESP/EIP */
	0x277,						/* PAT */
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,	/* STAR, LSTAR, CSTAR, SFMASK */
	0xc0000102, 0xc0000103,				/* KERNEL_GS_BASE, TSC_AUX */
	0x2ff, 0x250, 0x258, 0x259,			/* MTRR def type, fixed ranges */
	0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
	0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207,	/* variable ranges */
	0x208, 0x209, 0x20a, 0x20b, 0x20c, 0x20d, 0x20e, 0x20f,
};
#define EMU_STATE_NMSRS	(sizeof(emu_state_msrs) / sizeof(emu_state_msrs[0]))

enum {
	EMU_STATE_LAPIC		= 1u << 0,	/* lapic[] is valid (the VM has LAPICs) */
	EMU_STATE_SHADOW	= 1u << 1,	/* interrupt shadow on the instruction at RIP */
	EMU_STATE_NMI		= 1u << 2,	/* pending injections (struct emu_events) */
	EMU_STATE_EXTINT	= 1u << 3,
	EMU_STATE_INIT		= 1u << 4,
	EMU_STATE_SIPI		= 1u << 5,
	EMU_STATE_SHUTDOWN	= 1u << 6,
	EMU_STATE_MMIO_WRITE	= 1u << 7,	/* mmio holds the write half of an MMIO RMW */
	EMU_STATE_FLAGS		= (1u << 8) - 1,
};

/* The write half of an MMIO read-modify-write: its instruction has run already. */
struct emu_state_mmio {
	uint64_t rip, rflags, gpa, gva, data;
	uint8_t size;
	uint8_t insn_len;
	uint8_t reserved[6];
	uint8_t insn[16];
};

/* Body version 1.  Engine structs are plain fixed-width fields (x86-64 layout). */
struct emu_state_vcpu {
	struct hv_state_header h;
	uint32_t flags;				/* EMU_STATE_* */
	uint8_t activity;			/* enum emu_activity */
	uint8_t extint_vector;
	uint8_t sipi_vector;
	uint8_t reserved;
	struct emu_regs regs;
	struct emu_sregs sregs;
	struct emu_fpu fpu;
	uint64_t dr[6];				/* DR0-3, DR6, DR7 */
	uint64_t msrs[EMU_STATE_NMSRS];		/* values, in emu_state_msrs order */
	struct emu_state_mmio mmio;
	uint8_t lapic[4096];
};

/* A change to an engine struct must bump the version. */
_Static_assert(sizeof(struct emu_regs) == 144 && sizeof(struct emu_sregs) == 216 &&
	       sizeof(struct emu_fpu) == 416 && sizeof(struct emu_state_vcpu) == 5320,
	       "emu vCPU blob layout changed: bump EMU_VCPU_STATE_VERSION");

static const unsigned emu_state_drs[6] = { 0, 1, 2, 3, 6, 7 };

static int emu_hv_vm_set_dirty_log(struct hv_vm *vm, bool on)
{
	return emu_vm_set_dirty_tracking(to_emu_vm(vm)->vm, on);
}

static int emu_hv_vm_get_dirty_log(struct hv_vm *vm, const struct hv_mapping *m,
				   uint64_t *bitmap)
{
	uint64_t npages = m->size / 4096, words = (npages + 63) / 64;
	int r;

	/* The engine sets bit i % 8 of byte i / 8: the layout of the words in memory on a
	 * little-endian host (le64toh() below makes it hold on any).  It writes whole bytes
	 * only, so the rest of the last word is cleared first. */
	bitmap[words - 1] = 0;
	r = emu_vm_get_dirty(to_emu_vm(vm)->vm, m->gpa, npages, (uint8_t *)bitmap, true);
	if (r < 0)
		return r;
	for (uint64_t i = 0; i < words; i++)
		bitmap[i] = le64toh(bitmap[i]);
	return 0;
}

/*
 * While an exit is pending the engine's registers are those before the exit's instruction
 * already (it exits before executing), so the blob needs nothing more to run it again.  The
 * one exception is the write half of an MMIO read-modify-write: the instruction has run, so
 * the blob keeps the state after it and the write exit, which the restored vCPU reports first.
 */
static int emu_hv_vcpu_save_state(struct hv_vcpu *vcpu, void **ret, size_t *ret_size)
{
	struct emu_hv_vcpu *ec = to_emu_vcpu(vcpu);
	struct emu_exit x;
	struct emu_events ev = { .mmio_exit = &x };
	struct emu_state_vcpu *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	hv_state_header_init(&s->h, HV_BACKEND_EMU, EMU_VCPU_STATE_VERSION, sizeof(*s));
	if ((r = emu_vcpu_get_regs(ec->v, &s->regs)) < 0 ||
	    (r = emu_vcpu_get_sregs(ec->v, &s->sregs)) < 0 ||
	    (r = emu_vcpu_get_fpu(ec->v, &s->fpu)) < 0)
		goto fail;
	for (unsigned i = 0; i < 6; i++)
		if ((r = emu_vcpu_get_dr(ec->v, emu_state_drs[i], &s->dr[i])) < 0)
			goto fail;
	for (unsigned i = 0; i < EMU_STATE_NMSRS; i++)
		if ((r = emu_vcpu_get_msr(ec->v, emu_state_msrs[i], &s->msrs[i])) < 0)
			goto fail;
	if (to_emu_vm(vcpu->vm)->lapic) {
		if ((r = emu_vcpu_get_lapic(ec->v, s->lapic)) < 0)
			goto fail;
		s->flags |= EMU_STATE_LAPIC;
	}
	if ((r = emu_vcpu_get_events(ec->v, &ev)) < 0)
		goto fail;
	s->activity = (uint8_t)emu_vcpu_get_activity(ec->v);
	if (emu_vcpu_interrupt_shadow(ec->v))
		s->flags |= EMU_STATE_SHADOW;
	s->flags |= (ev.nmi ? EMU_STATE_NMI : 0) | (ev.extint ? EMU_STATE_EXTINT : 0) |
		    (ev.init ? EMU_STATE_INIT : 0) | (ev.sipi ? EMU_STATE_SIPI : 0) |
		    (ev.shutdown ? EMU_STATE_SHUTDOWN : 0);
	s->extint_vector = ev.extint_vector;
	s->sipi_vector = ev.sipi_vector;
	if (ev.mmio_write) {
		s->flags |= EMU_STATE_MMIO_WRITE;
		s->mmio = (struct emu_state_mmio){
			.rip = x.rip, .rflags = x.rflags, .gpa = x.mmio.gpa, .gva = x.mmio.gva,
			.data = x.mmio.data, .size = x.mmio.size, .insn_len = x.insn_len,
		};
		memcpy(s->mmio.insn, x.insn, sizeof(s->mmio.insn));
	}
	*ret = s;
	*ret_size = sizeof(*s);
	return 0;
fail:
	free(s);
	return r;
}

/* Everything is checked before the first engine call, so a bad blob changes nothing. */
static int emu_hv_vcpu_restore_state(struct hv_vcpu *vcpu, const void *state, size_t size)
{
	struct emu_hv_vcpu *ec = to_emu_vcpu(vcpu);
	bool lapic = to_emu_vm(vcpu->vm)->lapic;
	struct emu_state_vcpu s;
	struct emu_events ev;
	struct emu_exit x;
	int r;

	memcpy(&s.h, state, sizeof(s.h));
	if (s.h.version != EMU_VCPU_STATE_VERSION)
		return -EPROTO;
	if (size != sizeof(s))
		return -EINVAL;
	/* A copy: the caller's buffer need not be aligned for the struct. */
	memcpy(&s, state, sizeof(s));
	if ((s.flags & ~(uint32_t)EMU_STATE_FLAGS) || s.reserved ||
	    s.activity > EMU_WAIT_FOR_SIPI || !!(s.flags & EMU_STATE_LAPIC) != lapic)
		return -EINVAL;
	if ((s.flags & EMU_STATE_MMIO_WRITE) && (s.mmio.size < 1 || s.mmio.size > 8 ||
						 s.mmio.insn_len > sizeof(s.mmio.insn)))
		return -EINVAL;

	memset(&x, 0, sizeof(x));
	x.kind = EMU_EXIT_MMIO;
	x.rip = s.mmio.rip;
	x.rflags = s.mmio.rflags;
	x.insn_len = s.mmio.insn_len;
	memcpy(x.insn, s.mmio.insn, sizeof(x.insn));
	x.mmio.gpa = s.mmio.gpa;
	x.mmio.gva = s.mmio.gva;
	x.mmio.size = s.mmio.size;
	x.mmio.write = true;
	x.mmio.data = s.mmio.data;
	ev = (struct emu_events){
		.nmi = s.flags & EMU_STATE_NMI,
		.extint = s.flags & EMU_STATE_EXTINT,
		.extint_vector = s.extint_vector,
		.init = s.flags & EMU_STATE_INIT,
		.sipi = s.flags & EMU_STATE_SIPI,
		.sipi_vector = s.sipi_vector,
		.shutdown = s.flags & EMU_STATE_SHUTDOWN,
		.mmio_write = s.flags & EMU_STATE_MMIO_WRITE,
		.mmio_exit = &x,
	};

	/* Whatever the target vCPU was stopped at is abandoned, not finished. */
	emu_vcpu_cancel_exit(ec->v);
	/* Segments and control registers first: the mode they set applies to RIP. */
	if ((r = emu_vcpu_set_sregs(ec->v, &s.sregs)) < 0 ||
	    (r = emu_vcpu_set_regs(ec->v, &s.regs)) < 0 ||
	    (r = emu_vcpu_set_fpu(ec->v, &s.fpu)) < 0)
		return r;
	for (unsigned i = 0; i < 6; i++)
		if ((r = emu_vcpu_set_dr(ec->v, emu_state_drs[i], s.dr[i])) < 0)
			return r;
	for (unsigned i = 0; i < EMU_STATE_NMSRS; i++)
		if ((r = emu_vcpu_set_msr(ec->v, emu_state_msrs[i], s.msrs[i])) < 0)
			return r;
	/* After sregs, whose CR8 is the TPR of this page. */
	if (lapic && (r = emu_vcpu_set_lapic(ec->v, s.lapic)) < 0)
		return r;
	if ((r = emu_vcpu_set_activity(ec->v, (enum emu_activity)s.activity)) < 0)
		return r;
	emu_vcpu_set_interrupt_shadow(ec->v, s.flags & EMU_STATE_SHADOW);
	/* Last: setting registers ends a latched shutdown, which the blob may carry. */
	return emu_vcpu_set_events(ec->v, &ev);
}

const struct hv_ops hv_emu_ops = {
	.name = "emu",
	.backend = HV_BACKEND_EMU,
	.emulated = true,
	/* The engine's LAPIC is its only interrupt controller; any of the options creates it. */
	.irq = { .pin_gsis = 0, .irqchip_option = "lapic" },
	.open = emu_hv_open,
	.free = emu_hv_free,
	.vm_new = emu_hv_vm_new,
	.vm_free = emu_hv_vm_free,
	.vm_map = emu_hv_vm_map,
	.vm_unmap = emu_hv_vm_unmap,
	.vm_ioeventfd = emu_hv_vm_ioeventfd,
	.vm_irqfd = emu_hv_vm_irqfd,
	.vm_set_msi_routing = emu_hv_vm_set_msi_routing,
	.vm_assert_interrupt = emu_hv_vm_assert_interrupt,
	.vcpu_new = emu_hv_vcpu_new,
	.vcpu_free = emu_hv_vcpu_free,
	.vcpu_get_regs = emu_hv_vcpu_get_regs,
	.vcpu_set_regs = emu_hv_vcpu_set_regs,
	.vcpu_run = emu_hv_vcpu_run,
	.vcpu_run_bounded = emu_hv_vcpu_run_bounded,
	.vcpu_complete = emu_hv_vcpu_complete,
	.vcpu_kick = emu_hv_vcpu_kick,
	.vcpu_translate_gva = emu_hv_vcpu_translate_gva,
	.vm_set_dirty_log = emu_hv_vm_set_dirty_log,
	.vm_get_dirty_log = emu_hv_vm_get_dirty_log,
	.vcpu_save_state = emu_hv_vcpu_save_state,
	.vcpu_restore_state = emu_hv_vcpu_restore_state,
};
