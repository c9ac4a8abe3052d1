// SPDX-License-Identifier: MIT
/* mshv-sim fault injection: MSHV_SIM_FAULT at load time and mshv_sim_set_fault() at run time. */
#include "config.h"
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include "check.h"
#include "sim-test.h"

int main(int argc, char **argv)
{
	struct mshv_create_partition cp = { 0 };
	struct mshv_create_vp vp = { 0 };
	struct {
		struct hv_input_set_vp_registers h;
		struct hv_register_assoc a;
	} in = { .a = { .name = HV_X64_REGISTER_RAX, .value.reg64 = 1 } };
	uint16_t st = 0, reps = 9;
	int dev, pt, fd;

	(void)argc;
	/* Set before the sim loads: the first MSHV_INITIALIZE_PARTITION fails with EIO (5). */
	if (!dlsym(RTLD_DEFAULT, "mshv_sim_version"))
		setenv("MSHV_SIM_FAULT", "ioctl=0xB800:nth=1:errno=5", 1);
	sim_test_init(argv);

	dev = open("/dev/mshv", O_RDWR | O_CLOEXEC);
	require(dev >= 0);
	pt = sim_test_ioctl(dev, MSHV_CREATE_PARTITION, &cp);
	require(pt >= 0);
	check_eq_int(sim_test_ioctl(pt, MSHV_INITIALIZE_PARTITION, NULL), -EIO);
	check_eq_int(sim_test_ioctl(pt, MSHV_INITIALIZE_PARTITION, NULL), 0);

	/* The 2nd CREATE_VP fails with ENOMEM, the others work. */
	require_ok(sim_test_set_fault("ioctl=0x4004B801:nth=2:errno=12"));
	fd = sim_test_ioctl(pt, MSHV_CREATE_VP, &vp);
	check(fd >= 0);
	vp.vp_index = 1;
	check_eq_int(sim_test_ioctl(pt, MSHV_CREATE_VP, &vp), -ENOMEM);
	check(sim_test_ioctl(pt, MSHV_CREATE_VP, &vp) >= 0);

	/* Hypercall rule: status kept, errno from hv_result_to_errno, nothing done. */
	require_ok(sim_test_set_fault("hvcall=0x51:nth=1:status=0x71"));
	check_eq_int(sim_test_hvcall(fd, HVCALL_SET_VP_REGISTERS, 1, &in, sizeof(in), NULL, 0, &st,
				     &reps), -EIO);
	check_eq_u64(st, HV_STATUS_OPERATION_FAILED);
	check_eq_int(reps, 0);
	check_eq_int(sim_test_hvcall(fd, HVCALL_SET_VP_REGISTERS, 1, &in, sizeof(in), NULL, 0, &st,
				     &reps), 0);
	check_eq_int(reps, 1);
	close(fd);
	close(pt);

	/*
	 * INSUFFICIENT_MEMORY: 6.15-6.18 deposit a page and return EAGAIN (status kept); 6.19+
	 * deposit and retry inside the kernel, so the caller sees success (§11.1).
	 */
	for (int g = 0; g < 2; g++) {
		setenv("MSHV_SIM_GEN", g ? "7.0" : "6.15", 1);
		pt = sim_test_ioctl(dev, MSHV_CREATE_PARTITION, &cp);
		require(pt >= 0);
		require_ok(sim_test_ioctl(pt, MSHV_INITIALIZE_PARTITION, NULL));
		vp.vp_index = 0;
		fd = sim_test_ioctl(pt, MSHV_CREATE_VP, &vp);
		require(fd >= 0);
		require_ok(sim_test_set_fault("hvcall=0x51:nth=1:status=0xB"));
		check_eq_int(sim_test_hvcall(fd, HVCALL_SET_VP_REGISTERS, 1, &in, sizeof(in), NULL, 0,
					     &st, &reps), g ? 0 : -EAGAIN);
		check_eq_u64(st, g ? HV_STATUS_SUCCESS : HV_STATUS_INSUFFICIENT_MEMORY);
		check_eq_int(reps, g ? 1 : 0);
		check_eq_int(sim_test_hvcall(fd, HVCALL_SET_VP_REGISTERS, 1, &in, sizeof(in), NULL, 0,
					     &st, &reps), 0);
		if (g)
			break;
		close(fd);
		close(pt);
	}
	unsetenv("MSHV_SIM_GEN");

	/* count=0: every matching call from nth on; several rules at once. */
	require_ok(sim_test_set_fault("hvcall=0x51:nth=2:count=0:status=0x5;ioctl=0xB800:errno=16"));
	check_eq_int(sim_test_hvcall(fd, HVCALL_SET_VP_REGISTERS, 1, &in, sizeof(in), NULL, 0, &st,
				     NULL), 0);
	for (int i = 0; i < 3; i++) {
		check_eq_int(sim_test_hvcall(fd, HVCALL_SET_VP_REGISTERS, 1, &in, sizeof(in), NULL, 0,
					     &st, NULL), -EINVAL);
		check_eq_u64(st, HV_STATUS_INVALID_PARAMETER);
	}
	check_eq_int(sim_test_ioctl(pt, MSHV_INITIALIZE_PARTITION, NULL), -EBUSY);

	check_eq_int(sim_test_set_fault("nonsense"), -EINVAL);
	check_eq_int(sim_test_set_fault("ioctl=1:nth=0"), -EINVAL);
	check_eq_int(sim_test_set_fault("nth=2:errno=5"), -EINVAL);
	check_ok(sim_test_set_fault(""));
	check_eq_int(sim_test_hvcall(fd, HVCALL_SET_VP_REGISTERS, 1, &in, sizeof(in), NULL, 0, &st,
				     NULL), 0);
	close(fd);
	close(pt);
	close(dev);
	return test_done();
}
