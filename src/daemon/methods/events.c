// SPDX-License-Identifier: MIT
// Event methods: subscribe (with replay from the ring) and unsubscribe.

#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "methods.h"

struct replay {
	unsigned id;
	uint64_t since;
};

static void replay_cb(struct rpc_call *call, void *arg)
{
	struct replay *r = arg;

	if (call->client)
		subscription_replay(call->client, r->id, r->since);
	free(r);
}

struct subscribe_args {
	const json_t *vm;	/* a filter, not the row's target: subscribe is PERM_READ */
	unsigned kinds;		/* mask of enum event_kind */
	bool has_kinds;
	uint64_t since;
	bool has_since;
};

static enum rpc_retval subscribe(struct rpc_call *call, const void *args)
{
	const struct subscribe_args *a = args;
	unsigned mask = a->has_kinds ? a->kinds : (1u << EV__COUNT) - 1, id;
	struct vm *vm = NULL;
	int r;

	if (a->vm) {
		if (rpc_resolve_vm(call, a->vm) < 0)
			return RPC_DONE;
		vm = call->vm;
	}
	if (!call->client) {
		rpc_reply(call, json_null());
		return RPC_DONE;
	}
	r = subscription_add(call->client, vm, mask, &id);
	if (r == -ENOSPC) {
		rpc_error_limit(call, LIMIT_max_subs);
		return RPC_DONE;
	}
	if (r < 0) {
		rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL, "out of memory");
		return RPC_DONE;
	}
	if (a->has_since) {
		struct replay *rp = malloc(sizeof(*rp));

		if (rp) {
			rp->id = id;
			rp->since = a->since;
			/* Replayed events follow the reply, which carries the subscription id. */
			call->after_reply = replay_cb;
			call->after_arg = rp;
		}
	}
	rpc_reply(call, json_pack("{s:i, s:I}", "subscription", id, "seq",
				  (json_int_t)events_last_seq()));
	return RPC_DONE;
}

struct unsubscribe_args {
	unsigned subscription;
};

static enum rpc_retval unsubscribe(struct rpc_call *call, const void *args)
{
	const struct unsubscribe_args *a = args;
	unsigned id = a->subscription;

	if (!call->client || subscription_remove(call->client, id) < 0) {
		rpc_invalid_params(call, "no subscription %u on this connection", id);
		return RPC_DONE;
	}
	rpc_reply(call, json_pack("{s:i}", "subscription", id));
	return RPC_DONE;
}

const struct method method_subscribe = {
	.name = "subscribe",
	.handler = subscribe,
	.perm = PERM_READ,
	.target = TARGET_NONE,
	.params = (const struct param_spec[]){
		PARAM("vm", PT_VM, false, struct subscribe_args, vm),
		PARAM_VALUES_HAS("kinds", PT_ENUMS, event_kind_names, struct subscribe_args, kinds, has_kinds),
		PARAM_HAS("since", PT_U64, struct subscribe_args, since, has_since),
		PARAM_END,
	},
	.args_size = sizeof(struct subscribe_args),
	.summary = "receive events on this connection; since replays from the ring",
};

const struct method method_unsubscribe = {
	.name = "unsubscribe",
	.handler = unsubscribe,
	.perm = PERM_READ,
	.target = TARGET_NONE,
	.params = (const struct param_spec[]){
		PARAM("subscription", PT_UINT, true, struct unsubscribe_args, subscription),
		PARAM_END,
	},
	.args_size = sizeof(struct unsubscribe_args),
	.summary = "stop one subscription of this connection",
};
