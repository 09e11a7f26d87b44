/* SPDX-License-Identifier: MIT */
/*
 * User page faults as the task's CPU sees them: demand-zero pages, the
 * signal Linux would deliver (SIGSEGV MAPERR/ACCERR, SIGBUS) with the exact
 * faulting address, and nothing changed by an access that faulted.
 */
#include <errno.h>
#include <string.h>

#include "mvtest.h"

#define PG 4096ull
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static long map(struct mv_task *t, uint64_t len, uint64_t prot)
{
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, len, prot, ANON, -1, 0);

	assert_true(a > 0);
	return a;
}

static void test_fault_demand_zero_allocates_on_first_touch(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct mv_machine_stats s0, s1, s2;
	uint64_t v = ~0ull;
	long a = map(t, 8 * PG, RW);

	mv_machine_get_stats(m, &s0);
	assert_int_equal(mv_user_read(t, a + 5 * PG, &v, sizeof(v)), 0);
	assert_int_equal(v, 0);
	mv_machine_get_stats(m, &s1);
	assert_true(s1.page_faults > s0.page_faults);
	assert_true(s1.frames_free < s0.frames_free);
	/* The same page again: no new fault, no new frame. */
	assert_int_equal(mv_user_read(t, a + 5 * PG + 8, &v, sizeof(v)), 0);
	mv_machine_get_stats(m, &s2);
	assert_int_equal(s2.page_faults, s1.page_faults);
	assert_int_equal(s2.frames_free, s1.frames_free);
	mv_machine_destroy(m);
}

static void test_fault_unmapped_is_segv_maperr_at_first_bad_byte(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = map(t, 2 * PG, RW);
	uint8_t buf[16];

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, a + PG, PG), 0);
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(mv_user_read(t, a + PG - 8, buf, sizeof(buf)), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MAPERR, a + PG);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xee);   /* nothing copied */
	mv_machine_destroy(m);
}

static void test_fault_write_to_prot_read_is_segv_accerr(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = map(t, PG, PROT_READ);
	uint32_t v = 0;

	assert_int_equal(mv_user_read(t, a + 40, &v, sizeof(v)), 0);
	assert_int_equal(mv_user_write(t, a + 40, &v, sizeof(v)), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, a + 40);
	mv_machine_destroy(m);
}

static void test_fault_prot_none_read_is_segv_accerr(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = map(t, PG, PROT_NONE);
	uint8_t v;

	assert_int_equal(mv_user_read(t, a + 1, &v, 1), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, a + 1);
	mv_machine_destroy(m);
}

static void test_fault_mprotect_read_only_keeps_content(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = map(t, PG, RW);
	uint8_t v = 0x42;

	assert_int_equal(mv_user_write(t, a, &v, 1), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a, PG, PROT_READ), 0);
	v = 0;
	assert_int_equal(mv_user_write(t, a, &v, 1), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, a);
	assert_int_equal(mv_user_read(t, a, &v, 1), 0);
	assert_int_equal(v, 0x42);
	/* And back: writes work again. */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a, PG, RW), 0);
	v = 7;
	assert_int_equal(mv_user_write(t, a, &v, 1), 0);
	mvtest_expect_no_signal(t);
	mv_machine_destroy(m);
}

static void test_fault_write_spanning_read_only_page_changes_nothing(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = map(t, 2 * PG, RW);
	uint8_t buf[32], back[32];

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a + PG, PG, PROT_READ), 0);
	memset(buf, 0x77, sizeof(buf));
	assert_int_equal(mv_user_write(t, a + PG - 16, buf, sizeof(buf)), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, a + PG);
	assert_int_equal(mv_user_read(t, a + PG - 16, back, sizeof(back)), 0);
	for (size_t i = 0; i < sizeof(back); i++)
		assert_int_equal(back[i], 0);
	mv_machine_destroy(m);
}

static void test_fault_file_page_past_eof_is_sigbus(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long fd = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "eof", 0);
	uint8_t v;
	long a;

	assert_true(fd >= 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_ftruncate, fd, 100), 0);
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, 2 * PG, RW, MAP_SHARED, fd, 0);
	assert_true(a > 0);
	assert_int_equal(mv_user_read(t, a + 200, &v, 1), 0);   /* same page as EOF */
	assert_int_equal(mv_user_read(t, a + PG + 3, &v, 1), -EFAULT);
	mvtest_expect_signal(t, SIGBUS, BUS_ADRERR, a + PG + 3);
	mv_machine_destroy(m);
}

static void test_fault_non_canonical_address_is_sigsegv_si_kernel(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	uint8_t v;

	assert_int_equal(mv_user_read(t, 0x0000800000000000ull, &v, 1), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, 0x80, 0);
	mv_machine_destroy(m);
}

static void test_fault_task_goes_on_after_signal(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = map(t, PG, RW);
	uint8_t v = 9;

	assert_int_equal(mv_user_read(t, 0x10000, &v, 1), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MAPERR, 0x10000);
	assert_int_equal(mv_user_write(t, a, &v, 1), 0);
	v = 0;
	assert_int_equal(mv_user_read(t, a, &v, 1), 0);
	assert_int_equal(v, 9);
	mv_machine_destroy(m);
}

static void test_fault_shared_anonymous_is_zero_filled(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint64_t v = 1;

	assert_true(a > 0);
	assert_int_equal(mv_user_read(t, a + PG, &v, sizeof(v)), 0);
	assert_int_equal(v, 0);
	v = 0x1234;
	assert_int_equal(mv_user_write(t, a + PG, &v, sizeof(v)), 0);
	v = 0;
	assert_int_equal(mv_user_read(t, a + PG, &v, sizeof(v)), 0);
	assert_int_equal(v, 0x1234);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_demand_zero_allocates_on_first_touch),
		cmocka_unit_test(test_fault_unmapped_is_segv_maperr_at_first_bad_byte),
		cmocka_unit_test(test_fault_write_to_prot_read_is_segv_accerr),
		cmocka_unit_test(test_fault_prot_none_read_is_segv_accerr),
		cmocka_unit_test(test_fault_mprotect_read_only_keeps_content),
		cmocka_unit_test(test_fault_write_spanning_read_only_page_changes_nothing),
		cmocka_unit_test(test_fault_file_page_past_eof_is_sigbus),
		cmocka_unit_test(test_fault_non_canonical_address_is_sigsegv_si_kernel),
		cmocka_unit_test(test_fault_task_goes_on_after_signal),
		cmocka_unit_test(test_fault_shared_anonymous_is_zero_filled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
