// SPDX-License-Identifier: MIT
// The raw-engine baselines of the benchmarks: the emu engine (src/hv/emu) driven directly, the
// daemon's VM lifecycle and exit loop without the daemon.

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

#ifdef HAVE_UNICORN

#include "hv/emu/emu.h"

void raw_emu_destroy(struct raw_vm *v)
{
	if (v->evcpu)
		emu_vcpu_free(v->evcpu);
	if (v->evm) {
		if (v->ram)
			emu_vm_unmap(v->evm, 0, v->ram_size);
		emu_vm_free(v->evm);
	}
	if (v->ram)
		munmap(v->ram, v->ram_size);
	if (v->memfd >= 0)
		close(v->memfd);
	memset(v, 0, sizeof(*v));
	v->vm_fd = v->vcpu_fd = v->memfd = v->io_fd = -1;
	v->kind = RAW_EMU;
}

/*
 * What mshvd's emu backend and partition code do for create-vm {}, map-memory, write-memory,
 * create-vcpu and set-regs (src/hv/hv-emu.c, src/daemon/partition.c): a VM without a LAPIC,
 * memfd RAM mapped read/write/exec, a vCPU whose CPUID is answered by the engine and whose
 * unknown MSRs exit, then segments before RIP.
 */
int raw_emu_create(struct raw_vm *v, size_t ram_size, const void *image, size_t len,
		   uint64_t rbx)
{
	struct emu_vm_config cfg = { 0 };
	struct emu_sregs s;
	struct emu_regs regs;
	int r;

	memset(v, 0, sizeof(*v));
	v->kind = RAW_EMU;
	v->vm_fd = v->vcpu_fd = v->memfd = v->io_fd = -1;
	if (0x1000 + len > ram_size)
		return -EINVAL;
	r = emu_vm_new(&cfg, &v->evm);
	if (r < 0)
		goto fail;
	v->memfd = memfd_create("bench-ram", MFD_CLOEXEC);
	if (v->memfd < 0 || ftruncate(v->memfd, (off_t)ram_size) < 0) {
		r = -errno;
		goto fail;
	}
	v->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->memfd, 0);
	if (v->ram == MAP_FAILED) {
		v->ram = NULL;
		r = -errno;
		goto fail;
	}
	v->ram_size = ram_size;
	r = emu_vm_map(v->evm, 0, v->ram, ram_size, EMU_PROT_READ | EMU_PROT_WRITE | EMU_PROT_EXEC);
	if (r < 0) {
		munmap(v->ram, ram_size);
		v->ram = NULL;
		goto fail;
	}
	if (len)
		memcpy((uint8_t *)v->ram + 0x1000, image, len);

	r = emu_vcpu_new(v->evm, 0, &v->evcpu);
	if (r < 0)
		goto fail;
	emu_vcpu_set_intercepts(v->evcpu, 0, 0);
	if ((r = emu_vcpu_get_sregs(v->evcpu, &s)) < 0)
		goto fail;
	s.cs.base = 0;
	s.cs.selector = 0;
	if ((r = emu_vcpu_set_sregs(v->evcpu, &s)) < 0 ||
	    (r = emu_vcpu_get_regs(v->evcpu, &regs)) < 0)
		goto fail;
	memset(&regs, 0, sizeof(regs));
	regs.rip = 0x1000;
	regs.rflags = 0x2;
	regs.gpr[EMU_RAX] = regs.gpr[EMU_RBX] = rbx;
	if ((r = emu_vcpu_set_regs(v->evcpu, &regs)) < 0)
		goto fail;
	return 0;
fail:
	raw_emu_destroy(v);
	return r < 0 ? r : -EIO;
}

/*
 * The exit loop of a minimal engine-based VMM, as hv-emu.c's run loop without the daemon: a
 * pending port access is completed (reads get 0) before running again, as KVM_RUN completes
 * it; a write to the ioeventfd is signalled and completed without returning, as the emu
 * backend does.
 */
enum raw_exit raw_emu_run(struct raw_vm *v)
{
	static const struct emu_completion none;
	struct emu_exit x;
	uint64_t one = 1;
	int r;

	for (;;) {
		if ((r = emu_vcpu_complete(v->evcpu, &none)) < 0)
			bench_die("emu_vcpu_complete: %s", strerror(-r));
		if ((r = emu_vcpu_run(v->evcpu, &x)) < 0)
			bench_die("emu_vcpu_run: %s", strerror(-r));
		switch (x.kind) {
		case EMU_EXIT_IO:
			return RAW_EXIT_IO;
		case EMU_EXIT_HALT:
			return RAW_EXIT_HLT;
		case EMU_EXIT_MMIO:
			if (v->io_fd >= 0 && x.mmio.write && x.mmio.gpa == v->io_addr &&
			    x.mmio.size == v->io_len) {
				if (write(v->io_fd, &one, sizeof(one)) < 0) {
					/* a full counter still counts as signalled */
				}
				continue;
			}
			bench_die("raw engine guest: unexpected MMIO at 0x%llx",
				  (unsigned long long)x.mmio.gpa);
		case EMU_EXIT_INTERRUPTED:
			continue;
		default:
			bench_die("raw engine guest: unexpected exit kind %d", (int)x.kind);
		}
	}
}

#else /* !HAVE_UNICORN: bench_backends() never selects emu or mshv */

int raw_emu_create(struct raw_vm *v, size_t ram_size, const void *image, size_t len,
		   uint64_t rbx)
{
	(void)v; (void)ram_size; (void)image; (void)len; (void)rbx;
	return -EOPNOTSUPP;
}

enum raw_exit raw_emu_run(struct raw_vm *v)
{
	(void)v;
	bench_die("built without libunicorn: no raw engine");
}

void raw_emu_destroy(struct raw_vm *v)
{
	(void)v;
}

#endif
