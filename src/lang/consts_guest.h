/* SPDX-License-Identifier: MIT */
/*
 * Constant names of Heki and the guest kernel for consts.c's table (the
 * uAPI's Heki numbers, guarded like consts_kvm.h's; the guest kernel's
 * fixed layout and page-table bits). Included inside the table initialiser.
 */
#ifdef KVM_HC_HEKI_TEXT_POKE
	LC(KVM_HC_HEKI_TEXT_POKE),
	LC(KVM_HC_HEKI_AUTH_MODULE),
#endif
#ifdef KVM_CAP_HEKI_CONFIGURE
	LC(KVM_CAP_HEKI_CONFIGURE),
	LC(KVM_CAP_HEKI_DENIAL),
	LC(KVM_CAP_HEKI_POLICY),
	LC(KVM_EXIT_HEKI_CONFIGURE),
	LC(KVM_EXIT_HEKI_DENIAL),
	LC(KVM_HEKI_EXIT_REASON_CR0),
	LC(KVM_HEKI_EXIT_REASON_CR4),
	LC(KVM_HEKI_EXIT_REASON_MEM),
#endif
#ifdef MEM_ATTR_READ
	LC(MEM_ATTR_READ),
	LC(MEM_ATTR_WRITE),
	LC(MEM_ATTR_EXEC),
	LC(MEM_ATTR_IMMUTABLE),
	LC(KVM_LOCK_CR_UPDATE_VERSION),
#endif
	LC(GK_PAGE_OFFSET),
	LC(GK_VMALLOC_START),
	LC(GK_KERNEL_MAP),
	LC(GK_MODULES_VADDR),
	LC(GK_POKING_ADDR),
	LC(GK_USER_PAGE),
	LC(GK_IMAGE_PA),
	LC(GK_PTE_P),
	LC(GK_PTE_RW),
	LC(GK_PTE_US),
	LC(GK_PTE_NX),
	LC(GK_PROT_READ),
	LC(GK_PROT_WRITE),
	LC(GK_PROT_EXEC),
