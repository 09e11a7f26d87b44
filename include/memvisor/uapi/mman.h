/* SPDX-License-Identifier: MIT */
/*
 * mmap/mprotect/madvise constants, Linux x86-64 values. The C library's
 * <sys/mman.h> comes first when there is one, so the two can be included
 * in either order; this header adds what it left out (by feature-test
 * macros, or because it predates them) and checks the rest. See
 * <memvisor/uapi/system.h>.
 */
#ifndef MEMVISOR_UAPI_MMAN_H
#define MEMVISOR_UAPI_MMAN_H

#include <memvisor/uapi/system.h>

#if MV_UAPI_USE_SYSTEM
#if __has_include(<sys/mman.h>)
#include <sys/mman.h>
#endif
#endif

#ifndef PROT_NONE
#define PROT_NONE 0x0
#endif
#ifndef PROT_READ
#define PROT_READ 0x1
#endif
#ifndef PROT_WRITE
#define PROT_WRITE 0x2
#endif
#ifndef PROT_EXEC
#define PROT_EXEC 0x4
#endif
#ifndef PROT_SEM
#define PROT_SEM 0x8
#endif
/* arm64's PROT_MTE (asm/mman.h): memory that carries allocation tags */
#ifndef PROT_MTE
#define PROT_MTE 0x20
#endif
#ifndef PROT_GROWSDOWN
#define PROT_GROWSDOWN 0x01000000
#endif
#ifndef PROT_GROWSUP
#define PROT_GROWSUP 0x02000000
#endif

#ifndef MAP_SHARED
#define MAP_SHARED 0x01
#endif
#ifndef MAP_PRIVATE
#define MAP_PRIVATE 0x02
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_TYPE
#define MAP_TYPE 0x0f
#endif
#ifndef MAP_FIXED
#define MAP_FIXED 0x10
#endif
#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS 0x20
#endif
#ifndef MAP_32BIT
#define MAP_32BIT 0x40
#endif
#ifndef MAP_GROWSDOWN
#define MAP_GROWSDOWN 0x0100
#endif
#ifndef MAP_DENYWRITE
#define MAP_DENYWRITE 0x0800
#endif
#ifndef MAP_EXECUTABLE
#define MAP_EXECUTABLE 0x1000
#endif
#ifndef MAP_LOCKED
#define MAP_LOCKED 0x2000
#endif
#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0x4000
#endif
#ifndef MAP_POPULATE
#define MAP_POPULATE 0x8000
#endif
#ifndef MAP_NONBLOCK
#define MAP_NONBLOCK 0x10000
#endif
#ifndef MAP_STACK
#define MAP_STACK 0x20000
#endif
#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_UNINITIALIZED
#define MAP_UNINITIALIZED 0x4000000
#endif

#ifndef MADV_NORMAL
#define MADV_NORMAL 0
#endif
#ifndef MADV_RANDOM
#define MADV_RANDOM 1
#endif
#ifndef MADV_SEQUENTIAL
#define MADV_SEQUENTIAL 2
#endif
#ifndef MADV_WILLNEED
#define MADV_WILLNEED 3
#endif
#ifndef MADV_DONTNEED
#define MADV_DONTNEED 4
#endif
#ifndef MADV_FREE
#define MADV_FREE 8
#endif
#ifndef MADV_REMOVE
#define MADV_REMOVE 9
#endif
#ifndef MADV_DONTFORK
#define MADV_DONTFORK 10
#endif
#ifndef MADV_DOFORK
#define MADV_DOFORK 11
#endif

#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/* ---- memvisor's numbers; the system's, if it gave them, must agree ---- */
MV_UAPI_SAME(PROT_NONE, 0x0);
MV_UAPI_SAME(PROT_READ, 0x1);
MV_UAPI_SAME(PROT_WRITE, 0x2);
MV_UAPI_SAME(PROT_EXEC, 0x4);
MV_UAPI_SAME(PROT_SEM, 0x8);
MV_UAPI_SAME(PROT_MTE, 0x20);
MV_UAPI_SAME(PROT_GROWSDOWN, 0x01000000);
MV_UAPI_SAME(PROT_GROWSUP, 0x02000000);
MV_UAPI_SAME(MAP_SHARED, 0x01);
MV_UAPI_SAME(MAP_PRIVATE, 0x02);
MV_UAPI_SAME(MAP_SHARED_VALIDATE, 0x03);
MV_UAPI_SAME(MAP_TYPE, 0x0f);
MV_UAPI_SAME(MAP_FIXED, 0x10);
MV_UAPI_SAME(MAP_ANONYMOUS, 0x20);
MV_UAPI_SAME(MAP_32BIT, 0x40);
MV_UAPI_SAME(MAP_GROWSDOWN, 0x0100);
MV_UAPI_SAME(MAP_DENYWRITE, 0x0800);
MV_UAPI_SAME(MAP_EXECUTABLE, 0x1000);
MV_UAPI_SAME(MAP_LOCKED, 0x2000);
MV_UAPI_SAME(MAP_NORESERVE, 0x4000);
MV_UAPI_SAME(MAP_POPULATE, 0x8000);
MV_UAPI_SAME(MAP_NONBLOCK, 0x10000);
MV_UAPI_SAME(MAP_STACK, 0x20000);
MV_UAPI_SAME(MAP_HUGETLB, 0x40000);
MV_UAPI_SAME(MAP_SYNC, 0x80000);
MV_UAPI_SAME(MAP_FIXED_NOREPLACE, 0x100000);
MV_UAPI_SAME(MAP_UNINITIALIZED, 0x4000000);
MV_UAPI_SAME(MADV_NORMAL, 0);
MV_UAPI_SAME(MADV_RANDOM, 1);
MV_UAPI_SAME(MADV_SEQUENTIAL, 2);
MV_UAPI_SAME(MADV_WILLNEED, 3);
MV_UAPI_SAME(MADV_DONTNEED, 4);
MV_UAPI_SAME(MADV_FREE, 8);
MV_UAPI_SAME(MADV_REMOVE, 9);
MV_UAPI_SAME(MADV_DONTFORK, 10);
MV_UAPI_SAME(MADV_DOFORK, 11);
MV_UAPI_SAME(MREMAP_MAYMOVE, 1);
MV_UAPI_SAME(MREMAP_FIXED, 2);
MV_UAPI_SAME(MREMAP_DONTUNMAP, 4);

#endif
