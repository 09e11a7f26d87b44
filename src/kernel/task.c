// SPDX-License-Identifier: MIT
/*
 * Tasks: spawning a process (address space, fd table, a CPU in 64-bit user
 * mode, an initial stack), clone as thread or fork, exit, and the small
 * per-task signal queue.
 *
 * A task holds one reference on its mm and one on its fd table; threads
 * (CLONE_VM) share both, a fork copies both. The task list and pid
 * allocation are under kernel->lock.
 */
#include <string.h>

#include "kernel/mm_internal.h"
#include "kernel/shstk.h"
#include "lib/alloc.h"

/* Linux's defaults for a fresh login process (uid != 0). */
static const struct k_rlimit task_default_rlimits[K_RLIM_NLIMITS] = {
	[0] = { K_RLIM_INFINITY, K_RLIM_INFINITY },            /* CPU */
	[1] = { K_RLIM_INFINITY, K_RLIM_INFINITY },            /* FSIZE */
	[2] = { K_RLIM_INFINITY, K_RLIM_INFINITY },            /* DATA */
	[K_RLIMIT_STACK] = { K_RLIMIT_STACK_DEFAULT, K_RLIM_INFINITY },
	[4] = { 0, K_RLIM_INFINITY },                          /* CORE */
	[5] = { K_RLIM_INFINITY, K_RLIM_INFINITY },            /* RSS */
	[6] = { 63457, 63457 },                                /* NPROC */
	[K_RLIMIT_NOFILE] = { K_NR_OPEN_DEFAULT, 4096 },       /* INR_OPEN_CUR/MAX */
	[8] = { 8ull << 20, 8ull << 20 },                      /* MEMLOCK */
	[9] = { K_RLIM_INFINITY, K_RLIM_INFINITY },            /* AS */
	[10] = { K_RLIM_INFINITY, K_RLIM_INFINITY },           /* LOCKS */
	[11] = { 63457, 63457 },                               /* SIGPENDING */
	[12] = { 819200, 819200 },                             /* MSGQUEUE */
	[13] = { 0, 0 },                                       /* NICE */
	[14] = { 0, 0 },                                       /* RTPRIO */
	[15] = { K_RLIM_INFINITY, K_RLIM_INFINITY },           /* RTTIME */
};

/* Clone flags memvisor models; anything else is refused rather than ignored. */
#define K_CLONE_SUPPORTED (CSIGNAL | CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | \
			   CLONE_VFORK | CLONE_THREAD)

static struct mv_task *task_alloc(struct kernel *k, const struct mv_task *parent)
{
	struct mv_task *t = lib_zalloc(sizeof(*t));

	if (!t)
		return NULL;
	if (pthread_mutex_init(&t->sig_lock, NULL)) {
		lib_free(t);
		return NULL;
	}
	t->k = k;
	lib_list_init(&t->link);
	hw_cpu_init(&t->cpu, k->hw);
	/* another thread of the parent's group may be in setrlimit: its lock */
	pthread_mutex_lock(&k->lock);
	memcpy(t->rlim, parent ? parent->rlim : task_default_rlimits, sizeof(t->rlim));
	pthread_mutex_unlock(&k->lock);
	t->rlimit_stack = t->rlim[K_RLIMIT_STACK].cur;
	t->rlimit_nofile = t->rlim[K_RLIMIT_NOFILE].cur;
	return t;
}

static void task_free(struct mv_task *t)
{
	hw_cpu_unregister(&t->cpu);
	shstk_exit(t);   /* unmaps the thread shadow stack: needs t->mm */
	if (t->files)
		fdtable_put(t->files);
	if (t->mm)
		mm_put(t->mm);
	pthread_mutex_destroy(&t->sig_lock);
	lib_free(t);
}

/* Gives @t a pid (and a tgid unless it joins a thread group) and lists it. */
static void task_publish(struct kernel *k, struct mv_task *t, int tgid)
{
	/* shootdowns of its address space wait for this CPU's accesses */
	hw_cpu_register(&t->cpu, (uint64_t)(uintptr_t)t->mm);
	pthread_mutex_lock(&k->lock);
	t->pid = k->next_pid++;
	t->tgid = tgid ? tgid : t->pid;
	lib_list_add_tail(&t->link, &k->tasks);
	pthread_mutex_unlock(&k->lock);
}

/* The initial user stack: K_STACK_SIZE below K_STACK_TOP, RSP at its top. */
static int task_map_stack(struct mv_task *t)
{
	const unsigned long flags = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC |
				    VM_GROWSDOWN;
	struct mm *mm = t->mm;
	long addr;

	pthread_rwlock_wrlock(&mm->mmap_lock);
	addr = mm_map_locked(t, NULL, K_STACK_TOP - K_STACK_SIZE, K_STACK_SIZE, flags,
			     MAP_FIXED | MAP_PRIVATE, 0);
	if (addr >= 0) {
		mm->stack_start = (uint64_t)addr;
		mm->stack_end = K_STACK_TOP;
	}
	pthread_rwlock_unlock(&mm->mmap_lock);
	if (addr < 0)
		return (int)addr;
	t->cpu.rsp = K_STACK_TOP;
	return 0;
}

int task_spawn(struct kernel *k, struct mv_task **out)
{
	struct mv_task *t = task_alloc(k, NULL);
	int ret = -ENOMEM;

	if (!t)
		return -ENOMEM;
	t->mm = mm_create(k);
	if (lib_is_err(t->mm)) {
		t->mm = NULL;
		goto err;
	}
	t->files = fdtable_create();
	if (lib_is_err(t->files)) {
		t->files = NULL;
		goto err;
	}
	hw_cpu_setup_long_mode(&t->cpu, t->mm->pgd, 3);
	ret = task_map_stack(t);
	if (ret)
		goto err;
	task_publish(k, t, 0);
	*out = t;
	return 0;
err:
	task_free(t);
	return ret;
}

/* The flag combinations copy_process() refuses, in its order. */
static long task_clone_check(unsigned long flags)
{
	if ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND))
		return -EINVAL;
	if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM))
		return -EINVAL;
	if (flags & ~(unsigned long)K_CLONE_SUPPORTED)
		return -EINVAL;
	return 0;
}

/* The child's CPU: same registers; a fork keeps the shadow-stack state too. */
static void task_copy_cpu(struct mv_task *c, const struct mv_task *t, bool fork)
{
	hw_cpu_setup_long_mode(&c->cpu, c->mm->pgd, 3);
	c->cpu.rip = t->cpu.rip;
	c->cpu.rsp = t->cpu.rsp;
	if (fork) {
		c->cpu.ssp = t->cpu.ssp;
		c->cpu.u_cet = t->cpu.u_cet;
		memcpy(c->cpu.pl_ssp, t->cpu.pl_ssp, sizeof(c->cpu.pl_ssp));
	}
}

/*
 * CLONE_VM makes a thread (the public API's meaning): same mm, same fd
 * table, same thread group. Without it, a fork: the mm is copied (COW), the
 * fd table copied unless CLONE_FILES, and the child leads a new group.
 */
long task_clone(struct mv_task *t, unsigned long flags, struct mv_task **out)
{
	bool thread = flags & CLONE_VM;
	struct mv_task *c;
	long ret;

	ret = task_clone_check(flags);
	if (ret)
		return ret;
	c = task_alloc(t->k, t);
	if (!c)
		return -ENOMEM;
	if (thread) {
		mm_get(t->mm);
		c->mm = t->mm;
	} else if ((ret = mm_fork(t->mm, &c->mm))) {
		goto err;
	}
	if (thread || (flags & CLONE_FILES)) {
		fdtable_get(t->files);
		c->files = t->files;
	} else if ((ret = fdtable_copy(t->files, &c->files))) {
		goto err;
	}
	task_copy_cpu(c, t, !thread);
	if ((ret = shstk_clone(t, c, flags)))
		goto err;
	task_publish(t->k, c, thread ? t->tgid : 0);
	*out = c;
	return 0;
err:
	task_free(c);
	return ret;
}

void task_exit(struct mv_task *t)
{
	struct kernel *k = t->k;

	pthread_mutex_lock(&k->lock);
	lib_list_del(&t->link);
	pthread_mutex_unlock(&k->lock);
	__atomic_store_n(&t->exited, true, __ATOMIC_RELEASE);
	task_free(t);
}

/* ---------------------------------------------------------------- signals */

void task_send_signal(struct mv_task *t, int signo, int code, uint64_t addr)
{
	pthread_mutex_lock(&t->sig_lock);
	if (t->sig_count < K_SIGQUEUE) {
		struct mv_siginfo *si = &t->sigq[(t->sig_head + t->sig_count) % K_SIGQUEUE];

		si->signo = signo;
		si->code = code;
		si->addr = addr;
		t->sig_count++;
	}
	pthread_mutex_unlock(&t->sig_lock);
}

int task_take_signal(struct mv_task *t, struct mv_siginfo *out)
{
	int ret = 0;

	pthread_mutex_lock(&t->sig_lock);
	if (t->sig_count) {
		*out = t->sigq[t->sig_head];
		t->sig_head = (t->sig_head + 1) % K_SIGQUEUE;
		t->sig_count--;
		ret = 1;
	}
	pthread_mutex_unlock(&t->sig_lock);
	return ret;
}
