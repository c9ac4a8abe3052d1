// SPDX-License-Identifier: MIT
/* The generic half of the hypervisor layer: backend choice, argument and capability checks,
 * the mapping table and pending-exit bookkeeping shared by every backend. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hv/hv-backend.h"
#include "hv/x86/x86.h"

/* The backends built into this binary, indexed by enum hv_backend.  Adding a backend is one
 * row here (plus its extern in hv-backend.h). */
static const struct hv_ops *const hv_backends[] = {
	[HV_BACKEND_AUTO] = NULL,
	[HV_BACKEND_MSHV] = &hv_mshv_ops,
	[HV_BACKEND_KVM] = &hv_kvm_ops,
#ifdef HAVE_UNICORN
	[HV_BACKEND_EMU] = &hv_emu_ops,
#else
	[HV_BACKEND_EMU] = NULL,	/* configure --without-unicorn */
#endif
};

int hv_backend_from_name(const char *name, enum hv_backend *ret)
{
	static const char *const names[] = {
		[HV_BACKEND_AUTO] = "auto",
		[HV_BACKEND_MSHV] = "mshv",
		[HV_BACKEND_KVM] = "kvm",
		[HV_BACKEND_EMU] = "emu",
	};

	if (!name || !ret)
		return -EINVAL;
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0) {
			*ret = (enum hv_backend)i;
			return 0;
		}
	return -ENOENT;
}

/* The kick signal is SIGRTMIN + this. */
#define HV_KICK_SIGNAL_OFFSET 4

static int kick_signal;
static pthread_once_t kick_once = PTHREAD_ONCE_INIT;

static void kick_handler(int sig)
{
	(void)sig;
}

/* One handler for the whole process, without SA_RESTART so the run ioctl returns EINTR. */
static void kick_install(void)
{
	struct sigaction sa;
	int sig = SIGRTMIN + HV_KICK_SIGNAL_OFFSET;

	if (sig > SIGRTMAX)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) == 0)
		kick_signal = sig;
}

int hv_kick_signal_setup(void)
{
	pthread_once(&kick_once, kick_install);
	return kick_signal ? kick_signal : -EIO;
}

int hv_kick_signal(void)
{
	return kick_signal;
}

bool hv_kick_notify(struct hv_kick *k)
{
	if (!atomic_load(&k->in_run) || !atomic_load(&k->have_thread))
		return false;
	pthread_kill(k->thread, kick_signal);
	return true;
}

void hv_kick_bind(struct hv_kick *k, void (*on_rebind)(struct hv_kick *k, pid_t tid))
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	sigset_t set;

	if (atomic_load(&k->have_thread) && k->tid == tid)
		return;
	sigemptyset(&set);
	sigaddset(&set, kick_signal);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	atomic_store(&k->have_thread, false);
	if (on_rebind)
		on_rebind(k, tid);
	k->tid = tid;
	k->thread = pthread_self();
	atomic_store(&k->have_thread, true);
}

static int hv_open_one(enum hv_backend backend, const char *path, struct hv **ret)
{
	const struct hv_ops *ops = hv_backends[backend];
	struct hv *hv;
	int r;

	if (!ops)
		return -EOPNOTSUPP;
	r = ops->open(path, &hv);
	if (r < 0)
		return r;
	hv->ops = ops;
	*ret = hv;
	return 0;
}

int hv_open(enum hv_backend backend, const char *path, struct hv **ret)
{
	int r;

	if (!ret)
		return -EINVAL;
	switch (backend) {
	case HV_BACKEND_MSHV:
	case HV_BACKEND_KVM:
	case HV_BACKEND_EMU:
		return hv_open_one(backend, path, ret);
	case HV_BACKEND_AUTO:
		/* A path names one device; it cannot apply to both.  Never emu: a software CPU is
		 * not an isolation boundary, so it is used only when asked for by name. */
		if (path)
			return -EINVAL;
		r = hv_open_one(HV_BACKEND_MSHV, NULL, ret);
		if (r == 0)
			return 0;
		r = hv_open_one(HV_BACKEND_KVM, NULL, ret);
		return r == 0 ? 0 : -ENODEV;
	}
	return -EINVAL;
}

struct hv *hv_free(struct hv *hv)
{
	if (hv)
		hv->ops->free(hv);
	return NULL;
}

const struct hv_irq_model *hv_irq_model(const struct hv *hv)
{
	return &hv->ops->irq;
}

const char *hv_name(const struct hv *hv)
{
	return hv ? hv->ops->name : NULL;
}

bool hv_hardware_isolation(const struct hv *hv)
{
	return hv && !hv->ops->emulated;
}

bool hv_backend_available(enum hv_backend backend)
{
	return (unsigned)backend < sizeof(hv_backends) / sizeof(hv_backends[0]) &&
	       (backend == HV_BACKEND_AUTO || hv_backends[backend] != NULL);
}

uint32_t hv_caps(const struct hv *hv)
{
	return hv ? hv->caps : 0;
}

const struct hv_driver_info *hv_driver_info(const struct hv *hv)
{
	return hv && hv->ops->driver_info ? hv->ops->driver_info(hv) : NULL;
}

uint32_t hv_last_status(const struct hv *hv)
{
	return hv ? hv->last_status : 0;
}

uint32_t hv_vm_last_status(const struct hv_vm *vm)
{
	return vm ? vm->last_status : 0;
}

uint32_t hv_vcpu_last_status(const struct hv_vcpu *vcpu)
{
	return vcpu ? vcpu->last_status : 0;
}

/* ---- partitions ------------------------------------------------------------------------- */

int hv_vm_new(struct hv *hv, const struct hv_vm_options *opts, struct hv_vm **ret)
{
	static const struct hv_vm_options defaults;
	struct hv_vm *vm;
	int r;

	if (!hv || !ret)
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	if ((opts->irqchip && !(hv->caps & HV_CAP_IRQCHIP)) ||
	    (opts->lapic && !(hv->caps & HV_CAP_LAPIC)) ||
	    (opts->x2apic && !(hv->caps & HV_CAP_X2APIC)) ||
	    (opts->gpa_super_pages && !(hv->caps & HV_CAP_GPA_SUPER_PAGES)) ||
	    (opts->nested_virtualization && !(hv->caps & HV_CAP_NESTED_VIRT)) ||
	    (opts->smt_guest && !(hv->caps & HV_CAP_SMT_GUEST)) ||
	    (opts->cpu_features && !(hv->caps & HV_CAP_CPU_FEATURES)))
		return -EOPNOTSUPP;
	r = hv->ops->vm_new(hv, opts, &vm);
	if (r < 0)
		return r;
	vm->hv = hv;
	vm->opts = *opts;
	*ret = vm;
	return 0;
}

struct hv_vm *hv_vm_free(struct hv_vm *vm)
{
	struct hv_mapping *chunks[HV_MAX_MAPPINGS / HV_MAP_CHUNK];

	if (!vm)
		return NULL;
	/* Mappings outlive nothing: the partition goes away with them.  The backend tears down
	 * its own kernel state (and frees vm); the table here is plain memory. */
	memcpy(chunks, vm->map_chunks, sizeof(chunks));
	vm->hv->ops->vm_free(vm);
	for (unsigned i = 0; i < HV_MAX_MAPPINGS / HV_MAP_CHUNK; i++)
		free(chunks[i]);
	return NULL;
}

static bool ranges_overlap(uint64_t a, uint64_t asize, uint64_t b, uint64_t bsize)
{
	return a < b + bsize && b < a + asize;
}

int hv_vm_map(struct hv_vm *vm, uint64_t gpa, void *host, uint64_t size, unsigned flags)
{
	struct hv_mapping *slot = NULL;
	unsigned index = 0;
	int r;

	if (!vm || !host || size == 0 || (gpa | size | (uintptr_t)host) & 0xfff ||
	    gpa + size < gpa || (flags & ~(HV_MAP_READ | HV_MAP_WRITE | HV_MAP_EXEC)))
		return -EINVAL;
	if (!(flags & HV_MAP_WRITE) && !(vm->hv->caps & HV_CAP_READONLY_MEM))
		return -EOPNOTSUPP;
	for (unsigned i = 0; i < vm->map_slots; i++) {
		struct hv_mapping *m = hv_vm_slot(vm, i);

		if (!m->used) {
			if (!slot) {
				slot = m;
				index = i;
			}
			continue;
		}
		if (ranges_overlap(gpa, size, m->gpa, m->size))
			return -EEXIST;
	}
	if (!slot) {
		struct hv_mapping *chunk;

		if (vm->map_slots >= HV_MAX_MAPPINGS)
			return -ENOSPC;
		chunk = calloc(HV_MAP_CHUNK, sizeof(*chunk));
		if (!chunk)
			return -ENOMEM;
		index = vm->map_slots;
		vm->map_chunks[index / HV_MAP_CHUNK] = chunk;
		/* The chunk is complete before a vCPU thread can see it. */
		__atomic_store_n(&vm->map_slots, index + HV_MAP_CHUNK, __ATOMIC_RELEASE);
		slot = chunk;
	}
	*slot = (struct hv_mapping){
		.gpa = gpa,
		.size = size,
		.host = host,
		.flags = flags | HV_MAP_READ,
		.slot = index,
	};
	r = vm->hv->ops->vm_map(vm, slot);
	if (r < 0)
		return r;
	slot->used = true;
	return 0;
}

void *hv_vm_gpa_host(struct hv_vm *vm, uint64_t gpa, uint64_t *ret_avail,
		     const struct hv_mapping **ret_map)
{
	unsigned n = __atomic_load_n(&vm->map_slots, __ATOMIC_ACQUIRE);

	for (unsigned i = 0; i < n; i++) {
		const struct hv_mapping *m = hv_vm_slot(vm, i);

		if (m->used && gpa >= m->gpa && gpa - m->gpa < m->size) {
			*ret_avail = m->size - (gpa - m->gpa);
			if (ret_map)
				*ret_map = m;
			return (uint8_t *)m->host + (gpa - m->gpa);
		}
	}
	return NULL;
}

static int walk_read_pte(struct hv_vm *vm, uint64_t gpa, unsigned size, uint64_t *ret)
{
	uint64_t avail;
	const void *p = hv_vm_gpa_host(vm, gpa, &avail, NULL);

	if (!p || avail < size)
		return -EFAULT;
	*ret = 0;
	memcpy(ret, p, size);
	return 0;
}

int hv_vm_walk(struct hv_vm *vm, const struct hv_paging *pg, uint64_t lin, uint64_t *ret_gpa)
{
	uint64_t entry, table;
	unsigned size, bits;
	int levels;

	if (!(pg->cr0 & X86_CR0_PG)) {
		*ret_gpa = pg->efer & X86_EFER_LMA ? lin : lin & 0xffffffffull;
		return 0;
	}
	if (pg->efer & X86_EFER_LMA) {
		levels = 4;
		size = 8;
		table = pg->cr3 & 0x000ffffffffff000ull;
	} else if (pg->cr4 & X86_CR4_PAE) {
		levels = 3;
		size = 8;
		table = pg->cr3 & 0xffffffe0ull;
		lin &= 0xffffffffull;
	} else {
		levels = 2;
		size = 4;
		table = pg->cr3 & 0xfffff000ull;
		lin &= 0xffffffffull;
	}
	bits = size == 8 ? 9 : 10;
	for (int level = levels; level >= 1; level--) {
		bool pdpte = levels == 3 && level == 3;
		unsigned shift = pdpte ? 30 : 12 + bits * (unsigned)(level - 1);
		uint64_t index = pdpte ? (lin >> 30) & 3 : (lin >> shift) & ((1u << bits) - 1);
		uint64_t mask = (1ull << shift) - 1, frame;

		if (walk_read_pte(vm, table + index * size, size, &entry) < 0 || !(entry & 1))
			return -EFAULT;
		if (level == 1) {
			frame = size == 8 ? entry & 0x000ffffffffff000ull : entry & 0xfffff000ull;
		} else if (!pdpte && (entry & 0x80) && (size == 8 || (pg->cr4 & X86_CR4_PSE))) {
			/* A large page: 1 GiB / 2 MiB, or 4 MiB in two-level paging (PA 32-39 in
			 * bits 13-20). */
			if (size == 4)
				frame = (entry & 0xffc00000ull) | ((entry & 0x1fe000ull) << 19);
			else
				frame = entry & 0x000fffffffffffffull & ~mask;
		} else {
			table = size == 8 ? entry & 0x000ffffffffff000ull : entry & 0xfffff000ull;
			continue;
		}
		*ret_gpa = (frame & ~mask) | (lin & mask);
		return 0;
	}
	return -EFAULT;
}

unsigned hv_vm_read_linear(struct hv_vm *vm, const struct hv_paging *pg, uint64_t lin, void *buf,
			   unsigned n)
{
	unsigned done = 0;

	while (done < n) {
		uint64_t gpa, avail, chunk = 4096 - ((lin + done) & 4095);
		const void *host;

		if (hv_vm_walk(vm, pg, lin + done, &gpa) < 0)
			break;
		host = hv_vm_gpa_host(vm, gpa, &avail, NULL);
		if (!host)
			break;
		if (chunk > avail)
			chunk = avail;
		if (chunk > n - done)
			chunk = n - done;
		memcpy((uint8_t *)buf + done, host, chunk);
		done += (unsigned)chunk;
	}
	return done;
}

int hv_vm_unmap(struct hv_vm *vm, uint64_t gpa, uint64_t size)
{
	int r;

	if (!vm)
		return -EINVAL;
	for (unsigned i = 0; i < vm->map_slots; i++) {
		struct hv_mapping *m = hv_vm_slot(vm, i);

		if (!m->used || m->gpa != gpa || m->size != size)
			continue;
		r = vm->hv->ops->vm_unmap(vm, m);
		if (r < 0)
			return r;
		m->used = false;
		return 0;
	}
	return -ENOENT;
}

int hv_vm_pause(struct hv_vm *vm)
{
	if (!vm)
		return -EINVAL;
	if (!(vm->hv->caps & HV_CAP_PAUSE) || !vm->hv->ops->vm_pause)
		return -EOPNOTSUPP;
	return vm->hv->ops->vm_pause(vm);
}

int hv_vm_resume(struct hv_vm *vm)
{
	if (!vm)
		return -EINVAL;
	if (!(vm->hv->caps & HV_CAP_PAUSE) || !vm->hv->ops->vm_resume)
		return -EOPNOTSUPP;
	return vm->hv->ops->vm_resume(vm);
}

static int ioeventfd_check(struct hv_vm *vm, int fd, unsigned len, unsigned flags)
{
	uint32_t need = flags & HV_IOEVENTFD_PIO ? HV_CAP_IOEVENTFD_PIO : HV_CAP_IOEVENTFD_MMIO;

	if (!vm || fd < 0 || (flags & ~(HV_IOEVENTFD_PIO | HV_IOEVENTFD_DATAMATCH)))
		return -EINVAL;
	if (len != 0 && len != 1 && len != 2 && len != 4 && len != 8)
		return -EINVAL;
	if ((flags & HV_IOEVENTFD_PIO) && len == 8)
		return -EINVAL;
	if ((flags & HV_IOEVENTFD_DATAMATCH) && len == 0)
		return -EINVAL;
	if (!(vm->hv->caps & need) || !vm->hv->ops->vm_ioeventfd)
		return -EOPNOTSUPP;
	return 0;
}

int hv_vm_add_ioeventfd(struct hv_vm *vm, int fd, uint64_t addr, unsigned len, unsigned flags,
			uint64_t datamatch)
{
	int r = ioeventfd_check(vm, fd, len, flags);

	return r < 0 ? r : vm->hv->ops->vm_ioeventfd(vm, true, fd, addr, len, flags, datamatch);
}

int hv_vm_remove_ioeventfd(struct hv_vm *vm, int fd, uint64_t addr, unsigned len, unsigned flags,
			   uint64_t datamatch)
{
	int r = ioeventfd_check(vm, fd, len, flags);

	return r < 0 ? r : vm->hv->ops->vm_ioeventfd(vm, false, fd, addr, len, flags, datamatch);
}

int hv_vm_add_irqfd(struct hv_vm *vm, int fd, int resample_fd, uint32_t gsi)
{
	if (!vm || fd < 0)
		return -EINVAL;
	if (!(vm->hv->caps & HV_CAP_IRQFD) || !vm->hv->ops->vm_irqfd)
		return -EOPNOTSUPP;
	if (resample_fd >= 0 && !(vm->hv->caps & HV_CAP_IRQFD_RESAMPLE))
		return -EOPNOTSUPP;
	return vm->hv->ops->vm_irqfd(vm, true, fd, resample_fd, gsi);
}

int hv_vm_remove_irqfd(struct hv_vm *vm, int fd, uint32_t gsi)
{
	if (!vm || fd < 0)
		return -EINVAL;
	if (!(vm->hv->caps & HV_CAP_IRQFD) || !vm->hv->ops->vm_irqfd)
		return -EOPNOTSUPP;
	return vm->hv->ops->vm_irqfd(vm, false, fd, -1, gsi);
}

int hv_vm_set_msi_routing(struct hv_vm *vm, const struct hv_msi_route *routes, unsigned n)
{
	if (!vm || (n && !routes))
		return -EINVAL;
	if (!(vm->hv->caps & HV_CAP_MSI_ROUTING) || !vm->hv->ops->vm_set_msi_routing)
		return -EOPNOTSUPP;
	return vm->hv->ops->vm_set_msi_routing(vm, routes, n);
}

int hv_vm_assert_interrupt(struct hv_vm *vm, const struct hv_interrupt *irq)
{
	if (!vm || !irq || irq->type > HV_INTERRUPT_EXTINT || irq->vector > 0xff)
		return -EINVAL;
	if (!(vm->hv->caps & HV_CAP_ASSERT_INTERRUPT) || !vm->hv->ops->vm_assert_interrupt)
		return -EOPNOTSUPP;
	return vm->hv->ops->vm_assert_interrupt(vm, irq);
}

/* ---- vCPUs ------------------------------------------------------------------------------ */

int hv_vcpu_new(struct hv_vm *vm, unsigned index, struct hv_vcpu **ret)
{
	struct hv_vcpu *vcpu;
	int r;

	if (!vm || !ret || index >= HV_MAX_VCPUS)
		return -EINVAL;
	if (vm->vcpus[index])
		return -EEXIST;
	r = vm->hv->ops->vcpu_new(vm, index, &vcpu);
	if (r < 0)
		return r;
	vcpu->vm = vm;
	vcpu->index = index;
	vcpu->data = NULL;
	vcpu->exit_pending = false;
	vm->vcpus[index] = vcpu;
	vm->nvcpus++;
	*ret = vcpu;
	return 0;
}

struct hv_vcpu *hv_vcpu_free(struct hv_vcpu *vcpu)
{
	struct hv_vm *vm;

	if (!vcpu)
		return NULL;
	vm = vcpu->vm;
	if (vm->vcpus[vcpu->index] == vcpu) {
		vm->vcpus[vcpu->index] = NULL;
		vm->nvcpus--;
	}
	vm->hv->ops->vcpu_free(vcpu);
	return NULL;
}

unsigned hv_vcpu_index(const struct hv_vcpu *vcpu)
{
	return vcpu->index;
}

struct hv_vcpu *hv_vm_vcpu(const struct hv_vm *vm, unsigned index)
{
	return vm && index < HV_MAX_VCPUS ? vm->vcpus[index] : NULL;
}

unsigned hv_vm_nvcpus(const struct hv_vm *vm)
{
	return vm ? vm->nvcpus : 0;
}

void hv_vcpu_set_data(struct hv_vcpu *vcpu, void *data)
{
	vcpu->data = data;
}

void *hv_vcpu_data(const struct hv_vcpu *vcpu)
{
	return vcpu ? vcpu->data : NULL;
}

static int regs_check(const struct hv_reg_value *regs, unsigned n)
{
	if (n && !regs)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if ((unsigned)regs[i].reg >= HV_REG_COUNT)
			return -EINVAL;
	return 0;
}

int hv_vcpu_get_regs(struct hv_vcpu *vcpu, struct hv_reg_value *regs, unsigned n)
{
	int r;

	if (!vcpu)
		return -EINVAL;
	r = regs_check(regs, n);
	if (r < 0 || n == 0)
		return r;
	return vcpu->vm->hv->ops->vcpu_get_regs(vcpu, regs, n);
}

int hv_vcpu_set_regs(struct hv_vcpu *vcpu, const struct hv_reg_value *regs, unsigned n)
{
	int r;

	if (!vcpu)
		return -EINVAL;
	r = regs_check(regs, n);
	if (r < 0 || n == 0)
		return r;
	/* Completion writes RIP (and RAX or memory) from the state at the exit; letting the caller
	 * change registers in between would make the two backends diverge. */
	if (vcpu->exit_pending)
		return -EBUSY;
	return vcpu->vm->hv->ops->vcpu_set_regs(vcpu, regs, n);
}

bool hv_exit_needs_completion(const struct hv_exit *exit)
{
	switch (exit->kind) {
	case HV_EXIT_IO:
	case HV_EXIT_MMIO:
	case HV_EXIT_CPUID:
	case HV_EXIT_MSR:
		return true;
	default:
		return false;
	}
}

static const struct hv_completion hv_default_completion = {
	.value = ~(uint64_t)0,
	.cpuid = { 0, 0, 0, 0 },
};

int hv_vcpu_run(struct hv_vcpu *vcpu, struct hv_exit *exit)
{
	int r;

	if (!vcpu || !exit)
		return -EINVAL;
	if (vcpu->exit_pending) {
		r = hv_vcpu_complete(vcpu, NULL);
		if (r < 0)
			return r;
	}
	r = vcpu->vm->hv->ops->vcpu_run(vcpu, &vcpu->exit);
	if (r < 0)
		return r;
	vcpu->exit_pending = hv_exit_needs_completion(&vcpu->exit);
	*exit = vcpu->exit;
	return 0;
}

int hv_vcpu_run_bounded(struct hv_vcpu *vcpu, struct hv_exit *exit, uint64_t max_insns)
{
	int r;

	if (!vcpu || !exit || !max_insns)
		return -EINVAL;
	if (!(vcpu->vm->hv->caps & HV_CAP_BOUNDED_RUN) || !vcpu->vm->hv->ops->vcpu_run_bounded)
		return -EOPNOTSUPP;
	if (vcpu->exit_pending) {
		r = hv_vcpu_complete(vcpu, NULL);
		if (r < 0)
			return r;
	}
	r = vcpu->vm->hv->ops->vcpu_run_bounded(vcpu, &vcpu->exit, max_insns);
	if (r < 0)
		return r;
	vcpu->exit_pending = hv_exit_needs_completion(&vcpu->exit);
	*exit = vcpu->exit;
	return 0;
}

int hv_vcpu_complete(struct hv_vcpu *vcpu, const struct hv_completion *c)
{
	struct hv_completion def;
	int r;

	if (!vcpu)
		return -EINVAL;
	if (!vcpu->exit_pending)
		return 0;
	if (!c) {
		def = hv_default_completion;
		/* Default CPUID results are what the hypervisor itself would have returned. */
		if (vcpu->exit.kind == HV_EXIT_CPUID)
			memcpy(def.cpuid, vcpu->exit.cpuid.result, sizeof(def.cpuid));
		c = &def;
	}
	r = vcpu->vm->hv->ops->vcpu_complete(vcpu, c);
	if (r < 0)
		return r;
	vcpu->exit_pending = false;
	return 0;
}

bool hv_vcpu_exit_pending(const struct hv_vcpu *vcpu)
{
	return vcpu && vcpu->exit_pending;
}

void hv_vcpu_kick(struct hv_vcpu *vcpu)
{
	if (vcpu)
		vcpu->vm->hv->ops->vcpu_kick(vcpu);
}

int hv_vcpu_translate_gva(struct hv_vcpu *vcpu, uint64_t gva, unsigned access, uint64_t *ret_gpa)
{
	if (!vcpu || !ret_gpa || (access & ~(HV_MAP_READ | HV_MAP_WRITE | HV_MAP_EXEC)))
		return -EINVAL;
	if (!(vcpu->vm->hv->caps & HV_CAP_TRANSLATE_GVA) || !vcpu->vm->hv->ops->vcpu_translate_gva)
		return -EOPNOTSUPP;
	return vcpu->vm->hv->ops->vcpu_translate_gva(vcpu, gva, access, ret_gpa);
}

/* ---- snapshots --------------------------------------------------------------------------- */

int hv_vm_set_dirty_log(struct hv_vm *vm, bool on)
{
	int r;

	if (!vm)
		return -EINVAL;
	if (!(vm->hv->caps & HV_CAP_DIRTY_LOG) || !vm->hv->ops->vm_set_dirty_log)
		return -EOPNOTSUPP;
	if (vm->dirty_log == on)
		return 0;
	r = vm->hv->ops->vm_set_dirty_log(vm, on);
	if (r < 0)
		return r;
	vm->dirty_log = on;
	return 0;
}

int hv_vm_get_dirty_log(struct hv_vm *vm, uint64_t gpa, uint64_t size, uint64_t *bitmap)
{
	if (!vm || !bitmap)
		return -EINVAL;
	if (!(vm->hv->caps & HV_CAP_DIRTY_LOG) || !vm->hv->ops->vm_get_dirty_log)
		return -EOPNOTSUPP;
	if (!vm->dirty_log)
		return -EINVAL;
	for (unsigned i = 0; i < vm->map_slots; i++) {
		const struct hv_mapping *m = hv_vm_slot(vm, i);

		if (m->used && m->gpa == gpa && m->size == size)
			return vm->hv->ops->vm_get_dirty_log(vm, m, bitmap);
	}
	return -ENOENT;
}

/* The body version of a partition blob that is the header alone (hv_ops: no vm_save_state). */
#define HV_VM_STATE_HEADER_ONLY	1

void hv_state_header_init(struct hv_state_header *h, enum hv_backend backend, uint16_t version,
			  size_t size)
{
	*h = (struct hv_state_header){
		.magic = HV_STATE_MAGIC,
		.backend = (uint16_t)backend,
		.version = version,
		.size = (uint32_t)size,
	};
}

/* The checks every blob gets before a backend sees it. */
static int state_check(const struct hv *hv, const void *state, size_t size)
{
	struct hv_state_header h;

	if (!state || size < sizeof(h))
		return -EINVAL;
	memcpy(&h, state, sizeof(h));
	if (h.magic != HV_STATE_MAGIC || h.size != size || h.reserved)
		return -EINVAL;
	if (h.backend != hv->ops->backend)
		return -EPROTO;
	return 0;
}

int hv_vm_save_state(struct hv_vm *vm, void **ret, size_t *ret_size)
{
	struct hv_state_header *h;

	if (!vm || !ret || !ret_size)
		return -EINVAL;
	if (vm->hv->ops->vm_save_state)
		return vm->hv->ops->vm_save_state(vm, ret, ret_size);
	h = malloc(sizeof(*h));
	if (!h)
		return -ENOMEM;
	hv_state_header_init(h, vm->hv->ops->backend, HV_VM_STATE_HEADER_ONLY, sizeof(*h));
	*ret = h;
	*ret_size = sizeof(*h);
	return 0;
}

int hv_vm_restore_state(struct hv_vm *vm, const void *state, size_t size)
{
	struct hv_state_header h;
	int r;

	if (!vm)
		return -EINVAL;
	r = state_check(vm->hv, state, size);
	if (r < 0)
		return r;
	if (vm->hv->ops->vm_restore_state)
		return vm->hv->ops->vm_restore_state(vm, state, size);
	memcpy(&h, state, sizeof(h));
	if (h.version != HV_VM_STATE_HEADER_ONLY)
		return -EPROTO;
	return size == sizeof(h) ? 0 : -EINVAL;
}

int hv_vcpu_save_state(struct hv_vcpu *vcpu, void **ret, size_t *ret_size)
{
	if (!vcpu || !ret || !ret_size)
		return -EINVAL;
	if (!vcpu->vm->hv->ops->vcpu_save_state)
		return -EOPNOTSUPP;
	return vcpu->vm->hv->ops->vcpu_save_state(vcpu, ret, ret_size);
}

int hv_vcpu_restore_state(struct hv_vcpu *vcpu, const void *state, size_t size)
{
	int r;

	if (!vcpu)
		return -EINVAL;
	r = state_check(vcpu->vm->hv, state, size);
	if (r < 0)
		return r;
	if (!vcpu->vm->hv->ops->vcpu_restore_state)
		return -EOPNOTSUPP;
	r = vcpu->vm->hv->ops->vcpu_restore_state(vcpu, state, size);
	if (r == 0)
		vcpu->exit_pending = false;
	return r;
}
