/* SPDX-License-Identifier: MIT */
/* mmap/mprotect/madvise constants, Linux x86-64 values. */
#ifndef MEMVISOR_UAPI_MMAN_H
#define MEMVISOR_UAPI_MMAN_H

/* The C library may define the same names with the same values; ours only
 * fill in what is missing so the two can be included together. */
#ifndef PROT_NONE
#define PROT_NONE      0x0
#define PROT_READ      0x1
#define PROT_WRITE     0x2
#define PROT_EXEC      0x4
#endif
#ifndef PROT_SEM
#define PROT_SEM       0x8
#endif
#ifndef PROT_GROWSDOWN
#define PROT_GROWSDOWN 0x01000000
#define PROT_GROWSUP   0x02000000
#endif

#ifndef MAP_SHARED
#define MAP_SHARED     0x01
#define MAP_PRIVATE    0x02
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_TYPE
#define MAP_TYPE       0x0f
#endif
#ifndef MAP_FIXED
#define MAP_FIXED      0x10
#endif
#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS  0x20
#endif
#ifndef MAP_32BIT
#define MAP_32BIT      0x40
#endif
#ifndef MAP_GROWSDOWN
#define MAP_GROWSDOWN  0x0100
#define MAP_DENYWRITE  0x0800
#define MAP_EXECUTABLE 0x1000
#define MAP_LOCKED     0x2000
#define MAP_NORESERVE  0x4000
#define MAP_POPULATE   0x8000
#define MAP_NONBLOCK   0x10000
#define MAP_STACK      0x20000
#define MAP_HUGETLB    0x40000
#endif
#ifndef MAP_SYNC
#define MAP_SYNC       0x80000
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_UNINITIALIZED
#define MAP_UNINITIALIZED 0x4000000
#endif

#ifndef MADV_NORMAL
#define MADV_NORMAL     0
#define MADV_RANDOM     1
#define MADV_SEQUENTIAL 2
#define MADV_WILLNEED   3
#define MADV_DONTNEED   4
#endif
#ifndef MADV_FREE
#define MADV_FREE       8
#endif
#ifndef MADV_REMOVE
#define MADV_REMOVE     9
#define MADV_DONTFORK  10
#define MADV_DOFORK    11
#endif

#endif
