// SPDX-License-Identifier: MIT
// Events: daemon-wide sequence numbers, the replay ring and the fan-out to the registered sinks.

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"

struct ring_entry {
	struct event_info info;		/* info.params: new ref */
};

static struct ring_entry *ring;
static unsigned ring_size, ring_count, ring_head;	/* head: index of the oldest */
static uint64_t last_seq;
static struct { event_sink_fn *fn; void *arg; } sinks[EVENT_MAX_SINKS];
static unsigned nsinks;

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
		json_decref(ring[(ring_head + i) % ring_size].info.params);
	free(ring);
	ring = NULL;
	ring_count = ring_head = 0;
}

uint64_t events_last_seq(void)
{
	return last_seq;
}

int event_sink_add(event_sink_fn *fn, void *arg)
{
	if (nsinks == EVENT_MAX_SINKS)
		return -ENOSPC;
	sinks[nsinks].fn = fn;
	sinks[nsinks].arg = arg;
	nsinks++;
	return 0;
}

json_t *event_lost_params(uint64_t from, uint64_t to)
{
	return json_pack("{s:I, s:I, s:s, s:I, s:I}", "seq", (json_int_t)to, "time",
			 (json_int_t)now_us(), "kind", event_kind_names[EV_EVENTS_LOST], "from",
			 (json_int_t)from, "to", (json_int_t)to);
}

json_t *event_publish_ref(enum event_kind kind, const struct event_origin *from,
			  json_t *params)
{
	struct ring_entry *e;
	json_t *ev;

	ev = json_pack("{s:I, s:I, s:s}", "seq", (json_int_t)++last_seq, "time",
		       (json_int_t)now_us(), "kind", event_kind_name(kind));
	if (from->vm)
		json_object_set_new(ev, "vm", json_integer(from->vm));
	if (from->vcpu >= 0)
		json_object_set_new(ev, "vcpu", json_integer(from->vcpu));
	if (params) {
		json_object_update(ev, params);
		json_decref(params);
	}

	/* Append to the ring, evicting the oldest: never drop silently, subscribe {since}
	 * reports what fell out as events-lost. */
	if (ring_count == ring_size) {
		json_decref(ring[ring_head].info.params);
		ring_head = (ring_head + 1) % ring_size;
		ring_count--;
	}
	e = &ring[(ring_head + ring_count) % ring_size];
	e->info = (struct event_info){ .seq = last_seq, .kind = kind, .from = *from,
				       .params = ev };
	if (!from->vm)
		e->info.from.owner = 0;
	ring_count++;

	/* The one fan-out: clients' subscriptions, waiters, the service status, in the order
	 * they registered.  A sink may publish indirectly (a reply that closes a client whose
	 * VM autodestroys): the nested event may evict this one from the ring, so the sinks
	 * get a copy of the info and a reference of our own. */
	{
		struct event_info info = e->info;

		json_incref(ev);
		for (unsigned i = 0; i < nsinks; i++)
			sinks[i].fn(&info, sinks[i].arg);
	}
	return ev;
}

void event_publish(enum event_kind kind, const struct event_origin *from, json_t *params)
{
	json_decref(event_publish_ref(kind, from, params));
}

uint64_t events_oldest_seq(void)
{
	return ring_count ? ring[ring_head].info.seq : last_seq + 1;
}

void events_replay(uint64_t since, event_sink_fn *fn, void *arg)
{
	for (unsigned i = 0; i < ring_count; i++) {
		const struct ring_entry *e = &ring[(ring_head + i) % ring_size];

		if (e->info.seq > since)
			fn(&e->info, arg);
	}
}
