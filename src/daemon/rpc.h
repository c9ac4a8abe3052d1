/* SPDX-License-Identifier: MIT */
/* JSON-RPC calls, the dispatcher and the method table's types (layer 5, see base.h). */
#ifndef MSHVD_RPC_H
#define MSHVD_RPC_H

#include "base.h"
#include "auth.h"
#include "model.h"
#include "server.h"

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
	struct snapshot *snapshot;	/* a row with a "snapshot" target param */
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
/* struct rpc_call_list: server.h (each client keeps its deferred calls). */

/* What a handler did with its call (tmux's enum cmd_retval); the dispatcher acts on it. */
enum rpc_retval {
	RPC_DONE,	/* finished (rpc_reply or an rpc_error*) */
	RPC_DEFERRED,	/* kept: a waiter or callback finishes it from the loop later */
};

/* Finish a call with a result (stolen reference).  Frees the call. */
void rpc_reply(struct rpc_call *call, json_t *result);
/* The same with the result given as JSON text (len bytes, borrowed: copied before it
 * returns), exactly as json_dumps(JSON_COMPACT) writes it: for replies kept serialised. */
void rpc_reply_text(struct rpc_call *call, const char *result, size_t len);
/* Finish a call with an error; data (stolen, may be NULL) gets data.name = name added. */
void rpc_error(struct rpc_call *call, int code, const char *name, json_t *data,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define rpc_invalid_params(call, ...) \
	rpc_error(call, MSHVD_ERR_INVALID_PARAMS, MSHVD_ERRNAME_INVALID_PARAMS, NULL, __VA_ARGS__)
void rpc_error_invalid_state(struct rpc_call *call, const char *state, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* rpc_error_object(), rpc_limit_data(): base.h (the server refuses with them too). */
/* limit-exceeded naming the limit (data.limit) and its current value (data.value). */
void rpc_error_limit(struct rpc_call *call, enum limit_id limit);
/* hypervisor-error with data.errno = -err and data.hv_status. */
void rpc_error_hv(struct rpc_call *call, int err, uint32_t hv_status, const char *what);
/* Resolve call->vm from ref as the caller may see it; else finish the call with no-such-vm
 * (identical for missing and foreign VMs) and return -ENOENT. */
int rpc_resolve_vm(struct rpc_call *call, const json_t *ref);
/* The same for call->snapshot (no-such-snapshot). */
int rpc_resolve_snapshot(struct rpc_call *call, const json_t *ref);

/* Wire the layers above the server: its line handler and admission check, the client-gone
 * hooks (deferred calls, subscriptions, the VMs it created, in that order) and the event
 * sinks (subscriptions, waiters).  Once, before the first client.  0 or a negative errno. */
int rpc_init(void);
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
	PT_SNAPSHOT,	/* snapshot id (integer) or name (string) */
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
	TARGET_SNAPSHOT,	/* params.snapshot only (restore-vm: TARGET_VM + a snapshot) */
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
	method_set_msi_routing, method_assert_interrupt, method_rpc_discover,
	method_snapshot_vm, method_restore_vm, method_clone_vm, method_destroy_snapshot,
	method_list_snapshots, method_save_snapshot, method_load_snapshot;


#endif
