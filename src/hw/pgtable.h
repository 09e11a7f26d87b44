/* SPDX-License-Identifier: MIT */
/*
 * Page-table formats, bit for bit: x86-64 4-level paging (stage 1) and EPT
 * (stage 2). Tables are 4 KiB frames of simulated physical memory, so the
 * hardware walker, a guest kernel and the hypervisor all read the same
 * bytes.
 *
 * Stage 1: a shadow-stack page is a present leaf with RW=0 and D=1 (with
 * RW=1 on every upper level). Ordinary memory must therefore never carry
 * RW=0,D=1: when the kernel write-protects a dirty PTE it moves D into the
 * software bit X86_PTE_SAVED_DIRTY instead.
 */
#ifndef MV_HW_PGTABLE_H
#define MV_HW_PGTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/phys.h"
#include "lib/compiler.h"

/* ---- x86-64 stage 1 ---- */
#define X86_PTE_P      (1ull << 0)
#define X86_PTE_RW     (1ull << 1)
#define X86_PTE_US     (1ull << 2)
#define X86_PTE_PWT    (1ull << 3)
#define X86_PTE_PCD    (1ull << 4)
#define X86_PTE_A      (1ull << 5)
#define X86_PTE_D      (1ull << 6)
#define X86_PTE_PS     (1ull << 7)    /* large page at levels 2 and 3 */
#define X86_PTE_G      (1ull << 8)
#define X86_PTE_SW_COW (1ull << 9)    /* software: write-protected for copy on write */
#define X86_PTE_SAVED_DIRTY (1ull << 58) /* software: dirty but write-protected */
/* memvisor's MTE extension (hw/mte.h): a leaf with it maps Normal-Tagged memory */
#define X86_PTE_MTE    (1ull << 57)
#define X86_PTE_NX     (1ull << 63)
#define X86_PTE_ADDR   0x000ffffffffff000ull

/* ---- EPT stage 2 ---- */
#define EPT_R          (1ull << 0)
#define EPT_W          (1ull << 1)
#define EPT_X          (1ull << 2)    /* supervisor-mode execute with MBEC, any execute without */
#define EPT_MT_WB      (6ull << 3)
#define EPT_IPAT       (1ull << 6)
#define EPT_PS         (1ull << 7)
#define EPT_A          (1ull << 8)
#define EPT_D          (1ull << 9)
#define EPT_UX         (1ull << 10)   /* user-mode execute (MBEC) */
#define EPT_MTE        (1ull << 57)   /* memvisor's MTE extension: guest accesses are tag checked */
#define EPT_ADDR       0x000ffffffffff000ull

#define HW_PT_LEVELS   4
#define HW_PT_ENTRIES  512

/* Index of @va in the table at @level (4 = PML4 .. 1 = PT). */
static inline unsigned int hw_pt_index(uint64_t va, int level)
{
	return (unsigned int)((va >> (HW_PAGE_SHIFT + 9 * (level - 1))) & 511);
}

/* Bytes covered by one entry at @level: 4 KiB, 2 MiB, 1 GiB, 512 GiB. */
static inline uint64_t hw_pt_level_size(int level)
{
	return 1ull << (HW_PAGE_SHIFT + 9 * (level - 1));
}

/*
 * ---- entry accessors ----
 * The hardware walker (hw_mmu_translate) reads page-table and EPT entries
 * on any host thread without a lock and sets A/D bits with a
 * compare-and-exchange, exactly as a CPU does. So every read of an entry
 * is ptep_get() and every write set_pte() (or a cmpxchg when the old value
 * matters), named after Linux's accessors; no code outside these helpers
 * dereferences an entry pointer (tests/check_pte_access.sh enforces it).
 * Owners still serialise their writers (mm->pt_lock, kvm->mmu_lock); the
 * accessors only make each word's publication atomic and ordered: a table
 * or frame is fully initialised before the entry pointing at it is seen.
 */
static inline uint64_t ptep_get(const uint64_t *ptep)
{
	return smp_load_acquire(ptep);
}

static inline void set_pte(uint64_t *ptep, uint64_t pte)
{
	smp_store_release(ptep, pte);
}

static inline void pte_clear(uint64_t *ptep)
{
	set_pte(ptep, 0);
}

/* Clears the entry and returns what it held, A/D bits included. */
static inline uint64_t ptep_get_and_clear(uint64_t *ptep)
{
	return __atomic_exchange_n(ptep, 0, __ATOMIC_ACQ_REL);
}

/*
 * Replaces *ptep with @pte if it still holds *old; otherwise *old gets the
 * current value. Writers that rewrite a live entry (protection changes,
 * write-protect for fork or dirty logging) loop on it so an A or D bit the
 * walker sets meanwhile is never lost (Linux: ptep_modify_prot_start/commit,
 * ptep_set_wrprotect's atomic bit clear).
 */
static inline bool ptep_try_cmpxchg(uint64_t *ptep, uint64_t *old, uint64_t pte)
{
	return try_cmpxchg(ptep, old, pte);
}

/* ---- decoded views, for tests, tools and the walker ---- */
struct x86_pte_view {
	uint64_t pa;
	bool present, writable, user, accessed, dirty, large, nx;
	bool shstk;        /* RW=0 && D=1 (meaningful at a leaf) */
};
struct x86_pte_view x86_pte_decode(uint64_t pte);

/* Leaf permissions as the kernel asks for them. */
#define HW_S1_WRITE  (1u << 0)
#define HW_S1_USER   (1u << 1)
#define HW_S1_EXEC   (1u << 2)
#define HW_S1_SHSTK  (1u << 3)    /* encode as shadow stack: RW=0, D=1 */
#define HW_S1_DIRTY  (1u << 4)
#define HW_S1_ACCESSED (1u << 5)
uint64_t x86_pte_encode(uint64_t pa, unsigned int perms);

struct ept_view {
	uint64_t pa;
	bool r, w, x, ux, large, accessed, dirty;
};
struct ept_view ept_decode(uint64_t epte);
uint64_t ept_encode(uint64_t pa, bool r, bool w, bool x, bool ux);

/* ---- table management (callers serialise per tree) ---- */

/*
 * Allocates a zeroed table frame (HW_FRAME_PGTABLE), counted in
 * m->nr_pgtables. 0 or -ENOMEM. hw_pt_free_table() gives one back.
 */
MV_MUST_CHECK int hw_pt_alloc_table(struct hw_machine *m, uint64_t *table_pa);
void hw_pt_free_table(struct hw_machine *m, uint64_t table_pa);

/*
 * The entry for @va at @level (1 = 4 KiB leaf, 2 = 2 MiB) of the tree at
 * @root, as a host pointer. With @alloc, missing intermediate tables are
 * allocated (stage-1 intermediates get P|RW|US, EPT intermediates R|W|X|UX,
 * so permissions are decided at the leaf); without, NULL if absent.
 * ERR_PTR(-ENOMEM) on allocation failure, ERR_PTR(-EEXIST) if a large leaf
 * already covers @va above @level, ERR_PTR(-EINVAL) for a level outside
 * 1..3, ERR_PTR(-EFAULT) if the tree points outside RAM.
 */
uint64_t *hw_pt_entry(struct hw_machine *m, uint64_t root, uint64_t va, int level, bool alloc,
		      bool ept);

/*
 * Frees every table of the tree (not the leaf frames). @leaf, if not NULL,
 * is called for every present leaf first, so the owner can drop its
 * references.
 */
typedef void (*hw_pt_leaf_fn)(void *ctx, uint64_t va, uint64_t *entry, int level);
void hw_pt_free_tree(struct hw_machine *m, uint64_t root, bool ept, hw_pt_leaf_fn leaf, void *ctx);

/*
 * Calls @fn for each present leaf mapping that overlaps [start, end), in
 * address order (stage-1 addresses are canonical, so the upper half comes
 * last). @fn may rewrite the entry. Tables that become empty are NOT freed
 * here.
 */
void hw_pt_for_each_leaf(struct hw_machine *m, uint64_t root, bool ept, uint64_t start,
			 uint64_t end, hw_pt_leaf_fn fn, void *ctx);

/*
 * free_pgd_range(): after [start, end) was unmapped, frees every table
 * below @root that maps only addresses inside [floor, ceiling) (the span
 * no neighbouring mapping uses) and holds no present entry, clearing the
 * entry that pointed at it. The tables are freed in batches, each after
 * @flush(@ctx) returns: the owner's shootdown that waits until no walker
 * can still be inside them (hw_tlb_shootdown_sync for stage 1, KVM's
 * remote flush for EPT). Returns the number of tables freed. The caller
 * serialises against every other writer of the tree.
 */
typedef void (*hw_pt_flush_fn)(void *ctx);
uint64_t hw_pt_free_range(struct hw_machine *m, uint64_t root, bool ept, uint64_t start,
			  uint64_t end, uint64_t floor, uint64_t ceiling, hw_pt_flush_fn flush,
			  void *ctx);

#endif
