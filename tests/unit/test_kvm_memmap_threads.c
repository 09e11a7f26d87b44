/* SPDX-License-Identifier: MIT */
/*
 * mv_vm_memory_map while the VMM keeps adding, moving and deleting memslots
 * and changing attributes on another thread: every answer is a consistent
 * map (ranges in GPA order, never overlapping, each inside a slot the VMM
 * could have had), and nothing races (run under ThreadSanitizer in CI).
 */
#include <pthread.h>

#include "kvmtest.h"
#include "kvm/kvm.h"

#define ROUNDS 300

struct churn {
	struct kvmtest *k;
	struct mv_task *t;     /* a thread of the VMM process */
	uint64_t ram;
	unsigned int done;     /* atomic */
	int errors;
};

static void *memmap_churn(void *arg)
{
	struct churn *c = arg;
	struct kvmtest k = *c->k;
	struct file *f;
	struct kvm *kvm;

	k.t = c->t;   /* the ioctls come from this thread's task */
	f = fd_get(k.t, k.vm);
	kvm = kvm_from_file(f);

	for (int i = 0; i < ROUNDS; i++) {
		uint64_t gpa = (i & 1) ? 0x400000 : 0x800000;

		c->errors += kt_region(&k, 1, 0, gpa, 8 * KT_PG, c->ram + 8 * KT_PG) != 0;
		c->errors += kvm_attr_set_range(kvm, (uint64_t)i % 8, (uint64_t)i % 8 + 1,
						(i & 2) ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0) != 0;
		c->errors += kt_region(&k, 1, 0, gpa, 0, c->ram + 8 * KT_PG) != 0;
	}
	file_put(f);
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_kvm_memmap_consistent_while_slots_change(void **state)
{
	struct kvmtest k;
	struct churn c = { .k = &k };
	struct mv_vm_range r[16];
	pthread_t th;
	int maps = 0;

	kt_setup(&k, 64ull << 20);
	c.ram = kt_mmap(&k, 16 * KT_PG);
	assert_int_equal(kt_region(&k, 0, 0, 0, 8 * KT_PG, c.ram), 0);
	assert_int_equal(mv_task_clone(k.t, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
				       CLONE_THREAD, &c.t), 0);
	assert_int_equal(pthread_create(&th, NULL, memmap_churn, &c), 0);
	while (!__atomic_load_n(&c.done, __ATOMIC_ACQUIRE) || maps < 50) {
		long n = mv_vm_memory_map(k.t, k.vm, r, 16);

		assert_true(n >= 1 && n <= 16);
		for (long i = 0; i < n; i++) {
			assert_true(r[i].size > 0);
			assert_true(r[i].slot == 0 ? r[i].gpa + r[i].size <= 8 * KT_PG :
				    r[i].gpa >= 0x400000);
			if (i)
				assert_true(r[i - 1].gpa + r[i - 1].size <= r[i].gpa);
		}
		maps++;
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(c.errors, 0);
	mv_task_exit(c.t);
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_memmap_consistent_while_slots_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
