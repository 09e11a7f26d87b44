/* SPDX-License-Identifier: MIT */
/*
 * Radix tree: targeted edge cases, failure injection, and a randomised
 * cross-check against a sorted-array model (seed printed by mvtest_seed()).
 */
#include <string.h>

#include "mvtest.h"
#include "lib/alloc.h"
#include "lib/prng.h"
#include "lib/radix.h"

#define ITEM(i) lib_radix_mkvalue(i)

/* ---- the model: sorted (index, item) pairs ---- */

#define MODEL_MAX 20000

struct model {
	uint64_t idx[MODEL_MAX];
	void *item[MODEL_MAX];
	size_t n;
};

/* Position of the first entry >= @index. */
static size_t model_pos(const struct model *m, uint64_t index)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->idx[mid] < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void *model_get(const struct model *m, uint64_t index)
{
	size_t p = model_pos(m, index);

	return p < m->n && m->idx[p] == index ? m->item[p] : NULL;
}

static void model_set(struct model *m, uint64_t index, void *item)
{
	size_t p = model_pos(m, index);

	if (p < m->n && m->idx[p] == index) {
		if (item) {
			m->item[p] = item;
			return;
		}
		memmove(&m->idx[p], &m->idx[p + 1], (m->n - p - 1) * sizeof(m->idx[0]));
		memmove(&m->item[p], &m->item[p + 1], (m->n - p - 1) * sizeof(m->item[0]));
		m->n--;
		return;
	}
	if (!item)
		return;
	assert_true(m->n < MODEL_MAX);
	memmove(&m->idx[p + 1], &m->idx[p], (m->n - p) * sizeof(m->idx[0]));
	memmove(&m->item[p + 1], &m->item[p], (m->n - p) * sizeof(m->item[0]));
	m->idx[p] = index;
	m->item[p] = item;
	m->n++;
}

static uint64_t model_count(const struct model *m, uint64_t first, uint64_t last)
{
	size_t a = model_pos(m, first), b = a;

	while (b < m->n && m->idx[b] <= last)
		b++;
	return b - a;
}

static unsigned int expected_height(const struct model *m)
{
	uint64_t max;
	unsigned int h = 1;

	if (!m->n)
		return 0;
	max = m->idx[m->n - 1];
	while (h < 11 && (max >> (6 * h)) != 0)
		h++;
	return h;
}

/* Whole-tree comparison: every entry, in order, the count and the height. */
static void assert_matches(const struct lib_radix *r, const struct model *m)
{
	uint64_t idx;
	size_t i = 0;
	void *item;

	assert_int_equal(r->count, m->n);
	assert_int_equal(r->height, expected_height(m));
	assert_int_equal(r->root == NULL, m->n == 0);
	lib_radix_for_each(r, idx, item, 0, UINT64_MAX) {
		assert_true(i < m->n);
		assert_int_equal(idx, m->idx[i]);
		assert_ptr_equal(item, m->item[i]);
		i++;
	}
	assert_int_equal(i, m->n);
}

static struct model *model_new(void)
{
	struct model *m = lib_zalloc(sizeof(*m));

	assert_non_null(m);
	return m;
}

/* ---- targeted cases ---- */

static void test_radix_empty_tree_finds_nothing(void **state)
{
	struct lib_radix r;
	uint64_t idx = 0;

	(void)state;
	lib_radix_init(&r);
	assert_null(lib_radix_lookup(&r, 0));
	assert_null(lib_radix_lookup(&r, UINT64_MAX));
	assert_null(lib_radix_find(&r, &idx, UINT64_MAX));
	assert_null(lib_radix_erase(&r, 7));
	assert_int_equal(lib_radix_erase_range(&r, 0, UINT64_MAX, NULL, NULL), 0);
	assert_int_equal(lib_radix_count_range(&r, 0, UINT64_MAX), 0);
	lib_radix_destroy(&r);
}

static void test_radix_insert_rejects_null_and_duplicates(void **state)
{
	const struct {
		uint64_t index;
		void *item;
		int err;
	} rows[] = {
		{ 5, NULL, -EINVAL },
		{ 5, ITEM(1), 0 },
		{ 5, ITEM(2), -EEXIST },
		{ UINT64_MAX, NULL, -EINVAL },
		{ UINT64_MAX, ITEM(3), 0 },
		{ UINT64_MAX, ITEM(3), -EEXIST },
	};
	struct lib_radix r;
	size_t i;

	(void)state;
	lib_radix_init(&r);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(lib_radix_insert(&r, rows[i].index, rows[i].item), rows[i].err);
	assert_ptr_equal(lib_radix_lookup(&r, 5), ITEM(1));
	assert_int_equal(r.count, 2);
	lib_radix_destroy(&r);
}

static void test_radix_store_returns_old_item(void **state)
{
	struct lib_radix r;

	(void)state;
	lib_radix_init(&r);
	assert_null(lib_radix_store(&r, 100, ITEM(1)));
	assert_ptr_equal(lib_radix_store(&r, 100, ITEM(2)), ITEM(1));
	assert_ptr_equal(lib_radix_store(&r, 100, NULL), ITEM(2));
	assert_int_equal(r.count, 0);
	assert_null(r.root);
	lib_radix_destroy(&r);
}

static void test_radix_value_entries_round_trip(void **state)
{
	void *v = lib_radix_mkvalue(0x123456789abcull);
	int x;

	(void)state;
	assert_true(lib_radix_is_value(v));
	assert_int_equal(lib_radix_value(v), 0x123456789abcull);
	assert_false(lib_radix_is_value(&x));
	assert_non_null(lib_radix_mkvalue(0));
}

static void test_radix_height_grows_and_shrinks(void **state)
{
	struct lib_radix r;

	(void)state;
	lib_radix_init(&r);
	assert_int_equal(lib_radix_insert(&r, 3, ITEM(3)), 0);
	assert_int_equal(r.height, 1);
	assert_int_equal(lib_radix_insert(&r, 64, ITEM(64)), 0);
	assert_int_equal(r.height, 2);
	assert_int_equal(lib_radix_insert(&r, UINT64_MAX, ITEM(9)), 0);
	assert_int_equal(r.height, 11);
	assert_ptr_equal(lib_radix_erase(&r, UINT64_MAX), ITEM(9));
	assert_int_equal(r.height, 2);
	assert_ptr_equal(lib_radix_erase(&r, 64), ITEM(64));
	assert_int_equal(r.height, 1);
	assert_ptr_equal(lib_radix_lookup(&r, 3), ITEM(3));
	assert_ptr_equal(lib_radix_erase(&r, 3), ITEM(3));
	assert_int_equal(r.height, 0);
	assert_null(r.root);
	lib_radix_destroy(&r);
}

static void test_radix_uint64_max_index_works(void **state)
{
	struct lib_radix r;
	uint64_t idx = 0;
	int n = 0;
	void *item;

	(void)state;
	lib_radix_init(&r);
	assert_int_equal(lib_radix_insert(&r, UINT64_MAX, ITEM(1)), 0);
	assert_int_equal(lib_radix_insert(&r, UINT64_MAX - 1, ITEM(2)), 0);
	assert_int_equal(lib_radix_insert(&r, 0, ITEM(3)), 0);
	assert_ptr_equal(lib_radix_lookup(&r, UINT64_MAX), ITEM(1));
	idx = 1;
	assert_ptr_equal(lib_radix_find(&r, &idx, UINT64_MAX), ITEM(2));
	assert_int_equal(idx, UINT64_MAX - 1);
	idx = UINT64_MAX;
	assert_ptr_equal(lib_radix_find(&r, &idx, UINT64_MAX), ITEM(1));
	/* the iteration must stop after UINT64_MAX, not wrap to 0 */
	lib_radix_for_each(&r, idx, item, 1, UINT64_MAX)
		n++;
	assert_int_equal(n, 2);
	assert_int_equal(lib_radix_count_range(&r, UINT64_MAX, UINT64_MAX), 1);
	assert_int_equal(lib_radix_count_range(&r, 1, UINT64_MAX), 2);
	assert_int_equal(lib_radix_store_range(&r, UINT64_MAX - 3, UINT64_MAX, ITEM(4)), 0);
	assert_int_equal(r.count, 5);
	assert_int_equal(lib_radix_erase_range(&r, 1, UINT64_MAX, NULL, NULL), 4);
	assert_int_equal(r.height, 1);
	lib_radix_destroy(&r);
}

static void test_radix_find_respects_last(void **state)
{
	struct lib_radix r;
	uint64_t idx;

	(void)state;
	lib_radix_init(&r);
	assert_int_equal(lib_radix_insert(&r, 1000, ITEM(1)), 0);
	idx = 0;
	assert_null(lib_radix_find(&r, &idx, 999));
	idx = 1001;
	assert_null(lib_radix_find(&r, &idx, UINT64_MAX));
	idx = 5;
	assert_null(lib_radix_find(&r, &idx, 4));
	idx = 1000;
	assert_ptr_equal(lib_radix_find(&r, &idx, 1000), ITEM(1));
	lib_radix_destroy(&r);
}

/* Would take ~2^64 steps if empty subtrees were walked slot by slot. */
static void test_radix_sparse_ops_skip_empty_subtrees(void **state)
{
	struct lib_radix r;
	uint64_t idx, i;

	(void)state;
	lib_radix_init(&r);
	for (i = 0; i < 64; i++)
		assert_int_equal(lib_radix_insert(&r, i << 58 | (i * 977), ITEM(i)), 0);
	for (i = 0; i < 100000; i++) {
		idx = 1;
		assert_ptr_equal(lib_radix_find(&r, &idx, UINT64_MAX), ITEM(1));
		assert_int_equal(idx, 1ull << 58 | 977);
	}
	assert_int_equal(lib_radix_count_range(&r, 1, UINT64_MAX - 1), 63);
	assert_int_equal(lib_radix_erase_range(&r, 1ull << 58, UINT64_MAX, NULL, NULL), 63);
	assert_int_equal(r.height, 1);
	lib_radix_destroy(&r);
}

struct erase_log {
	uint64_t idx[16];
	void *item[16];
	int n;
};

static void log_erased(void *item, uint64_t index, void *ctx)
{
	struct erase_log *log = ctx;

	assert_true(log->n < 16);
	log->idx[log->n] = index;
	log->item[log->n] = item;
	log->n++;
}

static void test_radix_erase_range_calls_fn_in_order(void **state)
{
	static const uint64_t at[] = { 4095, 3, 1ull << 40, 64, 4096, 63, 2 };
	static const uint64_t want[] = { 3, 63, 64, 4095, 4096, 1ull << 40 };
	struct erase_log log = { .n = 0 };
	struct lib_radix r;
	size_t i;

	(void)state;
	lib_radix_init(&r);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		assert_int_equal(lib_radix_insert(&r, at[i], ITEM(at[i])), 0);
	assert_int_equal(lib_radix_erase_range(&r, 3, UINT64_MAX, log_erased, &log), 6);
	assert_int_equal(log.n, 6);
	for (i = 0; i < 6; i++) {
		assert_int_equal(log.idx[i], want[i]);
		assert_ptr_equal(log.item[i], ITEM(want[i]));
	}
	assert_int_equal(r.count, 1);
	assert_int_equal(r.height, 1);
	assert_ptr_equal(lib_radix_lookup(&r, 2), ITEM(2));
	lib_radix_destroy(&r);
}

static void test_radix_store_range_fills_and_null_erases(void **state)
{
	struct lib_radix r;
	uint64_t i;

	(void)state;
	lib_radix_init(&r);
	assert_int_equal(lib_radix_insert(&r, 100, ITEM(1)), 0);
	assert_int_equal(lib_radix_store_range(&r, 60, 5000, ITEM(7)), 0);
	assert_int_equal(r.count, 5000 - 60 + 1);
	for (i = 60; i <= 5000; i++)
		assert_ptr_equal(lib_radix_lookup(&r, i), ITEM(7));
	assert_null(lib_radix_lookup(&r, 59));
	assert_null(lib_radix_lookup(&r, 5001));
	assert_int_equal(lib_radix_store_range(&r, 100, 4999, NULL), 0);
	assert_int_equal(r.count, 41);
	assert_int_equal(lib_radix_count_range(&r, 0, UINT64_MAX), 41);
	assert_int_equal(lib_radix_store_range(&r, 10, 9, ITEM(1)), -EINVAL);
	lib_radix_destroy(&r);
}

/* ---- failure injection: -ENOMEM leaves the tree exactly as it was ---- */

static void fill_model_tree(struct lib_radix *r, struct model *m)
{
	static const uint64_t at[] = { 0, 1, 70, 4100, 262200, 1ull << 33 };
	size_t i;

	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		assert_int_equal(lib_radix_insert(r, at[i], ITEM(i + 1)), 0);
		model_set(m, at[i], ITEM(i + 1));
	}
}

static void test_radix_insert_enomem_changes_nothing(void **state)
{
	static const uint64_t targets[] = { UINT64_MAX, 1ull << 50, 5000, 262201, 2 };
	struct model *m = model_new();
	struct lib_radix r;
	unsigned long nth;
	size_t t;
	int err;

	(void)state;
	for (t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
		/* from an empty tree, then from a populated one */
		for (int populated = 0; populated < 2; populated++) {
			lib_radix_init(&r);
			m->n = 0;
			if (populated)
				fill_model_tree(&r, m);
			for (nth = 1;; nth++) {
				lib_fail_after(nth);
				err = lib_radix_insert(&r, targets[t], ITEM(99));
				if (!err)
					break;
				assert_int_equal(err, -ENOMEM);
				assert_matches(&r, m);
			}
			lib_fail_after(0);
			model_set(m, targets[t], ITEM(99));
			assert_matches(&r, m);
			lib_radix_destroy(&r);
		}
	}
	lib_free(m);
}

static void test_radix_store_enomem_returns_err_ptr(void **state)
{
	struct model *m = model_new();
	struct lib_radix r;
	void *old;

	(void)state;
	lib_radix_init(&r);
	fill_model_tree(&r, m);
	lib_fail_after(1);
	old = lib_radix_store(&r, 1ull << 45, ITEM(5));
	assert_true(lib_is_err(old));
	assert_int_equal(lib_ptr_err(old), -ENOMEM);
	assert_matches(&r, m);
	/* replacing an existing entry allocates nothing */
	lib_fail_after(1);
	assert_ptr_equal(lib_radix_store(&r, 70, ITEM(8)), ITEM(3));
	lib_fail_after(0);
	model_set(m, 70, ITEM(8));
	assert_matches(&r, m);
	lib_radix_destroy(&r);
	lib_free(m);
}

static void test_radix_store_range_enomem_changes_nothing(void **state)
{
	static const struct {
		uint64_t first, last;
	} ranges[] = {
		{ 50, 9000 },                        /* over existing entries, many nodes */
		{ (1ull << 33) - 10, (1ull << 33) + 10 },
		{ UINT64_MAX - 200, UINT64_MAX },    /* needs the tree to grow */
		{ 2, 2 },                            /* allocates nothing */
	};
	struct model *m = model_new();
	struct lib_radix r;
	unsigned long nth;
	uint64_t i;
	size_t t;
	int err;

	(void)state;
	for (t = 0; t < sizeof(ranges) / sizeof(ranges[0]); t++) {
		lib_radix_init(&r);
		m->n = 0;
		fill_model_tree(&r, m);
		for (nth = 1;; nth++) {
			lib_fail_after(nth);
			err = lib_radix_store_range(&r, ranges[t].first, ranges[t].last, ITEM(42));
			if (!err)
				break;
			assert_int_equal(err, -ENOMEM);
			/* full compare is slow for big trees: do it for the first and every 7th */
			if (nth == 1 || nth % 7 == 0)
				assert_matches(&r, m);
			else
				assert_int_equal(r.count, m->n);
		}
		lib_fail_after(0);
		for (i = ranges[t].first;; i++) {
			model_set(m, i, ITEM(42));
			if (i == ranges[t].last)
				break;
		}
		assert_matches(&r, m);
		lib_radix_destroy(&r);
	}
	lib_free(m);
}

/* ---- randomised cross-check ---- */

/* Indexes clustered so that ranges hit shared nodes and the 64-bit edges. */
static uint64_t random_index(struct lib_prng *p)
{
	static const uint64_t bases[] = {
		0, 4000, 1ull << 24, 1ull << 42, (1ull << 63) - 300, UINT64_MAX - 5000,
	};

	switch (lib_prng_below(p, 8)) {
	case 0:
		return lib_prng_next(p);
	case 1:
		return UINT64_MAX - lib_prng_below(p, 4);
	default:
		return bases[lib_prng_below(p, 6)] + lib_prng_below(p, 5000);
	}
}

struct rand_ctx {
	struct lib_radix r;
	struct model *m;
	struct lib_prng p;
	uint64_t erased_prev;
	bool erased_any;
};

static void check_erase_order(void *item, uint64_t index, void *ctx)
{
	struct rand_ctx *c = ctx;

	assert_ptr_equal(item, model_get(c->m, index));
	if (c->erased_any)
		assert_true(index > c->erased_prev);
	c->erased_prev = index;
	c->erased_any = true;
}

static void random_range(struct lib_prng *p, uint64_t *first, uint64_t *last, uint64_t maxw)
{
	uint64_t w = lib_prng_below(p, 4) ? lib_prng_below(p, maxw) : lib_prng_next(p);

	*first = random_index(p);
	*last = *first > UINT64_MAX - w ? UINT64_MAX : *first + w;
}

/* lib_radix_store_range over at most 301 indices; the model follows if it took. */
static void random_store_range(struct rand_ctx *c, void *item)
{
	uint64_t first, last;
	int err;

	random_range(&c->p, &first, &last, 200);
	if (last - first > 300)
		last = first + 300;
	err = lib_radix_store_range(&c->r, first, last, item);
	if (err) {
		assert_int_equal(err, -ENOMEM);
		return;
	}
	for (uint64_t idx = first;; idx++) {
		model_set(c->m, idx, item);
		if (idx == last)
			break;
	}
}

/* lib_radix_erase_range: every item the model has there, in index order. */
static void random_erase_range(struct rand_ctx *c)
{
	uint64_t first, last, got;

	random_range(&c->p, &first, &last, 3000);
	c->erased_any = false;
	got = lib_radix_erase_range(&c->r, first, last, check_erase_order, c);
	assert_int_equal(got, model_count(c->m, first, last));
	while (model_count(c->m, first, last))
		model_set(c->m, c->m->idx[model_pos(c->m, first)], NULL);
}

/* lib_radix_find in a range, then lib_radix_lookup of one index. */
static void random_find(struct rand_ctx *c)
{
	uint64_t first, last, idx;
	size_t pos;
	void *item;

	random_range(&c->p, &first, &last, 10000);
	idx = first;
	item = lib_radix_find(&c->r, &idx, last);
	pos = model_pos(c->m, first);
	if (pos < c->m->n && c->m->idx[pos] <= last) {
		assert_ptr_equal(item, c->m->item[pos]);
		assert_int_equal(idx, c->m->idx[pos]);
	} else {
		assert_null(item);
	}
	idx = random_index(&c->p);
	assert_ptr_equal(lib_radix_lookup(&c->r, idx), model_get(c->m, idx));
}

static void random_op(struct rand_ctx *c)
{
	uint64_t idx, first, last;
	void *item = ITEM(lib_prng_below(&c->p, 1000)), *old;
	bool inject = lib_prng_below(&c->p, 8) == 0;
	int err;

	if (inject)
		lib_fail_after(1 + lib_prng_below(&c->p, 3));
	switch (lib_prng_below(&c->p, 9)) {
	case 0:
	case 1:
		idx = random_index(&c->p);
		err = lib_radix_insert(&c->r, idx, item);
		if (model_get(c->m, idx))
			assert_int_equal(err, -EEXIST);
		else if (!err)
			model_set(c->m, idx, item);
		else
			assert_int_equal(err, -ENOMEM);
		break;
	case 2:
		idx = random_index(&c->p);
		old = lib_radix_store(&c->r, idx, item);
		if (!lib_is_err(old)) {
			assert_ptr_equal(old, model_get(c->m, idx));
			model_set(c->m, idx, item);
		}
		break;
	case 3:
		idx = random_index(&c->p);
		assert_ptr_equal(lib_radix_erase(&c->r, idx), model_get(c->m, idx));
		model_set(c->m, idx, NULL);
		break;
	case 4:
		random_store_range(c, item);
		break;
	case 5:
		random_erase_range(c);
		break;
	case 6:
		random_range(&c->p, &first, &last, 10000);
		assert_int_equal(lib_radix_count_range(&c->r, first, last),
				 model_count(c->m, first, last));
		break;
	default:
		random_find(c);
		break;
	}
	lib_fail_after(0);
	assert_int_equal(c->r.count, c->m->n);
}

static void test_radix_random_ops_match_model(void **state)
{
	struct rand_ctx *c = lib_zalloc(sizeof(*c));
	int op;

	(void)state;
	assert_non_null(c);
	c->m = model_new();
	lib_radix_init(&c->r);
	lib_prng_seed(&c->p, mvtest_seed());
	for (op = 0; op < 20000; op++) {
		random_op(c);
		if (op % 500 == 0)
			assert_matches(&c->r, c->m);
	}
	assert_matches(&c->r, c->m);
	lib_radix_destroy(&c->r);
	assert_int_equal(c->r.count, 0);
	lib_free(c->m);
	lib_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_radix_empty_tree_finds_nothing),
		cmocka_unit_test(test_radix_insert_rejects_null_and_duplicates),
		cmocka_unit_test(test_radix_store_returns_old_item),
		cmocka_unit_test(test_radix_value_entries_round_trip),
		cmocka_unit_test(test_radix_height_grows_and_shrinks),
		cmocka_unit_test(test_radix_uint64_max_index_works),
		cmocka_unit_test(test_radix_find_respects_last),
		cmocka_unit_test(test_radix_sparse_ops_skip_empty_subtrees),
		cmocka_unit_test(test_radix_erase_range_calls_fn_in_order),
		cmocka_unit_test(test_radix_store_range_fills_and_null_erases),
		cmocka_unit_test(test_radix_insert_enomem_changes_nothing),
		cmocka_unit_test(test_radix_store_enomem_returns_err_ptr),
		cmocka_unit_test(test_radix_store_range_enomem_changes_nothing),
		cmocka_unit_test(test_radix_random_ops_match_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
