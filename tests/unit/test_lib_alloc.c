/* SPDX-License-Identifier: MIT */
/* Allocation wrappers and failure injection. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "mvtest.h"
#include "lib/alloc.h"

static void test_alloc_fail_after_fails_exactly_the_nth(void **state)
{
	void *a, *b, *c, *d;

	(void)state;
	lib_fail_after(3);
	a = lib_malloc(8);
	b = lib_zalloc(8);
	c = lib_malloc(8);
	d = lib_malloc(8);
	assert_non_null(a);
	assert_non_null(b);
	assert_null(c);
	assert_non_null(d);  /* one-shot: disarmed after firing */
	lib_free(a);
	lib_free(b);
	lib_free(d);
}

static void test_alloc_fail_after_zero_disarms(void **state)
{
	void *p;

	(void)state;
	lib_fail_after(1);
	lib_fail_after(0);
	p = lib_malloc(1);
	assert_non_null(p);
	lib_free(p);
	assert_int_equal(lib_fail_now(), 0);
}

static void test_alloc_fail_now_counts_down(void **state)
{
	(void)state;
	lib_fail_after(2);
	assert_int_equal(lib_fail_now(), 0);
	assert_int_equal(lib_fail_now(), 1);
	assert_int_equal(lib_fail_now(), 0);
}

static void test_alloc_zalloc_and_calloc_zero(void **state)
{
	unsigned char *p = lib_zalloc(64), *q = lib_calloc(16, 4);
	int i;

	(void)state;
	assert_non_null(p);
	assert_non_null(q);
	for (i = 0; i < 64; i++) {
		assert_int_equal(p[i], 0);
		assert_int_equal(q[i], 0);
	}
	lib_free(p);
	lib_free(q);
}

static void test_alloc_calloc_overflow_is_null(void **state)
{
	(void)state;
	assert_null(lib_calloc(SIZE_MAX / 2, 4));
	assert_null(lib_calloc(SIZE_MAX, SIZE_MAX));
}

static void test_alloc_zero_size_is_not_null(void **state)
{
	void *p = lib_malloc(0), *q = lib_calloc(0, 8);

	(void)state;
	assert_non_null(p);
	assert_non_null(q);
	lib_free(p);
	lib_free(q);
	lib_free(NULL);
}

static void test_alloc_realloc_failure_keeps_block(void **state)
{
	char *p = lib_malloc(4), *q;

	(void)state;
	memcpy(p, "abc", 4);
	lib_fail_after(1);
	assert_null(lib_realloc(p, 4096));
	q = lib_realloc(p, 4096);
	assert_non_null(q);
	assert_string_equal(q, "abc");
	lib_free(q);
}

static void *alloc_thread(void *arg)
{
	void *p = lib_malloc(8);

	*(int *)arg = p != NULL;
	lib_free(p);
	return NULL;
}

/* The SGX PCMD's 128 bytes and a page's 4096: what malloc alone does not promise. */
static void test_alloc_aligned_gives_the_alignment_asked(void **state)
{
	static const size_t aligns[] = { 16, 128, 4096 };
	void *p0;

	(void)state;
	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		for (int n = 0; n < 8; n++) {
			uint8_t *p = lib_malloc_aligned(aligns[i], 4096 + 200);

			assert_non_null(p);
			assert_int_equal((uintptr_t)p % aligns[i], 0);
			memset(p, 0x5a, 4096 + 200);
			lib_free(p);
		}
	}
	lib_fail_after(1);
	assert_null(lib_malloc_aligned(128, 64));
	p0 = lib_malloc_aligned(128, 0);   /* the countdown is spent; size 0 is not NULL */
	assert_non_null(p0);
	lib_free(p0);
}

static void test_alloc_countdown_is_per_thread(void **state)
{
	pthread_t th;
	int ok = 0;
	void *p;

	(void)state;
	lib_fail_after(1);
	assert_int_equal(pthread_create(&th, NULL, alloc_thread, &ok), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(ok, 1);
	p = lib_malloc(8);
	assert_null(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_fail_after_fails_exactly_the_nth),
		cmocka_unit_test(test_alloc_fail_after_zero_disarms),
		cmocka_unit_test(test_alloc_fail_now_counts_down),
		cmocka_unit_test(test_alloc_zalloc_and_calloc_zero),
		cmocka_unit_test(test_alloc_calloc_overflow_is_null),
		cmocka_unit_test(test_alloc_zero_size_is_not_null),
		cmocka_unit_test(test_alloc_realloc_failure_keeps_block),
		cmocka_unit_test(test_alloc_aligned_gives_the_alignment_asked),
		cmocka_unit_test(test_alloc_countdown_is_per_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
