/* SPDX-License-Identifier: MIT */
/* Machine and task helpers: a separate object, so lower-layer test builds
 * that never call them do not need the api layer to link. */
#include "mvtest.h"

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
