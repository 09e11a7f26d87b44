/* SPDX-License-Identifier: MIT */
/*
 * <memvisor/guest_kernel.h>: a small x86-64 kernel that runs inside a
 * memvisor guest, and Heki (hypervisor-enforced kernel integrity, RFC v2)
 * as that kernel's side of it.
 *
 * The kernel is driven from a guest program (mv_guest_fn): every function
 * here that takes a struct guest_kernel, except guest_kernel_free() and the
 * read-only queries marked "anywhere", must be called inside the guest
 * program that booted it. It touches the machine only through the guest
 * access API of <memvisor/memvisor.h> (mv_guest_read/write/fetch,
 * mv_guest_hypercall, mv_guest_read_cr/write_cr): its page tables, its
 * image and the Heki page lists are bytes in guest memory; its own
 * bookkeeping (the page allocator, the Heki counters) is the guest
 * program's host memory, as a kernel's struct pages would be its own.
 *
 * Guest-physical layout: RAM at GPA 0, the kernel image at GPA 1 MiB
 * (text, rodata, ro_after_init, data, bss, in that order, each a whole
 * number of pages), every other page in the page allocator.
 *
 * Kernel-virtual layout (Linux x86-64's, 4-level paging):
 *   GK_PAGE_OFFSET + pa    the direct map of all RAM, RW NX (the image's
 *                          read-only sections read-only there too once
 *                          mark_rodata_ro ran);
 *   GK_KERNEL_MAP + pa     the kernel image (__START_KERNEL_map);
 *   GK_VMALLOC_START..     vmap()/vmalloc();
 *   GK_MODULES_VADDR..     modules;
 *   GK_POKING_ADDR         text_poke()'s temporary writable alias;
 *   GK_USER_PAGE           one user page (U/S), for SMEP/SMAP.
 *
 * Heki (cfg.heki): the kernel keeps, for every 4 KiB guest page, how many
 * of its kernel mappings allow read, write and execute (virt/heki/counters.c
 * in the RFC); a page's permission is the union of its mappings, and a page
 * with no mapping is READ|WRITE. At the end of boot it pins CR0.WP and
 * CR4.SMEP/SMAP/UMIP (and CET when set) with KVM_HC_LOCK_CR_UPDATE, walks
 * the direct map, builds the page list (one guest page per node chained by
 * next_pa, contiguous pages of equal permission merged into one entry,
 * IMMUTABLE on every page that is not writable: the text and the boot
 * read-only data) and hands it to KVM_HC_PROTECT_MEMORY. From then on every
 * call that changes a mapping pushes the pages whose permission changed in
 * one hypercall (pages KVM holds IMMUTABLE are left out: KVM would refuse
 * the whole list for them, and they never return to the allocator).
 * text_poke() then goes through KVM_HC_HEKI_TEXT_POKE
 * (validated by KVM against the VMM's patch sites) and a module's text is
 * authenticated with KVM_HC_HEKI_AUTH_MODULE.
 *
 * Errors are negative errnos. A hypercall's -KVM_E* answer comes back as
 * the errno of the same number (-KVM_EPERM as -EPERM, -KVM_EOPNOTSUPP as
 * -EOPNOTSUPP), -KVM_ENOSYS as -ENOSYS; a fault the guest took as -EFAULT (mv_guest_last_fault()
 * says which).
 */
#ifndef MEMVISOR_GUEST_KERNEL_H
#define MEMVISOR_GUEST_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memvisor/memvisor.h>

#define GK_PAGE_SIZE      4096ull
#define GK_PAGE_OFFSET    0xffff888000000000ull
#define GK_VMALLOC_START  0xffffc90000000000ull
#define GK_VMALLOC_END    0xffffe8ffffffffffull
#define GK_KERNEL_MAP     0xffffffff80000000ull
#define GK_MODULES_VADDR  0xffffffffa0000000ull
#define GK_MODULES_END    0xffffffffff000000ull
#define GK_POKING_ADDR    0xffffff0000000000ull
#define GK_USER_PAGE      0x400000ull
#define GK_IMAGE_PA       0x100000ull

/* Page-table entry bits (SDM vol. 3, 4-level paging) */
#define GK_PTE_P   (1ull << 0)
#define GK_PTE_RW  (1ull << 1)
#define GK_PTE_US  (1ull << 2)
#define GK_PTE_NX  (1ull << 63)
#define GK_PTE_ADDR 0x000ffffffffff000ull

/* mapping protections for guest_vmap() */
#define GK_PROT_READ  1u
#define GK_PROT_WRITE 2u
#define GK_PROT_EXEC  4u

enum guest_section {
	GK_TEXT,
	GK_RODATA,
	GK_RO_AFTER_INIT,
	GK_DATA,
	GK_BSS,
	GK_NR_SECTIONS,
};

struct guest_kernel;
struct guest_module;

struct guest_kernel_config {
	uint64_t ram_bytes;                         /* guest RAM at GPA 0; >= 4 MiB, 4 KiB multiple */
	uint32_t section_pages[GK_NR_SECTIONS];     /* 0: 16, 8, 2, 4, 4 */
	bool heki;                                  /* pin CRs and protect memory at the end of boot */
	/*
	 * Optional: boot-time code (Linux's initcalls), run with paging on,
	 * before mark_rodata_ro() and Heki's end-of-boot protection.
	 */
	void (*init)(struct guest_kernel *k, void *arg);
	void *init_arg;
};

/* The counters of one guest page: mappings that allow read, write, execute. */
struct guest_heki_counters {
	uint32_t read;
	uint32_t write;
	uint32_t execute;
};

struct guest_heki_stats {
	uint64_t hypercalls;      /* KVM_HC_PROTECT_MEMORY calls made */
	uint64_t list_pages;      /* page-list nodes (guest pages) handed over, in all */
	uint64_t entries;         /* heki_pages entries handed over, in all */
	uint64_t pages;           /* guest pages those entries covered, in all */
	uint64_t boot_entries;    /* entries of the end-of-boot list */
	uint64_t boot_pages;      /* pages it covered */
	uint64_t boot_list_pages; /* its nodes */
	long last_error;          /* the last hypercall answer that was not 0 */
};

/* A jump label of the kernel text: the 5-byte site and its two forms. */
struct guest_jump_label {
	uint64_t va;
	uint64_t pa;
	uint8_t nop[5];
	uint8_t jmp[5];
};
#define GK_NR_JUMP_LABELS 4

/**
 * guest_kernel_boot - boot the kernel in the guest program of @g
 *
 * Builds the page tables (direct map, image, user page), loads the image,
 * turns on 4-level paging with CR0.WP and CR4.SMEP/SMAP/UMIP where the
 * machine has them, runs "init" (writes ro_after_init), mark_rodata_ro()
 * and, with @cfg->heki, heki_late_init(). The image's bytes are a fixed
 * function of the offset (guest_kernel_image_byte()). 0 with *@out; -EINVAL
 * (a bad config); -ENOMEM (host memory, or guest RAM too small); -EFAULT
 * (a guest access faulted); a hypercall's answer if Heki could not start.
 * *@out holds the kernel from the moment the boot starts (NULL again on
 * failure), so that a caller whose guest program is abandoned in the middle
 * of the boot (its stack never unwinds) can still free it.
 */
MV_API MV_MUST_CHECK long guest_kernel_boot(struct mv_guest *g,
					    const struct guest_kernel_config *cfg,
					    struct guest_kernel **out);
/* Frees the kernel's host memory (anywhere; NULL is fine). */
MV_API void guest_kernel_free(struct guest_kernel *k);
/*
 * Hands the kernel to @g, a later guest program of the same vCPU (the
 * kernel lives in guest memory and the vCPU's registers; only the program
 * changed). Inside @g. 0; -EINVAL (@k or @g NULL).
 */
MV_API long guest_kernel_resume(struct guest_kernel *k, struct mv_guest *g);
/* The guest program the kernel runs in (anywhere). */
MV_API struct mv_guest *guest_kernel_guest(const struct guest_kernel *k);

/* Where section @sec is (anywhere): its kernel VA, *@pa and *@npages. 0 for a bad @sec. */
MV_API uint64_t guest_kernel_section(const struct guest_kernel *k, enum guest_section sec,
				     uint64_t *pa, uint64_t *npages);
/* The byte the loader put at @offset of section @sec (anywhere). */
MV_API uint8_t guest_kernel_image_byte(enum guest_section sec, uint64_t offset);
/* The text's jump labels (anywhere), GK_NR_JUMP_LABELS of them into @out. */
MV_API void guest_kernel_jump_labels(const struct guest_kernel *k,
				     struct guest_jump_label out[GK_NR_JUMP_LABELS]);

/* The leaf entry that maps @va into *@pte: 0; -ENOENT (no table reaches it); -EFAULT. */
MV_API long guest_kernel_get_pte(struct guest_kernel *k, uint64_t va, uint64_t *pte);
/*
 * Writes the leaf entry for @va directly, as a kernel bug or an attacker
 * would: no counters, no Heki push (heki_check_counters() catches what it
 * added if the end-of-boot walk still has to come). 0; -ENOENT; -EFAULT.
 */
MV_API long guest_kernel_poke_pte(struct guest_kernel *k, uint64_t va, uint64_t pte);

/* ---- the calls that change kernel mappings (Linux's names) ---- */
/* Allocates @npages guest pages and maps them RW NX in vmalloc space: *@va. */
MV_API long guest_vmalloc(struct guest_kernel *k, uint64_t npages, uint64_t *va);
/* Unmaps and frees what guest_vmalloc() returned at @va. */
MV_API long guest_vfree(struct guest_kernel *k, uint64_t va);
/* Maps the guest pages @pas[0..@n) in vmalloc space with GK_PROT_* @prot: *@va. */
MV_API long guest_vmap(struct guest_kernel *k, const uint64_t *pas, uint64_t n, unsigned prot,
		       uint64_t *va);
/* Unmaps what guest_vmap() returned at @va (the pages stay allocated). */
MV_API long guest_vunmap(struct guest_kernel *k, uint64_t va);
/*
 * set_memory_ro/rw/x/nx on @npages mapped pages from @va (kernel-image,
 * vmalloc, module or direct-map addresses; rounded down to a page, as
 * Linux does after its warning). 0 (also for @npages 0); -EFAULT (a page
 * no entry maps, Linux's "CPA: called for zero pte"; the pages before it
 * are changed, or a guest access faulted); with Heki, the hypercall's
 * answer.
 */
MV_API long guest_set_memory_ro(struct guest_kernel *k, uint64_t va, uint64_t npages);
MV_API long guest_set_memory_rw(struct guest_kernel *k, uint64_t va, uint64_t npages);
MV_API long guest_set_memory_x(struct guest_kernel *k, uint64_t va, uint64_t npages);
MV_API long guest_set_memory_nx(struct guest_kernel *k, uint64_t va, uint64_t npages);

/**
 * guest_text_poke - write @len bytes (1..16, within one page) at kernel text @va
 *
 * Without Heki protection (not booted with Heki), as Linux: a temporary
 * writable alias at GK_POKING_ADDR, the write, the alias gone (the counters
 * see the alias come and go). With it, KVM_HC_HEKI_TEXT_POKE: KVM writes
 * the bytes only at a patch site the VMM declared, with one of its forms.
 * 0; -EINVAL; -EFAULT; -EPERM (KVM refused); -EOPNOTSUPP (no sites declared).
 */
MV_API long guest_text_poke(struct guest_kernel *k, uint64_t va, const void *bytes, size_t len);

/**
 * guest_module_load - load a module: @text_len bytes of text, @data_pages of data
 *
 * The text goes to physically contiguous pages mapped in module space,
 * written, then set_memory_ro + set_memory_x (module_enable_ro/x); the
 * data pages are mapped RW NX. With Heki the text is then authenticated
 * (KVM_HC_HEKI_AUTH_MODULE): a module whose digest KVM does not know loads,
 * but KVM never lets it execute (guest_module_authenticated() says which).
 * 0 with *@out; -EINVAL; -ENOMEM; -EFAULT.
 */
MV_API long guest_module_load(struct guest_kernel *k, const void *text, size_t text_len,
			      uint64_t data_pages, struct guest_module **out);
/* The loaded module whose text starts at @text_va (anywhere), or NULL. */
MV_API struct guest_module *guest_module_find(const struct guest_kernel *k, uint64_t text_va);
/*
 * Unloads @mod and frees it (-EINVAL if not loaded): its mappings go, its
 * pages return to the allocator unless KVM made them IMMUTABLE.
 */
MV_API long guest_module_unload(struct guest_kernel *k, struct guest_module *mod);
/* The module's text VA (anywhere), and its first text page's GPA in *@pa if not NULL. */
MV_API uint64_t guest_module_text(const struct guest_module *mod, uint64_t *pa);
MV_API uint64_t guest_module_data(const struct guest_module *mod);
/* 1 if KVM accepted the module's digest, 0 if not, -EOPNOTSUPP without a policy or Heki. */
MV_API long guest_module_authenticated(const struct guest_module *mod);

/* ---- Heki ---- */
/* Page @pa's counters (anywhere): 0; -EINVAL (@pa beyond RAM). */
MV_API long guest_heki_counters(const struct guest_kernel *k, uint64_t pa,
				struct guest_heki_counters *out);
/* Page @pa's MEM_ATTR_* permission as the counters give it (anywhere; 0 beyond RAM). */
MV_API uint64_t guest_heki_permissions(const struct guest_kernel *k, uint64_t pa);
/* Whether the end-of-boot protection ran (anywhere). */
MV_API bool guest_heki_protected(const struct guest_kernel *k);
/* The hypercall figures so far (anywhere). */
MV_API void guest_heki_stats(const struct guest_kernel *k, struct guest_heki_stats *out);
/*
 * Builds, in guest memory, the page list for @n ranges (@pas[i], @epas[i],
 * @perms[i]), as the kernel's own list would be (nodes of
 * HEKI_PAGE_LIST_ENTRIES, chained by next_pa): its GPA in *@list_pa. For
 * tests and for the "forged page list" attack; guest_heki_free_list()
 * gives the nodes back. 0; -ENOMEM; -EFAULT.
 */
MV_API long guest_heki_build_list(struct guest_kernel *k, const uint64_t *pas,
				  const uint64_t *epas, const uint64_t *perms, uint64_t n,
				  uint64_t *list_pa);
MV_API void guest_heki_free_list(struct guest_kernel *k, uint64_t list_pa);

#endif
