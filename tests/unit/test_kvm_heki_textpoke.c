/* SPDX-License-Identifier: MIT */
/*
 * Validated text patching (beyond the RFC; docs/heki.md): the VMM declares
 * patch sites (KVM_HEKI_POLICY_PATCH_SITES: GPA, length, allowed byte
 * sequences); KVM_HC_HEKI_TEXT_POKE writes text that stays read-only and
 * immutable, only at a declared site and only one of its sequences.
 * Anything else is -KVM_EPERM and the text is unchanged.
 */
#include "hekitest.h"

#define R  MEM_ATTR_READ
#define X  MEM_ATTR_EXEC
#define IM MEM_ATTR_IMMUTABLE
#define TEXT  HT_DATA
#define SITE  (TEXT + 0x40)          /* a jump label: 5-byte NOP or JMP */
#define SITE2 (TEXT + KT_PG + 0x10)  /* a 2-byte site */

static const uint8_t nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
static const uint8_t jmp5[5] = { 0xe9, 0x10, 0x20, 0x00, 0x00 };

struct tctx {
	long r[16];
	int vec[16];
	uint8_t after[3][8];
};

static uint64_t lo(const uint8_t *b, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n && i < 8; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static long poke(struct mv_guest *g, uint64_t gpa, uint64_t len, uint64_t bytes)
{
	return mv_guest_hypercall(g, KVM_HC_HEKI_TEXT_POKE, gpa, len, bytes, 0);
}

static void guest_poke(struct mv_guest *g, void *arg)
{
	struct tctx *c = arg;
	uint8_t evil[5] = { 0xcc, 0xcc, 0xcc, 0xcc, 0xcc };

	ht_long_mode(g);
	c->r[0] = ht_protect(g, TEXT, TEXT + 2 * KT_PG, R | X | IM);
	c->r[1] = mv_guest_write(g, SITE, jmp5, 5);              /* plain write: #PF */
	c->vec[1] = c->r[1] ? ht_vector(g) : 0;
	c->r[2] = poke(g, SITE, 5, lo(jmp5, 5));                  /* enable the key */
	mv_guest_read(g, SITE, c->after[0], 5);
	c->r[3] = poke(g, SITE, 5, lo(nop5, 5));                  /* and disable it */
	mv_guest_read(g, SITE, c->after[1], 5);
	c->r[4] = poke(g, SITE, 5, lo(evil, 5));                  /* not an allowed form */
	c->r[5] = poke(g, SITE + 1, 5, lo(jmp5, 5));              /* not a declared site */
	c->r[6] = poke(g, SITE, 4, lo(jmp5, 4));                  /* wrong length */
	c->r[7] = poke(g, SITE, 0, 0);
	c->r[8] = poke(g, SITE, 17, 0);
	c->r[9] = poke(g, TEXT + 0x800, 2, 0x9090);               /* elsewhere in text */
	c->r[10] = poke(g, SITE2, 2, 0x05eb);                     /* jmp +5 */
	mv_guest_read(g, SITE2, c->after[2], 2);
	c->r[11] = mv_guest_fetch(g, SITE, 5);                    /* still executable */
}

static void test_kvm_heki_text_poke_only_declared_sites(void **state)
{
	struct kvm_heki_patch_site sites[2];
	struct tctx c;
	struct ht h;
	uint8_t seen[8];

	(void)state;
	memset(&c, 0, sizeof(c));
	memset(sites, 0, sizeof(sites));
	sites[0].gva = 0xffffffff81000040ull;
	sites[0].gpa = SITE;
	sites[0].len = 5;
	sites[0].nforms = 2;
	memcpy(sites[0].forms[0], nop5, 5);
	memcpy(sites[0].forms[1], jmp5, 5);
	sites[1].gpa = SITE2;
	sites[1].len = 2;
	sites[1].nforms = 2;
	memcpy(sites[1].forms[0], "\x66\x90", 2);
	memcpy(sites[1].forms[1], "\xeb\x05", 2);
	ht_setup(&h);
	assert_int_equal(mv_user_write(h.k.t, h.map + SITE, nop5, 5), 0);
	assert_int_equal(ht_policy(&h, KVM_HEKI_POLICY_PATCH_SITES, sites, 2), 0);
	ht_guest(&h, guest_poke, &c);
	ht_run_to_hlt(&h);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], -EFAULT);
	assert_int_equal(c.vec[1], 14);
	assert_int_equal(c.r[2], 0);
	assert_memory_equal(c.after[0], jmp5, 5);
	assert_int_equal(c.r[3], 0);
	assert_memory_equal(c.after[1], nop5, 5);
	for (int i = 4; i <= 6; i++)
		if (c.r[i] != -KVM_EPERM)
			fail_msg("case %d: %ld", i, c.r[i]);
	assert_int_equal(c.r[7], -KVM_EINVAL);
	assert_int_equal(c.r[8], -KVM_EINVAL);
	assert_int_equal(c.r[9], -KVM_EPERM);
	assert_int_equal(c.r[10], 0);
	assert_memory_equal(c.after[2], "\xeb\x05", 2);
	assert_int_equal(c.r[11], 0);
	assert_int_equal(mv_user_read(h.k.t, h.map + SITE, seen, 5), 0);
	assert_memory_equal(seen, nop5, 5);
	ht_teardown(&h);
}

static void test_kvm_heki_patch_site_policy_errnos(void **state)
{
	struct kvm_heki_patch_site s;
	struct ht h;

	(void)state;
	ht_setup(&h);
	memset(&s, 0, sizeof(s));
	s.gpa = 0x1000;
	s.len = 5;
	s.nforms = 1;
	assert_int_equal(ht_policy(&h, KVM_HEKI_POLICY_PATCH_SITES, &s, 1), 0);
	s.len = 0;
	assert_int_equal(ht_policy(&h, KVM_HEKI_POLICY_PATCH_SITES, &s, 1), -EINVAL);
	s.len = 17;
	assert_int_equal(ht_policy(&h, KVM_HEKI_POLICY_PATCH_SITES, &s, 1), -EINVAL);
	s.len = 5;
	s.nforms = 0;
	assert_int_equal(ht_policy(&h, KVM_HEKI_POLICY_PATCH_SITES, &s, 1), -EINVAL);
	s.nforms = 5;
	assert_int_equal(ht_policy(&h, KVM_HEKI_POLICY_PATCH_SITES, &s, 1), -EINVAL);
	s.nforms = 1;
	s.gpa = 0x1ffe;                                           /* crosses a page */
	assert_int_equal(ht_policy(&h, KVM_HEKI_POLICY_PATCH_SITES, &s, 1), -EINVAL);
	ht_teardown(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_heki_text_poke_only_declared_sites),
		cmocka_unit_test(test_kvm_heki_patch_site_policy_errnos),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
