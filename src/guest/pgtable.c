/* SPDX-License-Identifier: MIT */
/*
 * The guest kernel's 4-level page tables, bytes in guest memory that the
 * guest's MMU walks. gk_set_pte() is the one place a counted leaf entry
 * changes: it tells Heki the old and the new entry (heki_map/heki_update/
 * heki_unmap of the RFC in one). guest_kernel_poke_pte() is the uncounted
 * write a buggy or compromised kernel does.
 */
#include <errno.h>
#include <string.h>

#include "guest/guest.h"

#define GK_LEVELS 4
#define GK_VA_MASK ((1ull << 48) - 1)

static unsigned gk_level_shift(int level)
{
	return 39u - 9u * (unsigned)level;       /* PML4 39, PDPT 30, PD 21, PT 12 */
}

static uint64_t gk_canonical(uint64_t va48)
{
	return va48 & (1ull << 47) ? va48 | ~GK_VA_MASK : va48;
}

/* Intermediate entries allow everything; the leaf decides (user half: U/S too). */
static uint64_t gk_table_entry(uint64_t va, uint64_t table_pa)
{
	return table_pa | GK_PTE_P | GK_PTE_RW | (va < (1ull << 47) ? GK_PTE_US : 0);
}

/* The GPA of the entry for @va at @depth (3: the leaf PTE), tables made on the way if @alloc. */
static long gk_table_slot(struct guest_kernel *k, uint64_t va, int depth, bool alloc,
			  uint64_t *slot_pa)
{
	uint64_t table = k->pml4_pa;

	for (int level = 0; level < depth; level++) {
		uint64_t slot = table + ((va >> gk_level_shift(level)) & 511) * 8, e = 0;
		long r = gk_phys_read(k, slot, &e, sizeof(e));

		if (r)
			return r;
		if (!(e & GK_PTE_P)) {
			uint64_t pa;

			if (!alloc)
				return -ENOENT;
			r = gk_alloc_pages(k, 1, &pa);
			if (r)
				return r;
			e = gk_table_entry(va, pa);
			r = gk_phys_write(k, slot, &e, sizeof(e));
			if (r)
				return r;
		}
		table = e & GK_PTE_ADDR;
	}
	*slot_pa = table + ((va >> gk_level_shift(depth)) & 511) * 8;
	return 0;
}

long gk_pte_slot(struct guest_kernel *k, uint64_t va, bool alloc, uint64_t *slot_pa)
{
	return gk_table_slot(k, va, GK_LEVELS - 1, alloc, slot_pa);
}

uint64_t gk_pte_perm(uint64_t pte)
{
	if (!(pte & GK_PTE_P))
		return 0;
	return MEM_ATTR_READ | (pte & GK_PTE_RW ? MEM_ATTR_WRITE : 0) |
	       (pte & GK_PTE_NX ? 0 : MEM_ATTR_EXEC);
}

uint64_t gk_pte_flags(unsigned prot)
{
	if (!prot)
		return 0;
	return GK_PTE_P | (prot & GK_PROT_WRITE ? GK_PTE_RW : 0) |
	       (prot & GK_PROT_EXEC ? 0 : GK_PTE_NX);
}

long gk_set_pte(struct guest_kernel *k, uint64_t va, uint64_t pte)
{
	uint64_t slot, old = 0;
	long r = gk_pte_slot(k, va, pte & GK_PTE_P, &slot);

	if (r == -ENOENT)
		return 0;       /* clearing an entry no table reaches */
	r = r ? r : gk_phys_read(k, slot, &old, sizeof(old));
	r = r ? r : gk_phys_write(k, slot, &pte, sizeof(pte));
	if (r)
		return r;
	gk_heki_pte_changed(k, va, old, pte);
	return 0;
}

long gk_map_page(struct guest_kernel *k, uint64_t va, uint64_t pa, uint64_t flags)
{
	return gk_set_pte(k, va, (pa & GK_PTE_ADDR) | flags | GK_PTE_P);
}

long gk_unmap_page(struct guest_kernel *k, uint64_t va)
{
	return gk_set_pte(k, va, 0);
}

/* Every CR3 write flushes the guest's TLB (no PCID, no global pages). */
long gk_flush_tlb(struct guest_kernel *k)
{
	return k->paging ? mv_guest_write_cr(k->g, 3, k->pml4_pa) : 0;
}

/*
 * The direct map of all RAM, RW NX, 4 KiB pages, built a page table at a
 * time (512 entries in one write) rather than an entry at a time.
 */
long gk_map_direct(struct guest_kernel *k)
{
	uint64_t *pt = malloc(GK_PAGE_SIZE);
	long r = 0;

	if (!pt)
		return -ENOMEM;
	for (uint64_t first = 0; first < k->npages && !r; first += 512) {
		uint64_t slot = 0, pt_pa = 0, n = k->npages - first < 512 ? k->npages - first : 512;
		uint64_t va = GK_PAGE_OFFSET + first * GK_PAGE_SIZE, e;

		memset(pt, 0, GK_PAGE_SIZE);
		for (uint64_t i = 0; i < n; i++) {
			pt[i] = (first + i) * GK_PAGE_SIZE | GK_PTE_P | GK_PTE_RW | GK_PTE_NX;
			gk_heki_pte_changed(k, va + i * GK_PAGE_SIZE, 0, pt[i]);
		}
		r = gk_table_slot(k, va, GK_LEVELS - 2, true, &slot);
		r = r ? r : gk_alloc_pages(k, 1, &pt_pa);
		r = r ? r : gk_phys_write(k, pt_pa, pt, GK_PAGE_SIZE);
		e = gk_table_entry(va, pt_pa);
		r = r ? r : gk_phys_write(k, slot, &e, sizeof(e));
	}
	free(pt);
	return r;
}

struct gk_walk {
	struct guest_kernel *k;
	uint64_t start, end;     /* 48-bit, end exclusive */
	gk_leaf_fn fn;
	void *arg;
	uint64_t *bufs;          /* one table per level */
};

static long gk_walk_table(struct gk_walk *w, uint64_t table_pa, int level, uint64_t base)
{
	unsigned shift = gk_level_shift(level);
	uint64_t *t = w->bufs + 512 * level;
	uint64_t lo = w->start > base ? (w->start - base) >> shift : 0;
	uint64_t hi = (w->end - 1 - base) >> shift;
	long r = gk_phys_read(w->k, table_pa, t, GK_PAGE_SIZE);

	if (r)
		return r;
	for (uint64_t i = lo; i <= hi && i < 512; i++) {
		uint64_t va = base + (i << shift), e = t[i];

		if (!(e & GK_PTE_P))
			continue;
		if (level == GK_LEVELS - 1)
			r = w->fn(w->k, gk_canonical(va), e, w->arg);
		else
			r = gk_walk_table(w, e & GK_PTE_ADDR, level + 1, va);
		if (r)
			return r;
	}
	return 0;
}

/* Calls @fn for every present leaf entry mapping [start, end) (canonical addresses). */
long gk_walk_leaves(struct guest_kernel *k, uint64_t start, uint64_t end, gk_leaf_fn fn,
		    void *arg)
{
	struct gk_walk w = { .k = k, .start = start & GK_VA_MASK, .fn = fn, .arg = arg };
	long r;

	w.end = ((end - 1) & GK_VA_MASK) + 1;
	if (end <= start || w.end <= w.start)
		return -EINVAL;
	w.bufs = malloc(GK_LEVELS * GK_PAGE_SIZE);
	if (!w.bufs)
		return -ENOMEM;
	r = gk_walk_table(&w, k->pml4_pa, 0, 0);
	free(w.bufs);
	return r;
}

MV_API long guest_kernel_get_pte(struct guest_kernel *k, uint64_t va, uint64_t *pte)
{
	uint64_t slot;
	long r;

	if (!k || !pte)
		return -EINVAL;
	r = gk_pte_slot(k, va, false, &slot);
	return r ? r : gk_phys_read(k, slot, pte, sizeof(*pte));
}

MV_API long guest_kernel_poke_pte(struct guest_kernel *k, uint64_t va, uint64_t pte)
{
	uint64_t slot;
	long r;

	if (!k)
		return -EINVAL;
	r = gk_pte_slot(k, va, false, &slot);
	r = r ? r : gk_phys_write(k, slot, &pte, sizeof(pte));
	return r ? r : gk_flush_tlb(k);
}
