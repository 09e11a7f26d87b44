/* SPDX-License-Identifier: MIT */
/*
 * The guest_memfd file: no read/write (pread/pwrite -ESPIPE, as the host
 * answers), fixed size, fstat, and fallocate with every errno, row by row
 * as the host kernel gave them (tests/differential checks the same rows
 * against /dev/kvm).
 */
#include "gmemtest.h"
#include "lib/alloc.h"

#define FSIZE (4 * GT_MB)

static void test_gmem_file_read_write_errno_table(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, FSIZE, GUEST_MEMFD_FLAG_MMAP);
	char buf[16];

	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_read, fd, buf, 1), -EINVAL);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_write, fd, buf, 1), -EINVAL);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_pread64, fd, buf, 1, 0), -ESPIPE);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_pwrite64, fd, buf, 1, 0), -ESPIPE);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_pread64, fd, buf, 1, -1), -EINVAL);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_pwrite64, 999, buf, 1, 0), -EBADF);
}

static void test_gmem_file_size_is_fixed(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, FSIZE, 0);
	const int64_t lens[] = { 0, GT_PG, (int64_t)FSIZE, (int64_t)(2 * FSIZE), -1 };
	struct stat st;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_ftruncate, fd, lens[i]), -EINVAL);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_fstat, fd, &st), 0);
	assert_int_equal(st.st_size, FSIZE);
}

static void test_gmem_file_fstat_size_and_blocks(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, FSIZE, 0);
	struct stat st;

	assert_int_equal(gt_fallocate(g, fd, GT_KEEP, 0, GT_2M), 0);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_fstat, fd, &st), 0);
	assert_int_equal(st.st_size, FSIZE);
	assert_int_equal(st.st_blksize, GT_PG);
	assert_int_equal(st.st_blocks, 0);        /* KVM's inode never counts them */
	assert_int_equal(st.st_mode, S_IFREG | 0600);
	assert_int_equal(st.st_nlink, 1);
}

static const struct {
	const char *name;
	int mode;
	int64_t off, len;
	long expect;
} falloc_rows[] = {
	{ "alloc_without_keep_size", 0, 0, GT_PG, -EOPNOTSUPP },
	{ "alloc_keep_size", GT_KEEP, 0, GT_PG, 0 },
	{ "alloc_unaligned_offset", GT_KEEP, 1, GT_PG, -EINVAL },
	{ "alloc_unaligned_len", GT_KEEP, 0, 1, -EINVAL },
	{ "alloc_at_eof", GT_KEEP, FSIZE, GT_PG, -EINVAL },
	{ "alloc_across_eof", GT_KEEP, FSIZE - GT_PG, 2 * GT_PG, -EINVAL },
	{ "alloc_whole_file", GT_KEEP, 0, FSIZE, 0 },
	{ "punch_without_keep_size", FALLOC_FL_PUNCH_HOLE, 0, GT_PG, -EOPNOTSUPP },
	{ "punch", GT_PUNCH, 0, GT_PG, 0 },
	{ "punch_unaligned_offset", GT_PUNCH, 1, GT_PG, -EINVAL },
	{ "punch_unaligned_len", GT_PUNCH, 0, 1, -EINVAL },
	{ "punch_at_eof", GT_PUNCH, FSIZE, GT_PG, 0 },
	{ "punch_past_eof", GT_PUNCH, 2 * FSIZE, GT_PG, 0 },
	{ "punch_across_eof", GT_PUNCH, FSIZE - GT_PG, 2 * GT_PG, 0 },
	{ "zero_range", FALLOC_FL_ZERO_RANGE | GT_KEEP, 0, GT_PG, -EOPNOTSUPP },
	{ "collapse_range", FALLOC_FL_COLLAPSE_RANGE, 0, GT_PG, -EOPNOTSUPP },
	{ "len_zero", GT_KEEP, 0, 0, -EINVAL },
	{ "offset_negative", GT_KEEP, -(int64_t)GT_PG, GT_PG, -EINVAL },
};

static void test_gmem_file_fallocate_errno_table(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, FSIZE, GUEST_MEMFD_FLAG_MMAP);

	for (size_t i = 0; i < sizeof(falloc_rows) / sizeof(falloc_rows[0]); i++) {
		long r = gt_fallocate(g, fd, falloc_rows[i].mode, (uint64_t)falloc_rows[i].off,
				      (uint64_t)falloc_rows[i].len);

		if (r != falloc_rows[i].expect)
			fail_msg("%s: got %ld, want %ld", falloc_rows[i].name, r,
				 falloc_rows[i].expect);
	}
}

static void test_gmem_file_punch_zeroes_exactly_the_punched_pages(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, FSIZE, 0);
	struct file *f = gt_file(g, fd);
	const uint64_t pages = 600;   /* a 2 MiB folio, then 4 KiB ones */

	for (uint64_t i = 0; i < pages; i++)
		gt_poke(g, f, i, (uint8_t)(i % 251 + 1));
	/* inside the 2 MiB folio, and across its end into the 4 KiB folios */
	assert_int_equal(gt_fallocate(g, fd, GT_PUNCH, 3 * GT_PG, 2 * GT_PG), 0);
	assert_int_equal(gt_fallocate(g, fd, GT_PUNCH, 510 * GT_PG, 4 * GT_PG), 0);
	for (uint64_t i = 0; i < pages; i++) {
		bool punched = (i >= 3 && i < 5) || (i >= 510 && i < 514);
		uint8_t want = punched ? 0 : (uint8_t)(i % 251 + 1);

		if (gt_peek(g, f, i) != want)
			fail_msg("page %llu: got %u, want %u", (unsigned long long)i,
				 gt_peek(g, f, i), want);
	}
	file_put(f);
	gt_close(g, fd);
	assert_int_equal(gt_frames_free(g->m), g->free_at_start);
}

static void test_gmem_file_pages_are_unmovable_and_unevictable(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, FSIZE, 0);
	struct file *f = gt_file(g, fd);
	struct gmem_stats st;
	hw_pfn_t pfn;
	unsigned int order;
	uint32_t flags;

	assert_int_equal(gmem_get_page(f, 7, &pfn, &order), 0);
	flags = hw_frame(&g->m->hw, hw_folio_head(&g->m->hw, pfn))->flags;
	assert_true(flags & HW_FRAME_UNMOVABLE);
	assert_true(flags & HW_FRAME_UNEVICTABLE);
	hw_folio_put(&g->m->hw, pfn);
	st = gt_stats(g);
	assert_int_equal(st.unmovable_pages, GMEM_HUGE_PAGES);
	assert_int_equal(st.unevictable_pages, GMEM_HUGE_PAGES);
	file_put(f);
	gt_close(g, fd);
	st = gt_stats(g);
	assert_int_equal(st.unmovable_pages, 0);
	assert_int_equal(st.unevictable_pages, 0);
}

/* Every allocation that can fail, failed in turn: an error or success, never a leak. */
static void test_gmem_file_allocation_failures_leave_nothing_behind(void **state)
{
	struct gmemtest *g = *state;
	long fd0 = gt_create(g, GT_PG, 0);   /* the machine-wide state exists from here */

	for (unsigned long nth = 1; nth < 40; nth++) {
		long fd, r;

		lib_fail_after(nth);
		fd = gt_create(g, FSIZE, 0);
		r = fd >= 0 ? gt_fallocate(g, fd, GT_KEEP, 0, GT_2M + 8 * GT_PG) : fd;
		lib_fail_after(0);
		assert_true(r == 0 || r == -ENOMEM);
		if (fd >= 0)
			gt_close(g, fd);
		assert_int_equal(g->owner.refs, 1);   /* only fd0's */
		assert_int_equal(gt_stats(g).unmovable_pages, 0);
	}
	gt_close(g, fd0);
	assert_int_equal(gt_frames_free(g->m), g->free_at_start);
}

/* No 2 MiB block to be had: the page comes from a 4 KiB folio. */
static void test_gmem_file_huge_allocation_falls_back_to_a_page(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, FSIZE, 0);
	struct file *f = gt_file(g, fd);
	hw_pfn_t pfn;
	unsigned int order;

	lib_fail_after(1);
	assert_int_equal(gmem_get_page(f, 0, &pfn, &order), 0);
	lib_fail_after(0);
	assert_int_equal(order, 0);
	hw_folio_put(&g->m->hw, pfn);
	assert_int_equal(gt_stats(g).folios_4k, 1);
	file_put(f);
}

int main(void)
{
#define GT(fn) cmocka_unit_test_setup_teardown(fn, gt_setup, gt_teardown)
	const struct CMUnitTest tests[] = {
		GT(test_gmem_file_read_write_errno_table),
		GT(test_gmem_file_size_is_fixed),
		GT(test_gmem_file_fstat_size_and_blocks),
		GT(test_gmem_file_fallocate_errno_table),
		GT(test_gmem_file_punch_zeroes_exactly_the_punched_pages),
		GT(test_gmem_file_pages_are_unmovable_and_unevictable),
		GT(test_gmem_file_allocation_failures_leave_nothing_behind),
		GT(test_gmem_file_huge_allocation_falls_back_to_a_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
