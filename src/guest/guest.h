/* SPDX-License-Identifier: MIT */
/*
 * The guest kernel's insides (<memvisor/guest_kernel.h> is its face). One
 * struct guest_kernel per booted kernel; it belongs to the guest program
 * that booted it and is only touched from there (no locks: a guest
 * program is one vCPU's code), except for the read-only queries.
 *
 * Files: boot.c (layout, page allocator, boot, mark_rodata_ro), pgtable.c
 * (4-level tables in guest memory, the one place a leaf entry changes),
 * vmalloc.c (vmap/vmalloc and set_memory_*), text_poke.c, module.c,
 * heki.c (counters, the page list, the hypercalls).
 */
#ifndef MV_GUEST_GUEST_H
#define MV_GUEST_GUEST_H

#include <stdlib.h>

#include <memvisor/guest_kernel.h>
#include <memvisor/uapi/kvm.h>

/*
 * The kernel's bookkeeping is guest software's memory, not the simulated
 * host kernel's: like the VMM's (src/vmm), it comes from the C heap and
 * the fail-nth injection of src/lib/alloc.h (which models the host
 * kernel running out) does not reach it.
 */
static inline void *gk_zalloc(size_t size)
{
	return calloc(1, size ? size : 1);
}

static inline void *gk_calloc(size_t n, size_t size)
{
	return calloc(n ? n : 1, size ? size : 1);
}

#define GK_PG_USED      (1u << 0)   /* allocated (image, tables, vmalloc, lists) */
#define GK_PG_IMMUTABLE (1u << 1)   /* KVM holds it IMMUTABLE: never pushed again */
#define GK_PG_RESERVED  (1u << 2)   /* never allocatable (page 0) */

/* What the kernel knows of one guest page (Linux: struct page + heki's mem_table). */
struct gk_page {
	uint32_t read;
	uint32_t write;
	uint32_t execute;
	uint32_t flags;
};

/* A vmalloc-space area: vmap()/vmalloc() or a module's part. */
struct gk_area {
	uint64_t va;
	uint64_t n;
	uint64_t *pas;
	bool owns_pages;            /* vmalloc(): vfree() frees the pages */
	struct gk_area *next;
};

/* The pages whose permission an operation changed, merged as they come (heki_args). */
struct gk_heki_batch {
	struct heki_pages *v;
	uint64_t n;
	uint64_t cap;
};

struct guest_module {
	uint64_t text_va;
	uint64_t text_pa;
	uint64_t text_pages;
	uint64_t data_va;
	struct gk_area *text_area;
	struct gk_area *data_area;
	long authenticated;         /* 1, 0, -EOPNOTSUPP */
	struct guest_module *next;  /* the kernel's list of loaded modules */
};

struct guest_kernel {
	struct mv_guest *g;
	struct guest_kernel_config cfg;
	uint64_t npages;            /* RAM pages */
	struct gk_page *pages;
	uint64_t alloc_hint;
	uint64_t pml4_pa;
	bool paging;                /* page tables live: reach RAM through the direct map */
	uint64_t sec_pa[GK_NR_SECTIONS];
	uint64_t sec_pages[GK_NR_SECTIONS];
	uint64_t vmalloc_next;
	uint64_t modules_next;
	struct gk_area *areas;
	struct guest_module *modules;
	/* Heki */
	bool heki_protect;          /* end-of-boot protection done: push every change */
	struct gk_heki_batch batch;
	struct guest_heki_stats stats;
};

/* boot.c: guest-physical memory and the page allocator */
long gk_phys_read(struct guest_kernel *k, uint64_t pa, void *buf, size_t len);
long gk_phys_write(struct guest_kernel *k, uint64_t pa, const void *buf, size_t len);
long gk_alloc_pages(struct guest_kernel *k, uint64_t n, uint64_t *pa);   /* contiguous, zeroed */
void gk_free_pages(struct guest_kernel *k, uint64_t pa, uint64_t n);
static inline bool gk_pa_valid(const struct guest_kernel *k, uint64_t pa)
{
	return pa / GK_PAGE_SIZE < k->npages;
}

/* pgtable.c */
long gk_pte_slot(struct guest_kernel *k, uint64_t va, bool alloc, uint64_t *slot_pa);
long gk_set_pte(struct guest_kernel *k, uint64_t va, uint64_t pte);      /* counted */
long gk_map_page(struct guest_kernel *k, uint64_t va, uint64_t pa, uint64_t flags);
long gk_unmap_page(struct guest_kernel *k, uint64_t va);
long gk_map_direct(struct guest_kernel *k);
long gk_flush_tlb(struct guest_kernel *k);                              /* the whole direct map */
uint64_t gk_pte_flags(unsigned prot);
uint64_t gk_pte_perm(uint64_t pte);                                      /* MEM_ATTR_R/W/X */
typedef long (*gk_leaf_fn)(struct guest_kernel *k, uint64_t va, uint64_t pte, void *arg);
long gk_walk_leaves(struct guest_kernel *k, uint64_t start, uint64_t end, gk_leaf_fn fn,
		    void *arg);

/* vmalloc.c */
long gk_change_page_attr(struct guest_kernel *k, uint64_t va, uint64_t npages, uint64_t set,
			 uint64_t clear);
long gk_area_add(struct guest_kernel *k, uint64_t *next, uint64_t end, const uint64_t *pas,
		 uint64_t n, uint64_t flags, bool owns, struct gk_area **out);
long gk_area_remove(struct guest_kernel *k, struct gk_area *a);
struct gk_area *gk_area_find(struct guest_kernel *k, uint64_t va);

/* heki.c */
void gk_heki_pte_changed(struct guest_kernel *k, uint64_t va, uint64_t old, uint64_t new_pte);
long gk_heki_apply(struct guest_kernel *k);    /* push the batch: 0 or -errno */
long gk_heki_late_init(struct guest_kernel *k);
long gk_heki_errno(long kvm_ret);

/* text_poke.c: the jump-label sites of the image */
uint64_t gk_jump_label_offset(unsigned i);

#endif
