/* SPDX-License-Identifier: MIT */
/*
 * mv_machine_get_stats reports MTE's cost per frame: 128 bytes of tag
 * storage per 4 KiB frame with MTE (4 bits per 16-byte granule), none
 * without, and the tag storage resident on the host, which grows only as
 * tags are used (lazily backed, like RAM).
 */
#include "mvtest.h"

#define PG 4096ull
#define TAG(p, t) (((uint64_t)(p) & ~(0xfull << 56)) | ((uint64_t)(t) << 56))

static struct mv_machine_stats stats_of(struct mv_machine *m)
{
	struct mv_machine_stats s;

	mv_machine_get_stats(m, &s);
	return s;
}

static void test_stats_tag_bytes_per_frame_with_and_without_mte(void **state)
{
	struct mv_machine_config off = { .features_off = MV_FEAT_MTE };
	struct mv_machine *m;

	(void)state;
	assert_int_equal(mv_machine_create(NULL, &m), 0);
	assert_int_equal(stats_of(m).frame_tag_bytes, 128);
	assert_int_equal(stats_of(m).frame_meta_bytes, 16);
	mv_machine_destroy(m);
	assert_int_equal(mv_machine_create(&off, &m), 0);
	assert_int_equal(stats_of(m).frame_tag_bytes, 0);
	assert_int_equal(stats_of(m).host_tag_resident_bytes, 0);
	mv_machine_destroy(m);
}

static void test_stats_tag_storage_resident_grows_with_use(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	uint64_t before = stats_of(m).host_tag_resident_bytes;
	long a;

	(void)state;
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_prctl, PR_SET_TAGGED_ADDR_CTRL,
					PR_TAGGED_ADDR_ENABLE, 0, 0, 0), 0);
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, 256 * PG, PROT_READ | PROT_WRITE | PROT_MTE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(a > 0);
	for (uint64_t off = 0; off < 256 * PG; off += PG)
		assert_int_equal(mv_user_set_tag(t, TAG((uint64_t)a + off, 5)), 0);
	/* 256 tagged frames hold 32 KiB of tags: at least that much became resident */
	assert_true(stats_of(m).host_tag_resident_bytes >= before + 256 * 128);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stats_tag_bytes_per_frame_with_and_without_mte),
		cmocka_unit_test(test_stats_tag_storage_resident_grows_with_use),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
