/* SPDX-License-Identifier: MIT */
/*
 * The guest program behind a vCPU, shared by guest.c (the coroutine, KVM_RUN
 * and memory accesses) and guest_cpu.c (control registers, hypercalls and
 * the other instructions a guest program issues).
 */
#ifndef MV_KVM_GUEST_H
#define MV_KVM_GUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "kvm/kvm.h"

#if !defined(__x86_64__)
#define KVM_GUEST_UCONTEXT 1
#include <ucontext.h>
#endif

struct mv_guest {
	struct kvm_vcpu *vcpu;
	mv_guest_fn fn;
	void *arg;
	void *stack;
	size_t stack_size;
#ifdef KVM_GUEST_UCONTEXT
	ucontext_t guest_uc, host_uc;
#else
	void *guest_sp;            /* saved stack pointer of the suspended guest */
	void *host_sp;             /* saved stack pointer of KVM_RUN's caller */
#endif
	bool done;
	bool in_guest;             /* the guest's stack is the one running */
	long run_ret;              /* what KVM_RUN returns for this exit */
	bool has_fault;
	struct mv_guest_fault fault;
	/* sanitizer bookkeeping */
	void *asan_fake_host, *asan_fake_guest;
	const void *host_bottom;
	size_t host_size;
	void *tsan_fiber, *tsan_host;
};

#define X86_VEC_UD 6

/* The mv_guest_* calls are only meaningful on the guest's own stack, under KVM_RUN. */
static inline bool kvm_guest_usable(const struct mv_guest *g)
{
	return g && g->in_guest;
}

/* Records a fault delivered to the guest (mv_guest_last_fault); returns -EFAULT. */
long kvm_guest_raise(struct mv_guest *g, int vector, uint64_t error_code, uint64_t addr);

#endif
