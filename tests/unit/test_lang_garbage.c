/* SPDX-License-Identifier: MIT */
/*
 * Bad input never crashes the scenario language: every prefix of a valid
 * scenario, and seeded random corruptions of it, either parse (and then
 * run) or give a positioned error with a message. Run under ASan/UBSan.
 */
#include <stdio.h>
#include <string.h>

#include "mvtest.h"
#include "lang/lang_int.h"
#include "lib/prng.h"

static const char base_src[] =
	"# a scenario with every kind of token\n"
	"machine(ram=0x4000000, features_off=MTE|SGX, abi=mainline, seed=7)\n"
	"r0 = openat(AT_FDCWD, \"/dev/null\", O_RDWR)\n"
	"r1 = mmap(0, 0x2000, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n"
	"write_mem(r1, \"hel\\x6co\\n\") = 0\n"
	"read_mem(r1, 5) = \"hello\"\n"
	"mprotect(r1, 0x2000, PROT_READ) = 0\n"
	"write_mem(r1+8, x\"00ff\") = signal(SIGSEGV, SEGV_ACCERR, r1+8)\n"
	"fstat(r0, {st_size=0, st_mode=S_IFCHR|0666}) = 0\n"
	"t1 = clone(t0, 0)\n"
	"t1: write_mem(r1, \"x\") = signal(SIGSEGV, SEGV_ACCERR)\n"
	"getrlimit(RLIMIT_NOFILE, _) = 0\n"
	"close(r0) = -(EBADF - 9) + 0\n"
	"exit(t1)\n";

/* Parses @src; if it parses, runs it. Either way the diagnostics must be sane. */
static int try_src(const char *src, size_t len)
{
	struct lang_run_result res;
	struct lang_run_opts opts;
	struct lang_program *p;
	struct lang_diag d;
	int ret = lang_parse("g.mvs", src, len, &p, &d);

	if (ret) {
		assert_int_equal(ret, -EINVAL);
		assert_true(d.line >= 1 && d.col >= 1);
		assert_true(d.msg[0] != '\0');
		assert_null(p);
		return 0;
	}
	memset(&opts, 0, sizeof(opts));
	opts.machine.cfg.ram_bytes = 16 << 20;
	opts.machine.ram_set = true;
	/* a corrupted machine() may ask for a machine that cannot exist: an error, not a crash */
	ret = lang_run(p, &opts, &res, &d);
	assert_true(ret == 0 || d.msg[0]);
	lang_program_free(p);
	return 1;
}

static void test_lang_garbage_every_prefix(void **state)
{
	size_t len = strlen(base_src);
	int parsed = 0;

	for (size_t n = 0; n <= len; n++)
		parsed += try_src(base_src, n);
	assert_true(parsed > 5);
}

static void test_lang_garbage_random_corruption(void **state)
{
	static const char alphabet[] = "(){}=,|+-:\"x_#\n\\ 0aZr9t";
	uint64_t seed = mvtest_seed();
	struct lib_prng rng;
	char buf[sizeof(base_src)];
	size_t len = strlen(base_src);
	int parsed = 0;

	lib_prng_seed(&rng, seed);
	for (int i = 0; i < 2000; i++) {
		memcpy(buf, base_src, len);
		for (int k = 0; k < 1 + i % 4; k++) {
			size_t at = lib_prng_next(&rng) % len;
			uint64_t r = lib_prng_next(&rng);

			buf[at] = (r & 1) ? (char)(r >> 8) : alphabet[(r >> 8) % (sizeof(alphabet) - 1)];
		}
		parsed += try_src(buf, len);
	}
	/* some corruptions still parse (a changed digit, a changed name), and run */
	assert_true(parsed > 0);
}

static void test_lang_garbage_deep_nesting_is_an_error(void **state)
{
	char src[4096];
	size_t n = 0;

	n += (size_t)snprintf(src, sizeof(src), "close(");
	for (int i = 0; i < 1000; i++)
		src[n++] = '(';
	for (int i = 0; i < 1000; i++)
		src[n++] = '-';
	src[n++] = '1';
	try_src(src, n);
	memset(src, '-', sizeof(src));
	memcpy(src, "close(", 6);
	try_src(src, sizeof(src));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lang_garbage_every_prefix),
		cmocka_unit_test(test_lang_garbage_random_corruption),
		cmocka_unit_test(test_lang_garbage_deep_nesting_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
