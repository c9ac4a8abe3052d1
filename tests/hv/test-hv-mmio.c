// SPDX-License-Identifier: MIT
/* MMIO through every decoded instruction form in real, protected and long mode: each guest
 * announces every exit (address, size, direction, data, RIP) and self-checks what it read. */
#include "check.h"
#include "hv-test.h"

int main(void)
{
	static const struct {
		const char *guest;
		unsigned min_mmio;
	} guests[] = {
		{ "hv-mmio16", 30 },
		{ "hv-mmio32", 30 },
		{ "hv-mmio64", 25 },
	};

	for (unsigned i = 0; i < sizeof(guests) / sizeof(guests[0]); i++) {
		struct hv_test *t = hv_test_new_or_skip(hv_test_backend(), guests[i].guest);

		test_note("%s on %s", guests[i].guest, t->backend_name);
		hv_test_check_guest(t);
		check(t->mmio_exits >= guests[i].min_mmio);
		test_note("%s: %u MMIO exits, %u values", guests[i].guest, t->mmio_exits,
			  t->nvalues);
		hv_test_free(t);
	}
	return test_done();
}
