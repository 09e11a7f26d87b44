/* SPDX-License-Identifier: MIT */
/*
 * A VMM that includes the system's headers first, as a ported program
 * does, then memvisor's. Compiling at all is most of the test.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>

#include <memvisor/memvisor.h>

#include "coexist_run.h"

/* The system's struct kvm_run stayed; memvisor's names still fill the gaps. */
_Static_assert(offsetof(struct kvm_run, hypercall.longmode) == 96, "the system's kvm_run");
_Static_assert(KVM_CREATE_GUEST_MEMFD == 0xc040aed4, "memvisor adds what the system lacks");
_Static_assert(sizeof(struct kvm_create_guest_memfd) == 64, "memvisor adds what the system lacks");

int main(void)
{
	return coexist_run("system headers first");
}
