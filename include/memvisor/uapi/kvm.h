/* SPDX-License-Identifier: MIT */
/*
 * The KVM uAPI memvisor implements: ioctl numbers, structures, exit reasons,
 * capabilities and hypercall numbers with Linux's names, values and x86-64
 * layouts (every structure's size and key offsets are asserted below).
 * Written for memvisor from the published interface; names that a C
 * library header may also define are guarded so both can be included.
 *
 * Names defined here but not (yet) served answer as a kernel without them
 * does: KVM_CHECK_EXTENSION 0, the ioctl -ENOTTY (VM) or -EINVAL (vCPU).
 * docs/kvm.md lists what is implemented.
 */
#ifndef MEMVISOR_UAPI_KVM_H
#define MEMVISOR_UAPI_KVM_H

#include <stddef.h>
#include <stdint.h>

/* ---- ioctl number encoding (asm-generic/ioctl.h) ---- */
#ifndef _IOC_NRBITS
#define _IOC_NRBITS   8
#define _IOC_TYPEBITS 8
#define _IOC_SIZEBITS 14
#define _IOC_DIRBITS  2
#define _IOC_NRSHIFT   0
#define _IOC_TYPESHIFT (_IOC_NRSHIFT + _IOC_NRBITS)
#define _IOC_SIZESHIFT (_IOC_TYPESHIFT + _IOC_TYPEBITS)
#define _IOC_DIRSHIFT  (_IOC_SIZESHIFT + _IOC_SIZEBITS)
#endif
#ifndef _IOC_NONE
#define _IOC_NONE  0U
#define _IOC_WRITE 1U
#define _IOC_READ  2U
#endif
#ifndef _IOC
#define _IOC(dir, type, nr, size)                                               \
	(((dir) << _IOC_DIRSHIFT) | ((type) << _IOC_TYPESHIFT) |                \
	 ((nr) << _IOC_NRSHIFT) | ((size) << _IOC_SIZESHIFT))
#endif
#ifndef _IO
#define _IO(type, nr)         _IOC(_IOC_NONE, (type), (nr), 0)
#define _IOR(type, nr, T)     _IOC(_IOC_READ, (type), (nr), sizeof(T))
#define _IOW(type, nr, T)     _IOC(_IOC_WRITE, (type), (nr), sizeof(T))
#define _IOWR(type, nr, T)    _IOC(_IOC_READ | _IOC_WRITE, (type), (nr), sizeof(T))
#endif
#ifndef _IOC_TYPE
#define _IOC_DIR(nr)  (((nr) >> _IOC_DIRSHIFT) & ((1U << _IOC_DIRBITS) - 1))
#define _IOC_TYPE(nr) (((nr) >> _IOC_TYPESHIFT) & ((1U << _IOC_TYPEBITS) - 1))
#define _IOC_NR(nr)   (((nr) >> _IOC_NRSHIFT) & ((1U << _IOC_NRBITS) - 1))
#define _IOC_SIZE(nr) (((nr) >> _IOC_SIZESHIFT) & ((1U << _IOC_SIZEBITS) - 1))
#endif

#define KVM_API_VERSION 12
#define KVMIO 0xAE

/* ---- structures (x86-64 layouts) ---- */

struct kvm_userspace_memory_region {
	uint32_t slot;              /* bits 0-15 slot id, 16-31 address space */
	uint32_t flags;
	uint64_t guest_phys_addr;
	uint64_t memory_size;       /* bytes */
	uint64_t userspace_addr;    /* start of the VMM's mapping */
};

struct kvm_userspace_memory_region2 {
	uint32_t slot;
	uint32_t flags;
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t guest_memfd_offset;
	uint32_t guest_memfd;
	uint32_t pad1;
	uint64_t pad2[14];
};

/* memslot flags */
#define KVM_MEM_LOG_DIRTY_PAGES (1u << 0)
#define KVM_MEM_READONLY        (1u << 1)
#define KVM_MEM_GUEST_MEMFD     (1u << 2)

struct kvm_dirty_log {
	uint32_t slot;
	uint32_t padding1;
	union {
		void *dirty_bitmap;     /* one bit per page */
		uint64_t padding2;
	};
};

struct kvm_enable_cap {
	uint32_t cap;
	uint32_t flags;
	uint64_t args[4];
	uint8_t pad[64];
};

struct kvm_memory_attributes {
	uint64_t address;
	uint64_t size;
	uint64_t attributes;
	uint64_t flags;
};
#define KVM_MEMORY_ATTRIBUTE_PRIVATE (1ull << 3)

struct kvm_create_guest_memfd {
	uint64_t size;
	uint64_t flags;
	uint64_t reserved[6];
};
#define GUEST_MEMFD_FLAG_MMAP        (1ull << 0)
#define GUEST_MEMFD_FLAG_INIT_SHARED (1ull << 1)

struct kvm_arm_copy_mte_tags {
	uint64_t guest_ipa;
	uint64_t length;
	void *addr;
	uint64_t flags;
	uint64_t reserved[2];
};
#define KVM_ARM_TAGS_TO_GUEST   0
#define KVM_ARM_TAGS_FROM_GUEST 1

/* arch/x86/include/uapi/asm/kvm.h */
struct kvm_regs {
	uint64_t rax, rbx, rcx, rdx;
	uint64_t rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11;
	uint64_t r12, r13, r14, r15;
	uint64_t rip, rflags;
};

struct kvm_segment {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type;
	uint8_t present, dpl, db, s, l, g, avl;
	uint8_t unusable;
	uint8_t padding;
};

struct kvm_dtable {
	uint64_t base;
	uint16_t limit;
	uint16_t padding[3];
};

#define KVM_NR_INTERRUPTS 256
struct kvm_sregs {
	struct kvm_segment cs, ds, es, fs, gs, ss;
	struct kvm_segment tr, ldt;
	struct kvm_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t apic_base;
	uint64_t interrupt_bitmap[(KVM_NR_INTERRUPTS + 63) / 64];
};

/* VM types (KVM_CREATE_VM argument on x86) */
#define KVM_X86_DEFAULT_VM       0
#define KVM_X86_SW_PROTECTED_VM  1
#define KVM_X86_SEV_VM           2
#define KVM_X86_SEV_ES_VM        3
#define KVM_X86_SNP_VM           4
#define KVM_X86_TDX_VM           5

/* ---- exits ---- */
#define KVM_EXIT_UNKNOWN          0
#define KVM_EXIT_EXCEPTION        1
#define KVM_EXIT_IO               2
#define KVM_EXIT_HYPERCALL        3
#define KVM_EXIT_DEBUG            4
#define KVM_EXIT_HLT              5
#define KVM_EXIT_MMIO             6
#define KVM_EXIT_IRQ_WINDOW_OPEN  7
#define KVM_EXIT_SHUTDOWN         8
#define KVM_EXIT_FAIL_ENTRY       9
#define KVM_EXIT_INTR             10
#define KVM_EXIT_SET_TPR          11
#define KVM_EXIT_TPR_ACCESS       12
#define KVM_EXIT_NMI              16
#define KVM_EXIT_INTERNAL_ERROR   17
#define KVM_EXIT_SYSTEM_EVENT     24
#define KVM_EXIT_X86_RDMSR        29
#define KVM_EXIT_X86_WRMSR        30
#define KVM_EXIT_DIRTY_RING_FULL  31
#define KVM_EXIT_NOTIFY           37
#define KVM_EXIT_MEMORY_FAULT     39
#define KVM_EXIT_TDX              40

/* KVM_EXIT_INTERNAL_ERROR suberrors */
#define KVM_INTERNAL_ERROR_EMULATION              1
#define KVM_INTERNAL_ERROR_SIMUL_EX               2
#define KVM_INTERNAL_ERROR_DELIVERY_EV            3
#define KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON 4

/* KVM_EXIT_MEMORY_FAULT flags */
#define KVM_MEMORY_EXIT_FLAG_PRIVATE (1ull << 3)

/* KVM_EXIT_HYPERCALL flags */
#define KVM_EXIT_HYPERCALL_LONG_MODE (1ull << 0)

#define KVM_SYNC_REGS_SIZE_BYTES 2048

struct kvm_run {
	/* in */
	uint8_t request_interrupt_window;
	uint8_t immediate_exit__unsafe;
	uint8_t padding1[6];
	/* out */
	uint32_t exit_reason;
	uint8_t ready_for_interrupt_injection;
	uint8_t if_flag;
	uint16_t flags;
	/* in (before KVM_RUN), out (after) */
	uint64_t cr8;
	uint64_t apic_base;
	union {
		struct {                /* KVM_EXIT_UNKNOWN */
			uint64_t hardware_exit_reason;
		} hw;
		struct {                /* KVM_EXIT_FAIL_ENTRY */
			uint64_t hardware_entry_failure_reason;
			uint32_t cpu;
		} fail_entry;
		struct {                /* KVM_EXIT_EXCEPTION */
			uint32_t exception;
			uint32_t error_code;
		} ex;
		struct {                /* KVM_EXIT_IO */
#define KVM_EXIT_IO_IN  0
#define KVM_EXIT_IO_OUT 1
			uint8_t direction;
			uint8_t size;
			uint16_t port;
			uint32_t count;
			uint64_t data_offset;
		} io;
		struct {                /* KVM_EXIT_MMIO */
			uint64_t phys_addr;
			uint8_t data[8];
			uint32_t len;
			uint8_t is_write;
		} mmio;
		struct {                /* KVM_EXIT_HYPERCALL */
			uint64_t nr;
			uint64_t args[6];
			uint64_t ret;
			union {
				uint32_t longmode;   /* older name */
				uint64_t flags;
			};
		} hypercall;
		struct {                /* KVM_EXIT_INTERNAL_ERROR */
			uint32_t suberror;
			uint32_t ndata;
			uint64_t data[16];
		} internal;
		struct {                /* KVM_EXIT_SYSTEM_EVENT */
			uint32_t type;
			uint32_t ndata;
			uint64_t data[16];
		} system_event;
		struct {                /* KVM_EXIT_MEMORY_FAULT */
			uint64_t flags;
			uint64_t gpa;
			uint64_t size;
		} memory_fault;
		char padding[256];
	};
	uint64_t kvm_valid_regs;
	uint64_t kvm_dirty_regs;
	union {
		char padding[KVM_SYNC_REGS_SIZE_BYTES];
	} s;
};

/* mmap offsets of the vCPU fd (x86), in pages */
#define KVM_PIO_PAGE_OFFSET            1
#define KVM_COALESCED_MMIO_PAGE_OFFSET 2

/* ---- ioctls ---- */
/* on /dev/kvm */
#define KVM_GET_API_VERSION        _IO(KVMIO, 0x00)
#define KVM_CREATE_VM              _IO(KVMIO, 0x01)
#define KVM_CHECK_EXTENSION        _IO(KVMIO, 0x03)   /* also on VM fds */
#define KVM_GET_VCPU_MMAP_SIZE     _IO(KVMIO, 0x04)
/* on a VM fd */
#define KVM_CREATE_VCPU            _IO(KVMIO, 0x41)
#define KVM_GET_DIRTY_LOG          _IOW(KVMIO, 0x42, struct kvm_dirty_log)
#define KVM_SET_USER_MEMORY_REGION _IOW(KVMIO, 0x46, struct kvm_userspace_memory_region)
#define KVM_SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)
#define KVM_SET_MEMORY_ATTRIBUTES  _IOW(KVMIO, 0xd2, struct kvm_memory_attributes)
#define KVM_CREATE_GUEST_MEMFD     _IOWR(KVMIO, 0xd4, struct kvm_create_guest_memfd)
#define KVM_ARM_MTE_COPY_TAGS      _IOR(KVMIO, 0xb4, struct kvm_arm_copy_mte_tags)
/* on VM and vCPU fds */
#define KVM_ENABLE_CAP             _IOW(KVMIO, 0xa3, struct kvm_enable_cap)
/* on a vCPU fd */
#define KVM_RUN                    _IO(KVMIO, 0x80)
#define KVM_GET_REGS               _IOR(KVMIO, 0x81, struct kvm_regs)
#define KVM_SET_REGS               _IOW(KVMIO, 0x82, struct kvm_regs)
#define KVM_GET_SREGS              _IOR(KVMIO, 0x83, struct kvm_sregs)
#define KVM_SET_SREGS              _IOW(KVMIO, 0x84, struct kvm_sregs)

/* ---- capabilities (KVM_CHECK_EXTENSION / KVM_ENABLE_CAP) ---- */
#define KVM_CAP_IRQCHIP                    0
#define KVM_CAP_HLT                        1
#define KVM_CAP_MMU_SHADOW_CACHE_CONTROL   2
#define KVM_CAP_USER_MEMORY                3
#define KVM_CAP_SET_TSS_ADDR               4
#define KVM_CAP_VAPIC                      6
#define KVM_CAP_EXT_CPUID                  7
#define KVM_CAP_CLOCKSOURCE                8
#define KVM_CAP_NR_VCPUS                   9
#define KVM_CAP_NR_MEMSLOTS                10
#define KVM_CAP_PIT                        11
#define KVM_CAP_NOP_IO_DELAY               12
#define KVM_CAP_PV_MMU                     13
#define KVM_CAP_MP_STATE                   14
#define KVM_CAP_COALESCED_MMIO             15
#define KVM_CAP_SYNC_MMU                   16
#define KVM_CAP_DESTROY_MEMORY_REGION_WORKS 21
#define KVM_CAP_JOIN_MEMORY_REGIONS_WORKS  30
#define KVM_CAP_INTERNAL_ERROR_DATA        40
#define KVM_CAP_MAX_VCPUS                  66
#define KVM_CAP_ENABLE_CAP                 54
#define KVM_CAP_READONLY_MEM               81
#define KVM_CAP_ENABLE_CAP_VM              98
#define KVM_CAP_CHECK_EXTENSION_VM         105
#define KVM_CAP_MULTI_ADDRESS_SPACE        118
#define KVM_CAP_MAX_VCPU_ID                128
#define KVM_CAP_IMMEDIATE_EXIT             136
#define KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2  168
#define KVM_CAP_SGX_ATTRIBUTE              196
#define KVM_CAP_EXIT_HYPERCALL             201
#define KVM_CAP_ARM_MTE                    205
#define KVM_CAP_USER_MEMORY2               231
#define KVM_CAP_MEMORY_FAULT_INFO          232
#define KVM_CAP_MEMORY_ATTRIBUTES          233
#define KVM_CAP_GUEST_MEMFD                234
#define KVM_CAP_VM_TYPES                   235
#define KVM_CAP_GUEST_MEMFD_FLAGS          244

/* ---- hypercalls (include/uapi/linux/kvm_para.h) ---- */
#define KVM_ENOSYS     1000
#define KVM_EFAULT     14     /* EFAULT */
#define KVM_EINVAL     22     /* EINVAL */
#define KVM_E2BIG      7      /* E2BIG */
#define KVM_EPERM      1      /* EPERM */
#define KVM_EOPNOTSUPP 95     /* EOPNOTSUPP */

#define KVM_HC_VAPIC_POLL_IRQ       1
#define KVM_HC_MMU_OP               2
#define KVM_HC_FEATURES             3
#define KVM_HC_PPC_MAP_MAGIC_PAGE   4
#define KVM_HC_KICK_CPU             5
#define KVM_HC_MIPS_GET_CLOCK_FREQ  6
#define KVM_HC_MIPS_EXIT_VM         7
#define KVM_HC_MIPS_CONSOLE_OUTPUT  8
#define KVM_HC_CLOCK_PAIRING        9
#define KVM_HC_SEND_IPI             10
#define KVM_HC_SCHED_YIELD          11
#define KVM_HC_MAP_GPA_RANGE        12

/* ---- layouts: must match Linux x86-64 byte for byte ---- */
_Static_assert(sizeof(struct kvm_userspace_memory_region) == 32, "kvm_userspace_memory_region");
_Static_assert(sizeof(struct kvm_userspace_memory_region2) == 160, "kvm_userspace_memory_region2");
_Static_assert(offsetof(struct kvm_userspace_memory_region2, guest_memfd_offset) == 32,
	       "region2.guest_memfd_offset");
_Static_assert(offsetof(struct kvm_userspace_memory_region2, guest_memfd) == 40, "region2.guest_memfd");
_Static_assert(sizeof(struct kvm_dirty_log) == 16, "kvm_dirty_log");
_Static_assert(offsetof(struct kvm_dirty_log, dirty_bitmap) == 8, "kvm_dirty_log.dirty_bitmap");
_Static_assert(sizeof(struct kvm_enable_cap) == 104, "kvm_enable_cap");
_Static_assert(sizeof(struct kvm_memory_attributes) == 32, "kvm_memory_attributes");
_Static_assert(sizeof(struct kvm_create_guest_memfd) == 64, "kvm_create_guest_memfd");
_Static_assert(sizeof(struct kvm_arm_copy_mte_tags) == 48, "kvm_arm_copy_mte_tags");
_Static_assert(sizeof(struct kvm_regs) == 144, "kvm_regs");
_Static_assert(sizeof(struct kvm_segment) == 24, "kvm_segment");
_Static_assert(sizeof(struct kvm_dtable) == 16, "kvm_dtable");
_Static_assert(sizeof(struct kvm_sregs) == 312, "kvm_sregs");
_Static_assert(offsetof(struct kvm_sregs, cr0) == 224, "kvm_sregs.cr0");
_Static_assert(offsetof(struct kvm_sregs, interrupt_bitmap) == 280, "kvm_sregs.interrupt_bitmap");
_Static_assert(sizeof(struct kvm_run) == 2352, "kvm_run");
_Static_assert(offsetof(struct kvm_run, exit_reason) == 8, "kvm_run.exit_reason");
_Static_assert(offsetof(struct kvm_run, cr8) == 16, "kvm_run.cr8");
_Static_assert(offsetof(struct kvm_run, mmio.phys_addr) == 32, "kvm_run.mmio");
_Static_assert(offsetof(struct kvm_run, mmio.len) == 48, "kvm_run.mmio.len");
_Static_assert(offsetof(struct kvm_run, mmio.is_write) == 52, "kvm_run.mmio.is_write");
_Static_assert(offsetof(struct kvm_run, hypercall.ret) == 88, "kvm_run.hypercall.ret");
_Static_assert(offsetof(struct kvm_run, hypercall.flags) == 96, "kvm_run.hypercall.flags");
_Static_assert(offsetof(struct kvm_run, internal.data) == 40, "kvm_run.internal.data");
_Static_assert(offsetof(struct kvm_run, memory_fault.gpa) == 40, "kvm_run.memory_fault.gpa");
_Static_assert(offsetof(struct kvm_run, kvm_valid_regs) == 288, "kvm_run.kvm_valid_regs");
_Static_assert(offsetof(struct kvm_run, s) == 304, "kvm_run.s");

#endif
