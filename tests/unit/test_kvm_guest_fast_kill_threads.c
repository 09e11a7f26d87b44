/* SPDX-License-Identifier: MIT */
/*
 * The kill in a VM's TLB shootdown (kvm_flush_remote_tlbs ->
 * hw_tlb_fast_kill) is what keeps the inline fast path off a dropped page.
 * Here nothing else can: the guest's working set is four pages that never
 * share a TLB slot, so once the window is armed every access hits inline
 * and no miss ever goes through a generation compare. The VMM drops those
 * pages (MADV_DONTNEED) again and again, and a witness mapping of its own
 * takes the freed frames at once and fills them with a pattern. A hit
 * through a stale translation would either read the witness's pattern or
 * write over it; without the kill this test fails.
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>

#include <memvisor/guest_fast.h>

#include "kvmtest.h"

#define HOT_PAGES     4
#define WITNESS_PAGES 64
#define VMM_OPS       300
#define WPAT          0x5749544e45535321ull

struct hot_guest {
	struct mv_task *t;
	int fd;
	unsigned int stop;     /* atomic: the VMM is done */
	int bad, run_errors;
	uint64_t accesses;
};

/* Writes a round number into each hot page and reads it back: its own value, or 0 after a drop. */
static void guest_hot(struct mv_guest *g, void *arg)
{
	struct hot_guest *h = arg;
	struct mv_guest_fast *w = mv_guest_fast(g);

	for (uint64_t round = 1; !__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE); round++) {
		for (uint64_t p = 0; p < HOT_PAGES; p++) {
			uint64_t gva = p * KT_PG + 64, x = 0;

			if (mv_guest_fast_write64(w, gva, round) || mv_guest_fast_read64(w, gva, &x) ||
			    (x != round && x != 0))
				h->bad++;
			h->accesses++;
		}
	}
}

static void *vcpu_main(void *p)
{
	struct hot_guest *h = p;
	struct kvm_run *run = mv_vcpu_run_area(h->t, h->fd);

	for (;;) {
		long r = kt_ioctl(h->t, h->fd, KVM_RUN, 0);

		if (!r && run->exit_reason == KVM_EXIT_HLT)
			return NULL;   /* the program returned */
		if (r == -EFAULT && run->exit_reason == KVM_EXIT_MEMORY_FAULT)
			continue;
		h->run_errors++;
		return NULL;
	}
}

/* The witness's pages must still hold its pattern; then it lets them go. */
static int witness_release(struct kvmtest *k, uint64_t wit)
{
	static uint64_t page[KT_PG / 8];
	int bad = 0;

	for (uint64_t p = 0; p < WITNESS_PAGES; p++) {
		assert_int_equal(mv_user_read(k->t, wit + p * KT_PG, page, KT_PG), 0);
		for (size_t i = 0; i < KT_PG / 8; i++)
			bad += page[i] != WPAT;
	}
	assert_int_equal(mv_syscall(k->t, MV_SYS_munmap, wit, WITNESS_PAGES * KT_PG, 0, 0, 0, 0), 0);
	return bad;
}

/* A fresh witness mapping, populated with the pattern: it takes the frames just freed. */
static uint64_t witness_take(struct kvmtest *k)
{
	static uint64_t page[KT_PG / 8];
	uint64_t wit = kt_mmap(k, WITNESS_PAGES * KT_PG);

	for (size_t i = 0; i < KT_PG / 8; i++)
		page[i] = WPAT;
	for (uint64_t p = 0; p < WITNESS_PAGES; p++)
		assert_int_equal(mv_user_write(k->t, wit + p * KT_PG, page, KT_PG), 0);
	return wit;
}

static void test_guest_fast_always_hitting_never_touches_a_dropped_page(void **state)
{
	struct kvmtest k;
	struct hot_guest h = { 0 };
	uint64_t hva, wit = 0;
	int witness_bad = 0;
	pthread_t th;

	(void)state;
	kt_setup(&k, 64ull << 20);
	hva = kt_mmap(&k, 2ull << 20);
	assert_int_equal(kt_region(&k, 0, 0, 0, 2ull << 20, hva), 0);
	h.fd = kt_vcpu(&k, 0);
	h.t = kt_thread(k.t);
	assert_int_equal(mv_vcpu_set_guest(k.t, h.fd, guest_hot, &h), 0);
	assert_int_equal(pthread_create(&th, NULL, vcpu_main, &h), 0);
	for (int op = 0; op < VMM_OPS; op++) {
		for (int i = 0; i < 100; i++)
			sched_yield();   /* let the guest hit inline for a while */
		if (wit)
			witness_bad += witness_release(&k, wit);
		assert_int_equal(mv_syscall(k.t, MV_SYS_madvise, hva, HOT_PAGES * KT_PG,
					    MADV_DONTNEED, 0, 0, 0), 0);
		wit = witness_take(&k);
	}
	__atomic_store_n(&h.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(th, NULL), 0);
	witness_bad += witness_release(&k, wit);
	print_message("guest accesses %llu\n", (unsigned long long)h.accesses);
	assert_int_equal(h.run_errors, 0);
	assert_int_equal(h.bad, 0);
	assert_int_equal(witness_bad, 0);
	assert_true(h.accesses > VMM_OPS);
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_fast_always_hitting_never_touches_a_dropped_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
