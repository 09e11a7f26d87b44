/* SPDX-License-Identifier: MIT */
/*
 * Struct layouts a scenario can write as {field=value, ...}: the uAPI
 * structs that system calls and ioctls take or fill, by Linux field name.
 * The layouts come from the headers themselves (offsetof/sizeof), so they
 * cannot drift from what the kernel side reads.
 */
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include <memvisor/memvisor.h>
#include <memvisor/uapi/kvm.h>

#include "lang/lang_int.h"

#define FIELD(type, f) { #f, offsetof(type, f), sizeof(((type *)0)->f) }
/* A member of a nested struct, named with '_' for '.' (exception.nr: exception_nr) */
#define FIELD_AS(name, type, f) { name, offsetof(type, f), sizeof(((type *)0)->f) }
#define STRUCT(name, type, fields) \
	{ name, sizeof(type), fields, sizeof(fields) / sizeof(fields[0]), false }
#define STRUCT_HOST_POINTERS(name, type, fields) \
	{ name, sizeof(type), fields, sizeof(fields) / sizeof(fields[0]), true }

/* struct rlimit / rlimit64 on x86-64: two u64 */
struct lang_rlimit {
	uint64_t rlim_cur;
	uint64_t rlim_max;
};

/* A single u64 written through a pointer (arch_prctl(ARCH_SHSTK_STATUS)). */
struct lang_u64 {
	uint64_t val;
};

/*
 * struct clone_args (CLONE_ARGS_SIZE_VER2, 88 bytes) at the start of a
 * page: clone3 reads as many bytes as its size argument says, up to a page
 * (a larger size is -E2BIG before any read), so the buffer a literal makes
 * is that large, zero past the struct. set_tid is left out: it points at
 * host memory, which a scenario cannot name.
 */
struct lang_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size, cgroup;
	uint8_t rest[4096 - 88];
};

/*
 * An array of struct iovec as long as the kernel takes (UIO_MAXIOV), so no
 * count can make it read past the buffer; entries 0 and 1 can be named.
 * "iovec" holds remote addresses (the other task's); "iovec_local" names
 * only lengths: its bases are NULL, since a local iov_base would be a host
 * pointer.
 */
struct lang_iovec_array {
	struct {
		uint64_t iov_base, iov_len;
	} v[1024];
};

static const struct lang_field_desc lang_clone_args_fields[] = {
	FIELD(struct lang_clone_args, flags), FIELD(struct lang_clone_args, pidfd),
	FIELD(struct lang_clone_args, child_tid), FIELD(struct lang_clone_args, parent_tid),
	FIELD(struct lang_clone_args, exit_signal), FIELD(struct lang_clone_args, stack),
	FIELD(struct lang_clone_args, stack_size), FIELD(struct lang_clone_args, tls),
	FIELD(struct lang_clone_args, set_tid_size), FIELD(struct lang_clone_args, cgroup),
};

static const struct lang_field_desc lang_iovec_fields[] = {
	{ "iov_base", 0, 8 }, { "iov_len", 8, 8 }, { "iov_base1", 16, 8 }, { "iov_len1", 24, 8 },
};

static const struct lang_field_desc lang_iovec_local_fields[] = {
	{ "iov_len", 8, 8 }, { "iov_len1", 24, 8 },
};

static const struct lang_field_desc lang_rlimit_fields[] = {
	FIELD(struct lang_rlimit, rlim_cur),
	FIELD(struct lang_rlimit, rlim_max),
};

static const struct lang_field_desc lang_u64_fields[] = {
	FIELD(struct lang_u64, val),
};

static const struct lang_field_desc lang_stat_fields[] = {
	FIELD(struct stat, st_dev), FIELD(struct stat, st_ino), FIELD(struct stat, st_nlink),
	FIELD(struct stat, st_mode), FIELD(struct stat, st_uid), FIELD(struct stat, st_gid),
	FIELD(struct stat, st_rdev), FIELD(struct stat, st_size), FIELD(struct stat, st_blksize),
	FIELD(struct stat, st_blocks),
};

static const struct lang_field_desc lang_gmem_fields[] = {
	FIELD(struct kvm_create_guest_memfd, size),
	FIELD(struct kvm_create_guest_memfd, flags),
};
static const struct lang_field_desc lang_region_fields[] = {
	FIELD(struct kvm_userspace_memory_region, slot),
	FIELD(struct kvm_userspace_memory_region, flags),
	FIELD(struct kvm_userspace_memory_region, guest_phys_addr),
	FIELD(struct kvm_userspace_memory_region, memory_size),
	FIELD(struct kvm_userspace_memory_region, userspace_addr),
};
static const struct lang_field_desc lang_region2_fields[] = {
	FIELD(struct kvm_userspace_memory_region2, slot),
	FIELD(struct kvm_userspace_memory_region2, flags),
	FIELD(struct kvm_userspace_memory_region2, guest_phys_addr),
	FIELD(struct kvm_userspace_memory_region2, memory_size),
	FIELD(struct kvm_userspace_memory_region2, userspace_addr),
	FIELD(struct kvm_userspace_memory_region2, guest_memfd_offset),
	FIELD(struct kvm_userspace_memory_region2, guest_memfd),
};
static const struct lang_field_desc lang_attr_fields[] = {
	FIELD(struct kvm_memory_attributes, address),
	FIELD(struct kvm_memory_attributes, size),
	FIELD(struct kvm_memory_attributes, attributes),
	FIELD(struct kvm_memory_attributes, flags),
};
static const struct lang_field_desc lang_cap_fields[] = {
	FIELD(struct kvm_enable_cap, cap),
	FIELD(struct kvm_enable_cap, flags),
	{ "args0", offsetof(struct kvm_enable_cap, args), 8 },
	{ "args1", offsetof(struct kvm_enable_cap, args) + 8, 8 },
	{ "args2", offsetof(struct kvm_enable_cap, args) + 16, 8 },
	{ "args3", offsetof(struct kvm_enable_cap, args) + 24, 8 },
};
static const struct lang_field_desc lang_mte_fields[] = {
	FIELD(struct kvm_arm_copy_mte_tags, guest_ipa),
	FIELD(struct kvm_arm_copy_mte_tags, length),
	FIELD(struct kvm_arm_copy_mte_tags, addr),
	FIELD(struct kvm_arm_copy_mte_tags, flags),
};

static const struct lang_field_desc lang_regs_fields[] = {
	FIELD(struct kvm_regs, rax), FIELD(struct kvm_regs, rbx), FIELD(struct kvm_regs, rcx),
	FIELD(struct kvm_regs, rdx), FIELD(struct kvm_regs, rsi), FIELD(struct kvm_regs, rdi),
	FIELD(struct kvm_regs, rsp), FIELD(struct kvm_regs, rbp), FIELD(struct kvm_regs, r8),
	FIELD(struct kvm_regs, r9), FIELD(struct kvm_regs, r10), FIELD(struct kvm_regs, r11),
	FIELD(struct kvm_regs, r12), FIELD(struct kvm_regs, r13), FIELD(struct kvm_regs, r14),
	FIELD(struct kvm_regs, r15), FIELD(struct kvm_regs, rip), FIELD(struct kvm_regs, rflags),
};
/* the control registers; segments and tables stay zero in a literal */
static const struct lang_field_desc lang_sregs_fields[] = {
	FIELD(struct kvm_sregs, cr0), FIELD(struct kvm_sregs, cr2), FIELD(struct kvm_sregs, cr3),
	FIELD(struct kvm_sregs, cr4), FIELD(struct kvm_sregs, cr8), FIELD(struct kvm_sregs, efer),
	FIELD(struct kvm_sregs, apic_base),
};

#define EV(name, f) FIELD_AS(name, struct kvm_vcpu_events, f)
static const struct lang_field_desc lang_events_fields[] = {
	EV("exception_injected", exception.injected), EV("exception_nr", exception.nr),
	EV("exception_has_error_code", exception.has_error_code),
	EV("exception_pending", exception.pending),
	EV("exception_error_code", exception.error_code),
	EV("interrupt_injected", interrupt.injected), EV("interrupt_nr", interrupt.nr),
	EV("interrupt_soft", interrupt.soft), EV("interrupt_shadow", interrupt.shadow),
	EV("nmi_injected", nmi.injected), EV("nmi_pending", nmi.pending),
	EV("nmi_masked", nmi.masked), EV("sipi_vector", sipi_vector), EV("flags", flags),
	EV("smi_smm", smi.smm), EV("smi_pending", smi.pending),
	EV("smi_smm_inside_nmi", smi.smm_inside_nmi), EV("smi_latched_init", smi.latched_init),
	EV("triple_fault_pending", triple_fault.pending),
	EV("exception_has_payload", exception_has_payload),
	EV("exception_payload", exception_payload),
};
#undef EV

static const struct lang_field_desc lang_coalesced_zone_fields[] = {
	FIELD(struct kvm_coalesced_mmio_zone, addr),
	FIELD(struct kvm_coalesced_mmio_zone, size),
	FIELD(struct kvm_coalesced_mmio_zone, pio),
};

static const struct lang_struct_desc lang_structs[] = {
	STRUCT("rlimit", struct lang_rlimit, lang_rlimit_fields),
	STRUCT("u64", struct lang_u64, lang_u64_fields),
	STRUCT("stat", struct stat, lang_stat_fields),
	STRUCT("kvm_create_guest_memfd", struct kvm_create_guest_memfd, lang_gmem_fields),
	STRUCT("kvm_userspace_memory_region", struct kvm_userspace_memory_region,
	       lang_region_fields),
	STRUCT("kvm_userspace_memory_region2", struct kvm_userspace_memory_region2,
	       lang_region2_fields),
	STRUCT("kvm_memory_attributes", struct kvm_memory_attributes, lang_attr_fields),
	STRUCT("kvm_coalesced_mmio_zone", struct kvm_coalesced_mmio_zone,
	       lang_coalesced_zone_fields),
	STRUCT("kvm_enable_cap", struct kvm_enable_cap, lang_cap_fields),
	STRUCT("kvm_arm_copy_mte_tags", struct kvm_arm_copy_mte_tags, lang_mte_fields),
	STRUCT("kvm_regs", struct kvm_regs, lang_regs_fields),
	STRUCT("kvm_sregs", struct kvm_sregs, lang_sregs_fields),
	STRUCT("kvm_vcpu_events", struct kvm_vcpu_events, lang_events_fields),
	STRUCT_HOST_POINTERS("clone_args", struct lang_clone_args, lang_clone_args_fields),
	STRUCT("iovec", struct lang_iovec_array, lang_iovec_fields),
	STRUCT_HOST_POINTERS("iovec_local", struct lang_iovec_array, lang_iovec_local_fields),
};

const struct lang_struct_desc *lang_struct_find(const char *name)
{
	for (size_t i = 0; i < sizeof(lang_structs) / sizeof(lang_structs[0]); i++) {
		if (!strcmp(lang_structs[i].name, name))
			return &lang_structs[i];
	}
	return NULL;
}

const struct lang_field_desc *lang_struct_field(const struct lang_struct_desc *s,
						const char *name)
{
	for (size_t i = 0; i < s->nfields; i++) {
		if (!strcmp(s->fields[i].name, name))
			return &s->fields[i];
	}
	return NULL;
}

const char *lang_struct_field_suggest(const struct lang_struct_desc *s, const char *name)
{
	struct lang_suggest sg;

	lang_suggest_init(&sg, name);
	for (size_t i = 0; i < s->nfields; i++)
		lang_suggest_add(&sg, s->fields[i].name);
	return lang_suggest_best(&sg);
}
