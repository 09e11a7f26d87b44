/* SPDX-License-Identifier: MIT */
/*
 * The reviewers' objections to Heki (docs/heki.md, "What a guest can still
 * do"), each shown: what memvisor blocks and what it cannot.
 * - Aliases of text through the direct map: stage 2 protects the GPA, so
 *   every guest-virtual alias of a protected page is refused alike.
 * - DMA by the VMM: not the guest's access; nothing stops it
 *   (test_kvm_heki_stage2: test_kvm_heki_vmm_writes_are_not_blocked).
 * - KASLR: KVM keys everything by GPA; a VMM that declared patch sites at
 *   GPAs the guest did not use gets every poke refused (fails closed), and
 *   cannot learn the real ones from KVM.
 * And the memory map shows the protection (R/W/X, IMMUTABLE chips).
 */
#include "hekitest.h"

#define R  MEM_ATTR_READ
#define W  MEM_ATTR_WRITE
#define X  MEM_ATTR_EXEC
#define IM MEM_ATTR_IMMUTABLE
#define TEXT  HT_DATA
#define ALIAS 0x401000ull             /* a second GVA for TEXT */

struct octx {
	long r[8];
	int vec[8];
};

static void guest_alias(struct mv_guest *g, void *arg)
{
	struct octx *c = arg;
	uint64_t e, v = 0xcc;

	ht_long_mode(g);
	e = 0x14000 | HT_PTE_P | HT_PTE_RW;
	mv_guest_write(g, 0x12000 + 2 * 8, &e, 8);
	e = TEXT | HT_PTE_P | HT_PTE_RW;                       /* writable alias of text */
	mv_guest_write(g, 0x14000 + 8, &e, 8);
	c->r[0] = mv_guest_write(g, ALIAS, &v, 8);              /* Heki off: the alias writes text */
	c->r[1] = ht_protect(g, TEXT, TEXT + KT_PG, R | X | IM);
	c->r[2] = mv_guest_write(g, ALIAS + 8, &v, 8);
	c->vec[2] = c->r[2] ? ht_vector(g) : 0;
	c->r[3] = mv_guest_write(g, TEXT + 8, &v, 8);
	c->r[4] = mv_guest_fetch(g, ALIAS, 16);                 /* the alias may still run it */
	/* data pages the guest keeps R|W, with EXEC off (MBEC) */
	c->r[5] = ht_protect(g, TEXT + KT_PG, TEXT + 3 * KT_PG, R | W);
}

static void test_kvm_heki_direct_map_alias_is_blocked(void **state)
{
	struct mv_vm_range map[8];
	struct octx c;
	struct ht h;
	uint64_t seen = 0;
	long n;

	(void)state;
	memset(&c, 0, sizeof(c));
	ht_setup(&h);
	ht_guest(&h, guest_alias, &c);
	ht_run_to_hlt(&h);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.r[2], -EFAULT);
	assert_int_equal(c.vec[2], 14);
	assert_int_equal(c.r[3], -EFAULT);
	assert_int_equal(c.r[4], 0);
	assert_int_equal(c.r[5], 0);
	assert_int_equal(mv_user_read(h.k.t, h.map + TEXT + 8, &seen, 8), 0);
	assert_int_equal(seen, 0);
	/* the memory map: [0, TEXT) plain, text R|X|IMMUTABLE, data R|W, the rest plain */
	n = mv_vm_memory_map(h.k.t, h.k.vm, map, 8);
	assert_int_equal(n, 4);
	assert_int_equal(map[0].flags, MV_RANGE_READ | MV_RANGE_WRITE | MV_RANGE_EXEC);
	assert_int_equal(map[1].gpa, TEXT);
	assert_int_equal(map[1].size, KT_PG);
	assert_int_equal(map[1].flags, MV_RANGE_READ | MV_RANGE_EXEC | MV_RANGE_IMMUTABLE);
	assert_int_equal(map[2].size, 2 * KT_PG);
	assert_int_equal(map[2].flags, MV_RANGE_READ | MV_RANGE_WRITE);
	assert_int_equal(map[3].flags, MV_RANGE_READ | MV_RANGE_WRITE | MV_RANGE_EXEC);
	ht_teardown(&h);
}

/* Physical KASLR: the kernel's text is not where the VMM declared its sites. */
static void guest_kaslr(struct mv_guest *g, void *arg)
{
	struct octx *c = arg;

	ht_long_mode(g);
	c->r[0] = ht_protect(g, TEXT + 0x10000, TEXT + 0x11000, R | X | IM);
	c->r[1] = mv_guest_hypercall(g, KVM_HC_HEKI_TEXT_POKE, TEXT + 0x10040, 2, 0x9066, 0);
	c->r[2] = mv_guest_hypercall(g, KVM_HC_HEKI_TEXT_POKE, TEXT + 0x40, 2, 0x9066, 0);
}

static void test_kvm_heki_kaslr_sites_fail_closed(void **state)
{
	struct kvm_heki_patch_site s;
	struct octx c;
	struct ht h;

	(void)state;
	memset(&c, 0, sizeof(c));
	memset(&s, 0, sizeof(s));
	s.gpa = TEXT + 0x40;                                   /* where the VMM expects it */
	s.len = 2;
	s.nforms = 1;
	memcpy(s.forms[0], "\x66\x90", 2);
	ht_setup(&h);
	assert_int_equal(ht_policy(&h, KVM_HEKI_POLICY_PATCH_SITES, &s, 1), 0);
	ht_guest(&h, guest_kaslr, &c);
	ht_run_to_hlt(&h);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], -KVM_EPERM);                  /* the real site: refused */
	assert_int_equal(c.r[2], 0);                           /* the declared GPA, not text */
	ht_teardown(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_heki_direct_map_alias_is_blocked),
		cmocka_unit_test(test_kvm_heki_kaslr_sites_fail_closed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
