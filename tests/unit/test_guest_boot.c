/* SPDX-License-Identifier: MIT */
/*
 * The guest kernel's boot: the configurations it refuses (table-driven,
 * with the errno of each row), paging with the protections the CPU has,
 * and Heki's CR pins (SEMANTICS 2: CR0.WP and the CR4 protections the
 * kernel turned on, pinned with KVM_HC_LOCK_CR_UPDATE at the end of boot).
 */
#include "guesttest.h"

#define RAM (8ull << 20)
#define CR0_WP   (1ull << 16)
#define CR4_UMIP (1ull << 11)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)

struct bad_cfg {
	const char *what;
	struct guest_kernel_config cfg;
	long err;
};

static const struct bad_cfg bad_cfgs[] = {
	{ "RAM below 4 MiB", { .ram_bytes = 2ull << 20 }, -EINVAL },
	{ "RAM not whole pages", { .ram_bytes = RAM + 8 }, -EINVAL },
	{ "text below the 4 jump-label pages", { .ram_bytes = RAM, .section_pages = { 3 } },
	  -EINVAL },
	{ "image beyond RAM", { .ram_bytes = 4ull << 20, .section_pages = { 16, 1000 } },
	  -EINVAL },
	{ "RAM beyond 1 TiB", { .ram_bytes = 2ull << 40 }, -EINVAL },
};

static void body_bad(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	(void)k;
	for (size_t i = 0; i < sizeof(bad_cfgs) / sizeof(bad_cfgs[0]); i++) {
		struct guest_kernel *out = NULL;

		GT_EXPECT(t, guest_kernel_boot(g, &bad_cfgs[i].cfg, &out) == bad_cfgs[i].err);
		GT_EXPECT(t, out == NULL);
	}
	GT_EXPECT(t, guest_kernel_boot(NULL, &t->cfg, &k) == -EINVAL);
	GT_EXPECT(t, guest_kernel_boot(g, NULL, &k) == -EINVAL);
	GT_EXPECT(t, guest_kernel_boot(g, &t->cfg, NULL) == -EINVAL);
}

/* bad configurations are refused before anything runs (the test's own kernel boots after) */
static void test_guest_boot_bad_config_refused(void **state)
{
	struct gt t;

	(void)state;
	gt_setup(&t, RAM, false);
	gt_run(&t, body_bad, NULL);
	gt_teardown(&t);
}

struct crs {
	uint64_t cr0, cr4;
	long clear_smep, clear_umip, set_again, clear_unpinned;
};

static void body_crs(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	struct crs *c = t->arg;

	(void)k;
	GT_EXPECT(t, mv_guest_read_cr(g, 0, &c->cr0) == 0);
	GT_EXPECT(t, mv_guest_read_cr(g, 4, &c->cr4) == 0);
	if (c->cr4 & CR4_SMEP)
		c->clear_smep = mv_guest_write_cr(g, 4, c->cr4 & ~CR4_SMEP);
	c->clear_umip = mv_guest_write_cr(g, 4, c->cr4 & ~CR4_UMIP);
	c->set_again = mv_guest_write_cr(g, 4, c->cr4);
	/* the text of the image is fetchable: paging and NX are right */
	GT_EXPECT(t, mv_guest_fetch(g, GK_KERNEL_MAP + GK_IMAGE_PA, 16) == 0);
	GT_EXPECT(t, mv_guest_fetch(g, GK_PAGE_OFFSET + GK_IMAGE_PA, 1) == -EFAULT);
	/* a bit nobody pinned stays free: CR0.NE (5) */
	c->clear_unpinned = mv_guest_write_cr(g, 0, c->cr0 | (1ull << 5));
}

/* with SMEP and SMAP: CR0 PE|WP|PG, CR4 PAE|UMIP|SMEP|SMAP; Heki pins them, the rest is free */
static void test_guest_boot_heki_pins_what_it_enabled(void **state)
{
	struct crs c = { 0 };
	struct gt t;

	(void)state;
	gt_setup(&t, RAM, true);
	gt_run(&t, body_crs, &c);
	assert_int_equal(c.cr0, 0x80010001);
	assert_int_equal(c.cr4, (1ull << 5) | CR4_UMIP | CR4_SMEP | CR4_SMAP);
	assert_int_equal(c.clear_smep, -EFAULT);
	assert_int_equal(c.clear_umip, -EFAULT);
	assert_int_equal(c.set_again, 0);
	assert_int_equal(c.clear_unpinned, 0);
	gt_teardown(&t);
}

/* without Heki nothing is pinned */
static void test_guest_boot_without_heki_nothing_pinned(void **state)
{
	struct crs c = { 0 };
	struct gt t;

	(void)state;
	gt_setup(&t, RAM, false);
	gt_run(&t, body_crs, &c);
	assert_int_equal(c.clear_smep, 0);
	assert_int_equal(c.clear_umip, 0);
	gt_teardown(&t);
}

/* a CPU without SMEP and SMAP: the kernel boots without them and Heki pins UMIP alone */
static void test_guest_boot_heki_without_smep_smap(void **state)
{
	struct crs c = { 0 };
	struct gt t;

	(void)state;
	gt_setup_machine(&t, RAM, true, MV_FEAT_SMEP | MV_FEAT_SMAP);
	gt_run(&t, body_crs, &c);
	assert_int_equal(c.cr4, (1ull << 5) | CR4_UMIP);
	assert_int_equal(c.clear_umip, -EFAULT);
	assert_int_equal(c.set_again, 0);
	gt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_boot_bad_config_refused),
		cmocka_unit_test(test_guest_boot_heki_pins_what_it_enabled),
		cmocka_unit_test(test_guest_boot_without_heki_nothing_pinned),
		cmocka_unit_test(test_guest_boot_heki_without_smep_smap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
