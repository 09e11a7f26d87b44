/* SPDX-License-Identifier: MIT */
/*
 * The KVM uAPI memvisor implements: ioctl numbers, structures, exit reasons
 * and capabilities with Linux's names, values and x86-64 layouts (every
 * structure's size and key offsets are asserted in
 * <memvisor/uapi/kvm_checks.h>, included at the end). Written for
 * memvisor from the published interface. The x86 register structures are
 * in <memvisor/uapi/kvm_x86.h>, hypercalls in <memvisor/uapi/kvm_para.h>;
 * this header includes both.
 *
 * It can be included before or after the system's <linux/kvm.h>; see
 * <memvisor/uapi/system.h>. One difference remains, struct kvm_run: with
 * memvisor's header first it is memvisor's (every exit memvisor produces,
 * including KVM_EXIT_MEMORY_FAULT on systems whose header predates it);
 * with the system's first it is the system's (every exit the system
 * knows). The layout is the same either way; only member names differ.
 *
 * Names defined here but not (yet) served answer as a kernel without them
 * does: KVM_CHECK_EXTENSION 0, the ioctl -ENOTTY (VM) or -EINVAL (vCPU).
 * docs/kvm.md lists what is implemented.
 */
#ifndef MEMVISOR_UAPI_KVM_H
#define MEMVISOR_UAPI_KVM_H

#include <stddef.h>
#include <stdint.h>

#include <memvisor/uapi/system.h>

/*
 * The system's header, when memvisor's comes first. Its struct kvm_run may
 * be older than memvisor's (Linux 6.1's has no memory_fault and no
 * hypercall.flags), so while it is read that tag is renamed to
 * mv_system_kvm_run, and memvisor's complete struct kvm_run is defined
 * below (the same device C programs use to include <asm/termbits.h> next
 * to <termios.h>). Its include guard makes any later #include of it a
 * no-op.
 */
#if MV_UAPI_USE_SYSTEM_KVM
#if __has_include(<linux/kvm.h>) && !defined(__LINUX_KVM_H)
#define kvm_run mv_system_kvm_run
#include <linux/kvm.h>
#undef kvm_run
#define MV_UAPI_OWN_KVM_RUN 1
#endif
#endif

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

#ifndef KVM_API_VERSION
#define KVM_API_VERSION 12
#endif
#ifndef KVMIO
#define KVMIO 0xAE
#endif

#include <memvisor/uapi/kvm_x86.h>
#include <memvisor/uapi/kvm_para.h>
#include <memvisor/uapi/kvm_heki.h>
#include <memvisor/uapi/kvm_snapshot.h>

/* ---- structures (x86-64 layouts) ---- */

/*
 * Every <linux/kvm.h> has these. The newer ones below come with their
 * ioctl, whose absence says the system header predates them.
 */
#ifndef __LINUX_KVM_H
struct kvm_userspace_memory_region {
	uint32_t slot;              /* bits 0-15 slot id, 16-31 address space */
	uint32_t flags;
	uint64_t guest_phys_addr;
	uint64_t memory_size;       /* bytes */
	uint64_t userspace_addr;    /* start of the VMM's mapping */
};

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

/* KVM_(UN)REGISTER_COALESCED_MMIO, and the ring at the vCPU fd's page 2 */
struct kvm_coalesced_mmio_zone {
	uint64_t addr;
	uint32_t size;
	union {
		uint32_t pad;
		uint32_t pio;
	};
};

struct kvm_coalesced_mmio {
	uint64_t phys_addr;
	uint32_t len;
	union {
		uint32_t pad;
		uint32_t pio;
	};
	uint8_t data[8];
};

struct kvm_coalesced_mmio_ring {
	uint32_t first, last;          /* the VMM consumes at first, KVM appends at last */
	struct kvm_coalesced_mmio coalesced_mmio[];
};
#endif
#ifndef KVM_COALESCED_MMIO_MAX
#define KVM_COALESCED_MMIO_MAX \
	((4096 - sizeof(struct kvm_coalesced_mmio_ring)) / sizeof(struct kvm_coalesced_mmio))
#endif

#ifndef KVM_SET_USER_MEMORY_REGION2
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
#define KVM_SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)
#endif

#ifndef KVM_SET_MEMORY_ATTRIBUTES
struct kvm_memory_attributes {
	uint64_t address;
	uint64_t size;
	uint64_t attributes;
	uint64_t flags;
};
#define KVM_SET_MEMORY_ATTRIBUTES  _IOW(KVMIO, 0xd2, struct kvm_memory_attributes)
#endif

#ifndef KVM_CREATE_GUEST_MEMFD
struct kvm_create_guest_memfd {
	uint64_t size;
	uint64_t flags;
	uint64_t reserved[6];
};
#define KVM_CREATE_GUEST_MEMFD     _IOWR(KVMIO, 0xd4, struct kvm_create_guest_memfd)
#endif

/* arm64's <asm/kvm.h> has this one; an x86 system header never does. */
struct kvm_arm_copy_mte_tags {
	uint64_t guest_ipa;
	uint64_t length;
	void *addr;
	uint64_t flags;
	uint64_t reserved[2];
};

/* memslot flags */
#ifndef KVM_MEM_LOG_DIRTY_PAGES
#define KVM_MEM_LOG_DIRTY_PAGES (1UL << 0)
#endif
#ifndef KVM_MEM_READONLY
#define KVM_MEM_READONLY        (1UL << 1)
#endif
#ifndef KVM_MEM_GUEST_MEMFD
#define KVM_MEM_GUEST_MEMFD     (1UL << 2)
#endif

#ifndef KVM_MEMORY_ATTRIBUTE_PRIVATE
#define KVM_MEMORY_ATTRIBUTE_PRIVATE (1ULL << 3)
#endif
#ifndef GUEST_MEMFD_FLAG_MMAP
#define GUEST_MEMFD_FLAG_MMAP        (1ULL << 0)
#endif
#ifndef GUEST_MEMFD_FLAG_INIT_SHARED
#define GUEST_MEMFD_FLAG_INIT_SHARED (1ULL << 1)
#endif

#ifndef KVM_ARM_TAGS_TO_GUEST
#define KVM_ARM_TAGS_TO_GUEST   0
#endif
#ifndef KVM_ARM_TAGS_FROM_GUEST
#define KVM_ARM_TAGS_FROM_GUEST 1
#endif

/* ---- exits ---- */
#ifndef KVM_EXIT_UNKNOWN
#define KVM_EXIT_UNKNOWN          0
#endif
#ifndef KVM_EXIT_EXCEPTION
#define KVM_EXIT_EXCEPTION        1
#endif
#ifndef KVM_EXIT_IO
#define KVM_EXIT_IO               2
#endif
#ifndef KVM_EXIT_HYPERCALL
#define KVM_EXIT_HYPERCALL        3
#endif
#ifndef KVM_EXIT_DEBUG
#define KVM_EXIT_DEBUG            4
#endif
#ifndef KVM_EXIT_HLT
#define KVM_EXIT_HLT              5
#endif
#ifndef KVM_EXIT_MMIO
#define KVM_EXIT_MMIO             6
#endif
#ifndef KVM_EXIT_IRQ_WINDOW_OPEN
#define KVM_EXIT_IRQ_WINDOW_OPEN  7
#endif
#ifndef KVM_EXIT_SHUTDOWN
#define KVM_EXIT_SHUTDOWN         8
#endif
#ifndef KVM_EXIT_FAIL_ENTRY
#define KVM_EXIT_FAIL_ENTRY       9
#endif
#ifndef KVM_EXIT_INTR
#define KVM_EXIT_INTR             10
#endif
#ifndef KVM_EXIT_SET_TPR
#define KVM_EXIT_SET_TPR          11
#endif
#ifndef KVM_EXIT_TPR_ACCESS
#define KVM_EXIT_TPR_ACCESS       12
#endif
#ifndef KVM_EXIT_NMI
#define KVM_EXIT_NMI              16
#endif
#ifndef KVM_EXIT_INTERNAL_ERROR
#define KVM_EXIT_INTERNAL_ERROR   17
#endif
#ifndef KVM_EXIT_SYSTEM_EVENT
#define KVM_EXIT_SYSTEM_EVENT     24
#endif
#ifndef KVM_EXIT_X86_RDMSR
#define KVM_EXIT_X86_RDMSR        29
#endif
#ifndef KVM_EXIT_X86_WRMSR
#define KVM_EXIT_X86_WRMSR        30
#endif
#ifndef KVM_EXIT_DIRTY_RING_FULL
#define KVM_EXIT_DIRTY_RING_FULL  31
#endif
#ifndef KVM_EXIT_NOTIFY
#define KVM_EXIT_NOTIFY           37
#endif
#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT     39
#endif
#ifndef KVM_EXIT_TDX
#define KVM_EXIT_TDX              40
#endif

/* KVM_EXIT_INTERNAL_ERROR suberrors */
#ifndef KVM_INTERNAL_ERROR_EMULATION
#define KVM_INTERNAL_ERROR_EMULATION              1
#endif
#ifndef KVM_INTERNAL_ERROR_SIMUL_EX
#define KVM_INTERNAL_ERROR_SIMUL_EX               2
#endif
#ifndef KVM_INTERNAL_ERROR_DELIVERY_EV
#define KVM_INTERNAL_ERROR_DELIVERY_EV            3
#endif
#ifndef KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON
#define KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON 4
#endif

/* kvm_run.emulation_failure.flags */
#ifndef KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES
#define KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES (1ULL << 0)
#endif

/* KVM_EXIT_MEMORY_FAULT flags */
#ifndef KVM_MEMORY_EXIT_FLAG_PRIVATE
#define KVM_MEMORY_EXIT_FLAG_PRIVATE (1ULL << 3)
#endif

#ifndef KVM_SYNC_REGS_SIZE_BYTES
#define KVM_SYNC_REGS_SIZE_BYTES 2048
#endif

#if !defined(__LINUX_KVM_H) || defined(MV_UAPI_OWN_KVM_RUN)
struct kvm_run {
	/* in */
	uint8_t request_interrupt_window;
	union {                         /* renamed in Linux 6.13; both names work */
		uint8_t immediate_exit__unsafe;
		uint8_t immediate_exit;
	};
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
#ifndef KVM_EXIT_IO_IN
#define KVM_EXIT_IO_IN  0
#define KVM_EXIT_IO_OUT 1
#endif
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
		struct {                /* ... with KVM_INTERNAL_ERROR_EMULATION */
			uint32_t suberror;
			uint32_t ndata;
			uint64_t flags;
			union {
				struct {
					uint8_t insn_size;
					uint8_t insn_bytes[15];
				};
			};
		} emulation_failure;
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
		/* memvisor's own (Heki); see KVM_RUN_HEKI_* for the system's struct */
		struct kvm_heki_configure_exit heki_configure;   /* KVM_EXIT_HEKI_CONFIGURE */
		struct kvm_heki_denial_exit heki_denial;         /* KVM_EXIT_HEKI_DENIAL */
		char padding[256];
	};
	uint64_t kvm_valid_regs;
	uint64_t kvm_dirty_regs;
	union {
		struct kvm_sync_regs regs;   /* KVM_CAP_SYNC_REGS */
		char padding[KVM_SYNC_REGS_SIZE_BYTES];
	} s;
};
#endif

/* ---- ioctls ---- */
/* on /dev/kvm */
#ifndef KVM_GET_API_VERSION
#define KVM_GET_API_VERSION        _IO(KVMIO, 0x00)
#endif
#ifndef KVM_CREATE_VM
#define KVM_CREATE_VM              _IO(KVMIO, 0x01)
#endif
#ifndef KVM_CHECK_EXTENSION
#define KVM_CHECK_EXTENSION        _IO(KVMIO, 0x03)   /* also on VM fds */
#endif
#ifndef KVM_GET_VCPU_MMAP_SIZE
#define KVM_GET_VCPU_MMAP_SIZE     _IO(KVMIO, 0x04)
#endif
/* on a VM fd (KVM_SET_USER_MEMORY_REGION2, KVM_SET_MEMORY_ATTRIBUTES and
 * KVM_CREATE_GUEST_MEMFD come with their structures above) */
#ifndef KVM_CREATE_VCPU
#define KVM_CREATE_VCPU            _IO(KVMIO, 0x41)
#endif
#ifndef KVM_SET_NR_MMU_PAGES
#define KVM_SET_NR_MMU_PAGES       _IO(KVMIO, 0x44)
#endif
#ifndef KVM_GET_NR_MMU_PAGES
#define KVM_GET_NR_MMU_PAGES       _IO(KVMIO, 0x45)
#endif
#ifndef KVM_GET_DIRTY_LOG
#define KVM_GET_DIRTY_LOG          _IOW(KVMIO, 0x42, struct kvm_dirty_log)
#endif
#ifndef KVM_SET_USER_MEMORY_REGION
#define KVM_SET_USER_MEMORY_REGION _IOW(KVMIO, 0x46, struct kvm_userspace_memory_region)
#endif
#ifndef KVM_REGISTER_COALESCED_MMIO
#define KVM_REGISTER_COALESCED_MMIO   _IOW(KVMIO, 0x67, struct kvm_coalesced_mmio_zone)
#endif
#ifndef KVM_UNREGISTER_COALESCED_MMIO
#define KVM_UNREGISTER_COALESCED_MMIO _IOW(KVMIO, 0x68, struct kvm_coalesced_mmio_zone)
#endif
#ifndef KVM_ARM_MTE_COPY_TAGS
#define KVM_ARM_MTE_COPY_TAGS      _IOR(KVMIO, 0xb4, struct kvm_arm_copy_mte_tags)
#endif
/* on VM and vCPU fds */
#ifndef KVM_ENABLE_CAP
#define KVM_ENABLE_CAP             _IOW(KVMIO, 0xa3, struct kvm_enable_cap)
#endif
/* on a vCPU fd */
#ifndef KVM_RUN
#define KVM_RUN                    _IO(KVMIO, 0x80)
#endif
#ifndef KVM_GET_REGS
#define KVM_GET_REGS               _IOR(KVMIO, 0x81, struct kvm_regs)
#endif
#ifndef KVM_SET_REGS
#define KVM_SET_REGS               _IOW(KVMIO, 0x82, struct kvm_regs)
#endif
#ifndef KVM_GET_SREGS
#define KVM_GET_SREGS              _IOR(KVMIO, 0x83, struct kvm_sregs)
#endif
#ifndef KVM_SET_SREGS
#define KVM_SET_SREGS              _IOW(KVMIO, 0x84, struct kvm_sregs)
#endif
#ifndef KVM_GET_MSRS
#define KVM_GET_MSRS               _IOWR(KVMIO, 0x88, struct kvm_msrs)
#endif
#ifndef KVM_SET_MSRS
#define KVM_SET_MSRS               _IOW(KVMIO, 0x89, struct kvm_msrs)
#endif
#ifndef KVM_GET_VCPU_EVENTS
#define KVM_GET_VCPU_EVENTS        _IOR(KVMIO, 0x9f, struct kvm_vcpu_events)
#endif
#ifndef KVM_SET_VCPU_EVENTS
#define KVM_SET_VCPU_EVENTS        _IOW(KVMIO, 0xa0, struct kvm_vcpu_events)
#endif

/* ---- capabilities (KVM_CHECK_EXTENSION / KVM_ENABLE_CAP) ---- */
#ifndef KVM_CAP_IRQCHIP
#define KVM_CAP_IRQCHIP                    0
#endif
#ifndef KVM_CAP_HLT
#define KVM_CAP_HLT                        1
#endif
#ifndef KVM_CAP_MMU_SHADOW_CACHE_CONTROL
#define KVM_CAP_MMU_SHADOW_CACHE_CONTROL   2
#endif
#ifndef KVM_CAP_USER_MEMORY
#define KVM_CAP_USER_MEMORY                3
#endif
#ifndef KVM_CAP_SET_TSS_ADDR
#define KVM_CAP_SET_TSS_ADDR               4
#endif
#ifndef KVM_CAP_VAPIC
#define KVM_CAP_VAPIC                      6
#endif
#ifndef KVM_CAP_EXT_CPUID
#define KVM_CAP_EXT_CPUID                  7
#endif
#ifndef KVM_CAP_CLOCKSOURCE
#define KVM_CAP_CLOCKSOURCE                8
#endif
#ifndef KVM_CAP_NR_VCPUS
#define KVM_CAP_NR_VCPUS                   9
#endif
#ifndef KVM_CAP_NR_MEMSLOTS
#define KVM_CAP_NR_MEMSLOTS                10
#endif
#ifndef KVM_CAP_PIT
#define KVM_CAP_PIT                        11
#endif
#ifndef KVM_CAP_NOP_IO_DELAY
#define KVM_CAP_NOP_IO_DELAY               12
#endif
#ifndef KVM_CAP_PV_MMU
#define KVM_CAP_PV_MMU                     13
#endif
#ifndef KVM_CAP_MP_STATE
#define KVM_CAP_MP_STATE                   14
#endif
#ifndef KVM_CAP_COALESCED_MMIO
#define KVM_CAP_COALESCED_MMIO             15
#endif
#ifndef KVM_CAP_SYNC_MMU
#define KVM_CAP_SYNC_MMU                   16
#endif
#ifndef KVM_CAP_DESTROY_MEMORY_REGION_WORKS
#define KVM_CAP_DESTROY_MEMORY_REGION_WORKS 21
#endif
#ifndef KVM_CAP_JOIN_MEMORY_REGIONS_WORKS
#define KVM_CAP_JOIN_MEMORY_REGIONS_WORKS  30
#endif
#ifndef KVM_CAP_INTERNAL_ERROR_DATA
#define KVM_CAP_INTERNAL_ERROR_DATA        40
#endif
#ifndef KVM_CAP_VCPU_EVENTS
#define KVM_CAP_VCPU_EVENTS                41
#endif
#ifndef KVM_CAP_ENABLE_CAP
#define KVM_CAP_ENABLE_CAP                 54
#endif
#ifndef KVM_CAP_MAX_VCPUS
#define KVM_CAP_MAX_VCPUS                  66
#endif
#ifndef KVM_CAP_SYNC_REGS
#define KVM_CAP_SYNC_REGS                  74
#endif
#ifndef KVM_CAP_READONLY_MEM
#define KVM_CAP_READONLY_MEM               81
#endif
#ifndef KVM_CAP_ENABLE_CAP_VM
#define KVM_CAP_ENABLE_CAP_VM              98
#endif
#ifndef KVM_CAP_CHECK_EXTENSION_VM
#define KVM_CAP_CHECK_EXTENSION_VM         105
#endif
#ifndef KVM_CAP_MULTI_ADDRESS_SPACE
#define KVM_CAP_MULTI_ADDRESS_SPACE        118
#endif
#ifndef KVM_CAP_MAX_VCPU_ID
#define KVM_CAP_MAX_VCPU_ID                128
#endif
#ifndef KVM_CAP_IMMEDIATE_EXIT
#define KVM_CAP_IMMEDIATE_EXIT             136
#endif
#ifndef KVM_CAP_COALESCED_PIO
#define KVM_CAP_COALESCED_PIO              162
#endif
#ifndef KVM_CAP_EXCEPTION_PAYLOAD
#define KVM_CAP_EXCEPTION_PAYLOAD          164
#endif
#ifndef KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2
#define KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2  168
#endif
#ifndef KVM_CAP_SGX_ATTRIBUTE
#define KVM_CAP_SGX_ATTRIBUTE              196
#endif
#ifndef KVM_CAP_EXIT_HYPERCALL
#define KVM_CAP_EXIT_HYPERCALL             201
#endif
#ifndef KVM_CAP_ARM_MTE
#define KVM_CAP_ARM_MTE                    205
#endif
#ifndef KVM_CAP_X86_TRIPLE_FAULT_EVENT
#define KVM_CAP_X86_TRIPLE_FAULT_EVENT     218
#endif
#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2               231
#endif
#ifndef KVM_CAP_MEMORY_FAULT_INFO
#define KVM_CAP_MEMORY_FAULT_INFO          232
#endif
#ifndef KVM_CAP_MEMORY_ATTRIBUTES
#define KVM_CAP_MEMORY_ATTRIBUTES          233
#endif
#ifndef KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD                234
#endif
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES                   235
#endif
#ifndef KVM_CAP_GUEST_MEMFD_FLAGS
#define KVM_CAP_GUEST_MEMFD_FLAGS          244
#endif

/* Every number and layout above, checked against Linux's (and the system's). */
#include <memvisor/uapi/kvm_checks.h>

#endif
