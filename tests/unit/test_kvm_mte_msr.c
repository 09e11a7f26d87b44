/* SPDX-License-Identifier: MIT */
/*
 * The vCPU's MTE tag-check state through memvisor's own MSR_MV_MTE_CTRL
 * (uapi/kvm_snapshot.h, docs/mte.md): always readable, TCF in bits 1:0
 * and TBI in bit 2; writable only with what the guest itself could have
 * set (any mode with TBI on a VM with MTE, 0 on one without), a bad value
 * failing its entry as KVM_SET_MSRS fails one (the answer is the entries
 * done before it) and changing nothing; the mode the VMM sets is the one
 * the guest's accesses are checked in; the guest cannot reach the MSR.
 */
#include <stdbool.h>

#include "kvmtest.h"

#define MB (1ull << 20)
#define TAG(p, t) (((uint64_t)(p) & ~(0xfull << 56)) | ((uint64_t)(t) << 56))
#define TBI MV_MTE_CTRL_TBI

/* a header and up to 3 entries, 8-byte aligned */
struct msrs {
	uint64_t buf[1 + 2 * 3];
};

static struct kvm_msrs *hdr(struct msrs *m)
{
	return (void *)m->buf;
}

static long set_ctrl(struct kvmtest *k, int vcpu, uint64_t v)
{
	struct msrs m = { { 0 } };

	hdr(&m)->nmsrs = 1;
	hdr(&m)->entries[0] = (struct kvm_msr_entry){ .index = MSR_MV_MTE_CTRL, .data = v };
	return kt_ioctl_p(k->t, vcpu, KVM_SET_MSRS, hdr(&m));
}

static uint64_t get_ctrl(struct kvmtest *k, int vcpu)
{
	struct msrs m = { { 0 } };

	hdr(&m)->nmsrs = 1;
	hdr(&m)->entries[0] = (struct kvm_msr_entry){ .index = MSR_MV_MTE_CTRL, .data = 0xdead };
	assert_int_equal(kt_ioctl_p(k->t, vcpu, KVM_GET_MSRS, hdr(&m)), 1);
	return hdr(&m)->entries[0].data;
}

/* A VM (with MTE if @mte) and 2 MiB of memory at GPA 0, and its vCPU 0. */
static int vm(struct kvmtest *k, bool mte)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };

	kt_setup(k, 0);
	if (mte)
		assert_int_equal(kt_ioctl_p(k->t, k->vm, KVM_ENABLE_CAP, &cap), 0);
	assert_int_equal(kt_region(k, 0, 0, 0, 2 * MB, kt_mmap(k, 2 * MB)), 0);
	return kt_vcpu(k, 0);
}

struct gctx {
	long r[8];
	uint64_t v[4];
	struct mv_guest_fault f[4];
};

static void run_guest(struct kvmtest *k, int vcpu, mv_guest_fn fn, void *arg)
{
	assert_int_equal(mv_vcpu_set_guest(k->t, vcpu, fn, arg), 0);
	assert_int_equal(kt_run(k, vcpu), 0);
	assert_int_equal(mv_vcpu_run_area(k->t, vcpu)->exit_reason, KVM_EXIT_HLT);
}

static void guest_set_asymm(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;

	c->r[0] = mv_guest_set_tcf(g, MV_TCF_ASYMM);
}

static void test_mte_ctrl_msr_reads_the_vcpu_mode_on_every_vm(void **state)
{
	struct kvmtest k;
	struct gctx c = { .r = { 0 } };
	int vcpu;

	(void)state;
	vcpu = vm(&k, false);
	assert_int_equal(get_ctrl(&k, vcpu), 0);   /* no MTE: no checks, no TBI */
	kt_teardown(&k);
	vcpu = vm(&k, true);
	assert_int_equal(get_ctrl(&k, vcpu), MV_TCF_SYNC | TBI);   /* a new vCPU */
	run_guest(&k, vcpu, guest_set_asymm, &c);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(get_ctrl(&k, vcpu), MV_TCF_ASYMM | TBI);  /* what the guest chose */
	kt_teardown(&k);
}

/* One KVM_SET_MSRS of MSR_MV_MTE_CTRL: entries set (1, or 0 when refused). */
struct ctrl_row {
	const char *name;
	bool mte;
	uint64_t val;
	long want;
};

static const struct ctrl_row ctrl_rows[] = {
	{ "mte_none", true, MV_TCF_NONE | TBI, 1 },
	{ "mte_sync", true, MV_TCF_SYNC | TBI, 1 },
	{ "mte_async", true, MV_TCF_ASYNC | TBI, 1 },
	{ "mte_asymm", true, MV_TCF_ASYMM | TBI, 1 },
	{ "mte_without_tbi", true, MV_TCF_ASYNC, 0 },
	{ "mte_reserved_bit_3", true, MV_TCF_SYNC | TBI | 8, 0 },
	{ "mte_reserved_bit_63", true, MV_TCF_SYNC | TBI | (1ull << 63), 0 },
	{ "no_mte_zero", false, 0, 1 },
	{ "no_mte_sync", false, MV_TCF_SYNC, 0 },
	{ "no_mte_tbi", false, TBI, 0 },
	{ "no_mte_reserved", false, 1ull << 40, 0 },
};

static void test_mte_ctrl_msr_takes_only_what_the_guest_can_set(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ctrl_rows) / sizeof(ctrl_rows[0]); i++) {
		const struct ctrl_row *row = &ctrl_rows[i];
		struct kvmtest k;
		int vcpu = vm(&k, row->mte);
		uint64_t before = get_ctrl(&k, vcpu);

		print_message("%s\n", row->name);
		assert_int_equal(set_ctrl(&k, vcpu, row->val), row->want);
		assert_int_equal(get_ctrl(&k, vcpu), row->want ? row->val : before);
		kt_teardown(&k);
	}
}

/* In a batch the bad entry stops it: the entries before it are set, those after are not. */
static void test_mte_ctrl_msr_bad_entry_stops_the_batch(void **state)
{
	struct kvmtest k;
	struct msrs mb = { { 0 } };
	struct kvm_msrs *m = hdr(&mb);
	uint64_t ssp;
	int vcpu;

	(void)state;
	vcpu = vm(&k, true);
	m->nmsrs = 3;
	m->entries[0] = (struct kvm_msr_entry){ .index = MSR_IA32_PL3_SSP, .data = 0x7fff0000 };
	m->entries[1] = (struct kvm_msr_entry){ .index = MSR_MV_MTE_CTRL, .data = 8 | TBI };
	m->entries[2] = (struct kvm_msr_entry){ .index = MSR_IA32_U_CET, .data = 1 };
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_SET_MSRS, m), 1);
	assert_int_equal(get_ctrl(&k, vcpu), MV_TCF_SYNC | TBI);
	/* a good value goes through with the rest; GET reads it back among them */
	m->entries[1].data = MV_TCF_NONE | TBI;
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_SET_MSRS, m), 3);
	m->entries[0].data = m->entries[1].data = m->entries[2].data = 0x55;
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_MSRS, m), 3);
	ssp = m->entries[0].data;
	assert_int_equal(ssp, 0x7fff0000);
	assert_int_equal(m->entries[1].data, MV_TCF_NONE | TBI);
	assert_int_equal(m->entries[2].data, 1);
	kt_teardown(&k);
}

/* A mismatching write in the mode the VMM set, then a read; the guest's MSR access. */
static void guest_mismatch(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint64_t v = 0x77, got = 0;

	c->r[0] = mv_guest_set_tag(g, TAG(0x3000, 5));
	c->r[1] = mv_guest_write(g, TAG(0x3000, 6), &v, 8);
	mv_guest_last_fault(g, &c->f[1]);
	c->r[2] = mv_guest_read(g, TAG(0x3000, 5), &got, 8);
	mv_guest_last_fault(g, &c->f[2]);
	c->r[3] = mv_guest_read(g, TAG(0x3000, 5), &got, 8);
	c->v[3] = got;
	c->r[4] = mv_guest_rdmsr(g, MSR_MV_MTE_CTRL, &c->v[0]);   /* the VMM's only: #GP */
	mv_guest_last_fault(g, &c->f[0]);
	c->r[5] = mv_guest_wrmsr(g, MSR_MV_MTE_CTRL, MV_TCF_SYNC | TBI);
}

static void test_mte_ctrl_msr_mode_is_the_one_the_guest_runs(void **state)
{
	static const uint64_t modes[] = { MV_TCF_SYNC, MV_TCF_ASYNC, MV_TCF_NONE };

	(void)state;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct kvmtest k;
		struct gctx c = { .r = { 0 } };
		int vcpu = vm(&k, true);

		assert_int_equal(set_ctrl(&k, vcpu, modes[i] | TBI), 1);
		run_guest(&k, vcpu, guest_mismatch, &c);
		assert_int_equal(c.r[0], 0);
		if (modes[i] == MV_TCF_SYNC) {
			assert_int_equal(c.r[1], -EFAULT);          /* faults on the access */
			assert_true(c.f[1].error_code & MV_PF_MTE);
			assert_int_equal(c.r[2], 0);
			assert_int_equal(c.v[3], 0);                /* the write never landed */
		} else if (modes[i] == MV_TCF_ASYNC) {
			assert_int_equal(c.r[1], 0);                /* goes through ... */
			assert_int_equal(c.r[2], -EFAULT);          /* ... reported next */
			assert_int_equal(c.f[2].error_code, MV_PF_MTE_ASYNC);
			assert_int_equal(c.v[3], 0x77);
		} else {
			assert_int_equal(c.r[1], 0);                /* not checked at all */
			assert_int_equal(c.r[2], 0);
			assert_int_equal(c.v[3], 0x77);
		}
		assert_int_equal(c.r[4], -EFAULT);
		assert_int_equal(c.f[0].vector, 13);
		assert_int_equal(c.r[5], -EFAULT);
		assert_int_equal(get_ctrl(&k, vcpu), modes[i] | TBI);   /* WRMSR changed nothing */
		kt_teardown(&k);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mte_ctrl_msr_reads_the_vcpu_mode_on_every_vm),
		cmocka_unit_test(test_mte_ctrl_msr_takes_only_what_the_guest_can_set),
		cmocka_unit_test(test_mte_ctrl_msr_bad_entry_stops_the_batch),
		cmocka_unit_test(test_mte_ctrl_msr_mode_is_the_one_the_guest_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
