// SPDX-License-Identifier: MIT
/*
 * VMAs: the interval tree of an address space, split and merge, placement
 * of new mappings (top-down from mmap_base, keeping guard gaps), the
 * kernel-internal mmap/munmap, and reverse mapping for the page cache.
 *
 * Guard gaps live in the tree (node.gap_lo) and follow mainline's rules:
 * an existing VMA keeps room only below itself (stack_guard_start_gap():
 * stack_guard_gap under a VM_GROWSDOWN stack, one page under a shadow
 * stack), nothing above (vm_end_gap() adds nothing: x86 has no
 * VM_GROWSUP), and a new mapping reserves a page below itself only when it
 * is a shadow stack (stack_guard_placement()). node.gap_hi stays 0.
 *
 * Unless a comment says otherwise, functions here are called with
 * mm->mmap_lock held for write.
 */
#include <string.h>

#include "kernel/mm_internal.h"
#include "lib/alloc.h"

uint64_t vma_stack_guard_start_gap(unsigned long vm_flags)
{
	if (vm_flags & VM_GROWSDOWN)
		return K_STACK_GUARD_GAP;
	/* a shadow stack overflowing downwards must fault, not reach another one */
	if (vm_flags & VM_SHADOW_STACK)
		return K_PAGE_SIZE;
	return 0;
}

/*
 * stack_guard_placement(): what a new mapping keeps free below itself when
 * the kernel places it. Only a shadow stack does; a new MAP_GROWSDOWN
 * mapping does not (its gap counts once it exists).
 */
static uint64_t vma_stack_guard_placement(unsigned long vm_flags)
{
	return (vm_flags & VM_SHADOW_STACK) ? K_PAGE_SIZE : 0;
}

bool vma_is_anonymous(const struct vma *vma)
{
	return !vma->file && !vma->ops;
}

/* ------------------------------------------------------- accounting */

static uint64_t vma_pages(const struct vma *vma)
{
	return (vma_end(vma) - vma_start(vma)) >> HW_PAGE_SHIFT;
}

/* is_exec_mapping(): executable, neither writable nor a stack. */
static bool vma_is_exec_mapping(unsigned long vm_flags)
{
	return (vm_flags & (VM_EXEC | VM_WRITE | VM_STACK)) == VM_EXEC;
}

/* is_stack_mapping(): a growing stack, or a shadow stack. */
static bool vma_is_stack_mapping(unsigned long vm_flags)
{
	return (vm_flags & VM_STACK) == VM_STACK || (vm_flags & VM_SHADOW_STACK);
}

bool vma_is_data_mapping(unsigned long vm_flags)
{
	return (vm_flags & (VM_WRITE | VM_SHARED | VM_STACK)) == VM_WRITE;
}

/*
 * vm_stat_account(): @pages more (negative: fewer) pages of kind @vm_flags.
 * The first kind that matches counts, so a shadow stack (writable, not
 * shared) is stack_vm, not data_vm.
 */
static void vma_stat_account(struct mm *mm, unsigned long vm_flags, int64_t pages)
{
	mm->total_vm += (uint64_t)pages;
	if (vma_is_exec_mapping(vm_flags))
		mm->exec_vm += (uint64_t)pages;
	else if (vma_is_stack_mapping(vm_flags))
		mm->stack_vm += (uint64_t)pages;
	else if (vma_is_data_mapping(vm_flags))
		mm->data_vm += (uint64_t)pages;
}

/*
 * may_expand_vm(): RLIMIT_AS bounds total_vm; RLIMIT_DATA bounds data_vm
 * for a mapping is_data_mapping() calls data (a shadow stack is one here,
 * although it is accounted as stack), except that a soft limit of 0 falls
 * back to the hard limit (what Valgrind relies on). ignore_rlimit_data is
 * off, as it is by default, so a data mapping past the limit is refused.
 */
bool mm_may_expand_vm(struct mv_task *t, unsigned long vm_flags, uint64_t npages)
{
	struct mm *mm = t->mm;
	struct k_rlimit as, data;

	mm_assert_locked(mm);
	pthread_mutex_lock(&t->k->lock);   /* limits are process-wide, kept under it */
	as = t->rlim[K_RLIMIT_AS];
	data = t->rlim[K_RLIMIT_DATA];
	pthread_mutex_unlock(&t->k->lock);

	if (mm->total_vm + npages > as.cur >> HW_PAGE_SHIFT)
		return false;
	if (vma_is_data_mapping(vm_flags) && mm->data_vm + npages > data.cur >> HW_PAGE_SHIFT) {
		if (data.cur == 0 && mm->data_vm + npages <= data.max >> HW_PAGE_SHIFT)
			return true;
		return false;
	}
	return true;
}

/* count_vma_pages_range(): pages of [start, end) some VMA maps. */
uint64_t mm_count_vma_pages_range(struct mm *mm, uint64_t start, uint64_t end)
{
	struct vma *vma = vma_first_overlap(mm, start, end);
	uint64_t pages = 0;

	for (; vma && vma_start(vma) < end; vma = vma_next(vma)) {
		uint64_t s = vma_start(vma) > start ? vma_start(vma) : start;
		uint64_t e = vma_end(vma) < end ? vma_end(vma) : end;

		pages += (e - s) >> HW_PAGE_SHIFT;
	}
	return pages;
}

static void vma_update_gaps(struct vma *vma)
{
	vma->node.gap_lo = vma_stack_guard_start_gap(vma->flags);
	vma->node.gap_hi = 0;   /* vm_end_gap(): nothing above, on x86 */
}

struct vma *vma_alloc(struct mm *mm, uint64_t start, uint64_t end, unsigned long flags,
		      uint64_t pgoff, struct file *file)
{
	struct vma *vma = lib_zalloc(sizeof(*vma));

	if (!vma)
		return lib_err_ptr(-ENOMEM);
	vma->node.start = start;
	vma->node.end = end;
	vma->mm = mm;
	vma->flags = flags;
	vma->pgoff = pgoff;
	vma->file = file;
	if (file)
		file_get(file);
	lib_list_init(&vma->mapping_link);
	vma_update_gaps(vma);
	return vma;
}

void vma_free(struct vma *vma)
{
	if (vma->ops && vma->ops->close)
		vma->ops->close(vma);
	if (vma->file)
		file_put(vma->file);
	lib_free(vma);
}

static struct mapping *vma_mapping(const struct vma *vma)
{
	return vma->file ? vma->file->mapping : NULL;
}

/*
 * A VMA's bounds are read by the page cache's reverse map under
 * mapping->lock alone (mapping_unmap_range), so every change of a file
 * VMA's bounds and of its place on the file's list happens under both
 * mmap_lock (write) and mapping->lock, as Linux does under i_mmap_lock.
 */
static void vma_mapping_lock(struct mapping *mapping)
{
	if (mapping)
		pthread_mutex_lock(&mapping->lock);
}

static void vma_mapping_unlock(struct mapping *mapping)
{
	if (mapping)
		pthread_mutex_unlock(&mapping->lock);
}

/* The tree and the file's list; the caller holds mapping->lock for a file VMA. */
static void __vma_link(struct mm *mm, struct vma *vma)
{
	struct mapping *mapping = vma_mapping(vma);

	vma_update_gaps(vma);
	lib_itree_insert(&mm->vmas, &vma->node);
	mm->map_count++;
	vma_stat_account(mm, vma->flags, (int64_t)vma_pages(vma));
	if (mapping)
		lib_list_add_tail(&vma->mapping_link, &mapping->vmas);
}

static void __vma_unlink(struct mm *mm, struct vma *vma)
{
	if (vma_mapping(vma))
		lib_list_del(&vma->mapping_link);
	lib_itree_remove(&mm->vmas, &vma->node);
	mm->map_count--;
	vma_stat_account(mm, vma->flags, -(int64_t)vma_pages(vma));
}

/* Takes mapping->lock (nested inside mmap_lock). */
void vma_link(struct mm *mm, struct vma *vma)
{
	vma_mapping_lock(vma_mapping(vma));
	__vma_link(mm, vma);
	vma_mapping_unlock(vma_mapping(vma));
}

void vma_unlink(struct mm *mm, struct vma *vma)
{
	vma_mapping_lock(vma_mapping(vma));
	__vma_unlink(mm, vma);
	vma_mapping_unlock(vma_mapping(vma));
}

static struct vma *node_vma(struct lib_itree_node *node)
{
	return node ? lib_itree_entry(node, struct vma, node) : NULL;
}

struct vma *vma_next(const struct vma *vma)
{
	return node_vma(lib_itree_next(&vma->node));
}

struct vma *vma_prev(const struct vma *vma)
{
	return node_vma(lib_itree_prev(&vma->node));
}

/* Called with mmap_lock held (read or write). */
struct vma *vma_find(struct mm *mm, uint64_t addr)
{
	return node_vma(lib_itree_find(&mm->vmas, addr));
}

struct vma *vma_first_overlap(struct mm *mm, uint64_t start, uint64_t end)
{
	return node_vma(lib_itree_first_overlap(&mm->vmas, start, end));
}

void vma_set_flags(struct mm *mm, struct vma *vma, unsigned long flags)
{
	vma_stat_account(mm, vma->flags, -(int64_t)vma_pages(vma));
	vma_stat_account(mm, flags, (int64_t)vma_pages(vma));
	vma->flags = flags;
	vma_update_gaps(vma);
	lib_itree_update(&mm->vmas, &vma->node);
}

void vma_set_end(struct mm *mm, struct vma *vma, uint64_t end)
{
	vma_mapping_lock(vma_mapping(vma));
	vma_stat_account(mm, vma->flags, ((int64_t)end - (int64_t)vma_end(vma)) / (int64_t)K_PAGE_SIZE);
	vma->node.end = end;
	lib_itree_update(&mm->vmas, &vma->node);
	vma_mapping_unlock(vma_mapping(vma));
}

struct vma *vma_split(struct mm *mm, struct vma *vma, uint64_t addr)
{
	uint64_t pgoff = vma->pgoff + ((addr - vma_start(vma)) >> HW_PAGE_SHIFT);
	struct vma *nv = vma_alloc(mm, addr, vma_end(vma), vma->flags, pgoff, vma->file);

	if (lib_is_err(nv))
		return nv;
	nv->ops = vma->ops;
	nv->private_data = vma->private_data;
	if (nv->ops && nv->ops->open)
		nv->ops->open(nv);
	/* __split_vma(): a truncate sees the whole VMA or both halves, never one */
	vma_mapping_lock(vma_mapping(vma));
	vma_stat_account(mm, vma->flags, -(int64_t)vma_pages(nv));   /* __vma_link adds them back */
	vma->node.end = addr;
	lib_itree_update(&mm->vmas, &vma->node);
	__vma_link(mm, nv);
	vma_mapping_unlock(vma_mapping(vma));
	return nv;
}

#define VM_NOMERGE (VM_IO | VM_PFNMAP | VM_DONTEXPAND)

/* @a directly below @b, same everything, contiguous file offsets. */
static bool vma_can_merge(const struct vma *a, const struct vma *b)
{
	uint64_t pages = (vma_end(a) - vma_start(a)) >> HW_PAGE_SHIFT;

	if (vma_end(a) != vma_start(b) || a->flags != b->flags || (a->flags & VM_NOMERGE))
		return false;
	if (a->file != b->file || a->ops != b->ops || a->private_data != b->private_data)
		return false;
	if (a->ops && a->ops->close)
		return false;
	return a->pgoff + pages == b->pgoff;
}

/* Folds @b into @a (a directly below b). */
static void vma_absorb(struct mm *mm, struct vma *a, struct vma *b)
{
	uint64_t end = vma_end(b);

	vma_mapping_lock(vma_mapping(a));   /* b maps the same file (vma_can_merge) */
	__vma_unlink(mm, b);
	vma_stat_account(mm, a->flags, (int64_t)((end - vma_end(a)) >> HW_PAGE_SHIFT));
	a->node.end = end;
	lib_itree_update(&mm->vmas, &a->node);
	vma_mapping_unlock(vma_mapping(a));
	vma_free(b);
}

struct vma *vma_merge_neighbours(struct mm *mm, struct vma *vma)
{
	struct vma *prev = vma_prev(vma), *next;

	if (prev && vma_can_merge(prev, vma)) {
		vma_absorb(mm, prev, vma);
		vma = prev;
	}
	next = vma_next(vma);
	if (next && vma_can_merge(vma, next))
		vma_absorb(mm, vma, next);
	return vma;
}

/* ---------------------------------------------------------- placement */

static bool vma_range_free(struct mm *mm, uint64_t addr, uint64_t len)
{
	uint64_t out;

	return lib_itree_gap_topdown(&mm->vmas, len, K_PAGE_SIZE, addr, addr + len, &out) == 0;
}

/*
 * The search behind get_unmapped_area. A usable hint wins (it must only
 * stay clear of the next VMA's start gap, as x86's hint check); otherwise
 * the highest hole below mmap_base, then (like x86) bottom-up from the
 * legacy base. The search keeps the new mapping's own start gap free below
 * it (info.start_gap).
 */
static long vma_search(struct mm *mm, uint64_t hint, uint64_t len, uint64_t low,
		       unsigned long map_flags, unsigned long vm_flags)
{
	uint64_t below = vma_stack_guard_placement(vm_flags), need, out;

	need = len + below;
	if (need < len || len > K_TASK_SIZE)
		return -ENOMEM;
	hint &= HW_PAGE_MASK;
	if ((map_flags & K_MAP_ABOVE4G) && low < K_ABOVE4G_LOW)
		low = K_ABOVE4G_LOW;   /* the search only; a hint is still a hint */
	if (map_flags & MAP_32BIT) {
		if (need > K_MAP32_END - K_MAP32_BASE)
			return -ENOMEM;
		if (hint && hint <= K_MAP32_END - len && vma_range_free(mm, hint, len))
			return (long)hint;
		if (!lib_itree_gap_bottomup(&mm->vmas, need, K_PAGE_SIZE, K_MAP32_BASE, K_MAP32_END,
					    &out))
			return (long)(out + below);
		return -ENOMEM;
	}
	if (hint && hint <= K_TASK_SIZE - len && vma_range_free(mm, hint, len))
		return (long)hint;
	if (!lib_itree_gap_topdown(&mm->vmas, need, K_PAGE_SIZE, low, mm->mmap_base, &out))
		return (long)(out + below);
	if (!lib_itree_gap_bottomup(&mm->vmas, need, K_PAGE_SIZE, K_TASK_UNMAPPED_BASE, K_TASK_SIZE,
				    &out))
		return (long)(out + below);
	return -ENOMEM;
}

/* Called with mmap_lock held (read or write). */
long mm_get_unmapped_area(struct mm *mm, uint64_t hint, uint64_t len, uint64_t low,
			  unsigned long map_flags)
{
	return vma_search(mm, hint, len, low ? low : K_MMAP_MIN_ADDR, map_flags, 0);
}

long mm_place_locked(struct mm *mm, uint64_t addr, uint64_t len, unsigned long map_flags,
		     unsigned long vm_flags)
{
	mm_assert_locked(mm);
	if (map_flags & MAP_FIXED_NOREPLACE)
		map_flags |= MAP_FIXED;
	if (len > K_TASK_SIZE)
		return -ENOMEM;
	if (!(map_flags & MAP_FIXED)) {
		long found = vma_search(mm, addr, len, K_MMAP_MIN_ADDR, map_flags, vm_flags);

		if (found < 0)
			return found;
		addr = (uint64_t)found;
	}
	if (addr > K_TASK_SIZE - len)
		return -ENOMEM;
	if (addr & ~HW_PAGE_MASK)
		return -EINVAL;
	if (addr < K_MMAP_MIN_ADDR)
		return -EPERM;
	if ((map_flags & MAP_FIXED_NOREPLACE) && vma_first_overlap(mm, addr, addr + len))
		return -EEXIST;
	return (long)addr;
}

/* ------------------------------------------------------------ map/unmap */

/*
 * vms_gather_munmap_vmas(): cutting into the first VMA needs room for one
 * more VMA when the range ends inside it too (-ENOMEM) and the VMA must
 * not be sealed (-EPERM), then it splits at @start; no VMA of the range
 * may be sealed (-EPERM; the split at @start stays, as Linux leaves it);
 * then the last one splits at @end. The VMAs of [start, end) are then
 * exactly the range's, and stay so when the caller gives up (a MAP_FIXED
 * over the limits: vms_abort_munmap_vmas() leaves both splits). Returns
 * the first VMA of the range, NULL when nothing is mapped there, or an
 * ERR_PTR.
 */
static struct vma *vma_gather_munmap(struct mm *mm, uint64_t start, uint64_t end)
{
	struct vma *vma = vma_first_overlap(mm, start, end), *v, *next, *nv;

	if (!vma)
		return NULL;
	if (vma_start(vma) < start) {
		if (vma_end(vma) > end && mm->map_count >= K_MAX_MAP_COUNT)
			return lib_err_ptr(-ENOMEM);
		if (vma_is_sealed(vma))
			return lib_err_ptr(-EPERM);
		vma = vma_split(mm, vma, start);
		if (lib_is_err(vma))
			return vma;
	}
	/* Linux splits the end as it reaches the last VMA, after the others' checks */
	for (v = vma;; v = next) {
		if (vma_is_sealed(v))
			return lib_err_ptr(-EPERM);
		next = vma_next(v);
		if (!next || vma_start(next) >= end)
			break;
	}
	if (vma_end(v) > end) {
		nv = vma_split(mm, v, end);
		if (lib_is_err(nv))
			return nv;
	}
	return vma;
}

/*
 * vms_complete_munmap_vmas(): removes the VMAs vma_gather_munmap() gathered
 * for [start, end) (@vma the first, NULL for none), their pages and the
 * page tables no neighbour needs.
 */
static void vma_complete_munmap(struct mm *mm, struct vma *vma, uint64_t start, uint64_t end)
{
	struct vma *next, *prev;

	if (!vma)
		return;
	prev = vma_prev(vma);
	mm_zap_range(mm, start, end, false);
	while (vma && vma_start(vma) < end) {
		next = vma_next(vma);
		vma_unlink(mm, vma);
		vma_free(vma);
		vma = next;
	}
	/* unmap_region(): the tables between the neighbours go too */
	free_pgtables(mm, start, end, prev ? vma_end(prev) : 0, vma ? vma_start(vma) : K_TASK_SIZE);
}

long mm_map_region_locked(struct mv_task *t, struct file *file, uint64_t addr, uint64_t len,
			  unsigned long vm_flags, unsigned long map_flags, uint64_t pgoff)
{
	struct mm *mm = t->mm;
	struct file *shm = NULL;
	uint64_t pages = len >> HW_PAGE_SHIFT;
	struct vma *vma = NULL;
	long ret;

	/* __mmap_setup(): what MAP_FIXED replaces is gathered before the limits are checked */
	if ((map_flags & MAP_FIXED) && !(map_flags & MAP_FIXED_NOREPLACE)) {
		vma = vma_gather_munmap(mm, addr, addr + len);
		if (lib_is_err(vma))
			return lib_ptr_err(vma);
	}
	/* Pages MAP_FIXED would replace do not count twice. */
	if (!mm_may_expand_vm(t, vm_flags, pages) &&
	    !mm_may_expand_vm(t, vm_flags, pages - mm_count_vma_pages_range(mm, addr, addr + len)))
		return -ENOMEM;
	vma_complete_munmap(mm, vma, addr, addr + len);
	if (!file && (vm_flags & VM_SHARED)) {
		/* Shared anonymous memory is a shmem file, so fork shares it. */
		shm = shmem_file_create(mm->k, len, O_RDWR);
		if (lib_is_err(shm))
			return lib_ptr_err(shm);
		file = shm;
		pgoff = 0;
	} else if (!file) {
		pgoff = addr >> HW_PAGE_SHIFT;
	}
	ret = -ENOMEM;
	vma = vma_alloc(mm, addr, addr + len, vm_flags, pgoff, file);
	if (lib_is_err(vma))
		goto out;
	if (file && file->ops->mmap) {
		ret = file->ops->mmap(t, file, vma);
		if (ret) {
			vma->ops = NULL;   /* never opened: nothing to close */
			vma_free(vma);
			goto out;
		}
		/* ->mmap may turn it anonymous (private /dev/zero). */
		if (vma_is_anonymous(vma) && !(vm_flags & VM_SHARED))
			vma->pgoff = addr >> HW_PAGE_SHIFT;
	}
	vma_link(mm, vma);
	vma_merge_neighbours(mm, vma);
	ret = (long)addr;
out:
	if (shm)
		file_put(shm);
	return ret;
}

long mm_map_locked(struct mv_task *t, struct file *file, uint64_t addr, uint64_t len,
		   unsigned long vm_flags, unsigned long map_flags, uint64_t pgoff)
{
	long placed;

	mm_assert_write_locked(t->mm);
	placed = mm_place_locked(t->mm, addr, len, map_flags, vm_flags);
	if (placed < 0)
		return placed;
	return mm_map_region_locked(t, file, (uint64_t)placed, len, vm_flags, map_flags, pgoff);
}

int mm_unmap_locked(struct mm *mm, uint64_t start, uint64_t end)
{
	struct vma *vma;

	mm_assert_write_locked(mm);
	vma = vma_gather_munmap(mm, start, end);
	if (lib_is_err(vma))
		return lib_ptr_err(vma);
	vma_complete_munmap(mm, vma, start, end);
	return 0;
}

/*
 * Called without mmap_lock and without mapping->lock (truncate, hole punch):
 * takes mapping->lock, which keeps every VMA on the list alive, then each
 * mm's pt_lock. Private COW copies are anonymous and survive.
 */
void mapping_unmap_range(struct mapping *mapping, uint64_t first_pgoff, uint64_t last_pgoff)
{
	struct vma *vma;

	pthread_mutex_lock(&mapping->lock);
	lib_list_for_each_entry(vma, &mapping->vmas, mapping_link) {
		uint64_t vfirst = vma->pgoff;
		uint64_t vlast = vfirst + ((vma_end(vma) - vma_start(vma)) >> HW_PAGE_SHIFT) - 1;
		uint64_t f = first_pgoff > vfirst ? first_pgoff : vfirst;
		uint64_t l = last_pgoff < vlast ? last_pgoff : vlast;

		if (f > l)
			continue;
		mm_zap_range(vma->mm, vma_start(vma) + ((f - vfirst) << HW_PAGE_SHIFT),
			     vma_start(vma) + ((l - vfirst + 1) << HW_PAGE_SHIFT), true);
	}
	pthread_mutex_unlock(&mapping->lock);
}
