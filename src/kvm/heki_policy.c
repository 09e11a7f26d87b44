/* SPDX-License-Identifier: MIT */
/*
 * Heki beyond the RFC (docs/heki.md): the VMM's policy (KVM_HEKI_SET_POLICY:
 * a SHA-256 allow-list of module text, the declared text patch sites),
 * KVM_HC_HEKI_AUTH_MODULE (EXEC for module text whose digest KVM computed
 * and found on the list) and KVM_HC_HEKI_TEXT_POKE (a text write at a
 * declared site, with one of its declared byte sequences, made by KVM so
 * the text never becomes writable). Also KVM's guest-physical copies
 * (kvm_read_guest / kvm_write_guest for one page), which bypass stage 2.
 */
#include <string.h>

#include "hw/ram.h"
#include "kvm/guest.h"
#include "kvm/kvm.h"
#include "lib/alloc.h"
#include "lib/lockdep.h"
#include "lib/sha256.h"

/* ---- guest-physical copies ---- */

/* The page behind @gfn with a reference (__gfn_to_pfn_memslot): 0, -EFAULT, -ENOMEM. */
static int kvm_heki_gfn_to_pfn(struct kvm *kvm, uint64_t gfn, bool write, hw_pfn_t *pfn)
{
	int idx = kvm_srcu_read_lock(&kvm->srcu);
	struct kvm_memory_slot *slot = kvm_memslot_find(kvm_memslots_get(kvm), gfn);
	unsigned int order;
	long r;

	if (!slot || (slot->flags & KVM_MEMSLOT_INVALID) ||
	    (write && (slot->flags & KVM_MEM_READONLY))) {
		r = -EFAULT;
	} else if (kvm_mem_is_private(kvm, gfn) || kvm_memslot_is_gmem_only(slot)) {
		r = slot->gmem ? kvm_gmem_get_pfn(slot, gfn, pfn, &order) : -EFAULT;
	} else {
		uint64_t hva = slot->userspace_addr + ((gfn - slot->base_gfn) << HW_PAGE_SHIFT);

		pthread_rwlock_rdlock(&kvm->mm->mmap_lock);
		r = gup_one_locked(kvm->mm, hva, write ? FOLL_WRITE : 0, pfn);
		pthread_rwlock_unlock(&kvm->mm->mmap_lock);
	}
	kvm_srcu_read_unlock(&kvm->srcu, idx);
	return r == -ENOMEM ? -ENOMEM : r ? -EFAULT : 0;
}

static int kvm_heki_copy_gpa(struct kvm *kvm, uint64_t gpa, void *buf, size_t len, bool write)
{
	uint64_t off = gpa & (K_PAGE_SIZE - 1);
	hw_pfn_t pfn;
	uint8_t *host;
	int r;

	if (!len || off + len > K_PAGE_SIZE)
		return -EFAULT;
	r = kvm_heki_gfn_to_pfn(kvm, gpa >> HW_PAGE_SHIFT, write, &pfn);
	if (r)
		return r;
	host = (uint8_t *)hw_pfn_to_host(kvm->hw, pfn) + off;
	if (write)
		hw_ram_write(host, buf, len);
	else
		hw_ram_read(buf, host, len);
	hw_folio_put(kvm->hw, pfn);
	return 0;
}

int kvm_heki_read_gpa(struct kvm *kvm, uint64_t gpa, void *buf, size_t len)
{
	return kvm_heki_copy_gpa(kvm, gpa, buf, len, false);
}

int kvm_heki_write_gpa(struct kvm *kvm, uint64_t gpa, const void *buf, size_t len)
{
	return kvm_heki_copy_gpa(kvm, gpa, (void *)(uintptr_t)buf, len, true);
}

/* ---- KVM_HEKI_SET_POLICY ---- */

static bool kvm_heki_site_ok(const struct kvm_heki_patch_site *s)
{
	return s->len && s->len <= KVM_HEKI_PATCH_MAX_LEN && s->nforms &&
	       s->nforms <= KVM_HEKI_PATCH_MAX_FORMS &&
	       (s->gpa & (K_PAGE_SIZE - 1)) + s->len <= K_PAGE_SIZE;
}

static long kvm_heki_policy_check(const struct kvm *kvm, const struct kvm_heki_policy *p)
{
	size_t esz;

	if (p->flags || p->pad || p->reserved[0] || p->reserved[1] || p->reserved[2] ||
	    p->reserved[3] || p->count > KVM_HEKI_POLICY_MAX)
		return -EINVAL;
	if (p->type == KVM_HEKI_POLICY_MODULE_HASHES) {
		/* without MBEC stage 2 cannot keep kernel execution off any page */
		if (!hw_has(kvm->hw, MV_FEAT_MBEC))
			return -EOPNOTSUPP;
		esz = sizeof(struct kvm_heki_module_hash);
	} else if (p->type == KVM_HEKI_POLICY_PATCH_SITES) {
		esz = sizeof(struct kvm_heki_patch_site);
	} else {
		return -EINVAL;
	}
	if (p->count && k_host_range_faults((const void *)(uintptr_t)p->entries, p->count * esz))
		return -EFAULT;
	return (long)esz;
}

long kvm_vm_ioctl_heki_set_policy(struct kvm *kvm, uint64_t arg)
{
	const struct kvm_heki_policy *argp = (const void *)(uintptr_t)arg;
	struct kvm_heki_policy p;
	struct kvm_heki *h = &kvm->heki;
	void *copy = NULL;
	long esz;

	if (k_host_range_faults(argp, sizeof(p)))
		return -EFAULT;
	memcpy(&p, argp, sizeof(p));
	esz = kvm_heki_policy_check(kvm, &p);
	if (esz < 0)
		return esz;
	if (p.count) {
		copy = lib_calloc(p.count, (size_t)esz);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, (const void *)(uintptr_t)p.entries, p.count * (size_t)esz);
	}
	if (p.type == KVM_HEKI_POLICY_PATCH_SITES) {
		const struct kvm_heki_patch_site *s = copy;

		for (uint32_t i = 0; i < p.count; i++) {
			if (!kvm_heki_site_ok(&s[i])) {
				lib_free(copy);
				return -EINVAL;
			}
		}
	}
	pthread_mutex_lock(&h->lock);
	if (p.type == KVM_HEKI_POLICY_MODULE_HASHES) {
		lib_free(h->hashes);
		h->hashes = copy;
		h->nhashes = p.count;
		h->hashes_set = true;
	} else {
		lib_free(h->sites);
		h->sites = copy;
		h->nsites = p.count;
		h->sites_set = true;
	}
	pthread_mutex_unlock(&h->lock);
	return 0;
}

/* ---- KVM_HC_HEKI_TEXT_POKE ---- */

/* The declared site at exactly (@gpa, @len), if any. Under heki->lock. */
static const struct kvm_heki_patch_site *kvm_heki_find_site(struct kvm_heki *h,
							    uint64_t gpa, uint64_t len)
{
	lockdep_assert_held(&h->lock);
	for (uint32_t i = 0; i < h->nsites; i++)
		if (h->sites[i].gpa == gpa && h->sites[i].len == len)
			return &h->sites[i];
	return NULL;
}

long kvm_heki_text_poke(struct mv_guest *g, const uint64_t a[4])
{
	struct kvm *kvm = kvm_guest_vcpu(g)->kvm;
	struct kvm_heki *h = &kvm->heki;
	const struct kvm_heki_patch_site *s;
	uint64_t gpa = a[0], len = a[1];
	uint8_t bytes[16];
	long r = -KVM_EPERM;

	for (int i = 0; i < 8; i++) {
		bytes[i] = (uint8_t)(a[2] >> (8 * i));
		bytes[8 + i] = (uint8_t)(a[3] >> (8 * i));
	}
	pthread_mutex_lock(&h->lock);
	if (!h->sites_set) {
		r = -KVM_EOPNOTSUPP;
	} else if (!len || len > KVM_HEKI_PATCH_MAX_LEN) {
		r = -KVM_EINVAL;
	} else if ((s = kvm_heki_find_site(h, gpa, len))) {
		for (uint32_t f = 0; f < s->nforms; f++) {
			if (!memcmp(s->forms[f], bytes, len)) {
				r = kvm_heki_hc_err(kvm_heki_write_gpa(kvm, gpa, bytes, len));
				break;
			}
		}
	}
	pthread_mutex_unlock(&h->lock);
	__atomic_fetch_add(r ? &h->nr_pokes_refused : &h->nr_pokes, 1, __ATOMIC_RELAXED);
	return r;
}

/* ---- KVM_HC_HEKI_AUTH_MODULE ---- */

static long kvm_heki_hash_range(struct kvm *kvm, uint64_t gpa, uint64_t size,
				uint8_t digest[SHA256_DIGEST_SIZE])
{
	struct sha256_state st;
	uint8_t *page = lib_malloc(K_PAGE_SIZE);

	if (!page)
		return -KVM_E2BIG;
	sha256_init(&st);
	for (uint64_t off = 0; off < size; off += K_PAGE_SIZE) {
		int r = kvm_heki_read_gpa(kvm, gpa + off, page, K_PAGE_SIZE);

		if (r) {
			sha256_final(&st, digest);
			lib_free(page);
			return kvm_heki_hc_err(r);
		}
		sha256_update(&st, page, K_PAGE_SIZE);
	}
	sha256_final(&st, digest);
	lib_free(page);
	return 0;
}

static bool kvm_heki_hash_allowed(const struct kvm_heki *h, const uint8_t d[SHA256_DIGEST_SIZE])
{
	for (uint32_t i = 0; i < h->nhashes; i++)
		if (!memcmp(h->hashes[i].sha256, d, SHA256_DIGEST_SIZE))
			return true;
	return false;
}

/*
 * The range first becomes read-only (no vCPU can change it while KVM
 * hashes it), then READ|EXEC|IMMUTABLE when the digest is on the list. A
 * refused module keeps READ only: loaded, never executed.
 */
long kvm_heki_auth_module(struct mv_guest *g, const uint64_t a[4])
{
	struct kvm *kvm = kvm_guest_vcpu(g)->kvm;
	struct kvm_heki *h = &kvm->heki;
	uint64_t gpa = a[0], size = a[1];
	uint64_t start = gpa >> HW_PAGE_SHIFT, end = (gpa + size) >> HW_PAGE_SHIFT;
	uint8_t digest[SHA256_DIGEST_SIZE];
	long r;

	pthread_mutex_lock(&h->lock);
	if (!h->hashes_set)
		r = -KVM_EOPNOTSUPP;
	else if (((gpa | size) & (K_PAGE_SIZE - 1)) || !size ||
		 size / K_PAGE_SIZE > KVM_HEKI_MODULE_MAX_PAGES || end - 1 > KVM_MMU_MAX_GFN)
		r = -KVM_EINVAL;
	else if (kvm_heki_range_immutable(kvm, start, end))
		r = -KVM_EPERM;
	else if (kvm_heki_apply(kvm, start, end, MEM_ATTR_READ))
		r = -KVM_E2BIG;
	else
		r = kvm_heki_hash_range(kvm, gpa, size, digest);
	if (!r && !kvm_heki_hash_allowed(h, digest))
		r = -KVM_EPERM;
	if (!r && kvm_heki_apply(kvm, start, end, MEM_ATTR_READ | MEM_ATTR_EXEC | MEM_ATTR_IMMUTABLE))
		r = -KVM_E2BIG;
	pthread_mutex_unlock(&h->lock);
	__atomic_fetch_add(r ? &h->nr_modules_refused : &h->nr_modules_auth, 1, __ATOMIC_RELAXED);
	return r;
}
