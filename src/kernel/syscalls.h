/* SPDX-License-Identifier: MIT */
/*
 * The sys_* entry points, for the dispatcher (syscall.c) and the files that
 * implement them; everything else calls kernel_syscall() (kernel.h).
 * Linux's include/linux/syscalls.h.
 */
#ifndef MV_KERNEL_SYSCALLS_H
#define MV_KERNEL_SYSCALLS_H

#include <stdint.h>

struct mv_task;

typedef long (*ksyscall_fn)(struct mv_task *t, const uint64_t a[6]);

/* memory (sys_mm.c) */
long sys_mmap(struct mv_task *t, const uint64_t a[6]);
long sys_munmap(struct mv_task *t, const uint64_t a[6]);
long sys_mprotect(struct mv_task *t, const uint64_t a[6]);
long sys_madvise(struct mv_task *t, const uint64_t a[6]);
long sys_mremap(struct mv_task *t, const uint64_t a[6]);                /* mremap.c */
long sys_process_vm_readv(struct mv_task *t, const uint64_t a[6]);      /* process_vm.c */
long sys_process_vm_writev(struct mv_task *t, const uint64_t a[6]);
long sys_mseal(struct mv_task *t, const uint64_t a[6]);                  /* mseal.c */
/* process (sys_task.c) */
long sys_getpid(struct mv_task *t, const uint64_t a[6]);
long sys_gettid(struct mv_task *t, const uint64_t a[6]);
long sys_getrlimit(struct mv_task *t, const uint64_t a[6]);
long sys_setrlimit(struct mv_task *t, const uint64_t a[6]);
long sys_prlimit64(struct mv_task *t, const uint64_t a[6]);
long sys_clone(struct mv_task *t, const uint64_t a[6]);               /* task.c */
long sys_clone3(struct mv_task *t, const uint64_t a[6]);
/* shadow stacks (shstk.c) */
long sys_arch_prctl(struct mv_task *t, const uint64_t a[6]);
long sys_map_shadow_stack(struct mv_task *t, const uint64_t a[6]);
long sys_map_shadow_stack_seed(struct mv_task *t, const uint64_t a[6]);   /* 451 */
long sys_rt_sigreturn(struct mv_task *t, const uint64_t a[6]);          /* shstk_cpu.c */
/* files (sys_file.c) */
long sys_read(struct mv_task *t, const uint64_t a[6]);
long sys_write(struct mv_task *t, const uint64_t a[6]);
long sys_pread64(struct mv_task *t, const uint64_t a[6]);
long sys_pwrite64(struct mv_task *t, const uint64_t a[6]);
long sys_close(struct mv_task *t, const uint64_t a[6]);
long sys_dup(struct mv_task *t, const uint64_t a[6]);
long sys_dup2(struct mv_task *t, const uint64_t a[6]);
long sys_dup3(struct mv_task *t, const uint64_t a[6]);
long sys_openat(struct mv_task *t, const uint64_t a[6]);
long sys_fstat(struct mv_task *t, const uint64_t a[6]);
long sys_ftruncate(struct mv_task *t, const uint64_t a[6]);
long sys_fallocate(struct mv_task *t, const uint64_t a[6]);
long sys_ioctl(struct mv_task *t, const uint64_t a[6]);
long sys_memfd_create(struct mv_task *t, const uint64_t a[6]);
/* guest private memory (guest_memfd.c) */
long sys_memfd_restricted(struct mv_task *t, const uint64_t a[6]);   /* 1000 */

#endif
