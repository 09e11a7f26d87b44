/* SPDX-License-Identifier: MIT */
/*
 * Recorded differential sequences: a small VMM language whose calls run the
 * same on the host's /dev/kvm and on memvisor. A case is a list of steps;
 * each step is an operation with up to KD_ARGS numeric arguments and, once
 * run, a result string ("0", "-EINVAL", "exit=MMIO ...").
 *
 * kvm_trace record FILE runs every case on the host, writes the host's
 * answers as a transcript, and runs them on memvisor too; kvm_trace
 * replay FILE parses a transcript and runs every recorded call on memvisor,
 * failing on any difference (tests/differential/README.md).
 */
#ifndef MV_TESTS_KVM_TRACE_H
#define MV_TESTS_KVM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KD_ARGS      8
#define KD_RESULT    160
#define KD_MAX_STEPS 96
#define KD_MEMS      8          /* anonymous VMM mappings a case may name: mem=0..7 */
#define KD_RAW_UA    255        /* set_region mem=255: uaoff is the userspace_addr itself */
#define KD_MAX_GUEST 32         /* guest program steps */

enum kd_op {
	KD_END = 0,
	KD_API_VERSION,      /* -> version */
	KD_VCPU_MMAP_SIZE,   /* -> size */
	KD_CHECK_EXTENSION,  /* fd (0 /dev/kvm, 1 the VM), cap -> value */
	KD_CREATE_VM,        /* type -> 0 or -errno; the new VM is the case's VM */
	KD_CREATE_VCPU,      /* id -> 0 or -errno; vCPU n is the n-th created */
	KD_CREATE_VCPUS,     /* first, count -> "created=N" [" then -E"] */
	KD_SET_NOFILE,       /* n: RLIMIT_NOFILE soft and hard */
	KD_MAP,              /* mem, size: anonymous private RW NORESERVE */
	KD_UNMAP,            /* mem */
	KD_WRITE_MEM,        /* mem, off, val: 8 bytes the VMM stores */
	KD_READ_MEM,         /* mem, off -> the 8 bytes there */
	KD_SET_REGION,       /* v (1 or 2), slot, flags, gpa, size, mem, uaoff */
	KD_FILL_SLOTS,       /* first, count, size, mem: slot first+i at gpa i*size */
	KD_DIRTY_LOG,        /* slot -> -errno or the first 64 bits */
	KD_ENABLE_CAP,       /* cap, arg0, flags */
	KD_CREATE_GMEM,      /* size, flags -> 0 or -errno */
	KD_GUEST_CODE,       /* mem, gpa: where the host puts the guest's code */
	KD_G_WRITE,          /* gpa, len (1, 2, 4), val */
	KD_G_READ,           /* gpa: 4 bytes into the accumulator */
	KD_G_REPORT,         /* gpa: store the accumulator (4 bytes) */
	KD_G_HYPERCALL,      /* nr, a0, a1, a2: result into the accumulator */
	KD_RUN,              /* vcpu, arg -> ret and the exit */
	KD_MMIO_REPLY,       /* vcpu, data: what the next KVM_RUN completes an MMIO read with */
	KD_HYPERCALL_REPLY,  /* vcpu, ret */
	KD_IMMEDIATE_EXIT,   /* vcpu, val */
	KD_SET_EVENTS,       /* vcpu, flags, injected, nr, has_err, err, smm: KVM_SET_VCPU_EVENTS */
	KD_GET_EVENTS,       /* vcpu -> the exception and flags KVM_GET_VCPU_EVENTS reports */
	KD_SET_SREGS,        /* vcpu, cr0, cr3, cr4, efer, cs_l, apic_base: KVM_GET_SREGS, these, SET */
	KD_GET_SREGS,        /* vcpu -> cr0, cr3, cr4, efer */
	KD_SET_REGS,         /* vcpu, rip, rflags, rax, rsp: KVM_GET_REGS, these, KVM_SET_REGS */
	KD_GET_REGS,         /* vcpu -> rip, rflags, rax, rsp */
	KD_IOCTL,            /* fd (0 /dev/kvm, 1 the VM, 2 vCPU 0), cmd, arg: an integer argument */
	KD_NR_OPS
};

struct kd_opdef {
	const char *name;
	const char *args[KD_ARGS];
	bool program;        /* a guest program step: no call, no result */
};
extern const struct kd_opdef kd_ops[KD_NR_OPS];

struct kd_step {
	enum kd_op op;
	uint64_t a[KD_ARGS];
};

struct kd_case {
	const char *name;
	const char *differs;         /* why host and memvisor legitimately differ, or NULL */
	const char *known_bug;       /* a memvisor divergence, reported, not yet fixed */
	struct kd_step steps[KD_MAX_STEPS];
};
extern const struct kd_case kd_cases[];   /* ends with a NULL name */

/* One side: runs steps of a case on a fresh context. */
struct kd_side {
	const char *name;
	void *(*begin)(void);                               /* NULL: cannot run a case */
	void (*step)(void *ctx, const struct kd_step *s, char *res, size_t len);
	void (*end)(void *ctx);
};
extern const struct kd_side kd_host_side, kd_mv_side;

/* The guest program both sides run (collected from the case's program steps). */
struct kd_program {
	struct kd_step steps[KD_MAX_GUEST];
	unsigned int n;
};

/* Set when a host KVM_RUN had to be interrupted (it did not come back in 5 s). */
extern bool kd_host_timed_out;

/* The host's capabilities for the transcript header; -1 without /dev/kvm. */
int kd_host_describe(char *buf, size_t len);

/* Shared formatting, so both sides print results identically. */
void kd_fmt_ret(char *res, size_t len, long r);
const char *kd_errno_name(int err);
struct kvm_run;
void kd_fmt_exit(char *res, size_t len, long ret, const struct kvm_run *run);
void kd_fmt_created(char *res, size_t len, uint64_t created, long err);
/*
 * The vCPU state steps (KD_SET_EVENTS ... KD_GET_REGS), the same on both
 * sides: @vcpu_ioctl runs one ioctl on the side's vCPU @vcpu (0 or
 * -errno; -EBADF for no such vCPU). Writes the step's result.
 */
typedef long (*kd_vcpu_ioctl_fn)(void *ctx, uint64_t vcpu, unsigned long cmd, void *arg);
void kd_vcpu_state_step(void *ctx, kd_vcpu_ioctl_fn vcpu_ioctl, const struct kd_step *s,
			char *res, size_t len);

#endif
