/* SPDX-License-Identifier: MIT */
/*
 * KVM_HC_LOCK_CR_UPDATE on one vCPU while another keeps clearing and
 * setting CR0.WP: the pins are the VM's, so once the pinning call has
 * returned no vCPU may clear WP again (#GP, the register keeps it), and
 * before it every clear goes through. Two vCPUs on two host threads.
 */
#include <sched.h>

#include "kvmtest.h"

#define CR0_PE (1ull << 0)
#define CR0_WP (1ull << 16)

struct pin_race {
	uint32_t pinned;       /* atomic: the pinning call returned */
	uint32_t started;      /* atomic */
	uint32_t stop;         /* atomic */
	uint64_t cleared, bad, bad_value;
	uint64_t refused;      /* atomic */
	long pin_ret;
};

static void guest_pinner(struct mv_guest *g, void *arg)
{
	struct pin_race *s = arg;

	while (!__atomic_load_n(&s->started, __ATOMIC_ACQUIRE))
		sched_yield();
	for (int i = 0; i < 200; i++)
		sched_yield();
	s->pin_ret = mv_guest_hypercall(g, KVM_HC_LOCK_CR_UPDATE, 0, CR0_WP, 0, 0);
	__atomic_store_n(&s->pinned, 1, __ATOMIC_RELEASE);
	/* until the other vCPU has run into the pin a few times */
	while (__atomic_load_n(&s->refused, __ATOMIC_ACQUIRE) < 50)
		sched_yield();
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
}

static void guest_toggler(struct mv_guest *g, void *arg)
{
	struct pin_race *s = arg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		uint32_t before;
		uint64_t now = 0;
		long r;

		mv_guest_write_cr(g, 0, CR0_PE | CR0_WP);
		before = __atomic_load_n(&s->pinned, __ATOMIC_ACQUIRE);
		r = mv_guest_write_cr(g, 0, CR0_PE);
		mv_guest_read_cr(g, 0, &now);
		if (r == 0) {
			s->cleared++;
			if (before)
				s->bad++;          /* cleared after the pin was in place */
		} else {
			__atomic_fetch_add(&s->refused, 1, __ATOMIC_RELEASE);
			if (!(now & CR0_WP))
				s->bad_value++;    /* refused, yet WP is gone */
		}
		__atomic_store_n(&s->started, 1, __ATOMIC_RELEASE);
	}
}

static void test_kvm_heki_cr_pin_reaches_every_vcpu(void **state)
{
	struct pin_race s = { .pinned = 0 };
	struct kvmtest k;
	static const mv_guest_fn guests[2] = { guest_pinner, guest_toggler };

	(void)state;
	kt_setup(&k, 0);
	kt_run_on_threads(&k, 2, guests, &s);
	assert_int_equal(s.pin_ret, 0);
	assert_int_equal(s.bad, 0);
	assert_int_equal(s.bad_value, 0);
	assert_true(s.cleared > 0);
	assert_true(s.refused > 0);
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_heki_cr_pin_reaches_every_vcpu),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
