// SPDX-License-Identifier: MIT
// Ownership (a VM belongs to the uid that created it; root sees every VM) and per-uid usage.

#include "config.h"

#include <limits.h>
#include <string.h>

#include "auth.h"

bool auth_is_admin(uid_t uid)
{
	return uid == 0;
}

/* A VM the caller may not see must answer exactly like a missing one: every lookup goes
 * through here and both cases return NULL from vm_lookup(). */
bool auth_can_see(uid_t uid, const struct vm *vm)
{
	return auth_is_admin(uid) || vm->owner == uid;
}

struct vm *vm_lookup_id(uint64_t id, uid_t uid)
{
	struct vm *vm = id <= UINT_MAX ? vm_find_id((unsigned)id) : NULL;

	return vm && auth_can_see(uid, vm) ? vm : NULL;
}

struct vm *vm_lookup_name(const char *name, uid_t uid)
{
	struct vm *vm, *found = NULL;
	unsigned matches = 0;

	/* Names are unique per owner, so a user's namespace never reveals another's VMs.
	 * Root prefers its own VM, then a unique match; an ambiguous name needs the id. */
	vm = vm_find_name(name, uid);
	if (vm || !auth_is_admin(uid))
		return vm;
	TAILQ_FOREACH(vm, &vms, entry) {
		if (strcmp(vm->name, name) == 0) {
			found = vm;
			matches++;
		}
	}
	return matches == 1 ? found : NULL;
}

struct vm *vm_lookup(const json_t *ref, uid_t uid)
{
	if (json_is_integer(ref))
		return json_integer_value(ref) >= 0 ? vm_lookup_id((uint64_t)json_integer_value(ref), uid)
						    : NULL;
	return json_is_string(ref) ? vm_lookup_name(json_string_value(ref), uid) : NULL;
}

bool auth_can_see_snapshot(uid_t uid, const struct snapshot *s)
{
	return auth_is_admin(uid) || s->owner == uid;
}

struct snapshot *snapshot_lookup_id(uint64_t id, uid_t uid)
{
	struct snapshot *s;

	TAILQ_FOREACH(s, &snapshots, entry)
		if (s->id == id)
			return auth_can_see_snapshot(uid, s) ? s : NULL;
	return NULL;
}

struct snapshot *snapshot_lookup_name(const char *name, uid_t uid)
{
	struct snapshot *s, *found = NULL;
	unsigned matches = 0;

	/* As vm_lookup_name(): the caller's own name first; root may use another's unique
	 * name. */
	s = snapshot_find_name(name, uid);
	if (s || !auth_is_admin(uid))
		return s;
	TAILQ_FOREACH(s, &snapshots, entry) {
		if (strcmp(s->name, name) == 0) {
			found = s;
			matches++;
		}
	}
	return matches == 1 ? found : NULL;
}

struct snapshot *snapshot_lookup(const json_t *ref, uid_t uid)
{
	if (json_is_integer(ref))
		return json_integer_value(ref) >= 0 ?
			       snapshot_lookup_id((uint64_t)json_integer_value(ref), uid) : NULL;
	return json_is_string(ref) ? snapshot_lookup_name(json_string_value(ref), uid) : NULL;
}

bool auth_uid_limited(uid_t uid)
{
	return uid != 0;
}

/* The VMs' share is kept by the model as it changes (dying VMs still hold their memory and
 * threads until the reaper is done); clients and snapshots, bounded by max-clients and
 * max-snapshots, are counted here, on creating calls only. */
void auth_uid_usage(uid_t uid, struct uid_usage *ret)
{
	struct uid_usage u = { 0 };
	const struct snapshot *s;
	const struct client *c;
	struct vm_counts held;

	TAILQ_FOREACH(c, &clients, entry)
		if (c->uid == uid && !c->dead)
			u.clients++;
	vm_counts_held(uid, &held);
	u.vms = held.vms;
	u.vcpus = held.vcpus;
	u.eventfds = held.eventfds;
	u.mem = held.mem;
	TAILQ_FOREACH(s, &snapshots, entry) {
		if (s->owner == uid) {
			u.snapshots++;
			u.snapshot_mem += snapshot_charge(s);
		}
	}
	*ret = u;
}

bool auth_uid_over(uid_t uid, enum limit_id limit, uint64_t add)
{
	uint64_t max = limit_value(&mshvd.limits, limit), used;
	struct uid_usage u;

	if (!auth_uid_limited(uid))
		return false;
	auth_uid_usage(uid, &u);
	switch (limit) {
	case LIMIT_max_clients_per_uid:
		used = u.clients;
		break;
	case LIMIT_max_vms_per_uid:
		used = u.vms;
		break;
	case LIMIT_max_vcpus_per_uid:
		used = u.vcpus;
		break;
	case LIMIT_max_eventfds_per_uid:
		used = u.eventfds;
		break;
	case LIMIT_max_mem_per_uid:
		used = u.mem;
		break;
	case LIMIT_max_snapshots_per_uid:
		used = u.snapshots;
		break;
	case LIMIT_max_snapshot_mem_per_uid:
		used = u.snapshot_mem;
		break;
	default:
		return false;
	}
	return add > max || used > max - add;
}
