/* SPDX-License-Identifier: MIT */
/*
 * The inline fast path's TLB pointer (hw/cpu.h, hw_tlb_fast_kill): dead
 * until armed, armed onto the current privilege's entries, killed by
 * whatever the inline path cannot see, and an arm that consumes a kill
 * flushes what the shootdown behind it removed. A shootdown's wait ends
 * when the bracket closes or the window was re-armed.
 */
#include <memvisor/guest_fast.h>

#include "hwtest.h"

#define VA 0x20000000ull
#define DATA (X86_PTE_P | X86_PTE_RW | X86_PTE_NX)

/* What an inline 8-byte load does: the compare against the armed array, then the load. */
static bool inline_load(struct hw_cpu *cpu, uint64_t va, uint64_t *v)
{
	const unsigned char *e = (const unsigned char *)cpu->fast.tlb +
		((va >> (MV_GUEST_FAST_PAGE_SHIFT - MV_GUEST_FAST_ENTRY_SHIFT)) &
		 (((1u << MV_GUEST_FAST_TLB_BITS) - 1) << MV_GUEST_FAST_ENTRY_SHIFT));
	const uint64_t *tag = (const uint64_t *)(const void *)(e + MV_GUEST_FAST_TAG_READ);

	if (*tag != (va & (HW_PAGE_MASK | 7)))
		return false;
	*v = *(const uint64_t *)(uintptr_t)(va + *(const uintptr_t *)(const void *)
					    (e + MV_GUEST_FAST_ADDEND));
	return true;
}

static void arm(struct hw_cpu *cpu)
{
	uint64_t seq;

	(void)hw_access_begin(cpu, &seq);
	hw_tlb_fast_arm(cpu);
	hw_access_end(cpu, seq);
}

static void test_tlb_fast_window_is_dead_until_armed_on_its_privilege(void **state)
{
	struct hwt t;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	assert_true(hw_tlb_fast_dead(&t.cpu));
	arm(&t.cpu);
	assert_ptr_equal(t.cpu.fast.tlb, t.cpu.tlb.e[0]);
	hw_cpu_setup_long_mode(&t.cpu, t.root, 3);   /* a privilege change kills it */
	assert_true(hw_tlb_fast_dead(&t.cpu));
	arm(&t.cpu);
	assert_ptr_equal(t.cpu.fast.tlb, t.cpu.tlb.e[1]);
	hw_cpu_enter_guest(&t.cpu, 1, 0);            /* so does a context switch */
	assert_true(hw_tlb_fast_dead(&t.cpu));
	hwt_down(&t);
}

static void test_tlb_fast_arm_after_a_kill_flushes_what_the_shootdown_removed(void **state)
{
	struct hwt t;
	uint64_t *pte, pa1, pa2, v = 0;
	struct hw_fault f;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	pa1 = hwt_frame(&t);
	pa2 = hwt_frame(&t);
	pte = hwt_map(&t, VA, pa1, DATA);
	*(uint64_t *)hw_pa_to_host(&t.m, pa1) = 1;
	*(uint64_t *)hw_pa_to_host(&t.m, pa2) = 2;
	arm(&t.cpu);
	assert_false(inline_load(&t.cpu, VA, &v));            /* empty TLB: a miss */
	assert_int_equal(hw_mmu_load64(&t.cpu, VA, &v, &f), 0);
	assert_true(inline_load(&t.cpu, VA, &v));
	assert_int_equal(v, 1);
	assert_false(inline_load(&t.cpu, VA + 4, &v));        /* unaligned: never a hit */
	/* a shootdown of what the entry maps: bump, then kill, as KVM's flush does */
	*pte = pa2 | DATA;
	hw_tlb_shootdown(&t.m);
	hw_tlb_fast_kill(&t.cpu);
	assert_false(inline_load(&t.cpu, VA, &v));
	arm(&t.cpu);                                          /* consumes the kill: flushes */
	assert_false(inline_load(&t.cpu, VA, &v));
	assert_int_equal(hw_mmu_load64(&t.cpu, VA, &v, &f), 0);
	assert_int_equal(v, 2);
	assert_true(inline_load(&t.cpu, VA, &v));
	assert_int_equal(v, 2);
	hwt_down(&t);
}

static void test_tlb_fast_wait_ends_when_the_bracket_closes_or_the_window_rearms(void **state)
{
	struct hwt t;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	hw_cpu_wait_access(&t.cpu);                           /* no bracket open */
	/* an inline bracket open (the same value every time) on a re-armed window */
	arm(&t.cpu);
	__atomic_store_n(&t.cpu.fast.access_seq, 1, __ATOMIC_RELAXED);
	hw_cpu_wait_access(&t.cpu);
	__atomic_store_n(&t.cpu.fast.access_seq, 0, __ATOMIC_RELAXED);
	hwt_down(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tlb_fast_window_is_dead_until_armed_on_its_privilege),
		cmocka_unit_test(test_tlb_fast_arm_after_a_kill_flushes_what_the_shootdown_removed),
		cmocka_unit_test(test_tlb_fast_wait_ends_when_the_bracket_closes_or_the_window_rearms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
