/* SPDX-License-Identifier: MIT */
/*
 * What a guest program does besides touching memory: control-register
 * reads and writes (checked as the CPU checks them), hypercalls, the MTE
 * tag instructions, and the record of the last fault delivered to it.
 */
#include "kvm/guest.h"
#include "kvm/kvm.h"
#include "kvm/mte.h"
#include "hw/mte.h"

MV_API int mv_guest_last_fault(struct mv_guest *g, struct mv_guest_fault *out)
{
	if (!g || !out)
		return -EINVAL;
	if (!g->has_fault)
		return 0;
	*out = g->fault;
	return 1;
}

/* ---- control registers ---- */

#define X86_CR0_NW (1ull << 29)
#define X86_CR0_CD (1ull << 30)
#define KVM_GUEST_CR4_BASE 0x7ffull   /* VME..OSXMMEXCPT: state only */

static long kvm_guest_write_cr0(struct mv_guest *g, uint64_t v)
{
	struct hw_cpu *cpu = &g->vcpu->cpu;
	uint64_t efer = cpu->efer;

	if (v >> 32)
		return kvm_guest_raise(g, X86_VEC_GP, 0, 0);
	if (((v & X86_CR0_PG) && !(v & X86_CR0_PE)) || ((v & X86_CR0_NW) && !(v & X86_CR0_CD)))
		return kvm_guest_raise(g, X86_VEC_GP, 0, 0);
	if (!(v & X86_CR0_WP) && (cpu->cr4 & X86_CR4_CET))
		return kvm_guest_raise(g, X86_VEC_GP, 0, 0);
	if (kvm_heki_cr_check(g, 0, v))   /* a pinned bit cleared: #GP */
		return -EFAULT;
	/* memvisor models long mode only: paging needs CR4.PAE and turns on EFER.LMA */
	if ((v & X86_CR0_PG) && !(cpu->cr0 & X86_CR0_PG)) {
		if (!(cpu->cr4 & X86_CR4_PAE))
			return kvm_guest_raise(g, X86_VEC_GP, 0, 0);
		efer |= X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
	} else if (!(v & X86_CR0_PG)) {
		efer &= ~X86_EFER_LMA;
	}
	hw_cpu_write_efer(cpu, efer);
	hw_cpu_write_cr0(cpu, v);
	return 0;
}

static long kvm_guest_write_cr4(struct mv_guest *g, uint64_t v)
{
	struct hw_cpu *cpu = &g->vcpu->cpu;
	const struct hw_machine *m = cpu->m;
	uint64_t ok = KVM_GUEST_CR4_BASE | X86_CR4_PAE | X86_CR4_UMIP | X86_CR4_FSGSBASE;

	ok |= hw_has(m, MV_FEAT_SMEP) ? X86_CR4_SMEP : 0;
	ok |= hw_has(m, MV_FEAT_SMAP) ? X86_CR4_SMAP : 0;
	ok |= hw_has(m, MV_FEAT_SHSTK) ? X86_CR4_CET : 0;
	if (v & ~ok)
		return kvm_guest_raise(g, X86_VEC_GP, 0, 0);
	if ((v & X86_CR4_CET) && !(cpu->cr0 & X86_CR0_WP))
		return kvm_guest_raise(g, X86_VEC_GP, 0, 0);
	if ((cpu->efer & X86_EFER_LMA) && !(v & X86_CR4_PAE))
		return kvm_guest_raise(g, X86_VEC_GP, 0, 0);
	if (kvm_heki_cr_check(g, 4, v))   /* a pinned bit cleared: #GP */
		return -EFAULT;
	hw_cpu_write_cr4(cpu, v);
	return 0;
}

MV_API long mv_guest_write_cr(struct mv_guest *g, int cr, uint64_t value)
{
	long r;

	if (!kvm_guest_usable(g))
		return -EINVAL;
	r = kvm_guest_boundary(g);
	if (r)
		return r;
	switch (cr) {
	case 0:
		return kvm_guest_write_cr0(g, value);
	case 2:
		g->vcpu->cpu.cr2 = value;
		return 0;
	case 3:
		if (value >> 46)
			return kvm_guest_raise(g, X86_VEC_GP, 0, 0);
		hw_cpu_write_cr3(&g->vcpu->cpu, value);
		return 0;
	case 4:
		return kvm_guest_write_cr4(g, value);
	case 8:
		if (value > 15)
			return kvm_guest_raise(g, X86_VEC_GP, 0, 0);
		g->vcpu->cr8 = value;
		return 0;
	default:
		return kvm_guest_raise(g, X86_VEC_UD, 0, 0);
	}
}

MV_API long mv_guest_read_cr(struct mv_guest *g, int cr, uint64_t *value)
{
	const struct hw_cpu *cpu;
	long r;

	if (!kvm_guest_usable(g) || !value)
		return -EINVAL;
	r = kvm_guest_boundary(g);
	if (r)
		return r;
	cpu = &g->vcpu->cpu;
	switch (cr) {
	case 0:
		*value = cpu->cr0;
		return 0;
	case 2:
		*value = cpu->cr2;
		return 0;
	case 3:
		*value = cpu->cr3;
		return 0;
	case 4:
		*value = cpu->cr4;
		return 0;
	case 8:
		*value = g->vcpu->cr8;
		return 0;
	default:
		return kvm_guest_raise(g, X86_VEC_UD, 0, 0);
	}
}

/*
 * The MTE instructions (STG, LDG, a write of SCTLR_EL1.TCF) exist only on
 * a VM with KVM_CAP_ARM_MTE: elsewhere they are undefined (#UD).
 */
static long kvm_guest_mte_insn(struct mv_guest *g)
{
	if (!kvm_guest_usable(g))
		return -EINVAL;
	if (kvm_guest_boundary(g))
		return -EFAULT;
	return kvm_has_mte(g->vcpu->kvm) ? 0 : kvm_guest_raise(g, X86_VEC_UD, 0, 0);
}

MV_API long mv_guest_set_tag(struct mv_guest *g, uint64_t tagged_gva)
{
	long r = kvm_guest_mte_insn(g);

	return r ? r : kvm_guest_tag_access(g, tagged_gva, true, NULL);
}

MV_API long mv_guest_get_tag(struct mv_guest *g, uint64_t gva, uint8_t *tag)
{
	long r;

	if (!tag)
		return -EINVAL;
	r = kvm_guest_mte_insn(g);
	return r ? r : kvm_guest_tag_access(g, gva, false, tag);
}

MV_API long mv_guest_set_tcf(struct mv_guest *g, int mode)
{
	long r;

	if (mode < MV_TCF_NONE || mode > MV_TCF_ASYMM)
		return -EINVAL;
	r = kvm_guest_mte_insn(g);
	if (!r)
		hw_cpu_set_mte(&g->vcpu->cpu, (unsigned int)mode, true);
	return r;
}

MV_API long mv_guest_hypercall(struct mv_guest *g, uint64_t nr, uint64_t a0, uint64_t a1,
			       uint64_t a2, uint64_t a3)
{
	const uint64_t a[4] = { a0, a1, a2, a3 };
	long r;

	if (!kvm_guest_usable(g))
		return -EINVAL;
	r = kvm_guest_boundary(g);
	if (r)
		return r;
	return kvm_emulate_hypercall(g, nr, a);
}
