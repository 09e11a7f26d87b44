/* SPDX-License-Identifier: MIT */
/*
 * A VMM that includes memvisor's header first and the system's after it.
 * Compiling at all is most of the test.
 */
#include <memvisor/memvisor.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>

#include "coexist_run.h"

/* memvisor's struct kvm_run, with the exits it produces ... */
_Static_assert(offsetof(struct kvm_run, memory_fault.gpa) == 40, "memvisor's kvm_run");
_Static_assert(offsetof(struct kvm_run, hypercall.flags) == 96, "memvisor's kvm_run");
#ifdef __LINUX_KVM_H
/* ... and everything else the system's header has (x86-64 hosts) */
_Static_assert(sizeof(struct mv_system_kvm_run) == sizeof(struct kvm_run), "the system's kvm_run");
_Static_assert(sizeof(struct kvm_cpuid2) == 8, "a name only the system defines");
_Static_assert(KVM_SET_TSS_ADDR == 0xae47, "a name only the system defines");
#define SYSTEM_KVM "yes"
#else
#define SYSTEM_KVM "no"
#endif

int main(void)
{
	return coexist_run("memvisor first (system linux/kvm.h: " SYSTEM_KVM ")");
}
