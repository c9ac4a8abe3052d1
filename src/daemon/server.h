/* SPDX-License-Identifier: MIT */
/* The socket and its clients (layer 2, see base.h): accept, framing, output, backpressure. */
#ifndef MSHVD_SERVER_H
#define MSHVD_SERVER_H

#include "base.h"
#include "events.h"

/* Kept by higher modules per client; the server only initialises and hands them over. */
struct rpc_call;
TAILQ_HEAD(rpc_call_list, rpc_call);
struct subscription;
TAILQ_HEAD(subscription_list, subscription);
struct fd_line;
TAILQ_HEAD(fd_line_list, fd_line);

/* Descriptors a connection may have received and not yet handed to a request: more are
 * closed at once (a request line takes at most one). */
#define SERVER_MAX_RX_FDS	4

struct client {
	unsigned id;
	int fd;
	struct evbuffer *in, *out;	/* request bytes read, reply bytes not yet written */
	struct event *read_ev;		/* added while reading (no backpressure) */
	struct event *write_ev;		/* output the kernel did not take: wait, with a timeout */
	struct event *resume_ev;	/* handle buffered lines once backpressure ends */
	bool reading;
	bool flush_pending;		/* output queued this loop iteration: on the flush list */
	TAILQ_ENTRY(client) flush_entry;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	unsigned inflight;		/* requests without a reply yet */
	bool closing;			/* close once the output is flushed */
	bool dead;			/* freed on the next loop turn */
	struct rpc_call_list calls;	/* deferred calls */
	struct subscription_list subs;
	unsigned nsubs;
	unsigned next_sub;
	struct fd_line_list fd_lines;	/* lines waiting to go out with a descriptor */
	struct event *fd_write_ev;	/* write readiness for the head of fd_lines */
	/* Backpressure on output (limits.max_output): events that did not fit are dropped and
	 * reported as one events-lost {from, to} once the output has drained. */
	uint64_t lost_from, lost_to;	/* 0: nothing lost */
	bool output_throttled;		/* reading stopped until the output drains */
	struct event *frame_ev;		/* partial request line timeout */
	/* Requests are read with recvmsg(): a descriptor sent with the first byte of a request
	 * line (SCM_RIGHTS, the convention of include/mshvd/client.h) belongs to that line. */
	uint64_t in_pos;		/* stream offset of the first byte of in */
	uint64_t rx_pos;		/* stream offset after the last byte received */
	struct { int fd; uint64_t pos; } rx_fds[SERVER_MAX_RX_FDS];
	unsigned nrx_fds;		/* received, their line not yet handled */
	int line_fd;			/* the descriptor of the line being handled, or -1: a
					 * handler that keeps it takes it (client_take_fd()) */
	TAILQ_ENTRY(client) entry;
};
TAILQ_HEAD(client_list, client);

extern struct client_list clients;
extern unsigned nclients;

int server_listen(const char *path, const char *group);
/* Serve an inherited listening socket (socket activation).  The fd is ours to close; the socket
 * file stays the service manager's and is never unlinked.  Sets mshvd.socket_path. */
int server_listen_fd(int fd);
void server_stop_listening(void);
/* Queue one JSON value (borrowed) as a compact line.  Dropped for dead clients. */
void client_send(struct client *c, json_t *msg);
/* Queue data (len bytes of one JSON text, without the '\n', borrowed: copied) as a line. */
void client_send_line(struct client *c, const char *data, size_t len);
/* Like client_send_line(), with descriptor fd (borrowed; duplicated if the line has to wait)
 * attached as SCM_RIGHTS to the sendmsg() that carries the line's first byte (the
 * convention of include/mshvd/client.h).  Order with other lines is kept. */
void client_send_fd_line(struct client *c, const char *data, size_t len, int fd);
/* The descriptor that came with the request line being handled (its new owner is the caller),
 * or -1.  Loop thread, from the line hook only. */
int client_take_fd(struct client *c);
/* Write this loop iteration's queued output only after the callbacks made active so far: the
 * model runs a vCPU step it just scheduled before the replies go out, so the replies of a
 * complete + run {wait} pair leave in one write.  Loop thread. */
void server_flush_last(void);
/* Detach a client at once (its memory goes one loop turn later). */
void client_kill(struct client *c);
/* Close after flushing the output. */
void client_close(struct client *c);
/* Bytes queued for c and not yet in the kernel. */
size_t client_output_len(struct client *c);
/* Queue an event line (len bytes of text without the '\n', borrowed) with sequence number
 * seq, unless the client's output is over limits.max_output: then it (and every later event
 * until the output drained) is dropped and counted for one events-lost notice.  Replies never
 * go through here. */
void client_send_event(struct client *c, const char *data, size_t len, uint64_t seq);
/* A deferred call finished: count it and resume reading if the client was throttled. */
void client_call_done(struct client *c);

/*
 * What the layers above do with clients, registered once before the first client connects
 * (rpc_init()).  The server calls nothing above itself.
 */
struct server_hooks {
	/* One request line (loop thread).  Returns false when the client must be closed after
	 * its output is flushed. */
	bool (*line)(struct client *c, const char *line, size_t len);
	/* Whether uid may open one more connection (max-clients-per-uid); NULL: yes. */
	bool (*admit)(uid_t uid);
};
void server_set_hooks(const struct server_hooks *hooks);
/* Called by client_kill() in the order registered, while c is still listed (its calls,
 * subscriptions and the VMs it created let go of it).  At most SERVER_MAX_GONE_HOOKS. */
#define SERVER_MAX_GONE_HOOKS	4
typedef void client_gone_fn(struct client *c);
int server_on_client_gone(client_gone_fn *fn);

#endif
