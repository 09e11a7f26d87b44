// SPDX-License-Identifier: MIT
/*
 * User page faults: find the VMA, check the access as x86 Linux does
 * (SEGV_MAPERR without a VMA, SEGV_ACCERR without the permission), then
 * make the page present: demand-zero anonymous frames, page-cache pages
 * through vma->ops->fault, and copy-on-write (or reuse of an exclusive
 * anonymous page) on writes to write-protected private pages.
 *
 * Everything here runs with mm->mmap_lock held for read, so VMAs are
 * stable; PTEs are guarded by mm->pt_lock. Page-cache lookups take
 * mapping->lock, which nests outside pt_lock, so they run unlocked and the
 * result is installed only if the PTE is still empty.
 */
#include <string.h>

#include "kernel/mm_internal.h"

#define FAULT_WANTS_WRITE (FAULT_WRITE | FAULT_SHSTK)

/* x86 access_error(): true when the VMA does not allow this access. */
static bool fault_access_error(const struct vma *vma, unsigned int ff)
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
static uint64_t fault_written_pte(const struct vma *vma, hw_pfn_t pfn)
{
	return vma_mk_pte(vma, pfn, vma->flags & VM_WRITE, true);
}

/* Called with pt_lock held; *pte is empty. */
static int fault_anon(struct mm *mm, const struct vma *vma, uint64_t *pte, unsigned int ff)
{
	bool write = ff & FAULT_WANTS_WRITE;
	hw_pfn_t pfn;

	if (hw_frames_alloc(mm->k->hw, 0, HW_ALLOC_ZERO, HW_FRAME_ANON, &pfn))
		return VM_FAULT_OOM;
	if (write) {
		*pte = fault_written_pte(vma, pfn);
	} else {
		/* A shadow stack becomes one on its first shadow-stack access. */
		bool w = (vma->flags & VM_WRITE) && !(vma->flags & VM_SHADOW_STACK);

		*pte = vma_mk_pte(vma, pfn, w, false);
	}
	mm->rss_anon++;
	return 0;
}

/* A private copy of @src (an anonymous frame with one reference), or 0. */
static hw_pfn_t fault_copy_page(struct hw_machine *hw, hw_pfn_t src)
{
	hw_pfn_t pfn;

	if (hw_frames_alloc(hw, 0, 0, HW_FRAME_ANON, &pfn))
		return 0;
	memcpy(hw_pfn_to_host(hw, pfn), hw_pfn_to_host(hw, src), K_PAGE_SIZE);
	return pfn;
}

/* Installs @pfn (a held reference) at @addr unless someone got there first. */
static int fault_install(struct mm *mm, uint64_t addr, hw_pfn_t pfn, uint64_t pte_val)
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
	if (pte_present(*pte)) {
		pthread_mutex_unlock(&mm->pt_lock);
		hw_folio_put(hw, pfn);
		return 0;
	}
	*pte = pte_val;
	if (hw_frame(hw, hw_folio_head(hw, pfn))->flags & HW_FRAME_ANON)
		mm->rss_anon++;
	else
		mm->rss_file++;
	pthread_mutex_unlock(&mm->pt_lock);
	return 0;
}

/* Not-present page of a file VMA: ask the file, then map (or copy) it. */
static int fault_file(struct mm *mm, struct vma *vma, uint64_t addr, unsigned int ff,
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
		return fault_install(mm, addr, pfn, vma_mk_pte(vma, pfn,
				     (vma->flags & VM_WRITE) && !(vma->flags & VM_SHADOW_STACK), write));
	if (!write)   /* private, read: map the page-cache page read-only */
		return fault_install(mm, addr, pfn, vma_mk_pte(vma, pfn, false, false));
	copy = fault_copy_page(hw, pfn);
	hw_folio_put(hw, pfn);
	if (!copy)
		return VM_FAULT_OOM;
	return fault_install(mm, addr, copy, fault_written_pte(vma, copy));
}

/*
 * Write to a present, write-protected private page that is shared (fork,
 * page cache): copy it. Notifiers run without pt_lock, so the PTE is
 * re-checked after the copy. Called with pt_lock held; returns with it
 * released.
 */
static int fault_cow(struct mm *mm, const struct vma *vma, uint64_t addr, uint64_t *pte)
{
	struct hw_machine *hw = mm->k->hw;
	uint64_t old = *pte;
	hw_pfn_t src = pte_pfn(old), copy;
	int ret = 0;

	hw_folio_get(hw, src);   /* keep the source alive while unlocked */
	pthread_mutex_unlock(&mm->pt_lock);
	mm_notify_start(mm, addr, addr + K_PAGE_SIZE);
	copy = fault_copy_page(hw, src);
	pthread_mutex_lock(&mm->pt_lock);
	if (!copy) {
		ret = VM_FAULT_OOM;
	} else if (*pte != old) {
		hw_folio_put(hw, copy);   /* raced with another fault: retry */
	} else {
		*pte = fault_written_pte(vma, copy);
		if (!(hw_frame(hw, hw_folio_head(hw, src))->flags & HW_FRAME_ANON)) {
			mm->rss_file--;
			mm->rss_anon++;
		}
		hw_folio_put(hw, src);   /* the PTE's reference */
		hw_tlb_shootdown(hw);
	}
	pthread_mutex_unlock(&mm->pt_lock);
	hw_folio_put(hw, src);
	mm_notify_end(mm, addr, addr + K_PAGE_SIZE);
	return ret;
}

/* Present PTE. Called with pt_lock held; returns with it released. */
static int fault_present(struct mm *mm, const struct vma *vma, uint64_t addr, uint64_t *pte,
			 unsigned int ff)
{
	struct hw_machine *hw = mm->k->hw;
	hw_pfn_t head;

	if (!(ff & FAULT_WANTS_WRITE) || vma_pte_writable(vma, *pte))
		goto out;   /* spurious (stale TLB): the caller retries */
	if (vma->flags & VM_SHARED) {
		if (vma->flags & VM_WRITE)
			*pte = vma_pte_mkwrite(vma, *pte);
		goto out;
	}
	head = hw_folio_head(hw, pte_pfn(*pte));
	if ((hw_frame(hw, head)->flags & HW_FRAME_ANON) && hw_folio_refcount(hw, head) == 1) {
		/* Exclusive: reuse it; forced writes to !VM_WRITE stay read-only. */
		if (vma->flags & VM_WRITE)
			*pte = vma_pte_mkwrite(vma, *pte);
		else
			*pte &= ~X86_PTE_SW_COW;
		goto out;
	}
	return fault_cow(mm, vma, addr, pte);
out:
	pthread_mutex_unlock(&mm->pt_lock);
	return 0;
}

static int fault_page(struct mm *mm, struct vma *vma, uint64_t addr, unsigned int ff,
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
	if (pte_present(*pte))
		return fault_present(mm, vma, addr, pte, ff);
	if (vma->ops && vma->ops->fault) {
		pthread_mutex_unlock(&mm->pt_lock);
		return fault_file(mm, vma, addr, ff, si_code);
	}
	if (vma->file || (vma->flags & (VM_PFNMAP | VM_IO))) {
		/* A file VMA whose file cannot supply pages. */
		pthread_mutex_unlock(&mm->pt_lock);
		*si_code = BUS_ADRERR;
		return VM_FAULT_SIGBUS;
	}
	ret = fault_anon(mm, vma, pte, ff);
	pthread_mutex_unlock(&mm->pt_lock);
	return ret;
}

/*
 * Called with mm->mmap_lock held for read. FAULT_REMOTE (GUP) skips the
 * user access check: GUP applied its own (check_vma_flags) first.
 */
int fault_handle_locked(struct mm *mm, uint64_t addr, unsigned int fault_flags, int *si_code)
{
	struct vma *vma;

	__atomic_fetch_add(&mm->k->nr_page_faults, 1, __ATOMIC_RELAXED);
	vma = vma_find(mm, addr);
	if (!vma) {
		*si_code = SEGV_MAPERR;
		return VM_FAULT_SIGSEGV;
	}
	if (!(fault_flags & FAULT_REMOTE) && fault_access_error(vma, fault_flags)) {
		*si_code = SEGV_ACCERR;
		return VM_FAULT_SIGSEGV;
	}
	return fault_page(mm, vma, addr & HW_PAGE_MASK, fault_flags, si_code);
}

int fault_handle(struct mv_task *t, uint64_t addr, unsigned int fault_flags, int *si_code)
{
	int ret;

	pthread_rwlock_rdlock(&t->mm->mmap_lock);
	ret = fault_handle_locked(t->mm, addr, fault_flags, si_code);
	pthread_rwlock_unlock(&t->mm->mmap_lock);
	return ret;
}
