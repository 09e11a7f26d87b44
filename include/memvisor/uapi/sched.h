/* SPDX-License-Identifier: MIT */
/*
 * clone flags (Linux values). The C library's <sched.h> comes first when
 * there is one; this header adds what it left out (it shows them only to
 * _GNU_SOURCE programs) and checks the rest. See <memvisor/uapi/system.h>.
 */
#ifndef MEMVISOR_UAPI_SCHED_H
#define MEMVISOR_UAPI_SCHED_H

#include <memvisor/uapi/system.h>

#if MV_UAPI_USE_SYSTEM
#if __has_include(<sched.h>)
#include <sched.h>
#endif
#endif

#ifndef CSIGNAL
#define CSIGNAL 0x000000ff
#endif
#ifndef CLONE_VM
#define CLONE_VM 0x00000100
#endif
#ifndef CLONE_FS
#define CLONE_FS 0x00000200
#endif
#ifndef CLONE_FILES
#define CLONE_FILES 0x00000400
#endif
#ifndef CLONE_SIGHAND
#define CLONE_SIGHAND 0x00000800
#endif
#ifndef CLONE_VFORK
#define CLONE_VFORK 0x00004000
#endif
#ifndef CLONE_THREAD
#define CLONE_THREAD 0x00010000
#endif

/* ---- memvisor's numbers; the system's, if it gave them, must agree ---- */
MV_UAPI_SAME(CSIGNAL, 0x000000ff);
MV_UAPI_SAME(CLONE_VM, 0x00000100);
MV_UAPI_SAME(CLONE_FS, 0x00000200);
MV_UAPI_SAME(CLONE_FILES, 0x00000400);
MV_UAPI_SAME(CLONE_SIGHAND, 0x00000800);
MV_UAPI_SAME(CLONE_VFORK, 0x00004000);
MV_UAPI_SAME(CLONE_THREAD, 0x00010000);

#endif
