/* SPDX-License-Identifier: MIT */
/* Helpers shared by the RPC handlers: state checks with the right errors. */
#ifndef MSHVD_METHODS_H
#define MSHVD_METHODS_H

#include "daemon/auth.h"
#include "daemon/rpc.h"
#include "daemon/subscriptions.h"
#include "daemon/waiters.h"

/* Handlers find the row's target in call->vm (TARGET_VM, TARGET_VCPU) and call->vcpu
 * (TARGET_VCPU), resolved and permission-checked by the dispatcher: never NULL there. */

/* A VM or snapshot name: 1 to MSHVD_DEFAULT_MAX_NAME of [A-Za-z0-9._-], not all digits. */
bool method_name_valid(const char *name);

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
