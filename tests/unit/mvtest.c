/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>

#include "mvtest.h"

uint64_t mvtest_seed(void)
{
	static uint64_t seed;
	static int done;

	if (!done) {
		const char *s = getenv("MVTEST_SEED");

		seed = s ? strtoull(s, NULL, 0) : 0x6d656d7669736f72ull;
		fprintf(stderr, "# MVTEST_SEED=0x%llx\n", (unsigned long long)seed);
		done = 1;
	}
	return seed;
}

struct mv_machine *mvtest_machine(uint64_t ram)
{
	struct mv_machine_config cfg = { .ram_bytes = ram ? ram : 64ull << 20 };
	struct mv_machine *m = NULL;

	assert_int_equal(mv_machine_create(&cfg, &m), 0);
	assert_non_null(m);
	return m;
}

struct mv_task *mvtest_task(struct mv_machine **m)
{
	struct mv_task *t = NULL;

	*m = mvtest_machine(0);
	assert_int_equal(mv_task_spawn(*m, &t), 0);
	assert_non_null(t);
	return t;
}

void mvtest_expect_signal(struct mv_task *t, int signo, int code, uint64_t addr)
{
	struct mv_siginfo si;

	assert_int_equal(mv_task_take_signal(t, &si), 1);
	assert_int_equal(si.signo, signo);
	assert_int_equal(si.code, code);
	assert_int_equal(si.addr, addr);
	mvtest_expect_no_signal(t);
}

void mvtest_expect_no_signal(struct mv_task *t)
{
	struct mv_siginfo si;

	assert_int_equal(mv_task_take_signal(t, &si), 0);
}
