/* SPDX-License-Identifier: MIT */
/*
 * Folio-granular invalidation (one notification per folio, carrying its
 * head and order), 2 MiB folios where the file allows, the split on a
 * partial punch, and the host direct-map model (split on 4 KiB private
 * pages, 2 MiB entry restored when a whole 2 MiB folio goes).
 */
#include "gmemtest.h"

#define GB (1ull << 30)

static int gt_setup_big(void **state)
{
	struct gmemtest *g = test_calloc(1, sizeof(*g));

	gt_setup_ram(g, GB + 64 * GT_MB);
	*state = g;
	return 0;
}

static void test_gmem_notify_1g_punch_is_512_notifications(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, GB, 0);
	struct file *f = gt_file(g, fd);
	struct gmem_stats before;
	struct gt_notifier c;

	gt_notifier_init(&c);
	c.hw = &g->m->hw;
	assert_int_equal(gmem_register_notifier(f, &c.n), 0);
	assert_int_equal(gt_fallocate(g, fd, GT_KEEP, 0, GB), 0);
	assert_int_equal(gt_stats(g).folios_2m, 512);
	assert_int_equal(gt_stats(g).folios_4k, 0);
	assert_int_equal(c.starts, 0);   /* allocation invalidates nothing */
	before = gt_stats(g);
	assert_int_equal(gt_fallocate(g, fd, GT_PUNCH, 0, GB), 0);
	assert_int_equal(c.starts, 512);
	assert_int_equal(c.ends, 512);
	assert_int_equal(c.pages, GB / GT_PG);
	assert_int_equal(c.depth, 0);
	assert_int_equal(c.dead_at_start, 0);   /* told before the folio is freed */
	assert_int_equal(c.last_order, GMEM_HUGE_ORDER);
	assert_int_equal(gt_stats(g).notifications - before.notifications, 512);
	assert_int_equal(gt_stats(g).unmovable_pages, 0);
	/* a punch over holes tells nobody */
	assert_int_equal(gt_fallocate(g, fd, GT_PUNCH, 0, GB), 0);
	assert_int_equal(c.starts, 512);
	gmem_unregister_notifier(f, &c.n);
	file_put(f);
	gt_close(g, fd);
	assert_int_equal(gt_frames_free(g->m), g->free_at_start);
}

static void test_gmem_notify_4k_folios_are_one_notification_each(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, GT_2M - GT_PG, 0);   /* too small for a 2 MiB folio */
	struct file *f = gt_file(g, fd);
	struct gt_notifier c;

	gt_notifier_init(&c);
	assert_int_equal(gmem_register_notifier(f, &c.n), 0);
	assert_int_equal(gt_fallocate(g, fd, GT_KEEP, 0, GT_2M - GT_PG), 0);
	assert_int_equal(gt_stats(g).folios_4k, 511);
	assert_int_equal(gt_fallocate(g, fd, GT_PUNCH, 0, GT_2M), 0);
	assert_int_equal(c.starts, 511);
	assert_int_equal(c.last_order, 0);
	gmem_unregister_notifier(f, &c.n);
	file_put(f);
}

static void test_gmem_notify_get_page_order_follows_alignment(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, GT_2M + GT_PG, 0);
	struct file *f = gt_file(g, fd);
	hw_pfn_t pfn;
	unsigned int order;

	assert_int_equal(gmem_get_page(f, 512, &pfn, &order), 0);   /* the odd tail page */
	assert_int_equal(order, 0);
	hw_folio_put(&g->m->hw, pfn);
	assert_int_equal(gmem_get_page(f, 3, &pfn, &order), 0);
	assert_int_equal(order, GMEM_HUGE_ORDER);
	assert_int_equal(pfn & (GMEM_HUGE_PAGES - 1), 3);   /* the page, inside an aligned folio */
	hw_folio_put(&g->m->hw, pfn);
	assert_int_equal(gmem_get_page(f, 513, &pfn, &order), -EINVAL);   /* past EOF */
	file_put(f);
}

static void test_gmem_notify_partial_punch_splits_the_folio(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, GT_2M, 0);
	struct file *f = gt_file(g, fd);
	struct gt_notifier c;
	hw_pfn_t pfn;
	unsigned int order;

	gt_notifier_init(&c);
	assert_int_equal(gmem_register_notifier(f, &c.n), 0);
	gt_poke(g, f, 0, 1);
	assert_int_equal(gt_fallocate(g, fd, GT_PUNCH, 100 * GT_PG, GT_PG), 0);
	assert_int_equal(c.starts, 1);   /* the whole folio changes shape: one call */
	assert_int_equal(c.last_order, GMEM_HUGE_ORDER);
	assert_int_equal(gt_stats(g).folio_splits, 1);
	assert_int_equal(gt_stats(g).unmovable_pages, 511);
	assert_int_equal(gmem_get_page(f, 101, &pfn, &order), 0);
	assert_int_equal(order, 0);
	hw_folio_put(&g->m->hw, pfn);
	/* the hole refills with a 4 KiB page: the 2 MiB range is no longer empty */
	assert_int_equal(gmem_get_page(f, 100, &pfn, &order), 0);
	assert_int_equal(order, 0);
	hw_folio_put(&g->m->hw, pfn);
	assert_int_equal(gt_peek(g, f, 0), 1);
	gmem_unregister_notifier(f, &c.n);
	file_put(f);
	gt_close(g, fd);
	assert_int_equal(gt_frames_free(g->m), g->free_at_start);
}

static void test_gmem_notify_busy_folio_is_zeroed_not_split(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, GT_2M, 0);
	struct file *f = gt_file(g, fd);
	hw_pfn_t pfn;
	unsigned int order;

	gt_poke(g, f, 5, 0x77);
	assert_int_equal(gmem_get_page(f, 0, &pfn, &order), 0);   /* held by "a vCPU" */
	assert_int_equal(gt_fallocate(g, fd, GT_PUNCH, 5 * GT_PG, GT_PG), 0);
	assert_int_equal(gt_stats(g).folio_splits, 0);
	assert_int_equal(gt_stats(g).split_deferred, 1);
	assert_int_equal(gt_peek(g, f, 5), 0);
	hw_folio_put(&g->m->hw, pfn);
	assert_int_equal(gt_fallocate(g, fd, GT_PUNCH, 0, GT_2M), 0);
	assert_int_equal(gt_stats(g).unmovable_pages, 0);
	file_put(f);
}

static void test_gmem_notify_direct_map_split_and_restore(void **state)
{
	struct gmemtest *g = *state;
	uint64_t entries = gt_stats(g).dmap_2m_entries;
	long big = gt_create(g, GT_2M, 0), small = gt_create(g, GT_PG, 0);
	struct gmem_stats st;

	assert_int_equal(entries, (64 * GT_MB) / GT_2M);
	/* a private 2 MiB folio takes its whole 2 MiB entry, no split */
	assert_int_equal(gt_fallocate(g, big, GT_KEEP, 0, GT_2M), 0);
	st = gt_stats(g);
	assert_int_equal(st.dmap_2m_entries, entries - 1);
	assert_int_equal(st.dmap_4k_splits, 0);
	assert_int_equal(st.dmap_private_pages, 512);
	/* a private 4 KiB page splits the 2 MiB entry around it */
	assert_int_equal(gt_fallocate(g, small, GT_KEEP, 0, GT_PG), 0);
	st = gt_stats(g);
	assert_int_equal(st.dmap_2m_entries, entries - 2);
	assert_int_equal(st.dmap_4k_splits, 1);
	/* the whole 2 MiB folio goes: its 2 MiB entry is restored */
	assert_int_equal(gt_fallocate(g, big, GT_PUNCH, 0, GT_2M), 0);
	st = gt_stats(g);
	assert_int_equal(st.dmap_restores, 1);
	assert_int_equal(st.dmap_2m_entries, entries - 1);
	/* a 4 KiB page freed alone leaves its range split */
	assert_int_equal(gt_fallocate(g, small, GT_PUNCH, 0, GT_PG), 0);
	st = gt_stats(g);
	assert_int_equal(st.dmap_restores, 1);
	assert_int_equal(st.dmap_2m_entries, entries - 1);
	assert_int_equal(st.dmap_private_pages, 0);
	/* a partial punch of a private 2 MiB folio splits its direct-map range */
	assert_int_equal(gt_fallocate(g, big, GT_KEEP, 0, GT_2M), 0);
	assert_int_equal(gt_fallocate(g, big, GT_PUNCH, 0, GT_PG), 0);
	st = gt_stats(g);
	assert_int_equal(st.dmap_4k_splits, 2);
	assert_int_equal(st.dmap_private_pages, 511);
}

int main(void)
{
#define GT(fn) cmocka_unit_test_setup_teardown(fn, gt_setup, gt_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gmem_notify_1g_punch_is_512_notifications,
						gt_setup_big, gt_teardown),
		GT(test_gmem_notify_4k_folios_are_one_notification_each),
		GT(test_gmem_notify_get_page_order_follows_alignment),
		GT(test_gmem_notify_partial_punch_splits_the_folio),
		GT(test_gmem_notify_busy_folio_is_zeroed_not_split),
		GT(test_gmem_notify_direct_map_split_and_restore),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
