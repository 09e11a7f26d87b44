/* SPDX-License-Identifier: MIT */
/*
 * The guest kernel's calls inside a guest program:
 *
 *	guest(r3) {
 *	  kernel_boot(0x800000, 1)               = 0
 *	  set_memory_x(0xffffc90000000000, 1)    = 0
 *	  write_u64(0xffffffff80100000, 0)       = fault(14)
 *	}
 *
 * kernel_boot(RAM[, HEKI]) boots <memvisor/guest_kernel.h> in the guest
 * (RAM bytes of guest RAM at GPA 0, Heki on if HEKI is not 0); the other
 * calls are that kernel's, by Linux's names. Addresses are the kernel's
 * fixed layout (docs/scenario-language.md lists it). A call before
 * kernel_boot answers -EINVAL. The kernel lives on in the vCPU: a later
 * guest(...) block on the same vCPU calls into the same kernel.
 */
#include <errno.h>
#include <stdbool.h>

#include <memvisor/guest_kernel.h>

#include "lang/exec_int.h"

static long lang_gk_boot(struct lang_guest_prog *gp, struct mv_guest *g, const uint64_t *a)
{
	struct guest_kernel_config cfg = { .ram_bytes = a[0], .heki = a[1] != 0 };

	if (gp->kernel)
		return -EBUSY;
	return guest_kernel_boot(g, &cfg, &gp->kernel);
}

/* A call's result that is a value: *@v once @r (already evaluated) is 0, else -errno. */
static long lang_gk_va(long r, const uint64_t *v)
{
	return r ? r : (long)*v;
}

static long lang_gk_module(struct guest_kernel *k, const struct lang_step *op, const uint64_t *a)
{
	const struct lang_expr *text = op->args[0].val;
	struct guest_module *mod = NULL;
	long r;

	switch (op->desc->gop) {
	case LG_MODULE_LOAD:
		r = guest_module_load(k, text->bytes, text->nbytes, a[1], &mod);
		return r ? r : (long)guest_module_text(mod, NULL);
	case LG_MODULE_UNLOAD:
		return guest_module_unload(k, guest_module_find(k, a[0]));
	default:   /* LG_MODULE_AUTHENTICATED */
		mod = guest_module_find(k, a[0]);
		return mod ? guest_module_authenticated(mod) : -EINVAL;
	}
}

static long lang_gk_call(struct guest_kernel *k, const struct lang_step *op, const uint64_t *a)
{
	const struct lang_expr *data = op->nargs > 1 ? op->args[1].val : NULL;
	uint64_t v = 0;
	long r;

	switch (op->desc->gop) {
	case LG_SET_MEMORY_RO:
		return guest_set_memory_ro(k, a[0], a[1]);
	case LG_SET_MEMORY_RW:
		return guest_set_memory_rw(k, a[0], a[1]);
	case LG_SET_MEMORY_X:
		return guest_set_memory_x(k, a[0], a[1]);
	case LG_SET_MEMORY_NX:
		return guest_set_memory_nx(k, a[0], a[1]);
	case LG_VMALLOC:
		r = guest_vmalloc(k, a[0], &v);
		return lang_gk_va(r, &v);
	case LG_VFREE:
		return guest_vfree(k, a[0]);
	case LG_VMAP:
		r = guest_vmap(k, &a[0], 1, (unsigned)a[1], &v);
		return lang_gk_va(r, &v);
	case LG_VUNMAP:
		return guest_vunmap(k, a[0]);
	case LG_TEXT_POKE:
		return guest_text_poke(k, a[0], data->bytes, data->nbytes);
	case LG_GET_PTE:
		r = guest_kernel_get_pte(k, a[0], &v);
		return lang_gk_va(r, &v);
	case LG_POKE_PTE:
		return guest_kernel_poke_pte(k, a[0], a[1]);
	case LG_HEKI_PERMISSIONS:
		return (long)guest_heki_permissions(k, a[0]);
	case LG_HEKI_HYPERCALLS: {
		struct guest_heki_stats s;

		guest_heki_stats(k, &s);
		return (long)s.hypercalls;
	}
	default:
		return lang_gk_module(k, op, a);
	}
}

long lang_gkernel_op(struct lang_guest_prog *gp, struct mv_guest *g, const struct lang_step *op,
		     const uint64_t *a)
{
	if (op->desc->gop == LG_KERNEL_BOOT)
		return lang_gk_boot(gp, g, a);
	if (!gp->kernel)
		return -EINVAL;
	guest_kernel_resume(gp->kernel, g);
	return lang_gk_call(gp->kernel, op, a);
}

void lang_gkernel_free(struct lang_guest_prog *gp)
{
	guest_kernel_free(gp->kernel);
	gp->kernel = NULL;
}

void lang_gkernel_inherit(struct lang_exec *x, struct lang_guest_prog *gp)
{
	for (struct lang_guest_prog *old = x->guests; old; old = old->next) {
		if (old->vcpu_fd == gp->vcpu_fd && old->kernel) {
			gp->kernel = old->kernel;
			old->kernel = NULL;
			return;
		}
	}
}
