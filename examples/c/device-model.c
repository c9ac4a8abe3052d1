// SPDX-License-Identifier: MIT
// An out-of-process device model on libmshvd-client: MMIO registers served over the socket,
// the device's interrupt raised by writing an irqfd that the daemon passed to us.

/*
 * The device, a 32-bit register window at DEV_BASE (GUEST_MMIO_BASE of the test guests):
 *
 *   0x00 ID        R   DEVICE_ID
 *   0x04 SCRATCH   RW  plain storage
 *   0x08 COUNTER   R   the sum of the values written; W adds the value
 *   0x0c STATUS    R   bit 0: interrupt pending;  W: a 1 in bit 0 clears it
 *   0x10 DOORBELL  W   sets STATUS bit 0 and raises the interrupt
 *
 * The interrupt is an MSI (vector DEV_VECTOR to APIC 0) routed to GSI DEV_GSI; the daemon
 * registers an irqfd for that GSI and passes its eventfd to us (add-irqfd {pass_fd: true}), so
 * raising the interrupt is one write(2) with no round trip to the daemon.
 *
 * Flow: create the VM, load the guest (examples/guests/device.S), subscribe to the VM's exit
 * events, start the vCPU in step mode.  Every exit parks the vCPU and arrives here as an event;
 * the handler emulates the access, then completes the exit and resumes the vCPU (two pipelined
 * requests).  The guest reports its result on port 0x604.
 *
 * Usage: device-model [-s SOCKET] GUEST.bin     (socket default: $MSHVD_SOCKET, then
 * /run/mshvd/mshvd.sock).  Exit status 0 when the guest reported success.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "mshvd/client.h"

#define RAM_SIZE	0xc0000
#define LOAD_GPA	0x1000
#define DONE_PORT	0x604
#define CONSOLE_PORT	0x3f8

#define DEV_BASE	0xd0000
#define DEV_SIZE	0x1000
#define DEV_ID		0x00
#define DEV_SCRATCH	0x04
#define DEV_COUNTER	0x08
#define DEV_STATUS	0x0c
#define DEV_DOORBELL	0x10
#define DEVICE_ID	0x4d534456u
#define DEV_GSI		24		/* the first GSI that is not an irqchip pin on KVM */
#define DEV_VECTOR	0x40
#define MSI_ADDR	0xfee00000u	/* APIC ID 0, physical destination */

#define CALL_TIMEOUT_MS	10000
#define RUN_TIMEOUT_S	60

struct device {
	uint32_t scratch;
	uint32_t counter;
	uint32_t status;
	int irqfd;
	unsigned reads, writes, irqs;
};

struct model {
	struct mshvd_client *client;
	unsigned vm;
	struct device dev;
	bool done;
	int result;		/* the guest's report, or -1 on a model error */
};

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("device-model: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* One synchronous call that must succeed.  params is stolen; returns a new reference. */
static json_t *call(struct model *m, const char *method, json_t *params)
{
	struct mshvd_error err = { 0 };
	json_t *result = NULL;
	int r = mshvd_client_call(m->client, method, params, CALL_TIMEOUT_MS, &result, &err);

	if (r == -MSHVD_CLIENT_EREMOTE)
		die("%s: %s (%s)", method, err.message, err.name);
	if (r < 0)
		die("%s: %s", method, strerror(-r));
	return result;
}

static void call_void(struct model *m, const char *method, json_t *params)
{
	json_decref(call(m, method, params));
}

static uint64_t u64_field(const json_t *obj, const char *key)
{
	uint64_t v;

	if (mshvd_json_u64(json_object_get(obj, key), &v) < 0)
		die("event without a numeric \"%s\"", key);
	return v;
}

static void raise_irq(struct device *dev)
{
	uint64_t one = 1;

	dev->status |= 1;
	dev->irqs++;
	/* The eventfd counter adds up: the hypervisor injects on the next vCPU entry. */
	if (write(dev->irqfd, &one, sizeof(one)) != sizeof(one))
		die("write irqfd: %s", strerror(errno));
}

static uint32_t dev_read(struct device *dev, uint64_t off)
{
	dev->reads++;
	switch (off) {
	case DEV_ID:
		return DEVICE_ID;
	case DEV_SCRATCH:
		return dev->scratch;
	case DEV_COUNTER:
		return dev->counter;
	case DEV_STATUS:
		return dev->status;
	default:
		return 0xffffffff;	/* unimplemented registers read as all ones */
	}
}

static void dev_write(struct device *dev, uint64_t off, uint32_t value)
{
	dev->writes++;
	switch (off) {
	case DEV_SCRATCH:
		dev->scratch = value;
		break;
	case DEV_COUNTER:
		dev->counter += value;
		break;
	case DEV_STATUS:
		dev->status &= ~(value & 1);
		break;
	case DEV_DOORBELL:
		raise_irq(dev);
		break;
	default:
		break;		/* writes to read-only or unimplemented registers are ignored */
	}
}

/*
 * Finish the parked exit (with the value of a read) and let the vCPU run on.  Both requests go
 * out before either reply is awaited: the daemon handles a connection's requests in order.
 */
static void complete_and_run(struct model *m, unsigned vcpu, bool has_value, uint64_t value)
{
	json_t *cparams = json_pack("{s:i, s:i}", "vm", m->vm, "vcpu", vcpu);
	struct mshvd_error err = { 0 };
	uint64_t ids[2];
	int r;

	if (has_value)
		json_object_set_new(cparams, "value", json_integer((json_int_t)value));
	r = mshvd_client_send(m->client, "complete", cparams, &ids[0]);
	if (r == 0)
		r = mshvd_client_send(m->client, "run",
				      json_pack("{s:i, s:i}", "vm", m->vm, "vcpu", vcpu), &ids[1]);
	for (unsigned i = 0; r == 0 && i < 2; i++)
		r = mshvd_client_wait(m->client, ids[i], CALL_TIMEOUT_MS, NULL, NULL, &err);
	if (r == -MSHVD_CLIENT_EREMOTE)
		die("complete/run: %s (%s)", err.message, err.name);
	if (r < 0)
		die("complete/run: %s", strerror(-r));
}

static void on_mmio(struct model *m, unsigned vcpu, const json_t *ex)
{
	uint64_t gpa = u64_field(ex, "gpa"), size = u64_field(ex, "size");
	bool write = strcmp(json_string_value(json_object_get(ex, "direction")), "write") == 0;
	uint64_t off = gpa - DEV_BASE;

	if (gpa < DEV_BASE || gpa >= DEV_BASE + DEV_SIZE) {
		/* Not ours: a real VMM would dispatch to another device; here it is a bug. */
		fprintf(stderr, "device-model: access outside the window at 0x%" PRIx64 "\n", gpa);
		m->result = -1;
		m->done = true;
		return;
	}
	if (size != 4 || off % 4) {
		/* Only aligned 32-bit accesses: others read all ones and are dropped. */
		complete_and_run(m, vcpu, !write, UINT64_MAX);
		return;
	}
	if (write) {
		uint32_t value = (uint32_t)u64_field(ex, "data");

		printf("  mmio write 0x%05" PRIx64 " <- 0x%08x\n", gpa, value);
		dev_write(&m->dev, off, value);
		complete_and_run(m, vcpu, false, 0);
	} else {
		uint32_t value = dev_read(&m->dev, off);

		printf("  mmio read  0x%05" PRIx64 " -> 0x%08x\n", gpa, value);
		complete_and_run(m, vcpu, true, value);
	}
}

/* The event callback: params is borrowed.  Runs from mshvd_client_dispatch(), so it may call. */
static void on_event(struct mshvd_client *client, json_t *params, void *userdata)
{
	struct model *m = userdata;
	const char *kind = json_string_value(json_object_get(params, "kind"));
	const json_t *ex = json_object_get(params, "exit");
	const char *type;
	unsigned vcpu;

	(void)client;
	if (m->done || !kind || strcmp(kind, "exit") != 0 || !ex)
		return;
	vcpu = (unsigned)json_integer_value(json_object_get(params, "vcpu"));
	type = json_string_value(json_object_get(ex, "type"));
	if (type && strcmp(type, "mmio") == 0) {
		on_mmio(m, vcpu, ex);
	} else if (type && strcmp(type, "io") == 0 && u64_field(ex, "port") == CONSOLE_PORT) {
		putchar((int)u64_field(ex, "data"));
		complete_and_run(m, vcpu, false, 0);
	} else if (type && strcmp(type, "io") == 0 && u64_field(ex, "port") == DONE_PORT) {
		m->result = (int)u64_field(ex, "data");
		m->done = true;
	} else {
		char *s = json_dumps(ex, JSON_COMPACT);

		fprintf(stderr, "device-model: unexpected exit %s\n", s ? s : "?");
		free(s);
		m->result = -1;
		m->done = true;
	}
}

static json_t *read_guest(const char *path)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const size_t max = RAM_SIZE - LOAD_GPA;
	unsigned char *buf = malloc(max);
	FILE *f = fopen(path, "rbe");
	size_t n, o = 0;
	char *text;
	json_t *s;

	if (!buf)
		die("out of memory");
	if (!f)
		die("%s: %s", path, strerror(errno));
	n = fread(buf, 1, max, f);
	fclose(f);
	if (n == 0)
		die("%s: empty", path);
	text = malloc((n + 2) / 3 * 4 + 1);
	if (!text)
		die("out of memory");
	for (size_t i = 0; i < n; i += 3) {
		uint32_t w = (uint32_t)buf[i] << 16;

		if (i + 1 < n)
			w |= (uint32_t)buf[i + 1] << 8;
		if (i + 2 < n)
			w |= buf[i + 2];
		text[o++] = b64[w >> 18 & 63];
		text[o++] = b64[w >> 12 & 63];
		text[o++] = i + 1 < n ? b64[w >> 6 & 63] : '=';
		text[o++] = i + 2 < n ? b64[w & 63] : '=';
	}
	text[o] = '\0';
	s = json_string(text);
	free(text);
	free(buf);
	return s;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct model m = { .dev = { .irqfd = -1 }, .result = -1 };
	const char *socket_path = NULL, *needs;
	struct mshvd_error err = { 0 };
	json_t *info, *res, *image;
	double deadline;
	int c, r, fd = -1;

	while ((c = getopt_long(argc, argv, "s:h", options, NULL)) != -1) {
		switch (c) {
		case 's':
			socket_path = optarg;
			break;
		case 'h':
			printf("Usage: %s [-s SOCKET] GUEST.bin\n", argv[0]);
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "Usage: %s [-s SOCKET] GUEST.bin\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	image = read_guest(argv[optind]);

	r = mshvd_client_connect(socket_path, &m.client);
	if (r < 0)
		die("connect %s: %s", socket_path ? socket_path : mshvd_client_default_socket(),
		    strerror(-r));

	/* Interrupt delivery needs the backend's in-kernel interrupt controller: the create-vm
	 * option naming it differs ("irqchip" on kvm, "lapic" on mshv); daemon-info says which. */
	info = call(&m, "daemon-info", NULL);
	needs = json_string_value(json_object_get(json_object_get(info, "eventfds"), "needs"));
	if (!needs || !json_is_true(json_object_get(json_object_get(info, "eventfds"), "irqfd")))
		die("this daemon has no irqfd support");
	res = call(&m, "create-vm", json_pack("{s:s, s:b, s:b}", "name", "device-model",
					      "autodestroy", 1, needs, 1));
	m.vm = (unsigned)json_integer_value(json_object_get(res, "vm"));
	json_decref(res);
	json_decref(info);
	printf("device-model: vm %u\n", m.vm);

	call_void(&m, "map-memory", json_pack("{s:i, s:i, s:i}", "vm", m.vm, "gpa", 0,
					      "size", RAM_SIZE));
	call_void(&m, "write-memory", json_pack("{s:i, s:i, s:o}", "vm", m.vm, "gpa", LOAD_GPA,
						"data", image));
	call_void(&m, "create-vcpu", json_pack("{s:i, s:i}", "vm", m.vm, "index", 0));
	call_void(&m, "set-regs", json_pack("{s:i, s:i, s:{s:i, s:i, s:{s:i, s:i}}}", "vm", m.vm,
					    "vcpu", 0, "regs", "rip", LOAD_GPA, "rflags", 2,
					    "cs", "base", 0, "selector", 0));

	/* The device's interrupt: GSI DEV_GSI -> MSI vector DEV_VECTOR, and its irqfd, passed. */
	call_void(&m, "set-msi-routing",
		  json_pack("{s:i, s:[{s:i, s:I, s:i, s:i}]}", "vm", m.vm, "entries", "gsi",
			    DEV_GSI, "address_lo", (json_int_t)MSI_ADDR, "address_hi", 0, "data",
			    DEV_VECTOR));
	r = mshvd_client_call_fd(m.client, "add-irqfd",
				 json_pack("{s:i, s:i, s:b}", "vm", m.vm, "gsi", DEV_GSI,
					   "pass_fd", 1),
				 CALL_TIMEOUT_MS, NULL, &fd, &err);
	if (r < 0)
		die("add-irqfd: %s (%s)", r == -MSHVD_CLIENT_EREMOTE ? err.message : strerror(-r),
		    err.name);
	if (fd < 0)
		die("add-irqfd: no descriptor was passed");
	m.dev.irqfd = fd;

	/* Subscribe before the first run so no exit can be missed. */
	mshvd_client_set_event_handler(m.client, on_event, &m);
	r = mshvd_client_subscribe(m.client, json_pack("{s:i, s:[s]}", "vm", m.vm, "kinds", "exit"),
				   CALL_TIMEOUT_MS, NULL, &err);
	if (r < 0)
		die("subscribe: %s", r == -MSHVD_CLIENT_EREMOTE ? err.message : strerror(-r));
	call_void(&m, "run", json_pack("{s:i, s:i, s:s}", "vm", m.vm, "vcpu", 0, "mode", "step"));

	/* The event loop: a caller with other descriptors would poll them here too. */
	deadline = now_s() + RUN_TIMEOUT_S;
	while (!m.done) {
		struct pollfd p = { .fd = mshvd_client_fd(m.client), .events = POLLIN };

		if (now_s() > deadline)
			die("the guest did not finish in %d s", RUN_TIMEOUT_S);
		if (!mshvd_client_has_events(m.client) && poll(&p, 1, 1000) == 0)
			continue;
		r = mshvd_client_dispatch(m.client, 0);
		if (r < 0 && r != -EINTR)
			die("events: %s", strerror(-r));
	}

	printf("device-model: %u reads, %u writes, %u interrupts raised; guest reported %d\n",
	       m.dev.reads, m.dev.writes, m.dev.irqs, m.result);
	call_void(&m, "destroy-vm", json_pack("{s:i}", "vm", m.vm));
	close(m.dev.irqfd);
	mshvd_client_free(m.client);
	return m.result == 0 ? 0 : 1;
}
