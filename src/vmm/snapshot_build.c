/* SPDX-License-Identifier: MIT */
/*
 * Restoring a snapshot of any layout (snapshot.h, vmm_snapshot_restore_built):
 * struct vmm has one RAM memslot, so a snapshot of several (a guest_memfd
 * slot and a vEPC slot, say) is applied to a VM its VMM built with the
 * same memslots. This file is that VMM: from the snapshot's checked
 * configuration and memslots it opens /dev/kvm, creates the VM (its type,
 * MTE), maps each slot's memory in the process (anonymous memory, with a
 * guest_memfd of its own at the slot's offset where the slot had one, or
 * a fresh /dev/sgx_vepc mapping for a vEPC slot), registers the slots
 * with dirty logging off, creates the vCPUs, applies the snapshot
 * (vmm_snapshot_apply_vm), which last switches dirty logging back on in
 * every slot that had it, as a restore of struct vmm does.
 */
#include <errno.h>
#include <string.h>

#include "vmm/snapshot.h"

#define REFUSE(why_, msg, err) do { if (why_) *(why_) = (msg); return (err); } while (0)

static long build_ioctl(struct mv_task *t, int fd, unsigned long cmd, const void *arg)
{
	return mv_syscall(t, MV_SYS_ioctl, (uint64_t)fd, cmd, (uint64_t)(uintptr_t)arg, 0, 0, 0);
}

static long build_open(struct mv_task *t, const char *path)
{
	return mv_syscall(t, MV_SYS_openat, (uint64_t)AT_FDCWD, (uint64_t)(uintptr_t)path,
			 O_RDWR | O_CLOEXEC, 0, 0, 0);
}

/* KVM_SET_USER_MEMORY_REGION2 of built slot @i with @flags. */
static long build_set_region(const struct vmm_snap_built *b, unsigned int i, uint32_t flags)
{
	const struct vmm_snap_vm_slot *s = &b->vm.slots[i];
	struct kvm_userspace_memory_region2 r = {
		.slot = s->s.slot, .guest_phys_addr = s->s.gpa, .memory_size = s->s.size,
		.userspace_addr = s->uaddr,
	};

	if (!(s->s.flags & VMM_SNAP_SLOT_EPC))
		r.flags = flags;
	if (s->s.flags & KVM_MEM_GUEST_MEMFD) {
		r.guest_memfd = (uint32_t)b->slot_fd[i];
		r.guest_memfd_offset = s->s.gmem_offset;
	}
	return build_ioctl(b->vm.t, b->vm.vm_fd, KVM_SET_USER_MEMORY_REGION2, &r);
}

/* Memslot @i of the snapshot, @s: its memory, its guest_memfd or vEPC fd, the slot itself. */
static int build_slot(struct vmm_snap_built *b, unsigned int i, const struct vmm_snap_slot *s,
		      const char **why)
{
	struct mv_task *t = b->vm.t;
	uint64_t map_flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, map_fd = (uint64_t)-1;
	long fd = -1, a, e;

	if (s->flags & VMM_SNAP_SLOT_EPC) {
		fd = build_open(t, "/dev/sgx_vepc");
		if (fd < 0)
			REFUSE(why, "no /dev/sgx_vepc for the snapshot's vEPC slot", (int)fd);
		map_flags = MAP_SHARED;
		map_fd = (uint64_t)fd;
	} else if (s->flags & KVM_MEM_GUEST_MEMFD) {
		struct kvm_create_guest_memfd g = { .size = s->gmem_offset + s->size };

		fd = build_ioctl(t, b->vm.vm_fd, KVM_CREATE_GUEST_MEMFD, &g);
		if (fd < 0)
			REFUSE(why, "KVM_CREATE_GUEST_MEMFD refused a slot's guest_memfd", (int)fd);
	}
	/* recorded before anything can fail, for vmm_snapshot_built_release */
	b->slot_fd[i] = (int)fd;
	b->vm.slots[i] = (struct vmm_snap_vm_slot){ .s = *s };
	b->vm.nslots = i + 1;
	a = mv_syscall(t, MV_SYS_mmap, 0, s->size, PROT_READ | PROT_WRITE, map_flags, map_fd, 0);
	if (a < 0)
		REFUSE(why, "could not map a memslot's memory", (int)a);
	b->vm.slots[i].uaddr = (uint64_t)a;
	e = build_set_region(b, i, s->flags & ~(uint32_t)KVM_MEM_LOG_DIRTY_PAGES);
	if (e)
		REFUSE(why, "KVM refused one of the snapshot's memslots", (int)e);
	return 0;
}

/* The VM, its memslots and vCPUs: what vmm_create does for one slot. */
static int build_vm(struct vmm_snap_built *b, const struct vmm_snap_layout *l, const char **why)
{
	struct mv_task *t = b->vm.t;
	long r;
	int e;

	r = build_open(t, "/dev/kvm");
	if (r < 0)
		REFUSE(why, "could not open /dev/kvm", (int)r);
	b->kvm_fd = (int)r;
	r = mv_syscall(t, MV_SYS_ioctl, (uint64_t)b->kvm_fd, KVM_CREATE_VM, l->cfg.vm_type,
		       0, 0, 0);
	if (r < 0)
		REFUSE(why, "could not create the VM", (int)r);
	b->vm.vm_fd = (int)r;
	if (l->cfg.mte) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };

		r = build_ioctl(t, b->vm.vm_fd, KVM_ENABLE_CAP, &cap);
		if (r)
			REFUSE(why, "KVM_ENABLE_CAP refused MTE", (int)r);
	}
	for (uint32_t i = 0; i < l->nslots; i++) {
		e = build_slot(b, i, &l->slots[i], why);
		if (e)
			return e;
	}
	for (uint32_t i = 0; i < l->cfg.nr_vcpus; i++) {
		r = mv_syscall(t, MV_SYS_ioctl, (uint64_t)b->vm.vm_fd, KVM_CREATE_VCPU, i, 0, 0, 0);
		if (r < 0)
			REFUSE(why, "could not create a vCPU", (int)r);
		b->vm.vcpu_fds[i] = (int)r;
		b->vm.nr_vcpus = i + 1;
	}
	return 0;
}

/* struct vmm_snap_vm's view of the RAM slot (the configuration's) and the whole VM. */
static void build_describe(struct vmm_snap_built *b, const struct vmm_snap_layout *l)
{
	struct vmm_snap_vm *v = &b->vm;

	v->cfg = (struct vmm_config){
		.nr_vcpus = l->cfg.nr_vcpus, .ram_bytes = l->cfg.ram_bytes,
		.ram_gpa = l->cfg.ram_gpa, .vm_type = l->cfg.vm_type,
		.ram_flags = l->cfg.ram_flags & ~(uint32_t)KVM_MEM_LOG_DIRTY_PAGES,
		.private_mem = (int)l->cfg.private_mem, .mte = (int)l->cfg.mte,
	};
	for (unsigned int i = 0; i < v->nslots; i++) {
		const struct vmm_snap_slot *s = &v->slots[i].s;

		if (!(s->flags & VMM_SNAP_SLOT_EPC) && s->gpa == l->cfg.ram_gpa &&
		    s->size == l->cfg.ram_bytes) {
			v->slot = s->slot;
			v->ram_uaddr = v->slots[i].uaddr;
			v->gmem_fd = b->slot_fd[i];
			break;
		}
	}
}

int vmm_snapshot_restore_built(struct mv_task *t, const void *buf, size_t len,
			       struct vmm_snap_built *out, struct vmm_restore_info *info,
			       const char **why)
{
	struct vmm_snap_layout l;
	int r;

	if (!t || !out)
		REFUSE(why, "no task or result pointer", -EINVAL);
	memset(out, 0, sizeof(*out));
	out->vm.t = t;
	out->kvm_fd = out->vm.vm_fd = out->vm.gmem_fd = -1;
	for (unsigned int i = 0; i < VMM_SNAP_MAX_SLOTS; i++)
		out->slot_fd[i] = -1;
	r = vmm_snapshot_layout(buf, len, &l, why);
	if (r)
		return r;
	r = build_vm(out, &l, why);
	if (!r) {
		build_describe(out, &l);
		r = vmm_snapshot_apply_vm(&out->vm, buf, len, info, why);
	}
	/* the apply switched dirty logging on where the file had it */
	if (!r && (l.cfg.ram_flags & KVM_MEM_LOG_DIRTY_PAGES))
		out->vm.cfg.ram_flags = l.cfg.ram_flags;
	if (r)
		vmm_snapshot_built_release(out);
	return r;
}

void vmm_snapshot_built_release(struct vmm_snap_built *b)
{
	struct mv_task *t;

	if (!b || !b->vm.t)
		return;
	t = b->vm.t;
	for (unsigned int i = 0; i < b->vm.nr_vcpus; i++)
		mv_syscall(t, MV_SYS_close, (uint64_t)b->vm.vcpu_fds[i], 0, 0, 0, 0, 0);
	for (unsigned int i = 0; i < b->vm.nslots; i++) {
		if (b->vm.slots[i].uaddr)
			mv_syscall(t, MV_SYS_munmap, b->vm.slots[i].uaddr, b->vm.slots[i].s.size,
				   0, 0, 0, 0);
		if (b->slot_fd[i] >= 0)
			mv_syscall(t, MV_SYS_close, (uint64_t)b->slot_fd[i], 0, 0, 0, 0, 0);
	}
	if (b->vm.vm_fd >= 0)
		mv_syscall(t, MV_SYS_close, (uint64_t)b->vm.vm_fd, 0, 0, 0, 0, 0);
	if (b->kvm_fd >= 0)
		mv_syscall(t, MV_SYS_close, (uint64_t)b->kvm_fd, 0, 0, 0, 0, 0);
	memset(b, 0, sizeof(*b));
}
