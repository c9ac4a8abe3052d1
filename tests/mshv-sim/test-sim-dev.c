// SPDX-License-Identifier: MIT
/* mshv-sim raw ioctls: /dev/mshv and partition fd semantics and error codes of the mainline driver. */
#include "config.h"
#include <fcntl.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "guest.h"
#include "sim-test.h"

static int create_pt(int dev, uint64_t flags, uint64_t isolation)
{
	struct mshv_create_partition a = { .pt_flags = flags, .pt_isolation = isolation };

	return sim_test_ioctl(dev, MSHV_CREATE_PARTITION, &a);
}

static int mem(int pt, uint64_t size, uint64_t gfn, void *uaddr, uint8_t flags)
{
	struct mshv_user_mem_region m = {
		.size = size, .guest_pfn = gfn, .userspace_addr = (uintptr_t)uaddr, .flags = flags,
	};

	return sim_test_ioctl(pt, MSHV_SET_GUEST_MEMORY, &m);
}

static void test_device(void)
{
	struct mshv_create_partition_v2 v2 = { 0 };
	int dev, pt;

	dev = open("/dev/mshv", O_RDWR);
	require(dev >= 0);
	check_eq_int(fcntl(dev, F_GETFD) & FD_CLOEXEC, 0);
	close(dev);
	dev = open("/dev/mshv", O_RDONLY | O_CLOEXEC | O_NONBLOCK);	/* rust-vmm's flags */
	require(dev >= 0);
	check_eq_int(fcntl(dev, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);

	/* Only CREATE_PARTITION on /dev/mshv: MS-kernel and v1 numbers are unknown. */
	check_eq_int(sim_test_ioctl(dev, _IOWR(MSHV_IOCTL, 0x01, struct mshv_ext_partition_property), &v2),
		     -ENOTTY);
	check_eq_int(sim_test_ioctl(dev, MSHV_ROOT_HVCALL, &v2), -ENOTTY);
	check_eq_int(sim_test_ioctl(dev, 0x4004B800, &v2), -ENOTTY);	/* v1 CHECK_EXTENSION */
	check_eq_int(sim_test_ioctl(dev, FIONBIO, &(int){ 1 }), 0);	/* answered by the VFS */

	/* First merged uapi: bits 0-2; bit 3 (v2 struct) and later are rejected by default. */
	check_eq_int(create_pt(dev, 1ULL << 3, 0), -EINVAL);
	check_eq_int(create_pt(dev, 1ULL << 6, 0), -EINVAL);
	check_eq_int(create_pt(dev, 0, MSHV_PT_ISOLATION_SNP), -EINVAL);
	v2.pt_flags = 1ULL << MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES;
	v2.pt_num_cpu_fbanks = 2;
	check_eq_int(sim_test_ioctl(dev, MSHV_CREATE_PARTITION, &v2), -EINVAL);

	pt = create_pt(dev, 0x7, 0);
	require(pt >= 0);
	check_eq_int(fcntl(pt, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	check(mmap(NULL, 4096, PROT_READ, MAP_SHARED, pt, 0) == MAP_FAILED);
	close(pt);
	pt = create_pt(dev, 0, 0);
	require(pt >= 0);
	close(pt);
	close(dev);
}

static void test_memory(int pt)
{
	size_t sz = 16 * 4096;
	uint8_t *a = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct mshv_user_mem_region m = { .size = 4096, .guest_pfn = 0x100, .userspace_addr = (uintptr_t)a };
	uint8_t rw = 1u << MSHV_SET_MEM_BIT_WRITABLE | 1u << MSHV_SET_MEM_BIT_EXECUTABLE;
	uint8_t unmap = 1u << MSHV_SET_MEM_BIT_UNMAP;

	require(a != MAP_FAILED);
	check_eq_int(mem(pt, 0, 0x100, a, rw), -EINVAL);		/* size 0 */
	check_eq_int(mem(pt, 4095, 0x100, a, rw), -EINVAL);		/* unaligned size */
	check_eq_int(mem(pt, 4096, 0x100, a + 1, rw), -EINVAL);	/* unaligned uaddr */
	check_eq_int(mem(pt, 4096, 0x100, a, 0x8), -EINVAL);		/* unknown flag */
	m.rsvd[3] = 1;
	check_eq_int(sim_test_ioctl(pt, MSHV_SET_GUEST_MEMORY, &m), -EINVAL);
	check_eq_int(mem(pt, 4096, 0x100, (void *)0x10000, rw), -EINVAL);	/* no VMA */

	check_eq_int(mem(pt, 8 * 4096, 0x100, a, rw), 0);
	check_eq_int(mem(pt, 4096, 0x107, a + 8 * 4096, rw), -EEXIST);	/* overlaps the last page */
	check_eq_int(mem(pt, 4096, 0xff, a + 8 * 4096, rw), 0);		/* adjacent: fine */
	check_eq_int(mem(pt, 4096, 0x108, a + 9 * 4096, 0), 0);		/* read-only */

	/* Unmap must match gfn, uaddr and size exactly; flags other than UNMAP are ignored. */
	check_eq_int(mem(pt, 4 * 4096, 0x100, a, unmap), -EINVAL);
	check_eq_int(mem(pt, 8 * 4096, 0x100, a + 4096, unmap), -EINVAL);
	check_eq_int(mem(pt, 8 * 4096, 0x101, a, unmap), -EINVAL);
	check_eq_int(mem(pt, 8 * 4096, 0x100, a, unmap | rw), 0);
	check_eq_int(mem(pt, 8 * 4096, 0x100, a, unmap), -EINVAL);		/* double unmap */
	check_eq_int(mem(pt, 8 * 4096, 0x100, a, rw), 0);			/* space is free again */
	check_eq_int(mem(pt, 8 * 4096, 0x100, a, unmap), 0);
	check_eq_int(mem(pt, 4096, 0xff, a + 8 * 4096, unmap), 0);
	check_eq_int(mem(pt, 4096, 0x108, a + 9 * 4096, unmap), 0);
	munmap(a, sz);
}

static void test_vp(int pt)
{
	struct mshv_create_vp v = { .vp_index = 0 };
	int vp, vp2;
	void *p;

	/* The hypervisor refuses VPs in a partition that is not initialized. */
	check_eq_int(sim_test_ioctl(pt, MSHV_CREATE_VP, &v), -EIO);
	check_eq_int(sim_test_ioctl(pt, MSHV_INITIALIZE_PARTITION, NULL), 0);
	check_eq_int(sim_test_ioctl(pt, MSHV_INITIALIZE_PARTITION, NULL), 0);	/* idempotent */

	v.vp_index = MSHV_MAX_VPS;
	check_eq_int(sim_test_ioctl(pt, MSHV_CREATE_VP, &v), -EINVAL);
	v.vp_index = 0;
	vp = sim_test_ioctl(pt, MSHV_CREATE_VP, &v);
	require(vp >= 0);
	check_eq_int(fcntl(vp, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	check_eq_int(sim_test_ioctl(pt, MSHV_CREATE_VP, &v), -EEXIST);
	v.vp_index = 255;
	vp2 = sim_test_ioctl(pt, MSHV_CREATE_VP, &v);
	check(vp2 >= 0);

	/* mmap: page 0 register page, page 1 message page, GHCB only for SNP, others EINVAL. */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vp, 0);
	check(p != MAP_FAILED);
	if (p != MAP_FAILED) {
		check_eq_int(((struct hv_vp_register_page *)p)->version, HV_VP_REGISTER_PAGE_VERSION_1);
		munmap(p, 4096);
	}
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, vp, 4096);
	check(p != MAP_FAILED);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	check(mmap(NULL, 4096, PROT_READ, MAP_SHARED, vp, 2 * 4096) == MAP_FAILED);
	check(mmap(NULL, 4096, PROT_READ, MAP_SHARED, vp, 3 * 4096) == MAP_FAILED);
	check_eq_int(errno, EINVAL);

	/* Unknown vp ioctls (old and MS-kernel register ioctls) are ENOTTY. */
	check_eq_int(sim_test_ioctl(vp, _IOWR(MSHV_IOCTL, 0xF0, struct mshv_ext_vp_registers), &v), -ENOTTY);
	check_eq_int(sim_test_ioctl(vp, 0xC010B805, &v), -ENOTTY);

	/* A dup'ed fd is the same VP. */
	{
		int d = fcntl(vp, F_DUPFD_CLOEXEC, 0);
		struct mshv_get_set_vp_state st = { .type = 9 };

		check(d >= 0);
		check_eq_int(sim_test_ioctl(d, MSHV_GET_VP_STATE, &st), -EINVAL);
		close(d);
	}
	close(vp2);
	close(vp);
	/* The VP outlives its fd: index 0 stays taken. */
	v.vp_index = 0;
	check_eq_int(sim_test_ioctl(pt, MSHV_CREATE_VP, &v), -EEXIST);
}

static void test_irq(int pt)
{
	int efd = eventfd(0, EFD_CLOEXEC), efd2 = eventfd(0, EFD_CLOEXEC);
	struct mshv_user_irqfd irq = { .fd = efd, .gsi = 5 };
	struct mshv_user_ioeventfd io = { .addr = GUEST_MMIO_BASE, .len = 4, .fd = efd };
	struct {
		struct mshv_user_irq_table t;
		struct mshv_user_irq_entry e[3];
	} tab = { { .nr = 2 }, { { 5, 0xfee00000, 0, 0x30 }, { 6, 0xfee00000, 0, 0x8031 } } };

	require(efd >= 0 && efd2 >= 0);
	check_eq_int(sim_test_ioctl(pt, MSHV_SET_MSI_ROUTING, &tab), 0);
	tab.e[1].address_hi = 1;
	check_eq_int(sim_test_ioctl(pt, MSHV_SET_MSI_ROUTING, &tab), -EINVAL);
	tab.e[1].address_hi = 0;
	tab.e[1].gsi = 5;
	check_eq_int(sim_test_ioctl(pt, MSHV_SET_MSI_ROUTING, &tab), -EINVAL);	/* duplicate */
	tab.e[1].gsi = MSHV_MAX_GUEST_IRQS;
	check_eq_int(sim_test_ioctl(pt, MSHV_SET_MSI_ROUTING, &tab), -EINVAL);
	tab.e[1].gsi = 6;
	check_eq_int(sim_test_ioctl(pt, MSHV_SET_MSI_ROUTING, &tab), 0);

	check_eq_int(sim_test_ioctl(pt, MSHV_IRQFD, &irq), 0);
	check_eq_int(sim_test_ioctl(pt, MSHV_IRQFD, &irq), -EBUSY);
	irq.flags = 1u << 2;
	check_eq_int(sim_test_ioctl(pt, MSHV_IRQFD, &irq), -EINVAL);
	/* RESAMPLE needs a level-triggered route: GSI 5 is edge, GSI 6 level. */
	irq = (struct mshv_user_irqfd){ .fd = efd2, .resamplefd = efd, .gsi = 5,
					.flags = 1u << MSHV_IRQFD_BIT_RESAMPLE };
	check_eq_int(sim_test_ioctl(pt, MSHV_IRQFD, &irq), -EINVAL);
	irq.gsi = 6;
	check_eq_int(sim_test_ioctl(pt, MSHV_IRQFD, &irq), 0);
	irq.flags = 1u << MSHV_IRQFD_BIT_DEASSIGN;
	check_eq_int(sim_test_ioctl(pt, MSHV_IRQFD, &irq), 0);
	irq = (struct mshv_user_irqfd){ .fd = efd, .gsi = 5, .flags = 1u << MSHV_IRQFD_BIT_DEASSIGN };
	check_eq_int(sim_test_ioctl(pt, MSHV_IRQFD, &irq), 0);
	irq.flags = 0;
	check_eq_int(sim_test_ioctl(pt, MSHV_IRQFD, &irq), 0);		/* free again */

	/* ioeventfd: MMIO only; duplicates EEXIST; deassign must match. */
	check_eq_int(sim_test_ioctl(pt, MSHV_IOEVENTFD, &io), 0);
	check_eq_int(sim_test_ioctl(pt, MSHV_IOEVENTFD, &io), -EEXIST);
	io.flags = 1u << MSHV_IOEVENTFD_BIT_DATAMATCH;
	io.datamatch = 7;
	check_eq_int(sim_test_ioctl(pt, MSHV_IOEVENTFD, &io), -EEXIST);	/* the wildcard covers it */
	io.addr += 8;
	check_eq_int(sim_test_ioctl(pt, MSHV_IOEVENTFD, &io), 0);
	io.datamatch = 9;
	check_eq_int(sim_test_ioctl(pt, MSHV_IOEVENTFD, &io), 0);	/* another value: fine */
	io.flags = 1u << MSHV_IOEVENTFD_BIT_DATAMATCH | 1u << MSHV_IOEVENTFD_BIT_DEASSIGN;
	check_eq_int(sim_test_ioctl(pt, MSHV_IOEVENTFD, &io), 0);
	io.flags |= 1u << MSHV_IOEVENTFD_BIT_DEASSIGN;
	io.datamatch = 8;
	check_eq_int(sim_test_ioctl(pt, MSHV_IOEVENTFD, &io), -ENOENT);
	io.datamatch = 7;
	io.fd = efd2;
	check_eq_int(sim_test_ioctl(pt, MSHV_IOEVENTFD, &io), -ENOENT);	/* other eventfd */
	io.fd = efd;
	check_eq_int(sim_test_ioctl(pt, MSHV_IOEVENTFD, &io), 0);
	io = (struct mshv_user_ioeventfd){ .addr = 0x3f8, .len = 1, .fd = efd,
					   .flags = 1u << MSHV_IOEVENTFD_BIT_PIO };
	check_eq_int(sim_test_ioctl(pt, MSHV_IOEVENTFD, &io), -EOPNOTSUPP);
	io = (struct mshv_user_ioeventfd){ .addr = GUEST_MMIO_BASE, .len = 3, .fd = efd };
	check_eq_int(sim_test_ioctl(pt, MSHV_IOEVENTFD, &io), -EINVAL);
	io.len = 4;
	io.flags = 1u << 3;
	check_eq_int(sim_test_ioctl(pt, MSHV_IOEVENTFD, &io), -EINVAL);
	io.flags = 1u << MSHV_IOEVENTFD_BIT_DEASSIGN;
	check_eq_int(sim_test_ioctl(pt, MSHV_IOEVENTFD, &io), 0);
	close(efd);
	close(efd2);
}

static void test_hvcall(int pt)
{
	struct hv_input_get_partition_property gp = { .property_code = 0x12345 };
	struct hv_input_set_partition_property sp = {
		.property_code = HV_PARTITION_PROPERTY_SYNTHETIC_PROC_FEATURES, .property_value = 1,
	};
	struct hv_output_get_partition_property out = { 0 };
	struct mshv_root_hvcall a = { 0 };
	uint16_t st = 0xffff, reps = 0xffff;

	/* Kernel-side validation: -EINVAL without touching status. */
	check_eq_int(sim_test_hvcall(pt, HVCALL_READ_GPA, 0, &gp, sizeof(gp), NULL, 0, NULL, NULL), -EINVAL);
	check_eq_int(sim_test_hvcall(pt, HVCALL_GET_PARTITION_PROPERTY_EX, 0, &gp, sizeof(gp), &out,
				     sizeof(out), NULL, NULL), -EINVAL);
	check_eq_int(sim_test_hvcall(pt, HVCALL_GET_PARTITION_PROPERTY, 0, &gp, 4, &out, 8, NULL, NULL),
		     -EINVAL);
	check_eq_int(sim_test_hvcall(pt, HVCALL_GET_PARTITION_PROPERTY, 0, NULL, 16, &out, 8, NULL, NULL),
		     -EINVAL);
	check_eq_int(sim_test_hvcall(pt, HVCALL_GET_PARTITION_PROPERTY, 0, &gp, sizeof(gp), &out, 0,
				     NULL, NULL), -EINVAL);
	a = (struct mshv_root_hvcall){ .code = HVCALL_GET_PARTITION_PROPERTY, .in_sz = 16, .out_sz = 8,
				       .status = 1, .in_ptr = (uintptr_t)&gp, .out_ptr = (uintptr_t)&out };
	check_eq_int(sim_test_ioctl(pt, MSHV_ROOT_HVCALL, &a), -EINVAL);

	/* Hypervisor failures: errno per hv_result_to_errno, raw status written back. */
	check_eq_int(sim_test_hvcall(pt, HVCALL_GET_PARTITION_PROPERTY, 0, &gp, sizeof(gp), &out,
				     sizeof(out), &st, &reps), -EIO);
	check_eq_u64(st, HV_STATUS_UNKNOWN_PROPERTY);
	check_eq_u64(reps, 0);
	check_eq_int(sim_test_hvcall(pt, HVCALL_GET_PARTITION_PROPERTY, 1, &gp, sizeof(gp), &out,
				     sizeof(out), &st, NULL), -EINVAL);	/* reps on a simple call */
	check_eq_u64(st, HV_STATUS_INVALID_HYPERCALL_INPUT);

	/* SYNTHETIC_PROC_FEATURES is an early property: refused after INITIALIZE. */
	check_eq_int(sim_test_hvcall(pt, HVCALL_SET_PARTITION_PROPERTY, 0, &sp, sizeof(sp), NULL, 0,
				     &st, NULL), -EIO);
	check_eq_u64(st, HV_STATUS_INVALID_PARTITION_STATE);
	sp.property_code = HV_PARTITION_PROPERTY_UNIMPLEMENTED_MSR_ACTION;
	check_eq_int(sim_test_hvcall(pt, HVCALL_SET_PARTITION_PROPERTY, 0, &sp, sizeof(sp), NULL, 0,
				     &st, NULL), 0);
	check_eq_u64(st, HV_STATUS_SUCCESS);
	gp.property_code = HV_PARTITION_PROPERTY_UNIMPLEMENTED_MSR_ACTION;
	check_eq_int(sim_test_hvcall(pt, HVCALL_GET_PARTITION_PROPERTY, 0, &gp, sizeof(gp), &out,
				     sizeof(out), &st, NULL), 0);
	check_eq_u64(out.property_value, 1);
	sp.property_value = 7;
	check_eq_int(sim_test_hvcall(pt, HVCALL_SET_PARTITION_PROPERTY, 0, &sp, sizeof(sp), NULL, 0,
				     &st, NULL), -EIO);
	check_eq_u64(st, HV_STATUS_PROPERTY_VALUE_OUT_OF_RANGE);
}

static void test_early_property(int dev)
{
	struct hv_input_set_partition_property sp = {
		.property_code = HV_PARTITION_PROPERTY_SYNTHETIC_PROC_FEATURES,
		.property_value = 0x6400FFB,
	};
	struct hv_input_get_partition_property gp = { .property_code = sp.property_code };
	struct hv_output_get_partition_property out = { 0 };
	int pt = create_pt(dev, 0x7, 0);
	uint16_t st;

	require(pt >= 0);
	check_eq_int(sim_test_hvcall(pt, HVCALL_SET_PARTITION_PROPERTY, 0, &sp, sizeof(sp), NULL, 0,
				     &st, NULL), 0);
	check_eq_int(sim_test_hvcall(pt, HVCALL_GET_PARTITION_PROPERTY, 0, &gp, sizeof(gp), &out,
				     sizeof(out), &st, NULL), 0);
	check_eq_u64(out.property_value, 0x6400FFB);
	check_eq_int(sim_test_ioctl(pt, MSHV_INITIALIZE_PARTITION, NULL), 0);
	close(pt);
}

static void test_dirty(int dev)
{
	uint8_t *ram = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint8_t bm[1] = { 0xff };
	struct mshv_gpap_access_bitmap g = {
		.access_type = MSHV_GPAP_ACCESS_TYPE_DIRTY, .page_count = 4, .gpap_base = 0,
		.bitmap_ptr = (uintptr_t)bm,
	};
	struct hv_input_set_partition_property sp = {
		.property_code = HV_PARTITION_PROPERTY_GPA_PAGE_ACCESS_TRACKING, .property_value = 1,
	};
	int pt = create_pt(dev, 0, 0);

	require(pt >= 0 && ram != MAP_FAILED);
	check_eq_int(sim_test_ioctl(pt, MSHV_INITIALIZE_PARTITION, NULL), 0);
	check_eq_int(mem(pt, 4 * 4096, 0, ram, 3), 0);
	/* Without tracking the sim refuses (documented choice). */
	check_eq_int(sim_test_ioctl(pt, MSHV_GET_GPAP_ACCESS_BITMAP, &g), -EINVAL);
	check_eq_int(sim_test_hvcall(pt, HVCALL_SET_PARTITION_PROPERTY, 0, &sp, sizeof(sp), NULL, 0,
				     NULL, NULL), 0);
	check_eq_int(sim_test_ioctl(pt, MSHV_GET_GPAP_ACCESS_BITMAP, &g), 0);
	check_eq_u64(bm[0], 0);		/* nothing written by the guest yet */
	g.page_count = 0;
	check_eq_int(sim_test_ioctl(pt, MSHV_GET_GPAP_ACCESS_BITMAP, &g), -EINVAL);
	g.page_count = 4;
	g.access_op = 3;
	check_eq_int(sim_test_ioctl(pt, MSHV_GET_GPAP_ACCESS_BITMAP, &g), -EINVAL);
	close(pt);
	munmap(ram, 4 * 4096);
}

/* One row per MSHV_SIM_GEN value: what §11 of the fact sheet says that kernel does. */
static const struct gen_row {
	const char *gen;
	unsigned pt_bits;
	bool dev_hvcall;	/* ROOT_HVCALL on /dev/mshv */
	bool dev_any;		/* ... for any non-async allowed code */
	bool ex;		/* 0x0101 */
	bool gpa_rw;		/* 0x53/0x54 */
	bool scrub;		/* 0x8D */
	bool ms;		/* Microsoft ioctls */
	bool movable;
} gen_rows[] = {
	{ "6.15", 3, false, false, false, false, false, false, false },
	{ "6.19", 4, true, false, true, false, false, false, true },
	{ "7.0-rc1", 6, true, false, true, false, true, false, true },
	{ "7.0", 6, true, false, true, false, false, false, true },
	{ "ms-2025", 4, false, false, false, true, false, true, false },
	{ "ms", 4, true, true, true, true, false, true, false },
};

/* -EINVAL from the kernel's allow-list (status untouched), else 0 whatever the hypervisor says. */
static int hv_probe(int fd, uint16_t code)
{
	uint64_t in[4] = { 0 };
	uint64_t out[2];
	uint16_t st = 0;
	int r = sim_test_hvcall(fd, code, 0, in, sizeof(in), out, sizeof(out), &st, NULL);

	return r == -EINVAL && st == 0 ? -EINVAL : 0;
}

static void test_generations(void)
{
	for (size_t i = 0; i < sizeof(gen_rows) / sizeof(gen_rows[0]); i++) {
		const struct gen_row *g = &gen_rows[i];
		struct hv_input_get_partition_property gp = {
			.property_code = HV_PARTITION_PROPERTY_PROCESSOR_VENDOR,
		};
		struct hv_input_get_partition_property_ex gx = {
			.property_code = HV_PARTITION_PROPERTY_VMM_CAPABILITIES,
		};
		struct hv_partition_property_banks banks = { 0 };
		struct mshv_ext_partition_property hp = {
			.property_code = HV_PARTITION_PROPERTY_PHYSICAL_ADDRESS_WIDTH,
		};
		struct hv_output_get_partition_property out = { 0 };
		struct mshv_ext_translate_gva tg = { 0 };
		uint16_t st = 0xffff;
		int dev, pt, vp;

		setenv("MSHV_SIM_GEN", g->gen, 1);
		test_note("generation %s", g->gen);
		dev = open("/dev/mshv", O_RDWR | O_CLOEXEC);
		require(dev >= 0);

		/* Partition bits: exactly pt_bits of them (bit 3 with the v2 struct). */
		for (unsigned bit = 0; bit < 7; bit++) {
			struct mshv_create_partition_v2 v2 = { .pt_flags = 1ULL << bit,
							       .pt_num_cpu_fbanks = 2 };
			int fd = sim_test_ioctl(dev, MSHV_CREATE_PARTITION, &v2);

			check_eq_int(fd >= 0, bit < g->pt_bits);
			if (fd >= 0)
				close(fd);
		}

		/* /dev/mshv MSHV_ROOT_HVCALL, self-targeted. */
		check_eq_int(sim_test_hvcall(dev, HVCALL_GET_PARTITION_PROPERTY, 0, &gp, sizeof(gp),
					     &out, sizeof(out), &st, NULL), g->dev_hvcall ? 0 : -ENOTTY);
		if (g->dev_hvcall) {
			check_eq_u64(st, HV_STATUS_SUCCESS);
			check_eq_int(sim_test_hvcall(dev, HVCALL_GET_PARTITION_PROPERTY_EX, 0, &gx,
						     sizeof(gx), &banks, sizeof(banks), &st, NULL), 0);
			check_eq_int(banks.bank_count, 1);
			/* Async codes never; others only on the Microsoft kernel. */
			check_eq_int(hv_probe(dev, HVCALL_SET_PARTITION_PROPERTY), -EINVAL);
			check_eq_int(hv_probe(dev, HVCALL_INSTALL_INTERCEPT) == -EINVAL, !g->dev_any);
		}
		check_eq_int(sim_test_ioctl(dev, MSHV_EXT_GET_HOST_PARTITION_PROPERTY, &hp),
			     g->ms ? 0 : -ENOTTY);
		if (g->ms)
			check(hp.property_value >= 32);

		/* The pt/vp allow-list. */
		pt = create_pt(dev, 0x7, 0);
		require(pt >= 0);
		require_ok(sim_test_ioctl(pt, MSHV_INITIALIZE_PARTITION, NULL));
		vp = sim_test_ioctl(pt, MSHV_CREATE_VP, &(struct mshv_create_vp){ 0 });
		require(vp >= 0);
		check_eq_int(hv_probe(pt, HVCALL_GET_PARTITION_PROPERTY_EX) == -EINVAL, !g->ex);
		check_eq_int(hv_probe(pt, HVCALL_READ_GPA) == -EINVAL, !g->gpa_rw);
		check_eq_int(hv_probe(pt, HVCALL_WRITE_GPA) == -EINVAL, !g->gpa_rw);
		check_eq_int(hv_probe(pt, HVCALL_SCRUB_PARTITION) == -EINVAL, !g->scrub);
		check_eq_int(hv_probe(pt, HVCALL_IMPORT_ISOLATED_PAGES) == -EINVAL, !g->ms);
		check_eq_int(hv_probe(pt, HVCALL_GET_VP_CPUID_VALUES) == -EINVAL, false);

		/* Translate: result 5 before the guest touched movable memory; the dedicated
		 * ioctl (Microsoft kernels) faults in and never says 5. */
		{
			struct hv_input_translate_virtual_address tin = {
				.control_flags = HV_TRANSLATE_GVA_VALIDATE_READ, .gva_page = 1,
			};
			struct hv_output_translate_virtual_address tout = { 0 };
			union hv_translate_gva_result res = { .as_uint64 = 0xff };
			uint64_t gpa = 0;
			uint8_t *ram = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
					    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

			require(ram != MAP_FAILED);
			require_ok(mem(pt, 1 << 16, 0, ram, 0x3));
			require_ok(sim_test_hvcall(vp, HVCALL_TRANSLATE_VIRTUAL_ADDRESS, 0, &tin,
						   sizeof(tin), &tout, sizeof(tout), &st, NULL));
			check_eq_int(tout.translation_result.result_code,
				     g->movable ? HV_TRANSLATE_GVA_GPA_NO_READ_ACCESS
						: HV_TRANSLATE_GVA_SUCCESS);
			tg.gva = 0x1234;
			tg.flags = HV_TRANSLATE_GVA_VALIDATE_READ;
			tg.result = (uintptr_t)&res;
			tg.gpa = (uintptr_t)&gpa;
			check_eq_int(sim_test_ioctl(vp, MSHV_TRANSLATE_GVA, &tg), g->ms ? 0 : -ENOTTY);
			if (g->ms) {
				check_eq_int(res.result_code, HV_TRANSLATE_GVA_SUCCESS);
				check_eq_u64(gpa, 0x1234);
			}
			munmap(ram, 1 << 16);
		}
		close(vp);
		close(pt);
		close(dev);
	}
	setenv("MSHV_SIM_GEN", "6.15", 1);
}

int main(int argc, char **argv)
{
	int dev, pt;

	(void)argc;
	sim_test_init(argv);
	test_generations();
	/* The tests below check the first merged driver's semantics. */
	setenv("MSHV_SIM_GEN", "6.15", 1);
	test_device();

	dev = open("/dev/mshv", O_RDWR | O_CLOEXEC);
	require(dev >= 0);
	pt = create_pt(dev, 0x7, 0);
	require(pt >= 0);
	/* MS-kernel extension ioctls on the partition fd: ENOTTY on mainline. */
	for (unsigned nr = 0xF0; nr <= 0xF9; nr++)
		check_eq_int(sim_test_ioctl(pt, _IOC(_IOC_WRITE, MSHV_IOCTL, nr, 16), &(char[64]){ 0 }),
			     -ENOTTY);
	check_eq_int(sim_test_ioctl(pt, _IOWR(MSHV_IOCTL, 0x08, struct mshv_ext_create_device),
				    &(char[64]){ 0 }), -ENOTTY);
	test_memory(pt);
	test_vp(pt);
	test_irq(pt);
	test_hvcall(pt);
	close(pt);
	test_early_property(dev);
	test_dirty(dev);
	close(dev);
	return test_done();
}
