/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4), named as Linux's library interface
 * (include/crypto/sha2.h: sha256_init/sha256_update/sha256_final/sha256).
 * Used where the modelled hardware or hypervisor measures contents: SGX's
 * MRENCLAVE and Heki's module-text allow-list. Checked against the FIPS
 * 180-4 example vectors (tests/unit/test_lib_sha256.c).
 */
#ifndef MV_LIB_SHA256_H
#define MV_LIB_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32
#define SHA256_BLOCK_SIZE  64

struct sha256_state {
	uint32_t state[8];
	uint64_t count;                  /* bytes hashed so far */
	uint8_t buf[SHA256_BLOCK_SIZE];  /* count % 64 bytes pending */
};

void sha256_init(struct sha256_state *sctx);
void sha256_update(struct sha256_state *sctx, const void *data, size_t len);
/* Writes the digest and wipes @sctx. */
void sha256_final(struct sha256_state *sctx, uint8_t out[SHA256_DIGEST_SIZE]);
/* One call: the digest of @len bytes at @data. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_SIZE]);

#endif
