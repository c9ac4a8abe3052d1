// SPDX-License-Identifier: MIT
// libFuzzer target: one client's byte stream through mshvd's socket, framing, JSON-RPC and methods.

/*
 * The daemon's own code (src/daemon without main.c) runs on the emu backend, a real x86
 * engine, when built with libunicorn; otherwise (or with FUZZ_RPC_BACKEND=stub) on a stub
 * hypervisor with a toy ISA (tests/fuzz/hv-stub.c), which stands in for kvm and mshv too.  Each input is what one client writes on a real connection to the
 * daemon's real listening socket: accept, SO_PEERCRED, line framing, the request-size limit,
 * parsing, batches, dispatch and every method handler, vCPU threads and events included.
 * After the client closes its end, the loop runs until the daemon closed the connection;
 * then every VM left over is destroyed and the loop runs until their teardown finished, so
 * each input starts from the same state and leaks show up.
 *
 * Oracle, besides the sanitizers: every line the daemon sends must be a JSON object or array
 * of JSON-RPC 2.0 messages, and the daemon must close the connection after the client did.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/model.h"
#include "daemon/rpc.h"
#include "daemon/server.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* main.c is not linked: the global state with the daemon's defaults (limits made smaller in
 * LLVMFuzzerInitialize so that one input cannot make a run slow). */
struct mshvd mshvd = {
	.limits = MSHVD_LIMITS_DEFAULT,
};

static char sock_path[108];

static void cleanup(void)
{
	unlink(sock_path);
}

/* One loop turn that returns after at most 1 ms when nothing happens. */
static void loop_turn(void)
{
	static const struct timeval tick = { 0, 1000 };

	event_base_loopexit(mshvd.base, &tick);
	event_base_loop(mshvd.base, EVLOOP_ONCE);
}

struct reader {
	char *buf;
	size_t len, cap;
	bool eof;
};

/* Every complete line must be a JSON-RPC 2.0 message or a batch of them. */
static void check_line(const char *line, size_t len)
{
	json_error_t err;
	json_t *msg = json_loadb(line, len, 0, &err), *e;
	size_t i;

	if (getenv("FUZZ_RPC_ECHO"))
		fprintf(stderr, "<- %.*s\n", (int)len, line);
	if (!msg || (!json_is_object(msg) && !json_is_array(msg))) {
		fprintf(stderr, "fuzz-rpc: the daemon sent a bad line: %.*s\n", (int)len, line);
		abort();
	}
	if (json_is_object(msg)) {
		e = json_object_get(msg, "jsonrpc");
		if (!json_is_string(e) || strcmp(json_string_value(e), "2.0")) {
			fprintf(stderr, "fuzz-rpc: not JSON-RPC 2.0: %.*s\n", (int)len, line);
			abort();
		}
	}
	json_array_foreach(msg, i, e) {
		json_t *v = json_object_get(e, "jsonrpc");

		if (!json_is_string(v) || strcmp(json_string_value(v), "2.0")) {
			fprintf(stderr, "fuzz-rpc: batch member not JSON-RPC 2.0: %.*s\n", (int)len,
				line);
			abort();
		}
	}
	json_decref(msg);
}

/* Read what the daemon sent so far and check the complete lines. */
static void drain(int fd, struct reader *r)
{
	for (;;) {
		char *nl;
		ssize_t n;

		if (r->cap - r->len < 65536) {
			r->cap = r->cap * 2 + 65536;
			r->buf = realloc(r->buf, r->cap);
			if (!r->buf)
				abort();
		}
		n = read(fd, r->buf + r->len, r->cap - r->len);
		if (n == 0) {
			r->eof = true;
			break;
		}
		if (n < 0) {
			if (errno == ECONNRESET)
				r->eof = true;
			break;
		}
		r->len += (size_t)n;
		while ((nl = memchr(r->buf, '\n', r->len))) {
			size_t l = (size_t)(nl - r->buf);

			check_line(r->buf, l);
			memmove(r->buf, nl + 1, r->len - l - 1);
			r->len -= l + 1;
		}
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	log_level = getenv("FUZZ_RPC_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR;
	mshvd.started_us = now_us();
	mshvd.limits.max_vms = 4;
	mshvd.limits.max_vcpus = 4;
	mshvd.limits.max_mem_per_vm = 16u << 20;
	mshvd.limits.max_request = 2048;	/* below -max_len: over-long lines are reached */
	mshvd.limits.max_io = 64u << 10;
	mshvd.limits.event_ring = 256;
	mshvd.limits.max_eventfds = 8;
	mshvd.limits.max_msi_routes = 16;
	snprintf(sock_path, sizeof(sock_path), "%s/mshvd-fuzz-%d.sock",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	mshvd.socket_path = sock_path;
	/* The real engine where it is built in (FUZZ_RPC_BACKEND=stub picks the toy ISA). */
	if (hv_backend_available(HV_BACKEND_EMU) &&
	    strcmp(getenv("FUZZ_RPC_BACKEND") ?: "emu", "stub") != 0) {
		if (hv_open(HV_BACKEND_EMU, NULL, &mshvd.hv) < 0)
			abort();
	} else if (hv_open(HV_BACKEND_KVM, NULL, &mshvd.hv) < 0) {
		abort();
	}
	mshvd.base = event_base_new();
	if (!mshvd.base || events_init(mshvd.limits.event_ring) < 0 || model_init() < 0 ||
	    rpc_init() < 0 ||
	    server_listen(sock_path, NULL) < 0) {
		fprintf(stderr, "fuzz-rpc: cannot set up the daemon\n");
		abort();
	}
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct reader rd = { 0 };
	struct vm *vm, *next;
	size_t off = 0;
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		abort();
	memcpy(sa.sun_path, sock_path, strlen(sock_path));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("fuzz-rpc: connect");
		abort();
	}
	/* Write the input while the daemon serves it (it may be larger than the socket buffer,
	 * and the daemon stops reading while 8 calls wait). */
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);

		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EAGAIN)
			break;		/* the daemon closed the connection (line too long) */
		loop_turn();
		drain(fd, &rd);
		if (rd.eof)
			break;
	}
	shutdown(fd, SHUT_WR);
	while (!rd.eof) {
		loop_turn();
		drain(fd, &rd);
	}
	close(fd);
	free(rd.buf);

	/* VMs outlive their creator; tear them down so the next input starts clean. */
	TAILQ_FOREACH_SAFE(vm, &vms, entry, next)
		vm_destroy(vm, "end of fuzz input");
	while (!TAILQ_EMPTY(&dying_vms) || nclients)
		loop_turn();
	return 0;
}
