/* SPDX-License-Identifier: MIT */
/*
 * Hypercalls as x86 KVM answers them (kvm_emulate_hypercall,
 * kvm_pv_send_ipi): unknown numbers get -KVM_ENOSYS in the guest, KVM_HC_MAP_GPA_RANGE exits to user space only when the VMM
 * enabled it with KVM_CAP_EXIT_HYPERCALL, and its answer in
 * run->hypercall.ret is what the guest gets. Outside 64-bit mode the call
 * is 32 bits wide; from CPL 3 it is refused with -KVM_EPERM.
 */
#include "kvmtest.h"

struct hc_row {
	uint64_t nr, a0, a1, a2, a3;
	long expect;
};

static const struct hc_row hc_rows[] = {
	{ 999, 0, 0, 0, 0, -KVM_ENOSYS },
	{ 0, 0, 0, 0, 0, -KVM_ENOSYS },
	{ KVM_HC_MMU_OP, 0, 0, 0, 0, -KVM_ENOSYS },
	{ KVM_HC_FEATURES, 0, 0, 0, 0, -KVM_ENOSYS },
	{ KVM_HC_VAPIC_POLL_IRQ, 0, 0, 0, 0, 0 },
	{ KVM_HC_KICK_CPU, 0, 1, 0, 0, 0 },
	{ KVM_HC_SCHED_YIELD, 1, 0, 0, 0, 0 },
	/* kvm_pv_send_ipi: the ICR (a3) first, then the APIC map memvisor lacks */
	{ KVM_HC_SEND_IPI, 1, 0, 0, 0xfe, -KVM_EOPNOTSUPP },
	{ KVM_HC_SEND_IPI, 1, 0, 0, 0x4fe, -KVM_EOPNOTSUPP },             /* fixed, NMI modes */
	{ KVM_HC_SEND_IPI, 1, 0, 0, 0x8fe, -KVM_EINVAL },                 /* logical destination */
	{ KVM_HC_SEND_IPI, 1, 0, 0, 0x400fe, -KVM_EINVAL },               /* shorthand: self */
	{ KVM_HC_SEND_IPI, 1, 0, 0, 0xc00fe, -KVM_EINVAL },               /* all but self */
	{ KVM_HC_SEND_IPI, 0, 0, 0, 0x800, -KVM_EINVAL },                 /* checked first */
	{ KVM_HC_CLOCK_PAIRING, 0, 0, 0, 0, -KVM_EOPNOTSUPP },
	{ KVM_HC_MAP_GPA_RANGE, 0x1000, 1, 0, 0, -KVM_ENOSYS },   /* exit not enabled */
};

struct hc_ctx {
	const struct hc_row *rows;
	size_t n;
	long got[32];
};

static void guest_hypercalls(struct mv_guest *g, void *arg)
{
	struct hc_ctx *c = arg;

	for (size_t i = 0; i < c->n; i++)
		c->got[i] = mv_guest_hypercall(g, c->rows[i].nr, c->rows[i].a0, c->rows[i].a1,
					       c->rows[i].a2, c->rows[i].a3);
}

static void run_table(int long_mode)
{
	struct kvmtest k;
	struct hc_ctx c = { .rows = hc_rows, .n = sizeof(hc_rows) / sizeof(hc_rows[0]) };
	int vcpu;

	kt_setup(&k, 0);
	vcpu = kt_vcpu(&k, 0);
	if (long_mode) {
		struct kvm_sregs s;

		assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_SREGS, &s), 0);
		s.cr4 |= 1ull << 5;
		s.efer = (1ull << 8) | (1ull << 10);
		s.cr0 |= 1ull << 31;
		s.cr3 = 0;
		assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_SET_SREGS, &s), 0);
	}
	assert_int_equal(mv_vcpu_set_guest(k.t, vcpu, guest_hypercalls, &c), 0);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(mv_vcpu_run_area(k.t, vcpu)->exit_reason, KVM_EXIT_HLT);
	for (size_t i = 0; i < c.n; i++)
		if (c.got[i] != hc_rows[i].expect)
			fail_msg("row %zu (nr %llu): got %ld, expected %ld", i,
				 (unsigned long long)hc_rows[i].nr, c.got[i], hc_rows[i].expect);
	kt_teardown(&k);
}

static void test_kvm_hypercall_table_32bit(void **state)
{
	run_table(0);
}

static void test_kvm_hypercall_table_64bit(void **state)
{
	run_table(1);
}

struct map_ctx {
	long r[4];
};

static void guest_map_gpa(struct mv_guest *g, void *arg)
{
	struct map_ctx *c = arg;

	c->r[0] = mv_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, 0x200000, 16, 1ull << 4, 0);
	c->r[1] = mv_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, 0x200010, 16, 0, 0);  /* unaligned */
	c->r[2] = mv_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, 0x200000, 0, 0, 0);   /* no pages */
	c->r[3] = mv_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, 0x1000, 1, 0, 0);
}

static void test_kvm_hypercall_exit_to_user(void **state)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_HYPERCALL,
				      .args = { 1ull << KVM_HC_MAP_GPA_RANGE } };
	struct map_ctx c = { { 0 } };
	struct kvmtest k;
	struct kvm_run *run;
	int vcpu;

	kt_setup(&k, 0);
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_ENABLE_CAP, &cap), 0);
	vcpu = kt_vcpu(&k, 0);
	assert_int_equal(mv_vcpu_set_guest(k.t, vcpu, guest_map_gpa, &c), 0);
	run = mv_vcpu_run_area(k.t, vcpu);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HYPERCALL);
	assert_int_equal(run->hypercall.nr, KVM_HC_MAP_GPA_RANGE);
	assert_int_equal(run->hypercall.args[0], 0x200000);
	assert_int_equal(run->hypercall.args[1], 16);
	assert_int_equal(run->hypercall.args[2], 1ull << 4);
	assert_int_equal(run->hypercall.flags, 0);   /* paging off: not long mode */
	run->hypercall.ret = 0;
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HYPERCALL);
	assert_int_equal(run->hypercall.args[0], 0x1000);
	run->hypercall.ret = (uint64_t)-KVM_EINVAL;
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], -KVM_EINVAL);
	assert_int_equal(c.r[2], -KVM_EINVAL);
	assert_int_equal(c.r[3], -KVM_EINVAL);
	kt_teardown(&k);
}

static void guest_hc_once(struct mv_guest *g, void *arg)
{
	*(long *)arg = mv_guest_hypercall(g, KVM_HC_VAPIC_POLL_IRQ, 0, 0, 0, 0);
}

static void test_kvm_hypercall_cpl3_eperm(void **state)
{
	struct kvmtest k;
	struct kvm_sregs s;
	long got = 1;
	int vcpu;

	kt_setup(&k, 0);
	vcpu = kt_vcpu(&k, 0);
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_SREGS, &s), 0);
	s.ss.dpl = 3;
	s.cs.dpl = 3;
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_SET_SREGS, &s), 0);
	assert_int_equal(mv_vcpu_set_guest(k.t, vcpu, guest_hc_once, &got), 0);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(got, -KVM_EPERM);
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_hypercall_table_32bit),
		cmocka_unit_test(test_kvm_hypercall_table_64bit),
		cmocka_unit_test(test_kvm_hypercall_exit_to_user),
		cmocka_unit_test(test_kvm_hypercall_cpl3_eperm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
