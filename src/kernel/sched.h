/* SPDX-License-Identifier: MIT */
/*
 * Tasks: processes and threads, their resource limits and pending
 * signals; Linux's include/linux/sched.h and signal.h.
 *
 * A task's own fields are used by the thread that runs it (one host thread
 * at a time per task, as the API requires); sig_lock covers the signal
 * queue, which other tasks fill; kernel->lock covers the task list.
 */
#ifndef MV_KERNEL_SCHED_H
#define MV_KERNEL_SCHED_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <memvisor/memvisor.h>

#include "hw/cpu.h"
#include "lib/err.h"
#include "lib/list.h"

struct kernel;
struct mm;
struct fdtable;
struct shstk_state;

#define K_SIGQUEUE 16
#define K_RLIM_NLIMITS 16

struct k_rlimit {
	uint64_t cur, max;            /* soft, hard; ~0 is RLIM_INFINITY */
};

struct mv_task {
	struct kernel *k;
	int pid, tgid;
	struct mm *mm;
	struct fdtable *files;
	struct hw_cpu cpu;            /* this task's CPU: its TLB, registers */
	uint64_t rlimit_nofile;       /* RLIMIT_NOFILE soft (mirrors rlim[7].cur) */
	struct k_rlimit rlim[K_RLIM_NLIMITS];  /* all limits; sys_task.c keeps threads in step */
	/* pending signals, oldest first */
	struct mv_siginfo sigq[K_SIGQUEUE];   /* sig_lock */
	unsigned int sig_head, sig_count;     /* sig_lock */
	pthread_mutex_t sig_lock;
	struct lib_list link;         /* in kernel->tasks, under kernel->lock */
	bool exited;                  /* kernel->lock */
	struct shstk_state *shstk;    /* shadow-stack state (shstk.c); NULL until first used */
	uint64_t mte_ctrl;            /* PR_SET_TAGGED_ADDR_CTRL value (mte.c); the task's own thread */
};

/* ---- tasks (task.c) ---- */
MV_MUST_CHECK int task_spawn(struct kernel *k, struct mv_task **out);
/* Linux: copy_process() for clone()/fork(). */
MV_MUST_CHECK long task_clone(struct mv_task *t, unsigned long flags, struct mv_task **out);
void task_exit(struct mv_task *t);
/* Queue a signal for @t (dropped if the queue is full, like a coalesced one). */
void task_send_signal(struct mv_task *t, int signo, int code, uint64_t addr);
int task_take_signal(struct mv_task *t, struct mv_siginfo *out);

#define K_SI_KERNEL 0x80   /* si_code of a kernel-forced SIGSEGV (#GP, bad signal frame) */

/* Queues @signo/@code/@addr for @t and traces it as @cause; returns -EFAULT. */
long task_fault_signal(struct mv_task *t, const char *cause, int signo, int code, uint64_t addr);

#endif
