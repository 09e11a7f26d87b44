// SPDX-License-Identifier: MIT
/*
 * mseal(2): seals the VMAs of a fully mapped range (VM_SEALED), for good.
 * Linux's mm/mseal.c as of 6.12 on (the range checked for holes, then each
 * VMA sealed in turn, split at the ends of the range and merged with its
 * neighbours); what a seal refuses is checked where Linux checks it:
 *
 *   munmap, MAP_FIXED mmap, the MREMAP_FIXED destination and an mremap
 *   shrink's tail: vma_gather_munmap() (vms_gather_munmap_vmas), -EPERM
 *   mprotect: per VMA, after the -EACCES/-EINVAL checks (mprotect_fixup)
 *   mremap of a sealed source: mremap_locked() and mremap_check_prep_vma()
 *     (check_prep_vma), -EPERM before anything else about the VMA
 *   madvise: the discarding advices on a read-only anonymous sealed VMA,
 *     per VMA (can_madvise_modify), -EPERM
 *
 * A seal cannot be removed; fork copies it (VM_SEALED is a VMA flag).
 */
#include "kernel/syscalls.h"
#include "kernel/mm_internal.h"

/* range_contains_unmapped(): a hole anywhere in [start, end)? */
static bool mseal_range_has_hole(struct mm *mm, uint64_t start, uint64_t end)
{
	struct vma *vma = vma_first_overlap(mm, start, end);
	uint64_t reached = start;

	for (; vma && vma_start(vma) < end; vma = vma_next(vma)) {
		if (vma_start(vma) > reached)
			return true;
		reached = vma_end(vma);
	}
	return reached < end;
}

/*
 * vma_modify_flags() with VM_SEALED added: [start, end) of @vma becomes a
 * VMA of its own (each split refused at the map-count limit, as
 * split_vma() does), sealed, then merged with alike neighbours. Returns
 * the VMA now covering the range, or ERR_PTR(-ENOMEM); a first split
 * stays when the second fails, as in Linux.
 */
static struct vma *mseal_fixup(struct mm *mm, struct vma *vma, uint64_t start, uint64_t end)
{
	struct vma *upper;

	if (vma_start(vma) < start) {
		if (mm->map_count >= K_MAX_MAP_COUNT)
			return lib_err_ptr(-ENOMEM);
		vma = vma_split(mm, vma, start);
		if (lib_is_err(vma))
			return vma;
	}
	if (vma_end(vma) > end) {
		if (mm->map_count >= K_MAX_MAP_COUNT)
			return lib_err_ptr(-ENOMEM);
		upper = vma_split(mm, vma, end);
		if (lib_is_err(upper))
			return upper;
	}
	vma_set_flags(mm, vma, vma->flags | VM_SEALED);
	return vma_merge_neighbours(mm, vma);
}

/*
 * mseal_apply(): seals every VMA of the hole-free range [start, end). The
 * VMAs before a failed split stay sealed (-ENOMEM). Called with mmap_lock
 * held for write.
 */
static long mseal_apply(struct mm *mm, uint64_t start, uint64_t end)
{
	uint64_t pos = start;

	while (pos < end) {
		struct vma *vma = vma_find(mm, pos);

		if (!vma)
			return -ENOMEM;   /* cannot happen: the range was checked */
		if (!vma_is_sealed(vma)) {
			vma = mseal_fixup(mm, vma, pos, vma_end(vma) < end ? vma_end(vma) : end);
			if (lib_is_err(vma))
				return lib_ptr_err(vma);
		}
		pos = vma_end(vma);
	}
	return 0;
}

/*
 * do_mseal(): flags are reserved (-EINVAL), the start page aligned
 * (-EINVAL), the length rounded up to pages without wrapping (-EINVAL),
 * 0 bytes a success; then under mmap_lock a hole in the range is -ENOMEM
 * and nothing is sealed.
 */
long sys_mseal(struct mv_task *t, const uint64_t a[6])
{
	uint64_t start = a[0], flags = a[2], end;
	struct mm *mm = t->mm;
	long ret;

	if (flags)
		return -EINVAL;
	ret = mm_user_range(start, a[1], &end);
	if (ret || end == start)
		return ret;
	pthread_rwlock_wrlock(&mm->mmap_lock);
	ret = mseal_range_has_hole(mm, start, end) ? -ENOMEM : mseal_apply(mm, start, end);
	pthread_rwlock_unlock(&mm->mmap_lock);
	return ret;
}
