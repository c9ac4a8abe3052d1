// SPDX-License-Identifier: MIT
/* Backend choice: explicit kvm, auto (mshv when /dev/mshv opens, else kvm), explicit mshv. */
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
int main(void)
{
	struct hv *hv = NULL;
	bool have_mshv;
	int r;

	/* Whether an mshv device answers (a real one, or the test double when preloaded). */
	r = hv_open(HV_BACKEND_MSHV, NULL, &hv);
	have_mshv = r == 0;
	hv = hv_free(hv);

	r = hv_open(HV_BACKEND_KVM, NULL, &hv);
	if (r == -ENOENT || r == -EACCES || r == -ENODEV || r == -EPERM)
		test_skip("/dev/kvm unusable: %s", strerror(-r));
	require_ok(r);
	check_eq_str(hv_name(hv), "kvm");
	check(hv_caps(hv) & HV_CAP_TRANSLATE_GVA);
	check(!(hv_caps(hv) & HV_CAP_PAUSE));
	check_eq_int(hv_last_status(hv), 0);
	check(hv_kick_signal() > 0);
	hv = hv_free(hv);
	check(hv == NULL);

	/* A path that is not a device fails cleanly. */
	check_eq_int(hv_open(HV_BACKEND_KVM, "/nonexistent/kvm", &hv), -ENOENT);
	check_eq_int(hv_open(HV_BACKEND_AUTO, "/dev/kvm", &hv), -EINVAL);

	r = hv_open(HV_BACKEND_MSHV, NULL, &hv);
	if (have_mshv && r == 0) {
		check_eq_str(hv_name(hv), "mshv");
		hv = hv_free(hv);
	} else {
		/* Not built yet (-EOPNOTSUPP) or no device (-ENOENT...): an error, not a crash. */
		check(r < 0);
	}

	require_ok(hv_open(HV_BACKEND_AUTO, NULL, &hv));
	if (have_mshv && r == 0)
		check_eq_str(hv_name(hv), "mshv");
	else
		check_eq_str(hv_name(hv), "kvm");
	hv_free(hv);
	check(hv_free(NULL) == NULL);
	return test_done();
}
