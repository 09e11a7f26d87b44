// SPDX-License-Identifier: MIT
/*
 * The public surface of the task's CPU (the CET instructions, signal
 * delivery and return) and of remote access to a task's memory, forwarding
 * to the kernel. mv_cpu_get_reg/set_reg live in machine.c.
 */
#include <memvisor/memvisor.h>

#include "api/api.h"
#include "kernel/shstk.h"

static bool mv_task_alive(const struct mv_task *t)
{
	return t && !__atomic_load_n(&t->exited, __ATOMIC_ACQUIRE);
}

MV_API long mv_cpu_call(struct mv_task *t, uint64_t return_address)
{
	if (!mv_task_alive(t))
		return -EINVAL;
	return shstk_cpu_call(t, return_address);
}

MV_API long mv_cpu_ret(struct mv_task *t, uint64_t *return_address)
{
	if (!mv_task_alive(t))
		return -EINVAL;
	return shstk_cpu_ret(t, return_address);
}

MV_API long mv_cpu_rdssp(struct mv_task *t, uint64_t *ssp)
{
	if (!mv_task_alive(t) || !ssp)
		return -EINVAL;
	return shstk_cpu_rdssp(t, ssp);
}

MV_API long mv_cpu_rstorssp(struct mv_task *t, uint64_t token_address)
{
	if (!mv_task_alive(t))
		return -EINVAL;
	return shstk_cpu_rstorssp(t, token_address);
}

MV_API long mv_cpu_saveprevssp(struct mv_task *t)
{
	if (!mv_task_alive(t))
		return -EINVAL;
	return shstk_cpu_saveprevssp(t);
}

MV_API long mv_cpu_wrss(struct mv_task *t, uint64_t address, uint64_t value)
{
	if (!mv_task_alive(t))
		return -EINVAL;
	return shstk_cpu_wrss(t, address, value);
}

MV_API long mv_cpu_incssp(struct mv_task *t, uint32_t count)
{
	if (!mv_task_alive(t))
		return -EINVAL;
	return shstk_cpu_incssp(t, count);
}

MV_API long mv_cpu_signal_deliver(struct mv_task *t, int signo, uint64_t handler,
				  uint64_t restorer)
{
	if (!mv_task_alive(t) || signo <= 0 || signo > 64)
		return -EINVAL;
	return shstk_signal_deliver(t, signo, handler, restorer);
}

MV_API long mv_cpu_sigreturn(struct mv_task *t)
{
	if (!mv_task_alive(t))
		return -EINVAL;
	return shstk_sigreturn(t);
}

/*
 * process_vm_readv/writev without MV_REMOTE_FORCE (errors are -EFAULT);
 * /proc/<pid>/mem and ptrace with it (nothing copied is -EIO, as mem_rw
 * and the PTRACE_PEEK/POKE paths answer).
 */
MV_API long mv_task_access_remote(struct mv_task *t, uint64_t addr, void *buf, size_t len,
				  unsigned int flags)
{
	unsigned int gup = FOLL_REMOTE;
	long ret;

	if (!mv_task_alive(t) || (flags & ~(MV_REMOTE_WRITE | MV_REMOTE_FORCE)) ||
	    (len && !buf))
		return -EINVAL;
	if (!len)
		return 0;
	if (flags & MV_REMOTE_WRITE)
		gup |= FOLL_WRITE;
	if (flags & MV_REMOTE_FORCE)
		gup |= FOLL_FORCE;
	ret = access_remote_vm(t->mm, addr, buf, len, gup);
	if (ret <= 0 && (flags & MV_REMOTE_FORCE))
		return -EIO;
	return ret;
}

MV_API long mv_task_set_prot_shadow_stack(struct mv_task *t, int enable)
{
	if (!mv_task_alive(t) || (enable != 0 && enable != 1))
		return -EINVAL;
	return shstk_set_prot_option(t, enable);
}
