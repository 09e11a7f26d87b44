/* SPDX-License-Identifier: MIT */
/*
 * VMA placement and bookkeeping: top-down from mmap_base, hints, MAP_FIXED
 * over existing mappings (splits), MAP_FIXED_NOREPLACE, guard gaps below
 * stacks and below shadow stacks (never above), merge and split counts, the
 * map_count limit.
 */
#include <errno.h>
#include <string.h>

#include "mvtest.h"
#include "kernel/kernel.h"

#define PG 4096ull
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static long map_at(struct mv_task *t, uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags)
{
	return MVTEST_SYSCALL(t, MV_SYS_mmap, addr, len, prot, flags, -1, 0);
}

static uint64_t nr_vmas(struct mv_task *t)
{
	return t->mm->map_count;
}

/* The kernel-internal mmap, for VMA kinds no syscall here makes yet. */
static long kmap(struct mv_task *t, uint64_t addr, uint64_t len, unsigned long vm_flags,
		 unsigned long map_flags)
{
	long ret;

	pthread_rwlock_wrlock(&t->mm->mmap_lock);
	ret = mm_map_locked(t, NULL, addr, len, vm_flags | VM_MAYREAD | VM_MAYWRITE, map_flags, 0);
	pthread_rwlock_unlock(&t->mm->mmap_lock);
	return ret;
}

static void test_vma_first_mapping_ends_at_mmap_base(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = map_at(t, 0, 3 * PG, RW, ANON);

	assert_int_equal(a + 3 * PG, K_MMAP_BASE);
	mv_machine_destroy(m);
}

static void test_vma_top_down_adjacent_mappings_merge(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	uint64_t n0 = nr_vmas(t);
	long a = map_at(t, 0, PG, RW, ANON), b = map_at(t, 0, PG, RW, ANON);

	assert_int_equal(b + PG, a);
	assert_int_equal(nr_vmas(t), n0 + 1);
	/* Different protections do not merge. */
	assert_int_equal(map_at(t, 0, PG, PROT_READ, ANON) + PG, b);
	assert_int_equal(nr_vmas(t), n0 + 2);
	mv_machine_destroy(m);
}

static void test_vma_hint_is_honoured_when_free(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = map_at(t, 0x200000000ull, 2 * PG, RW, ANON);

	assert_int_equal(a, 0x200000000ull);
	/* Occupied: the hint is only a hint, placement goes top-down. */
	assert_int_equal(map_at(t, 0x200000000ull + PG, PG, RW, ANON) + PG, K_MMAP_BASE);
	/* An unaligned hint is rounded down; a low one raised to mmap_min_addr. */
	assert_int_equal(map_at(t, 0x300000123ull, PG, RW, ANON), 0x300000000ull);
	assert_int_equal(map_at(t, 0x1000, PG, RW, ANON), 0x10000);
	mv_machine_destroy(m);
}

static void test_vma_fixed_in_middle_splits_in_three(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = map_at(t, 0, 4 * PG, RW, ANON);
	uint64_t n0 = nr_vmas(t);
	uint32_t v = 0xfeed;

	assert_int_equal(mv_user_write(t, a + 3 * PG, &v, sizeof(v)), 0);
	assert_int_equal(map_at(t, a + PG, 2 * PG, PROT_READ, ANON | MAP_FIXED), a + PG);
	assert_int_equal(nr_vmas(t), n0 + 2);
	v = 0;
	assert_int_equal(mv_user_read(t, a + 3 * PG, &v, sizeof(v)), 0);
	assert_int_equal(v, 0xfeed);   /* the untouched part kept its page */
	/* Same protections again: the three merge back into one. */
	assert_int_equal(map_at(t, a + PG, 2 * PG, RW, ANON | MAP_FIXED), a + PG);
	assert_int_equal(nr_vmas(t), n0);
	mv_machine_destroy(m);
}

static void test_vma_munmap_middle_splits_mprotect_merges_back(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = map_at(t, 0, 3 * PG, RW, ANON);
	uint64_t n0 = nr_vmas(t);

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a + PG, PG, PROT_READ), 0);
	assert_int_equal(nr_vmas(t), n0 + 2);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a + PG, PG, RW), 0);
	assert_int_equal(nr_vmas(t), n0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, a + PG, PG), 0);
	assert_int_equal(nr_vmas(t), n0 + 1);
	mv_machine_destroy(m);
}

static void test_vma_growsdown_keeps_guard_gap_below(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	uint64_t top = K_MMAP_BASE - 16 * PG;
	long s = map_at(t, top - 4 * PG, 4 * PG, RW, ANON | MAP_FIXED | MAP_GROWSDOWN), a;

	assert_int_equal(s, top - 4 * PG);
	/* Top-down: the hole above the stack is too small, below keeps the gap. */
	a = map_at(t, 0, 32 * PG, RW, ANON);
	assert_true((uint64_t)a + 32 * PG <= (uint64_t)s - K_STACK_GUARD_GAP);
	assert_int_equal((uint64_t)a + 32 * PG, (uint64_t)s - K_STACK_GUARD_GAP);
	/* A hint inside the gap is not taken... */
	assert_int_not_equal(map_at(t, s - 2 * PG, PG, RW, ANON), s - 2 * PG);
	/* ...but MAP_FIXED may go there. */
	assert_int_equal(map_at(t, s - 2 * PG, PG, RW, ANON | MAP_FIXED), s - 2 * PG);
	mv_machine_destroy(m);
}

static void test_vma_shadow_stack_has_guard_page_below_only(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long ss = kmap(t, 0, 4 * PG, VM_READ | VM_WRITE | VM_SHADOW_STACK, MAP_PRIVATE), a;

	assert_true(ss > 0);
	/* Nothing is kept above it: it ends at mmap_base. */
	assert_int_equal(ss + 4 * PG, K_MMAP_BASE);
	a = map_at(t, 0, PG, RW, ANON);
	assert_int_equal(a + PG + PG, ss);
	/* A hint right above it is taken. */
	assert_int_equal(map_at(t, ss + 4 * PG, PG, RW, ANON), ss + 4 * PG);
	mv_machine_destroy(m);
}

static void test_vma_noreplace_partial_overlap_eexist(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = map_at(t, 0x200000000ull, 2 * PG, RW, ANON);

	assert_int_equal(map_at(t, a - PG, 2 * PG, RW, ANON | MAP_FIXED_NOREPLACE), -EEXIST);
	assert_int_equal(map_at(t, a - PG, PG, RW, ANON | MAP_FIXED_NOREPLACE), a - PG);
	mv_machine_destroy(m);
}

static void test_vma_map_count_limit(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = 0, last = 0;
	uint64_t i;

	/* Alternating protections so neighbours never merge. */
	for (i = 0; i < 70000; i++) {
		a = map_at(t, 0, PG, (i & 1) ? PROT_READ : RW, ANON);
		if (a < 0)
			break;
		last = a;
	}
	assert_int_equal(a, -ENOMEM);
	assert_int_equal(nr_vmas(t), K_MAX_MAP_COUNT + 1);
	/* Full: more mappings are refused... */
	assert_int_equal(map_at(t, 0, PG, RW, ANON), -ENOMEM);
	/* ...and unmapping one VMA whole makes room again. */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, last, PG), 0);
	assert_true(map_at(t, 0, 3 * PG, RW, ANON) > 0);
	mv_machine_destroy(m);
}

static void test_vma_get_unmapped_area_searches_below_base(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a;

	pthread_rwlock_rdlock(&t->mm->mmap_lock);
	a = mm_get_unmapped_area(t->mm, 0, 8 * PG, 0, 0);
	pthread_rwlock_unlock(&t->mm->mmap_lock);
	assert_int_equal(a + 8 * PG, K_MMAP_BASE);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vma_first_mapping_ends_at_mmap_base),
		cmocka_unit_test(test_vma_top_down_adjacent_mappings_merge),
		cmocka_unit_test(test_vma_hint_is_honoured_when_free),
		cmocka_unit_test(test_vma_fixed_in_middle_splits_in_three),
		cmocka_unit_test(test_vma_munmap_middle_splits_mprotect_merges_back),
		cmocka_unit_test(test_vma_growsdown_keeps_guard_gap_below),
		cmocka_unit_test(test_vma_shadow_stack_has_guard_page_below_only),
		cmocka_unit_test(test_vma_noreplace_partial_overlap_eexist),
		cmocka_unit_test(test_vma_map_count_limit),
		cmocka_unit_test(test_vma_get_unmapped_area_searches_below_base),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
