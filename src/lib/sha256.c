// SPDX-License-Identifier: MIT
/*
 * SHA-256 as FIPS 180-4 section 6.2 specifies it: 64-byte blocks, a
 * 64-word message schedule, eight working variables, big-endian words and
 * a 64-bit big-endian bit length in the final block.
 */
#include "lib/sha256.h"

#include <string.h>

/* FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the cube
 * roots of the first 64 primes. */
static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static inline uint32_t ror32(uint32_t x, unsigned int n)
{
	return (x >> n) | (x << (32 - n));
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One block into the state (FIPS 180-4 6.2.2 steps 1-4). */
static void sha256_transform(uint32_t st[8], const uint8_t block[SHA256_BLOCK_SIZE])
{
	uint32_t w[64], v[8];
	int i;

	for (i = 0; i < 16; i++)
		w[i] = get_be32(block + 4 * i);
	for (i = 16; i < 64; i++) {
		uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(v, st, sizeof(v));
	for (i = 0; i < 64; i++) {
		uint32_t e = v[4], a = v[0];
		uint32_t t1 = v[7] + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) +
			      ((e & v[5]) ^ (~e & v[6])) + sha256_k[i] + w[i];
		uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) +
			      ((a & v[1]) ^ (a & v[2]) ^ (v[1] & v[2]));

		memmove(v + 1, v, 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		st[i] += v[i];
}

void sha256_init(struct sha256_state *sctx)
{
	/* FIPS 180-4 5.3.3: fractional parts of the square roots of the first 8 primes. */
	static const uint32_t h0[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(sctx->state, h0, sizeof(h0));
	sctx->count = 0;
}

void sha256_update(struct sha256_state *sctx, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t have = sctx->count % SHA256_BLOCK_SIZE;

	sctx->count += len;
	if (have) {
		size_t take = SHA256_BLOCK_SIZE - have < len ? SHA256_BLOCK_SIZE - have : len;

		memcpy(sctx->buf + have, p, take);
		p += take;
		len -= take;
		if (have + take < SHA256_BLOCK_SIZE)
			return;
		sha256_transform(sctx->state, sctx->buf);
	}
	for (; len >= SHA256_BLOCK_SIZE; p += SHA256_BLOCK_SIZE, len -= SHA256_BLOCK_SIZE)
		sha256_transform(sctx->state, p);
	memcpy(sctx->buf, p, len);
}

void sha256_final(struct sha256_state *sctx, uint8_t out[SHA256_DIGEST_SIZE])
{
	uint64_t bits = sctx->count * 8;
	size_t have = sctx->count % SHA256_BLOCK_SIZE;
	int i;

	/* 0x80, zeros to 56 mod 64, then the big-endian bit length. */
	sctx->buf[have++] = 0x80;
	if (have > SHA256_BLOCK_SIZE - 8) {
		memset(sctx->buf + have, 0, SHA256_BLOCK_SIZE - have);
		sha256_transform(sctx->state, sctx->buf);
		have = 0;
	}
	memset(sctx->buf + have, 0, SHA256_BLOCK_SIZE - 8 - have);
	put_be32(sctx->buf + 56, (uint32_t)(bits >> 32));
	put_be32(sctx->buf + 60, (uint32_t)bits);
	sha256_transform(sctx->state, sctx->buf);
	for (i = 0; i < 8; i++)
		put_be32(out + 4 * i, sctx->state[i]);
	memset(sctx, 0, sizeof(*sctx));
}

void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_SIZE])
{
	struct sha256_state sctx;

	sha256_init(&sctx);
	sha256_update(&sctx, data, len);
	sha256_final(&sctx, out);
}
