/* SPDX-License-Identifier: MIT */
/*
 * What every include-order test runs once its headers are in: a VMM that
 * opens /dev/kvm, maps memory, adds a memslot, runs a guest to an MMIO exit
 * and to HLT, and takes a SIGSEGV, all with the names and structures
 * whichever header (the system's or memvisor's) defined. A number or a
 * layout on which the two disagreed would fail here, if it got past the
 * headers' static assertions.
 */
#ifndef MV_TESTS_COEXIST_RUN_H
#define MV_TESTS_COEXIST_RUN_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define COEXIST_RAM  0x10000ull
#define COEXIST_MMIO 0x10000000ull

static int coexist_failures;

static void coexist_check(bool ok, const char *what, long got)
{
	if (ok)
		return;
	fprintf(stderr, "FAILED: %s (got %ld)\n", what, got);
	coexist_failures++;
}

static long coexist_ioctl(struct mv_task *t, long fd, unsigned long cmd, const void *arg)
{
	return mv_syscall(t, MV_SYS_ioctl, (uint64_t)fd, cmd, (uint64_t)(uintptr_t)arg, 0, 0, 0);
}

/* A word into RAM, then one to an address no memslot covers: an MMIO exit. */
static void coexist_guest(struct mv_guest *g, void *arg)
{
	uint32_t v = 0x600d;

	(void)arg;
	if (mv_guest_write(g, 0x1000, &v, sizeof(v)) == 0)
		mv_guest_write(g, COEXIST_MMIO, &v, sizeof(v));
}

static void coexist_vm(struct mv_task *t, long mem)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_run *run;
	long kvm, vm, vcpu, ret;
	uint32_t word = 0;

	kvm = mv_syscall(t, MV_SYS_openat, (uint64_t)AT_FDCWD, (uint64_t)(uintptr_t)"/dev/kvm",
			 O_RDWR | O_CLOEXEC, 0, 0, 0);
	coexist_check(kvm >= 0, "open /dev/kvm", kvm);
	ret = coexist_ioctl(t, kvm, KVM_GET_API_VERSION, NULL);
	coexist_check(ret == KVM_API_VERSION, "KVM_GET_API_VERSION", ret);
	ret = coexist_ioctl(t, kvm, KVM_CHECK_EXTENSION, (void *)(uintptr_t)KVM_CAP_USER_MEMORY);
	coexist_check(ret == 1, "KVM_CAP_USER_MEMORY", ret);
	vm = coexist_ioctl(t, kvm, KVM_CREATE_VM, (void *)(uintptr_t)KVM_X86_DEFAULT_VM);
	coexist_check(vm >= 0, "KVM_CREATE_VM", vm);

	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.flags = 0;
	region.guest_phys_addr = 0;
	region.memory_size = COEXIST_RAM;
	region.userspace_addr = (uint64_t)mem;
	ret = coexist_ioctl(t, vm, KVM_SET_USER_MEMORY_REGION, &region);
	coexist_check(ret == 0, "KVM_SET_USER_MEMORY_REGION", ret);
	region.flags = KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES;
	ret = coexist_ioctl(t, vm, KVM_SET_USER_MEMORY_REGION, &region);
	coexist_check(ret == -EINVAL, "changing READONLY of a memslot is -EINVAL", ret);

	vcpu = coexist_ioctl(t, vm, KVM_CREATE_VCPU, NULL);
	coexist_check(vcpu >= 0, "KVM_CREATE_VCPU", vcpu);
	ret = coexist_ioctl(t, vcpu, KVM_GET_SREGS, &sregs);
	coexist_check(ret == 0 && sregs.cr0 == 1, "KVM_GET_SREGS: cr0 = PE", (long)sregs.cr0);
	ret = mv_vcpu_set_guest(t, (int)vcpu, coexist_guest, NULL);
	coexist_check(ret == 0, "mv_vcpu_set_guest", ret);
	run = mv_vcpu_run_area(t, (int)vcpu);
	coexist_check(run != NULL, "mv_vcpu_run_area", 0);
	if (!run)
		return;

	ret = coexist_ioctl(t, vcpu, KVM_RUN, NULL);
	coexist_check(ret == 0 && run->exit_reason == KVM_EXIT_MMIO, "KVM_RUN: MMIO exit",
		      (long)run->exit_reason);
	memcpy(&word, run->mmio.data, sizeof(word));
	coexist_check(run->mmio.phys_addr == COEXIST_MMIO && run->mmio.len == 4 &&
		      run->mmio.is_write && word == 0x600d, "the MMIO exit's fields",
		      (long)run->mmio.phys_addr);
	ret = coexist_ioctl(t, vcpu, KVM_RUN, NULL);
	coexist_check(ret == 0 && run->exit_reason == KVM_EXIT_HLT, "KVM_RUN: HLT",
		      (long)run->exit_reason);
	word = 0;
	ret = mv_user_read(t, (uint64_t)mem + 0x1000, &word, sizeof(word));
	coexist_check(ret == 0 && word == 0x600d, "the guest's write in the VMM's memory", ret);
}

static void coexist_signal(struct mv_task *t, long mem)
{
	struct mv_siginfo si;
	long ret;

	ret = mv_syscall(t, MV_SYS_mprotect, (uint64_t)mem, 4096, PROT_READ, 0, 0, 0);
	coexist_check(ret == 0, "mprotect PROT_READ", ret);
	ret = mv_user_write(t, (uint64_t)mem, "x", 1);
	coexist_check(ret == -EFAULT, "store to read-only memory", ret);
	coexist_check(mv_task_take_signal(t, &si) == 1 && si.signo == SIGSEGV &&
		      si.code == SEGV_ACCERR && si.addr == (uint64_t)mem,
		      "SIGSEGV / SEGV_ACCERR", si.code);
	ret = mv_syscall(t, MV_SYS_madvise, (uint64_t)mem, COEXIST_RAM, MADV_DONTNEED, 0, 0, 0);
	coexist_check(ret == 0, "madvise MADV_DONTNEED", ret);
}

static int coexist_run(const char *order)
{
	struct mv_machine *m = NULL;
	struct mv_task *t = NULL, *thread = NULL;
	long mem, ret;

	ret = mv_machine_create(NULL, &m);
	coexist_check(ret == 0, "mv_machine_create", ret);
	if (ret)
		return 1;
	ret = mv_task_spawn(m, &t);
	coexist_check(ret == 0, "mv_task_spawn", ret);
	if (ret)
		goto out;
	mem = mv_syscall(t, MV_SYS_mmap, 0, COEXIST_RAM, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	coexist_check(mem > 0, "mmap", mem);
	if (mem > 0) {
		coexist_vm(t, mem);
		coexist_signal(t, mem);
	}
	ret = mv_task_clone(t, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD,
			    &thread);
	coexist_check(ret == 0, "mv_task_clone (a thread)", ret);
	if (!ret)
		mv_task_exit(thread);
	mv_task_exit(t);
out:
	mv_machine_destroy(m);
	if (coexist_failures)
		return 1;
	printf("%s: ok\n", order);
	return 0;
}

#endif
