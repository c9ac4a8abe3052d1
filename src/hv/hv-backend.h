/* SPDX-License-Identifier: MIT */
/* Internal interface between the generic hypervisor layer (hv.c) and its backends. */
#ifndef MSHVD_HV_BACKEND_H
#define MSHVD_HV_BACKEND_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "hv/hv.h"

/*
 * A backend embeds struct hv, struct hv_vm and struct hv_vcpu as the FIRST member of its own
 * objects and casts back (container_of style).  hv.c owns the generic state in these base
 * structs: argument checks, capability checks, the table of memory mappings (so overlap and
 * exact-match unmap are checked once for every backend), the pending-exit bookkeeping, and the
 * vCPU table used to find a vCPU by index.
 *
 * A backend operation is called only after hv.c checked the arguments and the capability bit;
 * an operation a backend leaves NULL returns -EOPNOTSUPP.
 */

/* HV_MAX_MAPPINGS, HV_MAX_VCPUS: hv.h (the daemon's limits are bounded by them). */

struct hv_ops;

struct hv {
	const struct hv_ops *ops;
	uint32_t caps;
	uint32_t last_status;
};

struct hv_mapping {
	uint64_t gpa;
	uint64_t size;
	void *host;
	unsigned flags;
	unsigned slot;		/* hv_vm_slot() index, stable while mapped (a KVM memslot id) */
	bool used;
};

#define HV_MAP_CHUNK	16

struct hv_vm {
	struct hv *hv;
	struct hv_vm_options opts;
	uint32_t last_status;
	/* Mapping slots, in chunks of HV_MAP_CHUNK allocated as needed (most VMs map a few
	 * regions; 256 slots inline were 10 KiB per VM): hv_vm_slot().  map_slots counts the
	 * slots allocated; vCPU threads read it with acquire (hv_vm_gpa_host()). */
	struct hv_mapping *map_chunks[HV_MAX_MAPPINGS / HV_MAP_CHUNK];
	unsigned map_slots;
	struct hv_vcpu *vcpus[HV_MAX_VCPUS];	/* by index; written only by hv_vcpu_new/free */
	unsigned nvcpus;
	bool dirty_log;		/* hv_vm_set_dirty_log() on */
};

struct hv_vcpu {
	struct hv_vm *vm;
	unsigned index;
	uint32_t last_status;
	void *data;		/* hv_vcpu_set_data() */
	bool exit_pending;	/* last exit waits for completion */
	struct hv_exit exit;	/* the last exit returned by hv_vcpu_run() */
};

struct hv_ops {
	const char *name;
	enum hv_backend backend;
	bool emulated;		/* a software CPU: no hardware isolation */
	struct hv_irq_model irq;	/* hv_irq_model() */

	/* -ENODEV/-ENOENT/-EACCES when the device is absent or unusable. */
	int (*open)(const char *path, struct hv **ret);
	void (*free)(struct hv *hv);
	/* hv_driver_info(); NULL for backends without driver generations. */
	const struct hv_driver_info *(*driver_info)(const struct hv *hv);

	int (*vm_new)(struct hv *hv, const struct hv_vm_options *opts, struct hv_vm **ret);
	void (*vm_free)(struct hv_vm *vm);
	/* m->slot, gpa, size, host, flags are filled in; the range does not overlap others. */
	int (*vm_map)(struct hv_vm *vm, const struct hv_mapping *m);
	int (*vm_unmap)(struct hv_vm *vm, const struct hv_mapping *m);
	int (*vm_pause)(struct hv_vm *vm);
	int (*vm_resume)(struct hv_vm *vm);
	int (*vm_ioeventfd)(struct hv_vm *vm, bool add, int fd, uint64_t addr, unsigned len,
			    unsigned flags, uint64_t datamatch);
	int (*vm_irqfd)(struct hv_vm *vm, bool add, int fd, int resample_fd, uint32_t gsi);
	int (*vm_set_msi_routing)(struct hv_vm *vm, const struct hv_msi_route *routes, unsigned n);
	int (*vm_assert_interrupt)(struct hv_vm *vm, const struct hv_interrupt *irq);

	int (*vcpu_new)(struct hv_vm *vm, unsigned index, struct hv_vcpu **ret);
	void (*vcpu_free)(struct hv_vcpu *vcpu);
	int (*vcpu_get_regs)(struct hv_vcpu *vcpu, struct hv_reg_value *regs, unsigned n);
	int (*vcpu_set_regs)(struct hv_vcpu *vcpu, const struct hv_reg_value *regs, unsigned n);
	/* Fill *exit with the next exit that needs the caller.  Called only with no exit pending. */
	int (*vcpu_run)(struct hv_vcpu *vcpu, struct hv_exit *exit);
	/* hv_vcpu_run_bounded() (HV_CAP_BOUNDED_RUN); max_insns is at least 1. */
	int (*vcpu_run_bounded)(struct hv_vcpu *vcpu, struct hv_exit *exit, uint64_t max_insns);
	/* Complete vcpu->exit (pending); c is never NULL (hv.c supplies the defaults). */
	int (*vcpu_complete)(struct hv_vcpu *vcpu, const struct hv_completion *c);
	void (*vcpu_kick)(struct hv_vcpu *vcpu);	/* async-signal-safe */
	int (*vcpu_translate_gva)(struct hv_vcpu *vcpu, uint64_t gva, unsigned access,
				  uint64_t *ret_gpa);

	/* Snapshots (hv.h).  hv.c checks HV_CAP_DIRTY_LOG, the mapping and the header (magic,
	 * backend, size) before calling; the backend checks its body version and layout.  A
	 * backend whose partition keeps no state of its own leaves vm_save_state and
	 * vm_restore_state NULL: hv.c writes and accepts a blob of the header alone. */
	int (*vm_set_dirty_log)(struct hv_vm *vm, bool on);
	int (*vm_get_dirty_log)(struct hv_vm *vm, const struct hv_mapping *m, uint64_t *bitmap);
	int (*vm_save_state)(struct hv_vm *vm, void **ret, size_t *ret_size);
	int (*vm_restore_state)(struct hv_vm *vm, const void *state, size_t size);
	int (*vcpu_save_state)(struct hv_vcpu *vcpu, void **ret, size_t *ret_size);
	int (*vcpu_restore_state)(struct hv_vcpu *vcpu, const void *state, size_t size);
};

extern const struct hv_ops hv_kvm_ops;
extern const struct hv_ops hv_mshv_ops;
extern const struct hv_ops hv_emu_ops;		/* only with HAVE_UNICORN */

/* Install the process-wide kick signal handler once (no SA_RESTART); returns the signal
 * number or a negative errno.  Thread: any. */
int hv_kick_signal_setup(void);

/*
 * The kick state of a vCPU whose run is a blocking ioctl on a host thread (kvm, mshv): a sticky
 * request that any thread sets and the vCPU thread consumes when a run returns interrupted, and
 * the thread to signal while it is in (or about to enter) the run.  The backend orders its own
 * steps around these (KVM's immediate_exit, mshv's retry timer); see hv-kvm.c and hv-mshv.c.
 */
struct hv_kick {
	atomic_bool kicked;	/* the sticky request */
	atomic_bool in_run;	/* the vCPU thread is in, or about to enter, the run ioctl */
	atomic_bool have_thread;	/* thread and tid are valid */
	pthread_t thread;
	pid_t tid;
};

/* Set the request.  Thread: any; async-signal-safe. */
static inline void hv_kick_set(struct hv_kick *k)
{
	atomic_store(&k->kicked, true);
}

/* Signal the bound thread with the kick signal when it is in a run; true when it was signalled.
 * Call after hv_kick_set().  Thread: any; async-signal-safe. */
bool hv_kick_notify(struct hv_kick *k);

/* Whether a request is pending, and taking it (true when there was one).  Thread: vcpu. */
static inline bool hv_kick_pending(struct hv_kick *k)
{
	return atomic_load(&k->kicked);
}

static inline bool hv_kick_consume(struct hv_kick *k)
{
	return atomic_exchange(&k->kicked, false);
}

/* Around the run ioctl: the request is checked after hv_kick_enter(), so a kick is either seen
 * by that check or signals the thread.  Thread: vcpu. */
static inline void hv_kick_enter(struct hv_kick *k)
{
	atomic_store(&k->in_run, true);
}

static inline void hv_kick_leave(struct hv_kick *k)
{
	atomic_store(&k->in_run, false);
}

/*
 * Bind k to the calling thread unless it is bound to it already: unblock the kick signal there
 * (kicks must reach it even if its creator blocked signals) and make it the thread to signal.
 * While it rebinds no kick signals any thread; on_rebind (or NULL) runs then, with the new
 * thread id (the mshv backend re-aims its retry timer).  Thread: vcpu.
 */
void hv_kick_bind(struct hv_kick *k, void (*on_rebind)(struct hv_kick *k, pid_t tid));

/* The architectural MSR index behind an MSR register (HV_REG_TSC ... HV_REG_SFMASK), else 0. */
uint32_t hv_reg_msr_index(enum hv_reg reg);

/*
 * Host address of guest RAM at gpa, with the bytes left in its mapping (*ret_avail) and the
 * mapping (*ret_map, may be NULL); NULL when no mapping holds gpa (mappings never overlap).
 * Thread: vcpu (the backends' exit paths).
 */
void *hv_vm_gpa_host(struct hv_vm *vm, uint64_t gpa, uint64_t *ret_avail,
		     const struct hv_mapping **ret_map);

/* Mapping slot i (below vm->map_slots). */
static inline struct hv_mapping *hv_vm_slot(const struct hv_vm *vm, unsigned i)
{
	return &vm->map_chunks[i / HV_MAP_CHUNK][i % HV_MAP_CHUNK];
}

/* The registers a page walk needs. */
struct hv_paging {
	uint64_t cr0, cr3, cr4, efer;
};

/*
 * Guest linear -> guest physical by the architectural walk over the guest's page tables in the
 * RAM mapped here (no paging: identity; 32-bit, PAE and 4-level, large pages).  Checks presence
 * only, not permissions: for reading instruction bytes on an exit path without a hypervisor
 * call.  0 or -EFAULT.  Thread: vcpu.
 */
int hv_vm_walk(struct hv_vm *vm, const struct hv_paging *pg, uint64_t lin, uint64_t *ret_gpa);
/* Copy up to n bytes at guest linear address lin (hv_vm_walk() page by page); returns how many
 * were readable.  Thread: vcpu. */
unsigned hv_vm_read_linear(struct hv_vm *vm, const struct hv_paging *pg, uint64_t lin, void *buf,
			   unsigned n);

/* The header of a state blob a backend writes (hv.h: struct hv_state_header). */
void hv_state_header_init(struct hv_state_header *h, enum hv_backend backend, uint16_t version,
			  size_t size);

/* True when an exit of this kind waits for hv_vcpu_complete(). */
bool hv_exit_needs_completion(const struct hv_exit *exit);

#endif
