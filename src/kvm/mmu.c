/* SPDX-License-Identifier: MIT */
/*
 * Stage 2: EPT tables in simulated memory, built on demand. An EPT
 * violation looks up the memslot, pins the VMM's page with GUP and maps it;
 * host-side changes reach us through the MMU notifier, which zaps what we
 * mapped. Races follow KVM: a fault samples mmu_invalidate_seq before GUP
 * and installs only if no invalidation covering its gfn is in progress and
 * the sequence has not moved; otherwise it drops the page and retries.
 *
 * Unlike KVM, every EPT leaf holds a reference on its page (dropped when
 * the leaf is zapped), so even a missed notification could never let a
 * guest reach a freed frame. Zaps flush every vCPU and wait until none is
 * inside a guest access that may still use the old translation.
 */
#include <sched.h>
#include <string.h>

#include "kvm/kvm.h"
#include "kvm/mte.h"
#include "lib/alloc.h"
#include "lib/lockdep.h"

#define KVM_GFN_MAX (1ull << (52 - HW_PAGE_SHIFT))

/* ---- TLB shootdown ---- */

void kvm_flush_remote_tlbs(struct kvm *kvm)
{
	uint32_t n = __atomic_load_n(&kvm->online_vcpus, __ATOMIC_ACQUIRE);

	/* the machine's shootdown, waiting for this VM's vCPUs only (hw/cpu.h brackets) */
	hw_tlb_shootdown(kvm->hw);
	/* the inline fast path compares no generation: stop it (hw_tlb_fast_kill) */
	for (uint32_t i = 0; i < n; i++)
		hw_tlb_fast_kill(&kvm->vcpus[i]->cpu);
	hw_fence_heavy(kvm->hw);
	for (uint32_t i = 0; i < n; i++)
		hw_cpu_wait_access(&kvm->vcpus[i]->cpu);
}

/* ---- leaves ---- */

#define KVM_ZAP_BATCH 64

struct kvm_zap_ctx {
	struct kvm *kvm;
	bool wrprotect;
	bool flush;
	unsigned int n;
	hw_pfn_t pfns[KVM_ZAP_BATCH];   /* references to drop once the flush is done */
};

/* Flush, then drop the references of the zapped leaves: only now may pages be freed. */
static void kvm_zap_flush(struct kvm_zap_ctx *z)
{
	if (z->flush)
		kvm_flush_remote_tlbs(z->kvm);
	z->flush = false;
	for (unsigned int i = 0; i < z->n; i++)
		hw_folio_put(z->kvm->hw, z->pfns[i]);
	z->n = 0;
}

static void kvm_zap_leaf(void *ctx, uint64_t gpa, uint64_t *entry, int level)
{
	struct kvm_zap_ctx *z = ctx;
	uint64_t e = ptep_get(entry);

	if (z->wrprotect) {
		/* As KVM's spte write-protect: a cmpxchg, so an A/D bit set meanwhile stays. */
		while ((e & EPT_W) && !ptep_try_cmpxchg(entry, &e, e & ~(uint64_t)EPT_W))
			;
		if (e & EPT_W)
			z->flush = true;
		return;
	}
	e = ptep_get_and_clear(entry);
	z->flush = true;
	z->pfns[z->n++] = (e & EPT_ADDR) >> HW_PAGE_SHIFT;
	if (z->n == KVM_ZAP_BATCH)
		kvm_zap_flush(z);
}

/* Zaps (or write-protects) [start, end) gfns; every vCPU is flushed before pages go. */
static void kvm_zap_range(struct kvm *kvm, uint64_t start, uint64_t end, bool wrprotect)
{
	struct kvm_zap_ctx z = { .kvm = kvm, .wrprotect = wrprotect };

	if (start >= end)
		return;
	hw_pt_for_each_leaf(kvm->hw, kvm->ept_root, true, start << HW_PAGE_SHIFT,
			    end << HW_PAGE_SHIFT, kvm_zap_leaf, &z);
	kvm_zap_flush(&z);
}

void kvm_mmu_zap_gfn_range_locked(struct kvm *kvm, uint64_t start, uint64_t end)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	kvm_zap_range(kvm, start, end, false);
}

void kvm_mmu_wrprotect_gfn_range_locked(struct kvm *kvm, uint64_t start, uint64_t end)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	kvm_zap_range(kvm, start, end, true);
}

bool kvm_mmu_wrprotect_pt_masked_locked(struct kvm *kvm, uint64_t gfn, unsigned long mask)
{
	struct kvm_zap_ctx z = { .kvm = kvm, .wrprotect = true };

	lockdep_assert_held_write(&kvm->mmu_lock);
	while (mask) {
		unsigned int first = (unsigned int)__builtin_ctzl(mask);
		unsigned long rest = mask >> first;
		unsigned int run = ~rest ? (unsigned int)__builtin_ctzl(~rest) : 64 - first;

		hw_pt_for_each_leaf(kvm->hw, kvm->ept_root, true, (gfn + first) << HW_PAGE_SHIFT,
				    (gfn + first + run) << HW_PAGE_SHIFT, kvm_zap_leaf, &z);
		mask = run + first >= 64 ? 0 : mask & ~((1ul << (first + run)) - 1);
	}
	return z.flush;
}

static void kvm_flush_remote_tlbs_cb(void *kvm)
{
	kvm_flush_remote_tlbs(kvm);
}

/*
 * The stage-2 side of free_pgtables(): after a memslot is deleted or moved,
 * the EPT tables under [start, end) gfns that map nothing any more are
 * unlinked and, once no vCPU can be walking them, freed (the TDP MMU frees
 * its page tables after the remote flush the same way). mmu_lock held for
 * write.
 */
void kvm_mmu_free_unused_tables_locked(struct kvm *kvm, uint64_t start, uint64_t end)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	hw_pt_free_range(kvm->hw, kvm->ept_root, true, start << HW_PAGE_SHIFT,
			 end << HW_PAGE_SHIFT, 0, KVM_GFN_MAX << HW_PAGE_SHIFT,
			 kvm_flush_remote_tlbs_cb, kvm);
}

#define KVM_HPAGE_PAGES 512ull   /* 4 KiB pages under one 2 MiB leaf */

static bool kvm_ept_present(uint64_t e)
{
	return e & (EPT_R | EPT_W | EPT_X);
}

/*
 * A 2 MiB leaf is to go where a table of 4 KiB leaves is: the table is
 * unlinked, its leaves zapped, and it is freed once no vCPU can be walking
 * it (the TDP MMU's handle_removed_pt). mmu_lock held for write.
 */
static void kvm_mmu_unlink_table_locked(struct kvm *kvm, uint64_t *pde)
{
	struct kvm_zap_ctx z = { .kvm = kvm, .flush = true };
	uint64_t table_pa = ptep_get_and_clear(pde) & EPT_ADDR;
	uint64_t *pt = hw_pfn_to_host(kvm->hw, table_pa >> HW_PAGE_SHIFT);

	lockdep_assert_held_write(&kvm->mmu_lock);
	for (unsigned int i = 0; i < HW_PT_ENTRIES; i++) {
		uint64_t e = ptep_get_and_clear(&pt[i]);

		if (!kvm_ept_present(e))
			continue;
		z.flush = true;
		z.pfns[z.n++] = (e & EPT_ADDR) >> HW_PAGE_SHIFT;
		if (z.n == KVM_ZAP_BATCH)
			kvm_zap_flush(&z);
	}
	z.flush = true;
	kvm_zap_flush(&z);
	hw_pt_free_table(kvm->hw, table_pa);
}

/*
 * The EPT entry @gfn's leaf of @level goes in, allocating tables on the
 * way. A 4 KiB leaf under an existing 2 MiB one first zaps the 2 MiB leaf
 * (the fault path's split: dirty logging or mixed attributes made the big
 * mapping impossible); a 2 MiB leaf over a table of 4 KiB ones replaces the
 * table. NULL or an error pointer if no memory. mmu_lock held for write.
 */
static uint64_t *kvm_mmu_leaf_entry_locked(struct kvm *kvm, uint64_t gfn, int level)
{
	uint64_t gpa = gfn << HW_PAGE_SHIFT;
	uint64_t *ep = hw_pt_entry(kvm->hw, kvm->ept_root, gpa, level, true, true);

	if (ep == lib_err_ptr(-EEXIST) && level == 1) {
		uint64_t base = gfn & ~(KVM_HPAGE_PAGES - 1);

		kvm_zap_range(kvm, base, base + KVM_HPAGE_PAGES, false);
		ep = hw_pt_entry(kvm->hw, kvm->ept_root, gpa, level, true, true);
	}
	if (!lib_is_err_or_null(ep) && level == 2) {
		uint64_t old = ptep_get(ep);

		if (kvm_ept_present(old) && !(old & EPT_PS))
			kvm_mmu_unlink_table_locked(kvm, ep);
	}
	return ep;
}

/*
 * Installs @pfn (a reference the leaf takes over) at @gfn as a leaf of
 * @level (1: 4 KiB, 2: 2 MiB, @gfn and @pfn then 2 MiB aligned). mmu_lock
 * held for write.
 */
static int kvm_mmu_map_locked(struct kvm *kvm, uint64_t gfn, hw_pfn_t pfn, bool writable,
			      int level, bool readable, bool exec)
{
	uint64_t *ep = kvm_mmu_leaf_entry_locked(kvm, gfn, level);
	uint64_t old, e;

	lockdep_assert_held_write(&kvm->mmu_lock);
	if (lib_is_err_or_null(ep)) {
		hw_folio_put(kvm->hw, pfn);
		return -ENOMEM;
	}
	old = ptep_get(ep);
	if (kvm_ept_present(old) && ((old & EPT_ADDR) >> HW_PAGE_SHIFT) == pfn) {
		writable = writable || (old & EPT_W);
		hw_folio_put(kvm->hw, pfn);   /* the leaf already holds one */
	} else if (kvm_ept_present(old)) {
		hw_folio_put(kvm->hw, (old & EPT_ADDR) >> HW_PAGE_SHIFT);
	}
	/* Heki's permissions narrow R and (supervisor) X; user execution stays (MBEC) */
	e = ept_encode(pfn << HW_PAGE_SHIFT, readable || writable, writable, exec, true);
	if (kvm_mte_maps_tagged(kvm, pfn))
		e |= EPT_MTE;   /* sanitised before it got here (kvm_mte_sanitise) */
	set_pte(ep, level == 2 ? e | EPT_PS : e);
	return 0;
}

/* The stage-2 leaf covering @gpa, 4 KiB or 2 MiB (EPT_PS), or 0 if none. */
uint64_t kvm_mmu_lookup(struct kvm *kvm, uint64_t gpa)
{
	uint64_t *ep, e = 0;

	pthread_rwlock_rdlock(&kvm->mmu_lock);
	ep = hw_pt_entry(kvm->hw, kvm->ept_root, gpa, 1, false, true);
	if (ep == lib_err_ptr(-EEXIST))
		ep = hw_pt_entry(kvm->hw, kvm->ept_root, gpa, 2, false, true);
	if (!lib_is_err_or_null(ep))
		e = ptep_get(ep);
	pthread_rwlock_unlock(&kvm->mmu_lock);
	return e;
}

/* ---- the fault path ---- */

/*
 * mmu_invalidate_retry_gfn, for the gfns [start, end) a leaf would map: an
 * invalidation in progress over any of them, or one that ended since @seq
 * was read, means the page may be stale. Called with mmu_lock held.
 */
static bool kvm_mmu_invalidate_retry(struct kvm *kvm, uint64_t seq, uint64_t start, uint64_t end)
{
	if (kvm->mmu_invalidate_in_progress && start < kvm->mmu_invalidate_range_end &&
	    kvm->mmu_invalidate_range_start < end)
		return true;
	return __atomic_load_n(&kvm->mmu_invalidate_seq, __ATOMIC_RELAXED) != seq;
}

/*
 * get_user_page_fast_only(FOLL_WRITE) for a page KVM already pinned: does
 * the VMM's own page table map @hva to @pfn present, user and writable
 * right now? A lookup of the host page table, as KVM's
 * host_pfn_mapping_level() makes; it never faults anything in.
 */
static bool kvm_host_pte_writable(struct kvm *kvm, uint64_t hva, hw_pfn_t pfn)
{
	const uint64_t need = X86_PTE_P | X86_PTE_RW | X86_PTE_US;
	struct mm *mm = kvm->mm;
	uint64_t *ptep, pte = 0;

	pthread_mutex_lock(&mm->pt_lock);
	ptep = hw_pt_entry(kvm->hw, mm->pgd, hva, 1, false, false);
	if (!lib_is_err_or_null(ptep))
		pte = ptep_get(ptep);
	pthread_mutex_unlock(&mm->pt_lock);
	return (pte & need) == need && ((pte & X86_PTE_ADDR) >> HW_PAGE_SHIFT) == pfn;
}

/*
 * __kvm_faultin_pfn() for a page of the VMM: pins the page behind the
 * slot's hva (FOLL_WRITE on a write). As hva_to_pfn_fast()/_slow() do, a
 * read fault is mapped writable when the VMM's PTE already is writable (so
 * no copy on write is pending), never in a read-only slot.
 * 0, -EFAULT, -ENOMEM.
 */
static long kvm_faultin_pfn_hva(struct kvm *kvm, const struct kvm_memory_slot *slot,
				uint64_t gfn, bool write, hw_pfn_t *pfn, bool *writable)
{
	uint64_t hva = slot->userspace_addr + ((gfn - slot->base_gfn) << HW_PAGE_SHIFT);
	long r;

	pthread_rwlock_rdlock(&kvm->mm->mmap_lock);
	r = gup_one_locked(kvm->mm, hva, write ? FOLL_WRITE : 0, pfn);
	if (r == -EFAULT)   /* hva_to_pfn_remapped(): a PFN map such as a vEPC */
		r = follow_pfnmap_locked(kvm->mm, hva, write, pfn);
	pthread_rwlock_unlock(&kvm->mm->mmap_lock);
	if (r)
		return r;
	*writable = write || (!(slot->flags & KVM_MEM_READONLY) &&
			      kvm_host_pte_writable(kvm, hva, *pfn));
	return 0;
}

/* What the fault found: the page, and how stage 2 may map it. */
struct kvm_page_fault {
	hw_pfn_t pfn;
	bool writable;
	bool private;
	unsigned int max_order;    /* of the backing: 0 or 9 */
	uint64_t attr;             /* the gfn's attributes (Heki bits too) */
};

/*
 * The page for @gfn and whether stage 2 may map it writable
 * (__kvm_mmu_faultin_pfn): private gfns, and every gfn of a
 * KVM_MEMSLOT_GMEM_ONLY slot, come from the slot's guest_memfd, always
 * writable (such a slot is never read-only or logged), with the order its
 * folio allows; the others from the VMM's mapping, whose host level
 * (host_pfn_mapping_level) is always 4 KiB: memvisor's kernel maps no
 * huge pages. A private gfn in a slot without a guest_memfd is a memory
 * fault for the VMM.
 */
static enum kvm_pf_result kvm_mmu_faultin_pfn(struct kvm *kvm, const struct kvm_memory_slot *slot,
					      uint64_t gfn, bool write, struct kvm_page_fault *f)
{
	long r;

	f->private = kvm_mem_is_private(kvm, gfn);
	f->max_order = 0;
	if (f->private && !slot->gmem)
		return KVM_PF_EFAULT_PRIVATE;
	if (f->private || kvm_memslot_is_gmem_only(slot)) {
		f->writable = true;
		r = kvm_gmem_get_pfn(slot, gfn, &f->pfn, &f->max_order);
	} else {
		r = kvm_faultin_pfn_hva(kvm, slot, gfn, write, &f->pfn, &f->writable);
	}
	/*
	 * guest_memfd's -ENOMEM is KVM_RUN's; a VMM page GUP could not get,
	 * for whatever reason, is KVM_PFN_ERR_FAULT in hva_to_pfn(): -EFAULT
	 * with a memory-fault exit (kvm_handle_error_pfn).
	 */
	if (r == -ENOMEM && (f->private || kvm_memslot_is_gmem_only(slot)))
		return KVM_PF_NOMEM;
	if (r)
		return f->private ? KVM_PF_EFAULT_PRIVATE : KVM_PF_EFAULT;
	return KVM_PF_FIXED;
}

/*
 * kvm_mmu_hugepage_adjust(): the level to map @gfn at. 2 MiB only when the
 * backing is a 2 MiB page, the slot logs no dirty pages, the 2 MiB-aligned
 * range lies wholly inside the slot, the slot's gfns and VMM addresses are
 * 2 MiB-congruent (otherwise lpage_info disallows every huge page of the
 * slot), and the range's attributes are not mixed (private and shared
 * within 2 MiB). Otherwise 4 KiB.
 */
static int kvm_mmu_hugepage_adjust(struct kvm *kvm, const struct kvm_memory_slot *slot,
				   uint64_t gfn, const struct kvm_page_fault *f)
{
	uint64_t base = gfn & ~(KVM_HPAGE_PAGES - 1);
	uint64_t ugfn = slot->userspace_addr >> HW_PAGE_SHIFT;

	if (f->max_order < 9)
		return 1;
	if (slot->flags & KVM_MEM_LOG_DIRTY_PAGES)
		return 1;
	if (base < slot->base_gfn || base + KVM_HPAGE_PAGES > slot->base_gfn + slot->npages)
		return 1;
	if ((slot->base_gfn ^ ugfn) & (KVM_HPAGE_PAGES - 1))
		return 1;
	if (!kvm_attr_range_is(kvm, base, base + KVM_HPAGE_PAGES, KVM_MEMORY_ATTRIBUTE_PRIVATE,
			       f->private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0))
		return 1;
	/* nor mixed Heki permissions */
	if (!kvm_attr_range_is(kvm, base, base + KVM_HPAGE_PAGES, KVM_HEKI_ATTR_MASK,
			       f->attr & KVM_HEKI_ATTR_MASK))
		return 1;
	return 2;
}

/* One attempt; 1 means "retry". Called with srcu held. */
static int kvm_mmu_fault_once(struct kvm *kvm, const struct kvm_memory_slot *slot, uint64_t gfn,
			      uint64_t qual, enum kvm_pf_result *res)
{
	uint64_t seq = __atomic_load_n(&kvm->mmu_invalidate_seq, __ATOMIC_ACQUIRE);
	struct kvm_page_fault f = { .writable = false };
	bool write = qual & EPT_QUAL_WRITE, hr, hw, hx;
	int level;
	long r;

	/* Heki: read after the sequence, so a concurrent protect makes this retry */
	f.attr = kvm_attr_get(kvm, gfn);
	if (!kvm_heki_s2_allows(kvm, f.attr, qual, &hr, &hw, &hx)) {
		*res = KVM_PF_HEKI_DENIED;
		return 0;
	}
	*res = kvm_mmu_faultin_pfn(kvm, slot, gfn, write, &f);
	if (*res != KVM_PF_FIXED)
		return 0;
	f.writable = f.writable && hw;
	level = kvm_mmu_hugepage_adjust(kvm, slot, gfn, &f);
	pthread_rwlock_wrlock(&kvm->mmu_lock);
	/* a 2 MiB leaf needs its whole range quiet (Linux checks the faulting gfn only) */
	if (level == 2 ? kvm_mmu_invalidate_retry(kvm, seq, gfn & ~(KVM_HPAGE_PAGES - 1),
						  (gfn | (KVM_HPAGE_PAGES - 1)) + 1)
		       : kvm_mmu_invalidate_retry(kvm, seq, gfn, gfn + 1)) {
		pthread_rwlock_unlock(&kvm->mmu_lock);
		hw_folio_put(kvm->hw, f.pfn);
		__atomic_fetch_add(&kvm->stage2_retries, 1, __ATOMIC_RELAXED);
		return 1;
	}
	if (kvm_mte_maps_tagged(kvm, f.pfn))   /* sanitise_mte_tags(): the whole leaf first */
		kvm_mte_sanitise(kvm, level == 2 ? f.pfn - (gfn & (KVM_HPAGE_PAGES - 1)) : f.pfn,
				 level == 2 ? 9 : 0);
	if (level == 2)
		r = kvm_mmu_map_locked(kvm, gfn & ~(KVM_HPAGE_PAGES - 1),
				       f.pfn - (gfn & (KVM_HPAGE_PAGES - 1)), f.writable, 2, hr, hx);
	else
		r = kvm_mmu_map_locked(kvm, gfn, f.pfn, f.writable, 1, hr, hx);
	/*
	 * make_spte(): a writable leaf in a logged slot marks the page dirty,
	 * whether a write or a read mapped it so: logging write-protects
	 * pages to see writes, it does not keep reads read-only. (A logged
	 * slot is only ever mapped 4 KiB.)
	 */
	if (!r && f.writable && slot->dirty_bitmap) {
		uint64_t bit = gfn - slot->base_gfn;

		__atomic_fetch_or(&slot->dirty_bitmap[bit / 64], 1ul << (bit % 64), __ATOMIC_RELAXED);
	}
	pthread_rwlock_unlock(&kvm->mmu_lock);
	*res = r ? KVM_PF_NOMEM : KVM_PF_FIXED;
	return 0;
}

static void kvm_trace_s2_fault(struct kvm *kvm, uint64_t gpa, bool write, enum kvm_pf_result r)
{
	static const char *const names[] = {
		[KVM_PF_FIXED] = "fixed",
		[KVM_PF_MMIO] = "mmio",
		[KVM_PF_EFAULT] = "efault",
		[KVM_PF_NOMEM] = "nomem",
		[KVM_PF_EFAULT_PRIVATE] = "efault_private",
		[KVM_PF_HEKI_DENIED] = "heki_denied",
	};
	struct lib_trace_ev ev;

	if (!lib_trace_begin(&ev, &kvm->hw->trace, "kvm_s2_fault"))
		return;
	lib_trace_u64(&ev, "vm", kvm->vmid);
	lib_trace_hex(&ev, "gpa", gpa);
	lib_trace_bool(&ev, "write", write);
	lib_trace_str(&ev, "result",
		      (size_t)r < sizeof(names) / sizeof(names[0]) && names[r] ? names[r] : "?");
	lib_trace_emit(&ev);
}

static enum kvm_pf_result kvm_mmu_fault_slot(struct kvm *kvm, uint64_t gfn, uint64_t qual);

enum kvm_pf_result kvm_mmu_page_fault(struct kvm_vcpu *vcpu, uint64_t gpa, uint64_t qual)
{
	struct kvm *kvm = vcpu->kvm;
	bool write = qual & EPT_QUAL_WRITE;
	enum kvm_pf_result r;

	__atomic_fetch_add(&kvm->stage2_faults, 1, __ATOMIC_RELAXED);
	r = kvm_mmu_fault_slot(kvm, gpa >> HW_PAGE_SHIFT, qual);
	if (lib_trace_on(&kvm->hw->trace))
		kvm_trace_s2_fault(kvm, gpa, write, r);
	return r;
}

/* Finds the slot (retrying while it is being deleted or moved) and maps the page. */
static enum kvm_pf_result kvm_mmu_fault_slot(struct kvm *kvm, uint64_t gfn, uint64_t qual)
{
	enum kvm_pf_result res = KVM_PF_FIXED;
	bool write = qual & EPT_QUAL_WRITE;

	for (;;) {
		int idx = kvm_srcu_read_lock(&kvm->srcu);
		struct kvm_memory_slot *slot = kvm_memslot_find(kvm_memslots_get(kvm), gfn);
		int again;

		if (slot && (slot->flags & KVM_MEMSLOT_INVALID)) {
			kvm_srcu_read_unlock(&kvm->srcu, idx);
			sched_yield();
			continue;
		}
		if (!slot || (write && (slot->flags & KVM_MEM_READONLY))) {
			kvm_srcu_read_unlock(&kvm->srcu, idx);
			/*
			 * A private access needs a slot that can back it, as
			 * KVM's private fault path says: without one it is a
			 * memory fault for the VMM, never MMIO.
			 */
			return kvm_mem_is_private(kvm, gfn) ? KVM_PF_EFAULT_PRIVATE : KVM_PF_MMIO;
		}
		again = kvm_mmu_fault_once(kvm, slot, gfn, qual, &res);
		kvm_srcu_read_unlock(&kvm->srcu, idx);
		if (!again)
			return res;
	}
}

/* ---- invalidation: one path for MMU notifiers, guest_memfd and attributes ---- */

/* kvm_mmu_invalidate_range_add(). Called with mmu_lock held for write. */
static void kvm_mmu_invalidate_range_add(struct kvm *kvm, uint64_t start, uint64_t end)
{
	if (kvm->mmu_invalidate_range_start >= kvm->mmu_invalidate_range_end) {
		kvm->mmu_invalidate_range_start = start;
		kvm->mmu_invalidate_range_end = end;
		return;
	}
	if (start < kvm->mmu_invalidate_range_start)
		kvm->mmu_invalidate_range_start = start;
	if (end > kvm->mmu_invalidate_range_end)
		kvm->mmu_invalidate_range_end = end;
}

static void kvm_trace_invalidate(struct kvm *kvm, uint64_t start, uint64_t end)
{
	struct lib_trace_ev ev;

	if (!lib_trace_begin(&ev, &kvm->hw->trace, "kvm_invalidate"))
		return;
	lib_trace_u64(&ev, "vm", kvm->vmid);
	lib_trace_hex(&ev, "gfn_start", start);
	lib_trace_hex(&ev, "gfn_end", end);
	lib_trace_emit(&ev);
}

/* kvm_unmap_gfn_range(): [start, end) joins the range and is zapped. mmu_lock held for write. */
static void kvm_unmap_gfn_range_locked(struct kvm *kvm, uint64_t start, uint64_t end)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	kvm_mmu_invalidate_range_add(kvm, start, end);
	kvm_zap_range(kvm, start, end, false);
	kvm_trace_invalidate(kvm, start, end);
}

/*
 * The opening half every invalidation shares: memslot changes wait for the
 * active count to drain (kvm_mn_wait_idle_locked), faults see the
 * in-progress count and range. Returns with mmu_lock held for write.
 */
static void kvm_mmu_invalidate_begin_lock(struct kvm *kvm)
{
	pthread_mutex_lock(&kvm->mn_lock);
	kvm->mn_active_invalidate_count++;
	pthread_mutex_unlock(&kvm->mn_lock);
	pthread_rwlock_wrlock(&kvm->mmu_lock);
	if (kvm->mmu_invalidate_in_progress++ == 0) {
		kvm->mmu_invalidate_range_start = KVM_GFN_MAX;
		kvm->mmu_invalidate_range_end = 0;
	}
}

/* guest_memfd punches and attribute changes: gfns [start, end). */
void kvm_mmu_invalidate_begin(struct kvm *kvm, uint64_t start, uint64_t end)
{
	kvm_mmu_invalidate_begin_lock(kvm);
	kvm_unmap_gfn_range_locked(kvm, start, end);
	pthread_rwlock_unlock(&kvm->mmu_lock);
}

void kvm_mmu_invalidate_end(struct kvm *kvm)
{
	pthread_rwlock_wrlock(&kvm->mmu_lock);
	/* the sequence moves before the count drops: a racing fault sees one or the other */
	__atomic_fetch_add(&kvm->mmu_invalidate_seq, 1, __ATOMIC_RELEASE);
	kvm->mmu_invalidate_in_progress--;
	pthread_rwlock_unlock(&kvm->mmu_lock);
	pthread_mutex_lock(&kvm->mn_lock);
	if (--kvm->mn_active_invalidate_count == 0)
		pthread_cond_broadcast(&kvm->mn_cond);
	pthread_mutex_unlock(&kvm->mn_lock);
}

/* ---- MMU notifier on the VMM's mm ---- */

static struct kvm *mmu_notifier_to_kvm(struct mmu_notifier *mn)
{
	return lib_container_of(mn, struct kvm, mmu_notifier);
}

/*
 * kvm_mmu_notifier_invalidate_range_start(): every slot's gfns backed by
 * [hstart, hend) of the VMM are unmapped, in the same bracket as a
 * guest_memfd invalidation.
 */
static void kvm_mmu_notifier_invalidate_range_start(struct mmu_notifier *mn, struct mm *mm,
						    uint64_t hstart, uint64_t hend)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);
	const struct kvm_memslots *ms;
	int idx = kvm_srcu_read_lock(&kvm->srcu);

	kvm_mmu_invalidate_begin_lock(kvm);
	ms = kvm_memslots_get(kvm);
	for (unsigned int i = 0; i < ms->nr; i++) {
		const struct kvm_memory_slot *s = ms->slots[i];
		uint64_t sstart = s->userspace_addr, send = sstart + (s->npages << HW_PAGE_SHIFT);
		uint64_t lo = hstart > sstart ? hstart : sstart, hi = hend < send ? hend : send;

		if (lo >= hi)
			continue;
		kvm_unmap_gfn_range_locked(kvm, s->base_gfn + ((lo - sstart) >> HW_PAGE_SHIFT),
					   s->base_gfn + ((hi - sstart + K_PAGE_SIZE - 1) >> HW_PAGE_SHIFT));
	}
	pthread_rwlock_unlock(&kvm->mmu_lock);
	kvm_srcu_read_unlock(&kvm->srcu, idx);
}

static void kvm_mmu_notifier_invalidate_range_end(struct mmu_notifier *mn, struct mm *mm,
						  uint64_t start, uint64_t end)
{
	kvm_mmu_invalidate_end(mmu_notifier_to_kvm(mn));
}

/* kvm_mmu_notifier_release(): the address space is going away; drop all of stage 2. */
static void kvm_mmu_notifier_release(struct mmu_notifier *mn, struct mm *mm)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);

	__atomic_store_n(&kvm->mm_gone, true, __ATOMIC_RELEASE);
	pthread_rwlock_wrlock(&kvm->mmu_lock);
	kvm_zap_range(kvm, 0, KVM_GFN_MAX, false);
	pthread_rwlock_unlock(&kvm->mmu_lock);
}

static const struct mmu_notifier_ops kvm_mmu_notifier_ops = {
	.invalidate_start = kvm_mmu_notifier_invalidate_range_start,
	.invalidate_end = kvm_mmu_notifier_invalidate_range_end,
	.release = kvm_mmu_notifier_release,
};

/*
 * kvm_init_mmu_notifier(): the VM keeps the mm struct (mmgrab), not the
 * address space, which may be torn down first (->release then runs).
 */
void kvm_init_mmu_notifier(struct kvm *kvm)
{
	kvm->mmu_notifier.ops = &kvm_mmu_notifier_ops;
	mmgrab(kvm->mm);
	mmu_notifier_register(kvm->mm, &kvm->mmu_notifier);
}

/* kvm_destroy_vm()'s half: after this no callback runs, then the mm struct goes. */
void kvm_destroy_mmu_notifier(struct kvm *kvm)
{
	if (!kvm->mmu_notifier.ops)
		return;
	mmu_notifier_unregister(kvm->mm, &kvm->mmu_notifier);
	mmdrop(kvm->mm);
	kvm->mmu_notifier.ops = NULL;
}

void kvm_mn_wait_idle_locked(struct kvm *kvm)
{
	pthread_mutex_lock(&kvm->mn_lock);
	while (kvm->mn_active_invalidate_count)
		pthread_cond_wait(&kvm->mn_cond, &kvm->mn_lock);
}

/* ---- lifetime ---- */

int kvm_mmu_init(struct kvm *kvm)
{
	return hw_pt_alloc_table(kvm->hw, &kvm->ept_root);
}

static void kvm_mmu_free_leaf(void *ctx, uint64_t gpa, uint64_t *entry, int level)
{
	struct kvm *kvm = ctx;

	hw_folio_put(kvm->hw, (ptep_get(entry) & EPT_ADDR) >> HW_PAGE_SHIFT);
}

void kvm_mmu_destroy(struct kvm *kvm)
{
	if (!kvm->ept_root)
		return;
	hw_tlb_shootdown(kvm->hw);
	hw_pt_free_tree(kvm->hw, kvm->ept_root, true, kvm_mmu_free_leaf, kvm);
	kvm->ept_root = 0;
}
