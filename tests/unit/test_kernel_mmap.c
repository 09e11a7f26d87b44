/* SPDX-License-Identifier: MIT */
/*
 * mmap(2): every argument check of Linux x86-64, in Linux's order, one
 * table row per behaviour; then the successful shapes (anonymous, shared
 * anonymous, file, MAP_FIXED, hints).
 */
#include <errno.h>
#include <string.h>

#include "mvtest.h"

#define PG 4096ull
#define TASK_SIZE 0x00007ffffffff000ull

enum fd_kind { FD_NONE, FD_BAD, FD_MEMFD, FD_ZERO_RO, FD_ZERO_WO, FD_NULL };

struct mmap_row {
	const char *behaviour;
	uint64_t addr, len, prot, flags;
	enum fd_kind fd;
	uint64_t off;
	long expect;   /* negative errno, or 1 for "succeeds" */
};

#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define RW (PROT_READ | PROT_WRITE)

static const struct mmap_row mmap_rows[] = {
	{ "offset_unaligned_checked_before_fd", 0, PG, RW, MAP_PRIVATE, FD_BAD, 1, -EINVAL },
	{ "bad_fd_checked_before_len", 0, 0, RW, MAP_PRIVATE, FD_BAD, 0, -EBADF },
	{ "hugetlb_on_regular_file", 0, PG, RW, MAP_PRIVATE | MAP_HUGETLB, FD_MEMFD, 0, -EINVAL },
	{ "len_zero", 0, 0, RW, ANON, FD_NONE, 0, -EINVAL },
	{ "len_page_align_overflows", 0, ~0ull, RW, ANON, FD_NONE, 0, -ENOMEM },
	{ "len_above_task_size", 0, TASK_SIZE + PG, RW, ANON, FD_NONE, 0, -ENOMEM },
	{ "fixed_end_above_task_size", TASK_SIZE - PG, 2 * PG, RW, ANON | MAP_FIXED, FD_NONE, 0,
	  -ENOMEM },
	{ "fixed_range_check_before_alignment", TASK_SIZE - 1, 2 * PG, RW, ANON | MAP_FIXED,
	  FD_NONE, 0, -ENOMEM },
	{ "fixed_unaligned", 0x100000001ull, PG, RW, ANON | MAP_FIXED, FD_NONE, 0, -EINVAL },
	{ "noreplace_unaligned", 0x100000001ull, PG, RW, ANON | MAP_FIXED_NOREPLACE, FD_NONE, 0,
	  -EINVAL },
	{ "fixed_below_mmap_min_addr", 0x1000, PG, RW, ANON | MAP_FIXED, FD_NONE, 0, -EPERM },
	{ "fixed_at_zero", 0, PG, RW, ANON | MAP_FIXED, FD_NONE, 0, -EPERM },
	{ "anon_map_type_none", 0, PG, RW, MAP_ANONYMOUS, FD_NONE, 0, -EINVAL },
	{ "anon_map_type_shared_validate", 0, PG, RW, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, FD_NONE,
	  0, -EINVAL },
	{ "anon_shared_growsdown", 0, PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN, FD_NONE,
	  0, -EINVAL },
	{ "file_map_type_none", 0, PG, RW, 0, FD_MEMFD, 0, -EINVAL },
	{ "file_offset_past_max_file_size", 0, 2 * PG, RW, MAP_SHARED, FD_MEMFD,
	  0x7ffffffffffff000ull, -EOVERFLOW },
	{ "shared_validate_unknown_flag", 0, PG, RW, MAP_SHARED_VALIDATE | MAP_SYNC, FD_MEMFD, 0,
	  -EOPNOTSUPP },
	{ "noreplace_at_zero_is_fixed_below_min_addr", 0, PG, RW,
	  MAP_SHARED_VALIDATE | MAP_FIXED_NOREPLACE, FD_MEMFD, 0, -EPERM },
	{ "shared_validate_noreplace_is_not_legacy", 0x200000000ull, PG, RW,
	  MAP_SHARED_VALIDATE | MAP_FIXED_NOREPLACE, FD_MEMFD, 0, -EOPNOTSUPP },
	{ "shared_ignores_unknown_flag", 0, PG, RW, MAP_SHARED | MAP_SYNC, FD_MEMFD, 0, 1 },
	{ "shared_write_on_readonly_file", 0, PG, RW, MAP_SHARED, FD_ZERO_RO, 0, -EACCES },
	{ "shared_read_on_readonly_file", 0, PG, PROT_READ, MAP_SHARED, FD_ZERO_RO, 0, 1 },
	{ "private_write_on_readonly_file", 0, PG, RW, MAP_PRIVATE, FD_ZERO_RO, 0, 1 },
	{ "file_not_readable", 0, PG, PROT_READ, MAP_PRIVATE, FD_ZERO_WO, 0, -EACCES },
	{ "file_without_mmap", 0, PG, PROT_READ, MAP_PRIVATE, FD_NULL, 0, -ENODEV },
	{ "file_growsdown", 0, PG, RW, MAP_PRIVATE | MAP_GROWSDOWN, FD_MEMFD, 0, -EINVAL },
	{ "unknown_prot_bits_ignored", 0, PG, RW | 0x100, ANON, FD_NONE, 0, 1 },
	{ "anon_hugetlb_without_huge_pages", 0, 2 << 20, RW, ANON | MAP_HUGETLB, FD_NONE, 0,
	  -ENOMEM },
};

static int open_fd(struct mv_task *t, enum fd_kind kind)
{
	long fd;

	switch (kind) {
	case FD_NONE:
		return -1;
	case FD_BAD:
		return 999;
	case FD_MEMFD:
		fd = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "mmap", 0);
		if (fd >= 0)
			assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_ftruncate, fd, 16 * PG), 0);
		break;
	case FD_ZERO_RO:
		fd = MVTEST_SYSCALL(t, MV_SYS_openat, AT_FDCWD, "/dev/zero", O_RDONLY, 0);
		break;
	case FD_ZERO_WO:
		fd = MVTEST_SYSCALL(t, MV_SYS_openat, AT_FDCWD, "/dev/zero", O_WRONLY, 0);
		break;
	default:
		fd = MVTEST_SYSCALL(t, MV_SYS_openat, AT_FDCWD, "/dev/null", O_RDWR, 0);
		break;
	}
	assert_true(fd >= 0);
	return (int)fd;
}

static void test_mmap_errno_table(void **state)
{
	for (size_t i = 0; i < sizeof(mmap_rows) / sizeof(mmap_rows[0]); i++) {
		const struct mmap_row *r = &mmap_rows[i];
		struct mv_machine *m;
		struct mv_task *t = mvtest_task(&m);
		int fd = open_fd(t, r->fd);
		long ret = MVTEST_SYSCALL(t, MV_SYS_mmap, r->addr, r->len, r->prot, r->flags, fd,
					  r->off);
		int ok = r->expect == 1 ? ret >= 0 && !(ret & (PG - 1)) : ret == r->expect;

		if (!ok)
			fail_msg("%s: got %ld, want %ld", r->behaviour, ret, r->expect);
		mv_machine_destroy(m);
	}
}

static void test_mmap_noreplace_over_mapping_eexist(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, 4 * PG, RW, ANON, -1, 0);

	assert_true(a > 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mmap, a + PG, PG, RW,
					ANON | MAP_FIXED_NOREPLACE, -1, 0), -EEXIST);
	/* Just past the end is free: NOREPLACE succeeds there. */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mmap, a + 4 * PG, PG, RW,
					ANON | MAP_FIXED_NOREPLACE, -1, 0), a + 4 * PG);
	mv_machine_destroy(m);
}

static void test_mmap_anonymous_reads_zero_and_keeps_writes(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, 3 * PG, RW, ANON, -1, 0);
	uint8_t buf[3 * PG], zero[3 * PG] = { 0 };

	assert_true(a > 0);
	assert_int_equal(a & (PG - 1), 0);
	assert_int_equal(mv_user_read(t, a, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, zero, sizeof(buf));
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(mv_user_write(t, a + 100, buf, sizeof(buf) - 200), 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(mv_user_read(t, a + 100, buf, sizeof(buf) - 200), 0);
	for (size_t i = 0; i < sizeof(buf) - 200; i++)
		assert_int_equal(buf[i], 0x5a);
	mvtest_expect_no_signal(t);
	mv_machine_destroy(m);
}

static void test_mmap_shared_file_sees_file_content(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	int fd = open_fd(t, FD_MEMFD);
	char msg[] = "through the page cache", back[sizeof(msg)] = { 0 };
	long a;

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_pwrite64, fd, msg, sizeof(msg), PG),
			 sizeof(msg));
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, 2 * PG, RW, MAP_SHARED, fd, 0);
	assert_true(a > 0);
	assert_int_equal(mv_user_read(t, a + PG, back, sizeof(back)), 0);
	assert_string_equal(back, msg);
	/* A store through the mapping is visible to read(2). */
	assert_int_equal(mv_user_write(t, a + PG, "X", 1), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_pread64, fd, back, sizeof(back), PG),
			 sizeof(back));
	assert_int_equal(back[0], 'X');
	mv_machine_destroy(m);
}

static void test_mmap_private_file_write_does_not_reach_file(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	int fd = open_fd(t, FD_MEMFD);
	char c = 0;
	long a;

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_pwrite64, fd, "F", 1, 0), 1);
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW, MAP_PRIVATE, fd, 0);
	assert_true(a > 0);
	assert_int_equal(mv_user_read(t, a, &c, 1), 0);
	assert_int_equal(c, 'F');
	assert_int_equal(mv_user_write(t, a, "P", 1), 0);
	assert_int_equal(mv_user_read(t, a, &c, 1), 0);
	assert_int_equal(c, 'P');
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_pread64, fd, &c, 1, 0), 1);
	assert_int_equal(c, 'F');
	mv_machine_destroy(m);
}

static void test_mmap_fixed_replaces_existing(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, 2 * PG, RW, ANON, -1, 0);
	uint8_t c = 1;

	assert_true(a > 0);
	assert_int_equal(mv_user_write(t, a, &c, 1), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mmap, a, PG, RW, ANON | MAP_FIXED, -1, 0), a);
	assert_int_equal(mv_user_read(t, a, &c, 1), 0);
	assert_int_equal(c, 0);
	mv_machine_destroy(m);
}

static void test_mmap_populate_prefaults(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct mv_machine_stats before, after;
	long a;

	mv_machine_get_stats(m, &before);
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, 4 * PG, RW, ANON | MAP_POPULATE, -1, 0);
	assert_true(a > 0);
	mv_machine_get_stats(m, &after);
	assert_true(before.frames_free - after.frames_free >= 4);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mmap_errno_table),
		cmocka_unit_test(test_mmap_noreplace_over_mapping_eexist),
		cmocka_unit_test(test_mmap_anonymous_reads_zero_and_keeps_writes),
		cmocka_unit_test(test_mmap_shared_file_sees_file_content),
		cmocka_unit_test(test_mmap_private_file_write_does_not_reach_file),
		cmocka_unit_test(test_mmap_fixed_replaces_existing),
		cmocka_unit_test(test_mmap_populate_prefaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
