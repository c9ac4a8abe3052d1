// SPDX-License-Identifier: MIT
// vCPU threads -> loop: a locked queue of fixed-size messages plus an eventfd (Redis ae style).

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "mailbox.h"

struct mbox_node {
	struct vcpu_msg msg;
	struct mbox_node *next;
};

/*
 * Nodes handled by the loop go back to a free list instead of free(): an exit storm would
 * otherwise malloc on the vCPU thread and free on the loop thread for every message, which
 * glibc serves through the arena lock, not the per-thread cache.  The list keeps at most
 * MAILBOX_FREE_MAX nodes (bounded memory after a storm of many vCPUs).
 */
#define MAILBOX_FREE_MAX	1024

static pthread_mutex_t mbox_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mbox_node *mbox_head, **mbox_tail = &mbox_head;
static struct mbox_node *mbox_free;	/* mbox_lock */
static unsigned mbox_nfree;		/* mbox_lock */
/*
 * mbox_lock: the loop will look at the queue again without another write to the eventfd: one
 * was written, or the loop is draining and checks the queue when it is done.  An exit storm
 * then costs the vCPU thread one write per wake-up of the loop, not one per message, and none
 * while the loop is busy with the messages before.
 */
static bool mbox_signalled;
static int mbox_fd = -1;
static struct event *mbox_ev;
static mailbox_handler_fn *mbox_handler;

void mailbox_post(const struct vcpu_msg *msg)
{
	struct mbox_node *n;
	bool wake;

	pthread_mutex_lock(&mbox_lock);
	n = mbox_free;
	if (n) {
		mbox_free = n->next;
		mbox_nfree--;
	}
	/* Threads never block on the loop here: the queue is bounded per vCPU by the credit
	 * count (vcpu->queued), which the poster waits on before posting. */
	while (!n) {
		pthread_mutex_unlock(&mbox_lock);
		n = malloc(sizeof(*n));
		if (!n)
			usleep(1000);
		pthread_mutex_lock(&mbox_lock);
	}
	n->msg = *msg;
	n->next = NULL;
	*mbox_tail = n;
	mbox_tail = &n->next;
	wake = !mbox_signalled;
	mbox_signalled = true;
	pthread_mutex_unlock(&mbox_lock);
	if (wake) {
		uint64_t one = 1;

		(void)!write(mbox_fd, &one, sizeof(one));
	}
}

/*
 * Messages handled per wake-up.  A storm of exits keeps up to VCPU_MAX_QUEUED messages per
 * vCPU waiting; handling them all in one callback would hold requests on the sockets behind
 * them for that long.  After a batch the eventfd is signalled again, so the loop polls the
 * sockets before the next batch (order within the queue is kept).
 */
#define MAILBOX_BATCH	32

static void mailbox_drain(evutil_socket_t fd, short what, void *arg)
{
	struct mbox_node *n, *next, **cut;
	bool more;
	uint64_t cnt;

	/* Read the eventfd before taking the list: a post after the swap is seen below. */
	(void)!read(fd, &cnt, sizeof(cnt));
	pthread_mutex_lock(&mbox_lock);
	n = mbox_head;
	cut = &mbox_head;
	for (unsigned i = 0; i < MAILBOX_BATCH && *cut; i++)
		cut = &(*cut)->next;
	mbox_head = *cut;
	*cut = NULL;
	if (!mbox_head)
		mbox_tail = &mbox_head;
	mbox_signalled = true;
	pthread_mutex_unlock(&mbox_lock);
	for (struct mbox_node *m = n; m; m = m->next)
		mbox_handler(&m->msg);
	/* Back to the free list in one go; what does not fit is freed.  What was posted
	 * meanwhile (or left over the batch) waits for the next turn of the loop, so the
	 * sockets are polled before it: the loop signals itself. */
	pthread_mutex_lock(&mbox_lock);
	for (; n && mbox_nfree < MAILBOX_FREE_MAX; n = next) {
		next = n->next;
		n->next = mbox_free;
		mbox_free = n;
		mbox_nfree++;
	}
	more = mbox_head != NULL;
	mbox_signalled = more;
	pthread_mutex_unlock(&mbox_lock);
	if (more) {
		uint64_t one = 1;

		(void)!write(fd, &one, sizeof(one));
	}
	for (; n; n = next) {
		next = n->next;
		free(n);
	}
}

int mailbox_init(mailbox_handler_fn *handler)
{
	mbox_handler = handler;
	mbox_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (mbox_fd < 0)
		return -errno;
	mbox_ev = event_new(mshvd.base, mbox_fd, EV_READ | EV_PERSIST, mailbox_drain, NULL);
	if (!mbox_ev || event_add(mbox_ev, NULL) < 0)
		return -ENOMEM;
	return 0;
}

void mailbox_fini(void)
{
	struct mbox_node *n, *next;

	if (mbox_ev)
		event_free(mbox_ev);
	mbox_ev = NULL;
	if (mbox_fd >= 0)
		close(mbox_fd);
	mbox_fd = -1;
	for (n = mbox_head; n; n = next) {
		next = n->next;
		free(n);
	}
	mbox_head = NULL;
	mbox_tail = &mbox_head;
	for (n = mbox_free; n; n = next) {
		next = n->next;
		free(n);
	}
	mbox_free = NULL;
	mbox_nfree = 0;
	mbox_signalled = false;
}
