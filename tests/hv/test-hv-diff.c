// SPDX-License-Identifier: MIT
/*
 * Differential test: every port-I/O and MMIO guest runs on two backends and must produce the
 * same normalized exits (kind, rip, port/gpa, size, direction, string/rep/count, data, the
 * value supplied to reads), the same VALUE reports and the same final registers.
 * $HV_DIFF_BACKENDS picks the pair (default "kvm,mshv"; "emu,kvm" for the emu twin, "emu,mshv"
 * for the mshv twin, which runs on every machine).  When the
 * second backend cannot be opened, the guests are compared on the first backend against itself
 * (which proves the comparison and that the runs are deterministic) and the test exits 77
 * saying so.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hv-test.h"

static const char *const guests[] = {
	"hv-pio", "hv-mmio16", "hv-mmio32", "hv-mmio64",
};

static const enum hv_reg final_regs[] = {
	HV_REG_RAX, HV_REG_RCX, HV_REG_RDX, HV_REG_RBX, HV_REG_RSP, HV_REG_RBP, HV_REG_RSI,
	HV_REG_RDI, HV_REG_R8, HV_REG_R9, HV_REG_R10, HV_REG_R11, HV_REG_R12, HV_REG_R13,
	HV_REG_R14, HV_REG_R15, HV_REG_RIP, HV_REG_RFLAGS, HV_REG_CS, HV_REG_DS, HV_REG_ES,
	HV_REG_SS, HV_REG_CR0, HV_REG_CR3, HV_REG_CR4, HV_REG_EFER,
};

static bool same_exit(const struct hv_exit *a, const struct hv_exit *b)
{
	if (a->kind != b->kind || a->rip != b->rip)
		return false;
	switch (a->kind) {
	case HV_EXIT_IO:
		return a->io.port == b->io.port && a->io.size == b->io.size &&
		       a->io.write == b->io.write && a->io.string == b->io.string &&
		       a->io.rep == b->io.rep && a->io.count == b->io.count &&
		       a->io.data == b->io.data;
	case HV_EXIT_MMIO:
		return a->mmio.gpa == b->mmio.gpa && a->mmio.size == b->mmio.size &&
		       a->mmio.write == b->mmio.write && a->mmio.data == b->mmio.data;
	case HV_EXIT_UNKNOWN:
		return a->unknown.code == b->unknown.code;
	default:
		return true;
	}
}

static void final_state(struct hv_test *t, struct hv_reg_value *v)
{
	for (unsigned i = 0; i < sizeof(final_regs) / sizeof(final_regs[0]); i++)
		v[i].reg = final_regs[i];
	if (hv_vcpu_get_regs(t->vcpu, v, sizeof(final_regs) / sizeof(final_regs[0])) < 0)
		test_error("cannot read the final registers on %s", t->backend_name);
}

/* Instruction forms exercised: distinct addresses of data-carrying exits. */
static unsigned count_forms(const struct hv_test *t)
{
	unsigned n = 0;

	for (unsigned i = 0; i < t->nexits; i++) {
		const struct hv_exit *e = &t->exits[i];
		bool seen = false;

		if (e->kind != HV_EXIT_MMIO && !(e->kind == HV_EXIT_IO && e->io.port < 0x600))
			continue;
		for (unsigned j = 0; j < i && !seen; j++)
			seen = t->exits[j].rip == e->rip && t->exits[j].kind == e->kind;
		n += !seen;
	}
	return n;
}

static int open_pair(const char *spec, enum hv_backend *a, enum hv_backend *b)
{
	char buf[64], *comma;

	snprintf(buf, sizeof(buf), "%s", spec);
	comma = strchr(buf, ',');
	if (!comma)
		return -EINVAL;
	*comma = 0;
	if (hv_backend_from_name(buf, a) < 0 || hv_backend_from_name(comma + 1, b) < 0)
		return -EINVAL;
	return 0;
}

int main(void)
{
	const char *spec = getenv("HV_DIFF_BACKENDS");
	enum hv_backend ba, bb;
	unsigned forms = 0;
	bool fallback = false;
	struct hv *probe;
	int r;

	if (!spec || !*spec)
		spec = "kvm,mshv";
	if (open_pair(spec, &ba, &bb) < 0)
		test_error("HV_DIFF_BACKENDS=\"%s\" is not \"A,B\"", spec);
	r = hv_open(ba, NULL, &probe);
	if (r < 0)
		test_skip("backend A of \"%s\" unusable: %s", spec, strerror(-r));
	hv_free(probe);
	r = hv_open(bb, NULL, &probe);
	if (r < 0) {
		test_note("backend B of \"%s\" unusable (%s): comparing A with itself", spec,
			  strerror(-r));
		bb = ba;
		fallback = true;
	} else {
		hv_free(probe);
	}

	for (unsigned g = 0; g < sizeof(guests) / sizeof(guests[0]); g++) {
		struct hv_test *a = hv_test_new_or_skip(ba, guests[g]);
		struct hv_test *b = hv_test_new_or_skip(bb, guests[g]);
		struct hv_reg_value va[sizeof(final_regs) / sizeof(final_regs[0])];
		struct hv_reg_value vb[sizeof(final_regs) / sizeof(final_regs[0])];
		unsigned n;

		check(hv_test_check_guest(a));
		check(hv_test_check_guest(b));
		if (!check_eq_int(a->nexits, b->nexits))
			printf("%s: %u exits on %s, %u on %s\n", guests[g], a->nexits,
			       a->backend_name, b->nexits, b->backend_name);
		n = a->nexits < b->nexits ? a->nexits : b->nexits;
		for (unsigned i = 0; i < n; i++) {
			if (check(same_exit(&a->exits[i], &b->exits[i])) &&
			    check_eq_u64(a->completions[i], b->completions[i]))
				continue;
			printf("%s exit %u differs:\n", guests[g], i);
			hv_test_print_exit("  A: ", &a->exits[i]);
			hv_test_print_exit("  B: ", &b->exits[i]);
			break;
		}
		check_eq_int(a->nvalues, b->nvalues);
		for (unsigned i = 0; i < a->nvalues && i < b->nvalues; i++)
			check_eq_u64(a->values[i], b->values[i]);
		final_state(a, va);
		final_state(b, vb);
		for (unsigned i = 0; i < sizeof(final_regs) / sizeof(final_regs[0]); i++) {
			bool same = hv_reg_kind(va[i].reg) == HV_REG_KIND_SEGMENT ?
				memcmp(&va[i].seg, &vb[i].seg, sizeof(va[i].seg)) == 0 :
				va[i].u64 == vb[i].u64;

			if (!check(same))
				printf("%s: final %s differs\n", guests[g], hv_reg_name(va[i].reg));
		}
		n = count_forms(a);
		test_note("%s: %u exits, %u instruction forms identical on %s and %s", guests[g],
			  a->nexits, n, a->backend_name, b->backend_name);
		forms += n;
		hv_test_free(a);
		hv_test_free(b);
	}
	test_note("%u instruction forms compared", forms);
	check(forms >= 40);
	if (fallback && test_failures == 0)
		test_skip("the second backend of \"%s\" is unavailable: only the first against "
			  "itself was compared (%u forms)", spec, forms);
	return test_done();
}
