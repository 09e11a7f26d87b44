// SPDX-License-Identifier: MIT
/*
 * Address spaces: creation, reference counting, teardown, fork with
 * copy-on-write, MMU notifiers, and the page-table operations every other
 * memory file shares (zap a range, re-derive permissions, build PTEs).
 *
 * Who pins whom: a task holds one mm->users reference; a VMA holds a file
 * reference; a present PTE holds a folio reference. The last mm_put()
 * drops them in that order: notifiers are told, VMAs go, then the page
 * tables are freed with the leaves' folio references.
 */
#include <string.h>

#include "kernel/mm_internal.h"
#include "kernel/mte.h"
#include "hw/pgtable.h"
#include "lib/alloc.h"

/* ---------------------------------------------------------------- PTEs */

static unsigned int vma_base_perms(const struct vma *vma)
{
	unsigned int perms = 0;

	if (vma->flags & VM_ACCESS_FLAGS)
		perms |= HW_S1_USER;
	if (vma->flags & VM_EXEC)
		perms |= HW_S1_EXEC;
	return perms;
}

uint64_t vma_mk_pte(const struct vma *vma, hw_pfn_t pfn, bool write, bool dirty)
{
	unsigned int perms = vma_base_perms(vma) | HW_S1_ACCESSED;
	uint64_t pte;

	if (write) {
		if (vma->flags & VM_SHADOW_STACK)
			perms |= HW_S1_SHSTK;
		else
			perms |= HW_S1_WRITE | (dirty ? HW_S1_DIRTY : 0);
	}
	pte = x86_pte_encode(pfn << HW_PAGE_SHIFT, perms);
	/* Never RW=0 with D=1 on ordinary memory: that is a shadow-stack page. */
	if (dirty && !write)
		pte |= X86_PTE_SAVED_DIRTY;
	return mte_vma_pte(vma, pfn, pte);
}

bool vma_pte_writable(const struct vma *vma, uint64_t pte)
{
	if (vma->flags & VM_SHADOW_STACK)
		return pte_shstk(pte);
	return pte & X86_PTE_RW;
}

uint64_t vma_pte_mkwrite(const struct vma *vma, uint64_t pte)
{
	bool dirty = pte & (X86_PTE_D | X86_PTE_SAVED_DIRTY);

	pte &= ~(X86_PTE_RW | X86_PTE_D | X86_PTE_SAVED_DIRTY | X86_PTE_SW_COW);
	if (vma->flags & VM_SHADOW_STACK)
		return pte | X86_PTE_D;
	pte |= X86_PTE_RW;
	if (dirty)
		pte |= X86_PTE_D;
	return pte;
}

uint64_t vma_pte_reprotect(const struct vma *vma, uint64_t pte)
{
	pte &= ~(X86_PTE_US | X86_PTE_NX);
	if (vma->flags & VM_ACCESS_FLAGS)
		pte |= X86_PTE_US;
	if (!(vma->flags & VM_EXEC))
		pte |= X86_PTE_NX;
	/* Upgrades are lazy: a write fault makes the PTE writable (or copies). */
	if (!(vma->flags & VM_WRITE))
		pte = pte_wrprotect(pte);
	/* mprotect(PROT_MTE) on present pages sanitises them as a new mapping would */
	return mte_vma_pte(vma, (pte & X86_PTE_ADDR) >> HW_PAGE_SHIFT, pte);
}

static bool frame_is_anon(struct hw_machine *hw, hw_pfn_t pfn)
{
	return hw_frame_flags(hw, hw_folio_head(hw, pfn)) & HW_FRAME_ANON;
}

/* Called with mm->pt_lock held. */
static void mm_rss_add(struct mm *mm, hw_pfn_t pfn, int delta)
{
	if (frame_is_anon(mm->k->hw, pfn))
		mm->rss_anon += (uint64_t)(int64_t)delta;
	else
		mm->rss_file += (uint64_t)(int64_t)delta;
}

/* ------------------------------------------------------- notifiers */

void mmu_notifier_register(struct mm *mm, struct mmu_notifier *n)
{
	pthread_rwlock_wrlock(&mm->notifier_lock);
	lib_list_add_tail(&n->link, &mm->notifiers);
	pthread_rwlock_unlock(&mm->notifier_lock);
}

void mmu_notifier_unregister(struct mm *mm, struct mmu_notifier *n)
{
	pthread_rwlock_wrlock(&mm->notifier_lock);
	lib_list_del(&n->link);
	pthread_rwlock_unlock(&mm->notifier_lock);
}

/*
 * mmu_notifier_invalidate_range_start/end. Called with mmap_lock held (or
 * mapping->lock for page-cache zaps), without pt_lock.
 */
void mm_notify_start(struct mm *mm, uint64_t start, uint64_t end)
{
	struct mmu_notifier *n;

	pthread_rwlock_rdlock(&mm->notifier_lock);
	lib_list_for_each_entry(n, &mm->notifiers, link)
		if (n->ops->invalidate_start)
			n->ops->invalidate_start(n, mm, start, end);
	pthread_rwlock_unlock(&mm->notifier_lock);
}

void mm_notify_end(struct mm *mm, uint64_t start, uint64_t end)
{
	struct mmu_notifier *n;

	pthread_rwlock_rdlock(&mm->notifier_lock);
	lib_list_for_each_entry(n, &mm->notifiers, link)
		if (n->ops->invalidate_end)
			n->ops->invalidate_end(n, mm, start, end);
	pthread_rwlock_unlock(&mm->notifier_lock);
}

/* __mmu_notifier_release(): the address space is going away. */
static void mm_notify_release(struct mm *mm)
{
	struct mmu_notifier *n;

	pthread_rwlock_rdlock(&mm->notifier_lock);
	lib_list_for_each_entry(n, &mm->notifiers, link)
		if (n->ops->release)
			n->ops->release(n, mm);
	pthread_rwlock_unlock(&mm->notifier_lock);
}

/* ------------------------------------------------ range operations */

struct mm_walk {
	struct mm *mm;
	struct mm *dst;          /* fork: the child */
	const struct vma *vma;
	int err;
};

/*
 * Pages whose PTEs were zapped, held until every CPU that might still use
 * the old translation has left its access (Linux's mmu_gather: the TLB is
 * flushed before the pages are freed). Not zero-filled: only pages[0..nr).
 */
#define MM_GATHER_BATCH 512

struct mmu_gather {
	struct mm *mm;
	bool file_only;
	unsigned int nr;
	hw_pfn_t pages[MM_GATHER_BATCH];
};

/* tlb_flush_mmu(): shoot down, wait for every CPU's access, then free. */
static void tlb_flush_mmu(struct mmu_gather *tlb)
{
	if (!tlb->nr) {   /* nothing to free: later accesses must only miss */
		hw_tlb_shootdown(tlb->mm->k->hw);
		return;
	}
	hw_tlb_shootdown_sync(tlb->mm->k->hw, (uintptr_t)tlb->mm);
	for (unsigned int i = 0; i < tlb->nr; i++)
		hw_folio_put(tlb->mm->k->hw, tlb->pages[i]);
	tlb->nr = 0;
}

static void zap_leaf(void *ctx, uint64_t va, uint64_t *entry, int level)
{
	struct mmu_gather *tlb = ctx;
	hw_pfn_t pfn = pte_pfn(ptep_get(entry));

	if (tlb->file_only && frame_is_anon(tlb->mm->k->hw, pfn))
		return;
	pte_clear(entry);
	mm_rss_add(tlb->mm, pfn, -1);
	tlb->pages[tlb->nr++] = pfn;
	if (tlb->nr == MM_GATHER_BATCH)
		tlb_flush_mmu(tlb);
}

/* Called with mmap_lock held (or mapping->lock for page-cache zaps). */
void mm_zap_range(struct mm *mm, uint64_t start, uint64_t end, bool file_only)
{
	struct mmu_gather tlb;

	tlb.mm = mm;
	tlb.file_only = file_only;
	tlb.nr = 0;
	mm_notify_start(mm, start, end);
	pthread_mutex_lock(&mm->pt_lock);
	hw_pt_for_each_leaf(mm->k->hw, mm->pgd, false, start, end, zap_leaf, &tlb);
	tlb_flush_mmu(&tlb);
	pthread_mutex_unlock(&mm->pt_lock);
	mm_notify_end(mm, start, end);
}

/* CET instructions walk without mmap_lock: freed tables wait for their brackets. */
static void mm_flush_tlb_sync(void *mm)
{
	hw_tlb_shootdown_sync(((struct mm *)mm)->k->hw, (uintptr_t)mm);
}

void free_pgtables(struct mm *mm, uint64_t start, uint64_t end, uint64_t floor,
		   uint64_t ceiling)
{
	mm_assert_write_locked(mm);
	pthread_mutex_lock(&mm->pt_lock);
	hw_pt_free_range(mm->k->hw, mm->pgd, false, start, end, floor, ceiling,
			 mm_flush_tlb_sync, mm);
	pthread_mutex_unlock(&mm->pt_lock);
}

static void reprotect_leaf(void *ctx, uint64_t va, uint64_t *entry, int level)
{
	struct mm_walk *w = ctx;
	uint64_t old = ptep_get(entry);

	while (!ptep_try_cmpxchg(entry, &old, vma_pte_reprotect(w->vma, old)))
		;
}

/* Called with mmap_lock held for write. */
void mm_reprotect_range(struct mm *mm, struct vma *vma, uint64_t start, uint64_t end)
{
	struct mm_walk w = { .mm = mm, .vma = vma };

	mm_notify_start(mm, start, end);
	pthread_mutex_lock(&mm->pt_lock);
	hw_pt_for_each_leaf(mm->k->hw, mm->pgd, false, start, end, reprotect_leaf, &w);
	hw_tlb_shootdown_sync(mm->k->hw, (uintptr_t)mm);
	pthread_mutex_unlock(&mm->pt_lock);
	mm_notify_end(mm, start, end);
}

/* ------------------------------------------------------- lifetime */

struct mm *mm_create(struct kernel *k)
{
	struct mm *mm = lib_zalloc(sizeof(*mm));

	if (!mm)
		return lib_err_ptr(-ENOMEM);
	if (hw_pt_alloc_table(k->hw, &mm->pgd))
		goto err_free;
	if (pthread_rwlock_init(&mm->mmap_lock, NULL))
		goto err_pgd;
	if (pthread_mutex_init(&mm->pt_lock, NULL))
		goto err_rwlock;
	if (pthread_rwlock_init(&mm->notifier_lock, NULL))
		goto err_pt_lock;
	mm->k = k;
	mm->users = 1;
	mm->count = 1;
	mm->mmap_base = K_MMAP_BASE;
	lib_itree_init(&mm->vmas);
	lib_list_init(&mm->notifiers);
	return mm;

err_pt_lock:
	pthread_mutex_destroy(&mm->pt_lock);
err_rwlock:
	pthread_rwlock_destroy(&mm->mmap_lock);
err_pgd:
	hw_pt_free_tree(k->hw, mm->pgd, false, NULL, NULL);
err_free:
	lib_free(mm);
	return lib_err_ptr(-ENOMEM);
}

void mm_get(struct mm *mm)
{
	__atomic_fetch_add(&mm->users, 1, __ATOMIC_RELAXED);
}

static void teardown_leaf(void *ctx, uint64_t va, uint64_t *entry, int level)
{
	struct mm *mm = ctx;

	hw_folio_put(mm->k->hw, pte_pfn(ptep_get(entry)));
}

void mmgrab(struct mm *mm)
{
	__atomic_fetch_add(&mm->count, 1, __ATOMIC_RELAXED);
}

void mmdrop(struct mm *mm)
{
	if (__atomic_sub_fetch(&mm->count, 1, __ATOMIC_ACQ_REL))
		return;
	pthread_rwlock_destroy(&mm->notifier_lock);
	lib_free(mm);
}

/*
 * exit_mmap(): the last user is gone. Only notifiers (through an mmgrab
 * reference) can still reach @mm; the rest needs no lock.
 */
static void mm_teardown(struct mm *mm)
{
	struct lib_itree_node *node;

	mm_notify_release(mm);
	while ((node = lib_itree_first(&mm->vmas))) {
		struct vma *vma = lib_itree_entry(node, struct vma, node);

		vma_unlink(mm, vma);
		vma_free(vma);
	}
	hw_pt_free_tree(mm->k->hw, mm->pgd, false, teardown_leaf, mm);
	pthread_mutex_destroy(&mm->pt_lock);
	pthread_rwlock_destroy(&mm->mmap_lock);
	mmdrop(mm);
}

void mm_put(struct mm *mm)
{
	if (__atomic_sub_fetch(&mm->users, 1, __ATOMIC_ACQ_REL) == 0)
		mm_teardown(mm);
}

/* ----------------------------------------------------------- fork */

/*
 * Copies one leaf into the child. A private page that either side could
 * write becomes read-only in both (D moved to SAVED_DIRTY, SW_COW set): the
 * first write faults and copies, or reuses the page once it is exclusive.
 */
static void fork_leaf(void *ctx, uint64_t va, uint64_t *entry, int level)
{
	struct mm_walk *w = ctx;
	struct hw_machine *hw = w->mm->k->hw;
	uint64_t pte = ptep_get(entry);
	uint64_t *dst;

	if (w->err || level != 1)
		return;
	dst = hw_pt_entry(hw, w->dst->pgd, va, 1, true, false);
	if (lib_is_err_or_null(dst)) {
		w->err = -ENOMEM;
		return;
	}
	/* ptep_set_wrprotect(): atomically, so a D bit set meanwhile moves too. */
	while ((pte & X86_PTE_RW) || pte_shstk(pte)) {
		if (ptep_try_cmpxchg(entry, &pte, pte_wrprotect(pte) | X86_PTE_SW_COW)) {
			pte = pte_wrprotect(pte) | X86_PTE_SW_COW;
			break;
		}
	}
	set_pte(dst, pte);
	hw_folio_get(hw, pte_pfn(pte));
	mm_rss_add(w->dst, pte_pfn(pte), 1);
}

/* Called with old->mmap_lock held for write. */
static int fork_ptes(struct mm *old, struct mm *mm, const struct vma *vma)
{
	struct mm_walk w = { .mm = old, .dst = mm, .vma = vma };

	mm_notify_start(old, vma_start(vma), vma_end(vma));
	pthread_mutex_lock(&old->pt_lock);
	hw_pt_for_each_leaf(old->k->hw, old->pgd, false, vma_start(vma), vma_end(vma),
			    fork_leaf, &w);
	pthread_mutex_unlock(&old->pt_lock);
	mm_notify_end(old, vma_start(vma), vma_end(vma));
	return w.err;
}

/* Called with old->mmap_lock held for write; @mm is not visible yet. */
static int fork_vmas(struct mm *old, struct mm *mm)
{
	struct lib_itree_node *node;
	int ret = 0;

	for (node = lib_itree_first(&old->vmas); node; node = lib_itree_next(node)) {
		struct vma *vma = lib_itree_entry(node, struct vma, node), *nv;

		if (vma->flags & VM_DONTCOPY)
			continue;
		nv = vma_alloc(mm, vma_start(vma), vma_end(vma), vma->flags, vma->pgoff,
			       vma->file);
		if (lib_is_err(nv)) {
			ret = (int)lib_ptr_err(nv);
			break;
		}
		nv->ops = vma->ops;
		nv->private_data = vma->private_data;
		if (nv->ops && nv->ops->open)
			nv->ops->open(nv);
		vma_link(mm, nv);
		/* Shared mappings refault from the page cache, like Linux. */
		if (vma->flags & (VM_SHARED | VM_WIPEONFORK))
			continue;
		ret = fork_ptes(old, mm, vma);
		if (ret)
			break;
	}
	/* Parent PTEs were write-protected: no CPU may keep a writable entry. */
	hw_tlb_shootdown_sync(old->k->hw, (uintptr_t)old);
	return ret;
}

int mm_fork(struct mm *old, struct mm **out)
{
	struct mm *mm = mm_create(old->k);
	int ret;

	if (lib_is_err(mm))
		return (int)lib_ptr_err(mm);
	pthread_rwlock_wrlock(&old->mmap_lock);
	ret = fork_vmas(old, mm);
	mm->mmap_base = old->mmap_base;
	mm->stack_start = old->stack_start;
	mm->stack_end = old->stack_end;
	pthread_rwlock_unlock(&old->mmap_lock);
	if (ret) {
		mm_put(mm);
		return ret;
	}
	*out = mm;
	return 0;
}
