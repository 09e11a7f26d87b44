/* SPDX-License-Identifier: MIT */
/*
 * The seeded PRNG behind every random choice in memvisor (xoshiro256**,
 * seeded through splitmix64): same seed, same sequence, on every host.
 */
#ifndef MV_LIB_PRNG_H
#define MV_LIB_PRNG_H

#include <stdint.h>

struct lib_prng {
	uint64_t s[4];
};

void lib_prng_seed(struct lib_prng *p, uint64_t seed);
uint64_t lib_prng_next(struct lib_prng *p);
/* Uniform in [0, bound), without modulo bias; bound 0 gives 0. */
uint64_t lib_prng_below(struct lib_prng *p, uint64_t bound);

#endif
