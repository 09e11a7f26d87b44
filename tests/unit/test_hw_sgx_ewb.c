/* SPDX-License-Identifier: MIT */
/*
 * SGX paging: EBLOCK, ETRACK, EWB and ELDU/ELDB. A page leaves the EPC
 * encrypted with a PCMD and a version in a VA slot, and comes back with its
 * contents and EPCM entry; the rules before EWB (blocked, tracked, the
 * slot free, a SECS only without children); and the attacks ELDU stops: a
 * replay (the slot is spent), an altered page, another address, another
 * enclave.
 */
#include "sgxtest.h"

#define RW (SGX_SECINFO_R | SGX_SECINFO_W)
#define BLOB 0x5000ull
#define PCMD 0x1080ull
#define VA 3                         /* the VA page */
#define SLOT(n) (sgt_epc_gpa(VA) + 8 * (n))

static void build(struct sgxt *s)
{
	assert_int_equal(sgt_ecreate(s, 0, SGX_ATTR_DEBUG), 0);
	assert_int_equal(sgt_eadd(s, 1, 0, 0, SGX_SECINFO_TCS, 0, NULL), 0);
	assert_int_equal(sgt_eadd(s, 2, 0, 0x1000, SGX_SECINFO_REG | RW, 0x5a, NULL), 0);
	sgt_sigstruct(s, NULL);
	assert_int_equal(sgt_einit(s, 0, NULL), 0);
	assert_int_equal(sgt_encls(s, SGX_EPA, SGX_PAGE_TYPE_VA, sgt_epc_gpa(VA), 0, NULL), 0);
}

static long eblock(struct sgxt *s, uint64_t page)
{
	return sgt_encls(s, SGX_EBLOCK, 0, sgt_epc_gpa(page), 0, NULL);
}

static long etrack(struct sgxt *s, uint64_t secs)
{
	return sgt_encls(s, SGX_ETRACK, 0, sgt_epc_gpa(secs), 0, NULL);
}

static long ewb(struct sgxt *s, uint64_t page, uint64_t slot)
{
	sgt_pageinfo(s, 0, BLOB, PCMD, 0);
	return sgt_encls(s, SGX_EWB, SGT_PAGEINFO, sgt_epc_gpa(page), slot, NULL);
}

static long eld(struct sgxt *s, uint32_t leaf, uint64_t page, uint64_t linaddr, uint64_t secs_gpa,
		uint64_t slot)
{
	sgt_pageinfo(s, linaddr, BLOB, PCMD, secs_gpa);
	return sgt_encls(s, leaf, SGT_PAGEINFO, sgt_epc_gpa(page), slot, NULL);
}

static long evict(struct sgxt *s, uint64_t page, uint64_t slot)
{
	assert_int_equal(eblock(s, page), 0);
	assert_int_equal(etrack(s, 0), 0);
	return ewb(s, page, slot);
}

static uint64_t slot_value(struct sgxt *s, uint64_t n)
{
	uint64_t v;

	memcpy(&v, (uint8_t *)hw_pa_to_host(&s->k.m->hw, sgt_pa(s, VA)) + 8 * n, 8);
	return v;
}

/* EWB then ELDU: the page leaves encrypted, its slot holds a version, and it comes back whole. */
static void test_sgx_ewb_eldu_round_trip(void **state)
{
	struct sgxt s;
	struct hw_epcm_entry e;
	uint8_t blob[4096];
	uint64_t v;
	int plain = 0;

	(void)state;
	sgt_setup(&s, 16, 8);
	build(&s);
	assert_int_equal(evict(&s, 2, SLOT(1)), 0);
	assert_int_equal(sgt_epcm(&s, 2).valid, 0);
	assert_int_equal(sgt_epcm(&s, 0).children, 1);
	assert_true(slot_value(&s, 1) != 0);
	assert_int_equal(mv_user_read(s.k.t, s.ram + BLOB, blob, sizeof(blob)), 0);
	for (int i = 0; i < 4096; i++)
		plain += blob[i] == 0x5a;
	assert_true(plain < 64);   /* not the plaintext */
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	/* back, into another EPC page */
	assert_int_equal(eld(&s, SGX_ELDU, 5, SGT_BASE + 0x1000, sgt_epc_gpa(0), SLOT(1)), 0);
	e = sgt_epcm(&s, 5);
	assert_int_equal(e.type, SGX_PAGE_TYPE_REG);
	assert_int_equal(e.perm, RW);
	assert_int_equal(e.linaddr, SGT_BASE + 0x1000);
	assert_int_equal(e.blocked, 0);
	assert_int_equal(sgt_epcm(&s, 0).children, 2);
	assert_int_equal(slot_value(&s, 1), 0);
	v = 0;
	assert_int_equal(sgt_encls_out(&s, SGX_EDBGRD, &v, sgt_epc_gpa(5) + 0x100, 0, NULL), 0);
	assert_int_equal(v, 0x5a5a5a5a5a5a5a5aull);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	sgt_teardown(&s);
}

/* Attack: loading the same evicted page twice (a replay) fails: the slot was spent. */
static void test_sgx_eldu_replay_refused(void **state)
{
	struct sgxt s;

	(void)state;
	sgt_setup(&s, 16, 8);
	build(&s);
	assert_int_equal(evict(&s, 2, SLOT(0)), 0);
	assert_int_equal(eld(&s, SGX_ELDU, 5, SGT_BASE + 0x1000, sgt_epc_gpa(0), SLOT(0)), 0);
	assert_int_equal(eld(&s, SGX_ELDU, 6, SGT_BASE + 0x1000, sgt_epc_gpa(0), SLOT(0)),
			 SGX_MAC_COMPARE_FAIL);
	assert_int_equal(sgt_epcm(&s, 6).valid, 0);
	sgt_teardown(&s);
}

/* Attack: an altered page, another linear address, another enclave: SGX_MAC_COMPARE_FAIL. */
static void test_sgx_eldu_tamper_refused(void **state)
{
	struct sgxt s;
	uint8_t b;

	(void)state;
	sgt_setup(&s, 16, 8);
	build(&s);
	assert_int_equal(evict(&s, 2, SLOT(2)), 0);
	assert_int_equal(eld(&s, SGX_ELDU, 5, SGT_BASE + 0x2000, sgt_epc_gpa(0), SLOT(2)),
			 SGX_MAC_COMPARE_FAIL);
	assert_int_equal(mv_user_read(s.k.t, s.ram + BLOB + 77, &b, 1), 0);
	b ^= 1;
	assert_int_equal(mv_user_write(s.k.t, s.ram + BLOB + 77, &b, 1), 0);
	assert_int_equal(eld(&s, SGX_ELDU, 5, SGT_BASE + 0x1000, sgt_epc_gpa(0), SLOT(2)),
			 SGX_MAC_COMPARE_FAIL);
	b ^= 1;
	assert_int_equal(mv_user_write(s.k.t, s.ram + BLOB + 77, &b, 1), 0);
	/* a second enclave (SECS at page 6) cannot take it */
	assert_int_equal(sgt_ecreate(&s, 6, 0), 0);
	assert_int_equal(eld(&s, SGX_ELDU, 5, SGT_BASE + 0x1000, sgt_epc_gpa(6), SLOT(2)),
			 SGX_MAC_COMPARE_FAIL);
	/* untouched, the slot still loads it */
	assert_int_equal(eld(&s, SGX_ELDU, 5, SGT_BASE + 0x1000, sgt_epc_gpa(0), SLOT(2)), 0);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	sgt_teardown(&s);
}

/* EWB's preconditions: blocked, then tracked with nobody inside, and a free slot. */
static void test_sgx_ewb_rules(void **state)
{
	struct sgxt s;

	(void)state;
	sgt_setup(&s, 16, 8);
	build(&s);
	assert_int_equal(ewb(&s, 2, SLOT(0)), SGX_PAGE_NOT_BLOCKED);
	assert_int_equal(eblock(&s, 2), 0);
	assert_int_equal(eblock(&s, 2), SGX_BLKSTATE);
	assert_int_equal(ewb(&s, 2, SLOT(0)), SGX_NOT_TRACKED);
	assert_int_equal(etrack(&s, 0), 0);
	assert_int_equal(hw_epc_set_threads(sgt_epc(s.k.m), sgt_pa(&s, 0), 1), 0);
	assert_int_equal(ewb(&s, 2, SLOT(0)), SGX_NOT_TRACKED);
	assert_int_equal(hw_epc_set_threads(sgt_epc(s.k.m), sgt_pa(&s, 0), 0), 0);
	assert_int_equal(eblock(&s, 1), 0);
	assert_int_equal(etrack(&s, 0), 0);
	assert_int_equal(ewb(&s, 1, SLOT(0)), 0);
	assert_int_equal(ewb(&s, 2, SLOT(0)), SGX_VA_SLOT_OCCUPIED);
	assert_int_equal(ewb(&s, 2, SLOT(1)), 0);
	/* EBLOCK: a SECS or a VA page is not blockable; an invalid page is SGX_PG_INVLD */
	assert_int_equal(eblock(&s, 0), SGX_NOTBLOCKABLE);
	assert_int_equal(eblock(&s, VA), SGX_NOTBLOCKABLE);
	assert_int_equal(eblock(&s, 2), SGX_PG_INVLD);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	sgt_teardown(&s);
}

/* A SECS leaves only without children; it must come back before its children do. */
static void test_sgx_ewb_secs_after_children(void **state)
{
	struct sgxt s;
	struct mv_guest_fault f;

	(void)state;
	sgt_setup(&s, 16, 8);
	build(&s);
	assert_int_equal(ewb(&s, 0, SLOT(0)), SGX_CHILD_PRESENT);
	assert_int_equal(evict(&s, 1, SLOT(1)), 0);
	/* page 2 goes to a second blob place: PCMD and contents at other addresses */
	assert_int_equal(eblock(&s, 2), 0);
	assert_int_equal(etrack(&s, 0), 0);
	sgt_pageinfo(&s, 0, 0x6000, 0x1100, 0);
	assert_int_equal(sgt_encls(&s, SGX_EWB, SGT_PAGEINFO, sgt_epc_gpa(2), SLOT(2), NULL), 0);
	sgt_pageinfo(&s, 0, 0x7000, 0x1180, 0);
	assert_int_equal(sgt_encls(&s, SGX_EWB, SGT_PAGEINFO, sgt_epc_gpa(0), SLOT(3), NULL), 0);
	assert_int_equal(sgt_epcm(&s, 0).valid, 0);
	/* a child cannot come back without its SECS: #PF */
	sgt_pageinfo(&s, SGT_BASE + 0x1000, 0x6000, 0x1100, sgt_epc_gpa(0));
	assert_int_equal(sgt_encls(&s, SGX_ELDU, SGT_PAGEINFO, sgt_epc_gpa(2), SLOT(2), &f), -EFAULT);
	assert_int_equal(f.vector, SGT_PF);
	/* the SECS first (PAGEINFO.SECS 0), then the child: ELDB leaves it blocked */
	sgt_pageinfo(&s, 0, 0x7000, 0x1180, 0);
	assert_int_equal(sgt_encls(&s, SGX_ELDU, SGT_PAGEINFO, sgt_epc_gpa(0), SLOT(3), NULL), 0);
	assert_int_equal(sgt_epcm(&s, 0).initialized, 1);
	sgt_pageinfo(&s, SGT_BASE + 0x1000, 0x6000, 0x1100, sgt_epc_gpa(0));
	assert_int_equal(sgt_encls(&s, SGX_ELDB, SGT_PAGEINFO, sgt_epc_gpa(2), SLOT(2), NULL), 0);
	assert_int_equal(sgt_epcm(&s, 2).blocked, 1);
	assert_int_equal(sgt_epcm(&s, 0).children, 1);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	sgt_teardown(&s);
}

/*
 * The host's paging (hw_sgx_host_*): the child stays counted on its SECS;
 * a blob the host altered or replays does not load (SGX_MAC_COMPARE_FAIL).
 */
static void test_sgx_host_ewb_tamper_and_replay(void **state)
{
	static struct hw_epc_blob blob, old;
	struct sgxt s;
	struct hw_epc *epc;
	uint64_t va, pa2, fresh, v = 0;

	(void)state;
	sgt_setup(&s, 16, 8);
	build(&s);
	epc = sgt_epc(s.k.m);
	assert_int_equal(hw_epc_alloc_page(epc, &va), 0);
	assert_int_equal(hw_sgx_host_epa(epc, va), 0);
	pa2 = sgt_pa(&s, 2);
	/* the host unmaps it first, as the kernel does: here nothing maps it but the EPT */
	assert_int_equal(kt_region(&s.k, 1, 0, 0, 0, 0), 0);
	assert_int_equal(hw_sgx_host_ewb(epc, pa2, va + 16, &blob), 0);
	assert_int_equal(sgt_epcm(&s, 0).children, 2);   /* still counted */
	assert_int_equal(hw_epc_check(epc), 0);
	assert_int_equal(hw_epc_alloc_page(epc, &fresh), 0);
	old = blob;
	blob.data[100] ^= 0x80;
	assert_int_equal(hw_sgx_host_eldu(epc, fresh, va + 16, &blob), SGX_MAC_COMPARE_FAIL);
	blob = old;
	blob.linaddr += KT_PG;
	assert_int_equal(hw_sgx_host_eldu(epc, fresh, va + 16, &blob), SGX_MAC_COMPARE_FAIL);
	blob = old;
	assert_int_equal(hw_sgx_host_eldu(epc, fresh, va + 16, &blob), 0);
	assert_int_equal(hw_epc_check(epc), 0);
	/* evict again, then replay the first blob into the new slot's place: refused */
	assert_int_equal(hw_sgx_host_ewb(epc, fresh, va + 16, &blob), 0);
	assert_int_equal(hw_epc_alloc_page(epc, &pa2), 0);
	assert_int_equal(hw_sgx_host_eldu(epc, pa2, va + 16, &old), SGX_MAC_COMPARE_FAIL);
	assert_int_equal(hw_sgx_host_eldu(epc, pa2, va + 16, &blob), 0);
	/* the contents came through: the guest reads them at the page's new home */
	{
		struct hw_epcm_entry e;

		assert_int_equal(hw_epcm_get(epc, pa2, &e), 0);
		assert_int_equal(e.linaddr, SGT_BASE + 0x1000);
		memcpy(&v, (uint8_t *)hw_pa_to_host(&s.k.m->hw, pa2) + 8, 8);
		assert_int_equal(v, 0x5a5a5a5a5a5a5a5aull);
	}
	/* drop forgets an evicted page: its SECS no longer counts it */
	assert_int_equal(hw_sgx_host_ewb(epc, pa2, va + 24, &blob), 0);
	assert_int_equal(hw_sgx_host_drop(epc, va + 24, &blob), 0);
	assert_int_equal(hw_sgx_host_drop(epc, va + 24, &blob), -EINVAL);
	assert_int_equal(hw_epc_check(epc), 0);
	sgt_teardown(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sgx_ewb_eldu_round_trip),
		cmocka_unit_test(test_sgx_eldu_replay_refused),
		cmocka_unit_test(test_sgx_eldu_tamper_refused),
		cmocka_unit_test(test_sgx_ewb_rules),
		cmocka_unit_test(test_sgx_ewb_secs_after_children),
		cmocka_unit_test(test_sgx_host_ewb_tamper_and_replay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
