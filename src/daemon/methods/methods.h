/* SPDX-License-Identifier: MIT */
/* Helpers shared by the RPC handlers: resolving the VM and vCPU params with the right errors. */
#ifndef MSHVD_METHODS_H
#define MSHVD_METHODS_H

#include "daemon/mshvd.h"

/* The VM named by params.vm as the caller sees it; on failure the call is finished with
 * no-such-vm (identical for missing and foreign VMs) and NULL is returned. */
static inline struct vm *call_vm(struct rpc_call *call, json_t *params)
{
	json_t *ref = json_object_get(params, "vm");
	struct vm *vm = vm_lookup(ref, call->uid);

	if (!vm) {
		char *s = json_dumps(ref, JSON_ENCODE_ANY);

		rpc_error(call, MSHVD_ERR_NO_SUCH_VM, MSHVD_ERRNAME_NO_SUCH_VM, NULL,
			  "no vm %s", s ? s : "?");
		free(s);
	}
	return vm;
}

/* The vCPU params.vcpu of vm, or NULL after finishing the call with no-such-vcpu. */
static inline struct vcpu *call_vcpu(struct rpc_call *call, struct vm *vm, json_t *params)
{
	json_t *ref = json_object_get(params, "vcpu");
	struct vcpu *v = vcpu_lookup(vm, ref);

	if (!v)
		rpc_error(call, MSHVD_ERR_NO_SUCH_VCPU, MSHVD_ERRNAME_NO_SUCH_VCPU, NULL,
			  "vm %u has no vcpu %lld", vm->id, (long long)json_integer_value(ref));
	return v;
}

/* A parked or never-run vCPU: its registers may be touched.  Else finish with invalid-state. */
static inline bool call_vcpu_idle(struct rpc_call *call, struct vcpu *v)
{
	if (v->state == VCPU_CREATED || v->state == VCPU_PARKED)
		return true;
	rpc_error_invalid_state(call, vcpu_state_name(v->state), "vcpu %u of vm %u is %s",
				v->index, v->vm->id, vcpu_state_name(v->state));
	return false;
}

#endif
