// SPDX-License-Identifier: MIT
/*
 * mremap(2): shrink a mapping, grow it in place, or move it (MREMAP_MAYMOVE,
 * MREMAP_FIXED, MREMAP_DONTUNMAP), with mm/mremap.c's checks in its order
 * and its errnos. A move takes the page-table entries along with the pages
 * they map (move_page_tables): nothing is copied, and the references the
 * PTEs hold move with them. MREMAP_FIXED without a resize moves every VMA
 * of the range, gaps and all (remap_move()).
 *
 * A shadow stack is moved or resized like any private anonymous mapping
 * and stays one (VM_SHADOW_STACK goes with the VMA): mainline has no
 * mremap check for it. Like mainline, a moved mapping is placed as
 * get_unmapped_area() places one without VMA flags, so a moved shadow
 * stack gets no placement gap and no MAP_ABOVE4G.
 *
 * Everything runs with mmap_lock held for write.
 */
#include "kernel/syscalls.h"
#include "kernel/mm_internal.h"
#include "lib/alloc.h"

/* vma_remap_struct: the request, as it is adjusted on the way. */
struct mremap_req {
	struct mv_task *t;
	uint64_t addr, old_len, new_len, new_addr;
	uint64_t delta;               /* |old_len - new_len| */
	unsigned long flags;          /* MREMAP_* */
	struct vma *vma;              /* the VMA at addr */
};

#define MREMAP_KNOWN (MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)

static bool mremap_implies_new_addr(const struct mremap_req *r)
{
	return r->flags & (MREMAP_FIXED | MREMAP_DONTUNMAP);
}

/* vrm_overlaps(): do the old and new ranges share a byte? */
static bool mremap_overlaps(const struct mremap_req *r)
{
	return r->addr + r->old_len > r->new_addr && r->new_addr + r->new_len > r->addr;
}

/*
 * check_mremap_params(), on the page-aligned lengths: every -EINVAL comes
 * before a VMA is looked at, the new range's (TASK_SIZE, overlap)
 * included. Linux reads map_count without the lock; memvisor holds it.
 */
static long mremap_check_params(const struct mremap_req *r)
{
	if (r->flags & ~(unsigned long)MREMAP_KNOWN)
		return -EINVAL;
	if (r->addr & ~HW_PAGE_MASK)
		return -EINVAL;
	/* old_len 0 is allowed (duplicating a shared mapping); new_len 0 is not */
	if (!r->new_len || r->new_len > K_TASK_SIZE)
		return -EINVAL;
	if (!mremap_implies_new_addr(r))
		return 0;
	if (r->new_addr > K_TASK_SIZE - r->new_len || (r->new_addr & ~HW_PAGE_MASK))
		return -EINVAL;
	if (!(r->flags & MREMAP_MAYMOVE))
		return -EINVAL;
	if ((r->flags & MREMAP_DONTUNMAP) && r->old_len != r->new_len)
		return -EINVAL;
	if (mremap_overlaps(r))
		return -EINVAL;
	/* both ranges may split in three before anything is unmapped */
	if (r->t->mm->map_count + 2 >= K_MAX_MAP_COUNT - 3)
		return -ENOMEM;
	return 0;
}

/*
 * check_prep_vma(): the VMA at addr must exist (-EFAULT) and not be
 * sealed (-EPERM, even for a shrink; a sealed destination is the
 * destination unmap's -EPERM, in mremap_to()); a call that grows or moves
 * (vrm_will_map_new()) also asks whether it may become new_len long, here
 * or elsewhere. It runs before anything changes, the destination's unmap
 * included.
 */
static long mremap_check_prep_vma(const struct mremap_req *r)
{
	const struct vma *vma = r->vma;
	/* a shrink may cross VMA ends in the part it unmaps */
	uint64_t kept = r->old_len < r->new_len ? r->old_len : r->new_len;
	uint64_t pgoff;

	if (!vma)
		return -EFAULT;
	if (vma_is_sealed(vma))
		return -EPERM;
	/* vrm_will_map_new(): a shrink or a same-size call in place needs no more */
	if (!mremap_implies_new_addr(r) && r->new_len <= r->old_len)
		return 0;
	/* duplicating a private mapping would make unrelated memory */
	if (!r->old_len && !(vma->flags & (VM_SHARED | VM_MAYSHARE)))
		return -EINVAL;
	if ((r->flags & MREMAP_DONTUNMAP) && (vma->flags & (VM_DONTEXPAND | VM_PFNMAP)))
		return -EINVAL;
	/* a remap never crosses a VMA boundary */
	if (kept > vma_end(vma) - r->addr)
		return -EFAULT;
	if (r->new_len <= r->old_len)
		return 0;
	pgoff = vma->pgoff + ((r->addr - vma_start(vma)) >> HW_PAGE_SHIFT);
	if (pgoff + (r->new_len >> HW_PAGE_SHIFT) < pgoff)
		return -EINVAL;
	if (vma->flags & (VM_DONTEXPAND | VM_PFNMAP))
		return -EFAULT;
	if (!mm_may_expand_vm(r->t, vma->flags, r->delta >> HW_PAGE_SHIFT))
		return -ENOMEM;
	return 0;
}

/*
 * move_page_tables(): moves the present PTEs of [from, from + len) to
 * [to, to + len), with the notifier bracket and a shootdown of the old
 * translations. Returns the bytes done: less than @len when a page table
 * for the destination could not be allocated.
 */
static uint64_t mremap_move_ptes(struct mm *mm, uint64_t from, uint64_t to, uint64_t len)
{
	struct hw_machine *hw = mm->k->hw;
	uint64_t off;

	mm_notify_start(mm, from, from + len);
	pthread_mutex_lock(&mm->pt_lock);
	for (off = 0; off < len; off += K_PAGE_SIZE) {
		uint64_t *oldp = hw_pt_entry(hw, mm->pgd, from + off, 1, false, false);
		uint64_t *newp;

		if (lib_is_err_or_null(oldp) || !pte_present(ptep_get(oldp)))
			continue;
		newp = hw_pt_entry(hw, mm->pgd, to + off, 1, true, false);
		if (lib_is_err_or_null(newp))
			break;
		set_pte(newp, ptep_get_and_clear(oldp));
	}
	hw_tlb_shootdown_sync(hw, (uintptr_t)mm);
	pthread_mutex_unlock(&mm->pt_lock);
	mm_notify_end(mm, from, from + len);
	return off < len ? off : len;
}

/* copy_vma(): the VMA for the new range, linked; NULL if it cannot be had. */
static struct vma *mremap_copy_vma(struct mm *mm, const struct mremap_req *r)
{
	const struct vma *vma = r->vma;
	uint64_t pgoff = vma->pgoff + ((r->addr - vma_start(vma)) >> HW_PAGE_SHIFT);
	struct vma *nv = vma_alloc(mm, r->new_addr, r->new_addr + r->new_len, vma->flags, pgoff,
				   vma->file);

	if (lib_is_err(nv))
		return NULL;
	nv->ops = vma->ops;
	nv->private_data = vma->private_data;
	if (nv->ops && nv->ops->open)
		nv->ops->open(nv);
	vma_link(mm, nv);
	return nv;
}

/*
 * move_vma(): a new VMA at new_addr takes the pages of [addr, addr +
 * old_len); the old range is then unmapped, or with MREMAP_DONTUNMAP kept,
 * empty. If the page tables cannot all move, they move back and the new
 * range goes instead (-ENOMEM).
 */
static long mremap_move_vma(struct mremap_req *r)
{
	struct mm *mm = r->t->mm;
	struct vma *nv;
	uint64_t moved;

	/* do_munmap may split the old VMA in three */
	if (mm->map_count >= K_MAX_MAP_COUNT - 3)
		return -ENOMEM;
	nv = mremap_copy_vma(mm, r);
	if (!nv)
		return -ENOMEM;
	moved = mremap_move_ptes(mm, r->addr, r->new_addr, r->old_len);
	if (moved < r->old_len) {
		mremap_move_ptes(mm, r->new_addr, r->addr, moved);
		(void)mm_unmap_locked(mm, r->new_addr, r->new_addr + r->new_len);
		return -ENOMEM;
	}
	vma_merge_neighbours(mm, nv);
	/* Like unmap_source_vma(), best effort: a failure leaves the old VMA empty. */
	if (!(r->flags & MREMAP_DONTUNMAP) && r->old_len)
		(void)mm_unmap_locked(mm, r->addr, r->addr + r->old_len);
	return (long)r->new_addr;
}

/* vrm_set_new_addr(): get_unmapped_area() without VMA flags, as mainline calls it. */
static long mremap_set_new_addr(struct mremap_req *r)
{
	uint64_t hint = mremap_implies_new_addr(r) ? r->new_addr : 0;
	long res = mm_place_locked(r->t->mm, hint, r->new_len,
				   (r->flags & MREMAP_FIXED) ? MAP_FIXED : 0, 0);

	if (res < 0)
		return res;
	r->new_addr = (uint64_t)res;
	return 0;
}

/*
 * mremap_to(): MREMAP_FIXED or MREMAP_DONTUNMAP, the new address given
 * (and checked, with the old range, by mremap_check_params(); the VMA by
 * mremap_check_prep_vma()).
 */
static long mremap_to(struct mremap_req *r)
{
	struct mm *mm = r->t->mm;
	long err;

	if (r->flags & MREMAP_FIXED) {
		err = mm_unmap_locked(mm, r->new_addr, r->new_addr + r->new_len);
		if (err)
			return err;
		r->vma = vma_find(mm, r->addr);
	}
	if (r->old_len > r->new_len) {
		/* shrink first, then move what is left */
		err = mm_unmap_locked(mm, r->addr + r->new_len, r->addr + r->old_len);
		if (err)
			return err;
		r->vma = vma_find(mm, r->addr);
		r->old_len = r->new_len;
	}
	if (!r->vma)
		return -EFAULT;
	/* DONTUNMAP keeps the old range: the new one is all growth */
	if ((r->flags & MREMAP_DONTUNMAP) &&
	    !mm_may_expand_vm(r->t, r->vma->flags, r->old_len >> HW_PAGE_SHIFT))
		return -ENOMEM;
	err = mremap_set_new_addr(r);
	if (err)
		return err;
	return mremap_move_vma(r);
}

/* vma_expandable(): is [vm_end, vm_end + delta) free and a valid place to grow? */
static bool mremap_vma_expandable(struct mm *mm, const struct vma *vma, uint64_t delta)
{
	uint64_t end = vma_end(vma) + delta;

	if (end < vma_end(vma))
		return false;
	if (vma_first_overlap(mm, vma_end(vma), end))
		return false;
	return mm_place_locked(mm, vma_start(vma), end - vma_start(vma), MAP_FIXED, 0) >= 0;
}

/* expand_vma(): grow in place when the range ends the VMA and room follows, else move. */
static long mremap_expand(struct mremap_req *r)
{
	struct mm *mm = r->t->mm;
	long err;

	if (vma_end(r->vma) - r->addr == r->old_len &&
	    mremap_vma_expandable(mm, r->vma, r->delta)) {
		vma_set_end(mm, r->vma, vma_end(r->vma) + r->delta);
		vma_merge_neighbours(mm, r->vma);
		return (long)r->addr;
	}
	if (!(r->flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	err = mremap_set_new_addr(r);
	if (err)
		return err;
	return mremap_move_vma(r);
}

/* mremap_at(): no new address given: same size, shrink, or grow. */
static long mremap_at(struct mremap_req *r)
{
	long err;

	if (r->new_len == r->old_len)
		return (long)r->addr;
	if (r->old_len > r->new_len) {
		err = mm_unmap_locked(r->t->mm, r->addr + r->new_len, r->addr + r->old_len);
		return err ? err : (long)r->addr;
	}
	return mremap_expand(r);
}

/*
 * vma_multi_allowed(): no userfaultfd in memvisor, and of its files only
 * /dev/zero places private mappings itself (get_unmapped_area_zero, not
 * shmem's nor thp_get_unmapped_area); its VMAs keep VM_ZERO_PRIVATE.
 */
static bool mremap_vma_multi_allowed(const struct vma *vma)
{
	return !(vma->flags & VM_ZERO_PRIVATE);
}

/*
 * remap_move(): MREMAP_FIXED without a resize (vrm_move_only()) moves each
 * VMA of [addr, addr + old_len) in turn with mremap_to(), split where the
 * range ends inside one, each landing at the same offset from new_addr as
 * it had from addr, so the gaps between them stay (mainline places a VMA
 * at the last one's new end plus the gap: the same address, MAP_FIXED
 * placement being exact). The range must start inside a VMA (-EFAULT);
 * the ranges were checked whole by mremap_check_params(). A
 * failure part-way returns its errno and leaves the VMAs already moved
 * where they went. A VMA that may not move with others (the private
 * /dev/zero mapping; vma_multi_allowed()) moves only alone: -EFAULT when
 * it is not the first, or is the first and the range goes past it.
 */
static long mremap_remap_move(struct mremap_req *r)
{
	const uint64_t start = r->addr, end = r->addr + r->old_len, to = r->new_addr;
	uint64_t pos = start;
	struct vma *vma;
	long res = -EFAULT;

	while (pos < end && (vma = vma_first_overlap(r->t->mm, pos, end))) {
		uint64_t from = vma_start(vma) > pos ? vma_start(vma) : pos;
		uint64_t until = vma_end(vma) < end ? vma_end(vma) : end;
		long moved;

		/* no gap at the start of the range */
		if (pos == start && from > start)
			return -EFAULT;
		if (!mremap_vma_multi_allowed(vma) && (pos != start || vma_end(vma) < end))
			return -EFAULT;
		r->vma = vma;
		r->addr = from;
		r->old_len = r->new_len = until - from;
		r->new_addr = to + (from - start);
		r->delta = 0;
		moved = mremap_check_prep_vma(r);
		if (!moved)
			moved = mremap_to(r);
		if (moved < 0)
			return moved;
		if (pos == start)
			res = moved;
		pos = until;
	}
	return res;
}

/* do_mremap(). Called with mmap_lock held for write. */
static long mremap_locked(struct mremap_req *r)
{
	long err;

	mm_assert_write_locked(r->t->mm);
	r->old_len = K_PAGE_ALIGN(r->old_len);
	r->new_len = K_PAGE_ALIGN(r->new_len);
	err = mremap_check_params(r);
	if (err)
		return err;
	r->delta = r->old_len > r->new_len ? r->old_len - r->new_len : r->new_len - r->old_len;
	if ((r->flags & MREMAP_FIXED) && r->old_len == r->new_len)
		return mremap_remap_move(r);
	r->vma = vma_find(r->t->mm, r->addr);
	err = mremap_check_prep_vma(r);
	if (err)
		return err;
	return mremap_implies_new_addr(r) ? mremap_to(r) : mremap_at(r);
}

long sys_mremap(struct mv_task *t, const uint64_t a[6])
{
	struct mremap_req r = {
		.t = t, .addr = a[0], .old_len = a[1], .new_len = a[2], .flags = a[3],
		.new_addr = a[4],
	};
	long ret;

	pthread_rwlock_wrlock(&t->mm->mmap_lock);
	ret = mremap_locked(&r);
	pthread_rwlock_unlock(&t->mm->mmap_lock);
	return ret;
}
