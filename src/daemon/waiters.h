/* SPDX-License-Identifier: MIT */
/* Waiters (layer 5, see base.h): deferred calls (run {wait}, stop, pause-vm) finished by a
 * later event of the stream, to which they are an internal subscriber. */
#ifndef MSHVD_WAITERS_H
#define MSHVD_WAITERS_H

#include "base.h"
#include "events.h"
#include "model.h"
#include "rpc.h"

/* waiter_add() only keeps the call: its handler returns RPC_DEFERRED and the dispatcher links
 * it to its client.  WAIT_PARK: answered with park_reply() of the vCPU's parking exit event;
 * WAIT_PAUSE: answered {vm, state} once no vCPU of vm runs.  A timeout (ms, 0: none) answers
 * timeout; the VM's vm-state "destroying" answers no-such-vm. */
enum waiter_kind { WAIT_PARK, WAIT_PAUSE };
int waiter_add(struct vm *vm, struct vcpu *v, enum waiter_kind kind, struct rpc_call *call,
	       unsigned timeout_ms);
/* Finish the waiters of vm that are satisfied now (pause-vm checks at once).  v and
 * exit_event (borrowed) are unused: every park waiter is answered with its vCPU's last exit. */
void waiters_check(struct vm *vm, struct vcpu *v, json_t *exit_event);
/* Answer call with v's park (v->last_event, not empty): the event params plus the exit fields at
 * top level. */
void park_reply(struct rpc_call *call, const struct vcpu *v);
/* Register the sink (rpc_init()). */
int waiters_init(void);

#endif
