/* SPDX-License-Identifier: MIT */
/*
 * The MTE races of the seed, under ThreadSanitizer. Guest memory comes
 * from frames a host task tagged 0xe and freed, so a stale tag would show.
 * 1. KVM_ARM_MTE_COPY_TAGS TO_GUEST racing a vCPU's first fault on the
 *    same pages: the guest sees 0 (sanitised) or the copied tags, never
 *    0xe; when both are done every page holds the copied tags (a late
 *    sanitise never clears them).
 * 2. Two vCPUs first-faulting the same pages, each tagging its own
 *    granule: neither loses its tag to the other's sanitise, nothing stale.
 * 3. The VMM tags a PROT_MTE mapping it shares with the guest while the
 *    guest reads the tags: 0 or the VMM's, never stale; in the end equal.
 */
#include <pthread.h>

#include "kvmtest.h"

#define NPAGES 48
#define TAG(p, t) (((uint64_t)(p) & ~(0xfull << 56)) | ((uint64_t)(t) << 56))
#define STALE 0xe

static unsigned int pattern(uint64_t page, uint64_t granule)
{
	return (unsigned int)((page + granule) % 13) + 1;   /* 1..13: never 0, never STALE */
}

struct vthread {
	struct mv_task *t;
	int fd, id;
	int bad, run_errors;
	unsigned int *go;
};

/* Frames with stale tags: a host task's PROT_MTE pages, tagged and freed. */
static void pollute(struct kvmtest *k, uint64_t pages)
{
	long a = mv_syscall(k->t, MV_SYS_mmap, 0, pages * KT_PG, PROT_READ | PROT_WRITE | PROT_MTE,
			    MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);

	assert_true(a > 0);
	assert_int_equal(mv_syscall(k->t, MV_SYS_prctl, PR_SET_TAGGED_ADDR_CTRL,
				    PR_TAGGED_ADDR_ENABLE, 0, 0, 0, 0), 0);
	for (uint64_t off = 0; off < pages * KT_PG; off += 16)
		assert_int_equal(mv_user_set_tag(k->t, TAG(a + off, STALE)), 0);
	assert_int_equal(mv_syscall(k->t, MV_SYS_munmap, (uint64_t)a, pages * KT_PG, 0, 0, 0, 0), 0);
}

static uint64_t mte_vm(struct kvmtest *k, uint64_t prot)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };
	long map;

	kt_setup(k, 64ull << 20);
	assert_int_equal(kt_ioctl_p(k->t, k->vm, KVM_ENABLE_CAP, &cap), 0);
	pollute(k, 2 * NPAGES);
	map = mv_syscall(k->t, MV_SYS_mmap, 0, NPAGES * KT_PG, PROT_READ | PROT_WRITE | prot,
			 MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	assert_true(map > 0);
	assert_int_equal(kt_region(k, 0, 0, 0, NPAGES * KT_PG, (uint64_t)map), 0);
	return (uint64_t)map;
}

static void *vcpu_main(void *p)
{
	struct vthread *v = p;
	struct kvm_run *run = mv_vcpu_run_area(v->t, v->fd);

	if (kt_ioctl(v->t, v->fd, KVM_RUN, 0) || run->exit_reason != KVM_EXIT_HLT)
		v->run_errors++;
	return NULL;
}

static void start_vcpu(struct kvmtest *k, struct vthread *v, int id, mv_guest_fn fn,
		       pthread_t *th)
{
	v->id = id;
	v->fd = kt_vcpu(k, (unsigned long)id);
	v->t = kt_thread(k->t);
	assert_int_equal(mv_vcpu_set_guest(k->t, v->fd, fn, v), 0);
	assert_int_equal(pthread_create(th, NULL, vcpu_main, v), 0);
}

static void finish_vcpu(struct vthread *v, pthread_t th)
{
	pthread_join(th, NULL);
	assert_int_equal(v->bad, 0);
	assert_int_equal(v->run_errors, 0);
	mv_task_exit(v->t);
}

/* ---- 1: COPY_TAGS TO_GUEST vs the guest's first fault ---- */

static void guest_first_touch(struct mv_guest *g, void *arg)
{
	struct vthread *v = arg;

	while (!__atomic_load_n(v->go, __ATOMIC_ACQUIRE))
		;
	for (uint64_t p = 0; p < NPAGES; p++) {
		uint64_t x = 0;
		uint8_t t = 0xff;

		if (mv_guest_get_tag(g, p * KT_PG + 16 * 7, &t) ||
		    (t != 0 && t != pattern(p, 7)))
			v->bad++;
		/* an untagged access passes only while the tags are still clear */
		(void)mv_guest_read(g, p * KT_PG, &x, sizeof(x));
	}
}

static void test_mte_threads_copy_tags_races_first_fault(void **state)
{
	static uint8_t tags[NPAGES][256], back[NPAGES][256];
	struct kvm_arm_copy_mte_tags ct = { .length = KT_PG, .flags = KVM_ARM_TAGS_TO_GUEST };
	struct kvmtest k;
	struct vthread v = { 0 };
	unsigned int go = 0;
	pthread_t th;

	mte_vm(&k, 0);
	v.go = &go;
	start_vcpu(&k, &v, 0, guest_first_touch, &th);
	for (uint64_t p = 0; p < NPAGES; p++)
		for (uint64_t g = 0; g < 256; g++)
			tags[p][g] = (uint8_t)pattern(p, g);
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (uint64_t p = 0; p < NPAGES; p++) {
		ct.guest_ipa = p * KT_PG;
		ct.addr = tags[p];
		assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_ARM_MTE_COPY_TAGS, &ct), (long)KT_PG);
	}
	finish_vcpu(&v, th);
	ct = (struct kvm_arm_copy_mte_tags){ .length = NPAGES * KT_PG, .addr = back,
					     .flags = KVM_ARM_TAGS_FROM_GUEST };
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_ARM_MTE_COPY_TAGS, &ct), (long)(NPAGES * KT_PG));
	assert_memory_equal(tags, back, sizeof(tags));
	kt_teardown(&k);
}

/* ---- 2: two vCPUs first-faulting the same pages ---- */

static void guest_tag_own_granule(struct mv_guest *g, void *arg)
{
	struct vthread *v = arg;
	uint64_t gr = 16 * (uint64_t)(v->id + 1);

	while (!__atomic_load_n(v->go, __ATOMIC_ACQUIRE))
		;
	for (uint64_t p = 0; p < NPAGES; p++) {
		uint64_t x = 0;
		uint8_t t = 0xff, other = 0xff;

		if (mv_guest_read(g, p * KT_PG + 2048, &x, 8))      /* the first fault */
			v->bad++;
		if (mv_guest_set_tag(g, TAG(p * KT_PG + gr, v->id + 1)) ||
		    mv_guest_get_tag(g, p * KT_PG + gr, &t) || t != (unsigned int)(v->id + 1))
			v->bad++;
		if (mv_guest_get_tag(g, p * KT_PG + 1024, &other) || other != 0)
			v->bad++;
	}
}

static void test_mte_threads_two_vcpus_fault_the_same_page(void **state)
{
	struct kvm_arm_copy_mte_tags ct = { .flags = KVM_ARM_TAGS_FROM_GUEST };
	static uint8_t back[NPAGES][256];
	struct vthread v[2] = { { 0 } };
	struct kvmtest k;
	unsigned int go = 0;
	pthread_t th[2];

	mte_vm(&k, 0);
	for (int i = 0; i < 2; i++) {
		v[i].go = &go;
		start_vcpu(&k, &v[i], i, guest_tag_own_granule, &th[i]);
	}
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		finish_vcpu(&v[i], th[i]);
	ct.length = NPAGES * KT_PG;
	ct.addr = back;
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_ARM_MTE_COPY_TAGS, &ct), (long)(NPAGES * KT_PG));
	for (uint64_t p = 0; p < NPAGES; p++)
		for (uint64_t gr = 0; gr < 256; gr++)
			assert_int_equal(back[p][gr], gr == 1 ? 1 : gr == 2 ? 2 : 0);
	kt_teardown(&k);
}

/* ---- 3: a VMM PROT_MTE mapping shared with the guest ---- */

static void guest_watch_vmm_tags(struct mv_guest *g, void *arg)
{
	struct vthread *v = arg;

	while (!__atomic_load_n(v->go, __ATOMIC_ACQUIRE))
		;
	for (int round = 0; round < 3; round++) {
		for (uint64_t p = 0; p < NPAGES; p++) {
			uint8_t t = 0xff;

			if (mv_guest_get_tag(g, p * KT_PG + 16 * 3, &t) ||
			    (t != 0 && t != pattern(p, 3)))
				v->bad++;
		}
	}
}

static void test_mte_threads_vmm_prot_mte_mapping_shared_with_guest(void **state)
{
	struct kvmtest k;
	struct vthread v = { 0 };
	unsigned int go = 0;
	pthread_t th;
	uint64_t map = mte_vm(&k, PROT_MTE);

	v.go = &go;
	start_vcpu(&k, &v, 0, guest_watch_vmm_tags, &th);
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	assert_int_equal(mv_syscall(k.t, MV_SYS_prctl, PR_SET_TAGGED_ADDR_CTRL,
				    PR_TAGGED_ADDR_ENABLE | PR_MTE_TCF_SYNC, 0, 0, 0, 0), 0);
	for (uint64_t p = 0; p < NPAGES; p++) {
		uint64_t x = p;

		assert_int_equal(mv_user_set_tag(k.t, TAG(map + p * KT_PG + 48, pattern(p, 3))), 0);
		assert_int_equal(mv_user_write(k.t, TAG(map + p * KT_PG + 48, pattern(p, 3)), &x, 8), 0);
	}
	finish_vcpu(&v, th);
	for (uint64_t p = 0; p < NPAGES; p++) {
		uint8_t t = 0xff;

		assert_int_equal(mv_user_get_tag(k.t, map + p * KT_PG + 48, &t), 0);
		assert_int_equal(t, pattern(p, 3));
		assert_int_equal(mv_user_get_tag(k.t, map + p * KT_PG + 64, &t), 0);
		assert_int_equal(t, 0);
	}
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mte_threads_copy_tags_races_first_fault),
		cmocka_unit_test(test_mte_threads_two_vcpus_fault_the_same_page),
		cmocka_unit_test(test_mte_threads_vmm_prot_mte_mapping_shared_with_guest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
