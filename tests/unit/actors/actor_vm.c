/* SPDX-License-Identifier: MIT */
/*
 * The VMM process the heki, sgx and mte_vm families share the shape of:
 * /dev/kvm, one VM, one vCPU, a host thread running the vCPU and one doing
 * the VMM's work, each on a task of its own (actors.h, struct act_vm).
 */
#include "actors.h"
#include "kvmtest.h"

void act_vm_create(struct act_vm *v, struct mv_machine *m, unsigned long type,
		   struct kvmtest *k)
{
	assert_int_equal(mv_task_spawn(m, &v->vmm), 0);
	k->m = m;
	k->t = v->vmm;
	v->kvm = k->kvm = (int)MVTEST_SYSCALL(v->vmm, MV_SYS_openat, AT_FDCWD, "/dev/kvm", O_RDWR);
	assert_true(v->kvm >= 0);
	v->vm = k->vm = (int)kt_ioctl(v->vmm, v->kvm, KVM_CREATE_VM, type);
	assert_true(v->vm >= 0);
	v->tx = act_thread(v->vmm);
	v->tv = act_thread(v->vmm);
}

void act_vm_vcpu(struct act_vm *v, struct kvmtest *k, mv_guest_fn guest, void *arg)
{
	v->vcpu = kt_vcpu(k, 0);
	assert_int_equal(mv_vcpu_set_guest(v->vmm, v->vcpu, guest, arg), 0);
}

void act_vm_start(struct act_vm *v, void *(*vcpu_fn)(void *), void *(*vmm_fn)(void *),
		  void *arg)
{
	assert_int_equal(pthread_create(&v->vth, NULL, vcpu_fn, arg), 0);
	assert_int_equal(pthread_create(&v->th, NULL, vmm_fn, arg), 0);
}

/* One KVM_RUN that must end at the guest's HLT. */
void act_vm_run_to_hlt(struct act_vm *v, struct act_err *err)
{
	struct kvm_run *run = mv_vcpu_run_area(v->tx, v->vcpu);
	long r = run ? kt_ioctl(v->tx, v->vcpu, KVM_RUN, 0) : -1;

	if (r || run->exit_reason != KVM_EXIT_HLT)
		act_fail(err, "KVM_RUN = %ld, exit reason %u", r, run ? run->exit_reason : 0);
	act_vm_set_done(v);
}

void act_vm_set_done(struct act_vm *v)
{
	__atomic_store_n(&v->done, 1, __ATOMIC_RELEASE);
}

bool act_vm_done(struct act_vm *v)
{
	return __atomic_load_n(&v->done, __ATOMIC_ACQUIRE);
}

bool act_vm_ended(void *self)
{
	return act_vm_done(self);
}

void act_vm_join(void *self)
{
	struct act_vm *v = self;

	pthread_join(v->th, NULL);
	pthread_join(v->vth, NULL);
}

void act_vm_destroy(struct act_vm *v)
{
	assert_int_equal(MVTEST_SYSCALL(v->vmm, MV_SYS_close, v->vcpu), 0);
	assert_int_equal(MVTEST_SYSCALL(v->vmm, MV_SYS_close, v->vm), 0);
	assert_int_equal(MVTEST_SYSCALL(v->vmm, MV_SYS_close, v->kvm), 0);
	mv_task_exit(v->tx);
	mv_task_exit(v->tv);
	mv_task_exit(v->vmm);
}
