/* SPDX-License-Identifier: MIT */
/* The event stream (layer 1, see base.h): daemon-wide sequence numbers, the replay ring and
 * the sinks every published event fans out to. */
#ifndef MSHVD_EVENTS_H
#define MSHVD_EVENTS_H

#include "base.h"

enum event_kind {
	EV_EXIT, EV_VCPU_STATE, EV_VM_STATE, EV_EVENTS_LOST, EV_IOEVENT, EV_IRQ_RESAMPLE,
	EV__COUNT
};

/* Where an event comes from and who may see it. */
struct event_origin {
	unsigned vm;		/* 0: not about a VM */
	uid_t owner;		/* the VM's owner (0 when vm is 0) */
	int vcpu;		/* -1: not about a vCPU */
};

/*
 * An event's notification line ({"jsonrpc":"2.0","method":"event","params":{...}}, no newline)
 * built once as text: the ring, the sinks and the replays share it.  refs: the ring's and those
 * of a publish under way.
 */
struct event_line {
	unsigned refs;
	unsigned cap;
	size_t len;
	char p[];
};

/* One published (or replayed) event as a sink sees it, borrowed.  An event published as json
 * has params (the whole params object) and no line; one published as text (exit events in a
 * storm) has a line and no params: event_text() gives the line of either. */
struct event_info {
	uint64_t seq;
	enum event_kind kind;
	struct event_origin from;
	json_t *params;
	const struct event_line *line;
};

int events_init(unsigned ring_size);
void events_fini(void);
/* Names of the event kinds, indexed by enum event_kind, NULL-terminated (a PT_ENUMS list). */
extern const char *const event_kind_names[EV__COUNT + 1];
const char *event_kind_name(enum event_kind k);
uint64_t events_last_seq(void);

/*
 * A subscriber inside the daemon: called for every published event, after the event entered
 * the ring, in the order the sinks were registered (rpc_init(): clients' subscriptions, then
 * waiters; systemd_init(): the service status).  A sink may finish calls, and so publish
 * further events (nested: they reach every sink before the outer one goes on).  At most
 * EVENT_MAX_SINKS; registered once at start-up, never removed.
 */
#define EVENT_MAX_SINKS	4
typedef void event_sink_fn(const struct event_info *e, void *arg);
int event_sink_add(event_sink_fn *fn, void *arg);

/* Publish an event: params (stolen) get seq, time, kind, vm (and vcpu when >= 0). */
void event_publish(enum event_kind kind, const struct event_origin *from, json_t *params);
/* The same, returning a new reference to the published event: the ring's own may be evicted
 * by the next publish. */
json_t *event_publish_ref(enum event_kind kind, const struct event_origin *from,
			  json_t *params);
/*
 * Publish an event whose params are written as text: members is the text of the members that
 * follow the envelope's ("\"exit\":{...}", no braces around it, len > 0), exactly as
 * json_dumps(JSON_COMPACT) would write them; the envelope (seq, time, kind, vm, vcpu) is
 * written here in the order event_publish() gives it.  Sinks get the line, no params.  The
 * ring's line buffers are reused, so an exit storm allocates nothing here.  ret_params (may be
 * NULL): the params object's text is appended to it before the sinks run (left as it was when
 * the event cannot be built).  Returns the seq.
 */
uint64_t event_publish_text(enum event_kind kind, const struct event_origin *from,
			    const char *members, size_t len, struct textbuf *ret_params);
/* The notification line of e: its own, or its params dumped into a buffer shared by every
 * call (valid until the next call).  NULL when it cannot be built (logged). */
const char *event_text(const struct event_info *e, size_t *ret_len);
/* The seq of the oldest event in the ring (last seq + 1 when empty): older ones are lost. */
uint64_t events_oldest_seq(void);
/* Call fn for every ring event with seq > since, oldest first. */
void events_replay(uint64_t since, event_sink_fn *fn, void *arg);
/* The params of an events-lost {from, to} notice (new ref).  Its seq is the last lost one, so
 * the client's stream stays increasing. */
json_t *event_lost_params(uint64_t from, uint64_t to);

#endif
