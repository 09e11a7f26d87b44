/* SPDX-License-Identifier: MIT */
/*
 * fd tables: close, dup, dup2, dup3, the lowest-free rule, RLIMIT_NOFILE,
 * close-on-exec bits and inheritance by fork.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "mvtest.h"
#include "api/api.h"
#include "kernel/kernel.h"
#include "lib/alloc.h"

struct fdtest {
	struct mv_machine *m;
	struct mv_task *t;
};

static int fdtest_setup(void **state)
{
	struct fdtest *ft = test_calloc(1, sizeof(*ft));

	ft->t = mvtest_task(&ft->m);
	*state = ft;
	return 0;
}

static int fdtest_teardown(void **state)
{
	struct fdtest *ft = *state;

	mv_machine_destroy(ft->m);
	test_free(ft);
	return 0;
}

static long open_null(struct mv_task *t, unsigned int flags)
{
	return MVTEST_SYSCALL(t, MV_SYS_openat, AT_FDCWD, "/dev/null", flags);
}

static uint64_t fd_ino(struct mv_task *t, long fd)
{
	struct stat st;

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_fstat, fd, &st), 0);
	return st.st_ino;
}

static void test_fd_close_then_closed(void **state)
{
	struct mv_task *t = ((struct fdtest *)*state)->t;
	long fd = open_null(t, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_close, fd), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_close, fd), -EBADF);
}

static void test_fd_ebadf_rows(void **state)
{
	static const struct {
		const char *what;
		long nr;
		uint64_t a0, a1, a2;
		long expect;
	} rows[] = {
		{ "close(-1)",          MV_SYS_close, (uint64_t)-1, 0, 0, -EBADF },
		{ "close(never)",       MV_SYS_close, 77, 0, 0, -EBADF },
		{ "close(huge)",        MV_SYS_close, 1u << 30, 0, 0, -EBADF },
		{ "dup(-1)",            MV_SYS_dup, (uint64_t)-1, 0, 0, -EBADF },
		{ "dup(never)",         MV_SYS_dup, 50, 0, 0, -EBADF },
		{ "dup2(never, 5)",     MV_SYS_dup2, 50, 5, 0, -EBADF },
		{ "dup2(never, never)", MV_SYS_dup2, 50, 50, 0, -EBADF },
		{ "dup3(never, 5)",     MV_SYS_dup3, 50, 5, 0, -EBADF },
		{ "dup2(0, rlimit)",    MV_SYS_dup2, 0, K_NR_OPEN_DEFAULT, 0, -EBADF },
		{ "dup3(0, -1)",        MV_SYS_dup3, 0, (uint64_t)-1, 0, -EBADF },
		{ "fstat(-1)",          MV_SYS_fstat, (uint64_t)-1, 0, 0, -EBADF },
		{ "ioctl(-1)",          MV_SYS_ioctl, (uint64_t)-1, 0x5451, 0, -EBADF },
	};
	struct mv_task *t = ((struct fdtest *)*state)->t;

	assert_int_equal(open_null(t, O_RDONLY), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long ret = MVTEST_SYSCALL(t, rows[i].nr, rows[i].a0, rows[i].a1, rows[i].a2);

		if (ret != rows[i].expect)
			fail_msg("%s: got %ld, want %ld", rows[i].what, ret, rows[i].expect);
	}
}

static void test_fd_lowest_free_is_allocated(void **state)
{
	struct mv_task *t = ((struct fdtest *)*state)->t;

	for (long i = 0; i < 5; i++)
		assert_int_equal(open_null(t, O_RDONLY), i);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_close, 1), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_close, 3), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_dup, 4), 1);
	assert_int_equal(open_null(t, O_RDONLY), 3);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_memfd_create, "x", 0), 5);
}

static void test_fd_dup_shares_the_file(void **state)
{
	struct mv_task *t = ((struct fdtest *)*state)->t;
	long a = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "a", 0);
	long b = MVTEST_SYSCALL(t, MV_SYS_dup, a);
	char buf[4];

	assert_int_equal(b, a + 1);
	assert_int_equal(fd_ino(t, a), fd_ino(t, b));
	/* one open file, one position */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_write, a, "abcd", 4), 4);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_close, a), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_read, b, buf, 4), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_pread64, b, buf, 4, 0), 4);
	assert_memory_equal(buf, "abcd", 4);
}

static void test_fd_dup2_same_fd_returns_it(void **state)
{
	struct mv_task *t = ((struct fdtest *)*state)->t;
	long fd = open_null(t, O_RDONLY);

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_dup2, fd, fd), fd);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_close, fd), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_dup2, fd, fd), -EBADF);
}

static void test_fd_dup2_replaces_an_open_fd(void **state)
{
	struct mv_task *t = ((struct fdtest *)*state)->t;
	long a = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "a", 0);
	long b = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "b", 0);
	uint64_t ino_a = fd_ino(t, a);

	assert_int_not_equal(ino_a, fd_ino(t, b));
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_dup2, a, b), b);
	assert_int_equal(fd_ino(t, b), ino_a);
	/* past the current table size, below the limit */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_dup2, a, 900), 900);
	assert_int_equal(fd_ino(t, 900), ino_a);
}

static void test_fd_dup3_rejects_same_fd_and_bad_flags(void **state)
{
	static const struct {
		const char *what;
		unsigned int oldfd, newfd, flags;
		long expect;
	} rows[] = {
		{ "same fd",          0, 0, 0, -EINVAL },
		{ "same fd cloexec",  0, 0, O_CLOEXEC, -EINVAL },
		{ "O_NONBLOCK",       0, 7, O_NONBLOCK, -EINVAL },
		{ "O_RDWR",           0, 7, O_RDWR, -EINVAL },
		{ "flags before fd",  60, 7, 0x1, -EINVAL },
		{ "closed oldfd",     60, 7, 0, -EBADF },
		{ "ok",               0, 7, O_CLOEXEC, 7 },
	};
	struct mv_task *t = ((struct fdtest *)*state)->t;

	assert_int_equal(open_null(t, O_RDONLY), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long ret = MVTEST_SYSCALL(t, MV_SYS_dup3, rows[i].oldfd, rows[i].newfd,
					  rows[i].flags);

		if (ret != rows[i].expect)
			fail_msg("%s: got %ld, want %ld", rows[i].what, ret, rows[i].expect);
	}
}

static void test_fd_emfile_at_rlimit(void **state)
{
	struct mv_task *t = ((struct fdtest *)*state)->t;

	t->rlimit_nofile = 4;
	for (long i = 0; i < 4; i++)
		assert_int_equal(open_null(t, O_RDONLY), i);
	assert_int_equal(open_null(t, O_RDONLY), -EMFILE);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_dup, 0), -EMFILE);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_memfd_create, "x", 0), -EMFILE);
	/* -EMFILE comes before the lookup fails */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_openat, AT_FDCWD, "/nope", 0), -EMFILE);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_dup2, 0, 4), -EBADF);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_dup2, 0, 3), 3);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_close, 2), 0);
	assert_int_equal(open_null(t, O_RDONLY), 2);
	/* lowering the limit keeps fds above it open */
	t->rlimit_nofile = 1;
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_close, 3), 0);
	assert_int_equal(open_null(t, O_RDONLY), -EMFILE);
}

static void test_fd_cloexec_flag_is_recorded(void **state)
{
	struct mv_task *t = ((struct fdtest *)*state)->t;
	long a = open_null(t, O_RDONLY | O_CLOEXEC);
	long b = open_null(t, O_RDONLY);
	long c = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "c", MFD_CLOEXEC);

	assert_int_equal(fd_get_cloexec(t, a), 1);
	assert_int_equal(fd_get_cloexec(t, b), 0);
	assert_int_equal(fd_get_cloexec(t, c), 1);
	/* dup and dup2 never copy the bit; dup3 sets it on request */
	assert_int_equal(fd_get_cloexec(t, MVTEST_SYSCALL(t, MV_SYS_dup, a)), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_dup2, a, 10), 10);
	assert_int_equal(fd_get_cloexec(t, 10), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_dup3, b, 10, O_CLOEXEC), 10);
	assert_int_equal(fd_get_cloexec(t, 10), 1);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_dup3, b, 10, 0), 10);
	assert_int_equal(fd_get_cloexec(t, 10), 0);
	/* FIOCLEX / FIONCLEX */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_ioctl, b, 0x5451, 0), 0);
	assert_int_equal(fd_get_cloexec(t, b), 1);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_ioctl, b, 0x5450, 0), 0);
	assert_int_equal(fd_get_cloexec(t, b), 0);
	/* a closed fd forgets it */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_close, a), 0);
	assert_int_equal(fd_get_cloexec(t, a), -EBADF);
	assert_int_equal(open_null(t, O_RDONLY), a);
	assert_int_equal(fd_get_cloexec(t, a), 0);
}

static void test_fd_fork_inherits_a_copy(void **state)
{
	struct mv_task *t = ((struct fdtest *)*state)->t, *child = NULL;
	long a = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "a", MFD_CLOEXEC);
	long b = open_null(t, O_RDONLY);
	char buf[3];

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_write, a, "xyz", 3), 3);
	assert_int_equal(mv_task_clone(t, 0, &child), 0);
	assert_int_equal(fd_ino(child, a), fd_ino(t, a));
	assert_int_equal(fd_ino(child, b), fd_ino(t, b));
	assert_int_equal(fd_get_cloexec(child, a), 1);
	assert_int_equal(fd_get_cloexec(child, b), 0);
	/* same open file: contents and position are shared */
	assert_int_equal(MVTEST_SYSCALL(child, MV_SYS_pread64, a, buf, 3, 0), 3);
	assert_memory_equal(buf, "xyz", 3);
	assert_int_equal(MVTEST_SYSCALL(child, MV_SYS_read, a, buf, 3), 0);
	/* separate tables */
	assert_int_equal(MVTEST_SYSCALL(child, MV_SYS_close, b), 0);
	assert_int_equal(fd_ino(t, b), fd_ino(t, b));
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_dup, a), b + 1);
	assert_int_equal(MVTEST_SYSCALL(child, MV_SYS_close, b + 1), -EBADF);
	mv_task_exit(child);
	/* the parent's file survives the child's exit */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_pread64, a, buf, 3, 0), 3);
}

static void test_fd_table_grows_past_its_first_size(void **state)
{
	struct mv_task *t = ((struct fdtest *)*state)->t;

	for (long i = 0; i < 300; i++)
		assert_int_equal(open_null(t, O_RDONLY), i);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_close, 150), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_dup, 299), 150);
}

/* Every allocation failure inside an open gives -ENOMEM and leaves no fd behind. */
static void test_fd_enomem_leaves_no_fd_behind(void **state)
{
	struct fdtest *ft = *state;
	struct mv_machine_stats before, after;
	unsigned long nth;
	long ret = -ENOMEM;

	assert_int_equal(open_null(ft->t, O_RDONLY), 0);
	mv_machine_get_stats(ft->m, &before);
	for (nth = 1; ret == -ENOMEM && nth < 100; nth++) {
		lib_fail_after(nth);
		ret = MVTEST_SYSCALL(ft->t, MV_SYS_memfd_create, "x", 0);
		lib_fail_after(0);
		if (ret == -ENOMEM)
			assert_int_equal(open_null(ft->t, O_RDONLY), 1);
		else
			assert_int_equal(ret, 1);
		assert_int_equal(MVTEST_SYSCALL(ft->t, MV_SYS_close, 1), 0);
	}
	assert_true(nth > 2);   /* at least one failure was injected */
	for (nth = 1, ret = -ENOMEM; ret == -ENOMEM && nth < 100; nth++) {
		lib_fail_after(nth);
		ret = MVTEST_SYSCALL(ft->t, MV_SYS_openat, AT_FDCWD, "/dev", O_RDONLY);
		lib_fail_after(0);
		assert_true(ret == -ENOMEM || ret == 1);
		assert_int_equal(open_null(ft->t, O_RDONLY), ret == 1 ? 2 : 1);
		assert_int_equal(MVTEST_SYSCALL(ft->t, MV_SYS_close, ret == 1 ? 2 : 1), 0);
		if (ret == 1)
			assert_int_equal(MVTEST_SYSCALL(ft->t, MV_SYS_close, 1), 0);
	}
	mv_machine_get_stats(ft->m, &after);
	assert_int_equal(after.frames_free, before.frames_free);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fd_close_then_closed, fdtest_setup, fdtest_teardown),
		cmocka_unit_test_setup_teardown(test_fd_ebadf_rows, fdtest_setup, fdtest_teardown),
		cmocka_unit_test_setup_teardown(test_fd_lowest_free_is_allocated, fdtest_setup,
						fdtest_teardown),
		cmocka_unit_test_setup_teardown(test_fd_dup_shares_the_file, fdtest_setup,
						fdtest_teardown),
		cmocka_unit_test_setup_teardown(test_fd_dup2_same_fd_returns_it, fdtest_setup,
						fdtest_teardown),
		cmocka_unit_test_setup_teardown(test_fd_dup2_replaces_an_open_fd, fdtest_setup,
						fdtest_teardown),
		cmocka_unit_test_setup_teardown(test_fd_dup3_rejects_same_fd_and_bad_flags,
						fdtest_setup, fdtest_teardown),
		cmocka_unit_test_setup_teardown(test_fd_emfile_at_rlimit, fdtest_setup, fdtest_teardown),
		cmocka_unit_test_setup_teardown(test_fd_cloexec_flag_is_recorded, fdtest_setup,
						fdtest_teardown),
		cmocka_unit_test_setup_teardown(test_fd_fork_inherits_a_copy, fdtest_setup,
						fdtest_teardown),
		cmocka_unit_test_setup_teardown(test_fd_table_grows_past_its_first_size, fdtest_setup,
						fdtest_teardown),
		cmocka_unit_test_setup_teardown(test_fd_enomem_leaves_no_fd_behind, fdtest_setup,
						fdtest_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
