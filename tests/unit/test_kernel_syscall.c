/* SPDX-License-Identifier: MIT */
/* The syscall table: dispatch by x86-64 number, -ENOSYS, -ESRCH. */
#include <errno.h>
#include <string.h>

#include "mvtest.h"
#include "kernel/kernel.h"

static void test_syscall_unknown_numbers_are_enosys(void **state)
{
	static const long rows[] = {
		-1, -100, 2 /* open: memvisor has only openat */, 4 /* stat */, 57 /* fork */,
		450, MV_SYS_MAX - 1, MV_SYS_MAX, 1l << 40, -(1l << 40),
	};
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long ret = MVTEST_SYSCALL(t, rows[i], 0);

		if (ret != -ENOSYS)
			fail_msg("syscall %ld: got %ld, want -ENOSYS", rows[i], ret);
	}
	mv_machine_destroy(m);
}

static void test_syscall_dispatches_by_number(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long fd;
	char c = 1;

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_getpid, 0), mv_task_pid(t));
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_close, 55), -EBADF);
	fd = MVTEST_SYSCALL(t, MV_SYS_openat, AT_FDCWD, "/dev/zero", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_read, fd, &c, 1), 1);
	assert_int_equal(c, 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_dup, fd), fd + 1);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_memfd_create, "m", 0), fd + 2);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_ioctl, fd, 0x1234, 0), -ENOTTY);
	mv_machine_destroy(m);
}

static void test_syscall_exited_task_is_esrch(void **state)
{
	const uint64_t a[6] = { 0 };
	struct mv_task gone;

	memset(&gone, 0, sizeof(gone));
	gone.exited = true;
	assert_int_equal(kernel_syscall(&gone, MV_SYS_getpid, a), -ESRCH);
	assert_int_equal(kernel_syscall(&gone, 9999, a), -ESRCH);
	assert_int_equal(kernel_syscall(NULL, MV_SYS_getpid, a), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syscall_unknown_numbers_are_enosys),
		cmocka_unit_test(test_syscall_dispatches_by_number),
		cmocka_unit_test(test_syscall_exited_task_is_esrch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
