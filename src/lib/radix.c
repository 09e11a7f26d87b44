/* SPDX-License-Identifier: MIT */
/*
 * Radix tree: 64-way nodes, 6 index bits per level, leaves at level 0.
 *
 * Invariants kept between calls, which the -ENOMEM unwinding relies on:
 * no node is empty (every node leads to at least one entry), and the
 * height is the smallest that covers the largest index present. A failed
 * insertion therefore undoes itself by freeing the empty nodes it left on
 * its path and shrinking the height back.
 */
#include <string.h>

#include "lib/alloc.h"
#include "lib/radix.h"

#define RADIX_BITS 6
#define RADIX_SLOTS (1u << RADIX_BITS)
#define RADIX_SLOT_MASK (RADIX_SLOTS - 1)
#define RADIX_MAX_HEIGHT 11          /* 11 * 6 >= 64 */

struct lib_radix_node {
	uint64_t present;            /* bit s: slots[s] is in use */
	void *slots[RADIX_SLOTS];    /* items at level 0, child nodes above */
};

static unsigned int radix_slot(uint64_t index, unsigned int level)
{
	return (unsigned int)(index >> (RADIX_BITS * level)) & RADIX_SLOT_MASK;
}

/* Largest index a tree of @height levels can hold. */
static uint64_t radix_max_index(unsigned int height)
{
	if (height >= RADIX_MAX_HEIGHT)
		return UINT64_MAX;
	return (1ull << (RADIX_BITS * height)) - 1;
}

/* Index bits below a node at @level: its span minus one. */
static uint64_t radix_node_mask(unsigned int level)
{
	return radix_max_index(level + 1);
}

static unsigned int radix_height_for(uint64_t index)
{
	unsigned int h = 1;

	while (index > radix_max_index(h))
		h++;
	return h;
}

/* Slots [sf, sl] of a node as a bit mask. */
static uint64_t radix_slot_range(unsigned int sf, unsigned int sl)
{
	return (~0ull << sf) & (~0ull >> (RADIX_SLOTS - 1 - sl));
}

static int radix_ctz(uint64_t x)
{
	return __builtin_ctzll(x);
}

void lib_radix_init(struct lib_radix *r)
{
	r->root = NULL;
	r->height = 0;
	r->count = 0;
}

static void radix_free_node(struct lib_radix_node *node, unsigned int level)
{
	uint64_t m;

	if (level) {
		for (m = node->present; m; m &= m - 1)
			radix_free_node(node->slots[radix_ctz(m)], level - 1);
	}
	lib_free(node);
}

void lib_radix_destroy(struct lib_radix *r)
{
	if (r->root)
		radix_free_node(r->root, r->height - 1);
	lib_radix_init(r);
}

void *lib_radix_lookup(const struct lib_radix *r, uint64_t index)
{
	const struct lib_radix_node *node = r->root;
	unsigned int level, s;

	if (!node || index > radix_max_index(r->height))
		return NULL;
	for (level = r->height - 1;; level--) {
		s = radix_slot(index, level);
		if (!(node->present & (1ull << s)))
			return NULL;
		if (!level)
			return node->slots[s];
		node = node->slots[s];
	}
}

/* Drops root levels that only lead to slot 0, and an empty root. */
static void radix_shrink(struct lib_radix *r)
{
	struct lib_radix_node *old;

	while (r->height > 1 && r->root->present == 1) {
		old = r->root;
		r->root = old->slots[0];
		r->height--;
		lib_free(old);
	}
	if (r->root && !r->root->present) {
		lib_free(r->root);
		r->root = NULL;
		r->height = 0;
	}
}

/*
 * Frees the nodes on @index's path that became empty, bottom up, then
 * shrinks. Used after an erase and to undo a failed insertion.
 */
static void radix_trim_path(struct lib_radix *r, uint64_t index)
{
	struct lib_radix_node *path[RADIX_MAX_HEIGHT];
	struct lib_radix_node *node = r->root;
	unsigned int level, s, depth = 0;

	if (!node)
		return;
	for (level = r->height - 1; level > 0; level--) {
		s = radix_slot(index, level);
		if (!(node->present & (1ull << s)))
			break;
		path[depth++] = node;
		node = node->slots[s];
	}
	/* node sits at @level; path[depth - 1] is its parent */
	while (depth && !node->present) {
		struct lib_radix_node *parent = path[--depth];

		lib_free(node);
		level++;
		parent->present &= ~(1ull << radix_slot(index, level));
		node = parent;
	}
	radix_shrink(r);
}

/* Adds root levels until the tree covers @index. */
static int radix_grow(struct lib_radix *r, uint64_t index)
{
	unsigned int need = radix_height_for(index);
	struct lib_radix_node *node;

	if (!r->root) {
		r->root = lib_zalloc(sizeof(*r->root));
		if (!r->root)
			return -ENOMEM;
		r->height = need;
		return 0;
	}
	while (r->height < need) {
		node = lib_zalloc(sizeof(*node));
		if (!node)
			return -ENOMEM;
		node->slots[0] = r->root;
		node->present = 1;
		r->root = node;
		r->height++;
	}
	return 0;
}

/*
 * The leaf that holds @index, created with its path if missing. NULL on
 * -ENOMEM, with the tree as it was.
 */
static struct lib_radix_node *radix_leaf_create(struct lib_radix *r, uint64_t index)
{
	struct lib_radix_node *node, *child;
	unsigned int level, s;

	if (radix_grow(r, index))
		goto err_trim;
	node = r->root;
	for (level = r->height - 1; level > 0; level--) {
		s = radix_slot(index, level);
		if (!(node->present & (1ull << s))) {
			child = lib_zalloc(sizeof(*child));
			if (!child)
				goto err_trim;
			node->slots[s] = child;
			node->present |= 1ull << s;
		}
		node = node->slots[s];
	}
	return node;

err_trim:
	radix_trim_path(r, index);
	return NULL;
}

int lib_radix_insert(struct lib_radix *r, uint64_t index, void *item)
{
	struct lib_radix_node *leaf;
	unsigned int s = radix_slot(index, 0);

	if (!item)
		return -EINVAL;
	if (lib_radix_lookup(r, index))
		return -EEXIST;
	leaf = radix_leaf_create(r, index);
	if (!leaf)
		return -ENOMEM;
	leaf->slots[s] = item;
	leaf->present |= 1ull << s;
	r->count++;
	return 0;
}

void *lib_radix_store(struct lib_radix *r, uint64_t index, void *item)
{
	struct lib_radix_node *leaf;
	unsigned int s = radix_slot(index, 0);
	void *old = NULL;

	if (!item)
		return lib_radix_erase(r, index);
	leaf = radix_leaf_create(r, index);
	if (!leaf)
		return lib_err_ptr(-ENOMEM);
	if (leaf->present & (1ull << s))
		old = leaf->slots[s];
	else
		r->count++;
	leaf->slots[s] = item;
	leaf->present |= 1ull << s;
	return old;
}

void *lib_radix_erase(struct lib_radix *r, uint64_t index)
{
	struct lib_radix_node *node = r->root;
	unsigned int level, s;
	void *item;

	if (!node || index > radix_max_index(r->height))
		return NULL;
	for (level = r->height - 1; level > 0; level--) {
		s = radix_slot(index, level);
		if (!(node->present & (1ull << s)))
			return NULL;
		node = node->slots[s];
	}
	s = radix_slot(index, 0);
	if (!(node->present & (1ull << s)))
		return NULL;
	item = node->slots[s];
	node->slots[s] = NULL;
	node->present &= ~(1ull << s);
	r->count--;
	radix_trim_path(r, index);
	return item;
}

/*
 * Moves *index to the start of the next node-sized block at @level and
 * climbs to the first ancestor whose span still contains it. false when
 * the walk leaves the tree or passes @last.
 */
static bool radix_find_ascend(unsigned int height, unsigned int *level, uint64_t *index,
			      uint64_t last)
{
	uint64_t m = radix_node_mask(*level);

	if ((*index | m) == UINT64_MAX)
		return false;
	*index = (*index | m) + 1;
	/* the carry may leave the parent's span too: then climb again */
	do {
		if (++*level >= height)
			return false;
	} while (!(*index & radix_node_mask(*level)));
	return *index <= last;
}

void *lib_radix_find(const struct lib_radix *r, uint64_t *indexp, uint64_t last)
{
	const struct lib_radix_node *path[RADIX_MAX_HEIGHT];
	const struct lib_radix_node *node = r->root;
	uint64_t index = *indexp, mask;
	unsigned int level, s, ns;

	if (!node || index > last || index > radix_max_index(r->height))
		return NULL;
	level = r->height - 1;
	for (;;) {
		s = radix_slot(index, level);
		mask = node->present & (~0ull << s);
		if (!mask) {
			if (!radix_find_ascend(r->height, &level, &index, last))
				return NULL;
			node = path[level];
			continue;
		}
		ns = (unsigned int)radix_ctz(mask);
		if (ns != s) {
			/* skip to the first index under slot ns */
			index &= ~radix_node_mask(level);
			index |= (uint64_t)ns << (RADIX_BITS * level);
			if (index > last)
				return NULL;
		}
		if (!level) {
			*indexp = index;
			return node->slots[ns];
		}
		path[level] = node;
		node = node->slots[ns];
		level--;
	}
}

void *lib_radix_find_after(const struct lib_radix *r, uint64_t *index, uint64_t last)
{
	if (*index >= last)
		return NULL;
	++*index;
	return lib_radix_find(r, index, last);
}

/* The part of [first, last] inside the child at slot @s of a node at @level. */
struct radix_span {
	uint64_t first, last;
};

static struct radix_span radix_child_span(uint64_t base, unsigned int level, unsigned int s,
					  uint64_t first, uint64_t last)
{
	uint64_t cbase = base + ((uint64_t)s << (RADIX_BITS * level));
	uint64_t clast = cbase + radix_node_mask(level - 1);
	struct radix_span sp = {
		.first = first > cbase ? first : cbase,
		.last = last < clast ? last : clast,
	};

	return sp;
}

/* Slots of a node at @level that [first, last] (inside its span) touches. */
static uint64_t radix_range_mask(unsigned int level, uint64_t first, uint64_t last)
{
	return radix_slot_range(radix_slot(first, level), radix_slot(last, level));
}

struct radix_erase_ctx {
	lib_radix_fn fn;
	void *ctx;
	uint64_t erased;
};

/*
 * Erases [first, last] (inside this node's span) under @node and frees the
 * children it empties. The caller frees @node itself if it ends up empty.
 */
static void radix_erase_node(struct lib_radix_node *node, unsigned int level, uint64_t base,
			     uint64_t first, uint64_t last, struct radix_erase_ctx *ec)
{
	uint64_t m = node->present & radix_range_mask(level, first, last);
	struct lib_radix_node *child;
	struct radix_span sp;
	unsigned int s;
	void *item;

	for (; m; m &= m - 1) {
		s = (unsigned int)radix_ctz(m);
		if (!level) {
			item = node->slots[s];
			node->slots[s] = NULL;
			node->present &= ~(1ull << s);
			ec->erased++;
			if (ec->fn)
				ec->fn(item, base + s, ec->ctx);
			continue;
		}
		child = node->slots[s];
		sp = radix_child_span(base, level, s, first, last);
		radix_erase_node(child, level - 1, base + ((uint64_t)s << (RADIX_BITS * level)),
				 sp.first, sp.last, ec);
		if (!child->present) {
			lib_free(child);
			node->slots[s] = NULL;
			node->present &= ~(1ull << s);
		}
	}
}

uint64_t lib_radix_erase_range(struct lib_radix *r, uint64_t first, uint64_t last,
			       lib_radix_fn fn, void *ctx)
{
	struct radix_erase_ctx ec = { .fn = fn, .ctx = ctx };
	uint64_t max;

	if (!r->root || first > last)
		return 0;
	max = radix_max_index(r->height);
	if (first > max)
		return 0;
	if (last > max)
		last = max;
	radix_erase_node(r->root, r->height - 1, 0, first, last, &ec);
	r->count -= ec.erased;
	radix_shrink(r);
	return ec.erased;
}

static uint64_t radix_count_node(const struct lib_radix_node *node, unsigned int level,
				 uint64_t base, uint64_t first, uint64_t last)
{
	uint64_t m = node->present & radix_range_mask(level, first, last);
	struct radix_span sp;
	uint64_t n = 0;
	unsigned int s;

	if (!level)
		return (uint64_t)__builtin_popcountll(m);
	for (; m; m &= m - 1) {
		s = (unsigned int)radix_ctz(m);
		sp = radix_child_span(base, level, s, first, last);
		n += radix_count_node(node->slots[s], level - 1,
				      base + ((uint64_t)s << (RADIX_BITS * level)),
				      sp.first, sp.last);
	}
	return n;
}

uint64_t lib_radix_count_range(const struct lib_radix *r, uint64_t first, uint64_t last)
{
	uint64_t max;

	if (!r->root || first > last)
		return 0;
	max = radix_max_index(r->height);
	if (first > max)
		return 0;
	if (first == 0 && last >= max)
		return r->count;
	if (last > max)
		last = max;
	return radix_count_node(r->root, r->height - 1, 0, first, last);
}

/*
 * First pass of store_range: creates every missing node under [first,
 * last]. New nodes stay empty until the second pass, so a failure is undone
 * by pruning empty nodes.
 */
static int radix_populate_node(struct lib_radix_node *node, unsigned int level, uint64_t base,
			       uint64_t first, uint64_t last)
{
	uint64_t m = radix_range_mask(level, first, last);
	struct radix_span sp;
	unsigned int s;
	int err;

	if (!level)
		return 0;
	for (; m; m &= m - 1) {
		s = (unsigned int)radix_ctz(m);
		if (!(node->present & (1ull << s))) {
			node->slots[s] = lib_zalloc(sizeof(struct lib_radix_node));
			if (!node->slots[s])
				return -ENOMEM;
			node->present |= 1ull << s;
		}
		sp = radix_child_span(base, level, s, first, last);
		err = radix_populate_node(node->slots[s], level - 1,
					  base + ((uint64_t)s << (RADIX_BITS * level)),
					  sp.first, sp.last);
		if (err)
			return err;
	}
	return 0;
}

/* Frees the empty nodes under [first, last]; the undo of a failed populate. */
static void radix_prune_node(struct lib_radix_node *node, unsigned int level, uint64_t base,
			     uint64_t first, uint64_t last)
{
	uint64_t m = node->present & radix_range_mask(level, first, last);
	struct lib_radix_node *child;
	struct radix_span sp;
	unsigned int s;

	if (!level)
		return;
	for (; m; m &= m - 1) {
		s = (unsigned int)radix_ctz(m);
		child = node->slots[s];
		sp = radix_child_span(base, level, s, first, last);
		radix_prune_node(child, level - 1, base + ((uint64_t)s << (RADIX_BITS * level)),
				 sp.first, sp.last);
		if (!child->present) {
			lib_free(child);
			node->slots[s] = NULL;
			node->present &= ~(1ull << s);
		}
	}
}

/* Second pass: every node exists, only slot writes remain; cannot fail. */
static uint64_t radix_fill_node(struct lib_radix_node *node, unsigned int level, uint64_t base,
				uint64_t first, uint64_t last, void *item)
{
	uint64_t m = radix_range_mask(level, first, last);
	struct radix_span sp;
	uint64_t added = 0;
	unsigned int s;

	if (!level) {
		added = (uint64_t)__builtin_popcountll(m & ~node->present);
		node->present |= m;
		for (; m; m &= m - 1)
			node->slots[radix_ctz(m)] = item;
		return added;
	}
	for (; m; m &= m - 1) {
		s = (unsigned int)radix_ctz(m);
		sp = radix_child_span(base, level, s, first, last);
		added += radix_fill_node(node->slots[s], level - 1,
					 base + ((uint64_t)s << (RADIX_BITS * level)),
					 sp.first, sp.last, item);
	}
	return added;
}

int lib_radix_store_range(struct lib_radix *r, uint64_t first, uint64_t last, void *item)
{
	if (first > last)
		return -EINVAL;
	if (!item) {
		lib_radix_erase_range(r, first, last, NULL, NULL);
		return 0;
	}
	if (radix_grow(r, last))
		goto err_prune;
	if (radix_populate_node(r->root, r->height - 1, 0, first, last))
		goto err_prune;
	r->count += radix_fill_node(r->root, r->height - 1, 0, first, last, item);
	return 0;

err_prune:
	if (r->root)
		radix_prune_node(r->root, r->height - 1, 0, first, last);
	radix_shrink(r);
	return -ENOMEM;
}
