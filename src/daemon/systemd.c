// SPDX-License-Identifier: MIT
// systemd glue: socket activation, READY/STATUS/STOPPING notifications and the watchdog timer.

#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "events.h"
#include "model.h"
#include "systemd.h"

#ifdef HAVE_SYSTEMD

static bool notify;			/* $NOTIFY_SOCKET was set at startup */
static bool activated;			/* we got our socket from the service manager */
static bool ready_sent, stopping_sent;
static struct event *watchdog_ev;
static unsigned last_vms = UINT_MAX;
static uint64_t last_vcpus = UINT64_MAX;

int systemd_listen_fd(int *ret_fd)
{
	int n, r;

	/* Unset LISTEN_* so that nothing we might start later takes the fds for its own. */
	n = sd_listen_fds(1);
	if (n < 0) {
		log_full(LOG_LVL_ERROR, 0, -1, NULL, -n, "socket activation: %s", strerror(-n));
		return n;
	}
	if (n == 0)
		return -ENOENT;
	if (n > 1) {
		log_error("socket activation: %d file descriptors passed; mshvd takes exactly one "
			  "listening Unix stream socket (mshvd.socket with one ListenStream=)", n);
		return -EINVAL;
	}
	r = sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0);
	if (r < 0) {
		log_full(LOG_LVL_ERROR, 0, -1, NULL, -r, "socket activation: fd %d: %s",
			 SD_LISTEN_FDS_START, strerror(-r));
		return r;
	}
	if (r == 0) {
		log_error("socket activation: fd %d is not a listening Unix stream socket "
			  "(mshvd needs ListenStream= with a path)", SD_LISTEN_FDS_START);
		return -EINVAL;
	}
	activated = true;
	*ret_fd = SD_LISTEN_FDS_START;
	return 0;
}

bool systemd_managed(void)
{
	return activated || getenv("NOTIFY_SOCKET");
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	/* Only a turning loop gets here: a stuck loop stops the pings and systemd kills us. */
	sd_notify(0, "WATCHDOG=1");
}

static void systemd_status_changed(void);

static void status_sink(const struct event_info *e, void *arg)
{
	(void)arg;
	if (e->kind == EV_VM_STATE || e->kind == EV_VCPU_STATE)
		systemd_status_changed();
}

int systemd_init(void)
{
	uint64_t usec;
	int r;

	notify = getenv("NOTIFY_SOCKET") != NULL;
	/* VMs and vCPUs come and go with these events: the service status follows them. */
	if (notify && event_sink_add(status_sink, NULL) < 0)
		return -ENOSPC;
	r = sd_watchdog_enabled(0, &usec);
	if (r < 0) {
		log_full(LOG_LVL_WARNING, 0, -1, NULL, -r, "ignoring the watchdog settings: %s",
			 strerror(-r));
		return 0;
	}
	if (r == 0)
		return 0;
	{
		struct timeval tv = { .tv_sec = usec / 2 / 1000000, .tv_usec = usec / 2 % 1000000 };

		watchdog_ev = event_new(mshvd.base, -1, EV_PERSIST, watchdog_cb, NULL);
		if (!watchdog_ev || event_add(watchdog_ev, &tv) < 0) {
			log_error("cannot arm the watchdog timer");
			return -ENOMEM;
		}
	}
	log_info("watchdog: pinging every %llu ms", (unsigned long long)(usec / 2 / 1000));
	return 0;
}

static void status_text(char *buf, size_t size)
{
	struct vm_counts c;

	vm_counts_get(0, true, &c);
	last_vms = c.vms;
	last_vcpus = c.vcpus;
	snprintf(buf, size, "%s%u partition%s, %llu vCPU%s (backend %s)",
		 stopping_sent ? "Stopping: " : "", last_vms, last_vms == 1 ? "" : "s",
		 (unsigned long long)last_vcpus, last_vcpus == 1 ? "" : "s", hv_name(mshvd.hv));
}

static void ready_cb(evutil_socket_t fd, short what, void *arg)
{
	char status[160];

	if (ready_sent || stopping_sent)
		return;
	ready_sent = true;
	status_text(status, sizeof(status));
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
	log_debug("notified READY=1");
}

void systemd_ready(void)
{
	static const struct timeval now = { 0, 0 };

	if (!notify)
		return;
	if (event_base_once(mshvd.base, -1, EV_TIMEOUT, ready_cb, NULL, &now) < 0)
		ready_cb(-1, 0, NULL);
}

static void systemd_status_changed(void)
{
	char status[160];
	struct vm_counts c;

	if (!notify || !ready_sent)
		return;
	vm_counts_get(0, true, &c);
	if (c.vms == last_vms && c.vcpus == last_vcpus)
		return;
	status_text(status, sizeof(status));
	sd_notifyf(0, "STATUS=%s", status);
}

void systemd_stopping(void)
{
	char status[160];

	if (!notify || stopping_sent)
		return;
	stopping_sent = true;
	status_text(status, sizeof(status));
	sd_notifyf(0, "STOPPING=1\nSTATUS=%s", status);
}

void systemd_fini(void)
{
	if (watchdog_ev)
		event_free(watchdog_ev);
	watchdog_ev = NULL;
}

#else /* !HAVE_SYSTEMD */

int systemd_listen_fd(int *ret_fd)
{
	if (getenv("LISTEN_FDS"))
		log_warning("$LISTEN_FDS is set but mshvd was built without systemd support; "
			    "ignoring it and listening on --socket");
	return -ENOENT;
}

bool systemd_managed(void)
{
	return false;
}

int systemd_init(void)
{
	return 0;
}

void systemd_ready(void)
{
}

void systemd_stopping(void)
{
}

void systemd_fini(void)
{
}

#endif
