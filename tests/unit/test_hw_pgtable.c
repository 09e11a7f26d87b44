/* SPDX-License-Identifier: MIT */
/* Page-table formats and table management. */
#include <string.h>

#include "mvtest.h"
#include "hw/pgtable.h"
#include "lib/alloc.h"

static void machine_up(struct hw_machine *m)
{
	struct hw_machine_config cfg = { .ram_bytes = 16ull << 20, .features = MV_FEAT_ALL };

	assert_int_equal(hw_machine_init(m, &cfg), 0);
}

static void test_pgtable_x86_encode_decode_round_trip(void **state)
{
	static const struct {
		unsigned int perms;
		bool writable, user, nx, dirty, accessed, shstk;
	} rows[] = {
		{ 0, false, false, true, false, false, false },
		{ HW_S1_WRITE, true, false, true, false, false, false },
		{ HW_S1_WRITE | HW_S1_USER | HW_S1_EXEC, true, true, false, false, false, false },
		{ HW_S1_USER | HW_S1_DIRTY, false, true, true, true, false, true },
		{ HW_S1_SHSTK | HW_S1_USER, false, true, true, true, false, true },
		{ HW_S1_SHSTK | HW_S1_WRITE, false, false, true, true, false, true },
		{ HW_S1_WRITE | HW_S1_DIRTY | HW_S1_ACCESSED, true, false, true, true, true, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t pa = 0x123456000ull;
		uint64_t pte = x86_pte_encode(pa, rows[i].perms);
		struct x86_pte_view v = x86_pte_decode(pte);

		assert_int_equal(v.pa, pa);
		assert_true(v.present);
		assert_int_equal(v.writable, rows[i].writable);
		assert_int_equal(v.user, rows[i].user);
		assert_int_equal(v.nx, rows[i].nx);
		assert_int_equal(v.dirty, rows[i].dirty);
		assert_int_equal(v.accessed, rows[i].accessed);
		assert_int_equal(v.shstk, rows[i].shstk);
		assert_false(v.large);
	}
}

static void test_pgtable_x86_bits_are_architectural(void **state)
{
	(void)state;
	assert_int_equal(x86_pte_encode(0x5000, HW_S1_WRITE | HW_S1_USER | HW_S1_EXEC),
			 0x5000 | 0x7);
	assert_int_equal(x86_pte_encode(0x5000, HW_S1_SHSTK | HW_S1_EXEC), 0x5000 | 0x41);
	assert_int_equal(x86_pte_encode(0x5000, 0), 0x5000 | 1 | (1ull << 63));
	assert_false(x86_pte_decode(0x40).shstk);       /* not present */
}

static void test_pgtable_ept_encode_decode_round_trip(void **state)
{
	(void)state;
	for (unsigned int bits = 0; bits < 16; bits++) {
		uint64_t e = ept_encode(0xabc000, bits & 1, bits & 2, bits & 4, bits & 8);
		struct ept_view v = ept_decode(e);

		assert_int_equal(v.pa, 0xabc000);
		assert_int_equal(v.r, !!(bits & 1));
		assert_int_equal(v.w, !!(bits & 2));
		assert_int_equal(v.x, !!(bits & 4));
		assert_int_equal(v.ux, !!(bits & 8));
		assert_false(v.large || v.accessed || v.dirty);
		assert_int_equal(e & (7ull << 3), EPT_MT_WB);
	}
	assert_true(ept_decode(EPT_A | EPT_D | EPT_PS).accessed);
	assert_true(ept_decode(EPT_A | EPT_D | EPT_PS).dirty);
	assert_true(ept_decode(EPT_A | EPT_D | EPT_PS).large);
}

static void test_pgtable_index_and_sizes(void **state)
{
	uint64_t va = (3ull << 39) | (5ull << 30) | (7ull << 21) | (9ull << 12) | 0x123;

	(void)state;
	assert_int_equal(hw_pt_index(va, 4), 3);
	assert_int_equal(hw_pt_index(va, 3), 5);
	assert_int_equal(hw_pt_index(va, 2), 7);
	assert_int_equal(hw_pt_index(va, 1), 9);
	assert_int_equal(hw_pt_level_size(1), 4096);
	assert_int_equal(hw_pt_level_size(2), 2ull << 20);
	assert_int_equal(hw_pt_level_size(3), 1ull << 30);
}

static void test_pgtable_entry_allocates_intermediates(void **state)
{
	struct hw_machine m;
	uint64_t root, *pte, *again, *l4;
	uint64_t before;

	(void)state;
	machine_up(&m);
	assert_int_equal(hw_pt_alloc_table(&m, &root), 0);
	assert_true(hw_frame(&m, root >> HW_PAGE_SHIFT)->flags & HW_FRAME_PGTABLE);
	assert_null(hw_pt_entry(&m, root, 0x400000, 1, false, false));
	before = hw_phys_free_frames(&m);
	pte = hw_pt_entry(&m, root, 0x400000, 1, true, false);
	assert_false(lib_is_err_or_null(pte));
	assert_int_equal(hw_phys_free_frames(&m), before - 3);
	l4 = hw_pa_to_host(&m, root);
	assert_int_equal(l4[0] & 0xfff, X86_PTE_P | X86_PTE_RW | X86_PTE_US);
	again = hw_pt_entry(&m, root, 0x400000, 1, false, false);
	assert_ptr_equal(again, pte);
	assert_ptr_equal(hw_pt_entry(&m, root, 0x401000, 1, false, false), pte + 1);
	hw_pt_free_tree(&m, root, false, NULL, NULL);
	assert_int_equal(hw_phys_free_frames(&m), before + 1);
	hw_machine_fini(&m);
}

static void test_pgtable_entry_large_leaf_is_eexist(void **state)
{
	struct hw_machine m;
	uint64_t root, *pmd, *pte;

	(void)state;
	machine_up(&m);
	assert_int_equal(hw_pt_alloc_table(&m, &root), 0);
	pmd = hw_pt_entry(&m, root, 0x200000, 2, true, false);
	assert_false(lib_is_err_or_null(pmd));
	*pmd = 0x400000 | X86_PTE_P | X86_PTE_PS;
	pte = hw_pt_entry(&m, root, 0x201000, 1, true, false);
	assert_int_equal(lib_ptr_err(pte), -EEXIST);
	assert_int_equal(lib_ptr_err(hw_pt_entry(&m, root, 0, 4, true, false)), -EINVAL);
	hw_pt_free_tree(&m, root, false, NULL, NULL);
	hw_machine_fini(&m);
}

static void test_pgtable_entry_enomem_on_injected_failure(void **state)
{
	struct hw_machine m;
	uint64_t root;

	(void)state;
	machine_up(&m);
	assert_int_equal(hw_pt_alloc_table(&m, &root), 0);
	lib_fail_after(2);
	assert_int_equal(lib_ptr_err(hw_pt_entry(&m, root, 0x400000, 1, true, false)), -ENOMEM);
	/* What was allocated stays linked and is freed with the tree. */
	hw_pt_free_tree(&m, root, false, NULL, NULL);
	assert_int_equal(hw_phys_free_frames(&m), m.phys.nr_frames - 1);
	hw_machine_fini(&m);
}

static void test_pgtable_ept_intermediates_full_rights(void **state)
{
	struct hw_machine m;
	uint64_t root, *e;

	(void)state;
	machine_up(&m);
	assert_int_equal(hw_pt_alloc_table(&m, &root), 0);
	e = hw_pt_entry(&m, root, 0x7000, 1, true, true);
	assert_false(lib_is_err_or_null(e));
	assert_int_equal(((uint64_t *)hw_pa_to_host(&m, root))[0] & 0xfff,
			 EPT_R | EPT_W | EPT_X | EPT_UX);
	hw_pt_free_tree(&m, root, true, NULL, NULL);
	hw_machine_fini(&m);
}

struct leaf_log {
	unsigned int n;
	uint64_t va[16];
	int level[16];
};

static void log_leaf(void *ctx, uint64_t va, uint64_t *entry, int level)
{
	struct leaf_log *log = ctx;

	(void)entry;
	if (log->n < 16) {
		log->va[log->n] = va;
		log->level[log->n] = level;
	}
	log->n++;
}

static void map4k(struct hw_machine *m, uint64_t root, uint64_t va)
{
	uint64_t *pte = hw_pt_entry(m, root, va, 1, true, false);

	assert_false(lib_is_err_or_null(pte));
	*pte = x86_pte_encode(0x100000, HW_S1_WRITE);
}

static void test_pgtable_for_each_leaf_in_order_and_range(void **state)
{
	struct hw_machine m;
	struct leaf_log log = { 0 };
	uint64_t root, *pmd;

	(void)state;
	machine_up(&m);
	assert_int_equal(hw_pt_alloc_table(&m, &root), 0);
	map4k(&m, root, 0xffff800000003000ull);
	map4k(&m, root, 0x7fff0000ull);
	map4k(&m, root, 0x1000);
	map4k(&m, root, 0x5000);
	pmd = hw_pt_entry(&m, root, 0x40000000, 2, true, false);
	*pmd = 0x200000 | X86_PTE_P | X86_PTE_PS;

	hw_pt_for_each_leaf(&m, root, false, 0, UINT64_MAX, log_leaf, &log);
	assert_int_equal(log.n, 5);
	assert_int_equal(log.va[0], 0x1000);
	assert_int_equal(log.va[1], 0x5000);
	assert_int_equal(log.va[2], 0x40000000);
	assert_int_equal(log.level[2], 2);
	assert_int_equal(log.va[3], 0x7fff0000ull);
	assert_int_equal(log.va[4], 0xffff800000003000ull);

	memset(&log, 0, sizeof(log));
	hw_pt_for_each_leaf(&m, root, false, 0x2000, 0x40000001, log_leaf, &log);
	assert_int_equal(log.n, 2);
	assert_int_equal(log.va[0], 0x5000);
	assert_int_equal(log.va[1], 0x40000000);

	memset(&log, 0, sizeof(log));
	hw_pt_free_tree(&m, root, false, log_leaf, &log);
	assert_int_equal(log.n, 5);
	assert_int_equal(hw_phys_free_frames(&m), m.phys.nr_frames - 1);
	hw_machine_fini(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pgtable_x86_encode_decode_round_trip),
		cmocka_unit_test(test_pgtable_x86_bits_are_architectural),
		cmocka_unit_test(test_pgtable_ept_encode_decode_round_trip),
		cmocka_unit_test(test_pgtable_index_and_sizes),
		cmocka_unit_test(test_pgtable_entry_allocates_intermediates),
		cmocka_unit_test(test_pgtable_entry_large_leaf_is_eexist),
		cmocka_unit_test(test_pgtable_entry_enomem_on_injected_failure),
		cmocka_unit_test(test_pgtable_ept_intermediates_full_rights),
		cmocka_unit_test(test_pgtable_for_each_leaf_in_order_and_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
