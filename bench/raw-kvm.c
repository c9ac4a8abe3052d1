// SPDX-License-Identifier: MIT
// The raw-KVM baselines of the benchmarks: the daemon's VM lifecycle as plain ioctls in-process.

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

static int kvm_fd = -1;
static size_t run_size;
static struct kvm_cpuid2 *cpuid;

/* Open /dev/kvm once (dies when unusable). */
static void raw_kvm_init(void)
{
	int n = 256, r;

	if (kvm_fd >= 0)
		return;
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0 || ioctl(kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		bench_die("/dev/kvm unusable");
	r = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r <= 0)
		bench_die("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	run_size = (size_t)r;
	cpuid = calloc(1, sizeof(*cpuid) + (size_t)n * sizeof(struct kvm_cpuid_entry2));
	if (!cpuid)
		bench_die("out of memory");
	cpuid->nent = (unsigned)n;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0)
		bench_die("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
}

void raw_kvm_destroy(struct raw_vm *v)
{
	if (v->run)
		munmap(v->run, run_size);
	if (v->vcpu_fd >= 0)
		close(v->vcpu_fd);
	if (v->ram)
		munmap(v->ram, v->ram_size);
	if (v->memfd >= 0)
		close(v->memfd);
	if (v->vm_fd >= 0)
		close(v->vm_fd);
	memset(v, 0, sizeof(*v));
	v->vm_fd = v->vcpu_fd = v->memfd = v->io_fd = -1;
}

int raw_kvm_create(struct raw_vm *v, size_t ram_size, const void *image, size_t len,
		   uint64_t rbx)
{
	struct kvm_userspace_memory_region region = { .slot = 0 };
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int r = 0;

	raw_kvm_init();
	memset(v, 0, sizeof(*v));
	v->kind = RAW_KVM;
	v->vm_fd = v->vcpu_fd = v->memfd = v->io_fd = -1;
	v->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (v->vm_fd < 0)
		goto fail;
	/* Guest RAM the way the daemon allocates it: a memfd, shared mapping. */
	v->memfd = memfd_create("bench-ram", MFD_CLOEXEC);
	if (v->memfd < 0 || ftruncate(v->memfd, (off_t)ram_size) < 0)
		goto fail;
	v->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->memfd, 0);
	if (v->ram == MAP_FAILED) {
		v->ram = NULL;
		goto fail;
	}
	v->ram_size = ram_size;
	region.memory_size = ram_size;
	region.userspace_addr = (uintptr_t)v->ram;
	if (ioctl(v->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		goto fail;
	if (0x1000 + len > ram_size) {
		errno = EINVAL;
		goto fail;
	}
	if (len)
		memcpy((uint8_t *)v->ram + 0x1000, image, len);

	v->vcpu_fd = ioctl(v->vm_fd, KVM_CREATE_VCPU, 0);
	if (v->vcpu_fd < 0)
		goto fail;
	v->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu_fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		goto fail;
	}
	if (ioctl(v->vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
		goto fail;
	if (ioctl(v->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		goto fail;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(v->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		goto fail;
	memset(&regs, 0, sizeof(regs));
	regs.rip = 0x1000;
	regs.rflags = 0x2;
	regs.rax = regs.rbx = rbx;
	if (ioctl(v->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		goto fail;
	return 0;
fail:
	r = -errno;
	raw_kvm_destroy(v);
	return r ? r : -EIO;
}

void raw_kvm_ioeventfd(struct raw_vm *v, uint64_t gpa, unsigned len, int fd)
{
	struct kvm_ioeventfd io = { .addr = gpa, .len = len, .fd = fd };

	if (ioctl(v->vm_fd, KVM_IOEVENTFD, &io) < 0)
		bench_die("KVM_IOEVENTFD: %s", strerror(errno));
}

enum raw_exit raw_kvm_run(struct raw_vm *v)
{
	for (;;) {
		if (ioctl(v->vcpu_fd, KVM_RUN, 0) == 0)
			break;
		if (errno != EINTR && errno != EAGAIN)
			bench_die("KVM_RUN: %s", strerror(errno));
	}
	switch (v->run->exit_reason) {
	case KVM_EXIT_IO:
		return RAW_EXIT_IO;
	case KVM_EXIT_HLT:
		return RAW_EXIT_HLT;
	default:
		bench_die("raw KVM guest: unexpected exit reason %u", v->run->exit_reason);
	}
}
