// SPDX-License-Identifier: MIT
/*
 * MTE for tasks, after arm64 Linux (arch/arm64/kernel/mte.c, process.c,
 * include/asm/mman.h):
 *
 * - PROT_MTE sets VM_MTE; anonymous and shmem (memfd) mappings get
 *   VM_MTE_ALLOWED, and VM_MTE without it is -EINVAL for mmap and
 *   mprotect (arch_validate_flags). Without MTE on the machine mmap ignores
 *   PROT_MTE and mprotect refuses it (arch_validate_prot).
 * - Every PTE a VM_MTE VMA gets maps tagged memory, and the page's tags
 *   are cleared the first time it is mapped so (mte_sync_tags): a page
 *   never shows a previous owner's tags. Copies (COW) carry the tags.
 * - prctl(PR_SET_TAGGED_ADDR_CTRL) sets the tagged address ABI (memvisor:
 *   top-byte ignore on the task's CPU), the tag-check mode and the
 *   include mask; PR_GET_TAGGED_ADDR_CTRL reads them back.
 * - A synchronous tag-check fault is SIGSEGV / SEGV_MTESERR at the
 *   (untagged) address; an asynchronous one SIGSEGV / SEGV_MTEAERR with no
 *   address at the next kernel entry.
 */
#include "hw/mte.h"
#include "kernel/mm_internal.h"
#include "kernel/mte.h"
#include "kernel/syscalls.h"

unsigned long mte_calc_vm_prot_bits(const struct kernel *k, uint64_t prot)
{
	return (prot & PROT_MTE) && hw_mte_present(k->hw) ? VM_MTE : 0;
}

unsigned long mte_calc_vm_flag_bits(const struct kernel *k, unsigned long map_flags,
				    const struct file *file)
{
	if (!hw_mte_present(k->hw))
		return 0;
	if ((map_flags & MAP_ANONYMOUS) || file_is_shmem(file))
		return VM_MTE_ALLOWED;
	return 0;
}

uint64_t mte_valid_prot(const struct kernel *k)
{
	return hw_mte_present(k->hw) ? PROT_MTE : 0;
}

uint64_t mte_vma_pte(const struct vma *vma, hw_pfn_t pfn, uint64_t pte)
{
	if (!(vma->flags & VM_MTE))
		return pte & ~X86_PTE_MTE;
	if (!(pte & X86_PTE_P) || !hw_pfn_valid(vma->mm->k->hw, pfn))
		return pte;
	hw_mte_sanitise_page(vma->mm->k->hw, pfn);
	return pte | X86_PTE_MTE;
}

/* ---- prctl ---- */

/* The mode the CPU runs: both bits mean the preferred one, async (mte_tcf_preferred). */
static unsigned int mte_ctrl_tcf(uint64_t ctrl)
{
	if (ctrl & PR_MTE_TCF_ASYNC)
		return HW_MTE_TCF_ASYNC;
	if (ctrl & PR_MTE_TCF_SYNC)
		return HW_MTE_TCF_SYNC;
	return HW_MTE_TCF_NONE;
}

/* set_tagged_addr_ctrl() */
static long mte_set_tagged_addr_ctrl(struct mv_task *t, uint64_t arg)
{
	uint64_t valid = PR_TAGGED_ADDR_ENABLE;

	if (hw_mte_present(t->k->hw))
		valid |= PR_MTE_TCF_SYNC | PR_MTE_TCF_ASYNC | PR_MTE_TAG_MASK;
	if (arg & ~valid)
		return -EINVAL;
	t->mte_ctrl = arg;
	hw_cpu_set_mte(&t->cpu, mte_ctrl_tcf(arg), arg & PR_TAGGED_ADDR_ENABLE);
	return 0;
}

long sys_prctl(struct mv_task *t, const uint64_t a[6])
{
	switch ((int)a[0]) {
	case PR_SET_TAGGED_ADDR_CTRL:
		if (a[2] || a[3] || a[4])
			return -EINVAL;
		return mte_set_tagged_addr_ctrl(t, a[1]);
	case PR_GET_TAGGED_ADDR_CTRL:
		if (a[1] || a[2] || a[3] || a[4])
			return -EINVAL;
		return (long)t->mte_ctrl;
	default:
		return -EINVAL;
	}
}

void mte_task_clone(struct mv_task *c, const struct mv_task *t)
{
	c->mte_ctrl = t->mte_ctrl;
	hw_cpu_set_mte(&c->cpu, t->cpu.mte_tcf, t->cpu.tbi);
}

void mte_check_tfsr_entry(struct mv_task *t)
{
	if (__builtin_expect(!t->cpu.mte_tfsr, 1))
		return;
	t->cpu.mte_tfsr = false;
	task_fault_signal(t, "mte_async", SIGSEGV, SEGV_MTEAERR, 0);
}

/* ---- STG / LDG on the task's CPU ---- */

/*
 * One STG (@set) or LDG at @uaddr, at CPL 3: translated as a store or a
 * load (faults handled as for any access, then retried), never tag
 * checked. Memory not mapped tagged ignores STG and reads tag 0.
 */
static long mte_user_tag_op(struct mv_task *t, uint64_t uaddr, bool set, uint8_t *tag)
{
	struct hw_cpu *cpu = &t->cpu;
	struct hw_fault f;
	struct hw_xlate x;
	long ret;

	pthread_rwlock_rdlock(&t->mm->mmap_lock);
	for (int tries = 0;; tries++) {
		uint64_t seq;

		mte_check_tfsr_entry(t);
		hw_tlb_sync_gen(cpu, hw_access_begin(cpu, &seq));
		ret = hw_mmu_translate(cpu, uaddr, set ? HW_ACC_WRITE : HW_ACC_READ, &x, &f);
		if (!ret && set && x.tagged)
			hw_mte_set_tag(t->k->hw, x.pa, hw_mte_ptr_tag(uaddr));
		else if (!ret && !set)
			*tag = x.tagged ? (uint8_t)hw_mte_get_tag(t->k->hw, x.pa) : 0;
		hw_access_end(cpu, seq);
		if (!ret)
			break;
		ret = tries > 4 ? task_fault_signal(t, "user_tag", SIGSEGV, SEGV_ACCERR, f.addr)
				: task_user_fault(t, &f, "user_tag");
		if (ret)
			break;
	}
	pthread_rwlock_unlock(&t->mm->mmap_lock);
	return ret;
}

MV_API long mv_user_set_tag(struct mv_task *t, uint64_t tagged_uaddr)
{
	if (!t || __atomic_load_n(&t->exited, __ATOMIC_ACQUIRE))
		return -EINVAL;
	return mte_user_tag_op(t, tagged_uaddr, true, NULL);
}

MV_API long mv_user_get_tag(struct mv_task *t, uint64_t uaddr, uint8_t *tag)
{
	if (!t || !tag || __atomic_load_n(&t->exited, __ATOMIC_ACQUIRE))
		return -EINVAL;
	return mte_user_tag_op(t, uaddr, false, tag);
}
