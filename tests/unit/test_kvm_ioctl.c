/* SPDX-License-Identifier: MIT */
/*
 * /dev/kvm, VM and vCPU ioctls: every answer and errno as x86 KVM gives
 * them (kvm_dev_ioctl, kvm_vm_ioctl, kvm_vcpu_ioctl, and the selftests
 * kvm_create_max_vcpus / kvm_binary_stats style checks).
 */
#include "kvmtest.h"

static void test_kvm_dev_system_ioctls(void **state)
{
	struct kvmtest k;
	struct {
		unsigned long cmd;
		uint64_t arg;
		long expect;
	} rows[] = {
		{ KVM_GET_API_VERSION, 0, 12 },
		{ KVM_GET_API_VERSION, 1, -EINVAL },
		{ KVM_GET_VCPU_MMAP_SIZE, 0, 3 * 4096 },
		{ KVM_GET_VCPU_MMAP_SIZE, 1, -EINVAL },
		{ KVM_RUN, 0, -EINVAL },                    /* not a system ioctl */
		{ _IO(KVMIO, 0x7f), 0, -EINVAL },
		{ 0x5401 /* TCGETS */, 0, -EINVAL },
		{ KVM_CREATE_VM, 2, -EINVAL },              /* SEV: not supported */
		{ KVM_CREATE_VM, 64, -EINVAL },
		{ KVM_CREATE_VM, ~0ull, -EINVAL },
	};

	kt_setup(&k, 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(kt_ioctl(k.t, k.kvm, rows[i].cmd, rows[i].arg), rows[i].expect);
	kt_teardown(&k);
}

static const struct {
	long cap;
	long expect;
} cap_rows[] = {
	{ KVM_CAP_USER_MEMORY, 1 },
	{ KVM_CAP_USER_MEMORY2, 1 },
	{ KVM_CAP_SYNC_MMU, 1 },
	{ KVM_CAP_READONLY_MEM, 1 },
	{ KVM_CAP_IMMEDIATE_EXIT, 1 },
	{ KVM_CAP_MEMORY_FAULT_INFO, 1 },
	{ KVM_CAP_CHECK_EXTENSION_VM, 1 },
	{ KVM_CAP_ENABLE_CAP_VM, 1 },
	{ KVM_CAP_DESTROY_MEMORY_REGION_WORKS, 1 },
	{ KVM_CAP_JOIN_MEMORY_REGIONS_WORKS, 1 },
	{ KVM_CAP_NR_MEMSLOTS, 32764 },
	{ KVM_CAP_MAX_VCPUS, 1024 },
	{ KVM_CAP_MAX_VCPU_ID, 4096 },
	{ KVM_CAP_VM_TYPES, (1 << KVM_X86_DEFAULT_VM) | (1 << KVM_X86_SW_PROTECTED_VM) },
	{ KVM_CAP_EXIT_HYPERCALL, 1 << KVM_HC_MAP_GPA_RANGE },
	{ KVM_CAP_GUEST_MEMFD, 1 },
	{ KVM_CAP_HLT, 1 },                        /* x86: HLT exits without an irqchip */
	{ KVM_CAP_COALESCED_MMIO, KVM_COALESCED_MMIO_PAGE_OFFSET },
	{ KVM_CAP_COALESCED_PIO, 1 },
	{ KVM_CAP_SYNC_REGS, KVM_SYNC_X86_VALID_FIELDS },
	{ KVM_CAP_VCPU_EVENTS, 1 },
	{ KVM_CAP_EXCEPTION_PAYLOAD, 0 },
	{ KVM_CAP_X86_TRIPLE_FAULT_EVENT, 0 },
	/* MTE is on every machine mvtest makes (test_kvm_mte.c for one without) */
	{ KVM_CAP_ARM_MTE, 1 },
	/* a default VM (and /dev/kvm) allows both flags; see test_kvm_gmem.c for the others */
	{ KVM_CAP_GUEST_MEMFD_FLAGS, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED },
	/* not implemented yet: answered as a kernel without them */
	{ KVM_CAP_MULTI_ADDRESS_SPACE, 0 },
	{ KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 0 },
	{ KVM_CAP_IRQCHIP, 0 },
	/* SGX: 1 on a machine with SGX (the default), as mainline with enable_sgx */
	{ KVM_CAP_SGX_ATTRIBUTE, 1 },
	{ KVM_CAP_SGX_EPC_LIMIT, 1 },
	{ -1, 0 },
	{ 100000, 0 },
};

static void test_kvm_check_extension_table(void **state)
{
	struct kvmtest k;

	kt_setup(&k, 0);
	for (size_t i = 0; i < sizeof(cap_rows) / sizeof(cap_rows[0]); i++) {
		assert_int_equal(kt_ioctl(k.t, k.kvm, KVM_CHECK_EXTENSION, (uint64_t)cap_rows[i].cap),
				 cap_rows[i].expect);
		assert_int_equal(kt_ioctl(k.t, k.vm, KVM_CHECK_EXTENSION, (uint64_t)cap_rows[i].cap),
				 cap_rows[i].expect);
	}
	kt_teardown(&k);
}

static void test_kvm_create_vm_types(void **state)
{
	struct kvmtest k;
	long vm;

	kt_setup(&k, 0);
	vm = kt_ioctl(k.t, k.kvm, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);
	assert_true(vm >= 0);
	assert_int_equal(MVTEST_SYSCALL(k.t, MV_SYS_close, vm), 0);
	assert_int_equal(kt_ioctl(k.t, k.kvm, KVM_CREATE_VM, KVM_X86_SEV_VM), -EINVAL);
	assert_int_equal(kt_ioctl(k.t, k.kvm, KVM_CREATE_VM, KVM_X86_TDX_VM), -EINVAL);
	kt_teardown(&k);
}

static void test_kvm_vm_unknown_ioctl_enotty(void **state)
{
	struct kvmtest k;

	kt_setup(&k, 0);
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_GET_API_VERSION, 0), -ENOTTY);
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_RUN, 0), -ENOTTY);
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_SET_MEMORY_ATTRIBUTES, 0), -ENOTTY);
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_CREATE_GUEST_MEMFD, 0), -EFAULT);   /* served */
	assert_int_equal(kt_ioctl(k.t, k.vm, 0x1234, 0), -ENOTTY);
	kt_teardown(&k);
}

static void test_kvm_create_vcpu_ids(void **state)
{
	struct kvmtest k;

	kt_setup(&k, 0);
	assert_true(kt_ioctl(k.t, k.vm, KVM_CREATE_VCPU, 0) >= 0);
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_CREATE_VCPU, 0), -EEXIST);
	assert_true(kt_ioctl(k.t, k.vm, KVM_CREATE_VCPU, 4095) >= 0);
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_CREATE_VCPU, 4096), -EINVAL);
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_CREATE_VCPU, 1ull << 32), -EINVAL);
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_CREATE_VCPU, ~0ull), -EINVAL);
	kt_teardown(&k);
}

/* kvm_create_max_vcpus: KVM_CAP_MAX_VCPUS of them, then -EINVAL. */
static void test_kvm_create_max_vcpus(void **state)
{
	struct kvmtest k;
	struct { uint64_t cur, max; } lim = { 4096, 4096 };

	kt_setup(&k, 256ull << 20);
	assert_int_equal(mv_syscall(k.t, MV_SYS_setrlimit, 7 /* NOFILE */,
				    (uint64_t)(uintptr_t)&lim, 0, 0, 0, 0), 0);
	for (unsigned long id = 0; id < 1024; id++)
		assert_true(kt_ioctl(k.t, k.vm, KVM_CREATE_VCPU, id * 4) >= 0);
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_CREATE_VCPU, 1), -EINVAL);
	kt_teardown(&k);
}

static void test_kvm_create_vcpu_emfile(void **state)
{
	struct kvmtest k;
	struct { uint64_t cur, max; } lim = { 4, 4 };

	kt_setup(&k, 0);   /* fds 0 and 1: /dev/kvm and the VM */
	assert_int_equal(mv_syscall(k.t, MV_SYS_setrlimit, 7, (uint64_t)(uintptr_t)&lim, 0, 0, 0, 0),
			 0);
	long fd0 = kt_ioctl(k.t, k.vm, KVM_CREATE_VCPU, 0);

	assert_true(fd0 >= 0);
	assert_true(kt_ioctl(k.t, k.vm, KVM_CREATE_VCPU, 1) >= 0);
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_CREATE_VCPU, 2), -EMFILE);
	assert_int_equal(kt_ioctl(k.t, k.kvm, KVM_CREATE_VM, 0), -EMFILE);
	/* closing a vCPU fd does not destroy the vCPU; the failed id 2 was never taken */
	assert_int_equal(MVTEST_SYSCALL(k.t, MV_SYS_close, fd0), 0);
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_CREATE_VCPU, 0), -EEXIST);
	assert_true(kt_ioctl(k.t, k.vm, KVM_CREATE_VCPU, 2) >= 0);
	kt_teardown(&k);
}

static void test_kvm_vcpu_ioctl_errors(void **state)
{
	struct kvmtest k;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	int vcpu;

	kt_setup(&k, 0);
	vcpu = kt_vcpu(&k, 0);
	assert_int_equal(kt_ioctl(k.t, vcpu, KVM_RUN, 1), -EINVAL);
	assert_int_equal(kt_ioctl(k.t, vcpu, KVM_GET_REGS, 0), -EFAULT);
	assert_int_equal(kt_ioctl(k.t, vcpu, KVM_SET_REGS, 8), -EFAULT);
	assert_int_equal(kt_ioctl(k.t, vcpu, KVM_GET_SREGS, 0), -EFAULT);
	assert_int_equal(kt_ioctl(k.t, vcpu, KVM_SET_SREGS, 0), -EFAULT);
	assert_int_equal(kt_ioctl(k.t, vcpu, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY), -EINVAL);
	assert_int_equal(kt_ioctl(k.t, vcpu, 0x5401, 0), -EINVAL);        /* not KVMIO */
	assert_int_equal(kt_ioctl(k.t, vcpu, _IO(KVMIO, 0xee), 0), -EINVAL);
	assert_int_equal(kt_ioctl(k.t, vcpu, KVM_ENABLE_CAP, 0), -EFAULT);

	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_REGS, &regs), 0);
	assert_int_equal(regs.rflags, 2);
	regs.rax = 42;
	regs.rip = 0x1000;
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_SET_REGS, &regs), 0);
	memset(&regs, 0, sizeof(regs));
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_REGS, &regs), 0);
	assert_int_equal(regs.rax, 42);
	assert_int_equal(regs.rip, 0x1000);

	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_SREGS, &sregs), 0);
	assert_int_equal(sregs.cr0 & 1, 1);   /* protected mode, paging off */
	assert_int_equal(sregs.cr0 >> 31, 0);
	sregs.cr0 |= 1ull << 31;              /* PG without long mode: not modelled */
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_SET_SREGS, &sregs), -EINVAL);
	sregs.cr4 = 1ull << 5;
	sregs.efer = (1ull << 8) | (1ull << 10);
	sregs.cr3 = 0x1000;
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_SET_SREGS, &sregs), 0);
	sregs.cr4 = 0;                        /* LME+PG without PAE */
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_SET_SREGS, &sregs), -EINVAL);
	sregs.cr4 = 1ull << 5;
	sregs.cr0 = 0x1ull << 40;             /* reserved CR0 bit */
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_SET_SREGS, &sregs), -EINVAL);
	kt_teardown(&k);
}

static void test_kvm_enable_cap_table(void **state)
{
	struct kvmtest k;
	struct {
		uint32_t cap, flags;
		uint64_t arg0;
		long expect;
	} rows[] = {
		{ KVM_CAP_EXIT_HYPERCALL, 0, 1ull << KVM_HC_MAP_GPA_RANGE, 0 },
		{ KVM_CAP_EXIT_HYPERCALL, 0, 0, 0 },
		{ KVM_CAP_EXIT_HYPERCALL, 0, 1ull << KVM_HC_KICK_CPU, -EINVAL },
		{ KVM_CAP_EXIT_HYPERCALL, 1, 0, -EINVAL },
		{ KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 0, 1, -EINVAL },
		{ KVM_CAP_ARM_MTE, 1, 0, -EINVAL },      /* flags; test_kvm_mte.c enables it */
		{ 9999, 0, 0, -EINVAL },
	};
	struct kvm_enable_cap cap;

	kt_setup(&k, 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&cap, 0, sizeof(cap));
		cap.cap = rows[i].cap;
		cap.flags = rows[i].flags;
		cap.args[0] = rows[i].arg0;
		assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_ENABLE_CAP, &cap), rows[i].expect);
	}
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_ENABLE_CAP, 0), -EFAULT);
	kt_teardown(&k);
}

/* The run area: mmap of the vCPU fd maps the same page KVM_RUN fills. */
static void test_kvm_vcpu_mmap_run_area(void **state)
{
	struct kvmtest k;
	struct kvm_run *run;
	uint32_t reason = 0;
	long a;
	int vcpu;

	kt_setup(&k, 0);
	vcpu = kt_vcpu(&k, 0);
	a = mv_syscall(k.t, MV_SYS_mmap, 0, 3 * KT_PG, PROT_READ | PROT_WRITE, MAP_SHARED,
		       (uint64_t)vcpu, 0);
	assert_true(a > 0);
	run = mv_vcpu_run_area(k.t, vcpu);
	assert_non_null(run);
	assert_int_equal(kt_run(&k, vcpu), 0);     /* no guest: it halts */
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(mv_user_read(k.t, (uint64_t)a + 8, &reason, 4), 0);
	assert_int_equal(reason, KVM_EXIT_HLT);
	/* a fourth page does not exist */
	a = mv_syscall(k.t, MV_SYS_mmap, 0, KT_PG, PROT_READ, MAP_SHARED, (uint64_t)vcpu, 3 * KT_PG);
	assert_true(a > 0);
	assert_int_equal(mv_user_read(k.t, (uint64_t)a, &reason, 4), -EFAULT);
	mvtest_expect_signal(k.t, SIGBUS, BUS_ADRERR, (uint64_t)a);
	assert_null(mv_vcpu_run_area(k.t, k.vm));
	/* immediate_exit: -EINTR, and the last exit (HLT) stays in the run area */
	run->immediate_exit__unsafe = 1;
	assert_int_equal(kt_run(&k, vcpu), -EINTR);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	kt_teardown(&k);
}

/* Another process using the VM's fds (after fork) gets -EIO. */
static void test_kvm_other_process_eio(void **state)
{
	struct kvmtest k;
	struct mv_task *child;
	int vcpu;

	kt_setup(&k, 0);
	vcpu = kt_vcpu(&k, 0);
	assert_int_equal(mv_task_clone(k.t, 0, &child), 0);
	assert_int_equal(kt_ioctl(child, k.vm, KVM_CREATE_VCPU, 1), -EIO);
	assert_int_equal(kt_ioctl(child, vcpu, KVM_RUN, 0), -EIO);
	assert_int_equal(kt_ioctl(child, k.kvm, KVM_GET_API_VERSION, 0), 12);
	mv_task_exit(child);
	kt_teardown(&k);
}

static void guest_nop(struct mv_guest *g, void *arg)
{
	(void)g;
	(void)arg;
}

static void test_kvm_set_guest_errors(void **state)
{
	struct kvmtest k;
	int vcpu;

	kt_setup(&k, 0);
	vcpu = kt_vcpu(&k, 0);
	assert_int_equal(mv_vcpu_set_guest(k.t, 999, guest_nop, NULL), -EBADF);
	assert_int_equal(mv_vcpu_set_guest(k.t, k.vm, guest_nop, NULL), -EINVAL);
	assert_int_equal(mv_vcpu_set_guest(k.t, vcpu, NULL, NULL), -EINVAL);
	assert_int_equal(mv_vcpu_set_guest(k.t, vcpu, guest_nop, NULL), 0);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(mv_vcpu_run_area(k.t, vcpu)->exit_reason, KVM_EXIT_HLT);
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_dev_system_ioctls),
		cmocka_unit_test(test_kvm_check_extension_table),
		cmocka_unit_test(test_kvm_create_vm_types),
		cmocka_unit_test(test_kvm_vm_unknown_ioctl_enotty),
		cmocka_unit_test(test_kvm_create_vcpu_ids),
		cmocka_unit_test(test_kvm_create_max_vcpus),
		cmocka_unit_test(test_kvm_create_vcpu_emfile),
		cmocka_unit_test(test_kvm_vcpu_ioctl_errors),
		cmocka_unit_test(test_kvm_enable_cap_table),
		cmocka_unit_test(test_kvm_vcpu_mmap_run_area),
		cmocka_unit_test(test_kvm_other_process_eio),
		cmocka_unit_test(test_kvm_set_guest_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
