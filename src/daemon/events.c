// SPDX-License-Identifier: MIT
// Events: daemon-wide sequence numbers, the replay ring and the subscriptions of each client.

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mshvd.h"
#include "systemd.h"

struct ring_entry {
	uint64_t seq;
	uid_t owner;
	unsigned vm;		/* 0: not about a VM */
	enum event_kind kind;
	json_t *params;		/* new ref */
};

struct subscription {
	unsigned id;
	unsigned vm;		/* 0: every VM the client may see */
	unsigned kinds;		/* mask of 1 << event_kind */
	TAILQ_ENTRY(subscription) entry;
};

static struct ring_entry *ring;
static unsigned ring_size, ring_count, ring_head;	/* head: index of the oldest */
static uint64_t last_seq;

const char *const event_kind_names[EV__COUNT + 1] = {
	[EV_EXIT] = "exit",
	[EV_VCPU_STATE] = "vcpu-state",
	[EV_VM_STATE] = "vm-state",
	[EV_EVENTS_LOST] = "events-lost",
	[EV_IOEVENT] = "ioevent",
	[EV_IRQ_RESAMPLE] = "irq-resample",
	[EV__COUNT] = NULL,
};

const char *event_kind_name(enum event_kind k)
{
	return k < EV__COUNT ? event_kind_names[k] : "?";
}

int event_kind_from_name(const char *name, enum event_kind *ret)
{
	for (unsigned k = 0; k < EV__COUNT; k++) {
		if (strcmp(event_kind_names[k], name) == 0) {
			*ret = k;
			return 0;
		}
	}
	return -ENOENT;
}

int events_init(unsigned size)
{
	ring = calloc(size ? size : 1, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	ring_size = size ? size : 1;
	return 0;
}

void events_fini(void)
{
	for (unsigned i = 0; i < ring_count; i++)
		json_decref(ring[(ring_head + i) % ring_size].params);
	free(ring);
	ring = NULL;
	ring_count = ring_head = 0;
}

uint64_t events_last_seq(void)
{
	return last_seq;
}

static bool sub_matches(const struct client *c, const struct subscription *s,
			const struct ring_entry *e)
{
	if (!(s->kinds & (1u << e->kind)))
		return false;
	if (s->vm && s->vm != e->vm)
		return false;
	return !e->vm || auth_is_admin(c->uid) || e->owner == c->uid;
}

/* The params of an events-lost event (new reference).  Its seq is the last lost one, so the
 * client's stream stays increasing. */
static json_t *lost_params(uint64_t from, uint64_t to)
{
	return json_pack("{s:I, s:I, s:s, s:I, s:I}", "seq", (json_int_t)to, "time",
			 (json_int_t)now_us(), "kind", event_kind_names[EV_EVENTS_LOST], "from",
			 (json_int_t)from, "to", (json_int_t)to);
}

/* Bounded by the client's output limit (client_send_event); params borrowed. */
static void send_event(struct client *c, json_t *params, uint64_t seq)
{
	json_t *msg = json_pack("{s:s, s:s, s:O}", "jsonrpc", "2.0", "method",
				MSHVD_EVENT_METHOD, "params", params);

	client_send_event(c, msg, seq);
	json_decref(msg);
}

void event_send_lost(struct client *c, uint64_t from, uint64_t to)
{
	json_t *lost = lost_params(from, to);
	json_t *msg = json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0", "method",
				MSHVD_EVENT_METHOD, "params", lost);

	client_send(c, msg);
	json_decref(msg);
}

json_t *event_publish_ref(enum event_kind kind, const struct vm *vm, int vcpu, json_t *params)
{
	struct ring_entry *e;
	struct client *c;
	json_t *ev;

	ev = json_pack("{s:I, s:I, s:s}", "seq", (json_int_t)++last_seq, "time",
		       (json_int_t)now_us(), "kind", event_kind_name(kind));
	if (vm)
		json_object_set_new(ev, "vm", json_integer(vm->id));
	if (vcpu >= 0)
		json_object_set_new(ev, "vcpu", json_integer(vcpu));
	if (params) {
		json_object_update(ev, params);
		json_decref(params);
	}

	/* Append to the ring, evicting the oldest: never drop silently, subscribe {since}
	 * reports what fell out as events-lost. */
	if (ring_count == ring_size) {
		json_decref(ring[ring_head].params);
		ring_head = (ring_head + 1) % ring_size;
		ring_count--;
	}
	e = &ring[(ring_head + ring_count) % ring_size];
	e->seq = last_seq;
	e->owner = vm ? vm->owner : 0;
	e->vm = vm ? vm->id : 0;
	e->kind = kind;
	e->params = ev;
	ring_count++;

	TAILQ_FOREACH(c, &clients, entry) {
		struct subscription *s;

		if (c->dead)
			continue;
		TAILQ_FOREACH(s, &c->subs, entry) {
			if (sub_matches(c, s, e)) {
				send_event(c, ev, last_seq);
				break;
			}
		}
	}
	/* VMs and vCPUs come and go with these events: the service status follows them. */
	if (kind == EV_VM_STATE || kind == EV_VCPU_STATE)
		systemd_status_changed();
	return json_incref(ev);
}

void event_publish(enum event_kind kind, const struct vm *vm, int vcpu, json_t *params)
{
	json_decref(event_publish_ref(kind, vm, vcpu, params));
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

void subscription_replay(struct client *c, unsigned id, uint64_t since)
{
	struct subscription *s = sub_find(c, id);
	uint64_t oldest;

	if (!s || c->dead || since >= last_seq)
		return;
	oldest = ring_count ? ring[ring_head].seq : last_seq + 1;
	if (since + 1 < oldest) {
		json_t *lost = lost_params(since + 1, oldest - 1);

		if (s->kinds & (1u << EV_EVENTS_LOST))
			send_event(c, lost, oldest - 1);
		json_decref(lost);
	}
	for (unsigned i = 0; i < ring_count; i++) {
		const struct ring_entry *e = &ring[(ring_head + i) % ring_size];

		if (e->seq > since && sub_matches(c, s, e))
			send_event(c, e->params, e->seq);
	}
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
