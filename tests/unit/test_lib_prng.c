/* SPDX-License-Identifier: MIT */
/* xoshiro256** seeded by splitmix64: determinism and rough uniformity. */
#include "mvtest.h"
#include "lib/prng.h"

static void test_prng_known_outputs_for_seed(void **state)
{
	/*
	 * Pinned once from this implementation: a change here changes every
	 * seeded scenario and trace.
	 */
	static const uint64_t expect[] = {
		0x15780b2e0c2ec716ull, 0x6104d9866d113a7eull,
		0xae17533239e499a1ull, 0xecb8ad4703b360a1ull,
	};
	struct lib_prng p;
	size_t i;

	(void)state;
	lib_prng_seed(&p, 42);
	for (i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		assert_int_equal(lib_prng_next(&p), expect[i]);
}

static void test_prng_seed_zero_state_is_splitmix(void **state)
{
	struct lib_prng p;

	(void)state;
	/* splitmix64's published first outputs from state 0 */
	lib_prng_seed(&p, 0);
	assert_int_equal(p.s[0], 0xe220a8397b1dcdafull);
	assert_int_equal(p.s[1], 0x6e789e6aa1b965f4ull);
	assert_int_equal(p.s[2], 0x06c45d188009454full);
	assert_int_equal(p.s[3], 0xf88bb8a8724c81ecull);
}

static void test_prng_same_seed_same_sequence(void **state)
{
	struct lib_prng a, b;
	int i;

	(void)state;
	lib_prng_seed(&a, mvtest_seed());
	lib_prng_seed(&b, mvtest_seed());
	for (i = 0; i < 1000; i++)
		assert_int_equal(lib_prng_next(&a), lib_prng_next(&b));
}

static void test_prng_different_seeds_differ(void **state)
{
	struct lib_prng a, b;
	int i, same = 0;

	(void)state;
	lib_prng_seed(&a, 1);
	lib_prng_seed(&b, 2);
	for (i = 0; i < 64; i++)
		same += lib_prng_next(&a) == lib_prng_next(&b);
	assert_int_equal(same, 0);
}

static void test_prng_below_stays_in_bounds(void **state)
{
	static const uint64_t bounds[] = { 1, 2, 3, 7, 1000, (1ull << 63) + 1, UINT64_MAX };
	struct lib_prng p;
	size_t i;
	int k;

	(void)state;
	lib_prng_seed(&p, mvtest_seed());
	assert_int_equal(lib_prng_below(&p, 0), 0);
	for (i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		for (k = 0; k < 1000; k++)
			assert_true(lib_prng_below(&p, bounds[i]) < bounds[i]);
	}
}

static void test_prng_below_is_roughly_uniform(void **state)
{
	enum { BUCKETS = 10, DRAWS = 100000 };
	unsigned int hist[BUCKETS] = { 0 };
	struct lib_prng p;
	double expect = (double)DRAWS / BUCKETS, chi2 = 0;
	int i;

	(void)state;
	lib_prng_seed(&p, 12345);   /* fixed: the bound below can never flake */
	for (i = 0; i < DRAWS; i++)
		hist[lib_prng_below(&p, BUCKETS)]++;
	for (i = 0; i < BUCKETS; i++)
		chi2 += (hist[i] - expect) * (hist[i] - expect) / expect;
	/* 9 degrees of freedom: p < 1e-6 needs chi2 > ~45 */
	assert_true(chi2 < 45.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prng_known_outputs_for_seed),
		cmocka_unit_test(test_prng_seed_zero_state_is_splitmix),
		cmocka_unit_test(test_prng_same_seed_same_sequence),
		cmocka_unit_test(test_prng_different_seeds_differ),
		cmocka_unit_test(test_prng_below_stays_in_bounds),
		cmocka_unit_test(test_prng_below_is_roughly_uniform),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
