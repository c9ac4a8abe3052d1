/* SPDX-License-Identifier: MIT */
/* Test helper: load a flat guest binary into a one-vCPU KVM VM and run it, directly on /dev/kvm. */
#ifndef MSHVD_TESTS_KVM_GUEST_H
#define MSHVD_TESTS_KVM_GUEST_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

struct kvm_guest {
	int kvm_fd;
	int vm_fd;
	int vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *ram;
	size_t ram_size;
};

/*
 * Open /dev/kvm, create a VM with GUEST_RAM_SIZE bytes of RAM at GPA 0 and one vCPU in real mode
 * with CS.base = CS.selector = 0.  Returns 0 or a negative errno; -ENOENT/-EACCES/-ENODEV mean KVM
 * is absent or unusable (tests skip).
 */
int kvm_guest_new(struct kvm_guest **ret);
struct kvm_guest *kvm_guest_free(struct kvm_guest *g);

/* Copy a flat binary into guest RAM at gpa and point RIP at it.  Returns 0 or a negative errno. */
int kvm_guest_load(struct kvm_guest *g, const char *path, uint64_t gpa);

int kvm_guest_get_regs(struct kvm_guest *g, struct kvm_regs *regs);
int kvm_guest_set_regs(struct kvm_guest *g, const struct kvm_regs *regs);

/* One KVM_RUN; returns the exit reason (>= 0) or a negative errno. */
int kvm_guest_run(struct kvm_guest *g);

/* The OUT data of the current KVM_EXIT_IO, as an integer of the access size. */
uint32_t kvm_guest_io_data(const struct kvm_guest *g);

/* Open a VM and load a guest, skipping the test (exit 77) when KVM is unusable. */
struct kvm_guest *kvm_guest_new_or_skip(const char *guest_rel_path);

#endif
