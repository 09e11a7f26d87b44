/* SPDX-License-Identifier: MIT */
/*
 * A radix tree from a sparse 64-bit index to a non-NULL pointer: page
 * caches (file offset -> folio), memory attributes (gfn -> bits), EPC page
 * arrays. 64-way nodes; the tree grows and shrinks in height with the
 * largest index. Small integers can be stored as "value entries".
 *
 * No internal locking: the owner serialises writers; readers need the
 * owner's lock too.
 */
#ifndef MV_LIB_RADIX_H
#define MV_LIB_RADIX_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"

struct lib_radix_node;

struct lib_radix {
	struct lib_radix_node *root;
	unsigned int height;     /* 0: empty; levels of 6 bits */
	uint64_t count;          /* entries present */
};

void lib_radix_init(struct lib_radix *r);
/* Frees every node; the items themselves belong to the caller. */
void lib_radix_destroy(struct lib_radix *r);

void *lib_radix_lookup(const struct lib_radix *r, uint64_t index);
/* 0, -EEXIST if occupied, -ENOMEM, -EINVAL if @item is NULL. */
MV_MUST_CHECK int lib_radix_insert(struct lib_radix *r, uint64_t index, void *item);
/* Stores (replacing) and returns the old item or NULL; ERR_PTR(-ENOMEM). */
void *lib_radix_store(struct lib_radix *r, uint64_t index, void *item);
/* Removes and returns the item, NULL if none. Frees empty nodes. */
void *lib_radix_erase(struct lib_radix *r, uint64_t index);

/*
 * First present entry with *index <= i <= last: returns it and sets *index
 * to i; NULL if none (then *index is unspecified).
 */
void *lib_radix_find(const struct lib_radix *r, uint64_t *index, uint64_t last);
/* Like lib_radix_find() but strictly after *index; NULL once *index >= last. */
void *lib_radix_find_after(const struct lib_radix *r, uint64_t *index, uint64_t last);

/*
 * Stores @item at every index in [first, last]. On -ENOMEM nothing changed.
 * If @item is NULL, erases the range instead. -EINVAL if first > last.
 */
MV_MUST_CHECK int lib_radix_store_range(struct lib_radix *r, uint64_t first, uint64_t last,
					 void *item);

/*
 * Erases every entry in [first, last], calling @fn (if not NULL) on each
 * removed item in index order. Returns the number erased. Cost is in the
 * number of entries and nodes visited, not the width of the range.
 * @fn runs while the tree is being changed: it must not use @r.
 */
typedef void (*lib_radix_fn)(void *item, uint64_t index, void *ctx);
uint64_t lib_radix_erase_range(struct lib_radix *r, uint64_t first, uint64_t last,
			       lib_radix_fn fn, void *ctx);

/* Number of present entries in [first, last]. */
uint64_t lib_radix_count_range(const struct lib_radix *r, uint64_t first, uint64_t last);

/* Value entries: small integers stored in place of pointers. */
static inline void *lib_radix_mkvalue(uint64_t v)
{
	return (void *)(uintptr_t)((v << 1) | 1);
}
static inline bool lib_radix_is_value(const void *item)
{
	return ((uintptr_t)item & 1) != 0;
}
static inline uint64_t lib_radix_value(const void *item)
{
	return (uint64_t)(uintptr_t)item >> 1;
}

/*
 * Iterate present entries of [first, last] in index order (@idx a uint64_t).
 * Stops after @last without incrementing past it, so last == UINT64_MAX
 * terminates. @r and @last are evaluated more than once.
 */
#define lib_radix_for_each(r, idx, item, first, last)                           \
	for ((idx) = (first), (item) = lib_radix_find((r), &(idx), (last));      \
	     (item) != NULL; (item) = lib_radix_find_after((r), &(idx), (last)))

#endif
