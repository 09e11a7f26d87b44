/* SPDX-License-Identifier: MIT */
/*
 * KVM_HC_PROTECT_MEMORY's answers (SEMANTICS.md 2, "Hypervisor side"):
 * an unreadable list -KVM_EFAULT; unaligned or empty ranges, zero or
 * unknown permissions -KVM_EINVAL; a range touching an IMMUTABLE page
 * -KVM_EPERM; a list that never ends -KVM_E2BIG. A refused list changes
 * nothing; a chained list applies every node.
 */
#include "hekitest.h"
#include "kernel/kernel.h"
#include "kvm/heki.h"
#include "kvm/kvm.h"
#include "lib/alloc.h"

#define R  MEM_ATTR_READ
#define W  MEM_ATTR_WRITE
#define X  MEM_ATTR_EXEC
#define IM MEM_ATTR_IMMUTABLE
#define P(n) (HT_DATA + (n) * KT_PG)

struct pctx {
	long r[32];
	int vec[32];
};

static long one(struct mv_guest *g, uint64_t pa, uint64_t epa, uint64_t perms)
{
	return ht_protect(g, pa, epa, perms);
}

static void guest_errnos(struct mv_guest *g, void *arg)
{
	struct pctx *c = arg;
	struct heki_pages e[2];
	uint64_t v = 0x1111;

	ht_long_mode(g);
	c->r[0] = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, 0x40000000, 0, 0, 0); /* no memory */
	c->r[1] = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, HT_LIST + 8, 0, 0, 0); /* unaligned */
	c->r[2] = one(g, P(0) + 1, P(1), R);
	c->r[3] = one(g, P(0), P(1) + 8, R);
	c->r[4] = one(g, P(1), P(1), R);             /* epa == pa */
	c->r[5] = one(g, P(2), P(1), R);             /* epa < pa */
	c->r[6] = one(g, P(0), P(1), 0);
	c->r[7] = one(g, P(0), P(1), R | (1ull << 4));
	/* npages beyond one node's capacity */
	ht_put_list(g, HT_LIST, 0, NULL, 0);
	{
		struct heki_page_list l = { .npages = HEKI_PAGE_LIST_ENTRIES + 1 };

		mv_guest_write(g, HT_LIST, &l, sizeof(l));
	}
	c->r[8] = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, HT_LIST, 0, 0, 0);
	/* a list pointing at itself */
	e[0] = (struct heki_pages){ P(0), P(1), R | W };
	ht_put_list(g, HT_LIST, HT_LIST, e, 1);
	c->r[9] = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, HT_LIST, 0, 0, 0);
	/* a good entry, then a bad one: nothing is applied */
	e[0] = (struct heki_pages){ P(0), P(1), R };
	e[1] = (struct heki_pages){ P(1), P(1), R };
	ht_put_list(g, HT_LIST, 0, e, 2);
	c->r[10] = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, HT_LIST, 0, 0, 0);
	c->r[11] = mv_guest_write(g, P(0), &v, 8);   /* still writable */
	/* IMMUTABLE, then anything touching it */
	c->r[12] = one(g, P(4), P(6), R | X | IM);
	c->r[13] = one(g, P(5), P(6), R | X | IM);   /* the same again */
	c->r[14] = one(g, P(3), P(5), R | W);        /* overlaps its first page */
	c->r[15] = one(g, P(5), P(8), R | W);
	c->r[16] = mv_guest_write(g, P(4), &v, 8);   /* still read-only */
	c->vec[16] = ht_vector(g);
	c->r[17] = mv_guest_write(g, P(3), &v, 8);   /* the refused list left P(3) alone */
	/* two nodes chained by next_pa: both applied */
	e[0] = (struct heki_pages){ P(8), P(9), R };
	ht_put_list(g, HT_LIST, HT_LIST2, e, 1);
	e[0] = (struct heki_pages){ P(10), P(12), R };
	ht_put_list(g, HT_LIST2, 0, e, 1);
	c->r[18] = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, HT_LIST, 0, 0, 0);
	c->r[19] = mv_guest_write(g, P(8), &v, 8);
	c->r[20] = mv_guest_write(g, P(11), &v, 8);
	c->r[21] = mv_guest_write(g, P(9), &v, 8);   /* between the two: untouched */
	/* a second node that cannot be read */
	e[0] = (struct heki_pages){ P(13), P(14), R };
	ht_put_list(g, HT_LIST, 0x40000000, e, 1);
	c->r[22] = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, HT_LIST, 0, 0, 0);
	c->r[23] = mv_guest_write(g, P(13), &v, 8);
	/* an empty list is fine */
	ht_put_list(g, HT_LIST, 0, NULL, 0);
	c->r[24] = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, HT_LIST, 0, 0, 0);
	/* a range beyond the guest's memory is recorded all the same */
	c->r[25] = one(g, 0x40000000, 0x40002000, R);
}

static void test_kvm_heki_protect_memory_errnos(void **state)
{
	struct ht h;
	struct pctx c;

	memset(&c, 0, sizeof(c));
	uint64_t seen = 0;

	(void)state;
	ht_setup(&h);
	ht_guest(&h, guest_errnos, &c);
	ht_run_to_hlt(&h);
	assert_int_equal(c.r[0], -KVM_EFAULT);
	assert_int_equal(c.r[1], -KVM_EINVAL);
	for (int i = 2; i <= 8; i++)
		if (c.r[i] != -KVM_EINVAL)
			fail_msg("case %d: %ld", i, c.r[i]);
	assert_int_equal(c.r[9], -KVM_E2BIG);
	assert_int_equal(c.r[10], -KVM_EINVAL);
	assert_int_equal(c.r[11], 0);
	assert_int_equal(c.r[12], 0);
	assert_int_equal(c.r[13], -KVM_EPERM);
	assert_int_equal(c.r[14], -KVM_EPERM);
	assert_int_equal(c.r[15], -KVM_EPERM);
	assert_int_equal(c.r[16], -EFAULT);
	assert_int_equal(c.vec[16], 14);
	assert_int_equal(c.r[17], 0);
	assert_int_equal(c.r[18], 0);
	assert_int_equal(c.r[19], -EFAULT);
	assert_int_equal(c.r[20], -EFAULT);
	assert_int_equal(c.r[21], 0);
	assert_int_equal(c.r[22], -KVM_EFAULT);
	assert_int_equal(c.r[23], 0);
	assert_int_equal(c.r[24], 0);
	assert_int_equal(c.r[25], 0);
	/* the immutable page kept its content */
	assert_int_equal(mv_user_read(h.k.t, h.map + P(4), &seen, 8), 0);
	assert_int_equal(seen, 0);
	ht_teardown(&h);
}

/* From CPL 3 every hypercall is -KVM_EPERM; outside long mode the list address is 32 bits. */
static void guest_version(struct mv_guest *g, void *arg)
{
	struct pctx *c = arg;

	c->r[0] = mv_guest_hypercall(g, KVM_HC_LOCK_CR_UPDATE, 0, 0, KVM_LOCK_CR_UPDATE_VERSION, 0);
	c->r[1] = mv_guest_hypercall(g, KVM_HC_LOCK_CR_UPDATE, 4, 0, KVM_LOCK_CR_UPDATE_VERSION, 0);
	c->r[2] = mv_guest_hypercall(g, KVM_HC_LOCK_CR_UPDATE, 0, 1, KVM_LOCK_CR_UPDATE_VERSION, 0);
	c->r[3] = mv_guest_hypercall(g, KVM_HC_HEKI_TEXT_POKE, 0, 1, 0, 0);
	c->r[4] = mv_guest_hypercall(g, KVM_HC_HEKI_AUTH_MODULE, 0, KT_PG, 0, 0);
}

static void test_kvm_heki_lock_cr_version_query(void **state)
{
	struct ht h;
	struct pctx c;

	memset(&c, 0, sizeof(c));

	(void)state;
	ht_setup(&h);
	ht_guest(&h, guest_version, &c);
	ht_run_to_hlt(&h);
	assert_int_equal(c.r[0], 1);
	assert_int_equal(c.r[1], -KVM_EINVAL);
	assert_int_equal(c.r[2], -KVM_EINVAL);
	/* memvisor's own calls without a VMM policy */
	assert_int_equal(c.r[3], -KVM_EOPNOTSUPP);
	assert_int_equal(c.r[4], -KVM_EOPNOTSUPP);
	ht_teardown(&h);
}

/*
 * Allocation failure -> -KVM_E2BIG, and nothing changed: every allocation
 * of the call is made to fail in turn, including those of the second
 * range after the first was applied.
 */
static void guest_nomem(struct mv_guest *g, void *arg)
{
	struct pctx *c = arg;
	struct heki_pages e[2] = { { P(0), P(2), R }, { P(200), P(202), R } };
	uint64_t v = 7;

	ht_long_mode(g);
	for (unsigned long n = 1; n < 64; n++) {
		long r;

		ht_put_list(g, HT_LIST, 0, e, 2);
		lib_fail_after(n);
		r = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, HT_LIST, 0, 0, 0);
		lib_fail_after(0);
		if (r == 0) {
			c->r[1] = (long)n;
			break;
		}
		if (r != -KVM_E2BIG)
			c->r[6 + c->r[2]++] = r * 100 + (long)n;
		c->r[0]++;
		/* nothing was applied: both ranges are still writable */
		{
			long w1 = mv_guest_write(g, P(1), &v, 8), w2 = mv_guest_write(g, P(200), &v, 8);

			if (w1 || w2)
				c->r[12 + c->r[3]++] = (long)n * 10000 + (w1 ? 1000 : 0) +
						       (w2 ? 100 : 0) + ht_vector(g);
		}
	}
	c->r[4] = mv_guest_write(g, P(1), &v, 8);
	c->r[5] = mv_guest_write(g, P(201), &v, 8);
}

static void test_kvm_heki_protect_memory_nomem_is_e2big(void **state)
{
	struct ht h;
	struct pctx c;

	(void)state;
	memset(&c, 0, sizeof(c));
	ht_setup(&h);
	ht_guest(&h, guest_nomem, &c);
	ht_run_to_hlt(&h);
	assert_true(c.r[0] >= 3);        /* several allocations failed */
	assert_true(c.r[1] > 0);         /* then it went through */
	if (c.r[2])
		fail_msg("not -KVM_E2BIG: %ld %ld %ld", c.r[6], c.r[7], c.r[8]);
	if (c.r[3])
		fail_msg("left behind after n = %ld %ld %ld (of %ld)", c.r[12], c.r[13], c.r[14],
			 c.r[0]);
	assert_int_equal(c.r[4], -EFAULT);
	assert_int_equal(c.r[5], -EFAULT);
	ht_teardown(&h);
}

/*
 * Ranges with no memslot are protected (a slot added there later is born
 * protected), but only so much: a guest cannot make the host keep
 * attributes for its whole guest-physical space. Past 4 GiB of unbacked
 * GPA in all, -KVM_E2BIG (found by fuzz_heki_page_list: one list over 2^32
 * pages made the host allocate 1.2 GB).
 */
static void guest_unbacked(struct mv_guest *g, void *arg)
{
	struct pctx *c = arg;
	const uint64_t far = 1ull << 40, pg = KT_PG;

	ht_long_mode(g);
	c->r[0] = one(g, far, far + 16 * pg, R);                          /* small: fine */
	c->r[1] = one(g, far + (1ull << 32), far + (1ull << 44), R);      /* 4 Ti pages */
	c->r[2] = one(g, far + 32 * pg, far + 32 * pg + (KVM_HEKI_MAX_UNBACKED_PAGES - 16) * pg,
		      R);                                                  /* up to the cap */
	c->r[3] = one(g, far + (1ull << 33), far + (1ull << 33) + pg, R);  /* one more page */
	c->r[4] = one(g, P(0), P(1), R);                                  /* backed: fine */
}

static void test_kvm_heki_protect_memory_unbacked_ranges_are_capped(void **state)
{
	struct pctx c;
	struct ht h;

	(void)state;
	memset(&c, 0, sizeof(c));
	ht_setup(&h);
	ht_guest(&h, guest_unbacked, &c);
	ht_run_to_hlt(&h);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], -KVM_E2BIG);
	assert_int_equal(c.r[2], 0);
	assert_int_equal(c.r[3], -KVM_E2BIG);
	assert_int_equal(c.r[4], 0);
	ht_teardown(&h);
}

/*
 * Before it changes anything, a list sets aside the attribute nodes an
 * undo could need (two per run its ranges hold); once the list is
 * applied, or undone, they go back: a guest protecting memory over and
 * over leaves no spare nodes behind.
 */
static void guest_many_runs(struct mv_guest *g, void *arg)
{
	struct pctx *c = arg;
	struct heki_pages e[8];

	ht_long_mode(g);
	for (int i = 0; i < 8; i++)
		e[i] = (struct heki_pages){ P(2 * i), P(2 * i + 1), R | (i & 1 ? X : W) };
	ht_put_list(g, HT_LIST, 0, e, 8);
	c->r[0] = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, HT_LIST, 0, 0, 0);
	/* the same ranges and the gaps between them, now that they hold eight runs */
	e[0] = (struct heki_pages){ P(0), P(16), R };
	ht_put_list(g, HT_LIST, 0, e, 1);
	c->r[1] = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, HT_LIST, 0, 0, 0);
}

static void test_kvm_heki_protect_memory_keeps_no_spare_nodes(void **state)
{
	struct file *f;
	struct kvm *kvm;
	struct ht h;
	struct pctx c;

	(void)state;
	memset(&c, 0, sizeof(c));
	ht_setup(&h);
	ht_guest(&h, guest_many_runs, &c);
	ht_run_to_hlt(&h);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	f = fd_get(h.k.t, h.k.vm);
	assert_non_null(f);
	kvm = kvm_from_file(f);
	assert_int_equal(kvm_attr_nr_runs(kvm), 1);
	pthread_mutex_lock(&kvm->attr_lock);
	assert_int_equal(kvm->mem_attr.nr_spare, 0);
	assert_null(kvm->mem_attr.spare);
	pthread_mutex_unlock(&kvm->attr_lock);
	file_put(f);
	ht_teardown(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_heki_protect_memory_errnos),
		cmocka_unit_test(test_kvm_heki_lock_cr_version_query),
		cmocka_unit_test(test_kvm_heki_protect_memory_nomem_is_e2big),
		cmocka_unit_test(test_kvm_heki_protect_memory_unbacked_ranges_are_capped),
		cmocka_unit_test(test_kvm_heki_protect_memory_keeps_no_spare_nodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
