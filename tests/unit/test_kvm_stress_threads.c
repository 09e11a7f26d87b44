/* SPDX-License-Identifier: MIT */
/*
 * Four vCPU threads touch guest memory while the VMM keeps deleting and
 * re-adding their memslots and punching the backing with MADV_DONTNEED.
 * Every value a guest reads back must be its own (signed with its id and
 * the page) or zero: never another guest's data, never a freed frame that
 * went on to a new life. Run under ThreadSanitizer in CI (the name ends in
 * _threads).
 */
#include <pthread.h>
#include <sched.h>

#include "kvmtest.h"

#define NR_VCPUS 4
#define REGION   (64 * KT_PG)
#define MIN_ROUNDS 20
#define MIN_OWN  256       /* ... and until it read back its own data this often */
#define VMM_OPS  600       /* guests keep going until the VMM did this many */

struct vcpu_thread {
	struct kvmtest *k;
	struct mv_task *t;     /* a thread of the VMM process */
	int fd;
	int id;
	int bad;               /* guest-side check failures */
	int run_errors;
	uint64_t mmio_exits;
	uint64_t own_seen;      /* reads that returned this guest's data */
	unsigned int finished;  /* atomic */
	const unsigned int *vmm_ops;
};

static uint64_t sig(int id, uint64_t page, uint64_t round)
{
	return ((uint64_t)(id + 1) << 56) | (page << 32) | round;
}

static void guest_churn(struct mv_guest *g, void *arg)
{
	struct vcpu_thread *v = arg;
	uint64_t base = (uint64_t)v->id * REGION;

	for (uint64_t r = 0;
	     r < MIN_ROUNDS || v->own_seen < MIN_OWN ||
	     __atomic_load_n(v->vmm_ops, __ATOMIC_RELAXED) < VMM_OPS;
	     r++) {
		for (uint64_t p = 0; p < REGION / KT_PG; p++) {
			uint64_t w[2] = { sig(v->id, p, r), ~sig(v->id, p, r) }, back[2];

			if (mv_guest_write(g, base + p * KT_PG + 64, w, sizeof(w)) ||
			    mv_guest_read(g, base + p * KT_PG + 64, back, sizeof(back))) {
				v->bad++;
				continue;
			}
			if (back[0] == 0 && back[1] == 0)
				continue;      /* punched, or the slot was away (MMIO reads zero) */
			if (back[1] != ~back[0] || (back[0] >> 56) != (uint64_t)(v->id + 1) ||
			    ((back[0] >> 32) & 0xffffff) != p)
				v->bad++;
			else
				v->own_seen++;
		}
	}
}

/* The vCPU thread: KVM_RUN until the guest halts; MMIO reads return zeroes. */
static void *vcpu_main(void *p)
{
	struct vcpu_thread *v = p;
	struct kvm_run *run = mv_vcpu_run_area(v->t, v->fd);

	for (;;) {
		long r = kt_ioctl(v->t, v->fd, KVM_RUN, 0);

		if (r) {
			v->run_errors++;
			break;
		}
		if (run->exit_reason == KVM_EXIT_HLT)
			break;
		if (run->exit_reason != KVM_EXIT_MMIO) {
			v->run_errors++;
			break;
		}
		v->mmio_exits++;
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0, sizeof(run->mmio.data));
	}
	__atomic_store_n(&v->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_kvm_stress_slots_and_punch(void **state)
{
	struct vcpu_thread v[NR_VCPUS];
	pthread_t th[NR_VCPUS];
	struct kvmtest k;
	uint64_t map;
	unsigned int done = 0, ops = 0;

	kt_setup(&k, 128ull << 20);
	map = kt_mmap(&k, NR_VCPUS * REGION);
	for (int i = 0; i < NR_VCPUS; i++) {
		assert_int_equal(kt_region(&k, (uint32_t)i, 0, (uint64_t)i * REGION, REGION,
					   map + (uint64_t)i * REGION), 0);
		v[i] = (struct vcpu_thread){ .k = &k, .id = i, .fd = kt_vcpu(&k, (unsigned long)i),
					     .vmm_ops = &ops };
		assert_int_equal(mv_task_clone(k.t, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
					       CLONE_THREAD, &v[i].t), 0);
		assert_int_equal(mv_vcpu_set_guest(k.t, v[i].fd, guest_churn, &v[i]), 0);
	}
	for (int i = 0; i < NR_VCPUS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, vcpu_main, &v[i]), 0);

	/* The VMM: until every guest halted, churn slots and backing. */
	while (!done) {
		int i = (int)(ops % NR_VCPUS);
		uint64_t gpa = (uint64_t)i * REGION, ua = map + gpa;

		if (ops % 3 == 0) {
			assert_int_equal(kt_region(&k, (uint32_t)i, 0, 0, 0, 0), 0);
			assert_int_equal(kt_region(&k, (uint32_t)i, 0, gpa, REGION, ua), 0);
		} else {
			uint64_t off = (ops * 7 % 64) * KT_PG;

			assert_int_equal(mv_syscall(k.t, MV_SYS_madvise, ua + off, REGION - off,
						    MADV_DONTNEED, 0, 0, 0), 0);
		}
		__atomic_store_n(&ops, ops + 1, __ATOMIC_RELAXED);
		done = 1;
		for (int j = 0; j < NR_VCPUS; j++)
			done &= __atomic_load_n(&v[j].finished, __ATOMIC_ACQUIRE);
	}
	for (int i = 0; i < NR_VCPUS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(v[i].bad, 0);
		assert_int_equal(v[i].run_errors, 0);
		assert_true(v[i].own_seen > 0);
		mv_task_exit(v[i].t);
	}
	print_message("VMM operations: %u; MMIO exits: %llu %llu %llu %llu\n", ops,
		      (unsigned long long)v[0].mmio_exits, (unsigned long long)v[1].mmio_exits,
		      (unsigned long long)v[2].mmio_exits, (unsigned long long)v[3].mmio_exits);
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_stress_slots_and_punch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
