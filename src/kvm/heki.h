/* SPDX-License-Identifier: MIT */
/*
 * Heki, the hypervisor side (heki.c, heki_policy.c; docs/heki.md): the
 * guest kernel's stage-2 permissions kept as memory attributes, pinned
 * control-register bits, the configure/denial exits, and memvisor's
 * authenticated module text and validated text patching.
 *
 * Heki permissions live in the per-gfn attribute store (attr.c) beside
 * KVM_MEMORY_ATTRIBUTE_PRIVATE, in bits of their own: MEM_ATTR_X << 8
 * (MEM_ATTR_IMMUTABLE is 1 << 3, the same bit as PRIVATE, in the guest's
 * uAPI). A gfn without Heki bits is RWX, as in the RFC.
 */
#ifndef MV_KVM_HEKI_H
#define MV_KVM_HEKI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KVM_HEKI_ATTR_SHIFT 8
#define KVM_HEKI_PERMS      (MEM_ATTR_READ | MEM_ATTR_WRITE | MEM_ATTR_EXEC | MEM_ATTR_IMMUTABLE)
#define KVM_HEKI_ATTR_MASK  (KVM_HEKI_PERMS << KVM_HEKI_ATTR_SHIFT)
#define KVM_HEKI_ATTR_IMMUTABLE (MEM_ATTR_IMMUTABLE << KVM_HEKI_ATTR_SHIFT)
#define KVM_HEKI_EXIT_REASONS (KVM_HEKI_EXIT_REASON_CR0 | KVM_HEKI_EXIT_REASON_CR4 | \
			       KVM_HEKI_EXIT_REASON_MEM)
#define KVM_HEKI_MAX_LIST_NODES 65536u   /* more: -KVM_E2BIG (also ends a looping list) */
/*
 * Guest-physical pages without a memslot a VM's lists may protect, in all
 * (a slot added there later is born protected): 4 GiB of GPA, about 8 MiB
 * of attribute store. More: -KVM_E2BIG. Without the cap a guest could make
 * the host keep attributes for its whole 46-bit GPA space.
 */
#define KVM_HEKI_MAX_UNBACKED_PAGES (1ull << 20)

struct kvm_heki_module_hash;
struct kvm_heki_patch_site;

struct kvm_heki {
	/*
	 * heki->lock serialises the guest's Heki hypercalls (protect, lock,
	 * authenticate, poke) and the VMM's KVM_HEKI_SET_POLICY; it orders
	 * after slots_lock and before the srcu read side, mmap_lock and the
	 * invalidation locks (docs/architecture.md).
	 */
	pthread_mutex_t lock;
	uint64_t cr_pinned[2];         /* atomic: CR0, CR4 pin masks; only ever grow */
	uint64_t configure_mask;       /* atomic: KVM_CAP_HEKI_CONFIGURE */
	uint64_t denial_mask;          /* atomic: KVM_CAP_HEKI_DENIAL */
	bool locked;                   /* atomic: the guest's first PROTECT_MEMORY succeeded */
	/* under lock */
	struct kvm_heki_module_hash *hashes;
	uint32_t nhashes;
	bool hashes_set;
	struct kvm_heki_patch_site *sites;
	uint32_t nsites;
	bool sites_set;
	uint64_t unbacked_pages;       /* pages protected with no memslot, ever */
	/* atomic statistics */
	uint64_t nr_protect_calls, nr_denials, nr_cr_denials, nr_exec_forced, nr_pokes,
		 nr_pokes_refused, nr_modules_auth, nr_modules_refused;
};

struct kvm;
struct kvm_attr_runs;
struct kvm_vcpu;
struct mv_guest;
struct hw_fault;

int kvm_heki_init(struct kvm *kvm);
void kvm_heki_destroy(struct kvm *kvm);

/* The guest's MEM_ATTR_* for a gfn from its attribute value; 0: none (RWX). */
static inline uint64_t kvm_heki_perms(uint64_t attr)
{
	return (attr >> KVM_HEKI_ATTR_SHIFT) & KVM_HEKI_PERMS;
}

/* Hypercalls 13, 14 and memvisor's own; -KVM_ENOSYS for any other @nr. */
long kvm_heki_hypercall(struct mv_guest *g, uint64_t nr, const uint64_t a[4]);
bool kvm_heki_is_hypercall(uint64_t nr);

/*
 * kvm_heki_cr_check(): a guest write of @value to CR@cr (0 or 4). 0 when it
 * keeps every pinned bit; otherwise the VMM hears of it (denial exit) and
 * the guest gets #GP: -EFAULT.
 */
long kvm_heki_cr_check(struct mv_guest *g, int cr, uint64_t value);

/*
 * The stage-2 fault's view (mmu.c): may the access in @qual reach a gfn
 * with attribute value @attr? When it may, *r / *w / *x say what the leaf
 * may grant (ANDed with what the backing allows).
 */
bool kvm_heki_s2_allows(const struct kvm *kvm, uint64_t attr, uint64_t qual, bool *r, bool *w,
			bool *x);

/* A denied access (guest.c): the optional exit, then #PF. Returns -EFAULT. */
long kvm_heki_deny(struct mv_guest *g, const struct hw_fault *f);

/* Any IMMUTABLE page in gfns [start, end)? (memslot and attribute guards) */
bool kvm_heki_range_immutable(struct kvm *kvm, uint64_t start, uint64_t end);

long kvm_heki_enable_cap(struct kvm *kvm, uint32_t cap, uint64_t mask);
long kvm_heki_check_extension(const struct kvm *kvm, long cap);

/* heki_policy.c */
long kvm_vm_ioctl_heki_set_policy(struct kvm *kvm, uint64_t arg);
long kvm_heki_text_poke(struct mv_guest *g, const uint64_t a[4]);
long kvm_heki_auth_module(struct mv_guest *g, const uint64_t a[4]);
/* Guest-physical copies within one page, bypassing stage 2: 0, -EFAULT, -ENOMEM. */
int kvm_heki_read_gpa(struct kvm *kvm, uint64_t gpa, void *buf, size_t len);
int kvm_heki_write_gpa(struct kvm *kvm, uint64_t gpa, const void *buf, size_t len);
/* A copy's error as a hypercall answers it: -KVM_E2BIG for no memory, else -KVM_EFAULT. */
static inline long kvm_heki_hc_err(int r)
{
	return r == -ENOMEM ? -KVM_E2BIG : r ? -KVM_EFAULT : 0;
}

/* Sets Heki @perms on gfns [start, end) and zaps stage 2 there: 0 or -ENOMEM. */
int kvm_heki_apply(struct kvm *kvm, uint64_t start, uint64_t end, uint64_t perms);
/*
 * An update of several ranges failed half-way: puts every range back as
 * kvm_attr_snapshot saw it, zapping stage 2 over each. Under heki.lock.
 */
void kvm_heki_undo(struct kvm *kvm, const struct kvm_attr_runs *old);

#endif
