/* SPDX-License-Identifier: MIT */
/*
 * Access brackets (hw/cpu.h): a shootdown that waits (the flush IPI's
 * acknowledgement) returns only once every registered CPU has left the
 * access it was in, and an access that opens after the shootdown syncs
 * with its new TLB generation. Runs under ThreadSanitizer in CI.
 */
#include <pthread.h>
#include <time.h>

#include "hwtest.h"

struct waiter {
	struct hw_machine *m;
	int done;
};

static void *shootdown(void *p)
{
	struct waiter *w = p;

	hw_tlb_shootdown_sync(w->m, 1);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000 };

	nanosleep(&ts, NULL);
}

static void test_bracket_shootdown_sync_waits_for_an_open_access(void **state)
{
	struct hwt t;
	struct waiter w;
	pthread_t th;
	uint64_t seq;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	hw_cpu_register(&t.cpu, 1);
	w = (struct waiter){ .m = &t.m };
	hw_access_begin(&t.cpu, &seq);
	assert_int_equal(pthread_create(&th, NULL, shootdown, &w), 0);
	sleep_ms(30);
	/* the access is still in flight: the shootdown must not have returned */
	assert_int_equal(__atomic_load_n(&w.done, __ATOMIC_ACQUIRE), 0);
	hw_access_end(&t.cpu, seq);
	pthread_join(th, NULL);
	assert_int_equal(w.done, 1);
	hw_cpu_unregister(&t.cpu);
	hw_machine_fini(&t.m);
}

static void test_bracket_shootdown_sync_ignores_unregistered_idle_and_other_mm_cpus(void **state)
{
	struct hwt t;
	struct hw_cpu other;
	uint64_t seq;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	hw_cpu_init(&other, &t.m);
	hw_cpu_register(&t.cpu, 1);
	/* an unregistered CPU mid-access is not waited for (KVM waits for its own) */
	hw_access_begin(&other, &seq);
	hw_tlb_shootdown_sync(&t.m, 0);
	hw_access_end(&other, seq);
	/* nor a CPU of another address space (the flush goes to the mm's CPUs only) */
	hw_access_begin(&t.cpu, &seq);
	hw_tlb_shootdown_sync(&t.m, 2);
	hw_access_end(&t.cpu, seq);
	/* nor a registered CPU between accesses */
	hw_tlb_shootdown_sync(&t.m, 1);
	hw_tlb_shootdown_sync(&t.m, 0);
	hw_cpu_unregister(&t.cpu);
	hw_machine_fini(&t.m);
}

static void test_bracket_access_after_shootdown_sees_new_generation(void **state)
{
	struct hwt t;
	uint64_t seq, gen0, gen1;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	hw_cpu_register(&t.cpu, 1);
	gen0 = hw_access_begin(&t.cpu, &seq);
	hw_access_end(&t.cpu, seq);
	assert_int_equal(t.cpu.access_seq, seq + 2);
	hw_tlb_shootdown_sync(&t.m, 1);
	gen1 = hw_access_begin(&t.cpu, &seq);
	hw_access_end(&t.cpu, seq);
	assert_int_equal(gen1, gen0 + 1);
	hw_cpu_unregister(&t.cpu);
	hw_machine_fini(&t.m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bracket_shootdown_sync_waits_for_an_open_access),
		cmocka_unit_test(test_bracket_shootdown_sync_ignores_unregistered_idle_and_other_mm_cpus),
		cmocka_unit_test(test_bracket_access_after_shootdown_sees_new_generation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
