/* SPDX-License-Identifier: MIT */
/* Who may see what, and the per-uid limits (layer 4, see base.h). */
#ifndef MSHVD_AUTH_H
#define MSHVD_AUTH_H

#include "base.h"
#include "model.h"
#include "snapshot.h"
#include "server.h"

bool auth_can_see(uid_t uid, const struct vm *vm);
bool auth_is_admin(uid_t uid);
/* Look up by id (integer) or name (string) as seen by uid; NULL when missing or foreign. */
struct vm *vm_lookup(const json_t *ref, uid_t uid);
struct vm *vm_lookup_id(uint64_t id, uid_t uid);
struct vm *vm_lookup_name(const char *name, uid_t uid);
/* The same for snapshots (owner or root, by id or name). */
bool auth_can_see_snapshot(uid_t uid, const struct snapshot *s);
struct snapshot *snapshot_lookup(const json_t *ref, uid_t uid);
struct snapshot *snapshot_lookup_id(uint64_t id, uid_t uid);
struct snapshot *snapshot_lookup_name(const char *name, uid_t uid);

/* What one uid holds (live and dying VMs), for the per-uid limits. */
struct uid_usage {
	unsigned clients, vms, vcpus, eventfds, snapshots;
	uint64_t mem, snapshot_mem;
};
void auth_uid_usage(uid_t uid, struct uid_usage *ret);
/* Whether the per-uid limits apply to uid (not to root). */
bool auth_uid_limited(uid_t uid);
/* The per-uid accounting, once for every resource: whether taking add more of what the
 * per-uid limit meters (max-clients-per-uid, max-vms-per-uid, max-vcpus-per-uid,
 * max-eventfds-per-uid, max-mem-per-uid, max-snapshots-per-uid, max-snapshot-mem-per-uid)
 * would put uid over it.  Never for root. */
bool auth_uid_over(uid_t uid, enum limit_id limit, uint64_t add);

#endif
