/* SPDX-License-Identifier: MIT */
/*
 * The cases of mainline's tools/testing/selftests/mm/mremap_test.c on
 * memvisor's public API (docs/conformance.md has the table). Where the
 * selftest reads /proc/self/maps, these look the VMA up in the task's tree
 * (vma_find, as test_kernel_mremap.c does): a range lies in one mapping
 * when the VMA holding its start reaches its end. The selftest's random
 * bytes are one pattern drawn from MVTEST_SEED, and as with its default
 * threshold (-t 4) only the first 4 MiB of a moved region are written and
 * compared, so its 2 GiB regions keep their size: they touch 4 MiB of RAM.
 * The machine has 128 MiB, room for the 40 MiB preamble case. Beyond what
 * the selftest looks at, the moves are also checked to leave the source
 * range unmapped (or, with MREMAP_DONTUNMAP, mapped and empty) and the
 * gaps between moved VMAs unmapped.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "mvtest.h"
#include "kernel/kernel.h"

#define PG 4096ull
#define KB(n) ((uint64_t)(n) << 10)
#define MB(n) ((uint64_t)(n) << 20)
#define GB(n) ((uint64_t)(n) << 30)
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define SHARED_NOREPLACE (MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE)
#define MOVE (MREMAP_MAYMOVE | MREMAP_FIXED)
#define THRESHOLD MB(4)                        /* bytes compared per moved region */
#define PREAMBLE MB(40)                        /* the preamble case's, and the pattern's size */
#define MIN_ADDR (K_MMAP_MIN_ADDR + MB(40))    /* mmap_min_addr, and the selftest's headroom */

static uint8_t *pattern;

static int make_pattern(void **state)
{
	uint64_t x = mvtest_seed() | 1;

	pattern = malloc(PREAMBLE);
	if (!pattern)
		return -1;
	for (uint64_t i = 0; i < PREAMBLE; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pattern[i] = (uint8_t)(x >> 24);
	}
	return 0;
}

static int free_pattern(void **state)
{
	free(pattern);
	return 0;
}

static struct mv_task *task(struct mv_machine **m)
{
	struct mv_task *t = NULL;

	*m = mvtest_machine(128ull << 20);
	assert_int_equal(mv_task_spawn(*m, &t), 0);
	return t;
}

static long do_mmap(struct mv_task *t, uint64_t addr, uint64_t len, uint64_t prot,
		    uint64_t flags)
{
	return MVTEST_SYSCALL(t, MV_SYS_mmap, addr, len, prot, flags, -1, 0);
}

static uint64_t map(struct mv_task *t, uint64_t len)
{
	long a = do_mmap(t, 0, len, RW, ANON);

	assert_true(a > 0);
	return (uint64_t)a;
}

static void unmap(struct mv_task *t, uint64_t addr, uint64_t len)
{
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, addr, len), 0);
}

static long do_mremap(struct mv_task *t, uint64_t addr, uint64_t old_len, uint64_t new_len,
		      uint64_t flags, uint64_t new_addr)
{
	return MVTEST_SYSCALL(t, MV_SYS_mremap, addr, old_len, new_len, flags, new_addr);
}

/* Written 64 KiB at a time: a copy that faults starts over, so long ones cost more. */
static void put(struct mv_task *t, uint64_t va, const uint8_t *src, uint64_t len)
{
	for (uint64_t off = 0, n; off < len; off += n) {
		n = len - off < KB(64) ? len - off : KB(64);
		assert_int_equal(mv_user_write(t, va + off, src + off, n), 0);
	}
}

/* @len bytes at @va are @want (NULL: zeroes). */
static void expect_bytes(struct mv_task *t, uint64_t va, const uint8_t *want, uint64_t len)
{
	uint8_t *got = malloc(len);
	uint64_t i = 0;

	assert_non_null(got);
	assert_int_equal(mv_user_read(t, va, got, len), 0);
	while (i < len && got[i] == (want ? want[i] : 0))
		i++;
	free(got);
	if (i < len)
		fail_msg("byte %#llx of %#llx differs", (unsigned long long)i,
			 (unsigned long long)va);
}

static void expect_unmapped(struct mv_task *t, uint64_t va)
{
	char c;

	assert_int_equal(mv_user_read(t, va, &c, 1), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MAPERR, va);
}

/* is_range_mapped: one VMA covers [start, end). */
static bool one_mapping(struct mv_task *t, uint64_t start, uint64_t end)
{
	struct vma *vma = vma_find(t->mm, start);

	return vma && vma_start(vma) <= start && vma_end(vma) >= end;
}

/* mremap_expand_merge: growing into the hole between two parts merges them. */
static void test_selftest_mremap_expand_merge(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task(&m);
	uint64_t a = map(t, 3 * PG);

	unmap(t, a + PG, PG);
	assert_false(one_mapping(t, a, a + 3 * PG));
	assert_int_equal(do_mremap(t, a, PG, 2 * PG, 0, 0), (long)a);
	assert_true(one_mapping(t, a, a + 3 * PG));
	unmap(t, a, 3 * PG);
	mv_machine_destroy(m);
}

/* mremap_expand_merge_offset: growing from the middle page restores the mapping. */
static void test_selftest_mremap_expand_merge_offset(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task(&m);
	uint64_t a = map(t, 3 * PG);

	unmap(t, a + 2 * PG, PG);
	assert_int_equal(do_mremap(t, a + PG, PG, 2 * PG, 0, 0), (long)(a + PG));
	assert_true(one_mapping(t, a, a + 3 * PG));
	unmap(t, a, 3 * PG);
	mv_machine_destroy(m);
}

static void fill_zero(struct mv_task *t, uint64_t va, uint64_t len)
{
	uint8_t *z = calloc(1, MB(1));

	assert_non_null(z);
	for (uint64_t off = 0; off < len; off += MB(1))
		put(t, va + off, z, MB(1));
	free(z);
}

/*
 * mremap_move_within_range: in a 20 MiB mapping, the upper half of a 2 MiB
 * block moves 2 MiB down; the lower half, not moved, keeps its bytes.
 */
static void test_selftest_mremap_move_within_range(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task(&m);
	uint64_t p = map(t, MB(20)), src, dst;

	fill_zero(t, p, MB(20));
	src = (p + MB(6)) & ~(MB(2) - 1);
	put(t, src, pattern, MB(2));
	dst = src - MB(2);
	assert_int_equal(do_mremap(t, src + MB(1), MB(1), MB(1), MOVE, dst + MB(1)),
			 (long)(dst + MB(1)));
	expect_bytes(t, src, pattern, MB(1));
	expect_bytes(t, dst + MB(1), pattern + MB(1), MB(1));
	expect_bytes(t, dst, NULL, MB(1));
	expect_unmapped(t, src + MB(1));
	unmap(t, p, MB(20));
	mv_machine_destroy(m);
}

/*
 * get_source_mapping: a shared anonymous mapping at the first address
 * above MIN_ADDR that is a multiple of @align but not of twice it (the
 * selftest's test of the address bits, also for an @align that is no
 * power of two); an error other than -EPERM or -EEXIST is returned.
 */
static long source_mapping(struct mv_task *t, uint64_t align, uint64_t size)
{
	for (uint64_t addr = align;; addr += align) {
		long r;

		if (addr < MIN_ADDR)
			continue;
		r = do_mmap(t, addr, size, RW, SHARED_NOREPLACE);
		if (r == -EPERM || r == -EEXIST)
			continue;
		if (r < 0)
			return r;
		if (((uint64_t)r & (align - 1)) || !((uint64_t)r & align)) {
			unmap(t, (uint64_t)r, size);
			continue;
		}
		return r;
	}
}

/*
 * mremap_move_1mb_from_start: the second MiB of a mapping at 1.25 MiB
 * alignment moves to the second MiB of another whose first MiB is
 * unmapped; the source's first MiB keeps its bytes, the hole stays.
 */
static void test_selftest_mremap_move_1mb_from_start(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task(&m);
	long src = source_mapping(t, KB(1280), MB(6)), dst;

	assert_true(src > 0);
	dst = source_mapping(t, KB(1280), MB(6));
	assert_true(dst > 0);
	put(t, (uint64_t)src, pattern, MB(2));
	unmap(t, (uint64_t)dst, MB(1));
	assert_int_equal(do_mremap(t, (uint64_t)src + MB(1), MB(1), MB(1), MOVE,
				   (uint64_t)dst + MB(1)), dst + (long)MB(1));
	expect_bytes(t, (uint64_t)src, pattern, MB(1));
	expect_bytes(t, (uint64_t)dst + MB(1), pattern + MB(1), MB(1));
	expect_unmapped(t, (uint64_t)dst);
	unmap(t, (uint64_t)src, MB(6));
	unmap(t, (uint64_t)dst, MB(6));
	mv_machine_destroy(m);
}

/*
 * mremap_shrink_multiple_vmas: ten pages, every other one unmapped, shrunk
 * to the first page in place or while moving it: the unmapped tail may
 * span several VMAs and gaps.
 */
static void shrink_multiple_vmas(bool inplace)
{
	struct mv_machine *m;
	struct mv_task *t = task(&m);
	uint64_t size = 10 * PG, p = map(t, size), tgt = map(t, size), at;

	unmap(t, tgt, size);
	for (int i = 1; i < 10; i += 2)
		unmap(t, p + (uint64_t)i * PG, PG);
	put(t, p, pattern, PG);
	if (inplace)
		assert_int_equal(do_mremap(t, p, size, PG, 0, 0), (long)p);
	else
		assert_int_equal(do_mremap(t, p, size, PG, MOVE, tgt), (long)tgt);
	at = inplace ? p : tgt;
	expect_bytes(t, at, pattern, PG);
	for (int i = inplace ? 2 : 0; i < 10; i += 2)
		expect_unmapped(t, p + (uint64_t)i * PG);
	unmap(t, tgt, size);
	unmap(t, p, size);
	mv_machine_destroy(m);
}

/* mremap_shrink_multiple_vmas(inplace = true) */
static void test_selftest_mremap_shrink_multiple_vmas_inplace(void **state)
{
	shrink_multiple_vmas(true);
}

/* mremap_shrink_multiple_vmas(inplace = false) */
static void test_selftest_mremap_shrink_multiple_vmas(void **state)
{
	shrink_multiple_vmas(false);
}

/* Page i of a range holds the pattern's page i, for each listed page. */
static void fill_pages(struct mv_task *t, uint64_t base, const int *pages, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(t, base + (uint64_t)pages[i] * PG, pattern + (uint64_t)pages[i] * PG, PG);
}

static void expect_pages(struct mv_task *t, uint64_t base, const int *pages, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_bytes(t, base + (uint64_t)pages[i] * PG, pattern + (uint64_t)pages[i] * PG,
			     PG);
}

/* After a move the source pages are gone, or with MREMAP_DONTUNMAP mapped and empty. */
static void expect_moved_out(struct mv_task *t, uint64_t base, const int *pages, size_t n,
			     bool dontunmap)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t va = base + (uint64_t)pages[i] * PG;

		if (dontunmap)
			expect_bytes(t, va, NULL, PG);
		else
			expect_unmapped(t, va);
	}
}

/*
 * mremap_move_multiple_vmas: eleven pages with pages 1, 3, 7 and 9
 * unmapped (five VMAs) move as one range, then next to themselves, then
 * back over a PROT_NONE mapping; every move keeps the bytes and the gaps.
 */
static void move_multiple_vmas(bool dontunmap)
{
	static const int mapped[] = { 0, 2, 4, 5, 6, 8, 10 };
	const size_t n = sizeof(mapped) / sizeof(mapped[0]);
	const uint64_t flags = MOVE | (dontunmap ? MREMAP_DONTUNMAP : 0), size = 11 * PG;
	struct mv_machine *m;
	struct mv_task *t = task(&m);
	uint64_t p = map(t, size), tgt = map(t, 2 * size);

	unmap(t, tgt, 2 * size);
	for (int i = 1; i < 10; i += 2)
		if (i != 5)
			unmap(t, p + (uint64_t)i * PG, PG);
	fill_pages(t, p, mapped, n);
	/* (not in the selftest) a range that starts in a gap moves nothing */
	assert_int_equal(do_mremap(t, p + PG, size - PG, size - PG, flags, tgt), -EFAULT);
	expect_unmapped(t, tgt + PG);
	expect_pages(t, p, mapped, n);

	assert_int_equal(do_mremap(t, p, size, size, flags, tgt), (long)tgt);
	expect_pages(t, tgt, mapped, n);
	expect_unmapped(t, tgt + PG);
	expect_unmapped(t, tgt + 9 * PG);
	expect_moved_out(t, p, mapped, n, dontunmap);
	assert_int_equal(do_mremap(t, tgt, size, size, flags, tgt + size), (long)(tgt + size));
	expect_pages(t, tgt + size, mapped, n);
	assert_int_equal(do_mmap(t, tgt, size, PROT_NONE, ANON | MAP_FIXED), (long)tgt);
	assert_int_equal(do_mremap(t, tgt + size, size, size, flags, tgt), (long)tgt);
	expect_pages(t, tgt, mapped, n);
	expect_moved_out(t, tgt + size, mapped, n, dontunmap);
	unmap(t, tgt, 2 * size);
	unmap(t, p, size);
	mv_machine_destroy(m);
}

/* mremap_move_multiple_vmas(dont_unmap = false) */
static void test_selftest_mremap_move_multiple_vmas(void **state)
{
	move_multiple_vmas(false);
}

/* mremap_move_multiple_vmas(dont_unmap = true) */
static void test_selftest_mremap_move_multiple_vmas_dontunmap(void **state)
{
	move_multiple_vmas(true);
}

/*
 * mremap_move_multiple_vmas_split: ten pages with page 5 unmapped; pages
 * 2 to 8 move, splitting both VMAs, and land with the gap at page 3.
 */
static void move_multiple_vmas_split(bool dontunmap)
{
	static const int mapped[] = { 0, 1, 2, 3, 4, 6, 7, 8, 9 };
	static const int moved[] = { 2, 3, 4, 6, 7, 8 }, kept[] = { 0, 1, 9 };
	const uint64_t flags = MOVE | (dontunmap ? MREMAP_DONTUNMAP : 0), size = 10 * PG;
	struct mv_machine *m;
	struct mv_task *t = task(&m);
	uint64_t p = map(t, size), tgt = map(t, size);

	unmap(t, tgt, size);
	unmap(t, p + 5 * PG, PG);
	fill_pages(t, p, mapped, 9);
	assert_int_equal(do_mremap(t, p + 2 * PG, size - 3 * PG, size - 3 * PG, flags, tgt),
			 (long)tgt);
	/* page 2 + i lands at tgt + i */
	expect_pages(t, tgt - 2 * PG, moved, 6);
	expect_unmapped(t, tgt + 3 * PG);
	expect_unmapped(t, tgt + 7 * PG);
	expect_pages(t, p, kept, 3);
	expect_moved_out(t, p, moved, 6, dontunmap);
	unmap(t, tgt, size);
	unmap(t, p, size);
	mv_machine_destroy(m);
}

/* mremap_move_multiple_vmas_split(dont_unmap = false) */
static void test_selftest_mremap_move_multiple_vmas_split(void **state)
{
	move_multiple_vmas_split(false);
}

/* mremap_move_multiple_vmas_split(dont_unmap = true) */
static void test_selftest_mremap_move_multiple_vmas_split_dontunmap(void **state)
{
	move_multiple_vmas_split(true);
}

/* A row of the selftest's table (struct config plus its expected result). */
struct remap_row {
	const char *name;
	uint64_t src_align, dst_align, size;
	bool overlapping;
	uint64_t preamble;
	long want;   /* 0: moved and verified; else the errno that stops it */
};

/* is_remap_region_valid: only something already mapped there (-EEXIST) makes it invalid. */
static bool region_free(struct mv_task *t, uint64_t addr, uint64_t size)
{
	long r = do_mmap(t, addr, size, RW, SHARED_NOREPLACE);

	if (r > 0)
		unmap(t, (uint64_t)r, size);
	return r != -EEXIST;
}

/*
 * remap_region's destination: dst_align past the source's end (before it
 * when overlapping), past the preamble, at an odd multiple of dst_align,
 * and moved up until free unless overlapping.
 */
static uint64_t dest_address(struct mv_task *t, const struct remap_row *c, uint64_t src)
{
	uint64_t off = c->overlapping ? -c->dst_align : c->dst_align;
	uint64_t addr = ((src + c->size + off) & ~(c->dst_align - 1)) + c->preamble;

	if (!(addr & c->dst_align))
		addr |= c->dst_align;
	while (!c->overlapping && !region_free(t, addr, c->size))
		addr += c->dst_align;
	return addr;
}

/* remap_region: 0 when the move happened and the bytes followed, else the errno. */
static long remap_region(struct mv_task *t, const struct remap_row *c)
{
	uint64_t checked = c->size < THRESHOLD ? c->size : THRESHOLD, dst, pre;
	long src = source_mapping(t, c->src_align, c->size), r;

	if (src < 0)
		return src;
	put(t, (uint64_t)src, pattern, checked);
	dst = dest_address(t, c, (uint64_t)src);
	pre = dst - c->preamble;
	if (c->preamble) {
		assert_int_equal(do_mmap(t, pre, c->preamble, RW, SHARED_NOREPLACE), (long)pre);
		put(t, pre, pattern, c->preamble);
	}
	r = do_mremap(t, (uint64_t)src, c->size, c->size, MOVE, dst);
	if (r < 0) {
		expect_bytes(t, (uint64_t)src, pattern, checked);
	} else {
		assert_int_equal(r, (long)dst);
		expect_bytes(t, dst, pattern, checked);
		expect_unmapped(t, (uint64_t)src);
		unmap(t, dst, c->size);
	}
	if (c->preamble) {
		expect_bytes(t, pre, pattern, c->preamble);
		unmap(t, pre, c->preamble);
	}
	unmap(t, (uint64_t)src, c->size);
	return r < 0 ? r : 0;
}

static void run_rows(const struct remap_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct mv_machine *m;
		struct mv_task *t = task(&m);

		print_message("%s\n", rows[i].name);
		assert_int_equal(remap_region(t, &rows[i]), rows[i].want);
		mv_machine_destroy(m);
	}
}

/* run_mremap_test_case, the rows that must fail (EXPECT_FAILURE). */
static void test_selftest_mremap_remap_region_expect_failure(void **state)
{
	static const struct remap_row rows[] = {
		{ "Source and Destination Regions Overlapping", PG, PG, PG, true, 0, -EINVAL },
		{ "Destination Address Misaligned (1KB-aligned)", PG, KB(1), PG, false, 0,
		  -EINVAL },
		/* the source mapping itself cannot be had at a 1 KiB boundary */
		{ "Source Address Misaligned (1KB-aligned)", KB(1), PG, PG, false, 0, -EINVAL },
	};

	run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* run_mremap_test_case, the rows that must move (EXPECT_SUCCESS). */
static void test_selftest_mremap_remap_region(void **state)
{
	static const struct remap_row rows[] = {
		{ "8KB, source PTE-aligned, dest PTE-aligned", PG, PG, 2 * PG, false, 0, 0 },
		{ "2MB, source 1MB-aligned, dest PTE-aligned", MB(1), PG, MB(2), false, 0, 0 },
		{ "2MB, source 1MB-aligned, dest 1MB-aligned", MB(1), MB(1), MB(2), false, 0, 0 },
		{ "4MB, source PMD-aligned, dest PTE-aligned", MB(2), PG, MB(4), false, 0, 0 },
		{ "4MB, source PMD-aligned, dest 1MB-aligned", MB(2), MB(1), MB(4), false, 0, 0 },
		{ "4MB, source PMD-aligned, dest PMD-aligned", MB(2), MB(2), MB(4), false, 0, 0 },
		{ "2GB, source PUD-aligned, dest PTE-aligned", GB(1), PG, GB(2), false, 0, 0 },
		{ "2GB, source PUD-aligned, dest 1MB-aligned", GB(1), MB(1), GB(2), false, 0, 0 },
		{ "2GB, source PUD-aligned, dest PMD-aligned", GB(1), MB(2), GB(2), false, 0, 0 },
		{ "2GB, source PUD-aligned, dest PUD-aligned", GB(1), GB(1), GB(2), false, 0, 0 },
		{ "5MB, source 1MB-aligned, dest 1MB-aligned", MB(1), MB(1), MB(5), false, 0, 0 },
		{ "5MB, source 1MB-aligned, dest 1MB-aligned after a 40MB preamble",
		  MB(1), MB(1), MB(5), false, PREAMBLE, 0 },
	};

	run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest_mremap_remap_region_expect_failure),
		cmocka_unit_test(test_selftest_mremap_remap_region),
		cmocka_unit_test(test_selftest_mremap_expand_merge),
		cmocka_unit_test(test_selftest_mremap_expand_merge_offset),
		cmocka_unit_test(test_selftest_mremap_move_within_range),
		cmocka_unit_test(test_selftest_mremap_move_1mb_from_start),
		cmocka_unit_test(test_selftest_mremap_shrink_multiple_vmas_inplace),
		cmocka_unit_test(test_selftest_mremap_shrink_multiple_vmas),
		cmocka_unit_test(test_selftest_mremap_move_multiple_vmas),
		cmocka_unit_test(test_selftest_mremap_move_multiple_vmas_dontunmap),
		cmocka_unit_test(test_selftest_mremap_move_multiple_vmas_split),
		cmocka_unit_test(test_selftest_mremap_move_multiple_vmas_split_dontunmap),
	};

	return cmocka_run_group_tests(tests, make_pattern, free_pattern);
}
