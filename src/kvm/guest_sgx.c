/* SPDX-License-Identifier: MIT */
/*
 * ENCLS in a guest (mv_guest_encls), and KVM_CAP_SGX_ATTRIBUTE.
 *
 * The guest's ENCLS runs on its vCPU with guest-virtual operands: stage 1
 * and EPT take them to the EPC when the memslot is backed by a vEPC
 * mapping (the EPT violation faults the vEPC page in through the VMM's
 * PFN map). As on hardware with KVM, the instruction runs in the guest;
 * a stage-2 fault is fixed and the leaf restarted (nothing changed before
 * the fault: hw/sgx_encls.c checks every operand first). Enclave entry is
 * not modelled.
 *
 * With host oversubscription (KVM_SGX_EPC_RECLAIM) fixing one operand's
 * fault may evict another operand of the same leaf, when the VM's
 * allowance leaves room for fewer of its evictable operands than it
 * names: the leaf would fault forever inside KVM_RUN. A leaf has at most
 * four EPC operands, so after KVM_ENCLS_MAX_FAULTS stage-2 faults in a
 * row the vCPU leaves KVM_RUN as for an EPC fault it cannot satisfy
 * (-EFAULT, a memory-fault exit at the last operand's GPA); entering
 * again restarts the leaf, and the VMM decides.
 */
#include <string.h>

#include <memvisor/memvisor.h>

#include "hw/sgx.h"
#include "kvm/guest.h"
#include "kvm/kvm.h"

#define KVM_ENCLS_MAX_FAULTS 16

long kvm_sgx_check_attribute(const struct hw_machine *hw)
{
	return hw && hw->epc ? 1 : 0;
}

MV_API long mv_guest_encls_regs(struct mv_guest *g, uint32_t leaf, uint64_t *rbx, uint64_t *rcx,
				uint64_t *rdx)
{
	struct kvm_vcpu *v;
	struct hw_encls_res res;
	long r;

	if (!kvm_guest_usable(g) || !rbx || !rcx || !rdx)
		return -EINVAL;
	r = kvm_guest_boundary(g);
	if (r)
		return r;
	v = g->vcpu;
	if (v->cpu.cpl != 0)   /* ENCLS is a ring-0 instruction */
		return kvm_guest_raise(g, X86_VEC_UD, 0, 0);
	for (unsigned int faults = 0;;) {
		uint64_t seq;
		int ret;

		hw_tlb_sync_gen(&v->cpu, hw_access_begin(&v->cpu, &seq));
		ret = hw_cpu_encls(&v->cpu, leaf, *rbx, *rcx, *rdx, &res);
		hw_access_end(&v->cpu, seq);
		if (!ret)
			break;
		if (res.fault.kind == HW_FAULT_NONE)
			return ret;
		if (res.fault.kind == HW_FAULT_EPT_VIOLATION && ++faults > KVM_ENCLS_MAX_FAULTS) {
			kvm_guest_memory_fault_exit(g, res.fault.addr, false);
			faults = 0;
			continue;
		}
		r = kvm_guest_handle_fault(g, &res.fault);
		if (r)
			return r;
	}
	if (leaf == SGX_EDBGRD && res.rax == SGX_SUCCESS)
		*rbx = res.rbx;
	return (long)res.rax;
}

MV_API long mv_guest_encls(struct mv_guest *g, uint32_t leaf, uint64_t rbx, uint64_t rcx,
			   uint64_t rdx)
{
	return mv_guest_encls_regs(g, leaf, &rbx, &rcx, &rdx);
}
