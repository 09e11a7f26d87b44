/* SPDX-License-Identifier: MIT */
/*
 * The cases of mainline's tools/testing/selftests/x86/test_shadow_stack.c,
 * re-expressed on memvisor's public API (one test per case, named after
 * it; docs/conformance.md has the table). The selftest's instructions
 * (WRSSQ, RDSSPQ, RSTORSSP, SAVEPREVSSP, CALL/RET) are mv_cpu_*; its
 * /proc/self/mem accesses are mv_task_access_remote with MV_REMOTE_FORCE;
 * a SIGSEGV its handler would catch is the signal left pending.
 */
#include "shstk_test.h"

#define SS_SIZE 0x200000ull
#define MAGIC_VAL 0x12345678ull
#define RET_ADDR 0x401000ull

/* main(): enable, disable, enable again, then WRSS; SSP is then non-zero. */
static struct mv_task *ss_task(struct mv_machine **m)
{
	struct mv_task *t = shtest_task(m, 0, MV_ABI_MAINLINE);

	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_ENABLE, ARCH_SHSTK_SHSTK), 0);
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_DISABLE, ARCH_SHSTK_SHSTK), 0);
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_ENABLE, ARCH_SHSTK_SHSTK), 0);
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_ENABLE, ARCH_SHSTK_WRSS), 0);
	return t;
}

static uint64_t get_ssp(struct mv_task *t)
{
	uint64_t ssp = 0;   /* "xor; rdsspq": 0 when shadow stacks are off */

	assert_int_equal(mv_cpu_rdssp(t, &ssp), 0);
	return ssp;
}

static uint64_t create_shstk(struct mv_task *t, uint64_t addr)
{
	return (uint64_t)MVTEST_SYSCALL(t, MV_SYS_map_shadow_stack, addr, SS_SIZE,
					SHADOW_STACK_SET_TOKEN);
}

static void free_shstk(struct mv_task *t, uint64_t shstk)
{
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, shstk, SS_SIZE), 0);
}

/* A WRSS that faults: the SIGSEGV the selftest's handler would have caught. */
static bool wrss_faults(struct mv_task *t, uint64_t addr, uint64_t val)
{
	struct mv_siginfo si;

	if (mv_cpu_wrss(t, addr, val) == 0)
		return false;
	assert_int_equal(mv_task_take_signal(t, &si), 1);
	assert_int_equal(si.signo, SIGSEGV);
	return true;
}

static bool write_faults(struct mv_task *t, uint64_t addr, uint64_t val)
{
	struct mv_siginfo si;

	if (mv_user_write(t, addr, &val, sizeof(val)) == 0)
		return false;
	assert_int_equal(mv_task_take_signal(t, &si), 1);
	assert_int_equal(si.signo, SIGSEGV);
	return true;
}

/* The main() prologue: the feature switches work and SSP is live. */
static void test_selftest_shadow_stack_enable_disable(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = ss_task(&m);

	assert_true(get_ssp(t) != 0);
	assert_int_equal(shtest_status(t), ARCH_SHSTK_SHSTK | ARCH_SHSTK_WRSS);
	mv_machine_destroy(m);
}

/* test_shstk_pivot: RSTORSSP to a new stack's token, SAVEPREVSSP, and back. */
static void test_selftest_shadow_stack_shstk_pivot(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = ss_task(&m);
	uint64_t shstk = create_shstk(t, 0), new_ssp = shstk + SS_SIZE - 8, ssp;

	assert_true((int64_t)shstk > 0);
	ssp = get_ssp(t);
	assert_int_equal(mv_cpu_rstorssp(t, new_ssp), 0);
	assert_int_equal(mv_cpu_saveprevssp(t), 0);
	assert_int_equal(get_ssp(t), shstk + SS_SIZE);
	ssp -= 8;
	assert_int_equal(mv_cpu_rstorssp(t, ssp), 0);
	assert_int_equal(mv_cpu_saveprevssp(t), 0);
	assert_int_equal(get_ssp(t), ssp + 8);
	free_shstk(t, shstk);
	mvtest_expect_no_signal(t);
	mv_machine_destroy(m);
}

/* test_shstk_faults: read, WRSS what was read, MADV_DONTNEED, WRSS again. */
static void test_selftest_shadow_stack_shstk_faults(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = ss_task(&m);
	uint64_t shstk = create_shstk(t, 0);

	assert_int_equal(shtest_read64(t, shstk), 0);
	assert_false(wrss_faults(t, shstk, 1));
	assert_int_equal(shtest_read64(t, shstk), 1);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_madvise, shstk, SS_SIZE, MADV_DONTNEED), 0);
	assert_false(wrss_faults(t, shstk, 1));
	assert_int_equal(shtest_read64(t, shstk), 1);
	mv_machine_destroy(m);
}

/* test_shstk_violation: corrupt the return address with WRSS; RET is #CP (SIGSEGV). */
static void test_selftest_shadow_stack_shstk_violation(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = ss_task(&m);
	uint64_t saved_ssp, saved_val, ret = 0;

	assert_int_equal(mv_cpu_call(t, RET_ADDR), 0);   /* into violate_ss() */
	saved_ssp = get_ssp(t);
	saved_val = shtest_read64(t, saved_ssp);
	assert_int_equal(saved_val, RET_ADDR);
	assert_false(wrss_faults(t, saved_ssp, 0));
	assert_int_equal(mv_cpu_ret(t, &ret), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_CPERR, 0);
	/* the handler fixes the shadow stack; the RET then completes */
	assert_false(wrss_faults(t, saved_ssp, saved_val));
	assert_int_equal(mv_cpu_ret(t, &ret), 0);
	assert_int_equal(ret, RET_ADDR);
	mv_machine_destroy(m);
}

/* test_gup: /proc/self/mem reads and writes leave the page a working shadow stack. */
static void test_selftest_shadow_stack_gup(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = ss_task(&m), *c = NULL;
	uint64_t val = 0, shstk;

	for (int write = 0; write < 2; write++) {
		/* gup read/write -> shstk access succeeds */
		shstk = create_shstk(t, 0);
		assert_int_equal(mv_task_access_remote(t, shstk, &val, 8,
						       MV_REMOTE_FORCE | (write ? MV_REMOTE_WRITE : 0)), 8);
		assert_false(wrss_faults(t, shstk, MAGIC_VAL));
		free_shstk(t, shstk);
		/* gup read/write -> a normal write still faults */
		shstk = create_shstk(t, 0);
		assert_int_equal(mv_task_access_remote(t, shstk, &val, 8,
						       MV_REMOTE_FORCE | (write ? MV_REMOTE_WRITE : 0)), 8);
		assert_true(write_faults(t, shstk, MAGIC_VAL));
		free_shstk(t, shstk);
	}
	/* COW: the child's forced write does not reach the parent */
	shstk = create_shstk(t, 0);
	assert_int_equal(mv_task_clone(t, 0, &c), 0);
	val = MAGIC_VAL;
	assert_int_equal(mv_task_access_remote(c, shstk, &val, 8, MV_REMOTE_WRITE | MV_REMOTE_FORCE), 8);
	mv_task_exit(c);
	assert_true(shtest_read64(t, shstk) != MAGIC_VAL);
	free_shstk(t, shstk);
	mv_machine_destroy(m);
}

/* test_mprotect: PROT_READ stops shadow-stack writes; PROT_READ|PROT_WRITE gives them back. */
static void test_selftest_shadow_stack_mprotect(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = ss_task(&m);
	uint64_t shstk = create_shstk(t, 0);

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, shstk, SS_SIZE, PROT_READ), 0);
	assert_true(wrss_faults(t, shstk, MAGIC_VAL));
	/* the handler made a new shadow stack in its place */
	free_shstk(t, shstk);
	assert_int_equal(create_shstk(t, shstk), shstk);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, shstk, SS_SIZE, PROT_READ), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, shstk, SS_SIZE,
					PROT_READ | PROT_WRITE), 0);
	assert_false(wrss_faults(t, shstk, MAGIC_VAL));
	free_shstk(t, shstk);
	mv_machine_destroy(m);
}

/*
 * test_guard_gap_other_gaps: fill the space above a shadow stack with
 * single pages; the first that lands below it is one guard page away.
 */
static void test_selftest_shadow_stack_guard_gap_other_gaps(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = ss_task(&m);
	uint64_t free_area = shtest_mmap(t, 0, SS_SIZE * 3, PROT_READ | PROT_WRITE, ANON);
	uint64_t shstk, test_map = ~0ull, maps[4096];
	int n = 0;

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, free_area, SS_SIZE * 3), 0);
	shstk = create_shstk(t, free_area + SS_SIZE);
	assert_true((int64_t)shstk > 0);
	while (test_map > shstk) {
		assert_true(n < 4096);
		test_map = shtest_mmap(t, 0, PG, PROT_READ | PROT_WRITE, ANON);
		maps[n++] = test_map;
	}
	while (n)
		assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, maps[--n], PG), 0);
	free_shstk(t, shstk);
	assert_int_equal(shstk - test_map - PG, PG);
	mv_machine_destroy(m);
}

/*
 * test_guard_gap_new_mappings_gaps: a normal page, then shadow stacks
 * placed by the kernel; none may land right above the page (its own
 * guard gap would hold the page).
 */
static void test_selftest_shadow_stack_guard_gap_new_mappings_gaps(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = ss_task(&m);
	uint64_t free_area = shtest_mmap(t, 0, PG * 4, PROT_READ | PROT_WRITE, ANON);
	uint64_t start, test_map = ~0ull, maps[4096];
	int n = 0;
	bool in_gap = false;

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, free_area, PG * 4), 0);
	start = shtest_mmap(t, free_area, PG, PROT_READ | PROT_WRITE, ANON);
	assert_int_equal(start, free_area);
	while (test_map > start) {
		long r = MVTEST_SYSCALL(t, MV_SYS_map_shadow_stack, 0, PG, 0);

		assert_true(r > 0 && n < 4096);
		test_map = (uint64_t)r;
		maps[n++] = test_map;
		if (test_map == free_area + PG) {
			in_gap = true;
			break;
		}
	}
	while (n)
		assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, maps[--n], PG), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, start, PG), 0);
	assert_false(in_gap);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest_shadow_stack_enable_disable),
		cmocka_unit_test(test_selftest_shadow_stack_shstk_pivot),
		cmocka_unit_test(test_selftest_shadow_stack_shstk_faults),
		cmocka_unit_test(test_selftest_shadow_stack_shstk_violation),
		cmocka_unit_test(test_selftest_shadow_stack_gup),
		cmocka_unit_test(test_selftest_shadow_stack_mprotect),
		cmocka_unit_test(test_selftest_shadow_stack_guard_gap_other_gaps),
		cmocka_unit_test(test_selftest_shadow_stack_guard_gap_new_mappings_gaps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
