/* SPDX-License-Identifier: MIT */
/*
 * The host-side protocol of mainline's tools/testing/selftests/kvm/dirty_log_test.c
 * (its "dirty-log" mode, KVM_GET_DIRTY_LOG) on memvisor's public API
 * (docs/conformance.md has the table). The guest first writes every page
 * of a dirty-logged slot, then loops writing the current iteration number
 * to random pages and syncing; the host harvests the log while the vCPU
 * runs, stops the vCPU at its next sync, and checks: a page in the log
 * holds this iteration's or the previous one's number; a page not in the
 * log holds no newer number, and if it holds this iteration's number it
 * must be in the next log. memvisor's slot is 64 MiB + 3 pages (the
 * selftest's is 1 GiB + 3 pages).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <stdbool.h>
#include <unistd.h>

#include "kvmtest.h"

#define PG 4096ull
#define TEST_MEM_SLOT 1u
#define TEST_GPA 0xc0000000ull
#define NUM_PAGES ((64ull << 20) / PG + 3)
#define PAGES_PER_LOOP 1024
#define ITERATIONS 12
#define SYNC_GPA 0xd0000000ull

struct dl {
	struct kvmtest k;
	struct mv_task *vt;
	int vcpu;
	uint64_t ua;
	uint64_t iteration;          /* the guest reads it as the selftest's synced global */
	uint32_t random_array[PAGES_PER_LOOP];
	bool quit, stop_requested;   /* atomics */
	sem_t stopped, cont;
	long run_error;
};

static void dl_guest(struct mv_guest *g, void *arg)
{
	struct dl *d = arg;
	uint8_t one = 1;

	for (uint64_t i = 0; i < NUM_PAGES; i++) {
		uint64_t it = __atomic_load_n(&d->iteration, __ATOMIC_ACQUIRE);

		mv_guest_write(g, TEST_GPA + i * PG, &it, 8);
	}
	for (;;) {
		for (int i = 0; i < PAGES_PER_LOOP; i++) {
			uint64_t it = __atomic_load_n(&d->iteration, __ATOMIC_ACQUIRE);
			uint64_t page = __atomic_load_n(&d->random_array[i], __ATOMIC_RELAXED) % NUM_PAGES;

			mv_guest_write(g, TEST_GPA + page * PG, &it, 8);
		}
		mv_guest_write(g, SYNC_GPA, &one, 1);   /* GUEST_SYNC(1) */
	}
}

static void *dl_vcpu_worker(void *arg)
{
	struct dl *d = arg;
	struct kvm_run *run = mv_vcpu_run_area(d->vt, d->vcpu);
	unsigned int seed = 1;

	while (!__atomic_load_n(&d->quit, __ATOMIC_ACQUIRE)) {
		for (int i = 0; i < PAGES_PER_LOOP; i++)
			__atomic_store_n(&d->random_array[i], (uint32_t)rand_r(&seed), __ATOMIC_RELAXED);
		d->run_error = kt_ioctl(d->vt, d->vcpu, KVM_RUN, 0);
		if (d->run_error || run->exit_reason != KVM_EXIT_MMIO || run->mmio.phys_addr != SYNC_GPA) {
			d->run_error = d->run_error ? d->run_error : -1000 - (long)run->exit_reason;
			sem_post(&d->stopped);
			return NULL;
		}
		/* vcpu_handle_sync_stop */
		if (__atomic_exchange_n(&d->stop_requested, false, __ATOMIC_ACQ_REL)) {
			sem_post(&d->stopped);
			sem_wait(&d->cont);
		}
	}
	return NULL;
}

static bool test_bit(const unsigned long *b, uint64_t n)
{
	return b[n / 64] & (1ul << (n % 64));
}

/* vm_dirty_log_verify */
static void dl_verify(struct dl *d, unsigned long *bmap, unsigned long *track, uint64_t *counts)
{
	static uint64_t values[NUM_PAGES];

	for (uint64_t p = 0; p < NUM_PAGES; p++)
		assert_int_equal(mv_user_read(d->k.t, d->ua + p * PG, &values[p], 8), 0);
	for (uint64_t page = 0; page < NUM_PAGES; page++) {
		uint64_t v = values[page];

		if (test_bit(track, page)) {
			track[page / 64] &= ~(1ul << (page % 64));
			counts[2]++;
			assert_true(test_bit(bmap, page));
		}
		if (test_bit(bmap, page)) {
			counts[0]++;
			assert_true(v == d->iteration || v == d->iteration - 1);
		} else {
			counts[1]++;
			assert_true(v <= d->iteration);
			if (v == d->iteration)
				track[page / 64] |= 1ul << (page % 64);
		}
	}
}

/* run_test in "dirty-log" mode */
static void test_selftest_dirty_log_dirty_log_mode(void **state)
{
	static unsigned long bmap[(NUM_PAGES + 63) / 64], track[(NUM_PAGES + 63) / 64];
	uint64_t counts[3] = { 0 };
	pthread_t th;
	struct dl d;

	memset(&d, 0, sizeof(d));
	memset(track, 0, sizeof(track));
	kt_setup(&d.k, 256ull << 20);
	d.ua = kt_mmap(&d.k, NUM_PAGES * PG);
	assert_int_equal(kt_region(&d.k, TEST_MEM_SLOT, KVM_MEM_LOG_DIRTY_PAGES, TEST_GPA,
				   NUM_PAGES * PG, d.ua), 0);
	d.vcpu = kt_vcpu(&d.k, 0);
	assert_int_equal(mv_vcpu_set_guest(d.k.t, d.vcpu, dl_guest, &d), 0);
	d.vt = kt_thread(d.k.t);
	assert_int_equal(sem_init(&d.stopped, 0, 0), 0);
	assert_int_equal(sem_init(&d.cont, 0, 0), 0);
	d.iteration = 1;
	assert_int_equal(pthread_create(&th, NULL, dl_vcpu_worker, &d), 0);
	while (d.iteration < ITERATIONS) {
		usleep(1000);
		assert_int_equal(kt_dirty_log(d.k.t, d.k.vm, TEST_MEM_SLOT, bmap), 0);
		__atomic_store_n(&d.stop_requested, true, __ATOMIC_RELEASE);
		sem_wait(&d.stopped);
		assert_int_equal(d.run_error, 0);
		dl_verify(&d, bmap, track, counts);
		__atomic_store_n(&d.iteration, d.iteration + 1, __ATOMIC_RELEASE);
		sem_post(&d.cont);
	}
	__atomic_store_n(&d.quit, true, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(th, NULL), 0);
	print_message("bits checked: dirty %llu, clear %llu, track_next %llu\n",
		      (unsigned long long)counts[0], (unsigned long long)counts[1],
		      (unsigned long long)counts[2]);
	assert_true(counts[0] > 0);
	mv_task_exit(d.vt);
	sem_destroy(&d.stopped);
	sem_destroy(&d.cont);
	kt_teardown(&d.k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest_dirty_log_dirty_log_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
