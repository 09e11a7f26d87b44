/* SPDX-License-Identifier: MIT */
/*
 * Mappings the guest kernel makes after boot: vmap()/vmalloc() areas (and
 * the module area, same code, another range), and set_memory_ro/rw/x/nx
 * (arch/x86/mm/pat/set_memory.c's change_page_attr_set_clr). Each call
 * ends as Linux's do: one TLB flush, and with Heki one push of the pages
 * whose permission changed.
 */
#include <errno.h>

#include "guest/guest.h"

/* The end of every mapping call: flush, then the Heki batch in one hypercall. */
static long gk_finish(struct guest_kernel *k, long r)
{
	long f = gk_flush_tlb(k);
	long h = gk_heki_apply(k);

	return r ? r : f ? f : h;
}

/*
 * change_page_attr_set_clr() on 4 KiB entries. As Linux: an unaligned
 * address is rounded down (Linux warns once), zero pages is nothing to
 * do, and a page no entry maps is -EFAULT (__cpa_process_fault's "CPA:
 * called for zero pte"); the pages before it keep their change.
 */
long gk_change_page_attr(struct guest_kernel *k, uint64_t va, uint64_t npages, uint64_t set,
			 uint64_t clear)
{
	long r = 0;

	if (!k)
		return -EINVAL;
	va &= ~(GK_PAGE_SIZE - 1);
	for (uint64_t i = 0; i < npages && !r; i++) {
		uint64_t pte = 0;

		r = guest_kernel_get_pte(k, va + i * GK_PAGE_SIZE, &pte);
		if (r == -ENOENT || (!r && !(pte & GK_PTE_P)))
			r = -EFAULT;
		if (!r)
			r = gk_set_pte(k, va + i * GK_PAGE_SIZE, (pte | set) & ~clear);
	}
	return gk_finish(k, r);
}

MV_API long guest_set_memory_ro(struct guest_kernel *k, uint64_t va, uint64_t npages)
{
	return gk_change_page_attr(k, va, npages, 0, GK_PTE_RW);
}

MV_API long guest_set_memory_rw(struct guest_kernel *k, uint64_t va, uint64_t npages)
{
	return gk_change_page_attr(k, va, npages, GK_PTE_RW, 0);
}

MV_API long guest_set_memory_x(struct guest_kernel *k, uint64_t va, uint64_t npages)
{
	return gk_change_page_attr(k, va, npages, 0, GK_PTE_NX);
}

MV_API long guest_set_memory_nx(struct guest_kernel *k, uint64_t va, uint64_t npages)
{
	return gk_change_page_attr(k, va, npages, GK_PTE_NX, 0);
}

/* ---- areas ---- */

/* Maps @pas[0..@n) from *@next (a guard page after it), as __vmap_pages_range does. */
long gk_area_add(struct guest_kernel *k, uint64_t *next, uint64_t end, const uint64_t *pas,
		 uint64_t n, uint64_t flags, bool owns, struct gk_area **out)
{
	struct gk_area *a;
	long r = 0;

	if (!n || n > (end - *next) / GK_PAGE_SIZE - 1)
		return -ENOMEM;
	a = gk_zalloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->pas = gk_calloc(n, sizeof(*a->pas));
	if (!a->pas) {
		free(a);
		return -ENOMEM;
	}
	a->va = *next;
	a->n = n;
	a->owns_pages = owns;
	for (uint64_t i = 0; i < n; i++)
		a->pas[i] = pas[i];
	*next += (n + 1) * GK_PAGE_SIZE;
	a->next = k->areas;
	k->areas = a;
	for (uint64_t i = 0; i < n && !r; i++)
		r = gk_map_page(k, a->va + i * GK_PAGE_SIZE, pas[i], flags);
	if (out)
		*out = a;
	return gk_finish(k, r);
}

struct gk_area *gk_area_find(struct guest_kernel *k, uint64_t va)
{
	for (struct gk_area *a = k->areas; a; a = a->next) {
		if (a->va == va)
			return a;
	}
	return NULL;
}

/* Unmaps the area (vunmap), frees its pages if it owns them (vfree), and forgets it. */
long gk_area_remove(struct guest_kernel *k, struct gk_area *a)
{
	struct gk_area **pp = &k->areas;
	long r = 0;

	for (uint64_t i = 0; i < a->n && !r; i++)
		r = gk_unmap_page(k, a->va + i * GK_PAGE_SIZE);
	r = gk_finish(k, r);
	if (a->owns_pages) {
		for (uint64_t i = 0; i < a->n; i++)
			gk_free_pages(k, a->pas[i], 1);
	}
	while (*pp != a)
		pp = &(*pp)->next;
	*pp = a->next;
	free(a->pas);
	free(a);
	return r;
}

MV_API long guest_vmalloc(struct guest_kernel *k, uint64_t npages, uint64_t *va)
{
	uint64_t *pas;
	struct gk_area *a = NULL;
	long r = 0;

	if (!k || !va || !npages || npages > k->npages)
		return -EINVAL;
	pas = gk_calloc(npages, sizeof(*pas));
	if (!pas)
		return -ENOMEM;
	for (uint64_t i = 0; i < npages && !r; i++)
		r = gk_alloc_pages(k, 1, &pas[i]);
	if (!r)
		r = gk_area_add(k, &k->vmalloc_next, GK_VMALLOC_END, pas, npages,
				GK_PTE_P | GK_PTE_RW | GK_PTE_NX, true, &a);
	if (r && !a) {
		for (uint64_t i = 0; i < npages; i++) {
			if (pas[i])
				gk_free_pages(k, pas[i], 1);
		}
	}
	free(pas);
	if (a)
		*va = a->va;
	return r;
}

MV_API long guest_vfree(struct guest_kernel *k, uint64_t va)
{
	struct gk_area *a = k ? gk_area_find(k, va) : NULL;

	if (!a || !a->owns_pages)
		return -EINVAL;
	return gk_area_remove(k, a);
}

MV_API long guest_vmap(struct guest_kernel *k, const uint64_t *pas, uint64_t n, unsigned prot,
		       uint64_t *va)
{
	struct gk_area *a = NULL;
	long r;

	if (!k || !pas || !va || !n || !(prot & GK_PROT_READ) ||
	    (prot & ~(GK_PROT_READ | GK_PROT_WRITE | GK_PROT_EXEC)))
		return -EINVAL;
	for (uint64_t i = 0; i < n; i++) {
		if (pas[i] % GK_PAGE_SIZE || !gk_pa_valid(k, pas[i]))
			return -EINVAL;
	}
	r = gk_area_add(k, &k->vmalloc_next, GK_VMALLOC_END, pas, n, gk_pte_flags(prot), false,
			&a);
	if (a)
		*va = a->va;
	return r;
}

MV_API long guest_vunmap(struct guest_kernel *k, uint64_t va)
{
	struct gk_area *a = k ? gk_area_find(k, va) : NULL;

	if (!a || a->owns_pages)
		return -EINVAL;
	return gk_area_remove(k, a);
}
