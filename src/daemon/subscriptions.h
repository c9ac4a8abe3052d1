/* SPDX-License-Identifier: MIT */
/* Clients' event subscriptions (layer 4, see base.h): one sink of the event stream that
 * forwards each event to the clients whose subscriptions match and who may see it. */
#ifndef MSHVD_SUBSCRIPTIONS_H
#define MSHVD_SUBSCRIPTIONS_H

#include "base.h"
#include "auth.h"
#include "events.h"
#include "model.h"
#include "server.h"

/* Register the sink (rpc_init()). */
int subscriptions_init(void);
int subscription_add(struct client *c, struct vm *vm, unsigned kinds_mask, unsigned *ret_id);
int subscription_remove(struct client *c, unsigned id);
/* Replay ring events with seq > since to subscription id (events-lost first if needed). */
void subscription_replay(struct client *c, unsigned id, uint64_t since);
/* A client-gone hook: free its subscriptions. */
void subscriptions_free(struct client *c);

#endif
