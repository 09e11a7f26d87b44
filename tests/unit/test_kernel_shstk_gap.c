/* SPDX-License-Identifier: MIT */
/*
 * The guard gap of a shadow stack, by mainline's rules: one page kept free
 * below it (stack_guard_start_gap), nothing above it (vm_end_gap), and a
 * new shadow stack placed by the kernel reserves its page below
 * (stack_guard_placement) while a new MAP_GROWSDOWN mapping reserves
 * nothing. A shadow stack placed right under another mapping therefore
 * runs off its top into that mapping.
 */
#include "shstk_test.h"
#include "kernel/kernel.h"

#define SS 0x8000ull

static long try_mmap(struct mv_task *t, uint64_t addr, uint64_t len, uint64_t flags)
{
	return MVTEST_SYSCALL(t, MV_SYS_mmap, addr, len, PROT_READ | PROT_WRITE, flags, -1, 0);
}

/* A hint inside the page below a shadow stack is not taken; top-down placement stops short of it. */
static void test_stack_guard_start_gap_keeps_the_page_below_free(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t s = shtest_map(t, 0, SS, 0);

	/* not at the hint: top-down, ending where the gap begins */
	assert_int_equal(try_mmap(t, s - PG, PG, ANON) + PG, (long)(s - PG));
	/* MAP_FIXED is the caller's decision and may still go there. */
	assert_int_equal(try_mmap(t, s - PG, PG, ANON | MAP_FIXED), (long)(s - PG));
	mv_machine_destroy(m);
}

/* Nothing is kept above a shadow stack: a hint right above it is honoured. */
static void test_vm_end_gap_keeps_nothing_above(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t s = shtest_map(t, 0, SS, 0);

	assert_int_equal(try_mmap(t, s + SS, PG, ANON), (long)(s + SS));
	assert_int_equal(shtest_map(t, s + SS + PG, SS, 0), s + SS + PG);
	mv_machine_destroy(m);
}

/* The kernel places a shadow stack directly under the mapping above it. */
static void test_stack_guard_placement_shadow_stack_under_a_mapping(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t a = shtest_mmap(t, 0, PG, PROT_READ, ANON);
	uint64_t s = shtest_map(t, 0, SS, 0), s2;

	assert_int_equal(s + SS, a);
	/* A second one goes under the first one's gap, again flush with what is above. */
	s2 = shtest_map(t, 0, SS, 0);
	assert_int_equal(s2 + SS + PG, s);
	mv_machine_destroy(m);
}

/* A hole that fits the stack but not its page below is left to ordinary mappings. */
static void test_stack_guard_placement_needs_room_for_the_page_below(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t top = 0x7e0000000000ull, low = top - SS - PG;
	uint64_t s;

	/* [low - PG, low) and [top, top + PG) mapped: a hole of exactly SS + PG between. */
	assert_int_equal(try_mmap(t, top, PG, ANON | MAP_FIXED), (long)top);
	assert_int_equal(try_mmap(t, low - PG, PG, ANON | MAP_FIXED), (long)(low - PG));
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, low, top - low), 0);
	/* Fill everything above top so the search starts in the hole. */
	assert_true(try_mmap(t, top + PG, K_MMAP_BASE - top - PG, ANON | MAP_FIXED) > 0);
	s = shtest_map(t, 0, SS, 0);
	assert_int_equal(s + SS, top);              /* SS + its page: fits exactly */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, s, SS), 0);
	s = shtest_map(t, 0, SS + PG, 0);
	assert_int_equal(s + SS + PG, low - PG);    /* a page too big: under the next mapping */
	mv_machine_destroy(m);
}

/* A new MAP_GROWSDOWN mapping reserves no gap of its own when it is placed. */
static void test_stack_guard_placement_growsdown_reserves_nothing(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t top = K_MMAP_BASE - PG, hole = top - 4 * PG;
	long g;

	assert_int_equal(try_mmap(t, top, PG, ANON | MAP_FIXED), (long)top);
	assert_int_equal(try_mmap(t, hole - PG, PG, ANON | MAP_FIXED), (long)(hole - PG));
	g = try_mmap(t, 0, 4 * PG, ANON | MAP_GROWSDOWN);
	assert_int_equal(g, (long)hole);
	/* Once it exists, its gap counts: the page below it is not offered. */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, hole - PG, PG), 0);
	assert_int_equal(try_mmap(t, 0, PG, ANON) + PG, (long)(hole - K_STACK_GUARD_GAP));
	mv_machine_destroy(m);
}

/*
 * SSP popped past the top of a shadow stack placed under an ordinary
 * mapping reaches that mapping: a shadow-stack access to ordinary memory,
 * SEGV_ACCERR (an unmapped guard page above would have been SEGV_MAPERR).
 */
static void test_vm_end_gap_running_off_the_top_hits_the_mapping_above(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t a = shtest_mmap(t, 0, PG, PROT_READ, ANON), ssp;

	shtest_enable(t, ARCH_SHSTK_SHSTK);
	ssp = shtest_reg(t, MV_REG_SSP);
	assert_int_equal(ssp, a);
	assert_int_equal(mv_cpu_incssp(t, 1), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, a);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), ssp);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stack_guard_start_gap_keeps_the_page_below_free),
		cmocka_unit_test(test_vm_end_gap_keeps_nothing_above),
		cmocka_unit_test(test_stack_guard_placement_shadow_stack_under_a_mapping),
		cmocka_unit_test(test_stack_guard_placement_needs_room_for_the_page_below),
		cmocka_unit_test(test_stack_guard_placement_growsdown_reserves_nothing),
		cmocka_unit_test(test_vm_end_gap_running_off_the_top_hits_the_mapping_above),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
