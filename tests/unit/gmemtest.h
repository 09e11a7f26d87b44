/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the guest_memfd tests: a machine with one task, an
 * owner that counts its references, short forms of the calls, and a
 * notifier that records what it is told.
 */
#ifndef MV_TESTS_GMEMTEST_H
#define MV_TESTS_GMEMTEST_H

#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "mvtest.h"
#include "api/api.h"
#include "kernel/guest_memfd.h"
#include "kernel/kernel.h"

#define GT_PG 4096ull
#define GT_MB (1ull << 20)
#define GT_2M (2ull << 20)
#define GT_KEEP FALLOC_FL_KEEP_SIZE
#define GT_PUNCH (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)

struct gt_owner {
	int refs;
};

static inline void gt_owner_get(void *owner)
{
	__atomic_fetch_add(&((struct gt_owner *)owner)->refs, 1, __ATOMIC_RELAXED);
}

static inline void gt_owner_put(void *owner)
{
	__atomic_fetch_sub(&((struct gt_owner *)owner)->refs, 1, __ATOMIC_RELAXED);
}

static const struct gmem_owner_ops gt_owner_ops = {
	.get = gt_owner_get,
	.put = gt_owner_put,
};

struct gmemtest {
	struct mv_machine *m;
	struct mv_task *t;
	struct gt_owner owner;
	uint64_t free_at_start;
};

static inline uint64_t gt_frames_free(struct mv_machine *m)
{
	struct mv_machine_stats st;

	mv_machine_get_stats(m, &st);
	return st.frames_free;
}

static inline void gt_setup_ram(struct gmemtest *g, uint64_t ram)
{
	memset(g, 0, sizeof(*g));
	g->m = mvtest_machine(ram);
	assert_int_equal(mv_task_spawn(g->m, &g->t), 0);
	g->free_at_start = gt_frames_free(g->m);
}

static inline int gt_setup(void **state)
{
	struct gmemtest *g = test_calloc(1, sizeof(*g));

	gt_setup_ram(g, 0);
	*state = g;
	return 0;
}

static inline int gt_teardown(void **state)
{
	struct gmemtest *g = *state;

	mv_machine_destroy(g->m);
	test_free(g);
	return 0;
}

static inline long gt_create(struct gmemtest *g, uint64_t size, uint64_t flags)
{
	return gmem_create(g->t, size, flags, &gt_owner_ops, &g->owner);
}

static inline long gt_fallocate(struct gmemtest *g, long fd, int mode, uint64_t off, uint64_t len)
{
	return MVTEST_SYSCALL(g->t, MV_SYS_fallocate, fd, mode, off, len);
}

static inline long gt_mmap(struct gmemtest *g, long fd, uint64_t len, int prot, int flags,
			   uint64_t off)
{
	return MVTEST_SYSCALL(g->t, MV_SYS_mmap, 0, len, prot, flags, fd, off);
}

static inline void gt_close(struct gmemtest *g, long fd)
{
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_close, fd), 0);
}

static inline struct gmem_stats gt_stats(struct gmemtest *g)
{
	struct gmem_stats st;

	gmem_get_stats(mv_machine_kernel(g->m), &st);
	return st;
}

/* The file behind @fd, with a reference the caller drops (file_put). */
static inline struct file *gt_file(struct gmemtest *g, long fd)
{
	struct file *f = fd_get(g->t, (int)fd);

	assert_non_null(f);
	assert_true(file_is_gmem(f));
	return f;
}

/* First byte of page @index, read through the in-kernel API (allocates). */
static inline uint8_t gt_peek(struct gmemtest *g, struct file *f, uint64_t index)
{
	hw_pfn_t pfn;
	unsigned int order;
	uint8_t v;

	assert_int_equal(gmem_get_page(f, index, &pfn, &order), 0);
	v = *(uint8_t *)hw_pfn_to_host(&g->m->hw, pfn);
	hw_folio_put(&g->m->hw, pfn);
	return v;
}

static inline void gt_poke(struct gmemtest *g, struct file *f, uint64_t index, uint8_t v)
{
	hw_pfn_t pfn;
	unsigned int order;

	assert_int_equal(gmem_get_page(f, index, &pfn, &order), 0);
	memset(hw_pfn_to_host(&g->m->hw, pfn), v, GT_PG);
	hw_folio_put(&g->m->hw, pfn);
}

/* A notifier that counts calls and remembers the last folio it was told of. */
struct gt_notifier {
	struct gmem_notifier n;
	uint64_t starts, ends, pages;
	uint64_t last_start, last_end;
	hw_pfn_t last_head;
	unsigned int last_order;
	int depth;                /* start without end yet */
	struct hw_machine *hw;    /* set to check the folio is still alive at start */
	uint64_t dead_at_start;   /* starts that found the folio already freed */
};

static inline void gt_inval_start(struct gmem_notifier *n, uint64_t start, uint64_t end,
				  hw_pfn_t head, unsigned int order)
{
	struct gt_notifier *c = (struct gt_notifier *)n;

	c->starts++;
	c->pages += end - start;
	c->last_start = start;
	c->last_end = end;
	c->last_head = head;
	c->last_order = order;
	c->depth++;
	if (c->hw && hw_folio_refcount(c->hw, head) == 0)
		c->dead_at_start++;
}

static inline void gt_inval_end(struct gmem_notifier *n, uint64_t start, uint64_t end)
{
	struct gt_notifier *c = (struct gt_notifier *)n;

	c->ends++;
	c->depth--;
}

static const struct gmem_notifier_ops gt_notifier_ops = {
	.invalidate_start = gt_inval_start,
	.invalidate_end = gt_inval_end,
};

static inline void gt_notifier_init(struct gt_notifier *c)
{
	memset(c, 0, sizeof(*c));
	c->n.ops = &gt_notifier_ops;
}

#endif
