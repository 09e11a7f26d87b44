/* SPDX-License-Identifier: MIT */
/*
 * getrlimit / setrlimit / prlimit64 for an unprivileged process: Linux's
 * defaults, the checks of do_prlimit() (table), per-process limits shared
 * by threads and inherited by forks.
 */
#include <errno.h>
#include <string.h>

#include "mvtest.h"

#define RLIMIT_STACK_ 3
#define RLIMIT_NOFILE_ 7
#define INF (~0ull)

struct rl {
	uint64_t cur, max;
};

static struct rl get(struct mv_task *t, int res)
{
	struct rl r = { 0, 0 };

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_getrlimit, res, &r), 0);
	return r;
}

static void test_rlimit_defaults(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct rl r = get(t, RLIMIT_STACK_);

	assert_int_equal(r.cur, 8ull << 20);
	assert_int_equal(r.max, INF);
	r = get(t, RLIMIT_NOFILE_);
	assert_int_equal(r.cur, 1024);
	assert_int_equal(r.max, 4096);
	mv_machine_destroy(m);
}

struct setrlimit_row {
	const char *behaviour;
	int resource;
	struct rl value;
	long expect;
};

static const struct setrlimit_row setrlimit_rows[] = {
	{ "resource_out_of_range", 16, { 1, 1 }, -EINVAL },
	{ "soft_above_hard", RLIMIT_STACK_, { 2 << 20, 1 << 20 }, -EINVAL },
	{ "nofile_above_nr_open", RLIMIT_NOFILE_, { 1024, (1u << 20) + 1 }, -EPERM },
	{ "raise_hard_unprivileged", RLIMIT_NOFILE_, { 1024, 8192 }, -EPERM },
	{ "lower_soft", RLIMIT_STACK_, { 1 << 20, INF }, 0 },
	{ "raise_soft_to_hard", RLIMIT_NOFILE_, { 4096, 4096 }, 0 },
	{ "lower_hard", RLIMIT_STACK_, { 1 << 20, 1 << 20 }, 0 },
};

static void test_rlimit_setrlimit_table(void **state)
{
	for (size_t i = 0; i < sizeof(setrlimit_rows) / sizeof(setrlimit_rows[0]); i++) {
		const struct setrlimit_row *r = &setrlimit_rows[i];
		struct mv_machine *m;
		struct mv_task *t = mvtest_task(&m);
		long ret = MVTEST_SYSCALL(t, MV_SYS_setrlimit, r->resource, &r->value);

		if (ret != r->expect)
			fail_msg("%s: got %ld, want %ld", r->behaviour, ret, r->expect);
		mv_machine_destroy(m);
	}
}

static void test_rlimit_bad_pointers_efault(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_getrlimit, RLIMIT_STACK_, NULL), -EFAULT);
	/* getrlimit checks the resource first, setrlimit copies first. */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_getrlimit, 99, NULL), -EINVAL);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_setrlimit, 99, NULL), -EFAULT);
	mv_machine_destroy(m);
}

static void test_rlimit_lowered_hard_cannot_be_raised_again(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct rl low = { 1 << 20, 2 << 20 }, back = { 1 << 20, INF };

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_setrlimit, RLIMIT_STACK_, &low), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_setrlimit, RLIMIT_STACK_, &back), -EPERM);
	assert_int_equal(get(t, RLIMIT_STACK_).max, 2 << 20);
	mv_machine_destroy(m);
}

static void test_rlimit_prlimit64_old_new_and_other_pid(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m), *o;
	struct rl new = { 512, 4096 }, old = { 0, 0 };

	assert_int_equal(mv_task_spawn(m, &o), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_prlimit64, mv_task_pid(o), RLIMIT_NOFILE_, &new,
					&old), 0);
	assert_int_equal(old.cur, 1024);
	assert_int_equal(get(o, RLIMIT_NOFILE_).cur, 512);
	assert_int_equal(get(t, RLIMIT_NOFILE_).cur, 1024);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_prlimit64, 0, RLIMIT_NOFILE_, NULL, &old), 0);
	assert_int_equal(old.cur, 1024);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_prlimit64, 4242, RLIMIT_NOFILE_, NULL, &old),
			 -ESRCH);
	mv_machine_destroy(m);
}

static void test_rlimit_threads_share_forks_inherit(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m), *th, *c;
	struct rl r = { 2 << 20, INF };

	assert_int_equal(mv_task_clone(t, CLONE_VM, &th), 0);
	assert_int_equal(MVTEST_SYSCALL(th, MV_SYS_setrlimit, RLIMIT_STACK_, &r), 0);
	assert_int_equal(get(t, RLIMIT_STACK_).cur, 2 << 20);
	assert_int_equal(mv_task_clone(t, 0, &c), 0);
	assert_int_equal(get(c, RLIMIT_STACK_).cur, 2 << 20);
	r.cur = 1 << 20;
	assert_int_equal(MVTEST_SYSCALL(c, MV_SYS_setrlimit, RLIMIT_STACK_, &r), 0);
	assert_int_equal(get(t, RLIMIT_STACK_).cur, 2 << 20);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rlimit_defaults),
		cmocka_unit_test(test_rlimit_setrlimit_table),
		cmocka_unit_test(test_rlimit_bad_pointers_efault),
		cmocka_unit_test(test_rlimit_lowered_hard_cannot_be_raised_again),
		cmocka_unit_test(test_rlimit_prlimit64_old_new_and_other_pid),
		cmocka_unit_test(test_rlimit_threads_share_forks_inherit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
