// SPDX-License-Identifier: MIT
// libmshv plumbing: ioctl wrapper, per-thread HV status, MSHV_ROOT_HVCALL with EAGAIN retries.

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

static _Thread_local uint16_t last_hv_status;

uint16_t mshv_last_hv_status(void)
{
	return last_hv_status;
}

void mshv__set_hv_status(uint16_t status)
{
	last_hv_status = status;
}

int mshv__ioctl(int fd, unsigned long request, void *arg)
{
	int r;

	last_hv_status = HV_STATUS_SUCCESS;
	if (fd < 0)
		return -EBADF;
	r = ioctl(fd, request, arg);
	if (r < 0)
		return errno > 0 ? -errno : -EIO;
	return r;
}

void mshv__hvcall_args(struct mshv_root_hvcall *args, uint16_t code, uint16_t reps,
		       const void *in, size_t in_sz, void *out, size_t out_sz)
{
	memset(args, 0, sizeof(*args));
	args->code = code;
	args->reps = reps;
	args->in_sz = (uint16_t)in_sz;
	args->out_sz = out ? (uint16_t)out_sz : 0;
	args->in_ptr = (uint64_t)(uintptr_t)in;
	args->out_ptr = (uint64_t)(uintptr_t)out;
}

int mshv__hvcall(int fd, struct mshv_root_hvcall *args)
{
	uint16_t reps = args->reps;
	int r;

	for (int attempt = 0;; attempt++) {
		/* The kernel wants status == 0 on input and overwrites status and reps. */
		args->status = 0;
		args->reps = reps;
		r = mshv__ioctl(fd, MSHV_ROOT_HVCALL, args);
		mshv__set_hv_status(args->status);
		/*
		 * -EAGAIN: the kernel deposited a page after HV_STATUS_INSUFFICIENT_MEMORY and
		 * wants the call repeated. Bounded, so a hypervisor that never has enough
		 * memory cannot hang the caller.
		 */
		if (r != -EAGAIN || attempt >= MSHV__HVCALL_EAGAIN_RETRIES)
			break;
	}
	return r < 0 ? r : 0;
}

int mshv__hvcall_rep(int fd, struct mshv_root_hvcall *args)
{
	uint16_t reps = args->reps;
	int r;

	r = mshv__hvcall(fd, args);
	if (r < 0)
		return r;
	if (args->reps != reps)
		return -EIO;	/* partial completion: the caller cannot tell what happened */
	return 0;
}

int mshv__hvcall_missing(int r, const struct mshv_root_hvcall *args, int einval_missing)
{
	if (r == -ENOTTY)
		return 1;
	return einval_missing && r == -EINVAL && args->status == HV_STATUS_SUCCESS;
}

int mshv__path_get(struct mshv_vm *vm, enum mshv__op op)
{
	return atomic_load_explicit(&vm->path[op], memory_order_relaxed);
}

void mshv__path_set(struct mshv_vm *vm, enum mshv__op op, enum mshv__path path)
{
	atomic_store_explicit(&vm->path[op], (int)path, memory_order_relaxed);
}

int mshv__dual(struct mshv_vm *vm, enum mshv__op op, int fd, struct mshv_root_hvcall *args,
	       int rep, unsigned long ext_request, void *ext_arg, enum mshv__path *ret_path)
{
	int path = mshv__path_get(vm, op);
	int r;

	if (path == MSHV__PATH_NONE)
		return -EOPNOTSUPP;
	if (path != MSHV__PATH_EXT) {
		r = rep ? mshv__hvcall_rep(fd, args) : mshv__hvcall(fd, args);
		/*
		 * Registers fall back only when MSHV_ROOT_HVCALL itself is missing: 0x50/0x51
		 * are allow-listed wherever it exists. Other ops also fall back on the
		 * allow-list's EINVAL.
		 */
		if (path == MSHV__PATH_HVCALL ||
		    !mshv__hvcall_missing(r, args, op != MSHV__OP_REGS)) {
			mshv__path_set(vm, op, MSHV__PATH_HVCALL);
			if (ret_path)
				*ret_path = MSHV__PATH_HVCALL;
			return r;
		}
	}
	if (!ext_request) {
		mshv__path_set(vm, op, MSHV__PATH_NONE);
		return -EOPNOTSUPP;
	}
	r = mshv__ioctl(fd, ext_request, ext_arg);
	if (r == -ENOTTY) {
		mshv__path_set(vm, op, MSHV__PATH_NONE);
		return -EOPNOTSUPP;
	}
	mshv__path_set(vm, op, MSHV__PATH_EXT);
	if (ret_path)
		*ret_path = MSHV__PATH_EXT;
	return r < 0 ? r : 0;
}
