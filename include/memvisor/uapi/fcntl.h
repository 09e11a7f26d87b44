/* SPDX-License-Identifier: MIT */
/* open flags, AT_FDCWD, fallocate modes, memfd flags: Linux x86-64 values. */
#ifndef MEMVISOR_UAPI_FCNTL_H
#define MEMVISOR_UAPI_FCNTL_H

#ifndef O_RDONLY
#define O_RDONLY    00
#define O_WRONLY    01
#define O_RDWR      02
#endif
#ifndef O_ACCMODE
#define O_ACCMODE   03
#endif
#ifndef O_CREAT
#define O_CREAT     0100
#define O_EXCL      0200
#define O_NOCTTY    0400
#define O_TRUNC     01000
#define O_APPEND    02000
#define O_NONBLOCK  04000
#endif
#ifndef O_CLOEXEC
#define O_CLOEXEC   02000000
#endif
#ifndef O_DIRECTORY
#define O_DIRECTORY 0200000
#endif
#ifndef O_PATH
#define O_PATH      010000000
#endif

#ifndef AT_FDCWD
#define AT_FDCWD    -100
#endif

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE      0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE     0x02
#endif
#ifndef FALLOC_FL_NO_HIDE_STALE
#define FALLOC_FL_NO_HIDE_STALE  0x04
#endif
#ifndef FALLOC_FL_COLLAPSE_RANGE
#define FALLOC_FL_COLLAPSE_RANGE 0x08
#endif
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE     0x10
#endif
#ifndef FALLOC_FL_INSERT_RANGE
#define FALLOC_FL_INSERT_RANGE   0x20
#endif
#ifndef FALLOC_FL_UNSHARE_RANGE
#define FALLOC_FL_UNSHARE_RANGE  0x40
#endif

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC       0x0001U
#define MFD_ALLOW_SEALING 0x0002U
#define MFD_HUGETLB       0x0004U
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL   0x0008U
#define MFD_EXEC          0x0010U
#endif

#endif
