/* SPDX-License-Identifier: MIT */
/*
 * Describing a VM by its fds for the snapshot code: a struct vmm's
 * (vmm_snap_vm_of), or any other (vmm_snap_vm_probe):
 * what any VMM can learn from KVM about a VM it did not build through
 * struct vmm (a scenario's). The memory map gives the RAM memslot, its
 * flags and which pages live in a guest_memfd; KVM_CHECK_EXTENSION on the
 * VM fd (KVM_CAP_MEMORY_ATTRIBUTES) tells a protected VM from a default
 * one; a zero-length KVM_ARM_MTE_COPY_TAGS answers 0 only on a VM with
 * MTE enabled. Every memslot is described; the lowest RAM slot is the
 * configuration's. A read-only slot cannot be told from Heki's own
 * write-protection, so it is described writable (docs/snapshot.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/snapshot.h"

#define REFUSE(why_, msg, err) do { if (why_) *(why_) = (msg); return (err); } while (0)

static long probe_ioctl(struct mv_task *t, int fd, unsigned long cmd, uint64_t arg)
{
	return mv_syscall(t, MV_SYS_ioctl, (uint64_t)fd, cmd, arg, 0, 0, 0);
}

struct mv_vm_range *vmm_snap_memory_map(struct mv_task *t, int vm_fd, long *n)
{
	*n = mv_vm_memory_map(t, vm_fd, NULL, 0);
	if (*n < 0)
		return NULL;
	for (;;) {
		size_t max = (size_t)*n + 1;
		struct mv_vm_range *r = calloc(max, sizeof(*r));

		if (!r) {
			*n = -ENOMEM;
			return NULL;
		}
		*n = mv_vm_memory_map(t, vm_fd, r, max);
		if (*n >= 0 && (size_t)*n <= max)
			return r;
		free(r);
		if (*n < 0)
			return NULL;
	}
}

/* The slot of @r in @sv's list, added (in map order, which is GPA order) if new. */
static struct vmm_snap_vm_slot *probe_slot(struct vmm_snap_vm *sv, const struct mv_vm_range *r)
{
	struct vmm_snap_vm_slot *s;

	for (unsigned int i = 0; i < sv->nslots; i++)
		if (sv->slots[i].s.slot == r->slot)
			return &sv->slots[i];
	if (sv->nslots == VMM_SNAP_MAX_SLOTS)
		return NULL;
	s = &sv->slots[sv->nslots++];
	s->s = (struct vmm_snap_slot){ .slot = r->slot, .gpa = r->gpa };
	s->uaddr = r->hva;
	if (r->flags & MV_RANGE_EPC)
		s->s.flags = VMM_SNAP_SLOT_EPC;
	return s;
}

static int probe_layout(struct vmm_snap_vm *sv, const struct mv_vm_range *r, long n,
			const char **why)
{
	struct vmm_snap_vm_slot *ram = NULL;

	for (long i = 0; i < n; i++) {
		struct vmm_snap_vm_slot *s = probe_slot(sv, &r[i]);

		if (!s)
			REFUSE(why, "more memslots than a snapshot holds", -EOPNOTSUPP);
		if (r[i].gpa != s->s.gpa + s->s.size)
			REFUSE(why, "a memslot's ranges are not contiguous", -EOPNOTSUPP);
		s->s.size += r[i].size;
		if (s->s.flags & VMM_SNAP_SLOT_EPC)
			continue;   /* vEPC: only its layout is saved (docs/snapshot.md) */
		if (r[i].flags & MV_RANGE_DIRTY_LOG)
			s->s.flags |= KVM_MEM_LOG_DIRTY_PAGES;
		if (r[i].gmem_fd >= 0 && !(s->s.flags & KVM_MEM_GUEST_MEMFD)) {
			s->s.flags |= KVM_MEM_GUEST_MEMFD;
			s->s.gmem_offset = r[i].gmem_offset - (r[i].gpa - s->s.gpa);
			if (!ram || ram == s)
				sv->gmem_fd = r[i].gmem_fd;
		}
		if (!ram)
			ram = s;
	}
	if (!ram)
		REFUSE(why, "the VM has no memory", -EOPNOTSUPP);
	sv->slot = ram->s.slot;
	sv->cfg.ram_gpa = ram->s.gpa;
	sv->cfg.ram_bytes = ram->s.size;
	sv->ram_uaddr = ram->uaddr;
	sv->cfg.ram_flags = ram->s.flags & ~(uint32_t)KVM_MEM_GUEST_MEMFD;
	sv->cfg.private_mem = !!(ram->s.flags & KVM_MEM_GUEST_MEMFD);
	sv->probed = true;
	return 0;
}

int vmm_snap_vm_probe(struct mv_task *t, int vm_fd, const int *vcpu_fds, unsigned int nr_vcpus,
		      struct vmm_snap_vm *sv, const char **why)
{
	struct kvm_arm_copy_mte_tags ct = { .flags = KVM_ARM_TAGS_FROM_GUEST };
	struct mv_vm_range *map;
	long n;
	int r;

	if (!t || !sv || !vcpu_fds || !nr_vcpus || nr_vcpus > VMM_MAX_VCPUS)
		REFUSE(why, "bad arguments", -EINVAL);
	memset(sv, 0, sizeof(*sv));
	sv->t = t;
	sv->vm_fd = vm_fd;
	sv->gmem_fd = -1;
	sv->nr_vcpus = nr_vcpus;
	sv->cfg.nr_vcpus = nr_vcpus;
	memcpy(sv->vcpu_fds, vcpu_fds, nr_vcpus * sizeof(int));
	map = vmm_snap_memory_map(t, vm_fd, &n);
	if (!map)
		REFUSE(why, "not a VM fd of this process", (int)n);
	r = probe_layout(sv, map, n, why);
	free(map);
	if (r)
		return r;
	if (probe_ioctl(t, vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES) > 0)
		sv->cfg.vm_type = KVM_X86_SW_PROTECTED_VM;
	sv->cfg.mte = probe_ioctl(t, vm_fd, KVM_ARM_MTE_COPY_TAGS, (uint64_t)(uintptr_t)&ct) == 0;
	for (unsigned int i = 0; i < nr_vcpus; i++) {
		struct kvm_regs regs;

		if (probe_ioctl(t, vcpu_fds[i], KVM_GET_REGS, (uint64_t)(uintptr_t)&regs))
			REFUSE(why, "not a vCPU fd of this process", -EINVAL);
	}
	return 0;
}

/* ---- a VM by its fds ---- */

void vmm_snap_vm_of(struct vmm *vmm, struct vmm_snap_vm *sv)
{
	memset(sv, 0, sizeof(*sv));
	sv->t = vmm_task(vmm);
	sv->vm_fd = vmm_vm_fd(vmm);
	sv->cfg = *vmm_get_config(vmm);
	sv->nr_vcpus = sv->cfg.nr_vcpus;
	for (unsigned int i = 0; i < sv->nr_vcpus; i++)
		sv->vcpu_fds[i] = vmm_vcpu_fd(vmm, i);
	sv->slot = 0;
	sv->ram_uaddr = vmm_gpa_to_uaddr(vmm, sv->cfg.ram_gpa);
	sv->gmem_fd = vmm_gmem_fd(vmm);
	sv->nslots = 1;   /* struct vmm: one RAM slot, its guest_memfd at offset 0 */
	sv->slots[0].s = (struct vmm_snap_slot){
		.slot = 0, .gpa = sv->cfg.ram_gpa, .size = sv->cfg.ram_bytes,
		.flags = sv->cfg.ram_flags | (sv->cfg.private_mem ? KVM_MEM_GUEST_MEMFD : 0),
	};
	sv->slots[0].uaddr = sv->ram_uaddr;
}

int vmm_snap_set_slot_flags(const struct vmm_snap_vm *sv, unsigned int i, uint32_t flags)
{
	const struct vmm_snap_vm_slot *s = &sv->slots[i];
	struct kvm_userspace_memory_region2 r = {
		.slot = s->s.slot, .flags = flags, .guest_phys_addr = s->s.gpa,
		.memory_size = s->s.size, .userspace_addr = s->uaddr,
	};

	/* a guest_memfd slot never logs (the checks refuse it): nothing to set here */
	if ((flags | s->s.flags) & (KVM_MEM_GUEST_MEMFD | VMM_SNAP_SLOT_EPC))
		return -EINVAL;
	return (int)probe_ioctl(sv->t, sv->vm_fd, KVM_SET_USER_MEMORY_REGION2,
				(uint64_t)(uintptr_t)&r);
}
