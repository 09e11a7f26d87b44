/* SPDX-License-Identifier: MIT */
/*
 * arch_prctl(ARCH_SHSTK_*): the per-thread rules (status, enable with its
 * thread shadow stack, WRSS after SHSTK, one bit at a time, locks, disable),
 * and what clone, fork and exit do with shadow stacks.
 */
#include <string.h>

#include "shstk_test.h"

#define SHSTK ARCH_SHSTK_SHSTK
#define WRSS ARCH_SHSTK_WRSS
#define RLIMIT_STACK 3

struct prctl_row {
	const char *behaviour;
	uint64_t option, arg;
	bool shstk_on;   /* SHSTK enabled before the call */
	long expect;
};

static const struct prctl_row prctl_rows[] = {
	{ "enable_two_bits", ARCH_SHSTK_ENABLE, SHSTK | WRSS, false, -EINVAL },
	{ "enable_unknown_bit", ARCH_SHSTK_ENABLE, 1ull << 2, false, -EINVAL },
	{ "enable_no_bit", ARCH_SHSTK_ENABLE, 0, false, -EINVAL },
	{ "disable_no_bit", ARCH_SHSTK_DISABLE, 0, true, -EINVAL },
	{ "disable_two_bits", ARCH_SHSTK_DISABLE, SHSTK | WRSS, true, -EINVAL },
	{ "disable_unknown_bit", ARCH_SHSTK_DISABLE, 1ull << 5, true, -EINVAL },
	{ "enable_wrss_without_shstk", ARCH_SHSTK_ENABLE, WRSS, false, -EPERM },
	{ "disable_wrss_without_shstk", ARCH_SHSTK_DISABLE, WRSS, false, -EPERM },
	{ "enable_wrss_with_shstk", ARCH_SHSTK_ENABLE, WRSS, true, 0 },
	{ "disable_shstk_when_off", ARCH_SHSTK_DISABLE, SHSTK, false, 0 },
	{ "status_bad_pointer", ARCH_SHSTK_STATUS, 8, false, -EFAULT },
	{ "lock_anything", ARCH_SHSTK_LOCK, ~0ull, false, 0 },
	{ "unknown_shstk_option", 0x5006, SHSTK, false, -EINVAL },
	{ "other_arch_prctl_option", 0x1002 /* ARCH_SET_FS */, 0, false, -EINVAL },
	{ "option_is_an_int", (1ull << 32) | ARCH_SHSTK_ENABLE, SHSTK, false, 0 },
};

static void test_shstk_prctl_argument_table(void **state)
{
	for (size_t i = 0; i < sizeof(prctl_rows) / sizeof(prctl_rows[0]); i++) {
		const struct prctl_row *r = &prctl_rows[i];
		struct mv_machine *m;
		struct mv_task *t = shtest_task(&m, 0, 0);
		long got;

		if (r->shstk_on)
			shtest_enable(t, SHSTK);
		got = shtest_prctl(t, (long)r->option, r->arg);
		if (got != r->expect)
			fail_msg("%s: expected %ld, got %ld", r->behaviour, r->expect, got);
		mv_machine_destroy(m);
	}
}

static void test_shstk_prctl_status_writes_enabled_mask(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);

	assert_int_equal(shtest_status(t), 0);
	shtest_enable(t, SHSTK);
	assert_int_equal(shtest_status(t), SHSTK);
	shtest_enable(t, WRSS);
	assert_int_equal(shtest_status(t), SHSTK | WRSS);
	mv_machine_destroy(m);
}

static void set_stack_rlimit(struct mv_task *t, uint64_t cur)
{
	uint64_t lim[2] = { cur, ~0ull };

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_setrlimit, RLIMIT_STACK, lim), 0);
}

/* The thread shadow stack is min(RLIMIT_STACK, 4 GiB), SSP at its top. */
static void test_shstk_prctl_enable_allocates_thread_stack(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t ssp, v;

	set_stack_rlimit(t, 64 * 1024 + 100);   /* page aligned up: 17 pages */
	shtest_enable(t, SHSTK);
	ssp = shtest_reg(t, MV_REG_SSP);
	assert_true(ssp > SZ_4G && ssp % PG == 0);
	assert_int_equal(shtest_read64(t, ssp - 17 * PG), 0);
	assert_int_equal(mv_user_read(t, ssp - 18 * PG, &v, 8), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MAPERR, ssp - 18 * PG);
	assert_int_equal(mv_user_read(t, ssp, &v, 8), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MAPERR, ssp);
	mv_machine_destroy(m);

	t = shtest_task(&m, 0, 0);
	set_stack_rlimit(t, ~0ull);   /* unlimited: capped at 4 GiB */
	shtest_enable(t, SHSTK);
	ssp = shtest_reg(t, MV_REG_SSP);
	assert_int_equal(shtest_read64(t, ssp - SZ_4G), 0);
	assert_int_equal(mv_user_read(t, ssp - SZ_4G - PG, &v, 8), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MAPERR, ssp - SZ_4G - PG);
	mv_machine_destroy(m);
}

static void test_shstk_prctl_enable_is_idempotent(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t ssp;

	shtest_enable(t, SHSTK);
	ssp = shtest_reg(t, MV_REG_SSP);
	shtest_enable(t, SHSTK);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), ssp);
	mv_machine_destroy(m);
}

/* LOCK ORs bits in; a locked feature cannot be changed either way. */
static void test_shstk_prctl_locked_feature_cannot_change(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);

	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_LOCK, WRSS), 0);
	shtest_enable(t, SHSTK);
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_ENABLE, WRSS), -EPERM);
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_LOCK, SHSTK), 0);
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_DISABLE, SHSTK), -EPERM);
	/* Locked and already in that state: still -EPERM, the lock is checked first. */
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_ENABLE, SHSTK), -EPERM);
	assert_int_equal(shtest_status(t), SHSTK);
	mv_machine_destroy(m);
}

/* DISABLE(SHSTK) drops WRSS too and unmaps the thread shadow stack. */
static void test_shstk_prctl_disable_frees_stack_and_wrss(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t ssp, v;

	shtest_enable(t, SHSTK);
	shtest_enable(t, WRSS);
	ssp = shtest_reg(t, MV_REG_SSP);
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_DISABLE, SHSTK), 0);
	assert_int_equal(shtest_status(t), 0);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), 0);
	assert_int_equal(mv_user_read(t, ssp - 8, &v, 8), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MAPERR, ssp - 8);
	/* WRSS now needs SHSTK again. */
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_ENABLE, WRSS), -EPERM);
	mv_machine_destroy(m);
}

/*
 * UNLOCK is for a tracer (CRIU). Linux does not special-case it when the
 * task calls it on itself: it passes the same checks as ENABLE and enables.
 */
static void test_shstk_prctl_unlock_from_self_acts_as_enable(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);

	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_UNLOCK, SHSTK), 0);
	assert_int_equal(shtest_status(t), SHSTK);
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_LOCK, WRSS), 0);
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_UNLOCK, WRSS), -EPERM);
	mv_machine_destroy(m);
}

/* A CLONE_VM thread gets its own shadow stack; exiting unmaps it. */
static void test_shstk_thread_gets_own_stack_and_exit_frees_it(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0), *c = NULL;
	uint64_t pssp, cssp, ra = 0, v;

	shtest_enable(t, SHSTK);
	shtest_enable(t, WRSS);
	pssp = shtest_reg(t, MV_REG_SSP);
	assert_int_equal(mv_task_clone(t, CLONE_VM | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD,
				       &c), 0);
	cssp = shtest_reg(c, MV_REG_SSP);
	assert_true(cssp != pssp && cssp > SZ_4G);
	assert_int_equal(shtest_status(c), SHSTK | WRSS);
	assert_int_equal(mv_cpu_call(c, 0x401000), 0);
	assert_int_equal(shtest_reg(c, MV_REG_SSP), cssp - 8);
	assert_int_equal(mv_cpu_ret(c, &ra), 0);
	assert_int_equal(ra, 0x401000);
	mv_task_exit(c);
	assert_int_equal(mv_user_read(t, cssp - 8, &v, 8), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MAPERR, cssp - 8);
	assert_int_equal(shtest_read64(t, pssp - 8), 0);   /* the parent's stays */
	mv_machine_destroy(m);
}

/* fork copies: same SSP in a copied mm, with the return addresses pushed so far. */
static void test_shstk_fork_copies_shadow_stack(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0), *c = NULL;
	uint64_t ssp, ra = 0;

	shtest_enable(t, SHSTK);
	assert_int_equal(mv_cpu_call(t, 0x401234), 0);
	ssp = shtest_reg(t, MV_REG_SSP);
	assert_int_equal(mv_task_clone(t, 0, &c), 0);
	assert_int_equal(shtest_reg(c, MV_REG_SSP), ssp);
	assert_int_equal(shtest_status(c), SHSTK);
	assert_int_equal(mv_cpu_ret(c, &ra), 0);
	assert_int_equal(ra, 0x401234);
	/* The child's pushes land in its copy, not in the parent's stack. */
	assert_int_equal(mv_cpu_call(c, 0x405555), 0);
	assert_int_equal(shtest_peek(t, ssp), 0x401234);
	assert_int_equal(mv_cpu_ret(t, &ra), 0);
	assert_int_equal(ra, 0x401234);
	mv_task_exit(c);
	mvtest_expect_no_signal(t);
	mv_machine_destroy(m);
}

/* A thread of a task without shadow stacks gets none. */
static void test_shstk_thread_of_disabled_task_has_none(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0), *c = NULL;

	assert_int_equal(mv_task_clone(t, CLONE_VM, &c), 0);
	assert_int_equal(shtest_status(c), 0);
	assert_int_equal(shtest_reg(c, MV_REG_SSP), 0);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shstk_prctl_argument_table),
		cmocka_unit_test(test_shstk_prctl_status_writes_enabled_mask),
		cmocka_unit_test(test_shstk_prctl_enable_allocates_thread_stack),
		cmocka_unit_test(test_shstk_prctl_enable_is_idempotent),
		cmocka_unit_test(test_shstk_prctl_locked_feature_cannot_change),
		cmocka_unit_test(test_shstk_prctl_disable_frees_stack_and_wrss),
		cmocka_unit_test(test_shstk_prctl_unlock_from_self_acts_as_enable),
		cmocka_unit_test(test_shstk_thread_gets_own_stack_and_exit_frees_it),
		cmocka_unit_test(test_shstk_fork_copies_shadow_stack),
		cmocka_unit_test(test_shstk_thread_of_disabled_task_has_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
