/* SPDX-License-Identifier: MIT */
/*
 * A shootdown waits for every CPU's access in flight before a page can be
 * freed (hw_tlb_shootdown_sync and the kernel's mmu_gather). The race it
 * closes: one thread copies into a shared file mapping (translate, then
 * copy) while another truncates the file, which zaps the page without
 * mmap_lock and frees it. Without the wait, the copy could land in the
 * freed frame after it was handed out again, here as a fresh anonymous
 * page that must read as zero. Runs under ThreadSanitizer in CI.
 */
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "mvtest.h"

#define LEN (64 * 1024ull)
#define ROUNDS 300

struct side {
	struct mv_task *t;
	long fd;
	uint64_t map;
	int dirty_fresh;     /* fresh anonymous pages that did not read as zero */
	int bad_answers;     /* calls that answered something undocumented */
	int writes_done, writes_faulted;
	volatile int *stop;
};

/* Writes 0xaa over the whole shared mapping, again and again. */
static void *writer(void *p)
{
	struct side *s = p;
	static uint8_t buf[LEN];
	struct mv_siginfo si;

	memset(buf, 0xaa, sizeof(buf));
	while (!__atomic_load_n(s->stop, __ATOMIC_ACQUIRE)) {
		long r = mv_user_write(s->t, s->map, buf, sizeof(buf));

		if (r == 0) {
			s->writes_done++;
		} else if (r == -EFAULT && mv_task_take_signal(s->t, &si) == 1 &&
			   si.signo == SIGBUS) {
			s->writes_faulted++;   /* the file was short at that moment */
		} else {
			s->bad_answers++;
		}
	}
	return NULL;
}

/* Truncates the file away and back, then checks a fresh anonymous mapping reads zero. */
static void *truncator(void *p)
{
	struct side *s = p;
	static uint8_t back[LEN], zero[LEN];

	for (int i = 0; i < ROUNDS; i++) {
		long y;

		if (MVTEST_SYSCALL(s->t, MV_SYS_ftruncate, s->fd, 0) ||
		    MVTEST_SYSCALL(s->t, MV_SYS_ftruncate, s->fd, LEN)) {
			s->bad_answers++;
			continue;
		}
		y = MVTEST_SYSCALL(s->t, MV_SYS_mmap, 0, LEN, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (y < 0 || mv_user_write(s->t, (uint64_t)y, zero, sizeof(zero))) {
			s->bad_answers++;
			continue;
		}
		/* give a stale copy time to land, then look */
		for (int k = 0; k < 4; k++)
			sched_yield();
		if (mv_user_read(s->t, (uint64_t)y, back, sizeof(back))) {
			s->bad_answers++;
			continue;
		}
		if (memcmp(back, zero, sizeof(back)))
			s->dirty_fresh++;
		if (MVTEST_SYSCALL(s->t, MV_SYS_munmap, y, LEN))
			s->bad_answers++;
	}
	__atomic_store_n(s->stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_bracket_truncate_never_lets_a_copy_reach_a_freed_page(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m), *t2;
	volatile int stop = 0;
	struct side w = { .t = t, .stop = &stop }, tr = { .stop = &stop };
	pthread_t th[2];
	long fd, a;

	(void)state;
	fd = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "race", 0);
	assert_true(fd >= 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_ftruncate, fd, LEN), 0);
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(a > 0);
	assert_int_equal(mv_task_clone(t, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
				       CLONE_THREAD, &t2), 0);
	w.fd = tr.fd = fd;
	w.map = tr.map = (uint64_t)a;
	tr.t = t2;
	assert_int_equal(pthread_create(&th[0], NULL, writer, &w), 0);
	assert_int_equal(pthread_create(&th[1], NULL, truncator, &tr), 0);
	pthread_join(th[1], NULL);
	pthread_join(th[0], NULL);
	print_message("writes %d done, %d hit a short file; %d truncations\n", w.writes_done,
		      w.writes_faulted, ROUNDS);
	assert_int_equal(tr.dirty_fresh, 0);
	assert_int_equal(w.bad_answers + tr.bad_answers, 0);
	assert_true(w.writes_done > 0);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bracket_truncate_never_lets_a_copy_reach_a_freed_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
