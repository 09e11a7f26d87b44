/* SPDX-License-Identifier: MIT */
/* The machine and its buddy allocator. */
#include <string.h>

#include "mvtest.h"
#include "hw/phys.h"
#include "lib/alloc.h"

#define RAM (8ull << 20)        /* 2048 frames: 4 max-order blocks */

static void machine_up(struct hw_machine *m, uint64_t ram)
{
	struct hw_machine_config cfg = { .ram_bytes = ram, .features = MV_FEAT_ALL, .seed = 1 };

	assert_int_equal(hw_machine_init(m, &cfg), 0);
}

/* Free frames counted three ways must agree. */
static void check_invariants(struct hw_machine *m)
{
	struct hw_phys *p = &m->phys;
	uint64_t listed = 0;

	for (unsigned int o = 0; o <= HW_MAX_ORDER; o++) {
		uint64_t n = 0;

		for (uint32_t pfn = p->free_head[o]; pfn; pfn = p->frames[pfn].buddy.next) {
			struct hw_frame *f = &p->frames[pfn];

			assert_true(f->flags & HW_FRAME_FREE);
			assert_int_equal(hw_frame_order(f), o);
			assert_int_equal(pfn & ((1u << o) - 1), 0);
			n++;
		}
		assert_int_equal(n, p->nr_free[o]);
		listed += n << o;
	}
	assert_int_equal(listed + (p->nr_frames - p->carve_pfn), hw_phys_free_frames(m));
}

static void test_phys_machine_config_rejected(void **state)
{
	static const struct {
		uint64_t ram, features;
		uint32_t abi;
	} rows[] = {
		{ 0, 0, 0 },
		{ 2ull << 20, 0, 0 },                    /* below 4 MiB */
		{ (4ull << 20) + 4096, 0, 0 },           /* not a 2 MiB multiple */
		{ (1ull << 40) + (2ull << 20), 0, 0 },   /* past 1 TiB */
		{ 8ull << 20, 1ull << 40, 0 },           /* unknown feature */
		{ 8ull << 20, 0, 7 },                    /* unknown ABI */
	};
	struct hw_machine m;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hw_machine_config cfg = {
			.ram_bytes = rows[i].ram, .features = rows[i].features, .abi = rows[i].abi,
		};

		assert_int_equal(hw_machine_init(&m, &cfg), -EINVAL);
	}
}

static void test_phys_machine_large_ram_is_lazy(void **state)
{
	struct hw_machine m;

	(void)state;
	machine_up(&m, 64ull << 30);
	assert_int_equal(hw_phys_free_frames(&m), m.phys.nr_frames - 1);
	check_invariants(&m);
	hw_machine_fini(&m);
}

static void test_phys_frame_metadata_is_16_bytes(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct hw_frame), 16);
}

static void test_phys_pfn0_reserved(void **state)
{
	struct hw_machine m;
	hw_pfn_t pfn;

	(void)state;
	machine_up(&m, RAM);
	assert_true(hw_frame(&m, 0)->flags & HW_FRAME_RESERVED);
	assert_false(hw_pfn_valid(&m, 0));
	for (int i = 0; i < 600; i++) {
		assert_int_equal(hw_frames_alloc(&m, 0, 0, 0, &pfn), 0);
		assert_int_not_equal(pfn, 0);
	}
	hw_machine_fini(&m);
}

static void test_phys_alloc_alignment_and_flags(void **state)
{
	struct hw_machine m;

	(void)state;
	machine_up(&m, RAM);
	for (unsigned int o = 0; o <= HW_MAX_ORDER; o++) {
		hw_pfn_t pfn;
		struct hw_frame *h;

		assert_int_equal(hw_frames_alloc(&m, o, 0, HW_FRAME_ANON, &pfn), 0);
		assert_int_equal(pfn & ((1ull << o) - 1), 0);
		h = hw_frame(&m, pfn);
		assert_int_equal(h->flags, HW_FRAME_HEAD | HW_FRAME_ANON | (o << HW_FRAME_ORDER_SHIFT));
		assert_int_equal(h->refcount, 1);
		for (uint64_t i = 1; i < (1ull << o); i++) {
			assert_true(hw_frame(&m, pfn + i)->flags & HW_FRAME_TAIL);
			assert_int_equal(hw_folio_head(&m, pfn + i), pfn);
		}
		check_invariants(&m);
	}
	hw_machine_fini(&m);
}

static void test_phys_split_and_merge_restore_free_lists(void **state)
{
	struct hw_machine m;
	uint64_t before_free;
	uint64_t before_lists[HW_MAX_ORDER + 1];
	hw_pfn_t pfns[64];

	(void)state;
	machine_up(&m, RAM);
	/* Carve everything first so the lists alone describe free memory. */
	for (int i = 0; i < 3; i++) {
		hw_pfn_t big;

		assert_int_equal(hw_frames_alloc(&m, HW_MAX_ORDER, 0, 0, &big), 0);
		hw_frames_free(&m, big, HW_MAX_ORDER);
	}
	before_free = hw_phys_free_frames(&m);
	memcpy(before_lists, m.phys.nr_free, sizeof(before_lists));
	for (int i = 0; i < 64; i++)
		assert_int_equal(hw_frames_alloc(&m, (unsigned int)(i % 4), 0, 0, &pfns[i]), 0);
	assert_true(m.phys.stats.splits > 0);
	check_invariants(&m);
	for (int i = 63; i >= 0; i--)
		hw_frames_free(&m, pfns[i], (unsigned int)(i % 4));
	check_invariants(&m);
	assert_true(m.phys.stats.merges > 0);
	assert_int_equal(hw_phys_free_frames(&m), before_free);
	assert_memory_equal(before_lists, m.phys.nr_free, sizeof(before_lists));
	hw_machine_fini(&m);
}

static void test_phys_exhaustion_then_recovery(void **state)
{
	struct hw_machine m;
	static hw_pfn_t pfns[2048];
	unsigned int n = 0;
	hw_pfn_t pfn;

	(void)state;
	machine_up(&m, RAM);
	while (hw_frames_alloc(&m, 0, 0, 0, &pfn) == 0)
		pfns[n++] = pfn;
	assert_int_equal(n, m.phys.nr_frames - 1);
	assert_int_equal(hw_phys_free_frames(&m), 0);
	assert_int_equal(hw_frames_alloc(&m, 0, 0, 0, &pfn), -ENOMEM);
	assert_true(m.phys.stats.alloc_failures >= 2);
	for (unsigned int i = 0; i < n; i++)
		hw_frames_free(&m, pfns[i], 0);
	check_invariants(&m);
	assert_int_equal(hw_phys_free_frames(&m), m.phys.nr_frames - 1);
	/* Everything merged back: the whole of RAM but block 0 is max order. */
	assert_int_equal(m.phys.nr_free[HW_MAX_ORDER], (m.phys.nr_frames >> HW_MAX_ORDER) - 1);
	hw_machine_fini(&m);
}

static void test_phys_alloc_rejects_bad_arguments(void **state)
{
	static const struct {
		unsigned int order, alloc_flags;
		uint32_t frame_flags;
	} rows[] = {
		{ HW_MAX_ORDER + 1, 0, 0 },
		{ 0, 1u << 5, 0 },
		{ 0, 0, HW_FRAME_FREE },
		{ 0, 0, HW_FRAME_TAIL },
		{ 0, 0, 3u << HW_FRAME_ORDER_SHIFT },
	};
	struct hw_machine m;
	hw_pfn_t pfn;

	(void)state;
	machine_up(&m, RAM);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(hw_frames_alloc(&m, rows[i].order, rows[i].alloc_flags,
						 rows[i].frame_flags, &pfn), -EINVAL);
	hw_machine_fini(&m);
}

static void test_phys_alloc_zero_clears_reused_memory(void **state)
{
	struct hw_machine m;
	static const uint8_t zero[4096];

	(void)state;
	machine_up(&m, RAM);
	for (unsigned int o = 0; o <= HW_MAX_ORDER; o += 3) {
		hw_pfn_t pfn, again;
		uint8_t *p;

		assert_int_equal(hw_frames_alloc(&m, o, 0, 0, &pfn), 0);
		memset(hw_pfn_to_host(&m, pfn), 0xa5, HW_PAGE_SIZE << o);
		hw_frames_free(&m, pfn, o);
		assert_int_equal(hw_frames_alloc(&m, o, HW_ALLOC_ZERO, 0, &again), 0);
		assert_int_equal(again, pfn);      /* LIFO reuse: the dirty block */
		p = hw_pfn_to_host(&m, again);
		for (uint64_t i = 0; i < (1ull << o); i++)
			assert_memory_equal(p + i * HW_PAGE_SIZE, zero, sizeof(zero));
		hw_frames_free(&m, again, o);
	}
	hw_machine_fini(&m);
}

static void test_phys_fail_injection_returns_enomem(void **state)
{
	struct hw_machine m;
	uint64_t before;
	hw_pfn_t pfn;

	(void)state;
	machine_up(&m, RAM);
	before = hw_phys_free_frames(&m);
	lib_fail_after(1);
	assert_int_equal(hw_frames_alloc(&m, 0, 0, 0, &pfn), -ENOMEM);
	assert_int_equal(hw_phys_free_frames(&m), before);
	assert_int_equal(hw_frames_alloc(&m, 0, 0, 0, &pfn), 0);
	hw_frames_free(&m, pfn, 0);
	check_invariants(&m);
	hw_machine_fini(&m);
}

static void test_phys_folio_refcount_last_put_frees(void **state)
{
	struct hw_machine m;
	uint64_t before;
	hw_pfn_t pfn;

	(void)state;
	machine_up(&m, RAM);
	before = hw_phys_free_frames(&m);
	assert_int_equal(hw_frames_alloc(&m, 2, 0, 0, &pfn), 0);
	hw_folio_get(&m, pfn + 3);                 /* through a tail */
	assert_int_equal(hw_folio_refcount(&m, pfn + 1), 2);
	hw_folio_put(&m, pfn);
	assert_int_equal(hw_phys_free_frames(&m), before - 4);
	hw_folio_put(&m, pfn + 2);
	assert_int_equal(hw_phys_free_frames(&m), before);
	check_invariants(&m);
	hw_machine_fini(&m);
}

static void test_phys_folio_split_gives_order0_folios(void **state)
{
	struct hw_machine m;
	uint64_t before;
	hw_pfn_t pfn;

	(void)state;
	machine_up(&m, RAM);
	before = hw_phys_free_frames(&m);
	assert_int_equal(hw_frames_alloc(&m, 3, 0, HW_FRAME_ANON, &pfn), 0);
	hw_folio_split(&m, pfn);
	for (int i = 0; i < 8; i++) {
		struct hw_frame *f = hw_frame(&m, pfn + (hw_pfn_t)i);

		assert_int_equal(f->flags, HW_FRAME_HEAD | HW_FRAME_ANON);
		assert_int_equal(hw_folio_head(&m, pfn + (hw_pfn_t)i), pfn + (hw_pfn_t)i);
		assert_int_equal(hw_folio_refcount(&m, pfn + (hw_pfn_t)i), 1);
	}
	for (int i = 7; i >= 0; i--)
		hw_folio_put(&m, pfn + (hw_pfn_t)i);
	assert_int_equal(hw_phys_free_frames(&m), before);
	check_invariants(&m);
	hw_machine_fini(&m);
}

static void test_phys_random_alloc_free_keeps_invariants(void **state)
{
	struct hw_machine m;
	struct lib_prng prng;
	static struct { hw_pfn_t pfn; unsigned int order; } live[256];
	unsigned int n = 0;
	uint64_t start;

	(void)state;
	machine_up(&m, RAM);
	start = hw_phys_free_frames(&m);
	lib_prng_seed(&prng, mvtest_seed());
	for (int step = 0; step < 4000; step++) {
		if (n < 256 && (n == 0 || lib_prng_below(&prng, 2))) {
			unsigned int o = (unsigned int)lib_prng_below(&prng, 6);

			if (hw_frames_alloc(&m, o, 0, 0, &live[n].pfn) == 0)
				live[n++].order = o;
		} else {
			unsigned int i = (unsigned int)lib_prng_below(&prng, n);

			hw_frames_free(&m, live[i].pfn, live[i].order);
			live[i] = live[--n];
		}
		if (step % 500 == 0)
			check_invariants(&m);
	}
	while (n) {
		n--;
		hw_frames_free(&m, live[n].pfn, live[n].order);
	}
	check_invariants(&m);
	assert_int_equal(hw_phys_free_frames(&m), start);
	hw_machine_fini(&m);
}

static void test_phys_shootdown_bumps_generation(void **state)
{
	struct hw_machine m;
	uint64_t g;

	(void)state;
	machine_up(&m, RAM);
	g = m.tlb_gen;
	hw_tlb_shootdown(&m);
	assert_int_equal(m.tlb_gen, g + 1);
	hw_machine_fini(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phys_machine_config_rejected),
		cmocka_unit_test(test_phys_machine_large_ram_is_lazy),
		cmocka_unit_test(test_phys_frame_metadata_is_16_bytes),
		cmocka_unit_test(test_phys_pfn0_reserved),
		cmocka_unit_test(test_phys_alloc_alignment_and_flags),
		cmocka_unit_test(test_phys_split_and_merge_restore_free_lists),
		cmocka_unit_test(test_phys_exhaustion_then_recovery),
		cmocka_unit_test(test_phys_alloc_rejects_bad_arguments),
		cmocka_unit_test(test_phys_alloc_zero_clears_reused_memory),
		cmocka_unit_test(test_phys_fail_injection_returns_enomem),
		cmocka_unit_test(test_phys_folio_refcount_last_put_frees),
		cmocka_unit_test(test_phys_folio_split_gives_order0_folios),
		cmocka_unit_test(test_phys_random_alloc_free_keeps_invariants),
		cmocka_unit_test(test_phys_shootdown_bumps_generation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
