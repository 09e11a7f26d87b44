/* SPDX-License-Identifier: MIT */
/*
 * Shadow stacks (CET): map_shadow_stack flags and arch_prctl options, Linux
 * x86-64 values. PROT_SHADOW_STACK is memvisor's own (never merged in
 * Linux); see docs/shadow-stacks.md for the opt-in that gives it meaning.
 *
 * Linux 6.6 and later keep the arch_prctl options in <asm/prctl.h>, which
 * comes first when it exists, and SHADOW_STACK_SET_TOKEN in <asm/mman.h>,
 * which is not pulled in (it may be included after this header: the
 * definition below is spelled as Linux spells it). See
 * <memvisor/uapi/system.h>.
 */
#ifndef MEMVISOR_UAPI_SHSTK_H
#define MEMVISOR_UAPI_SHSTK_H

#include <memvisor/uapi/system.h>

#if MV_UAPI_USE_SYSTEM && defined(__x86_64__)
#if __has_include(<asm/prctl.h>)
#include <asm/prctl.h>
#endif
#endif

/* map_shadow_stack(2) flags */
#ifndef SHADOW_STACK_SET_TOKEN
#define SHADOW_STACK_SET_TOKEN (1ULL << 0)   /* write a restore token at the top */
#endif

/* arch_prctl(2) options for shadow stacks */
#ifndef ARCH_SHSTK_ENABLE
#define ARCH_SHSTK_ENABLE  0x5001
#endif
#ifndef ARCH_SHSTK_DISABLE
#define ARCH_SHSTK_DISABLE 0x5002
#endif
#ifndef ARCH_SHSTK_LOCK
#define ARCH_SHSTK_LOCK    0x5003
#endif
#ifndef ARCH_SHSTK_UNLOCK
#define ARCH_SHSTK_UNLOCK  0x5004
#endif
#ifndef ARCH_SHSTK_STATUS
#define ARCH_SHSTK_STATUS  0x5005
#endif

/* ARCH_SHSTK_* feature bits */
#ifndef ARCH_SHSTK_SHSTK
#define ARCH_SHSTK_SHSTK (1ULL << 0)
#endif
#ifndef ARCH_SHSTK_WRSS
#define ARCH_SHSTK_WRSS  (1ULL << 1)
#endif

/*
 * The reviewer's alternative from the map_shadow_stack thread: mmap with
 * this protection bit makes an anonymous private shadow stack whose top
 * holds a restore token written by the kernel. NOT mainline: it means
 * something only in processes that opted in (mv_task_set_prot_shadow_stack);
 * elsewhere mmap ignores it like any unknown PROT bit, as Linux does.
 */
#ifndef PROT_SHADOW_STACK
#define PROT_SHADOW_STACK 0x40
#endif

/* ---- memvisor's numbers; the system's, if it gave them, must agree ---- */
MV_UAPI_SAME(SHADOW_STACK_SET_TOKEN, 1);
MV_UAPI_SAME(ARCH_SHSTK_ENABLE, 0x5001);
MV_UAPI_SAME(ARCH_SHSTK_DISABLE, 0x5002);
MV_UAPI_SAME(ARCH_SHSTK_LOCK, 0x5003);
MV_UAPI_SAME(ARCH_SHSTK_UNLOCK, 0x5004);
MV_UAPI_SAME(ARCH_SHSTK_STATUS, 0x5005);
MV_UAPI_SAME(ARCH_SHSTK_SHSTK, 1);
MV_UAPI_SAME(ARCH_SHSTK_WRSS, 2);
MV_UAPI_SAME(PROT_SHADOW_STACK, 0x40);

#endif
