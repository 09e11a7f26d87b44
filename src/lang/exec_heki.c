/* SPDX-License-Identifier: MIT */
/*
 * Heki's policy from a scenario (docs/heki.md, "The policy ioctl"): each
 * step is one KVM_HEKI_SET_POLICY, which replaces one list of the VM's.
 *
 *	heki_allow_modules(r1, x"c3", sha256=x"<64 hex digits>")  = 0
 *	heki_patch_sites(r1, 0x100100, x"0f1f440000", x"e910000000") = 0
 *
 * A module given by its text ("..." or x"...", the bytes module_load
 * takes) goes on the allow-list as the digest KVM computes when the guest
 * asks it to authenticate that module: SHA-256 of the text padded with
 * zeros to whole 4 KiB pages (the guest kernel loads a module into zeroed
 * pages). sha256= gives a digest as it is. A patch site is its GPA, then
 * its forms: the byte sequences KVM_HC_HEKI_TEXT_POKE may write there
 * (the check made sure of 1 to 4 forms of one length, 1 to 16 bytes). The
 * answer is the ioctl's: 0, or -EINVAL, -EOPNOTSUPP (no MBEC), -ENOMEM.
 */
#include <errno.h>
#include <string.h>

#include <memvisor/uapi/kvm.h>

#include "lang/exec_int.h"
#include "lib/alloc.h"
#include "lib/sha256.h"

#define LANG_HEKI_PAGE 4096u

/* KVM's digest of a module whose text is @text: whole pages, zero padded. */
static void lang_heki_module_digest(const struct lang_expr *text, uint8_t *out)
{
	static const uint8_t zero[LANG_HEKI_PAGE];
	size_t pad = (LANG_HEKI_PAGE - text->nbytes % LANG_HEKI_PAGE) % LANG_HEKI_PAGE;
	struct sha256_state st;

	sha256_init(&st);
	sha256_update(&st, text->bytes, text->nbytes);
	sha256_update(&st, zero, pad);
	sha256_final(&st, out);
}

/* The allow-list: one digest per argument after the VM's fd. */
static void *lang_heki_modules(const struct lang_step *s, uint32_t *count)
{
	struct kvm_heki_module_hash *h;

	*count = (uint32_t)(s->nargs - 1);
	h = lib_zalloc(*count ? *count * sizeof(*h) : 1);
	for (uint32_t i = 0; h && i < *count; i++) {
		const struct lang_arg *a = &s->args[1 + i];

		if (a->key)   /* sha256=: the check made sure of 32 bytes */
			memcpy(h[i].sha256, a->val->bytes, sizeof(h[i].sha256));
		else
			lang_heki_module_digest(a->val, h[i].sha256);
	}
	return h;
}

/* The patch sites: an integer argument opens one, the byte arguments after it are its forms. */
static void *lang_heki_sites(const struct lang_exec *x, const struct lang_step *s,
			     uint32_t *count)
{
	struct kvm_heki_patch_site *sites, *cur = NULL;

	*count = 0;
	for (size_t i = 1; i < s->nargs; i++)
		*count += s->args[i].val->kind != LE_STRING && s->args[i].val->kind != LE_BYTES;
	sites = lib_zalloc(*count ? *count * sizeof(*sites) : 1);
	for (size_t i = 1; sites && i < s->nargs; i++) {
		const struct lang_expr *e = s->args[i].val;

		if (e->kind != LE_STRING && e->kind != LE_BYTES) {
			cur = cur ? cur + 1 : sites;
			cur->gpa = lang_eval(x, e);
			continue;
		}
		cur->len = (uint32_t)e->nbytes;
		memcpy(cur->forms[cur->nforms++], e->bytes, e->nbytes);
	}
	return sites;
}

int lang_do_heki_policy(struct lang_exec *x, const struct lang_step *s, struct mv_task *t,
			struct lang_outcome *o, struct lang_diag *diag)
{
	struct kvm_heki_policy p = { .type = (uint32_t)s->desc->nr };
	void *entries;

	if (p.type == KVM_HEKI_POLICY_MODULE_HASHES)
		entries = lang_heki_modules(s, &p.count);
	else
		entries = lang_heki_sites(x, s, &p.count);
	if (!entries)
		return lang_diag_set(diag, s->pos, -ENOMEM, "out of memory");
	p.entries = (uint64_t)(uintptr_t)entries;
	o->ret = mv_syscall(t, MV_SYS_ioctl, lang_eval(x, s->args[0].val), KVM_HEKI_SET_POLICY,
			    (uint64_t)(uintptr_t)&p, 0, 0, 0);
	lib_free(entries);
	return 0;
}
