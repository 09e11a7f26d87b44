/* SPDX-License-Identifier: MIT */
/*
 * Heki (hypervisor-enforced kernel integrity), the VMM's side of the uAPI:
 * capabilities, exits and memvisor's own policy ioctl. The guest's side
 * (hypercall numbers, the page list, MEM_ATTR_*) is in
 * <memvisor/uapi/kvm_para.h>. Heki was never merged: the names follow the
 * RFC (v2), but the RFC's capability and exit numbers collide with
 * mainline's, so every number here is memvisor's own, chosen in ranges
 * mainline does not use (capabilities and exits from 1000 up; mainline
 * reaches 246 and 41). docs/heki.md describes the model.
 * Included by <memvisor/uapi/kvm.h>.
 */
#ifndef MEMVISOR_UAPI_KVM_HEKI_H
#define MEMVISOR_UAPI_KVM_HEKI_H

#include <stddef.h>
#include <stdint.h>

#include <memvisor/uapi/system.h>

/* KVM_ENABLE_CAP on the VM fd, args[0] = a mask of KVM_HEKI_EXIT_REASON_* */
#define KVM_CAP_HEKI_CONFIGURE 1000   /* exit when the guest configures a protection */
#define KVM_CAP_HEKI_DENIAL    1001   /* exit when a protection denies the guest */
#define KVM_CAP_HEKI_POLICY    1002   /* KVM_HEKI_SET_POLICY is served (check only) */

#define KVM_EXIT_HEKI_CONFIGURE 1000
#define KVM_EXIT_HEKI_DENIAL    1001

#define KVM_HEKI_EXIT_REASON_CR0 (1ULL << 0)
#define KVM_HEKI_EXIT_REASON_CR4 (1ULL << 1)
#define KVM_HEKI_EXIT_REASON_MEM (1ULL << 2)   /* memvisor's own: stage-2 permissions */

/*
 * run->heki_configure, after KVM_EXIT_HEKI_CONFIGURE. reason is one
 * KVM_HEKI_EXIT_REASON_*. CR0/CR4: cr_pinned is the CR's whole pin mask
 * after the call. MEM: gpa is the page list the guest passed to
 * KVM_HC_PROTECT_MEMORY and npages the number of pages it changed. The
 * hypercall has already been applied; the next KVM_RUN resumes the guest.
 */
struct kvm_heki_configure_exit {
	uint64_t reason;
	union {
		uint64_t cr_pinned;
		uint64_t gpa;
	};
	uint64_t npages;
};

/*
 * run->heki_denial, after KVM_EXIT_HEKI_DENIAL. CR0/CR4: cr_value is the
 * value the guest tried to load. MEM: gpa the denied guest-physical
 * address, access the MEM_ATTR_READ/WRITE/EXEC bit of the attempted
 * access, permissions the page's MEM_ATTR_* bits. The access has not
 * happened; the next KVM_RUN injects the fault (#GP for a CR, #PF for
 * memory) and the guest goes on from there.
 */
struct kvm_heki_denial_exit {
	uint64_t reason;
	union {
		uint64_t cr_value;
		uint64_t gpa;
	};
	uint64_t access;
	uint64_t permissions;
};

/*
 * KVM_HEKI_SET_POLICY (memvisor's own VM ioctl): what the beyond-the-RFC
 * hypercalls may do. type selects the array at entries (count elements):
 *
 * KVM_HEKI_POLICY_MODULE_HASHES: struct kvm_heki_module_hash[count], the
 *   SHA-256 digests of the module text the guest may execute. Once set
 *   (even to an empty list), a page gains EXEC after the guest's first
 *   KVM_HC_PROTECT_MEMORY (the end of its boot) only through
 *   KVM_HC_HEKI_AUTH_MODULE. The digest covers the module's text padded to
 *   whole 4 KiB pages.
 * KVM_HEKI_POLICY_PATCH_SITES: struct kvm_heki_patch_site[count], the text
 *   locations KVM_HC_HEKI_TEXT_POKE may write and the byte sequences each
 *   may hold (for a jump label: its NOP and its JMP).
 *
 * Each call replaces that list. Until the VMM sets a list, the matching
 * hypercall answers -KVM_EOPNOTSUPP. -EINVAL: unknown type, nonzero
 * flags or reserved, count above KVM_HEKI_POLICY_MAX, a malformed site.
 * -EFAULT: entries unreadable. The VMM is trusted (as in the RFC): it may
 * replace a list at any time; pages already made executable stay so.
 */
#define KVM_HEKI_POLICY_MODULE_HASHES 1
#define KVM_HEKI_POLICY_PATCH_SITES   2
#define KVM_HEKI_POLICY_MAX           4096

struct kvm_heki_policy {
	uint32_t type;
	uint32_t flags;
	uint32_t count;
	uint32_t pad;
	uint64_t entries;    /* user address of the array */
	uint64_t reserved[4];
};

struct kvm_heki_module_hash {
	uint8_t sha256[32];
};

#define KVM_HEKI_PATCH_MAX_LEN   16
#define KVM_HEKI_PATCH_MAX_FORMS 4

struct kvm_heki_patch_site {
	uint64_t gva;        /* the guest's address of the site (informational) */
	uint64_t gpa;        /* where KVM writes; must not cross a page */
	uint32_t len;        /* 1..KVM_HEKI_PATCH_MAX_LEN */
	uint32_t nforms;     /* 1..KVM_HEKI_PATCH_MAX_FORMS */
	uint8_t forms[KVM_HEKI_PATCH_MAX_FORMS][KVM_HEKI_PATCH_MAX_LEN];
};

/* KVMIO is 0xAE; 0xf0 is unused by mainline */
#define KVM_HEKI_SET_POLICY _IOW(0xAE, 0xf0, struct kvm_heki_policy)

/*
 * The Heki members of a struct kvm_run, by value, whichever header defined
 * it: the system's struct kvm_run (system header included first) has no
 * heki_* members, but the same bytes of its exit union. A copy, not a
 * pointer: reading those bytes through another struct type would break
 * strict aliasing.
 */
static inline struct kvm_heki_configure_exit kvm_run_heki_configure(const void *exit_union)
{
	struct kvm_heki_configure_exit e;

	__builtin_memcpy(&e, exit_union, sizeof(e));
	return e;
}

static inline struct kvm_heki_denial_exit kvm_run_heki_denial(const void *exit_union)
{
	struct kvm_heki_denial_exit e;

	__builtin_memcpy(&e, exit_union, sizeof(e));
	return e;
}
#define KVM_RUN_HEKI_CONFIGURE(run) kvm_run_heki_configure(&(run)->hw)
#define KVM_RUN_HEKI_DENIAL(run)    kvm_run_heki_denial(&(run)->hw)

MV_UAPI_ASSERT(sizeof(struct kvm_heki_configure_exit) == 24, "kvm_heki_configure_exit");
MV_UAPI_ASSERT(sizeof(struct kvm_heki_denial_exit) == 32, "kvm_heki_denial_exit");
MV_UAPI_ASSERT(sizeof(struct kvm_heki_policy) == 56, "kvm_heki_policy");
MV_UAPI_ASSERT(sizeof(struct kvm_heki_module_hash) == 32, "kvm_heki_module_hash");
MV_UAPI_ASSERT(sizeof(struct kvm_heki_patch_site) == 88, "kvm_heki_patch_site");
MV_UAPI_ASSERT(offsetof(struct kvm_heki_patch_site, forms) == 24, "kvm_heki_patch_site.forms");

#endif
