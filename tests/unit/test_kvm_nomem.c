/* SPDX-License-Identifier: MIT */
/*
 * Allocation failure at every step of KVM_CREATE_VM, KVM_CREATE_VCPU,
 * memslot creation, mv_vcpu_set_guest and a guest's first touch: each
 * fails with -ENOMEM and leaves nothing behind (the sanitizer builds check
 * leaks), and the same call succeeds once memory is back.
 */
#include "kvmtest.h"
#include "lib/alloc.h"

#define MAX_STEPS 200

static void test_kvm_nomem_create_vm(void **state)
{
	for (unsigned long n = 1; n < MAX_STEPS; n++) {
		struct kvmtest k;
		long r;

		kt_setup(&k, 0);
		lib_fail_after(n);
		r = kt_ioctl(k.t, k.kvm, KVM_CREATE_VM, 0);
		lib_fail_after(0);
		kt_teardown(&k);
		if (r >= 0)
			return;
		assert_int_equal(r, -ENOMEM);
	}
	fail_msg("KVM_CREATE_VM never succeeded");
}

static void test_kvm_nomem_create_vcpu(void **state)
{
	struct kvmtest k;

	kt_setup(&k, 0);
	for (unsigned long n = 1; n < MAX_STEPS; n++) {
		long r;

		lib_fail_after(n);
		r = kt_ioctl(k.t, k.vm, KVM_CREATE_VCPU, 0);
		lib_fail_after(0);
		if (r >= 0) {
			/* the failed attempts left no vCPU behind: id 0 was free */
			assert_int_equal(kt_ioctl(k.t, k.vm, KVM_CREATE_VCPU, 0), -EEXIST);
			kt_teardown(&k);
			return;
		}
		assert_int_equal(r, -ENOMEM);
	}
	fail_msg("KVM_CREATE_VCPU never succeeded");
}

static void test_kvm_nomem_region(void **state)
{
	struct kvmtest k;
	uint64_t map;

	kt_setup(&k, 0);
	map = kt_mmap(&k, 1 << 20);
	assert_int_equal(kt_region(&k, 1, KVM_MEM_LOG_DIRTY_PAGES, 1 << 20, 1 << 20, map), 0);
	for (unsigned long n = 1; n < MAX_STEPS; n++) {
		long r;

		lib_fail_after(n);
		r = kt_region(&k, 0, KVM_MEM_LOG_DIRTY_PAGES, 0, 1 << 20, map);
		lib_fail_after(0);
		if (r == 0)
			break;
		assert_int_equal(r, -ENOMEM);
		assert_int_equal(kt_region(&k, 0, 0, 0, 0, 0), -EINVAL);   /* not created */
	}
	/* moving and deleting under failure: either done, or nothing changed */
	for (unsigned long n = 1; n < MAX_STEPS; n++) {
		long r;

		lib_fail_after(n);
		r = kt_region(&k, 1, KVM_MEM_LOG_DIRTY_PAGES, 8 << 20, 1 << 20, map);
		lib_fail_after(0);
		if (r == 0)
			break;
		assert_int_equal(r, -ENOMEM);
		assert_int_equal(kt_region(&k, 2, 0, 1 << 20, 1 << 20, map), -EEXIST);
	}
	kt_teardown(&k);
}

static void guest_touch(struct mv_guest *g, void *arg)
{
	uint64_t v = 9;

	*(long *)arg = mv_guest_write(g, 0x123000, &v, 8);
}

static void test_kvm_nomem_guest(void **state)
{
	struct kvmtest k;
	long gr = 1, r = 0;
	int vcpu;

	kt_setup(&k, 0);
	assert_int_equal(kt_region(&k, 0, 0, 0, 2 << 20, kt_mmap(&k, 2 << 20)), 0);
	vcpu = kt_vcpu(&k, 0);
	for (unsigned long n = 1; n < MAX_STEPS; n++) {
		lib_fail_after(n);
		r = mv_vcpu_set_guest(k.t, vcpu, guest_touch, &gr);
		lib_fail_after(0);
		if (!r)
			break;
		assert_int_equal(r, -ENOMEM);
	}
	assert_int_equal(r, 0);
	/*
	 * The first touch needs the VMM's page and EPT tables: a page GUP
	 * cannot get is -EFAULT with a memory-fault exit (hva_to_pfn's
	 * KVM_PFN_ERR_FAULT), a table KVM cannot get is -ENOMEM; then it runs.
	 */
	for (unsigned long n = 1; n < MAX_STEPS; n++) {
		lib_fail_after(n);
		r = kt_run(&k, vcpu);
		lib_fail_after(0);
		if (!r)
			break;
		if (r == -EFAULT)
			assert_int_equal(mv_vcpu_run_area(k.t, vcpu)->exit_reason,
					 KVM_EXIT_MEMORY_FAULT);
		else
			assert_int_equal(r, -ENOMEM);
	}
	assert_int_equal(r, 0);
	assert_int_equal(mv_vcpu_run_area(k.t, vcpu)->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(gr, 0);
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_nomem_create_vm),
		cmocka_unit_test(test_kvm_nomem_create_vcpu),
		cmocka_unit_test(test_kvm_nomem_region),
		cmocka_unit_test(test_kvm_nomem_guest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
