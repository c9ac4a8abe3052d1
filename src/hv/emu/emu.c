// SPDX-License-Identifier: MIT
/* The engine: VMs, vCPUs, guest RAM, and the run loop that turns Unicorn into intercepts. */
#include <cpuid.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "hv/emu/emu-internal.h"

bool emu_msr_known(uint32_t index);
bool emu_vector_has_error_code(uint8_t vector);

/* A PC the guest never reaches (non-canonical): uc_emu_start needs an end address. */
#define EMU_NO_UNTIL	0x8000000000000000ull

static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static int probe_result = 1;	/* 1: not probed yet */

static unsigned to_uc_prot(unsigned prot)
{
	return UC_PROT_READ | ((prot & EMU_PROT_WRITE) ? UC_PROT_WRITE : 0) |
	       ((prot & EMU_PROT_EXEC) ? UC_PROT_EXEC : 0);
}

/* ---- the execution lock ------------------------------------------------------------------ */

static void exec_lock(struct emu_vm *vm)
{
	atomic_fetch_add(&vm->exec_waiters, 1);
	pthread_mutex_lock(&vm->exec);
	atomic_fetch_sub(&vm->exec_waiters, 1);
}

static void exec_unlock(struct emu_vm *vm)
{
	pthread_mutex_unlock(&vm->exec);
}

/* ---- VMs --------------------------------------------------------------------------------- */

int emu_vm_new(const struct emu_vm_config *cfg, struct emu_vm **ret)
{
	struct emu_vm *vm;

	if (!ret)
		return -EINVAL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	if (cfg)
		vm->cfg = *cfg;
	pthread_mutex_init(&vm->exec, NULL);
	pthread_rwlock_init(&vm->lock, NULL);
	*ret = vm;
	return 0;
}

struct emu_vm *emu_vm_free(struct emu_vm *vm)
{
	if (!vm)
		return NULL;
	for (unsigned i = 0; i < EMU_MAX_MAPPINGS; i++)
		free(vm->maps[i].dirty);
	pthread_mutex_destroy(&vm->exec);
	pthread_rwlock_destroy(&vm->lock);
	free(vm);
	return NULL;
}

static uint8_t *dirty_bitmap_new(uint64_t size)
{
	return calloc(1, (size / EMU_PAGE_SIZE + 7) / 8);
}

int emu_vm_map(struct emu_vm *vm, uint64_t gpa, void *host, uint64_t size, unsigned prot)
{
	struct emu_map *slot = NULL;
	unsigned done = 0;
	int r = 0;

	if (!vm || !host || !size || (gpa | size | (uintptr_t)host) & (EMU_PAGE_SIZE - 1) ||
	    gpa + size < gpa)
		return -EINVAL;
	exec_lock(vm);
	pthread_rwlock_wrlock(&vm->lock);
	for (unsigned i = 0; i < EMU_MAX_MAPPINGS; i++) {
		struct emu_map *m = &vm->maps[i];

		if (!m->used) {
			if (!slot)
				slot = m;
		} else if (gpa < m->gpa + m->size && m->gpa < gpa + size) {
			r = -EEXIST;
			goto out;
		}
	}
	if (!slot) {
		r = -ENOSPC;
		goto out;
	}
	if (vm->dirty_tracking && !(slot->dirty = dirty_bitmap_new(size))) {
		r = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < EMU_MAX_VCPUS; i++) {
		struct emu_vcpu *v = vm->vcpus[i];

		if (!v)
			continue;
		if (uc_mem_map_ptr(v->uc, gpa, size, to_uc_prot(prot), host) != UC_ERR_OK) {
			r = -ENOMEM;
			break;
		}
		done = i + 1;
	}
	if (r < 0) {
		for (unsigned i = 0; i < done; i++)
			if (vm->vcpus[i])
				uc_mem_unmap(vm->vcpus[i]->uc, gpa, size);
		free(slot->dirty);
		slot->dirty = NULL;
		goto out;
	}
	slot->gpa = gpa;
	slot->size = size;
	slot->host = host;
	slot->prot = prot;
	slot->used = true;
out:
	pthread_rwlock_unlock(&vm->lock);
	exec_unlock(vm);
	return r;
}

int emu_vm_unmap(struct emu_vm *vm, uint64_t gpa, uint64_t size)
{
	int r = -ENOENT;

	if (!vm)
		return -EINVAL;
	exec_lock(vm);
	pthread_rwlock_wrlock(&vm->lock);
	for (unsigned i = 0; i < EMU_MAX_MAPPINGS; i++) {
		struct emu_map *m = &vm->maps[i];

		if (!m->used || m->gpa != gpa || m->size != size)
			continue;
		for (unsigned j = 0; j < EMU_MAX_VCPUS; j++) {
			struct emu_vcpu *v = vm->vcpus[j];

			if (v) {
				uc_mem_unmap(v->uc, gpa, size);
				v->fetch_page = ~0ull;
				v->ncode = 0;
				uc_ctl_remove_cache(v->uc, gpa, gpa + size);
			}
		}
		free(m->dirty);
		memset(m, 0, sizeof(*m));
		r = 0;
		break;
	}
	pthread_rwlock_unlock(&vm->lock);
	exec_unlock(vm);
	return r;
}

void emu_mark_dirty(struct emu_vm *vm, uint64_t addr, uint64_t size)
{
	if (!vm->dirty_tracking || !size)
		return;
	for (unsigned i = 0; i < EMU_MAX_MAPPINGS; i++) {
		struct emu_map *m = &vm->maps[i];
		uint64_t first, last;

		if (!m->used || !m->dirty || addr < m->gpa || addr - m->gpa >= m->size)
			continue;
		first = (addr - m->gpa) / EMU_PAGE_SIZE;
		last = (addr + size - 1 - m->gpa) / EMU_PAGE_SIZE;
		for (uint64_t p = first; p <= last && p < m->size / EMU_PAGE_SIZE; p++)
			m->dirty[p / 8] |= (uint8_t)(1u << (p % 8));
		break;
	}
}

static void hook_dirty(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
		       void *opaque)
{
	struct emu_vcpu *v = opaque;

	(void)uc;
	(void)type;
	(void)value;
	/* Runs under the execution lock: the map table cannot change. */
	emu_mark_dirty(v->vm, addr, (uint64_t)size);
}

static int dirty_hook_set(struct emu_vcpu *v, bool on)
{
	if (on && !v->h_dirty) {
		if (uc_hook_add(v->uc, &v->h_dirty, UC_HOOK_MEM_WRITE, hook_dirty, v, 1, 0) != UC_ERR_OK)
			return -ENOMEM;
	} else if (!on && v->h_dirty) {
		uc_hook_del(v->uc, v->h_dirty);
		v->h_dirty = 0;
	}
	return 0;
}

int emu_vm_set_dirty_tracking(struct emu_vm *vm, bool on)
{
	int r = 0;

	if (!vm)
		return -EINVAL;
	exec_lock(vm);
	pthread_rwlock_wrlock(&vm->lock);
	for (unsigned i = 0; i < EMU_MAX_MAPPINGS && on; i++) {
		struct emu_map *m = &vm->maps[i];

		if (!m->used)
			continue;
		/* Bits left from an earlier round of tracking are stale now. */
		if (m->dirty)
			memset(m->dirty, 0, (m->size / EMU_PAGE_SIZE + 7) / 8);
		else if (!(m->dirty = dirty_bitmap_new(m->size)))
			r = -ENOMEM;
	}
	for (unsigned i = 0; i < EMU_MAX_VCPUS && r == 0; i++)
		if (vm->vcpus[i])
			r = dirty_hook_set(vm->vcpus[i], on);
	if (r == 0)
		vm->dirty_tracking = on;
	pthread_rwlock_unlock(&vm->lock);
	exec_unlock(vm);
	return r;
}

int emu_vm_get_dirty(struct emu_vm *vm, uint64_t gpa, uint64_t npages, uint8_t *bitmap, bool clear)
{
	int r = -ENOENT;

	if (!vm || !bitmap || (gpa & (EMU_PAGE_SIZE - 1)))
		return -EINVAL;
	exec_lock(vm);
	for (unsigned i = 0; i < EMU_MAX_MAPPINGS; i++) {
		struct emu_map *m = &vm->maps[i];
		uint64_t first;

		if (!m->used || gpa < m->gpa || gpa - m->gpa >= m->size ||
		    npages > (m->size - (gpa - m->gpa)) / EMU_PAGE_SIZE)
			continue;
		first = (gpa - m->gpa) / EMU_PAGE_SIZE;
		memset(bitmap, 0, (npages + 7) / 8);
		for (uint64_t p = 0; p < npages; p++) {
			uint64_t s = first + p;

			if (m->dirty && (m->dirty[s / 8] >> (s % 8)) & 1) {
				bitmap[p / 8] |= (uint8_t)(1u << (p % 8));
				if (clear)
					m->dirty[s / 8] &= (uint8_t)~(1u << (s % 8));
			}
		}
		r = 0;
		break;
	}
	exec_unlock(vm);
	return r;
}

/* ---- hooks (Thread: vcpu, inside uc_emu_start, execution lock held) ---------------------- */

/* Host address of the instruction bytes at linear address la (identity: see emu.h). */
static const uint8_t *fetch(struct emu_vcpu *v, uint64_t la, uint32_t size)
{
	uint64_t page = la & EMU_PAGE_MASK;

	if ((la & (EMU_PAGE_SIZE - 1)) + size > EMU_PAGE_SIZE)
		return NULL;
	if (page != v->fetch_page) {
		uint8_t *p = emu_gpa_host(v->vm, page, EMU_PAGE_SIZE, NULL);

		if (!p)
			return NULL;
		v->fetch_page = page;
		v->fetch_host = p;
		/* Remember the page's contents, to notice host writes between runs. */
		if (v->ncode < EMU_CODE_PAGES) {
			unsigned i;

			for (i = 0; i < v->ncode && v->code[i].gpa != page; i++)
				;
			if (i == v->ncode) {
				v->code[i].gpa = page;
				memcpy(v->code[i].copy, p, EMU_PAGE_SIZE);
				v->ncode++;
			}
		} else {
			v->code_overflow = true;
		}
	}
	return v->fetch_host + (la & (EMU_PAGE_SIZE - 1));
}

enum insn_class { INSN_PLAIN, INSN_EVENT, INSN_SHADOW, INSN_IF };

/* What the engine must do about the instruction at b (size bytes). */
static enum insn_class classify(const uint8_t *b, uint32_t size)
{
	uint32_t i = 0;
	uint8_t op;

	/* Prefixes (legacy, then REX); never the last byte of an instruction. */
	while (i + 1 < size) {
		uint8_t p = b[i];

		if (p == 0x66 || p == 0x67 || p == 0xf2 || p == 0xf3 || p == 0xf0 || p == 0x26 ||
		    p == 0x2e || p == 0x36 || p == 0x3e || p == 0x64 || p == 0x65 ||
		    (p >= 0x40 && p <= 0x4f))
			i++;
		else
			break;
	}
	op = b[i];
	switch (op) {
	case 0xe4: case 0xe5: case 0xe6: case 0xe7:
	case 0xec: case 0xed: case 0xee: case 0xef:
	case 0x6c: case 0x6d: case 0x6e: case 0x6f:
	case 0xf4:
		return INSN_EVENT;
	case 0x0f:
		if (i + 1 < size && (b[i + 1] == 0xa2 || b[i + 1] == 0x30 || b[i + 1] == 0x32))
			return INSN_EVENT;
		return INSN_PLAIN;
	case 0xfb:
		return INSN_SHADOW;		/* sti: shadow, and IF may now be set */
	case 0x17:
		return INSN_SHADOW;		/* pop ss */
	case 0x8e:
		return (i + 1 < size && ((b[i + 1] >> 3) & 7) == 2) ? INSN_SHADOW : INSN_PLAIN;
	case 0x9d: case 0xcf:
		return INSN_IF;			/* popf, iret */
	default:
		return INSN_PLAIN;
	}
}

static void stop(struct emu_vcpu *v, enum emu_stop why)
{
	v->stop = why;
	uc_emu_stop(v->uc);
}

static void hook_code(uc_engine *uc, uint64_t addr, uint32_t size, void *opaque)
{
	struct emu_vcpu *v = opaque;
	const uint8_t *b;
	enum insn_class c;
	uint8_t buf[16];

	(void)uc;
	if (v->stepping) {
		if (v->step_started)
			stop(v, EMU_STOP_STEP);
		v->step_started = true;
		return;
	}
	v->shadow = v->prev_shadow;
	if (atomic_load_explicit(&v->kick, memory_order_relaxed)) {
		stop(v, EMU_STOP_KICK);
		return;
	}
	if (v->bound) {
		if (!*v->bound) {
			stop(v, EMU_STOP_BOUND);
			return;
		}
		--*v->bound;
	}
	if (!v->shadow && (atomic_load_explicit(&v->irq_poke, memory_order_relaxed) ||
			   (v->irq_blocked && v->prev_if))) {
		stop(v, EMU_STOP_IRQ);
		return;
	}
	if (++v->icount >= EMU_EXEC_BUDGET) {
		v->icount = 0;
		if (atomic_load_explicit(&v->vm->exec_waiters, memory_order_relaxed)) {
			stop(v, EMU_STOP_YIELD);
			return;
		}
	}
	if (size > sizeof(buf))
		size = sizeof(buf);
	b = fetch(v, addr, size);
	if (!b) {
		if (emu_read_linear(v, addr, buf, size) < 0) {
			v->prev_shadow = v->prev_if = false;
			return;
		}
		b = buf;
	}
	c = classify(b, size);
	if (c == INSN_EVENT && !v->event_skip) {
		v->event_rip = addr;
		v->event_len = size;
		stop(v, EMU_STOP_EVENT);
		return;
	}
	v->event_skip = false;
	v->cur_addr = addr;
	v->cur_len = size;
	v->prev_shadow = c == INSN_SHADOW;
	v->prev_if = c == INSN_SHADOW || c == INSN_IF;
}

static bool hook_fault(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
		       void *opaque)
{
	struct emu_vcpu *v = opaque;

	(void)uc;
	if (!v->fault.valid) {
		v->fault.valid = true;
		v->fault.addr = addr;
		v->fault.size = size;
		v->fault.type = type;
		v->fault.value = value;
	}
	return false;
}

static void hook_intr(uc_engine *uc, uint32_t intno, void *opaque)
{
	struct emu_vcpu *v = opaque;

	(void)uc;
	v->intr_no = intno;
	stop(v, EMU_STOP_INTR);
}

static bool hook_invalid(uc_engine *uc, void *opaque)
{
	(void)uc;
	(void)opaque;
	return false;		/* the run loop raises #UD */
}

/* ---- vCPUs ------------------------------------------------------------------------------- */

static void reset_state(struct emu_vcpu *v)
{
	struct emu_segment cs = { .base = 0xffff0000, .limit = 0xffff, .selector = 0xf000,
				  .attributes = 0x9b };
	struct emu_segment data = { .limit = 0xffff, .attributes = 0x93 };
	struct emu_segment ldt = { .limit = 0xffff, .attributes = 0x82 };
	struct emu_segment tr = { .limit = 0xffff, .attributes = 0x8b };

	for (unsigned i = 0; i < 16; i++)
		*emu_st_gpr(v, i) = 0;
	*emu_st_gpr(v, EMU_RDX) = 0x600;
	*emu_st_rip(v) = 0xfff0;
	*emu_st_rflags(v) = 2;
	for (unsigned s = EMU_SEG_ES; s <= EMU_SEG_GS; s++)
		emu_st_set_seg(v, s, s == EMU_SEG_CS ? &cs : &data);
	emu_st_set_seg(v, EMU_SEG_LDT, &ldt);
	emu_st_set_seg(v, EMU_SEG_TR, &tr);
	*emu_st_cr(v, 0) = 0x60000010;
	*emu_st_cr(v, 2) = 0;
	*emu_st_cr(v, 3) = 0;
	*emu_st_cr(v, 4) = 0;
	*emu_st_efer(v) = 0;
	{
		uint8_t *gdt = v->st + emu_layout.gdt, *idt = v->st + emu_layout.idt;
		uint32_t lim = 0xffff;

		memset(gdt + 8, 0, 8);
		memcpy(gdt + 16, &lim, 4);
		memset(idt + 8, 0, 8);
		memcpy(idt + 16, &lim, 4);
	}
	emu_st_update_mode(v);
	v->apic_base = EMU_APIC_DEFAULT_BASE | (1u << 11) | (v->index == 0 ? 1u << 8 : 0);
	v->prev_shadow = v->prev_if = false;
}

/*
 * The engine asks for transparent huge pages on its translated-code buffer (madvise), so the
 * first instruction it translates makes the kernel clear a whole 2 MiB page: most of the cost
 * of creating a vCPU and of the memory it holds, for a buffer a small guest fills a few KiB
 * of.  The process opts out of THP once (prctl; it also covers mappings made later).
 */
static void engine_no_thp_once(void)
{
	(void)prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);	/* best effort: only a cost otherwise */
}

static void engine_no_thp(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, engine_no_thp_once);
}

/* ---- engine instances prepared ahead (emu_prepare_ahead()) --------------------------------- */

/* An opened instance with its two saved contexts: the engine's lazy set-up (translator, code
 * buffer) runs at the first context allocation, so this is most of a vCPU's creation. */
struct engine {
	uc_engine *uc;
	uc_context *ctx, *ctx_probe;
};

static void engine_close(struct engine *e)
{
	if (e->ctx)
		uc_context_free(e->ctx);
	if (e->ctx_probe)
		uc_context_free(e->ctx_probe);
	if (e->uc)
		uc_close(e->uc);
	*e = (struct engine){ 0 };
}

static int engine_open(struct engine *e)
{
	*e = (struct engine){ 0 };
	engine_no_thp();
	if (uc_open(UC_ARCH_X86, UC_MODE_64, &e->uc) != UC_ERR_OK) {
		e->uc = NULL;
		return -ENOMEM;
	}
	if (uc_context_alloc(e->uc, &e->ctx) || uc_context_alloc(e->uc, &e->ctx_probe)) {
		engine_close(e);
		return -ENOMEM;
	}
	return 0;
}

/*
 * The spares: a thread of the engine keeps up to `want` instances ready.  It starts with the
 * first vCPU created after emu_prepare_ahead() asked for spares (not at the call: a daemon
 * that detaches after opening its backend forks in between, and a fork keeps no thread), and a
 * vCPU that finds none ready opens its own rather than wait for one in preparation.  A fork
 * while the thread runs leaves the child without it: the child's next vCPU starts another.
 * emu_prepare_ahead() calls are serialised by ctl_lock.
 */
#define EMU_MAX_SPARES	4

static struct {
	pthread_mutex_t ctl_lock;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stop, atfork;
	unsigned want, n;
	struct engine e[EMU_MAX_SPARES];
} spares = {
	.ctl_lock = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static void *spares_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&spares.lock);
	while (!spares.stop) {
		struct engine e;
		int r;

		if (spares.n >= spares.want) {
			pthread_cond_wait(&spares.cond, &spares.lock);
			continue;
		}
		pthread_mutex_unlock(&spares.lock);
		r = engine_open(&e);
		pthread_mutex_lock(&spares.lock);
		if (r < 0) {
			/* Out of memory: try again when the next vCPU takes (or misses) one. */
			pthread_cond_wait(&spares.cond, &spares.lock);
		} else if (spares.n < spares.want && !spares.stop) {
			spares.e[spares.n++] = e;
		} else {
			pthread_mutex_unlock(&spares.lock);
			engine_close(&e);
			pthread_mutex_lock(&spares.lock);
		}
	}
	pthread_mutex_unlock(&spares.lock);
	return NULL;
}

/* Around fork(): the child has no spares thread and locks nobody else holds. */
static void spares_fork_prepare(void)
{
	pthread_mutex_lock(&spares.ctl_lock);
	pthread_mutex_lock(&spares.lock);
}

static void spares_fork_parent(void)
{
	pthread_mutex_unlock(&spares.lock);
	pthread_mutex_unlock(&spares.ctl_lock);
}

static void spares_fork_child(void)
{
	spares.running = false;
	spares.stop = false;
	pthread_cond_init(&spares.cond, NULL);
	pthread_mutex_unlock(&spares.lock);
	pthread_mutex_unlock(&spares.ctl_lock);
}

/* Start the thread if spares are wanted and it is not running.  Called with spares.lock. */
static void spares_start(void)
{
	sigset_t all, old;

	if (spares.running || !spares.want || spares.stop)
		return;
	/* The thread takes no signal: the process's handlers stay with its own threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	spares.running = pthread_create(&spares.thread, NULL, spares_main, NULL) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* A ready instance into *e, or false (the caller opens its own). */
static bool spare_take(struct engine *e)
{
	bool got = false;

	pthread_mutex_lock(&spares.lock);
	spares_start();
	if (spares.n) {
		*e = spares.e[--spares.n];
		got = true;
	}
	pthread_cond_broadcast(&spares.cond);	/* prepare the next */
	pthread_mutex_unlock(&spares.lock);
	return got;
}

unsigned emu_spares_ready(void)
{
	unsigned n;

	pthread_mutex_lock(&spares.lock);
	n = spares.n;
	pthread_mutex_unlock(&spares.lock);
	return n;
}

int emu_prepare_ahead(unsigned n)
{
	struct engine left[EMU_MAX_SPARES];
	unsigned nleft = 0;
	int r = 0;

	if (n > EMU_MAX_SPARES)
		n = EMU_MAX_SPARES;
	pthread_mutex_lock(&spares.ctl_lock);
	if (!spares.atfork) {
		r = -pthread_atfork(spares_fork_prepare, spares_fork_parent, spares_fork_child);
		spares.atfork = r == 0;
	}
	pthread_mutex_lock(&spares.lock);
	spares.want = r < 0 ? 0 : n;
	if (!spares.want && spares.running) {
		spares.stop = true;
		pthread_cond_broadcast(&spares.cond);
		pthread_mutex_unlock(&spares.lock);
		pthread_join(spares.thread, NULL);
		pthread_mutex_lock(&spares.lock);
		spares.running = false;
		spares.stop = false;
	}
	pthread_cond_broadcast(&spares.cond);
	while (spares.n > spares.want)
		left[nleft++] = spares.e[--spares.n];
	pthread_mutex_unlock(&spares.lock);
	pthread_mutex_unlock(&spares.ctl_lock);
	while (nleft)
		engine_close(&left[--nleft]);
	return r;
}

int emu_vcpu_new(struct emu_vm *vm, unsigned index, struct emu_vcpu **ret)
{
	struct engine eng;
	struct emu_vcpu *v;
	int r = -ENOMEM;

	if (!vm || !ret || index >= EMU_MAX_VCPUS)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->index = index;
	v->wake_fd = -1;
	v->fetch_page = ~0ull;
	pthread_mutex_init(&v->irq_lock, NULL);
	for (unsigned i = 0; i < EMU_CODE_PAGES; i++)
		if (!(v->code[i].copy = malloc(EMU_PAGE_SIZE)))
			goto fail;
	v->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->wake_fd < 0) {
		r = -errno;
		goto fail;
	}
	if (!spare_take(&eng) && engine_open(&eng) < 0)
		goto fail;
	v->uc = eng.uc;
	v->ctx = eng.ctx;
	v->ctx_probe = eng.ctx_probe;
	pthread_mutex_lock(&probe_lock);
	if (probe_result == 1)
		probe_result = emu_state_probe(v->uc, v->ctx);
	r = probe_result;
	pthread_mutex_unlock(&probe_lock);
	if (r < 0)
		goto fail;
	r = -ENOMEM;
	if (uc_hook_add(v->uc, &v->h_code, UC_HOOK_CODE, hook_code, v, 1, 0) ||
	    uc_hook_add(v->uc, &v->h_mem, UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_PROT, hook_fault, v, 1, 0) ||
	    uc_hook_add(v->uc, &v->h_intr, UC_HOOK_INTR, hook_intr, v, 1, 0) ||
	    uc_hook_add(v->uc, &v->h_invalid, UC_HOOK_INSN_INVALID, hook_invalid, v, 1, 0))
		goto fail;
	r = emu_state_load(v);
	if (r < 0)
		goto fail;
	reset_state(v);
	emu_apic_reset(v);
	v->activity = vm->cfg.aps_wait_for_sipi && index != 0 ? EMU_WAIT_FOR_SIPI : EMU_ACTIVE;

	exec_lock(vm);
	pthread_rwlock_wrlock(&vm->lock);
	if (vm->vcpus[index]) {
		r = -EEXIST;
	} else {
		r = 0;
		for (unsigned i = 0; i < EMU_MAX_MAPPINGS && r == 0; i++) {
			struct emu_map *m = &vm->maps[i];

			if (m->used && uc_mem_map_ptr(v->uc, m->gpa, m->size, to_uc_prot(m->prot), m->host))
				r = -ENOMEM;
		}
		if (r == 0 && vm->dirty_tracking)
			r = dirty_hook_set(v, true);
		if (r == 0)
			vm->vcpus[index] = v;
	}
	pthread_rwlock_unlock(&vm->lock);
	exec_unlock(vm);
	if (r < 0)
		goto fail;
	*ret = v;
	return 0;
fail:
	engine_close(&(struct engine){ v->uc, v->ctx, v->ctx_probe });
	if (v->wake_fd >= 0)
		close(v->wake_fd);
	for (unsigned i = 0; i < EMU_CODE_PAGES; i++)
		free(v->code[i].copy);
	pthread_mutex_destroy(&v->irq_lock);
	free(v);
	return r;
}

struct emu_vcpu *emu_vcpu_free(struct emu_vcpu *v)
{
	struct emu_vm *vm;

	if (!v)
		return NULL;
	vm = v->vm;
	exec_lock(vm);
	pthread_rwlock_wrlock(&vm->lock);
	if (vm->vcpus[v->index] == v)
		vm->vcpus[v->index] = NULL;
	pthread_rwlock_unlock(&vm->lock);
	exec_unlock(vm);
	engine_close(&(struct engine){ v->uc, v->ctx, v->ctx_probe });
	close(v->wake_fd);
	for (unsigned i = 0; i < EMU_CODE_PAGES; i++)
		free(v->code[i].copy);
	pthread_mutex_destroy(&v->irq_lock);
	free(v);
	return NULL;
}

enum emu_activity emu_vcpu_get_activity(struct emu_vcpu *v)
{
	return v->activity;
}

int emu_vcpu_set_activity(struct emu_vcpu *v, enum emu_activity a)
{
	if (a != EMU_ACTIVE && a != EMU_HALTED && a != EMU_WAIT_FOR_SIPI)
		return -EINVAL;
	v->activity = a;
	return 0;
}

bool emu_vcpu_interrupt_shadow(struct emu_vcpu *v)
{
	return v->prev_shadow;
}

void emu_vcpu_set_interrupt_shadow(struct emu_vcpu *v, bool on)
{
	/* Both: the next run's delivery looks at shadow before an instruction hook runs. */
	v->shadow = v->prev_shadow = on;
}

int emu_vcpu_inject(struct emu_vcpu *v, uint8_t vector, bool has_error_code, uint32_t error_code)
{
	int r = emu_state_load(v);

	if (r < 0)
		return r;
	exec_lock(v->vm);
	v->pending = false;
	r = emu_raise(v, vector, has_error_code, error_code);
	exec_unlock(v->vm);
	v->shadow = v->prev_shadow = v->prev_if = false;
	if (r < 0) {
		v->shutdown = true;
		return -EFAULT;
	}
	if (v->activity == EMU_HALTED)
		v->activity = EMU_ACTIVE;
	return 0;
}

int emu_vcpu_get_events(struct emu_vcpu *v, struct emu_events *ret)
{
	struct emu_exit *x = ret->mmio_exit;

	pthread_mutex_lock(&v->irq_lock);
	*ret = (struct emu_events){
		.nmi = v->apic.nmi,
		.extint = v->apic.extint,
		.extint_vector = v->apic.extint_vector,
		.init = v->apic.init,
		.sipi = v->apic.sipi,
		.sipi_vector = v->apic.sipi_vector,
	};
	pthread_mutex_unlock(&v->irq_lock);
	ret->shutdown = v->shutdown;
	/* Deferred: the read half was completed.  Pending with its instruction done: the write
	 * half is being reported now and was not completed; either way the next run (after a
	 * restore) must report it. */
	ret->mmio_write = v->deferred || (v->pending && v->pending_done);
	ret->mmio_exit = x;
	if (ret->mmio_write && x)
		*x = v->exit;
	return 0;
}

int emu_vcpu_set_events(struct emu_vcpu *v, const struct emu_events *e)
{
	if (e->mmio_write && (!e->mmio_exit || e->mmio_exit->kind != EMU_EXIT_MMIO ||
			      !e->mmio_exit->mmio.write))
		return -EINVAL;
	pthread_mutex_lock(&v->irq_lock);
	v->apic.nmi = e->nmi;
	v->apic.extint = e->extint;
	v->apic.extint_vector = e->extint_vector;
	v->apic.init = e->init;
	v->apic.sipi = e->sipi;
	v->apic.sipi_vector = e->sipi_vector;
	pthread_mutex_unlock(&v->irq_lock);
	v->shutdown = e->shutdown;
	v->pending = v->pending_done = false;
	v->deferred = e->mmio_write;
	if (e->mmio_write)
		v->exit = *e->mmio_exit;
	atomic_store(&v->irq_poke, true);
	return 0;
}

void emu_vcpu_cancel_exit(struct emu_vcpu *v)
{
	v->pending = v->pending_done = v->deferred = false;
	v->fault.valid = false;
}

void emu_vcpu_set_intercepts(struct emu_vcpu *v, unsigned flags, uint32_t exceptions)
{
	v->intercepts = flags;
	v->exceptions = exceptions;
}

bool emu_vcpu_exit_pending(const struct emu_vcpu *v)
{
	return v->pending;
}

void emu_vcpu_kick(struct emu_vcpu *v)
{
	uint64_t one = 1;
	ssize_t n;

	atomic_store(&v->kick, true);
	n = write(v->wake_fd, &one, sizeof(one));
	(void)n;
}

/* ---- CPUID ------------------------------------------------------------------------------- */

void emu_vcpu_cpuid(struct emu_vcpu *v, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	/* Features the engine's CPU implements (x87, MMX, SSE to SSE4.2, CX8/16, PAE, PSE, PGE,
	 * PAT, CMOV, FXSR, SYSENTER, MSR, TSC, CLFLUSH, POPCNT, MOVBE, AES, PCLMULQDQ). */
	const uint32_t edx1 = 0x078bfbff & ~(1u << 9), ecx1 = 0x02d82203;
	unsigned a = 0, b = 0, c = 0, d = 0;

	memset(out, 0, 4 * sizeof(uint32_t));
	switch (leaf) {
	case 0:
		__cpuid(0, a, b, c, d);
		out[0] = 7;
		out[1] = b;
		out[2] = c;
		out[3] = d;
		break;
	case 1:
		__cpuid(1, a, b, c, d);
		out[0] = a;
		out[1] = (v->index << 24) | (1u << 16) | (b & 0xff00);
		out[2] = (c & ecx1) | (1u << 31);
		out[3] = (d & edx1) | (v->vm->cfg.lapic ? 1u << 9 : 0);
		break;
	case 0x40000000:
		out[0] = 0x40000000;
		memcpy(&out[1], "mshvd emu   ", 12);
		break;
	case 0x80000000:
		out[0] = 0x80000008;
		break;
	case 0x80000001:
		__cpuid(0x80000001, a, b, c, d);
		out[2] = c & 1;					/* LAHF/SAHF */
		out[3] = d & ((1u << 11) | (1u << 20) | (1u << 29));	/* SYSCALL, NX, LM */
		break;
	case 0x80000002: case 0x80000003: case 0x80000004:
		__cpuid(leaf, a, b, c, d);
		out[0] = a;
		out[1] = b;
		out[2] = c;
		out[3] = d;
		break;
	case 0x80000008:
		out[0] = 0x3028;				/* 40 physical, 48 virtual bits */
		break;
	default:
		break;
	}
	(void)subleaf;
}

/* ---- running ----------------------------------------------------------------------------- */

/* Bytes compared without instrumentation: guest RAM is written by other threads (the guest,
 * the VMM) with no lock, as on hardware; a stale read only costs a retranslation. */
__attribute__((no_sanitize("thread", "address")))
static bool page_changed(const uint8_t *a, uint8_t *copy)
{
	const volatile uint64_t *x = (const volatile uint64_t *)(const void *)a;
	uint64_t *y = (uint64_t *)(void *)copy;
	bool changed = false;

	for (unsigned i = 0; i < EMU_PAGE_SIZE / 8; i++)
		if (x[i] != y[i]) {
			y[i] = x[i];
			changed = true;
		}
	return changed;
}

/* Host writes to code pages between runs (write-memory, a VMM loading code): drop stale
 * translations of the pages that changed.  Caller holds exec. */
static void code_check(struct emu_vcpu *v)
{
	if (v->code_overflow) {
		/* More code pages than are watched: drop every translation (per range: the engine's
		 * whole flush takes seconds). */
		for (unsigned i = 0; i < EMU_MAX_MAPPINGS; i++) {
			const struct emu_map *m = &v->vm->maps[i];

			if (m->used)
				uc_ctl_remove_cache(v->uc, m->gpa, m->gpa + m->size);
		}
		v->code_overflow = false;
		v->ncode = 0;
		v->fetch_page = ~0ull;
		return;
	}
	for (unsigned i = 0; i < v->ncode; i++) {
		const uint8_t *p = emu_gpa_host(v->vm, v->code[i].gpa, EMU_PAGE_SIZE, NULL);

		if (!p) {
			uc_ctl_remove_cache(v->uc, v->code[i].gpa, v->code[i].gpa + EMU_PAGE_SIZE);
			v->ncode = 0;
			v->fetch_page = ~0ull;
			return;
		}
		if (page_changed(p, v->code[i].copy))
			uc_ctl_remove_cache(v->uc, v->code[i].gpa, v->code[i].gpa + EMU_PAGE_SIZE);
	}
}

/* Wait for an interrupt, INIT/SIPI or a kick. */
static void wait_wake(struct emu_vcpu *v)
{
	struct pollfd p = { .fd = v->wake_fd, .events = POLLIN };
	uint64_t n;

	if (atomic_load(&v->kick) || atomic_load(&v->irq_poke))
		return;
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		if (atomic_load(&v->kick))
			break;
	if (read(v->wake_fd, &n, sizeof(n)) < 0)
		n = 0;
}

static uint64_t mask_size(uint64_t v, unsigned size)
{
	return size >= 8 ? v : v & ((1ull << (size * 8)) - 1);
}

/* Write the low size bytes of a general register as the instruction would (32-bit writes
 * zero-extend). */
static void set_gpr_part(struct emu_vcpu *v, unsigned reg, uint64_t value, unsigned size)
{
	uint64_t *r = emu_st_gpr(v, reg);

	if (size >= 4)
		*r = size == 4 ? (uint32_t)value : value;
	else
		*r = (*r & ~mask_size(~0ull, size)) | mask_size(value, size);
	v->st_dirty = true;
}

struct io_decode {
	unsigned opi;		/* index of the opcode byte */
	unsigned addr_size;
	unsigned op_size;
	int seg;		/* segment override or -1 */
	bool rep;
};

static void decode_prefixes(struct emu_vcpu *v, const uint8_t *b, unsigned len, struct io_decode *d)
{
	unsigned bits = emu_st_code_bits(v);
	bool opsz = false, adsz = false;
	unsigned i = 0;

	d->seg = -1;
	d->rep = false;
	for (; i + 1 < len; i++) {
		uint8_t p = b[i];

		if (p == 0x66)
			opsz = true;
		else if (p == 0x67)
			adsz = true;
		else if (p == 0xf2 || p == 0xf3)
			d->rep = true;
		else if (p == 0x26)
			d->seg = EMU_SEG_ES;
		else if (p == 0x2e)
			d->seg = EMU_SEG_CS;
		else if (p == 0x36)
			d->seg = EMU_SEG_SS;
		else if (p == 0x3e)
			d->seg = EMU_SEG_DS;
		else if (p == 0x64)
			d->seg = EMU_SEG_FS;
		else if (p == 0x65)
			d->seg = EMU_SEG_GS;
		else if (p == 0xf0 || (bits == 64 && p >= 0x40 && p <= 0x4f))
			;
		else
			break;
	}
	d->opi = i;
	if (bits == 16)
		d->op_size = opsz ? 4 : 2;
	else
		d->op_size = opsz ? 2 : 4;
	if (bits == 64)
		d->addr_size = adsz ? 4 : 8;
	else if (bits == 32)
		d->addr_size = adsz ? 2 : 4;
	else
		d->addr_size = adsz ? 4 : 2;
}

static void advance(struct emu_vcpu *v, unsigned len)
{
	uint64_t *rip = emu_st_rip(v);

	*rip += len;
	if (emu_st_code_bits(v) != 64)
		*rip &= 0xffffffffull;
	v->st_dirty = true;
	v->shadow = v->prev_shadow = v->prev_if = false;	/* a shadow covers one instruction */
}

/* Fill the common part of an exit from the (loaded) state. */
static void exit_begin(struct emu_vcpu *v, struct emu_exit *e, enum emu_exit_kind kind)
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->rip = *emu_st_rip(v);
	e->rflags = *emu_st_rflags(v);
}

static void exit_insn(struct emu_vcpu *v, struct emu_exit *e, uint64_t la, unsigned len)
{
	if (len > sizeof(e->insn))
		len = sizeof(e->insn);
	if (emu_read_linear(v, la, e->insn, len) == 0)
		e->insn_len = (uint8_t)len;
}

/* Returns 1 when *e is an exit for the caller, 0 to keep running, -1 on a triple fault. */
static int handle_event(struct emu_vcpu *v, struct emu_exit *e)
{
	uint8_t b[16] = { 0 };
	unsigned len = v->event_len;
	struct io_decode d;
	uint8_t op;

	if (emu_read_linear(v, v->event_rip, b, len) < 0)
		return -1;
	decode_prefixes(v, b, len, &d);
	op = b[d.opi];
	if (op == 0xf4) {			/* hlt */
		advance(v, len);
		if (emu_irq_wakes(v))
			return 0;			/* the loop delivers it */
		if (!v->vm->cfg.lapic) {
			exit_begin(v, e, EMU_EXIT_HALT);
			return 1;
		}
		v->activity = EMU_HALTED;
		if (v->vm->cfg.halt_exits) {
			exit_begin(v, e, EMU_EXIT_HALT);
			return 1;
		}
		return 0;
	}
	if (op == 0x0f) {
		uint8_t op2 = b[d.opi + 1];
		uint32_t ecx = (uint32_t)*emu_st_gpr(v, EMU_RCX);

		if (op2 == 0xa2) {
			uint32_t res[4];

			emu_vcpu_cpuid(v, (uint32_t)*emu_st_gpr(v, EMU_RAX), ecx, res);
			if (v->intercepts & EMU_INTERCEPT_CPUID) {
				exit_begin(v, e, EMU_EXIT_CPUID);
				e->cpuid.eax = (uint32_t)*emu_st_gpr(v, EMU_RAX);
				e->cpuid.ecx = ecx;
				memcpy(e->cpuid.result, res, sizeof(res));
				exit_insn(v, e, v->event_rip, len);
				return 1;
			}
			set_gpr_part(v, EMU_RAX, res[0], 4);
			set_gpr_part(v, EMU_RBX, res[1], 4);
			set_gpr_part(v, EMU_RCX, res[2], 4);
			set_gpr_part(v, EMU_RDX, res[3], 4);
			advance(v, len);
			return 0;
		}
		/* rdmsr / wrmsr */
		bool write = op2 == 0x30;
		uint64_t data = (uint32_t)*emu_st_gpr(v, EMU_RAX) |
				((uint64_t)(uint32_t)*emu_st_gpr(v, EMU_RDX) << 32);

		if (emu_st_cpl(v) != 0)
			return emu_raise(v, 13, true, 0) < 0 ? -1 : 0;
		if ((v->intercepts & EMU_INTERCEPT_MSR_ALL) || !emu_msr_known(ecx)) {
			exit_begin(v, e, EMU_EXIT_MSR);
			e->msr.index = ecx;
			e->msr.write = write;
			e->msr.data = write ? data : 0;
			exit_insn(v, e, v->event_rip, len);
			return 1;
		}
		if (write) {
			if (emu_state_store(v) < 0 || emu_vcpu_set_msr(v, ecx, data) < 0 ||
			    emu_state_load(v) < 0)
				return -1;
		} else {
			if (emu_vcpu_get_msr(v, ecx, &data) < 0)
				return -1;
			set_gpr_part(v, EMU_RAX, (uint32_t)data, 4);
			set_gpr_part(v, EMU_RDX, data >> 32, 4);
		}
		advance(v, len);
		return 0;
	}

	/* Port I/O. */
	bool string = op >= 0x6c && op <= 0x6f;
	bool write = op == 0xe6 || op == 0xe7 || op == 0xee || op == 0xef || op == 0x6e || op == 0x6f;
	unsigned size = (op & 1) ? d.op_size : 1;
	uint64_t count = 1;

	exit_begin(v, e, EMU_EXIT_IO);
	e->io.port = (op >= 0xe4 && op <= 0xe7) ? b[d.opi + 1] : (uint16_t)*emu_st_gpr(v, EMU_RDX);
	e->io.size = (uint8_t)size;
	e->io.write = write;
	e->io.string = string;
	e->io.rep = string && d.rep;
	e->io.addr_size = (uint8_t)d.addr_size;
	if (e->io.rep) {
		count = mask_size(*emu_st_gpr(v, EMU_RCX), d.addr_size);
		if (count == 0) {		/* rep with RCX = 0: nothing happens */
			advance(v, len);
			return 0;
		}
	}
	e->io.count = count;
	if (write && !string) {
		e->io.data = mask_size(*emu_st_gpr(v, EMU_RAX), size);
	} else if (write) {
		uint64_t la = emu_st_linear(v, d.seg < 0 ? EMU_SEG_DS : (unsigned)d.seg,
					    *emu_st_gpr(v, EMU_RSI), d.addr_size);

		if (emu_read_linear(v, la, &e->io.data, size) < 0)
			e->io.data = 0;
	}
	exit_insn(v, e, v->event_rip, len);
	return 1;
}

static int mmio_step(struct emu_vcpu *v, uint64_t gpa, uint64_t value, bool *ret_wrote,
		     uint64_t *ret_data);

/*
 * The engine's fault report carries only the low 32 bits of a wider store: run the instruction
 * once against a scratch MMIO page to see the whole value, then put the saved state back, so
 * the exit still leaves the vCPU before the instruction.  Caller holds exec, state loaded.
 */
static int probe_write(struct emu_vcpu *v, struct emu_exit *e)
{
	size_t size = uc_context_size(v->uc);
	uint64_t gpa = v->fault.addr, data;
	bool wrote = false;
	int r;

	memcpy(v->ctx_probe, v->ctx, size);
	r = mmio_step(v, gpa, 0, &wrote, &data);
	memcpy(v->ctx, v->ctx_probe, size);
	v->st = (uint8_t *)v->ctx + emu_layout.data;
	v->st_valid = true;
	v->st_dirty = true;
	v->fault.valid = true;
	if (r == 0 && wrote)
		e->mmio.data = data;
	return r;
}

/* An access the instruction made to memory without RAM.  Returns like handle_event. */
static int handle_fault(struct emu_vcpu *v, struct emu_exit *e)
{
	bool write = v->fault.type == UC_MEM_WRITE_UNMAPPED || v->fault.type == UC_MEM_WRITE_PROT;
	bool fetch = v->fault.type == UC_MEM_FETCH_UNMAPPED || v->fault.type == UC_MEM_FETCH_PROT;
	uint64_t gva = v->fault.addr, gpa = gva;
	struct emu_segment cs;
	uint64_t la;

	/* The engine's TLB uses the virtual address as the physical one (see emu.h). */
	exit_begin(v, e, EMU_EXIT_MMIO);
	e->mmio.gpa = gpa;
	e->mmio.gva = gva;
	e->mmio.size = (uint8_t)(v->fault.size > 16 ? 16 : v->fault.size);
	e->mmio.write = write;
	e->mmio.fetch = fetch;
	e->mmio.readonly = v->fault.type == UC_MEM_WRITE_PROT;
	if (write)
		e->mmio.data = (uint64_t)v->fault.value;
	if (fetch)
		return 1;
	if (write && v->fault.size > 4 && probe_write(v, e) < 0)
		return -1;
	emu_st_get_seg(v, EMU_SEG_CS, &cs);
	la = emu_st_code_bits(v) == 64 ? e->rip : (cs.base + e->rip) & 0xffffffffull;
	exit_insn(v, e, la, v->cur_addr == la ? v->cur_len : 15);
	if (v->cur_addr != la)
		e->insn_len = 0;
	if (v->vm->cfg.lapic && (gpa & EMU_PAGE_MASK) == (v->apic_base & EMU_PAGE_MASK))
		return 2;			/* the engine's own APIC page */
	return 1;
}

static void finish_exit(struct emu_vcpu *v, struct emu_exit *e)
{
	v->exit = *e;
	v->pending = e->kind == EMU_EXIT_IO || (e->kind == EMU_EXIT_MMIO && !e->mmio.fetch) ||
		     e->kind == EMU_EXIT_CPUID || e->kind == EMU_EXIT_MSR;
}


static int handle_apic(struct emu_vcpu *v, struct emu_exit *e, bool *ret_eoi)
{
	uint64_t off = e->mmio.gpa & (EMU_PAGE_SIZE - 1), value = 0, data = 0;
	uint8_t vector = 0;
	bool wrote = false;

	if (!e->mmio.write)
		value = emu_apic_read(v, off, e->mmio.size);
	if (mmio_step(v, e->mmio.gpa, value, &wrote, &data) < 0)
		return -1;
	*ret_eoi = false;
	if (wrote && emu_apic_write(v, off, data, &vector)) {
		if (v->vm->cfg.eoi_exits) {
			exit_begin(v, e, EMU_EXIT_EOI);
			e->eoi.vector = vector;
			*ret_eoi = true;
		} else if (v->vm->cfg.eoi_notify) {
			v->vm->cfg.eoi_notify(v->vm->cfg.opaque, v->index, vector);
		}
	}
	return 0;
}

static void deliver_sipi(struct emu_vcpu *v)
{
	pthread_mutex_lock(&v->irq_lock);
	if (v->apic.init) {
		v->apic.init = false;
		v->apic.sipi = false;
		pthread_mutex_unlock(&v->irq_lock);
		reset_state(v);
		v->activity = EMU_WAIT_FOR_SIPI;
		pthread_mutex_lock(&v->irq_lock);
	}
	if (v->apic.sipi) {
		v->apic.sipi = false;
		if (v->activity == EMU_WAIT_FOR_SIPI) {
			struct emu_segment cs = {
				.selector = (uint16_t)(v->apic.sipi_vector << 8),
				.base = (uint64_t)v->apic.sipi_vector << 12,
				.limit = 0xffff, .attributes = 0x9b,
			};

			emu_st_set_seg(v, EMU_SEG_CS, &cs);
			*emu_st_rip(v) = 0;
			emu_st_update_mode(v);
			v->activity = EMU_ACTIVE;
		}
	}
	pthread_mutex_unlock(&v->irq_lock);
}

static bool irq_pending_any(struct emu_vcpu *v)
{
	bool any;

	pthread_mutex_lock(&v->irq_lock);
	any = v->apic.nmi || v->apic.extint;
	for (unsigned i = 0; i < 8 && !any; i++)
		any = v->apic.regs[(0x200 + 0x10 * i) / 4] != 0;
	pthread_mutex_unlock(&v->irq_lock);
	return any;
}

static int run(struct emu_vcpu *v, struct emu_exit *exit)
{
	struct emu_vm *vm;
	int r;

	vm = v->vm;
	v->pending = false;	/* not completed: the instruction runs (and exits) again */
	v->pending_done = false;
	if (v->deferred) {
		/* The write half of a read-modify-write on MMIO: its instruction has finished (the
		 * read's completion ran it); the exit only reports the value written. */
		v->deferred = false;
		*exit = v->exit;
		v->pending = v->pending_done = true;
		return 0;
	}
	for (;;) {
		uc_err err;
		int h = 0;

		r = emu_state_load(v);
		if (r < 0)
			return r;
		if (atomic_exchange(&v->kick, false)) {
			exit_begin(v, exit, EMU_EXIT_INTERRUPTED);
			finish_exit(v, exit);
			return 0;
		}
		if (v->shutdown) {
			exit_begin(v, exit, EMU_EXIT_SHUTDOWN);
			finish_exit(v, exit);
			return 0;
		}
		if (v->bound && !*v->bound)
			break;
		if (vm->cfg.lapic)
			deliver_sipi(v);
		if (v->activity == EMU_WAIT_FOR_SIPI) {
			if (v->bound)
				break;
			wait_wake(v);
			continue;
		}
		atomic_store(&v->irq_poke, false);
		exec_lock(vm);
		h = emu_irq_deliver(v);
		exec_unlock(vm);
		if (h < 0) {
			v->shutdown = true;
			continue;
		}
		if (v->activity == EMU_HALTED) {
			if (!emu_irq_wakes(v)) {
				if (v->bound)
					break;
				wait_wake(v);
				continue;
			}
			v->activity = EMU_ACTIVE;
			continue;
		}
		/* Whatever the last instruction did to IF has been looked at now. */
		v->irq_blocked = irq_pending_any(v);
		v->prev_if = false;

		exec_lock(vm);
		code_check(v);
		r = emu_state_store(v);
		if (r < 0) {
			exec_unlock(vm);
			return r;
		}
		v->stop = EMU_STOP_NONE;
		v->fault.valid = false;
		v->icount = 0;
		v->cur_addr = ~0ull;
		err = uc_emu_start(v->uc, *emu_st_rip(v), EMU_NO_UNTIL, 0, 0);
		v->st_valid = false;
		r = emu_state_load(v);
		if (r < 0) {
			exec_unlock(vm);
			return r;
		}
		if (v->fault.valid) {
			h = handle_fault(v, exit);
			if (h == 2) {
				bool eoi;

				h = handle_apic(v, exit, &eoi) < 0 ? -1 : eoi;
			}
		} else if (err == UC_ERR_INSN_INVALID) {
			h = (v->exceptions & (1u << 6)) ? 3 : (emu_raise(v, 6, false, 0) < 0 ? -1 : 0);
			v->intr_no = 6;
		} else if (v->stop == EMU_STOP_EVENT) {
			h = handle_event(v, exit);
		} else if (v->stop == EMU_STOP_INTR) {
			uint8_t vec = (uint8_t)v->intr_no;

			if (v->intr_no < 32 && (v->exceptions & (1u << v->intr_no)))
				h = 3;
			else
				h = emu_raise(v, vec, v->intr_no < 32 && emu_vector_has_error_code(vec),
					      0) < 0 ? -1 : 0;
		} else if (err != UC_ERR_OK && v->stop == EMU_STOP_NONE) {
			h = -1;
		}
		if (h == 3) {
			exit_begin(v, exit, EMU_EXIT_EXCEPTION);
			exit->exception.vector = (uint8_t)v->intr_no;
			exit->exception.has_error_code = emu_vector_has_error_code((uint8_t)v->intr_no);
			h = 1;
		}
		exec_unlock(vm);
		if (h < 0) {
			v->shutdown = true;
			continue;
		}
		if (h > 0) {
			finish_exit(v, exit);
			return 0;
		}
	}
	/* Bounded: the budget is spent, or the vCPU would wait.  The kick stays pending. */
	exit_begin(v, exit, EMU_EXIT_INTERRUPTED);
	finish_exit(v, exit);
	return 0;
}

int emu_vcpu_run(struct emu_vcpu *v, struct emu_exit *exit)
{
	if (!v || !exit)
		return -EINVAL;
	v->bound = NULL;
	return run(v, exit);
}

int emu_vcpu_run_bounded(struct emu_vcpu *v, struct emu_exit *exit, uint64_t *budget)
{
	int r;

	if (!v || !exit || !budget)
		return -EINVAL;
	v->bound = budget;
	r = run(v, exit);
	v->bound = NULL;
	return r;
}

/* ---- completion -------------------------------------------------------------------------- */

/* The engine splits wide accesses into pieces of at most 4 bytes: each piece reads or writes
 * its bytes of the access, by offset from the access's first byte. */
static uint64_t mmio_read_cb(uc_engine *uc, uint64_t offset, unsigned size, void *opaque)
{
	struct emu_vcpu *v = opaque;
	uint64_t shift = offset - (v->mmio_gpa & (EMU_PAGE_SIZE - 1));

	(void)uc;
	if (shift >= 8)
		return 0;
	return mask_size(v->mmio_value >> (8 * shift), size);
}

static void mmio_write_cb(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value,
			  void *opaque)
{
	struct emu_vcpu *v = opaque;
	uint64_t shift = offset - (v->mmio_gpa & (EMU_PAGE_SIZE - 1));

	(void)uc;
	if (shift >= 8)
		return;
	v->mmio_wrote = true;
	v->mmio_write_data |= mask_size(value, size) << (8 * shift);
}

/*
 * Execute the instruction at RIP once with the page of the faulting GPA answered by value
 * (reads) and recorded (writes).  Caller holds exec and the state is loaded.
 */
static int mmio_step(struct emu_vcpu *v, uint64_t gpa, uint64_t value, bool *ret_wrote,
		     uint64_t *ret_data)
{
	uint64_t page = gpa & EMU_PAGE_MASK;
	uc_err err;
	int r;

	r = emu_state_store(v);
	if (r < 0)
		return r;
	v->mmio_value = value;
	v->mmio_gpa = gpa;
	v->mmio_wrote = false;
	v->mmio_write_data = 0;
	if (uc_mmio_map(v->uc, page, EMU_PAGE_SIZE, mmio_read_cb, v, mmio_write_cb, v) != UC_ERR_OK)
		return -EIO;
	v->stepping = true;
	v->step_started = false;
	v->fault.valid = false;
	err = uc_emu_start(v->uc, *emu_st_rip(v), EMU_NO_UNTIL, 0, 0);
	v->stepping = false;
	uc_mem_unmap(v->uc, page, EMU_PAGE_SIZE);
	v->st_valid = false;
	v->prev_shadow = v->prev_if = false;
	r = emu_state_load(v);
	if (r < 0)
		return r;
	if (err != UC_ERR_OK && v->stop != EMU_STOP_STEP)
		return -EIO;
	*ret_wrote = v->mmio_wrote;
	*ret_data = v->mmio_write_data;
	return 0;
}

/* Step RSI/RDI by one element in the direction of DF; RCX for rep.  Returns true when the
 * instruction is finished (RIP must advance). */
static bool string_step(struct emu_vcpu *v, unsigned reg, const struct emu_exit *e)
{
	uint64_t *r = emu_st_gpr(v, reg), step = e->io.size, mask = mask_size(~0ull, e->io.addr_size);
	bool down = *emu_st_rflags(v) & (1u << 10);

	*r = (*r & ~mask) | ((down ? *r - step : *r + step) & mask);
	if (e->io.addr_size == 4)
		*r &= 0xffffffffull;
	if (e->io.rep) {
		uint64_t *rcx = emu_st_gpr(v, EMU_RCX);
		uint64_t left = ((*rcx & mask) - 1) & mask;

		*rcx = e->io.addr_size == 4 ? left : (*rcx & ~mask) | left;
		v->st_dirty = true;
		return left == 0;
	}
	v->st_dirty = true;
	return true;
}

int emu_vcpu_complete(struct emu_vcpu *v, const struct emu_completion *c)
{
	struct emu_completion none = { .value = ~0ull, .cpuid = { 0 } };
	const struct emu_exit *e;
	int r = 0;

	if (!v)
		return -EINVAL;
	e = &v->exit;
	if (!v->pending)
		return 0;
	if (!c)
		c = &none;
	r = emu_state_load(v);
	if (r < 0)
		return r;
	exec_lock(v->vm);
	switch (e->kind) {
	case EMU_EXIT_IO: {
		struct io_decode d;
		bool done = true;

		decode_prefixes(v, e->insn, e->insn_len, &d);
		if (!e->io.string) {
			if (!e->io.write)
				set_gpr_part(v, EMU_RAX, c->value, e->io.size);
		} else if (!e->io.write) {
			uint64_t la = emu_st_linear(v, EMU_SEG_ES, *emu_st_gpr(v, EMU_RDI), d.addr_size);
			uint64_t val = c->value;

			emu_write_linear(v, la, &val, e->io.size);
			done = string_step(v, EMU_RDI, e);
		} else {
			done = string_step(v, EMU_RSI, e);
		}
		if (done)
			advance(v, e->insn_len);
		break;
	}
	case EMU_EXIT_MMIO: {
		bool wrote;
		uint64_t data;

		if (v->pending_done)
			break;
		r = mmio_step(v, e->mmio.gpa, c->value, &wrote, &data);
		if (r == 0 && wrote && !e->mmio.write) {
			v->exit.mmio.write = true;
			v->exit.mmio.data = data;
			v->deferred = true;
		}
		break;
	}
	case EMU_EXIT_CPUID:
		set_gpr_part(v, EMU_RAX, c->cpuid[0], 4);
		set_gpr_part(v, EMU_RBX, c->cpuid[1], 4);
		set_gpr_part(v, EMU_RCX, c->cpuid[2], 4);
		set_gpr_part(v, EMU_RDX, c->cpuid[3], 4);
		advance(v, e->insn_len);
		break;
	case EMU_EXIT_MSR:
		if (c->inject_gp) {
			if (emu_raise(v, 13, true, 0) < 0)
				v->shutdown = true;
			break;
		}
		if (!e->msr.write) {
			set_gpr_part(v, EMU_RAX, (uint32_t)c->value, 4);
			set_gpr_part(v, EMU_RDX, c->value >> 32, 4);
		}
		advance(v, e->insn_len);
		break;
	default:
		break;
	}
	exec_unlock(v->vm);
	v->pending = false;
	return r;
}
