/* SPDX-License-Identifier: MIT */
/*
 * Scale: 64 vCPUs of one VM, each run by its own host thread (a task of the
 * VMM process calling KVM_RUN concurrently with the 63 others), faulting
 * private pages in, exiting to user space, having their pages converted
 * to shared and back by their thread, and halting. Every vCPU reads only
 * its own data or its VMM thread's; every KVM_RUN answers as documented.
 * Run under ThreadSanitizer.
 */
#include <pthread.h>

#include "kvmtest.h"

#define NR_VCPUS  64
#define ROUNDS    4
#define DOORBELL  0xf0000000ull        /* no memslot: an MMIO exit */

struct vthread {
	struct mv_task *t;
	int vm, fd, id;
	uint64_t hva;                      /* the VMM's mapping of this vCPU's page */
	int bad, run_errors, exits;
};

static uint64_t page_of(int id)
{
	return (uint64_t)id * KT_PG;
}

/* Private write, exit; the VMM made the page shared: read the VMM's value, exit. */
static void guest_round_trip(struct mv_guest *g, void *arg)
{
	struct vthread *v = arg;

	for (uint64_t r = 0; r < ROUNDS; r++) {
		uint64_t mine = ((uint64_t)v->id << 32) | r, seen = 0, ring = r;

		if (mv_guest_write(g, page_of(v->id), &mine, sizeof(mine)) ||
		    mv_guest_read(g, page_of(v->id), &seen, sizeof(seen)) || seen != mine)
			v->bad++;
		mv_guest_write(g, DOORBELL, &ring, sizeof(ring));      /* VMM: convert to shared */
		if (mv_guest_read(g, page_of(v->id), &seen, sizeof(seen)) ||
		    seen != (~mine & 0xffffffffffffull))
			v->bad++;
		mv_guest_write(g, DOORBELL, &ring, sizeof(ring));      /* VMM: back to private */
	}
}

static void *vcpu_main(void *p)
{
	struct vthread *v = p;
	struct kvm_run *run = mv_vcpu_run_area(v->t, v->fd);
	uint64_t r = 0;

	for (;;) {
		if (kt_ioctl(v->t, v->fd, KVM_RUN, 0)) {
			v->run_errors++;
			return NULL;
		}
		if (run->exit_reason == KVM_EXIT_HLT)
			return NULL;
		if (run->exit_reason != KVM_EXIT_MMIO || !run->mmio.is_write) {
			v->run_errors++;
			return NULL;
		}
		v->exits++;
		if (v->exits % 2) {
			uint64_t mine = ((uint64_t)v->id << 32) | r, vmm = ~mine & 0xffffffffffffull;

			/* the VMM's own page gets its value, then the GPA turns shared */
			if (mv_user_write(v->t, v->hva + page_of(v->id), &vmm, sizeof(vmm)) ||
			    kt_set_attributes(v->t, v->vm, page_of(v->id), KT_PG, 0))
				v->run_errors++;
		} else {
			if (kt_set_attributes(v->t, v->vm, page_of(v->id), KT_PG,
					      KVM_MEMORY_ATTRIBUTE_PRIVATE))
				v->run_errors++;
			r++;
		}
	}
}

static void test_kvm_scale_64_vcpus_fault_convert_exit(void **state)
{
	static struct vthread v[NR_VCPUS];
	pthread_t th[NR_VCPUS];
	struct kvm_create_guest_memfd cg = { .size = NR_VCPUS * KT_PG };
	struct kvmtest k;
	uint64_t hva;
	long gmem;
	int vm;

	(void)state;
	kt_setup(&k, 0);
	vm = (int)kt_ioctl(k.t, k.kvm, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);
	assert_true(vm >= 0);
	gmem = kt_ioctl_p(k.t, vm, KVM_CREATE_GUEST_MEMFD, &cg);
	assert_true(gmem >= 0);
	hva = kt_mmap(&k, NR_VCPUS * KT_PG);
	assert_int_equal(kt_region_gmem(k.t, vm, 0, 0, NR_VCPUS * KT_PG, hva, (int)gmem, 0), 0);
	assert_int_equal(kt_set_attributes(k.t, vm, 0, NR_VCPUS * KT_PG,
					   KVM_MEMORY_ATTRIBUTE_PRIVATE), 0);
	for (int i = 0; i < NR_VCPUS; i++) {
		v[i] = (struct vthread){ .id = i, .vm = vm, .hva = hva };
		v[i].fd = (int)kt_ioctl(k.t, vm, KVM_CREATE_VCPU, (unsigned long)i);
		assert_true(v[i].fd >= 0);
		v[i].t = kt_thread(k.t);
		assert_int_equal(mv_vcpu_set_guest(k.t, v[i].fd, guest_round_trip, &v[i]), 0);
	}
	for (int i = 0; i < NR_VCPUS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, vcpu_main, &v[i]), 0);
	for (int i = 0; i < NR_VCPUS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(v[i].run_errors, 0);
		assert_int_equal(v[i].bad, 0);
		assert_int_equal(v[i].exits, 2 * ROUNDS);
		mv_task_exit(v[i].t);
	}
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_scale_64_vcpus_fault_convert_exit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
