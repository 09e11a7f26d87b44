/* SPDX-License-Identifier: MIT */
/*
 * Interval tree: red-black and augmentation invariants, targeted edge
 * cases, and randomised cross-checks of every query against brute force
 * over a plain array (seed printed by mvtest_seed()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mvtest.h"
#include "lib/itree.h"
#include "lib/prng.h"

struct ival {
	struct lib_itree_node node;
	bool in;
};

static struct lib_itree_node *mk(struct ival *v, uint64_t start, uint64_t end, uint64_t glo,
				 uint64_t ghi)
{
	memset(v, 0, sizeof(*v));
	v->node.start = start;
	v->node.end = end;
	v->node.gap_lo = glo;
	v->node.gap_hi = ghi;
	return &v->node;
}

/* ---- invariant checker (independent recomputation) ---- */

static uint64_t sat_lo(const struct lib_itree_node *n)
{
	return n->start >= n->gap_lo ? n->start - n->gap_lo : 0;
}

static uint64_t sat_hi(const struct lib_itree_node *n)
{
	return UINT64_MAX - n->end >= n->gap_hi ? n->end + n->gap_hi : UINT64_MAX;
}

static uint64_t pos_diff(uint64_t hi, uint64_t lo)
{
	return hi > lo ? hi - lo : 0;
}

struct sub {
	uint64_t max_end, lo, hi, gap;
};

/* Checks the subtree at @n and returns its black height. */
static int check_node(const struct lib_itree_node *n, const struct lib_itree_node *parent,
		      struct sub *out, size_t *count)
{
	struct sub l = { 0, UINT64_MAX, 0, 0 }, r = { 0, UINT64_MAX, 0, 0 };
	int bl, br;

	if (!n)
		return 1;
	(*count)++;
	assert_ptr_equal(n->parent, parent);
	if (n->red) {
		assert_false(n->left && n->left->red);
		assert_false(n->right && n->right->red);
	}
	if (n->left)
		assert_false(n->start < n->left->start ||
			     (n->start == n->left->start && n->end < n->left->end));
	if (n->right)
		assert_false(n->right->start < n->start ||
			     (n->right->start == n->start && n->right->end < n->end));
	bl = check_node(n->left, n, &l, count);
	br = check_node(n->right, n, &r, count);
	assert_int_equal(bl, br);
	out->max_end = n->end > l.max_end ? n->end : l.max_end;
	out->max_end = out->max_end > r.max_end ? out->max_end : r.max_end;
	out->lo = sat_lo(n);
	out->lo = l.lo < out->lo ? l.lo : out->lo;
	out->lo = r.lo < out->lo ? r.lo : out->lo;
	out->hi = sat_hi(n);
	out->hi = l.hi > out->hi ? l.hi : out->hi;
	out->hi = r.hi > out->hi ? r.hi : out->hi;
	/* free space at the two split points next to n, within this subtree */
	out->gap = l.gap > r.gap ? l.gap : r.gap;
	if (n->left) {
		uint64_t s = n->right && r.lo < sat_lo(n) ? r.lo : sat_lo(n);

		if (pos_diff(s, l.hi) > out->gap)
			out->gap = pos_diff(s, l.hi);
	}
	if (n->right) {
		uint64_t p = n->left && l.hi > sat_hi(n) ? l.hi : sat_hi(n);

		if (pos_diff(r.lo, p) > out->gap)
			out->gap = pos_diff(r.lo, p);
	}
	assert_int_equal(n->sub_max_end, out->max_end);
	assert_int_equal(n->sub_lo, out->lo);
	assert_int_equal(n->sub_hi, out->hi);
	assert_int_equal(n->sub_gap, out->gap);
	return bl + !n->red;
}

static void check_tree(const struct lib_itree *t)
{
	const struct lib_itree_node *n, *prev = NULL;
	struct sub s;
	size_t count = 0;

	if (t->root)
		assert_false(t->root->red);
	check_node(t->root, NULL, &s, &count);
	assert_int_equal(count, t->count);
	/* next/prev walk the same order both ways */
	for (count = 0, n = lib_itree_first(t); n; prev = n, n = lib_itree_next(n)) {
		if (prev)
			assert_ptr_equal(lib_itree_prev(n), prev);
		count++;
	}
	assert_int_equal(count, t->count);
	assert_ptr_equal(lib_itree_last(t), prev);
}

/* ---- brute force over an array of intervals ---- */

struct span {
	uint64_t lo, hi;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Free windows of [0, UINT64_MAX) outside every effective extent, ascending. */
static size_t brute_free(const struct ival *v, size_t n, struct span *free_out)
{
	struct span *ext = calloc(n + 1, sizeof(*ext));
	size_t i, k = 0, nf = 0;
	uint64_t cur = 0;

	for (i = 0; i < n; i++) {
		if (v[i].in) {
			ext[k].lo = sat_lo(&v[i].node);
			ext[k].hi = sat_hi(&v[i].node);
			k++;
		}
	}
	qsort(ext, k, sizeof(*ext), span_cmp);
	for (i = 0; i < k; i++) {
		if (ext[i].lo > cur)
			free_out[nf++] = (struct span){ cur, ext[i].lo };
		if (ext[i].hi > cur)
			cur = ext[i].hi;
	}
	if (cur < UINT64_MAX)
		free_out[nf++] = (struct span){ cur, UINT64_MAX };
	free(ext);
	return nf;
}

static int brute_gap(const struct ival *v, size_t n, uint64_t len, uint64_t align, uint64_t low,
		     uint64_t high, bool topdown, uint64_t *out)
{
	struct span *fr = calloc(n + 2, sizeof(*fr));
	size_t nf = brute_free(v, n, fr), i;
	int err = -ENOMEM;

	if (!len || low >= high || len > high - low)
		goto out;
	for (i = 0; i < nf; i++) {
		struct span w = fr[topdown ? nf - 1 - i : i];
		uint64_t a = w.lo > low ? w.lo : low, b = w.hi < high ? w.hi : high, s;

		if (b < a || b - a < len)
			continue;
		if (topdown) {
			s = (b - len) & ~(align - 1);
			if (s < a)
				continue;
		} else {
			if (a > UINT64_MAX - (align - 1))
				continue;
			s = (a + align - 1) & ~(align - 1);
			if (s > b - len)
				continue;
		}
		*out = s;
		err = 0;
		break;
	}
out:
	free(fr);
	return err;
}

/* ---- targeted cases ---- */

static void test_itree_empty_tree(void **state)
{
	struct lib_itree t;
	uint64_t out;

	(void)state;
	lib_itree_init(&t);
	assert_null(lib_itree_first(&t));
	assert_null(lib_itree_last(&t));
	assert_null(lib_itree_find(&t, 0));
	assert_null(lib_itree_find_above(&t, 0));
	assert_null(lib_itree_first_overlap(&t, 0, UINT64_MAX));
	assert_int_equal(lib_itree_gap_topdown(&t, 0x1000, 0x1000, 0, UINT64_MAX, &out), 0);
	assert_int_equal(out, UINT64_MAX - 0xfff - 0x1000);
	assert_int_equal(lib_itree_gap_bottomup(&t, 0x1000, 0x1000, 1, UINT64_MAX, &out), 0);
	assert_int_equal(out, 0x1000);
	assert_int_equal(lib_itree_gap_bottomup(&t, 1, 1, 0, 1, &out), 0);
	assert_int_equal(out, 0);
}

static void test_itree_gap_rejects_bad_arguments(void **state)
{
	static const struct {
		uint64_t len, align, low, high;
		int err;
	} rows[] = {
		{ 0, 1, 0, 100, -ENOMEM },        /* nothing to place */
		{ 101, 1, 0, 100, -ENOMEM },      /* longer than the window */
		{ 1, 1, 100, 100, -ENOMEM },      /* empty window */
		{ 1, 1, 200, 100, -ENOMEM },      /* inverted window */
		{ 1, 0, 0, 100, -EINVAL },        /* align 0 */
		{ 1, 3, 0, 100, -EINVAL },        /* not a power of two */
		{ 10, 64, 1, 70, -ENOMEM },       /* no aligned start fits */
		{ UINT64_MAX, 1, 0, UINT64_MAX, 0 },
	};
	struct lib_itree t;
	uint64_t out;
	size_t i;

	(void)state;
	lib_itree_init(&t);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(lib_itree_gap_topdown(&t, rows[i].len, rows[i].align, rows[i].low,
						       rows[i].high, &out), rows[i].err);
		assert_int_equal(lib_itree_gap_bottomup(&t, rows[i].len, rows[i].align, rows[i].low,
							rows[i].high, &out), rows[i].err);
	}
}

static void test_itree_gap_respects_guard_gaps(void **state)
{
	struct lib_itree t;
	struct ival v;
	uint64_t out;

	(void)state;
	lib_itree_init(&t);
	lib_itree_insert(&t, mk(&v, 0x10000, 0x20000, 0x1000, 0x1000));
	assert_int_equal(lib_itree_gap_topdown(&t, 0x1000, 0x1000, 0, 0x30000, &out), 0);
	assert_int_equal(out, 0x2f000);
	assert_int_equal(lib_itree_gap_topdown(&t, 0x2000, 0x1000, 0x8000, 0x22000, &out), 0);
	assert_int_equal(out, 0xd000);
	assert_int_equal(lib_itree_gap_bottomup(&t, 0x1000, 0x1000, 0xa000, 0x30000, &out), 0);
	assert_int_equal(out, 0xa000);
	assert_int_equal(lib_itree_gap_bottomup(&t, 0x1000, 0x1000, 0xf000, 0x30000, &out), 0);
	assert_int_equal(out, 0x21000);
	assert_int_equal(lib_itree_gap_bottomup(&t, 0x1000, 1, 0xf001, 0x21fff, &out), -ENOMEM);
}

static void test_itree_gap_with_alignment(void **state)
{
	struct lib_itree t;
	struct ival v;
	uint64_t out;

	(void)state;
	lib_itree_init(&t);
	lib_itree_insert(&t, mk(&v, 0x1000, 0x2000, 0, 0));
	assert_int_equal(lib_itree_gap_bottomup(&t, 0x1000, 0x4000, 0, 0x100000, &out), 0);
	assert_int_equal(out, 0);
	assert_int_equal(lib_itree_gap_bottomup(&t, 0x1000, 0x4000, 1, 0x100000, &out), 0);
	assert_int_equal(out, 0x4000);
	assert_int_equal(lib_itree_gap_topdown(&t, 0x1000, 0x4000, 0, 0x3fff, &out), 0);
	assert_int_equal(out, 0);
	assert_int_equal(lib_itree_gap_topdown(&t, 0x1000, 0x4000, 1, 0x3fff, &out), -ENOMEM);
}

static void test_itree_gap_at_both_ends_of_the_space(void **state)
{
	struct lib_itree t;
	struct ival a, b;
	uint64_t out;

	(void)state;
	lib_itree_init(&t);
	lib_itree_insert(&t, mk(&a, 0, 0x1000, 0x5000, 0x1000));                /* lo saturates */
	lib_itree_insert(&t, mk(&b, UINT64_MAX - 0x1000, UINT64_MAX, 0x1000, 7)); /* hi saturates */
	assert_int_equal(a.node.sub_lo, 0);
	assert_int_equal(t.root->sub_hi, UINT64_MAX);
	assert_int_equal(lib_itree_gap_topdown(&t, 0x1000, 0x1000, 0, UINT64_MAX, &out), 0);
	assert_int_equal(out, UINT64_MAX - 0x3fff);   /* b.lo is UINT64_MAX - 0x2000 */
	assert_int_equal(lib_itree_gap_bottomup(&t, 0x1000, 0x1000, 0, UINT64_MAX, &out), 0);
	assert_int_equal(out, 0x2000);
	assert_null(lib_itree_find(&t, UINT64_MAX));
	assert_ptr_equal(lib_itree_find(&t, UINT64_MAX - 1), &b.node);
	assert_ptr_equal(lib_itree_find(&t, 0), &a.node);
	assert_ptr_equal(lib_itree_find_above(&t, 0x1000), &b.node);
	check_tree(&t);
}

/* A guard gap longer than the space to the next node still counts. */
static void test_itree_gap_sees_guard_reaching_past_neighbour(void **state)
{
	struct lib_itree t;
	struct ival a, b, c;
	uint64_t out;

	(void)state;
	lib_itree_init(&t);
	lib_itree_insert(&t, mk(&a, 100, 200, 0, 1000));
	lib_itree_insert(&t, mk(&b, 300, 400, 0, 0));
	lib_itree_insert(&t, mk(&c, 1500, 1600, 0, 0));
	assert_int_equal(lib_itree_gap_bottomup(&t, 50, 1, 0, 2000, &out), 0);
	assert_int_equal(out, 0);
	assert_int_equal(lib_itree_gap_bottomup(&t, 50, 1, 100, 2000, &out), 0);
	assert_int_equal(out, 1200);
	assert_int_equal(lib_itree_gap_topdown(&t, 50, 1, 0, 1500, &out), 0);
	assert_int_equal(out, 1450);
	assert_int_equal(lib_itree_gap_topdown(&t, 50, 1, 0, 1240, &out), 0);
	assert_int_equal(out, 50);
}

static void test_itree_find_and_overlap_with_duplicates(void **state)
{
	struct lib_itree t;
	struct ival v[4];
	struct lib_itree_node *n;
	int seen = 0;

	(void)state;
	lib_itree_init(&t);
	lib_itree_insert(&t, mk(&v[0], 10, 50, 0, 0));
	lib_itree_insert(&t, mk(&v[1], 10, 20, 0, 0));
	lib_itree_insert(&t, mk(&v[2], 10, 20, 0, 0));
	lib_itree_insert(&t, mk(&v[3], 30, 40, 0, 0));
	check_tree(&t);
	assert_ptr_equal(lib_itree_first(&t), &v[1].node);   /* (10,20) before (10,50) */
	assert_ptr_equal(lib_itree_next(&v[1].node), &v[2].node);  /* equal keys keep order */
	assert_ptr_equal(lib_itree_last(&t), &v[3].node);
	assert_ptr_equal(lib_itree_prev(&v[3].node), &v[0].node);
	assert_ptr_equal(lib_itree_find(&t, 35), &v[0].node);
	assert_ptr_equal(lib_itree_find_above(&t, 20), &v[0].node);
	for (n = lib_itree_first_overlap(&t, 15, 31); n; n = lib_itree_next_overlap(n, 15, 31))
		seen++;
	assert_int_equal(seen, 4);
	assert_null(lib_itree_first_overlap(&t, 50, 60));
	assert_null(lib_itree_first_overlap(&t, 0, 10));
	assert_null(lib_itree_first_overlap(&t, 20, 20));
}

static void test_itree_update_after_trim(void **state)
{
	struct lib_itree t;
	struct ival a, b;
	uint64_t out;

	(void)state;
	lib_itree_init(&t);
	lib_itree_insert(&t, mk(&a, 0x1000, 0x5000, 0, 0));
	lib_itree_insert(&t, mk(&b, 0x8000, 0x9000, 0, 0));
	a.node.end = 0x3000;
	lib_itree_update(&t, &a.node);
	check_tree(&t);
	assert_null(lib_itree_find(&t, 0x4000));
	assert_int_equal(lib_itree_gap_topdown(&t, 0x5000, 1, 0, 0x8000, &out), 0);
	assert_int_equal(out, 0x3000);
	b.node.gap_lo = 0x1000;
	lib_itree_update(&t, &b.node);
	check_tree(&t);
	assert_int_equal(lib_itree_gap_topdown(&t, 0x5000, 1, 0, 0x8000, &out), -ENOMEM);
	lib_itree_remove(&t, &a.node);
	lib_itree_remove(&t, &b.node);
	assert_null(t.root);
	assert_int_equal(t.count, 0);
}

/* ---- randomised cross-checks ---- */

#define POOL 400
#define DOMAIN (1ull << 16)

struct rnd {
	struct lib_itree t;
	struct ival v[POOL];
	struct lib_prng p;
	uint64_t base;       /* the domain is [base, base + DOMAIN) */
	bool overlaps;       /* allow overlapping intervals */
};

static uint64_t rnd_addr(struct rnd *r)
{
	return r->base + lib_prng_below(&r->p, DOMAIN);
}

static uint64_t rnd_gap(struct rnd *r)
{
	switch (lib_prng_below(&r->p, 6)) {
	case 0:
		return lib_prng_below(&r->p, 4000);       /* can reach past neighbours */
	case 1:
		return UINT64_MAX - lib_prng_below(&r->p, 3);   /* saturates */
	case 2:
	case 3:
		return lib_prng_below(&r->p, 64);
	default:
		return 0;
	}
}

static bool rnd_overlaps_any(const struct rnd *r, uint64_t s, uint64_t e)
{
	size_t i;

	for (i = 0; i < POOL; i++) {
		if (r->v[i].in && r->v[i].node.start < e && r->v[i].node.end > s)
			return true;
	}
	return false;
}

static void rnd_insert(struct rnd *r, size_t i)
{
	uint64_t s = rnd_addr(r), len = 1 + lib_prng_below(&r->p, 300), e;

	e = s > UINT64_MAX - len ? UINT64_MAX : s + len;
	if (e == s || (!r->overlaps && rnd_overlaps_any(r, s, e)))
		return;
	mk(&r->v[i], s, e, rnd_gap(r) % 2 ? rnd_gap(r) : 0, rnd_gap(r));
	r->v[i].in = true;
	lib_itree_insert(&r->t, &r->v[i].node);
}

/* In-place trim that keeps the order, as a VMA split would. */
static void rnd_update(struct rnd *r, size_t i)
{
	struct lib_itree_node *n = &r->v[i].node;
	uint64_t w = n->end - n->start;

	if (r->overlaps)
		return;   /* with overlaps a trim could reorder equal starts */
	if (w > 1 && lib_prng_below(&r->p, 2))
		n->end -= lib_prng_below(&r->p, w - 1) + 1;
	else
		n->gap_hi = rnd_gap(r);
	n->gap_lo = lib_prng_below(&r->p, 2) ? rnd_gap(r) : n->gap_lo;
	lib_itree_update(&r->t, n);
}

static const struct lib_itree_node *brute_first(const struct rnd *r, uint64_t s, uint64_t last)
{
	const struct lib_itree_node *best = NULL, *n;
	size_t i;

	for (i = 0; i < POOL; i++) {
		n = &r->v[i].node;
		if (!r->v[i].in || n->start > last || n->end <= s)
			continue;
		if (!best || n->start < best->start ||
		    (n->start == best->start && n->end < best->end))
			best = n;
	}
	return best;
}

static void rnd_check_queries(struct rnd *r)
{
	uint64_t a = rnd_addr(r), b = rnd_addr(r), out = 0, want = 0;
	uint64_t len = 1 + lib_prng_below(&r->p, lib_prng_below(&r->p, 4) ? 200 : 5000);
	uint64_t align = 1ull << lib_prng_below(&r->p, 8);
	const struct lib_itree_node *n, *bn;
	size_t i, hits = 0, want_hits = 0;
	bool top = lib_prng_below(&r->p, 2);
	int err, werr;

	if (a > b) {
		uint64_t x = a;

		a = b;
		b = x;
	}
	/* find / find_above: same start and end as brute force (ties are equal) */
	n = lib_itree_find(&r->t, a);
	bn = brute_first(r, a, a);
	assert_int_equal(n != NULL, bn != NULL);
	if (n)
		assert_true(n->start == bn->start && n->end == bn->end);
	n = lib_itree_find_above(&r->t, a);
	bn = brute_first(r, a, UINT64_MAX);
	assert_int_equal(n != NULL, bn != NULL);
	if (n)
		assert_true(n->start == bn->start && n->end == bn->end);
	/* overlap iteration: every overlapping node once, in order */
	if (a < b) {
		const struct lib_itree_node *prev = NULL;

		for (n = lib_itree_first_overlap(&r->t, a, b); n;
		     n = lib_itree_next_overlap(n, a, b)) {
			assert_true(n->start < b && n->end > a);
			if (prev)
				assert_false(n->start < prev->start ||
					     (n->start == prev->start && n->end < prev->end));
			prev = n;
			hits++;
		}
		for (i = 0; i < POOL; i++)
			want_hits += r->v[i].in && r->v[i].node.start < b && r->v[i].node.end > a;
		assert_int_equal(hits, want_hits);
	}
	/* gap search, sometimes over the whole space */
	if (!lib_prng_below(&r->p, 8)) {
		a = 0;
		b = UINT64_MAX;
	}
	if (top) {
		err = lib_itree_gap_topdown(&r->t, len, align, a, b, &out);
	} else {
		err = lib_itree_gap_bottomup(&r->t, len, align, a, b, &out);
	}
	werr = brute_gap(r->v, POOL, len, align, a, b, top, &want);
	assert_int_equal(err, werr);
	if (!err)
		assert_int_equal(out, want);
}

static void run_random(uint64_t base, bool overlaps)
{
	struct rnd *r = calloc(1, sizeof(*r));
	size_t i;
	int op;

	assert_non_null(r);
	r->base = base;
	r->overlaps = overlaps;
	lib_itree_init(&r->t);
	lib_prng_seed(&r->p, mvtest_seed() ^ base ^ overlaps);
	for (op = 0; op < 6000; op++) {
		i = lib_prng_below(&r->p, POOL);
		switch (lib_prng_below(&r->p, 4)) {
		case 0:
		case 1:
			if (!r->v[i].in)
				rnd_insert(r, i);
			break;
		case 2:
			if (r->v[i].in) {
				lib_itree_remove(&r->t, &r->v[i].node);
				r->v[i].in = false;
			}
			break;
		default:
			if (r->v[i].in)
				rnd_update(r, i);
			break;
		}
		if (op % 16 == 0)
			check_tree(&r->t);
		rnd_check_queries(r);
		rnd_check_queries(r);
	}
	check_tree(&r->t);
	free(r);
}

static void test_itree_random_disjoint_matches_brute_force(void **state)
{
	(void)state;
	run_random(0, false);
}

static void test_itree_random_near_top_matches_brute_force(void **state)
{
	(void)state;
	run_random(UINT64_MAX - DOMAIN + 1, false);
}

static void test_itree_random_overlapping_matches_brute_force(void **state)
{
	(void)state;
	run_random(1ull << 40, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_itree_empty_tree),
		cmocka_unit_test(test_itree_gap_rejects_bad_arguments),
		cmocka_unit_test(test_itree_gap_respects_guard_gaps),
		cmocka_unit_test(test_itree_gap_with_alignment),
		cmocka_unit_test(test_itree_gap_at_both_ends_of_the_space),
		cmocka_unit_test(test_itree_gap_sees_guard_reaching_past_neighbour),
		cmocka_unit_test(test_itree_find_and_overlap_with_duplicates),
		cmocka_unit_test(test_itree_update_after_trim),
		cmocka_unit_test(test_itree_random_disjoint_matches_brute_force),
		cmocka_unit_test(test_itree_random_near_top_matches_brute_force),
		cmocka_unit_test(test_itree_random_overlapping_matches_brute_force),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
