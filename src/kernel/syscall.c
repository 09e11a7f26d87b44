/* SPDX-License-Identifier: MIT */
/*
 * The system call table: Linux x86-64 numbers to the sys_* handlers. A
 * number with no handler is -ENOSYS, exactly as on a kernel built without
 * that call.
 */
#include "kernel/syscalls.h"
#include "kernel/kernel.h"
#include "kernel/mte.h"

static const ksyscall_fn ksyscall_table[MV_SYS_MAX] = {
	/* files (sys_file.c) */
	[MV_SYS_read]         = sys_read,
	[MV_SYS_write]        = sys_write,
	[MV_SYS_close]        = sys_close,
	[MV_SYS_fstat]        = sys_fstat,
	[MV_SYS_ioctl]        = sys_ioctl,
	[MV_SYS_pread64]      = sys_pread64,
	[MV_SYS_pwrite64]     = sys_pwrite64,
	[MV_SYS_dup]          = sys_dup,
	[MV_SYS_dup2]         = sys_dup2,
	[MV_SYS_ftruncate]    = sys_ftruncate,
	[MV_SYS_openat]       = sys_openat,
	[MV_SYS_fallocate]    = sys_fallocate,
	[MV_SYS_dup3]         = sys_dup3,
	[MV_SYS_memfd_create] = sys_memfd_create,
	[MV_SYS_memfd_restricted] = sys_memfd_restricted,   /* guest_memfd.c */
	/* memory (sys_mm.c) */
	[MV_SYS_mmap]         = sys_mmap,
	[MV_SYS_mprotect]     = sys_mprotect,
	[MV_SYS_munmap]       = sys_munmap,
	[MV_SYS_madvise]      = sys_madvise,
	[MV_SYS_mremap]       = sys_mremap,        /* mremap.c */
	[MV_SYS_process_vm_readv]  = sys_process_vm_readv,   /* process_vm.c */
	[MV_SYS_process_vm_writev] = sys_process_vm_writev,
	[MV_SYS_mseal]        = sys_mseal,         /* mseal.c */
	/* process (sys_task.c) */
	[MV_SYS_getpid]       = sys_getpid,
	[MV_SYS_gettid]       = sys_gettid,
	[MV_SYS_getrlimit]    = sys_getrlimit,
	[MV_SYS_setrlimit]    = sys_setrlimit,
	[MV_SYS_prlimit64]    = sys_prlimit64,
	[MV_SYS_clone]        = sys_clone,         /* task.c */
	[MV_SYS_clone3]       = sys_clone3,
	/* shadow stacks (shstk.c); 451 answers only with abi = seed */
	[MV_SYS_arch_prctl]   = sys_arch_prctl,
	/* tagged addresses and MTE (mte.c) */
	[MV_SYS_prctl]        = sys_prctl,
	[MV_SYS_map_shadow_stack] = sys_map_shadow_stack,
	[MV_SYS_map_shadow_stack_seed] = sys_map_shadow_stack_seed,
	/* signals (shstk_cpu.c: the frame and the shadow-stack token) */
	[MV_SYS_rt_sigreturn] = sys_rt_sigreturn,
};

/**
 * kernel_syscall - run system call @nr in task @t
 * @t: the calling task; one that has exited cannot call anything (-ESRCH)
 * @nr: the x86-64 syscall number
 * @a: the six argument registers
 *
 * Returns what the call returns: a value, or a negative errno.
 */
long kernel_syscall(struct mv_task *t, long nr, const uint64_t a[6])
{
	ksyscall_fn fn;

	if (!t || __atomic_load_n(&t->exited, __ATOMIC_ACQUIRE))
		return -ESRCH;
	if (nr < 0 || nr >= MV_SYS_MAX)
		return -ENOSYS;
	mte_check_tfsr_entry(t);
	fn = ksyscall_table[nr];
	if (!fn)
		return -ENOSYS;
	return fn(t, a);
}
