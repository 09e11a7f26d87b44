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
	/*
	 * The guest left KVM_RUN in the middle of an instruction whose end
	 * needs the VMM's answer (an MMIO access, a hypercall): KVM's
	 * complete_userspace_io. The next KVM_RUN finishes it even with
	 * immediate_exit set.
	 */
	bool cui;
	bool stop_at_boundary;     /* immediate_exit: leave at the next instruction */
	/*
	 * Something to do before the next instruction (stop_at_boundary or an
	 * exception to deliver), so the inline read/write path tests one byte.
	 */
	bool boundary_work;
	/*
	 * mv_guest_fast() handed out the vCPU's window to code whose bracket
	 * ordering this machine supports: misses may re-arm it.
	 */
	bool fast_armable;
	bool fast_plain;           /* plain-store brackets were asked for: sticky */
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
/* A fault an instruction's access raised: 0 to run it again, -EFAULT if the guest took it. */
long kvm_guest_handle_fault(struct mv_guest *g, const struct hw_fault *f);
/* STG (@set, the tag from @gva's bits 59:56) or LDG into *@tag, as a store / a load. */
long kvm_guest_tag_access(struct mv_guest *g, uint64_t gva, bool set, uint8_t *tag);

/*
 * The guest is about to execute its next instruction (any mv_guest_* call
 * but mv_guest_last_fault): stops there when immediate_exit asked for it,
 * and delivers a queued exception instead of the instruction (-EFAULT).
 * 0: go on.
 */
long kvm_guest_boundary_slow(struct mv_guest *g);
/* Re-arms the inline fast path after a miss, if nothing forbids it (guest_fast.c). */
void kvm_guest_fast_rearm(struct mv_guest *g);
static inline long kvm_guest_boundary(struct mv_guest *g)
{
	return __builtin_expect(g->boundary_work, 0) ? kvm_guest_boundary_slow(g) : 0;
}

#endif
