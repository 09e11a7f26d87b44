/* SPDX-License-Identifier: MIT */
/*
 * map_shadow_stack(2): every argument check in Linux's order (one table
 * row each, mainline and the seed revision), then what a successful call
 * gives: placement, size, the restore token, the guard gap.
 */
#include <string.h>

#include "shstk_test.h"

#define TOK SHADOW_STACK_SET_TOKEN
#define OK 1   /* succeeds: returns @addr when given, else some base above 4 GiB */

struct map_row {
	const char *behaviour;
	uint64_t addr, size, flags;
	long expect;
};

static const struct map_row mainline_rows[] = {
	{ "unknown_flag_checked_before_size_and_addr", 0x1000, 0, 2, -EINVAL },
	{ "unknown_high_flag", 0, PG, 1ull << 31, -EINVAL },
	{ "flags_is_an_unsigned_int", 0, PG, (1ull << 32) | TOK, OK },
	{ "token_needs_8_bytes_before_addr_check", 0x1000, 7, TOK, -ENOSPC },
	{ "token_with_size_zero", 0, 0, TOK, -ENOSPC },
	{ "addr_below_4g_checked_before_overflow", 0xffffffffull, ~0ull, 0, -ERANGE },
	{ "addr_just_below_4g", SZ_4G - PG, PG, 0, -ERANGE },
	{ "size_page_align_overflows", 0, ~0ull, 0, -EOVERFLOW },
	{ "size_page_align_overflows_with_token", 0, ~0ull - 100, TOK, -EOVERFLOW },
	{ "size_zero", 0, 0, 0, -EINVAL },
	{ "addr_unaligned_is_einval", SZ_4G + 8, PG, 0, -EINVAL },
	{ "size_above_task_size", 0, TASK_SIZE + PG, 0, -ENOMEM },
	{ "fixed_end_above_task_size", TASK_SIZE - PG, 2 * PG, 0, -ENOMEM },
	{ "token_slot_not_8_aligned_removes_mapping", 0, PG + 1, TOK, -EINVAL },
	{ "addr_exactly_4g", SZ_4G, PG, 0, OK },
	{ "size_rounded_up_to_a_page", 0, 1, 0, OK },
	{ "token_in_an_8_byte_stack", 0, 8, TOK, OK },
};

/* The seed revision (abi = seed): -EINVAL where mainline says -ENOSPC / -ERANGE. */
static const struct map_row seed_rows[] = {
	{ "unknown_flag", 0x1000, 0, 2, -EINVAL },
	{ "token_needs_8_bytes_is_einval", 0x1000, 7, TOK, -EINVAL },
	{ "addr_4g_minus_1_is_einval", 0xffffffffull, ~0ull, 0, -EINVAL },
	{ "size_page_align_overflows", 0, ~0ull, 0, -EOVERFLOW },
	{ "size_zero", 0, 0, 0, -EINVAL },
	{ "addr_exactly_4g", SZ_4G, PG, 0, OK },
	{ "token_in_an_8_byte_stack", 0, 8, TOK, OK },
};

/* The numbers are Linux's (x86-64), so unmodified programs could run. */
static void test_shstk_uapi_numbers_are_linux(void **state)
{
	assert_int_equal(MV_SYS_map_shadow_stack, 453);
	assert_int_equal(MV_SYS_map_shadow_stack_seed, 451);
	assert_int_equal(MV_SYS_arch_prctl, 158);
	assert_int_equal(SHADOW_STACK_SET_TOKEN, 1);
	assert_int_equal(ARCH_SHSTK_ENABLE, 0x5001);
	assert_int_equal(ARCH_SHSTK_DISABLE, 0x5002);
	assert_int_equal(ARCH_SHSTK_LOCK, 0x5003);
	assert_int_equal(ARCH_SHSTK_UNLOCK, 0x5004);
	assert_int_equal(ARCH_SHSTK_STATUS, 0x5005);
	assert_int_equal(ARCH_SHSTK_SHSTK, 1);
	assert_int_equal(ARCH_SHSTK_WRSS, 2);
	assert_int_equal(SEGV_CPERR, 10);
}

static void run_rows(const struct map_row *rows, size_t n, uint32_t abi, long nr)
{
	for (size_t i = 0; i < n; i++) {
		const struct map_row *r = &rows[i];
		struct mv_machine *m;
		struct mv_task *t = shtest_task(&m, 0, abi);
		long got = MVTEST_SYSCALL(t, nr, r->addr, r->size, r->flags);

		if (r->expect == OK) {
			if (got < 0 || (r->addr && (uint64_t)got != r->addr) || (uint64_t)got < SZ_4G)
				fail_msg("%s: got %ld", r->behaviour, got);
		} else if (got != r->expect) {
			fail_msg("%s: expected %ld, got %ld", r->behaviour, r->expect, got);
		}
		mvtest_expect_no_signal(t);
		mv_machine_destroy(m);
	}
}

static void test_shstk_map_checks_in_linux_order(void **state)
{
	run_rows(mainline_rows, sizeof(mainline_rows) / sizeof(mainline_rows[0]), MV_ABI_MAINLINE,
		 MV_SYS_map_shadow_stack);
}

static void test_shstk_map_seed_abi_errnos_on_both_numbers(void **state)
{
	size_t n = sizeof(seed_rows) / sizeof(seed_rows[0]);

	run_rows(seed_rows, n, MV_ABI_SEED, MV_SYS_map_shadow_stack);
	run_rows(seed_rows, n, MV_ABI_SEED, MV_SYS_map_shadow_stack_seed);
}

static void test_shstk_map_451_is_not_mainline(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, MV_ABI_MAINLINE);

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_map_shadow_stack_seed, 0, PG, 0), -ENOSYS);
	mv_machine_destroy(m);
}

/* Readable, typed shadow stack, never written by ordinary stores, above 4 GiB. */
static void test_shstk_map_anonymous_private_readable_never_writable(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t base = shtest_map(t, 0, 5000, 0), v = 1;

	assert_true(base >= SZ_4G);
	assert_int_equal(base % PG, 0);
	assert_int_equal(shtest_read64(t, base), 0);
	assert_int_equal(shtest_read64(t, base + 2 * PG - 8), 0);   /* PAGE_ALIGN(5000) */
	assert_int_equal(mv_user_read(t, base + 2 * PG, &v, 8), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MAPERR, base + 2 * PG);
	assert_int_equal(mv_user_write(t, base, &v, 8), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, base);
	mv_machine_destroy(m);
}

static void test_shstk_map_fixed_no_replace(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t want = 0x500000000ull, plain;

	assert_int_equal(shtest_map(t, want, 2 * PG, 0), want);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_map_shadow_stack, want + PG, PG, 0), -EEXIST);
	plain = shtest_mmap(t, 0x600000000ull, PG, PROT_READ | PROT_WRITE, ANON | MAP_FIXED);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_map_shadow_stack, plain, PG, TOK), -EEXIST);
	/* The plain page is untouched and still ordinary memory. */
	assert_int_equal(mv_user_write(t, plain, &want, 8), 0);
	mv_machine_destroy(m);
}

/* The kernel writes (base + size) | 1 at base + size - 8, size as passed. */
static void test_shstk_map_restore_token_at_top(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t a = shtest_map(t, 0, 2 * PG, TOK);
	uint64_t b = shtest_map(t, 0, PG - 64, TOK);

	assert_int_equal(shtest_read64(t, a + 2 * PG - 8), (a + 2 * PG) | 1);
	assert_int_equal(shtest_read64(t, a + 2 * PG - 16), 0);
	assert_int_equal(shtest_read64(t, b + PG - 64 - 8), (b + PG - 64) | 1);
	assert_int_equal(shtest_read64(t, b + PG - 8), 0);
	mv_machine_destroy(m);
}

/* A token that cannot be placed takes its mapping away: the range is free again. */
static void test_shstk_map_failed_token_unmaps(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t want = 0x700000000ull;

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_map_shadow_stack, want, 2 * PG + 4, TOK),
			 -EINVAL);
	assert_int_equal(shtest_map(t, want, 3 * PG, 0), want);
	mv_machine_destroy(m);
}

/* No mapping the kernel places lands directly against a shadow stack. */
static void test_shstk_map_one_page_guard_gap(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t s = shtest_map(t, 0, 4 * PG, 0);
	uint64_t s2 = shtest_map(t, 0, 4 * PG, 0);
	uint64_t a = shtest_mmap(t, 0, PG, PROT_READ, ANON);

	/* Top-down: each new mapping goes below the previous one, a page apart. */
	assert_true(s2 + 4 * PG + PG <= s);
	assert_true(a + PG + PG <= s2);
	/* Explicit placement may still go against it (MAP_FIXED is the user's call). */
	assert_int_equal(shtest_mmap(t, s + 4 * PG, PG, PROT_READ, ANON | MAP_FIXED), s + 4 * PG);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shstk_uapi_numbers_are_linux),
		cmocka_unit_test(test_shstk_map_checks_in_linux_order),
		cmocka_unit_test(test_shstk_map_seed_abi_errnos_on_both_numbers),
		cmocka_unit_test(test_shstk_map_451_is_not_mainline),
		cmocka_unit_test(test_shstk_map_anonymous_private_readable_never_writable),
		cmocka_unit_test(test_shstk_map_fixed_no_replace),
		cmocka_unit_test(test_shstk_map_restore_token_at_top),
		cmocka_unit_test(test_shstk_map_failed_token_unmaps),
		cmocka_unit_test(test_shstk_map_one_page_guard_gap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
