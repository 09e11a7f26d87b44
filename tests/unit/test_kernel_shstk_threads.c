/* SPDX-License-Identifier: MIT */
/*
 * Shadow stacks under threads of one process: a restore token can be
 * consumed by exactly one RSTORSSP however many threads race for it, and
 * threads run CALL/RET on their own shadow stacks while another maps and
 * unmaps shadow stacks in the same address space.
 */
#include <pthread.h>
#include <string.h>

#include "shstk_test.h"

#define NTHREADS 6

struct racer {
	struct mv_task *t;
	uint64_t token;
	pthread_barrier_t *go;
	long result;
	int iters;
};

static void *race_token(void *p)
{
	struct racer *r = p;

	pthread_barrier_wait(r->go);
	r->result = mv_cpu_rstorssp(r->t, r->token);
	return NULL;
}

/* Threads, each on an ordinary stack of its own (as pthread_create gives). */
static void spawn_threads(struct mv_task *t, struct racer *r, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t stack = shtest_mmap(t, 0, 4 * PG, PROT_READ | PROT_WRITE, ANON);

		assert_int_equal(mv_task_clone(t, CLONE_VM | CLONE_FILES | CLONE_SIGHAND |
					       CLONE_THREAD, &r[i].t), 0);
		assert_int_equal(mv_cpu_set_reg(r[i].t, MV_REG_RSP, stack + 4 * PG), 0);
	}
}

static void test_shstk_threads_one_token_one_winner(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	struct racer r[NTHREADS];
	pthread_t th[NTHREADS];
	pthread_barrier_t go;
	uint64_t s;
	int wins = 0;

	memset(r, 0, sizeof(r));
	shtest_enable(t, ARCH_SHSTK_SHSTK);
	s = shtest_map(t, 0, PG, SHADOW_STACK_SET_TOKEN);
	spawn_threads(t, r, NTHREADS);
	pthread_barrier_init(&go, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++) {
		r[i].token = s + PG - 8;
		r[i].go = &go;
		assert_int_equal(pthread_create(&th[i], NULL, race_token, &r[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		if (r[i].result == 0) {
			wins++;
			assert_int_equal(shtest_reg(r[i].t, MV_REG_SSP), s + PG - 8);
			mvtest_expect_no_signal(r[i].t);
		} else {
			assert_int_equal(r[i].result, -EFAULT);
			mvtest_expect_signal(r[i].t, SIGSEGV, SEGV_CPERR, 0);
		}
	}
	assert_int_equal(wins, 1);
	pthread_barrier_destroy(&go);
	mv_machine_destroy(m);
}

static void *call_ret_loop(void *p)
{
	struct racer *r = p;
	uint64_t ra = 0;

	pthread_barrier_wait(r->go);
	for (int i = 0; i < r->iters && !r->result; i++) {
		for (uint64_t d = 0; d < 16 && !r->result; d++)
			r->result = mv_cpu_call(r->t, 0x401000 + d);
		for (uint64_t d = 16; d-- > 0 && !r->result;) {
			r->result = mv_cpu_ret(r->t, &ra);
			if (!r->result && ra != 0x401000 + d)
				r->result = -EILSEQ;
		}
	}
	return NULL;
}

static void test_shstk_threads_call_ret_while_mapping(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	struct racer r[NTHREADS];
	pthread_t th[NTHREADS];
	pthread_barrier_t go;

	memset(r, 0, sizeof(r));
	shtest_enable(t, ARCH_SHSTK_SHSTK);
	spawn_threads(t, r, NTHREADS);
	pthread_barrier_init(&go, NULL, NTHREADS + 1);
	for (int i = 0; i < NTHREADS; i++) {
		r[i].go = &go;
		r[i].iters = 2000;
		assert_int_equal(pthread_create(&th[i], NULL, call_ret_loop, &r[i]), 0);
	}
	pthread_barrier_wait(&go);
	for (int i = 0; i < 200; i++) {
		uint64_t s = shtest_map(t, 0, 4 * PG, SHADOW_STACK_SET_TOKEN);

		assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, s, 4 * PG), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(r[i].result, 0);
		mvtest_expect_no_signal(r[i].t);
	}
	pthread_barrier_destroy(&go);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shstk_threads_one_token_one_winner),
		cmocka_unit_test(test_shstk_threads_call_ret_while_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
