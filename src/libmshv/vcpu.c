// SPDX-License-Identifier: MIT
// libmshv vCPU object: creation, run, VP state, GVA translation, GPA access, CPUID.

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

int mshv_vm_create_vcpu(struct mshv_vm *vm, uint32_t index, struct mshv_vcpu **ret)
{
	struct mshv_create_vp arg = { .vp_index = index };
	struct mshv_vcpu *vcpu;
	long page;
	void *p;

	if (!vm || !ret)
		return -EINVAL;
	vcpu = calloc(1, sizeof(*vcpu));
	if (!vcpu)
		return -ENOMEM;
	vcpu->vm = vm;
	vcpu->index = index;
	vcpu->fd = mshv__ioctl(vm->fd, MSHV_CREATE_VP, &arg);
	if (vcpu->fd < 0) {
		int r = vcpu->fd;

		free(vcpu);
		return r;
	}

	/*
	 * The register page is optional: encrypted partitions have none (ENODEV) and the
	 * hypercall path works without it.
	 */
	page = sysconf(_SC_PAGESIZE);
	p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd,
		 (off_t)MSHV_VP_MMAP_OFFSET_REGISTERS * page);
	if (p != MAP_FAILED) {
		vcpu->reg_page = p;
		vcpu->reg_page_size = (size_t)page;
	}
	*ret = vcpu;
	return 0;
}

struct mshv_vcpu *mshv_vcpu_free(struct mshv_vcpu *vcpu)
{
	if (!vcpu)
		return NULL;
	if (vcpu->reg_page)
		munmap(vcpu->reg_page, vcpu->reg_page_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	free(vcpu);
	return NULL;
}

int mshv_vcpu_fd(const struct mshv_vcpu *vcpu)
{
	return vcpu ? vcpu->fd : -EINVAL;
}

uint32_t mshv_vcpu_index(const struct mshv_vcpu *vcpu)
{
	return vcpu ? vcpu->index : UINT32_MAX;
}

struct hv_vp_register_page *mshv_vcpu_reg_page(struct mshv_vcpu *vcpu)
{
	return vcpu ? vcpu->reg_page : NULL;
}

int mshv_vcpu_run(struct mshv_vcpu *vcpu, struct hv_message *ret)
{
	struct mshv_run_vp run;
	int r;

	_Static_assert(sizeof(run) == sizeof(*ret), "run buffer is one hv_message");
	if (!vcpu || !ret)
		return -EINVAL;
	r = mshv__ioctl(vcpu->fd, MSHV_RUN_VP, &run);
	if (r < 0)
		return r;
	memcpy(ret, run.msg_buf, sizeof(*ret));
	return 0;
}

int mshv_vcpu_hvcall(struct mshv_vcpu *vcpu, struct mshv_root_hvcall *args)
{
	if (!vcpu || !args)
		return -EINVAL;
	return mshv__hvcall(vcpu->fd, args);
}

int mshv_vcpu_vp_state_size(struct mshv_vcpu *vcpu, uint8_t type, size_t *ret)
{
	uint64_t v;
	int r;

	if (!vcpu || !ret)
		return -EINVAL;
	switch (type) {
	case MSHV_VP_STATE_LAPIC:
	case MSHV_VP_STATE_SIMP:
	case MSHV_VP_STATE_SIEFP:
		*ret = HV_HYP_PAGE_SIZE;
		return 0;
	case MSHV_VP_STATE_SYNTHETIC_TIMERS:
		*ret = sizeof(struct hv_synthetic_timers_state);
		return 0;
	case MSHV_VP_STATE_XSAVE:
		r = mshv_vm_get_partition_property(vcpu->vm,
						   HV_PARTITION_PROPERTY_MAX_XSAVE_DATA_SIZE, &v);
		if (r < 0)
			return r;
		*ret = (size_t)v;
		return 0;
	default:
		return -EINVAL;
	}
}

/* Page-aligned bounce buffer of at least size bytes, in whole pages. */
static void *bounce_alloc(size_t size, size_t *ret_alloc)
{
	size_t n = (size + HV_HYP_PAGE_SIZE - 1) / HV_HYP_PAGE_SIZE * HV_HYP_PAGE_SIZE;
	void *p;

	if (n == 0)
		n = HV_HYP_PAGE_SIZE;
	p = aligned_alloc(HV_HYP_PAGE_SIZE, n);
	if (p)
		memset(p, 0, n);
	*ret_alloc = n;
	return p;
}

int mshv_vcpu_get_vp_state(struct mshv_vcpu *vcpu, uint8_t type, void *buf, size_t size,
			   size_t *ret_size)
{
	struct mshv_get_set_vp_state arg;
	size_t alloc;
	void *bounce;
	int r;

	if (!vcpu || !buf || size == 0 || size > UINT32_MAX || type >= MSHV_VP_STATE_COUNT)
		return -EINVAL;
	bounce = bounce_alloc(size, &alloc);
	if (!bounce)
		return -ENOMEM;
	memset(&arg, 0, sizeof(arg));
	arg.type = type;
	arg.buf_sz = (uint32_t)alloc;
	arg.buf_ptr = (uint64_t)(uintptr_t)bounce;
	r = mshv__ioctl(vcpu->fd, MSHV_GET_VP_STATE, &arg);
	if (r == -EINVAL && arg.buf_sz > alloc)
		r = -ENOSPC;		/* the kernel wrote back the size it needs */
	else if (r >= 0 && arg.buf_sz > size)
		r = -ENOSPC;
	if (r >= 0) {
		memcpy(buf, bounce, arg.buf_sz);
		if (ret_size)
			*ret_size = arg.buf_sz;
		r = 0;
	}
	free(bounce);
	return r;
}

int mshv_vcpu_set_vp_state(struct mshv_vcpu *vcpu, uint8_t type, const void *buf, size_t size)
{
	struct mshv_get_set_vp_state arg;
	size_t alloc;
	void *bounce;
	int r;

	if (!vcpu || !buf || size == 0 || size > UINT32_MAX || type >= MSHV_VP_STATE_COUNT)
		return -EINVAL;
	bounce = bounce_alloc(size, &alloc);
	if (!bounce)
		return -ENOMEM;
	memcpy(bounce, buf, size);
	memset(&arg, 0, sizeof(arg));
	arg.type = type;
	arg.buf_sz = (uint32_t)alloc;
	arg.buf_ptr = (uint64_t)(uintptr_t)bounce;
	r = mshv__ioctl(vcpu->fd, MSHV_SET_VP_STATE, &arg);
	free(bounce);
	return r < 0 ? r : 0;
}

int mshv_vcpu_get_lapic(struct mshv_vcpu *vcpu, struct hv_local_interrupt_controller_state *ret)
{
	uint8_t *page;
	int r;

	if (!vcpu || !ret)
		return -EINVAL;
	page = malloc(HV_HYP_PAGE_SIZE);
	if (!page)
		return -ENOMEM;
	r = mshv_vcpu_get_vp_state(vcpu, MSHV_VP_STATE_LAPIC, page, HV_HYP_PAGE_SIZE, NULL);
	if (r == 0)
		memcpy(ret, page, sizeof(*ret));
	free(page);
	return r;
}

int mshv_vcpu_set_lapic(struct mshv_vcpu *vcpu,
			const struct hv_local_interrupt_controller_state *lapic)
{
	uint8_t *page;
	size_t size = 0;
	int r;

	if (!vcpu || !lapic)
		return -EINVAL;
	page = calloc(1, HV_HYP_PAGE_SIZE);
	if (!page)
		return -ENOMEM;
	/* Read-modify-write: the rest of the page is hypervisor state we must not clobber. */
	r = mshv_vcpu_get_vp_state(vcpu, MSHV_VP_STATE_LAPIC, page, HV_HYP_PAGE_SIZE, &size);
	if (r == 0) {
		memcpy(page, lapic, sizeof(*lapic));
		if (size < sizeof(*lapic))
			size = sizeof(*lapic);
		r = mshv_vcpu_set_vp_state(vcpu, MSHV_VP_STATE_LAPIC, page, size);
	}
	free(page);
	return r;
}

int mshv_vcpu_get_xsave(struct mshv_vcpu *vcpu, void *buf, size_t size, size_t *ret_size)
{
	return mshv_vcpu_get_vp_state(vcpu, MSHV_VP_STATE_XSAVE, buf, size, ret_size);
}

int mshv_vcpu_set_xsave(struct mshv_vcpu *vcpu, const void *buf, size_t size)
{
	return mshv_vcpu_set_vp_state(vcpu, MSHV_VP_STATE_XSAVE, buf, size);
}

int mshv_vcpu_translate_gva(struct mshv_vcpu *vcpu, uint64_t gva, uint64_t flags,
			    uint64_t *ret_gpa, uint32_t *ret_result)
{
	struct hv_input_translate_virtual_address in;
	struct hv_output_translate_virtual_address out;
	union hv_translate_gva_result ext_result = { .as_uint64 = 0 };
	uint64_t ext_gpa = 0;
	struct mshv_ext_translate_gva ext;
	struct mshv_root_hvcall args;
	int path;
	uint32_t result;
	uint64_t gpa;
	int r;

	if (!vcpu || !ret_gpa)
		return -EINVAL;
	memset(&in, 0, sizeof(in));
	memset(&out, 0, sizeof(out));
	in.vp_index = vcpu->index;
	in.control_flags = flags;
	in.gva_page = gva >> HV_HYP_PAGE_SHIFT;
	memset(&ext, 0, sizeof(ext));
	ext.gva = gva;
	ext.flags = flags;
	ext.result = (uint64_t)(uintptr_t)&ext_result;
	ext.gpa = (uint64_t)(uintptr_t)&ext_gpa;
	mshv__hvcall_args(&args, HVCALL_TRANSLATE_VIRTUAL_ADDRESS, 0, &in, sizeof(in),
			  &out, sizeof(out));
	/*
	 * The dedicated ioctl first (fact sheet §11.5/§11.6, as rust-vmm since v0.6.9): it faults
	 * movable memory in, which the hypercall cannot. ENOTTY: the hypercall, remembered.
	 */
	path = mshv__path_get(vcpu->vm, MSHV__OP_TRANSLATE_GVA);
	if (path == MSHV__PATH_NONE)
		return -EOPNOTSUPP;
	if (path == MSHV__PATH_UNKNOWN || path == MSHV__PATH_EXT) {
		r = mshv__ioctl(vcpu->fd, MSHV_TRANSLATE_GVA, &ext);
		if (r != -ENOTTY) {
			mshv__path_set(vcpu->vm, MSHV__OP_TRANSLATE_GVA, MSHV__PATH_EXT);
			if (r < 0)
				return r;
			result = ext_result.result_code;
			gpa = ext_gpa;	/* the byte-exact GPA */
			goto done;
		}
	}
	r = mshv__hvcall(vcpu->fd, &args);
	if (mshv__hvcall_missing(r, &args, 1)) {
		mshv__path_set(vcpu->vm, MSHV__OP_TRANSLATE_GVA, MSHV__PATH_NONE);
		return -EOPNOTSUPP;
	}
	mshv__path_set(vcpu->vm, MSHV__OP_TRANSLATE_GVA, MSHV__PATH_HVCALL);
	if (r < 0)
		return r;
	result = out.translation_result.result_code;
	/*
	 * Movable guest memory (6.19+): a page the guest has not touched, or the host reclaimed,
	 * is no-access to the hypervisor; only a guest touch (the next run) faults it back in.
	 */
	if (result == HV_TRANSLATE_GVA_GPA_NO_READ_ACCESS) {
		struct hv_register_assoc cr0 = { .name = HV_X64_REGISTER_CR0 };

		/* Without paging the answer needs no guest page table: linear = physical, in a
		 * region (else the result would be GPA_UNMAPPED). With paging: transient. */
		r = mshv_vcpu_get_reg(vcpu, &cr0, 1);
		if (r < 0)
			return r;
		if (cr0.value.reg64 & (1ULL << 31))
			return -EAGAIN;
		result = HV_TRANSLATE_GVA_SUCCESS;
		out.gpa_page = gva >> HV_HYP_PAGE_SHIFT;
	}
	gpa = (out.gpa_page << HV_HYP_PAGE_SHIFT) | (gva & (HV_HYP_PAGE_SIZE - 1));
done:
	*ret_gpa = gpa;
	if (ret_result)
		*ret_result = result;
	return 0;
}

/* One HVCALL_READ_GPA / WRITE_GPA of <= 16 bytes. */
static int gpa_access(struct mshv_vcpu *vcpu, uint64_t gpa, void *rbuf, const void *wbuf,
		      size_t len)
{
	struct mshv_ext_read_write_gpa ext;
	struct mshv_root_hvcall args;
	enum mshv__path path = MSHV__PATH_HVCALL;
	uint64_t access_result;
	int r;

	memset(&ext, 0, sizeof(ext));
	ext.base_gpa = gpa;
	ext.byte_count = (uint32_t)len;
	if (rbuf) {
		struct hv_input_read_gpa in = {
			.vp_index = vcpu->index, .byte_count = (uint32_t)len, .base_gpa = gpa,
		};
		struct hv_output_read_gpa out;

		memset(&out, 0, sizeof(out));
		mshv__hvcall_args(&args, HVCALL_READ_GPA, 0, &in, sizeof(in), &out, sizeof(out));
		r = mshv__dual(vcpu->vm, MSHV__OP_GPA_RW, vcpu->fd, &args, 0, MSHV_EXT_READ_GPA,
			       &ext, &path);
		if (r < 0)
			return r;
		if (path == MSHV__PATH_EXT) {
			memcpy(rbuf, ext.data, len);
			return 0;
		}
		access_result = out.access_result;
		if ((uint32_t)access_result != HV_ACCESS_GPA_SUCCESS)
			return -EFAULT;
		memcpy(rbuf, out.data, len);
		return 0;
	} else {
		struct hv_input_write_gpa in = {
			.vp_index = vcpu->index, .byte_count = (uint32_t)len, .base_gpa = gpa,
		};
		struct hv_output_write_gpa out = { 0 };

		memcpy(in.data, wbuf, len);
		memcpy(ext.data, wbuf, len);
		mshv__hvcall_args(&args, HVCALL_WRITE_GPA, 0, &in, sizeof(in), &out, sizeof(out));
		r = mshv__dual(vcpu->vm, MSHV__OP_GPA_RW, vcpu->fd, &args, 0, MSHV_EXT_WRITE_GPA,
			       &ext, &path);
		if (r < 0)
			return r;
		if (path == MSHV__PATH_HVCALL &&
		    (uint32_t)out.access_result != HV_ACCESS_GPA_SUCCESS)
			return -EFAULT;
		return 0;
	}
}

int mshv_vcpu_gpa_read(struct mshv_vcpu *vcpu, uint64_t gpa, void *buf, size_t len)
{
	if (!vcpu || (!buf && len))
		return -EINVAL;
	for (size_t done = 0; done < len; done += HV_READ_WRITE_GPA_MAX_SIZE) {
		size_t n = len - done < HV_READ_WRITE_GPA_MAX_SIZE ? len - done
								   : HV_READ_WRITE_GPA_MAX_SIZE;
		int r = gpa_access(vcpu, gpa + done, (uint8_t *)buf + done, NULL, n);

		if (r < 0)
			return r;
	}
	return 0;
}

int mshv_vcpu_gpa_write(struct mshv_vcpu *vcpu, uint64_t gpa, const void *buf, size_t len)
{
	if (!vcpu || (!buf && len))
		return -EINVAL;
	for (size_t done = 0; done < len; done += HV_READ_WRITE_GPA_MAX_SIZE) {
		size_t n = len - done < HV_READ_WRITE_GPA_MAX_SIZE ? len - done
								   : HV_READ_WRITE_GPA_MAX_SIZE;
		int r = gpa_access(vcpu, gpa + done, NULL, (const uint8_t *)buf + done, n);

		if (r < 0)
			return r;
	}
	return 0;
}

int mshv_vcpu_get_cpuid_values(struct mshv_vcpu *vcpu, uint32_t leaf, uint32_t subleaf,
			       uint64_t xfem, uint64_t xss, uint32_t ret[4])
{
	struct hv_input_get_vp_cpuid_values hdr;
	union hv_cpuid_query query;
	uint8_t in[sizeof(hdr) + sizeof(query)];
	union hv_cpuid_response out;
	struct mshv_ext_get_vp_cpuid_values ext;
	struct mshv_root_hvcall args;
	enum mshv__path path = MSHV__PATH_HVCALL;
	int r;

	if (!vcpu || !ret)
		return -EINVAL;
	memset(&hdr, 0, sizeof(hdr));
	memset(&query, 0, sizeof(query));
	memset(&out, 0, sizeof(out));
	hdr.vp_index = vcpu->index;
	hdr.flags.as_uint32 = HV_GET_VP_CPUID_VALUES_USE_VP_XFEM_XSS |
			      HV_GET_VP_CPUID_VALUES_APPLY_REGISTERED_VALUES;
	query.input_eax = leaf;
	query.input_ecx = subleaf;
	query.xfem = xfem;
	query.xss = xss;
	memcpy(in, &hdr, sizeof(hdr));
	memcpy(in + sizeof(hdr), &query, sizeof(query));
	memset(&ext, 0, sizeof(ext));
	ext.function = leaf;
	ext.index = subleaf;
	ext.xfem = xfem;
	ext.xss = xss;
	mshv__hvcall_args(&args, HVCALL_GET_VP_CPUID_VALUES, 1, in, sizeof(in), &out, sizeof(out));
	r = mshv__dual(vcpu->vm, MSHV__OP_CPUID_VALUES, vcpu->fd, &args, 1,
		       MSHV_EXT_GET_VP_CPUID_VALUES, &ext, &path);
	if (r < 0)
		return r;
	if (path == MSHV__PATH_EXT) {
		ret[0] = ext.eax;
		ret[1] = ext.ebx;
		ret[2] = ext.ecx;
		ret[3] = ext.edx;
	} else {
		ret[0] = out.eax;
		ret[1] = out.ebx;
		ret[2] = out.ecx;
		ret[3] = out.edx;
	}
	return 0;
}

int mshv_vcpu_register_intercept_result_cpuid(
	struct mshv_vcpu *vcpu, const struct hv_register_x64_cpuid_result_parameters *params)
{
	struct hv_input_register_intercept_result in;
	struct mshv_ext_register_intercept_result ext;
	struct mshv_root_hvcall args;

	if (!vcpu || !params)
		return -EINVAL;
	memset(&in, 0, sizeof(in));
	in.vp_index = vcpu->index;
	in.intercept_type = HV_INTERCEPT_TYPE_X64_CPUID;
	in.parameters.cpuid = *params;
	memset(&ext, 0, sizeof(ext));
	ext.intercept_type = HV_INTERCEPT_TYPE_X64_CPUID;
	ext.parameters.cpuid = *params;
	mshv__hvcall_args(&args, HVCALL_REGISTER_INTERCEPT_RESULT, 0, &in, sizeof(in), NULL, 0);
	return mshv__dual(vcpu->vm, MSHV__OP_INTERCEPT_RESULT, vcpu->fd, &args, 0,
			  MSHV_EXT_VP_REGISTER_INTERCEPT_RESULT, &ext, NULL);
}
