/* SPDX-License-Identifier: MIT */
/* Helpers shared by the RPC handlers: resolving the VM and vCPU params with the right errors. */
#ifndef MSHVD_METHODS_H
#define MSHVD_METHODS_H

#include "daemon/mshvd.h"

/* The VM the dispatcher resolved for a TARGET_VM or TARGET_VCPU row (never NULL there);
 * for a TARGET_NONE row with an optional vm param, the lookup with its no-such-vm answer. */
static inline struct vm *call_vm(struct rpc_call *call, json_t *params)
{
	(void)params;
	if (!call->vm && rpc_resolve_vm(call, json_object_get(params, "vm")) < 0)
		return NULL;
	return call->vm;
}

/* The vCPU the dispatcher resolved for a TARGET_VCPU row (never NULL there). */
static inline struct vcpu *call_vcpu(struct rpc_call *call, struct vm *vm, json_t *params)
{
	(void)vm;
	(void)params;
	return call->vcpu;
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
