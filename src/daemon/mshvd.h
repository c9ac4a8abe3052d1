/* SPDX-License-Identifier: MIT */
/* mshvd internals: the objects of the daemon (clients, calls, VMs, vCPUs, events) and their APIs. */
#ifndef MSHVD_DAEMON_H
#define MSHVD_DAEMON_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <jansson.h>

#include "hv/hv.h"
#include "mshvd/protocol.h"
#include "shared/num.h"
#include "limits.h"

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar) \
	for ((var) = TAILQ_FIRST(head); (var) && ((tvar) = TAILQ_NEXT(var, field), 1); \
	     (var) = (tvar))
#endif

struct event_base;
struct bufferevent;
struct event;

/*
 * Threads (see STYLE.md "Threads").  Everything in this header belongs to the loop thread,
 * except the members of struct vcpu marked "shared" (under vcpu->lock or atomic) and the
 * mailbox functions marked "Thread: any".
 */

/* ---- log.c ------------------------------------------------------------------------------- */

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARNING, LOG_LVL_INFO, LOG_LVL_DEBUG };

extern enum log_level log_level;
int log_level_from_name(const char *name, enum log_level *ret);
/* Pick the target once, first thing in main: native journal records when stderr is the
 * service's journal stream ($JOURNAL_STREAM matches fd 2; systemd builds only), else plain
 * lines on stderr.  Returns true for the journal. */
bool log_init(void);
/* One message; on stderr one line, prefixed with pid and level.  Thread: any. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with context that the journal stores as fields: MSHVD_VM= when vm != 0,
 * MSHVD_VCPU= when vcpu >= 0, MSHVD_METHOD= when method != NULL, ERRNO= when err > 0 (a
 * positive errno).  The text should still name the context for stderr readers.  Thread: any. */
void log_full(enum log_level level, unsigned vm, int vcpu, const char *method, int err,
	      const char *fmt, ...) __attribute__((format(printf, 6, 7)));
#define log_error(...)	log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)	do { if (log_level >= LOG_LVL_DEBUG) log_msg(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)

/* ---- limits and global state (main.c) ---------------------------------------------------- */

struct mshvd {
	struct event_base *base;
	struct hv *hv;
	struct limits limits;
	const char *socket_path;
	bool shutting_down;
	uint64_t started_us;
};

extern struct mshvd mshvd;

/* Wall clock in microseconds.  Thread: any. */
uint64_t now_us(void);

/* ---- util.c: JSON helpers (loop thread) --------------------------------------------------- */

/* json_hex(), json_to_u64(): src/shared/num.h. */
/* Nesting depth of a JSON text, scanned without parsing (strings are skipped). */
unsigned json_text_depth(const char *s, size_t len);

/* ---- rpc.c: JSON-RPC calls ----------------------------------------------------------------- */

struct client;
struct rpc_batch;
struct method;

/*
 * One request being served.  A handler either finishes it at once (rpc_reply/rpc_error) and
 * returns RPC_DONE, or keeps it and returns RPC_DEFERRED: the dispatcher then links it to its
 * client (rpc.c), so that a disconnect detaches it and finishing it later only frees it.  A
 * handler that returns RPC_DONE without finishing the call gets it finished with
 * internal-error by the dispatcher: a call is never kept without being linked.
 */
struct rpc_call {
	struct client *client;		/* NULL once the client has gone */
	json_t *id;			/* new ref; NULL for a notification */
	const struct method *method;
	struct rpc_batch *batch;	/* NULL for a single request */
	uid_t uid;
	pid_t pid;
	struct vm *vm;			/* the row's target, resolved before the handler */
	struct vcpu *vcpu;		/* TARGET_VCPU */
	TAILQ_ENTRY(rpc_call) entry;	/* client->calls while deferred */
	bool deferred;
	bool *finished;			/* set by rpc_finish() while the handler runs */
	/* Called once after the reply was queued (subscribe uses it to replay events). */
	void (*after_reply)(struct rpc_call *call, void *arg);
	void *after_arg;
	/* A descriptor to attach (SCM_RIGHTS) to the reply line, borrowed: it must stay open
	 * until rpc_reply() returns.  The result must say "passed_fds": 1.  -1: none. */
	int pass_fd;
};
TAILQ_HEAD(rpc_call_list, rpc_call);

/* What a handler did with its call (tmux's enum cmd_retval); the dispatcher acts on it. */
enum rpc_retval {
	RPC_DONE,	/* finished (rpc_reply or an rpc_error*) */
	RPC_DEFERRED,	/* kept: a waiter or callback finishes it from the loop later */
};

/* Finish a call with a result (stolen reference).  Frees the call. */
void rpc_reply(struct rpc_call *call, json_t *result);
/* Finish a call with an error; data (stolen, may be NULL) gets data.name = name added. */
void rpc_error(struct rpc_call *call, int code, const char *name, json_t *data,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define rpc_invalid_params(call, ...) \
	rpc_error(call, MSHVD_ERR_INVALID_PARAMS, MSHVD_ERRNAME_INVALID_PARAMS, NULL, __VA_ARGS__)
void rpc_error_invalid_state(struct rpc_call *call, const char *state, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The JSON-RPC error response, built here only (new ref; id borrowed, NULL for null; data
 * stolen, may be NULL, gets data.name = name). */
json_t *rpc_error_object(json_t *id, int code, const char *name, json_t *data,
			 const char *message);
/* {limit, value}: the data of an error naming a limit (new ref). */
json_t *rpc_limit_data(enum limit_id limit);
/* limit-exceeded naming the limit (data.limit) and its current value (data.value). */
void rpc_error_limit(struct rpc_call *call, enum limit_id limit);
/* hypervisor-error with data.errno = -err and data.hv_status. */
void rpc_error_hv(struct rpc_call *call, int err, uint32_t hv_status, const char *what);
/* Resolve call->vm from ref as the caller may see it; else finish the call with no-such-vm
 * (identical for missing and foreign VMs) and return -ENOENT. */
int rpc_resolve_vm(struct rpc_call *call, const json_t *ref);

/* Handle one request line from client c (loop thread).  Returns false when the client must be
 * closed after its output is flushed. */
bool rpc_handle_line(struct client *c, const char *line, size_t len);
/* A client is going away: detach its deferred calls. */
void rpc_client_gone(struct client *c);

/* ---- methods.c: the method table ---------------------------------------------------------- */

enum perm {
	PERM_UNDECLARED,	/* a row that forgot .perm: refused, and make check fails */
	PERM_READ,	/* any connected user; results filtered to what the caller may see */
	PERM_OWNER,	/* the VM's owner or root; others see no-such-vm */
	PERM_ADMIN,	/* root only: operations on the daemon as a whole, not on one VM (none
			 * exist yet; shutdown and configuration stay with signals and options) */
};
/*
 * No method takes a path: params are VM references, numbers, booleans, enums, register names,
 * a VM name restricted to [A-Za-z0-9._-] and base64 data.  The only paths the daemon opens are
 * its command line's (--socket, --device) and the environment's (systemd); make check verifies
 * both (tests/integration/test-permissions.py).
 */

enum param_type {
	PT_VM,		/* VM id (integer) or name (string) */
	PT_UINT,	/* non-negative integer that fits 32 bits */
	PT_U64,		/* 64-bit quantity: integer or "0x..." string */
	PT_BOOL,
	PT_STRING,
	PT_ENUM,	/* string from param_spec.values */
	PT_ENUMS,	/* array of strings from param_spec.values */
	PT_STRINGS,	/* array of strings */
	PT_OBJECT,
	PT_ARRAY,
};

/*
 * One parameter of a row (systemd's JSON dispatch tables are the model): the dispatcher checks
 * it and decodes it once into the row's args struct at offset, as
 *   PT_VM      const json_t *  (only where it is not the row's target: subscribe's filter)
 *   PT_UINT    unsigned        PT_U64  uint64_t        PT_BOOL  bool
 *   PT_STRING  const char *    PT_ENUM unsigned, the index in values
 *   PT_ENUMS   unsigned, a mask of the indexes in values (at most 32)
 *   PT_STRINGS, PT_OBJECT, PT_ARRAY  json_t *
 * Pointers are borrowed from the request: valid while the handler runs.  An absent optional
 * param leaves its field zero; has (when not 0) is 1 + the offset of a bool set when present.
 * The row's target params (vm, vcpu) have no field: the dispatcher resolves them.
 */
struct param_spec {
	const char *name;
	enum param_type type;
	bool required;
	const char *const *values;	/* PT_ENUM, PT_ENUMS: NULL-terminated */
	size_t offset;			/* PARAM_NO_FIELD: not decoded */
	size_t has;
};

#define PARAM_NO_FIELD	SIZE_MAX
/* The row's target (params.vm, params.vcpu): resolved into call->vm / call->vcpu. */
#define PARAM_TARGET(n, t) \
	{ .name = (n), .type = (t), .required = true, .offset = PARAM_NO_FIELD }
#define PARAM(n, t, req, st, f) \
	{ .name = (n), .type = (t), .required = (req), .offset = offsetof(st, f) }
#define PARAM_VALUES(n, t, req, vals, st, f) \
	{ .name = (n), .type = (t), .required = (req), .values = (vals), .offset = offsetof(st, f) }
/* An optional param whose absence matters: hf says whether it was given. */
#define PARAM_HAS(n, t, st, f, hf) \
	{ .name = (n), .type = (t), .offset = offsetof(st, f), .has = offsetof(st, hf) + 1 }
#define PARAM_VALUES_HAS(n, t, vals, st, f, hf) \
	{ .name = (n), .type = (t), .values = (vals), .offset = offsetof(st, f), \
	  .has = offsetof(st, hf) + 1 }
#define PARAM_END	{ .name = NULL }

/* What a method acts on, resolved by the dispatcher (rpc.c) before the handler runs: the VM
 * of params.vm as the caller may see it (else no-such-vm, identical for missing and foreign
 * VMs), and the vCPU params.vcpu of it (else no-such-vcpu).  Handlers find them in
 * call->vm and call->vcpu. */
enum target {
	TARGET_NONE,
	TARGET_VM,
	TARGET_VCPU,
};

struct method {
	const char *name;
	/* Runs once the dispatcher checked permission, resolved the target and decoded params
	 * into args (a struct of args_size bytes, borrowed for the call of the handler). */
	enum rpc_retval (*handler)(struct rpc_call *call, const void *args);
	enum perm perm;
	enum target target;
	const struct param_spec *params;	/* terminated by PARAM_END */
	size_t args_size;
	const char *summary;
};

extern const struct method *const method_table[];
const struct method *method_find(const char *name);
const char *perm_name(enum perm p);
const char *param_type_name(enum param_type t);
/* New reference: the table as JSON (for --print-methods and the schema checks). */
json_t *methods_to_json(void);


extern const struct method method_daemon_info, method_create_vm, method_destroy_vm,
	method_list_vms, method_vm_info, method_pause_vm, method_resume_vm, method_map_memory,
	method_unmap_memory, method_write_memory, method_read_memory, method_create_vcpu,
	method_get_regs, method_set_regs, method_run, method_complete, method_stop,
	method_translate_gva, method_subscribe, method_unsubscribe, method_add_ioeventfd,
	method_remove_ioeventfd, method_add_irqfd, method_remove_irqfd, method_trigger_irq,
	method_set_msi_routing, method_assert_interrupt, method_rpc_discover;

/* ---- server.c: socket and clients --------------------------------------------------------- */

struct subscription;
TAILQ_HEAD(subscription_list, subscription);
struct fd_line;
TAILQ_HEAD(fd_line_list, fd_line);

struct client {
	unsigned id;
	int fd;
	struct bufferevent *bev;
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
/* Queue one JSON text (borrowed) followed by '\n'.  Dropped for closing clients. */
void client_send(struct client *c, json_t *msg);
/* Like client_send(), with descriptor fd (borrowed; duplicated if the line has to wait)
 * attached as SCM_RIGHTS to the sendmsg() that carries the line's first byte (the
 * convention of include/mshvd/client.h).  Order with other lines is kept. */
void client_send_fd(struct client *c, json_t *msg, int fd);
/* Detach a client at once (its memory goes one loop turn later). */
void client_kill(struct client *c);
/* Close after flushing the output. */
void client_close(struct client *c);
/* Bytes queued for c and not yet in the kernel. */
size_t client_output_len(struct client *c);
/* Queue event msg (borrowed) with sequence number seq, unless the client's output is over
 * limits.max_output: then it (and every later event until the output drained) is dropped
 * and counted for one events-lost notice.  Replies never go through here. */
void client_send_event(struct client *c, json_t *msg, uint64_t seq);
/* A deferred call finished: count it and resume reading if the client was throttled. */
void client_call_done(struct client *c);

/* ---- auth.c ------------------------------------------------------------------------------- */

struct vm;
bool auth_can_see(uid_t uid, const struct vm *vm);
bool auth_is_admin(uid_t uid);

/* What one uid holds (live and dying VMs), for the per-uid limits. */
struct uid_usage {
	unsigned clients, vms, vcpus, eventfds;
	uint64_t mem;
};
void auth_uid_usage(uid_t uid, struct uid_usage *ret);
/* Whether the per-uid limits apply to uid (not to root). */
bool auth_uid_limited(uid_t uid);
/* The per-uid accounting, once for every resource: whether taking add more of what the
 * per-uid limit meters (max-clients-per-uid, max-vms-per-uid, max-vcpus-per-uid,
 * max-eventfds-per-uid, max-mem-per-uid) would put uid over it.  Never for root. */
bool auth_uid_over(uid_t uid, enum limit_id limit, uint64_t add);

/* ---- mailbox.c: vCPU threads -> loop ------------------------------------------------------- */

struct vcpu;

enum msg_type {
	MSG_EXIT,		/* an exit; parks says whether the vCPU parked */
	MSG_STATE,		/* vCPU entered state (paused, running) */
	MSG_VCPU_ERROR,		/* hv_vcpu_run failed: err, hv_status; the vCPU parked */
	MSG_VM_GONE,		/* the teardown thread finished (its last message) */
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

int mailbox_init(void);
void mailbox_fini(void);
/* Append a message and wake the loop on empty -> non-empty.  Thread: any. */
void mailbox_post(const struct vcpu_msg *msg);

/* ---- partition.c / vcpu.c: the model ------------------------------------------------------- */

enum vm_state { VM_CREATED, VM_RUNNING, VM_PAUSED, VM_CRASHED, VM_DESTROYING };

enum vcpu_state {
	VCPU_CREATED,	/* never run: registers may be read and written */
	VCPU_RUNNING,	/* its thread runs it (or is about to) */
	VCPU_PAUSED,	/* its VM is paused; it resumes with the VM */
	VCPU_PARKED,	/* stopped at an exit, waiting for run */
};

/* Request bits, loop -> vCPU thread (vcpu->requests). */
enum {
	VCPU_REQ_STOP	= 1u << 0,
	VCPU_REQ_PAUSE	= 1u << 1,
	VCPU_REQ_EXIT	= 1u << 2,
};

enum run_mode { RUN_STEP, RUN_STREAM };

/* Messages a vCPU thread may have queued and not yet seen handled (backpressure). */
#define VCPU_MAX_QUEUED	256

struct vcpu {
	struct vm *vm;
	unsigned index;
	struct hv_vcpu *hv;
	pthread_t thread;
	bool thread_started;

	/* Loop thread only. */
	enum vcpu_state state;
	json_t *last_exit;		/* the last parking exit event params (new ref) or NULL */
	struct hv_exit parked_exit;	/* the exit it is parked at */
	uint64_t exits;

	/* Shared. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_uint requests;		/* VCPU_REQ_*; the kick follows setting a bit */
	bool go;			/* lock: loop asked the thread to run */
	enum run_mode mode;		/* lock: set with go */
	bool has_default_read;
	uint64_t default_read;
	unsigned queued;		/* lock: messages posted and not yet handled */
};

struct region {
	uint64_t gpa;
	uint64_t size;
	unsigned flags;			/* HV_MAP_* */
	int memfd;
	void *host;
	TAILQ_ENTRY(region) entry;
};
TAILQ_HEAD(region_list, region);

struct waiter;
TAILQ_HEAD(waiter_list, waiter);

/* ioeventfds and irqfds of a VM (eventfd.c).  The daemon owns the eventfd; a copy may have
 * been passed to a client (pass_fd), which changes nothing here. */
enum vm_eventfd_kind { VM_EVENTFD_IOEVENT, VM_EVENTFD_IRQ };

struct vm_eventfd {
	struct vm *vm;
	unsigned id;			/* per VM, shared by both kinds */
	enum vm_eventfd_kind kind;
	int fd;				/* EFD_CLOEXEC | EFD_NONBLOCK */
	struct event *ev;		/* ioevent: the watcher of fd; NULL for irqfds */
	bool passed;			/* a copy went to a client */
	bool registered;		/* the hypervisor knows it */
	/* ioeventfd */
	uint64_t addr;
	unsigned len;
	bool pio;
	bool has_datamatch;
	uint64_t datamatch;
	uint64_t count;			/* guest writes counted so far */
	/* irqfd */
	uint32_t gsi;
	int resample_fd;		/* -1 unless level triggered */
	struct event *resample_ev;
	uint64_t triggers;		/* trigger-irq calls */
	uint64_t resamples;
	TAILQ_ENTRY(vm_eventfd) entry;
};
TAILQ_HEAD(vm_eventfd_list, vm_eventfd);

/* vm->exit_counts: one per enum hv_exit_kind, then the "stopped" parks (an interrupted run
 * that answered a stop; HV_EXIT_INTERRUPTED itself is never counted). */
enum {
	VM_EXIT_COUNT_STOPPED = HV_EXIT_UNKNOWN + 1,
	VM_EXIT_COUNTS,
};

struct vm {
	unsigned id;
	char *name;
	uid_t owner;
	struct client *creator;		/* NULL once the creating connection closed */
	bool autodestroy;
	struct hv_vm_options opts;
	enum vm_state state;
	enum vm_state prev_state;	/* before pause-vm */
	struct hv_vm *hv;
	struct region_list regions;
	unsigned nregions;		/* at most limits.max_regions <= HV_MAX_MAPPINGS */
	uint64_t mem_total;
	struct vcpu **vcpus;		/* [limits.max_vcpus] */
	unsigned nvcpus;
	uint64_t exit_counts[VM_EXIT_COUNTS];	/* by enum hv_exit_kind, + stopped */
	struct waiter_list waiters;
	struct vm_eventfd_list eventfds;
	unsigned neventfds;
	unsigned next_eventfd_id;
	struct hv_msi_route *msi_routes;	/* the table last set (set-msi-routing) */
	unsigned nmsi_routes;
	pthread_t reaper;
	bool reaper_started;
	TAILQ_ENTRY(vm) entry;
};
TAILQ_HEAD(vm_list, vm);

extern struct vm_list vms;		/* live VMs, visible to their owner */
extern struct vm_list dying_vms;	/* being torn down off the loop */
extern unsigned nvms;

const char *vm_state_name(enum vm_state s);
const char *vcpu_state_name(enum vcpu_state s);
int vm_new(uid_t owner, struct client *creator, const char *name, bool autodestroy,
	   const struct hv_vm_options *opts, struct vm **ret);
/* Look up by id (integer) or name (string) as seen by uid; NULL when missing or foreign. */
struct vm *vm_lookup(const json_t *ref, uid_t uid);
/* Start teardown; the vm leaves `vms` at once and is freed when MSG_VM_GONE arrives. */
void vm_destroy(struct vm *vm, const char *why);
/* MSG_VM_GONE arrived: join the reaper, publish "destroyed", free the VM. */
void vm_gone(struct vm *vm);
void vm_set_state(struct vm *vm, enum vm_state s);
/* The partition operations (partition.c owns the hv_vm_* calls).  Raw status of the last
 * failed one: vm_last_status(). */
uint32_t vm_last_status(const struct vm *vm);
/* Pause the partition (where the backend can) and ask every vCPU to pause; the vCPUs report
 * "paused" (or park) later.  -EALREADY when paused. */
int vm_pause(struct vm *vm);
/* Resume a paused VM and its vCPUs; it returns to its state before the pause.  -EINVAL unless
 * paused. */
int vm_resume(struct vm *vm);
/* Inject an interrupt.  Thread: loop (the backend allows it while vCPUs run). */
int vm_assert_interrupt(struct vm *vm, const struct hv_interrupt *irq);
json_t *vm_summary(const struct vm *vm);		/* new ref */
void vm_client_gone(struct client *c);
uint64_t vm_count_vcpus(void);

int vm_map(struct vm *vm, uint64_t gpa, uint64_t size, unsigned flags);
struct region *vm_region_at(struct vm *vm, uint64_t gpa);
int vm_unmap(struct vm *vm, struct region *r);
/* Guest RAM access; -EFAULT unless [gpa, gpa+len) is inside mapped regions. */
int vm_access(struct vm *vm, uint64_t gpa, void *buf, size_t len, bool write);

/* ---- eventfd.c: ioeventfds, irqfds, MSI routes of a VM (loop thread) ---- */

/* Whether vm has the interrupt controller irqfds and MSI routes need: the in-kernel irqchip
 * on kvm (create-vm irqchip, lapic or x2apic), the LAPIC partition flag on mshv. */
bool vm_has_irqchip(const struct vm *vm);
/* "irqchip" or "lapic": the create-vm option the backend needs for irqfds. */
const char *vm_irqchip_option(void);
/* Whether gsi is routed: an irqchip pin (kvm) or in the VM's MSI table. */
bool vm_gsi_routed(const struct vm *vm, uint32_t gsi);
struct vm_eventfd *vm_eventfd_find(struct vm *vm, enum vm_eventfd_kind kind, unsigned id);
struct vm_eventfd *vm_irqfd_by_gsi(struct vm *vm, uint32_t gsi);
/* Signal irqfd e (trigger-irq) and count it.  Negative errno from write(). */
int vm_irqfd_trigger(struct vm_eventfd *e);
/* Create, register and (ioevent) watch an eventfd; e is a template with the kind and its
 * fields.  On success *ret is linked to vm.  Negative errno from eventfd() or the hypervisor. */
int vm_eventfd_add(struct vm *vm, const struct vm_eventfd *e, struct vm_eventfd **ret);
/* Unregister, stop watching, close and free.  Returns the hypervisor's error, in which case
 * nothing changed. */
int vm_eventfd_remove(struct vm_eventfd *e);
/* Teardown: stop every watcher (loop, step 1 of the teardown order). */
void vm_eventfds_unwatch(struct vm *vm);
/* Teardown: unregister every eventfd (reaper, before hv_vm_free). Thread: reaper. */
void vm_eventfds_unregister(struct vm *vm);
/* Teardown: close the fds (reaper, after hv_vm_free). Thread: reaper. */
void vm_eventfds_close(struct vm *vm);
/* Teardown: free the structs (loop, step 6). */
void vm_eventfds_free(struct vm *vm);
json_t *vm_eventfds_json(const struct vm *vm);	/* new ref */
/* Replace the MSI table; the hypervisor first, then the copy.  routes is copied. */
int vm_set_msi_routes(struct vm *vm, const struct hv_msi_route *routes, unsigned n);

/* A register write of set-regs or complete: whole registers, or some fields of a segment or
 * table register merged with its current value.  Indexed by enum hv_reg. */
enum { REG_F_BASE = 1, REG_F_LIMIT = 2, REG_F_SELECTOR = 4, REG_F_ATTRIBUTES = 8 };
struct vcpu_reg_edit {
	bool set;
	unsigned fields;	/* segments and tables: which REG_F_* were given */
	struct hv_reg_value v;
};

/*
 * The vCPU operations of the loop thread (vcpu.c owns the protocol: lock, request bits, go
 * flag, hv_vcpu_* calls).  Register access, complete and translate need the vCPU idle (created
 * or parked; complete: parked) and return -EBUSY otherwise; other errors are the backend's,
 * with vcpu_last_status() for its raw status.
 */
/* Create vCPU index of vm with its (parked) thread, register it, publish vcpu-state created.
 * -ERANGE past max-vcpus, -EEXIST when it exists, else the backend's error. */
int vcpu_create(struct vm *vm, unsigned index, struct vcpu **ret);
bool vcpu_idle(const struct vcpu *v);
uint32_t vcpu_last_status(const struct vcpu *v);
int vcpu_get_regs(struct vcpu *v, struct hv_reg_value *regs, unsigned n);
/* edits[HV_REG_COUNT]. */
int vcpu_set_regs(struct vcpu *v, const struct vcpu_reg_edit *edits);
/* Complete the parked exit with value (reads), cpuid (NULL: the exit's own result) or a #GP,
 * then apply edits (NULL: none; a given rip overrides the advanced one); *ret_rip: the rip. */
int vcpu_complete(struct vcpu *v, uint64_t value, const uint32_t *cpuid, bool inject_gp,
		  const struct vcpu_reg_edit *edits, uint64_t *ret_rip);
bool vcpu_can_translate_gva(void);
/* -EOPNOTSUPP without the capability (checked first). */
int vcpu_translate_gva(struct vcpu *v, uint64_t gva, unsigned access, uint64_t *ret_gpa);
/* Start an idle vCPU (its VM becomes running if it was created). */
int vcpu_run(struct vcpu *v, enum run_mode mode, bool has_default_read, uint64_t default_read);
/* Ask a running or paused vCPU to park (exit "stopped"); false when it is idle already. */
bool vcpu_stop(struct vcpu *v);

int vcpu_new(struct vm *vm, unsigned index, struct vcpu **ret);
/* Teardown-thread side: stop and join the thread, free the hv vCPU. Thread: reaper. */
void vcpu_reap(struct vcpu *v);
struct vcpu *vcpu_free(struct vcpu *v);
struct vcpu *vcpu_lookup(struct vm *vm, const json_t *ref);
/* Loop side: start running (state must be CREATED or PARKED). */
void vcpu_start(struct vcpu *v, enum run_mode mode, bool has_default_read, uint64_t default_read);
/* Set / clear request bits, kick and wake the thread.  Thread: any (loop, reaper). */
void vcpu_request(struct vcpu *v, unsigned req);
void vcpu_clear_request(struct vcpu *v, unsigned req);
void vcpu_set_state(struct vcpu *v, enum vcpu_state s);
void vcpu_handle_msg(const struct vcpu_msg *m);
/* Build the "exit" object (new ref) of an exit. */
json_t *exit_to_json(const struct hv_exit *e, bool stopped, bool completed, uint64_t value);

/* Waiters: deferred calls finished by a later vCPU state change (run wait, stop, pause-vm).
 * waiter_add() only keeps the call: its handler returns RPC_DEFERRED and the dispatcher links it
 * to its client. */
enum waiter_kind { WAIT_PARK, WAIT_PAUSE };
int waiter_add(struct vm *vm, struct vcpu *v, enum waiter_kind kind, struct rpc_call *call,
	       unsigned timeout_ms);
/* Re-check the waiters of vm: finish the satisfied ones.  exit_event: the parking event (borrowed). */
void waiters_check(struct vm *vm, struct vcpu *v, json_t *exit_event);
/* Fail every waiter of vm (it is being destroyed). */
void waiters_cancel(struct vm *vm);
/* The reply object for a park: the event params plus the exit fields at top level (new ref). */
json_t *park_reply(json_t *event);

/* ---- events.c ------------------------------------------------------------------------------ */

enum event_kind {
	EV_EXIT, EV_VCPU_STATE, EV_VM_STATE, EV_EVENTS_LOST, EV_IOEVENT, EV_IRQ_RESAMPLE,
	EV__COUNT
};

int events_init(unsigned ring_size);
void events_fini(void);
/* Names of the event kinds, indexed by enum event_kind, NULL-terminated (a PT_ENUMS list). */
extern const char *const event_kind_names[EV__COUNT + 1];
const char *event_kind_name(enum event_kind k);
int event_kind_from_name(const char *name, enum event_kind *ret);
uint64_t events_last_seq(void);
/* Publish an event: params (stolen) get seq, time, kind, vm (and vcpu when >= 0). */
void event_publish(enum event_kind kind, const struct vm *vm, int vcpu, json_t *params);
/* The same, returning a new reference to the published event: the ring's own may be evicted
 * by the next publish. */
json_t *event_publish_ref(enum event_kind kind, const struct vm *vm, int vcpu, json_t *params);
int subscription_add(struct client *c, struct vm *vm, unsigned kinds_mask, unsigned *ret_id);
int subscription_remove(struct client *c, unsigned id);
/* Replay ring events with seq > since to subscription id (events-lost first if needed). */
void subscription_replay(struct client *c, unsigned id, uint64_t since);
void subscriptions_free(struct client *c);
/* Queue events-lost {from, to} for c now, past its output limit (it replaces the dropped
 * events, which stay replayable from the ring through subscribe {since}). */
void event_send_lost(struct client *c, uint64_t from, uint64_t to);

#endif
