/* SPDX-License-Identifier: MIT */
/*
 * fork() and copy-on-write: each side sees its own writes, shared mappings
 * stay shared, MADV_DONTFORK / MADV_WIPEONFORK regions are left out, a page
 * is copied only while it is shared (reused once exclusive), and every
 * frame comes back when the tasks exit.
 */
#include <errno.h>
#include <string.h>

#include "mvtest.h"

#define PG 4096ull
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define MADV_WIPEONFORK_ 18

static uint64_t frames_free(struct mv_machine *m)
{
	struct mv_machine_stats s;

	mv_machine_get_stats(m, &s);
	return s.frames_free;
}

static uint32_t peek(struct mv_task *t, uint64_t a)
{
	uint32_t v = 0;

	assert_int_equal(mv_user_read(t, a, &v, sizeof(v)), 0);
	return v;
}

static void poke(struct mv_task *t, uint64_t a, uint32_t v)
{
	assert_int_equal(mv_user_write(t, a, &v, sizeof(v)), 0);
}

static struct mv_task *fork_task(struct mv_task *t)
{
	struct mv_task *c = NULL;

	assert_int_equal(mv_task_clone(t, 0, &c), 0);
	return c;
}

static void test_cow_child_and_parent_each_see_their_own_writes(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m), *c;
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, 2 * PG, RW, ANON, -1, 0);

	poke(t, a, 10);
	poke(t, a + PG, 20);
	c = fork_task(t);
	assert_int_equal(peek(c, a), 10);
	poke(c, a, 11);
	assert_int_equal(peek(t, a), 10);
	assert_int_equal(peek(c, a), 11);
	poke(t, a + PG, 21);
	assert_int_equal(peek(c, a + PG), 20);
	assert_int_equal(peek(t, a + PG), 21);
	mvtest_expect_no_signal(t);
	mvtest_expect_no_signal(c);
	mv_machine_destroy(m);
}

static void test_cow_copies_only_while_shared(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m), *c;
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW, ANON, -1, 0);
	uint64_t before_fork, before_write;

	poke(t, a, 1);
	before_fork = frames_free(m);
	c = fork_task(t);
	before_write = frames_free(m);
	poke(c, a, 2);                       /* shared: copied */
	assert_int_equal(frames_free(m), before_write - 1);
	mv_task_exit(c);                     /* child's copy and tables freed */
	assert_int_equal(frames_free(m), before_fork);
	poke(t, a, 3);                       /* exclusive again: reused, no copy */
	assert_int_equal(frames_free(m), before_fork);
	assert_int_equal(peek(t, a), 3);
	mv_machine_destroy(m);
}

static void test_cow_parent_write_then_child_exit_returns_baseline(void **state)
{
	struct mv_machine *m = mvtest_machine(0);
	uint64_t base = frames_free(m);
	struct mv_task *t, *c;
	long a;

	assert_int_equal(mv_task_spawn(m, &t), 0);
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, 4 * PG, RW, ANON, -1, 0);
	for (int i = 0; i < 4; i++)
		poke(t, a + i * PG, (uint32_t)i);
	c = fork_task(t);
	for (int i = 0; i < 4; i++)
		poke(t, a + i * PG, 100u + (uint32_t)i);
	for (int i = 0; i < 4; i++)
		assert_int_equal(peek(c, a + i * PG), i);
	mv_task_exit(c);
	mv_task_exit(t);
	assert_int_equal(frames_free(m), base);
	mv_machine_destroy(m);
}

static void test_cow_shared_mapping_stays_shared(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m), *c;
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	poke(t, a, 5);
	c = fork_task(t);
	poke(c, a, 6);
	assert_int_equal(peek(t, a), 6);
	poke(t, a, 7);
	assert_int_equal(peek(c, a), 7);
	mv_machine_destroy(m);
}

static void test_cow_dontfork_region_is_absent_in_child(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m), *c;
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, 2 * PG, RW, ANON, -1, 0);
	uint32_t v;

	poke(t, a, 1);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_madvise, a, PG, MADV_DONTFORK), 0);
	c = fork_task(t);
	assert_int_equal(mv_user_read(c, a, &v, sizeof(v)), -EFAULT);
	mvtest_expect_signal(c, SIGSEGV, SEGV_MAPERR, a);
	assert_int_equal(peek(c, a + PG), 0);
	assert_int_equal(peek(t, a), 1);
	mv_machine_destroy(m);
}

static void test_cow_wipeonfork_child_reads_zero(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m), *c;
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW, ANON, -1, 0);

	poke(t, a, 9);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_madvise, a, PG, MADV_WIPEONFORK_), 0);
	c = fork_task(t);
	assert_int_equal(peek(c, a), 0);
	assert_int_equal(peek(t, a), 9);
	mv_machine_destroy(m);
}

static void test_cow_fork_of_fork_keeps_three_versions(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m), *c, *g;
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW, ANON, -1, 0);

	poke(t, a, 1);
	c = fork_task(t);
	g = fork_task(c);
	poke(g, a, 3);
	poke(c, a, 2);
	assert_int_equal(peek(t, a), 1);
	assert_int_equal(peek(c, a), 2);
	assert_int_equal(peek(g, a), 3);
	mv_machine_destroy(m);
}

static void test_cow_private_file_mapping_after_fork(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m), *c;
	long fd = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "cow", 0), a;
	char ch = 0;

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_pwrite64, fd, "A", 1, 0), 1);
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW, MAP_PRIVATE, fd, 0);
	assert_true(a > 0);
	assert_int_equal(mv_user_read(t, a, &ch, 1), 0);
	c = fork_task(t);
	assert_int_equal(mv_user_write(c, a, "C", 1), 0);
	assert_int_equal(mv_user_read(t, a, &ch, 1), 0);
	assert_int_equal(ch, 'A');
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_pread64, fd, &ch, 1, 0), 1);
	assert_int_equal(ch, 'A');
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cow_child_and_parent_each_see_their_own_writes),
		cmocka_unit_test(test_cow_copies_only_while_shared),
		cmocka_unit_test(test_cow_parent_write_then_child_exit_returns_baseline),
		cmocka_unit_test(test_cow_shared_mapping_stays_shared),
		cmocka_unit_test(test_cow_dontfork_region_is_absent_in_child),
		cmocka_unit_test(test_cow_wipeonfork_child_reads_zero),
		cmocka_unit_test(test_cow_fork_of_fork_keeps_three_versions),
		cmocka_unit_test(test_cow_private_file_mapping_after_fork),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
