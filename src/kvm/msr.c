/* SPDX-License-Identifier: MIT */
/*
 * The guest's CET state as MSRs: IA32_U_CET, IA32_S_CET, IA32_PL0..3_SSP
 * and IA32_INT_SSP_TAB, read and written by the VMM (KVM_GET_MSRS /
 * KVM_SET_MSRS, msr_io() and __msr_io() in x86.c) and by the guest
 * (RDMSR / WRMSR), checked as mainline KVM's CET virtualization checks
 * them in kvm_get_msr_common() / kvm_set_msr_common() and
 * kvm_is_valid_u_s_cet(). These are the only MSRs memvisor models here.
 *
 * memvisor has no KVM_SET_CPUID2: the guest's CPUID has SHSTK and IBT
 * exactly when the machine does (MV_FEAT_SHSTK, MV_FEAT_IBT), and KVM
 * advertises the CET MSRs (kvm_is_advertised_msr) under the same rule.
 *
 * The state lives in the vCPU's hw_cpu (u_cet, s_cet, pl_ssp[], and
 * int_ssp_tab here), touched only with vcpu->mutex held: the vCPU ioctls
 * and KVM_RUN (the guest program) both hold it.
 *
 * One more MSR, memvisor's own and for the VMM only: MSR_MV_MTE_CTRL
 * (uapi/kvm_snapshot.h), the vCPU's MTE tag-check mode and top-byte
 * ignore (hw_cpu mte_tcf and tbi), so a snapshot can carry them. The
 * hw_cpu rule "only the CPU's own thread" holds through vcpu->mutex: the
 * guest program changes them only inside KVM_RUN, which holds it too.
 */
#include <string.h>

#include "hw/mte.h"
#include "kvm/guest.h"
#include "kvm/kvm.h"
#include "kvm/mte.h"
#include "lib/alloc.h"
#include "lib/lockdep.h"

/* MAX_IO_MSRS in x86.c: one KVM_GET/SET_MSRS moves fewer entries than this. */
#define KVM_MAX_IO_MSRS 256

/* IA32_U_CET / IA32_S_CET bits (SDM vol. 1, 17.2; KVM's CET_US_* masks) */
#define KVM_CET_SHSTK_MASK    0x3ull                      /* SH_STK_EN, WR_SHSTK_EN */
#define KVM_CET_RESERVED      0x3c0ull                    /* bits 9:6 */
#define KVM_CET_IBT_MASK      (0x3cull | ~0x3ffull)       /* bits 5:2 and 63:10 */
#define KVM_CET_SUPPRESS      (1ull << 10)
#define KVM_CET_WAIT_ENDBR    (1ull << 11)

/* What kvm_{get,set}_msr_common answer: 0, 1 (invalid: #GP) or unsupported. */
enum { KVM_MSR_OK = 0, KVM_MSR_INVALID = 1, KVM_MSR_UNSUPPORTED = 2 };

static bool kvm_guest_has_shstk(const struct kvm_vcpu *vcpu)
{
	return hw_has(vcpu->cpu.m, MV_FEAT_SHSTK);
}

static bool kvm_guest_has_ibt(const struct kvm_vcpu *vcpu)
{
	return hw_has(vcpu->cpu.m, MV_FEAT_IBT);
}

/* is_noncanonical_msr_address() with 4-level paging: bits 63:47 all equal. */
static bool kvm_noncanonical(uint64_t v)
{
	return (uint64_t)((int64_t)(v << 16) >> 16) != v;
}

/* kvm_is_valid_u_s_cet() */
static bool kvm_is_valid_u_s_cet(const struct kvm_vcpu *vcpu, uint64_t data)
{
	if (data & KVM_CET_RESERVED)
		return false;
	if (!kvm_guest_has_shstk(vcpu) && (data & KVM_CET_SHSTK_MASK))
		return false;
	if (!kvm_guest_has_ibt(vcpu) && (data & KVM_CET_IBT_MASK))
		return false;
	if ((data >> 12) & 3)   /* the legacy bitmap base is 4-byte aligned */
		return false;
	/* IBT can be suppressed only while the tracker is not WAIT_FOR_ENDBRANCH */
	if ((data & KVM_CET_SUPPRESS) && (data & KVM_CET_WAIT_ENDBR))
		return false;
	return true;
}

/* Where the MSR lives, or NULL for an MSR memvisor does not model. */
static uint64_t *kvm_cet_msr_slot(struct kvm_vcpu *vcpu, uint32_t index)
{
	switch (index) {
	case MSR_IA32_U_CET:
		return &vcpu->cpu.u_cet;
	case MSR_IA32_S_CET:
		return &vcpu->cpu.s_cet;
	case MSR_IA32_PL0_SSP:
	case MSR_IA32_PL1_SSP:
	case MSR_IA32_PL2_SSP:
	case MSR_IA32_PL3_SSP:
		return &vcpu->cpu.pl_ssp[index - MSR_IA32_PL0_SSP];
	case MSR_IA32_INT_SSP_TAB:
		return &vcpu->cpu.int_ssp_tab;
	default:
		return NULL;
	}
}

/* The CPUID checks both directions share (kvm_{get,set}_msr_common). */
static int kvm_cet_msr_supported(const struct kvm_vcpu *vcpu, uint32_t index)
{
	if (index == MSR_IA32_U_CET || index == MSR_IA32_S_CET)
		return kvm_guest_has_shstk(vcpu) || kvm_guest_has_ibt(vcpu) ? KVM_MSR_OK
									 : KVM_MSR_UNSUPPORTED;
	return kvm_guest_has_shstk(vcpu) ? KVM_MSR_OK : KVM_MSR_UNSUPPORTED;
}

/* kvm_set_msr_common(), the CET cases. */
static int kvm_set_cet_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t data)
{
	uint64_t *slot = kvm_cet_msr_slot(vcpu, index);
	int r;

	lockdep_assert_held(&vcpu->mutex);
	if (!slot)
		return KVM_MSR_UNSUPPORTED;
	r = kvm_cet_msr_supported(vcpu, index);
	if (r)
		return r;
	if (index == MSR_IA32_U_CET || index == MSR_IA32_S_CET) {
		if (!kvm_is_valid_u_s_cet(vcpu, data))
			return KVM_MSR_INVALID;
	} else {
		if (kvm_noncanonical(data))
			return KVM_MSR_INVALID;
		/* every SSP MSR but the interrupt SSP table is 4-byte aligned */
		if (index != MSR_IA32_INT_SSP_TAB && (data & 3))
			return KVM_MSR_INVALID;
	}
	*slot = data;
	return KVM_MSR_OK;
}

/* kvm_get_msr_common(), the CET cases. */
static int kvm_get_cet_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t *data)
{
	uint64_t *slot = kvm_cet_msr_slot(vcpu, index);
	int r;

	lockdep_assert_held(&vcpu->mutex);
	if (!slot)
		return KVM_MSR_UNSUPPORTED;
	r = kvm_cet_msr_supported(vcpu, index);
	if (r)
		return r;
	*data = *slot;
	return KVM_MSR_OK;
}

/* MSR_MV_MTE_CTRL as the VMM sees it: TCF in bits 1:0, TBI in bit 2. */
static uint64_t kvm_mte_ctrl_get(struct kvm_vcpu *vcpu)
{
	lockdep_assert_held(&vcpu->mutex);
	return (vcpu->cpu.mte_tcf & MV_MTE_CTRL_TCF_MASK) | (vcpu->cpu.tbi ? MV_MTE_CTRL_TBI : 0);
}

/*
 * Only what the guest could have set: any mode with TBI on a VM with MTE
 * (mv_guest_set_tcf keeps TBI on), 0 on a VM without (no MTE instruction
 * there). Reserved bits, or TBI that does not match the VM, fail.
 */
static int kvm_mte_ctrl_set(struct kvm_vcpu *vcpu, uint64_t data)
{
	bool mte = kvm_has_mte(vcpu->kvm);

	lockdep_assert_held(&vcpu->mutex);
	if ((data & ~MV_MTE_CTRL_TCF_MASK) != (mte ? MV_MTE_CTRL_TBI : 0))
		return KVM_MSR_INVALID;
	if (!mte && data)
		return KVM_MSR_INVALID;
	hw_cpu_set_mte(&vcpu->cpu, (unsigned int)(data & MV_MTE_CTRL_TCF_MASK), mte);
	return KVM_MSR_OK;
}

/*
 * kvm_do_msr_access() for the VMM (host_initiated): an MSR KVM advertises
 * but the guest's CPUID lacks reads as 0 and takes a write of 0. memvisor
 * advertises the CET MSRs under the guest's own rule, so an unsupported
 * one is also unadvertised: the access fails. MSR_MV_MTE_CTRL exists on
 * every vCPU.
 */
static bool kvm_host_msr(struct kvm_vcpu *vcpu, struct kvm_msr_entry *e, bool write)
{
	uint64_t v = e->data;   /* the system's __u64 may be another type */

	if (e->index == MSR_MV_MTE_CTRL) {
		if (write)
			return kvm_mte_ctrl_set(vcpu, v) == KVM_MSR_OK;
		e->data = kvm_mte_ctrl_get(vcpu);
		return true;
	}
	if (write)
		return kvm_set_cet_msr(vcpu, e->index, v) == KVM_MSR_OK;
	if (kvm_get_cet_msr(vcpu, e->index, &v) != KVM_MSR_OK)
		return false;
	e->data = v;
	return true;
}

/*
 * msr_io(): KVM_GET_MSRS / KVM_SET_MSRS. -EFAULT (the header or the
 * entries unreachable), -E2BIG (nmsrs >= 256); otherwise the number of
 * entries done before the first that failed (__msr_io() stops there).
 * GET writes the entries back, the ones it did not reach unchanged.
 */
long kvm_vcpu_ioctl_msrs(struct kvm_vcpu *vcpu, uint64_t arg, bool write)
{
	struct kvm_msrs *argp = (void *)(uintptr_t)arg;
	struct kvm_msr_entry *entries;
	uint32_t n, i;
	size_t size;

	if (k_host_range_faults(argp, sizeof(*argp)))
		return -EFAULT;
	n = argp->nmsrs;
	if (n >= KVM_MAX_IO_MSRS)
		return -E2BIG;
	size = sizeof(*entries) * n;
	if (n && k_host_range_faults(argp->entries, size))
		return -EFAULT;
	entries = lib_zalloc(size ? size : 1);   /* memdup_user() */
	if (!entries)
		return -ENOMEM;
	memcpy(entries, argp->entries, size);
	for (i = 0; i < n; i++)
		if (!kvm_host_msr(vcpu, &entries[i], write))
			break;
	if (!write)
		memcpy(argp->entries, entries, size);
	lib_free(entries);
	return i;
}

/* ---- the guest's RDMSR / WRMSR ---- */

MV_API long mv_guest_wrmsr(struct mv_guest *g, uint32_t index, uint64_t value)
{
	long r;

	if (!kvm_guest_usable(g))
		return -EINVAL;
	r = kvm_guest_boundary(g);
	if (r)
		return r;
	if (g->vcpu->cpu.cpl)
		return kvm_guest_raise(g, X86_VEC_GP, 0, 0);
	if (kvm_set_cet_msr(g->vcpu, index, value))   /* invalid or unsupported: #GP */
		return kvm_guest_raise(g, X86_VEC_GP, 0, 0);
	return 0;
}

MV_API long mv_guest_rdmsr(struct mv_guest *g, uint32_t index, uint64_t *value)
{
	long r;

	if (!kvm_guest_usable(g) || !value)
		return -EINVAL;
	r = kvm_guest_boundary(g);
	if (r)
		return r;
	if (g->vcpu->cpu.cpl || kvm_get_cet_msr(g->vcpu, index, value))
		return kvm_guest_raise(g, X86_VEC_GP, 0, 0);
	return 0;
}
