/* SPDX-License-Identifier: MIT */
/*
 * The cases of mainline's tools/testing/selftests/mm/madv_populate.c on
 * memvisor's public API (docs/conformance.md has the table). Where the
 * selftest reads /proc/self/pagemap, these count page faults
 * (mv_machine_get_stats): populating N unpopulated pages takes N faults,
 * and touching a populated range takes none.
 */
#include "mvtest.h"

#define PG 4096ull
#define SIZE (2ull << 20)
#define MADV_POPULATE_READ_ 22
#define MADV_POPULATE_WRITE_ 23
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static uint64_t faults(struct mv_machine *m)
{
	struct mv_machine_stats st;

	mv_machine_get_stats(m, &st);
	return st.page_faults;
}

static long madv(struct mv_task *t, uint64_t addr, uint64_t len, int advice)
{
	return MVTEST_SYSCALL(t, MV_SYS_madvise, addr, len, advice);
}

static uint64_t map(struct mv_task *t, uint64_t prot)
{
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, SIZE, prot, ANON, -1, 0);

	assert_true(a > 0);
	return (uint64_t)a;
}

/* sense_support: both advices exist. */
static void test_selftest_madv_populate_sense_support(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	uint64_t a = map(t, PROT_READ | PROT_WRITE);

	assert_int_equal(madv(t, a, PG, MADV_POPULATE_READ_), 0);
	assert_int_equal(madv(t, a, PG, MADV_POPULATE_WRITE_), 0);
	mv_machine_destroy(m);
}

/* test_prot_read */
static void test_selftest_madv_populate_prot_read(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	uint64_t a = map(t, PROT_READ);

	assert_int_equal(madv(t, a, SIZE, MADV_POPULATE_READ_), 0);
	assert_int_equal(madv(t, a, SIZE, MADV_POPULATE_WRITE_), -EINVAL);
	mv_machine_destroy(m);
}

/* test_prot_write */
static void test_selftest_madv_populate_prot_write(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	uint64_t a = map(t, PROT_WRITE);

	assert_int_equal(madv(t, a, SIZE, MADV_POPULATE_READ_), -EINVAL);
	assert_int_equal(madv(t, a, SIZE, MADV_POPULATE_WRITE_), 0);
	mv_machine_destroy(m);
}

/* test_holes: a hole in the middle, at the end, at the beginning: -ENOMEM */
static void test_selftest_madv_populate_holes(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	uint64_t a = map(t, PROT_READ | PROT_WRITE);

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, a + PG, PG), 0);
	for (int adv = MADV_POPULATE_READ_; adv <= MADV_POPULATE_WRITE_; adv++) {
		assert_int_equal(madv(t, a, SIZE, adv), -ENOMEM);
		assert_int_equal(madv(t, a, 2 * PG, adv), -ENOMEM);
		assert_int_equal(madv(t, a + PG, PG, adv), -ENOMEM);
	}
	mv_machine_destroy(m);
}

static void populate(int advice)
{
	static uint8_t buf[SIZE];
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	uint64_t a = map(t, PROT_READ | PROT_WRITE), f = faults(m);

	/* initially not populated: populating faults every page in */
	assert_int_equal(madv(t, a, SIZE, advice), 0);
	assert_int_equal(faults(m) - f, SIZE / PG);
	/* populated: touching it (as the advice allows) faults no more */
	f = faults(m);
	if (advice == MADV_POPULATE_WRITE_)
		assert_int_equal(mv_user_write(t, a, buf, SIZE), 0);
	else
		assert_int_equal(mv_user_read(t, a, buf, SIZE), 0);
	assert_int_equal(faults(m) - f, 0);
	mv_machine_destroy(m);
}

/* test_populate_read */
static void test_selftest_madv_populate_populate_read(void **state)
{
	populate(MADV_POPULATE_READ_);
}

/* test_populate_write */
static void test_selftest_madv_populate_populate_write(void **state)
{
	populate(MADV_POPULATE_WRITE_);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest_madv_populate_sense_support),
		cmocka_unit_test(test_selftest_madv_populate_prot_read),
		cmocka_unit_test(test_selftest_madv_populate_prot_write),
		cmocka_unit_test(test_selftest_madv_populate_holes),
		cmocka_unit_test(test_selftest_madv_populate_populate_read),
		cmocka_unit_test(test_selftest_madv_populate_populate_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
