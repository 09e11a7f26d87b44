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
 * Each function below says what it returns; "-EINVAL" and the like are
 * negative errno values (<errno.h>). Passing a pointer to a machine or task
 * that has been destroyed, or that exited, is undefined behaviour, as
 * with free().
 *
 * The uAPI headers included here can be mixed with the system's
 * <linux/kvm.h>, <sys/mman.h>, <signal.h>, <fcntl.h> and <sched.h>, in
 * either order; see <memvisor/uapi/system.h>.
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
#include <memvisor/uapi/prctl.h>
#include <memvisor/uapi/kvm.h>
#include <memvisor/uapi/sgx.h>

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
/* The library's version, "MAJOR.MINOR.PATCH" (a static string). */
MV_API const char *mv_version(void);

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
	/*
	 * Free simulated memory kept resident on the host for fast reuse;
	 * past it, freed 2 MiB blocks go back to the host. 0: the default
	 * (256 MiB); MV_RESIDENT_CAP_NONE: give every freed block back at once.
	 * Only whole free 2 MiB blocks are given back: free frames of a block
	 * that still has a page in use stay resident whatever the cap.
	 */
	uint64_t resident_cap_bytes;
};
#define MV_RESIDENT_CAP_DEFAULT (256ull << 20)
#define MV_RESIDENT_CAP_NONE    (~0ull)

struct mv_machine;
struct mv_task;

/**
 * mv_machine_create - build a machine: hardware, kernel, /dev/kvm
 * @cfg: the configuration; NULL, or zeroed fields, take the defaults
 * @out: receives the machine; the caller destroys it with mv_machine_destroy()
 *
 * Returns 0, or -EINVAL (@out is NULL; features_off has bits beyond
 * MV_FEAT_ALL; ram_bytes is not a multiple of 2 MiB between 4 MiB and
 * 1 TiB; epc_bytes is not a multiple of 4 KiB; abi is neither
 * MV_ABI_MAINLINE nor MV_ABI_SEED), or -ENOMEM (the host refused memory).
 */
MV_API MV_MUST_CHECK int mv_machine_create(const struct mv_machine_config *cfg,
					   struct mv_machine **out);
/*
 * Ends every task still running on @m (closing their fds, VMs included)
 * and frees the machine. NULL is ignored. No error.
 */
MV_API void mv_machine_destroy(struct mv_machine *m);

/*
 * Tracing: every protection-relevant event is one JSON object per line,
 * handed to @sink (which must not call back into memvisor). NULL turns
 * tracing off. Lines carry a sequence number, never host addresses or time.
 * No error.
 */
typedef void (*mv_trace_sink)(void *ctx, const char *line, size_t len);
MV_API void mv_machine_set_trace(struct mv_machine *m, mv_trace_sink sink, void *ctx);

/* Counters a user may want to see: memory in use, TLB behaviour. Fills @out; no error. */
struct mv_machine_stats {
	uint64_t ram_bytes;
	uint64_t frames_total;
	uint64_t frames_free;
	uint64_t frame_meta_bytes;   /* bytes of metadata per 4 KiB frame */
	uint64_t tlb_hits;
	uint64_t tlb_misses;
	uint64_t tlb_flushes;
	uint64_t page_faults;
	/* What the machine costs the host (resident pages are counted with mincore). */
	uint64_t host_resident_bytes;     /* RAM and frame metadata resident now */
	uint64_t host_free_kept_bytes;    /* free blocks not known to be zero: not given back */
	uint64_t host_returned_blocks;    /* free 2 MiB blocks given back, ever */
	uint64_t pgtable_bytes;           /* page-table and EPT frames in use */
	/* SGX (0 without an EPC) */
	uint64_t epc_pages_total;
	uint64_t epc_pages_free;
	uint64_t epc_vepc_pages;          /* EPC pages held by /dev/sgx_vepc files */
	uint64_t epc_zombie_secs;         /* SECS pages on the zombie list */
	uint64_t epc_sigbus;              /* vEPC faults that found the EPC full */
	uint64_t epc_limit_denials;       /* vEPC faults past a VM's EPC limit (SIGBUS too) */
	uint64_t epc_evictions;           /* vEPC pages the kernel evicted (KVM_SGX_EPC_RECLAIM) */
	uint64_t epc_reloads;             /* ... and loaded back when touched */
	/* MTE tag storage: 4 bits per 16-byte granule, lazily backed like RAM */
	uint64_t frame_tag_bytes;         /* per 4 KiB frame: 128 with MTE, 0 without */
	uint64_t host_tag_resident_bytes; /* tag storage resident now (mincore) */
};
MV_API void mv_machine_get_stats(struct mv_machine *m, struct mv_machine_stats *out);

/* ---- tasks ---- */
/*
 * A new process with one task: an empty address space but for a user stack
 * (RSP at its top), an empty fd table. 0 with the task in *@out; -EINVAL
 * (@m or @out NULL); -ENOMEM.
 */
MV_API MV_MUST_CHECK int mv_task_spawn(struct mv_machine *m, struct mv_task **out);
/*
 * clone(2) for @t: with CLONE_VM a thread (same address space and fd table,
 * a fresh shadow stack if @t uses one), without it a fork (copy-on-write
 * copy; the fd table copied unless CLONE_FILES). 0 with the new task in
 * *@out; -EINVAL (@t or @out NULL; CLONE_THREAD without CLONE_SIGHAND;
 * CLONE_SIGHAND without CLONE_VM; flags beyond CSIGNAL, CLONE_VM, CLONE_FS,
 * CLONE_FILES, CLONE_SIGHAND, CLONE_VFORK, CLONE_THREAD); -ENOMEM.
 */
MV_API MV_MUST_CHECK long mv_task_clone(struct mv_task *t, unsigned long clone_flags,
					struct mv_task **out);
/*
 * The task exits and is freed; the last task of a process closes its fds
 * and drops its address space. NULL is ignored. No error.
 */
MV_API void mv_task_exit(struct mv_task *t);
/* The task's id (what gettid returns). No error. */
MV_API int mv_task_pid(const struct mv_task *t);
/*
 * System call @nr (x86-64 numbering, MV_SYS_*) with six argument
 * registers, in task @t. Returns what Linux would: a value, or a negative
 * errno; -ENOSYS for a number memvisor does not implement.
 */
MV_API long mv_syscall(struct mv_task *t, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
		       uint64_t a3, uint64_t a4, uint64_t a5);

/* ---- user memory, as the task's CPU touches it ---- */
/*
 * Copy @len bytes between @buf (host) and @uaddr in @t's address space, as
 * user-mode loads/stores would: demand faults and copy-on-write are
 * handled. 0 on success (also for @len 0); -EFAULT where Linux would send
 * a signal, which is then pending (mv_task_take_signal) and nothing was
 * copied; -ENOMEM if the kernel could not allocate a page for a fault.
 */
MV_API long mv_user_read(struct mv_task *t, uint64_t uaddr, void *buf, size_t len);
MV_API long mv_user_write(struct mv_task *t, uint64_t uaddr, const void *buf, size_t len);
/*
 * STG and LDG by the task's CPU (MTE, docs/mte.md): set the allocation tag
 * of the 16-byte granule at @tagged_uaddr to the pointer's tag (bits
 * 59:56), or read it into *@tag. Memory not mapped PROT_MTE ignores STG
 * and reads tag 0. A tagged address needs the tagged address ABI
 * (prctl PR_TAGGED_ADDR_ENABLE). 0; -EFAULT with a signal pending, as
 * mv_user_write; -EINVAL (@t NULL or exited, @tag NULL).
 */
MV_API long mv_user_set_tag(struct mv_task *t, uint64_t tagged_uaddr);
MV_API long mv_user_get_tag(struct mv_task *t, uint64_t uaddr, uint8_t *tag);

struct mv_siginfo {
	int signo;
	int code;
	uint64_t addr;
};
/* 1: a signal was pending and is now taken into *out; 0: none. */
MV_API int mv_task_take_signal(struct mv_task *t, struct mv_siginfo *out);

/* ---- the task's CPU ---- */
/*
 * One instruction each, run by @t's CPU at CPL 3. All of them return 0 on
 * success; -EFAULT for a fault, with the signal pending (SIGSEGV with
 * SEGV_MAPERR or SEGV_ACCERR for a page fault, SEGV_CPERR for #CP,
 * SI_KERNEL for #GP; SIGILL / ILL_ILLOPN for #UD) and no register or
 * memory changed; -EINVAL if @t is NULL; -ENOMEM if the kernel could not
 * allocate a page for a fault. With shadow stacks off for the task,
 * CALL/RET touch only the ordinary stack and the shadow-stack instructions
 * behave as the hardware does (no-ops or #UD -> SIGILL).
 */
/* CALL: push @return_address on the stack and the shadow stack. */
MV_API long mv_cpu_call(struct mv_task *t, uint64_t return_address);
/* RET: pop both and compare (#CP if they differ); the address in *@return_address (may be NULL). */
MV_API long mv_cpu_ret(struct mv_task *t, uint64_t *return_address);
/* RDSSP: *@ssp = SSP; a no-op (leaves *@ssp) with shadow stacks off; -EINVAL if @ssp is NULL. */
MV_API long mv_cpu_rdssp(struct mv_task *t, uint64_t *ssp);
/* RSTORSSP: switch to the shadow stack whose restore token is at @token_address. */
MV_API long mv_cpu_rstorssp(struct mv_task *t, uint64_t token_address);
/* SAVEPREVSSP: turn the previous-SSP token left by RSTORSSP into a restore token. */
MV_API long mv_cpu_saveprevssp(struct mv_task *t);
/* WRSS: write @value to shadow-stack memory at @address (needs ARCH_SHSTK_WRSS). */
MV_API long mv_cpu_wrss(struct mv_task *t, uint64_t address, uint64_t value);
/* INCSSP: pop @count (low 8 bits) slots off the shadow stack. */
MV_API long mv_cpu_incssp(struct mv_task *t, uint32_t count);

#define MV_REG_RIP 0
#define MV_REG_RSP 1
#define MV_REG_SSP 2
/* Read a register (MV_REG_*) into *@value. 0; -EINVAL for an unknown @reg. */
MV_API long mv_cpu_get_reg(struct mv_task *t, int reg, uint64_t *value);
/*
 * Set RIP or RSP. 0; -EPERM for MV_REG_SSP (only the shadow-stack
 * instructions move SSP); -EINVAL for an unknown @reg.
 */
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
 * a bad frame or token -> the same; both then return -EFAULT. Both return
 * 0 on success and -EINVAL if @t is NULL or (delivery) for @signo outside
 * 1..64.
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
 * Returns the bytes copied, which stop short at the first page that cannot
 * be reached (0 for @len 0). When not a byte could be copied: -EIO with
 * MV_REMOTE_FORCE, else -EFAULT (or -ENOMEM if a page could not be
 * allocated). -EINVAL for unknown @flags, a NULL @buf with a non-zero
 * @len, or a NULL @t.
 */
#define MV_REMOTE_WRITE (1u << 0)
#define MV_REMOTE_FORCE (1u << 1)
MV_API long mv_task_access_remote(struct mv_task *t, uint64_t addr, void *buf, size_t len,
				  unsigned int flags);

/*
 * Opt-in, per process (all its threads; inherited by fork): give
 * mmap(PROT_SHADOW_STACK) the meaning of the reviewer's alternative to
 * map_shadow_stack. Not mainline Linux; off by default. 0; -EINVAL (@enable
 * neither 0 nor 1, or @t NULL); -ENOMEM.
 */
MV_API long mv_task_set_prot_shadow_stack(struct mv_task *t, int enable);

/* ---- guests (KVM) ---- */
/*
 * A guest program is a C function that KVM_RUN runs as the vCPU, on a
 * stack of its own: mv_syscall(vmm, MV_SYS_ioctl, vcpu_fd, KVM_RUN, 0, ...)
 * runs it until it needs the VMM (an MMIO access, a hypercall the VMM
 * handles, a memory fault), then returns with the exit in the run area;
 * the next KVM_RUN resumes it where it stopped. When it returns, the vCPU
 * halts (KVM_EXIT_HLT, on every later KVM_RUN too). The vCPU starts with
 * paging off: guest-virtual addresses are guest-physical ones.
 */
struct kvm_run;
struct mv_guest;
typedef void (*mv_guest_fn)(struct mv_guest *g, void *arg);
/**
 * mv_vcpu_set_guest - give the vCPU behind @vcpu_fd the program @fn(@arg)
 * @vmm: the task (of the VMM process) that holds @vcpu_fd
 *
 * The next KVM_RUN starts it; a program set earlier is abandoned where it
 * stopped. Returns 0; -EBADF (@vcpu_fd is not open); -EINVAL (@vmm NULL,
 * @fn NULL, @vcpu_fd not a vCPU fd, or the vCPU of a VM another process
 * created); -ENOMEM.
 */
MV_API long mv_vcpu_set_guest(struct mv_task *vmm, int vcpu_fd, mv_guest_fn fn, void *arg);
/*
 * The vCPU's struct kvm_run as a host pointer (the very page an mmap of
 * the vCPU fd shows at offset 0), valid while the vCPU exists. NULL if
 * @vmm is NULL or @vcpu_fd is not a vCPU fd.
 */
MV_API struct kvm_run *mv_vcpu_run_area(struct mv_task *vmm, int vcpu_fd);

/*
 * Inside a guest program only: called anywhere else (another thread, the
 * VMM between two KVM_RUNs), every mv_guest_* function returns -EINVAL.
 * A fault delivered to the guest (#PF, #GP, #UD, #CP) returns -EFAULT,
 * leaves memory and registers as they were, and is described by
 * mv_guest_last_fault(); the guest program decides what to do next.
 */
/*
 * Guest loads and stores of @len bytes at @gva, through the guest's page
 * tables (if paging is on) and stage 2. Where no memslot backs an address
 * (or a write hits a read-only slot) the access becomes KVM_EXIT_MMIO exits
 * of up to 8 bytes, a read completing from run->mmio.data when KVM_RUN
 * resumes; a memory-fault exit is retried on resume. 0 (also for @len 0);
 * -EFAULT (a fault delivered to the guest); -EINVAL (not in a guest
 * program, or @buf NULL with a non-zero @len). <memvisor/guest_fast.h>
 * has inline 1/2/4/8-byte versions whose TLB hit costs no call.
 */
MV_API long mv_guest_read(struct mv_guest *g, uint64_t gva, void *buf, size_t len);
MV_API long mv_guest_write(struct mv_guest *g, uint64_t gva, const void *buf, size_t len);
/*
 * An instruction fetch of @len bytes at @gva (checks execute permission at
 * both stages; nothing is copied). 0; -EFAULT; -EINVAL.
 */
MV_API long mv_guest_fetch(struct mv_guest *g, uint64_t gva, size_t len);
/*
 * VMCALL with RAX = @nr and four arguments. Returns the hypercall's result,
 * which is a value or -KVM_E*: -KVM_ENOSYS (unknown @nr, or
 * KVM_HC_MAP_GPA_RANGE the VMM did not enable with KVM_CAP_EXIT_HYPERCALL),
 * -KVM_EPERM (at CPL 3), -KVM_EOPNOTSUPP, -KVM_EINVAL (bad arguments). An
 * enabled KVM_HC_MAP_GPA_RANGE exits to the VMM (KVM_EXIT_HYPERCALL) and
 * returns run->hypercall.ret as the VMM left it. Outside 64-bit mode the
 * result is 32 bits, sign-extended. Outside a guest program -EINVAL, which
 * is the same number as -KVM_EINVAL.
 */
MV_API long mv_guest_hypercall(struct mv_guest *g, uint64_t nr, uint64_t a0, uint64_t a1,
			       uint64_t a2, uint64_t a3);
/*
 * MOV to CR0, CR2, CR3, CR4 or CR8, checked as the CPU checks it. 0;
 * -EFAULT with #GP (vector 13) for a value the CPU refuses (reserved bits,
 * PG without PE or without CR4.PAE, CET without WP, CR8 above 15, ...) or
 * #UD (vector 6) for any other @cr; -EINVAL outside a guest program.
 */
MV_API long mv_guest_write_cr(struct mv_guest *g, int cr, uint64_t value);
/*
 * MOV from CR0, CR2, CR3, CR4 or CR8 into *@value. 0; -EFAULT with #UD for
 * any other @cr; -EINVAL outside a guest program or with @value NULL.
 */
MV_API long mv_guest_read_cr(struct mv_guest *g, int cr, uint64_t *value);
/*
 * WRMSR / RDMSR of the guest's CET MSRs (MSR_IA32_U_CET, MSR_IA32_S_CET,
 * MSR_IA32_PL0..3_SSP, MSR_IA32_INT_SSP_TAB), checked as KVM checks them
 * (docs/kvm.md, "CET state"). 0; -EFAULT with #GP (vector 13) for an MSR
 * the guest's CPU lacks, any other MSR, a value KVM refuses, or CPL 3;
 * -EINVAL outside a guest program or with @value NULL.
 */
MV_API long mv_guest_wrmsr(struct mv_guest *g, uint32_t index, uint64_t value);
MV_API long mv_guest_rdmsr(struct mv_guest *g, uint32_t index, uint64_t *value);
/*
 * STG and LDG: set the allocation tag of the granule at @tagged_gva to
 * the pointer's tag (bits 59:56), or read it into *@tag, translated as a
 * store / a load (stage-2 faults handled, guest faults delivered), never
 * tag checked. They need KVM_CAP_ARM_MTE on the VM: without it #UD,
 * -EFAULT (vector 6). 0; -EFAULT; -EINVAL outside a guest program (or
 * @tag NULL). With MTE on, every guest access to RAM is tag checked in
 * the vCPU's mode (sync after vCPU creation): a sync mismatch is a #PF
 * (vector 14) whose error code has MV_PF_MTE set and whose address is the
 * tagged pointer; an async one is reported at the next guest call as #PF
 * with MV_PF_MTE_ASYNC and address 0.
 */
MV_API long mv_guest_set_tag(struct mv_guest *g, uint64_t tagged_gva);
MV_API long mv_guest_get_tag(struct mv_guest *g, uint64_t gva, uint8_t *tag);
#define MV_PF_MTE        (1u << 16)
#define MV_PF_MTE_ASYNC  (1u << 17)
#define MV_TCF_NONE  0   /* the arm64 SCTLR_EL1.TCF encodings */
#define MV_TCF_SYNC  1
#define MV_TCF_ASYNC 2
#define MV_TCF_ASYMM 3   /* reads sync, writes async */
/*
 * The guest kernel's tag-check mode (SCTLR_EL1.TCF): MV_TCF_*. 0; -EFAULT
 * with #UD without KVM_CAP_ARM_MTE; -EINVAL outside a guest program or
 * for an unknown @mode.
 */
MV_API long mv_guest_set_tcf(struct mv_guest *g, int mode);

/*
 * ENCLS in the guest at CPL 0 (SGX): RAX = @leaf (SGX_ECREATE, SGX_EADD,
 * ...), operands guest-virtual as the SDM gives them (RBX a struct
 * sgx_pageinfo for ECREATE/EADD/EAUG, RCX the EPC page, ...). Returns what
 * ENCLS leaves in RAX: 0 or an SGX_* code (SGX_CHILD_PRESENT,
 * SGX_ENCLAVE_ACT, ...); a fault (#GP, #PF, #UD at CPL > 0) is -EFAULT
 * with mv_guest_last_fault(). mv_guest_encls_regs takes RBX, RCX, RDX in
 * and out (EDBGRD leaves the data in RBX).
 */
MV_API long mv_guest_encls(struct mv_guest *g, uint32_t leaf, uint64_t rbx, uint64_t rcx,
			   uint64_t rdx);
MV_API long mv_guest_encls_regs(struct mv_guest *g, uint32_t leaf, uint64_t *rbx, uint64_t *rcx,
				uint64_t *rdx);

struct mv_guest_fault {
	int vector;           /* 14 #PF, 13 #GP, 6 #UD, 21 #CP */
	uint64_t error_code;
	uint64_t address;     /* CR2 for a #PF */
};
/*
 * The last fault delivered to the guest (kept until the next one): 1 with
 * it in *@out; 0 if none yet; -EINVAL (@g or @out NULL). Unlike the other
 * mv_guest_* functions it may be called outside the guest program.
 */
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
	 * A range whose bytes live in a guest_memfd (a private range, or a
	 * shared range of a guest_memfd-only slot): the VMM's fd of that file
	 * and @gpa's byte offset in it. -1 when no guest_memfd backs it (the
	 * slot has none: a private access is a memory-fault exit) or the VMM
	 * has no fd open on it.
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

/*
 * SGX: the EPC pages charged to the VM behind @vm_fd (those its vEPC
 * memslots hold) and its KVM_CAP_SGX_EPC_LIMIT (0: none). 0, -EBADF,
 * -EINVAL (not a VM fd of @vmm's process, a NULL pointer).
 */
MV_API long mv_vm_epc_usage(struct mv_task *vmm, int vm_fd, uint64_t *usage, uint64_t *limit);

#ifdef __cplusplus
}
#endif

#endif
