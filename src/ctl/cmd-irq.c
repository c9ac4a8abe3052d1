// SPDX-License-Identifier: MIT
/* mshvctl eventfd and interrupt commands: ioeventfd, irqfd, msi-routing, interrupt. */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* Print an {id} result: the id alone for humans. */
static void print_id_result(struct ctl *ctl, json_t *result, const char *what)
{
	json_t *id = json_object_get(result, "id");

	if (ctl->json)
		ctl_print_json(result);
	else if (json_is_integer(id))
		printf("%s %" JSON_INTEGER_FORMAT "\n", what, json_integer_value(id));
	else
		ctl_print_human(result);
}

static int vm_id_call(struct ctl *ctl, int argc, char **argv, const char *method,
		      const char *key)
{
	json_t *result;

	while (ctl_getopt(ctl, argc, argv, "", NULL) != -1)
		;
	ctl_need_args(ctl, argc - optind, 2, 2);
	result = ctl_call(ctl, method,
			  json_pack("{s:o, s:I}", "vm", ctl_vm_json(argv[optind]), key,
				    (json_int_t)ctl_arg_u64(ctl, key, argv[optind + 1])));
	if (ctl->json)
		ctl_print_json(result);
	json_decref(result);
	return CTL_EXIT_OK;
}

int cmd_ioeventfd_add(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "space", required_argument, NULL, 's' },
		{ "len", required_argument, NULL, 'l' },
		{ "datamatch", required_argument, NULL, 'd' },
		{ 0 },
	};
	const char *space = "mmio";
	uint64_t len = 4;
	json_t *params, *datamatch = NULL, *result;
	int c;

	while ((c = ctl_getopt(ctl, argc, argv, "", opts)) != -1) {
		if (c == 's') {
			if (strcmp(optarg, "mmio") && strcmp(optarg, "pio"))
				ctl_usage_error(ctl, "invalid --space '%s' (mmio or pio)", optarg);
			space = optarg;
		} else if (c == 'l') {
			len = ctl_arg_u64(ctl, "--len", optarg);
			if (len != 0 && len != 1 && len != 2 && len != 4 && len != 8)
				ctl_usage_error(ctl, "--len must be 0, 1, 2, 4 or 8");
		} else {
			json_decref(datamatch);
			datamatch = json_hex(ctl_arg_u64(ctl, "--datamatch", optarg));
		}
	}
	ctl_need_args(ctl, argc - optind, 2, 2);
	params = json_pack("{s:o, s:o, s:s, s:I}", "vm", ctl_vm_json(argv[optind]), "addr",
			   json_hex(ctl_arg_u64(ctl, "ADDR", argv[optind + 1])), "space", space,
			   "len", (json_int_t)len);
	if (datamatch)
		json_object_set_new(params, "datamatch", datamatch);
	result = ctl_call(ctl, "add-ioeventfd", params);
	print_id_result(ctl, result, "ioeventfd");
	json_decref(result);
	return CTL_EXIT_OK;
}

int cmd_ioeventfd_remove(struct ctl *ctl, int argc, char **argv)
{
	return vm_id_call(ctl, argc, argv, "remove-ioeventfd", "id");
}

int cmd_irqfd_add(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "resample", no_argument, NULL, 'r' },
		{ 0 },
	};
	bool resample = false;
	json_t *params, *result;

	while (ctl_getopt(ctl, argc, argv, "", opts) != -1)
		resample = true;
	ctl_need_args(ctl, argc - optind, 2, 2);
	params = json_pack("{s:o, s:I}", "vm", ctl_vm_json(argv[optind]), "gsi",
			   (json_int_t)ctl_arg_u64(ctl, "GSI", argv[optind + 1]));
	if (resample)
		json_object_set_new(params, "resample", json_true());
	result = ctl_call(ctl, "add-irqfd", params);
	print_id_result(ctl, result, "irqfd");
	json_decref(result);
	return CTL_EXIT_OK;
}

int cmd_irqfd_remove(struct ctl *ctl, int argc, char **argv)
{
	return vm_id_call(ctl, argc, argv, "remove-irqfd", "id");
}

int cmd_irqfd_trigger(struct ctl *ctl, int argc, char **argv)
{
	return vm_id_call(ctl, argc, argv, "trigger-irq", "gsi");
}

int cmd_msi_routing(struct ctl *ctl, int argc, char **argv)
{
	json_t *entries = json_array(), *result;

	while (ctl_getopt(ctl, argc, argv, "", NULL) != -1)
		;
	ctl_need_args(ctl, argc - optind, 1, -1);
	for (int i = optind + 1; i < argc; i++) {
		char *copy = strdup(argv[i]), *save = NULL, *f[4];
		uint64_t v[4];
		int n = 0;

		for (char *t = strtok_r(copy, ":", &save); t && n < 4; t = strtok_r(NULL, ":", &save))
			f[n++] = t;
		if (n != 4 || strtok_r(NULL, ":", &save))
			ctl_usage_error(ctl, "invalid route '%s' (GSI:ADDR_LO:ADDR_HI:DATA)",
					argv[i]);
		for (int k = 0; k < 4; k++)
			if (parse_u64(f[k], &v[k]) < 0 || v[k] > UINT32_MAX)
				ctl_usage_error(ctl, "invalid number '%s' in '%s'", f[k], argv[i]);
		json_array_append_new(entries, json_pack("{s:I, s:o, s:o, s:o}", "gsi",
							 (json_int_t)v[0], "address_lo",
							 json_hex(v[1]), "address_hi",
							 json_hex(v[2]), "data", json_hex(v[3])));
		free(copy);
	}
	result = ctl_call(ctl, "set-msi-routing",
			  json_pack("{s:o, s:o}", "vm", ctl_vm_json(argv[optind]), "entries",
				    entries));
	if (ctl->json)
		ctl_print_json(result);
	json_decref(result);
	return CTL_EXIT_OK;
}

int cmd_interrupt(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "apic-id", required_argument, NULL, 'a' },
		{ "type", required_argument, NULL, 't' },
		{ "level", no_argument, NULL, 'l' },
		{ "logical", no_argument, NULL, 'g' },
		{ 0 },
	};
	static const char *const types[] = { "fixed", "lowest", "nmi", "init", "sipi", "extint",
					     NULL };
	json_t *params = json_object(), *result;
	int c;

	while ((c = ctl_getopt(ctl, argc, argv, "", opts)) != -1) {
		switch (c) {
		case 'a':
			json_object_set_new(params, "apic_id",
					    json_integer((json_int_t)ctl_arg_u64(ctl, "--apic-id",
										 optarg)));
			break;
		case 't': {
			bool ok = false;

			for (const char *const *t = types; *t; t++)
				ok |= strcmp(*t, optarg) == 0;
			if (!ok)
				ctl_usage_error(ctl, "invalid --type '%s'", optarg);
			json_object_set_new(params, "type", json_string(optarg));
			break;
		}
		case 'l':
			json_object_set_new(params, "level", json_true());
			break;
		default:
			json_object_set_new(params, "logical", json_true());
			break;
		}
	}
	ctl_need_args(ctl, argc - optind, 2, 2);
	json_object_set_new(params, "vm", ctl_vm_json(argv[optind]));
	json_object_set_new(params, "vector",
			    json_integer((json_int_t)ctl_arg_u64(ctl, "VECTOR", argv[optind + 1])));
	result = ctl_call(ctl, "assert-interrupt", params);
	if (ctl->json)
		ctl_print_json(result);
	json_decref(result);
	return CTL_EXIT_OK;
}
