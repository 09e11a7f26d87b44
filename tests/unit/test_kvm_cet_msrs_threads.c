/* SPDX-License-Identifier: MIT */
/*
 * The guest's CET MSRs under concurrency (TSan): a vCPU thread's guest
 * writes and reads IA32_PL3_SSP, leaving to the VMM (an MMIO exit) after
 * each pair, while a VMM thread sets and reads the same MSR with
 * KVM_SET_MSRS / KVM_GET_MSRS. vcpu->mutex orders the two: every value
 * either side reads is one of the values written, whole, and the last
 * write wins.
 */
#include <pthread.h>
#include <stdbool.h>

#include "kvmtest.h"

#define ITERS 400
#define GUEST_SSP(i) (0x10000000ull + (uint64_t)(i) * 8)
#define VMM_SSP(i)   (0x20000000ull + (uint64_t)(i) * 8)

struct gv {
	struct mv_task *t;
	int fd;
	long bad;              /* values read that nobody wrote */
	long run_errors;
};

static unsigned int guest_done;   /* atomic */

static bool written(uint64_t v)
{
	if (v == 0)
		return true;
	if (v >= GUEST_SSP(0) && v < GUEST_SSP(ITERS))
		return (v - GUEST_SSP(0)) % 8 == 0;
	return v >= VMM_SSP(0) && (v - VMM_SSP(0)) % 8 == 0 && v < VMM_SSP(1u << 24);
}

static void guest_ssp(struct mv_guest *g, void *arg)
{
	struct gv *v = arg;
	uint64_t val = 0;

	for (int i = 0; i < ITERS; i++) {
		if (mv_guest_wrmsr(g, MSR_IA32_PL3_SSP, GUEST_SSP(i)) ||
		    mv_guest_rdmsr(g, MSR_IA32_PL3_SSP, &val) || val != GUEST_SSP(i))
			v->bad++;
		(void)mv_guest_write(g, 0x100000, "x", 1);   /* no memslot: an MMIO exit */
		if (mv_guest_rdmsr(g, MSR_IA32_PL3_SSP, &val) || !written(val))
			v->bad++;
	}
}

static void *vcpu_main(void *p)
{
	struct gv *v = p;
	struct kvm_run *run = mv_vcpu_run_area(v->t, v->fd);

	for (;;) {
		if (kt_ioctl(v->t, v->fd, KVM_RUN, 0)) {
			v->run_errors++;
			break;
		}
		if (run->exit_reason == KVM_EXIT_HLT)
			break;
		if (run->exit_reason != KVM_EXIT_MMIO) {
			v->run_errors++;
			break;
		}
	}
	__atomic_store_n(&guest_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static long vmm_msr(struct mv_task *t, int fd, unsigned int cmd, uint64_t *val)
{
	uint64_t buf[3] = { 0 };
	struct kvm_msrs *m = (void *)buf;
	long r;

	m->nmsrs = 1;
	m->entries[0].index = MSR_IA32_PL3_SSP;
	m->entries[0].data = *val;
	r = kt_ioctl_p(t, fd, cmd, m);
	*val = m->entries[0].data;
	return r;
}

static void test_cet_msrs_vmm_and_guest_race(void **state)
{
	struct kvmtest k;
	struct gv v = { 0 };
	struct mv_task *vmm;
	pthread_t th;
	long sets = 0, bad = 0;
	uint64_t last = 0;

	(void)state;
	kt_setup(&k, 0);
	v.fd = kt_vcpu(&k, 0);
	v.t = kt_thread(k.t);
	vmm = kt_thread(k.t);
	guest_done = 0;
	assert_int_equal(mv_vcpu_set_guest(k.t, v.fd, guest_ssp, &v), 0);
	assert_int_equal(pthread_create(&th, NULL, vcpu_main, &v), 0);
	while (!__atomic_load_n(&guest_done, __ATOMIC_ACQUIRE) || sets < 200) {
		uint64_t val = VMM_SSP(sets % (1u << 24));

		if (vmm_msr(vmm, v.fd, KVM_SET_MSRS, &val) != 1)
			bad++;
		if (vmm_msr(vmm, v.fd, KVM_GET_MSRS, &val) != 1 || !written(val))
			bad++;
		sets++;
		sched_yield();
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(v.run_errors, 0);
	assert_int_equal(v.bad, 0);
	assert_int_equal(bad, 0);
	assert_true(sets >= 200);
	/* quiet now: the last write is what both sides read */
	last = VMM_SSP(7);
	assert_int_equal(vmm_msr(k.t, v.fd, KVM_SET_MSRS, &last), 1);
	last = 0;
	assert_int_equal(vmm_msr(k.t, v.fd, KVM_GET_MSRS, &last), 1);
	assert_int_equal(last, VMM_SSP(7));
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cet_msrs_vmm_and_guest_race),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
