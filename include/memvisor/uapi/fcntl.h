/* SPDX-License-Identifier: MIT */
/*
 * open flags, AT_FDCWD, fallocate modes, memfd flags: Linux x86-64 values.
 * The C library's <fcntl.h> and <sys/mman.h> (memfd flags) and the
 * kernel's <linux/falloc.h> come first when they exist, so they can be
 * included in either order; this header adds what they left out and
 * checks the rest. See <memvisor/uapi/system.h>.
 */
#ifndef MEMVISOR_UAPI_FCNTL_H
#define MEMVISOR_UAPI_FCNTL_H

#include <memvisor/uapi/system.h>

#if MV_UAPI_USE_SYSTEM
#if __has_include(<fcntl.h>)
#include <fcntl.h>
#endif
#if __has_include(<sys/mman.h>)
#include <sys/mman.h>
#endif
#if __has_include(<linux/falloc.h>)
#include <linux/falloc.h>
#endif
#endif

#ifndef O_RDONLY
#define O_RDONLY 00000000
#endif
#ifndef O_WRONLY
#define O_WRONLY 00000001
#endif
#ifndef O_RDWR
#define O_RDWR 00000002
#endif
#ifndef O_ACCMODE
#define O_ACCMODE 00000003
#endif
#ifndef O_CREAT
#define O_CREAT 00000100
#endif
#ifndef O_EXCL
#define O_EXCL 00000200
#endif
#ifndef O_NOCTTY
#define O_NOCTTY 00000400
#endif
#ifndef O_TRUNC
#define O_TRUNC 00001000
#endif
#ifndef O_APPEND
#define O_APPEND 00002000
#endif
#ifndef O_NONBLOCK
#define O_NONBLOCK 00004000
#endif
#ifndef O_DIRECTORY
#define O_DIRECTORY 00200000
#endif
#ifndef O_CLOEXEC
#define O_CLOEXEC 02000000
#endif
#ifndef O_PATH
#define O_PATH 010000000
#endif

#ifndef AT_FDCWD
#define AT_FDCWD -100
#endif

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif
#ifndef FALLOC_FL_NO_HIDE_STALE
#define FALLOC_FL_NO_HIDE_STALE 0x04
#endif
#ifndef FALLOC_FL_COLLAPSE_RANGE
#define FALLOC_FL_COLLAPSE_RANGE 0x08
#endif
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE 0x10
#endif
#ifndef FALLOC_FL_INSERT_RANGE
#define FALLOC_FL_INSERT_RANGE 0x20
#endif
#ifndef FALLOC_FL_UNSHARE_RANGE
#define FALLOC_FL_UNSHARE_RANGE 0x40
#endif

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/* ---- memvisor's numbers; the system's, if it gave them, must agree ---- */
MV_UAPI_SAME(O_RDONLY, 00000000);
MV_UAPI_SAME(O_WRONLY, 00000001);
MV_UAPI_SAME(O_RDWR, 00000002);
MV_UAPI_SAME(O_ACCMODE, 00000003);
MV_UAPI_SAME(O_CREAT, 00000100);
MV_UAPI_SAME(O_EXCL, 00000200);
MV_UAPI_SAME(O_NOCTTY, 00000400);
MV_UAPI_SAME(O_TRUNC, 00001000);
MV_UAPI_SAME(O_APPEND, 00002000);
MV_UAPI_SAME(O_NONBLOCK, 00004000);
MV_UAPI_SAME(O_DIRECTORY, 00200000);
MV_UAPI_SAME(O_CLOEXEC, 02000000);
MV_UAPI_SAME(O_PATH, 010000000);
MV_UAPI_SAME(AT_FDCWD, -100);
MV_UAPI_SAME(FALLOC_FL_KEEP_SIZE, 0x01);
MV_UAPI_SAME(FALLOC_FL_PUNCH_HOLE, 0x02);
MV_UAPI_SAME(FALLOC_FL_NO_HIDE_STALE, 0x04);
MV_UAPI_SAME(FALLOC_FL_COLLAPSE_RANGE, 0x08);
MV_UAPI_SAME(FALLOC_FL_ZERO_RANGE, 0x10);
MV_UAPI_SAME(FALLOC_FL_INSERT_RANGE, 0x20);
MV_UAPI_SAME(FALLOC_FL_UNSHARE_RANGE, 0x40);
MV_UAPI_SAME(MFD_CLOEXEC, 0x0001U);
MV_UAPI_SAME(MFD_ALLOW_SEALING, 0x0002U);
MV_UAPI_SAME(MFD_HUGETLB, 0x0004U);
MV_UAPI_SAME(MFD_NOEXEC_SEAL, 0x0008U);
MV_UAPI_SAME(MFD_EXEC, 0x0010U);

#endif
