// SPDX-License-Identifier: MIT
// Events: daemon-wide sequence numbers, the replay ring and the fan-out to the registered sinks.

#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"

struct ring_entry {
	struct event_info info;		/* params or line: a reference of the ring */
};

static const char line_head[] = "{\"jsonrpc\":\"2.0\",\"method\":\"" MSHVD_EVENT_METHOD
				"\",\"params\":";

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

int events_init(unsigned size)
{
	ring = calloc(size ? size : 1, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	ring_size = size ? size : 1;
	return 0;
}

/*
 * Line buffers: the one the ring evicts is kept as the spare and filled by the next text
 * publish, so a storm of text events runs on the same few buffers.
 */
static struct event_line *line_spare;

static struct event_line *line_get(size_t len)
{
	struct event_line *l = line_spare;
	size_t cap;

	if (l && l->cap >= len) {
		line_spare = NULL;
	} else {
		cap = (len + 255) & ~(size_t)255;
		if (cap > UINT_MAX)
			return NULL;
		l = malloc(sizeof(*l) + cap);
		if (!l)
			return NULL;
		l->cap = (unsigned)cap;
	}
	l->refs = 1;
	l->len = 0;
	return l;
}

static void line_put(const struct event_line *cl)
{
	struct event_line *l = (struct event_line *)cl;

	if (!l || --l->refs)
		return;
	if (line_spare && line_spare->cap >= l->cap) {
		free(l);
		return;
	}
	free(line_spare);
	line_spare = l;
}

static void entry_clear(struct ring_entry *e)
{
	json_decref(e->info.params);
	line_put(e->info.line);
	e->info.params = NULL;
	e->info.line = NULL;
}

void events_fini(void)
{
	for (unsigned i = 0; i < ring_count; i++)
		entry_clear(&ring[(ring_head + i) % ring_size]);
	free(line_spare);
	line_spare = NULL;
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

/* Append to the ring, evicting the oldest: never drop silently, subscribe {since} reports what
 * fell out as events-lost.  Returns the new entry (its info still empty). */
static struct ring_entry *ring_append(void)
{
	if (ring_count == ring_size) {
		entry_clear(&ring[ring_head]);
		ring_head = (ring_head + 1) % ring_size;
		ring_count--;
	}
	return &ring[(ring_head + ring_count++) % ring_size];
}

/*
 * The one fan-out: clients' subscriptions, waiters, the service status, in the order they
 * registered.  A sink may publish indirectly (a reply that closes a client whose VM
 * autodestroys): the nested event may evict this one from the ring, so the sinks get a copy of
 * the info and references of our own, dropped here.
 */
static void fan_out(const struct event_info *ring_info)
{
	struct event_info info = *ring_info;
	struct event_line *line = (struct event_line *)info.line;

	if (line)
		line->refs++;
	for (unsigned i = 0; i < nsinks; i++)
		sinks[i].fn(&info, sinks[i].arg);
	line_put(line);
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

	e = ring_append();
	e->info = (struct event_info){ .seq = last_seq, .kind = kind, .from = *from,
				       .params = ev };
	if (!from->vm)
		e->info.from.owner = 0;
	/* The caller's reference, which also keeps ev through the fan-out. */
	json_incref(ev);
	fan_out(&e->info);
	return ev;
}

uint64_t event_publish_text(enum event_kind kind, const struct event_origin *from,
			    const char *members, size_t len, struct textbuf *ret_params)
{
	const char *name = event_kind_name(kind);
	size_t nlen = strlen(name);
	struct event_line *l;
	struct ring_entry *e;
	char *p;

	++last_seq;
	e = ring_append();
	/* The envelope: head, 4 keys, 4 numbers of at most 20 digits, the kind, the braces. */
	l = line_get(sizeof(line_head) + 48 + 4 * 21 + nlen + len + 2);
	e->info = (struct event_info){ .seq = last_seq, .kind = kind, .from = *from, .line = l };
	if (!from->vm)
		e->info.from.owner = 0;
	if (!l) {
		/* The other sinks still see it (waiters, status); subscribers do not. */
		log_error("cannot build an event");
		fan_out(&e->info);
		return last_seq;
	}
	p = l->p;
	memcpy(p, line_head, sizeof(line_head) - 1);
	p += sizeof(line_head) - 1;
	memcpy(p, "{\"seq\":", 7);
	p = text_u64(p + 7, last_seq);
	memcpy(p, ",\"time\":", 8);
	p = text_u64(p + 8, now_us());
	memcpy(p, ",\"kind\":\"", 9);
	memcpy(p + 9, name, nlen);
	p += 9 + nlen;
	*p++ = '"';
	if (from->vm) {
		memcpy(p, ",\"vm\":", 6);
		p = text_u64(p + 6, from->vm);
	}
	if (from->vcpu >= 0) {
		memcpy(p, ",\"vcpu\":", 8);
		p = text_i64(p + 8, from->vcpu);
	}
	*p++ = ',';
	memcpy(p, members, len);
	p += len;
	*p++ = '}';
	*p++ = '}';
	l->len = (size_t)(p - l->p);
	if (ret_params)
		(void)textbuf_put(ret_params, l->p + sizeof(line_head) - 1,
				  l->len - (sizeof(line_head) - 1) - 1);
	fan_out(&e->info);
	return e->info.seq;
}

const char *event_text(const struct event_info *e, size_t *ret_len)
{
	static struct textbuf buf;

	if (e->line) {
		*ret_len = e->line->len;
		return e->line->p;
	}
	buf.len = 0;
	if (textbuf_put(&buf, line_head, sizeof(line_head) - 1) < 0 ||
	    textbuf_json(&buf, e->params) < 0 || textbuf_put(&buf, "}", 1) < 0) {
		log_error("cannot serialize an event");
		return NULL;
	}
	*ret_len = buf.len;
	return buf.p;
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
