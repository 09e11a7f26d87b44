/* SPDX-License-Identifier: MIT */
/*
 * The VM state a snapshot needs and mainline KVM has no uAPI for
 * (<memvisor/uapi/kvm_snapshot.h>, docs/snapshot.md): Heki state out of
 * and into a VM, and private pages exported for transport and imported,
 * as SEV's SEND/RECEIVE_UPDATE_DATA and TDX's TDH.EXPORT/IMPORT.MEM do.
 *
 * The restore side is served only before the VM first ran: kvm->has_run
 * is set by the first KVM_RUN under kvm->lock, and every restore ioctl
 * checks it under kvm->lock and holds that lock while it works, so none
 * can overlap a first run. Lock order: kvm->lock, heki.lock, then what
 * kvm_heki_apply() takes (docs/architecture.md).
 *
 * The transport protection is a model: a keystream of SHA-256 blocks over
 * (platform key, gpa, block) XORed into the page, and SHA-256 over (key,
 * gpa, ciphertext) as its MAC. The platform key is memvisor's constant,
 * standing for the key two real platforms agree on (SEV's transport
 * encryption key, TDX's migration session key); the VMM never handles it.
 */
#include <errno.h>
#include <string.h>

#include "kvm/kvm.h"
#include "hw/mte.h"
#include "kvm/mte.h"
#include "lib/alloc.h"
#include "lib/sha256.h"

static const char kvm_transport_label[] = "memvisor platform transport key v1";

void kvm_snapshot_note_run(struct kvm *kvm)
{
	if (__atomic_load_n(&kvm->has_run, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&kvm->lock);
	__atomic_store_n(&kvm->has_run, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&kvm->lock);
}

/* ---- Heki state ---- */

static int kvm_heki_runs_append(struct kvm_heki_perm_run *out, uint32_t room, uint32_t *n,
				uint64_t gfn, uint64_t npages, uint64_t perms)
{
	if (*n && out && *n <= room) {
		struct kvm_heki_perm_run *last = &out[*n - 1];

		if (last->perms == perms && last->gfn + last->npages == gfn) {
			last->npages += npages;
			return 0;
		}
	}
	if (*n < room && out)
		out[*n] = (struct kvm_heki_perm_run){ .gfn = gfn, .npages = npages, .perms = perms };
	(*n)++;
	return 0;
}

/* Every memslot's runs of nonzero Heki permissions; *@n how many (more than @room: not all written). */
static int kvm_heki_collect(struct kvm *kvm, struct kvm_heki_perm_run *out, uint32_t room,
			    uint32_t *n)
{
	int idx = kvm_srcu_read_lock(&kvm->srcu);
	struct kvm_memslots *ms = kvm_memslots_get(kvm);
	struct kvm_attr_runs runs = { 0 };
	int r = 0;

	*n = 0;
	for (unsigned int i = 0; i < ms->nr && !r; i++) {
		const struct kvm_memory_slot *s = ms->slots[i];

		runs.n = 0;
		r = kvm_attr_read_runs(kvm, s->base_gfn, s->base_gfn + s->npages, &runs);
		for (size_t j = 0; j < runs.n && !r; j++) {
			uint64_t perms = kvm_heki_perms(runs.run[j].val);

			if (perms)
				kvm_heki_runs_append(out, room, n, runs.run[j].start,
						     runs.run[j].end - runs.run[j].start, perms);
		}
	}
	kvm_srcu_read_unlock(&kvm->srcu, idx);
	lib_free(runs.run);
	return r;
}

static long kvm_vm_ioctl_heki_get_state(struct kvm *kvm, uint64_t arg)
{
	struct kvm_heki_state *argp = (void *)(uintptr_t)arg;
	struct kvm_heki_state st;
	struct kvm_heki_perm_run *out;
	uint32_t n;
	int r;

	if (k_host_range_faults(argp, sizeof(st)))
		return -EFAULT;
	memcpy(&st, argp, sizeof(st));
	if (st.flags || st.reserved[0] || st.reserved[1] || st.reserved[2] || st.reserved[3])
		return -EINVAL;
	out = (void *)(uintptr_t)st.entries;
	if (st.count && k_host_range_faults(out, (size_t)st.count * sizeof(*out)))
		return -EFAULT;
	pthread_mutex_lock(&kvm->heki.lock);
	st.cr_pinned[0] = __atomic_load_n(&kvm->heki.cr_pinned[0], __ATOMIC_ACQUIRE);
	st.cr_pinned[1] = __atomic_load_n(&kvm->heki.cr_pinned[1], __ATOMIC_ACQUIRE);
	st.flags = __atomic_load_n(&kvm->heki.locked, __ATOMIC_ACQUIRE) ? KVM_HEKI_STATE_LOCKED : 0;
	r = kvm_heki_collect(kvm, out, st.count, &n);
	pthread_mutex_unlock(&kvm->heki.lock);
	if (r)
		return r;
	r = n > st.count ? -E2BIG : 0;
	st.count = n;
	memcpy(argp, &st, sizeof(st));
	return r;
}

/* [gfn, end) wholly covered by memslots? */
static bool kvm_gfns_in_slots(struct kvm *kvm, uint64_t gfn, uint64_t end)
{
	int idx = kvm_srcu_read_lock(&kvm->srcu);
	bool in = true;

	while (gfn < end && in) {
		const struct kvm_memory_slot *s = kvm_memslot_find(kvm_memslots_get(kvm), gfn);

		in = s && !(s->flags & KVM_MEMSLOT_INVALID);
		if (in)
			gfn = s->base_gfn + s->npages;
	}
	kvm_srcu_read_unlock(&kvm->srcu, idx);
	return in;
}

/* Known flags and bits, pins KVM_HC_LOCK_CR_UPDATE could have made, runs inside memslots. */
static long kvm_heki_state_check(struct kvm *kvm, const struct kvm_heki_state *st,
				 const struct kvm_heki_perm_run *e)
{
	if (st->flags & ~KVM_HEKI_STATE_LOCKED || st->reserved[0] || st->reserved[1] ||
	    st->reserved[2] || st->reserved[3] || st->count > KVM_HEKI_STATE_MAX_RUNS)
		return -EINVAL;
	if ((st->cr_pinned[0] && !(st->cr_pinned[0] & X86_CR0_WP)) ||
	    (st->cr_pinned[0] & ~(X86_CR0_WP | X86_CR0_PE | X86_CR0_PG)) ||
	    (st->cr_pinned[1] & ~(X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_UMIP | X86_CR4_FSGSBASE |
				   X86_CR4_CET)))
		return -EINVAL;
	/* a pin this machine cannot honour: the VM cannot move here (a CPU feature it lacks) */
	if (((st->cr_pinned[1] & X86_CR4_SMEP) && !hw_has(kvm->hw, MV_FEAT_SMEP)) ||
	    ((st->cr_pinned[1] & X86_CR4_SMAP) && !hw_has(kvm->hw, MV_FEAT_SMAP)) ||
	    ((st->cr_pinned[1] & X86_CR4_CET) && !hw_has(kvm->hw, MV_FEAT_SHSTK)))
		return -EINVAL;
	for (uint32_t i = 0; i < st->count; i++) {
		uint64_t end = e[i].gfn + e[i].npages;

		if (!e[i].npages || end < e[i].gfn || !e[i].perms ||
		    (e[i].perms & ~(uint64_t)KVM_HEKI_PERMS) || !kvm_gfns_in_slots(kvm, e[i].gfn, end))
			return -EINVAL;
	}
	return 0;
}

static long kvm_heki_state_apply(struct kvm *kvm, const struct kvm_heki_state *st,
				 const struct kvm_heki_perm_run *e)
{
	struct kvm_attr_runs old = { 0 };
	long r = 0;

	for (uint32_t i = 0; i < st->count && !r; i++)
		r = kvm_attr_snapshot(kvm, e[i].gfn, e[i].gfn + e[i].npages, &old);
	for (uint32_t i = 0; i < st->count && !r; i++)
		r = kvm_heki_apply(kvm, e[i].gfn, e[i].gfn + e[i].npages, e[i].perms);
	if (r) {
		kvm_heki_undo(kvm, &old);
	} else {
		__atomic_or_fetch(&kvm->heki.cr_pinned[0], st->cr_pinned[0], __ATOMIC_ACQ_REL);
		__atomic_or_fetch(&kvm->heki.cr_pinned[1], st->cr_pinned[1], __ATOMIC_ACQ_REL);
		if (st->flags & KVM_HEKI_STATE_LOCKED)
			__atomic_store_n(&kvm->heki.locked, true, __ATOMIC_RELEASE);
	}
	kvm_attr_snapshot_release(kvm, &old);
	return r;
}

static long kvm_vm_ioctl_heki_set_state(struct kvm *kvm, uint64_t arg)
{
	const struct kvm_heki_state *argp = (const void *)(uintptr_t)arg;
	struct kvm_heki_perm_run *e = NULL;
	struct kvm_heki_state st;
	long r;

	if (k_host_range_faults(argp, sizeof(st)))
		return -EFAULT;
	memcpy(&st, argp, sizeof(st));
	if (st.count > KVM_HEKI_STATE_MAX_RUNS)
		return -EINVAL;
	if (st.count) {
		size_t bytes = (size_t)st.count * sizeof(*e);

		if (k_host_range_faults((const void *)(uintptr_t)st.entries, bytes))
			return -EFAULT;
		e = lib_malloc(bytes);
		if (!e)
			return -ENOMEM;
		memcpy(e, (const void *)(uintptr_t)st.entries, bytes);
	}
	pthread_mutex_lock(&kvm->lock);
	if (__atomic_load_n(&kvm->has_run, __ATOMIC_ACQUIRE)) {
		r = -EBUSY;
	} else {
		pthread_mutex_lock(&kvm->slots_lock);
		pthread_mutex_lock(&kvm->heki.lock);
		r = kvm_heki_state_check(kvm, &st, e);
		if (!r)
			r = kvm_heki_state_apply(kvm, &st, e);
		pthread_mutex_unlock(&kvm->heki.lock);
		pthread_mutex_unlock(&kvm->slots_lock);
	}
	pthread_mutex_unlock(&kvm->lock);
	lib_free(e);
	return r;
}

/* ---- private pages for transport ---- */

static void kvm_transport_key(uint8_t key[SHA256_DIGEST_SIZE])
{
	sha256(kvm_transport_label, sizeof(kvm_transport_label) - 1, key);
}

/* The transport payload: the page, then its tags with KVM_GMEM_TRANSPORT_TAGS. */
static size_t kvm_transport_len(const struct kvm_gmem_transport *tp)
{
	return KVM_GMEM_TRANSPORT_SIZE +
	       ((tp->flags & KVM_GMEM_TRANSPORT_TAGS) ? KVM_GMEM_TRANSPORT_TAG_BYTES : 0);
}

/* XORs the keystream for @gpa into @buf, @len bytes (both directions). */
static void kvm_transport_xor(const uint8_t *key, uint64_t gpa, uint8_t *buf, size_t len)
{
	for (uint32_t blk = 0; blk < len / SHA256_DIGEST_SIZE; blk++) {
		struct sha256_state st;
		uint8_t ks[SHA256_DIGEST_SIZE];

		sha256_init(&st);
		sha256_update(&st, key, SHA256_DIGEST_SIZE);
		sha256_update(&st, &gpa, sizeof(gpa));
		sha256_update(&st, &blk, sizeof(blk));
		sha256_final(&st, ks);
		for (unsigned int i = 0; i < SHA256_DIGEST_SIZE; i++)
			buf[blk * SHA256_DIGEST_SIZE + i] ^= ks[i];
	}
}

static void kvm_transport_mac(const uint8_t *key, uint64_t gpa, const uint8_t *ct, size_t len,
			      uint8_t mac[SHA256_DIGEST_SIZE])
{
	struct sha256_state st;

	sha256_init(&st);
	sha256_update(&st, key, SHA256_DIGEST_SIZE);
	sha256_update(&st, &gpa, sizeof(gpa));
	sha256_update(&st, ct, len);
	sha256_update(&st, key, SHA256_DIGEST_SIZE);
	sha256_final(&st, mac);
}

static long kvm_transport_check(struct kvm *kvm, const struct kvm_gmem_transport *tp)
{
	uint64_t gfn = tp->gpa >> HW_PAGE_SHIFT;

	if ((tp->gpa & (HW_PAGE_SIZE - 1)) || (tp->flags & ~KVM_GMEM_TRANSPORT_TAGS) ||
	    tp->reserved[0] || tp->reserved[1])
		return -EINVAL;
	if ((tp->flags & KVM_GMEM_TRANSPORT_TAGS) && !kvm_has_mte(kvm))
		return -EINVAL;
	if (!kvm_mem_is_private(kvm, gfn))
		return -EINVAL;
	if (k_host_range_faults((const void *)(uintptr_t)tp->data, kvm_transport_len(tp)))
		return -EFAULT;
	return 0;
}

/*
 * The MTE tags of @gfn's private (guest_memfd) page, read into or written
 * from @tags (zeros for a page never tagged), under slots_lock as
 * KVM_ARM_MTE_COPY_TAGS works; a write claims the page's tags as a first
 * map would (hw_mte_try_tagging) and publishes them. 0 or -EFAULT.
 */
static int kvm_transport_tags(struct kvm *kvm, uint64_t gfn, uint8_t *tags, bool write)
{
	const struct kvm_memory_slot *slot;
	unsigned int order;
	hw_pfn_t pfn;
	int r = -EFAULT;

	pthread_mutex_lock(&kvm->slots_lock);
	slot = kvm_memslot_find(kvm->memslots, gfn);
	if (slot && slot->gmem && !kvm_gmem_get_pfn(slot, gfn, &pfn, &order)) {
		if (write) {
			hw_mte_try_tagging(kvm->hw, pfn);
			hw_mte_write_page(kvm->hw, pfn, tags);
			hw_mte_set_tagged(kvm->hw, pfn);
		} else if (hw_mte_page_tagged(kvm->hw, pfn)) {
			hw_mte_read_page(kvm->hw, pfn, tags);
		} else {
			memset(tags, 0, KVM_GMEM_TRANSPORT_TAG_BYTES);
		}
		hw_folio_put(kvm->hw, pfn);
		r = 0;
	}
	pthread_mutex_unlock(&kvm->slots_lock);
	return r;
}

static long kvm_vm_ioctl_gmem_export(struct kvm *kvm, uint64_t arg)
{
	struct kvm_gmem_transport *argp = (void *)(uintptr_t)arg;
	uint8_t key[SHA256_DIGEST_SIZE];
	struct kvm_gmem_transport tp;
	uint8_t *page;
	size_t len;
	long r;

	if (k_host_range_faults(argp, sizeof(tp)))
		return -EFAULT;
	memcpy(&tp, argp, sizeof(tp));
	r = kvm_transport_check(kvm, &tp);
	if (r)
		return r;
	len = kvm_transport_len(&tp);
	page = lib_malloc(len);
	if (!page)
		return -ENOMEM;
	r = kvm_heki_read_gpa(kvm, tp.gpa, page, KVM_GMEM_TRANSPORT_SIZE);
	if (!r && len > KVM_GMEM_TRANSPORT_SIZE)
		r = kvm_transport_tags(kvm, tp.gpa >> HW_PAGE_SHIFT, page + KVM_GMEM_TRANSPORT_SIZE,
				       false);
	if (!r) {
		kvm_transport_key(key);
		kvm_transport_xor(key, tp.gpa, page, len);
		kvm_transport_mac(key, tp.gpa, page, len, tp.mac);
		memcpy((void *)(uintptr_t)tp.data, page, len);
		memcpy(argp, &tp, sizeof(tp));
	}
	lib_free(page);
	return r;
}

static long kvm_vm_ioctl_gmem_import(struct kvm *kvm, uint64_t arg)
{
	const struct kvm_gmem_transport *argp = (const void *)(uintptr_t)arg;
	uint8_t key[SHA256_DIGEST_SIZE], mac[SHA256_DIGEST_SIZE];
	struct kvm_gmem_transport tp;
	uint8_t *page;
	size_t len;
	long r;

	if (k_host_range_faults(argp, sizeof(tp)))
		return -EFAULT;
	memcpy(&tp, argp, sizeof(tp));
	len = kvm_transport_len(&tp);
	page = lib_malloc(len);
	if (!page)
		return -ENOMEM;
	pthread_mutex_lock(&kvm->lock);
	r = __atomic_load_n(&kvm->has_run, __ATOMIC_ACQUIRE) ? -EBUSY : kvm_transport_check(kvm, &tp);
	if (!r) {
		memcpy(page, (const void *)(uintptr_t)tp.data, len);
		kvm_transport_key(key);
		kvm_transport_mac(key, tp.gpa, page, len, mac);
		/* not memcmp's early exit: the time must not say how much matched */
		uint8_t diff = 0;

		for (unsigned int i = 0; i < SHA256_DIGEST_SIZE; i++)
			diff |= mac[i] ^ tp.mac[i];
		if (diff) {
			r = -EBADMSG;
		} else {
			kvm_transport_xor(key, tp.gpa, page, len);
			r = kvm_heki_write_gpa(kvm, tp.gpa, page, KVM_GMEM_TRANSPORT_SIZE);
			if (!r && len > KVM_GMEM_TRANSPORT_SIZE)
				r = kvm_transport_tags(kvm, tp.gpa >> HW_PAGE_SHIFT,
						       page + KVM_GMEM_TRANSPORT_SIZE, true);
		}
	}
	pthread_mutex_unlock(&kvm->lock);
	lib_free(page);
	return r;
}

long kvm_vm_ioctl_snapshot(struct kvm *kvm, unsigned int cmd, uint64_t arg)
{
	switch (cmd) {
	case KVM_HEKI_GET_STATE:
		return kvm_vm_ioctl_heki_get_state(kvm, arg);
	case KVM_HEKI_SET_STATE:
		return kvm_vm_ioctl_heki_set_state(kvm, arg);
	case KVM_GMEM_EXPORT_PAGE:
		return kvm_vm_ioctl_gmem_export(kvm, arg);
	case KVM_GMEM_IMPORT_PAGE:
		return kvm_vm_ioctl_gmem_import(kvm, arg);
	default:
		return -ENOTTY;
	}
}
