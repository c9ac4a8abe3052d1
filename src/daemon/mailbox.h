/* SPDX-License-Identifier: MIT */
/* vCPU threads -> loop (layer 1, see base.h): a locked queue of fixed-size messages. */
#ifndef MSHVD_MAILBOX_H
#define MSHVD_MAILBOX_H

#include "base.h"

struct vm;
struct vcpu;

enum msg_type {
	MSG_EXIT,		/* an exit; parks says whether the vCPU parked */
	MSG_STATE,		/* vCPU entered state (paused, running) */
	MSG_VCPU_ERROR,		/* hv_vcpu_run failed: err, hv_status; the vCPU parked */
	MSG_VM_GONE,		/* the teardown thread finished (its last message) */
	MSG_HELD,		/* the vCPU waits for a snapshot (VCPU_REQ_HOLD) */
};

/* A fixed-size message; copied into and out of the queue. */
struct vcpu_msg {
	enum msg_type type;
	struct vcpu *vcpu;		/* valid until MSG_VM_GONE of its VM is handled */
	struct vm *vm;
	bool parks;
	int state;			/* enum vcpu_state for MSG_STATE */
	int err;
	uint32_t hv_status;
	struct hv_exit exit;
	uint64_t completed_value;	/* stream reads completed with default_read */
	bool completed;
};

/* The loop side of every message, registered by the model (layer 3): the queue itself knows
 * nothing of what the messages mean. */
typedef void mailbox_handler_fn(const struct vcpu_msg *msg);
int mailbox_init(mailbox_handler_fn *handler);
void mailbox_fini(void);
/* Append a message and wake the loop unless it will look at the queue anyway.  Thread: any. */
void mailbox_post(const struct vcpu_msg *msg);

#endif
