/* SPDX-License-Identifier: MIT */
/*
 * SGX outside an enclave: abort-page semantics (reads all ones, writes
 * dropped) for the VMM's mapping of the vEPC and for the guest alike;
 * EDBGRD/EDBGWR as the only window into a debug enclave; and the attacks
 * these rules stop: reading an enclave's page from outside, writing into
 * it, and a freed page's contents reaching another guest.
 */
#include "sgxtest.h"

#define RW (SGX_SECINFO_R | SGX_SECINFO_W)

static void build(struct sgxt *s, uint64_t attr, uint8_t secret)
{
	assert_int_equal(sgt_ecreate(s, 0, attr), 0);
	assert_int_equal(sgt_eadd(s, 1, 0, 0, SGX_SECINFO_TCS, 0, NULL), 0);
	assert_int_equal(sgt_eadd(s, 2, 0, 0x1000, SGX_SECINFO_REG | RW, secret, NULL), 0);
}

static long edbgrd(struct sgxt *s, uint64_t page, uint64_t off, uint64_t *val)
{
	*val = 0;
	return sgt_encls_out(s, SGX_EDBGRD, val, sgt_epc_gpa(page) + off, 0, NULL);
}

/* The VMM reads its vEPC mapping: all ones, whatever the enclave holds. */
static void test_sgx_abort_vmm_reads_all_ones(void **state)
{
	struct sgxt s;
	uint8_t buf[64];

	(void)state;
	sgt_setup(&s, 16, 8);
	build(&s, 0, 0x42);
	assert_int_equal(mv_user_read(s.k.t, s.epc_map + 2 * KT_PG, buf, sizeof(buf)), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xff);
	/* an untouched page too: first touch allocates it, the read still aborts */
	assert_int_equal(mv_user_read(s.k.t, s.epc_map + 6 * KT_PG, buf, 8), 0);
	assert_int_equal(buf[0], 0xff);
	sgt_teardown(&s);
}

/* The VMM writes its vEPC mapping: dropped; the enclave's page is unchanged. */
static void test_sgx_abort_vmm_writes_dropped(void **state)
{
	struct sgxt s;
	uint8_t junk[64];
	uint64_t v;

	(void)state;
	sgt_setup(&s, 16, 8);
	build(&s, SGX_ATTR_DEBUG, 0x42);
	memset(junk, 0, sizeof(junk));
	assert_int_equal(mv_user_write(s.k.t, s.epc_map + 2 * KT_PG, junk, sizeof(junk)), 0);
	assert_int_equal(edbgrd(&s, 2, 0, &v), 0);
	assert_int_equal(v, 0x4242424242424242ull);
	assert_int_equal(mv_user_read(s.k.t, s.epc_map + 2 * KT_PG, junk, 8), 0);
	assert_int_equal(junk[0], 0xff);
	sgt_teardown(&s);
}

struct grw {
	uint64_t gpa;
	uint64_t val;
	long r0, r1, r2;
	uint64_t back;
};

static void guest_rw(struct mv_guest *g, void *arg)
{
	struct grw *c = arg;
	uint64_t zero = 0;

	c->r0 = mv_guest_read(g, c->gpa, &c->val, 8);
	c->r1 = mv_guest_write(g, c->gpa, &zero, 8);
	c->r2 = mv_guest_read(g, c->gpa, &c->back, 8);
}

/* The guest itself, outside the enclave, reads all ones and cannot write its EPC. */
static void test_sgx_abort_guest(void **state)
{
	struct sgxt s;
	struct grw c = { .gpa = SGT_EPC_GPA + 2 * KT_PG + 8 };
	uint64_t v;

	(void)state;
	sgt_setup(&s, 16, 8);
	build(&s, SGX_ATTR_DEBUG, 0x42);
	assert_int_equal(mv_vcpu_set_guest(s.k.t, s.vcpu, guest_rw, &c), 0);
	assert_int_equal(kt_run(&s.k, s.vcpu), 0);
	assert_int_equal(c.r0, 0);
	assert_int_equal(c.r1, 0);
	assert_int_equal(c.r2, 0);
	assert_int_equal(c.val, ~0ull);
	assert_int_equal(c.back, ~0ull);
	assert_int_equal(edbgrd(&s, 2, 8, &v), 0);
	assert_int_equal(v, 0x4242424242424242ull);
	sgt_teardown(&s);
}

/* EDBGWR then EDBGRD round-trips 8 bytes of a debug enclave's page. */
static void test_sgx_edbg_round_trip(void **state)
{
	struct sgxt s;
	uint64_t v = 0x0123456789abcdefull;

	(void)state;
	sgt_setup(&s, 16, 8);
	build(&s, SGX_ATTR_DEBUG, 0);
	assert_int_equal(sgt_encls(&s, SGX_EDBGWR, v, sgt_epc_gpa(2) + 0x18, 0, NULL), 0);
	assert_int_equal(edbgrd(&s, 2, 0x18, &v), 0);
	assert_int_equal(v, 0x0123456789abcdefull);
	sgt_teardown(&s);
}

/* Attack: EDBGRD of a production (non-debug) enclave is SGX_PAGE_NOT_DEBUGGABLE, nothing read. */
static void test_sgx_edbg_production_enclave_refused(void **state)
{
	struct sgxt s;
	uint64_t v;

	(void)state;
	sgt_setup(&s, 16, 8);
	build(&s, 0, 0x42);
	assert_int_equal(edbgrd(&s, 2, 0, &v), SGX_PAGE_NOT_DEBUGGABLE);
	assert_int_equal(v, 0);
	assert_int_equal(sgt_encls(&s, SGX_EDBGWR, 0, sgt_epc_gpa(2), 0, NULL),
			 SGX_PAGE_NOT_DEBUGGABLE);
	sgt_teardown(&s);
}

/* EDBGRD: misaligned is #GP(0); an invalid page #PF; a SECS is not debuggable. */
static void test_sgx_edbg_rules(void **state)
{
	struct sgxt s;
	struct mv_guest_fault f;
	uint64_t v;

	(void)state;
	sgt_setup(&s, 16, 8);
	build(&s, SGX_ATTR_DEBUG, 0);
	v = 0;
	assert_int_equal(sgt_encls_out(&s, SGX_EDBGRD, &v, sgt_epc_gpa(2) + 4, 0, &f), -EFAULT);
	assert_int_equal(f.vector, SGT_GP);
	assert_int_equal(sgt_encls_out(&s, SGX_EDBGRD, &v, sgt_epc_gpa(5), 0, &f), -EFAULT);
	assert_int_equal(f.vector, SGT_PF);
	assert_int_equal(edbgrd(&s, 0, 0, &v), SGX_PAGE_NOT_DEBUGGABLE);
	sgt_teardown(&s);
}

/*
 * Attack: a secret in VM 1's enclave, VM 1's vEPC released; VM 2 gets the
 * same EPC pages and reads them with EDBGRD in its own debug enclave: zeroes.
 */
static void test_sgx_freed_page_reaches_next_guest_wiped(void **state)
{
	struct sgxt a, b;
	struct hw_epc *epc;
	uint64_t pa_secret, v;

	(void)state;
	sgt_setup(&a, 4, 4);
	build(&a, 0, 0x5e);
	pa_secret = sgt_pa(&a, 2);
	epc = sgt_epc(a.k.m);
	/* a second VMM process on the same machine, and the first one gone */
	b.k.m = a.k.m;
	sgt_drop_vepc(&a, 1, a.vepc, a.epc_map, a.epc_pages);
	assert_int_equal(sgt_free(a.k.m), 4);
	assert_int_equal(hw_epc_check(epc), 0);
	{
		struct sgxt *s = &b;

		assert_int_equal(mv_task_spawn(s->k.m, &s->k.t), 0);
		s->k.kvm = (int)mv_syscall(s->k.t, MV_SYS_openat, (uint64_t)AT_FDCWD,
					   (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
		s->k.vm = (int)kt_ioctl(s->k.t, s->k.kvm, KVM_CREATE_VM, 0);
		s->ram = kt_mmap(&s->k, SGT_RAM_SIZE);
		assert_int_equal(kt_region(&s->k, 0, 0, 0, SGT_RAM_SIZE, s->ram), 0);
		s->vepc = sgt_open_vepc(s->k.t);
		s->epc_pages = 4;
		s->epc_map = sgt_map_vepc(s->k.t, s->vepc, 4);
		assert_int_equal(kt_region(&s->k, 1, 0, SGT_EPC_GPA, 4 * KT_PG, s->epc_map), 0);
		s->vcpu = kt_vcpu(&s->k, 0);
		s->run = mv_vcpu_run_area(s->k.t, s->vcpu);
	}
	assert_int_equal(sgt_ecreate(&b, 0, SGX_ATTR_DEBUG), 0);
	sgt_sigstruct(&b, NULL);
	assert_int_equal(sgt_einit(&b, 0, NULL), 0);
	for (uint64_t p = 1; p < 4; p++) {
		sgt_pageinfo(&b, SGT_BASE + p * KT_PG, 0, 0, sgt_epc_gpa(0));
		assert_int_equal(sgt_encls(&b, SGX_EAUG, SGT_PAGEINFO, sgt_epc_gpa(p), 0, NULL), 0);
	}
	/* every EPC page is in use now, so VM 1's secret page is one of VM 2's */
	assert_int_equal(sgt_free(b.k.m), 0);
	for (uint64_t p = 1; p < 4; p++) {
		if (sgt_pa(&b, p) == pa_secret)
			pa_secret = 0;
		for (uint64_t off = 0; off < 4096; off += 512) {
			assert_int_equal(edbgrd(&b, p, off, &v), 0);
			assert_int_equal(v, 0);
		}
	}
	/* the secret page was a child page of VM 2 or its SECS (ECREATE overwrote it) */
	sgt_teardown(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sgx_abort_vmm_reads_all_ones),
		cmocka_unit_test(test_sgx_abort_vmm_writes_dropped),
		cmocka_unit_test(test_sgx_abort_guest),
		cmocka_unit_test(test_sgx_edbg_round_trip),
		cmocka_unit_test(test_sgx_edbg_production_enclave_refused),
		cmocka_unit_test(test_sgx_edbg_rules),
		cmocka_unit_test(test_sgx_freed_page_reaches_next_guest_wiped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
