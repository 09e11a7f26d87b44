/* SPDX-License-Identifier: MIT */
/*
 * Address spaces: VMAs, page faults, GUP, user access and MMU notifiers;
 * Linux's include/linux/mm.h, mm_types.h and mmu_notifier.h.
 *
 * Locks, outer first: mm->mmap_lock (rwlock: read for faults, GUP and user
 * accesses, write for mmap/munmap/mprotect/madvise and notifier
 * registration), mapping->lock (fs.h), mm->pt_lock (page-table entries and
 * the rss counters). Page-table entries are also read by the hardware
 * walker without any lock: they are written only through set_pte() and
 * friends (hw/pgtable.h).
 */
#ifndef MV_KERNEL_MM_H
#define MV_KERNEL_MM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/cpu.h"
#include "hw/phys.h"
#include "lib/err.h"
#include "lib/itree.h"
#include "lib/list.h"
#include "lib/lockdep.h"

struct kernel;
struct mv_task;
struct file;
struct mapping;

/* VMA flags: Linux's VM_* meanings, memvisor's own bit values. */
#define VM_READ        (1ul << 0)
#define VM_WRITE       (1ul << 1)
#define VM_EXEC        (1ul << 2)
#define VM_SHARED      (1ul << 3)
#define VM_MAYREAD     (1ul << 4)
#define VM_MAYWRITE    (1ul << 5)
#define VM_MAYEXEC     (1ul << 6)
#define VM_MAYSHARE    (1ul << 7)
#define VM_GROWSDOWN   (1ul << 8)
#define VM_PFNMAP      (1ul << 10)
#define VM_IO          (1ul << 14)
#define VM_DONTCOPY    (1ul << 17)
#define VM_DONTEXPAND  (1ul << 18)
#define VM_NORESERVE   (1ul << 21)
#define VM_WIPEONFORK  (1ul << 25)   /* MADV_WIPEONFORK: the child gets zeroes */
#define VM_DONTDUMP    (1ul << 26)
#define VM_HUGEPAGE    (1ul << 29)   /* MADV_HUGEPAGE */
#define VM_NOHUGEPAGE  (1ul << 30)   /* MADV_NOHUGEPAGE */
#define VM_SHADOW_STACK (1ul << 33)
#define VM_MTE         (1ul << 36)   /* PROT_MTE: pages carry allocation tags (kernel/mte.c) */
#define VM_MTE_ALLOWED (1ul << 37)   /* anonymous or shmem: PROT_MTE may be set */
/*
 * mseal(2) (kernel/mseal.c): the VMA may no longer be unmapped, moved,
 * resized, re-protected or replaced, nor its read-only anonymous pages
 * discarded. Linux's VM_SEALED, bit 42 (VM_SEALED_BIT) since 6.17, 63
 * before. Fork copies it with the other flags (dup_mmap).
 */
#define VM_SEALED      (1ul << 42)
/*
 * memvisor's own: a private mapping of /dev/zero. Linux keeps vm_file (the
 * device) on such an anonymous VMA; memvisor drops the file (anonymous is
 * file == NULL) and keeps this bit instead, for what the file changes:
 * the VMA never merges with a MAP_ANONYMOUS one, a move of several VMAs
 * refuses it (vma_multi_allowed(): the device places its own mappings),
 * and so does MADV_WIPEONFORK (-EINVAL: it wants no vm_file).
 */
#define VM_ZERO_PRIVATE (1ul << 62)
#define VM_STACK       VM_GROWSDOWN
#define VM_ACCESS_FLAGS (VM_READ | VM_WRITE | VM_EXEC)

/* Fault flags (vm_fault) */
#define FAULT_WRITE  (1u << 0)
#define FAULT_EXEC   (1u << 1)
#define FAULT_USER   (1u << 2)
#define FAULT_SHSTK  (1u << 3)
#define FAULT_FORCE  (1u << 4)   /* GUP with FOLL_FORCE */
#define FAULT_REMOTE (1u << 5)

/* Fault results: 0 = page mapped, otherwise one of these. */
#define VM_FAULT_SIGSEGV 1
#define VM_FAULT_SIGBUS  2
#define VM_FAULT_OOM     3
#define VM_FAULT_RETRY   4

struct vm_ops {
	const char *name;
	/*
	 * Find the page backing page offset @pgoff of the VMA's file: return
	 * 0 and *pfn with a folio reference held for the caller, or
	 * VM_FAULT_*. Called with mmap_lock held for read.
	 */
	int (*fault)(struct vma *vma, uint64_t pgoff, unsigned int fault_flags, hw_pfn_t *pfn);
	/* A VMA is being split/copied (fork): take what you need. */
	void (*open)(struct vma *vma);
	/* A VMA is going away. */
	void (*close)(struct vma *vma);
};

struct vma {
	struct lib_itree_node node;   /* [vm_start, vm_end) in mm->vmas */
	struct mm *mm;
	unsigned long flags;          /* VM_* */
	uint64_t pgoff;               /* file offset of vm_start, in pages */
	struct file *file;            /* holds a reference, or NULL (anonymous) */
	const struct vm_ops *ops;
	void *private_data;
	struct lib_list mapping_link; /* in file->mapping->vmas, under mapping->lock */
};

static inline uint64_t vma_start(const struct vma *v) { return v->node.start; }
static inline uint64_t vma_end(const struct vma *v) { return v->node.end; }
/* Linux: vma_is_sealed(). */
static inline bool vma_is_sealed(const struct vma *v) { return v->flags & VM_SEALED; }

/*
 * Callbacks to secondary MMUs (KVM): every change that removes or
 * downgrades a user mapping is bracketed by start/end over the range.
 */
struct mmu_notifier;
struct mmu_notifier_ops {
	void (*invalidate_start)(struct mmu_notifier *n, struct mm *mm, uint64_t start,
				 uint64_t end);
	void (*invalidate_end)(struct mmu_notifier *n, struct mm *mm, uint64_t start,
			       uint64_t end);
	void (*release)(struct mmu_notifier *n, struct mm *mm);
};
struct mmu_notifier {
	const struct mmu_notifier_ops *ops;
	struct lib_list link;         /* in mm->notifiers, under mm->notifier_lock */
};

/* An address space: page tables in simulated memory, VMAs in a tree. */
struct mm {
	struct kernel *k;             /* read-only after creation */
	uint32_t users;               /* atomic: tasks using it */
	pthread_rwlock_t mmap_lock;
	pthread_mutex_t pt_lock;
	struct lib_itree vmas;        /* mmap_lock */
	uint64_t map_count;           /* mmap_lock write */
	uint64_t pgd;                 /* physical address of the PML4; read-only */
	uint64_t mmap_base;           /* top-down placement starts below this; mmap_lock */
	uint64_t stack_start, stack_end;  /* mmap_lock */
	/*
	 * Pages mapped, in all and by kind (vm_stat_account(): exec, else
	 * stack incl. shadow stacks, else private writable data), always the
	 * sum over the VMAs: vma.c keeps them as VMAs are linked, split,
	 * merged, resized, unlinked or change flags. mmap_lock for write.
	 */
	uint64_t total_vm, data_vm, exec_vm, stack_vm;
	uint64_t rss_anon, rss_file;  /* pages; pt_lock */
	/*
	 * MMU notifiers (struct mmu_notifier.link). notifier_lock plays the
	 * part of Linux's SRCU: every invalidation holds it for read while it
	 * calls the notifiers, (un)registration holds it for write, so an
	 * unregistered notifier is never called again.
	 */
	struct lib_list notifiers;
	pthread_rwlock_t notifier_lock;
	/*
	 * Linux's mm_count: references to the struct itself (mmgrab/mmdrop),
	 * which outlives the address space (users) for KVM's notifier.
	 * The users together hold one. Atomic.
	 */
	uint32_t count;
};

/* Debug builds check that the caller holds mmap_lock (read or write). */
#define mm_assert_locked(mm)       lockdep_assert_held_read(&(mm)->mmap_lock)
#define mm_assert_write_locked(mm) lockdep_assert_held_write(&(mm)->mmap_lock)

/* ---- address spaces (mm.c, vma.c) ---- */
MV_MUST_CHECK struct mm *mm_create(struct kernel *k);   /* or ERR_PTR(-ENOMEM) */
/*
 * A copy for fork: VMAs duplicated, private pages shared copy-on-write.
 * Linux: dup_mm() / dup_mmap() with copy_page_range().
 */
MV_MUST_CHECK int mm_fork(struct mm *old, struct mm **out);
void mm_get(struct mm *mm);
void mm_put(struct mm *mm);                             /* last put tears down */
/* Keep the struct (not the address space) alive: Linux's mmgrab/mmdrop. */
void mmgrab(struct mm *mm);
void mmdrop(struct mm *mm);
/* Linux: vma_lookup(). */
struct vma *vma_find(struct mm *mm, uint64_t addr);     /* containing @addr */
/*
 * Hooks @n to @mm. mmu_notifier_unregister() unhooks it and returns only
 * when no invalidation can still be calling it; it may be called after the
 * address space was torn down (->release ran) as long as the caller holds
 * an mmgrab() reference. Neither may be called from a notifier callback.
 */
void mmu_notifier_register(struct mm *mm, struct mmu_notifier *n);
void mmu_notifier_unregister(struct mm *mm, struct mmu_notifier *n);

/*
 * The kernel-internal mmap: maps [addr, addr+len) (len page aligned) with
 * VM_* @vm_flags, placing it as @map_flags (MAP_FIXED...) say. Returns the
 * address or a negative errno. Called with mmap_lock held for write.
 * Linux: do_mmap() after its argument checks.
 */
long mm_map_locked(struct mv_task *t, struct file *file, uint64_t addr, uint64_t len,
		   unsigned long vm_flags, unsigned long map_flags, uint64_t pgoff);
/*
 * Removes [start, end) (page aligned): 0, -ENOMEM, or -EPERM when a VMA of
 * the range is sealed (nothing removed). Called with mmap_lock held for
 * write. Linux: do_vmi_munmap().
 */
int mm_unmap_locked(struct mm *mm, uint64_t start, uint64_t end);
/*
 * Top-down free-range search honouring guard gaps, as get_unmapped_area.
 * Called with mmap_lock held.
 * Linux: vm_unmapped_area().
 */
long mm_get_unmapped_area(struct mm *mm, uint64_t hint, uint64_t len, uint64_t low,
			  unsigned long map_flags);

/*
 * Zap the PTEs of file pages [first_pgoff, last_pgoff] (inclusive) in every
 * VMA of @mapping (truncate, punch). Called without mapping->lock.
 * Linux: unmap_mapping_range().
 */
void mapping_unmap_range(struct mapping *mapping, uint64_t first_pgoff, uint64_t last_pgoff);

/* ---- faults and GUP (fault.c, gup.c) ---- */
/*
 * handle_mm_fault(): resolves a fault at @addr. 0: fixed, retry the access.
 * Otherwise VM_FAULT_SIGSEGV (with *si_code SEGV_MAPERR/SEGV_ACCERR) or
 * VM_FAULT_SIGBUS / VM_FAULT_OOM. Called with mmap_lock held for read.
 */
int handle_mm_fault(struct mm *mm, uint64_t addr, unsigned int fault_flags, int *si_code);

/*
 * What the kernel does with a fault @t's CPU raised in user mode (a load,
 * a store, a shadow-stack access): 0 when handle_mm_fault fixed it and the
 * access may be retried, -EFAULT with the signal Linux would send queued,
 * or -ENOMEM. Called with mmap_lock held for read.
 */
long task_user_fault(struct mv_task *t, const struct hw_fault *f, const char *cause);

/* The FAULT_* flags of a user-mode #PF with @error_code (do_user_addr_fault). */
static inline unsigned int fault_flags_from_pf(uint64_t error_code)
{
	unsigned int ff = FAULT_USER;

	if (error_code & X86_PF_W)
		ff |= FAULT_WRITE;
	if (error_code & X86_PF_I)
		ff |= FAULT_EXEC;
	if (error_code & X86_PF_SS)
		ff |= FAULT_SHSTK;
	return ff;
}

#define FOLL_WRITE  (1u << 0)
#define FOLL_FORCE  (1u << 1)
#define FOLL_REMOTE (1u << 2)
/*
 * Pins the page at @addr in @mm (faulting it in as needed): 0 and *pfn with
 * a folio reference, -EFAULT, -ENOMEM. FOLL_WRITE without FOLL_FORCE needs
 * a writable VMA; with FOLL_FORCE a private mapping is written through a
 * COW copy even when read-only. Caller holds mmap_lock for read.
 * Linux: get_user_pages_remote() for one page (__get_user_pages,
 * follow_page_pte, faultin_page).
 */
MV_MUST_CHECK long gup_one_locked(struct mm *mm, uint64_t addr, unsigned int gup_flags,
				  hw_pfn_t *pfn);
/*
 * For a VM_PFNMAP/VM_IO mapping GUP refuses (KVM's hva_to_pfn_remapped():
 * fixup_user_fault, then follow_pte): faults the page in through the
 * VMA's ->fault and returns its pfn with a folio reference. -EFAULT (no
 * such VMA, not a PFN map, a write to a read-only one, SIGBUS), -ENOMEM.
 * Caller holds mmap_lock for read.
 */
MV_MUST_CHECK long follow_pfnmap_locked(struct mm *mm, uint64_t addr, bool write, hw_pfn_t *pfn);
/*
 * Copies to/from @mm through GUP (ptrace / /proc/pid/mem style).
 * Linux: access_remote_vm().
 */
long access_remote_vm(struct mm *mm, uint64_t addr, void *buf, size_t len, unsigned int gup_flags);

/* ---- user access (uaccess.c) ---- */
/*
 * One access by @t's CPU (hw_mmu_read/hw_mmu_write with @acc) inside the
 * CPU's access bracket, so a shootdown waits for it before a page it
 * translated can be freed. 0 or -EFAULT with *fault filled in; no fault
 * handling here.
 */
MV_MUST_CHECK int task_cpu_access(struct mv_task *t, uint64_t va, void *buf, size_t len,
				  unsigned int acc, struct hw_fault *fault);
/*
 * mv_user_read/mv_user_write: the task's CPU touches user memory; faults go
 * to handle_mm_fault and are retried; a fault that becomes a signal queues it
 * and returns -EFAULT with nothing copied.
 * Linux: copy_from_user() / copy_to_user(), through the task's MMU.
 */
long uaccess_read(struct mv_task *t, uint64_t uaddr, void *buf, size_t len);
long uaccess_write(struct mv_task *t, uint64_t uaddr, const void *buf, size_t len);

#endif
