/* SPDX-License-Identifier: MIT */
/*
 * mprotect(2): argument checks in Linux's order (table), holes (-ENOMEM
 * after the mapped part before the hole was changed), VM_MAYWRITE
 * (-EACCES), PROT_GROWSDOWN / PROT_GROWSUP, and the effect on accesses.
 */
#include <errno.h>
#include <string.h>

#include "mvtest.h"

#define PG 4096ull
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define BASE 0x200000000ull

struct mprotect_row {
	const char *behaviour;
	uint64_t addr, len, prot;
	long expect;
};

/* A 4-page RW mapping sits at BASE; BASE + 8 pages is unmapped. */
static const struct mprotect_row mprotect_rows[] = {
	{ "growsdown_and_growsup", BASE, PG, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP, -EINVAL },
	{ "unaligned_start", BASE + 1, PG, PROT_READ, -EINVAL },
	{ "unaligned_start_len_zero", BASE + 1, 0, PROT_READ, -EINVAL },
	{ "len_zero", BASE + 8 * PG, 0, PROT_READ, 0 },
	{ "len_zero_ignores_bad_prot", BASE, 0, 0x1000, 0 },
	{ "end_wraps", BASE, ~0ull - BASE, PROT_READ, -ENOMEM },
	{ "end_wraps_before_prot_check", BASE, ~0ull - BASE, 0x1000, -ENOMEM },
	{ "unknown_prot_bit", BASE, PG, 0x1000, -EINVAL },
	{ "prot_sem_is_known", BASE, PG, PROT_READ | PROT_SEM, 0 },
	{ "unmapped", BASE + 8 * PG, PG, PROT_READ, -ENOMEM },
	{ "leading_hole", BASE - PG, 2 * PG, PROT_READ, -ENOMEM },
	{ "trailing_hole", BASE + 3 * PG, 2 * PG, PROT_READ, -ENOMEM },
	{ "growsdown_on_plain_vma", BASE + PG, PG, PROT_READ | PROT_GROWSDOWN, -EINVAL },
	{ "growsup_on_x86", BASE + PG, PG, PROT_READ | PROT_GROWSUP, -EINVAL },
	{ "whole_mapping", BASE, 4 * PG, PROT_READ | PROT_EXEC, 0 },
};

static void test_mprotect_errno_table(void **state)
{
	for (size_t i = 0; i < sizeof(mprotect_rows) / sizeof(mprotect_rows[0]); i++) {
		const struct mprotect_row *r = &mprotect_rows[i];
		struct mv_machine *m;
		struct mv_task *t = mvtest_task(&m);
		long ret;

		assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mmap, BASE, 4 * PG, RW, ANON | MAP_FIXED,
						-1, 0), BASE);
		ret = MVTEST_SYSCALL(t, MV_SYS_mprotect, r->addr, r->len, r->prot);
		if (ret != r->expect)
			fail_msg("%s: got %ld, want %ld", r->behaviour, ret, r->expect);
		mv_machine_destroy(m);
	}
}

static void test_mprotect_hole_applies_to_part_before_it(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	uint8_t v = 1;

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mmap, BASE, PG, RW, ANON | MAP_FIXED, -1, 0), BASE);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mmap, BASE + 2 * PG, PG, RW, ANON | MAP_FIXED, -1,
					0), BASE + 2 * PG);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, BASE, 3 * PG, PROT_READ), -ENOMEM);
	/* The page before the hole changed, the one after did not. */
	assert_int_equal(mv_user_write(t, BASE, &v, 1), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, BASE);
	assert_int_equal(mv_user_write(t, BASE + 2 * PG, &v, 1), 0);
	mv_machine_destroy(m);
}

static void test_mprotect_write_on_read_only_shared_file_eacces(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long fd = MVTEST_SYSCALL(t, MV_SYS_openat, AT_FDCWD, "/dev/zero", O_RDONLY, 0);
	long mfd = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "m", 0), a;

	assert_true(fd >= 0 && mfd >= 0);
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(a > 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a, PG, RW), -EACCES);
	/* Read-only memfd opened O_RDWR: VM_MAYWRITE is there. */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_ftruncate, mfd, PG), 0);
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, PROT_READ, MAP_SHARED, mfd, 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a, PG, RW), 0);
	assert_int_equal(mv_user_write(t, a, "w", 1), 0);
	mv_machine_destroy(m);
}

static void test_mprotect_growsdown_extends_to_vma_start(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	uint8_t v = 1;
	long s = MVTEST_SYSCALL(t, MV_SYS_mmap, BASE, 4 * PG, RW, ANON | MAP_FIXED | MAP_GROWSDOWN,
				-1, 0);

	assert_int_equal(s, BASE);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, BASE + 2 * PG, PG,
					PROT_READ | PROT_GROWSDOWN), 0);
	assert_int_equal(mv_user_write(t, BASE, &v, 1), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, BASE);
	assert_int_equal(mv_user_write(t, BASE + 3 * PG, &v, 1), 0);
	mv_machine_destroy(m);
}

static void test_mprotect_none_then_back_keeps_data(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW, ANON, -1, 0);
	uint32_t v = 77;

	assert_int_equal(mv_user_write(t, a, &v, sizeof(v)), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a, PG, PROT_NONE), 0);
	assert_int_equal(mv_user_read(t, a, &v, sizeof(v)), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, a);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a, PG, PROT_READ), 0);
	v = 0;
	assert_int_equal(mv_user_read(t, a, &v, sizeof(v)), 0);
	assert_int_equal(v, 77);
	mv_machine_destroy(m);
}

static void test_mprotect_after_fork_still_copies_on_write(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m), *c = NULL;
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW, ANON, -1, 0);
	uint32_t v = 1;

	assert_int_equal(mv_user_write(t, a, &v, sizeof(v)), 0);
	assert_int_equal(mv_task_clone(t, 0, &c), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a, PG, PROT_READ), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a, PG, RW), 0);
	v = 2;
	assert_int_equal(mv_user_write(t, a, &v, sizeof(v)), 0);
	assert_int_equal(mv_user_read(c, a, &v, sizeof(v)), 0);
	assert_int_equal(v, 1);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mprotect_errno_table),
		cmocka_unit_test(test_mprotect_hole_applies_to_part_before_it),
		cmocka_unit_test(test_mprotect_write_on_read_only_shared_file_eacces),
		cmocka_unit_test(test_mprotect_growsdown_extends_to_vma_start),
		cmocka_unit_test(test_mprotect_none_then_back_keeps_data),
		cmocka_unit_test(test_mprotect_after_fork_still_copies_on_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
