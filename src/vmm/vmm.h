/* SPDX-License-Identifier: MIT */
/*
 * A small VMM on the public API only (mv_syscall with the KVM ioctls, the
 * mv_vcpu_* calls): a VM with N vCPUs and anonymous RAM in one memslot,
 * guest programs per vCPU, a run loop that handles exits until every vCPU
 * halts, and per-exit statistics. It never prints: callers (the CLI) get
 * each exit through a callback and vmm_exit_format() turns one into text.
 */
#ifndef MV_VMM_VMM_H
#define MV_VMM_VMM_H

#include <stddef.h>
#include <stdint.h>

#include <memvisor/memvisor.h>

#define VMM_MAX_VCPUS 64

struct vmm_config {
	unsigned int nr_vcpus;     /* 1..VMM_MAX_VCPUS */
	uint64_t ram_bytes;        /* page multiple, > 0 */
	uint64_t ram_gpa;          /* where RAM starts in the guest (page aligned) */
	uint32_t ram_flags;        /* KVM_MEM_* for the RAM slot */
	unsigned long vm_type;     /* KVM_X86_DEFAULT_VM, KVM_X86_SW_PROTECTED_VM */
	/*
	 * Bind the RAM slot to a guest_memfd of the same size (KVM_MEM_GUEST_MEMFD
	 * added to ram_flags; needs KVM_X86_SW_PROTECTED_VM), so pages can be
	 * made private with KVM_SET_MEMORY_ATTRIBUTES.
	 */
	int private_mem;
	int mte;                   /* KVM_CAP_ARM_MTE before the vCPUs */
};

struct vmm_exit_stats {
	uint64_t hlt, mmio_read, mmio_write, hypercall, memory_fault, internal, other;
	uint64_t heki_configure, heki_denial;   /* Heki events (vmm_enable_heki) */
};

struct vmm;

/*
 * Exit hooks, called on the thread running the vCPU. @mmio: fill
 * run->mmio.data for a read, consume it for a write (default: reads see
 * zeroes, writes are dropped). @hypercall: set run->hypercall.ret (default
 * 0). @observe: sees every exit after it was handled (tracing, printing).
 */
struct vmm_hooks {
	void (*mmio)(void *ctx, unsigned int vcpu, struct kvm_run *run);
	void (*hypercall)(void *ctx, unsigned int vcpu, struct kvm_run *run);
	void (*observe)(void *ctx, unsigned int vcpu, const struct kvm_run *run, long ret);
	void *ctx;
};

/* 0 or a negative errno; @vmm is the VMM process's task. */
MV_MUST_CHECK int vmm_create(struct mv_task *vmm, const struct vmm_config *cfg, struct vmm **out);
void vmm_destroy(struct vmm *v);
void vmm_set_hooks(struct vmm *v, const struct vmm_hooks *hooks);
MV_MUST_CHECK int vmm_set_guest(struct vmm *v, unsigned int vcpu, mv_guest_fn fn, void *arg);
/* The VMM's address of guest-physical @gpa in RAM, or 0 outside RAM. */
uint64_t vmm_gpa_to_uaddr(const struct vmm *v, uint64_t gpa);
int vmm_vm_fd(const struct vmm *v);
/*
 * Asks KVM to report Heki events: KVM_CAP_HEKI_CONFIGURE and
 * KVM_CAP_HEKI_DENIAL with these KVM_HEKI_EXIT_REASON_* masks. The run
 * loop counts them, hands them to @observe, and lets the guest go on (a
 * denial's fault is injected by the next KVM_RUN). 0 or KVM_ENABLE_CAP's
 * error.
 */
MV_MUST_CHECK long vmm_enable_heki(struct vmm *v, uint64_t configure, uint64_t denial);
int vmm_vcpu_fd(const struct vmm *v, unsigned int vcpu);
struct mv_task *vmm_task(const struct vmm *v);
/* The configuration the VMM was created with (ram_flags as given). */
const struct vmm_config *vmm_get_config(const struct vmm *v);
/* The VMM's fd of the RAM slot's guest_memfd, or -1. */
int vmm_gmem_fd(const struct vmm *v);
/* Changes the RAM slot's KVM_MEM_* flags (KVM_SET_USER_MEMORY_REGION2): 0 or its error. */
MV_MUST_CHECK int vmm_set_ram_flags(struct vmm *v, uint32_t flags);

/*
 * Runs one vCPU until it halts: 0, or the first KVM_RUN error, or -EIO
 * for an exit the VMM cannot handle (internal error, unknown reason).
 */
long vmm_run_vcpu(struct vmm *v, unsigned int vcpu);
/* Runs every vCPU to completion, each on its own host thread (one: inline). */
long vmm_run(struct vmm *v);
/*
 * Pausing a running VM (migration): vmm_pause asks every vCPU loop to stop
 * at its vCPU's next exit and returns once each running one has (a guest
 * that never exits cannot be paused); a loop that starts while a pause is
 * asked for parks before its first KVM_RUN. vmm_resume lets them go on, or with
 * @stop ends their loops with 0 (the guest moved elsewhere).
 */
void vmm_pause(struct vmm *v);
void vmm_resume(struct vmm *v, int stop);
void vmm_exit_stats(const struct vmm *v, unsigned int vcpu, struct vmm_exit_stats *out);

const char *vmm_exit_name(uint32_t exit_reason);
/* One line describing @run's exit; returns what snprintf returns. */
int vmm_exit_format(const struct kvm_run *run, char *buf, size_t len);

#endif
