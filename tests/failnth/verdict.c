/* SPDX-License-Identifier: MIT */
/*
 * What a call may answer when an allocation inside it fails: the rules of
 * the fail-nth sweep (failnth.h), one table row per exception to "-ENOMEM".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "failnth.h"
#include "lib/err.h"

struct fn_got fn_got_parse(const char *got)
{
	struct fn_got g = { .kind = FN_GOT_VALUE };
	const char *ret;
	char name[32];
	size_t n;

	if (!strncmp(got, "signal(", 7)) {
		g.kind = FN_GOT_SIGNAL;
		return g;
	}
	if (!strncmp(got, "exit(KVM_EXIT_MEMORY_FAULT", 26)) {
		/* its implied return: KVM_RUN answered -EFAULT */
		g.kind = FN_GOT_ERRNO;
		g.err = EFAULT;
	}
	ret = !strncmp(got, "exit(", 5) ? strstr(got, "ret=-E") : NULL;
	if (ret)
		got = ret + 4;
	if (got[0] == '-' && got[1] == 'E') {
		n = strspn(got + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, got + 1, n);
		name[n] = '\0';
		g.kind = FN_GOT_ERRNO;
		g.err = lib_errno_from_name(name);
		return g;
	}
	if (!strcmp(got, "not run") || !strcmp(got, "done") || !strncmp(got, "fault(", 6))
		g.kind = FN_GOT_OTHER;
	return g;
}

/* The ioctl command of an ioctl step when it is a constant; 0 otherwise. */
static uint64_t fn_ioctl_cmd(const struct lang_step *s)
{
	uint64_t cmd;

	if (s->desc->type != LC_SYSCALL || strcmp(s->call, "ioctl") || s->nargs < 2 ||
	    !lang_expr_const(s->args[1].val, &cmd))
		return 0;
	return cmd;
}

/* Exceptions to "-ENOMEM and nothing changed", by call (and ioctl command). */
static const struct fn_rule fn_rules[] = {
	{ "close", NULL, { 0 }, 0, false, "close cannot fail for lack of memory" },
	{ "getpid", NULL, { 0 }, 0, false, "getpid allocates nothing" },
	{ "gettid", NULL, { 0 }, 0, false, "gettid allocates nothing" },
	{ "getrlimit", NULL, { 0 }, 0, false, "getrlimit allocates nothing" },
	{ "setrlimit", NULL, { 0 }, 0, false, "setrlimit allocates nothing" },
	{ "prlimit64", NULL, { 0 }, 0, false, "prlimit64 allocates nothing" },
	{ "fstat", NULL, { 0 }, 0, false, "fstat allocates nothing" },
	{ "ioctl", "KVM_GET_API_VERSION", { 0 }, 0, false, "KVM_GET_API_VERSION allocates nothing" },
	{ "ioctl", "KVM_CHECK_EXTENSION", { 0 }, 0, false, "KVM_CHECK_EXTENSION allocates nothing" },
	{ "ioctl", "KVM_GET_VCPU_MMAP_SIZE", { 0 }, 0, false,
	  "KVM_GET_VCPU_MMAP_SIZE allocates nothing" },
	/*
	 * The guest runs until the allocation fails: what it faulted in
	 * stays. -ENOMEM when stage 2 cannot get a table (or guest_memfd a
	 * folio); when the VMM's page cannot be had, hva_to_pfn turns GUP's
	 * -ENOMEM into KVM_PFN_ERR_FAULT, so -EFAULT with a memory-fault exit.
	 */
	{ "ioctl", "KVM_RUN", { ENOMEM, EFAULT }, FN_NORM_MEMORY, false,
	  "KVM_RUN: -ENOMEM or -EFAULT; what the guest faulted in stays" },
	/*
	 * __kvm_set_memory_region makes its own checks before it allocates the
	 * new slot, but kvm_arch_prepare_memory_region's GPA-width check comes
	 * after the slot (and its dirty bitmap) are allocated: -ENOMEM may
	 * stand where a slot past the address width would be -EINVAL.
	 */
	{ "ioctl", "KVM_SET_USER_MEMORY_REGION", { ENOMEM }, 0, true,
	  "KVM_SET_USER_MEMORY_REGION: -ENOMEM, also before the GPA-width check" },
	{ "ioctl", "KVM_SET_USER_MEMORY_REGION2", { ENOMEM }, 0, true,
	  "KVM_SET_USER_MEMORY_REGION2: -ENOMEM, also before the GPA-width check" },
	/* kvm_vm_ioctl_create_vcpu allocates the vCPU, then looks for its id */
	{ "ioctl", "KVM_CREATE_VCPU", { ENOMEM }, 0, true,
	  "KVM_CREATE_VCPU: -ENOMEM, also before -EEXIST" },
	/* getname() and alloc_empty_file() come before the path walk */
	{ "openat", NULL, { ENOMEM }, 0, true, "openat: -ENOMEM, also before the path's errors" },
	/* alloc_shstk: a token that cannot be written is -EINVAL */
	{ "map_shadow_stack", NULL, { ENOMEM, EINVAL }, 0, false,
	  "map_shadow_stack: -ENOMEM, or -EINVAL when the token cannot be written" },
	{ "map_shadow_stack_seed", NULL, { ENOMEM, EINVAL }, 0, false,
	  "map_shadow_stack: -ENOMEM, or -EINVAL when the token cannot be written" },
	/* MAP_FIXED clears the range before it allocates the new VMA */
	{ "mmap", NULL, { ENOMEM }, FN_NORM_GAP, false,
	  "mmap: -ENOMEM; MAP_FIXED may leave the range unmapped" },
	/* a first split is not undone when the second one fails */
	{ "munmap", NULL, { ENOMEM }, FN_NORM_SPLITS, false, "munmap: -ENOMEM; a split may stay" },
	/* MREMAP_FIXED unmaps the destination first; remap_move() keeps the VMAs it moved */
	{ "mremap", NULL, { ENOMEM }, FN_NORM_GAP, false,
	  "mremap: -ENOMEM; MREMAP_FIXED may leave the destination unmapped, or some VMAs moved" },
	{ "mprotect", NULL, { ENOMEM }, FN_NORM_SPLITS, false,
	  "mprotect: -ENOMEM; a split may stay" },
	{ "madvise", NULL, { ENOMEM }, FN_NORM_SPLITS, false, "madvise: -ENOMEM; a split may stay" },
	/* mseal_apply(): vma_modify_flags() does not undo its split at the start when the end's fails */
	{ "mseal", NULL, { ENOMEM }, FN_NORM_SPLITS, false, "mseal: -ENOMEM; a split may stay" },
	/* copy_page_range write-protects the parent's pages; a failed fork leaves them so */
	{ "clone", NULL, { ENOMEM }, FN_NORM_WRPROTECT, false,
	  "clone: -ENOMEM; the parent's private pages may stay write-protected" },
	{ "sys_clone", NULL, { ENOMEM }, FN_NORM_WRPROTECT, false,
	  "clone: -ENOMEM; the parent's private pages may stay write-protected" },
	{ "clone3", NULL, { ENOMEM }, FN_NORM_WRPROTECT, false,
	  "clone3: -ENOMEM; the parent's private pages may stay write-protected" },
	/* a remote page GUP cannot pin (it could not be allocated) stops the copy: -EFAULT */
	{ "process_vm_readv", NULL, { ENOMEM, EFAULT }, 0, false,
	  "process_vm_readv: -ENOMEM, or -EFAULT when a remote page cannot be pinned" },
	{ "process_vm_writev", NULL, { ENOMEM, EFAULT }, 0, false,
	  "process_vm_writev: -ENOMEM, or -EFAULT when a remote page cannot be pinned" },
	{ "fallocate", NULL, { ENOMEM, ENOSPC }, 0, false, "fallocate: -ENOMEM or -ENOSPC" },
	/* ptrace-style access: nothing copied is -EIO, else -EFAULT / -ENOMEM */
	{ "remote_read", NULL, { ENOMEM, EFAULT, EIO }, FN_NORM_MEMORY, false,
	  "remote access: -ENOMEM, -EFAULT, -EIO" },
	{ "remote_write", NULL, { ENOMEM, EFAULT, EIO }, FN_NORM_MEMORY, false,
	  "remote access: -ENOMEM, -EFAULT, -EIO" },
};

static const struct fn_rule fn_default_rule = { NULL, NULL, { ENOMEM }, 0, false, "-ENOMEM" };
/* user accesses and CPU instructions: a fault that could not be served */
static const struct fn_rule fn_access_rule = { NULL, NULL, { ENOMEM }, FN_NORM_MEMORY, false,
					       "an access: -ENOMEM; what it faulted in stays" };

const struct fn_rule *fn_rule_for(const struct lang_step *s)
{
	uint64_t cmd = fn_ioctl_cmd(s), v;

	for (size_t i = 0; i < sizeof(fn_rules) / sizeof(fn_rules[0]); i++) {
		const struct fn_rule *r = &fn_rules[i];

		if (strcmp(r->call, s->call))
			continue;
		if (!r->ioctl || (!lang_const_lookup(r->ioctl, &v) && v == cmd))
			return r;
	}
	switch (s->desc->type) {
	case LC_WRITE_MEM:
	case LC_READ_MEM:
	case LC_CPU:
		return &fn_access_rule;
	default:
		return &fn_default_rule;
	}
}

bool fn_errno_allowed(const struct lang_step *s, int err, const char **why)
{
	const struct fn_rule *r = fn_rule_for(s);

	*why = r->why;
	for (size_t i = 0; i < sizeof(r->errs) / sizeof(r->errs[0]) && r->errs[i]; i++) {
		if (r->errs[i] == err)
			return true;
	}
	return false;
}

/*
 * Signals a call may raise when an allocation fails, as Linux raises them:
 * a signal frame that cannot be written (its stack page cannot be had) is
 * force_sigsegv(), SIGSEGV with SI_KERNEL; the task dies of it.
 */
static const struct {
	const char *call;
	const char *signal;     /* the start of the report's "got" */
} fn_signals[] = {
	{ "deliver_signal", "signal(SIGSEGV, SI_KERNEL" },
};

bool fn_signal_allowed(const struct lang_step *s, const char *got)
{
	for (size_t i = 0; i < sizeof(fn_signals) / sizeof(fn_signals[0]); i++) {
		if (!strcmp(fn_signals[i].call, s->call) &&
		    !strncmp(got, fn_signals[i].signal, strlen(fn_signals[i].signal)))
			return true;
	}
	return false;
}

/* Adds [start, start + len) to @gaps, len rounded up to pages. */
static void fn_gap_add(struct fn_gaps *gaps, uint64_t start, uint64_t len)
{
	gaps->start[gaps->n] = start;
	gaps->end[gaps->n++] = start + ((len + 0xfff) & ~0xfffull);
}

/* Is argument @i of @s a constant with @flag set? */
static bool fn_arg_has_flag(const struct lang_step *s, unsigned int i, const char *flag)
{
	uint64_t v, bit;

	return s->nargs > i && lang_expr_const(s->args[i].val, &v) &&
	       !lang_const_lookup(flag, &bit) && (v & bit);
}

bool fn_gap_ranges(const struct lang_step *s, const char *base_got, struct fn_gaps *gaps)
{
	bool mremap = !strcmp(s->call, "mremap");
	uint64_t at, addr, old_len, len;
	char *stop;

	gaps->n = 0;
	if (mremap ? !fn_arg_has_flag(s, 3, "MREMAP_FIXED") :
		     strcmp(s->call, "mmap") || !fn_arg_has_flag(s, 3, "MAP_FIXED"))
		return false;
	at = strtoull(base_got, &stop, 0);
	if (stop == base_got || *stop || !lang_expr_const(s->args[mremap ? 2 : 1].val, &len))
		return false;
	fn_gap_add(gaps, at, len);
	/* remap_move(): a move without a resize (page-aligned lengths) may stop after some VMAs */
	if (mremap && lang_expr_const(s->args[0].val, &addr) &&
	    lang_expr_const(s->args[1].val, &old_len) &&
	    ((old_len + 0xfff) & ~0xfffull) == ((len + 0xfff) & ~0xfffull))
		fn_gap_add(gaps, addr, len);
	return true;
}

bool fn_remap_keeps_source(const struct lang_step *s)
{
	return !strcmp(s->call, "mremap") && fn_arg_has_flag(s, 3, "MREMAP_DONTUNMAP");
}

bool fn_step_swept(const struct lang_step *s, bool all)
{
	switch (s->desc->type) {
	case LC_SYSCALL:
	case LC_CLONE:
		return true;
	case LC_MACHINE:
	case LC_EXIT:
	case LC_GUEST_OP:
		return false;
	default:
		return all;
	}
}
