// SPDX-License-Identifier: MIT
/*
 * The task's CPU touching user memory (mv_user_read/mv_user_write): the
 * access goes through the task's MMU at CPL 3; a #PF goes to the fault
 * handler and the access is retried; a fault that Linux would turn into a
 * signal queues it and fails with -EFAULT. The hardware translates every
 * page before it copies a byte, so a failed access changes nothing.
 *
 * Runs with mm->mmap_lock held for read, so no VMA or PTE downgrade
 * happens while the copy is in flight.
 */
#include <string.h>

#include "kernel/mm_internal.h"

#define K_SI_KERNEL 0x80   /* si_code of a #GP-caused SIGSEGV */

static long uaccess_signal(struct mv_task *t, int signo, int code, uint64_t addr)
{
	task_send_signal(t, signo, code, addr);
	kernel_trace_fault(t->k, t, "user_access", addr, signo, code);
	return -EFAULT;
}

/* 0 when the fault was fixed and the access may be retried. */
static long uaccess_fixup(struct mv_task *t, const struct hw_fault *f)
{
	int code = 0, r;

	if (f->kind != HW_FAULT_PF)   /* #GP: non-canonical address */
		return uaccess_signal(t, SIGSEGV, K_SI_KERNEL, 0);
	r = fault_handle_locked(t->mm, f->addr, fault_flags_from_pf(f->error_code), &code);
	switch (r) {
	case 0:
		hw_tlb_flush_page(&t->cpu, f->addr);
		return 0;
	case VM_FAULT_SIGBUS:
		return uaccess_signal(t, SIGBUS, BUS_ADRERR, f->addr);
	case VM_FAULT_OOM:
		return -ENOMEM;
	default:
		return uaccess_signal(t, SIGSEGV, code, f->addr);
	}
}

static long uaccess_copy(struct mv_task *t, uint64_t uaddr, void *buf, size_t len, bool write)
{
	/* Each page may fault twice (not present, then copy-on-write). */
	uint64_t pages = ((uaddr & ~HW_PAGE_MASK) + len + K_PAGE_SIZE - 1) >> HW_PAGE_SHIFT;
	uint64_t tries = 2 * pages + 4;
	struct hw_fault fault;
	long ret;

	if (!len)
		return 0;
	pthread_rwlock_rdlock(&t->mm->mmap_lock);
	for (;;) {
		memset(&fault, 0, sizeof(fault));
		if (write)
			ret = hw_mmu_write(&t->cpu, uaddr, buf, len, HW_ACC_WRITE, &fault);
		else
			ret = hw_mmu_read(&t->cpu, uaddr, buf, len, HW_ACC_READ, &fault);
		if (!ret)
			break;
		if (!tries--) {
			/* The handler keeps saying "fixed": treat it as a denial. */
			ret = uaccess_signal(t, SIGSEGV, SEGV_ACCERR, fault.addr);
			break;
		}
		ret = uaccess_fixup(t, &fault);
		if (ret)
			break;
	}
	pthread_rwlock_unlock(&t->mm->mmap_lock);
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
