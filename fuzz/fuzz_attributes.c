/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for KVM_SET_MEMORY_ATTRIBUTES: struct
 * kvm_memory_attributes taken whole from the input (address, size,
 * attributes, flags), sometimes pulled towards the harness's memslots and
 * the one attribute there is, on both VM types. Guest programs touch the
 * memory meanwhile, so private and shared pages are faulted, refused and
 * punched while guest_memfd slots come and go.
 *
 * Rules: only a valid request succeeds and on a VM with attributes a valid
 * one does; the memory map's private ranges are exactly the shadow's after
 * every call; a memory-fault exit is private exactly where the shadow says
 * so; MMIO never happens on private memory; no frame outlives the VMM.
 */
#include <stdlib.h>

#include "fz_vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_attr_raw(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	struct kvm_memory_attributes a;

	fz_bytes(&v->in, &a, sizeof(a));
	if (sel & 1)
		a.address = fz_vm_gpa(v) | (sel & 2 ? 0 : a.address & (FZ_PAGE - 1));
	if (sel & 4)
		a.size = a.size % 64 * FZ_PAGE;
	if (sel & 8)
		a.attributes &= KVM_MEMORY_ATTRIBUTE_PRIVATE;
	if (sel & 16)
		a.flags = 0;
	/* any size: attributes are runs of equal values, a huge range costs one */
	fz_vm_set_attributes(v, &a);
}

static void fz_attr_refused(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	struct fz_vcpu *c;
	long r;

	switch (sel % 4) {
	case 0:
		/* a VM without attributes says so before looking at the pointer */
		r = fz_syscall(v, MV_SYS_ioctl, (uint64_t)v->vm, KVM_SET_MEMORY_ATTRIBUTES,
			       fz_bad_ptr(sel / 4), 0, 0, 0);
		if (r != (v->vm < 0 ? -EBADF :
			  v->type == KVM_X86_SW_PROTECTED_VM ? -EFAULT : -ENOTTY))
			abort();
		break;
	case 1:
		if (v->vm >= 0)
			fz_check_foreign_cmd(v, v->vm, KVM_SET_MEMORY_ATTRIBUTES,
					     (unsigned int)fz_u(&v->in, 1), -ENOTTY);
		break;
	case 2:
		if (fz_syscall(v, MV_SYS_ioctl, (uint64_t)v->kvm, KVM_SET_MEMORY_ATTRIBUTES, 0, 0, 0,
			       0) != -EINVAL)
			abort();
		break;
	default:
		c = fz_vm_vcpu(v, sel / 4);
		if (c && fz_syscall(v, MV_SYS_ioctl, (uint64_t)c->fd, KVM_SET_MEMORY_ATTRIBUTES, 0, 0,
				    0, 0) != -EINVAL)
			abort();
		break;
	}
}

static const struct fz_op fz_attributes_ops[] = {
	{ 96, fz_attr_raw },
	{ 108, fz_attr_refused },
	{ 0, NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_vm_drive(data, size, fz_attributes_ops);
}
