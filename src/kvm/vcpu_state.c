/* SPDX-License-Identifier: MIT */
/*
 * A vCPU's architectural state as the VMM sees it: general registers
 * (KVM_GET/SET_REGS), special registers (KVM_GET/SET_SREGS), pending events
 * (KVM_GET/SET_VCPU_EVENTS), and the run area's own copies of them, which
 * KVM_RUN takes in before the guest runs and gives back after
 * (kvm_valid_regs / kvm_dirty_regs with s.regs, cr8, apic_base, if_flag,
 * ready_for_interrupt_injection, flags), as x86 KVM's
 * kvm_arch_vcpu_ioctl_run(), sync_regs(), store_regs() and
 * post_kvm_run_save() do.
 *
 * memvisor has no in-kernel local APIC, no interrupts or NMIs and no SMM:
 * what events would say about them is always zero, and what a VMM hands in
 * for them is checked as Linux checks it and then has nothing to act on.
 * An exception (KVM's own #UD after an emulation failure, or one the VMM
 * injects) is real state: it is delivered at the guest's next instruction.
 *
 * Everything here runs with vcpu->mutex held (the vCPU ioctls, KVM_RUN).
 */
#include <string.h>

#include "kvm/kvm.h"
#include "lib/lockdep.h"

#define X86_RFLAGS_FIXED 0x2ull
#define X86_RFLAGS_IF    (1ull << 9)
#define X86_VEC_NMI      2
#define X86_VEC_BP       3
#define X86_VEC_OF       4

#define APIC_DEFAULT_PHYS_BASE   0xfee00000ull
#define MSR_IA32_APICBASE_BSP    (1ull << 8)
#define X2APIC_ENABLE            (1ull << 10)
#define MSR_IA32_APICBASE_ENABLE (1ull << 11)
/*
 * The guest's MAXPHYADDR as KVM assumes it until the VMM sets CPUID
 * (cpuid_query_maxphyaddr() without leaf 0x80000008); memvisor has no
 * KVM_SET_CPUID2, so it stays.
 */
#define KVM_GUEST_MAXPHYADDR     36

#define KVM_VCPUEVENT_VALID_ALL (KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR | \
				 KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM |           \
				 KVM_VCPUEVENT_VALID_PAYLOAD | KVM_VCPUEVENT_VALID_TRIPLE_FAULT)

/* kvm_vcpu_reset(): RFLAGS has only its fixed bit; the APIC base of a BSP or an AP. */
void kvm_vcpu_reset_state(struct kvm_vcpu *vcpu)
{
	vcpu->regs.rflags = X86_RFLAGS_FIXED;
	vcpu->apic_base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE |
			  (vcpu->vcpu_id == 0 ? MSR_IA32_APICBASE_BSP : 0);
}

/* ---- general registers ---- */

void kvm_vcpu_get_regs_locked(struct kvm_vcpu *vcpu, struct kvm_regs *regs)
{
	lockdep_assert_held(&vcpu->mutex);
	*regs = vcpu->regs;
	regs->rip = vcpu->cpu.rip;
	regs->rsp = vcpu->cpu.rsp;
	regs->rflags |= X86_RFLAGS_FIXED;
}

/* __set_regs(): also drops an exception KVM raised and has not delivered yet. */
void kvm_vcpu_set_regs_locked(struct kvm_vcpu *vcpu, const struct kvm_regs *regs)
{
	lockdep_assert_held(&vcpu->mutex);
	vcpu->regs = *regs;
	vcpu->regs.rflags |= X86_RFLAGS_FIXED;
	vcpu->cpu.rip = vcpu->regs.rip;
	vcpu->cpu.rsp = vcpu->regs.rsp;
	vcpu->exception.pending = false;
}

/* ---- special registers ---- */

/* Flat segments; 64-bit code once long mode is active. */
static void kvm_vcpu_segments(const struct kvm_vcpu *vcpu, struct kvm_sregs *s)
{
	bool lma = vcpu->cpu.efer & X86_EFER_LMA;
	struct kvm_segment data = {
		.limit = 0xffffffff, .selector = 0x10, .type = 3, .present = 1, .db = 1, .s = 1,
		.g = 1, .dpl = (uint8_t)vcpu->cpu.cpl,
	};

	s->cs = data;
	s->cs.selector = 0x08;
	s->cs.type = 11;
	s->cs.l = lma;
	s->cs.db = !lma;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	s->tr = (struct kvm_segment){ .limit = 0xffff, .type = 11, .present = 1 };
	s->ldt = (struct kvm_segment){ .limit = 0xffff, .type = 2, .present = 1 };
	s->gdt.limit = 0xffff;
	s->idt.limit = 0xffff;
}

/* __get_sregs(): interrupt_bitmap stays empty, there is no interrupt to show. */
void kvm_vcpu_get_sregs_locked(struct kvm_vcpu *vcpu, struct kvm_sregs *s)
{
	lockdep_assert_held(&vcpu->mutex);
	memset(s, 0, sizeof(*s));
	kvm_vcpu_segments(vcpu, s);
	s->cr0 = vcpu->cpu.cr0;
	s->cr2 = vcpu->cpu.cr2;
	s->cr3 = vcpu->cpu.cr3;
	s->cr4 = vcpu->cpu.cr4;
	s->cr8 = vcpu->cr8;
	s->efer = vcpu->cpu.efer;
	s->apic_base = vcpu->apic_base;
}

#define KVM_CR0_RESERVED 0xffffffff1ffaffc0ull   /* bits 63:32 and the undefined ones */
#define KVM_CR4_KNOWN    (X86_CR4_PAE | X86_CR4_UMIP | X86_CR4_FSGSBASE | X86_CR4_SMEP | \
			  X86_CR4_SMAP | X86_CR4_CET | 0x7fdull)
#define KVM_CR8_RESERVED (~0xfull)

/* kvm_is_valid_sregs, plus what memvisor's CPU cannot model (legacy paging). */
static bool kvm_sregs_valid(const struct kvm_vcpu *vcpu, const struct kvm_sregs *s)
{
	const struct hw_machine *m = vcpu->kvm->hw;

	if (s->cr0 & KVM_CR0_RESERVED)
		return false;
	if ((s->cr0 & X86_CR0_PG) && !(s->cr0 & X86_CR0_PE))
		return false;
	if (s->cr4 & ~KVM_CR4_KNOWN)
		return false;
	if (((s->cr4 & X86_CR4_SMEP) && !hw_has(m, MV_FEAT_SMEP)) ||
	    ((s->cr4 & X86_CR4_SMAP) && !hw_has(m, MV_FEAT_SMAP)) ||
	    ((s->cr4 & X86_CR4_CET) && !hw_has(m, MV_FEAT_SHSTK)))
		return false;
	if ((s->efer & X86_EFER_LME) && (s->cr0 & X86_CR0_PG)) {
		if (!(s->cr4 & X86_CR4_PAE) || !(s->efer & X86_EFER_LMA))
			return false;
		if (s->cr3 >> 46)
			return false;
	} else if ((s->efer & X86_EFER_LMA) || s->cs.l) {
		return false;
	}
	/* memvisor models 4-level paging only: no 32-bit or PAE legacy paging */
	return !(s->cr0 & X86_CR0_PG) || (s->efer & X86_EFER_LME);
}

/*
 * kvm_apic_set_base() as the host sets it: reserved bits (above the
 * guest's MAXPHYADDR, 0..7 and 9, x2APIC without x2APIC in CPUID) are
 * refused; any mode change is allowed to the host.
 */
static int kvm_vcpu_set_apic_base(struct kvm_vcpu *vcpu, uint64_t value)
{
	uint64_t reserved = ~((1ull << KVM_GUEST_MAXPHYADDR) - 1) | 0x2ffull | X2APIC_ENABLE;

	if (value == vcpu->apic_base)
		return 0;
	if (value & reserved)
		return -EINVAL;
	vcpu->apic_base = value;
	return 0;
}

/*
 * __set_sregs(): the registers are checked (kvm_is_valid_sregs), then the
 * APIC base, then everything is loaded. A CR8 with reserved bits is left
 * as it was, without an error (kvm_set_cr8's result is not looked at).
 * interrupt_bitmap would queue an interrupt; memvisor has none to deliver.
 */
int kvm_vcpu_set_sregs_locked(struct kvm_vcpu *vcpu, const struct kvm_sregs *s)
{
	lockdep_assert_held(&vcpu->mutex);
	if (!kvm_sregs_valid(vcpu, s))
		return -EINVAL;
	if (kvm_vcpu_set_apic_base(vcpu, s->apic_base))
		return -EINVAL;
	vcpu->cpu.cr2 = s->cr2;
	if (!(s->cr8 & KVM_CR8_RESERVED))
		vcpu->cr8 = s->cr8;
	hw_cpu_write_efer(&vcpu->cpu, s->efer);
	hw_cpu_write_cr4(&vcpu->cpu, s->cr4);
	hw_cpu_write_cr3(&vcpu->cpu, s->cr3);
	hw_cpu_write_cr0(&vcpu->cpu, s->cr0);
	vcpu->cpu.cpl = s->ss.dpl == 3 ? 3 : 0;
	return 0;
}

/* ---- events ---- */

/* kvm_exception_is_soft(): #BP and #OF come from INT3/INTO, whose length the ABI lacks. */
static bool kvm_exception_is_soft(uint8_t vector)
{
	return vector == X86_VEC_BP || vector == X86_VEC_OF;
}

/*
 * kvm_vcpu_ioctl_x86_get_vcpu_events(). KVM_CAP_EXCEPTION_PAYLOAD is not
 * offered, so a pending exception is reported as injected (the ABI's
 * conflation); the vector is reported even once delivered, as Linux does.
 */
void kvm_vcpu_get_events_locked(struct kvm_vcpu *vcpu, struct kvm_vcpu_events *ev)
{
	const struct kvm_queued_exception *ex = &vcpu->exception;

	lockdep_assert_held(&vcpu->mutex);
	memset(ev, 0, sizeof(*ev));
	if (!kvm_exception_is_soft(ex->vector))
		ev->exception.injected = ex->injected || ex->pending;
	ev->exception.nr = ex->vector;
	ev->exception.has_error_code = ex->has_error_code;
	ev->exception.error_code = ex->error_code;
	ev->flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
		    KVM_VCPUEVENT_VALID_SMM;
}

/*
 * kvm_vcpu_ioctl_x86_set_vcpu_events(), in its order: unknown flags,
 * VALID_PAYLOAD without KVM_CAP_EXCEPTION_PAYLOAD, an exception vector
 * above 31 or NMI -> -EINVAL; then the exception is taken. SMM state is
 * refused as by a kernel without CONFIG_KVM_SMM, and VALID_TRIPLE_FAULT
 * without KVM_CAP_X86_TRIPLE_FAULT_EVENT; both only after the exception
 * was taken, as in Linux. Interrupt, NMI and shadow state has nothing to
 * land in.
 */
int kvm_vcpu_set_events_locked(struct kvm_vcpu *vcpu, struct kvm_vcpu_events *ev)
{
	lockdep_assert_held(&vcpu->mutex);
	if (ev->flags & ~KVM_VCPUEVENT_VALID_ALL)
		return -EINVAL;
	if (ev->flags & KVM_VCPUEVENT_VALID_PAYLOAD)
		return -EINVAL;
	ev->exception.pending = 0;
	ev->exception_has_payload = 0;
	if (ev->exception.injected && (ev->exception.nr > 31 || ev->exception.nr == X86_VEC_NMI))
		return -EINVAL;
	vcpu->exception = (struct kvm_queued_exception){
		.injected = ev->exception.injected,
		.vector = ev->exception.nr,
		.has_error_code = ev->exception.has_error_code,
		.error_code = ev->exception.error_code,
	};
	if ((ev->flags & KVM_VCPUEVENT_VALID_SMM) &&
	    (ev->smi.smm || ev->smi.pending || ev->smi.smm_inside_nmi))
		return -EINVAL;
	if (ev->flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT)
		return -EINVAL;
	return 0;
}

/* ---- the run area ---- */

/* sync_regs(): each dirty part is loaded and its bit cleared; a bad one stops it. */
static int kvm_vcpu_sync_regs(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (run->kvm_dirty_regs & KVM_SYNC_X86_REGS) {
		kvm_vcpu_set_regs_locked(vcpu, &run->s.regs.regs);
		run->kvm_dirty_regs &= ~(uint64_t)KVM_SYNC_X86_REGS;
	}
	if (run->kvm_dirty_regs & KVM_SYNC_X86_SREGS) {
		struct kvm_sregs sregs = run->s.regs.sregs;

		if (kvm_vcpu_set_sregs_locked(vcpu, &sregs))
			return -EINVAL;
		run->kvm_dirty_regs &= ~(uint64_t)KVM_SYNC_X86_SREGS;
	}
	if (run->kvm_dirty_regs & KVM_SYNC_X86_EVENTS) {
		struct kvm_vcpu_events events = run->s.regs.events;

		if (kvm_vcpu_set_events_locked(vcpu, &events))
			return -EINVAL;
		run->kvm_dirty_regs &= ~(uint64_t)KVM_SYNC_X86_EVENTS;
	}
	return 0;
}

int kvm_vcpu_run_enter(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	int r;

	lockdep_assert_held(&vcpu->mutex);
	run->flags = 0;
	if ((run->kvm_valid_regs & ~(uint64_t)KVM_SYNC_X86_VALID_FIELDS) ||
	    (run->kvm_dirty_regs & ~(uint64_t)KVM_SYNC_X86_VALID_FIELDS))
		return -EINVAL;
	if (run->kvm_dirty_regs) {
		r = kvm_vcpu_sync_regs(vcpu);
		if (r)
			return r;
	}
	/* re-sync the TPR: no in-kernel APIC, so kvm_set_cr8() decides */
	if (run->cr8 & KVM_CR8_RESERVED)
		return -EINVAL;
	vcpu->cr8 = run->cr8;
	return 0;
}

/* kvm_vcpu_ready_for_interrupt_injection() without an APIC, an interrupt shadow or NMIs. */
static bool kvm_vcpu_ready_for_interrupt_injection(const struct kvm_vcpu *vcpu)
{
	return (vcpu->regs.rflags & X86_RFLAGS_IF) && !vcpu->exception.pending &&
	       !vcpu->exception.injected;
}

/* store_regs() for the valid parts, then post_kvm_run_save(). */
void kvm_vcpu_run_leave(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	lockdep_assert_held(&vcpu->mutex);
	if (run->kvm_valid_regs & KVM_SYNC_X86_REGS)
		kvm_vcpu_get_regs_locked(vcpu, &run->s.regs.regs);
	if (run->kvm_valid_regs & KVM_SYNC_X86_SREGS)
		kvm_vcpu_get_sregs_locked(vcpu, &run->s.regs.sregs);
	if (run->kvm_valid_regs & KVM_SYNC_X86_EVENTS)
		kvm_vcpu_get_events_locked(vcpu, &run->s.regs.events);
	run->if_flag = !!(vcpu->regs.rflags & X86_RFLAGS_IF);
	run->cr8 = vcpu->cr8;
	run->apic_base = vcpu->apic_base;
	run->ready_for_interrupt_injection = kvm_vcpu_ready_for_interrupt_injection(vcpu);
	/* no SMM, no nested guest, no bus-lock detection: flags stay 0 */
}
