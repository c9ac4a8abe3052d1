// SPDX-License-Identifier: MIT
// Clients' event subscriptions: a sink of the event stream, replay from its ring, events-lost.

#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "subscriptions.h"

struct subscription {
	unsigned id;
	unsigned vm;		/* 0: every VM the client may see */
	unsigned kinds;		/* mask of 1 << event_kind */
	TAILQ_ENTRY(subscription) entry;
};

static bool sub_matches(const struct client *c, const struct subscription *s,
			const struct event_info *e)
{
	if (!(s->kinds & (1u << e->kind)))
		return false;
	if (s->vm && s->vm != e->from.vm)
		return false;
	return !e->from.vm || auth_is_admin(c->uid) || e->from.owner == c->uid;
}

/* Bounded by the client's output limit (client_send_event). */
static void send_event(struct client *c, const struct event_info *e)
{
	size_t len;
	const char *t = event_text(e, &len);

	if (t)
		client_send_event(c, t, len, e->seq);
}

/* The sink: each live client gets the event once, if any of its subscriptions matches.  The
 * line is built once, for the first client that gets it, and queued as is for the others. */
static void subscriptions_sink(const struct event_info *e, void *arg)
{
	const char *t = NULL;
	struct client *c;
	size_t len = 0;

	(void)arg;
	TAILQ_FOREACH(c, &clients, entry) {
		struct subscription *s;

		if (c->dead)
			continue;
		TAILQ_FOREACH(s, &c->subs, entry) {
			if (sub_matches(c, s, e)) {
				if (!t && !(t = event_text(e, &len)))
					return;
				client_send_event(c, t, len, e->seq);
				break;
			}
		}
	}
}

int subscriptions_init(void)
{
	return event_sink_add(subscriptions_sink, NULL);
}

int subscription_add(struct client *c, struct vm *vm, unsigned kinds_mask, unsigned *ret_id)
{
	struct subscription *s;

	if (c->nsubs >= mshvd.limits.max_subs)
		return -ENOSPC;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->id = ++c->next_sub;
	s->vm = vm ? vm->id : 0;
	s->kinds = kinds_mask;
	TAILQ_INSERT_TAIL(&c->subs, s, entry);
	c->nsubs++;
	*ret_id = s->id;
	return 0;
}

static struct subscription *sub_find(struct client *c, unsigned id)
{
	struct subscription *s;

	TAILQ_FOREACH(s, &c->subs, entry)
		if (s->id == id)
			return s;
	return NULL;
}

int subscription_remove(struct client *c, unsigned id)
{
	struct subscription *s = sub_find(c, id);

	if (!s)
		return -ENOENT;
	TAILQ_REMOVE(&c->subs, s, entry);
	c->nsubs--;
	free(s);
	return 0;
}

struct replay {
	struct client *c;
	const struct subscription *s;
};

static void replay_one(const struct event_info *e, void *arg)
{
	const struct replay *r = arg;

	if (sub_matches(r->c, r->s, e))
		send_event(r->c, e);
}

void subscription_replay(struct client *c, unsigned id, uint64_t since)
{
	struct subscription *s = sub_find(c, id);
	struct replay r = { .c = c, .s = s };
	uint64_t oldest;

	if (!s || c->dead || since >= events_last_seq())
		return;
	/* What fell out of the ring first, as one events-lost, then the ring's events. */
	oldest = events_oldest_seq();
	if (since + 1 < oldest) {
		struct event_info lost = { .seq = oldest - 1, .kind = EV_EVENTS_LOST,
					   .params = event_lost_params(since + 1, oldest - 1) };

		if (s->kinds & (1u << EV_EVENTS_LOST))
			send_event(c, &lost);
		json_decref(lost.params);
	}
	events_replay(since, replay_one, &r);
}

void subscriptions_free(struct client *c)
{
	struct subscription *s;

	while ((s = TAILQ_FIRST(&c->subs))) {
		TAILQ_REMOVE(&c->subs, s, entry);
		free(s);
	}
	c->nsubs = 0;
}
