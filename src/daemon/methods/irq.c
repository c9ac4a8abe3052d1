// SPDX-License-Identifier: MIT
// Eventfd and interrupt methods: add/remove-ioeventfd, add/remove-irqfd, trigger-irq,
// set-msi-routing, assert-interrupt.

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "methods.h"

/* unsupported: the backend lacks capability cap; reason says what to do instead. */
static void error_unsupported(struct rpc_call *call, const char *cap, const char *reason)
{
	rpc_error(call, MSHVD_ERR_UNSUPPORTED, MSHVD_ERRNAME_UNSUPPORTED,
		  json_pack("{s:s, s:s, s:s}", "backend", model_backend_name(), "capability", cap,
			    "reason", reason),
		  "%s", reason);
}

/* invalid-state: the VM was created without the interrupt controller option. */
static bool need_irqchip(struct rpc_call *call, struct vm *vm, const char *what)
{
	const char *opt = vm_irqchip_option();

	if (vm_has_irqchip(vm))
		return true;
	rpc_error(call, MSHVD_ERR_INVALID_STATE, MSHVD_ERRNAME_INVALID_STATE,
		  json_pack("{s:s, s:s}", "state", opt[0] == 'l' ? "no-lapic" : "no-irqchip",
			    "needs", opt),
		  "%s on the %s backend needs a vm created with {\"%s\": true}; vm %u has none",
		  what, model_backend_name(), opt, vm->id);
	return false;
}

static void error_duplicate(struct rpc_call *call, const struct vm_eventfd *other,
			    const char *what)
{
	rpc_error(call, MSHVD_ERR_INVALID_PARAMS, MSHVD_ERRNAME_INVALID_PARAMS,
		  json_pack("{s:s, s:i}", "reason", "duplicate", "id", other->id),
		  "%s: vm %u already has %s %u for it", what, other->vm->id,
		  other->kind == VM_EVENTFD_IRQ ? "irqfd" : "ioeventfd", other->id);
}

static void error_no_id(struct rpc_call *call, struct vm *vm, const char *what, unsigned id)
{
	rpc_error(call, MSHVD_ERR_INVALID_PARAMS, MSHVD_ERRNAME_INVALID_PARAMS,
		  json_pack("{s:s, s:i}", "reason", "unknown-id", "id", id),
		  "vm %u has no %s %u", vm->id, what, id);
}

/* pass_fd needs a reply line of its own: not in a batch (one array line for all). */
static bool pass_fd_ok(struct rpc_call *call, bool pass)
{
	if (!pass || !call->batch)
		return true;
	rpc_invalid_params(call, "pass_fd cannot be used inside a batch");
	return false;
}

static bool eventfd_limit_ok(struct rpc_call *call, struct vm *vm)
{
	if (vm->neventfds >= mshvd.limits.max_eventfds) {
		rpc_error_limit(call, LIMIT_max_eventfds);
		return false;
	}
	if (auth_uid_over(call->uid, LIMIT_max_eventfds_per_uid, 1)) {
		rpc_error_limit(call, LIMIT_max_eventfds_per_uid);
		return false;
	}
	return true;
}

/* Reply {vm, id} (+ passed_fds and the descriptor when asked). */
static void reply_added(struct rpc_call *call, struct vm_eventfd *e, bool pass)
{
	json_t *res = json_pack("{s:i, s:i}", "vm", e->vm->id, "id", e->id);

	if (pass && call->id && call->client) {
		e->passed = true;
		call->pass_fd = e->fd;
		json_object_set_new(res, "passed_fds", json_integer(1));
	}
	rpc_reply(call, res);
}

/* Same bus and address, and the lengths or datamatches cannot tell the two apart: the rule
 * of KVM's collision check, applied on every backend. */
static bool ioeventfd_collides(const struct vm_eventfd *a, const struct vm_eventfd *b)
{
	if (a->pio != b->pio || a->addr != b->addr)
		return false;
	if (!a->len || !b->len)
		return true;
	return a->len == b->len &&
	       (!a->has_datamatch || !b->has_datamatch || a->datamatch == b->datamatch);
}

static const char *const spaces[] = { "mmio", "pio", NULL };

struct add_ioeventfd_args {
	uint64_t addr;
	unsigned space;		/* the index in spaces */
	unsigned len;
	uint64_t datamatch;
	bool has_datamatch;
	bool pass_fd;
};

static enum rpc_retval add_ioeventfd(struct rpc_call *call, const void *args)
{
	const struct add_ioeventfd_args *a = args;
	struct vm *vm = call->vm;
	bool pass = a->pass_fd;
	uint32_t caps = model_caps();
	struct vm_eventfd t = { .kind = VM_EVENTFD_IOEVENT, .resample_fd = -1, .addr = a->addr,
				.len = a->len, .pio = a->space == 1,
				.has_datamatch = a->has_datamatch, .datamatch = a->datamatch }, *e;
	int r;

	if (t.len != 0 && t.len != 1 && t.len != 2 && t.len != 4 && t.len != 8) {
		rpc_invalid_params(call, "len must be 0 (any size), 1, 2, 4 or 8");
		return RPC_DONE;
	}
	if (t.pio && (t.len == 8 || t.addr > 0xffff || t.addr + (t.len ? t.len : 1) > 0x10000)) {
		rpc_invalid_params(call, "a pio ioeventfd is a port below 0x10000 and at most 4 "
				   "bytes wide");
		return RPC_DONE;
	}
	if (!t.pio && t.addr + t.len < t.addr) {
		rpc_invalid_params(call, "addr + len wraps around");
		return RPC_DONE;
	}
	if (t.has_datamatch && t.len == 0) {
		rpc_invalid_params(call, "datamatch needs a len (1, 2, 4 or 8)");
		return RPC_DONE;
	}
	if (t.has_datamatch && t.len < 8 && (t.datamatch >> (8 * t.len))) {
		rpc_invalid_params(call, "datamatch does not fit in %u bytes", t.len);
		return RPC_DONE;
	}
	if (t.pio && !(caps & HV_CAP_IOEVENTFD_PIO)) {
		const char *note = model_irq_model()->pio_ioeventfd_note;
		char reason[160];

		snprintf(reason, sizeof(reason), "the %s backend has no port I/O ioeventfds%s%s%s",
			 model_backend_name(), note ? " (" : "", note ? note : "", note ? ")" : "");
		error_unsupported(call, "ioeventfd-pio", reason);
		return RPC_DONE;
	}
	if (!t.pio && !(caps & HV_CAP_IOEVENTFD_MMIO)) {
		error_unsupported(call, "ioeventfd-mmio", "the backend has no MMIO ioeventfds");
		return RPC_DONE;
	}
	if (!pass_fd_ok(call, pass))
		return RPC_DONE;
	TAILQ_FOREACH(e, &vm->eventfds, entry) {
		if (e->kind == VM_EVENTFD_IOEVENT && ioeventfd_collides(e, &t)) {
			error_duplicate(call, e, "add-ioeventfd");
			return RPC_DONE;
		}
	}
	if (!eventfd_limit_ok(call, vm))
		return RPC_DONE;
	r = vm_eventfd_add(vm, &t, &e);
	if (r == -EEXIST) {
		rpc_error(call, MSHVD_ERR_INVALID_PARAMS, MSHVD_ERRNAME_INVALID_PARAMS,
			  json_pack("{s:s}", "reason", "duplicate"),
			  "add-ioeventfd: the hypervisor already has an ioeventfd there");
		return RPC_DONE;
	}
	if (r < 0) {
		rpc_error_hv(call, r, vm_last_status(vm), "add-ioeventfd");
		return RPC_DONE;
	}
	log_debug("vm %u: ioeventfd %u at %s 0x%llx len %u", vm->id, e->id, t.pio ? "pio" : "mmio",
		  (unsigned long long)t.addr, t.len);
	reply_added(call, e, pass);
	return RPC_DONE;
}

struct remove_eventfd_args {
	unsigned id;
};

static enum rpc_retval remove_eventfd(struct rpc_call *call, const struct remove_eventfd_args *a,
				      enum vm_eventfd_kind kind)
{
	const char *what = kind == VM_EVENTFD_IRQ ? "irqfd" : "ioeventfd";
	struct vm *vm = call->vm;
	unsigned id = a->id;
	struct vm_eventfd *e;
	int r;

	e = vm_eventfd_find(vm, kind, id);
	if (!e) {
		error_no_id(call, vm, what, id);
		return RPC_DONE;
	}
	r = vm_eventfd_remove(e);
	if (r < 0) {
		rpc_error_hv(call, r, vm_last_status(vm),
			     kind == VM_EVENTFD_IRQ ? "remove-irqfd" : "remove-ioeventfd");
		return RPC_DONE;
	}
	rpc_reply(call, json_pack("{s:i, s:i}", "vm", vm->id, "id", id));
	return RPC_DONE;
}

static enum rpc_retval remove_ioeventfd(struct rpc_call *call, const void *args)
{
	return remove_eventfd(call, args, VM_EVENTFD_IOEVENT);
}

static enum rpc_retval remove_irqfd(struct rpc_call *call, const void *args)
{
	return remove_eventfd(call, args, VM_EVENTFD_IRQ);
}

/* gsi below HV_MAX_GSI and routed; else finish with invalid-params. */
static bool gsi_ok(struct rpc_call *call, struct vm *vm, unsigned gsi)
{
	if (gsi >= HV_MAX_GSI) {
		rpc_error(call, MSHVD_ERR_INVALID_PARAMS, MSHVD_ERRNAME_INVALID_PARAMS,
			  json_pack("{s:s}", "reason", "bad-gsi"), "gsi must be below %u",
			  HV_MAX_GSI);
		return false;
	}
	if (!vm_gsi_routed(vm, gsi)) {
		rpc_error(call, MSHVD_ERR_INVALID_PARAMS, MSHVD_ERRNAME_INVALID_PARAMS,
			  json_pack("{s:s}", "reason", "bad-gsi"),
			  "gsi %u of vm %u is not routed%s; set-msi-routing first", gsi, vm->id,
			  model_irq_model()->pin_gsis ? " (not an irqchip pin)" : "");
		return false;
	}
	return true;
}

struct add_irqfd_args {
	unsigned gsi;
	bool resample;
	bool pass_fd;
};

static enum rpc_retval add_irqfd(struct rpc_call *call, const void *args)
{
	const struct add_irqfd_args *a = args;
	struct vm *vm = call->vm;
	bool pass = a->pass_fd, resample = a->resample;
	uint32_t caps = model_caps();
	struct vm_eventfd t = { .kind = VM_EVENTFD_IRQ, .resample_fd = resample ? 0 : -1 }, *e;
	unsigned gsi = a->gsi;
	int r;

	if (!(caps & HV_CAP_IRQFD)) {
		error_unsupported(call, "irqfd", "the backend has no irqfds");
		return RPC_DONE;
	}
	if (resample && !(caps & HV_CAP_IRQFD_RESAMPLE)) {
		error_unsupported(call, "irqfd-resample", "the backend has no resample irqfds");
		return RPC_DONE;
	}
	if (!need_irqchip(call, vm, "an irqfd") || !gsi_ok(call, vm, gsi) ||
	    !pass_fd_ok(call, pass))
		return RPC_DONE;
	e = vm_irqfd_by_gsi(vm, gsi);
	if (e) {
		/* One irqfd per GSI: trigger-irq names the GSI and must find exactly one. */
		error_duplicate(call, e, "add-irqfd");
		return RPC_DONE;
	}
	if (!eventfd_limit_ok(call, vm))
		return RPC_DONE;
	t.gsi = gsi;
	r = vm_eventfd_add(vm, &t, &e);
	if (r < 0) {
		rpc_error_hv(call, r, vm_last_status(vm), "add-irqfd");
		return RPC_DONE;
	}
	log_debug("vm %u: irqfd %u on gsi %u%s", vm->id, e->id, gsi, resample ? " (resample)" : "");
	reply_added(call, e, pass);
	return RPC_DONE;
}

struct trigger_irq_args {
	unsigned gsi;
};

static enum rpc_retval trigger_irq(struct rpc_call *call, const void *args)
{
	const struct trigger_irq_args *a = args;
	struct vm *vm = call->vm;
	unsigned gsi = a->gsi;
	struct vm_eventfd *e;
	int r;

	e = vm_irqfd_by_gsi(vm, gsi);
	if (!e) {
		rpc_error(call, MSHVD_ERR_INVALID_PARAMS, MSHVD_ERRNAME_INVALID_PARAMS,
			  json_pack("{s:s}", "reason", "no-irqfd"),
			  "vm %u has no irqfd on gsi %u (add-irqfd first)", vm->id, gsi);
		return RPC_DONE;
	}
	r = vm_irqfd_trigger(e);
	if (r < 0) {
		rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL,
			  "writing irqfd %u: %s", e->id, strerror(-r));
		return RPC_DONE;
	}
	rpc_reply(call, json_pack("{s:i, s:i, s:i}", "vm", vm->id, "gsi", gsi, "id", e->id));
	return RPC_DONE;
}

static int entry_u32(json_t *entry, const char *key, uint32_t *ret)
{
	uint64_t v;

	if (json_to_u64(json_object_get(entry, key), &v) < 0 || v > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

struct set_msi_routing_args {
	json_t *entries;
};

static enum rpc_retval set_msi_routing(struct rpc_call *call, const void *args)
{
	const struct set_msi_routing_args *a = args;
	struct vm *vm = call->vm;
	json_t *entries = a->entries, *je;
	uint32_t caps = model_caps();
	uint32_t pins = model_irq_model()->pin_gsis;
	struct hv_msi_route *routes = NULL;
	struct vm_eventfd *e;
	size_t n = json_array_size(entries), i;
	int r;

	if (n > mshvd.limits.max_msi_routes) {
		rpc_error_limit(call, LIMIT_max_msi_routes);
		return RPC_DONE;
	}
	if (n && !(routes = calloc(n, sizeof(*routes)))) {
		rpc_error(call, MSHVD_ERR_INTERNAL, MSHVD_ERRNAME_INTERNAL, NULL, "out of memory");
		return RPC_DONE;
	}
	/* Everything is checked before the hypervisor sees the table. */
	json_array_foreach(entries, i, je) {
		const char *key;
		json_t *v;
		bool bad = !json_is_object(je);

		json_object_foreach(je, key, v)
			if (strcmp(key, "gsi") && strcmp(key, "address_lo") &&
			    strcmp(key, "address_hi") && strcmp(key, "data"))
				bad = true;
		if (bad || entry_u32(je, "gsi", &routes[i].gsi) < 0 ||
		    entry_u32(je, "address_lo", &routes[i].address_lo) < 0 ||
		    entry_u32(je, "address_hi", &routes[i].address_hi) < 0 ||
		    entry_u32(je, "data", &routes[i].data) < 0) {
			rpc_invalid_params(call, "entries[%zu] must be {gsi, address_lo, address_hi, "
					   "data} with 32-bit values", i);
			goto out;
		}
		if (routes[i].gsi >= HV_MAX_GSI || routes[i].gsi < pins) {
			rpc_error(call, MSHVD_ERR_INVALID_PARAMS, MSHVD_ERRNAME_INVALID_PARAMS,
				  json_pack("{s:s}", "reason", "bad-gsi"),
				  "entries[%zu]: gsi must be %u to %u%s", i, pins, HV_MAX_GSI - 1,
				  pins ? " (the GSIs below are the irqchip pins)" : "");
			goto out;
		}
		for (size_t j = 0; j < i; j++) {
			if (routes[j].gsi == routes[i].gsi) {
				rpc_invalid_params(call, "gsi %u is routed twice", routes[i].gsi);
				goto out;
			}
		}
	}
	if (!(caps & HV_CAP_MSI_ROUTING)) {
		error_unsupported(call, "msi-routing", "the backend has no MSI routing");
		goto out;
	}
	if (!need_irqchip(call, vm, "MSI routing"))
		goto out;
	/* An irqfd must never point at a GSI that no longer leads anywhere. */
	TAILQ_FOREACH(e, &vm->eventfds, entry) {
		bool kept = e->gsi < pins;

		if (e->kind != VM_EVENTFD_IRQ)
			continue;
		for (i = 0; i < n && !kept; i++)
			kept = routes[i].gsi == e->gsi;
		if (!kept) {
			rpc_error_invalid_state(call, "gsi-in-use", "irqfd %u uses gsi %u, which "
						"the new table drops; remove it first", e->id,
						e->gsi);
			goto out;
		}
	}
	r = vm_set_msi_routes(vm, routes, (unsigned)n);
	if (r < 0) {
		rpc_error_hv(call, r, vm_last_status(vm), "set-msi-routing");
		goto out;
	}
	rpc_reply(call, json_pack("{s:i, s:i}", "vm", vm->id, "entries", (int)n));
out:
	free(routes);
	return RPC_DONE;
}

static const char *const interrupt_types[] = { "fixed", "lowest", "nmi", "init", "sipi",
					       "extint", NULL };

struct assert_interrupt_args {
	unsigned vector;
	unsigned apic_id;
	unsigned type;		/* enum hv_interrupt_type: the index in interrupt_types */
	bool level;
	bool logical;
};

static enum rpc_retval assert_interrupt(struct rpc_call *call, const void *args)
{
	const struct assert_interrupt_args *a = args;
	struct vm *vm = call->vm;
	struct hv_interrupt irq = {
		.level = a->level,
		.logical = a->logical,
		.apic_id = a->apic_id,
		.type = (enum hv_interrupt_type)a->type,
	};
	unsigned vector = a->vector, t = a->type;
	int r;

	if (vector > 0xff) {
		rpc_invalid_params(call, "vector must be 0 to 255");
		return RPC_DONE;
	}
	irq.vector = vector;
	if (!(model_caps() & HV_CAP_ASSERT_INTERRUPT)) {
		error_unsupported(call, "assert-interrupt", "the backend cannot inject interrupts");
		return RPC_DONE;
	}
	/* kvm without an irqchip can still inject an NMI into one vCPU. */
	if (!(irq.type == HV_INTERRUPT_NMI && !irq.logical &&
	      model_irq_model()->nmi_without_irqchip) &&
	    !need_irqchip(call, vm, "assert-interrupt"))
		return RPC_DONE;
	r = vm_assert_interrupt(vm, &irq);
	if (r == -ENOENT) {
		rpc_invalid_params(call, "vm %u has no vcpu with apic_id %u", vm->id, irq.apic_id);
		return RPC_DONE;
	}
	if (r == -EINVAL) {
		rpc_invalid_params(call, "apic_id %u is out of range for this vm", irq.apic_id);
		return RPC_DONE;
	}
	if (r < 0) {
		rpc_error_hv(call, r, vm_last_status(vm), "assert-interrupt");
		return RPC_DONE;
	}
	rpc_reply(call, json_pack("{s:i, s:i, s:s}", "vm", vm->id, "vector", vector, "type",
				  interrupt_types[t]));
	return RPC_DONE;
}

const struct method method_add_ioeventfd = {
	.name = "add-ioeventfd",
	.handler = add_ioeventfd,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM("addr", PT_U64, true, struct add_ioeventfd_args, addr),
		PARAM_VALUES("space", PT_ENUM, true, spaces, struct add_ioeventfd_args, space),
		PARAM("len", PT_UINT, true, struct add_ioeventfd_args, len),
		PARAM_HAS("datamatch", PT_U64, struct add_ioeventfd_args, datamatch, has_datamatch),
		PARAM("pass_fd", PT_BOOL, false, struct add_ioeventfd_args, pass_fd),
		PARAM_END,
	},
	.args_size = sizeof(struct add_ioeventfd_args),
	.summary = "signal an eventfd (ioevent events) on guest writes to addr, without an exit",
};

const struct method method_remove_ioeventfd = {
	.name = "remove-ioeventfd",
	.handler = remove_ioeventfd,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM("id", PT_UINT, true, struct remove_eventfd_args, id),
		PARAM_END,
	},
	.args_size = sizeof(struct remove_eventfd_args),
	.summary = "unregister and close an ioeventfd",
};

const struct method method_add_irqfd = {
	.name = "add-irqfd",
	.handler = add_irqfd,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM("gsi", PT_UINT, true, struct add_irqfd_args, gsi),
		PARAM("resample", PT_BOOL, false, struct add_irqfd_args, resample),
		PARAM("pass_fd", PT_BOOL, false, struct add_irqfd_args, pass_fd),
		PARAM_END,
	},
	.args_size = sizeof(struct add_irqfd_args),
	.summary = "inject the interrupt routed to gsi whenever an eventfd is signalled",
};

const struct method method_remove_irqfd = {
	.name = "remove-irqfd",
	.handler = remove_irqfd,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM("id", PT_UINT, true, struct remove_eventfd_args, id),
		PARAM_END,
	},
	.args_size = sizeof(struct remove_eventfd_args),
	.summary = "unregister and close an irqfd",
};

const struct method method_trigger_irq = {
	.name = "trigger-irq",
	.handler = trigger_irq,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM("gsi", PT_UINT, true, struct trigger_irq_args, gsi),
		PARAM_END,
	},
	.args_size = sizeof(struct trigger_irq_args),
	.summary = "signal the irqfd of gsi",
};

const struct method method_set_msi_routing = {
	.name = "set-msi-routing",
	.handler = set_msi_routing,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM("entries", PT_ARRAY, true, struct set_msi_routing_args, entries),
		PARAM_END,
	},
	.args_size = sizeof(struct set_msi_routing_args),
	.summary = "replace the MSI routing table: [{gsi, address_lo, address_hi, data}]",
};

const struct method method_assert_interrupt = {
	.name = "assert-interrupt",
	.handler = assert_interrupt,
	.perm = PERM_OWNER,
	.target = TARGET_VM,
	.params = (const struct param_spec[]){
		PARAM_TARGET("vm", PT_VM),
		PARAM("vector", PT_UINT, true, struct assert_interrupt_args, vector),
		PARAM("apic_id", PT_UINT, false, struct assert_interrupt_args, apic_id),
		PARAM_VALUES("type", PT_ENUM, false, interrupt_types, struct assert_interrupt_args,
			     type),
		PARAM("level", PT_BOOL, false, struct assert_interrupt_args, level),
		PARAM("logical", PT_BOOL, false, struct assert_interrupt_args, logical),
		PARAM_END,
	},
	.args_size = sizeof(struct assert_interrupt_args),
	.summary = "inject an interrupt into the VM's local APICs",
};
