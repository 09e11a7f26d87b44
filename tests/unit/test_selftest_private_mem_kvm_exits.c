/* SPDX-License-Identifier: MIT */
/*
 * The cases of mainline's
 * tools/testing/selftests/kvm/x86/private_mem_kvm_exits_test.c, re-expressed
 * on memvisor's public API (docs/conformance.md has the table): a private
 * access that no guest_memfd can back is KVM_EXIT_MEMORY_FAULT with the
 * PRIVATE flag, the page's GPA and size, and KVM_RUN fails with -EFAULT.
 */
#include <pthread.h>
#include <stdbool.h>

#include "kvmtest.h"

#define EXITS_TEST_GPA  0xc0000000ull
#define EXITS_TEST_SIZE 4096ull
#define EXITS_TEST_SLOT 10u

struct pe {
	struct kvmtest k;
	int vm, vcpu;
	struct mv_task *vt;    /* the vCPU thread's task */
	long ret;
	uint32_t exit_reason;
};

/* guest_repeatedly_read */
static void guest_repeatedly_read(struct mv_guest *g, void *arg)
{
	uint64_t value;

	for (;;)
		mv_guest_read(g, EXITS_TEST_GPA, &value, sizeof(value));
}

/* run_vcpu_get_exit_reason: KVM_RUN either succeeds or fails with -EFAULT and a memory fault. */
static void *pe_run(void *arg)
{
	struct pe *p = arg;
	struct kvm_run *run = mv_vcpu_run_area(p->vt, p->vcpu);

	p->ret = kt_ioctl(p->vt, p->vcpu, KVM_RUN, 0);
	p->exit_reason = run->exit_reason;
	return NULL;
}

static void pe_setup(struct pe *p, bool gmem_slot)
{
	uint64_t ua;

	memset(p, 0, sizeof(*p));
	kt_setup(&p->k, 0);
	p->vm = (int)kt_ioctl(p->k.t, p->k.kvm, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);
	assert_true(p->vm >= 0);
	ua = kt_mmap(&p->k, EXITS_TEST_SIZE);
	if (gmem_slot) {
		struct kvm_create_guest_memfd g = { .size = EXITS_TEST_SIZE };
		long fd = kt_ioctl_p(p->k.t, p->vm, KVM_CREATE_GUEST_MEMFD, &g);

		assert_true(fd >= 0);
		assert_int_equal(kt_region_gmem(p->k.t, p->vm, EXITS_TEST_SLOT, EXITS_TEST_GPA,
						EXITS_TEST_SIZE, ua, (int)fd, 0), 0);
	} else {
		struct kvm_userspace_memory_region r = {
			.slot = EXITS_TEST_SLOT, .guest_phys_addr = EXITS_TEST_GPA,
			.memory_size = EXITS_TEST_SIZE, .userspace_addr = ua,
		};

		assert_int_equal(kt_ioctl_p(p->k.t, p->vm, KVM_SET_USER_MEMORY_REGION, &r), 0);
	}
	p->vcpu = (int)kt_ioctl(p->k.t, p->vm, KVM_CREATE_VCPU, 0);
	assert_true(p->vcpu >= 0);
	assert_int_equal(mv_vcpu_set_guest(p->k.t, p->vcpu, guest_repeatedly_read, NULL), 0);
	/* vm_mem_set_private */
	assert_int_equal(kt_set_attributes(p->k.t, p->vm, EXITS_TEST_GPA, EXITS_TEST_SIZE,
					   KVM_MEMORY_ATTRIBUTE_PRIVATE), 0);
}

static void pe_expect_private_fault(struct pe *p)
{
	struct kvm_run *run = mv_vcpu_run_area(p->k.t, p->vcpu);

	assert_int_equal(p->ret, -EFAULT);
	assert_int_equal(p->exit_reason, KVM_EXIT_MEMORY_FAULT);
	assert_int_equal(run->memory_fault.flags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
	assert_int_equal(run->memory_fault.gpa, EXITS_TEST_GPA);
	assert_int_equal(run->memory_fault.size, EXITS_TEST_SIZE);
}

/* test_private_access_memslot_deleted: the slot goes while the guest reads it privately */
static void test_selftest_private_mem_kvm_exits_private_access_memslot_deleted(void **state)
{
	pthread_t th;
	struct pe p;

	pe_setup(&p, true);
	p.vt = kt_thread(p.k.t);
	assert_int_equal(pthread_create(&th, NULL, pe_run, &p), 0);
	assert_int_equal(kt_region_gmem(p.k.t, p.vm, EXITS_TEST_SLOT, EXITS_TEST_GPA, 0, 0, -1, 0), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	pe_expect_private_fault(&p);
	mv_task_exit(p.vt);
	kt_teardown(&p.k);
}

/* test_private_access_memslot_not_private: a private access to a slot without guest_memfd */
static void test_selftest_private_mem_kvm_exits_private_access_memslot_not_private(void **state)
{
	struct pe p;

	pe_setup(&p, false);
	p.vt = p.k.t;
	pe_run(&p);
	pe_expect_private_fault(&p);
	kt_teardown(&p.k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest_private_mem_kvm_exits_private_access_memslot_deleted),
		cmocka_unit_test(test_selftest_private_mem_kvm_exits_private_access_memslot_not_private),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
