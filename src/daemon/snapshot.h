/* SPDX-License-Identifier: MIT */
/* Snapshots of VMs (layer 3, the model, see base.h): capture, restore, clone, the registry. */
#ifndef MSHVD_SNAPSHOT_H
#define MSHVD_SNAPSHOT_H

#include "base.h"
#include "model.h"

struct client;

/* One vCPU as captured: its state as clients saw it, the backend's blob and the normalized
 * registers (every enum hv_reg, kept for inspection and the file format). */
struct snapshot_vcpu {
	unsigned index;
	enum vcpu_state state;		/* created, parked, running or paused when captured */
	bool pending_exit;		/* parked at an exit pending completion: the blob is
					 * before that instruction, which runs again */
	struct hv_exit parked_exit;	/* state parked */
	json_t *last_exit;		/* state parked: the parking exit event params, or NULL */
	void *blob;
	size_t blob_size;
	struct hv_reg_value regs[HV_REG_COUNT];
};

struct snapshot_region {
	uint64_t gpa;
	uint64_t size;
	unsigned flags;			/* HV_MAP_* */
	void *data;			/* a private copy of the region's RAM (malloc) */
	uint64_t *nonzero;		/* pages of data that are not all zeros: clone-vm copies
					 * only those into the fresh (zero-filled) memfd */
};

struct snapshot {
	unsigned id;
	char *name;
	uid_t owner;
	struct client *creator;		/* NULL once the creating connection closed, or loaded */
	bool autodestroy;
	unsigned source_vm;		/* the VM it was taken of (0: loaded from a file) */
	char backend[16];		/* hv_name() of the backend that captured it */
	struct hv_vm_options opts;
	unsigned nregions;
	struct snapshot_region *regions;
	uint64_t memory;		/* guest RAM captured */
	uint64_t bytes;			/* RAM copies + blobs: max-snapshot-mem-per-uid */
	void *vm_blob;
	size_t vm_blob_size;
	unsigned nvcpus;
	struct snapshot_vcpu *vcpus;	/* by ascending index */
	uint64_t created_us;
	/* Warm: one spare VM built from the snapshot (hidden, vm_build()), which clone-vm hands
	 * out; the next one is built off the request's path (spare_ev, on the loop, after the
	 * reply is written).  NULL while none is ready. */
	bool warm;
	struct vm *spare;
	struct event *spare_ev;
	TAILQ_ENTRY(snapshot) entry;
};
TAILQ_HEAD(snapshot_list, snapshot);

extern struct snapshot_list snapshots;
extern unsigned nsnapshots;

/* An empty snapshot with a fresh id (not registered): for the loaders of snapshot files. */
struct snapshot *snapshot_alloc(void);
/* Free an unregistered snapshot, or unregister and free a registered one.  NULL is fine;
 * returns NULL. */
struct snapshot *snapshot_free(struct snapshot *s);
/* Give s a name (NULL: "snap-ID"), owner, creator and register it.  -EEXIST when the owner
 * has a snapshot of that name; -ENOMEM. */
int snapshot_register(struct snapshot *s, const char *name, uid_t owner, struct client *creator,
		      bool autodestroy);
/* Capture vm, which must be held (vm_hold()) or have only idle vCPUs: RAM, the partition's and
 * every vCPU's state.  Then (re)starts the VM's dirty log relative to it.  *ret is not yet
 * registered.  Negative errno (the backend's, -ENOMEM); nothing changed then. */
int snapshot_capture(struct vm *vm, struct snapshot **ret);
/* Whether vm has the layout (regions, vCPU indices, options, backend) of s; else a message for
 * invalid-params in why.  -EXDEV (why names both backends), -EINVAL. */
int snapshot_check_target(const struct snapshot *s, const struct vm *vm, char *why, size_t n);
/* Restore s into vm, held (vm_hold()) and checked (snapshot_check_target()).  Memory: when
 * vm's base is s only the pages the guest or the daemon wrote since, else all.  The vCPU
 * states are restored and the hold released (the vCPUs idle, their states as in s: a vCPU
 * that was running is parked "stopped" at its rip).  On failure vm is as before (the
 * previous vCPU and partition states are put back) and still held.  Negative errno.
 * *ret_copied: the bytes of RAM copied back. */
int snapshot_restore(const struct snapshot *s, struct vm *vm, uint64_t *ret_copied);
/* A new VM owned by owner in the state of s (same options, regions, vCPUs): the spare of a
 * warm snapshot when one is ready, else built now; a warm snapshot then schedules its next
 * spare.  On failure nothing is left.  -EEXIST (the name is taken), -EXDEV, else negative
 * errno; vm_last_status() does not apply (the VM is gone). */
int snapshot_clone(struct snapshot *s, uid_t owner, struct client *creator, const char *name,
		   bool autodestroy, struct vm **ret);
/* Make s warm: a spare is built soon (snapshot_want_spare()).  -ENOMEM. */
int snapshot_set_warm(struct snapshot *s);
/* Schedule building s's spare on the loop's next iteration (after the reply is written),
 * unless s is cold, has one or the daemon is shutting down. */
void snapshot_want_spare(struct snapshot *s);
/* The bytes s counts against max-snapshot-mem-per-uid: with a spare's RAM when warm. */
static inline uint64_t snapshot_charge(const struct snapshot *s)
{
	return s->bytes + (s->warm ? s->memory : 0);
}
/* Daemon shutdown: every spare goes through the normal teardown, every snapshot is freed. */
void snapshot_shutdown(void);
struct snapshot *snapshot_find_name(const char *name, uid_t owner);
/* Fill sr->nonzero (allocated here) from sr->data.  -ENOMEM. */
int snapshot_region_scan(struct snapshot_region *sr);

/* ---- snapshot-file.c: the file format (docs/snapshot-format.md) on a client's descriptor ---- */

/* Write s to fd (a regular file: else -EBADFD) at its offset; *ret_bytes: the file's size. */
int snapshot_write(const struct snapshot *s, int fd, uint64_t *ret_bytes);
struct snapshot_file_header {
	uint32_t version;
	char backend[16];
	uint64_t file_size;
	uint32_t nregions, nvcpus;
	uint64_t memory;
	uint32_t vm_blob_size;
	uint32_t nregs;
	uint64_t hash;			/* of the header, for the body's checksum */
};
/* Read and check a file's header (magic, version: -EPROTO, sizes), which the caller checks
 * against the limits before snapshot_read_body() allocates anything in proportion to it.
 * Errors: why says what is wrong (-EBADFD: not a regular file; -EINVAL malformed). */
int snapshot_read_header(int fd, struct snapshot_file_header *h, char *why, size_t nwhy);
/* Read the rest into a new unregistered snapshot; every field is validated, the checksum
 * last.  -EINVAL (why), -ENOMEM. */
int snapshot_read_body(int fd, const struct snapshot_file_header *h, struct snapshot **ret,
		       char *why, size_t nwhy);
/* Summary for list-snapshots and the replies (new ref). */
json_t *snapshot_summary(const struct snapshot *s);
/* A connection closed: its autodestroy snapshots go. */
void snapshot_client_gone(struct client *c);

#endif
