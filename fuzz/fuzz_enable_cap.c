/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for KVM_ENABLE_CAP and KVM_CHECK_EXTENSION: struct
 * kvm_enable_cap taken whole from the input (cap, flags, args, pad),
 * sometimes pulled towards the capabilities x86 KVM knows, on the VM, on
 * a vCPU and on /dev/kvm; the capability number of KVM_CHECK_EXTENSION
 * likewise. Guest programs make hypercalls meanwhile, so the effect of
 * KVM_CAP_EXIT_HYPERCALL is checked from inside the guest: the call exits
 * to the VMM exactly when the enabled mask says so, and returns what the
 * VMM answered.
 *
 * Rules: a success needs flags 0 and arguments memvisor can honour; the
 * one capability that can be enabled with valid arguments is; checking an
 * extension never fails; no frame outlives the VMM.
 */
#include <stdlib.h>

#include "fz_vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Capabilities x86 KVM has for KVM_ENABLE_CAP or KVM_CHECK_EXTENSION, and memvisor's own. */
static const uint32_t fz_caps[] = {
	KVM_CAP_EXIT_HYPERCALL, KVM_CAP_USER_MEMORY, KVM_CAP_NR_VCPUS, KVM_CAP_MAX_VCPUS,
	KVM_CAP_NR_MEMSLOTS, KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_MEMORY_ATTRIBUTES,
	KVM_CAP_GUEST_MEMFD, KVM_CAP_GUEST_MEMFD_FLAGS, KVM_CAP_VM_TYPES, KVM_CAP_USER_MEMORY2,
	KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, KVM_CAP_SGX_ATTRIBUTE, KVM_CAP_ARM_MTE,
	KVM_CAP_MEMORY_FAULT_INFO, KVM_CAP_READONLY_MEM, 0, 999, 0xffffffffu,
};

static void fz_cap_enable_raw(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	struct kvm_enable_cap cap;
	struct fz_vcpu *c;
	int fd = v->vm;

	fz_bytes(&v->in, &cap, sizeof(cap));
	if (sel & 1)
		cap.cap = fz_caps[cap.cap % (sizeof(fz_caps) / sizeof(fz_caps[0]))];
	if (sel & 2)
		cap.flags = 0;
	if (sel & 4)
		cap.args[0] &= 1ull << (cap.args[1] % 64);
	if (sel & 8) {
		c = fz_vm_vcpu(v, sel / 16);
		fd = c ? c->fd : -1;
	} else if ((sel & 48) == 48) {
		fd = v->kvm;
	}
	fz_vm_enable_cap(v, fd, &cap);
}

static void fz_cap_check_raw(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	uint64_t cap = fz_u(&v->in, 8);
	int fd = sel & 1 ? v->kvm : v->vm;
	long r;

	if (sel & 2)
		cap = fz_caps[cap % (sizeof(fz_caps) / sizeof(fz_caps[0]))];
	r = fz_syscall(v, MV_SYS_ioctl, (uint64_t)fd, KVM_CHECK_EXTENSION, cap, 0, 0, 0);
	if (fd >= 0 && r < 0)
		abort();   /* an unknown capability is 0, never an error */
	if (fd >= 0 && cap == KVM_CAP_EXIT_HYPERCALL && r != 1 << KVM_HC_MAP_GPA_RANGE)
		abort();   /* the mask KVM_ENABLE_CAP takes */
}

static void fz_cap_refused(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	struct fz_vcpu *c;
	long r;

	switch (sel % 3) {
	case 0:
		r = fz_syscall(v, MV_SYS_ioctl, (uint64_t)v->vm, KVM_ENABLE_CAP, fz_bad_ptr(sel / 4), 0,
			       0, 0);
		if (r != (v->vm < 0 ? -EBADF : -EFAULT))
			abort();
		break;
	case 1:
		if (v->vm >= 0)
			fz_check_foreign_cmd(v, v->vm, KVM_ENABLE_CAP, (unsigned int)fz_u(&v->in, 1),
					     -ENOTTY);
		break;
	default:
		c = fz_vm_vcpu(v, sel / 4);
		if (!c)
			break;
		if (fz_syscall(v, MV_SYS_ioctl, (uint64_t)c->fd, KVM_ENABLE_CAP, fz_bad_ptr(sel / 8), 0,
			       0, 0) != -EFAULT)
			abort();
		fz_check_foreign_cmd(v, c->fd, KVM_ENABLE_CAP, (unsigned int)fz_u(&v->in, 1), -EINVAL);
		break;
	}
}

static const struct fz_op fz_enable_cap_ops[] = {
	{ 64, fz_cap_enable_raw },
	{ 80, fz_cap_check_raw },
	{ 92, fz_cap_refused },
	{ 0, NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_vm_drive(data, size, fz_enable_cap_ops);
}
