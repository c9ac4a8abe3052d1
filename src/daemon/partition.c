// SPDX-License-Identifier: MIT
// Partitions: the VM registry, guest RAM regions, event origins and the teardown order.

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <event2/event.h>

#include "model.h"

/*
 * Teardown order (the only place it is written down; everything follows it):
 *
 *   loop:    1. vm_destroy(): state DESTROYING; the VM leaves `vms` (invisible and its name
 *               free at once) for `dying_vms`; the vm-state "destroying" event
 *               fails its waiters (waiters.c); the libevent watchers
 *               of its eventfds are freed (no ioevent after this); every vCPU gets
 *               VCPU_REQ_EXIT + a kick + a condition broadcast and moves to vm->dead (no
 *               lookup by index from now on); the reaper thread starts.
 *   reaper:  2. join each vCPU thread, then hv_vcpu_free() it (vCPUs before the VM);
 *            3. unregister every irqfd and ioeventfd, hv_vm_unmap() every region, then
 *               hv_vm_free();
 *            4. munmap() + close() the guest RAM memfds and close the eventfds (only now:
 *               the hypervisor may reference the pages, and a user-space backend the fd
 *               numbers, until the partition is gone);
 *            5. post MSG_VM_GONE as its last message.
 *   loop:    6. on MSG_VM_GONE: join the reaper, publish vm-state "destroyed", free the
 *               structs (eventfd structs included).  Messages that vCPU threads posted before exiting are ignored
 *               (their structs stay valid until here: the mailbox is FIFO).
 *
 * The loop never waits for a vCPU or the hypervisor during teardown, except in step 6's
 * join of a thread that has already posted its last message.
 */

struct vm_list vms = TAILQ_HEAD_INITIALIZER(vms);
struct vm_list dying_vms = TAILQ_HEAD_INITIALIZER(dying_vms);
unsigned nvms;
unsigned nhidden_vms;
static unsigned next_vm_id = 1;

int model_init(void)
{
	return mailbox_init(vcpu_handle_msg);
}

void model_fini(void)
{
	mailbox_fini();
}

json_t *vm_publish_ref(const struct vm *vm, int vcpu, enum event_kind kind, json_t *params)
{
	struct event_origin from = { .vm = vm->id, .owner = vm->owner, .vcpu = vcpu };

	if (vm->hidden) {
		json_decref(params);
		return NULL;
	}
	return event_publish_ref(kind, &from, params);
}

void vm_publish(const struct vm *vm, int vcpu, enum event_kind kind, json_t *params)
{
	json_decref(vm_publish_ref(vm, vcpu, kind, params));
}

const char *vm_state_name(enum vm_state s)
{
	switch (s) {
	case VM_CREATED:
		return "created";
	case VM_RUNNING:
		return "running";
	case VM_PAUSED:
		return "paused";
	case VM_CRASHED:
		return "crashed";
	case VM_DESTROYING:
		return "destroying";
	}
	return "?";
}

/* ---- the live VMs by id and by (owner, name), and what they hold ---------------------------- */

/*
 * Hash chains over `vms` (ids by their low bits, names by FNV-1a of owner and name), grown to
 * keep at most one VM per bucket on average; and the counts of what the listed VMs hold, per
 * owner and in total, changed where the VMs change.  A lookup, a create-vm or a daemon-info
 * then costs the same at one VM and at thousands.
 */
static struct vm **by_id, **by_name;
static unsigned nbuckets;		/* a power of two; 0 before the first VM */

struct owner_counts {
	uid_t owner;
	struct vm_counts live, held;	/* held: live and dying VMs */
};
static struct owner_counts *owners;	/* the owners of listed or dying VMs */
static unsigned nowners, owners_cap;
static struct vm_counts all_live;

static unsigned name_bucket(const char *name, uid_t owner)
{
	uint32_t h = 2166136261u ^ (uint32_t)owner;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h & (nbuckets - 1);
}

static void index_link(struct vm *vm)
{
	unsigned b = name_bucket(vm->name, vm->owner);

	vm->id_next = by_id[vm->id & (nbuckets - 1)];
	by_id[vm->id & (nbuckets - 1)] = vm;
	vm->name_next = by_name[b];
	by_name[b] = vm;
}

static void chain_unlink(struct vm **head, struct vm *vm, bool by_name_chain)
{
	for (struct vm **p = head; *p; p = by_name_chain ? &(*p)->name_next : &(*p)->id_next) {
		if (*p == vm) {
			*p = by_name_chain ? vm->name_next : vm->id_next;
			return;
		}
	}
}

static struct owner_counts *owner_find(uid_t owner)
{
	for (unsigned i = 0; i < nowners; i++)
		if (owners[i].owner == owner)
			return &owners[i];
	return NULL;
}

/* Room for one more listed VM and its owner's counts: -ENOMEM (nothing changed) only when
 * there is no index at all or the owner has no record; a failed growth keeps longer chains. */
static int index_reserve(uid_t owner)
{
	unsigned n = nbuckets ? nbuckets * 2 : 64;
	struct vm **ids, **names;
	struct vm *vm;

	if (!owner_find(owner) && nowners == owners_cap) {
		unsigned cap = owners_cap ? owners_cap * 2 : 8;
		struct owner_counts *o = realloc(owners, cap * sizeof(*o));

		if (!o)
			return -ENOMEM;
		owners = o;
		owners_cap = cap;
	}
	if (nvms < nbuckets)
		return 0;
	ids = calloc(n, sizeof(*ids));
	names = calloc(n, sizeof(*names));
	if (!ids || !names) {
		free(ids);
		free(names);
		return nbuckets ? 0 : -ENOMEM;
	}
	free(by_id);
	free(by_name);
	by_id = ids;
	by_name = names;
	nbuckets = n;
	TAILQ_FOREACH(vm, &vms, entry)
		index_link(vm);
	return 0;
}

/* c += sign * d. */
static void counts_apply(struct vm_counts *c, const struct vm_counts *d, int sign)
{
	c->vms += (unsigned)(sign * (int)d->vms);
	c->vcpus += (unsigned)(sign * (int)d->vcpus);
	c->eventfds += (unsigned)(sign * (int)d->eventfds);
	c->mem += (uint64_t)(sign * (int64_t)d->mem);
}

/* vm joins `vms`, the indexes and the counts, live and held (index_reserve() succeeded). */
static void vm_list_add(struct vm *vm)
{
	struct vm_counts d = { 1, vm_nvcpus(vm), vm->neventfds, vm->mem_total };
	struct owner_counts *o = owner_find(vm->owner);

	if (!o) {
		o = &owners[nowners++];
		*o = (struct owner_counts){ .owner = vm->owner };
	}
	TAILQ_INSERT_TAIL(&vms, vm, entry);
	nvms++;
	index_link(vm);
	vm->listed = true;
	vm->held = d;
	counts_apply(&o->live, &d, 1);
	counts_apply(&o->held, &d, 1);
	counts_apply(&all_live, &d, 1);
}

/* vm leaves `vms`, the indexes and the live counts; its owner's held counts keep it until
 * vm_counts_release(). */
static void vm_list_remove(struct vm *vm)
{
	struct owner_counts *o = owner_find(vm->owner);

	if (o)		/* always: vm_list_add() made it */
		counts_apply(&o->live, &vm->held, -1);
	counts_apply(&all_live, &vm->held, -1);
	vm->listed = false;
	chain_unlink(&by_id[vm->id & (nbuckets - 1)], vm, false);
	chain_unlink(&by_name[name_bucket(vm->name, vm->owner)], vm, true);
	TAILQ_REMOVE(&vms, vm, entry);
	nvms--;
}

/* The teardown ended: vm holds nothing any more; an owner left with nothing has no record. */
static void vm_counts_release(struct vm *vm)
{
	struct owner_counts *o;

	o = owner_find(vm->owner);
	if (!vm->held.vms || !o)
		return;		/* never listed (a spare) */
	counts_apply(&o->held, &vm->held, -1);
	vm->held = (struct vm_counts){ 0 };
	if (!o->held.vms)
		*o = owners[--nowners];
}

void vm_counts_add(struct vm *vm, int vcpus, int eventfds, int64_t mem)
{
	struct vm_counts d = { 0, (unsigned)vcpus, (unsigned)eventfds, (uint64_t)mem };
	struct owner_counts *o;

	o = owner_find(vm->owner);
	if (!vm->listed || !o)
		return;
	counts_apply(&vm->held, &d, 1);
	counts_apply(&o->live, &d, 1);
	counts_apply(&o->held, &d, 1);
	counts_apply(&all_live, &d, 1);
}

void vm_counts_get(uid_t owner, bool all, struct vm_counts *ret)
{
	const struct owner_counts *o;

	if (all) {
		*ret = all_live;
		return;
	}
	o = owner_find(owner);
	*ret = o ? o->live : (struct vm_counts){ 0 };
}

void vm_counts_held(uid_t owner, struct vm_counts *ret)
{
	const struct owner_counts *o = owner_find(owner);

	*ret = o ? o->held : (struct vm_counts){ 0 };
}

struct vm *vm_find_name(const char *name, uid_t owner)
{
	struct vm *vm;

	if (!nbuckets)
		return NULL;
	for (vm = by_name[name_bucket(name, owner)]; vm; vm = vm->name_next)
		if (vm->owner == owner && strcmp(vm->name, name) == 0)
			return vm;
	return NULL;
}

struct vm *vm_find_id(unsigned id)
{
	struct vm *vm;

	if (!nbuckets)
		return NULL;
	for (vm = by_id[id & (nbuckets - 1)]; vm; vm = vm->id_next)
		if (vm->id == id)
			return vm;
	return NULL;
}

const char *vm_label(const struct vm *vm)
{
	return vm->hidden ? "(spare)" : vm->name;
}

void vm_set_state(struct vm *vm, enum vm_state s)
{
	if (vm->state == s)
		return;
	vm->state = s;
	vm_publish(vm, -1, EV_VM_STATE, json_pack("{s:s}", "state", vm_state_name(s)));
}

/*
 * A VM is built hidden and then registered.  A hidden VM (a snapshot's warm spare) has a
 * partition, memory and vCPUs but no id, name or owner: it is in no list a client sees,
 * publishes no event and never runs.  vm_register() hands it out: from then on it is what
 * vm_new() would have made, and the events its creation would have published are published
 * then, in the same order (vm-state created, then each vCPU's vcpu-state created).
 */
int vm_build(const struct hv_vm_options *opts, struct vm **ret)
{
	struct vm *vm;
	int r;

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	TAILQ_INIT(&vm->regions);
	TAILQ_INIT(&vm->eventfds);
	vm->hidden = true;
	vm->opts = *opts;
	vm->state = VM_CREATED;
	r = hv_vm_new(mshvd.hv, opts, &vm->hv);
	if (r < 0) {
		free(vm);
		return r;
	}
	nhidden_vms++;
	*ret = vm;
	return 0;
}

int vm_register(struct vm *vm, uid_t owner, struct client *creator, const char *name,
		bool autodestroy)
{
	struct vcpu *v;
	char buf[32];

	if (name && vm_find_name(name, owner))
		return -EEXIST;
	if (index_reserve(owner) < 0)
		return -ENOMEM;
	if (!name) {
		snprintf(buf, sizeof(buf), "vm-%u", next_vm_id);
		for (unsigned i = 2; vm_find_name(buf, owner); i++)
			snprintf(buf, sizeof(buf), "vm-%u-%u", next_vm_id, i);
		name = buf;
	}
	vm->name = strdup(name);
	if (!vm->name)
		return -ENOMEM;
	vm->id = next_vm_id++;
	vm->owner = owner;
	vm->creator = creator;
	vm->autodestroy = autodestroy;
	vm->hidden = false;
	nhidden_vms--;
	vm_list_add(vm);
	log_full(LOG_LVL_INFO, vm->id, -1, NULL, 0, "vm %u \"%s\" created by uid %u", vm->id,
		 vm->name, (unsigned)owner);
	vm_publish(vm, -1, EV_VM_STATE, json_pack("{s:s, s:s}", "state", "created", "name",
						     vm->name));
	VM_FOREACH_VCPU(vm, v)
		vm_publish(vm, (int)v->index, EV_VCPU_STATE, json_pack("{s:s}", "state",
									 "created"));
	return 0;
}

int vm_new(uid_t owner, struct client *creator, const char *name, bool autodestroy,
	   const struct hv_vm_options *opts, struct vm **ret)
{
	struct vm *vm;
	int r;

	if (name && vm_find_name(name, owner))
		return -EEXIST;
	r = vm_build(opts, &vm);
	if (r < 0)
		return r;
	r = vm_register(vm, owner, creator, name, autodestroy);
	if (r < 0) {
		vm_destroy(vm, "out of memory");
		return r;
	}
	*ret = vm;
	return 0;
}

json_t *vm_summary(const struct vm *vm)
{
	return json_pack("{s:i, s:s, s:s, s:i, s:i, s:o, s:b}", "vm", vm->id, "name", vm->name,
			 "state", vm_state_name(vm->state), "owner", (int)vm->owner, "vcpus",
			 vm_nvcpus(vm), "memory", json_hex(vm->mem_total), "autodestroy",
			 vm->autodestroy);
}

uint32_t vm_last_status(const struct vm *vm)
{
	return vm->hv ? hv_vm_last_status(vm->hv) : 0;
}

int vm_pause(struct vm *vm)
{
	struct vcpu *v;
	int r;

	if (vm->state == VM_PAUSED)
		return -EALREADY;
	if (hv_caps(mshvd.hv) & HV_CAP_PAUSE) {
		r = hv_vm_pause(vm->hv);
		if (r < 0)
			return r;
	}
	vm->prev_state = vm->state;
	vm_set_state(vm, VM_PAUSED);
	VM_FOREACH_VCPU(vm, v)
		vcpu_request(v, VCPU_REQ_PAUSE);
	return 0;
}

int vm_resume(struct vm *vm)
{
	struct vcpu *v;
	int r;

	if (vm->state != VM_PAUSED)
		return -EINVAL;
	if (hv_caps(mshvd.hv) & HV_CAP_PAUSE) {
		r = hv_vm_resume(vm->hv);
		if (r < 0)
			return r;
	}
	VM_FOREACH_VCPU(vm, v)
		vcpu_clear_request(v, VCPU_REQ_PAUSE);
	vm_set_state(vm, vm->prev_state == VM_PAUSED ? VM_RUNNING : vm->prev_state);
	return 0;
}

int vm_assert_interrupt(struct vm *vm, const struct hv_interrupt *irq)
{
	return hv_vm_assert_interrupt(vm->hv, irq);
}

/* ---- memory --------------------------------------------------------------------------------- */

static void region_free(struct region *r)
{
	free(r->host_dirty);
	free(r->dirty_log);
	free(r);
}

int vm_map(struct vm *vm, uint64_t gpa, uint64_t size, unsigned flags)
{
	struct region *r;
	char name[32];
	int ret;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	if (vm->hidden)
		snprintf(name, sizeof(name), "mshvd-spare");
	else
		snprintf(name, sizeof(name), "mshvd-vm%u", vm->id);
	r->memfd = memfd_create(name, MFD_CLOEXEC);
	if (r->memfd < 0) {
		ret = -errno;
		free(r);
		return ret;
	}
	/* Zeroed by the kernel: a fresh memfd reads as zeros. */
	if (ftruncate(r->memfd, (off_t)size) < 0) {
		ret = -errno;
		goto fail;
	}
	r->host_dirty = calloc(region_bitmap_words(size), sizeof(uint64_t));
	r->dirty_log = calloc(region_bitmap_words(size), sizeof(uint64_t));
	if (!r->host_dirty || !r->dirty_log) {
		ret = -ENOMEM;
		goto fail;
	}
	r->host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, r->memfd, 0);
	if (r->host == MAP_FAILED) {
		ret = -errno;
		r->host = NULL;
		goto fail;
	}
	ret = hv_vm_map(vm->hv, gpa, r->host, size, flags);
	if (ret < 0)
		goto fail;
	/* A new region is not in the snapshot base: the next restore copies everything. */
	vm->snap_base = 0;
	r->gpa = gpa;
	r->size = size;
	r->flags = flags;
	TAILQ_INSERT_TAIL(&vm->regions, r, entry);
	vm->mem_total += size;
	vm->nregions++;
	vm_counts_add(vm, 0, 0, (int64_t)size);
	return 0;
fail:
	if (r->host)
		munmap(r->host, size);
	close(r->memfd);
	region_free(r);
	return ret;
}

struct region *vm_region_at(struct vm *vm, uint64_t gpa)
{
	struct region *r;

	TAILQ_FOREACH(r, &vm->regions, entry)
		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	return NULL;
}

int vm_unmap(struct vm *vm, struct region *r)
{
	int ret = hv_vm_unmap(vm->hv, r->gpa, r->size);

	if (ret < 0)
		return ret;
	TAILQ_REMOVE(&vm->regions, r, entry);
	vm->mem_total -= r->size;
	vm->nregions--;
	vm_counts_add(vm, 0, 0, -(int64_t)r->size);
	vm->snap_base = 0;
	munmap(r->host, r->size);
	close(r->memfd);
	region_free(r);
	return 0;
}

int vm_access(struct vm *vm, uint64_t gpa, void *buf, size_t len, bool write)
{
	uint8_t *p = buf;

	if (gpa + len < gpa)
		return -EFAULT;
	/* Check first so a partial failure never leaves a half-done write. */
	for (uint64_t a = gpa, left = len; left;) {
		struct region *r = vm_region_at(vm, a);
		uint64_t n;

		if (!r)
			return -EFAULT;
		n = r->size - (a - r->gpa);
		if (n > left)
			n = left;
		a += n;
		left -= n;
	}
	while (len) {
		struct region *r = vm_region_at(vm, gpa);
		uint64_t off, n;

		if (!r)
			return -EFAULT;	/* cannot happen: checked above */
		off = gpa - r->gpa;
		n = r->size - off;
		if (n > len)
			n = len;
		if (write) {
			memcpy((uint8_t *)r->host + off, p, n);
			/* Not in the hypervisor's dirty log: restore-vm copies these back too. */
			for (uint64_t pg = off / 4096; pg <= (off + n - 1) / 4096; pg++)
				r->host_dirty[pg / 64] |= 1ull << (pg % 64);
		} else
			memcpy(p, (uint8_t *)r->host + off, n);
		gpa += n;
		p += n;
		len -= n;
	}
	return 0;
}

/* ---- teardown ------------------------------------------------------------------------------- */

/* Steps 2-5 of the teardown order.  Thread: reaper (or the loop when no thread could start). */
static void *vm_reaper(void *arg)
{
	struct vm *vm = arg;
	struct vcpu_msg m = { .type = MSG_VM_GONE, .vm = vm };
	struct region *r;

	for (struct vcpu *v = vm->dead; v; v = v->next_dead)
		vcpu_reap(v);
	vm_eventfds_unregister(vm);
	TAILQ_FOREACH(r, &vm->regions, entry)
		hv_vm_unmap(vm->hv, r->gpa, r->size);
	vm->hv = hv_vm_free(vm->hv);
	TAILQ_FOREACH(r, &vm->regions, entry) {
		munmap(r->host, r->size);
		close(r->memfd);
		r->host = NULL;
		r->memfd = -1;
	}
	vm_eventfds_close(vm);
	mailbox_post(&m);
	return NULL;
}

void vm_destroy(struct vm *vm, const char *why)
{
	struct vcpu *v;
	sigset_t all, old;

	if (vm->state == VM_DESTROYING)
		return;
	log_full(LOG_LVL_INFO, vm->id, -1, NULL, 0, "vm %u \"%s\": destroying (%s)", vm->id,
		 vm_label(vm), why);
	/* vm-state destroying, as the schema lists, before the VM leaves `vms`. */
	vm_set_state(vm, VM_DESTROYING);
	vm_hold_cancel(vm);
	if (vm->hidden) {
		nhidden_vms--;
	} else {
		vm_list_remove(vm);
	}
	TAILQ_INSERT_TAIL(&dying_vms, vm, entry);
	vm_eventfds_unwatch(vm);
	VM_FOREACH_VCPU(vm, v) {
		vcpu_request(v, VCPU_REQ_EXIT);
		v->next_dead = vm->dead;
		vm->dead = v;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	vm->reaper_started = pthread_create(&vm->reaper, NULL, vm_reaper, vm) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!vm->reaper_started) {
		log_warning("vm %u: no reaper thread; tearing down on the loop", vm->id);
		vm_reaper(vm);
	}
}

/* Step 6: the reaper is done. */
void vm_gone(struct vm *vm)
{
	struct region *r;

	if (vm->reaper_started)
		pthread_join(vm->reaper, NULL);
	TAILQ_REMOVE(&dying_vms, vm, entry);
	vm_counts_release(vm);
	vm_publish(vm, -1, EV_VM_STATE, json_pack("{s:s}", "state", "destroyed"));
	log_full(LOG_LVL_INFO, vm->id, -1, NULL, 0, "vm %u \"%s\": destroyed", vm->id,
		 vm_label(vm));
	while (vm->dead) {
		struct vcpu *v = vm->dead;

		vm->dead = v->next_dead;
		vcpu_free(v);
	}
	while ((r = TAILQ_FIRST(&vm->regions))) {
		TAILQ_REMOVE(&vm->regions, r, entry);
		region_free(r);
	}
	vm_eventfds_free(vm);
	free(vm->name);
	free(vm);
	if (mshvd.shutting_down && TAILQ_EMPTY(&vms) && TAILQ_EMPTY(&dying_vms))
		event_base_loopexit(mshvd.base, NULL);
}

void vm_client_gone(struct client *c)
{
	struct vm *vm, *next;

	TAILQ_FOREACH_SAFE(vm, &vms, entry, next) {
		if (vm->creator != c)
			continue;
		vm->creator = NULL;
		if (vm->autodestroy)
			vm_destroy(vm, "autodestroy: its connection closed");
	}
}
