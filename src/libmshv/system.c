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
	pthread_mutex_init(&m->lock, NULL);
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
	pthread_mutex_destroy(&m->lock);
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

/*
 * Does a VP fd know the dedicated translate ioctl? Needs an initialized partition with a VP:
 * the scratch partition is initialized here (the caller closes it). With a NULL argument a
 * kernel that has it fails to copy (EFAULT), one that lacks it answers ENOTTY.
 */
static bool probe_vp_ioctls(int pt)
{
	struct mshv_create_vp vp = { .vp_index = 0 };
	bool has;
	int fd;

	if (mshv__ioctl(pt, MSHV_INITIALIZE_PARTITION, NULL) < 0)
		return false;
	fd = mshv__ioctl(pt, MSHV_CREATE_VP, &vp);
	if (fd < 0)
		return false;
	has = mshv__ioctl(fd, MSHV_TRANSLATE_GVA, NULL) != -ENOTTY;
	close(fd);
	return has;
}

/* The generation and feature bits the probed facts imply (fact sheet §11). */
static void derive(struct mshv_caps *c)
{
	bool ms = c->ioctls & ~((1ULL << MSHV_CAP_ROOT_HVCALL_ON_DEVICE) |
				(1ULL << MSHV_CAP_TRANSLATE_GVA_IOCTL));
	bool ex = mshv_caps_has_hvcall(c, HVCALL_GET_PARTITION_PROPERTY_EX);
	uint64_t f = 0;

	ms = ms || mshv_caps_has_hvcall(c, HVCALL_READ_GPA);
	if (c->pt_flags & MSHV_BITS(MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES))
		f |= 1ULL << MSHV_FEATURE_CPU_XSAVE_FEATURES;
	if (c->pt_flags & MSHV_BITS(MSHV_PT_BIT_NESTED_VIRTUALIZATION))
		f |= 1ULL << MSHV_FEATURE_NESTED_VIRTUALIZATION;
	if (c->pt_flags & MSHV_BITS(MSHV_PT_BIT_SMT_ENABLED_GUEST))
		f |= 1ULL << MSHV_FEATURE_SMT_GUEST;
	if (mshv_caps_has(c, MSHV_CAP_ROOT_HVCALL_ON_DEVICE) ||
	    mshv_caps_has(c, MSHV_CAP_EXT_GET_HOST_PARTITION_PROPERTY))
		f |= 1ULL << MSHV_FEATURE_HOST_PROPERTIES;
	if (ex)
		f |= 1ULL << MSHV_FEATURE_PROPERTY_EX;
	/* Not probeable without exhausting memory: the kernels that have 0x0101 also deposit
	 * in the kernel (6.19+, the later Microsoft revision); the others return EAGAIN. */
	if (ex)
		f |= 1ULL << MSHV_FEATURE_DEPOSIT_IN_KERNEL;
	/* Movable memory came with 6.19 on mainline; Microsoft kernels pin (inferred). */
	if (ex && !ms)
		f |= 1ULL << MSHV_FEATURE_MOVABLE_MEMORY;
	if (mshv_caps_has(c, MSHV_CAP_TRANSLATE_GVA_IOCTL))
		f |= 1ULL << MSHV_FEATURE_TRANSLATE_GVA_IOCTL;
	if (mshv_caps_has_hvcall(c, HVCALL_READ_GPA) && mshv_caps_has_hvcall(c, HVCALL_WRITE_GPA))
		f |= 1ULL << MSHV_FEATURE_GPA_READ_WRITE;
	if (mshv_caps_has_hvcall(c, HVCALL_SCRUB_PARTITION))
		f |= 1ULL << MSHV_FEATURE_SCRUB_PARTITION;
	c->features = f;

	if (!c->root_hvcall)
		c->generation = MSHV_GEN_UNKNOWN;
	else if (ms)
		c->generation = MSHV_GEN_MICROSOFT;
	else if (c->pt_flags & MSHV_BITS(MSHV_PT_BIT_NESTED_VIRTUALIZATION,
					 MSHV_PT_BIT_SMT_ENABLED_GUEST))
		c->generation = MSHV_GEN_7_0;
	else if (ex || mshv_caps_has(c, MSHV_CAP_ROOT_HVCALL_ON_DEVICE) ||
		 (c->pt_flags & MSHV_BITS(MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES)))
		c->generation = MSHV_GEN_6_19;
	else
		c->generation = MSHV_GEN_6_15;
}

/* VMM_CAPABILITIES through 0x0101 on /dev/mshv; ACCESS_DENIED = none (as rust-vmm). */
static int vmm_caps(int devfd, uint64_t *ret)
{
	struct hv_input_get_partition_property_ex in = {
		.property_code = HV_PARTITION_PROPERTY_VMM_CAPABILITIES,
	};
	struct hv_partition_property_banks out;
	struct mshv_root_hvcall args;
	int r;

	memset(&out, 0, sizeof(out));
	mshv__hvcall_args(&args, HVCALL_GET_PARTITION_PROPERTY_EX, 0, &in, sizeof(in),
			  &out, sizeof(out));
	r = mshv__hvcall(devfd, &args);
	if (r < 0 && args.status == HV_STATUS_ACCESS_DENIED) {
		*ret = 0;
		return 0;
	}
	if (r < 0)
		return r;
	*ret = out.bank_count ? out.bank0 : 0;
	return 0;
}

static int probe_kernel(struct mshv *m, struct mshv_caps *ret)
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
		HVCALL_GET_PARTITION_PROPERTY_EX, HVCALL_SCRUB_PARTITION,
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
	if (probe_vp_ioctls(pt))
		caps.ioctls |= 1ULL << MSHV_CAP_TRANSLATE_GVA_IOCTL;
	close(pt);
	derive(&caps);
	if (mshv_caps_has_feature(&caps, MSHV_FEATURE_PROPERTY_EX) &&
	    mshv_caps_has(&caps, MSHV_CAP_ROOT_HVCALL_ON_DEVICE) &&
	    vmm_caps(m->fd, &caps.vmm_caps) == 0)
		caps.features |= 1ULL << MSHV_FEATURE_VMM_CAPS;

	mshv__set_hv_status(HV_STATUS_SUCCESS);
	*ret = caps;
	return 0;
}

int mshv__caps(struct mshv *m, struct mshv_caps *ret)
{
	uint16_t status = mshv_last_hv_status();
	int r = 0;

	pthread_mutex_lock(&m->lock);
	if (!m->probed) {
		r = probe_kernel(m, &m->caps);
		m->probed = r == 0;
	}
	if (r == 0)
		*ret = m->caps;
	pthread_mutex_unlock(&m->lock);
	mshv__set_hv_status(status);
	return r;
}

int mshv_probe(struct mshv *m, struct mshv_caps *ret)
{
	if (!m || !ret)
		return -EINVAL;
	return mshv__caps(m, ret);
}

const char *mshv_generation_name(enum mshv_generation gen)
{
	switch (gen) {
	case MSHV_GEN_6_15:
		return "6.15";
	case MSHV_GEN_6_19:
		return "6.19";
	case MSHV_GEN_7_0:
		return "7.0";
	case MSHV_GEN_MICROSOFT:
		return "microsoft";
	case MSHV_GEN_UNKNOWN:
		break;
	}
	return "unknown";
}

const char *mshv_feature_name(enum mshv_feature feature)
{
	static const char *const names[MSHV_FEATURE_COUNT] = {
		[MSHV_FEATURE_CPU_XSAVE_FEATURES] = "cpu-xsave-features",
		[MSHV_FEATURE_NESTED_VIRTUALIZATION] = "nested-virtualization",
		[MSHV_FEATURE_SMT_GUEST] = "smt-guest",
		[MSHV_FEATURE_HOST_PROPERTIES] = "host-properties",
		[MSHV_FEATURE_PROPERTY_EX] = "partition-property-ex",
		[MSHV_FEATURE_VMM_CAPS] = "vmm-capabilities",
		[MSHV_FEATURE_DEPOSIT_IN_KERNEL] = "deposit-in-kernel",
		[MSHV_FEATURE_MOVABLE_MEMORY] = "movable-memory",
		[MSHV_FEATURE_TRANSLATE_GVA_IOCTL] = "translate-gva-ioctl",
		[MSHV_FEATURE_GPA_READ_WRITE] = "gpa-read-write",
		[MSHV_FEATURE_SCRUB_PARTITION] = "scrub-partition",
	};

	return (unsigned)feature < MSHV_FEATURE_COUNT ? names[feature] : NULL;
}

bool mshv_caps_has_feature(const struct mshv_caps *caps, enum mshv_feature feature)
{
	if (!caps || (unsigned)feature >= MSHV_FEATURE_COUNT)
		return false;
	return caps->features & (1ULL << feature);
}

int mshv_get_vmm_caps(struct mshv *m, uint64_t *ret)
{
	struct mshv_caps caps;
	int r;

	if (!m || !ret)
		return -EINVAL;
	r = mshv__caps(m, &caps);
	if (r < 0)
		return r;
	if (!mshv_caps_has(&caps, MSHV_CAP_ROOT_HVCALL_ON_DEVICE) ||
	    !mshv_caps_has_feature(&caps, MSHV_FEATURE_PROPERTY_EX))
		return -EOPNOTSUPP;
	return vmm_caps(m->fd, ret);
}

int mshv_get_host_partition_property(struct mshv *m, uint32_t property_code, uint64_t *ret)
{
	struct mshv_ext_partition_property prop = { .property_code = property_code };
	struct hv_input_get_partition_property in = { .property_code = property_code };
	struct hv_output_get_partition_property out = { 0 };
	struct mshv_root_hvcall args;
	int r;

	struct mshv_caps caps;

	if (!m || !ret)
		return -EINVAL;
	r = mshv__caps(m, &caps);
	if (r == -ENOTTY)
		return -EOPNOTSUPP;	/* not an MSHV device at all */
	if (r < 0)
		return r;
	if (mshv_caps_has(&caps, MSHV_CAP_ROOT_HVCALL_ON_DEVICE) &&
	    (caps.generation != MSHV_GEN_MICROSOFT ||
	     !mshv_caps_has(&caps, MSHV_CAP_EXT_GET_HOST_PARTITION_PROPERTY))) {
		mshv__hvcall_args(&args, HVCALL_GET_PARTITION_PROPERTY, 0, &in, sizeof(in),
				  &out, sizeof(out));
		r = mshv__hvcall(m->fd, &args);
		if (r < 0)
			return r;
		*ret = out.property_value;
		return 0;
	}
	if (!mshv_caps_has(&caps, MSHV_CAP_EXT_GET_HOST_PARTITION_PROPERTY))
		return -EOPNOTSUPP;
	r = mshv__ioctl(m->fd, MSHV_EXT_GET_HOST_PARTITION_PROPERTY, &prop);
	if (r < 0)
		return r;
	*ret = prop.property_value;
	return 0;
}
