/* SPDX-License-Identifier: MIT */
/*
 * madvise(2): argument checks (table), -ENOMEM for unmapped parts after
 * the mapped parts were advised, MADV_DONTNEED / FREE / REMOVE contents,
 * MADV_DOFORK on VM_IO, MADV_POPULATE_*.
 */
#include <errno.h>
#include <string.h>

#include "mvtest.h"
#include "kernel/kernel.h"

#define PG 4096ull
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define BASE 0x200000000ull
#define MADV_WIPEONFORK_ 18
#define MADV_POPULATE_READ_ 22
#define MADV_POPULATE_WRITE_ 23

struct madvise_row {
	const char *behaviour;
	uint64_t addr, len, advice;
	long expect;
};

/*
 * A 4-page RW anonymous mapping at BASE, a shared one at BASE + 8 pages, a
 * read-only one at BASE + 12, a private mapping of /dev/zero at BASE + 16.
 */
static const struct madvise_row madvise_rows[] = {
	{ "unknown_advice", BASE, PG, 7, -EINVAL },
	{ "unknown_advice_before_alignment", BASE + 1, PG, 7, -EINVAL },
	{ "unaligned_start", BASE + 1, PG, MADV_DONTNEED, -EINVAL },
	{ "len_rounds_to_zero", BASE, ~0ull, MADV_DONTNEED, -EINVAL },
	{ "end_wraps", BASE, ~0ull - 2 * PG, MADV_DONTNEED, -EINVAL },
	{ "len_zero", BASE + 100 * PG, 0, MADV_DONTNEED, 0 },
	{ "unmapped", BASE + 100 * PG, PG, MADV_NORMAL, -ENOMEM },
	{ "partly_unmapped", BASE + 2 * PG, 4 * PG, MADV_WILLNEED, -ENOMEM },
	{ "hints_accepted", BASE, 4 * PG, MADV_SEQUENTIAL, 0 },
	{ "free_on_shared", BASE + 8 * PG, PG, MADV_FREE, -EINVAL },
	{ "free_on_private_anon", BASE, PG, MADV_FREE, 0 },
	{ "remove_on_private_anon", BASE, PG, MADV_REMOVE, -EINVAL },
	{ "wipeonfork_on_shared", BASE + 8 * PG, PG, MADV_WIPEONFORK_, -EINVAL },
	{ "wipeonfork_on_private_anon", BASE, PG, MADV_WIPEONFORK_, 0 },
	/* Linux keeps /dev/zero as the VMA's vm_file: WIPEONFORK wants none */
	{ "wipeonfork_on_private_dev_zero", BASE + 16 * PG, PG, MADV_WIPEONFORK_, -EINVAL },
	{ "upper_bits_of_advice_ignored", BASE, PG, (1ull << 32) | MADV_DONTNEED, 0 },
	{ "populate_write_on_read_only", BASE + 12 * PG, PG, MADV_POPULATE_WRITE_, -EINVAL },
	{ "populate_read_on_read_only", BASE + 12 * PG, PG, MADV_POPULATE_READ_, 0 },
};

static struct mv_task *advice_task(struct mv_machine **m)
{
	struct mv_task *t = mvtest_task(m);
	long zero;

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mmap, BASE, 4 * PG, RW, ANON | MAP_FIXED, -1, 0),
			 BASE);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mmap, BASE + 8 * PG, PG, RW,
					MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0), BASE + 8 * PG);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mmap, BASE + 12 * PG, PG, PROT_READ,
					ANON | MAP_FIXED, -1, 0), BASE + 12 * PG);
	zero = MVTEST_SYSCALL(t, MV_SYS_openat, AT_FDCWD, "/dev/zero", O_RDWR, 0);
	assert_true(zero >= 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mmap, BASE + 16 * PG, PG, RW,
					MAP_PRIVATE | MAP_FIXED, zero, 0), BASE + 16 * PG);
	return t;
}

static void test_madvise_errno_table(void **state)
{
	for (size_t i = 0; i < sizeof(madvise_rows) / sizeof(madvise_rows[0]); i++) {
		const struct madvise_row *r = &madvise_rows[i];
		struct mv_machine *m;
		struct mv_task *t = advice_task(&m);
		long ret = MVTEST_SYSCALL(t, MV_SYS_madvise, r->addr, r->len, r->advice);

		if (ret != r->expect)
			fail_msg("%s: got %ld, want %ld", r->behaviour, ret, r->expect);
		mv_machine_destroy(m);
	}
}

static void test_madvise_dontneed_anonymous_reads_zero(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = advice_task(&m);
	struct mv_machine_stats s0, s1;
	uint32_t v = 5;

	assert_int_equal(mv_user_write(t, BASE + PG, &v, sizeof(v)), 0);
	mv_machine_get_stats(m, &s0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_madvise, BASE, 4 * PG, MADV_DONTNEED), 0);
	mv_machine_get_stats(m, &s1);
	assert_int_equal(s1.frames_free, s0.frames_free + 1);
	assert_int_equal(mv_user_read(t, BASE + PG, &v, sizeof(v)), 0);
	assert_int_equal(v, 0);
	mv_machine_destroy(m);
}

/* Page-table reclaim after a zap: a table whose whole span was advised away goes. */
static void test_madvise_dontneed_whole_table_span_frees_the_table(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct mv_machine_stats s0, s1, s2;
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, BASE, 4ull << 20, RW, ANON | MAP_FIXED, -1, 0);
	uint32_t v = 5;

	assert_int_equal(a, (long)BASE);   /* BASE is 2 MiB aligned: one table per 2 MiB */
	mv_machine_get_stats(m, &s0);
	assert_int_equal(mv_user_write(t, BASE + 3 * PG, &v, sizeof(v)), 0);
	mv_machine_get_stats(m, &s1);
	/* the page and its page table (the upper levels may be shared) */
	assert_true(s0.frames_free - s1.frames_free >= 2);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_madvise, BASE, 2ull << 20, MADV_DONTNEED), 0);
	mv_machine_get_stats(m, &s2);
	/* the page and its table; the upper levels still serve the rest of the VMA */
	assert_int_equal(s2.frames_free - s1.frames_free, 2);
	/* the mapping is still there: the page refaults as zero */
	assert_int_equal(mv_user_read(t, BASE + 3 * PG, &v, sizeof(v)), 0);
	assert_int_equal(v, 0);
	mv_machine_destroy(m);
}

static void test_madvise_partly_unmapped_still_zaps_mapped_part(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = advice_task(&m);
	uint32_t v = 5;

	assert_int_equal(mv_user_write(t, BASE + 3 * PG, &v, sizeof(v)), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_madvise, BASE + 3 * PG, 3 * PG, MADV_DONTNEED),
			 -ENOMEM);
	assert_int_equal(mv_user_read(t, BASE + 3 * PG, &v, sizeof(v)), 0);
	assert_int_equal(v, 0);
	mv_machine_destroy(m);
}

static void test_madvise_dontneed_shared_reads_file_back(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long fd = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "d", 0), a, p;
	char c = 0;

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_ftruncate, fd, PG), 0);
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW, MAP_SHARED, fd, 0);
	p = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW, MAP_PRIVATE, fd, 0);
	assert_int_equal(mv_user_write(t, a, "s", 1), 0);
	assert_int_equal(mv_user_write(t, p, "p", 1), 0);   /* private copy */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_madvise, a, PG, MADV_DONTNEED), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_madvise, p, PG, MADV_DONTNEED), 0);
	assert_int_equal(mv_user_read(t, a, &c, 1), 0);
	assert_int_equal(c, 's');
	assert_int_equal(mv_user_read(t, p, &c, 1), 0);
	assert_int_equal(c, 's');   /* the copy is gone: the file shows through */
	mv_machine_destroy(m);
}

static void test_madvise_remove_punches_shared_file(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long fd = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "r", 0), a;
	char c = 0;

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_ftruncate, fd, 2 * PG), 0);
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, 2 * PG, RW, MAP_SHARED, fd, 0);
	assert_int_equal(mv_user_write(t, a + PG, "x", 1), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_madvise, a + PG, PG, MADV_REMOVE), 0);
	assert_int_equal(mv_user_read(t, a + PG, &c, 1), 0);
	assert_int_equal(c, 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_pread64, fd, &c, 1, PG), 1);
	assert_int_equal(c, 0);
	/* A private mapping of the same file may not punch it. */
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW, MAP_PRIVATE, fd, 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_madvise, a, PG, MADV_REMOVE), -EACCES);
	mv_machine_destroy(m);
}

static void test_madvise_dofork_on_vm_io_einval(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a;

	pthread_rwlock_wrlock(&t->mm->mmap_lock);
	a = mm_map_locked(t, NULL, 0, PG, VM_READ | VM_MAYREAD | VM_IO | VM_DONTCOPY,
			  MAP_PRIVATE, 0);
	pthread_rwlock_unlock(&t->mm->mmap_lock);
	assert_true(a > 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_madvise, a, PG, MADV_DOFORK), -EINVAL);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_madvise, a, PG, MADV_DONTFORK), 0);
	mv_machine_destroy(m);
}

static void test_madvise_populate_write_allocates(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = advice_task(&m);
	struct mv_machine_stats s0, s1;

	mv_machine_get_stats(m, &s0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_madvise, BASE, 4 * PG, MADV_POPULATE_WRITE_), 0);
	mv_machine_get_stats(m, &s1);
	assert_true(s0.frames_free - s1.frames_free >= 4);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_madvise_errno_table),
		cmocka_unit_test(test_madvise_dontneed_anonymous_reads_zero),
		cmocka_unit_test(test_madvise_dontneed_whole_table_span_frees_the_table),
		cmocka_unit_test(test_madvise_partly_unmapped_still_zaps_mapped_part),
		cmocka_unit_test(test_madvise_dontneed_shared_reads_file_back),
		cmocka_unit_test(test_madvise_remove_punches_shared_file),
		cmocka_unit_test(test_madvise_dofork_on_vm_io_einval),
		cmocka_unit_test(test_madvise_populate_write_allocates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
