/* SPDX-License-Identifier: MIT */
/*
 * The compile-time checks of <memvisor/uapi/kvm.h>, which includes this
 * header at its end: every number memvisor defines must equal Linux's
 * (and the system's <linux/kvm.h>'s, where that header came first and
 * defined it: MV_UAPI_SAME), and every structure must have Linux's x86-64
 * size and offsets byte for byte, whoever defined it (MV_UAPI_ASSERT).
 * Not meant to be included on its own.
 */
#ifndef MEMVISOR_UAPI_KVM_CHECKS_H
#define MEMVISOR_UAPI_KVM_CHECKS_H

#ifndef MEMVISOR_UAPI_KVM_H
#error "include <memvisor/uapi/kvm.h>, not <memvisor/uapi/kvm_checks.h>"
#endif

/* ---- memvisor's numbers; the system's, if it gave them, must agree ---- */
MV_UAPI_SAME(KVM_API_VERSION, 12);
MV_UAPI_SAME(KVMIO, 0xAE);
MV_UAPI_SAME(KVM_MEM_LOG_DIRTY_PAGES, 1);
MV_UAPI_SAME(KVM_MEM_READONLY, 2);
MV_UAPI_SAME(KVM_MEM_GUEST_MEMFD, 4);
MV_UAPI_SAME(KVM_MEMORY_ATTRIBUTE_PRIVATE, 8);
MV_UAPI_SAME(GUEST_MEMFD_FLAG_MMAP, 1);
MV_UAPI_SAME(GUEST_MEMFD_FLAG_INIT_SHARED, 2);
MV_UAPI_SAME(KVM_ARM_TAGS_TO_GUEST, 0);
MV_UAPI_SAME(KVM_ARM_TAGS_FROM_GUEST, 1);

MV_UAPI_SAME(KVM_EXIT_UNKNOWN, 0);
MV_UAPI_SAME(KVM_EXIT_EXCEPTION, 1);
MV_UAPI_SAME(KVM_EXIT_IO, 2);
MV_UAPI_SAME(KVM_EXIT_HYPERCALL, 3);
MV_UAPI_SAME(KVM_EXIT_DEBUG, 4);
MV_UAPI_SAME(KVM_EXIT_HLT, 5);
MV_UAPI_SAME(KVM_EXIT_MMIO, 6);
MV_UAPI_SAME(KVM_EXIT_IRQ_WINDOW_OPEN, 7);
MV_UAPI_SAME(KVM_EXIT_SHUTDOWN, 8);
MV_UAPI_SAME(KVM_EXIT_FAIL_ENTRY, 9);
MV_UAPI_SAME(KVM_EXIT_INTR, 10);
MV_UAPI_SAME(KVM_EXIT_SET_TPR, 11);
MV_UAPI_SAME(KVM_EXIT_TPR_ACCESS, 12);
MV_UAPI_SAME(KVM_EXIT_NMI, 16);
MV_UAPI_SAME(KVM_EXIT_INTERNAL_ERROR, 17);
MV_UAPI_SAME(KVM_EXIT_SYSTEM_EVENT, 24);
MV_UAPI_SAME(KVM_EXIT_X86_RDMSR, 29);
MV_UAPI_SAME(KVM_EXIT_X86_WRMSR, 30);
MV_UAPI_SAME(KVM_EXIT_DIRTY_RING_FULL, 31);
MV_UAPI_SAME(KVM_EXIT_NOTIFY, 37);
MV_UAPI_SAME(KVM_EXIT_MEMORY_FAULT, 39);
MV_UAPI_SAME(KVM_EXIT_TDX, 40);
MV_UAPI_SAME(KVM_EXIT_IO_IN, 0);
MV_UAPI_SAME(KVM_EXIT_IO_OUT, 1);
MV_UAPI_SAME(KVM_INTERNAL_ERROR_EMULATION, 1);
MV_UAPI_SAME(KVM_INTERNAL_ERROR_SIMUL_EX, 2);
MV_UAPI_SAME(KVM_INTERNAL_ERROR_DELIVERY_EV, 3);
MV_UAPI_SAME(KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON, 4);
MV_UAPI_SAME(KVM_MEMORY_EXIT_FLAG_PRIVATE, 8);
MV_UAPI_SAME(KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES, 1);
MV_UAPI_SAME(KVM_SYNC_REGS_SIZE_BYTES, 2048);

/* the ioctl numbers as x86-64 Linux encodes them */
MV_UAPI_SAME(KVM_GET_API_VERSION, 0xae00);
MV_UAPI_SAME(KVM_CREATE_VM, 0xae01);
MV_UAPI_SAME(KVM_CHECK_EXTENSION, 0xae03);
MV_UAPI_SAME(KVM_GET_VCPU_MMAP_SIZE, 0xae04);
MV_UAPI_SAME(KVM_CREATE_VCPU, 0xae41);
MV_UAPI_SAME(KVM_GET_DIRTY_LOG, 0x4010ae42);
MV_UAPI_SAME(KVM_SET_NR_MMU_PAGES, 0xae44);
MV_UAPI_SAME(KVM_GET_NR_MMU_PAGES, 0xae45);
MV_UAPI_SAME(KVM_SET_USER_MEMORY_REGION, 0x4020ae46);
MV_UAPI_SAME(KVM_SET_USER_MEMORY_REGION2, 0x40a0ae49);
MV_UAPI_SAME(KVM_ENABLE_CAP, 0x4068aea3);
MV_UAPI_SAME(KVM_ARM_MTE_COPY_TAGS, 0x8030aeb4);
MV_UAPI_SAME(KVM_SET_MEMORY_ATTRIBUTES, 0x4020aed2);
MV_UAPI_SAME(KVM_CREATE_GUEST_MEMFD, 0xc040aed4);
MV_UAPI_SAME(KVM_RUN, 0xae80);
MV_UAPI_SAME(KVM_GET_REGS, 0x8090ae81);
MV_UAPI_SAME(KVM_SET_REGS, 0x4090ae82);
MV_UAPI_SAME(KVM_GET_SREGS, 0x8138ae83);
MV_UAPI_SAME(KVM_SET_SREGS, 0x4138ae84);
/*
 * The size in these two is sizeof(struct kvm_msrs), whose flexible array
 * makes it 8 in C but 16 under g++: only C's numbers are the kernel's.
 */
#ifndef __cplusplus
MV_UAPI_SAME(KVM_GET_MSRS, 0xc008ae88);
MV_UAPI_SAME(KVM_SET_MSRS, 0x4008ae89);
#endif
MV_UAPI_SAME(KVM_GET_VCPU_EVENTS, 0x8040ae9f);
MV_UAPI_SAME(KVM_SET_VCPU_EVENTS, 0x4040aea0);
MV_UAPI_SAME(KVM_REGISTER_COALESCED_MMIO, 0x4010ae67);
MV_UAPI_SAME(KVM_UNREGISTER_COALESCED_MMIO, 0x4010ae68);

MV_UAPI_SAME(KVM_CAP_IRQCHIP, 0);
MV_UAPI_SAME(KVM_CAP_HLT, 1);
MV_UAPI_SAME(KVM_CAP_MMU_SHADOW_CACHE_CONTROL, 2);
MV_UAPI_SAME(KVM_CAP_USER_MEMORY, 3);
MV_UAPI_SAME(KVM_CAP_SET_TSS_ADDR, 4);
MV_UAPI_SAME(KVM_CAP_VAPIC, 6);
MV_UAPI_SAME(KVM_CAP_EXT_CPUID, 7);
MV_UAPI_SAME(KVM_CAP_CLOCKSOURCE, 8);
MV_UAPI_SAME(KVM_CAP_NR_VCPUS, 9);
MV_UAPI_SAME(KVM_CAP_NR_MEMSLOTS, 10);
MV_UAPI_SAME(KVM_CAP_PIT, 11);
MV_UAPI_SAME(KVM_CAP_NOP_IO_DELAY, 12);
MV_UAPI_SAME(KVM_CAP_PV_MMU, 13);
MV_UAPI_SAME(KVM_CAP_MP_STATE, 14);
MV_UAPI_SAME(KVM_CAP_COALESCED_MMIO, 15);
MV_UAPI_SAME(KVM_CAP_SYNC_MMU, 16);
MV_UAPI_SAME(KVM_CAP_DESTROY_MEMORY_REGION_WORKS, 21);
MV_UAPI_SAME(KVM_CAP_JOIN_MEMORY_REGIONS_WORKS, 30);
MV_UAPI_SAME(KVM_CAP_INTERNAL_ERROR_DATA, 40);
MV_UAPI_SAME(KVM_CAP_VCPU_EVENTS, 41);
MV_UAPI_SAME(KVM_CAP_ENABLE_CAP, 54);
MV_UAPI_SAME(KVM_CAP_SYNC_REGS, 74);
MV_UAPI_SAME(KVM_CAP_MAX_VCPUS, 66);
MV_UAPI_SAME(KVM_CAP_READONLY_MEM, 81);
MV_UAPI_SAME(KVM_CAP_ENABLE_CAP_VM, 98);
MV_UAPI_SAME(KVM_CAP_CHECK_EXTENSION_VM, 105);
MV_UAPI_SAME(KVM_CAP_MULTI_ADDRESS_SPACE, 118);
MV_UAPI_SAME(KVM_CAP_MAX_VCPU_ID, 128);
MV_UAPI_SAME(KVM_CAP_IMMEDIATE_EXIT, 136);
MV_UAPI_SAME(KVM_CAP_COALESCED_PIO, 162);
MV_UAPI_SAME(KVM_CAP_EXCEPTION_PAYLOAD, 164);
MV_UAPI_SAME(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 168);
MV_UAPI_SAME(KVM_CAP_X86_TRIPLE_FAULT_EVENT, 218);
MV_UAPI_SAME(KVM_CAP_SGX_ATTRIBUTE, 196);
MV_UAPI_SAME(KVM_CAP_EXIT_HYPERCALL, 201);
MV_UAPI_SAME(KVM_CAP_ARM_MTE, 205);
MV_UAPI_SAME(KVM_CAP_USER_MEMORY2, 231);
MV_UAPI_SAME(KVM_CAP_MEMORY_FAULT_INFO, 232);
MV_UAPI_SAME(KVM_CAP_MEMORY_ATTRIBUTES, 233);
MV_UAPI_SAME(KVM_CAP_GUEST_MEMFD, 234);
MV_UAPI_SAME(KVM_CAP_VM_TYPES, 235);
MV_UAPI_SAME(KVM_CAP_GUEST_MEMFD_FLAGS, 244);

/* ---- layouts: must match Linux x86-64 byte for byte, whoever defined them ---- */
MV_UAPI_ASSERT(sizeof(struct kvm_userspace_memory_region) == 32, "kvm_userspace_memory_region");
MV_UAPI_ASSERT(offsetof(struct kvm_userspace_memory_region, userspace_addr) == 24,
	       "kvm_userspace_memory_region.userspace_addr");
MV_UAPI_ASSERT(sizeof(struct kvm_userspace_memory_region2) == 160, "kvm_userspace_memory_region2");
MV_UAPI_ASSERT(offsetof(struct kvm_userspace_memory_region2, guest_memfd_offset) == 32,
	       "region2.guest_memfd_offset");
MV_UAPI_ASSERT(offsetof(struct kvm_userspace_memory_region2, guest_memfd) == 40,
	       "region2.guest_memfd");
MV_UAPI_ASSERT(sizeof(struct kvm_dirty_log) == 16, "kvm_dirty_log");
MV_UAPI_ASSERT(offsetof(struct kvm_dirty_log, dirty_bitmap) == 8, "kvm_dirty_log.dirty_bitmap");
MV_UAPI_ASSERT(sizeof(struct kvm_enable_cap) == 104, "kvm_enable_cap");
MV_UAPI_ASSERT(offsetof(struct kvm_enable_cap, args) == 8, "kvm_enable_cap.args");
MV_UAPI_ASSERT(sizeof(struct kvm_memory_attributes) == 32, "kvm_memory_attributes");
MV_UAPI_ASSERT(sizeof(struct kvm_create_guest_memfd) == 64, "kvm_create_guest_memfd");
MV_UAPI_ASSERT(sizeof(struct kvm_arm_copy_mte_tags) == 48, "kvm_arm_copy_mte_tags");
MV_UAPI_ASSERT(sizeof(struct kvm_coalesced_mmio_zone) == 16, "kvm_coalesced_mmio_zone");
MV_UAPI_ASSERT(offsetof(struct kvm_coalesced_mmio_zone, pio) == 12, "kvm_coalesced_mmio_zone.pio");
MV_UAPI_ASSERT(sizeof(struct kvm_coalesced_mmio) == 24, "kvm_coalesced_mmio");
MV_UAPI_ASSERT(offsetof(struct kvm_coalesced_mmio, data) == 16, "kvm_coalesced_mmio.data");
#ifndef __cplusplus   /* the system's __DECLARE_FLEX_ARRAY moves it to 16 in C++ */
MV_UAPI_ASSERT(offsetof(struct kvm_coalesced_mmio_ring, coalesced_mmio) == 8,
	       "kvm_coalesced_mmio_ring.coalesced_mmio");
#endif

/*
 * struct kvm_run: the members every version of it has. Applied to the
 * struct kvm_run in use and, when memvisor's took the name, to the
 * system's under its other tag.
 */
#define MV_UAPI_KVM_RUN_LAYOUT(tag)                                                            \
	MV_UAPI_ASSERT(sizeof(struct tag) == 2352, #tag);                                      \
	MV_UAPI_ASSERT(offsetof(struct tag, exit_reason) == 8, #tag ".exit_reason");          \
	MV_UAPI_ASSERT(offsetof(struct tag, cr8) == 16, #tag ".cr8");                          \
	MV_UAPI_ASSERT(offsetof(struct tag, io.port) == 34, #tag ".io.port");                  \
	MV_UAPI_ASSERT(offsetof(struct tag, io.data_offset) == 40, #tag ".io.data_offset");    \
	MV_UAPI_ASSERT(offsetof(struct tag, mmio.phys_addr) == 32, #tag ".mmio");              \
	MV_UAPI_ASSERT(offsetof(struct tag, mmio.len) == 48, #tag ".mmio.len");                \
	MV_UAPI_ASSERT(offsetof(struct tag, mmio.is_write) == 52, #tag ".mmio.is_write");      \
	MV_UAPI_ASSERT(offsetof(struct tag, hypercall.ret) == 88, #tag ".hypercall.ret");      \
	MV_UAPI_ASSERT(offsetof(struct tag, hypercall.longmode) == 96,                         \
		       #tag ".hypercall.longmode");                                            \
	MV_UAPI_ASSERT(offsetof(struct tag, internal.data) == 40, #tag ".internal.data");      \
	MV_UAPI_ASSERT(offsetof(struct tag, system_event.data) == 40,                          \
		       #tag ".system_event.data");                                             \
	MV_UAPI_ASSERT(offsetof(struct tag, kvm_valid_regs) == 288, #tag ".kvm_valid_regs");   \
	MV_UAPI_ASSERT(offsetof(struct tag, s) == 304, #tag ".s")
MV_UAPI_KVM_RUN_LAYOUT(kvm_run);
#if !defined(__LINUX_KVM_H) || defined(MV_UAPI_OWN_KVM_RUN)
/* members older system headers lack: only memvisor's own struct kvm_run has them all */
MV_UAPI_ASSERT(offsetof(struct kvm_run, immediate_exit__unsafe) == 1,
	       "kvm_run.immediate_exit__unsafe");
MV_UAPI_ASSERT(offsetof(struct kvm_run, hypercall.flags) == 96, "kvm_run.hypercall.flags");
MV_UAPI_ASSERT(offsetof(struct kvm_run, memory_fault.gpa) == 40, "kvm_run.memory_fault.gpa");
MV_UAPI_ASSERT(offsetof(struct kvm_run, memory_fault.size) == 48, "kvm_run.memory_fault.size");
MV_UAPI_ASSERT(offsetof(struct kvm_run, emulation_failure.flags) == 40,
	       "kvm_run.emulation_failure.flags");
MV_UAPI_ASSERT(offsetof(struct kvm_run, emulation_failure.insn_size) == 48,
	       "kvm_run.emulation_failure.insn_size");
MV_UAPI_ASSERT(offsetof(struct kvm_run, s.regs.events) == 304 + 456, "kvm_run.s.regs.events");
MV_UAPI_ASSERT(offsetof(struct kvm_run, heki_denial.gpa) == 40, "kvm_run.heki_denial.gpa");
MV_UAPI_ASSERT(offsetof(struct kvm_run, heki_configure.cr_pinned) == 40,
	       "kvm_run.heki_configure.cr_pinned");
#endif
#ifdef MV_UAPI_OWN_KVM_RUN
MV_UAPI_KVM_RUN_LAYOUT(mv_system_kvm_run);
#endif

#endif
