// SPDX-License-Identifier: MIT
/*
 * User page faults: find the VMA, check the access as x86 Linux does
 * (SEGV_MAPERR without a VMA, SEGV_ACCERR without the permission), then
 * make the page present: demand-zero anonymous frames, page-cache pages
 * through vma->ops->fault, and copy-on-write (or reuse of an exclusive
 * anonymous page) on writes to write-protected private pages.
 *
 * The functions carry the names of their counterparts in Linux's
 * mm/memory.c (handle_mm_fault, handle_pte_fault, do_anonymous_page,
 * do_fault, finish_fault, do_wp_page, wp_page_copy) and
 * arch/x86/mm/fault.c (access_error).
 *
 * Everything here runs with mm->mmap_lock held for read, so VMAs are
 * stable; PTEs are written under mm->pt_lock, always through set_pte() or
 * a cmpxchg, because the hardware walker reads them without a lock.
 * Page-cache lookups take mapping->lock, which nests outside pt_lock, so
 * they run unlocked and the result is installed only if the PTE is still
 * empty.
 */
#include <string.h>

#include "hw/ram.h"
#include "kernel/mm_internal.h"

#define FAULT_WANTS_WRITE (FAULT_WRITE | FAULT_SHSTK)

/* x86's access_error(): true when the VMA does not allow this access. */
static bool access_error(const struct vma *vma, unsigned int ff)
{
	if (ff & FAULT_SHSTK)
		return !(vma->flags & VM_SHADOW_STACK) || !(vma->flags & VM_WRITE);
	if (ff & FAULT_WRITE)
		return (vma->flags & VM_SHADOW_STACK) || !(vma->flags & VM_WRITE);
	if (ff & FAULT_EXEC)
		return !(vma->flags & VM_EXEC);
	return !(vma->flags & VM_ACCESS_FLAGS);
}

/* A writable PTE for a written page, or read-only (FOLL_FORCE on !VM_WRITE). */
static uint64_t mk_written_pte(const struct vma *vma, hw_pfn_t pfn)
{
	return vma_mk_pte(vma, pfn, vma->flags & VM_WRITE, true);
}

/* do_anonymous_page(): a zeroed frame for an empty PTE. Called with pt_lock held. */
static int do_anonymous_page(struct mm *mm, const struct vma *vma, uint64_t *pte,
			     unsigned int ff)
{
	bool write = ff & FAULT_WANTS_WRITE;
	hw_pfn_t pfn;

	if (hw_frames_alloc(mm->k->hw, 0, HW_ALLOC_ZERO, HW_FRAME_ANON, &pfn))
		return VM_FAULT_OOM;
	if (write) {
		set_pte(pte, mk_written_pte(vma, pfn));
	} else {
		/* A shadow stack becomes one on its first shadow-stack access. */
		bool w = (vma->flags & VM_WRITE) && !(vma->flags & VM_SHADOW_STACK);

		set_pte(pte, vma_mk_pte(vma, pfn, w, false));
	}
	mm->rss_anon++;
	return 0;
}

/* __wp_page_copy_user(): a private copy of @src, or 0 without memory. */
static hw_pfn_t wp_page_copy_user(struct hw_machine *hw, hw_pfn_t src)
{
	hw_pfn_t pfn;

	if (hw_frames_alloc(hw, 0, 0, HW_FRAME_ANON, &pfn))
		return 0;
	hw_ram_copy_page(hw, pfn, src);
	return pfn;
}

/*
 * finish_fault(): installs @pfn (a held reference) at @addr unless another
 * fault got there first.
 */
static int finish_fault(struct mm *mm, uint64_t addr, hw_pfn_t pfn, uint64_t pte_val)
{
	struct hw_machine *hw = mm->k->hw;
	uint64_t *pte;

	pthread_mutex_lock(&mm->pt_lock);
	pte = hw_pt_entry(hw, mm->pgd, addr, 1, true, false);
	if (lib_is_err_or_null(pte)) {
		pthread_mutex_unlock(&mm->pt_lock);
		hw_folio_put(hw, pfn);
		return VM_FAULT_OOM;
	}
	if (pte_present(ptep_get(pte))) {
		pthread_mutex_unlock(&mm->pt_lock);
		hw_folio_put(hw, pfn);
		return 0;
	}
	set_pte(pte, pte_val);
	if (hw_frame_flags(hw, hw_folio_head(hw, pfn)) & HW_FRAME_ANON)
		mm->rss_anon++;
	else
		mm->rss_file++;
	pthread_mutex_unlock(&mm->pt_lock);
	return 0;
}

/*
 * do_fault(): a not-present page of a file VMA. Ask the file
 * (vma->ops->fault), then map it (do_read_fault, do_shared_fault) or map a
 * private copy (do_cow_fault).
 */
static int do_fault(struct mm *mm, struct vma *vma, uint64_t addr, unsigned int ff,
		    int *si_code)
{
	struct hw_machine *hw = mm->k->hw;
	uint64_t pgoff = vma->pgoff + ((addr - vma_start(vma)) >> HW_PAGE_SHIFT);
	bool write = ff & FAULT_WANTS_WRITE;
	hw_pfn_t pfn, copy;
	int ret;

	ret = vma->ops->fault(vma, pgoff, ff, &pfn);
	if (ret) {
		*si_code = ret == VM_FAULT_SIGBUS ? BUS_ADRERR : SEGV_MAPERR;
		return ret;
	}
	if (vma->flags & VM_SHARED)
		return finish_fault(mm, addr, pfn, vma_mk_pte(vma, pfn,
				    (vma->flags & VM_WRITE) && !(vma->flags & VM_SHADOW_STACK), write));
	if (!write)   /* private, read: map the page-cache page read-only */
		return finish_fault(mm, addr, pfn, vma_mk_pte(vma, pfn, false, false));
	copy = wp_page_copy_user(hw, pfn);
	hw_folio_put(hw, pfn);
	if (!copy)
		return VM_FAULT_OOM;
	return finish_fault(mm, addr, copy, mk_written_pte(vma, copy));
}

/* Rewrites a live PTE with @fn's answer, keeping A/D bits the walker sets meanwhile. */
static void pte_update(uint64_t *pte, const struct vma *vma,
		       uint64_t (*fn)(const struct vma *vma, uint64_t pte))
{
	uint64_t old = ptep_get(pte);

	while (!ptep_try_cmpxchg(pte, &old, fn(vma, old)))
		;
}

static uint64_t pte_clear_sw_cow(const struct vma *vma, uint64_t pte)
{
	(void)vma;
	return pte & ~X86_PTE_SW_COW;
}

/*
 * wp_page_copy(): a write to a present, write-protected private page that
 * is shared (fork, page cache) gets a copy. Notifiers run without pt_lock,
 * so the PTE is re-checked after the copy. Called with pt_lock held;
 * returns with it released.
 */
static int wp_page_copy(struct mm *mm, const struct vma *vma, uint64_t addr, uint64_t *pte)
{
	struct hw_machine *hw = mm->k->hw;
	uint64_t old = ptep_get(pte);
	hw_pfn_t src = pte_pfn(old), copy;
	int ret = 0;

	hw_folio_get(hw, src);   /* keep the source alive while unlocked */
	pthread_mutex_unlock(&mm->pt_lock);
	mm_notify_start(mm, addr, addr + K_PAGE_SIZE);
	copy = wp_page_copy_user(hw, src);
	pthread_mutex_lock(&mm->pt_lock);
	if (!copy) {
		ret = VM_FAULT_OOM;
	} else if (!ptep_try_cmpxchg(pte, &old, mk_written_pte(vma, copy))) {
		hw_folio_put(hw, copy);   /* raced with another fault: retry */
	} else {
		if (!(hw_frame_flags(hw, hw_folio_head(hw, src)) & HW_FRAME_ANON)) {
			mm->rss_file--;
			mm->rss_anon++;
		}
		/* no CPU may still write through the old entry once the page can go */
		hw_tlb_shootdown_sync(hw, (uintptr_t)mm);
		hw_folio_put(hw, src);   /* the PTE's reference */
	}
	pthread_mutex_unlock(&mm->pt_lock);
	hw_folio_put(hw, src);
	mm_notify_end(mm, addr, addr + K_PAGE_SIZE);
	return ret;
}

/*
 * do_wp_page(): a write to a present PTE that does not allow it. Shared
 * mappings are made writable, an exclusive anonymous page is reused
 * (wp_page_reuse), anything else is copied. Called with pt_lock held;
 * returns with it released.
 */
static int do_wp_page(struct mm *mm, const struct vma *vma, uint64_t addr, uint64_t *pte,
		      unsigned int ff)
{
	struct hw_machine *hw = mm->k->hw;
	uint64_t val = ptep_get(pte);
	hw_pfn_t head;

	if (!(ff & FAULT_WANTS_WRITE) || vma_pte_writable(vma, val))
		goto out;   /* spurious (stale TLB): the caller retries */
	if (vma->flags & VM_SHARED) {
		if (vma->flags & VM_WRITE)
			pte_update(pte, vma, vma_pte_mkwrite);
		goto out;
	}
	head = hw_folio_head(hw, pte_pfn(val));
	if ((hw_frame_flags(hw, head) & HW_FRAME_ANON) && hw_folio_refcount(hw, head) == 1) {
		/* Exclusive: reuse it; forced writes to !VM_WRITE stay read-only. */
		pte_update(pte, vma, (vma->flags & VM_WRITE) ? vma_pte_mkwrite : pte_clear_sw_cow);
		goto out;
	}
	return wp_page_copy(mm, vma, addr, pte);
out:
	pthread_mutex_unlock(&mm->pt_lock);
	return 0;
}

/* handle_pte_fault(): dispatch on the state of the PTE. */
static int handle_pte_fault(struct mm *mm, struct vma *vma, uint64_t addr, unsigned int ff,
			    int *si_code)
{
	uint64_t *pte;
	int ret;

	pthread_mutex_lock(&mm->pt_lock);
	pte = hw_pt_entry(mm->k->hw, mm->pgd, addr, 1, true, false);
	if (lib_is_err_or_null(pte)) {
		pthread_mutex_unlock(&mm->pt_lock);
		return VM_FAULT_OOM;
	}
	if (pte_present(ptep_get(pte)))
		return do_wp_page(mm, vma, addr, pte, ff);
	if (vma->ops && vma->ops->fault) {
		pthread_mutex_unlock(&mm->pt_lock);
		return do_fault(mm, vma, addr, ff, si_code);
	}
	if (vma->file || (vma->flags & (VM_PFNMAP | VM_IO))) {
		/* A file VMA whose file cannot supply pages. */
		pthread_mutex_unlock(&mm->pt_lock);
		*si_code = BUS_ADRERR;
		return VM_FAULT_SIGBUS;
	}
	ret = do_anonymous_page(mm, vma, pte, ff);
	pthread_mutex_unlock(&mm->pt_lock);
	return ret;
}

/*
 * handle_mm_fault() with x86's VMA checks in front (do_user_addr_fault).
 * Called with mm->mmap_lock held for read. FAULT_REMOTE (GUP) skips the
 * user access check: GUP applied its own (check_vma_flags) first.
 */
int handle_mm_fault(struct mm *mm, uint64_t addr, unsigned int fault_flags, int *si_code)
{
	struct vma *vma;

	mm_assert_locked(mm);
	__atomic_fetch_add(&mm->k->nr_page_faults, 1, __ATOMIC_RELAXED);
	vma = vma_find(mm, addr);
	if (!vma) {
		*si_code = SEGV_MAPERR;
		return VM_FAULT_SIGSEGV;
	}
	if (!(fault_flags & FAULT_REMOTE) && access_error(vma, fault_flags)) {
		*si_code = SEGV_ACCERR;
		return VM_FAULT_SIGSEGV;
	}
	return handle_pte_fault(mm, vma, addr & HW_PAGE_MASK, fault_flags, si_code);
}
