/* SPDX-License-Identifier: MIT */
/*
 * The x86 part of the KVM uAPI (what Linux keeps in <asm/kvm.h>): the
 * register structures, VM types and the vCPU fd's mmap offsets, with
 * Linux's x86-64 values and layouts. Included by <memvisor/uapi/kvm.h>,
 * after the system's <linux/kvm.h> (which brings <asm/kvm.h>) when there
 * is one; see <memvisor/uapi/system.h>.
 */
#ifndef MEMVISOR_UAPI_KVM_X86_H
#define MEMVISOR_UAPI_KVM_X86_H

#include <stddef.h>
#include <stdint.h>

#include <memvisor/uapi/system.h>

#if MV_UAPI_USE_SYSTEM_KVM
#if __has_include(<asm/kvm.h>)
#include <asm/kvm.h>
#endif
#endif

/* Every <asm/kvm.h> defines these structures; memvisor only when there is none. */
#ifndef _ASM_X86_KVM_H
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

#ifndef KVM_NR_INTERRUPTS
#define KVM_NR_INTERRUPTS 256
#endif
struct kvm_sregs {
	struct kvm_segment cs, ds, es, fs, gs, ss;
	struct kvm_segment tr, ldt;
	struct kvm_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t apic_base;
	uint64_t interrupt_bitmap[(KVM_NR_INTERRUPTS + 63) / 64];
};

/* for KVM_GET/SET_VCPU_EVENTS and the KVM_SYNC_X86_EVENTS part of kvm_run */
struct kvm_vcpu_events {
	struct {
		uint8_t injected;
		uint8_t nr;
		uint8_t has_error_code;
		uint8_t pending;
		uint32_t error_code;
	} exception;
	struct {
		uint8_t injected;
		uint8_t nr;
		uint8_t soft;
		uint8_t shadow;
	} interrupt;
	struct {
		uint8_t injected;
		uint8_t pending;
		uint8_t masked;
		uint8_t pad;
	} nmi;
	uint32_t sipi_vector;
	uint32_t flags;               /* KVM_VCPUEVENT_VALID_* */
	struct {
		uint8_t smm;
		uint8_t pending;
		uint8_t smm_inside_nmi;
		uint8_t latched_init;
	} smi;
	struct {
		uint8_t pending;
	} triple_fault;
	uint8_t reserved[26];
	uint8_t exception_has_payload;
	uint64_t exception_payload;
};

/* for KVM_GET_MSRS / KVM_SET_MSRS: a count, then that many entries */
struct kvm_msr_entry {
	uint32_t index;
	uint32_t reserved;
	uint64_t data;
};

struct kvm_msrs {
	uint32_t nmsrs;
	uint32_t pad;
	struct kvm_msr_entry entries[];
};

/* struct kvm_run's s.regs (KVM_CAP_SYNC_REGS) */
struct kvm_sync_regs {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events events;
};
#endif

/* kvm_run.kvm_valid_regs / kvm_dirty_regs */
#ifndef KVM_SYNC_X86_REGS
#define KVM_SYNC_X86_REGS   (1UL << 0)
#endif
#ifndef KVM_SYNC_X86_SREGS
#define KVM_SYNC_X86_SREGS  (1UL << 1)
#endif
#ifndef KVM_SYNC_X86_EVENTS
#define KVM_SYNC_X86_EVENTS (1UL << 2)
#endif
#ifndef KVM_SYNC_X86_VALID_FIELDS
#define KVM_SYNC_X86_VALID_FIELDS (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS)
#endif

/* kvm_vcpu_events.flags: which fields KVM_SET_VCPU_EVENTS takes */
#ifndef KVM_VCPUEVENT_VALID_NMI_PENDING
#define KVM_VCPUEVENT_VALID_NMI_PENDING  0x00000001
#endif
#ifndef KVM_VCPUEVENT_VALID_SIPI_VECTOR
#define KVM_VCPUEVENT_VALID_SIPI_VECTOR  0x00000002
#endif
#ifndef KVM_VCPUEVENT_VALID_SHADOW
#define KVM_VCPUEVENT_VALID_SHADOW       0x00000004
#endif
#ifndef KVM_VCPUEVENT_VALID_SMM
#define KVM_VCPUEVENT_VALID_SMM          0x00000008
#endif
#ifndef KVM_VCPUEVENT_VALID_PAYLOAD
#define KVM_VCPUEVENT_VALID_PAYLOAD      0x00000010
#endif
#ifndef KVM_VCPUEVENT_VALID_TRIPLE_FAULT
#define KVM_VCPUEVENT_VALID_TRIPLE_FAULT 0x00000020
#endif

/* kvm_run.flags on x86 */
#ifndef KVM_RUN_X86_SMM
#define KVM_RUN_X86_SMM        (1 << 0)
#endif
#ifndef KVM_RUN_X86_BUS_LOCK
#define KVM_RUN_X86_BUS_LOCK   (1 << 1)
#endif
#ifndef KVM_RUN_X86_GUEST_MODE
#define KVM_RUN_X86_GUEST_MODE (1 << 2)
#endif

/* VM types (the KVM_CREATE_VM argument) */
#ifndef KVM_X86_DEFAULT_VM
#define KVM_X86_DEFAULT_VM       0
#endif
#ifndef KVM_X86_SW_PROTECTED_VM
#define KVM_X86_SW_PROTECTED_VM  1
#endif
#ifndef KVM_X86_SEV_VM
#define KVM_X86_SEV_VM           2
#endif
#ifndef KVM_X86_SEV_ES_VM
#define KVM_X86_SEV_ES_VM        3
#endif
#ifndef KVM_X86_SNP_VM
#define KVM_X86_SNP_VM           4
#endif
#ifndef KVM_X86_TDX_VM
#define KVM_X86_TDX_VM           5
#endif

/*
 * The CET MSRs a VMM saves and restores (Linux keeps their numbers in
 * <asm/msr-index.h>, which is not uAPI; the values are the SDM's).
 */
#ifndef MSR_IA32_U_CET
#define MSR_IA32_U_CET       0x000006a0
#endif
#ifndef MSR_IA32_S_CET
#define MSR_IA32_S_CET       0x000006a2
#endif
#ifndef MSR_IA32_PL0_SSP
#define MSR_IA32_PL0_SSP     0x000006a4
#endif
#ifndef MSR_IA32_PL1_SSP
#define MSR_IA32_PL1_SSP     0x000006a5
#endif
#ifndef MSR_IA32_PL2_SSP
#define MSR_IA32_PL2_SSP     0x000006a6
#endif
#ifndef MSR_IA32_PL3_SSP
#define MSR_IA32_PL3_SSP     0x000006a7
#endif
#ifndef MSR_IA32_INT_SSP_TAB
#define MSR_IA32_INT_SSP_TAB 0x000006a8
#endif

/* mmap offsets of the vCPU fd, in pages */
#ifndef KVM_PIO_PAGE_OFFSET
#define KVM_PIO_PAGE_OFFSET            1
#endif
#ifndef KVM_COALESCED_MMIO_PAGE_OFFSET
#define KVM_COALESCED_MMIO_PAGE_OFFSET 2
#endif

/* KVM_EXIT_HYPERCALL flags */
#ifndef KVM_EXIT_HYPERCALL_LONG_MODE
#define KVM_EXIT_HYPERCALL_LONG_MODE (1ull << 0)
#endif

/* ---- memvisor's numbers; the system's, if it gave them, must agree ---- */
MV_UAPI_SAME(KVM_NR_INTERRUPTS, 256);
MV_UAPI_SAME(KVM_X86_DEFAULT_VM, 0);
MV_UAPI_SAME(KVM_X86_SW_PROTECTED_VM, 1);
MV_UAPI_SAME(KVM_X86_SEV_VM, 2);
MV_UAPI_SAME(KVM_X86_SEV_ES_VM, 3);
MV_UAPI_SAME(KVM_X86_SNP_VM, 4);
MV_UAPI_SAME(KVM_X86_TDX_VM, 5);
MV_UAPI_SAME(KVM_PIO_PAGE_OFFSET, 1);
MV_UAPI_SAME(MSR_IA32_U_CET, 0x6a0);
MV_UAPI_SAME(MSR_IA32_S_CET, 0x6a2);
MV_UAPI_SAME(MSR_IA32_PL0_SSP, 0x6a4);
MV_UAPI_SAME(MSR_IA32_PL3_SSP, 0x6a7);
MV_UAPI_SAME(MSR_IA32_INT_SSP_TAB, 0x6a8);
MV_UAPI_SAME(KVM_COALESCED_MMIO_PAGE_OFFSET, 2);
MV_UAPI_SAME(KVM_EXIT_HYPERCALL_LONG_MODE, 1);
MV_UAPI_SAME(KVM_SYNC_X86_REGS, 1);
MV_UAPI_SAME(KVM_SYNC_X86_SREGS, 2);
MV_UAPI_SAME(KVM_SYNC_X86_EVENTS, 4);
MV_UAPI_SAME(KVM_SYNC_X86_VALID_FIELDS, 7);
MV_UAPI_SAME(KVM_VCPUEVENT_VALID_NMI_PENDING, 1);
MV_UAPI_SAME(KVM_VCPUEVENT_VALID_SIPI_VECTOR, 2);
MV_UAPI_SAME(KVM_VCPUEVENT_VALID_SHADOW, 4);
MV_UAPI_SAME(KVM_VCPUEVENT_VALID_SMM, 8);
MV_UAPI_SAME(KVM_VCPUEVENT_VALID_PAYLOAD, 0x10);
MV_UAPI_SAME(KVM_VCPUEVENT_VALID_TRIPLE_FAULT, 0x20);
MV_UAPI_SAME(KVM_RUN_X86_SMM, 1);
MV_UAPI_SAME(KVM_RUN_X86_BUS_LOCK, 2);
MV_UAPI_SAME(KVM_RUN_X86_GUEST_MODE, 4);

MV_UAPI_ASSERT(sizeof(struct kvm_regs) == 144, "kvm_regs");
MV_UAPI_ASSERT(offsetof(struct kvm_regs, rip) == 128, "kvm_regs.rip");
MV_UAPI_ASSERT(sizeof(struct kvm_segment) == 24, "kvm_segment");
MV_UAPI_ASSERT(offsetof(struct kvm_segment, selector) == 12, "kvm_segment.selector");
MV_UAPI_ASSERT(offsetof(struct kvm_segment, unusable) == 22, "kvm_segment.unusable");
MV_UAPI_ASSERT(sizeof(struct kvm_dtable) == 16, "kvm_dtable");
MV_UAPI_ASSERT(sizeof(struct kvm_sregs) == 312, "kvm_sregs");
MV_UAPI_ASSERT(offsetof(struct kvm_sregs, gdt) == 192, "kvm_sregs.gdt");
MV_UAPI_ASSERT(offsetof(struct kvm_sregs, cr0) == 224, "kvm_sregs.cr0");
MV_UAPI_ASSERT(offsetof(struct kvm_sregs, efer) == 264, "kvm_sregs.efer");
MV_UAPI_ASSERT(offsetof(struct kvm_sregs, interrupt_bitmap) == 280, "kvm_sregs.interrupt_bitmap");
MV_UAPI_ASSERT(sizeof(struct kvm_vcpu_events) == 64, "kvm_vcpu_events");
MV_UAPI_ASSERT(offsetof(struct kvm_vcpu_events, flags) == 20, "kvm_vcpu_events.flags");
MV_UAPI_ASSERT(offsetof(struct kvm_vcpu_events, smi) == 24, "kvm_vcpu_events.smi");
MV_UAPI_ASSERT(offsetof(struct kvm_vcpu_events, exception_has_payload) == 55,
	       "kvm_vcpu_events.exception_has_payload");
MV_UAPI_ASSERT(offsetof(struct kvm_vcpu_events, exception_payload) == 56,
	       "kvm_vcpu_events.exception_payload");
MV_UAPI_ASSERT(sizeof(struct kvm_sync_regs) == 520, "kvm_sync_regs");
MV_UAPI_ASSERT(offsetof(struct kvm_sync_regs, sregs) == 144, "kvm_sync_regs.sregs");
MV_UAPI_ASSERT(offsetof(struct kvm_sync_regs, events) == 456, "kvm_sync_regs.events");

#endif
