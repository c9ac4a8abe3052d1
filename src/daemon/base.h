/* SPDX-License-Identifier: MIT */
/*
 * mshvd internals, lowest layer: logging, the clock, JSON helpers, the global state and the
 * limits.  Every other header of src/daemon includes this one.
 *
 * The layering of src/daemon (the only place it is written down): a file includes its own
 * module's header and those of modules below it, never one above, and calls only downward.
 * Upward notifications go through hooks that the higher module registers: the mailbox's
 * message handler (model_init()), the server's line handler, admission check and client-gone
 * hooks, and the event stream's sinks (rpc_init(), systemd_init()).
 *
 *   7  main.c                 wires the layers, owns the loop
 *   6  methods/methods.h      the RPC handlers (the files of methods/): users of the model,
 *                             rpc and waiters, never of a lock or an atomic
 *   5  rpc.h  waiters.h       dispatcher, method table types, errors (rpc.c, methods.c);
 *      rpc-scan.h             the scan of flat requests (rpc-scan.c);
 *                             waiters: deferred calls finished by events (waiters.c)
 *   4  auth.h  subscriptions.h  systemd.h
 *                             visibility and per-uid limits (auth.c); clients' event
 *                             subscriptions (subscriptions.c); systemd glue (systemd.c)
 *   3  model.h                partitions, vCPUs and their threads, eventfds (partition.c,
 *                             vcpu.c, eventfd.c): the owner of the hv_vm_* / hv_vcpu_* calls
 *   2  server.h               socket, clients, framing, output (server.c)
 *   1  events.h  mailbox.h    the event stream: seq, ring, publish to registered sinks
 *                             (events.c); vCPU threads -> loop queue (mailbox.c)
 *   0  base.h  limits.h       log.c, util.c, limits.c
 *
 * The exit path, once: vCPU thread -> mailbox_post() -> (loop) the model's message handler
 * updates vCPU and VM -> event_publish() -> the sinks in registration order: clients'
 * subscriptions, waiters (run {wait}, stop, pause-vm), systemd's status.
 */
#ifndef MSHVD_BASE_H
#define MSHVD_BASE_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <jansson.h>

#include "hv/hv.h"
#include "mshvd/protocol.h"
#include "shared/num.h"
#include "limits.h"

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar) \
	for ((var) = TAILQ_FIRST(head); (var) && ((tvar) = TAILQ_NEXT(var, field), 1); \
	     (var) = (tvar))
#endif

struct event_base;
struct event;
struct evbuffer;

/*
 * Threads (see STYLE.md "Threads").  Everything in these headers belongs to the loop thread,
 * except the members of struct vcpu marked "shared" (under vcpu->lock or atomic) and the
 * functions marked "Thread: any".
 */

/* ---- log.c ------------------------------------------------------------------------------- */

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARNING, LOG_LVL_INFO, LOG_LVL_DEBUG };

extern enum log_level log_level;
int log_level_from_name(const char *name, enum log_level *ret);
/* Pick the target once, first thing in main: native journal records when stderr is the
 * service's journal stream ($JOURNAL_STREAM matches fd 2; systemd builds only), else plain
 * lines on stderr.  Returns true for the journal. */
bool log_init(void);
/* One message; on stderr one line, prefixed with pid and level.  Thread: any. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with context that the journal stores as fields: MSHVD_VM= when vm != 0,
 * MSHVD_VCPU= when vcpu >= 0, MSHVD_METHOD= when method != NULL, ERRNO= when err > 0 (a
 * positive errno).  The text should still name the context for stderr readers.  Thread: any. */
void log_full(enum log_level level, unsigned vm, int vcpu, const char *method, int err,
	      const char *fmt, ...) __attribute__((format(printf, 6, 7)));
#define log_error(...)	log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)	do { if (log_level >= LOG_LVL_DEBUG) log_msg(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)

/* ---- limits and global state (main.c) ---------------------------------------------------- */

struct mshvd {
	struct event_base *base;
	struct hv *hv;
	struct limits limits;
	const char *socket_path;
	bool shutting_down;
	uint64_t started_us;
};

extern struct mshvd mshvd;

/* Wall clock in microseconds.  Thread: any. */
uint64_t now_us(void);

/* ---- util.c: JSON helpers (loop thread) --------------------------------------------------- */

/* json_hex(), json_to_u64(): src/shared/num.h. */
/* Nesting depth of a JSON text, scanned without parsing (strings are skipped). */
unsigned json_text_depth(const char *s, size_t len);

/* The JSON-RPC error response, built here only (new ref; id borrowed, NULL for null; data
 * stolen, may be NULL, gets data.name = name). */
json_t *rpc_error_object(json_t *id, int code, const char *name, json_t *data,
			 const char *message);
/* {limit, value}: the data of an error naming a limit (new ref). */
json_t *rpc_limit_data(enum limit_id limit);

/*
 * A growable text buffer for serialising replies and events: reused from message to message
 * (its memory stays), so the hot paths dump JSON without a malloc/free per message.  Not
 * NUL-terminated.  The text functions return 0 or -ENOMEM (the buffer is then unchanged).
 */
struct textbuf {
	char *p;
	size_t len, cap;
};

int textbuf_reserve(struct textbuf *b, size_t more);
int textbuf_put(struct textbuf *b, const void *data, size_t len);
#define textbuf_puts(b, s)	textbuf_put((b), (s), strlen(s))
/* Append v (borrowed) as compact JSON (any value, as json_dumps(JSON_COMPACT |
 * JSON_ENCODE_ANY) writes it). */
int textbuf_json(struct textbuf *b, const json_t *v);
int textbuf_printf(struct textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void textbuf_free(struct textbuf *b);

/*
 * Numbers written as JSON text, as jansson's compact dump writes them, into p (room for 21
 * bytes; 20 for text_hex), returning the end: text_u64/text_i64 a JSON integer, text_hex the
 * string json_hex() makes, quotes included.  For the texts built without jansson (exit events).
 */
char *text_u64(char *p, uint64_t v);
char *text_i64(char *p, int64_t v);
char *text_hex(char *p, uint64_t v);

#endif
