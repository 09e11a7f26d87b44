/* SPDX-License-Identifier: MIT */
/*
 * The sequences kvm_trace records on the host and replays on memvisor:
 * capabilities, VM types, the memslot checks of set_memory_region_test,
 * vCPU creation as kvm_create_max_vcpus does it, dirty logging as
 * dirty_log_test's host side sees it, KVM_RUN exits (MMIO, read-only
 * slots, memory faults, hypercalls, immediate_exit), and the checks of
 * KVM_SET_VCPU_EVENTS and KVM_SET_SREGS with what their GETs report.
 *
 * A case marked 'differs' is one where the host kernel and memvisor
 * legitimately answer differently; the reason says which side has what.
 */
#include <memvisor/uapi/kvm.h>

#include "kvm_trace.h"

#define MB (1ull << 20)
#define CODE_GPA 0x100000ull      /* the host's guest code (slot 31) */
#define MMIO_GPA 0xd0000000ull    /* no slot */
#define REPORT   0xd0001000ull    /* no slot: the guest reports its accumulator here */
#define RAM_SLOT 0u
#define CODE_SLOT 31u
#define LOG KVM_MEM_LOG_DIRTY_PAGES
#define RO  KVM_MEM_READONLY
#define CAP_DIRTY_LOG_RING 192
#define CAP_DIRTY_LOG_RING_ACQ_REL 223

#define S0(op_) { .op = KD_##op_ }
#define S(op_, ...) { .op = KD_##op_, .a = { __VA_ARGS__ } }
#define CAP(fd, c) S(CHECK_EXTENSION, fd, c)
#define REGION(v, slot, flags, gpa, size, mem, off) S(SET_REGION, v, slot, flags, gpa, size, mem, off)
#define RAW(v, slot, flags, gpa, size, ua) S(SET_REGION, v, slot, flags, gpa, size, KD_RAW_UA, ua)
#define DELETE(slot) S(SET_REGION, 1, slot, 0, 0, 0, KD_RAW_UA, 0)

/* A default VM with 1 MiB of RAM at GPA 0 (mem 0), the code slot, and vCPU 0. */
#define VM_WITH_RAM(ram_flags)                                          \
	S(CREATE_VM, 0), S(MAP, 0, 1 * MB), S(MAP, 7, 64 << 10),        \
	REGION(1, RAM_SLOT, ram_flags, 0, 1 * MB, 0, 0),                \
	REGION(1, CODE_SLOT, 0, CODE_GPA, 64 << 10, 7, 0),              \
	S(GUEST_CODE, 7, CODE_GPA), S(CREATE_VCPU, 0)

/* Every bit of a memslot's flags alone, on the old or the new ioctl. */
#define FLAG_BIT(v, b) REGION(v, 0, 1u << (b), 0, 2 * MB, 0, 0)
#define FLAG_BITS_8(v, b) FLAG_BIT(v, b), FLAG_BIT(v, b + 1), FLAG_BIT(v, b + 2), \
	FLAG_BIT(v, b + 3), FLAG_BIT(v, b + 4), FLAG_BIT(v, b + 5), FLAG_BIT(v, b + 6), FLAG_BIT(v, b + 7)

#define RUN S(RUN, 0, 0)
#define SET_EV(flags, inj, nr, has_err, err, smm) S(SET_EVENTS, 0, flags, inj, nr, has_err, err, smm)
#define GET_EV S(GET_EVENTS, 0)
#define SREGS(cr0, cr3, cr4, efer, cs_l) S(SET_SREGS, 0, cr0, cr3, cr4, efer, cs_l, 0)
#define CR0_PE 0x1ull
#define CR0_PG 0x80000000ull
#define CR4_PAE 0x20ull
#define EFER_LM 0x500ull   /* LME and LMA */
#define IOCTL(fd, cmd) S(IOCTL, fd, cmd, 0)
#define KD_UNKNOWN_KVM 0xaeffull   /* _IO(KVMIO, 0xff): no such KVM ioctl */
#define KD_TCGETS 0x5401ull        /* a terminal ioctl */

const struct kd_case kd_cases[] = {
	/* ---------------------------------------------------------- capabilities */
	{ .name = "caps_common", .steps = {
		S0(API_VERSION), S0(VCPU_MMAP_SIZE),
		CAP(0, KVM_CAP_USER_MEMORY), CAP(0, KVM_CAP_USER_MEMORY2), CAP(0, KVM_CAP_SYNC_MMU),
		CAP(0, KVM_CAP_READONLY_MEM), CAP(0, KVM_CAP_IMMEDIATE_EXIT),
		CAP(0, KVM_CAP_MEMORY_FAULT_INFO), CAP(0, KVM_CAP_NR_MEMSLOTS),
		CAP(0, KVM_CAP_MAX_VCPUS), CAP(0, KVM_CAP_MAX_VCPU_ID), CAP(0, KVM_CAP_EXIT_HYPERCALL),
		CAP(0, KVM_CAP_CHECK_EXTENSION_VM), CAP(0, KVM_CAP_ENABLE_CAP_VM),
		CAP(0, KVM_CAP_MULTI_ADDRESS_SPACE), CAP(0, 9999),
		S(CREATE_VM, 0),
		CAP(1, KVM_CAP_USER_MEMORY2), CAP(1, KVM_CAP_NR_MEMSLOTS), CAP(1, KVM_CAP_MAX_VCPUS),
		CAP(1, KVM_CAP_MAX_VCPU_ID), CAP(1, KVM_CAP_EXIT_HYPERCALL), CAP(1, KVM_CAP_READONLY_MEM),
		CAP(1, KVM_CAP_MEMORY_ATTRIBUTES), CAP(1, 9999) } },
	{ .name = "caps_private_memory",
	  .differs = "newer in memvisor: it models 6.18's guest_memfd (MMAP, INIT_SHARED), "
		     "memory attributes and KVM_X86_SW_PROTECTED_VM; this host's KVM has none",
	  .steps = {
		CAP(0, KVM_CAP_GUEST_MEMFD), CAP(0, KVM_CAP_GUEST_MEMFD_FLAGS),
		CAP(0, KVM_CAP_MEMORY_ATTRIBUTES), CAP(0, KVM_CAP_VM_TYPES),
		S(CREATE_VM, 0), CAP(1, KVM_CAP_GUEST_MEMFD), CAP(1, KVM_CAP_GUEST_MEMFD_FLAGS),
		CAP(1, KVM_CAP_VM_TYPES) } },
	{ .name = "caps_not_modelled",
	  .differs = "older in memvisor: KVM_CLEAR_DIRTY_LOG and the dirty ring are not "
		     "implemented, so their capabilities are 0 (docs/kvm.md, 'Not yet')",
	  .steps = {
		CAP(0, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2), CAP(0, CAP_DIRTY_LOG_RING),
		CAP(0, CAP_DIRTY_LOG_RING_ACQ_REL) } },
	{ .name = "caps_nr_vcpus",
	  .differs = "KVM_CAP_NR_VCPUS is the host's online CPU count; memvisor has no host "
		     "CPUs to count and answers KVM_CAP_MAX_VCPUS (docs/kvm.md)",
	  .steps = { CAP(0, KVM_CAP_NR_VCPUS) } },

	/* ---------------------------------------------------------- VM types */
	{ .name = "vm_types", .steps = {
		S(CREATE_VM, 0), S(CREATE_VM, 2), S(CREATE_VM, 3), S(CREATE_VM, 0x100),
		S(CREATE_VM, 1ull << 31) } },
	{ .name = "guest_memfd_and_sw_protected_vm",
	  .differs = "newer in memvisor: this host's KVM has no guest_memfd and no "
		     "KVM_X86_SW_PROTECTED_VM (the VM ioctl is unknown: -ENOTTY; the memslot "
		     "flag unsupported: -EINVAL); memvisor serves both",
	  .steps = {
		S(CREATE_VM, 1), S(CREATE_VM, 0), S(CREATE_GMEM, 2 * MB, 0),
		S(CREATE_GMEM, 2 * MB, GUEST_MEMFD_FLAG_MMAP), S(CREATE_GMEM, 100, 0),
		S(MAP, 0, 2 * MB), REGION(2, 0, KVM_MEM_GUEST_MEMFD, 0, 2 * MB, 0, 0) } },

	/* ---------------------------------------------------------- memslots */
	{ .name = "memslot_flags_v1", .steps = {
		S(CREATE_VM, 0), S(MAP, 0, 2 * MB),
		FLAG_BIT(1, 0), DELETE(0), FLAG_BIT(1, 1), DELETE(0), FLAG_BIT(1, 2),
		FLAG_BIT(1, 3), FLAG_BIT(1, 4), FLAG_BIT(1, 5), FLAG_BIT(1, 6), FLAG_BIT(1, 7),
		FLAG_BITS_8(1, 8), FLAG_BITS_8(1, 16), FLAG_BITS_8(1, 24) } },
	{ .name = "memslot_flags_v2", .steps = {
		S(CREATE_VM, 0), S(MAP, 0, 2 * MB),
		FLAG_BIT(2, 0), DELETE(0), FLAG_BIT(2, 1), DELETE(0),
		FLAG_BIT(2, 3), FLAG_BIT(2, 4), FLAG_BIT(2, 5), FLAG_BIT(2, 6), FLAG_BIT(2, 7),
		FLAG_BITS_8(2, 8), FLAG_BITS_8(2, 16), FLAG_BITS_8(2, 24),
		REGION(2, 0, LOG | RO, 0, 2 * MB, 0, 0), DELETE(0) } },
	{ .name = "memslot_checks", .steps = {
		S(CREATE_VM, 0), S(MAP, 0, 4 * MB),
		REGION(1, 0, 0, 0x800, 2 * MB, 0, 0),                 /* gpa unaligned */
		REGION(1, 0, 0, 0, 2 * MB + 1, 0, 0),                 /* size unaligned */
		REGION(1, 0, 0, 0, 2 * MB, 0, 1),                     /* userspace_addr unaligned */
		RAW(1, 0, 0, 0, 2 * MB, 0xffff800000000000ull),       /* kernel address */
		RAW(1, 0, 0, 0, 2 * MB, 0x00007ffffffff000ull),       /* runs past TASK_SIZE */
		RAW(1, 1, 0, 0x40000000, 2 * MB, 0),                  /* userspace_addr 0 */
		DELETE(1),
		RAW(1, 2, 0, 0x40000000, 2 * MB, 0x100000000000ull),  /* nothing mapped there */
		DELETE(2),
		REGION(1, 32763, 0, 0, 2 * MB, 0, 0), DELETE(32763),  /* the last user slot */
		REGION(1, 32764, 0, 0, 2 * MB, 0, 0),                 /* KVM's own slots */
		REGION(1, 32767, 0, 0, 2 * MB, 0, 0),
		REGION(1, 1u << 16, 0, 0, 2 * MB, 0, 0),              /* address space 1 */
		REGION(1, 0, 0, 0xfffffffffff00000ull, 2 * MB, 0, 0), /* GPA wraps */
		RAW(1, 0, 0, 0, 1ull << 43, 0x10000000000ull),        /* 2^31 pages */
		DELETE(5),                                            /* no such slot */
		REGION(1, 0, 0, 0, 2 * MB, 0, 0),
		REGION(1, 1, 0, 0, 2 * MB, 0, 2 * MB),                /* same GPA */
		REGION(1, 1, 0, 1 * MB, 2 * MB, 0, 2 * MB),           /* partial overlap */
		REGION(1, 1, 0, 2 * MB, 2 * MB, 0, 2 * MB),           /* adjacent */
		REGION(1, 0, 0, 8 * MB, 2 * MB, 0, 0),                /* move */
		REGION(1, 0, 0, 2 * MB, 2 * MB, 0, 0),                /* move onto slot 1 */
		REGION(1, 0, LOG, 8 * MB, 2 * MB, 0, 0),              /* flags: dirty logging */
		REGION(1, 0, LOG | RO, 8 * MB, 2 * MB, 0, 0),         /* flags: READONLY */
		REGION(1, 0, LOG, 8 * MB, 2 * MB, 0, 4096),           /* another userspace_addr */
		REGION(1, 0, LOG, 8 * MB, 4 * MB, 0, 0),              /* another size */
		REGION(1, 0, LOG, 8 * MB, 2 * MB, 0, 0),              /* no change */
		REGION(2, 0, LOG, 8 * MB, 2 * MB, 0, 0),              /* the same through v2 */
		DELETE(0), DELETE(0), DELETE(1) } },
	{ .name = "memslot_max", .steps = {
		S(CREATE_VM, 0), CAP(1, KVM_CAP_NR_MEMSLOTS), S(MAP, 0, 32764 * 2 * MB),
		S(MAP, 1, 2 * MB),
		S(FILL_SLOTS, 0, 32764, 2 * MB, 0),
		REGION(1, 32764, 0, 32764 * 2 * MB, 2 * MB, 1, 0) } },

	/* ---------------------------------------------------------- dirty logging */
	{ .name = "dirty_log", .steps = {
		VM_WITH_RAM(LOG),
		S(DIRTY_LOG, RAM_SLOT), S(DIRTY_LOG, 1), S(DIRTY_LOG, CODE_SLOT), S(DIRTY_LOG, 32764),
		S(G_WRITE, 0x1000, 4, 0x11), S(G_WRITE, 0x3004, 1, 0x22), S(G_READ, 0x5000),
		S(G_REPORT, REPORT), S(G_WRITE, 0x3000, 2, 0x33), RUN,
		S(DIRTY_LOG, RAM_SLOT), S(DIRTY_LOG, RAM_SLOT),
		S(WRITE_MEM, 0, 0x7000, 0x44), S(DIRTY_LOG, RAM_SLOT),   /* the VMM's own write */
		RUN, S(DIRTY_LOG, RAM_SLOT), S(READ_MEM, 0, 0x3000), S(READ_MEM, 0, 0x1000) } },
	{ .name = "dirty_log_enabled_late", .steps = {
		VM_WITH_RAM(0),
		S(G_WRITE, 0x2000, 4, 1), S(G_REPORT, REPORT), S(G_WRITE, 0x2000, 4, 2),
		S(G_WRITE, 0x4000, 4, 3), S(G_READ, 0x6000), S(G_REPORT, REPORT),
		S(DIRTY_LOG, RAM_SLOT), RUN,
		REGION(1, RAM_SLOT, LOG, 0, 1 * MB, 0, 0), S(DIRTY_LOG, RAM_SLOT),
		RUN, S(DIRTY_LOG, RAM_SLOT), S(DIRTY_LOG, RAM_SLOT),
		REGION(1, RAM_SLOT, 0, 0, 1 * MB, 0, 0), S(DIRTY_LOG, RAM_SLOT), RUN } },

	/* ---------------------------------------------------------- exits */
	{ .name = "exit_mmio", .steps = {
		VM_WITH_RAM(0),
		S(G_WRITE, MMIO_GPA, 1, 0x5a), S(G_WRITE, MMIO_GPA + 8, 2, 0x1234),
		S(G_WRITE, MMIO_GPA + 16, 4, 0xdeadbeef), S(G_READ, MMIO_GPA + 0x100),
		S(G_REPORT, REPORT),
		RUN, RUN, RUN, RUN, S(MMIO_REPLY, 0, 0xcafef00d), RUN, RUN, RUN } },
	{ .name = "exit_ram_and_readonly_slot", .steps = {
		VM_WITH_RAM(0), S(MAP, 1, 1 * MB), REGION(1, 1, RO, 0x200000, 1 * MB, 1, 0),
		S(WRITE_MEM, 1, 0, 0x1122334455667788ull), S(WRITE_MEM, 0, 0x8000, 0x99),
		S(G_WRITE, 0x2000, 4, 0xabcd), S(G_READ, 0x200000), S(G_REPORT, REPORT),
		S(G_WRITE, 0x200000, 4, 0x77), S(G_READ, 0x2000), S(G_REPORT, REPORT),
		S(G_READ, 0x8000), S(G_REPORT, REPORT),
		RUN, RUN, RUN, RUN, RUN,
		S(READ_MEM, 0, 0x2000), S(READ_MEM, 1, 0) } },
	{ .name = "exit_memory_fault",
	  .differs = "host backend: this host's kvm_pvm answers a write to a slot whose VMM "
		     "memory is unmapped with an MMIO exit; memvisor answers as mainline x86 "
		     "(kvm_handle_error_pfn: KVM_RUN -EFAULT with KVM_EXIT_MEMORY_FAULT)",
	  .steps = {
		VM_WITH_RAM(0), S(MAP, 2, 1 * MB), REGION(1, 2, 0, 0x400000, 1 * MB, 2, 0),
		S(UNMAP, 2), S(G_WRITE, 0x400010, 4, 1), RUN, RUN } },
	{ .name = "exit_hypercall_not_enabled", .steps = {
		VM_WITH_RAM(0),
		S(G_HYPERCALL, KVM_HC_MAP_GPA_RANGE, 0x1000, 1, 0), S(G_REPORT, REPORT),
		S(G_HYPERCALL, KVM_HC_VAPIC_POLL_IRQ, 0, 0, 0), S(G_REPORT, REPORT),
		S(G_HYPERCALL, 0x7777, 0, 0, 0), S(G_REPORT, REPORT),
		RUN, RUN, RUN, RUN } },
	{ .name = "exit_hypercall_map_gpa_range", .steps = {
		VM_WITH_RAM(0),
		S(ENABLE_CAP, KVM_CAP_EXIT_HYPERCALL, 1), S(ENABLE_CAP, KVM_CAP_EXIT_HYPERCALL, 1u << 12, 1),
		S(ENABLE_CAP, KVM_CAP_EXIT_HYPERCALL, 1u << 12), S(ENABLE_CAP, 9999, 0),
		S(G_HYPERCALL, KVM_HC_MAP_GPA_RANGE, 0x3000, 2, 0x10), S(G_REPORT, REPORT),
		S(G_HYPERCALL, KVM_HC_MAP_GPA_RANGE, 0x3001, 1, 0), S(G_REPORT, REPORT),
		S(G_HYPERCALL, KVM_HC_MAP_GPA_RANGE, 0x3000, 0, 0), S(G_REPORT, REPORT),
		S(G_HYPERCALL, KVM_HC_MAP_GPA_RANGE, 0xfffff000, 0x100000, 0), S(G_REPORT, REPORT),
		RUN, S(HYPERCALL_REPLY, 0, 0x55), RUN, RUN, RUN, RUN, RUN } },
	{ .name = "run_controls", .steps = {
		VM_WITH_RAM(0), S(G_WRITE, MMIO_GPA, 4, 7),
		S(RUN, 0, 1), S(IMMEDIATE_EXIT, 0, 1), RUN, S(IMMEDIATE_EXIT, 0, 0), RUN, RUN,
		} },

	/* ---------------------------------------------------------- vCPUs */
	{ .name = "vcpu_ids", .steps = {
		S(CREATE_VM, 0), S(CREATE_VCPU, 0), S(CREATE_VCPU, 0), S(CREATE_VCPU, 4095),
		S(CREATE_VCPU, 4096), S(CREATE_VCPU, 0xffffffffull), S(CREATE_VCPU, 1ull << 32) } },
	{ .name = "vcpu_max", .steps = {
		S(SET_NOFILE, 4096), S(CREATE_VM, 0), CAP(1, KVM_CAP_MAX_VCPUS),
		S(CREATE_VCPUS, 0, 1024), S(CREATE_VCPU, 1024),
		S(CREATE_VM, 0), S(CREATE_VCPUS, 4096 - 1024, 1024), S(CREATE_VCPU, 0) } },

	/* ---------------------------------------------------------- vCPU events */
	/* kvm_vcpu_ioctl_x86_set_vcpu_events's checks in order, and what GET reports */
	{ .name = "vcpu_events", .steps = {
		S(CREATE_VM, 0), S(CREATE_VCPU, 0), GET_EV,
		SET_EV(0x40, 0, 0, 0, 0, 0),                         /* unknown flag */
		SET_EV(KVM_VCPUEVENT_VALID_PAYLOAD, 1, 14, 0, 0, 0), /* no EXCEPTION_PAYLOAD cap */
		SET_EV(0, 1, 32, 0, 0, 0), SET_EV(0, 1, 2, 0, 0, 0), GET_EV,
		SET_EV(KVM_VCPUEVENT_VALID_TRIPLE_FAULT, 0, 0, 0, 0, 0), GET_EV,
		SET_EV(0, 1, 3, 0, 0, 0), GET_EV,                   /* #BP: soft, never injected */
		SET_EV(0, 1, 13, 1, 0x18, 0), GET_EV,
		SET_EV(0, 0, 0, 0, 0, 0), GET_EV } },
	/* SMM state: refused without CONFIG_KVM_SMM, after the exception was taken */
	{ .name = "vcpu_events_smm", .steps = {
		S(CREATE_VM, 0), S(CREATE_VCPU, 0),
		SET_EV(KVM_VCPUEVENT_VALID_SMM, 1, 6, 0, 0, 1), GET_EV,
		SET_EV(KVM_VCPUEVENT_VALID_SMM, 0, 0, 0, 0, 0), GET_EV } },
	/* ioctls on the wrong fd, unknown ones, and NULL struct pointers: which errno each fd gives */
	{ .name = "ioctl_dispatch", .steps = {
		S(CREATE_VM, 0), S(CREATE_VCPU, 0),
		IOCTL(0, KVM_RUN), IOCTL(0, KVM_CREATE_VCPU), IOCTL(0, KVM_GET_REGS),
		IOCTL(0, KD_UNKNOWN_KVM), IOCTL(0, KD_TCGETS),
		IOCTL(1, KVM_GET_API_VERSION), IOCTL(1, KVM_CREATE_VM), IOCTL(1, KVM_RUN),
		IOCTL(1, KVM_GET_VCPU_MMAP_SIZE), IOCTL(1, KD_UNKNOWN_KVM), IOCTL(1, KD_TCGETS),
		IOCTL(2, KVM_GET_API_VERSION), IOCTL(2, KVM_CREATE_VCPU), IOCTL(2, KVM_CHECK_EXTENSION),
		IOCTL(2, KVM_SET_USER_MEMORY_REGION), IOCTL(2, KD_UNKNOWN_KVM), IOCTL(2, KD_TCGETS),
		IOCTL(1, KVM_SET_USER_MEMORY_REGION), IOCTL(1, KVM_SET_USER_MEMORY_REGION2),
		IOCTL(1, KVM_GET_DIRTY_LOG), IOCTL(1, KVM_ENABLE_CAP),
		IOCTL(2, KVM_GET_REGS), IOCTL(2, KVM_SET_REGS), IOCTL(2, KVM_GET_SREGS),
		IOCTL(2, KVM_SET_SREGS), IOCTL(2, KVM_GET_VCPU_EVENTS), IOCTL(2, KVM_SET_VCPU_EVENTS),
		IOCTL(2, KVM_GET_MSRS), IOCTL(2, KVM_SET_MSRS) } },
	/* kvm_is_valid_sregs and kvm_set_apic_base, as KVM_SET_SREGS checks them */
	{ .name = "sregs_checks", .steps = {
		S(CREATE_VM, 0), S(CREATE_VCPU, 0),
		SREGS(CR0_PG, 0, 0, 0, 0),                          /* PG without PE */
		SREGS(CR0_PE | (1ull << 63), 0, 0, 0, 0),           /* reserved CR0 bit */
		SREGS(CR0_PE, 0, 1ull << 30, 0, 0),                 /* reserved CR4 bit */
		SREGS(CR0_PE | CR0_PG, 0x1000, 0, EFER_LM, 0),      /* long mode without PAE */
		SREGS(CR0_PE | CR0_PG, 0x1000, CR4_PAE, 0x100, 0),  /* LME without LMA */
		SREGS(CR0_PE, 0, 0, 0x400, 0),                      /* LMA without paging */
		SREGS(CR0_PE, 0, 0, 0, 1),                          /* CS.L outside long mode */
		SREGS(CR0_PE | CR0_PG, 1ull << 52, CR4_PAE, EFER_LM, 1), /* CR3 past MAXPHYADDR */
		S(SET_SREGS, 0, CR0_PE, 0, 0, 0, 0, 0xfee00d00ull),  /* x2APIC without it in CPUID */
		S(SET_SREGS, 0, CR0_PE, 0, 0, 0, 0, 0xfee00201ull),  /* reserved bits 0 and 9 */
		S(SET_SREGS, 0, CR0_PE, 0, 0, 0, 0, 0xfee00100ull),  /* BSP: allowed */
		SREGS(CR0_PE | CR0_PG, 0x1000, CR4_PAE, EFER_LM, 1), S(GET_SREGS, 0),
		SREGS(CR0_PE, 0, 0, 0, 0), S(GET_SREGS, 0) } },
	/* __set_regs: RFLAGS bit 1 always reads set; the rest as written */
	{ .name = "regs",
	  .differs = "memvisor resets a vCPU to flat protected mode with RIP 0 (docs/kvm.md), "
		     "Linux to real mode at RIP 0xfff0; and this host's kvm_pvm backend clears "
		     "RFLAGS.VM in KVM_SET_REGS, where mainline's VMX and SVM store RFLAGS as given",
	  .steps = {
		S(CREATE_VM, 0), S(CREATE_VCPU, 0), S(GET_REGS, 0),
		S(SET_REGS, 0, 0xfff0, 0, 0x1234, 0x8000), S(GET_REGS, 0),
		S(SET_REGS, 0, ~0ull, ~0ull, ~0ull, ~0ull), S(GET_REGS, 0),
		S(SET_REGS, 0, 0x1000, 0x202, 0, 0), S(GET_REGS, 0) } },
	{ .name = "sregs_legacy_paging",
	  .differs = "memvisor models 4-level paging only (docs/kvm.md): it refuses 32-bit and "
		     "PAE paging without long mode, which KVM runs",
	  .steps = {
		S(CREATE_VM, 0), S(CREATE_VCPU, 0),
		SREGS(CR0_PE | CR0_PG, 0x1000, 0, 0, 0), SREGS(CR0_PE | CR0_PG, 0x1000, CR4_PAE, 0, 0) } },
	{ .name = NULL },
};
