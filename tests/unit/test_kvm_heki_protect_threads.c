/* SPDX-License-Identifier: MIT */
/*
 * KVM_HC_PROTECT_MEMORY racing a guest write on another vCPU: once the
 * protecting vCPU's hypercall returned, no write on any vCPU may land on
 * the page (the protect zaps stage 2 and waits out every vCPU's access
 * in flight, and a fault racing it retries), and once the page is made
 * writable again writes land. Two vCPUs on two host threads, many rounds.
 */
#include <pthread.h>
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

struct vt {
	struct mv_task *t;
	int fd;
	long err;
};

static void *vcpu_main(void *p)
{
	struct vt *v = p;
	struct kvm_run *run = mv_vcpu_run_area(v->t, v->fd);

	v->err = kt_ioctl(v->t, v->fd, KVM_RUN, 0);
	if (!v->err && run->exit_reason != KVM_EXIT_HLT)
		v->err = -1000 - (long)run->exit_reason;
	return NULL;
}

static void test_kvm_heki_protect_races_writes_on_another_vcpu(void **state)
{
	struct race s = { .phase = 0 };
	struct kvmtest k;
	struct vt v[2];
	pthread_t th[2];
	uint64_t map;

	(void)state;
	kt_setup(&k, 0);
	map = kt_mmap(&k, 2ull << 20);
	assert_int_equal(kt_region(&k, 0, 0, 0, 2ull << 20, map), 0);
	for (int i = 0; i < 2; i++) {
		v[i].fd = kt_vcpu(&k, (unsigned long)i);
		v[i].err = 0;
		assert_int_equal(mv_task_clone(k.t, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
					       CLONE_THREAD, &v[i].t), 0);
		assert_int_equal(mv_vcpu_set_guest(k.t, v[i].fd, i ? guest_writer : guest_protector,
						   &s), 0);
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, vcpu_main, &v[i]), 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(v[i].err, 0);
		mv_task_exit(v[i].t);
	}
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
