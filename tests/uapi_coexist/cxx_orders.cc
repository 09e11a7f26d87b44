// SPDX-License-Identifier: MIT
// memvisor's header in a C++ program, before or after the system's
// (COEXIST_SYSTEM_FIRST picks the order): compiled, not run.
#ifdef COEXIST_SYSTEM_FIRST
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <sys/mman.h>

#include <memvisor/memvisor.h>
#else
#include <memvisor/memvisor.h>

#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <sys/mman.h>
#endif

static_assert(KVM_RUN == 0xae80, "KVM_RUN");
static_assert(sizeof(struct kvm_run) == 2352, "kvm_run");
static_assert(SEGV_ACCERR == 2, "SEGV_ACCERR");

int main()
{
	return 0;
}
