// SPDX-License-Identifier: MIT
// libFuzzer target: the mshv backend's exit path (src/hv/hv-mshv*.c) on hostile hv_messages.

/*
 * The real hv layer (hv.c, hv-mshv.c, hv-mshv-emulate.c, the x86 emulator and libmshv's
 * message decoders) runs on a fake of the rest of libmshv defined here: partitions and VPs
 * are plain memory, registers live in a small table, GVAs translate to themselves, and
 * MSHV_RUN_VP returns the input, 256 bytes per run.  Each returned exit is completed with a
 * value from the input too, so completion and emulation write-back run as well.  Guest RAM
 * (64 KiB at GPA 0) holds a copy of the input, which string I/O and MMIO emulation read.
 * The oracles are the sanitizers and the hv.h contract: a run returns 0 or a negative errno,
 * an exit kind is valid, and an io/mmio size is one the header documents.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#include <mshv/mshv.h>

#include "hv/hv-backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the fake libmshv ----------------------------------------------------------------------- */

struct mshv {
	int unused;
};

struct mshv_vm {
	int unused;
};

#define FAKE_REGS 96

struct mshv_vcpu {
	struct hv_register_assoc regs[FAKE_REGS];
	unsigned nregs;
};

/* The message stream of the current input. */
static const uint8_t *msg_data;
static size_t msg_left;

uint16_t mshv_last_hv_status(void)
{
	return 0;
}

int mshv_open(struct mshv **ret)
{
	return mshv_open_path("/dev/mshv", ret);
}

int mshv_open_path(const char *path, struct mshv **ret)
{
	(void)path;
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

struct mshv *mshv_free(struct mshv *m)
{
	free(m);
	return NULL;
}

int mshv_probe(struct mshv *m, struct mshv_caps *ret)
{
	(void)m;
	memset(ret, 0xff, sizeof(*ret));
	return 0;
}

bool mshv_caps_has(const struct mshv_caps *caps, enum mshv_cap cap)
{
	return caps->ioctls & (1ull << cap);
}

bool mshv_caps_has_hvcall(const struct mshv_caps *caps, uint16_t code)
{
	return code < 512 && (caps->hvcalls[code / 64] & (1ull << (code % 64)));
}

bool mshv_caps_has_feature(const struct mshv_caps *caps, enum mshv_feature feature)
{
	return (unsigned)feature < MSHV_FEATURE_COUNT && (caps->features & (1ull << feature));
}

const char *mshv_generation_name(enum mshv_generation gen)
{
	(void)gen;
	return "fuzz";
}

const char *mshv_feature_name(enum mshv_feature feature)
{
	(void)feature;
	return "fuzz";
}

void mshv_vm_args_init(struct mshv_vm_args *args, enum mshv_vm_type type)
{
	(void)type;
	memset(args, 0, sizeof(*args));
}

int mshv_create_vm_with_args(struct mshv *m, const struct mshv_vm_args *args,
			     struct mshv_vm **ret)
{
	(void)m;
	(void)args;
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

struct mshv_vm *mshv_vm_free(struct mshv_vm *vm)
{
	free(vm);
	return NULL;
}

int mshv_vm_fd(const struct mshv_vm *vm)
{
	(void)vm;
	return -1;
}

int mshv_vm_set_partition_property(struct mshv_vm *vm, uint32_t property_code, uint64_t value)
{
	(void)vm, (void)property_code, (void)value;
	return 0;
}

int mshv_vm_map_user_memory(struct mshv_vm *vm, const struct mshv_user_mem_region *region)
{
	(void)vm, (void)region;
	return 0;
}

int mshv_vm_unmap_user_memory(struct mshv_vm *vm, const struct mshv_user_mem_region *region)
{
	(void)vm, (void)region;
	return 0;
}

int mshv_vm_register_irqfd(struct mshv_vm *vm, int fd, uint32_t gsi)
{
	(void)vm, (void)fd, (void)gsi;
	return 0;
}

int mshv_vm_unregister_irqfd(struct mshv_vm *vm, int fd, uint32_t gsi)
{
	(void)vm, (void)fd, (void)gsi;
	return 0;
}

int mshv_vm_set_msi_routing(struct mshv_vm *vm, const struct mshv_user_irq_entry *entries,
			    size_t n)
{
	(void)vm, (void)entries, (void)n;
	return 0;
}

int mshv_vm_request_virtual_interrupt(struct mshv_vm *vm, const struct mshv_interrupt_request *req)
{
	(void)vm, (void)req;
	return 0;
}

int mshv_vm_create_vcpu(struct mshv_vm *vm, uint32_t index, struct mshv_vcpu **ret)
{
	(void)vm;
	(void)index;
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

struct mshv_vcpu *mshv_vcpu_free(struct mshv_vcpu *vcpu)
{
	free(vcpu);
	return NULL;
}

struct hv_vp_register_page *mshv_vcpu_reg_page(struct mshv_vcpu *vcpu)
{
	(void)vcpu;
	return NULL;	/* every register access goes through the hypercalls */
}

static struct hv_register_assoc *reg_slot(struct mshv_vcpu *v, uint32_t name, bool add)
{
	for (unsigned i = 0; i < v->nregs; i++)
		if (v->regs[i].name == name)
			return &v->regs[i];
	if (!add || v->nregs == FAKE_REGS)
		return NULL;
	memset(&v->regs[v->nregs], 0, sizeof(v->regs[0]));
	v->regs[v->nregs].name = name;
	return &v->regs[v->nregs++];
}

int mshv_vcpu_get_reg(struct mshv_vcpu *vcpu, struct hv_register_assoc *regs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct hv_register_assoc *r = reg_slot(vcpu, regs[i].name, false);

		memset(&regs[i].value, 0, sizeof(regs[i].value));
		if (r)
			regs[i].value = r->value;
	}
	return 0;
}

int mshv_vcpu_set_reg(struct mshv_vcpu *vcpu, const struct hv_register_assoc *regs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct hv_register_assoc *r = reg_slot(vcpu, regs[i].name, true);

		if (!r)
			return -EINVAL;
		r->value = regs[i].value;
	}
	return 0;
}

int mshv_vcpu_translate_gva(struct mshv_vcpu *vcpu, uint64_t gva, uint64_t flags,
			    uint64_t *ret_gpa, uint32_t *ret_result)
{
	(void)vcpu;
	(void)flags;
	*ret_gpa = gva;
	*ret_result = HV_TRANSLATE_GVA_SUCCESS;
	return 0;
}

int mshv_vcpu_run(struct mshv_vcpu *vcpu, struct hv_message *ret)
{
	size_t n = msg_left < sizeof(*ret) ? msg_left : sizeof(*ret);

	(void)vcpu;
	if (!msg_left)
		return -EIO;	/* end of the input: the run fails, the harness stops */
	memset(ret, 0, sizeof(*ret));
	memcpy(ret, msg_data, n);
	msg_data += n;
	msg_left -= n;
	return 0;
}

/* The snapshot calls are not on the exit path: the fake has no dirty tracking or VP state. */
int mshv_vm_enable_dirty_page_tracking(struct mshv_vm *vm)
{
	(void)vm;
	return -EOPNOTSUPP;
}

int mshv_vm_disable_dirty_page_tracking(struct mshv_vm *vm)
{
	(void)vm;
	return -EOPNOTSUPP;
}

int mshv_vm_get_dirty_log(struct mshv_vm *vm, uint64_t base_pfn, uint64_t page_count,
			  uint8_t *bitmap)
{
	(void)vm, (void)base_pfn, (void)page_count, (void)bitmap;
	return -EOPNOTSUPP;
}

int mshv_vm_set_dirty_bits(struct mshv_vm *vm, uint64_t base_pfn, uint64_t page_count)
{
	(void)vm, (void)base_pfn, (void)page_count;
	return -EOPNOTSUPP;
}

int mshv_vcpu_get_reg_list(struct mshv_vcpu *vcpu, const uint32_t **ret_names, size_t *ret_count)
{
	(void)vcpu, (void)ret_names, (void)ret_count;
	return -EOPNOTSUPP;
}

int mshv_vcpu_get_all_regs(struct mshv_vcpu *vcpu, struct hv_register_assoc *regs, size_t cap,
			   size_t *ret_count)
{
	(void)vcpu, (void)regs, (void)cap, (void)ret_count;
	return -EOPNOTSUPP;
}

int mshv_vcpu_vp_state_size(struct mshv_vcpu *vcpu, uint8_t type, size_t *ret)
{
	(void)vcpu, (void)type, (void)ret;
	return -EOPNOTSUPP;
}

int mshv_vcpu_get_vp_state(struct mshv_vcpu *vcpu, uint8_t type, void *buf, size_t size,
			   size_t *ret_size)
{
	(void)vcpu, (void)type, (void)buf, (void)size, (void)ret_size;
	return -EOPNOTSUPP;
}

int mshv_vcpu_set_vp_state(struct mshv_vcpu *vcpu, uint8_t type, const void *buf, size_t size)
{
	(void)vcpu, (void)type, (void)buf, (void)size;
	return -EOPNOTSUPP;
}

/* ---- no kvm and no emu here ------------------------------------------------------------------ */

static int backend_absent(const char *path, struct hv **ret)
{
	(void)path;
	(void)ret;
	return -ENODEV;
}

const struct hv_ops hv_kvm_ops = {
	.name = "kvm",
	.backend = HV_BACKEND_KVM,
	.open = backend_absent,
};

#ifdef HAVE_UNICORN
/* hv.c lists emu when the build has it; this target fuzzes the mshv backend only. */
const struct hv_ops hv_emu_ops = {
	.name = "emu",
	.backend = HV_BACKEND_EMU,
	.open = backend_absent,
};
#endif

/* ---- the harness ---------------------------------------------------------------------------- */

#define RAM_SIZE	0x10000

static void check_exit(const struct hv_exit *e)
{
	bool ok = true;

	switch (e->kind) {
	case HV_EXIT_IO:
		ok = e->io.size == 1 || e->io.size == 2 || e->io.size == 4;
		break;
	case HV_EXIT_MMIO:
		ok = e->mmio.size >= 1 && e->mmio.size <= 8;
		break;
	case HV_EXIT_HALT: case HV_EXIT_SHUTDOWN: case HV_EXIT_CPUID: case HV_EXIT_MSR:
	case HV_EXIT_EXCEPTION: case HV_EXIT_INTERRUPTED: case HV_EXIT_UNKNOWN:
		break;
	default:
		ok = false;
	}
	if (!ok) {
		fprintf(stderr, "fuzz-hv-mshv: bad exit kind %d (io size %u, mmio size %u)\n",
			(int)e->kind, e->io.size, e->mmio.size);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hv *hv;
	static uint8_t *ram;
	struct hv_vm *vm;
	struct hv_vcpu *vcpu;
	struct hv_reg_value regs[HV_REG_COUNT];

	if (!hv) {
		if (hv_open(HV_BACKEND_MSHV, NULL, &hv) < 0 ||
		    !(ram = aligned_alloc(4096, RAM_SIZE)))
			abort();
	}
	memset(ram, 0, RAM_SIZE);
	memcpy(ram, data, size < RAM_SIZE ? size : RAM_SIZE);
	if (hv_vm_new(hv, NULL, &vm) < 0)
		abort();
	if (hv_vm_map(vm, 0, ram, RAM_SIZE, HV_MAP_READ | HV_MAP_WRITE | HV_MAP_EXEC) < 0 ||
	    hv_vcpu_new(vm, 0, &vcpu) < 0)
		abort();

	msg_data = data;
	msg_left = size;
	for (unsigned i = 0; i < 64; i++) {
		struct hv_completion c = { 0 };
		struct hv_exit e;
		int r = hv_vcpu_run(vcpu, &e);

		if (r < 0)
			break;
		check_exit(&e);
		/* Complete with values from the input: the bytes right after this message. */
		memcpy(&c.value, data + (size - msg_left) % (size ? size : 1),
		       size - (size - msg_left) % (size ? size : 1) >= 8 ? 8 : 0);
		c.cpuid[0] = (uint32_t)c.value;
		c.inject_gp = c.value & 1;
		if (hv_vcpu_exit_pending(vcpu) && (i & 1))
			hv_vcpu_complete(vcpu, &c);
		for (unsigned k = 0; k < HV_REG_COUNT; k++)
			regs[k].reg = (enum hv_reg)k;
		hv_vcpu_get_regs(vcpu, regs, HV_REG_COUNT);
	}
	hv_vcpu_free(vcpu);
	hv_vm_unmap(vm, 0, RAM_SIZE);
	hv_vm_free(vm);
	return 0;
}
