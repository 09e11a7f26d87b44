/* SPDX-License-Identifier: MIT */
/*
 * Stage 2 enforces the guest's Heki permissions (SEMANTICS.md 2): a page
 * without attributes is RWX; a write to a page without WRITE, a read of a
 * page without READ, a kernel fetch from a page without EXEC (with MBEC)
 * are #PF for the guest and the page keeps its content; without MBEC a
 * request lacking EXEC still gets it. Protection applies to translations
 * cached before the call.
 */
#include "hekitest.h"

#define R  MEM_ATTR_READ
#define W  MEM_ATTR_WRITE
#define X  MEM_ATTR_EXEC
#define P(n) (HT_DATA + (n) * KT_PG)

struct sctx {
	long r[24];
	struct mv_guest_fault f[24];
};

static void rec(struct mv_guest *g, struct sctx *c, int i, long r)
{
	c->r[i] = r;
	memset(&c->f[i], 0, sizeof(c->f[i]));
	if (r)
		mv_guest_last_fault(g, &c->f[i]);
}

static void guest_enforce(struct mv_guest *g, void *arg)
{
	struct sctx *c = arg;
	uint64_t v = 0xabcdef, back = 0;

	ht_long_mode(g);
	/* cached writable first: the protect must reach the TLB too */
	rec(g, c, 0, mv_guest_write(g, P(0), &v, 8));
	rec(g, c, 1, ht_protect(g, P(0), P(1), R));
	v = 0x666;
	rec(g, c, 2, mv_guest_write(g, P(0), &v, 8));           /* R: write -> #PF */
	rec(g, c, 3, mv_guest_read(g, P(0), &back, 8));
	c->r[20] = (long)back;
	rec(g, c, 4, mv_guest_fetch(g, P(0), 16));              /* no EXEC -> #PF (MBEC) */
	rec(g, c, 5, ht_protect(g, P(1), P(2), X));             /* execute-only */
	rec(g, c, 6, mv_guest_read(g, P(1), &back, 8));
	rec(g, c, 7, mv_guest_fetch(g, P(1), 16));
	rec(g, c, 8, ht_protect(g, P(2), P(3), R | W));
	rec(g, c, 9, mv_guest_write(g, P(2), &v, 8));
	rec(g, c, 10, mv_guest_fetch(g, P(2), 16));
	rec(g, c, 11, mv_guest_fetch(g, P(3), 16));             /* no attributes: RWX */
	rec(g, c, 12, mv_guest_write(g, P(3), &v, 8));
	/* not immutable: the guest may give WRITE back */
	rec(g, c, 13, ht_protect(g, P(0), P(1), R | W));
	rec(g, c, 14, mv_guest_write(g, P(0), &v, 8));
	/* a write spanning a writable and a read-only page changes neither */
	rec(g, c, 15, ht_protect(g, P(5), P(6), R));
	rec(g, c, 16, mv_guest_write(g, P(5) - 4, &v, 8));
	rec(g, c, 17, mv_guest_write(g, P(2), &v, 8));
}

static void test_kvm_heki_stage2_enforces_rwx(void **state)
{
	struct ht h;
	struct sctx c;
	uint64_t seen = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	ht_setup(&h);
	ht_guest(&h, guest_enforce, &c);
	ht_run_to_hlt(&h);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.r[2], -EFAULT);
	assert_int_equal(c.f[2].vector, 14);
	assert_int_equal(c.f[2].error_code, 0x3);               /* P | W */
	assert_int_equal(c.f[2].address, P(0));
	assert_int_equal(c.r[3], 0);
	assert_int_equal(c.r[20], 0xabcdef);                    /* unchanged */
	assert_int_equal(c.r[4], -EFAULT);
	assert_int_equal(c.f[4].vector, 14);
	assert_int_equal(c.f[4].error_code, 0x11);              /* P | I */
	assert_int_equal(c.r[5], 0);
	assert_int_equal(c.r[6], -EFAULT);
	assert_int_equal(c.f[6].error_code, 0x1);
	assert_int_equal(c.r[7], 0);
	assert_int_equal(c.r[9], 0);
	assert_int_equal(c.r[10], -EFAULT);
	assert_int_equal(c.r[11], 0);
	assert_int_equal(c.r[12], 0);
	assert_int_equal(c.r[13], 0);
	assert_int_equal(c.r[14], 0);
	assert_int_equal(c.r[16], -EFAULT);
	assert_int_equal(c.f[16].address, P(5));
	assert_int_equal(c.r[17], 0);
	assert_int_equal(mv_user_read(h.k.t, h.map + P(5) - 4, &seen, 8), 0);
	assert_int_equal(seen, 0);
	ht_teardown(&h);
}

static void guest_no_mbec(struct mv_guest *g, void *arg)
{
	struct sctx *c = arg;
	uint64_t v = 1;

	ht_long_mode(g);
	rec(g, c, 0, ht_protect(g, P(0), P(1), R));
	rec(g, c, 1, mv_guest_fetch(g, P(0), 16));              /* EXEC was added */
	rec(g, c, 2, mv_guest_write(g, P(0), &v, 8));           /* WRITE was not */
}

static void test_kvm_heki_without_mbec_exec_is_forced(void **state)
{
	struct ht h;
	struct sctx c;

	(void)state;
	memset(&c, 0, sizeof(c));
	ht_setup_full(&h, MV_FEAT_MBEC, 0);
	ht_guest(&h, guest_no_mbec, &c);
	ht_run_to_hlt(&h);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.r[2], -EFAULT);
	assert_int_equal(c.f[2].vector, 14);
	ht_teardown(&h);
}

/* The VMM's own accesses are not the guest's: it still reads and writes (DMA). */
static void guest_ro(struct mv_guest *g, void *arg)
{
	struct sctx *c = arg;
	uint64_t back = 0;

	ht_long_mode(g);
	rec(g, c, 0, ht_protect(g, P(0), P(1), R | X | MEM_ATTR_IMMUTABLE));
	/* the VMM writes the page during this exit */
	rec(g, c, 1, mv_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, P(0), 1, 0, 0));
	rec(g, c, 2, mv_guest_read(g, P(0), &back, 8));
	c->r[20] = (long)back;
}

static void test_kvm_heki_vmm_writes_are_not_blocked(void **state)
{
	struct ht h;
	struct sctx c;
	uint64_t v = 0x77;
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_HYPERCALL,
				      .args = { 1ull << KVM_HC_MAP_GPA_RANGE } };

	(void)state;
	memset(&c, 0, sizeof(c));
	ht_setup(&h);
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_ENABLE_CAP, &cap), 0);
	ht_guest(&h, guest_ro, &c);
	assert_int_equal(kt_run(&h.k, h.vcpu), 0);
	assert_int_equal(h.run->exit_reason, KVM_EXIT_HYPERCALL);
	assert_int_equal(mv_user_write(h.k.t, h.map + P(0), &v, 8), 0);
	ht_run_to_hlt(&h);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[2], 0);
	assert_int_equal(c.r[20], 0x77);
	ht_teardown(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_heki_stage2_enforces_rwx),
		cmocka_unit_test(test_kvm_heki_without_mbec_exec_is_forced),
		cmocka_unit_test(test_kvm_heki_vmm_writes_are_not_blocked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
