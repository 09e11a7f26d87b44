/* SPDX-License-Identifier: MIT */
/*
 * Threads of one process (CLONE_VM) on several host threads at once: the
 * address space's locking must keep every access coherent while others
 * map, unmap and change protections. Run under ThreadSanitizer in CI.
 */
#include <pthread.h>
#include <string.h>

#include "mvtest.h"

#define ROUNDS 200

struct worker {
	struct mv_task *t;
	int id;
	int errors;
};

/* Each thread maps its own region, fills it with its id, checks, unmaps. */
static void *private_churn(void *p)
{
	struct worker *w = p;

	for (int r = 0; r < ROUNDS; r++) {
		uint8_t buf[3 * 4096], back[3 * 4096];
		long a = MVTEST_SYSCALL(w->t, MV_SYS_mmap, 0, sizeof(buf), PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (a < 0) {
			w->errors++;
			continue;
		}
		memset(buf, w->id + r, sizeof(buf));
		if (mv_user_write(w->t, a, buf, sizeof(buf)) ||
		    mv_user_read(w->t, a, back, sizeof(back)) || memcmp(buf, back, sizeof(buf)))
			w->errors++;
		if (MVTEST_SYSCALL(w->t, MV_SYS_munmap, a, sizeof(buf)))
			w->errors++;
	}
	return NULL;
}

static void test_mm_threads_private_mappings_stay_coherent(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct worker w[3] = { 0 };
	pthread_t th[3];

	w[0].t = t;
	for (int i = 1; i < 3; i++)
		assert_int_equal(mv_task_clone(t, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
					       CLONE_THREAD, &w[i].t), 0);
	for (int i = 0; i < 3; i++) {
		w[i].id = i * 50;
		assert_int_equal(pthread_create(&th[i], NULL, private_churn, &w[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].errors, 0);
	}
	for (int i = 1; i < 3; i++)
		mv_task_exit(w[i].t);
	mv_task_exit(t);
	mv_machine_destroy(m);
}

struct flipper {
	struct mv_task *t;
	uint64_t addr;
	int stop;
	int errors;
};

/* Toggles the shared page between read-only and read-write. */
static void *protect_flipper(void *p)
{
	struct flipper *f = p;

	for (int r = 0; r < ROUNDS * 4; r++) {
		int prot = (r & 1) ? PROT_READ : PROT_READ | PROT_WRITE;

		if (MVTEST_SYSCALL(f->t, MV_SYS_mprotect, f->addr, 4096, prot))
			f->errors++;
	}
	__atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * A store racing with mprotect either lands (the page was writable) or is
 * refused with SIGSEGV/SEGV_ACCERR at the exact address; a load always sees
 * the last value that landed.
 */
static void test_mm_threads_store_racing_mprotect_lands_or_faults(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct flipper f = { 0 };
	struct mv_task *writer;
	uint64_t landed = 0, refused = 0, last = 0, v = 0;
	pthread_t th;
	long a;

	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(a > 0);
	assert_int_equal(mv_task_clone(t, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
				       CLONE_THREAD, &writer), 0);
	f.t = t;
	f.addr = (uint64_t)a;
	/* One store before the race starts, so the test never depends on scheduling. */
	last = 0x5eed;
	assert_int_equal(mv_user_write(writer, a, &last, sizeof(last)), 0);
	landed = 1;
	assert_int_equal(pthread_create(&th, NULL, protect_flipper, &f), 0);
	for (uint64_t i = 1; !__atomic_load_n(&f.stop, __ATOMIC_ACQUIRE); i++) {
		long ret = mv_user_write(writer, a, &i, sizeof(i));

		if (ret == 0) {
			landed++;
			last = i;
		} else {
			assert_int_equal(ret, -EFAULT);
			mvtest_expect_signal(writer, SIGSEGV, SEGV_ACCERR, (uint64_t)a);
			refused++;
		}
		assert_int_equal(mv_user_read(writer, a, &v, sizeof(v)), 0);
		assert_int_equal(v, last);
	}
	pthread_join(th, NULL);
	assert_int_equal(f.errors, 0);
	assert_true(landed > 0);
	mv_task_exit(writer);
	mv_task_exit(t);
	mv_machine_destroy(m);
	(void)refused;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mm_threads_private_mappings_stay_coherent),
		cmocka_unit_test(test_mm_threads_store_racing_mprotect_lands_or_faults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
