/* SPDX-License-Identifier: MIT */
/*
 * Faults (gmem_get_page) racing with hole punches, with a KVM-like
 * secondary MMU on the notifier: an invalidation sequence count, an
 * in-progress count, and a fault that retries when either moved. The
 * invariant: no "mapped" page ever belongs to a folio other than the one
 * the cache holds at that index (nothing freed or replaced stays mapped).
 * Run under ThreadSanitizer.
 */
#include <pthread.h>

#include "gmemtest.h"
#include "lib/prng.h"

#define PAGES   (4 * GMEM_HUGE_PAGES)
#define WORKERS 3
#define FAULTS  20000
#define PUNCHES 1500

struct smmu {
	struct gt_notifier base;
	pthread_mutex_t lock;           /* the "mmu_lock" */
	uint64_t seq;                   /* bumped at start and end, under lock */
	int in_progress;
	hw_pfn_t map[PAGES];            /* page -> pfn mapped, 0 if none */
	hw_pfn_t map_head[PAGES];
	uint64_t stale;                 /* mappings found pointing at another folio */
	uint64_t retries;
};

struct race {
	struct gmemtest *g;
	struct file *f;
	struct smmu mmu;
	int stop;
	int next_worker;                /* atomic: seeds each worker's PRNG */
	uint64_t seed;                  /* read once, before the threads start */
};

static void smmu_start(struct gmem_notifier *n, uint64_t start, uint64_t end, hw_pfn_t head,
		       unsigned int order)
{
	struct smmu *s = (struct smmu *)n;

	pthread_mutex_lock(&s->lock);
	s->seq++;
	s->in_progress++;
	for (uint64_t i = start; i < end && i < PAGES; i++) {
		if (s->map[i] && s->map_head[i] != head)
			s->stale++;
		s->map[i] = 0;
	}
	pthread_mutex_unlock(&s->lock);
}

static void smmu_end(struct gmem_notifier *n, uint64_t start, uint64_t end)
{
	struct smmu *s = (struct smmu *)n;

	pthread_mutex_lock(&s->lock);
	s->in_progress--;
	s->seq++;
	pthread_mutex_unlock(&s->lock);
}

static const struct gmem_notifier_ops smmu_ops = {
	.invalidate_start = smmu_start,
	.invalidate_end = smmu_end,
};

/* One KVM-style fault: snapshot, get the page, commit only if nothing moved. */
static void race_fault(struct race *r, uint64_t index)
{
	struct smmu *s = &r->mmu;

	for (;;) {
		uint64_t seq;
		hw_pfn_t pfn;
		unsigned int order;

		pthread_mutex_lock(&s->lock);
		seq = s->seq;
		pthread_mutex_unlock(&s->lock);
		assert_int_equal(gmem_get_page(r->f, index, &pfn, &order), 0);
		pthread_mutex_lock(&s->lock);
		if (s->seq == seq && !s->in_progress) {
			s->map[index] = pfn;
			s->map_head[index] = pfn - (index & ((1ull << order) - 1));
			pthread_mutex_unlock(&s->lock);
			hw_folio_put(&r->g->m->hw, pfn);
			return;
		}
		s->retries++;
		pthread_mutex_unlock(&s->lock);
		hw_folio_put(&r->g->m->hw, pfn);
	}
}

static void *race_worker(void *arg)
{
	struct race *r = arg;
	struct lib_prng rng;

	lib_prng_seed(&rng, r->seed + 2 +
			      (uint64_t)__atomic_fetch_add(&r->next_worker, 1, __ATOMIC_RELAXED));
	for (int i = 0; i < FAULTS && !__atomic_load_n(&r->stop, __ATOMIC_RELAXED); i++)
		race_fault(r, lib_prng_next(&rng) % PAGES);
	return NULL;
}

static void *race_puncher(void *arg)
{
	struct race *r = arg;
	struct lib_prng rng;

	lib_prng_seed(&rng, r->seed + 1);
	for (int i = 0; i < PUNCHES; i++) {
		uint64_t first = lib_prng_next(&rng) % PAGES;
		uint64_t n = 1 + lib_prng_next(&rng) % (i % 3 ? 8 : GMEM_HUGE_PAGES);

		/* the file's own fallocate: the syscall path is the task's, one thread */
		assert_int_equal(r->f->ops->fallocate(r->g->t, r->f, GT_PUNCH, first * GT_PG,
						      n * GT_PG), 0);
	}
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void test_gmem_threads_fault_vs_punch(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, PAGES * GT_PG, 0);
	struct race *r = test_calloc(1, sizeof(*r));
	pthread_t w[WORKERS], p;

	r->g = g;
	r->seed = mvtest_seed();
	r->f = gt_file(g, fd);
	pthread_mutex_init(&r->mmu.lock, NULL);
	r->mmu.base.n.ops = &smmu_ops;
	assert_int_equal(gmem_register_notifier(r->f, &r->mmu.base.n), 0);
	for (int i = 0; i < WORKERS; i++)
		assert_int_equal(pthread_create(&w[i], NULL, race_worker, r), 0);
	assert_int_equal(pthread_create(&p, NULL, race_puncher, r), 0);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(w[i], NULL);
	pthread_join(p, NULL);
	assert_int_equal(r->mmu.stale, 0);
	/* every surviving mapping is the page the cache holds now */
	for (uint64_t i = 0; i < PAGES; i++) {
		hw_pfn_t pfn;
		unsigned int order;

		if (!r->mmu.map[i])
			continue;
		assert_int_equal(gmem_get_page(r->f, i, &pfn, &order), 0);
		assert_int_equal(pfn, r->mmu.map[i]);
		hw_folio_put(&g->m->hw, pfn);
	}
	print_message("# %llu fault retries\n", (unsigned long long)r->mmu.retries);
	gmem_unregister_notifier(r->f, &r->mmu.base.n);
	file_put(r->f);
	gt_close(g, fd);
	assert_int_equal(gt_frames_free(g->m), g->free_at_start);
	pthread_mutex_destroy(&r->mmu.lock);
	test_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gmem_threads_fault_vs_punch, gt_setup,
						gt_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
