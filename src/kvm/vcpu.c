/* SPDX-License-Identifier: MIT */
/*
 * vCPUs: KVM_CREATE_VCPU, the vCPU fd (mmap of the run area, KVM_RUN,
 * KVM_GET/SET_REGS, KVM_GET/SET_SREGS, KVM_GET/SET_VCPU_EVENTS,
 * KVM_ENABLE_CAP) and the public mv_vcpu_* entry points. The register
 * state behind those ioctls is vcpu_state.c's.
 *
 * A vCPU owns a struct hw_cpu that stays in guest mode with the VM's EPT
 * root: its software TLB only ever holds this VM's translations. The run
 * area (struct kvm_run) and the PIO page are frames of simulated memory,
 * so mmap of the vCPU fd maps the very page KVM_RUN fills, as on Linux;
 * page 2 is the VM's coalesced-MMIO ring, the same for every vCPU.
 */
#include <string.h>

#include "kvm/kvm.h"
#include "kvm/mte.h"
#include "lib/alloc.h"

static const struct file_ops kvm_vcpu_ops;

struct kvm_vcpu *kvm_vcpu_from_file(const struct file *f)
{
	return f && f->ops == &kvm_vcpu_ops ? f->private_data : NULL;
}

/* ---- mmap of the vCPU fd ---- */

static int kvm_vcpu_vm_fault(struct vma *vma, uint64_t pgoff, unsigned int fault_flags,
			     hw_pfn_t *pfn)
{
	struct kvm_vcpu *vcpu = vma->file->private_data;

	switch (pgoff) {
	case 0:
		*pfn = vcpu->run_pfn;
		break;
	case KVM_PIO_PAGE_OFFSET:
		*pfn = vcpu->pio_pfn;
		break;
	case KVM_COALESCED_MMIO_PAGE_OFFSET:
		*pfn = vcpu->kvm->coalesced_mmio_pfn;   /* the VM's one ring */
		break;
	default:
		return VM_FAULT_SIGBUS;
	}
	hw_folio_get(vcpu->kvm->hw, *pfn);
	return 0;
}

static const struct vm_ops kvm_vcpu_vm_ops = {
	.name = "kvm-vcpu",
	.fault = kvm_vcpu_vm_fault,
};

/* No dirty ring, so any mapping of the run pages is allowed, as on Linux. */
static int kvm_vcpu_mmap(struct mv_task *t, struct file *f, struct vma *vma)
{
	vma->ops = &kvm_vcpu_vm_ops;
	return 0;
}

/* ---- registers and events: copied in and out here, the state is vcpu_state.c's ---- */

static long kvm_vcpu_ioctl_get_regs(struct kvm_vcpu *vcpu, uint64_t arg)
{
	void *argp = (void *)(uintptr_t)arg;
	struct kvm_regs regs;

	kvm_vcpu_get_regs_locked(vcpu, &regs);
	if (k_host_range_faults(argp, sizeof(regs)))
		return -EFAULT;
	memcpy(argp, &regs, sizeof(regs));
	return 0;
}

static long kvm_vcpu_ioctl_set_regs(struct kvm_vcpu *vcpu, uint64_t arg)
{
	const void *argp = (const void *)(uintptr_t)arg;
	struct kvm_regs regs;

	if (k_host_range_faults(argp, sizeof(regs)))
		return -EFAULT;
	memcpy(&regs, argp, sizeof(regs));
	kvm_vcpu_set_regs_locked(vcpu, &regs);
	return 0;
}

static long kvm_vcpu_ioctl_get_sregs(struct kvm_vcpu *vcpu, uint64_t arg)
{
	void *argp = (void *)(uintptr_t)arg;
	struct kvm_sregs s;

	kvm_vcpu_get_sregs_locked(vcpu, &s);
	if (k_host_range_faults(argp, sizeof(s)))
		return -EFAULT;
	memcpy(argp, &s, sizeof(s));
	return 0;
}

static long kvm_vcpu_ioctl_set_sregs(struct kvm_vcpu *vcpu, uint64_t arg)
{
	const void *argp = (const void *)(uintptr_t)arg;
	struct kvm_sregs s;

	if (k_host_range_faults(argp, sizeof(s)))
		return -EFAULT;
	memcpy(&s, argp, sizeof(s));
	return kvm_vcpu_set_sregs_locked(vcpu, &s);
}

static long kvm_vcpu_ioctl_get_events(struct kvm_vcpu *vcpu, uint64_t arg)
{
	void *argp = (void *)(uintptr_t)arg;
	struct kvm_vcpu_events ev;

	kvm_vcpu_get_events_locked(vcpu, &ev);
	if (k_host_range_faults(argp, sizeof(ev)))
		return -EFAULT;
	memcpy(argp, &ev, sizeof(ev));
	return 0;
}

static long kvm_vcpu_ioctl_set_events(struct kvm_vcpu *vcpu, uint64_t arg)
{
	const void *argp = (const void *)(uintptr_t)arg;
	struct kvm_vcpu_events ev;

	if (k_host_range_faults(argp, sizeof(ev)))
		return -EFAULT;
	memcpy(&ev, argp, sizeof(ev));
	return kvm_vcpu_set_events_locked(vcpu, &ev);
}

static long kvm_vcpu_enable_cap(struct kvm_vcpu *vcpu, uint64_t arg)
{
	const struct kvm_enable_cap *argp = (const void *)(uintptr_t)arg;

	if (k_host_range_faults(argp, sizeof(*argp)))
		return -EFAULT;
	if (argp->flags)
		return -EINVAL;
	return -EINVAL;   /* no per-vCPU capability is implemented */
}

/* ---- the vCPU fd ---- */

/*
 * KVM_RUN (kvm_vcpu_ioctl, kvm_arch_vcpu_ioctl_run): the run area's input
 * is taken in first (a bad kvm_valid_regs, kvm_dirty_regs, sync regs or
 * cr8 is -EINVAL and runs nothing); with immediate_exit the guest only
 * finishes the exit it left pending and KVM_RUN returns -EINTR with
 * exit_reason as it was; the output fields are filled on every return.
 */
static long kvm_vcpu_run(struct kvm_vcpu *vcpu, uint64_t arg)
{
	bool wants_to_run;
	long r;

	if (arg)
		return -EINVAL;
	/* set by another thread or a signal handler: one untorn read (READ_ONCE) */
	wants_to_run = !READ_ONCE(vcpu->run->immediate_exit__unsafe);
	r = kvm_vcpu_run_enter(vcpu);
	if (!r)
		r = kvm_guest_run(vcpu, wants_to_run);
	kvm_vcpu_run_leave(vcpu);
	return r;
}

static long kvm_vcpu_ioctl(struct mv_task *t, struct file *f, unsigned int cmd, uint64_t arg)
{
	struct kvm_vcpu *vcpu = f->private_data;
	long r;

	if (vcpu->kvm->mm != t->mm || __atomic_load_n(&vcpu->kvm->mm_gone, __ATOMIC_ACQUIRE))
		return -EIO;
	if (_IOC_TYPE(cmd) != KVMIO)
		return -EINVAL;
	/*
	 * The first KVM_RUN closes the restore-only ioctls. That takes
	 * kvm->lock, which orders before vcpu->mutex: so here, before the
	 * mutex (a KVM_RUN that then fails still closes them).
	 */
	if (cmd == KVM_RUN)
		kvm_snapshot_note_run(vcpu->kvm);
	pthread_mutex_lock(&vcpu->mutex);
	if (__builtin_expect(cmd == KVM_RUN, 1)) {   /* the one a VMM loops on */
		r = kvm_vcpu_run(vcpu, arg);
		pthread_mutex_unlock(&vcpu->mutex);
		return r;
	}
	switch (cmd) {
	case KVM_GET_REGS:
		r = kvm_vcpu_ioctl_get_regs(vcpu, arg);
		break;
	case KVM_SET_REGS:
		r = kvm_vcpu_ioctl_set_regs(vcpu, arg);
		break;
	case KVM_GET_SREGS:
		r = kvm_vcpu_ioctl_get_sregs(vcpu, arg);
		break;
	case KVM_SET_SREGS:
		r = kvm_vcpu_ioctl_set_sregs(vcpu, arg);
		break;
	case KVM_GET_MSRS:
	case KVM_SET_MSRS:
		r = kvm_vcpu_ioctl_msrs(vcpu, arg, cmd == KVM_SET_MSRS);   /* msr.c */
		break;
	case KVM_GET_VCPU_EVENTS:
		r = kvm_vcpu_ioctl_get_events(vcpu, arg);
		break;
	case KVM_SET_VCPU_EVENTS:
		r = kvm_vcpu_ioctl_set_events(vcpu, arg);
		break;
	case KVM_ENABLE_CAP:
		r = kvm_vcpu_enable_cap(vcpu, arg);
		break;
	default:
		r = -EINVAL;   /* kvm_arch_vcpu_ioctl on x86 */
		break;
	}
	pthread_mutex_unlock(&vcpu->mutex);
	return r;
}

static void kvm_vcpu_release(struct file *f)
{
	struct kvm_vcpu *vcpu = f->private_data;

	kvm_put(vcpu->kvm);
}

static const struct file_ops kvm_vcpu_ops = {
	.name = "kvm-vcpu",
	.ioctl = kvm_vcpu_ioctl,
	.mmap = kvm_vcpu_mmap,
	.release = kvm_vcpu_release,
};

/* ---- creation ---- */

static int kvm_vcpu_alloc_pages(struct kvm_vcpu *vcpu)
{
	struct hw_machine *hw = vcpu->kvm->hw;

	if (hw_frames_alloc(hw, 0, HW_ALLOC_ZERO, 0, &vcpu->run_pfn))
		return -ENOMEM;
	if (hw_frames_alloc(hw, 0, HW_ALLOC_ZERO, 0, &vcpu->pio_pfn))
		goto err_run;
	vcpu->run = hw_pfn_to_host(hw, vcpu->run_pfn);
	return 0;

err_run:
	hw_folio_put(hw, vcpu->run_pfn);
	return -ENOMEM;
}

static struct kvm_vcpu *kvm_vcpu_alloc(struct kvm *kvm, int id)
{
	struct kvm_vcpu *vcpu = lib_zalloc(sizeof(*vcpu));

	if (!vcpu)
		return NULL;
	vcpu->kvm = kvm;
	vcpu->vcpu_id = id;
	if (pthread_mutex_init(&vcpu->mutex, NULL))
		goto err_free;
	if (kvm_vcpu_alloc_pages(vcpu))
		goto err_mutex;
	hw_cpu_init(&vcpu->cpu, kvm->hw);
	hw_cpu_enter_guest(&vcpu->cpu, kvm->vmid, kvm->ept_root);
	kvm_vcpu_reset_state(vcpu);
	kvm_mte_vcpu_init(vcpu);
	return vcpu;

err_mutex:
	pthread_mutex_destroy(&vcpu->mutex);
err_free:
	lib_free(vcpu);
	return NULL;
}

/* Frees a vCPU; the VM is being destroyed, nothing else can reach it. */
void kvm_vcpu_destroy(struct kvm_vcpu *vcpu)
{
	struct hw_machine *hw = vcpu->kvm->hw;

	if (vcpu->guest)
		kvm_guest_destroy(vcpu->guest);
	hw_folio_put(hw, vcpu->run_pfn);
	hw_folio_put(hw, vcpu->pio_pfn);
	pthread_mutex_destroy(&vcpu->mutex);
	lib_free(vcpu);
}

static bool kvm_vcpu_id_taken(struct kvm *kvm, int id)
{
	uint32_t n = __atomic_load_n(&kvm->online_vcpus, __ATOMIC_ACQUIRE);

	for (uint32_t i = 0; i < n; i++)
		if (kvm->vcpus[i]->vcpu_id == id)
			return true;
	return false;
}

/**
 * kvm_vcpu_create - KVM_CREATE_VCPU: a vCPU with @id and an fd for it
 *
 * Linux's order: id >= KVM_MAX_VCPU_IDS -> -EINVAL, more vCPUs than the
 * VM allows -> -EINVAL, allocation, a duplicate id -> -EEXIST, then the
 * fd (-EMFILE) last. The fd is close-on-exec.
 */
long kvm_vcpu_create(struct mv_task *t, struct kvm *kvm, unsigned long id)
{
	struct kvm_vcpu *vcpu;
	struct file *f;
	int fd;

	if (id >= KVM_MAX_VCPU_IDS)
		return -EINVAL;
	pthread_mutex_lock(&kvm->lock);
	if (kvm->created_vcpus >= KVM_MAX_VCPUS) {
		pthread_mutex_unlock(&kvm->lock);
		return -EINVAL;
	}
	kvm->created_vcpus++;
	pthread_mutex_unlock(&kvm->lock);

	vcpu = kvm_vcpu_alloc(kvm, (int)id);
	pthread_mutex_lock(&kvm->lock);
	if (!vcpu) {
		fd = -ENOMEM;
		goto err_unlock;
	}
	if (kvm_vcpu_id_taken(kvm, (int)id)) {
		fd = -EEXIST;
		goto err_destroy;
	}
	f = file_alloc(t->k, &kvm_vcpu_ops, O_RDWR, vcpu);
	if (lib_is_err(f)) {
		fd = (int)lib_ptr_err(f);
		goto err_destroy;
	}
	kvm_get(kvm);
	/*
	 * Hold the vCPU's mutex from the moment its fd is visible until it is
	 * online: no KVM_RUN can start before remote flushes wait for it
	 * (mainline does the same). Nobody else can hold this mutex yet, so
	 * taking it inside kvm->lock cannot invert the lock order.
	 */
	pthread_mutex_lock(&vcpu->mutex);
	fd = fd_install(t, f, O_CLOEXEC);
	if (fd < 0) {
		pthread_mutex_unlock(&vcpu->mutex);
		f->private_data = NULL;
		f->ops = NULL;          /* nothing to release: the vCPU is freed below */
		file_put(f);
		kvm_put(kvm);   /* the caller's VM fd keeps it alive */
		goto err_destroy;
	}
	vcpu->vcpu_idx = __atomic_load_n(&kvm->online_vcpus, __ATOMIC_RELAXED);
	kvm->vcpus[vcpu->vcpu_idx] = vcpu;
	__atomic_store_n(&kvm->online_vcpus, vcpu->vcpu_idx + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vcpu->mutex);
	pthread_mutex_unlock(&kvm->lock);
	return fd;

err_destroy:
	kvm_vcpu_destroy(vcpu);
err_unlock:
	kvm->created_vcpus--;
	pthread_mutex_unlock(&kvm->lock);
	return fd;
}

/* ---- public API ---- */

static struct kvm_vcpu *kvm_vcpu_get_fd(struct mv_task *vmm, int fd, struct file **fp)
{
	struct file *f = fd_get(vmm, fd);
	struct kvm_vcpu *vcpu = kvm_vcpu_from_file(f);

	if (!vcpu && f)
		file_put(f);
	*fp = vcpu ? f : NULL;
	return vcpu;
}

/**
 * mv_vcpu_set_guest - give a vCPU the guest program @fn(@arg)
 *
 * The next KVM_RUN starts it. Replaces any earlier program (which is
 * abandoned where it stopped). -EBADF: @vcpu_fd is not open; -EINVAL: not
 * a vCPU fd of this process's VM, or @fn is NULL; -ENOMEM.
 */
MV_API long mv_vcpu_set_guest(struct mv_task *vmm, int vcpu_fd, mv_guest_fn fn, void *arg)
{
	struct file *f;
	struct kvm_vcpu *vcpu;
	long ret;

	if (!vmm)
		return -EINVAL;
	vcpu = kvm_vcpu_get_fd(vmm, vcpu_fd, &f);
	if (!vcpu) {
		struct file *any = fd_get(vmm, vcpu_fd);

		file_put(any);
		return any ? -EINVAL : -EBADF;
	}
	if (!fn || vcpu->kvm->mm != vmm->mm) {
		file_put(f);
		return -EINVAL;
	}
	pthread_mutex_lock(&vcpu->mutex);
	ret = kvm_guest_create(vcpu, fn, arg);
	pthread_mutex_unlock(&vcpu->mutex);
	file_put(f);
	return ret;
}

/* The run area as a host pointer; valid while the vCPU exists. NULL if not a vCPU fd. */
MV_API struct kvm_run *mv_vcpu_run_area(struct mv_task *vmm, int vcpu_fd)
{
	struct file *f;
	struct kvm_vcpu *vcpu;
	struct kvm_run *run;

	if (!vmm)
		return NULL;
	vcpu = kvm_vcpu_get_fd(vmm, vcpu_fd, &f);
	if (!vcpu)
		return NULL;
	run = vcpu->run;
	file_put(f);
	return run;
}
