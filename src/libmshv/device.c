// SPDX-License-Identifier: MIT
// libmshv device object (MSHV_EXT_CREATE_DEVICE, Microsoft kernels only).

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

int mshv_vm_create_device(struct mshv_vm *vm, uint32_t type, uint32_t flags,
			  struct mshv_device **ret)
{
	struct mshv_ext_create_device arg = { .type = type, .flags = flags };
	struct mshv_device *dev;
	int r;

	if (!vm || (!(flags & MSHV_EXT_CREATE_DEVICE_TEST) && !ret))
		return -EINVAL;
	r = mshv__ioctl(vm->fd, MSHV_EXT_CREATE_DEVICE, &arg);
	if (r == -ENOTTY)
		return -EOPNOTSUPP;
	if (r < 0)
		return r;
	if (flags & MSHV_EXT_CREATE_DEVICE_TEST)
		return 0;

	dev = calloc(1, sizeof(*dev));
	if (!dev) {
		close((int)arg.fd);
		return -ENOMEM;
	}
	dev->fd = (int)arg.fd;
	/* The kernel's anon-inode fd should already be close-on-exec; make sure. */
	if (fcntl(dev->fd, F_SETFD, FD_CLOEXEC) < 0) {
		r = -errno;
		mshv_device_free(dev);
		return r;
	}
	*ret = dev;
	return 0;
}

struct mshv_device *mshv_device_free(struct mshv_device *dev)
{
	if (!dev)
		return NULL;
	if (dev->fd >= 0)
		close(dev->fd);
	free(dev);
	return NULL;
}

int mshv_device_fd(const struct mshv_device *dev)
{
	return dev ? dev->fd : -EINVAL;
}

static int attr_ioctl(struct mshv_device *dev, unsigned long request,
		      const struct mshv_ext_device_attr *attr)
{
	struct mshv_ext_device_attr copy;
	int r;

	if (!dev || !attr)
		return -EINVAL;
	copy = *attr;
	r = mshv__ioctl(dev->fd, request, &copy);
	if (r == -ENOTTY)
		return -EOPNOTSUPP;
	return r < 0 ? r : 0;
}

int mshv_device_set_attr(struct mshv_device *dev, const struct mshv_ext_device_attr *attr)
{
	return attr_ioctl(dev, MSHV_EXT_SET_DEVICE_ATTR, attr);
}

int mshv_device_get_attr(struct mshv_device *dev, const struct mshv_ext_device_attr *attr)
{
	return attr_ioctl(dev, MSHV_EXT_GET_DEVICE_ATTR, attr);
}

int mshv_device_has_attr(struct mshv_device *dev, const struct mshv_ext_device_attr *attr)
{
	return attr_ioctl(dev, MSHV_EXT_HAS_DEVICE_ATTR, attr);
}
