/* SPDX-License-Identifier: MIT */
/*
 * The calls a scenario can make: every system call memvisor's kernel
 * dispatches, by its Linux name, with what each argument is (so the checker
 * can refuse a string where a length goes, and the executor knows which
 * arguments are host buffers), and the pseudo-calls for what is not a
 * system call (machine configuration, tasks, user memory, guest programs
 * and the operations inside them).
 *
 * A syscall listed here that the kernel does not implement yet answers
 * -ENOSYS, as Linux built without it would.
 */
#include <string.h>

#include <memvisor/memvisor.h>
#include <memvisor/uapi/kvm.h>

#include "lang/lang_int.h"

#define A_INT(n)         { n, LA_INT, NULL, -1 }
#define A_FD(n)          { n, LA_FD, NULL, -1 }
#define A_STR(n)         { n, LA_STR, NULL, -1 }
#define A_IN(n, ty)      { n, LA_IN, ty, -1 }
#define A_INBUF(n, len)  { n, LA_IN, NULL, len }
#define A_OUT(n, ty)     { n, LA_OUT, ty, -1 }
#define A_OUTBUF(n, len) { n, LA_OUT, NULL, len }

#define SYSCALL(n, ...) .name = #n, .type = LC_SYSCALL, .nr = MV_SYS_##n, .ret = LRK_VALUE, \
	.nargs = sizeof((struct lang_arg_desc[]){ __VA_ARGS__ }) / sizeof(struct lang_arg_desc), \
	.args = { __VA_ARGS__ }

#define CPU(n, o, r, ...) .name = #n, .type = LC_CPU, .op = o, .ret = r, \
	.nargs = sizeof((struct lang_arg_desc[]){ __VA_ARGS__ }) / sizeof(struct lang_arg_desc), \
	.args = { __VA_ARGS__ }

static const struct lang_call_desc lang_calls[] = {
	/* files */
	{ SYSCALL(read, A_FD("fd"), A_OUTBUF("buf", 2), A_INT("count")) },
	{ SYSCALL(write, A_FD("fd"), A_INBUF("buf", 2), A_INT("count")) },
	{ SYSCALL(pread64, A_FD("fd"), A_OUTBUF("buf", 2), A_INT("count"), A_INT("offset")) },
	{ SYSCALL(pwrite64, A_FD("fd"), A_INBUF("buf", 2), A_INT("count"), A_INT("offset")) },
	{ SYSCALL(close, A_FD("fd")) },
	{ SYSCALL(fstat, A_FD("fd"), A_OUT("statbuf", "stat")) },
	{ SYSCALL(ioctl, A_FD("fd"), A_INT("cmd"), { "arg", LA_IOCTL, NULL, -1 }) },
	{ SYSCALL(dup, A_FD("oldfd")) },
	{ SYSCALL(dup2, A_FD("oldfd"), A_FD("newfd")) },
	{ SYSCALL(dup3, A_FD("oldfd"), A_FD("newfd"), A_INT("flags")) },
	{ SYSCALL(ftruncate, A_FD("fd"), A_INT("length")) },
	{ SYSCALL(openat, A_FD("dirfd"), A_STR("pathname"), A_INT("flags"), A_INT("mode")),
	  .min_args = 3 },
	{ SYSCALL(fallocate, A_FD("fd"), A_INT("mode"), A_INT("offset"), A_INT("len")) },
	{ SYSCALL(memfd_create, A_STR("name"), A_INT("flags")) },
	{ SYSCALL(memfd_restricted, A_INT("flags")) },
	/* memory */
	{ SYSCALL(mmap, A_INT("addr"), A_INT("length"), A_INT("prot"), A_INT("flags"), A_FD("fd"),
		  A_INT("offset")) },
	{ SYSCALL(mprotect, A_INT("addr"), A_INT("len"), A_INT("prot")) },
	{ SYSCALL(munmap, A_INT("addr"), A_INT("length")) },
	{ SYSCALL(madvise, A_INT("addr"), A_INT("length"), A_INT("advice")) },
	{ SYSCALL(mremap, A_INT("old_address"), A_INT("old_size"), A_INT("new_size"),
		  A_INT("flags"), A_INT("new_address")), .min_args = 4 },
	{ SYSCALL(mseal, A_INT("addr"), A_INT("len"), A_INT("flags")) },
	{ SYSCALL(map_shadow_stack, A_INT("addr"), A_INT("size"), A_INT("flags")) },
	/* the seed revision's number (451), answered only with abi = seed */
	{ SYSCALL(map_shadow_stack_seed, A_INT("addr"), A_INT("size"), A_INT("flags")) },
	/* process */
	{ .name = "getpid", .type = LC_SYSCALL, .nr = MV_SYS_getpid, .ret = LRK_VALUE },
	{ .name = "gettid", .type = LC_SYSCALL, .nr = MV_SYS_gettid, .ret = LRK_VALUE },
	{ SYSCALL(getrlimit, A_INT("resource"), A_OUT("rlim", "rlimit")) },
	{ SYSCALL(setrlimit, A_INT("resource"), A_IN("rlim", "rlimit")) },
	{ SYSCALL(prlimit64, A_INT("pid"), A_INT("resource"), A_IN("new_limit", "rlimit"),
		  A_OUT("old_limit", "rlimit")) },
	/* arg2 is a value (ENABLE's feature bits) or where STATUS writes the mask */
	{ SYSCALL(arch_prctl, A_INT("code"), A_OUT("addr", "u64")) },
	/* prctl(2): the tagged address ABI and MTE controls (docs/mte.md) */
	{ SYSCALL(prctl, A_INT("option"), A_INT("arg2"), A_INT("arg3"), A_INT("arg4"),
		  A_INT("arg5")), .min_args = 1 },
	/*
	 * clone(2) itself (the name 'clone' is the task pseudo-call below): the
	 * result is the child's pid; no step can run in that child. The tid
	 * pointers are never used (memvisor refuses the flags that would).
	 */
	{ .name = "sys_clone", .type = LC_SYSCALL, .nr = MV_SYS_clone, .ret = LRK_VALUE,
	  .nargs = 5, .min_args = 2, .args = { A_INT("flags"), A_INT("stack"), A_INT("parent_tid"),
					       A_INT("child_tid"), A_INT("tls") } },
	{ SYSCALL(clone3, A_IN("cl_args", "clone_args"), A_INT("size")) },
	/* local iovecs name no buffer (a scenario cannot point at host memory): see structs.c */
	{ SYSCALL(process_vm_readv, A_INT("pid"), A_IN("local_iov", "iovec_local"),
		  A_INT("liovcnt"), A_IN("remote_iov", "iovec"), A_INT("riovcnt"), A_INT("flags")) },
	{ SYSCALL(process_vm_writev, A_INT("pid"), A_IN("local_iov", "iovec_local"),
		  A_INT("liovcnt"), A_IN("remote_iov", "iovec"), A_INT("riovcnt"), A_INT("flags")) },
	/* syscall 15: the signal frame's return, as sigreturn() below but as a system call */
	{ .name = "rt_sigreturn", .type = LC_SYSCALL, .nr = MV_SYS_rt_sigreturn, .ret = LRK_VALUE },

	/* pseudo-calls */
	{ .name = "machine", .type = LC_MACHINE, .nargs = -1, .ret = LRK_NONE },
	{ .name = "spawn", .type = LC_SPAWN, .ret = LRK_TASK },
	{ .name = "clone", .type = LC_CLONE, .nargs = 2, .ret = LRK_TASK,
	  .args = { { "task", LA_TASK, NULL, -1 }, A_INT("flags") } },
	{ .name = "exit", .type = LC_EXIT, .nargs = 1, .ret = LRK_NONE,
	  .args = { { "task", LA_TASK, NULL, -1 } } },
	{ .name = "write_mem", .type = LC_WRITE_MEM, .nargs = 2, .ret = LRK_VALUE,
	  .args = { A_INT("addr"), { "data", LA_BYTES, NULL, -1 } } },
	{ .name = "read_mem", .type = LC_READ_MEM, .nargs = 2, .ret = LRK_BYTES,
	  .args = { A_INT("addr"), A_INT("len") } },
	/* 8-byte loads and stores, for values that depend on addresses (tokens) */
	{ CPU(read_u64, LCPU_LOAD64, LRK_VALUE, A_INT("addr")) },
	{ CPU(write_u64, LCPU_STORE64, LRK_VALUE, A_INT("addr"), A_INT("value")) },
	/* the task's CPU: shadow-stack instructions, registers, signal frames */
	{ CPU(call, LCPU_CALL, LRK_VALUE, A_INT("return_address")) },
	{ .name = "ret", .type = LC_CPU, .op = LCPU_RET, .ret = LRK_VALUE },
	{ .name = "rdssp", .type = LC_CPU, .op = LCPU_RDSSP, .ret = LRK_VALUE },
	{ CPU(rstorssp, LCPU_RSTORSSP, LRK_VALUE, A_INT("token_address")) },
	{ .name = "saveprevssp", .type = LC_CPU, .op = LCPU_SAVEPREVSSP, .ret = LRK_VALUE },
	{ CPU(wrss, LCPU_WRSS, LRK_VALUE, A_INT("address"), A_INT("value")) },
	{ CPU(incssp, LCPU_INCSSP, LRK_VALUE, A_INT("count")) },
	{ CPU(get_reg, LCPU_GET_REG, LRK_VALUE, A_INT("reg")) },
	{ CPU(set_reg, LCPU_SET_REG, LRK_VALUE, A_INT("reg"), A_INT("value")) },
	{ CPU(deliver_signal, LCPU_SIGNAL, LRK_VALUE, A_INT("signo"), A_INT("handler"),
	      A_INT("restorer")) },
	{ .name = "sigreturn", .type = LC_CPU, .op = LCPU_SIGRETURN, .ret = LRK_VALUE },
	/* another party's access through GUP: process_vm_*, ptrace, /proc/pid/mem */
	{ CPU(remote_read, LCPU_REMOTE_READ, LRK_BYTES, A_INT("addr"), A_INT("len"),
	      A_INT("flags")) },
	{ CPU(remote_write, LCPU_REMOTE_WRITE, LRK_VALUE, A_INT("addr"),
	      { "data", LA_BYTES, NULL, -1 }, A_INT("flags")) },
	{ CPU(prot_shadow_stack, LCPU_PROT_SHSTK, LRK_VALUE, A_INT("enable")) },
	/* MTE: STG / LDG by the task's CPU, and the VMM's tag copy through a scenario-owned buffer */
	{ CPU(set_tag, LCPU_SET_TAG, LRK_VALUE, A_INT("tagged_addr")) },
	{ CPU(get_tag, LCPU_GET_TAG, LRK_VALUE, A_INT("addr")) },
	{ CPU(copy_tags, LCPU_COPY_TAGS, LRK_VALUE, A_INT("vm_fd"), A_INT("guest_ipa"),
	      A_INT("length"), A_INT("flags")) },
	/* one MSR of a vCPU through KVM_GET_MSRS / KVM_SET_MSRS (the guest's CET state) */
	{ CPU(get_msr, LCPU_GET_MSR, LRK_VALUE, A_INT("vcpu_fd"), A_INT("index")) },
	{ CPU(set_msr, LCPU_SET_MSR, LRK_VALUE, A_INT("vcpu_fd"), A_INT("index"),
	      A_INT("value")) },
	/* snapshots (docs/snapshot.md): a VM with one vCPU saved to / restored from a host file */
	{ CPU(vm_snapshot, LCPU_VM_SNAPSHOT, LRK_VALUE, A_FD("vm_fd"), A_FD("vcpu_fd"),
	      A_STR("path")) },
	{ CPU(vm_restore, LCPU_VM_RESTORE, LRK_VALUE, A_FD("vm_fd"), A_FD("vcpu_fd"),
	      A_STR("path")) },
	/*
	 * Heki's policy (docs/heki.md): one KVM_HEKI_SET_POLICY, replacing a
	 * list, from a variable number of items (check.c checks their shape)
	 */
	{ .name = "heki_allow_modules", .type = LC_HEKI_POLICY,
	  .nr = KVM_HEKI_POLICY_MODULE_HASHES, .nargs = -1, .ret = LRK_VALUE,
	  .args = { A_FD("vm_fd") } },
	{ .name = "heki_patch_sites", .type = LC_HEKI_POLICY, .nr = KVM_HEKI_POLICY_PATCH_SITES,
	  .nargs = -1, .ret = LRK_VALUE, .args = { A_FD("vm_fd") } },
	/* a guest program for the vCPU: run by the next KVM_RUNs (exec_guest.c) */
	{ .name = "guest", .type = LC_GUEST, .nargs = 1, .ret = LRK_VALUE,
	  .args = { A_FD("vcpu_fd") } },
};

static const size_t lang_ncalls = sizeof(lang_calls) / sizeof(lang_calls[0]);

#define GOP(n, o, r, ...) .name = #n, .type = LC_GUEST_OP, .gop = o, .ret = r, \
	.nargs = sizeof((struct lang_arg_desc[]){ __VA_ARGS__ }) / sizeof(struct lang_arg_desc), \
	.args = { __VA_ARGS__ }

/* Inside guest(VCPU) { ... }: what the guest's CPU does (mv_guest_*). */
static const struct lang_call_desc lang_guest_ops[] = {
	{ GOP(read, LG_READ, LRK_BYTES, A_INT("gva"), A_INT("len")) },
	{ GOP(write, LG_WRITE, LRK_VALUE, A_INT("gva"), { "data", LA_BYTES, NULL, -1 }) },
	{ GOP(fetch, LG_FETCH, LRK_VALUE, A_INT("gva"), A_INT("len")) },
	{ GOP(hypercall, LG_HYPERCALL, LRK_VALUE, A_INT("nr"), A_INT("a0"), A_INT("a1"),
	      A_INT("a2"), A_INT("a3")), .min_args = 1 },
	{ GOP(read_cr, LG_READ_CR, LRK_VALUE, A_INT("cr")) },
	{ GOP(write_cr, LG_WRITE_CR, LRK_VALUE, A_INT("cr"), A_INT("value")) },
	{ GOP(read_u64, LG_READ_U64, LRK_VALUE, A_INT("gva")) },
	{ GOP(write_u64, LG_WRITE_U64, LRK_VALUE, A_INT("gva"), A_INT("value")) },
	{ GOP(encls, LG_ENCLS, LRK_VALUE, A_INT("leaf"), A_INT("rbx"), A_INT("rcx"), A_INT("rdx")),
	  .min_args = 1 },
	{ GOP(set_tag, LG_SET_TAG, LRK_VALUE, A_INT("tagged_gva")) },
	{ GOP(get_tag, LG_GET_TAG, LRK_VALUE, A_INT("gva")) },
	{ GOP(set_tcf, LG_SET_TCF, LRK_VALUE, A_INT("mode")) },
	{ GOP(rdmsr, LG_RDMSR, LRK_VALUE, A_INT("index")) },
	{ GOP(wrmsr, LG_WRMSR, LRK_VALUE, A_INT("index"), A_INT("value")) },
	/* the guest kernel's calls, once kernel_boot booted it (exec_gkernel.c) */
	{ GOP(kernel_boot, LG_KERNEL_BOOT, LRK_VALUE, A_INT("ram"), A_INT("heki")), .min_args = 1 },
	{ GOP(set_memory_ro, LG_SET_MEMORY_RO, LRK_VALUE, A_INT("va"), A_INT("npages")) },
	{ GOP(set_memory_rw, LG_SET_MEMORY_RW, LRK_VALUE, A_INT("va"), A_INT("npages")) },
	{ GOP(set_memory_x, LG_SET_MEMORY_X, LRK_VALUE, A_INT("va"), A_INT("npages")) },
	{ GOP(set_memory_nx, LG_SET_MEMORY_NX, LRK_VALUE, A_INT("va"), A_INT("npages")) },
	{ GOP(vmalloc, LG_VMALLOC, LRK_VALUE, A_INT("npages")) },
	{ GOP(vfree, LG_VFREE, LRK_VALUE, A_INT("va")) },
	{ GOP(vmap, LG_VMAP, LRK_VALUE, A_INT("pa"), A_INT("prot")) },
	{ GOP(vunmap, LG_VUNMAP, LRK_VALUE, A_INT("va")) },
	{ GOP(text_poke, LG_TEXT_POKE, LRK_VALUE, A_INT("va"), { "data", LA_BYTES, NULL, -1 }) },
	{ GOP(module_load, LG_MODULE_LOAD, LRK_VALUE, { "text", LA_BYTES, NULL, -1 },
	      A_INT("data_pages")), .min_args = 1 },
	{ GOP(module_unload, LG_MODULE_UNLOAD, LRK_VALUE, A_INT("text_va")) },
	{ GOP(module_authenticated, LG_MODULE_AUTHENTICATED, LRK_VALUE, A_INT("text_va")) },
	{ GOP(get_pte, LG_GET_PTE, LRK_VALUE, A_INT("va")) },
	{ GOP(poke_pte, LG_POKE_PTE, LRK_VALUE, A_INT("va"), A_INT("pte")) },
	{ GOP(heki_permissions, LG_HEKI_PERMISSIONS, LRK_VALUE, A_INT("pa")) },
	{ .name = "heki_hypercalls", .type = LC_GUEST_OP, .gop = LG_HEKI_HYPERCALLS,
	  .ret = LRK_VALUE },
};

static const size_t lang_nguest_ops = sizeof(lang_guest_ops) / sizeof(lang_guest_ops[0]);

const struct lang_call_desc *lang_call_find(const char *name)
{
	for (size_t i = 0; i < lang_ncalls; i++) {
		if (!strcmp(lang_calls[i].name, name))
			return &lang_calls[i];
	}
	return NULL;
}

static const char *lang_suggest_in(const struct lang_call_desc *tab, size_t n, const char *name)
{
	struct lang_suggest sg;

	lang_suggest_init(&sg, name);
	for (size_t i = 0; i < n; i++)
		lang_suggest_add(&sg, tab[i].name);
	return lang_suggest_best(&sg);
}

const char *lang_call_suggest(const char *name)
{
	return lang_suggest_in(lang_calls, lang_ncalls, name);
}

const struct lang_call_desc *lang_guest_op_find(const char *name)
{
	for (size_t i = 0; i < lang_nguest_ops; i++) {
		if (!strcmp(lang_guest_ops[i].name, name))
			return &lang_guest_ops[i];
	}
	return NULL;
}

const char *lang_guest_op_suggest(const char *name)
{
	return lang_suggest_in(lang_guest_ops, lang_nguest_ops, name);
}

/*
 * ioctl commands memvisor knows: those that take a struct, and those whose
 * argument is a plain integer (LA_INT). Any other command is only given an
 * integer below 4096, which the kernel treats as a bad pointer: the
 * scenario language never hands the kernel a host address it did not
 * allocate, so a scenario cannot crash the process it runs in.
 */
static const struct lang_ioctl_desc lang_ioctls[] = {
	{ "FIOCLEX", 0x5451, LA_INT, NULL },
	{ "FIONCLEX", 0x5450, LA_INT, NULL },
	{ "KVM_GET_API_VERSION", KVM_GET_API_VERSION, LA_INT, NULL },
	{ "KVM_CREATE_VM", KVM_CREATE_VM, LA_INT, NULL },
	{ "KVM_CHECK_EXTENSION", KVM_CHECK_EXTENSION, LA_INT, NULL },
	{ "KVM_GET_VCPU_MMAP_SIZE", KVM_GET_VCPU_MMAP_SIZE, LA_INT, NULL },
	{ "KVM_CREATE_VCPU", KVM_CREATE_VCPU, LA_INT, NULL },
	{ "KVM_RUN", KVM_RUN, LA_INT, NULL },
	{ "KVM_CREATE_GUEST_MEMFD", KVM_CREATE_GUEST_MEMFD, LA_IN, "kvm_create_guest_memfd" },
	{ "KVM_SET_USER_MEMORY_REGION", KVM_SET_USER_MEMORY_REGION, LA_IN,
	  "kvm_userspace_memory_region" },
	{ "KVM_SET_USER_MEMORY_REGION2", KVM_SET_USER_MEMORY_REGION2, LA_IN,
	  "kvm_userspace_memory_region2" },
	{ "KVM_SET_MEMORY_ATTRIBUTES", KVM_SET_MEMORY_ATTRIBUTES, LA_IN, "kvm_memory_attributes" },
	{ "KVM_ENABLE_CAP", KVM_ENABLE_CAP, LA_IN, "kvm_enable_cap" },
	{ "KVM_ARM_MTE_COPY_TAGS", KVM_ARM_MTE_COPY_TAGS, LA_IN, "kvm_arm_copy_mte_tags" },
	{ "KVM_GET_REGS", KVM_GET_REGS, LA_OUT, "kvm_regs" },
	{ "KVM_SET_REGS", KVM_SET_REGS, LA_IN, "kvm_regs" },
	{ "KVM_GET_SREGS", KVM_GET_SREGS, LA_OUT, "kvm_sregs" },
	{ "KVM_SET_SREGS", KVM_SET_SREGS, LA_IN, "kvm_sregs" },
	{ "KVM_GET_VCPU_EVENTS", KVM_GET_VCPU_EVENTS, LA_OUT, "kvm_vcpu_events" },
	{ "KVM_SET_VCPU_EVENTS", KVM_SET_VCPU_EVENTS, LA_IN, "kvm_vcpu_events" },
	{ "KVM_REGISTER_COALESCED_MMIO", KVM_REGISTER_COALESCED_MMIO, LA_IN,
	  "kvm_coalesced_mmio_zone" },
	{ "KVM_UNREGISTER_COALESCED_MMIO", KVM_UNREGISTER_COALESCED_MMIO, LA_IN,
	  "kvm_coalesced_mmio_zone" },
	{ "SGX_IOC_VEPC_REMOVE_ALL", SGX_IOC_VEPC_REMOVE_ALL, LA_INT, NULL },
	{ NULL, 0, LA_INT, NULL },
};

const struct lang_ioctl_desc *lang_ioctl_find(uint64_t cmd)
{
	for (size_t i = 0; lang_ioctls[i].cmd_name; i++) {
		if (lang_ioctls[i].cmd == cmd)
			return &lang_ioctls[i];
	}
	return NULL;
}
