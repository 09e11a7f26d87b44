// SPDX-License-Identifier: MIT
/*
 * Process syscalls: getpid/gettid and resource limits (getrlimit,
 * setrlimit, prlimit64) with Linux's checks for an unprivileged user.
 * Limits belong to the process: a change reaches every task of the thread
 * group. struct rlimit arguments are host pointers.
 *
 * Limits are read and written under kernel->lock (which also keeps the
 * target of prlimit64 alive).
 */
#include <string.h>

#include "kernel/syscalls.h"
#include "kernel/mm_internal.h"

struct k_user_rlimit {
	uint64_t rlim_cur, rlim_max;
};
_Static_assert(sizeof(struct k_user_rlimit) == 16, "struct rlimit / rlimit64 on x86-64");

long sys_getpid(struct mv_task *t, const uint64_t a[6])
{
	return t->tgid;
}

long sys_gettid(struct mv_task *t, const uint64_t a[6])
{
	return t->pid;
}

static void rlimit_store(struct mv_task *t, unsigned int resource, const struct k_rlimit *r)
{
	t->rlim[resource] = *r;
	if (resource == K_RLIMIT_NOFILE)
		WRITE_ONCE(t->rlimit_nofile, r->cur);   /* fd allocation reads it unlocked */
}

/* do_prlimit. Called with kernel->lock held. */
static long prlimit_locked(struct mv_task *tsk, uint64_t resource, const struct k_rlimit *new,
			   struct k_rlimit *old)
{
	struct mv_task *t;

	if (resource >= K_RLIM_NLIMITS)
		return -EINVAL;
	if (new) {
		if (new->cur > new->max)
			return -EINVAL;
		if (resource == K_RLIMIT_NOFILE && new->max > K_NR_OPEN_MAX)
			return -EPERM;
		/* Raising a hard limit needs CAP_SYS_RESOURCE. */
		if (new->max > tsk->rlim[resource].max)
			return -EPERM;
	}
	if (old)
		*old = tsk->rlim[resource];
	if (new)
		lib_list_for_each_entry(t, &tsk->k->tasks, link)
			if (t->tgid == tsk->tgid)
				rlimit_store(t, (unsigned int)resource, new);
	return 0;
}

static long rlimit_copy_in(const void *uptr, struct k_rlimit *r)
{
	struct k_user_rlimit u;

	if (k_host_range_faults(uptr, sizeof(u)))
		return -EFAULT;
	memcpy(&u, uptr, sizeof(u));
	r->cur = u.rlim_cur;
	r->max = u.rlim_max;
	return 0;
}

static long rlimit_copy_out(void *uptr, const struct k_rlimit *r)
{
	struct k_user_rlimit u = { r->cur, r->max };

	if (k_host_range_faults(uptr, sizeof(u)))
		return -EFAULT;
	memcpy(uptr, &u, sizeof(u));
	return 0;
}

long sys_getrlimit(struct mv_task *t, const uint64_t a[6])
{
	struct k_rlimit r;
	long ret;

	pthread_mutex_lock(&t->k->lock);
	ret = prlimit_locked(t, a[0], NULL, &r);
	pthread_mutex_unlock(&t->k->lock);
	if (!ret)
		ret = rlimit_copy_out((void *)(uintptr_t)a[1], &r);
	return ret;
}

long sys_setrlimit(struct mv_task *t, const uint64_t a[6])
{
	struct k_rlimit r;
	long ret;

	ret = rlimit_copy_in((const void *)(uintptr_t)a[1], &r);
	if (ret)
		return ret;
	pthread_mutex_lock(&t->k->lock);
	ret = prlimit_locked(t, a[0], &r, NULL);
	pthread_mutex_unlock(&t->k->lock);
	return ret;
}

static struct mv_task *task_by_pid_locked(struct kernel *k, int pid)
{
	struct mv_task *t;

	lib_list_for_each_entry(t, &k->tasks, link)
		if (t->pid == pid)
			return t;
	return NULL;
}

/* prlimit64(pid, resource, new, old); pid 0 is the caller. */
long sys_prlimit64(struct mv_task *t, const uint64_t a[6])
{
	void *new_uptr = (void *)(uintptr_t)a[2], *old_uptr = (void *)(uintptr_t)a[3];
	int pid = (int)a[0];
	struct k_rlimit new, old;
	struct mv_task *tsk;
	long ret;

	if (new_uptr) {
		ret = rlimit_copy_in(new_uptr, &new);
		if (ret)
			return ret;
	}
	pthread_mutex_lock(&t->k->lock);
	tsk = pid ? task_by_pid_locked(t->k, pid) : t;
	ret = tsk ? prlimit_locked(tsk, a[1], new_uptr ? &new : NULL, old_uptr ? &old : NULL)
		  : -ESRCH;
	pthread_mutex_unlock(&t->k->lock);
	if (!ret && old_uptr)
		ret = rlimit_copy_out(old_uptr, &old);
	return ret;
}
