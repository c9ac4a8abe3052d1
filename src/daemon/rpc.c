// SPDX-License-Identifier: MIT
// JSON-RPC 2.0: request validation, batches, params checking, replies and errors.

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"
#include "rpc-scan.h"
#include "subscriptions.h"
#include "waiters.h"

/* A batch is answered by one array once every member finished (some may be deferred).  The
 * members' lines are serialised once, as they finish, into the array's text. */
struct rpc_batch {
	struct textbuf text;		/* "[member,member" so far */
	unsigned nreplies;
	unsigned outstanding;		/* members not finished, +1 while dispatching */
};

/*
 * The reply being serialised: one reusable buffer of the loop thread (its memory stays from
 * reply to reply).  A reply is built and then copied out at once (to the client's output, a
 * descriptor line or its batch) before anything else can run, so it is never shared.
 */
static struct textbuf reply_buf;

/* The serialised size of the batch so far: it is queued at once, so it counts against
 * max_output before it is sent. */
static size_t batch_bytes(const struct rpc_batch *b)
{
	return b->text.len;
}

/* Append one response line (text, without '\n') to a batch. */
static void batch_add(struct rpc_batch *b, const char *data, size_t len)
{
	if (textbuf_put(&b->text, b->nreplies ? "," : "[", 1) < 0 ||
	    textbuf_put(&b->text, data, len) < 0) {
		log_error("out of memory for a batch reply");
		return;
	}
	b->nreplies++;
}

static void batch_release(struct rpc_batch *b, struct client *c)
{
	if (--b->outstanding)
		return;
	if (c && b->nreplies && textbuf_put(&b->text, "]", 1) == 0)
		client_send_line(c, b->text.p, b->text.len);
	textbuf_free(&b->text);
	free(b);
}

/* Serialise a whole response object (borrowed) into reply_buf; false when it cannot. */
static bool reply_dump(json_t *msg)
{
	reply_buf.len = 0;
	if (textbuf_json(&reply_buf, msg) == 0)
		return true;
	log_error("cannot serialize a reply");
	return false;
}

/* Send (or collect into the batch) one response line (text without '\n', borrowed; NULL for
 * none: a notification, or one that could not be serialised).  A result may carry the
 * call's descriptor.  Frees the call. */
static void rpc_finish(struct rpc_call *call, const char *data, size_t len, bool is_result)
{
	struct client *c = call->client;

	if (call->finished)
		*call->finished = true;
	if (call->deferred && c) {
		TAILQ_REMOVE(&c->calls, call, entry);
		client_call_done(c);
	}
	if (call->batch) {
		if (data)
			batch_add(call->batch, data, len);
		batch_release(call->batch, c);
	} else if (data) {
		/* Only a result may carry a descriptor: an error never passes one. */
		if (call->pass_fd >= 0 && is_result)
			client_send_fd_line(c, data, len, call->pass_fd);
		else
			client_send_line(c, data, len);
	}
	if (call->after_reply)
		call->after_reply(call, call->after_arg);
	json_decref(call->id);
	free(call);
}

/* {"jsonrpc":"2.0","id":ID,"result": into reply_buf: the members in the order (and with the
 * separators) json_dumps(JSON_COMPACT) gives the object rpc_reply() built before. */
static bool reply_head(const struct rpc_call *call)
{
	reply_buf.len = 0;
	return textbuf_puts(&reply_buf, "{\"jsonrpc\":\"2.0\",\"id\":") == 0 &&
	       textbuf_json(&reply_buf, call->id) == 0 &&
	       textbuf_puts(&reply_buf, ",\"result\":") == 0;
}

void rpc_reply(struct rpc_call *call, json_t *result)
{
	bool ok = false;

	if (call->id) {
		ok = reply_head(call) && textbuf_json(&reply_buf, result) == 0 &&
		     textbuf_put(&reply_buf, "}", 1) == 0;
		if (!ok)
			log_error("%s: cannot serialize the reply", call->method->name);
	}
	json_decref(result);
	rpc_finish(call, ok ? reply_buf.p : NULL, reply_buf.len, true);
}

void rpc_reply_text(struct rpc_call *call, const char *result, size_t len)
{
	bool ok = false;

	if (call->id) {
		ok = reply_head(call) && textbuf_put(&reply_buf, result, len) == 0 &&
		     textbuf_put(&reply_buf, "}", 1) == 0;
		if (!ok)
			log_error("%s: cannot serialize the reply", call->method->name);
	}
	rpc_finish(call, ok ? reply_buf.p : NULL, reply_buf.len, true);
}

/* Finish a call with a whole response object (stolen; NULL for none). */
static void rpc_finish_json(struct rpc_call *call, json_t *msg)
{
	bool ok = msg && reply_dump(msg);

	json_decref(msg);
	rpc_finish(call, ok ? reply_buf.p : NULL, reply_buf.len, false);
}

static void rpc_verror(struct rpc_call *call, int code, const char *name, json_t *data,
		       const char *fmt, va_list ap)
{
	char message[256];
	json_t *msg = NULL;

	vsnprintf(message, sizeof(message), fmt, ap);
	if (code == MSHVD_ERR_INTERNAL || code == MSHVD_ERR_HYPERVISOR)
		log_full(LOG_LVL_WARNING, 0, -1, call->method ? call->method->name : NULL, 0,
			 "%s (uid %u pid %d): %s", call->method ? call->method->name : "?",
			 (unsigned)call->uid, (int)call->pid, message);
	else
		log_full(LOG_LVL_DEBUG, 0, -1, call->method ? call->method->name : NULL, 0,
			 "%s (uid %u): %s: %s", call->method ? call->method->name : "?",
			 (unsigned)call->uid, name, message);
	if (call->id)
		msg = rpc_error_object(call->id, code, name, data, message);
	else
		json_decref(data);
	rpc_finish_json(call, msg);
}

void rpc_error(struct rpc_call *call, int code, const char *name, json_t *data,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rpc_verror(call, code, name, data, fmt, ap);
	va_end(ap);
}

void rpc_error_invalid_state(struct rpc_call *call, const char *state, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rpc_verror(call, MSHVD_ERR_INVALID_STATE, MSHVD_ERRNAME_INVALID_STATE,
		   json_pack("{s:s}", "state", state), fmt, ap);
	va_end(ap);
}

void rpc_error_limit(struct rpc_call *call, enum limit_id limit)
{
	rpc_error(call, MSHVD_ERR_LIMIT_EXCEEDED, MSHVD_ERRNAME_LIMIT_EXCEEDED,
		  rpc_limit_data(limit), "limit %s (%llu) exceeded", limit_name(limit),
		  (unsigned long long)limit_value(&mshvd.limits, limit));
}

void rpc_error_hv(struct rpc_call *call, int err, uint32_t hv_status, const char *what)
{
	if (err == -EOPNOTSUPP) {
		rpc_error(call, MSHVD_ERR_UNSUPPORTED, MSHVD_ERRNAME_UNSUPPORTED,
			  json_pack("{s:s}", "backend", hv_name(mshvd.hv)),
			  "%s: not supported by the %s backend", what, hv_name(mshvd.hv));
		return;
	}
	rpc_error(call, MSHVD_ERR_HYPERVISOR, MSHVD_ERRNAME_HYPERVISOR,
		  json_pack("{s:i, s:o}", "errno", -err, "hv_status", json_hex(hv_status)),
		  "%s: %s (hv status 0x%x)", what, strerror(-err), hv_status);
}

int rpc_resolve_vm(struct rpc_call *call, const json_t *ref)
{
	char *s;

	call->vm = vm_lookup(ref, call->uid);
	if (call->vm)
		return 0;
	s = json_dumps(ref, JSON_ENCODE_ANY);
	rpc_error(call, MSHVD_ERR_NO_SUCH_VM, MSHVD_ERRNAME_NO_SUCH_VM, NULL, "no vm %s",
		  s ? s : "?");
	free(s);
	return -ENOENT;
}

int rpc_resolve_snapshot(struct rpc_call *call, const json_t *ref)
{
	char *s;

	call->snapshot = snapshot_lookup(ref, call->uid);
	if (call->snapshot)
		return 0;
	s = json_dumps(ref, JSON_ENCODE_ANY);
	rpc_error(call, MSHVD_ERR_NO_SUCH_SNAPSHOT, MSHVD_ERRNAME_NO_SUCH_SNAPSHOT, NULL,
		  "no snapshot %s", s ? s : "?");
	free(s);
	return -ENOENT;
}

/* Whether the row's params include the target param name (PARAM_TARGET). */
static bool has_target_param(const struct method *m, const char *name)
{
	for (const struct param_spec *p = m->params; p && p->name; p++)
		if (p->offset == PARAM_NO_FIELD && strcmp(p->name, name) == 0)
			return true;
	return false;
}

/* Resolve the row's target into call->vm / call->vcpu / call->snapshot; on failure the call
 * is finished. */
static int resolve_target(struct rpc_call *call, json_t *params)
{
	json_t *ref;

	if (call->method->target == TARGET_NONE)
		return 0;
	if (call->method->target == TARGET_SNAPSHOT)
		return rpc_resolve_snapshot(call, json_object_get(params, "snapshot"));
	if (rpc_resolve_vm(call, json_object_get(params, "vm")) < 0)
		return -ENOENT;
	if (has_target_param(call->method, "snapshot") &&
	    rpc_resolve_snapshot(call, json_object_get(params, "snapshot")) < 0)
		return -ENOENT;
	if (call->method->target != TARGET_VCPU)
		return 0;
	ref = json_object_get(params, "vcpu");
	call->vcpu = vcpu_lookup(call->vm, ref);
	if (call->vcpu)
		return 0;
	rpc_error(call, MSHVD_ERR_NO_SUCH_VCPU, MSHVD_ERRNAME_NO_SUCH_VCPU, NULL,
		  "vm %u has no vcpu %lld", call->vm->id, (long long)json_integer_value(ref));
	return -ENOENT;
}

/* The handler kept the call: link it to its client so a disconnect detaches it. */
static void rpc_defer(struct rpc_call *call)
{
	call->deferred = true;
	if (call->client) {
		TAILQ_INSERT_TAIL(&call->client->calls, call, entry);
		call->client->inflight++;
	}
}

static bool rpc_admit(uid_t uid)
{
	return !auth_uid_over(uid, LIMIT_max_clients_per_uid, 1);
}

int rpc_init(void)
{
	static const struct server_hooks hooks = { .line = rpc_handle_line, .admit = rpc_admit };
	int r;

	server_set_hooks(&hooks);
	/* Deferred calls first: a VM destroyed for its creator fails its waiters' calls, which
	 * must be detached from the client by then. */
	if ((r = server_on_client_gone(rpc_client_gone)) < 0 ||
	    (r = server_on_client_gone(subscriptions_free)) < 0 ||
	    (r = server_on_client_gone(vm_client_gone)) < 0 ||
	    (r = server_on_client_gone(snapshot_client_gone)) < 0)
		return r;
	/* Clients see an event before a waiter's reply that it caused. */
	if ((r = subscriptions_init()) < 0 || (r = waiters_init()) < 0)
		return r;
	return 0;
}

void rpc_client_gone(struct client *c)
{
	struct rpc_call *call;

	while ((call = TAILQ_FIRST(&c->calls))) {
		TAILQ_REMOVE(&c->calls, call, entry);
		call->client = NULL;
		call->deferred = false;
	}
	c->inflight = 0;
}

/* ---- params --------------------------------------------------------------------------------- */

static bool in_values(const char *const *values, const char *s)
{
	for (; values && *values; values++)
		if (strcmp(*values, s) == 0)
			return true;
	return false;
}

/* Whether v (any depth: the pre-scan bounded it to max_depth) respects the request shape
 * limits; else *limit and *value name the one exceeded.  A bulk string is exempt. */
static bool shape_ok(json_t *v, bool bulk, enum limit_id *limit)
{
	const struct limits *l = &mshvd.limits;
	const char *key;
	size_t i;
	json_t *e;

	if (json_is_string(v) && !bulk && json_string_length(v) > l->max_string) {
		*limit = LIMIT_max_string;
		return false;
	}
	if ((json_is_array(v) && json_array_size(v) > l->max_array) ||
	    (json_is_object(v) && json_object_size(v) > l->max_array)) {
		*limit = LIMIT_max_array;
		return false;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (!shape_ok(e, false, limit))
				return false;
	} else if (json_is_object(v)) {
		json_object_foreach(v, key, e) {
			if (strlen(key) > l->max_string) {
				*limit = LIMIT_max_string;
				return false;
			}
			if (!shape_ok(e, false, limit))
				return false;
		}
	}
	return true;
}

/* Check params (an object) against the spec; on failure write a message and return false.
 * A request shape limit exceeded sets *limit and *value too (limit-exceeded, not
 * invalid-params).  Nothing has happened yet, so bad params have no side effect. */
static bool params_check(const struct method *m, json_t *params, char *err, size_t errlen,
			 enum limit_id *limit)
{
	const struct param_spec *p;
	const char *key;
	json_t *v;

	json_object_foreach(params, key, v) {
		for (p = m->params; p && p->name; p++)
			if (strcmp(p->name, key) == 0)
				break;
		if (!p || !p->name) {
			snprintf(err, errlen, "unknown parameter \"%.64s\"", key);
			return false;
		}
	}
	for (p = m->params; p && p->name; p++) {
		uint64_t u;
		bool ok = true;
		size_t i;
		json_t *e;

		v = json_object_get(params, p->name);
		if (!v) {
			if (p->required) {
				snprintf(err, errlen, "missing parameter \"%s\"", p->name);
				return false;
			}
			continue;
		}
		/* Free-form string params are bounded by their handler (a VM name by
		 * max-name, write-memory data by max-io); max-string bounds the rest. */
		if (!shape_ok(v, p->type == PT_STRING, limit)) {
			snprintf(err, errlen, "parameter \"%s\" exceeds %s (%llu)", p->name,
				 limit_name(*limit),
				 (unsigned long long)limit_value(&mshvd.limits, *limit));
			return false;
		}
		switch (p->type) {
		case PT_VM:
		case PT_SNAPSHOT:
			ok = (json_is_integer(v) && json_integer_value(v) >= 0) || json_is_string(v);
			break;
		case PT_UINT:
			ok = json_is_integer(v) && json_integer_value(v) >= 0 &&
			     json_integer_value(v) <= UINT32_MAX;
			break;
		case PT_U64:
			ok = json_to_u64(v, &u) == 0;
			break;
		case PT_BOOL:
			ok = json_is_boolean(v);
			break;
		case PT_STRING:
			ok = json_is_string(v);
			break;
		case PT_ENUM:
			ok = json_is_string(v) && in_values(p->values, json_string_value(v));
			break;
		case PT_ENUMS:
		case PT_STRINGS:
			ok = json_is_array(v);
			json_array_foreach(v, i, e) {
				if (!json_is_string(e) || (p->type == PT_ENUMS &&
							  !in_values(p->values, json_string_value(e))))
					ok = false;
			}
			break;
		case PT_OBJECT:
			ok = json_is_object(v);
			break;
		case PT_ARRAY:
			ok = json_is_array(v);
			break;
		}
		if (!ok) {
			snprintf(err, errlen, "parameter \"%s\" must be %s", p->name,
				 param_type_name(p->type));
			return false;
		}
	}
	return true;
}

static unsigned value_index(const char *const *values, const char *s)
{
	unsigned i;

	for (i = 0; values[i]; i++)
		if (strcmp(values[i], s) == 0)
			break;
	return i;
}

/* Decode the checked params into args, once, as the spec says (see struct param_spec). */
static void params_decode(const struct method *m, json_t *params, void *args)
{
	for (const struct param_spec *p = m->params; p && p->name; p++) {
		json_t *v = json_object_get(params, p->name), *e;
		unsigned mask = 0;
		char *field;
		size_t i;

		if (!v || p->offset == PARAM_NO_FIELD)
			continue;
		field = (char *)args + p->offset;
		if (p->has)
			*(bool *)((char *)args + p->has - 1) = true;
		switch (p->type) {
		case PT_VM:
		case PT_SNAPSHOT:
			*(const json_t **)field = v;
			break;
		case PT_UINT:
			*(unsigned *)field = (unsigned)json_integer_value(v);
			break;
		case PT_U64:
			json_to_u64(v, (uint64_t *)field);
			break;
		case PT_BOOL:
			*(bool *)field = json_is_true(v);
			break;
		case PT_STRING:
			*(const char **)field = json_string_value(v);
			break;
		case PT_ENUM:
			*(unsigned *)field = value_index(p->values, json_string_value(v));
			break;
		case PT_ENUMS:
			json_array_foreach(v, i, e)
				mask |= 1u << value_index(p->values, json_string_value(e));
			*(unsigned *)field = mask;
			break;
		case PT_STRINGS:
		case PT_OBJECT:
		case PT_ARRAY:
			*(json_t **)field = v;
			break;
		}
	}
}

/*
 * A row's decoded params: on the stack of the dispatch when they fit (every row's do), so a
 * request allocates nothing for them.
 */
union call_args {
	max_align_t align;
	char b[256];
};

static void *call_args(const struct method *m, union call_args *buf)
{
	if (m->args_size <= sizeof(*buf)) {
		memset(buf, 0, m->args_size);
		return buf;
	}
	return calloc(1, m->args_size);
}

/* Run the row's handler on its decoded args and act on its answer: a kept call is linked to
 * its client; one neither finished nor kept is finished here, so no call outlives its handler
 * unlinked. */
static void call_run(struct rpc_call *call, void *args)
{
	const struct method *m = call->method;
	bool finished = false;
	enum rpc_retval r;

	call->finished = &finished;
	r = m->handler(call, args);
	if (finished)
		return;		/* a deferred call may be answered before its handler returns */
	call->finished = NULL;
	if (r == RPC_DEFERRED)
		rpc_defer(call);
	else
		rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL,
			  "%s returned without answering", m->name);
}

/* ---- dispatch ------------------------------------------------------------------------------- */

/* Queue (or collect into the batch) an error; data is stolen and may be NULL. */
static void send_error_data(struct client *c, struct rpc_batch *batch, json_t *id, int code,
			    const char *name, json_t *data, const char *message)
{
	json_t *msg = rpc_error_object(id, code, name, data, message);

	if (reply_dump(msg)) {
		if (batch)
			batch_add(batch, reply_buf.p, reply_buf.len);
		else
			client_send_line(c, reply_buf.p, reply_buf.len);
	}
	json_decref(msg);
}

static void send_error(struct client *c, struct rpc_batch *batch, json_t *id, int code,
		       const char *name, const char *message)
{
	send_error_data(c, batch, id, code, name, NULL, message);
}

static void dispatch_call(struct client *c, struct rpc_batch *batch, json_t *id,
			  const char *method, json_t *params);

static void dispatch(struct client *c, json_t *req, struct rpc_batch *batch)
{
	json_t *id = NULL, *jv, *jm, *params;
	bool has_id;
	char err[160];
	const char *key;
	json_t *v;

	if (!json_is_object(req)) {
		send_error(c, batch, NULL, MSHVD_ERR_INVALID_REQUEST,
			   MSHVD_ERRNAME_INVALID_REQUEST, "a request must be an object");
		return;
	}
	id = json_object_get(req, "id");
	has_id = id != NULL;
	if (id && !json_is_string(id) && !json_is_integer(id) && !json_is_null(id)) {
		send_error(c, batch, NULL, MSHVD_ERR_INVALID_REQUEST,
			   MSHVD_ERRNAME_INVALID_REQUEST, "id must be a string, an integer or null");
		return;
	}
	if (json_is_string(id) && json_string_length(id) > mshvd.limits.max_string) {
		send_error_data(c, batch, NULL, MSHVD_ERR_LIMIT_EXCEEDED,
				MSHVD_ERRNAME_LIMIT_EXCEEDED,
				rpc_limit_data(LIMIT_max_string),
				"id longer than max-string");
		return;
	}
	jv = json_object_get(req, "jsonrpc");
	jm = json_object_get(req, "method");
	params = json_object_get(req, "params");
	json_object_foreach(req, key, v) {
		if (strcmp(key, "jsonrpc") && strcmp(key, "method") && strcmp(key, "params") &&
		    strcmp(key, "id")) {
			snprintf(err, sizeof(err), "unknown member \"%.64s\"", key);
			send_error(c, batch, id, MSHVD_ERR_INVALID_REQUEST,
				   MSHVD_ERRNAME_INVALID_REQUEST, err);
			return;
		}
	}
	if (!json_is_string(jv) || strcmp(json_string_value(jv), "2.0") != 0) {
		send_error(c, batch, id, MSHVD_ERR_INVALID_REQUEST, MSHVD_ERRNAME_INVALID_REQUEST,
			   "jsonrpc must be \"2.0\"");
		return;
	}
	if (!json_is_string(jm)) {
		send_error(c, batch, id, MSHVD_ERR_INVALID_REQUEST, MSHVD_ERRNAME_INVALID_REQUEST,
			   "method must be a string");
		return;
	}
	if (params && !json_is_object(params) && !json_is_array(params)) {
		send_error(c, batch, id, MSHVD_ERR_INVALID_REQUEST, MSHVD_ERRNAME_INVALID_REQUEST,
			   "params must be an object or an array");
		return;
	}
	dispatch_call(c, batch, has_id ? id : NULL, json_string_value(jm), params);
}

/* A checked request of row m becomes a call (id borrowed); NULL after an out-of-memory
 * answer. */
static struct rpc_call *call_new(struct client *c, struct rpc_batch *batch, json_t *id,
				 const struct method *m)
{
	struct rpc_call *call = calloc(1, sizeof(*call));

	if (!call) {
		if (id)
			send_error(c, batch, id, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL,
				   "out of memory");
		return NULL;
	}
	call->client = c;
	call->pass_fd = -1;
	call->id = json_incref(id);
	call->method = m;
	call->uid = c->uid;
	call->pid = c->pid;
	if (batch) {
		call->batch = batch;
		batch->outstanding++;
	}
	return call;
}

/* Whether the caller may run the call's row at all; when not, the call is finished. */
static bool call_allowed(struct rpc_call *call)
{
	const struct method *m = call->method;

	if (m->perm == PERM_UNDECLARED) {
		/* A table row without a permission: never run it (make check catches these). */
		rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL,
			  "%s declares no permission", m->name);
	} else if (m->perm == PERM_OWNER && m->target == TARGET_NONE) {
		/* Ownership is checked by resolving the target: an owner row needs one. */
		rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL,
			  "%s is owner-only without a target", m->name);
	} else if (m->perm == PERM_ADMIN && !auth_is_admin(call->uid)) {
		rpc_error(call, MSHVD_ERR_PERMISSION_DENIED, MSHVD_ERRNAME_PERMISSION_DENIED, NULL,
			  "%s needs root", m->name);
	} else {
		/* Permission: PERM_OWNER rows are reachable only through a resolved target, which
		 * the caller may see (its owner or root); the rest are read-only or admin. */
		log_debug("client %u: %s", call->client->id, m->name);
		return true;
	}
	return false;
}

/* The request is a well-formed JSON-RPC object: find its method, check and run it.  id is
 * borrowed (NULL for a notification; JSON null is an id), params borrowed (NULL: none). */
static void dispatch_call(struct client *c, struct rpc_batch *batch, json_t *id,
			  const char *method, json_t *params)
{
	enum limit_id limit = LIMIT__COUNT;
	bool has_id = id != NULL;
	const struct method *m;
	struct rpc_call *call;
	char err[160];

	m = method_find(method);
	if (!m) {
		if (has_id) {
			snprintf(err, sizeof(err), "no method \"%.64s\"", method);
			send_error(c, batch, id, MSHVD_ERR_METHOD_NOT_FOUND,
				   MSHVD_ERRNAME_METHOD_NOT_FOUND, err);
		}
		return;
	}
	if (params && json_is_array(params)) {
		if (json_array_size(params)) {
			if (has_id)
				send_error(c, batch, id, MSHVD_ERR_INVALID_PARAMS,
					   MSHVD_ERRNAME_INVALID_PARAMS,
					   "params must be passed by name (an object)");
			return;
		}
		params = NULL;
	}
	if (!params) {
		/* One shared empty object for every call without params: nothing writes to
		 * params (handlers see the decoded args), so it needs no allocation per call. */
		static json_t *no_params;

		if (!no_params)
			no_params = json_object();
		params = no_params;
	}
	json_incref(params);
	if (!params) {
		if (has_id)
			send_error(c, batch, id, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL,
				   "out of memory");
		return;
	}
	if (!params_check(m, params, err, sizeof(err), &limit)) {
		if (has_id && limit != LIMIT__COUNT)
			send_error_data(c, batch, id, MSHVD_ERR_LIMIT_EXCEEDED,
					MSHVD_ERRNAME_LIMIT_EXCEEDED,
					rpc_limit_data(limit), err);
		else if (has_id)
			send_error(c, batch, id, MSHVD_ERR_INVALID_PARAMS,
				   MSHVD_ERRNAME_INVALID_PARAMS, err);
		json_decref(params);
		return;
	}

	call = call_new(c, batch, id, m);
	if (call && call_allowed(call) && resolve_target(call, params) == 0) {
		union call_args buf;
		void *args = call_args(m, &buf);

		if (args) {
			params_decode(m, params, args);
			call_run(call, args);
			if (args != &buf)
				free(args);
		} else {
			rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL,
				  "out of memory");
		}
	}
	json_decref(params);
}

/* ---- the common request without a parse (rpc-scan.h) ------------------------------------ */

/* The spec of row m's param named key (len bytes), or NULL. */
static const struct param_spec *spec_find(const struct method *m, const char *key, size_t len)
{
	for (const struct param_spec *p = m->params; p && p->name; p++)
		if (strncmp(p->name, key, len) == 0 && p->name[len] == 0)
			return p;
	return NULL;
}

static bool value_in(const char *const *values, const char *s, size_t len, unsigned *ret)
{
	for (unsigned i = 0; values && values[i]; i++) {
		if (strncmp(values[i], s, len) == 0 && values[i][len] == 0) {
			*ret = i;
			return true;
		}
	}
	return false;
}

/*
 * Check the scanned params against row m's spec and decode them into args (zeroed, of
 * m->args_size), the target references into *vm, *vcpu, *snapshot, strings copied with their
 * terminator into strings (borrowed by args).  Exactly the checks of params_check() and the
 * decoding of params_decode() for the values a scan yields; false for anything they would
 * refuse or that needs a jansson value (a non-target reference): the parser then answers.
 */
static bool scan_decode(const struct method *m, const struct rpc_scan *r, void *args,
			char *strings, const struct rpc_scan_value **targets)
{
	const struct limits *l = &mshvd.limits;
	uint64_t seen = 0;
	unsigned idx = 0;

	if (r->nparams > l->max_array)
		return false;
	for (unsigned i = 0; i < r->nparams; i++) {
		const struct rpc_scan_value *v = &r->params[i];
		const struct param_spec *p = spec_find(m, v->key, v->key_len);
		uint64_t u = v->u;
		char *field;

		if (!p || p - m->params >= 64)
			return false;
		seen |= 1ull << (p - m->params);
		field = p->offset == PARAM_NO_FIELD ? NULL : (char *)args + p->offset;
		switch (p->type) {
		case PT_VM:
		case PT_SNAPSHOT:
			if (field || (v->type != SV_UINT && v->type != SV_STRING) ||
			    (v->type == SV_STRING && v->len > l->max_string))
				return false;
			targets[p->type == PT_VM ? 0 : 2] = v;
			break;
		case PT_UINT:
			if (v->type != SV_UINT || v->u > UINT32_MAX)
				return false;
			if (!field)
				targets[1] = v;	/* the vCPU */
			else
				*(unsigned *)field = (unsigned)v->u;
			break;
		case PT_U64:
			if (v->type == SV_STRING ? v->len > l->max_string ||
						   wire_hex_to_u64(v->s, v->len, &u) < 0 :
						   v->type != SV_UINT)
				return false;
			if (field)
				*(uint64_t *)field = u;
			break;
		case PT_BOOL:
			if (v->type != SV_BOOL)
				return false;
			if (field)
				*(bool *)field = v->u;
			break;
		case PT_STRING:
			if (v->type != SV_STRING)
				return false;
			if (field) {
				memcpy(strings, v->s, v->len);
				strings[v->len] = 0;
				*(const char **)field = strings;
				strings += v->len + 1;
			}
			break;
		case PT_ENUM:
			if (v->type != SV_STRING || v->len > l->max_string ||
			    !value_in(p->values, v->s, v->len, &idx))
				return false;
			if (field)
				*(unsigned *)field = idx;
			break;
		default:
			return false;	/* arrays and objects are never scanned */
		}
		if (field && p->has)
			*(bool *)((char *)args + p->has - 1) = true;
	}
	for (const struct param_spec *p = m->params; p && p->name; p++)
		if (p->required && !(seen & 1ull << (p - m->params)))
			return false;
	return true;
}

/* A scanned reference's NUL-terminated name into buf (RPC_SCAN_MAX_STRING + 1 bytes). */
static const char *ref_name(const struct rpc_scan_value *v, char *buf)
{
	memcpy(buf, v->s, v->len);
	buf[v->len] = 0;
	return buf;
}

/* Resolve the row's target from scanned references as resolve_target() does; false when it
 * does not resolve (the parser answers with the error). */
static bool scan_resolve(const struct method *m, const struct rpc_scan_value *const *targets,
			 uid_t uid, struct vm **vm, struct vcpu **vcpu, struct snapshot **snapshot)
{
	const struct rpc_scan_value *t;
	char name[RPC_SCAN_MAX_STRING + 1];

	if (m->target == TARGET_NONE)
		return true;
	if ((t = targets[2])) {
		*snapshot = t->type == SV_UINT ? snapshot_lookup_id(t->u, uid) :
						 snapshot_lookup_name(ref_name(t, name), uid);
		if (!*snapshot)
			return false;
	}
	if (m->target == TARGET_SNAPSHOT)
		return *snapshot != NULL;
	if (!(t = targets[0]))
		return false;
	*vm = t->type == SV_UINT ? vm_lookup_id(t->u, uid) : vm_lookup_name(ref_name(t, name), uid);
	if (!*vm)
		return false;
	if (m->target != TARGET_VCPU)
		return true;
	return targets[1] && (*vcpu = vcpu_lookup_index(*vm, targets[1]->u));
}

/*
 * Dispatch a scanned request: everything the parser would do the same way, with no jansson
 * tree.  Returns 1 when the scan does not settle it (the caller parses the line: bad params,
 * an unknown method or target, whose answers the general path writes), 0 when dispatched,
 * -1 when the client must be closed.
 */
static int dispatch_scanned(struct client *c, const struct rpc_scan *r)
{
	const struct rpc_scan_value *targets[3] = { NULL, NULL, NULL };
	char method[64], strings[RPC_SCAN_MAX_PARAMS * (RPC_SCAN_MAX_STRING + 1)];
	struct snapshot *snapshot = NULL;
	struct vcpu *vcpu = NULL;
	struct vm *vm = NULL;
	const struct method *m;
	struct rpc_call *call;
	union call_args buf;
	json_t *id = NULL;
	void *args;

	memcpy(method, r->method, r->method_len);
	method[r->method_len] = 0;
	m = method_find(method);
	if (!m || m->args_size > sizeof(buf))
		return 1;
	args = call_args(m, &buf);
	if (!scan_decode(m, r, args, strings, targets) ||
	    !scan_resolve(m, targets, c->uid, &vm, &vcpu, &snapshot))
		return 1;
	if (r->has_id) {
		id = r->id_type == ID_INT ? json_integer(r->id_int) :
		     r->id_type == ID_STRING ? json_stringn(r->id_str, r->id_len) : json_null();
		if (!id)
			return -1;
	}
	call = call_new(c, NULL, id, m);
	json_decref(id);
	if (call && call_allowed(call)) {
		call->vm = vm;
		call->vcpu = vcpu;
		call->snapshot = snapshot;
		call_run(call, args);
	}
	return 0;
}

bool rpc_handle_line(struct client *c, const char *line, size_t len)
{
	struct rpc_scan scan;
	json_error_t jerr;
	json_t *req;
	char err[200];
	size_t i;

	for (i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			break;
	if (i == len)
		return true;	/* blank lines are ignored */

	if (mshvd.limits.max_depth >= 2 && rpc_scan(line, len, mshvd.limits.max_string, &scan)) {
		int r = dispatch_scanned(c, &scan);

		if (r <= 0)
			return r == 0;
	}

	if (json_text_depth(line, len) > mshvd.limits.max_depth) {
		snprintf(err, sizeof(err), "nesting deeper than %u", mshvd.limits.max_depth);
		send_error_data(c, NULL, NULL, MSHVD_ERR_PARSE, MSHVD_ERRNAME_PARSE,
				rpc_limit_data(LIMIT_max_depth), err);
		return true;
	}
	req = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (!req) {
		snprintf(err, sizeof(err), "parse error at %d: %s", jerr.position, jerr.text);
		send_error(c, NULL, NULL, MSHVD_ERR_PARSE, MSHVD_ERRNAME_PARSE, err);
		return true;
	}
	if (json_is_array(req)) {
		struct rpc_batch *b;
		json_t *e;

		if (json_array_size(req) == 0 || json_array_size(req) > mshvd.limits.max_batch) {
			snprintf(err, sizeof(err), "a batch holds 1 to %u requests",
				 mshvd.limits.max_batch);
			send_error_data(c, NULL, NULL, MSHVD_ERR_INVALID_REQUEST,
					MSHVD_ERRNAME_INVALID_REQUEST,
					json_array_size(req) ? rpc_limit_data(LIMIT_max_batch)
							     : NULL, err);
			json_decref(req);
			return true;
		}
		b = calloc(1, sizeof(*b));
		if (!b) {
			json_decref(req);
			return false;
		}
		b->outstanding = 1;
		json_array_foreach(req, i, e) {
			json_t *id = json_object_get(e, "id");

			/* Replies are never dropped, so a batch whose replies would not fit in
			 * the output limit is not run beyond it: its remaining members are
			 * refused (a notification silently), before any side effect. */
			if (batch_bytes(b) + client_output_len(c) < mshvd.limits.max_output) {
				dispatch(c, e, b);
			} else if (json_is_object(e) && id && (json_is_string(id) ||
								json_is_integer(id))) {
				send_error_data(c, b, id, MSHVD_ERR_LIMIT_EXCEEDED,
						MSHVD_ERRNAME_LIMIT_EXCEEDED,
						rpc_limit_data(LIMIT_max_output),
						"the batch's replies exceed max-output");
			}
		}
		batch_release(b, c);
	} else {
		dispatch(c, req, NULL);
	}
	json_decref(req);
	return true;
}
