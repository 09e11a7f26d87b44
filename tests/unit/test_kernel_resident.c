/* SPDX-License-Identifier: MIT */
/*
 * What simulated memory costs the host: freed 2 MiB blocks go back past the
 * resident cap (none, a small one, the default), what is kept is reused,
 * page tables a region needed go when it does, and the process's own
 * resident set falls back after a munmap. See residenttest.h for why most
 * tests first fill the first 2 MiB block.
 */
#include <stdbool.h>

#include "residenttest.h"

#define RAM        (64ull << 20)
/* Fixed addresses in 512 GiB slots of their own: every table under them is theirs. */
#define REGION_VA  0x200000000000ull

/*
 * mmap(NULL) of @len, every page written; returns the address, fills
 * *@frames. With @fresh the frames were never used before, so the host
 * holds @len more.
 */
static uint64_t map_and_touch(struct mv_machine *m, struct mv_task *t, uint64_t len, bool fresh,
			      uint64_t *frames)
{
	struct mv_machine_stats s0 = rt_stats(m), s1;
	uint64_t a = rt_map(t, 0, len, RT_ANON);

	rt_touch(t, a, len / RT_PG);
	s1 = rt_stats(m);
	*frames = s0.frames_free - s1.frames_free;
	/* every frame taken is a data page or a page table of the region */
	assert_int_equal(*frames, len / RT_PG + (s1.pgtable_bytes - s0.pgtable_bytes) / RT_PG);
	if (fresh)
		assert_true(s1.host_resident_bytes >= s0.host_resident_bytes + len);
	return a;
}

/* ---- MV_RESIDENT_CAP_NONE ---- */

static void test_resident_cap_none_returns_every_freed_block(void **state)
{
	struct mv_machine *m = rt_machine(RAM, MV_RESIDENT_CAP_NONE);
	struct mv_machine_stats s0, s1;
	struct mv_task *t;
	uint64_t a, frames, blocks;

	assert_int_equal(mv_task_spawn(m, &t), 0);
	rt_fill_first_block(m, t);
	s0 = rt_stats(m);
	a = map_and_touch(m, t, 16 * RT_MB, true, &frames);
	/* the region's frames came from fresh blocks, this many */
	blocks = rt_div_up(frames, RT_BLOCK_PAGES);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, a, 16 * RT_MB), 0);
	s1 = rt_stats(m);

	assert_int_equal(s1.frames_free, s0.frames_free);
	assert_int_equal(s1.pgtable_bytes, s0.pgtable_bytes);
	/* each block merged whole and went back; nothing is kept */
	assert_int_equal(s1.host_returned_blocks - s0.host_returned_blocks, blocks);
	assert_int_equal(s1.host_free_kept_bytes, 0);
	/* the host keeps only the metadata of the frames that were used */
	assert_true(s1.host_resident_bytes <= s0.host_resident_bytes + rt_meta_bound(&s1, frames));
	mv_machine_destroy(m);
}

/*
 * Without the filler, the region's first frames come from the first block,
 * which the task's own frames keep from merging into 2 MiB: its free pieces
 * that are as whole as they can be there still go back, so less than a
 * block stays kept, even with no cap.
 */
static void test_resident_cap_none_keeps_less_than_the_partly_used_block(void **state)
{
	struct mv_machine *m = rt_machine(RAM, MV_RESIDENT_CAP_NONE);
	struct mv_machine_stats s0, s1;
	struct mv_task *t;
	uint64_t a, frames, first;

	assert_int_equal(mv_task_spawn(m, &t), 0);
	s0 = rt_stats(m);
	first = RT_BLOCK_PAGES - rt_used(&s0);   /* what the first block had left */
	a = map_and_touch(m, t, 16 * RT_MB, true, &frames);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, a, 16 * RT_MB), 0);
	s1 = rt_stats(m);

	assert_int_equal(s1.frames_free, s0.frames_free);
	assert_int_equal(s1.host_returned_blocks - s0.host_returned_blocks,
			 rt_div_up(frames - first, RT_BLOCK_PAGES));
	assert_true(s1.host_free_kept_bytes < RT_BLOCK);
	mv_machine_destroy(m);
}

/* ---- a small cap ---- */

static void test_resident_cap_keeps_whole_blocks_up_to_it_returns_the_rest(void **state)
{
	const uint64_t cap = 8 * RT_MB;
	struct mv_machine *m = rt_machine(RAM, cap);
	struct mv_machine_stats s0, s1;
	struct mv_task *t;
	uint64_t a, frames, blocks, kept_blocks, rss0, rss1;

	assert_int_equal(mv_task_spawn(m, &t), 0);
	rt_fill_first_block(m, t);
	s0 = rt_stats(m);
	rss0 = rt_host_rss();
	a = map_and_touch(m, t, 32 * RT_MB, true, &frames);
	blocks = rt_div_up(frames, RT_BLOCK_PAGES);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, a, 32 * RT_MB), 0);
	s1 = rt_stats(m);
	rss1 = rt_host_rss();

	assert_int_equal(s1.frames_free, s0.frames_free);
	/* kept memory is whole blocks, no more than the cap, at least the last one freed */
	assert_int_equal(s1.host_free_kept_bytes % RT_BLOCK, 0);
	assert_true(s1.host_free_kept_bytes <= cap);
	assert_true(s1.host_free_kept_bytes >= RT_BLOCK);
	/* every other block went back */
	kept_blocks = s1.host_free_kept_bytes / RT_BLOCK;
	assert_int_equal(s1.host_returned_blocks - s0.host_returned_blocks, blocks - kept_blocks);
	assert_true(s1.host_resident_bytes <=
		    s0.host_resident_bytes + s1.host_free_kept_bytes + rt_meta_bound(&s1, frames));
	/* the process holds at most the cap more than before (2 MiB slack: metadata, malloc) */
	assert_true(rss1 <= rss0 + cap + 2 * RT_MB);
	mv_machine_destroy(m);
}

/* ---- the default cap ---- */

static void test_resident_default_cap_keeps_freed_memory_for_reuse(void **state)
{
	struct mv_machine *m = rt_machine(RAM, 0);
	struct mv_machine_stats s0, s1, s2;
	struct mv_task *t;
	uint64_t a, frames, again, blocks;

	assert_int_equal(mv_task_spawn(m, &t), 0);
	rt_fill_first_block(m, t);
	s0 = rt_stats(m);
	a = map_and_touch(m, t, 16 * RT_MB, true, &frames);
	blocks = rt_div_up(frames, RT_BLOCK_PAGES);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, a, 16 * RT_MB), 0);
	s1 = rt_stats(m);

	/* 16 MiB is far below 256 MiB: every block stays, none went back */
	assert_int_equal(s1.frames_free, s0.frames_free);
	assert_int_equal(s1.host_returned_blocks, s0.host_returned_blocks);
	assert_int_equal(s1.host_free_kept_bytes, blocks * RT_BLOCK);
	assert_true(s1.host_resident_bytes >= s0.host_resident_bytes + 16 * RT_MB);

	/* the same again runs in the kept blocks: no fresh block, no new host memory */
	a = map_and_touch(m, t, 16 * RT_MB, false, &again);
	assert_int_equal(again, frames);
	s2 = rt_stats(m);
	assert_int_equal(s2.host_free_kept_bytes, (blocks * RT_BLOCK_PAGES - frames) * RT_PG);
	assert_int_equal(s2.host_returned_blocks, s0.host_returned_blocks);
	/* at most the untouched rest of the block the first round only began */
	assert_true(s2.host_resident_bytes < s1.host_resident_bytes + RT_BLOCK);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, a, 16 * RT_MB), 0);
	mv_machine_destroy(m);
}

/* ---- page tables ---- */

/* 4 MiB at a 1 GiB boundary alone in its 512 GiB slot: a PUD, a PMD and two PTs. */
static void test_resident_munmap_frees_the_page_tables_of_the_region(void **state)
{
	struct mv_machine *m = rt_machine(RAM, MV_RESIDENT_CAP_NONE);
	struct mv_machine_stats s0, s1, s2;
	struct mv_task *t;

	assert_int_equal(mv_task_spawn(m, &t), 0);
	s0 = rt_stats(m);
	rt_map(t, REGION_VA, 4 * RT_MB, RT_ANON | MAP_FIXED);
	rt_touch(t, REGION_VA, 4 * RT_MB / RT_PG);
	s1 = rt_stats(m);
	assert_int_equal(s1.pgtable_bytes - s0.pgtable_bytes, 4 * RT_PG);
	assert_int_equal(s0.frames_free - s1.frames_free, 4 * RT_MB / RT_PG + 4);

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, REGION_VA, 4 * RT_MB), 0);
	s2 = rt_stats(m);
	assert_int_equal(s2.pgtable_bytes, s0.pgtable_bytes);
	assert_int_equal(s2.frames_free, s0.frames_free);
	mv_machine_destroy(m);
}

/* MADV_DONTNEED frees the tables whose span lies inside the range, no others. */
static void test_resident_madvise_dontneed_frees_only_tables_inside_the_range(void **state)
{
	struct mv_machine *m = rt_machine(RAM, MV_RESIDENT_CAP_NONE);
	struct mv_machine_stats s0, s1, s2, s3;
	struct mv_task *t;
	uint64_t v = 0;

	assert_int_equal(mv_task_spawn(m, &t), 0);
	s0 = rt_stats(m);
	rt_map(t, REGION_VA, 4 * RT_MB, RT_ANON | MAP_FIXED);
	rt_touch(t, REGION_VA, 4 * RT_MB / RT_PG);
	s1 = rt_stats(m);

	/* the two PTs span 2 MiB each, inside; the PMD and PUD span more */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_madvise, REGION_VA, 4 * RT_MB, MADV_DONTNEED), 0);
	s2 = rt_stats(m);
	assert_int_equal(s1.pgtable_bytes - s2.pgtable_bytes, 2 * RT_PG);
	assert_int_equal(s2.frames_free - s1.frames_free, 4 * RT_MB / RT_PG + 2);
	/* the mapping stays: a read refaults a zero page through a new PT */
	assert_int_equal(mv_user_read(t, REGION_VA + RT_PG, &v, sizeof(v)), 0);
	assert_int_equal(v, 0);

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, REGION_VA, 4 * RT_MB), 0);
	s3 = rt_stats(m);
	assert_int_equal(s3.pgtable_bytes, s0.pgtable_bytes);
	assert_int_equal(s3.frames_free, s0.frames_free);
	mv_machine_destroy(m);
}

/* ---- the process's resident set ---- */

static void test_resident_cap_none_host_rss_falls_back_after_munmap(void **state)
{
	struct mv_machine *m = rt_machine(RAM, MV_RESIDENT_CAP_NONE);
	struct mv_task *t;
	uint64_t a, frames, rss0, rss1, rss2;

	assert_int_equal(mv_task_spawn(m, &t), 0);
	rt_fill_first_block(m, t);
	rss0 = rt_host_rss();
	a = map_and_touch(m, t, 32 * RT_MB, true, &frames);
	rss1 = rt_host_rss();
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, a, 32 * RT_MB), 0);
	rss2 = rt_host_rss();

	/* the touch showed in the host's count: the check below means something */
	assert_true(rss1 >= rss0 + 32 * RT_MB);
	/* 2 MiB slack: frame metadata (128 KiB here), the host allocator */
	assert_true(rss2 <= rss0 + 2 * RT_MB);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resident_cap_none_returns_every_freed_block),
		cmocka_unit_test(test_resident_cap_none_keeps_less_than_the_partly_used_block),
		cmocka_unit_test(test_resident_cap_keeps_whole_blocks_up_to_it_returns_the_rest),
		cmocka_unit_test(test_resident_default_cap_keeps_freed_memory_for_reuse),
		cmocka_unit_test(test_resident_munmap_frees_the_page_tables_of_the_region),
		cmocka_unit_test(test_resident_madvise_dontneed_frees_only_tables_inside_the_range),
		cmocka_unit_test(test_resident_cap_none_host_rss_falls_back_after_munmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

