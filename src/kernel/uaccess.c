// SPDX-License-Identifier: MIT
/*
 * The task's CPU touching user memory (mv_user_read/mv_user_write): the
 * access goes through the task's MMU at CPL 3; a #PF goes to the fault
 * handler and the access is retried; a fault that Linux would turn into a
 * signal queues it and fails with -EFAULT. The hardware translates every
 * page before it copies a byte, so a failed access changes nothing.
 *
 * The first attempt takes no lock, as the hardware takes none: it runs in
 * the CPU's access bracket, which every PTE downgrade and page-table free
 * waits for (hw_tlb_shootdown_sync), so a copy in flight completes against
 * the translations it started with, and a page or table is never freed
 * under it. Only when that attempt faults (it then changed nothing) is
 * mm->mmap_lock taken for read, the fault handled and the access retried
 * under the lock, so no VMA or PTE downgrade happens while the handler's
 * fix is used.
 */
#include <string.h>

#include "hw/mte.h"
#include "hw/ram.h"
#include "kernel/mm_internal.h"
#include "kernel/mte.h"

long task_fault_signal(struct mv_task *t, const char *cause, int signo, int code, uint64_t addr)
{
	task_send_signal(t, signo, code, addr);
	kernel_trace_fault(t->k, t, cause, addr, signo, code);
	return -EFAULT;
}

long task_user_fault(struct mv_task *t, const struct hw_fault *f, const char *cause)
{
	int code = SEGV_MAPERR, r;

	mte_check_tfsr_entry(t);
	if (f->kind == HW_FAULT_MTE)   /* synchronous tag-check fault: the untagged address */
		return task_fault_signal(t, cause, SIGSEGV, SEGV_MTESERR, f->gla);
	if (f->kind == HW_FAULT_GP)   /* non-canonical address */
		return task_fault_signal(t, cause, SIGSEGV, K_SI_KERNEL, 0);
	if (f->kind != HW_FAULT_PF)
		return task_fault_signal(t, cause, SIGSEGV, SEGV_MAPERR, f->addr);
	r = handle_mm_fault(t->mm, f->addr, fault_flags_from_pf(f->error_code), &code);
	switch (r) {
	case 0:
		hw_tlb_flush_page(&t->cpu, f->addr);
		return 0;
	case VM_FAULT_SIGBUS:
		return task_fault_signal(t, cause, SIGBUS, BUS_ADRERR, f->addr);
	case VM_FAULT_OOM:
		return -ENOMEM;
	default:
		return task_fault_signal(t, cause, SIGSEGV, code, f->addr);
	}
}

/* The access under mmap_lock, handling each fault and retrying. */
static __attribute__((noinline)) long uaccess_copy_locked(struct mv_task *t, uint64_t uaddr,
							  void *buf, size_t len, bool write)
{
	/* Each page may fault twice (not present, then copy-on-write). */
	uint64_t pages = ((uaddr & ~HW_PAGE_MASK) + len + K_PAGE_SIZE - 1) >> HW_PAGE_SHIFT;
	uint64_t tries = 2 * pages + 4;
	struct hw_fault fault;
	long ret;

	pthread_rwlock_rdlock(&t->mm->mmap_lock);
	for (;;) {
		memset(&fault, 0, sizeof(fault));
		ret = task_cpu_access(t, uaddr, buf, len, write ? HW_ACC_WRITE : HW_ACC_READ, &fault);
		if (!ret)
			break;
		if (!tries--) {
			/* The handler keeps saying "fixed": treat it as a denial. */
			ret = task_fault_signal(t, "user_access", SIGSEGV, SEGV_ACCERR, fault.addr);
			break;
		}
		ret = task_user_fault(t, &fault, "user_access");
		if (ret)
			break;
	}
	pthread_rwlock_unlock(&t->mm->mmap_lock);
	return ret;
}

static inline long uaccess_copy(struct mv_task *t, uint64_t uaddr, void *buf, size_t len,
				bool write)
{
	struct hw_fault fault;

	if (!len || !task_cpu_access(t, uaddr, buf, len, write ? HW_ACC_WRITE : HW_ACC_READ,
				     &fault))
		return 0;
	return uaccess_copy_locked(t, uaddr, buf, len, write);
}

int task_cpu_access(struct mv_task *t, uint64_t va, void *buf, size_t len, unsigned int acc,
		    struct hw_fault *fault)
{
	struct hw_cpu *cpu = &t->cpu;
	uint64_t seq, gen;
	void *host;
	int ret;

	gen = hw_access_begin(cpu, &seq);
	/*
	 * A plain load or store inside one page that hits the TLB (a tagged
	 * page's entry passing its tag check on the same probe): copy at once.
	 */
	if ((acc == HW_ACC_READ || acc == HW_ACC_WRITE) && __builtin_expect(gen == cpu->tlb.gen, 1) &&
	    len - 1 < HW_PAGE_SIZE - (va & ~HW_PAGE_MASK) &&
	    hw_tlb_hit_rw_checked(cpu, va, acc == HW_ACC_WRITE, len, &host)) {
		if (acc == HW_ACC_WRITE)
			hw_ram_write(host, buf, len);
		else
			hw_ram_read(buf, host, len);
		hw_access_end(cpu, seq);
		return 0;
	}
	hw_tlb_sync_gen(cpu, gen);
	if ((acc & HW_ACC_TYPE_MASK) == HW_ACC_WRITE)
		ret = hw_mmu_write(cpu, va, buf, len, acc, fault);
	else
		ret = hw_mmu_read(cpu, va, buf, len, acc, fault);
	hw_access_end(cpu, seq);
	return ret;
}

long uaccess_read(struct mv_task *t, uint64_t uaddr, void *buf, size_t len)
{
	return uaccess_copy(t, uaddr, buf, len, false);
}

long uaccess_write(struct mv_task *t, uint64_t uaddr, const void *buf, size_t len)
{
	return uaccess_copy(t, uaddr, (void *)(uintptr_t)buf, len, true);
}
