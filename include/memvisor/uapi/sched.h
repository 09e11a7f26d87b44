/* SPDX-License-Identifier: MIT */
/* clone flags (Linux values). */
#ifndef MEMVISOR_UAPI_SCHED_H
#define MEMVISOR_UAPI_SCHED_H

#ifndef CLONE_VM
#define CSIGNAL       0x000000ff
#define CLONE_VM      0x00000100
#define CLONE_FS      0x00000200
#define CLONE_FILES   0x00000400
#define CLONE_SIGHAND 0x00000800
#define CLONE_VFORK   0x00004000
#define CLONE_THREAD  0x00010000
#endif

#endif
