// SPDX-License-Identifier: MIT
// The listening socket and the clients: accept, credentials, line framing, output queue.
//
// Each client is a socket with two buffers and its own events (Redis' model rather than a
// bufferevent): one read() takes in every request line there is room for, the lines are
// handled where they lie, and the replies they produce are written with one write() at the
// end of the loop iteration, straight to the socket.  Only output the kernel does not take
// at once waits for write readiness; a round trip costs epoll_wait + read + write.

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "server.h"

struct client_list clients = TAILQ_HEAD_INITIALIZER(clients);
unsigned nclients;

static int listen_fd = -1;
static struct event *listen_ev;
static char *listen_path;
static dev_t listen_dev;
static ino_t listen_ino;
static unsigned next_client_id = 1;
/* Clients with output queued in this loop iteration, written by flush_ev once the iteration's
 * other callbacks ran (so the replies to every line one read() brought go out together). */
static TAILQ_HEAD(, client) flush_list = TAILQ_HEAD_INITIALIZER(flush_list);
static struct event *flush_ev;

static void client_read_cb(evutil_socket_t fd, short what, void *arg);
static void client_write_cb(evutil_socket_t fd, short what, void *arg);
static void client_resume_cb(evutil_socket_t fd, short what, void *arg);
static void client_flush_all_cb(evutil_socket_t fd, short what, void *arg);
static void client_schedule_flush(struct client *c);
static void fd_lines_flush(struct client *c);
static void frame_timeout_cb(evutil_socket_t fd, short what, void *arg);
static void client_free_cb(evutil_socket_t fd, short what, void *arg);

static struct server_hooks hooks;
static client_gone_fn *gone_hooks[SERVER_MAX_GONE_HOOKS];
static unsigned ngone_hooks;

void server_set_hooks(const struct server_hooks *h)
{
	hooks = *h;
}

int server_on_client_gone(client_gone_fn *fn)
{
	if (ngone_hooks == SERVER_MAX_GONE_HOOKS)
		return -ENOSPC;
	gone_hooks[ngone_hooks++] = fn;
	return 0;
}

/* Queue events-lost {from, to} for c now, past its output limit (it replaces the dropped
 * events, which stay replayable from the ring through subscribe {since}). */
static void client_send_lost(struct client *c, uint64_t from, uint64_t to)
{
	json_t *msg = json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0", "method",
				MSHVD_EVENT_METHOD, "params", event_lost_params(from, to));

	client_send(c, msg);
	json_decref(msg);
}

static struct timeval ms_to_tv(unsigned ms)
{
	return (struct timeval){ .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
}

/* Refuse a connection before it becomes a client: one error line, then close. */
static void refuse_client(int cfd, const struct ucred *cred, enum limit_id limit)
{
	json_t *err = rpc_error_object(NULL, MSHVD_ERR_LIMIT_EXCEEDED,
				       MSHVD_ERRNAME_LIMIT_EXCEEDED, rpc_limit_data(limit),
				       "too many clients");
	char *msg = json_dumps(err, JSON_COMPACT);

	log_warning("refusing client uid %u pid %d: %s (%llu) reached", (unsigned)cred->uid,
		    (int)cred->pid, limit_name(limit),
		    (unsigned long long)limit_value(&mshvd.limits, limit));
	/* One best-effort line on a socket we never read from: no client object exists. */
	if (msg) {
		size_t n = strlen(msg);

		msg[n] = '\n';	/* json_dumps' NUL becomes the line end */
		(void)!send(cfd, msg, n + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	free(msg);
	json_decref(err);
	close(cfd);
}

/*
 * A reply line that carries a descriptor.  It is written with sendmsg() (the descriptor as
 * ancillary data) once everything queued before it is in the kernel;
 * lines queued meanwhile wait in `after` (so the order on the stream is kept).
 */
struct fd_line {
	char *data;		/* the line, '\n' included */
	size_t len;
	int fd;			/* a duplicate owned by the line */
	struct evbuffer *after;
	TAILQ_ENTRY(fd_line) entry;
};

/* Remove path only when it is a socket nobody listens on; never follow a symlink. */
static int remove_stale_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_error("\"%s\" exists and is not a socket; not touching it", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(sa.sun_path, path, strlen(path));
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (r == 0) {
		log_error("another daemon listens on \"%s\"", path);
		return -EADDRINUSE;
	}
	if (errno != ECONNREFUSED) {
		log_error("cannot probe \"%s\": %s", path, strerror(errno));
		return -errno;
	}
	log_info("removing stale socket \"%s\"", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static void accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct client *c;
	int cfd;

	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warning("accept: %s", strerror(errno));
		return;
	}
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warning("SO_PEERCRED: %s", strerror(errno));
		close(cfd);
		return;
	}
	if (nclients >= mshvd.limits.max_clients) {
		refuse_client(cfd, &cred, LIMIT_max_clients);
		return;
	}
	if (hooks.admit && !hooks.admit(cred.uid)) {
		refuse_client(cfd, &cred, LIMIT_max_clients_per_uid);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(cfd);
		return;
	}
	if (!flush_ev)
		flush_ev = event_new(mshvd.base, -1, 0, client_flush_all_cb, NULL);
	c->in = evbuffer_new();
	c->out = evbuffer_new();
	c->read_ev = event_new(mshvd.base, cfd, EV_READ | EV_PERSIST, client_read_cb, c);
	c->write_ev = event_new(mshvd.base, cfd, EV_WRITE, client_write_cb, c);
	c->resume_ev = event_new(mshvd.base, -1, 0, client_resume_cb, c);
	c->frame_ev = evtimer_new(mshvd.base, frame_timeout_cb, c);
	if (!flush_ev || !c->in || !c->out || !c->read_ev || !c->write_ev || !c->resume_ev ||
	    !c->frame_ev || event_add(c->read_ev, NULL) < 0) {
		client_free_cb(-1, 0, c);
		close(cfd);
		return;
	}
	c->id = next_client_id++;
	c->fd = cfd;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->pid = cred.pid;
	c->line_fd = -1;
	TAILQ_INIT(&c->calls);
	TAILQ_INIT(&c->subs);
	TAILQ_INIT(&c->fd_lines);
	TAILQ_INSERT_TAIL(&clients, c, entry);
	nclients++;
	c->reading = true;
	log_debug("client %u connected: uid %u pid %d", c->id, (unsigned)c->uid, (int)c->pid);
}

int server_listen(const char *path, const char *group)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old_umask;
	char *dir, *slash;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_error("socket path \"%s\" is too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path));

	/* The parent directory: created if missing (the default lives in /run/mshvd). */
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			log_warning("cannot create \"%s\": %s", dir, strerror(errno));
	}
	free(dir);

	r = remove_stale_socket(path);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Created 0660 from the start: no window in which others could connect. */
	old_umask = umask(0117);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (r < 0) {
		r = -errno;
		log_error("bind \"%s\": %s", path, strerror(errno));
		close(fd);
		return r;
	}
	if (group) {
		struct group *gr = getgrnam(group);
		char *end;
		unsigned long gid;

		if (gr) {
			gid = gr->gr_gid;
		} else {
			errno = 0;
			gid = strtoul(group, &end, 10);
			if (errno || *end || end == group) {
				log_error("unknown group \"%s\"", group);
				unlink(path);
				close(fd);
				return -EINVAL;
			}
		}
		if (fchownat(AT_FDCWD, path, (uid_t)-1, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			log_error("chown \"%s\" to group \"%s\": %s", path, group, strerror(errno));
			unlink(path);
			close(fd);
			return r;
		}
	}
	if (lstat(path, &st) < 0 || listen(fd, 128) < 0) {
		r = -errno;
		unlink(path);
		close(fd);
		return r;
	}
	listen_dev = st.st_dev;
	listen_ino = st.st_ino;
	listen_ev = event_new(mshvd.base, fd, EV_READ | EV_PERSIST, accept_cb, NULL);
	listen_path = strdup(path);
	if (!listen_ev || !listen_path || event_add(listen_ev, NULL) < 0) {
		unlink(path);
		close(fd);
		return -ENOMEM;
	}
	listen_fd = fd;
	log_info("listening on \"%s\"", path);
	return 0;
}

int server_listen_fd(int fd)
{
	static char path[sizeof(((struct sockaddr_un *)NULL)->sun_path) + 1];
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	int flags;

	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		log_full(LOG_LVL_ERROR, 0, -1, NULL, errno, "inherited socket: %s", strerror(errno));
		return -errno;
	}
	memset(&sa, 0, sizeof(sa));
	if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0 &&
	    len > offsetof(struct sockaddr_un, sun_path) && sa.sun_path[0]) {
		memcpy(path, sa.sun_path, len - offsetof(struct sockaddr_un, sun_path));
		mshvd.socket_path = path;
	} else {
		mshvd.socket_path = "(inherited socket)";
	}
	listen_ev = event_new(mshvd.base, fd, EV_READ | EV_PERSIST, accept_cb, NULL);
	if (!listen_ev || event_add(listen_ev, NULL) < 0) {
		if (listen_ev)
			event_free(listen_ev);
		listen_ev = NULL;
		return -ENOMEM;
	}
	/* listen_path stays NULL: the service manager owns the file (RemoveOnStop=yes). */
	listen_fd = fd;
	log_info("listening on \"%s\" (socket activation)", mshvd.socket_path);
	return 0;
}

void server_stop_listening(void)
{
	struct stat st;

	if (listen_ev)
		event_free(listen_ev);
	listen_ev = NULL;
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	/* Remove the socket only if it is still ours (not replaced by someone else). */
	if (listen_path && lstat(listen_path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == listen_dev && st.st_ino == listen_ino)
		unlink(listen_path);
	free(listen_path);
	listen_path = NULL;
}

static void fd_line_free(struct fd_line *l)
{
	if (l->fd >= 0)
		close(l->fd);
	if (l->after)
		evbuffer_free(l->after);
	free(l->data);
	free(l);
}

static void fd_lines_free(struct client *c)
{
	struct fd_line *l;

	while ((l = TAILQ_FIRST(&c->fd_lines))) {
		TAILQ_REMOVE(&c->fd_lines, l, entry);
		fd_line_free(l);
	}
	if (c->fd_write_ev)
		event_free(c->fd_write_ev);
	c->fd_write_ev = NULL;
}

/* Everything queued for the client has reached the kernel. */
static bool client_output_empty(struct client *c)
{
	return TAILQ_EMPTY(&c->fd_lines) && evbuffer_get_length(c->out) == 0;
}

/* Frees what exists of c (also a half-made one, from accept_cb); the socket is closed by
 * the caller, or here for a client that was listed (fd set). */
static void client_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	if (c->read_ev)
		event_free(c->read_ev);
	if (c->write_ev)
		event_free(c->write_ev);
	if (c->resume_ev)
		event_free(c->resume_ev);
	if (c->frame_ev)
		event_free(c->frame_ev);
	if (c->in)
		evbuffer_free(c->in);
	if (c->out)
		evbuffer_free(c->out);
	if (c->id)
		close(c->fd);
	free(c);
}

/* Close the received descriptors that arrived before stream offset end. */
static void rx_fds_close(struct client *c, uint64_t end)
{
	unsigned i, kept = 0;

	for (i = 0; i < c->nrx_fds; i++) {
		if (c->rx_fds[i].pos < end)
			close(c->rx_fds[i].fd);
		else
			c->rx_fds[kept++] = c->rx_fds[i];
	}
	c->nrx_fds = kept;
}

/* The first descriptor received before stream offset end (the line that ends there), or -1;
 * the others before end are closed. */
static int rx_fds_take(struct client *c, uint64_t end)
{
	int fd = -1;

	if (c->nrx_fds && c->rx_fds[0].pos < end) {
		fd = c->rx_fds[0].fd;
		memmove(&c->rx_fds[0], &c->rx_fds[1], (c->nrx_fds - 1) * sizeof(c->rx_fds[0]));
		c->nrx_fds--;
	}
	rx_fds_close(c, end);
	return fd;
}

int client_take_fd(struct client *c)
{
	int fd = c->line_fd;

	c->line_fd = -1;
	return fd;
}

static void client_read_stop(struct client *c)
{
	if (c->reading)
		event_del(c->read_ev);
	c->reading = false;
}

/* Read again, and handle the lines already buffered (on the next loop turn: never under the
 * caller, which may be in the middle of a reply). */
static void client_read_resume(struct client *c)
{
	if (c->reading || c->dead || c->closing)
		return;
	if (event_add(c->read_ev, NULL) < 0) {
		log_error("client %u: cannot resume reading", c->id);
		client_kill(c);
		return;
	}
	c->reading = true;
	if (evbuffer_get_length(c->in))
		event_active(c->resume_ev, EV_TIMEOUT, 0);
}

/* Detach the client from everything now; the memory goes one loop turn later, so that no
 * callback further up the stack touches freed memory (tmux style). */
void client_kill(struct client *c)
{
	if (c->dead)
		return;
	c->dead = true;
	log_debug("client %u gone", c->id);
	client_read_stop(c);
	event_del(c->write_ev);
	event_del(c->resume_ev);
	rx_fds_close(c, UINT64_MAX);
	evtimer_del(c->frame_ev);
	if (c->flush_pending) {
		TAILQ_REMOVE(&flush_list, c, flush_entry);
		c->flush_pending = false;
	}
	/* The layers above let go of c (its deferred calls, subscriptions, the VMs it created). */
	for (unsigned i = 0; i < ngone_hooks; i++)
		gone_hooks[i](c);
	fd_lines_free(c);
	TAILQ_REMOVE(&clients, c, entry);
	nclients--;
	if (event_base_once(mshvd.base, -1, EV_TIMEOUT, client_free_cb, c, NULL) < 0)
		client_free_cb(-1, 0, c);
}

size_t client_output_len(struct client *c)
{
	size_t n = evbuffer_get_length(c->out);
	struct fd_line *l;

	TAILQ_FOREACH(l, &c->fd_lines, entry)
		n += l->len + evbuffer_get_length(l->after);
	return n;
}

/* The output drained completely: report lost events, resume reading. */
static void client_output_drained(struct client *c)
{
	if (c->lost_from) {
		log_info("client %u: caught up; events %llu..%llu were dropped for it", c->id,
			 (unsigned long long)c->lost_from, (unsigned long long)c->lost_to);
		client_send_lost(c, c->lost_from, c->lost_to);
		c->lost_from = c->lost_to = 0;
	}
	if (c->output_throttled && !c->closing) {
		c->output_throttled = false;
		if (c->inflight < mshvd.limits.max_inflight)
			client_read_resume(c);
	}
}

void client_send_event(struct client *c, const char *data, size_t len, uint64_t seq)
{
	if (!c || c->dead || c->closing)
		return;
	/* Once one event was dropped, all are until the output drained: the client then sees
	 * events-lost {from, to} followed by the events after `to`, in order. */
	if (c->lost_from || client_output_len(c) >= mshvd.limits.max_output) {
		if (!c->lost_from) {
			log_warning("client %u (uid %u): output over %zu bytes; dropping its events "
				    "from seq %llu", c->id, (unsigned)c->uid,
				    mshvd.limits.max_output, (unsigned long long)seq);
			c->lost_from = seq;
		}
		if (seq > c->lost_to)
			c->lost_to = seq;
		return;
	}
	client_send_line(c, data, len);
}

/* Everything queued is in the kernel (or waits as a descriptor line). */
static void client_output_flushed(struct client *c)
{
	if (!c->dead && c->closing && client_output_empty(c))
		client_kill(c);
	else if (!c->dead && client_output_empty(c))
		client_output_drained(c);
}

/*
 * Write what is queued, straight to the socket.  What the kernel does not take waits for write
 * readiness (write_ev, with the output timeout: a peer whose output makes no progress for
 * output_timeout_ms is dropped).  A hard error drops the client: the peer is gone.
 */
static void client_flush(struct client *c)
{
	struct evbuffer *out = c->out;

	while (!c->dead) {
		if (evbuffer_get_length(out)) {
			int n = evbuffer_write(out, c->fd);

			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				log_debug("client %u: write: %s", c->id, strerror(errno));
				client_kill(c);
				return;
			}
			if (evbuffer_get_length(out)) {
				struct timeval tv = ms_to_tv(mshvd.limits.output_timeout_ms);

				/* Progress restarts the timeout; none leaves it running. */
				if ((n > 0 || !event_pending(c->write_ev, EV_WRITE, NULL)) &&
				    event_add(c->write_ev, &tv) < 0) {
					log_error("client %u: cannot wait to write", c->id);
					client_kill(c);
				}
				return;
			}
		}
		event_del(c->write_ev);
		/* The descriptor lines whose turn came; they may queue more output. */
		if (TAILQ_EMPTY(&c->fd_lines))
			break;
		fd_lines_flush(c);
		if (!evbuffer_get_length(out))
			return;	/* a descriptor line waits for the socket (or c is gone) */
	}
	client_output_flushed(c);
}

static void client_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	if (what & EV_TIMEOUT) {
		log_warning("client %u (uid %u): output stuck for %u ms (%zu bytes); dropping it",
			    c->id, (unsigned)c->uid, mshvd.limits.output_timeout_ms,
			    client_output_len(c));
		client_kill(c);
		return;
	}
	client_flush(c);
}

static void client_flush_all_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c;

	while ((c = TAILQ_FIRST(&flush_list))) {
		TAILQ_REMOVE(&flush_list, c, flush_entry);
		c->flush_pending = false;
		/* Output already waiting for the socket goes when it is writable. */
		if (!event_pending(c->write_ev, EV_WRITE, NULL))
			client_flush(c);
	}
}

void server_flush_last(void)
{
	if (!flush_ev || TAILQ_EMPTY(&flush_list))
		return;
	/* Out of the active queue and back in at its tail. */
	event_del(flush_ev);
	event_active(flush_ev, EV_TIMEOUT, 0);
}

/* Have c's output written at the end of this loop iteration. */
static void client_schedule_flush(struct client *c)
{
	if (c->flush_pending || c->dead)
		return;
	if (TAILQ_EMPTY(&flush_list))
		event_active(flush_ev, EV_TIMEOUT, 0);
	TAILQ_INSERT_TAIL(&flush_list, c, flush_entry);
	c->flush_pending = true;
}

void client_close(struct client *c)
{
	if (c->dead || c->closing)
		return;
	c->closing = true;
	client_read_stop(c);
	if (client_output_empty(c))
		client_kill(c);
}

void client_send_line(struct client *c, const char *data, size_t len)
{
	struct evbuffer *out;

	if (!c || c->dead)
		return;
	/* Behind a line that waits with its descriptor, everything else waits too. */
	if (TAILQ_EMPTY(&c->fd_lines)) {
		out = c->out;
		client_schedule_flush(c);
	} else {
		out = TAILQ_LAST(&c->fd_lines, fd_line_list)->after;
	}
	/* One reservation for the line and its end: no second chain for the '\n'. */
	evbuffer_expand(out, len + 1);
	evbuffer_add(out, data, len);
	evbuffer_add(out, "\n", 1);
}

/* Serialise msg into the server's reusable buffer: NULL (logged) when it cannot. */
static const struct textbuf *client_dump(struct client *c, json_t *msg)
{
	static struct textbuf buf;

	buf.len = 0;
	if (textbuf_json(&buf, msg) < 0) {
		log_error("client %u: cannot serialize a message", c->id);
		return NULL;
	}
	return &buf;
}

void client_send(struct client *c, json_t *msg)
{
	const struct textbuf *t;

	if (!c || c->dead)
		return;
	t = client_dump(c, msg);
	if (t)
		client_send_line(c, t->p, t->len);
}

/* sendmsg() data with fd as SCM_RIGHTS, without blocking.  Bytes sent or -errno. */
static ssize_t send_with_fd(int sock, const char *data, size_t len, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf.buf,
		.msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	ssize_t n;

	memset(&cbuf, 0, sizeof(cbuf));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	do
		n = sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static void fd_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	if (what & EV_TIMEOUT) {
		log_warning("client %u: a reply with a descriptor stuck for %u ms; dropping it",
			    c->id, mshvd.limits.output_timeout_ms);
		client_kill(c);
		return;
	}
	fd_lines_flush(c);
}

/* Send the waiting descriptor lines whose turn has come (the output before them is in the
 * kernel).  On EAGAIN wait for write readiness; on a hard error drop the client. */
static void fd_lines_flush(struct client *c)
{
	struct evbuffer *out = c->out;
	struct fd_line *l;

	while (!c->dead && (l = TAILQ_FIRST(&c->fd_lines)) && evbuffer_get_length(out) == 0) {
		ssize_t n = send_with_fd(c->fd, l->data, l->len, l->fd);

		if (n == -EAGAIN) {
			if (!c->fd_write_ev)
				c->fd_write_ev = event_new(mshvd.base, c->fd, EV_WRITE, fd_write_cb,
							   c);
			struct timeval tv = ms_to_tv(mshvd.limits.output_timeout_ms);

			if (!c->fd_write_ev || event_add(c->fd_write_ev, &tv) < 0) {
				log_error("client %u: cannot wait to pass a descriptor", c->id);
				client_kill(c);
			}
			return;
		}
		if (n < 0) {
			log_debug("client %u: sendmsg: %s", c->id, strerror((int)-n));
			client_kill(c);
			return;
		}
		TAILQ_REMOVE(&c->fd_lines, l, entry);
		/* The descriptor went with the first byte; the rest is ordinary output. */
		evbuffer_add(out, l->data + n, l->len - (size_t)n);
		evbuffer_add_buffer(out, l->after);
		fd_line_free(l);
	}
	if (!c->dead && evbuffer_get_length(out))
		client_schedule_flush(c);
	if (!c->dead && c->closing && client_output_empty(c))
		client_kill(c);
}

void client_send_fd_line(struct client *c, const char *data, size_t len, int fd)
{
	struct fd_line *l;

	if (!c || c->dead)
		return;
	l = calloc(1, sizeof(*l));
	if (!l || !(l->data = malloc(len + 1)) || !(l->after = evbuffer_new())) {
		log_error("client %u: out of memory for a reply with a descriptor", c->id);
		if (l) {
			l->fd = -1;
			fd_line_free(l);
		}
		return;
	}
	l->len = len + 1;
	memcpy(l->data, data, len);
	l->data[len] = '\n';
	/* Duplicated: the caller's fd may be closed (remove-*) before the line goes out. */
	l->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (l->fd < 0) {
		log_error("client %u: cannot duplicate a descriptor: %s", c->id, strerror(errno));
		fd_line_free(l);
		return;
	}
	TAILQ_INSERT_TAIL(&c->fd_lines, l, entry);
	if (TAILQ_FIRST(&c->fd_lines) == l)
		fd_lines_flush(c);
	if (!c->dead && !TAILQ_EMPTY(&c->fd_lines))
		log_debug("client %u: a reply with a descriptor waits behind queued output",
			  c->id);
}

static void client_refuse_line(struct client *c)
{
	/* limit-exceeded like every other limit: code, data.name and a hex data.value. */
	json_t *err = rpc_error_object(NULL, MSHVD_ERR_LIMIT_EXCEEDED,
				       MSHVD_ERRNAME_LIMIT_EXCEEDED, rpc_limit_data(LIMIT_max_request),
				       "request line too long");

	log_warning("client %u: request line longer than %zu bytes; closing", c->id,
		    mshvd.limits.max_request);
	client_send(c, err);
	json_decref(err);
	client_close(c);
}

static void frame_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	struct evbuffer *in = c->in;
	struct evbuffer_ptr eol;
	json_t *err;

	if (c->dead || c->closing)
		return;
	/* A complete line waiting behind backpressure is not a partial frame. */
	eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	if (eol.pos >= 0 || evbuffer_get_length(in) == 0)
		return;
	log_warning("client %u (uid %u): partial request line (%zu bytes) not completed in %u ms;"
		    " closing", c->id, (unsigned)c->uid, evbuffer_get_length(in),
		    mshvd.limits.frame_timeout_ms);
	err = rpc_error_object(NULL, MSHVD_ERR_TIMEOUT, MSHVD_ERRNAME_TIMEOUT,
			       rpc_limit_data(LIMIT_frame_timeout_ms),
			       "partial request line not completed within frame-timeout-ms");
	client_send(c, err);
	json_decref(err);
	client_close(c);
}

/* Handle the complete lines in c's input, as long as the client may have more requests. */
static void client_process(struct client *c)
{
	struct evbuffer *in = c->in;

	while (!c->dead && !c->closing) {
		struct evbuffer_ptr eol;
		const char *line;
		size_t len;
		bool ok;

		if (c->inflight >= mshvd.limits.max_inflight) {
			/* Backpressure: the rest stays in the kernel until calls finish. */
			client_read_stop(c);
			break;
		}
		if (client_output_len(c) >= mshvd.limits.max_output) {
			/* The client does not read its replies: stop reading its requests until
			 * the output drained (replies are never dropped). */
			c->output_throttled = true;
			client_read_stop(c);
			break;
		}
		/* The line is parsed where it lies in the input buffer (made contiguous only
		 * when it spans two chains), then drained: no copy, no allocation per line. */
		eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			if (evbuffer_get_length(in) > mshvd.limits.max_request) {
				client_refuse_line(c);
			} else if (evbuffer_get_length(in) && !evtimer_pending(c->frame_ev, NULL)) {
				/* A partial line: it has frame_timeout to be completed. */
				struct timeval tv = ms_to_tv(mshvd.limits.frame_timeout_ms);

				evtimer_add(c->frame_ev, &tv);
			}
			break;
		}
		evtimer_del(c->frame_ev);
		len = (size_t)eol.pos;
		if (len > mshvd.limits.max_request) {
			client_refuse_line(c);
			break;
		}
		line = (const char *)evbuffer_pullup(in, (ev_ssize_t)len + 1);
		if (!line) {
			log_error("client %u: out of memory for a request line", c->id);
			client_kill(c);
			break;
		}
		/* The line's descriptor: the first one received with its bytes; any other is
		 * closed (at most one per line). */
		c->in_pos += len + 1;
		c->line_fd = rx_fds_take(c, c->in_pos);
		ok = hooks.line(c, line, len);
		if (c->line_fd >= 0) {
			log_debug("client %u: closing a descriptor its request did not take", c->id);
			close(c->line_fd);
		}
		c->line_fd = -1;
		/* Whatever the handler did to the client, its input buffer lives until the
		 * client is freed, a loop turn later. */
		evbuffer_drain(in, len + 1);
		if (!ok)
			client_close(c);
	}
}

/* Bytes taken per read(): a window of pipelined requests in one system call. */
#define CLIENT_READ_CHUNK	65536

static void client_read_cb(evutil_socket_t fd, short what, void *arg)
{
	/* Read into one buffer of the loop thread and copy what came into the client's input:
	 * a chunk reserved in the input itself would be allocated and freed (64 KiB, and
	 * glibc consolidates its heap on such a free) for every request. */
	static char buf[CLIENT_READ_CHUNK];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * SERVER_MAX_RX_FDS)];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct client *c = arg;
	struct cmsghdr *cm;
	uint64_t fd_pos;
	ssize_t n;

	/* recvmsg(), not read(): descriptors sent with a request would be dropped by read().
	 * MSG_CMSG_CLOEXEC: they never leak into a child. */
	do {
		msg.msg_control = ctl.b;
		msg.msg_controllen = sizeof(ctl.b);
		n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN)
			return;
		log_debug("client %u: read: %s", c->id, strerror(errno));
		client_kill(c);
		return;
	}
	/*
	 * Where the descriptors belong: the kernel ends a read with the message that carried
	 * them (it may have copied plain data of earlier messages first), and a client sends a
	 * descriptor with a message that starts a request line.  So they belong to the last line
	 * that starts in this chunk: after its last newline but one when it ends with one, else
	 * after its last newline.
	 */
	fd_pos = c->rx_pos;
	for (ssize_t i = (n > 0 && buf[n - 1] == '\n' ? n - 1 : n) - 1; i >= 0; i--) {
		if (buf[i] == '\n') {
			fd_pos = c->rx_pos + (uint64_t)i + 1;
			break;
		}
	}
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		size_t nfds;
		int *fds;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		fds = (int *)CMSG_DATA(cm);
		nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfds; i++) {
			if (c->nrx_fds < SERVER_MAX_RX_FDS && n > 0) {
				c->rx_fds[c->nrx_fds].fd = fds[i];
				c->rx_fds[c->nrx_fds++].pos = fd_pos;
			} else {
				close(fds[i]);
			}
		}
	}
	if (n > 0)
		c->rx_pos += (uint64_t)n;
	if (n == 0) {
		/* EOF may be a half-close (`socat`, a script piping its requests): the replies
		 * already queued still go out, then the connection closes.  A peer that is gone
		 * for good makes the next write fail, which drops it. */
		client_close(c);
		return;
	}
	if (evbuffer_add(c->in, buf, (size_t)n) < 0) {
		log_error("client %u: out of memory for its input", c->id);
		client_kill(c);
		return;
	}
	client_process(c);
}

static void client_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	client_process(arg);
}

void client_call_done(struct client *c)
{
	if (!c || c->dead)
		return;
	if (c->inflight)
		c->inflight--;
	if (!c->closing && !c->output_throttled && c->inflight < mshvd.limits.max_inflight)
		client_read_resume(c);	/* buffered lines are handled without waiting for more */
}
