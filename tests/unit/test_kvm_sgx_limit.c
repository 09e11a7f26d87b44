/* SPDX-License-Identifier: MIT */
/*
 * Beyond mainline: a per-VM EPC limit (KVM_CAP_SGX_EPC_LIMIT). A memslot
 * over a vEPC mapping charges that vEPC's pages to the VM; a fault past
 * the limit is SIGBUS (the guest's KVM_RUN gets a memory-fault exit);
 * the charge goes when the vEPC is released. The memory map marks
 * vEPC-backed ranges MV_RANGE_EPC.
 */
#include "sgxtest.h"

static long set_limit(struct mv_task *t, int vm, uint64_t pages)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SGX_EPC_LIMIT, .args = { pages } };

	return kt_ioctl_p(t, vm, KVM_ENABLE_CAP, &cap);
}

static void usage_is(struct sgxt *s, uint64_t want_usage, uint64_t want_limit)
{
	uint64_t u, l;

	assert_int_equal(mv_vm_epc_usage(s->k.t, s->k.vm, &u, &l), 0);
	assert_int_equal(u, want_usage);
	assert_int_equal(l, want_limit);
}

struct touch {
	uint64_t gpa[8];
	int n;
	long r[8];
};

static void guest_touch(struct mv_guest *g, void *arg)
{
	struct touch *t = arg;
	uint64_t v;

	for (int i = 0; i < t->n; i++)
		t->r[i] = mv_guest_read(g, t->gpa[i], &v, 8);
}

/* The capability exists exactly where SGX does. */
static void test_sgx_epc_limit_cap(void **state)
{
	struct kvmtest k;
	struct mv_machine_config cfg = { .features_off = MV_FEAT_SGX };
	struct mv_machine *m;
	struct mv_task *t;
	int kvm, vm;

	(void)state;
	kt_setup(&k, 0);
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_CHECK_EXTENSION, KVM_CAP_SGX_EPC_LIMIT), 1);
	assert_int_equal(kt_ioctl(k.t, k.kvm, KVM_CHECK_EXTENSION, KVM_CAP_SGX_ATTRIBUTE), 1);
	assert_int_equal(set_limit(k.t, k.vm, 4), 0);
	kt_teardown(&k);
	assert_int_equal(mv_machine_create(&cfg, &m), 0);
	assert_int_equal(mv_task_spawn(m, &t), 0);
	kvm = (int)mv_syscall(t, MV_SYS_openat, (uint64_t)AT_FDCWD, (uint64_t)(uintptr_t)"/dev/kvm",
			      O_RDWR, 0, 0, 0);
	vm = (int)kt_ioctl(t, kvm, KVM_CREATE_VM, 0);
	assert_int_equal(kt_ioctl(t, vm, KVM_CHECK_EXTENSION, KVM_CAP_SGX_EPC_LIMIT), 0);
	assert_int_equal(kt_ioctl(t, vm, KVM_CHECK_EXTENSION, KVM_CAP_SGX_ATTRIBUTE), 0);
	assert_int_equal(set_limit(t, vm, 4), -EINVAL);
	mv_machine_destroy(m);
}

/* Past the limit the guest's touch is a memory-fault exit; the VMM's own touch SIGBUS. */
static void test_sgx_epc_limit_enforced(void **state)
{
	struct sgxt s;
	struct touch t = { .n = 4 };
	struct mv_machine_stats st;
	uint64_t x;

	(void)state;
	sgt_setup(&s, 16, 8);
	assert_int_equal(set_limit(s.k.t, s.k.vm, 3), 0);
	for (int i = 0; i < 4; i++)
		t.gpa[i] = sgt_epc_gpa((uint64_t)i);
	assert_int_equal(mv_vcpu_set_guest(s.k.t, s.vcpu, guest_touch, &t), 0);
	assert_int_equal(kt_run(&s.k, s.vcpu), -EFAULT);
	assert_int_equal(s.run->exit_reason, KVM_EXIT_MEMORY_FAULT);
	assert_int_equal(s.run->memory_fault.gpa, sgt_epc_gpa(3));
	usage_is(&s, 3, 3);
	assert_int_equal(mv_user_read(s.k.t, s.epc_map + 5 * KT_PG, &x, 8), -EFAULT);
	mvtest_expect_signal(s.k.t, SIGBUS, BUS_ADRERR, s.epc_map + 5 * KT_PG);
	mv_machine_get_stats(s.k.m, &st);
	assert_int_equal(st.epc_limit_denials, 2);
	assert_int_equal(st.epc_sigbus, 0);
	assert_int_equal(st.epc_pages_free, 13);
	/* raising the limit lets the guest go on */
	assert_int_equal(set_limit(s.k.t, s.k.vm, 4), 0);
	assert_int_equal(kt_run(&s.k, s.vcpu), 0);
	assert_int_equal(s.run->exit_reason, KVM_EXIT_HLT);
	for (int i = 0; i < 4; i++)
		assert_int_equal(t.r[i], 0);
	usage_is(&s, 4, 4);
	sgt_teardown(&s);
}

/* A limit below what is charged is EBUSY; 0 lifts the limit. */
static void test_sgx_epc_limit_below_usage(void **state)
{
	struct sgxt s;
	uint64_t x;

	(void)state;
	sgt_setup(&s, 16, 8);
	for (int i = 0; i < 3; i++)
		assert_int_equal(mv_user_read(s.k.t, s.epc_map + (uint64_t)i * KT_PG, &x, 8), 0);
	usage_is(&s, 3, 0);
	assert_int_equal(set_limit(s.k.t, s.k.vm, 2), -EBUSY);
	assert_int_equal(set_limit(s.k.t, s.k.vm, 3), 0);
	assert_int_equal(set_limit(s.k.t, s.k.vm, 0), 0);
	usage_is(&s, 3, 0);
	sgt_teardown(&s);
}

/* Binding charges what the vEPC holds already: past the limit the memslot is ENOMEM. */
static void test_sgx_epc_limit_bind_charges_existing(void **state)
{
	struct sgxt s;
	uint64_t map, x;
	int fd;

	(void)state;
	sgt_setup(&s, 16, 2);
	assert_int_equal(set_limit(s.k.t, s.k.vm, 3), 0);
	fd = sgt_open_vepc(s.k.t);
	map = sgt_map_vepc(s.k.t, fd, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(mv_user_read(s.k.t, map + (uint64_t)i * KT_PG, &x, 8), 0);
	assert_int_equal(kt_region(&s.k, 2, 0, 0x200000, 4 * KT_PG, map), -ENOMEM);
	assert_int_equal(set_limit(s.k.t, s.k.vm, 0), 0);
	assert_int_equal(kt_region(&s.k, 2, 0, 0x200000, 4 * KT_PG, map), 0);
	usage_is(&s, 4, 0);
	sgt_teardown(&s);
}

/* One vEPC, one VM: a memslot of another VM over the same vEPC is EBUSY. */
static void test_sgx_epc_limit_one_vm_per_vepc(void **state)
{
	struct sgxt s;
	int vm2;

	(void)state;
	sgt_setup(&s, 16, 2);
	vm2 = (int)kt_ioctl(s.k.t, s.k.kvm, KVM_CREATE_VM, 0);
	assert_true(vm2 >= 0);
	assert_int_equal(kt_region_t(s.k.t, vm2, 0, 0, 0, 2 * KT_PG, s.epc_map), -EBUSY);
	sgt_teardown(&s);
}

/* Release uncharges: after the vEPC is gone the VM's usage is 0 and the EPC whole. */
static void test_sgx_epc_limit_release_uncharges(void **state)
{
	struct sgxt s;
	uint64_t x;

	(void)state;
	sgt_setup(&s, 16, 4);
	assert_int_equal(set_limit(s.k.t, s.k.vm, 4), 0);
	assert_int_equal(sgt_ecreate(&s, 0, 0), 0);
	assert_int_equal(mv_user_read(s.k.t, s.epc_map + 3 * KT_PG, &x, 8), 0);
	usage_is(&s, 2, 4);
	sgt_drop_vepc(&s, 1, s.vepc, s.epc_map, s.epc_pages);
	usage_is(&s, 0, 4);
	assert_int_equal(sgt_free(s.k.m), 16);
	sgt_teardown(&s);
}

/* The memory map marks the vEPC slot as EPC, and only it. */
static void test_sgx_memmap_epc_range(void **state)
{
	struct sgxt s;
	struct mv_vm_range r[4];

	(void)state;
	sgt_setup(&s, 16, 4);
	assert_int_equal(mv_vm_memory_map(s.k.t, s.k.vm, r, 4), 2);
	assert_int_equal(r[0].gpa, 0);
	assert_false(r[0].flags & MV_RANGE_EPC);
	assert_int_equal(r[1].gpa, SGT_EPC_GPA);
	assert_int_equal(r[1].size, 4 * KT_PG);
	assert_true(r[1].flags & MV_RANGE_EPC);
	assert_true(r[1].flags & MV_RANGE_READ);
	sgt_teardown(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sgx_epc_limit_cap),
		cmocka_unit_test(test_sgx_epc_limit_enforced),
		cmocka_unit_test(test_sgx_epc_limit_below_usage),
		cmocka_unit_test(test_sgx_epc_limit_bind_charges_existing),
		cmocka_unit_test(test_sgx_epc_limit_one_vm_per_vepc),
		cmocka_unit_test(test_sgx_epc_limit_release_uncharges),
		cmocka_unit_test(test_sgx_memmap_epc_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
