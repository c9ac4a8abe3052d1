/* SPDX-License-Identifier: MIT */
/* mshvd's systemd glue (layer 4, see base.h): socket activation, sd_notify (READY, STATUS,
 * STOPPING) and the watchdog. */
#ifndef MSHVD_SYSTEMD_H
#define MSHVD_SYSTEMD_H

#include <stdbool.h>

/*
 * All functions run on the loop thread.  Built without libsystemd (--without-systemd) they do
 * nothing, except systemd_listen_fd(), which warns about an ignored $LISTEN_FDS.
 */

/* The socket passed by the service manager: 0 and *ret_fd, -ENOENT when none was passed (use
 * --socket), or another negative errno when the passed fds are not exactly one listening Unix
 * stream socket (logged; the daemon must not start). */
int systemd_listen_fd(int *ret_fd);
/* True when started by a service manager that expects notifications (do not fork). */
bool systemd_managed(void);
/* Arm the watchdog timer on mshvd.base at half of $WATCHDOG_USEC, and follow the partition
 * and vCPU counts in STATUS= (a sink of the event stream).  0 or a negative errno. */
int systemd_init(void);
/* Send READY=1 (with the first STATUS=) on the next loop turn, i.e. once the loop serves the
 * socket.  The backend must already be open and the socket listening. */
void systemd_ready(void);
/* Send STOPPING=1 (once). */
void systemd_stopping(void);
/* Free the watchdog timer (before event_base_free). */
void systemd_fini(void);

#endif
