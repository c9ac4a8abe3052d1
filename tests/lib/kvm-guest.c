// SPDX-License-Identifier: MIT
/* Test helper that runs flat guest binaries on /dev/kvm without any mshvd code in the way. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "guest.h"
#include "kvm-guest.h"

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

/* A vCPU starts with no CPUID at all; without long mode in it, setting EFER.LME faults. */
static int set_supported_cpuid(struct kvm_guest *g)
{
	struct kvm_cpuid2 *cpuid;
	int n = 256, r;

	cpuid = calloc(1, sizeof(*cpuid) + n * sizeof(struct kvm_cpuid_entry2));
	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = n;
	r = xioctl(g->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid);
	if (r >= 0)
		r = xioctl(g->vcpu_fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	return r < 0 ? r : 0;
}

struct kvm_guest *kvm_guest_free(struct kvm_guest *g)
{
	if (!g)
		return NULL;
	if (g->run)
		munmap(g->run, g->run_size);
	if (g->ram)
		munmap(g->ram, g->ram_size);
	if (g->vcpu_fd >= 0)
		close(g->vcpu_fd);
	if (g->vm_fd >= 0)
		close(g->vm_fd);
	if (g->kvm_fd >= 0)
		close(g->kvm_fd);
	free(g);
	return NULL;
}

int kvm_guest_new(struct kvm_guest **ret)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_guest *g;
	int r;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->vm_fd = g->vcpu_fd = -1;

	g->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (g->kvm_fd < 0) {
		r = -errno;
		goto fail;
	}
	r = ioctl(g->kvm_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		r = -ENODEV;
		goto fail;
	}
	r = g->vm_fd = xioctl(g->kvm_fd, KVM_CREATE_VM, 0);
	if (r < 0)
		goto fail;

	g->ram_size = GUEST_RAM_SIZE;
	g->ram = mmap(NULL, g->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g->ram == MAP_FAILED) {
		g->ram = NULL;
		r = -errno;
		goto fail;
	}
	region = (struct kvm_userspace_memory_region){
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = g->ram_size,
		.userspace_addr = (uintptr_t)g->ram,
	};
	r = xioctl(g->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
	if (r < 0)
		goto fail;

	r = g->vcpu_fd = xioctl(g->vm_fd, KVM_CREATE_VCPU, 0);
	if (r < 0)
		goto fail;
	r = set_supported_cpuid(g);
	if (r < 0)
		goto fail;
	r = xioctl(g->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (r < 0)
		goto fail;
	g->run_size = (size_t)r;
	g->run = mmap(NULL, g->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, g->vcpu_fd, 0);
	if (g->run == MAP_FAILED) {
		g->run = NULL;
		r = -errno;
		goto fail;
	}

	r = xioctl(g->vcpu_fd, KVM_GET_SREGS, &sregs);
	if (r < 0)
		goto fail;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	r = xioctl(g->vcpu_fd, KVM_SET_SREGS, &sregs);
	if (r < 0)
		goto fail;
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_LOAD_GPA;
	regs.rflags = 0x2;
	r = xioctl(g->vcpu_fd, KVM_SET_REGS, &regs);
	if (r < 0)
		goto fail;

	*ret = g;
	return 0;
fail:
	kvm_guest_free(g);
	return r;
}

int kvm_guest_load(struct kvm_guest *g, const char *path, uint64_t gpa)
{
	struct kvm_regs regs;
	size_t off = 0;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (gpa + off >= g->ram_size) {
			close(fd);
			return -EFBIG;
		}
		n = read(fd, g->ram + gpa + off, g->ram_size - gpa - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			return r;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	close(fd);

	r = kvm_guest_get_regs(g, &regs);
	if (r < 0)
		return r;
	regs.rip = gpa;
	return kvm_guest_set_regs(g, &regs);
}

int kvm_guest_get_regs(struct kvm_guest *g, struct kvm_regs *regs)
{
	return xioctl(g->vcpu_fd, KVM_GET_REGS, regs);
}

int kvm_guest_set_regs(struct kvm_guest *g, const struct kvm_regs *regs)
{
	return xioctl(g->vcpu_fd, KVM_SET_REGS, (void *)regs);
}

int kvm_guest_run(struct kvm_guest *g)
{
	int r;

	do
		r = xioctl(g->vcpu_fd, KVM_RUN, NULL);
	while (r == -EINTR);
	if (r < 0)
		return r;
	return (int)g->run->exit_reason;
}

uint32_t kvm_guest_io_data(const struct kvm_guest *g)
{
	const uint8_t *p = (const uint8_t *)g->run + g->run->io.data_offset;
	uint32_t v = 0;

	memcpy(&v, p, g->run->io.size <= 4 ? g->run->io.size : 4);
	return v;
}

struct kvm_guest *kvm_guest_new_or_skip(const char *guest_rel_path)
{
	struct kvm_guest *g;
	int r;

	r = kvm_guest_new(&g);
	if (r == -ENOENT || r == -EACCES || r == -ENODEV || r == -EPERM || r == -ENXIO)
		test_skip("/dev/kvm is absent or unusable: %s", strerror(-r));
	if (r < 0)
		test_error("cannot create a KVM VM: %s", strerror(-r));
	r = kvm_guest_load(g, test_build_path(guest_rel_path), GUEST_LOAD_GPA);
	if (r < 0)
		test_error("cannot load %s: %s", guest_rel_path, strerror(-r));
	return g;
}
