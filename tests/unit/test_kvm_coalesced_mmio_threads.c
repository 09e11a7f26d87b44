/* SPDX-License-Identifier: MIT */
/*
 * Two vCPU threads store into a coalesced-MMIO zone while the VMM drains
 * the VM's one ring and keeps unregistering and registering the zone. Every
 * store must reach the VMM exactly once, either through the ring or as a
 * KVM_EXIT_MMIO: none lost to a ring slot two vCPUs both took, none seen
 * twice. Run under ThreadSanitizer in CI (the name ends in _threads).
 */
#include <pthread.h>
#include <sched.h>

#include "kvmtest.h"

#define NR_VCPUS 2
#define STORES   3000
#define ZONE     0x40000000ull
#define RING_MAX ((4096 - 8) / 24)

struct cm_vcpu {
	struct mv_task *t;
	int fd, id;
	int run_errors;
	unsigned int finished;          /* atomic */
	uint8_t *seen;                  /* STORES counters, owned by this thread until joined */
};

static uint64_t cm_sig(int id, uint64_t i)
{
	return ((uint64_t)(id + 1) << 56) | i;
}

static void guest_store(struct mv_guest *g, void *arg)
{
	struct cm_vcpu *v = arg;

	for (uint64_t i = 0; i < STORES; i++) {
		uint64_t s = cm_sig(v->id, i);

		mv_guest_write(g, ZONE + (uint64_t)v->id * 8, &s, 8);
	}
}

static void cm_count(uint8_t *seen[NR_VCPUS], uint64_t s)
{
	int id = (int)(s >> 56) - 1;
	uint64_t i = s & ((1ull << 56) - 1);

	if (id >= 0 && id < NR_VCPUS && i < STORES)
		seen[id][i]++;
}

static void *cm_vcpu_main(void *p)
{
	struct cm_vcpu *v = p;
	struct kvm_run *run = mv_vcpu_run_area(v->t, v->fd);

	for (;;) {
		uint64_t s;

		if (kt_ioctl(v->t, v->fd, KVM_RUN, 0) || (run->exit_reason != KVM_EXIT_HLT &&
							 (run->exit_reason != KVM_EXIT_MMIO ||
							  !run->mmio.is_write || run->mmio.len != 8))) {
			v->run_errors++;
			break;
		}
		if (run->exit_reason == KVM_EXIT_HLT)
			break;
		memcpy(&s, run->mmio.data, 8);
		sched_yield();   /* two cores, three threads: let the VMM drain and toggle */
		if ((s >> 56) == (uint64_t)(v->id + 1) && (s & 0xffffffffull) < STORES)
			v->seen[s & 0xffffffffull]++;
		else
			v->run_errors++;
	}
	__atomic_store_n(&v->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Takes every entry between first and last, then hands the slots back. */
static void cm_drain(struct kvmtest *k, uint64_t ring, uint8_t *seen[NR_VCPUS])
{
	uint32_t first, last;

	assert_int_equal(mv_user_read(k->t, ring, &first, 4), 0);
	assert_int_equal(mv_user_read(k->t, ring + 4, &last, 4), 0);
	while (first != last) {
		struct kvm_coalesced_mmio e;
		uint64_t s;

		assert_int_equal(mv_user_read(k->t, ring + 8 + first * sizeof(e), &e, sizeof(e)), 0);
		memcpy(&s, e.data, 8);
		cm_count(seen, s);
		first = (first + 1) % RING_MAX;
	}
	assert_int_equal(mv_user_write(k->t, ring, &first, 4), 0);
}

static void test_kvm_coalesced_mmio_threads_nothing_lost(void **state)
{
	static uint8_t exit_seen[NR_VCPUS][STORES], ring_seen[NR_VCPUS][STORES];
	uint8_t *ring_rows[NR_VCPUS] = { ring_seen[0], ring_seen[1] };
	struct kvm_coalesced_mmio_zone z = { .addr = ZONE, .size = 0x1000 };
	struct cm_vcpu v[NR_VCPUS];
	pthread_t th[NR_VCPUS];
	struct kvmtest k;
	unsigned int done = 0, round = 0;
	uint64_t ring;
	long a;

	memset(exit_seen, 0, sizeof(exit_seen));
	memset(ring_seen, 0, sizeof(ring_seen));
	kt_setup(&k, 0);
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_REGISTER_COALESCED_MMIO, &z), 0);
	for (int i = 0; i < NR_VCPUS; i++) {
		v[i] = (struct cm_vcpu){ .id = i, .fd = kt_vcpu(&k, (unsigned long)i),
					 .seen = exit_seen[i] };
		v[i].t = kt_thread(k.t);
		assert_int_equal(mv_vcpu_set_guest(k.t, v[i].fd, guest_store, &v[i]), 0);
	}
	a = mv_syscall(k.t, MV_SYS_mmap, 0, KT_PG, PROT_READ | PROT_WRITE, MAP_SHARED,
		       (uint64_t)v[1].fd, 2 * KT_PG);
	assert_true(a > 0);
	ring = (uint64_t)a;
	for (int i = 0; i < NR_VCPUS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, cm_vcpu_main, &v[i]), 0);

	while (!done) {
		cm_drain(&k, ring, ring_rows);
		if (++round % 16 == 0)
			assert_int_equal(kt_ioctl_p(k.t, k.vm, round % 32 ?
						    KVM_UNREGISTER_COALESCED_MMIO :
						    KVM_REGISTER_COALESCED_MMIO, &z), 0);
		done = 1;
		for (int j = 0; j < NR_VCPUS; j++)
			done &= __atomic_load_n(&v[j].finished, __ATOMIC_ACQUIRE);
	}
	for (int i = 0; i < NR_VCPUS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(v[i].run_errors, 0);
		mv_task_exit(v[i].t);
	}
	cm_drain(&k, ring, ring_rows);
	for (int i = 0; i < NR_VCPUS; i++) {
		unsigned int exits = 0;

		for (int s = 0; s < STORES; s++) {
			if (exit_seen[i][s] + ring_seen[i][s] != 1)
				fail_msg("vCPU %d store %d: %d exits, %d ring entries", i, s,
					 exit_seen[i][s], ring_seen[i][s]);
			exits += exit_seen[i][s];
		}
		print_message("vCPU %d: %u stores through the ring, %u exits; %u VMM rounds\n", i,
			      STORES - exits, exits, round);
	}
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_coalesced_mmio_threads_nothing_lost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
