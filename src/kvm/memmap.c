/* SPDX-License-Identifier: MIT */
/*
 * The memory map of a VM, for tools: every memslot, split wherever the
 * per-GFN attributes change, with the access stage 2 gives the guest.
 * Read under the memslots' SRCU-like read side (never blocks a memslot
 * update for long) and attr_lock, so the answer is one consistent view of
 * each slot; it is a snapshot, not a promise.
 */
#include "kvm/kvm.h"

struct memmap_out {
	struct mv_vm_range *ranges;
	size_t max;
	long n;                    /* ranges finished, stored or not */
	struct mv_vm_range cur;    /* the range being grown */
	bool have_cur;
};

/* Stage 2 maps a slot readable and executable; writable unless KVM_MEM_READONLY. */
static uint32_t memmap_slot_flags(const struct kvm_memory_slot *s)
{
	uint32_t f = MV_RANGE_READ | MV_RANGE_EXEC;

	if (!(s->flags & KVM_MEM_READONLY))
		f |= MV_RANGE_WRITE;
	if (s->flags & KVM_MEM_LOG_DIRTY_PAGES)
		f |= MV_RANGE_DIRTY_LOG;
	return f;
}

static uint32_t memmap_attr_flags(uint64_t attrs)
{
	return attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE ? MV_RANGE_PRIVATE : 0;
}

/* Finishes the range being grown: stored if there is room, counted anyway. */
static void memmap_flush(struct memmap_out *o)
{
	if (!o->have_cur)
		return;
	if ((size_t)o->n < o->max)
		o->ranges[o->n] = o->cur;
	o->n++;
	o->have_cur = false;
}

/* Adds [gfn, end) of @s with @flags: grows the current range when it continues it. */
static void memmap_emit(struct memmap_out *o, const struct kvm_memory_slot *s, uint64_t gfn,
			uint64_t end, uint32_t flags)
{
	struct mv_vm_range *c = &o->cur;
	uint64_t gpa = gfn << HW_PAGE_SHIFT;

	if (gfn >= end)
		return;
	if (o->have_cur && c->slot == s->id && c->flags == flags && c->gpa + c->size == gpa) {
		c->size += (end - gfn) << HW_PAGE_SHIFT;
		return;
	}
	memmap_flush(o);
	*c = (struct mv_vm_range){
		.gpa = gpa,
		.size = (end - gfn) << HW_PAGE_SHIFT,
		.hva = s->userspace_addr + ((gfn - s->base_gfn) << HW_PAGE_SHIFT),
		.slot = s->id,
		.flags = flags,
	};
	o->have_cur = true;
}

/*
 * One slot: runs of equal attributes. Only GFNs with attributes have radix
 * entries, so the walk costs the entries, not the slot's size. Called with
 * attr_lock held.
 */
static void memmap_slot_locked(struct kvm *kvm, const struct kvm_memory_slot *s,
			       struct memmap_out *o)
{
	uint64_t base = memmap_slot_flags(s), gfn = s->base_gfn, end = s->base_gfn + s->npages;
	uint64_t idx;
	void *item;

	lib_radix_for_each(&kvm->mem_attr, idx, item, s->base_gfn, end - 1) {
		memmap_emit(o, s, gfn, idx, (uint32_t)base);
		memmap_emit(o, s, idx, idx + 1,
			    (uint32_t)base | memmap_attr_flags(lib_radix_value(item)));
		gfn = idx + 1;
	}
	memmap_emit(o, s, gfn, end, (uint32_t)base);
}

static long memmap_fill(struct kvm *kvm, struct mv_vm_range *ranges, size_t max)
{
	struct memmap_out o = { .ranges = ranges, .max = max };
	struct kvm_memslots *ms;
	int idx = kvm_srcu_read_lock(&kvm->srcu);

	ms = kvm_memslots_get(kvm);
	pthread_mutex_lock(&kvm->attr_lock);
	for (unsigned int i = 0; i < ms->nr; i++) {
		if (!(ms->slots[i]->flags & KVM_MEMSLOT_INVALID))
			memmap_slot_locked(kvm, ms->slots[i], &o);
	}
	pthread_mutex_unlock(&kvm->attr_lock);
	kvm_srcu_read_unlock(&kvm->srcu, idx);
	memmap_flush(&o);
	return o.n;
}

/**
 * mv_vm_memory_map - the guest-physical memory map of a VM, range by range
 *
 * See memvisor.h. Ranges come in GPA order (memslots are sorted and never
 * overlap); adjacent GFNs of one slot with the same attributes are one
 * range.
 */
MV_API long mv_vm_memory_map(struct mv_task *vmm, int vm_fd, struct mv_vm_range *ranges,
			     size_t max)
{
	struct file *f;
	struct kvm *kvm;
	long ret;

	if (!vmm || (max && !ranges))
		return -EINVAL;
	f = fd_get(vmm, vm_fd);
	if (!f)
		return -EBADF;
	kvm = kvm_from_file(f);
	if (!kvm || kvm->mm != vmm->mm)
		ret = -EINVAL;
	else if (__atomic_load_n(&kvm->mm_gone, __ATOMIC_ACQUIRE))
		ret = -EIO;
	else
		ret = memmap_fill(kvm, ranges, max);
	file_put(f);
	return ret;
}
