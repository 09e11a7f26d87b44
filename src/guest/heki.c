/* SPDX-License-Identifier: MIT */
/*
 * Heki, the guest kernel's side (RFC v2: virt/heki/counters.c, main.c,
 * arch/x86/mm/heki.c). Per guest page, how many kernel mappings allow
 * read, write and execute; the page's permission is their union, READ|WRITE
 * with no mapping (heki_permissions). At the end of boot the CR pins
 * (kvm_lock_crs) and one walk of the direct map that builds the page list
 * and protects everything (heki_protect); afterwards each operation's
 * changes go to KVM in one list (heki_apply_permissions).
 *
 * Unlike the RFC, the kernel remembers which pages KVM holds IMMUTABLE and
 * leaves them out of later lists: KVM would refuse the whole list
 * (-KVM_EPERM) for one of them and the other pages' changes would be lost.
 */
#include <errno.h>
#include <string.h>

#include "guest/guest.h"

#define GK_CR0_WP   (1ull << 16)
#define GK_CR4_UMIP (1ull << 11)
#define GK_CR4_SMEP (1ull << 20)
#define GK_CR4_SMAP (1ull << 21)
#define GK_CR4_CET  (1ull << 23)

/* heki_permissions(): the union of the mappings; none is the default READ|WRITE. */
static uint64_t gk_heki_perm(const struct gk_page *p)
{
	uint64_t perm = (p->read ? MEM_ATTR_READ : 0) | (p->write ? MEM_ATTR_WRITE : 0) |
			(p->execute ? MEM_ATTR_EXEC : 0);

	return perm ? perm : MEM_ATTR_READ | MEM_ATTR_WRITE;
}

static void gk_heki_count(struct gk_page *p, uint64_t perm, bool add)
{
	uint32_t *c[3] = { &p->read, &p->write, &p->execute };
	static const uint64_t bit[3] = { MEM_ATTR_READ, MEM_ATTR_WRITE, MEM_ATTR_EXEC };

	for (int i = 0; i < 3; i++) {
		if (!(perm & bit[i]))
			continue;
		if (add)
			(*c[i])++;
		else if (*c[i])
			(*c[i])--;
	}
}

/* heki_add_pa(): the page joins the batch, merged with the last entry when contiguous and equal. */
static void gk_heki_add_pa(struct guest_kernel *k, uint64_t pa, uint64_t perm)
{
	struct gk_heki_batch *b = &k->batch;
	struct heki_pages *last = b->n ? &b->v[b->n - 1] : NULL;

	if (k->pages[pa / GK_PAGE_SIZE].flags & GK_PG_IMMUTABLE)
		return;
	if (last && last->epa == pa && last->permissions == perm) {
		last->epa += GK_PAGE_SIZE;
		return;
	}
	if (b->n == b->cap) {
		uint64_t cap = b->cap ? 2 * b->cap : 64;
		struct heki_pages *v = realloc(b->v, cap * sizeof(*v));

		if (!v) {
			k->stats.last_error = -ENOMEM;
			return;
		}
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = (struct heki_pages){ .pa = pa, .epa = pa + GK_PAGE_SIZE, .permissions = perm };
}

static struct gk_page *gk_heki_page(struct guest_kernel *k, uint64_t pte)
{
	uint64_t pa = pte & GK_PTE_ADDR;

	return (pte & GK_PTE_P) && gk_pa_valid(k, pa) ? &k->pages[pa / GK_PAGE_SIZE] : NULL;
}

/* One leaf entry of the kernel half went from @old to @new_pte: heki_map/update/unmap. */
void gk_heki_pte_changed(struct guest_kernel *k, uint64_t va, uint64_t old, uint64_t new_pte)
{
	struct gk_page *po = gk_heki_page(k, old), *pn = gk_heki_page(k, new_pte);
	uint64_t was_o = po ? gk_heki_perm(po) : 0, was_n = pn ? gk_heki_perm(pn) : 0;

	if (va < (1ull << 47))
		return;                 /* user mappings are not the kernel's to protect */
	if (po)
		gk_heki_count(po, gk_pte_perm(old), false);
	if (pn)
		gk_heki_count(pn, gk_pte_perm(new_pte), true);
	if (!k->heki_protect)
		return;
	if (po && gk_heki_perm(po) != was_o)
		gk_heki_add_pa(k, (uint64_t)(po - k->pages) * GK_PAGE_SIZE, gk_heki_perm(po));
	if (pn && pn != po && gk_heki_perm(pn) != was_n)
		gk_heki_add_pa(k, (uint64_t)(pn - k->pages) * GK_PAGE_SIZE, gk_heki_perm(pn));
}

long gk_heki_errno(long kvm_ret)
{
	if (kvm_ret >= 0)
		return 0;
	return kvm_ret == -KVM_ENOSYS ? -ENOSYS : kvm_ret;    /* the other KVM_E* are errno values */
}

/* Writes @n entries as a chain of one-page nodes: the first node's GPA in *@list_pa. */
static long gk_heki_write_list(struct guest_kernel *k, const struct heki_pages *v, uint64_t n,
			       uint64_t *list_pa, uint64_t *nodes)
{
	uint64_t per = HEKI_PAGE_LIST_ENTRIES, count = (n + per - 1) / per;
	uint64_t *pas = gk_calloc(count ? count : 1, sizeof(*pas));
	struct heki_page_list *node = gk_zalloc(GK_PAGE_SIZE);
	long r = pas && node ? 0 : -ENOMEM;

	for (uint64_t i = 0; i < count && !r; i++)
		r = gk_alloc_pages(k, 1, &pas[i]);
	for (uint64_t i = 0; i < count && !r; i++) {
		uint64_t m = n - i * per < per ? n - i * per : per;

		memset(node, 0, GK_PAGE_SIZE);
		node->next_pa = i + 1 < count ? pas[i + 1] : 0;
		node->next = node->next_pa ? GK_PAGE_OFFSET + node->next_pa : 0;
		node->npages = m;
		memcpy(node->pages, v + i * per, m * sizeof(*v));
		r = gk_phys_write(k, pas[i], node, GK_PAGE_SIZE);
	}
	if (r) {
		for (uint64_t i = 0; pas && i < count; i++) {
			if (pas[i])
				gk_free_pages(k, pas[i], 1);
		}
	} else {
		*list_pa = count ? pas[0] : 0;
		*nodes = count;
	}
	free(node);
	free(pas);
	return r;
}

MV_API void guest_heki_free_list(struct guest_kernel *k, uint64_t list_pa)
{
	while (k && list_pa && gk_pa_valid(k, list_pa)) {
		uint64_t next = 0;

		if (gk_phys_read(k, list_pa + 8, &next, sizeof(next)))
			next = 0;
		gk_free_pages(k, list_pa, 1);
		list_pa = next;
	}
}

/* heki_apply_permissions(): the batch to KVM in one KVM_HC_PROTECT_MEMORY. */
long gk_heki_apply(struct guest_kernel *k)
{
	struct gk_heki_batch *b = &k->batch;
	uint64_t list_pa = 0, nodes = 0;
	long r, ret;

	if (!b->n)
		return 0;
	r = gk_heki_write_list(k, b->v, b->n, &list_pa, &nodes);
	if (r) {
		b->n = 0;
		return k->stats.last_error = r;
	}
	ret = mv_guest_hypercall(k->g, KVM_HC_PROTECT_MEMORY, list_pa, 0, 0, 0);
	k->stats.hypercalls++;
	k->stats.list_pages += nodes;
	k->stats.entries += b->n;
	for (uint64_t i = 0; i < b->n; i++) {
		k->stats.pages += (b->v[i].epa - b->v[i].pa) / GK_PAGE_SIZE;
		if (ret || !(b->v[i].permissions & MEM_ATTR_IMMUTABLE))
			continue;
		for (uint64_t pa = b->v[i].pa; pa < b->v[i].epa; pa += GK_PAGE_SIZE)
			k->pages[pa / GK_PAGE_SIZE].flags |= GK_PG_IMMUTABLE;
	}
	guest_heki_free_list(k, list_pa);
	b->n = 0;
	if (ret)
		k->stats.last_error = ret;
	return gk_heki_errno(ret);
}

/*
 * heki_check_counters() and the HEKI_PROTECT_MEMORY case of heki_callback():
 * a permission the entry has but no counter shows (added behind the
 * kernel's back) is counted now; every page is listed, IMMUTABLE unless
 * writable.
 */
static long gk_heki_protect_page(struct guest_kernel *k, uint64_t va, uint64_t pte, void *arg)
{
	struct gk_page *p = gk_heki_page(k, pte);
	uint64_t perm = gk_pte_perm(pte), want;

	(void)va;
	(void)arg;
	if (!p)
		return 0;
	if ((perm & MEM_ATTR_READ) && !p->read)
		p->read++;
	if ((perm & MEM_ATTR_WRITE) && !p->write)
		p->write++;
	if ((perm & MEM_ATTR_EXEC) && !p->execute)
		p->execute++;
	want = gk_heki_perm(p) | MEM_ATTR_IMMUTABLE;
	if (want & MEM_ATTR_WRITE)
		want &= ~MEM_ATTR_IMMUTABLE;
	gk_heki_add_pa(k, pte & GK_PTE_ADDR, want);
	return 0;
}

/* kvm_lock_crs(): CR0.WP, and the CR4 protections the kernel turned on. */
static long gk_heki_lock_crs(struct guest_kernel *k)
{
	uint64_t cr4 = 0, pin;
	long ret;

	ret = mv_guest_hypercall(k->g, KVM_HC_LOCK_CR_UPDATE, 0, GK_CR0_WP, 0, 0);
	if (ret)
		return gk_heki_errno(ret);
	if (mv_guest_read_cr(k->g, 4, &cr4))
		return -EFAULT;
	pin = cr4 & (GK_CR4_SMEP | GK_CR4_SMAP | GK_CR4_UMIP | GK_CR4_CET);
	if (!pin)
		return 0;
	return gk_heki_errno(mv_guest_hypercall(k->g, KVM_HC_LOCK_CR_UPDATE, 4, pin, 0, 0));
}

/* heki_late_init(): pin the CRs, then protect all memory (heki_arch_late_init). */
long gk_heki_late_init(struct guest_kernel *k)
{
	uint64_t calls = k->stats.hypercalls, entries = k->stats.entries;
	uint64_t nodes = k->stats.list_pages, pages = k->stats.pages;
	long r = gk_heki_lock_crs(k);

	if (r)
		return r;
	k->batch.n = 0;
	r = gk_walk_leaves(k, GK_PAGE_OFFSET, GK_PAGE_OFFSET + k->npages * GK_PAGE_SIZE,
			   gk_heki_protect_page, NULL);
	if (r)
		return r;
	r = gk_heki_apply(k);
	if (r)
		return r;
	if (k->stats.hypercalls == calls)
		return -EINVAL;
	k->stats.boot_entries = k->stats.entries - entries;
	k->stats.boot_pages = k->stats.pages - pages;
	k->stats.boot_list_pages = k->stats.list_pages - nodes;
	k->heki_protect = true;
	return 0;
}

/* ---- queries and the list builder ---- */

MV_API long guest_heki_counters(const struct guest_kernel *k, uint64_t pa,
				struct guest_heki_counters *out)
{
	const struct gk_page *p;

	if (!k || !out || !gk_pa_valid(k, pa))
		return -EINVAL;
	p = &k->pages[pa / GK_PAGE_SIZE];
	*out = (struct guest_heki_counters){ p->read, p->write, p->execute };
	return 0;
}

MV_API uint64_t guest_heki_permissions(const struct guest_kernel *k, uint64_t pa)
{
	if (!k || !gk_pa_valid(k, pa))
		return 0;
	return gk_heki_perm(&k->pages[pa / GK_PAGE_SIZE]);
}

MV_API bool guest_heki_protected(const struct guest_kernel *k)
{
	return k && k->heki_protect;
}

MV_API void guest_heki_stats(const struct guest_kernel *k, struct guest_heki_stats *out)
{
	if (k && out)
		*out = k->stats;
}

MV_API long guest_heki_build_list(struct guest_kernel *k, const uint64_t *pas,
				  const uint64_t *epas, const uint64_t *perms, uint64_t n,
				  uint64_t *list_pa)
{
	struct heki_pages *v;
	uint64_t nodes;
	long r;

	if (!k || !pas || !epas || !perms || !list_pa || !n)
		return -EINVAL;
	v = gk_calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++)
		v[i] = (struct heki_pages){ .pa = pas[i], .epa = epas[i], .permissions = perms[i] };
	r = gk_heki_write_list(k, v, n, list_pa, &nodes);
	free(v);
	return r;
}
