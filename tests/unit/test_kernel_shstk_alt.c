/* SPDX-License-Identifier: MIT */
/*
 * The reviewer's alternative, mmap(PROT_SHADOW_STACK) (not mainline, opt-in
 * per process), and a machine without shadow stacks, where every entry
 * answers as Linux does on a CPU without the feature.
 */
#include <string.h>

#include "shstk_test.h"

#define SHSTK_PROT (PROT_SHADOW_STACK | PROT_READ)

static long alt_mmap(struct mv_task *t, uint64_t addr, uint64_t len, uint64_t prot,
		     uint64_t flags, long fd)
{
	return MVTEST_SYSCALL(t, MV_SYS_mmap, addr, len, prot, flags, fd, 0);
}

/* Opted in: an anonymous private shadow stack with the kernel's token on top. */
static void test_shstk_alt_mmap_makes_shadow_stack_with_token(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t s, v = 1;

	assert_int_equal(mv_task_set_prot_shadow_stack(t, 1), 0);
	s = (uint64_t)alt_mmap(t, 0, 3 * PG, PROT_SHADOW_STACK, ANON, -1);
	assert_true((long)s > 0 && s >= SZ_4G);
	assert_int_equal(shtest_read64(t, s + 3 * PG - 8), (s + 3 * PG) | 1);
	assert_int_equal(mv_user_write(t, s, &v, 8), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, s);
	/* The token works for a switch, as map_shadow_stack's does. */
	shtest_enable(t, ARCH_SHSTK_SHSTK);
	assert_int_equal(mv_cpu_rstorssp(t, s + 3 * PG - 8), 0);
	assert_int_equal(mv_cpu_saveprevssp(t), 0);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), s + 3 * PG);
	mv_machine_destroy(m);
}

struct alt_row {
	const char *behaviour;
	uint64_t addr, len, prot, flags;
	bool file;
	long expect;
};

static const struct alt_row alt_rows[] = {
	{ "shared_anonymous", 0, PG, SHSTK_PROT, MAP_SHARED | MAP_ANONYMOUS, false, -EINVAL },
	{ "file_backed", 0, PG, SHSTK_PROT, MAP_PRIVATE, true, -EINVAL },
	{ "writable_window", 0, PG, SHSTK_PROT | PROT_WRITE, ANON, false, -EINVAL },
	{ "executable", 0, PG, SHSTK_PROT | PROT_EXEC, ANON, false, -EINVAL },
	{ "growsdown", 0, PG, SHSTK_PROT, ANON | MAP_GROWSDOWN, false, -EINVAL },
	{ "len_zero", 0, 0, SHSTK_PROT, ANON, false, -EINVAL },
	{ "fixed_below_4g", 0x10000000, PG, SHSTK_PROT, ANON | MAP_FIXED, false, -EINVAL },
	{ "fixed_above_4g", 0x800000000ull, PG, SHSTK_PROT, ANON | MAP_FIXED, false, 0x800000000 },
	{ "low_hint_placed_above_4g", 0x10000000, PG, SHSTK_PROT, ANON, false, 1 },
};

static void test_shstk_alt_anonymous_private_only(void **state)
{
	for (size_t i = 0; i < sizeof(alt_rows) / sizeof(alt_rows[0]); i++) {
		const struct alt_row *r = &alt_rows[i];
		struct mv_machine *m;
		struct mv_task *t = shtest_task(&m, 0, 0);
		long fd = -1, got;

		assert_int_equal(mv_task_set_prot_shadow_stack(t, 1), 0);
		if (r->file)
			fd = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "x", 0);
		if (r->file)
			assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_ftruncate, fd, PG), 0);
		got = alt_mmap(t, r->addr, r->len, r->prot, r->flags, fd);
		if (r->expect == 1 ? (got < (long)SZ_4G) : got != r->expect)
			fail_msg("%s: expected %ld, got %ld", r->behaviour, r->expect, got);
		mv_machine_destroy(m);
	}
}

/* Once a shadow stack, always: mprotect cannot convert it, nor make others one. */
static void test_shstk_alt_never_convertible_by_mprotect(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t s, p, v = 3;

	assert_int_equal(mv_task_set_prot_shadow_stack(t, 1), 0);
	s = (uint64_t)alt_mmap(t, 0, PG, SHSTK_PROT, ANON, -1);
	p = shtest_mmap(t, 0, PG, PROT_READ | PROT_WRITE, ANON);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, p, PG, SHSTK_PROT), -EINVAL);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, s, PG, PROT_READ | PROT_WRITE), 0);
	assert_int_equal(mv_user_write(t, s, &v, 8), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, s);
	assert_int_equal(mv_user_write(t, p, &v, 8), 0);
	mv_machine_destroy(m);
}

/*
 * Not opted in (the default, and mainline): mmap ignores the unknown bit,
 * so the same call gives ordinary memory. The opt-in reaches threads and is
 * inherited by fork; it can be turned off again.
 */
static void test_shstk_alt_off_by_default_and_process_wide(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0), *th = NULL, *ch = NULL;
	uint64_t p, v = 4;

	p = (uint64_t)alt_mmap(t, 0, PG, PROT_SHADOW_STACK | PROT_READ | PROT_WRITE, ANON, -1);
	assert_true((long)p > 0);
	assert_int_equal(mv_user_write(t, p, &v, 8), 0);
	assert_int_equal(mv_task_clone(t, CLONE_VM, &th), 0);
	assert_int_equal(mv_task_set_prot_shadow_stack(t, 1), 0);
	assert_int_equal(alt_mmap(th, 0, PG, SHSTK_PROT | PROT_WRITE, ANON, -1), -EINVAL);
	assert_int_equal(mv_task_clone(t, 0, &ch), 0);
	assert_int_equal(alt_mmap(ch, 0, PG, SHSTK_PROT | PROT_WRITE, ANON, -1), -EINVAL);
	assert_int_equal(mv_task_set_prot_shadow_stack(t, 1 + 1), -EINVAL);
	assert_int_equal(mv_task_set_prot_shadow_stack(t, 0), 0);
	assert_true(alt_mmap(th, 0, PG, SHSTK_PROT | PROT_WRITE, ANON, -1) > 0);
	mv_machine_destroy(m);
}

/* -------------------------------------------------- machine without the feature */

static void test_shstk_no_feature_answers_eopnotsupp(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, MV_FEAT_SHSTK, 0);
	uint64_t ra = 0, rip = 0x401000;

	/* The feature check comes before every argument check. */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_map_shadow_stack, 0, PG, 0), -EOPNOTSUPP);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_map_shadow_stack, 1, 0, ~0u), -EOPNOTSUPP);
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_ENABLE, ARCH_SHSTK_SHSTK), -EOPNOTSUPP);
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_ENABLE, ARCH_SHSTK_WRSS), -EOPNOTSUPP);
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_DISABLE, ARCH_SHSTK_SHSTK), -EOPNOTSUPP);
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_DISABLE, ARCH_SHSTK_WRSS), -EOPNOTSUPP);
	/* Where Linux answers before looking at the CPU, so does memvisor. */
	assert_int_equal(shtest_status(t), 0);
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_ENABLE, 0), -EINVAL);
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_ENABLE, 3), -EINVAL);
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_LOCK, ARCH_SHSTK_SHSTK), 0);
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_ENABLE, ARCH_SHSTK_SHSTK), -EPERM);
	/* The alternative, opted in, has no hardware to stand on either. */
	assert_int_equal(mv_task_set_prot_shadow_stack(t, 1), 0);
	assert_int_equal(alt_mmap(t, 0, PG, SHSTK_PROT, ANON, -1), -EOPNOTSUPP);
	/* The CPU: plain CALL/RET, the CET instructions #UD. */
	assert_int_equal(mv_cpu_set_reg(t, MV_REG_RIP, rip), 0);
	assert_int_equal(mv_cpu_call(t, 0x401005), 0);
	assert_int_equal(mv_cpu_ret(t, &ra), 0);
	assert_int_equal(ra, 0x401005);
	assert_int_equal(mv_cpu_set_reg(t, MV_REG_RIP, rip), 0);
	assert_int_equal(mv_cpu_incssp(t, 1), -EFAULT);
	mvtest_expect_signal(t, SIGILL, ILL_ILLOPN, rip);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shstk_alt_mmap_makes_shadow_stack_with_token),
		cmocka_unit_test(test_shstk_alt_anonymous_private_only),
		cmocka_unit_test(test_shstk_alt_never_convertible_by_mprotect),
		cmocka_unit_test(test_shstk_alt_off_by_default_and_process_wide),
		cmocka_unit_test(test_shstk_no_feature_answers_eopnotsupp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
