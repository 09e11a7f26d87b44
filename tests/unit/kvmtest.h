/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the KVM tests: a machine with a VMM task, /dev/kvm and
 * one VM open, and short forms of the ioctls. Public API only.
 */
#ifndef MV_TESTS_KVMTEST_H
#define MV_TESTS_KVMTEST_H

#include <pthread.h>
#include <string.h>

#include "mvtest.h"

#define KT_PG 4096ull

struct kvmtest {
	struct mv_machine *m;
	struct mv_task *t;
	int kvm;
	int vm;
};

static inline long kt_ioctl(struct mv_task *t, int fd, unsigned long cmd, uint64_t arg)
{
	return mv_syscall(t, MV_SYS_ioctl, (uint64_t)fd, cmd, arg, 0, 0, 0);
}

static inline long kt_ioctl_p(struct mv_task *t, int fd, unsigned long cmd, const void *p)
{
	return kt_ioctl(t, fd, cmd, (uint64_t)(uintptr_t)p);
}

static inline void kt_setup(struct kvmtest *k, uint64_t ram)
{
	k->m = mvtest_machine(ram);
	assert_int_equal(mv_task_spawn(k->m, &k->t), 0);
	k->kvm = (int)mv_syscall(k->t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				 (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
	assert_true(k->kvm >= 0);
	k->vm = (int)kt_ioctl(k->t, k->kvm, KVM_CREATE_VM, 0);
	assert_true(k->vm >= 0);
}

static inline void kt_teardown(struct kvmtest *k)
{
	mv_machine_destroy(k->m);
}

/* Anonymous private read/write memory in the VMM. */
static inline uint64_t kt_mmap(struct kvmtest *k, uint64_t len)
{
	long a = mv_syscall(k->t, MV_SYS_mmap, 0, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);

	assert_true(a > 0);
	return (uint64_t)a;
}

static inline long kt_region(struct kvmtest *k, uint32_t slot, uint32_t flags, uint64_t gpa,
			     uint64_t size, uint64_t uaddr)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = uaddr,
	};

	return kt_ioctl_p(k->t, k->vm, KVM_SET_USER_MEMORY_REGION, &r);
}

static inline int kt_vcpu(struct kvmtest *k, unsigned long id)
{
	long fd = kt_ioctl(k->t, k->vm, KVM_CREATE_VCPU, id);

	assert_true(fd >= 0);
	return (int)fd;
}

static inline long kt_run(struct kvmtest *k, int vcpu)
{
	return kt_ioctl(k->t, vcpu, KVM_RUN, 0);
}

/*
 * The same calls from any task of the VMM process, for tests where several
 * host threads (each with its own CLONE_VM task) drive one VM.
 */
static inline long kt_region_t(struct mv_task *t, int vm, uint32_t slot, uint32_t flags,
			       uint64_t gpa, uint64_t size, uint64_t uaddr)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = uaddr,
	};

	return kt_ioctl_p(t, vm, KVM_SET_USER_MEMORY_REGION, &r);
}

/* Another thread of @t's process (CLONE_VM and the pthread flags), for another host thread. */
static inline struct mv_task *kt_thread(struct mv_task *t)
{
	struct mv_task *c = NULL;

	assert_int_equal(mv_task_clone(t, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
				       CLONE_THREAD, &c), 0);
	return c;
}

/* A KVM_MEM_GUEST_MEMFD slot backed by @gmem from byte @off (shared pages from @uaddr). */
static inline long kt_region_gmem(struct mv_task *t, int vm, uint32_t slot, uint64_t gpa,
				  uint64_t size, uint64_t uaddr, int gmem, uint64_t off)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = slot, .flags = KVM_MEM_GUEST_MEMFD, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = uaddr, .guest_memfd_offset = off,
		.guest_memfd = (uint32_t)gmem,
	};

	return kt_ioctl_p(t, vm, KVM_SET_USER_MEMORY_REGION2, &r);
}

static inline long kt_set_attributes(struct mv_task *t, int vm, uint64_t gpa, uint64_t size,
				     uint64_t attrs)
{
	struct kvm_memory_attributes a = { .address = gpa, .size = size, .attributes = attrs };

	return kt_ioctl_p(t, vm, KVM_SET_MEMORY_ATTRIBUTES, &a);
}

/*
 * A second VM of @k's process (KVM_X86_SW_PROTECTED_VM) whose slot 0 is a
 * guest_memfd of @size bytes at GPA 0, all of it private. The VM's fd;
 * the guest_memfd's in *@gmem.
 */
static inline int kt_gmem_vm(struct kvmtest *k, uint64_t size, long *gmem)
{
	struct kvm_create_guest_memfd g = { .size = size };
	struct kvm_userspace_memory_region2 r = { .flags = KVM_MEM_GUEST_MEMFD,
						  .memory_size = size };
	int vm = (int)kt_ioctl(k->t, k->kvm, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);

	assert_true(vm >= 0);
	*gmem = kt_ioctl_p(k->t, vm, KVM_CREATE_GUEST_MEMFD, &g);
	assert_true(*gmem >= 0);
	r.userspace_addr = kt_mmap(k, size);
	r.guest_memfd = (uint32_t)*gmem;
	assert_int_equal(kt_ioctl_p(k->t, vm, KVM_SET_USER_MEMORY_REGION2, &r), 0);
	assert_int_equal(kt_set_attributes(k->t, vm, 0, size, KVM_MEMORY_ATTRIBUTE_PRIVATE), 0);
	return vm;
}

/* KVM_GET_DIRTY_LOG of @slot into @bitmap (one bit per page of the slot). */
static inline long kt_dirty_log(struct mv_task *t, int vm, uint32_t slot, void *bitmap)
{
	struct kvm_dirty_log l = { .slot = slot, .dirty_bitmap = bitmap };

	return kt_ioctl_p(t, vm, KVM_GET_DIRTY_LOG, &l);
}

/* ---- vCPUs on host threads of their own ---- */

struct kt_vthread {
	struct mv_task *t;    /* a thread of the VMM's process */
	int fd;
	long err;             /* KVM_RUN's answer, or -1000 - the exit reason if not HLT */
};

static inline void *kt_vthread_main(void *p)
{
	struct kt_vthread *v = p;
	struct kvm_run *run = mv_vcpu_run_area(v->t, v->fd);

	v->err = kt_ioctl(v->t, v->fd, KVM_RUN, 0);
	if (!v->err && run->exit_reason != KVM_EXIT_HLT)
		v->err = -1000 - (long)run->exit_reason;
	return NULL;
}

/*
 * vCPUs 0..@n-1 of @k's VM, vCPU i running @fns[i] with @arg, each entered
 * by KVM_RUN on a host thread of its own (a task of the VMM's process);
 * returns when all have stopped, each having ended with HLT.
 */
static inline void kt_run_on_threads(struct kvmtest *k, int n, const mv_guest_fn *fns, void *arg)
{
	struct kt_vthread v[8];
	pthread_t th[8];

	assert_true(n > 0 && n <= 8);
	for (int i = 0; i < n; i++) {
		v[i] = (struct kt_vthread){ .t = kt_thread(k->t), .fd = kt_vcpu(k, (unsigned long)i) };
		assert_int_equal(mv_vcpu_set_guest(k->t, v[i].fd, fns[i], arg), 0);
	}
	for (int i = 0; i < n; i++)
		assert_int_equal(pthread_create(&th[i], NULL, kt_vthread_main, &v[i]), 0);
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(v[i].err, 0);
		mv_task_exit(v[i].t);
	}
}

#endif
