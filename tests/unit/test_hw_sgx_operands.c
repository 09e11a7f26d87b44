/* SPDX-License-Identifier: MIT */
/*
 * SGX hardware, bad operands: every row a leaf with one thing wrong and the
 * fault the SDM gives for it (#GP(0) for misalignment, malformed
 * structures and wrong SECINFO types; #PF for an EPC operand that is not
 * EPC or whose EPCM entry is not what the leaf needs). A faulting leaf
 * changes nothing: the EPCM stays consistent after every row.
 */
#include "sgxtest.h"

enum sgt_prep { P_NONE, P_SECS, P_SECS_CHILD, P_INIT };

struct row {
	const char *what;
	enum sgt_prep prep;
	uint32_t leaf;
	/* the structures */
	uint64_t pi_addr, pi_src, pi_secinfo, pi_secs;
	uint64_t secinfo;
	uint64_t secs_size, secs_base, secs_attr;
	uint64_t rbx, rcx, rdx;
	int vector;
};

#define EPC(n) (SGT_EPC_GPA + (n) * KT_PG)
#define RW (SGX_SECINFO_R | SGX_SECINFO_W)

static const struct row rows[] = {
	/* ECREATE */
	{ "ecreate rcx misaligned", P_NONE, SGX_ECREATE, 0, SGT_SRC, SGT_SECINFO, 0, SGX_SECINFO_SECS,
	  SGT_SIZE, SGT_BASE, 0, SGT_PAGEINFO, EPC(1) + 8, 0, SGT_GP },
	{ "ecreate rcx not epc", P_NONE, SGX_ECREATE, 0, SGT_SRC, SGT_SECINFO, 0, SGX_SECINFO_SECS,
	  SGT_SIZE, SGT_BASE, 0, SGT_PAGEINFO, 0x8000, 0, SGT_PF },
	{ "ecreate pageinfo misaligned", P_NONE, SGX_ECREATE, 0, SGT_SRC, SGT_SECINFO, 0,
	  SGX_SECINFO_SECS, SGT_SIZE, SGT_BASE, 0, SGT_PAGEINFO + 16, EPC(1), 0, SGT_GP },
	{ "ecreate secinfo misaligned", P_NONE, SGX_ECREATE, 0, SGT_SRC, SGT_SECINFO + 32, 0,
	  SGX_SECINFO_SECS, SGT_SIZE, SGT_BASE, 0, SGT_PAGEINFO, EPC(1), 0, SGT_GP },
	{ "ecreate srcpge misaligned", P_NONE, SGX_ECREATE, 0, SGT_SRC + 64, SGT_SECINFO, 0,
	  SGX_SECINFO_SECS, SGT_SIZE, SGT_BASE, 0, SGT_PAGEINFO, EPC(1), 0, SGT_GP },
	{ "ecreate secinfo type reg", P_NONE, SGX_ECREATE, 0, SGT_SRC, SGT_SECINFO, 0,
	  SGX_SECINFO_REG, SGT_SIZE, SGT_BASE, 0, SGT_PAGEINFO, EPC(1), 0, SGT_GP },
	{ "ecreate secinfo reserved bit", P_NONE, SGX_ECREATE, 0, SGT_SRC, SGT_SECINFO, 0,
	  SGX_SECINFO_SECS | (1ull << 20), SGT_SIZE, SGT_BASE, 0, SGT_PAGEINFO, EPC(1), 0, SGT_GP },
	{ "ecreate pageinfo linaddr set", P_NONE, SGX_ECREATE, SGT_BASE, SGT_SRC, SGT_SECINFO, 0,
	  SGX_SECINFO_SECS, SGT_SIZE, SGT_BASE, 0, SGT_PAGEINFO, EPC(1), 0, SGT_GP },
	{ "ecreate size not a power of two", P_NONE, SGX_ECREATE, 0, SGT_SRC, SGT_SECINFO, 0,
	  SGX_SECINFO_SECS, 0x3000, SGT_BASE, 0, SGT_PAGEINFO, EPC(1), 0, SGT_GP },
	{ "ecreate base not size aligned", P_NONE, SGX_ECREATE, 0, SGT_SRC, SGT_SECINFO, 0,
	  SGX_SECINFO_SECS, SGT_SIZE, SGT_BASE + 0x1000, 0, SGT_PAGEINFO, EPC(1), 0, SGT_GP },
	{ "ecreate attributes.init set", P_NONE, SGX_ECREATE, 0, SGT_SRC, SGT_SECINFO, 0,
	  SGX_SECINFO_SECS, SGT_SIZE, SGT_BASE, SGX_ATTR_INIT, SGT_PAGEINFO, EPC(1), 0, SGT_GP },
	{ "ecreate on a valid page", P_SECS, SGX_ECREATE, 0, SGT_SRC, SGT_SECINFO, 0,
	  SGX_SECINFO_SECS, SGT_SIZE, SGT_BASE, 0, SGT_PAGEINFO, EPC(0), 0, SGT_PF },
	{ "ecreate secinfo read from epc", P_NONE, SGX_ECREATE, 0, SGT_SRC, EPC(2), 0,
	  SGX_SECINFO_SECS, SGT_SIZE, SGT_BASE, 0, SGT_PAGEINFO, EPC(1), 0, SGT_GP },
	/* EADD */
	{ "eadd secs operand is not a secs", P_SECS_CHILD, SGX_EADD, SGT_BASE + 0x2000, SGT_SRC,
	  SGT_SECINFO, EPC(1), SGX_SECINFO_REG | RW, 0, 0, 0, SGT_PAGEINFO, EPC(2), 0, SGT_PF },
	{ "eadd secs operand not epc", P_SECS, SGX_EADD, SGT_BASE + 0x2000, SGT_SRC, SGT_SECINFO,
	  0x9000, SGX_SECINFO_REG | RW, 0, 0, 0, SGT_PAGEINFO, EPC(2), 0, SGT_PF },
	{ "eadd onto a valid page", P_SECS_CHILD, SGX_EADD, SGT_BASE + 0x2000, SGT_SRC, SGT_SECINFO,
	  EPC(0), SGX_SECINFO_REG | RW, 0, 0, 0, SGT_PAGEINFO, EPC(1), 0, SGT_PF },
	{ "eadd type va", P_SECS, SGX_EADD, SGT_BASE + 0x2000, SGT_SRC, SGT_SECINFO, EPC(0),
	  SGX_SECINFO_VA, 0, 0, 0, SGT_PAGEINFO, EPC(2), 0, SGT_GP },
	{ "eadd type secs", P_SECS, SGX_EADD, SGT_BASE + 0x2000, SGT_SRC, SGT_SECINFO, EPC(0),
	  SGX_SECINFO_SECS, 0, 0, 0, SGT_PAGEINFO, EPC(2), 0, SGT_GP },
	{ "eadd linaddr outside the enclave", P_SECS, SGX_EADD, SGT_BASE + SGT_SIZE, SGT_SRC,
	  SGT_SECINFO, EPC(0), SGX_SECINFO_REG | RW, 0, 0, 0, SGT_PAGEINFO, EPC(2), 0, SGT_GP },
	{ "eadd linaddr misaligned", P_SECS, SGX_EADD, SGT_BASE + 0x10, SGT_SRC, SGT_SECINFO, EPC(0),
	  SGX_SECINFO_REG | RW, 0, 0, 0, SGT_PAGEINFO, EPC(2), 0, SGT_GP },
	{ "eadd write without read", P_SECS, SGX_EADD, SGT_BASE, SGT_SRC, SGT_SECINFO, EPC(0),
	  SGX_SECINFO_REG | SGX_SECINFO_W, 0, 0, 0, SGT_PAGEINFO, EPC(2), 0, SGT_GP },
	{ "eadd tcs with permissions", P_SECS, SGX_EADD, SGT_BASE, SGT_SRC, SGT_SECINFO, EPC(0),
	  SGX_SECINFO_TCS | SGX_SECINFO_R, 0, 0, 0, SGT_PAGEINFO, EPC(2), 0, SGT_GP },
	{ "eadd source misaligned", P_SECS, SGX_EADD, SGT_BASE, SGT_SRC + 8, SGT_SECINFO, EPC(0),
	  SGX_SECINFO_REG | RW, 0, 0, 0, SGT_PAGEINFO, EPC(2), 0, SGT_GP },
	{ "eadd epc page misaligned", P_SECS, SGX_EADD, SGT_BASE, SGT_SRC, SGT_SECINFO, EPC(0),
	  SGX_SECINFO_REG | RW, 0, 0, 0, SGT_PAGEINFO, EPC(2) + 0x800, 0, SGT_GP },
	/* EEXTEND */
	{ "eextend misaligned", P_SECS_CHILD, SGX_EEXTEND, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	  EPC(1) + 128, 0, SGT_GP },
	{ "eextend on the secs", P_SECS_CHILD, SGX_EEXTEND, 0, 0, 0, 0, 0, 0, 0, 0, 0, EPC(0), 0,
	  SGT_PF },
	{ "eextend on an invalid page", P_SECS, SGX_EEXTEND, 0, 0, 0, 0, 0, 0, 0, 0, 0, EPC(3), 0,
	  SGT_PF },
	{ "eextend not epc", P_SECS, SGX_EEXTEND, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x8000, 0, SGT_PF },
	/* EINIT */
	{ "einit sigstruct misaligned", P_SECS, SGX_EINIT, 0, 0, 0, 0, 0, 0, 0, 0, SGT_SIG + 64,
	  EPC(0), SGT_TOKEN, SGT_GP },
	{ "einit token misaligned", P_SECS, SGX_EINIT, 0, 0, 0, 0, 0, 0, 0, 0, SGT_SIG, EPC(0),
	  SGT_TOKEN + 64, SGT_GP },
	{ "einit on a child page", P_SECS_CHILD, SGX_EINIT, 0, 0, 0, 0, 0, 0, 0, 0, SGT_SIG, EPC(1),
	  SGT_TOKEN, SGT_PF },
	{ "einit on an invalid page", P_NONE, SGX_EINIT, 0, 0, 0, 0, 0, 0, 0, 0, SGT_SIG, EPC(1),
	  SGT_TOKEN, SGT_PF },
	/* EREMOVE */
	{ "eremove misaligned", P_SECS, SGX_EREMOVE, 0, 0, 0, 0, 0, 0, 0, 0, 0, EPC(0) + 1, 0,
	  SGT_GP },
	{ "eremove not epc", P_SECS, SGX_EREMOVE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x5000, 0, SGT_PF },
	/* EPA */
	{ "epa rbx not pt_va", P_NONE, SGX_EPA, 0, 0, 0, 0, 0, 0, 0, 0, SGX_PAGE_TYPE_REG, EPC(3), 0,
	  SGT_GP },
	{ "epa on a valid page", P_SECS, SGX_EPA, 0, 0, 0, 0, 0, 0, 0, 0, SGX_PAGE_TYPE_VA, EPC(0), 0,
	  SGT_PF },
	/* leaves that do not exist (or that memvisor does not model) */
	{ "leaf 0x20", P_NONE, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, EPC(0), 0, SGT_GP },
	{ "leaf 0x10", P_NONE, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, EPC(0), 0, SGT_GP },
	/* EWB / ELDU: PAGEINFO at 0x1000 names SRCPGE 0x2000, PCMD 0x1080 */
	{ "ewb srcpge misaligned", P_SECS_CHILD, SGX_EWB, 0, SGT_SRC + 8, 0x1080, 0, 0, 0, 0, 0,
	  SGT_PAGEINFO, EPC(1), EPC(3), SGT_GP },
	{ "ewb pcmd misaligned", P_SECS_CHILD, SGX_EWB, 0, SGT_SRC, 0x1040, 0, 0, 0, 0, 0,
	  SGT_PAGEINFO, EPC(1), EPC(3), SGT_GP },
	{ "ewb linaddr set", P_SECS_CHILD, SGX_EWB, SGT_BASE, SGT_SRC, 0x1080, 0, 0, 0, 0, 0,
	  SGT_PAGEINFO, EPC(1), EPC(3), SGT_GP },
	{ "ewb va slot misaligned", P_SECS_CHILD, SGX_EWB, 0, SGT_SRC, 0x1080, 0, 0, 0, 0, 0,
	  SGT_PAGEINFO, EPC(1), EPC(3) + 4, SGT_GP },
	{ "ewb va slot not a va page", P_SECS_CHILD, SGX_EWB, 0, SGT_SRC, 0x1080, 0, 0, 0, 0, 0,
	  SGT_PAGEINFO, EPC(1), EPC(0) + 8, SGT_PF },
	{ "ewb of an invalid page", P_SECS_CHILD, SGX_EWB, 0, SGT_SRC, 0x1080, 0, 0, 0, 0, 0,
	  SGT_PAGEINFO, EPC(4), EPC(3), SGT_PF },
	{ "ewb into the epc", P_SECS_CHILD, SGX_EWB, 0, EPC(5), 0x1080, 0, 0, 0, 0, 0,
	  SGT_PAGEINFO, EPC(1), EPC(3), SGT_GP },
	{ "eblock not epc", P_SECS_CHILD, SGX_EBLOCK, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x5000, 0, SGT_PF },
	{ "etrack on a child", P_SECS_CHILD, SGX_ETRACK, 0, 0, 0, 0, 0, 0, 0, 0, 0, EPC(1), 0,
	  SGT_PF },
};

static void prep(struct sgxt *s, enum sgt_prep p)
{
	if (p == P_NONE)
		return;
	assert_int_equal(sgt_ecreate(s, 0, SGX_ATTR_DEBUG), 0);
	if (p >= P_SECS_CHILD)
		assert_int_equal(sgt_eadd(s, 1, 0, 0x1000, SGX_SECINFO_REG | RW, 1, NULL), 0);
}

static void write_structs(struct sgxt *s, const struct row *r)
{
	static struct sgx_secs secs;

	memset(&secs, 0, sizeof(secs));
	secs.size = r->secs_size;
	secs.base = r->secs_base;
	secs.ssa_frame_size = 1;
	secs.attributes = r->secs_attr;
	if (r->leaf == SGX_EADD)
		memset(&secs, 0x33, sizeof(secs));   /* any page content */
	sgt_poke(s, SGT_SRC, &secs, sizeof(secs));
	sgt_secinfo(s, r->secinfo);
	sgt_pageinfo(s, r->pi_addr, r->pi_src, r->pi_secinfo, r->pi_secs);
	sgt_sigstruct(s, NULL);
}

/* One row per operand rule: the fault, and nothing changed in the EPCM. */
static void test_sgx_bad_operands_fault(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct mv_guest_fault f = { 0 };
		struct sgxt s;
		long ret;

		sgt_setup(&s, 16, 8);
		prep(&s, r->prep);
		write_structs(&s, r);
		ret = sgt_encls(&s, r->leaf, r->rbx, r->rcx, r->rdx, &f);
		if (ret != -EFAULT || f.vector != r->vector)
			fail_msg("%s: ret %ld vector %d, want -EFAULT vector %d", r->what, ret,
				 f.vector, r->vector);
		assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
		sgt_teardown(&s);
	}
}

/* #PF from an EPCM check carries the SGX bit (15) and the linear address. */
static void test_sgx_epcm_pf_has_sgx_bit(void **state)
{
	struct sgxt s;
	struct mv_guest_fault f;

	(void)state;
	sgt_setup(&s, 16, 8);
	assert_int_equal(sgt_ecreate(&s, 0, 0), 0);
	assert_int_equal(sgt_ecreate_full(&s, 0, SGT_BASE, SGT_SIZE, 0, &f), -EFAULT);
	assert_int_equal(f.vector, SGT_PF);
	assert_int_equal(f.address, SGT_EPC_GPA);
	assert_true(f.error_code & (1u << 15));
	sgt_teardown(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sgx_bad_operands_fault),
		cmocka_unit_test(test_sgx_epcm_pf_has_sgx_bit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
