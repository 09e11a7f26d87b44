// SPDX-License-Identifier: MIT
/*
 * mmap, munmap, mprotect, madvise: Linux x86-64's argument checks in
 * Linux's order (arch/x86 sys_mmap, ksys_mmap_pgoff, do_mmap,
 * __get_unmapped_area; __vm_munmap; do_mprotect_pkey; do_madvise), then the
 * work under mmap_lock held for write.
 *
 * Deliberately like Linux: mmap ignores unknown PROT bits (only mprotect
 * rejects them); mprotect and madvise apply themselves to the mapped parts
 * of a range before reporting a hole with -ENOMEM.
 */
#include <string.h>

#include "kernel/syscalls.h"
#include "kernel/mm_internal.h"
#include "kernel/mte.h"
#include "kernel/shstk.h"

#define K_MAP_ABOVE4G  0x80
#define K_MAP_HUGE_2MB (21u << 26)
#define K_MAP_HUGE_1GB (30u << 26)
/* The flags every mmap implementation accepted before MAP_SHARED_VALIDATE. */
#define K_LEGACY_MAP_MASK (MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | \
			   MAP_DENYWRITE | MAP_EXECUTABLE | MAP_UNINITIALIZED | \
			   MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | \
			   MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB | MAP_32BIT | \
			   K_MAP_ABOVE4G | K_MAP_HUGE_2MB | K_MAP_HUGE_1GB)
#define K_PROT_KNOWN (PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)
#define K_MAX_LFS_FILESIZE ((uint64_t)INT64_MAX)

#define MADV_DONTDUMP_    16
#define MADV_DODUMP_      17
#define MADV_WIPEONFORK_  18
#define MADV_KEEPONFORK_  19
#define MADV_COLD_        20
#define MADV_PAGEOUT_     21
#define MADV_POPULATE_READ_  22
#define MADV_POPULATE_WRITE_ 23
#define MADV_HUGEPAGE_    14
#define MADV_NOHUGEPAGE_  15
#define MADV_COLLAPSE_    25

static unsigned long calc_vm_prot_bits(uint64_t prot)
{
	return ((prot & PROT_READ) ? VM_READ : 0) | ((prot & PROT_WRITE) ? VM_WRITE : 0) |
	       ((prot & PROT_EXEC) ? VM_EXEC : 0);
}

/* ------------------------------------------------------------------ mmap */

/* do_mmap's file branch. */
static long mmap_file_checks(struct file *file, uint64_t prot, unsigned long flags,
			     unsigned long *vm_flags, uint64_t pgoff, uint64_t len)
{
	if (pgoff > (K_MAX_LFS_FILESIZE - len) >> HW_PAGE_SHIFT)
		return -EOVERFLOW;
	switch (flags & MAP_TYPE) {
	case MAP_SHARED:
		/* Plain MAP_SHARED silently drops what it does not know. */
		flags &= K_LEGACY_MAP_MASK;
		__attribute__((fallthrough));
	case MAP_SHARED_VALIDATE:
		if (flags & ~(unsigned long)K_LEGACY_MAP_MASK)
			return -EOPNOTSUPP;
		if ((prot & PROT_WRITE) && !file->writable)
			return -EACCES;
		*vm_flags |= VM_SHARED | VM_MAYSHARE;
		if (!file->writable)
			*vm_flags &= ~(VM_MAYWRITE | VM_SHARED);
		__attribute__((fallthrough));
	case MAP_PRIVATE:
		if (!file->readable)
			return -EACCES;
		if (file->noexec) {
			if (*vm_flags & VM_EXEC)
				return -EPERM;
			*vm_flags &= ~VM_MAYEXEC;
		}
		if (!file->ops->mmap)
			return -ENODEV;
		if (*vm_flags & VM_GROWSDOWN)
			return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
}

/* do_mmap's anonymous branch. */
static long mmap_anon_checks(unsigned long flags, unsigned long *vm_flags)
{
	switch (flags & MAP_TYPE) {
	case MAP_SHARED:
		if (*vm_flags & VM_GROWSDOWN)
			return -EINVAL;
		*vm_flags |= VM_SHARED | VM_MAYSHARE;
		return 0;
	case MAP_PRIVATE:
		return 0;
	default:
		return -EINVAL;
	}
}

/* MAP_POPULATE: fault the pages in now; failures are ignored, as in Linux. */
static void mmap_populate(struct mm *mm, uint64_t addr, uint64_t len, unsigned long vm_flags)
{
	unsigned int ff = FAULT_REMOTE;
	int si_code;

	if (!(vm_flags & VM_ACCESS_FLAGS))
		return;
	if ((vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE)
		ff |= FAULT_WRITE;
	for (uint64_t a = addr; a < addr + len; a += K_PAGE_SIZE)
		if (handle_mm_fault(mm, a, ff, &si_code))
			break;
}

/* do_mmap, from its length checks on. Called with mmap_lock held for write. */
static long do_mmap_locked(struct mv_task *t, struct file *file, uint64_t addr, uint64_t len,
			   uint64_t prot, unsigned long flags, uint64_t pgoff)
{
	unsigned long vm_flags;
	long ret;

	if (!len)
		return -EINVAL;
	if (flags & MAP_FIXED_NOREPLACE)
		flags |= MAP_FIXED;
	if (!(flags & MAP_FIXED)) {
		addr &= HW_PAGE_MASK;
		if (addr && addr < K_MMAP_MIN_ADDR)
			addr = K_PAGE_ALIGN(K_MMAP_MIN_ADDR);
	}
	len = K_PAGE_ALIGN(len);
	if (!len)
		return -ENOMEM;
	if (pgoff + (len >> HW_PAGE_SHIFT) < pgoff)
		return -EOVERFLOW;
	if (t->mm->map_count > K_MAX_MAP_COUNT)
		return -ENOMEM;
	vm_flags = calc_vm_prot_bits(prot) | ((flags & MAP_GROWSDOWN) ? VM_GROWSDOWN : 0) |
		   VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
	vm_flags |= mte_calc_vm_prot_bits(t->k, prot) | mte_calc_vm_flag_bits(t->k, flags, file);
	if (!mte_validate_flags(vm_flags))
		return -EINVAL;
	ret = mm_place_locked(t->mm, addr, len, flags, vm_flags);
	if (ret < 0)
		return ret;
	addr = (uint64_t)ret;
	ret = file ? mmap_file_checks(file, prot, flags, &vm_flags, pgoff, len)
		   : mmap_anon_checks(flags, &vm_flags);
	if (ret)
		return ret;
	if (flags & MAP_NORESERVE)
		vm_flags |= VM_NORESERVE;
	ret = mm_map_region_locked(t, file, addr, len, vm_flags, flags, pgoff);
	if (ret >= 0 && (flags & (MAP_POPULATE | MAP_NONBLOCK)) == MAP_POPULATE)
		mmap_populate(t->mm, addr, len, vm_flags);
	return ret;
}

long sys_mmap(struct mv_task *t, const uint64_t a[6])
{
	uint64_t addr = a[0], len = a[1], prot = a[2], off = a[5];
	unsigned long flags = a[3];
	struct file *file = NULL;
	long ret;

	/* The PROT_SHADOW_STACK alternative, only where the process opted in. */
	if (shstk_mmap_wanted(t, prot))
		return shstk_mmap(t, addr, len, prot, flags, (int)(unsigned int)a[4], off);
	if (off & ~HW_PAGE_MASK)
		return -EINVAL;
	if (!(flags & MAP_ANONYMOUS)) {
		file = fd_get(t, (int)(unsigned int)a[4]);
		if (!file)
			return -EBADF;
		if (flags & MAP_HUGETLB) {
			file_put(file);
			return -EINVAL;
		}
	} else if (flags & MAP_HUGETLB) {
		return -ENOMEM;   /* no huge pages reserved (nr_hugepages = 0) */
	}
	pthread_rwlock_wrlock(&t->mm->mmap_lock);
	ret = do_mmap_locked(t, file, addr, len, prot, flags, off >> HW_PAGE_SHIFT);
	pthread_rwlock_unlock(&t->mm->mmap_lock);
	if (file)
		file_put(file);
	return ret;
}

/* ---------------------------------------------------------------- munmap */

long sys_munmap(struct mv_task *t, const uint64_t a[6])
{
	uint64_t start = a[0], len = a[1], end;
	long ret;

	if ((start & ~HW_PAGE_MASK) || start > K_TASK_SIZE || len > K_TASK_SIZE - start)
		return -EINVAL;
	end = start + K_PAGE_ALIGN(len);
	if (end == start)
		return -EINVAL;
	pthread_rwlock_wrlock(&t->mm->mmap_lock);
	ret = mm_unmap_locked(t->mm, start, end);
	pthread_rwlock_unlock(&t->mm->mmap_lock);
	return ret;
}

/* -------------------------------------------------------------- mprotect */

/* Isolates [start, end) of @vma (splitting as needed). NULL: -ENOMEM. */
static struct vma *vma_isolate(struct mm *mm, struct vma *vma, uint64_t start, uint64_t end)
{
	if (vma_start(vma) < start) {
		if (mm->map_count >= K_MAX_MAP_COUNT)
			return NULL;
		vma = vma_split(mm, vma, start);
		if (lib_is_err(vma))
			return NULL;
	}
	if (vma_end(vma) > end) {
		if (mm->map_count >= K_MAX_MAP_COUNT || lib_is_err(vma_split(mm, vma, end)))
			return NULL;
	}
	return vma;
}

/* New flags on [start, end) of @vma; returns the VMA now covering it. */
static struct vma *vma_change_flags(struct mm *mm, struct vma *vma, uint64_t start, uint64_t end,
				    unsigned long newflags, bool reprotect)
{
	if (newflags == vma->flags)
		return vma;
	vma = vma_isolate(mm, vma, start, end);
	if (!vma)
		return NULL;
	vma_set_flags(mm, vma, newflags);
	if (reprotect)
		mm_reprotect_range(mm, vma, start, end);
	return vma_merge_neighbours(mm, vma);
}

/*
 * mprotect_fixup's limit check: turning @npages of @vma private writable
 * makes them data, which RLIMIT_DATA may refuse (-ENOMEM).
 */
static bool mprotect_may_write(struct mv_task *t, const struct vma *vma, unsigned long newflags,
			       uint64_t npages)
{
	if (newflags == vma->flags || !(newflags & VM_WRITE))
		return true;
	return mm_may_expand_vm(t, newflags, npages) || !mm_may_expand_vm(t, vma->flags, npages);
}

/* do_mprotect_pkey after the argument checks. Called with mmap_lock held for write. */
static long mprotect_locked(struct mv_task *t, uint64_t start, uint64_t end, uint64_t prot,
			    uint64_t grows)
{
	struct mm *mm = t->mm;
	struct vma *vma = vma_first_overlap(mm, start, end);
	uint64_t tmp;

	if (!vma)
		return -ENOMEM;
	if (grows & PROT_GROWSDOWN) {
		start = vma_start(vma);
		if (!(vma->flags & VM_GROWSDOWN))
			return -EINVAL;
	} else {
		if (vma_start(vma) > start)
			return -ENOMEM;
		if (grows & PROT_GROWSUP)
			return -EINVAL;   /* x86 has no VM_GROWSUP */
	}
	for (tmp = vma_start(vma); vma && vma_start(vma) < end; vma = vma_next(vma)) {
		unsigned long newflags = calc_vm_prot_bits(prot) | mte_calc_vm_prot_bits(t->k, prot) |
					 (vma->flags & ~(VM_ACCESS_FLAGS | VM_MTE));
		uint64_t nstart = start > vma_start(vma) ? start : vma_start(vma);

		if (vma_start(vma) != tmp)
			return -ENOMEM;   /* a hole: the parts before it stay changed */
		/* Each VM_MAYx sits four bits above its VM_x. */
		if ((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS)
			return -EACCES;
		if (!mte_validate_flags(newflags))
			return -EINVAL;
		/* mprotect_fixup(): a sealed VMA takes no change, not even to what it has */
		if (vma_is_sealed(vma))
			return -EPERM;
		tmp = vma_end(vma) < end ? vma_end(vma) : end;
		if (!mprotect_may_write(t, vma, newflags, (tmp - nstart) >> HW_PAGE_SHIFT))
			return -ENOMEM;
		vma = vma_change_flags(mm, vma, nstart, tmp, newflags, true);
		if (!vma)
			return -ENOMEM;
		tmp = vma_end(vma);
	}
	return tmp < end ? -ENOMEM : 0;
}

long sys_mprotect(struct mv_task *t, const uint64_t a[6])
{
	uint64_t start = a[0], len = a[1], prot = a[2], end;
	uint64_t grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
	long ret;

	prot &= ~grows;
	if (grows == (PROT_GROWSDOWN | PROT_GROWSUP))
		return -EINVAL;
	if (start & ~HW_PAGE_MASK)
		return -EINVAL;
	if (!len)
		return 0;
	len = K_PAGE_ALIGN(len);
	end = start + len;
	if (end <= start)
		return -ENOMEM;
	if (prot & ~((uint64_t)K_PROT_KNOWN | mte_valid_prot(t->k)))
		return -EINVAL;
	pthread_rwlock_wrlock(&t->mm->mmap_lock);
	ret = mprotect_locked(t, start, end, prot, grows);
	pthread_rwlock_unlock(&t->mm->mmap_lock);
	return ret;
}

/* --------------------------------------------------------------- madvise */

static bool madvise_behavior_valid(int advice)
{
	switch (advice) {
	case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL: case MADV_WILLNEED:
	case MADV_DONTNEED: case MADV_FREE: case MADV_REMOVE: case MADV_DONTFORK:
	case MADV_DOFORK: case MADV_DONTDUMP_: case MADV_DODUMP_: case MADV_WIPEONFORK_:
	case MADV_KEEPONFORK_: case MADV_COLD_: case MADV_PAGEOUT_:
	case MADV_POPULATE_READ_: case MADV_POPULATE_WRITE_:
	case MADV_HUGEPAGE_: case MADV_NOHUGEPAGE_: case MADV_COLLAPSE_:
		return true;
	default:
		return false;
	}
}

/* MADV_REMOVE: punch the file behind a shared writable mapping. */
static long madvise_remove(struct mv_task *t, struct vma *vma, uint64_t start, uint64_t end)
{
	struct file *f = vma->file;
	uint64_t off = (start - vma_start(vma)) + (vma->pgoff << HW_PAGE_SHIFT);

	if (!f || !f->mapping)
		return -EINVAL;
	if ((vma->flags & (VM_SHARED | VM_MAYWRITE)) != (VM_SHARED | VM_MAYWRITE))
		return -EACCES;
	if (!f->ops->fallocate)
		return -EOPNOTSUPP;
	return f->ops->fallocate(t, f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
				 end - start);
}

/*
 * MADV_POPULATE_READ/WRITE: fault in like GUP without FOLL_FORCE. A VMA that
 * GUP would refuse is -EINVAL (Linux's faultin path), a failed fault -EFAULT.
 */
static long madvise_populate(struct mm *mm, struct vma *vma, uint64_t start, uint64_t end,
			     bool write)
{
	unsigned long f = vma->flags;

	if ((f & (VM_IO | VM_PFNMAP)) || (write && (!(f & VM_WRITE) || (f & VM_SHADOW_STACK))) ||
	    (!write && !(f & VM_READ)))
		return -EINVAL;
	for (uint64_t a = start; a < end; a += K_PAGE_SIZE) {
		hw_pfn_t pfn;
		long ret = gup_one_locked(mm, a, write ? FOLL_WRITE : 0, &pfn);

		if (ret)
			return ret;
		hw_folio_put(mm->k->hw, pfn);
	}
	return 0;
}

/* A flag change; split failures are -EAGAIN for madvise, as in Linux. */
static long madvise_flags(struct mm *mm, struct vma **vmap, uint64_t start, uint64_t end,
			  unsigned long newflags)
{
	struct vma *vma = vma_change_flags(mm, *vmap, start, end, newflags, false);

	if (!vma)
		return -EAGAIN;
	*vmap = vma;
	return 0;
}

/*
 * can_madvise_modify(): a sealed VMA refuses the advices that throw data
 * away (is_discard(): MADV_FREE, MADV_DONTNEED, MADV_REMOVE, MADV_DONTFORK,
 * MADV_WIPEONFORK; MADV_DONTNEED_LOCKED and MADV_GUARD_INSTALL are not
 * modelled and are -EINVAL before this) when it is anonymous and not
 * writable, as the caller could not have cleared the pages by writing.
 * No protection keys: VM_WRITE is the whole of arch_vma_access_permitted().
 */
static bool madvise_may_modify(const struct vma *vma, int advice)
{
	if (!vma_is_sealed(vma))
		return true;
	switch (advice) {
	case MADV_FREE: case MADV_DONTNEED: case MADV_REMOVE: case MADV_DONTFORK:
	case MADV_WIPEONFORK_:
		return !vma_is_anonymous(vma) || (vma->flags & VM_WRITE);
	default:
		return true;
	}
}

/* madvise_vma_behavior(). */
static long madvise_vma(struct mv_task *t, struct vma **vmap, uint64_t start, uint64_t end,
			int advice)
{
	struct vma *vma = *vmap;
	struct mm *mm = t->mm;

	if (!madvise_may_modify(vma, advice))
		return -EPERM;
	switch (advice) {
	case MADV_DONTNEED:
	case MADV_FREE:
		if (vma->flags & VM_PFNMAP)
			return -EINVAL;
		if (advice == MADV_FREE && !vma_is_anonymous(vma))
			return -EINVAL;
		mm_zap_range(mm, start, end, false);
		/* As Linux's page-table reclaim after a zap: empty tables inside the range go. */
		free_pgtables(mm, start, end, start, end);
		return 0;
	case MADV_REMOVE:
		return madvise_remove(t, vma, start, end);
	case MADV_DONTFORK:
		return madvise_flags(mm, vmap, start, end, vma->flags | VM_DONTCOPY);
	case MADV_DOFORK:
		if (vma->flags & VM_IO)
			return -EINVAL;
		return madvise_flags(mm, vmap, start, end, vma->flags & ~VM_DONTCOPY);
	case MADV_WIPEONFORK_:
		/* a private /dev/zero VMA has a vm_file in Linux */
		if (vma->file || (vma->flags & (VM_SHARED | VM_ZERO_PRIVATE)))
			return -EINVAL;
		return madvise_flags(mm, vmap, start, end, vma->flags | VM_WIPEONFORK);
	case MADV_KEEPONFORK_:
		return madvise_flags(mm, vmap, start, end, vma->flags & ~VM_WIPEONFORK);
	case MADV_DONTDUMP_:
		return madvise_flags(mm, vmap, start, end, vma->flags | VM_DONTDUMP);
	case MADV_DODUMP_:
		if (vma->flags & (VM_IO | VM_PFNMAP | VM_DONTEXPAND))
			return -EINVAL;
		return madvise_flags(mm, vmap, start, end, vma->flags & ~VM_DONTDUMP);
	case MADV_POPULATE_READ_:
	case MADV_POPULATE_WRITE_:
		return madvise_populate(mm, vma, start, end, advice == MADV_POPULATE_WRITE_);
	case MADV_HUGEPAGE_:   /* hugepage_madvise(): only the VMA flags change */
		return madvise_flags(mm, vmap, start, end,
				     (vma->flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE);
	case MADV_NOHUGEPAGE_:
		return madvise_flags(mm, vmap, start, end,
				     (vma->flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE);
	case MADV_COLLAPSE_:
		/*
		 * madvise_collapse(): memvisor's mm has no transparent huge pages,
		 * so no VMA is one THP may back (thp_vma_allowable_order fails).
		 */
		return -EINVAL;
	default:   /* hints with nothing to do in memvisor */
		return 0;
	}
}

/* madvise_walk_vmas. Called with mmap_lock held for write. */
static long madvise_locked(struct mv_task *t, uint64_t start, uint64_t end, int advice)
{
	struct lib_itree_node *node = lib_itree_find_above(&t->mm->vmas, start);
	long unmapped = 0, ret;

	for (;;) {
		struct vma *vma = node ? lib_itree_entry(node, struct vma, node) : NULL;
		uint64_t tmp;

		if (!vma)
			return -ENOMEM;
		if (start < vma_start(vma)) {
			unmapped = -ENOMEM;
			start = vma_start(vma);
			if (start >= end)
				break;
		}
		tmp = vma_end(vma) < end ? vma_end(vma) : end;
		ret = madvise_vma(t, &vma, start, tmp, advice);
		if (ret)
			return ret;
		start = tmp;
		if (start >= end)
			break;
		node = lib_itree_find_above(&t->mm->vmas, start);
	}
	return unmapped;
}

long sys_madvise(struct mv_task *t, const uint64_t a[6])
{
	uint64_t start = a[0], end;
	int advice = (int)a[2];   /* an int in Linux: upper bits are ignored */
	long ret;

	if (!madvise_behavior_valid(advice))
		return -EINVAL;
	ret = mm_user_range(start, a[1], &end);
	if (ret || end == start)
		return ret;
	pthread_rwlock_wrlock(&t->mm->mmap_lock);
	ret = madvise_locked(t, start, end, advice);
	pthread_rwlock_unlock(&t->mm->mmap_lock);
	return ret;
}
