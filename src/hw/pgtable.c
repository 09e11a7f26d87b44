/* SPDX-License-Identifier: MIT */
/*
 * Page-table entry encoding and the software side of table management:
 * allocating tables, finding or creating the entry for an address, walking
 * leaves in a range, freeing a whole tree. The hardware walker is in mmu.c.
 */
#include <string.h>

#include "hw/pgtable.h"

struct x86_pte_view x86_pte_decode(uint64_t pte)
{
	struct x86_pte_view v = {
		.pa = pte & X86_PTE_ADDR,
		.present = pte & X86_PTE_P,
		.writable = pte & X86_PTE_RW,
		.user = pte & X86_PTE_US,
		.accessed = pte & X86_PTE_A,
		.dirty = pte & X86_PTE_D,
		.large = pte & X86_PTE_PS,
		.nx = pte & X86_PTE_NX,
	};

	v.shstk = v.present && !v.writable && v.dirty;
	return v;
}

uint64_t x86_pte_encode(uint64_t pa, unsigned int perms)
{
	uint64_t pte = (pa & X86_PTE_ADDR) | X86_PTE_P;

	if (perms & HW_S1_SHSTK)
		pte |= X86_PTE_D;
	else if (perms & HW_S1_WRITE)
		pte |= X86_PTE_RW;
	if (perms & HW_S1_USER)
		pte |= X86_PTE_US;
	if (!(perms & HW_S1_EXEC))
		pte |= X86_PTE_NX;
	if (perms & HW_S1_DIRTY)
		pte |= X86_PTE_D;
	if (perms & HW_S1_ACCESSED)
		pte |= X86_PTE_A;
	return pte;
}

struct ept_view ept_decode(uint64_t epte)
{
	struct ept_view v = {
		.pa = epte & EPT_ADDR,
		.r = epte & EPT_R,
		.w = epte & EPT_W,
		.x = epte & EPT_X,
		.ux = epte & EPT_UX,
		.large = epte & EPT_PS,
		.accessed = epte & EPT_A,
		.dirty = epte & EPT_D,
	};
	return v;
}

uint64_t ept_encode(uint64_t pa, bool r, bool w, bool x, bool ux)
{
	uint64_t e = (pa & EPT_ADDR) | EPT_MT_WB;

	if (r)
		e |= EPT_R;
	if (w)
		e |= EPT_W;
	if (x)
		e |= EPT_X;
	if (ux)
		e |= EPT_UX;
	return e;
}

int hw_pt_alloc_table(struct hw_machine *m, uint64_t *table_pa)
{
	hw_pfn_t pfn;
	int ret;

	ret = hw_frames_alloc(m, 0, HW_ALLOC_ZERO, HW_FRAME_PGTABLE | HW_FRAME_UNMOVABLE, &pfn);
	if (ret)
		return ret;
	__atomic_fetch_add(&m->nr_pgtables, 1, __ATOMIC_RELAXED);
	*table_pa = pfn << HW_PAGE_SHIFT;
	return 0;
}

void hw_pt_free_table(struct hw_machine *m, uint64_t table_pa)
{
	if (table_pa + HW_PAGE_SIZE > m->phys.bytes)
		return;
	__atomic_fetch_sub(&m->nr_pgtables, 1, __ATOMIC_RELAXED);
	hw_folio_put(m, table_pa >> HW_PAGE_SHIFT);
}

static inline bool hw_pt_present(uint64_t e, bool ept)
{
	return ept ? (e & (EPT_R | EPT_W | EPT_X | EPT_UX)) : (e & X86_PTE_P);
}

static inline bool hw_pt_is_leaf(uint64_t e, int level, bool ept)
{
	return level == 1 || ((level == 2 || level == 3) && (e & (ept ? EPT_PS : X86_PTE_PS)));
}

static inline uint64_t hw_pt_next(uint64_t e, bool ept)
{
	return e & (ept ? EPT_ADDR : X86_PTE_ADDR);
}

/* A table pointer outside RAM is never dereferenced. */
static uint64_t *hw_pt_table(struct hw_machine *m, uint64_t table_pa)
{
	if (table_pa + HW_PAGE_SIZE > m->phys.bytes)
		return NULL;
	return hw_pa_to_host(m, table_pa & HW_PAGE_MASK);
}

uint64_t *hw_pt_entry(struct hw_machine *m, uint64_t root, uint64_t va, int level, bool alloc,
		      bool ept)
{
	uint64_t *table = hw_pt_table(m, root);

	if (level < 1 || level > 3)
		return lib_err_ptr(-EINVAL);
	if (!table)
		return lib_err_ptr(-EFAULT);
	for (int l = HW_PT_LEVELS; l > level; l--) {
		uint64_t *ep = &table[hw_pt_index(va, l)];
		uint64_t e = ptep_get(ep);

		if (!hw_pt_present(e, ept)) {
			uint64_t pa;

			if (!alloc)
				return NULL;
			if (hw_pt_alloc_table(m, &pa))
				return lib_err_ptr(-ENOMEM);
			e = pa | (ept ? (EPT_R | EPT_W | EPT_X | EPT_UX)
				      : (X86_PTE_P | X86_PTE_RW | X86_PTE_US));
			set_pte(ep, e);
		} else if (hw_pt_is_leaf(e, l, ept)) {
			return lib_err_ptr(-EEXIST);
		}
		table = hw_pt_table(m, hw_pt_next(e, ept));
		if (!table)
			return lib_err_ptr(-EFAULT);
	}
	return &table[hw_pt_index(va, level)];
}

/* Sign-extends bit 47 for stage 1, so callbacks see canonical addresses. */
static inline uint64_t hw_pt_va(uint64_t va, bool ept)
{
	if (ept || !(va & (1ull << 47)))
		return va;
	return va | 0xffff000000000000ull;
}

struct hw_pt_iter {
	struct hw_machine *m;
	bool ept;
	uint64_t first, last;       /* inclusive */
	hw_pt_leaf_fn fn;
	void *ctx;
	bool free_tables;
};

/*
 * The entries of a table at @level whose span, starting at @vbase for
 * entry 0, meets [first, last]: [*lo, *hi], empty when *lo > *hi. Below the
 * top level a table's addresses are contiguous from @vbase (the canonical
 * sign extension is decided by the top-level index), so the range is a
 * division; the top level is scanned whole.
 */
static void hw_pt_index_range(int level, uint64_t vbase, uint64_t first, uint64_t last,
			      unsigned int *lo, unsigned int *hi)
{
	uint64_t size = hw_pt_level_size(level);

	*lo = 0;
	*hi = HW_PT_ENTRIES - 1;
	if (level == HW_PT_LEVELS)
		return;
	if (last < vbase) {
		*lo = 1;
		*hi = 0;
		return;
	}
	if (first > vbase)
		*lo = (unsigned int)((first - vbase) / size < HW_PT_ENTRIES ? (first - vbase) / size
									 : HW_PT_ENTRIES);
	if ((last - vbase) / size < HW_PT_ENTRIES - 1)
		*hi = (unsigned int)((last - vbase) / size);
}

static void hw_pt_walk(struct hw_pt_iter *it, uint64_t table_pa, int level, uint64_t base)
{
	uint64_t *table = hw_pt_table(it->m, table_pa);
	uint64_t size = hw_pt_level_size(level);
	unsigned int lo, hi;

	if (!table)
		return;
	hw_pt_index_range(level, hw_pt_va(base, it->ept), it->first, it->last, &lo, &hi);
	for (unsigned int i = lo; i <= hi && i < HW_PT_ENTRIES; i++) {
		uint64_t va = hw_pt_va(base + i * size, it->ept);
		uint64_t e = ptep_get(&table[i]);

		if (va > it->last || va + (size - 1) < it->first)
			continue;
		if (!hw_pt_present(e, it->ept))
			continue;
		if (hw_pt_is_leaf(e, level, it->ept)) {
			if (it->fn)
				it->fn(it->ctx, va, &table[i], level);
			continue;
		}
		hw_pt_walk(it, hw_pt_next(e, it->ept), level - 1, base + i * size);
		if (it->free_tables) {
			uint64_t child = hw_pt_next(e, it->ept);

			pte_clear(&table[i]);
			hw_pt_free_table(it->m, child);
		}
	}
}

void hw_pt_free_tree(struct hw_machine *m, uint64_t root, bool ept, hw_pt_leaf_fn leaf, void *ctx)
{
	struct hw_pt_iter it = {
		.m = m, .ept = ept, .first = 0, .last = UINT64_MAX,
		.fn = leaf, .ctx = ctx, .free_tables = true,
	};

	if (!root)
		return;
	hw_pt_walk(&it, root, HW_PT_LEVELS, 0);
	hw_pt_free_table(m, root);
}

void hw_pt_for_each_leaf(struct hw_machine *m, uint64_t root, bool ept, uint64_t start,
			 uint64_t end, hw_pt_leaf_fn fn, void *ctx)
{
	struct hw_pt_iter it = {
		.m = m, .ept = ept, .first = start, .last = end - 1,
		.fn = fn, .ctx = ctx, .free_tables = false,
	};

	if (!root || end <= start)
		return;
	hw_pt_walk(&it, root, HW_PT_LEVELS, 0);
}

/* ---- free_pgd_range(): tables that no longer map anything ---- */

#define HW_PT_FREE_BATCH 64

struct hw_pt_reclaim {
	struct hw_machine *m;
	bool ept;
	uint64_t first, last;            /* the range that was unmapped, inclusive */
	uint64_t floor, ceiling;         /* what neighbours still use lies outside */
	hw_pt_flush_fn flush;
	void *ctx;
	uint64_t freed;
	unsigned int n;
	uint64_t batch[HW_PT_FREE_BATCH];   /* unlinked, waiting for the flush */
};

/* The walkers are out of the unlinked tables once @flush returns: free them. */
static void hw_pt_reclaim_flush(struct hw_pt_reclaim *r)
{
	if (!r->n)
		return;
	r->flush(r->ctx);
	for (unsigned int i = 0; i < r->n; i++)
		hw_pt_free_table(r->m, r->batch[i]);
	r->n = 0;
}

static bool hw_pt_table_empty(const uint64_t *table, bool ept)
{
	for (unsigned int i = 0; i < HW_PT_ENTRIES; i++)
		if (hw_pt_present(ptep_get(&table[i]), ept))
			return false;
	return true;
}

static void hw_pt_reclaim_walk(struct hw_pt_reclaim *r, uint64_t table_pa, int level, uint64_t base)
{
	uint64_t *table = hw_pt_table(r->m, table_pa);
	uint64_t size = hw_pt_level_size(level);
	unsigned int ilo, ihi;

	if (!table || level == 1)
		return;
	/* callers pass user addresses or GPAs: no sign extension below */
	hw_pt_index_range(level, base, r->first, r->last, &ilo, &ihi);
	for (unsigned int i = ilo; i <= ihi && i < HW_PT_ENTRIES; i++) {
		uint64_t lo = base + i * size, hi = lo + (size - 1);
		uint64_t e = ptep_get(&table[i]), child;
		uint64_t *ct;

		if (hi < r->first || lo > r->last || !hw_pt_present(e, r->ept) ||
		    hw_pt_is_leaf(e, level, r->ept))
			continue;
		child = hw_pt_next(e, r->ept);
		hw_pt_reclaim_walk(r, child, level - 1, lo);
		/* Only a table whose whole span is outside every neighbour goes. */
		if (lo < r->floor || hi > r->ceiling)
			continue;
		ct = hw_pt_table(r->m, child);
		if (!ct || !hw_pt_table_empty(ct, r->ept))
			continue;
		pte_clear(&table[i]);
		r->freed++;
		r->batch[r->n++] = child;
		if (r->n == HW_PT_FREE_BATCH)
			hw_pt_reclaim_flush(r);
	}
}

uint64_t hw_pt_free_range(struct hw_machine *m, uint64_t root, bool ept, uint64_t start,
			  uint64_t end, uint64_t floor, uint64_t ceiling, hw_pt_flush_fn flush,
			  void *ctx)
{
	struct hw_pt_reclaim r = {
		.m = m, .ept = ept, .first = start, .last = end - 1,
		.floor = floor, .ceiling = ceiling - 1, .flush = flush, .ctx = ctx,
	};

	if (!root || end <= start || ceiling <= floor)
		return 0;
	hw_pt_reclaim_walk(&r, root, HW_PT_LEVELS, 0);
	hw_pt_reclaim_flush(&r);
	return r.freed;
}
