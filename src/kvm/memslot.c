/* SPDX-License-Identifier: MIT */
/*
 * Memslots: KVM_SET_USER_MEMORY_REGION(2) with KVM's checks in KVM's order
 * (__kvm_set_memory_region), create / move / delete / flags-only changes,
 * KVM_MEM_READONLY, dirty logging with KVM_GET_DIRTY_LOG, and the SRCU-like
 * publication of the memslot array that vCPUs read without locks.
 *
 * The array is immutable once published: an update builds a new one,
 * publishes it and waits for the readers of the old one (kvm_srcu_*).
 * Deleting or moving a slot first publishes it marked INVALID, so faults
 * on it retry while its stage-2 mappings are zapped, then publishes the
 * final array, as KVM does.
 */
#include <sched.h>
#include <string.h>

#include "kvm/kvm.h"
#include "kvm/mte.h"
#include "lib/alloc.h"
#include "lib/bitmap.h"
#include "lib/lockdep.h"

/* ---- the SRCU-like scheme ---- */

int kvm_srcu_read_lock(struct kvm_srcu *s)
{
	int idx = (int)(__atomic_load_n(&s->idx, __ATOMIC_SEQ_CST) & 1);

	__atomic_fetch_add(&s->cnt[idx], 1, __ATOMIC_SEQ_CST);
	return idx;
}

void kvm_srcu_read_unlock(struct kvm_srcu *s, int idx)
{
	__atomic_fetch_sub(&s->cnt[idx], 1, __ATOMIC_RELEASE);
}

static void kvm_srcu_drain(struct kvm_srcu *s, int idx)
{
	while (__atomic_load_n(&s->cnt[idx], __ATOMIC_ACQUIRE))
		sched_yield();
}

/*
 * Waits until every reader that could have seen the previous array has
 * left. Readers that started after the pointer was published see the new
 * one; the first drain catches late readers of the previous epoch (they
 * read the index before the last flip), the second those of this one.
 */
void kvm_srcu_synchronize(struct kvm_srcu *s)
{
	uint32_t old;

	pthread_mutex_lock(&s->sync_lock);
	old = __atomic_load_n(&s->idx, __ATOMIC_SEQ_CST) & 1;
	kvm_srcu_drain(s, (int)(old ^ 1));
	__atomic_fetch_add(&s->idx, 1, __ATOMIC_SEQ_CST);
	kvm_srcu_drain(s, (int)old);
	pthread_mutex_unlock(&s->sync_lock);
}

/* ---- lookup ---- */

struct kvm_memslots *kvm_memslots_get(struct kvm *kvm)
{
	return __atomic_load_n(&kvm->memslots, __ATOMIC_SEQ_CST);
}

struct kvm_memory_slot *kvm_memslot_find(const struct kvm_memslots *ms, uint64_t gfn)
{
	unsigned int lo = 0, hi = ms->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		struct kvm_memory_slot *s = ms->slots[mid];

		if (gfn < s->base_gfn)
			hi = mid;
		else if (gfn >= s->base_gfn + s->npages)
			lo = mid + 1;
		else
			return s;
	}
	return NULL;
}

static struct kvm_memory_slot *kvm_memslot_by_id(const struct kvm_memslots *ms, uint32_t id)
{
	for (unsigned int i = 0; i < ms->nr; i++)
		if (ms->slots[i]->id == id)
			return ms->slots[i];
	return NULL;
}

/* Any slot other than @id overlapping [start, end)? */
static bool kvm_memslot_overlap(const struct kvm_memslots *ms, uint32_t id, uint64_t start,
				uint64_t end)
{
	for (unsigned int i = 0; i < ms->nr; i++) {
		const struct kvm_memory_slot *s = ms->slots[i];

		if (s->id != id && start < s->base_gfn + s->npages && s->base_gfn < end)
			return true;
	}
	return false;
}

/* ---- building and publishing arrays ---- */

static struct kvm_memslots *kvm_memslots_alloc(unsigned int nr)
{
	return lib_zalloc(sizeof(struct kvm_memslots) + (size_t)nr * sizeof(void *));
}

/* A copy of @cur with @old removed (if not NULL) and @new inserted (if not NULL). */
static struct kvm_memslots *kvm_memslots_replace(const struct kvm_memslots *cur,
						 const struct kvm_memory_slot *old,
						 struct kvm_memory_slot *new)
{
	struct kvm_memslots *ms = kvm_memslots_alloc(cur->nr + 1);
	unsigned int n = 0;
	bool placed = !new;

	if (!ms)
		return NULL;
	for (unsigned int i = 0; i < cur->nr; i++) {
		struct kvm_memory_slot *s = cur->slots[i];

		if (s == old)
			continue;
		if (!placed && new->base_gfn < s->base_gfn) {
			ms->slots[n++] = new;
			placed = true;
		}
		ms->slots[n++] = s;
	}
	if (!placed)
		ms->slots[n++] = new;
	ms->nr = n;
	ms->generation = cur->generation + 1;
	return ms;
}

/*
 * Makes @ms the array vCPUs see and waits for the readers of the previous
 * one, which is then freed. Publication waits while MMU notifiers are
 * between invalidate_start and _end, so that both halves see the same
 * slots (KVM's mn_active_invalidate_count). Called with slots_lock held.
 */
static void kvm_memslots_publish(struct kvm *kvm, struct kvm_memslots *ms)
{
	struct kvm_memslots *old;

	kvm_mn_wait_idle_locked(kvm);
	old = __atomic_exchange_n(&kvm->memslots, ms, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&kvm->mn_lock);
	kvm_srcu_synchronize(&kvm->srcu);
	lib_free(old);
}

static void kvm_memslot_free(struct kvm_memory_slot *s)
{
	if (!s)
		return;
	kvm_gmem_unbind(s);
	lib_free(s->dirty_bitmap);
	lib_free(s);
}

int kvm_memslots_init(struct kvm *kvm)
{
	if (pthread_mutex_init(&kvm->srcu.sync_lock, NULL))
		return -ENOMEM;
	kvm->memslots = kvm_memslots_alloc(0);
	if (!kvm->memslots) {
		pthread_mutex_destroy(&kvm->srcu.sync_lock);
		return -ENOMEM;
	}
	return 0;
}

void kvm_memslots_destroy(struct kvm *kvm)
{
	struct kvm_memslots *ms = kvm->memslots;

	for (unsigned int i = 0; i < ms->nr; i++)
		kvm_memslot_free(ms->slots[i]);
	lib_free(ms);
	pthread_mutex_destroy(&kvm->srcu.sync_lock);
}

/* ---- KVM_SET_USER_MEMORY_REGION(2) ---- */

enum kvm_mr_change { KVM_MR_CREATE, KVM_MR_DELETE, KVM_MR_MOVE, KVM_MR_FLAGS_ONLY };

/* check_memory_region_flags */
static int kvm_check_region_flags(const struct kvm *kvm,
				  const struct kvm_userspace_memory_region2 *mem)
{
	uint32_t valid = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY | KVM_MEM_GUEST_MEMFD;

	/* a guest_memfd slot is neither logged nor read-only */
	if (mem->flags & KVM_MEM_GUEST_MEMFD)
		valid &= ~(uint32_t)(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY);
	if (mem->flags & ~valid)
		return -EINVAL;
	return 0;
}

/* The general sanity checks of __kvm_set_memory_region, in its order. */
static int kvm_check_region(const struct kvm *kvm, const struct kvm_userspace_memory_region2 *mem)
{
	uint32_t as_id = mem->slot >> 16, id = mem->slot & 0xffff;
	int ret = kvm_check_region_flags(kvm, mem);

	if (ret)
		return ret;
	if (mem->memory_size & (K_PAGE_SIZE - 1))
		return -EINVAL;
	if (mem->guest_phys_addr & (K_PAGE_SIZE - 1))
		return -EINVAL;
	/* access_ok(): the whole range must lie below the top of user space */
	if ((mem->userspace_addr & (K_PAGE_SIZE - 1)) || mem->memory_size > K_TASK_SIZE ||
	    mem->userspace_addr > K_TASK_SIZE - mem->memory_size)
		return -EINVAL;
	if (as_id >= KVM_NR_ADDRESS_SPACES || id >= KVM_MEM_SLOTS_NUM)
		return -EINVAL;
	if (mem->guest_phys_addr + mem->memory_size < mem->guest_phys_addr)
		return -EINVAL;
	if ((mem->flags & KVM_MEM_GUEST_MEMFD) &&
	    ((mem->guest_memfd_offset & (K_PAGE_SIZE - 1)) ||
	     mem->guest_memfd_offset + mem->memory_size < mem->guest_memfd_offset))
		return -EINVAL;
	if (id < KVM_USER_MEM_SLOTS && (mem->memory_size >> HW_PAGE_SHIFT) > KVM_MEM_MAX_NR_PAGES)
		return -EINVAL;
	return 0;
}

/*
 * Allocates the dirty bitmap @new needs, or shares @old's (published slots
 * are never written: the old one lets go of it once it is unreachable).
 */
static int kvm_memslot_prepare_bitmap(struct kvm_memory_slot *new,
				      const struct kvm_memory_slot *old)
{
	if (!(new->flags & KVM_MEM_LOG_DIRTY_PAGES))
		return 0;
	if (old && old->dirty_bitmap) {
		new->dirty_bitmap = old->dirty_bitmap;
		return 0;
	}
	new->dirty_bitmap = lib_zalloc(kvm_dirty_bitmap_bytes(new));
	return new->dirty_bitmap ? 0 : -ENOMEM;
}

static void kvm_trace_memslot(struct kvm *kvm, const struct kvm_memory_slot *s,
			      enum kvm_mr_change change)
{
	static const char *const names[] = {
		[KVM_MR_CREATE] = "create", [KVM_MR_DELETE] = "delete",
		[KVM_MR_MOVE] = "move", [KVM_MR_FLAGS_ONLY] = "flags",
	};
	struct lib_trace_ev ev;

	if (!lib_trace_begin(&ev, &kvm->hw->trace, "kvm_memslot"))
		return;
	lib_trace_u64(&ev, "vm", kvm->vmid);
	lib_trace_u64(&ev, "slot", s->id);
	lib_trace_str(&ev, "change", names[change]);
	lib_trace_hex(&ev, "gpa", s->base_gfn << HW_PAGE_SHIFT);
	lib_trace_u64(&ev, "pages", s->npages);
	lib_trace_hex(&ev, "flags", s->flags & ~KVM_MEMSLOT_INTERNAL);
	lib_trace_emit(&ev);
}

/*
 * kvm_set_memslot: @new is NULL for DELETE. Everything that can fail is
 * allocated before anything is published, so an error changes nothing and
 * an INVALID slot is never left behind. Called with slots_lock held.
 */
static int kvm_set_memslot(struct kvm *kvm, struct kvm_memory_slot *old,
			   struct kvm_memory_slot *new, enum kvm_mr_change change)
{
	bool invalidate = change == KVM_MR_DELETE || change == KVM_MR_MOVE;
	struct kvm_memory_slot *inv = NULL;
	struct kvm_memslots *mid = NULL, *fin;

	if (invalidate) {
		inv = lib_malloc(sizeof(*inv));
		if (!inv)
			return -ENOMEM;
		*inv = *old;
		inv->flags |= KVM_MEMSLOT_INVALID;
		mid = kvm_memslots_replace(kvm->memslots, old, inv);
		if (!mid) {
			lib_free(inv);
			return -ENOMEM;
		}
	}
	fin = kvm_memslots_replace(kvm->memslots, old, new);
	if (!fin) {
		lib_free(mid);
		lib_free(inv);
		return -ENOMEM;
	}
	if (invalidate) {
		/* faults on the slot now retry; none can map it again */
		kvm_memslots_publish(kvm, mid);
		fin->generation = mid->generation + 1;
		pthread_rwlock_wrlock(&kvm->mmu_lock);
		kvm_mmu_zap_gfn_range_locked(kvm, old->base_gfn, old->base_gfn + old->npages);
		kvm_mmu_free_unused_tables_locked(kvm, old->base_gfn, old->base_gfn + old->npages);
		pthread_rwlock_unlock(&kvm->mmu_lock);
	}
	kvm_memslots_publish(kvm, fin);
	if (change == KVM_MR_FLAGS_ONLY && (new->flags & KVM_MEM_LOG_DIRTY_PAGES) &&
	    !(old->flags & KVM_MEM_LOG_DIRTY_PAGES)) {
		pthread_rwlock_wrlock(&kvm->mmu_lock);
		kvm_mmu_wrprotect_gfn_range_locked(kvm, new->base_gfn, new->base_gfn + new->npages);
		pthread_rwlock_unlock(&kvm->mmu_lock);
	}
	if (old)
		kvm->nr_memslot_pages -= old->npages;
	if (new)
		kvm->nr_memslot_pages += new->npages;
	kvm_trace_memslot(kvm, new ? new : old, change);
	lib_free(inv);
	if (old && new && new->dirty_bitmap == old->dirty_bitmap)
		old->dirty_bitmap = NULL;   /* unreachable now: the bitmap lives on in @new */
	kvm_memslot_free(old);
	return 0;
}

/*
 * kvm_arch_prepare_memory_region() on x86: a new or moved slot must end at
 * or below kvm_mmu_max_gfn(), the last gfn stage 2 can map. Linux checks
 * after it has already invalidated a moving slot; memvisor checks before,
 * so a refused move leaves the slot's stage-2 mappings in place.
 */
static int kvm_arch_prepare_memory_region(const struct kvm_memory_slot *new,
					  enum kvm_mr_change change)
{
	if ((change == KVM_MR_CREATE || change == KVM_MR_MOVE) &&
	    new->base_gfn + new->npages - 1 > KVM_MMU_MAX_GFN)
		return -EINVAL;
	return 0;
}

/* Decides the change for a non-zero size (after the sanity checks). */
static int kvm_region_change(struct kvm *kvm, const struct kvm_memory_slot *old,
			     const struct kvm_userspace_memory_region2 *mem, uint64_t base_gfn,
			     uint64_t npages, enum kvm_mr_change *change)
{
	if (!old) {
		if (kvm->nr_memslot_pages + npages < kvm->nr_memslot_pages)
			return -EINVAL;
		*change = KVM_MR_CREATE;
		return 1;
	}
	/* guest_memfd slots can only be deleted (the host refuses any change, 6.18) */
	if ((mem->flags | old->flags) & KVM_MEM_GUEST_MEMFD)
		return -EINVAL;
	if (mem->userspace_addr != old->userspace_addr || npages != old->npages ||
	    ((mem->flags ^ old->flags) & KVM_MEM_READONLY))
		return -EINVAL;
	if (base_gfn != old->base_gfn)
		*change = KVM_MR_MOVE;
	else if (mem->flags != (old->flags & ~KVM_MEMSLOT_INTERNAL))
		*change = KVM_MR_FLAGS_ONLY;
	else
		return 0;   /* nothing to change */
	return 1;
}

static long kvm_set_memory_region_locked(struct kvm *kvm,
					 const struct kvm_userspace_memory_region2 *mem,
					 struct file *gmem)
{
	uint64_t base_gfn = mem->guest_phys_addr >> HW_PAGE_SHIFT;
	uint64_t npages = mem->memory_size >> HW_PAGE_SHIFT;
	struct kvm_memory_slot *old, *new;
	enum kvm_mr_change change;
	int ret;

	lockdep_assert_held(&kvm->slots_lock);
	ret = kvm_check_region(kvm, mem);
	if (ret)
		return ret;
	old = kvm_memslot_by_id(kvm->memslots, mem->slot & 0xffff);
	/* Heki: a slot holding IMMUTABLE pages can neither go nor move (docs/heki.md) */
	if (!mem->memory_size && old &&
	    kvm_heki_range_immutable(kvm, old->base_gfn, old->base_gfn + old->npages))
		return -EPERM;
	if (!mem->memory_size)
		return old ? kvm_set_memslot(kvm, old, NULL, KVM_MR_DELETE) : -EINVAL;
	ret = kvm_region_change(kvm, old, mem, base_gfn, npages, &change);
	if (ret <= 0)
		return ret;
	if (change == KVM_MR_MOVE &&
	    kvm_heki_range_immutable(kvm, old->base_gfn, old->base_gfn + old->npages))
		return -EPERM;
	if ((change == KVM_MR_CREATE || change == KVM_MR_MOVE) &&
	    kvm_memslot_overlap(kvm->memslots, mem->slot & 0xffff, base_gfn, base_gfn + npages))
		return -EEXIST;
	new = lib_zalloc(sizeof(*new));
	if (!new)
		return -ENOMEM;
	new->id = mem->slot & 0xffff;
	new->base_gfn = base_gfn;
	new->npages = npages;
	new->flags = mem->flags;
	new->userspace_addr = mem->userspace_addr;
	/* a moved or re-flagged slot keeps logging into the same bitmap, as in KVM */
	ret = kvm_memslot_prepare_bitmap(new, change == KVM_MR_CREATE ? NULL : old);
	if (!ret && (mem->flags & KVM_MEM_GUEST_MEMFD))
		ret = kvm_gmem_bind(kvm, new, gmem, mem->guest_memfd_offset);
	if (!ret)
		ret = kvm_sgx_prepare_slot(kvm, new);
	if (!ret)
		ret = kvm_arch_prepare_memory_region(new, change);
	if (!ret && change != KVM_MR_DELETE)
		ret = kvm_mte_prepare_memory_region(kvm, new);
	if (!ret)
		ret = kvm_set_memslot(kvm, old, new, change);
	if (ret) {
		if (old && new->dirty_bitmap == old->dirty_bitmap)
			new->dirty_bitmap = NULL;   /* still @old's */
		kvm_memslot_free(new);
	}
	return ret;
}

/**
 * kvm_vm_set_memory_region - create, move, change or delete a memslot
 *
 * Slot ids at or above KVM_USER_MEM_SLOTS are KVM's own: -EINVAL. Takes
 * kvm->slots_lock; returns 0 or KVM's errno.
 */
long kvm_vm_set_memory_region_gmem(struct kvm *kvm, const struct kvm_userspace_memory_region2 *mem,
				   struct file *gmem)
{
	long ret;

	if ((mem->slot & 0xffff) >= KVM_USER_MEM_SLOTS)
		return -EINVAL;
	pthread_mutex_lock(&kvm->slots_lock);
	ret = kvm_set_memory_region_locked(kvm, mem, gmem);
	pthread_mutex_unlock(&kvm->slots_lock);
	return ret;
}

long kvm_vm_set_memory_region(struct kvm *kvm, const struct kvm_userspace_memory_region2 *mem)
{
	return kvm_vm_set_memory_region_gmem(kvm, mem, NULL);
}

/* ---- KVM_GET_DIRTY_LOG ---- */

/*
 * KVM_GET_DIRTY_LOG's core (kvm_get_dirty_log_protect), with slots_lock
 * held: each word with a bit set is taken and cleared atomically and the
 * pages it names write-protected again, then every vCPU is flushed once,
 * so a write after the harvest faults and is logged again. Bits are set
 * under mmu_lock held for write (kvm_mmu_fault_once), as the harvest
 * holds it, so a clean word skipped by its relaxed read cannot be missed.
 */
static void kvm_dirty_log_harvest(struct kvm *kvm, struct kvm_memory_slot *s, unsigned long *out)
{
	uint64_t words = kvm_dirty_bitmap_bytes(s) / sizeof(unsigned long);
	bool flush = false;

	pthread_rwlock_wrlock(&kvm->mmu_lock);
	/* Clean words are skipped unexchanged (@out is zeroed), as Linux does. */
	for (uint64_t i = lib_bitmap_next_word_once(s->dirty_bitmap, words, 0); i < words;
	     i = lib_bitmap_next_word_once(s->dirty_bitmap, words, i + 1)) {
		unsigned long mask = __atomic_exchange_n(&s->dirty_bitmap[i], 0, __ATOMIC_ACQ_REL);

		out[i] = mask;
		if (mask && kvm_mmu_wrprotect_pt_masked_locked(kvm, s->base_gfn + i * 64, mask))
			flush = true;
	}
	if (flush)
		kvm_flush_remote_tlbs(kvm);
	pthread_rwlock_unlock(&kvm->mmu_lock);
}

long kvm_vm_get_dirty_log(struct kvm *kvm, const struct kvm_dirty_log *log)
{
	uint32_t as_id = log->slot >> 16, id = log->slot & 0xffff;
	struct kvm_memory_slot *s;
	unsigned long *snap;
	uint64_t n;
	long ret = 0;

	if (as_id >= KVM_NR_ADDRESS_SPACES || id >= KVM_USER_MEM_SLOTS)
		return -EINVAL;
	pthread_mutex_lock(&kvm->slots_lock);
	s = kvm_memslot_by_id(kvm->memslots, id);
	if (!s || !s->dirty_bitmap) {
		ret = -ENOENT;
		goto out;
	}
	n = kvm_dirty_bitmap_bytes(s);
	snap = lib_zalloc(n);
	if (!snap) {
		ret = -ENOMEM;
		goto out;
	}
	kvm_dirty_log_harvest(kvm, s, snap);
	if (k_host_range_faults(log->dirty_bitmap, n))
		ret = -EFAULT;
	else
		memcpy(log->dirty_bitmap, snap, n);
	lib_free(snap);
out:
	pthread_mutex_unlock(&kvm->slots_lock);
	return ret;
}
