/* SPDX-License-Identifier: MIT */
/*
 * The guest's CET state through KVM_GET_MSRS / KVM_SET_MSRS and the
 * guest's own RDMSR / WRMSR (docs/kvm.md, "CET state"): msr_io()'s
 * errnos and partial progress, kvm_is_valid_u_s_cet()'s rules, the SSP
 * MSRs' canonical and alignment checks, the CPUID rule (no SHSTK: the SSP
 * MSRs do not exist; no SHSTK and no IBT: neither do U_CET / S_CET), and
 * the guest seeing what the VMM set.
 */
#include "kvmtest.h"

/* a header and up to 7 entries, 8-byte aligned */
struct msrs {
	uint64_t buf[1 + 2 * 7];
};

static struct kvm_msrs *hdr(struct msrs *m)
{
	return (void *)m->buf;
}

static long set_msr(struct kvmtest *k, int vcpu, uint32_t index, uint64_t v)
{
	struct msrs m = { { 0 } };

	hdr(&m)->nmsrs = 1;
	hdr(&m)->entries[0] = (struct kvm_msr_entry){ .index = index, .data = v };
	return kt_ioctl_p(k->t, vcpu, KVM_SET_MSRS, hdr(&m));
}

static long get_msr(struct kvmtest *k, int vcpu, uint32_t index, uint64_t *v)
{
	struct msrs m = { { 0 } };
	long r;

	hdr(&m)->nmsrs = 1;
	hdr(&m)->entries[0] = (struct kvm_msr_entry){ .index = index, .data = 0xdead };
	r = kt_ioctl_p(k->t, vcpu, KVM_GET_MSRS, hdr(&m));
	*v = hdr(&m)->entries[0].data;
	return r;
}

static void setup_features(struct kvmtest *k, uint64_t off)
{
	struct mv_machine_config cfg = { .ram_bytes = 64ull << 20, .features_off = off };

	assert_int_equal(mv_machine_create(&cfg, &k->m), 0);
	assert_int_equal(mv_task_spawn(k->m, &k->t), 0);
	k->kvm = (int)mv_syscall(k->t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				 (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
	k->vm = (int)kt_ioctl(k->t, k->kvm, KVM_CREATE_VM, 0);
	assert_true(k->vm >= 0);
}

static void test_msr_io_errnos_and_partial_progress(void **state)
{
	struct kvmtest k;
	struct msrs mb = { { 0 } };
	struct kvm_msrs *m = hdr(&mb);
	struct kvm_msrs big = { .nmsrs = 256 };
	int vcpu;

	(void)state;
	kt_setup(&k, 0);
	vcpu = kt_vcpu(&k, 0);
	assert_int_equal(kt_ioctl(k.t, vcpu, KVM_GET_MSRS, 8), -EFAULT);
	assert_int_equal(kt_ioctl(k.t, vcpu, KVM_SET_MSRS, 8), -EFAULT);
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_SET_MSRS, &big), -E2BIG);
	/* none at all: 0 done */
	m->nmsrs = 0;
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_SET_MSRS, m), 0);
	/* the batch stops at the first entry that fails and says how many went */
	m->nmsrs = 4;
	m->entries[0] = (struct kvm_msr_entry){ .index = MSR_IA32_PL3_SSP, .data = 0x7fff0000 };
	m->entries[1] = (struct kvm_msr_entry){ .index = MSR_IA32_U_CET, .data = 1 };
	m->entries[2] = (struct kvm_msr_entry){ .index = 0x10, .data = 0 };   /* an MSR not modelled */
	m->entries[3] = (struct kvm_msr_entry){ .index = MSR_IA32_S_CET, .data = 1 };
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_SET_MSRS, m), 2);
	m->entries[0].data = m->entries[1].data = m->entries[3].data = 0x55;
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_MSRS, m), 2);
	assert_int_equal(m->entries[0].data, 0x7fff0000);
	assert_int_equal(m->entries[1].data, 1);
	assert_int_equal(m->entries[3].data, 0x55);    /* not reached: left as it was */
	kt_teardown(&k);
}

static void test_u_s_cet_checked_as_kvm_is_valid_u_s_cet(void **state)
{
	static const uint32_t idx[2] = { MSR_IA32_U_CET, MSR_IA32_S_CET };
	struct kvmtest k;
	uint64_t v;
	int vcpu;

	(void)state;
	kt_setup(&k, 0);
	vcpu = kt_vcpu(&k, 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(set_msr(&k, vcpu, idx[i], 1ull << 6), 0);      /* reserved 9:6 */
		assert_int_equal(set_msr(&k, vcpu, idx[i], 1ull << 12), 0);     /* bitmap base */
		assert_int_equal(set_msr(&k, vcpu, idx[i], (1ull << 10) | (1ull << 11)), 0);
		/* SHSTK_EN | WRSS_EN | ENDBR_EN and a 16 KiB-aligned bitmap base */
		assert_int_equal(set_msr(&k, vcpu, idx[i], 0x7 | (1ull << 14)), 1);
		assert_int_equal(get_msr(&k, vcpu, idx[i], &v), 1);
		assert_int_equal(v, 0x7 | (1ull << 14));
	}
	kt_teardown(&k);

	/* without IBT the IBT bits, bits 63:10 included, are refused */
	setup_features(&k, MV_FEAT_IBT);
	vcpu = kt_vcpu(&k, 0);
	assert_int_equal(set_msr(&k, vcpu, MSR_IA32_U_CET, 1ull << 2), 0);
	assert_int_equal(set_msr(&k, vcpu, MSR_IA32_U_CET, 1ull << 14), 0);
	assert_int_equal(set_msr(&k, vcpu, MSR_IA32_U_CET, 3), 1);
	kt_teardown(&k);
}

static void test_ssp_msrs_canonical_and_aligned(void **state)
{
	struct kvmtest k;
	uint64_t v;
	int vcpu;

	(void)state;
	kt_setup(&k, 0);
	vcpu = kt_vcpu(&k, 0);
	for (uint32_t i = MSR_IA32_PL0_SSP; i <= MSR_IA32_PL3_SSP; i++) {
		assert_int_equal(set_msr(&k, vcpu, i, 0x800000000000ull), 0);   /* non-canonical */
		assert_int_equal(set_msr(&k, vcpu, i, 0x1002), 0);              /* not 4-byte aligned */
		assert_int_equal(set_msr(&k, vcpu, i, 0xffff800000001001ull), 0);
		assert_int_equal(set_msr(&k, vcpu, i, 0xffff800000001000ull + 4 * i), 1);
		assert_int_equal(get_msr(&k, vcpu, i, &v), 1);
		assert_int_equal(v, 0xffff800000001000ull + 4 * i);
	}
	/* the interrupt SSP table address only needs to be canonical */
	assert_int_equal(set_msr(&k, vcpu, MSR_IA32_INT_SSP_TAB, 0x1001), 1);
	assert_int_equal(set_msr(&k, vcpu, MSR_IA32_INT_SSP_TAB, 1ull << 47), 0);
	assert_int_equal(get_msr(&k, vcpu, MSR_IA32_INT_SSP_TAB, &v), 1);
	assert_int_equal(v, 0x1001);
	kt_teardown(&k);
}

static void test_cet_msrs_exist_only_with_shstk_or_ibt(void **state)
{
	struct kvmtest k;
	uint64_t v;
	int vcpu;

	(void)state;
	/* no SHSTK: the SSP MSRs are gone; U_CET stays for IBT, without the SHSTK bits */
	setup_features(&k, MV_FEAT_SHSTK);
	vcpu = kt_vcpu(&k, 0);
	assert_int_equal(get_msr(&k, vcpu, MSR_IA32_PL0_SSP, &v), 0);
	assert_int_equal(set_msr(&k, vcpu, MSR_IA32_PL3_SSP, 0), 0);
	assert_int_equal(set_msr(&k, vcpu, MSR_IA32_U_CET, 1), 0);
	assert_int_equal(set_msr(&k, vcpu, MSR_IA32_U_CET, 1ull << 2), 1);
	kt_teardown(&k);

	/* neither: no CET MSR at all, not even a read */
	setup_features(&k, MV_FEAT_SHSTK | MV_FEAT_IBT);
	vcpu = kt_vcpu(&k, 0);
	assert_int_equal(get_msr(&k, vcpu, MSR_IA32_U_CET, &v), 0);
	assert_int_equal(get_msr(&k, vcpu, MSR_IA32_S_CET, &v), 0);
	assert_int_equal(set_msr(&k, vcpu, MSR_IA32_S_CET, 0), 0);
	kt_teardown(&k);
}

struct gctx {
	long r[8];
	uint64_t v[8];
	struct mv_guest_fault f;
};

static void guest_msrs(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;

	c->r[0] = mv_guest_rdmsr(g, MSR_IA32_PL0_SSP, &c->v[0]);
	c->r[1] = mv_guest_rdmsr(g, MSR_IA32_S_CET, &c->v[1]);
	c->r[2] = mv_guest_wrmsr(g, MSR_IA32_PL3_SSP, 0x7ffe0003);     /* misaligned: #GP */
	mv_guest_last_fault(g, &c->f);
	c->r[3] = mv_guest_wrmsr(g, MSR_IA32_PL3_SSP, 0x7ffe0000);
	c->r[4] = mv_guest_rdmsr(g, 0x10, &c->v[4]);                    /* not modelled: #GP */
	c->r[5] = mv_guest_rdmsr(g, MSR_IA32_U_CET, NULL);
}

static void test_guest_rdmsr_wrmsr_see_the_vmm_state(void **state)
{
	struct kvmtest k;
	struct gctx c;
	uint64_t v;
	int vcpu;

	(void)state;
	memset(&c, 0, sizeof(c));
	kt_setup(&k, 0);
	vcpu = kt_vcpu(&k, 0);
	assert_int_equal(set_msr(&k, vcpu, MSR_IA32_PL0_SSP, 0xffff888000200ff8ull), 1);
	assert_int_equal(set_msr(&k, vcpu, MSR_IA32_S_CET, 1), 1);
	assert_int_equal(mv_vcpu_set_guest(k.t, vcpu, guest_msrs, &c), 0);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(mv_vcpu_run_area(k.t, vcpu)->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.v[0], 0xffff888000200ff8ull);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.v[1], 1);
	assert_int_equal(c.r[2], -EFAULT);
	assert_int_equal(c.f.vector, 13);
	assert_int_equal(c.r[3], 0);
	assert_int_equal(c.r[4], -EFAULT);
	assert_int_equal(c.r[5], -EINVAL);
	/* what the guest wrote, the VMM reads (and would save) */
	assert_int_equal(get_msr(&k, vcpu, MSR_IA32_PL3_SSP, &v), 1);
	assert_int_equal(v, 0x7ffe0000);
	kt_teardown(&k);
}

static void guest_user_msrs(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;

	c->r[0] = mv_guest_rdmsr(g, MSR_IA32_PL3_SSP, &c->v[0]);
	mv_guest_last_fault(g, &c->f);
	c->r[1] = mv_guest_wrmsr(g, MSR_IA32_PL3_SSP, 0x1000);
}

/* RDMSR and WRMSR are privileged: at CPL 3 every one is #GP and changes nothing. */
static void test_guest_msr_access_at_cpl3_is_gp(void **state)
{
	struct kvmtest k;
	struct kvm_sregs s;
	struct gctx c;
	uint64_t v;
	int vcpu;

	(void)state;
	memset(&c, 0, sizeof(c));
	kt_setup(&k, 0);
	vcpu = kt_vcpu(&k, 0);
	assert_int_equal(set_msr(&k, vcpu, MSR_IA32_PL3_SSP, 0x2000), 1);
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_SREGS, &s), 0);
	s.ss.dpl = 3;
	s.cs.dpl = 3;
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_SET_SREGS, &s), 0);
	assert_int_equal(mv_vcpu_set_guest(k.t, vcpu, guest_user_msrs, &c), 0);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(c.r[0], -EFAULT);
	assert_int_equal(c.f.vector, 13);
	assert_int_equal(c.r[1], -EFAULT);
	assert_int_equal(get_msr(&k, vcpu, MSR_IA32_PL3_SSP, &v), 1);
	assert_int_equal(v, 0x2000);
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msr_io_errnos_and_partial_progress),
		cmocka_unit_test(test_u_s_cet_checked_as_kvm_is_valid_u_s_cet),
		cmocka_unit_test(test_ssp_msrs_canonical_and_aligned),
		cmocka_unit_test(test_cet_msrs_exist_only_with_shstk_or_ibt),
		cmocka_unit_test(test_guest_rdmsr_wrmsr_see_the_vmm_state),
		cmocka_unit_test(test_guest_msr_access_at_cpl3_is_gp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
