/* SPDX-License-Identifier: MIT */
/*
 * Modules (kernel/module/main.c, in outline): the text in physically
 * contiguous pages mapped in module space, written, then read-only and
 * executable (module_enable_rodata_ro, module_enable_x); the data in
 * pages of its own, RW NX. With Heki the text is then shown to KVM
 * (KVM_HC_HEKI_AUTH_MODULE), which hashes it and makes it executable and
 * IMMUTABLE only if the VMM's allow-list holds the digest: an unknown
 * module loads but never runs.
 */
#include <errno.h>

#include "guest/guest.h"

static long gk_module_text(struct guest_kernel *k, struct guest_module *mod, const void *text,
			   size_t len)
{
	uint64_t n = (len + GK_PAGE_SIZE - 1) / GK_PAGE_SIZE;
	uint64_t *pas = gk_calloc(n, sizeof(*pas));
	long r;

	if (!pas)
		return -ENOMEM;
	r = gk_alloc_pages(k, n, &mod->text_pa);
	for (uint64_t i = 0; !r && i < n; i++)
		pas[i] = mod->text_pa + i * GK_PAGE_SIZE;
	if (!r) {
		r = gk_area_add(k, &k->modules_next, GK_MODULES_END, pas, n,
				GK_PTE_P | GK_PTE_RW | GK_PTE_NX, false, &mod->text_area);
		if (r && !mod->text_area)
			gk_free_pages(k, mod->text_pa, n);
	}
	free(pas);
	if (r)
		return r;
	mod->text_va = mod->text_area->va;
	mod->text_pages = n;
	r = mv_guest_write(k->g, mod->text_va, text, len);
	r = r ? r : guest_set_memory_ro(k, mod->text_va, n);
	if (r)
		return r;
	/*
	 * With an allow-list KVM grants EXEC only through the authentication
	 * below and refuses the push (-EPERM): the entries are right, KVM
	 * decides.
	 */
	r = guest_set_memory_x(k, mod->text_va, n);
	return k->heki_protect && r == -EPERM ? 0 : r;
}

/* KVM_HC_HEKI_AUTH_MODULE: 1 accepted (pages now IMMUTABLE), 0 refused, -EOPNOTSUPP no list. */
static long gk_module_authenticate(struct guest_kernel *k, struct guest_module *mod)
{
	long ret;

	if (!k->heki_protect)
		return -EOPNOTSUPP;
	ret = mv_guest_hypercall(k->g, KVM_HC_HEKI_AUTH_MODULE, mod->text_pa,
				 mod->text_pages * GK_PAGE_SIZE, 0, 0);
	if (ret == -KVM_EOPNOTSUPP)
		return -EOPNOTSUPP;
	if (ret)
		return 0;
	for (uint64_t i = 0; i < mod->text_pages; i++)
		k->pages[mod->text_pa / GK_PAGE_SIZE + i].flags |= GK_PG_IMMUTABLE;
	return 1;
}

static void gk_module_free(struct guest_kernel *k, struct guest_module *mod)
{
	if (mod->data_area)
		gk_area_remove(k, mod->data_area);
	if (mod->text_area) {
		gk_area_remove(k, mod->text_area);
		gk_free_pages(k, mod->text_pa, mod->text_pages);
	}
	free(mod);
}

MV_API long guest_module_load(struct guest_kernel *k, const void *text, size_t text_len,
			      uint64_t data_pages, struct guest_module **out)
{
	struct guest_module *mod;
	long r = 0;

	if (!k || !text || !text_len || !out || text_len > 1024 * GK_PAGE_SIZE ||
	    data_pages > 1024)
		return -EINVAL;
	mod = gk_zalloc(sizeof(*mod));
	if (!mod)
		return -ENOMEM;
	if (data_pages) {
		uint64_t *pas = gk_calloc(data_pages, sizeof(*pas));

		r = pas ? 0 : -ENOMEM;
		for (uint64_t i = 0; !r && i < data_pages; i++)
			r = gk_alloc_pages(k, 1, &pas[i]);
		if (!r)
			r = gk_area_add(k, &k->modules_next, GK_MODULES_END, pas, data_pages,
					GK_PTE_P | GK_PTE_RW | GK_PTE_NX, true, &mod->data_area);
		for (uint64_t i = 0; pas && r && !mod->data_area && i < data_pages; i++) {
			if (pas[i])
				gk_free_pages(k, pas[i], 1);
		}
		free(pas);
		mod->data_va = mod->data_area ? mod->data_area->va : 0;
	}
	r = r ? r : gk_module_text(k, mod, text, text_len);
	if (r) {
		gk_module_free(k, mod);
		return r;
	}
	mod->authenticated = gk_module_authenticate(k, mod);
	mod->next = k->modules;
	k->modules = mod;
	*out = mod;
	return 0;
}

MV_API long guest_module_unload(struct guest_kernel *k, struct guest_module *mod)
{
	long r;

	struct guest_module **pp;

	if (!k || !mod)
		return -EINVAL;
	for (pp = &k->modules; *pp && *pp != mod; pp = &(*pp)->next)
		;
	if (!*pp)
		return -EINVAL;
	*pp = mod->next;
	/* module_disable_x/ro (Linux resets the permissions before freeing) */
	r = guest_set_memory_nx(k, mod->text_va, mod->text_pages);
	if (!r)
		r = guest_set_memory_rw(k, mod->text_va, mod->text_pages);
	gk_module_free(k, mod);
	return r;
}

MV_API struct guest_module *guest_module_find(const struct guest_kernel *k, uint64_t text_va)
{
	for (struct guest_module *m = k ? k->modules : NULL; m; m = m->next) {
		if (m->text_va == text_va)
			return m;
	}
	return NULL;
}

MV_API uint64_t guest_module_text(const struct guest_module *mod, uint64_t *pa)
{
	if (!mod)
		return 0;
	if (pa)
		*pa = mod->text_pa;
	return mod->text_va;
}

MV_API uint64_t guest_module_data(const struct guest_module *mod)
{
	return mod ? mod->data_va : 0;
}

MV_API long guest_module_authenticated(const struct guest_module *mod)
{
	return mod ? mod->authenticated : -EINVAL;
}
