/* SPDX-License-Identifier: MIT */
/*
 * Private to shstk.c and shstk_cpu.c: the per-thread shadow-stack state and
 * the kernel's own accesses to user shadow stacks (the WRUSS path).
 */
#ifndef MV_KERNEL_SHSTK_INTERNAL_H
#define MV_KERNEL_SHSTK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/mm_internal.h"
#include "kernel/shstk.h"

#define SHSTK_4G (1ull << 32)
#define SHSTK_FRAME 8ull                 /* one shadow-stack slot */
#define SHSTK_SIGFRAME_BIT (1ull << 63)  /* marks a signal token: never a return address */

/*
 * Per thread, like Linux's thread.shstk and thread.features: the thread
 * shadow stack the kernel allocated (base 0: none, e.g. a vfork child using
 * its parent's), the enabled and locked ARCH_SHSTK_* bits. The live SSP and
 * the CET MSR bits are in the task's CPU (cpu.ssp, cpu.u_cet). prot_opt is
 * process-wide (kept in step in every thread): mmap(PROT_SHADOW_STACK) on.
 * Only the task itself changes its state (arch_prctl runs in the caller).
 */
struct shstk_state {
	uint64_t base, size;
	uint64_t features;
	uint64_t locked;
	bool prot_opt;
};

/*
 * The task's state, or NULL. Another thread of the process may install it
 * (mv_task_set_prot_shadow_stack walks the whole group), so the pointer is
 * read with acquire; the fields besides prot_opt are only the owner's.
 */
static inline struct shstk_state *task_shstk(const struct mv_task *t)
{
	return smp_load_acquire(&t->shstk);
}

static inline bool shstk_enabled(const struct mv_task *t, uint64_t feature)
{
	const struct shstk_state *st = task_shstk(t);

	return st && (st->features & feature);
}

/*
 * A kernel access to user memory through the task's MMU: faults are
 * resolved as for the task, an unresolvable one is -EFAULT and sends no
 * signal (the caller decides, as copy_to_user's callers do). @acc is
 * HW_ACC_READ, HW_ACC_WRITE or HW_ACC_WRUSS. Called with mmap_lock held.
 */
int shstk_kaccess_locked(struct mv_task *t, uint64_t va, void *buf, size_t len,
			 unsigned int acc);

#endif
