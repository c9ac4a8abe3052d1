// SPDX-License-Identifier: MIT
/* Helpers for tests that run through mshv-sim. */
#include "config.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "guest.h"
#include "sim-test.h"

void sim_test_init(char **argv)
{
	char lib[4096], env[8192];
	const char *path, *old;

	if (dlsym(RTLD_DEFAULT, "mshv_sim_version"))
		return;
#ifndef HAVE_UNICORN
	test_skip("mshv-sim needs libunicorn (not found by configure)");
#endif
	path = getenv("MSHV_SIM_LIB");
	if (!path)
		path = test_build_path("tests/mshv-sim/.libs/libmshv-sim.so");
	if (!realpath(path, lib))
		test_error("mshv-sim not found at %s", path);
	old = getenv("LD_PRELOAD");
	snprintf(env, sizeof(env), "%s%s%s", lib, old ? " " : "", old ? old : "");
	setenv("LD_PRELOAD", env, 1);
	old = getenv("ASAN_OPTIONS");
	snprintf(env, sizeof(env), "verify_asan_link_order=0%s%s", old ? ":" : "", old ? old : "");
	setenv("ASAN_OPTIONS", env, 1);
	execv("/proc/self/exe", argv);
	test_error("re-exec under mshv-sim: %s", strerror(errno));
}

int sim_test_set_fault(const char *spec)
{
	int (*set)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "mshv_sim_set_fault");

	return set ? set(spec) : -ENOSYS;
}

uint8_t *sim_test_guest_ram(const char *guest_rel_path, size_t *ret_size)
{
	const char *path = test_build_path(guest_rel_path);
	uint8_t *ram;
	FILE *f;
	size_t n;

	ram = mmap(NULL, GUEST_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		test_error("mmap: %s", strerror(errno));
	f = fopen(path, "rb");
	if (!f)
		test_error("guest %s: %s", path, strerror(errno));
	n = fread(ram + GUEST_LOAD_GPA, 1, GUEST_RAM_SIZE - GUEST_LOAD_GPA, f);
	fclose(f);
	if (!n)
		test_error("guest %s is empty", path);
	*ret_size = GUEST_RAM_SIZE;
	return ram;
}

int sim_test_ioctl(int fd, unsigned long req, void *arg)
{
	int r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

int sim_test_hvcall(int fd, uint16_t code, uint16_t reps, const void *in, size_t in_sz, void *out,
		    size_t out_sz, uint16_t *ret_status, uint16_t *ret_reps)
{
	struct mshv_root_hvcall a = {
		.code = code, .reps = reps, .in_sz = (uint16_t)in_sz, .out_sz = (uint16_t)out_sz,
		.in_ptr = (uintptr_t)in, .out_ptr = (uintptr_t)out,
	};
	int r = sim_test_ioctl(fd, MSHV_ROOT_HVCALL, &a);

	if (ret_status)
		*ret_status = a.status;
	if (ret_reps)
		*ret_reps = a.reps;
	return r;
}
