/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for KVM_SET_USER_MEMORY_REGION and
 * KVM_SET_USER_MEMORY_REGION2: struct kvm_userspace_memory_region(2) taken
 * whole from the input (every field, every bit, the pads too), now and
 * then with a field pulled towards something that exists (a slot id in
 * use, the VMM's memory, a low GPA, a guest_memfd fd) so that creates,
 * moves, flag changes and deletes all happen. Between them the VM runs a
 * guest, the VMM's memory changes, guest_memfds come and go.
 *
 * After every call the VM's memory map must be exactly the slots the
 * successful calls made (fz_vm_check_map), a success must be one KVM's
 * rules allow (fz_slot_update), and once the VMM exits no frame is left.
 */
#include <stdlib.h>

#include "fz_vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_memslot_raw(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1), fix;
	bool two = sel & 1;
	struct kvm_userspace_memory_region2 mem;

	fz_bytes(&v->in, &mem, two ? sizeof(mem) : sizeof(struct kvm_userspace_memory_region));
	/* the seed's old ioctl reads a struct as long as region2 when it names a file */
	if (!two && v->seed && (mem.flags & KVM_MEM_GUEST_MEMFD))
		fz_bytes(&v->in, (uint8_t *)&mem + sizeof(struct kvm_userspace_memory_region),
			 sizeof(mem) - sizeof(struct kvm_userspace_memory_region));
	fix = sel >> 1;
	if (fix & 1)
		mem.slot = (fix & 64) ? mem.slot % 8 | (mem.slot & 0x10000) : mem.slot % 8;
	if (fix & 2)
		mem.userspace_addr = fz_vm_uaddr(v);
	if (fix & 4)
		mem.guest_phys_addr = fz_vm_gpa(v);
	if (fix & 8)
		mem.memory_size = mem.memory_size % (FZ_MAP_PAGES + 1) * FZ_PAGE;
	if (fix & 16)
		mem.guest_memfd = (uint32_t)fz_vm_gmem_fd(v);
	if (fix & 32) {
		mem.flags &= 7;
		mem.guest_memfd_offset = mem.guest_memfd_offset % 16 * FZ_PAGE;
	}
	/* a harvest walks the whole bitmap: past 64 GiB a logged slot only costs time */
	if ((mem.flags & KVM_MEM_LOG_DIRTY_PAGES) && mem.memory_size > (1ull << 36))
		mem.memory_size &= (1ull << 36) - 1;
	fz_vm_set_region(v, &mem, two);
}

/* The ioctl at a pointer it must refuse, on an fd that is not a VM, or with a wrong size. */
static void fz_memslot_refused(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	unsigned int cmd = sel & 1 ? KVM_SET_USER_MEMORY_REGION2 : KVM_SET_USER_MEMORY_REGION;
	struct fz_vcpu *c;
	long r;

	switch (sel / 2 % 4) {
	case 0:
		r = fz_syscall(v, MV_SYS_ioctl, (uint64_t)v->vm, cmd, fz_bad_ptr(sel / 8), 0, 0, 0);
		if (r != (v->vm < 0 ? -EBADF : -EFAULT))
			abort();
		break;
	case 1:
		if (v->vm >= 0)
			fz_check_foreign_cmd(v, v->vm, cmd, (unsigned int)fz_u(&v->in, 1), -ENOTTY);
		break;
	case 2:
		if (fz_syscall(v, MV_SYS_ioctl, (uint64_t)v->kvm, cmd, 0, 0, 0, 0) != -EINVAL)
			abort();
		break;
	default:
		c = fz_vm_vcpu(v, sel / 8);
		if (c && fz_syscall(v, MV_SYS_ioctl, (uint64_t)c->fd, cmd, 0, 0, 0, 0) != -EINVAL)
			abort();
		break;
	}
}

static const struct fz_op fz_memslot_ops[] = {
	{ 112, fz_memslot_raw },
	{ 124, fz_memslot_refused },
	{ 0, NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_vm_drive(data, size, fz_memslot_ops);
}
