/* SPDX-License-Identifier: MIT */
/*
 * mremap(2) as mm/mremap.c answers it: check_mremap_params() and
 * check_prep_vma() (resize_is_valid() before 6.17) errnos in order, shrink_vma(), expand_vma() in place
 * or by moving, mremap_to() with MREMAP_FIXED and MREMAP_DONTUNMAP,
 * move_vma() taking the pages along (and undoing itself when page tables
 * run out), may_expand_vm() limits, and a shadow stack moved like any
 * private anonymous mapping.
 */
#include <string.h>

#include "shstk_test.h"
#include "kernel/kernel.h"
#include "lib/alloc.h"

#define RW (PROT_READ | PROT_WRITE)
#define FAR 0x600000000000ull   /* a free area, far from everything */

static long do_mremap(struct mv_task *t, uint64_t addr, uint64_t old_len, uint64_t new_len,
		      uint64_t flags, uint64_t new_addr)
{
	return MVTEST_SYSCALL(t, MV_SYS_mremap, addr, old_len, new_len, flags, new_addr);
}

static uint64_t map_fixed(struct mv_task *t, uint64_t addr, uint64_t len, uint64_t prot,
			  uint64_t flags)
{
	return shtest_mmap(t, addr, len, prot, flags | MAP_FIXED);
}

static uint64_t map_fixed_fd(struct mv_task *t, uint64_t addr, uint64_t len, long fd)
{
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, addr, len, RW, MAP_PRIVATE | MAP_FIXED, fd, 0);

	assert_int_equal(a, (long)addr);
	return (uint64_t)a;
}

static void put(struct mv_task *t, uint64_t va, const char *s)
{
	assert_int_equal(mv_user_write(t, va, s, strlen(s)), 0);
}

static void expect_bytes(struct mv_task *t, uint64_t va, const char *s)
{
	char buf[64] = { 0 };

	assert_int_equal(mv_user_read(t, va, buf, strlen(s)), 0);
	assert_memory_equal(buf, s, strlen(s));
}

static void expect_unmapped(struct mv_task *t, uint64_t va)
{
	char c;

	assert_int_equal(mv_user_read(t, va, &c, 1), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MAPERR, va);
}

static uint64_t total_vm(struct mv_task *t)
{
	return t->mm->total_vm;   /* the test's only thread: no writer runs */
}

/*
 * Rows over one 4-page private mapping A (with B mapped right after it and
 * nothing mapped at U): check_mremap_params() first, then the VMA lookup,
 * then resize_is_valid() and the placement, each with its errno. The
 * lengths are page-aligned before any check, and every range check of
 * the new address (TASK_SIZE, overlap) comes before the lookup.
 */
static void test_check_mremap_params_and_resize_is_valid_errnos(void **state)
{
	const uint64_t A = FAR, B = FAR + 4 * PG, U = FAR + 0x100000;
	static const uint64_t MAY = MREMAP_MAYMOVE;
	const struct {
		const char *what;
		uint64_t addr, old_len, new_len, flags, new_addr;
		long ret;
	} rows[] = {
		{ "unknown flag", A, PG, PG, 8, 0, -EINVAL },
		{ "addr not page aligned", A + 1, PG, PG, 0, 0, -EINVAL },
		{ "new_len 0", A, PG, 0, 0, 0, -EINVAL },
		{ "new_len wraps when aligned", A, PG, ~0ull, MAY, 0, -EINVAL },
		{ "FIXED without MAYMOVE", A, PG, PG, MREMAP_FIXED, U, -EINVAL },
		{ "DONTUNMAP without MAYMOVE", A, PG, PG, MREMAP_DONTUNMAP, U, -EINVAL },
		{ "FIXED, new_addr not aligned", A, PG, PG, MAY | MREMAP_FIXED, U + 8, -EINVAL },
		{ "DONTUNMAP resizing", A, PG, 2 * PG, MAY | MREMAP_DONTUNMAP, U, -EINVAL },
		{ "new_len past TASK_SIZE, no move asked", A, PG, TASK_SIZE + PG, 0, 0, -EINVAL },
		{ "DONTUNMAP, lengths equal once aligned", A, PG - 1, PG, MAY | MREMAP_DONTUNMAP, U,
		  (long)U },
		{ "overlap comes before the VMA lookup", U, 2 * PG, 4 * PG, MAY | MREMAP_FIXED, U + PG,
		  -EINVAL },
		{ "nothing mapped at addr", U, PG, 2 * PG, MAY, 0, -EFAULT },
		{ "same size never looks further", A, 6 * PG, 6 * PG, 0, 0, (long)A },
		{ "growing across the VMA end", A, 5 * PG, 6 * PG, MAY, 0, -EFAULT },
		{ "duplicating a private mapping", A, 0, PG, MAY, 0, -EINVAL },
		{ "FIXED, ranges overlap", A, 2 * PG, 2 * PG, MAY | MREMAP_FIXED, A + PG, -EINVAL },
		{ "FIXED, past TASK_SIZE", A, PG, 2 * PG, MAY | MREMAP_FIXED, TASK_SIZE - PG,
		  -EINVAL },
		{ "FIXED, below mmap_min_addr", A, PG, PG, MAY | MREMAP_FIXED, 0x1000, -EPERM },
		{ "growing into B without MAYMOVE", A, 4 * PG, 5 * PG, 0, 0, -ENOMEM },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct mv_machine *m;
		struct mv_task *t = shtest_task(&m, 0, 0);

		print_message("%s\n", rows[i].what);
		map_fixed(t, A, 4 * PG, RW, ANON);
		map_fixed(t, B, PG, PROT_READ, ANON);
		assert_int_equal(do_mremap(t, rows[i].addr, rows[i].old_len, rows[i].new_len,
					   rows[i].flags, rows[i].new_addr), rows[i].ret);
		mvtest_expect_no_signal(t);
		mv_machine_destroy(m);
	}
}

/* shrink_vma(): the tail is unmapped in place. */
static void test_shrink_vma_unmaps_the_tail(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t a = map_fixed(t, FAR, 4 * PG, RW, ANON), vm;

	put(t, a, "keep");
	vm = total_vm(t);
	assert_int_equal(do_mremap(t, a, 4 * PG, 2 * PG, 0, 0), (long)a);
	expect_bytes(t, a, "keep");
	expect_unmapped(t, a + 2 * PG);
	assert_int_equal(total_vm(t), vm - 2);
	mv_machine_destroy(m);
}

/* expand_vma(): room after the VMA: it grows where it is. */
static void test_expand_vma_in_place(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t a = map_fixed(t, FAR, 2 * PG, RW, ANON), vm, n0, z = 1;

	put(t, a + PG, "grown");
	vm = total_vm(t);
	n0 = t->mm->map_count;
	assert_int_equal(do_mremap(t, a, 2 * PG, 5 * PG, 0, 0), (long)a);
	expect_bytes(t, a + PG, "grown");
	assert_int_equal(mv_user_read(t, a + 4 * PG, &z, sizeof(z)), 0);
	assert_int_equal(z, 0);
	assert_int_equal(total_vm(t), vm + 3);
	assert_int_equal(t->mm->map_count, n0);
	mv_machine_destroy(m);
}

/* expand_vma(): blocked, MREMAP_MAYMOVE moves the pages (not a copy) elsewhere. */
static void test_expand_vma_moves_when_blocked(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t a = map_fixed(t, FAR, 2 * PG, RW, ANON), rss, vm;
	long n;

	map_fixed(t, FAR + 2 * PG, PG, PROT_READ, ANON);
	put(t, a, "moved");
	put(t, a + PG, "along");
	rss = t->mm->rss_anon;
	vm = total_vm(t);
	n = do_mremap(t, a, 2 * PG, 4 * PG, MREMAP_MAYMOVE, 0);
	assert_true(n > 0 && (uint64_t)n != a);
	expect_bytes(t, (uint64_t)n, "moved");
	expect_bytes(t, (uint64_t)n + PG, "along");
	assert_int_equal(t->mm->rss_anon, rss);   /* the same pages, moved */
	expect_unmapped(t, a);
	assert_int_equal(total_vm(t), vm + 2);
	mv_machine_destroy(m);
}

/* mremap_to() with MREMAP_FIXED: whatever was at new_addr is replaced. */
static void test_mremap_to_fixed_replaces_the_destination(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t a = map_fixed(t, FAR, 2 * PG, RW, ANON);
	uint64_t d = map_fixed(t, FAR + 0x100000, 3 * PG, RW, ANON);

	put(t, a, "source");
	put(t, d, "target");
	put(t, d + 2 * PG, "tail");
	assert_int_equal(do_mremap(t, a, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, d),
			 (long)d);
	expect_bytes(t, d, "source");
	expect_bytes(t, d + 2 * PG, "tail");       /* past new_len: untouched */
	expect_unmapped(t, a);
	/* growing while moving */
	assert_int_equal(do_mremap(t, d, 2 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, a), (long)a);
	expect_bytes(t, a, "source");
	/* shrinking while moving: the tail goes first */
	assert_int_equal(do_mremap(t, a, 4 * PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, FAR + 0x200000),
			 (long)(FAR + 0x200000));
	expect_bytes(t, FAR + 0x200000, "source");
	expect_unmapped(t, a + PG);
	mv_machine_destroy(m);
}

/*
 * check_prep_vma() runs before mremap_to() unmaps the destination: a move
 * the source VMA refuses (growing across its end: -EFAULT; duplicating a
 * private mapping: -EINVAL) leaves whatever was at new_addr mapped.
 */
static void test_check_prep_vma_refuses_before_the_destination_goes(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t a = map_fixed(t, FAR, 2 * PG, RW, ANON);
	uint64_t d = map_fixed(t, FAR + 0x100000, 4 * PG, RW, ANON);

	put(t, d, "kept");
	put(t, d + 3 * PG, "kept too");
	assert_int_equal(do_mremap(t, a, 3 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, d),
			 -EFAULT);
	assert_int_equal(do_mremap(t, a, 0, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, d), -EINVAL);
	expect_bytes(t, d, "kept");
	expect_bytes(t, d + 3 * PG, "kept too");
	mvtest_expect_no_signal(t);
	mv_machine_destroy(m);
}

/* A private mapping of /dev/zero at @addr (Linux keeps the device as vm_file). */
static uint64_t map_zero_private(struct mv_task *t, uint64_t addr, uint64_t len)
{
	long fd = MVTEST_SYSCALL(t, MV_SYS_openat, AT_FDCWD, "/dev/zero", O_RDWR, 0);
	uint64_t a;

	assert_true(fd >= 0);
	a = map_fixed_fd(t, addr, len, fd);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_close, fd), 0);
	return a;
}

/*
 * remap_move() and vma_multi_allowed(): a private /dev/zero VMA (its file
 * places mappings itself) moves only alone. First in a range that goes on
 * past it, nothing moves; after another VMA, that one has moved when the
 * call answers -EFAULT. It never merges with the anonymous VMA beside it.
 */
static void test_remap_move_refuses_private_dev_zero_among_others(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	const uint64_t z = FAR, a = FAR + 2 * PG, d = FAR + 0x100000;
	const uint64_t move = MREMAP_MAYMOVE | MREMAP_FIXED;
	uint32_t count;

	map_zero_private(t, z, 2 * PG);
	count = t->mm->map_count;
	map_fixed(t, a, 2 * PG, RW, ANON);
	assert_int_equal(t->mm->map_count, count + 1);   /* no merge */
	put(t, z, "zero");
	put(t, a, "anon");
	/* first, and the range goes past it: -EFAULT before anything moves */
	assert_int_equal(do_mremap(t, z, 4 * PG, 4 * PG, move, d), -EFAULT);
	expect_bytes(t, z, "zero");
	expect_bytes(t, a, "anon");
	/* alone it moves */
	assert_int_equal(do_mremap(t, z, 2 * PG, 2 * PG, move, d), (long)d);
	expect_bytes(t, d, "zero");
	/* after another VMA: that one moves, then -EFAULT */
	map_zero_private(t, a + 2 * PG, PG);
	assert_int_equal(do_mremap(t, a, 3 * PG, 3 * PG, move, d + 0x10000), -EFAULT);
	expect_bytes(t, d + 0x10000, "anon");
	expect_unmapped(t, a);
	mv_machine_destroy(m);
}

/* MREMAP_DONTUNMAP: the pages move, the old range stays mapped and reads zero. */
static void test_mremap_to_dontunmap_keeps_the_old_range_empty(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t a = map_fixed(t, FAR, PG, RW, ANON), vm, z = 1;
	long n;

	put(t, a, "abc");
	vm = total_vm(t);
	n = do_mremap(t, a, PG, PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0);
	assert_true(n > 0 && (uint64_t)n != a);
	expect_bytes(t, (uint64_t)n, "abc");
	assert_int_equal(mv_user_read(t, a, &z, sizeof(z)), 0);
	assert_int_equal(z, 0);
	assert_int_equal(total_vm(t), vm + 1);
	mv_machine_destroy(m);
}

/* old_len 0 on a shared mapping makes a second mapping of the same pages. */
static void test_resize_is_valid_duplicates_a_shared_mapping(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t s = map_fixed(t, FAR, PG, RW, MAP_SHARED | MAP_ANONYMOUS);
	long n;

	put(t, s, "shared");
	n = do_mremap(t, s, 0, PG, MREMAP_MAYMOVE, 0);
	assert_true(n > 0 && (uint64_t)n != s);
	expect_bytes(t, (uint64_t)n, "shared");
	put(t, (uint64_t)n, "SHARED");
	expect_bytes(t, s, "SHARED");
	mv_machine_destroy(m);
}

/* A moved file mapping keeps its file offset: pread sees what the new mapping wrote. */
static void test_move_vma_file_mapping_keeps_its_offset(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	long fd = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "f", 0), f;
	char buf[8] = { 0 };

	assert_true(fd >= 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_ftruncate, fd, 4 * PG), 0);
	f = MVTEST_SYSCALL(t, MV_SYS_mmap, FAR, 4 * PG, RW, MAP_SHARED | MAP_FIXED, fd, 0);
	assert_int_equal(f, (long)FAR);
	assert_int_equal(do_mremap(t, FAR + 2 * PG, 2 * PG, 2 * PG,
				   MREMAP_MAYMOVE | MREMAP_FIXED, FAR + 0x100000),
			 (long)(FAR + 0x100000));
	put(t, FAR + 0x100000 + PG, "page3");
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_pread64, fd, buf, 5, 3 * PG), 5);
	assert_memory_equal(buf, "page3", 5);
	mv_machine_destroy(m);
}

/* may_expand_vm(): growing past RLIMIT_AS, or DONTUNMAP past RLIMIT_DATA, is -ENOMEM. */
static void test_mremap_may_expand_vm(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t a = map_fixed(t, FAR, 2 * PG, RW, ANON);
	uint64_t lim[2] = { (total_vm(t) + 1) * PG, (total_vm(t) + 1) * PG };

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_setrlimit, 9, lim), 0);
	assert_int_equal(do_mremap(t, a, 2 * PG, 4 * PG, MREMAP_MAYMOVE, 0), -ENOMEM);
	assert_int_equal(do_mremap(t, a, 2 * PG, 3 * PG, MREMAP_MAYMOVE, 0), (long)a);
	mv_machine_destroy(m);

	t = shtest_task(&m, 0, 0);
	a = map_fixed(t, FAR, 2 * PG, RW, ANON);
	lim[0] = lim[1] = 3 * PG;
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_setrlimit, 2, lim), 0);
	assert_int_equal(do_mremap(t, a, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0),
			 -ENOMEM);
	assert_int_equal(do_mremap(t, a, PG, PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0) > 0, 1);
	mv_machine_destroy(m);
}

/*
 * A shadow stack moves and grows like any private anonymous mapping: no
 * mremap check refuses it, and it stays a shadow stack, token and all (the
 * token still names the old address, so RSTORSSP refuses it there).
 */
static void test_move_vma_shadow_stack_stays_a_shadow_stack(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t s = shtest_map(t, 0, 2 * PG, SHADOW_STACK_SET_TOKEN), d = FAR;
	struct vma *vma;

	shtest_enable(t, ARCH_SHSTK_SHSTK);
	assert_int_equal(do_mremap(t, s, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, d),
			 (long)d);
	assert_int_equal(shtest_read64(t, d + 2 * PG - 8), (s + 2 * PG) | 1);
	vma = vma_find(t->mm, d);
	assert_non_null(vma);
	assert_true(vma->flags & VM_SHADOW_STACK);
	assert_int_equal(mv_user_write(t, d, "x", 1), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, d);
	assert_int_equal(mv_cpu_rstorssp(t, d + 2 * PG - 8), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_CPERR, 0);
	/* grown in place: still one shadow-stack VMA */
	assert_int_equal(do_mremap(t, d, 2 * PG, 3 * PG, 0, 0), (long)d);
	assert_int_equal(vma_find(t->mm, d + 2 * PG), vma_find(t->mm, d));
	mv_machine_destroy(m);
}

/* move_vma(): when page tables run out the move is undone and the source is intact. */
static void test_move_vma_undoes_itself_on_enomem(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t a = map_fixed(t, FAR, 4 * PG, RW, ANON), d = 0x500000000000ull;
	unsigned long nth;
	long ret = -ENOMEM;
	int failures = 0;

	for (int i = 0; i < 4; i++)
		put(t, a + (uint64_t)i * PG, "page");
	for (nth = 1; ret == -ENOMEM && nth < 64; nth++) {
		uint64_t vm = total_vm(t), n0 = t->mm->map_count;

		lib_fail_after(nth);
		ret = do_mremap(t, a, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, d);
		lib_fail_after(0);
		if (ret != -ENOMEM)
			break;
		failures++;
		for (int i = 0; i < 4; i++)
			expect_bytes(t, a + (uint64_t)i * PG, "page");
		expect_unmapped(t, d);
		assert_int_equal(total_vm(t), vm);
		assert_int_equal(t->mm->map_count, n0);
	}
	assert_int_equal(ret, (long)d);
	assert_true(failures >= 3);   /* the VMA, then each new page table */
	expect_bytes(t, d + 3 * PG, "page");
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_mremap_params_and_resize_is_valid_errnos),
		cmocka_unit_test(test_shrink_vma_unmaps_the_tail),
		cmocka_unit_test(test_expand_vma_in_place),
		cmocka_unit_test(test_expand_vma_moves_when_blocked),
		cmocka_unit_test(test_mremap_to_fixed_replaces_the_destination),
		cmocka_unit_test(test_check_prep_vma_refuses_before_the_destination_goes),
		cmocka_unit_test(test_remap_move_refuses_private_dev_zero_among_others),
		cmocka_unit_test(test_mremap_to_dontunmap_keeps_the_old_range_empty),
		cmocka_unit_test(test_resize_is_valid_duplicates_a_shared_mapping),
		cmocka_unit_test(test_move_vma_file_mapping_keeps_its_offset),
		cmocka_unit_test(test_mremap_may_expand_vm),
		cmocka_unit_test(test_move_vma_shadow_stack_stays_a_shadow_stack),
		cmocka_unit_test(test_move_vma_undoes_itself_on_enomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
