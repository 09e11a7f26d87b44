/* SPDX-License-Identifier: MIT */
/*
 * KVM's side of guest private memory: KVM_CREATE_GUEST_MEMFD, binding a
 * memslot to a guest_memfd range, private pages for the stage-2 fault, the
 * guest_memfd notifier turned into stage-2 invalidations, and
 * KVM_SET_MEMORY_ATTRIBUTES. The file itself is src/kernel/guest_memfd.c.
 *
 * Who pins whom (as KVM): the guest_memfd holds the VM; a binding holds no
 * reference on the file. If the file goes first, its release unlinks the
 * binding and calls kvm_gmem_released(), which zaps the slot's range and
 * forgets the file under gs->lock; the fault path takes a file reference
 * under that lock (gmem_file_tryget), so it never uses a freed file.
 *
 * Lock order: kvm->slots_lock -> gmem->lock (bind/unbind) -> kvm->mn_lock /
 * kvm->mmu_lock (the notifier); gs->lock -> gmem->lock (fault); the fault
 * calls into guest_memfd without mmu_lock.
 */
#include <sched.h>
#include <string.h>

#include "kernel/guest_memfd.h"
#include "kvm/kvm.h"
#include "lib/alloc.h"

struct kvm_gmem_slot {
	struct gmem_binding bind;      /* pages [pgoff, pgoff + npages) of the file */
	struct gmem_notifier notifier;
	pthread_mutex_t lock;          /* guards file against the file's release */
	struct file *file;             /* no reference; NULL once the file is gone */
	struct kvm *kvm;
	uint64_t base_gfn, npages, pgoff;
	bool seed;                     /* a restricted memfd: the slot holds a reference */
};

/* ---- the file pins the VM ---- */

static void kvm_gmem_owner_get(void *owner)
{
	kvm_get(owner);
}

static void kvm_gmem_owner_put(void *owner)
{
	kvm_put(owner);
}

static const struct gmem_owner_ops kvm_gmem_owner_ops = {
	.get = kvm_gmem_owner_get,
	.put = kvm_gmem_owner_put,
};

/* x86: INIT_SHARED only where the VM has no private memory of its own. */
uint64_t kvm_gmem_supported_flags(const struct kvm *kvm)
{
	uint64_t flags = GUEST_MEMFD_FLAG_MMAP;

	if (!kvm || kvm->type != KVM_X86_SW_PROTECTED_VM)
		flags |= GUEST_MEMFD_FLAG_INIT_SHARED;
	return flags;
}

/* /dev/kvm (@kvm NULL) answers for the VM types it can make. */
uint64_t kvm_supported_mem_attributes(const struct kvm *kvm)
{
	return !kvm || kvm->type == KVM_X86_SW_PROTECTED_VM ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
}

/* The host does not check reserved[] (6.18): neither do we. */
long kvm_vm_ioctl_create_guest_memfd(struct mv_task *t, struct kvm *kvm, uint64_t arg)
{
	const struct kvm_create_guest_memfd *argp = (const void *)(uintptr_t)arg;
	struct kvm_create_guest_memfd g;

	if (k_host_range_faults(argp, sizeof(g)))
		return -EFAULT;
	memcpy(&g, argp, sizeof(g));
	if (g.flags & ~kvm_gmem_supported_flags(kvm))
		return -EINVAL;
	return gmem_create(t, g.size, g.flags, &kvm_gmem_owner_ops, kvm);
}

/* ---- invalidation: file offsets to gfns ---- */

static void kvm_gmem_invalidate_start(struct gmem_notifier *n, uint64_t start, uint64_t end,
				      hw_pfn_t head, unsigned int order)
{
	struct kvm_gmem_slot *gs = lib_container_of(n, struct kvm_gmem_slot, notifier);
	uint64_t lo = start > gs->pgoff ? start : gs->pgoff;
	uint64_t hi = end < gs->pgoff + gs->npages ? end : gs->pgoff + gs->npages;

	/* always bracket, even outside the binding: begin and end must pair */
	if (lo >= hi)
		lo = hi = gs->pgoff;
	kvm_mmu_invalidate_begin(gs->kvm, gs->base_gfn + (lo - gs->pgoff),
				 gs->base_gfn + (hi - gs->pgoff));
}

static void kvm_gmem_invalidate_end(struct gmem_notifier *n, uint64_t start, uint64_t end)
{
	struct kvm_gmem_slot *gs = lib_container_of(n, struct kvm_gmem_slot, notifier);

	kvm_mmu_invalidate_end(gs->kvm);
}

static const struct gmem_notifier_ops kvm_gmem_notifier_ops = {
	.invalidate_start = kvm_gmem_invalidate_start,
	.invalidate_end = kvm_gmem_invalidate_end,
};

/* The file's last reference went while bound: zap the slot, forget the file. */
static void kvm_gmem_released(struct gmem_binding *b)
{
	struct kvm_gmem_slot *gs = lib_container_of(b, struct kvm_gmem_slot, bind);

	pthread_mutex_lock(&gs->lock);
	gmem_unregister_notifier(gs->file, &gs->notifier);
	kvm_mmu_invalidate_begin(gs->kvm, gs->base_gfn, gs->base_gfn + gs->npages);
	__atomic_store_n(&gs->file, NULL, __ATOMIC_RELEASE);
	kvm_mmu_invalidate_end(gs->kvm);
	pthread_mutex_unlock(&gs->lock);
}

/* ---- memslot bindings ---- */

/**
 * kvm_gmem_bind - back @slot's private gfns with @file from byte @offset
 *
 * kvm_gmem_bind's checks, in its order: no such fd (-EBADF), not a
 * guest_memfd or another VM's (-EINVAL), offset + size past EOF or a range
 * already bound (-EINVAL). A file created with GUEST_MEMFD_FLAG_MMAP makes
 * the slot KVM_MEMSLOT_GMEM_ONLY. Called with slots_lock held; @slot is not
 * yet published.
 */
int kvm_gmem_bind(struct kvm *kvm, struct kvm_memory_slot *slot, struct file *file,
		  uint64_t offset)
{
	struct kvm_gmem_slot *gs;
	int ret;

	bool seed = file && file_is_restrictedmem(file) && kvm->hw->cfg.abi == MV_ABI_SEED;

	if (!file)
		return -EBADF;
	if (!file_is_gmem(file) || (!seed && gmem_owner(file) != kvm))
		return -EINVAL;
	gs = lib_zalloc(sizeof(*gs));
	if (!gs)
		return -ENOMEM;
	if (pthread_mutex_init(&gs->lock, NULL)) {
		lib_free(gs);
		return -ENOMEM;
	}
	gs->file = file;
	gs->kvm = kvm;
	gs->base_gfn = slot->base_gfn;
	gs->npages = slot->npages;
	gs->pgoff = offset >> HW_PAGE_SHIFT;
	gs->seed = seed;
	gs->bind.released = kvm_gmem_released;
	gs->notifier.ops = &kvm_gmem_notifier_ops;
	ret = gmem_bind(file, seed ? NULL : kvm, &gs->bind, gs->pgoff, gs->npages, slot);
	if (!ret)
		ret = gmem_register_notifier(file, &gs->notifier);
	if (ret) {
		pthread_mutex_destroy(&gs->lock);
		lib_free(gs);
		return ret;
	}
	if (seed)
		file_get(file);   /* the seed's slot kept its fget() */
	/* a file the VMM can mmap backs shared pages too (kvm_gmem_bind, 6.18) */
	else if (gmem_flags(file) & GUEST_MEMFD_FLAG_MMAP)
		slot->flags |= KVM_MEMSLOT_GMEM_ONLY;
	slot->gmem = gs;
	return 0;
}

/* The slot is unreachable (deleted, or the VM is going): let go of the file. */
void kvm_gmem_unbind(struct kvm_memory_slot *slot)
{
	struct kvm_gmem_slot *gs = slot->gmem;

	if (!gs)
		return;
	slot->gmem = NULL;
	pthread_mutex_lock(&gs->lock);
	if (__atomic_load_n(&gs->file, __ATOMIC_RELAXED) && gmem_file_tryget(gs->file)) {
		gmem_unregister_notifier(gs->file, &gs->notifier);
		gmem_unbind(gs->file, &gs->bind);
		pthread_mutex_unlock(&gs->lock);
		if (gs->seed)
			file_put(gs->file);
		file_put(gs->file);   /* may release the file: no binding is left to call */
	} else {
		pthread_mutex_unlock(&gs->lock);
		/* release is running: wait until it has told us and let go of gs->lock */
		while (__atomic_load_n(&gs->file, __ATOMIC_ACQUIRE))
			sched_yield();
		pthread_mutex_lock(&gs->lock);
		pthread_mutex_unlock(&gs->lock);
	}
	pthread_mutex_destroy(&gs->lock);
	lib_free(gs);
}

uint64_t kvm_gmem_slot_pgoff(const struct kvm_memory_slot *slot)
{
	return slot->gmem->pgoff;
}

/*
 * The page for @gfn with a folio reference, and in *@max_order the order a
 * stage-2 leaf could cover: the folio's, when the slot maps the whole
 * folio at a gfn of the same alignment (the slot's base gfn and file
 * offset congruent modulo the folio), else 0.
 */
int kvm_gmem_get_pfn(const struct kvm_memory_slot *slot, uint64_t gfn, hw_pfn_t *pfn,
		     unsigned int *max_order)
{
	struct kvm_gmem_slot *gs = slot->gmem;
	struct file *file = NULL;
	unsigned int order;
	int ret;

	pthread_mutex_lock(&gs->lock);
	file = __atomic_load_n(&gs->file, __ATOMIC_RELAXED);
	if (file && !gmem_file_tryget(file))
		file = NULL;
	pthread_mutex_unlock(&gs->lock);
	if (!file)
		return -EFAULT;
	ret = gmem_get_page(file, gs->pgoff + (gfn - gs->base_gfn), pfn, &order);
	file_put(file);
	if (ret)
		return ret == -ENOMEM ? -ENOMEM : -EFAULT;
	*max_order = (gs->base_gfn - gs->pgoff) & ((1ull << order) - 1) ? 0 : order;
	return 0;
}

/* ---- KVM_SET_MEMORY_ATTRIBUTES ---- */

static long kvm_check_mem_attributes(const struct kvm *kvm, const struct kvm_memory_attributes *a)
{
	if (a->flags)
		return -EINVAL;
	if (a->attributes & ~kvm_supported_mem_attributes(kvm))
		return -EINVAL;
	if (a->size == 0 || a->address + a->size < a->address)
		return -EINVAL;
	if ((a->address | a->size) & (K_PAGE_SIZE - 1))
		return -EINVAL;
	return 0;
}

/* -ENOTTY on VMs with no attributes (the host's answer for a default VM). */
long kvm_vm_ioctl_set_memory_attributes(struct kvm *kvm, uint64_t arg)
{
	const struct kvm_memory_attributes *argp = (const void *)(uintptr_t)arg;
	struct kvm_memory_attributes a;
	uint64_t start, end;
	long ret;

	if (!kvm_supported_mem_attributes(kvm))
		return -ENOTTY;
	if (k_host_range_faults(argp, sizeof(a)))
		return -EFAULT;
	memcpy(&a, argp, sizeof(a));
	ret = kvm_check_mem_attributes(kvm, &a);
	if (ret)
		return ret;
	start = a.address >> HW_PAGE_SHIFT;
	end = (a.address + a.size) >> HW_PAGE_SHIFT;
	pthread_mutex_lock(&kvm->slots_lock);
	/*
	 * Heki: a conversion would swap the page behind an IMMUTABLE gfn
	 * (-EPERM); elsewhere only PRIVATE changes, the Heki bits stay.
	 */
	if (kvm_heki_range_immutable(kvm, start, end)) {
		pthread_mutex_unlock(&kvm->slots_lock);
		return -EPERM;
	}
	kvm_mmu_invalidate_begin(kvm, start, end);
	ret = kvm_attr_update_range(kvm, start, end, KVM_MEMORY_ATTRIBUTE_PRIVATE, a.attributes);
	kvm_mmu_invalidate_end(kvm);
	pthread_mutex_unlock(&kvm->slots_lock);
	return ret;
}
