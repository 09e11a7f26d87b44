/* SPDX-License-Identifier: MIT */
/*
 * Guest private memory: one implementation with two faces.
 *
 *  - the seed face, memfd_restricted(flags) (memvisor syscall 1000): a file
 *    that cannot be read, written or mapped, sized once by ftruncate, whose
 *    pages only an in-kernel user (KVM) reaches, through gmem_get_page();
 *  - the mainline face, KVM_CREATE_GUEST_MEMFD (gmem_create(), called by
 *    the VM ioctl): fixed size, optional shared mmap (GUEST_MEMFD_FLAG_MMAP,
 *    GUEST_MEMFD_FLAG_INIT_SHARED), holding its owner (the VM).
 *
 * Pages are unmovable and unevictable, kept in folios of order 9 (2 MiB)
 * where the file allows and order 0 elsewhere. In-kernel users register
 * notifiers; every invalidation names one folio (head pfn and order), so a
 * 2 MiB folio costs one notification (the seed reply's request).
 *
 * Locking (the order: docs/architecture.md): gmem->lock nests inside
 * kvm->slots_lock, a binding's lock and mm->mmap_lock (user faults), and
 * outside mapping->lock, mm->pt_lock and whatever the notifier callbacks
 * take (KVM's mn_lock and mmu_lock). Notifier callbacks run with
 * gmem->lock held: they must not call back into guest_memfd.
 */
#ifndef MV_KERNEL_GUEST_MEMFD_H
#define MV_KERNEL_GUEST_MEMFD_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/kernel.h"
#include "lib/itree.h"
#include "lib/list.h"

/* The folio orders guest_memfd uses. */
#define GMEM_HUGE_ORDER 9u
#define GMEM_HUGE_PAGES (1ull << GMEM_HUGE_ORDER)

/* Who owns a guest_memfd (the VM): the file holds a reference for its life. */
struct gmem_owner_ops {
	void (*get)(void *owner);
	void (*put)(void *owner);
};

struct gmem_notifier;
struct gmem_notifier_ops {
	/*
	 * Page offsets [start, end) of the file, all backed by the folio whose
	 * head frame is @head, of @order, are about to lose their page (punch)
	 * or change shape (split). Called with gmem->lock held.
	 */
	void (*invalidate_start)(struct gmem_notifier *n, uint64_t start, uint64_t end,
				 hw_pfn_t head, unsigned int order);
	/* The change is done: [start, end) may be faulted in again. */
	void (*invalidate_end)(struct gmem_notifier *n, uint64_t start, uint64_t end);
};

struct gmem_notifier {
	const struct gmem_notifier_ops *ops;
	struct lib_list link;          /* in the file's notifier list, under gmem->lock */
};

/*
 * A range of the file bound to an owner's object (a memslot). A binding
 * holds no reference on the file: the file pins its owner, not the other
 * way round. When the file's last reference goes while still bound, each
 * binding is unlinked and @released (set by the caller before gmem_bind,
 * may be NULL) is called, without any guest_memfd lock held; the owner
 * must then forget the file and never call gmem_unbind on it.
 */
struct gmem_binding {
	struct lib_itree_node node;    /* page offsets [start, end) */
	void *data;                    /* the owner's object */
	void (*released)(struct gmem_binding *b);
};

/*
 * Machine-wide accounting and the host direct-map model (gmem_dmap.c).
 * Pages and folios are current counts; the rest are totals since boot.
 */
struct gmem_stats {
	uint64_t unmovable_pages;      /* guest_memfd pages allocated, unmovable */
	uint64_t unevictable_pages;    /* ... and unevictable (the same pages) */
	uint64_t folios_2m, folios_4k; /* folios in every guest_memfd cache */
	uint64_t folio_splits;         /* 2 MiB folios split by a partial punch */
	uint64_t split_deferred;       /* partial punches that zeroed instead (folio in use) */
	uint64_t notifications;        /* invalidate_start calls made */
	uint64_t dmap_2m_entries;      /* direct-map 2 MiB entries present now */
	uint64_t dmap_4k_splits;       /* 2 MiB direct-map entries split to 4 KiB */
	uint64_t dmap_restores;        /* 2 MiB direct-map entries restored */
	uint64_t dmap_private_pages;   /* pages removed from the direct map now */
};

/* What kind of file @f is. */
bool file_is_gmem(const struct file *f);            /* either face */
bool file_is_restrictedmem(const struct file *f);   /* the seed face only */

/* The owner given at creation (NULL for memfd_restricted), the size, the flags. */
void *gmem_owner(const struct file *f);
uint64_t gmem_size(struct file *f);
uint64_t gmem_flags(const struct file *f);

/**
 * gmem_get_page - the page at page offset @index, allocated zeroed if absent
 * @f: a guest_memfd (either face)
 * @index: page offset in the file, below its size
 * @pfn: set to the page's frame (inside its folio)
 * @order: set to the folio's order (0 or GMEM_HUGE_ORDER)
 *
 * Returns 0 with a folio reference for the caller (drop it with
 * hw_folio_put), -EINVAL past EOF (mainline only: the seed's shmem file
 * allocated past EOF) or for another file, -ENOMEM.
 */
MV_MUST_CHECK int gmem_get_page(struct file *f, uint64_t index, hw_pfn_t *pfn,
				unsigned int *order);

/* 0, or -EINVAL when @f is not a guest_memfd. */
MV_MUST_CHECK int gmem_register_notifier(struct file *f, struct gmem_notifier *n);
void gmem_unregister_notifier(struct file *f, struct gmem_notifier *n);

/*
 * Binds pages [pgoff, pgoff + npages) of @f to @data for @owner: 0, or
 * -EINVAL if @f is not a guest_memfd, belongs to another owner, the range is
 * empty, wraps, passes EOF or overlaps an existing binding (the last two
 * only for guest_memfd: the seed checked neither).
 */
MV_MUST_CHECK int gmem_bind(struct file *f, const void *owner, struct gmem_binding *b,
			    uint64_t pgoff, uint64_t npages, void *data);
void gmem_unbind(struct file *f, struct gmem_binding *b);
/* The data bound at @index, or NULL. */
void *gmem_binding_at(struct file *f, uint64_t index);
/*
 * A reference on @f unless its last one is already gone (release running):
 * how an owner that holds no reference (a memslot) reaches the file. The
 * caller must keep @f from being freed meanwhile, e.g. by holding the lock
 * its binding's @released callback takes.
 */
MV_MUST_CHECK bool gmem_file_tryget(struct file *f);

void gmem_get_stats(struct kernel *k, struct gmem_stats *out);

/*
 * KVM_CREATE_GUEST_MEMFD's work for the VM ioctl: checks @size and @flags
 * (GUEST_MEMFD_FLAG_*) and installs a new guest_memfd holding @owner
 * through @ops. Returns the fd, -EINVAL, -ENOMEM, -EMFILE.
 */
long gmem_create(struct mv_task *t, uint64_t size, uint64_t flags,
		 const struct gmem_owner_ops *ops, void *owner);

/* ---- internal to guest_memfd.c and gmem_dmap.c ---- */
struct gmem_host;
/* The machine-wide state, created on first use, or ERR_PTR(-ENOMEM). */
struct gmem_host *gmem_host_get(struct kernel *k);
/* Accounting of a folio entering / leaving a cache; @private: off the direct map. */
void gmem_host_folio_added(struct gmem_host *h, hw_pfn_t head, unsigned int order, bool private);
void gmem_host_folio_removed(struct gmem_host *h, hw_pfn_t head, unsigned int order,
			     bool private);
void gmem_host_folio_split(struct gmem_host *h, hw_pfn_t head, bool private);
/* Counters with no frame behind them. */
#define GMEM_NOTE_SPLIT_DEFERRED 0u
#define GMEM_NOTE_NOTIFICATION   1u
void gmem_host_note(struct gmem_host *h, unsigned int what, uint64_t n);
/* kernel_fini's call: frees the machine-wide state. */
void gmem_host_destroy(struct kernel *k);

#endif
