// SPDX-License-Identifier: MIT
/*
 * Heki attacks: a compromised guest kernel (<memvisor/guest_kernel.h>)
 * tries to change what boot made read-only or non-executable, to drop the
 * control-register protections, or to get around Heki's own paths. The
 * attacker owns the kernel: it rewrites its own page-table entries
 * (guest_kernel_poke_pte), control registers and hypercalls at will; what
 * it cannot reach is stage 2 and the pinned registers. "Off" is the same
 * kernel booted without Heki. With Heki the VMM asked to be told
 * (KVM_CAP_HEKI_DENIAL for CR0, CR4 and memory), so most attacks end
 * "reported"; a text patch outside a declared site is refused by KVM with
 * no exit ("blocked").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <memvisor/guest_kernel.h>

#include "attacks.h"
#include "lib/sha256.h"   /* the VMM's hash for its allow-list: the library's SHA-256 */

#define HK_RAM   (8ull << 20)
#define CR0_WP   (1ull << 16)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)

static const uint64_t payload = 0xccccccccccccccccull;   /* int3s */
static const uint8_t jmp5[5] = { 0xe9, 0x10, 0x00, 0x00, 0x00 };

struct hk_stage;
/* The attack, inside the guest: true if it did what it wanted. */
typedef bool (*hk_run)(struct hk_stage *s, struct guest_kernel *k, struct mv_guest *g);

struct hk_stage {
	struct atk_vm v;
	uint64_t map;               /* the VMM's mapping of guest RAM */
	struct kvm_run *run;
	struct guest_kernel_config cfg;
	struct guest_kernel *kernel;
	hk_run attack;
	long boot;
	int fail;                   /* a check of the attack's own failed: the stage is wrong */
	bool succeeded, readd_on_hypercall;
	long denials, slot_delete, slot_add;
};

/* A check the attack relies on; a failure makes the run a defect, not a verdict. */
#define HK_EXPECT(s, cond) do {			\
	if (!(cond) && !(s)->fail)		\
		(s)->fail = __LINE__;		\
} while (0)

static uint64_t sec_va(struct guest_kernel *k, enum guest_section sec, uint64_t *pa)
{
	return guest_kernel_section(k, sec, pa, NULL);
}

/* Make the entry for @va writable and executable, as the owner of the tables can. */
static void make_rwx(struct hk_stage *s, struct guest_kernel *k, uint64_t va)
{
	uint64_t pte = 0;

	HK_EXPECT(s, guest_kernel_get_pte(k, va, &pte) == 0);
	HK_EXPECT(s, guest_kernel_poke_pte(k, va, (pte | GK_PTE_RW) & ~GK_PTE_NX) == 0);
}

/* Write the payload at @va (its entry made writable first); true if it landed at @check_va. */
static bool write_through(struct hk_stage *s, struct guest_kernel *k, struct mv_guest *g,
			  uint64_t va, uint64_t check_va)
{
	uint64_t back = 0;
	long r;

	make_rwx(s, k, va);
	r = mv_guest_write(g, va, &payload, sizeof(payload));
	HK_EXPECT(s, mv_guest_read(g, check_va, &back, sizeof(back)) == 0);
	HK_EXPECT(s, (r == 0) == (back == payload));     /* blocked means unchanged */
	return r == 0 && back == payload;
}

/* ---- writes to what boot made read-only ---- */

static bool hk_write_text(struct hk_stage *s, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t va = sec_va(k, GK_TEXT, NULL) + 0x200;

	return write_through(s, k, g, va, va);
}

static bool hk_write_rodata(struct hk_stage *s, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t va = sec_va(k, GK_RODATA, NULL) + 0x40;

	return write_through(s, k, g, va, va);
}

static bool hk_write_ro_after_init(struct hk_stage *s, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t va = sec_va(k, GK_RO_AFTER_INIT, NULL) + 0x10;

	return write_through(s, k, g, va, va);
}

/* The reviewers' alias objection: text reached through the direct map. */
static bool hk_write_text_alias(struct hk_stage *s, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t pa, va = sec_va(k, GK_TEXT, &pa) + GK_PAGE_SIZE;

	return write_through(s, k, g, GK_PAGE_OFFSET + pa + GK_PAGE_SIZE, va);
}

/* The kernel's own API: set_memory_rw on its text, then a store. */
static bool hk_set_memory_rw_text(struct hk_stage *s, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t va = sec_va(k, GK_TEXT, NULL), back = 0;
	long r;

	HK_EXPECT(s, guest_set_memory_rw(k, va, 1) == 0);
	r = mv_guest_write(g, va + 8, &payload, sizeof(payload));
	HK_EXPECT(s, mv_guest_read(g, va + 8, &back, sizeof(back)) == 0);
	return r == 0 && back == payload;
}

/* A second, writable mapping of a text page in vmalloc space. */
static bool hk_vmap_text_writable(struct hk_stage *s, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t pa, va = sec_va(k, GK_TEXT, &pa), alias = 0, back = 0;
	long r;

	HK_EXPECT(s, guest_vmap(k, &pa, 1, GK_PROT_READ | GK_PROT_WRITE, &alias) == 0);
	r = mv_guest_write(g, alias + 16, &payload, sizeof(payload));
	HK_EXPECT(s, mv_guest_read(g, va + 16, &back, sizeof(back)) == 0);
	return r == 0 && back == payload;
}

/* ---- execution of what is not code ---- */

static bool exec_at(struct hk_stage *s, struct guest_kernel *k, struct mv_guest *g, uint64_t va)
{
	make_rwx(s, k, va);
	return mv_guest_fetch(g, va, 16) == 0;
}

static bool hk_exec_data(struct hk_stage *s, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t va = sec_va(k, GK_DATA, NULL);

	HK_EXPECT(s, mv_guest_write(g, va, &payload, sizeof(payload)) == 0);   /* data is writable */
	return exec_at(s, k, g, va);
}

static bool hk_exec_rodata(struct hk_stage *s, struct guest_kernel *k, struct mv_guest *g)
{
	return exec_at(s, k, g, sec_va(k, GK_RODATA, NULL));
}

/*
 * The attacker's code through the direct-map alias of text. Stage 2 sees a
 * guest-physical page, not the alias: the fetch itself cannot be told from
 * a fetch of the real text (it runs the same, unchanged bytes), but the
 * payload never gets there: the attack is its write.
 */
static bool hk_exec_text_alias(struct hk_stage *s, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t pa, alias;
	bool wrote;

	sec_va(k, GK_TEXT, &pa);
	alias = GK_PAGE_OFFSET + pa + 2 * GK_PAGE_SIZE;
	wrote = write_through(s, k, g, alias, alias);
	HK_EXPECT(s, mv_guest_fetch(g, alias, 16) == 0);
	return wrote;
}

/* ---- control registers ---- */

static bool hk_clear_wp(struct hk_stage *s, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t cr0 = 0, after = 0, va = sec_va(k, GK_RODATA, NULL), back = 0;
	long r;

	HK_EXPECT(s, mv_guest_read_cr(g, 0, &cr0) == 0 && (cr0 & CR0_WP));
	r = mv_guest_write_cr(g, 0, cr0 & ~CR0_WP);
	HK_EXPECT(s, mv_guest_read_cr(g, 0, &after) == 0);
	HK_EXPECT(s, r == 0 ? !(after & CR0_WP) : after == cr0);
	/* with WP clear the supervisor writes through read-only entries */
	r = mv_guest_write(g, va, &payload, sizeof(payload));
	HK_EXPECT(s, mv_guest_read(g, va, &back, sizeof(back)) == 0);
	return r == 0 && back == payload;
}

static void clear_cr4(struct hk_stage *s, struct mv_guest *g, uint64_t bit)
{
	uint64_t cr4 = 0, after = 0;
	long r;

	HK_EXPECT(s, mv_guest_read_cr(g, 4, &cr4) == 0 && (cr4 & bit));
	r = mv_guest_write_cr(g, 4, cr4 & ~bit);
	HK_EXPECT(s, mv_guest_read_cr(g, 4, &after) == 0);
	HK_EXPECT(s, r == 0 ? !(after & bit) : after == cr4);
}

static bool hk_clear_smep(struct hk_stage *s, struct guest_kernel *k, struct mv_guest *g)
{
	(void)k;
	HK_EXPECT(s, mv_guest_fetch(g, GK_USER_PAGE, 16) == -EFAULT);     /* SMEP at work */
	clear_cr4(s, g, CR4_SMEP);
	return mv_guest_fetch(g, GK_USER_PAGE, 16) == 0;
}

static bool hk_clear_smap(struct hk_stage *s, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t v;

	(void)k;
	HK_EXPECT(s, mv_guest_read(g, GK_USER_PAGE, &v, sizeof(v)) == -EFAULT);
	clear_cr4(s, g, CR4_SMAP);
	return mv_guest_read(g, GK_USER_PAGE, &v, sizeof(v)) == 0;
}

/* ---- the page list and the paths beyond the RFC ---- */

/* A page list of its own after boot: text READ|WRITE|EXEC. */
static bool hk_forged_page_list(struct hk_stage *s, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t pa, npages, list = 0, epa, perm = MEM_ATTR_READ | MEM_ATTR_WRITE | MEM_ATTR_EXEC;
	uint64_t va = guest_kernel_section(k, GK_TEXT, &pa, &npages);
	long r;

	epa = pa + npages * GK_PAGE_SIZE;
	HK_EXPECT(s, guest_heki_build_list(k, &pa, &epa, &perm, 1, &list) == 0);
	r = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, list, 0, 0, 0);
	HK_EXPECT(s, guest_heki_protected(k) ? r == -KVM_EPERM : r == 0);
	guest_heki_free_list(k, list);
	return write_through(s, k, g, va + 0x300, va + 0x300);
}

/* The VMM deletes guest RAM's slot and adds it back (at a hypercall it takes). */
static bool hk_memslot_readd(struct hk_stage *s, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t va = sec_va(k, GK_TEXT, NULL) + 0x400;

	HK_EXPECT(s, mv_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, 0x10000, 1, 0, 0) == 0);
	return write_through(s, k, g, va, va);
}

static uint8_t hk_mod_text[4096];

static bool hk_unsigned_module(struct hk_stage *s, struct guest_kernel *k, struct mv_guest *g)
{
	struct guest_module *mod = NULL;
	bool ran;

	HK_EXPECT(s, guest_module_load(k, hk_mod_text, sizeof(hk_mod_text), 0, &mod) == 0);
	if (!mod)
		return false;
	HK_EXPECT(s, guest_module_authenticated(mod) ==
		     (guest_heki_protected(k) ? 0 : -EOPNOTSUPP));
	ran = mv_guest_fetch(g, guest_module_text(mod, NULL), 16) == 0;
	guest_module_unload(k, mod);
	return ran;
}

static bool hk_patch_outside_site(struct hk_stage *s, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t va = sec_va(k, GK_TEXT, NULL) + 0x800;
	uint8_t back[5];
	long r;

	r = guest_text_poke(k, va, jmp5, 5);
	HK_EXPECT(s, guest_heki_protected(k) ? r == -EPERM : r == 0);
	HK_EXPECT(s, mv_guest_read(g, va, back, 5) == 0);
	return r == 0 && !memcmp(back, jmp5, 5);
}

/* ---- the VMM's side ---- */

static long hk_policy(struct hk_stage *s, uint32_t type, const void *entries, uint32_t count)
{
	struct kvm_heki_policy p = {
		.type = type, .count = count, .entries = (uint64_t)(uintptr_t)entries,
	};

	return atk_ioctl(&s->v, s->v.vm, KVM_HEKI_SET_POLICY, &p);
}

/* The hypercall exit on which the VMM deletes and re-adds the RAM slot. */
static long hk_vmm_readd(struct hk_stage *s)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_HYPERCALL };

	cap.args[0] = 1ull << KVM_HC_MAP_GPA_RANGE;
	s->readd_on_hypercall = true;
	return atk_ioctl(&s->v, s->v.vm, KVM_ENABLE_CAP, &cap);
}

/* The allow-list holds one module; the one loaded differs by a byte. */
static long hk_vmm_module_hashes(struct hk_stage *s)
{
	struct kvm_heki_module_hash h;

	memset(hk_mod_text, 0x90, sizeof(hk_mod_text));
	sha256(hk_mod_text, sizeof(hk_mod_text), h.sha256);
	hk_mod_text[0] = 0xcc;
	return hk_policy(s, KVM_HEKI_POLICY_MODULE_HASHES, &h, 1);
}

/* The image's first jump label (GK_IMAGE_PA + 0x100) is the one declared site. */
static long hk_vmm_patch_sites(struct hk_stage *s)
{
	static const uint8_t nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
	struct kvm_heki_patch_site site = { .len = 5, .nforms = 2 };

	site.gpa = GK_IMAGE_PA + 0x100;
	site.gva = GK_KERNEL_MAP + site.gpa;
	memcpy(site.forms[0], nop5, 5);
	memcpy(site.forms[1], jmp5, 5);
	return hk_policy(s, KVM_HEKI_POLICY_PATCH_SITES, &site, 1);
}

static void hk_guest_main(struct mv_guest *g, void *arg)
{
	struct hk_stage *s = arg;

	s->boot = guest_kernel_boot(g, &s->cfg, &s->kernel);
	if (!s->boot)
		s->succeeded = s->attack(s, s->kernel, g);
}

/* KVM_RUN until HLT; denials counted and resumed, the slot game played on the hypercall. */
static long hk_run_guest(struct hk_stage *s)
{
	long ret = mv_vcpu_set_guest(s->v.vmm, s->v.vcpu, hk_guest_main, s);
	uint64_t size = HK_RAM;

	while (!ret) {
		ret = atk_ioctl(&s->v, s->v.vcpu, KVM_RUN, NULL);
		if (ret || s->run->exit_reason == KVM_EXIT_HLT)
			break;
		if (s->run->exit_reason == KVM_EXIT_HEKI_DENIAL)
			s->denials++;
		else if (s->run->exit_reason == KVM_EXIT_HYPERCALL && s->readd_on_hypercall) {
			struct kvm_userspace_memory_region r = { .userspace_addr = s->map };

			s->slot_delete = atk_ioctl(&s->v, s->v.vm, KVM_SET_USER_MEMORY_REGION, &r);
			r.memory_size = size;
			s->slot_add = atk_ioctl(&s->v, s->v.vm, KVM_SET_USER_MEMORY_REGION, &r);
			s->run->hypercall.ret = 0;
		} else if (s->run->exit_reason != KVM_EXIT_HEKI_CONFIGURE)
			ret = -EIO;
	}
	return ret;
}

static int hk_attack(bool protect, struct attack_outcome *out, hk_run attack,
		     long (*vmm)(struct hk_stage *s))
{
	static struct hk_stage s;
	struct kvm_enable_cap cap = { .cap = KVM_CAP_HEKI_DENIAL };
	long ret;

	memset(&s, 0, sizeof(s));
	ret = atk_vm_create(&s.v, 0, 0);
	if (ret)
		return (int)ret;
	s.attack = attack;
	s.cfg.ram_bytes = HK_RAM;
	s.cfg.heki = protect;
	s.run = mv_vcpu_run_area(s.v.vmm, s.v.vcpu);
	ret = atk_vm_ram(&s.v, 0, 0, 0, HK_RAM, &s.map);
	cap.args[0] = KVM_HEKI_EXIT_REASON_CR0 | KVM_HEKI_EXIT_REASON_CR4 | KVM_HEKI_EXIT_REASON_MEM;
	if (!ret && protect)
		ret = atk_ioctl(&s.v, s.v.vm, KVM_ENABLE_CAP, &cap);
	if (!ret && vmm)
		ret = vmm(&s);
	if (!ret)
		ret = hk_run_guest(&s);
	if (!ret && (s.boot || s.fail))
		ret = -EIO;
	/* the slot game: refused with Heki (IMMUTABLE pages in it), allowed without */
	if (!ret && s.readd_on_hypercall && s.slot_delete != (protect ? -EPERM : 0))
		ret = -EIO;
	if (!ret && s.succeeded)
		atk_outcome(out, ATTACK_SUCCEEDED, 0, "the guest kernel did it");
	else if (!ret && s.denials)
		atk_outcome(out, ATTACK_REPORTED, 0,
			    "stage 2 or a pinned CR refused; %ld denial exit(s) to the VMM", s.denials);
	else if (!ret)
		atk_outcome(out, ATTACK_BLOCKED, 0, "KVM refused it (no exit)");
	guest_kernel_free(s.kernel);
	atk_vm_destroy(&s.v);
	return (int)ret;
}

#define HK_ATTACK(fn, attack, vmm)                                           \
	static int fn(bool protect, struct attack_outcome *out)               \
	{                                                                     \
		return hk_attack(protect, out, attack, vmm);                  \
	}
HK_ATTACK(atk_write_text, hk_write_text, NULL)
HK_ATTACK(atk_write_rodata, hk_write_rodata, NULL)
HK_ATTACK(atk_write_ro_after_init, hk_write_ro_after_init, NULL)
HK_ATTACK(atk_write_text_alias, hk_write_text_alias, NULL)
HK_ATTACK(atk_set_memory_rw_text, hk_set_memory_rw_text, NULL)
HK_ATTACK(atk_vmap_text_writable, hk_vmap_text_writable, NULL)
HK_ATTACK(atk_exec_data, hk_exec_data, NULL)
HK_ATTACK(atk_exec_rodata, hk_exec_rodata, NULL)
HK_ATTACK(atk_exec_text_alias, hk_exec_text_alias, NULL)
HK_ATTACK(atk_clear_wp, hk_clear_wp, NULL)
HK_ATTACK(atk_clear_smep, hk_clear_smep, NULL)
HK_ATTACK(atk_clear_smap, hk_clear_smap, NULL)
HK_ATTACK(atk_forged_page_list, hk_forged_page_list, NULL)
HK_ATTACK(atk_memslot_readd, hk_memslot_readd, hk_vmm_readd)
HK_ATTACK(atk_unsigned_module, hk_unsigned_module, hk_vmm_module_hashes)
HK_ATTACK(atk_patch_outside_site, hk_patch_outside_site, hk_vmm_patch_sites)

const struct attack attacks_heki[] = {
	{ "heki-write-text", "heki", "write kernel text through an entry made writable",
	  CLAIM_REPORTS, atk_write_text, false },
	{ "heki-write-rodata", "heki", "write read-only data", CLAIM_REPORTS, atk_write_rodata,
	  false },
	{ "heki-write-ro-after-init", "heki", "write __ro_after_init data",
	  CLAIM_REPORTS, atk_write_ro_after_init, false },
	{ "heki-write-text-alias", "heki", "write text through its direct-map alias",
	  CLAIM_REPORTS, atk_write_text_alias, false },
	{ "heki-set-memory-rw-text", "heki", "set_memory_rw() on text, then store",
	  CLAIM_REPORTS, atk_set_memory_rw_text, false },
	{ "heki-vmap-text-writable", "heki", "a second, writable vmap of a text page",
	  CLAIM_REPORTS, atk_vmap_text_writable, false },
	{ "heki-exec-data", "heki", "execute from data", CLAIM_REPORTS, atk_exec_data, false },
	{ "heki-exec-rodata", "heki", "execute from read-only data", CLAIM_REPORTS, atk_exec_rodata,
	  false },
	{ "heki-exec-text-alias", "heki", "plant code through text's direct-map alias, run it",
	  CLAIM_REPORTS, atk_exec_text_alias, false },
	{ "heki-clear-cr0-wp", "heki", "clear CR0.WP, then write read-only data",
	  CLAIM_REPORTS, atk_clear_wp, false },
	{ "heki-clear-cr4-smep", "heki", "clear CR4.SMEP, then run a user page",
	  CLAIM_REPORTS, atk_clear_smep, false },
	{ "heki-clear-cr4-smap", "heki", "clear CR4.SMAP, then read a user page",
	  CLAIM_REPORTS, atk_clear_smap, false },
	{ "heki-forged-page-list", "heki", "a page list of its own after boot: text RWX",
	  CLAIM_REPORTS, atk_forged_page_list, false },
	{ "heki-memslot-readd", "heki", "the VMM deletes and re-adds the slot under text",
	  CLAIM_REPORTS, atk_memslot_readd, false },
	{ "heki-unsigned-module", "heki", "load a module not on the allow-list and run it",
	  CLAIM_REPORTS, atk_unsigned_module, false },
	{ "heki-patch-outside-site", "heki", "text_poke outside a declared patch site",
	  CLAIM_BLOCKS, atk_patch_outside_site, false },
	{ NULL, NULL, NULL, CLAIM_NONE, NULL, false },
};
