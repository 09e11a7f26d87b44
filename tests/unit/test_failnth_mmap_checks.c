/* SPDX-License-Identifier: MIT */
/*
 * Found by the fail-nth sweep (docs/testing.md): do_mmap refuses a file
 * mapping before it allocates anything, so the answer does not depend on
 * memory. Both guest_memfd faces live on a noexec mount (PROT_EXEC is
 * -EPERM) and the seed face has no ->mmap (-ENODEV); with any allocation
 * failing, the answers stay those, and nothing is left behind.
 */
#include "gmemtest.h"
#include "lib/alloc.h"

#define FN_MAX_NTH 8

static long fn_restricted(struct gmemtest *g)
{
	long fd = MVTEST_SYSCALL(g->t, MV_SYS_memfd_restricted, 0);

	assert_true(fd >= 0);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_ftruncate, fd, GT_2M), 0);
	return fd;
}

/* mmap of @fd answers @expect whichever allocation fails, and changes nothing. */
static void fn_mmap_refused(struct gmemtest *g, long fd, int prot, int flags, long expect)
{
	for (unsigned long nth = 0; nth <= FN_MAX_NTH; nth++) {
		uint64_t map_count = g->t->mm->map_count;
		uint64_t free = gt_frames_free(g->m);
		long ret;

		lib_fail_after(nth);
		ret = gt_mmap(g, fd, GT_PG, prot, flags, 0);
		lib_fail_after(0);
		if (ret != expect)
			fail_msg("prot %#x flags %#x, allocation #%lu failing: got %ld, want %ld",
				 prot, flags, nth, ret, expect);
		assert_int_equal(g->t->mm->map_count, map_count);
		assert_int_equal(gt_frames_free(g->m), free);
	}
}

static void test_failnth_restricted_mmap_refused_before_allocating(void **state)
{
	struct gmemtest *g = *state;
	const struct {
		int prot, flags;
		long expect;
	} rows[] = {
		{ PROT_READ | PROT_WRITE, MAP_SHARED, -ENODEV },
		{ PROT_READ, MAP_PRIVATE, -ENODEV },
		{ PROT_READ | PROT_EXEC, MAP_SHARED, -EPERM },
		{ PROT_EXEC, MAP_PRIVATE, -EPERM },
	};
	long fd = fn_restricted(g);

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		fn_mmap_refused(g, fd, rows[i].prot, rows[i].flags, rows[i].expect);
	gt_close(g, fd);
}

static void test_failnth_guest_memfd_exec_refused_before_allocating(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, 4 * GT_PG, GUEST_MEMFD_FLAG_MMAP);

	assert_true(fd >= 0);
	fn_mmap_refused(g, fd, PROT_READ | PROT_EXEC, MAP_SHARED, -EPERM);
	fn_mmap_refused(g, fd, PROT_EXEC, MAP_PRIVATE, -EPERM);
	gt_close(g, fd);
}

/* Without an allocation failing, the mainline face still maps, and not executable later. */
static void test_failnth_guest_memfd_maps_without_exec(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, 4 * GT_PG, GUEST_MEMFD_FLAG_MMAP);
	long addr;

	assert_true(fd >= 0);
	addr = gt_mmap(g, fd, GT_PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	assert_true(addr > 0);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_mprotect, addr, GT_PG, PROT_READ | PROT_EXEC),
			 -EACCES);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_munmap, addr, GT_PG), 0);
	gt_close(g, fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failnth_restricted_mmap_refused_before_allocating,
						gt_setup, gt_teardown),
		cmocka_unit_test_setup_teardown(test_failnth_guest_memfd_exec_refused_before_allocating,
						gt_setup, gt_teardown),
		cmocka_unit_test_setup_teardown(test_failnth_guest_memfd_maps_without_exec,
						gt_setup, gt_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
