/* SPDX-License-Identifier: MIT */
/*
 * Attacks by a compromised guest kernel (issue "Attacks"): each runs twice,
 * on a kernel booted without Heki, where it must succeed, and on one
 * booted with Heki, where it must be blocked, with the VMM told
 * (KVM_CAP_HEKI_DENIAL) where the hypervisor saw it. The attacker owns the
 * kernel: it rewrites its own page-table entries (guest_kernel_poke_pte),
 * control registers and hypercalls at will. What it cannot reach is
 * stage 2 and the pinned registers.
 */
#include "guesttest.h"
#include "lib/sha256.h"

#define RAM (8ull << 20)
#define CR0_WP   (1ull << 16)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)

static const uint64_t payload = 0xccccccccccccccccull;   /* int3s */
static const uint8_t jmp5[5] = { 0xe9, 0x10, 0x00, 0x00, 0x00 };

struct attack {
	const char *name;
	/* true if the attack did what it wanted */
	bool (*run)(struct gt *t, struct guest_kernel *k, struct mv_guest *g);
	void (*vmm)(struct gt *t);        /* the VMM's preparation, both runs */
	bool reported;                    /* with Heki, a denial exit reaches the VMM */
};

struct attack_ctx {
	const struct attack *a;
	bool succeeded;
	long slot_delete, slot_add;       /* the memslot attack's VMM answers */
};

static void body_attack(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	struct attack_ctx *c = t->arg;

	c->succeeded = c->a->run(t, k, g);
}

static uint64_t sec_va(struct guest_kernel *k, enum guest_section s, uint64_t *pa)
{
	return guest_kernel_section(k, s, pa, NULL);
}

/* Make the entry for @va writable and executable, as the owner of the tables can. */
static void make_rwx(struct gt *t, struct guest_kernel *k, uint64_t va)
{
	uint64_t pte = 0;

	GT_EXPECT(t, guest_kernel_get_pte(k, va, &pte) == 0);
	GT_EXPECT(t, guest_kernel_poke_pte(k, va, (pte | GK_PTE_RW) & ~GK_PTE_NX) == 0);
}

/* Write the payload at @va (its entry made writable first); true if it landed. */
static bool write_through(struct gt *t, struct guest_kernel *k, struct mv_guest *g, uint64_t va,
			  uint64_t check_va)
{
	uint64_t back = 0;
	long r;

	make_rwx(t, k, va);
	r = mv_guest_write(g, va, &payload, sizeof(payload));
	GT_EXPECT(t, mv_guest_read(g, check_va, &back, sizeof(back)) == 0);
	GT_EXPECT(t, (r == 0) == (back == payload));     /* blocked means unchanged */
	return r == 0 && back == payload;
}

/* ---- writes to what boot made read-only ---- */

static bool attack_write_text(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t va = sec_va(k, GK_TEXT, NULL) + 0x200;

	return write_through(t, k, g, va, va);
}

static bool attack_write_rodata(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t va = sec_va(k, GK_RODATA, NULL) + 0x40;

	return write_through(t, k, g, va, va);
}

static bool attack_write_ro_after_init(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t va = sec_va(k, GK_RO_AFTER_INIT, NULL) + 0x10;

	return write_through(t, k, g, va, va);
}

/* the reviewers' alias objection: text reached through the direct map */
static bool attack_write_text_direct_alias(struct gt *t, struct guest_kernel *k,
					   struct mv_guest *g)
{
	uint64_t pa, va = sec_va(k, GK_TEXT, &pa) + GK_PAGE_SIZE;

	return write_through(t, k, g, GK_PAGE_OFFSET + pa + GK_PAGE_SIZE, va);
}

/* the kernel's own API: set_memory_rw on its text */
static bool attack_set_memory_rw_text(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t va = sec_va(k, GK_TEXT, NULL), back = 0;
	long r;

	GT_EXPECT(t, guest_set_memory_rw(k, va, 1) == 0);
	r = mv_guest_write(g, va + 8, &payload, sizeof(payload));
	GT_EXPECT(t, mv_guest_read(g, va + 8, &back, sizeof(back)) == 0);
	return r == 0 && back == payload;
}

/* a second, writable mapping of a text page in vmalloc space */
static bool attack_vmap_text_writable(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t pa, va = sec_va(k, GK_TEXT, &pa), alias = 0, back = 0;
	long r;

	GT_EXPECT(t, guest_vmap(k, &pa, 1, GK_PROT_READ | GK_PROT_WRITE, &alias) == 0);
	r = mv_guest_write(g, alias + 16, &payload, sizeof(payload));
	GT_EXPECT(t, mv_guest_read(g, va + 16, &back, sizeof(back)) == 0);
	return r == 0 && back == payload;
}

/* ---- execution of what is not code ---- */

static bool exec_at(struct gt *t, struct guest_kernel *k, struct mv_guest *g, uint64_t va)
{
	make_rwx(t, k, va);
	return mv_guest_fetch(g, va, 16) == 0;
}

static bool attack_exec_data(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t va = sec_va(k, GK_DATA, NULL);

	GT_EXPECT(t, mv_guest_write(g, va, &payload, sizeof(payload)) == 0);   /* data is writable */
	return exec_at(t, k, g, va);
}

static bool attack_exec_rodata(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	return exec_at(t, k, g, sec_va(k, GK_RODATA, NULL));
}

/*
 * Code of the attacker's through the direct-map alias of text. Stage 2 sees
 * a guest-physical page, not the alias: the fetch itself cannot be told
 * from a fetch of the real text (and it runs the same, unchanged bytes),
 * but the payload never gets there.
 */
static bool attack_exec_text_alias(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t pa, alias;
	bool wrote;

	sec_va(k, GK_TEXT, &pa);
	alias = GK_PAGE_OFFSET + pa + 2 * GK_PAGE_SIZE;
	wrote = write_through(t, k, g, alias, alias);
	GT_EXPECT(t, mv_guest_fetch(g, alias, 16) == 0);
	return wrote;
}

/* ---- control registers ---- */

static bool attack_clear_wp(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t cr0 = 0, after = 0, va = sec_va(k, GK_RODATA, NULL), back = 0;
	long r;

	GT_EXPECT(t, mv_guest_read_cr(g, 0, &cr0) == 0 && (cr0 & CR0_WP));
	r = mv_guest_write_cr(g, 0, cr0 & ~CR0_WP);
	GT_EXPECT(t, mv_guest_read_cr(g, 0, &after) == 0);
	GT_EXPECT(t, r == 0 ? !(after & CR0_WP) : after == cr0);
	/* with WP clear the supervisor writes through read-only entries */
	r = mv_guest_write(g, va, &payload, sizeof(payload));
	GT_EXPECT(t, mv_guest_read(g, va, &back, sizeof(back)) == 0);
	return r == 0 && back == payload;
}

static bool clear_cr4(struct gt *t, struct mv_guest *g, uint64_t bit)
{
	uint64_t cr4 = 0, after = 0;
	long r;

	GT_EXPECT(t, mv_guest_read_cr(g, 4, &cr4) == 0 && (cr4 & bit));
	r = mv_guest_write_cr(g, 4, cr4 & ~bit);
	GT_EXPECT(t, mv_guest_read_cr(g, 4, &after) == 0);
	GT_EXPECT(t, r == 0 ? !(after & bit) : after == cr4);
	return r == 0;
}

static bool attack_clear_smep(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	(void)k;
	GT_EXPECT(t, mv_guest_fetch(g, GK_USER_PAGE, 16) == -EFAULT);     /* SMEP at work */
	clear_cr4(t, g, CR4_SMEP);
	return mv_guest_fetch(g, GK_USER_PAGE, 16) == 0;
}

static bool attack_clear_smap(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t v;

	(void)k;
	GT_EXPECT(t, mv_guest_read(g, GK_USER_PAGE, &v, sizeof(v)) == -EFAULT);
	clear_cr4(t, g, CR4_SMAP);
	return mv_guest_read(g, GK_USER_PAGE, &v, sizeof(v)) == 0;
}

/* ---- the page list and the beyond-the-RFC paths ---- */

/* a page list of its own after boot: text READ|WRITE|EXEC */
static bool attack_forged_page_list(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t pa, npages, list = 0, epa, perm = MEM_ATTR_READ | MEM_ATTR_WRITE | MEM_ATTR_EXEC;
	uint64_t va = guest_kernel_section(k, GK_TEXT, &pa, &npages);
	long r;

	epa = pa + npages * GK_PAGE_SIZE;
	GT_EXPECT(t, guest_heki_build_list(k, &pa, &epa, &perm, 1, &list) == 0);
	r = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, list, 0, 0, 0);
	GT_EXPECT(t, guest_heki_protected(k) ? r == -KVM_EPERM : r == 0);
	guest_heki_free_list(k, list);
	return write_through(t, k, g, va + 0x300, va + 0x300);
}

/* the VMM deletes guest RAM's slot and adds it back: protection gone? */
static void vmm_readd_slot(struct gt *t)
{
	struct attack_ctx *c = t->arg;

	c->slot_delete = kt_region(&t->k, 0, 0, 0, 0, t->map);
	c->slot_add = kt_region(&t->k, 0, 0, 0, t->ram, t->map);
	t->run->hypercall.ret = 0;
}

static void vmm_exit_hypercall(struct gt *t)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_HYPERCALL };

	cap.args[0] = 1ull << KVM_HC_MAP_GPA_RANGE;
	assert_int_equal(kt_ioctl_p(t->k.t, t->k.vm, KVM_ENABLE_CAP, &cap), 0);
	t->on_hypercall = vmm_readd_slot;
}

static bool attack_memslot_readd(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t va = sec_va(k, GK_TEXT, NULL) + 0x400;

	/* any hypercall the VMM takes will do to hand it the CPU */
	GT_EXPECT(t, mv_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, 0x10000, 1, 0, 0) == 0);
	return write_through(t, k, g, va, va);
}

static uint8_t mod_text[4096];

static void vmm_module_hashes(struct gt *t)
{
	struct kvm_heki_module_hash h;

	memset(mod_text, 0x90, sizeof(mod_text));
	sha256(mod_text, sizeof(mod_text), h.sha256);    /* the module that is allowed */
	mod_text[0] = 0xcc;                              /* and the one that is loaded */
	assert_int_equal(gt_policy(t, KVM_HEKI_POLICY_MODULE_HASHES, &h, 1), 0);
}

static bool attack_unsigned_module(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	struct guest_module *mod = NULL;
	bool ran;

	GT_EXPECT(t, guest_module_load(k, mod_text, sizeof(mod_text), 0, &mod) == 0);
	if (!mod)
		return false;
	GT_EXPECT(t, guest_module_authenticated(mod) == (guest_heki_protected(k) ? 0 : -EOPNOTSUPP));
	ran = mv_guest_fetch(g, guest_module_text(mod, NULL), 16) == 0;
	guest_module_unload(k, mod);
	return ran;
}

static void vmm_patch_sites(struct gt *t)
{
	struct kvm_heki_patch_site s = { .len = 5, .nforms = 2 };
	static const uint8_t nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };

	/* the image's first jump label (GK_IMAGE_PA + 0x100) */
	s.gpa = GK_IMAGE_PA + 0x100;
	s.gva = GK_KERNEL_MAP + s.gpa;
	memcpy(s.forms[0], nop5, 5);
	memcpy(s.forms[1], jmp5, 5);
	assert_int_equal(gt_policy(t, KVM_HEKI_POLICY_PATCH_SITES, &s, 1), 0);
}

static bool attack_patch_outside_site(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t va = sec_va(k, GK_TEXT, NULL) + 0x800;
	uint8_t back[5];
	long r;

	r = guest_text_poke(k, va, jmp5, 5);
	GT_EXPECT(t, guest_heki_protected(k) ? r == -EPERM : r == 0);
	GT_EXPECT(t, mv_guest_read(g, va, back, 5) == 0);
	return r == 0 && !memcmp(back, jmp5, 5);
}

static const struct attack attacks[] = {
	{ "write_text", attack_write_text, NULL, true },
	{ "write_rodata", attack_write_rodata, NULL, true },
	{ "write_ro_after_init", attack_write_ro_after_init, NULL, true },
	{ "write_text_direct_alias", attack_write_text_direct_alias, NULL, true },
	{ "set_memory_rw_text", attack_set_memory_rw_text, NULL, true },
	{ "vmap_text_writable", attack_vmap_text_writable, NULL, true },
	{ "exec_data", attack_exec_data, NULL, true },
	{ "exec_rodata", attack_exec_rodata, NULL, true },
	{ "exec_text_alias", attack_exec_text_alias, NULL, true },
	{ "clear_cr0_wp", attack_clear_wp, NULL, true },
	{ "clear_cr4_smep", attack_clear_smep, NULL, true },
	{ "clear_cr4_smap", attack_clear_smap, NULL, true },
	{ "forged_page_list", attack_forged_page_list, NULL, true },
	{ "memslot_delete_readd", attack_memslot_readd, vmm_exit_hypercall, true },
	{ "unsigned_module", attack_unsigned_module, vmm_module_hashes, true },
	{ "patch_outside_site", attack_patch_outside_site, vmm_patch_sites, false },
};

static void run_attack(const char *name, bool heki)
{
	const struct attack *a = NULL;
	struct attack_ctx c;
	struct gt t;

	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
		if (!strcmp(attacks[i].name, name))
			a = &attacks[i];
	}
	assert_non_null(a);
	memset(&c, 0, sizeof(c));
	c.a = a;
	gt_setup(&t, RAM, heki);
	if (heki) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_HEKI_DENIAL };

		cap.args[0] = KVM_HEKI_EXIT_REASON_CR0 | KVM_HEKI_EXIT_REASON_CR4 |
			      KVM_HEKI_EXIT_REASON_MEM;
		assert_int_equal(kt_ioctl_p(t.k.t, t.k.vm, KVM_ENABLE_CAP, &cap), 0);
	}
	if (a->vmm)
		a->vmm(&t);
	gt_run(&t, body_attack, &c);
	if (!heki) {
		assert_true(c.succeeded);
		assert_int_equal(t.denials, 0);
	} else {
		assert_false(c.succeeded);
		if (a->reported)
			assert_true(t.denials > 0);
	}
	if (a->vmm == vmm_exit_hypercall) {
		assert_int_equal(c.slot_delete, heki ? -EPERM : 0);
		if (!heki)
			assert_int_equal(c.slot_add, 0);
	}
	gt_teardown(&t);
}

/* One test per row of the table: the attack without Heki, then with it. */
static void test_guest_heki_attack(void **state)
{
	const struct attack *a = *state;

	run_attack(a->name, false);
	run_attack(a->name, true);
}

int main(void)
{
	enum { N = sizeof(attacks) / sizeof(attacks[0]) };
	static char names[N][64];
	struct CMUnitTest tests[N];

	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "test_guest_heki_attack_%s", attacks[i].name);
		tests[i] = (struct CMUnitTest){
			.name = names[i], .test_func = test_guest_heki_attack,
			.initial_state = (void *)(uintptr_t)&attacks[i],
		};
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
