/* SPDX-License-Identifier: MIT */
/* Helpers for tests that run through mshv-sim: preload the double, load guests, raw hypercalls. */
#ifndef MSHVD_TESTS_SIM_TEST_H
#define MSHVD_TESTS_SIM_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "mshv/mshv-abi.h"

/*
 * Make sure the sim is preloaded: if it is not, skip (77) when the sim cannot be built (no libunicorn), else
 * re-execute this program with LD_PRELOAD set (and ASAN_OPTIONS=verify_asan_link_order=0).
 * Call first thing in main().  Never returns on error.
 */
void sim_test_init(char **argv);

/* Change the sim's fault rules at run time (mshv_sim_set_fault); 0 or -EINVAL. */
int sim_test_set_fault(const char *spec);

/* Guest RAM of GUEST_RAM_SIZE bytes (page aligned, MAP_SHARED) with the guest binary at
 * GUEST_LOAD_GPA.  Exits 99 if the binary is missing. */
uint8_t *sim_test_guest_ram(const char *guest_rel_path, size_t *ret_size);

/* Raw ioctl returning 0/fd or -errno. */
int sim_test_ioctl(int fd, unsigned long req, void *arg);

/* Raw MSHV_ROOT_HVCALL; ret_status and ret_reps get what the driver wrote back.  0 or -errno. */
int sim_test_hvcall(int fd, uint16_t code, uint16_t reps, const void *in, size_t in_sz, void *out,
		    size_t out_sz, uint16_t *ret_status, uint16_t *ret_reps);

#endif
