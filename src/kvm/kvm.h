/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor layer: /dev/kvm, VMs, vCPUs running guest coroutines,
 * memslots, memory attributes, the stage-2 (EPT) MMU and exits. It sits on
 * src/kernel (VM and vCPU fds are files there) and src/hw (EPT tables in
 * simulated memory, one hw_cpu per vCPU).
 *
 * Locks (the one order for the tree is in docs/architecture.md): KVM's
 * own, outer first, are vcpu->mutex, kvm->lock, kvm->slots_lock,
 * kvm->heki.lock (heki.h), a binding's kvm_gmem_slot->lock; then the kernel's mm->mmap_lock,
 * gmem->lock, mapping->lock and mm->notifier_lock, under which notifier
 * callbacks take kvm->mn_lock, kvm->mmu_lock (rwlock) and kvm->attr_lock.
 * kvm->ring_lock (the coalesced-MMIO ring's producers) is a leaf.
 * The srcu read side nests anywhere below slots_lock and never waits.
 * The SRCU-like scheme: readers bump a per-epoch counter and never wait;
 * a memslot update publishes a new array and waits until every reader of
 * the old epoch has left, then frees the old array (kvm_srcu_synchronize).
 * A vCPU's guest memory access (hw TLB hit or walk plus the copy) runs in
 * the CPU's access bracket (hw/cpu.h): stage-2 zaps bump the machine TLB
 * generation and wait for every vCPU of the VM to leave its bracket before
 * the pages can be freed, as KVM's remote TLB flush waits for the IPI
 * acknowledgements. A bracket takes no lock, so the wait may hold any.
 */
#ifndef MV_KVM_KVM_H
#define MV_KVM_KVM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <memvisor/memvisor.h>

#include "hw/cpu.h"
#include "kvm/heki.h"
#include "kernel/kernel.h"
#include "lib/itree.h"
#include "lib/radix.h"

#define KVM_MAX_VCPUS        1024u         /* CONFIG_KVM_MAX_NR_VCPUS default */
#define KVM_MAX_VCPU_IDS     (KVM_MAX_VCPUS * 4)
#define KVM_MEM_SLOTS_NUM    0x7fffu       /* SHRT_MAX */
#define KVM_INTERNAL_MEM_SLOTS 3u
#define KVM_USER_MEM_SLOTS   (KVM_MEM_SLOTS_NUM - KVM_INTERNAL_MEM_SLOTS)
#define KVM_MEM_MAX_NR_PAGES ((1ull << 31) - 1)
#define KVM_NR_ADDRESS_SPACES 1u           /* no SMM */
/*
 * kvm_mmu_max_gfn(): stage 2 maps guest-physical addresses below the host's
 * MAXPHYADDR, which memvisor's CPU reports as 46 bits (hw/cpu.h).
 */
#define KVM_HOST_PHYS_BITS   46u
#define KVM_MMU_MAX_GFN      ((1ull << (KVM_HOST_PHYS_BITS - HW_PAGE_SHIFT)) - 1)
#define KVM_MEMSLOT_INVALID  (1u << 16)    /* internal: being deleted or moved */
#define KVM_MEMSLOT_GMEM_ONLY (1u << 17)   /* internal: every page comes from the guest_memfd */
#define KVM_MEMSLOT_EPC      (1u << 18)   /* internal: backed by a vEPC mapping (kvm/sgx.c) */
#define KVM_MEMSLOT_INTERNAL (KVM_MEMSLOT_INVALID | KVM_MEMSLOT_GMEM_ONLY | KVM_MEMSLOT_EPC)
#define KVM_VCPU_MMAP_PAGES  3u            /* run page, PIO page, coalesced MMIO ring */
#define KVM_SUPPORTED_VM_TYPES ((1ull << KVM_X86_DEFAULT_VM) | (1ull << KVM_X86_SW_PROTECTED_VM))
#define KVM_EXIT_HYPERCALL_VALID_MASK (1ull << KVM_HC_MAP_GPA_RANGE)

struct kvm;
struct kvm_vcpu;

/* The layer's per-machine state, initialised by mv_machine_create. */
struct kvm_subsys {
	struct kernel *k;
	struct hw_machine *hw;
	uint64_t dev_ino;          /* /dev/kvm's inode */
	uint32_t next_vmid;        /* atomic */
};

MV_MUST_CHECK int kvm_init(struct kvm_subsys *s, struct kernel *k);
/* KVM_CAP_SGX_ATTRIBUTE: 1 when the machine has SGX, as mainline with enable_sgx (guest_sgx.c). */
long kvm_sgx_check_attribute(const struct hw_machine *hw);
/* SGX on the VM side (kvm/sgx.c): the EPC limit, vEPC-backed memslots. */
struct kvm_memory_slot;
long kvm_sgx_enable_epc_limit(struct kvm *kvm, uint64_t pages, uint64_t flags);
/* A new slot over a vEPC mapping: marks it KVM_MEMSLOT_EPC and charges the vEPC to the VM. */
int kvm_sgx_prepare_slot(struct kvm *kvm, struct kvm_memory_slot *slot);
void kvm_sgx_vm_destroy(struct kvm *kvm);
/* EPC pages charged to the VM and its limit (0: none). */
void kvm_sgx_epc_usage(struct kvm *kvm, uint64_t *usage, uint64_t *limit);
void kvm_fini(struct kvm_subsys *s);

/* ---- SRCU-like read side for kvm->memslots (memslot.c) ---- */
struct kvm_srcu {
	uint32_t idx;              /* atomic: current epoch parity */
	uint64_t cnt[2];           /* atomic: readers per epoch */
	pthread_mutex_t sync_lock;
};
int kvm_srcu_read_lock(struct kvm_srcu *s);
void kvm_srcu_read_unlock(struct kvm_srcu *s, int idx);
void kvm_srcu_synchronize(struct kvm_srcu *s);

/* ---- memslots (memslot.c) ---- */
struct kvm_memory_slot {
	uint32_t id;               /* slot id (address space 0) */
	uint32_t flags;            /* KVM_MEM_* | KVM_MEMSLOT_INVALID */
	uint64_t base_gfn;
	uint64_t npages;
	uint64_t userspace_addr;
	unsigned long *dirty_bitmap;   /* with KVM_MEM_LOG_DIRTY_PAGES; atomic bit sets */
	struct kvm_gmem_slot *gmem;    /* KVM_MEM_GUEST_MEMFD binding (gmem.c), or NULL */
};

/* An immutable snapshot, sorted by base_gfn; replaced as a whole. */
struct kvm_memslots {
	uint64_t generation;
	unsigned int nr;
	struct kvm_memory_slot *slots[];
};

/* Called with srcu held; NULL when no slot covers @gfn. */
struct kvm_memory_slot *kvm_memslot_find(const struct kvm_memslots *ms, uint64_t gfn);
struct kvm_memslots *kvm_memslots_get(struct kvm *kvm);   /* under srcu */
long kvm_vm_set_memory_region(struct kvm *kvm, const struct kvm_userspace_memory_region2 *mem);
/* The same with the file mem->guest_memfd names (a reference the caller keeps, or NULL). */
long kvm_vm_set_memory_region_gmem(struct kvm *kvm, const struct kvm_userspace_memory_region2 *mem,
				   struct file *gmem);
long kvm_vm_get_dirty_log(struct kvm *kvm, const struct kvm_dirty_log *log);
MV_MUST_CHECK int kvm_memslots_init(struct kvm *kvm);
void kvm_memslots_destroy(struct kvm *kvm);
static inline uint64_t kvm_dirty_bitmap_bytes(const struct kvm_memory_slot *s)
{
	return ((s->npages + 63) / 64) * 8;
}
/*
 * kvm_memslot_is_gmem_only(): the slot is bound to a guest_memfd that can
 * be mmapped (GUEST_MEMFD_FLAG_MMAP), so its shared pages come from that
 * file too and userspace_addr is never used (it may be 0).
 */
static inline bool kvm_memslot_is_gmem_only(const struct kvm_memory_slot *s)
{
	return s->flags & KVM_MEMSLOT_GMEM_ONLY;
}

/* ---- memory attributes (attr.c) ---- */
MV_MUST_CHECK int kvm_attr_init(struct kvm *kvm);
void kvm_attr_destroy(struct kvm *kvm);
uint64_t kvm_attr_get(struct kvm *kvm, uint64_t gfn);
/* Sets @attrs (0 clears) on [start, end). 0, -EINVAL, -ENOMEM (nothing changed). */
MV_MUST_CHECK int kvm_attr_set_range(struct kvm *kvm, uint64_t start, uint64_t end, uint64_t attrs);
/*
 * Read-modify-write of [start, end): each gfn's value becomes
 * (old & ~@clear) | @set. 0, -EINVAL or -ENOMEM (nothing changed). Heki
 * keeps its bits beside PRIVATE this way.
 */
MV_MUST_CHECK int kvm_attr_update_range(struct kvm *kvm, uint64_t start, uint64_t end,
					uint64_t clear, uint64_t set);
/*
 * A snapshot of the values over ranges (runs of equal values, 0 for none),
 * to undo a multi-range update that failed half-way: kvm_attr_snapshot
 * appends [start, end)'s runs (0 or -ENOMEM) and sets aside the nodes a
 * restore needs; kvm_attr_restore puts them back, valid when only nonzero
 * values were stored there since, and cannot fail; kvm_attr_snapshot_release
 * ends the snapshot either way, freeing its runs and the nodes set aside.
 * The callers serialise snapshot, update, restore and release (heki.lock).
 */
struct kvm_attr_run {
	uint64_t start, end, val;
};
struct kvm_attr_runs {
	struct kvm_attr_run *run;
	size_t n, cap;
};
MV_MUST_CHECK int kvm_attr_snapshot(struct kvm *kvm, uint64_t start, uint64_t end,
				    struct kvm_attr_runs *s);
int kvm_attr_restore(struct kvm *kvm, const struct kvm_attr_runs *s);
void kvm_attr_snapshot_release(struct kvm *kvm, struct kvm_attr_runs *s);
/* Appends [start, end)'s runs to @s only, to read them: 0 or -ENOMEM. */
MV_MUST_CHECK int kvm_attr_read_runs(struct kvm *kvm, uint64_t start, uint64_t end,
				     struct kvm_attr_runs *s);
/* True when every gfn of [start, end) has exactly @attrs under @mask. */
bool kvm_attr_range_is(struct kvm *kvm, uint64_t start, uint64_t end, uint64_t mask,
		       uint64_t attrs);
/*
 * The value at @gfn (0 for none) and, in *@run_end, where the run of that
 * value starting at @gfn ends, at most @end (> @gfn). Called with attr_lock
 * held; O(log runs).
 */
uint64_t kvm_attr_run_locked(struct kvm *kvm, uint64_t gfn, uint64_t end, uint64_t *run_end);
/* How many runs the VM holds: what its attributes cost (one node each). */
size_t kvm_attr_nr_runs(struct kvm *kvm);
/*
 * The attribute map: maximal runs [start, end) of one nonzero value, as
 * nodes of an interval tree, never overlapping and never two adjacent ones
 * with the same value. A gfn in no run has no attributes. Its memory and
 * its operations' time grow with the number of runs, not their length.
 */
struct kvm_attr_map {
	struct lib_itree runs;
	/* unlinked nodes, linked through ->right: for updates, and set aside for kvm_attr_restore */
	struct lib_itree_node *cache, *spare;
	size_t nr_cache, nr_spare;
	struct lib_itree_node *last;   /* the run kvm_attr_get found last; NULL after a change */
};

/* ---- the VM ---- */
struct kvm {
	struct kvm_subsys *sys;
	struct hw_machine *hw;
	struct mm *mm;                 /* the VMM's address space (not a reference) */
	unsigned long type;
	uint16_t vmid;
	uint32_t refcount;             /* atomic: VM fd + each vCPU fd */
	bool mm_gone;                  /* the mm was torn down (notifier release) */
	pthread_mutex_t lock;
	/* vCPUs */
	struct kvm_vcpu **vcpus;       /* KVM_MAX_VCPUS entries, published in order */
	uint32_t created_vcpus;        /* under lock */
	uint32_t online_vcpus;         /* atomic */
	/* memslots */
	pthread_mutex_t slots_lock;
	struct kvm_srcu srcu;
	struct kvm_memslots *memslots; /* atomic pointer, read under srcu */
	uint64_t nr_memslot_pages;     /* under slots_lock */
	uint64_t nr_mmu_pages;         /* KVM_SET_NR_MMU_PAGES, 0 until set; under slots_lock */
	/* stage 2 */
	pthread_rwlock_t mmu_lock;
	uint64_t ept_root;             /* pa of the EPT PML4 */
	uint64_t mmu_invalidate_seq;   /* atomic reads; written under mmu_lock */
	uint64_t mmu_invalidate_in_progress;
	uint64_t mmu_invalidate_range_start, mmu_invalidate_range_end;   /* gfns */
	pthread_mutex_t mn_lock;
	pthread_cond_t mn_cond;
	uint32_t mn_active_invalidate_count;
	struct mmu_notifier mmu_notifier;  /* on mm->notifiers (mmu.c); mm held by mmgrab */
	uint64_t stage2_faults;        /* atomic statistics */
	uint64_t stage2_retries;
	/* capabilities */
	uint64_t hypercall_exit_enabled;   /* KVM_CAP_EXIT_HYPERCALL mask */
	/* SGX: the per-VM EPC limit (kvm/sgx.c), created on first use; published with a CAS */
	struct sgx_epc_charge *epc_charge;
	bool mte_enabled;              /* KVM_CAP_ARM_MTE (mte.c): set under lock before any vCPU; atomic */
	/* coalesced MMIO (coalesced_mmio.c) */
	hw_pfn_t coalesced_mmio_pfn;   /* the ring page every vCPU fd maps at page 2 */
	pthread_mutex_t ring_lock;     /* a leaf: the ring's producers */
	struct kvm_coalesced_zones *coalesced_zones;  /* atomic pointer, read under srcu */
	/* memory attributes */
	pthread_mutex_t attr_lock;
	struct kvm_attr_map mem_attr;  /* runs of KVM_MEMORY_ATTRIBUTE_* bits; under attr_lock */
	struct kvm_heki heki;          /* Heki (heki.c): its own lock and atomics */
	bool has_run;                  /* atomic; set under lock by the first KVM_RUN (snapshot.c) */
};

/* The file behind a VM fd, or NULL if @f is not one. */
struct kvm *kvm_from_file(const struct file *f);
/*
 * The VM behind @vm_fd, a VM of @vmm's own process, with its file held in
 * *@fp (file_put when done); NULL with *@err -EBADF (not open) or -EINVAL
 * (not a VM fd of this process).
 */
struct kvm *kvm_vm_fd_get(struct mv_task *vmm, int vm_fd, struct file **fp, long *err);
void kvm_get(struct kvm *kvm);
void kvm_put(struct kvm *kvm);
long kvm_vm_create(struct mv_task *t, struct kvm_subsys *s, unsigned long type);
long kvm_check_extension(struct kvm *kvm, long cap);

/* ---- vCPUs (vcpu.c; their register state: vcpu_state.c) ---- */

/*
 * An exception queued for the guest (KVM's vcpu->arch.exception, without
 * payloads): pending is raised by KVM and not yet delivered, injected was
 * handed in by the VMM (KVM_SET_VCPU_EVENTS). Either is delivered at the
 * guest's next instruction boundary (guest.c). Under vcpu->mutex.
 */
struct kvm_queued_exception {
	bool pending, injected, has_error_code;
	uint8_t vector;
	uint32_t error_code;
};

struct kvm_vcpu {
	struct kvm *kvm;
	int vcpu_id;
	unsigned int vcpu_idx;
	pthread_mutex_t mutex;         /* KVM_RUN and the other vCPU ioctls */
	struct hw_cpu cpu;             /* this vCPU's CPU (guest mode, own TLB) */
	hw_pfn_t run_pfn, pio_pfn;
	struct kvm_run *run;
	struct kvm_regs regs;          /* GPRs; RIP and RSP live in cpu */
	uint64_t cr8;
	uint64_t apic_base;            /* MSR_IA32_APICBASE (no in-kernel local APIC) */
	struct kvm_queued_exception exception;
	struct mv_guest *guest;        /* the guest program, NULL until set */
	uint64_t exits;                /* statistics */
};

long kvm_vcpu_create(struct mv_task *t, struct kvm *kvm, unsigned long id);
/* Snapshot restore paths (snapshot.c): the first KVM_RUN closes them; memvisor's own VM ioctls. */
void kvm_snapshot_note_run(struct kvm *kvm);
long kvm_vm_ioctl_snapshot(struct kvm *kvm, unsigned int cmd, uint64_t arg);
void kvm_vcpu_destroy(struct kvm_vcpu *vcpu);
struct kvm_vcpu *kvm_vcpu_from_file(const struct file *f);

/* Register state (vcpu_state.c); all called with vcpu->mutex held. */
void kvm_vcpu_get_regs_locked(struct kvm_vcpu *vcpu, struct kvm_regs *regs);
void kvm_vcpu_set_regs_locked(struct kvm_vcpu *vcpu, const struct kvm_regs *regs);
void kvm_vcpu_get_sregs_locked(struct kvm_vcpu *vcpu, struct kvm_sregs *s);
MV_MUST_CHECK int kvm_vcpu_set_sregs_locked(struct kvm_vcpu *vcpu, const struct kvm_sregs *s);
void kvm_vcpu_get_events_locked(struct kvm_vcpu *vcpu, struct kvm_vcpu_events *ev);
MV_MUST_CHECK int kvm_vcpu_set_events_locked(struct kvm_vcpu *vcpu, struct kvm_vcpu_events *ev);
/* KVM_GET_MSRS / KVM_SET_MSRS (msr.c): the CET MSRs; vcpu->mutex held. */
long kvm_vcpu_ioctl_msrs(struct kvm_vcpu *vcpu, uint64_t arg, bool write);
/*
 * KVM_RUN's entry and exit work on the run area (kvm_arch_vcpu_ioctl_run):
 * kvm_valid_regs / kvm_dirty_regs checked and the dirty ones loaded, then
 * cr8 taken in (0 or -EINVAL); on the way out the valid ones stored and
 * if_flag, cr8, apic_base, ready_for_interrupt_injection and flags filled.
 */
MV_MUST_CHECK int kvm_vcpu_run_enter(struct kvm_vcpu *vcpu);
void kvm_vcpu_run_leave(struct kvm_vcpu *vcpu);
void kvm_vcpu_reset_state(struct kvm_vcpu *vcpu);

/* ---- stage 2 (mmu.c) ---- */
enum kvm_pf_result {
	KVM_PF_FIXED = 0,      /* mapped: retry the access */
	KVM_PF_MMIO,           /* no slot, or a write to a read-only slot: emulate as MMIO */
	KVM_PF_EFAULT,         /* the VMM's memory is gone: KVM_EXIT_MEMORY_FAULT, -EFAULT */
	KVM_PF_NOMEM,
	KVM_PF_EFAULT_PRIVATE, /* a private access the slot cannot back: KVM_EXIT_MEMORY_FAULT, PRIVATE */
	KVM_PF_HEKI_DENIED,    /* the guest's Heki permissions refuse the access: #PF */
};
/* Handles an EPT violation at @gpa (qualification @qual). Called by the vCPU. */
enum kvm_pf_result kvm_mmu_page_fault(struct kvm_vcpu *vcpu, uint64_t gpa, uint64_t qual);
MV_MUST_CHECK int kvm_mmu_init(struct kvm *kvm);
void kvm_mmu_destroy(struct kvm *kvm);
/* Zaps [start, end) gfns of stage 2 and flushes. Called with mmu_lock held for write. */
void kvm_mmu_zap_gfn_range_locked(struct kvm *kvm, uint64_t start, uint64_t end);
/* Frees the EPT tables under [start, end) gfns that map nothing (after a slot goes). */
void kvm_mmu_free_unused_tables_locked(struct kvm *kvm, uint64_t start, uint64_t end);
/* Removes write access on [start, end) (dirty logging). mmu_lock held for write. */
void kvm_mmu_wrprotect_gfn_range_locked(struct kvm *kvm, uint64_t start, uint64_t end);
/*
 * kvm_arch_mmu_enable_log_dirty_pt_masked(): write-protects gfn @gfn + i for
 * every bit i of @mask, without flushing; true if a leaf changed, and the
 * caller flushes once for the whole harvest. mmu_lock held for write.
 */
bool kvm_mmu_wrprotect_pt_masked_locked(struct kvm *kvm, uint64_t gfn, unsigned long mask);
/* Every vCPU drops its TLB and has left any in-flight access when this returns. */
void kvm_flush_remote_tlbs(struct kvm *kvm);
/* Memslot publication waits here while MMU notifiers are between start and end. */
void kvm_mn_wait_idle_locked(struct kvm *kvm);   /* returns with mn_lock held */
void kvm_init_mmu_notifier(struct kvm *kvm);
void kvm_destroy_mmu_notifier(struct kvm *kvm);
/*
 * An invalidation of [start, end) gfns that does not come from the mm
 * (guest_memfd punches, attribute changes): zaps and holds faults off the
 * range until the matching end, bumping the sequence as the MMU notifier.
 */
void kvm_mmu_invalidate_begin(struct kvm *kvm, uint64_t start, uint64_t end);
void kvm_mmu_invalidate_end(struct kvm *kvm);
/* The current stage-2 leaf for @gpa (0 if none), for tests and tools. */
uint64_t kvm_mmu_lookup(struct kvm *kvm, uint64_t gpa);

/* ---- guest coroutines (guest.c) and hypercalls (hypercall.c) ---- */
MV_MUST_CHECK int kvm_guest_create(struct kvm_vcpu *vcpu, mv_guest_fn fn, void *arg);
void kvm_guest_destroy(struct mv_guest *g);
/*
 * Runs the guest until it needs user space; KVM_RUN's result. Without
 * @wants_to_run (immediate_exit) the guest only finishes the exit it left
 * pending (complete_userspace_io) and the result is -EINTR.
 */
long kvm_guest_run(struct kvm_vcpu *vcpu, bool wants_to_run);
/* Called on the guest stack: hand the vCPU to user space with run filled in. */
void kvm_guest_exit_to_user(struct mv_guest *g, long run_ret);
/* KVM_RUN returns -EFAULT with a KVM_EXIT_MEMORY_FAULT for @gpa's page; resumes on re-entry. */
void kvm_guest_memory_fault_exit(struct mv_guest *g, uint64_t gpa, bool private);
/*
 * The same for an exit the VMM answers in the run area (MMIO, a
 * hypercall), which the next KVM_RUN completes even with immediate_exit
 * set (complete_userspace_io). KVM_RUN returns 0.
 */
void kvm_guest_exit_for_completion(struct mv_guest *g);
struct kvm_vcpu *kvm_guest_vcpu(struct mv_guest *g);
long kvm_emulate_hypercall(struct mv_guest *g, uint64_t nr, const uint64_t a[4]);
bool kvm_guest_long_mode(const struct kvm_vcpu *vcpu);

/* ---- coalesced MMIO (coalesced_mmio.c) ---- */
#define KVM_COALESCED_RING_MAX \
	((uint32_t)((4096 - sizeof(struct kvm_coalesced_mmio_ring)) / sizeof(struct kvm_coalesced_mmio)))
struct kvm_coalesced_zones;
MV_MUST_CHECK int kvm_coalesced_mmio_init(struct kvm *kvm);
void kvm_coalesced_mmio_free(struct kvm *kvm);
long kvm_vm_ioctl_register_coalesced_mmio(struct kvm *kvm,
					  const struct kvm_coalesced_mmio_zone *zone);
long kvm_vm_ioctl_unregister_coalesced_mmio(struct kvm *kvm,
					    const struct kvm_coalesced_mmio_zone *zone);
/* A guest MMIO write a zone takes into the ring (true), or one for the VMM (false). */
bool kvm_coalesced_mmio_write(struct kvm *kvm, uint64_t gpa, uint32_t len, const void *val);

/* ---- guest private memory (gmem.c; the kernel side is kernel/guest_memfd.c) ---- */
struct kvm_gmem_slot;
long kvm_vm_ioctl_create_guest_memfd(struct mv_task *t, struct kvm *kvm, uint64_t arg);
long kvm_vm_ioctl_set_memory_attributes(struct kvm *kvm, uint64_t arg);
uint64_t kvm_gmem_supported_flags(const struct kvm *kvm);
uint64_t kvm_supported_mem_attributes(const struct kvm *kvm);
/* Binds @slot to @file at @offset (kvm_gmem_bind's checks): 0, -EBADF, -EINVAL, -ENOMEM. */
MV_MUST_CHECK int kvm_gmem_bind(struct kvm *kvm, struct kvm_memory_slot *slot, struct file *file,
				uint64_t offset);
void kvm_gmem_unbind(struct kvm_memory_slot *slot);
/* The first page of the file @slot (which has a binding) is bound at. */
uint64_t kvm_gmem_slot_pgoff(const struct kvm_memory_slot *slot);
/*
 * The guest_memfd page for @gfn with a reference, and the largest order a
 * stage-2 leaf may map it with: 0, -EFAULT (file gone), -ENOMEM.
 */
MV_MUST_CHECK int kvm_gmem_get_pfn(const struct kvm_memory_slot *slot, uint64_t gfn, hw_pfn_t *pfn,
				   unsigned int *max_order);
static inline bool kvm_mem_is_private(struct kvm *kvm, uint64_t gfn)
{
	return kvm_attr_get(kvm, gfn) & KVM_MEMORY_ATTRIBUTE_PRIVATE;
}

#endif
