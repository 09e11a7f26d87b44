/* SPDX-License-Identifier: MIT */
/*
 * The seed face: memfd_restricted(flags) (memvisor syscall 1000). Flags
 * must be 0; no read, write or mmap; the size is set once by ftruncate;
 * allocation behaves as the seed's inner shmem file; a punch must be page
 * aligned and reaches the in-kernel notifiers.
 */
#include "gmemtest.h"

static long rm_create(struct gmemtest *g, uint64_t flags)
{
	return MVTEST_SYSCALL(g->t, MV_SYS_memfd_restricted, flags);
}

static void test_gmem_restricted_flags_errno_table(void **state)
{
	struct gmemtest *g = *state;
	const struct {
		uint64_t flags;
		long expect;   /* 0: an fd */
	} rows[] = {
		{ 0, 0 },
		{ 1, -EINVAL },
		{ 2, -EINVAL },
		{ 0x80000000u, -EINVAL },
		{ 1ull << 32, 0 },   /* the argument is an unsigned int */
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long fd = rm_create(g, rows[i].flags);

		if (rows[i].expect ? fd != rows[i].expect : fd < 0)
			fail_msg("flags %#llx: got %ld", (unsigned long long)rows[i].flags, fd);
		if (fd >= 0)
			gt_close(g, fd);
	}
}

static void test_gmem_restricted_no_read_write_mmap(void **state)
{
	struct gmemtest *g = *state;
	long fd = rm_create(g, 0);
	char buf[8];

	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_ftruncate, fd, GT_2M), 0);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_read, fd, buf, 1), -EINVAL);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_write, fd, buf, 1), -EINVAL);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_pread64, fd, buf, 1, 0), -ESPIPE);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_pwrite64, fd, buf, 1, 0), -ESPIPE);
	assert_int_equal(gt_mmap(g, fd, GT_PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0), -ENODEV);
	assert_int_equal(gt_mmap(g, fd, GT_PG, PROT_READ, MAP_PRIVATE, 0), -ENODEV);
	assert_int_equal(gt_mmap(g, fd, GT_PG, PROT_READ | PROT_EXEC, MAP_SHARED, 0), -EPERM);
}

static void test_gmem_restricted_ftruncate_sets_the_size_once(void **state)
{
	struct gmemtest *g = *state;
	long fd = rm_create(g, 0);
	struct stat st;

	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_ftruncate, fd, 100), -EINVAL);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_ftruncate, fd, -1), -EINVAL);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_ftruncate, fd, 0), 0);   /* still unsized */
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_ftruncate, fd, GT_2M), 0);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_ftruncate, fd, GT_2M), -EPERM);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_ftruncate, fd, 4 * GT_2M), -EPERM);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_ftruncate, fd, 100), -EPERM);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_fstat, fd, &st), 0);
	assert_int_equal(st.st_size, GT_2M);
	assert_int_equal(st.st_mode, S_IFREG | 0777);
	assert_int_equal(st.st_nlink, 0);
}

static void test_gmem_restricted_fallocate_as_the_seed(void **state)
{
	struct gmemtest *g = *state;
	long fd = rm_create(g, 0);
	struct stat st;

	/* allocation goes to shmem: any offset, growing the size without KEEP_SIZE */
	assert_int_equal(gt_fallocate(g, fd, 0, 1, 3 * GT_PG), 0);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_fstat, fd, &st), 0);
	assert_int_equal(st.st_size, 1 + 3 * GT_PG);
	assert_int_equal(st.st_blocks, 4 * (GT_PG / 512));
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_ftruncate, fd, GT_2M), -EPERM);
	assert_int_equal(gt_fallocate(g, fd, GT_KEEP, 8 * GT_PG, GT_PG), 0);   /* past EOF */
	assert_int_equal(gt_fallocate(g, fd, GT_PUNCH, 1, GT_PG), -EINVAL);
	assert_int_equal(gt_fallocate(g, fd, GT_PUNCH, 0, 1), -EINVAL);
	assert_int_equal(gt_fallocate(g, fd, FALLOC_FL_ZERO_RANGE, 0, GT_PG), -EOPNOTSUPP);
	assert_int_equal(gt_fallocate(g, fd, GT_PUNCH, 0, 16 * GT_PG), 0);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_fstat, fd, &st), 0);
	assert_int_equal(st.st_blocks, 0);
	gt_close(g, fd);
	assert_int_equal(gt_frames_free(g->m), g->free_at_start);
}

static void test_gmem_restricted_in_kernel_api(void **state)
{
	struct gmemtest *g = *state;
	long fd = rm_create(g, 0);
	struct file *f = gt_file(g, fd);
	struct gt_notifier c;
	hw_pfn_t pfn;
	unsigned int order;

	assert_true(file_is_restrictedmem(f));
	assert_null(gmem_owner(f));
	/* the seed's shmem allocates past EOF: a 4 KiB page, the file has no size yet */
	assert_int_equal(gmem_get_page(f, 1000, &pfn, &order), 0);
	assert_int_equal(order, 0);
	hw_folio_put(&g->m->hw, pfn);
	assert_int_equal(gt_fallocate(g, fd, GT_PUNCH, 1000 * GT_PG, GT_PG), 0);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_ftruncate, fd, 4 * GT_MB), 0);
	gt_notifier_init(&c);
	assert_int_equal(gmem_register_notifier(f, &c.n), 0);
	assert_int_equal(gmem_get_page(f, 600, &pfn, &order), 0);
	assert_int_equal(order, GMEM_HUGE_ORDER);
	assert_int_equal(hw_folio_head(&g->m->hw, pfn), pfn - (600 - 512));
	hw_folio_put(&g->m->hw, pfn);
	assert_int_equal(gt_fallocate(g, fd, GT_PUNCH, GT_2M, GT_2M), 0);
	assert_int_equal(c.starts, 1);
	assert_int_equal(c.ends, 1);
	assert_int_equal(c.last_start, 512);
	assert_int_equal(c.last_end, 1024);
	assert_int_equal(c.last_order, GMEM_HUGE_ORDER);
	assert_int_equal(c.last_head, pfn - (600 - 512));
	gmem_unregister_notifier(f, &c.n);
	file_put(f);
}

int main(void)
{
#define GT(fn) cmocka_unit_test_setup_teardown(fn, gt_setup, gt_teardown)
	const struct CMUnitTest tests[] = {
		GT(test_gmem_restricted_flags_errno_table),
		GT(test_gmem_restricted_no_read_write_mmap),
		GT(test_gmem_restricted_ftruncate_sets_the_size_once),
		GT(test_gmem_restricted_fallocate_as_the_seed),
		GT(test_gmem_restricted_in_kernel_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
