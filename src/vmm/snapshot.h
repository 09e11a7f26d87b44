/* SPDX-License-Identifier: MIT */
/*
 * VM snapshots (docs/snapshot.md): vmm_snapshot_save() turns a stopped VM
 * into one buffer; vmm_snapshot_restore() checks a whole buffer first and
 * only then builds a new VM from it, so a refused snapshot leaves nothing
 * behind. The snapshot holds architectural state only (memory, attributes,
 * Heki state, tags, registers): the guest PROGRAM of a vCPU (a host
 * function on a coroutine stack) is not saved, and the restored VM runs a
 * program the caller gives it, which continues from that state.
 *
 * File layout, all integers little-endian:
 *   header  (64 bytes): magic "MVSNAP\r\n", u32 version, u32 nsections,
 *                       u64 total length, SHA-256 of bytes [64, total),
 *                       u64 reserved (0)
 *   sections, in type order, each once: u32 type, u32 count, u64 length,
 *                       then length bytes (count items of the type's size)
 */
#ifndef MV_VMM_SNAPSHOT_H
#define MV_VMM_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/vmm.h"

#define VMM_SNAP_MAGIC    "MVSNAP\r\n"
/*
 * 2: several memslots, each with its guest_memfd offset; 3: each vCPU's
 * MTE tag-check state; 4: each vCPU's queued exception. Versions 2 and 3
 * are still read (their vCPUs get the state a new vCPU has: sync checks,
 * nothing queued); anything else is refused.
 */
#define VMM_SNAP_VERSION     4u
#define VMM_SNAP_VERSION_MIN 2u
#define VMM_SNAP_HDR_SIZE 64u
#define VMM_SNAP_SEC_SIZE 16u
#define VMM_SNAP_PAGE     4096u
#define VMM_SNAP_TAG_BYTES 256u    /* one 4-bit tag per byte per 16-byte granule */

enum vmm_snap_section {
	VMM_SNAP_CONFIG = 1,   /* struct vmm_snap_config, count 1 */
	VMM_SNAP_SLOTS,        /* struct vmm_snap_slot[count]: every memslot, by GPA */
	VMM_SNAP_DIRTY,        /* the RAM slot's pending dirty bitmap: count pages, u64 words */
	VMM_SNAP_ATTRS,        /* struct vmm_snap_run[count]: KVM_MEMORY_ATTRIBUTE_* runs */
	VMM_SNAP_SHARED,       /* struct vmm_snap_page[count]: shared pages not all zero */
	VMM_SNAP_PRIVATE,      /* struct vmm_snap_private[count]: exported private pages */
	VMM_SNAP_TAGS,         /* struct vmm_snap_tags[count]: MTE tags of pages with any set */
	VMM_SNAP_HEKI,         /* struct vmm_snap_heki, then count struct vmm_snap_run (perms) */
	VMM_SNAP_VCPUS,        /* struct vmm_snap_vcpu[count], count = nr_vcpus */
	VMM_SNAP_NR_SECTIONS = VMM_SNAP_VCPUS,
};

struct vmm_snap_config {
	uint32_t nr_vcpus;
	uint32_t ram_flags;
	uint64_t ram_bytes;
	uint64_t ram_gpa;
	uint64_t vm_type;
	uint32_t private_mem;
	uint32_t mte;
	uint64_t epc_pages;    /* vEPC pages the VM had: their contents are lost */
};

/* A vEPC-backed slot (memvisor's flag, never a KVM_MEM_* bit): recreated empty. */
#define VMM_SNAP_SLOT_EPC  (1u << 31)
#define VMM_SNAP_MAX_SLOTS 32u

struct vmm_snap_slot {
	uint32_t slot;
	uint32_t flags;        /* KVM_MEM_*, or VMM_SNAP_SLOT_EPC alone */
	uint64_t gpa;
	uint64_t size;
	uint64_t gmem_offset;  /* the slot's offset in its guest_memfd (0 without one) */
};

struct vmm_snap_run {
	uint64_t gfn;
	uint64_t npages;
	uint64_t val;
};

struct vmm_snap_page {
	uint64_t gfn;
	uint8_t data[VMM_SNAP_PAGE];
};

/* data: the page's ciphertext, then (a VM with MTE) its tags' ciphertext, else zeros. */
struct vmm_snap_private {
	uint64_t gfn;
	uint8_t mac[32];
	uint8_t data[VMM_SNAP_PAGE + VMM_SNAP_TAG_BYTES];
};

struct vmm_snap_tags {
	uint64_t gfn;
	uint8_t tags[VMM_SNAP_TAG_BYTES];
};

struct vmm_snap_heki {
	uint64_t cr_pinned[2];
	uint32_t flags;
	uint32_t pad;
};

/* The guest's CET state, by KVM_GET/SET_MSRS: U_CET, S_CET, PL0-3_SSP, INT_SSP_TAB. */
#define VMM_SNAP_CET_MSRS 7u

struct vmm_snap_vcpu {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint32_t ncet;                     /* CET MSRs saved: 0 (no CET) or VMM_SNAP_CET_MSRS */
	uint32_t pad;                      /* 0 */
	uint64_t cet[VMM_SNAP_CET_MSRS];   /* in vmm_snap_cet_msrs order */
	/* version 3 on: MSR_MV_MTE_CTRL, by KVM_GET/SET_MSRS, in two fields */
	uint32_t mte_tcf;                  /* MV_TCF_*; MV_TCF_NONE on a VM without MTE */
	uint32_t mte_flags;                /* VMM_SNAP_MTE_TBI, set exactly on a VM with MTE */
	/*
	 * version 4 on: the exception KVM has queued and not yet delivered,
	 * by KVM_GET/SET_VCPU_EVENTS (an injected one, or one raised, such as
	 * an asynchronous tag-check fault, before the vCPU was stopped)
	 */
	uint8_t exc_injected;              /* 0 or 1 */
	uint8_t exc_nr;                    /* the vector (reported even when not queued) */
	uint8_t exc_has_error_code;        /* 0 or 1 */
	uint8_t exc_pad;                   /* 0 */
	uint32_t exc_error_code;
};
#define VMM_SNAP_MTE_TBI 1u
/* A version 2 vCPU record: everything before mte_tcf; version 3: before exc_injected. */
#define VMM_SNAP_VCPU_V2_SIZE offsetof(struct vmm_snap_vcpu, mte_tcf)
#define VMM_SNAP_VCPU_V3_SIZE offsetof(struct vmm_snap_vcpu, exc_injected)
extern const uint32_t vmm_snap_cet_msrs[VMM_SNAP_CET_MSRS];

/*
 * A VM as the snapshot code sees it: by its fds, so any VMM's (a struct
 * vmm, or a scenario's) with one RAM memslot. cfg.ram_flags are the slot's
 * KVM_MEM_* flags without KVM_MEM_GUEST_MEMFD; private_mem says the slot
 * has a guest_memfd (gmem_fd, the VMM's fd of it, or -1 if unknown).
 */
struct vmm_restore_info;

/* One memslot of a VM being saved or restored; uaddr: the VMM's mapping (vEPC too). */
struct vmm_snap_vm_slot {
	struct vmm_snap_slot s;
	uint64_t uaddr;
};

struct vmm_snap_vm {
	struct mv_task *t;
	int vm_fd;
	unsigned int nr_vcpus;
	int vcpu_fds[VMM_MAX_VCPUS];
	struct vmm_config cfg;
	uint32_t slot;
	uint64_t ram_uaddr;
	int gmem_fd;
	/*
	 * Every memslot, by GPA (the RAM slot of cfg among them). probed: the
	 * layout came from the memory map, which shows a slot's guest_memfd
	 * only through its private pages, so KVM_MEM_GUEST_MEMFD may be
	 * missing from a slot's flags.
	 */
	unsigned int nslots;
	bool probed;
	struct vmm_snap_vm_slot slots[VMM_SNAP_MAX_SLOTS];
};

void vmm_snap_vm_of(struct vmm *v, struct vmm_snap_vm *out);
/*
 * The memory map of the VM behind @vm_fd (mv_vm_memory_map), in a
 * malloc'ed array grown until it fits: *@n ranges, or NULL with *@n a
 * negative errno.
 */
struct mv_vm_range *vmm_snap_memory_map(struct mv_task *t, int vm_fd, long *n);
/*
 * Describes the VM behind @vm_fd of @t's process, with these vCPU fds,
 * from what the VMM can ask KVM (mv_vm_memory_map, KVM_CHECK_EXTENSION, a
 * zero-length KVM_ARM_MTE_COPY_TAGS): 0, or -EOPNOTSUPP with *@why for a
 * VM with no RAM or more than VMM_SNAP_MAX_SLOTS memslots, -EINVAL for bad
 * fds. Every memslot is described (vEPC ones with VMM_SNAP_SLOT_EPC); the
 * lowest RAM slot is cfg's.
 */
MV_MUST_CHECK int vmm_snap_vm_probe(struct mv_task *t, int vm_fd, const int *vcpu_fds,
				    unsigned int nr_vcpus, struct vmm_snap_vm *out,
				    const char **why);
MV_MUST_CHECK int vmm_snapshot_save_vm(const struct vmm_snap_vm *v, unsigned int flags, void **buf,
				       size_t *len);
/* vmm_snapshot_apply for a VM described by its fds. */
MV_MUST_CHECK int vmm_snapshot_apply_vm(const struct vmm_snap_vm *v, const void *buf, size_t len,
					struct vmm_restore_info *info, const char **why);
/* Memslot @i of @v set again with @flags (dirty logging on): 0 or -errno. */
int vmm_snap_set_slot_flags(const struct vmm_snap_vm *v, unsigned int i, uint32_t flags);

/* What a restore tells its caller besides the VM. */
struct vmm_restore_info {
	uint64_t epc_lost;           /* vEPC pages whose enclaves the guest lost */
	uint64_t dirty_pages;        /* pending dirty bits carried in the snapshot */
	uint64_t shared_pages, private_pages, tagged_pages, heki_runs;
};

/*
 * Saves @v, whose vCPUs must not be running: 0 with a malloc'ed buffer in
 * *@buf (free() it) of *@len bytes, or a negative errno (an ioctl's, or
 * -ENOMEM). Harvests the dirty log (KVM_GET_DIRTY_LOG clears it).
 */
MV_MUST_CHECK int vmm_snapshot_save(struct vmm *v, void **buf, size_t *len);
/*
 * Checks @buf completely (vmm_snapshot_check), then makes a new VM in @t's
 * process from it: 0 with it in *@out (vCPUs without programs: give each
 * one with vmm_set_guest), or a negative errno with no VM left behind
 * (-EOPNOTSUPP for a snapshot of several memslots: struct vmm has one;
 * vmm_snapshot_restore_built builds any layout, or the caller builds it
 * and uses vmm_snapshot_apply_vm); *@why (optional) then names what was
 * refused. @info is optional.
 */
MV_MUST_CHECK int vmm_snapshot_restore(struct mv_task *t, const void *buf, size_t len,
				       struct vmm **out, struct vmm_restore_info *info,
				       const char **why);
/*
 * The same into @v, a VM made with the snapshot's configuration (dirty
 * logging off) that never ran, whose memory may already hold pages (a
 * migration's pre-copy): applies the snapshot's pages, attributes, private
 * pages, tags, registers and Heki state. On failure @v is half-built: the
 * caller destroys it.
 */
MV_MUST_CHECK int vmm_snapshot_apply(struct vmm *v, const void *buf, size_t len,
				     struct vmm_restore_info *info, const char **why);
/*
 * vmm_snapshot_save without the shared pages and tags (VMM_SNAP_STATE_ONLY):
 * the stop-and-copy state of a migration, whose pages went ahead.
 */
#define VMM_SNAP_STATE_ONLY 1u
MV_MUST_CHECK int vmm_snapshot_save_flags(struct vmm *v, unsigned int flags, void **buf,
					  size_t *len);
/* Validation alone: 0, -EINVAL (malformed), -EBADMSG (checksum), -EPROTO (version). */
MV_MUST_CHECK int vmm_snapshot_check(const void *buf, size_t len, const char **why);

/* A snapshot's configuration and memslots, by GPA. */
struct vmm_snap_layout {
	struct vmm_snap_config cfg;
	uint32_t nslots;
	struct vmm_snap_slot slots[VMM_SNAP_MAX_SLOTS];
};
/* vmm_snapshot_check, then the layout of the VM @buf describes in *@out. */
MV_MUST_CHECK int vmm_snapshot_layout(const void *buf, size_t len, struct vmm_snap_layout *out,
				      const char **why);

/*
 * A VM built in a process to a snapshot's layout (snapshot_build.c): the
 * VMM a snapshot of several memslots needs, which struct vmm is not.
 * slot_fd[i]: memslot i's guest_memfd or vEPC fd, -1 if it has neither.
 */
struct vmm_snap_built {
	struct vmm_snap_vm vm;
	int kvm_fd;
	int slot_fd[VMM_SNAP_MAX_SLOTS];
};
/*
 * Checks @buf completely, builds its VM in @t's process (every memslot,
 * with fresh memory, guest_memfds and vEPCs) and applies the snapshot
 * (vmm_snapshot_apply_vm): 0 with the VM in *@out (release it with
 * vmm_snapshot_built_release), or a negative errno and *@why with nothing
 * left behind. Restores a one-slot snapshot as well.
 */
MV_MUST_CHECK int vmm_snapshot_restore_built(struct mv_task *t, const void *buf, size_t len,
					     struct vmm_snap_built *out,
					     struct vmm_restore_info *info, const char **why);
/* Closes the VM's fds and unmaps its memory; @b may be half-built. */
void vmm_snapshot_built_release(struct vmm_snap_built *b);

/* Whole-file helpers (host files): 0 or -errno. */
MV_MUST_CHECK int vmm_snapshot_write_file(const char *path, const void *buf, size_t len);
MV_MUST_CHECK int vmm_snapshot_read_file(const char *path, void **buf, size_t *len);

#endif
