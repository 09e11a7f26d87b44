/* SPDX-License-Identifier: MIT */
/*
 * A compromised guest kernel's attacks, each run twice: on a VM where the
 * guest never enabled Heki (the attack succeeds) and on one where it
 * protected itself at the end of boot, pinned its CRs, and the VMM gave a
 * module allow-list and the patch sites (the attack is blocked, and the
 * memory it aimed at is unchanged). The guest-kernel versions of these
 * attacks, through the guest kernel's own calls, are in
 * tests/conformance/heki_guest_attacks.mvs.
 */
#include <stdbool.h>

#include "hekitest.h"
#include "lib/sha256.h"

#define R  MEM_ATTR_READ
#define W  MEM_ATTR_WRITE
#define X  MEM_ATTR_EXEC
#define IM MEM_ATTR_IMMUTABLE
#define P(n) (HT_DATA + (n) * KT_PG)
#define TEXT   P(0)        /* 2 pages */
#define RODATA P(2)
#define ROAI   P(3)        /* ro_after_init */
#define DATA   P(4)        /* 4 pages */
#define MODULE P(16)       /* 2 pages, not on the allow-list */
#define SITE   (TEXT + 0x40)
#define ALIAS  0x401000ull /* a writable alias of TEXT the attacker maps */
#define CR0_WP   (1ull << 16)
#define CR4_PAE  (1ull << 5)
#define CR4_SMEP (1ull << 20)

enum {
	A_WRITE_TEXT, A_WRITE_RODATA, A_WRITE_ROAI, A_EXEC_DATA, A_EXEC_RODATA, A_ALIAS_TEXT,
	A_LIST_TEXT_RW, A_UNSIGNED_MODULE, A_PATCH_OUTSIDE_SITE, A_CLEAR_WP, A_CLEAR_SMEP,
	A_SLOT_REUSE, A_COUNT
};

static const char *const names[A_COUNT] = {
	"write kernel text", "write rodata", "write ro_after_init", "execute data",
	"execute rodata", "write text through an alias", "page list makes text writable",
	"run an unsigned module", "patch text outside a declared site", "clear CR0.WP",
	"clear CR4.SMEP", "reuse immutable memory through a memslot",
};

struct actx {
	bool heki;
	long ok[A_COUNT];   /* 1: the attack did what it wanted */
};

static bool w8(struct mv_guest *g, uint64_t gva, uint64_t v)
{
	return mv_guest_write(g, gva, &v, 8) == 0;
}

static void boot(struct mv_guest *g, struct actx *c)
{
	struct heki_pages e[6] = {
		{ TEXT, TEXT + 2 * KT_PG, R | X | IM },
		{ RODATA, RODATA + KT_PG, R | IM },
		{ ROAI, ROAI + KT_PG, R | IM },
		{ DATA, DATA + 4 * KT_PG, R | W },
		{ MODULE, MODULE + 2 * KT_PG, R | W },
		{ 0, HT_DATA, R | W | X },   /* page tables, lists: the rest of low memory */
	};
	uint64_t e2 = 0x14000 | HT_PTE_P | HT_PTE_RW;

	ht_long_mode(g);
	mv_guest_write(g, 0x12000 + 2 * 8, &e2, 8);
	mv_guest_write_cr(g, 4, CR4_PAE | CR4_SMEP);
	if (!c->heki)
		return;
	ht_put_list(g, HT_LIST, 0, e, 6);
	assert_int_equal(mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, HT_LIST, 0, 0, 0), 0);
	assert_int_equal(mv_guest_hypercall(g, KVM_HC_LOCK_CR_UPDATE, 0, CR0_WP, 0, 0), 0);
	assert_int_equal(mv_guest_hypercall(g, KVM_HC_LOCK_CR_UPDATE, 4, CR4_SMEP, 0, 0), 0);
}

static void guest_attacks(struct mv_guest *g, void *arg)
{
	struct actx *c = arg;
	uint64_t e;

	boot(g, c);
	c->ok[A_WRITE_TEXT] = w8(g, TEXT + 0x100, 0xcc);
	c->ok[A_WRITE_RODATA] = w8(g, RODATA, 0xbad);
	c->ok[A_WRITE_ROAI] = w8(g, ROAI, 0xbad);
	c->ok[A_EXEC_DATA] = mv_guest_fetch(g, DATA, 16) == 0;
	c->ok[A_EXEC_RODATA] = mv_guest_fetch(g, RODATA, 16) == 0;
	e = TEXT | HT_PTE_P | HT_PTE_RW;
	mv_guest_write(g, 0x14000 + 8, &e, 8);
	c->ok[A_ALIAS_TEXT] = w8(g, ALIAS + 0x200, 0xcc);
	{
		struct heki_pages p = { TEXT, TEXT + KT_PG, R | W | X };

		ht_put_list(g, HT_LIST, 0, &p, 1);
		c->ok[A_LIST_TEXT_RW] =
			mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, HT_LIST, 0, 0, 0) == 0 &&
			w8(g, TEXT + 0x300, 0xcc);
	}
	{
		struct heki_pages p = { MODULE, MODULE + 2 * KT_PG, R | X };
		long a;

		ht_put_list(g, HT_LIST, 0, &p, 1);
		a = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, HT_LIST, 0, 0, 0);
		if (a)   /* refused: try to get it authenticated */
			mv_guest_hypercall(g, KVM_HC_HEKI_AUTH_MODULE, MODULE, 2 * KT_PG, 0, 0);
		c->ok[A_UNSIGNED_MODULE] = mv_guest_fetch(g, MODULE, 16) == 0;
	}
	c->ok[A_PATCH_OUTSIDE_SITE] =
		mv_guest_hypercall(g, KVM_HC_HEKI_TEXT_POKE, TEXT + 0x800, 1, 0xc3, 0) == 0 ||
		w8(g, TEXT + 0x800, 0xc3);
	c->ok[A_CLEAR_WP] = mv_guest_write_cr(g, 0, (1ull << 31) | 1) == 0;
	c->ok[A_CLEAR_SMEP] = mv_guest_write_cr(g, 4, CR4_PAE) == 0;
	/* the guest asks its VMM to unplug and replug the memory under its text */
	mv_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, TEXT, 2, 0, 0);
	c->ok[A_SLOT_REUSE] = w8(g, TEXT + 0x400, 0xcc);
}

static void run_attacks(bool heki, struct actx *c, uint64_t text_after[2])
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_HYPERCALL,
				      .args = { 1ull << KVM_HC_MAP_GPA_RANGE } };
	static uint8_t other[2 * KT_PG];
	struct kvm_heki_module_hash h;
	struct kvm_heki_patch_site s;
	struct ht ht;
	uint64_t fresh;

	memset(c, 0, sizeof(*c));
	c->heki = heki;
	ht_setup(&ht);
	assert_int_equal(kt_ioctl_p(ht.k.t, ht.k.vm, KVM_ENABLE_CAP, &cap), 0);
	if (heki) {
		memset(other, 0x5a, sizeof(other));
		sha256(other, sizeof(other), h.sha256);
		assert_int_equal(ht_policy(&ht, KVM_HEKI_POLICY_MODULE_HASHES, &h, 1), 0);
		memset(&s, 0, sizeof(s));
		s.gpa = SITE;
		s.len = 1;
		s.nforms = 1;
		s.forms[0][0] = 0x90;
		assert_int_equal(ht_policy(&ht, KVM_HEKI_POLICY_PATCH_SITES, &s, 1), 0);
	}
	ht_guest(&ht, guest_attacks, c);
	assert_int_equal(kt_run(&ht.k, ht.vcpu), 0);
	assert_int_equal(ht.run->exit_reason, KVM_EXIT_HYPERCALL);
	assert_int_equal(mv_user_read(ht.k.t, ht.map + TEXT + 0x100, &text_after[0], 8), 0);
	assert_int_equal(mv_user_read(ht.k.t, ht.map + RODATA, &text_after[1], 8), 0);
	/* the VMM does as asked: delete the slot, add fresh memory in its place */
	if (kt_region(&ht.k, 0, 0, 0, 0, 0) == 0) {
		fresh = kt_mmap(&ht.k, HT_RAM);
		/* the low pages (page tables) come along; text does not */
		for (uint64_t off = 0; off < HT_DATA; off += KT_PG) {
			uint8_t pg[KT_PG];

			assert_int_equal(mv_user_read(ht.k.t, ht.map + off, pg, KT_PG), 0);
			assert_int_equal(mv_user_write(ht.k.t, fresh + off, pg, KT_PG), 0);
		}
		assert_int_equal(kt_region(&ht.k, 0, 0, 0, HT_RAM, fresh), 0);
		ht.map = fresh;
	}
	ht.run->hypercall.ret = 0;
	ht_run_to_hlt(&ht);
	ht_teardown(&ht);
}

static void test_kvm_heki_attacks_succeed_off_blocked_on(void **state)
{
	struct actx off, on;
	uint64_t m_off[2], m_on[2];

	(void)state;
	run_attacks(false, &off, m_off);
	run_attacks(true, &on, m_on);
	for (int i = 0; i < A_COUNT; i++) {
		if (!off.ok[i])
			fail_msg("Heki off: \"%s\" did not succeed", names[i]);
		if (on.ok[i])
			fail_msg("Heki on: \"%s\" was not blocked", names[i]);
	}
	assert_int_equal(m_off[0], 0xcc);
	assert_int_equal(m_off[1], 0xbad);
	assert_int_equal(m_on[0], 0);      /* text and rodata unchanged */
	assert_int_equal(m_on[1], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_heki_attacks_succeed_off_blocked_on),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
