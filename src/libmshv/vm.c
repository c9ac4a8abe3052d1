// SPDX-License-Identifier: MIT
// libmshv partition object: creation, memory, irqfd/ioeventfd/MSI, partition hypercalls.

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* Pages per MSHV_GET_GPAP_ACCESS_BITMAP call in mshv_vm_get_dirty_log() (as rust-vmm). */
#define DIRTY_LOG_BATCH_PAGES	0x10000ULL

/* ioctl results >= 0 are success for calls that return no fd. */
static int ok(int r)
{
	return r < 0 ? r : 0;
}

void mshv_vm_args_init(struct mshv_vm_args *args, enum mshv_vm_type type)
{
	if (!args)
		return;
	memset(args, 0, sizeof(*args));
	args->pt_flags = MSHV_VM_DEFAULT_PT_FLAGS;
	args->pt_isolation = type == MSHV_VM_TYPE_SNP ? MSHV_PT_ISOLATION_SNP
						      : MSHV_PT_ISOLATION_NONE;
	args->synthetic_proc_features = MSHV_VM_DEFAULT_SYNTHETIC_PROC_FEATURES;
	args->flags = MSHV_VM_ARGS_SET_SYNTHETIC_PROC_FEATURES | MSHV_VM_ARGS_INITIALIZE;
}

/*
 * A VM created after mshv_probe() starts from its answer, so it never tries a path the kernel
 * lacks: translate-GVA (the dedicated ioctl, else the hypercall) and READ/WRITE_GPA.
 */
static void preset_paths(struct mshv *m, struct mshv_vm *vm)
{
	struct mshv_caps caps;
	bool probed;

	pthread_mutex_lock(&m->lock);
	probed = m->probed;
	caps = m->caps;
	pthread_mutex_unlock(&m->lock);
	if (!probed)
		return;
	vm->caps_known = true;
	vm->caps = caps;
	if (mshv_caps_has(&caps, MSHV_CAP_TRANSLATE_GVA_IOCTL))
		mshv__path_set(vm, MSHV__OP_TRANSLATE_GVA, MSHV__PATH_EXT);
	else if (mshv_caps_has_hvcall(&caps, HVCALL_TRANSLATE_VIRTUAL_ADDRESS))
		mshv__path_set(vm, MSHV__OP_TRANSLATE_GVA, MSHV__PATH_HVCALL);
	if (mshv_caps_has_hvcall(&caps, HVCALL_READ_GPA))
		mshv__path_set(vm, MSHV__OP_GPA_RW, MSHV__PATH_HVCALL);
	else if (!(caps.generation == MSHV_GEN_MICROSOFT))
		mshv__path_set(vm, MSHV__OP_GPA_RW, MSHV__PATH_NONE);
	if (!mshv_caps_has_hvcall(&caps, HVCALL_GET_PARTITION_PROPERTY_EX))
		mshv__path_set(vm, MSHV__OP_PROPERTY_EX, MSHV__PATH_NONE);
}

int mshv_create_vm_with_args(struct mshv *m, const struct mshv_vm_args *args,
			     struct mshv_vm **ret)
{
	struct mshv_create_partition_v2 v2;
	struct mshv_vm *vm;
	int r;

	if (!m || !args || !ret)
		return -EINVAL;
	if (args->flags & ~(MSHV_VM_ARGS_SET_SYNTHETIC_PROC_FEATURES | MSHV_VM_ARGS_INITIALIZE))
		return -EINVAL;
	if (args->pt_flags & ~MSHV_PT_FLAGS_MASK)
		return -EINVAL;
	/*
	 * Options newer than the first merge: an older kernel would answer a bare EINVAL. Say
	 * what is missing instead: -EOPNOTSUPP before anything is created.
	 */
	if (args->pt_flags & ~MSHV_BITS(MSHV_PT_BIT_LAPIC, MSHV_PT_BIT_X2APIC,
					 MSHV_PT_BIT_GPA_SUPER_PAGES)) {
		struct mshv_caps caps;

		r = mshv__caps(m, &caps);
		if (r < 0)
			return r;
		if (args->pt_flags & ~caps.pt_flags)
			return -EOPNOTSUPP;
	}

	memset(&v2, 0, sizeof(v2));
	v2.pt_flags = args->pt_flags;
	v2.pt_isolation = args->pt_isolation;
	if (args->pt_flags & MSHV_BITS(MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES)) {
		v2.pt_num_cpu_fbanks = MSHV_NUM_CPU_FEATURES_BANKS;
		for (int i = 0; i < MSHV_NUM_CPU_FEATURES_BANKS; i++)
			v2.pt_cpu_fbanks[i] = args->disabled_cpu_features[i];
		v2.pt_disabled_xsave = args->disabled_xsave_features;
	}

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	/* Same request number for both layouts: the kernel reads 64 bytes only with bit 3. */
	vm->fd = mshv__ioctl(m->fd, MSHV_CREATE_PARTITION, &v2);
	if (vm->fd < 0) {
		r = vm->fd;
		free(vm);
		return r;
	}
	preset_paths(m, vm);

	if (args->flags & MSHV_VM_ARGS_SET_SYNTHETIC_PROC_FEATURES) {
		r = mshv_vm_set_partition_property(vm, HV_PARTITION_PROPERTY_SYNTHETIC_PROC_FEATURES,
						   args->synthetic_proc_features);
		if (r < 0)
			goto fail;
	}
	if (args->flags & MSHV_VM_ARGS_INITIALIZE) {
		r = mshv_vm_initialize(vm);
		if (r < 0)
			goto fail;
	}
	*ret = vm;
	return 0;

fail:
	{
		/* Keep the failing call's HV status across the cleanup. */
		uint16_t status = mshv_last_hv_status();

		mshv_vm_free(vm);
		mshv__set_hv_status(status);
	}
	return r;
}

int mshv_create_vm_with_type(struct mshv *m, enum mshv_vm_type type, struct mshv_vm **ret)
{
	struct mshv_vm_args args;

	if (type != MSHV_VM_TYPE_NORMAL && type != MSHV_VM_TYPE_SNP)
		return -EINVAL;
	mshv_vm_args_init(&args, type);
	return mshv_create_vm_with_args(m, &args, ret);
}

int mshv_create_vm(struct mshv *m, struct mshv_vm **ret)
{
	return mshv_create_vm_with_type(m, MSHV_VM_TYPE_NORMAL, ret);
}

int mshv_vm_initialize(struct mshv_vm *vm)
{
	if (!vm)
		return -EINVAL;
	return ok(mshv__ioctl(vm->fd, MSHV_INITIALIZE_PARTITION, NULL));
}

struct mshv_vm *mshv_vm_free(struct mshv_vm *vm)
{
	if (!vm)
		return NULL;
	if (vm->fd >= 0)
		close(vm->fd);
	free(vm);
	return NULL;
}

int mshv_vm_fd(const struct mshv_vm *vm)
{
	return vm ? vm->fd : -EINVAL;
}

static int set_memory(struct mshv_vm *vm, const struct mshv_user_mem_region *region, bool unmap)
{
	struct mshv_user_mem_region r;

	if (!vm || !region)
		return -EINVAL;
	r = *region;
	if (unmap)
		r.flags |= MSHV_BITS(MSHV_SET_MEM_BIT_UNMAP);
	else
		r.flags &= (uint8_t)~MSHV_BITS(MSHV_SET_MEM_BIT_UNMAP);
	return ok(mshv__ioctl(vm->fd, MSHV_SET_GUEST_MEMORY, &r));
}

int mshv_vm_map_user_memory(struct mshv_vm *vm, const struct mshv_user_mem_region *region)
{
	return set_memory(vm, region, false);
}

int mshv_vm_unmap_user_memory(struct mshv_vm *vm, const struct mshv_user_mem_region *region)
{
	return set_memory(vm, region, true);
}

static int irqfd(struct mshv_vm *vm, int fd, int resamplefd, uint32_t gsi, uint32_t flags)
{
	struct mshv_user_irqfd arg = {
		.fd = fd, .resamplefd = resamplefd, .gsi = gsi, .flags = flags,
	};

	if (!vm || fd < 0)
		return -EINVAL;
	return ok(mshv__ioctl(vm->fd, MSHV_IRQFD, &arg));
}

int mshv_vm_register_irqfd(struct mshv_vm *vm, int fd, uint32_t gsi)
{
	return irqfd(vm, fd, 0, gsi, 0);
}

int mshv_vm_register_irqfd_with_resample(struct mshv_vm *vm, int fd, int resamplefd,
					 uint32_t gsi)
{
	if (resamplefd < 0)
		return -EINVAL;
	return irqfd(vm, fd, resamplefd, gsi, MSHV_BITS(MSHV_IRQFD_BIT_RESAMPLE));
}

int mshv_vm_unregister_irqfd(struct mshv_vm *vm, int fd, uint32_t gsi)
{
	return irqfd(vm, fd, 0, gsi, MSHV_BITS(MSHV_IRQFD_BIT_DEASSIGN));
}

static int ioeventfd(struct mshv_vm *vm, int fd, const struct mshv_ioevent_addr *addr,
		     struct mshv_datamatch dm, bool deassign)
{
	struct mshv_user_ioeventfd arg;

	if (!vm || fd < 0 || !addr)
		return -EINVAL;
	if (dm.len != 0 && dm.len != 1 && dm.len != 2 && dm.len != 4 && dm.len != 8)
		return -EINVAL;
	if (addr->space != MSHV_IOEVENT_MMIO && addr->space != MSHV_IOEVENT_PIO)
		return -EINVAL;
	memset(&arg, 0, sizeof(arg));
	arg.addr = addr->addr;
	arg.fd = fd;
	arg.len = dm.len;
	if (dm.len) {
		arg.datamatch = dm.value;
		arg.flags |= MSHV_BITS(MSHV_IOEVENTFD_BIT_DATAMATCH);
	}
	/* PIO goes to the kernel as is: mainline answers -EOPNOTSUPP itself. */
	if (addr->space == MSHV_IOEVENT_PIO)
		arg.flags |= MSHV_BITS(MSHV_IOEVENTFD_BIT_PIO);
	if (deassign)
		arg.flags |= MSHV_BITS(MSHV_IOEVENTFD_BIT_DEASSIGN);
	return ok(mshv__ioctl(vm->fd, MSHV_IOEVENTFD, &arg));
}

int mshv_vm_register_ioevent(struct mshv_vm *vm, int fd, const struct mshv_ioevent_addr *addr,
			     struct mshv_datamatch dm)
{
	return ioeventfd(vm, fd, addr, dm, false);
}

int mshv_vm_unregister_ioevent(struct mshv_vm *vm, int fd, const struct mshv_ioevent_addr *addr,
			       struct mshv_datamatch dm)
{
	return ioeventfd(vm, fd, addr, dm, true);
}

int mshv_vm_set_msi_routing(struct mshv_vm *vm, const struct mshv_user_irq_entry *entries,
			    size_t n)
{
	struct mshv_user_irq_table *table;
	int r;

	if (!vm || (n && !entries) || n > MSHV_MAX_GUEST_IRQS)
		return -EINVAL;
	table = calloc(1, sizeof(*table) + n * sizeof(table->entries[0]));
	if (!table)
		return -ENOMEM;
	table->nr = (uint32_t)n;
	if (n)
		memcpy(table->entries, entries, n * sizeof(entries[0]));
	r = ok(mshv__ioctl(vm->fd, MSHV_SET_MSI_ROUTING, table));
	free(table);
	return r;
}

int mshv_vm_request_virtual_interrupt(struct mshv_vm *vm, const struct mshv_interrupt_request *req)
{
	struct hv_input_assert_virtual_interrupt in;
	struct mshv_ext_assert_interrupt ext;
	struct mshv_root_hvcall args;
	uint64_t control;

	if (!vm || !req)
		return -EINVAL;
	control = req->interrupt_type;
	if (req->level_triggered)
		control |= HV_INTERRUPT_CONTROL_LEVEL_TRIGGERED;
	if (req->logical_destination_mode)
		control |= HV_INTERRUPT_CONTROL_LOGICAL_DEST_MODE;
	if (req->long_mode)
		control |= HV_INTERRUPT_CONTROL_RUST_LONG_MODE;

	memset(&in, 0, sizeof(in));
	in.control.as_uint64 = control;
	in.dest_addr = req->apic_id;
	in.vector = req->vector;
	memset(&ext, 0, sizeof(ext));
	ext.control.as_uint64 = control;
	ext.dest_addr = req->apic_id;
	ext.vector = req->vector;
	mshv__hvcall_args(&args, HVCALL_ASSERT_VIRTUAL_INTERRUPT, 0, &in, sizeof(in), NULL, 0);
	return mshv__dual(vm, MSHV__OP_ASSERT_INTERRUPT, vm->fd, &args, 0,
			  MSHV_EXT_ASSERT_INTERRUPT, &ext, NULL);
}

int mshv_vm_install_intercept(struct mshv_vm *vm, uint32_t access_type_mask,
			      uint32_t intercept_type, uint64_t parameter)
{
	struct hv_input_install_intercept in;
	struct mshv_ext_install_intercept ext;
	struct mshv_root_hvcall args;

	if (!vm)
		return -EINVAL;
	memset(&in, 0, sizeof(in));
	in.access_type = access_type_mask;
	in.intercept_type = intercept_type;
	in.intercept_parameter.as_uint64 = parameter;
	memset(&ext, 0, sizeof(ext));
	ext.access_type_mask = access_type_mask;
	ext.intercept_type = intercept_type;
	ext.intercept_parameter.as_uint64 = parameter;
	mshv__hvcall_args(&args, HVCALL_INSTALL_INTERCEPT, 0, &in, sizeof(in), NULL, 0);
	return mshv__dual(vm, MSHV__OP_INSTALL_INTERCEPT, vm->fd, &args, 0,
			  MSHV_EXT_INSTALL_INTERCEPT, &ext, NULL);
}

int mshv_vm_get_partition_property(struct mshv_vm *vm, uint32_t property_code, uint64_t *ret)
{
	struct hv_input_get_partition_property in = { .property_code = property_code };
	struct hv_output_get_partition_property out = { 0 };
	struct mshv_ext_partition_property ext = { .property_code = property_code };
	struct mshv_root_hvcall args;
	enum mshv__path path = MSHV__PATH_HVCALL;
	int r;

	if (!vm || !ret)
		return -EINVAL;
	mshv__hvcall_args(&args, HVCALL_GET_PARTITION_PROPERTY, 0, &in, sizeof(in),
			  &out, sizeof(out));
	r = mshv__dual(vm, MSHV__OP_GET_PROPERTY, vm->fd, &args, 0,
		       MSHV_EXT_GET_PARTITION_PROPERTY, &ext, &path);
	if (r < 0)
		return r;
	*ret = path == MSHV__PATH_EXT ? ext.property_value : out.property_value;
	return 0;
}

int mshv_vm_set_partition_property(struct mshv_vm *vm, uint32_t property_code, uint64_t value)
{
	struct hv_input_set_partition_property in = {
		.property_code = property_code, .property_value = value,
	};
	struct mshv_ext_partition_property ext = {
		.property_code = property_code, .property_value = value,
	};
	struct mshv_root_hvcall args;

	if (!vm)
		return -EINVAL;
	/* Asynchronous in the hypervisor: only allowed on the partition fd, as done here. */
	mshv__hvcall_args(&args, HVCALL_SET_PARTITION_PROPERTY, 0, &in, sizeof(in), NULL, 0);
	return mshv__dual(vm, MSHV__OP_SET_PROPERTY, vm->fd, &args, 0,
			  MSHV_EXT_SET_PARTITION_PROPERTY, &ext, NULL);
}

int mshv_vm_signal_event_direct(struct mshv_vm *vm, uint32_t vp, uint8_t vtl, uint8_t sint,
				uint16_t flag, bool *ret_newly_signaled)
{
	struct hv_input_signal_event_direct in = {
		.target_vp = vp, .target_vtl = vtl, .target_sint = sint, .flag_number = flag,
	};
	struct hv_output_signal_event_direct out = { 0 };
	struct mshv_ext_signal_event_direct ext = {
		.vp = vp, .vtl = vtl, .sint = sint, .flag = flag,
	};
	struct mshv_root_hvcall args;
	enum mshv__path path = MSHV__PATH_HVCALL;
	int r;

	if (!vm)
		return -EINVAL;
	mshv__hvcall_args(&args, HVCALL_SIGNAL_EVENT_DIRECT, 0, &in, sizeof(in), &out, sizeof(out));
	r = mshv__dual(vm, MSHV__OP_SIGNAL_EVENT, vm->fd, &args, 0, MSHV_EXT_SIGNAL_EVENT_DIRECT,
		       &ext, &path);
	if (r < 0)
		return r;
	if (ret_newly_signaled)
		*ret_newly_signaled = (path == MSHV__PATH_EXT ? ext.newly_signaled
							       : out.newly_signaled) != 0;
	return 0;
}

int mshv_vm_post_message_direct(struct mshv_vm *vm, uint32_t vp, uint8_t vtl, uint8_t sint,
				const void *msg, size_t len)
{
	struct hv_input_post_message_direct in;
	struct mshv_ext_post_message_direct ext;
	struct mshv_root_hvcall args;

	if (!vm || !msg || len == 0 || len > HV_MESSAGE_SIZE)
		return -EINVAL;
	memset(&in, 0, sizeof(in));
	in.vp_index = vp;
	in.vtl = vtl;
	in.sint_index = sint;
	memcpy(in.message, msg, len);
	memset(&ext, 0, sizeof(ext));
	ext.vp = vp;
	ext.vtl = vtl;
	ext.sint = sint;
	ext.length = (uint16_t)len;
	ext.message = (uint64_t)(uintptr_t)msg;
	mshv__hvcall_args(&args, HVCALL_POST_MESSAGE_DIRECT, 0, &in, sizeof(in), NULL, 0);
	return mshv__dual(vm, MSHV__OP_POST_MESSAGE, vm->fd, &args, 0,
			  MSHV_EXT_POST_MESSAGE_DIRECT, &ext, NULL);
}

int mshv_vm_register_deliverability_notifications(struct mshv_vm *vm, uint32_t vp,
						  uint64_t flags)
{
	uint8_t in[sizeof(struct hv_input_set_vp_registers) + sizeof(struct hv_register_assoc)];
	struct mshv_ext_register_deliverability_notifications ext = { .vp = vp, .flag = flags };
	struct hv_register_assoc reg = { .name = HV_X64_REGISTER_DELIVERABILITY_NOTIFICATIONS };
	struct mshv_root_hvcall args;

	if (!vm)
		return -EINVAL;
	reg.value.reg64 = flags;
	mshv__build_set_regs_input(in, vp, &reg, 1);
	mshv__hvcall_args(&args, HVCALL_SET_VP_REGISTERS, 1, in, sizeof(in), NULL, 0);
	return mshv__dual(vm, MSHV__OP_DELIVERABILITY, vm->fd, &args, 1,
			  MSHV_EXT_REGISTER_DELIVERABILITY_NOTIFICATIONS, &ext, NULL);
}

int mshv_vm_enable_dirty_page_tracking(struct mshv_vm *vm)
{
	return mshv_vm_set_partition_property(vm, HV_PARTITION_PROPERTY_GPA_PAGE_ACCESS_TRACKING, 1);
}

int mshv_vm_disable_dirty_page_tracking(struct mshv_vm *vm)
{
	return mshv_vm_set_partition_property(vm, HV_PARTITION_PROPERTY_GPA_PAGE_ACCESS_TRACKING, 0);
}

int mshv_vm_get_gpap_access_bitmap(struct mshv_vm *vm, uint8_t access_type, uint8_t access_op,
				   uint64_t base_pfn, uint64_t page_count, uint8_t *bitmap)
{
	struct mshv_gpap_access_bitmap arg;

	if (!vm || !bitmap || page_count == 0 || access_type >= MSHV_GPAP_ACCESS_TYPE_COUNT ||
	    access_op >= MSHV_GPAP_ACCESS_OP_COUNT)
		return -EINVAL;
	memset(&arg, 0, sizeof(arg));
	arg.access_type = access_type;
	arg.access_op = access_op;
	arg.page_count = page_count;
	arg.gpap_base = base_pfn;
	arg.bitmap_ptr = (uint64_t)(uintptr_t)bitmap;
	return ok(mshv__ioctl(vm->fd, MSHV_GET_GPAP_ACCESS_BITMAP, &arg));
}

/* One access op over page_count pages in batches (multiples of 8 pages: each batch starts on
 * a byte of bitmap). */
static int gpap_batched(struct mshv_vm *vm, uint8_t access_op, uint64_t base_pfn,
			uint64_t page_count, uint8_t *bitmap, bool advance)
{
	if (!vm || !bitmap || page_count == 0 || base_pfn + page_count < base_pfn)
		return -EINVAL;
	for (uint64_t done = 0; done < page_count; done += DIRTY_LOG_BATCH_PAGES) {
		uint64_t n = page_count - done;
		int r;

		if (n > DIRTY_LOG_BATCH_PAGES)
			n = DIRTY_LOG_BATCH_PAGES;
		r = mshv_vm_get_gpap_access_bitmap(vm, MSHV_GPAP_ACCESS_TYPE_DIRTY, access_op,
						   base_pfn + done, n,
						   advance ? bitmap + done / 8 : bitmap);
		if (r < 0)
			return r;
	}
	return 0;
}

int mshv_vm_get_dirty_log(struct mshv_vm *vm, uint64_t base_pfn, uint64_t page_count,
			  uint8_t *bitmap)
{
	return gpap_batched(vm, MSHV_GPAP_ACCESS_OP_CLEAR, base_pfn, page_count, bitmap, true);
}

int mshv_vm_set_dirty_bits(struct mshv_vm *vm, uint64_t base_pfn, uint64_t page_count)
{
	uint8_t *scratch;
	int r;

	if (!vm || page_count == 0)
		return -EINVAL;
	/* One batch's worth, reused: the bits read are not wanted. */
	scratch = malloc(DIRTY_LOG_BATCH_PAGES / 8);
	if (!scratch)
		return -ENOMEM;
	r = gpap_batched(vm, MSHV_GPAP_ACCESS_OP_SET, base_pfn, page_count, scratch, false);
	free(scratch);
	return r;
}

/* A Microsoft-kernel ioctl: -EOPNOTSUPP where the kernel does not know it. */
static int ext_ioctl(int fd, unsigned long request, void *arg)
{
	int r = mshv__ioctl(fd, request, arg);

	if (r == -ENOTTY)
		return -EOPNOTSUPP;
	return ok(r);
}

/* The page-list ioctls share a 16-byte header {u8, u8[7], u64 count} + u64 pfns[]. */
static int pfn_list_ioctl(struct mshv_vm *vm, unsigned long request, uint8_t first_byte,
			  const uint64_t *guest_pfns, size_t n)
{
	struct mshv_ext_modify_gpa_host_access *arg;
	int r;

	if (!vm || (n && !guest_pfns) || n > (SIZE_MAX - sizeof(*arg)) / sizeof(uint64_t))
		return -EINVAL;
	arg = calloc(1, sizeof(*arg) + n * sizeof(uint64_t));
	if (!arg)
		return -ENOMEM;
	arg->flags = first_byte;
	arg->page_count = n;
	if (n)
		memcpy(arg->guest_pfns, guest_pfns, n * sizeof(uint64_t));
	r = ext_ioctl(vm->fd, request, arg);
	free(arg);
	return r;
}

int mshv_vm_modify_gpa_host_access(struct mshv_vm *vm, uint8_t flags, const uint64_t *guest_pfns,
				   size_t n)
{
	return pfn_list_ioctl(vm, MSHV_EXT_MODIFY_GPA_HOST_ACCESS, flags, guest_pfns, n);
}

int mshv_vm_import_isolated_pages(struct mshv_vm *vm, uint8_t page_type,
				  const uint64_t *guest_pfns, size_t n)
{
	_Static_assert(offsetof(struct mshv_ext_import_isolated_pages, page_type) ==
		       offsetof(struct mshv_ext_modify_gpa_host_access, flags), "same header");
	_Static_assert(offsetof(struct mshv_ext_import_isolated_pages, guest_pfns) ==
		       offsetof(struct mshv_ext_modify_gpa_host_access, guest_pfns), "same header");
	return pfn_list_ioctl(vm, MSHV_EXT_IMPORT_ISOLATED_PAGES, page_type, guest_pfns, n);
}

int mshv_vm_complete_isolated_import(struct mshv_vm *vm,
				     const struct mshv_ext_complete_isolated_import *data)
{
	struct mshv_ext_complete_isolated_import copy;

	if (!vm || !data)
		return -EINVAL;
	copy = *data;
	return ext_ioctl(vm->fd, MSHV_EXT_COMPLETE_ISOLATED_IMPORT, &copy);
}

int mshv_vm_psp_issue_guest_request(struct mshv_vm *vm, uint64_t req_ppa, uint64_t rsp_ppa)
{
	struct mshv_ext_issue_psp_guest_request arg = { .req_ppa = req_ppa, .rsp_ppa = rsp_ppa };

	if (!vm)
		return -EINVAL;
	return ext_ioctl(vm->fd, MSHV_EXT_ISSUE_PSP_GUEST_REQUEST, &arg);
}

int mshv_vm_sev_snp_ap_create(struct mshv_vm *vm, uint64_t vp_id, uint64_t vmsa_gpa)
{
	struct mshv_ext_sev_snp_ap_create arg = { .vp_id = vp_id, .vmsa_gpa = vmsa_gpa };

	if (!vm)
		return -EINVAL;
	return ext_ioctl(vm->fd, MSHV_EXT_SEV_SNP_AP_CREATE, &arg);
}

int mshv_vm_hvcall(struct mshv_vm *vm, struct mshv_root_hvcall *args)
{
	if (!vm || !args)
		return -EINVAL;
	return mshv__hvcall(vm->fd, args);
}

int mshv_vm_get_partition_property_ex(struct mshv_vm *vm, uint32_t code, uint64_t arg,
				      void *buf, size_t size)
{
	struct hv_input_get_partition_property_ex in = { .property_code = code, .arg = arg };
	static _Thread_local uint8_t out[HV_GET_PARTITION_PROPERTY_EX_MAX_OUTPUT];
	struct mshv_root_hvcall args;
	int r;

	if (!vm || !buf || !size || size > sizeof(out))
		return -EINVAL;
	if (mshv__path_get(vm, MSHV__OP_PROPERTY_EX) == MSHV__PATH_NONE)
		return -EOPNOTSUPP;
	memset(out, 0, size);
	mshv__hvcall_args(&args, HVCALL_GET_PARTITION_PROPERTY_EX, 0, &in, sizeof(in), out, size);
	r = mshv__hvcall(vm->fd, &args);
	if (mshv__hvcall_missing(r, &args, 1)) {
		mshv__path_set(vm, MSHV__OP_PROPERTY_EX, MSHV__PATH_NONE);
		return -EOPNOTSUPP;
	}
	if (r < 0)
		return r;
	mshv__path_set(vm, MSHV__OP_PROPERTY_EX, MSHV__PATH_HVCALL);
	memcpy(buf, out, size);
	return 0;
}
