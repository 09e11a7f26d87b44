/* SPDX-License-Identifier: MIT */
/*
 * The library half of the inline guest fast path (memvisor/guest_fast.h):
 * handing out a vCPU's window, the out-of-line access a miss calls, and
 * re-arming the window after it. The protocol that lets the inline hit
 * skip the generation compare is in hw/cpu.h (hw_tlb_fast_kill).
 */
#include <stddef.h>

#include "hw/cpu.h"
#include "kvm/guest.h"
#include "kvm/kvm.h"
#include "lib/list.h"

/* ABI 1 is struct hw_tlb_entry's layout and the TLB's geometry: keep them in step. */
_Static_assert(HW_PAGE_SHIFT == MV_GUEST_FAST_PAGE_SHIFT, "guest_fast.h: page size");
_Static_assert(HW_TLB_BITS == MV_GUEST_FAST_TLB_BITS, "guest_fast.h: TLB entries");
_Static_assert(sizeof(struct hw_tlb_entry) == (1u << MV_GUEST_FAST_ENTRY_SHIFT),
	       "guest_fast.h: entry size");
_Static_assert(offsetof(struct hw_tlb_entry, tag_read) == MV_GUEST_FAST_TAG_READ,
	       "guest_fast.h: read tag");
_Static_assert(offsetof(struct hw_tlb_entry, tag_write) == MV_GUEST_FAST_TAG_WRITE,
	       "guest_fast.h: write tag");
_Static_assert(offsetof(struct hw_tlb_entry, addend) == MV_GUEST_FAST_ADDEND,
	       "guest_fast.h: addend");
_Static_assert(((HW_TLB_INVALID | HW_TLB_CHECK) & ~0xff8ull) == 0,
	       "guest_fast.h: special tags must fail the compare of any aligned access");
_Static_assert(offsetof(struct hw_cpu, fast.access_seq) == offsetof(struct hw_cpu, access_seq),
	       "the window's bracket word is the CPU's");

MV_API struct mv_guest_fast *mv_guest_fast_get(struct mv_guest *g, unsigned int abi)
{
	struct hw_cpu *cpu;

	if (!kvm_guest_usable(g) || (abi & ~MV_GUEST_FAST_ORDER_SEQ_CST) != MV_GUEST_FAST_ABI)
		return NULL;
	cpu = &g->vcpu->cpu;
	/*
	 * Plain-store brackets are only sound against membarrier shootdowns.
	 * Without it, once any code of this guest asked for the window with
	 * plain-store brackets, the window stays dead for good, whoever asks
	 * later, and every access goes the whole way (correct, not fast).
	 */
	if (!cpu->m->asym_fence && !(abi & MV_GUEST_FAST_ORDER_SEQ_CST)) {
		g->fast_plain = true;
		hw_tlb_fast_kill(cpu);
	}
	g->fast_armable = cpu->m->asym_fence || !g->fast_plain;
	return &cpu->fast;
}

void kvm_guest_fast_rearm(struct mv_guest *g)
{
	struct hw_cpu *cpu = &g->vcpu->cpu;
	uint64_t seq;

	/* boundary work and leaving the guest kill the window: stay dead until done */
	if (!g->fast_armable || !kvm_guest_usable(g) || g->boundary_work || !hw_tlb_fast_dead(cpu))
		return;
	(void)hw_access_begin(cpu, &seq);
	hw_tlb_fast_arm(cpu);
	hw_access_end(cpu, seq);
}

MV_API long mv_guest_fast_access(struct mv_guest_fast *w, uint64_t gva, void *buf, size_t len,
				 int write)
{
	struct hw_cpu *cpu;
	struct mv_guest *g;
	long r;

	if (!w)
		return -EINVAL;
	cpu = lib_container_of(w, struct hw_cpu, fast);
	g = lib_container_of(cpu, struct kvm_vcpu, cpu)->guest;
	r = write ? mv_guest_write(g, gva, buf, len) : mv_guest_read(g, gva, buf, len);
	kvm_guest_fast_rearm(g);
	return r;
}
