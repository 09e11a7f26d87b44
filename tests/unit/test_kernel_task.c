/* SPDX-License-Identifier: MIT */
/*
 * Tasks: spawn (stack mapped, RSP at its top), clone as a thread (shared
 * memory and fds, same process) or as a fork (copies), the clone flag
 * combinations Linux refuses, the signal queue, and exit giving back every
 * frame.
 */
#include <errno.h>
#include <string.h>

#include "mvtest.h"

#define PG 4096ull
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define STACK_TOP 0x00007ffffffde000ull
#define STACK_SIZE (128ull * 1024)

static uint64_t frames_free(struct mv_machine *m)
{
	struct mv_machine_stats s;

	mv_machine_get_stats(m, &s);
	return s.frames_free;
}

static void test_task_spawn_has_stack_and_rsp_at_top(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	uint64_t rsp = 0, v = 0x1122334455667788ull;

	assert_int_equal(mv_cpu_get_reg(t, MV_REG_RSP, &rsp), 0);
	assert_int_equal(rsp, STACK_TOP);
	assert_int_equal(mv_user_write(t, rsp - 8, &v, sizeof(v)), 0);
	assert_int_equal(mv_user_write(t, STACK_TOP - STACK_SIZE, &v, sizeof(v)), 0);
	/* No stack growth: below the stack VMA is unmapped. */
	assert_int_equal(mv_user_write(t, STACK_TOP - STACK_SIZE - 8, &v, sizeof(v)), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MAPERR, STACK_TOP - STACK_SIZE - 8);
	/* The top of the stack is the end of the mapping. */
	assert_int_equal(mv_user_read(t, STACK_TOP, &v, 1), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MAPERR, STACK_TOP);
	mv_machine_destroy(m);
}

static void test_task_spawn_pids_are_distinct(void **state)
{
	struct mv_machine *m = mvtest_machine(0);
	struct mv_task *a, *b;

	assert_int_equal(mv_task_spawn(m, &a), 0);
	assert_int_equal(mv_task_spawn(m, &b), 0);
	assert_int_not_equal(mv_task_pid(a), mv_task_pid(b));
	assert_int_equal(MVTEST_SYSCALL(a, MV_SYS_getpid, 0), mv_task_pid(a));
	assert_int_equal(MVTEST_SYSCALL(a, MV_SYS_gettid, 0), mv_task_pid(a));
	mv_machine_destroy(m);
}

static void test_task_clone_vm_is_thread_sharing_memory_and_fds(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m), *c = NULL;
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW, ANON, -1, 0), fd;
	uint32_t v = 0xabcd;

	assert_true(a > 0);
	assert_int_equal(mv_task_clone(t, CLONE_VM, &c), 0);
	assert_int_equal(MVTEST_SYSCALL(c, MV_SYS_getpid, 0), MVTEST_SYSCALL(t, MV_SYS_getpid, 0));
	assert_int_not_equal(MVTEST_SYSCALL(c, MV_SYS_gettid, 0),
			     MVTEST_SYSCALL(t, MV_SYS_gettid, 0));
	assert_int_equal(mv_user_write(c, a, &v, sizeof(v)), 0);
	v = 0;
	assert_int_equal(mv_user_read(t, a, &v, sizeof(v)), 0);
	assert_int_equal(v, 0xabcd);
	fd = MVTEST_SYSCALL(c, MV_SYS_memfd_create, "thr", 0);
	assert_true(fd >= 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_close, fd), 0);
	/* A mapping made by the thread is the process's. */
	a = MVTEST_SYSCALL(c, MV_SYS_mmap, 0, PG, RW, ANON, -1, 0);
	assert_int_equal(mv_user_write(t, a, &v, sizeof(v)), 0);
	mv_task_exit(c);
	assert_int_equal(mv_user_read(t, a, &v, sizeof(v)), 0);
	mv_machine_destroy(m);
}

static void test_task_fork_copies_memory_and_fds(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m), *c = NULL;
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW, ANON, -1, 0);
	long fd = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "f", 0);
	uint32_t v = 1;

	assert_true(a > 0 && fd >= 0);
	assert_int_equal(mv_user_write(t, a, &v, sizeof(v)), 0);
	assert_int_equal(mv_task_clone(t, 0, &c), 0);
	assert_int_not_equal(MVTEST_SYSCALL(c, MV_SYS_getpid, 0),
			     MVTEST_SYSCALL(t, MV_SYS_getpid, 0));
	/* The fd table is a copy: closing in the child leaves the parent's. */
	assert_int_equal(MVTEST_SYSCALL(c, MV_SYS_close, fd), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_close, fd), 0);
	v = 2;
	assert_int_equal(mv_user_write(c, a, &v, sizeof(v)), 0);
	assert_int_equal(mv_user_read(t, a, &v, sizeof(v)), 0);
	assert_int_equal(v, 1);
	mv_machine_destroy(m);
}

struct clone_row {
	const char *behaviour;
	unsigned long flags;
	long expect;
};

static const struct clone_row clone_rows[] = {
	{ "thread_without_sighand", CLONE_VM | CLONE_THREAD, -EINVAL },
	{ "thread_without_vm", CLONE_THREAD, -EINVAL },
	{ "sighand_without_vm", CLONE_SIGHAND, -EINVAL },
	{ "unmodelled_flag", 0x00020000 /* CLONE_NEWNS */, -EINVAL },
	{ "pthread_create_flags", CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD,
	  0 },
	{ "fork_with_exit_signal", 17 /* SIGCHLD */, 0 },
	{ "fork_sharing_files", CLONE_FILES, 0 },
};

static void test_task_clone_flags_table(void **state)
{
	for (size_t i = 0; i < sizeof(clone_rows) / sizeof(clone_rows[0]); i++) {
		struct mv_machine *m;
		struct mv_task *t = mvtest_task(&m), *c = NULL;
		long ret = mv_task_clone(t, clone_rows[i].flags, &c);

		if (ret != clone_rows[i].expect)
			fail_msg("%s: got %ld, want %ld", clone_rows[i].behaviour, ret,
				 clone_rows[i].expect);
		mv_machine_destroy(m);
	}
}

static void test_task_exit_returns_every_frame(void **state)
{
	struct mv_machine *m = mvtest_machine(0);
	uint64_t base = frames_free(m);
	struct mv_task *t, *th, *c;
	uint8_t buf[3 * PG];
	long a;

	assert_int_equal(mv_task_spawn(m, &t), 0);
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, sizeof(buf), RW, ANON, -1, 0);
	memset(buf, 3, sizeof(buf));
	assert_int_equal(mv_user_write(t, a, buf, sizeof(buf)), 0);
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, sizeof(buf), RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_int_equal(mv_user_write(t, a, buf, sizeof(buf)), 0);
	assert_int_equal(mv_task_clone(t, CLONE_VM, &th), 0);
	assert_int_equal(mv_task_clone(t, 0, &c), 0);
	assert_int_equal(mv_user_write(c, a, buf, sizeof(buf)), 0);
	mv_task_exit(t);
	assert_true(frames_free(m) < base);   /* the thread still holds the mm */
	mv_task_exit(th);
	mv_task_exit(c);
	assert_int_equal(frames_free(m), base);
	mv_machine_destroy(m);
}

static void test_task_signal_queue_keeps_order_and_drops_overflow(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	uint8_t v;

	for (uint64_t i = 0; i < 20; i++)
		assert_int_equal(mv_user_read(t, 0x10000 + i, &v, 1), -EFAULT);
	for (uint64_t i = 0; i < 16; i++) {
		struct mv_siginfo si;

		assert_int_equal(mv_task_take_signal(t, &si), 1);
		assert_int_equal(si.addr, 0x10000 + i);
	}
	mvtest_expect_no_signal(t);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_task_spawn_has_stack_and_rsp_at_top),
		cmocka_unit_test(test_task_spawn_pids_are_distinct),
		cmocka_unit_test(test_task_clone_vm_is_thread_sharing_memory_and_fds),
		cmocka_unit_test(test_task_fork_copies_memory_and_fds),
		cmocka_unit_test(test_task_clone_flags_table),
		cmocka_unit_test(test_task_exit_returns_every_frame),
		cmocka_unit_test(test_task_signal_queue_keeps_order_and_drops_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
