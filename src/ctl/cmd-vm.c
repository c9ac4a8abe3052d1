// SPDX-License-Identifier: MIT
/* mshvctl VM commands: info, create, destroy, list, show, pause, resume. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* Print a result: unchanged with --json, else the human form (or nothing when quiet). */
static void print_result(struct ctl *ctl, json_t *result, bool human)
{
	if (ctl->json)
		ctl_print_json(result);
	else if (human)
		ctl_print_human(result);
}

/* The common shape of "VERB VM" commands with no options and a result only --json shows. */
static int simple_vm_call(struct ctl *ctl, int argc, char **argv, const char *method)
{
	json_t *result;

	while (ctl_getopt(ctl, argc, argv, "", NULL) != -1)
		;
	ctl_need_args(ctl, argc - optind, 1, 1);
	result = ctl_call(ctl, method, json_pack("{s:o}", "vm", ctl_vm_json(argv[optind])));
	print_result(ctl, result, false);
	json_decref(result);
	return CTL_EXIT_OK;
}

int cmd_info(struct ctl *ctl, int argc, char **argv)
{
	json_t *result;

	while (ctl_getopt(ctl, argc, argv, "", NULL) != -1)
		;
	ctl_need_args(ctl, argc - optind, 0, 0);
	result = ctl_call(ctl, "daemon-info", NULL);
	print_result(ctl, result, true);
	/* Said in words too: the field alone is easy to miss. */
	if (!ctl->json &&
	    !strcmp(json_string_value(json_object_get(result, "isolation")) ?: "", "none-emulated"))
		printf("note: backend %s runs guests on a software CPU inside mshvd: it is for "
		       "development and CI, NOT an isolation boundary\n",
		       json_string_value(json_object_get(result, "backend")) ?: "?");
	json_decref(result);
	return CTL_EXIT_OK;
}

int cmd_create(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "lapic", no_argument, NULL, 'l' },
		{ "x2apic", no_argument, NULL, 'x' },
		{ "irqchip", no_argument, NULL, 'i' },
		{ "nested-virtualization", no_argument, NULL, 'n' },
		{ "smt-guest", no_argument, NULL, 's' },
		{ "autodestroy", no_argument, NULL, 'a' },
		{ 0 },
	};
	json_t *params = json_object(), *result;
	int c;

	while ((c = ctl_getopt(ctl, argc, argv, "", opts)) != -1) {
		const char *key = c == 'l' ? "lapic" : c == 'x' ? "x2apic" :
				  c == 'i' ? "irqchip" : c == 'n' ? "nested_virtualization" :
				  c == 's' ? "smt_guest" : "autodestroy";

		json_object_set_new(params, key, json_true());
	}
	ctl_need_args(ctl, argc - optind, 0, 1);
	if (optind < argc)
		json_object_set_new(params, "name", json_string(argv[optind]));
	result = ctl_call(ctl, "create-vm", params);
	if (ctl->json) {
		ctl_print_json(result);
	} else {
		char vm[32];
		json_t *id = json_object_get(result, "vm");

		if (json_is_integer(id))
			snprintf(vm, sizeof(vm), "%" JSON_INTEGER_FORMAT, json_integer_value(id));
		else
			snprintf(vm, sizeof(vm), "%s", json_string_value(id) ?: "?");
		printf("created vm %s", vm);
		if (json_string_value(json_object_get(result, "name")))
			printf(" (%s)", json_string_value(json_object_get(result, "name")));
		putchar('\n');
	}
	json_decref(result);
	return CTL_EXIT_OK;
}

int cmd_destroy(struct ctl *ctl, int argc, char **argv)
{
	return simple_vm_call(ctl, argc, argv, "destroy-vm");
}

int cmd_pause(struct ctl *ctl, int argc, char **argv)
{
	return simple_vm_call(ctl, argc, argv, "pause-vm");
}

int cmd_resume(struct ctl *ctl, int argc, char **argv)
{
	return simple_vm_call(ctl, argc, argv, "resume-vm");
}

int cmd_list(struct ctl *ctl, int argc, char **argv)
{
	json_t *result, *vms;

	while (ctl_getopt(ctl, argc, argv, "", NULL) != -1)
		;
	ctl_need_args(ctl, argc - optind, 0, 0);
	result = ctl_call(ctl, "list-vms", NULL);
	vms = json_is_array(result) ? result : json_object_get(result, "vms");
	if (ctl->json)
		ctl_print_json(result);
	else if (json_is_array(vms) && json_array_size(vms) == 0)
		printf("no VMs\n");
	else
		ctl_print_human(vms ? vms : result);
	json_decref(result);
	return CTL_EXIT_OK;
}

int cmd_show(struct ctl *ctl, int argc, char **argv)
{
	json_t *result;

	while (ctl_getopt(ctl, argc, argv, "", NULL) != -1)
		;
	ctl_need_args(ctl, argc - optind, 1, 1);
	result = ctl_call(ctl, "vm-info", json_pack("{s:o}", "vm", ctl_vm_json(argv[optind])));
	print_result(ctl, result, true);
	json_decref(result);
	return CTL_EXIT_OK;
}
