/* SPDX-License-Identifier: MIT */
/*
 * Hypercalls (what Linux keeps in <linux/kvm_para.h>): the numbers a
 * guest passes to VMCALL and the KVM_E* values it gets back, negated.
 * Included by <memvisor/uapi/kvm.h>; see <memvisor/uapi/system.h> for how
 * it meets the system's header.
 */
#ifndef MEMVISOR_UAPI_KVM_PARA_H
#define MEMVISOR_UAPI_KVM_PARA_H

#include <stdint.h>

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

/*
 * Heki (RFC v2, never merged): a guest kernel asks KVM to enforce its
 * memory permissions in stage 2 and to pin control-register bits.
 *
 * KVM_HC_LOCK_CR_UPDATE(cr, pin_mask, flags): pins bits of CR0 (mask must
 * hold WP) or CR4 (SMEP, SMAP, UMIP, FSGSBASE, CET); flags ==
 * KVM_LOCK_CR_UPDATE_VERSION with cr = pin_mask = 0 returns the version, 1.
 * KVM_HC_PROTECT_MEMORY(list_gpa): applies the page list at list_gpa.
 */
#define KVM_HC_LOCK_CR_UPDATE  13
#define KVM_HC_PROTECT_MEMORY  14

/*
 * memvisor's own hypercalls (beyond the RFC; docs/heki.md), numbered far
 * from mainline's:
 *
 * KVM_HC_HEKI_TEXT_POKE(gpa, len, bytes_lo, bytes_hi): write len (1..16)
 *   bytes, little-endian in bytes_lo then bytes_hi, at gpa. Only at a patch
 *   site the VMM declared (KVM_HEKI_SET_POLICY) with exactly that gpa and
 *   len, and only one of the site's allowed byte sequences: -KVM_EPERM
 *   otherwise; -KVM_EOPNOTSUPP when the VMM declared no sites; -KVM_EINVAL
 *   for len out of range. The write bypasses the page's Heki protection.
 * KVM_HC_HEKI_AUTH_MODULE(gpa, size): KVM hashes (SHA-256) the guest
 *   memory [gpa, gpa + size), page-aligned and contiguous, and when the
 *   digest is on the VMM's allow-list makes those pages READ|EXEC|IMMUTABLE
 *   (the content that was hashed is the content that runs). -KVM_EPERM:
 *   digest not on the list, or a page already IMMUTABLE; -KVM_EOPNOTSUPP:
 *   no allow-list; -KVM_EINVAL: unaligned, empty or too large (more than
 *   KVM_HEKI_MODULE_MAX_PAGES pages); -KVM_EFAULT: memory not backed.
 *   Returns 0.
 */
#define KVM_HC_HEKI_TEXT_POKE    0x4801
#define KVM_HC_HEKI_AUTH_MODULE  0x4802
#define KVM_HEKI_MODULE_MAX_PAGES 4096

#define KVM_LOCK_CR_UPDATE_VERSION (1 << 0)

/* heki_pages.permissions (as KVM memory attributes; see docs/heki.md) */
#define MEM_ATTR_READ      (1ULL << 0)
#define MEM_ATTR_WRITE     (1ULL << 1)
#define MEM_ATTR_EXEC      (1ULL << 2)
#define MEM_ATTR_IMMUTABLE (1ULL << 3)

/* [pa, epa): epa exclusive, both 4 KiB aligned */
struct heki_pages {
	uint64_t pa;
	uint64_t epa;
	uint64_t permissions;
};

/*
 * One guest page: the header, then npages entries (at most
 * HEKI_PAGE_LIST_ENTRIES, as many as fit in the page). next is the guest's virtual address of the
 * next node (for the guest's own use), next_pa its guest-physical address
 * (what KVM follows; 0 ends the list).
 */
struct heki_page_list {
	uint64_t next;
	uint64_t next_pa;
	uint64_t npages;
	struct heki_pages pages[];
};

#define HEKI_PAGE_LIST_ENTRIES ((4096 - sizeof(struct heki_page_list)) / sizeof(struct heki_pages))

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
MV_UAPI_ASSERT(sizeof(struct heki_pages) == 24, "heki_pages");
MV_UAPI_ASSERT(sizeof(struct heki_page_list) == 24, "heki_page_list");
MV_UAPI_ASSERT(HEKI_PAGE_LIST_ENTRIES == 169, "HEKI_PAGE_LIST_ENTRIES");

#endif
