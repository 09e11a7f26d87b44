/* SPDX-License-Identifier: MIT */
/* SHA-256 against the FIPS 180-4 example vectors; incremental == one shot. */
#include "mvtest.h"
#include "lib/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void assert_digest(const uint8_t d[SHA256_DIGEST_SIZE], const char *hex)
{
	char got[2 * SHA256_DIGEST_SIZE + 1];
	int i;

	for (i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(got + 2 * i, 3, "%02x", d[i]);
	assert_string_equal(got, hex);
}

static void test_sha256_fips_one_block_abc(void **state)
{
	uint8_t d[SHA256_DIGEST_SIZE];

	(void)state;
	sha256("abc", 3, d);
	assert_digest(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_sha256_fips_empty_message(void **state)
{
	uint8_t d[SHA256_DIGEST_SIZE];

	(void)state;
	sha256("", 0, d);
	assert_digest(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_sha256_fips_two_blocks_448_bits(void **state)
{
	static const char msg[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	uint8_t d[SHA256_DIGEST_SIZE];

	(void)state;
	sha256(msg, strlen(msg), d);
	assert_digest(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_fips_million_a_in_odd_pieces(void **state)
{
	struct sha256_state s;
	uint8_t d[SHA256_DIGEST_SIZE];
	char chunk[997];
	size_t left = 1000000;

	(void)state;
	memset(chunk, 'a', sizeof(chunk));
	sha256_init(&s);
	while (left) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);

		sha256_update(&s, chunk, n);
		left -= n;
	}
	sha256_final(&s, d);
	assert_digest(d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Every split of messages around the padding boundaries gives the one-shot digest. */
static void test_sha256_split_anywhere_same_digest(void **state)
{
	static const size_t lens[] = { 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 200 };
	uint8_t msg[200], whole[SHA256_DIGEST_SIZE], parts[SHA256_DIGEST_SIZE];
	size_t i, cut;

	(void)state;
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		sha256(msg, lens[i], whole);
		for (cut = 0; cut <= lens[i]; cut++) {
			struct sha256_state s;

			sha256_init(&s);
			sha256_update(&s, msg, cut);
			sha256_update(&s, msg + cut, lens[i] - cut);
			sha256_final(&s, parts);
			assert_memory_equal(whole, parts, SHA256_DIGEST_SIZE);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_fips_one_block_abc),
		cmocka_unit_test(test_sha256_fips_empty_message),
		cmocka_unit_test(test_sha256_fips_two_blocks_448_bits),
		cmocka_unit_test(test_sha256_fips_million_a_in_odd_pieces),
		cmocka_unit_test(test_sha256_split_anywhere_same_digest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
