/* SPDX-License-Identifier: MIT */
/* Test harness for the hypervisor layer: one guest on one backend, every normalized exit recorded. */
#ifndef MSHVD_TESTS_HV_TEST_H
#define MSHVD_TESTS_HV_TEST_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/hv.h"

/*
 * Guests announce the MMIO exits they are about to cause on the expectation ports (see
 * tests/guests/hv-guest.inc); the harness checks every MMIO exit against the queue, answers
 * reads with hv_test_mmio_value() and port reads with hv_test_io_value(), collects VALUE
 * reports, console text and the DONE status.
 */
#define HV_TEST_MAX_EXITS	4096
#define HV_TEST_MAX_VALUES	1024
#define HV_TEST_MAX_EXPECT	64

/* Expectation ports, mirrored in hv-guest.inc. */
#define HV_TEST_PORT_EXP_GPA	0x610
#define HV_TEST_PORT_EXP_DATA	0x614
#define HV_TEST_PORT_EXP_DATAHI	0x618
#define HV_TEST_PORT_EXP_RIP	0x61c
#define HV_TEST_PORT_EXP_KIND	0x620	/* size | write << 8; commits the expectation */

struct hv_test_expect {
	uint64_t gpa, data, rip;
	uint8_t size;
	bool write;
};

struct hv_test {
	const char *backend_name;
	const char *guest;
	struct hv *hv;
	struct hv_vm *vm;
	struct hv_vcpu *vcpu;
	uint8_t *ram;
	uint64_t ram_size;

	struct hv_exit exits[HV_TEST_MAX_EXITS];
	uint64_t completions[HV_TEST_MAX_EXITS];	/* value supplied for reads */
	unsigned nexits;
	uint32_t values[HV_TEST_MAX_VALUES];
	unsigned nvalues;
	char console[1024];
	unsigned nconsole;
	bool done;
	uint32_t status;

	struct hv_test_expect expect[HV_TEST_MAX_EXPECT];
	unsigned nexpect, expect_head;
	struct hv_test_expect pending;	/* being announced */
	unsigned mmio_exits, mmio_mismatches;
	unsigned in_count;
	bool quiet;
};

/* Backend under test: $HV_TEST_BACKEND ("kvm" default, "mshv", "auto"). */
enum hv_backend hv_test_backend(void);

/* Open the backend, create a VM with RAM [0, 0xc0000) and vCPU 0 in real mode (CS = 0,
 * RIP = 0x1000, RFLAGS = 2) and load tests/guests/<guest>.bin.  Skips the test (77) when the
 * backend's device is absent; test_error() on other failures. */
struct hv_test *hv_test_new_or_skip(enum hv_backend backend, const char *guest);
/* Same, returning a negative errno instead of skipping (differential test). */
int hv_test_new(enum hv_backend backend, const char *guest, struct hv_test **ret);
/* hv_test_new() with these VM options (e.g. a LAPIC). */
int hv_test_new_with(enum hv_backend backend, const char *guest,
		     const struct hv_vm_options *opts, struct hv_test **ret);
struct hv_test *hv_test_free(struct hv_test *t);

/* Deterministic device model: the byte at gpa a is (a ^ a >> 8 ^ 0xa5) & 0xff, little endian. */
uint64_t hv_test_mmio_value(uint64_t gpa, unsigned size);
/* Port reads: byte i of a read at port p is (p + 0x31 * (i + 1)) & 0xff. */
uint64_t hv_test_io_value(uint16_t port, unsigned size);

/*
 * Run until halt, shutdown, an unknown exit, interruption or max_exits exits.  Every exit is
 * recorded; reads are completed with the device model.  Returns the last exit kind, or a
 * negative errno from the layer.
 */
int hv_test_run(struct hv_test *t, unsigned max_exits);

/* Run a guest to its halt and check the standard outcome: DONE reported with status 0, no MMIO
 * mismatch, every expectation consumed.  Returns true when all held (failures are reported
 * with check()). */
bool hv_test_check_guest(struct hv_test *t);

/* Read one register. */
uint64_t hv_test_reg(struct hv_test *t, enum hv_reg reg);

/* Print an exit on stdout as one line (for failures and notes). */
void hv_test_print_exit(const char *prefix, const struct hv_exit *e);

#endif
