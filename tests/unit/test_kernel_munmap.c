/* SPDX-License-Identifier: MIT */
/*
 * munmap(2): the argument checks (table), holes are fine, partial unmaps
 * split, the pages go back to the allocator and the range faults after.
 */
#include <errno.h>
#include <string.h>

#include "mvtest.h"

#define PG 4096ull
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define TASK_SIZE 0x00007ffffffff000ull

struct munmap_row {
	const char *behaviour;
	uint64_t addr, len;
	long expect;
};

static const struct munmap_row munmap_rows[] = {
	{ "unaligned_start", 0x200000001ull, PG, -EINVAL },
	{ "len_zero", 0x200000000ull, 0, -EINVAL },
	{ "start_above_task_size", TASK_SIZE + PG, PG, -EINVAL },
	{ "end_above_task_size", TASK_SIZE - PG, 2 * PG, -EINVAL },
	{ "len_wraps", 0x200000000ull, ~0ull, -EINVAL },
	{ "hole_is_fine", 0x200000000ull, 16 * PG, 0 },
	{ "unaligned_len_is_rounded", 0x200000000ull, 1, 0 },
	{ "up_to_task_size", TASK_SIZE - PG, PG, 0 },
};

static void test_munmap_errno_table(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);

	for (size_t i = 0; i < sizeof(munmap_rows) / sizeof(munmap_rows[0]); i++) {
		const struct munmap_row *r = &munmap_rows[i];
		long ret = MVTEST_SYSCALL(t, MV_SYS_munmap, r->addr, r->len);

		if (ret != r->expect)
			fail_msg("%s: got %ld, want %ld", r->behaviour, ret, r->expect);
	}
	mv_machine_destroy(m);
}

/* free_pgtables(): the data pages and the page tables only they used come back. */
static void test_munmap_frees_touched_pages_and_their_page_tables(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct mv_machine_stats s0, s1, s2;
	uint8_t buf[4 * PG];
	long a;

	mv_machine_get_stats(m, &s0);
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, sizeof(buf), RW, ANON, -1, 0);
	memset(buf, 1, sizeof(buf));
	assert_int_equal(mv_user_write(t, a, buf, sizeof(buf)), 0);
	mv_machine_get_stats(m, &s1);
	/* four data pages and at least the page table that maps them */
	assert_true(s0.frames_free - s1.frames_free >= 5);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, a, sizeof(buf)), 0);
	mv_machine_get_stats(m, &s2);
	assert_int_equal(s2.frames_free, s0.frames_free);
	assert_int_equal(mv_user_read(t, a + PG, buf, 1), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MAPERR, a + PG);
	mv_machine_destroy(m);
}

static void test_munmap_partial_keeps_the_rest(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, 3 * PG, RW, ANON, -1, 0);
	uint8_t v[3] = { 1, 2, 3 }, w = 0;

	for (int i = 0; i < 3; i++)
		assert_int_equal(mv_user_write(t, a + (uint64_t)i * PG, &v[i], 1), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, a + PG, PG), 0);
	assert_int_equal(mv_user_read(t, a, &w, 1), 0);
	assert_int_equal(w, 1);
	assert_int_equal(mv_user_read(t, a + 2 * PG, &w, 1), 0);
	assert_int_equal(w, 3);
	assert_int_equal(mv_user_read(t, a + PG, &w, 1), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MAPERR, a + PG);
	/* Unmapping across the hole and both pieces at once is fine. */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, a, 3 * PG), 0);
	assert_int_equal(mv_user_read(t, a + 2 * PG, &w, 1), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MAPERR, a + 2 * PG);
	mv_machine_destroy(m);
}

static void test_munmap_shared_file_mapping_keeps_file(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long fd = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "u", 0), a;
	char c = 0;

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_ftruncate, fd, PG), 0);
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW, MAP_SHARED, fd, 0);
	assert_int_equal(mv_user_write(t, a, "k", 1), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, a, PG), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_pread64, fd, &c, 1, 0), 1);
	assert_int_equal(c, 'k');
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_munmap_errno_table),
		cmocka_unit_test(test_munmap_frees_touched_pages_and_their_page_tables),
		cmocka_unit_test(test_munmap_partial_keeps_the_rest),
		cmocka_unit_test(test_munmap_shared_file_mapping_keeps_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
