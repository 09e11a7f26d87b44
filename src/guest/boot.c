/* SPDX-License-Identifier: MIT */
/*
 * The guest kernel's boot: the physical layout (image at 1 MiB, a page
 * allocator over the rest of RAM), the page tables (direct map, image,
 * one user page), paging on, "init" (and the config's init hook),
 * mark_rodata_ro() and, with Heki, heki_late_init(). Guest memory is reached by guest-physical address
 * until paging is on, then through the direct map, as a kernel would.
 */
#include <errno.h>
#include <string.h>

#include "guest/guest.h"

#define GK_CR0_PE   (1ull << 0)
#define GK_CR0_WP   (1ull << 16)
#define GK_CR0_PG   (1ull << 31)
#define GK_CR4_PAE  (1ull << 5)
#define GK_CR4_UMIP (1ull << 11)
#define GK_CR4_SMEP (1ull << 20)
#define GK_CR4_SMAP (1ull << 21)

static const uint32_t gk_default_pages[GK_NR_SECTIONS] = { 16, 8, 2, 4, 4 };

/* ---- guest-physical memory ---- */

static uint64_t gk_phys_va(const struct guest_kernel *k, uint64_t pa)
{
	return k->paging ? GK_PAGE_OFFSET + pa : pa;
}

long gk_phys_read(struct guest_kernel *k, uint64_t pa, void *buf, size_t len)
{
	return mv_guest_read(k->g, gk_phys_va(k, pa), buf, len);
}

long gk_phys_write(struct guest_kernel *k, uint64_t pa, const void *buf, size_t len)
{
	return mv_guest_write(k->g, gk_phys_va(k, pa), buf, len);
}

/* ---- the page allocator (alloc_pages with a next-fit hint) ---- */

static bool gk_range_free(const struct guest_kernel *k, uint64_t first, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		if (k->pages[first + i].flags & (GK_PG_USED | GK_PG_RESERVED))
			return false;
	}
	return true;
}

/* @n contiguous zeroed pages: their first GPA in *@pa. 0; -ENOMEM; -EFAULT. */
long gk_alloc_pages(struct guest_kernel *k, uint64_t n, uint64_t *pa)
{
	static const uint8_t zero[GK_PAGE_SIZE];
	uint64_t first = k->alloc_hint;

	if (!n || n > k->npages)
		return -ENOMEM;
	for (uint64_t tries = 0; tries < k->npages; tries++, first++) {
		if (first + n > k->npages)
			first = 0;
		if (!gk_range_free(k, first, n))
			continue;
		for (uint64_t i = 0; i < n; i++) {
			long r = gk_phys_write(k, (first + i) * GK_PAGE_SIZE, zero, sizeof(zero));

			if (r)
				return r;
			k->pages[first + i].flags |= GK_PG_USED;
		}
		k->alloc_hint = first + n;
		*pa = first * GK_PAGE_SIZE;
		return 0;
	}
	return -ENOMEM;
}

/* Pages KVM holds IMMUTABLE never come back: nothing could reuse them. */
void gk_free_pages(struct guest_kernel *k, uint64_t pa, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		struct gk_page *p = &k->pages[pa / GK_PAGE_SIZE + i];

		if (!(p->flags & GK_PG_IMMUTABLE))
			p->flags &= ~GK_PG_USED;
	}
}

/* ---- the image ---- */

MV_API uint8_t guest_kernel_image_byte(enum guest_section sec, uint64_t offset)
{
	static const uint8_t nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };

	if (sec == GK_TEXT) {
		for (unsigned i = 0; i < GK_NR_JUMP_LABELS; i++) {
			uint64_t at = gk_jump_label_offset(i);

			if (offset >= at && offset < at + 5)
				return nop5[offset - at];
		}
		return offset % 16 == 15 ? 0xc3 : 0x90;       /* nops and rets */
	}
	return (uint8_t)(offset * 31 + (uint64_t)sec * 101 + 7);
}

static long gk_load_image(struct guest_kernel *k)
{
	uint8_t *buf = malloc(GK_PAGE_SIZE);
	long r = 0;

	if (!buf)
		return -ENOMEM;
	for (int s = 0; s < GK_BSS && !r; s++) {
		for (uint64_t p = 0; p < k->sec_pages[s] && !r; p++) {
			for (uint64_t i = 0; i < GK_PAGE_SIZE; i++)
				buf[i] = guest_kernel_image_byte(s, p * GK_PAGE_SIZE + i);
			r = gk_phys_write(k, k->sec_pa[s] + p * GK_PAGE_SIZE, buf, GK_PAGE_SIZE);
		}
	}
	free(buf);
	return r;
}

/* __START_KERNEL_map: text RX, rodata R, the rest RW (ro_after_init until mark_rodata_ro). */
static long gk_map_image(struct guest_kernel *k)
{
	static const uint64_t flags[GK_NR_SECTIONS] = {
		[GK_TEXT] = GK_PTE_P,
		[GK_RODATA] = GK_PTE_P | GK_PTE_NX,
		[GK_RO_AFTER_INIT] = GK_PTE_P | GK_PTE_RW | GK_PTE_NX,
		[GK_DATA] = GK_PTE_P | GK_PTE_RW | GK_PTE_NX,
		[GK_BSS] = GK_PTE_P | GK_PTE_RW | GK_PTE_NX,
	};

	for (int s = 0; s < GK_NR_SECTIONS; s++) {
		for (uint64_t p = 0; p < k->sec_pages[s]; p++) {
			uint64_t pa = k->sec_pa[s] + p * GK_PAGE_SIZE;
			long r = gk_map_page(k, GK_KERNEL_MAP + pa, pa, flags[s]);

			if (r)
				return r;
		}
	}
	return 0;
}

/* CR4.PAE, CR3, CR0.PG|WP; then SMEP, SMAP, UMIP one by one where the CPU takes them. */
static long gk_enable_paging(struct guest_kernel *k)
{
	static const uint64_t extra[] = { GK_CR4_SMEP, GK_CR4_SMAP, GK_CR4_UMIP };
	uint64_t cr4 = GK_CR4_PAE;
	long r;

	r = mv_guest_write_cr(k->g, 4, cr4);
	r = r ? r : mv_guest_write_cr(k->g, 3, k->pml4_pa);
	r = r ? r : mv_guest_write_cr(k->g, 0, GK_CR0_PE | GK_CR0_WP | GK_CR0_PG);
	if (r)
		return r;
	k->paging = true;
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		if (!mv_guest_write_cr(k->g, 4, cr4 | extra[i]))
			cr4 |= extra[i];
	}
	return 0;
}

/* mark_rodata_ro(): ro_after_init read-only, and the direct-map aliases of the read-only part. */
static long gk_mark_rodata_ro(struct guest_kernel *k)
{
	uint64_t ro_pages = k->sec_pages[GK_TEXT] + k->sec_pages[GK_RODATA] +
			    k->sec_pages[GK_RO_AFTER_INIT];
	long r;

	r = guest_set_memory_ro(k, GK_KERNEL_MAP + k->sec_pa[GK_RO_AFTER_INIT],
				k->sec_pages[GK_RO_AFTER_INIT]);
	return r ? r : guest_set_memory_ro(k, GK_PAGE_OFFSET + k->sec_pa[GK_TEXT], ro_pages);
}

static long gk_setup(struct guest_kernel *k, const struct guest_kernel_config *cfg)
{
	uint64_t pa = GK_IMAGE_PA, image = 0;

	k->cfg = *cfg;
	for (int s = 0; s < GK_NR_SECTIONS; s++) {
		k->sec_pages[s] = cfg->section_pages[s] ? cfg->section_pages[s] : gk_default_pages[s];
		image += k->sec_pages[s];
	}
	if (cfg->ram_bytes < (4ull << 20) || cfg->ram_bytes % GK_PAGE_SIZE ||
	    cfg->ram_bytes > (1ull << 40) || k->sec_pages[GK_TEXT] < 4 ||
	    GK_IMAGE_PA + (image + 64) * GK_PAGE_SIZE > cfg->ram_bytes)
		return -EINVAL;
	k->npages = cfg->ram_bytes / GK_PAGE_SIZE;
	k->pages = gk_calloc(k->npages, sizeof(*k->pages));
	if (!k->pages)
		return -ENOMEM;
	k->pages[0].flags = GK_PG_RESERVED;
	for (int s = 0; s < GK_NR_SECTIONS; s++) {
		k->sec_pa[s] = pa;
		for (uint64_t p = 0; p < k->sec_pages[s]; p++)
			k->pages[pa / GK_PAGE_SIZE + p].flags |= GK_PG_USED;
		pa += k->sec_pages[s] * GK_PAGE_SIZE;
	}
	k->alloc_hint = pa / GK_PAGE_SIZE;
	k->vmalloc_next = GK_VMALLOC_START;
	k->modules_next = GK_MODULES_VADDR;
	return 0;
}

static long gk_boot(struct guest_kernel *k)
{
	uint64_t user_pa;
	long r;

	r = gk_alloc_pages(k, 1, &k->pml4_pa);
	r = r ? r : gk_map_direct(k);
	r = r ? r : gk_load_image(k);
	r = r ? r : gk_map_image(k);
	r = r ? r : gk_alloc_pages(k, 1, &user_pa);
	r = r ? r : gk_map_page(k, GK_USER_PAGE, user_pa, GK_PTE_P | GK_PTE_RW | GK_PTE_US);
	r = r ? r : gk_enable_paging(k);
	if (r)
		return r;
	/* init: the one time ro_after_init is written */
	{
		uint8_t b = guest_kernel_image_byte(GK_RO_AFTER_INIT, 0);

		r = mv_guest_write(k->g, GK_KERNEL_MAP + k->sec_pa[GK_RO_AFTER_INIT], &b, 1);
	}
	if (!r && k->cfg.init)
		k->cfg.init(k, k->cfg.init_arg);
	r = r ? r : gk_mark_rodata_ro(k);
	if (!r && k->cfg.heki)
		r = gk_heki_late_init(k);
	return r;
}

MV_API long guest_kernel_boot(struct mv_guest *g, const struct guest_kernel_config *cfg,
			      struct guest_kernel **out)
{
	struct guest_kernel *k;
	long r;

	if (!g || !cfg || !out)
		return -EINVAL;
	k = gk_zalloc(sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->g = g;
	/*
	 * The caller holds the kernel from the start: a guest program can be
	 * abandoned in the middle of the boot (a KVM_RUN that exits for MMIO
	 * and is never run again), and its stack never unwinds, so only the
	 * owner can free what the boot allocated so far.
	 */
	*out = k;
	r = gk_setup(k, cfg);
	r = r ? r : gk_boot(k);
	if (r) {
		*out = NULL;
		guest_kernel_free(k);
	}
	return r;
}

MV_API void guest_kernel_free(struct guest_kernel *k)
{
	if (!k)
		return;
	while (k->areas) {
		struct gk_area *a = k->areas;

		k->areas = a->next;
		free(a->pas);
		free(a);
	}
	while (k->modules) {
		struct guest_module *m = k->modules;

		k->modules = m->next;
		free(m);
	}
	free(k->batch.v);
	free(k->pages);
	free(k);
}

MV_API long guest_kernel_resume(struct guest_kernel *k, struct mv_guest *g)
{
	if (!k || !g)
		return -EINVAL;
	k->g = g;
	return 0;
}

MV_API struct mv_guest *guest_kernel_guest(const struct guest_kernel *k)
{
	return k ? k->g : NULL;
}

MV_API uint64_t guest_kernel_section(const struct guest_kernel *k, enum guest_section sec,
				     uint64_t *pa, uint64_t *npages)
{
	if (!k || (unsigned)sec >= GK_NR_SECTIONS)
		return 0;
	if (pa)
		*pa = k->sec_pa[sec];
	if (npages)
		*npages = k->sec_pages[sec];
	return GK_KERNEL_MAP + k->sec_pa[sec];
}
