/* SPDX-License-Identifier: MIT */
/*
 * MTE for KVM guests (mte.c): KVM_CAP_ARM_MTE, the memslot rule, stage-2
 * sanitising, KVM_ARM_MTE_COPY_TAGS and the guest's tag instructions.
 */
#ifndef MV_KVM_MTE_H
#define MV_KVM_MTE_H

#include "kvm/kvm.h"

/* kvm_has_mte(): KVM_CAP_ARM_MTE was enabled (kvm->mte_enabled, acquire). */
static inline bool kvm_has_mte(const struct kvm *kvm)
{
	return __atomic_load_n(&kvm->mte_enabled, __ATOMIC_ACQUIRE);
}

/*
 * Whether stage 2 maps @pfn as tagged memory (EPT_MTE, sanitised first):
 * every RAM frame of an MTE VM. EPC (a vEPC slot) is not RAM and holds no
 * tags: memvisor maps it untagged (docs/all-protections.md).
 */
static inline bool kvm_mte_maps_tagged(const struct kvm *kvm, hw_pfn_t pfn)
{
	return kvm_has_mte(kvm) && hw_pfn_valid(kvm->hw, pfn);
}

/* KVM_ENABLE_CAP(KVM_CAP_ARM_MTE): 0, or -EINVAL (no MTE, a vCPU exists, args set). */
long kvm_vm_enable_cap_mte(struct kvm *kvm, const struct kvm_enable_cap *cap);
/*
 * kvm_arch_prepare_memory_region()'s MTE rule: with MTE on, every VMA
 * behind a created, moved or re-flagged slot must allow tags
 * (VM_MTE_ALLOWED), except a vEPC mapping (memvisor's: Linux refuses it;
 * docs/all-protections.md). 0 or -EINVAL.
 */
MV_MUST_CHECK int kvm_mte_prepare_memory_region(struct kvm *kvm, const struct kvm_memory_slot *new);
/*
 * sanitise_mte_tags(): before stage 2 maps @pfn (2^@order frames), every
 * frame not yet tagged gets its tags cleared and is marked tagged.
 */
void kvm_mte_sanitise(struct kvm *kvm, hw_pfn_t pfn, unsigned int order);
/* KVM_ARM_MTE_COPY_TAGS on the VM fd; @arg points to the struct (a host pointer). */
long kvm_vm_ioctl_mte_copy_tags(struct kvm *kvm, uint64_t arg);
/* A new vCPU of an MTE VM checks tags (sync) with top-byte ignore. */
void kvm_mte_vcpu_init(struct kvm_vcpu *vcpu);

#endif
