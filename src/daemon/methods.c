// SPDX-License-Identifier: MIT
// The method table: one row per RPC method (name, handler, permission, params spec).

#include "config.h"

#include <string.h>

#include "rpc.h"

/* Every method the daemon answers.  Issue-specific rows live next to their handlers in
 * the methods/ files; adding a method means one row there and one pointer here. */
const struct method *const method_table[] = {
	&method_rpc_discover,
	&method_daemon_info,
	&method_create_vm,
	&method_destroy_vm,
	&method_list_vms,
	&method_vm_info,
	&method_pause_vm,
	&method_resume_vm,
	&method_map_memory,
	&method_unmap_memory,
	&method_write_memory,
	&method_read_memory,
	&method_create_vcpu,
	&method_get_regs,
	&method_set_regs,
	&method_run,
	&method_complete,
	&method_stop,
	&method_translate_gva,
	&method_subscribe,
	&method_unsubscribe,
	&method_add_ioeventfd,
	&method_remove_ioeventfd,
	&method_add_irqfd,
	&method_remove_irqfd,
	&method_trigger_irq,
	&method_set_msi_routing,
	&method_assert_interrupt,
	&method_snapshot_vm,
	&method_restore_vm,
	&method_clone_vm,
	&method_destroy_snapshot,
	&method_list_snapshots,
	&method_save_snapshot,
	&method_load_snapshot,
	NULL
};

const struct method *method_find(const char *name)
{
	for (const struct method *const *m = method_table; *m; m++)
		if (strcmp((*m)->name, name) == 0)
			return *m;
	return NULL;
}

const char *perm_name(enum perm p)
{
	switch (p) {
	case PERM_UNDECLARED:
		return "undeclared";
	case PERM_READ:
		return "read";
	case PERM_OWNER:
		return "owner";
	case PERM_ADMIN:
		return "admin";
	}
	return "?";
}

const char *param_type_name(enum param_type t)
{
	switch (t) {
	case PT_VM:
		return "vm";		/* integer id or name */
	case PT_UINT:
		return "uint32";
	case PT_U64:
		return "u64";		/* integer or "0x..." */
	case PT_BOOL:
		return "boolean";
	case PT_STRING:
		return "string";
	case PT_ENUM:
		return "enum";
	case PT_ENUMS:
		return "enum-array";
	case PT_STRINGS:
		return "string-array";
	case PT_OBJECT:
		return "object";
	case PT_ARRAY:
		return "array";
	case PT_SNAPSHOT:
		return "snapshot";	/* integer id or name */
	}
	return "?";
}

json_t *methods_to_json(void)
{
	json_t *all = json_array();

	for (const struct method *const *m = method_table; *m; m++) {
		json_t *params = json_array();

		for (const struct param_spec *p = (*m)->params; p && p->name; p++) {
			json_t *jp = json_pack("{s:s, s:s, s:b}", "name", p->name, "type",
					       param_type_name(p->type), "required", p->required);

			if (p->values) {
				json_t *vals = json_array();

				for (const char *const *v = p->values; *v; v++)
					json_array_append_new(vals, json_string(*v));
				json_object_set_new(jp, "values", vals);
			}
			json_array_append_new(params, jp);
		}
		static const char *const targets[] = { "none", "vm", "vcpu", "snapshot" };

		json_array_append_new(all, json_pack("{s:s, s:s, s:s, s:s, s:o}", "name", (*m)->name,
						     "permission", perm_name((*m)->perm),
						     "target", targets[(*m)->target],
						     "summary", (*m)->summary ? (*m)->summary : "",
						     "params", params));
	}
	return all;
}
