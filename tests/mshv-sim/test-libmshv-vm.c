// SPDX-License-Identifier: MIT
/* libmshv system and partition functions through mshv-sim: success and mainline error paths. */
#include "config.h"
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mshv/mshv.h>

#include "check.h"
#include "guest.h"
#include "sim-test.h"

#define RW MSHV_BITS(MSHV_SET_MEM_BIT_WRITABLE, MSHV_SET_MEM_BIT_EXECUTABLE)

static void test_system(void)
{
	const uint32_t *msrs;
	struct mshv_caps caps;
	struct mshv *m = NULL;
	size_t n = 0;
	uint64_t v;

	check_eq_int(mshv_open_path("/nonexistent/mshv", &m), -ENOENT);
	check(m == NULL);
	check(mshv_free(NULL) == NULL);
	require_ok(mshv_open(&m));
	check(mshv_fd(m) >= 0);
	check_eq_int(fcntl(mshv_fd(m), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);

	/* The generation rows are checked in test_generation(); here only the API basics. */
	require_ok(mshv_probe(m, &caps));
	check(caps.root_hvcall);
	(void)v;
	require_ok(mshv_get_msr_index_list(m, &msrs, &n));
	check(n > 0);
	mshv_free(m);
}

static void test_create(struct mshv *m)
{
	struct mshv_vm_args args;
	struct mshv_vcpu *vcpu = NULL;
	struct mshv_vm *vm = NULL;
	uint64_t v = 0;

	/* Mainline rejects SNP isolation; unknown pt bits are refused before the kernel. */
	mshv_vm_args_init(&args, MSHV_VM_TYPE_NORMAL);
	args.pt_flags |= 1ULL << 6;
	check_eq_int(mshv_create_vm_with_args(m, &args, &vm), -EINVAL);
	check(vm == NULL);
	check_eq_int(mshv_create_vm_with_type(m, MSHV_VM_TYPE_SNP, &vm), -EINVAL);

	require_ok(mshv_create_vm_with_type(m, MSHV_VM_TYPE_NORMAL, &vm));
	check(mshv_vm_fd(vm) >= 0);
	check_ok(mshv_vm_get_partition_property(vm, HV_PARTITION_PROPERTY_SYNTHETIC_PROC_FEATURES, &v));
	check_eq_u64(v, MSHV_VM_DEFAULT_SYNTHETIC_PROC_FEATURES);
	mshv_vm_free(vm);

	/* Without INITIALIZE: an early property still works, a VP does not. */
	mshv_vm_args_init(&args, MSHV_VM_TYPE_NORMAL);
	args.flags = 0;
	require_ok(mshv_create_vm_with_args(m, &args, &vm));
	check_ok(mshv_vm_set_partition_property(vm, HV_PARTITION_PROPERTY_SYNTHETIC_PROC_FEATURES, 3));
	check(mshv_vm_create_vcpu(vm, 0, &vcpu) < 0);
	check(vcpu == NULL);
	check_ok(mshv_vm_initialize(vm));
	check_ok(mshv_vm_initialize(vm));
	check_ok(mshv_vm_get_partition_property(vm, HV_PARTITION_PROPERTY_SYNTHETIC_PROC_FEATURES, &v));
	check_eq_u64(v, 3);
	/* Early property after INITIALIZE: the hypervisor's status is kept. */
	check(mshv_vm_set_partition_property(vm, HV_PARTITION_PROPERTY_SYNTHETIC_PROC_FEATURES, 1) < 0);
	check_eq_u64(mshv_last_hv_status(), HV_STATUS_INVALID_PARTITION_STATE);
	require_ok(mshv_vm_create_vcpu(vm, 0, &vcpu));
	check_eq_int(mshv_vcpu_index(vcpu), 0);
	mshv_vcpu_free(vcpu);
	check(mshv_vm_free(vm) == NULL);
	check(mshv_vm_free(NULL) == NULL);
}

static void test_memory(struct mshv_vm *vm)
{
	uint8_t *a = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct mshv_user_mem_region r = { .size = 4 * 4096, .guest_pfn = 0x10,
					  .userspace_addr = (uintptr_t)a, .flags = RW };
	struct mshv_user_mem_region bad;

	require(a != MAP_FAILED);
	bad = r;
	bad.userspace_addr += 1;
	check_eq_int(mshv_vm_map_user_memory(vm, &bad), -EINVAL);
	bad = r;
	bad.size = 4096 + 1;
	check_eq_int(mshv_vm_map_user_memory(vm, &bad), -EINVAL);
	bad = r;
	bad.size = 0;
	check_eq_int(mshv_vm_map_user_memory(vm, &bad), -EINVAL);
	require_ok(mshv_vm_map_user_memory(vm, &r));
	bad = r;
	bad.guest_pfn = 0x13;
	bad.userspace_addr = (uintptr_t)a + 4 * 4096;
	bad.size = 4096;
	check_eq_int(mshv_vm_map_user_memory(vm, &bad), -EEXIST);
	bad = r;
	bad.size = 4096;
	check_eq_int(mshv_vm_unmap_user_memory(vm, &bad), -EINVAL);	/* must match exactly */
	check_ok(mshv_vm_unmap_user_memory(vm, &r));
	check_eq_int(mshv_vm_unmap_user_memory(vm, &r), -EINVAL);	/* double unmap */
	munmap(a, 8 * 4096);
}

static void test_vcpus(struct mshv_vm *vm)
{
	struct mshv_vcpu *a = NULL, *b = NULL;

	check_eq_int(mshv_vm_create_vcpu(vm, MSHV_MAX_VPS, &b), -EINVAL);
	require_ok(mshv_vm_create_vcpu(vm, 1, &a));
	check_eq_int(mshv_vm_create_vcpu(vm, 1, &b), -EEXIST);
	check(b == NULL);
	check(mshv_vcpu_reg_page(a) != NULL);
	check(mshv_vcpu_fd(a) >= 0);
	check(mshv_vcpu_free(a) == NULL);
	check(mshv_vcpu_free(NULL) == NULL);
}

static void test_irq(struct mshv_vm *vm)
{
	struct mshv_user_irq_entry routes[2] = {
		{ .gsi = 24, .address_lo = 0xfee00000, .data = 0x40 },
		{ .gsi = 25, .address_lo = 0xfee00000, .data = 0x8041 },	/* level */
	};
	struct mshv_ioevent_addr mmio = { MSHV_IOEVENT_MMIO, GUEST_MMIO_BASE };
	struct mshv_ioevent_addr pio = { MSHV_IOEVENT_PIO, 0x3f8 };
	int e1 = eventfd(0, EFD_CLOEXEC), e2 = eventfd(0, EFD_CLOEXEC);

	require(e1 >= 0 && e2 >= 0);
	require_ok(mshv_vm_set_msi_routing(vm, routes, 2));
	routes[1].address_hi = 1;
	check_eq_int(mshv_vm_set_msi_routing(vm, routes, 2), -EINVAL);
	routes[1].address_hi = 0;
	routes[1].gsi = 24;
	check_eq_int(mshv_vm_set_msi_routing(vm, routes, 2), -EINVAL);
	routes[1].gsi = 25;
	check_ok(mshv_vm_set_msi_routing(vm, routes, 2));

	check_ok(mshv_vm_register_irqfd(vm, e1, 24));
	check_eq_int(mshv_vm_register_irqfd(vm, e1, 25), -EBUSY);
	check_eq_int(mshv_vm_register_irqfd_with_resample(vm, e2, e1, 24), -EINVAL);	/* edge */
	check_ok(mshv_vm_register_irqfd_with_resample(vm, e2, e1, 25));
	check_ok(mshv_vm_unregister_irqfd(vm, e2, 25));
	check_ok(mshv_vm_unregister_irqfd(vm, e1, 24));
	check_ok(mshv_vm_register_irqfd(vm, e1, 24));
	check_ok(mshv_vm_unregister_irqfd(vm, e1, 24));
	check_ok(mshv_vm_set_msi_routing(vm, NULL, 0));

	check_eq_int(mshv_vm_register_ioevent(vm, e1, &pio, MSHV_NO_DATAMATCH), -EOPNOTSUPP);
	check_ok(mshv_vm_register_ioevent(vm, e1, &mmio, MSHV_DATAMATCH_U32(7)));
	check_eq_int(mshv_vm_register_ioevent(vm, e1, &mmio, MSHV_DATAMATCH_U32(7)), -EEXIST);
	check_ok(mshv_vm_register_ioevent(vm, e2, &mmio, MSHV_DATAMATCH_U32(8)));
	check_eq_int(mshv_vm_unregister_ioevent(vm, e1, &mmio, MSHV_DATAMATCH_U32(8)), -ENOENT);
	check_ok(mshv_vm_unregister_ioevent(vm, e1, &mmio, MSHV_DATAMATCH_U32(7)));
	check_ok(mshv_vm_unregister_ioevent(vm, e2, &mmio, MSHV_DATAMATCH_U32(8)));
	check_eq_int(mshv_vm_register_ioevent(vm, e1, &mmio, (struct mshv_datamatch){ 3, 0 }), -EINVAL);
	mmio.addr += 0x100;
	check_ok(mshv_vm_register_ioevent(vm, e1, &mmio, MSHV_DATAMATCH_U8(1)));
	check_ok(mshv_vm_unregister_ioevent(vm, e1, &mmio, MSHV_DATAMATCH_U8(1)));
	check_ok(mshv_vm_register_ioevent(vm, e1, &mmio, MSHV_DATAMATCH_U64(1)));
	check_ok(mshv_vm_unregister_ioevent(vm, e1, &mmio, MSHV_DATAMATCH_U64(1)));
	check_ok(mshv_vm_register_ioevent(vm, e1, &mmio, MSHV_NO_DATAMATCH));
	check_ok(mshv_vm_unregister_ioevent(vm, e1, &mmio, MSHV_NO_DATAMATCH));
	close(e1);
	close(e2);
}

static void test_hypercalls(struct mshv_vm *vm)
{
	struct mshv_interrupt_request req = {
		.interrupt_type = HV_X64_INTERRUPT_TYPE_FIXED, .apic_id = 0, .vector = 0x30,
	};
	struct hv_input_get_partition_property in = {
		.property_code = HV_PARTITION_PROPERTY_UNIMPLEMENTED_MSR_ACTION,
	};
	struct hv_output_get_partition_property out = { 0 };
	struct mshv_root_hvcall a = {
		.code = HVCALL_GET_PARTITION_PROPERTY, .in_sz = sizeof(in), .out_sz = sizeof(out),
		.in_ptr = (uintptr_t)&in, .out_ptr = (uintptr_t)&out,
	};
	struct hv_message msg = { .header = { .message_type = 0x1, .payload_size = 8 } };
	struct mshv_vcpu *vcpu = NULL;
	bool newly = false;
	uint8_t bitmap[8];
	uint64_t v;

	require_ok(mshv_vm_create_vcpu(vm, 0, &vcpu));
	check_ok(mshv_vm_request_virtual_interrupt(vm, &req));
	req.interrupt_type = HV_X64_INTERRUPT_TYPE_NMI;
	check_ok(mshv_vm_request_virtual_interrupt(vm, &req));
	req.interrupt_type = HV_X64_INTERRUPT_TYPE_REMOTEREAD;
	check_eq_int(mshv_vm_request_virtual_interrupt(vm, &req), -EINVAL);
	check_eq_u64(mshv_last_hv_status(), HV_STATUS_INVALID_PARAMETER);

	check_ok(mshv_vm_install_intercept(vm, HV_INTERCEPT_ACCESS_MASK_WRITE,
					   HV_INTERCEPT_TYPE_X64_IO_PORT, 0x3f8));
	check_ok(mshv_vm_install_intercept(vm, HV_INTERCEPT_ACCESS_MASK_EXECUTE,
					   HV_INTERCEPT_TYPE_EXCEPTION, 3));
	check_eq_int(mshv_vm_install_intercept(vm, 1, 4, 0), -EINVAL);
	check_eq_u64(mshv_last_hv_status(), HV_STATUS_INVALID_PARAMETER);

	check_ok(mshv_vm_set_partition_property(vm, HV_PARTITION_PROPERTY_UNIMPLEMENTED_MSR_ACTION, 1));
	check_ok(mshv_vm_get_partition_property(vm, HV_PARTITION_PROPERTY_UNIMPLEMENTED_MSR_ACTION, &v));
	check_eq_u64(v, 1);
	check_eq_int(mshv_vm_get_partition_property(vm, 0x7777, &v), -EIO);
	check_eq_u64(mshv_last_hv_status(), HV_STATUS_UNKNOWN_PROPERTY);
	check_eq_int(mshv_vm_set_partition_property(vm, 0x7777, 1), -EIO);
	check_eq_u64(mshv_last_hv_status(), HV_STATUS_UNKNOWN_PROPERTY);

	check_ok(mshv_vm_hvcall(vm, &a));
	check_eq_u64(a.status, HV_STATUS_SUCCESS);
	check_eq_u64(out.property_value, 1);

	check_ok(mshv_vm_signal_event_direct(vm, 0, 0, 2, 5, &newly));
	check(newly);
	check_ok(mshv_vm_signal_event_direct(vm, 0, 0, 2, 5, &newly));
	check(!newly);
	check_eq_int(mshv_vm_signal_event_direct(vm, 0, 0, 16, 5, NULL), -EINVAL);
	check_eq_u64(mshv_last_hv_status(), HV_STATUS_INVALID_PARAMETER);
	check_eq_int(mshv_vm_signal_event_direct(vm, 9, 0, 2, 5, NULL), -EINVAL);
	check_eq_u64(mshv_last_hv_status(), HV_STATUS_INVALID_VP_INDEX);
	check_ok(mshv_vm_post_message_direct(vm, 0, 0, 1, &msg, sizeof(msg)));
	check_eq_int(mshv_vm_post_message_direct(vm, 9, 0, 1, &msg, sizeof(msg)), -EINVAL);
	check_eq_u64(mshv_last_hv_status(), HV_STATUS_INVALID_VP_INDEX);
	check_ok(mshv_vm_register_deliverability_notifications(vm, 0, 1));
	{
		struct hv_register_assoc r = { .name = HV_X64_REGISTER_DELIVERABILITY_NOTIFICATIONS };

		check_ok(mshv_vcpu_get_reg(vcpu, &r, 1));
		check_eq_u64(r.value.reg64, 1);
	}

	/* Dirty tracking state machine (the guest-side test is in test-libmshv-run). */
	check(mshv_vm_get_dirty_log(vm, 0, 8, bitmap) < 0);
	check_ok(mshv_vm_enable_dirty_page_tracking(vm));
	check_ok(mshv_vm_get_partition_property(vm, HV_PARTITION_PROPERTY_GPA_PAGE_ACCESS_TRACKING, &v));
	check_eq_u64(v, 1);
	check_ok(mshv_vm_get_gpap_access_bitmap(vm, MSHV_GPAP_ACCESS_TYPE_DIRTY, MSHV_GPAP_ACCESS_OP_NOOP,
						0, 8, bitmap));
	check_ok(mshv_vm_disable_dirty_page_tracking(vm));
	check(mshv_vm_get_gpap_access_bitmap(vm, MSHV_GPAP_ACCESS_TYPE_DIRTY, 0, 0, 8, bitmap) < 0);
	mshv_vcpu_free(vcpu);
}

/* What only Microsoft kernels have: -EOPNOTSUPP on mainline. */
static void test_not_mainline(struct mshv_vm *vm)
{
	uint64_t pfn = 0x10;
	struct mshv_device *dev = NULL;

	check_eq_int(mshv_vm_modify_gpa_host_access(vm, 0, &pfn, 1), -EOPNOTSUPP);
	check_eq_int(mshv_vm_import_isolated_pages(vm, MSHV_EXT_ISOLATED_PAGE_NORMAL, &pfn, 1),
		     -EOPNOTSUPP);
	check_eq_int(mshv_vm_complete_isolated_import(vm, &(struct mshv_ext_complete_isolated_import){ 0 }),
		     -EOPNOTSUPP);
	check_eq_int(mshv_vm_psp_issue_guest_request(vm, 0, 0), -EOPNOTSUPP);
	check_eq_int(mshv_vm_sev_snp_ap_create(vm, 0, 0), -EOPNOTSUPP);
	check_eq_int(mshv_vm_create_device(vm, MSHV_EXT_DEV_TYPE_VFIO, MSHV_EXT_CREATE_DEVICE_TEST, NULL),
		     -EOPNOTSUPP);
	check_eq_int(mshv_vm_create_device(vm, MSHV_EXT_DEV_TYPE_VFIO, 0, &dev), -EOPNOTSUPP);
	check(dev == NULL);
	check(mshv_device_free(NULL) == NULL);
}

/* What mshv_probe() must report under each MSHV_SIM_GEN (fact sheet §11). */
static const struct gen_row {
	const char *sim;
	enum mshv_generation gen;
	uint64_t pt_flags;
	uint64_t features;
} gen_rows[] = {
#define F(x) (1ULL << MSHV_FEATURE_##x)
	{ "6.15", MSHV_GEN_6_15, 0x7, 0 },
	{ "6.19", MSHV_GEN_6_19, 0xf,
	  F(CPU_XSAVE_FEATURES) | F(HOST_PROPERTIES) | F(PROPERTY_EX) | F(VMM_CAPS) |
	  F(DEPOSIT_IN_KERNEL) | F(MOVABLE_MEMORY) },
	{ "7.0-rc1", MSHV_GEN_7_0, 0x3f,
	  F(CPU_XSAVE_FEATURES) | F(NESTED_VIRTUALIZATION) | F(SMT_GUEST) | F(HOST_PROPERTIES) |
	  F(PROPERTY_EX) | F(VMM_CAPS) | F(DEPOSIT_IN_KERNEL) | F(MOVABLE_MEMORY) |
	  F(SCRUB_PARTITION) },
	{ "7.0", MSHV_GEN_7_0, 0x3f,
	  F(CPU_XSAVE_FEATURES) | F(NESTED_VIRTUALIZATION) | F(SMT_GUEST) | F(HOST_PROPERTIES) |
	  F(PROPERTY_EX) | F(VMM_CAPS) | F(DEPOSIT_IN_KERNEL) | F(MOVABLE_MEMORY) },
	{ "ms-2025", MSHV_GEN_MICROSOFT, 0xf,
	  F(CPU_XSAVE_FEATURES) | F(HOST_PROPERTIES) | F(TRANSLATE_GVA_IOCTL) | F(GPA_READ_WRITE) },
	{ "ms", MSHV_GEN_MICROSOFT, 0xf,
	  F(CPU_XSAVE_FEATURES) | F(HOST_PROPERTIES) | F(PROPERTY_EX) | F(VMM_CAPS) |
	  F(DEPOSIT_IN_KERNEL) | F(TRANSLATE_GVA_IOCTL) | F(GPA_READ_WRITE) },
#undef F
};

static unsigned rejections(void)
{
	unsigned (*f)(void) = (unsigned (*)(void))dlsym(RTLD_DEFAULT, "mshv_sim_rejections");

	require(f != NULL);
	return f();
}

/*
 * Host partition properties by the path the generation has: HVCALL_GET_PARTITION_PROPERTY on
 * /dev/mshv (6.19+, the later Microsoft revision) or the Microsoft MSHV_EXT ioctl (older
 * Microsoft kernels, preferred there when both exist). The answer is the host's (CPUID 0x80000008 for the address width), and a
 * failure injected into the other path's call must not matter: only the chosen one is used.
 */
static void test_host_property(struct mshv *m, const struct mshv_caps *caps)
{
	bool ext = mshv_caps_has(caps, MSHV_CAP_EXT_GET_HOST_PARTITION_PROPERTY);
	/* A Microsoft kernel that has both: its own ioctl first. */
	bool dev = mshv_caps_has(caps, MSHV_CAP_ROOT_HVCALL_ON_DEVICE) &&
		   !(caps->generation == MSHV_GEN_MICROSOFT && ext);
	uint32_t a, b, c, d;
	uint64_t v = 0;
	char spec[64];

	if (!dev && !ext)
		return;		/* -EOPNOTSUPP: test_generation */
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000008), "c"(0));
	check_ok(mshv_get_host_partition_property(m, HV_PARTITION_PROPERTY_PHYSICAL_ADDRESS_WIDTH,
						  &v));
	check_eq_u64(v, a & 0xff);
	check(mshv_get_host_partition_property(m, 0x7fffffff, &v) < 0);	/* unknown property */

	/* The ioctl fails: only the Microsoft path sees it. */
	snprintf(spec, sizeof(spec), "ioctl=0x%lx:errno=5",
		 (unsigned long)MSHV_EXT_GET_HOST_PARTITION_PROPERTY);
	require_ok(sim_test_set_fault(spec));
	v = 1234;
	check_eq_int(mshv_get_host_partition_property(m, HV_PARTITION_PROPERTY_PHYSICAL_ADDRESS_WIDTH,
						      &v), dev ? 0 : -EIO);
	check_eq_u64(v, dev ? (a & 0xff) : 1234);	/* ret_ untouched on failure */
	/* The hypercall fails: only the /dev/mshv path sees it. */
	require_ok(sim_test_set_fault("hvcall=0x44:status=0x5"));
	v = 1234;
	check_eq_int(mshv_get_host_partition_property(m, HV_PARTITION_PROPERTY_PHYSICAL_ADDRESS_WIDTH,
						      &v), dev ? -EINVAL : 0);
	if (dev)
		check_eq_u64(mshv_last_hv_status(), HV_STATUS_INVALID_PARAMETER);
	require_ok(sim_test_set_fault(NULL));
}

/*
 * VMM_CAPABILITIES refused by the hypervisor (ACCESS_DENIED, older hypervisors): no
 * capabilities, not an error (as rust-vmm), both from mshv_get_vmm_caps() and in what
 * mshv_probe() caches; any other refusal is an error.
 */
static void test_vmm_caps_denied(void)
{
	struct mshv_caps caps;
	struct mshv *m;
	uint64_t v = 0xdead;

	require_ok(sim_test_set_fault("hvcall=0x101:count=0:status=0x6"));
	require_ok(mshv_open(&m));
	require_ok(mshv_probe(m, &caps));
	check(mshv_caps_has_feature(&caps, MSHV_FEATURE_VMM_CAPS));
	check_eq_u64(caps.vmm_caps, 0);
	check_ok(mshv_get_vmm_caps(m, &v));
	check_eq_u64(v, 0);
	require_ok(sim_test_set_fault("hvcall=0x101:status=0x5"));
	v = 0xdead;
	check_eq_int(mshv_get_vmm_caps(m, &v), -EINVAL);
	check_eq_u64(v, 0xdead);
	require_ok(sim_test_set_fault(NULL));
	check_ok(mshv_get_vmm_caps(m, &v));
	check(v & (1ULL << HV_VMM_CAP_ASSIGNABLE_SYNTHETIC_PROC_FEATURES_BIT));
	mshv_free(m);
}

static void test_generation(const struct gen_row *g)
{
	struct mshv_vm_args args;
	struct hv_partition_property_banks banks;
	struct mshv_caps caps, again;
	struct mshv_vm *vm = NULL;
	struct mshv *m;
	uint64_t v = 0;
	unsigned before;

	test_note("generation %s", g->sim);
	require_ok(mshv_open(&m));
	require_ok(mshv_probe(m, &caps));
	check_eq_int(caps.generation, g->gen);
	check_eq_u64(caps.pt_flags, g->pt_flags);
	check_eq_u64(caps.features, g->features);
	check_eq_str(mshv_generation_name(caps.generation),
		     g->gen == MSHV_GEN_MICROSOFT ? "microsoft" : g->gen == MSHV_GEN_6_15 ? "6.15" :
		     g->gen == MSHV_GEN_6_19 ? "6.19" : "7.0");
	/* Probed once: the second call is the cached answer and makes no kernel call. */
	before = rejections();
	require_ok(mshv_probe(m, &again));
	check(memcmp(&caps, &again, sizeof(caps)) == 0);
	check_eq_int(rejections(), before);

	/* Host properties and VMM capabilities where the driver has them, else -EOPNOTSUPP. */
	check_eq_int(mshv_get_host_partition_property(m, HV_PARTITION_PROPERTY_PHYSICAL_ADDRESS_WIDTH,
						      &v),
		     g->features & (1ULL << MSHV_FEATURE_HOST_PROPERTIES) ? 0 : -EOPNOTSUPP);
	v = 0;
	check_eq_int(mshv_get_vmm_caps(m, &v),
		     g->features & (1ULL << MSHV_FEATURE_VMM_CAPS) ? 0 : -EOPNOTSUPP);
	if (g->features & (1ULL << MSHV_FEATURE_VMM_CAPS))
		check(v & (1ULL << HV_VMM_CAP_ASSIGNABLE_SYNTHETIC_PROC_FEATURES_BIT));
	test_host_property(m, &caps);
	if (g->features & (1ULL << MSHV_FEATURE_VMM_CAPS))
		test_vmm_caps_denied();

	/* Each new creation option: created where the kernel has it, -EOPNOTSUPP elsewhere. */
	for (unsigned bit = MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES; bit < MSHV_PT_BIT_COUNT; bit++) {
		mshv_vm_args_init(&args, MSHV_VM_TYPE_NORMAL);
		args.pt_flags |= 1ULL << bit;
		vm = NULL;
		check_eq_int(mshv_create_vm_with_args(m, &args, &vm),
			     g->pt_flags & (1ULL << bit) ? 0 : -EOPNOTSUPP);
		vm = mshv_vm_free(vm);
	}

	/* A normal VM: nothing libmshv does with it is rejected by this generation. */
	before = rejections();
	require_ok(mshv_create_vm(m, &vm));
	memset(&banks, 0, sizeof(banks));
	check_eq_int(mshv_vm_get_partition_property_ex(vm, HV_PARTITION_PROPERTY_VMM_CAPABILITIES, 0,
						       &banks, sizeof(banks)),
		     g->features & (1ULL << MSHV_FEATURE_PROPERTY_EX) ? 0 : -EOPNOTSUPP);
	test_memory(vm);
	test_vcpus(vm);
	test_irq(vm);
	test_hypercalls(vm);
	check_eq_int(rejections(), before);
	mshv_vm_free(vm);
	mshv_free(m);
}

int main(int argc, char **argv)
{
	struct mshv_vm *vm;
	struct mshv *m;

	(void)argc;
	sim_test_init(argv);
	setenv("MSHV_SIM_GEN", "6.15", 1);
	test_system();
	require_ok(mshv_open(&m));
	test_create(m);
	require_ok(mshv_create_vm(m, &vm));
	test_not_mainline(vm);
	check_eq_str(mshv_strerror(HV_STATUS_INVALID_PARAMETER), "HV_STATUS_INVALID_PARAMETER");
	mshv_vm_free(vm);
	mshv_free(m);
	for (size_t i = 0; i < sizeof(gen_rows) / sizeof(gen_rows[0]); i++) {
		setenv("MSHV_SIM_GEN", gen_rows[i].sim, 1);
		test_generation(&gen_rows[i]);
	}
	return test_done();
}
