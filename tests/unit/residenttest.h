/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the tests of what a machine costs the host: a machine with a
 * resident cap, the process's resident set, page touching, and a filled
 * first 2 MiB block. Public API only.
 *
 * Why fill the first block: freed frames go back to the host only as whole
 * 2 MiB blocks, and the first block holds pfn 0 and the task's own frames
 * (its page-table root, ...), so it never merges. Frames a test frees there
 * stay "kept" whatever the cap. Once that block is full, every frame a test
 * allocates comes from blocks of its own (the buddy allocator takes the
 * smallest free block first and carves fresh 2 MiB blocks only when none is
 * left), and freeing them all merges each of those blocks whole: the counts
 * become exact.
 */
#ifndef MV_TESTS_RESIDENTTEST_H
#define MV_TESTS_RESIDENTTEST_H

#include <stdio.h>
#include <unistd.h>

#include "mvtest.h"

#define RT_PG          4096ull
#define RT_MB          (1ull << 20)
#define RT_BLOCK       (2ull << 20)          /* max-order block: what goes back */
#define RT_BLOCK_PAGES (RT_BLOCK / RT_PG)
#define RT_RW          (PROT_READ | PROT_WRITE)
#define RT_ANON        (MAP_PRIVATE | MAP_ANONYMOUS)
/* The filler's address: its own 512 GiB slot, far from the stack and mmap_base. */
#define RT_FILL_VA     0x100000000000ull

static inline uint64_t rt_div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

static inline struct mv_machine *rt_machine(uint64_t ram, uint64_t cap)
{
	struct mv_machine_config cfg = { .ram_bytes = ram, .resident_cap_bytes = cap };
	struct mv_machine *m = NULL;

	assert_int_equal(mv_machine_create(&cfg, &m), 0);
	return m;
}

static inline struct mv_machine_stats rt_stats(struct mv_machine *m)
{
	struct mv_machine_stats s;

	mv_machine_get_stats(m, &s);
	return s;
}

/*
 * Host bytes a free may leave resident outside kept blocks: the metadata of
 * @frames frames, which is never given back, and a page for a straddle.
 */
static inline uint64_t rt_meta_bound(const struct mv_machine_stats *s, uint64_t frames)
{
	return rt_div_up(frames * s->frame_meta_bytes, RT_PG) * RT_PG + RT_PG;
}

/* Frames in use, pfn 0 (reserved) included. */
static inline uint64_t rt_used(const struct mv_machine_stats *s)
{
	return s->frames_total - s->frames_free;
}

/* This process's resident set in bytes (the second field of /proc/self/statm). */
static inline uint64_t rt_host_rss(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%lu %lu", &size, &resident), 2);
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static inline uint64_t rt_map(struct mv_task *t, uint64_t addr, uint64_t len, uint64_t flags)
{
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, addr, len, RT_RW, flags, -1, 0);

	assert_true(a > 0);
	if (flags & MAP_FIXED)
		assert_int_equal(a, (long)addr);
	return (uint64_t)a;
}

/* Writes 8 bytes to each of the first @pages pages at @addr: one frame each. */
static inline void rt_touch(struct mv_task *t, uint64_t addr, uint64_t pages)
{
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t v = addr + i * RT_PG;

		assert_int_equal(mv_user_write(t, addr + i * RT_PG, &v, sizeof(v)), 0);
	}
}

/*
 * Fills the first 2 MiB block of @m: maps a filler at RT_FILL_VA and writes
 * as many of its pages as the block has frames left, less the three page
 * tables (PUD, PMD, PT) the first write brings. Leaves no free frame in
 * any partly used block, so nothing is kept.
 */
static inline void rt_fill_first_block(struct mv_machine *m, struct mv_task *t)
{
	struct mv_machine_stats s = rt_stats(m);
	uint64_t used = rt_used(&s);

	/* what the machine and the task hold so far fits in the first block */
	assert_true(used + 3 < RT_BLOCK_PAGES);
	rt_map(t, RT_FILL_VA, RT_BLOCK, RT_ANON | MAP_FIXED);
	rt_touch(t, RT_FILL_VA, RT_BLOCK_PAGES - used - 3);
	s = rt_stats(m);
	assert_int_equal(rt_used(&s), RT_BLOCK_PAGES);
	assert_int_equal(s.host_free_kept_bytes, 0);
}

#endif
