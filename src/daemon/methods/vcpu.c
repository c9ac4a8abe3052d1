// SPDX-License-Identifier: MIT
// vCPU methods: create-vcpu, get-regs, set-regs, run, complete, stop, translate-gva.

#include "config.h"

#include <errno.h>
#include <string.h>

#include "methods.h"

static const char *const mode_names[] = { "step", "stream", NULL };	/* enum run_mode */
static const char *const access_names[] = { "read", "write", "exec", NULL };

/* How long stop and pause may take before the caller gets "timeout". */
#define STOP_TIMEOUT_MS	5000

struct create_vcpu_args {
	unsigned index;
};

static enum rpc_retval create_vcpu(struct rpc_call *call, const void *args)
{
	const struct create_vcpu_args *a = args;
	struct vm *vm = call->vm;
	unsigned index = a->index;
	struct vcpu *v;
	int r;

	if (index >= mshvd.limits.max_vcpus) {
		rpc_error_limit(call, LIMIT_max_vcpus);
		return RPC_DONE;
	}
	if (vm_vcpu(vm, index)) {
		rpc_invalid_params(call, "vm %u already has vcpu %u", vm->id, index);
		return RPC_DONE;
	}
	if (auth_uid_over(call->uid, LIMIT_max_vcpus_per_uid, 1)) {
		rpc_error_limit(call, LIMIT_max_vcpus_per_uid);
		return RPC_DONE;
	}
	/* Checked above in the order the answers are documented; -ERANGE/-EEXIST cannot come. */
	r = vcpu_create(vm, index, &v);
	if (r < 0) {
		rpc_error_hv(call, r, vm_last_status(vm), "create-vcpu");
		return RPC_DONE;
	}
	rpc_reply(call, json_pack("{s:i, s:i}", "vm", vm->id, "vcpu", index));
	return RPC_DONE;
}

/* ---- registers ------------------------------------------------------------------------------ */

static json_t *reg_to_json(const struct hv_reg_value *r)
{
	switch (model_reg_kind(r->reg)) {
	case HV_REG_KIND_SEGMENT:
		return json_pack("{s:o, s:o, s:o, s:o}", "base", json_hex(r->seg.base), "limit",
				 json_hex(r->seg.limit), "selector", json_hex(r->seg.selector),
				 "attributes", json_hex(r->seg.attributes));
	case HV_REG_KIND_TABLE:
		return json_pack("{s:o, s:o}", "base", json_hex(r->table.base), "limit",
				 json_hex(r->table.limit));
	case HV_REG_KIND_U64:
		break;
	}
	return json_hex(r->u64);
}

static int field_from_name(enum hv_reg_kind kind, const char *name, unsigned *ret)
{
	if (strcmp(name, "base") == 0)
		*ret = REG_F_BASE;
	else if (strcmp(name, "limit") == 0)
		*ret = REG_F_LIMIT;
	else if (kind == HV_REG_KIND_SEGMENT && strcmp(name, "selector") == 0)
		*ret = REG_F_SELECTOR;
	else if (kind == HV_REG_KIND_SEGMENT && strcmp(name, "attributes") == 0)
		*ret = REG_F_ATTRIBUTES;
	else
		return -ENOENT;
	return 0;
}

static int field_set(struct vcpu_reg_edit *e, unsigned field, const json_t *jv, char *err, size_t len)
{
	bool seg = model_reg_kind(e->v.reg) == HV_REG_KIND_SEGMENT;
	uint64_t max = UINT64_MAX, v;

	if (field == REG_F_LIMIT)
		max = seg ? UINT32_MAX : UINT16_MAX;
	else if (field == REG_F_SELECTOR || field == REG_F_ATTRIBUTES)
		max = UINT16_MAX;
	if (json_to_u64(jv, &v) < 0 || v > max) {
		snprintf(err, len, "bad value for a field of \"%s\"", model_reg_name(e->v.reg));
		return -EINVAL;
	}
	e->fields |= field;
	switch (field) {
	case REG_F_BASE:
		if (seg)
			e->v.seg.base = v;
		else
			e->v.table.base = v;
		break;
	case REG_F_LIMIT:
		if (seg)
			e->v.seg.limit = (uint32_t)v;
		else
			e->v.table.limit = (uint16_t)v;
		break;
	case REG_F_SELECTOR:
		e->v.seg.selector = (uint16_t)v;
		break;
	case REG_F_ATTRIBUTES:
		e->v.seg.attributes = (uint16_t)v;
		break;
	}
	return 0;
}

/* Parse a regs object ({"rax": 1, "cs": {"base": 0}, "cs.selector": 0}) without side
 * effects.  edits[HV_REG_COUNT]. */
static int regs_parse(json_t *regs, struct vcpu_reg_edit *edits, char *err, size_t len)
{
	const char *key;
	json_t *jv;

	memset(edits, 0, sizeof(*edits) * HV_REG_COUNT);
	json_object_foreach(regs, key, jv) {
		char name[32];
		const char *dot = strchr(key, '.');
		enum hv_reg reg;
		enum hv_reg_kind kind;
		struct vcpu_reg_edit *e;
		size_t n = dot ? (size_t)(dot - key) : strlen(key);

		if (n >= sizeof(name) || (memcpy(name, key, n), name[n] = 0,
					   model_reg_from_name(name, &reg) < 0)) {
			snprintf(err, len, "unknown register \"%.40s\"", key);
			return -EINVAL;
		}
		kind = model_reg_kind(reg);
		e = &edits[reg];
		e->set = true;
		e->v.reg = reg;
		if (kind == HV_REG_KIND_U64) {
			if (dot || json_to_u64(jv, &e->v.u64) < 0) {
				snprintf(err, len, "register \"%.40s\" takes an integer or \"0x...\"",
					 key);
				return -EINVAL;
			}
		} else if (dot) {
			unsigned f;

			if (field_from_name(kind, dot + 1, &f) < 0) {
				snprintf(err, len, "unknown register field \"%.40s\"", key);
				return -EINVAL;
			}
			if (field_set(e, f, jv, err, len) < 0)
				return -EINVAL;
		} else {
			const char *fk;
			json_t *fv;

			if (!json_is_object(jv)) {
				snprintf(err, len, "register \"%s\" takes an object", name);
				return -EINVAL;
			}
			json_object_foreach(jv, fk, fv) {
				unsigned f;

				if (field_from_name(kind, fk, &f) < 0) {
					snprintf(err, len, "register \"%s\" has no field \"%.40s\"",
						 name, fk);
					return -EINVAL;
				}
				if (field_set(e, f, fv, err, len) < 0)
					return -EINVAL;
			}
		}
	}
	return 0;
}

struct get_regs_args {
	json_t *names;
};

static enum rpc_retval get_regs(struct rpc_call *call, const void *args)
{
	const struct get_regs_args *a = args;
	struct hv_reg_value regs[HV_REG_COUNT];
	json_t *names = a->names, *jn, *out;
	struct vcpu *v = call->vcpu;
	unsigned n = 0;
	size_t i;
	int r;

	if (names) {
		if (json_array_size(names) > HV_REG_COUNT) {
			rpc_invalid_params(call, "too many names");
			return RPC_DONE;
		}
		json_array_foreach(names, i, jn) {
			if (model_reg_from_name(json_string_value(jn), &regs[n].reg) < 0) {
				rpc_invalid_params(call, "unknown register \"%.40s\"",
						   json_string_value(jn));
				return RPC_DONE;
			}
			n++;
		}
	} else {
		/* The architectural set; MSRs only on request. */
		for (unsigned k = HV_REG_RAX; k <= HV_REG_DR7; k++)
			regs[n++].reg = k;
	}
	if (!call_vcpu_idle(call, v))
		return RPC_DONE;
	r = vcpu_get_regs(v, regs, n);
	if (r < 0) {
		rpc_error_hv(call, r, vcpu_last_status(v), "get-regs");
		return RPC_DONE;
	}
	out = json_object();
	for (unsigned k = 0; k < n; k++)
		json_object_set_new(out, model_reg_name(regs[k].reg), reg_to_json(&regs[k]));
	rpc_reply(call, json_pack("{s:o}", "regs", out));
	return RPC_DONE;
}

struct set_regs_args {
	json_t *regs;
};

static enum rpc_retval set_regs(struct rpc_call *call, const void *args)
{
	const struct set_regs_args *a = args;
	struct vcpu_reg_edit edits[HV_REG_COUNT];
	struct vm *vm = call->vm;
	struct vcpu *v = call->vcpu;
	char err[128];
	int r;

	if (regs_parse(a->regs, edits, err, sizeof(err)) < 0) {
		rpc_invalid_params(call, "%s", err);
		return RPC_DONE;
	}
	if (!call_vcpu_idle(call, v))
		return RPC_DONE;
	r = vcpu_set_regs(v, edits);
	if (r < 0) {
		rpc_error_hv(call, r, vcpu_last_status(v), "set-regs");
		return RPC_DONE;
	}
	rpc_reply(call, json_pack("{s:i, s:i}", "vm", vm->id, "vcpu", v->index));
	return RPC_DONE;
}

/* ---- running -------------------------------------------------------------------------------- */

struct run_args {
	unsigned mode;		/* enum run_mode: the index in mode_names */
	bool wait;
	unsigned timeout_ms;
	bool has_timeout;
	uint64_t default_read;
	bool has_default_read;
};

static enum rpc_retval run(struct rpc_call *call, const void *args)
{
	const struct run_args *a = args;
	struct vm *vm = call->vm;
	struct vcpu *v = call->vcpu;

	if (a->has_timeout && (!a->wait || a->timeout_ms == 0)) {
		rpc_invalid_params(call, "timeout_ms needs wait: true and is at least 1");
		return RPC_DONE;
	}
	if (!call_vcpu_idle(call, v))
		return RPC_DONE;
	if (vcpu_run(v, (enum run_mode)a->mode, a->has_default_read, a->default_read) < 0) {
		/* Its first run starts the vCPU's thread: the process is out of threads. */
		rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL,
			  "cannot start the vCPU thread");
		return RPC_DONE;
	}
	if (!a->wait) {
		rpc_reply(call, json_pack("{s:i, s:i, s:s}", "vm", vm->id, "vcpu", v->index,
					  "state", "running"));
		return RPC_DONE;
	}
	if (waiter_add(vm, v, WAIT_PARK, call, a->timeout_ms) < 0) {
		rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL, "out of memory");
		return RPC_DONE;
	}
	return RPC_DEFERRED;
}

struct complete_args {
	uint64_t value;
	bool has_value;
	json_t *regs;
	json_t *cpuid;
	bool inject_gp;
};

static enum rpc_retval complete(struct rpc_call *call, const void *args)
{
	const struct complete_args *a = args;
	struct vcpu_reg_edit edits[HV_REG_COUNT];
	uint32_t cpuid_result[4];
	uint64_t rip;
	json_t *regs = a->regs, *cpuid = a->cpuid;
	struct vm *vm = call->vm;
	struct vcpu *v = call->vcpu;
	char err[128];
	int r;

	if (cpuid) {
		uint64_t w;

		if (json_array_size(cpuid) != 4) {
			rpc_invalid_params(call, "cpuid is [eax, ebx, ecx, edx]");
			return RPC_DONE;
		}
		for (unsigned i = 0; i < 4; i++) {
			if (json_to_u64(json_array_get(cpuid, i), &w) < 0 || w > UINT32_MAX) {
				rpc_invalid_params(call, "cpuid is [eax, ebx, ecx, edx]");
				return RPC_DONE;
			}
			cpuid_result[i] = (uint32_t)w;
		}
	}
	if (regs && regs_parse(regs, edits, err, sizeof(err)) < 0) {
		rpc_invalid_params(call, "%s", err);
		return RPC_DONE;
	}
	if (v->state != VCPU_PARKED) {
		rpc_error_invalid_state(call, vcpu_state_name(v->state),
					"vcpu %u of vm %u is %s, not parked at an exit", v->index,
					vm->id, vcpu_state_name(v->state));
		return RPC_DONE;
	}
	r = vcpu_complete(v, a->has_value ? a->value : UINT64_MAX, cpuid ? cpuid_result : NULL,
			  a->inject_gp, regs ? edits : NULL, &rip);
	if (r < 0) {
		rpc_error_hv(call, r, vcpu_last_status(v), "complete");
		return RPC_DONE;
	}
	{
		/* {"vm":..,"vcpu":..,"rip":".."} as text: a stepped vCPU completes every exit. */
		char t[64], *p = t;

		memcpy(p, "{\"vm\":", 6);
		p = text_u64(p + 6, vm->id);
		memcpy(p, ",\"vcpu\":", 8);
		p = text_u64(p + 8, v->index);
		memcpy(p, ",\"rip\":", 7);
		p = text_hex(p + 7, rip);
		*p++ = '}';
		rpc_reply_text(call, t, (size_t)(p - t));
	}
	return RPC_DONE;
}

static enum rpc_retval stop(struct rpc_call *call, const void *args)
{
	struct vm *vm = call->vm;
	struct vcpu *v = call->vcpu;

	(void)args;
	if (v->state == VCPU_PARKED && v->last_event.len) {
		park_reply(call, v);
		return RPC_DONE;
	}
	if (v->state == VCPU_CREATED || v->state == VCPU_PARKED) {
		rpc_reply(call, json_pack("{s:i, s:i, s:s}", "vm", vm->id, "vcpu", v->index,
					  "state", vcpu_state_name(v->state)));
		return RPC_DONE;
	}
	/* Answered when the vCPU posts its park (exit "stopped"), never by blocking here. */
	if (waiter_add(vm, v, WAIT_PARK, call, STOP_TIMEOUT_MS) < 0) {
		rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL, "out of memory");
		return RPC_DONE;
	}
	vcpu_stop(v);
	return RPC_DEFERRED;
}

struct translate_gva_args {
	uint64_t gva;
	unsigned access;	/* the index in access_names */
};

static enum rpc_retval translate_gva(struct rpc_call *call, const void *args)
{
	const struct translate_gva_args *a = args;
	static const unsigned access_flags[] = { 0, HV_MAP_WRITE, HV_MAP_EXEC };
	unsigned mask = HV_MAP_READ | access_flags[a->access];
	struct vcpu *v = call->vcpu;
	uint64_t gva = a->gva, gpa;
	int r;

	/* Unsupported before busy: the answer does not depend on the vCPU's state. */
	if (!vcpu_can_translate_gva()) {
		rpc_error_hv(call, -EOPNOTSUPP, 0, "translate-gva");
		return RPC_DONE;
	}
	if (!call_vcpu_idle(call, v))
		return RPC_DONE;
	r = vcpu_translate_gva(v, gva, mask, &gpa);
	if (r < 0) {
		rpc_error_hv(call, r, vcpu_last_status(v), "translate-gva");
		return RPC_DONE;
	}
	rpc_reply(call, json_pack("{s:o, s:o}", "gva", json_hex(gva), "gpa", json_hex(gpa)));
	return RPC_DONE;
}

const struct method method_create_vcpu = {
	.name = "create-vcpu",
	.handler = create_vcpu,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM("index", PT_UINT, true, struct create_vcpu_args, index),
		PARAM_END,
	},
	.args_size = sizeof(struct create_vcpu_args),
	.summary = "create vCPU index (its thread starts with its first run)",
};

const struct method method_get_regs = {
	.name = "get-regs",
	.handler = get_regs,
	.perm = PERM_OWNER,
	.target = TARGET_VCPU,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM_TARGET("vcpu", PT_UINT),
		PARAM("names", PT_STRINGS, false, struct get_regs_args, names),
		PARAM_END,
	},
	.args_size = sizeof(struct get_regs_args),
	.summary = "read registers of a parked vCPU",
};

const struct method method_set_regs = {
	.name = "set-regs",
	.handler = set_regs,
	.perm = PERM_OWNER,
	.target = TARGET_VCPU,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM_TARGET("vcpu", PT_UINT),
		PARAM("regs", PT_OBJECT, true, struct set_regs_args, regs),
		PARAM_END,
	},
	.args_size = sizeof(struct set_regs_args),
	.summary = "write registers of a parked vCPU",
};

const struct method method_run = {
	.name = "run",
	.handler = run,
	.perm = PERM_OWNER,
	.target = TARGET_VCPU,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM_TARGET("vcpu", PT_UINT),
		PARAM_VALUES("mode", PT_ENUM, false, mode_names, struct run_args, mode),
		PARAM("wait", PT_BOOL, false, struct run_args, wait),
		PARAM_HAS("timeout_ms", PT_UINT, struct run_args, timeout_ms, has_timeout),
		PARAM_HAS("default_read", PT_U64, struct run_args, default_read, has_default_read),
		PARAM_END,
	},
	.args_size = sizeof(struct run_args),
	.summary = "start or resume a vCPU; with wait, reply with the exit that parks it",
};

const struct method method_complete = {
	.name = "complete",
	.handler = complete,
	.perm = PERM_OWNER,
	.target = TARGET_VCPU,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM_TARGET("vcpu", PT_UINT),
		PARAM_HAS("value", PT_U64, struct complete_args, value, has_value),
		PARAM("regs", PT_OBJECT, false, struct complete_args, regs),
		PARAM("cpuid", PT_ARRAY, false, struct complete_args, cpuid),
		PARAM("inject_gp", PT_BOOL, false, struct complete_args, inject_gp),
		PARAM_END,
	},
	.args_size = sizeof(struct complete_args),
	.summary = "finish the parked exit (read value, RIP advance) without resuming",
};

const struct method method_stop = {
	.name = "stop",
	.handler = stop,
	.perm = PERM_OWNER,
	.target = TARGET_VCPU,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM_TARGET("vcpu", PT_UINT),
		PARAM_END,
	},
	.summary = "kick a running vCPU; replies once it parked (exit \"stopped\")",
};

const struct method method_translate_gva = {
	.name = "translate-gva",
	.handler = translate_gva,
	.perm = PERM_OWNER,
	.target = TARGET_VCPU,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM_TARGET("vcpu", PT_UINT),
		PARAM("gva", PT_U64, true, struct translate_gva_args, gva),
		PARAM_VALUES("access", PT_ENUM, false, access_names, struct translate_gva_args, access),
		PARAM_END,
	},
	.args_size = sizeof(struct translate_gva_args),
	.summary = "translate a guest virtual address with the vCPU's paging state",
};
