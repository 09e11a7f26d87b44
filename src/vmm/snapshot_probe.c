/* SPDX-License-Identifier: MIT */
/*
 * Describing a VM by its fds for the snapshot code (vmm_snap_vm_probe):
 * what any VMM can learn from KVM about a VM it did not build through
 * struct vmm (a scenario's). The memory map gives the RAM memslot, its
 * flags and which pages live in a guest_memfd; KVM_CHECK_EXTENSION on the
 * VM fd (KVM_CAP_MEMORY_ATTRIBUTES) tells a protected VM from a default
 * one; a zero-length KVM_ARM_MTE_COPY_TAGS answers 0 only on a VM with
 * MTE enabled. A read-only slot cannot be told from Heki's own
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

static struct mv_vm_range *probe_map(struct mv_task *t, int vm_fd, long *n)
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

static int probe_layout(struct vmm_snap_vm *sv, const struct mv_vm_range *r, long n,
			const char **why)
{
	uint64_t end = 0;
	int first = 1;

	for (long i = 0; i < n; i++) {
		if (r[i].flags & MV_RANGE_EPC)
			continue;   /* vEPC slots: never saved (docs/snapshot.md) */
		if (first) {
			sv->slot = r[i].slot;
			sv->cfg.ram_gpa = r[i].gpa;
			sv->ram_uaddr = r[i].hva;
			end = r[i].gpa;
			first = 0;
		}
		if (r[i].slot != sv->slot || r[i].gpa != end)
			REFUSE(why, "more than one RAM memslot: not supported", -EOPNOTSUPP);
		end += r[i].size;
		if (r[i].flags & MV_RANGE_DIRTY_LOG)
			sv->cfg.ram_flags |= KVM_MEM_LOG_DIRTY_PAGES;
		if (r[i].gmem_fd >= 0) {
			sv->cfg.private_mem = 1;
			sv->gmem_fd = r[i].gmem_fd;
		}
	}
	if (first)
		REFUSE(why, "the VM has no memory", -EOPNOTSUPP);
	sv->cfg.ram_bytes = end - sv->cfg.ram_gpa;
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
	map = probe_map(t, vm_fd, &n);
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
