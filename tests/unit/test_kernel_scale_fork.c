/* SPDX-License-Identifier: MIT */
/*
 * Scale: 10,000 tasks forked and exited leak nothing: every child writes
 * its copy-on-write pages and exits, and the machine's free frames, page
 * tables and host-resident memory come back to where they were.
 */
#include "mvtest.h"

#define SCALE_FORKS 10000
#define SCALE_PAGES 8
#define PG 4096ull

static void test_scale_ten_thousand_forks_leak_nothing(void **state)
{
	struct mv_machine *m;
	struct mv_task *parent = mvtest_task(&m), *child;
	struct mv_machine_stats before, after;
	uint64_t buf, v;
	long a;

	(void)state;
	a = MVTEST_SYSCALL(parent, MV_SYS_mmap, 0, SCALE_PAGES * PG, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(a > 0);
	buf = (uint64_t)a;
	for (uint64_t p = 0; p < SCALE_PAGES; p++) {
		v = p;
		assert_int_equal(mv_user_write(parent, buf + p * PG, &v, sizeof(v)), 0);
	}
	mv_machine_get_stats(m, &before);
	for (int i = 0; i < SCALE_FORKS; i++) {
		assert_int_equal(mv_task_clone(parent, 0, &child), 0);
		/* the child breaks COW on one page and sees the parent's data on another */
		v = (uint64_t)i;
		assert_int_equal(mv_user_write(child, buf + (uint64_t)(i % SCALE_PAGES) * PG, &v,
					       sizeof(v)), 0);
		assert_int_equal(mv_user_read(child, buf + (uint64_t)((i + 1) % SCALE_PAGES) * PG, &v,
					      sizeof(v)), 0);
		assert_int_equal(v, (uint64_t)((i + 1) % SCALE_PAGES));
		mv_task_exit(child);
	}
	mv_machine_get_stats(m, &after);
	assert_int_equal(after.frames_free, before.frames_free);
	assert_int_equal(after.pgtable_bytes, before.pgtable_bytes);
	assert_true(after.host_resident_bytes <= before.host_resident_bytes + (2ull << 20));
	/* the parent's pages are its own still */
	for (uint64_t p = 0; p < SCALE_PAGES; p++) {
		assert_int_equal(mv_user_read(parent, buf + p * PG, &v, sizeof(v)), 0);
		assert_int_equal(v, p);
	}
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scale_ten_thousand_forks_leak_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
