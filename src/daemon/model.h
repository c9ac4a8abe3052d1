/* SPDX-License-Identifier: MIT */
/* The model (layer 3, see base.h): partitions, vCPUs and their threads, guest RAM, eventfds.
 * The only module that calls the hypervisor interface (hv/hv.h). */
#ifndef MSHVD_MODEL_H
#define MSHVD_MODEL_H

#include "base.h"
#include "events.h"
#include "mailbox.h"

struct client;

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
	VCPU_REQ_HOLD	= 1u << 3,	/* wait off the hypervisor for a snapshot (vm_hold()) */
	VCPU_REQ_ABANDON = 1u << 4,	/* end the run silently (restore-vm: the loop sets the state) */
};

enum run_mode { RUN_STEP, RUN_STREAM };

/* Messages a vCPU thread may have queued and not yet seen handled (backpressure).  A thread
 * that hit the limit waits until the loop has worked the queue down to VCPU_RESUME_QUEUED:
 * resuming at the first free credit would cost a futex wake-up and a thread switch per message
 * in an exit storm, when the loop is the slower side. */
#define VCPU_MAX_QUEUED		256
#define VCPU_RESUME_QUEUED	(VCPU_MAX_QUEUED / 2)

struct vcpu {
	struct vm *vm;
	unsigned index;
	struct hv_vcpu *hv;
	pthread_t thread;
	bool thread_started;

	/* Loop thread only. */
	enum vcpu_state state;
	/* The last parking exit as text, len 0: none.  last_event: its event's params object;
	 * last_exit: the exit object in it (park_reply(), vm-info). */
	struct textbuf last_event;
	struct textbuf last_exit;
	struct hv_exit parked_exit;	/* the exit it is parked at */
	uint64_t exits;

	/* Shared. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_uint requests;		/* VCPU_REQ_*; the kick follows setting a bit */
	bool go;			/* lock: loop asked the thread to run */
	/* lock: the thread waits for go (or was not started): it runs nothing, so the loop may
	 * step the vCPU itself (vcpu_step_cb()) while it holds the lock. */
	bool thread_idle;
	enum run_mode mode;		/* lock: set with go */
	bool has_default_read;
	uint64_t default_read;
	atomic_uint queued;		/* messages posted and not yet handled */
	bool credit_wait;		/* lock: the thread waits for queued to drop */
	bool waiting;			/* lock: the thread waits in a pause or a hold, off the
					 * hypervisor (vm_hold() counts it as captured) */
	/* Step mode on the loop (vcpu_run()): the one-shot that runs the vCPU there for a bounded
	 * amount of guest work, and whether it is scheduled.  Loop thread only. */
	struct event *step_ev;
	bool step_pending;

	struct vcpu *next_dead;		/* vm->dead, from vm_destroy() on */
};

struct region {
	uint64_t gpa;
	uint64_t size;
	unsigned flags;			/* HV_MAP_* */
	int memfd;
	void *host;
	/* Snapshots: the pages the daemon itself wrote (write-memory, loads) since the VM's
	 * snapshot base, and room to fetch the hypervisor's dirty log; (size / 4096 + 63) / 64
	 * words each, allocated with the region so a restore allocates nothing. */
	uint64_t *host_dirty;
	uint64_t *dirty_log;
	TAILQ_ENTRY(region) entry;
};
TAILQ_HEAD(region_list, region);

/* Words of a region's page bitmaps (4 KiB pages, 64 a word). */
static inline size_t region_bitmap_words(uint64_t size)
{
	return (size_t)((size / 4096 + 63) / 64);
}


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

/* VMs, vCPUs, eventfds and bytes of guest RAM that VMs hold (see vm_counts_get()). */
struct vm_counts {
	unsigned vms, vcpus, eventfds;
	uint64_t mem;
};

struct vm {
	unsigned id;			/* 0 while hidden */
	bool hidden;			/* built, not registered (vm_build()) */
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
	/* The vCPUs are the partition's table (hv_vm_vcpu(), each with its struct vcpu as the
	 * data): vm_vcpu(), VM_FOREACH_VCPU().  From vm_destroy() on they are on this list, for
	 * the reaper and vm_gone(), and no longer looked up by index. */
	struct vcpu *dead;
	uint64_t exit_counts[VM_EXIT_COUNTS];	/* by enum hv_exit_kind, + stopped */
	struct vm_eventfd_list eventfds;
	unsigned neventfds;
	unsigned next_eventfd_id;
	struct hv_msi_route *msi_routes;	/* the table last set (set-msi-routing) */
	unsigned nmsi_routes;
	pthread_t reaper;
	bool reaper_started;
	/* Snapshots (snapshot.c): a hold in progress (vm_hold()), and the snapshot the dirty log
	 * and the regions' host_dirty are relative to (0: none; ids are never reused). */
	bool holding;
	void (*hold_fn)(struct vm *vm, void *arg, int err);
	void *hold_arg;
	struct event *hold_timer;	/* VM_HOLD_TIMEOUT_MS while the hold is incomplete */
	unsigned snap_base;
	bool dirty_logging;
	TAILQ_ENTRY(vm) entry;
	/* On `vms` (registered, not destroying): in the indexes and the counts (partition.c). */
	bool listed;
	struct vm_counts held;		/* what it holds in its owner's held counts until vm_gone() */
	struct vm *id_next, *name_next;	/* the index chains */
};
TAILQ_HEAD(vm_list, vm);

extern struct vm_list vms;		/* live VMs, visible to their owner */
extern struct vm_list dying_vms;	/* being torn down off the loop */
extern unsigned nvms;
extern unsigned nhidden_vms;		/* built and not registered: warm spares */

const char *vm_state_name(enum vm_state s);
const char *vcpu_state_name(enum vcpu_state s);
/* Create and register a VM (vm_build() + vm_register()).  -EEXIST when owner has a VM of
 * that name, -ENOMEM, the backend's error. */
int vm_new(uid_t owner, struct client *creator, const char *name, bool autodestroy,
	   const struct hv_vm_options *opts, struct vm **ret);
/* A hidden VM: the partition only, in no list, counted in nhidden_vms; it publishes nothing.
 * Map memory and create vCPUs as for any VM, then vm_register() it or vm_destroy() it. */
int vm_build(const struct hv_vm_options *opts, struct vm **ret);
/* Hand out a hidden VM: its id, name (NULL: "vm-ID"), owner, creator; it joins `vms` and
 * publishes vm-state created and each vCPU's vcpu-state created.  -EEXIST (the name is
 * taken), -ENOMEM: nothing changed, the VM stays hidden. */
int vm_register(struct vm *vm, uid_t owner, struct client *creator, const char *name,
		bool autodestroy);
/* The name for log lines ("(spare)" while hidden). */
const char *vm_label(const struct vm *vm);
/* The live VM of owner named name, or of id, or NULL: hashed, the same cost with one VM or
 * thousands.  (Lookups as a caller sees them: vm_lookup(), auth.h.) */
struct vm *vm_find_name(const char *name, uid_t owner);
struct vm *vm_find_id(unsigned id);
/*
 * What VMs hold (struct vm_counts), kept as it changes rather than counted: the live VMs
 * (`vms`) for daemon-info's counts and systemd's status, every owner's together (all) or
 * owner's; and what an owner's VMs hold until their teardown ended (live and dying), for the
 * per-uid limits.
 */
void vm_counts_get(uid_t owner, bool all, struct vm_counts *ret);
void vm_counts_held(uid_t owner, struct vm_counts *ret);
/* A VM's vCPUs, eventfds or memory changed by these deltas (vcpu.c, eventfd.c, vm_map());
 * counted while the VM is listed. */
void vm_counts_add(struct vm *vm, int vcpus, int eventfds, int64_t mem);
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
/* Start an idle vCPU (its VM becomes running if it was created); the first run starts the
 * vCPU's thread.  0 or a negative errno (nothing changed). */
int vcpu_run(struct vcpu *v, enum run_mode mode, bool has_default_read, uint64_t default_read);
/* Ask a running or paused vCPU to park (exit "stopped"); false when it is idle already. */
bool vcpu_stop(struct vcpu *v);

int vcpu_new(struct vm *vm, unsigned index, struct vcpu **ret);
/* Teardown-thread side: stop and join the thread, free the hv vCPU. Thread: reaper. */
void vcpu_reap(struct vcpu *v);
struct vcpu *vcpu_free(struct vcpu *v);
/* vCPU ref (an integer index) of vm, or NULL. */
struct vcpu *vcpu_lookup(struct vm *vm, const json_t *ref);
struct vcpu *vcpu_lookup_index(struct vm *vm, uint64_t index);

/* vCPU index of a live VM, or NULL; how many it has.  Thread: loop. */
static inline struct vcpu *vm_vcpu(const struct vm *vm, unsigned index)
{
	return hv_vcpu_data(hv_vm_vcpu(vm->hv, index));
}

static inline unsigned vm_nvcpus(const struct vm *vm)
{
	return hv_vm_nvcpus(vm->hv);
}

/* For each vCPU v of a live VM, by index. */
#define VM_FOREACH_VCPU(vm, v)							\
	for (unsigned vcpu_index_ = 0; vcpu_index_ < mshvd.limits.max_vcpus; vcpu_index_++)	\
		if (!((v) = vm_vcpu((vm), vcpu_index_))) {} else
/* Loop side: start running (state must be CREATED or PARKED). */
void vcpu_start(struct vcpu *v, enum run_mode mode, bool has_default_read, uint64_t default_read);
/* Set / clear request bits, kick and wake the thread.  Thread: any (loop, reaper). */
void vcpu_request(struct vcpu *v, unsigned req);
void vcpu_clear_request(struct vcpu *v, unsigned req);
void vcpu_set_state(struct vcpu *v, enum vcpu_state s);
void vcpu_handle_msg(const struct vcpu_msg *m);
/* Build the "exit" object (new ref) of an exit: the text of its exit event, parsed. */
json_t *exit_to_json(const struct hv_exit *e, bool stopped, bool completed, uint64_t value);

/* Register the model's side of the mailbox.  Loop thread, once, before any VM. */
/*
 * The backend as the RPC methods see it: the model is the only layer that asks the hv layer,
 * so methods/ never calls hv_* itself (tests/unit/check-daemon-layers.sh).  Thread: loop.
 */
static inline const char *model_backend_name(void) { return hv_name(mshvd.hv); }
static inline uint32_t model_caps(void) { return hv_caps(mshvd.hv); }
static inline const char *model_cap_name(uint32_t cap) { return hv_cap_name(cap); }
static inline bool model_hardware_isolation(void) { return hv_hardware_isolation(mshvd.hv); }
static inline const struct hv_irq_model *model_irq_model(void) { return hv_irq_model(mshvd.hv); }
static inline const struct hv_driver_info *model_driver_info(void) { return hv_driver_info(mshvd.hv); }
static inline uint32_t model_last_status(void) { return hv_last_status(mshvd.hv); }
static inline const char *model_exit_kind_name(enum hv_exit_kind k) { return hv_exit_kind_name(k); }
/* Registers by name (hv-regs.c's table). */
static inline const char *model_reg_name(enum hv_reg reg) { return hv_reg_name(reg); }
static inline enum hv_reg_kind model_reg_kind(enum hv_reg reg) { return hv_reg_kind(reg); }
static inline int model_reg_from_name(const char *name, enum hv_reg *ret)
{
	return hv_reg_from_name(name, ret);
}

/*
 * Hold every vCPU of vm off the hypervisor at a clean point (snapshots): running and paused
 * vCPUs are asked to wait (VCPU_REQ_HOLD) without any change of their state as clients see
 * it; idle ones stay as they are, and a vCPU started while the hold lasts waits at once.
 * fn(vm, arg, 0) runs on the loop once every vCPU is idle or waiting -- possibly before
 * vm_hold() returns --, fn(vm, arg, -ESHUTDOWN) if the VM is destroyed first and
 * fn(vm, arg, -ETIMEDOUT) if the vCPUs are not all waiting after VM_HOLD_TIMEOUT_MS.  The
 * hold lasts until vm_release() (also after an error but -ESHUTDOWN).  -EBUSY while another
 * hold is in progress.
 */
#define VM_HOLD_TIMEOUT_MS	5000
int vm_hold(struct vm *vm, void (*fn)(struct vm *vm, void *arg, int err), void *arg);
/* End a hold: the vCPUs continue where they were; with abandon, every vCPU that was running
 * or paused ends its run silently instead (the caller sets the states: restore-vm). */
void vm_release(struct vm *vm, bool abandon);
/* Run the hold's fn if every vCPU is off the hypervisor now (after each vCPU message). */
void vm_hold_check(struct vm *vm);
/* vm_destroy(): the hold's fn gets -ESHUTDOWN. */
void vm_hold_cancel(struct vm *vm);
/* The loop thread's side of a held (or idle) vCPU's state (snapshot.c): the blob and the
 * normalized registers, and the restore of a blob.  The vCPU must be idle or held. */
int vcpu_save_state(struct vcpu *v, void **ret, size_t *ret_size, struct hv_reg_value *regs);
int vcpu_restore_state(struct vcpu *v, const void *blob, size_t size);
/* Set the loop's view of an idle vCPU after a restore: state (created or parked), its parked
 * exit and last exit event params (new ref taken over, may be NULL); publishes vcpu-state
 * when the state changed. */
void vcpu_set_restored(struct vcpu *v, enum vcpu_state s, const struct hv_exit *exit,
		       json_t *last_exit);
/* The last parking exit's event params as JSON (new ref), NULL when there is none. */
json_t *vcpu_last_exit(const struct vcpu *v);

int model_init(void);
void model_fini(void);

/* Publish an event about vm (and vCPU vcpu when >= 0): event_publish() with its origin.
 * params stolen; the _ref variant returns a new reference to the event. */
void vm_publish(const struct vm *vm, int vcpu, enum event_kind kind, json_t *params);
json_t *vm_publish_ref(const struct vm *vm, int vcpu, enum event_kind kind, json_t *params);

#endif
