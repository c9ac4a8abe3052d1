// SPDX-License-Identifier: MIT
/* libmshvd-client: connection, line framing, requests and replies, events and passed fds. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mshvd/client.h"
#include "mshvd/protocol.h"
#include "shared/num.h"

#define READ_CHUNK	65536
#define MAX_RECV_FDS	16

/* A reply read before anyone waited for it. */
struct reply {
	struct reply *next;
	uint64_t id;
	json_t *msg;		/* the whole response object (owned) */
	int fds[MAX_RECV_FDS];
	unsigned nfds;
};

struct event {
	struct event *next;
	json_t *params;		/* owned */
};

struct mshvd_client {
	int fd;
	char *path;
	uint64_t next_id;

	char *in;		/* received bytes not yet parsed into lines */
	size_t in_len, in_size;
	bool eof;

	int fdq[MAX_RECV_FDS * 4];	/* received descriptors in arrival order */
	unsigned fdq_len;

	struct reply *replies;
	struct event *ev_head, **ev_tail;

	mshvd_event_fn ev_fn;
	void *ev_userdata;

	json_t *sub_params;	/* the last subscribe filter (owned), NULL if not subscribed */
	uint64_t last_seq;
	uint64_t epoch_first_id;	/* ids below this belong to a previous connection */
};

static const struct {
	int code;
	const char *name;
} code_names[] = {
	{ MSHVD_ERR_PARSE, MSHVD_ERRNAME_PARSE },
	{ MSHVD_ERR_INVALID_REQUEST, MSHVD_ERRNAME_INVALID_REQUEST },
	{ MSHVD_ERR_METHOD_NOT_FOUND, MSHVD_ERRNAME_METHOD_NOT_FOUND },
	{ MSHVD_ERR_INVALID_PARAMS, MSHVD_ERRNAME_INVALID_PARAMS },
	{ MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL },
	{ MSHVD_ERR_NO_SUCH_VM, MSHVD_ERRNAME_NO_SUCH_VM },
	{ MSHVD_ERR_NO_SUCH_VCPU, MSHVD_ERRNAME_NO_SUCH_VCPU },
	{ MSHVD_ERR_PERMISSION_DENIED, MSHVD_ERRNAME_PERMISSION_DENIED },
	{ MSHVD_ERR_LIMIT_EXCEEDED, MSHVD_ERRNAME_LIMIT_EXCEEDED },
	{ MSHVD_ERR_INVALID_STATE, MSHVD_ERRNAME_INVALID_STATE },
	{ MSHVD_ERR_HYPERVISOR, MSHVD_ERRNAME_HYPERVISOR },
	{ MSHVD_ERR_UNSUPPORTED, MSHVD_ERRNAME_UNSUPPORTED },
	{ MSHVD_ERR_TIMEOUT, MSHVD_ERRNAME_TIMEOUT },
};

_Static_assert(sizeof(MSHVD_CLIENT_DEFAULT_SOCKET) == sizeof(MSHVD_DEFAULT_SOCKET),
	       "client.h and protocol.h disagree on the default socket");

const char *mshvd_error_code_name(int code)
{
	for (size_t i = 0; i < sizeof(code_names) / sizeof(code_names[0]); i++)
		if (code_names[i].code == code)
			return code_names[i].name;
	return NULL;
}

void mshvd_error_clear(struct mshvd_error *error)
{
	if (!error)
		return;
	json_decref(error->data);
	memset(error, 0, sizeof(*error));
	error->hv_status = -1;
}

const char *mshvd_client_default_socket(void)
{
	const char *s = getenv("MSHVD_SOCKET");

	return s && *s ? s : MSHVD_CLIENT_DEFAULT_SOCKET;
}

int mshvd_json_u64(const json_t *value, uint64_t *ret)
{
	return json_to_u64(value, ret);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline (-1: none), for poll(). */
static int remaining(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void drop_connection_state(struct mshvd_client *c)
{
	while (c->replies) {
		struct reply *r = c->replies;

		c->replies = r->next;
		json_decref(r->msg);
		close_fds(r->fds, r->nfds);
		free(r);
	}
	close_fds(c->fdq, c->fdq_len);
	c->fdq_len = 0;
	c->in_len = 0;
	c->eof = false;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

struct mshvd_client *mshvd_client_free(struct mshvd_client *c)
{
	if (!c)
		return NULL;
	drop_connection_state(c);
	while (c->ev_head) {
		struct event *e = c->ev_head;

		c->ev_head = e->next;
		json_decref(e->params);
		free(e);
	}
	json_decref(c->sub_params);
	free(c->in);
	free(c->path);
	free(c);
	return NULL;
}

static int open_socket(const char *path, int *ret_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Connect blocking (a Unix connect completes or fails at once), then go non-blocking. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int mshvd_client_connect(const char *path, struct mshvd_client **ret_client)
{
	struct mshvd_client *c;
	int r;

	if (!ret_client)
		return -EINVAL;
	if (!path)
		path = mshvd_client_default_socket();
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	c->next_id = 1;
	c->ev_tail = &c->ev_head;
	c->path = strdup(path);
	if (!c->path) {
		mshvd_client_free(c);
		return -ENOMEM;
	}
	r = open_socket(path, &c->fd);
	if (r < 0) {
		mshvd_client_free(c);
		return r;
	}
	*ret_client = c;
	return 0;
}

const char *mshvd_client_socket_path(const struct mshvd_client *c)
{
	return c->path;
}

int mshvd_client_fd(const struct mshvd_client *c)
{
	return c->fd;
}

bool mshvd_client_has_events(const struct mshvd_client *c)
{
	return c->ev_head != NULL;
}

uint64_t mshvd_client_last_seq(const struct mshvd_client *c)
{
	return c->last_seq;
}

void mshvd_client_set_event_handler(struct mshvd_client *c, mshvd_event_fn fn, void *userdata)
{
	c->ev_fn = fn;
	c->ev_userdata = userdata;
}

/* Take the first n queued descriptors (fewer if fewer arrived). */
static unsigned take_fds(struct mshvd_client *c, unsigned n, int *out)
{
	if (n > MAX_RECV_FDS)
		n = MAX_RECV_FDS;
	if (n > c->fdq_len)
		n = c->fdq_len;
	memcpy(out, c->fdq, n * sizeof(int));
	memmove(c->fdq, c->fdq + n, (c->fdq_len - n) * sizeof(int));
	c->fdq_len -= n;
	return n;
}

static int queue_event(struct mshvd_client *c, json_t *params)
{
	json_t *seqv = json_object_get(params, "seq");
	uint64_t seq;
	struct event *e;

	if (mshvd_json_u64(seqv, &seq) == 0) {
		/* After a reconnect the replay may overlap what we already have. */
		if (seq && seq <= c->last_seq)
			return 0;
		c->last_seq = seq;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->params = json_incref(params);
	*c->ev_tail = e;
	c->ev_tail = &e->next;
	return 0;
}

/* One complete line: an event, a reply (or a batch reply, kept whole under id 0). */
static int handle_line(struct mshvd_client *c, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *msg, *id, *method;
	struct reply *r;
	uint64_t idv = 0;
	int ret = 0;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (!len)
		return 0;
	msg = json_loadb(line, len, 0, &jerr);
	if (!msg || !json_is_object(msg)) {
		json_decref(msg);
		return -EPROTO;
	}
	method = json_object_get(msg, "method");
	if (json_is_string(method)) {
		/* A server notification: only "event" is defined. */
		if (strcmp(json_string_value(method), "event") == 0 &&
		    json_is_object(json_object_get(msg, "params")))
			ret = queue_event(c, json_object_get(msg, "params"));
		json_decref(msg);
		return ret;
	}
	id = json_object_get(msg, "id");
	if (json_is_integer(id) && json_integer_value(id) > 0)
		idv = (uint64_t)json_integer_value(id);
	r = calloc(1, sizeof(*r));
	if (!r) {
		json_decref(msg);
		return -ENOMEM;
	}
	r->id = idv;
	r->msg = msg;
	{
		json_t *n = json_object_get(json_object_get(msg, "result"), "passed_fds");

		if (json_is_integer(n) && json_integer_value(n) > 0)
			r->nfds = take_fds(c, (unsigned)json_integer_value(n), r->fds);
	}
	r->next = c->replies;
	c->replies = r;
	return 0;
}

static void stash_fds(struct mshvd_client *c, struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t n;
		int *fds;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		fds = (int *)CMSG_DATA(cm);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, fds + i, sizeof(fd));
			if (c->fdq_len < sizeof(c->fdq) / sizeof(c->fdq[0]))
				c->fdq[c->fdq_len++] = fd;
			else
				close(fd);	/* nobody declared them: a misbehaving peer */
		}
	}
}

/*
 * Read once (non-blocking) and parse complete lines.  Returns 1 if bytes were read, 0 if nothing
 * was available, -ECONNRESET at EOF, other negative errno on error.
 */
static int read_some(struct mshvd_client *c)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_RECV_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov;
	struct msghdr mh = { 0 };
	ssize_t n;
	size_t start, i;

	if (c->fd < 0 || c->eof)
		return -ECONNRESET;
	if (c->in_size - c->in_len < READ_CHUNK) {
		size_t size = c->in_size ? c->in_size * 2 : READ_CHUNK * 2;
		char *p;

		if (size > MSHVD_CLIENT_MAX_LINE + READ_CHUNK * 2)
			return -EPROTO;
		p = realloc(c->in, size);
		if (!p)
			return -ENOMEM;
		c->in = p;
		c->in_size = size;
	}
	iov.iov_base = c->in + c->in_len;
	iov.iov_len = c->in_size - c->in_len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof(cbuf.buf);
	n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == EINTR)
			return -EINTR;
		return errno == ECONNRESET ? -ECONNRESET : -errno;
	}
	stash_fds(c, &mh);
	if (n == 0) {
		c->eof = true;
		return -ECONNRESET;
	}
	/* Scan only the new bytes for newlines. */
	start = 0;
	i = c->in_len;
	c->in_len += (size_t)n;
	for (; i < c->in_len; i++) {
		int r;

		if (c->in[i] != '\n')
			continue;
		r = handle_line(c, c->in + start, i - start);
		if (r < 0)
			return r;
		start = i + 1;
	}
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	if (c->in_len > MSHVD_CLIENT_MAX_LINE)
		return -EPROTO;
	return 1;
}

/* Wait until readable (or the deadline) and read.  Returns as read_some(), -ETIMEDOUT. */
static int read_wait(struct mshvd_client *c, int64_t deadline)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	int r;

	r = read_some(c);
	if (r != 0)
		return r;
	r = poll(&pfd, 1, remaining(deadline));
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	return read_some(c);
}

static int write_all(struct mshvd_client *c, const char *buf, size_t len)
{
	while (len) {
		ssize_t n;

		if (c->fd < 0)
			return -ECONNRESET;
		n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* Keep reading while the daemon's receive side is full: it may be
			 * waiting for us to drain replies, and pipelined callers rely on that. */
			struct pollfd pfd = { .fd = c->fd, .events = POLLIN | POLLOUT };

			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return -errno;
			if (pfd.revents & POLLIN) {
				int r = read_some(c);

				if (r < 0 && r != -ECONNRESET)
					return r;
			}
			continue;
		}
		return errno == EPIPE || errno == ECONNRESET ? -EPIPE : -errno;
	}
	return 0;
}

/* Send the first bytes of buf with descriptor fd attached (SCM_RIGHTS): the daemon gives a
 * descriptor to the request line whose first byte carries it.  Returns the bytes sent (> 0). */
static ssize_t send_with_fd(struct mshvd_client *c, const char *buf, size_t len, int fd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			      .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *cm;

	memset(&ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	for (;;) {
		ssize_t n;
		struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };

		if (c->fd < 0)
			return -ECONNRESET;
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
		if (n > 0)
			return n;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		return n < 0 ? -errno : -EPIPE;
	}
}

int mshvd_client_send(struct mshvd_client *c, const char *method, json_t *params,
		      uint64_t *ret_id)
{
	return mshvd_client_send_fd(c, method, params, -1, ret_id);
}

int mshvd_client_send_fd(struct mshvd_client *c, const char *method, json_t *params, int fd,
			 uint64_t *ret_id)
{
	json_t *req;
	char *text;
	size_t len;
	uint64_t id;
	int r;

	if (!c || !method) {
		json_decref(params);
		return -EINVAL;
	}
	id = c->next_id++;
	req = json_pack("{s:s, s:s, s:I}", "jsonrpc", "2.0", "method", method, "id",
			(json_int_t)id);
	if (!req) {
		json_decref(params);
		return -ENOMEM;
	}
	if (params && json_object_set_new(req, "params", params) < 0) {
		json_decref(req);
		return -ENOMEM;
	}
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text)
		return -ENOMEM;
	len = strlen(text);
	/* json_dumps output never contains a raw newline: strings escape it. */
	text[len] = '\n';
	len++;
	r = 0;
	if (fd >= 0) {
		ssize_t n = send_with_fd(c, text, len, fd);

		if (n < 0)
			r = (int)n;
		else if ((size_t)n < len)
			r = write_all(c, text + n, len - (size_t)n);
	} else {
		r = write_all(c, text, len);
	}
	free(text);
	if (r < 0)
		return r;
	if (ret_id)
		*ret_id = id;
	return 0;
}

static struct reply *unlink_reply(struct mshvd_client *c, uint64_t id)
{
	for (struct reply **p = &c->replies; *p; p = &(*p)->next) {
		struct reply *r = *p;

		if (r->id == id) {
			*p = r->next;
			return r;
		}
	}
	return NULL;
}

static void decode_error(const json_t *err, struct mshvd_error *error)
{
	json_t *data = json_object_get(err, "data");
	json_t *v;
	const char *s;

	error->code = (int)json_integer_value(json_object_get(err, "code"));
	s = json_string_value(json_object_get(err, "message"));
	snprintf(error->message, sizeof(error->message), "%s", s ? s : "");
	s = json_string_value(json_object_get(data, "name"));
	if (!s)
		s = mshvd_error_code_name(error->code);
	snprintf(error->name, sizeof(error->name), "%s", s ? s : "error");
	v = json_object_get(data, "errno");
	if (json_is_integer(v))
		error->err = (int)json_integer_value(v);
	v = json_object_get(data, "hv_status");
	if (v) {
		uint64_t st;

		if (mshvd_json_u64(v, &st) == 0)
			error->hv_status = (int64_t)st;
	}
	error->data = json_incref(data);
}

int mshvd_client_wait(struct mshvd_client *c, uint64_t id, int timeout_ms,
		      json_t **ret_result, int *ret_fd, struct mshvd_error *error)
{
	int64_t deadline = deadline_of(timeout_ms);
	struct reply *r;
	json_t *err;
	int ret;

	if (error)
		mshvd_error_clear(error);
	if (!c || id == 0 || id >= c->next_id)
		return -ENOENT;
	if (id < c->epoch_first_id)
		return -ECONNRESET;
	for (;;) {
		r = unlink_reply(c, id);
		if (r)
			break;
		ret = read_wait(c, deadline);
		if (ret < 0 && !(ret == -ECONNRESET && (r = unlink_reply(c, id))))
			return ret;
		if (r)
			break;
	}
	err = json_object_get(r->msg, "error");
	if (err) {
		if (error)
			decode_error(err, error);
		ret = -MSHVD_CLIENT_EREMOTE;
	} else if (!json_object_get(r->msg, "result")) {
		ret = -EPROTO;
	} else {
		if (ret_result)
			*ret_result = json_incref(json_object_get(r->msg, "result"));
		if (ret_fd) {
			*ret_fd = r->nfds ? r->fds[0] : -1;
			if (r->nfds)
				r->fds[0] = -1;
		}
		ret = 0;
	}
	close_fds(r->fds, r->nfds);
	json_decref(r->msg);
	free(r);
	return ret;
}

int mshvd_client_call_fd(struct mshvd_client *c, const char *method, json_t *params,
			 int timeout_ms, json_t **ret_result, int *ret_fd,
			 struct mshvd_error *error)
{
	uint64_t id;
	int r;

	if (error)
		mshvd_error_clear(error);
	r = mshvd_client_send(c, method, params, &id);
	if (r < 0)
		return r;
	return mshvd_client_wait(c, id, timeout_ms, ret_result, ret_fd, error);
}

int mshvd_client_call(struct mshvd_client *c, const char *method, json_t *params,
		      int timeout_ms, json_t **ret_result, struct mshvd_error *error)
{
	return mshvd_client_call_fd(c, method, params, timeout_ms, ret_result, NULL, error);
}

int mshvd_client_subscribe(struct mshvd_client *c, json_t *params, int timeout_ms,
			   json_t **ret_result, struct mshvd_error *error)
{
	json_t *copy;
	int r;

	if (!params)
		params = json_object();
	if (!params)
		return -ENOMEM;
	copy = json_deep_copy(params);
	if (!copy) {
		json_decref(params);
		return -ENOMEM;
	}
	json_object_del(copy, "since");
	r = mshvd_client_call(c, "subscribe", params, timeout_ms, ret_result, error);
	if (r < 0) {
		json_decref(copy);
		return r;
	}
	json_decref(c->sub_params);
	c->sub_params = copy;
	return 0;
}

int mshvd_client_reconnect(struct mshvd_client *c, int timeout_ms, struct mshvd_error *error)
{
	json_t *params;
	int r;

	if (error)
		mshvd_error_clear(error);
	drop_connection_state(c);
	c->epoch_first_id = c->next_id;
	r = open_socket(c->path, &c->fd);
	if (r < 0)
		return r;
	if (!c->sub_params)
		return 0;
	params = json_deep_copy(c->sub_params);
	if (!params)
		return -ENOMEM;
	if (c->last_seq &&
	    json_object_set_new(params, "since", json_integer((json_int_t)c->last_seq)) < 0) {
		json_decref(params);
		return -ENOMEM;
	}
	return mshvd_client_subscribe(c, params, timeout_ms, NULL, error);
}

static struct event *pop_event(struct mshvd_client *c)
{
	struct event *e = c->ev_head;

	if (!e)
		return NULL;
	c->ev_head = e->next;
	if (!c->ev_head)
		c->ev_tail = &c->ev_head;
	return e;
}

int mshvd_client_dispatch(struct mshvd_client *c, int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	int r, n = 0;

	if (!c->ev_head) {
		r = read_wait(c, deadline);
		if (r < 0 && r != -ETIMEDOUT && !(r == -ECONNRESET && c->ev_head))
			return r;
	}
	/* Drain what else is already there without blocking. */
	while ((r = read_some(c)) > 0)
		;
	if (r < 0 && r != -ECONNRESET)
		return r;
	if (!c->ev_fn)
		return 0;
	while (c->ev_head) {
		struct event *e = pop_event(c);

		c->ev_fn(c, e->params, c->ev_userdata);
		json_decref(e->params);
		free(e);
		n++;
	}
	if (!n && c->eof)
		return -ECONNRESET;
	return n;
}

int mshvd_client_next_event(struct mshvd_client *c, int timeout_ms, json_t **ret_params)
{
	int64_t deadline = deadline_of(timeout_ms);
	struct event *e;
	int r;

	while (!c->ev_head) {
		r = read_wait(c, deadline);
		if (r < 0 && !c->ev_head)
			return r;
	}
	e = pop_event(c);
	if (ret_params)
		*ret_params = e->params;
	else
		json_decref(e->params);
	free(e);
	return 0;
}
