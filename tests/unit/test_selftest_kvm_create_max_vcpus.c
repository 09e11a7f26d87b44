/* SPDX-License-Identifier: MIT */
/*
 * The cases of mainline's tools/testing/selftests/kvm/kvm_create_max_vcpus.c
 * on memvisor's public API (docs/conformance.md has the table).
 */
#include "kvmtest.h"

static long cap(struct kvmtest *k, long c)
{
	return kt_ioctl(k->t, k->kvm, KVM_CHECK_EXTENSION, (uint64_t)c);
}

/* The selftest raises RLIMIT_NOFILE so every vCPU fd fits. */
static void raise_nofile(struct kvmtest *k, uint64_t n)
{
	struct { uint64_t cur, max; } lim = { n, n };

	assert_int_equal(mv_syscall(k->t, MV_SYS_setrlimit, 7 /* RLIMIT_NOFILE */,
				    (uint64_t)(uintptr_t)&lim, 0, 0, 0, 0), 0);
}

/* test_vcpu_creation(first_vcpu_id, num_vcpus) on a fresh VM */
static void vcpu_creation(long first, long num)
{
	struct kvmtest k;

	kt_setup(&k, 256ull << 20);
	raise_nofile(&k, (uint64_t)num + 64);
	for (long i = 0; i < num; i++)
		assert_true(kt_ioctl(k.t, k.vm, KVM_CREATE_VCPU, (uint64_t)(first + i)) >= 0);
	kt_teardown(&k);
}

/* KVM_CAP_MAX_VCPU_ID >= KVM_CAP_MAX_VCPUS */
static void test_selftest_kvm_create_max_vcpus_caps(void **state)
{
	struct kvmtest k;

	kt_setup(&k, 0);
	assert_true(cap(&k, KVM_CAP_MAX_VCPUS) > 0);
	assert_true(cap(&k, KVM_CAP_MAX_VCPU_ID) >= cap(&k, KVM_CAP_MAX_VCPUS));
	kt_teardown(&k);
}

/* test_vcpu_creation(0, KVM_CAP_MAX_VCPUS) */
static void test_selftest_kvm_create_max_vcpus_from_id_0(void **state)
{
	struct kvmtest k;
	long max;

	kt_setup(&k, 0);
	max = cap(&k, KVM_CAP_MAX_VCPUS);
	kt_teardown(&k);
	vcpu_creation(0, max);
}

/* test_vcpu_creation(KVM_CAP_MAX_VCPU_ID - KVM_CAP_MAX_VCPUS, KVM_CAP_MAX_VCPUS) */
static void test_selftest_kvm_create_max_vcpus_up_to_max_id(void **state)
{
	struct kvmtest k;
	long max, max_id;

	kt_setup(&k, 0);
	max = cap(&k, KVM_CAP_MAX_VCPUS);
	max_id = cap(&k, KVM_CAP_MAX_VCPU_ID);
	kt_teardown(&k);
	assert_true(max_id > max);
	vcpu_creation(max_id - max, max);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest_kvm_create_max_vcpus_caps),
		cmocka_unit_test(test_selftest_kvm_create_max_vcpus_from_id_0),
		cmocka_unit_test(test_selftest_kvm_create_max_vcpus_up_to_max_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
