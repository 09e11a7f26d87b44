/* SPDX-License-Identifier: MIT */
/*
 * mremap moving pages while another thread of the process reads them:
 * move_page_tables() clears each old PTE and sets the new one with the
 * accessors, then shoots the old translations down, so a reader sees the
 * page's bytes or a SEGV_MAPERR at whichever address the page is not at,
 * never freed or foreign memory. Run under ThreadSanitizer in CI.
 */
#include <pthread.h>
#include <string.h>

#include "mvtest.h"

#define PG 4096ull
#define A 0x500000000000ull
#define B 0x500000100000ull
#define MOVES 300

struct reader {
	struct mv_task *t;
	int stop;
	int errors;
	long reads;
};

static void *read_both(void *p)
{
	struct reader *r = p;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		for (uint64_t at = A; at <= B; at += B - A) {
			char buf[8] = { 0 };
			struct mv_siginfo si;

			if (!mv_user_read(r->t, at + PG, buf, sizeof(buf))) {
				__atomic_add_fetch(&r->reads, 1, __ATOMIC_RELAXED);
				if (memcmp(buf, "pattern", 8))
					r->errors++;
			} else if (mv_task_take_signal(r->t, &si) != 1 || si.code != SEGV_MAPERR) {
				r->errors++;
			}
		}
	}
	return NULL;
}

static void test_mremap_threads_moving_pages_under_a_reader(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct reader r = { 0 };
	pthread_t th;
	uint64_t at = A;

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mmap, A, 2 * PG, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), (long)A);
	assert_int_equal(mv_user_write(t, A + PG, "pattern", 8), 0);
	assert_int_equal(mv_task_clone(t, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
				       CLONE_THREAD, &r.t), 0);
	assert_int_equal(pthread_create(&th, NULL, read_both, &r), 0);
	/* at least MOVES moves, and until the reader has seen the page many times */
	for (int i = 0; i < MOVES || (__atomic_load_n(&r.reads, __ATOMIC_RELAXED) < 1000 &&
				      i < 100 * MOVES); i++) {
		uint64_t to = at == A ? B : A;

		assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mremap, at, 2 * PG, 2 * PG,
						MREMAP_MAYMOVE | MREMAP_FIXED, to), (long)to);
		at = to;
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	assert_int_equal(r.errors, 0);
	assert_true(r.reads >= 1000);
	assert_int_equal(mv_user_write(t, at + PG, "x", 1), 0);
	mv_task_exit(r.t);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mremap_threads_moving_pages_under_a_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
