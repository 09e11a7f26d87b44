/* SPDX-License-Identifier: MIT */
/*
 * memvisor's own definitions only (MV_UAPI_STANDALONE): what a build on a
 * system without Linux headers compiles, checked by the same assertions
 * and the same run.
 */
#define MV_UAPI_STANDALONE 1
#include <memvisor/memvisor.h>

#include <errno.h>
#include <stddef.h>

#include "coexist_run.h"

#ifdef __LINUX_KVM_H
#error "MV_UAPI_STANDALONE pulled in the system's <linux/kvm.h>"
#endif
_Static_assert(offsetof(struct kvm_run, memory_fault.size) == 48, "memvisor's kvm_run");

int main(void)
{
	return coexist_run("memvisor standalone");
}
