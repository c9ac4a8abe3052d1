// SPDX-License-Identifier: MIT
// Snapshot methods: snapshot-vm, restore-vm, clone-vm, destroy-snapshot, list-snapshots,
// save-snapshot, load-snapshot.

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "methods.h"

/*
 * snapshot-vm and restore-vm hold the VM (vm_hold(): its running vCPUs wait off the
 * hypervisor without any state change clients see) and answer once the hold is complete,
 * which may be at once.  Subscribers see vm-state "snapshotting" / "restoring" and then the
 * VM's state again.  A call whose client has gone by then does nothing and releases the VM.
 */
struct snap_op {
	struct rpc_call *call;
	bool restore;
	unsigned snapshot;		/* restore: the snapshot's id (looked up again) */
	char *name;			/* snapshot-vm: the name asked for, or NULL */
	bool autodestroy;
	bool warm;
};

static void op_free(struct snap_op *op)
{
	free(op->name);
	free(op);
}

static void publish_transition(const struct vm *vm, const char *state)
{
	vm_publish(vm, -1, EV_VM_STATE, json_pack("{s:s}", "state", state));
}

/* The hold ended without a change: the VM carries on, subscribers see its state again. */
static void op_release(struct vm *vm)
{
	vm_release(vm, false);
	publish_transition(vm, vm_state_name(vm->state));
}

/* A snapshot name already in use, or not a valid name: answers the call, returns false. */
static bool snapshot_name_ok(struct rpc_call *call, const char *name, uid_t uid)
{
	if (!name)
		return true;
	if (!method_name_valid(name)) {
		rpc_invalid_params(call, "a name has 1 to %u of [A-Za-z0-9._-] and is not a number",
				   MSHVD_DEFAULT_MAX_NAME);
		return false;
	}
	if (snapshot_find_name(name, uid)) {
		rpc_invalid_params(call, "you already have a snapshot named \"%s\"", name);
		return false;
	}
	return true;
}

/* The count limits, and the bytes limit for bytes more: answers the call, returns false. */
static bool snapshot_limits_ok(struct rpc_call *call, uint64_t bytes)
{
	if (nsnapshots >= mshvd.limits.max_snapshots) {
		rpc_error_limit(call, LIMIT_max_snapshots);
		return false;
	}
	if (auth_uid_over(call->uid, LIMIT_max_snapshots_per_uid, 1)) {
		rpc_error_limit(call, LIMIT_max_snapshots_per_uid);
		return false;
	}
	if (auth_uid_over(call->uid, LIMIT_max_snapshot_mem_per_uid, bytes)) {
		rpc_error_limit(call, LIMIT_max_snapshot_mem_per_uid);
		return false;
	}
	return true;
}

/* The hold did not complete: the VM was destroyed, or its vCPUs did not stop in time (then it
 * carries on).  Answers the call; false when the hold is complete. */
static bool hold_failed(struct vm *vm, struct rpc_call *call, int err)
{
	if (err == -ESHUTDOWN) {
		rpc_error(call, MSHVD_ERR_NO_SUCH_VM, MSHVD_ERRNAME_NO_SUCH_VM, NULL,
			  "vm %u was destroyed", vm->id);
		return true;
	}
	if (err < 0) {
		op_release(vm);
		rpc_error(call, MSHVD_ERR_TIMEOUT, MSHVD_ERRNAME_TIMEOUT, NULL,
			  "the vCPUs of vm %u did not stop within %u ms; the VM carries on", vm->id,
			  VM_HOLD_TIMEOUT_MS);
		return true;
	}
	return false;
}

static void snapshot_held(struct vm *vm, void *arg, int err)
{
	struct snap_op *op = arg;
	struct rpc_call *call = op->call;
	struct snapshot *s;

	if (hold_failed(vm, call, err))
		goto out;
	if (!call->client) {
		/* Its client has gone: nobody would own the snapshot. */
		op_release(vm);
		rpc_reply(call, json_null());
		goto out;
	}
	err = snapshot_capture(vm, &s);
	op_release(vm);
	if (err < 0) {
		rpc_error_hv(call, err, vm_last_status(vm), "snapshot-vm");
		goto out;
	}
	/* Checked again: the RAM copy's size was known before, the blobs' only now, and other
	 * calls may have taken snapshots meanwhile. */
	if (!snapshot_name_ok(call, op->name, call->uid) ||
	    !snapshot_limits_ok(call, s->bytes + (op->warm ? s->memory : 0))) {
		snapshot_free(s);
		goto out;
	}
	if ((op->warm && snapshot_set_warm(s) < 0) ||
	    snapshot_register(s, op->name, call->uid, call->client, op->autodestroy) < 0) {
		snapshot_free(s);
		rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL, "out of memory");
		goto out;
	}
	rpc_reply(call, snapshot_summary(s));
	snapshot_want_spare(s);
out:
	op_free(op);
}

struct snapshot_vm_args {
	const char *name;
	bool autodestroy;
	bool warm;
};

static enum rpc_retval snapshot_vm(struct rpc_call *call, const void *args)
{
	const struct snapshot_vm_args *a = args;
	struct vm *vm = call->vm;
	struct snap_op *op;

	/* A warm snapshot's spare has the VM's RAM once more. */
	if (!snapshot_name_ok(call, a->name, call->uid) ||
	    !snapshot_limits_ok(call, vm->mem_total * (a->warm ? 2 : 1)))
		return RPC_DONE;
	if (vm->holding) {
		rpc_error_invalid_state(call, "busy", "vm %u is being snapshotted or restored",
					vm->id);
		return RPC_DONE;
	}
	op = calloc(1, sizeof(*op));
	if (!op || (a->name && !(op->name = strdup(a->name)))) {
		free(op);
		rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL, "out of memory");
		return RPC_DONE;
	}
	op->call = call;
	op->autodestroy = a->autodestroy;
	op->warm = a->warm;
	publish_transition(vm, "snapshotting");
	vm_hold(vm, snapshot_held, op);		/* cannot be busy: checked above */
	return RPC_DEFERRED;
}

/* The target check's failure as an answer: another backend's snapshot names both. */
static void target_error(struct rpc_call *call, const struct snapshot *s, int err,
			 const char *why)
{
	if (err == -EXDEV)
		rpc_error(call, MSHVD_ERR_INVALID_PARAMS, MSHVD_ERRNAME_INVALID_PARAMS,
			  json_pack("{s:s, s:s, s:s}", "reason", "backend", "snapshot_backend",
				    s->backend, "backend", model_backend_name()), "%s", why);
	else
		rpc_error(call, MSHVD_ERR_INVALID_PARAMS, MSHVD_ERRNAME_INVALID_PARAMS,
			  json_pack("{s:s}", "reason", "layout"), "%s", why);
}

static void restore_held(struct vm *vm, void *arg, int err)
{
	struct snap_op *op = arg;
	struct rpc_call *call = op->call;
	json_t *ref = json_integer(op->snapshot);
	struct snapshot *s = snapshot_lookup(ref, call->uid);
	uint64_t copied = 0;
	char why[200];

	json_decref(ref);
	if (hold_failed(vm, call, err))
		goto out;
	if (!call->client) {
		op_release(vm);
		rpc_reply(call, json_null());
		goto out;
	}
	if (!s) {
		op_release(vm);
		rpc_error(call, MSHVD_ERR_NO_SUCH_SNAPSHOT, MSHVD_ERRNAME_NO_SUCH_SNAPSHOT, NULL,
			  "snapshot %u was destroyed", op->snapshot);
		goto out;
	}
	/* Again: memory may have been mapped while the vCPUs were being held. */
	err = snapshot_check_target(s, vm, why, sizeof(why));
	if (err < 0) {
		op_release(vm);
		target_error(call, s, err, why);
		goto out;
	}
	err = snapshot_restore(s, vm, &copied);
	if (err < 0) {
		op_release(vm);
		rpc_error_hv(call, err, vm_last_status(vm), "restore-vm");
		goto out;
	}
	publish_transition(vm, vm_state_name(vm->state));
	rpc_reply(call, json_pack("{s:i, s:i, s:s, s:o}", "vm", vm->id, "snapshot", s->id, "state",
				  vm_state_name(vm->state), "copied", json_hex(copied)));
out:
	op_free(op);
}

static enum rpc_retval restore_vm(struct rpc_call *call, const void *args)
{
	struct vm *vm = call->vm;
	struct snapshot *s = call->snapshot;
	struct snap_op *op;
	char why[200];
	int err;

	(void)args;
	err = snapshot_check_target(s, vm, why, sizeof(why));
	if (err < 0) {
		target_error(call, s, err, why);
		return RPC_DONE;
	}
	if (vm->holding) {
		rpc_error_invalid_state(call, "busy", "vm %u is being snapshotted or restored",
					vm->id);
		return RPC_DONE;
	}
	op = calloc(1, sizeof(*op));
	if (!op) {
		rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL, "out of memory");
		return RPC_DONE;
	}
	op->call = call;
	op->restore = true;
	op->snapshot = s->id;
	publish_transition(vm, "restoring");
	vm_hold(vm, restore_held, op);
	return RPC_DEFERRED;
}

struct clone_vm_args {
	const char *name;
	bool autodestroy;
};

static enum rpc_retval clone_vm(struct rpc_call *call, const void *args)
{
	const struct clone_vm_args *a = args;
	struct snapshot *s = call->snapshot;
	unsigned max_index = 0;
	struct vm *vm;
	int err;

	if (a->name && !method_name_valid(a->name)) {
		rpc_invalid_params(call, "a name has 1 to %u of [A-Za-z0-9._-] and is not a number",
				   MSHVD_DEFAULT_MAX_NAME);
		return RPC_DONE;
	}
	if (strcmp(s->backend, model_backend_name()) != 0) {
		char why[128];

		snprintf(why, sizeof(why), "snapshot %u was taken on the %s backend, this daemon "
			 "runs %s", s->id, s->backend, model_backend_name());
		target_error(call, s, -EXDEV, why);
		return RPC_DONE;
	}
	/* Every limit create-vm, map-memory and create-vcpu would check, up front. */
	for (unsigned i = 0; i < s->nvcpus; i++)
		if (s->vcpus[i].index > max_index)
			max_index = s->vcpus[i].index;
	/* A ready spare is a partition already: handing it out adds none. */
	if (!s->spare && nvms + nhidden_vms >= mshvd.limits.max_vms) {
		rpc_error_limit(call, LIMIT_max_vms);
		return RPC_DONE;
	}
	if (auth_uid_over(call->uid, LIMIT_max_vms_per_uid, 1)) {
		rpc_error_limit(call, LIMIT_max_vms_per_uid);
		return RPC_DONE;
	}
	if (s->nregions > mshvd.limits.max_regions) {
		rpc_error_limit(call, LIMIT_max_regions);
		return RPC_DONE;
	}
	if (s->memory > mshvd.limits.max_mem_per_vm) {
		rpc_error_limit(call, LIMIT_max_mem_per_vm);
		return RPC_DONE;
	}
	if (auth_uid_over(call->uid, LIMIT_max_mem_per_uid, s->memory)) {
		rpc_error_limit(call, LIMIT_max_mem_per_uid);
		return RPC_DONE;
	}
	if (s->nvcpus && max_index >= mshvd.limits.max_vcpus) {
		rpc_error_limit(call, LIMIT_max_vcpus);
		return RPC_DONE;
	}
	if (auth_uid_over(call->uid, LIMIT_max_vcpus_per_uid, s->nvcpus)) {
		rpc_error_limit(call, LIMIT_max_vcpus_per_uid);
		return RPC_DONE;
	}
	err = snapshot_clone(s, call->uid, call->client, a->name, a->autodestroy, &vm);
	if (err == -EEXIST) {
		rpc_invalid_params(call, "you already have a vm named \"%s\"", a->name);
		return RPC_DONE;
	}
	if (err < 0) {
		rpc_error_hv(call, err, model_last_status(), "clone-vm");
		return RPC_DONE;
	}
	rpc_reply(call, json_pack("{s:i, s:s, s:i}", "vm", vm->id, "name", vm->name, "snapshot",
				  s->id));
	snapshot_want_spare(s);
	return RPC_DONE;
}

static enum rpc_retval destroy_snapshot(struct rpc_call *call, const void *args)
{
	unsigned id = call->snapshot->id;

	(void)args;
	snapshot_free(call->snapshot);
	rpc_reply(call, json_pack("{s:i}", "snapshot", id));
	return RPC_DONE;
}

static enum rpc_retval list_snapshots(struct rpc_call *call, const void *args)
{
	json_t *list = json_array();
	struct snapshot *s;

	(void)args;
	TAILQ_FOREACH(s, &snapshots, entry)
		if (auth_can_see_snapshot(call->uid, s))
			json_array_append_new(list, snapshot_summary(s));
	rpc_reply(call, json_pack("{s:o}", "snapshots", list));
	return RPC_DONE;
}

/* The descriptor sent with the request (the file of save-snapshot / load-snapshot), or -1
 * after answering invalid-params. */
static int call_fd(struct rpc_call *call)
{
	int fd = call->client ? client_take_fd(call->client) : -1;

	if (fd < 0)
		rpc_error(call, MSHVD_ERR_INVALID_PARAMS, MSHVD_ERRNAME_INVALID_PARAMS,
			  json_pack("{s:s}", "reason", "no-fd"), "%s needs the descriptor of a "
			  "regular file sent with the request line (SCM_RIGHTS)", call->method->name);
	return fd;
}

static void file_error(struct rpc_call *call, int err, const char *why)
{
	if (err == -ENOMEM)
		rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL, "out of memory");
	else
		rpc_error(call, MSHVD_ERR_INVALID_PARAMS, MSHVD_ERRNAME_INVALID_PARAMS,
			  json_pack("{s:s}", "reason", "file"), "%s", why);
}

static enum rpc_retval save_snapshot(struct rpc_call *call, const void *args)
{
	const struct snapshot *s = call->snapshot;
	uint64_t bytes = 0;
	char why[160];
	int fd, err;

	(void)args;
	fd = call_fd(call);
	if (fd < 0)
		return RPC_DONE;
	err = snapshot_write(s, fd, &bytes);
	close(fd);
	if (err < 0) {
		if (err == -EBADFD)
			snprintf(why, sizeof(why), "the descriptor is not a regular file");
		else
			snprintf(why, sizeof(why), "writing the snapshot: %s", strerror(-err));
		file_error(call, err, why);
		return RPC_DONE;
	}
	rpc_reply(call, json_pack("{s:i, s:o}", "snapshot", s->id, "bytes", json_hex(bytes)));
	return RPC_DONE;
}

struct load_snapshot_args {
	const char *name;
	bool autodestroy;
	bool warm;
};

static enum rpc_retval load_snapshot(struct rpc_call *call, const void *args)
{
	const struct load_snapshot_args *a = args;
	struct snapshot_file_header h;
	struct snapshot *s;
	char why[160];
	int fd, err;

	if (!snapshot_name_ok(call, a->name, call->uid))
		return RPC_DONE;
	fd = call_fd(call);
	if (fd < 0)
		return RPC_DONE;
	err = snapshot_read_header(fd, &h, why, sizeof(why));
	if (err < 0) {
		close(fd);
		file_error(call, err, why);
		return RPC_DONE;
	}
	/* Every limit before anything is allocated in proportion to the file. */
	if (!snapshot_limits_ok(call, h.file_size + (a->warm ? h.memory : 0))) {
		close(fd);
		return RPC_DONE;
	}
	if (h.nregions > mshvd.limits.max_regions || h.nvcpus > mshvd.limits.max_vcpus ||
	    h.memory > mshvd.limits.max_mem_per_vm) {
		close(fd);
		rpc_error_limit(call, h.nregions > mshvd.limits.max_regions ? LIMIT_max_regions :
				h.nvcpus > mshvd.limits.max_vcpus ? LIMIT_max_vcpus :
				LIMIT_max_mem_per_vm);
		return RPC_DONE;
	}
	err = snapshot_read_body(fd, &h, &s, why, sizeof(why));
	close(fd);
	if (err < 0) {
		file_error(call, err, why);
		return RPC_DONE;
	}
	if ((a->warm && snapshot_set_warm(s) < 0) ||
	    snapshot_register(s, a->name, call->uid, call->client, a->autodestroy) < 0) {
		snapshot_free(s);
		rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL, "out of memory");
		return RPC_DONE;
	}
	rpc_reply(call, snapshot_summary(s));
	snapshot_want_spare(s);
	return RPC_DONE;
}

const struct method method_save_snapshot = {
	.name = "save-snapshot",
	.handler = save_snapshot,
	.perm = PERM_OWNER,
	.target = TARGET_SNAPSHOT,
	.params = (const struct param_spec[]){
		PARAM_TARGET("snapshot", PT_SNAPSHOT),
		PARAM_END,
	},
	.summary = "write a snapshot to the file whose descriptor comes with the request",
};

const struct method method_load_snapshot = {
	.name = "load-snapshot",
	.handler = load_snapshot,
	.perm = PERM_READ,
	.target = TARGET_NONE,
	.params = (const struct param_spec[]){
		PARAM("name", PT_STRING, false, struct load_snapshot_args, name),
		PARAM("autodestroy", PT_BOOL, false, struct load_snapshot_args, autodestroy),
		PARAM("warm", PT_BOOL, false, struct load_snapshot_args, warm),
		PARAM_END,
	},
	.args_size = sizeof(struct load_snapshot_args),
	.summary = "read a snapshot file (its descriptor comes with the request) into a snapshot",
};

const struct method method_snapshot_vm = {
	.name = "snapshot-vm",
	.handler = snapshot_vm,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM("name", PT_STRING, false, struct snapshot_vm_args, name),
		PARAM("autodestroy", PT_BOOL, false, struct snapshot_vm_args, autodestroy),
		PARAM("warm", PT_BOOL, false, struct snapshot_vm_args, warm),
		PARAM_END,
	},
	.args_size = sizeof(struct snapshot_vm_args),
	.summary = "capture a VM's memory and vCPU states into a snapshot owned by the caller",
};

const struct method method_restore_vm = {
	.name = "restore-vm",
	.handler = restore_vm,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM_TARGET("snapshot", PT_SNAPSHOT),
		PARAM_END,
	},
	.summary = "return a VM of the same layout to a snapshot's memory and vCPU states",
};

const struct method method_clone_vm = {
	.name = "clone-vm",
	.handler = clone_vm,
	.perm = PERM_OWNER,
	.target = TARGET_SNAPSHOT,
	.params = (const struct param_spec[]){
		PARAM_TARGET("snapshot", PT_SNAPSHOT),
		PARAM("name", PT_STRING, false, struct clone_vm_args, name),
		PARAM("autodestroy", PT_BOOL, false, struct clone_vm_args, autodestroy),
		PARAM_END,
	},
	.args_size = sizeof(struct clone_vm_args),
	.summary = "create a VM owned by the caller in a snapshot's state",
};

const struct method method_destroy_snapshot = {
	.name = "destroy-snapshot",
	.handler = destroy_snapshot,
	.perm = PERM_OWNER,
	.target = TARGET_SNAPSHOT,
	.params = (const struct param_spec[]){
		PARAM_TARGET("snapshot", PT_SNAPSHOT),
		PARAM_END,
	},
	.summary = "free a snapshot",
};

const struct method method_list_snapshots = {
	.name = "list-snapshots",
	.handler = list_snapshots,
	.perm = PERM_READ,
	.target = TARGET_NONE,
	.params = (const struct param_spec[]){ PARAM_END },
	.summary = "the snapshots the caller may see",
};
