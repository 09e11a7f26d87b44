/* SPDX-License-Identifier: MIT */
/*
 * Authenticated module text (beyond the RFC; docs/heki.md): with a SHA-256
 * allow-list from the VMM (KVM_HEKI_SET_POLICY), once the guest has locked
 * (its first KVM_HC_PROTECT_MEMORY) a page gains EXEC only through
 * KVM_HC_HEKI_AUTH_MODULE, which hashes the guest's memory itself: a listed
 * module becomes READ|EXEC|IMMUTABLE and runs; an unlisted or tampered one
 * loads (stays readable) but never executes.
 */
#include "hekitest.h"
#include "lib/sha256.h"

#define R  MEM_ATTR_READ
#define W  MEM_ATTR_WRITE
#define X  MEM_ATTR_EXEC
#define IM MEM_ATTR_IMMUTABLE
#define P(n) (HT_DATA + (n) * KT_PG)
#define MOD  P(16)      /* signed: 2 pages */
#define MOD2 P(20)      /* unsigned */
#define MOD3 P(24)      /* the signed text, one byte changed */

struct mctx {
	long r[24];
	int vec[24];
	uint64_t v;
};

static void fill(uint8_t *buf, uint8_t seed)
{
	for (size_t i = 0; i < 2 * KT_PG; i++)
		buf[i] = (uint8_t)(i * 31 + seed);
}

static long auth(struct mv_guest *g, uint64_t gpa, uint64_t size)
{
	return mv_guest_hypercall(g, KVM_HC_HEKI_AUTH_MODULE, gpa, size, 0, 0);
}

static void rec(struct mv_guest *g, struct mctx *c, int i, long r)
{
	c->r[i] = r;
	c->vec[i] = r == -EFAULT ? ht_vector(g) : 0;
}

static void guest_modules(struct mv_guest *g, void *arg)
{
	struct mctx *c = arg;
	uint8_t one = 0xff;

	ht_long_mode(g);
	/* boot: kernel text, a boot-time RX page, the loaded modules as data */
	rec(g, c, 0, ht_protect(g, P(0), P(2), R | X | IM));
	rec(g, c, 1, ht_protect(g, P(30), P(31), R | X));      /* after lock: keeps EXEC */
	rec(g, c, 2, ht_protect(g, MOD, MOD + 2 * KT_PG, R | W));
	rec(g, c, 3, ht_protect(g, MOD, MOD + 2 * KT_PG, R | X));   /* adds EXEC: refused */
	rec(g, c, 4, auth(g, MOD, 2 * KT_PG));
	rec(g, c, 5, mv_guest_fetch(g, MOD + KT_PG, 16));
	rec(g, c, 6, mv_guest_write(g, MOD, &one, 1));
	rec(g, c, 7, auth(g, MOD2, 2 * KT_PG));
	rec(g, c, 8, mv_guest_fetch(g, MOD2, 16));
	rec(g, c, 9, mv_guest_read(g, MOD2, &c->v, 8));
	rec(g, c, 10, mv_guest_write(g, MOD3 + 100, &one, 1));   /* tamper */
	rec(g, c, 11, auth(g, MOD3, 2 * KT_PG));
	rec(g, c, 12, mv_guest_fetch(g, MOD3, 16));
	rec(g, c, 13, auth(g, MOD, 2 * KT_PG));                  /* already immutable */
	rec(g, c, 14, auth(g, MOD2 + 8, KT_PG));
	rec(g, c, 15, auth(g, MOD2, 0));
	rec(g, c, 16, auth(g, MOD2, 100));
	rec(g, c, 17, ht_protect(g, P(30), P(31), R | W));
	rec(g, c, 18, ht_protect(g, P(30), P(31), R | X));       /* EXEC was dropped: refused */
	rec(g, c, 19, auth(g, 0x40000000, KT_PG));               /* no memory */
	/* a refused module's pages stay the guest's to re-protect (free it) */
	rec(g, c, 20, ht_protect(g, MOD2, MOD2 + 2 * KT_PG, R | W));
}

static void test_kvm_heki_module_allow_list(void **state)
{
	static uint8_t text[2 * KT_PG];
	struct kvm_heki_module_hash list[2];
	struct mctx c;
	struct ht h;

	(void)state;
	memset(&c, 0, sizeof(c));
	ht_setup(&h);
	fill(text, 1);
	sha256(text, sizeof(text), list[0].sha256);
	memset(list[1].sha256, 0x42, 32);
	assert_int_equal(mv_user_write(h.k.t, h.map + MOD, text, sizeof(text)), 0);
	assert_int_equal(mv_user_write(h.k.t, h.map + MOD3, text, sizeof(text)), 0);
	fill(text, 2);
	assert_int_equal(mv_user_write(h.k.t, h.map + MOD2, text, sizeof(text)), 0);
	assert_int_equal(ht_policy(&h, KVM_HEKI_POLICY_MODULE_HASHES, list, 2), 0);
	ht_guest(&h, guest_modules, &c);
	ht_run_to_hlt(&h);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.r[2], 0);
	assert_int_equal(c.r[3], -KVM_EPERM);
	assert_int_equal(c.r[4], 0);
	assert_int_equal(c.r[5], 0);
	assert_int_equal(c.r[6], -EFAULT);
	assert_int_equal(c.vec[6], 14);
	assert_int_equal(c.r[7], -KVM_EPERM);
	assert_int_equal(c.r[8], -EFAULT);
	assert_int_equal(c.vec[8], 14);
	assert_int_equal(c.r[9], 0);
	assert_int_equal(c.r[10], 0);
	assert_int_equal(c.r[11], -KVM_EPERM);
	assert_int_equal(c.r[12], -EFAULT);
	assert_int_equal(c.r[13], -KVM_EPERM);
	assert_int_equal(c.r[14], -KVM_EINVAL);
	assert_int_equal(c.r[15], -KVM_EINVAL);
	assert_int_equal(c.r[16], -KVM_EINVAL);
	assert_int_equal(c.r[17], 0);
	assert_int_equal(c.r[18], -KVM_EPERM);
	assert_int_equal(c.r[19], -KVM_EFAULT);
	assert_int_equal(c.r[20], 0);
	ht_teardown(&h);
}

/* Without the allow-list the RFC's model holds: the guest grants EXEC itself. */
static void guest_no_list(struct mv_guest *g, void *arg)
{
	struct mctx *c = arg;

	ht_long_mode(g);
	rec(g, c, 0, ht_protect(g, MOD, MOD + KT_PG, R | W));
	rec(g, c, 1, ht_protect(g, MOD, MOD + KT_PG, R | X));
	rec(g, c, 2, mv_guest_fetch(g, MOD, 16));
}

static void test_kvm_heki_unsigned_module_runs_without_policy(void **state)
{
	struct mctx c;
	struct ht h;

	(void)state;
	memset(&c, 0, sizeof(c));
	ht_setup(&h);
	ht_guest(&h, guest_no_list, &c);
	ht_run_to_hlt(&h);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.r[2], 0);
	ht_teardown(&h);
}

static void test_kvm_heki_policy_errnos(void **state)
{
	struct kvm_heki_module_hash hsh = { { 0 } };
	struct kvm_heki_policy p = { .type = KVM_HEKI_POLICY_MODULE_HASHES, .count = 1,
				     .entries = (uint64_t)(uintptr_t)&hsh };
	struct ht h;

	(void)state;
	ht_setup(&h);
	assert_int_equal(kt_ioctl(h.k.t, h.k.vm, KVM_CHECK_EXTENSION, KVM_CAP_HEKI_POLICY), 1);
	p.type = 3;
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_HEKI_SET_POLICY, &p), -EINVAL);
	p.type = KVM_HEKI_POLICY_MODULE_HASHES;
	p.flags = 1;
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_HEKI_SET_POLICY, &p), -EINVAL);
	p.flags = 0;
	p.reserved[2] = 1;
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_HEKI_SET_POLICY, &p), -EINVAL);
	p.reserved[2] = 0;
	p.count = KVM_HEKI_POLICY_MAX + 1;
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_HEKI_SET_POLICY, &p), -EINVAL);
	p.count = 1;
	p.entries = 16;
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_HEKI_SET_POLICY, &p), -EFAULT);
	assert_int_equal(kt_ioctl(h.k.t, h.k.vm, KVM_HEKI_SET_POLICY, 16), -EFAULT);
	p.count = 0;
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_HEKI_SET_POLICY, &p), 0);   /* empty list */
	ht_teardown(&h);
	/* without MBEC stage 2 cannot keep kernel execution off a page */
	ht_setup_full(&h, MV_FEAT_MBEC, 0);
	p.entries = (uint64_t)(uintptr_t)&hsh;
	p.count = 1;
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_HEKI_SET_POLICY, &p), -EOPNOTSUPP);
	ht_teardown(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_heki_module_allow_list),
		cmocka_unit_test(test_kvm_heki_unsigned_module_runs_without_policy),
		cmocka_unit_test(test_kvm_heki_policy_errnos),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
