/* SPDX-License-Identifier: MIT */
/*
 * read, write, pread64, pwrite64: the checks before any byte moves (fd,
 * access mode, buffer, offsets, MAX_RW_COUNT) and what /dev/null,
 * /dev/zero and memfds then do.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mvtest.h"

#define MAX_RW_COUNT (INT_MAX & ~4095L)

struct rwtest {
	struct mv_machine *m;
	struct mv_task *t;
	long null_ro, null_wo, zero_ro, zero_rw, memfd, dir;
};

static int rwtest_setup(void **state)
{
	struct rwtest *r = test_calloc(1, sizeof(*r));
	struct mv_task *t;

	r->t = t = mvtest_task(&r->m);
	r->null_ro = MVTEST_SYSCALL(t, MV_SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY);
	r->null_wo = MVTEST_SYSCALL(t, MV_SYS_openat, AT_FDCWD, "/dev/null", O_WRONLY);
	r->zero_ro = MVTEST_SYSCALL(t, MV_SYS_openat, AT_FDCWD, "/dev/zero", O_RDONLY);
	r->zero_rw = MVTEST_SYSCALL(t, MV_SYS_openat, AT_FDCWD, "/dev/zero", O_RDWR);
	r->memfd = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "rw", 0);
	r->dir = MVTEST_SYSCALL(t, MV_SYS_openat, AT_FDCWD, "/dev", O_RDONLY);
	assert_true(r->null_ro >= 0 && r->null_wo >= 0 && r->zero_ro >= 0 && r->zero_rw >= 0 &&
		    r->memfd >= 0 && r->dir >= 0);
	*state = r;
	return 0;
}

static int rwtest_teardown(void **state)
{
	struct rwtest *r = *state;

	mv_machine_destroy(r->m);
	test_free(r);
	return 0;
}

enum { F_NULL_RO, F_NULL_WO, F_ZERO_RO, F_ZERO_RW, F_MEMFD, F_DIR, F_BAD };

static long rw_fd(const struct rwtest *r, int which)
{
	const long fds[] = { r->null_ro, r->null_wo, r->zero_ro, r->zero_rw, r->memfd, r->dir, 333 };

	return fds[which];
}

static void test_rw_errno_table(void **state)
{
	static char buf[64];
	static const struct {
		const char *what;
		long nr;
		int file;
		void *buf;
		uint64_t count, pos;
		long expect;
	} rows[] = {
		{ "read closed fd",        MV_SYS_read, F_BAD, buf, 1, 0, -EBADF },
		{ "write closed fd",       MV_SYS_write, F_BAD, buf, 1, 0, -EBADF },
		{ "pread closed fd",       MV_SYS_pread64, F_BAD, buf, 1, 0, -EBADF },
		{ "pwrite closed fd",      MV_SYS_pwrite64, F_BAD, buf, 1, 0, -EBADF },
		{ "read O_WRONLY",         MV_SYS_read, F_NULL_WO, buf, 1, 0, -EBADF },
		{ "write O_RDONLY",        MV_SYS_write, F_NULL_RO, buf, 1, 0, -EBADF },
		{ "pread O_WRONLY",        MV_SYS_pread64, F_NULL_WO, buf, 1, 0, -EBADF },
		{ "pwrite O_RDONLY",       MV_SYS_pwrite64, F_ZERO_RO, buf, 1, 0, -EBADF },
		{ "pread negative pos",    MV_SYS_pread64, F_ZERO_RO, buf, 1, (uint64_t)-1, -EINVAL },
		{ "pread neg pos, bad fd", MV_SYS_pread64, F_BAD, buf, 1, (uint64_t)-4096, -EINVAL },
		{ "pwrite negative pos",   MV_SYS_pwrite64, F_MEMFD, buf, 1, (uint64_t)-1, -EINVAL },
		{ "pread pos+count wraps", MV_SYS_pread64, F_MEMFD, buf, 16, LLONG_MAX - 4, -EINVAL },
		{ "read NULL from zero",   MV_SYS_read, F_ZERO_RO, NULL, 8, 0, -EFAULT },
		{ "read low ptr zero",     MV_SYS_read, F_ZERO_RO, (void *)16, 8, 0, -EFAULT },
		{ "write NULL to memfd",   MV_SYS_write, F_MEMFD, NULL, 8, 0, -EFAULT },
		{ "pwrite NULL to memfd",  MV_SYS_pwrite64, F_MEMFD, NULL, 8, 0, -EFAULT },
		{ "count wraps buffer",    MV_SYS_read, F_ZERO_RO, buf, (uint64_t)-1, 0, -EFAULT },
		{ "count past user space", MV_SYS_write, F_NULL_WO, buf, 1ull << 47, 0, -EFAULT },
		{ "read a directory",      MV_SYS_read, F_DIR, buf, 1, 0, -EISDIR },
		{ "write a directory",     MV_SYS_write, F_DIR, buf, 1, 0, -EBADF },
		/* Linux never touches the buffer for these */
		{ "read NULL from null",   MV_SYS_read, F_NULL_RO, NULL, 8, 0, 0 },
		{ "write NULL to null",    MV_SYS_write, F_NULL_WO, NULL, 8, 0, 8 },
		{ "read NULL at EOF",      MV_SYS_read, F_MEMFD, NULL, 8, 0, 0 },
		{ "zero-length NULL",      MV_SYS_read, F_ZERO_RO, NULL, 0, 0, 0 },
		{ "pread null",            MV_SYS_pread64, F_NULL_RO, buf, 8, 100, 0 },
		{ "pwrite zero",           MV_SYS_pwrite64, F_ZERO_RW, buf, 8, 100, 8 },
	};
	struct rwtest *r = *state;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long ret = MVTEST_SYSCALL(r->t, rows[i].nr, rw_fd(r, rows[i].file), rows[i].buf,
					  rows[i].count, rows[i].pos);

		if (ret != rows[i].expect)
			fail_msg("%s: got %ld, want %ld", rows[i].what, ret, rows[i].expect);
	}
}

static void test_rw_count_is_clamped_to_max_rw_count(void **state)
{
	struct rwtest *r = *state;
	char *buf = malloc(16);

	assert_non_null(buf);
	assert_int_equal(MVTEST_SYSCALL(r->t, MV_SYS_write, r->null_wo, buf, (size_t)INT_MAX + 100),
			 MAX_RW_COUNT);
	assert_int_equal(MVTEST_SYSCALL(r->t, MV_SYS_pwrite64, r->null_wo, buf, 3ull << 30, 0),
			 MAX_RW_COUNT);
	assert_int_equal(MVTEST_SYSCALL(r->t, MV_SYS_write, r->null_wo, buf, MAX_RW_COUNT + 1),
			 MAX_RW_COUNT);
	free(buf);
}

static void test_rw_dev_zero_reads_zeroes(void **state)
{
	struct rwtest *r = *state;
	char buf[10000];

	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(MVTEST_SYSCALL(r->t, MV_SYS_read, r->zero_ro, buf, sizeof(buf)),
			 sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(MVTEST_SYSCALL(r->t, MV_SYS_write, r->zero_rw, buf, 77), 77);
}

static void test_rw_memfd_round_trip_moves_the_position(void **state)
{
	struct rwtest *r = *state;
	char in[6000], out[6000];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (char)(i * 7);
	assert_int_equal(MVTEST_SYSCALL(r->t, MV_SYS_write, r->memfd, in, sizeof(in)), sizeof(in));
	/* the position is at the end now */
	assert_int_equal(MVTEST_SYSCALL(r->t, MV_SYS_read, r->memfd, out, sizeof(out)), 0);
	assert_int_equal(MVTEST_SYSCALL(r->t, MV_SYS_pread64, r->memfd, out, sizeof(out), 0),
			 sizeof(out));
	assert_memory_equal(in, out, sizeof(in));
	/* pread stops at EOF and leaves the position alone */
	assert_int_equal(MVTEST_SYSCALL(r->t, MV_SYS_pread64, r->memfd, out, 100, 5950), 50);
	assert_memory_equal(out, in + 5950, 50);
	assert_int_equal(MVTEST_SYSCALL(r->t, MV_SYS_pread64, r->memfd, out, 100, 6000), 0);
	assert_int_equal(MVTEST_SYSCALL(r->t, MV_SYS_pread64, r->memfd, out, 100, 1ull << 40), 0);
	/* a write past EOF leaves a hole that reads as zeroes */
	assert_int_equal(MVTEST_SYSCALL(r->t, MV_SYS_pwrite64, r->memfd, "Z", 1, 20000), 1);
	assert_int_equal(MVTEST_SYSCALL(r->t, MV_SYS_pread64, r->memfd, out, 20, 19990), 11);
	for (int i = 0; i < 10; i++)
		assert_int_equal(out[i], 0);
	assert_int_equal(out[10], 'Z');
	assert_int_equal(MVTEST_SYSCALL(r->t, MV_SYS_write, r->memfd, "ab", 2), 2);
	assert_int_equal(MVTEST_SYSCALL(r->t, MV_SYS_pread64, r->memfd, out, 2, 6000), 2);
	assert_memory_equal(out, "ab", 2);
}

static void test_rw_zero_length_write_does_not_extend(void **state)
{
	struct rwtest *r = *state;
	char c;

	assert_int_equal(MVTEST_SYSCALL(r->t, MV_SYS_pwrite64, r->memfd, &c, 0, 5000), 0);
	assert_int_equal(MVTEST_SYSCALL(r->t, MV_SYS_pread64, r->memfd, &c, 1, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rw_errno_table, rwtest_setup, rwtest_teardown),
		cmocka_unit_test_setup_teardown(test_rw_count_is_clamped_to_max_rw_count, rwtest_setup,
						rwtest_teardown),
		cmocka_unit_test_setup_teardown(test_rw_dev_zero_reads_zeroes, rwtest_setup,
						rwtest_teardown),
		cmocka_unit_test_setup_teardown(test_rw_memfd_round_trip_moves_the_position,
						rwtest_setup, rwtest_teardown),
		cmocka_unit_test_setup_teardown(test_rw_zero_length_write_does_not_extend,
						rwtest_setup, rwtest_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
