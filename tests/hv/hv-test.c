// SPDX-License-Identifier: MIT
/* Test harness for the hypervisor layer: backend choice, VM setup, guest loading, the run loop. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "guest.h"
#include "hv-test.h"

enum hv_backend hv_test_backend(void)
{
	const char *s = getenv("HV_TEST_BACKEND");
	enum hv_backend b;

	if (!s || !*s)
		return HV_BACKEND_KVM;
	if (hv_backend_from_name(s, &b) < 0)
		test_error("HV_TEST_BACKEND=\"%s\" is not auto, mshv, kvm or emu", s);
	return b;
}

uint64_t hv_test_mmio_value(uint64_t gpa, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size && i < 8; i++) {
		uint64_t a = gpa + i;

		v |= ((a ^ a >> 8 ^ 0xa5) & 0xff) << (8 * i);
	}
	return v;
}

uint64_t hv_test_io_value(uint16_t port, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size && i < 8; i++)
		v |= (uint64_t)((port + 0x31 * (i + 1)) & 0xff) << (8 * i);
	return v;
}

struct hv_test *hv_test_free(struct hv_test *t)
{
	if (!t)
		return NULL;
	hv_vcpu_free(t->vcpu);
	hv_vm_free(t->vm);
	hv_free(t->hv);
	if (t->ram)
		munmap(t->ram, t->ram_size);
	free(t);
	return NULL;
}

static int load_file(struct hv_test *t, const char *path, uint64_t gpa)
{
	size_t off = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (;;) {
		if (gpa + off >= t->ram_size) {
			close(fd);
			return -EFBIG;
		}
		n = read(fd, t->ram + gpa + off, t->ram_size - gpa - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	return n < 0 ? -errno : 0;
}

int hv_test_new(enum hv_backend backend, const char *guest, struct hv_test **ret)
{
	static const struct hv_vm_options opts;

	return hv_test_new_with(backend, guest, &opts, ret);
}

int hv_test_new_with(enum hv_backend backend, const char *guest,
		     const struct hv_vm_options *opts, struct hv_test **ret)
{
	struct hv_reg_value regs[4];
	struct hv_test *t;
	char rel[256];
	int r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->guest = guest;
	r = hv_open(backend, NULL, &t->hv);
	if (r < 0)
		goto fail;
	t->backend_name = hv_name(t->hv);
	r = hv_vm_new(t->hv, opts, &t->vm);
	if (r < 0)
		goto fail;
	t->ram_size = GUEST_RAM_SIZE;
	t->ram = mmap(NULL, t->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t->ram == MAP_FAILED) {
		t->ram = NULL;
		r = -errno;
		goto fail;
	}
	r = hv_vm_map(t->vm, 0, t->ram, t->ram_size, HV_MAP_READ | HV_MAP_WRITE | HV_MAP_EXEC);
	if (r < 0)
		goto fail;
	r = hv_vcpu_new(t->vm, 0, &t->vcpu);
	if (r < 0)
		goto fail;

	regs[0].reg = HV_REG_CS;
	r = hv_vcpu_get_regs(t->vcpu, regs, 1);
	if (r < 0)
		goto fail;
	regs[0].seg.base = 0;
	regs[0].seg.selector = 0;
	regs[1] = (struct hv_reg_value){ .reg = HV_REG_RIP, .u64 = GUEST_LOAD_GPA };
	regs[2] = (struct hv_reg_value){ .reg = HV_REG_RFLAGS, .u64 = 0x2 };
	r = hv_vcpu_set_regs(t->vcpu, regs, 3);
	if (r < 0)
		goto fail;

	if (guest) {
		snprintf(rel, sizeof(rel), "tests/guests/%s.bin", guest);
		r = load_file(t, test_build_path(rel), GUEST_LOAD_GPA);
		if (r < 0)
			goto fail;
	}
	*ret = t;
	return 0;
fail:
	hv_test_free(t);
	return r;
}

struct hv_test *hv_test_new_or_skip(enum hv_backend backend, const char *guest)
{
	struct hv_test *t;
	int r = hv_test_new(backend, guest, &t);

	if (r == -ENOENT || r == -EACCES || r == -ENODEV || r == -EPERM || r == -ENXIO ||
	    r == -EOPNOTSUPP)
		test_skip("the %s backend is unusable here: %s",
			  getenv("HV_TEST_BACKEND") ?: "kvm", strerror(-r));
	if (r < 0)
		test_error("cannot set up guest %s: %s", guest ? guest : "(none)", strerror(-r));
	return t;
}

uint64_t hv_test_reg(struct hv_test *t, enum hv_reg reg)
{
	struct hv_reg_value v = { .reg = reg };

	if (hv_vcpu_get_regs(t->vcpu, &v, 1) < 0)
		test_error("cannot read %s", hv_reg_name(reg));
	return v.u64;
}

void hv_test_print_exit(const char *prefix, const struct hv_exit *e)
{
	printf("%s%s rip=0x%" PRIx64, prefix, hv_exit_kind_name(e->kind), e->rip);
	switch (e->kind) {
	case HV_EXIT_IO:
		printf(" port=0x%x size=%u %s%s%s count=%" PRIu64 " data=0x%" PRIx64, e->io.port,
		       e->io.size, e->io.write ? "out" : "in", e->io.string ? " string" : "",
		       e->io.rep ? " rep" : "", e->io.count, e->io.data);
		break;
	case HV_EXIT_MMIO:
		printf(" gpa=0x%" PRIx64 " size=%u %s data=0x%" PRIx64, e->mmio.gpa, e->mmio.size,
		       e->mmio.write ? "write" : "read", e->mmio.data);
		break;
	case HV_EXIT_UNKNOWN:
		printf(" code=%" PRIu64, e->unknown.code);
		break;
	default:
		break;
	}
	printf(" len=%u\n", e->insn_len);
}

static void handle_out(struct hv_test *t, const struct hv_exit *e)
{
	uint32_t v = (uint32_t)e->io.data;

	switch (e->io.port) {
	case GUEST_PORT_CONSOLE:
		if (t->nconsole + 1 < sizeof(t->console))
			t->console[t->nconsole++] = (char)v;
		break;
	case GUEST_PORT_VALUE:
		if (t->nvalues < HV_TEST_MAX_VALUES)
			t->values[t->nvalues++] = v;
		break;
	case GUEST_PORT_DONE:
		t->done = true;
		t->status = v;
		break;
	case HV_TEST_PORT_EXP_GPA:
		t->pending.gpa = v;
		break;
	case HV_TEST_PORT_EXP_DATA:
		t->pending.data = v;
		break;
	case HV_TEST_PORT_EXP_DATAHI:
		t->pending.data |= (uint64_t)v << 32;
		break;
	case HV_TEST_PORT_EXP_RIP:
		t->pending.rip = v;
		break;
	case HV_TEST_PORT_EXP_KIND:
		t->pending.size = v & 0xff;
		t->pending.write = v >> 8 & 1;
		if (t->nexpect < HV_TEST_MAX_EXPECT)
			t->expect[t->nexpect++] = t->pending;
		else
			t->mmio_mismatches++;
		memset(&t->pending, 0, sizeof(t->pending));
		break;
	default:
		break;
	}
}

static void check_mmio(struct hv_test *t, const struct hv_exit *e)
{
	const struct hv_test_expect *x;
	uint64_t mask;

	t->mmio_exits++;
	if (t->expect_head >= t->nexpect) {
		t->mmio_mismatches++;
		if (!t->quiet)
			hv_test_print_exit("unexpected MMIO exit: ", e);
		return;
	}
	x = &t->expect[t->expect_head++];
	if (t->expect_head == t->nexpect)
		t->expect_head = t->nexpect = 0;
	mask = e->mmio.size >= 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * e->mmio.size)) - 1;
	if (x->gpa != e->mmio.gpa || x->size != e->mmio.size || x->write != e->mmio.write ||
	    x->rip != e->rip || (x->write && (x->data & mask) != e->mmio.data)) {
		t->mmio_mismatches++;
		if (!t->quiet) {
			hv_test_print_exit("MMIO exit: ", e);
			printf("  expected: rip=0x%" PRIx64 " gpa=0x%" PRIx64 " size=%u %s data=0x%"
			       PRIx64 "\n", x->rip, x->gpa, x->size, x->write ? "write" : "read",
			       x->data & mask);
		}
	}
}

int hv_test_run(struct hv_test *t, unsigned max_exits)
{
	struct hv_completion c;
	struct hv_exit e;
	int r;

	for (unsigned n = 0; n < max_exits; n++) {
		r = hv_vcpu_run(t->vcpu, &e);
		if (r < 0)
			return r;
		memset(&c, 0, sizeof(c));
		switch (e.kind) {
		case HV_EXIT_IO:
			if (e.io.write) {
				handle_out(t, &e);
			} else {
				c.value = hv_test_io_value(e.io.port, e.io.size);
				t->in_count++;
			}
			break;
		case HV_EXIT_MMIO:
			check_mmio(t, &e);
			if (!e.mmio.write)
				c.value = hv_test_mmio_value(e.mmio.gpa, e.mmio.size);
			break;
		case HV_EXIT_CPUID:
			memcpy(c.cpuid, e.cpuid.result, sizeof(c.cpuid));
			break;
		default:
			break;
		}
		if (t->nexits < HV_TEST_MAX_EXITS) {
			t->completions[t->nexits] = c.value;
			t->exits[t->nexits++] = e;
		}
		if (e.kind == HV_EXIT_HALT || e.kind == HV_EXIT_SHUTDOWN ||
		    e.kind == HV_EXIT_UNKNOWN || e.kind == HV_EXIT_INTERRUPTED ||
		    e.kind == HV_EXIT_EXCEPTION)
			return (int)e.kind;
		r = hv_vcpu_complete(t->vcpu, &c);
		if (r < 0)
			return r;
	}
	return -ETIMEDOUT;
}

bool hv_test_check_guest(struct hv_test *t)
{
	int r = hv_test_run(t, HV_TEST_MAX_EXITS);
	bool ok = true;

	if (!check_eq_int(r, HV_EXIT_HALT)) {
		ok = false;
		if (t->nexits)
			hv_test_print_exit("last exit: ", &t->exits[t->nexits - 1]);
	}
	ok &= check(t->done);
	if (!check_eq_u64(t->status, 0)) {
		ok = false;
		printf("guest %s on %s failed at check 0x%x\n", t->guest, t->backend_name, t->status);
	}
	ok &= check_eq_int(t->mmio_mismatches, 0);
	ok &= check_eq_int(t->nexpect - t->expect_head, 0);
	return ok;
}
