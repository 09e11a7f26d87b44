/* SPDX-License-Identifier: MIT */
/*
 * KVM_HC_PROTECT_MEMORY racing a guest write on another vCPU: once the
 * protecting vCPU's hypercall returned, no write on any vCPU may land on
 * the page (the protect zaps stage 2 and waits out every vCPU's access
 * in flight, and a fault racing it retries), and once the page is made
 * writable again writes land. Two vCPUs on two host threads, many rounds.
 */
#include <sched.h>

#include "kvmtest.h"

#define PAGE   0x100000ull
#define LIST   0x30000ull
#define ROUNDS 40

struct race {
	uint32_t phase;        /* atomic: odd while the page is read-only */
	uint32_t started;      /* atomic */
	uint32_t done;         /* atomic */
	uint64_t good, bad;
	uint64_t denied;       /* atomic */
	long perr;
};

static long protect(struct mv_guest *g, uint64_t perms)
{
	struct heki_page_list l = { .npages = 1 };
	struct heki_pages e = { .pa = PAGE, .epa = PAGE + KT_PG, .permissions = perms };

	mv_guest_write(g, LIST, &l, sizeof(l));
	mv_guest_write(g, LIST + sizeof(l), &e, sizeof(e));
	return mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, LIST, 0, 0, 0);
}

static void guest_protector(struct mv_guest *g, void *arg)
{
	struct race *s = arg;

	while (!__atomic_load_n(&s->started, __ATOMIC_ACQUIRE))
		sched_yield();
	for (uint32_t r = 0; r < ROUNDS; r++) {
		s->perr |= protect(g, MEM_ATTR_READ | MEM_ATTR_EXEC);
		__atomic_store_n(&s->phase, 2 * r + 1, __ATOMIC_RELEASE);   /* read-only now */
		for (int i = 0; i < 20; i++)
			sched_yield();
		while (r == 0 && !__atomic_load_n(&s->denied, __ATOMIC_ACQUIRE))
			sched_yield();   /* the writer has run into it at least once */
		__atomic_store_n(&s->phase, 2 * r + 2, __ATOMIC_RELEASE);   /* about to open */
		s->perr |= protect(g, MEM_ATTR_READ | MEM_ATTR_WRITE | MEM_ATTR_EXEC);
		for (int i = 0; i < 20; i++)
			sched_yield();
	}
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
}

static void guest_writer(struct mv_guest *g, void *arg)
{
	struct race *s = arg;

	for (uint64_t i = 1; !__atomic_load_n(&s->done, __ATOMIC_ACQUIRE); i++) {
		uint32_t before = __atomic_load_n(&s->phase, __ATOMIC_ACQUIRE), after;
		long r = mv_guest_write(g, PAGE + 8 * (i % 16), &i, 8);

		after = __atomic_load_n(&s->phase, __ATOMIC_ACQUIRE);
		if (r == 0) {
			s->good++;
			if ((before & 1) && before == after)
				s->bad++;   /* landed while the page was read-only throughout */
		} else {
			__atomic_fetch_add(&s->denied, 1, __ATOMIC_RELEASE);
		}
		__atomic_store_n(&s->started, 1, __ATOMIC_RELEASE);
	}
}

static void test_kvm_heki_protect_races_writes_on_another_vcpu(void **state)
{
	struct race s = { .phase = 0 };
	struct kvmtest k;
	static const mv_guest_fn guests[2] = { guest_protector, guest_writer };
	uint64_t map;

	(void)state;
	kt_setup(&k, 0);
	map = kt_mmap(&k, 2ull << 20);
	assert_int_equal(kt_region(&k, 0, 0, 0, 2ull << 20, map), 0);
	kt_run_on_threads(&k, 2, guests, &s);
	assert_int_equal(s.perr, 0);
	assert_int_equal(s.bad, 0);
	assert_true(s.good > 0);
	assert_true(s.denied > 0);
	print_message("writes landed %llu, denied %llu\n", (unsigned long long)s.good,
		      (unsigned long long)s.denied);
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_heki_protect_races_writes_on_another_vcpu),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
