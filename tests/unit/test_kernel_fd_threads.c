/* SPDX-License-Identifier: MIT */
/*
 * One fd table shared by threads (CLONE_FILES) used from several host
 * threads at once: opens, dups, closes and I/O on a shared memfd must keep
 * every fd and every file reference straight. Run under ThreadSanitizer.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "mvtest.h"

#define ROUNDS 300
#define NTHREADS 4

struct fd_worker {
	struct mv_task *t;
	long memfd;
	int id;
	int errors;
};

static void *fd_churn(void *p)
{
	struct fd_worker *w = p;

	for (int r = 0; r < ROUNDS; r++) {
		long a = MVTEST_SYSCALL(w->t, MV_SYS_openat, AT_FDCWD, "/dev/zero", O_RDONLY);
		long b = MVTEST_SYSCALL(w->t, MV_SYS_dup, w->memfd);
		char c = (char)w->id, back = 0;

		if (a < 0 || b < 0) {
			w->errors++;
			continue;
		}
		if (MVTEST_SYSCALL(w->t, MV_SYS_pwrite64, b, &c, 1, w->id) != 1 ||
		    MVTEST_SYSCALL(w->t, MV_SYS_pread64, b, &back, 1, w->id) != 1 || back != c)
			w->errors++;
		if (MVTEST_SYSCALL(w->t, MV_SYS_read, a, &back, 1) != 1 || back != 0)
			w->errors++;
		if (MVTEST_SYSCALL(w->t, MV_SYS_close, a) || MVTEST_SYSCALL(w->t, MV_SYS_close, b))
			w->errors++;
	}
	return NULL;
}

static void test_fd_threads_shared_table_stays_consistent(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct fd_worker w[NTHREADS];
	pthread_t th[NTHREADS];
	long memfd = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "shared", 0);
	struct mv_machine_stats before, after;

	assert_int_equal(memfd, 0);
	mv_machine_get_stats(m, &before);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < NTHREADS; i++) {
		w[i].memfd = memfd;
		w[i].id = i + 1;
		if (i == 0)
			w[i].t = t;
		else
			assert_int_equal(mv_task_clone(t, CLONE_VM | CLONE_FS | CLONE_FILES |
						       CLONE_SIGHAND | CLONE_THREAD, &w[i].t), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, fd_churn, &w[i]), 0);
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].errors, 0);
	}
	/* only the memfd is left open, with its one page */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_dup, memfd), 1);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_close, 1), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_close, memfd), 0);
	mv_machine_get_stats(m, &after);
	assert_int_equal(after.frames_free, before.frames_free);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_threads_shared_table_stays_consistent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
