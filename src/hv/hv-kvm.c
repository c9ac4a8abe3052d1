// SPDX-License-Identifier: MIT
/* The kvm backend of the hypervisor layer: /dev/kvm with exits normalized to what mshv reports. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv/hv-backend.h"
#include "hv/x86/x86.h"

/*
 * How KVM's exits differ from the normalized ones (measured on Linux 6.x, see tests/hv):
 *  - IN/OUT (not string): RIP is the instruction's address; KVM advances it when the exit is
 *    completed by the next KVM_RUN.
 *  - MMIO reads: RIP is the instruction's address, advanced on completion.
 *  - MMIO writes and every string I/O element: KVM has already emulated the instruction and RIP
 *    is PAST it (for REP forms even before the last element).  The instruction start is found
 *    by decoding backwards from RIP (x86_decode_length()), checked against the exit.
 *  - INS is batched: one KVM_EXIT_IO with count > 1; OUTS comes one element per exit.
 *  - Completing with immediate_exit = 1 makes KVM finish the pending access and return EINTR
 *    without running the guest, or return a NEW exit when the emulator needs another access for
 *    the same instruction (next REP element, the write half of a read-modify-write).  That exit
 *    is kept ("stashed") and returned by the next hv_vcpu_run() without entering the guest.
 */

#define KVM_MAX_IO_ELEMS 4096
/* MSRs a vCPU blob carries at most (struct kvm_state_vcpu): the lists in state_msrs_init(). */
#define KVM_STATE_MAX_MSRS 64
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))


struct kvm_hv {
	struct hv base;
	int fd;
	int run_size;
	struct kvm_cpuid2 *cpuid;
	int sync_regs;		/* KVM_SYNC_X86_* bits we use, 0 without KVM_CAP_SYNC_REGS */
	bool user_msr;
	bool disable_quirks2;
	bool xsave, xcrs;	/* KVM_CAP_XSAVE, KVM_CAP_XCRS: else the blob has the FPU only */
	/* The MSRs vCPU blobs carry: state_msr_candidates that KVM_GET_MSR_INDEX_LIST lists. */
	uint32_t state_msrs[KVM_STATE_MAX_MSRS];
	unsigned nstate_msrs;
};

struct kvm_vm {
	struct hv_vm base;
	int fd;
	bool irqchip;
	pthread_mutex_t routing_lock;
};

struct kvm_io_elems {
	bool active;
	bool in;
	bool done;		/* KVM already completed the whole exit (OUT) */
	bool string, rep;
	uint16_t port;
	uint8_t size;
	uint8_t insn_len;
	unsigned count;		/* elements in this KVM exit */
	unsigned next;		/* next element to present */
	uint64_t rep_count;	/* remaining REP elements at element 0 */
	uint64_t rip, rflags;
	/* The elements' data: small (one element) inline, a batched INS in big, allocated on
	 * first use (16 KiB per vCPU that most never need). */
	uint8_t *data;
	uint8_t small[8];
	uint8_t *big;
};

struct kvm_vcpu {
	struct hv_vcpu base;
	int fd;
	struct kvm_run *run;
	size_t run_size;

	/* Kick: set by any thread; the vCPU thread consumes it when a run returns INTERRUPTED. */
	struct hv_kick kick;

	/* Registers as of the last exit (synced from kvm_run or fetched on demand). */
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	bool regs_valid, sregs_valid;

	bool stashed;		/* kvm_run holds an exit that was not normalized yet */
	/* The last KVM_RUN returned an exit that KVM completes on the next one (its
	 * complete_userspace_io): a restore must flush it first. */
	bool kvm_pending;
	/* Learned on the first plain OUT (out_fast()): 1 when this kernel exits from it with
	 * RIP already past the instruction and its completion leaves RIP alone, -1 when not. */
	int out_past;
	struct kvm_io_elems io;
	uint64_t last_rip_after;	/* backward decode cache for repeated string elements */
	uint64_t last_start;
	uint8_t last_len;
};

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

static struct kvm_hv *to_kvm(struct hv *hv)
{
	return (struct kvm_hv *)hv;
}

static struct kvm_vm *to_kvm_vm(struct hv_vm *vm)
{
	return (struct kvm_vm *)vm;
}

static struct kvm_vcpu *to_kvm_vcpu(struct hv_vcpu *vcpu)
{
	return (struct kvm_vcpu *)vcpu;
}

/* ---- device ---------------------------------------------------------------------------- */

static void kvm_free(struct hv *hv)
{
	struct kvm_hv *k = to_kvm(hv);

	if (k->fd >= 0)
		close(k->fd);
	free(k->cpuid);
	free(k);
}

/*
 * MSRs worth carrying in a snapshot beyond the registers of enum hv_reg (which come first):
 * time (TSC_ADJUST, TSC_AUX, TSC_DEADLINE), MISC_ENABLE and KVM's paravirtual MSRs
 * (kvmclock, async PF, steal time, PV EOI, poll control).  Only those KVM lists as saveable
 * are used.
 */
static const uint32_t state_msr_candidates[] = {
	0x10, 0x277, 0xc0000102, 0x174, 0x175, 0x176,		/* enum hv_reg's MSRs: */
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,		/* STATE_MSRS_HV_REG */
	0x3b, 0xc0000103, 0x6e0, 0x1a0,
	0x11, 0x12, 0x4b564d00, 0x4b564d01, 0x4b564d02, 0x4b564d03, 0x4b564d04, 0x4b564d05,
};

/* The MTRRs (default type, fixed and variable ranges): KVM emulates them without listing them;
 * a guest whose CPUID has no MTRR makes KVM_GET_MSRS refuse them, and save_msrs() leaves them
 * out then. */
static const uint32_t state_msr_mtrrs[] = {
	0x2ff, 0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
	0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207,
	0x208, 0x209, 0x20a, 0x20b, 0x20c, 0x20d, 0x20e, 0x20f,
};

/* Without KVM's list: the MSRs of enum hv_reg, which get/set_regs use anyway. */
#define STATE_MSRS_HV_REG	10

_Static_assert(ARRAY_LEN(state_msr_candidates) + ARRAY_LEN(state_msr_mtrrs) <= KVM_STATE_MAX_MSRS,
	       "more MSRs than a vCPU blob holds");

static int state_msrs_init(struct kvm_hv *k)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	int r;

	/* The first call says how many there are (E2BIG). */
	r = xioctl(k->fd, KVM_GET_MSR_INDEX_LIST, &probe);
	list = NULL;
	if (r == -E2BIG)
		list = calloc(1, sizeof(*list) + (probe.nmsrs + 16) * sizeof(list->indices[0]));
	if (r == -E2BIG && !list)
		return -ENOMEM;
	if (list) {
		list->nmsrs = probe.nmsrs + 16;
		r = xioctl(k->fd, KVM_GET_MSR_INDEX_LIST, list);
	}
	if (!list || r < 0) {
		for (unsigned i = 0; i < STATE_MSRS_HV_REG; i++)
			k->state_msrs[k->nstate_msrs++] = state_msr_candidates[i];
	} else {
		for (unsigned i = 0; i < ARRAY_LEN(state_msr_candidates); i++)
			for (unsigned j = 0; j < list->nmsrs; j++)
				if (list->indices[j] == state_msr_candidates[i]) {
					k->state_msrs[k->nstate_msrs++] = state_msr_candidates[i];
					break;
				}
	}
	free(list);
	for (unsigned i = 0; i < ARRAY_LEN(state_msr_mtrrs); i++)
		k->state_msrs[k->nstate_msrs++] = state_msr_mtrrs[i];
	return 0;
}

static int kvm_open(const char *path, struct hv **ret)
{
	struct kvm_hv *k;
	int r, n;

	r = hv_kick_signal_setup();
	if (r < 0)
		return r;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->fd = open(path ? path : "/dev/kvm", O_RDWR | O_CLOEXEC);
	if (k->fd < 0) {
		r = -errno;
		goto fail;
	}
	if (ioctl(k->fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		r = -ENODEV;
		goto fail;
	}
	r = k->run_size = xioctl(k->fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (r < 0)
		goto fail;

	/* A vCPU starts with no CPUID at all; without long mode in it, setting EFER.LME faults. */
	for (n = 64; ; n *= 2) {
		free(k->cpuid);
		k->cpuid = calloc(1, sizeof(*k->cpuid) + n * sizeof(struct kvm_cpuid_entry2));
		if (!k->cpuid) {
			r = -ENOMEM;
			goto fail;
		}
		k->cpuid->nent = n;
		r = xioctl(k->fd, KVM_GET_SUPPORTED_CPUID, k->cpuid);
		if (r != -E2BIG || n >= 4096)
			break;
	}
	if (r < 0)
		goto fail;

	r = ioctl(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	if (r > 0)
		k->sync_regs = r & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
	r = ioctl(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_USER_SPACE_MSR);
	k->user_msr = r > 0;
	r = ioctl(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_DISABLE_QUIRKS2);
	k->disable_quirks2 = r > 0 && (r & KVM_X86_QUIRK_OUT_7E_INC_RIP);

	k->base.caps = HV_CAP_TRANSLATE_GVA | HV_CAP_ASSERT_INTERRUPT;
	if (ioctl(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) > 0)
		k->base.caps |= HV_CAP_IRQCHIP | HV_CAP_LAPIC;
	if (ioctl(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_X2APIC_API) > 0 &&
	    (k->base.caps & HV_CAP_IRQCHIP))
		k->base.caps |= HV_CAP_X2APIC;
	if (ioctl(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) > 0)
		k->base.caps |= HV_CAP_IOEVENTFD_MMIO | HV_CAP_IOEVENTFD_PIO;
	if (ioctl(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) > 0 && (k->base.caps & HV_CAP_IRQCHIP))
		k->base.caps |= HV_CAP_IRQFD;
	if (ioctl(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD_RESAMPLE) > 0 &&
	    (k->base.caps & HV_CAP_IRQFD))
		k->base.caps |= HV_CAP_IRQFD_RESAMPLE;
	if (ioctl(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING) > 0 &&
	    (k->base.caps & HV_CAP_IRQCHIP))
		k->base.caps |= HV_CAP_MSI_ROUTING;
	if (ioctl(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0)
		k->base.caps |= HV_CAP_READONLY_MEM;
	if (k->sync_regs)
		k->base.caps |= HV_CAP_REG_PAGE;
	/* KVM_GET_DIRTY_LOG is as old as KVM itself. */
	k->base.caps |= HV_CAP_DIRTY_LOG;
	k->xsave = ioctl(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
	k->xcrs = ioctl(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
	r = state_msrs_init(k);
	if (r < 0)
		goto fail;
	*ret = &k->base;
	return 0;
fail:
	kvm_free(&k->base);
	return r;
}

/* ---- partitions ------------------------------------------------------------------------- */

static void kvm_vm_free(struct hv_vm *vm)
{
	struct kvm_vm *kv = to_kvm_vm(vm);

	if (kv->fd >= 0)
		close(kv->fd);
	pthread_mutex_destroy(&kv->routing_lock);
	free(kv);
}

static int kvm_enable_cap(int fd, uint32_t cap, uint64_t arg0)
{
	struct kvm_enable_cap ec = { .cap = cap, .args = { arg0 } };

	return xioctl(fd, KVM_ENABLE_CAP, &ec);
}

static int kvm_vm_new(struct hv *hv, const struct hv_vm_options *opts, struct hv_vm **ret)
{
	struct kvm_hv *k = to_kvm(hv);
	struct kvm_vm *kv;
	int r;

	kv = calloc(1, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	pthread_mutex_init(&kv->routing_lock, NULL);
	r = kv->fd = xioctl(k->fd, KVM_CREATE_VM, 0);
	if (r < 0)
		goto fail;
	/* Port 0x7e is special on KVM (RIP advanced before the exit); make it a normal port. */
	if (k->disable_quirks2)
		kvm_enable_cap(kv->fd, KVM_CAP_DISABLE_QUIRKS2, KVM_X86_QUIRK_OUT_7E_INC_RIP);
	/* Unknown MSRs exit to the caller (HV_EXIT_MSR) instead of injecting #GP. */
	if (k->user_msr)
		kvm_enable_cap(kv->fd, KVM_CAP_X86_USER_SPACE_MSR,
			       KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_INVAL);
	if (opts->irqchip || opts->lapic || opts->x2apic) {
		r = xioctl(kv->fd, KVM_CREATE_IRQCHIP, NULL);
		if (r < 0)
			goto fail;
		kv->irqchip = true;
		if (opts->x2apic) {
			r = kvm_enable_cap(kv->fd, KVM_CAP_X2APIC_API,
					   KVM_X2APIC_API_USE_32BIT_IDS);
			if (r < 0)
				goto fail;
		}
	}
	*ret = &kv->base;
	return 0;
fail:
	kvm_vm_free(&kv->base);
	return r;
}

static int kvm_set_region(struct hv_vm *vm, const struct hv_mapping *m, bool remove, bool log)
{
	struct kvm_userspace_memory_region region = {
		.slot = m->slot,
		.flags = (m->flags & HV_MAP_WRITE ? 0 : KVM_MEM_READONLY) |
			 (log ? KVM_MEM_LOG_DIRTY_PAGES : 0),
		.guest_phys_addr = m->gpa,
		.memory_size = remove ? 0 : m->size,
		.userspace_addr = (uintptr_t)m->host,
	};

	return xioctl(to_kvm_vm(vm)->fd, KVM_SET_USER_MEMORY_REGION, &region);
}

static int kvm_vm_map(struct hv_vm *vm, const struct hv_mapping *m)
{
	return kvm_set_region(vm, m, false, vm->dirty_log);
}

static int kvm_vm_unmap(struct hv_vm *vm, const struct hv_mapping *m)
{
	return kvm_set_region(vm, m, true, false);
}

/* Re-set every slot with or without KVM_MEM_LOG_DIRTY_PAGES (a flags-only change for KVM,
 * which starts the log clean); on failure the slots already changed are put back. */
static int kvm_vm_set_dirty_log(struct hv_vm *vm, bool on)
{
	int r = 0;
	unsigned i;

	for (i = 0; i < vm->map_slots && r == 0; i++)
		if (hv_vm_slot(vm, i)->used)
			r = kvm_set_region(vm, hv_vm_slot(vm, i), false, on);
	if (r == 0)
		return 0;
	while (i-- > 0)
		if (hv_vm_slot(vm, i)->used)
			kvm_set_region(vm, hv_vm_slot(vm, i), false, !on);
	return r;
}

static int kvm_vm_get_dirty_log(struct hv_vm *vm, const struct hv_mapping *m, uint64_t *bitmap)
{
	uint64_t words = (m->size / 4096 + 63) / 64;
	struct kvm_dirty_log log = { .slot = m->slot, .dirty_bitmap = bitmap };
	int r;

	/* KVM's bitmap is unsigned longs of (pages + 63) / 64 * 8 bytes, bit i of the array is
	 * page i: on x86-64 exactly the words of hv.h.  Fetching clears it (no manual protect). */
	r = xioctl(to_kvm_vm(vm)->fd, KVM_GET_DIRTY_LOG, &log);
	if (r < 0)
		return r;
	for (uint64_t i = 0; i < words; i++)
		bitmap[i] = le64toh(bitmap[i]);
	return 0;
}

static int kvm_vm_ioeventfd(struct hv_vm *vm, bool add, int fd, uint64_t addr, unsigned len,
			    unsigned flags, uint64_t datamatch)
{
	struct kvm_ioeventfd io = {
		.datamatch = datamatch,
		.addr = addr,
		.len = len,
		.fd = fd,
	};

	if (flags & HV_IOEVENTFD_PIO)
		io.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (flags & HV_IOEVENTFD_DATAMATCH)
		io.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	if (!add)
		io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	return xioctl(to_kvm_vm(vm)->fd, KVM_IOEVENTFD, &io);
}

static int kvm_vm_irqfd(struct hv_vm *vm, bool add, int fd, int resample_fd, uint32_t gsi)
{
	struct kvm_vm *kv = to_kvm_vm(vm);
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = gsi };

	if (!kv->irqchip)
		return -EOPNOTSUPP;
	if (!add) {
		irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
	} else if (resample_fd >= 0) {
		irqfd.flags = KVM_IRQFD_FLAG_RESAMPLE;
		irqfd.resamplefd = (uint32_t)resample_fd;
	}
	return xioctl(kv->fd, KVM_IRQFD, &irqfd);
}

/* GSIs below this are the irqchip pins, routed as KVM's default table does. */
#define KVM_IRQCHIP_GSIS 24

static int kvm_vm_set_msi_routing(struct hv_vm *vm, const struct hv_msi_route *routes, unsigned n)
{
	struct kvm_vm *kv = to_kvm_vm(vm);
	struct kvm_irq_routing *table;
	unsigned max = 16 + KVM_IRQCHIP_GSIS + n, nr = 0;
	int r;

	if (!kv->irqchip)
		return -EOPNOTSUPP;
	for (unsigned i = 0; i < n; i++)
		if (routes[i].gsi < KVM_IRQCHIP_GSIS)
			return -EINVAL;
	table = calloc(1, sizeof(*table) + max * sizeof(struct kvm_irq_routing_entry));
	if (!table)
		return -ENOMEM;
	/* Replacing the table replaces KVM's default irqchip routes too: put them back. */
	for (unsigned gsi = 0; gsi < KVM_IRQCHIP_GSIS; gsi++) {
		if (gsi < 16 && gsi != 2) {
			table->entries[nr].gsi = gsi;
			table->entries[nr].type = KVM_IRQ_ROUTING_IRQCHIP;
			table->entries[nr].u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
								      KVM_IRQCHIP_PIC_SLAVE;
			table->entries[nr].u.irqchip.pin = gsi % 8;
			nr++;
		}
		table->entries[nr].gsi = gsi;
		table->entries[nr].type = KVM_IRQ_ROUTING_IRQCHIP;
		table->entries[nr].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		table->entries[nr].u.irqchip.pin = gsi;
		nr++;
	}
	for (unsigned i = 0; i < n; i++, nr++) {
		table->entries[nr].gsi = routes[i].gsi;
		table->entries[nr].type = KVM_IRQ_ROUTING_MSI;
		table->entries[nr].u.msi.address_lo = routes[i].address_lo;
		table->entries[nr].u.msi.address_hi = routes[i].address_hi;
		table->entries[nr].u.msi.data = routes[i].data;
	}
	table->nr = nr;
	pthread_mutex_lock(&kv->routing_lock);
	r = xioctl(kv->fd, KVM_SET_GSI_ROUTING, table);
	pthread_mutex_unlock(&kv->routing_lock);
	free(table);
	return r < 0 ? r : 0;
}

static int kvm_vm_assert_interrupt(struct hv_vm *vm, const struct hv_interrupt *irq)
{
	static const uint32_t delivery[] = {
		[HV_INTERRUPT_FIXED] = 0,
		[HV_INTERRUPT_LOWEST] = 1,
		[HV_INTERRUPT_NMI] = 4,
		[HV_INTERRUPT_INIT] = 5,
		[HV_INTERRUPT_SIPI] = 6,
		[HV_INTERRUPT_EXTINT] = 7,
	};
	struct kvm_vm *kv = to_kvm_vm(vm);
	struct kvm_msi msi;
	int r;

	if (!kv->irqchip) {
		/* Without an in-kernel LAPIC only an NMI can be injected, into one vCPU. */
		struct hv_vcpu *vcpu;

		if (irq->type != HV_INTERRUPT_NMI || irq->logical)
			return -EOPNOTSUPP;
		vcpu = irq->apic_id < HV_MAX_VCPUS ? vm->vcpus[irq->apic_id] : NULL;
		if (!vcpu)
			return -ENOENT;
		r = xioctl(to_kvm_vcpu(vcpu)->fd, KVM_NMI, NULL);
		return r < 0 ? r : 0;
	}
	memset(&msi, 0, sizeof(msi));
	msi.address_lo = 0xfee00000u | (irq->apic_id & 0xff) << 12 |
			 (irq->logical ? 1u << 2 : 0) |
			 (irq->type == HV_INTERRUPT_LOWEST ? 1u << 3 : 0);
	if (vm->opts.x2apic)
		msi.address_hi = irq->apic_id & ~0xffu;
	else if (irq->apic_id > 0xff)
		return -EINVAL;
	msi.data = (irq->vector & 0xff) | delivery[irq->type] << 8 | 1u << 14 |
		   (irq->level ? 1u << 15 : 0);
	r = xioctl(kv->fd, KVM_SIGNAL_MSI, &msi);
	/* 0 means "not delivered" (masked), which is not an error for a caller that asserted a
	 * line.  KVM returns a bare -1 (errno EPERM) when no vCPU matches the destination:
	 * report that as -ENOENT, like the no-irqchip NMI path above. */
	if (r == -EPERM)
		return -ENOENT;
	return r < 0 ? r : 0;
}

/* ---- vCPUs ------------------------------------------------------------------------------ */

static void kvm_vcpu_free(struct hv_vcpu *vcpu)
{
	struct kvm_vcpu *kc = to_kvm_vcpu(vcpu);

	if (kc->run)
		munmap(kc->run, kc->run_size);
	if (kc->fd >= 0)
		close(kc->fd);
	free(kc->io.big);
	free(kc);
}

static int kvm_vcpu_new(struct hv_vm *vm, unsigned index, struct hv_vcpu **ret)
{
	struct kvm_hv *k = to_kvm(vm->hv);
	struct kvm_vcpu *kc;
	void *p;
	int r;

	kc = calloc(1, sizeof(*kc));
	if (!kc)
		return -ENOMEM;
	kc->base.vm = vm;
	r = kc->fd = xioctl(to_kvm_vm(vm)->fd, KVM_CREATE_VCPU, (void *)(uintptr_t)index);
	if (r < 0)
		goto fail;
	r = xioctl(kc->fd, KVM_SET_CPUID2, k->cpuid);
	if (r < 0)
		goto fail;
	kc->run_size = (size_t)k->run_size;
	p = mmap(NULL, kc->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, kc->fd, 0);
	if (p == MAP_FAILED) {
		r = -errno;
		goto fail;
	}
	kc->run = p;
	kc->run->kvm_valid_regs = (uint64_t)k->sync_regs;
	*ret = &kc->base;
	return 0;
fail:
	kvm_vcpu_free(&kc->base);
	return r;
}

/* Fetch a register set (KVM_GET_REGS or KVM_GET_SREGS into dst) unless *valid says it is. */
static int load_cached(struct kvm_vcpu *kc, unsigned long req, void *dst, bool *valid)
{
	int r;

	if (*valid)
		return 0;
	r = xioctl(kc->fd, req, dst);
	if (r < 0)
		return r;
	*valid = true;
	return 0;
}

static int load_regs(struct kvm_vcpu *kc)
{
	return load_cached(kc, KVM_GET_REGS, &kc->regs, &kc->regs_valid);
}

static int load_sregs(struct kvm_vcpu *kc)
{
	return load_cached(kc, KVM_GET_SREGS, &kc->sregs, &kc->sregs_valid);
}

/* After every KVM_RUN: the registers KVM stored in kvm_run, else fetch on demand. */
static void sync_from_run(struct kvm_vcpu *kc)
{
	uint64_t valid = kc->run->kvm_valid_regs;

	kc->regs_valid = kc->sregs_valid = false;
	if (valid & KVM_SYNC_X86_REGS) {
		kc->regs = kc->run->s.regs.regs;
		kc->regs_valid = true;
	}
	if (valid & KVM_SYNC_X86_SREGS) {
		kc->sregs = kc->run->s.regs.sregs;
		kc->sregs_valid = true;
	}
}

static __u64 *gpr_slot(struct kvm_regs *r, enum hv_reg reg)
{
	switch (reg) {
	case HV_REG_RAX: return &r->rax;
	case HV_REG_RCX: return &r->rcx;
	case HV_REG_RDX: return &r->rdx;
	case HV_REG_RBX: return &r->rbx;
	case HV_REG_RSP: return &r->rsp;
	case HV_REG_RBP: return &r->rbp;
	case HV_REG_RSI: return &r->rsi;
	case HV_REG_RDI: return &r->rdi;
	case HV_REG_R8: return &r->r8;
	case HV_REG_R9: return &r->r9;
	case HV_REG_R10: return &r->r10;
	case HV_REG_R11: return &r->r11;
	case HV_REG_R12: return &r->r12;
	case HV_REG_R13: return &r->r13;
	case HV_REG_R14: return &r->r14;
	case HV_REG_R15: return &r->r15;
	case HV_REG_RIP: return &r->rip;
	case HV_REG_RFLAGS: return &r->rflags;
	default: return NULL;
	}
}

static struct kvm_segment *seg_slot(struct kvm_sregs *s, enum hv_reg reg)
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

static __u64 *sreg_u64_slot(struct kvm_sregs *s, enum hv_reg reg)
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

static void seg_to_hv(const struct kvm_segment *k, struct hv_segment *h)
{
	bool present = k->present && !k->unusable;

	h->base = k->base;
	h->limit = k->limit;
	h->selector = k->selector;
	h->attributes = (uint16_t)((k->type & 0xf) | (k->s & 1) << 4 | (k->dpl & 3) << 5 |
				   (present ? 1 : 0) << 7 | (k->avl & 1) << 12 | (k->l & 1) << 13 |
				   (k->db & 1) << 14 | (k->g & 1) << 15);
}

static void seg_from_hv(const struct hv_segment *h, struct kvm_segment *k)
{
	memset(k, 0, sizeof(*k));
	k->base = h->base;
	k->limit = h->limit;
	k->selector = h->selector;
	k->type = h->attributes & 0xf;
	k->s = h->attributes >> 4 & 1;
	k->dpl = h->attributes >> 5 & 3;
	k->present = h->attributes >> 7 & 1;
	k->avl = h->attributes >> 12 & 1;
	k->l = h->attributes >> 13 & 1;
	k->db = h->attributes >> 14 & 1;
	k->g = h->attributes >> 15 & 1;
	k->unusable = !k->present;
}

enum { NEED_REGS = 1, NEED_SREGS = 2, NEED_DREGS = 4, NEED_MSRS = 8 };

static unsigned reg_class(enum hv_reg reg)
{
	if (gpr_slot(&(struct kvm_regs){ 0 }, reg))
		return NEED_REGS;
	if (reg >= HV_REG_ES && reg <= HV_REG_APIC_BASE)
		return NEED_SREGS;
	if (reg >= HV_REG_DR0 && reg <= HV_REG_DR7)
		return NEED_DREGS;
	return NEED_MSRS;
}

static __u64 *dreg_slot(struct kvm_debugregs *d, enum hv_reg reg)
{
	switch (reg) {
	case HV_REG_DR0: return &d->db[0];
	case HV_REG_DR1: return &d->db[1];
	case HV_REG_DR2: return &d->db[2];
	case HV_REG_DR3: return &d->db[3];
	case HV_REG_DR6: return &d->dr6;
	case HV_REG_DR7: return &d->dr7;
	default: return NULL;
	}
}

struct kvm_msrs_buf {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[HV_REG_COUNT];
};

static int kvm_vcpu_get_regs(struct hv_vcpu *vcpu, struct hv_reg_value *regs, unsigned n)
{
	struct kvm_vcpu *kc = to_kvm_vcpu(vcpu);
	struct kvm_debugregs dregs;
	struct kvm_msrs_buf msrs;
	unsigned need = 0;
	int r;

	for (unsigned i = 0; i < n; i++)
		need |= reg_class(regs[i].reg);
	if (need & NEED_REGS && (r = load_regs(kc)) < 0)
		return r;
	if (need & NEED_SREGS && (r = load_sregs(kc)) < 0)
		return r;
	if (need & NEED_DREGS && (r = xioctl(kc->fd, KVM_GET_DEBUGREGS, &dregs)) < 0)
		return r;
	if (need & NEED_MSRS) {
		memset(&msrs, 0, sizeof(msrs));
		for (unsigned i = 0; i < n; i++)
			if (reg_class(regs[i].reg) == NEED_MSRS)
				msrs.e[msrs.hdr.nmsrs++].index = hv_reg_msr_index(regs[i].reg);
		r = xioctl(kc->fd, KVM_GET_MSRS, &msrs);
		if (r < 0)
			return r;
		if ((unsigned)r != msrs.hdr.nmsrs)
			return -EIO;
	}
	for (unsigned i = 0, m = 0; i < n; i++) {
		enum hv_reg reg = regs[i].reg;

		switch (reg_class(reg)) {
		case NEED_REGS:
			regs[i].u64 = *gpr_slot(&kc->regs, reg);
			/* While an exit is pending KVM may already show RIP past the instruction;
			 * the normalized view is the instruction's own address, as on mshv. */
			if (reg == HV_REG_RIP && vcpu->exit_pending)
				regs[i].u64 = vcpu->exit.rip;
			break;
		case NEED_SREGS:
			if (seg_slot(&kc->sregs, reg))
				seg_to_hv(seg_slot(&kc->sregs, reg), &regs[i].seg);
			else if (reg == HV_REG_GDTR || reg == HV_REG_IDTR) {
				struct kvm_dtable *t = reg == HV_REG_GDTR ? &kc->sregs.gdt :
									    &kc->sregs.idt;
				regs[i].table.base = t->base;
				regs[i].table.limit = t->limit;
			} else
				regs[i].u64 = *sreg_u64_slot(&kc->sregs, reg);
			break;
		case NEED_DREGS:
			regs[i].u64 = *dreg_slot(&dregs, reg);
			break;
		default:
			regs[i].u64 = msrs.e[m++].data;
			break;
		}
	}
	return 0;
}

static int kvm_vcpu_set_regs(struct hv_vcpu *vcpu, const struct hv_reg_value *regs, unsigned n)
{
	struct kvm_vcpu *kc = to_kvm_vcpu(vcpu);
	struct kvm_debugregs dregs;
	struct kvm_msrs_buf msrs;
	struct kvm_regs nregs;
	struct kvm_sregs nsregs;
	unsigned need = 0;
	int r;

	for (unsigned i = 0; i < n; i++)
		need |= reg_class(regs[i].reg);
	if (need & NEED_REGS && (r = load_regs(kc)) < 0)
		return r;
	if (need & NEED_SREGS && (r = load_sregs(kc)) < 0)
		return r;
	if (need & NEED_DREGS && (r = xioctl(kc->fd, KVM_GET_DEBUGREGS, &dregs)) < 0)
		return r;
	nregs = kc->regs;
	nsregs = kc->sregs;
	memset(&msrs, 0, sizeof(msrs));
	for (unsigned i = 0; i < n; i++) {
		enum hv_reg reg = regs[i].reg;

		switch (reg_class(reg)) {
		case NEED_REGS:
			*gpr_slot(&nregs, reg) = regs[i].u64;
			break;
		case NEED_SREGS:
			if (seg_slot(&nsregs, reg))
				seg_from_hv(&regs[i].seg, seg_slot(&nsregs, reg));
			else if (reg == HV_REG_GDTR || reg == HV_REG_IDTR) {
				struct kvm_dtable *t = reg == HV_REG_GDTR ? &nsregs.gdt : &nsregs.idt;

				t->base = regs[i].table.base;
				t->limit = regs[i].table.limit;
			} else
				*sreg_u64_slot(&nsregs, reg) = regs[i].u64;
			break;
		case NEED_DREGS:
			*dreg_slot(&dregs, reg) = regs[i].u64;
			break;
		default:
			msrs.e[msrs.hdr.nmsrs].index = hv_reg_msr_index(reg);
			msrs.e[msrs.hdr.nmsrs++].data = regs[i].u64;
			break;
		}
	}
	/* Order: segments and control registers first, so a RIP set with them is applied in the
	 * mode they establish. */
	if (need & NEED_SREGS) {
		r = xioctl(kc->fd, KVM_SET_SREGS, &nsregs);
		if (r < 0)
			return r;
		kc->sregs = nsregs;
		/* KVM may adjust what it was given (e.g. EFER.LMA); read back lazily. */
		kc->sregs_valid = false;
	}
	if (need & NEED_REGS) {
		r = xioctl(kc->fd, KVM_SET_REGS, &nregs);
		if (r < 0)
			return r;
		kc->regs = nregs;
	}
	if (need & NEED_DREGS) {
		dregs.flags = 0;
		r = xioctl(kc->fd, KVM_SET_DEBUGREGS, &dregs);
		if (r < 0)
			return r;
	}
	if (need & NEED_MSRS) {
		r = xioctl(kc->fd, KVM_SET_MSRS, &msrs);
		if (r < 0)
			return r;
		if ((unsigned)r != msrs.hdr.nmsrs)
			return -EINVAL;
	}
	return 0;
}

/* ---- guest memory access for decoding ---------------------------------------------------- */

static int kvm_translate(struct kvm_vcpu *kc, uint64_t gva, struct kvm_translation *ret)
{
	struct kvm_translation tr = { .linear_address = gva };
	int r = xioctl(kc->fd, KVM_TRANSLATE, &tr);

	if (r < 0)
		return r;
	if (!tr.valid)
		return -EFAULT;
	*ret = tr;
	return 0;
}

/*
 * Copy up to n bytes at guest linear address lin; returns how many were readable.  The walk
 * reads the guest's page tables in the RAM we map (sregs must be loaded): a KVM_TRANSLATE per
 * page costs a vCPU ioctl, and the backward decode reads up to 15 candidates per exit.
 */
static unsigned read_linear(struct kvm_vcpu *kc, uint64_t lin, uint8_t *buf, unsigned n)
{
	const struct hv_paging pg = {
		.cr0 = kc->sregs.cr0, .cr3 = kc->sregs.cr3, .cr4 = kc->sregs.cr4,
		.efer = kc->sregs.efer,
	};

	return hv_vm_read_linear(kc->base.vm, &pg, lin, buf, n);
}

static enum x86_mode insn_mode(const struct kvm_sregs *s)
{
	if ((s->efer & X86_EFER_LMA) && s->cs.l)
		return X86_MODE_LONG;
	if (!(s->cr0 & X86_CR0_PE))
		return X86_MODE_REAL;
	return s->cs.db ? X86_MODE_PROT32 : X86_MODE_PROT16;
}

static uint64_t cs_linear(const struct kvm_sregs *s, uint64_t rip)
{
	return insn_mode(s) == X86_MODE_LONG ? rip : s->cs.base + (rip & 0xffffffff);
}

/*
 * KVM reported RIP past an instruction it emulated; find where it started.  Every candidate
 * length is decoded forward and must end exactly at rip and match the exit (accept()).  Among
 * the matches the longest without odd prefixes wins: prefixes written in the guest code are
 * part of the instruction, while an earlier instruction's bytes rarely decode into a valid
 * longer candidate too.
 */
static int find_start(struct kvm_vcpu *kc, uint64_t rip,
		      bool (*accept)(const struct x86_insn *in, const void *ctx), const void *ctx,
		      uint64_t *ret_start, uint8_t *ret_len)
{
	enum x86_mode mode = insn_mode(&kc->sregs);
	uint8_t buf[15];
	unsigned got, best = 0;
	uint64_t lin = cs_linear(&kc->sregs, rip);

	for (unsigned len = 15; len >= 1; len--) {
		struct x86_insn in;

		if (rip < len)
			continue;
		got = read_linear(kc, lin - len, buf, len);
		if (got != len)
			continue;
		if (x86_decode_length(buf, len, mode, &in) < 0 || in.len != len || in.odd_prefix)
			continue;
		if (!accept(&in, ctx))
			continue;
		best = len;
		break;
	}
	if (!best)
		return -ENOENT;
	*ret_start = rip - best;
	*ret_len = (uint8_t)best;
	return 0;
}

struct io_ctx {
	bool in;
	uint8_t size;
	uint16_t port;
	uint16_t dx;
	uint8_t last;		/* byte before rip: the port of E4-E7 */
};

/* An I/O instruction of the exit's direction and size: IN/OUT (port checked) or INS/OUTS. */
static bool accept_io(const struct x86_insn *in, const void *p)
{
	const struct io_ctx *c = p;
	uint8_t op = in->opcode[0], size = in->opsize == 8 ? 4 : in->opsize;

	if (in->opcode_len != 1)
		return false;
	if (op >= 0x6c && op <= 0x6f)
		return c->in == (op <= 0x6d) && (op & 1 ? size : 1) == c->size;
	if (op >= 0xe4 && op <= 0xe7)
		return c->in == (op <= 0xe5) && (op & 1 ? size : 1) == c->size &&
		       c->last == c->port;
	if (op >= 0xec && op <= 0xef)
		return c->in == (op <= 0xed) && (op & 1 ? size : 1) == c->size &&
		       c->dx == c->port;
	return false;
}

static bool accept_mmio_write(const struct x86_insn *in, const void *p)
{
	const uint8_t *size = p;

	if (in->rex == 0x40 && x86_insn_mem_write_size(in) != 1)
		return false;	/* a lone REX is meaningful only for byte registers */
	return x86_insn_mem_write_size(in) == *size;
}

/* ---- running ----------------------------------------------------------------------------- */

static void kvm_vcpu_kick(struct hv_vcpu *vcpu)
{
	struct kvm_vcpu *kc = to_kvm_vcpu(vcpu);

	hv_kick_set(&kc->kick);
	/* Seen by KVM_RUN at entry; the signal covers a vCPU already inside the guest. */
	__atomic_store_n(&kc->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	hv_kick_notify(&kc->kick);
}

/* After a KVM_RUN that returned r: whether KVM now holds a completion for the next one. */
static void kvm_note_pending(struct kvm_vcpu *kc, int r)
{
	uint32_t why = kc->run->exit_reason;

	if (r == -EINTR)
		kc->kvm_pending = false;	/* it ran (and consumed) any completion */
	else if (r >= 0)
		kc->kvm_pending = why == KVM_EXIT_IO || why == KVM_EXIT_MMIO ||
				  why == KVM_EXIT_X86_RDMSR || why == KVM_EXIT_X86_WRMSR;
}

/* Enter KVM_RUN once.  Returns 0 (an exit in kvm_run), -EINTR or another negative errno. */
static int kvm_enter(struct kvm_vcpu *kc, bool immediate)
{
	int r;

	hv_kick_bind(&kc->kick, NULL);
	if (immediate || hv_kick_pending(&kc->kick))
		__atomic_store_n(&kc->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	hv_kick_enter(&kc->kick);
	r = xioctl(kc->fd, KVM_RUN, NULL);
	hv_kick_leave(&kc->kick);
	if (immediate)
		__atomic_store_n(&kc->run->immediate_exit, hv_kick_pending(&kc->kick) ? 1 : 0,
				 __ATOMIC_SEQ_CST);
	/* KVM fills the sync-regs area only when it returns an exit, not on EINTR. */
	if (r < 0)
		kc->regs_valid = kc->sregs_valid = false;
	else
		sync_from_run(kc);
	kvm_note_pending(kc, r);
	return r < 0 ? r : 0;
}

/*
 * Let KVM finish the exit in kvm_run without running the guest.  A new exit produced on the
 * way (the next element of a REP instruction, the write of a read-modify-write) is stashed.
 */
static int complete_in_kernel(struct kvm_vcpu *kc)
{
	int r = kvm_enter(kc, true);

	if (r == 0) {
		kc->stashed = true;
		return 0;
	}
	return r == -EINTR ? 0 : r;
}

static void io_present(struct kvm_vcpu *kc, struct hv_exit *exit)
{
	struct kvm_io_elems *io = &kc->io;
	unsigned i = io->next++;

	memset(exit, 0, sizeof(*exit));
	exit->kind = HV_EXIT_IO;
	exit->rip = io->rip;
	exit->rflags = io->rflags;
	exit->insn_len = io->insn_len;
	exit->io.port = io->port;
	exit->io.size = io->size;
	exit->io.write = !io->in;
	exit->io.string = io->string;
	exit->io.rep = io->rep;
	exit->io.count = io->rep ? (io->rep_count > i ? io->rep_count - i : 1) : 1;
	if (!io->in)
		memcpy(&exit->io.data, io->data + (size_t)i * io->size, io->size);
}

/* The I/O instruction at rip, if it is one that matches the exit. */
static bool io_insn_at(struct kvm_vcpu *kc, uint64_t rip, const struct io_ctx *ctx,
		       struct x86_insn *ret)
{
	struct io_ctx c = *ctx;
	struct x86_insn d;
	uint8_t buf[15];
	unsigned got = read_linear(kc, cs_linear(&kc->sregs, rip), buf, sizeof(buf));

	if (got == 0 || x86_decode_length(buf, got, insn_mode(&kc->sregs), &d) < 0)
		return false;
	c.last = buf[d.len - 1];
	if (!accept_io(&d, &c))
		return false;
	*ret = d;
	return true;
}

/* INS or OUTS (6C-6F). */
static bool is_string_io(const struct x86_insn *d)
{
	return d->opcode_len == 1 && d->opcode[0] >= 0x6c && d->opcode[0] <= 0x6f;
}

/* A string I/O instruction: REP and the remaining count from RCX. */
static void string_rep(struct kvm_vcpu *kc, const struct x86_insn *d, uint64_t rcx,
		       struct kvm_io_elems *io)
{
	uint64_t mask = d->addrsize == 2 ? 0xffff : d->addrsize == 4 ? 0xffffffff : ~(uint64_t)0;

	io->string = true;
	if (!(d->prefixes & X86_PFX_REP))
		return;	/* REP is F3 (the last of F2/F3); F2 alone is not counted */
	io->rep = true;
	/* KVM's INS exit comes before RCX moves; OUTS after this element was counted. */
	io->rep_count = (rcx & mask) + (io->in ? 0 : 1);
}

/* One OUT element that is not port 0x7e (KVM's OUT_7E_INC_RIP quirk advances RIP before that
 * exit where the quirk cannot be disabled): a candidate for out_fast(). */
static bool out_plain(const struct kvm_io_elems *io)
{
	return !io->in && io->count == 1 && io->port != 0x7e;
}

/*
 * A non-string OUT on a kernel that exits from it with RIP past the instruction and whose
 * completion then leaves RIP alone (kc->out_past, learned on the first one; Linux 6.x): the
 * data is in kvm_run already and nothing is handed back, so the exit is left for the next
 * KVM_RUN to complete instead of a KVM_RUN with immediate_exit and a KVM_GET_REGS per exit.
 * The instruction is found by the backward decode over the RAM we map (cached for a loop
 * that repeats it).  Kernels that leave RIP on the instruction keep the general path, which
 * shows RIP advanced as soon as the exit is completed.  False: use the general path.
 */
static bool out_fast(struct kvm_vcpu *kc, uint64_t rip, struct io_ctx *ctx, struct hv_exit *exit)
{
	struct kvm_io_elems *io = &kc->io;
	struct x86_insn d;
	uint64_t start;
	uint8_t len, buf[15];

	if (rip == kc->last_rip_after && kc->last_len) {
		start = kc->last_start;
		len = kc->last_len;
	} else {
		/* The byte before rip: the port operand of E4-E7, for accept_io(). */
		read_linear(kc, cs_linear(&kc->sregs, rip) - 1, &ctx->last, 1);
		if (find_start(kc, rip, accept_io, ctx, &start, &len) < 0)
			return false;
	}
	if (read_linear(kc, cs_linear(&kc->sregs, start), buf, len) != len ||
	    x86_decode_length(buf, len, insn_mode(&kc->sregs), &d) < 0 || d.len != len ||
	    is_string_io(&d))
		return false;
	kc->last_rip_after = rip;
	kc->last_start = start;
	kc->last_len = len;
	io->done = true;
	io->rip = start;
	io->insn_len = len;
	io_present(kc, exit);
	return true;
}

static int normalize_io(struct kvm_vcpu *kc, struct hv_exit *exit)
{
	struct kvm_run *run = kc->run;
	struct kvm_io_elems *io = &kc->io;
	uint64_t rip = kc->regs.rip, rcx = kc->regs.rcx;
	struct io_ctx ctx = {
		.in = run->io.direction == KVM_EXIT_IO_IN,
		.size = run->io.size,
		.port = run->io.port,
		.dx = (uint16_t)kc->regs.rdx,
	};
	struct x86_insn at = { .len = 0 };
	uint8_t len = 0;
	bool past, moved = false;
	int r;

	if (run->io.count == 0 || run->io.count > KVM_MAX_IO_ELEMS ||
	    !(run->io.size == 1 || run->io.size == 2 || run->io.size == 4))
		return -EIO;
	memset(io, 0, offsetof(struct kvm_io_elems, data));
	io->data = io->small;
	if ((size_t)run->io.count * run->io.size > sizeof(io->small)) {
		if (!io->big && !(io->big = malloc(KVM_MAX_IO_ELEMS * 4)))
			return -ENOMEM;
		io->data = io->big;
	}
	io->active = true;
	io->in = run->io.direction == KVM_EXIT_IO_IN;
	io->port = run->io.port;
	io->size = run->io.size;
	io->count = run->io.count;
	memcpy(io->data, (uint8_t *)run + run->io.data_offset, (size_t)io->count * io->size);

	io->rflags = kc->regs.rflags;
	if (out_plain(io) && kc->out_past > 0 && out_fast(kc, rip, &ctx, exit))
		return 0;
	if (!io->in) {
		/* OUT is completed at once (the data is already here).  Older KVMs exit from a
		 * non-string OUT with RIP on the instruction and advance it now; newer ones have
		 * advanced it already and leave it alone. */
		r = complete_in_kernel(kc);
		if (r < 0)
			return r;
		io->done = true;
		r = load_regs(kc);
		if (r < 0)
			return r;
		if (kc->regs.rip != rip)
			at.len = (uint8_t)(kc->regs.rip - rip);
		moved = at.len != 0;
	}
	/* Depending on the kernel and on the REP iteration, RIP is on the instruction or past
	 * it: try the instruction at RIP first, then one ending at RIP. */
	if (at.len) {
		past = false;
		len = at.len;
	} else if (io_insn_at(kc, rip, &ctx, &at)) {
		past = false;
		len = at.len;
	} else {
		past = true;
	}
	if (!past && is_string_io(&at))
		string_rep(kc, &at, rcx, io);
	if (past) {
		uint64_t start;
		struct x86_insn d;
		uint8_t buf[15];

		if (rip == kc->last_rip_after && kc->last_len) {
			start = kc->last_start;
			len = kc->last_len;
		} else {
			/* The byte before rip: the port operand of E4-E7, for accept_io(). */
			read_linear(kc, cs_linear(&kc->sregs, rip) - 1, &ctx.last, 1);
			if (find_start(kc, rip, accept_io, &ctx, &start, &len) < 0) {
				start = rip;	/* undecodable: report what KVM showed */
				len = 0;
			}
		}
		kc->last_rip_after = rip;
		kc->last_start = start;
		kc->last_len = len;
		if (len && read_linear(kc, cs_linear(&kc->sregs, start), buf, len) == len &&
		    x86_decode_length(buf, len, insn_mode(&kc->sregs), &d) == 0 &&
		    is_string_io(&d))
			string_rep(kc, &d, rcx, io);
		rip = start;
	}
	/* Learn how this kernel reports a plain OUT, for out_fast(): decoded backwards (past
	 * the instruction) with RIP left alone by the completion, or not. */
	if (out_plain(io) && !io->string && !kc->out_past && len)
		kc->out_past = past && !moved ? 1 : -1;
	io->rip = rip;
	io->insn_len = len;
	io_present(kc, exit);
	return 0;
}

static int normalize_mmio(struct kvm_vcpu *kc, struct hv_exit *exit)
{
	struct kvm_run *run = kc->run;
	uint64_t rip = kc->regs.rip;
	uint8_t len = 0;

	memset(exit, 0, sizeof(*exit));
	exit->kind = HV_EXIT_MMIO;
	exit->rflags = kc->regs.rflags;
	exit->mmio.gpa = run->mmio.phys_addr;
	exit->mmio.size = (uint8_t)run->mmio.len;
	exit->mmio.write = run->mmio.is_write;
	if (run->mmio.len > 8)
		return -EIO;
	if (run->mmio.is_write) {
		uint8_t size = (uint8_t)run->mmio.len;
		uint64_t start;

		memcpy(&exit->mmio.data, run->mmio.data, run->mmio.len);
		if (rip == kc->last_rip_after && kc->last_len) {
			rip = kc->last_start;
			len = kc->last_len;
		} else if (find_start(kc, rip, accept_mmio_write, &size, &start, &len) == 0) {
			kc->last_rip_after = rip;
			kc->last_start = start;
			kc->last_len = len;
			rip = start;
		}
	} else {
		struct x86_insn d;
		uint8_t buf[15];
		unsigned got = read_linear(kc, cs_linear(&kc->sregs, rip), buf, sizeof(buf));

		if (got && x86_decode_length(buf, got, insn_mode(&kc->sregs), &d) == 0)
			len = d.len;
	}
	exit->rip = rip;
	exit->insn_len = len;
	return 0;
}

static int normalize(struct kvm_vcpu *kc, struct hv_exit *exit)
{
	struct kvm_run *run = kc->run;
	int r;

	if ((r = load_regs(kc)) < 0 || (r = load_sregs(kc)) < 0)
		return r;
	/* The backward-decode cache is valid only across consecutive elements of one string
	 * instruction. */
	if (run->exit_reason != KVM_EXIT_IO && run->exit_reason != KVM_EXIT_MMIO)
		kc->last_len = 0;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return normalize_io(kc, exit);
	case KVM_EXIT_MMIO:
		return normalize_mmio(kc, exit);
	}
	kc->last_len = 0;
	memset(exit, 0, sizeof(*exit));
	exit->rip = kc->regs.rip;
	exit->rflags = kc->regs.rflags;
	switch (run->exit_reason) {
	case KVM_EXIT_HLT:
		exit->kind = HV_EXIT_HALT;
		break;
	case KVM_EXIT_SHUTDOWN:
		exit->kind = HV_EXIT_SHUTDOWN;
		break;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		exit->kind = HV_EXIT_MSR;
		exit->insn_len = 2;
		exit->msr.index = run->msr.index;
		exit->msr.write = run->exit_reason == KVM_EXIT_X86_WRMSR;
		exit->msr.data = exit->msr.write ? run->msr.data : 0;
		break;
	default:
		exit->kind = HV_EXIT_UNKNOWN;
		exit->unknown.code = run->exit_reason;
		break;
	}
	return 0;
}

static int kvm_vcpu_run(struct hv_vcpu *vcpu, struct hv_exit *exit)
{
	struct kvm_vcpu *kc = to_kvm_vcpu(vcpu);
	int r;

	if (kc->io.active && kc->io.next < kc->io.count) {
		io_present(kc, exit);
		return 0;
	}
	kc->io.active = false;
	if (kc->stashed) {
		kc->stashed = false;
		return normalize(kc, exit);
	}
	/* Only a kick ends the run (and is consumed by it); a stray signal just re-enters. */
	while ((r = kvm_enter(kc, false)) == -EINTR && !hv_kick_consume(&kc->kick))
		;
	if (r == -EINTR) {
		__atomic_store_n(&kc->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		if (hv_kick_pending(&kc->kick))
			__atomic_store_n(&kc->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		memset(exit, 0, sizeof(*exit));
		exit->kind = HV_EXIT_INTERRUPTED;
		if (load_regs(kc) == 0) {
			exit->rip = kc->regs.rip;
			exit->rflags = kc->regs.rflags;
		}
		return 0;
	}
	if (r < 0)
		return r;
	return normalize(kc, exit);
}

static int kvm_vcpu_complete(struct hv_vcpu *vcpu, const struct hv_completion *c)
{
	struct kvm_vcpu *kc = to_kvm_vcpu(vcpu);
	struct kvm_run *run = kc->run;
	struct kvm_io_elems *io = &kc->io;

	switch (vcpu->exit.kind) {
	case HV_EXIT_IO:
		if (!io->active)
			return 0;
		if (io->in)
			memcpy(io->data + (size_t)(io->next - 1) * io->size, &c->value, io->size);
		if (io->next < io->count || io->done)
			return 0;
		/* The last element: hand every value to KVM at once. */
		memcpy((uint8_t *)run + run->io.data_offset, io->data,
		       (size_t)io->count * io->size);
		io->done = true;
		return complete_in_kernel(kc);
	case HV_EXIT_MMIO:
		if (!vcpu->exit.mmio.write)
			memcpy(run->mmio.data, &c->value, vcpu->exit.mmio.size);
		return complete_in_kernel(kc);
	case HV_EXIT_MSR:
		run->msr.error = c->inject_gp ? 1 : 0;
		if (!vcpu->exit.msr.write)
			run->msr.data = c->value;
		return complete_in_kernel(kc);
	default:
		return 0;
	}
}

static int kvm_vcpu_translate_gva(struct hv_vcpu *vcpu, uint64_t gva, unsigned access,
				  uint64_t *ret_gpa)
{
	struct kvm_translation tr;
	int r = kvm_translate(to_kvm_vcpu(vcpu), gva, &tr);

	if (r < 0)
		return r;
	if ((access & HV_MAP_WRITE) && !tr.writeable)
		return -EFAULT;
	*ret_gpa = tr.physical_address;
	return 0;
}

/* ---- snapshots --------------------------------------------------------------------------- */

/*
 * The vCPU blob is what KVM's own state ioctls return, one fixed-size struct (about 9 KiB);
 * the vm blob holds the in-kernel PIC and IOAPIC (and PIT when there is one) and the guest
 * clock.  Body versions change with any layout change.
 */
#define KVM_VM_STATE_VERSION	1
#define KVM_VCPU_STATE_VERSION	1

enum {
	KVM_STATE_XSAVE		= 1u << 0,	/* xsave holds x87/SSE/AVX (else fpu) */
	KVM_STATE_XCRS		= 1u << 1,
	KVM_STATE_IRQCHIP	= 1u << 2,	/* lapic and mp_state are valid */
	KVM_STATE_FLAGS		= (1u << 3) - 1,
};

struct kvm_state_vcpu {
	struct hv_state_header h;
	uint32_t flags;				/* KVM_STATE_* */
	uint32_t nmsrs;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	uint32_t xsave[1024];			/* struct kvm_xsave (legacy 4 KiB) */
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dregs;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	uint32_t reserved;
	struct kvm_lapic_state lapic;
	struct kvm_msr_entry msrs[KVM_STATE_MAX_MSRS];
};

enum {
	KVM_VM_STATE_IRQCHIP	= 1u << 0,	/* chips[] are valid */
	KVM_VM_STATE_PIT	= 1u << 1,	/* pit is valid */
	KVM_VM_STATE_FLAGS	= (1u << 2) - 1,
};

struct kvm_state_vm {
	struct hv_state_header h;
	uint32_t flags;				/* KVM_VM_STATE_* */
	uint32_t reserved;
	struct kvm_clock_data clock;
	struct kvm_irqchip chips[3];		/* PIC master, PIC slave, IOAPIC */
	struct kvm_pit_state2 pit;
};

static int kvm_vm_save_state(struct hv_vm *vm, void **ret, size_t *ret_size)
{
	struct kvm_vm *kv = to_kvm_vm(vm);
	struct kvm_state_vm *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	hv_state_header_init(&s->h, HV_BACKEND_KVM, KVM_VM_STATE_VERSION, sizeof(*s));
	r = xioctl(kv->fd, KVM_GET_CLOCK, &s->clock);
	if (r < 0)
		goto fail;
	if (kv->irqchip) {
		for (unsigned i = 0; i < 3; i++) {
			/* KVM_IRQCHIP_PIC_MASTER, _SLAVE, _IOAPIC */
			s->chips[i].chip_id = i;
			r = xioctl(kv->fd, KVM_GET_IRQCHIP, &s->chips[i]);
			if (r < 0)
				goto fail;
		}
		s->flags |= KVM_VM_STATE_IRQCHIP;
		/* This backend creates no PIT; one made another way is kept too. */
		r = xioctl(kv->fd, KVM_GET_PIT2, &s->pit);
		if (r == 0)
			s->flags |= KVM_VM_STATE_PIT;
		else if (r != -ENXIO)
			goto fail;
	}
	*ret = s;
	*ret_size = sizeof(*s);
	return 0;
fail:
	free(s);
	return r;
}

static int kvm_vm_restore_state(struct hv_vm *vm, const void *state, size_t size)
{
	struct kvm_vm *kv = to_kvm_vm(vm);
	struct kvm_state_vm s;
	struct kvm_clock_data clock = { 0 };
	int r;

	memcpy(&s.h, state, sizeof(s.h));
	if (s.h.version != KVM_VM_STATE_VERSION)
		return -EPROTO;
	if (size != sizeof(s))
		return -EINVAL;
	memcpy(&s, state, sizeof(s));
	if ((s.flags & ~(uint32_t)KVM_VM_STATE_FLAGS) || s.reserved ||
	    !!(s.flags & KVM_VM_STATE_IRQCHIP) != kv->irqchip ||
	    ((s.flags & KVM_VM_STATE_PIT) && !(s.flags & KVM_VM_STATE_IRQCHIP)))
		return -EINVAL;
	for (unsigned i = 0; i < 3 && (s.flags & KVM_VM_STATE_IRQCHIP); i++)
		if (s.chips[i].chip_id != i)
			return -EINVAL;
	if (s.flags & KVM_VM_STATE_IRQCHIP) {
		for (unsigned i = 0; i < 3; i++) {
			r = xioctl(kv->fd, KVM_SET_IRQCHIP, &s.chips[i]);
			if (r < 0)
				return r;
		}
	}
	if (s.flags & KVM_VM_STATE_PIT) {
		r = xioctl(kv->fd, KVM_SET_PIT2, &s.pit);
		if (r < 0)
			return r;
	}
	/* The guest clock as saved, not advanced by the host time in between (no
	 * KVM_CLOCK_REALTIME): a restored guest resumes where it was. */
	clock.clock = s.clock.clock;
	r = xioctl(kv->fd, KVM_SET_CLOCK, &clock);
	return r < 0 ? r : 0;
}

/* Address-size mask of a string instruction at rip (decoded; the mode's default otherwise). */
static uint64_t string_addr_mask(struct kvm_vcpu *kc, uint64_t rip)
{
	enum x86_mode mode = insn_mode(&kc->sregs);
	unsigned size = mode == X86_MODE_LONG ? 8 : mode == X86_MODE_PROT32 ? 4 : 2;
	struct x86_insn d;
	uint8_t buf[15];
	unsigned got = read_linear(kc, cs_linear(&kc->sregs, rip), buf, sizeof(buf));

	if (got && x86_decode_length(buf, got, mode, &d) == 0)
		size = d.addrsize;
	return size == 8 ? ~(uint64_t)0 : size == 4 ? 0xffffffffull : 0xffff;
}

/* reg = reg + delta within the address size (a 32-bit result zero-extends, 16-bit keeps the
 * upper bits), as the CPU steps string registers. */
static void step_reg(__u64 *reg, int64_t delta, uint64_t mask)
{
	uint64_t v = (*reg + (uint64_t)delta) & mask;

	*reg = mask == 0xffff ? (*reg & ~mask) | v : v;
}

/*
 * The registers of a vCPU whose exit is pending, as they were before the exit's instruction
 * (hv.h): RIP is the exit's, and for OUTS, which KVM has executed by the time it exits (and,
 * for REP, possibly the next element too, stashed), RSI and RCX step back by the elements
 * KVM counted past the exit's.  INS is saved at the start of its batch (RIP on it, RDI and
 * RCX not moved yet): restoring replays the batch's elements from the first.  An MMIO write
 * comes after KVM executed the instruction; only RIP is put back (right for MOV and the ALU
 * forms, not for string or stack writes to MMIO).
 */
static void regs_before_exit(struct kvm_vcpu *kc, const struct hv_exit *e, struct kvm_regs *r)
{
	r->rip = e->rip;
	if (e->kind == HV_EXIT_IO && e->io.string && e->io.write) {
		uint64_t mask = string_addr_mask(kc, e->rip), steps = 1;
		int64_t size = e->io.size, dir = r->rflags & (1u << 10) ? 1 : -1;

		if (e->io.rep) {
			steps = (e->io.count - (r->rcx & mask)) & mask;
			step_reg(&r->rcx, (int64_t)steps, mask);
		}
		step_reg(&r->rsi, dir * size * (int64_t)steps, mask);
	}
}

static int save_msrs(struct kvm_vcpu *kc, struct kvm_state_vcpu *s)
{
	struct kvm_hv *k = to_kvm(kc->base.vm->hv);
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[KVM_STATE_MAX_MSRS];
	} m;
	unsigned n = 0;

	/* KVM_GET_MSRS stops at the first MSR it cannot read (TSC_DEADLINE without a LAPIC, a
	 * PV MSR the guest's CPUID hides): that one is left out and the rest read again. */
	for (unsigned i = 0; i < k->nstate_msrs; ) {
		int r;

		memset(&m.hdr, 0, sizeof(m.hdr));
		for (unsigned j = i; j < k->nstate_msrs; j++)
			m.e[m.hdr.nmsrs++] = (struct kvm_msr_entry){ .index = k->state_msrs[j] };
		r = xioctl(kc->fd, KVM_GET_MSRS, &m);
		if (r < 0)
			return r;
		memcpy(&s->msrs[n], m.e, (size_t)r * sizeof(m.e[0]));
		n += (unsigned)r;
		i += (unsigned)r + 1;
	}
	s->nmsrs = n;
	return 0;
}

static int kvm_vcpu_save_state(struct hv_vcpu *vcpu, void **ret, size_t *ret_size)
{
	struct kvm_vcpu *kc = to_kvm_vcpu(vcpu);
	struct kvm_hv *k = to_kvm(vcpu->vm->hv);
	struct kvm_state_vcpu *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	hv_state_header_init(&s->h, HV_BACKEND_KVM, KVM_VCPU_STATE_VERSION, sizeof(*s));
	if ((r = load_regs(kc)) < 0 || (r = load_sregs(kc)) < 0)
		goto fail;
	s->regs = kc->regs;
	s->sregs = kc->sregs;
	if (vcpu->exit_pending)
		regs_before_exit(kc, &vcpu->exit, &s->regs);
	else if (kc->io.active && kc->io.next < kc->io.count)
		s->regs.rip = kc->io.rip;	/* inside an INS batch: from its start, as above */
	if (k->xsave) {
		r = xioctl(kc->fd, KVM_GET_XSAVE, s->xsave);
		s->flags |= KVM_STATE_XSAVE;
	} else {
		r = xioctl(kc->fd, KVM_GET_FPU, &s->fpu);
	}
	if (r < 0)
		goto fail;
	if (k->xcrs) {
		if ((r = xioctl(kc->fd, KVM_GET_XCRS, &s->xcrs)) < 0)
			goto fail;
		s->flags |= KVM_STATE_XCRS;
	}
	if ((r = xioctl(kc->fd, KVM_GET_DEBUGREGS, &s->dregs)) < 0 ||
	    (r = xioctl(kc->fd, KVM_GET_VCPU_EVENTS, &s->events)) < 0 ||
	    (r = save_msrs(kc, s)) < 0)
		goto fail;
	if (to_kvm_vm(vcpu->vm)->irqchip) {
		if ((r = xioctl(kc->fd, KVM_GET_LAPIC, &s->lapic)) < 0 ||
		    (r = xioctl(kc->fd, KVM_GET_MP_STATE, &s->mp)) < 0)
			goto fail;
		s->flags |= KVM_STATE_IRQCHIP;
	}
	*ret = s;
	*ret_size = sizeof(*s);
	return 0;
fail:
	free(s);
	return r;
}

/* A pending IN's data, when KVM completes it, goes to RAX or (INS) to guest memory at RDI:
 * give KVM the bytes already there, so that finishing it changes no memory. */
static void in_keep_memory(struct kvm_vcpu *kc)
{
	struct kvm_run *run = kc->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	enum x86_mode mode;
	uint64_t mask;
	int64_t dir;

	if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_IN ||
	    run->io.count > KVM_MAX_IO_ELEMS || load_regs(kc) < 0 || load_sregs(kc) < 0)
		return;
	mode = insn_mode(&kc->sregs);
	mask = mode == X86_MODE_LONG ? ~(uint64_t)0 : mode == X86_MODE_PROT32 ? 0xffffffff : 0xffff;
	dir = kc->regs.rflags & (1u << 10) ? -1 : 1;
	for (uint32_t i = 0; i < run->io.count; i++) {
		uint64_t off = (kc->regs.rdi + (uint64_t)(dir * (int64_t)i * run->io.size)) & mask;

		read_linear(kc, (mode == X86_MODE_LONG ? 0 : kc->sregs.es.base) + off,
			    data + (size_t)i * run->io.size, run->io.size);
	}
}

/*
 * KVM runs a pending exit's completion (its complete_userspace_io) at the start of the next
 * KVM_RUN, before it looks at immediate_exit, on whatever registers the vCPU has then: after a
 * restore it would finish the old instruction on the new state (write RAX, skip an
 * instruction).  So a restore first lets KVM finish it on the old state, without running the
 * guest (immediate_exit), as often as KVM asks for more (the next REP element, a write half).
 * Not kvm_enter(): the caller may be another thread than the vCPU's, which must not become the
 * kick target.
 */
static int kvm_drop_pending(struct kvm_vcpu *kc)
{
	for (unsigned i = 0; kc->kvm_pending; i++) {
		int r;

		if (i == 16)
			return -EIO;
		in_keep_memory(kc);
		__atomic_store_n(&kc->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		r = xioctl(kc->fd, KVM_RUN, NULL);
		__atomic_store_n(&kc->run->immediate_exit, hv_kick_pending(&kc->kick) ? 1 : 0,
				 __ATOMIC_SEQ_CST);
		if (r < 0 && r != -EINTR)
			return r;
		kvm_note_pending(kc, r);
		kc->regs_valid = kc->sregs_valid = false;
	}
	kc->stashed = false;
	kc->io.active = false;
	kc->last_len = 0;
	return 0;
}

/* The blob's MSRs are among those this backend saves here (else it came from another host). */
static bool msrs_known(const struct kvm_hv *k, const struct kvm_state_vcpu *s)
{
	if (s->nmsrs > KVM_STATE_MAX_MSRS)
		return false;
	for (unsigned i = 0; i < s->nmsrs; i++) {
		unsigned j;

		if (s->msrs[i].reserved)
			return false;
		for (j = 0; j < k->nstate_msrs && k->state_msrs[j] != s->msrs[i].index; j++)
			;
		if (j == k->nstate_msrs)
			return false;
	}
	return true;
}

static int kvm_vcpu_restore_state(struct hv_vcpu *vcpu, const void *state, size_t size)
{
	struct kvm_vcpu *kc = to_kvm_vcpu(vcpu);
	struct kvm_hv *k = to_kvm(vcpu->vm->hv);
	bool irqchip = to_kvm_vm(vcpu->vm)->irqchip;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[KVM_STATE_MAX_MSRS];
	} m;
	struct kvm_state_vcpu s;
	int r;

	memcpy(&s.h, state, sizeof(s.h));
	if (s.h.version != KVM_VCPU_STATE_VERSION)
		return -EPROTO;
	if (size != sizeof(s))
		return -EINVAL;
	/* A copy: the caller's buffer need not be aligned for the struct. */
	memcpy(&s, state, sizeof(s));
	if ((s.flags & ~(uint32_t)KVM_STATE_FLAGS) || s.reserved ||
	    !!(s.flags & KVM_STATE_IRQCHIP) != irqchip ||
	    !!(s.flags & KVM_STATE_XSAVE) != k->xsave || ((s.flags & KVM_STATE_XCRS) && !k->xcrs) ||
	    !msrs_known(k, &s))
		return -EINVAL;

	r = kvm_drop_pending(kc);
	if (r < 0)
		return r;
	/* Control registers and segments first, so the rest applies in their mode; the LAPIC
	 * after sregs (CR8 is its TPR); events after the LAPIC and sregs, whose interrupt bitmap
	 * they override; the activity state last. */
	if ((r = xioctl(kc->fd, KVM_SET_SREGS, &s.sregs)) < 0 ||
	    (r = xioctl(kc->fd, KVM_SET_REGS, &s.regs)) < 0)
		goto out;
	if (s.flags & KVM_STATE_XSAVE)
		r = xioctl(kc->fd, KVM_SET_XSAVE, s.xsave);
	else
		r = xioctl(kc->fd, KVM_SET_FPU, &s.fpu);
	if (r < 0)
		goto out;
	if ((s.flags & KVM_STATE_XCRS) && (r = xioctl(kc->fd, KVM_SET_XCRS, &s.xcrs)) < 0)
		goto out;
	memset(&m.hdr, 0, sizeof(m.hdr));
	m.hdr.nmsrs = s.nmsrs;
	memcpy(m.e, s.msrs, s.nmsrs * sizeof(m.e[0]));
	r = xioctl(kc->fd, KVM_SET_MSRS, &m);
	if (r >= 0 && (unsigned)r != s.nmsrs)
		r = -EINVAL;	/* KVM refused one (index s.msrs[r]) */
	if (r < 0)
		goto out;
	if (irqchip && (r = xioctl(kc->fd, KVM_SET_LAPIC, &s.lapic)) < 0)
		goto out;
	if ((r = xioctl(kc->fd, KVM_SET_DEBUGREGS, &s.dregs)) < 0 ||
	    (r = xioctl(kc->fd, KVM_SET_VCPU_EVENTS, &s.events)) < 0)
		goto out;
	if (irqchip && (r = xioctl(kc->fd, KVM_SET_MP_STATE, &s.mp)) < 0)
		goto out;
	r = 0;
out:
	/* What KVM holds now is read back on demand. */
	kc->regs_valid = kc->sregs_valid = false;
	return r;
}

const struct hv_ops hv_kvm_ops = {
	.name = "kvm",
	.backend = HV_BACKEND_KVM,
	.irq = { .pin_gsis = 24, .irqchip_option = "irqchip", .nmi_without_irqchip = true },
	.open = kvm_open,
	.free = kvm_free,
	.vm_new = kvm_vm_new,
	.vm_free = kvm_vm_free,
	.vm_map = kvm_vm_map,
	.vm_unmap = kvm_vm_unmap,
	.vm_ioeventfd = kvm_vm_ioeventfd,
	.vm_irqfd = kvm_vm_irqfd,
	.vm_set_msi_routing = kvm_vm_set_msi_routing,
	.vm_assert_interrupt = kvm_vm_assert_interrupt,
	.vcpu_new = kvm_vcpu_new,
	.vcpu_free = kvm_vcpu_free,
	.vcpu_get_regs = kvm_vcpu_get_regs,
	.vcpu_set_regs = kvm_vcpu_set_regs,
	.vcpu_run = kvm_vcpu_run,
	.vcpu_complete = kvm_vcpu_complete,
	.vcpu_kick = kvm_vcpu_kick,
	.vcpu_translate_gva = kvm_vcpu_translate_gva,
	.vm_set_dirty_log = kvm_vm_set_dirty_log,
	.vm_get_dirty_log = kvm_vm_get_dirty_log,
	.vm_save_state = kvm_vm_save_state,
	.vm_restore_state = kvm_vm_restore_state,
	.vcpu_save_state = kvm_vcpu_save_state,
	.vcpu_restore_state = kvm_vcpu_restore_state,
};
