/* SPDX-License-Identifier: MIT */
/*
 * Memory attributes: the attribute bits (KVM_MEMORY_ATTRIBUTE_PRIVATE and
 * the Heki permission bits beside it) as runs of equal values, each run a
 * node of an interval tree (lib/itree). The runs never overlap, never hold
 * 0 (no attributes is no node) and two that touch always differ: the map is
 * canonical, so its size is the number of value changes along the GPA
 * space, whatever the length of the ranges. Marking a whole guest private
 * costs one node.
 *
 * Writers and readers take attr_lock; the stage-2 fault reads one gfn
 * (O(log runs)). KVM_SET_MEMORY_ATTRIBUTES (gmem.c) writes the map; the
 * fault reads KVM_MEMORY_ATTRIBUTE_PRIVATE to pick the guest_memfd over the
 * VMM's page.
 *
 * An update first counts the nodes it needs (a split at either end of the
 * range, a run for a hole no neighbour grows over) and takes them from a
 * small per-VM cache or allocates them, then changes the tree, then merges
 * equal neighbours and keeps what is left over for the next update: it
 * fails, if at all, before touching anything. kvm_attr_restore draws on
 * nodes kvm_attr_snapshot set aside, so undoing a failed multi-range
 * update cannot fail.
 *
 * Everything in kvm->mem_attr (tree, cache, spares, lookup hint) is
 * covered by attr_lock.
 */
#include <string.h>

#include "kvm/kvm.h"
#include "lib/alloc.h"
#include "lib/lockdep.h"

/* Nodes kept for the next update, so that a small one never allocates. */
#define KVM_ATTR_CACHE 4

struct kvm_attr_node {
	struct lib_itree_node it;      /* the run [start, end) */
	uint64_t val;                  /* nonzero */
};

/* A stack of unlinked nodes, linked through ->right. */
struct kvm_attr_pool {
	struct lib_itree_node *head;
	size_t n;
};

static struct kvm_attr_node *kvm_attr_node(struct lib_itree_node *it)
{
	return it ? lib_itree_entry(it, struct kvm_attr_node, it) : NULL;
}

static void kvm_attr_pool_put(struct kvm_attr_pool *p, struct lib_itree_node *it)
{
	it->right = p->head;
	p->head = it;
	p->n++;
}

static struct lib_itree_node *kvm_attr_pool_get(struct kvm_attr_pool *p)
{
	struct lib_itree_node *it = p->head;

	/* callers took as many as they can use beforehand */
	assert(it);
	p->head = it->right;
	p->n--;
	memset(kvm_attr_node(it), 0, sizeof(struct kvm_attr_node));
	return it;
}

/* Grows @p to @n nodes: 0, or -ENOMEM with @p as it was. */
static int kvm_attr_pool_fill(struct kvm_attr_pool *p, size_t n)
{
	struct kvm_attr_pool add = { NULL, 0 };

	while (p->n + add.n < n) {
		struct kvm_attr_node *a = lib_zalloc(sizeof(*a));

		if (!a) {
			while (add.head) {
				struct lib_itree_node *it = add.head;

				add.head = it->right;
				lib_free(kvm_attr_node(it));
			}
			return -ENOMEM;
		}
		kvm_attr_pool_put(&add, &a->it);
	}
	while (add.head) {
		struct lib_itree_node *it = add.head;

		add.head = it->right;
		add.n--;
		kvm_attr_pool_put(p, it);
	}
	return 0;
}

/* Frees all but @keep nodes of @p. */
static void kvm_attr_pool_trim(struct kvm_attr_pool *p, size_t keep)
{
	while (p->n > keep)
		lib_free(kvm_attr_node(kvm_attr_pool_get(p)));
}

int kvm_attr_init(struct kvm *kvm)
{
	if (pthread_mutex_init(&kvm->attr_lock, NULL))
		return -ENOMEM;
	memset(&kvm->mem_attr, 0, sizeof(kvm->mem_attr));
	lib_itree_init(&kvm->mem_attr.runs);
	if (kvm_heki_init(kvm)) {
		pthread_mutex_destroy(&kvm->attr_lock);
		return -ENOMEM;
	}
	return 0;
}

void kvm_attr_destroy(struct kvm *kvm)
{
	struct kvm_attr_map *m = &kvm->mem_attr;
	struct kvm_attr_pool spare = { m->spare, m->nr_spare };
	struct kvm_attr_pool cache = { m->cache, m->nr_cache };
	struct lib_itree_node *it;

	kvm_heki_destroy(kvm);
	while ((it = lib_itree_first(&m->runs))) {
		lib_itree_remove(&m->runs, it);
		lib_free(kvm_attr_node(it));
	}
	kvm_attr_pool_trim(&spare, 0);
	kvm_attr_pool_trim(&cache, 0);
	memset(m, 0, sizeof(*m));
	pthread_mutex_destroy(&kvm->attr_lock);
}

uint64_t kvm_attr_run_locked(struct kvm *kvm, uint64_t gfn, uint64_t end, uint64_t *run_end)
{
	struct kvm_attr_node *n;

	lockdep_assert_held(&kvm->attr_lock);
	n = kvm_attr_node(lib_itree_find_above(&kvm->mem_attr.runs, gfn));
	if (!n || n->it.start >= end) {
		*run_end = end;
		return 0;
	}
	if (n->it.start > gfn) {        /* a hole up to the next run */
		*run_end = n->it.start;
		return 0;
	}
	*run_end = n->it.end < end ? n->it.end : end;
	return n->val;
}

static uint64_t kvm_attr_new_val(uint64_t v, uint64_t clear, uint64_t set)
{
	return (v & ~clear) | set;
}

static uint64_t kvm_attr_val(const struct lib_itree_node *it)
{
	return lib_itree_entry(it, struct kvm_attr_node, it)->val;
}

/* The first run meeting [start, end) or ending at @start (its left neighbour). */
static struct lib_itree_node *kvm_attr_first_near(struct kvm_attr_map *m, uint64_t start)
{
	return lib_itree_find_above(&m->runs, start ? start - 1 : 0);
}

/*
 * Nodes an update of [start, end) takes, before the merges give some back:
 * a run that changes and reaches out of the range on one side is split
 * there, and a hole that gets a nonzero value (@set) needs a run unless the
 * run before or after it ends up holding @set too and grows over it. It
 * makes the same choices as kvm_attr_apply_locked; O(runs in range).
 * Called with attr_lock held.
 */
static size_t kvm_attr_nodes_needed_locked(struct kvm_attr_map *m, uint64_t start, uint64_t end,
					   uint64_t clear, uint64_t set)
{
	struct lib_itree_node *it = kvm_attr_first_near(m, start);
	bool prev_set = false;     /* the run ending at g holds @set after the update */
	uint64_t g = start;
	size_t need = 0;

	if (it && it->end == start) {
		prev_set = kvm_attr_val(it) == set;
		it = lib_itree_next(it);
	}
	for (; it && it->start < end; it = lib_itree_next(it)) {
		uint64_t v = kvm_attr_val(it), nv = kvm_attr_new_val(v, clear, set);

		if (set && it->start > g && !prev_set && nv != set)
			need++;
		if (nv != v)
			need += (it->start < start) + (it->end > end);
		prev_set = nv == set;
		g = it->end;
	}
	if (set && g < end && !prev_set && !(it && it->start == end && kvm_attr_val(it) == set))
		need++;
	return need;
}

/*
 * Cuts the run holding @gfn in two at @gfn, if it starts below it and the
 * update changes its value. Called with attr_lock held.
 */
static void kvm_attr_split_locked(struct kvm_attr_map *m, uint64_t gfn, uint64_t clear,
				  uint64_t set, struct kvm_attr_pool *p)
{
	struct kvm_attr_node *n = kvm_attr_node(lib_itree_find(&m->runs, gfn)), *hi;

	if (!n || n->it.start == gfn || kvm_attr_new_val(n->val, clear, set) == n->val)
		return;
	hi = kvm_attr_node(kvm_attr_pool_get(p));
	hi->it.start = gfn;
	hi->it.end = n->it.end;
	hi->val = n->val;
	n->it.end = gfn;
	lib_itree_update(&m->runs, &n->it);
	lib_itree_insert(&m->runs, &hi->it);
}

/*
 * The hole [start, end) gets @set (nonzero): the run before it (@prev), if
 * it holds @set, or else the one after it (@next, given only when it will
 * hold @set) grows over it; else a new run.
 * Called with attr_lock held.
 */
static void kvm_attr_fill_locked(struct kvm_attr_map *m, uint64_t start, uint64_t end,
				 uint64_t set, struct lib_itree_node *prev,
				 struct lib_itree_node *next, struct kvm_attr_pool *p)
{
	struct kvm_attr_node *n;

	if (prev && kvm_attr_val(prev) == set) {
		prev->end = end;
		lib_itree_update(&m->runs, prev);
	} else if (next) {
		next->start = start;
		lib_itree_update(&m->runs, next);
	} else {
		n = kvm_attr_node(kvm_attr_pool_get(p));
		n->it.start = start;
		n->it.end = end;
		n->val = set;
		lib_itree_insert(&m->runs, &n->it);
	}
}

/*
 * Joins touching runs of equal value from the run ending at @start (or
 * holding it) to the one starting at @end: the only places an update can
 * have made two neighbours equal. Freed nodes go to @p. Called with
 * attr_lock held.
 */
static void kvm_attr_merge_locked(struct kvm_attr_map *m, uint64_t start, uint64_t end,
				  struct kvm_attr_pool *p)
{
	struct lib_itree_node *it = kvm_attr_first_near(m, start);

	while (it && it->start <= end) {
		struct lib_itree_node *next = lib_itree_next(it);

		if (next && next->start == it->end && kvm_attr_val(next) == kvm_attr_val(it)) {
			lib_itree_remove(&m->runs, next);
			it->end = next->end;
			lib_itree_update(&m->runs, it);
			kvm_attr_pool_put(p, next);
		} else {
			it = next;
		}
	}
}

/*
 * The update proper: every value v of [start, end), holes included, becomes
 * (v & ~@clear) | @set. @p holds at least kvm_attr_nodes_needed_locked()
 * nodes and receives the freed ones. Cannot fail. Called with attr_lock held.
 */
static void kvm_attr_apply_locked(struct kvm_attr_map *m, uint64_t start, uint64_t end,
				  uint64_t clear, uint64_t set, struct kvm_attr_pool *p)
{
	struct lib_itree_node *it, *prev = NULL;
	uint64_t g = start;

	kvm_attr_split_locked(m, start, clear, set, p);
	kvm_attr_split_locked(m, end, clear, set, p);
	/* now every run that changes lies inside [start, end) */
	it = kvm_attr_first_near(m, start);
	if (it && it->end == start) {
		prev = it;
		it = lib_itree_next(it);
	}
	while (it && it->start < end) {
		struct kvm_attr_node *n = kvm_attr_node(it);
		uint64_t nv = kvm_attr_new_val(n->val, clear, set);

		if (set && it->start > g)
			kvm_attr_fill_locked(m, g, it->start, set, prev, nv == set ? it : NULL, p);
		g = it->end;
		it = lib_itree_next(it);
		if (nv) {
			n->val = nv;
			prev = &n->it;
		} else {
			lib_itree_remove(&m->runs, &n->it);
			kvm_attr_pool_put(p, &n->it);
			prev = NULL;
		}
	}
	if (set && g < end)
		kvm_attr_fill_locked(m, g, end, set, prev,
				     it && it->start == end && kvm_attr_val(it) == set ? it : NULL, p);
	kvm_attr_merge_locked(m, start, end, p);
}

/*
 * All or nothing: the nodes are taken before the tree is touched. They
 * come from the map's cache of KVM_ATTR_CACHE nodes, topped up first at no
 * risk (a failure there only leaves the cache short), so an update that
 * needs no more than that (one range's splits, a run in a hole) cannot
 * fail; a larger one allocates the rest or gives -ENOMEM. What the update
 * frees refills the cache. Called with attr_lock held.
 */
static int kvm_attr_update_locked(struct kvm_attr_map *m, uint64_t start, uint64_t end,
				  uint64_t clear, uint64_t set)
{
	struct kvm_attr_pool cache = { m->cache, m->nr_cache };
	size_t need = kvm_attr_nodes_needed_locked(m, start, end, clear, set);
	int ret = 0;

	m->last = NULL;

	while (cache.n < KVM_ATTR_CACHE && !kvm_attr_pool_fill(&cache, cache.n + 1))
		;
	if (need > cache.n)
		ret = kvm_attr_pool_fill(&cache, need);
	if (!ret)
		kvm_attr_apply_locked(m, start, end, clear, set, &cache);
	kvm_attr_pool_trim(&cache, KVM_ATTR_CACHE);
	m->cache = cache.head;
	m->nr_cache = cache.n;
	return ret;
}

/* Appends [start, end)'s runs to @s. Called with attr_lock held. */
static int kvm_attr_read_runs_locked(struct kvm *kvm, uint64_t start, uint64_t end,
				     struct kvm_attr_runs *s)
{
	int ret = 0;

	lockdep_assert_held(&kvm->attr_lock);
	for (uint64_t g = start, e; g < end && !ret; g = e) {
		uint64_t v = kvm_attr_run_locked(kvm, g, end, &e);

		if (s->n == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 16;
			struct kvm_attr_run *r = lib_calloc(cap, sizeof(*r));

			if (!r) {
				ret = -ENOMEM;
				break;
			}
			if (s->n)
				memcpy(r, s->run, s->n * sizeof(*r));
			lib_free(s->run);
			s->run = r;
			s->cap = cap;
		}
		s->run[s->n++] = (struct kvm_attr_run){ .start = g, .end = e, .val = v };
	}
	return ret;
}

int kvm_attr_read_runs(struct kvm *kvm, uint64_t start, uint64_t end, struct kvm_attr_runs *s)
{
	int ret;

	pthread_mutex_lock(&kvm->attr_lock);
	ret = kvm_attr_read_runs_locked(kvm, start, end, s);
	pthread_mutex_unlock(&kvm->attr_lock);
	return ret;
}

/*
 * Appends [start, end)'s runs to @s, and sets aside the nodes a restore of
 * @s could need (see kvm_attr_restore) in the VM's spare pool.
 */
int kvm_attr_snapshot(struct kvm *kvm, uint64_t start, uint64_t end, struct kvm_attr_runs *s)
{
	struct kvm_attr_map *m = &kvm->mem_attr;
	int ret;

	pthread_mutex_lock(&kvm->attr_lock);
	ret = kvm_attr_read_runs_locked(kvm, start, end, s);
	if (!ret) {
		struct kvm_attr_pool spare = { m->spare, m->nr_spare };

		ret = kvm_attr_pool_fill(&spare, 2 * s->n);
		m->spare = spare.head;
		m->nr_spare = spare.n;
	}
	pthread_mutex_unlock(&kvm->attr_lock);
	return ret;
}

/*
 * Puts the snapshot back, run by run, taking nodes only from the spare
 * pool kvm_attr_snapshot filled to two nodes per run of @s. A run holding
 * a value was only given nonzero values since, so it has no hole to fill:
 * restoring it needs at most the two nodes of the splits at its ends, and
 * so does restoring a hole. The callers that restore serialise their
 * snapshot-update-restore sequences (under heki.lock), so no other restore
 * draws on the pool meanwhile; the fallback allocation below, and the
 * -ENOMEM it could give, do not happen. The pool is emptied here, and by
 * kvm_attr_snapshot_release when the update succeeded and nothing was
 * restored.
 */
int kvm_attr_restore(struct kvm *kvm, const struct kvm_attr_runs *s)
{
	struct kvm_attr_map *m = &kvm->mem_attr;
	struct kvm_attr_pool spare;
	int ret = 0;

	pthread_mutex_lock(&kvm->attr_lock);
	m->last = NULL;
	spare = (struct kvm_attr_pool){ m->spare, m->nr_spare };
	for (size_t i = 0; i < s->n; i++) {
		const struct kvm_attr_run *r = &s->run[i];
		size_t need = kvm_attr_nodes_needed_locked(m, r->start, r->end, ~0ull, r->val);

		if (spare.n < need && kvm_attr_pool_fill(&spare, need)) {
			ret = -ENOMEM;
			continue;
		}
		kvm_attr_apply_locked(m, r->start, r->end, ~0ull, r->val, &spare);
	}
	kvm_attr_pool_trim(&spare, 0);
	m->spare = spare.head;
	m->nr_spare = spare.n;
	pthread_mutex_unlock(&kvm->attr_lock);
	return ret;
}

void kvm_attr_snapshot_release(struct kvm *kvm, struct kvm_attr_runs *s)
{
	struct kvm_attr_map *m = &kvm->mem_attr;
	struct kvm_attr_pool spare;

	pthread_mutex_lock(&kvm->attr_lock);
	spare = (struct kvm_attr_pool){ m->spare, m->nr_spare };
	kvm_attr_pool_trim(&spare, 0);
	m->spare = spare.head;
	m->nr_spare = spare.n;
	pthread_mutex_unlock(&kvm->attr_lock);
	lib_free(s->run);
	*s = (struct kvm_attr_runs){ .run = NULL };
}

int kvm_attr_update_range(struct kvm *kvm, uint64_t start, uint64_t end, uint64_t clear,
			  uint64_t set)
{
	int ret;

	if (start >= end || (set >> 62))
		return -EINVAL;
	pthread_mutex_lock(&kvm->attr_lock);
	ret = kvm_attr_update_locked(&kvm->mem_attr, start, end, clear, set);
	pthread_mutex_unlock(&kvm->attr_lock);
	return ret;
}

/* Faults come in runs too: the run found last is tried before the tree. */
uint64_t kvm_attr_get(struct kvm *kvm, uint64_t gfn)
{
	struct kvm_attr_map *m = &kvm->mem_attr;
	struct lib_itree_node *it;
	uint64_t v;

	pthread_mutex_lock(&kvm->attr_lock);
	it = m->last;
	if (!it || gfn < it->start || gfn >= it->end) {
		it = lib_itree_find(&m->runs, gfn);
		if (it)
			m->last = it;
	}
	v = it ? kvm_attr_val(it) : 0;
	pthread_mutex_unlock(&kvm->attr_lock);
	return v;
}

int kvm_attr_set_range(struct kvm *kvm, uint64_t start, uint64_t end, uint64_t attrs)
{
	int ret;

	if (start >= end || (attrs >> 62))
		return -EINVAL;
	pthread_mutex_lock(&kvm->attr_lock);
	ret = kvm_attr_update_locked(&kvm->mem_attr, start, end, ~0ull, attrs);
	pthread_mutex_unlock(&kvm->attr_lock);
	return ret;
}

bool kvm_attr_range_is(struct kvm *kvm, uint64_t start, uint64_t end, uint64_t mask,
		       uint64_t attrs)
{
	bool ok = true;

	if (attrs & ~mask)
		return false;
	pthread_mutex_lock(&kvm->attr_lock);
	for (uint64_t g = start, e; g < end && ok; g = e)
		ok = (kvm_attr_run_locked(kvm, g, end, &e) & mask) == attrs;
	pthread_mutex_unlock(&kvm->attr_lock);
	return ok;
}

size_t kvm_attr_nr_runs(struct kvm *kvm)
{
	size_t n;

	pthread_mutex_lock(&kvm->attr_lock);
	n = kvm->mem_attr.runs.count;
	pthread_mutex_unlock(&kvm->attr_lock);
	return n;
}
