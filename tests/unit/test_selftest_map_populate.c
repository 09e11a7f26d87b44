/* SPDX-License-Identifier: MIT */
/*
 * The case of mainline's tools/testing/selftests/mm/map_populate.c on
 * memvisor's public API (docs/conformance.md has the table): a child's
 * MAP_PRIVATE | MAP_POPULATE mapping of a file copies its pages at once,
 * so a later write to the file through the parent's shared mapping does
 * not show through. The file is a memfd (the selftest's tmpfile).
 */
#include "mvtest.h"

#define MMAP_SZ 4096ull

static void test_selftest_map_populate_cow_private_page(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m), *c = NULL;
	uint64_t v = 0xdeadbabe, got = 0;
	long fd, smap, cmap;

	fd = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "map_populate", 0);
	assert_true(fd >= 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_ftruncate, fd, MMAP_SZ), 0);
	smap = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, MMAP_SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(smap > 0);
	assert_int_equal(mv_user_write(t, (uint64_t)smap, &v, sizeof(v)), 0);
	assert_int_equal(mv_task_clone(t, 0, &c), 0);
	/* child_f */
	cmap = MVTEST_SYSCALL(c, MV_SYS_mmap, 0, MMAP_SZ, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_POPULATE, fd, 0);
	assert_true(cmap > 0);
	assert_int_equal(mv_user_read(c, (uint64_t)cmap, &got, sizeof(got)), 0);
	assert_int_equal(got, 0xdeadbabe);
	/* parent_f */
	v = 0x22222BAD;
	assert_int_equal(mv_user_write(t, (uint64_t)smap, &v, sizeof(v)), 0);
	/* child: "MAP_POPULATE COW private page" and "The mapping state" */
	assert_int_equal(mv_user_read(c, (uint64_t)cmap, &got, sizeof(got)), 0);
	assert_true(got != 0x22222BAD);
	assert_int_equal(got, 0xdeadbabe);
	mv_task_exit(c);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest_map_populate_cow_private_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
