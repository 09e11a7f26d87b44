// SPDX-License-Identifier: MIT
/*
 * Tasks: spawning a process (address space, fd table, a CPU in 64-bit user
 * mode, an initial stack), clone (the API's thread-or-fork, and the
 * clone/clone3 system calls with kernel/fork.c's checks), exit, and the
 * small per-task signal queue.
 *
 * A task holds one reference on its mm and one on its fd table; CLONE_VM
 * shares the mm and CLONE_FILES the fd table (the API's threads share
 * both), otherwise the child gets a copy. The task list and pid allocation
 * are under kernel->lock.
 */
#include <stddef.h>
#include <string.h>

#include "kernel/syscalls.h"
#include "kernel/mm_internal.h"
#include "kernel/mte.h"
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
	mte_task_clone(c, t);
	if (fork) {
		c->cpu.ssp = t->cpu.ssp;
		c->cpu.u_cet = t->cpu.u_cet;
		memcpy(c->cpu.pl_ssp, t->cpu.pl_ssp, sizeof(c->cpu.pl_ssp));
	}
}

/*
 * copy_process() for what memvisor models, with Linux's meaning of each
 * flag: CLONE_VM shares the address space, CLONE_FILES the fd table,
 * CLONE_THREAD the thread group (and with it the resource limits). A
 * non-zero @stack is the child's RSP; @shstk_size sizes a CLONE_VM child's
 * shadow stack (0: the default). The flags were checked by the caller.
 */
static long task_copy_process(struct mv_task *t, unsigned long flags, uint64_t stack,
			      uint64_t shstk_size, struct mv_task **out)
{
	bool share_vm = flags & CLONE_VM;
	struct mv_task *c;
	long ret;

	c = task_alloc(t->k, t);
	if (!c)
		return -ENOMEM;
	if (share_vm) {
		mm_get(t->mm);
		c->mm = t->mm;
	} else if ((ret = mm_fork(t->mm, &c->mm))) {
		goto err;
	}
	if (flags & CLONE_FILES) {
		fdtable_get(t->files);
		c->files = t->files;
	} else if ((ret = fdtable_copy(t->files, &c->files))) {
		goto err;
	}
	task_copy_cpu(c, t, !share_vm);
	if (stack)
		c->cpu.rsp = stack;
	if ((ret = shstk_clone(t, c, flags, shstk_size)))
		goto err;
	task_publish(t->k, c, (flags & CLONE_THREAD) ? t->tgid : 0);
	*out = c;
	return 0;
err:
	task_free(c);
	return ret;
}

/*
 * The public API's clone: CLONE_VM makes a thread (same mm, same fd table,
 * same thread group). Without it, a fork: the mm is copied (COW), the fd
 * table copied unless CLONE_FILES, and the child leads a new group.
 */
long task_clone(struct mv_task *t, unsigned long flags, struct mv_task **out)
{
	long ret = task_clone_check(flags);

	if (ret)
		return ret;
	if (flags & CLONE_VM)
		flags |= CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD;
	return task_copy_process(t, flags, 0, 0, out);
}

/* ------------------------------------------------- clone(2), clone3(2) */

/* clone flags beyond <memvisor/uapi/sched.h> (Linux values). */
#define K_CLONE_NEWTIME        0x00000080ull
#define K_CLONE_PIDFD          0x00001000ull
#define K_CLONE_PTRACE         0x00002000ull
#define K_CLONE_PARENT         0x00008000ull
#define K_CLONE_NEWNS          0x00020000ull
#define K_CLONE_SYSVSEM        0x00040000ull
#define K_CLONE_PARENT_SETTID  0x00100000ull
#define K_CLONE_DETACHED       0x00400000ull
#define K_CLONE_UNTRACED       0x00800000ull
#define K_CLONE_NEWUSER        0x10000000ull
#define K_CLONE_NEWPID         0x20000000ull
#define K_CLONE_IO             0x80000000ull
#define K_CLONE_LEGACY_FLAGS   0xffffffffull
#define K_CLONE_CLEAR_SIGHAND  0x100000000ull
#define K_CLONE_INTO_CGROUP    0x200000000ull

/*
 * What the system calls accept: the flags memvisor models, and those whose
 * whole effect is on state memvisor does not have (cwd and umask, signal
 * handlers, SysV semaphores, ptrace, the I/O context, the parent link), so
 * accepting them changes nothing. The others (CLONE_SETTLS, the *_SETTID
 * and *_CLEARTID pointers, CLONE_PIDFD, namespaces, CLONE_INTO_CGROUP) are
 * refused with -EINVAL; docs/shadow-stacks.md lists the difference.
 */
#define K_CLONE_SYSCALL_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | \
			       CLONE_VFORK | CLONE_THREAD | K_CLONE_PTRACE | K_CLONE_PARENT | \
			       K_CLONE_SYSVSEM | K_CLONE_DETACHED | K_CLONE_UNTRACED | \
			       K_CLONE_IO | K_CLONE_CLEAR_SIGHAND)

#define K_NSIG 64
#define K_MAX_PID_NS_LEVEL 32

/* struct clone_args, by version (CLONE_ARGS_SIZE_VER0/1/2). */
struct k_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size;   /* VER1 */
	uint64_t cgroup;                  /* VER2 */
};
#define K_CLONE_ARGS_SIZE_VER0 64
#define K_CLONE_ARGS_SIZE_VER1 80
#define K_CLONE_ARGS_SIZE_VER2 88
_Static_assert(offsetof(struct k_clone_args, tls) + 8 == K_CLONE_ARGS_SIZE_VER0, "clone_args v0");
_Static_assert(offsetof(struct k_clone_args, set_tid_size) + 8 == K_CLONE_ARGS_SIZE_VER1,
	       "clone_args v1");
_Static_assert(sizeof(struct k_clone_args) == K_CLONE_ARGS_SIZE_VER2, "clone_args v2");

/* kernel_clone() and copy_process()'s flag checks, in their order. */
static long task_clone_flags_check(const struct k_clone_args *a)
{
	uint64_t f = a->flags;

	if ((f & K_CLONE_PIDFD) && (f & K_CLONE_PARENT_SETTID) && a->pidfd == a->parent_tid)
		return -EINVAL;
	if ((f & (K_CLONE_NEWNS | CLONE_FS)) == (K_CLONE_NEWNS | CLONE_FS) ||
	    (f & (K_CLONE_NEWUSER | CLONE_FS)) == (K_CLONE_NEWUSER | CLONE_FS))
		return -EINVAL;
	if ((f & CLONE_THREAD) && !(f & CLONE_SIGHAND))
		return -EINVAL;
	if ((f & CLONE_SIGHAND) && !(f & CLONE_VM))
		return -EINVAL;
	if ((f & CLONE_THREAD) && (f & (K_CLONE_NEWUSER | K_CLONE_NEWPID)))
		return -EINVAL;
	if ((f & K_CLONE_PIDFD) && (f & K_CLONE_DETACHED))
		return -EINVAL;
	if (f & ~K_CLONE_SYSCALL_FLAGS)
		return -EINVAL;   /* not modelled */
	return 0;
}

/*
 * The copy, for checked arguments. Returns the child's pid. The child runs
 * nothing by itself: it is a task like any other, reached by its pid.
 */
static long task_kernel_clone(struct mv_task *t, const struct k_clone_args *a)
{
	struct mv_task *c;
	long ret = task_copy_process(t, (unsigned long)a->flags, a->stack, a->stack_size, &c);

	return ret ? ret : c->pid;
}

/*
 * clone(flags, newsp, parent_tid, child_tid, tls), x86-64's order. Only
 * the low 32 bits of flags count; the low byte is the exit signal (any
 * value, as Linux takes it; memvisor has no wait() to deliver it to).
 */
long sys_clone(struct mv_task *t, const uint64_t a[6])
{
	uint64_t flags = (uint32_t)a[0];
	struct k_clone_args args = {
		.flags = flags & ~(uint64_t)CSIGNAL, .exit_signal = flags & CSIGNAL,
		.stack = a[1], .pidfd = a[2], .parent_tid = a[2], .child_tid = a[3], .tls = a[4],
	};

	long ret = task_clone_flags_check(&args);

	return ret ? ret : task_kernel_clone(t, &args);
}

/* copy_struct_from_user(): @usize bytes of the caller's struct, zero tail checked. */
static long clone3_copy_struct(struct k_clone_args *args, const uint8_t *uargs, size_t usize)
{
	size_t n = usize < sizeof(*args) ? usize : sizeof(*args);

	memset(args, 0, sizeof(*args));
	if (usize > sizeof(*args)) {
		/* the tail's address as a number: @uargs may be NULL (no arithmetic on it) */
		uintptr_t tail = (uintptr_t)uargs + sizeof(*args);

		if (k_host_range_faults((const void *)tail, usize - sizeof(*args)))
			return -EFAULT;
		for (size_t i = sizeof(*args); i < usize; i++)
			if (uargs[i])
				return -E2BIG;
	}
	if (k_host_range_faults(uargs, n))
		return -EFAULT;
	memcpy(args, uargs, n);
	return 0;
}

/* copy_clone_args_from_user(); *@tid: set_tid's first entry, if it has one. */
static long clone3_args_from_user(struct k_clone_args *args, const void *uargs, uint64_t usize,
				  int32_t *tid)
{
	long ret;

	if (usize > K_PAGE_SIZE)
		return -E2BIG;
	if (usize < K_CLONE_ARGS_SIZE_VER0)
		return -EINVAL;
	ret = clone3_copy_struct(args, uargs, (size_t)usize);
	if (ret)
		return ret;
	if (args->set_tid_size > K_MAX_PID_NS_LEVEL)
		return -EINVAL;
	if (!args->set_tid != !args->set_tid_size)
		return -EINVAL;
	if ((args->exit_signal & ~(uint64_t)CSIGNAL) || args->exit_signal > K_NSIG)
		return -EINVAL;
	if ((args->flags & K_CLONE_INTO_CGROUP) &&
	    (args->cgroup > INT32_MAX || usize < K_CLONE_ARGS_SIZE_VER2))
		return -EINVAL;
	if (!args->set_tid)
		return 0;
	if (k_host_range_faults((const void *)(uintptr_t)args->set_tid,
				args->set_tid_size * sizeof(*tid)))
		return -EFAULT;
	memcpy(tid, (const void *)(uintptr_t)args->set_tid, sizeof(*tid));
	return 0;
}

/*
 * alloc_pid() with set_tid: memvisor has one pid namespace, so more than
 * one entry is -EINVAL, a pid below 1 too, and any other is -EPERM
 * (choosing a pid needs CAP_CHECKPOINT_RESTORE, which memvisor's tasks
 * lack; pid_max is not modelled). Linux gets there after the child's
 * memory and shadow stack exist, so only an -ENOMEM there could come
 * first; memvisor answers before copying anything.
 */
static long clone3_set_tid(const struct k_clone_args *args, int32_t tid)
{
	if (args->set_tid_size > 1 || tid < 1)
		return -EINVAL;
	return -EPERM;
}

/* clone3_args_valid() with clone3_stack_valid(): the stack becomes its top. */
static bool clone3_args_valid(struct k_clone_args *args)
{
	uint64_t f = args->flags;

	if (f & ~(K_CLONE_LEGACY_FLAGS | K_CLONE_CLEAR_SIGHAND | K_CLONE_INTO_CGROUP))
		return false;
	/* CLONE_DETACHED and the CSIGNAL bits are free for reuse in clone3 (but CLONE_NEWTIME) */
	if (f & (K_CLONE_DETACHED | (CSIGNAL & ~K_CLONE_NEWTIME)))
		return false;
	if ((f & (CLONE_SIGHAND | K_CLONE_CLEAR_SIGHAND)) == (CLONE_SIGHAND | K_CLONE_CLEAR_SIGHAND))
		return false;
	if ((f & (CLONE_THREAD | K_CLONE_PARENT)) && args->exit_signal)
		return false;
	if (!args->stack)
		return !args->stack_size;
	if (!args->stack_size || args->stack + args->stack_size < args->stack ||
	    args->stack + args->stack_size > K_TASK_SIZE)
		return false;
	args->stack += args->stack_size;
	return true;
}

/*
 * clone3(uargs, size). The struct is a host pointer (a syscall buffer);
 * stack and stack_size are addresses in the task's space. stack_size also
 * sizes a CLONE_VM child's shadow stack (shstk_alloc_thread_stack).
 */
long sys_clone3(struct mv_task *t, const uint64_t a[6])
{
	struct k_clone_args args;
	int32_t tid = 0;
	long ret = clone3_args_from_user(&args, (const void *)(uintptr_t)a[0], a[1], &tid);

	if (ret)
		return ret;
	if (!clone3_args_valid(&args))
		return -EINVAL;
	ret = task_clone_flags_check(&args);
	if (!ret && args.set_tid)
		ret = clone3_set_tid(&args, tid);
	return ret ? ret : task_kernel_clone(t, &args);
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
