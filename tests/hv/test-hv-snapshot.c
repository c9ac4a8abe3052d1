// SPDX-License-Identifier: MIT
/* Snapshots on one backend: vCPU state blobs, the partition blob and dirty-page logging bring a
 * guest back to a saved point exactly, on the same VM and on a clone. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "check.h"
#include "guest.h"
#include "hv-test.h"

/* Mirrored in tests/guests/hv-snapshot.S. */
#define SNAP_PORT	0x640
#define EXTRA_GPA	0x100000ull
#define EXTRA_SIZE	0x100000ull
static const unsigned extra_pages_written[] = { 1, 5, 200 };

#define PAGE		4096u
#define EXTRA_WORDS	((EXTRA_SIZE / PAGE + 63) / 64)
#define LOW_WORDS	((GUEST_RAM_SIZE / PAGE + 63) / 64)

/* One saved point: the vCPU blob, the registers hv_vcpu_get_regs() showed, the RAM. */
struct snap {
	void *blob;
	size_t size;
	struct hv_reg_value regs[HV_REG_COUNT];
	uint8_t *low, *extra;
};

/* What one run from a saved point did. */
struct outcome {
	struct hv_exit exits[64];
	unsigned nexits;
	uint32_t values[32];
	unsigned nvalues;
	uint32_t status;
	struct hv_reg_value regs[HV_REG_COUNT];
};

static uint8_t *extra_new(void)
{
	void *p = mmap(NULL, EXTRA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		test_error("mmap: %s", strerror(errno));
	return p;
}

static void regs_read(struct hv_vcpu *vcpu, struct hv_reg_value *regs)
{
	for (unsigned i = 0; i < HV_REG_COUNT; i++)
		regs[i].reg = (enum hv_reg)i;
	require_ok(hv_vcpu_get_regs(vcpu, regs, HV_REG_COUNT));
}

static bool reg_same(const struct hv_reg_value *a, const struct hv_reg_value *b)
{
	switch (hv_reg_kind(a->reg)) {
	case HV_REG_KIND_SEGMENT:
		return memcmp(&a->seg, &b->seg, sizeof(a->seg)) == 0;
	case HV_REG_KIND_TABLE:
		return a->table.base == b->table.base && a->table.limit == b->table.limit;
	default:
		return a->u64 == b->u64;
	}
}

/* Every register as saved; the TSC runs on with the host's clock on kvm, so it only must not
 * go back. */
static void check_regs(const char *what, const struct hv_reg_value *want,
		       const struct hv_reg_value *got)
{
	for (unsigned i = 0; i < HV_REG_COUNT; i++) {
		bool same = i == HV_REG_TSC ? got[i].u64 >= want[i].u64 :
					      reg_same(&want[i], &got[i]);

		if (!check(same))
			printf("%s: register %s differs (0x%" PRIx64 " != 0x%" PRIx64 ")\n", what,
			       hv_reg_name((enum hv_reg)i), got[i].u64, want[i].u64);
	}
}

static bool exit_same(const struct hv_exit *a, const struct hv_exit *b)
{
	if (a->kind != b->kind || a->rip != b->rip)
		return false;
	if (a->kind == HV_EXIT_IO)
		return a->io.port == b->io.port && a->io.size == b->io.size &&
		       a->io.write == b->io.write && a->io.data == b->io.data;
	return true;
}

/* Run until the guest's OUT to SNAP_PORT (left pending).  Nothing else exits before it. */
static void run_to_snap(struct hv_vcpu *vcpu, struct hv_exit *ret)
{
	require_ok(hv_vcpu_run(vcpu, ret));
	if (!check(ret->kind == HV_EXIT_IO && ret->io.port == SNAP_PORT && ret->io.write))
		hv_test_print_exit("instead of the snapshot exit: ", ret);
	require(hv_vcpu_exit_pending(vcpu));
}

/* Run to the guest's halt, recording exits, VALUE reports and the final registers. */
static void run_out(struct hv_vcpu *vcpu, struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	for (;;) {
		struct hv_completion c = { 0 };
		struct hv_exit e;

		require_ok(hv_vcpu_run(vcpu, &e));
		require(o->nexits < 64);
		o->exits[o->nexits++] = e;
		if (e.kind != HV_EXIT_IO) {
			if (!check_eq_int(e.kind, HV_EXIT_HALT))
				hv_test_print_exit("unexpected exit: ", &e);
			break;
		}
		if (!e.io.write)
			c.value = hv_test_io_value(e.io.port, e.io.size);
		else if (e.io.port == GUEST_PORT_VALUE && o->nvalues < 32)
			o->values[o->nvalues++] = (uint32_t)e.io.data;
		else if (e.io.port == GUEST_PORT_DONE)
			o->status = (uint32_t)e.io.data;
		require_ok(hv_vcpu_complete(vcpu, &c));
	}
	regs_read(vcpu, o->regs);
}

/* The same exits (skipping `skip` leading ones of got), values and registers. */
static void check_outcome(const char *what, const struct outcome *want, const struct outcome *got,
			  unsigned skip)
{
	if (!check_eq_int(got->nexits, want->nexits + skip))
		printf("%s: %u exits, not %u\n", what, got->nexits - skip, want->nexits);
	for (unsigned i = 0; i < want->nexits && i + skip < got->nexits; i++)
		if (!check(exit_same(&want->exits[i], &got->exits[i + skip]))) {
			printf("%s: exit %u differs\n", what, i);
			hv_test_print_exit("  want: ", &want->exits[i]);
			hv_test_print_exit("  got:  ", &got->exits[i + skip]);
		}
	check_eq_int(got->nvalues, want->nvalues);
	for (unsigned i = 0; i < want->nvalues && i < got->nvalues; i++)
		if (!check_eq_u64(got->values[i], want->values[i]))
			printf("%s: value %u differs\n", what, i);
	check_eq_u64(got->status, 0);
	check_regs(what, want->regs, got->regs);
}

static void get_dirty(struct hv_test *t, uint64_t *low, uint64_t *extra)
{
	require_ok(hv_vm_get_dirty_log(t->vm, 0, GUEST_RAM_SIZE, low));
	require_ok(hv_vm_get_dirty_log(t->vm, EXTRA_GPA, EXTRA_SIZE, extra));
}

/* Exactly the three pages the guest writes in the extra mapping. */
static void check_extra_dirty(const char *what, const uint64_t *bits)
{
	uint64_t want[EXTRA_WORDS] = { 0 };

	for (unsigned i = 0; i < sizeof(extra_pages_written) / sizeof(extra_pages_written[0]); i++)
		want[extra_pages_written[i] / 64] |= 1ull << (extra_pages_written[i] % 64);
	for (unsigned i = 0; i < EXTRA_WORDS; i++)
		if (!check_eq_u64(bits[i], want[i]))
			printf("%s: dirty word %u of the 1 MiB mapping\n", what, i);
}

/* Copy back the pages the log names from the saved copy; returns how many. */
static unsigned copy_back(uint8_t *ram, const uint8_t *saved, const uint64_t *bits, uint64_t size)
{
	unsigned n = 0;

	for (uint64_t p = 0; p < size / PAGE; p++)
		if (bits[p / 64] >> (p % 64) & 1) {
			memcpy(ram + p * PAGE, saved + p * PAGE, PAGE);
			n++;
		}
	return n;
}

/* Put memory back through the dirty log and the vCPU through the blob, then check both;
 * extra_pages: how many pages of the 1 MiB mapping were written since. */
static void restore(struct hv_test *t, uint8_t *extra, const struct snap *s, unsigned extra_pages)
{
	uint64_t low_bits[LOW_WORDS], extra_bits[EXTRA_WORDS];
	struct hv_reg_value regs[HV_REG_COUNT];

	get_dirty(t, low_bits, extra_bits);
	check(copy_back(t->ram, s->low, low_bits, GUEST_RAM_SIZE) > 0);	/* stack, counter */
	check_eq_int(copy_back(extra, s->extra, extra_bits, EXTRA_SIZE), extra_pages);
	/* Nothing the guest wrote escaped the log. */
	check(memcmp(t->ram, s->low, GUEST_RAM_SIZE) == 0);
	check(memcmp(extra, s->extra, EXTRA_SIZE) == 0);
	require_ok(hv_vcpu_restore_state(t->vcpu, s->blob, s->size));
	check(!hv_vcpu_exit_pending(t->vcpu));
	regs_read(t->vcpu, regs);
	check_regs("restored", s->regs, regs);
}

static void snap_take(struct hv_test *t, const uint8_t *extra, struct snap *s)
{
	require_ok(hv_vcpu_save_state(t->vcpu, &s->blob, &s->size));
	require(s->size > sizeof(struct hv_state_header));
	regs_read(t->vcpu, s->regs);
	s->low = malloc(GUEST_RAM_SIZE);
	s->extra = malloc(EXTRA_SIZE);
	require(s->low && s->extra);
	memcpy(s->low, t->ram, GUEST_RAM_SIZE);
	memcpy(s->extra, extra, EXTRA_SIZE);
}

static void snap_free(struct snap *s)
{
	free(s->blob);
	free(s->low);
	free(s->extra);
}

/* Malformed blobs are refused before anything changes. */
static void test_bad_blobs(struct hv_test *t, const struct snap *s)
{
	struct hv_reg_value before[HV_REG_COUNT], after[HV_REG_COUNT];
	struct hv_state_header h;
	uint8_t *b = malloc(s->size);
	enum hv_backend other = hv_test_backend() == HV_BACKEND_EMU ? HV_BACKEND_KVM :
								     HV_BACKEND_EMU;

	require(b);
	regs_read(t->vcpu, before);
	memcpy(&h, s->blob, sizeof(h));
	check_eq_u64(h.magic, HV_STATE_MAGIC);
	check_eq_int(h.size, s->size);
	check_eq_int(h.reserved, 0);

	memcpy(b, s->blob, s->size);
	((struct hv_state_header *)(void *)b)->magic ^= 1;
	check_eq_int(hv_vcpu_restore_state(t->vcpu, b, s->size), -EINVAL);
	memcpy(b, s->blob, s->size);
	((struct hv_state_header *)(void *)b)->size += 8;
	check_eq_int(hv_vcpu_restore_state(t->vcpu, b, s->size), -EINVAL);
	memcpy(b, s->blob, s->size);
	check_eq_int(hv_vcpu_restore_state(t->vcpu, b, s->size - 8), -EINVAL);	/* truncated */
	check_eq_int(hv_vcpu_restore_state(t->vcpu, b, 4), -EINVAL);
	check_eq_int(hv_vcpu_restore_state(t->vcpu, NULL, s->size), -EINVAL);
	((struct hv_state_header *)(void *)b)->reserved = 1;
	check_eq_int(hv_vcpu_restore_state(t->vcpu, b, s->size), -EINVAL);
	memcpy(b, s->blob, s->size);
	((struct hv_state_header *)(void *)b)->backend = (uint16_t)other;
	check_eq_int(hv_vcpu_restore_state(t->vcpu, b, s->size), -EPROTO);
	memcpy(b, s->blob, s->size);
	((struct hv_state_header *)(void *)b)->version += 100;
	check_eq_int(hv_vcpu_restore_state(t->vcpu, b, s->size), -EPROTO);
	/* A size that matches the header but not the backend's body. */
	memcpy(b, s->blob, sizeof(h));
	((struct hv_state_header *)(void *)b)->size = sizeof(h);
	check_eq_int(hv_vcpu_restore_state(t->vcpu, b, sizeof(h)), -EINVAL);
	regs_read(t->vcpu, after);
	check_regs("after refused blobs", before, after);
	free(b);
}

/* The partition blob: a header of this backend, and refused from another one. */
static void test_vm_blob(struct hv_test *t, const void *vm_blob, size_t vm_size)
{
	struct hv_state_header h;
	uint8_t *b = malloc(vm_size);

	require(b);
	memcpy(&h, vm_blob, sizeof(h));
	check_eq_u64(h.magic, HV_STATE_MAGIC);
	check_eq_int(h.size, vm_size);
	check_ok(hv_vm_restore_state(t->vm, vm_blob, vm_size));
	memcpy(b, vm_blob, vm_size);
	((struct hv_state_header *)(void *)b)->backend ^= 3;
	check_eq_int(hv_vm_restore_state(t->vm, b, vm_size), -EPROTO);
	memcpy(b, vm_blob, vm_size);
	((struct hv_state_header *)(void *)b)->magic = 0;
	check_eq_int(hv_vm_restore_state(t->vm, b, vm_size), -EINVAL);
	free(b);
}

/*
 * Saved while the second element of a REP OUTSB is pending (kvm has executed the element by
 * then): the restored vCPU reports that element again, then runs as the first time.
 */
static void test_string_pending(void)
{
	struct hv_test *t = hv_test_new_or_skip(hv_test_backend(), "hv-pio");
	struct outcome first, again;
	struct hv_exit e;
	uint8_t *ram = malloc(GUEST_RAM_SIZE);
	void *blob;
	size_t size;

	require(ram);
	for (;;) {
		struct hv_completion c = { 0 };

		require_ok(hv_vcpu_run(t->vcpu, &e));
		require(e.kind == HV_EXIT_IO);
		if (e.io.string && e.io.write && e.io.port == GUEST_PORT_CONSOLE && e.io.count == 2)
			break;
		if (!e.io.write)
			c.value = hv_test_io_value(e.io.port, e.io.size);
		require_ok(hv_vcpu_complete(t->vcpu, &c));
	}
	check_eq_u64(e.io.data, 'v');
	require_ok(hv_vcpu_save_state(t->vcpu, &blob, &size));
	memcpy(ram, t->ram, GUEST_RAM_SIZE);
	run_out(t->vcpu, &first);
	check_eq_u64(first.status, 0);
	memcpy(t->ram, ram, GUEST_RAM_SIZE);
	require_ok(hv_vcpu_restore_state(t->vcpu, blob, size));
	run_out(t->vcpu, &again);
	check(again.nexits > 0 && exit_same(&again.exits[0], &e));
	check_outcome("restored inside rep outsb", &first, &again, 1);
	free(blob);
	free(ram);
	hv_test_free(t);
}

/* With an interrupt controller the blobs carry it (LAPIC page, activity; kvm: PIC, IOAPIC,
 * MP state); they restore onto a VM made with the same options only. */
static void test_irqchip_blobs(void)
{
	struct hv_vm_options lapic = { .lapic = true }, none = { 0 };
	struct hv_reg_value before[HV_REG_COUNT], after[HV_REG_COUNT];
	struct hv_vm *a, *b, *plain;
	struct hv_vcpu *va, *vb, *vplain;
	void *vm_blob, *blob;
	size_t vm_size, size;
	struct hv *hv;

	require_ok(hv_open(hv_test_backend(), NULL, &hv));
	if (!(hv_caps(hv) & HV_CAP_LAPIC)) {
		test_note("no LAPIC option on %s: irqchip blobs not tested", hv_name(hv));
		hv_free(hv);
		return;
	}
	require_ok(hv_vm_new(hv, &lapic, &a));
	require_ok(hv_vm_new(hv, &lapic, &b));
	require_ok(hv_vm_new(hv, &none, &plain));
	require_ok(hv_vcpu_new(a, 0, &va));
	require_ok(hv_vcpu_new(b, 0, &vb));
	require_ok(hv_vcpu_new(plain, 0, &vplain));
	before[0] = (struct hv_reg_value){ .reg = HV_REG_RAX, .u64 = 0xfeedface };
	before[1] = (struct hv_reg_value){ .reg = HV_REG_CR8, .u64 = 5 };
	require_ok(hv_vcpu_set_regs(va, before, 2));

	require_ok(hv_vm_save_state(a, &vm_blob, &vm_size));
	require_ok(hv_vcpu_save_state(va, &blob, &size));
	check_ok(hv_vm_restore_state(b, vm_blob, vm_size));
	check_ok(hv_vcpu_restore_state(vb, blob, size));
	regs_read(va, before);
	regs_read(vb, after);
	check_regs("irqchip clone", before, after);
	check_eq_u64(after[HV_REG_CR8].u64, 5);	/* the TPR, from the LAPIC page */
	/* Not onto a VM without the interrupt controller (emu's vm blob has nothing of it). */
	check_eq_int(hv_vcpu_restore_state(vplain, blob, size), -EINVAL);
	if (vm_size > sizeof(struct hv_state_header))
		check_eq_int(hv_vm_restore_state(plain, vm_blob, vm_size), -EINVAL);
	free(vm_blob);
	free(blob);
	hv_vcpu_free(va);
	hv_vcpu_free(vb);
	hv_vcpu_free(vplain);
	hv_vm_free(a);
	hv_vm_free(b);
	hv_vm_free(plain);
	hv_free(hv);
}

/* An NMI posted and not yet taken travels in the blob: the clone takes it as the original
 * does (here into a triple fault: the guest has no IDT), instead of running on. */
static void test_pending_nmi(void)
{
	struct hv_test *a = hv_test_new_or_skip(hv_test_backend(), "hv-snapshot"), *b;
	struct hv_interrupt nmi = { .type = HV_INTERRUPT_NMI, .apic_id = 0 };
	struct hv_exit snap, ea, eb;
	void *blob;
	size_t size;

	run_to_snap(a->vcpu, &snap);
	require_ok(hv_vcpu_complete(a->vcpu, NULL));
	if (hv_vm_assert_interrupt(a->vm, &nmi) < 0) {
		test_note("no NMI injection on %s", a->backend_name);
		hv_test_free(a);
		return;
	}
	require_ok(hv_vcpu_save_state(a->vcpu, &blob, &size));
	require_ok(hv_test_new(hv_test_backend(), NULL, &b));
	memcpy(b->ram, a->ram, GUEST_RAM_SIZE);
	require_ok(hv_vcpu_restore_state(b->vcpu, blob, size));
	require_ok(hv_vcpu_run(a->vcpu, &ea));
	require_ok(hv_vcpu_run(b->vcpu, &eb));
	check_eq_int(ea.kind, HV_EXIT_SHUTDOWN);
	if (!check(exit_same(&ea, &eb))) {
		hv_test_print_exit("original: ", &ea);
		hv_test_print_exit("clone:    ", &eb);
	}
	free(blob);
	hv_test_free(b);
	hv_test_free(a);
}

int main(void)
{
	struct hv_test *t = hv_test_new_or_skip(hv_test_backend(), "hv-snapshot"), *c;
	uint64_t low_bits[LOW_WORDS], extra_bits[EXTRA_WORDS];
	struct outcome first, again, after, cloned;
	struct snap pending, completed;
	struct hv_exit snap_exit, e;
	uint8_t *extra = extra_new(), *extra2;
	void *vm_blob;
	size_t vm_size;

	if (!(hv_caps(t->hv) & HV_CAP_DIRTY_LOG))
		test_skip("the %s backend has no dirty-page logging", t->backend_name);
	require_ok(hv_vm_map(t->vm, EXTRA_GPA, extra, EXTRA_SIZE, HV_MAP_WRITE | HV_MAP_EXEC));
	check_eq_int(hv_vm_get_dirty_log(t->vm, 0, GUEST_RAM_SIZE, low_bits), -EINVAL);

	/* The saved point: the snapshot OUT is pending (saved so), then completed (saved so). */
	run_to_snap(t->vcpu, &snap_exit);
	snap_take(t, extra, &pending);
	check_eq_u64(pending.regs[HV_REG_RIP].u64, snap_exit.rip);
	require_ok(hv_vm_save_state(t->vm, &vm_blob, &vm_size));
	require_ok(hv_vm_set_dirty_log(t->vm, true));
	check_ok(hv_vm_set_dirty_log(t->vm, true));	/* already on */
	check_eq_int(hv_vm_get_dirty_log(t->vm, EXTRA_GPA, EXTRA_SIZE / 2, extra_bits), -ENOENT);
	require_ok(hv_vcpu_complete(t->vcpu, NULL));
	snap_take(t, extra, &completed);
	check_eq_u64(completed.regs[HV_REG_RIP].u64, snap_exit.rip + 1);	/* out %al, (%dx) */

	/* The first run from there. */
	run_out(t->vcpu, &first);
	check_eq_u64(first.status, 0);
	check_eq_int(first.nvalues, 11);
	check_eq_u64(first.values[0], 0x11111111);	/* xmm3 */
	check_eq_u64(first.values[3], 0x44444444);
	check_eq_u64(first.values[4], 0x87654321);	/* mm2 */
	check_eq_u64(first.values[5], 0x0badcafe);
	check_eq_u64(first.values[8], 6);		/* counter 5 + 1 */
	/* rep insb */
	check_eq_u64(first.values[10], hv_test_io_value(0x72, 1) * 0x01010101u);
	get_dirty(t, low_bits, extra_bits);
	check_extra_dirty("first run", extra_bits);
	get_dirty(t, low_bits, extra_bits);		/* fetching cleared them */
	for (unsigned i = 0; i < EXTRA_WORDS; i++)
		check_eq_u64(extra_bits[i], 0);

	/* Run again so the log has the pages of a run, then restore the pending point: the same
	 * exit again first, then the first run's exits, values and registers. */
	require_ok(hv_vcpu_restore_state(t->vcpu, completed.blob, completed.size));
	run_out(t->vcpu, &again);
	check(again.values[8] == 7);			/* memory was not restored: counter 6 + 1 */
	restore(t, extra, &pending, 3);
	run_out(t->vcpu, &after);
	check(after.nexits > 0 && exit_same(&after.exits[0], &snap_exit));
	check_outcome("restored while pending", &first, &after, 1);
	get_dirty(t, low_bits, extra_bits);
	check_extra_dirty("run after restore", extra_bits);
	memcpy(extra, pending.extra, EXTRA_SIZE);
	memcpy(t->ram, pending.low, GUEST_RAM_SIZE);

	/* A pending exit on the target is dropped by a restore, not completed. */
	require_ok(hv_vcpu_restore_state(t->vcpu, pending.blob, pending.size));
	run_to_snap(t->vcpu, &e);
	check(exit_same(&e, &snap_exit));
	memcpy(extra, pending.extra, EXTRA_SIZE);
	memcpy(t->ram, pending.low, GUEST_RAM_SIZE);
	require_ok(hv_vcpu_restore_state(t->vcpu, completed.blob, completed.size));
	check(!hv_vcpu_exit_pending(t->vcpu));
	run_out(t->vcpu, &after);
	check_outcome("restored after completion", &first, &after, 0);

	/* Stopped on the guest's IN, whose completion KVM holds until the next run: a restore
	 * drops it (neither RAX nor RIP of the restored state change), the snapshot exit
	 * comes again and then the first run's exits. */
	restore(t, extra, &pending, 3);
	run_to_snap(t->vcpu, &e);
	for (;;) {
		require_ok(hv_vcpu_run(t->vcpu, &e));
		require(e.kind == HV_EXIT_IO);
		if (!e.io.write)
			break;
	}
	require(hv_vcpu_exit_pending(t->vcpu));
	restore(t, extra, &pending, 2);			/* page 200 comes after the IN */
	run_out(t->vcpu, &after);
	check(after.nexits > 0 && exit_same(&after.exits[0], &snap_exit));
	check_outcome("restored over a pending IN", &first, &after, 1);

	test_bad_blobs(t, &pending);
	test_vm_blob(t, vm_blob, vm_size);

	/* A clone: a new VM with a copy of the saved memory, the vm blob and the vCPU blob. */
	require_ok(hv_test_new(hv_test_backend(), NULL, &c));
	extra2 = extra_new();
	memcpy(c->ram, pending.low, GUEST_RAM_SIZE);
	memcpy(extra2, pending.extra, EXTRA_SIZE);
	require_ok(hv_vm_map(c->vm, EXTRA_GPA, extra2, EXTRA_SIZE, HV_MAP_WRITE | HV_MAP_EXEC));
	require_ok(hv_vm_restore_state(c->vm, vm_blob, vm_size));
	require_ok(hv_vcpu_restore_state(c->vcpu, pending.blob, pending.size));
	run_out(c->vcpu, &cloned);
	check(cloned.nexits > 0 && exit_same(&cloned.exits[0], &snap_exit));
	check_outcome("clone", &first, &cloned, 1);
	hv_test_free(c);
	munmap(extra2, EXTRA_SIZE);

	/* Pages the last run wrote were not fetched: turned off and on again, the log starts
	 * clean all the same. */
	require_ok(hv_vm_set_dirty_log(t->vm, false));
	check_eq_int(hv_vm_get_dirty_log(t->vm, EXTRA_GPA, EXTRA_SIZE, extra_bits), -EINVAL);
	require_ok(hv_vm_set_dirty_log(t->vm, true));
	get_dirty(t, low_bits, extra_bits);
	for (unsigned i = 0; i < EXTRA_WORDS; i++)
		check_eq_u64(extra_bits[i], 0);
	require_ok(hv_vm_set_dirty_log(t->vm, false));
	free(vm_blob);
	snap_free(&pending);
	snap_free(&completed);
	check_ok(hv_vm_unmap(t->vm, EXTRA_GPA, EXTRA_SIZE));
	hv_test_free(t);
	munmap(extra, EXTRA_SIZE);

	test_string_pending();
	test_pending_nmi();
	test_irqchip_blobs();
	return test_done();
}
