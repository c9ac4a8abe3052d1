// SPDX-License-Identifier: MIT
// A fake hypervisor backend for the RPC fuzzer: in-memory VMs and vCPUs running a toy ISA.

/*
 * Linked only into tests/fuzz/fuzz-rpc, in place of the kvm and mshv backends: it defines
 * hv_kvm_ops (named "stub", every capability) and an hv_mshv_ops whose open fails, so
 * src/hv/hv.c keeps doing its generic checks (mapping table, pending exits, register kinds) on
 * top of it.  Where the emu backend is built in, fuzz-rpc runs on it (a real engine) instead
 * and this stub only fills the kvm and mshv rows.
 *
 * The toy ISA lets a fuzz input (write-memory + set-regs + run) reach every exit kind:
 * a vCPU reads the byte at RIP from the memory mapped at that guest address and
 *   0xE6 p  out  port p, AL        0xE4 p  in  AL, port p
 *   0x88 o  mmio write gpa 0xd0000+o, RAX (8 bytes)   0x8A o  mmio read into RAX
 *   0x0F    cpuid (leaf EAX)       0x30 wrmsr ECX  0x32 rdmsr ECX
 *   0xCC    exception #BP          0xFF shutdown (triple fault)
 *   0xF4    halt (RIP past it); anything else and unmapped RIP halt too.
 * Completion advances RIP by the length and writes RAX for reads, as the real backends do.
 */

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "hv/hv-backend.h"

struct stub_map {
	uint64_t gpa, size;
	const uint8_t *host;
	bool used;
};

struct stub_vm {
	struct hv_vm base;
	pthread_mutex_t lock;	/* the map copy: vCPU threads read guest memory under it */
	struct stub_map maps[HV_MAX_MAPPINGS];
};

struct stub_vcpu {
	struct hv_vcpu base;
	struct hv_reg_value regs[HV_REG_COUNT];
	atomic_bool kicked;
};

static struct stub_vm *to_vm(struct hv_vm *vm)
{
	return (struct stub_vm *)vm;
}

static struct stub_vcpu *to_vcpu(struct hv_vcpu *vcpu)
{
	return (struct stub_vcpu *)vcpu;
}

static int stub_open(const char *path, struct hv **ret)
{
	struct hv *hv = calloc(1, sizeof(*hv));

	(void)path;
	if (!hv)
		return -ENOMEM;
	hv->caps = HV_CAP_IRQCHIP | HV_CAP_LAPIC | HV_CAP_X2APIC | HV_CAP_GPA_SUPER_PAGES |
		   HV_CAP_IOEVENTFD_MMIO | HV_CAP_IOEVENTFD_PIO | HV_CAP_IRQFD |
		   HV_CAP_IRQFD_RESAMPLE | HV_CAP_MSI_ROUTING | HV_CAP_ASSERT_INTERRUPT |
		   HV_CAP_TRANSLATE_GVA | HV_CAP_PAUSE | HV_CAP_READONLY_MEM | HV_CAP_NOEXEC_MEM;
	*ret = hv;
	return 0;
}

static int stub_open_absent(const char *path, struct hv **ret)
{
	(void)path;
	(void)ret;
	return -ENODEV;
}

static void stub_free(struct hv *hv)
{
	free(hv);
}

static int stub_vm_new(struct hv *hv, const struct hv_vm_options *opts, struct hv_vm **ret)
{
	struct stub_vm *vm = calloc(1, sizeof(*vm));

	(void)hv;
	(void)opts;
	if (!vm)
		return -ENOMEM;
	pthread_mutex_init(&vm->lock, NULL);
	*ret = &vm->base;
	return 0;
}

static void stub_vm_free(struct hv_vm *vm)
{
	pthread_mutex_destroy(&to_vm(vm)->lock);
	free(vm);
}

static int stub_vm_map(struct hv_vm *vm, const struct hv_mapping *m)
{
	struct stub_vm *s = to_vm(vm);

	if (m->slot >= HV_MAX_MAPPINGS)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	s->maps[m->slot] = (struct stub_map){ m->gpa, m->size, m->host, true };
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int stub_vm_unmap(struct hv_vm *vm, const struct hv_mapping *m)
{
	struct stub_vm *s = to_vm(vm);

	if (m->slot >= HV_MAX_MAPPINGS)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	s->maps[m->slot].used = false;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int stub_vm_ok(struct hv_vm *vm)
{
	(void)vm;
	return 0;
}

static int stub_vm_ioeventfd(struct hv_vm *vm, bool add, int fd, uint64_t addr, unsigned len,
			     unsigned flags, uint64_t datamatch)
{
	(void)vm, (void)add, (void)addr, (void)len, (void)flags, (void)datamatch;
	return fd < 0 ? -EBADF : 0;
}

static int stub_vm_irqfd(struct hv_vm *vm, bool add, int fd, int resample_fd, uint32_t gsi)
{
	(void)vm, (void)add, (void)resample_fd;
	return fd < 0 ? -EBADF : gsi >= 4096 ? -EINVAL : 0;
}

static int stub_vm_set_msi_routing(struct hv_vm *vm, const struct hv_msi_route *routes,
				   unsigned n)
{
	(void)vm, (void)routes;
	return n > 4096 ? -EINVAL : 0;
}

static int stub_vm_assert_interrupt(struct hv_vm *vm, const struct hv_interrupt *irq)
{
	(void)vm;
	return irq->vector > 255 ? -EINVAL : 0;
}

static int stub_vcpu_new(struct hv_vm *vm, unsigned index, struct hv_vcpu **ret)
{
	struct stub_vcpu *v = calloc(1, sizeof(*v));

	(void)vm;
	(void)index;
	if (!v)
		return -ENOMEM;
	for (unsigned i = 0; i < HV_REG_COUNT; i++)
		v->regs[i].reg = (enum hv_reg)i;
	v->regs[HV_REG_RIP].u64 = 0xfff0;
	v->regs[HV_REG_RFLAGS].u64 = 2;
	v->regs[HV_REG_CS].seg = (struct hv_segment){ 0xffff0000, 0xffff, 0xf000, 0x9b };
	*ret = &v->base;
	return 0;
}

static void stub_vcpu_free(struct hv_vcpu *vcpu)
{
	free(vcpu);
}

static int stub_vcpu_get_regs(struct hv_vcpu *vcpu, struct hv_reg_value *regs, unsigned n)
{
	struct stub_vcpu *v = to_vcpu(vcpu);

	for (unsigned i = 0; i < n; i++)
		regs[i] = v->regs[regs[i].reg];
	return 0;
}

static int stub_vcpu_set_regs(struct hv_vcpu *vcpu, const struct hv_reg_value *regs, unsigned n)
{
	struct stub_vcpu *v = to_vcpu(vcpu);

	for (unsigned i = 0; i < n; i++)
		v->regs[regs[i].reg] = regs[i];
	return 0;
}

/* Copy len bytes of guest memory at gpa; false when not all of it is mapped. */
static bool guest_read(struct stub_vm *s, uint64_t gpa, uint8_t *buf, size_t len)
{
	bool ok = false;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < HV_MAX_MAPPINGS; i++) {
		const struct stub_map *m = &s->maps[i];

		if (m->used && gpa >= m->gpa && gpa - m->gpa < m->size &&
		    m->size - (gpa - m->gpa) >= len) {
			memcpy(buf, m->host + (gpa - m->gpa), len);
			ok = true;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static int stub_vcpu_run(struct hv_vcpu *vcpu, struct hv_exit *exit)
{
	struct stub_vcpu *v = to_vcpu(vcpu);
	uint64_t rip = v->regs[HV_REG_RIP].u64;
	uint8_t insn[2] = { 0xF4, 0 };

	memset(exit, 0, sizeof(*exit));
	exit->rip = rip;
	exit->rflags = v->regs[HV_REG_RFLAGS].u64;
	if (atomic_exchange(&v->kicked, false)) {
		exit->kind = HV_EXIT_INTERRUPTED;
		return 0;
	}
	if (!guest_read(to_vm(vcpu->vm), rip, insn, 2))
		guest_read(to_vm(vcpu->vm), rip, insn, 1);
	switch (insn[0]) {
	case 0xE6:
	case 0xE4:
		exit->kind = HV_EXIT_IO;
		exit->insn_len = 2;
		exit->io.port = insn[1];
		exit->io.size = 1;
		exit->io.write = insn[0] == 0xE6;
		exit->io.count = 1;
		exit->io.data = exit->io.write ? (v->regs[HV_REG_RAX].u64 & 0xff) : 0;
		break;
	case 0x88:
	case 0x8A:
		exit->kind = HV_EXIT_MMIO;
		exit->insn_len = 2;
		exit->mmio.gpa = 0xd0000 + insn[1];
		exit->mmio.size = 8;
		exit->mmio.write = insn[0] == 0x88;
		exit->mmio.data = exit->mmio.write ? v->regs[HV_REG_RAX].u64 : 0;
		break;
	case 0x0F:
		exit->kind = HV_EXIT_CPUID;
		exit->insn_len = 2;
		exit->cpuid.eax = (uint32_t)v->regs[HV_REG_RAX].u64;
		exit->cpuid.ecx = (uint32_t)v->regs[HV_REG_RCX].u64;
		break;
	case 0x30:
	case 0x32:
		exit->kind = HV_EXIT_MSR;
		exit->insn_len = 2;
		exit->msr.index = (uint32_t)v->regs[HV_REG_RCX].u64;
		exit->msr.write = insn[0] == 0x30;
		exit->msr.data = (v->regs[HV_REG_RDX].u64 << 32) |
				 (uint32_t)v->regs[HV_REG_RAX].u64;
		break;
	case 0xCC:
		exit->kind = HV_EXIT_EXCEPTION;
		exit->exception.vector = 3;
		break;
	case 0xFF:
		exit->kind = HV_EXIT_SHUTDOWN;
		break;
	default:
		exit->kind = HV_EXIT_HALT;
		exit->rip = rip + 1;
		v->regs[HV_REG_RIP].u64 = rip + 1;
		break;
	}
	return 0;
}

static int stub_vcpu_complete(struct hv_vcpu *vcpu, const struct hv_completion *c)
{
	struct stub_vcpu *v = to_vcpu(vcpu);
	const struct hv_exit *e = &vcpu->exit;

	switch (e->kind) {
	case HV_EXIT_IO:
		if (!e->io.write)
			v->regs[HV_REG_RAX].u64 = (v->regs[HV_REG_RAX].u64 & ~0xffull) |
						  (c->value & 0xff);
		break;
	case HV_EXIT_MMIO:
		if (!e->mmio.write)
			v->regs[HV_REG_RAX].u64 = c->value;
		break;
	case HV_EXIT_CPUID:
		v->regs[HV_REG_RAX].u64 = c->cpuid[0];
		v->regs[HV_REG_RBX].u64 = c->cpuid[1];
		v->regs[HV_REG_RCX].u64 = c->cpuid[2];
		v->regs[HV_REG_RDX].u64 = c->cpuid[3];
		break;
	case HV_EXIT_MSR:
		if (c->inject_gp)
			return 0;
		if (!e->msr.write) {
			v->regs[HV_REG_RAX].u64 = (uint32_t)c->value;
			v->regs[HV_REG_RDX].u64 = c->value >> 32;
		}
		break;
	default:
		return 0;
	}
	v->regs[HV_REG_RIP].u64 = e->rip + e->insn_len;
	return 0;
}

static void stub_vcpu_kick(struct hv_vcpu *vcpu)
{
	atomic_store(&to_vcpu(vcpu)->kicked, true);
}

static int stub_vcpu_translate_gva(struct hv_vcpu *vcpu, uint64_t gva, unsigned access,
				   uint64_t *ret_gpa)
{
	uint8_t b;

	(void)access;
	if (!guest_read(to_vm(vcpu->vm), gva, &b, 1))
		return -EFAULT;
	*ret_gpa = gva;
	return 0;
}

const struct hv_ops hv_kvm_ops = {
	.name = "stub",
	.backend = HV_BACKEND_KVM,
	/* Its own interrupt model, stated (it fills the kvm row but is not kvm): 24 pins routed
	 * without a table, any interrupt-controller option, no NMI without one. */
	.irq = { .pin_gsis = 24, .irqchip_option = "irqchip" },
	.open = stub_open,
	.free = stub_free,
	.vm_new = stub_vm_new,
	.vm_free = stub_vm_free,
	.vm_map = stub_vm_map,
	.vm_unmap = stub_vm_unmap,
	.vm_pause = stub_vm_ok,
	.vm_resume = stub_vm_ok,
	.vm_ioeventfd = stub_vm_ioeventfd,
	.vm_irqfd = stub_vm_irqfd,
	.vm_set_msi_routing = stub_vm_set_msi_routing,
	.vm_assert_interrupt = stub_vm_assert_interrupt,
	.vcpu_new = stub_vcpu_new,
	.vcpu_free = stub_vcpu_free,
	.vcpu_get_regs = stub_vcpu_get_regs,
	.vcpu_set_regs = stub_vcpu_set_regs,
	.vcpu_run = stub_vcpu_run,
	.vcpu_complete = stub_vcpu_complete,
	.vcpu_kick = stub_vcpu_kick,
	.vcpu_translate_gva = stub_vcpu_translate_gva,
};

const struct hv_ops hv_mshv_ops = {
	.name = "mshv",
	.backend = HV_BACKEND_MSHV,
	.open = stub_open_absent,
	.free = stub_free,
};
