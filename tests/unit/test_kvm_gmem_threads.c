/* SPDX-License-Identifier: MIT */
/*
 * vCPU threads write and read back private memory while the VMM punches
 * holes in the guest_memfd (splitting 2 MiB folios) and converts ranges
 * between private and shared. Every value a guest reads must be its own
 * (signed with its id and the page) or zero: never another guest's, never
 * a page that was freed or converted under it. Run under ThreadSanitizer.
 */
#include <pthread.h>

#include "kvmtest.h"

#define NR_VCPUS 3
#define REGION   (2ull << 20)      /* one 2 MiB folio per vCPU */
#define STRIDE   (16 * KT_PG)      /* pages a guest touches: 32 per region */
#define ROUNDS   40
#define VMM_OPS  400

struct vthread {
	struct mv_task *t;
	int fd, id;
	int bad, run_errors;
	uint64_t own_seen;
	unsigned int finished;          /* atomic */
	const unsigned int *vmm_ops;
};

static uint64_t sig(int id, uint64_t page, uint64_t round)
{
	return ((uint64_t)(id + 1) << 56) | (page << 32) | round;
}

static void guest_private_churn(struct mv_guest *g, void *arg)
{
	struct vthread *v = arg;
	uint64_t base = (uint64_t)v->id * REGION;

	for (uint64_t r = 0; r < ROUNDS || __atomic_load_n(v->vmm_ops, __ATOMIC_RELAXED) < VMM_OPS;
	     r++) {
		for (uint64_t off = 0; off < REGION; off += STRIDE) {
			uint64_t p = off / KT_PG, w[2] = { sig(v->id, p, r), ~sig(v->id, p, r) }, b[2];

			if (mv_guest_write(g, base + off + 64, w, sizeof(w)) ||
			    mv_guest_read(g, base + off + 64, b, sizeof(b))) {
				v->bad++;
				continue;
			}
			if (b[0] == 0 && b[1] == 0)
				continue;      /* punched or converted between the two accesses */
			if (b[1] != ~b[0] || (b[0] >> 56) != (uint64_t)(v->id + 1) ||
			    ((b[0] >> 32) & 0xffffff) != p)
				v->bad++;
			else
				v->own_seen++;
		}
	}
}

static void *vcpu_main(void *p)
{
	struct vthread *v = p;
	struct kvm_run *run = mv_vcpu_run_area(v->t, v->fd);

	if (kt_ioctl(v->t, v->fd, KVM_RUN, 0) || run->exit_reason != KVM_EXIT_HLT)
		v->run_errors++;
	__atomic_store_n(&v->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* One VMM operation: punch part of a region, or flip a range's attribute. */
static void vmm_op(struct kvmtest *k, int vm, long gmem, unsigned int op)
{
	uint64_t region = (op % NR_VCPUS) * REGION, off = (op * 37 % 32) * STRIDE;
	struct kvm_memory_attributes a = {
		.address = region + off, .size = 4 * STRIDE > REGION - off ? REGION - off : 4 * STRIDE,
		.attributes = (op / NR_VCPUS) % 2 ? 0 : KVM_MEMORY_ATTRIBUTE_PRIVATE,
	};

	if (op % 2) {
		assert_int_equal(kt_ioctl_p(k->t, vm, KVM_SET_MEMORY_ATTRIBUTES, &a), 0);
		return;
	}
	assert_int_equal(mv_syscall(k->t, MV_SYS_fallocate, (uint64_t)gmem,
				    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, region + off,
				    op % 8 ? STRIDE : REGION - off, 0, 0), 0);
}

static void test_kvm_gmem_threads_fault_punch_convert(void **state)
{
	struct vthread v[NR_VCPUS];
	pthread_t th[NR_VCPUS];
	struct kvmtest k;
	unsigned int ops = 0, done = 0;
	long gmem;
	int vm;

	kt_setup(&k, 128ull << 20);
	vm = kt_gmem_vm(&k, NR_VCPUS * REGION, &gmem);
	for (int i = 0; i < NR_VCPUS; i++) {
		v[i] = (struct vthread){ .id = i, .vmm_ops = &ops };
		v[i].fd = (int)kt_ioctl(k.t, vm, KVM_CREATE_VCPU, (unsigned long)i);
		assert_true(v[i].fd >= 0);
		assert_int_equal(mv_task_clone(k.t, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
					       CLONE_THREAD, &v[i].t), 0);
		assert_int_equal(mv_vcpu_set_guest(k.t, v[i].fd, guest_private_churn, &v[i]), 0);
	}
	for (int i = 0; i < NR_VCPUS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, vcpu_main, &v[i]), 0);
	while (!done) {
		vmm_op(&k, vm, gmem, ops);
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
	print_message("VMM operations: %u\n", ops);
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_gmem_threads_fault_punch_convert),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
