/* SPDX-License-Identifier: MIT */
/*
 * System call numbers memvisor implements: the Linux x86-64 values, as
 * MV_SYS_<name>. memfd_restricted never reached mainline, so it has a
 * memvisor number outside Linux's x86-64 range (see docs/private-memory.md).
 */
#ifndef MEMVISOR_UAPI_UNISTD_H
#define MEMVISOR_UAPI_UNISTD_H

#define MV_SYS_read               0
#define MV_SYS_write              1
#define MV_SYS_close              3
#define MV_SYS_fstat              5
#define MV_SYS_mmap               9
#define MV_SYS_mprotect          10
#define MV_SYS_munmap            11
#define MV_SYS_rt_sigreturn      15
#define MV_SYS_ioctl             16
#define MV_SYS_pread64           17
#define MV_SYS_pwrite64          18
#define MV_SYS_mremap            25
#define MV_SYS_madvise           28
#define MV_SYS_dup               32
#define MV_SYS_dup2              33
#define MV_SYS_getpid            39
#define MV_SYS_clone             56
#define MV_SYS_ftruncate         77
#define MV_SYS_getrlimit         97
#define MV_SYS_gettid           186
#define MV_SYS_prctl            157
#define MV_SYS_arch_prctl       158
#define MV_SYS_setrlimit        160
#define MV_SYS_openat           257
#define MV_SYS_fallocate        285
#define MV_SYS_dup3             292
#define MV_SYS_prlimit64        302
#define MV_SYS_process_vm_readv  310
#define MV_SYS_process_vm_writev 311
#define MV_SYS_memfd_create     319
#define MV_SYS_clone3           435
#define MV_SYS_map_shadow_stack 453
#define MV_SYS_mseal            462
/* The seed revision of map_shadow_stack used 451 (abi = seed accepts it). */
#define MV_SYS_map_shadow_stack_seed 451
/* memvisor's own number: memfd_restricted was never merged. */
#define MV_SYS_memfd_restricted 1000

#define MV_SYS_MAX             1024

#endif
