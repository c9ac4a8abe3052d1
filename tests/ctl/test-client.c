// SPDX-License-Identifier: MIT
/* Unit tests of libmshvd-client against a scripted fake daemon on a private Unix socket. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "mshvd/client.h"

static char sock_path[108];
static int listen_fd = -1;

/* ---- the fake peer --------------------------------------------------------------------- */

struct peer {
	int fd;
	char buf[1 << 16];
	size_t len;
};

static void peer_accept(struct peer *p)
{
	p->fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	p->len = 0;
	if (p->fd < 0)
		test_error("accept: %s", strerror(errno));
}

/* Read one request line and parse it (NEW reference), NULL at EOF. */
static json_t *peer_read(struct peer *p)
{
	for (;;) {
		char *nl = memchr(p->buf, '\n', p->len);
		ssize_t n;

		if (nl) {
			json_t *j = json_loadb(p->buf, (size_t)(nl - p->buf), 0, NULL);

			p->len -= (size_t)(nl + 1 - p->buf);
			memmove(p->buf, nl + 1, p->len);
			if (!j)
				test_error("peer: bad JSON from the client");
			return j;
		}
		n = read(p->fd, p->buf + p->len, sizeof(p->buf) - p->len);
		if (n <= 0)
			return NULL;
		p->len += (size_t)n;
	}
}

/* Send text (one or more lines) in one sendmsg, with fd attached when >= 0. */
static void peer_send(struct peer *p, const char *text, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = (void *)text, .iov_len = strlen(text) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	if (sendmsg(p->fd, &mh, MSG_NOSIGNAL) != (ssize_t)strlen(text))
		test_error("peer sendmsg: %s", strerror(errno));
}

static void peer_sendf(struct peer *p, int fd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void peer_sendf(struct peer *p, int fd, const char *fmt, ...)
{
	char *s;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		test_error("vasprintf");
	va_end(ap);
	peer_send(p, s, fd);
	free(s);
}

static json_int_t req_id(json_t *req)
{
	return json_integer_value(json_object_get(req, "id"));
}

static const char *req_method(json_t *req)
{
	return json_string_value(json_object_get(req, "method"));
}

/* Each test runs its peer script in a thread; the script checks what the client sent. */
typedef void (*script_fn)(struct peer *p);

static void *peer_thread(void *arg)
{
	struct peer *p = calloc(1, sizeof(*p));

	((script_fn)arg)(p);
	if (p->fd >= 0)
		close(p->fd);
	free(p);
	return NULL;
}

static pthread_t start_peer(script_fn fn)
{
	pthread_t t;

	if (pthread_create(&t, NULL, peer_thread, (void *)fn) != 0)
		test_error("pthread_create");
	return t;
}

/* ---- scripts and tests ------------------------------------------------------------------ */

static void script_basic(struct peer *p)
{
	json_t *req;

	peer_accept(p);
	req = peer_read(p);
	check_eq_str(req_method(req), "daemon-info");
	check(json_object_get(req, "params") == NULL);
	check_eq_str(json_string_value(json_object_get(req, "jsonrpc")), "2.0");
	/* An event before the reply must be queued, not mistaken for the reply. */
	peer_sendf(p, -1, "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":{\"seq\":5,"
		   "\"kind\":\"vm-state\",\"vm\":1}}\n");
	peer_sendf(p, -1, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"version\":\"9\"}}\n",
		   (long long)req_id(req));
	json_decref(req);

	req = peer_read(p);
	check_eq_str(req_method(req), "create-vm");
	check_eq_str(json_string_value(json_object_get(json_object_get(req, "params"), "name")),
		     "a\nb");
	peer_sendf(p, -1, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":{\"code\":6,\"message\":"
		   "\"failed\",\"data\":{\"name\":\"hypervisor-error\",\"errno\":5,"
		   "\"hv_status\":\"0x1b\"}}}\n", (long long)req_id(req));
	json_decref(req);

	req = peer_read(p);
	peer_sendf(p, -1, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":{\"code\":-32601,"
		   "\"message\":\"no\"}}\n", (long long)req_id(req));
	json_decref(req);

	/* The next request gets no reply: the client times out.  Then EOF. */
	req = peer_read(p);
	json_decref(req);
	req = peer_read(p);
	json_decref(req);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void events_cb(struct mshvd_client *c, json_t *params, void *userdata)
{
	int *count = userdata;

	check(mshvd_client_last_seq(c) >= 5);
	check_eq_int(json_integer_value(json_object_get(params, "seq")), 5);
	(*count)++;
}

static void test_basic(void)
{
	pthread_t t = start_peer(script_basic);
	struct mshvd_error err = { 0 };
	struct mshvd_client *c;
	json_t *res = NULL, *ev;
	int64_t start;
	int n = 0;

	require_ok(mshvd_client_connect(sock_path, &c));
	check_eq_str(mshvd_client_socket_path(c), sock_path);
	check(fcntl(mshvd_client_fd(c), F_GETFD) & FD_CLOEXEC);

	check_ok(mshvd_client_call(c, "daemon-info", NULL, 5000, &res, &err));
	check_eq_str(json_string_value(json_object_get(res, "version")), "9");
	json_decref(res);
	check(mshvd_client_has_events(c));
	check_eq_u64(mshvd_client_last_seq(c), 5);

	/* The callback runs only from dispatch. */
	mshvd_client_set_event_handler(c, events_cb, &n);
	check_eq_int(mshvd_client_dispatch(c, 0), 1);
	check_eq_int(n, 1);
	check(!mshvd_client_has_events(c));
	mshvd_client_set_event_handler(c, NULL, NULL);

	res = NULL;
	check_eq_int(mshvd_client_call(c, "create-vm", json_pack("{s:s}", "name", "a\nb"), 5000,
				       &res, &err), -MSHVD_CLIENT_EREMOTE);
	check(res == NULL);
	check_eq_int(err.code, 6);
	check_eq_str(err.name, "hypervisor-error");
	check_eq_str(err.message, "failed");
	check_eq_int(err.err, 5);
	check_eq_int(err.hv_status, 0x1b);
	check(json_is_object(err.data));
	mshvd_error_clear(&err);
	check(err.data == NULL);

	check_eq_int(mshvd_client_call(c, "nope", NULL, 5000, NULL, &err), -MSHVD_CLIENT_EREMOTE);
	check_eq_str(err.name, "method-not-found");
	check_eq_int(err.hv_status, -1);
	mshvd_error_clear(&err);

	start = mono_ms();
	check_eq_int(mshvd_client_call(c, "slow", NULL, 150, NULL, &err), -ETIMEDOUT);
	check(mono_ms() - start >= 140);
	check(mono_ms() - start < 3000);
	check_eq_int(mshvd_client_next_event(c, 0, &ev), -ETIMEDOUT);

	/* The peer reads one more request, then closes: the call sees the reset. */
	check_eq_int(mshvd_client_call(c, "last", NULL, 5000, NULL, &err), -ECONNRESET);
	check_eq_int(mshvd_client_dispatch(c, 1000), -ECONNRESET);
	check_eq_int(mshvd_client_wait(c, 999, 0, NULL, NULL, NULL), -ENOENT);
	mshvd_client_free(c);
	pthread_join(t, NULL);
}

static void script_pipeline(struct peer *p)
{
	json_t *reqs[8];

	peer_accept(p);
	for (int i = 0; i < 8; i++) {
		reqs[i] = peer_read(p);
		check_eq_str(req_method(reqs[i]), "echo");
	}
	/* Answer in reverse order, all glued into one write, with a large result in the middle. */
	{
		size_t big = 200000;
		char *text = malloc(8 * 200 + big + 100), *o = text;

		for (int i = 7; i >= 0; i--) {
			json_t *params = json_object_get(reqs[i], "params");

			o += sprintf(o, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"n\":%lld",
				     (long long)req_id(reqs[i]),
				     (long long)json_integer_value(json_object_get(params, "n")));
			if (i == 4) {
				o += sprintf(o, ",\"pad\":\"");
				memset(o, 'x', big);
				o += big;
				*o++ = '"';
			}
			o += sprintf(o, "}}\n");
		}
		*o = 0;
		peer_send(p, text, -1);
		free(text);
	}
	for (int i = 0; i < 8; i++)
		json_decref(reqs[i]);
	json_decref(peer_read(p));	/* wait for the client to finish */
}

static void test_pipeline(void)
{
	pthread_t t = start_peer(script_pipeline);
	struct mshvd_client *c;
	uint64_t ids[8];

	require_ok(mshvd_client_connect(sock_path, &c));
	for (int i = 0; i < 8; i++)
		check_ok(mshvd_client_send(c, "echo", json_pack("{s:i}", "n", i), &ids[i]));
	for (int i = 0; i < 8; i++) {
		json_t *res = NULL;

		check_ok(mshvd_client_wait(c, ids[i], 5000, &res, NULL, NULL));
		check_eq_int(json_integer_value(json_object_get(res, "n")), i);
		if (i == 4)
			check_eq_int(strlen(json_string_value(json_object_get(res, "pad"))), 200000);
		json_decref(res);
	}
	/* Waiting twice for the same id: it is gone. */
	check_eq_int(mshvd_client_wait(c, ids[0], 0, NULL, NULL, NULL), -ETIMEDOUT);
	mshvd_client_free(c);
	pthread_join(t, NULL);
}

static int passed_pipe[2];

static void script_fds(struct peer *p)
{
	json_t *r1, *r2, *r3;
	char text[512];
	char byte = 0;

	peer_accept(p);
	r1 = peer_read(p);
	r2 = peer_read(p);
	r3 = peer_read(p);
	/* An event, then two fd replies and a plain one: the fds must land on the right replies
	 * even though the lines may be glued by recvmsg. */
	peer_sendf(p, -1, "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":{\"seq\":1}}\n");
	snprintf(text, sizeof(text), "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"id\":1,"
		 "\"passed_fds\":1}}\n", (long long)req_id(r1));
	peer_send(p, text, passed_pipe[1]);
	snprintf(text, sizeof(text), "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"id\":2}}\n",
		 (long long)req_id(r3));
	peer_send(p, text, -1);
	snprintf(text, sizeof(text), "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"id\":3,"
		 "\"passed_fds\":1}}\n", (long long)req_id(r2));
	peer_send(p, text, passed_pipe[0]);
	json_decref(r1);
	json_decref(r2);
	json_decref(r3);
	json_decref(peer_read(p));
	(void)byte;
}

static void test_fds(void)
{
	pthread_t t;
	struct mshvd_client *c;
	uint64_t id1, id2, id3;
	int fd1 = -2, fd2 = -2, fd3 = -2;
	json_t *res;
	char byte = 0;

	require(pipe2(passed_pipe, O_CLOEXEC) == 0);
	t = start_peer(script_fds);
	require_ok(mshvd_client_connect(sock_path, &c));
	check_ok(mshvd_client_send(c, "add-irqfd", json_pack("{s:b}", "pass_fd", 1), &id1));
	check_ok(mshvd_client_send(c, "add-ioeventfd", json_pack("{s:b}", "pass_fd", 1), &id2));
	check_ok(mshvd_client_send(c, "add-irqfd", NULL, &id3));
	/* Wait in another order than the replies came. */
	check_ok(mshvd_client_wait(c, id3, 5000, &res, &fd3, NULL));
	check_eq_int(json_integer_value(json_object_get(res, "id")), 2);
	check_eq_int(fd3, -1);
	json_decref(res);
	check_ok(mshvd_client_wait(c, id2, 5000, &res, &fd2, NULL));
	check_eq_int(json_integer_value(json_object_get(res, "id")), 3);
	json_decref(res);
	check_ok(mshvd_client_wait(c, id1, 5000, &res, &fd1, NULL));
	check_eq_int(json_integer_value(json_object_get(res, "id")), 1);
	json_decref(res);
	require(fd1 >= 0 && fd2 >= 0);
	check(fcntl(fd1, F_GETFD) & FD_CLOEXEC);
	check(fcntl(fd2, F_GETFD) & FD_CLOEXEC);
	/* fd1 is the pipe's write end, fd2 its read end. */
	check_eq_int(write(fd1, "z", 1), 1);
	check_eq_int(read(fd2, &byte, 1), 1);
	check_eq_int(byte, 'z');
	close(fd1);
	close(fd2);
	close(passed_pipe[0]);
	close(passed_pipe[1]);
	check(mshvd_client_has_events(c));
	mshvd_client_free(c);
	pthread_join(t, NULL);
}

static void script_resume(struct peer *p)
{
	json_t *req, *params;

	peer_accept(p);
	req = peer_read(p);
	check_eq_str(req_method(req), "subscribe");
	params = json_object_get(req, "params");
	check_eq_int(json_integer_value(json_object_get(params, "vm")), 7);
	check_eq_int(json_integer_value(json_object_get(params, "since")), 0);
	peer_sendf(p, -1, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"subscription\":1,"
		   "\"seq\":2}}\n", (long long)req_id(req));
	peer_sendf(p, -1, "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":{\"seq\":1}}\n"
		   "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":{\"seq\":2}}\n");
	json_decref(req);
	close(p->fd);

	/* The reconnect: same filter, since = the last seq received; the replay overlaps. */
	peer_accept(p);
	req = peer_read(p);
	check_eq_str(req_method(req), "subscribe");
	params = json_object_get(req, "params");
	check_eq_int(json_integer_value(json_object_get(params, "vm")), 7);
	check_eq_int(json_integer_value(json_object_get(params, "since")), 2);
	peer_sendf(p, -1, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"subscription\":1,"
		   "\"seq\":4}}\n", (long long)req_id(req));
	peer_sendf(p, -1, "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":{\"seq\":2}}\n"
		   "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":{\"seq\":3}}\n"
		   "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":{\"seq\":4}}\n");
	json_decref(req);
	json_decref(peer_read(p));
}

static void test_resume(void)
{
	pthread_t t = start_peer(script_resume);
	struct mshvd_client *c;
	json_t *res = NULL, *ev;

	require_ok(mshvd_client_connect(sock_path, &c));
	check_ok(mshvd_client_subscribe(c, json_pack("{s:i, s:i}", "vm", 7, "since", 0), 5000,
					&res, NULL));
	check_eq_int(json_integer_value(json_object_get(res, "seq")), 2);
	json_decref(res);
	for (int want = 1; want <= 2; want++) {
		require_ok(mshvd_client_next_event(c, 5000, &ev));
		check_eq_int(json_integer_value(json_object_get(ev, "seq")), want);
		json_decref(ev);
	}
	check_eq_int(mshvd_client_next_event(c, 5000, &ev), -ECONNRESET);
	check_ok(mshvd_client_reconnect(c, 5000, NULL));
	for (int want = 3; want <= 4; want++) {
		require_ok(mshvd_client_next_event(c, 5000, &ev));
		check_eq_int(json_integer_value(json_object_get(ev, "seq")), want);
		json_decref(ev);
	}
	check_eq_u64(mshvd_client_last_seq(c), 4);
	mshvd_client_free(c);
	pthread_join(t, NULL);
}

static void test_misc(void)
{
	struct mshvd_client *c = NULL;
	char longpath[200];
	uint64_t v;

	check_eq_int(mshvd_client_connect("/nonexistent/mshvd.sock", &c), -ENOENT);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = 0;
	check_eq_int(mshvd_client_connect(longpath, &c), -ENAMETOOLONG);
	check(c == NULL);
	check(mshvd_client_free(NULL) == NULL);
	mshvd_error_clear(NULL);

	setenv("MSHVD_SOCKET", "/tmp/x.sock", 1);
	check_eq_str(mshvd_client_default_socket(), "/tmp/x.sock");
	setenv("MSHVD_SOCKET", "", 1);
	check_eq_str(mshvd_client_default_socket(), MSHVD_CLIENT_DEFAULT_SOCKET);
	unsetenv("MSHVD_SOCKET");

	check_eq_str(mshvd_error_code_name(-32602), "invalid-params");
	check_eq_str(mshvd_error_code_name(1), "no-such-vm");
	check(mshvd_error_code_name(12345) == NULL);

	json_t *j = json_string("0x1000");
	check_ok(mshvd_json_u64(j, &v));
	check_eq_u64(v, 0x1000);
	json_decref(j);
	j = json_integer(42);
	check_ok(mshvd_json_u64(j, &v));
	check_eq_u64(v, 42);
	json_decref(j);
	j = json_string("-1");
	check_eq_int(mshvd_json_u64(j, &v), -EINVAL);
	json_decref(j);
	j = json_string("0x10zz");
	check_eq_int(mshvd_json_u64(j, &v), -EINVAL);
	json_decref(j);
}

int main(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/test-client-XXXXXX";

	if (!mkdtemp(dir))
		test_error("mkdtemp: %s", strerror(errno));
	snprintf(sock_path, sizeof(sock_path), "%s/fake.sock", dir);
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(listen_fd, 4) < 0)
		test_error("listen on %s: %s", sock_path, strerror(errno));

	test_misc();
	test_basic();
	test_pipeline();
	test_fds();
	test_resume();

	close(listen_fd);
	unlink(sock_path);
	rmdir(dir);
	return test_done();
}
