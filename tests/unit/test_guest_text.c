/* SPDX-License-Identifier: MIT */
/*
 * Text patching and modules keep Heki's counters right (SEMANTICS 2,
 * guest side, last bullet), and the two designs beyond the RFC: text_poke
 * through KVM's validated path (patch sites the VMM declared), module text
 * executable only when KVM knows its digest.
 */
#include "guesttest.h"
#include "lib/sha256.h"

#define RAM (8ull << 20)

static const uint8_t jmp5[5] = { 0xe9, 0x10, 0x00, 0x00, 0x00 };

static void counters_of(struct guest_kernel *k, uint64_t pa, struct guest_heki_counters *c)
{
	memset(c, 0xff, sizeof(*c));
	guest_heki_counters(k, pa, c);
}

/* Without Heki: Linux's way, a writable alias that comes and goes; counters as before */
static void body_poke_alias(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	struct guest_jump_label jl[GK_NR_JUMP_LABELS];
	struct guest_heki_counters before, after;
	uint8_t back[5];
	uint64_t pte = 0;

	guest_kernel_jump_labels(k, jl);
	counters_of(k, jl[1].pa & ~(GK_PAGE_SIZE - 1), &before);
	GT_EXPECT(t, guest_text_poke(k, jl[1].va, jmp5, 5) == 0);
	counters_of(k, jl[1].pa & ~(GK_PAGE_SIZE - 1), &after);
	GT_EXPECT(t, !memcmp(&before, &after, sizeof(before)));
	GT_EXPECT(t, mv_guest_read(g, jl[1].va, back, 5) == 0 && !memcmp(back, jmp5, 5));
	GT_EXPECT(t, guest_kernel_get_pte(k, GK_POKING_ADDR, &pte) == 0 && !(pte & GK_PTE_P));
	/* text is still read-only through its own mapping */
	GT_EXPECT(t, mv_guest_write(g, jl[1].va, jmp5, 5) == -EFAULT);
	GT_EXPECT(t, guest_text_poke(k, jl[1].va, jl[1].nop, 5) == 0);
	GT_EXPECT(t, mv_guest_read(g, jl[1].va, back, 5) == 0 && !memcmp(back, jl[1].nop, 5));
	/* bad calls */
	GT_EXPECT(t, guest_text_poke(k, jl[1].va, jmp5, 0) == -EINVAL);
	GT_EXPECT(t, guest_text_poke(k, jl[1].va, jmp5, 17) == -EINVAL);
	GT_EXPECT(t, guest_text_poke(k, GK_KERNEL_MAP + GK_IMAGE_PA + GK_PAGE_SIZE - 2, jmp5, 5) ==
		     -EINVAL);                       /* crosses a page */
	GT_EXPECT(t, guest_text_poke(k, GK_VMALLOC_START + 0x777000, jmp5, 5) == -EINVAL);
}

static void test_guest_text_poke_keeps_counters(void **state)
{
	struct gt t;

	(void)state;
	gt_setup(&t, RAM, false);
	gt_run(&t, body_poke_alias, NULL);
	assert_int_equal(gt_ram_byte(&t, GK_IMAGE_PA + 0x1100), 0x0f);
	gt_teardown(&t);
}

/* With Heki and no declared site: text cannot be patched (the RFC's limit), nothing changes */
static void body_poke_nosites(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	struct guest_jump_label jl[GK_NR_JUMP_LABELS];
	uint8_t back[5];

	guest_kernel_jump_labels(k, jl);
	GT_EXPECT(t, guest_text_poke(k, jl[0].va, jmp5, 5) == -EOPNOTSUPP);
	GT_EXPECT(t, mv_guest_read(g, jl[0].va, back, 5) == 0 && !memcmp(back, jl[0].nop, 5));
}

static void test_guest_text_poke_heki_without_sites_refused(void **state)
{
	struct gt t;

	(void)state;
	gt_setup(&t, RAM, true);
	gt_run(&t, body_poke_nosites, NULL);
	gt_teardown(&t);
}

/* With declared sites: KVM writes a declared form at a declared site, refuses the rest */
static void body_poke_sites(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	struct guest_jump_label jl[GK_NR_JUMP_LABELS];
	struct guest_heki_counters before, after;
	static const uint8_t evil[5] = { 0xe9, 0xde, 0xad, 0xbe, 0xef };
	uint8_t back[5];

	guest_kernel_jump_labels(k, jl);
	counters_of(k, jl[2].pa & ~(GK_PAGE_SIZE - 1), &before);
	GT_EXPECT(t, guest_text_poke(k, jl[2].va, jmp5, 5) == 0);
	GT_EXPECT(t, mv_guest_read(g, jl[2].va, back, 5) == 0 && !memcmp(back, jmp5, 5));
	GT_EXPECT(t, guest_text_poke(k, jl[2].va, jl[2].nop, 5) == 0);
	GT_EXPECT(t, guest_text_poke(k, jl[2].va, evil, 5) == -EPERM);       /* not a form */
	GT_EXPECT(t, guest_text_poke(k, jl[2].va + 1, jmp5, 4) == -EPERM);   /* not the site */
	GT_EXPECT(t, guest_text_poke(k, jl[3].va + 64, jmp5, 5) == -EPERM);
	GT_EXPECT(t, mv_guest_read(g, jl[2].va, back, 5) == 0 && !memcmp(back, jl[2].nop, 5));
	counters_of(k, jl[2].pa & ~(GK_PAGE_SIZE - 1), &after);
	GT_EXPECT(t, !memcmp(&before, &after, sizeof(before)));
}

static void declare_sites(struct gt *t, struct guest_kernel *k)
{
	struct guest_jump_label jl[GK_NR_JUMP_LABELS];
	struct kvm_heki_patch_site sites[GK_NR_JUMP_LABELS];

	/* the layout is fixed by the config, so a kernel booted before tells the VMM where */
	guest_kernel_jump_labels(k, jl);
	memset(sites, 0, sizeof(sites));
	for (int i = 0; i < GK_NR_JUMP_LABELS; i++) {
		sites[i].gva = jl[i].va;
		sites[i].gpa = jl[i].pa;
		sites[i].len = 5;
		sites[i].nforms = 2;
		memcpy(sites[i].forms[0], jl[i].nop, 5);
		memcpy(sites[i].forms[1], jl[i].jmp, 5);
	}
	assert_int_equal(gt_policy(t, KVM_HEKI_POLICY_PATCH_SITES, sites, GK_NR_JUMP_LABELS), 0);
}

static void body_nothing(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	(void)t;
	(void)k;
	(void)g;
}

/* The layout a config gives, learnt from a kernel booted without Heki. */
static struct guest_kernel *layout_probe(struct gt *probe)
{
	gt_setup(probe, RAM, false);
	gt_run(probe, body_nothing, NULL);
	return probe->kernel;
}

static void test_guest_text_poke_heki_validated_sites(void **state)
{
	struct gt t, probe;

	(void)state;
	gt_setup(&t, RAM, true);
	declare_sites(&t, layout_probe(&probe));
	gt_teardown(&probe);
	gt_run(&t, body_poke_sites, NULL);
	gt_teardown(&t);
}

/* ---- modules ---- */

static uint8_t mod_text[6000];

static void make_module(uint8_t seed)
{
	for (size_t i = 0; i < sizeof(mod_text); i++)
		mod_text[i] = (uint8_t)(i * 7 + seed);
}

/* The digest KVM computes: the text padded with zeroes to whole pages. */
static void module_digest(uint8_t out[32])
{
	static uint8_t padded[2 * 4096];

	memset(padded, 0, sizeof(padded));
	memcpy(padded, mod_text, sizeof(mod_text));
	sha256(padded, sizeof(padded), out);
}

struct modctx {
	long want_auth;
};

static void body_module(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	struct modctx *c = t->arg;
	struct guest_heki_counters cnt;
	struct guest_module *mod = NULL;
	uint64_t pa = 0, va, data;
	uint8_t b = 0;

	GT_EXPECT(t, guest_module_load(k, mod_text, sizeof(mod_text), 2, &mod) == 0);
	if (!mod)
		return;
	va = guest_module_text(mod, &pa);
	data = guest_module_data(mod);
	GT_EXPECT(t, guest_module_authenticated(mod) == c->want_auth);
	/* text: direct map RW NX + module mapping R X */
	for (uint64_t i = 0; i < 2; i++) {
		GT_EXPECT(t, guest_heki_counters(k, pa + i * GK_PAGE_SIZE, &cnt) == 0);
		GT_EXPECT(t, cnt.read == 2 && cnt.write == 1 && cnt.execute == 1);
	}
	GT_EXPECT(t, mv_guest_read(g, va + 5000, &b, 1) == 0 && b == mod_text[5000]);
	GT_EXPECT(t, mv_guest_fetch(g, va, 16) == (c->want_auth == 0 ? -EFAULT : 0));
	GT_EXPECT(t, mv_guest_write(g, va, &b, 1) == -EFAULT);          /* read-only */
	GT_EXPECT(t, mv_guest_write(g, data, &b, 1) == 0);
	GT_EXPECT(t, mv_guest_fetch(g, data, 1) == -EFAULT);            /* NX */
	GT_EXPECT(t, guest_module_unload(k, mod) == 0 || c->want_auth == 1);
	GT_EXPECT(t, guest_heki_counters(k, pa, &cnt) == 0);
	GT_EXPECT(t, cnt.read == 1 && cnt.write == 1 && cnt.execute == 0);
	GT_EXPECT(t, mv_guest_fetch(g, va, 1) == -EFAULT);              /* unmapped */
	/*
	 * After unload: authenticated text stays IMMUTABLE READ|EXEC for good
	 * (the kernel never hands those pages out again); any other module's
	 * pages are READ|WRITE again.
	 */
	{
		uint64_t alias = 0, v = 0;

		GT_EXPECT(t, guest_vmap(k, &pa, 1, GK_PROT_READ | GK_PROT_WRITE, &alias) == 0);
		GT_EXPECT(t, (mv_guest_write(g, alias, &v, 8) == 0) == (c->want_auth != 1));
	}
}

static void test_guest_module_load_unload_keeps_counters(void **state)
{
	struct gt t;
	struct modctx c = { .want_auth = -EOPNOTSUPP };

	(void)state;
	make_module(1);
	gt_setup(&t, RAM, false);
	gt_run(&t, body_module, &c);
	gt_teardown(&t);
}

static void test_guest_module_authenticated_runs(void **state)
{
	struct kvm_heki_module_hash h;
	struct gt t;
	struct modctx c = { .want_auth = 1 };

	(void)state;
	make_module(2);
	module_digest(h.sha256);
	gt_setup(&t, RAM, true);
	assert_int_equal(gt_policy(&t, KVM_HEKI_POLICY_MODULE_HASHES, &h, 1), 0);
	gt_run(&t, body_module, &c);
	gt_teardown(&t);
}

static void test_guest_module_unknown_digest_never_runs(void **state)
{
	struct kvm_heki_module_hash h;
	struct gt t;
	struct modctx c = { .want_auth = 0 };

	(void)state;
	make_module(3);
	module_digest(h.sha256);
	make_module(4);                 /* the module loaded is not the one allowed */
	gt_setup(&t, RAM, true);
	assert_int_equal(gt_policy(&t, KVM_HEKI_POLICY_MODULE_HASHES, &h, 1), 0);
	gt_run(&t, body_module, &c);
	gt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_text_poke_keeps_counters),
		cmocka_unit_test(test_guest_text_poke_heki_without_sites_refused),
		cmocka_unit_test(test_guest_text_poke_heki_validated_sites),
		cmocka_unit_test(test_guest_module_load_unload_keeps_counters),
		cmocka_unit_test(test_guest_module_authenticated_runs),
		cmocka_unit_test(test_guest_module_unknown_digest_never_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
