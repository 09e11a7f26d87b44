/* SPDX-License-Identifier: MIT */
/*
 * The KVM actor family (kvm.h): its VM, slots and threads made, counted
 * and taken down again.
 */
#include <pthread.h>

#include "kvm.h"
#include "api/api.h"
#include "kernel/guest_memfd.h"
#include "kvm/kvm.h"

static const char *const v_names[V_NR] = {
	"exits", "MMIO N", "MMIO P", "MMIO R", "MMIO H", "memory faults on pages made private",
	"memory faults with P away", "quiet N", "quiet P", "overlapped N", "overlapped P",
	"read zero", "read MMIO", "read an older canary",
};
static const char *const a_names[A_NR] = { "ops", "N DONTNEED", "N delete+add",
	"R DONTNEED", "R mprotect", "logging on", "harvests", "logs verified" };
static const char *const b_names[B_NR] = { "ops", "punches", "conversions", "P DONTNEED",
	"P delete+add", "pages made private" };
static const char *const c_names[C_NR] = { "ops", "user+remote", "scratch DONTNEED",
	"R backing reads", "mmap+munmap", "stats" };

static void kvm_act_setup_memory(struct actors *a, struct kvmtest *k)
{
	struct kvm_create_guest_memfd cg = { .size = SZ_P };

	a->nmap = kt_mmap(k, SZ_SMALL);
	a->pmap = kt_mmap(k, SZ_P);
	a->smap = kt_mmap(k, SCRATCH * KT_PG);
	a->memfd = (int)MVTEST_SYSCALL(a->vmm, MV_SYS_memfd_create, "slot-r", 0);
	assert_true(a->memfd >= 0);
	assert_int_equal(MVTEST_SYSCALL(a->vmm, MV_SYS_ftruncate, a->memfd, SZ_SMALL), 0);
	a->rmap = (uint64_t)MVTEST_SYSCALL(a->vmm, MV_SYS_mmap, 0, SZ_SMALL, PROT_READ | PROT_WRITE,
					   MAP_SHARED, a->memfd, 0);
	assert_true((long)a->rmap > 0);
	for (uint64_t p = 0; p < PER_REG; p++) {
		uint64_t pat = ro_pattern((int)(p / NPG), (unsigned int)(p % NPG));

		assert_int_equal(mv_user_write(a->vmm, a->rmap + p * KT_PG + OFF, &pat, 8), 0);
	}
	a->gmem = (int)kt_ioctl_p(a->vmm, a->vm, KVM_CREATE_GUEST_MEMFD, &cg);
	assert_true(a->gmem >= 0);
	assert_int_equal(kt_region_t(a->vmm, a->vm, REG_N, 0, reg_base[REG_N], SZ_SMALL, a->nmap),
			 0);
	assert_int_equal(kt_region_gmem(a->vmm, a->vm, REG_P, reg_base[REG_P], SZ_P, a->pmap,
					a->gmem, 0), 0);
	assert_int_equal(kt_region_t(a->vmm, a->vm, REG_R, KVM_MEM_READONLY, reg_base[REG_R],
				     SZ_SMALL, a->rmap), 0);
	assert_int_equal(kt_set_attributes(a->vmm, a->vm, reg_base[REG_P], SZ_P,
					   KVM_MEMORY_ATTRIBUTE_PRIVATE), 0);
}

static void *kvm_act_setup(const struct act_env *env)
{
	struct actors *a = test_calloc(1, sizeof(*a));
	struct kvmtest k = { .m = env->m };

	a->m = env->m;
	a->stop = env->stop;

	assert_int_equal(mv_task_spawn(a->m, &a->vmm), 0);
	k.t = a->vmm;
	a->kvm = k.kvm = (int)MVTEST_SYSCALL(a->vmm, MV_SYS_openat, AT_FDCWD, "/dev/kvm", O_RDWR);
	assert_true(a->kvm >= 0);
	a->vm = k.vm = (int)kt_ioctl(a->vmm, a->kvm, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);
	assert_true(a->vm >= 0);
	kvm_act_setup_memory(a, &k);
	for (int i = 0; i < NR_VCPUS; i++) {
		struct vact *v = &a->v[i];

		v->a = a;
		memset(v->prev_epoch, 0xff, sizeof(v->prev_epoch));   /* odd: nothing written yet */
		v->id = i;
		v->fd = kt_vcpu(&k, (unsigned long)i);
		v->t = kt_thread(a->vmm);
		assert_int_equal(mv_vcpu_set_guest(a->vmm, v->fd, kvm_act_guest_main, v), 0);
	}
	a->tb = kt_thread(a->vmm);
	a->tc = kt_thread(a->vmm);
	kvm_act_vmm_init(a, env->seed);
	return a;
}

/* Enough of every kind of event that each check ran at least once. */
static bool kvm_act_progress(void *self)
{
	struct actors *a = self;
	static const unsigned int a_need[] = { A_DONTNEED, A_CHURN, A_R_ZAP, A_R_PROT, A_VERIFIED };

	for (int i = 0; i < NR_VCPUS; i++)
		if (act_get(&a->v[i].passes) < MIN_PASSES)
			return false;
	for (unsigned int i = 0; i < NELEM(a_need); i++)
		if (!act_get(&a->A.n[a_need[i]]))
			return false;
	for (unsigned int i = B_PUNCH; i < B_NR; i++)
		if (!act_get(&a->B.n[i]))
			return false;
	return act_get(&a->C.n[C_STATS]);
}

/* The vCPU threads first, then A, B and C. */
static void kvm_act_start(void *self)
{
	struct actors *a = self;
	struct vmm_actor *vmm[] = { &a->A, &a->B, &a->C };

	for (int i = 0; i < NR_VCPUS; i++)
		assert_int_equal(pthread_create(&a->vth[i], NULL, kvm_act_vcpu_main, &a->v[i]), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&a->th[i], NULL, kvm_act_vmm_main, vmm[i]), 0);
}

/* A guest that stopped early (a failure, no run area) ends the run. */
static bool kvm_act_ended(void *self)
{
	struct actors *a = self;
	bool early = false;

	for (int i = 0; i < NR_VCPUS; i++)
		early |= __atomic_load_n(&a->v[i].done, __ATOMIC_ACQUIRE);
	return early;
}

static void kvm_act_join(void *self)
{
	struct actors *a = self;

	for (int i = 0; i < 3; i++)
		pthread_join(a->th[i], NULL);
	for (int i = 0; i < NR_VCPUS; i++)
		pthread_join(a->vth[i], NULL);
}

/* How often each race window was hit. */
static void kvm_act_report(void *self)
{
	struct actors *a = self;
	struct file *f = fd_get(a->vmm, a->vm);
	struct kvm *kvm = kvm_from_file(f);
	struct gmem_stats gs;
	char who[16];

	assert_non_null(kvm);   /* every thread is joined: plain reads of its counters */
	act_print("stage 2", (const char *const[]){ "faults", "retried (raced an invalidation)" },
		  (uint64_t[]){ kvm->stage2_faults, kvm->stage2_retries }, 2);
	file_put(f);
	gmem_get_stats(mv_machine_kernel(a->m), &gs);
	act_print("guest_memfd", (const char *const[]){ "2M folios split", "splits deferred",
		  "notifications" }, (uint64_t[]){ gs.folio_splits, gs.split_deferred,
		  gs.notifications }, 3);
	for (int i = 0; i < NR_VCPUS; i++) {
		snprintf(who, sizeof(who), "vcpu %d", i);
		act_print(who, v_names, a->v[i].n, V_NR);
	}
	act_print("A (slot N, dirty log, R's backing)", a_names, a->A.n, A_NR);
	act_print("B (slot P, private pages)", b_names, a->B.n, B_NR);
	act_print("C (its own memory)", c_names, a->C.n, C_NR);
}

static void kvm_act_check(void *self)
{
	struct actors *a = self;
	char who[16];

	for (int i = 0; i < NR_VCPUS; i++) {
		snprintf(who, sizeof(who), "vcpu %d", i);
		act_check(&a->v[i].err, who);
		/* every guest reached HLT, after passes with exact checks in both slots */
		assert_true(a->v[i].done && a->v[i].passes >= MIN_PASSES);
		assert_true(a->v[i].n[V_QUIET_N] > 0 && a->v[i].n[V_QUIET_P] > 0);
	}
	act_check(&a->A.err, "VMM thread A");
	act_check(&a->B.err, "VMM thread B");
	act_check(&a->C.err, "VMM thread C");
	assert_true(kvm_act_progress(a));
}

/* Every fd closed by hand (and none left open), every task exited. */
static void kvm_act_teardown(void *self)
{
	struct actors *a = self;
	int fds[] = { a->v[0].fd, a->v[1].fd, a->v[2].fd, a->v[3].fd, a->gmem, a->memfd, a->vm,
		      a->kvm };

	for (unsigned int i = 0; i < NELEM(fds); i++)
		assert_int_equal(MVTEST_SYSCALL(a->vmm, MV_SYS_close, fds[i]), 0);
	for (int fd = 0; fd < 64; fd++)
		assert_int_equal(MVTEST_SYSCALL(a->vmm, MV_SYS_close, fd), -EBADF);
	for (int i = 0; i < NR_VCPUS; i++)
		mv_task_exit(a->v[i].t);
	mv_task_exit(a->tb);
	mv_task_exit(a->tc);
	mv_task_exit(a->vmm);
	test_free(a);
}

const struct act_family act_family_kvm = {
	.name = "kvm",
	.setup = kvm_act_setup,
	.start = kvm_act_start,
	.ended = kvm_act_ended,
	.progress = kvm_act_progress,
	.join = kvm_act_join,
	.report = kvm_act_report,
	.check = kvm_act_check,
	.teardown = kvm_act_teardown,
};
