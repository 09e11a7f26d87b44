/* SPDX-License-Identifier: MIT */
/*
 * A VM: its fd and the VM ioctls (KVM_CREATE_VCPU, the memslot ioctls,
 * KVM_GET_DIRTY_LOG, KVM_ENABLE_CAP, KVM_CHECK_EXTENSION, the coalesced
 * MMIO zones), creation and teardown.
 *
 * Who pins whom: the VM fd and every vCPU fd hold a reference on struct
 * kvm; the last put destroys the vCPUs, the stage-2 tables (dropping their
 * page references), the memslots and the VM. The VM does not pin the
 * VMM's address space (Linux pins only mm_count): the MMU notifier's
 * release tells the VM when the mm goes, after which its ioctls fail with
 * -EIO, as for any caller outside the creating process.
 */
#include <string.h>

#include "kvm/kvm.h"
#include "kvm/mte.h"
#include "lib/alloc.h"

static const struct file_ops kvm_vm_ops;

struct kvm *kvm_from_file(const struct file *f)
{
	return f && f->ops == &kvm_vm_ops ? f->private_data : NULL;
}

struct kvm *kvm_vm_fd_get(struct mv_task *vmm, int vm_fd, struct file **fp, long *err)
{
	struct file *f = fd_get(vmm, vm_fd);
	struct kvm *kvm = kvm_from_file(f);

	*err = !f ? -EBADF : !kvm || kvm->mm != vmm->mm ? -EINVAL : 0;
	if (*err && f)
		file_put(f);
	*fp = *err ? NULL : f;
	return *err ? NULL : kvm;
}

void kvm_get(struct kvm *kvm)
{
	__atomic_fetch_add(&kvm->refcount, 1, __ATOMIC_RELAXED);
}

static void kvm_destroy(struct kvm *kvm)
{
	uint32_t n = __atomic_load_n(&kvm->online_vcpus, __ATOMIC_ACQUIRE);

	kvm_destroy_mmu_notifier(kvm);
	for (uint32_t i = 0; i < n; i++)
		kvm_vcpu_destroy(kvm->vcpus[i]);
	kvm_mmu_destroy(kvm);
	kvm_memslots_destroy(kvm);
	kvm_coalesced_mmio_free(kvm);
	kvm_attr_destroy(kvm);
	kvm_sgx_vm_destroy(kvm);
	lib_free(kvm->vcpus);
	pthread_cond_destroy(&kvm->mn_cond);
	pthread_mutex_destroy(&kvm->mn_lock);
	pthread_rwlock_destroy(&kvm->mmu_lock);
	pthread_mutex_destroy(&kvm->slots_lock);
	pthread_mutex_destroy(&kvm->lock);
	lib_free(kvm);
}

void kvm_put(struct kvm *kvm)
{
	if (__atomic_sub_fetch(&kvm->refcount, 1, __ATOMIC_ACQ_REL) == 0)
		kvm_destroy(kvm);
}

/* ---- KVM_ENABLE_CAP on the VM (x86 kvm_vm_ioctl_enable_cap) ---- */

static long kvm_vm_enable_cap(struct kvm *kvm, uint64_t arg)
{
	const struct kvm_enable_cap *argp = (const void *)(uintptr_t)arg;
	struct kvm_enable_cap cap;

	if (k_host_range_faults(argp, sizeof(cap)))
		return -EFAULT;
	memcpy(&cap, argp, sizeof(cap));
	if (cap.flags)
		return -EINVAL;
	switch (cap.cap) {
	case KVM_CAP_EXIT_HYPERCALL:
		if (cap.args[0] & ~KVM_EXIT_HYPERCALL_VALID_MASK)
			return -EINVAL;
		__atomic_store_n(&kvm->hypercall_exit_enabled, cap.args[0], __ATOMIC_RELEASE);
		return 0;
	case KVM_CAP_SGX_EPC_LIMIT:
		return kvm_sgx_enable_epc_limit(kvm, cap.args[0], cap.args[1]);
	case KVM_CAP_ARM_MTE:
		return kvm_vm_enable_cap_mte(kvm, &cap);
	case KVM_CAP_HEKI_CONFIGURE:
	case KVM_CAP_HEKI_DENIAL:
		return kvm_heki_enable_cap(kvm, cap.cap, cap.args[0]);
	default:
		return -EINVAL;
	}
}

/* KVM_SET_USER_MEMORY_REGION(2): copy in, then the common checks. */
static long kvm_vm_ioctl_set_region(struct mv_task *t, struct kvm *kvm, unsigned int cmd,
				    uint64_t arg)
{
	const void *argp = (const void *)(uintptr_t)arg;
	struct kvm_userspace_memory_region2 mem;
	size_t size = cmd == KVM_SET_USER_MEMORY_REGION ? sizeof(struct kvm_userspace_memory_region)
							: sizeof(mem);

	memset(&mem, 0, sizeof(mem));
	if (k_host_range_faults(argp, size))
		return -EFAULT;
	memcpy(&mem, argp, size);
	/*
	 * The seed (restricted memfd, v9) put KVM_MEM_PRIVATE (the same bit) on
	 * the old ioctl with a longer struct whose restricted_offset and
	 * restricted_fd sit where region2 has guest_memfd_offset and guest_memfd.
	 */
	if (cmd == KVM_SET_USER_MEMORY_REGION && kvm->hw->cfg.abi == MV_ABI_SEED &&
	    (mem.flags & KVM_MEM_GUEST_MEMFD)) {
		if (k_host_range_faults(argp, sizeof(mem)))
			return -EFAULT;
		memcpy(&mem, argp, sizeof(mem));
	} else if (cmd == KVM_SET_USER_MEMORY_REGION &&
		   (mem.flags & ~(uint32_t)(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY))) {
		return -EINVAL;
	}
	if (mem.flags & KVM_MEM_GUEST_MEMFD) {
		/* the file is looked up here, checked in its turn (-EBADF) by the bind */
		struct file *gmem = fd_get(t, (int)mem.guest_memfd);
		long ret = kvm_vm_set_memory_region_gmem(kvm, &mem, gmem);

		file_put(gmem);
		return ret;
	}
	return kvm_vm_set_memory_region(kvm, &mem);
}

static long kvm_vm_ioctl_dirty_log(struct kvm *kvm, uint64_t arg)
{
	const struct kvm_dirty_log *argp = (const void *)(uintptr_t)arg;
	struct kvm_dirty_log log;

	if (k_host_range_faults(argp, sizeof(log)))
		return -EFAULT;
	memcpy(&log, argp, sizeof(log));
	return kvm_vm_get_dirty_log(kvm, &log);
}

/* KVM_(UN)REGISTER_COALESCED_MMIO: copy the zone in (-EFAULT), then coalesced_mmio.c. */
static long kvm_vm_ioctl_coalesced_mmio(struct kvm *kvm, unsigned int cmd, uint64_t arg)
{
	const void *argp = (const void *)(uintptr_t)arg;
	struct kvm_coalesced_mmio_zone zone;

	if (k_host_range_faults(argp, sizeof(zone)))
		return -EFAULT;
	memcpy(&zone, argp, sizeof(zone));
	return cmd == KVM_REGISTER_COALESCED_MMIO ? kvm_vm_ioctl_register_coalesced_mmio(kvm, &zone)
						  : kvm_vm_ioctl_unregister_coalesced_mmio(kvm, &zone);
}

/*
 * KVM_SET_NR_MMU_PAGES / KVM_GET_NR_MMU_PAGES (kvm_vm_ioctl_set_nr_mmu_pages):
 * the cap on shadow-page-table pages. Below KVM_MIN_ALLOC_MMU_PAGES is
 * -EINVAL; the value is kept and reported. memvisor's EPT tables come from
 * the frame allocator and are never reclaimed under such a cap (docs/kvm.md).
 */
#define KVM_MIN_ALLOC_MMU_PAGES 64ul
#define KVM_PERMILLE_MMU_PAGES  20ul

static long kvm_vm_ioctl_set_nr_mmu_pages(struct kvm *kvm, uint64_t arg)
{
	if (arg < KVM_MIN_ALLOC_MMU_PAGES)
		return -EINVAL;
	pthread_mutex_lock(&kvm->slots_lock);
	kvm->nr_mmu_pages = arg;
	pthread_mutex_unlock(&kvm->slots_lock);
	return 0;
}

/* Until set, the default kvm_mmu_calculate_default_mmu_pages() gives. */
static long kvm_vm_ioctl_get_nr_mmu_pages(struct kvm *kvm)
{
	uint64_t n;

	pthread_mutex_lock(&kvm->slots_lock);
	n = kvm->nr_mmu_pages;
	if (!n) {
		n = kvm->nr_memslot_pages * KVM_PERMILLE_MMU_PAGES / 1000;
		if (n < KVM_MIN_ALLOC_MMU_PAGES)
			n = KVM_MIN_ALLOC_MMU_PAGES;
	}
	pthread_mutex_unlock(&kvm->slots_lock);
	return (long)n;
}

static long kvm_vm_ioctl(struct mv_task *t, struct file *f, unsigned int cmd, uint64_t arg)
{
	struct kvm *kvm = f->private_data;

	if (kvm->mm != t->mm || __atomic_load_n(&kvm->mm_gone, __ATOMIC_ACQUIRE))
		return -EIO;
	switch (cmd) {
	case KVM_CREATE_VCPU:
		return kvm_vcpu_create(t, kvm, arg);
	case KVM_ENABLE_CAP:
		return kvm_vm_enable_cap(kvm, arg);
	case KVM_SET_USER_MEMORY_REGION:
	case KVM_SET_USER_MEMORY_REGION2:
		return kvm_vm_ioctl_set_region(t, kvm, cmd, arg);
	case KVM_GET_DIRTY_LOG:
		return kvm_vm_ioctl_dirty_log(kvm, arg);
	case KVM_CHECK_EXTENSION:
		return kvm_check_extension(kvm, (long)arg);
	case KVM_CREATE_GUEST_MEMFD:
		return kvm_vm_ioctl_create_guest_memfd(t, kvm, arg);
	case KVM_SET_MEMORY_ATTRIBUTES:
		return kvm_vm_ioctl_set_memory_attributes(kvm, arg);
	case KVM_REGISTER_COALESCED_MMIO:
	case KVM_UNREGISTER_COALESCED_MMIO:
		return kvm_vm_ioctl_coalesced_mmio(kvm, cmd, arg);
	case KVM_SET_NR_MMU_PAGES:
		return kvm_vm_ioctl_set_nr_mmu_pages(kvm, arg);
	case KVM_GET_NR_MMU_PAGES:
		return kvm_vm_ioctl_get_nr_mmu_pages(kvm);
	case KVM_ARM_MTE_COPY_TAGS:
		return kvm_vm_ioctl_mte_copy_tags(kvm, arg);
	case KVM_HEKI_SET_POLICY:
		return kvm_vm_ioctl_heki_set_policy(kvm, arg);
	case KVM_HEKI_GET_STATE:
	case KVM_HEKI_SET_STATE:
	case KVM_GMEM_EXPORT_PAGE:
	case KVM_GMEM_IMPORT_PAGE:
		return kvm_vm_ioctl_snapshot(kvm, cmd, arg);
	default:
		return -ENOTTY;   /* kvm_arch_vm_ioctl on x86 */
	}
}

static void kvm_vm_release(struct file *f)
{
	kvm_put(f->private_data);
}

static const struct file_ops kvm_vm_ops = {
	.name = "kvm-vm",
	.ioctl = kvm_vm_ioctl,
	.release = kvm_vm_release,
};

static int kvm_locks_init(struct kvm *kvm)
{
	if (pthread_mutex_init(&kvm->lock, NULL))
		return -ENOMEM;
	if (pthread_mutex_init(&kvm->slots_lock, NULL))
		goto err_lock;
	if (pthread_rwlock_init(&kvm->mmu_lock, NULL))
		goto err_slots;
	if (pthread_mutex_init(&kvm->mn_lock, NULL))
		goto err_mmu;
	if (pthread_cond_init(&kvm->mn_cond, NULL))
		goto err_mn;
	return 0;

err_mn:
	pthread_mutex_destroy(&kvm->mn_lock);
err_mmu:
	pthread_rwlock_destroy(&kvm->mmu_lock);
err_slots:
	pthread_mutex_destroy(&kvm->slots_lock);
err_lock:
	pthread_mutex_destroy(&kvm->lock);
	return -ENOMEM;
}

/* kvm_create_vm: every part, in the order it is undone. */
static struct kvm *kvm_alloc(struct mv_task *t, struct kvm_subsys *s, unsigned long type)
{
	struct kvm *kvm = lib_zalloc(sizeof(*kvm));
	int ret = -ENOMEM;

	if (!kvm)
		return lib_err_ptr(-ENOMEM);
	kvm->sys = s;
	kvm->hw = s->hw;
	kvm->mm = t->mm;
	kvm->type = type;
	kvm->refcount = 1;
	kvm->vmid = (uint16_t)(__atomic_add_fetch(&s->next_vmid, 1, __ATOMIC_RELAXED) % 0xffffu + 1);
	kvm->vcpus = lib_calloc(KVM_MAX_VCPUS, sizeof(*kvm->vcpus));
	if (!kvm->vcpus)
		goto err_free;
	if (kvm_locks_init(kvm))
		goto err_vcpus;
	ret = kvm_attr_init(kvm);
	if (ret)
		goto err_locks;
	ret = kvm_coalesced_mmio_init(kvm);
	if (ret)
		goto err_attr;
	ret = kvm_memslots_init(kvm);
	if (ret)
		goto err_coalesced;
	ret = kvm_mmu_init(kvm);
	if (ret)
		goto err_slots;
	kvm_init_mmu_notifier(kvm);
	return kvm;

err_slots:
	kvm_memslots_destroy(kvm);
err_coalesced:
	kvm_coalesced_mmio_free(kvm);
err_attr:
	kvm_attr_destroy(kvm);
err_locks:
	pthread_cond_destroy(&kvm->mn_cond);
	pthread_mutex_destroy(&kvm->mn_lock);
	pthread_rwlock_destroy(&kvm->mmu_lock);
	pthread_mutex_destroy(&kvm->slots_lock);
	pthread_mutex_destroy(&kvm->lock);
err_vcpus:
	lib_free(kvm->vcpus);
err_free:
	lib_free(kvm);
	return lib_err_ptr(ret);
}

/**
 * kvm_vm_create - KVM_CREATE_VM: a new VM of @type and an fd for it
 *
 * As Linux: the fd is claimed first (-EMFILE before anything else), the
 * type must be one of KVM_CAP_VM_TYPES (-EINVAL), and the fd is
 * close-on-exec.
 */
long kvm_vm_create(struct mv_task *t, struct kvm_subsys *s, unsigned long type)
{
	struct kvm *kvm;
	struct file *f;
	int fd;

	fd = fd_reserve(t, O_CLOEXEC);
	if (fd < 0)
		return fd;
	if (type >= 64 || !(KVM_SUPPORTED_VM_TYPES & (1ull << type))) {
		fd_unreserve(t, fd);
		return -EINVAL;
	}
	kvm = kvm_alloc(t, s, type);
	if (lib_is_err(kvm)) {
		fd_unreserve(t, fd);
		return lib_ptr_err(kvm);
	}
	f = file_alloc(t->k, &kvm_vm_ops, O_RDWR, kvm);
	if (lib_is_err(f)) {
		kvm_put(kvm);
		fd_unreserve(t, fd);
		return lib_ptr_err(f);
	}
	fd_install_reserved(t, fd, f);
	return fd;
}
