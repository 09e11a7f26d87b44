/* SPDX-License-Identifier: MIT */
/*
 * mainline's tools/testing/selftests/mm/mseal_test.c, its mremap, mmap and
 * madvise cases (the rest, and how they are checked, in
 * test_selftest_mseal.c).
 */
#include "mseal_test.h"

static void mremap_shrink(struct env *e, uint64_t p, bool seal)
{
	seal_if(e, seal, p, 4 * PG);
	/* (not in the selftest) the same size, which changes nothing, is refused too */
	assert_int_equal(sys_mremap(e, p, 4 * PG, 4 * PG, 0, 0), seal ? -EPERM : (long)p);
	assert_int_equal(sys_mremap(e, p, 4 * PG, 2 * PG, 0, 0), seal ? -EPERM : (long)p);
	expect_vma(e, p, (seal ? 4 : 2) * PG, R, seal);
	expect_intact(e, p, 0, seal ? 4 : 2);
}

BOTH(mremap_shrink, mremap_shrink, 4)   /* test_seal_mremap_shrink */

static void mremap_expand(struct env *e, uint64_t p, bool seal)
{
	assert_int_equal(sys_munmap(e, p + 2 * PG, 2 * PG), 0);
	seal_if(e, seal, p, 2 * PG);
	assert_int_equal(sys_mremap(e, p, 2 * PG, 4 * PG, 0, 0), seal ? -EPERM : (long)p);
	expect_vma(e, p, (seal ? 2 : 4) * PG, R, seal);
	expect_intact(e, p, 0, 2);
}

BOTH(mremap_expand, mremap_expand, 4)   /* test_seal_mremap_expand */

/* The source mapping at @p, @n pages, is where it was, sealed, its bytes intact. */
static void expect_source_kept(struct env *e, uint64_t p, uint64_t n)
{
	expect_vma(e, p, n * PG, R, true);
	expect_intact(e, p, 0, n);
}

static void mremap_move(struct env *e, uint64_t p, bool seal)
{
	uint64_t np = setup(e, PG);

	assert_int_equal(sys_munmap(e, np, PG), 0);
	seal_if(e, seal, p, PG);
	assert_int_equal(sys_mremap(e, p, PG, PG, MOVE, np), seal ? -EPERM : (long)np);
	if (seal) {
		expect_source_kept(e, p, 1);
		expect_unmapped(e, np, PG);
	} else {
		expect_intact(e, np, 0, 1);
		expect_unmapped(e, p, PG);
	}
}

BOTH(mremap_move, mremap_move, 1)   /* test_seal_mremap_move */

static void mmap_overwrite_prot(struct env *e, uint64_t p, bool seal)
{
	seal_if(e, seal, p, PG);
	assert_int_equal(sys_mmap(e, p, PG, PROT_NONE, ANON | MAP_FIXED), seal ? -EPERM : (long)p);
	if (seal)
		expect_source_kept(e, p, 1);
	else
		expect_vma(e, p, PG, PROT_NONE, false);
}

BOTH(mmap_overwrite_prot, mmap_overwrite_prot, 1)   /* test_seal_mmap_overwrite_prot */

static void mmap_expand(struct env *e, uint64_t p, bool seal)
{
	assert_int_equal(sys_munmap(e, p + 8 * PG, 4 * PG), 0);
	seal_if(e, seal, p, 8 * PG);
	assert_int_equal(sys_mmap(e, p, 12 * PG, R, ANON | MAP_FIXED), seal ? -EPERM : (long)p);
	if (seal) {
		expect_source_kept(e, p, 8);
		expect_unmapped(e, p + 8 * PG, 4 * PG);
	} else {
		expect_vma(e, p, 12 * PG, R, false);
	}
}

BOTH(mmap_expand, mmap_expand, 12)   /* test_seal_mmap_expand */

static void mmap_shrink(struct env *e, uint64_t p, bool seal)
{
	seal_if(e, seal, p, 12 * PG);
	assert_int_equal(sys_mmap(e, p, 8 * PG, R, ANON | MAP_FIXED), seal ? -EPERM : (long)p);
	if (seal)
		expect_source_kept(e, p, 12);
	else
		expect_intact(e, p, 8, 4);
}

BOTH(mmap_shrink, mmap_shrink, 12)   /* test_seal_mmap_shrink */

static void mremap_shrink_fixed(struct env *e, uint64_t p, bool seal)
{
	uint64_t np = setup(e, 4 * PG);

	seal_if(e, seal, p, 4 * PG);
	assert_int_equal(sys_mremap(e, p, 4 * PG, 2 * PG, MOVE, np), seal ? -EPERM : (long)np);
	if (seal) {
		expect_source_kept(e, p, 4);
		expect_vma(e, np, 4 * PG, R, false);
		expect_intact(e, np, 0, 4);
	} else {
		expect_vma(e, np, 2 * PG, R, false);
		expect_intact(e, np, 0, 2);
		expect_unmapped(e, p, 4 * PG);
	}
}

BOTH(mremap_shrink_fixed, mremap_shrink_fixed, 4)   /* test_seal_mremap_shrink_fixed */

/* mremap_expand_fixed, mremap_move_fixed: the destination is sealed */
static void mremap_to_sealed(struct env *e, uint64_t p, bool seal, uint64_t old_pages)
{
	uint64_t np = setup(e, 4 * PG);

	seal_if(e, seal, np, 4 * PG);
	assert_int_equal(sys_mremap(e, p, old_pages * PG, 4 * PG, MOVE, np),
			 seal ? -EPERM : (long)np);
	if (seal) {
		expect_vma(e, p, old_pages * PG, R, false);
		expect_intact(e, p, 0, old_pages);
		expect_source_kept(e, np, 4);
	} else {
		expect_vma(e, np, 4 * PG, R, false);
		expect_intact(e, np, 0, old_pages);
		expect_unmapped(e, p, old_pages * PG);
	}
}

static void mremap_expand_fixed(struct env *e, uint64_t p, bool seal)
{
	mremap_to_sealed(e, p, seal, 1);
}

BOTH(mremap_expand_fixed, mremap_expand_fixed, 1)   /* test_seal_mremap_expand_fixed */

static void mremap_move_fixed(struct env *e, uint64_t p, bool seal)
{
	mremap_to_sealed(e, p, seal, 4);
}

BOTH(mremap_move_fixed, mremap_move_fixed, 4)   /* test_seal_mremap_move_fixed */

/*
 * test_seal_mremap_move_fixed_zero, sealed only: the source is refused
 * before the destination is looked at. Unsealed, the move to address 0
 * needs CAP_SYS_RAWIO past mmap_min_addr, which memvisor's tasks lack.
 */
static void mremap_move_fixed_zero(struct env *e, uint64_t p)
{
	assert_int_equal(sys_mseal(e, p, 4 * PG), 0);
	assert_int_equal(sys_mremap(e, p, 4 * PG, 2 * PG, MOVE, 0), -EPERM);
	expect_source_kept(e, p, 4);
}
ONE(mremap_move_fixed_zero, mremap_move_fixed_zero, 4)

/* mremap_move_dontunmap(_anyaddr): MREMAP_DONTUNMAP, to @hint (0: anywhere) */
static void mremap_dontunmap(struct env *e, uint64_t p, bool seal, bool anyaddr)
{
	uint64_t hint = 0;
	long r;

	seal_if(e, seal, p, 4 * PG);
	if (anyaddr) {
		hint = setup(e, 4 * PG);
		assert_int_equal(sys_munmap(e, hint, 4 * PG), 0);
	}
	r = sys_mremap(e, p, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, hint);
	if (seal) {
		assert_int_equal(r, -EPERM);
		expect_source_kept(e, p, 4);
		if (anyaddr)
			expect_unmapped(e, hint, 4 * PG);
		return;
	}
	assert_true(r > 0 && (uint64_t)r != p);
	if (anyaddr)
		assert_int_equal(r, (long)hint);
	expect_intact(e, (uint64_t)r, 0, 4);
	expect_vma(e, p, 4 * PG, R, false);
}

static void mremap_move_dontunmap(struct env *e, uint64_t p, bool seal)
{
	mremap_dontunmap(e, p, seal, false);
}

BOTH(mremap_move_dontunmap, mremap_move_dontunmap, 4)   /* test_seal_mremap_move_dontunmap */

static void mremap_move_dontunmap_anyaddr(struct env *e, uint64_t p, bool seal)
{
	mremap_dontunmap(e, p, seal, true);
}

/* test_seal_mremap_move_dontunmap_anyaddr */
BOTH(mremap_move_dontunmap_anyaddr, mremap_move_dontunmap_anyaddr, 4)

/* test_seal_merge_and_split: 24 pages, their ends PROT_NONE, sealed piece by piece */
static void merge_and_split(struct env *e, uint64_t p)
{
	assert_int_equal(sys_mprotect(e, p, PG, PROT_NONE), 0);
	assert_int_equal(sys_mprotect(e, p + 23 * PG, PG, PROT_NONE), 0);
	expect_vma(e, p + PG, 22 * PG, R, false);
	/* split from the start, then from the end */
	assert_int_equal(sys_mseal(e, p + PG, PG), 0);
	expect_vma(e, p + PG, PG, R, true);
	expect_vma(e, p + 2 * PG, 21 * PG, R, false);
	assert_int_equal(sys_mseal(e, p + 22 * PG, PG), 0);
	expect_vma(e, p + 22 * PG, PG, R, true);
	expect_vma(e, p + 2 * PG, 20 * PG, R, false);
	/* merge with the previous VMA, then with the next */
	assert_int_equal(sys_mseal(e, p + 2 * PG, PG), 0);
	expect_vma(e, p + PG, 2 * PG, R, true);
	assert_int_equal(sys_mseal(e, p + 21 * PG, PG), 0);
	expect_vma(e, p + 21 * PG, 2 * PG, R, true);
	/* split and merge from the previous VMA */
	assert_int_equal(sys_mseal(e, p + 2 * PG, 2 * PG), 0);
	expect_vma(e, p + PG, 3 * PG, R, true);
	assert_int_equal(sys_munmap(e, p + PG, PG), -EPERM);
	assert_int_equal(sys_mprotect(e, p + 2 * PG, PG, PROT_NONE), -EPERM);
	/* split and merge from the next */
	assert_int_equal(sys_mseal(e, p + 20 * PG, 2 * PG), 0);
	expect_vma(e, p + 20 * PG, 3 * PG, R, true);
	/* from the middle of the previous to the middle of the next: one VMA */
	assert_int_equal(sys_mseal(e, p + 2 * PG, 20 * PG), 0);
	expect_vma(e, p + PG, 22 * PG, R, true);
	expect_vma(e, p, PG, PROT_NONE, false);
	expect_vma(e, p + 23 * PG, PG, PROT_NONE, false);
	expect_intact(e, p, 1, 22);
}
ONE(merge_and_split, merge_and_split, 24)

/* A sealed VMA takes MADV_DONTNEED (writable, shared or a file's) but not munmap. */
static void discard_allowed_then_munmap(struct env *e, uint64_t p, bool seal)
{
	assert_int_equal(sys_madvise(e, p, 4 * PG, MADV_DONTNEED), 0);
	expect_refused(sys_munmap(e, p, 4 * PG), seal, -EPERM);
	if (seal)
		assert_non_null(vma_find(e->t->mm, p));
	else
		expect_unmapped(e, p, 4 * PG);
}

static void discard_ro_anon_on_rw(struct env *e, uint64_t none, bool seal)
{
	uint64_t p = setup_prot(e, 4 * PG, RW);
	uint8_t b = 1;

	seal_if(e, seal, p, 4 * PG);
	assert_int_equal(sys_madvise(e, p, 4 * PG, MADV_DONTNEED), 0);
	/* the pages are gone: zero on the next read */
	assert_int_equal(mv_user_read(e->t, p + 3 * PG, &b, 1), 0);
	assert_int_equal(b, 0);
	discard_allowed_then_munmap(e, p, seal);
}

BOTH(discard_ro_anon_on_rw, discard_ro_anon_on_rw, 0)   /* test_seal_discard_ro_anon_on_rw */

static void discard_ro_anon_on_filebacked(struct env *e, uint64_t none, bool seal)
{
	long fd = MVTEST_SYSCALL(e->t, MV_SYS_memfd_create, "test", 0), p;

	assert_true(fd >= 0);   /* a fresh task has no fd 0 yet */
	assert_int_equal(MVTEST_SYSCALL(e->t, MV_SYS_fallocate, fd, 0, 0, 4 * PG), 0);
	p = MVTEST_SYSCALL(e->t, MV_SYS_mmap, 0, 4 * PG, R, MAP_PRIVATE, fd, 0);
	assert_true(p > 0);
	seal_if(e, seal, (uint64_t)p, 4 * PG);
	discard_allowed_then_munmap(e, (uint64_t)p, seal);
	assert_int_equal(MVTEST_SYSCALL(e->t, MV_SYS_close, fd), 0);
}

/* test_seal_discard_ro_anon_on_filebacked: a private file mapping is not anonymous */
BOTH(discard_ro_anon_on_filebacked, discard_ro_anon_on_filebacked, 0)

static void discard_ro_anon_on_shared(struct env *e, uint64_t none, bool seal)
{
	long p = sys_mmap(e, 0, 4 * PG, R, MAP_SHARED | MAP_ANONYMOUS);

	assert_true(p > 0);
	seal_if(e, seal, (uint64_t)p, 4 * PG);
	discard_allowed_then_munmap(e, (uint64_t)p, seal);
}

/* test_seal_discard_ro_anon_on_shared: shared anonymous memory is shmem */
BOTH(discard_ro_anon_on_shared, discard_ro_anon_on_shared, 0)

static void discard_ro_anon(struct env *e, uint64_t p, bool seal)
{
	uint8_t b = 1;

	seal_if(e, seal, p, 4 * PG);
	expect_refused(sys_madvise(e, p, 4 * PG, MADV_DONTNEED), seal, -EPERM);
	if (seal) {
		expect_intact(e, p, 0, 4);
	} else {
		assert_int_equal(mv_user_read(e->t, p, &b, 1), 0);
		assert_int_equal(b, 0);
	}
	expect_refused(sys_munmap(e, p, 4 * PG), seal, -EPERM);
	if (seal)
		expect_source_kept(e, p, 4);
}

BOTH(discard_ro_anon, discard_ro_anon, 4)   /* test_seal_discard_ro_anon */

static void madvise_nodiscard(struct env *e, uint64_t p, bool seal)
{
	seal_if(e, seal, p, 4 * PG);
	assert_int_equal(sys_madvise(e, p, 4 * PG, MADV_RANDOM), 0);
	expect_intact(e, p, 0, 4);
	expect_refused(sys_munmap(e, p, 4 * PG), seal, -EPERM);
	if (seal)
		expect_source_kept(e, p, 4);
}

BOTH(madvise_nodiscard, madvise_nodiscard, 4)   /* test_seal_madvise_nodiscard */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest_mseal_mremap_shrink),
		cmocka_unit_test(test_selftest_mseal_mremap_expand),
		cmocka_unit_test(test_selftest_mseal_mremap_move),
		cmocka_unit_test(test_selftest_mseal_mremap_shrink_fixed),
		cmocka_unit_test(test_selftest_mseal_mremap_expand_fixed),
		cmocka_unit_test(test_selftest_mseal_mremap_move_fixed),
		cmocka_unit_test(test_selftest_mseal_mremap_move_dontunmap),
		cmocka_unit_test(test_selftest_mseal_mremap_move_fixed_zero),
		cmocka_unit_test(test_selftest_mseal_mremap_move_dontunmap_anyaddr),
		cmocka_unit_test(test_selftest_mseal_madvise_nodiscard),
		cmocka_unit_test(test_selftest_mseal_discard_ro_anon),
		cmocka_unit_test(test_selftest_mseal_discard_ro_anon_on_rw),
		cmocka_unit_test(test_selftest_mseal_discard_ro_anon_on_shared),
		cmocka_unit_test(test_selftest_mseal_discard_ro_anon_on_filebacked),
		cmocka_unit_test(test_selftest_mseal_mmap_overwrite_prot),
		cmocka_unit_test(test_selftest_mseal_mmap_expand),
		cmocka_unit_test(test_selftest_mseal_mmap_shrink),
		cmocka_unit_test(test_selftest_mseal_merge_and_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
