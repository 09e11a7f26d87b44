/* SPDX-License-Identifier: MIT */
/*
 * Host-side EPC oversubscription (beyond mainline, which never reclaims a
 * vEPC page): with KVM_SGX_EPC_RECLAIM on the VM a vEPC backs, a fault that
 * finds the EPC full, or the VM at its limit, evicts another page of the
 * same vEPC instead of raising SIGBUS, and a later touch of the evicted
 * page loads it back.
 *
 * Eviction takes every mapping of the victim away first (the VMM's PTE
 * and, through the MMU notifier, the guest's EPT leaf, flushing every vCPU:
 * what EBLOCK, ETRACK and their IPIs achieve on hardware), then runs the
 * host EWB into kernel memory and a VA slot (hw_sgx_host_ewb). A page
 * without contents (EPCM invalid) is simply freed. SECS and VA pages, and
 * pages of an enclave a processor is inside, stay. The VA pages are the
 * vEPC's own: one more is made whenever the vEPC could hold more pages
 * than it has slots for, so an eviction always finds a slot.
 *
 * Only a vEPC mapped by the faulting process alone is reclaimed: its
 * mmap_lock (held for read by the fault) keeps every mapping stable while
 * they are zapped. All of it runs with v->lock held.
 */
#include <string.h>

#include "kernel/mm_internal.h"
#include "kernel/sgx_vepc_internal.h"
#include "lib/alloc.h"
#include "lib/lockdep.h"

#define SGX_VEPC_RECLAIM_TRIES 8

/* Zaps the mappings of page @idx in every VMA of @v (all of @mm's). */
static void sgx_vepc_unmap(struct sgx_vepc *v, uint64_t idx)
{
	struct vma *vma;

	lib_list_for_each_entry(vma, &v->vmas, mapping_link) {
		uint64_t pages = (vma_end(vma) - vma_start(vma)) >> HW_PAGE_SHIFT;
		uint64_t addr;

		if (idx < vma->pgoff || idx - vma->pgoff >= pages)
			continue;
		addr = vma_start(vma) + ((idx - vma->pgoff) << HW_PAGE_SHIFT);
		mm_zap_range(vma->mm, addr, addr + HW_PAGE_SIZE, false);
	}
}

static bool sgx_child_type(uint8_t type)
{
	return type == SGX_PAGE_TYPE_REG || type == SGX_PAGE_TYPE_TCS || type == SGX_PAGE_TYPE_TRIM;
}

/* A page that went: uncharged, counted. */
static void sgx_vepc_gone(struct sgx_vepc *v)
{
	sgx_epc_uncharge(v->charge, 1);
	__atomic_fetch_sub(&v->k->sgx->nr_vepc_pages, 1, __ATOMIC_RELAXED);
}

/* EWB of the (unmapped, unreferenced) child page @pa at @idx. 0 or -EBUSY. */
static int sgx_vepc_ewb(struct sgx_vepc *v, uint64_t idx, uint64_t pa)
{
	struct hw_epc *epc = v->k->hw->epc;
	struct sgx_evicted *ev;
	uint64_t slot;

	if (!v->nr_free_slots)
		return -EBUSY;
	ev = lib_malloc_aligned(_Alignof(struct sgx_evicted), sizeof(*ev));   /* the PCMD's 128 */
	if (!ev)
		return -EBUSY;
	slot = v->free_slots[--v->nr_free_slots];
	if (hw_sgx_host_ewb(epc, pa, slot, &ev->blob) || hw_epc_free_page(epc, pa)) {
		v->free_slots[v->nr_free_slots++] = slot;
		lib_free(ev);
		return -EBUSY;
	}
	ev->slot_pa = slot;
	if (lib_is_err(lib_radix_store(&v->pages, idx, ev))) {
		/* cannot happen: the entry exists, so no node is needed */
		return -EBUSY;
	}
	v->nr_evicted++;
	__atomic_fetch_add(&v->k->sgx->nr_evictions, 1, __ATOMIC_RELAXED);
	return 0;
}

/* Evicts page @idx at @pa if it may go: 0, or -EBUSY to try another. */
static int sgx_vepc_evict(struct sgx_vepc *v, uint64_t idx, uint64_t pa)
{
	struct hw_epc *epc = v->k->hw->epc;
	struct hw_epcm_entry e;

	if (hw_epcm_get(epc, pa, &e) || (e.valid && !sgx_child_type(e.type)))
		return -EBUSY;
	sgx_vepc_unmap(v, idx);
	/* a mapping still holds it (KVM between its GUP and its EPT update): not now */
	if (hw_folio_refcount(v->k->hw, pa >> HW_PAGE_SHIFT) != 1 || hw_epcm_get(epc, pa, &e))
		return -EBUSY;
	if (!e.valid) {
		if (hw_sgx_eremove(epc, pa) || hw_epc_free_page(epc, pa))
			return -EBUSY;
		lib_radix_erase(&v->pages, idx);
	} else if (!sgx_child_type(e.type) || sgx_vepc_ewb(v, idx, pa)) {
		return -EBUSY;
	}
	sgx_vepc_gone(v);
	return 0;
}

int sgx_vepc_reclaim_one(struct sgx_vepc *v, struct mm *mm, uint64_t except)
{
	struct vma *vma;

	lockdep_assert_held(&v->lock);
	mm_assert_locked(mm);
	lib_list_for_each_entry(vma, &v->vmas, mapping_link)
		if (vma->mm != mm)
			return -ENOMEM;   /* another process maps it: its mappings are not ours to zap */
	for (int pass = 0; pass < 2; pass++) {
		uint64_t idx = pass ? 0 : v->hand;
		uint64_t last = pass ? v->hand : UINT64_MAX;
		void *item;

		for (item = lib_radix_find(&v->pages, &idx, last); item;
		     item = lib_radix_find_after(&v->pages, &idx, last)) {
			if (!lib_radix_is_value(item) || idx == except)
				continue;
			if (!sgx_vepc_evict(v, idx, lib_radix_value(item) << HW_PAGE_SHIFT)) {
				v->hand = idx + 1;
				return 0;
			}
		}
		if (!v->hand)
			break;
	}
	return -ENOMEM;
}

/* One more VA page: from the EPC, evicting for it if need be. */
static int sgx_vepc_va_grow(struct sgx_vepc *v, struct mm *mm, uint64_t except)
{
	struct hw_epc *epc = v->k->hw->epc;
	uint64_t *pas, *slots, pa;
	int ret = -ENOMEM;

	pas = lib_realloc(v->va_pa, (v->nr_va + 1) * sizeof(*pas));
	if (!pas)
		return -ENOMEM;
	v->va_pa = pas;
	slots = lib_realloc(v->free_slots, (v->nr_va + 1) * SGX_VA_SLOTS * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	v->free_slots = slots;
	for (int i = 0; i < SGX_VEPC_RECLAIM_TRIES && ret; i++) {
		ret = hw_epc_alloc_page(epc, &pa);
		if (ret && sgx_vepc_reclaim_one(v, mm, except))
			break;
	}
	if (ret)
		return ret;
	if (hw_sgx_host_epa(epc, pa)) {
		ret = hw_epc_free_page(epc, pa);   /* cannot happen: the page is fresh */
		return ret ? ret : -EIO;
	}
	v->va_pa[v->nr_va++] = pa;
	for (uint64_t s = 0; s < SGX_VA_SLOTS; s++)
		v->free_slots[v->nr_free_slots++] = pa + 8 * (SGX_VA_SLOTS - 1 - s);
	return 0;
}

void sgx_vepc_va_reserve(struct sgx_vepc *v, struct mm *mm, uint64_t except)
{
	/* every page held may be evicted one day: a slot each, and one for the page to come */
	if (v->pages.count + 1 > (uint64_t)v->nr_va * SGX_VA_SLOTS)
		(void)sgx_vepc_va_grow(v, mm, except);
}

int sgx_vepc_reload(struct sgx_vepc *v, struct sgx_evicted *ev, uint64_t pa)
{
	if (hw_sgx_host_eldu(v->k->hw->epc, pa, ev->slot_pa, &ev->blob))
		return -EIO;
	v->free_slots[v->nr_free_slots++] = ev->slot_pa;
	v->nr_evicted--;
	lib_free(ev);
	__atomic_fetch_add(&v->k->sgx->nr_reloads, 1, __ATOMIC_RELAXED);
	return 0;
}

void sgx_vepc_drop_evicted(struct sgx_vepc *v, struct sgx_evicted *ev)
{
	(void)hw_sgx_host_drop(v->k->hw->epc, ev->slot_pa, &ev->blob);
	v->free_slots[v->nr_free_slots++] = ev->slot_pa;
	v->nr_evicted--;
	lib_free(ev);
}

void sgx_vepc_va_release(struct sgx_vepc *v)
{
	struct hw_epc *epc = v->k->hw->epc;

	for (uint32_t i = 0; i < v->nr_va; i++) {
		/* every slot is free by now: EREMOVE cannot fail on a VA page */
		if (!hw_sgx_eremove(epc, v->va_pa[i]) && hw_epc_free_page(epc, v->va_pa[i]))
			continue;   /* cannot happen: the page is the vEPC's and invalid now */
	}
	lib_free(v->va_pa);
	lib_free(v->free_slots);
	v->va_pa = NULL;
	v->free_slots = NULL;
	v->nr_va = 0;
	v->nr_free_slots = 0;
}
