/* SPDX-License-Identifier: MIT */
/*
 * The machine's MTE (SEMANTICS 5, src/hw/mte.h): one 4-bit tag per
 * 16-byte granule, the per-frame tagged flag with try_page_mte_tagging's
 * rules, dropped on free; top-byte ignore keeping the 4-level canonical
 * check on bits 55:47; tag checks on the one MMU path in every mode, and
 * a TLB whose one-compare fast path never takes a checked page.
 */
#include "hwtest.h"
#include "hw/mte.h"
#include "hw/ram.h"

#define VA 0x40000000ull
#define TAG(p, t) (((uint64_t)(p) & ~(0xfull << 56)) | ((uint64_t)(t) << 56))

static void test_tag_storage_one_tag_per_granule_neighbours_untouched(void **state)
{
	struct hwt t;
	uint64_t pa;
	uint8_t tags[HW_MTE_TAGS_PER_PAGE];

	hwt_up(&t, MV_FEAT_ALL);
	assert_true(hw_mte_present(&t.m));
	pa = hwt_frame(&t);
	for (unsigned int g = 0; g < HW_MTE_TAGS_PER_PAGE; g++)
		hw_mte_set_tag(&t.m, pa + 16 * g + (g % 16), g & 0xf);
	for (unsigned int g = 0; g < HW_MTE_TAGS_PER_PAGE; g++)
		assert_int_equal(hw_mte_get_tag(&t.m, pa + 16 * g + 15), g & 0xf);
	hw_mte_read_page(&t.m, pa >> HW_PAGE_SHIFT, tags);
	assert_int_equal(tags[17], 1);
	tags[17] = 0xf9;                   /* the high nibble is no tag */
	hw_mte_write_page(&t.m, pa >> HW_PAGE_SHIFT, tags);
	assert_int_equal(hw_mte_get_tag(&t.m, pa + 17 * 16), 9);
	assert_int_equal(hw_mte_get_tag(&t.m, pa + 16 * 16), 0);
	hw_mte_clear_page(&t.m, pa >> HW_PAGE_SHIFT);
	assert_int_equal(hw_mte_get_tag(&t.m, pa + 17 * 16), 0);
	hwt_down(&t);
	/* without the feature there is no storage: tags read 0, writes are ignored */
	hwt_up(&t, MV_FEAT_ALL & ~MV_FEAT_MTE);
	assert_false(hw_mte_present(&t.m));
	pa = hwt_frame(&t);
	hw_mte_set_tag(&t.m, pa, 5);
	assert_int_equal(hw_mte_get_tag(&t.m, pa), 0);
	hwt_down(&t);
}

static void test_tagged_flag_try_once_and_dropped_when_freed(void **state)
{
	struct hwt t;
	hw_pfn_t pfn, src, dst;

	hwt_up(&t, MV_FEAT_ALL);
	pfn = hwt_frame(&t) >> HW_PAGE_SHIFT;
	assert_false(hw_mte_page_tagged(&t.m, pfn));
	assert_true(hw_mte_try_tagging(&t.m, pfn));
	hw_mte_set_tag(&t.m, pfn << HW_PAGE_SHIFT, 7);
	hw_mte_set_tagged(&t.m, pfn);
	assert_true(hw_mte_page_tagged(&t.m, pfn));
	assert_false(hw_mte_try_tagging(&t.m, pfn));           /* already done: wait, then no */
	assert_false(hw_mte_sanitise_page(&t.m, pfn));         /* a tagged page keeps its tags */
	assert_int_equal(hw_mte_get_tag(&t.m, pfn << HW_PAGE_SHIFT), 7);
	/* copy_highpage: tags follow a tagged page, never an untagged one */
	dst = hwt_frame(&t) >> HW_PAGE_SHIFT;
	hw_ram_copy_page(&t.m, dst, pfn);
	assert_true(hw_mte_page_tagged(&t.m, dst));
	assert_int_equal(hw_mte_get_tag(&t.m, dst << HW_PAGE_SHIFT), 7);
	src = hwt_frame(&t) >> HW_PAGE_SHIFT;
	hw_mte_set_tag(&t.m, src << HW_PAGE_SHIFT, 3);           /* stale: not published */
	dst = hwt_frame(&t) >> HW_PAGE_SHIFT;
	hw_ram_copy_page(&t.m, dst, src);
	assert_false(hw_mte_page_tagged(&t.m, dst));
	/* freed and reallocated: untagged again, and the first sanitise clears */
	hw_frames_free(&t.m, pfn, 0);
	assert_int_equal(hw_frames_alloc(&t.m, 0, 0, 0, &src), 0);
	assert_int_equal(src, pfn);
	assert_false(hw_mte_page_tagged(&t.m, src));
	assert_true(hw_mte_sanitise_page(&t.m, src));
	assert_int_equal(hw_mte_get_tag(&t.m, src << HW_PAGE_SHIFT), 0);
	assert_true(hw_mte_page_tagged(&t.m, src));
	hwt_down(&t);
}

static void test_folio_split_keeps_each_frames_tagged_flag(void **state)
{
	struct hwt t;
	hw_pfn_t head;

	hwt_up(&t, MV_FEAT_ALL);
	assert_int_equal(hw_frames_alloc(&t.m, 9, 0, HW_FRAME_ANON, &head), 0);
	hw_mte_set_tag(&t.m, (head + 1) << HW_PAGE_SHIFT, 0xe);    /* stale, never published */
	assert_true(hw_mte_sanitise_page(&t.m, head));
	hw_mte_set_tag(&t.m, (head + 2) << HW_PAGE_SHIFT, 6);
	assert_true(hw_mte_try_tagging(&t.m, head + 2));
	hw_mte_set_tagged(&t.m, head + 2);
	hw_folio_split(&t.m, head);
	assert_true(hw_mte_page_tagged(&t.m, head));
	assert_false(hw_mte_page_tagged(&t.m, head + 1));          /* not the head's flag */
	assert_true(hw_frame_flags(&t.m, head + 1) & HW_FRAME_ANON);
	assert_true(hw_mte_page_tagged(&t.m, head + 2));           /* its own flag kept */
	assert_int_equal(hw_mte_get_tag(&t.m, (head + 2) << HW_PAGE_SHIFT), 6);
	assert_true(hw_mte_sanitise_page(&t.m, head + 1));
	assert_int_equal(hw_mte_get_tag(&t.m, (head + 1) << HW_PAGE_SHIFT), 0);
	hwt_down(&t);
}

/* A user page of tagged memory (X86_PTE_MTE) at VA, a CPU at CPL 3. */
static uint64_t tagged_page(struct hwt *t, uint64_t extra)
{
	uint64_t pa = hwt_frame(t);

	hwt_map(t, VA, pa, X86_PTE_P | X86_PTE_RW | X86_PTE_US | X86_PTE_A | X86_PTE_D | extra);
	t->cpu.cpl = 3;
	return pa;
}

static void test_tbi_keeps_the_canonical_check_on_bits_55_47(void **state)
{
	struct hwt t;
	struct hw_xlate x;
	struct hw_fault f;

	hwt_up(&t, MV_FEAT_ALL);
	tagged_page(&t, 0);
	/* without top-byte ignore a tag makes the address non-canonical */
	assert_int_equal(hw_mmu_translate(&t.cpu, TAG(VA, 5), HW_ACC_READ, &x, &f), -EFAULT);
	assert_int_equal(f.kind, HW_FAULT_GP);
	hw_cpu_set_mte(&t.cpu, HW_MTE_TCF_NONE, true);
	assert_int_equal(hw_mmu_translate(&t.cpu, TAG(VA, 5), HW_ACC_READ, &x, &f), 0);
	assert_int_equal(x.pa & 0xfff, 0);
	assert_int_equal(hw_mmu_translate(&t.cpu, TAG(VA, 0xf) | (0xfull << 60), HW_ACC_READ, &x, &f),
			 0);
	/* bits 55:47 still have to agree: bit 55 alone is non-canonical */
	assert_int_equal(hw_mmu_translate(&t.cpu, VA | (1ull << 55), HW_ACC_READ, &x, &f), -EFAULT);
	assert_int_equal(f.kind, HW_FAULT_GP);
	assert_int_equal(hw_mmu_translate(&t.cpu, VA | (1ull << 50), HW_ACC_READ, &x, &f), -EFAULT);
	assert_int_equal(f.kind, HW_FAULT_GP);
	/* a #PF reports the untagged address */
	assert_int_equal(hw_mmu_translate(&t.cpu, TAG(VA + 0x100000, 3), HW_ACC_READ, &x, &f),
			 -EFAULT);
	assert_int_equal(f.kind, HW_FAULT_PF);
	assert_int_equal(f.addr, VA + 0x100000);
	hwt_down(&t);
}

static void test_tag_check_modes_sync_async_asymm_none(void **state)
{
	static const struct { unsigned int tcf; bool write; int ret; bool tfsr; } rows[] = {
		{ HW_MTE_TCF_SYNC, false, -EFAULT, false },
		{ HW_MTE_TCF_SYNC, true, -EFAULT, false },
		{ HW_MTE_TCF_ASYNC, false, 0, true },
		{ HW_MTE_TCF_ASYNC, true, 0, true },
		{ HW_MTE_TCF_ASYMM, false, -EFAULT, false },
		{ HW_MTE_TCF_ASYMM, true, 0, true },
		{ HW_MTE_TCF_NONE, true, 0, false },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hwt t;
		struct hw_fault f;
		uint64_t pa, v[2] = { 0x1111, 0x2222 }, back = 0, back2[2];
		int r;

		hwt_up(&t, MV_FEAT_ALL);
		pa = tagged_page(&t, X86_PTE_MTE);
		hw_mte_set_tag(&t.m, pa + 0x20, 2);
		hw_cpu_set_mte(&t.cpu, rows[i].tcf, true);
		r = rows[i].write ? hw_mmu_write(&t.cpu, TAG(VA + 0x18, 2), v, 16, HW_ACC_WRITE, &f)
				  : hw_mmu_read(&t.cpu, TAG(VA + 0x18, 2), &back, 8, HW_ACC_READ, &f);
		assert_int_equal(r, rows[i].ret);
		assert_int_equal(t.cpu.mte_tfsr, rows[i].tfsr);
		if (r) {
			assert_int_equal(f.kind, HW_FAULT_MTE);
			assert_int_equal(f.addr, TAG(VA + 0x18, 2));    /* granule 1: tag 0 */
			assert_int_equal(f.gla, VA + 0x18);
			assert_int_equal(f.error_code, rows[i].write ? X86_PF_W : 0);
			memcpy(&back, hw_pa_to_host(&t.m, pa + 0x18), 8);
			assert_int_equal(back, 0);                     /* nothing written */
		}
		/* the matching tag always passes; the first mismatching byte is reported */
		assert_int_equal(hw_mmu_read(&t.cpu, TAG(VA + 0x20, 2), &back, 8, HW_ACC_READ, &f), 0);
		if (rows[i].tcf == HW_MTE_TCF_SYNC) {
			assert_int_equal(hw_mmu_read(&t.cpu, TAG(VA + 0x28, 2), back2, 16, HW_ACC_READ,
						     &f), -EFAULT);
			assert_int_equal(f.gla, VA + 0x30);
		}
		assert_int_equal(hw_mte_take_async(&t.cpu), rows[i].tfsr);
		assert_false(t.cpu.mte_tfsr);
		hwt_down(&t);
	}
}

static void test_tlb_fast_path_never_takes_a_checked_page(void **state)
{
	struct hwt t;
	struct hw_xlate x;
	struct hw_fault f;
	void *host;
	uint64_t pa;

	hwt_up(&t, MV_FEAT_ALL);
	pa = tagged_page(&t, X86_PTE_MTE);
	hw_cpu_set_mte(&t.cpu, HW_MTE_TCF_SYNC, true);
	assert_int_equal(hw_mmu_translate(&t.cpu, VA, HW_ACC_READ, &x, &f), 0);
	assert_true(x.mte_check);
	assert_true(x.tagged);
	hw_tlb_sync(&t.cpu);
	assert_false(hw_tlb_hit_rw(&t.cpu, VA, false, &host));   /* the one compare misses */
	assert_true(hw_mte_tlb_hit_rw(&t.cpu, VA, false, 8, &host));
	assert_ptr_equal(host, hw_pa_to_host(&t.m, pa));
	hw_mte_set_tag(&t.m, pa, 4);
	assert_false(hw_mte_tlb_hit_rw(&t.cpu, VA, false, 8, &host)); /* mismatch: the slow path */
	/* checks off: the same page is an ordinary one-compare hit */
	hw_cpu_set_mte(&t.cpu, HW_MTE_TCF_NONE, true);
	assert_int_equal(hw_mmu_translate(&t.cpu, VA, HW_ACC_READ, &x, &f), 0);
	assert_false(x.mte_check);
	assert_true(x.tagged);
	hw_tlb_sync(&t.cpu);
	assert_true(hw_tlb_hit_rw(&t.cpu, VA, false, &host));
	/* a supervisor access to a tagged user page is never checked */
	hw_cpu_set_mte(&t.cpu, HW_MTE_TCF_SYNC, true);
	t.cpu.cpl = 0;
	t.cpu.rflags_ac = true;
	assert_int_equal(hw_mmu_translate(&t.cpu, VA, HW_ACC_READ, &x, &f), 0);
	assert_false(x.mte_check);
	hwt_down(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tag_storage_one_tag_per_granule_neighbours_untouched),
		cmocka_unit_test(test_tagged_flag_try_once_and_dropped_when_freed),
		cmocka_unit_test(test_folio_split_keeps_each_frames_tagged_flag),
		cmocka_unit_test(test_tbi_keeps_the_canonical_check_on_bits_55_47),
		cmocka_unit_test(test_tag_check_modes_sync_async_asymm_none),
		cmocka_unit_test(test_tlb_fast_path_never_takes_a_checked_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
