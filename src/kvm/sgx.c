/* SPDX-License-Identifier: MIT */
/*
 * SGX on the VM side: memslots backed by a vEPC mapping, and a per-VM EPC
 * limit (beyond mainline, which cannot reclaim vEPC and has no limit but
 * the EPC's size; modelled on the EPC cgroup proposal).
 *
 * A memslot whose VMM range starts in a vEPC mapping is marked
 * KVM_MEMSLOT_EPC (the memory map shows it) and binds that vEPC to the
 * VM's charge: from then on every EPC page the vEPC holds counts against
 * the VM's limit and a fault past it is SIGBUS for the VMM (KVM_RUN gets
 * -EFAULT with a memory-fault exit, as for any page GUP cannot get). The
 * charge is created on first use and published with a compare-and-swap;
 * the VM and each bound vEPC hold a reference.
 */
#include "kernel/mm_internal.h"
#include "kernel/sgx_vepc.h"
#include "kvm/kvm.h"

/* The VM's charge, created on first use; NULL without SGX or memory. */
static struct sgx_epc_charge *kvm_sgx_charge(struct kvm *kvm)
{
	struct sgx_epc_charge *c = __atomic_load_n(&kvm->epc_charge, __ATOMIC_ACQUIRE), *n;

	if (c || !kvm->hw->epc)
		return c;
	n = sgx_epc_charge_new();
	if (!n)
		return NULL;
	if (!__atomic_compare_exchange_n(&kvm->epc_charge, &c, n, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		sgx_epc_charge_put(n);
		return c;
	}
	return n;
}

long kvm_sgx_enable_epc_limit(struct kvm *kvm, uint64_t pages, uint64_t flags)
{
	struct sgx_epc_charge *c;
	int ret;

	if (!kvm->hw->epc || (flags & ~KVM_SGX_EPC_RECLAIM))
		return -EINVAL;
	c = kvm_sgx_charge(kvm);
	if (!c)
		return -ENOMEM;
	ret = sgx_epc_charge_set_limit(c, pages);
	if (!ret)
		__atomic_store_n(&c->reclaim, !!(flags & KVM_SGX_EPC_RECLAIM), __ATOMIC_RELAXED);
	return ret;
}

/*
 * Called with slots_lock held (above mmap_lock in the lock order). A slot
 * whose first page is not a vEPC mapping is left alone: KVM, like Linux,
 * finds out per page what backs it.
 */
int kvm_sgx_prepare_slot(struct kvm *kvm, struct kvm_memory_slot *slot)
{
	struct sgx_epc_charge *c;
	struct vma *vma;
	int ret = 0;

	if (!kvm->hw->epc || (slot->flags & KVM_MEM_GUEST_MEMFD))
		return 0;
	pthread_rwlock_rdlock(&kvm->mm->mmap_lock);
	vma = vma_find(kvm->mm, slot->userspace_addr);
	if (vma && vma_start(vma) <= slot->userspace_addr && sgx_vepc_vma(vma)) {
		c = kvm_sgx_charge(kvm);
		ret = c ? sgx_vepc_bind(vma, c) : -ENOMEM;
		if (!ret)
			slot->flags |= KVM_MEMSLOT_EPC;
	}
	pthread_rwlock_unlock(&kvm->mm->mmap_lock);
	return ret;
}

void kvm_sgx_epc_usage(struct kvm *kvm, uint64_t *usage, uint64_t *limit)
{
	struct sgx_epc_charge *c = __atomic_load_n(&kvm->epc_charge, __ATOMIC_ACQUIRE);

	*usage = c ? __atomic_load_n(&c->usage, __ATOMIC_RELAXED) : 0;
	*limit = c ? __atomic_load_n(&c->limit, __ATOMIC_RELAXED) : 0;
}

void kvm_sgx_vm_destroy(struct kvm *kvm)
{
	sgx_epc_charge_put(kvm->epc_charge);
	kvm->epc_charge = NULL;
}

MV_API long mv_vm_epc_usage(struct mv_task *vmm, int vm_fd, uint64_t *usage, uint64_t *limit)
{
	struct file *f;
	struct kvm *kvm;
	long ret;

	if (!vmm || !usage || !limit)
		return -EINVAL;
	kvm = kvm_vm_fd_get(vmm, vm_fd, &f, &ret);
	if (!kvm)
		return ret;
	kvm_sgx_epc_usage(kvm, usage, limit);
	file_put(f);
	return 0;
}
