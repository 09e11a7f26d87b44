/* SPDX-License-Identifier: MIT */
/*
 * CPU state: reset, control-register writes with the TLB flushes the
 * hardware performs, guest entry and exit, and the checked access helpers
 * built on hw_mmu_translate().
 */
#include <string.h>

#include <memvisor/memvisor.h>

#include "hw/cpu.h"

/* CR0/CR4 bits whose change invalidates cached translations. */
#define HW_CR0_XLATE (X86_CR0_PG | X86_CR0_WP | X86_CR0_PE)
#define HW_CR4_XLATE (X86_CR4_PAE | X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_CET | (1ull << 7) /* PGE */ \
		      | (1ull << 4) /* PSE */ | (1ull << 12) /* LA57 */ | (1ull << 22) /* PKE */)

void hw_cpu_init(struct hw_cpu *cpu, struct hw_machine *m)
{
	memset(cpu, 0, sizeof(*cpu));
	cpu->m = m;
	cpu->cr0 = X86_CR0_PE;
	hw_tlb_flush_all(cpu);
	WRITE_ONCE(cpu->tlb.stats.flushes, 0);
	cpu->tlb.synced_gen = __atomic_load_n(&m->tlb_gen, __ATOMIC_ACQUIRE);
	cpu->tlb.gen = cpu->tlb.synced_gen;
	hw_tlb_fast_kill(cpu);
}

void hw_cpu_write_cr3(struct hw_cpu *cpu, uint64_t cr3)
{
	cpu->cr3 = cr3;
	hw_tlb_flush_all(cpu);
}

void hw_cpu_write_cr0(struct hw_cpu *cpu, uint64_t cr0)
{
	uint64_t old = cpu->cr0;

	cpu->cr0 = cr0;
	if ((old ^ cr0) & HW_CR0_XLATE)
		hw_tlb_flush_all(cpu);
}

void hw_cpu_write_cr4(struct hw_cpu *cpu, uint64_t cr4)
{
	uint64_t old = cpu->cr4;

	cpu->cr4 = cr4;
	if ((old ^ cr4) & HW_CR4_XLATE)
		hw_tlb_flush_all(cpu);
}

void hw_cpu_write_efer(struct hw_cpu *cpu, uint64_t efer)
{
	uint64_t old = cpu->efer;

	cpu->efer = efer;
	if ((old ^ efer) & (X86_EFER_NXE | X86_EFER_LME | X86_EFER_LMA))
		hw_tlb_flush_all(cpu);
}

void hw_cpu_enter_guest(struct hw_cpu *cpu, uint16_t vmid, uint64_t eptp)
{
	cpu->guest = true;
	cpu->vmid = vmid;
	cpu->eptp = eptp;
	cpu->tlb.gen = HW_TLB_GEN_RECHECK;
	hw_tlb_fast_kill(cpu);
}

void hw_cpu_leave_guest(struct hw_cpu *cpu)
{
	cpu->guest = false;
	cpu->tlb.gen = HW_TLB_GEN_RECHECK;
	hw_tlb_fast_kill(cpu);
}

void hw_cpu_setup_long_mode(struct hw_cpu *cpu, uint64_t root, int cpl)
{
	const struct hw_machine *m = cpu->m;
	uint64_t cr4 = X86_CR4_PAE;

	if (hw_has(m, MV_FEAT_SMEP))
		cr4 |= X86_CR4_SMEP;
	if (hw_has(m, MV_FEAT_SMAP))
		cr4 |= X86_CR4_SMAP;
	if (hw_has(m, MV_FEAT_SHSTK))
		cr4 |= X86_CR4_CET;
	cpu->cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP;
	cpu->cr4 = cr4;
	cpu->efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
	cpu->cr3 = root;
	cpu->cpl = cpl;
	hw_tlb_flush_all(cpu);
	hw_tlb_fast_kill(cpu);   /* the privilege may have changed */
}
