/* SPDX-License-Identifier: MIT */
/*
 * Private to the memory half of the kernel (mm.c, vma.c, fault.c, gup.c,
 * uaccess.c, sys_mm.c, task.c): PTE encoding rules, VMA tree helpers and the
 * two halves of mmap (placement, then region creation) so that sys_mmap can
 * run Linux's checks between them in Linux's order.
 *
 * Page references: every present user PTE holds one reference on the folio
 * it maps. Anonymous frames carry HW_FRAME_ANON; anything else mapped by a
 * PTE is a page-cache page whose mapping holds its own reference.
 *
 * PROT_NONE: x86 keeps such PTEs non-present with a software bit; memvisor
 * keeps them present with U/S = 0 instead, so the page-table walkers (which
 * only report present leaves) still see the frame for fork and teardown,
 * and every user access faults with a protection #PF.
 */
#ifndef MV_KERNEL_MM_INTERNAL_H
#define MV_KERNEL_MM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/pgtable.h"
#include "kernel/kernel.h"

/* getrlimit/setrlimit resources (Linux x86-64 values). */
#define K_RLIMIT_DATA    2
#define K_RLIMIT_STACK   3
#define K_RLIMIT_NOFILE  7
#define K_RLIMIT_AS      9
#define K_RLIM_INFINITY  (~0ull)

/* Legacy bottom-up base (TASK_UNMAPPED_BASE) for the top-down fallback. */
#define K_TASK_UNMAPPED_BASE (K_PAGE_ALIGN(K_TASK_SIZE / 3))
/* x86's MAP_ABOVE4G (kernel-internal: shadow stacks are placed with it). */
#define K_MAP_ABOVE4G 0x80
#define K_ABOVE4G_LOW (1ull << 32)
/* MAP_32BIT window on x86-64. */
#define K_MAP32_BASE 0x40000000ull
#define K_MAP32_END  0x80000000ull

/* ---- PTEs ---- */

/*
 * The range checks madvise(2) and mseal(2) share (do_madvise() and
 * do_mseal() each open-code them): @start page aligned, @len_in rounded up
 * to pages without wrapping. 0 with *end set (*end == @start: an empty
 * range, a success), or -EINVAL.
 */
static inline long mm_user_range(uint64_t start, uint64_t len_in, uint64_t *end)
{
	uint64_t len = K_PAGE_ALIGN(len_in);

	if ((start & ~HW_PAGE_MASK) || (len_in && !len) || start + len < start)
		return -EINVAL;
	*end = start + len;
	return 0;
}

static inline hw_pfn_t pte_pfn(uint64_t pte)
{
	return (pte & X86_PTE_ADDR) >> HW_PAGE_SHIFT;
}

static inline bool pte_present(uint64_t pte)
{
	return pte & X86_PTE_P;
}

/* A shadow-stack leaf: RW=0, D=1. */
static inline bool pte_shstk(uint64_t pte)
{
	return (pte & (X86_PTE_RW | X86_PTE_D)) == X86_PTE_D;
}

/* Write-protects, moving D into SAVED_DIRTY so RW=0 never pairs with D=1. */
static inline uint64_t pte_wrprotect(uint64_t pte)
{
	pte &= ~X86_PTE_RW;
	if (pte & X86_PTE_D)
		pte = (pte & ~X86_PTE_D) | X86_PTE_SAVED_DIRTY;
	return pte;
}

/* True when @pte already allows the writes @vma permits (RW, or shstk). */
bool vma_pte_writable(const struct vma *vma, uint64_t pte);
/* Makes @pte writable the way @vma wants (ordinary RW or shadow stack). */
uint64_t vma_pte_mkwrite(const struct vma *vma, uint64_t pte);
/* A fresh leaf for @pfn in @vma. @write: map it writable (VM_WRITE needed). */
uint64_t vma_mk_pte(const struct vma *vma, hw_pfn_t pfn, bool write, bool dirty);
/* Re-derives U/S and NX from the VMA flags; write-protects if !VM_WRITE. */
uint64_t vma_pte_reprotect(const struct vma *vma, uint64_t pte);

/* ---- VMAs (vma.c). Called with mmap_lock held for write unless noted. ---- */

/*
 * stack_guard_start_gap(): the bytes an existing VMA with @vm_flags keeps
 * free below itself. Nothing is kept above any VMA (vm_end_gap()).
 */
uint64_t vma_stack_guard_start_gap(unsigned long vm_flags);
bool vma_is_anonymous(const struct vma *vma);
/* A new VMA (not linked), or ERR_PTR(-ENOMEM). */
MV_MUST_CHECK struct vma *vma_alloc(struct mm *mm, uint64_t start, uint64_t end,
				    unsigned long flags, uint64_t pgoff, struct file *file);
/* Drops what the VMA holds (close, file reference) and frees it; unlinked. */
void vma_free(struct vma *vma);
void vma_link(struct mm *mm, struct vma *vma);
void vma_unlink(struct mm *mm, struct vma *vma);
/*
 * Splits @vma at @addr; the new upper part is returned, or ERR_PTR(-ENOMEM).
 * Linux: split_vma().
 */
MV_MUST_CHECK struct vma *vma_split(struct mm *mm, struct vma *vma, uint64_t addr);
/*
 * Merges @vma with compatible neighbours; returns the surviving VMA.
 * Linux: vma_merge().
 */
struct vma *vma_merge_neighbours(struct mm *mm, struct vma *vma);
struct vma *vma_next(const struct vma *vma);
struct vma *vma_prev(const struct vma *vma);
struct vma *vma_first_overlap(struct mm *mm, uint64_t start, uint64_t end);
/* Sets vma->flags and keeps the tree's guard gaps and mm's counters in step. */
void vma_set_flags(struct mm *mm, struct vma *vma, unsigned long flags);
/* Moves the end of a linked VMA (mremap grows one in place); counters follow. */
void vma_set_end(struct mm *mm, struct vma *vma, uint64_t end);

/* ---- address-space accounting (vma.c). Called with mmap_lock held. ---- */

/* is_data_mapping(): private, writable, not a growing stack. */
bool vma_is_data_mapping(unsigned long vm_flags);
/*
 * may_expand_vm(): may @t's address space grow by @npages pages of kind
 * @vm_flags under its RLIMIT_AS and RLIMIT_DATA? Takes kernel->lock.
 */
bool mm_may_expand_vm(struct mv_task *t, unsigned long vm_flags, uint64_t npages);
/* count_vma_pages_range(): pages of [start, end) mapped by some VMA. */
uint64_t mm_count_vma_pages_range(struct mm *mm, uint64_t start, uint64_t end);

/*
 * __get_unmapped_area: 0..TASK_SIZE checks, search or MAP_FIXED, alignment
 * and mmap_min_addr. Returns the address or -ENOMEM/-EINVAL/-EPERM.
 * Linux: __get_unmapped_area().
 */
long mm_place_locked(struct mm *mm, uint64_t addr, uint64_t len, unsigned long map_flags,
		     unsigned long vm_flags);
/*
 * mmap_region: MAP_FIXED replaces, shared anonymous gets shmem, ->mmap runs.
 * Linux: mmap_region().
 */
long mm_map_region_locked(struct mv_task *t, struct file *file, uint64_t addr, uint64_t len,
			  unsigned long vm_flags, unsigned long map_flags, uint64_t pgoff);

/* ---- page tables of an mm (mm.c) ---- */

void mm_notify_start(struct mm *mm, uint64_t start, uint64_t end);
void mm_notify_end(struct mm *mm, uint64_t start, uint64_t end);
/*
 * Clears the PTEs of [start, end) and drops their folio references, with
 * notifier brackets and a TLB shootdown. @file_only keeps anonymous pages
 * (private COW copies survive a hole punch). Takes pt_lock.
 * Linux: zap_page_range_single() / unmap_page_range().
 */
void mm_zap_range(struct mm *mm, uint64_t start, uint64_t end, bool file_only);
/*
 * free_pgtables(): frees the page-table pages under [start, end) that only
 * map addresses in [floor, ceiling), the gap between the neighbouring VMAs,
 * once nothing there is mapped, after a shootdown that waits for every
 * task CPU's access bracket. Called with mmap_lock held for write.
 */
void free_pgtables(struct mm *mm, uint64_t start, uint64_t end, uint64_t floor,
		   uint64_t ceiling);
/*
 * Re-derives the PTE permissions of [start, end) from @vma. Takes pt_lock.
 * Linux: change_protection().
 */
void mm_reprotect_range(struct mm *mm, struct vma *vma, uint64_t start, uint64_t end);

#endif
