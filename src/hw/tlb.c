/* SPDX-License-Identifier: MIT */
/*
 * The per-CPU software TLB: filling, flushing (everything, one page, an
 * address space, a VM) and the lazy flush that follows a machine-wide
 * shootdown or a change of translation context.
 */
#include <string.h>

#include "hw/cpu.h"
#include "hw/hw_internal.h"

static inline uint64_t hw_tlb_make_tag(uint64_t page, unsigned int tags, unsigned int bit)
{
	return (tags & bit) ? page : (page | HW_TLB_INVALID);
}

void hw_tlb_fill(struct hw_cpu *cpu, int user, uint64_t va, unsigned int tags, void *host_page,
		 uint64_t pa_page, uint64_t flags)
{
	/* a page that needs a tag check: its valid tags miss every one-compare fast path */
	uint64_t page = (va & HW_PAGE_MASK) | ((flags & HW_TLB_F_MTE) ? HW_TLB_CHECK : 0);
	struct hw_tlb_entry *e = hw_tlb_slot(cpu, va, user);

	e->tag_read = hw_tlb_make_tag(page, tags, HW_TLB_T_READ);
	e->tag_write = hw_tlb_make_tag(page, tags, HW_TLB_T_WRITE);
	e->tag_fetch = hw_tlb_make_tag(page, tags, HW_TLB_T_FETCH);
	e->tag_ss_read = hw_tlb_make_tag(page, tags, HW_TLB_T_SS_READ);
	e->tag_ss_write = hw_tlb_make_tag(page, tags, HW_TLB_T_SS_WRITE);
	e->addend = (uintptr_t)host_page - (uintptr_t)(va & HW_PAGE_MASK);
	e->pa = pa_page;
	e->flags = flags;
	if (((flags >> HW_TLB_F_LEVEL_SHIFT) & 3) > 1)
		cpu->tlb.has_large = true;
}

static void hw_tlb_remember_ctx(struct hw_cpu *cpu)
{
	cpu->tlb.ctx_guest = cpu->guest;
	cpu->tlb.ctx_vmid = cpu->vmid;
	cpu->tlb.ctx_eptp = cpu->eptp;
	cpu->tlb.ctx_cr3 = cpu->cr3;
}

static bool hw_tlb_ctx_matches(const struct hw_cpu *cpu)
{
	const struct hw_tlb *t = &cpu->tlb;

	if (t->ctx_guest != cpu->guest || t->ctx_cr3 != cpu->cr3)
		return false;
	return !cpu->guest || (t->ctx_vmid == cpu->vmid && t->ctx_eptp == cpu->eptp);
}

void hw_tlb_flush_all(struct hw_cpu *cpu)
{
	/* All-ones tags have HW_TLB_INVALID set: nothing matches. */
	memset(cpu->tlb.e, 0xff, sizeof(cpu->tlb.e));
	cpu->tlb.has_large = false;
	hw_stat_inc(&cpu->tlb.stats.flushes);
	hw_tlb_remember_ctx(cpu);
}

static void hw_tlb_kill(struct hw_tlb_entry *e)
{
	e->tag_read = e->tag_write = e->tag_fetch = ~0ull;
	e->tag_ss_read = e->tag_ss_write = ~0ull;
}

/* The linear range an entry's translation came from (its stage-1 page). */
static bool hw_tlb_entry_covers(const struct hw_tlb_entry *e, uint64_t va)
{
	int level = (int)((e->flags >> HW_TLB_F_LEVEL_SHIFT) & 3);
	uint64_t size = hw_pt_level_size(level ? level : 1);
	uint64_t page = e->tag_read & HW_PAGE_MASK;

	return e->tag_read != ~0ull && (page & ~(size - 1)) == (va & ~(size - 1));
}

void hw_tlb_flush_page(struct hw_cpu *cpu, uint64_t va)
{
	hw_stat_inc(&cpu->tlb.stats.page_flushes);
	if (!cpu->tlb.has_large) {
		for (int user = 0; user < 2; user++) {
			struct hw_tlb_entry *e = hw_tlb_slot(cpu, va, user);

			if ((e->tag_read & HW_PAGE_MASK) == (va & HW_PAGE_MASK))
				hw_tlb_kill(e);
		}
		return;
	}
	/* INVLPG drops the whole large-page translation, cached here per 4 KiB. */
	for (int user = 0; user < 2; user++)
		for (unsigned int i = 0; i < HW_TLB_SIZE; i++)
			if (hw_tlb_entry_covers(&cpu->tlb.e[user][i], va))
				hw_tlb_kill(&cpu->tlb.e[user][i]);
}

void hw_tlb_flush_as(struct hw_cpu *cpu, uint64_t root)
{
	if ((cpu->cr3 & X86_PTE_ADDR) == (root & X86_PTE_ADDR))
		hw_tlb_flush_all(cpu);
}

void hw_tlb_flush_vm(struct hw_cpu *cpu, uint16_t vmid)
{
	/* Entries of a VM may linger after a guest exit until the next access. */
	if ((cpu->guest && cpu->vmid == vmid) || (cpu->tlb.ctx_guest && cpu->tlb.ctx_vmid == vmid))
		hw_tlb_flush_all(cpu);
}

/* Every tag all ones: HW_TLB_INVALID set, so no lookup ever matches. */
#define HW_TLB_DEAD_ENTRY { ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, 0, 0, { 0 } }
#define HW_TLB_DEAD_4   HW_TLB_DEAD_ENTRY, HW_TLB_DEAD_ENTRY, HW_TLB_DEAD_ENTRY, HW_TLB_DEAD_ENTRY
#define HW_TLB_DEAD_16  HW_TLB_DEAD_4, HW_TLB_DEAD_4, HW_TLB_DEAD_4, HW_TLB_DEAD_4
#define HW_TLB_DEAD_64  HW_TLB_DEAD_16, HW_TLB_DEAD_16, HW_TLB_DEAD_16, HW_TLB_DEAD_16
_Static_assert(HW_TLB_SIZE == 256, "hw_tlb_dead has 4 x 64 entries");
const struct hw_tlb_entry hw_tlb_dead[HW_TLB_SIZE] = {
	HW_TLB_DEAD_64, HW_TLB_DEAD_64, HW_TLB_DEAD_64, HW_TLB_DEAD_64,
};

void hw_tlb_fast_arm(struct hw_cpu *cpu)
{
	/* consumes any kill; a consumed kill's generation bump is visible below */
	(void)__atomic_exchange_n(&cpu->fast.tlb, (const void *)cpu->tlb.e[cpu->cpl == 3],
			    __ATOMIC_SEQ_CST);
	/* sync even if the generation did not move: the context may have */
	cpu->tlb.gen = HW_TLB_GEN_RECHECK;
	hw_tlb_sync(cpu);
}

void hw_tlb_sync_slow(struct hw_cpu *cpu, uint64_t gen)
{
	if (gen != cpu->tlb.synced_gen || !hw_tlb_ctx_matches(cpu))
		hw_tlb_flush_all(cpu);
	cpu->tlb.synced_gen = gen;
	cpu->tlb.gen = gen;
}
