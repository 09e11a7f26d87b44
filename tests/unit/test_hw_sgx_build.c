/* SPDX-License-Identifier: MIT */
/*
 * SGX hardware, building an enclave: ECREATE, EADD, EEXTEND and EINIT as a
 * guest issues them into its vEPC, the EPCM entries each leaf leaves, and
 * MRENCLAVE checked against an independent SHA-256 model of the SDM's
 * measurement records.
 */
#include "sgxtest.h"

/* EPCM: ECREATE makes a valid SECS owning nothing yet. */
static void test_sgx_ecreate_makes_secs(void **state)
{
	struct sgxt s;
	struct hw_epcm_entry e;

	(void)state;
	sgt_setup(&s, 16, 8);
	assert_int_equal(sgt_ecreate(&s, 0, SGX_ATTR_DEBUG), 0);
	e = sgt_epcm(&s, 0);
	assert_int_equal(e.valid, 1);
	assert_int_equal(e.type, SGX_PAGE_TYPE_SECS);
	assert_int_equal(e.children, 0);
	assert_int_equal(e.initialized, 0);
	assert_int_equal(e.debug, 1);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	sgt_teardown(&s);
}

/* EPCM: EADD links the page to its SECS with type, R/W/X and linear address. */
static void test_sgx_eadd_links_child(void **state)
{
	struct sgxt s;
	struct hw_epcm_entry e;

	(void)state;
	sgt_setup(&s, 16, 8);
	assert_int_equal(sgt_ecreate(&s, 0, 0), 0);
	assert_int_equal(sgt_eadd(&s, 1, 0, 0, SGX_SECINFO_TCS, 0, NULL), 0);
	assert_int_equal(sgt_eadd(&s, 2, 0, 0x1000, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_X,
				  0x90, NULL), 0);
	e = sgt_epcm(&s, 2);
	assert_int_equal(e.valid, 1);
	assert_int_equal(e.type, SGX_PAGE_TYPE_REG);
	assert_int_equal(e.perm, SGX_SECINFO_R | SGX_SECINFO_X);
	assert_int_equal(e.linaddr, SGT_BASE + 0x1000);
	assert_int_equal(e.secs, (sgt_pa(&s, 0) - sgt_epc(s.k.m)->start) / KT_PG);
	e = sgt_epcm(&s, 1);
	assert_int_equal(e.type, SGX_PAGE_TYPE_TCS);
	assert_int_equal(sgt_epcm(&s, 0).children, 2);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	sgt_teardown(&s);
}

/* EINIT: MRENCLAVE is SHA-256 over the SDM's ECREATE, EADD and EEXTEND records. */
static void test_sgx_einit_measures_mrenclave(void **state)
{
	struct sgxt s;
	uint8_t want[32], got[32];
	struct sha256_state copy;

	(void)state;
	sgt_setup(&s, 16, 8);
	assert_int_equal(sgt_ecreate(&s, 0, SGX_ATTR_DEBUG), 0);
	assert_int_equal(sgt_eadd(&s, 1, 0, 0, SGX_SECINFO_TCS, 0, NULL), 0);
	assert_int_equal(sgt_eadd(&s, 2, 0, 0x1000, SGX_SECINFO_REG | SGX_SECINFO_R, 0x5a, NULL), 0);
	for (uint64_t c = 0; c < 4096; c += 256)
		assert_int_equal(sgt_eextend(&s, 2, 0x1000, c, 0x5a), 0);
	copy = s.mr;
	sha256_final(&copy, want);
	sgt_sigstruct(&s, NULL);
	assert_int_equal(sgt_einit(&s, 0, NULL), SGX_SUCCESS);
	assert_int_equal(hw_epc_mrenclave(sgt_epc(s.k.m), sgt_pa(&s, 0), got), 0);
	assert_memory_equal(got, want, 32);
	assert_int_equal(sgt_epcm(&s, 0).initialized, 1);
	sgt_teardown(&s);
}

/* EINIT: a SIGSTRUCT whose ENCLAVEHASH differs is SGX_INVALID_MEASUREMENT, and the enclave stays uninitialized. */
static void test_sgx_einit_wrong_hash(void **state)
{
	struct sgxt s;
	uint8_t bad[32] = { 1 };

	(void)state;
	sgt_setup(&s, 16, 8);
	assert_int_equal(sgt_ecreate(&s, 0, 0), 0);
	sgt_sigstruct(&s, bad);
	assert_int_equal(sgt_einit(&s, 0, NULL), SGX_INVALID_MEASUREMENT);
	assert_int_equal(sgt_epcm(&s, 0).initialized, 0);
	sgt_teardown(&s);
}

/* EINIT: a malformed SIGSTRUCT header is SGX_INVALID_SIG_STRUCT. */
static void test_sgx_einit_malformed_sigstruct(void **state)
{
	struct sgxt s;
	uint8_t zero = 0;

	(void)state;
	sgt_setup(&s, 16, 8);
	assert_int_equal(sgt_ecreate(&s, 0, 0), 0);
	sgt_sigstruct(&s, NULL);
	sgt_poke(&s, SGT_SIG, &zero, 1);   /* header1[0] */
	assert_int_equal(sgt_einit(&s, 0, NULL), SGX_INVALID_SIG_STRUCT);
	sgt_teardown(&s);
}

/* EINIT twice: the second is #GP(0). EADD after EINIT: #GP(0). */
static void test_sgx_einit_once(void **state)
{
	struct sgxt s;
	struct mv_guest_fault f;

	(void)state;
	sgt_setup(&s, 16, 8);
	assert_int_equal(sgt_ecreate(&s, 0, 0), 0);
	sgt_sigstruct(&s, NULL);
	assert_int_equal(sgt_einit(&s, 0, NULL), 0);
	assert_int_equal(sgt_einit(&s, 0, &f), -EFAULT);
	assert_int_equal(f.vector, SGT_GP);
	assert_int_equal(sgt_eadd(&s, 1, 0, 0, SGX_SECINFO_REG | SGX_SECINFO_R, 0, &f), -EFAULT);
	assert_int_equal(f.vector, SGT_GP);
	assert_int_equal(sgt_epcm(&s, 1).valid, 0);
	sgt_teardown(&s);
}

/* EEXTEND after EINIT is #GP(0): the measurement is final. */
static void test_sgx_eextend_after_einit(void **state)
{
	struct sgxt s;
	struct mv_guest_fault f;

	(void)state;
	sgt_setup(&s, 16, 8);
	assert_int_equal(sgt_ecreate(&s, 0, 0), 0);
	assert_int_equal(sgt_eadd(&s, 1, 0, 0, SGX_SECINFO_REG | SGX_SECINFO_R, 0, NULL), 0);
	sgt_sigstruct(&s, NULL);
	assert_int_equal(sgt_einit(&s, 0, NULL), 0);
	assert_int_equal(sgt_encls(&s, SGX_EEXTEND, 0, sgt_epc_gpa(1), 0, &f), -EFAULT);
	assert_int_equal(f.vector, SGT_GP);
	sgt_teardown(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sgx_ecreate_makes_secs),
		cmocka_unit_test(test_sgx_eadd_links_child),
		cmocka_unit_test(test_sgx_einit_measures_mrenclave),
		cmocka_unit_test(test_sgx_einit_wrong_hash),
		cmocka_unit_test(test_sgx_einit_malformed_sigstruct),
		cmocka_unit_test(test_sgx_einit_once),
		cmocka_unit_test(test_sgx_eextend_after_einit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
