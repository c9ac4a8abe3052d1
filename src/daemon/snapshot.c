// SPDX-License-Identifier: MIT
// Snapshots: capture a held VM, restore it (only the pages written since), clone it, the registry.

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "snapshot.h"

/*
 * A snapshot owns private copies of everything it needs (RAM in malloc()ed buffers, one per
 * region, and the backend's blobs), so it outlives its VM and can be restored into any VM of
 * the same layout or cloned.  malloc rather than a memfd per snapshot: a snapshot then costs
 * no descriptor (a uid may hold dozens), and clone-vm copies into the new VM's own memfd,
 * whose semantics (a private zero-filled file the VM alone maps) stay as vm_map() makes them.
 *
 * The fast restore: capturing (and restoring) makes the snapshot the VM's "base" and starts
 * the hypervisor's dirty log from there; the daemon's own writes into guest RAM are marked in
 * each region's host_dirty (vm_access()).  Restoring the base again copies only those pages.
 */

struct snapshot_list snapshots = TAILQ_HEAD_INITIALIZER(snapshots);
unsigned nsnapshots;
static unsigned next_snapshot_id = 1;

struct snapshot *snapshot_alloc(void)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->id = next_snapshot_id++;
	s->created_us = now_us();
	return s;
}

static bool snapshot_registered(const struct snapshot *s)
{
	const struct snapshot *t;

	TAILQ_FOREACH(t, &snapshots, entry)
		if (t == s)
			return true;
	return false;
}

struct snapshot *snapshot_free(struct snapshot *s)
{
	if (!s)
		return NULL;
	if (s->name && snapshot_registered(s)) {
		TAILQ_REMOVE(&snapshots, s, entry);
		nsnapshots--;
		log_info("snapshot %u \"%s\" of uid %u destroyed", s->id, s->name,
			 (unsigned)s->owner);
	}
	if (s->spare)
		vm_destroy(s->spare, "its snapshot is destroyed");
	if (s->spare_ev)
		event_free(s->spare_ev);
	for (unsigned i = 0; s->regions && i < s->nregions; i++) {
		free(s->regions[i].data);
		free(s->regions[i].nonzero);
	}
	free(s->regions);
	for (unsigned i = 0; s->vcpus && i < s->nvcpus; i++) {
		free(s->vcpus[i].blob);
		json_decref(s->vcpus[i].last_exit);
	}
	free(s->vcpus);
	free(s->vm_blob);
	free(s->name);
	free(s);
	return NULL;
}

struct snapshot *snapshot_find_name(const char *name, uid_t owner)
{
	struct snapshot *s;

	TAILQ_FOREACH(s, &snapshots, entry)
		if (s->owner == owner && strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

int snapshot_register(struct snapshot *s, const char *name, uid_t owner, struct client *creator,
		      bool autodestroy)
{
	char buf[32];

	if (name && snapshot_find_name(name, owner))
		return -EEXIST;
	if (!name) {
		snprintf(buf, sizeof(buf), "snap-%u", s->id);
		for (unsigned i = 2; snapshot_find_name(buf, owner); i++)
			snprintf(buf, sizeof(buf), "snap-%u-%u", s->id, i);
		name = buf;
	}
	s->name = strdup(name);
	if (!s->name)
		return -ENOMEM;
	s->owner = owner;
	s->creator = creator;
	s->autodestroy = autodestroy;
	TAILQ_INSERT_TAIL(&snapshots, s, entry);
	nsnapshots++;
	log_info("snapshot %u \"%s\" of vm %u (%llu bytes) created by uid %u", s->id, s->name,
		 s->source_vm, (unsigned long long)s->bytes, (unsigned)owner);
	return 0;
}

static bool page_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;

	for (unsigned i = 0; i < 4096 / 8; i += 4)
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3])
			return false;
	return true;
}

int snapshot_region_scan(struct snapshot_region *sr)
{
	uint64_t pages = sr->size / 4096;

	sr->nonzero = calloc(region_bitmap_words(sr->size), sizeof(uint64_t));
	if (!sr->nonzero)
		return -ENOMEM;
	for (uint64_t pg = 0; pg < pages; pg++)
		if (!page_zero((const uint8_t *)sr->data + pg * 4096))
			sr->nonzero[pg / 64] |= 1ull << (pg % 64);
	return 0;
}

/* Start (or restart) vm's dirty log relative to snapshot id: logging on, every mapping's log
 * fetched and dropped, the daemon's own marks cleared.  Without the capability, or when the
 * backend fails, the VM has no base and the next restore copies everything. */
static void dirty_log_rebase(struct vm *vm, unsigned id)
{
	struct region *r;

	vm->snap_base = 0;
	if (!(hv_caps(mshvd.hv) & HV_CAP_DIRTY_LOG))
		return;
	if (!vm->dirty_logging) {
		if (hv_vm_set_dirty_log(vm->hv, true) < 0)
			return;
		vm->dirty_logging = true;
	}
	TAILQ_FOREACH(r, &vm->regions, entry) {
		if (hv_vm_get_dirty_log(vm->hv, r->gpa, r->size, r->dirty_log) < 0)
			return;
		memset(r->host_dirty, 0, region_bitmap_words(r->size) * sizeof(uint64_t));
	}
	vm->snap_base = id;
}

int snapshot_capture(struct vm *vm, struct snapshot **ret)
{
	struct snapshot *s = snapshot_alloc();
	struct region *r;
	struct vcpu *v;
	unsigned i;
	int err;

	if (!s)
		return -ENOMEM;
	snprintf(s->backend, sizeof(s->backend), "%s", hv_name(mshvd.hv));
	s->source_vm = vm->id;
	s->opts = vm->opts;
	s->regions = calloc(vm->nregions ? vm->nregions : 1, sizeof(*s->regions));
	s->vcpus = calloc(vm_nvcpus(vm) ? vm_nvcpus(vm) : 1, sizeof(*s->vcpus));
	if (!s->regions || !s->vcpus) {
		err = -ENOMEM;
		goto fail;
	}
	i = 0;
	TAILQ_FOREACH(r, &vm->regions, entry) {
		struct snapshot_region *sr = &s->regions[i];

		sr->data = malloc(r->size);
		if (!sr->data) {
			err = -ENOMEM;
			goto fail;
		}
		memcpy(sr->data, r->host, r->size);
		sr->gpa = r->gpa;
		sr->size = r->size;
		sr->flags = r->flags;
		s->nregions = ++i;
		if (snapshot_region_scan(sr) < 0) {
			err = -ENOMEM;
			goto fail;
		}
		s->memory += r->size;
	}
	err = hv_vm_save_state(vm->hv, &s->vm_blob, &s->vm_blob_size);
	if (err < 0)
		goto fail;
	i = 0;
	VM_FOREACH_VCPU(vm, v) {
		struct snapshot_vcpu *sv = &s->vcpus[i];

		sv->index = v->index;
		sv->state = v->state;
		if (v->state == VCPU_PARKED) {
			sv->parked_exit = v->parked_exit;
			/* An exit still waiting for complete: the blob re-executes it. */
			sv->pending_exit = hv_vcpu_exit_pending(v->hv);
			if (v->last_event.len && !(sv->last_exit = vcpu_last_exit(v))) {
				err = -ENOMEM;
				goto fail;
			}
		}
		s->nvcpus = ++i;
		err = vcpu_save_state(v, &sv->blob, &sv->blob_size, sv->regs);
		if (err < 0)
			goto fail;
		s->bytes += sv->blob_size;
	}
	s->bytes += s->memory + s->vm_blob_size;
	dirty_log_rebase(vm, s->id);
	*ret = s;
	return 0;
fail:
	snapshot_free(s);
	return err;
}

static bool opts_equal(const struct hv_vm_options *a, const struct hv_vm_options *b)
{
	return a->lapic == b->lapic && a->x2apic == b->x2apic &&
	       a->gpa_super_pages == b->gpa_super_pages && a->irqchip == b->irqchip &&
	       a->nested_virtualization == b->nested_virtualization &&
	       a->smt_guest == b->smt_guest && a->cpu_features == b->cpu_features &&
	       a->disabled_cpu_features[0] == b->disabled_cpu_features[0] &&
	       a->disabled_cpu_features[1] == b->disabled_cpu_features[1] &&
	       a->disabled_xsave_features == b->disabled_xsave_features;
}

int snapshot_check_target(const struct snapshot *s, const struct vm *vm, char *why, size_t n)
{
	struct region *r;
	struct vcpu *v;

	if (strcmp(s->backend, hv_name(mshvd.hv)) != 0) {
		snprintf(why, n, "snapshot %u was taken on the %s backend, this daemon runs %s",
			 s->id, s->backend, hv_name(mshvd.hv));
		return -EXDEV;
	}
	if (!opts_equal(&s->opts, &vm->opts)) {
		snprintf(why, n, "vm %u was created with other options than snapshot %u's", vm->id,
			 s->id);
		return -EINVAL;
	}
	if (s->nregions != vm->nregions) {
		snprintf(why, n, "vm %u has %u memory regions, snapshot %u has %u", vm->id,
			 vm->nregions, s->id, s->nregions);
		return -EINVAL;
	}
	for (unsigned i = 0; i < s->nregions; i++) {
		const struct snapshot_region *sr = &s->regions[i];
		bool found = false;

		TAILQ_FOREACH(r, &vm->regions, entry)
			if (r->gpa == sr->gpa && r->size == sr->size && r->flags == sr->flags)
				found = true;
		if (!found) {
			snprintf(why, n, "vm %u has no region at 0x%llx of 0x%llx bytes with the "
				 "snapshot's access flags", vm->id, (unsigned long long)sr->gpa,
				 (unsigned long long)sr->size);
			return -EINVAL;
		}
	}
	if (s->nvcpus != vm_nvcpus(vm)) {
		snprintf(why, n, "vm %u has %u vcpus, snapshot %u has %u", vm->id, vm_nvcpus(vm),
			 s->id, s->nvcpus);
		return -EINVAL;
	}
	for (unsigned i = 0; i < s->nvcpus; i++) {
		if (!vm_vcpu(vm, s->vcpus[i].index)) {
			snprintf(why, n, "vm %u has no vcpu %u", vm->id, s->vcpus[i].index);
			return -EINVAL;
		}
	}
	(void)v;
	return 0;
}

/* The loop's view of a restored vCPU: as captured, except that a vCPU which was running or
 * paused, or parked at an exit pending completion, is parked "stopped" at its rip (its run
 * ends; run continues it, re-executing a pending instruction).  A stopped park is published
 * as an exit event, like stop's. */
static void vcpu_restored_view(struct vm *vm, struct vcpu *v, const struct snapshot_vcpu *sv)
{
	struct hv_exit e = { .kind = HV_EXIT_INTERRUPTED };
	json_t *ev;

	if (sv->state == VCPU_CREATED) {
		vcpu_set_restored(v, VCPU_CREATED, NULL, NULL);
		return;
	}
	if (sv->state == VCPU_PARKED && !sv->pending_exit) {
		vcpu_set_restored(v, VCPU_PARKED, &sv->parked_exit,
				  sv->last_exit ? json_deep_copy(sv->last_exit) : NULL);
		return;
	}
	e.rip = sv->pending_exit ? sv->parked_exit.rip : sv->regs[HV_REG_RIP].u64;
	ev = vm_publish_ref(vm, (int)v->index, EV_EXIT,
			    json_pack("{s:o}", "exit", exit_to_json(&e, true, false, 0)));
	vcpu_set_restored(v, VCPU_PARKED, &e, ev);
}

/* Copy the pages set in dirty | host_dirty of region r back from sr: runs of set bits become
 * one memcpy each. */
static uint64_t region_copy_dirty(struct region *r, const struct snapshot_region *sr, bool full)
{
	size_t words = region_bitmap_words(r->size);
	uint64_t pages = r->size / 4096, copied = 0;

	if (full) {
		memcpy(r->host, sr->data, r->size);
		return r->size;
	}
	for (size_t w = 0; w < words; w++) {
		uint64_t bits = r->dirty_log[w] | r->host_dirty[w];

		while (bits) {
			unsigned b = (unsigned)__builtin_ctzll(bits);
			uint64_t first = w * 64 + b, n = 0;

			while (b + n < 64 && (bits >> (b + n)) & 1)
				n++;
			bits &= n == 64 ? 0 : ~(((1ull << n) - 1) << b);
			if (first + n > pages)
				n = pages - first;
			memcpy((uint8_t *)r->host + first * 4096,
			       (const uint8_t *)sr->data + first * 4096, n * 4096);
			copied += n * 4096;
		}
	}
	return copied;
}

static struct region *region_by_gpa(struct vm *vm, uint64_t gpa)
{
	struct region *r;

	TAILQ_FOREACH(r, &vm->regions, entry)
		if (r->gpa == gpa)
			return r;
	return NULL;
}

int snapshot_restore(const struct snapshot *s, struct vm *vm, uint64_t *ret_copied)
{
	void **backup = NULL;
	size_t *backup_size = NULL;
	void *vm_backup = NULL;
	size_t vm_backup_size = 0;
	struct hv_reg_value scratch[HV_REG_COUNT];
	bool full = vm->snap_base != s->id || !vm->dirty_logging;
	unsigned done = 0, i;
	struct region *r;
	int err;

	/* The states before, to put back if the hypervisor fails half way. */
	backup = calloc(s->nvcpus ? s->nvcpus : 1, sizeof(*backup));
	backup_size = calloc(s->nvcpus ? s->nvcpus : 1, sizeof(*backup_size));
	if (!backup || !backup_size) {
		err = -ENOMEM;
		goto out;
	}
	err = hv_vm_save_state(vm->hv, &vm_backup, &vm_backup_size);
	if (err < 0)
		goto out;
	for (i = 0; i < s->nvcpus; i++) {
		err = vcpu_save_state(vm_vcpu(vm, s->vcpus[i].index), &backup[i], &backup_size[i],
				      scratch);
		if (err < 0)
			goto out;
	}
	/* The pages written since the base: fetched before anything changes (a failure here
	 * only means a full copy). */
	if (!full) {
		TAILQ_FOREACH(r, &vm->regions, entry) {
			if (hv_vm_get_dirty_log(vm->hv, r->gpa, r->size, r->dirty_log) < 0) {
				full = true;
				break;
			}
		}
	}
	err = hv_vm_restore_state(vm->hv, s->vm_blob, s->vm_blob_size);
	if (err < 0)
		goto rollback;
	for (done = 0; done < s->nvcpus; done++) {
		err = vcpu_restore_state(vm_vcpu(vm, s->vcpus[done].index), s->vcpus[done].blob,
					 s->vcpus[done].blob_size);
		if (err < 0) {
			done++;		/* it may be half restored */
			goto rollback;
		}
	}
	*ret_copied = 0;
	for (i = 0; i < s->nregions; i++) {
		r = region_by_gpa(vm, s->regions[i].gpa);
		if (!r)
			continue;	/* cannot happen: snapshot_check_target() */
		*ret_copied += region_copy_dirty(r, &s->regions[i], full);
	}
	if (full)
		dirty_log_rebase(vm, s->id);
	else
		TAILQ_FOREACH(r, &vm->regions, entry)
			memset(r->host_dirty, 0, region_bitmap_words(r->size) * sizeof(uint64_t));
	vm_release(vm, true);
	for (i = 0; i < s->nvcpus; i++)
		vcpu_restored_view(vm, vm_vcpu(vm, s->vcpus[i].index), &s->vcpus[i]);
	err = 0;
	goto out;
rollback:
	for (i = 0; i < done; i++)
		vcpu_restore_state(vm_vcpu(vm, s->vcpus[i].index), backup[i], backup_size[i]);
	hv_vm_restore_state(vm->hv, vm_backup, vm_backup_size);
out:
	for (i = 0; backup && i < s->nvcpus; i++)
		free(backup[i]);
	free(backup);
	free(backup_size);
	free(vm_backup);
	return err;
}

/* A hidden VM in the state of s (vm_build()): memory, partition state and vCPUs restored;
 * the loop's view of the vCPUs is set when it is handed out (snapshot_handout()). */
static int snapshot_build(const struct snapshot *s, struct vm **ret)
{
	struct vm *vm;
	struct vcpu *v;
	int err;

	if (strcmp(s->backend, hv_name(mshvd.hv)) != 0)
		return -EXDEV;		/* a loaded snapshot of another backend */
	err = vm_build(&s->opts, &vm);
	if (err < 0)
		return err;
	for (unsigned i = 0; i < s->nregions; i++) {
		const struct snapshot_region *sr = &s->regions[i];

		uint8_t *host;

		err = vm_map(vm, sr->gpa, sr->size, sr->flags);
		if (err < 0)
			goto fail;
		/* The memfd reads as zeros: only the other pages are copied (and faulted in). */
		host = TAILQ_LAST(&vm->regions, region_list)->host;
		for (uint64_t pg = 0; pg < sr->size / 4096; pg++)
			if (sr->nonzero[pg / 64] & (1ull << (pg % 64)))
				memcpy(host + pg * 4096, (const uint8_t *)sr->data + pg * 4096, 4096);
	}
	err = hv_vm_restore_state(vm->hv, s->vm_blob, s->vm_blob_size);
	if (err < 0)
		goto fail;
	for (unsigned i = 0; i < s->nvcpus; i++) {
		err = vcpu_create(vm, s->vcpus[i].index, &v);
		if (err < 0)
			goto fail;
		err = vcpu_restore_state(v, s->vcpus[i].blob, s->vcpus[i].blob_size);
		if (err < 0)
			goto fail;
	}
	/* The clone starts at s: restoring s into it later copies only what it wrote. */
	dirty_log_rebase(vm, s->id);
	*ret = vm;
	return 0;
fail:
	vm_destroy(vm, "building a clone failed");
	return err;
}

/* Register a VM built from s and publish what a clone's creation publishes.  On failure vm
 * is still hidden. */
static int snapshot_handout(const struct snapshot *s, struct vm *vm, uid_t owner,
			    struct client *creator, const char *name, bool autodestroy)
{
	int err = vm_register(vm, owner, creator, name, autodestroy);

	if (err < 0)
		return err;
	for (unsigned i = 0; i < s->nvcpus; i++)
		vcpu_restored_view(vm, vm_vcpu(vm, s->vcpus[i].index), &s->vcpus[i]);
	return 0;
}

int snapshot_clone(struct snapshot *s, uid_t owner, struct client *creator, const char *name,
		   bool autodestroy, struct vm **ret)
{
	struct vm *vm = s->spare;
	int err;

	if (name && vm_find_name(name, owner))
		return -EEXIST;
	s->spare = NULL;
	if (!vm) {
		err = snapshot_build(s, &vm);
		if (err < 0)
			return err;
	}
	err = snapshot_handout(s, vm, owner, creator, name, autodestroy);
	if (err < 0) {
		vm_destroy(vm, "clone-vm failed");
		return err;
	}
	snapshot_want_spare(s);
	*ret = vm;
	return 0;
}

/* Build the spare of a warm snapshot.  A failure leaves it cold until the next clone. */
static void spare_build_cb(evutil_socket_t fd, short what, void *arg)
{
	struct snapshot *s = arg;
	int err;

	(void)fd;
	(void)what;
	if (!s->warm || s->spare || mshvd.shutting_down)
		return;
	/* The spare is a partition: it needs room under max-vms like any VM. */
	if (nvms + nhidden_vms >= mshvd.limits.max_vms) {
		log_debug("snapshot %u: no room under max-vms for a spare; it stays cold", s->id);
		return;
	}
	err = snapshot_build(s, &s->spare);
	if (err < 0) {
		s->spare = NULL;
		log_warning("snapshot %u: building a spare failed: %s (hv status 0x%x); cold until "
			    "the next clone", s->id, strerror(-err), model_last_status());
		return;
	}
	log_debug("snapshot %u: spare ready", s->id);
}

int snapshot_set_warm(struct snapshot *s)
{
	if (!s->spare_ev) {
		s->spare_ev = event_new(mshvd.base, -1, 0, spare_build_cb, s);
		if (!s->spare_ev)
			return -ENOMEM;
	}
	s->warm = true;
	return 0;
}

void snapshot_want_spare(struct snapshot *s)
{
	static const struct timeval now = { 0, 0 };

	/* A timeout of zero, not event_active(): it fires in the loop's next iteration, after
	 * every event active in this one -- the flush of the reply, which rpc.c queues once the
	 * method returned, among them (server.c). */
	if (s->warm && !s->spare && s->spare_ev && !mshvd.shutting_down &&
	    event_add(s->spare_ev, &now) < 0)
		log_warning("snapshot %u: cannot schedule a spare; cold until the next clone", s->id);
}

void snapshot_shutdown(void)
{
	struct snapshot *s;

	while ((s = TAILQ_FIRST(&snapshots))) {
		if (s->spare)
			vm_destroy(s->spare, "daemon shutdown");
		s->spare = NULL;
		snapshot_free(s);
	}
}

json_t *snapshot_summary(const struct snapshot *s)
{
	json_t *vcpus = json_array();
	bool source_live = vm_find_id(s->source_vm) != NULL;

	for (unsigned i = 0; i < s->nvcpus; i++) {
		const struct snapshot_vcpu *sv = &s->vcpus[i];

		json_array_append_new(vcpus, json_pack("{s:i, s:s, s:b, s:o}", "vcpu", sv->index,
						       "state", vcpu_state_name(sv->state),
						       "pending_exit", sv->pending_exit, "rip",
						       json_hex(sv->regs[HV_REG_RIP].u64)));
	}
	return json_pack("{s:i, s:s, s:o, s:i, s:s, s:o, s:o, s:o, s:I, s:b, s:b, s:b}",
			 "snapshot", s->id, "name", s->name, "vm", source_live ?
			 json_integer(s->source_vm) : json_null(), "owner", (int)s->owner,
			 "backend", s->backend, "memory", json_hex(s->memory), "size",
			 json_hex(snapshot_charge(s)), "vcpus", vcpus, "created", (json_int_t)s->created_us,
			 "autodestroy", s->autodestroy, "warm", s->warm, "spare_ready",
			 s->spare != NULL);
}

void snapshot_client_gone(struct client *c)
{
	struct snapshot *s, *next;

	TAILQ_FOREACH_SAFE(s, &snapshots, entry, next) {
		if (s->creator != c)
			continue;
		s->creator = NULL;
		if (s->autodestroy)
			snapshot_free(s);
	}
}
