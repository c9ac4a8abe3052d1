// SPDX-License-Identifier: MIT
// Waiters: deferred calls (run {wait}, stop, pause-vm) that a later event of the stream finishes.

#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include <event2/event.h>

#include "waiters.h"

/*
 * An internal subscriber of the event stream (the sink below): the model publishes what
 * changed and never calls up here.  A waiter is answered at the last event of the update
 * that satisfies it, so its reply follows every event of that update on the wire:
 *   park:  the vCPU's vcpu-state "parked" (after its exit event); a park at a shutdown that
 *          crashes the VM waits for the vm-state "crashed" that follows;
 *   pause: any vCPU or VM state change after which no vCPU of the VM runs (with the same
 *          exception for a crashing park);
 *   the VM's vm-state "destroying" fails every waiter of the VM with no-such-vm.
 */

struct waiter {
	enum waiter_kind kind;
	struct vm *vm;
	struct vcpu *vcpu;
	struct rpc_call *call;
	struct event *timer;
	TAILQ_ENTRY(waiter) entry;
};
TAILQ_HEAD(waiter_list, waiter);

static struct waiter_list waiters = TAILQ_HEAD_INITIALIZER(waiters);

static void waiter_free(struct waiter *w)
{
	TAILQ_REMOVE(&waiters, w, entry);
	if (w->timer)
		event_free(w->timer);
	free(w);
}

static void waiter_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct waiter *w = arg;
	struct rpc_call *call = w->call;

	(void)fd;
	(void)what;
	waiter_free(w);
	rpc_error(call, MSHVD_ERR_TIMEOUT, MSHVD_ERRNAME_TIMEOUT, NULL,
		  "no answer in time; the vCPU keeps its state");
}

int waiter_add(struct vm *vm, struct vcpu *v, enum waiter_kind kind, struct rpc_call *call,
	       unsigned timeout_ms)
{
	struct waiter *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->kind = kind;
	w->vm = vm;
	w->vcpu = v;
	w->call = call;
	if (timeout_ms) {
		struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

		w->timer = evtimer_new(mshvd.base, waiter_timeout, w);
		if (!w->timer || evtimer_add(w->timer, &tv) < 0) {
			if (w->timer)
				event_free(w->timer);
			free(w);
			return -ENOMEM;
		}
	}
	TAILQ_INSERT_TAIL(&waiters, w, entry);
	return 0;
}

void park_reply(struct rpc_call *call, const struct vcpu *v)
{
	const struct textbuf *ev = &v->last_event, *ex = &v->last_exit;
	static struct textbuf buf;

	/* The event object itself, plus the exit's fields at top level so that both
	 * result.exit.type and result.type work for scripts: {<event's members>,<exit's>}. */
	buf.len = 0;
	if (ev->len < 2 || ex->len < 2 || textbuf_put(&buf, ev->p, ev->len - 1) < 0 ||
	    textbuf_put(&buf, ",", 1) < 0 || textbuf_put(&buf, ex->p + 1, ex->len - 1) < 0) {
		rpc_reply(call, NULL);
		return;
	}
	rpc_reply_text(call, buf.p, buf.len);
}

static bool vm_any_running(const struct vm *vm)
{
	struct vcpu *v;

	VM_FOREACH_VCPU(vm, v)
		if (v->state == VCPU_RUNNING)
			return true;
	return false;
}

/* Answer the satisfied waiters of vm.  Finishing a call may free other waiters (a reply
 * that closes its client destroys the client's autodestroy VMs, whose waiters fail): the scan
 * starts over after each one. */
static void waiters_answer(struct vm *vm)
{
	struct waiter *w;

again:
	TAILQ_FOREACH(w, &waiters, entry) {
		struct rpc_call *call = w->call;

		if (w->vm != vm)
			continue;
		if (w->kind == WAIT_PARK) {
			struct vcpu *v = w->vcpu;

			if (v->state != VCPU_PARKED || !v->last_event.len)
				continue;
			waiter_free(w);
			park_reply(call, v);
			goto again;
		}
		if (w->kind == WAIT_PAUSE) {
			if (vm_any_running(vm))
				continue;
			waiter_free(w);
			rpc_reply(call, json_pack("{s:i, s:s}", "vm", vm->id, "state",
						  vm_state_name(vm->state)));
			goto again;
		}
	}
}

static void waiters_cancel(struct vm *vm)
{
	struct waiter *w;

again:
	TAILQ_FOREACH(w, &waiters, entry) {
		struct rpc_call *call = w->call;

		if (w->vm != vm)
			continue;
		waiter_free(w);
		rpc_error(call, MSHVD_ERR_NO_SUCH_VM, MSHVD_ERRNAME_NO_SUCH_VM, NULL,
			  "vm %u was destroyed", vm->id);
		goto again;
	}
}

void waiters_check(struct vm *vm, struct vcpu *v, json_t *exit_event)
{
	(void)v;
	(void)exit_event;
	waiters_answer(vm);
}

/* The vm of an event, if a waiter waits on it (waiters only hold live VMs). */
static struct vm *waited_vm(unsigned id)
{
	struct waiter *w;

	TAILQ_FOREACH(w, &waiters, entry)
		if (w->vm->id == id)
			return w->vm;
	return NULL;
}

static void waiters_sink(const struct event_info *e, void *arg)
{
	struct vm *vm;
	struct vcpu *v;

	(void)arg;
	if (e->kind != EV_VCPU_STATE && e->kind != EV_VM_STATE)
		return;
	vm = waited_vm(e->from.vm);
	if (!vm)
		return;
	if (e->kind == EV_VM_STATE) {
		if (vm->state == VM_DESTROYING)
			waiters_cancel(vm);
		else
			waiters_answer(vm);
		return;
	}
	/* A park at a shutdown: vm-state "crashed" follows in the same update. */
	v = e->from.vcpu >= 0 && vm->state != VM_DESTROYING ? vm_vcpu(vm, (unsigned)e->from.vcpu) :
		NULL;
	if (v && v->state == VCPU_PARKED && v->parked_exit.kind == HV_EXIT_SHUTDOWN &&
	    vm->state != VM_CRASHED)
		return;
	waiters_answer(vm);
}

int waiters_init(void)
{
	return event_sink_add(waiters_sink, NULL);
}
