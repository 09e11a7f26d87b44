/* SPDX-License-Identifier: MIT */
/*
 * MTE for KVM guests, after arm64 KVM (arch/arm64/kvm/arm.c, mmu.c,
 * guest.c) and the seed's discussion of PG_mte_tagged:
 *
 * - KVM_CAP_ARM_MTE is enabled before the first vCPU exists, on a machine
 *   with MTE; from then on every memslot must be backed by memory that can
 *   hold tags (VM_MTE_ALLOWED: anonymous or shmem), or be a vEPC
 *   (memvisor's exception: EPC is mapped untagged).
 * - Stage 2 maps every RAM page of an MTE VM as tagged memory (EPT_MTE), and
 *   sanitises it first: a frame not yet tagged has its tags cleared and is
 *   marked tagged, so a guest never sees a previous owner's tags. A later
 *   fault on a tagged frame (a permission fault, a remap) leaves its tags
 *   alone; a 2 MiB mapping sanitises each frame of the folio once.
 * - KVM_ARM_MTE_COPY_TAGS moves tags between guest pages and a VMM buffer
 *   (one tag per byte), page by page under slots_lock, with
 *   kvm_vm_ioctl_mte_copy_tags()'s checks, answers and partial progress.
 *
 * Races: the frame's tagged flag is claimed with hw_mte_try_tagging()
 * (try_page_mte_tagging), so a TO_GUEST copy and a vCPU's first fault on
 * the same frame, two vCPUs faulting it, or the VMM's own PROT_MTE fault,
 * never publish a frame as tagged before its tags are complete, and only
 * one of them ever clears them.
 */
#include <string.h>

#include "hw/mte.h"
#include "kernel/sgx_vepc.h"
#include "kvm/mte.h"
#include "lib/lockdep.h"

long kvm_vm_enable_cap_mte(struct kvm *kvm, const struct kvm_enable_cap *cap)
{
	long r = 0;

	pthread_mutex_lock(&kvm->lock);
	if (!hw_mte_present(kvm->hw) || kvm->created_vcpus)
		r = -EINVAL;
	else
		__atomic_store_n(&kvm->mte_enabled, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&kvm->lock);
	return r;
}

int kvm_mte_prepare_memory_region(struct kvm *kvm, const struct kvm_memory_slot *new)
{
	uint64_t hva = new->userspace_addr;
	uint64_t end = hva + (new->npages << HW_PAGE_SHIFT);
	int ret = 0;

	if (!kvm_has_mte(kvm) || kvm_memslot_is_gmem_only(new))
		return 0;
	pthread_rwlock_rdlock(&kvm->mm->mmap_lock);
	while (hva < end) {
		struct vma *vma = vma_find(kvm->mm, hva);

		if (!vma)
			break;   /* a hole: nothing there to refuse yet */
		/*
		 * A vEPC is PFN-mapped EPC, which no machine both tags and
		 * encrypts: memvisor lets an MTE VM have one, mapped untagged.
		 */
		if (!(vma->flags & VM_MTE_ALLOWED) && !sgx_vepc_vma(vma)) {
			ret = -EINVAL;
			break;
		}
		hva = vma_end(vma);
	}
	pthread_rwlock_unlock(&kvm->mm->mmap_lock);
	return ret;
}

void kvm_mte_sanitise(struct kvm *kvm, hw_pfn_t pfn, unsigned int order)
{
	for (uint64_t i = 0; i < (1ull << order); i++)
		hw_mte_sanitise_page(kvm->hw, pfn + i);
}

void kvm_mte_vcpu_init(struct kvm_vcpu *vcpu)
{
	if (kvm_has_mte(vcpu->kvm))
		hw_cpu_set_mte(&vcpu->cpu, HW_MTE_TCF_SYNC, true);
}

/* ---- KVM_ARM_MTE_COPY_TAGS ---- */

/* How many of @n bytes at host address @p a copy can reach (access_ok). */
static size_t kvm_mte_user_room(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p;

	if (a < K_PAGE_SIZE || a >= K_TASK_SIZE)
		return 0;
	return K_TASK_SIZE - a < n ? (size_t)(K_TASK_SIZE - a) : n;
}

static bool kvm_mte_dirty_logging(struct kvm *kvm)
{
	const struct kvm_memslots *ms = kvm->memslots;

	for (unsigned int i = 0; i < ms->nr; i++)
		if (ms->slots[i]->flags & KVM_MEM_LOG_DIRTY_PAGES)
			return true;
	return false;
}

/*
 * __gfn_to_page(): the page behind @gfn with a reference. 0, or -EFAULT
 * (no slot, a read-only slot for a write, nothing GUP can pin: device or
 * PFN-mapped memory). Called with slots_lock held.
 */
static int kvm_mte_gfn_to_page(struct kvm *kvm, uint64_t gfn, bool write, hw_pfn_t *pfn)
{
	const struct kvm_memory_slot *slot = kvm_memslot_find(kvm->memslots, gfn);
	unsigned int order;
	uint64_t hva;
	long r;

	if (!slot || (write && (slot->flags & KVM_MEM_READONLY)))
		return -EFAULT;
	if (kvm_memslot_is_gmem_only(slot))
		return kvm_gmem_get_pfn(slot, gfn, pfn, &order) ? -EFAULT : 0;
	hva = slot->userspace_addr + ((gfn - slot->base_gfn) << HW_PAGE_SHIFT);
	pthread_rwlock_rdlock(&kvm->mm->mmap_lock);
	r = gup_one_locked(kvm->mm, hva, write ? FOLL_WRITE : 0, pfn);
	pthread_rwlock_unlock(&kvm->mm->mmap_lock);
	if (r)
		return -EFAULT;
	if (!hw_pfn_valid(kvm->hw, *pfn)) {   /* pfn_to_online_page(): not RAM */
		hw_folio_put(kvm->hw, *pfn);
		return -EFAULT;
	}
	return 0;
}

/* FROM_GUEST for one page: tags, or zeros for a page never tagged. Tags copied. */
static size_t kvm_mte_page_to_user(struct kvm *kvm, hw_pfn_t pfn, uint8_t *dst)
{
	uint8_t tags[HW_MTE_TAGS_PER_PAGE];
	size_t room = kvm_mte_user_room(dst, sizeof(tags));

	if (hw_mte_page_tagged(kvm->hw, pfn))
		hw_mte_read_page(kvm->hw, pfn, tags);
	else
		memset(tags, 0, sizeof(tags));   /* no tags in memory: never stale ones */
	if (room)   /* a NULL buffer has no room, and memcpy may not be handed NULL */
		memcpy(dst, tags, room);
	return room;
}

/*
 * TO_GUEST for one page: claims the frame (serialising with a concurrent
 * first map, whose tags we override either way), writes the tags, clears
 * them all if the buffer ran out part-way, then publishes the frame as
 * tagged. Tags copied.
 */
static size_t kvm_mte_page_from_user(struct kvm *kvm, hw_pfn_t pfn, const uint8_t *src)
{
	uint8_t tags[HW_MTE_TAGS_PER_PAGE];
	size_t room = kvm_mte_user_room(src, sizeof(tags));

	hw_mte_try_tagging(kvm->hw, pfn);
	if (room == sizeof(tags)) {
		memcpy(tags, src, sizeof(tags));
		hw_mte_write_page(kvm->hw, pfn, tags);
	} else {
		hw_mte_clear_page(kvm->hw, pfn);   /* uaccess failed: leave no stale tags */
	}
	hw_mte_set_tagged(kvm->hw, pfn);
	return room;
}

static long kvm_mte_copy_tags(struct kvm *kvm, const struct kvm_arm_copy_mte_tags *ct)
{
	bool write = !(ct->flags & KVM_ARM_TAGS_FROM_GUEST);
	uint64_t gfn = ct->guest_ipa >> HW_PAGE_SHIFT;
	uint64_t length = ct->length;
	uint8_t *tags = ct->addr;
	long ret = 0;

	if (!kvm_has_mte(kvm) || ct->reserved[0] || ct->reserved[1])
		return -EINVAL;
	if (ct->flags & ~(uint64_t)KVM_ARM_TAGS_FROM_GUEST)
		return -EINVAL;
	if ((ct->length | ct->guest_ipa) & ~HW_PAGE_MASK)
		return -EINVAL;
	if (ct->length > INT32_MAX)   /* the answer must fit the return value */
		return -EINVAL;
	pthread_mutex_lock(&kvm->slots_lock);
	if (write && kvm_mte_dirty_logging(kvm)) {
		ret = -EBUSY;
		goto out;
	}
	while (length > 0) {
		hw_pfn_t pfn;
		size_t n;

		ret = kvm_mte_gfn_to_page(kvm, gfn, write, &pfn);
		if (ret)
			goto out;
		n = write ? kvm_mte_page_from_user(kvm, pfn, tags)
			  : kvm_mte_page_to_user(kvm, pfn, tags);
		hw_folio_put(kvm->hw, pfn);
		if (n != HW_MTE_TAGS_PER_PAGE) {
			ret = -EFAULT;
			goto out;
		}
		tags += n;
		gfn++;
		length -= HW_PAGE_SIZE;
	}
out:
	pthread_mutex_unlock(&kvm->slots_lock);
	/* some pages done: how many bytes of guest memory, as KVM answers */
	if (length != ct->length)
		return (long)(ct->length - length);
	return ret;
}

long kvm_vm_ioctl_mte_copy_tags(struct kvm *kvm, uint64_t arg)
{
	const struct kvm_arm_copy_mte_tags *argp = (const void *)(uintptr_t)arg;
	struct kvm_arm_copy_mte_tags ct;

	if (k_host_range_faults(argp, sizeof(ct)))
		return -EFAULT;
	memcpy(&ct, argp, sizeof(ct));
	return kvm_mte_copy_tags(kvm, &ct);
}
