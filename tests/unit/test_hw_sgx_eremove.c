/* SPDX-License-Identifier: MIT */
/*
 * SGX hardware, EREMOVE and the EPCM rules it enforces: a SECS goes only
 * after its children (SGX_CHILD_PRESENT), no page of an enclave a
 * processor is inside goes (SGX_ENCLAVE_ACT), an invalid page is a no-op,
 * and a removed page's contents are gone.
 */
#include "sgxtest.h"

#define RW (SGX_SECINFO_R | SGX_SECINFO_W)

static void build(struct sgxt *s)
{
	assert_int_equal(sgt_ecreate(s, 0, SGX_ATTR_DEBUG), 0);
	assert_int_equal(sgt_eadd(s, 1, 0, 0, SGX_SECINFO_TCS, 0, NULL), 0);
	assert_int_equal(sgt_eadd(s, 2, 0, 0x1000, SGX_SECINFO_REG | RW, 0xee, NULL), 0);
}

/* EREMOVE of a SECS with children: SGX_CHILD_PRESENT, nothing changes. */
static void test_sgx_eremove_secs_with_children(void **state)
{
	struct sgxt s;

	(void)state;
	sgt_setup(&s, 16, 8);
	build(&s);
	assert_int_equal(sgt_eremove(&s, 0), SGX_CHILD_PRESENT);
	assert_int_equal(sgt_epcm(&s, 0).valid, 1);
	assert_int_equal(sgt_epcm(&s, 0).children, 2);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	sgt_teardown(&s);
}

/* Children first, then the SECS: each EREMOVE succeeds and the child count follows. */
static void test_sgx_eremove_children_then_secs(void **state)
{
	struct sgxt s;

	(void)state;
	sgt_setup(&s, 16, 8);
	build(&s);
	assert_int_equal(sgt_eremove(&s, 2), 0);
	assert_int_equal(sgt_epcm(&s, 0).children, 1);
	assert_int_equal(sgt_eremove(&s, 1), 0);
	assert_int_equal(sgt_epcm(&s, 0).children, 0);
	assert_int_equal(sgt_eremove(&s, 0), 0);
	assert_int_equal(sgt_epcm(&s, 0).valid, 0);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	sgt_teardown(&s);
}

/* EREMOVE of an invalid page succeeds and does nothing. */
static void test_sgx_eremove_invalid_page_is_noop(void **state)
{
	struct sgxt s;

	(void)state;
	sgt_setup(&s, 16, 8);
	assert_int_equal(sgt_eremove(&s, 5), 0);
	assert_int_equal(sgt_eremove(&s, 5), 0);
	assert_int_equal(sgt_epcm(&s, 5).valid, 0);
	sgt_teardown(&s);
}

/* A thread inside the enclave: EREMOVE of its pages is SGX_ENCLAVE_ACT until it leaves. */
static void test_sgx_eremove_enclave_active(void **state)
{
	struct sgxt s;
	struct hw_epc *epc;

	(void)state;
	sgt_setup(&s, 16, 8);
	build(&s);
	epc = sgt_epc(s.k.m);
	assert_int_equal(hw_epc_set_threads(epc, sgt_pa(&s, 0), 1), 0);
	assert_int_equal(sgt_eremove(&s, 2), SGX_ENCLAVE_ACT);
	assert_int_equal(sgt_eremove(&s, 1), SGX_ENCLAVE_ACT);
	assert_int_equal(sgt_epcm(&s, 2).valid, 1);
	assert_int_equal(hw_epc_set_threads(epc, sgt_pa(&s, 0), 0), 0);
	assert_int_equal(sgt_eremove(&s, 2), 0);
	/* the knob applies to SECS pages only */
	assert_int_equal(hw_epc_set_threads(epc, sgt_pa(&s, 1), 1), -EINVAL);
	sgt_teardown(&s);
}

/* EREMOVE wipes the page: the EPC bytes are zero afterwards. */
static void test_sgx_eremove_wipes_contents(void **state)
{
	struct sgxt s;
	const uint8_t *host;

	(void)state;
	sgt_setup(&s, 16, 8);
	build(&s);
	host = hw_pa_to_host(&s.k.m->hw, sgt_pa(&s, 2));
	assert_int_equal(host[100], 0xee);
	assert_int_equal(sgt_eremove(&s, 2), 0);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(host[i], 0);
	sgt_teardown(&s);
}

/* VA pages (EPA) have no SECS; EREMOVE takes them at once. */
static void test_sgx_epa_va_page(void **state)
{
	struct sgxt s;

	(void)state;
	sgt_setup(&s, 16, 8);
	assert_int_equal(sgt_encls(&s, SGX_EPA, SGX_PAGE_TYPE_VA, sgt_epc_gpa(3), 0, NULL), 0);
	assert_int_equal(sgt_epcm(&s, 3).type, SGX_PAGE_TYPE_VA);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	assert_int_equal(sgt_eremove(&s, 3), 0);
	assert_int_equal(sgt_epcm(&s, 3).valid, 0);
	sgt_teardown(&s);
}

/* The allocator returns only EREMOVEd pages: freeing a valid page is refused. */
static void test_sgx_free_requires_eremove(void **state)
{
	struct sgxt s;
	struct hw_epc *epc;
	uint64_t pa;

	(void)state;
	sgt_setup(&s, 16, 8);
	build(&s);
	epc = sgt_epc(s.k.m);
	pa = sgt_pa(&s, 2);
	assert_int_equal(hw_epc_free_page(epc, pa), -EBUSY);
	assert_int_equal(hw_epc_free_page(epc, epc->start + 15 * KT_PG), -EINVAL);  /* never allocated */
	assert_int_equal(hw_epc_free_page(epc, 0x1000), -EINVAL);                  /* not EPC */
	assert_int_equal(hw_epc_check(epc), 0);
	sgt_teardown(&s);
}

/*
 * The allocator hands pages out from the low end, reuses the last page
 * freed first, and gives an EPC frame its permanent reference when the
 * page is first handed out: a page never used has untouched metadata.
 */
static void test_sgx_alloc_order_and_first_use(void **state)
{
	struct mv_machine *m = sgt_machine(64);
	struct hw_epc *epc = sgt_epc(m);
	hw_pfn_t first = epc->start >> HW_PAGE_SHIFT;
	uint64_t pa[3], again;

	(void)state;
	for (int i = 0; i < 64; i++)
		assert_int_equal(hw_frame(&m->hw, first + i)->flags, 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(hw_epc_alloc_page(epc, &pa[i]), 0);
		assert_int_equal(pa[i], epc->start + (uint64_t)i * KT_PG);
		assert_int_equal(hw_frame(&m->hw, first + i)->flags, HW_FRAME_RESERVED | HW_FRAME_HEAD);
		assert_int_equal(hw_folio_refcount(&m->hw, first + i), 1);
	}
	assert_int_equal(hw_frame(&m->hw, first + 3)->flags, 0);
	assert_int_equal(hw_epc_nr_free(epc), 61);
	assert_int_equal(hw_epc_free_page(epc, pa[0]), 0);
	assert_int_equal(hw_epc_free_page(epc, pa[2]), 0);
	assert_int_equal(hw_epc_alloc_page(epc, &again), 0);
	assert_int_equal(again, pa[2]);
	assert_int_equal(hw_epc_alloc_page(epc, &again), 0);
	assert_int_equal(again, pa[0]);
	assert_int_equal(hw_epc_alloc_page(epc, &again), 0);
	assert_int_equal(again, epc->start + 3 * KT_PG);
	assert_int_equal(hw_epc_nr_free(epc), 60);
	assert_int_equal(hw_epc_check(epc), 0);
	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(hw_epc_free_page(epc, epc->start + i * KT_PG), 0);
	assert_int_equal(hw_epc_nr_free(epc), 64);
	assert_int_equal(hw_epc_check(epc), 0);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sgx_eremove_secs_with_children),
		cmocka_unit_test(test_sgx_eremove_children_then_secs),
		cmocka_unit_test(test_sgx_eremove_invalid_page_is_noop),
		cmocka_unit_test(test_sgx_eremove_enclave_active),
		cmocka_unit_test(test_sgx_eremove_wipes_contents),
		cmocka_unit_test(test_sgx_epa_va_page),
		cmocka_unit_test(test_sgx_free_requires_eremove),
		cmocka_unit_test(test_sgx_alloc_order_and_first_use),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
