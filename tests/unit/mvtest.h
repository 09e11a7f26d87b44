/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers for the unit tests (cmocka). Random tests take their seed
 * from MVTEST_SEED when set, else a fixed one, and print it so a failure
 * can be replayed.
 */
#ifndef MV_TESTS_MVTEST_H
#define MV_TESTS_MVTEST_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <memvisor/memvisor.h>

uint64_t mvtest_seed(void);

/* A machine with @ram bytes (0: 64 MiB) and every feature; fails the test on error. */
struct mv_machine *mvtest_machine(uint64_t ram);
/* A machine and one spawned task. */
struct mv_task *mvtest_task(struct mv_machine **m);

/* Asserts a pending signal (signo, code, addr) and that no other follows. */
void mvtest_expect_signal(struct mv_task *t, int signo, int code, uint64_t addr);
void mvtest_expect_no_signal(struct mv_task *t);

#define MVTEST_SYSCALL(t, nr, ...) mvtest_syscall6((t), (nr), __VA_ARGS__, 0, 0, 0, 0, 0, 0)
#define mvtest_syscall6(t, nr, a, b, c, d, e, f, ...) \
	mv_syscall((t), (nr), (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), \
		   (uint64_t)(d), (uint64_t)(e), (uint64_t)(f))

#endif
