/* SPDX-License-Identifier: MIT */
/*
 * The cases of mainline's tools/testing/selftests/mm/map_fixed_noreplace.c
 * on memvisor's public API (docs/conformance.md has the table): around a
 * three-page mapping, MAP_FIXED_NOREPLACE fails with -EEXIST on any
 * overlap and succeeds next to it.
 */
#include "mvtest.h"

#define PG 4096ull
#define FLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE)

static long nr_map(struct mv_task *t, uint64_t addr, uint64_t size)
{
	return MVTEST_SYSCALL(t, MV_SYS_mmap, addr, size, PROT_NONE, FLAGS, -1, 0);
}

static void test_selftest_map_fixed_noreplace(void **state)
{
	static const struct { uint64_t page, pages; long want; const char *what; } rows[] = {
		{ 1, 3, 1, "3 pages at base + 1" },
		{ 0, 5, -EEXIST, "the same range again, and more" },
		{ 2, 1, -EEXIST, "contained in the mapping" },
		{ 3, 2, -EEXIST, "overlapping its end" },
		{ 0, 2, -EEXIST, "overlapping its start" },
		{ 0, 1, 1, "adjacent to its start" },
		{ 4, 1, 1, "adjacent to its end" },
	};
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long base = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, 5 * PG, PROT_NONE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	/* find_base_addr, then the whole area once */
	assert_true(base > 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, base, 5 * PG), 0);
	assert_int_equal(nr_map(t, (uint64_t)base, 5 * PG), base);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, base, 5 * PG), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t addr = (uint64_t)base + rows[i].page * PG;
		long r = nr_map(t, addr, rows[i].pages * PG);

		print_message("%s: %ld\n", rows[i].what, r);
		assert_int_equal(r, rows[i].want == 1 ? (long)addr : rows[i].want);
	}
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, base, 5 * PG), 0);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest_map_fixed_noreplace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
