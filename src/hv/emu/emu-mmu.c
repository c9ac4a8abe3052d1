// SPDX-License-Identifier: MIT
/* Guest memory for the engine: GPA -> host, the page walk behind translate, linear copies. */
#include <errno.h>
#include <string.h>

#include "hv/emu/emu-internal.h"

/* Caller holds vm->lock (read) or exec. */
void *emu_gpa_host(struct emu_vm *vm, uint64_t gpa, uint64_t len, unsigned *ret_prot)
{
	for (unsigned i = 0; i < EMU_MAX_MAPPINGS; i++) {
		const struct emu_map *m = &vm->maps[i];

		if (m->used && gpa >= m->gpa && gpa - m->gpa < m->size && len <= m->size - (gpa - m->gpa)) {
			if (ret_prot)
				*ret_prot = m->prot;
			return m->host + (gpa - m->gpa);
		}
	}
	return NULL;
}

void *emu_vm_gpa_to_host(struct emu_vm *vm, uint64_t gpa, uint64_t len, unsigned *ret_prot)
{
	void *p;

	pthread_rwlock_rdlock(&vm->lock);
	p = emu_gpa_host(vm, gpa, len, ret_prot);
	pthread_rwlock_unlock(&vm->lock);
	return p;
}

static int read_pte(struct emu_vm *vm, uint64_t gpa, unsigned size, uint64_t *ret)
{
	const uint8_t *p = emu_gpa_host(vm, gpa, size, NULL);

	if (!p)
		return -EFAULT;
	*ret = 0;
	memcpy(ret, p, size);
	return 0;
}

#define PTE_P	(1ull << 0)
#define PTE_W	(1ull << 1)
#define PTE_U	(1ull << 2)
#define PTE_PS	(1ull << 7)
#define PTE_NX	(1ull << 63)

/*
 * The architectural walk: no paging (identity), 32-bit two-level (4 MiB pages with PSE), PAE
 * three-level and 4-level long mode.  Write protection applies to supervisor accesses only
 * with CR0.WP; NX only with EFER.NXE.  State must be loaded.
 */
int emu_translate_st(struct emu_vcpu *v, uint64_t gva, unsigned access, bool user,
		     uint64_t *ret_gpa)
{
	uint64_t cr0 = *emu_st_cr(v, 0), cr3 = *emu_st_cr(v, 3), cr4 = *emu_st_cr(v, 4);
	uint64_t efer = *emu_st_efer(v);
	bool w = true, u = true, x = true;
	uint64_t entry, table, gpa;
	int levels, shift, r;
	unsigned size;

	if (!(cr0 & (1ull << 31))) {
		*ret_gpa = (cr0 & 1) || gva >> 32 == 0 ? gva & 0xffffffffull : gva;
		return 0;
	}
	if (efer & (1u << 10)) {
		levels = 4;
		size = 8;
		table = cr3 & 0x000ffffffffff000ull;
	} else if (cr4 & (1u << 5)) {
		levels = 3;
		size = 8;
		table = cr3 & 0xffffffe0ull;
		gva &= 0xffffffffull;
	} else {
		levels = 2;
		size = 4;
		table = cr3 & 0xfffff000ull;
		gva &= 0xffffffffull;
	}
	for (int level = levels; level >= 1; level--) {
		unsigned bits = size == 8 ? 9 : 10;
		uint64_t index;

		if (levels == 3 && level == 3) {
			shift = 30;
			index = (gva >> 30) & 3;
		} else {
			shift = 12 + bits * (level - 1);
			index = (gva >> shift) & ((1u << bits) - 1);
		}
		r = read_pte(v->vm, table + index * size, size, &entry);
		if (r < 0 || !(entry & PTE_P))
			return -EFAULT;
		if (!(levels == 3 && level == 3)) {	/* PDPTEs carry no permissions */
			w = w && (entry & PTE_W);
			u = u && (entry & PTE_U);
		}
		if (size == 8 && (efer & (1u << 11)) && (entry & PTE_NX))
			x = false;
		if (level == 1 || ((entry & PTE_PS) && level <= 3 && (level == 2 || size == 8))) {
			uint64_t mask = (1ull << shift) - 1;
			uint64_t frame;

			if (size == 4 && level == 2)	/* 4 MiB page (bits 13-20: PA 32-39) */
				frame = (entry & 0xffc00000ull) | ((entry & 0x1fe000ull) << 19);
			else
				frame = entry & 0x000fffffffffffffull & ~mask & ~0xfffull;
			if (size == 4 && level == 2 && !(cr4 & (1u << 4)))
				goto next;	/* PS without PSE: a table after all */
			gpa = (frame & ~mask) | (gva & mask);
			*ret_gpa = gpa;
			if ((access & EMU_PROT_WRITE) && !w && (user || (cr0 & (1ull << 16))))
				return -EACCES;
			if (user && !u)
				return -EACCES;
			if ((access & EMU_PROT_EXEC) && !x)
				return -EACCES;
			return 0;
		}
next:
		table = size == 8 ? entry & 0x000ffffffffff000ull : entry & 0xfffff000ull;
	}
	return -EFAULT;
}

int emu_vcpu_translate(struct emu_vcpu *v, uint64_t gva, unsigned access, bool user,
		       uint64_t *ret_gpa)
{
	int r = emu_state_load(v);

	if (r < 0)
		return r;
	pthread_rwlock_rdlock(&v->vm->lock);
	r = emu_translate_st(v, gva, access, user, ret_gpa);
	pthread_rwlock_unlock(&v->vm->lock);
	return r;
}

/* Copy n bytes at linear address la, page by page.  Caller holds vm->lock or exec. */
static int copy_linear(struct emu_vcpu *v, uint64_t la, void *buf, size_t n, bool write)
{
	uint8_t *b = buf;

	while (n) {
		size_t chunk = EMU_PAGE_SIZE - (la & (EMU_PAGE_SIZE - 1));
		uint64_t gpa;
		unsigned prot;
		uint8_t *p;
		int r;

		if (chunk > n)
			chunk = n;
		r = emu_translate_st(v, la, write ? EMU_PROT_WRITE : EMU_PROT_READ, false, &gpa);
		if (r < 0)
			return -EFAULT;
		p = emu_gpa_host(v->vm, gpa, chunk, &prot);
		if (!p || (write && !(prot & EMU_PROT_WRITE)))
			return -EFAULT;
		if (write) {
			memcpy(p, b, chunk);
			/* The engine writing for the guest (string input, interrupt frames) is
			 * a guest write for dirty tracking too. */
			emu_mark_dirty(v->vm, gpa, chunk);
		} else
			memcpy(b, p, chunk);
		la += chunk;
		b += chunk;
		n -= chunk;
	}
	return 0;
}

int emu_read_linear(struct emu_vcpu *v, uint64_t la, void *buf, size_t n)
{
	return copy_linear(v, la, buf, n, false);
}

int emu_write_linear(struct emu_vcpu *v, uint64_t la, const void *buf, size_t n)
{
	return copy_linear(v, la, (void *)buf, n, true);
}
