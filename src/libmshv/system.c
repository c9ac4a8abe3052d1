// SPDX-License-Identifier: MIT
// libmshv system object: /dev/mshv, capability probing, host partition properties.

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

int mshv_open_path(const char *path, struct mshv **ret)
{
	struct mshv *m;

	if (!path || !ret)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->fd = open(path, O_RDWR | O_CLOEXEC);
	if (m->fd < 0) {
		int r = -errno;

		free(m);
		return r;
	}
	*ret = m;
	return 0;
}

int mshv_open(struct mshv **ret)
{
	return mshv_open_path(MSHV_DEVICE_PATH, ret);
}

struct mshv *mshv_free(struct mshv *m)
{
	if (!m)
		return NULL;
	if (m->fd >= 0)
		close(m->fd);
	free(m);
	return NULL;
}

int mshv_fd(const struct mshv *m)
{
	return m ? m->fd : -EINVAL;
}

bool mshv_caps_has(const struct mshv_caps *caps, enum mshv_cap cap)
{
	if (!caps || (unsigned)cap >= MSHV_CAP_COUNT)
		return false;
	return caps->ioctls & (1ULL << cap);
}

bool mshv_caps_has_hvcall(const struct mshv_caps *caps, uint16_t code)
{
	if (!caps || code >= 64 * 8)
		return false;
	return caps->hvcalls[code / 64] & (1ULL << (code % 64));
}

/* Create a partition with only `bit` set (bit < 0: no flags); returns the fd or -errno. */
static int create_scratch(int devfd, int bit)
{
	struct mshv_create_partition_v2 v2;

	memset(&v2, 0, sizeof(v2));
	if (bit >= 0)
		v2.pt_flags = 1ULL << bit;
	if (bit == MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES)
		v2.pt_num_cpu_fbanks = MSHV_NUM_CPU_FEATURES_BANKS;
	/* The kernel reads 16 bytes, and all 64 only when bit 3 is set: one buffer serves both. */
	return mshv__ioctl(devfd, MSHV_CREATE_PARTITION, &v2);
}

/* Is `request` known on fd? Unknown requests fail with ENOTTY before the argument is read. */
static bool ioctl_known(int fd, unsigned long request)
{
	return mshv__ioctl(fd, request, NULL) != -ENOTTY;
}

/*
 * Is hypercall `code` allow-listed on fd? in_ptr points to an inaccessible page: the kernel
 * checks the allow-list (EINVAL) before copying the input (EFAULT). Returns 1 allowed,
 * 0 not allowed, -ENOTTY if fd has no MSHV_ROOT_HVCALL.
 */
static int hvcall_allowed(int fd, uint16_t code, void *noaccess)
{
	struct mshv_root_hvcall args;
	int r;

	mshv__hvcall_args(&args, code, 0, noaccess, sizeof(uint64_t), NULL, 0);
	r = mshv__ioctl(fd, MSHV_ROOT_HVCALL, &args);
	if (r == -ENOTTY)
		return -ENOTTY;
	return r == -EFAULT;
}

int mshv_probe(struct mshv *m, struct mshv_caps *ret)
{
	static const uint16_t codes[] = {
		HVCALL_GET_PARTITION_PROPERTY, HVCALL_SET_PARTITION_PROPERTY,
		HVCALL_INSTALL_INTERCEPT, HVCALL_GET_VP_REGISTERS, HVCALL_SET_VP_REGISTERS,
		HVCALL_TRANSLATE_VIRTUAL_ADDRESS, HVCALL_READ_GPA, HVCALL_WRITE_GPA,
		HVCALL_CLEAR_VIRTUAL_INTERRUPT, HVCALL_REGISTER_INTERCEPT_RESULT,
		HVCALL_ASSERT_VIRTUAL_INTERRUPT, HVCALL_SIGNAL_EVENT_DIRECT,
		HVCALL_POST_MESSAGE_DIRECT, HVCALL_GET_GPA_PAGES_ACCESS_STATES,
		HVCALL_IMPORT_ISOLATED_PAGES, HVCALL_COMPLETE_ISOLATED_IMPORT,
		HVCALL_ISSUE_SNP_PSP_GUEST_REQUEST, HVCALL_GET_VP_CPUID_VALUES,
		HVCALL_GET_PARTITION_PROPERTY_EX,
	};
	static const struct {
		enum mshv_cap cap;
		unsigned long request;
	} pt_ioctls[] = {
		{ MSHV_CAP_EXT_CREATE_DEVICE, MSHV_EXT_CREATE_DEVICE },
		{ MSHV_CAP_EXT_MODIFY_GPA_HOST_ACCESS, MSHV_EXT_MODIFY_GPA_HOST_ACCESS },
		{ MSHV_CAP_EXT_IMPORT_ISOLATED_PAGES, MSHV_EXT_IMPORT_ISOLATED_PAGES },
		{ MSHV_CAP_EXT_INSTALL_INTERCEPT, MSHV_EXT_INSTALL_INTERCEPT },
		{ MSHV_CAP_EXT_ASSERT_INTERRUPT, MSHV_EXT_ASSERT_INTERRUPT },
		{ MSHV_CAP_EXT_SET_PARTITION_PROPERTY, MSHV_EXT_SET_PARTITION_PROPERTY },
		{ MSHV_CAP_EXT_GET_PARTITION_PROPERTY, MSHV_EXT_GET_PARTITION_PROPERTY },
		{ MSHV_CAP_EXT_COMPLETE_ISOLATED_IMPORT, MSHV_EXT_COMPLETE_ISOLATED_IMPORT },
		{ MSHV_CAP_EXT_ISSUE_PSP_GUEST_REQUEST, MSHV_EXT_ISSUE_PSP_GUEST_REQUEST },
		{ MSHV_CAP_EXT_SEV_SNP_AP_CREATE, MSHV_EXT_SEV_SNP_AP_CREATE },
		{ MSHV_CAP_EXT_SIGNAL_EVENT_DIRECT, MSHV_EXT_SIGNAL_EVENT_DIRECT },
		{ MSHV_CAP_EXT_POST_MESSAGE_DIRECT, MSHV_EXT_POST_MESSAGE_DIRECT },
		{ MSHV_CAP_EXT_REGISTER_DELIVERABILITY_NOTIFICATIONS,
		  MSHV_EXT_REGISTER_DELIVERABILITY_NOTIFICATIONS },
	};
	struct mshv_caps caps;
	void *noaccess;
	long page;
	int pt, r;

	if (!m || !ret)
		return -EINVAL;
	memset(&caps, 0, sizeof(caps));

	pt = create_scratch(m->fd, -1);
	if (pt < 0)
		return pt;
	for (int bit = 0; bit < MSHV_PT_BIT_COUNT; bit++) {
		int fd = create_scratch(m->fd, bit);

		if (fd >= 0) {
			caps.pt_flags |= 1ULL << bit;
			close(fd);
		}
	}

	for (size_t i = 0; i < sizeof(pt_ioctls) / sizeof(pt_ioctls[0]); i++)
		if (ioctl_known(pt, pt_ioctls[i].request))
			caps.ioctls |= 1ULL << pt_ioctls[i].cap;
	if (ioctl_known(m->fd, MSHV_EXT_GET_HOST_PARTITION_PROPERTY))
		caps.ioctls |= 1ULL << MSHV_CAP_EXT_GET_HOST_PARTITION_PROPERTY;

	page = sysconf(_SC_PAGESIZE);
	noaccess = mmap(NULL, (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (noaccess == MAP_FAILED) {
		r = -errno;
		close(pt);
		return r;
	}
	caps.root_hvcall = true;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		r = hvcall_allowed(pt, codes[i], noaccess);
		if (r == -ENOTTY) {
			caps.root_hvcall = false;
			break;
		}
		if (r > 0)
			caps.hvcalls[codes[i] / 64] |= 1ULL << (codes[i] % 64);
	}
	if (hvcall_allowed(m->fd, HVCALL_GET_PARTITION_PROPERTY, noaccess) > 0)
		caps.ioctls |= 1ULL << MSHV_CAP_ROOT_HVCALL_ON_DEVICE;
	munmap(noaccess, (size_t)page);
	close(pt);

	mshv__set_hv_status(HV_STATUS_SUCCESS);
	*ret = caps;
	return 0;
}

int mshv_get_host_partition_property(struct mshv *m, uint32_t property_code, uint64_t *ret)
{
	struct mshv_ext_partition_property prop = { .property_code = property_code };
	struct hv_input_get_partition_property in = { .property_code = property_code };
	struct hv_output_get_partition_property out = { 0 };
	struct mshv_root_hvcall args;
	int r;

	if (!m || !ret)
		return -EINVAL;
	r = mshv__ioctl(m->fd, MSHV_EXT_GET_HOST_PARTITION_PROPERTY, &prop);
	if (r != -ENOTTY) {
		if (r < 0)
			return r;
		*ret = prop.property_value;
		return 0;
	}
	mshv__hvcall_args(&args, HVCALL_GET_PARTITION_PROPERTY, 0, &in, sizeof(in),
			  &out, sizeof(out));
	r = mshv__hvcall(m->fd, &args);
	if (r == -ENOTTY)
		return -EOPNOTSUPP;
	if (r < 0)
		return r;
	*ret = out.property_value;
	return 0;
}
