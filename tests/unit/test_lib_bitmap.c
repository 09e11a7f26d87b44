/* SPDX-License-Identifier: MIT */
/* Bitmap range operations, checked against a bit-at-a-time model. */
#include <stdbool.h>
#include <string.h>

#include "mvtest.h"
#include "lib/bitmap.h"
#include "lib/prng.h"

#define NBITS 300

static void test_bitmap_set_clear_across_words(void **state)
{
	unsigned long map[LIB_BITMAP_LONGS(NBITS)] = { 0 };
	size_t i;

	(void)state;
	lib_bitmap_set(map, 60, 80);
	for (i = 0; i < NBITS; i++)
		assert_int_equal(lib_bit_test(map, i), i >= 60 && i < 140);
	lib_bitmap_clear(map, 64, 64);
	for (i = 0; i < NBITS; i++)
		assert_int_equal(lib_bit_test(map, i), (i >= 60 && i < 64) || (i >= 128 && i < 140));
	lib_bitmap_set(map, 5, 0);
	assert_false(lib_bit_test(map, 5));
}

static void test_bitmap_find_next_ignores_bits_past_nbits(void **state)
{
	unsigned long map[LIB_BITMAP_LONGS(NBITS)];

	(void)state;
	memset(map, 0, sizeof(map));
	lib_bit_set(map, NBITS + 3);   /* in the last word, beyond nbits */
	assert_int_equal(lib_bitmap_find_next(map, NBITS, 0), NBITS);
	memset(map, 0xff, sizeof(map));
	lib_bit_clear(map, NBITS + 3);
	assert_int_equal(lib_bitmap_find_next_zero(map, NBITS, 0), NBITS);
	assert_int_equal(lib_bitmap_weight(map, NBITS), NBITS);
	assert_int_equal(lib_bitmap_find_next(map, NBITS, NBITS), NBITS);
}

/* The dirty-log harvest's scan: the next word with any bit set, or the end. */
static void test_bitmap_next_word_once_skips_clean_words(void **state)
{
	unsigned long map[8] = { 0 };

	(void)state;
	assert_int_equal(lib_bitmap_next_word_once(map, 8, 0), 8);
	map[0] = 1;
	map[3] = 1ul << 63;
	map[7] = 4;
	assert_int_equal(lib_bitmap_next_word_once(map, 8, 0), 0);
	assert_int_equal(lib_bitmap_next_word_once(map, 8, 1), 3);
	assert_int_equal(lib_bitmap_next_word_once(map, 8, 4), 7);
	assert_int_equal(lib_bitmap_next_word_once(map, 7, 4), 7);   /* stops at nwords */
	assert_int_equal(lib_bitmap_next_word_once(map, 8, 8), 8);
	assert_int_equal(lib_bitmap_next_word_once(map, 8, 9), 8);   /* past the end: the end */
}

static void test_bitmap_find_zero_area_skips_busy_runs(void **state)
{
	unsigned long map[LIB_BITMAP_LONGS(NBITS)] = { 0 };

	(void)state;
	lib_bitmap_set(map, 0, 10);
	lib_bitmap_set(map, 15, 1);
	lib_bitmap_set(map, 100, 150);
	assert_int_equal(lib_bitmap_find_zero_area(map, NBITS, 0, 5), 10);
	assert_int_equal(lib_bitmap_find_zero_area(map, NBITS, 0, 6), 16);
	assert_int_equal(lib_bitmap_find_zero_area(map, NBITS, 0, 84), 16);
	assert_int_equal(lib_bitmap_find_zero_area(map, NBITS, 0, 85), NBITS);
	assert_int_equal(lib_bitmap_find_zero_area(map, NBITS, 0, 50), 16);
	assert_int_equal(lib_bitmap_find_zero_area(map, NBITS, 17, 50), 17);
	assert_int_equal(lib_bitmap_find_zero_area(map, NBITS, 0, 50 + 1), 16);
	assert_int_equal(lib_bitmap_find_zero_area(map, NBITS, 90, 50), 250);
	assert_int_equal(lib_bitmap_find_zero_area(map, NBITS, 251, 50), NBITS);
	assert_int_equal(lib_bitmap_find_zero_area(map, NBITS, 0, 0), 0);
	assert_int_equal(lib_bitmap_find_zero_area(map, NBITS, NBITS + 1, 1), NBITS);
}

static size_t model_next(const bool *m, size_t start, bool v)
{
	for (; start < NBITS; start++) {
		if (m[start] == v)
			return start;
	}
	return NBITS;
}

static size_t model_zero_area(const bool *m, size_t start, size_t len)
{
	size_t s, i;

	for (s = start; s + len <= NBITS; s++) {
		for (i = 0; i < len && !m[s + i]; i++)
			;
		if (i == len)
			return s;
	}
	return NBITS;
}

static void test_bitmap_random_ops_match_model(void **state)
{
	unsigned long map[LIB_BITMAP_LONGS(NBITS)] = { 0 };
	bool model[NBITS] = { false };
	struct lib_prng p;
	size_t i, start, len, w;
	int op;

	(void)state;
	lib_prng_seed(&p, mvtest_seed());
	for (op = 0; op < 5000; op++) {
		start = lib_prng_below(&p, NBITS);
		len = lib_prng_below(&p, NBITS - start + 1);
		if (lib_prng_below(&p, 2)) {
			lib_bitmap_set(map, start, len);
			for (i = start; i < start + len; i++)
				model[i] = true;
		} else {
			lib_bitmap_clear(map, start, len);
			for (i = start; i < start + len; i++)
				model[i] = false;
		}
		start = lib_prng_below(&p, NBITS + 1);
		len = lib_prng_below(&p, 40);
		assert_int_equal(lib_bitmap_find_next(map, NBITS, start), model_next(model, start, true));
		assert_int_equal(lib_bitmap_find_next_zero(map, NBITS, start),
				 model_next(model, start, false));
		assert_int_equal(lib_bitmap_find_zero_area(map, NBITS, start, len),
				 model_zero_area(model, start, len));
		for (w = 0, i = 0; i < NBITS; i++)
			w += model[i];
		assert_int_equal(lib_bitmap_weight(map, NBITS), w);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bitmap_set_clear_across_words),
		cmocka_unit_test(test_bitmap_find_next_ignores_bits_past_nbits),
		cmocka_unit_test(test_bitmap_next_word_once_skips_clean_words),
		cmocka_unit_test(test_bitmap_find_zero_area_skips_busy_runs),
		cmocka_unit_test(test_bitmap_random_ops_match_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
