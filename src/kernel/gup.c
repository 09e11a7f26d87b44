// SPDX-License-Identifier: MIT
/*
 * get_user_pages for one page at a time, and access_remote_vm on top of it
 * (ptrace, /proc/pid/mem). The VMA checks follow Linux's check_vma_flags():
 * I/O and PFN mappings are never pinned; a write needs VM_WRITE, or
 * FOLL_FORCE on a private (copy-on-write) mapping, which then writes into
 * a private copy while the PTE stays read-only; shadow stacks are written
 * only with FOLL_FORCE; reading an unreadable VMA needs FOLL_FORCE and
 * VM_MAYREAD.
 *
 * Everything here runs with mm->mmap_lock held for read.
 */
#include <string.h>

#include "hw/ram.h"
#include "kernel/mm_internal.h"

#define GUP_MAX_TRIES 8

static long gup_check_vma(const struct vma *vma, unsigned int gup_flags)
{
	unsigned long f = vma->flags;

	if (f & (VM_IO | VM_PFNMAP))
		return -EFAULT;
	if (gup_flags & FOLL_WRITE) {
		if (!(f & VM_WRITE) || (f & VM_SHADOW_STACK)) {
			if (!(gup_flags & FOLL_FORCE))
				return -EFAULT;
			/* Only a copy-on-write mapping may be forced. */
			if ((f & (VM_SHARED | VM_MAYWRITE)) != VM_MAYWRITE)
				return -EFAULT;
		}
	} else if (!(f & VM_READ)) {
		if (!(gup_flags & FOLL_FORCE) || !(f & VM_MAYREAD))
			return -EFAULT;
	}
	return 0;
}

/*
 * May a write go to this page as mapped? Either the PTE is writable, or a
 * forced write to a !VM_WRITE mapping already has its exclusive copy.
 */
static bool gup_can_write(struct hw_machine *hw, const struct vma *vma, uint64_t pte,
			  unsigned int gup_flags)
{
	hw_pfn_t head;

	if (vma_pte_writable(vma, pte))
		return true;
	if (!(gup_flags & FOLL_FORCE) || (vma->flags & VM_WRITE))
		return false;
	head = hw_folio_head(hw, pte_pfn(pte));
	return (hw_frame_flags(hw, head) & HW_FRAME_ANON) && hw_folio_refcount(hw, head) == 1;
}

/* The page, referenced, if it is mapped well enough for this access. */
static bool gup_follow(struct mm *mm, const struct vma *vma, uint64_t addr,
		       unsigned int gup_flags, hw_pfn_t *pfn)
{
	struct hw_machine *hw = mm->k->hw;
	bool ok = false;
	uint64_t *pte, val;

	pthread_mutex_lock(&mm->pt_lock);
	pte = hw_pt_entry(hw, mm->pgd, addr, 1, false, false);
	val = lib_is_err_or_null(pte) ? 0 : ptep_get(pte);
	if (pte_present(val) &&
	    (!(gup_flags & FOLL_WRITE) || gup_can_write(hw, vma, val, gup_flags))) {
		*pfn = pte_pfn(val);
		hw_folio_get(hw, *pfn);
		ok = true;
	}
	pthread_mutex_unlock(&mm->pt_lock);
	return ok;
}

long gup_one_locked(struct mm *mm, uint64_t addr, unsigned int gup_flags, hw_pfn_t *pfn)
{
	unsigned int ff = FAULT_REMOTE;
	struct vma *vma = vma_find(mm, addr);
	long ret;

	mm_assert_locked(mm);
	if (!vma)
		return -EFAULT;
	ret = gup_check_vma(vma, gup_flags);
	if (ret)
		return ret;
	if (gup_flags & FOLL_WRITE)
		ff |= FAULT_WRITE;
	if (gup_flags & FOLL_FORCE)
		ff |= FAULT_FORCE;
	for (int i = 0; i < GUP_MAX_TRIES; i++) {
		int si_code, r;

		if (gup_follow(mm, vma, addr, gup_flags, pfn))
			return 0;
		r = handle_mm_fault(mm, addr, ff, &si_code);
		if (r == VM_FAULT_OOM)
			return -ENOMEM;
		if (r)
			return -EFAULT;
	}
	return -EFAULT;
}

long follow_pfnmap_locked(struct mm *mm, uint64_t addr, bool write, hw_pfn_t *pfn)
{
	struct vma *vma = vma_find(mm, addr);
	unsigned int ff = FAULT_REMOTE | (write ? FAULT_WRITE : 0);

	mm_assert_locked(mm);
	if (!vma || !(vma->flags & (VM_IO | VM_PFNMAP)))
		return -EFAULT;
	if (write && !(vma->flags & VM_WRITE))
		return -EFAULT;
	for (int i = 0; i < GUP_MAX_TRIES; i++) {
		int si_code, r;

		if (gup_follow(mm, vma, addr, write ? FOLL_WRITE : 0, pfn))
			return 0;
		r = handle_mm_fault(mm, addr, ff, &si_code);
		if (r == VM_FAULT_OOM)
			return -ENOMEM;
		if (r)
			return -EFAULT;
	}
	return -EFAULT;
}

/*
 * Returns the bytes copied; if not even the first byte could be, the error
 * (-EFAULT, -ENOMEM). Takes mmap_lock for read.
 */
long access_remote_vm(struct mm *mm, uint64_t addr, void *buf, size_t len, unsigned int gup_flags)
{
	struct hw_machine *hw = mm->k->hw;
	size_t done = 0;
	long ret = 0;

	pthread_rwlock_rdlock(&mm->mmap_lock);
	while (done < len) {
		uint64_t va = addr + done, off = va & ~HW_PAGE_MASK;
		size_t n = K_PAGE_SIZE - off;
		hw_pfn_t pfn;
		uint8_t *host;

		if (n > len - done)
			n = len - done;
		ret = gup_one_locked(mm, va & HW_PAGE_MASK, gup_flags, &pfn);
		if (ret)
			break;
		host = (uint8_t *)hw_pfn_to_host(hw, pfn) + off;
		if (gup_flags & FOLL_WRITE)
			hw_ram_write(host, (const uint8_t *)buf + done, n);
		else
			hw_ram_read((uint8_t *)buf + done, host, n);
		hw_folio_put(hw, pfn);
		done += n;
	}
	pthread_rwlock_unlock(&mm->mmap_lock);
	return done ? (long)done : ret;
}
