/* SPDX-License-Identifier: MIT */
/*
 * KVM_HC_LOCK_CR_UPDATE (SEMANTICS.md 2): other flags, pin == 0, cr above
 * U32_MAX, an unsupported CR, a CR0 mask without WP or with bits outside
 * the pinnable set, a CR4 mask outside {SMEP, SMAP, UMIP, FSGSBASE, CET}
 * -> -KVM_EINVAL. Pins are sticky; a guest write clearing a pinned bit is
 * #GP and the register keeps its value; setting pinned bits or touching
 * unpinned ones is free. CR4 bits the machine lacks are dropped.
 */
#include "hekitest.h"

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PAE  (1ull << 5)
#define CR4_UMIP (1ull << 11)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)

struct cctx {
	long r[32];
	int vec[32];
	uint64_t v[32];
};

static long lock_cr(struct mv_guest *g, uint64_t cr, uint64_t pin, uint64_t flags)
{
	return mv_guest_hypercall(g, KVM_HC_LOCK_CR_UPDATE, cr, pin, flags, 0);
}

static void guest_lock_errnos(struct mv_guest *g, void *arg)
{
	struct cctx *c = arg;

	ht_long_mode(g);
	c->r[0] = lock_cr(g, 0, CR0_WP, 2);
	c->r[1] = lock_cr(g, 0, 0, 0);
	c->r[2] = lock_cr(g, 1ull << 32, CR0_WP, 0);
	c->r[3] = lock_cr(g, 3, CR0_WP, 0);
	c->r[4] = lock_cr(g, 0, CR0_PE, 0);                 /* no WP */
	c->r[5] = lock_cr(g, 0, CR0_WP | CR0_MP, 0);        /* MP is not pinnable */
	c->r[6] = lock_cr(g, 4, CR4_PAE, 0);
	c->r[7] = lock_cr(g, 4, CR4_SMEP | (1ull << 30), 0);
	c->r[8] = lock_cr(g, 8, 1, 0);
}

static void test_kvm_heki_lock_cr_errnos(void **state)
{
	struct ht h;
	struct cctx c;

	(void)state;
	memset(&c, 0, sizeof(c));
	ht_setup(&h);
	ht_guest(&h, guest_lock_errnos, &c);
	ht_run_to_hlt(&h);
	for (int i = 0; i <= 8; i++)
		if (c.r[i] != -KVM_EINVAL)
			fail_msg("case %d: %ld", i, c.r[i]);
	ht_teardown(&h);
}

static long wcr(struct mv_guest *g, struct cctx *c, int i, int cr, uint64_t v)
{
	c->r[i] = mv_guest_write_cr(g, cr, v);
	c->vec[i] = c->r[i] ? ht_vector(g) : 0;
	mv_guest_read_cr(g, cr, &c->v[i]);
	return c->r[i];
}

static void guest_pinning(struct mv_guest *g, void *arg)
{
	struct cctx *c = arg;
	uint64_t cr0 = CR0_PG | CR0_WP | CR0_PE, cr4 = CR4_PAE | CR4_SMEP | CR4_SMAP;

	ht_long_mode(g);
	wcr(g, c, 0, 4, cr4);
	c->r[1] = lock_cr(g, 0, CR0_WP, 0);
	c->r[2] = lock_cr(g, 4, CR4_SMEP | CR4_SMAP, 0);
	wcr(g, c, 3, 0, cr0 & ~CR0_WP);                      /* clears WP: #GP */
	wcr(g, c, 4, 0, cr0 | CR0_MP);                       /* unpinned bit: free */
	wcr(g, c, 5, 4, cr4 & ~CR4_SMEP);                    /* #GP */
	wcr(g, c, 6, 4, cr4 & ~CR4_SMAP);                    /* #GP */
	wcr(g, c, 7, 4, cr4 | CR4_UMIP);                     /* free */
	/* a smaller mask later does not unpin */
	c->r[8] = lock_cr(g, 4, CR4_UMIP, 0);
	wcr(g, c, 9, 4, CR4_PAE | CR4_SMAP | CR4_UMIP);      /* SMEP still pinned */
	wcr(g, c, 10, 4, CR4_PAE | CR4_SMEP | CR4_SMAP);     /* UMIP now pinned too */
}

static void test_kvm_heki_pinned_bit_cleared_is_gp(void **state)
{
	struct ht h;
	struct cctx c;

	(void)state;
	memset(&c, 0, sizeof(c));
	ht_setup(&h);
	ht_guest(&h, guest_pinning, &c);
	ht_run_to_hlt(&h);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.r[2], 0);
	assert_int_equal(c.r[3], -EFAULT);
	assert_int_equal(c.vec[3], 13);
	assert_true(c.v[3] & CR0_WP);                        /* kept */
	assert_int_equal(c.r[4], 0);
	assert_true(c.v[4] & CR0_MP);
	assert_int_equal(c.r[5], -EFAULT);
	assert_int_equal(c.vec[5], 13);
	assert_true(c.v[5] & CR4_SMEP);
	assert_int_equal(c.r[6], -EFAULT);
	assert_true(c.v[6] & CR4_SMAP);
	assert_int_equal(c.r[7], 0);
	assert_true(c.v[7] & CR4_UMIP);
	assert_int_equal(c.r[8], 0);
	assert_int_equal(c.r[9], -EFAULT);
	assert_int_equal(c.r[10], -EFAULT);
	assert_true(c.v[10] & CR4_UMIP);
	ht_teardown(&h);
}

/* A machine without SMEP: the bit is dropped from the mask, the call succeeds. */
static void guest_no_smep(struct mv_guest *g, void *arg)
{
	struct cctx *c = arg;

	ht_long_mode(g);
	c->r[0] = lock_cr(g, 4, CR4_SMEP | CR4_UMIP, 0);
}

static void test_kvm_heki_cr4_bits_machine_lacks_are_dropped(void **state)
{
	struct ht h;
	struct cctx c;

	(void)state;
	memset(&c, 0, sizeof(c));
	ht_setup_full(&h, MV_FEAT_SMEP, 0);
	assert_int_equal(ht_enable_cap(&h, KVM_CAP_HEKI_CONFIGURE, KVM_HEKI_EXIT_REASON_CR4), 0);
	ht_guest(&h, guest_no_smep, &c);
	assert_int_equal(kt_run(&h.k, h.vcpu), 0);
	assert_int_equal(h.run->exit_reason, KVM_EXIT_HEKI_CONFIGURE);
	assert_int_equal(h.run->heki_configure.reason, KVM_HEKI_EXIT_REASON_CR4);
	assert_int_equal(h.run->heki_configure.cr_pinned, CR4_UMIP);
	ht_run_to_hlt(&h);
	assert_int_equal(c.r[0], 0);
	ht_teardown(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_heki_lock_cr_errnos),
		cmocka_unit_test(test_kvm_heki_pinned_bit_cleared_is_gp),
		cmocka_unit_test(test_kvm_heki_cr4_bits_machine_lacks_are_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
