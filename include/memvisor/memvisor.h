/* SPDX-License-Identifier: MIT */
/*
 * memvisor: the public embedding API.
 *
 * A machine (simulated hardware plus a Linux-like kernel) runs tasks; a task
 * makes system calls with Linux x86-64 numbers and gets Linux's answers,
 * negative errno included. Pointers that are arguments of a call (paths,
 * buffers, ioctl structs) are host pointers; addresses of mapped memory are
 * simulated addresses in the task's address space.
 *
 * Library code never prints and never exits; every error is a return value.
 */
#ifndef MEMVISOR_MEMVISOR_H
#define MEMVISOR_MEMVISOR_H

#include <stddef.h>
#include <stdint.h>

#include <memvisor/uapi/unistd.h>
#include <memvisor/uapi/mman.h>
#include <memvisor/uapi/fcntl.h>
#include <memvisor/uapi/signal.h>
#include <memvisor/uapi/sched.h>
#include <memvisor/uapi/shstk.h>
#include <memvisor/uapi/kvm.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MV_BUILDING_LIBRARY)
#define MV_API __attribute__((visibility("default")))
#else
#define MV_API
#endif
#define MV_MUST_CHECK __attribute__((warn_unused_result))

/* ---- version ---- */
MV_API const char *mv_version(void);   /* "MAJOR.MINOR.PATCH" */

/* ---- machine ---- */

/* Hardware features, named in mv_machine_config.features_off. */
#define MV_FEAT_SHSTK (1ull << 0)  /* CET user and supervisor shadow stacks */
#define MV_FEAT_IBT   (1ull << 1)  /* CET indirect branch tracking (state only) */
#define MV_FEAT_MTE   (1ull << 2)  /* memory tagging for guests */
#define MV_FEAT_SGX   (1ull << 3)  /* SGX with an EPC */
#define MV_FEAT_MBEC  (1ull << 4)  /* EPT mode-based execute control */
#define MV_FEAT_SMEP  (1ull << 5)
#define MV_FEAT_SMAP  (1ull << 6)
#define MV_FEAT_ALL   ((1ull << 7) - 1)

#define MV_ABI_MAINLINE 0u   /* mainline Linux/KVM answers (default) */
#define MV_ABI_SEED     1u   /* the seed revisions' answers where they differ */

struct mv_machine_config {
	uint64_t ram_bytes;    /* simulated physical memory; lazily backed; 0: 1 GiB */
	uint64_t features_off; /* MV_FEAT_* the machine lacks */
	uint64_t epc_bytes;    /* EPC size with MV_FEAT_SGX; 0: 64 MiB */
	uint32_t abi;          /* MV_ABI_MAINLINE or MV_ABI_SEED */
	uint64_t seed;         /* seeds every PRNG; same seed, same run */
};

struct mv_machine;
struct mv_task;

MV_API MV_MUST_CHECK int mv_machine_create(const struct mv_machine_config *cfg,
					   struct mv_machine **out);
MV_API void mv_machine_destroy(struct mv_machine *m);

/*
 * Tracing: every protection-relevant event is one JSON object per line,
 * handed to @sink (which must not call back into memvisor). NULL turns
 * tracing off. Lines carry a sequence number, never host addresses or time.
 */
typedef void (*mv_trace_sink)(void *ctx, const char *line, size_t len);
MV_API void mv_machine_set_trace(struct mv_machine *m, mv_trace_sink sink, void *ctx);

/* Counters a user may want to see: memory in use, TLB behaviour. */
struct mv_machine_stats {
	uint64_t ram_bytes;
	uint64_t frames_total;
	uint64_t frames_free;
	uint64_t frame_meta_bytes;   /* bytes of metadata per 4 KiB frame */
	uint64_t tlb_hits;
	uint64_t tlb_misses;
	uint64_t tlb_flushes;
	uint64_t page_faults;
};
MV_API void mv_machine_get_stats(struct mv_machine *m, struct mv_machine_stats *out);

/* ---- tasks ---- */
MV_API MV_MUST_CHECK int mv_task_spawn(struct mv_machine *m, struct mv_task **out);
MV_API MV_MUST_CHECK long mv_task_clone(struct mv_task *t, unsigned long clone_flags,
					struct mv_task **out);
MV_API void mv_task_exit(struct mv_task *t);
MV_API int mv_task_pid(const struct mv_task *t);
MV_API long mv_syscall(struct mv_task *t, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
		       uint64_t a3, uint64_t a4, uint64_t a5);

/* ---- user memory, as the task's CPU touches it ---- */
MV_API long mv_user_read(struct mv_task *t, uint64_t uaddr, void *buf, size_t len);
MV_API long mv_user_write(struct mv_task *t, uint64_t uaddr, const void *buf, size_t len);

struct mv_siginfo {
	int signo;
	int code;
	uint64_t addr;
};
/* 1: a signal was pending and is now taken into *out; 0: none. */
MV_API int mv_task_take_signal(struct mv_task *t, struct mv_siginfo *out);

/* ---- the task's CPU ---- */
/*
 * 0 on success; a fault returns -EFAULT with the signal pending (SIGSEGV /
 * SEGV_CPERR for #CP). With shadow stacks off for the task, CALL/RET touch
 * only the ordinary stack and the shadow-stack instructions behave as the
 * hardware does (no-ops or #UD -> SIGILL).
 */
MV_API long mv_cpu_call(struct mv_task *t, uint64_t return_address);
MV_API long mv_cpu_ret(struct mv_task *t, uint64_t *return_address);
MV_API long mv_cpu_rdssp(struct mv_task *t, uint64_t *ssp);
MV_API long mv_cpu_rstorssp(struct mv_task *t, uint64_t token_address);
MV_API long mv_cpu_saveprevssp(struct mv_task *t);
MV_API long mv_cpu_wrss(struct mv_task *t, uint64_t address, uint64_t value);
MV_API long mv_cpu_incssp(struct mv_task *t, uint32_t count);

#define MV_REG_RIP 0
#define MV_REG_RSP 1
#define MV_REG_SSP 2
MV_API long mv_cpu_get_reg(struct mv_task *t, int reg, uint64_t *value);
MV_API long mv_cpu_set_reg(struct mv_task *t, int reg, uint64_t value);

/*
 * Signals, as the kernel delivers them to the task's CPU. Delivery builds a
 * frame on the ordinary stack (below the 128-byte red zone: the restorer as
 * the return address, then signo, the interrupted RIP and RSP), pushes the
 * shadow-stack signal token (the old SSP with bit 63 set) and the restorer
 * on the shadow stack when shadow stacks are on, and sets RIP = @handler.
 * The handler returns with mv_cpu_ret (to the restorer), which then calls
 * mv_cpu_sigreturn: the frame is read back and the token checked (8-byte
 * aligned, below TASK_SIZE, in a shadow-stack mapping). Failures are what
 * Linux does: delivery -> SIGSEGV (si_code SI_KERNEL) pending, sigreturn on
 * a bad frame or token -> the same; both then return -EFAULT.
 */
MV_API long mv_cpu_signal_deliver(struct mv_task *t, int signo, uint64_t handler,
				  uint64_t restorer);
MV_API long mv_cpu_sigreturn(struct mv_task *t);

/*
 * Another party touching the task's memory through GUP, as the kernel does
 * for process_vm_readv/writev (no flags beyond MV_REMOTE_WRITE: a write to a
 * read-only or shadow-stack mapping is -EFAULT) and for ptrace or
 * /proc/<pid>/mem (MV_REMOTE_FORCE: private read-only and shadow-stack
 * memory is written through a copy-on-write copy; nothing copied is -EIO).
 * Returns the bytes copied.
 */
#define MV_REMOTE_WRITE (1u << 0)
#define MV_REMOTE_FORCE (1u << 1)
MV_API long mv_task_access_remote(struct mv_task *t, uint64_t addr, void *buf, size_t len,
				  unsigned int flags);

/*
 * Opt-in, per process (all its threads; inherited by fork): give
 * mmap(PROT_SHADOW_STACK) the meaning of the reviewer's alternative to
 * map_shadow_stack. Not mainline Linux; off by default. 0 or -EINVAL.
 */
MV_API long mv_task_set_prot_shadow_stack(struct mv_task *t, int enable);

/* ---- guests (KVM) ---- */
struct kvm_run;
struct mv_guest;
typedef void (*mv_guest_fn)(struct mv_guest *g, void *arg);
MV_API long mv_vcpu_set_guest(struct mv_task *vmm, int vcpu_fd, mv_guest_fn fn, void *arg);
MV_API struct kvm_run *mv_vcpu_run_area(struct mv_task *vmm, int vcpu_fd);

MV_API long mv_guest_read(struct mv_guest *g, uint64_t gva, void *buf, size_t len);
MV_API long mv_guest_write(struct mv_guest *g, uint64_t gva, const void *buf, size_t len);
MV_API long mv_guest_fetch(struct mv_guest *g, uint64_t gva, size_t len);
MV_API long mv_guest_hypercall(struct mv_guest *g, uint64_t nr, uint64_t a0, uint64_t a1,
			       uint64_t a2, uint64_t a3);
MV_API long mv_guest_write_cr(struct mv_guest *g, int cr, uint64_t value);
MV_API long mv_guest_read_cr(struct mv_guest *g, int cr, uint64_t *value);
MV_API long mv_guest_set_tag(struct mv_guest *g, uint64_t tagged_gva);
MV_API long mv_guest_get_tag(struct mv_guest *g, uint64_t gva, uint8_t *tag);

struct mv_guest_fault {
	int vector;
	uint64_t error_code;
	uint64_t address;
};
MV_API int mv_guest_last_fault(struct mv_guest *g, struct mv_guest_fault *out);

/*
 * A VM's guest-physical memory map, for tools ('memvisor map'): one range
 * per run of a memslot whose attributes do not change, in GPA order. A
 * shared range's bytes are the VMM's, at @hva; a private range's bytes
 * live in the guest_memfd bound to its memslot, at @gmem_offset.
 */
struct mv_vm_range {
	uint64_t gpa;
	uint64_t size;
	uint64_t hva;          /* the VMM's address for @gpa (a shared range's bytes) */
	uint32_t slot;         /* memslot id */
	uint32_t flags;        /* MV_RANGE_* */
	/*
	 * A private range: the VMM's fd of the guest_memfd that holds its
	 * bytes, and @gpa's byte offset in that file. -1 when no guest_memfd
	 * backs it (the slot has none: an access is a memory-fault exit) or
	 * the VMM has no fd open on it; always -1 for a shared range.
	 */
	int32_t gmem_fd;
	uint32_t reserved;     /* 0 */
	uint64_t gmem_offset;
};
#define MV_RANGE_READ       (1u << 0)   /* stage 2 allows guest reads */
#define MV_RANGE_WRITE      (1u << 1)   /* ... writes (not in a KVM_MEM_READONLY slot) */
#define MV_RANGE_EXEC       (1u << 2)   /* ... instruction fetches */
#define MV_RANGE_PRIVATE    (1u << 3)   /* KVM_MEMORY_ATTRIBUTE_PRIVATE */
#define MV_RANGE_IMMUTABLE  (1u << 4)   /* locked by the guest (Heki) */
#define MV_RANGE_TAGGED     (1u << 5)   /* carries MTE allocation tags */
#define MV_RANGE_EPC        (1u << 6)   /* SGX virtual EPC */
#define MV_RANGE_DIRTY_LOG  (1u << 7)   /* KVM_MEM_LOG_DIRTY_PAGES */

/*
 * Fills @ranges (room for @max) with the memory map of the VM behind
 * @vm_fd, a VM of @vmm's process. Returns how many ranges the map has,
 * which may be more than @max (call again with more room), or -EBADF
 * (@vm_fd not open), -EINVAL (not a VM fd of this process), -EIO (the
 * VMM's address space is gone), -ENOMEM.
 */
MV_API long mv_vm_memory_map(struct mv_task *vmm, int vm_fd, struct mv_vm_range *ranges,
			     size_t max);

#ifdef __cplusplus
}
#endif

#endif
