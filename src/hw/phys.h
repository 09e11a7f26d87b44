/* SPDX-License-Identifier: MIT */
/*
 * The simulated machine and its physical memory.
 *
 * RAM is one lazily backed host mapping (MAP_NORESERVE): a 64 GiB machine
 * costs only the frames it touches. Frames are handed out by a buddy
 * allocator (orders 0..HW_MAX_ORDER, so 2 MiB folios exist); every 4 KiB
 * frame has 16 bytes of metadata (struct hw_frame). Physical frame 0 is
 * reserved so that pfn 0 / pa 0 can mean "none".
 */
#ifndef MV_HW_PHYS_H
#define MV_HW_PHYS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/list.h"
#include "lib/prng.h"
#include "lib/trace.h"

#define HW_PAGE_SHIFT 12
#define HW_PAGE_SIZE  (1ull << HW_PAGE_SHIFT)
#define HW_PAGE_MASK  (~(HW_PAGE_SIZE - 1))
#define HW_HPAGE_SHIFT 21
#define HW_HPAGE_SIZE (1ull << HW_HPAGE_SHIFT)
#define HW_MAX_ORDER  9                   /* 2^9 pages = 2 MiB */

#define HW_PFN_NONE 0u

typedef uint64_t hw_pfn_t;

/*
 * Per-frame metadata: 16 bytes per 4 KiB frame (0.39%). The head frame of
 * an allocated block (a folio) carries its order and the reference count;
 * tail frames point at nothing and are found through hw_folio_head().
 */
struct hw_frame {
	uint32_t flags;        /* HW_FRAME_* and the order (bits 28..31); atomic (hw_frame_flags) */
	uint32_t refcount;     /* head: references; atomic */
	union {
		struct {           /* free block head: buddy free-list links (pfn, 32 bits) */
			uint32_t next, prev;
		} buddy;
		struct {           /* allocated: for the owner */
			uint32_t mapcount; /* owner-defined; zeroed at allocation, unused today */
			uint32_t private;  /* owner-defined; zeroed at allocation, unused today */
		} use;
	};
};

/* Frame flags. Owners (kernel, kvm) may use HW_FRAME_OWNER0..3 as they like. */
#define HW_FRAME_FREE        (1u << 0)   /* head of a free buddy block */
#define HW_FRAME_HEAD        (1u << 1)   /* head of an allocated block */
#define HW_FRAME_TAIL        (1u << 2)   /* inside an allocated block, not its head */
#define HW_FRAME_RESERVED    (1u << 3)   /* never allocated (pfn 0, EPC, ...) */
#define HW_FRAME_PGTABLE     (1u << 4)   /* holds a page table */
#define HW_FRAME_ANON        (1u << 5)
#define HW_FRAME_PAGECACHE   (1u << 6)
#define HW_FRAME_UNMOVABLE   (1u << 7)
#define HW_FRAME_UNEVICTABLE (1u << 8)
#define HW_FRAME_TAGGED      (1u << 9)   /* MTE: allocation tags are valid (PG_mte_tagged) */
#define HW_FRAME_ZEROED      (1u << 10)  /* free block head only: contents known to be zero */
#define HW_FRAME_MTE_LOCK    (1u << 15)  /* MTE: tags being initialised (PG_mte_lock), hw/mte.h */
#define HW_FRAME_OWNER0      (1u << 16)
#define HW_FRAME_OWNER1      (1u << 17)
#define HW_FRAME_OWNER2      (1u << 18)
#define HW_FRAME_OWNER3      (1u << 19)
#define HW_FRAME_ORDER_SHIFT 28

/* hw_frames_alloc() flags */
#define HW_ALLOC_ZERO        (1u << 0)   /* zero the block (Linux __GFP_ZERO) */

struct hw_phys_stats {
	uint64_t allocs, frees, alloc_failures;
	uint64_t splits, merges;
	uint64_t zeroed_bytes;
};

struct hw_phys {
	uint8_t *base;                /* host mapping of all RAM */
	uint64_t bytes;
	uint64_t nr_frames;           /* RAM frames: the buddy allocator's */
	/*
	 * SGX: the EPC's frames follow RAM's, in the host mapping (base) and
	 * in frames[] (hw/sgx.h owns them; the buddy allocator never sees them).
	 */
	uint64_t epc_frames;
	struct hw_frame *frames;      /* nr_frames + epc_frames entries */
	pthread_mutex_t lock;         /* protects the free lists and counters below */
	uint32_t free_head[HW_MAX_ORDER + 1];
	uint64_t nr_free[HW_MAX_ORDER + 1];   /* blocks per order */
	uint64_t free_frames;         /* including the uncarved tail */
	/*
	 * Free frames whose host pages may still be resident (blocks without
	 * HW_FRAME_ZEROED), and how many the machine keeps before it gives
	 * freed 2 MiB blocks back to the host (madvise(MADV_DONTNEED)).
	 */
	uint64_t free_kept_frames;
	uint64_t resident_cap_frames;
	uint64_t returned_blocks;     /* max-order blocks given back, ever */
	uint64_t carve_pfn;           /* frames from here up are free and on no list */
	struct hw_phys_stats stats;
};

struct hw_epc;

struct hw_machine_config {
	uint64_t ram_bytes;
	uint64_t features;            /* MV_FEAT_* present on this machine */
	uint64_t epc_bytes;
	uint32_t abi;
	uint64_t seed;
	uint64_t resident_cap_bytes;  /* free memory kept resident; 0: give it back at once */
};

/*
 * The machine: everything mutable hangs off it, so tests build many side
 * by side. TLB shootdowns are a machine-wide generation: bumping it makes
 * every CPU flush its TLB before its next access.
 */
struct hw_machine {
	struct hw_machine_config cfg;
	struct hw_phys phys;
	uint64_t tlb_gen;             /* atomic */
	uint64_t nr_pgtables;         /* atomic: table frames of every tree (pgtable.c) */
	/*
	 * Access brackets (hw/cpu.h): with asym_fence, a CPU opens its bracket
	 * with a plain store and a shootdown pays for the ordering with an
	 * expedited membarrier; without it both sides use seq_cst. Fixed at
	 * init. cpus lists the CPUs hw_tlb_shootdown_sync() waits for.
	 */
	bool asym_fence;
	pthread_mutex_t cpus_lock;
	struct lib_list cpus;         /* struct hw_cpu.cpu_link, under cpus_lock */
	struct lib_prng prng;         /* guarded by prng_lock */
	pthread_mutex_t prng_lock;
	struct lib_trace trace;
	/* SGX: the EPC and its EPCM (hw/sgx.h), NULL without MV_FEAT_SGX; set at init. */
	struct hw_epc *epc;
	uint64_t *mte_tags;           /* MTE tag storage (hw/mte.h): words atomic; NULL without MTE */
};

/* 0, -EINVAL (ram not a multiple of 2 MiB, below 4 MiB, or past 1 TiB), -ENOMEM. */
MV_MUST_CHECK int hw_machine_init(struct hw_machine *m, const struct hw_machine_config *cfg);
void hw_machine_fini(struct hw_machine *m);

static inline bool hw_has(const struct hw_machine *m, uint64_t feature)
{
	return (m->cfg.features & feature) == feature;
}

/*
 * Machine-wide TLB shootdown: every CPU flushes before its next access.
 * It does not wait: a CPU already inside an access keeps its translation
 * until the access ends. hw_tlb_shootdown_sync() also waits until every
 * registered CPU has left the bracket it was in, as a flush IPI waits for
 * its acknowledgements: only then may a page whose translation was
 * removed be freed or reused. Like a flush IPI sent to the CPUs in the
 * mm's cpumask, it waits only for CPUs registered with @as_tag (0: all).
 */
void hw_tlb_shootdown(struct hw_machine *m);
void hw_tlb_shootdown_sync(struct hw_machine *m, uint64_t as_tag);
/* The heavy side of the bracket protocol: orders every CPU's bracket store before our loads. */
void hw_fence_heavy(struct hw_machine *m);

/* ---- frames ---- */

/*
 * Allocates 2^order contiguous, naturally aligned frames; the head gets
 * refcount 1 and HW_FRAME_HEAD | @frame_flags, tails HW_FRAME_TAIL and the
 * order, and every frame's use fields are zero. 0 and *pfn, -ENOMEM (also
 * when lib_fail_now() says so), or -EINVAL (order > HW_MAX_ORDER, unknown
 * alloc flags, or allocator-owned bits in @frame_flags).
 */
MV_MUST_CHECK int hw_frames_alloc(struct hw_machine *m, unsigned int order, unsigned int alloc_flags,
				  uint32_t frame_flags, hw_pfn_t *pfn);
/*
 * Returns a block to the buddy allocator (refcount is not consulted). An
 * invalid pfn or a misaligned block is ignored.
 */
void hw_frames_free(struct hw_machine *m, hw_pfn_t pfn, unsigned int order);

static inline struct hw_frame *hw_frame(const struct hw_machine *m, hw_pfn_t pfn)
{
	return &m->phys.frames[pfn];
}
static inline void *hw_pfn_to_host(const struct hw_machine *m, hw_pfn_t pfn)
{
	return m->phys.base + (pfn << HW_PAGE_SHIFT);
}
static inline void *hw_pa_to_host(const struct hw_machine *m, uint64_t pa)
{
	return m->phys.base + pa;
}
static inline bool hw_pfn_valid(const struct hw_machine *m, hw_pfn_t pfn)
{
	return pfn != 0 && pfn < m->phys.nr_frames;
}
/*
 * A frame's flags are read without the allocator's lock (an owner asking
 * whether a page is anonymous, the allocator looking at a neighbour it may
 * merge with), so they are always read and written as one atomic word.
 */
static inline uint32_t hw_frame_flags(const struct hw_machine *m, hw_pfn_t pfn)
{
	return READ_ONCE(m->phys.frames[pfn].flags);
}
/* An owner sets or clears its own bits (HW_FRAME_OWNER*, TAGGED) atomically. */
static inline void hw_frame_set_flags(struct hw_machine *m, hw_pfn_t pfn, uint32_t bits)
{
	__atomic_fetch_or(&m->phys.frames[pfn].flags, bits, __ATOMIC_RELAXED);
}
static inline void hw_frame_clear_flags(struct hw_machine *m, hw_pfn_t pfn, uint32_t bits)
{
	__atomic_fetch_and(&m->phys.frames[pfn].flags, ~bits, __ATOMIC_RELAXED);
}
static inline unsigned int hw_frame_order(const struct hw_frame *f)
{
	return READ_ONCE(f->flags) >> HW_FRAME_ORDER_SHIFT;
}

/* The head pfn of the allocated block containing @pfn. */
hw_pfn_t hw_folio_head(const struct hw_machine *m, hw_pfn_t pfn);
/* Reference counting on the folio containing @pfn; the last put frees it. */
void hw_folio_get(struct hw_machine *m, hw_pfn_t pfn);
void hw_folio_put(struct hw_machine *m, hw_pfn_t pfn);
uint32_t hw_folio_refcount(const struct hw_machine *m, hw_pfn_t pfn);
/*
 * Splits an allocated block into 2^order order-0 folios, each with the
 * head's flags and refcount 1 (the caller owns each piece's reference).
 */
void hw_folio_split(struct hw_machine *m, hw_pfn_t head);

uint64_t hw_phys_free_frames(struct hw_machine *m);

/*
 * What the machine costs the host now: RAM pages resident (mincore), the
 * part of them that is free memory not yet given back, and frame metadata.
 */
struct hw_host_usage {
	uint64_t ram_resident_bytes;
	uint64_t free_kept_bytes;
	uint64_t meta_resident_bytes;
	uint64_t tag_resident_bytes;    /* MTE tag storage (hw/mte.c), 0 without MTE */
};
void hw_phys_host_usage(struct hw_machine *m, struct hw_host_usage *out);

/* Set up / tear down RAM (called by hw_machine_init/fini). 0 or -ENOMEM. */
MV_MUST_CHECK int hw_phys_init(struct hw_phys *p, uint64_t bytes, uint64_t epc_bytes,
			       uint64_t resident_cap_bytes);
void hw_phys_fini(struct hw_phys *p);

#endif
