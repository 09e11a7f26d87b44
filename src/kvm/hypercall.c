/* SPDX-License-Identifier: MIT */
/*
 * Hypercalls (VMCALL), as x86 KVM handles them: the number in RAX, four
 * arguments, the result back in RAX. Outside 64-bit mode the number, the
 * arguments and the result are 32 bits wide (the guest then reads the
 * result as a 32-bit value: mv_guest_hypercall sign-extends it). A call
 * from CPL 3 gets -KVM_EPERM; an unknown number -KVM_ENOSYS.
 * KVM_HC_MAP_GPA_RANGE exits to user space when the VMM enabled it with
 * KVM_CAP_EXIT_HYPERCALL; the VMM's answer in run->hypercall.ret becomes
 * the result when KVM_RUN resumes the guest.
 */
#include <sched.h>

#include "kvm/kvm.h"

/* KVM_HC_MAP_GPA_RANGE: checked here, decided by the VMM. */
static long kvm_hc_map_gpa_range(struct mv_guest *g, const uint64_t a[4], bool op_64_bit)
{
	struct kvm_vcpu *vcpu = kvm_guest_vcpu(g);
	struct kvm_run *run = vcpu->run;
	uint64_t gpa = a[0], npages = a[1];

	if (!(__atomic_load_n(&vcpu->kvm->hypercall_exit_enabled, __ATOMIC_ACQUIRE) &
	      (1ull << KVM_HC_MAP_GPA_RANGE)))
		return -KVM_ENOSYS;
	if ((gpa & (K_PAGE_SIZE - 1)) || !npages ||
	    (gpa >> HW_PAGE_SHIFT) + npages <= (gpa >> HW_PAGE_SHIFT))
		return -KVM_EINVAL;
	run->exit_reason = KVM_EXIT_HYPERCALL;
	run->hypercall.nr = KVM_HC_MAP_GPA_RANGE;
	run->hypercall.args[0] = gpa;
	run->hypercall.args[1] = npages;
	run->hypercall.args[2] = a[2];
	run->hypercall.args[3] = run->hypercall.args[4] = run->hypercall.args[5] = 0;
	run->hypercall.ret = 0;
	run->hypercall.flags = op_64_bit ? KVM_EXIT_HYPERCALL_LONG_MODE : 0;
	kvm_guest_exit_for_completion(g);
	return (long)run->hypercall.ret;
}

#define APIC_DEST_MASK  0x800ull     /* logical destination */
#define APIC_SHORT_MASK 0xc0000ull   /* destination shorthand */

/*
 * kvm_pv_send_ipi(bitmap_low, bitmap_high, min, icr): an ICR asking for a
 * logical destination or a shorthand is -KVM_EINVAL; otherwise the
 * interrupt needs the in-kernel APIC map, which memvisor never has (no
 * KVM_CREATE_IRQCHIP): -KVM_EOPNOTSUPP, the -EOPNOTSUPP Linux returns
 * for a missing map.
 */
static long kvm_hc_send_ipi(const uint64_t a[4])
{
	uint64_t icr = a[3];

	if (icr & (APIC_DEST_MASK | APIC_SHORT_MASK))
		return -KVM_EINVAL;
	return -KVM_EOPNOTSUPP;
}

static long kvm_hc_dispatch(struct mv_guest *g, uint64_t nr, const uint64_t a[4], bool op_64_bit)
{
	switch (nr) {
	case KVM_HC_VAPIC_POLL_IRQ:
		return 0;
	case KVM_HC_KICK_CPU:      /* vCPUs never block in memvisor: nothing to wake */
	case KVM_HC_SCHED_YIELD:
		sched_yield();
		return 0;
	case KVM_HC_SEND_IPI:
		return kvm_hc_send_ipi(a);
	case KVM_HC_CLOCK_PAIRING: /* no TSC-based host clock to pair with */
		return -KVM_EOPNOTSUPP;
	case KVM_HC_MAP_GPA_RANGE:
		return kvm_hc_map_gpa_range(g, a, op_64_bit);
	default:
		/* Heki's (heki.c) */
		return kvm_heki_is_hypercall(nr) ? kvm_heki_hypercall(g, nr, a) : -KVM_ENOSYS;
	}
}

long kvm_emulate_hypercall(struct mv_guest *g, uint64_t nr, const uint64_t a[4])
{
	struct kvm_vcpu *vcpu = kvm_guest_vcpu(g);
	bool op_64_bit = kvm_guest_long_mode(vcpu);
	uint64_t args[4] = { a[0], a[1], a[2], a[3] };
	long ret;

	if (!op_64_bit) {
		nr &= 0xffffffffu;
		for (int i = 0; i < 4; i++)
			args[i] &= 0xffffffffu;
	}
	if (vcpu->cpu.cpl != 0)
		ret = -KVM_EPERM;
	else
		ret = kvm_hc_dispatch(g, nr, args, op_64_bit);
	if (!op_64_bit)
		ret = (long)(int32_t)(uint32_t)ret;   /* EAX, as the guest reads it */
	return ret;
}
