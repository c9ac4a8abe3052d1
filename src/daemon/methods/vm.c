// SPDX-License-Identifier: MIT
// VM methods: create-vm, destroy-vm, list-vms, vm-info, pause-vm, resume-vm.

#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "methods.h"

bool method_name_valid(const char *name)
{
	size_t len = strlen(name);
	bool digits = true;

	if (len == 0 || len > MSHVD_DEFAULT_MAX_NAME)
		return false;
	for (const char *p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return false;
		if (!isdigit((unsigned char)*p))
			digits = false;
	}
	return !digits;
}

struct create_vm_args {
	const char *name;
	bool lapic, x2apic, irqchip, autodestroy;
	bool nested_virtualization, smt_guest;
	json_t *disabled_cpu_features;
	uint64_t disabled_xsave_features;
	bool has_xsave_features;
};

/*
 * The partition options later MSHV driver generations added: nested_virtualization,
 * smt_guest, and the CPU/XSAVE feature banks (disabled_cpu_features, disabled_xsave_features).
 * Returns false after answering the call (invalid-params).
 */
static bool new_partition_options(struct rpc_call *call, const struct create_vm_args *a,
				  struct hv_vm_options *opts)
{
	const size_t nbanks = sizeof(opts->disabled_cpu_features) /
			      sizeof(opts->disabled_cpu_features[0]);
	json_t *bank;
	size_t i;

	opts->nested_virtualization = a->nested_virtualization;
	opts->smt_guest = a->smt_guest;
	if (a->disabled_cpu_features) {
		if (json_array_size(a->disabled_cpu_features) > nbanks) {
			rpc_invalid_params(call, "disabled_cpu_features has at most %zu banks", nbanks);
			return false;
		}
		json_array_foreach(a->disabled_cpu_features, i, bank) {
			if (json_to_u64(bank, &opts->disabled_cpu_features[i]) < 0) {
				rpc_invalid_params(call, "disabled_cpu_features[%zu] is not a 64-bit "
						   "number", i);
				return false;
			}
		}
		opts->cpu_features = true;
	}
	if (a->has_xsave_features) {
		opts->disabled_xsave_features = a->disabled_xsave_features;
		opts->cpu_features = true;
	}
	return true;
}

static enum rpc_retval create_vm(struct rpc_call *call, const void *args)
{
	const struct create_vm_args *a = args;
	struct hv_vm_options opts = {
		.lapic = a->lapic,
		.x2apic = a->x2apic,
		.irqchip = a->irqchip,
	};
	const char *name = a->name;
	uint32_t caps = model_caps();
	const char *missing = NULL;
	struct vm *vm;
	int r;

	if (name && !method_name_valid(name)) {
		rpc_invalid_params(call, "a name has 1 to %u of [A-Za-z0-9._-] and is not a number",
				   MSHVD_DEFAULT_MAX_NAME);
		return RPC_DONE;
	}
	if (!new_partition_options(call, a, &opts))
		return RPC_DONE;
	if ((opts.lapic && !(caps & HV_CAP_LAPIC)) || (opts.x2apic && !(caps & HV_CAP_X2APIC)) ||
	    (opts.irqchip && !(caps & HV_CAP_IRQCHIP)))
		missing = "create-vm option";
	else if (opts.nested_virtualization && !(caps & HV_CAP_NESTED_VIRT))
		missing = "create-vm option nested_virtualization";
	else if (opts.smt_guest && !(caps & HV_CAP_SMT_GUEST))
		missing = "create-vm option smt_guest";
	else if (opts.cpu_features && !(caps & HV_CAP_CPU_FEATURES))
		missing = "create-vm CPU/XSAVE feature banks";
	if (missing) {
		const struct hv_driver_info *d = model_driver_info();
		char what[128];

		/* Name the driver generation that lacks it, where the backend has generations. */
		if (d)
			snprintf(what, sizeof(what), "%s (MSHV driver generation %s)", missing,
				 d->generation);
		else
			snprintf(what, sizeof(what), "%s", missing);
		rpc_error_hv(call, -EOPNOTSUPP, 0, what);
		return RPC_DONE;
	}
	/* Warm spares (snapshot.c) are partitions too. */
	if (nvms + nhidden_vms >= mshvd.limits.max_vms) {
		rpc_error_limit(call, LIMIT_max_vms);
		return RPC_DONE;
	}
	if (auth_uid_over(call->uid, LIMIT_max_vms_per_uid, 1)) {
		rpc_error_limit(call, LIMIT_max_vms_per_uid);
		return RPC_DONE;
	}
	r = vm_new(call->uid, call->client, name, a->autodestroy, &opts, &vm);
	if (r == -EEXIST) {
		rpc_invalid_params(call, "you already have a vm named \"%s\"", name);
		return RPC_DONE;
	}
	if (r < 0) {
		rpc_error_hv(call, r, model_last_status(), "create-vm");
		return RPC_DONE;
	}
	rpc_reply(call, json_pack("{s:i, s:s}", "vm", vm->id, "name", vm->name));
	return RPC_DONE;
}

static enum rpc_retval destroy_vm(struct rpc_call *call, const void *args)
{
	struct vm *vm = call->vm;
	unsigned id;


	(void)args;
	id = vm->id;
	vm_destroy(vm, "destroy-vm");
	rpc_reply(call, json_pack("{s:i, s:s}", "vm", id, "state", "destroying"));
	return RPC_DONE;
}

static enum rpc_retval list_vms(struct rpc_call *call, const void *args)
{
	/* {"vms":[summary,...]} written as text, each summary dumped once: a frequent probe
	 * whose envelope is not worth a jansson tree.  The buffer is reused from call to call. */
	static struct textbuf out;
	bool first = true;
	struct vm *vm;
	int r;

	out.len = 0;
	r = textbuf_puts(&out, "{\"vms\":[");
	TAILQ_FOREACH(vm, &vms, entry) {
		json_t *summary;

		if (r < 0 || !auth_can_see(call->uid, vm))
			continue;
		summary = vm_summary(vm);
		r = !summary ? -ENOMEM : first ? 0 : textbuf_put(&out, ",", 1);
		if (r == 0)
			r = textbuf_json(&out, summary);
		json_decref(summary);
		first = false;
	}
	if (r < 0 || textbuf_puts(&out, "]}") < 0) {
		rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL, "out of memory");
		return RPC_DONE;
	}
	rpc_reply_text(call, out.p, out.len);
	return RPC_DONE;
}

static json_t *map_flags_json(unsigned flags)
{
	json_t *f = json_array();

	json_array_append_new(f, json_string("read"));
	if (flags & HV_MAP_WRITE)
		json_array_append_new(f, json_string("write"));
	if (flags & HV_MAP_EXEC)
		json_array_append_new(f, json_string("exec"));
	return f;
}

static json_t *msi_routes_json(const struct vm *vm)
{
	json_t *list = json_array();

	for (unsigned i = 0; i < vm->nmsi_routes; i++) {
		const struct hv_msi_route *r = &vm->msi_routes[i];

		json_array_append_new(list, json_pack("{s:i, s:o, s:o, s:o}", "gsi", (int)r->gsi,
						      "address_lo", json_hex(r->address_lo),
						      "address_hi", json_hex(r->address_hi),
						      "data", json_hex(r->data)));
	}
	return list;
}

static enum rpc_retval vm_info(struct rpc_call *call, const void *args)
{
	struct vm *vm = call->vm;
	json_t *info, *regions, *vcpus, *exits, *options;
	struct region *r;
	struct vcpu *v;

	(void)args;
	info = vm_summary(vm);
	regions = json_array();
	TAILQ_FOREACH(r, &vm->regions, entry)
		json_array_append_new(regions, json_pack("{s:o, s:o, s:o}", "gpa", json_hex(r->gpa),
							 "size", json_hex(r->size), "flags",
							 map_flags_json(r->flags)));
	vcpus = json_array();
	VM_FOREACH_VCPU(vm, v) {
		json_t *jv;

		jv = json_pack("{s:i, s:s, s:I}", "vcpu", v->index, "state",
			       vcpu_state_name(v->state), "exits", (json_int_t)v->exits);
		if (v->state == VCPU_PARKED && v->last_event.len)
			json_object_set_new(jv, "exit", json_loadb(v->last_exit.p, v->last_exit.len,
								   0, NULL));
		json_array_append_new(vcpus, jv);
	}
	exits = json_object();
	for (unsigned k = 0; k <= HV_EXIT_UNKNOWN; k++)
		if (k != HV_EXIT_INTERRUPTED)
			json_object_set_new(exits, model_exit_kind_name(k),
					    json_integer((json_int_t)vm->exit_counts[k]));
	json_object_set_new(exits, "stopped",
			    json_integer((json_int_t)vm->exit_counts[VM_EXIT_COUNT_STOPPED]));
	options = json_pack("{s:b, s:b, s:b, s:b, s:b}", "lapic", vm->opts.lapic, "x2apic",
			    vm->opts.x2apic, "irqchip", vm->opts.irqchip, "nested_virtualization",
			    vm->opts.nested_virtualization, "smt_guest", vm->opts.smt_guest);
	/* The feature banks only where the VM was created with its own (partition bit 3). */
	if (options && vm->opts.cpu_features) {
		json_t *banks = json_array();

		for (size_t i = 0; i < sizeof(vm->opts.disabled_cpu_features) /
					   sizeof(vm->opts.disabled_cpu_features[0]); i++)
			json_array_append_new(banks, json_hex(vm->opts.disabled_cpu_features[i]));
		json_object_set_new(options, "disabled_cpu_features", banks);
		json_object_set_new(options, "disabled_xsave_features",
				    json_hex(vm->opts.disabled_xsave_features));
	}
	json_object_set_new(info, "options", options);
	json_object_set_new(info, "regions", regions);
	json_object_set_new(info, "vcpus", vcpus);
	json_object_set_new(info, "eventfds", vm_eventfds_json(vm));
	json_object_set_new(info, "msi_routes", msi_routes_json(vm));
	json_object_set_new(info, "exits", exits);
	rpc_reply(call, info);
	return RPC_DONE;
}

static enum rpc_retval pause_vm(struct rpc_call *call, const void *args)
{
	struct vm *vm = call->vm;
	int r;


	(void)args;
	if (vm->state == VM_PAUSED) {
		rpc_error_invalid_state(call, "paused", "vm %u is already paused", vm->id);
		return RPC_DONE;
	}
	r = vm_pause(vm);
	if (r < 0) {
		rpc_error_hv(call, r, vm_last_status(vm), "pause-vm");
		return RPC_DONE;
	}
	/* Answered once no vCPU runs any more (each one reports "paused" or parks). */
	if (waiter_add(vm, NULL, WAIT_PAUSE, call, 5000) < 0) {
		rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL, "out of memory");
		return RPC_DONE;
	}
	waiters_check(vm, NULL, NULL);
	return RPC_DEFERRED;
}

static enum rpc_retval resume_vm(struct rpc_call *call, const void *args)
{
	struct vm *vm = call->vm;
	int r;


	(void)args;
	if (vm->state != VM_PAUSED) {
		rpc_error_invalid_state(call, vm_state_name(vm->state), "vm %u is not paused",
					vm->id);
		return RPC_DONE;
	}
	r = vm_resume(vm);
	if (r < 0) {
		rpc_error_hv(call, r, vm_last_status(vm), "resume-vm");
		return RPC_DONE;
	}
	rpc_reply(call, json_pack("{s:i, s:s}", "vm", vm->id, "state", vm_state_name(vm->state)));
	return RPC_DONE;
}

static const struct param_spec vm_only[] = {
	PARAM_TARGET("vm", PT_VM),
	PARAM_END,
};

const struct method method_create_vm = {
	.name = "create-vm",
	.handler = create_vm,
	.perm = PERM_READ,	/* any user may create; the VM is then owned by the caller */
	.target = TARGET_NONE,
	.params = (const struct param_spec[]){
		PARAM("name", PT_STRING, false, struct create_vm_args, name),
		PARAM("lapic", PT_BOOL, false, struct create_vm_args, lapic),
		PARAM("x2apic", PT_BOOL, false, struct create_vm_args, x2apic),
		PARAM("irqchip", PT_BOOL, false, struct create_vm_args, irqchip),
		PARAM("nested_virtualization", PT_BOOL, false, struct create_vm_args,
		      nested_virtualization),
		PARAM("smt_guest", PT_BOOL, false, struct create_vm_args, smt_guest),
		PARAM("disabled_cpu_features", PT_ARRAY, false, struct create_vm_args,
		      disabled_cpu_features),
		PARAM_HAS("disabled_xsave_features", PT_U64, struct create_vm_args,
			  disabled_xsave_features, has_xsave_features),
		PARAM("autodestroy", PT_BOOL, false, struct create_vm_args, autodestroy),
		PARAM_END,
	},
	.args_size = sizeof(struct create_vm_args),
	.summary = "create a partition owned by the caller",
};

const struct method method_destroy_vm = {
	.name = "destroy-vm",
	.handler = destroy_vm,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = vm_only,
	.summary = "destroy a VM; returns at once, vm-state destroyed follows",
};

const struct method method_list_vms = {
	.name = "list-vms",
	.handler = list_vms,
	.perm = PERM_READ,
	.target = TARGET_NONE,
	.params = (const struct param_spec[]){ PARAM_END },
	.summary = "the VMs the caller may see",
};

const struct method method_vm_info = {
	.name = "vm-info",
	.handler = vm_info,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = vm_only,
	.summary = "regions, vCPUs and their states, eventfds, exit counters of one VM",
};

const struct method method_pause_vm = {
	.name = "pause-vm",
	.handler = pause_vm,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = vm_only,
	.summary = "pause every vCPU of a VM; returns once none runs",
};

const struct method method_resume_vm = {
	.name = "resume-vm",
	.handler = resume_vm,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = vm_only,
	.summary = "let the vCPUs of a paused VM continue",
};
