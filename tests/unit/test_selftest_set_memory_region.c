/* SPDX-License-Identifier: MIT */
/*
 * The cases of mainline's tools/testing/selftests/kvm/set_memory_region_test.c,
 * re-expressed on memvisor's public API (one test per case, named after
 * it; docs/conformance.md has the table).
 *
 * The selftest's guest is x86 code in guest memory that reports with
 * ucalls; here the guest is a program whose "instruction fetch" is an
 * explicit mv_guest_fetch of its code page, and whose GUEST_SYNC is an
 * MMIO write to a GPA no slot covers. The VMM thread answers MMIO reads
 * of the test region with MMIO_VAL, as the selftest's vcpu_worker does.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "kvmtest.h"

#define MEM_REGION_SIZE 0x200000ull
#define MEM_REGION_GPA  0xc0000000ull
#define MEM_REGION_SLOT 10u
#define MMIO_VAL        0xbeefull
#define SYNC_GPA        0xd0000000ull     /* no slot: a write here is the guest's GUEST_SYNC */
#define CODE_GPA        0x1000ull         /* the guest's "code", in slot 0 */
#define KVM_SET_NR_MMU_PAGES_ 0xae44u     /* _IO(KVMIO, 0x44) */

/* ------------------------------------------------ the spinning guest and its VMM thread */

enum sr_kind { SR_MOVE, SR_DELETE };

struct sr_vm {
	struct kvmtest k;
	struct mv_task *vt;     /* the vCPU thread's task (a thread of the VMM) */
	int vcpu;
	uint64_t code_ua, region_ua;
	sem_t ready;
	pthread_t th;
	enum sr_kind kind;
	/* what the guest saw, checked by the test after the join */
	uint64_t seen[8];
	int nseen;
	long guest_err;
	/* how KVM_RUN ended */
	long last_ret;
	uint32_t last_exit;
};

static void sr_sync(struct mv_guest *g)
{
	uint8_t one = 1;

	mv_guest_write(g, SYNC_GPA, &one, 1);
}

/* guest_spin_on_val: reread the region's first word (fetching the loop's code each time). */
static uint64_t sr_spin_on_val(struct mv_guest *g, struct sr_vm *s, uint64_t spin)
{
	uint64_t val;

	do {
		if (mv_guest_fetch(g, CODE_GPA, 1) || mv_guest_read(g, MEM_REGION_GPA, &val, 8)) {
			s->guest_err = -1;
			return 0;
		}
	} while (val == spin);
	sr_sync(g);
	if (s->nseen < 8)
		s->seen[s->nseen++] = val;
	return val;
}

static void sr_guest(struct mv_guest *g, void *arg)
{
	struct sr_vm *s = arg;

	sr_sync(g);
	if (s->kind == SR_MOVE) {
		sr_spin_on_val(g, s, 0);
		sr_spin_on_val(g, s, MMIO_VAL);
		sr_spin_on_val(g, s, 0);
		sr_spin_on_val(g, s, MMIO_VAL);
		return;   /* GUEST_DONE */
	}
	sr_spin_on_val(g, s, 0);
	sr_spin_on_val(g, s, MMIO_VAL);
	sr_spin_on_val(g, s, 0);
	/* spin until the code slot goes */
	while (!s->guest_err)
		sr_spin_on_val(g, s, MMIO_VAL);
}

/* vcpu_worker: re-enter on every MMIO exit, post on every sync, stop on anything else. */
static void *sr_vcpu_worker(void *arg)
{
	struct sr_vm *s = arg;
	struct kvm_run *run = mv_vcpu_run_area(s->vt, s->vcpu);

	for (;;) {
		s->last_ret = kt_ioctl(s->vt, s->vcpu, KVM_RUN, 0);
		s->last_exit = run->exit_reason;
		if (s->last_ret || run->exit_reason != KVM_EXIT_MMIO)
			break;
		if (run->mmio.is_write && run->mmio.phys_addr == SYNC_GPA) {
			sem_post(&s->ready);
			continue;
		}
		if (run->mmio.is_write || run->mmio.len != 8 || run->mmio.phys_addr != MEM_REGION_GPA)
			break;
		memcpy(run->mmio.data, &(uint64_t){ MMIO_VAL }, 8);
	}
	sem_post(&s->ready);   /* never leave the test waiting */
	return NULL;
}

static void sr_wait_for_vcpu(struct sr_vm *s)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
	ts.tv_sec += 2;
	assert_int_equal(sem_timedwait(&s->ready, &ts), 0);
	usleep(100000);
}

static long sr_region(struct sr_vm *s, uint32_t slot, uint64_t gpa, uint64_t size, uint64_t ua)
{
	return kt_region(&s->k, slot, 0, gpa, size, ua);
}

/* spawn_vm: slot 0 with the code page, the 2 MiB test slot zeroed, the vCPU thread running. */
static void sr_spawn(struct sr_vm *s, enum sr_kind kind)
{
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	kt_setup(&s->k, 0);
	s->code_ua = kt_mmap(&s->k, MEM_REGION_SIZE);
	assert_int_equal(sr_region(s, 0, 0, MEM_REGION_SIZE, s->code_ua), 0);
	s->region_ua = kt_mmap(&s->k, MEM_REGION_SIZE);
	assert_int_equal(sr_region(s, MEM_REGION_SLOT, MEM_REGION_GPA, MEM_REGION_SIZE,
				   s->region_ua), 0);
	s->vcpu = kt_vcpu(&s->k, 0);
	assert_int_equal(mv_vcpu_set_guest(s->k.t, s->vcpu, sr_guest, s), 0);
	s->vt = kt_thread(s->k.t);
	assert_int_equal(sem_init(&s->ready, 0, 0), 0);
	assert_int_equal(pthread_create(&s->th, NULL, sr_vcpu_worker, s), 0);
	sr_wait_for_vcpu(s);
}

static void sr_finish(struct sr_vm *s)
{
	assert_int_equal(pthread_join(s->th, NULL), 0);
	mv_task_exit(s->vt);
	sem_destroy(&s->ready);
	kt_teardown(&s->k);
}

/* ------------------------------------------------------------ the cases */

/* test_move_memory_region, a few rounds (the selftest's default is 10) */
static void test_selftest_set_memory_region_move_memory_region(void **state)
{
	for (int loop = 0; loop < 3; loop++) {
		uint64_t v;
		struct sr_vm s;

		sr_spawn(&s, SR_MOVE);
		/* misalign the slot: the guest must never see the 2 written at its old hva */
		assert_int_equal(sr_region(&s, MEM_REGION_SLOT, MEM_REGION_GPA - 4096,
					   MEM_REGION_SIZE, s.region_ua), 0);
		v = 2;
		assert_int_equal(mv_user_write(s.k.t, s.region_ua, &v, 8), 0);
		usleep(100000);
		v = 1;
		assert_int_equal(mv_user_write(s.k.t, s.region_ua, &v, 8), 0);
		assert_int_equal(sr_region(&s, MEM_REGION_SLOT, MEM_REGION_GPA, MEM_REGION_SIZE,
					   s.region_ua), 0);
		sr_wait_for_vcpu(&s);
		sr_wait_for_vcpu(&s);
		sr_finish(&s);
		assert_int_equal(s.guest_err, 0);
		assert_int_equal(s.last_ret, 0);
		assert_int_equal(s.last_exit, KVM_EXIT_HLT);   /* GUEST_DONE */
		assert_int_equal(s.nseen, 4);
		assert_true(s.seen[0] == 1 || s.seen[0] == MMIO_VAL);
		assert_true(s.seen[1] == 1 || s.seen[1] == 0);
		assert_true(s.seen[2] == 1 || s.seen[2] == MMIO_VAL);
		assert_int_equal(s.seen[3], 1);
	}
}

/* test_delete_memory_region, a few rounds */
static void test_selftest_set_memory_region_delete_memory_region(void **state)
{
	for (int loop = 0; loop < 3; loop++) {
		bool still_running = false;
		struct timespec ts;
		struct sr_vm s;
		uint64_t fresh;

		sr_spawn(&s, SR_DELETE);
		assert_int_equal(sr_region(&s, MEM_REGION_SLOT, MEM_REGION_GPA, 0, 0), 0);
		sr_wait_for_vcpu(&s);
		fresh = kt_mmap(&s.k, MEM_REGION_SIZE);
		assert_int_equal(sr_region(&s, MEM_REGION_SLOT, MEM_REGION_GPA, MEM_REGION_SIZE,
					   fresh), 0);
		sr_wait_for_vcpu(&s);
		assert_int_equal(sr_region(&s, MEM_REGION_SLOT, MEM_REGION_GPA, 0, 0), 0);
		sr_wait_for_vcpu(&s);
		/* the slot with the code goes: an emulation error or a shutdown */
		assert_int_equal(sr_region(&s, 0, 0, 0, 0), 0);
		assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
		ts.tv_sec += 2;
		if (sem_timedwait(&s.ready, &ts)) {
			/* still running without its code: stop it at its next entry */
			__atomic_store_n(&mv_vcpu_run_area(s.k.t, s.vcpu)->immediate_exit, 1,
					 __ATOMIC_RELAXED);
			still_running = true;
		}
		sr_finish(&s);
		assert_true(s.nseen >= 3);
		assert_int_equal(s.seen[0], MMIO_VAL);
		assert_int_equal(s.seen[1], 0);
		assert_int_equal(s.seen[2], MMIO_VAL);
		assert_false(still_running);
		assert_true(s.last_exit == KVM_EXIT_SHUTDOWN || s.last_exit == KVM_EXIT_INTERNAL_ERROR);
	}
}

/* What a vCPU does with no memory at all: fetch its first instruction at the reset vector. */
static void zero_regions_guest(struct mv_guest *g, void *arg)
{
	*(long *)arg = mv_guest_fetch(g, 0xfffffff0ull, 1);
}

/* test_zero_memory_regions: KVM_RUN with no slot is KVM_EXIT_INTERNAL_ERROR */
static void test_selftest_set_memory_region_zero_memory_regions(void **state)
{
	struct kvm_run *run;
	struct kvmtest k;
	long fetched = 1, nr_mmu, r;
	int vcpu;

	kt_setup(&k, 0);
	vcpu = kt_vcpu(&k, 0);
	nr_mmu = kt_ioctl(k.t, k.vm, KVM_SET_NR_MMU_PAGES_, 64);
	assert_int_equal(mv_vcpu_set_guest(k.t, vcpu, zero_regions_guest, &fetched), 0);
	run = mv_vcpu_run_area(k.t, vcpu);
	r = kt_run(&k, vcpu);
	assert_int_equal(nr_mmu, 0);
	assert_int_equal(r, 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_INTERNAL_ERROR);
	kt_teardown(&k);
}

static long sr_region2(struct kvmtest *k, int vm, uint32_t slot, uint32_t flags, uint64_t gpa,
		       uint64_t size, uint64_t ua, int gmem, uint64_t off)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = ua, .guest_memfd_offset = off, .guest_memfd = (uint32_t)gmem,
	};

	return kt_ioctl_p(k->t, vm, KVM_SET_USER_MEMORY_REGION2, &r);
}

static long sr_region1(struct kvmtest *k, int vm, uint32_t slot, uint32_t flags, uint64_t gpa,
		       uint64_t size, uint64_t ua)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = ua,
	};

	return kt_ioctl_p(k->t, vm, KVM_SET_USER_MEMORY_REGION, &r);
}

static int sr_protected_vm(struct kvmtest *k)
{
	long vm = kt_ioctl(k->t, k->kvm, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);

	assert_true(vm >= 0);
	return (int)vm;
}

/* test_invalid_memory_region_flags */
static void test_selftest_set_memory_region_invalid_memory_region_flags(void **state)
{
	uint32_t supported = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY;
	const uint32_t v2_only = KVM_MEM_GUEST_MEMFD;
	struct kvmtest k;
	int vm;

	kt_setup(&k, 0);
	vm = kt_ioctl(k.t, k.kvm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES) &
	     (1 << KVM_X86_SW_PROTECTED_VM) ? sr_protected_vm(&k) : k.vm;
	if (kt_ioctl(k.t, k.kvm, KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES) &
	    KVM_MEMORY_ATTRIBUTE_PRIVATE)
		supported |= KVM_MEM_GUEST_MEMFD;
	assert_true(supported & KVM_MEM_GUEST_MEMFD);
	for (int i = 0; i < 32; i++) {
		uint32_t bit = 1u << i;

		if ((supported & bit) && !(v2_only & bit))
			continue;
		assert_int_equal(sr_region1(&k, vm, 0, bit, 0, MEM_REGION_SIZE, 0), -EINVAL);
		if (supported & bit)
			continue;
		assert_int_equal(sr_region2(&k, vm, 0, bit, 0, MEM_REGION_SIZE, 0, 0, 0), -EINVAL);
	}
	assert_int_equal(sr_region2(&k, vm, 0, KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_GUEST_MEMFD, 0,
				    MEM_REGION_SIZE, 0, 0, 0), -EINVAL);
	kt_teardown(&k);
}

/* test_add_max_memory_regions: KVM_CAP_NR_MEMSLOTS slots of 2 MiB, then one more is -EINVAL */
static void test_selftest_set_memory_region_add_max_memory_regions(void **state)
{
	struct kvmtest k;
	long max, mem, extra;

	kt_setup(&k, 0);
	max = kt_ioctl(k.t, k.kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	assert_true(max > 0);
	mem = MVTEST_SYSCALL(k.t, MV_SYS_mmap, 0, (uint64_t)max * MEM_REGION_SIZE + 1,
			     PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(mem > 0);
	for (uint32_t slot = 0; slot < (uint32_t)max; slot++)
		assert_int_equal(kt_region(&k, slot, 0, (uint64_t)slot * MEM_REGION_SIZE,
					   MEM_REGION_SIZE, (uint64_t)mem + slot * MEM_REGION_SIZE), 0);
	extra = (long)kt_mmap(&k, MEM_REGION_SIZE);
	assert_int_equal(kt_region(&k, (uint32_t)max, 0, (uint64_t)max * MEM_REGION_SIZE,
				   MEM_REGION_SIZE, (uint64_t)extra), -EINVAL);
	kt_teardown(&k);
}

static long sr_gmem(struct kvmtest *k, int vm, uint64_t size)
{
	struct kvm_create_guest_memfd g = { .size = size };

	return kt_ioctl_p(k->t, vm, KVM_CREATE_GUEST_MEMFD, &g);
}

static void sr_invalid_gmem(struct kvmtest *k, int vm, long fd, uint64_t off)
{
	assert_int_equal(sr_region2(k, vm, MEM_REGION_SLOT, KVM_MEM_GUEST_MEMFD, MEM_REGION_GPA,
				    MEM_REGION_SIZE, 0, (int)fd, off), -EINVAL);
}

/* test_add_private_memory_region */
static void test_selftest_set_memory_region_add_private_memory_region(void **state)
{
	struct kvmtest k;
	long memfd;
	int vm, vm2;

	kt_setup(&k, 0);
	vm = sr_protected_vm(&k);
	sr_invalid_gmem(&k, vm, k.kvm, 0);
	sr_invalid_gmem(&k, vm, vm, 0);
	memfd = MVTEST_SYSCALL(k.t, MV_SYS_memfd_create, "sr", 0);
	assert_true(memfd >= 0);
	assert_int_equal(MVTEST_SYSCALL(k.t, MV_SYS_ftruncate, memfd, MEM_REGION_SIZE), 0);
	sr_invalid_gmem(&k, vm, memfd, 0);
	assert_int_equal(MVTEST_SYSCALL(k.t, MV_SYS_close, memfd), 0);

	vm2 = sr_protected_vm(&k);
	memfd = sr_gmem(&k, vm2, MEM_REGION_SIZE);
	assert_true(memfd >= 0);
	sr_invalid_gmem(&k, vm, memfd, 0);
	assert_int_equal(sr_region2(&k, vm2, MEM_REGION_SLOT, KVM_MEM_GUEST_MEMFD, MEM_REGION_GPA,
				    MEM_REGION_SIZE, 0, (int)memfd, 0), 0);
	assert_int_equal(MVTEST_SYSCALL(k.t, MV_SYS_close, memfd), 0);
	assert_int_equal(MVTEST_SYSCALL(k.t, MV_SYS_close, vm2), 0);

	memfd = sr_gmem(&k, vm, MEM_REGION_SIZE);
	assert_true(memfd >= 0);
	for (uint64_t off = 1; off < 4096; off++)
		sr_invalid_gmem(&k, vm, memfd, off);
	assert_int_equal(sr_region2(&k, vm, MEM_REGION_SLOT, KVM_MEM_GUEST_MEMFD, MEM_REGION_GPA,
				    MEM_REGION_SIZE, 0, (int)memfd, 0), 0);
	kt_teardown(&k);
}

/* test_add_overlapping_private_memory_regions */
static void test_selftest_set_memory_region_add_overlapping_private_memory_regions(void **state)
{
	const uint32_t gm = KVM_MEM_GUEST_MEMFD;
	struct kvmtest k;
	long memfd;
	int vm;

	kt_setup(&k, 0);
	vm = sr_protected_vm(&k);
	memfd = sr_gmem(&k, vm, MEM_REGION_SIZE * 4);
	assert_true(memfd >= 0);
	assert_int_equal(sr_region2(&k, vm, MEM_REGION_SLOT, gm, MEM_REGION_GPA,
				    MEM_REGION_SIZE * 2, 0, (int)memfd, 0), 0);
	assert_int_equal(sr_region2(&k, vm, MEM_REGION_SLOT + 1, gm, MEM_REGION_GPA * 2,
				    MEM_REGION_SIZE * 2, 0, (int)memfd, MEM_REGION_SIZE * 2), 0);
	assert_int_equal(sr_region2(&k, vm, MEM_REGION_SLOT, gm, MEM_REGION_GPA, 0, 0, -1, 0), 0);
	/* the front half, then the back half, of the other slot's GPA range */
	assert_int_equal(sr_region2(&k, vm, MEM_REGION_SLOT, gm, MEM_REGION_GPA * 2 - MEM_REGION_SIZE,
				    MEM_REGION_SIZE * 2, 0, (int)memfd, 0), -EEXIST);
	assert_int_equal(sr_region2(&k, vm, MEM_REGION_SLOT, gm, MEM_REGION_GPA * 2 + MEM_REGION_SIZE,
				    MEM_REGION_SIZE * 2, 0, (int)memfd, 0), -EEXIST);
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest_set_memory_region_zero_memory_regions),
		cmocka_unit_test(test_selftest_set_memory_region_invalid_memory_region_flags),
		cmocka_unit_test(test_selftest_set_memory_region_add_max_memory_regions),
		cmocka_unit_test(test_selftest_set_memory_region_add_private_memory_region),
		cmocka_unit_test(test_selftest_set_memory_region_add_overlapping_private_memory_regions),
		cmocka_unit_test(test_selftest_set_memory_region_move_memory_region),
		cmocka_unit_test(test_selftest_set_memory_region_delete_memory_region),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
