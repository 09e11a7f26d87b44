/* SPDX-License-Identifier: MIT */
/*
 * Memory tagging (MTE) on the simulated machine: allocation tags, the
 * per-frame "tagged" flag and the tag check of a checked access.
 *
 * Storage: one 4-bit allocation tag per 16-byte granule, packed sixteen to
 * a 64-bit word, so a 4 KiB frame has 16 words (128 bytes, 1/32 of RAM) in
 * one lazily backed host mapping beside RAM: a machine pays only for the
 * tag words of frames that were ever tagged. Tag words are shared memory
 * of the machine (a vCPU's STG, the VMM's KVM_ARM_MTE_COPY_TAGS and a
 * sanitise may touch one at once): they are read with relaxed atomic loads
 * and changed with a compare-and-exchange per word, so a tag is never torn
 * and a neighbour's tag is never lost.
 *
 * HW_FRAME_TAGGED is Linux's PG_mte_tagged and HW_FRAME_MTE_LOCK its
 * PG_mte_lock: hw_mte_try_tagging() (try_page_mte_tagging) lets exactly
 * one caller initialise a frame's tags; everyone else waits until the
 * winner publishes them with hw_mte_set_tagged() (set_page_mte_tagged, a
 * release) and then sees them complete (hw_mte_page_tagged, an acquire).
 * Both bits go when the frame is freed, so a frame's next owner starts
 * untagged and its old tags are unreachable: readers look at the flag
 * before the tags, and mapping a frame tagged clears them first.
 *
 * Logical tags: bits 59:56 of a pointer. A CPU with top-byte ignore (TBI)
 * translates the address with bits 63:56 replaced by copies of bit 55, so
 * the 4-level canonical check applies to bits 55:47 (as x86 LAM_U57 /
 * arm64 TBI do). Check modes per CPU: none, sync (the access faults and
 * changes nothing), async (the access completes and the CPU records the
 * mismatch in its TFSR for the kernel to report later), asymmetric (reads
 * sync, writes async).
 */
#ifndef MV_HW_MTE_H
#define MV_HW_MTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memvisor/memvisor.h>

#include "hw/cpu.h"

#define HW_MTE_GRANULE        16u
#define HW_MTE_TAGS_PER_PAGE  (HW_PAGE_SIZE / HW_MTE_GRANULE)   /* 256 */
#define HW_MTE_WORDS_PER_PAGE (HW_MTE_TAGS_PER_PAGE / 16)       /* 16 */
#define HW_MTE_BYTES_PER_PAGE (HW_MTE_WORDS_PER_PAGE * 8)       /* 128 */
#define HW_MTE_TAG_SHIFT      56
#define HW_MTE_TAG_MASK       0xfu

/* Tag check modes (the arm64 SCTLR_ELx.TCF encodings). */
#define HW_MTE_TCF_NONE  0u
#define HW_MTE_TCF_SYNC  1u
#define HW_MTE_TCF_ASYNC 2u
#define HW_MTE_TCF_ASYMM 3u

/*
 * What a guest sees for a tag-check fault: #PF (vector 14) with this bit
 * in the error code (x86 leaves bits 16..30 undefined) plus W/U/P as for
 * any #PF, CR2 the full (tagged) address. An asynchronous one is reported
 * at the guest's next instruction boundary as #PF with HW_PF_MTE_ASYNC
 * and address 0, since the faulting access is long gone.
 */
#define HW_PF_MTE        MV_PF_MTE
#define HW_PF_MTE_ASYNC  MV_PF_MTE_ASYNC

/* The logical tag of a pointer. */
static inline unsigned int hw_mte_ptr_tag(uint64_t va)
{
	return (unsigned int)(va >> HW_MTE_TAG_SHIFT) & HW_MTE_TAG_MASK;
}

/* The address top-byte ignore translates: bits 63:56 replaced by bit 55. */
static inline uint64_t hw_mte_untag(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 8) >> 8);
}

/* @va with logical tag @tag. */
static inline uint64_t hw_mte_tag_ptr(uint64_t va, unsigned int tag)
{
	return (va & ~(0xfull << HW_MTE_TAG_SHIFT)) | ((uint64_t)(tag & HW_MTE_TAG_MASK) << HW_MTE_TAG_SHIFT);
}

/* Tag storage for a machine with MV_FEAT_MTE (0 without it), or -ENOMEM. */
MV_MUST_CHECK int hw_mte_init(struct hw_machine *m);
void hw_mte_fini(struct hw_machine *m);
static inline bool hw_mte_present(const struct hw_machine *m)
{
	return m->mte_tags != NULL;
}

/* The allocation tag of the granule at physical address @pa. */
unsigned int hw_mte_get_tag(const struct hw_machine *m, uint64_t pa);
/* Sets it (STG): one atomic word update, neighbours untouched. */
void hw_mte_set_tag(struct hw_machine *m, uint64_t pa, unsigned int tag);
/* mte_clear_page_tags(): every tag of the frame 0. */
void hw_mte_clear_page(struct hw_machine *m, hw_pfn_t pfn);
/* The frame's 256 tags, one per byte (mte_copy_tags_to_user's layout). */
void hw_mte_read_page(const struct hw_machine *m, hw_pfn_t pfn, uint8_t tags[HW_MTE_TAGS_PER_PAGE]);
/* Sets the frame's tags from one per byte (the high nibble of each ignored). */
void hw_mte_write_page(struct hw_machine *m, hw_pfn_t pfn, const uint8_t tags[HW_MTE_TAGS_PER_PAGE]);

/* ---- the per-frame flag (PG_mte_tagged / PG_mte_lock) ---- */

/* page_mte_tagged(): the frame's tags are initialised; acquire. */
bool hw_mte_page_tagged(const struct hw_machine *m, hw_pfn_t pfn);
/*
 * try_page_mte_tagging(): true for the one caller that must initialise
 * the tags (then hw_mte_set_tagged); false once they are (waits while
 * another caller is initialising them).
 */
bool hw_mte_try_tagging(struct hw_machine *m, hw_pfn_t pfn);
/* set_page_mte_tagged(): publishes the tags written before it; release. */
void hw_mte_set_tagged(struct hw_machine *m, hw_pfn_t pfn);
/*
 * mte_sync_tags() for one frame: clears the tags of a frame not yet
 * tagged and marks it tagged. True if this call sanitised it.
 */
bool hw_mte_sanitise_page(struct hw_machine *m, hw_pfn_t pfn);
/*
 * copy_highpage()'s tag half: if @src is tagged, @dst (a frame only the
 * caller reaches) gets its tags and is marked tagged.
 */
void hw_mte_copy_page_tags(struct hw_machine *m, hw_pfn_t dst, hw_pfn_t src);

/* ---- the check ---- */

/*
 * Sets @cpu's check mode and top-byte ignore, flushing its TLB (entries
 * remember whether their page needs a check). Called by the CPU's thread.
 */
void hw_cpu_set_mte(struct hw_cpu *cpu, unsigned int tcf, bool tbi);

/*
 * The tag check of an access of @n bytes at @va (not crossing a page)
 * that hw_mmu_translate() resolved to @x. 0 if it passes or needs no check
 * (x->mte_check false); in async mode (and for writes in asymmetric mode)
 * a mismatch sets cpu->mte_tfsr and the access goes on; in sync mode it is
 * -EFAULT with *fault = HW_FAULT_MTE (addr: the first byte of the access
 * in the first mismatching granule, tag bits as given; gla: the same
 * untagged; error_code: X86_PF_W for a write).
 */
int hw_mte_check_slow(struct hw_cpu *cpu, const struct hw_xlate *x, uint64_t va, size_t n,
		      unsigned int acc, struct hw_fault *fault);
/* The common case of the check: @n bytes at @pa within one granule whose tag is @va's. */
static inline bool hw_mte_granule_match(const struct hw_machine *m, uint64_t pa, uint64_t va,
					size_t n)
{
	uint64_t g = pa / HW_MTE_GRANULE, w;

	if (!n || (pa & (HW_MTE_GRANULE - 1)) + n > HW_MTE_GRANULE)
		return false;
	w = __atomic_load_n(&m->mte_tags[g / 16], __ATOMIC_RELAXED);
	return ((w >> ((g % 16) * 4)) & HW_MTE_TAG_MASK) == hw_mte_ptr_tag(va);
}
static inline MV_MUST_CHECK int hw_mte_check(struct hw_cpu *cpu, const struct hw_xlate *x,
					     uint64_t va, size_t n, unsigned int acc,
					     struct hw_fault *fault)
{
	if (__builtin_expect(!x->mte_check, 1) || hw_mte_granule_match(cpu->m, x->pa, va, n))
		return 0;
	return hw_mte_check_slow(cpu, x, va, n, acc, fault);
}

/*
 * hw_tlb_hit_rw() for a page whose entry needs a tag check (or a tagged
 * pointer): true with *host when the TLB holds the page and the check
 * passes (an async mismatch is recorded in cpu->mte_tfsr and passes);
 * false sends the access down the whole path, which reports a sync fault.
 */
static inline bool hw_mte_tlb_hit_rw(struct hw_cpu *cpu, uint64_t va, bool write, size_t n,
				     void **host)
{
	uint64_t uva = cpu->tbi ? hw_mte_untag(va) : va;
	const struct hw_tlb_entry *e = hw_tlb_slot(cpu, uva, cpu->cpl == 3);
	uint64_t tag = write ? e->tag_write : e->tag_read;
	struct hw_xlate x;
	struct hw_fault f;

	if ((tag & ~HW_TLB_CHECK) != (uva & HW_PAGE_MASK))
		return false;
	x.pa = e->pa | (uva & ~HW_PAGE_MASK);
	x.mte_check = tag & HW_TLB_CHECK;
	if (hw_mte_check(cpu, &x, va, n, write ? HW_ACC_WRITE : HW_ACC_READ, &f))
		return false;
	hw_stat_inc(&cpu->tlb.stats.hits);
	*host = (void *)(uintptr_t)(uva + e->addend);
	return true;
}

/* hw_mte_tlb_hit_rw() out of line: the rare probe of a tagged pointer's entry. */
bool hw_mte_tlb_hit_tagged(struct hw_cpu *cpu, uint64_t va, bool write, size_t n, void **host);

/*
 * hw_tlb_hit_rw() and hw_mte_tlb_hit_rw() with one probe, for the callers'
 * inline fast paths (mv_guest_read/write, a task's user access): the
 * one-compare hit; else a page that needs a tag check, reached through an
 * untagged pointer (its tag differs only by HW_TLB_CHECK), checked on the
 * same entry when the access is within one granule whose tag matches;
 * anything else (a tagged pointer under TBI, a mismatch, an access across
 * granules) by hw_mte_tlb_hit_rw(), which leaves a sync mismatch to the
 * whole path and records an async one. Same caller rules as
 * hw_tlb_hit_rw(), and @n bytes within one page.
 */
static inline __attribute__((always_inline)) bool
hw_tlb_hit_rw_checked(struct hw_cpu *cpu, uint64_t va, bool write, size_t n, void **host)
{
	const struct hw_tlb_entry *e = hw_tlb_slot(cpu, va, cpu->cpl == 3);
	uint64_t tag = write ? e->tag_write : e->tag_read;

	if (__builtin_expect(tag == (va & HW_PAGE_MASK), 1)) {
		hw_stat_inc(&cpu->tlb.stats.hits);
		*host = (void *)(uintptr_t)(va + e->addend);
		return true;
	}
	if (tag != ((va & HW_PAGE_MASK) | HW_TLB_CHECK) ||
	    !hw_mte_granule_match(cpu->m, e->pa | (va & ~HW_PAGE_MASK), va, n))
		return hw_mte_tlb_hit_tagged(cpu, va, write, n, host);
	hw_stat_inc(&cpu->tlb.stats.hits);
	*host = (void *)(uintptr_t)(va + e->addend);
	return true;
}

/* Reads and clears the CPU's asynchronous fault record (TFSR). */
static inline bool hw_mte_take_async(struct hw_cpu *cpu)
{
	bool f = cpu->mte_tfsr;

	cpu->mte_tfsr = false;
	return f;
}

#endif
