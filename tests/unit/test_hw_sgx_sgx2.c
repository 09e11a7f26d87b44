/* SPDX-License-Identifier: MIT */
/*
 * SGX2 leaves: EAUG adds a pending, zeroed REG RW page to an initialized
 * enclave; EMODPR only restricts permissions; EMODT turns a page into TRIM
 * (or REG into TCS); pages with a change pending are
 * SGX_PAGE_NOT_MODIFIABLE.
 */
#include "sgxtest.h"

#define RW (SGX_SECINFO_R | SGX_SECINFO_W)
#define RWX (RW | SGX_SECINFO_X)

static void build_init(struct sgxt *s)
{
	assert_int_equal(sgt_ecreate(s, 0, SGX_ATTR_DEBUG), 0);
	assert_int_equal(sgt_eadd(s, 1, 0, 0, SGX_SECINFO_TCS, 0, NULL), 0);
	assert_int_equal(sgt_eadd(s, 2, 0, 0x1000, SGX_SECINFO_REG | RWX, 0x11, NULL), 0);
	sgt_sigstruct(s, NULL);
	assert_int_equal(sgt_einit(s, 0, NULL), 0);
}

static long eaug(struct sgxt *s, uint64_t page, uint64_t off, struct mv_guest_fault *f)
{
	sgt_pageinfo(s, SGT_BASE + off, 0, 0, sgt_epc_gpa(0));
	return sgt_encls(s, SGX_EAUG, SGT_PAGEINFO, sgt_epc_gpa(page), 0, f);
}

static long emod(struct sgxt *s, uint32_t leaf, uint64_t page, uint64_t flags,
		 struct mv_guest_fault *f)
{
	sgt_secinfo(s, flags);
	return sgt_encls(s, leaf, SGT_SECINFO, sgt_epc_gpa(page), 0, f);
}

/* EAUG: a pending REG page, RW, zeroed, counted as the SECS's child. */
static void test_sgx_eaug_pending_page(void **state)
{
	struct sgxt s;
	struct hw_epcm_entry e;

	(void)state;
	sgt_setup(&s, 16, 8);
	build_init(&s);
	assert_int_equal(eaug(&s, 3, 0x3000, NULL), 0);
	e = sgt_epcm(&s, 3);
	assert_int_equal(e.type, SGX_PAGE_TYPE_REG);
	assert_int_equal(e.perm, RW);
	assert_true(e.state & HW_EPCM_PENDING);
	assert_int_equal(sgt_epcm(&s, 0).children, 3);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	sgt_teardown(&s);
}

/* EAUG before EINIT, or with a source page: #GP(0). */
static void test_sgx_eaug_needs_initialized_enclave(void **state)
{
	struct sgxt s;
	struct mv_guest_fault f;

	(void)state;
	sgt_setup(&s, 16, 8);
	assert_int_equal(sgt_ecreate(&s, 0, 0), 0);
	assert_int_equal(eaug(&s, 3, 0x3000, &f), -EFAULT);
	assert_int_equal(f.vector, SGT_GP);
	sgt_sigstruct(&s, NULL);
	assert_int_equal(sgt_einit(&s, 0, NULL), 0);
	sgt_pageinfo(&s, SGT_BASE, SGT_SRC, 0, sgt_epc_gpa(0));
	assert_int_equal(sgt_encls(&s, SGX_EAUG, SGT_PAGEINFO, sgt_epc_gpa(3), 0, &f), -EFAULT);
	assert_int_equal(f.vector, SGT_GP);
	assert_int_equal(sgt_epcm(&s, 3).valid, 0);
	sgt_teardown(&s);
}

/* EMODPR: the new permissions are the old ones ANDed with SECINFO's; never more. */
static void test_sgx_emodpr_restricts_only(void **state)
{
	struct sgxt s;
	struct hw_epcm_entry e;

	(void)state;
	sgt_setup(&s, 16, 8);
	build_init(&s);
	assert_int_equal(emod(&s, SGX_EMODPR, 2, SGX_SECINFO_R | SGX_SECINFO_X, NULL), 0);
	e = sgt_epcm(&s, 2);
	assert_int_equal(e.perm, SGX_SECINFO_R | SGX_SECINFO_X);
	assert_true(e.state & HW_EPCM_PR);
	assert_int_equal(emod(&s, SGX_EMODPR, 2, RWX, NULL), 0);   /* asking for W adds nothing */
	assert_int_equal(sgt_epcm(&s, 2).perm, SGX_SECINFO_R | SGX_SECINFO_X);
	sgt_teardown(&s);
}

/* EMODPR on a TCS is #PF; W without R is #GP(0); a pending page is SGX_PAGE_NOT_MODIFIABLE. */
static void test_sgx_emodpr_rules(void **state)
{
	struct sgxt s;
	struct mv_guest_fault f;

	(void)state;
	sgt_setup(&s, 16, 8);
	build_init(&s);
	assert_int_equal(emod(&s, SGX_EMODPR, 1, SGX_SECINFO_R, &f), -EFAULT);
	assert_int_equal(f.vector, SGT_PF);
	assert_int_equal(emod(&s, SGX_EMODPR, 2, SGX_SECINFO_W, &f), -EFAULT);
	assert_int_equal(f.vector, SGT_GP);
	assert_int_equal(eaug(&s, 3, 0x3000, NULL), 0);
	assert_int_equal(emod(&s, SGX_EMODPR, 3, SGX_SECINFO_R, NULL), SGX_PAGE_NOT_MODIFIABLE);
	assert_int_equal(sgt_epcm(&s, 3).perm, RW);
	sgt_teardown(&s);
}

/* EMODT to TRIM: type TRIM, no permissions, MODIFIED; then not modifiable again. */
static void test_sgx_emodt_trim(void **state)
{
	struct sgxt s;
	struct hw_epcm_entry e;
	struct mv_guest_fault f;

	(void)state;
	sgt_setup(&s, 16, 8);
	build_init(&s);
	assert_int_equal(emod(&s, SGX_EMODT, 2, SGX_SECINFO_TRIM, NULL), 0);
	e = sgt_epcm(&s, 2);
	assert_int_equal(e.type, SGX_PAGE_TYPE_TRIM);
	assert_int_equal(e.perm, 0);
	assert_true(e.state & HW_EPCM_MODIFIED);
	assert_int_equal(emod(&s, SGX_EMODT, 2, SGX_SECINFO_TRIM, &f), -EFAULT);   /* TRIM is not REG/TCS */
	assert_int_equal(f.vector, SGT_PF);
	/* a TRIM page is still the SECS's child until EREMOVE */
	assert_int_equal(sgt_eremove(&s, 0), SGX_CHILD_PRESENT);
	assert_int_equal(sgt_eremove(&s, 2), 0);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	sgt_teardown(&s);
}

/* EMODT to REG or SECS: #GP(0); EMODT of a SECS: #PF. */
static void test_sgx_emodt_rules(void **state)
{
	struct sgxt s;
	struct mv_guest_fault f;

	(void)state;
	sgt_setup(&s, 16, 8);
	build_init(&s);
	assert_int_equal(emod(&s, SGX_EMODT, 2, SGX_SECINFO_REG, &f), -EFAULT);
	assert_int_equal(f.vector, SGT_GP);
	assert_int_equal(emod(&s, SGX_EMODT, 2, SGX_SECINFO_SECS, &f), -EFAULT);
	assert_int_equal(f.vector, SGT_GP);
	assert_int_equal(emod(&s, SGX_EMODT, 0, SGX_SECINFO_TRIM, &f), -EFAULT);
	assert_int_equal(f.vector, SGT_PF);
	assert_int_equal(emod(&s, SGX_EMODT, 2, SGX_SECINFO_TCS, NULL), 0);
	assert_int_equal(sgt_epcm(&s, 2).type, SGX_PAGE_TYPE_TCS);
	sgt_teardown(&s);
}

/* SGX2 changes need EINIT first: EMODPR on an uninitialized enclave is #GP(0). */
static void test_sgx_emod_needs_einit(void **state)
{
	struct sgxt s;
	struct mv_guest_fault f;

	(void)state;
	sgt_setup(&s, 16, 8);
	assert_int_equal(sgt_ecreate(&s, 0, 0), 0);
	assert_int_equal(sgt_eadd(&s, 2, 0, 0x1000, SGX_SECINFO_REG | RW, 0, NULL), 0);
	assert_int_equal(emod(&s, SGX_EMODPR, 2, SGX_SECINFO_R, &f), -EFAULT);
	assert_int_equal(f.vector, SGT_GP);
	sgt_teardown(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sgx_eaug_pending_page),
		cmocka_unit_test(test_sgx_eaug_needs_initialized_enclave),
		cmocka_unit_test(test_sgx_emodpr_restricts_only),
		cmocka_unit_test(test_sgx_emodpr_rules),
		cmocka_unit_test(test_sgx_emodt_trim),
		cmocka_unit_test(test_sgx_emodt_rules),
		cmocka_unit_test(test_sgx_emod_needs_einit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
