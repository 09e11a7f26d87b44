/* SPDX-License-Identifier: MIT */
/* fstat: what each kind of file reports, and the errno rows. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "mvtest.h"

struct sttest {
	struct mv_machine *m;
	struct mv_task *t;
};

static int sttest_setup(void **state)
{
	struct sttest *s = test_calloc(1, sizeof(*s));

	s->t = mvtest_task(&s->m);
	*state = s;
	return 0;
}

static int sttest_teardown(void **state)
{
	struct sttest *s = *state;

	mv_machine_destroy(s->m);
	test_free(s);
	return 0;
}

static struct stat stat_fd(struct mv_task *t, long fd)
{
	struct stat st;

	memset(&st, 0xff, sizeof(st));
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_fstat, fd, &st), 0);
	return st;
}

static long open_path(struct mv_task *t, const char *path, unsigned int flags)
{
	long fd = MVTEST_SYSCALL(t, MV_SYS_openat, AT_FDCWD, path, flags);

	assert_true(fd >= 0);
	return fd;
}

static void test_fstat_errno_rows(void **state)
{
	struct mv_task *t = ((struct sttest *)*state)->t;
	long fd = open_path(t, "/dev/null", O_RDONLY);
	enum { BUF_OK, BUF_NULL, BUF_LOW };
	static const struct {
		const char *what;
		long fd;
		int buf;
		long expect;
	} rows[] = {
		{ "closed fd",          40, BUF_OK, -EBADF },
		{ "closed fd, NULL",    40, BUF_NULL, -EBADF },
		{ "negative fd",        -1, BUF_OK, -EBADF },
		{ "NULL buffer",        0, BUF_NULL, -EFAULT },
		{ "buffer in page 0",   0, BUF_LOW, -EFAULT },
		{ "ok",                 0, BUF_OK, 0 },
	};
	struct stat st;

	assert_int_equal(fd, 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		void *bufs[] = { &st, NULL, (void *)64 };
		long ret = MVTEST_SYSCALL(t, MV_SYS_fstat, rows[i].fd, bufs[rows[i].buf]);

		if (ret != rows[i].expect)
			fail_msg("%s: got %ld, want %ld", rows[i].what, ret, rows[i].expect);
	}
}

static void test_fstat_dev_null_and_zero_are_char_devices(void **state)
{
	struct mv_task *t = ((struct sttest *)*state)->t;
	struct stat n1 = stat_fd(t, open_path(t, "/dev/null", O_RDONLY));
	struct stat n2 = stat_fd(t, open_path(t, "/dev/null", O_WRONLY));
	struct stat z = stat_fd(t, open_path(t, "/dev/zero", O_RDWR));

	assert_int_equal(n1.st_mode, S_IFCHR | 0666);
	assert_int_equal(major(n1.st_rdev), 1);
	assert_int_equal(minor(n1.st_rdev), 3);
	assert_int_equal(major(z.st_rdev), 1);
	assert_int_equal(minor(z.st_rdev), 5);
	assert_int_equal(n1.st_size, 0);
	assert_int_equal(n1.st_nlink, 1);
	assert_int_equal(n1.st_uid, 0);
	assert_int_equal(n1.st_blksize, 4096);
	/* one device node, one inode, however many opens */
	assert_int_equal(n1.st_ino, n2.st_ino);
	assert_int_not_equal(n1.st_ino, z.st_ino);
	assert_int_equal(n1.st_dev, z.st_dev);
}

static void test_fstat_memfd_is_an_unlinked_regular_file(void **state)
{
	struct mv_task *t = ((struct sttest *)*state)->t;
	long a = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "a", 0);
	long b = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "b", MFD_NOEXEC_SEAL);
	struct stat sa = stat_fd(t, a), sb = stat_fd(t, b);
	char page[4096] = { 1 };

	assert_int_equal(sa.st_mode, S_IFREG | 0777);
	assert_int_equal(sb.st_mode, S_IFREG | 0666);
	assert_int_equal(sa.st_nlink, 0);
	assert_int_equal(sa.st_size, 0);
	assert_int_equal(sa.st_blocks, 0);
	assert_int_equal(sa.st_blksize, 4096);
	assert_int_equal(sa.st_uid, 1000);
	assert_int_not_equal(sa.st_ino, sb.st_ino);
	/* size in bytes, blocks in 512-byte units of the pages allocated */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_pwrite64, a, page, 1, 5000), 1);
	sa = stat_fd(t, a);
	assert_int_equal(sa.st_size, 5001);
	assert_int_equal(sa.st_blocks, 8);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_pwrite64, a, page, sizeof(page), 0), 4096);
	sa = stat_fd(t, a);
	assert_int_equal(sa.st_size, 5001);
	assert_int_equal(sa.st_blocks, 16);
	/* a dup is the same file */
	assert_int_equal(stat_fd(t, MVTEST_SYSCALL(t, MV_SYS_dup, a)).st_ino, sa.st_ino);
}

static void test_fstat_directory(void **state)
{
	struct mv_task *t = ((struct sttest *)*state)->t;
	struct stat st = stat_fd(t, open_path(t, "/dev", O_RDONLY));
	struct stat root = stat_fd(t, open_path(t, "/", O_PATH));

	assert_true(S_ISDIR(st.st_mode));
	assert_true(S_ISDIR(root.st_mode));
	assert_int_not_equal(st.st_ino, root.st_ino);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fstat_errno_rows, sttest_setup, sttest_teardown),
		cmocka_unit_test_setup_teardown(test_fstat_dev_null_and_zero_are_char_devices,
						sttest_setup, sttest_teardown),
		cmocka_unit_test_setup_teardown(test_fstat_memfd_is_an_unlinked_regular_file,
						sttest_setup, sttest_teardown),
		cmocka_unit_test_setup_teardown(test_fstat_directory, sttest_setup, sttest_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
