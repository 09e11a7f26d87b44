/* SPDX-License-Identifier: MIT */
/*
 * Shadow stacks as the rest of the kernel and the API see them: the task
 * hooks, the task CPU's shadow-stack instructions and the signal path
 * (Linux's arch/x86/include/asm/shstk.h). The per-thread state and the
 * kernel's own shadow-stack accesses are private to shstk.c and
 * shstk_cpu.c (kernel/shstk_internal.h).
 */
#ifndef MV_KERNEL_SHSTK_H
#define MV_KERNEL_SHSTK_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"

struct mv_task;

/*
 * Task hooks: clone gives a CLONE_VM thread its own shadow stack (of
 * @stack_size bytes, page aligned, or the default when 0, as clone3's
 * stack_size decides) and a fork a copy of the state (the memory is copied
 * with the mm); exit unmaps the thread's shadow stack and frees the state.
 * Called without mmap_lock.
 */
MV_MUST_CHECK int shstk_clone(struct mv_task *parent, struct mv_task *child, unsigned long flags,
			      uint64_t stack_size);
void shstk_exit(struct mv_task *t);
/* mmap(PROT_SHADOW_STACK) in a process that opted in: the alternative design. */
bool shstk_mmap_wanted(struct mv_task *t, uint64_t prot);
long shstk_mmap(struct mv_task *t, uint64_t addr, uint64_t len, uint64_t prot,
		unsigned long flags, int fd, uint64_t off);
long shstk_set_prot_option(struct mv_task *t, bool enable);
/* The task's CPU (shstk_cpu.c): 0, or -EFAULT with a signal pending. */
long shstk_cpu_call(struct mv_task *t, uint64_t return_address);
long shstk_cpu_ret(struct mv_task *t, uint64_t *return_address);
long shstk_cpu_rdssp(struct mv_task *t, uint64_t *ssp);
long shstk_cpu_rstorssp(struct mv_task *t, uint64_t token_address);
long shstk_cpu_saveprevssp(struct mv_task *t);
long shstk_cpu_wrss(struct mv_task *t, uint64_t address, uint64_t value);
long shstk_cpu_incssp(struct mv_task *t, uint32_t count);
long shstk_signal_deliver(struct mv_task *t, int signo, uint64_t handler, uint64_t restorer);
long shstk_sigreturn(struct mv_task *t);

#endif
