/* SPDX-License-Identifier: MIT */
/*
 * Beyond mainline: host-side EPC oversubscription (KVM_SGX_EPC_RECLAIM).
 * A guest builds an enclave larger than the EPC, or than its VM's limit:
 * the kernel evicts pages of its vEPC (EWB into host memory) and loads
 * them back when touched (ELDU); the enclave's contents survive, the
 * guest's view of its EPCM does not change (a SECS with evicted children
 * still has children), and every page comes back to the EPC at release.
 */
#include "sgxtest.h"

#define RW (SGX_SECINFO_R | SGX_SECINFO_W)

static long set_limit(struct sgxt *s, uint64_t pages, uint64_t flags)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SGX_EPC_LIMIT, .args = { pages, flags } };

	return kt_ioctl_p(s->k.t, s->k.vm, KVM_ENABLE_CAP, &cap);
}

static struct mv_machine_stats stats(struct sgxt *s)
{
	struct mv_machine_stats st;

	mv_machine_get_stats(s->k.m, &st);
	return st;
}

/* A debug enclave of @n REG pages at vEPC pages 1..n, page i filled with 0x10 + i. */
static void build_big(struct sgxt *s, uint64_t n)
{
	assert_int_equal(sgt_ecreate(s, 0, SGX_ATTR_DEBUG), 0);
	for (uint64_t i = 1; i <= n; i++)
		assert_int_equal(sgt_eadd(s, i, 0, i * KT_PG, SGX_SECINFO_REG | RW,
					  (uint8_t)(0x10 + i), NULL), 0);
}

static void check_contents(struct sgxt *s, uint64_t n)
{
	for (uint64_t i = 1; i <= n; i++) {
		uint64_t v = 0, want = 0x0101010101010101ull * (0x10 + i);

		assert_int_equal(sgt_encls_out(s, SGX_EDBGRD, &v, sgt_epc_gpa(i) + 0x800, 0, NULL), 0);
		assert_int_equal(v, want);
	}
}

/* Without the flag the limit is hard (SIGBUS); unknown flags are EINVAL. */
static void test_sgx_reclaim_flag(void **state)
{
	struct sgxt s;

	(void)state;
	sgt_setup(&s, 16, 8);
	assert_int_equal(set_limit(&s, 0, 2), -EINVAL);
	assert_int_equal(set_limit(&s, 0, KVM_SGX_EPC_RECLAIM), 0);
	sgt_teardown(&s);
}

/* An enclave of 12 pages in an EPC of 8: pages go out and come back, contents intact. */
static void test_sgx_reclaim_enclave_bigger_than_epc(void **state)
{
	struct sgxt s;
	struct mv_machine_stats st;

	(void)state;
	sgt_setup(&s, 8, 16);
	assert_int_equal(set_limit(&s, 0, KVM_SGX_EPC_RECLAIM), 0);
	build_big(&s, 12);
	st = stats(&s);
	assert_true(st.epc_evictions > 0);
	assert_int_equal(st.epc_sigbus, 0);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	check_contents(&s, 12);
	st = stats(&s);
	assert_true(st.epc_reloads > 0);
	/* the guest's view: the SECS still has its 12 children, wherever they are */
	assert_int_equal(sgt_eremove(&s, 0), SGX_CHILD_PRESENT);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	sgt_drop_vepc(&s, 1, s.vepc, s.epc_map, s.epc_pages);
	assert_int_equal(sgt_free(s.k.m), 8);
	assert_int_equal(stats(&s).epc_zombie_secs, 0);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	sgt_teardown(&s);
}

/* With a limit of 5 pages and reclaim on, the VM never holds more than 5. */
static void test_sgx_reclaim_within_limit(void **state)
{
	struct sgxt s;
	uint64_t u, l;

	(void)state;
	sgt_setup(&s, 32, 16);
	assert_int_equal(set_limit(&s, 5, KVM_SGX_EPC_RECLAIM), 0);
	build_big(&s, 8);
	assert_int_equal(mv_vm_epc_usage(s.k.t, s.k.vm, &u, &l), 0);
	assert_true(u <= 5);
	assert_int_equal(l, 5);
	check_contents(&s, 8);
	assert_int_equal(mv_vm_epc_usage(s.k.t, s.k.vm, &u, &l), 0);
	assert_true(u <= 5);
	assert_int_equal(stats(&s).epc_limit_denials, 0);
	sgt_teardown(&s);
}

/* REMOVE_ALL forgets evicted pages too: the two-pass reset leaves nothing, release gives all back. */
static void test_sgx_reclaim_remove_all(void **state)
{
	struct sgxt s;

	(void)state;
	sgt_setup(&s, 8, 16);
	assert_int_equal(set_limit(&s, 0, KVM_SGX_EPC_RECLAIM), 0);
	build_big(&s, 10);
	assert_int_equal(sgt_remove_all(s.k.t, s.vepc), 1);
	assert_int_equal(sgt_remove_all(s.k.t, s.vepc), 0);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	/* the guest starts again on a clean EPC */
	build_big(&s, 10);
	check_contents(&s, 10);
	sgt_drop_vepc(&s, 1, s.vepc, s.epc_map, s.epc_pages);
	assert_int_equal(sgt_free(s.k.m), 8);
	sgt_teardown(&s);
}

/* A processor inside the enclave pins its pages: nothing to evict, so the fault is SIGBUS. */
static void test_sgx_reclaim_not_while_inside(void **state)
{
	struct sgxt s;
	struct mv_machine_stats st;
	uint64_t x;

	(void)state;
	sgt_setup(&s, 8, 16);
	assert_int_equal(set_limit(&s, 0, KVM_SGX_EPC_RECLAIM), 0);
	build_big(&s, 6);   /* VA + SECS + 6: the EPC is full */
	assert_int_equal(hw_epc_set_threads(sgt_epc(s.k.m), sgt_pa(&s, 0), 1), 0);
	assert_int_equal(mv_user_read(s.k.t, s.epc_map + 10 * KT_PG, &x, 8), -EFAULT);
	mvtest_expect_signal(s.k.t, SIGBUS, BUS_ADRERR, s.epc_map + 10 * KT_PG);
	st = stats(&s);
	assert_int_equal(st.epc_evictions, 0);
	assert_int_equal(hw_epc_set_threads(sgt_epc(s.k.m), sgt_pa(&s, 0), 0), 0);
	assert_int_equal(mv_user_read(s.k.t, s.epc_map + 10 * KT_PG, &x, 8), 0);
	assert_int_equal(stats(&s).epc_evictions, 1);
	sgt_teardown(&s);
}

/*
 * A leaf naming more evictable EPC operands than the VM's allowance holds
 * (EADD of a fresh page "into" another fresh page, limit 1) would evict
 * one operand to fault in the other, forever. KVM_RUN leaves instead, as
 * for an EPC fault it cannot satisfy: -EFAULT with a memory-fault exit at
 * one of the two pages. With room for both, entering again finishes the
 * leaf (here #PF: the second page is no SECS).
 */
static void test_sgx_reclaim_leaf_bigger_than_the_limit_exits(void **state)
{
	struct sgt_encls e = { .leaf = SGX_EADD, .rbx = SGT_PAGEINFO, .rcx = sgt_epc_gpa(0) };
	struct sgxt s;
	uint64_t gpa, u, l;

	(void)state;
	sgt_setup(&s, 8, 8);
	assert_int_equal(set_limit(&s, 1, KVM_SGX_EPC_RECLAIM), 0);
	sgt_secinfo(&s, SGX_SECINFO_REG | SGX_SECINFO_R);
	sgt_pageinfo(&s, SGT_BASE, SGT_SRC, SGT_SECINFO, sgt_epc_gpa(1));
	assert_int_equal(mv_vcpu_set_guest(s.k.t, s.vcpu, sgt_guest_encls, &e), 0);
	assert_int_equal(kt_run(&s.k, s.vcpu), -EFAULT);
	assert_int_equal(s.run->exit_reason, KVM_EXIT_MEMORY_FAULT);
	gpa = s.run->memory_fault.gpa;
	assert_true(gpa == sgt_epc_gpa(0) || gpa == sgt_epc_gpa(1));
	assert_int_equal(s.run->memory_fault.size, KT_PG);
	assert_int_equal(mv_vm_epc_usage(s.k.t, s.k.vm, &u, &l), 0);
	assert_true(u <= 1);
	/* the same again while the VMM leaves the limit alone: it does not hang */
	assert_int_equal(kt_run(&s.k, s.vcpu), -EFAULT);
	assert_int_equal(s.run->exit_reason, KVM_EXIT_MEMORY_FAULT);
	assert_int_equal(set_limit(&s, 2, KVM_SGX_EPC_RECLAIM), 0);
	assert_int_equal(kt_run(&s.k, s.vcpu), 0);
	assert_int_equal(s.run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(e.ret, -EFAULT);
	assert_int_equal(e.f.vector, SGT_PF);   /* EPCM of the "SECS" not a SECS: #PF */
	sgt_teardown(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sgx_reclaim_flag),
		cmocka_unit_test(test_sgx_reclaim_enclave_bigger_than_epc),
		cmocka_unit_test(test_sgx_reclaim_within_limit),
		cmocka_unit_test(test_sgx_reclaim_remove_all),
		cmocka_unit_test(test_sgx_reclaim_not_while_inside),
		cmocka_unit_test(test_sgx_reclaim_leaf_bigger_than_the_limit_exits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
