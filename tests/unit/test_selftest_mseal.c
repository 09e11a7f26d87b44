/* SPDX-License-Identifier: MIT */
/*
 * The cases of mainline's tools/testing/selftests/mm/mseal_test.c on
 * memvisor's public API (docs/conformance.md has the table): sealing,
 * mprotect and munmap here, mremap, mmap and madvise in
 * test_selftest_mseal_remap.c. A case that
 * takes a bool runs both ways, unsealed then sealed, each on a fresh
 * machine. Where the selftest only asks for a negative result, these ask
 * for Linux's errno; where it reads /proc/self/maps (get_vma_size), these
 * look the VMA up in the task's tree (vma_find). Beyond what the selftest
 * looks at, every refused call is checked to leave the range mapped, its
 * protection and its bytes as they were: each page of a mapping is filled
 * with its own byte first, through a forced remote write (as a write to
 * /proc/self/mem would), so read-only mappings carry data too.
 */
#include "mseal_test.h"

/* test_seal_addseal */
static void addseal(struct env *e, uint64_t p)
{
	assert_int_equal(sys_mseal(e, p, 4 * PG), 0);
	expect_vma(e, p, 4 * PG, R, true);
	expect_intact(e, p, 0, 4);
}
ONE(addseal, addseal, 4)

/* test_seal_unmapped_start: the first two pages unmapped */
static void unmapped_start(struct env *e, uint64_t p)
{
	assert_int_equal(sys_munmap(e, p, 2 * PG), 0);
	assert_int_equal(sys_mprotect(e, p, 4 * PG, RW), -ENOMEM);
	assert_int_equal(sys_mseal(e, p, 4 * PG), -ENOMEM);
	expect_vma(e, p + 2 * PG, 2 * PG, R, false);
	assert_int_equal(sys_mseal(e, p + 2 * PG, 2 * PG), 0);
	expect_vma(e, p + 2 * PG, 2 * PG, R, true);
	expect_unmapped(e, p, 2 * PG);
	expect_intact(e, p, 2, 2);
}
ONE(unmapped_start, unmapped_start, 4)

/* test_seal_unmapped_middle: pages 1 and 2 unmapped */
static void unmapped_middle(struct env *e, uint64_t p)
{
	assert_int_equal(sys_munmap(e, p + PG, 2 * PG), 0);
	/* mprotect changes the VMA before the hole (Linux's per-VMA walk) */
	assert_int_equal(sys_mprotect(e, p, 4 * PG, RW), -ENOMEM);
	expect_vma(e, p, PG, RW, false);
	assert_int_equal(sys_mseal(e, p, 4 * PG), -ENOMEM);
	expect_vma(e, p, PG, RW, false);
	expect_vma(e, p + 3 * PG, PG, R, false);
	assert_int_equal(sys_mseal(e, p, PG), 0);
	assert_int_equal(sys_mseal(e, p + 3 * PG, PG), 0);
	expect_vma(e, p, PG, RW, true);
	expect_vma(e, p + 3 * PG, PG, R, true);
	expect_intact(e, p, 0, 1);
	expect_intact(e, p, 3, 1);
}
ONE(unmapped_middle, unmapped_middle, 4)

/* test_seal_unmapped_end: the last two pages unmapped */
static void unmapped_end(struct env *e, uint64_t p)
{
	assert_int_equal(sys_munmap(e, p + 2 * PG, 2 * PG), 0);
	assert_int_equal(sys_mprotect(e, p, 4 * PG, RW), -ENOMEM);
	assert_int_equal(sys_mseal(e, p, 4 * PG), -ENOMEM);
	expect_vma(e, p, 2 * PG, RW, false);
	assert_int_equal(sys_mseal(e, p, 2 * PG), 0);
	expect_vma(e, p, 2 * PG, RW, true);
	expect_intact(e, p, 0, 2);
}
ONE(unmapped_end, unmapped_end, 4)

/* test_seal_multiple_vmas: one seal over three VMAs keeps them three */
static void multiple_vmas(struct env *e, uint64_t p)
{
	assert_int_equal(sys_mprotect(e, p + PG, 2 * PG, RW), 0);
	assert_int_equal(sys_mprotect(e, p, 4 * PG, R), 0);
	expect_vma(e, p, 4 * PG, R, false);
	assert_int_equal(sys_mprotect(e, p + PG, 2 * PG, RW), 0);
	assert_int_equal(sys_mseal(e, p, 4 * PG), 0);
	expect_vma(e, p, PG, R, true);
	expect_vma(e, p + PG, 2 * PG, RW, true);
	expect_vma(e, p + 3 * PG, PG, R, true);
	expect_intact(e, p, 0, 4);
}
ONE(multiple_vmas, multiple_vmas, 4)

/* test_seal_split_start: seal the first page, then the rest */
static void split_start(struct env *e, uint64_t p)
{
	assert_int_equal(sys_mprotect(e, p, 2 * PG, RW), 0);
	assert_int_equal(sys_mseal(e, p, PG), 0);
	expect_vma(e, p, PG, RW, true);
	expect_vma(e, p + PG, PG, RW, false);
	assert_int_equal(sys_mseal(e, p + PG, 3 * PG), 0);
	/* the second page merges with the first */
	expect_vma(e, p, 2 * PG, RW, true);
	expect_vma(e, p + 2 * PG, 2 * PG, R, true);
}
ONE(split_start, split_start, 4)

/* test_seal_split_end: seal the last page, then the first three */
static void split_end(struct env *e, uint64_t p)
{
	assert_int_equal(sys_mprotect(e, p, 2 * PG, RW), 0);
	assert_int_equal(sys_mseal(e, p + 3 * PG, PG), 0);
	expect_vma(e, p + 2 * PG, PG, R, false);
	expect_vma(e, p + 3 * PG, PG, R, true);
	assert_int_equal(sys_mseal(e, p, 3 * PG), 0);
	expect_vma(e, p, 2 * PG, RW, true);
	expect_vma(e, p + 2 * PG, 2 * PG, R, true);
}
ONE(split_end, split_end, 4)

/* test_seal_invalid_input */
static void invalid_input(struct env *e, uint64_t p)
{
	assert_int_equal(sys_munmap(e, p + 4 * PG, 4 * PG), 0);
	assert_int_equal(MVTEST_SYSCALL(e->t, MV_SYS_mseal, p, 4 * PG, 0x20), -EINVAL);
	assert_int_equal(sys_mseal(e, p + 1, 2 * PG), -EINVAL);
	/* too long: past the mapping */
	assert_int_equal(sys_mseal(e, p + 0, 5 * PG), -ENOMEM);
	/* UINT64_MAX / page size rounds up to 2^52, which does not wrap: a hole */
	assert_int_equal(sys_mseal(e, p, UINT64_MAX / PG), -ENOMEM);
	assert_int_equal(sys_mseal(e, p - PG, 5 * PG), -ENOMEM);
	/* (not in the selftest) lengths that round to 0 or wrap */
	assert_int_equal(sys_mseal(e, p, UINT64_MAX), -EINVAL);
	assert_int_equal(sys_mseal(e, p, ~p - PG + 2), -EINVAL);
	expect_vma(e, p, 4 * PG, R, false);
}
ONE(invalid_input, invalid_input, 8)

/* test_seal_zero_length */
static void zero_length(struct env *e, uint64_t p)
{
	assert_int_equal(sys_mprotect(e, p, 0, RW), 0);
	assert_int_equal(sys_mseal(e, p, 0), 0);
	expect_vma(e, p, 4 * PG, R, false);
	assert_int_equal(sys_mprotect(e, p, 4 * PG, RW), 0);
	expect_vma(e, p, 4 * PG, RW, false);
}
ONE(zero_length, zero_length, 4)

/* test_seal_twice */
static void twice(struct env *e, uint64_t p)
{
	assert_int_equal(sys_mseal(e, p, 4 * PG), 0);
	assert_int_equal(sys_mseal(e, p, 4 * PG), 0);
	expect_vma(e, p, 4 * PG, R, true);
}
ONE(twice, twice, 4)

static void mprotect_whole(struct env *e, uint64_t p, bool seal)
{
	seal_if(e, seal, p, 4 * PG);
	expect_refused(sys_mprotect(e, p, 4 * PG, RW), seal, -EPERM);
	expect_vma(e, p, 4 * PG, seal ? R : RW, seal);
	expect_intact(e, p, 0, 4);
}

BOTH(mprotect, mprotect_whole, 4)   /* test_seal_mprotect */

static void start_mprotect(struct env *e, uint64_t p, bool seal)
{
	seal_if(e, seal, p, PG);
	expect_refused(sys_mprotect(e, p, PG, RW), seal, -EPERM);
	assert_int_equal(sys_mprotect(e, p + PG, 3 * PG, RW), 0);
	if (seal) {
		expect_vma(e, p, PG, R, true);
		expect_vma(e, p + PG, 3 * PG, RW, false);
	} else {
		expect_vma(e, p, 4 * PG, RW, false);
	}
	expect_intact(e, p, 0, 4);
}

BOTH(start_mprotect, start_mprotect, 4)   /* test_seal_start_mprotect */

static void end_mprotect(struct env *e, uint64_t p, bool seal)
{
	seal_if(e, seal, p + PG, 3 * PG);
	assert_int_equal(sys_mprotect(e, p, PG, RW), 0);
	expect_refused(sys_mprotect(e, p + PG, 3 * PG, RW), seal, -EPERM);
	expect_page(e, p, RW, false);
	expect_page(e, p + PG, seal ? R : RW, seal);
	expect_intact(e, p, 0, 4);
}

BOTH(end_mprotect, end_mprotect, 4)   /* test_seal_end_mprotect */

/* The first @sealed pages sealed by a length one byte short of or past a page. */
static void mprotect_unaligned(struct env *e, uint64_t p, bool seal, uint64_t sealed,
			       uint64_t len)
{
	seal_if(e, seal, p, len);
	expect_refused(sys_mprotect(e, p, sealed * PG, RW), seal, -EPERM);
	assert_int_equal(sys_mprotect(e, p + sealed * PG, PG, RW), 0);
	if (seal)
		expect_vma(e, p, sealed * PG, R, true);
	expect_page(e, p + sealed * PG, RW, false);
	expect_intact(e, p, 0, 4);
}

static void mprotect_unalign_len(struct env *e, uint64_t p, bool seal)
{
	mprotect_unaligned(e, p, seal, 2, 2 * PG - 1);
}

/* test_seal_mprotect_unalign_len: 2 pages less a byte seal 2 pages */
BOTH(mprotect_unalign_len, mprotect_unalign_len, 4)

static void mprotect_unalign_len_variant_2(struct env *e, uint64_t p, bool seal)
{
	mprotect_unaligned(e, p, seal, 3, 2 * PG + 1);
}

/* test_seal_mprotect_unalign_len_variant_2: 2 pages and a byte seal 3 pages */
BOTH(mprotect_unalign_len_variant_2, mprotect_unalign_len_variant_2, 4)

static void mprotect_two_vma(struct env *e, uint64_t p, bool seal)
{
	assert_int_equal(sys_mprotect(e, p, 2 * PG, RW), 0);
	seal_if(e, seal, p, 4 * PG);
	/* the same protection again is refused too */
	expect_refused(sys_mprotect(e, p, 2 * PG, RW), seal, -EPERM);
	expect_refused(sys_mprotect(e, p + 2 * PG, 2 * PG, RW), seal, -EPERM);
	if (seal) {
		expect_vma(e, p, 2 * PG, RW, true);
		expect_vma(e, p + 2 * PG, 2 * PG, R, true);
	} else {
		expect_vma(e, p, 4 * PG, RW, false);
	}
	expect_intact(e, p, 0, 4);
}

BOTH(mprotect_two_vma, mprotect_two_vma, 4)   /* test_seal_mprotect_two_vma */

static void mprotect_two_vma_with_split(struct env *e, uint64_t p, bool seal)
{
	assert_int_equal(sys_mprotect(e, p, 2 * PG, RW), 0);
	seal_if(e, seal, p + PG, 2 * PG);
	assert_int_equal(sys_mprotect(e, p, PG, RW), 0);
	expect_refused(sys_mprotect(e, p + PG, PG, RW), seal, -EPERM);
	expect_refused(sys_mprotect(e, p + 2 * PG, PG, RW), seal, -EPERM);
	assert_int_equal(sys_mprotect(e, p + 3 * PG, PG, RW), 0);
	if (seal) {
		expect_vma(e, p, PG, RW, false);
		expect_vma(e, p + PG, PG, RW, true);
		expect_vma(e, p + 2 * PG, PG, R, true);
		expect_vma(e, p + 3 * PG, PG, RW, false);
	} else {
		expect_vma(e, p, 4 * PG, RW, false);
	}
	expect_intact(e, p, 0, 4);
}

/* test_seal_mprotect_two_vma_with_split */
BOTH(mprotect_two_vma_with_split, mprotect_two_vma_with_split, 4)

static void mprotect_partial_mprotect(struct env *e, uint64_t p, bool seal)
{
	seal_if(e, seal, p, PG);
	expect_refused(sys_mprotect(e, p, 2 * PG, RW), seal, -EPERM);
	/* refused at the first VMA: the second page is untouched too */
	expect_page(e, p + PG, seal ? R : RW, false);
	expect_page(e, p, seal ? R : RW, seal);
	expect_intact(e, p, 0, 4);
}

/* test_seal_mprotect_partial_mprotect */
BOTH(mprotect_partial_mprotect, mprotect_partial_mprotect, 4)

/* The selftest runs this the same way whatever @seal says. */
static void mprotect_two_vma_with_gap(struct env *e, uint64_t p, bool seal)
{
	assert_int_equal(sys_mprotect(e, p, PG, RW), 0);
	assert_int_equal(sys_mprotect(e, p + 3 * PG, PG, RW), 0);
	assert_int_equal(sys_munmap(e, p + PG, 2 * PG), 0);
	assert_int_equal(sys_mprotect(e, p, 4 * PG, R), -ENOMEM);
	/* the page before the hole changed */
	expect_vma(e, p, PG, R, false);
	expect_vma(e, p + 3 * PG, PG, RW, false);
	assert_int_equal(sys_mseal(e, p, 4 * PG), -ENOMEM);
	assert_int_equal(sys_mprotect(e, p, PG, R), 0);
	assert_int_equal(sys_mprotect(e, p + 3 * PG, PG, R), 0);
	expect_vma(e, p + 3 * PG, PG, R, false);
	expect_intact(e, p, 0, 1);
	expect_intact(e, p, 3, 1);
}

/* test_seal_mprotect_two_vma_with_gap */
BOTH(mprotect_two_vma_with_gap, mprotect_two_vma_with_gap, 4)

static void mprotect_merge(struct env *e, uint64_t p, bool seal)
{
	assert_int_equal(sys_mprotect(e, p, PG, RW), 0);
	seal_if(e, seal, p, 2 * PG);
	expect_refused(sys_mprotect(e, p, 2 * PG, R), seal, -EPERM);
	assert_int_equal(sys_mprotect(e, p + 2 * PG, 2 * PG, R), 0);
	if (seal) {
		expect_vma(e, p, PG, RW, true);
		expect_vma(e, p + PG, PG, R, true);
		expect_vma(e, p + 2 * PG, 2 * PG, R, false);
	} else {
		expect_vma(e, p, 4 * PG, R, false);
	}
	expect_intact(e, p, 0, 4);
}

BOTH(mprotect_merge, mprotect_merge, 4)   /* test_seal_mprotect_merge */

static void mprotect_split(struct env *e, uint64_t p, bool seal)
{
	assert_int_equal(sys_mprotect(e, p, PG, RW), 0);
	seal_if(e, seal, p, 4 * PG);
	expect_refused(sys_mprotect(e, p, 2 * PG, R), seal, -EPERM);
	expect_refused(sys_mprotect(e, p + 2 * PG, 2 * PG, R), seal, -EPERM);
	if (seal) {
		expect_vma(e, p, PG, RW, true);
		expect_vma(e, p + PG, 3 * PG, R, true);
	} else {
		expect_vma(e, p, 4 * PG, R, false);
	}
	expect_intact(e, p, 0, 4);
}

BOTH(mprotect_split, mprotect_split, 4)   /* test_seal_mprotect_split */

static void munmap_whole(struct env *e, uint64_t p, bool seal)
{
	seal_if(e, seal, p, 4 * PG);
	expect_refused(sys_munmap(e, p, 4 * PG), seal, -EPERM);
	if (seal) {
		expect_vma(e, p, 4 * PG, R, true);
		expect_intact(e, p, 0, 4);
	} else {
		expect_unmapped(e, p, 4 * PG);
	}
}

BOTH(munmap, munmap_whole, 4)   /* test_seal_munmap */

static void munmap_two_vma(struct env *e, uint64_t p, bool seal)
{
	assert_int_equal(sys_mprotect(e, p, 2 * PG, RW), 0);
	seal_if(e, seal, p, 4 * PG);
	expect_refused(sys_munmap(e, p, 2 * PG), seal, -EPERM);
	expect_refused(sys_munmap(e, p + PG, 2 * PG), seal, -EPERM);
	if (seal) {
		expect_vma(e, p, 2 * PG, RW, true);
		expect_vma(e, p + 2 * PG, 2 * PG, R, true);
		expect_intact(e, p, 0, 4);
	} else {
		expect_unmapped(e, p, 3 * PG);
		expect_vma(e, p + 3 * PG, PG, R, false);
	}
}

BOTH(munmap_two_vma, munmap_two_vma, 4)   /* test_seal_munmap_two_vma */

static void munmap_vma_with_gap(struct env *e, uint64_t p, bool seal)
{
	assert_int_equal(sys_munmap(e, p + PG, 2 * PG), 0);
	if (seal) {
		assert_int_equal(sys_mseal(e, p, 4 * PG), -ENOMEM);
		expect_vma(e, p, PG, R, false);
		expect_vma(e, p + 3 * PG, PG, R, false);
	}
	assert_int_equal(sys_munmap(e, p, PG), 0);
	assert_int_equal(sys_munmap(e, p + 2 * PG, PG), 0);
	assert_int_equal(sys_munmap(e, p, 4 * PG), 0);
	expect_unmapped(e, p, 4 * PG);
}

BOTH(munmap_vma_with_gap, munmap_vma_with_gap, 4)   /* test_seal_munmap_vma_with_gap */

static void munmap_start_freed(struct env *e, uint64_t p, bool seal)
{
	assert_int_equal(sys_munmap(e, p, PG), 0);
	seal_if(e, seal, p + PG, 3 * PG);
	expect_refused(sys_munmap(e, p, 4 * PG), seal, -EPERM);
	if (seal) {
		expect_vma(e, p + PG, 3 * PG, R, true);
		expect_intact(e, p, 1, 3);
	} else {
		expect_unmapped(e, p, 4 * PG);
	}
}

BOTH(munmap_start_freed, munmap_start_freed, 4)   /* test_munmap_start_freed */

static void munmap_end_freed(struct env *e, uint64_t p, bool seal)
{
	assert_int_equal(sys_munmap(e, p + 3 * PG, PG), 0);
	seal_if(e, seal, p, 3 * PG);
	expect_refused(sys_munmap(e, p, 4 * PG), seal, -EPERM);
	if (seal) {
		expect_vma(e, p, 3 * PG, R, true);
		expect_intact(e, p, 0, 3);
	} else {
		expect_unmapped(e, p, 4 * PG);
	}
}

BOTH(munmap_end_freed, munmap_end_freed, 4)   /* test_munmap_end_freed */

static void munmap_middle_freed(struct env *e, uint64_t p, bool seal)
{
	assert_int_equal(sys_munmap(e, p + PG, 2 * PG), 0);
	seal_if(e, seal, p, PG);
	expect_refused(sys_munmap(e, p, 4 * PG), seal, -EPERM);
	if (seal) {
		/* nothing goes, the unsealed last page neither */
		expect_vma(e, p, PG, R, true);
		expect_vma(e, p + 3 * PG, PG, R, false);
		expect_intact(e, p, 0, 1);
		expect_intact(e, p, 3, 1);
	} else {
		expect_unmapped(e, p, 4 * PG);
	}
}

BOTH(munmap_middle_freed, munmap_middle_freed, 4)   /* test_munmap_middle_freed */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest_mseal_addseal),
		cmocka_unit_test(test_selftest_mseal_unmapped_start),
		cmocka_unit_test(test_selftest_mseal_unmapped_middle),
		cmocka_unit_test(test_selftest_mseal_unmapped_end),
		cmocka_unit_test(test_selftest_mseal_multiple_vmas),
		cmocka_unit_test(test_selftest_mseal_split_start),
		cmocka_unit_test(test_selftest_mseal_split_end),
		cmocka_unit_test(test_selftest_mseal_invalid_input),
		cmocka_unit_test(test_selftest_mseal_zero_length),
		cmocka_unit_test(test_selftest_mseal_twice),
		cmocka_unit_test(test_selftest_mseal_mprotect),
		cmocka_unit_test(test_selftest_mseal_start_mprotect),
		cmocka_unit_test(test_selftest_mseal_end_mprotect),
		cmocka_unit_test(test_selftest_mseal_mprotect_unalign_len),
		cmocka_unit_test(test_selftest_mseal_mprotect_unalign_len_variant_2),
		cmocka_unit_test(test_selftest_mseal_mprotect_two_vma),
		cmocka_unit_test(test_selftest_mseal_mprotect_two_vma_with_split),
		cmocka_unit_test(test_selftest_mseal_mprotect_partial_mprotect),
		cmocka_unit_test(test_selftest_mseal_mprotect_two_vma_with_gap),
		cmocka_unit_test(test_selftest_mseal_mprotect_merge),
		cmocka_unit_test(test_selftest_mseal_mprotect_split),
		cmocka_unit_test(test_selftest_mseal_munmap),
		cmocka_unit_test(test_selftest_mseal_munmap_two_vma),
		cmocka_unit_test(test_selftest_mseal_munmap_vma_with_gap),
		cmocka_unit_test(test_selftest_mseal_munmap_start_freed),
		cmocka_unit_test(test_selftest_mseal_munmap_middle_freed),
		cmocka_unit_test(test_selftest_mseal_munmap_end_freed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
