/* SPDX-License-Identifier: MIT */
/*
 * Augmented red-black interval tree (see itree.h).
 *
 * Each node caches, for its subtree: the largest end (overlap queries), the
 * lowest and highest effective bound, i.e. start - gap_lo and end + gap_hi
 * (gap searches), and sub_gap, an upper bound on the free space between
 * consecutive nodes inside the subtree. sub_gap is exact when no guard gap
 * reaches past a neighbour; otherwise it is only used to prune, and every
 * candidate gap is measured exactly from the prefix/suffix bounds collected
 * on the way down.
 */
#include <errno.h>

#include "lib/itree.h"

static uint64_t itree_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t itree_max(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Effective extent of one node, saturating at both ends of the space. */
static uint64_t itree_lo(const struct lib_itree_node *n)
{
	return n->start > n->gap_lo ? n->start - n->gap_lo : 0;
}

static uint64_t itree_hi(const struct lib_itree_node *n)
{
	return n->end < UINT64_MAX - n->gap_hi ? n->end + n->gap_hi : UINT64_MAX;
}

/* Size of [lo, hi), 0 if empty. */
static uint64_t itree_span(uint64_t lo, uint64_t hi)
{
	return hi > lo ? hi - lo : 0;
}

static void itree_recompute(struct lib_itree_node *n)
{
	const struct lib_itree_node *l = n->left, *r = n->right;
	uint64_t lo = itree_lo(n), hi = itree_hi(n), gap = 0;

	n->sub_max_end = n->end;
	n->sub_lo = lo;
	n->sub_hi = hi;
	if (l) {
		n->sub_max_end = itree_max(n->sub_max_end, l->sub_max_end);
		n->sub_lo = itree_min(n->sub_lo, l->sub_lo);
		n->sub_hi = itree_max(n->sub_hi, l->sub_hi);
		gap = itree_max(l->sub_gap,
				itree_span(l->sub_hi, r ? itree_min(lo, r->sub_lo) : lo));
	}
	if (r) {
		n->sub_max_end = itree_max(n->sub_max_end, r->sub_max_end);
		n->sub_lo = itree_min(n->sub_lo, r->sub_lo);
		n->sub_hi = itree_max(n->sub_hi, r->sub_hi);
		gap = itree_max(gap, r->sub_gap);
		gap = itree_max(gap, itree_span(l ? itree_max(hi, l->sub_hi) : hi, r->sub_lo));
	}
	n->sub_gap = gap;
}

static void itree_propagate(struct lib_itree_node *n)
{
	for (; n; n = n->parent)
		itree_recompute(n);
}

void lib_itree_init(struct lib_itree *t)
{
	t->root = NULL;
	t->count = 0;
}

/* ---- red-black mechanics ---- */

static bool itree_is_red(const struct lib_itree_node *n)
{
	return n && n->red;
}

static void itree_replace_child(struct lib_itree *t, struct lib_itree_node *parent,
				struct lib_itree_node *old, struct lib_itree_node *new)
{
	if (!parent)
		t->root = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
}

/*
 * A rotation keeps the set of nodes under the pair, but sub_gap depends on
 * the shape too, so the ancestors are refreshed as well. Insertion and
 * removal rotate at most three times: still O(log n).
 */
static void itree_rotate_left(struct lib_itree *t, struct lib_itree_node *x)
{
	struct lib_itree_node *y = x->right;

	x->right = y->left;
	if (y->left)
		y->left->parent = x;
	y->parent = x->parent;
	itree_replace_child(t, x->parent, x, y);
	y->left = x;
	x->parent = y;
	itree_recompute(x);
	itree_propagate(y);
}

static void itree_rotate_right(struct lib_itree *t, struct lib_itree_node *x)
{
	struct lib_itree_node *y = x->left;

	x->left = y->right;
	if (y->right)
		y->right->parent = x;
	y->parent = x->parent;
	itree_replace_child(t, x->parent, x, y);
	y->right = x;
	x->parent = y;
	itree_recompute(x);
	itree_propagate(y);
}

static void itree_insert_fixup(struct lib_itree *t, struct lib_itree_node *n)
{
	struct lib_itree_node *p, *g, *u;

	while ((p = n->parent) && p->red) {
		g = p->parent;
		u = g->left == p ? g->right : g->left;
		if (itree_is_red(u)) {
			p->red = 0;
			u->red = 0;
			g->red = 1;
			n = g;
			continue;
		}
		if (g->left == p) {
			if (p->right == n) {
				itree_rotate_left(t, p);
				n = p;
				p = n->parent;
			}
			itree_rotate_right(t, g);
		} else {
			if (p->left == n) {
				itree_rotate_right(t, p);
				n = p;
				p = n->parent;
			}
			itree_rotate_left(t, g);
		}
		p->red = 0;
		g->red = 1;
		break;
	}
	t->root->red = 0;
}

/* Order by start, then end; equal keys go right so insertion order is kept. */
static bool itree_less(const struct lib_itree_node *a, const struct lib_itree_node *b)
{
	return a->start < b->start || (a->start == b->start && a->end < b->end);
}

void lib_itree_insert(struct lib_itree *t, struct lib_itree_node *n)
{
	struct lib_itree_node *parent = NULL, **link = &t->root;

	while (*link) {
		parent = *link;
		link = itree_less(n, parent) ? &parent->left : &parent->right;
	}
	n->parent = parent;
	n->left = NULL;
	n->right = NULL;
	n->red = 1;
	*link = n;
	t->count++;
	itree_propagate(n);
	itree_insert_fixup(t, n);
}

/* @x (maybe NULL) under @parent carries an extra black after a removal. */
static void itree_remove_fixup(struct lib_itree *t, struct lib_itree_node *x,
			       struct lib_itree_node *parent)
{
	struct lib_itree_node *w;

	while (x != t->root && !itree_is_red(x)) {
		if (x == parent->left) {
			w = parent->right;
			if (w->red) {
				w->red = 0;
				parent->red = 1;
				itree_rotate_left(t, parent);
				w = parent->right;
			}
			if (!itree_is_red(w->left) && !itree_is_red(w->right)) {
				w->red = 1;
				x = parent;
				parent = x->parent;
				continue;
			}
			if (!itree_is_red(w->right)) {
				w->left->red = 0;
				w->red = 1;
				itree_rotate_right(t, w);
				w = parent->right;
			}
			w->red = parent->red;
			parent->red = 0;
			w->right->red = 0;
			itree_rotate_left(t, parent);
		} else {
			w = parent->left;
			if (w->red) {
				w->red = 0;
				parent->red = 1;
				itree_rotate_right(t, parent);
				w = parent->left;
			}
			if (!itree_is_red(w->left) && !itree_is_red(w->right)) {
				w->red = 1;
				x = parent;
				parent = x->parent;
				continue;
			}
			if (!itree_is_red(w->left)) {
				w->right->red = 0;
				w->red = 1;
				itree_rotate_left(t, w);
				w = parent->left;
			}
			w->red = parent->red;
			parent->red = 0;
			w->left->red = 0;
			itree_rotate_right(t, parent);
		}
		x = t->root;
	}
	if (x)
		x->red = 0;
}

static struct lib_itree_node *itree_leftmost(struct lib_itree_node *n)
{
	while (n->left)
		n = n->left;
	return n;
}

static struct lib_itree_node *itree_rightmost(struct lib_itree_node *n)
{
	while (n->right)
		n = n->right;
	return n;
}

void lib_itree_remove(struct lib_itree *t, struct lib_itree_node *z)
{
	struct lib_itree_node *y, *x, *xp;
	int y_red;

	/* y: the node that actually leaves its position (z or its successor) */
	y = (z->left && z->right) ? itree_leftmost(z->right) : z;
	x = y->left ? y->left : y->right;
	xp = y->parent;
	y_red = y->red;
	itree_replace_child(t, y->parent, y, x);
	if (x)
		x->parent = xp;
	if (y != z) {
		/* move y into z's place */
		if (xp == z)
			xp = y;
		y->left = z->left;
		y->right = z->right;
		y->parent = z->parent;
		y->red = z->red;
		itree_replace_child(t, z->parent, z, y);
		if (y->left)
			y->left->parent = y;
		if (y->right)
			y->right->parent = y;
	}
	t->count--;
	itree_propagate(xp);
	if (!y_red)
		itree_remove_fixup(t, x, xp);
	z->parent = z->left = z->right = NULL;
}

void lib_itree_update(struct lib_itree *t, struct lib_itree_node *n)
{
	(void)t;
	itree_propagate(n);
}

/* ---- ordered walks ---- */

struct lib_itree_node *lib_itree_first(const struct lib_itree *t)
{
	return t->root ? itree_leftmost(t->root) : NULL;
}

struct lib_itree_node *lib_itree_last(const struct lib_itree *t)
{
	return t->root ? itree_rightmost(t->root) : NULL;
}

struct lib_itree_node *lib_itree_next(const struct lib_itree_node *n)
{
	const struct lib_itree_node *p;

	if (n->right)
		return itree_leftmost(n->right);
	for (p = n->parent; p && p->right == n; n = p, p = p->parent)
		;
	return (struct lib_itree_node *)p;
}

struct lib_itree_node *lib_itree_prev(const struct lib_itree_node *n)
{
	const struct lib_itree_node *p;

	if (n->left)
		return itree_rightmost(n->left);
	for (p = n->parent; p && p->left == n; n = p, p = p->parent)
		;
	return (struct lib_itree_node *)p;
}

/* ---- overlap queries; @last is inclusive so that ranges may end at 2^64 ---- */

static bool itree_overlaps(const struct lib_itree_node *n, uint64_t start, uint64_t last)
{
	return n->start <= last && n->end > start;
}

/* Lowest-ordered node of the subtree at @n meeting [start, last]. */
static struct lib_itree_node *itree_subtree_first(struct lib_itree_node *n, uint64_t start,
						  uint64_t last)
{
	while (n && n->sub_max_end > start) {
		/*
		 * If the left subtree reaches past @start it holds the answer
		 * or nothing does: everything to its right starts later.
		 */
		if (n->left && n->left->sub_max_end > start) {
			n = n->left;
			continue;
		}
		if (n->start > last)
			return NULL;
		if (n->end > start)
			return n;
		n = n->right;
	}
	return NULL;
}

static struct lib_itree_node *itree_next_meeting(const struct lib_itree_node *n, uint64_t start,
						 uint64_t last)
{
	struct lib_itree_node *found, *p;

	found = itree_subtree_first(n->right, start, last);
	if (found)
		return found;
	/* climb; each ancestor reached from its left is next in order */
	for (p = n->parent; p; n = p, p = p->parent) {
		if (p->right == n)
			continue;
		if (p->start > last)
			return NULL;
		if (itree_overlaps(p, start, last))
			return p;
		found = itree_subtree_first(p->right, start, last);
		if (found)
			return found;
	}
	return NULL;
}

struct lib_itree_node *lib_itree_find(const struct lib_itree *t, uint64_t addr)
{
	return itree_subtree_first(t->root, addr, addr);
}

struct lib_itree_node *lib_itree_find_above(const struct lib_itree *t, uint64_t addr)
{
	return itree_subtree_first(t->root, addr, UINT64_MAX);
}

struct lib_itree_node *lib_itree_first_overlap(const struct lib_itree *t, uint64_t start,
					       uint64_t end)
{
	if (start >= end)
		return NULL;
	return itree_subtree_first(t->root, start, end - 1);
}

struct lib_itree_node *lib_itree_next_overlap(const struct lib_itree_node *n, uint64_t start,
					      uint64_t end)
{
	if (start >= end)
		return NULL;
	return itree_next_meeting(n, start, end - 1);
}

/* ---- free-gap search ---- */

/*
 * A free range is [P, S) where P is the highest bound of every node before
 * a split point (in start order) and S the lowest bound of every node after
 * it: any address outside all effective extents lies in exactly one such
 * window, and windows rise with the split point.
 */
struct itree_gap_query {
	uint64_t len, align, low, high;
	bool topdown;
	uint64_t out;
};

/* Tries the window [p, s): records the best aligned start in it. */
static bool itree_gap_window(struct itree_gap_query *q, uint64_t p, uint64_t s)
{
	uint64_t lo = itree_max(p, q->low), hi = itree_min(s, q->high), start;

	if (hi < lo || hi - lo < q->len)
		return false;
	if (q->topdown) {
		start = (hi - q->len) & ~(q->align - 1);
		if (start < lo)
			return false;
	} else {
		if (lo > UINT64_MAX - (q->align - 1))
			return false;
		start = (lo + q->align - 1) & ~(q->align - 1);
		if (start > hi - q->len)
			return false;
	}
	q->out = start;
	return true;
}

/* Whether the windows between nodes of @n's subtree may hold the range. */
static bool itree_gap_may_fit(const struct lib_itree_node *n, const struct itree_gap_query *q)
{
	uint64_t lo = itree_max(n->sub_lo, q->low), hi = itree_min(n->sub_hi, q->high);

	return n->sub_gap >= q->len && hi > lo && hi - lo >= q->len;
}

/*
 * Searches the split points inside @n's subtree, highest first when top
 * down. @pb: highest bound before the subtree; @sa: lowest bound after it.
 */
static bool itree_gap_search(const struct lib_itree_node *n, uint64_t pb, uint64_t sa,
			     struct itree_gap_query *q)
{
	const struct lib_itree_node *l, *r;
	uint64_t p_at, p_after, s_after, s_at;

	if (!n || !itree_gap_may_fit(n, q))
		return false;
	l = n->left;
	r = n->right;
	p_at = l ? itree_max(pb, l->sub_hi) : pb;          /* just before n */
	p_after = itree_max(p_at, itree_hi(n));            /* just after n */
	s_after = r ? itree_min(r->sub_lo, sa) : sa;
	s_at = itree_min(itree_lo(n), s_after);
	if (q->topdown) {
		if (r && (itree_gap_search(r, p_after, sa, q) ||
			  itree_gap_window(q, p_after, s_after)))
			return true;
		return l && (itree_gap_window(q, p_at, s_at) ||
			     itree_gap_search(l, pb, s_at, q));
	}
	if (l && (itree_gap_search(l, pb, s_at, q) || itree_gap_window(q, p_at, s_at)))
		return true;
	return r && (itree_gap_window(q, p_after, s_after) ||
		     itree_gap_search(r, p_after, sa, q));
}

static int itree_gap(const struct lib_itree *t, struct itree_gap_query *q, uint64_t *out)
{
	const struct lib_itree_node *root = t->root;
	bool found;

	if (!q->align || (q->align & (q->align - 1)))
		return -EINVAL;
	if (!q->len || q->low >= q->high || q->len > q->high - q->low)
		return -ENOMEM;
	if (!root) {
		found = itree_gap_window(q, 0, UINT64_MAX);
	} else if (q->topdown) {
		found = itree_gap_window(q, root->sub_hi, UINT64_MAX) ||
			itree_gap_search(root, 0, UINT64_MAX, q) ||
			itree_gap_window(q, 0, root->sub_lo);
	} else {
		found = itree_gap_window(q, 0, root->sub_lo) ||
			itree_gap_search(root, 0, UINT64_MAX, q) ||
			itree_gap_window(q, root->sub_hi, UINT64_MAX);
	}
	if (!found)
		return -ENOMEM;
	*out = q->out;
	return 0;
}

int lib_itree_gap_topdown(const struct lib_itree *t, uint64_t len, uint64_t align,
			  uint64_t low, uint64_t high, uint64_t *out)
{
	struct itree_gap_query q = {
		.len = len, .align = align, .low = low, .high = high, .topdown = true,
	};

	return itree_gap(t, &q, out);
}

int lib_itree_gap_bottomup(const struct lib_itree *t, uint64_t len, uint64_t align,
			   uint64_t low, uint64_t high, uint64_t *out)
{
	struct itree_gap_query q = {
		.len = len, .align = align, .low = low, .high = high, .topdown = false,
	};

	return itree_gap(t, &q, out);
}
