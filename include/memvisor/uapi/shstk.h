/* SPDX-License-Identifier: MIT */
/*
 * Shadow stacks (CET): map_shadow_stack flags and arch_prctl options, Linux
 * x86-64 values. PROT_SHADOW_STACK is memvisor's own (never merged in
 * Linux); see docs/shadow-stacks.md for the opt-in that gives it meaning.
 */
#ifndef MEMVISOR_UAPI_SHSTK_H
#define MEMVISOR_UAPI_SHSTK_H

/* map_shadow_stack(2) flags */
#ifndef SHADOW_STACK_SET_TOKEN
#define SHADOW_STACK_SET_TOKEN (1ull << 0)   /* write a restore token at the top */
#endif

/* arch_prctl(2) options for shadow stacks */
#ifndef ARCH_SHSTK_ENABLE
#define ARCH_SHSTK_ENABLE  0x5001
#define ARCH_SHSTK_DISABLE 0x5002
#define ARCH_SHSTK_LOCK    0x5003
#define ARCH_SHSTK_UNLOCK  0x5004
#define ARCH_SHSTK_STATUS  0x5005
#endif

/* ARCH_SHSTK_* feature bits */
#ifndef ARCH_SHSTK_SHSTK
#define ARCH_SHSTK_SHSTK (1ull << 0)
#define ARCH_SHSTK_WRSS  (1ull << 1)
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

#endif
