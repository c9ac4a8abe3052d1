// SPDX-License-Identifier: MIT
/* mshvctl snapshot commands: snapshot, restore, clone, snapshots, snapshot-destroy,
 * snapshot-save, snapshot-load. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

static void print_result(struct ctl *ctl, json_t *result, bool human)
{
	if (ctl->json)
		ctl_print_json(result);
	else if (human)
		ctl_print_human(result);
}

int cmd_snapshot(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "autodestroy", no_argument, NULL, 'a' },
		{ "warm", no_argument, NULL, 'w' },
		{ 0 },
	};
	json_t *params = json_object(), *result;
	int c;

	while ((c = ctl_getopt(ctl, argc, argv, "", opts)) != -1) {
		if (c == 'n')
			json_object_set_new(params, "name", json_string(optarg));
		else if (c == 'w')
			json_object_set_new(params, "warm", json_true());
		else
			json_object_set_new(params, "autodestroy", json_true());
	}
	ctl_need_args(ctl, argc - optind, 1, 1);
	json_object_set_new(params, "vm", ctl_vm_json(argv[optind]));
	result = ctl_call(ctl, "snapshot-vm", params);
	if (ctl->json) {
		ctl_print_json(result);
	} else {
		char size[32];
		uint64_t bytes = 0;

		json_to_u64(json_object_get(result, "size"), &bytes);
		ctl_format_size(bytes, size, sizeof(size));
		printf("snapshot %" JSON_INTEGER_FORMAT " (%s) of vm %s: %s\n",
		       json_integer_value(json_object_get(result, "snapshot")),
		       json_string_value(json_object_get(result, "name")) ?: "?", argv[optind],
		       size);
	}
	json_decref(result);
	return CTL_EXIT_OK;
}

int cmd_restore(struct ctl *ctl, int argc, char **argv)
{
	json_t *result;

	while (ctl_getopt(ctl, argc, argv, "", NULL) != -1)
		;
	ctl_need_args(ctl, argc - optind, 2, 2);
	result = ctl_call(ctl, "restore-vm", json_pack("{s:o, s:o}", "vm",
						       ctl_vm_json(argv[optind]), "snapshot",
						       ctl_vm_json(argv[optind + 1])));
	print_result(ctl, result, false);
	json_decref(result);
	return CTL_EXIT_OK;
}

int cmd_clone(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "autodestroy", no_argument, NULL, 'a' },
		{ 0 },
	};
	json_t *params = json_object(), *result;

	while (ctl_getopt(ctl, argc, argv, "", opts) != -1)
		json_object_set_new(params, "autodestroy", json_true());
	ctl_need_args(ctl, argc - optind, 1, 2);
	json_object_set_new(params, "snapshot", ctl_vm_json(argv[optind]));
	if (optind + 1 < argc)
		json_object_set_new(params, "name", json_string(argv[optind + 1]));
	result = ctl_call(ctl, "clone-vm", params);
	if (ctl->json)
		ctl_print_json(result);
	else
		printf("created vm %" JSON_INTEGER_FORMAT " (%s)\n",
		       json_integer_value(json_object_get(result, "vm")),
		       json_string_value(json_object_get(result, "name")) ?: "?");
	json_decref(result);
	return CTL_EXIT_OK;
}

/* The table's view of list-snapshots: the vCPU count and the creation time in UTC (the
 * reply's per-vCPU objects and microseconds stay in --json). */
static json_t *snapshots_human(const json_t *list)
{
	json_t *rows = json_deep_copy(list), *row;
	size_t i;

	json_array_foreach(rows, i, row) {
		json_t *created = json_object_get(row, "created");
		char when[32];
		struct tm tm;
		time_t t;

		json_object_set_new(row, "vcpus",
				    json_integer((json_int_t)json_array_size(
					    json_object_get(row, "vcpus"))));
		if (!json_is_integer(created))
			continue;
		t = (time_t)(json_integer_value(created) / 1000000);
		if (gmtime_r(&t, &tm) && strftime(when, sizeof(when), "%F %T", &tm))
			json_object_set_new(row, "created", json_string(when));
	}
	return rows;
}

int cmd_snapshots(struct ctl *ctl, int argc, char **argv)
{
	json_t *result, *list, *rows;

	while (ctl_getopt(ctl, argc, argv, "", NULL) != -1)
		;
	ctl_need_args(ctl, argc - optind, 0, 0);
	result = ctl_call(ctl, "list-snapshots", NULL);
	list = json_object_get(result, "snapshots");
	if (ctl->json) {
		ctl_print_json(result);
	} else if (json_array_size(list) == 0) {
		printf("no snapshots\n");
	} else {
		rows = snapshots_human(list);
		ctl_print_human(rows);
		json_decref(rows);
	}
	json_decref(result);
	return CTL_EXIT_OK;
}

int cmd_snapshot_destroy(struct ctl *ctl, int argc, char **argv)
{
	json_t *result;

	while (ctl_getopt(ctl, argc, argv, "", NULL) != -1)
		;
	ctl_need_args(ctl, argc - optind, 1, 1);
	result = ctl_call(ctl, "destroy-snapshot",
			  json_pack("{s:o}", "snapshot", ctl_vm_json(argv[optind])));
	print_result(ctl, result, false);
	json_decref(result);
	return CTL_EXIT_OK;
}

/* The daemon never opens a path: mshvctl opens FILE with the caller's rights and passes it. */
int cmd_snapshot_save(struct ctl *ctl, int argc, char **argv)
{
	json_t *result;
	int fd;

	while (ctl_getopt(ctl, argc, argv, "", NULL) != -1)
		;
	ctl_need_args(ctl, argc - optind, 2, 2);
	fd = open(argv[optind + 1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ctl_err("%s: %s", argv[optind + 1], strerror(errno));
		return CTL_EXIT_DAEMON;
	}
	result = ctl_call_with_fd(ctl, "save-snapshot",
				  json_pack("{s:o}", "snapshot", ctl_vm_json(argv[optind])), fd);
	close(fd);
	if (ctl->json) {
		ctl_print_json(result);
	} else {
		uint64_t bytes = 0;
		char size[32];

		json_to_u64(json_object_get(result, "bytes"), &bytes);
		ctl_format_size(bytes, size, sizeof(size));
		printf("saved snapshot %s to %s (%s)\n", argv[optind], argv[optind + 1], size);
	}
	json_decref(result);
	return CTL_EXIT_OK;
}

int cmd_snapshot_load(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "autodestroy", no_argument, NULL, 'a' },
		{ "warm", no_argument, NULL, 'w' },
		{ 0 },
	};
	json_t *params = json_object(), *result;
	int c, fd;

	while ((c = ctl_getopt(ctl, argc, argv, "", opts)) != -1)
		json_object_set_new(params, c == 'w' ? "warm" : "autodestroy", json_true());
	ctl_need_args(ctl, argc - optind, 1, 2);
	if (optind + 1 < argc)
		json_object_set_new(params, "name", json_string(argv[optind + 1]));
	fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ctl_err("%s: %s", argv[optind], strerror(errno));
		json_decref(params);
		return CTL_EXIT_DAEMON;
	}
	result = ctl_call_with_fd(ctl, "load-snapshot", params, fd);
	close(fd);
	if (ctl->json)
		ctl_print_json(result);
	else
		printf("loaded snapshot %" JSON_INTEGER_FORMAT " (%s) from %s\n",
		       json_integer_value(json_object_get(result, "snapshot")),
		       json_string_value(json_object_get(result, "name")) ?: "?", argv[optind]);
	json_decref(result);
	return CTL_EXIT_OK;
}
