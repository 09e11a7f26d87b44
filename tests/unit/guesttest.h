/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the guest-kernel tests: a VM with RAM at GPA 0 and one vCPU
 * whose guest program boots <memvisor/guest_kernel.h> and runs the test's
 * body. A guest program must not longjmp out of its stack, so bodies
 * record the first failed check (GT_EXPECT) and the test asserts after
 * KVM_RUN. Public API only.
 */
#ifndef MV_TESTS_GUESTTEST_H
#define MV_TESTS_GUESTTEST_H

#include <stdio.h>

#include <memvisor/guest_kernel.h>

#include "kvmtest.h"

struct gt;
typedef void (*gt_body)(struct gt *t, struct guest_kernel *k, struct mv_guest *g);

struct gt {
	struct kvmtest k;
	uint64_t ram;
	uint64_t map;              /* the VMM's mapping of guest RAM */
	int vcpu;
	struct kvm_run *run;
	struct guest_kernel_config cfg;
	gt_body body;
	void *arg;
	long boot;                 /* guest_kernel_boot's answer */
	int fail;                  /* first failed GT_EXPECT line, 0 if none */
	char why[160];
	long denials;              /* KVM_EXIT_HEKI_DENIAL exits seen */
	struct kvm_heki_denial_exit last_denial;
	struct guest_kernel *kernel;   /* kept for checks after the run; freed by gt_teardown */
	void (*on_hypercall)(struct gt *t);   /* KVM_EXIT_HYPERCALL, if the VMM enabled it */
};

#define GT_EXPECT(t, cond) do {								\
	if (!(cond) && !(t)->fail) {							\
		(t)->fail = __LINE__;							\
		snprintf((t)->why, sizeof((t)->why), "%s", #cond);			\
	}										\
} while (0)

/* gt_setup on a machine that lacks @features_off (MV_FEAT_*). */
static inline void gt_setup_machine(struct gt *t, uint64_t ram, bool heki, uint64_t features_off)
{
	struct mv_machine_config mc = { .ram_bytes = 64ull << 20, .features_off = features_off };

	memset(t, 0, sizeof(*t));
	assert_int_equal(mv_machine_create(&mc, &t->k.m), 0);
	assert_int_equal(mv_task_spawn(t->k.m, &t->k.t), 0);
	t->k.kvm = (int)mv_syscall(t->k.t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				   (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
	assert_true(t->k.kvm >= 0);
	t->k.vm = (int)kt_ioctl(t->k.t, t->k.kvm, KVM_CREATE_VM, 0);
	assert_true(t->k.vm >= 0);
	t->ram = ram;
	t->map = kt_mmap(&t->k, ram);
	assert_int_equal(kt_region(&t->k, 0, 0, 0, ram, t->map), 0);
	t->vcpu = kt_vcpu(&t->k, 0);
	t->run = mv_vcpu_run_area(t->k.t, t->vcpu);
	t->cfg.ram_bytes = ram;
	t->cfg.heki = heki;
}

static inline void gt_setup(struct gt *t, uint64_t ram, bool heki)
{
	memset(t, 0, sizeof(*t));
	kt_setup(&t->k, 0);
	t->ram = ram;
	t->map = kt_mmap(&t->k, ram);
	assert_int_equal(kt_region(&t->k, 0, 0, 0, ram, t->map), 0);
	t->vcpu = kt_vcpu(&t->k, 0);
	t->run = mv_vcpu_run_area(t->k.t, t->vcpu);
	t->cfg.ram_bytes = ram;
	t->cfg.heki = heki;
}

static inline void gt_teardown(struct gt *t)
{
	guest_kernel_free(t->kernel);
	kt_teardown(&t->k);
}

static void gt_main(struct mv_guest *g, void *arg)
{
	struct gt *t = arg;

	t->boot = guest_kernel_boot(g, &t->cfg, &t->kernel);
	if (t->boot)
		return;
	if (t->body)
		t->body(t, t->kernel, g);
}

/* KVM_RUN until HLT; Heki denials are counted and resumed. Asserts the body passed. */
static inline void gt_run(struct gt *t, gt_body body, void *arg)
{
	t->body = body;
	t->arg = arg;
	assert_int_equal(mv_vcpu_set_guest(t->k.t, t->vcpu, gt_main, t), 0);
	for (;;) {
		assert_int_equal(kt_run(&t->k, t->vcpu), 0);
		if (t->run->exit_reason == KVM_EXIT_HLT)
			break;
		if (t->run->exit_reason == KVM_EXIT_HEKI_DENIAL) {
			t->denials++;
			t->last_denial = KVM_RUN_HEKI_DENIAL(t->run);
			continue;
		}
		if (t->run->exit_reason == KVM_EXIT_HEKI_CONFIGURE)
			continue;
		if (t->run->exit_reason == KVM_EXIT_HYPERCALL && t->on_hypercall) {
			t->on_hypercall(t);
			continue;
		}
		fail_msg("unexpected exit %u", t->run->exit_reason);
	}
	if (t->fail)
		fail_msg("guest check at line %d failed: %s", t->fail, t->why);
	assert_int_equal(t->boot, 0);
}

/* KVM_HEKI_SET_POLICY of @type with @count entries (ioctl arguments are host pointers). */
static inline long gt_policy(struct gt *t, uint32_t type, const void *entries, uint32_t count)
{
	struct kvm_heki_policy p = {
		.type = type, .count = count, .entries = (uint64_t)(uintptr_t)entries,
	};

	return kt_ioctl_p(t->k.t, t->k.vm, KVM_HEKI_SET_POLICY, &p);
}

/* The bytes of guest RAM as the VMM sees them. */
static inline uint8_t gt_ram_byte(struct gt *t, uint64_t pa)
{
	uint8_t b = 0;

	assert_int_equal(mv_user_read(t->k.t, t->map + pa, &b, 1), 0);
	return b;
}

#endif
