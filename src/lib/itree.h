/* SPDX-License-Identifier: MIT */
/*
 * Interval tree over half-open ranges [start, end) of 64-bit addresses:
 * VMAs in an address space, memslots in a VM. A red-black tree ordered by
 * start, augmented so that overlap queries and free-gap searches are
 * O(log n).
 *
 * Gap search assumes the stored intervals do not overlap (true of VMAs and
 * memslots). Each node may ask for a guard gap below and above itself
 * (gap_lo, gap_hi bytes): a gap search never returns a range that comes
 * closer than that to the node (a shadow stack's guard page, a stack's
 * guard gap).
 *
 * No internal locking: the owner serialises.
 */
#ifndef MV_LIB_ITREE_H
#define MV_LIB_ITREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lib_itree_node {
	struct lib_itree_node *parent, *left, *right;
	uint64_t start, end;          /* [start, end), set before insert */
	uint64_t gap_lo, gap_hi;      /* guard bytes wanted below start / above end */
	/* augmentation, maintained by the tree */
	uint64_t sub_max_end;         /* max end in this subtree */
	uint64_t sub_lo, sub_hi;      /* min (start - gap_lo), max (end + gap_hi), saturating */
	uint64_t sub_gap;             /* largest free gap between neighbours inside the subtree:
	                               * exact unless a guard gap reaches past a neighbour, an
	                               * upper bound then (used only to prune gap searches) */
	int red;
};

struct lib_itree {
	struct lib_itree_node *root;
	size_t count;
};

void lib_itree_init(struct lib_itree *t);
/* Links @n (start < end required; duplicates and overlaps are allowed). */
void lib_itree_insert(struct lib_itree *t, struct lib_itree_node *n);
void lib_itree_remove(struct lib_itree *t, struct lib_itree_node *n);
/*
 * After changing n->start/n->end/n->gap_* in place: keeps order only if the
 * change did not move @n past a neighbour (split/trim of disjoint VMAs);
 * otherwise remove and reinsert.
 */
void lib_itree_update(struct lib_itree *t, struct lib_itree_node *n);

struct lib_itree_node *lib_itree_first(const struct lib_itree *t);
struct lib_itree_node *lib_itree_last(const struct lib_itree *t);
struct lib_itree_node *lib_itree_next(const struct lib_itree_node *n);
struct lib_itree_node *lib_itree_prev(const struct lib_itree_node *n);

/* The node containing @addr (lowest start if several), or NULL. */
struct lib_itree_node *lib_itree_find(const struct lib_itree *t, uint64_t addr);
/* The first node (lowest start) with end > @addr: Linux's find_vma(). */
struct lib_itree_node *lib_itree_find_above(const struct lib_itree *t, uint64_t addr);
/* Overlap iteration over [start, end), in start order. */
struct lib_itree_node *lib_itree_first_overlap(const struct lib_itree *t, uint64_t start,
					       uint64_t end);
struct lib_itree_node *lib_itree_next_overlap(const struct lib_itree_node *n, uint64_t start,
					      uint64_t end);

/*
 * Free-range search inside [low, high): a range of @len bytes whose start is
 * a multiple of @align (a power of two, >= 1) that overlaps no node nor any
 * node's guard gap. Top-down returns the highest such start, bottom-up the
 * lowest. 0 and *out set, or -ENOMEM if none (also for len 0, low >= high
 * or len > high - low); -EINVAL if @align is not a power of two. Candidate
 * gaps are measured exactly, even when a guard gap reaches past neighbours;
 * the search is O(log n) unless many gaps are too small only because of
 * @align or of such far-reaching guard gaps.
 */
int lib_itree_gap_topdown(const struct lib_itree *t, uint64_t len, uint64_t align,
			  uint64_t low, uint64_t high, uint64_t *out);
int lib_itree_gap_bottomup(const struct lib_itree *t, uint64_t len, uint64_t align,
			   uint64_t low, uint64_t high, uint64_t *out);

#define lib_itree_entry(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif
