/* SPDX-License-Identifier: MIT */
/*
 * openat: path lookup over the device namespace, flag checks and their
 * order, directories as dirfds.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "mvtest.h"
#include "api/api.h"
#include "kernel/kernel.h"

#define K_O_TMPFILE (020000000 | O_DIRECTORY)

struct otest {
	struct mv_machine *m;
	struct mv_task *t;
};

static int otest_setup(void **state)
{
	struct otest *o = test_calloc(1, sizeof(*o));

	o->t = mvtest_task(&o->m);
	*state = o;
	return 0;
}

static int otest_teardown(void **state)
{
	struct otest *o = *state;

	mv_machine_destroy(o->m);
	test_free(o);
	return 0;
}

static long do_open(struct mv_task *t, long dfd, const char *path, unsigned int flags)
{
	return MVTEST_SYSCALL(t, MV_SYS_openat, dfd, path, flags, 0);
}

static unsigned int fd_rdev_minor(struct mv_task *t, long fd)
{
	struct stat st;

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_fstat, fd, &st), 0);
	return S_ISCHR(st.st_mode) ? minor(st.st_rdev) : 0;
}

/* dirfd kinds for the table */
enum { DFD_CWD, DFD_BAD, DFD_MEMFD, DFD_DEVDIR, DFD_ROOTDIR };

static void test_openat_errno_table(void **state)
{
	static char long_path[4200], long_name[300];
	static const struct {
		const char *what;
		int dfd;
		const char *path;
		unsigned int flags;
		long expect;     /* < 0 errno; >= 0 success */
	} rows[] = {
		{ "unknown absolute",        DFD_CWD, "/nonexistent", O_RDONLY, -ENOENT },
		{ "unknown in /dev",         DFD_CWD, "/dev/nope", O_RDONLY, -ENOENT },
		{ "unknown parent",          DFD_CWD, "/nope/null", O_RDONLY, -ENOENT },
		{ "empty path",              DFD_CWD, "", O_RDONLY, -ENOENT },
		{ "NULL path",               DFD_CWD, NULL, O_RDONLY, -EFAULT },
		{ "device as directory",     DFD_CWD, "/dev/null/x", O_RDONLY, -ENOTDIR },
		{ "device trailing slash",   DFD_CWD, "/dev/null/", O_RDONLY, -ENOTDIR },
		{ "O_DIRECTORY on device",   DFD_CWD, "/dev/null", O_DIRECTORY, -ENOTDIR },
		{ "O_CREAT existing device", DFD_CWD, "/dev/null", O_CREAT | O_RDWR, 0 },
		{ "O_CREAT|O_EXCL existing", DFD_CWD, "/dev/null", O_CREAT | O_EXCL, -EEXIST },
		{ "O_CREAT|O_EXCL dir",      DFD_CWD, "/dev", O_CREAT | O_EXCL, -EEXIST },
		{ "O_CREAT new name",        DFD_CWD, "/dev/newfile", O_CREAT | O_RDWR, -EACCES },
		{ "O_CREAT new, no parent",  DFD_CWD, "/nope/newfile", O_CREAT, -ENOENT },
		{ "O_CREAT trailing slash",  DFD_CWD, "/dev/null/", O_CREAT, -EISDIR },
		{ "O_CREAT on directory",    DFD_CWD, "/dev", O_CREAT, -EISDIR },
		{ "O_CREAT|O_DIRECTORY",     DFD_CWD, "/dev/null", O_CREAT | O_DIRECTORY, -EINVAL },
		{ "O_TMPFILE read-only",     DFD_CWD, "/dev", K_O_TMPFILE | O_RDONLY, -EINVAL },
		{ "O_TMPFILE in /dev",       DFD_CWD, "/dev", K_O_TMPFILE | O_RDWR, -EACCES },
		{ "O_TMPFILE on device",     DFD_CWD, "/dev/null", K_O_TMPFILE | O_RDWR, -ENOTDIR },
		{ "directory for writing",   DFD_CWD, "/dev", O_WRONLY, -EISDIR },
		{ "directory O_RDWR",        DFD_CWD, "/", O_RDWR, -EISDIR },
		{ "directory O_TRUNC",       DFD_CWD, "/dev", O_RDONLY | O_TRUNC, -EISDIR },
		{ "path too long",           DFD_CWD, long_path, O_RDONLY, -ENAMETOOLONG },
		{ "name too long",           DFD_CWD, long_name, O_RDONLY, -ENAMETOOLONG },
		{ "relative, bad dirfd",     DFD_BAD, "null", O_RDONLY, -EBADF },
		{ "relative, file dirfd",    DFD_MEMFD, "null", O_RDONLY, -ENOTDIR },
		{ "absolute, bad dirfd",     DFD_BAD, "/dev/null", O_RDONLY, 0 },
		{ "absolute, file dirfd",    DFD_MEMFD, "/dev/zero", O_RDONLY, 0 },
		{ "relative to cwd",         DFD_CWD, "dev/null", O_RDONLY, 0 },
		{ "relative to /dev",        DFD_DEVDIR, "zero", O_RDONLY, 0 },
		{ "relative to /",           DFD_ROOTDIR, "dev/null", O_WRONLY, 0 },
		{ "dot-dot from /dev",       DFD_DEVDIR, "../dev/null", O_RDONLY, 0 },
		{ "dots and slashes",        DFD_CWD, "//dev/./../dev//null", O_RDONLY, 0 },
		{ "dot-dot above root",      DFD_CWD, "/../../dev/null", O_RDONLY, 0 },
		{ "unknown flag bits",       DFD_CWD, "/dev/null", O_RDONLY | 0x40000000, 0 },
		{ "directory O_RDONLY",      DFD_CWD, "/dev", O_RDONLY | O_DIRECTORY, 0 },
		{ "directory trailing /",    DFD_CWD, "/dev/", O_RDONLY, 0 },
		{ "root",                    DFD_CWD, "/", O_RDONLY, 0 },
		{ "O_PATH on directory",     DFD_CWD, "/dev", O_PATH | O_RDWR, 0 },
	};
	struct mv_task *t = ((struct otest *)*state)->t;
	long dfds[5];

	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	memset(long_name, 'b', sizeof(long_name) - 1);
	memcpy(long_name, "/dev/", 5);
	dfds[DFD_CWD] = AT_FDCWD;
	dfds[DFD_BAD] = 999;
	dfds[DFD_MEMFD] = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "m", 0);
	dfds[DFD_DEVDIR] = do_open(t, AT_FDCWD, "/dev", O_RDONLY | O_DIRECTORY);
	dfds[DFD_ROOTDIR] = do_open(t, AT_FDCWD, "/", O_RDONLY);
	assert_true(dfds[DFD_MEMFD] >= 0 && dfds[DFD_DEVDIR] >= 0 && dfds[DFD_ROOTDIR] >= 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long ret = do_open(t, dfds[rows[i].dfd], rows[i].path, rows[i].flags);

		if (rows[i].expect < 0 ? ret != rows[i].expect : ret < 0)
			fail_msg("%s: got %ld, want %ld", rows[i].what, ret, rows[i].expect);
		if (ret >= 0)
			assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_close, ret), 0);
	}
}

static void test_openat_resolves_to_the_right_device(void **state)
{
	struct mv_task *t = ((struct otest *)*state)->t;
	long dev = do_open(t, AT_FDCWD, "/dev", O_RDONLY);

	assert_int_equal(fd_rdev_minor(t, do_open(t, AT_FDCWD, "/dev/null", O_RDONLY)), 3);
	assert_int_equal(fd_rdev_minor(t, do_open(t, AT_FDCWD, "/dev/zero", O_RDONLY)), 5);
	assert_int_equal(fd_rdev_minor(t, do_open(t, dev, "zero", O_RDONLY)), 5);
	assert_int_equal(fd_rdev_minor(t, do_open(t, dev, "./null", O_RDONLY)), 3);
}

static void test_openat_access_mode_decides_read_and_write(void **state)
{
	struct mv_task *t = ((struct otest *)*state)->t;
	long ro = do_open(t, AT_FDCWD, "/dev/zero", O_RDONLY);
	long wo = do_open(t, AT_FDCWD, "/dev/zero", O_WRONLY);
	long rw = do_open(t, AT_FDCWD, "/dev/zero", O_RDWR);
	long none = do_open(t, AT_FDCWD, "/dev/zero", O_ACCMODE);
	char c;

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_read, ro, &c, 1), 1);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_write, ro, &c, 1), -EBADF);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_read, wo, &c, 1), -EBADF);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_write, wo, &c, 1), 1);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_read, rw, &c, 1), 1);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_write, rw, &c, 1), 1);
	/* access mode 3: neither (ioctl-only opens) */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_read, none, &c, 1), -EBADF);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_write, none, &c, 1), -EBADF);
}

static void test_openat_o_path_only_names_the_file(void **state)
{
	struct mv_task *t = ((struct otest *)*state)->t;
	long fd = do_open(t, AT_FDCWD, "/dev/zero", O_PATH | O_RDWR);
	struct stat st;
	char c;

	assert_true(fd >= 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_read, fd, &c, 1), -EBADF);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_write, fd, &c, 1), -EBADF);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_ioctl, fd, 0x5451, 0), -EBADF);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_fstat, fd, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_dup, fd), fd + 1);
}

static void test_openat_directory_reads_are_eisdir(void **state)
{
	struct mv_task *t = ((struct otest *)*state)->t;
	long fd = do_open(t, AT_FDCWD, "/dev", O_RDONLY);
	struct stat st;
	char c;

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_read, fd, &c, 1), -EISDIR);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_fstat, fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* the same directory has the same inode whichever way it is opened */
	{
		struct stat st2;
		long fd2 = do_open(t, AT_FDCWD, "/dev/../dev/", O_RDONLY);

		assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_fstat, fd2, &st2), 0);
		assert_int_equal(st.st_ino, st2.st_ino);
	}
}

static void test_openat_failure_releases_the_fd(void **state)
{
	struct mv_task *t = ((struct otest *)*state)->t;

	assert_int_equal(do_open(t, AT_FDCWD, "/nope", O_RDONLY), -ENOENT);
	assert_int_equal(do_open(t, AT_FDCWD, "/dev/null", O_RDONLY), 0);
	assert_int_equal(do_open(t, AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC), 1);
	assert_int_equal(fd_get_cloexec(t, 1), 1);
}

static void test_openat_registered_devices_are_found(void **state)
{
	struct otest *o = *state;
	struct kernel *k = mv_machine_kernel(o->m);

	assert_int_equal(kernel_register_device(k, "/dev/null", NULL, NULL), -EEXIST);
	/* /dev/nested/x makes /dev/nested a directory */
	assert_int_equal(kernel_register_device(k, "/dev/nested/x", k->devices[0].open,
						k->devices[0].ctx), 0);
	assert_true(do_open(o->t, AT_FDCWD, "/dev/nested", O_RDONLY | O_DIRECTORY) >= 0);
	assert_int_equal(fd_rdev_minor(o->t, do_open(o->t, AT_FDCWD, "/dev/nested/x", O_RDONLY)),
			 3);
	assert_int_equal(do_open(o->t, AT_FDCWD, "/dev/nest", O_RDONLY), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_openat_errno_table, otest_setup, otest_teardown),
		cmocka_unit_test_setup_teardown(test_openat_resolves_to_the_right_device, otest_setup,
						otest_teardown),
		cmocka_unit_test_setup_teardown(test_openat_access_mode_decides_read_and_write,
						otest_setup, otest_teardown),
		cmocka_unit_test_setup_teardown(test_openat_o_path_only_names_the_file, otest_setup,
						otest_teardown),
		cmocka_unit_test_setup_teardown(test_openat_directory_reads_are_eisdir, otest_setup,
						otest_teardown),
		cmocka_unit_test_setup_teardown(test_openat_failure_releases_the_fd, otest_setup,
						otest_teardown),
		cmocka_unit_test_setup_teardown(test_openat_registered_devices_are_found, otest_setup,
						otest_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
