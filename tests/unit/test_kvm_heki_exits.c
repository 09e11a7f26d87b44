/* SPDX-License-Identifier: MIT */
/*
 * The VMM hears of Heki events it asked for (KVM_ENABLE_CAP with
 * KVM_CAP_HEKI_CONFIGURE / KVM_CAP_HEKI_DENIAL and a reason mask):
 * KVM_EXIT_HEKI_CONFIGURE after a CR pin or a protect, KVM_EXIT_HEKI_DENIAL
 * before a denied CR write or memory access (GPA, access, permissions);
 * the next KVM_RUN injects the fault. Unknown reasons -EINVAL; no exit
 * without the capability.
 */
#include "hekitest.h"

#define CR0_WP (1ull << 16)
#define CR4_PAE  (1ull << 5)
#define CR4_SMEP (1ull << 20)

struct ectx {
	long r[8];
	int vec[8];
};

static void guest_events(struct mv_guest *g, void *arg)
{
	struct ectx *c = arg;
	uint64_t v = 5;

	ht_long_mode(g);
	mv_guest_write_cr(g, 4, CR4_PAE | CR4_SMEP);
	c->r[0] = mv_guest_hypercall(g, KVM_HC_LOCK_CR_UPDATE, 0, CR0_WP, 0, 0);
	c->r[1] = mv_guest_hypercall(g, KVM_HC_LOCK_CR_UPDATE, 4, CR4_SMEP, 0, 0);
	c->r[2] = mv_guest_write_cr(g, 4, CR4_PAE);
	c->vec[2] = c->r[2] ? ht_vector(g) : 0;
	c->r[3] = ht_protect(g, HT_DATA, HT_DATA + 2 * KT_PG, MEM_ATTR_READ);
	c->r[4] = mv_guest_write(g, HT_DATA + KT_PG + 8, &v, 8);
	c->vec[4] = c->r[4] ? ht_vector(g) : 0;
}

static void test_kvm_heki_configure_and_denial_exits(void **state)
{
	struct ht h;
	struct ectx c;
	struct kvm_run *run;
	uint64_t seen = 1;

	(void)state;
	memset(&c, 0, sizeof(c));
	ht_setup(&h);
	run = h.run;
	assert_int_equal(kt_ioctl(h.k.t, h.k.vm, KVM_CHECK_EXTENSION, KVM_CAP_HEKI_DENIAL), 7);
	assert_int_equal(kt_ioctl(h.k.t, h.k.kvm, KVM_CHECK_EXTENSION, KVM_CAP_HEKI_CONFIGURE), 7);
	assert_int_equal(ht_enable_cap(&h, KVM_CAP_HEKI_CONFIGURE, 1ull << 3), -EINVAL);
	assert_int_equal(ht_enable_cap(&h, KVM_CAP_HEKI_CONFIGURE, (KVM_HEKI_EXIT_REASON_CR0 | KVM_HEKI_EXIT_REASON_CR4 | KVM_HEKI_EXIT_REASON_MEM)), 0);
	assert_int_equal(ht_enable_cap(&h, KVM_CAP_HEKI_DENIAL, (KVM_HEKI_EXIT_REASON_CR0 | KVM_HEKI_EXIT_REASON_CR4 | KVM_HEKI_EXIT_REASON_MEM)), 0);
	ht_guest(&h, guest_events, &c);
	/* CR0 pinned */
	assert_int_equal(kt_run(&h.k, h.vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HEKI_CONFIGURE);
	assert_int_equal(run->heki_configure.reason, KVM_HEKI_EXIT_REASON_CR0);
	assert_int_equal(run->heki_configure.cr_pinned, CR0_WP);
	/* CR4 pinned */
	assert_int_equal(kt_run(&h.k, h.vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HEKI_CONFIGURE);
	assert_int_equal(run->heki_configure.reason, KVM_HEKI_EXIT_REASON_CR4);
	assert_int_equal(KVM_RUN_HEKI_CONFIGURE(run).cr_pinned, CR4_SMEP);
	/* the guest clears SMEP */
	assert_int_equal(kt_run(&h.k, h.vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HEKI_DENIAL);
	assert_int_equal(run->heki_denial.reason, KVM_HEKI_EXIT_REASON_CR4);
	assert_int_equal(run->heki_denial.cr_value, CR4_PAE);
	/* the protect */
	assert_int_equal(kt_run(&h.k, h.vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HEKI_CONFIGURE);
	assert_int_equal(run->heki_configure.reason, KVM_HEKI_EXIT_REASON_MEM);
	assert_int_equal(run->heki_configure.gpa, HT_LIST);
	assert_int_equal(run->heki_configure.npages, 2);
	/* the denied write */
	assert_int_equal(kt_run(&h.k, h.vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HEKI_DENIAL);
	assert_int_equal(run->heki_denial.reason, KVM_HEKI_EXIT_REASON_MEM);
	assert_int_equal(run->heki_denial.gpa, HT_DATA + KT_PG + 8);
	assert_int_equal(KVM_RUN_HEKI_DENIAL(run).access, MEM_ATTR_WRITE);
	assert_int_equal(run->heki_denial.permissions, MEM_ATTR_READ);
	ht_run_to_hlt(&h);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.r[2], -EFAULT);
	assert_int_equal(c.vec[2], 13);
	assert_int_equal(c.r[3], 0);
	assert_int_equal(c.r[4], -EFAULT);
	assert_int_equal(c.vec[4], 14);
	assert_int_equal(mv_user_read(h.k.t, h.map + HT_DATA + KT_PG + 8, &seen, 8), 0);
	assert_int_equal(seen, 0);
	ht_teardown(&h);
}

static void test_kvm_heki_no_exit_without_capability(void **state)
{
	struct ht h;
	struct ectx c;

	(void)state;
	memset(&c, 0, sizeof(c));
	ht_setup(&h);
	/* only the memory reason for denials: the CR events pass silently */
	assert_int_equal(ht_enable_cap(&h, KVM_CAP_HEKI_DENIAL, KVM_HEKI_EXIT_REASON_MEM), 0);
	ht_guest(&h, guest_events, &c);
	assert_int_equal(kt_run(&h.k, h.vcpu), 0);
	assert_int_equal(h.run->exit_reason, KVM_EXIT_HEKI_DENIAL);
	assert_int_equal(h.run->heki_denial.reason, KVM_HEKI_EXIT_REASON_MEM);
	ht_run_to_hlt(&h);
	assert_int_equal(c.r[2], -EFAULT);
	assert_int_equal(c.r[4], -EFAULT);
	ht_teardown(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_heki_configure_and_denial_exits),
		cmocka_unit_test(test_kvm_heki_no_exit_without_capability),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
