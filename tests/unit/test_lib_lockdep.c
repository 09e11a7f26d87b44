/* SPDX-License-Identifier: MIT */
/*
 * Lock-held assertions (src/lib/lockdep.h): the queries answer whether a
 * lock is held, and in debug builds a "_locked" function called without its
 * lock stops the program, so the documented lock rules are checked by every
 * sanitizer run of the tests.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mvtest.h"
#include "api/api.h"
#include "kernel/mm_internal.h"
#include "lib/lockdep.h"

static void test_lockdep_mutex_query_sees_the_holder(void **state)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

	(void)state;
	assert_false(lib_mutex_is_locked(&m));
	pthread_mutex_lock(&m);
	assert_true(lib_mutex_is_locked(&m));
	pthread_mutex_unlock(&m);
	/* the query itself leaves the lock free */
	assert_false(lib_mutex_is_locked(&m));
	assert_int_equal(pthread_mutex_trylock(&m), 0);
	pthread_mutex_unlock(&m);
}

static void test_lockdep_rwsem_read_is_not_write(void **state)
{
	pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;

	(void)state;
	assert_false(lib_rwsem_is_locked(&l));
	assert_false(lib_rwsem_is_write_locked(&l));
	pthread_rwlock_rdlock(&l);
	assert_true(lib_rwsem_is_locked(&l));
	assert_false(lib_rwsem_is_write_locked(&l));
	pthread_rwlock_unlock(&l);
	pthread_rwlock_wrlock(&l);
	assert_true(lib_rwsem_is_locked(&l));
	assert_true(lib_rwsem_is_write_locked(&l));
	pthread_rwlock_unlock(&l);
	assert_int_equal(pthread_rwlock_trywrlock(&l), 0);
	pthread_rwlock_unlock(&l);
}

/* Runs handle_mm_fault() in a child, with or without mmap_lock; returns its wait status. */
static int fault_in_child(bool take_lock)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int status = -1;
	pid_t pid;

	assert_true(a > 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int code = 0, r;

		if (take_lock)
			pthread_rwlock_rdlock(&t->mm->mmap_lock);
		r = handle_mm_fault(t->mm, (uint64_t)a, FAULT_USER | FAULT_WRITE, &code);
		if (take_lock)
			pthread_rwlock_unlock(&t->mm->mmap_lock);
		_exit(r == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	mv_machine_destroy(m);
	return status;
}

static void test_lockdep_handle_mm_fault_with_mmap_lock_runs(void **state)
{
	int status = fault_in_child(true);

	(void)state;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_lockdep_handle_mm_fault_without_mmap_lock_stops_debug_builds(void **state)
{
	int status = fault_in_child(false);

	(void)state;
#ifdef NDEBUG
	/* release builds compile the assertion away: the fault is simply handled */
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
#else
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lockdep_mutex_query_sees_the_holder),
		cmocka_unit_test(test_lockdep_rwsem_read_is_not_write),
		cmocka_unit_test(test_lockdep_handle_mm_fault_with_mmap_lock_runs),
		cmocka_unit_test(test_lockdep_handle_mm_fault_without_mmap_lock_stops_debug_builds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
