// SPDX-License-Identifier: MIT
/* mshv-sim test double: /dev/mshv and partition fd ioctls, on an engine VM (src/hv/emu). */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

static atomic_ullong next_partition_id = 0x5100;

static void irq_thread_stop(struct sim_partition *pt);

struct sim_partition *sim_pt_ref(struct sim_partition *pt)
{
	atomic_fetch_add(&pt->refs, 1);
	return pt;
}

void sim_pt_unref(struct sim_partition *pt)
{
	if (!pt || atomic_fetch_sub(&pt->refs, 1) != 1)
		return;
	irq_thread_stop(pt);
	for (size_t i = 0; i < MSHV_MAX_VPS; i++)
		sim_vp_free(pt->vps[i]);
	for (size_t i = 0; i < pt->nregions; i++)
		free(pt->regions[i].dirty);
	free(pt->regions);
	free(pt->ioeventfds);
	free(pt->routes);
	if (pt->vm)
		emu_vm_free(pt->vm);
	if (pt->irq_wake >= 0)
		sim_real_close(pt->irq_wake);
	pthread_mutex_destroy(&pt->lock);
	pthread_rwlock_destroy(&pt->mem_lock);
	pthread_mutex_destroy(&pt->state_lock);
	free(pt);
}

static void prop_set(struct sim_partition *pt, uint32_t code, uint64_t value)
{
	for (size_t i = 0; i < pt->nprops; i++)
		if (pt->props[i].code == code) {
			pt->props[i].value = value;
			return;
		}
	if (pt->nprops < SIM_MAX_PROPS)
		pt->props[pt->nprops++] = (struct sim_prop){ code, value };
}

static void cpuid_regs(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static void props_init(struct sim_partition *pt)
{
	uint32_t a, b, c, d;

	cpuid_regs(0, &a, &b, &c, &d);
	prop_set(pt, HV_PARTITION_PROPERTY_PRIVILEGE_FLAGS, 0);
	prop_set(pt, HV_PARTITION_PROPERTY_SYNTHETIC_PROC_FEATURES, 0);
	prop_set(pt, HV_PARTITION_PROPERTY_SUSPEND, 0);
	prop_set(pt, HV_PARTITION_PROPERTY_TIME_FREEZE, 0);
	prop_set(pt, HV_PARTITION_PROPERTY_REFERENCE_TIME, 0);
	prop_set(pt, HV_PARTITION_PROPERTY_PROCESSORS_PER_SOCKET, 1);
	prop_set(pt, HV_PARTITION_PROPERTY_GPA_PAGE_ACCESS_TRACKING, 0);
	prop_set(pt, HV_PARTITION_PROPERTY_ISOLATION_STATE, 0);
	prop_set(pt, HV_PARTITION_PROPERTY_UNIMPLEMENTED_MSR_ACTION,
		 HV_UNIMPLEMENTED_MSR_ACTION_FAULT);
	prop_set(pt, HV_PARTITION_PROPERTY_PROCESSOR_VENDOR, b == 0x68747541 ? 1 : 0);
	prop_set(pt, HV_PARTITION_PROPERTY_PROCESSOR_XSAVE_FEATURES, 0);
	cpuid_regs(0x80000008, &a, &b, &c, &d);
	prop_set(pt, HV_PARTITION_PROPERTY_PHYSICAL_ADDRESS_WIDTH, a & 0xff);
	prop_set(pt, HV_PARTITION_PROPERTY_XSAVE_STATES, 0);
	prop_set(pt, HV_PARTITION_PROPERTY_MAX_XSAVE_DATA_SIZE, 4096);
	prop_set(pt, HV_PARTITION_PROPERTY_PROCESSOR_CLOCK_FREQUENCY, 1000000000ULL);
	prop_set(pt, HV_PARTITION_PROPERTY_PROCESSOR_FEATURES0, 0);
	prop_set(pt, HV_PARTITION_PROPERTY_PROCESSOR_FEATURES1, 0);
	prop_set(pt, HV_PARTITION_PROPERTY_GUEST_OS_ID, 0);
}

/*
 * MSHV_SIM_INTERCEPTS=cpuid,msr (a test knob): every new partition starts with a global CPUID
 * intercept and/or a read+write intercept of all MSRs, as if the VMM had installed them.  For
 * VMMs (the hv layer) that have no way to ask for them but must handle the messages.
 */
static void preset_intercepts(struct sim_partition *pt)
{
	const char *s = getenv("MSHV_SIM_INTERCEPTS");

	if (!s)
		return;
	if (strstr(s, "cpuid"))
		pt->intercepts[pt->nintercepts++] = (struct sim_intercept){
			HV_INTERCEPT_TYPE_X64_GLOBAL_CPUID, HV_INTERCEPT_ACCESS_MASK_EXECUTE, 0,
		};
	if (strstr(s, "msr"))
		pt->intercepts[pt->nintercepts++] = (struct sim_intercept){
			HV_INTERCEPT_TYPE_X64_MSR,
			HV_INTERCEPT_ACCESS_MASK_READ | HV_INTERCEPT_ACCESS_MASK_WRITE, 0,
		};
}

static int create_partition(void *arg, int *ret_fd)
{
	struct mshv_create_partition_v2 v2;
	struct emu_vm_config cfg;
	struct sim_partition *pt;
	const struct sim_gen *gen = sim_gen();
	uint64_t mask = (1ULL << gen->pt_bits) - 1;
	int r;

	memset(&v2, 0, sizeof(v2));
	if (sim_copy_in(&v2, arg, sizeof(struct mshv_create_partition)) < 0)
		return -EFAULT;
	if (v2.pt_flags & ~mask)
		return sim_reject(-EINVAL);	/* a bit this generation's uapi lacks */
	if (v2.pt_isolation != MSHV_PT_ISOLATION_NONE)
		return -EINVAL;
	if (v2.pt_flags & (1ULL << MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES)) {
		/* Same request number; the kernel then reads all 64 bytes.  Features are ignored. */
		if (sim_copy_in(&v2, arg, sizeof(v2)) < 0)
			return -EFAULT;
		if (v2.pt_num_cpu_fbanks > MSHV_NUM_CPU_FEATURES_BANKS)
			return -EINVAL;
		for (size_t i = 0; i < sizeof(v2.pt_rsvd); i++)
			if (v2.pt_rsvd[i])
				return -EINVAL;
		if (v2.pt_rsvd1[0] || v2.pt_rsvd1[1])
			return -EINVAL;
	}
	pt = calloc(1, sizeof(*pt));
	if (!pt)
		return -ENOMEM;
	atomic_init(&pt->refs, 1);
	pthread_mutex_init(&pt->lock, NULL);
	pthread_rwlock_init(&pt->mem_lock, NULL);
	pthread_mutex_init(&pt->state_lock, NULL);
	pt->id = atomic_fetch_add(&next_partition_id, 1);
	pt->pt_flags = v2.pt_flags;
	pt->gen = gen;
	pt->lapic = v2.pt_flags & (1ULL << MSHV_PT_BIT_LAPIC);
	pt->irq_wake = -1;
	props_init(pt);
	preset_intercepts(pt);

	/*
	 * MSHV style throughout: hlt and level-triggered EOIs exit, APs start in wait-for-SIPI
	 * (the hypervisor's startup suspend).  Only the local APIC is modelled, like the
	 * hypervisor's: PIC, IOAPIC and PIT ports stay port-I/O intercepts.
	 */
	cfg = (struct emu_vm_config){
		.lapic = pt->lapic, .halt_exits = true, .eoi_exits = true,
		.aps_wait_for_sipi = pt->lapic,
	};
	r = emu_vm_new(&cfg, &pt->vm);
	if (r < 0)
		goto fail;
	r = pt->irq_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r < 0) {
		r = -errno;
		goto fail;
	}
	r = sim_fd_new(SIM_PT, pt, true, -1);
	if (r < 0)
		goto fail;
	*ret_fd = r;
	return 0;
fail:
	sim_pt_unref(pt);
	return r;
}

int sim_dev_ioctl(unsigned long req, void *arg, int *ret_fd)
{
	const struct sim_gen *gen = sim_gen();

	if (req == MSHV_CREATE_PARTITION)
		return create_partition(arg, ret_fd);
	if (req == MSHV_ROOT_HVCALL && sim_gen_dev_hvcall(gen))
		return sim_dev_hvcall(arg);
	if (req == MSHV_EXT_GET_HOST_PARTITION_PROPERTY && gen->ms_ioctls) {
		struct mshv_ext_partition_property p;
		uint64_t v = 0;
		uint16_t st;

		if (sim_copy_in(&p, arg, sizeof(p)) < 0)
			return -EFAULT;
		st = sim_host_property(p.property_code, &v);
		p.property_value = v;
		if (st)
			return sim_hv_status_to_errno(st);
		return sim_copy_out(arg, &p, sizeof(p));
	}
	return sim_reject(-ENOTTY);
}

/* ---- guest memory ------------------------------------------------------------------------------ */

void *sim_gpa_to_host(struct sim_partition *pt, uint64_t gpa, size_t len, bool *ret_writable)
{
	for (size_t i = 0; i < pt->nregions; i++) {
		struct sim_region *g = &pt->regions[i];
		uint64_t start = g->gfn << 12, end = start + (g->npages << 12);

		if (gpa >= start && gpa + len <= end && gpa + len >= gpa) {
			if (ret_writable)
				*ret_writable = g->flags & (1u << MSHV_SET_MEM_BIT_WRITABLE);
			return (uint8_t *)(uintptr_t)g->uaddr + (gpa - start);
		}
	}
	return NULL;
}

bool sim_gpa_mapped(struct sim_partition *pt, uint64_t gpa)
{
	return sim_gpa_to_host(pt, gpa, 1, NULL) != NULL;
}

/* Map or unmap a region in the engine: readable always, as the driver's flags say otherwise. */
static int engine_map(struct sim_partition *pt, const struct sim_region *g, bool remove)
{
	unsigned prot = EMU_PROT_READ;

	if (remove)
		return emu_vm_unmap(pt->vm, g->gfn << 12, g->npages << 12);
	if (g->flags & (1u << MSHV_SET_MEM_BIT_WRITABLE))
		prot |= EMU_PROT_WRITE;
	if (g->flags & (1u << MSHV_SET_MEM_BIT_EXECUTABLE))
		prot |= EMU_PROT_EXEC;
	return emu_vm_map(pt->vm, g->gfn << 12, (void *)(uintptr_t)g->uaddr, g->npages << 12, prot);
}

/* The kernel needs a VMA at userspace_addr (EINVAL) and pins the rest (EFAULT). */
static int check_mapped(uint64_t uaddr, uint64_t size)
{
	unsigned char vec[256];

	for (uint64_t off = 0; off < size; off += sizeof(vec) * SIM_PAGE_SIZE) {
		uint64_t n = size - off;

		if (n > sizeof(vec) * SIM_PAGE_SIZE)
			n = sizeof(vec) * SIM_PAGE_SIZE;
		if (mincore((void *)(uintptr_t)(uaddr + off), n, vec) < 0)
			return off == 0 ? -EINVAL : -EFAULT;
	}
	return 0;
}

static int set_guest_memory(struct sim_partition *pt, const struct mshv_user_mem_region *m)
{
	uint64_t npages = m->size >> 12, end = m->guest_pfn + npages;
	struct sim_region g, *n;
	int r;

	if (!m->size || (m->size & (SIM_PAGE_SIZE - 1)) || (m->userspace_addr & (SIM_PAGE_SIZE - 1)) ||
	    (m->flags & ~MSHV_SET_MEM_FLAGS_MASK))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(m->rsvd); i++)
		if (m->rsvd[i])
			return -EINVAL;

	if (m->flags & (1u << MSHV_SET_MEM_BIT_UNMAP)) {
		for (size_t i = 0; i < pt->nregions; i++) {
			struct sim_region *e = &pt->regions[i];

			if (e->gfn != m->guest_pfn || e->npages != npages || e->uaddr != m->userspace_addr)
				continue;
			pthread_rwlock_wrlock(&pt->mem_lock);
			engine_map(pt, e, true);
			free(e->dirty);
			pt->regions[i] = pt->regions[--pt->nregions];
			pthread_rwlock_unlock(&pt->mem_lock);
			return 0;
		}
		return -EINVAL;
	}

	if (end < m->guest_pfn)
		return -EINVAL;
	for (size_t i = 0; i < pt->nregions; i++) {
		struct sim_region *e = &pt->regions[i];

		if (m->guest_pfn < e->gfn + e->npages && e->gfn < end)
			return -EEXIST;
	}
	r = check_mapped(m->userspace_addr, m->size);
	if (r < 0)
		return r;

	g = (struct sim_region){
		.gfn = m->guest_pfn, .npages = npages, .uaddr = m->userspace_addr, .flags = m->flags,
	};
	g.dirty = calloc((npages + 63) / 64, 8);
	if (!g.dirty)
		return -ENOMEM;
	n = realloc(pt->regions, (pt->nregions + 1) * sizeof(*n));
	if (!n) {
		free(g.dirty);
		return -ENOMEM;
	}
	pt->regions = n;
	pthread_rwlock_wrlock(&pt->mem_lock);
	r = engine_map(pt, &g, false);
	if (r == 0)
		pt->regions[pt->nregions++] = g;
	pthread_rwlock_unlock(&pt->mem_lock);
	if (r < 0) {
		free(g.dirty);
		return r == -EEXIST ? -EEXIST : r;
	}
	return 0;
}

/* ---- dirty tracking --------------------------------------------------------------------------- */

/* Called with pt->lock held, from SET_PARTITION_PROPERTY(GPA_PAGE_ACCESS_TRACKING). */
int sim_set_dirty_tracking(struct sim_partition *pt, bool on)
{
	int r;

	if (pt->dirty_tracking == on)
		return 0;
	r = emu_vm_set_dirty_tracking(pt->vm, on);
	if (r < 0)
		return r;
	pt->dirty_tracking = on;
	pthread_rwlock_wrlock(&pt->mem_lock);
	for (size_t i = 0; i < pt->nregions; i++) {
		struct sim_region *g = &pt->regions[i];

		memset(g->dirty, 0, (g->npages + 63) / 64 * 8);
		/* Forget what the engine saw before. */
		emu_vm_get_dirty(pt->vm, g->gfn << 12, g->npages, g->dirty, true);
		memset(g->dirty, 0, (g->npages + 63) / 64 * 8);
	}
	pthread_rwlock_unlock(&pt->mem_lock);
	return 0;
}

/* Fold the engine's dirty bits (read and cleared) into the region's accumulated bitmap. */
static int collect_dirty(struct sim_partition *pt, struct sim_region *g)
{
	size_t words = (g->npages + 63) / 64;
	uint64_t *bm = calloc(words, 8);
	int r;

	if (!bm)
		return -ENOMEM;
	r = emu_vm_get_dirty(pt->vm, g->gfn << 12, g->npages, (uint8_t *)bm, true);
	if (r == 0)
		for (size_t i = 0; i < words; i++)
			((uint64_t *)g->dirty)[i] |= bm[i];
	free(bm);
	return r;
}

static int gpap_bitmap(struct sim_partition *pt, struct mshv_gpap_access_bitmap *a)
{
	uint8_t *out;
	size_t bytes;
	int r = 0;

	if (a->access_type >= MSHV_GPAP_ACCESS_TYPE_COUNT || a->access_op >= MSHV_GPAP_ACCESS_OP_COUNT ||
	    !a->page_count)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(a->rsvd); i++)
		if (a->rsvd[i])
			return -EINVAL;
	if (!a->bitmap_ptr)
		return -EFAULT;
	if (!pt->dirty_tracking)
		return -EINVAL;
	bytes = (a->page_count + 7) / 8;
	out = calloc(1, bytes);
	if (!out)
		return -ENOMEM;

	pthread_rwlock_rdlock(&pt->mem_lock);
	for (size_t i = 0; i < pt->nregions && r == 0; i++) {
		struct sim_region *g = &pt->regions[i];

		if (g->gfn >= a->gpap_base + a->page_count || g->gfn + g->npages <= a->gpap_base)
			continue;
		r = collect_dirty(pt, g);
		for (uint64_t k = 0; k < g->npages && r == 0; k++) {
			uint64_t gfn = g->gfn + k;
			uint64_t *w = (uint64_t *)g->dirty + k / 64;

			if (gfn < a->gpap_base || gfn >= a->gpap_base + a->page_count)
				continue;
			if (*w & (1ULL << (k % 64)))
				out[(gfn - a->gpap_base) / 8] |= 1u << ((gfn - a->gpap_base) % 8);
			/* The mainline driver has no NOOP branch: NOOP sets (§3.9). */
			if (a->access_op == MSHV_GPAP_ACCESS_OP_CLEAR)
				*w &= ~(1ULL << (k % 64));
			else
				*w |= 1ULL << (k % 64);
		}
	}
	pthread_rwlock_unlock(&pt->mem_lock);
	if (r == 0)
		r = sim_copy_out((void *)(uintptr_t)a->bitmap_ptr, out, bytes);
	free(out);
	return r;
}

/* ---- interrupts ----------------------------------------------------------------------------------- */

static const struct mshv_user_irq_entry *route_of(struct sim_partition *pt, uint32_t gsi)
{
	for (size_t i = 0; i < pt->nroutes; i++)
		if (pt->routes[i].gsi == gsi)
			return &pt->routes[i];
	return NULL;
}

/* Inject the MSI of gsi's route, if any (an event on an unrouted GSI is dropped, as in KVM). */
static void inject_gsi(struct sim_partition *pt, uint32_t gsi)
{
	const struct mshv_user_irq_entry *e;
	uint64_t addr = 0;
	uint32_t data = 0;
	bool found = false;

	pthread_mutex_lock(&pt->state_lock);
	e = route_of(pt, gsi);
	if (e) {
		addr = (uint64_t)e->address_hi << 32 | e->address_lo;
		data = e->data;
		found = true;
	}
	pthread_mutex_unlock(&pt->state_lock);
	if (found)
		emu_vm_msi(pt->vm, addr, data);
}

/*
 * The irqfd thread (LAPIC partitions): polls the bound eventfds plus irq_wake, consumes each
 * event and injects its GSI's MSI through the engine.  The list is re-read on every wake.
 */
static void *irq_main(void *arg)
{
	struct sim_partition *pt = arg;
	struct pollfd fds[SIM_MAX_IRQFDS + 1];
	uint32_t gsis[SIM_MAX_IRQFDS + 1];

	while (!atomic_load(&pt->irq_stop)) {
		size_t n = 1;
		uint64_t v;

		fds[0] = (struct pollfd){ .fd = pt->irq_wake, .events = POLLIN };
		pthread_mutex_lock(&pt->state_lock);
		for (size_t i = 0; i < pt->nirqfds; i++, n++) {
			fds[n] = (struct pollfd){ .fd = pt->irqfds[i].fd, .events = POLLIN };
			gsis[n] = pt->irqfds[i].gsi;
		}
		pthread_mutex_unlock(&pt->state_lock);
		if (poll(fds, n, -1) < 0)
			continue;
		if (fds[0].revents & POLLIN)
			(void)!read(pt->irq_wake, &v, sizeof(v));
		for (size_t i = 1; i < n; i++) {
			if (!(fds[i].revents & POLLIN))
				continue;
			/* The eventfd may be blocking: poll said it is readable, so this returns. */
			if (read(fds[i].fd, &v, sizeof(v)) == sizeof(v))
				inject_gsi(pt, gsis[i]);
		}
	}
	return NULL;
}

static void irq_wake(struct sim_partition *pt)
{
	uint64_t one = 1;

	(void)!write(pt->irq_wake, &one, sizeof(one));
}

static int irq_thread_start(struct sim_partition *pt)
{
	sigset_t all, old;
	int r;

	if (pt->irq_thread_started)
		return 0;
	/* The thread must not take the application's signals. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&pt->irq_thread, NULL, irq_main, pt);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0)
		pt->irq_thread_started = true;
	return r;
}

static void irq_thread_stop(struct sim_partition *pt)
{
	if (!pt->irq_thread_started)
		return;
	atomic_store(&pt->irq_stop, true);
	irq_wake(pt);
	pthread_join(pt->irq_thread, NULL);
	pt->irq_thread_started = false;
}

static int irqfd(struct sim_partition *pt, const struct mshv_user_irqfd *a)
{
	int r;

	if (a->flags & ~MSHV_IRQFD_FLAGS_MASK)
		return -EINVAL;
	if (a->gsi >= MSHV_MAX_GUEST_IRQS)
		return -EINVAL;

	if (a->flags & (1u << MSHV_IRQFD_BIT_DEASSIGN)) {
		pthread_mutex_lock(&pt->state_lock);
		for (size_t i = 0; i < pt->nirqfds; i++) {
			if (pt->irqfds[i].fd != a->fd || pt->irqfds[i].gsi != a->gsi)
				continue;
			pt->irqfds[i] = pt->irqfds[--pt->nirqfds];
			break;
		}
		pthread_mutex_unlock(&pt->state_lock);
		if (pt->irq_thread_started)
			irq_wake(pt);
		return 0;
	}

	if (fcntl(a->fd, F_GETFD) < 0)
		return -EBADF;
	for (size_t i = 0; i < pt->nirqfds; i++)
		if (pt->irqfds[i].fd == a->fd)
			return -EBUSY;
	if (pt->nirqfds == SIM_MAX_IRQFDS)
		return -ENOMEM;
	if (a->flags & (1u << MSHV_IRQFD_BIT_RESAMPLE)) {
		const struct mshv_user_irq_entry *e = route_of(pt, a->gsi);

		if (fcntl(a->resamplefd, F_GETFD) < 0)
			return -EBADF;
		if (!e || !(e->data & (1u << 15)))
			return -EINVAL;
		/* MSHV (as far as the mainline sources show) never signals resamplefd. */
	}
	if (pt->lapic) {
		r = irq_thread_start(pt);
		if (r < 0)
			return r;
	}
	pthread_mutex_lock(&pt->state_lock);
	pt->irqfds[pt->nirqfds++] = (struct sim_irqfd){ a->fd, a->gsi, a->resamplefd };
	pthread_mutex_unlock(&pt->state_lock);
	if (pt->irq_thread_started)
		irq_wake(pt);
	return 0;
}

static int ioeventfd(struct sim_partition *pt, const struct mshv_user_ioeventfd *a)
{
	bool wild = !(a->flags & (1u << MSHV_IOEVENTFD_BIT_DATAMATCH));

	if (a->flags & ~MSHV_IOEVENTFD_FLAGS_MASK)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(a->rsvd); i++)
		if (a->rsvd[i])
			return -EINVAL;
	if (a->flags & (1u << MSHV_IOEVENTFD_BIT_PIO))
		return -EOPNOTSUPP;
	if (a->len != 0 && a->len != 1 && a->len != 2 && a->len != 4 && a->len != 8)
		return -EINVAL;
	if (a->len == 0 && !wild)
		return -EINVAL;

	if (a->flags & (1u << MSHV_IOEVENTFD_BIT_DEASSIGN)) {
		for (size_t i = 0; i < pt->nioeventfds; i++) {
			const struct mshv_user_ioeventfd *e = &pt->ioeventfds[i].a;
			bool ewild = !(e->flags & (1u << MSHV_IOEVENTFD_BIT_DATAMATCH));

			if (e->fd != a->fd || e->addr != a->addr || e->len != a->len || ewild != wild ||
			    (!wild && e->datamatch != a->datamatch))
				continue;
			pthread_rwlock_wrlock(&pt->mem_lock);
			pt->ioeventfds[i] = pt->ioeventfds[--pt->nioeventfds];
			pthread_rwlock_unlock(&pt->mem_lock);
			return 0;
		}
		return -ENOENT;
	}
	/* Collision rule of the kernel: a wildcard or a zero length overlaps everything. */
	for (size_t i = 0; i < pt->nioeventfds; i++) {
		const struct mshv_user_ioeventfd *e = &pt->ioeventfds[i].a;
		bool ewild = !(e->flags & (1u << MSHV_IOEVENTFD_BIT_DATAMATCH));

		if (e->addr == a->addr && (!e->len || !a->len ||
		    (e->len == a->len && (ewild || wild || e->datamatch == a->datamatch))))
			return -EEXIST;
	}

	if (fcntl(a->fd, F_GETFD) < 0)
		return -EBADF;
	{
		struct sim_ioeventfd *n;

		/* The run loops read the list under mem_lock (sim_ioeventfd_match()). */
		pthread_rwlock_wrlock(&pt->mem_lock);
		n = realloc(pt->ioeventfds, (pt->nioeventfds + 1) * sizeof(*n));
		if (n) {
			pt->ioeventfds = n;
			pt->ioeventfds[pt->nioeventfds++].a = *a;
		}
		pthread_rwlock_unlock(&pt->mem_lock);
		if (!n)
			return -ENOMEM;
	}
	return 0;
}

static int msi_routing(struct sim_partition *pt, const struct mshv_user_irq_table *t)
{
	struct mshv_user_irq_entry *copy = NULL;
	uint32_t nr = t->nr;

	if (nr > MSHV_MAX_GUEST_IRQS)
		return -EINVAL;
	for (uint32_t i = 0; i < nr; i++) {
		const struct mshv_user_irq_entry *e = &t->entries[i];

		if (e->gsi >= MSHV_MAX_GUEST_IRQS || e->address_hi)
			return -EINVAL;
		for (uint32_t j = 0; j < i; j++)
			if (t->entries[j].gsi == e->gsi)
				return -EINVAL;
	}
	if (nr) {
		copy = malloc(nr * sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, t->entries, nr * sizeof(*copy));
	}
	pthread_mutex_lock(&pt->state_lock);	/* the irqfd thread reads the routes */
	free(pt->routes);
	pt->routes = copy;
	pt->nroutes = nr;
	pthread_mutex_unlock(&pt->state_lock);
	return 0;
}

/* ---- dispatch ---------------------------------------------------------------------------------- */

int sim_pt_ioctl(struct sim_partition *pt, unsigned long req, void *arg, int *ret_fd)
{
	int r;

	pthread_mutex_lock(&pt->lock);
	switch (req) {
	case MSHV_INITIALIZE_PARTITION:
		pt->initialized = true;
		r = 0;
		break;
	case MSHV_CREATE_VP: {
		struct mshv_create_vp a;
		struct sim_vp *vp;

		if (sim_copy_in(&a, arg, sizeof(a)) < 0) {
			r = -EFAULT;
			break;
		}
		if (a.vp_index >= MSHV_MAX_VPS) {
			r = -EINVAL;
		} else if (pt->vps[a.vp_index]) {
			r = -EEXIST;
		} else if (!pt->initialized) {
			r = -EIO;	/* HV_STATUS_INVALID_PARTITION_STATE from HvCallCreateVp */
		} else {
			r = sim_vp_new(pt, a.vp_index, &vp);
			if (r >= 0) {
				__atomic_store_n(&pt->vps[a.vp_index], vp, __ATOMIC_RELEASE);
				*ret_fd = r;
				r = 0;
			}
		}
		break;
	}
	case MSHV_SET_GUEST_MEMORY: {
		struct mshv_user_mem_region a;

		r = sim_copy_in(&a, arg, sizeof(a));
		if (r == 0)
			r = set_guest_memory(pt, &a);
		break;
	}
	case MSHV_IRQFD: {
		struct mshv_user_irqfd a;

		r = sim_copy_in(&a, arg, sizeof(a));
		if (r == 0)
			r = irqfd(pt, &a);
		break;
	}
	case MSHV_IOEVENTFD: {
		struct mshv_user_ioeventfd a;

		r = sim_copy_in(&a, arg, sizeof(a));
		if (r == 0)
			r = ioeventfd(pt, &a);
		break;
	}
	case MSHV_SET_MSI_ROUTING: {
		struct mshv_user_irq_table h, *t;

		r = sim_copy_in(&h, arg, sizeof(h));
		if (r < 0)
			break;
		if (h.nr > MSHV_MAX_GUEST_IRQS) {
			r = -EINVAL;
			break;
		}
		t = malloc(sizeof(h) + h.nr * sizeof(t->entries[0]));
		if (!t) {
			r = -ENOMEM;
			break;
		}
		r = sim_copy_in(t, arg, sizeof(h) + h.nr * sizeof(t->entries[0]));
		if (r == 0) {
			t->nr = h.nr;
			r = msi_routing(pt, t);
		}
		free(t);
		break;
	}
	case MSHV_GET_GPAP_ACCESS_BITMAP: {
		struct mshv_gpap_access_bitmap a;

		r = sim_copy_in(&a, arg, sizeof(a));
		if (r == 0)
			r = gpap_bitmap(pt, &a);
		break;
	}
	case MSHV_ROOT_HVCALL:
		r = sim_root_hvcall(pt, NULL, arg);
		break;
	default:
		r = sim_reject(-ENOTTY);
		break;
	}
	pthread_mutex_unlock(&pt->lock);
	return r;
}

struct sim_vp *sim_vp_lookup(struct sim_partition *pt, uint32_t index)
{
	return index < MSHV_MAX_VPS ? __atomic_load_n(&pt->vps[index], __ATOMIC_ACQUIRE) : NULL;
}

void sim_cpuid(struct sim_vp *vp, uint32_t leaf, uint32_t subleaf, bool apply, uint32_t out[4])
{
	struct sim_partition *pt = vp->pt;

	emu_vcpu_cpuid(vp->ev, leaf, subleaf, out);
	/* No x2APIC unless the partition asked for it; no APIC at all without LAPIC. */
	if (leaf == 1 && !(pt->pt_flags & (1ULL << MSHV_PT_BIT_X2APIC)))
		out[2] &= ~(1u << 21);
	if (leaf == 1 && !pt->lapic)
		out[3] &= ~(1u << 9);
	if (!apply)
		return;
	pthread_mutex_lock(&pt->state_lock);
	for (size_t k = 0; k < pt->ncpuid_overrides; k++) {
		const struct sim_cpuid_override *o = &pt->cpuid_overrides[k];
		const uint32_t val[4] = { o->p.result.eax, o->p.result.ebx, o->p.result.ecx, o->p.result.edx };
		const uint32_t mask[4] = { o->p.result.eax_mask, o->p.result.ebx_mask,
					   o->p.result.ecx_mask, o->p.result.edx_mask };

		if (o->vp != vp->index || o->p.input.eax != leaf ||
		    (o->p.input.subleaf_specific && o->p.input.ecx != subleaf))
			continue;
		for (int i = 0; i < 4; i++)
			out[i] = (out[i] & ~mask[i]) | (val[i] & mask[i]);
	}
	pthread_mutex_unlock(&pt->state_lock);
}

uint32_t sim_intercepted(struct sim_partition *pt, uint32_t type, uint64_t param)
{
	/* The parameter is a union: compare only the member the type uses. */
	uint64_t mask = type == HV_INTERCEPT_TYPE_EXCEPTION ? 0xffff : 0xffffffff;
	uint32_t access = 0;

	pthread_mutex_lock(&pt->state_lock);
	for (size_t i = 0; i < pt->nintercepts; i++) {
		const struct sim_intercept *in = &pt->intercepts[i];

		if (in->type == type && (param == UINT64_MAX || ((in->param ^ param) & mask) == 0))
			access |= in->access;
	}
	pthread_mutex_unlock(&pt->state_lock);
	return access;
}
