/* SPDX-License-Identifier: MIT */
/*
 * Heki, the hypervisor side (RFC v2's kvm_heki / heki_protect_memory and
 * kvm_lock_cr_update; no mainline counterpart): the guest kernel hands KVM
 * a list of guest-physical ranges with R/W/X/IMMUTABLE permissions, which
 * stage 2 then enforces, and pins bits of CR0 and CR4. A denied access is
 * reported to the VMM (when it enabled KVM_CAP_HEKI_DENIAL) and reflected
 * to the guest as #PF (memory) or #GP (a CR write). docs/heki.md.
 */
#include <string.h>

#include "kvm/guest.h"
#include "kvm/kvm.h"
#include "lib/alloc.h"
#include "lib/lockdep.h"

#define KVM_HEKI_CR0_PINNABLE (X86_CR0_WP | X86_CR0_PE | X86_CR0_PG)
#define KVM_HEKI_CR4_PINNABLE (X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_UMIP | X86_CR4_FSGSBASE | \
			       X86_CR4_CET)

int kvm_heki_init(struct kvm *kvm)
{
	memset(&kvm->heki, 0, sizeof(kvm->heki));
	return pthread_mutex_init(&kvm->heki.lock, NULL) ? -ENOMEM : 0;
}

void kvm_heki_destroy(struct kvm *kvm)
{
	lib_free(kvm->heki.hashes);
	lib_free(kvm->heki.sites);
	pthread_mutex_destroy(&kvm->heki.lock);
}

static void kvm_heki_stat(uint64_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

bool kvm_heki_range_immutable(struct kvm *kvm, uint64_t start, uint64_t end)
{
	return start < end &&
	       !kvm_attr_range_is(kvm, start, end, KVM_HEKI_ATTR_IMMUTABLE, 0);
}

/* Sets the Heki bits of [start, end), keeping PRIVATE, and drops stage 2 there. */
int kvm_heki_apply(struct kvm *kvm, uint64_t start, uint64_t end, uint64_t perms)
{
	int ret;

	kvm_mmu_invalidate_begin(kvm, start, end);
	ret = kvm_attr_update_range(kvm, start, end, KVM_HEKI_ATTR_MASK,
				    (perms & KVM_HEKI_PERMS) << KVM_HEKI_ATTR_SHIFT);
	kvm_mmu_invalidate_end(kvm);
	return ret;
}

/* ---- exits ---- */

static bool kvm_heki_wants(uint64_t *mask, uint64_t reason)
{
	return __atomic_load_n(mask, __ATOMIC_ACQUIRE) & reason;
}

/* KVM_EXIT_HEKI_CONFIGURE; the next KVM_RUN resumes after the hypercall. */
static void kvm_heki_exit_configure(struct mv_guest *g, uint64_t reason, uint64_t val,
				    uint64_t npages)
{
	struct kvm_run *run = kvm_guest_vcpu(g)->run;

	run->exit_reason = KVM_EXIT_HEKI_CONFIGURE;
	memset(&run->heki_configure, 0, sizeof(run->heki_configure));
	run->heki_configure.reason = reason;
	run->heki_configure.cr_pinned = val;
	run->heki_configure.npages = npages;
	kvm_guest_exit_for_completion(g);
}

static void kvm_heki_exit_denial(struct mv_guest *g, uint64_t reason, uint64_t val,
				 uint64_t access, uint64_t perms)
{
	struct kvm_run *run = kvm_guest_vcpu(g)->run;

	run->exit_reason = KVM_EXIT_HEKI_DENIAL;
	memset(&run->heki_denial, 0, sizeof(run->heki_denial));
	run->heki_denial.reason = reason;
	run->heki_denial.cr_value = val;
	run->heki_denial.access = access;
	run->heki_denial.permissions = perms;
	kvm_guest_exit_for_completion(g);
}

long kvm_heki_enable_cap(struct kvm *kvm, uint32_t cap, uint64_t mask)
{
	if (mask & ~KVM_HEKI_EXIT_REASONS)
		return -EINVAL;
	__atomic_store_n(cap == KVM_CAP_HEKI_CONFIGURE ? &kvm->heki.configure_mask
						       : &kvm->heki.denial_mask,
			 mask, __ATOMIC_RELEASE);
	return 0;
}

long kvm_heki_check_extension(const struct kvm *kvm, long cap)
{
	(void)kvm;
	switch (cap) {
	case KVM_CAP_HEKI_CONFIGURE:
	case KVM_CAP_HEKI_DENIAL:
		return (long)KVM_HEKI_EXIT_REASONS;
	case KVM_CAP_HEKI_POLICY:
		return 1;
	default:
		return 0;
	}
}

/* ---- KVM_HC_LOCK_CR_UPDATE ---- */

static uint64_t kvm_heki_cr4_supported(const struct hw_machine *m)
{
	uint64_t ok = X86_CR4_UMIP | X86_CR4_FSGSBASE;

	ok |= hw_has(m, MV_FEAT_SMEP) ? X86_CR4_SMEP : 0;
	ok |= hw_has(m, MV_FEAT_SMAP) ? X86_CR4_SMAP : 0;
	ok |= hw_has(m, MV_FEAT_SHSTK) ? X86_CR4_CET : 0;
	return ok;
}

/*
 * kvm_lock_cr_update(cr, pin, flags): a version query, or more pinned bits.
 * Pins only grow; a bit the machine lacks is dropped from a CR4 mask.
 */
static long kvm_heki_lock_cr_update(struct mv_guest *g, const uint64_t a[4])
{
	struct kvm *kvm = kvm_guest_vcpu(g)->kvm;
	uint64_t cr = a[0], pin = a[1], flags = a[2], now;
	int i;

	if (flags == KVM_LOCK_CR_UPDATE_VERSION)
		return (cr || pin) ? -KVM_EINVAL : 1;
	if (flags || !pin || cr > UINT32_MAX)
		return -KVM_EINVAL;
	if (cr == 0) {
		if (!(pin & X86_CR0_WP) || (pin & ~KVM_HEKI_CR0_PINNABLE))
			return -KVM_EINVAL;
		i = 0;
	} else if (cr == 4) {
		if (pin & ~KVM_HEKI_CR4_PINNABLE)
			return -KVM_EINVAL;
		pin &= kvm_heki_cr4_supported(kvm->hw);
		i = 1;
	} else {
		return -KVM_EINVAL;
	}
	now = __atomic_or_fetch(&kvm->heki.cr_pinned[i], pin, __ATOMIC_ACQ_REL);
	if (kvm_heki_wants(&kvm->heki.configure_mask,
			   i ? KVM_HEKI_EXIT_REASON_CR4 : KVM_HEKI_EXIT_REASON_CR0))
		kvm_heki_exit_configure(g, i ? KVM_HEKI_EXIT_REASON_CR4 : KVM_HEKI_EXIT_REASON_CR0,
					now, 0);
	return 0;
}

long kvm_heki_cr_check(struct mv_guest *g, int cr, uint64_t value)
{
	struct kvm_vcpu *vcpu = kvm_guest_vcpu(g);
	struct kvm *kvm = vcpu->kvm;
	int i = cr == 4;
	uint64_t pinned = __atomic_load_n(&kvm->heki.cr_pinned[i], __ATOMIC_ACQUIRE);
	uint64_t old = i ? vcpu->cpu.cr4 : vcpu->cpu.cr0;
	uint64_t reason = i ? KVM_HEKI_EXIT_REASON_CR4 : KVM_HEKI_EXIT_REASON_CR0;

	if (!(old & pinned & ~value))
		return 0;
	kvm_heki_stat(&kvm->heki.nr_cr_denials);
	if (kvm_heki_wants(&kvm->heki.denial_mask, reason))
		kvm_heki_exit_denial(g, reason, value, 0, 0);
	return kvm_guest_raise(g, X86_VEC_GP, 0, 0);
}

/* ---- stage 2 ---- */

bool kvm_heki_s2_allows(const struct kvm *kvm, uint64_t attr, uint64_t qual, bool *r, bool *w,
			bool *x)
{
	uint64_t perms = kvm_heki_perms(attr);
	bool mbec = hw_has(kvm->hw, MV_FEAT_MBEC);
	bool user_fetch = mbec && (qual & EPT_QUAL_USER);

	*r = *w = *x = true;
	if (!perms)
		return true;
	/* EPT cannot map write-only: WRITE implies READ in stage 2 */
	*r = perms & (MEM_ATTR_READ | MEM_ATTR_WRITE);
	*w = perms & MEM_ATTR_WRITE;
	/* Heki restricts the kernel's execution: with MBEC, EPT_X is supervisor-only */
	*x = !mbec || (perms & MEM_ATTR_EXEC);
	if (qual & EPT_QUAL_FETCH)
		return *x || user_fetch;
	if (qual & EPT_QUAL_WRITE)
		return *w;
	return *r;
}

long kvm_heki_deny(struct mv_guest *g, const struct hw_fault *f)
{
	struct kvm_vcpu *vcpu = kvm_guest_vcpu(g);
	struct kvm *kvm = vcpu->kvm;
	uint64_t q = f->qualification;
	uint64_t access = (q & EPT_QUAL_FETCH) ? MEM_ATTR_EXEC
			: (q & EPT_QUAL_WRITE) ? MEM_ATTR_WRITE : MEM_ATTR_READ;
	uint64_t ec = X86_PF_P;

	kvm_heki_stat(&kvm->heki.nr_denials);
	if (kvm_heki_wants(&kvm->heki.denial_mask, KVM_HEKI_EXIT_REASON_MEM))
		kvm_heki_exit_denial(g, KVM_HEKI_EXIT_REASON_MEM, f->addr, access,
				     kvm_heki_perms(kvm_attr_get(kvm, f->addr >> HW_PAGE_SHIFT)));
	ec |= access == MEM_ATTR_WRITE ? X86_PF_W : 0;
	ec |= access == MEM_ATTR_EXEC ? X86_PF_I : 0;
	ec |= vcpu->cpu.cpl == 3 ? X86_PF_U : 0;
	vcpu->cpu.cr2 = f->gla;
	return kvm_guest_raise(g, X86_VEC_PF, ec, f->gla);
}

/* ---- KVM_HC_PROTECT_MEMORY ---- */

struct kvm_heki_req {
	struct heki_pages *e;
	size_t n, cap;
	uint64_t unbacked;     /* pages of the entries no memslot covers */
};

static int kvm_heki_req_add(struct kvm_heki_req *q, const struct heki_pages *p)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : HEKI_PAGE_LIST_ENTRIES;
		struct heki_pages *e = lib_calloc(cap, sizeof(*e));

		if (!e)
			return -KVM_E2BIG;
		if (q->n)
			memcpy(e, q->e, q->n * sizeof(*e));
		lib_free(q->e);
		q->e = e;
		q->cap = cap;
	}
	q->e[q->n++] = *p;
	return 0;
}

/* The pages of [start, end) no memslot covers. */
static uint64_t kvm_heki_unbacked(struct kvm *kvm, uint64_t start, uint64_t end)
{
	int idx = kvm_srcu_read_lock(&kvm->srcu);
	struct kvm_memslots *ms = kvm_memslots_get(kvm);
	uint64_t missing = 0;

	for (unsigned int i = 0; i < ms->nr; i++) {
		const struct kvm_memory_slot *slot = ms->slots[i];
		uint64_t a = slot->base_gfn > start ? slot->base_gfn : start;
		uint64_t b = slot->base_gfn + slot->npages < end ? slot->base_gfn + slot->npages : end;

		if (a < b)
			missing += b - a;
	}
	kvm_srcu_read_unlock(&kvm->srcu, idx);
	return (end - start) - missing;
}

/* One entry's checks (heki_protect_memory's order: shape, then immutability). */
static long kvm_heki_check_entry(struct kvm *kvm, const struct heki_pages *p)
{
	if ((p->pa | p->epa) & (K_PAGE_SIZE - 1) || p->epa <= p->pa)
		return -KVM_EINVAL;
	if (!p->permissions || (p->permissions & ~KVM_HEKI_PERMS))
		return -KVM_EINVAL;
	if ((p->epa >> HW_PAGE_SHIFT) - 1 > KVM_MMU_MAX_GFN)
		return -KVM_EINVAL;
	if (kvm_heki_range_immutable(kvm, p->pa >> HW_PAGE_SHIFT, p->epa >> HW_PAGE_SHIFT))
		return -KVM_EPERM;
	return 0;
}

/*
 * After the guest locked, with a module allow-list, EXEC comes only from
 * KVM_HC_HEKI_AUTH_MODULE: an entry may keep EXEC where a page has it (a
 * page without Heki bits is RWX), never add it to a page protected without.
 */
static bool kvm_heki_adds_exec(struct kvm *kvm, const struct heki_pages *p)
{
	lockdep_assert_held(&kvm->heki.lock);   /* hashes_set */
	if (!(p->permissions & MEM_ATTR_EXEC) || !kvm->heki.hashes_set ||
	    !__atomic_load_n(&kvm->heki.locked, __ATOMIC_ACQUIRE))
		return false;
	for (uint64_t gfn = p->pa >> HW_PAGE_SHIFT; gfn < p->epa >> HW_PAGE_SHIFT; gfn++) {
		uint64_t perms = kvm_heki_perms(kvm_attr_get(kvm, gfn));

		if (perms && !(perms & MEM_ATTR_EXEC))
			return true;
	}
	return false;
}

/*
 * Reads and checks the whole list first, one node (one guest page) at a
 * time: a refused list changes nothing.
 */
static long kvm_heki_read_list(struct kvm *kvm, uint64_t gpa, struct kvm_heki_req *q)
{
	union {
		struct heki_page_list l;
		uint8_t page[K_PAGE_SIZE];
	} *node = lib_malloc(sizeof(*node));
	unsigned int nodes = 0;
	long r = 0;

	if (!node)
		return -KVM_E2BIG;
	while (gpa && !r) {
		if (++nodes > KVM_HEKI_MAX_LIST_NODES) {
			r = -KVM_E2BIG;
			break;
		}
		if (gpa & (K_PAGE_SIZE - 1)) {
			r = -KVM_EINVAL;   /* a node is one guest page */
			break;
		}
		r = kvm_heki_hc_err(kvm_heki_read_gpa(kvm, gpa, node->page, K_PAGE_SIZE));
		if (!r && node->l.npages > HEKI_PAGE_LIST_ENTRIES)
			r = -KVM_EINVAL;
		for (uint64_t i = 0; !r && i < node->l.npages; i++) {
			const struct heki_pages *p = &node->l.pages[i];

			r = kvm_heki_check_entry(kvm, p);
			if (!r) {
				q->unbacked += kvm_heki_unbacked(kvm, p->pa >> HW_PAGE_SHIFT,
								 p->epa >> HW_PAGE_SHIFT);
				if (kvm->heki.unbacked_pages + q->unbacked > KVM_HEKI_MAX_UNBACKED_PAGES)
					r = -KVM_E2BIG;
			}
			if (!r && kvm_heki_adds_exec(kvm, p))
				r = -KVM_EPERM;
			if (!r)
				r = kvm_heki_req_add(q, p);
		}
		gpa = node->l.next_pa;
	}
	lib_free(node);
	return r;
}

void kvm_heki_undo(struct kvm *kvm, const struct kvm_attr_runs *old)
{
	lockdep_assert_held(&kvm->heki.lock);   /* the spares kvm_attr_restore draws on */
	for (size_t i = 0; i < old->n; i++)
		kvm_mmu_invalidate_begin(kvm, old->run[i].start, old->run[i].end);
	kvm_attr_restore(kvm, old);
	for (size_t i = 0; i < old->n; i++)
		kvm_mmu_invalidate_end(kvm);
}

static long kvm_heki_protect_memory(struct mv_guest *g, const uint64_t a[4])
{
	struct kvm *kvm = kvm_guest_vcpu(g)->kvm;
	bool mbec = hw_has(kvm->hw, MV_FEAT_MBEC);
	struct kvm_heki_req q = { .e = NULL };
	struct kvm_attr_runs old = { .run = NULL };
	uint64_t npages = 0;
	long r;

	kvm_heki_stat(&kvm->heki.nr_protect_calls);
	pthread_mutex_lock(&kvm->heki.lock);
	r = kvm_heki_read_list(kvm, a[0], &q);
	/* what the ranges hold now, so that a failure below can put it back */
	for (size_t i = 0; !r && i < q.n; i++)
		if (kvm_attr_snapshot(kvm, q.e[i].pa >> HW_PAGE_SHIFT, q.e[i].epa >> HW_PAGE_SHIFT,
				      &old))
			r = -KVM_E2BIG;
	for (size_t i = 0; !r && i < q.n; i++) {
		uint64_t perms = q.e[i].permissions;

		if (!mbec && !(perms & MEM_ATTR_EXEC)) {
			/* the RFC warns: without MBEC, EPT_X cannot tell kernel from user */
			perms |= MEM_ATTR_EXEC;
			kvm_heki_stat(&kvm->heki.nr_exec_forced);
		}
		if (kvm_heki_apply(kvm, q.e[i].pa >> HW_PAGE_SHIFT, q.e[i].epa >> HW_PAGE_SHIFT,
				   perms)) {
			r = -KVM_E2BIG;
			kvm_heki_undo(kvm, &old);
		}
		npages += (q.e[i].epa - q.e[i].pa) >> HW_PAGE_SHIFT;
	}
	if (!r) {
		kvm->heki.unbacked_pages += q.unbacked;
		__atomic_store_n(&kvm->heki.locked, true, __ATOMIC_RELEASE);
	}
	kvm_attr_snapshot_release(kvm, &old);
	pthread_mutex_unlock(&kvm->heki.lock);
	lib_free(q.e);
	if (!r && kvm_heki_wants(&kvm->heki.configure_mask, KVM_HEKI_EXIT_REASON_MEM))
		kvm_heki_exit_configure(g, KVM_HEKI_EXIT_REASON_MEM, a[0], npages);
	return r;
}

bool kvm_heki_is_hypercall(uint64_t nr)
{
	return nr == KVM_HC_LOCK_CR_UPDATE || nr == KVM_HC_PROTECT_MEMORY ||
	       nr == KVM_HC_HEKI_TEXT_POKE || nr == KVM_HC_HEKI_AUTH_MODULE;
}

long kvm_heki_hypercall(struct mv_guest *g, uint64_t nr, const uint64_t a[4])
{
	switch (nr) {
	case KVM_HC_LOCK_CR_UPDATE:
		return kvm_heki_lock_cr_update(g, a);
	case KVM_HC_PROTECT_MEMORY:
		return kvm_heki_protect_memory(g, a);
	case KVM_HC_HEKI_TEXT_POKE:
		return kvm_heki_text_poke(g, a);
	case KVM_HC_HEKI_AUTH_MODULE:
		return kvm_heki_auth_module(g, a);
	default:
		return -KVM_ENOSYS;
	}
}
