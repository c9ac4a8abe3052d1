// SPDX-License-Identifier: MIT
/* Backend choice: explicit kvm, auto (mshv when /dev/mshv opens, else kvm, never emu), explicit
 * mshv, and emu (HV_TEST_BACKEND=emu). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "hv/hv.h"

/*
 * "Both devices absent" cannot be produced on a machine that has /dev/kvm without a mount
 * namespace; the branch is covered by reasoning only: hv_open(AUTO) returns -ENODEV when
 * neither backend opens.
 */
/* emu: opens without a device when built in, reports no hardware isolation, takes no path, and
 * auto never picks it. */
static void test_emu(void)
{
	struct hv *hv = NULL;
	int r;

	if (!hv_backend_available(HV_BACKEND_EMU)) {
		check_eq_int(hv_open(HV_BACKEND_EMU, NULL, &hv), -EOPNOTSUPP);
		test_skip("built --without-unicorn: no emu backend");
	}
	require_ok(hv_open(HV_BACKEND_EMU, NULL, &hv));
	check_eq_str(hv_name(hv), "emu");
	check(!hv_hardware_isolation(hv));
	check(hv_caps(hv) & HV_CAP_TRANSLATE_GVA);
	check(hv_caps(hv) & HV_CAP_IOEVENTFD_PIO);
	check(hv_caps(hv) & HV_CAP_IOEVENTFD_MMIO);
	check(hv_caps(hv) & HV_CAP_IRQFD);
	check(!(hv_caps(hv) & HV_CAP_X2APIC));
	check(hv_kick_signal() > 0);
	hv = hv_free(hv);
	check_eq_int(hv_open(HV_BACKEND_EMU, "/dev/kvm", &hv), -EINVAL);
	r = hv_open(HV_BACKEND_AUTO, NULL, &hv);
	if (r == 0) {
		check(strcmp(hv_name(hv), "emu") != 0);
		check(hv_hardware_isolation(hv));
		hv = hv_free(hv);
	} else {
		check_eq_int(r, -ENODEV);
	}
}

/* kvm: returns false when /dev/kvm is unusable here. */
static bool test_kvm(void)
{
	struct hv *hv = NULL;
	int r = hv_open(HV_BACKEND_KVM, NULL, &hv);

	if (r == -ENOENT || r == -EACCES || r == -ENODEV || r == -EPERM) {
		test_note("/dev/kvm unusable: %s", strerror(-r));
		check_eq_int(hv_open(HV_BACKEND_KVM, "/nonexistent/kvm", &hv), -ENOENT);
		return false;
	}
	require_ok(r);
	check_eq_str(hv_name(hv), "kvm");
	check(hv_hardware_isolation(hv));
	check(hv_caps(hv) & HV_CAP_TRANSLATE_GVA);
	check(!(hv_caps(hv) & HV_CAP_PAUSE));
	check_eq_int(hv_last_status(hv), 0);
	check(hv_kick_signal() > 0);
	hv = hv_free(hv);
	check(hv == NULL);
	/* A path that is not a device fails cleanly. */
	check_eq_int(hv_open(HV_BACKEND_KVM, "/nonexistent/kvm", &hv), -ENOENT);
	return true;
}

int main(void)
{
	struct hv *hv = NULL;
	bool have_mshv, have_kvm;
	int r;

	if (!strcmp(getenv("HV_TEST_BACKEND") ?: "", "emu")) {
		test_emu();
		return test_done();
	}

	/* Whether an mshv device answers (a real one, or the test double when preloaded). */
	r = hv_open(HV_BACKEND_MSHV, NULL, &hv);
	have_mshv = r == 0;
	if (have_mshv) {
		check_eq_str(hv_name(hv), "mshv");
		check(hv_hardware_isolation(hv));
	} else {
		/* Not built (-EOPNOTSUPP) or no device (-ENOENT...): an error, not a crash. */
		check(r < 0);
	}
	hv = hv_free(hv);
	have_kvm = test_kvm();
	if (!have_mshv && !have_kvm)
		test_skip("neither /dev/mshv nor /dev/kvm usable");

	check_eq_int(hv_open(HV_BACKEND_AUTO, "/dev/kvm", &hv), -EINVAL);
	require_ok(hv_open(HV_BACKEND_AUTO, NULL, &hv));
	check_eq_str(hv_name(hv), have_mshv ? "mshv" : "kvm");
	hv_free(hv);
	check(hv_free(NULL) == NULL);
	return test_done();
}
