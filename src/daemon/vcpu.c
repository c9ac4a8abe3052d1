// SPDX-License-Identifier: MIT
// vCPUs: one thread each, run/park/pause/stop protocol, and the loop side of their messages.

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "model.h"
#include "server.h"

/*
 * The protocol between the loop and a vCPU thread:
 *  - The thread waits on v->cond until v->go (run) or VCPU_REQ_EXIT.  The loop sets go only
 *    when its own view (v->state) is CREATED or PARKED, and sets v->state = RUNNING at once.
 *  - While v->state is CREATED or PARKED the thread is waiting or about to wait and never
 *    touches v->hv, so the loop may call hv_vcpu_get/set_regs, complete and translate under
 *    v->lock (hv.h's "Thread: parked"): vcpu_get_regs(), vcpu_set_regs(), vcpu_complete()
 *    and vcpu_translate_gva() below, which refuse with -EBUSY otherwise.  The loop only learns of a park from the thread's message, so it never acts
 *    on a vCPU that still runs.
 *  - Stop/pause/exit are atomic request bits plus hv_vcpu_kick() (sticky until a run
 *    returns) plus a broadcast for a thread that waits.
 *  - Each thread may have at most VCPU_MAX_QUEUED messages not yet handled by the loop; it
 *    waits for the loop to catch up, so a guest cannot grow the daemon's memory.
 *  - Step mode on a backend with HV_CAP_BOUNDED_RUN: the loop itself runs the vCPU for at most
 *    VCPU_STEP_BOUND instructions (vcpu_step_cb(), hv.h's "Thread: parked-run": the thread
 *    waits for go meanwhile, and v->lock orders the two).  An exit parks it through the same
 *    handler as the thread's message; anything else hands it to its thread (go).
 */

const char *vcpu_state_name(enum vcpu_state s)
{
	switch (s) {
	case VCPU_CREATED:
		return "created";
	case VCPU_RUNNING:
		return "running";
	case VCPU_PAUSED:
		return "paused";
	case VCPU_PARKED:
		return "parked";
	}
	return "?";
}

/*
 * Post with backpressure.  Returns false when the thread must exit instead.  Thread: vcpu.
 *
 * The credit count is an atomic so that an exit storm takes no lock shared with the loop; only
 * a thread out of credit locks v->lock and sleeps (credit_wait) until the loop has handled its
 * queue down to VCPU_RESUME_QUEUED.  The loop decrements first and then, under the lock, looks
 * at credit_wait: a thread that saw the count at the limit under the lock is either already
 * asleep then or sees the decrement.
 */
static bool vcpu_post(struct vcpu *v, struct vcpu_msg *m)
{
	if (atomic_load(&v->queued) >= VCPU_MAX_QUEUED) {
		pthread_mutex_lock(&v->lock);
		while (atomic_load(&v->queued) > VCPU_RESUME_QUEUED &&
		       !(atomic_load(&v->requests) & VCPU_REQ_EXIT)) {
			v->credit_wait = true;
			pthread_cond_wait(&v->cond, &v->lock);
		}
		v->credit_wait = false;
		pthread_mutex_unlock(&v->lock);
	}
	if (atomic_load(&v->requests) & VCPU_REQ_EXIT)
		return false;
	atomic_fetch_add(&v->queued, 1);
	m->vcpu = v;
	m->vm = v->vm;
	mailbox_post(m);
	return true;
}

/* The message of a park at exit.  Thread: vcpu, or the loop (vcpu_step_cb()). */
static void vcpu_park_msg(struct vcpu *v, const struct hv_exit *exit, struct vcpu_msg *m)
{
	*m = (struct vcpu_msg){ .type = MSG_EXIT, .parks = true, .exit = *exit };
	/* Any park answers a pending stop. */
	atomic_fetch_and(&v->requests, ~(unsigned)VCPU_REQ_STOP);
}

/* The message of a failed run: the vCPU parks at an "unknown" exit.  Thread: vcpu, or the
 * loop (vcpu_step_cb()). */
static void vcpu_error_msg(struct vcpu *v, int err, struct vcpu_msg *m)
{
	*m = (struct vcpu_msg){ .type = MSG_VCPU_ERROR, .parks = true, .err = err,
				.hv_status = hv_vcpu_last_status(v->hv) };
	atomic_fetch_and(&v->requests, ~(unsigned)VCPU_REQ_STOP);
}

/* Park: report the exit; the outer loop then waits for the next run.  Thread: vcpu. */
static void vcpu_park(struct vcpu *v, const struct hv_exit *exit)
{
	struct vcpu_msg m;

	vcpu_park_msg(v, exit, &m);
	vcpu_post(v, &m);
}

static void vcpu_park_stopped(struct vcpu *v, uint64_t rip)
{
	struct hv_exit e = { .kind = HV_EXIT_INTERRUPTED, .rip = rip };

	vcpu_park(v, &e);
}

static uint64_t vcpu_current_rip(struct vcpu *v)
{
	struct hv_reg_value r = { .reg = HV_REG_RIP };

	return hv_vcpu_get_regs(v->hv, &r, 1) == 0 ? r.u64 : 0;
}

static void vcpu_set_waiting(struct vcpu *v, bool waiting)
{
	pthread_mutex_lock(&v->lock);
	v->waiting = waiting;
	pthread_mutex_unlock(&v->lock);
}

/* Wait while the VM is paused.  Returns when the pause ends or the run must end (exit, stop
 * or abandon, handled by the caller through the request bits).  Thread: vcpu. */
static void vcpu_pause_wait(struct vcpu *v)
{
	const unsigned end = VCPU_REQ_EXIT | VCPU_REQ_STOP | VCPU_REQ_ABANDON;
	struct vcpu_msg m = { .type = MSG_STATE, .state = VCPU_PAUSED };
	unsigned req;

	/* Off the hypervisor from here: a hold may count this vCPU once its report arrives. */
	vcpu_set_waiting(v, true);
	if (!vcpu_post(v, &m)) {
		vcpu_set_waiting(v, false);
		return;
	}
	pthread_mutex_lock(&v->lock);
	for (;;) {
		req = atomic_load(&v->requests);
		if (!(req & VCPU_REQ_PAUSE) || (req & end))
			break;
		pthread_cond_wait(&v->cond, &v->lock);
	}
	v->waiting = false;
	pthread_mutex_unlock(&v->lock);
	if (!(req & end)) {
		m.state = VCPU_RUNNING;
		vcpu_post(v, &m);
	}
}

/* Wait off the hypervisor while the loop holds the VM (vm_hold()): no state change is
 * reported, only MSG_HELD, so clients see the vCPU running throughout.  Thread: vcpu. */
static void vcpu_hold_wait(struct vcpu *v)
{
	const unsigned end = VCPU_REQ_EXIT | VCPU_REQ_STOP | VCPU_REQ_ABANDON;
	struct vcpu_msg m = { .type = MSG_HELD };

	vcpu_set_waiting(v, true);
	if (!vcpu_post(v, &m)) {
		vcpu_set_waiting(v, false);
		return;
	}
	pthread_mutex_lock(&v->lock);
	while ((atomic_load(&v->requests) & VCPU_REQ_HOLD) && !(atomic_load(&v->requests) & end))
		pthread_cond_wait(&v->cond, &v->lock);
	v->waiting = false;
	pthread_mutex_unlock(&v->lock);
}

static bool exit_is_write(const struct hv_exit *e)
{
	return e->kind == HV_EXIT_IO ? e->io.write : e->mmio.write;
}

/* What a run in mode does with an exit: the thread's loop and the loop's bounded step run
 * (vcpu_step_cb()) decide by this one table. */
enum exit_action {
	EXIT_RESUME,		/* interrupted: park stopped if a stop is asked, else run on */
	EXIT_STREAM_WRITE,	/* stream: complete the write, report it, run on */
	EXIT_STREAM_DEFAULT,	/* stream: complete the read with default_read, report it */
	EXIT_PARK,
};

static enum exit_action exit_action(const struct hv_exit *e, enum run_mode mode,
				    bool has_default)
{
	switch (e->kind) {
	case HV_EXIT_INTERRUPTED:
		return EXIT_RESUME;
	case HV_EXIT_IO:
	case HV_EXIT_MMIO:
		if (mode == RUN_STREAM && exit_is_write(e))
			return EXIT_STREAM_WRITE;
		if (mode == RUN_STREAM && has_default)
			return EXIT_STREAM_DEFAULT;
		return EXIT_PARK;
	default:
		return EXIT_PARK;
	}
}

/* Run until the vCPU parks or must exit.  Thread: vcpu. */
static void vcpu_run_loop(struct vcpu *v, enum run_mode mode, bool has_default, uint64_t dflt)
{
	struct hv_exit exit;

	for (;;) {
		unsigned req = atomic_load(&v->requests);
		int r;

		if (req & VCPU_REQ_EXIT)
			return;
		if (req & VCPU_REQ_ABANDON) {
			/* The loop restored this vCPU and set its state itself. */
			atomic_fetch_and(&v->requests, ~(unsigned)VCPU_REQ_ABANDON);
			return;
		}
		if (req & VCPU_REQ_STOP) {
			vcpu_park_stopped(v, vcpu_current_rip(v));
			return;
		}
		if (req & VCPU_REQ_HOLD) {
			vcpu_hold_wait(v);
			continue;
		}
		if (req & VCPU_REQ_PAUSE) {
			vcpu_pause_wait(v);
			continue;
		}
		memset(&exit, 0, sizeof(exit));
		r = hv_vcpu_run(v->hv, &exit);
		if (r == -EINTR || r == -EAGAIN) {
			continue;
		} else if (r < 0) {
			struct vcpu_msg m;

			vcpu_error_msg(v, r, &m);
			vcpu_post(v, &m);
			return;
		}
		switch (exit_action(&exit, mode, has_default)) {
		case EXIT_RESUME:
			if (atomic_load(&v->requests) & VCPU_REQ_STOP) {
				vcpu_park_stopped(v, exit.rip);
				return;
			}
			continue;	/* a pause or exit request, or a stale kick */
		case EXIT_STREAM_WRITE: {
			struct vcpu_msg m = { .type = MSG_EXIT, .exit = exit };

			hv_vcpu_complete(v->hv, NULL);
			if (!vcpu_post(v, &m))
				return;
			continue;
		}
		case EXIT_STREAM_DEFAULT: {
			struct hv_completion c = { .value = dflt };
			struct vcpu_msg m = { .type = MSG_EXIT, .exit = exit, .completed = true,
					      .completed_value = dflt };

			hv_vcpu_complete(v->hv, &c);
			if (!vcpu_post(v, &m))
				return;
			continue;
		}
		case EXIT_PARK:
			vcpu_park(v, &exit);
			return;
		}
	}
}

static void *vcpu_main(void *arg)
{
	struct vcpu *v = arg;

	pthread_mutex_lock(&v->lock);
	for (;;) {
		enum run_mode mode;
		bool has_default;
		uint64_t dflt;

		v->thread_idle = true;
		while (!v->go && !(atomic_load(&v->requests) & VCPU_REQ_EXIT))
			pthread_cond_wait(&v->cond, &v->lock);
		if (atomic_load(&v->requests) & VCPU_REQ_EXIT)
			break;
		v->go = false;
		v->thread_idle = false;
		mode = v->mode;
		has_default = v->has_default_read;
		dflt = v->default_read;
		pthread_mutex_unlock(&v->lock);
		vcpu_run_loop(v, mode, has_default, dflt);
		pthread_mutex_lock(&v->lock);
	}
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

/*
 * The vCPU's thread, started by its first run: a vCPU that never ran costs no thread (its
 * stack and TLS are most of an idle VM's memory in the daemon).  Thread: loop.
 */
static int vcpu_thread_start(struct vcpu *v)
{
	sigset_t block, old;
	int r;

	if (v->thread_started)
		return 0;
	/* The loop handles the process signals; vCPU threads only get the backend's kick. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGPIPE);
	sigaddset(&block, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	r = -pthread_create(&v->thread, NULL, vcpu_main, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		return r;
	v->thread_started = true;
	return 0;
}

int vcpu_new(struct vm *vm, unsigned index, struct vcpu **ret)
{
	struct vcpu *v;
	int r;

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->index = index;
	v->thread_idle = true;		/* no thread yet; it starts waiting for go */
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->cond, NULL);
	r = hv_vcpu_new(vm->hv, index, &v->hv);
	if (r < 0) {
		vcpu_free(v);
		return r;
	}
	hv_vcpu_set_data(v->hv, v);
	*ret = v;
	return 0;
}

void vcpu_reap(struct vcpu *v)
{
	if (v->thread_started) {
		vcpu_request(v, VCPU_REQ_EXIT);
		pthread_join(v->thread, NULL);
		v->thread_started = false;
	}
	v->hv = hv_vcpu_free(v->hv);
}

struct vcpu *vcpu_free(struct vcpu *v)
{
	if (!v)
		return NULL;
	hv_vcpu_free(v->hv);
	if (v->step_ev)
		event_free(v->step_ev);
	textbuf_free(&v->last_event);
	textbuf_free(&v->last_exit);
	pthread_mutex_destroy(&v->lock);
	pthread_cond_destroy(&v->cond);
	free(v);
	return NULL;
}

struct vcpu *vcpu_lookup_index(struct vm *vm, uint64_t index)
{
	if (index >= mshvd.limits.max_vcpus)
		return NULL;
	return vm_vcpu(vm, (unsigned)index);
}

struct vcpu *vcpu_lookup(struct vm *vm, const json_t *ref)
{
	if (!json_is_integer(ref) || json_integer_value(ref) < 0)
		return NULL;
	return vcpu_lookup_index(vm, (uint64_t)json_integer_value(ref));
}

void vcpu_request(struct vcpu *v, unsigned req)
{
	atomic_fetch_or(&v->requests, req);
	if (v->hv)
		hv_vcpu_kick(v->hv);
	pthread_mutex_lock(&v->lock);
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

void vcpu_clear_request(struct vcpu *v, unsigned req)
{
	atomic_fetch_and(&v->requests, ~req);
	pthread_mutex_lock(&v->lock);
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

void vcpu_set_state(struct vcpu *v, enum vcpu_state s)
{
	struct event_origin from = { .vm = v->vm->id, .owner = v->vm->owner,
				     .vcpu = (int)v->index };
	static const char key[] = "\"state\":\"";
	const char *name = vcpu_state_name(s);
	size_t n = sizeof(key) - 1, len = strlen(name);
	char t[sizeof(key) + 16];

	if (v->state == s)
		return;
	v->state = s;
	/* "state":"<name>" as text: a stepped vCPU goes running -> parked at every exit. */
	memcpy(t, key, n);
	memcpy(t + n, name, len);
	n += len;
	t[n++] = '"';
	event_publish_text(EV_VCPU_STATE, &from, t, n, NULL);
}

/* Set up a run; go: let the thread run it now (else vcpu_step_cb() decides). */
static void vcpu_arm(struct vcpu *v, enum run_mode mode, bool has_default_read,
		     uint64_t default_read, bool go)
{
	/* A stop that raced with the previous park must not end this run; a run started while
	 * the VM is held waits at once (vm_hold()). */
	atomic_fetch_and(&v->requests, ~(unsigned)VCPU_REQ_STOP);
	if (v->vm->holding)
		atomic_fetch_or(&v->requests, VCPU_REQ_HOLD);
	pthread_mutex_lock(&v->lock);
	v->mode = mode;
	v->has_default_read = has_default_read;
	v->default_read = default_read;
	v->go = go;
	if (go)
		pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

void vcpu_start(struct vcpu *v, enum run_mode mode, bool has_default_read, uint64_t default_read)
{
	vcpu_arm(v, mode, has_default_read, default_read, true);
	vcpu_set_state(v, VCPU_RUNNING);
}

/* ---- operations of the loop thread (the methods call these, never hv_vcpu_* or the lock) ---- */

int vcpu_create(struct vm *vm, unsigned index, struct vcpu **ret)
{
	struct vcpu *v;
	int r;

	if (index >= mshvd.limits.max_vcpus)
		return -ERANGE;
	if (vm_vcpu(vm, index))
		return -EEXIST;
	r = vcpu_new(vm, index, &v);
	if (r < 0)
		return r;
	/* Its thread has not run yet: the bit is seen before the first run. */
	if (vm->state == VM_PAUSED)
		atomic_fetch_or(&v->requests, VCPU_REQ_PAUSE);
	vm_counts_add(vm, 1, 0, 0);
	log_full(LOG_LVL_DEBUG, vm->id, (int)index, NULL, 0, "vm %u vcpu %u created", vm->id,
		 index);
	vm_publish(vm, (int)index, EV_VCPU_STATE, json_pack("{s:s}", "state", "created"));
	*ret = v;
	return 0;
}

bool vcpu_idle(const struct vcpu *v)
{
	return v->state == VCPU_CREATED || v->state == VCPU_PARKED;
}

uint32_t vcpu_last_status(const struct vcpu *v)
{
	return v->hv ? hv_vcpu_last_status(v->hv) : 0;
}

int vcpu_get_regs(struct vcpu *v, struct hv_reg_value *regs, unsigned n)
{
	int r;

	if (!vcpu_idle(v))
		return -EBUSY;
	if (!n)
		return 0;
	pthread_mutex_lock(&v->lock);
	r = hv_vcpu_get_regs(v->hv, regs, n);
	pthread_mutex_unlock(&v->lock);
	return r;
}

/* Write parsed edits; partial segments/tables are merged with the current value.  Call
 * with v->lock held and the vCPU idle.  Returns 0 or a negative errno. */
static int regs_apply(struct vcpu *v, const struct vcpu_reg_edit *edits)
{
	struct hv_reg_value cur[HV_REG_COUNT], out[HV_REG_COUNT];
	unsigned ncur = 0, nout = 0;
	int r;

	for (unsigned i = 0; i < HV_REG_COUNT; i++) {
		enum hv_reg_kind kind = hv_reg_kind(i);
		unsigned all = kind == HV_REG_KIND_SEGMENT ? 15 : 3;

		if (edits[i].set && kind != HV_REG_KIND_U64 && edits[i].fields != all)
			cur[ncur++].reg = i;
	}
	if (ncur) {
		r = hv_vcpu_get_regs(v->hv, cur, ncur);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0, k = 0; i < HV_REG_COUNT; i++) {
		const struct vcpu_reg_edit *e = &edits[i];
		struct hv_reg_value *o;

		if (!e->set)
			continue;
		o = &out[nout++];
		*o = e->v;
		if (k < ncur && cur[k].reg == (enum hv_reg)i) {
			const struct hv_reg_value *c = &cur[k++];
			bool seg = hv_reg_kind(i) == HV_REG_KIND_SEGMENT;

			if (seg) {
				o->seg = c->seg;
				if (e->fields & REG_F_BASE)
					o->seg.base = e->v.seg.base;
				if (e->fields & REG_F_LIMIT)
					o->seg.limit = e->v.seg.limit;
				if (e->fields & REG_F_SELECTOR)
					o->seg.selector = e->v.seg.selector;
				if (e->fields & REG_F_ATTRIBUTES)
					o->seg.attributes = e->v.seg.attributes;
			} else {
				o->table = c->table;
				if (e->fields & REG_F_BASE)
					o->table.base = e->v.table.base;
				if (e->fields & REG_F_LIMIT)
					o->table.limit = e->v.table.limit;
			}
		}
	}
	return nout ? hv_vcpu_set_regs(v->hv, out, nout) : 0;
}

int vcpu_set_regs(struct vcpu *v, const struct vcpu_reg_edit *edits)
{
	int r;

	if (!vcpu_idle(v))
		return -EBUSY;
	pthread_mutex_lock(&v->lock);
	r = regs_apply(v, edits);
	pthread_mutex_unlock(&v->lock);
	return r;
}

int vcpu_complete(struct vcpu *v, uint64_t value, const uint32_t *cpuid, bool inject_gp,
		  const struct vcpu_reg_edit *edits, uint64_t *ret_rip)
{
	struct hv_completion c = { .value = value, .inject_gp = inject_gp };
	struct hv_reg_value rip = { .reg = HV_REG_RIP };
	int r;

	if (v->state != VCPU_PARKED)
		return -EBUSY;
	if (cpuid)
		memcpy(c.cpuid, cpuid, sizeof(c.cpuid));
	else if (v->parked_exit.kind == HV_EXIT_CPUID)
		memcpy(c.cpuid, v->parked_exit.cpuid.result, sizeof(c.cpuid));
	pthread_mutex_lock(&v->lock);
	r = hv_vcpu_complete(v->hv, &c);
	/* regs after the completion: a given rip overrides the advanced one. */
	if (r == 0 && edits)
		r = regs_apply(v, edits);
	if (r == 0)
		r = hv_vcpu_get_regs(v->hv, &rip, 1);
	pthread_mutex_unlock(&v->lock);
	if (r < 0)
		return r;
	*ret_rip = rip.u64;
	return 0;
}

bool vcpu_can_translate_gva(void)
{
	return hv_caps(mshvd.hv) & HV_CAP_TRANSLATE_GVA;
}

int vcpu_translate_gva(struct vcpu *v, uint64_t gva, unsigned access, uint64_t *ret_gpa)
{
	int r;

	if (!vcpu_can_translate_gva())
		return -EOPNOTSUPP;
	if (!vcpu_idle(v))
		return -EBUSY;
	pthread_mutex_lock(&v->lock);
	r = hv_vcpu_translate_gva(v->hv, gva, access, ret_gpa);
	pthread_mutex_unlock(&v->lock);
	return r;
}

/*
 * Step mode on the loop.  A stepped vCPU's thread would cost every step two hand-offs more than
 * the client's round trip (loop -> thread -> loop); the loop runs the step itself instead, for
 * a bounded amount of guest work.  VCPU_STEP_BOUND instructions are about a millisecond of the
 * emu engine at its slowest (a few ms under sanitizers): what one step may hold the loop, and
 * the other clients, before the vCPU goes to its thread.
 */
#define VCPU_STEP_BOUND		20000

/* Hand the loop's message of a park to the mailbox's handler, as if the thread posted it. */
static void vcpu_deliver(struct vcpu *v, struct vcpu_msg *m)
{
	atomic_fetch_add(&v->queued, 1);
	m->vcpu = v;
	m->vm = v->vm;
	vcpu_handle_msg(m);
}

/* The run set up by vcpu_run() goes on in the vCPU's thread (started by vcpu_run()), as a
 * run without the loop's step would have from its start.  Thread: loop. */
static void vcpu_hand_over(struct vcpu *v)
{
	pthread_mutex_lock(&v->lock);
	v->go = true;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

/* The one-shot of a step run, made active by the request that started the run: it runs after
 * that request's reply was queued (so the run reply precedes the park's event on the wire)
 * and before this iteration's output is written (server_flush_last()), so the replies of a
 * complete + run {wait} pair leave in one write.  Thread: loop. */
static void vcpu_step_cb(evutil_socket_t fd, short what, void *arg)
{
	const unsigned others = VCPU_REQ_STOP | VCPU_REQ_PAUSE | VCPU_REQ_EXIT | VCPU_REQ_HOLD |
				VCPU_REQ_ABANDON;
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	struct vcpu_msg m;
	struct hv_exit exit;
	int r;

	(void)fd;
	(void)what;
	if (!v->step_pending)
		return;
	v->step_pending = false;
	if (vm->state == VM_DESTROYING)
		return;		/* its thread, if any, leaves on VCPU_REQ_EXIT */
	/* What arrived since vcpu_run() (stop, pause, a hold, a restore) is the thread's to
	 * answer, exactly as if it had been running all along. */
	if (v->state != VCPU_RUNNING || vm->holding || vm->state == VM_PAUSED ||
	    (atomic_load(&v->requests) & others)) {
		vcpu_hand_over(v);
		return;
	}
	memset(&exit, 0, sizeof(exit));
	pthread_mutex_lock(&v->lock);
	if (!v->thread_idle) {
		/* The thread is still on its way out of an earlier run (it has not reached its
		 * wait for go): never run the vCPU beside it; it takes this run over. */
		pthread_mutex_unlock(&v->lock);
		vcpu_hand_over(v);
		return;
	}
	r = hv_vcpu_run_bounded(v->hv, &exit, VCPU_STEP_BOUND);
	pthread_mutex_unlock(&v->lock);
	if (r < 0 && r != -EINTR && r != -EAGAIN) {
		vcpu_error_msg(v, r, &m);
		vcpu_deliver(v, &m);
		return;
	}
	/* A retry, the bound, a stale kick: the thread runs on from here. */
	if (r < 0 || exit_action(&exit, RUN_STEP, false) != EXIT_PARK) {
		vcpu_hand_over(v);
		return;
	}
	vcpu_park_msg(v, &exit, &m);
	vcpu_deliver(v, &m);
}

/* Schedule the loop's step of v; false: run it on the thread. */
static bool vcpu_step_schedule(struct vcpu *v)
{
	if (!(hv_caps(mshvd.hv) & HV_CAP_BOUNDED_RUN) || v->vm->holding ||
	    v->vm->state == VM_PAUSED || (atomic_load(&v->requests) & VCPU_REQ_PAUSE))
		return false;
	if (!v->step_ev) {
		v->step_ev = event_new(mshvd.base, -1, 0, vcpu_step_cb, v);
		if (!v->step_ev)
			return false;
	}
	event_active(v->step_ev, EV_TIMEOUT, 0);
	server_flush_last();
	v->step_pending = true;
	return true;
}

int vcpu_run(struct vcpu *v, enum run_mode mode, bool has_default_read, uint64_t default_read)
{
	int r;

	if (!vcpu_idle(v))
		return -EBUSY;
	/* Started by the first run even when the loop steps it: a step may hand the vCPU over at
	 * any time, and a run that cannot get its thread fails here, before anything changed. */
	r = vcpu_thread_start(v);
	if (r < 0)
		return r;
	if (mode == RUN_STEP && vcpu_step_schedule(v)) {
		if (v->vm->state == VM_CREATED)
			vm_set_state(v->vm, VM_RUNNING);
		vcpu_arm(v, mode, has_default_read, default_read, false);
		vcpu_set_state(v, VCPU_RUNNING);
		return 0;
	}
	if (v->vm->state == VM_CREATED)
		vm_set_state(v->vm, VM_RUNNING);
	vcpu_start(v, mode, has_default_read, default_read);
	return 0;
}

bool vcpu_stop(struct vcpu *v)
{
	if (vcpu_idle(v))
		return false;
	vcpu_request(v, VCPU_REQ_STOP);
	return true;
}

/*
 * The exit object of an exit event as text, byte for byte what jansson's compact dump of it
 * was: the loop writes one per exit of a storm, so it is written here directly, without a
 * tree.  buf holds EXIT_TEXT_MAX bytes.  Returns the length.  Thread: loop.
 */
#define EXIT_TEXT_MAX	320

#define PUT(lit)	(memcpy(p, lit, sizeof(lit) - 1), p += sizeof(lit) - 1)
#define PUT_STR(str)	(*p++ = '"', memcpy(p, str, strlen(str)), p += strlen(str), *p++ = '"')

static size_t exit_text(char *buf, const struct hv_exit *e, bool stopped, bool completed,
			uint64_t value)
{
	const char *type = stopped ? "stopped" : hv_exit_kind_name(e->kind);
	char *p = buf;

	PUT("{\"type\":");
	PUT_STR(type ? type : "unknown");
	if (stopped) {
		PUT(",\"rip\":");
		p = text_hex(p, e->rip);
		*p++ = '}';
		return (size_t)(p - buf);
	}
	switch (e->kind) {
	case HV_EXIT_IO:
		PUT(",\"port\":");
		p = text_hex(p, e->io.port);
		PUT(",\"size\":");
		p = text_u64(p, e->io.size);
		if (e->io.write)
			PUT(",\"direction\":\"out\"");
		else
			PUT(",\"direction\":\"in\"");
		if (e->io.write || completed) {
			PUT(",\"data\":");
			p = text_hex(p, e->io.write ? e->io.data : value);
		}
		if (e->io.string) {
			PUT(",\"string\":true");
			if (e->io.rep)
				PUT(",\"rep\":true");
			else
				PUT(",\"rep\":false");
			PUT(",\"count\":");
			p = text_i64(p, (int64_t)e->io.count);
		}
		break;
	case HV_EXIT_MMIO:
		PUT(",\"gpa\":");
		p = text_hex(p, e->mmio.gpa);
		PUT(",\"size\":");
		p = text_u64(p, e->mmio.size);
		if (e->mmio.write)
			PUT(",\"direction\":\"write\"");
		else
			PUT(",\"direction\":\"read\"");
		if (e->mmio.write || completed) {
			PUT(",\"data\":");
			p = text_hex(p, e->mmio.write ? e->mmio.data : value);
		}
		break;
	case HV_EXIT_CPUID:
		PUT(",\"leaf\":");
		p = text_hex(p, e->cpuid.eax);
		PUT(",\"subleaf\":");
		p = text_hex(p, e->cpuid.ecx);
		PUT(",\"result\":[");
		for (unsigned i = 0; i < 4; i++) {
			if (i)
				*p++ = ',';
			p = text_hex(p, e->cpuid.result[i]);
		}
		*p++ = ']';
		break;
	case HV_EXIT_MSR:
		PUT(",\"index\":");
		p = text_hex(p, e->msr.index);
		if (e->msr.write) {
			PUT(",\"direction\":\"write\",\"data\":");
			p = text_hex(p, e->msr.data);
		} else {
			PUT(",\"direction\":\"read\"");
		}
		break;
	case HV_EXIT_EXCEPTION:
		PUT(",\"vector\":");
		p = text_u64(p, e->exception.vector);
		if (e->exception.has_error_code) {
			PUT(",\"error_code\":");
			p = text_hex(p, e->exception.error_code);
		}
		break;
	case HV_EXIT_UNKNOWN:
		PUT(",\"code\":");
		p = text_hex(p, e->unknown.code);
		break;
	default:
		break;
	}
	PUT(",\"rip\":");
	p = text_hex(p, e->rip);
	*p++ = '}';
	return (size_t)(p - buf);
}

#undef PUT
#undef PUT_STR

json_t *exit_to_json(const struct hv_exit *e, bool stopped, bool completed, uint64_t value)
{
	char buf[EXIT_TEXT_MAX];

	/* One writer for both forms, so a JSON exit says what its event says. */
	return json_loadb(buf, exit_text(buf, e, stopped, completed, value), 0, NULL);
}

/* Keep the park's event params (borrowed) as text, as the exit path does; NULL: none. */
static void vcpu_keep_last_exit(struct vcpu *v, const json_t *event)
{
	v->last_event.len = 0;
	v->last_exit.len = 0;
	if (event && (textbuf_json(&v->last_event, event) < 0 ||
		      textbuf_json(&v->last_exit, json_object_get(event, "exit")) < 0))
		v->last_event.len = 0;
}

/* Loop side of every mailbox message. */
void vcpu_handle_msg(const struct vcpu_msg *m)
{
	struct vcpu *v = m->vcpu;
	struct vm *vm = m->vm;
	json_t *exit, *ev;

	if (m->type == MSG_VM_GONE) {
		vm_gone(vm);
		return;
	}
	/* Wake a thread out of credit once its queue is down to the resume mark (vcpu_post). */
	if (atomic_fetch_sub(&v->queued, 1) - 1 <= VCPU_RESUME_QUEUED) {
		pthread_mutex_lock(&v->lock);
		if (v->credit_wait)
			pthread_cond_broadcast(&v->cond);
		pthread_mutex_unlock(&v->lock);
	}
	if (vm->state == VM_DESTROYING)
		return;

	switch (m->type) {
	case MSG_EXIT: {
		/* Published as text, no tree (event_publish_text): a storm's exits and a stepped
		 * vCPU's parks are the loop's most frequent events. */
		struct event_origin from = { .vm = vm->id, .owner = vm->owner,
					     .vcpu = (int)v->index };
		bool stopped = m->exit.kind == HV_EXIT_INTERRUPTED;
		char t[sizeof("\"exit\":") - 1 + EXIT_TEXT_MAX];
		size_t n = sizeof("\"exit\":") - 1, en;

		v->exits++;
		vm->exit_counts[stopped ? VM_EXIT_COUNT_STOPPED : m->exit.kind]++;
		memcpy(t, "\"exit\":", n);
		en = exit_text(t + n, &m->exit, stopped, m->completed, m->completed_value);
		if (!m->parks) {
			event_publish_text(EV_EXIT, &from, t, n + en, NULL);
			break;
		}
		/* The waiters answer run {wait} and stop with the park (park_reply()), after the
		 * publishes below: the vCPU keeps its own copy, the ring's may be evicted. */
		v->last_event.len = 0;
		v->last_exit.len = 0;
		event_publish_text(EV_EXIT, &from, t, n + en, &v->last_event);
		if (textbuf_put(&v->last_exit, t + n, en) < 0)
			v->last_event.len = 0;
		v->parked_exit = m->exit;
		vcpu_set_state(v, VCPU_PARKED);
		if (m->exit.kind == HV_EXIT_SHUTDOWN)
			vm_set_state(vm, VM_CRASHED);
		break;
	}
	case MSG_VCPU_ERROR:
		log_full(LOG_LVL_WARNING, vm->id, (int)v->index, NULL, -m->err,
			 "vm %u vcpu %u: run failed: %s (hv status 0x%x)", vm->id, v->index,
			 strerror(-m->err), m->hv_status);
		exit = json_pack("{s:s, s:o, s:i, s:o, s:s}", "type", "unknown", "code", json_hex(0),
				 "errno", -m->err, "hv_status", json_hex(m->hv_status), "error",
				 strerror(-m->err));
		ev = vm_publish_ref(vm, (int)v->index, EV_EXIT, json_pack("{s:o}", "exit", exit));
		vcpu_keep_last_exit(v, ev);
		json_decref(ev);
		memset(&v->parked_exit, 0, sizeof(v->parked_exit));
		v->parked_exit.kind = HV_EXIT_UNKNOWN;
		vcpu_set_state(v, VCPU_PARKED);
		break;
	case MSG_STATE:
		/* A pause report that crosses a park message must not undo the park. */
		if (v->state == VCPU_PARKED || v->state == VCPU_CREATED)
			break;
		vcpu_set_state(v, m->state);
		break;
	case MSG_HELD:
	case MSG_VM_GONE:
		break;
	}
	if (vm->hold_fn)
		vm_hold_check(vm);
}

/* ---- holds (snapshots) ------------------------------------------------------------------- */

/* Whether the thread of v is off the hypervisor: idle as the loop sees it (a park was
 * reported: the thread posted it and then only waits), or waiting in a pause or a hold. */
static bool vcpu_off_hv(struct vcpu *v)
{
	bool w;

	if (vcpu_idle(v))
		return true;
	pthread_mutex_lock(&v->lock);
	w = v->waiting;
	pthread_mutex_unlock(&v->lock);
	return w;
}

static void hold_timer_free(struct vm *vm)
{
	if (vm->hold_timer)
		event_free(vm->hold_timer);
	vm->hold_timer = NULL;
}

/* Finish the pending hold with err (the hold itself stays until vm_release()). */
static void hold_done(struct vm *vm, int err)
{
	void (*fn)(struct vm *, void *, int) = vm->hold_fn;

	hold_timer_free(vm);
	vm->hold_fn = NULL;
	if (fn)
		fn(vm, vm->hold_arg, err);
}

static void hold_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vm *vm = arg;

	(void)fd;
	(void)what;
	log_full(LOG_LVL_WARNING, vm->id, -1, NULL, 0, "vm %u: its vCPUs did not stop for a "
		 "snapshot within %u ms", vm->id, VM_HOLD_TIMEOUT_MS);
	hold_done(vm, -ETIMEDOUT);
}

void vm_hold_check(struct vm *vm)
{
	struct vcpu *v;

	if (!vm->hold_fn)
		return;
	VM_FOREACH_VCPU(vm, v)
		if (!vcpu_off_hv(v))
			return;
	hold_done(vm, 0);
}

int vm_hold(struct vm *vm, void (*fn)(struct vm *vm, void *arg, int err), void *arg)
{
	struct vcpu *v;

	if (vm->holding)
		return -EBUSY;
	vm->holding = true;
	vm->hold_fn = fn;
	vm->hold_arg = arg;
	VM_FOREACH_VCPU(vm, v)
		if (!vcpu_idle(v))
			vcpu_request(v, VCPU_REQ_HOLD);
	vm_hold_check(vm);
	if (vm->hold_fn) {
		/* Not complete yet: bounded (a timer that cannot be made only loses the bound). */
		struct timeval tv = { VM_HOLD_TIMEOUT_MS / 1000, (VM_HOLD_TIMEOUT_MS % 1000) * 1000 };

		vm->hold_timer = evtimer_new(mshvd.base, hold_timeout_cb, vm);
		if (vm->hold_timer && evtimer_add(vm->hold_timer, &tv) < 0)
			hold_timer_free(vm);
	}
	return 0;
}

void vm_release(struct vm *vm, bool abandon)
{
	struct vcpu *v;

	vm->holding = false;
	vm->hold_fn = NULL;
	hold_timer_free(vm);
	VM_FOREACH_VCPU(vm, v) {
		if (abandon && !vcpu_idle(v)) {
			/* Set before the hold ends, so the thread returns instead of running. */
			atomic_fetch_or(&v->requests, VCPU_REQ_ABANDON);
		}
		vcpu_clear_request(v, VCPU_REQ_HOLD);
	}
}

/* A VM being destroyed ends its hold: the threads leave on VCPU_REQ_EXIT. */
void vm_hold_cancel(struct vm *vm)
{
	vm->holding = false;
	hold_done(vm, -ESHUTDOWN);
}

int vcpu_save_state(struct vcpu *v, void **ret, size_t *ret_size, struct hv_reg_value *regs)
{
	int r;

	pthread_mutex_lock(&v->lock);
	for (unsigned i = 0; i < HV_REG_COUNT; i++)
		regs[i].reg = i;
	r = hv_vcpu_get_regs(v->hv, regs, HV_REG_COUNT);
	if (r == 0)
		r = hv_vcpu_save_state(v->hv, ret, ret_size);
	pthread_mutex_unlock(&v->lock);
	return r;
}

int vcpu_restore_state(struct vcpu *v, const void *blob, size_t size)
{
	int r;

	pthread_mutex_lock(&v->lock);
	r = hv_vcpu_restore_state(v->hv, blob, size);
	pthread_mutex_unlock(&v->lock);
	return r;
}

json_t *vcpu_last_exit(const struct vcpu *v)
{
	return v->last_event.len ? json_loadb(v->last_event.p, v->last_event.len, 0, NULL) : NULL;
}

void vcpu_set_restored(struct vcpu *v, enum vcpu_state s, const struct hv_exit *exit,
		       json_t *last_exit)
{
	vcpu_keep_last_exit(v, last_exit);
	json_decref(last_exit);
	if (exit)
		v->parked_exit = *exit;
	else
		memset(&v->parked_exit, 0, sizeof(v->parked_exit));
	vcpu_set_state(v, s);
}
