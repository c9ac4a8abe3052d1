// SPDX-License-Identifier: MIT
/* mshvctl vCPU commands: vcpu create, regs get/set, run, complete, stop, translate. */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static json_t *vcpu_params(struct ctl *ctl, char **argv)
{
	uint64_t index = ctl_arg_u64(ctl, "VCPU", argv[1]);

	if (index > INT32_MAX)
		ctl_usage_error(ctl, "invalid VCPU '%s'", argv[1]);
	return json_pack("{s:o, s:I}", "vm", ctl_vm_json(argv[0]), "vcpu", (json_int_t)index);
}

int cmd_vcpu_create(struct ctl *ctl, int argc, char **argv)
{
	json_t *params, *result;

	while (ctl_getopt(ctl, argc, argv, "", NULL) != -1)
		;
	ctl_need_args(ctl, argc - optind, 2, 2);
	params = vcpu_params(ctl, argv + optind);
	json_object_set(params, "index", json_object_get(params, "vcpu"));
	json_object_del(params, "vcpu");
	result = ctl_call(ctl, "create-vcpu", params);
	if (ctl->json)
		ctl_print_json(result);
	json_decref(result);
	return CTL_EXIT_OK;
}

static void print_reg_value(const char *name, const json_t *v)
{
	uint64_t n;

	if (mshvd_json_u64(v, &n) == 0)
		printf("%-6s 0x%016" PRIx64, name, n);
	else
		printf("%-6s %s", name, json_string_value(v) ?: "?");
}

/* Registers in a fixed, familiar order; anything else the daemon sends comes after. */
static void print_regs(const json_t *regs)
{
	static const char *const gprs[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
		"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags", NULL };
	static const char *const segs[] = { "cs", "ds", "es", "fs", "gs", "ss", "tr", "ldtr",
		"gdtr", "idtr", NULL };
	static const char *const ctrl[] = { "cr0", "cr2", "cr3", "cr4", "cr8", "efer",
		"apic_base", "dr0", "dr1", "dr2", "dr3", "dr6", "dr7", NULL };
	const char *const *groups[] = { gprs, ctrl };
	const char *key;
	json_t *v;
	int col = 0;

	for (const char *const *g = gprs; *g; g++) {
		if (!(v = json_object_get(regs, *g)))
			continue;
		print_reg_value(*g, v);
		printf(++col % 3 ? "   " : "\n");
	}
	if (col % 3)
		putchar('\n');
	for (const char *const *s = segs; *s; s++) {
		uint64_t base = 0, limit = 0, sel = 0, attr = 0;

		if (!json_is_object(v = json_object_get(regs, *s)))
			continue;
		mshvd_json_u64(json_object_get(v, "base"), &base);
		mshvd_json_u64(json_object_get(v, "limit"), &limit);
		printf("%-6s base 0x%016" PRIx64 " limit 0x%08" PRIx64, *s, base, limit);
		if (json_object_get(v, "selector")) {
			mshvd_json_u64(json_object_get(v, "selector"), &sel);
			mshvd_json_u64(json_object_get(v, "attributes"), &attr);
			printf(" selector 0x%04" PRIx64 " attributes 0x%04" PRIx64, sel, attr);
		}
		putchar('\n');
	}
	col = 0;
	for (const char *const *c = ctrl; *c; c++) {
		if (!(v = json_object_get(regs, *c)))
			continue;
		print_reg_value(*c, v);
		printf(++col % 3 ? "   " : "\n");
	}
	json_object_foreach((json_t *)regs, key, v) {
		bool known = false;

		for (size_t g = 0; g < 2; g++)
			for (const char *const *k = groups[g]; *k; k++)
				known |= strcmp(*k, key) == 0;
		for (const char *const *k = segs; *k; k++)
			known |= strcmp(*k, key) == 0;
		if (known || json_is_object(v))
			continue;
		print_reg_value(key, v);
		printf(++col % 3 ? "   " : "\n");
	}
	if (col % 3)
		putchar('\n');
}

int cmd_regs_get(struct ctl *ctl, int argc, char **argv)
{
	json_t *params, *result;

	while (ctl_getopt(ctl, argc, argv, "", NULL) != -1)
		;
	ctl_need_args(ctl, argc - optind, 2, -1);
	params = vcpu_params(ctl, argv + optind);
	if (argc - optind > 2) {
		json_t *names = json_array();

		for (int i = optind + 2; i < argc; i++)
			json_array_append_new(names, json_string(argv[i]));
		json_object_set_new(params, "names", names);
	}
	result = ctl_call(ctl, "get-regs", params);
	if (ctl->json)
		ctl_print_json(result);
	else
		print_regs(json_object_get(result, "regs"));
	json_decref(result);
	return CTL_EXIT_OK;
}

/*
 * Build a "regs" object from NAME=VALUE arguments; segment sub-fields need the current values,
 * fetched once with get-regs for just those registers.  Returns a NEW reference.
 */
static json_t *build_regs(struct ctl *ctl, char **argv, int n, int *ret_bad)
{
	json_t *regs = json_object(), *names = json_array(), *current = NULL;
	char reg[16];

	*ret_bad = 0;
	/* Validate everything before talking to the daemon. */
	for (int i = 0; i < n; i++)
		if (ctl_regs_assign(regs, NULL, argv[i]) < 0)
			*ret_bad = 1;
	json_object_clear(regs);
	if (*ret_bad) {
		json_decref(names);
		return regs;
	}
	for (int i = 0; i < n; i++)
		if (ctl_regs_needs_current(argv[i], reg, sizeof(reg)))
			json_array_append_new(names, json_string(reg));
	if (json_array_size(names)) {
		json_t *params = vcpu_params(ctl, argv - 2);

		json_object_set_new(params, "names", names);
		current = ctl_call(ctl, "get-regs", params);
	} else {
		json_decref(names);
	}
	for (int i = 0; i < n; i++)
		if (ctl_regs_assign(regs, json_object_get(current, "regs"), argv[i]) < 0)
			*ret_bad = 1;
	json_decref(current);
	return regs;
}

int cmd_regs_set(struct ctl *ctl, int argc, char **argv)
{
	json_t *params, *regs, *result;
	int bad;

	while (ctl_getopt(ctl, argc, argv, "", NULL) != -1)
		;
	ctl_need_args(ctl, argc - optind, 3, -1);
	params = vcpu_params(ctl, argv + optind);
	regs = build_regs(ctl, argv + optind + 2, argc - optind - 2, &bad);
	if (bad) {
		json_decref(regs);
		json_decref(params);
		ctl_usage_error(ctl, "invalid register assignment");
	}
	json_object_set_new(params, "regs", regs);
	result = ctl_call(ctl, "set-regs", params);
	if (ctl->json)
		ctl_print_json(result);
	json_decref(result);
	return CTL_EXIT_OK;
}

/* A result that is an exit (run --wait, stop): print it as one line. */
static void print_exit_result(struct ctl *ctl, json_t *result)
{
	json_t *ex = json_object_get(result, "exit");
	char line[1024];

	if (ctl->json) {
		ctl_print_json(result);
		return;
	}
	if (!json_is_object(ex) && json_object_get(result, "type"))
		ex = result;
	if (json_is_object(ex)) {
		ctl_format_exit(ex, line, sizeof(line));
		printf("%s\n", line);
	}
}

int cmd_run(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "wait", no_argument, NULL, 'w' },
		{ "run-timeout", required_argument, NULL, 't' },
		{ "default-read", required_argument, NULL, 'd' },
		{ 0 },
	};
	json_t *params = json_object(), *result;
	int c;

	while ((c = ctl_getopt(ctl, argc, argv, "m:w", opts)) != -1) {
		if (c == 'm') {
			if (strcmp(optarg, "step") && strcmp(optarg, "stream"))
				ctl_usage_error(ctl, "invalid --mode '%s' (step or stream)", optarg);
			json_object_set_new(params, "mode", json_string(optarg));
		} else if (c == 'w') {
			json_object_set_new(params, "wait", json_true());
		} else if (c == 't') {
			json_object_set_new(params, "timeout_ms",
					    json_integer((json_int_t)ctl_arg_u64(ctl, "--run-timeout",
										 optarg)));
		} else {
			json_object_set_new(params, "default_read",
					    json_hex(ctl_arg_u64(ctl, "--default-read", optarg)));
		}
	}
	ctl_need_args(ctl, argc - optind, 2, 2);
	{
		json_t *vp = vcpu_params(ctl, argv + optind);

		json_object_update(params, vp);
		json_decref(vp);
	}
	result = ctl_call(ctl, "run", params);
	print_exit_result(ctl, result);
	json_decref(result);
	return CTL_EXIT_OK;
}

int cmd_complete(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "value", required_argument, NULL, 'v' },
		{ 0 },
	};
	json_t *params, *result, *value = NULL;
	int c;

	while ((c = ctl_getopt(ctl, argc, argv, "", opts)) != -1)
		value = json_hex(ctl_arg_u64(ctl, "--value", optarg));
	ctl_need_args(ctl, argc - optind, 2, -1);
	params = vcpu_params(ctl, argv + optind);
	if (value)
		json_object_set_new(params, "value", value);
	if (argc - optind > 2) {
		int bad;
		json_t *regs = build_regs(ctl, argv + optind + 2, argc - optind - 2, &bad);

		if (bad)
			ctl_usage_error(ctl, "invalid register assignment");
		json_object_set_new(params, "regs", regs);
	}
	result = ctl_call(ctl, "complete", params);
	if (ctl->json)
		ctl_print_json(result);
	json_decref(result);
	return CTL_EXIT_OK;
}

int cmd_stop(struct ctl *ctl, int argc, char **argv)
{
	json_t *result;

	while (ctl_getopt(ctl, argc, argv, "", NULL) != -1)
		;
	ctl_need_args(ctl, argc - optind, 2, 2);
	result = ctl_call(ctl, "stop", vcpu_params(ctl, argv + optind));
	print_exit_result(ctl, result);
	json_decref(result);
	return CTL_EXIT_OK;
}

int cmd_translate(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "access", required_argument, NULL, 'a' },
		{ 0 },
	};
	const char *access = "read";
	json_t *params, *result;
	uint64_t gva, gpa;
	int c;

	while ((c = ctl_getopt(ctl, argc, argv, "", opts)) != -1)
		access = optarg;
	ctl_need_args(ctl, argc - optind, 3, 3);
	gva = ctl_arg_u64(ctl, "GVA", argv[optind + 2]);
	params = vcpu_params(ctl, argv + optind);
	json_object_set_new(params, "gva", json_hex(gva));
	json_object_set_new(params, "access", json_string(access));
	result = ctl_call(ctl, "translate-gva", params);
	if (ctl->json)
		ctl_print_json(result);
	else if (mshvd_json_u64(json_object_get(result, "gpa"), &gpa) == 0)
		printf("gva 0x%" PRIx64 " -> gpa 0x%" PRIx64 "\n", gva, gpa);
	else
		ctl_print_human(result);
	json_decref(result);
	return CTL_EXIT_OK;
}
