/* SPDX-License-Identifier: MIT */
/*
 * MTE for tasks, as arm64 Linux: PROT_MTE on anonymous and shmem mappings
 * (VM_MTE, VM_MTE_ALLOWED), tags sanitised when a page is first mapped
 * tagged (mte_sync_tags), the tagged address ABI and tag-check mode
 * (PR_SET_TAGGED_ADDR_CTRL), and the signals of tag-check faults.
 */
#ifndef MV_KERNEL_MTE_H
#define MV_KERNEL_MTE_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/mm.h"
#include "kernel/sched.h"

/* arch_calc_vm_prot_bits(): PROT_MTE -> VM_MTE on a machine with MTE. */
unsigned long mte_calc_vm_prot_bits(const struct kernel *k, uint64_t prot);
/* arch_calc_vm_flag_bits(): VM_MTE_ALLOWED for anonymous and shmem mappings. */
unsigned long mte_calc_vm_flag_bits(const struct kernel *k, unsigned long map_flags,
				    const struct file *file);
/* arch_validate_flags(): VM_MTE needs VM_MTE_ALLOWED. */
static inline bool mte_validate_flags(unsigned long vm_flags)
{
	return !(vm_flags & VM_MTE) || (vm_flags & VM_MTE_ALLOWED);
}
/* The prot bits mprotect accepts besides R/W/X/SEM (arch_validate_prot). */
uint64_t mte_valid_prot(const struct kernel *k);
/*
 * set_pte_at()'s MTE half for a PTE of @vma mapping @pfn: in a VM_MTE
 * VMA the page is sanitised (first time) and the PTE maps tagged memory;
 * elsewhere the bit is off.
 */
uint64_t mte_vma_pte(const struct vma *vma, hw_pfn_t pfn, uint64_t pte);

/* prctl(2) */
long sys_prctl(struct mv_task *t, const uint64_t a[6]);
/* The child of a clone inherits the tagged address ABI and check mode. */
void mte_task_clone(struct mv_task *c, const struct mv_task *t);
/*
 * A kernel entry: an asynchronous tag-check fault the task's CPU recorded
 * becomes SIGSEGV / SEGV_MTEAERR with no address (mte_check_tfsr_el1).
 */
void mte_check_tfsr_entry(struct mv_task *t);

#endif
