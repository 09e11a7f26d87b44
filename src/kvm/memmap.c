/* SPDX-License-Identifier: MIT */
/*
 * The memory map of a VM, for tools: every memslot, split wherever the
 * per-GFN attributes change, with the access stage 2 gives the guest, and
 * for private ranges the guest_memfd (the VMM's fd and the offset) that
 * holds their bytes. Read under the memslots' SRCU-like read side (never
 * blocks a memslot update for long) and attr_lock, so the answer is one
 * consistent view of each slot; it is a snapshot, not a promise.
 */
#include "kernel/guest_memfd.h"
#include "kvm/kvm.h"
#include "kvm/mte.h"
#include "lib/alloc.h"

/* A guest_memfd the VMM has open: its fd, and a reference on the file. */
struct memmap_gmem {
	int fd;
	struct file *file;
};

struct memmap_files {
	struct memmap_gmem *gmem;
	unsigned int n;
};

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
	if (s->flags & KVM_MEMSLOT_EPC)
		f |= MV_RANGE_EPC;
	return f;
}

/*
 * A gfn's attributes on top of its slot's @base: PRIVATE, and the guest's
 * Heki permissions as stage 2 applies them (kvm_heki_s2_allows) with the
 * IMMUTABLE chip.
 */
static uint32_t memmap_attr_flags(const struct kvm *kvm, uint32_t base, uint64_t attrs)
{
	uint32_t f = base | (attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE ? MV_RANGE_PRIVATE : 0);
	uint64_t perms = kvm_heki_perms(attrs);
	bool r, w, x;

	if (!perms)
		return f;
	kvm_heki_s2_allows(kvm, attrs, 0, &r, &w, &x);
	f &= ~((r ? 0 : MV_RANGE_READ) | (w ? 0 : MV_RANGE_WRITE) | (x ? 0 : MV_RANGE_EXEC));
	return f | (perms & MEM_ATTR_IMMUTABLE ? MV_RANGE_IMMUTABLE : 0);
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
		.gmem_fd = -1,
	};
	o->have_cur = true;
}

/*
 * One slot: runs of equal attributes, so the walk costs the runs, not the
 * slot's size. Called with attr_lock held.
 */
static void memmap_slot_locked(struct kvm *kvm, const struct kvm_memory_slot *s,
			       struct memmap_out *o)
{
	uint64_t base = memmap_slot_flags(s), end = s->base_gfn + s->npages;

	/* stage 2 maps all of it tagged (kvm/mte.c), EPC excepted */
	if (kvm_has_mte(kvm) && !(s->flags & KVM_MEMSLOT_EPC))
		base |= MV_RANGE_TAGGED;
	for (uint64_t gfn = s->base_gfn, e; gfn < end; gfn = e) {
		uint64_t v = kvm_attr_run_locked(kvm, gfn, end, &e);

		memmap_emit(o, s, gfn, e,
			    v ? memmap_attr_flags(kvm, (uint32_t)base, v) : (uint32_t)base);
	}
}

/*
 * Every guest_memfd open in @vmm's fd table, each with a reference, taken
 * before any KVM lock (fd_get takes the table's lock; the last put of a
 * guest_memfd may call into KVM). 0 or -ENOMEM.
 */
static int memmap_files_get(struct mv_task *vmm, struct memmap_files *mf)
{
	unsigned int max;

	pthread_mutex_lock(&vmm->files->lock);
	max = vmm->files->max;
	pthread_mutex_unlock(&vmm->files->lock);
	mf->n = 0;
	mf->gmem = lib_calloc(max ? max : 1, sizeof(*mf->gmem));
	if (!mf->gmem)
		return -ENOMEM;
	for (unsigned int fd = 0; fd < max; fd++) {
		struct file *f = fd_get(vmm, (int)fd);

		if (f && file_is_gmem(f) && mf->n < max)
			mf->gmem[mf->n++] = (struct memmap_gmem){ .fd = (int)fd, .file = f };
		else if (f)
			file_put(f);
	}
	return 0;
}

static void memmap_files_put(struct memmap_files *mf)
{
	for (unsigned int i = 0; i < mf->n; i++)
		file_put(mf->gmem[i].file);
	lib_free(mf->gmem);
}

/*
 * Where @s is bound in @f: true and the first page offset. The slot knows
 * where its binding starts; @f is the file only if the binding there is
 * @s's. Called under the memslots' read side: gmem_binding_at takes
 * gmem->lock there, as a private fault does.
 */
static bool memmap_gmem_pgoff(struct file *f, const struct kvm_memory_slot *s, uint64_t *pgoff)
{
	*pgoff = kvm_gmem_slot_pgoff(s);
	return gmem_binding_at(f, *pgoff) == s;
}

/*
 * A stored range whose bytes live in a guest_memfd (a private range, or any
 * range of a KVM_MEMSLOT_GMEM_ONLY slot): the file's fd and offset, if the
 * VMM has it open. Under srcu.
 */
static void memmap_gmem_backing(const struct kvm_memslots *ms, const struct memmap_files *mf,
				struct mv_vm_range *r)
{
	uint64_t gfn = r->gpa >> HW_PAGE_SHIFT, pgoff;
	const struct kvm_memory_slot *s = kvm_memslot_find(ms, gfn);

	if (!s || !s->gmem || (!(r->flags & MV_RANGE_PRIVATE) && !kvm_memslot_is_gmem_only(s)))
		return;
	for (unsigned int i = 0; i < mf->n; i++) {
		if (memmap_gmem_pgoff(mf->gmem[i].file, s, &pgoff)) {
			r->gmem_fd = mf->gmem[i].fd;
			r->gmem_offset = (pgoff + gfn - s->base_gfn) << HW_PAGE_SHIFT;
			return;
		}
	}
}

static long memmap_fill(struct kvm *kvm, const struct memmap_files *mf,
			struct mv_vm_range *ranges, size_t max)
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
	memmap_flush(&o);
	for (long i = 0; i < o.n && (size_t)i < max; i++)
		memmap_gmem_backing(ms, mf, &ranges[i]);
	kvm_srcu_read_unlock(&kvm->srcu, idx);
	return o.n;
}

/**
 * mv_vm_memory_map - the guest-physical memory map of a VM, range by range
 *
 * See memvisor.h. Ranges come in GPA order (memslots are sorted and never
 * overlap); adjacent GFNs of one slot with the same attributes are one
 * range, and one slot's run of private GFNs is one file range too.
 */
MV_API long mv_vm_memory_map(struct mv_task *vmm, int vm_fd, struct mv_vm_range *ranges,
			     size_t max)
{
	struct memmap_files mf;
	struct file *f;
	struct kvm *kvm;
	long ret;

	if (!vmm || (max && !ranges))
		return -EINVAL;
	kvm = kvm_vm_fd_get(vmm, vm_fd, &f, &ret);
	if (!kvm)
		return ret;
	if (__atomic_load_n(&kvm->mm_gone, __ATOMIC_ACQUIRE))
		ret = -EIO;
	else
		ret = memmap_files_get(vmm, &mf);
	if (!ret) {
		ret = memmap_fill(kvm, &mf, ranges, max);
		memmap_files_put(&mf);
	}
	file_put(f);
	return ret;
}
