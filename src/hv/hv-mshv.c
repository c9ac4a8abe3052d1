// SPDX-License-Identifier: MIT
/* The mshv backend of the hypervisor layer: /dev/mshv through libmshv, exits normalized. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv/hv-mshv.h"

/*
 * How MSHV's intercepts map onto the normalized exits (fact sheet §4, §8):
 *  - MSHV never advances RIP: every intercept reports the instruction's own address, and the
 *    completion writes the result and RIP + length.  Register writes go through the VP
 *    register page (dirty bits) when it is valid, else one HVCALL_SET_VP_REGISTERS, and are
 *    deferred until the next run or register access.
 *  - Port I/O without a string: the message has port, size and RAX; an 8/16-bit IN merges
 *    into RAX (upper bits kept), a 32-bit IN zero-extends, as the processor (and KVM) does.
 *  - String port I/O and MMIO (UNMAPPED_GPA, GPA_INTERCEPT) are emulated by src/hv/x86: one
 *    exit per device access, replayed deterministically on completion; the next access of
 *    the same instruction (RMW write, next REP element) is returned without entering the guest.
 *  - HALT: the message's RIP as reported (past the hlt on the sim, which reports KVM's; on a
 *    real hypervisor UNCONFIRMED, fact sheet §10).
 */

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

/* Kick retry period (see struct mshv_hv_vcpu). */
#define KICK_RETRY_NS	(2 * 1000 * 1000)

static const uint32_t reg_names[HV_REG_COUNT] = {
	[HV_REG_RAX] = HV_X64_REGISTER_RAX, [HV_REG_RCX] = HV_X64_REGISTER_RCX,
	[HV_REG_RDX] = HV_X64_REGISTER_RDX, [HV_REG_RBX] = HV_X64_REGISTER_RBX,
	[HV_REG_RSP] = HV_X64_REGISTER_RSP, [HV_REG_RBP] = HV_X64_REGISTER_RBP,
	[HV_REG_RSI] = HV_X64_REGISTER_RSI, [HV_REG_RDI] = HV_X64_REGISTER_RDI,
	[HV_REG_R8] = HV_X64_REGISTER_R8, [HV_REG_R9] = HV_X64_REGISTER_R9,
	[HV_REG_R10] = HV_X64_REGISTER_R10, [HV_REG_R11] = HV_X64_REGISTER_R11,
	[HV_REG_R12] = HV_X64_REGISTER_R12, [HV_REG_R13] = HV_X64_REGISTER_R13,
	[HV_REG_R14] = HV_X64_REGISTER_R14, [HV_REG_R15] = HV_X64_REGISTER_R15,
	[HV_REG_RIP] = HV_X64_REGISTER_RIP, [HV_REG_RFLAGS] = HV_X64_REGISTER_RFLAGS,
	[HV_REG_ES] = HV_X64_REGISTER_ES, [HV_REG_CS] = HV_X64_REGISTER_CS,
	[HV_REG_SS] = HV_X64_REGISTER_SS, [HV_REG_DS] = HV_X64_REGISTER_DS,
	[HV_REG_FS] = HV_X64_REGISTER_FS, [HV_REG_GS] = HV_X64_REGISTER_GS,
	[HV_REG_LDTR] = HV_X64_REGISTER_LDTR, [HV_REG_TR] = HV_X64_REGISTER_TR,
	[HV_REG_GDTR] = HV_X64_REGISTER_GDTR, [HV_REG_IDTR] = HV_X64_REGISTER_IDTR,
	[HV_REG_CR0] = HV_X64_REGISTER_CR0, [HV_REG_CR2] = HV_X64_REGISTER_CR2,
	[HV_REG_CR3] = HV_X64_REGISTER_CR3, [HV_REG_CR4] = HV_X64_REGISTER_CR4,
	[HV_REG_CR8] = HV_X64_REGISTER_CR8,
	[HV_REG_EFER] = HV_X64_REGISTER_EFER, [HV_REG_APIC_BASE] = HV_X64_REGISTER_APIC_BASE,
	[HV_REG_DR0] = HV_X64_REGISTER_DR0, [HV_REG_DR1] = HV_X64_REGISTER_DR1,
	[HV_REG_DR2] = HV_X64_REGISTER_DR2, [HV_REG_DR3] = HV_X64_REGISTER_DR3,
	[HV_REG_DR6] = HV_X64_REGISTER_DR6, [HV_REG_DR7] = HV_X64_REGISTER_DR7,
	[HV_REG_TSC] = HV_X64_REGISTER_TSC, [HV_REG_PAT] = HV_X64_REGISTER_PAT,
	[HV_REG_KERNEL_GS_BASE] = HV_X64_REGISTER_KERNEL_GS_BASE,
	[HV_REG_SYSENTER_CS] = HV_X64_REGISTER_SYSENTER_CS,
	[HV_REG_SYSENTER_ESP] = HV_X64_REGISTER_SYSENTER_ESP,
	[HV_REG_SYSENTER_EIP] = HV_X64_REGISTER_SYSENTER_EIP,
	[HV_REG_STAR] = HV_X64_REGISTER_STAR, [HV_REG_LSTAR] = HV_X64_REGISTER_LSTAR,
	[HV_REG_CSTAR] = HV_X64_REGISTER_CSTAR, [HV_REG_SFMASK] = HV_X64_REGISTER_SFMASK,
};

const uint32_t mshv_hv_wb_names[MSHV_WB_COUNT] = {
	HV_X64_REGISTER_RAX, HV_X64_REGISTER_RCX, HV_X64_REGISTER_RDX, HV_X64_REGISTER_RBX,
	HV_X64_REGISTER_RSP, HV_X64_REGISTER_RBP, HV_X64_REGISTER_RSI, HV_X64_REGISTER_RDI,
	HV_X64_REGISTER_R8, HV_X64_REGISTER_R9, HV_X64_REGISTER_R10, HV_X64_REGISTER_R11,
	HV_X64_REGISTER_R12, HV_X64_REGISTER_R13, HV_X64_REGISTER_R14, HV_X64_REGISTER_R15,
	HV_X64_REGISTER_RIP, HV_X64_REGISTER_RFLAGS,
};

#define PAGE_CLASSES	((1u << HV_X64_REGISTER_CLASS_GENERAL) | \
			 (1u << HV_X64_REGISTER_CLASS_IP) | (1u << HV_X64_REGISTER_CLASS_FLAGS))

/* The enum hv_reg values HV_REG_RAX..HV_REG_R15 follow the encoding order: slot = reg. */
static int wb_slot(enum hv_reg reg)
{
	if (reg <= HV_REG_R15)
		return (int)reg;
	if (reg == HV_REG_RIP)
		return MSHV_WB_RIP;
	if (reg == HV_REG_RFLAGS)
		return MSHV_WB_RFLAGS;
	return -1;
}

static uint32_t slot_class(unsigned slot)
{
	return slot < 16 ? 1u << HV_X64_REGISTER_CLASS_GENERAL :
	       slot == MSHV_WB_RIP ? 1u << HV_X64_REGISTER_CLASS_IP :
				     1u << HV_X64_REGISTER_CLASS_FLAGS;
}

static uint64_t page_get(const struct hv_vp_register_page *p, unsigned slot)
{
	return slot < 16 ? p->gp_registers[slot] : slot == MSHV_WB_RIP ? p->rip : p->rflags;
}

static void page_set(struct hv_vp_register_page *p, unsigned slot, uint64_t v)
{
	if (slot < 16)
		p->gp_registers[slot] = v;
	else if (slot == MSHV_WB_RIP)
		p->rip = v;
	else
		p->rflags = v;
	p->dirty |= slot_class(slot);
}

static bool page_valid(const struct mshv_hv_vcpu *mc)
{
	return mc->page && mc->page->isvalid;
}

/* ---- device ---------------------------------------------------------------------------- */

static void mshv_hv_free(struct hv *hv)
{
	struct mshv_hv *m = to_mshv(hv);

	mshv_free(m->dev);
	free(m);
}

/*
 * Dirty logging needs the GPA_PAGE_ACCESS_TRACKING property and MSHV_GET_GPAP_ACCESS_BITMAP
 * (every mainline and Microsoft generation; not the out-of-tree driver's numbering): switch
 * tracking on, read and mark one mapped page, switch it off again.
 */
static bool probe_dirty_log(struct mshv_vm *vm)
{
	struct mshv_user_mem_region region = {
		.size = HV_HYP_PAGE_SIZE,
		.flags = 1u << MSHV_SET_MEM_BIT_WRITABLE,
	};
	uint8_t bits;
	bool ok = false;
	void *page;

	page = mmap(NULL, HV_HYP_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (page == MAP_FAILED)
		return false;
	region.userspace_addr = (uintptr_t)page;
	if (mshv_vm_map_user_memory(vm, &region) == 0) {
		if (mshv_vm_enable_dirty_page_tracking(vm) == 0) {
			ok = mshv_vm_get_dirty_log(vm, 0, 1, &bits) == 0 &&
			     mshv_vm_set_dirty_bits(vm, 0, 1) == 0;
			ok = mshv_vm_disable_dirty_page_tracking(vm) == 0 && ok;
		}
		mshv_vm_unmap_user_memory(vm, &region);
	}
	munmap(page, HV_HYP_PAGE_SIZE);
	return ok;
}

/*
 * What only a live partition tells: whether TIME_FREEZE is accepted (pause) and whether the VP
 * register page can be mapped.  One scratch partition with one VP, destroyed at once.
 */
static void probe_scratch(struct mshv_hv *m)
{
	struct mshv_vm_args args;
	struct mshv_vcpu *vp = NULL;
	struct mshv_vm *vm = NULL;

	mshv_vm_args_init(&args, MSHV_VM_TYPE_NORMAL);
	args.pt_flags = 0;
	if (mshv_create_vm_with_args(m->dev, &args, &vm) < 0)
		return;
	if (mshv_vm_set_partition_property(vm, HV_PARTITION_PROPERTY_TIME_FREEZE, 1) == 0 &&
	    mshv_vm_set_partition_property(vm, HV_PARTITION_PROPERTY_TIME_FREEZE, 0) == 0)
		m->base.caps |= HV_CAP_PAUSE;
	if (mshv_vm_create_vcpu(vm, 0, &vp) == 0 && mshv_vcpu_reg_page(vp))
		m->base.caps |= HV_CAP_REG_PAGE;
	if (probe_dirty_log(vm))
		m->base.caps |= HV_CAP_DIRTY_LOG;
	mshv_vcpu_free(vp);
	mshv_vm_free(vm);
}

/* The generation and features mshv_probe() found, as names for hv_driver_info(). */
static void driver_fill(struct mshv_hv *m)
{
	struct hv_driver_info *d = &m->driver;
	unsigned n = 0;

	d->generation = mshv_generation_name(m->caps.generation);
	for (unsigned f = 0; f < MSHV_FEATURE_COUNT && n < HV_DRIVER_MAX_FEATURES; f++)
		if (mshv_caps_has_feature(&m->caps, f))
			d->features[n++] = mshv_feature_name(f);
	d->features[n] = NULL;
	d->vmm_caps_known = mshv_caps_has_feature(&m->caps, MSHV_FEATURE_VMM_CAPS);
	d->vmm_caps = m->caps.vmm_caps;
}

static const struct hv_driver_info *mshv_hv_driver_info(const struct hv *hv)
{
	return &to_mshv((struct hv *)hv)->driver;
}

static int mshv_hv_open(const char *path, struct hv **ret)
{
	struct mshv_hv *m;
	uint64_t lapic = MSHV_BITS(MSHV_PT_BIT_LAPIC);
	int r;

	r = hv_kick_signal_setup();
	if (r < 0)
		return r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	r = path ? mshv_open_path(path, &m->dev) : mshv_open(&m->dev);
	if (r < 0)
		goto fail;
	r = mshv_probe(m->dev, &m->caps);
	if (r < 0) {
		m->base.last_status = mshv_last_hv_status();
		goto fail;
	}

	/* Guest memory is always readable; write and execute permissions are enforced. */
	m->base.caps = HV_CAP_IOEVENTFD_MMIO | HV_CAP_READONLY_MEM | HV_CAP_NOEXEC_MEM;
	if (m->caps.pt_flags & lapic)
		m->base.caps |= HV_CAP_LAPIC | HV_CAP_IRQCHIP | HV_CAP_IRQFD | HV_CAP_MSI_ROUTING;
	/* No HV_CAP_IRQFD_RESAMPLE: mainline takes MSHV_IRQFD_BIT_RESAMPLE only for GSIs already
	 * routed level-triggered, and nothing in it signals the resample fd (fact sheet §3.6). */
	if (m->caps.pt_flags & MSHV_BITS(MSHV_PT_BIT_X2APIC))
		m->base.caps |= HV_CAP_X2APIC;
	if (m->caps.pt_flags & MSHV_BITS(MSHV_PT_BIT_GPA_SUPER_PAGES))
		m->base.caps |= HV_CAP_GPA_SUPER_PAGES;
	/* The partition bits later generations added (§11.4): 3 in 6.19, 4 and 5 in 7.0. */
	if (m->caps.pt_flags & MSHV_BITS(MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES))
		m->base.caps |= HV_CAP_CPU_FEATURES;
	if (m->caps.pt_flags & MSHV_BITS(MSHV_PT_BIT_NESTED_VIRTUALIZATION))
		m->base.caps |= HV_CAP_NESTED_VIRT;
	if (m->caps.pt_flags & MSHV_BITS(MSHV_PT_BIT_SMT_ENABLED_GUEST))
		m->base.caps |= HV_CAP_SMT_GUEST;
	driver_fill(m);
	if (mshv_caps_has_hvcall(&m->caps, HVCALL_ASSERT_VIRTUAL_INTERRUPT) ||
	    mshv_caps_has(&m->caps, MSHV_CAP_EXT_ASSERT_INTERRUPT))
		m->base.caps |= HV_CAP_ASSERT_INTERRUPT;
	if (mshv_caps_has_hvcall(&m->caps, HVCALL_TRANSLATE_VIRTUAL_ADDRESS))
		m->base.caps |= HV_CAP_TRANSLATE_GVA;
	probe_scratch(m);
	*ret = &m->base;
	return 0;
fail:
	mshv_hv_free(&m->base);
	return r;
}

/* ---- partitions ------------------------------------------------------------------------- */

static void emu_dirty_free(struct mshv_hv_vm *mv, unsigned slot)
{
	free((void *)atomic_exchange(&mv->emu_dirty[slot], NULL));
}

static void mshv_hv_vm_free(struct hv_vm *vm)
{
	struct mshv_hv_vm *mv = to_mshv_vm(vm);

	mshv_vm_free(mv->vm);
	for (unsigned i = 0; i < HV_MAX_MAPPINGS; i++)
		emu_dirty_free(mv, i);
	free(mv);
}

static int mshv_hv_vm_new(struct hv *hv, const struct hv_vm_options *opts, struct hv_vm **ret)
{
	struct mshv_hv *m = to_mshv(hv);
	struct mshv_vm_args args;
	struct mshv_hv_vm *mv;
	int r;

	mv = calloc(1, sizeof(*mv));
	if (!mv)
		return -ENOMEM;
	mshv_vm_args_init(&args, MSHV_VM_TYPE_NORMAL);
	/* The in-kernel irqchip of MSHV is the hypervisor's virtual LAPIC. */
	mv->lapic = opts->lapic || opts->irqchip || opts->x2apic;
	args.pt_flags = 0;
	if (mv->lapic)
		args.pt_flags |= MSHV_BITS(MSHV_PT_BIT_LAPIC);
	if (opts->x2apic)
		args.pt_flags |= MSHV_BITS(MSHV_PT_BIT_X2APIC);
	if (opts->gpa_super_pages)
		args.pt_flags |= MSHV_BITS(MSHV_PT_BIT_GPA_SUPER_PAGES);
	if (opts->nested_virtualization)
		args.pt_flags |= MSHV_BITS(MSHV_PT_BIT_NESTED_VIRTUALIZATION);
	if (opts->smt_guest)
		args.pt_flags |= MSHV_BITS(MSHV_PT_BIT_SMT_ENABLED_GUEST);
	if (opts->cpu_features) {
		args.pt_flags |= MSHV_BITS(MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES);
		for (unsigned i = 0; i < MSHV_NUM_CPU_FEATURES_BANKS; i++)
			args.disabled_cpu_features[i] = opts->disabled_cpu_features[i];
		args.disabled_xsave_features = opts->disabled_xsave_features;
	}
	r = mshv_create_vm_with_args(m->dev, &args, &mv->vm);
	if (r < 0) {
		hv->last_status = mshv_last_hv_status();
		mshv_hv_vm_free(&mv->base);
		return r;
	}
	*ret = &mv->base;
	return 0;
}

static void region_of(const struct hv_mapping *m, struct mshv_user_mem_region *region)
{
	memset(region, 0, sizeof(*region));
	region->size = m->size;
	region->guest_pfn = m->gpa >> HV_HYP_PAGE_SHIFT;
	region->userspace_addr = (uintptr_t)m->host;
	if (m->flags & HV_MAP_WRITE)
		region->flags |= 1u << MSHV_SET_MEM_BIT_WRITABLE;
	if (m->flags & HV_MAP_EXEC)
		region->flags |= 1u << MSHV_SET_MEM_BIT_EXECUTABLE;
}

/* The emulator-write bitmap of mapping m, allocated if missing (see struct mshv_hv_vm). */
static int emu_dirty_alloc(struct mshv_hv_vm *mv, const struct hv_mapping *m)
{
	uint64_t words = (m->size / HV_HYP_PAGE_SIZE + 63) / 64;
	_Atomic uint64_t *bits;

	if (atomic_load(&mv->emu_dirty[m->slot]))
		return 0;
	bits = calloc(words, sizeof(*bits));
	if (!bits)
		return -ENOMEM;
	atomic_store(&mv->emu_dirty[m->slot], bits);
	return 0;
}

static int mshv_hv_vm_map(struct hv_vm *vm, const struct hv_mapping *m)
{
	struct mshv_hv_vm *mv = to_mshv_vm(vm);
	struct mshv_user_mem_region region;
	int r;

	/* A mapping added while logging is on is logged too: its bitmap exists before the guest
	 * can reach it. */
	if (atomic_load(&mv->dirty_log)) {
		r = emu_dirty_alloc(mv, m);
		if (r < 0)
			return r;
	}
	region_of(m, &region);
	r = mshv_vm_map_user_memory(mv->vm, &region);
	if (r < 0) {
		vm->last_status = mshv_last_hv_status();
		emu_dirty_free(mv, m->slot);
	}
	return r;
}

static int mshv_hv_vm_unmap(struct hv_vm *vm, const struct hv_mapping *m)
{
	struct mshv_hv_vm *mv = to_mshv_vm(vm);
	struct mshv_user_mem_region region;
	int r;

	region_of(m, &region);
	r = mshv_vm_unmap_user_memory(mv->vm, &region);
	if (r < 0)
		vm->last_status = mshv_last_hv_status();
	else
		emu_dirty_free(mv, m->slot);
	return r;
}

void mshv_hv_mark_dirty(struct mshv_hv_vcpu *mc, const struct hv_mapping *m, uint64_t gpa,
			size_t len)
{
	struct mshv_hv_vm *mv = to_mshv_vm(mc->base.vm);
	_Atomic uint64_t *bits;
	uint64_t first, last;

	if (!len || !atomic_load(&mv->dirty_log))
		return;
	bits = atomic_load(&mv->emu_dirty[m->slot]);
	if (!bits)
		return;
	first = (gpa - m->gpa) / HV_HYP_PAGE_SIZE;
	last = (gpa + len - 1 - m->gpa) / HV_HYP_PAGE_SIZE;
	for (uint64_t p = first; p <= last; p++)
		atomic_fetch_or(&bits[p / 64], 1ull << (p % 64));
}

static int set_time_freeze(struct hv_vm *vm, uint64_t value)
{
	int r = mshv_vm_set_partition_property(to_mshv_vm(vm)->vm,
					       HV_PARTITION_PROPERTY_TIME_FREEZE, value);

	if (r < 0)
		vm->last_status = mshv_last_hv_status();
	return r;
}

static int mshv_hv_vm_pause(struct hv_vm *vm)
{
	return set_time_freeze(vm, 1);
}

static int mshv_hv_vm_resume(struct hv_vm *vm)
{
	return set_time_freeze(vm, 0);
}

static int mshv_hv_vm_ioeventfd(struct hv_vm *vm, bool add, int fd, uint64_t addr, unsigned len,
				unsigned flags, uint64_t datamatch)
{
	struct mshv_user_ioeventfd io;
	int r;

	if (flags & HV_IOEVENTFD_PIO)
		return -EOPNOTSUPP;
	/* The raw ioctl: libmshv's datamatch cannot say "len 4, any value". */
	memset(&io, 0, sizeof(io));
	io.addr = addr;
	io.len = len;
	io.fd = fd;
	if (flags & HV_IOEVENTFD_DATAMATCH) {
		io.datamatch = datamatch;
		io.flags |= 1u << MSHV_IOEVENTFD_BIT_DATAMATCH;
	}
	if (!add)
		io.flags |= 1u << MSHV_IOEVENTFD_BIT_DEASSIGN;
	r = ioctl(mshv_vm_fd(to_mshv_vm(vm)->vm), MSHV_IOEVENTFD, &io);
	return r < 0 ? -errno : 0;
}

static int mshv_hv_vm_irqfd(struct hv_vm *vm, bool add, int fd, int resample_fd, uint32_t gsi)
{
	struct mshv_hv_vm *mv = to_mshv_vm(vm);

	if (!mv->lapic || resample_fd >= 0)
		return -EOPNOTSUPP;
	return add ? mshv_vm_register_irqfd(mv->vm, fd, gsi) :
		     mshv_vm_unregister_irqfd(mv->vm, fd, gsi);
}

/* GSIs below this are the interrupt controller pins on every backend (as kvm's irqchip). */
#define IRQCHIP_GSIS 24

static int mshv_hv_vm_set_msi_routing(struct hv_vm *vm, const struct hv_msi_route *routes,
				      unsigned n)
{
	struct mshv_hv_vm *mv = to_mshv_vm(vm);
	struct mshv_user_irq_entry *e = NULL;
	int r;

	if (!mv->lapic)
		return -EOPNOTSUPP;
	for (unsigned i = 0; i < n; i++)
		if (routes[i].gsi < IRQCHIP_GSIS)
			return -EINVAL;
	if (n) {
		e = calloc(n, sizeof(*e));
		if (!e)
			return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		e[i].gsi = routes[i].gsi;
		e[i].address_lo = routes[i].address_lo;
		e[i].address_hi = routes[i].address_hi;
		e[i].data = routes[i].data;
	}
	r = mshv_vm_set_msi_routing(mv->vm, e, n);
	free(e);
	return r;
}

static int mshv_hv_vm_assert_interrupt(struct hv_vm *vm, const struct hv_interrupt *irq)
{
	static const uint32_t types[] = {
		[HV_INTERRUPT_FIXED] = HV_INTERRUPT_TYPE_FIXED,
		[HV_INTERRUPT_LOWEST] = HV_INTERRUPT_TYPE_LOWESTPRIORITY,
		[HV_INTERRUPT_NMI] = HV_INTERRUPT_TYPE_NMI,
		[HV_INTERRUPT_INIT] = HV_INTERRUPT_TYPE_INIT,
		[HV_INTERRUPT_SIPI] = HV_INTERRUPT_TYPE_SIPI,
		[HV_INTERRUPT_EXTINT] = HV_INTERRUPT_TYPE_EXTINT,
	};
	struct mshv_interrupt_request req = {
		.interrupt_type = types[irq->type],
		.apic_id = irq->apic_id,
		.vector = irq->vector,
		.level_triggered = irq->level,
		.logical_destination_mode = irq->logical,
	};
	int r = mshv_vm_request_virtual_interrupt(to_mshv_vm(vm)->vm, &req);

	if (r < 0)
		vm->last_status = mshv_last_hv_status();
	return r;
}

/* ---- vCPUs: registers ------------------------------------------------------------------- */

static void mshv_hv_vcpu_free(struct hv_vcpu *vcpu)
{
	struct mshv_hv_vcpu *mc = to_mshv_vcpu(vcpu);

	if (atomic_load(&mc->timer_ok))
		timer_delete(mc->timer);
	mshv_vcpu_free(mc->vp);
	free(mc);
}

static int mshv_hv_vcpu_new(struct hv_vm *vm, unsigned index, struct hv_vcpu **ret)
{
	struct mshv_hv_vcpu *mc;
	int r;

	mc = calloc(1, sizeof(*mc));
	if (!mc)
		return -ENOMEM;
	r = mshv_vm_create_vcpu(to_mshv_vm(vm)->vm, index, &mc->vp);
	if (r < 0) {
		vm->last_status = mshv_last_hv_status();
		free(mc);
		return r;
	}
	mc->page = mshv_vcpu_reg_page(mc->vp);
	*ret = &mc->base;
	return 0;
}

void mshv_hv_wb_set(struct mshv_hv_vcpu *mc, unsigned idx, uint64_t value)
{
	mc->wb[idx] = value;
	mc->wb_mask |= 1u << idx;
}

/*
 * Write registers with HVCALL_SET_VP_REGISTERS.  Values still pending in the register page
 * stay there: libmshv's mshv_vcpu_set_reg() writes what the hypercall set into the page slots
 * too, so the page applied at the next dispatch cannot undo it.
 */
int mshv_hv_set_assocs(struct mshv_hv_vcpu *mc, const struct hv_register_assoc *regs, size_t n)
{
	int r = mshv_vcpu_set_reg(mc->vp, regs, n);

	if (r < 0)
		mc->base.last_status = mshv_last_hv_status();
	return r;
}

int mshv_hv_flush(struct mshv_hv_vcpu *mc)
{
	struct hv_register_assoc regs[MSHV_WB_COUNT];
	size_t n = 0;
	int r;

	if (!mc->wb_mask)
		return 0;
	if (page_valid(mc)) {
		for (unsigned s = 0; s < MSHV_WB_COUNT; s++)
			if (mc->wb_mask & (1u << s))
				page_set(mc->page, s, mc->wb[s]);
		mc->wb_mask = 0;
		return 0;
	}
	memset(regs, 0, sizeof(regs));
	for (unsigned s = 0; s < MSHV_WB_COUNT; s++)
		if (mc->wb_mask & (1u << s)) {
			regs[n].name = mshv_hv_wb_names[s];
			regs[n++].value.reg64 = mc->wb[s];
		}
	r = mshv_hv_set_assocs(mc, regs, n);
	if (r == 0)
		mc->wb_mask = 0;
	return r;
}

int mshv_hv_inject_exception(struct mshv_hv_vcpu *mc, uint8_t vector, bool has_error,
			     uint32_t error_code, uint64_t cr2)
{
	struct hv_register_assoc regs[2];
	uint64_t v = HV_X64_PENDING_INTERRUPTION_PENDING |
		     (uint64_t)HV_X64_PENDING_EXCEPTION << HV_X64_PENDING_INTERRUPTION_TYPE_SHIFT |
		     (uint64_t)vector << HV_X64_PENDING_INTERRUPTION_VECTOR_SHIFT;
	size_t n = 1;
	int r;

	if (has_error)
		v |= HV_X64_PENDING_INTERRUPTION_DELIVER_ERROR_CODE |
		     (uint64_t)error_code << HV_X64_PENDING_INTERRUPTION_ERROR_CODE_SHIFT;
	r = mshv_hv_flush(mc);
	if (r < 0)
		return r;
	memset(regs, 0, sizeof(regs));
	regs[0].name = HV_REGISTER_PENDING_INTERRUPTION;
	regs[0].value.reg64 = v;
	if (vector == 14) {
		regs[1].name = HV_X64_REGISTER_CR2;
		regs[1].value.reg64 = cr2;
		n = 2;
	}
	return mshv_hv_set_assocs(mc, regs, n);
}

static void value_from_hv(struct hv_reg_value *v, const union hv_register_value *h)
{
	switch (hv_reg_kind(v->reg)) {
	case HV_REG_KIND_SEGMENT:
		v->seg.base = h->segment.base;
		v->seg.limit = h->segment.limit;
		v->seg.selector = h->segment.selector;
		v->seg.attributes = h->segment.attributes;
		break;
	case HV_REG_KIND_TABLE:
		v->table.base = h->table.base;
		v->table.limit = h->table.limit;
		break;
	default:
		v->u64 = h->reg64;
		break;
	}
}

static void value_to_hv(const struct hv_reg_value *v, union hv_register_value *h)
{
	memset(h, 0, sizeof(*h));
	switch (hv_reg_kind(v->reg)) {
	case HV_REG_KIND_SEGMENT:
		h->segment.base = v->seg.base;
		h->segment.limit = v->seg.limit;
		h->segment.selector = v->seg.selector;
		h->segment.attributes = v->seg.attributes;
		break;
	case HV_REG_KIND_TABLE:
		h->table.base = v->table.base;
		h->table.limit = v->table.limit;
		break;
	default:
		h->reg64 = v->u64;
		break;
	}
}

#define REG_CHUNK 64

static int mshv_hv_vcpu_get_regs(struct hv_vcpu *vcpu, struct hv_reg_value *regs, unsigned n)
{
	struct mshv_hv_vcpu *mc = to_mshv_vcpu(vcpu);
	struct hv_register_assoc a[REG_CHUNK];
	unsigned idx[REG_CHUNK];
	int r;

	r = mshv_hv_flush(mc);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n;) {
		size_t k = 0;

		memset(a, 0, sizeof(a));
		for (; i < n && k < REG_CHUNK; i++) {
			int s = wb_slot(regs[i].reg);

			if (s >= 0 && page_valid(mc)) {
				regs[i].u64 = page_get(mc->page, (unsigned)s);
				continue;
			}
			idx[k] = i;
			a[k++].name = reg_names[regs[i].reg];
		}
		if (!k)
			continue;
		r = mshv_vcpu_get_reg(mc->vp, a, k);
		if (r < 0) {
			vcpu->last_status = mshv_last_hv_status();
			return r;
		}
		for (size_t j = 0; j < k; j++)
			value_from_hv(&regs[idx[j]], &a[j].value);
	}
	return 0;
}

static int mshv_hv_vcpu_set_regs(struct hv_vcpu *vcpu, const struct hv_reg_value *regs,
				 unsigned n)
{
	struct mshv_hv_vcpu *mc = to_mshv_vcpu(vcpu);
	struct hv_register_assoc a[REG_CHUNK];
	bool page_only = page_valid(mc);
	int r;

	/* Only GPRs, RIP and RFLAGS live in the page; anything else takes the hypercall, and
	 * then everything goes with it (one write path at a time, see mshv_hv_set_assocs). */
	for (unsigned i = 0; i < n && page_only; i++)
		page_only = wb_slot(regs[i].reg) >= 0;
	for (unsigned i = 0; i < n; i++) {
		int s = wb_slot(regs[i].reg);

		if (s >= 0)
			mshv_hv_wb_set(mc, (unsigned)s, regs[i].u64);
	}
	if (page_only)
		return mshv_hv_flush(mc);
	r = mshv_hv_flush(mc);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n;) {
		size_t k = 0;

		for (; i < n && k < REG_CHUNK; i++) {
			if (wb_slot(regs[i].reg) >= 0)
				continue;
			memset(&a[k], 0, sizeof(a[k]));
			a[k].name = reg_names[regs[i].reg];
			value_to_hv(&regs[i], &a[k++].value);
		}
		if (!k)
			continue;
		r = mshv_hv_set_assocs(mc, a, k);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- running ----------------------------------------------------------------------------- */

static void mshv_hv_vcpu_kick(struct hv_vcpu *vcpu)
{
	struct mshv_hv_vcpu *mc = to_mshv_vcpu(vcpu);

	hv_kick_set(&mc->kick);
	if (!hv_kick_notify(&mc->kick))
		return;
	/* The signal may land just before the thread enters the ioctl: repeat it until the run
	 * returns (timer_settime is async-signal-safe). */
	if (atomic_load(&mc->timer_ok) && !atomic_exchange(&mc->timer_armed, true)) {
		struct itimerspec its = {
			.it_interval = { 0, KICK_RETRY_NS },
			.it_value = { 0, KICK_RETRY_NS },
		};

		timer_settime(mc->timer, 0, &its, NULL);
	}
}

/* The vCPU moved to thread tid (hv_kick_bind()): aim the retry timer at it. */
static void rebind_timer(struct hv_kick *k, pid_t tid)
{
	struct mshv_hv_vcpu *mc =
		(struct mshv_hv_vcpu *)((char *)k - offsetof(struct mshv_hv_vcpu, kick));
	struct sigevent sev;

	if (atomic_exchange(&mc->timer_ok, false))
		timer_delete(mc->timer);
	atomic_store(&mc->timer_armed, false);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = hv_kick_signal();
	sev.sigev_notify_thread_id = tid;
	if (timer_create(CLOCK_MONOTONIC, &sev, &mc->timer) == 0)
		atomic_store(&mc->timer_ok, true);
}

static void disarm_kick_timer(struct mshv_hv_vcpu *mc)
{
	static const struct itimerspec off;

	if (atomic_exchange(&mc->timer_armed, false) && atomic_load(&mc->timer_ok))
		timer_settime(mc->timer, 0, &off, NULL);
}

static void exit_from_header(struct hv_exit *exit, enum hv_exit_kind kind,
			     const struct hv_x64_intercept_message_header *h)
{
	memset(exit, 0, sizeof(*exit));
	exit->kind = kind;
	exit->rip = h->rip;
	exit->rflags = h->rflags;
	exit->insn_len = h->instruction_length;
}

static int decode_io(struct mshv_hv_vcpu *mc, const struct hv_message *msg, struct hv_exit *exit)
{
	struct hv_x64_io_port_intercept_message io;
	uint8_t size;
	int r;

	r = mshv_msg_io_port(msg, &io);
	if (r < 0)
		return r;
	size = io.access_info.access_size;
	if (size != 1 && size != 2 && size != 4)
		return -EIO;
	if (io.access_info.string_op)
		return mshv_hv_emulate_start(mc, NULL, &io, exit);
	exit_from_header(exit, HV_EXIT_IO, &io.header);
	exit->io.port = io.port_number;
	exit->io.size = size;
	exit->io.write = io.header.intercept_access_type == HV_X64_INTERCEPT_ACCESS_WRITE;
	exit->io.count = 1;
	if (exit->io.write)
		exit->io.data = io.rax & (size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1);
	mc->pending = MSHV_PENDING_IO;
	mc->rip = io.header.rip;
	mc->insn_len = io.header.instruction_length;
	mc->rax = io.rax;
	return 0;
}

/* 0: *exit filled; 1: handled here, run the guest again; < 0: error. */
static int decode(struct mshv_hv_vcpu *mc, const struct hv_message *msg, struct hv_exit *exit)
{
	struct hv_x64_intercept_message_header h;
	uint32_t type = msg->header.message_type;
	int r;

	mc->msg_type = type;
	switch (type) {
	case HVMSG_X64_IO_PORT_INTERCEPT:
		return decode_io(mc, msg, exit);
	case HVMSG_UNMAPPED_GPA:
	case HVMSG_GPA_INTERCEPT: {
		struct hv_x64_memory_intercept_message mem;

		r = mshv_msg_memory(msg, &mem);
		if (r < 0)
			return r;
		if (mem.header.intercept_access_type == HV_X64_INTERCEPT_ACCESS_EXECUTE)
			break;	/* instruction fetch from a hole: nothing to emulate */
		return mshv_hv_emulate_start(mc, &mem, NULL, exit);
	}
	case HVMSG_X64_HALT:
		if (mshv_msg_intercept_header(msg, &h) < 0)
			return -EIO;
		exit_from_header(exit, HV_EXIT_HALT, &h);
		exit->insn_len = 0;
		return 0;
	case HVMSG_UNRECOVERABLE_EXCEPTION:
		if (mshv_msg_intercept_header(msg, &h) < 0)
			return -EIO;
		exit_from_header(exit, HV_EXIT_SHUTDOWN, &h);
		return 0;
	case HVMSG_X64_CPUID_INTERCEPT: {
		struct hv_x64_cpuid_intercept_message c;

		r = mshv_msg_cpuid(msg, &c);
		if (r < 0)
			return r;
		exit_from_header(exit, HV_EXIT_CPUID, &c.header);
		exit->cpuid.eax = (uint32_t)c.rax;
		exit->cpuid.ecx = (uint32_t)c.rcx;
		exit->cpuid.result[0] = (uint32_t)c.default_result_rax;
		exit->cpuid.result[1] = (uint32_t)c.default_result_rbx;
		exit->cpuid.result[2] = (uint32_t)c.default_result_rcx;
		exit->cpuid.result[3] = (uint32_t)c.default_result_rdx;
		mc->pending = MSHV_PENDING_CPUID;
		mc->rip = c.header.rip;
		mc->insn_len = c.header.instruction_length ? c.header.instruction_length : 2;
		return 0;
	}
	case HVMSG_X64_MSR_INTERCEPT: {
		struct hv_x64_msr_intercept_message m;

		r = mshv_msg_msr(msg, &m);
		if (r < 0)
			return r;
		exit_from_header(exit, HV_EXIT_MSR, &m.header);
		exit->msr.index = m.msr_number;
		exit->msr.write = m.header.intercept_access_type == HV_X64_INTERCEPT_ACCESS_WRITE;
		if (exit->msr.write)
			exit->msr.data = (m.rdx << 32) | (uint32_t)m.rax;
		mc->pending = MSHV_PENDING_MSR;
		mc->rip = m.header.rip;
		mc->insn_len = m.header.instruction_length ? m.header.instruction_length : 2;
		exit->insn_len = mc->insn_len;
		return 0;
	}
	case HVMSG_X64_EXCEPTION_INTERCEPT: {
		struct hv_x64_exception_intercept_message e;

		r = mshv_msg_exception(msg, &e);
		if (r < 0)
			return r;
		exit_from_header(exit, HV_EXIT_EXCEPTION, &e.header);
		exit->exception.vector = (uint8_t)e.exception_vector;
		exit->exception.has_error_code = e.exception_info.error_code_valid;
		exit->exception.error_code = e.error_code;
		return 0;
	}
	case HVMSG_X64_APIC_EOI:
		/* EOI of a level-triggered interrupt: no userspace interrupt controller to tell. */
		return 1;
	default:
		break;
	}
	memset(exit, 0, sizeof(*exit));
	exit->kind = HV_EXIT_UNKNOWN;
	exit->unknown.code = type;
	if (mshv_msg_intercept_header(msg, &h) == 0) {
		exit->rip = h.rip;
		exit->rflags = h.rflags;
	}
	return 0;
}

static int exit_interrupted(struct mshv_hv_vcpu *mc, struct hv_exit *exit)
{
	struct hv_reg_value v[2] = { { .reg = HV_REG_RIP }, { .reg = HV_REG_RFLAGS } };

	memset(exit, 0, sizeof(*exit));
	exit->kind = HV_EXIT_INTERRUPTED;
	if (mshv_hv_vcpu_get_regs(&mc->base, v, 2) == 0) {
		exit->rip = v[0].u64;
		exit->rflags = v[1].u64;
	}
	return 0;
}

static int mshv_hv_vcpu_run(struct hv_vcpu *vcpu, struct hv_exit *exit)
{
	struct mshv_hv_vcpu *mc = to_mshv_vcpu(vcpu);
	struct hv_message msg;
	int r;

	if (mc->stashed) {
		mc->stashed = false;
		*exit = mc->stash;
		return 0;
	}
	mc->pending = MSHV_PENDING_NONE;
	hv_kick_bind(&mc->kick, rebind_timer);
	for (;;) {
		r = mshv_hv_flush(mc);
		if (r < 0)
			return r;
		hv_kick_enter(&mc->kick);
		if (hv_kick_pending(&mc->kick)) {
			r = -EINTR;
		} else {
			r = mshv_vcpu_run(mc->vp, &msg);
			if (r < 0)
				vcpu->last_status = mshv_last_hv_status();
		}
		hv_kick_leave(&mc->kick);
		/* Kicks that arrive from now on are seen by the check above at the next entry. */
		disarm_kick_timer(mc);
		if (r == -EINTR) {
			/*
			 * Only a kick ends the run; it is consumed here.  A signal without one is a
			 * late retry of an earlier kick's timer (or another stray signal): run on.
			 */
			if (!hv_kick_consume(&mc->kick))
				continue;
			return exit_interrupted(mc, exit);
		}
		if (r == -EAGAIN)
			continue;
		if (r < 0)
			return r;
		r = decode(mc, &msg, exit);
		if (r == 1)
			continue;
		if (r == -EOPNOTSUPP || r == -EINVAL || r == -ENODATA) {
			/* An instruction the emulator cannot handle: surface the raw intercept. */
			struct hv_x64_intercept_message_header h;

			mc->pending = MSHV_PENDING_NONE;
			memset(exit, 0, sizeof(*exit));
			exit->kind = HV_EXIT_UNKNOWN;
			exit->unknown.code = msg.header.message_type;
			if (mshv_msg_intercept_header(&msg, &h) == 0) {
				exit->rip = h.rip;
				exit->rflags = h.rflags;
			}
			return 0;
		}
		return r;
	}
}

static void complete_io(struct mshv_hv_vcpu *mc, const struct hv_exit *e, uint64_t value)
{
	if (!e->io.write) {
		uint64_t rax;

		if (e->io.size == 4) {
			rax = (uint32_t)value;
		} else {
			uint64_t mask = (1u << (8 * e->io.size)) - 1;

			rax = (mc->rax & ~mask) | (value & mask);
		}
		mshv_hv_wb_set(mc, X86_RAX, rax);
	}
	mshv_hv_wb_set(mc, MSHV_WB_RIP, mc->rip + mc->insn_len);
}

static int mshv_hv_vcpu_complete(struct hv_vcpu *vcpu, const struct hv_completion *c)
{
	struct mshv_hv_vcpu *mc = to_mshv_vcpu(vcpu);
	enum mshv_pending p = mc->pending;

	mc->pending = MSHV_PENDING_NONE;
	switch (p) {
	case MSHV_PENDING_IO:
		complete_io(mc, &vcpu->exit, c->value);
		return 0;
	case MSHV_PENDING_EMU:
		return mshv_hv_emulate_complete(mc, c->value);
	case MSHV_PENDING_CPUID:
		mshv_hv_wb_set(mc, X86_RAX, c->cpuid[0]);
		mshv_hv_wb_set(mc, X86_RBX, c->cpuid[1]);
		mshv_hv_wb_set(mc, X86_RCX, c->cpuid[2]);
		mshv_hv_wb_set(mc, X86_RDX, c->cpuid[3]);
		mshv_hv_wb_set(mc, MSHV_WB_RIP, mc->rip + mc->insn_len);
		return 0;
	case MSHV_PENDING_MSR:
		if (c->inject_gp)
			return mshv_hv_inject_exception(mc, 13, true, 0, 0);
		if (!vcpu->exit.msr.write) {
			mshv_hv_wb_set(mc, X86_RAX, (uint32_t)c->value);
			mshv_hv_wb_set(mc, X86_RDX, c->value >> 32);
		}
		mshv_hv_wb_set(mc, MSHV_WB_RIP, mc->rip + mc->insn_len);
		return 0;
	default:
		return 0;
	}
}

/*
 * Walk the guest's page tables for gva with HV_TRANSLATE_GVA_VALIDATE_* flags.  0 with *ret_gpa
 * when the guest's tables allow the access (whatever backs the GPA: RAM, nothing, a device);
 * -EFAULT when they do not; another negative errno when the hypercall itself failed (the raw
 * status is kept in last_status).  Thread: vcpu.
 */
int mshv_hv_translate(struct mshv_hv_vcpu *mc, uint64_t gva, uint64_t flags, uint64_t *ret_gpa)
{
	uint64_t gpa;
	uint32_t result;
	int r;

	r = mshv_vcpu_translate_gva(mc->vp, gva, flags, &gpa, &result);
	if (r < 0) {
		mc->base.last_status = mshv_last_hv_status();
		return r;
	}
	switch (result) {
	case HV_TRANSLATE_GVA_SUCCESS:
	case HV_TRANSLATE_GVA_GPA_UNMAPPED:
	case HV_TRANSLATE_GVA_GPA_NO_READ_ACCESS:
	case HV_TRANSLATE_GVA_GPA_NO_WRITE_ACCESS:
	case HV_TRANSLATE_GVA_GPA_ILLEGAL_OVERLAY_ACCESS:
	case HV_TRANSLATE_GVA_INTERCEPT:
		*ret_gpa = gpa;
		return 0;
	default:
		return -EFAULT;
	}
}

static int mshv_hv_vcpu_translate_gva(struct hv_vcpu *vcpu, uint64_t gva, unsigned access,
				      uint64_t *ret_gpa)
{
	uint64_t flags = 0;

	if (access & HV_MAP_READ)
		flags |= HV_TRANSLATE_GVA_VALIDATE_READ;
	if (access & HV_MAP_WRITE)
		flags |= HV_TRANSLATE_GVA_VALIDATE_WRITE;
	if (access & HV_MAP_EXEC)
		flags |= HV_TRANSLATE_GVA_VALIDATE_EXECUTE;
	return mshv_hv_translate(to_mshv_vcpu(vcpu), gva, flags, ret_gpa);
}

/* ---- snapshots --------------------------------------------------------------------------- */

/*
 * Dirty logging is the partition's GPA access tracking.  Switching it on does not clear the
 * hypervisor's bits: a clearing pass could lose a write of a vCPU that runs meanwhile, and bits
 * that start set (not documented either way; the sim starts clean) only make the first fetch
 * report more pages, which a snapshot tolerates.  Switching it off first marks every mapping
 * dirty (op SET), as rust-vmm and Cloud Hypervisor do because the hypervisor requires it.
 */
static int mshv_hv_vm_set_dirty_log(struct hv_vm *vm, bool on)
{
	struct mshv_hv_vm *mv = to_mshv_vm(vm);
	int r;

	if (on) {
		/* The emulator's half first: no emulated write escapes once tracking is on. */
		for (unsigned i = 0; i < vm->map_slots; i++) {
			const struct hv_mapping *m = hv_vm_slot(vm, i);
			_Atomic uint64_t *bits;

			if (!m->used)
				continue;
			r = emu_dirty_alloc(mv, m);
			if (r < 0)
				return r;
			bits = atomic_load(&mv->emu_dirty[m->slot]);
			for (uint64_t w = 0; w < (m->size / HV_HYP_PAGE_SIZE + 63) / 64; w++)
				atomic_store(&bits[w], 0);
		}
		atomic_store(&mv->dirty_log, true);
		r = mshv_vm_enable_dirty_page_tracking(mv->vm);
		if (r < 0) {
			vm->last_status = mshv_last_hv_status();
			atomic_store(&mv->dirty_log, false);
		}
		return r;
	}
	for (unsigned i = 0; i < vm->map_slots; i++) {
		const struct hv_mapping *m = hv_vm_slot(vm, i);

		if (!m->used)
			continue;
		r = mshv_vm_set_dirty_bits(mv->vm, m->gpa >> HV_HYP_PAGE_SHIFT,
					   m->size >> HV_HYP_PAGE_SHIFT);
		if (r < 0) {
			vm->last_status = mshv_last_hv_status();
			return r;
		}
	}
	r = mshv_vm_disable_dirty_page_tracking(mv->vm);
	if (r < 0)
		vm->last_status = mshv_last_hv_status();
	else
		atomic_store(&mv->dirty_log, false);
	return r;
}

/*
 * The kernel's bitmap is bytes (bit i % 8 of byte i / 8 = page i), hv.h's is u64 words: the
 * same bits on a little-endian host.  The kernel fills ceil(pages / 8) bytes; the rest of the
 * last word is cleared here.  The emulator's writes are added (and cleared) after the
 * hypervisor's bits were fetched: a page written meanwhile is in this fetch or the next.
 */
static int mshv_hv_vm_get_dirty_log(struct hv_vm *vm, const struct hv_mapping *m,
				    uint64_t *bitmap)
{
	_Atomic uint64_t *emu = atomic_load(&to_mshv_vm(vm)->emu_dirty[m->slot]);
	uint64_t pages = m->size >> HV_HYP_PAGE_SHIFT, words = (pages + 63) / 64;
	int r;

	memset(bitmap, 0, words * sizeof(*bitmap));
	r = mshv_vm_get_dirty_log(to_mshv_vm(vm)->vm, m->gpa >> HV_HYP_PAGE_SHIFT, pages,
				  (uint8_t *)bitmap);
	if (r < 0) {
		vm->last_status = mshv_last_hv_status();
		return r;
	}
	for (uint64_t i = 0; i < words; i++)
		bitmap[i] = le64toh(bitmap[i]) | (emu ? atomic_exchange(&emu[i], 0) : 0);
	if (pages % 64)
		bitmap[words - 1] &= (1ull << (pages % 64)) - 1;
	return 0;
}

/*
 * The partition itself keeps nothing a snapshot needs beyond its vCPUs and RAM: the guest's
 * time is the per-vCPU TSC (in the vCPU blob); the partition reference time is read-only
 * through the hypercalls a VMM may issue; interrupt routes, irqfds and ioeventfds belong to
 * the caller, which recreates them.  So the backend has no partition state ops: hv.c's blob
 * of the header alone stands for it.
 */

/*
 * vCPU blob, version 1: the header, this fixed part, then nregs register assocs as
 * HVCALL_SET_VP_REGISTERS takes them (libmshv's list of the architectural registers:
 * control/segment/table registers, EFER, APIC base, the MSRs, debug registers, x87/SSE
 * registers and XCR0, GPRs/RIP/RFLAGS, interrupt state and shadow, pending interruption and
 * events, activity state), then the LAPIC VP state page (partitions with a LAPIC) and the
 * XSAVE VP state (MAX_XSAVE_DATA_SIZE bytes or fewer, as the kernel returned it).  SynIC
 * pages and synthetic timers are not saved: the backend never enables them.
 */
#define MSHV_VCPU_STATE_VERSION	1

struct mshv_vcpu_state {
	uint16_t nregs;
	uint16_t flags;		/* 0 */
	uint32_t lapic_size;	/* 0 or HV_HYP_PAGE_SIZE */
	uint32_t xsave_size;	/* 0 .. MAX_XSAVE_DATA_SIZE */
	uint32_t reserved;	/* 0 */
} __attribute__((packed));

_Static_assert(sizeof(struct hv_register_assoc) == 32, "hv_register_assoc is 32 bytes");

/* MAX_XSAVE_DATA_SIZE of the partition, read once. */
static int vm_xsave_size(struct mshv_hv_vm *mv, struct mshv_vcpu *vp, size_t *ret)
{
	size_t size = atomic_load(&mv->xsave_size);
	int r;

	if (!size) {
		r = mshv_vcpu_vp_state_size(vp, MSHV_VP_STATE_XSAVE, &size);
		if (r < 0)
			return r;
		atomic_store(&mv->xsave_size, size);
	}
	*ret = size;
	return 0;
}

static int mshv_hv_vcpu_save_state(struct hv_vcpu *vcpu, void **ret, size_t *ret_size)
{
	struct mshv_hv_vcpu *mc = to_mshv_vcpu(vcpu);
	struct mshv_hv_vm *mv = to_mshv_vm(vcpu->vm);
	struct hv_register_assoc regs[MSHV_VP_REG_LIST_MAX];
	struct mshv_vcpu_state body = { 0 };
	struct hv_state_header h;
	size_t n, xsave_cap = 0, lapic_len = 0, xsave_len = 0, off;
	uint8_t *blob;
	int r;

	/* Register writes still cached (completions, emulation) belong to the state. */
	r = mshv_hv_flush(mc);
	if (r < 0)
		return r;
	r = mshv_vcpu_get_all_regs(mc->vp, regs, MSHV_VP_REG_LIST_MAX, &n);
	if (r == 0)
		r = vm_xsave_size(mv, mc->vp, &xsave_cap);
	if (r < 0) {
		vcpu->last_status = mshv_last_hv_status();
		return r;
	}
	/* MSHV never advances RIP before completion; say so rather than rely on it (the
	 * emulator's pending access leaves the hypervisor's RIP on the instruction, too). */
	if (vcpu->exit_pending)
		for (size_t i = 0; i < n; i++)
			if (regs[i].name == HV_X64_REGISTER_RIP)
				regs[i].value.reg64 = vcpu->exit.rip;

	off = sizeof(h) + sizeof(body) + n * sizeof(regs[0]);
	blob = malloc(off + (mv->lapic ? HV_HYP_PAGE_SIZE : 0) + xsave_cap);
	if (!blob)
		return -ENOMEM;
	if (mv->lapic) {
		r = mshv_vcpu_get_vp_state(mc->vp, MSHV_VP_STATE_LAPIC, blob + off,
					   HV_HYP_PAGE_SIZE, &lapic_len);
		off += lapic_len;
	}
	if (r == 0 && xsave_cap) {
		r = mshv_vcpu_get_vp_state(mc->vp, MSHV_VP_STATE_XSAVE, blob + off, xsave_cap,
					   &xsave_len);
		off += xsave_len;
	}
	if (r < 0) {
		vcpu->last_status = mshv_last_hv_status();
		free(blob);
		return r;
	}
	hv_state_header_init(&h, HV_BACKEND_MSHV, MSHV_VCPU_STATE_VERSION, off);
	body.nregs = (uint16_t)n;
	body.lapic_size = (uint32_t)lapic_len;
	body.xsave_size = (uint32_t)xsave_len;
	memcpy(blob, &h, sizeof(h));
	memcpy(blob + sizeof(h), &body, sizeof(body));
	memcpy(blob + sizeof(h) + sizeof(body), regs, n * sizeof(regs[0]));
	*ret = blob;
	*ret_size = off;
	return 0;
}

/* The names must be libmshv's register list or an ordered part of it, each once. */
static bool regs_known(const struct hv_register_assoc *regs, size_t n)
{
	const uint32_t *list;
	size_t count, j = 0;

	if (mshv_vcpu_get_reg_list(NULL, &list, &count) < 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		struct hv_register_assoc a;

		memcpy(&a, &regs[i], sizeof(a));
		if (a.reserved1 || a.reserved2)
			return false;
		while (j < count && list[j] != a.name)
			j++;
		if (j++ == count)
			return false;
	}
	return true;
}

/*
 * Everything is checked before the first write.  Then: the exit the backend was completing
 * and the cached register writes are dropped (the blob replaces that state, and RIP in it
 * makes the hypervisor abandon its intercept); XSAVE; all registers in one
 * HVCALL_SET_VP_REGISTERS (straight from the blob: no copy, no allocation); the LAPIC last,
 * after APIC_BASE decided its mode (KVM's order too).
 */
static int mshv_hv_vcpu_restore_state(struct hv_vcpu *vcpu, const void *state, size_t size)
{
	struct mshv_hv_vcpu *mc = to_mshv_vcpu(vcpu);
	struct mshv_hv_vm *mv = to_mshv_vm(vcpu->vm);
	const uint8_t *p = state;
	const struct hv_register_assoc *regs;
	struct mshv_vcpu_state body;
	struct hv_state_header h;
	size_t xsave_cap, need;
	int r;

	memcpy(&h, p, sizeof(h));
	if (h.version != MSHV_VCPU_STATE_VERSION)
		return -EPROTO;
	if (size < sizeof(h) + sizeof(body))
		return -EINVAL;
	memcpy(&body, p + sizeof(h), sizeof(body));
	need = sizeof(h) + sizeof(body) + (size_t)body.nregs * sizeof(*regs) + body.lapic_size +
	       body.xsave_size;
	if (body.flags || body.reserved || body.nregs > MSHV_VP_REG_LIST_MAX || need != size ||
	    (body.lapic_size && (body.lapic_size != HV_HYP_PAGE_SIZE || !mv->lapic)))
		return -EINVAL;
	regs = (const struct hv_register_assoc *)(p + sizeof(h) + sizeof(body));
	if (!regs_known(regs, body.nregs))
		return -EINVAL;
	if (body.xsave_size) {
		r = vm_xsave_size(mv, mc->vp, &xsave_cap);
		if (r < 0) {
			vcpu->last_status = mshv_last_hv_status();
			return r;
		}
		if (body.xsave_size > xsave_cap)
			return -EINVAL;
	}

	mc->pending = MSHV_PENDING_NONE;
	mc->stashed = false;
	mc->wb_mask = 0;
	p += sizeof(h) + sizeof(body) + (size_t)body.nregs * sizeof(*regs);
	r = 0;
	if (body.xsave_size)
		r = mshv_vcpu_set_vp_state(mc->vp, MSHV_VP_STATE_XSAVE, p + body.lapic_size,
					   body.xsave_size);
	if (r == 0)
		r = mshv_vcpu_set_reg(mc->vp, regs, body.nregs);
	if (r == 0 && body.lapic_size)
		r = mshv_vcpu_set_vp_state(mc->vp, MSHV_VP_STATE_LAPIC, p, body.lapic_size);
	if (r < 0)
		vcpu->last_status = mshv_last_hv_status();
	return r;
}

const struct hv_ops hv_mshv_ops = {
	.name = "mshv",
	.backend = HV_BACKEND_MSHV,
	/* A LAPIC per vCPU and no PIC/IOAPIC pins: every GSI is an MSI route. */
	.irq = { .pin_gsis = 0, .irqchip_option = "lapic", .irqchip_lapic_only = true,
		 .pio_ioeventfd_note = "the MSHV driver registers MMIO addresses only; use an "
				       "mmio doorbell" },
	.open = mshv_hv_open,
	.free = mshv_hv_free,
	.driver_info = mshv_hv_driver_info,
	.vm_new = mshv_hv_vm_new,
	.vm_free = mshv_hv_vm_free,
	.vm_map = mshv_hv_vm_map,
	.vm_unmap = mshv_hv_vm_unmap,
	.vm_pause = mshv_hv_vm_pause,
	.vm_resume = mshv_hv_vm_resume,
	.vm_ioeventfd = mshv_hv_vm_ioeventfd,
	.vm_irqfd = mshv_hv_vm_irqfd,
	.vm_set_msi_routing = mshv_hv_vm_set_msi_routing,
	.vm_assert_interrupt = mshv_hv_vm_assert_interrupt,
	.vcpu_new = mshv_hv_vcpu_new,
	.vcpu_free = mshv_hv_vcpu_free,
	.vcpu_get_regs = mshv_hv_vcpu_get_regs,
	.vcpu_set_regs = mshv_hv_vcpu_set_regs,
	.vcpu_run = mshv_hv_vcpu_run,
	.vcpu_complete = mshv_hv_vcpu_complete,
	.vcpu_kick = mshv_hv_vcpu_kick,
	.vcpu_translate_gva = mshv_hv_vcpu_translate_gva,
	.vm_set_dirty_log = mshv_hv_vm_set_dirty_log,
	.vm_get_dirty_log = mshv_hv_vm_get_dirty_log,
	.vcpu_save_state = mshv_hv_vcpu_save_state,
	.vcpu_restore_state = mshv_hv_vcpu_restore_state,
};
