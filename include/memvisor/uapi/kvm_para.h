/* SPDX-License-Identifier: MIT */
/*
 * Hypercalls (what Linux keeps in <linux/kvm_para.h>): the numbers a
 * guest passes to VMCALL and the KVM_E* values it gets back, negated.
 * Included by <memvisor/uapi/kvm.h>; see <memvisor/uapi/system.h> for how
 * it meets the system's header.
 */
#ifndef MEMVISOR_UAPI_KVM_PARA_H
#define MEMVISOR_UAPI_KVM_PARA_H

#include <memvisor/uapi/system.h>

#if MV_UAPI_USE_SYSTEM_KVM
#if __has_include(<linux/kvm_para.h>)
#include <errno.h>   /* the system spells several KVM_E* as errno names */
#include <linux/kvm_para.h>
#endif
#endif

/* hypercall results (negated) */
#ifndef KVM_ENOSYS
#define KVM_ENOSYS     1000
#endif
#ifndef KVM_EFAULT
#define KVM_EFAULT     14
#endif
#ifndef KVM_EINVAL
#define KVM_EINVAL     22
#endif
#ifndef KVM_E2BIG
#define KVM_E2BIG      7
#endif
#ifndef KVM_EPERM
#define KVM_EPERM      1
#endif
#ifndef KVM_EOPNOTSUPP
#define KVM_EOPNOTSUPP 95
#endif

/* hypercall numbers */
#ifndef KVM_HC_VAPIC_POLL_IRQ
#define KVM_HC_VAPIC_POLL_IRQ       1
#endif
#ifndef KVM_HC_MMU_OP
#define KVM_HC_MMU_OP               2
#endif
#ifndef KVM_HC_FEATURES
#define KVM_HC_FEATURES             3
#endif
#ifndef KVM_HC_PPC_MAP_MAGIC_PAGE
#define KVM_HC_PPC_MAP_MAGIC_PAGE   4
#endif
#ifndef KVM_HC_KICK_CPU
#define KVM_HC_KICK_CPU             5
#endif
#ifndef KVM_HC_MIPS_GET_CLOCK_FREQ
#define KVM_HC_MIPS_GET_CLOCK_FREQ  6
#endif
#ifndef KVM_HC_MIPS_EXIT_VM
#define KVM_HC_MIPS_EXIT_VM         7
#endif
#ifndef KVM_HC_MIPS_CONSOLE_OUTPUT
#define KVM_HC_MIPS_CONSOLE_OUTPUT  8
#endif
#ifndef KVM_HC_CLOCK_PAIRING
#define KVM_HC_CLOCK_PAIRING        9
#endif
#ifndef KVM_HC_SEND_IPI
#define KVM_HC_SEND_IPI             10
#endif
#ifndef KVM_HC_SCHED_YIELD
#define KVM_HC_SCHED_YIELD          11
#endif
#ifndef KVM_HC_MAP_GPA_RANGE
#define KVM_HC_MAP_GPA_RANGE        12
#endif

/* ---- memvisor's numbers; the system's, if it gave them, must agree ---- */
MV_UAPI_SAME(KVM_ENOSYS, 1000);
MV_UAPI_SAME(KVM_EFAULT, 14);
MV_UAPI_SAME(KVM_EINVAL, 22);
MV_UAPI_SAME(KVM_E2BIG, 7);
MV_UAPI_SAME(KVM_EPERM, 1);
MV_UAPI_SAME(KVM_EOPNOTSUPP, 95);
MV_UAPI_SAME(KVM_HC_VAPIC_POLL_IRQ, 1);
MV_UAPI_SAME(KVM_HC_MMU_OP, 2);
MV_UAPI_SAME(KVM_HC_FEATURES, 3);
MV_UAPI_SAME(KVM_HC_PPC_MAP_MAGIC_PAGE, 4);
MV_UAPI_SAME(KVM_HC_KICK_CPU, 5);
MV_UAPI_SAME(KVM_HC_MIPS_GET_CLOCK_FREQ, 6);
MV_UAPI_SAME(KVM_HC_MIPS_EXIT_VM, 7);
MV_UAPI_SAME(KVM_HC_MIPS_CONSOLE_OUTPUT, 8);
MV_UAPI_SAME(KVM_HC_CLOCK_PAIRING, 9);
MV_UAPI_SAME(KVM_HC_SEND_IPI, 10);
MV_UAPI_SAME(KVM_HC_SCHED_YIELD, 11);
MV_UAPI_SAME(KVM_HC_MAP_GPA_RANGE, 12);

#endif
