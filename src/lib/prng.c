/* SPDX-License-Identifier: MIT */
/*
 * xoshiro256** (Blackman and Vigna), with its state filled by splitmix64 so
 * that any 64-bit seed, 0 included, gives a good non-zero state.
 */
#include "lib/prng.h"

static uint64_t lib_prng_rotl(uint64_t x, unsigned int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t lib_prng_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void lib_prng_seed(struct lib_prng *p, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		p->s[i] = lib_prng_splitmix(&seed);
}

uint64_t lib_prng_next(struct lib_prng *p)
{
	uint64_t *s = p->s;
	uint64_t out = lib_prng_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = lib_prng_rotl(s[3], 45);
	return out;
}

/*
 * Rejection sampling: draws below 2^64 mod bound would make the low
 * residues more likely, so they are thrown away (fewer than half of all
 * draws in the worst case, almost none for small bounds).
 */
uint64_t lib_prng_below(struct lib_prng *p, uint64_t bound)
{
	uint64_t threshold, r;

	if (!bound)
		return 0;
	threshold = (0 - bound) % bound;
	do {
		r = lib_prng_next(p);
	} while (r < threshold);
	return r % bound;
}
