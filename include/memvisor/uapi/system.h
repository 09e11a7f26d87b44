/* SPDX-License-Identifier: MIT */
/*
 * How memvisor's uAPI headers meet the system's.
 *
 * A VMM ported to memvisor keeps including <linux/kvm.h>, <sys/mman.h>,
 * <signal.h> and <fcntl.h>, before or after <memvisor/memvisor.h>. So that
 * either order compiles and means the same, each memvisor uAPI header
 * first includes the system header that owns its names (when the system
 * has one; a second #include of it is then a no-op), and afterwards
 * defines only what that header left out: every macro under its own
 * #ifndef, every structure under a guard that tells whether the system
 * defined it. Whatever the system supplied is then checked against
 * memvisor's numbers and layouts with a static assertion, so a system
 * header that disagrees with memvisor is a compile error, never a silent
 * difference. Names the system lacks (newer KVM interfaces, memvisor's own
 * constants) stay memvisor's.
 *
 * The KVM headers are used only on x86-64 hosts: memvisor models x86 KVM,
 * and another architecture's <asm/kvm.h> describes other registers.
 *
 * Define MV_UAPI_STANDALONE before the first memvisor include to get
 * memvisor's own definitions only, with no system header pulled in; the
 * system's <linux/kvm.h> (and the C library's signal constants) can then
 * no longer be included after it.
 */
#ifndef MEMVISOR_UAPI_SYSTEM_H
#define MEMVISOR_UAPI_SYSTEM_H

/* 1: include the system's headers where they exist (needs __has_include). */
#if !defined(MV_UAPI_STANDALONE) && defined(__has_include)
#define MV_UAPI_USE_SYSTEM 1
#else
#define MV_UAPI_USE_SYSTEM 0
#endif

#if MV_UAPI_USE_SYSTEM && defined(__x86_64__)
#define MV_UAPI_USE_SYSTEM_KVM 1
#else
#define MV_UAPI_USE_SYSTEM_KVM 0
#endif

#ifdef __cplusplus
#define MV_UAPI_ASSERT(cond, what) static_assert(cond, what)
#else
#define MV_UAPI_ASSERT(cond, what) _Static_assert(cond, what)
#endif

/*
 * MV_UAPI_SAME(NAME, value): NAME, whoever defined it, has memvisor's value.
 * The message names the constant, so a mismatch points at it.
 */
#define MV_UAPI_SAME(name, value) \
	MV_UAPI_ASSERT((name) == (value), "memvisor and the system disagree on " #name)

#endif
