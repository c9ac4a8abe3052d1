// SPDX-License-Identifier: MIT
/* mshvctl boot: run a flat binary in a fresh VM, set up real/protected/long mode host side. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define BOOT_EXIT_ABNORMAL	4	/* shutdown, unexpected exit, --max-time */
#define PORT_CONSOLE		0x3f8
#define PORT_DONE		0x604	/* tests/guests/guest.h: the guest's status */
#define WRITE_CHUNK		(64u << 10)

/* Hyper-V segment attribute encoding: type | S << 4 | DPL << 5 | P << 7 | L << 13 | DB << 14 |
 * G << 15 (the daemon's get-regs/set-regs use it on both backends). */
#define SEG_CODE32		0xc09b
#define SEG_CODE64		0xa09b
#define SEG_DATA		0xc093
#define SEG_CODE16		0x009b
#define SEG_TSS_BUSY		0x008b

/* GDT descriptors: null, 0x08 code, 0x10 data. */
#define GDT_CODE32		0x00cf9a000000ffffull
#define GDT_CODE64		0x00af9a000000ffffull
#define GDT_DATA		0x00cf92000000ffffull
#define SEL_CODE		0x08
#define SEL_DATA		0x10

/* Host-side boot structures at the top of RAM: GDT, PML4, PDPT and four PDs (4 GiB identity
 * mapped with 2 MiB pages, so MMIO holes below 4 GiB are reachable too). */
#define BOOT_AREA_SIZE		0x7000

enum boot_mode { MODE_REAL, MODE_PROTECTED, MODE_LONG };

struct boot {
	struct ctl *ctl;
	struct ctl_pipe pipe;	/* the set-up requests, sent without waiting */
	json_t *vm;		/* the VM id (owned) */
	int status;		/* guest status from PORT_DONE, -1 if none */
	bool console_nl;	/* last console byte was a newline */
	bool console_any;
};

static void boot_write(struct boot *b, uint64_t gpa, const void *data, size_t len)
{
	if (len)
		ctl_write_memory(b->ctl, &b->pipe, b->vm, gpa, data, len, WRITE_CHUNK);
}

static json_t *segment(uint64_t base, uint64_t limit, unsigned selector, unsigned attributes)
{
	return json_pack("{s:o, s:I, s:I, s:I}", "base", json_hex(base), "limit", (json_int_t)limit,
			 "selector", (json_int_t)selector, "attributes", (json_int_t)attributes);
}

/* Write the GDT (and page tables for long mode) at area; return the set-regs object (NEW). */
static json_t *setup_mode(struct boot *b, enum boot_mode mode, uint64_t area)
{
	static const char *const data_segs[] = { "ds", "es", "fs", "gs", "ss", NULL };
	json_t *regs = json_object();
	uint64_t gdt[3] = { 0, mode == MODE_LONG ? GDT_CODE64 : GDT_CODE32, GDT_DATA };

	if (mode == MODE_REAL) {
		/* Guests are entered with CS.base = CS.selector = 0 (tests/guests/guest.h), and
		 * with RAX = RBX = 2 like the mshv-ioctls example, so `mshvctl boot example.bin`
		 * reproduces it (--reg overrides). */
		json_object_set_new(regs, "cs", segment(0, 0xffff, 0, SEG_CODE16));
		json_object_set_new(regs, "rax", json_hex(2));
		json_object_set_new(regs, "rbx", json_hex(2));
		return regs;
	}
	boot_write(b, area, gdt, sizeof(gdt));
	json_object_set_new(regs, "gdtr", json_pack("{s:o, s:I}", "base", json_hex(area), "limit",
						    (json_int_t)sizeof(gdt) - 1));
	json_object_set_new(regs, "cs", segment(0, 0xffffffff, SEL_CODE,
						 mode == MODE_LONG ? SEG_CODE64 : SEG_CODE32));
	for (const char *const *s = data_segs; *s; s++)
		json_object_set_new(regs, *s, segment(0, 0xffffffff, SEL_DATA, SEG_DATA));
	/* VM entry wants a busy TSS in TR outside real mode. */
	json_object_set_new(regs, "tr", segment(0, 0xffff, 0, SEG_TSS_BUSY));
	json_object_set_new(regs, "rsp", json_hex(area));
	if (mode == MODE_PROTECTED) {
		json_object_set_new(regs, "cr0", json_hex(0x11));	/* PE | ET */
		return regs;
	}
	{
		/* PML4 at area+0x1000, PDPT at +0x2000, PD0..3 at +0x3000..+0x6000. */
		uint64_t *pt = calloc(6, 4096 / sizeof(uint64_t) * sizeof(uint64_t));

		if (!pt) {
			ctl_err("out of memory");
			exit(CTL_EXIT_DAEMON);
		}
		pt[0] = (area + 0x2000) | 3;
		for (unsigned i = 0; i < 4; i++) {
			pt[512 + i] = (area + 0x3000 + i * 0x1000) | 3;
			for (unsigned j = 0; j < 512; j++)
				pt[1024 + i * 512 + j] = ((uint64_t)(i * 512 + j) << 21) | 0x83;
		}
		boot_write(b, area + 0x1000, pt, 6 * 4096);
		free(pt);
	}
	json_object_set_new(regs, "cr3", json_hex(area + 0x1000));
	json_object_set_new(regs, "cr4", json_hex(0x20));			/* PAE */
	json_object_set_new(regs, "cr0", json_hex(0x80000011));		/* PG | ET | PE */
	json_object_set_new(regs, "efer", json_hex(0x500));			/* LMA | LME */
	return regs;
}

static const json_t *exit_of(const json_t *obj)
{
	const json_t *ex = json_object_get(obj, "exit");

	return json_is_object(ex) ? ex : obj;
}

/*
 * Handle one exit (event params or run --wait result, BORROWED).  Returns 1 to keep going,
 * 0 when the guest is done (*ret_code set), and for an exit that parks and needs a run again
 * in stream mode, 2.
 */
static int handle_exit(struct boot *b, const json_t *obj, int *ret_code)
{
	const json_t *ex = exit_of(obj);
	const char *type = json_string_value(json_object_get(ex, "type"));
	const char *dir = json_string_value(json_object_get(ex, "direction"));
	uint64_t port = 0, data = 0;
	char line[1024];

	if (b->ctl->json)
		ctl_print_json(obj);
	if (!type)
		type = "?";
	if (strcmp(type, "io") == 0 && dir && strcmp(dir, "out") == 0) {
		mshvd_json_u64(json_object_get(ex, "port"), &port);
		mshvd_json_u64(json_object_get(ex, "data"), &data);
		if (port == PORT_CONSOLE) {
			if ((data & 0xff) && !b->ctl->json) {
				putchar((int)(data & 0xff));
				fflush(stdout);
				b->console_nl = (data & 0xff) == '\n';
				b->console_any = true;
			}
		} else if (port == PORT_DONE) {
			b->status = (int)(data > 255 ? 255 : data);
		} else if (b->ctl->verbose) {
			ctl_format_exit(ex, line, sizeof(line));
			fprintf(stderr, "%s\n", line);
		}
		return 1;
	}
	if (strcmp(type, "io") == 0 || strcmp(type, "mmio") == 0) {
		if (b->ctl->verbose) {
			ctl_format_exit(ex, line, sizeof(line));
			fprintf(stderr, "%s\n", line);
		}
		return 1;
	}
	if (strcmp(type, "halt") == 0) {
		*ret_code = b->status >= 0 ? b->status : 0;
		return 0;
	}
	ctl_format_exit(ex, line, sizeof(line));
	if (strcmp(type, "shutdown") == 0) {
		if (b->status >= 0) {
			*ret_code = b->status;
			return 0;
		}
		ctl_err("boot: guest shut down (%s)", line);
	} else {
		ctl_err("boot: unexpected exit: %s", line);
	}
	*ret_code = BOOT_EXIT_ABNORMAL;
	return 0;
}

static json_t *run_params(struct boot *b, bool stream)
{
	json_t *p = json_pack("{s:O, s:i}", "vm", b->vm, "vcpu", 0);

	if (stream) {
		json_object_set_new(p, "mode", json_string("stream"));
		/* Port and MMIO reads return all ones instead of parking. */
		json_object_set_new(p, "default_read", json_hex(0xffffffff));
	} else {
		json_object_set_new(p, "wait", json_true());
	}
	return p;
}

static int remaining_ms(int64_t deadline)
{
	struct timespec ts;
	int64_t now;

	if (deadline < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return now >= deadline ? 0 : (int)(deadline - now);
}

static int run_stream(struct boot *b, int64_t deadline)
{
	struct mshvd_client *c = ctl_client(b->ctl);
	json_t *ev;
	int code = 0, k;

	/* The guest starts only once the whole set-up succeeded; the subscription goes with the
	 * set-up's round trip. */
	ctl_pipe_send(b->ctl, &b->pipe, "subscribe",
		      json_pack("{s:O, s:[s]}", "vm", b->vm, "kinds", "exit"));
	ctl_pipe_drain(b->ctl, &b->pipe);
	json_decref(ctl_call(b->ctl, "run", run_params(b, true)));
	for (;;) {
		k = mshvd_client_next_event(c, remaining_ms(deadline), &ev);
		if (k == -ETIMEDOUT) {
			ctl_err("boot: guest still running after --max-time");
			return BOOT_EXIT_ABNORMAL;
		}
		if (k < 0)
			ctl_fail(b->ctl, "boot", k);
		k = handle_exit(b, ev, &code);
		if (k == 1 && json_is_object(json_object_get(ev, "exit"))) {
			const json_t *ex = exit_of(ev);
			const char *dir = json_string_value(json_object_get(ex, "direction"));

			/* Reads park even in stream mode when they have no default: resume. */
			if (dir && strcmp(dir, "read") == 0 && !json_object_get(ex, "data")) {
				json_decref(ctl_call(b->ctl, "run", run_params(b, true)));
			} else if (dir && strcmp(dir, "in") == 0) {
				json_decref(ctl_call(b->ctl, "run", run_params(b, true)));
			}
		}
		json_decref(ev);
		if (k == 0)
			return code;
	}
}

static int run_step(struct boot *b, int64_t deadline)
{
	struct mshvd_client *c = ctl_client(b->ctl);
	struct mshvd_error error = { 0 };
	json_t *result;
	int code = 0, k;

	ctl_pipe_drain(b->ctl, &b->pipe);
	for (;;) {
		k = mshvd_client_call(c, "run", run_params(b, false), remaining_ms(deadline),
				      &result, &error);
		if (k == -ETIMEDOUT) {
			ctl_err("boot: guest still running after --max-time");
			return BOOT_EXIT_ABNORMAL;
		}
		if (k == -MSHVD_CLIENT_EREMOTE)
			ctl_fail_remote("run", &error);
		if (k < 0)
			ctl_fail(b->ctl, "run", k);
		k = handle_exit(b, result, &code);
		json_decref(result);
		if (k == 0)
			return code;
	}
}

int cmd_boot(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "gpa", required_argument, NULL, 'g' },
		{ "entry", required_argument, NULL, 'e' },
		{ "mode", required_argument, NULL, 'm' },
		{ "mem", required_argument, NULL, 'M' },
		{ "reg", required_argument, NULL, 'r' },
		{ "step", no_argument, NULL, 's' },
		{ "max-time", required_argument, NULL, 't' },
		{ 0 },
	};
	struct boot b = { .ctl = ctl, .status = -1 };
	uint64_t gpa = 0x1000, entry = 0, mem = 0xc0000, area = 0, max_time = 0;
	bool have_entry = false, step = false;
	enum boot_mode mode = MODE_REAL;
	json_t *result, *regs, *params, *current = NULL, *names = json_array();
	char **reg_args = calloc((size_t)argc + 1, sizeof(char *));
	int nregs = 0, c, code;
	int64_t deadline = -1;
	uint8_t *image;
	struct stat st;
	ssize_t n;
	int fd;

	while ((c = ctl_getopt(ctl, argc, argv, "", opts)) != -1) {
		switch (c) {
		case 'g':
			gpa = ctl_arg_u64(ctl, "--gpa", optarg);
			break;
		case 'e':
			entry = ctl_arg_u64(ctl, "--entry", optarg);
			have_entry = true;
			break;
		case 'm':
			if (strcmp(optarg, "real") == 0)
				mode = MODE_REAL;
			else if (strcmp(optarg, "protected") == 0)
				mode = MODE_PROTECTED;
			else if (strcmp(optarg, "long") == 0)
				mode = MODE_LONG;
			else
				ctl_usage_error(ctl, "invalid --mode '%s' (real, protected or long)",
						optarg);
			break;
		case 'M':
			mem = ctl_arg_size(ctl, "--mem", optarg);
			if (mem < 0x10000 || mem % 4096)
				ctl_usage_error(ctl, "--mem must be a multiple of 4K, at least 64K");
			break;
		case 'r': {
			json_t *scratch = json_object();
			char reg[16];

			if (ctl_regs_assign(scratch, NULL, optarg) < 0)
				ctl_usage_error(ctl, "invalid --reg '%s' (NAME=VALUE)", optarg);
			json_decref(scratch);
			if (ctl_regs_needs_current(optarg, reg, sizeof(reg)))
				json_array_append_new(names, json_string(reg));
			reg_args[nregs++] = optarg;
			break;
		}
		case 's':
			step = true;
			break;
		default:
			max_time = ctl_arg_u64(ctl, "--max-time", optarg);
			break;
		}
	}
	ctl_need_args(ctl, argc - optind, 1, 1);
	if (!have_entry)
		entry = gpa;

	fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ctl_err("boot: %s: %s", argv[optind], strerror(errno));
		return CTL_EXIT_DAEMON;
	}
	if (mode != MODE_REAL)
		area = (mem & ~0xfffull) - BOOT_AREA_SIZE;
	if (!S_ISREG(st.st_mode) || gpa + (uint64_t)st.st_size > (area ? area : mem)) {
		ctl_err("boot: %s does not fit below 0x%" PRIx64 " at 0x%" PRIx64 " (see --mem)",
			argv[optind], area ? area : mem, gpa);
		return CTL_EXIT_DAEMON;
	}
	image = malloc((size_t)st.st_size + 1);
	n = image ? read(fd, image, (size_t)st.st_size) : -1;
	close(fd);
	if (n != st.st_size) {
		ctl_err("boot: reading %s failed", argv[optind]);
		return CTL_EXIT_DAEMON;
	}

	result = ctl_call(ctl, "create-vm", json_pack("{s:b}", "autodestroy", 1));
	if (ctl->json)
		ctl_print_json(result);
	b.vm = json_incref(json_object_get(result, "vm"));
	json_decref(result);
	/* From here to the run, requests go out without waiting for their replies (the VM is
	 * referred to by its id, known now); the first error ends the boot as a call's would, and
	 * the run waits for them all. */
	ctl_pipe_send(ctl, &b.pipe, "map-memory",
		      json_pack("{s:O, s:i, s:I, s:[sss]}", "vm", b.vm, "gpa", 0, "size",
				(json_int_t)mem, "flags", "read", "write", "exec"));
	boot_write(&b, gpa, image, (size_t)n);
	free(image);
	ctl_pipe_send(ctl, &b.pipe, "create-vcpu",
		      json_pack("{s:O, s:i}", "vm", b.vm, "index", 0));

	regs = setup_mode(&b, mode, area);
	json_object_set_new(regs, "rip", json_hex(entry));
	json_object_set_new(regs, "rflags", json_hex(0x2));
	if (json_array_size(names)) {
		ctl_pipe_drain(ctl, &b.pipe);
		params = json_pack("{s:O, s:i, s:O}", "vm", b.vm, "vcpu", 0, "names", names);
		current = ctl_call(ctl, "get-regs", params);
	}
	json_decref(names);
	for (int i = 0; i < nregs; i++)
		if (ctl_regs_assign(regs, json_object_get(current, "regs"), reg_args[i]) < 0)
			ctl_usage_error(ctl, "invalid --reg '%s'", reg_args[i]);
	json_decref(current);
	free(reg_args);
	ctl_pipe_send(ctl, &b.pipe, "set-regs",
		      json_pack("{s:O, s:i, s:o}", "vm", b.vm, "vcpu", 0, "regs", regs));

	if (max_time) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		deadline = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + (int64_t)max_time;
	}
	code = step ? run_step(&b, deadline) : run_stream(&b, deadline);
	if (b.console_any && !b.console_nl && isatty(STDOUT_FILENO))
		putchar('\n');
	/* The VM is autodestroy: closing the connection (at exit) tears it down. */
	json_decref(b.vm);
	return code;
}
