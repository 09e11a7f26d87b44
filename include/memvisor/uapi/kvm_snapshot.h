/* SPDX-License-Identifier: MIT */
/*
 * Saving and restoring a VM's protection state (docs/snapshot.md):
 * memvisor's own VM ioctls and vCPU MSR, for the state mainline KVM has
 * no uAPI for on this machine.
 *
 * Heki state (its pinned CR bits, whether the guest locked its
 * configuration, and every page's MEM_ATTR_* permissions including
 * IMMUTABLE) is read with KVM_HEKI_GET_STATE and put into a new VM with
 * KVM_HEKI_SET_STATE, which is served only before any vCPU of that VM
 * first ran (KVM_RUN): a restore, never a way for the VMM to loosen a
 * running guest's protections.
 *
 * Private (guest_memfd, KVM_MEMORY_ATTRIBUTE_PRIVATE) pages are read for
 * transport with KVM_GMEM_EXPORT_PAGE and written into the destination
 * with KVM_GMEM_IMPORT_PAGE, after the SEV (SEND_UPDATE_DATA /
 * RECEIVE_UPDATE_DATA) and TDX (TDH.EXPORT.MEM / TDH.IMPORT.MEM) model:
 * the platform, not the VMM, reads the page and hands the VMM only a
 * ciphertext and a MAC under a transport key the VMM never sees; the
 * destination platform refuses a page whose MAC does not match. Imports
 * are served only before the VM first ran.
 *
 * Numbers: KVMIO 0xf1..0xf4, next to KVM_HEKI_SET_POLICY (0xf0); mainline
 * numbers its KVMIO ioctls no higher than 0xe3 (KVM_HAS_DEVICE_ATTR), so
 * these cannot collide with one of today's; the capability, 1003, follows
 * Heki's 1000..1002, far above mainline's.
 */
#ifndef MEMVISOR_UAPI_KVM_SNAPSHOT_H
#define MEMVISOR_UAPI_KVM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include <memvisor/uapi/system.h>

#define KVM_CAP_SNAPSHOT 1003   /* the ioctls below are served (check only) */

/* One run of pages with the same Heki permissions (MEM_ATTR_* bits, nonzero). */
struct kvm_heki_perm_run {
	uint64_t gfn;
	uint64_t npages;
	uint64_t perms;
};

#define KVM_HEKI_STATE_LOCKED (1u << 0)   /* the guest's first PROTECT_MEMORY succeeded */

/*
 * GET: fills cr_pinned (CR0, CR4 pin masks), flags and up to count runs at
 * entries (a host address), and sets count to the number of runs the VM
 * has: 0, or -E2BIG when they did not fit (count says how many to make
 * room for). SET (before the first KVM_RUN, else -EBUSY): pins the bits,
 * sets the flags and applies every run; -EINVAL for unknown flags, a
 * nonzero reserved, a bad pin mask or one of a feature this machine
 * lacks (CR4.SMEP, SMAP, CET), a run with no pages, unknown permission
 * bits or pages outside the memslots, or count above
 * KVM_HEKI_STATE_MAX_RUNS; -EFAULT when entries cannot be read. Nothing
 * changes unless everything is applied.
 */
#define KVM_HEKI_STATE_MAX_RUNS (1u << 20)
struct kvm_heki_state {
	uint64_t cr_pinned[2];
	uint32_t flags;
	uint32_t count;
	uint64_t entries;
	uint64_t reserved[4];
};

/*
 * One 4 KiB private page in transport form. EXPORT: @gpa's page must be
 * private; KVM fills data (the ciphertext, KVM_GMEM_TRANSPORT_SIZE bytes at
 * the host address @data) and mac. IMPORT (before the first KVM_RUN, else
 * -EBUSY): @gpa's page must be private and backed; the MAC must match
 * (-EBADMSG otherwise, nothing written). -EINVAL: misaligned @gpa, nonzero
 * flags or reserved, a page that is not private; -EFAULT: no backing or
 * @data unreachable.
 */
#define KVM_GMEM_TRANSPORT_SIZE 4096u
/*
 * flags: KVM_GMEM_TRANSPORT_TAGS (a VM with MTE only, else -EINVAL): the
 * page's MTE tags travel too, one per byte after its 4096 bytes, so @data
 * holds KVM_GMEM_TRANSPORT_SIZE + KVM_GMEM_TRANSPORT_TAG_BYTES bytes, all
 * encrypted and under the MAC. The VMM never sees a private page's tags.
 */
#define KVM_GMEM_TRANSPORT_TAGS      (1ull << 0)
#define KVM_GMEM_TRANSPORT_TAG_BYTES 256u
struct kvm_gmem_transport {
	uint64_t gpa;
	uint64_t flags;
	uint64_t data;
	uint8_t mac[32];
	uint64_t reserved[2];
};

/*
 * The vCPU's MTE tag-check state, read and written by the VMM with
 * KVM_GET_MSRS / KVM_SET_MSRS: what an arm64 VMM saves from SCTLR_EL1's
 * TCF field with KVM_GET_ONE_REG. MSR_MV_MTE_CTRL is memvisor's own MSR
 * index, taken from no processor: it spells "MVM" as KVM's paravirtual
 * MSRs (0x4b564d00..0x4b564dff) spell "KVM", and the guest's RDMSR /
 * WRMSR of it is #GP (the guest sets its mode with its own instruction,
 * mv_guest_set_tcf).
 *
 *   bits 1:0  TCF, the check mode: MV_TCF_NONE, _SYNC, _ASYNC, _ASYMM
 *   bit  2    TBI, top-byte ignore: set exactly on a VM with
 *             KVM_CAP_ARM_MTE (the guest cannot clear it)
 *   63:3      reserved, 0
 *
 * GET always succeeds: 0 on a VM without MTE, SYNC | TBI for a new vCPU
 * of a VM with it. SET takes exactly the values the guest could have
 * made: any TCF with TBI on a VM with MTE, only 0 on one without; any
 * other value fails that entry (KVM_SET_MSRS then answers how many
 * entries before it were set).
 */
#define MSR_MV_MTE_CTRL        0x4d564d00u
#define MV_MTE_CTRL_TCF_MASK   0x3ull
#define MV_MTE_CTRL_TBI        (1ull << 2)

#define KVM_HEKI_GET_STATE   _IOWR(0xAE, 0xf1, struct kvm_heki_state)
#define KVM_HEKI_SET_STATE   _IOW(0xAE, 0xf2, struct kvm_heki_state)
#define KVM_GMEM_EXPORT_PAGE _IOWR(0xAE, 0xf3, struct kvm_gmem_transport)
#define KVM_GMEM_IMPORT_PAGE _IOW(0xAE, 0xf4, struct kvm_gmem_transport)

MV_UAPI_ASSERT(sizeof(struct kvm_heki_perm_run) == 24, "kvm_heki_perm_run");
MV_UAPI_ASSERT(sizeof(struct kvm_heki_state) == 64, "kvm_heki_state");
MV_UAPI_ASSERT(sizeof(struct kvm_gmem_transport) == 72, "kvm_gmem_transport");

#endif
