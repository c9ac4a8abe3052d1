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

static int subscribe(struct rpc_call *call, json_t *params)
{
	json_t *kinds = json_object_get(params, "kinds"), *k;
	unsigned mask = 0, id;
	struct vm *vm = NULL;
	uint64_t since;
	size_t i;
	int r;

	if (json_object_get(params, "vm") && !(vm = call_vm(call, params)))
		return RPC_DONE;
	if (kinds) {
		json_array_foreach(kinds, i, k) {
			enum event_kind ek;

			event_kind_from_name(json_string_value(k), &ek);
			mask |= 1u << ek;
		}
	} else {
		mask = (1u << EV__COUNT) - 1;
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
	if (param_u64(params, "since", &since)) {
		struct replay *rp = malloc(sizeof(*rp));

		if (rp) {
			rp->id = id;
			rp->since = since;
			/* Replayed events follow the reply, which carries the subscription id. */
			call->after_reply = replay_cb;
			call->after_arg = rp;
		}
	}
	rpc_reply(call, json_pack("{s:i, s:I}", "subscription", id, "seq",
				  (json_int_t)events_last_seq()));
	return RPC_DONE;
}

static int unsubscribe(struct rpc_call *call, json_t *params)
{
	unsigned id;

	param_uint(params, "subscription", &id);
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
		{ "vm", PT_VM, false, NULL },
		{ "kinds", PT_ENUMS, false, event_kind_names },
		{ "since", PT_U64, false, NULL },
		{ NULL },
	},
	.summary = "receive events on this connection; since replays from the ring",
};

const struct method method_unsubscribe = {
	.name = "unsubscribe",
	.handler = unsubscribe,
	.perm = PERM_READ,
	.target = TARGET_NONE,
	.params = (const struct param_spec[]){
		{ "subscription", PT_UINT, true, NULL },
		{ NULL },
	},
	.summary = "stop one subscription of this connection",
};
