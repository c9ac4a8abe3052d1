/* SPDX-License-Identifier: MIT */
/* libmshvd-client: a small synchronous client for the mshvd JSON-RPC socket (used by mshvctl). */
#ifndef MSHVD_CLIENT_H
#define MSHVD_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Wire protocol (see issue "mshvd: the daemon" and rpc-schema/): a Unix stream socket carrying
 * JSON-RPC 2.0, one JSON text per '\n'-terminated line in each direction.  Server notifications
 * {"jsonrpc":"2.0","method":"event","params":{seq,time,kind,vm,vcpu,...}} arrive on connections
 * that called "subscribe".
 *
 * File descriptor passing (results of add-ioeventfd / add-irqfd with "pass_fd": true):
 *   - The daemon sends the reply line with sendmsg() and attaches the descriptor(s) as one
 *     SCM_RIGHTS control message on the sendmsg() call that carries the FIRST byte of that reply
 *     line (normally the whole line is one sendmsg).  No other line carries ancillary data.
 *   - The reply's result object says how many descriptors are attached: "passed_fds": N
 *     (an integer, normally 1).  Results without "passed_fds" carry none.
 *   - The client receives with recvmsg(MSG_CMSG_CLOEXEC), queues descriptors in arrival order and
 *     hands the first N queued descriptors to the reply that declares "passed_fds": N.  Because a
 *     descriptor arrives no later than the first byte of its line, and lines and descriptors keep
 *     their order on a stream socket, this matching is exact even when recvmsg() glues lines.
 *   - Descriptors nobody claims are closed.  The daemon keeps its own copy of every passed fd.
 *
 * Conventions: functions return 0 or a negative errno; ret_ out-parameters are written only on
 * success.  A client object is not thread-safe: use it from one thread at a time.  Every
 * descriptor the library creates or receives is O_CLOEXEC.
 */

/* Default socket path; MSHVD_SOCKET in the environment overrides it. */
#define MSHVD_CLIENT_DEFAULT_SOCKET	"/run/mshvd/mshvd.sock"

/* Returned (negated) when the daemon answered with a JSON-RPC error; details in the error struct. */
#define MSHVD_CLIENT_EREMOTE		EREMOTEIO

/* Maximum accepted length of one incoming line (a larger line is a protocol error). */
#define MSHVD_CLIENT_MAX_LINE		(64u << 20)

struct mshvd_client;

/*
 * A JSON-RPC error reply, decoded.  Filled by the call functions when they return
 * -MSHVD_CLIENT_EREMOTE; zeroed (code 0, empty name) by them on any other outcome.
 */
struct mshvd_error {
	int code;		/* JSON-RPC error code, e.g. -32602 */
	char name[64];		/* data.name ("no-such-vm", ...), or a name derived from code */
	char message[256];	/* error.message, truncated */
	int err;		/* data.errno (positive errno), 0 when absent */
	int64_t hv_status;	/* data.hv_status, -1 when absent */
	json_t *data;		/* error.data: a reference owned by this struct, or NULL */
};

/* Release error->data and zero the struct.  Accepts NULL.  Safe on a zeroed struct. */
void mshvd_error_clear(struct mshvd_error *error);

/*
 * The symbolic name of a JSON-RPC error code: the standard codes (-32700 "parse-error",
 * -32600 "invalid-request", -32601 "method-not-found", -32602 "invalid-params", -32603
 * "internal-error") and the daemon's application codes.  Returns NULL for an unknown code.
 */
const char *mshvd_error_code_name(int code);

/*
 * The socket path a client uses when given none: $MSHVD_SOCKET if set and non-empty, else
 * MSHVD_CLIENT_DEFAULT_SOCKET.  Returns a pointer into the environment or a string constant.
 */
const char *mshvd_client_default_socket(void);

/*
 * Connect to the daemon at path (NULL: mshvd_client_default_socket()).  The socket is
 * non-blocking and close-on-exec; the library polls internally.  Returns 0 and *ret_client, or
 * a negative errno from socket()/connect() (-ENOENT: no socket, -ECONNREFUSED: no daemon,
 * -ENAMETOOLONG: path too long for sockaddr_un).
 */
int mshvd_client_connect(const char *path, struct mshvd_client **ret_client);

/* Close the connection and free everything, including queued events and fds.  Accepts NULL;
 * returns NULL. */
struct mshvd_client *mshvd_client_free(struct mshvd_client *client);

/* The path this client connected to (owned by the client). */
const char *mshvd_client_socket_path(const struct mshvd_client *client);

/*
 * Send a request.  params is STOLEN (the client takes the reference, also on failure); NULL means
 * no params member.  *ret_id (optional) receives the request id to pass to mshvd_client_wait();
 * sending several requests before waiting pipelines them.  Replies that arrive for other ids are
 * kept until they are waited for.  Returns 0, -EPIPE/-ECONNRESET when the daemon went away,
 * -ENOMEM.
 */
int mshvd_client_send(struct mshvd_client *client, const char *method, json_t *params,
		      uint64_t *ret_id);

/* The same with descriptor fd (borrowed: the daemon gets a copy) attached to the request
 * (SCM_RIGHTS with the line's first byte), for save-snapshot and load-snapshot; fd -1: none. */
int mshvd_client_send_fd(struct mshvd_client *client, const char *method, json_t *params,
			 int fd, uint64_t *ret_id);

/*
 * Wait for the reply to request id, at most timeout_ms milliseconds (negative: forever).  Events
 * that arrive meanwhile are queued (see mshvd_client_dispatch()).
 *   0: success, *ret_result (optional) is a NEW reference to the result; drop it with
 *      json_decref().  If the result declared "passed_fds", the first passed descriptor goes to
 *      *ret_fd when ret_fd is not NULL (else it is closed); *ret_fd is -1 when none came.
 *   -MSHVD_CLIENT_EREMOTE: the daemon answered with an error, decoded into *error (optional;
 *      release it with mshvd_error_clear()).
 *   -ETIMEDOUT, -EINTR (a signal arrived; the reply can still be waited for later), -ECONNRESET
 *   (the daemon closed the connection), -EPROTO (malformed input), -ENOENT (unknown id).
 */
int mshvd_client_wait(struct mshvd_client *client, uint64_t id, int timeout_ms,
		      json_t **ret_result, int *ret_fd, struct mshvd_error *error);

/*
 * mshvd_client_send() + mshvd_client_wait(): one synchronous call.  params is STOLEN;
 * *ret_result is a NEW reference.  Returns as mshvd_client_wait().
 */
int mshvd_client_call(struct mshvd_client *client, const char *method, json_t *params,
		      int timeout_ms, json_t **ret_result, struct mshvd_error *error);

/* Like mshvd_client_call(), also returning a passed descriptor (or -1) in *ret_fd. */
int mshvd_client_call_fd(struct mshvd_client *client, const char *method, json_t *params,
			 int timeout_ms, json_t **ret_result, int *ret_fd,
			 struct mshvd_error *error);

/*
 * Events.  params is BORROWED for the duration of the callback (json_incref() it to keep it).
 * The callback runs only from mshvd_client_dispatch(), never from inside a call, so it may make
 * calls on the same client.
 */
typedef void (*mshvd_event_fn)(struct mshvd_client *client, json_t *params, void *userdata);

/* Set (or with fn NULL, clear) the event callback. */
void mshvd_client_set_event_handler(struct mshvd_client *client, mshvd_event_fn fn,
				    void *userdata);

/*
 * Subscribe to events.  params is STOLEN (may be NULL): {vm?, kinds?, since?}.  The client
 * remembers the filter for mshvd_client_reconnect().  *ret_result (optional) is a NEW reference
 * to {subscription, seq}.  Returns as mshvd_client_call().
 */
int mshvd_client_subscribe(struct mshvd_client *client, json_t *params, int timeout_ms,
			   json_t **ret_result, struct mshvd_error *error);

/*
 * Close the connection and connect again to the same path.  If the client had subscribed, it
 * subscribes again with the same filter and "since" set to the sequence number of the last event
 * it received (the daemon replays events with seq > since), so that exactly the missed events
 * arrive (or "events-lost" first).  Events already queued stay queued; replayed events with a seq already
 * seen are dropped.  Pending requests are failed: waiting for them returns -ECONNRESET.
 */
int mshvd_client_reconnect(struct mshvd_client *client, int timeout_ms,
			   struct mshvd_error *error);

/* The socket descriptor, to poll for POLLIN in an external loop.  Owned by the client. */
int mshvd_client_fd(const struct mshvd_client *client);

/*
 * Whether events are already queued in user space (then polling the fd may not wake up).
 * A loop polls the fd only when this is false.
 */
bool mshvd_client_has_events(const struct mshvd_client *client);

/*
 * Read whatever has arrived, waiting at most timeout_ms (0: do not block, negative: forever) for
 * the first byte when nothing is queued, then hand every queued event to the callback.  Without
 * a callback the events stay queued for mshvd_client_next_event().  Returns the number of events
 * dispatched (>= 0), -ECONNRESET when the daemon closed the connection and nothing is left,
 * -EINTR, -EPROTO.
 */
int mshvd_client_dispatch(struct mshvd_client *client, int timeout_ms);

/*
 * Pull-style alternative to the callback: take the oldest queued event, waiting at most
 * timeout_ms for one.  *ret_params is a NEW reference to the event's params.  Returns 0,
 * -ETIMEDOUT (also immediately with timeout 0), -ECONNRESET, -EINTR, -EPROTO.
 */
int mshvd_client_next_event(struct mshvd_client *client, int timeout_ms, json_t **ret_params);

/* Sequence number of the last event received (0 before any). */
uint64_t mshvd_client_last_seq(const struct mshvd_client *client);

/*
 * Parse a 64-bit quantity as the daemon returns it (BORROWED): a JSON integer or a "0x..."
 * string, the wire grammar of mshvd/protocol.h, the same code as the daemon's.  Returns 0 and
 * *ret, or -EINVAL.
 */
int mshvd_json_u64(const json_t *value, uint64_t *ret);

#ifdef __cplusplus
}
#endif

#endif
