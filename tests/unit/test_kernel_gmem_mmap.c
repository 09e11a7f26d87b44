/* SPDX-License-Identifier: MIT */
/*
 * guest_memfd mmap: -ENODEV without GUEST_MEMFD_FLAG_MMAP, -EINVAL unless
 * MAP_SHARED, -EPERM for PROT_EXEC (a noexec mount), SIGBUS past EOF or on
 * a file whose pages are not shared, and a punch reaching user mappings.
 * The table is what the host kernel answered for each flag combination.
 */
#include "gmemtest.h"

#define FSIZE GT_2M
#define RW (PROT_READ | PROT_WRITE)

static const struct {
	const char *name;
	uint64_t len;
	int prot, flags;
	uint64_t off;
	long without_mmap, with_mmap;   /* 0: mapped */
} mmap_rows[] = {
	{ "shared_rw", GT_PG, RW, MAP_SHARED, 0, -ENODEV, 0 },
	{ "private_rw", GT_PG, RW, MAP_PRIVATE, 0, -ENODEV, -EINVAL },
	{ "private_ro", GT_PG, PROT_READ, MAP_PRIVATE, 0, -ENODEV, -EINVAL },
	{ "shared_ro", GT_PG, PROT_READ, MAP_SHARED, 0, -ENODEV, 0 },
	{ "shared_none", GT_PG, PROT_NONE, MAP_SHARED, 0, -ENODEV, 0 },
	{ "shared_exec", GT_PG, PROT_READ | PROT_EXEC, MAP_SHARED, 0, -EPERM, -EPERM },
	{ "shared_validate", GT_PG, PROT_READ, MAP_SHARED_VALIDATE, 0, -ENODEV, 0 },
	{ "offset_unaligned", GT_PG, PROT_READ, MAP_SHARED, 1, -EINVAL, -EINVAL },
	{ "offset_past_eof", GT_PG, PROT_READ, MAP_SHARED, 2 * FSIZE, -ENODEV, 0 },
	{ "longer_than_file", 2 * FSIZE, RW, MAP_SHARED, 0, -ENODEV, 0 },
};

static void test_gmem_mmap_errno_table(void **state)
{
	struct gmemtest *g = *state;

	for (uint64_t flags = 0; flags < 4; flags++) {
		long fd = gt_create(g, FSIZE, flags);

		assert_true(fd >= 0);
		for (size_t i = 0; i < sizeof(mmap_rows) / sizeof(mmap_rows[0]); i++) {
			long want = (flags & GUEST_MEMFD_FLAG_MMAP) ? mmap_rows[i].with_mmap
								    : mmap_rows[i].without_mmap;
			long r = gt_mmap(g, fd, mmap_rows[i].len, mmap_rows[i].prot,
					 mmap_rows[i].flags, mmap_rows[i].off);

			if (want ? r != want : r < 0)
				fail_msg("flags %llu %s: got %ld, want %ld",
					 (unsigned long long)flags, mmap_rows[i].name, r, want);
			if (r >= 0)
				assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_munmap, r,
								mmap_rows[i].len), 0);
		}
		gt_close(g, fd);
	}
}

static void test_gmem_mmap_fault_without_init_shared_is_sigbus(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, FSIZE, GUEST_MEMFD_FLAG_MMAP);
	long a = gt_mmap(g, fd, FSIZE, RW, MAP_SHARED, 0);
	char c = 1;

	assert_true(a > 0);
	assert_int_equal(mv_user_read(g->t, (uint64_t)a + 5, &c, 1), -EFAULT);
	mvtest_expect_signal(g->t, SIGBUS, BUS_ADRERR, (uint64_t)a + 5);
	assert_int_equal(mv_user_write(g->t, (uint64_t)a + GT_PG, &c, 1), -EFAULT);
	mvtest_expect_signal(g->t, SIGBUS, BUS_ADRERR, (uint64_t)a + GT_PG);
	assert_int_equal(gt_stats(g).unmovable_pages, 0);   /* nothing was allocated */
}

static void test_gmem_mmap_fault_past_eof_is_sigbus(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, FSIZE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	long a = gt_mmap(g, fd, 2 * FSIZE, RW, MAP_SHARED, 0);
	char c = 1;

	assert_true(a > 0);
	assert_int_equal(mv_user_read(g->t, (uint64_t)a + FSIZE - 1, &c, 1), 0);
	assert_int_equal(c, 0);
	mvtest_expect_no_signal(g->t);
	assert_int_equal(mv_user_read(g->t, (uint64_t)a + FSIZE + 10, &c, 1), -EFAULT);
	mvtest_expect_signal(g->t, SIGBUS, BUS_ADRERR, (uint64_t)a + FSIZE + 10);
}

static void test_gmem_mmap_shared_pages_are_the_file_pages(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, FSIZE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	long a = gt_mmap(g, fd, FSIZE, RW, MAP_SHARED, 0);
	struct file *f = gt_file(g, fd);
	uint8_t v = 0x33;

	assert_int_equal(mv_user_write(g->t, (uint64_t)a + 9 * GT_PG, &v, 1), 0);
	assert_int_equal(gt_peek(g, f, 9), 0x33);
	gt_poke(g, f, 10, 0x44);
	assert_int_equal(mv_user_read(g->t, (uint64_t)a + 10 * GT_PG, &v, 1), 0);
	assert_int_equal(v, 0x44);
	/* shared pages stay in the direct map */
	assert_int_equal(gt_stats(g).dmap_private_pages, 0);
	file_put(f);
}

static void test_gmem_mmap_punch_reads_zero_through_the_mapping(void **state)
{
	struct gmemtest *g = *state;
	uint64_t free_before = gt_frames_free(g->m);
	long fd = gt_create(g, FSIZE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	long a = gt_mmap(g, fd, FSIZE, RW, MAP_SHARED, 0);
	uint8_t v;

	for (uint8_t i = 0; i < 3; i++) {
		v = i + 1;
		assert_int_equal(mv_user_write(g->t, (uint64_t)a + i * GT_PG, &v, 1), 0);
	}
	/* one 2 MiB folio and the page tables that map it */
	assert_true(gt_frames_free(g->m) < free_before - GMEM_HUGE_PAGES);
	assert_int_equal(gt_stats(g).folios_2m, 1);
	assert_int_equal(gt_fallocate(g, fd, GT_PUNCH, GT_PG, GT_PG), 0);
	for (uint8_t i = 0; i < 3; i++) {
		assert_int_equal(mv_user_read(g->t, (uint64_t)a + i * GT_PG, &v, 1), 0);
		assert_int_equal(v, i == 1 ? 0 : i + 1);
	}
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_munmap, a, FSIZE), 0);
	gt_close(g, fd);
	/* the folio was split; every page came back, and the page tables too */
	assert_int_equal(gt_stats(g).folio_splits, 1);
	assert_int_equal(gt_stats(g).unmovable_pages, 0);
	assert_int_equal(gt_frames_free(g->m), free_before);
}

static void test_gmem_mmap_never_becomes_executable(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, FSIZE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	long a = gt_mmap(g, fd, GT_PG, PROT_READ, MAP_SHARED, 0);

	assert_true(a > 0);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_mprotect, a, GT_PG, PROT_READ | PROT_EXEC),
			 -EACCES);
}

int main(void)
{
#define GT(fn) cmocka_unit_test_setup_teardown(fn, gt_setup, gt_teardown)
	const struct CMUnitTest tests[] = {
		GT(test_gmem_mmap_errno_table),
		GT(test_gmem_mmap_fault_without_init_shared_is_sigbus),
		GT(test_gmem_mmap_fault_past_eof_is_sigbus),
		GT(test_gmem_mmap_shared_pages_are_the_file_pages),
		GT(test_gmem_mmap_punch_reads_zero_through_the_mapping),
		GT(test_gmem_mmap_never_becomes_executable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
