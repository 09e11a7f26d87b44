/* SPDX-License-Identifier: MIT */
/*
 * /dev/kvm: the device, its system ioctls (KVM_GET_API_VERSION,
 * KVM_CREATE_VM, KVM_CHECK_EXTENSION, KVM_GET_VCPU_MMAP_SIZE) and the one
 * capability table that the device and VM fds both answer from.
 */
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "hw/mte.h"
#include "kvm/kvm.h"

#define KVM_MINOR 232
#define MISC_MAJOR 10

/*
 * KVM_CHECK_EXTENSION: what memvisor implements answers as x86 KVM does;
 * everything else is 0, as a kernel without it. @kvm is NULL on /dev/kvm.
 */
long kvm_check_extension(struct kvm *kvm, long cap)
{
	switch (cap) {
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_USER_MEMORY2:
	case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
	case KVM_CAP_INTERNAL_ERROR_DATA:
	case KVM_CAP_CHECK_EXTENSION_VM:
	case KVM_CAP_ENABLE_CAP_VM:
	case KVM_CAP_ENABLE_CAP:
	case KVM_CAP_SYNC_MMU:
	case KVM_CAP_IMMEDIATE_EXIT:
	case KVM_CAP_MEMORY_FAULT_INFO:
	case KVM_CAP_READONLY_MEM:
	case KVM_CAP_HLT:           /* without an in-kernel irqchip HLT exits (KVM_EXIT_HLT) */
	case KVM_CAP_VCPU_EVENTS:
	case KVM_CAP_COALESCED_PIO:
		return 1;
	case KVM_CAP_COALESCED_MMIO:
		return KVM_COALESCED_MMIO_PAGE_OFFSET;
	case KVM_CAP_SYNC_REGS:     /* kvm_sync_valid_fields(): no VM with protected state */
		return KVM_SYNC_X86_VALID_FIELDS;
	case KVM_CAP_NR_VCPUS:      /* Linux: min(online CPUs, max); memvisor has no host CPU count */
	case KVM_CAP_MAX_VCPUS:
		return KVM_MAX_VCPUS;
	case KVM_CAP_MAX_VCPU_ID:
		return KVM_MAX_VCPU_IDS;
	case KVM_CAP_NR_MEMSLOTS:
		return KVM_USER_MEM_SLOTS;
	case KVM_CAP_VM_TYPES:
		return (long)KVM_SUPPORTED_VM_TYPES;
	case KVM_CAP_EXIT_HYPERCALL:
		return (long)KVM_EXIT_HYPERCALL_VALID_MASK;
	case KVM_CAP_GUEST_MEMFD:
		return 1;
	case KVM_CAP_GUEST_MEMFD_FLAGS:
		return (long)kvm_gmem_supported_flags(kvm);
	case KVM_CAP_MEMORY_ATTRIBUTES:
		return (long)kvm_supported_mem_attributes(kvm);
	case KVM_CAP_SGX_ATTRIBUTE:
	case KVM_CAP_SGX_EPC_LIMIT:
		return kvm ? kvm_sgx_check_attribute(kvm->hw) : 0;
	case KVM_CAP_ARM_MTE:       /* kvm_arm.c: system_supports_mte() */
		return kvm && hw_mte_present(kvm->hw);
	case KVM_CAP_HEKI_CONFIGURE:
	case KVM_CAP_HEKI_DENIAL:
	case KVM_CAP_HEKI_POLICY:
		return kvm_heki_check_extension(kvm, cap);
	case KVM_CAP_SNAPSHOT:      /* memvisor's own (kvm_snapshot.h) */
		return 1;
	default:
		return 0;
	}
}

static long kvm_dev_ioctl(struct mv_task *t, struct file *f, unsigned int cmd, uint64_t arg)
{
	struct kvm_subsys *s = f->private_data;

	switch (cmd) {
	case KVM_GET_API_VERSION:
		return arg ? -EINVAL : KVM_API_VERSION;
	case KVM_CREATE_VM:
		return kvm_vm_create(t, s, arg);
	case KVM_CHECK_EXTENSION:
		if (arg == KVM_CAP_SGX_ATTRIBUTE || arg == KVM_CAP_SGX_EPC_LIMIT)
			return kvm_sgx_check_attribute(s->hw);
		if (arg == KVM_CAP_ARM_MTE)
			return hw_mte_present(s->hw);
		return kvm_check_extension(NULL, (long)arg);
	case KVM_GET_VCPU_MMAP_SIZE:
		return arg ? -EINVAL : (long)(KVM_VCPU_MMAP_PAGES * K_PAGE_SIZE);
	default:
		return -EINVAL;   /* kvm_arch_dev_ioctl on x86 */
	}
}

static int kvm_dev_fstat(struct file *f, struct stat *st)
{
	st->st_dev = makedev(0, 5);
	st->st_mode = S_IFCHR | 0666;
	st->st_nlink = 1;
	st->st_rdev = makedev(MISC_MAJOR, KVM_MINOR);
	return 0;
}

static const struct file_ops kvm_dev_ops = {
	.name = "kvm",
	.ioctl = kvm_dev_ioctl,
	.fstat = kvm_dev_fstat,
};

static long kvm_dev_open(struct mv_task *t, void *ctx, unsigned int f_flags, struct file **out)
{
	struct kvm_subsys *s = ctx;
	struct file *f = file_alloc(t->k, &kvm_dev_ops, f_flags, s);

	if (lib_is_err(f))
		return lib_ptr_err(f);
	f->ino = s->dev_ino;
	*out = f;
	return 0;
}

/**
 * kvm_init - set up the hypervisor layer of a machine and register /dev/kvm
 * @s: the layer's state, owned by the machine
 * @k: the kernel it runs in
 */
int kvm_init(struct kvm_subsys *s, struct kernel *k)
{
	memset(s, 0, sizeof(*s));
	s->k = k;
	s->hw = k->hw;
	s->dev_ino = kernel_alloc_ino(k);
	return kernel_register_device(k, "/dev/kvm", kvm_dev_open, s);
}

/* VMs live as long as their fds; the kernel closes those before this runs. */
void kvm_fini(struct kvm_subsys *s)
{
	(void)s;
}
