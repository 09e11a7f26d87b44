/* SPDX-License-Identifier: MIT */
/*
 * The VMM skeleton: what a user-space VMM does with /dev/kvm, through the
 * public API only. Creation opens /dev/kvm, makes the VM, maps RAM in the
 * VMM process and hands it to KVM as memslot 0, creates the vCPUs and maps
 * their run areas. The run loop calls KVM_RUN and handles exits; with
 * several vCPUs each runs on its own host thread as a thread (CLONE_VM)
 * of the VMM process, as a real VMM's vCPU threads are.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compiler.h"
#include "vmm/vmm.h"

struct vmm_vcpu {
	struct vmm *v;
	unsigned int idx;
	int fd;
	struct kvm_run *run;
	struct mv_task *thread;    /* the task that runs it (a VMM thread) */
	struct vmm_exit_stats stats;
	long result;
};

struct vmm {
	struct mv_task *t;
	int kvm_fd, vm_fd;
	uint64_t ram_uaddr, ram_bytes, ram_gpa;
	unsigned int nr_vcpus;
	int gmem_fd;
	struct vmm_config cfg;
	struct vmm_hooks hooks;
	/*
	 * Pausing (vmm_pause): pause_lock covers running, paused, stop and the
	 * wait on pause_cond; pause_req is also read without it by each vCPU
	 * loop after an exit (READ_ONCE / WRITE_ONCE).
	 */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	int pause_req;
	unsigned int running, paused;
	int stop;
	struct vmm_vcpu vcpus[VMM_MAX_VCPUS];
};

static long vmm_ioctl(struct mv_task *t, int fd, unsigned long cmd, uint64_t arg)
{
	return mv_syscall(t, MV_SYS_ioctl, (uint64_t)fd, cmd, arg, 0, 0, 0);
}

static int vmm_check_config(const struct vmm_config *cfg)
{
	if (!cfg || !cfg->nr_vcpus || cfg->nr_vcpus > VMM_MAX_VCPUS)
		return -EINVAL;
	if (!cfg->ram_bytes || (cfg->ram_bytes & 4095) || (cfg->ram_gpa & 4095))
		return -EINVAL;
	return 0;
}

static int vmm_make_gmem(struct vmm *v, const struct vmm_config *cfg)
{
	struct kvm_create_guest_memfd g = { .size = cfg->ram_bytes };
	long fd = vmm_ioctl(v->t, v->vm_fd, KVM_CREATE_GUEST_MEMFD, (uint64_t)(uintptr_t)&g);

	if (fd < 0)
		return (int)fd;
	v->gmem_fd = (int)fd;
	return 0;
}

static int vmm_map_ram(struct vmm *v, const struct vmm_config *cfg)
{
	struct kvm_userspace_memory_region2 r = { 0 };
	long a = mv_syscall(v->t, MV_SYS_mmap, 0, cfg->ram_bytes, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, (uint64_t)-1, 0);

	if (a < 0)
		return (int)a;
	v->ram_uaddr = (uint64_t)a;
	v->ram_bytes = cfg->ram_bytes;
	v->ram_gpa = cfg->ram_gpa;
	r.slot = 0;
	r.flags = cfg->ram_flags;
	r.guest_phys_addr = cfg->ram_gpa;
	r.memory_size = cfg->ram_bytes;
	r.userspace_addr = v->ram_uaddr;
	if (cfg->private_mem) {
		int e = vmm_make_gmem(v, cfg);

		if (e)
			return e;
		r.flags |= KVM_MEM_GUEST_MEMFD;
		r.guest_memfd = (uint32_t)v->gmem_fd;
	}
	return (int)vmm_ioctl(v->t, v->vm_fd, KVM_SET_USER_MEMORY_REGION2, (uint64_t)(uintptr_t)&r);
}

int vmm_set_ram_flags(struct vmm *v, uint32_t flags)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = 0, .flags = flags, .guest_phys_addr = v->ram_gpa,
		.memory_size = v->ram_bytes, .userspace_addr = v->ram_uaddr,
	};
	long e;

	if (v->gmem_fd >= 0) {
		r.flags |= KVM_MEM_GUEST_MEMFD;
		r.guest_memfd = (uint32_t)v->gmem_fd;
	}
	e = vmm_ioctl(v->t, v->vm_fd, KVM_SET_USER_MEMORY_REGION2, (uint64_t)(uintptr_t)&r);
	if (!e)
		v->cfg.ram_flags = flags;
	return (int)e;
}

static int vmm_make_vcpus(struct vmm *v)
{
	for (unsigned int i = 0; i < v->nr_vcpus; i++) {
		struct vmm_vcpu *c = &v->vcpus[i];
		long fd = vmm_ioctl(v->t, v->vm_fd, KVM_CREATE_VCPU, i);

		if (fd < 0)
			return (int)fd;
		c->v = v;
		c->idx = i;
		c->fd = (int)fd;
		c->run = mv_vcpu_run_area(v->t, c->fd);
		if (!c->run)
			return -EINVAL;
	}
	return 0;
}

int vmm_create(struct mv_task *t, const struct vmm_config *cfg, struct vmm **out)
{
	struct vmm *v;
	long r;

	r = vmm_check_config(cfg);
	if (r || !t || !out)
		return r ? (int)r : -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->t = t;
	v->nr_vcpus = cfg->nr_vcpus;
	v->kvm_fd = v->vm_fd = v->gmem_fd = -1;
	pthread_mutex_init(&v->pause_lock, NULL);
	pthread_cond_init(&v->pause_cond, NULL);
	v->cfg = *cfg;
	r = mv_syscall(t, MV_SYS_openat, (uint64_t)AT_FDCWD, (uint64_t)(uintptr_t)"/dev/kvm",
		       O_RDWR | O_CLOEXEC, 0, 0, 0);
	if (r < 0)
		goto err;
	v->kvm_fd = (int)r;
	r = vmm_ioctl(t, v->kvm_fd, KVM_CREATE_VM, cfg->vm_type);
	if (r < 0)
		goto err;
	v->vm_fd = (int)r;
	if (cfg->mte) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };

		r = vmm_ioctl(t, v->vm_fd, KVM_ENABLE_CAP, (uint64_t)(uintptr_t)&cap);
		if (r)
			goto err;
	}
	r = vmm_map_ram(v, cfg);
	if (!r)
		r = vmm_make_vcpus(v);
	if (r)
		goto err;
	*out = v;
	return 0;

err:
	vmm_destroy(v);
	return (int)r;
}

void vmm_destroy(struct vmm *v)
{
	if (!v)
		return;
	for (unsigned int i = 0; i < v->nr_vcpus; i++)
		if (v->vcpus[i].run)
			mv_syscall(v->t, MV_SYS_close, (uint64_t)v->vcpus[i].fd, 0, 0, 0, 0, 0);
	if (v->ram_uaddr)
		mv_syscall(v->t, MV_SYS_munmap, v->ram_uaddr, v->ram_bytes, 0, 0, 0, 0);
	if (v->gmem_fd >= 0)
		mv_syscall(v->t, MV_SYS_close, (uint64_t)v->gmem_fd, 0, 0, 0, 0, 0);
	if (v->vm_fd >= 0)
		mv_syscall(v->t, MV_SYS_close, (uint64_t)v->vm_fd, 0, 0, 0, 0, 0);
	if (v->kvm_fd >= 0)
		mv_syscall(v->t, MV_SYS_close, (uint64_t)v->kvm_fd, 0, 0, 0, 0, 0);
	pthread_cond_destroy(&v->pause_cond);
	pthread_mutex_destroy(&v->pause_lock);
	free(v);
}

void vmm_set_hooks(struct vmm *v, const struct vmm_hooks *hooks)
{
	if (hooks)
		v->hooks = *hooks;
	else
		memset(&v->hooks, 0, sizeof(v->hooks));
}

int vmm_set_guest(struct vmm *v, unsigned int vcpu, mv_guest_fn fn, void *arg)
{
	if (vcpu >= v->nr_vcpus)
		return -EINVAL;
	return (int)mv_vcpu_set_guest(v->t, v->vcpus[vcpu].fd, fn, arg);
}

uint64_t vmm_gpa_to_uaddr(const struct vmm *v, uint64_t gpa)
{
	if (gpa < v->ram_gpa || gpa - v->ram_gpa >= v->ram_bytes)
		return 0;
	return v->ram_uaddr + (gpa - v->ram_gpa);
}

int vmm_vm_fd(const struct vmm *v)
{
	return v->vm_fd;
}

int vmm_vcpu_fd(const struct vmm *v, unsigned int vcpu)
{
	return vcpu < v->nr_vcpus ? v->vcpus[vcpu].fd : -EINVAL;
}

struct mv_task *vmm_task(const struct vmm *v)
{
	return v->t;
}

const struct vmm_config *vmm_get_config(const struct vmm *v)
{
	return &v->cfg;
}

int vmm_gmem_fd(const struct vmm *v)
{
	return v->gmem_fd;
}

/* ---- the run loop ---- */

/* Handles one exit: 1 to keep running, 0 when halted, negative on an exit we cannot handle. */
static long vmm_handle_exit(struct vmm_vcpu *c)
{
	struct kvm_run *run = c->run;
	const struct vmm_hooks *h = &c->v->hooks;

	switch (run->exit_reason) {
	case KVM_EXIT_HLT:
		c->stats.hlt++;
		return 0;
	case KVM_EXIT_MMIO:
		if (run->mmio.is_write)
			c->stats.mmio_write++;
		else
			c->stats.mmio_read++;
		if (h->mmio)
			h->mmio(h->ctx, c->idx, run);
		else if (!run->mmio.is_write)
			memset(run->mmio.data, 0, sizeof(run->mmio.data));
		return 1;
	case KVM_EXIT_HYPERCALL:
		c->stats.hypercall++;
		run->hypercall.ret = 0;
		if (h->hypercall)
			h->hypercall(h->ctx, c->idx, run);
		return 1;
	case KVM_EXIT_HEKI_CONFIGURE:   /* the guest configured Heki: note it, go on */
		c->stats.heki_configure++;
		return 1;
	case KVM_EXIT_HEKI_DENIAL:      /* Heki refused the guest: reported, then the fault */
		c->stats.heki_denial++;
		return 1;
	case KVM_EXIT_INTERNAL_ERROR:
		c->stats.internal++;
		return -EIO;
	default:
		c->stats.other++;
		return -EIO;
	}
}

/* ---- pausing ---- */

/* After an exit with a pause requested: park until released; 1 when told to stop. */
static int vmm_park(struct vmm *v)
{
	int stop;

	pthread_mutex_lock(&v->pause_lock);
	v->paused++;
	pthread_cond_broadcast(&v->pause_cond);
	while (v->pause_req && !v->stop)
		pthread_cond_wait(&v->pause_cond, &v->pause_lock);
	v->paused--;
	stop = v->stop;
	pthread_mutex_unlock(&v->pause_lock);
	return stop;
}

static void vmm_loop_enter(struct vmm *v, int delta)
{
	pthread_mutex_lock(&v->pause_lock);
	v->running = (unsigned int)((int)v->running + delta);
	pthread_cond_broadcast(&v->pause_cond);
	pthread_mutex_unlock(&v->pause_lock);
}

void vmm_pause(struct vmm *v)
{
	pthread_mutex_lock(&v->pause_lock);
	WRITE_ONCE(v->pause_req, 1);
	while (v->paused < v->running)
		pthread_cond_wait(&v->pause_cond, &v->pause_lock);
	pthread_mutex_unlock(&v->pause_lock);
}

void vmm_resume(struct vmm *v, int stop)
{
	pthread_mutex_lock(&v->pause_lock);
	WRITE_ONCE(v->pause_req, 0);
	v->stop = stop;
	pthread_cond_broadcast(&v->pause_cond);
	pthread_mutex_unlock(&v->pause_lock);
}

static long vmm_loop_body(struct vmm_vcpu *c, struct mv_task *t)
{
	const struct vmm_hooks *h = &c->v->hooks;

	for (;;) {
		long ret, next;

		/* before every entry, the first too: a loop started while paused never runs */
		if (READ_ONCE(c->v->pause_req) && vmm_park(c->v))
			return 0;   /* stopped for good: the VM moved elsewhere */
		ret = vmm_ioctl(t, c->fd, KVM_RUN, 0);
		if (ret < 0) {
			if (ret == -EFAULT && c->run->exit_reason == KVM_EXIT_MEMORY_FAULT)
				c->stats.memory_fault++;
			if (h->observe)
				h->observe(h->ctx, c->idx, c->run, ret);
			return ret;
		}
		next = vmm_handle_exit(c);
		if (h->observe)
			h->observe(h->ctx, c->idx, c->run, ret);
		if (next <= 0)
			return next;
	}
}

static long vmm_loop(struct vmm_vcpu *c, struct mv_task *t)
{
	long r;

	vmm_loop_enter(c->v, 1);
	r = vmm_loop_body(c, t);
	vmm_loop_enter(c->v, -1);
	return r;
}

long vmm_run_vcpu(struct vmm *v, unsigned int vcpu)
{
	if (vcpu >= v->nr_vcpus)
		return -EINVAL;
	return vmm_loop(&v->vcpus[vcpu], v->t);
}

static void *vmm_thread_main(void *p)
{
	struct vmm_vcpu *c = p;

	c->result = vmm_loop(c, c->thread);
	return NULL;
}

#define VMM_THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)

long vmm_run(struct vmm *v)
{
	pthread_t th[VMM_MAX_VCPUS];
	unsigned int started = 0;
	long ret = 0;

	if (v->nr_vcpus == 1)
		return vmm_run_vcpu(v, 0);
	for (; started < v->nr_vcpus; started++) {
		struct vmm_vcpu *c = &v->vcpus[started];

		ret = mv_task_clone(v->t, VMM_THREAD_FLAGS, &c->thread);
		if (ret)
			break;
		if (pthread_create(&th[started], NULL, vmm_thread_main, c)) {
			mv_task_exit(c->thread);
			ret = -EAGAIN;
			break;
		}
	}
	for (unsigned int i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		mv_task_exit(v->vcpus[i].thread);
		v->vcpus[i].thread = NULL;
		if (!ret)
			ret = v->vcpus[i].result;
	}
	return ret;
}

void vmm_exit_stats(const struct vmm *v, unsigned int vcpu, struct vmm_exit_stats *out)
{
	if (vcpu < v->nr_vcpus)
		*out = v->vcpus[vcpu].stats;
	else
		memset(out, 0, sizeof(*out));
}

const char *vmm_exit_name(uint32_t exit_reason)
{
	switch (exit_reason) {
	case KVM_EXIT_UNKNOWN: return "UNKNOWN";
	case KVM_EXIT_HYPERCALL: return "HYPERCALL";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTR: return "INTR";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	case KVM_EXIT_SYSTEM_EVENT: return "SYSTEM_EVENT";
	case KVM_EXIT_MEMORY_FAULT: return "MEMORY_FAULT";
	case KVM_EXIT_HEKI_CONFIGURE: return "HEKI_CONFIGURE";
	case KVM_EXIT_HEKI_DENIAL: return "HEKI_DENIAL";
	default: return "?";
	}
}

static const char *vmm_heki_reason(uint64_t reason)
{
	switch (reason) {
	case KVM_HEKI_EXIT_REASON_CR0: return "cr0";
	case KVM_HEKI_EXIT_REASON_CR4: return "cr4";
	case KVM_HEKI_EXIT_REASON_MEM: return "mem";
	default: return "?";
	}
}

long vmm_enable_heki(struct vmm *v, uint64_t configure, uint64_t denial)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_HEKI_CONFIGURE, .args = { configure } };
	long r = vmm_ioctl(v->t, v->vm_fd, KVM_ENABLE_CAP, (uint64_t)(uintptr_t)&cap);

	if (r)
		return r;
	cap.cap = KVM_CAP_HEKI_DENIAL;
	cap.args[0] = denial;
	return vmm_ioctl(v->t, v->vm_fd, KVM_ENABLE_CAP, (uint64_t)(uintptr_t)&cap);
}

int vmm_exit_format(const struct kvm_run *run, char *buf, size_t len)
{
	const char *name = vmm_exit_name(run->exit_reason);

	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		return snprintf(buf, len, "%s %s gpa=0x%llx len=%u", name,
				run->mmio.is_write ? "write" : "read",
				(unsigned long long)run->mmio.phys_addr, run->mmio.len);
	case KVM_EXIT_HYPERCALL:
		return snprintf(buf, len, "%s nr=%llu args=0x%llx,0x%llx,0x%llx", name,
				(unsigned long long)run->hypercall.nr,
				(unsigned long long)run->hypercall.args[0],
				(unsigned long long)run->hypercall.args[1],
				(unsigned long long)run->hypercall.args[2]);
	case KVM_EXIT_MEMORY_FAULT:
		return snprintf(buf, len, "%s gpa=0x%llx size=0x%llx flags=0x%llx", name,
				(unsigned long long)run->memory_fault.gpa,
				(unsigned long long)run->memory_fault.size,
				(unsigned long long)run->memory_fault.flags);
	case KVM_EXIT_INTERNAL_ERROR:
		return snprintf(buf, len, "%s suberror=%u", name, run->internal.suberror);
	case KVM_EXIT_HEKI_CONFIGURE:
		return snprintf(buf, len, "%s %s 0x%llx npages=%llu", name,
				vmm_heki_reason(run->heki_configure.reason),
				(unsigned long long)run->heki_configure.cr_pinned,
				(unsigned long long)run->heki_configure.npages);
	case KVM_EXIT_HEKI_DENIAL:
		if (run->heki_denial.reason == KVM_HEKI_EXIT_REASON_MEM)
			return snprintf(buf, len, "%s mem gpa=0x%llx access=0x%llx permissions=0x%llx",
					name, (unsigned long long)run->heki_denial.gpa,
					(unsigned long long)run->heki_denial.access,
					(unsigned long long)run->heki_denial.permissions);
		return snprintf(buf, len, "%s %s value=0x%llx", name,
				vmm_heki_reason(run->heki_denial.reason),
				(unsigned long long)run->heki_denial.cr_value);
	default:
		return snprintf(buf, len, "%s (%u)", name, run->exit_reason);
	}
}
